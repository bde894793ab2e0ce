//! Getter defaults and `status.history` operations, as helm-controller's
//! `api/v2` tests table them (`snapshot_types_test.go`).

use std::collections::BTreeMap;

use super::*;

fn snap(version: i64, status: &str) -> Snapshot {
    Snapshot {
        version,
        status: status.into(),
        ..Snapshot::default()
    }
}

fn with_tests(mut s: Snapshot, hooks: &[(&str, Option<&str>)]) -> Snapshot {
    s.test_hooks = Some(
        hooks
            .iter()
            .map(|(n, p)| {
                (
                    n.to_string(),
                    p.map(|p| TestHookStatus {
                        phase: p.into(),
                        ..TestHookStatus::default()
                    }),
                )
            })
            .collect::<BTreeMap<_, _>>(),
    );
    s
}

fn versions(h: &[Snapshot]) -> Vec<i64> {
    h.iter().map(|s| s.version).collect()
}

#[test]
fn latest_is_the_highest_version() {
    let mut h = vec![snap(1, ""), snap(3, ""), snap(2, "")];
    assert_eq!(snapshots::latest(&mut h).map(|s| s.version), Some(3));
    assert_eq!(versions(&h), [3, 2, 1]);
    assert!(snapshots::latest(&mut []).is_none());
}

type Hooks<'a> = &'a [(&'a str, Option<&'a str>)];

#[test]
fn has_been_tested_table() {
    let cases: &[(Hooks, bool)] = &[
        (&[], true),
        (&[("t1", Some(""))], false),
        (&[("t1", None)], false),
        (&[("t1", Some("Succeeded"))], true),
        (&[("t1", Some("Failed"))], true),
        (&[("t1", Some("Succeeded")), ("t2", Some("Failed"))], true),
        (&[("t1", Some("Failed")), ("t2", Some(""))], true),
        (&[("t1", Some("Succeeded")), ("t2", Some(""))], false),
        (&[("t1", Some("Running"))], false),
        (&[("t1", Some("Unknown"))], false),
    ];
    assert!(!snap(2, "deployed").has_been_tested());
    for (hooks, want) in cases {
        let s = with_tests(snap(2, "deployed"), hooks);
        assert_eq!(s.has_been_tested(), *want, "{hooks:?}");
    }
}

#[test]
fn previous_table() {
    let mut h = vec![
        snap(2, "deployed"),
        snap(3, "failed"),
        snap(1, "superseded"),
    ];
    assert_eq!(
        snapshots::previous(&mut h, false).map(|s| s.version),
        Some(2)
    );

    let failed3 = with_tests(snap(3, "superseded"), &[("test", Some("Failed"))]);
    let mut h = vec![
        snap(4, "deployed"),
        snap(1, "superseded"),
        snap(2, "superseded"),
        failed3.clone(),
    ];
    assert_eq!(
        snapshots::previous(&mut h, true).map(|s| s.version),
        Some(3)
    );
    assert_eq!(
        snapshots::previous(&mut h, false).map(|s| s.version),
        Some(2)
    );

    let mut h = vec![snap(1, "deployed")];
    assert!(snapshots::previous(&mut h, false).is_none());
    let mut h = vec![snap(4, "deployed"), failed3];
    assert!(snapshots::previous(&mut h, false).is_none());
}

#[test]
fn truncate_table() {
    let mut h = vec![
        snap(1, "superseded"),
        snap(3, "failed"),
        snap(2, "superseded"),
        snap(4, "deployed"),
    ];
    snapshots::truncate(&mut h, false);
    assert_eq!(versions(&h), [4, 3, 2]);

    let failed = with_tests(
        snap(3, "superseded"),
        &[("fault", Some("Failed")), ("grpc", Some(""))],
    );
    let passed = with_tests(snap(2, "superseded"), &[("grpc", Some("Succeeded"))]);
    let mut h = vec![snap(4, "deployed"), failed.clone(), passed.clone()];
    snapshots::truncate(&mut h, false);
    assert_eq!(versions(&h), [4, 3, 2]);

    let mut h = vec![snap(4, "deployed"), failed, passed, snap(1, "superseded")];
    snapshots::truncate(&mut h, true);
    assert_eq!(versions(&h), [4, 3]);

    let mut h = vec![
        snap(6, "deployed"),
        snap(5, "failed"),
        snap(4, "failed"),
        snap(3, "failed"),
        snap(2, "failed"),
        snap(1, "failed"),
    ];
    snapshots::truncate(&mut h, false);
    assert_eq!(versions(&h), [6, 5, 4, 3, 2]);

    let mut h = vec![snap(1, "deployed")];
    snapshots::truncate(&mut h, false);
    assert_eq!(versions(&h), [1]);
}

fn hr(yaml: &str) -> HelmRelease {
    let docs = crate::yaml::parse_stream(yaml).unwrap();
    let node = docs[0].node.as_ref().unwrap();
    serde_json::from_value(node.to_json()).unwrap()
}

