//! The health wait (`pkg/ssa manager_wait.go`): poll every object with
//! the kstatus rules of [`crate::health`] until all are Current, or all
//! are Current or Failed, or (fail-fast) one is Failed, or the timeout.

use std::time::Duration;

use super::{Action, ApplyError, ChangeSet, ResourceManager, api_code, to_value};
use crate::health::{self, Health, Status};
use crate::inventory::{ObjMetadata, ObjRef};
use futures_util::StreamExt;
use k8s_openapi::jiff::Timestamp;

/// GETs of one poll in flight at once.
const POLL_CONCURRENCY: usize = 4;

/// A health rule that replaces kstatus's for the objects it covers
/// (`healthCheckExprs`): `None` for an object it does not cover. It may
/// block for a moment (CEL), so it runs on the blocking pool.
pub type CustomHealth = std::sync::Arc<dyn Fn(&serde_json::Value) -> Option<Health> + Send + Sync>;

/// The first delay between health polls.
const FIRST_POLL: Duration = Duration::from_millis(100);

/// How to wait.
#[derive(Clone)]
pub struct WaitOptions {
    /// Longest poll interval (Flux: 5 s for health checks, 2 s for
    /// stages); the first polls come after 100 ms, doubling up to it.
    pub interval: Duration,
    /// Give up after (Flux: `spec.timeout`, 60 s for stages).
    pub timeout: Duration,
    /// Stop as soon as one object is Failed.
    pub fail_fast: bool,
    /// Jobs with `ttlSecondsAfterFinished`: gone counts as done.
    pub jobs_with_ttl: Vec<ObjMetadata>,
    /// Rules that judge some objects in place of kstatus's.
    pub custom: Option<CustomHealth>,
    /// Objects as the apiserver answered their writes a moment ago: the
    /// first look at them, instead of reading them again (most are
    /// Current in their answer, and then never read).
    pub seen: Vec<serde_json::Value>,
}

impl std::fmt::Debug for WaitOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaitOptions")
            .field("interval", &self.interval)
            .field("timeout", &self.timeout)
            .field("fail_fast", &self.fail_fast)
            .field("jobs_with_ttl", &self.jobs_with_ttl)
            .field("custom", &self.custom.is_some())
            .field("seen", &self.seen.len())
            .finish()
    }
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(60),
            fail_fast: false,
            jobs_with_ttl: Vec::new(),
            custom: None,
            seen: Vec::new(),
        }
    }
}

/// kustomize-controller's Ready message for a failed wait:
/// `health check failed after 2.5s: timeout waiting for: […]`.
pub fn health_check_failed_message(elapsed: Duration, error: &ApplyError) -> String {
    let nanos = i64::try_from(elapsed.as_nanos()).unwrap_or(i64::MAX);
    format!(
        "health check failed after {}: {error}",
        ferroflux_api::Duration::from_nanos(nanos)
    )
}

