//! Which Alerts take an event and what each Provider is sent
//! (notification-controller's `event_handlers.go`), and the rate limit
//! that drops duplicates (`event_server.go`). Pure: labels come from the
//! caller, the clock is passed in.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use ferroflux_api::notification::{AlertSpec, EventSeverity, ProviderSpec};

use crate::event::{EVENT_GROUP, Event, ObjectRef, Severity};

/// An Alert as matching needs it.
#[derive(Clone, Copy, Debug)]
pub struct AlertRef<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub spec: &'a AlertSpec,
}

/// A Warning event notification-controller records on the Alert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    pub reason: &'static str,
    pub message: String,
}

/// Flux's reasons for the Alert's Warning events.
pub mod reason {
    pub const INVALID_CONFIG: &str = "InvalidConfig";
    pub const SOURCE_FETCH_FAILED: &str = "SourceFetchFailed";
    pub const METADATA_APPEND_FAILED: &str = "MetadataAppendFailed";
    pub const NOTIFICATION_DISPATCH_FAILED: &str = "NotificationDispatchFailed";
}

/// A compiled regex is bounded: the lists come from any tenant's Alert.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Whether `alert` takes `event` (`filterAlertsForEvent`): not suspended,
/// one event source matches, the inclusion list (when set) matches and the
/// exclusion list does not. `labels` answers the involved object's labels
/// (None: it could not be read) and is asked only for `matchLabels`.
pub fn alert_takes(
    event: &Event,
    alert: AlertRef<'_>,
    labels: &dyn Fn(&ObjectRef) -> Option<BTreeMap<String, String>>,
    warnings: &mut Vec<Warning>,
) -> bool {
    if alert.spec.suspended() {
        return false;
    }
    let sourced = alert.spec.event_sources.iter().any(|source| {
        let namespace = source.namespace.as_deref().unwrap_or(alert.namespace);
        let o = &event.involved_object;
        if o.namespace != namespace || o.kind != source.kind {
            return false;
        }
        let severity = alert.spec.severity();
        if severity != EventSeverity::Info && severity.as_str() != event.severity.as_str() {
            return false;
        }
        if source.name != "*" && source.name != o.name {
            return false;
        }
        let Some(want) = &source.match_labels else {
            return true;
        };
        match labels(o) {
            Some(have) => want.iter().all(|(k, v)| have.get(k) == Some(v)),
            None => {
                warnings.push(Warning {
                    reason: reason::SOURCE_FETCH_FAILED,
                    message: format!(
                        "error getting source object {}/{}/{}",
                        o.kind, o.namespace, o.name
                    ),
                });
                false
            }
        }
    });
    if !sourced {
        return false;
    }
    let included = alert.spec.inclusion_list.is_empty()
        || any_matches(
            &alert.spec.inclusion_list,
            "inclusion",
            &event.message,
            warnings,
        );
    included
        && !any_matches(
            &alert.spec.exclusion_list,
            "exclusion",
            &event.message,
            warnings,
        )
}

/// Whether any pattern matches (unanchored); an uncompilable one is an
/// `InvalidConfig` warning and matches nothing.
fn any_matches(
    patterns: &[String],
    list: &str,
    message: &str,
    warnings: &mut Vec<Warning>,
) -> bool {
    let mut hit = false;
    for p in patterns {
        match regex::RegexBuilder::new(p)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
        {
            Ok(r) => {
                if r.is_match(message) {
                    hit = true;
                    break;
                }
            }
            Err(_) => warnings.push(Warning {
                reason: reason::INVALID_CONFIG,
                message: format!("failed to compile {list} regex: {p}"),
            }),
        }
    }
    hit
}

/// What one matched Alert does with its Provider (`getNotificationParams`).
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// Send this event (metadata combined) to the Provider.
    Send(Box<Event>),
    /// Nothing, silently (a suspended Provider; a commit-status update
    /// for a chat provider).
    Skip,
    /// Dropped, with the reason logged.
    Dropped(&'static str),
}

/// The Provider's part of the dispatch: suspended, commit-status and
/// change-request rules, then the combined metadata.
pub fn decide(
    event: &Event,
    alert: AlertRef<'_>,
    provider: &ProviderSpec,
    warnings: &mut Vec<Warning>,
) -> Decision {
    let t = provider.provider_type;
    if provider.suspended() {
        return Decision::Skip;
    }
    if !t.is_commit_status() && !t.is_generic() && event.is_commit_status_update() {
        return Decision::Skip;
    }
    if t.is_commit_status()
        && !event.has_commit_key()
        && !event.is_commit_status_update()
        && event.severity != Severity::Error
    {
        return Decision::Dropped(
            "commit status provider: the event has no commit key and is not a commit status update",
        );
    }
    if t.is_change_request() && !event.has_change_request_key() {
        return Decision::Dropped("change request provider: the event has no change request key");
    }
    Decision::Send(Box::new(combine_metadata(event, alert, warnings)))
}

