use std::collections::BTreeMap;
use std::time::Duration;

use ferroflux_api::kustomize::{DependencyReference, Kustomization, KustomizationStatus};
use ferroflux_api::meta::Condition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use super::dependency::{self, DependencyError, Lookup};
use super::history;
use super::*;

fn ks(yaml: &str) -> Kustomization {
    let v: serde_json::Value = serde_json::from_str(yaml).expect("json");
    serde_json::from_value(v).expect("kustomization")
}

fn base(name: &str, ns: &str, extra: &str) -> Kustomization {
    ks(&format!(
        r#"{{"apiVersion":"kustomize.toolkit.fluxcd.io/v1","kind":"Kustomization",
        "metadata":{{"name":"{name}","namespace":"{ns}","generation":2}},
        "spec":{{"interval":"10m","prune":true,
          "sourceRef":{{"kind":"GitRepository","name":"flux-system"}}{extra}}}}}"#
    ))
}

fn at(secs: i64) -> Time {
    Time(Timestamp::from_second(secs).expect("time"))
}

fn ready(k: &mut Kustomization, status: &str, observed: i64, applied: &str) {
    k.status = Some(KustomizationStatus {
        observed_generation: Some(observed),
        conditions: vec![Condition {
            type_: "Ready".into(),
            status: status.into(),
            reason: "ReconciliationSucceeded".into(),
            message: String::new(),
            observed_generation: Some(observed),
            last_transition_time: at(1),
        }],
        last_applied_revision: Some(applied.into()),
        ..Default::default()
    });
}

struct Map(Vec<Kustomization>);

impl Lookup for Map {
    fn kustomization(&self, namespace: &str, name: &str) -> Option<Kustomization> {
        self.0
            .iter()
            .find(|k| {
                k.metadata.name.as_deref() == Some(name)
                    && k.metadata.namespace.as_deref() == Some(namespace)
            })
            .cloned()
    }
}

const REV: &str = "main@sha1:0123456789abcdef0123456789abcdef01234567";

