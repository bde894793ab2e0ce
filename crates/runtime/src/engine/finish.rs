//! After each reconcile, whatever the kind: the status goes to its home
//! (the job wrote it; a failed write fails the reconcile), the Ready
//! condition or the reconciler's event is logged, the event recorded by
//! the home (`Home::record`: a Kubernetes Event in a cluster), the
//! metrics counted, the new status put into the objects, and whether it
//! moved what other objects read ([`triggers::moved`]). [`next_run`] turns the reconcile's
//! [`Outcome`] into the delay of its next run.

use std::time::{Duration, Instant};

use ferroflux_api::meta::{Condition, condition};
use ferroflux_controllers::status::{self, Event, EventType, Outcome};
use serde_json::Value;

use crate::automate::{AutomateError, Runner};
use crate::source::ObjectKey;
use crate::triggers;

/// What a reconcile tells about itself (defined with the kinds).
pub use ferroflux_controllers::kind::Said;

/// One finished reconcile, its status already encoded and written.
#[derive(Debug)]
pub struct Finished {
    pub key: ObjectKey,
    pub started: Instant,
    pub suspended: bool,
    pub status: Value,
    pub said: Said,
    pub outcome: Outcome,
    /// The commit an automation pushed.
    pub pushed: Option<String>,
    /// Whether the job's status write succeeded.
    pub saved: Result<(), Box<AutomateError>>,
}

/// What the runner must do after a reconcile.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Effects {
    /// The status moved what other objects read: trigger its dependents
    /// of these kinds.
    pub readers: Vec<&'static str>,
    /// An automation pushed.
    pub pushed: bool,
}

impl Finished {
    /// Encode `status`; a status that does not encode fails the reconcile.
    #[allow(clippy::too_many_arguments)]
    pub fn new<T: serde::Serialize>(
        key: &ObjectKey,
        started: Instant,
        suspended: bool,
        status: &T,
        said: Said,
        outcome: Outcome,
        pushed: Option<String>,
        saved: Result<(), Box<AutomateError>>,
    ) -> Result<Finished, AutomateError> {
        let status = serde_json::to_value(status)
            .map_err(|e| AutomateError::Join(format!("status of {key} does not encode: {e}")))?;
        Ok(Finished {
            key: key.clone(),
            started,
            suspended,
            status,
            said,
            outcome,
            pushed,
            saved,
        })
    }
}

/// The conditions of an encoded status (none when it has none).
pub fn conditions(status: Option<&Value>) -> Vec<Condition> {
    status
        .and_then(|s| s.get("conditions"))
        .and_then(|c| serde_json::from_value(c.clone()).ok())
        .unwrap_or_default()
}

/// The delay before the next run of an object after `outcome`, given its
/// consecutive failures so far (updated here); None: only a trigger runs
/// it again. Retries start at `backoff` and double up to 5 minutes.
pub fn next_run(outcome: Outcome, failures: &mut u32, backoff: Duration) -> Option<Duration> {
    match outcome {
        Outcome::RequeueAfter(d) => {
            *failures = 0;
            Some(d.max(Duration::from_secs(1)))
        }
        Outcome::Backoff => {
            *failures = failures.saturating_add(1);
            let factor = 1u32
                .checked_shl(failures.saturating_sub(1).min(16))
                .unwrap_or(u32::MAX);
            Some(backoff.saturating_mul(factor).min(Duration::from_secs(300)))
        }
        Outcome::Wait => {
            *failures = 0;
            None
        }
    }
}

impl Runner {
    /// The frame every reconcile ends with (see the module docs).
    pub(crate) async fn finish(&mut self, f: Finished) -> Result<Effects, AutomateError> {
        let before = self.objects.status_json(&f.key);
        let after = conditions(Some(&f.status));
        let event = match f.said {
            Said::Ready => {
                log_ready(&f.key, &after);
                Some(status::notify(&conditions(before.as_ref()), &after, ""))
            }
            Said::Event(e) => {
                if let Some(e) = &e {
                    log_event(&f.key, e);
                }
                e
            }
        };
        if let Some(c) = &f.pushed {
            self.pushed.insert(f.key.clone(), c.clone());
        }
        f.saved.map_err(|e| *e)?;
        self.observed(&f.key, f.started, &after, f.suspended, event.as_ref())
            .await;
        let kept = self.objects.set_status_json(&f.key, &f.status);
        self.announce(&f.key, event.as_ref());
        Ok(Effects {
            readers: if kept {
                triggers::moved_readers(
                    self.objects.registry(),
                    &f.key.kind,
                    before.as_ref(),
                    Some(&f.status),
                )
            } else {
                Vec::new()
            },
            pushed: f.pushed.is_some(),
        })
    }

    /// The metrics of one reconcile, and its event recorded in the home.
    pub(crate) async fn observed(
        &self,
        key: &ObjectKey,
        started: Instant,
        conditions: &[Condition],
        suspended: bool,
        event: Option<&Event>,
    ) {
        self.metrics
            .observe_duration(key, started.elapsed().as_secs_f64());
        self.metrics.record_status(key, conditions, suspended);
        if let Some(e) = event
            && let Some(r) = self.objects.reference(key)
        {
            // Best effort: a home that drops it (or a full queue) leaves
            // the reconcile going on.
            let _ = self.home.record(&r, e);
        }
    }
}

pub(crate) fn log_ready(key: &ObjectKey, conditions: &[Condition]) {
    match status::get(conditions, condition::READY) {
        Some(c) if c.status == "True" => {
            tracing::info!(object = %key, reason = %c.reason, "{}", c.message)
        }
        Some(c) => tracing::warn!(object = %key, reason = %c.reason, "{}", c.message),
        None => {}
    }
}

pub(crate) fn log_event(key: &ObjectKey, e: &Event) {
    match e.type_ {
        EventType::Normal => tracing::info!(object = %key, reason = %e.reason, "{}", e.message),
        EventType::Warning => tracing::warn!(object = %key, reason = %e.reason, "{}", e.message),
        EventType::Trace => tracing::debug!(object = %key, reason = %e.reason, "{}", e.message),
    }
}

#[cfg(test)]
mod tests;
