use std::collections::BTreeMap;

use ferroflux_api::notification::{Alert, Provider};
use ferroflux_notify::{ObjectRef, Severity};
use serde_json::json;

use super::alert::{Sources, dispatch};
use super::event::flux_event;
use crate::kind::{Kind, ObjectKey, SecretData, SecretSource};
use crate::status::{Event, EventType};

struct Secrets(BTreeMap<(String, String), SecretData>);

impl SecretSource for Secrets {
    fn secret(&self, namespace: &str, name: &str) -> Result<&SecretData, String> {
        self.0
            .get(&(namespace.to_string(), name.to_string()))
            .ok_or_else(|| format!("secret '{namespace}/{name}' not found"))
    }
}

fn decode<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).expect("fixture decodes")
}

fn automation_ref() -> ObjectRef {
    ObjectRef {
        kind: "ImageUpdateAutomation".into(),
        namespace: "flux-system".into(),
        name: "apps".into(),
        api_version: "image.toolkit.fluxcd.io/v1".into(),
        ..Default::default()
    }
}

fn event(type_: EventType) -> Event {
    Event {
        type_,
        reason: "Succeeded".into(),
        message: "pushed commit 'abc' to branch 'main'".into(),
    }
}

fn ts() -> k8s_openapi::jiff::Timestamp {
    k8s_openapi::jiff::Timestamp::UNIX_EPOCH
}

#[test]
fn engine_events_become_flux_events() {
    let normal = flux_event(
        &automation_ref(),
        None,
        &event(EventType::Normal),
        None,
        ts(),
    )
    .expect("posted");
    assert_eq!(normal.severity, Severity::Info);
    assert_eq!(normal.reporting_controller, "image-automation-controller");
    let warning = flux_event(
        &automation_ref(),
        None,
        &event(EventType::Warning),
        None,
        ts(),
    )
    .expect("posted");
    assert_eq!(warning.severity, Severity::Error);
    assert!(
        flux_event(
            &automation_ref(),
            None,
            &event(EventType::Trace),
            None,
            ts()
        )
        .is_none()
    );
    let mut cluster_scoped = automation_ref();
    cluster_scoped.namespace.clear();
    assert!(flux_event(&cluster_scoped, None, &event(EventType::Normal), None, ts()).is_none());
}

#[test]
fn revisions_and_event_annotations_become_metadata() {
    let git = ObjectRef {
        kind: "GitRepository".into(),
        namespace: "flux-system".into(),
        name: "repo".into(),
        api_version: "source.toolkit.fluxcd.io/v1".into(),
        ..Default::default()
    };
    let annotations = BTreeMap::from([
        ("event.toolkit.fluxcd.io/team".to_string(), "a".to_string()),
        ("other/annotation".to_string(), "x".to_string()),
    ]);
    let status = json!({"artifact": {"revision": "main@sha1:abc"}});
    let e = flux_event(
        &git,
        Some(&annotations),
        &event(EventType::Normal),
        Some(&status),
        ts(),
    )
    .expect("posted");
    assert_eq!(
        e.metadata,
        BTreeMap::from([
            ("event.toolkit.fluxcd.io/team".to_string(), "a".to_string()),
            (
                "source.toolkit.fluxcd.io/revision".to_string(),
                "main@sha1:abc".to_string()
            ),
        ])
    );
}

fn alert(provider: &str, kind: &str) -> Alert {
    decode(
        json!({"metadata": {"name": "a", "namespace": "flux-system"},
        "spec": {"providerRef": {"name": provider}, "eventSources": [{"kind": kind, "name": "*"}]}}),
    )
}

fn provider(spec: serde_json::Value) -> Provider {
    decode(json!({"metadata": {"name": "p", "namespace": "flux-system",
        "uid": "0c9c2e41-d2f9-4f9b-9c41-bebc1984d67a"}, "spec": spec}))
}

fn run(
    alerts: &[(ObjectKey, Alert)],
    providers: &[(ObjectKey, Provider)],
    secrets: &Secrets,
) -> super::alert::Dispatch {
    let alerts: BTreeMap<_, _> = alerts.iter().cloned().collect();
    let providers: BTreeMap<_, _> = providers.iter().cloned().collect();
    let e = flux_event(
        &automation_ref(),
        None,
        &event(EventType::Normal),
        None,
        ts(),
    )
    .expect("posted");
    dispatch(
        &e,
        &Sources {
            alerts: &alerts,
            providers: &providers,
            secrets,
            labels: &|_| None,
        },
    )
}

