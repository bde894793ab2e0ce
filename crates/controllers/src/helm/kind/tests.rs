//! The kind's pure parts: what it watches, the HelmChart it makes, source
//! and dependency checks with Flux's messages, the post-renderer chain.

use std::collections::BTreeMap;

use ferroflux_api::helm::HelmRelease;
use ferroflux_api::meta::Condition;
use serde_json::json;

use super::*;
use crate::helm::tests::helmrelease;

fn key() -> ObjectKey {
    ObjectKey::new("HelmRelease", "apps", "podinfo")
}

#[test]
fn chart_source_is_the_helmchart_it_makes_or_its_chart_ref() {
    let hr = helmrelease(json!({}));
    assert_eq!(
        chart_source_key(&key(), &hr),
        Some(ObjectKey::new("HelmChart", "apps", "apps-podinfo"))
    );
    let hr = helmrelease(json!({"chart": {"spec": {"chart": "podinfo",
        "sourceRef": {"kind": "HelmRepository", "name": "podinfo", "namespace": "flux-system"}}}}));
    assert_eq!(
        chart_source_key(&key(), &hr),
        Some(ObjectKey::new("HelmChart", "flux-system", "apps-podinfo"))
    );
    let mut hr = helmrelease(json!({"chartRef": {"kind": "OCIRepository", "name": "podinfo"}}));
    hr.spec.chart = None;
    assert_eq!(
        chart_source_key(&key(), &hr),
        Some(ObjectKey::new("OCIRepository", "apps", "podinfo"))
    );
    assert_eq!(chart_source_ref(&key(), &hr, "HelmChart"), vec![]);
    assert_eq!(chart_source_ref(&key(), &hr, "OCIRepository").len(), 1);
}

#[test]
fn helm_chart_for_is_what_helm_controller_creates() {
    let hr = helmrelease(json!({"chart": {
        "metadata": {"labels": {"team": "a"}, "annotations": {"note": "x"}},
        "spec": {"chart": "podinfo", "version": "6.x",
                 "sourceRef": {"kind": "HelmRepository", "name": "podinfo", "namespace": "flux-system"},
                 "valuesFiles": ["values.yaml", "prod.yaml"]}}}));
    let c = helm_chart_for(&hr).unwrap();
    assert_eq!(
        c,
        json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "HelmChart",
            "metadata": {
                "name": "apps-podinfo",
                "namespace": "flux-system",
                "labels": {"team": "a", "helm.toolkit.fluxcd.io/name": "podinfo",
                           "helm.toolkit.fluxcd.io/namespace": "apps"},
                "annotations": {"note": "x"}
            },
            "spec": {
                "chart": "podinfo", "version": "6.x",
                "sourceRef": {"kind": "HelmRepository", "name": "podinfo"},
                "interval": "5m0s", "reconcileStrategy": "ChartVersion",
                "valuesFiles": ["values.yaml", "prod.yaml"]
            }
        })
    );
    assert_eq!(
        helm_chart_status(&hr).as_deref(),
        Some("flux-system/apps-podinfo")
    );
    let mut by_ref = hr.clone();
    by_ref.spec.chart = None;
    assert!(helm_chart_for(&by_ref).is_none());
}

fn t0() -> k8s_openapi::apimachinery::pkg::apis::meta::v1::Time {
    k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH)
}

fn ready(status: &str, message: &str) -> Option<Condition> {
    Some(Condition {
        type_: "Ready".into(),
        status: status.into(),
        reason: "x".into(),
        message: message.into(),
        observed_generation: None,
        last_transition_time: t0(),
    })
}

