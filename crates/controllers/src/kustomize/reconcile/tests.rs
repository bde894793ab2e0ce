use std::any::Any;
use std::collections::BTreeMap;

use ferroflux_api::source::SourceStatus;
use serde_json::json;

use super::*;
use crate::clock::SystemClock;
use crate::kind::SecretData;
use crate::target::NoTarget;

fn ks(v: Value) -> Kustomization {
    serde_json::from_value(v).expect("kustomization")
}

fn apps(extra: Value) -> Kustomization {
    let mut v = json!({"metadata": {"name": "apps", "namespace": "flux-system", "generation": 3},
        "spec": {"interval": "10m", "retryInterval": "1m", "prune": true, "path": "./apps",
            "sourceRef": {"kind": "GitRepository", "name": "fleet"}}});
    if let (Some(spec), Some(extra)) = (v["spec"].as_object_mut(), extra.as_object()) {
        for (k, x) in extra {
            spec.insert(k.clone(), x.clone());
        }
    }
    ks(v)
}

/// A home in memory: objects by key, Secrets and ConfigMaps.
#[derive(Default)]
struct Home {
    objects: BTreeMap<ObjectKey, Box<dyn Any + Send + Sync>>,
    secrets: BTreeMap<(String, String), SecretData>,
    config_maps: BTreeMap<(String, String), BTreeMap<String, String>>,
}

impl Lookup for Home {
    fn object(&self, key: &ObjectKey) -> Option<&dyn Any> {
        self.objects.get(key).map(|b| b.as_ref() as &dyn Any)
    }
    fn keys_in(&self, kind: &str, namespace: &str) -> Vec<ObjectKey> {
        self.objects
            .keys()
            .filter(|k| k.kind == kind && k.namespace == namespace)
            .cloned()
            .collect()
    }
}

