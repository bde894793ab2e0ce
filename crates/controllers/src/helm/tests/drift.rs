//! `spec.driftDetection` in the action loop: a release in sync whose
//! objects drifted is corrected (`enabled`) or reported (`warn`) without
//! a new release; `disabled` never looks.

use ferroflux_api::helm::{condition as hc, reason as hr_reason};
use ferroflux_api::meta::condition;
use serde_json::{Value, json};

use super::{World, helmrelease};
use crate::status::{EventType, Outcome};
use crate::target::helm::{DiffType, JsonDiff};

fn diff(type_: DiffType, subject: &str, patch: Vec<Value>) -> JsonDiff {
    let count = |op: &str| patch.iter().filter(|p| p["op"] == op).count();
    JsonDiff {
        type_,
        subject: subject.into(),
        desired: json!({"kind": "ConfigMap"}),
        counts: (count("add"), count("replace"), count("remove")),
        patch,
    }
}

fn drifted_cluster() -> Vec<JsonDiff> {
    vec![
        diff(
            DiffType::Update,
            "ConfigMap/apps/podinfo",
            vec![json!({"op": "replace", "path": "/data/a", "value": "x"})],
        ),
        diff(DiffType::Create, "Deployment/apps/podinfo", vec![]),
        diff(DiffType::None, "Service/apps/podinfo", vec![]),
    ]
}

const DRIFTED: &str = "Cluster state of release apps/podinfo.v1 has drifted from the desired state:\n\
    ConfigMap/apps/podinfo changed (0 additions, 1 changes, 0 removals)\n\
    Deployment/apps/podinfo removed";

fn installed(mode: &str, ignore: Value) -> World {
    let mut w = World::new(helmrelease(
        json!({"driftDetection": {"mode": mode, "ignore": ignore}}),
    ));
    w.reconcile();
    let calls = w.helm.calls();
    assert_eq!(calls[0], "install");
    w
}

#[test]
fn enabled_corrects_the_drift_without_a_new_release() {
    let mut w = installed("enabled", json!([]));
    assert_eq!(
        w.cond(hc::DRIFTED),
        (
            "False".into(),
            hr_reason::NO_DRIFT_DETECTED.into(),
            "No drift detected against the cluster state".into()
        )
    );
    w.helm.lock().drift = drifted_cluster();
    let r = w.reconcile();
    assert_eq!(
        w.helm.calls(),
        [
            "diff:podinfo.v1:helm-controller",
            "correct:helm-controller",
            "diff:podinfo.v1:helm-controller"
        ]
    );
    assert_eq!(w.helm.statuses(), [(1, "deployed".to_string())]);
    let events: Vec<(EventType, &str, &str)> = r
        .events
        .iter()
        .map(|e| (e.type_, e.reason.as_str(), e.message.as_str()))
        .collect();
    assert_eq!(
        events,
        [
            (EventType::Warning, "DriftDetected", DRIFTED),
            (
                EventType::Normal,
                "DriftCorrected",
                "Cluster state of release apps/podinfo.v1 has been corrected:\n\
                 Deployment/apps/podinfo created\nConfigMap/apps/podinfo configured"
            ),
        ]
    );
    // Corrected in the same run: the loop looked again.
    assert_eq!(w.cond(hc::DRIFTED).1, hr_reason::NO_DRIFT_DETECTED);
    assert_eq!(w.cond(condition::READY).0, "True");
    assert_eq!(w.cond(condition::READY).1, "InstallSucceeded");
    assert!(!w.has(condition::RECONCILING));
    assert_eq!(
        r.outcome,
        Outcome::RequeueAfter(std::time::Duration::from_secs(300))
    );
}

#[test]
fn warn_reports_the_drift_and_leaves_the_cluster() {
    let mut w = installed("warn", json!([]));
    w.helm.lock().drift = drifted_cluster();
    let r = w.reconcile();
    assert_eq!(w.helm.calls(), ["diff:podinfo.v1:helm-controller"]);
    assert_eq!(
        w.cond(hc::DRIFTED),
        ("True".into(), "DriftDetected".into(), DRIFTED.into())
    );
    assert_eq!(r.events.len(), 1);
    assert_eq!(r.events[0].type_, EventType::Warning);
    assert_eq!(r.events[0].message, DRIFTED);
    assert_eq!(w.cond(condition::READY).0, "True");
    // Still drifted next time: reported again.
    let r = w.reconcile();
    assert_eq!(r.events.len(), 1);
    assert_eq!(w.helm.statuses(), [(1, "deployed".to_string())]);
}