impl ResourceManager {
    /// Waits for `objects` to be Current; returns the time it took.
    pub async fn wait(
        &self,
        objects: &[ObjRef],
        opts: &WaitOptions,
    ) -> Result<Duration, ApplyError> {
        let start = tokio::time::Instant::now();
        if objects.is_empty() {
            return Ok(start.elapsed());
        }
        let deadline = start + opts.timeout;
        // Beyond Flux's fixed 5 s: the first polls come soon (most objects
        // are ready within a second of their apply), then back off to
        // `interval`.
        let mut delay = opts.interval.min(FIRST_POLL);
        // An object found Current is not asked again (most of a set is
        // Current at the first poll: only the slow ones cost requests).
        let mut known: Vec<Option<Health>> = vec![None; objects.len()];
        // The first look at an object the apiserver just answered is that
        // answer; the first poll reads only the others.
        for (i, o) in objects.iter().enumerate() {
            let answer = opts
                .seen
                .iter()
                .find(|v| ObjMetadata::from_object(v, i).is_ok_and(|m| m == o.meta));
            if let Some(answer) = answer {
                known[i] = Some(judge(answer.clone(), opts.custom.as_ref()).await);
            }
        }
        let mut first = true;
        loop {
            // Owned items: a closure over `&ObjRef` makes the future
            // unprovably Send (rustc's higher-ranked lifetime limits), and
            // callers box it as a Send future (the controllers' target).
            let custom = opts.custom.as_ref();
            let todo: Vec<(usize, ObjRef)> = objects
                .iter()
                .enumerate()
                .filter(|(i, _)| match &known[*i] {
                    None => true,
                    Some(h) => !first && h.status != Status::Current,
                })
                .map(|(i, o)| (i, o.clone()))
                .collect();
            first = false;
            let polled: Vec<(usize, Health)> = futures_util::stream::iter(todo)
                .map(|(i, o)| async move { (i, self.poll_with(&o, custom).await) })
                .buffered(POLL_CONCURRENCY)
                .collect()
                .await;
            for (i, h) in polled {
                known[i] = Some(h);
            }
            let last: Vec<Health> = known.iter().flatten().cloned().collect();
            let ttl = |o: &ObjRef| opts.jobs_with_ttl.contains(&o.meta);
            let effective = |(o, h): (&ObjRef, &Health)| {
                if h.status == Status::NotFound && ttl(o) {
                    Status::Current
                } else {
                    h.status
                }
            };
            let statuses: Vec<Status> = objects.iter().zip(&last).map(effective).collect();
            let failed = statuses.contains(&Status::Failed);
            let terminal = statuses
                .iter()
                .all(|s| matches!(s, Status::Current | Status::Failed));
            let timed_out = tokio::time::Instant::now() >= deadline;
            if terminal || (opts.fail_fast && failed) || timed_out {
                return verdict(
                    objects,
                    &statuses,
                    &last,
                    timed_out && !terminal,
                    start.elapsed(),
                );
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            tokio::time::sleep(delay.min(left)).await;
            delay = delay.saturating_mul(2).min(opts.interval);
        }
    }

    /// `deletionPolicy: WaitForTermination`: waits, one object after the
    /// other, until every `deleted` entry of `change_set` is gone.
    pub async fn wait_for_termination(
        &self,
        change_set: &ChangeSet,
        opts: &WaitOptions,
    ) -> Result<Duration, ApplyError> {
        let start = tokio::time::Instant::now();
        let deadline = start + opts.timeout;
        for e in change_set
            .entries
            .iter()
            .filter(|e| e.action == Action::Deleted)
        {
            let o = ObjRef {
                meta: e.meta.clone(),
                version: e.version.clone(),
            };
            while self.poll(&o).await.status != Status::NotFound {
                if tokio::time::Instant::now() >= deadline {
                    return Err(ApplyError::Wait {
                        message: format!(
                            "{} termination timeout: context deadline exceeded",
                            o.meta.subject()
                        ),
                        elapsed: start.elapsed(),
                    });
                }
                let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                tokio::time::sleep(opts.interval.min(left)).await;
            }
        }
        Ok(start.elapsed())
    }

    async fn poll(&self, o: &ObjRef) -> Health {
        self.poll_with(o, None).await
    }

    async fn poll_with(&self, o: &ObjRef, custom: Option<&CustomHealth>) -> Health {
        let api = match self.api_for_ref(o).await {
            Ok(api) => api,
            Err(e) => {
                return Health {
                    status: Status::Unknown,
                    message: e,
                };
            }
        };
        match api.get_opt(&o.meta.name).await {
            Ok(Some(obj)) => judge(to_value(&obj), custom).await,
            Ok(None) => Health::not_found(),
            Err(e) if api_code(&e) == Some(404) => Health::not_found(),
            Err(e) => Health {
                status: Status::Unknown,
                message: e.to_string(),
            },
        }
    }
}

/// The health of `value`: by `custom` where it covers it, else kstatus.
async fn judge(value: serde_json::Value, custom: Option<&CustomHealth>) -> Health {
    if let Some(custom) = custom {
        let f = custom.clone();
        let v = value.clone();
        match tokio::task::spawn_blocking(move || f(&v)).await {
            Ok(Some(h)) => return h,
            Ok(None) => {}
            Err(_) => {
                return Health {
                    status: Status::Unknown,
                    message: "custom health check failed".to_string(),
                };
            }
        }
    }
    health::compute(&value, Timestamp::now())
}

fn verdict(
    objects: &[ObjRef],
    statuses: &[Status],
    last: &[Health],
    timed_out: bool,
    elapsed: Duration,
) -> Result<Duration, ApplyError> {
    let mut errs = Vec::new();
    for ((o, status), h) in objects.iter().zip(statuses).zip(last) {
        let listed = *status == Status::Failed || (timed_out && *status != Status::Current);
        if !listed {
            continue;
        }
        let mut line = format!("{} status: '{}'", o.meta.subject(), h.status);
        if h.status == Status::Unknown {
            line.push_str(": ");
            line.push_str(&h.message);
        }
        errs.push(line);
    }
    if errs.is_empty() {
        return Ok(elapsed);
    }
    let what = if timed_out {
        "timeout waiting for"
    } else {
        "failed early due to stalled resources"
    };
    Err(ApplyError::Wait {
        message: format!("{what}: [{}]", errs.join(", ")),
        elapsed,
    })
}

#[cfg(test)]
mod tests;