impl SecretSource for Home {
    fn secret(&self, namespace: &str, name: &str) -> Result<&SecretData, String> {
        self.secrets
            .get(&(namespace.into(), name.into()))
            .ok_or_else(|| format!("secret '{namespace}/{name}' not found"))
    }
    fn config_map(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<BTreeMap<String, String>>, String> {
        if name == "unreadable" {
            return Err("configmaps \"unreadable\" is forbidden".into());
        }
        Ok(self
            .config_maps
            .get(&(namespace.into(), name.into()))
            .cloned())
    }
}

impl Home {
    fn repo(&mut self, artifact: Option<Artifact>) {
        let repo: GitRepository = serde_json::from_value(json!({
            "metadata": {"name": "fleet", "namespace": "flux-system"},
            "spec": {"url": "https://example.com/fleet.git", "interval": "1m"}}))
        .expect("repo");
        let repo = GitRepository {
            status: Some(SourceStatus {
                artifact,
                ..Default::default()
            }),
            ..repo
        };
        self.objects.insert(
            ObjectKey::new("GitRepository", "flux-system", "fleet"),
            Box::new(repo),
        );
    }
    fn kustomization(&mut self, k: Kustomization) {
        let key = ObjectKey::new(
            "Kustomization",
            k.metadata.namespace.as_deref().unwrap_or_default(),
            k.metadata.name.as_deref().unwrap_or_default(),
        );
        self.objects.insert(key, Box::new(k));
    }
}

fn artifact(url: &str, digest: &str) -> Artifact {
    Artifact {
        metadata: Default::default(),
        path: "gitrepository/flux-system/fleet/abc.tar.gz".into(),
        url: url.into(),
        revision: "main@sha1:abc".into(),
        digest: Some(digest.into()),
        last_update_time: None,
        size: None,
    }
}

async fn run(input: KustomizationInput, options: &KustomizationOptions) -> KustomizationResult {
    let cx = KustomizationCx {
        targets: &NoTarget,
        clock: &SystemClock,
        options,
    };
    reconcile(input, &cx).await
}

fn ready(st: &KustomizationStatus) -> Option<&Condition> {
    status::get(&st.conditions, condition::READY)
}

/// Ready=True never stands next to Stalled=True.
fn consistent(st: &KustomizationStatus) {
    assert!(
        !(status::is_true(&st.conditions, condition::READY)
            && status::is_true(&st.conditions, condition::STALLED)),
        "{:?}",
        st.conditions
    );
}

#[tokio::test]
async fn a_missing_source_waits_for_the_retry_interval_without_an_event() {
    let home = Home::default();
    let input = resolve(&apps(json!({})), &home, &home);
    let e = input.source.clone().expect_err("no source");
    assert_eq!(e.reason(), "ArtifactFailed");
    assert_eq!(
        e.message(),
        "gitrepositories.source.toolkit.fluxcd.io \"fleet\" not found"
    );
    let r = run(input, &KustomizationOptions::default()).await;
    let c = ready(&r.status).expect("ready");
    assert_eq!(
        (c.status.as_str(), c.reason.as_str()),
        ("False", "ArtifactFailed")
    );
    assert_eq!(r.outcome, Outcome::RequeueAfter(Duration::from_secs(60)));
    assert!(r.event.is_none());
    assert_eq!(r.status.observed_generation, None);
    consistent(&r.status);
}

#[tokio::test]
async fn a_source_without_artifact_waits_for_the_dependency_requeue() {
    let mut home = Home::default();
    home.repo(None);
    let r = run(
        resolve(&apps(json!({})), &home, &home),
        &KustomizationOptions::default(),
    )
    .await;
    let c = ready(&r.status).expect("ready");
    assert_eq!(c.message, "Source artifact not found, retrying in 30s");
    assert_eq!(r.outcome, Outcome::RequeueAfter(Duration::from_secs(30)));
}

#[test]
fn sources_other_than_git_and_oci_are_a_clear_stall() {
    let home = Home::default();
    let mut k = apps(json!({}));
    k.spec.source_ref.kind = KustomizationSourceKind::Bucket;
    let e = resolve(&k, &home, &home).source.expect_err("bucket");
    assert!(matches!(e, StepError::Stalled { .. }), "{e:?}");
    assert!(
        e.message().contains("'Bucket' not supported"),
        "{}",
        e.message()
    );
    // An OCIRepository is read; a missing one is waited for.
    k.spec.source_ref.kind = KustomizationSourceKind::OCIRepository;
    let e = resolve(&k, &home, &home).source.expect_err("oci");
    assert!(matches!(e, StepError::Waiting { .. }), "{e:?}");
    assert!(
        e.message()
            .contains("ocirepositories.source.toolkit.fluxcd.io"),
        "{}",
        e.message()
    );
}

#[tokio::test]
async fn depends_on_naming_nothing_says_not_found_and_requeues_in_30s() {
    let mut home = Home::default();
    home.repo(Some(artifact("http://x/a.tar.gz", "sha256:00")));
    let k = apps(json!({"dependsOn": [{"name": "infra"}]}));
    let input = resolve(&k, &home, &home);
    let r = run(input, &KustomizationOptions::default()).await;
    let c = ready(&r.status).expect("ready");
    assert_eq!(c.reason, "DependencyNotReady");
    assert_eq!(
        c.message,
        "dependency 'flux-system/infra' not found: kustomizations.kustomize.toolkit.fluxcd.io \"infra\" not found"
    );
    assert_eq!(r.outcome, Outcome::RequeueAfter(Duration::from_secs(30)));
    let ev = r.event.expect("event");
    assert_eq!(ev.type_, EventType::Normal);
    assert_eq!(
        ev.message,
        "Dependencies do not meet ready condition, retrying in 30s"
    );

    // Once it exists but is not ready: Flux's other message.
    home.kustomization(ks(
        json!({"metadata": {"name": "infra", "namespace": "flux-system",
        "generation": 1}, "spec": {"interval": "1m", "prune": true,
        "sourceRef": {"kind": "GitRepository", "name": "fleet"}}}),
    ));
    let e = resolve(&k, &home, &home)
        .dependencies
        .expect_err("not ready");
    assert_eq!(e.message(), "dependency 'flux-system/infra' is not ready");

    // A typo names the one it probably meant.
    let typo = apps(json!({"dependsOn": [{"name": "infr"}]}));
    let e = resolve(&typo, &home, &home).dependencies.expect_err("typo");
    assert_eq!(
        e.message(),
        "dependency 'flux-system/infr' not found: kustomizations.kustomize.toolkit.fluxcd.io \"infr\" not found; did you mean 'flux-system/infra'?"
    );
    // Never itself.
    home.kustomization(apps(json!({})));
    let own = apps(json!({"dependsOn": [{"name": "app"}]}));
    let e = resolve(&own, &home, &home).dependencies.expect_err("own");
    assert!(
        e.message().ends_with("\"app\" not found"),
        "{}",
        e.message()
    );
    let far = apps(json!({"dependsOn": [{"name": "monitoring"}]}));
    let e = resolve(&far, &home, &home)
        .dependencies
        .expect_err("unknown");
    assert!(
        e.message().ends_with("\"monitoring\" not found"),
        "{}",
        e.message()
    );
}

#[tokio::test]
async fn bad_health_check_exprs_are_terminal() {
    let mut home = Home::default();
    home.repo(Some(artifact("http://x/a.tar.gz", "sha256:00")));
    let k = apps(
        json!({"healthCheckExprs": [{"apiVersion": "apps/v1", "kind": "Deployment",
        "current": "status.("}]}),
    );
    let r = run(resolve(&k, &home, &home), &KustomizationOptions::default()).await;
    let c = ready(&r.status).expect("ready");
    assert_eq!(c.reason, "InvalidCELExpression");
    assert!(
        c.message
            .starts_with("Reconciliation failed terminally due to configuration error: "),
        "{}",
        c.message
    );
    assert!(status::is_true(&r.status.conditions, condition::STALLED));
    assert_eq!(r.status.observed_generation, Some(3));
    assert_eq!(r.outcome, Outcome::Wait);
    assert_eq!(r.event.expect("event").type_, EventType::Warning);
    consistent(&r.status);
}

#[tokio::test]
async fn a_suspended_kustomization_is_left_alone() {
    let home = Home::default();
    let k = apps(json!({"suspend": true}));
    let r = run(resolve(&k, &home, &home), &KustomizationOptions::default()).await;
    assert_eq!(r.outcome, Outcome::Wait);
    assert!(r.event.is_none());
    assert!(r.status.conditions.is_empty());
}

#[test]
fn substitute_from_reads_the_home_and_leaves_missing_ones_to_the_build() {
    let mut home = Home::default();
    home.config_maps.insert(
        ("flux-system".into(), "vars".into()),
        [("cluster".to_string(), "prod".to_string())].into(),
    );
    home.secrets.insert(
        ("flux-system".into(), "creds".into()),
        [("token".to_string(), b"s3cr3t".to_vec())].into(),
    );
    let k = apps(json!({"postBuild": {"substituteFrom": [
        {"kind": "ConfigMap", "name": "vars"},
        {"kind": "Secret", "name": "creds"},
        {"kind": "Secret", "name": "gone", "optional": true}]}}));
    let Ok(SubstituteFrom::Data(data)) = resolve(&k, &home, &home).substitute_from else {
        panic!("data");
    };
    let names: Vec<(&str, &str)> = data
        .iter()
        .map(|(k, n, _)| (k.as_str(), n.as_str()))
        .collect();
    assert_eq!(names, [("ConfigMap", "vars"), ("Secret", "creds")]);
    assert_eq!(data[1].2["token"], "s3cr3t");
    // Its Debug never shows the values.
    let shown = format!("{:?}", SubstituteFrom::Data(data));
    assert!(!shown.contains("s3cr3t"), "{shown}");

    let k = apps(json!({"postBuild": {"substituteFrom": [
        {"kind": "ConfigMap", "name": "unreadable"}]}}));
    let e = resolve(&k, &home, &home)
        .substitute_from
        .expect_err("forbidden");
    assert_eq!(e.reason(), "BuildFailed");
    assert_eq!(
        e.message(),
        "substitute from 'ConfigMap/unreadable' error: configmaps \"unreadable\" is forbidden"
    );
    let k = apps(json!({"postBuild": {"substituteFrom": [{"kind": "Pod", "name": "p"}]}}));
    assert!(matches!(
        resolve(&k, &home, &home).substitute_from,
        Err(StepError::Stalled { .. })
    ));
}

/// An artifact in a storage root, as the GitRepository reconciler keeps it.
fn stored(root: &Path, files: &[(&str, &str)]) -> Artifact {
    let storage =
        ferroflux_artifact::Storage::new(root, "ours:9090", Default::default()).expect("storage");
    let src = tempfile::tempdir().expect("src");
    for (p, content) in files {
        let path = src.path().join(p);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, content).expect("write");
    }
    let path = "gitrepository/flux-system/fleet/abc.tar.gz";
    let s = storage
        .archive(path, src.path(), None, &Default::default())
        .expect("archive");
    Artifact {
        url: storage.url(path),
        digest: Some(s.digest),
        ..artifact("", "")
    }
}

