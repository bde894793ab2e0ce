//! Conditions and step errors, the Flux way.
//!
//! Every reconcile step returns `Result<_, StepError>`. The error says what
//! happens next: [`StepError::Stalled`] (the user must change the object; no
//! retry), [`StepError::Waiting`] (a dependency is not ready; requeue after a
//! while) or [`StepError::Retry`] (transient; back off). Each carries the Flux
//! reason string that ends up in the condition, the event and the metric
//! label. Steps set only the conditions they own; `Ready` is derived once, at
//! the end, by [`finish`], which also guarantees Ready=True never stands next
//! to Stalled=True.

use std::time::Duration;

use ferroflux_api::meta::{Condition, condition, reason};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// Why a reconcile stopped, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    /// The object is wrong; nothing changes until its spec does.
    #[error("{message}")]
    Stalled { reason: String, message: String },
    /// A dependency is not ready yet; try again after `retry_after`.
    #[error("{message}")]
    Waiting {
        reason: String,
        message: String,
        retry_after: Duration,
    },
    /// Something transient failed; retry with backoff.
    #[error("{message}")]
    Retry { reason: String, message: String },
}

impl StepError {
    pub fn stalled(reason: &str, message: impl Into<String>) -> Self {
        StepError::Stalled {
            reason: reason.to_string(),
            message: message.into(),
        }
    }

    pub fn waiting(reason: &str, message: impl Into<String>, retry_after: Duration) -> Self {
        StepError::Waiting {
            reason: reason.to_string(),
            message: message.into(),
            retry_after,
        }
    }

    pub fn retry(reason: &str, message: impl Into<String>) -> Self {
        StepError::Retry {
            reason: reason.to_string(),
            message: message.into(),
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            StepError::Stalled { reason, .. }
            | StepError::Waiting { reason, .. }
            | StepError::Retry { reason, .. } => reason,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            StepError::Stalled { message, .. }
            | StepError::Waiting { message, .. }
            | StepError::Retry { message, .. } => message,
        }
    }
}

/// What the runtime should do after a reconcile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Run again after this long (the object's interval, or a retry).
    RequeueAfter(Duration),
    /// Run again with exponential backoff (a transient failure).
    Backoff,
    /// Run again only when something changes (a stalled object, or a kind
    /// without a timer such as ImagePolicy).
    Wait,
}

/// Condition bookkeeping on a status' `conditions` list.
pub struct Conditions<'a> {
    list: &'a mut Vec<Condition>,
    generation: Option<i64>,
    now: Time,
}

impl<'a> Conditions<'a> {
    pub fn new(list: &'a mut Vec<Condition>, generation: Option<i64>, now: Time) -> Self {
        Conditions {
            list,
            generation,
            now,
        }
    }

    /// Set a condition; its transition time moves only when the status does.
    pub fn set(&mut self, type_: &str, status: bool, reason: &str, message: &str) {
        let status = if status { "True" } else { "False" };
        self.set_status(type_, status, reason, message);
    }

    /// [`Conditions::set`] with the status as Kubernetes writes it
    /// (`True`, `False` or `Unknown`).
    pub fn set_status(&mut self, type_: &str, status: &str, reason: &str, message: &str) {
        let next = Condition {
            type_: type_.to_string(),
            status: status.to_string(),
            reason: reason.to_string(),
            message: message.to_string(),
            observed_generation: self.generation,
            last_transition_time: self.now.clone(),
        };
        match self.list.iter_mut().find(|c| c.type_ == type_) {
            Some(existing) => {
                let transition = if existing.status == next.status {
                    existing.last_transition_time.clone()
                } else {
                    next.last_transition_time.clone()
                };
                *existing = Condition {
                    last_transition_time: transition,
                    ..next
                };
            }
            None => self.list.push(next),
        }
    }

    pub fn remove(&mut self, type_: &str) {
        self.list.retain(|c| c.type_ != type_);
    }

    /// Reconciling=True while a step runs (`Progressing`).
    pub fn reconciling(&mut self, message: &str) {
        self.set(condition::RECONCILING, true, reason::PROGRESSING, message);
    }
}

pub fn get<'c>(conditions: &'c [Condition], type_: &str) -> Option<&'c Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    get(conditions, type_).is_some_and(|c| c.status == "True")
}

