use super::*;

/// notification-controller's `client_test.go` `testEvent()` at timestamp
/// 1664520029 (`internal/notifier/forwarder_test.go`).
pub(crate) fn flux_test_event() -> Event {
    let mut e = Event::new(
        ObjectRef {
            kind: "GitRepository".into(),
            namespace: "gitops-system".into(),
            name: "webapp".into(),
            ..Default::default()
        },
        Severity::Info,
        jiff::Timestamp::from_second(1664520029).expect("valid"),
        "reason",
        "message",
    );
    e.metadata.insert("test".into(), "metadata".into());
    e.reporting_controller = "source-controller".into();
    e.reporting_instance = "source-controller-xyz".into();
    e
}

#[test]
fn event_marshals_as_go_does() {
    // The signed body of forwarder_test.go (field order, compact, UTC seconds).
    assert_eq!(
        String::from_utf8(flux_test_event().to_json()).expect("utf-8"),
        r#"{"involvedObject":{"kind":"GitRepository","namespace":"gitops-system","name":"webapp"},"severity":"info","timestamp":"2022-09-30T06:40:29Z","message":"message","reason":"reason","metadata":{"test":"metadata"},"reportingController":"source-controller","reportingInstance":"source-controller-xyz"}"#
    );
}

#[test]
fn go_json_escapes_html_characters() {
    assert_eq!(
        String::from_utf8(go_json("<a & b>\u{2028}")).expect("utf-8"),
        r#""\u003ca \u0026 b\u003e\u2028""#
    );
}

#[test]
fn long_messages_are_cut_at_flux_bound() {
    let e = Event::new(
        ObjectRef::default(),
        Severity::Error,
        jiff::Timestamp::UNIX_EPOCH,
        "r",
        "é".repeat(MAX_MESSAGE_CHARS + 10),
    );
    assert_eq!(e.message.chars().count(), MAX_MESSAGE_CHARS);
}

fn kustomization_event() -> Event {
    let mut e = Event::new(
        ObjectRef {
            kind: "Kustomization".into(),
            namespace: "flux-system".into(),
            name: "apps".into(),
            api_version: "kustomize.toolkit.fluxcd.io/v1".into(),
            ..Default::default()
        },
        Severity::Info,
        jiff::Timestamp::UNIX_EPOCH,
        "ReconciliationSucceeded",
        "Reconciliation finished",
    );
    for (k, v) in [
        ("kustomize.toolkit.fluxcd.io/revision", "main@sha1:abc"),
        ("kustomize.toolkit.fluxcd.io/checksum", "x"),
        ("kustomize.toolkit.fluxcd.io/digest", "y"),
        ("event.toolkit.fluxcd.io/team", "a"),
        ("other.io/key", "z"),
    ] {
        e.metadata.insert(k.into(), v.into());
    }
    e
}

#[test]
fn cleanup_keeps_the_two_groups_without_checksum_and_digest() {
    let mut e = kustomization_event();
    e.cleanup_metadata();
    let keys: Vec<&str> = e.metadata.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "event.toolkit.fluxcd.io/team",
            "kustomize.toolkit.fluxcd.io/revision"
        ]
    );
}

#[test]
fn rate_limit_key_is_flux_event_key() {
    let e = kustomization_event();
    let expected = hex::encode(sha2::Sha256::digest(
        b"event/name=apps/namespace=flux-system/kind=Kustomization/message=Reconciliation finished/revision=main@sha1:abc",
    ));
    assert_eq!(e.rate_limit_key(), expected);
    let mut other = e.clone();
    other.metadata.insert(
        "kustomize.toolkit.fluxcd.io/revision".into(),
        "main@sha1:def".into(),
    );
    assert_ne!(other.rate_limit_key(), expected);
}

#[test]
fn revision_prefers_commit_then_origin_revision() {
    let mut e = kustomization_event();
    e.metadata.clear();
    assert_eq!(e.revision(), None);
    e.metadata.insert("revision".into(), "r".into());
    e.metadata.insert("originRevision".into(), "o".into());
    assert_eq!(e.revision(), Some("o"));
    e.metadata.insert("commit".into(), "c".into());
    assert_eq!(e.revision(), Some("c"));
}