fn local_options(root: &Path, work: &Path) -> KustomizationOptions {
    KustomizationOptions {
        work_dir: work.to_path_buf(),
        local_storage: Some(LocalStorage {
            root: std::fs::canonicalize(root).expect("root"),
            address: "ours:9090".into(),
        }),
        ..KustomizationOptions::default()
    }
}

#[tokio::test]
async fn a_path_missing_from_the_artifact_stalls_with_flux_s_words_and_a_hint() {
    let root = tempfile::tempdir().expect("root");
    let work = tempfile::tempdir().expect("work");
    let mut home = Home::default();
    home.repo(Some(stored(
        root.path(),
        &[
            ("clusters/prod/app.yaml", "kind: ConfigMap\n"),
            ("infra/x.yaml", ""),
        ],
    )));
    let k = apps(json!({"path": "./clusters/production"}));
    let r = run(
        resolve(&k, &home, &home),
        &local_options(root.path(), work.path()),
    )
    .await;
    let c = ready(&r.status).expect("ready");
    assert_eq!(c.reason, "ArtifactFailed");
    assert_eq!(
        c.message,
        "kustomization path not found: stat ./clusters/production: no such file or directory \
         (spec.path './clusters/production' does not exist in revision main@sha1:abc; its \
         top-level directories: clusters, infra)"
    );
    assert!(status::is_true(&r.status.conditions, condition::STALLED));
    assert_eq!(r.status.last_attempted_revision, None);
    consistent(&r.status);
    // The run's temp dirs are gone.
    assert_eq!(std::fs::read_dir(work.path()).expect("work").count(), 0);

    // The right path gets as far as the target cluster; there is none.
    let k = apps(json!({"path": "./clusters/prod"}));
    let r = run(
        resolve(&k, &home, &home),
        &local_options(root.path(), work.path()),
    )
    .await;
    let c = ready(&r.status).expect("ready");
    assert_eq!(c.reason, crate::target::NO_TARGET_REASON);
    assert_eq!(
        r.status.last_attempted_revision.as_deref(),
        Some("main@sha1:abc")
    );
    let reconciling = status::get(&r.status.conditions, condition::RECONCILING);
    assert!(reconciling.is_none(), "a stall ends the progress");
}