/// `combineEventMetadata` (Flux RFC 0008, later wins): the event group's
/// keys stripped, the Alert's `eventMetadata`, its `summary`, the object
/// group's keys stripped. A key from more than one source is a
/// `MetadataAppendFailed` warning.
pub fn combine_metadata(event: &Event, alert: AlertRef<'_>, warnings: &mut Vec<Warning>) -> Event {
    let mut out = event.clone();
    let mut metadata = BTreeMap::new();
    let mut sources: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let mut put = |k: &str, v: &str, source, metadata: &mut BTreeMap<String, String>| {
        metadata.insert(k.to_string(), v.to_string());
        sources.entry(k.to_string()).or_default().push(source);
    };
    let event_prefix = format!("{EVENT_GROUP}/");
    for (k, v) in &event.metadata {
        if let Some(k) = k.strip_prefix(&event_prefix) {
            put(k, v, "involved object annotations", &mut metadata);
        }
    }
    for (k, v) in alert.spec.event_metadata.iter().flatten() {
        put(k, v, "Alert object .spec.eventMetadata", &mut metadata);
    }
    if let Some(s) = alert.spec.summary.as_deref().filter(|s| !s.is_empty()) {
        put("summary", s, "Alert object .spec.summary", &mut metadata);
    }
    let object_prefix = format!("{}/", event.involved_object.group());
    for (k, v) in &event.metadata {
        if let Some(k) = k.strip_prefix(&object_prefix) {
            put(k, v, "involved object controller metadata", &mut metadata);
        }
    }
    let conflicts: Vec<String> = sources
        .iter()
        .filter(|(_, s)| s.len() > 1)
        .map(|(k, s)| format!("{k}: {}", s.join(", ")))
        .collect();
    if !conflicts.is_empty() {
        warnings.push(Warning {
            reason: reason::METADATA_APPEND_FAILED,
            message: format!(
                "metadata key conflicts detected (please refer to the Alert API docs and Flux RFC \
                 0008 for more information): {}",
                conflicts.join("; ")
            ),
        });
    }
    if !metadata.is_empty() {
        out.metadata = metadata;
    }
    out
}

/// The default commit status id (`generateDefaultCommitStatus`):
/// `lower(<Kind>/<name>/<first dash-separated part of the Provider UID>)`.
pub fn default_commit_status(provider_uid: &str, event: &Event) -> String {
    let uid = provider_uid.split('-').next().unwrap_or("");
    format!(
        "{}/{}/{uid}",
        event.involved_object.kind, event.involved_object.name
    )
    .to_lowercase()
}

/// notification-controller's duplicate filter: one event per
/// [`Event::rate_limit_key`] per interval (`--rate-limit-interval`,
/// default 5m); a repeat within the interval is dropped before matching.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    capacity: usize,
    seen: HashMap<String, Instant>,
}

/// Flux's default `--rate-limit-interval`.
pub const DEFAULT_RATE_LIMIT_INTERVAL: Duration = Duration::from_secs(300);

/// At most this many keys are remembered: the oldest go first.
pub const DEFAULT_RATE_LIMIT_CAPACITY: usize = 65_536;

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter::new(DEFAULT_RATE_LIMIT_INTERVAL)
    }
}

impl RateLimiter {
    pub fn new(interval: Duration) -> RateLimiter {
        RateLimiter {
            interval,
            capacity: DEFAULT_RATE_LIMIT_CAPACITY,
            seen: HashMap::new(),
        }
    }

    pub fn with_capacity(mut self, capacity: usize) -> RateLimiter {
        self.capacity = capacity.max(1);
        self
    }

    /// Whether `event` may pass at `now` (and remember it if so). A zero
    /// interval lets everything pass.
    pub fn allow(&mut self, event: &Event, now: Instant) -> bool {
        if self.interval.is_zero() {
            return true;
        }
        let key = event.rate_limit_key();
        if let Some(at) = self.seen.get(&key)
            && now.saturating_duration_since(*at) < self.interval
        {
            return false;
        }
        if self.seen.len() >= self.capacity {
            let interval = self.interval;
            self.seen
                .retain(|_, at| now.saturating_duration_since(*at) < interval);
            if self.seen.len() >= self.capacity
                && let Some(oldest) = self
                    .seen
                    .iter()
                    .min_by_key(|(_, at)| **at)
                    .map(|(k, _)| k.clone())
            {
                self.seen.remove(&oldest);
            }
        }
        self.seen.insert(key, now);
        true
    }

    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

#[cfg(test)]
mod tests;