/// The value of `reconcile.fluxcd.io/requestedAt` on an object: what its
/// `status.lastHandledReconcileAt` records once a reconcile ran.
pub fn requested_at(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> Option<String> {
    meta.annotations
        .as_ref()
        .and_then(|a| a.get(ferroflux_api::meta::RECONCILE_REQUEST_ANNOTATION))
        .cloned()
}

/// Derive the final conditions from the reconcile's result: on success
/// Ready=True with `ready_message` and no Reconciling or Stalled; on a
/// stall Stalled=True and Ready=False with the same reason; on a retry or a
/// wait Ready=False and Reconciling=True (`ProgressingWithRetry`).
/// [`finish`] after recording the generation the result speaks for: every
/// outcome but a wait or a retry observes `generation`, as Flux's
/// controllers keep `observedGeneration`.
pub fn finish_observed(
    conditions: &mut Vec<Condition>,
    observed_generation: &mut Option<i64>,
    generation: Option<i64>,
    now: Time,
    result: &Result<String, StepError>,
) {
    if !matches!(
        result,
        Err(StepError::Waiting { .. } | StepError::Retry { .. })
    ) {
        *observed_generation = generation;
    }
    finish(conditions, generation, now, result);
}

pub fn finish(
    conditions: &mut Vec<Condition>,
    generation: Option<i64>,
    now: Time,
    result: &Result<String, StepError>,
) {
    let mut c = Conditions::new(conditions, generation, now);
    match result {
        Ok(ready_message) => {
            c.remove(condition::RECONCILING);
            c.remove(condition::STALLED);
            c.set(condition::READY, true, reason::SUCCEEDED, ready_message);
        }
        Err(StepError::Stalled { reason, message }) => {
            c.remove(condition::RECONCILING);
            c.set(condition::STALLED, true, reason, message);
            c.set(condition::READY, false, reason, message);
        }
        Err(e @ (StepError::Waiting { .. } | StepError::Retry { .. })) => {
            c.remove(condition::STALLED);
            c.set(
                condition::RECONCILING,
                true,
                reason::PROGRESSING_WITH_RETRY,
                e.message(),
            );
            c.set(condition::READY, false, e.reason(), e.message());
        }
    }
}

/// The outcome that goes with a result: success requeues after `interval`
/// (or waits when the kind has none).
pub fn outcome(result: &Result<String, StepError>, interval: Option<Duration>) -> Outcome {
    match result {
        Ok(_) => interval.map_or(Outcome::Wait, Outcome::RequeueAfter),
        Err(StepError::Stalled { .. }) => Outcome::Wait,
        Err(StepError::Waiting { retry_after, .. }) => Outcome::RequeueAfter(*retry_after),
        Err(StepError::Retry { .. }) => Outcome::Backoff,
    }
}

/// Kubernetes event type, plus Flux's `Trace` for no-op reconciles (sent
/// to notification-controller only, never recorded as a Kubernetes Event).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Normal,
    Warning,
    Trace,
}

/// An event a reconcile asks the runtime to record and forward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub type_: EventType,
    pub reason: String,
    pub message: String,
}

/// Flux's `notify` (image-reflector-controller): Normal with the Ready
/// message when the object became ready or its Ready message changed;
/// Warning with the Ready reason and message while not ready; otherwise a
/// trace event `Succeeded` with `trace_message`.
pub fn notify(before: &[Condition], after: &[Condition], trace_message: &str) -> Event {
    let ready = get(after, condition::READY);
    let event = |type_, c: Option<&Condition>| Event {
        type_,
        reason: c.map(|c| c.reason.clone()).unwrap_or_default(),
        message: c.map(|c| c.message.clone()).unwrap_or_default(),
    };
    let was_ready = is_true(before, condition::READY);
    let is_ready = is_true(after, condition::READY);
    let old_message = get(before, condition::READY).map(|c| c.message.as_str());
    if is_ready && (!was_ready || old_message != ready.map(|c| c.message.as_str())) {
        return event(EventType::Normal, ready);
    }
    if !is_ready {
        return event(EventType::Warning, ready);
    }
    Event {
        type_: EventType::Trace,
        reason: reason::SUCCEEDED.to_string(),
        message: trace_message.to_string(),
    }
}

#[cfg(test)]
mod tests;