#[tokio::test]
async fn a_wrong_digest_and_a_vanished_artifact_are_artifact_failures() {
    let root = tempfile::tempdir().expect("root");
    let work = tempfile::tempdir().expect("work");
    let mut a = stored(root.path(), &[("apps/cm.yaml", "kind: ConfigMap\n")]);
    a.digest = Some(format!("sha256:{}", "0".repeat(64)));
    let mut home = Home::default();
    home.repo(Some(a.clone()));
    let opts = local_options(root.path(), work.path());
    let r = run(resolve(&apps(json!({})), &home, &home), &opts).await;
    let c = ready(&r.status).expect("ready");
    assert_eq!(c.reason, "ArtifactFailed");
    assert!(
        c.message
            .starts_with("failed to verify archive: computed digest doesn't match")
    );
    assert_eq!(r.outcome, Outcome::RequeueAfter(Duration::from_secs(60)));
    assert_eq!(r.event.expect("event").type_, EventType::Warning);
    assert_eq!(
        status::get(&r.status.conditions, condition::RECONCILING).map(|c| c.reason.as_str()),
        Some("ProgressingWithRetry")
    );

    a.url = "http://ours:9090/gitrepository/flux-system/fleet/gone.tar.gz".into();
    home.repo(Some(a));
    let r = run(resolve(&apps(json!({})), &home, &home), &opts).await;
    let c = ready(&r.status).expect("ready");
    assert_eq!(
        c.message,
        "Source is not ready, artifact not found, retrying in 30s"
    );
    assert_eq!(r.outcome, Outcome::RequeueAfter(Duration::from_secs(30)));
    assert!(r.event.is_none(), "Flux only logs it");
}