#[test]
fn disabled_never_diffs() {
    let mut w = World::new(helmrelease(json!({})));
    w.reconcile();
    w.helm.calls();
    w.helm.lock().drift = drifted_cluster();
    let r = w.reconcile();
    assert!(w.helm.calls().is_empty());
    assert!(!w.has(hc::DRIFTED));
    assert!(r.events.is_empty());
    let mut w = World::new(helmrelease(json!({"driftDetection": {"mode": "disabled"}})));
    w.reconcile();
    w.helm.lock().drift = drifted_cluster();
    w.helm.calls();
    w.reconcile();
    assert!(w.helm.calls().is_empty());
}

#[test]
fn a_failed_correction_is_an_event_and_the_run_retries() {
    let mut w = installed("enabled", json!([]));
    {
        let mut s = w.helm.lock();
        s.drift = drifted_cluster();
        s.correct_fails = vec!["ConfigMap/apps/podinfo".into()];
    }
    let r = w.reconcile();
    let reasons: Vec<&str> = r.events.iter().map(|e| e.reason.as_str()).collect();
    assert_eq!(
        reasons,
        ["DriftDetected", "DriftCorrectionFailed", "DriftDetected"]
    );
    assert_eq!(
        r.events[1].message,
        "Failed to partially correct cluster state of release apps/podinfo.v1:\n\
         ConfigMap/apps/podinfo patch failure: denied\n\n\
         Successful corrections:\nDeployment/apps/podinfo created"
    );
    assert_eq!(r.events[1].type_, EventType::Warning);
    assert_eq!(
        w.cond(hc::DRIFTED).2,
        "Cluster state of release apps/podinfo.v1 has drifted from the desired state:\n\
         ConfigMap/apps/podinfo changed (0 additions, 1 changes, 0 removals)"
    );
    let (status, reason, _) = w.cond(condition::RECONCILING);
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("True", "ProgressingWithRetry")
    );
    assert_eq!(
        r.outcome,
        Outcome::RequeueAfter(std::time::Duration::from_secs(1))
    );
    assert_eq!(w.helm.statuses(), [(1, "deployed".to_string())]);
}

#[test]
fn a_diff_that_fails_for_every_object_is_a_state_error() {
    let mut w = installed("enabled", json!([]));
    w.helm.lock().diff_errors = vec!["ConfigMap/apps/podinfo dry-run failed: forbidden".into()];
    w.reconcile();
    assert_eq!(
        w.cond(condition::READY),
        (
            "False".into(),
            "StateError".into(),
            "Could not determine release state: unable to determine cluster state: \
             ConfigMap/apps/podinfo dry-run failed: forbidden"
                .into()
        )
    );
    // With a drift besides, the drift wins and the error is logged.
    {
        let mut s = w.helm.lock();
        s.drift = drifted_cluster();
    }
    w.helm.calls();
    let r = w.reconcile();
    assert_eq!(r.events[0].reason, "DriftDetected");
    assert!(
        w.helm
            .calls()
            .contains(&"correct:helm-controller".to_string())
    );
}

#[test]
fn the_ignore_rules_reach_the_diff() {
    let mut w = installed(
        "enabled",
        json!([
            {"paths": ["/data/a"], "target": {"kind": "ConfigMap", "name": "podinfo"}},
            {"paths": ["/spec/replicas"]}
        ]),
    );
    let seen = w.helm.lock().diff_ignores.clone();
    let rules = seen.last().unwrap();
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[0].paths, ["/data/a"]);
    let t = rules[0].target.as_ref().unwrap();
    assert_eq!((t.kind.as_str(), t.name.as_str()), ("ConfigMap", "podinfo"));
    assert!(rules[1].target.is_none());
    w.reconcile();
    assert_eq!(w.helm.calls(), ["diff:podinfo.v1:helm-controller"]);
}
