//! `DetermineReleaseState`, case by case (helm-controller's
//! `state_test.go` table, over records and snapshots built here).

use ferroflux_api::helm::{HelmReleaseStatus, Snapshot, TestHookStatus};
use serde_json::{Map, json};

use super::*;
use crate::helm::tests::{helmrelease, record};

fn rec(status: &str, version: &str) -> Record {
    let mut r = record(
        ("podinfo", "apps", 1),
        status,
        ("podinfo", version),
        &Map::new(),
        &[],
        "d",
    );
    r.status = Status::parse(status);
    r
}

fn snap_of(r: &Record) -> Snapshot {
    digest::observe(r, "").to_snapshot("install", "")
}

fn desired<'a>(values: &'a Map<String, Value>) -> Desired<'a> {
    Desired {
        chart_name: "podinfo",
        chart_version: "6.5.0",
        values,
    }
}

fn status_with(s: Option<Snapshot>) -> HelmReleaseStatus {
    HelmReleaseStatus {
        history: s.into_iter().collect(),
        observed_generation: Some(1),
        ..HelmReleaseStatus::default()
    }
}

fn st(hr: &HelmRelease, status: &HelmReleaseStatus, last: Option<&Record>) -> ReleaseStatus {
    let values = Map::new();
    determine(hr, status, last, desired(&values))
        .unwrap()
        .status
}

#[test]
fn state_table() {
    let hr = helmrelease(json!({}));
    let deployed = rec("deployed", "6.5.0");
    let managed = status_with(Some(snap_of(&deployed)));
    assert_eq!(st(&hr, &managed, None), ReleaseStatus::Absent);
    assert_eq!(
        st(&hr, &managed, Some(&rec("pending-install", "6.5.0"))),
        ReleaseStatus::Locked
    );
    assert_eq!(
        st(&hr, &status_with(None), Some(&deployed)),
        ReleaseStatus::Unmanaged
    );
    assert_eq!(
        st(&hr, &status_with(None), Some(&rec("uninstalled", "6.5.0"))),
        ReleaseStatus::Absent
    );
    assert_eq!(st(&hr, &managed, Some(&deployed)), ReleaseStatus::InSync);

    // Another record than the one observed.
    let mut other = deployed.clone();
    other.json["manifest"] = json!("kind: Changed\n");
    assert_eq!(st(&hr, &managed, Some(&other)), ReleaseStatus::Unmanaged);
    // A snapshot of another API version is not verified.
    let mut old = snap_of(&deployed);
    old.api_version = String::new();
    old.digest = "sha256:whatever".into();
    assert_eq!(
        st(&hr, &status_with(Some(old)), Some(&other)),
        ReleaseStatus::InSync
    );

    let failed = rec("failed", "6.5.0");
    assert_eq!(
        st(&hr, &status_with(Some(snap_of(&failed))), Some(&failed)),
        ReleaseStatus::Failed
    );
    let gone = rec("uninstalled", "6.5.0");
    assert_eq!(
        st(&hr, &status_with(Some(snap_of(&gone))), Some(&gone)),
        ReleaseStatus::Absent
    );

    // Chart version or values changed.
    let older = rec("deployed", "6.4.0");
    assert_eq!(
        st(&hr, &status_with(Some(snap_of(&older))), Some(&older)),
        ReleaseStatus::OutOfSync
    );
    let values = json!({"a": 1}).as_object().cloned().unwrap();
    let s = determine(&hr, &managed, Some(&deployed), desired(&values)).unwrap();
    assert_eq!(
        (s.status, s.reason.as_str()),
        (ReleaseStatus::OutOfSync, "release config values changed")
    );

    // A new generation with other post-renderers.
    let mut pr = helmrelease(
        json!({"postRenderers": [{"kustomize": {"images": [{"name": "a", "newTag": "b"}]}}]}),
    );
    pr.metadata.generation = Some(2);
    assert_eq!(st(&pr, &managed, Some(&deployed)), ReleaseStatus::OutOfSync);

    let superseded = rec("superseded", "6.5.0");
    let e = determine(
        &hr,
        &status_with(Some(snap_of(&superseded))),
        Some(&superseded),
        desired(&Map::new()),
    );
    assert_eq!(
        e.unwrap_err(),
        "unable to determine state for release with status 'superseded'"
    );
}

#[test]
fn tests_decide_untested_and_failed() {
    let hr = helmrelease(json!({"test": {"enable": true}}));
    let deployed = rec("deployed", "6.5.0");
    let mut snap = snap_of(&deployed);
    assert_eq!(
        st(&hr, &status_with(Some(snap.clone())), Some(&deployed)),
        ReleaseStatus::Untested
    );
    snap.test_hooks = Some(
        [(
            "t".to_string(),
            Some(TestHookStatus {
                phase: "Failed".into(),
                ..TestHookStatus::default()
            }),
        )]
        .into(),
    );
    let mut status = status_with(Some(snap));
    // No active remediation (no action attempted): in sync.
    assert_eq!(st(&hr, &status, Some(&deployed)), ReleaseStatus::InSync);
    status.last_attempted_release_action = "install".into();
    assert_eq!(st(&hr, &status, Some(&deployed)), ReleaseStatus::Failed);
    let ignoring = helmrelease(json!({"test": {"enable": true, "ignoreFailures": true}}));
    assert_eq!(
        st(&ignoring, &status, Some(&deployed)),
        ReleaseStatus::InSync
    );
}