#[test]
fn build_output_is_read_as_flux_reads_it() {
    let yaml = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  \
                metadata:\n    name: a\n- kind: Broken\n---\napiVersion: \
                kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nmetadata:\n  name: k\n---\n\
                apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nsops:\n  mac: x\n";
    let objects = read_objects(yaml).expect("objects");
    let kinds: Vec<&str> = objects.iter().filter_map(|o| o["kind"].as_str()).collect();
    assert_eq!(kinds, ["ConfigMap", "Secret"]);
    assert!(sops_encrypted(&objects[1]));
    let mut opted_out = objects[1].clone();
    opted_out["metadata"]["annotations"] =
        json!({"kustomize.toolkit.fluxcd.io/decrypt": "Disabled"});
    assert!(!sops_encrypted(&opted_out));
    assert!(read_objects("a: [").is_err());
}

#[test]
fn common_metadata_overrides_and_jobs_with_ttl_are_found() {
    let mut o = json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "j", "namespace": "n", "labels": {"team": "a", "keep": "x"}},
        "spec": {"ttlSecondsAfterFinished": 10}});
    let cm: ferroflux_api::kustomize::CommonMetadata =
        serde_json::from_value(json!({"labels": {"team": "b"}, "annotations": {"note": "hi"}}))
            .expect("cm");
    common_metadata(&mut o, &cm);
    assert_eq!(o["metadata"]["labels"], json!({"team": "b", "keep": "x"}));
    assert_eq!(o["metadata"]["annotations"], json!({"note": "hi"}));
    let plain = json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "k", "namespace": "n"}, "spec": {}});
    assert_eq!(
        jobs_with_ttl(&[o, plain]),
        [ObjMetadata::new("n", "j", "batch", "Job")]
    );
}

#[test]
fn health_objects_are_the_applied_ones_or_the_health_checks_never_itself() {
    use crate::target::{Action, ChangeSetEntry};
    let entry = |kind: &str, group: &str, name: &str, action| ChangeSetEntry {
        meta: ObjMetadata::new("flux-system", name, group, kind),
        version: "v1".into(),
        subject: String::new(),
        action,
    };
    let cs = ChangeSet {
        entries: vec![
            entry("ConfigMap", "", "a", Action::Unchanged),
            entry("ConfigMap", "", "b", Action::Skipped),
            entry(
                "Kustomization",
                "kustomize.toolkit.fluxcd.io",
                "apps",
                Action::Created,
            ),
        ],
    };
    let waited = health_objects(&apps(json!({"wait": true})), &cs).expect("wait");
    let names: Vec<&str> = waited.iter().map(|o| o.meta.name.as_str()).collect();
    assert_eq!(names, ["a"]);
    let k = apps(json!({"healthChecks": [
        {"kind": "Deployment", "name": "web", "namespace": "apps"},
        {"apiVersion": "v1", "kind": "Service", "name": "web"}]}));
    let checked = health_objects(&k, &cs).expect("checks");
    assert_eq!(
        checked[0].meta,
        ObjMetadata::new("apps", "web", "apps", "Deployment")
    );
    assert_eq!(checked[0].version, "v1");
    assert_eq!(checked[1].meta, ObjMetadata::new("", "web", "", "Service"));
    let bad = apps(json!({"healthChecks": [{"apiVersion": "a/b/c", "kind": "X", "name": "x"}]}));
    assert!(health_objects(&bad, &cs).is_err());
}