#[test]
fn source_checks_say_what_is_missing() {
    let k = ObjectKey::new("HelmChart", "flux-system", "apps-podinfo");
    let e = check_source(&k, None).unwrap_err();
    assert_eq!(
        e.message(),
        "could not get Source object: helmcharts.source.toolkit.fluxcd.io \"apps-podinfo\" not found"
    );
    assert_eq!(e.reason(), "ArtifactFailed");
    // A missing chart version: the HelmChart is not ready, and says why.
    let view = SourceView {
        generation: Some(1),
        observed_generation: Some(1),
        ready: ready(
            "False",
            "invalid chart reference: failed to get chart version for remote reference: no 'podinfo' chart with version matching '9.9.9' found",
        ),
        artifact: None,
    };
    let e = check_source(&k, Some(view.clone())).unwrap_err();
    assert_eq!(e.reason(), "SourceNotReady");
    assert_eq!(
        e.message(),
        "HelmChart 'flux-system/apps-podinfo' is not ready: invalid chart reference: failed to get chart version for remote reference: no 'podinfo' chart with version matching '9.9.9' found"
    );
    let stale = SourceView {
        observed_generation: Some(0),
        ..view.clone()
    };
    assert!(
        check_source(&k, Some(stale))
            .unwrap_err()
            .message()
            .ends_with("is not up-to-date")
    );
    let no_artifact = SourceView {
        ready: ready("True", ""),
        ..view.clone()
    };
    assert!(
        check_source(&k, Some(no_artifact))
            .unwrap_err()
            .message()
            .ends_with("has no artifact")
    );
    let ok = SourceView {
        ready: ready("True", ""),
        artifact: Some(ferroflux_api::source::Artifact {
            revision: "6.5.0".into(),
            ..Default::default()
        }),
        ..view
    };
    assert_eq!(
        check_source(&k, Some(ok)).unwrap().artifact.revision,
        "6.5.0"
    );

    // As a run's status: Ready=False SourceNotReady, requeued.
    let hr = helmrelease(json!({}));
    let r = failed_before(&hr, &e, &t0());
    let c = crate::status::get(&r.status.conditions, "Ready").unwrap();
    assert_eq!(
        (c.status.as_str(), c.reason.as_str()),
        ("False", "SourceNotReady")
    );
    assert_eq!(r.outcome, Outcome::RequeueAfter(REQUEUE_DEPENDENCY));
}

struct Held(BTreeMap<ObjectKey, HelmRelease>);

impl Lookup for Held {
    fn object(&self, key: &ObjectKey) -> Option<&dyn std::any::Any> {
        self.0.get(key).map(|o| o as &dyn std::any::Any)
    }

    fn keys_in(&self, _: &str, _: &str) -> Vec<ObjectKey> {
        self.0.keys().cloned().collect()
    }
}

/// A home holding one HelmChart, as the runtime answers `Lookup::json`.
struct Charts(Value);

impl Lookup for Charts {
    fn object(&self, _: &ObjectKey) -> Option<&dyn std::any::Any> {
        None
    }

    fn keys_in(&self, _: &str, _: &str) -> Vec<ObjectKey> {
        Vec::new()
    }

    fn json(&self, key: &ObjectKey) -> Option<Value> {
        (key.kind == "HelmChart" && key.name == "apps-podinfo").then(|| self.0.clone())
    }
}

#[test]
fn a_helmchart_is_read_through_its_json() {
    let chart = json!({
        "metadata": {"name": "apps-podinfo", "namespace": "apps", "generation": 2},
        "spec": {"chart": "podinfo"},
        "status": {"observedGeneration": 2,
            "conditions": [{"type": "Ready", "status": "True", "reason": "ChartPullSucceeded",
                "message": "pulled 'podinfo' chart with version '6.5.0'",
                "lastTransitionTime": "2026-12-06T10:00:00Z"}],
            "artifact": {"path": "helmchart/apps/apps-podinfo/podinfo-6.5.0.tgz",
                "url": "http://storage/helmchart/apps/apps-podinfo/podinfo-6.5.0.tgz",
                "revision": "6.5.0", "digest": "sha256:aa"}}
    });
    let home = Charts(chart);
    let k = ObjectKey::new("HelmChart", "apps", "apps-podinfo");
    let s = check_source(&k, source_view(&home, &k)).unwrap();
    assert_eq!(s.artifact.revision, "6.5.0");
    let other = ObjectKey::new("HelmChart", "apps", "other");
    assert!(source_view(&home, &other).is_none());
}

