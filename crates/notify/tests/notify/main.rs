//! ferroflux-notify against a local HTTP(S) sink: each provider type's
//! requests compared with what notification-controller v1.9.3 sends for
//! the same event, TLS with a Provider CA, HMAC signatures, retries of a
//! provider that is down (never blocking the caller), a wrong token
//! reported, a proxy from `proxySecretRef`.

mod delivery;
mod payloads;
mod sink;

use std::collections::BTreeMap;
use std::time::Duration;

use ferroflux_api::meta::LocalObjectReference;
use ferroflux_api::notification::{ProviderSpec, ProviderType};
use ferroflux_notify::delivery::{NotifierOptions, Report, deliver};
use ferroflux_notify::target::{ProviderSecrets, SecretData, resolve};
use ferroflux_notify::{Event, Job, ObjectRef, Severity, Target};

/// notification-controller's `client_test.go` `testEvent()` with the
/// timestamp of `forwarder_test.go` (1664520029).
pub fn flux_test_event() -> Event {
    let mut e = Event::new(
        ObjectRef {
            kind: "GitRepository".into(),
            namespace: "gitops-system".into(),
            name: "webapp".into(),
            ..Default::default()
        },
        Severity::Info,
        jiff_ts(1664520029),
        "reason",
        "message",
    );
    e.metadata.insert("test".into(), "metadata".into());
    e.reporting_controller = "source-controller".into();
    e.reporting_instance = "source-controller-xyz".into();
    e
}

pub fn jiff_ts(secs: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(secs).expect("valid timestamp")
}

pub fn secret(pairs: &[(&str, &str)]) -> SecretData {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect::<BTreeMap<_, _>>()
}

pub fn spec(t: ProviderType, address: &str) -> ProviderSpec {
    ProviderSpec {
        provider_type: t,
        address: (!address.is_empty()).then(|| address.to_string()),
        ..Default::default()
    }
}

/// A Provider resolved as the runtime resolves it (spec + Secrets).
pub fn target(spec: &ProviderSpec, secrets: ProviderSecrets) -> Target {
    let mut spec = spec.clone();
    if secrets.secret.is_some() {
        spec.secret_ref = Some(LocalObjectReference { name: "s".into() });
    }
    resolve("flux-system", "p", &spec, &secrets).expect("provider resolves")
}

pub fn with_secret(pairs: &[(&str, &str)]) -> ProviderSecrets {
    ProviderSecrets {
        secret: Some(secret(pairs)),
        ..Default::default()
    }
}

/// Retries in milliseconds instead of seconds.
pub fn fast() -> NotifierOptions {
    NotifierOptions {
        backoff_min: Duration::from_millis(20),
        backoff_max: Duration::from_millis(80),
        ..Default::default()
    }
}

pub async fn send(t: Target, e: Event, opts: &NotifierOptions) -> Report {
    deliver(
        &Job {
            alert: "flux-system/a".into(),
            target: t,
            event: e,
        },
        opts,
    )
    .await
}