#[test]
fn deletion_policies_decide_what_finalize_deletes() {
    let with = |policy: Option<&str>, prune: bool, entries: usize| {
        let mut k = apps(json!({"prune": prune}));
        k.spec.deletion_policy = policy.map(str::to_string);
        k.status = Some(KustomizationStatus {
            inventory: Some(ResourceInventory {
                entries: (0..entries)
                    .map(|i| ResourceRef {
                        id: format!("ns_c{i}__ConfigMap"),
                        v: "v1".into(),
                    })
                    .collect(),
            }),
            ..Default::default()
        });
        should_delete_resources(&k)
    };
    assert!(with(None, true, 1));
    assert!(!with(None, false, 1));
    assert!(!with(Some("MirrorPrune"), false, 1));
    assert!(with(Some("Delete"), false, 1));
    assert!(with(Some("WaitForTermination"), false, 1));
    assert!(!with(Some("Orphan"), true, 1));
    assert!(!with(Some("Delete"), true, 0), "nothing to delete");
    let mut suspended = apps(json!({"suspend": true}));
    suspended.status = Some(KustomizationStatus {
        inventory: Some(ResourceInventory {
            entries: vec![ResourceRef {
                id: "ns_c__ConfigMap".into(),
                v: "v1".into(),
            }],
        }),
        ..Default::default()
    });
    assert!(!should_delete_resources(&suspended));
}

#[tokio::test]
async fn finalize_without_a_cluster_reports_and_lets_go() {
    let mut k = apps(json!({}));
    k.status = Some(KustomizationStatus {
        inventory: Some(ResourceInventory {
            entries: vec![ResourceRef {
                id: "apps_web_apps_Deployment".into(),
                v: "v1".into(),
            }],
        }),
        ..Default::default()
    });
    let options = KustomizationOptions::default();
    let cx = KustomizationCx {
        targets: &NoTarget,
        clock: &SystemClock,
        options: &options,
    };
    let f = finalize(&k, &cx).await;
    assert!(f.result.is_ok());
    assert_eq!(f.events.len(), 1);
    assert!(
        f.events[0]
            .message
            .starts_with("unable to prune objects: \nDeployment/apps/web\n"),
        "{}",
        f.events[0].message
    );
}

#[test]
fn the_target_names_the_kubeconfig_and_the_account() {
    let k = apps(
        json!({"kubeConfig": {"secretRef": {"name": "prod", "key": "config"}},
        "serviceAccountName": "deployer"}),
    );
    let t = target_spec(&k, Some("default-sa"));
    assert_eq!(t.requester, "Kustomization/flux-system/apps");
    assert_eq!(t.namespace, "flux-system");
    assert_eq!(t.kube_config_secret.as_deref(), Some("prod"));
    assert_eq!(t.kube_config_key.as_deref(), Some("config"));
    assert_eq!(t.service_account_name.as_deref(), Some("deployer"));
    let t = target_spec(&apps(json!({})), Some("default-sa"));
    assert_eq!(t.service_account_name.as_deref(), Some("default-sa"));
    assert_eq!(
        target_spec(&apps(json!({})), None).service_account_name,
        None
    );
}