#[test]
fn dependencies_must_be_ready_and_current() {
    let hr = helmrelease(json!({"dependsOn": [{"name": "redis"}]}));
    let none = Held(BTreeMap::new());
    let e = check_dependencies(&key(), &hr, &none).unwrap_err();
    assert_eq!(
        e.message(),
        "unable to get 'apps/redis' dependency: helmreleases.helm.toolkit.fluxcd.io \"redis\" not found"
    );
    let dkey = ObjectKey::new("HelmRelease", "apps", "redis");
    let mut dep = helmrelease(json!({}));
    dep.metadata.name = Some("redis".into());
    dep.status = Some(ferroflux_api::helm::HelmReleaseStatus {
        observed_generation: Some(1),
        conditions: ready("False", "").into_iter().collect(),
        ..Default::default()
    });
    let held = Held([(dkey.clone(), dep.clone())].into());
    let e = check_dependencies(&key(), &hr, &held).unwrap_err();
    assert_eq!(e.message(), "dependency 'apps/redis' is not ready");
    assert_eq!(e.reason(), "DependencyNotReady");
    // readyExpr replaces the readiness check.
    let by_expr =
        |expr: &str| helmrelease(json!({"dependsOn": [{"name": "redis", "readyExpr": expr}]}));
    let ok = by_expr("dep.spec.interval == self.spec.interval");
    assert!(check_dependencies(&key(), &ok, &held).is_ok());
    let no = by_expr("dep.metadata.name == 'other'");
    assert_eq!(
        check_dependencies(&key(), &no, &held)
            .unwrap_err()
            .message(),
        "dependency 'apps/redis' is not ready according to readyExpr eval"
    );
    let e = check_dependencies(&key(), &by_expr("dep.("), &held).unwrap_err();
    assert!(matches!(e, StepError::Stalled { .. }), "{e:?}");
    assert_eq!(e.reason(), "InvalidCELExpression");
    assert!(
        e.message().starts_with(
            "Reconciliation failed terminally due to configuration error: failed to evaluate dependency redis: "
        ),
        "{}",
        e.message()
    );
    dep.status.as_mut().unwrap().conditions = ready("True", "").into_iter().collect();
    let held = Held([(dkey, dep)].into());
    assert!(check_dependencies(&key(), &hr, &held).is_ok());
}

#[test]
fn post_renderers_patch_then_label() {
    let hr = helmrelease(json!({
        "commonMetadata": {"labels": {"team": "a"}, "annotations": {"owner": "ops"}},
        "postRenderers": [{"kustomize": {
            "images": [{"name": "nginx", "newTag": "1.27"}],
            "patches": [{"target": {"kind": "Deployment"},
                         "patch": "- op: replace\n  path: /spec/replicas\n  value: 3\n"}]
        }}]
    }));
    let render = post_renderer(&hr);
    let manifest = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.25\n";
    let out = render(manifest.to_string()).unwrap();
    assert!(out.contains("replicas: 3"), "{out}");
    assert!(out.contains("image: nginx:1.27"), "{out}");
    assert!(
        out.contains("team: a") && out.contains("owner: ops"),
        "{out}"
    );
    assert!(
        out.contains("helm.toolkit.fluxcd.io/name: podinfo"),
        "{out}"
    );
    // Only the object's metadata: the pod template is left alone.
    assert_eq!(out.matches("team: a").count(), 1, "{out}");
    let broken = render("kind: [".to_string()).unwrap_err();
    assert!(!broken.is_empty());
}

#[test]
fn target_spec_names_the_helmrelease() {
    let hr = helmrelease(json!({"serviceAccountName": "deployer",
        "kubeConfig": {"secretRef": {"name": "remote", "key": "config"}}}));
    let t = target_spec(&hr, Some("default-sa"));
    assert_eq!(t.requester, "HelmRelease/apps/podinfo");
    assert_eq!(t.kube_config_secret.as_deref(), Some("remote"));
    assert_eq!(t.kube_config_key.as_deref(), Some("config"));
    assert_eq!(t.service_account_name.as_deref(), Some("deployer"));
    let plain = helmrelease(json!({}));
    assert_eq!(
        target_spec(&plain, Some("default-sa"))
            .service_account_name
            .as_deref(),
        Some("default-sa")
    );
}

