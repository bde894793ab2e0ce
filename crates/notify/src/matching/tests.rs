use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ferroflux_api::meta::LocalObjectReference;
use ferroflux_api::notification::{
    AlertSpec, CrossNamespaceObjectReference, EventSeverity, ProviderSpec, ProviderType,
};

use super::*;
use crate::event::{Event, ObjectRef, Severity};

fn event(kind: &str, name: &str, severity: Severity, message: &str) -> Event {
    Event::new(
        ObjectRef {
            kind: kind.into(),
            namespace: "flux-system".into(),
            name: name.into(),
            api_version: "kustomize.toolkit.fluxcd.io/v1".into(),
            ..Default::default()
        },
        severity,
        jiff::Timestamp::UNIX_EPOCH,
        "ReconciliationSucceeded",
        message,
    )
}

fn source(kind: &str, name: &str) -> CrossNamespaceObjectReference {
    CrossNamespaceObjectReference {
        kind: kind.into(),
        name: name.into(),
        ..Default::default()
    }
}

fn alert(sources: Vec<CrossNamespaceObjectReference>) -> AlertSpec {
    AlertSpec {
        provider_ref: LocalObjectReference {
            name: "slack".into(),
        },
        event_sources: sources,
        ..Default::default()
    }
}

fn takes(e: &Event, spec: &AlertSpec) -> (bool, Vec<Warning>) {
    takes_with(e, spec, &|_| None)
}

fn takes_with(
    e: &Event,
    spec: &AlertSpec,
    labels: &dyn Fn(&ObjectRef) -> Option<BTreeMap<String, String>>,
) -> (bool, Vec<Warning>) {
    let mut w = Vec::new();
    let a = AlertRef {
        namespace: "flux-system",
        name: "a",
        spec,
    };
    (alert_takes(e, a, labels, &mut w), w)
}

#[test]
fn sources_match_by_kind_name_wildcard_and_namespace() {
    let e = event("Kustomization", "apps", Severity::Info, "m");
    assert!(takes(&e, &alert(vec![source("Kustomization", "apps")])).0);
    assert!(takes(&e, &alert(vec![source("Kustomization", "*")])).0);
    assert!(!takes(&e, &alert(vec![source("Kustomization", "infra")])).0);
    assert!(!takes(&e, &alert(vec![source("GitRepository", "*")])).0);
    let mut elsewhere = source("Kustomization", "*");
    elsewhere.namespace = Some("apps".into());
    assert!(
        !takes(&e, &alert(vec![elsewhere])).0,
        "no namespace wildcard"
    );
}

#[test]
fn severity_error_takes_only_errors_and_info_takes_both() {
    let info = event("Kustomization", "apps", Severity::Info, "m");
    let error = event("Kustomization", "apps", Severity::Error, "m");
    let mut spec = alert(vec![source("Kustomization", "*")]);
    assert!(takes(&info, &spec).0 && takes(&error, &spec).0);
    spec.event_severity = Some(EventSeverity::Error);
    assert!(!takes(&info, &spec).0);
    assert!(takes(&error, &spec).0);
}

#[test]
fn match_labels_ask_for_the_object_labels() {
    let e = event("Kustomization", "apps", Severity::Info, "m");
    let mut s = source("Kustomization", "*");
    s.match_labels = Some(BTreeMap::from([("team".to_string(), "a".to_string())]));
    let spec = alert(vec![s]);
    let labelled = |_: &ObjectRef| Some(BTreeMap::from([("team".to_string(), "a".to_string())]));
    assert!(takes_with(&e, &spec, &labelled).0);
    let other = |_: &ObjectRef| Some(BTreeMap::from([("team".to_string(), "b".to_string())]));
    assert!(!takes_with(&e, &spec, &other).0);
    let (took, w) = takes(&e, &spec);
    assert!(!took);
    assert_eq!(w[0].reason, reason::SOURCE_FETCH_FAILED);
    assert_eq!(
        w[0].message,
        "error getting source object Kustomization/flux-system/apps"
    );
}

#[test]
fn inclusion_and_exclusion_lists_and_a_bad_regex() {
    let e = event(
        "Kustomization",
        "apps",
        Severity::Info,
        "Reconciliation finished in 1s",
    );
    let mut spec = alert(vec![source("Kustomization", "*")]);
    spec.inclusion_list = vec!["^Dependencies".into(), "finished".into()];
    assert!(takes(&e, &spec).0);
    spec.exclusion_list = vec!["in [0-9]s$".into()];
    assert!(!takes(&e, &spec).0);
    spec.exclusion_list = vec!["(".into()];
    let (took, w) = takes(&e, &spec);
    assert!(took, "an uncompilable exclusion matches nothing");
    assert_eq!(w[0].reason, reason::INVALID_CONFIG);
    assert_eq!(w[0].message, "failed to compile exclusion regex: (");
}

#[test]
fn suspended_alert_takes_nothing() {
    let e = event("Kustomization", "apps", Severity::Info, "m");
    let mut spec = alert(vec![source("Kustomization", "*")]);
    spec.suspend = Some(true);
    assert!(!takes(&e, &spec).0);
}

fn provider(t: ProviderType) -> ProviderSpec {
    ProviderSpec {
        provider_type: t,
        ..Default::default()
    }
}