#[test]
fn timeout_is_interval_less_30s_and_never_below_30s() {
    let k = base("a", "flux-system", "");
    assert_eq!(timeout(&k), Duration::from_secs(570));
    let k = base("a", "flux-system", r#","timeout":"5s""#);
    assert_eq!(timeout(&k), Duration::from_secs(30));
    let k = base("a", "flux-system", r#","timeout":"2m""#);
    assert_eq!(timeout(&k), Duration::from_secs(120));
    let mut k = base("a", "flux-system", "");
    k.spec.interval = ferroflux_api::Duration::parse("40s").expect("duration");
    assert_eq!(timeout(&k), Duration::from_secs(30));
}

#[test]
fn retry_interval_defaults_to_interval() {
    assert_eq!(
        retry_interval(&base("a", "ns", "")),
        Duration::from_secs(600)
    );
    assert_eq!(
        retry_interval(&base("a", "ns", r#","retryInterval":"1m""#)),
        Duration::from_secs(60)
    );
}

#[test]
fn dependencies_fail_with_flux_messages_in_order() {
    let apps = base(
        "apps",
        "flux-system",
        r#","dependsOn":[{"name":"infra"},{"name":"crds","namespace":"other"}]"#,
    );
    // Missing: the API's NotFound text, wrapped.
    let err = dependency::check(&apps, REV, &Map(vec![])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "dependency 'flux-system/infra' not found: kustomizations.kustomize.toolkit.fluxcd.io \"infra\" not found"
    );
    assert!(err.is_transient());

    // No status yet, then an old generation, then Ready=False.
    let mut infra = base("infra", "flux-system", "");
    let lookup = |i: &Kustomization| Map(vec![i.clone()]);
    let not_ready = DependencyError::NotReady {
        namespace: "flux-system".into(),
        name: "infra".into(),
    };
    assert_eq!(
        dependency::check(&apps, REV, &lookup(&infra)),
        Err(not_ready.clone())
    );
    ready(&mut infra, "True", 1, REV);
    assert_eq!(
        dependency::check(&apps, REV, &lookup(&infra)),
        Err(not_ready.clone())
    );
    ready(&mut infra, "False", 2, REV);
    assert_eq!(
        dependency::check(&apps, REV, &lookup(&infra)),
        Err(not_ready)
    );

    // Same source, an older revision applied.
    ready(&mut infra, "True", 2, "main@sha1:ffff");
    assert_eq!(
        dependency::check(&apps, REV, &lookup(&infra))
            .unwrap_err()
            .to_string(),
        "dependency 'flux-system/infra' revision is not up to date"
    );

    // Up to date: the second entry (another namespace) is checked next.
    ready(&mut infra, "True", 2, REV);
    assert_eq!(
        dependency::check(&apps, REV, &lookup(&infra))
            .unwrap_err()
            .to_string(),
        "dependency 'other/crds' not found: kustomizations.kustomize.toolkit.fluxcd.io \"crds\" not found"
    );

    // A dependency on another source is not revision-checked.
    let mut crds = base("crds", "other", "");
    ready(&mut crds, "True", 2, "main@sha1:older");
    assert_eq!(
        dependency::check(&apps, REV, &Map(vec![infra.clone(), crds.clone()])),
        Ok(())
    );
    crds.spec.source_ref.name = "elsewhere".into();
    assert_eq!(
        dependency::check(&apps, REV, &Map(vec![infra, crds])),
        Ok(())
    );
}

#[test]
fn ready_expr_replaces_the_built_in_checks() {
    let with_expr = |expr: &str| {
        let mut apps = base("apps", "ns", "");
        apps.spec.depends_on = vec![DependencyReference {
            name: "infra".into(),
            namespace: None,
            ready_expr: Some(expr.into()),
        }];
        apps
    };
    // The dependency has no status at all: the built-in check would say
    // "not ready", the expression decides alone.
    let infra = base("infra", "ns", "");
    let lookup = Map(vec![infra.clone()]);
    let apps = with_expr("dep.metadata.name == 'infra' && self.metadata.name == 'apps'");
    assert_eq!(dependency::check(&apps, REV, &lookup), Ok(()));
    let apps = with_expr("dep.spec.prune == false");
    let err = dependency::check(&apps, REV, &lookup).unwrap_err();
    assert_eq!(
        err.to_string(),
        "dependency 'ns/infra' is not ready according to readyExpr eval"
    );
    assert!(err.is_transient());
    // Evaluation errors wait; an expression that does not parse stalls.
    let err = dependency::check(&with_expr("dep.status.nothing"), REV, &lookup).unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert!(err.to_string().contains("dep.status.nothing"), "{err}");
    let err = dependency::check(&with_expr("dep.(("), REV, &lookup).unwrap_err();
    assert!(!err.is_transient());
    assert!(
        err.to_string()
            .starts_with("failed to parse the CEL expression 'dep.((': "),
        "{err}"
    );
}

#[test]
fn history_upserts_by_digest_and_status_newest_first_and_keeps_five() {
    let mut h = Vec::new();
    let meta = |rev: &str| BTreeMap::from([("revision".to_string(), rev.to_string())]);
    let ok = "ReconciliationSucceeded";
    history::upsert(
        &mut h,
        "sha256:a",
        at(10),
        Duration::from_millis(1500),
        ok,
        meta("r1"),
    );
    history::upsert(
        &mut h,
        "sha256:b",
        at(20),
        Duration::from_secs(2),
        ok,
        meta("r2"),
    );
    history::upsert(
        &mut h,
        "sha256:a",
        at(30),
        Duration::from_secs(3),
        ok,
        meta("r3"),
    );
    assert_eq!(h.len(), 2);
    assert_eq!(h[0].digest, "sha256:a");
    assert_eq!(h[0].total_reconciliations, 2);
    assert_eq!(h[0].first_reconciled, at(10));
    assert_eq!(h[0].last_reconciled, at(30));
    assert_eq!(h[0].metadata["revision"], "r3");
    // A different status is a new entry even for the same digest.
    history::upsert(
        &mut h,
        "sha256:a",
        at(40),
        Duration::ZERO,
        "HealthCheckFailed",
        meta("r3"),
    );
    assert_eq!(h.len(), 3);
    assert_eq!(h[0].last_reconciled_status, "HealthCheckFailed");
    for (i, d) in ["c", "d", "e", "f"].iter().enumerate() {
        history::upsert(&mut h, d, at(50 + i as i64), Duration::ZERO, ok, meta("x"));
    }
    assert_eq!(h.len(), history::MAX_SIZE);
    assert_eq!(h[0].digest, "f");
    let json = serde_json::to_value(&h[4]).expect("json");
    assert_eq!(json["lastReconciledDuration"], "0s");
    assert!(json.get("firstReconciled").is_some());
    assert!(history::is_recorded("PruneFailed"));
    assert!(!history::is_recorded("BuildFailed"));
}

#[test]
fn health_exprs_judge_by_kind_then_group_in_flux_order() {
    use super::health_exprs::{ExprStatus, HealthExprs};
    use ferroflux_api::kustomize::CustomHealthCheck;
    let hc =
        |api: &str, kind: Option<&str>, current: &str, failed: Option<&str>| CustomHealthCheck {
            api_version: api.into(),
            kind: kind.map(str::to_string),
            current: current.into(),
            in_progress: None,
            failed: failed.map(str::to_string),
        };
    let exprs = HealthExprs::compile(&[
        hc(
            "bitnami.com/v1alpha1",
            Some("SealedSecret"),
            "status.conditions.exists(c, c.type == 'Synced' && c.status == 'True')",
            Some("status.conditions.exists(c, c.type == 'Synced' && c.status == 'False')"),
        ),
        hc("bitnami.com/v1alpha1", None, "true", None),
    ])
    .expect("compile");
    let obj = |kind: &str, synced: &str, generation: i64| {
        serde_json::json!({
            "apiVersion": "bitnami.com/v1alpha1", "kind": kind,
            "metadata": {"name": "s", "generation": generation},
            "status": {"observedGeneration": 2,
                       "conditions": [{"type": "Synced", "status": synced}]}
        })
    };
    assert_eq!(
        exprs.evaluate(&obj("SealedSecret", "True", 2)),
        Some(Ok(ExprStatus::Current))
    );
    assert_eq!(
        exprs.evaluate(&obj("SealedSecret", "False", 2)),
        Some(Ok(ExprStatus::Failed))
    );
    assert_eq!(
        exprs.evaluate(&obj("SealedSecret", "Unknown", 2)),
        Some(Ok(ExprStatus::InProgress))
    );
    // An old observedGeneration is in progress whatever the expressions say.
    assert_eq!(
        exprs.evaluate(&obj("SealedSecret", "True", 3)),
        Some(Ok(ExprStatus::InProgress))
    );
    // The group entry covers the other kinds of the group.
    assert_eq!(
        exprs.evaluate(&obj("Other", "False", 2)),
        Some(Ok(ExprStatus::Current))
    );
    assert!(exprs.covers("bitnami.com/v1alpha1", "Other"));
    assert_eq!(
        exprs.evaluate(&serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment"})),
        None
    );
    // An evaluation error leaves the status unknown, with the text.
    let exprs = HealthExprs::compile(&[hc("example.com/v1", Some("Db"), "status.ready", None)])
        .expect("compile");
    let err = exprs
        .evaluate(&serde_json::json!({"apiVersion": "example.com/v1", "kind": "Db", "spec": {}}))
        .expect("covered")
        .expect_err("no status");
    assert!(err.contains("'status.ready'"), "{err}");

    assert_eq!(
        HealthExprs::compile(&[
            hc("example.com/v1", Some("Db"), "true", None),
            hc("example.com/v2", Some("Db"), "true", None),
        ])
        .expect_err("duplicate"),
        "duplicate custom health check for GroupKind Db.example.com at healthchecks[1]"
    );
    assert_eq!(
        HealthExprs::compile(&[hc("v1", Some("Pod"), "", None)]).expect_err("no current"),
        "failed to create custom status evaluator for healthchecks[0]: expression Current not specified"
    );
    let err = HealthExprs::compile(&[hc("v1", None, "x.(", None)]).expect_err("bad");
    assert!(
        err.starts_with("failed to create custom status evaluator for healthchecks[0]: failed to parse the expression Current: failed to parse the CEL expression 'x.(': "),
        "{err}"
    );
}