#[test]
fn watches_move_on_artifact_revision_readiness_and_values_secrets() {
    let old = json!({"artifact": {"revision": "6.5.0"}});
    let new = json!({"artifact": {"revision": "6.5.1"}});
    assert!(artifact_revision_moved(Some(&old), Some(&new)));
    assert!(!artifact_revision_moved(Some(&old), Some(&old)));
    let not_ready = json!({"conditions": [{"type": "Ready", "status": "False"}]});
    let is_ready = json!({"conditions": [{"type": "Ready", "status": "True"}]});
    assert!(readiness_or_revision_moved(
        Some(&not_ready),
        Some(&is_ready)
    ));
    assert!(!readiness_or_revision_moved(
        Some(&is_ready),
        Some(&is_ready)
    ));
    let hr = helmrelease(
        json!({"valuesFrom": [{"kind": "Secret", "name": "s"}, {"kind": "ConfigMap", "name": "c"}]}),
    );
    assert_eq!(
        values_secret_refs(&key(), &hr),
        vec![Ref::Object(ObjectKey::new("Secret", "apps", "s"))]
    );
}

mod job {
    //! A whole run of the kind's job: the chart artifact fetched from
    //! storage and loaded, values from a Secret, the target's Helm storage
    //! (in memory), the post-renderer chain, Flux's status.

    use std::sync::Arc;

    use ferroflux_api::source::Artifact;
    use ferroflux_artifact::fetch::LocalStorage;
    use ferroflux_helm::chart::File;
    use serde_json::json;
    use sha2::{Digest as _, Sha256};

    use super::super::*;
    use crate::helm::tests::{MemHelm, futures_lite, helmrelease};
    use crate::target::{
        ApplyError, ApplyFailure, ApplyOptions, BoxFuture, ChangeSet, DeleteOptions, HelmCluster,
        ObjRef, TargetCluster, WaitOptions,
    };

    struct Cluster(MemHelm);

    fn refused() -> ApplyError {
        ApplyError::IgnoreRule("a HelmRelease applies through Helm only".into())
    }

