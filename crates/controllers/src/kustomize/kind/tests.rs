use serde_json::json;

use super::*;

fn ks(v: serde_json::Value) -> Kustomization {
    serde_json::from_value(v).expect("kustomization")
}

fn apps() -> Kustomization {
    ks(
        json!({"metadata": {"name": "apps", "namespace": "flux-system"},
        "spec": {"interval": "10m", "prune": true, "path": "./apps",
            "sourceRef": {"kind": "GitRepository", "name": "fleet"},
            "dependsOn": [{"name": "infra"}, {"name": "crds", "namespace": "platform"}]}}),
    )
}

fn key() -> ObjectKey {
    ObjectKey::new("Kustomization", "flux-system", "apps")
}

#[test]
fn it_reads_its_source_and_its_dependencies() {
    let watches = Kustomization::watches();
    assert_eq!(watches.len(), 3);
    assert_eq!(watches[2].upstream, "OCIRepository");
    let source = &watches[0];
    assert_eq!(source.upstream, "GitRepository");
    assert_eq!(
        (source.refs)(&key(), &apps()),
        vec![Ref::Object(ObjectKey::new(
            "GitRepository",
            "flux-system",
            "fleet"
        ))]
    );
    let deps = &watches[1];
    assert_eq!(deps.upstream, "Kustomization");
    assert_eq!(
        (deps.refs)(&key(), &apps()),
        vec![
            Ref::Object(ObjectKey::new("Kustomization", "flux-system", "infra")),
            Ref::Object(ObjectKey::new("Kustomization", "platform", "crds")),
        ]
    );
    let mut oci = apps();
    oci.spec.source_ref.kind = KustomizationSourceKind::OCIRepository;
    assert_eq!(
        (source.refs)(&key(), &oci),
        vec![Ref::Object(ObjectKey::new(
            "OCIRepository",
            "flux-system",
            "fleet"
        ))]
    );
    let mut bucket = apps();
    bucket.spec.source_ref.kind = KustomizationSourceKind::Bucket;
    assert!((source.refs)(&key(), &bucket).is_empty());
    let mut other_ns = apps();
    other_ns.spec.source_ref.namespace = Some("sources".into());
    assert_eq!(
        source_key(&key(), &other_ns),
        Some(ObjectKey::new("GitRepository", "sources", "fleet"))
    );
}

#[test]
fn a_new_artifact_revision_fires_a_new_digest_alone_does_not() {
    let when = Kustomization::watches()[0].when;
    let st = |rev: &str, digest: &str| json!({"artifact": {"revision": rev, "digest": digest, "path": "p", "url": "u"}});
    let a = st("main@sha1:aaa", "sha256:1");
    assert!(when(None, Some(&a)), "first artifact");
    assert!(when(Some(&json!({})), Some(&a)), "artifact appeared");
    assert!(!when(Some(&a), Some(&a)));
    assert!(
        !when(Some(&a), Some(&st("main@sha1:aaa", "sha256:2"))),
        "digest only"
    );
    assert!(when(Some(&a), Some(&st("main@sha1:bbb", "sha256:2"))));
    assert!(
        !when(Some(&a), Some(&json!({}))),
        "artifact gone: nothing to apply"
    );
}

#[test]
fn a_dependency_fires_when_ready_flips_or_it_applies_a_revision() {
    let when = Kustomization::watches()[1].when;
    let st = |ready: &str, rev: &str| {
        json!({"conditions": [{"type": "Ready", "status": ready, "reason": "x",
            "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}],
            "lastAppliedRevision": rev})
    };
    assert!(when(Some(&st("False", "a")), Some(&st("True", "a"))));
    assert!(when(Some(&st("True", "a")), Some(&st("True", "b"))));
    assert!(!when(Some(&st("True", "a")), Some(&st("True", "a"))));
    assert!(when(None, Some(&st("True", "a"))));
    assert!(when(Some(&st("True", "a")), Some(&st("Unknown", "a"))));
}

#[test]
fn first_run_suspend_and_detail() {
    let mut k = apps();
    assert_eq!(Kustomization::first_run(&k), FirstRun::Retry);
    k.status = Some(ferroflux_api::kustomize::KustomizationStatus {
        conditions: vec![Condition {
            type_: "Ready".into(),
            status: "True".into(),
            reason: "ReconciliationSucceeded".into(),
            message: "Applied revision: main@sha1:abc".into(),
            observed_generation: None,
            last_transition_time: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
            ),
        }],
        last_applied_revision: Some("main@sha1:abc".into()),
        ..Default::default()
    });
    assert_eq!(
        Kustomization::first_run(&k),
        FirstRun::After(std::time::Duration::from_secs(600))
    );
    assert_eq!(
        Kustomization::detail(&k, None).as_deref(),
        Some("main@sha1:abc")
    );
    assert!(!Kustomization::suspended(&k));
    k.spec.suspend = Some(true);
    assert!(Kustomization::suspended(&k));
    assert_eq!(
        Kustomization::INFO.api_version(),
        "kustomize.toolkit.fluxcd.io/v1"
    );
}
