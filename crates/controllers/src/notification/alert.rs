//! Alert as a [`Kind`] (held, not reconciled: v1beta3 has no status), and
//! the dispatch of one event: every Alert that takes it, the Provider each
//! names, the Job for the notifier or the Warning event Flux records on
//! the Alert.

use std::collections::BTreeMap;

use ferroflux_api::meta::{Condition, ObjectMeta};
use ferroflux_api::notification::{Alert, Provider};
use ferroflux_notify::matching::{self, AlertRef, Decision, Warning, reason};
use ferroflux_notify::{Event, Job, ObjectRef};

use crate::kind::{FirstRun, Kind, KindInfo, ObjectKey, SecretSource};
use crate::notification::provider;

impl Kind for Alert {
    const INFO: KindInfo = KindInfo {
        kind: "Alert",
        group: "notification.toolkit.fluxcd.io",
        version: "v1beta3",
        section: "alerts",
    };
    const RECONCILED: bool = false;
    type Object = Alert;

    fn meta(obj: &Alert) -> &ObjectMeta {
        &obj.metadata
    }

    fn meta_mut(obj: &mut Alert) -> &mut ObjectMeta {
        &mut obj.metadata
    }

    fn from_manifest(object: &ferroflux_api::manifest::Object) -> Option<Alert> {
        match object {
            ferroflux_api::manifest::Object::Alert(o) => Some(o.clone()),
            _ => None,
        }
    }

    fn conditions(_: &Alert) -> &[Condition] {
        &[]
    }

    fn suspended(obj: &Alert) -> bool {
        obj.spec.suspended()
    }

    fn first_run(_: &Alert) -> FirstRun {
        FirstRun::Triggered
    }
}

/// What one event becomes: jobs for the notifier, and Warning events to
/// record on Alerts (`InvalidConfig`, `SourceFetchFailed`,
/// `MetadataAppendFailed`, `NotificationDispatchFailed`).
#[derive(Debug, Default)]
pub struct Dispatch {
    pub jobs: Vec<Job>,
    pub warnings: Vec<(ObjectKey, Warning)>,
}

/// The homes' view of Alerts, Providers, Secrets and labels.
pub struct Sources<'a> {
    pub alerts: &'a BTreeMap<ObjectKey, Alert>,
    pub providers: &'a BTreeMap<ObjectKey, Provider>,
    pub secrets: &'a dyn SecretSource,
    /// The labels of an event's object (`matchLabels`); None: unreadable.
    pub labels: &'a dyn Fn(&ObjectRef) -> Option<BTreeMap<String, String>>,
}

/// notification-controller's `handleEvent` after the rate limit: the
/// metadata cleaned, the token dropped, every Alert that takes the event
/// dispatched to its Provider (in the Alert's namespace).
pub fn dispatch(event: &Event, from: &Sources<'_>) -> Dispatch {
    let mut event = event.clone();
    event.cleanup_metadata();
    let token = event.group_key(ferroflux_notify::event::key::TOKEN);
    event.metadata.remove(&token);
    let mut out = Dispatch::default();
    for (key, alert) in from.alerts {
        let a = AlertRef {
            namespace: &key.namespace,
            name: &key.name,
            spec: &alert.spec,
        };
        let mut warnings = Vec::new();
        if matching::alert_takes(&event, a, from.labels, &mut warnings)
            && let Some(job) = job_for(&event, key, a, from, &mut warnings)
        {
            out.jobs.push(job);
        }
        out.warnings
            .extend(warnings.into_iter().map(|w| (key.clone(), w)));
    }
    out
}

fn job_for(
    event: &Event,
    key: &ObjectKey,
    a: AlertRef<'_>,
    from: &Sources<'_>,
    warnings: &mut Vec<Warning>,
) -> Option<Job> {
    let o = &event.involved_object;
    let failed = |warnings: &mut Vec<Warning>, detail: String| {
        warnings.push(Warning {
            reason: reason::NOTIFICATION_DISPATCH_FAILED,
            message: format!(
                "failed to dispatch notification for {}/{}/{}: {detail}",
                o.kind, o.namespace, o.name
            ),
        });
    };
    let pkey = ObjectKey::new("Provider", &key.namespace, &a.spec.provider_ref.name);
    let Some(p) = from.providers.get(&pkey) else {
        failed(
            warnings,
            format!(
                "failed to read provider: Provider.notification.toolkit.fluxcd.io \"{}\" not found",
                pkey.name
            ),
        );
        return None;
    };
    let sent = match matching::decide(event, a, &p.spec, warnings) {
        Decision::Send(e) => *e,
        Decision::Skip => return None,
        Decision::Dropped(why) => {
            tracing::debug!(alert = %key, "event dropped: {why}");
            return None;
        }
    };
    // Flux without its ObjectLevelWorkloadIdentity feature gate, which
    // ferroflux has no workload identity for.
    if p.spec.service_account_name.is_some() {
        failed(
            warnings,
            "to use spec.serviceAccountName for provider authentication please enable the \
             ObjectLevelWorkloadIdentity feature gate in the controller"
                .into(),
        );
        return None;
    }
    let mut target = match provider::target(&pkey, p, from.secrets) {
        Ok(t) => t,
        Err(e) => {
            failed(
                warnings,
                format!(
                    "failed to initialize notifier for provider '{}': {e}",
                    pkey.name
                ),
            );
            return None;
        }
    };
    if p.spec.provider_type.is_commit_status() {
        if p.spec.commit_status_expr.is_some() {
            failed(
                warnings,
                "failed to create commit status: spec.commitStatusExpr is not supported by \
                 ferroflux yet"
                    .into(),
            );
            return None;
        }
        let uid = p.metadata.uid.as_deref().unwrap_or("");
        target.commit_status = matching::default_commit_status(uid, &sent);
    }
    Some(Job {
        alert: key.namespaced_name(),
        target,
        event: sent,
    })
}