    impl TargetCluster for Cluster {
        fn apply_staged<'a>(
            &'a self,
            _: Vec<Value>,
            _: &'a ApplyOptions,
        ) -> BoxFuture<'a, Result<(ChangeSet, Vec<Value>), ApplyFailure>> {
            Box::pin(async {
                Err(ApplyFailure {
                    change_set: ChangeSet::default(),
                    error: refused(),
                })
            })
        }
        fn delete<'a>(
            &'a self,
            _: &'a [ObjRef],
            _: &'a DeleteOptions,
        ) -> BoxFuture<'a, Result<ChangeSet, ApplyFailure>> {
            Box::pin(async {
                Err(ApplyFailure {
                    change_set: ChangeSet::default(),
                    error: refused(),
                })
            })
        }
        fn wait<'a>(
            &'a self,
            _: &'a [ObjRef],
            _: &'a WaitOptions,
        ) -> BoxFuture<'a, Result<Duration, ApplyError>> {
            Box::pin(async { Err(refused()) })
        }
        fn wait_for_termination<'a>(
            &'a self,
            _: &'a ChangeSet,
            _: &'a WaitOptions,
        ) -> BoxFuture<'a, Result<Duration, ApplyError>> {
            Box::pin(async { Err(refused()) })
        }
        fn helm(&self, storage_namespace: &str) -> Result<Arc<dyn HelmCluster>, StepError> {
            assert_eq!(storage_namespace, "apps");
            Ok(Arc::new(self.0.clone()))
        }
    }

    struct Targets(MemHelm);

    impl TargetFactory for Targets {
        fn target<'a>(
            &'a self,
            want: &'a TargetSpec,
        ) -> BoxFuture<'a, Result<Arc<dyn TargetCluster>, StepError>> {
            assert_eq!(want.requester, "HelmRelease/apps/podinfo");
            let c: Arc<dyn TargetCluster> = Arc::new(Cluster(self.0.clone()));
            Box::pin(async move { Ok(c) })
        }
    }

    fn chart_tgz() -> Vec<u8> {
        let file = |name: &str, data: &str| File {
            name: name.into(),
            data: data.as_bytes().to_vec(),
        };
        ferroflux_helm::package::package(
            vec![
                file(
                    "Chart.yaml",
                    "apiVersion: v2\nname: podinfo\nversion: 6.5.0\n",
                ),
                file("values.yaml", "replicaCount: 1\n"),
                file(
                    "templates/cm.yaml",
                    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n",
                ),
            ],
            1_700_000_000,
        )
        .unwrap()
        .data
    }

    struct Setup {
        _dir: tempfile::TempDir,
        options: KustomizationOptions,
        source: ChartSource,
    }

    fn setup(bytes: &[u8]) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let rel = "ocirepository/apps/podinfo/chart.tgz";
        let path = dir.path().join("storage").join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        let options = KustomizationOptions {
            work_dir: dir.path().join("work"),
            local_storage: Some(LocalStorage {
                root: dir.path().join("storage"),
                address: "storage.test".into(),
            }),
            ..KustomizationOptions::default()
        };
        let source = ChartSource {
            key: ObjectKey::new("OCIRepository", "apps", "podinfo"),
            artifact: Artifact {
                path: rel.into(),
                url: format!("http://storage.test/{rel}"),
                revision:
                    "6.5.0@sha256:1c9e39ac27e5e7e2d396bb9a0fd0857f4151655fb96f954e1b65bf5ace71769d"
                        .into(),
                digest: Some(format!("sha256:{}", hex::encode(Sha256::digest(bytes)))),
                ..Artifact::default()
            },
        };
        Setup {
            _dir: dir,
            options,
            source,
        }
    }

    fn resolved(hr: &HelmRelease, source: Result<ChartSource, StepError>) -> Resolved {
        Resolved {
            hr: hr.clone(),
            key: super::key(),
            source,
            secrets: [(
                "values".to_string(),
                Some([("values.yaml".to_string(), b"replicaCount: 3\n".to_vec())].into()),
            )]
            .into(),
            config_maps: Default::default(),
            config_map_read: None,
            default_service_account: None,
        }
    }

    fn t() -> k8s_openapi::apimachinery::pkg::apis::meta::v1::Time {
        super::t0()
    }

    #[test]
    fn a_run_fetches_loads_and_installs_with_its_values() {
        let s = setup(&chart_tgz());
        let mut hr = helmrelease(json!({"valuesFrom": [{"kind": "Secret", "name": "values"}],
                                        "values": {"image": {"tag": "x"}}}));
        hr.metadata.annotations = Some(
            [(
                "reconcile.fluxcd.io/requestedAt".to_string(),
                "now".to_string(),
            )]
            .into(),
        );
        let helm = MemHelm::default();
        let r = futures_lite(run(
            resolved(&hr, Ok(s.source.clone())),
            &Targets(helm.clone()),
            &s.options,
            t(),
        ));
        let ready = crate::status::get(&r.status.conditions, "Ready").unwrap();
        assert_eq!(
            ready.message,
            "Helm install succeeded for release apps/podinfo.v1 with chart podinfo@6.5.0+1c9e39ac27e5"
        );
        assert_eq!(r.status.last_handled_reconcile_at.as_deref(), Some("now"));
        assert_eq!(r.status.helm_chart, "apps/apps-podinfo");
        let digest = "sha256:1c9e39ac27e5e7e2d396bb9a0fd0857f4151655fb96f954e1b65bf5ace71769d";
        assert_eq!(r.status.last_attempted_revision_digest, digest);
        assert_eq!(r.status.history[0].oci_digest, digest);
        assert_eq!(
            r.status.last_attempted_revision.as_deref(),
            Some("6.5.0+1c9e39ac27e5")
        );
        let rec = helm.lock().records[0].clone();
        assert_eq!(
            Value::Object(rec.config),
            // sigs.k8s.io/yaml reads every number as a float64.
            json!({"replicaCount": 3.0, "image": {"tag": "x"}})
        );
        assert!(helm.lock().manifests[0].contains("helm.toolkit.fluxcd.io/namespace: apps"));
        // The chart is loaded from its archive in memory: nothing is
        // unpacked on disk.
        assert!(!s.options.work_dir.exists());
    }

    #[test]
    fn a_missing_values_secret_is_a_values_error() {
        let s = setup(&chart_tgz());
        let hr = helmrelease(json!({"valuesFrom": [{"kind": "Secret", "name": "gone"}]}));
        let helm = MemHelm::default();
        let r = futures_lite(run(
            resolved(&hr, Ok(s.source.clone())),
            &Targets(helm.clone()),
            &s.options,
            t(),
        ));
        let ready = crate::status::get(&r.status.conditions, "Ready").unwrap();
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", "ValuesError")
        );
        assert_eq!(
            ready.message,
            "could not resolve Secret chart values reference 'apps/gone' with key 'values.yaml': resource not found"
        );
        assert!(helm.calls().is_empty());
    }

    #[test]
    fn an_artifact_that_is_not_a_chart_or_not_there_says_so() {
        let s = setup(b"not a chart");
        let hr = helmrelease(json!({}));
        let helm = MemHelm::default();
        let r = futures_lite(run(
            resolved(&hr, Ok(s.source.clone())),
            &Targets(helm.clone()),
            &s.options,
            t(),
        ));
        let ready = crate::status::get(&r.status.conditions, "Ready").unwrap();
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", "ArtifactFailed")
        );
        assert!(
            ready.message.starts_with("Could not load chart: "),
            "{}",
            ready.message
        );

        let mut gone = s.source.clone();
        gone.artifact.url = "http://storage.test/ocirepository/apps/podinfo/other.tgz".into();
        let r = futures_lite(run(
            resolved(&hr, Ok(gone)),
            &Targets(helm.clone()),
            &s.options,
            t(),
        ));
        let ready = crate::status::get(&r.status.conditions, "Ready").unwrap();
        assert_eq!(
            ready.message,
            "Source not ready: artifact not found. Retrying in 30s"
        );
        assert_eq!(r.outcome, Outcome::RequeueAfter(Duration::from_secs(30)));
        assert!(helm.calls().is_empty());
    }
}