fn akey() -> ObjectKey {
    ObjectKey::new("Alert", "flux-system", "a")
}

fn pkey() -> ObjectKey {
    ObjectKey::new("Provider", "flux-system", "p")
}

#[test]
fn a_matching_alert_makes_a_job_with_the_secret_address() {
    let secrets = Secrets(BTreeMap::from([(
        ("flux-system".to_string(), "hook".to_string()),
        BTreeMap::from([("address".to_string(), b"https://hooks.example/x".to_vec())]),
    )]));
    let d = run(
        &[(akey(), alert("p", "ImageUpdateAutomation"))],
        &[(
            pkey(),
            provider(json!({"type": "generic", "secretRef": {"name": "hook"}})),
        )],
        &secrets,
    );
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    assert_eq!(d.jobs.len(), 1);
    assert_eq!(d.jobs[0].alert, "flux-system/a");
    assert_eq!(d.jobs[0].target.address, "https://hooks.example/x");
    // Another kind's alert takes nothing.
    let d = run(
        &[(akey(), alert("p", "Kustomization"))],
        &[(pkey(), provider(json!({"type": "generic"})))],
        &secrets,
    );
    assert!(d.jobs.is_empty());
}

#[test]
fn a_missing_provider_or_secret_is_a_warning_on_the_alert() {
    let none = Secrets(BTreeMap::new());
    let d = run(
        &[(akey(), alert("missing", "ImageUpdateAutomation"))],
        &[],
        &none,
    );
    assert!(d.jobs.is_empty());
    assert_eq!(d.warnings[0].0, akey());
    assert_eq!(d.warnings[0].1.reason, "NotificationDispatchFailed");
    assert_eq!(
        d.warnings[0].1.message,
        "failed to dispatch notification for ImageUpdateAutomation/flux-system/apps: failed to \
         read provider: Provider.notification.toolkit.fluxcd.io \"missing\" not found"
    );
    let d = run(
        &[(akey(), alert("p", "ImageUpdateAutomation"))],
        &[(
            pkey(),
            provider(json!({"type": "slack", "secretRef": {"name": "gone"}})),
        )],
        &none,
    );
    assert!(
        d.warnings[0].1.message.contains(
            "failed to initialize notifier for provider 'p': failed to read secret \
             'flux-system/gone': secret 'flux-system/gone' not found"
        ),
        "{:?}",
        d.warnings
    );
}

#[test]
fn a_service_account_is_flux_feature_gate_error() {
    let none = Secrets(BTreeMap::new());
    let d = run(
        &[(akey(), alert("p", "ImageUpdateAutomation"))],
        &[(
            pkey(),
            provider(json!({"type": "googlepubsub", "serviceAccountName": "sa"})),
        )],
        &none,
    );
    assert!(d.jobs.is_empty());
    assert!(
        d.warnings[0].1.message.ends_with(
            "please enable the ObjectLevelWorkloadIdentity feature gate in the controller"
        ),
        "{:?}",
        d.warnings
    );
}

#[test]
fn commit_status_id_comes_from_the_provider_uid() {
    let secrets = Secrets(BTreeMap::from([(
        ("flux-system".to_string(), "gh".to_string()),
        BTreeMap::from([("token".to_string(), b"t".to_vec())]),
    )]));
    // An error event reaches a commit-status provider without a commit key.
    let alerts: BTreeMap<_, _> = [(akey(), alert("p", "ImageUpdateAutomation"))].into();
    let providers: BTreeMap<_, _> = [(
        pkey(),
        provider(
            json!({"type": "github", "address": "https://github.com/o/r",
            "secretRef": {"name": "gh"}}),
        ),
    )]
    .into();
    let e = flux_event(
        &automation_ref(),
        None,
        &event(EventType::Warning),
        None,
        ts(),
    )
    .expect("posted");
    let d = dispatch(
        &e,
        &Sources {
            alerts: &alerts,
            providers: &providers,
            secrets: &secrets,
            labels: &|_| None,
        },
    );
    assert_eq!(
        d.jobs[0].target.commit_status,
        "imageupdateautomation/apps/0c9c2e41"
    );
}

#[test]
fn provider_and_alert_are_held_not_reconciled() {
    const { assert!(!<Provider as Kind>::RECONCILED) };
    const { assert!(!<Alert as Kind>::RECONCILED) };
    assert_eq!(
        <Provider as Kind>::INFO.api_version(),
        "notification.toolkit.fluxcd.io/v1beta3"
    );
    assert!(<Provider as Kind>::watches().is_empty());
}