const MINIMAL: &str = "
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: podinfo, namespace: apps}
spec:
  interval: 10m
  chart: {spec: {chart: podinfo, sourceRef: {kind: HelmRepository, name: podinfo}}}
";

#[test]
fn defaults_are_helm_controllers_getters() {
    let h = hr(MINIMAL);
    assert_eq!(h.release_name(), "podinfo");
    assert_eq!(h.release_namespace(), "apps");
    assert_eq!(h.storage_namespace(), "apps");
    assert_eq!(h.helm_chart_name(), "apps-podinfo");
    assert_eq!(h.timeout(), StdDuration::from_secs(300));
    assert_eq!(h.install_timeout(), StdDuration::from_secs(300));
    assert_eq!(h.max_history(), 5);
    assert!(h.persistent_client());
    assert_eq!(h.drift_detection_mode(), "disabled");
    assert_eq!(h.post_render_strategy(), "combined");
    assert_eq!(h.install().crds(), Crds::Create);
    assert_eq!(h.upgrade().crds(), Crds::Create);
    assert!(h.install().server_side_apply());
    assert!(h.upgrade().reinstall_on_chart_name_change());
    assert_eq!(h.uninstall().deletion_propagation(), "background");
    let i = h.install().remediation();
    assert_eq!((i.retries, i.remediate_last_failure), (0, false));
    assert!(i.strategy_uninstall());
    let u = h.upgrade().remediation();
    assert_eq!(
        (u.retries, u.remediate_last_failure, u.uninstall),
        (0, false, false)
    );
    assert_eq!(h.install().retry(false), None);
    assert_eq!(h.install().retry(true), Some(DEFAULT_RETRY_INTERVAL));
    assert!(h.active_remediation().is_none());
}

#[test]
fn set_fields_override_the_defaults() {
    let h = hr(&format!(
        "{MINIMAL}  targetNamespace: web
  storageNamespace: store
  timeout: 2m
  maxHistory: 0
  install:
    skipCRDs: true
    timeout: 1m
    strategy: {{name: RetryOnFailure, retryInterval: 30s}}
  upgrade:
    crds: CreateReplace
    remediation: {{retries: 3, strategy: uninstall}}
    chartNameChangeStrategy: InPlaceUpdate
  uninstall: {{deletionPropagation: foreground}}
status:
  lastAttemptedReleaseAction: upgrade
  upgradeFailures: 4
"
    ));
    assert_eq!(h.release_name(), "web-podinfo");
    assert_eq!(h.release_namespace(), "web");
    assert_eq!(h.storage_namespace(), "store");
    assert_eq!(h.timeout(), StdDuration::from_secs(120));
    assert_eq!(h.install_timeout(), StdDuration::from_secs(60));
    assert_eq!(h.upgrade_timeout(), StdDuration::from_secs(120));
    assert_eq!(h.max_history(), 0);
    assert_eq!(h.install().crds(), Crds::Skip);
    assert_eq!(h.upgrade().crds(), Crds::CreateReplace);
    assert_eq!(h.install().retry(false), Some(StdDuration::from_secs(30)));
    assert!(!h.upgrade().reinstall_on_chart_name_change());
    assert_eq!(h.uninstall().deletion_propagation(), "foreground");
    let r = h.active_remediation().unwrap();
    assert_eq!(r.action, ReleaseAction::Upgrade);
    assert!(r.remediate_last_failure, "retries > 0 makes it the default");
    assert!(r.strategy_uninstall());
    let status = h.status.clone().unwrap();
    assert!(r.retries_exhausted(&status), "4 failures > 3 retries");
    let unlimited = Remediation { retries: -1, ..r };
    assert!(!unlimited.retries_exhausted(&status));
}

#[test]
fn status_round_trips_with_flux_field_names() {
    let status: HelmReleaseStatus = serde_json::from_value(serde_json::json!({
        "observedGeneration": 2,
        "history": [{
            "apiVersion": "v2", "digest": "sha256:aa", "name": "podinfo", "namespace": "apps",
            "version": 1, "status": "deployed", "action": "install", "chartName": "podinfo",
            "chartVersion": "6.5.0", "configDigest": "sha256:bb",
            "firstDeployed": "2026-01-01T00:00:00Z", "lastDeployed": "2026-01-01T00:00:00Z",
            "testHooks": {"podinfo-test": {"phase": "Succeeded"}}
        }],
        "lastAttemptedReleaseAction": "install",
        "installFailures": 1,
        "lastHandledResetAt": "a",
        "lastHandledForceAt": "b"
    }))
    .unwrap();
    assert_eq!(status.history[0].full_release_name(), "apps/podinfo.v1");
    assert_eq!(status.history[0].versioned_chart_name(), "podinfo@6.5.0");
    assert!(status.history[0].has_been_tested());
    let back = serde_json::to_value(&status).unwrap();
    assert_eq!(back["history"][0]["chartVersion"], "6.5.0");
    assert_eq!(back["installFailures"], 1);
    assert!(back.get("upgradeFailures").is_none(), "omitempty as Flux");
}