#[test]
fn oci_charts_carry_their_digest_in_the_version() {
    let d = "sha256:1c9e39ac27e5e7e2d396bb9a0fd0857f4151655fb96f954e1b65bf5ace71769d";
    assert_eq!(
        mutate_chart_with_source_revision("6.5.0", "OCIRepository", &format!("6.5.0@{d}")).unwrap(),
        ("6.5.0+1c9e39ac27e5".to_string(), d.to_string())
    );
    assert_eq!(
        mutate_chart_with_source_revision("6.5.0", "OCIRepository", d).unwrap(),
        ("6.5.0+1c9e39ac27e5".to_string(), d.to_string())
    );
    assert_eq!(
        mutate_chart_with_source_revision("6.5.0", "OCIRepository", &format!("6.4.0@{d}"))
            .unwrap_err(),
        "artifact revision 6.4.0 does not match chart version 6.5.0"
    );
    assert_eq!(
        mutate_chart_with_source_revision("6.5.0", "OCIRepository", "sha256:abc").unwrap_err(),
        "invalid artifact revision sha256:abc"
    );
    // A hostile revision cannot cut a character in two.
    assert_eq!(
        mutate_chart_with_source_revision("6.5.0", "OCIRepository", "sha256:aaaaaaaaaaaéé")
            .unwrap_err(),
        "invalid artifact revision sha256:aaaaaaaaaaaéé"
    );
    assert_eq!(
        mutate_chart_with_source_revision("6.5.0", "HelmChart", "6.5.0").unwrap(),
        ("6.5.0".to_string(), String::new())
    );
}
