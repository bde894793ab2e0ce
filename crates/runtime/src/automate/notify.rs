//! The event bus: every event the engine records is also offered to the
//! notifier, in either home. notification-controller's order: the rate
//! limit (one identical event per 5 minutes), then every Alert that takes
//! it, each with its Provider; sending happens on the notifier's workers,
//! so a reconcile never waits for a Provider. Warnings for an Alert (and
//! failed deliveries, `NotificationDispatchFailed`) are recorded on it as
//! Flux records them, where the home keeps events, and logged.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use ferroflux_api::notification::Alert;
use ferroflux_controllers::kind::Kind;
use ferroflux_controllers::notification::{alert, event};
use ferroflux_controllers::status::{self, EventType};
use ferroflux_notify::delivery::{Notifier, NotifierOptions};
use ferroflux_notify::{ObjectRef, RateLimiter};
use k8s_openapi::api::core::v1::ObjectReference;

use super::Runner;
use crate::home::Home;
use crate::source::ObjectKey;

/// A one-shot run waits this long at most for its notifications.
const SETTLE: Duration = Duration::from_secs(30);

/// The notifier (started on first use, inside the runtime) and the rate
/// limiter.
pub(crate) struct Bus {
    notifier: OnceLock<Notifier>,
    limiter: Mutex<RateLimiter>,
    opts: NotifierOptions,
}

impl Default for Bus {
    fn default() -> Self {
        Bus::new(NotifierOptions::default())
    }
}

impl Bus {
    pub(crate) fn new(opts: NotifierOptions) -> Bus {
        Bus {
            notifier: OnceLock::new(),
            limiter: Mutex::new(RateLimiter::default()),
            opts,
        }
    }

    fn notifier(&self, home: &Arc<dyn Home>) -> &Notifier {
        self.notifier.get_or_init(|| {
            let home = home.clone();
            Notifier::start(
                self.opts.clone(),
                Arc::new(move |r: ferroflux_notify::Report| {
                    if let Some(message) = r.dispatch_failed_message()
                        && let Some((ns, name)) = r.alert.split_once('/')
                    {
                        let _ = home.record(
                            &alert_reference(ns, name),
                            &status::Event {
                                type_: EventType::Warning,
                                reason: "NotificationDispatchFailed".into(),
                                message,
                            },
                        );
                    }
                }),
            )
        })
    }
}

/// The reference of an Alert's Events.
fn alert_reference(namespace: &str, name: &str) -> ObjectReference {
    ObjectReference {
        api_version: Some(<Alert as Kind>::INFO.api_version()),
        kind: Some(<Alert as Kind>::INFO.kind.to_string()),
        namespace: Some(namespace.to_string()),
        name: Some(name.to_string()),
        ..ObjectReference::default()
    }
}

impl Runner {
    /// Offer `event`, just recorded on `key`, to the Alerts that take it.
    pub(crate) fn announce(&self, key: &ObjectKey, event: Option<&status::Event>) {
        let Some(e) = event else {
            return;
        };
        if self.objects.of::<Alert>().is_empty() {
            return;
        }
        let Some(r) = self.objects.reference(key) else {
            return;
        };
        let object = ObjectRef {
            kind: key.kind.clone(),
            namespace: key.namespace.clone(),
            name: key.name.clone(),
            uid: r.uid.clone().unwrap_or_default(),
            api_version: r.api_version.clone().unwrap_or_default(),
        };
        let annotations = self.objects.meta(key).and_then(|m| m.annotations.as_ref());
        let status = self.objects.status_json(key);
        let Some(flux) =
            event::flux_event(&object, annotations, e, status.as_ref(), self.clock.now())
        else {
            return;
        };
        let allowed = self
            .bus
            .limiter
            .lock()
            .map(|mut l| l.allow(&flux, Instant::now()))
            .unwrap_or(true);
        if !allowed {
            tracing::debug!(object = %key, "event discarded by the rate limit: {}", flux.message);
            return;
        }
        let labels = |o: &ObjectRef| {
            let k = ObjectKey::new(&o.kind, &o.namespace, &o.name);
            self.objects
                .meta(&k)
                .map(|m| m.labels.clone().unwrap_or_default())
        };
        let d = alert::dispatch(
            &flux,
            &alert::Sources {
                alerts: self.objects.of::<Alert>(),
                providers: self.objects.of::<ferroflux_api::notification::Provider>(),
                secrets: &self.opts.secrets,
                labels: &labels,
            },
        );
        for (alert_key, w) in d.warnings {
            tracing::warn!(alert = %alert_key, reason = w.reason, "{}", w.message);
            let _ = self.home.record(
                &alert_reference(&alert_key.namespace, &alert_key.name),
                &status::Event {
                    type_: EventType::Warning,
                    reason: w.reason.to_string(),
                    message: w.message,
                },
            );
        }
        let notifier = self.bus.notifier(&self.home);
        for job in d.jobs {
            notifier.offer(job);
        }
    }

    /// Wait (bounded) until the notifications offered so far are sent or
    /// given up: a one-shot run must not exit before them.
    pub(crate) async fn settle_notifications(&self) {
        if let Some(n) = self.bus.notifier.get()
            && !n.settle(SETTLE).await
        {
            tracing::warn!(
                pending = n.pending(),
                "notifications still pending after {SETTLE:?}; exiting without them"
            );
        }
    }
}