#[test]
fn commit_status_updates_skip_chat_providers_and_reach_generic_and_git() {
    let mut e = event(
        "Kustomization",
        "apps",
        Severity::Info,
        "Reconciliation finished",
    );
    e.metadata.insert(
        "kustomize.toolkit.fluxcd.io/commit_status".into(),
        "update".into(),
    );
    e.metadata.insert(
        "kustomize.toolkit.fluxcd.io/revision".into(),
        "main@sha1:abc".into(),
    );
    let spec = alert(vec![source("Kustomization", "*")]);
    let a = AlertRef {
        namespace: "flux-system",
        name: "a",
        spec: &spec,
    };
    let mut w = Vec::new();
    assert_eq!(
        decide(&e, a, &provider(ProviderType::Slack), &mut w),
        Decision::Skip
    );
    let Decision::Send(sent) = decide(&e, a, &provider(ProviderType::Generic), &mut w) else {
        panic!("generic gets commit status updates");
    };
    assert_eq!(
        sent.metadata,
        BTreeMap::from([
            ("commit_status".to_string(), "update".to_string()),
            ("revision".to_string(), "main@sha1:abc".to_string()),
        ])
    );
    assert!(matches!(
        decide(&e, a, &provider(ProviderType::Github), &mut w),
        Decision::Send(_)
    ));
    let mut suspended = provider(ProviderType::Generic);
    suspended.suspend = Some(true);
    assert_eq!(decide(&e, a, &suspended, &mut w), Decision::Skip);
}

#[test]
fn commit_status_provider_drops_plain_info_events() {
    let e = event("Kustomization", "apps", Severity::Info, "m");
    let spec = alert(vec![source("Kustomization", "*")]);
    let a = AlertRef {
        namespace: "flux-system",
        name: "a",
        spec: &spec,
    };
    let mut w = Vec::new();
    assert!(matches!(
        decide(&e, a, &provider(ProviderType::Gitlab), &mut w),
        Decision::Dropped(_)
    ));
    let error = event("Kustomization", "apps", Severity::Error, "m");
    assert!(matches!(
        decide(&error, a, &provider(ProviderType::Gitlab), &mut w),
        Decision::Send(_)
    ));
}

#[test]
fn metadata_combines_in_rfc_0008_order_and_reports_conflicts() {
    let mut e = event("Kustomization", "apps", Severity::Info, "m");
    e.metadata
        .insert("event.toolkit.fluxcd.io/env".into(), "annotation".into());
    e.metadata.insert(
        "kustomize.toolkit.fluxcd.io/revision".into(),
        "main@sha1:abc".into(),
    );
    let mut spec = alert(vec![source("Kustomization", "*")]);
    spec.event_metadata = Some(BTreeMap::from([
        ("env".to_string(), "alert".to_string()),
        ("cluster".to_string(), "prod".to_string()),
    ]));
    spec.summary = Some("deprecated summary".into());
    let a = AlertRef {
        namespace: "flux-system",
        name: "a",
        spec: &spec,
    };
    let mut w = Vec::new();
    let out = combine_metadata(&e, a, &mut w);
    assert_eq!(
        out.metadata,
        BTreeMap::from([
            ("cluster".to_string(), "prod".to_string()),
            ("env".to_string(), "alert".to_string()),
            ("revision".to_string(), "main@sha1:abc".to_string()),
            ("summary".to_string(), "deprecated summary".to_string()),
        ])
    );
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].reason, reason::METADATA_APPEND_FAILED);
    assert!(
        w[0].message
            .contains("env: involved object annotations, Alert object .spec.eventMetadata"),
        "{}",
        w[0].message
    );
}

#[test]
fn default_commit_status_is_flux_id() {
    // provider_commit_status_test.go: UID 0c9c2e41-d2f9-4f9b-9c41-bebc1984d67a.
    let mut e = event("Kustomization", "gitops-system", Severity::Info, "m");
    e.involved_object.name = "gitops-system".into();
    assert_eq!(
        default_commit_status("0c9c2e41-d2f9-4f9b-9c41-bebc1984d67a", &e),
        "kustomization/gitops-system/0c9c2e41"
    );
}

#[test]
fn rate_limiter_drops_repeats_within_the_interval() {
    let mut limiter = RateLimiter::new(Duration::from_secs(300));
    let e = event("Kustomization", "apps", Severity::Info, "m");
    let t0 = Instant::now();
    assert!(limiter.allow(&e, t0));
    assert!(!limiter.allow(&e, t0 + Duration::from_secs(299)));
    let other = event("Kustomization", "apps", Severity::Info, "another message");
    assert!(limiter.allow(&other, t0 + Duration::from_secs(1)));
    assert!(limiter.allow(&e, t0 + Duration::from_secs(300)));
}

#[test]
fn rate_limiter_is_bounded() {
    let mut limiter = RateLimiter::new(Duration::from_secs(300)).with_capacity(3);
    let t0 = Instant::now();
    for i in 0..10 {
        let e = event("Kustomization", "apps", Severity::Info, &format!("m{i}"));
        assert!(limiter.allow(&e, t0 + Duration::from_millis(i)));
    }
    assert_eq!(limiter.len(), 3);
}
