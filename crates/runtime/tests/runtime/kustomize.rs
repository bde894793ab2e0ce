//! The Kustomization reconcile (`ferroflux_controllers::kustomize`) through
//! `KubeTargets` against the testkit's real kube-apiserver: an artifact
//! stored as the GitRepository reconciler stores it, applied with owner
//! labels and inventory; a `kubectl edit` undone by the next run; a removed
//! file pruned (or, without `prune`, kept with a hint); a Deployment that
//! never becomes ready; an immutable Job with and without `force`; a build
//! error; impersonation; a second apiserver through a `kubeConfig` Secret;
//! the deletion policies.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ferroflux_api::kustomize::Kustomization;
use ferroflux_api::meta::Condition;
use ferroflux_api::source::{Artifact, GitRepository, SourceStatus};
use ferroflux_artifact::Storage;
use ferroflux_artifact::fetch::LocalStorage;
use ferroflux_controllers::kind::{Lookup, ObjectKey, SecretData, SecretSource};
use ferroflux_controllers::kustomize::{
    KustomizationCx, KustomizationOptions, KustomizationResult, finalize, reconcile, resolve,
};
use ferroflux_controllers::status::EventType;
use ferroflux_controllers::{Outcome, SystemClock};
use ferroflux_runtime::target::{KubeTargets, KubeTargetsOptions};
use ferroflux_testkit::control_plane::ControlPlane;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::discovery::ApiResource;
use serde_json::{Value, json};

/// The home of these tests: the GitRepository and Kustomizations a run
/// reads, and the Secrets it reads from the home (SOPS decryption keys).
#[derive(Default)]
pub(crate) struct Home {
    objects: BTreeMap<ObjectKey, Box<dyn Any + Send + Sync>>,
    pub(crate) secrets: BTreeMap<(String, String), SecretData>,
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
            .get(&(namespace.to_string(), name.to_string()))
            .ok_or_else(|| format!("secret '{namespace}/{name}' not found"))
    }
}

/// One test's world: a namespace, a storage root and the targets.
pub(crate) struct World {
    cp: &'static ControlPlane,
    pub(crate) client: Client,
    pub(crate) ns: String,
    storage: Storage,
    work: tempfile::TempDir,
    _root: tempfile::TempDir,
    targets: KubeTargets,
    pub(crate) home: Home,
    options: KustomizationOptions,
}

impl World {
    pub(crate) async fn new(prefix: &str) -> Option<World> {
        let cp = ControlPlane::shared()?;
        let ns = cp.namespace(prefix);
        let config = crate::kube_config(cp).await;
        let client = Client::try_from(config.clone()).expect("client");
        let root = tempfile::tempdir().expect("root");
        let storage = Storage::new(root.path(), "ours:9090", Default::default()).expect("storage");
        let work = tempfile::tempdir().expect("work");
        let targets = KubeTargets::new(
            config,
            Arc::new(client.clone()),
            KubeTargetsOptions::default(),
        );
        let options = KustomizationOptions {
            work_dir: work.path().to_path_buf(),
            local_storage: Some(LocalStorage {
                root: storage.root().to_path_buf(),
                address: "ours:9090".into(),
            }),
            health_interval: Duration::from_millis(500),
            ..KustomizationOptions::default()
        };
        Some(World {
            cp,
            client,
            ns,
            storage,
            work,
            _root: root,
            targets,
            home: Home::default(),
            options,
        })
    }

    /// Archive `files` as revision `main@sha1:<rev>` and advertise it on
    /// the GitRepository `fleet`.
    pub(crate) fn publish(&mut self, rev: &str, files: &[(&str, &str)]) -> String {
        let src = tempfile::tempdir().expect("src");
        for (p, content) in files {
            let path = src.path().join(p);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, content).expect("write");
        }
        let path = format!("gitrepository/{}/fleet/{rev}.tar.gz", self.ns);
        let stored = self
            .storage
            .archive(&path, src.path(), None, &Default::default())
            .expect("archive");
        let revision = format!("main@sha1:{rev}");
        let mut repo: GitRepository = serde_json::from_value(json!({
            "metadata": {"name": "fleet", "namespace": self.ns},
            "spec": {"url": "https://example.com/fleet.git", "interval": "1m"}}))
        .expect("repo");
        repo.status = Some(SourceStatus {
            artifact: Some(Artifact {
                metadata: Default::default(),
                url: self.storage.url(&path),
                path,
                revision: revision.clone(),
                digest: Some(stored.digest),
                last_update_time: None,
                size: None,
            }),
            ..Default::default()
        });
        self.home.objects.insert(
            ObjectKey::new("GitRepository", &self.ns, "fleet"),
            Box::new(repo),
        );
        revision
    }

    pub(crate) fn kustomization(&self, spec: Value) -> Kustomization {
        let mut v = json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "apps", "namespace": self.ns, "generation": 1},
            "spec": {"interval": "10m", "retryInterval": "1m", "prune": true, "path": "./apps",
                "targetNamespace": self.ns,
                "sourceRef": {"kind": "GitRepository", "name": "fleet"}}});
        for (k, x) in spec.as_object().expect("spec") {
            v["spec"][k] = x.clone();
        }
        serde_json::from_value(v).expect("kustomization")
    }

    /// Resolve and reconcile; the status is kept on `ks` for the next run.
    pub(crate) async fn run(&self, ks: &mut Kustomization) -> KustomizationResult {
        let input = resolve(ks, &self.home, &self.home);
        let cx = KustomizationCx {
            targets: &self.targets,
            clock: &SystemClock,
            options: &self.options,
        };
        let r = reconcile(input, &cx).await;
        ks.status = Some(r.status.clone());
        r
    }

    fn config_maps(&self) -> Api<ConfigMap> {
        Api::namespaced(self.client.clone(), &self.ns)
    }
}

pub(crate) fn ready(r: &KustomizationResult) -> &Condition {
    r.status
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .expect("Ready condition")
}

pub(crate) fn message(r: &KustomizationResult) -> String {
    r.event
        .as_ref()
        .map(|e| e.message.clone())
        .unwrap_or_default()
}

fn cm(name: &str, value: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  x: \"{value}\"\n")
}

const SERVICE: &str = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector:\n    app: web\n  ports:\n  - port: 80\n";

#[tokio::test]
async fn applies_with_labels_and_inventory_then_undoes_an_edit_and_prunes() {
    let Some(mut w) = World::new("ks-apply").await else {
        return;
    };
    let ns = w.ns.clone();
    let rev1 = w.publish(
        "1111",
        &[
            ("apps/a.yaml", &cm("a", "1")),
            ("apps/b.yaml", &cm("b", "1")),
            ("apps/svc.yaml", SERVICE),
            ("README.md", "not applied"),
        ],
    );
    let mut ks = w.kustomization(json!({}));
    let r = w.run(&mut ks).await;
    let c = ready(&r);
    assert_eq!(
        (c.status.as_str(), c.reason.as_str(), c.message.as_str()),
        (
            "True",
            "ReconciliationSucceeded",
            &*format!("Applied revision: {rev1}")
        ),
        "{:?}",
        r.status.conditions
    );
    assert_eq!(r.status.last_applied_revision.as_deref(), Some(&*rev1));
    assert_eq!(r.status.last_attempted_revision.as_deref(), Some(&*rev1));
    assert_eq!(r.status.observed_generation, Some(1));
    assert_eq!(r.outcome, Outcome::RequeueAfter(Duration::from_secs(600)));
    let ids: Vec<&str> = r
        .status
        .inventory
        .as_ref()
        .expect("inventory")
        .entries
        .iter()
        .map(|e| e.id.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            format!("{ns}_a__ConfigMap"),
            format!("{ns}_b__ConfigMap"),
            format!("{ns}_web__Service")
        ]
    );
    let event = r.event.clone().expect("event");
    assert_eq!(event.type_, EventType::Normal);
    assert!(
        event
            .message
            .starts_with(&format!("ConfigMap/{ns}/a created\nConfigMap/{ns}/b created\nService/{ns}/web created\nReconciliation finished in ")),
        "{}",
        event.message
    );
    let a = w.config_maps().get("a").await.expect("a");
    let labels = a.metadata.labels.clone().unwrap_or_default();
    assert_eq!(labels["kustomize.toolkit.fluxcd.io/name"], "apps");
    assert_eq!(labels["kustomize.toolkit.fluxcd.io/namespace"], ns);
    assert_eq!(r.status.history.len(), 1);
    assert_eq!(
        r.status.history[0].last_reconciled_status,
        "ReconciliationSucceeded"
    );
    assert_eq!(r.status.history[0].metadata["revision"], rev1);

    // Nothing changed: nothing applied.
    let r = w.run(&mut ks).await;
    assert!(
        message(&r).starts_with("Reconciliation finished in "),
        "{}",
        message(&r)
    );
    assert_eq!(r.status.history[0].total_reconciliations, 2);

    // `kubectl edit`: the next run puts Git's value back.
    let edit = PatchParams {
        field_manager: Some("kubectl-edit".into()),
        ..PatchParams::default()
    };
    w.config_maps()
        .patch("a", &edit, &Patch::Merge(json!({"data": {"x": "edited"}})))
        .await
        .expect("edit");
    let r = w.run(&mut ks).await;
    assert!(
        message(&r).starts_with(&format!("ConfigMap/{ns}/a configured\n")),
        "{}",
        message(&r)
    );
    let a = w.config_maps().get("a").await.expect("a");
    assert_eq!(a.data.expect("data")["x"], "1");

    // b leaves Git: pruned.
    let rev2 = w.publish(
        "2222",
        &[("apps/a.yaml", &cm("a", "1")), ("apps/svc.yaml", SERVICE)],
    );
    let r = w.run(&mut ks).await;
    assert_eq!(ready(&r).message, format!("Applied revision: {rev2}"));
    assert!(
        message(&r).starts_with(&format!("ConfigMap/{ns}/b deleted\n")),
        "{}",
        message(&r)
    );
    assert!(w.config_maps().get_opt("b").await.expect("get").is_none());
    let inventory = r.status.inventory.clone().expect("inventory");
    assert_eq!(inventory.entries.len(), 2);

    // Deleted with the default policy (MirrorPrune, prune on): all goes.
    let cx = KustomizationCx {
        targets: &w.targets,
        clock: &SystemClock,
        options: &w.options,
    };
    let f = finalize(&ks, &cx).await;
    assert!(f.result.is_ok(), "{:?}", f.result);
    assert_eq!(
        f.events[0].message,
        format!("Service/{ns}/web deleted\nConfigMap/{ns}/a deleted")
    );
    assert!(w.config_maps().get_opt("a").await.expect("get").is_none());
    assert_eq!(std::fs::read_dir(w.work.path()).expect("work").count(), 0);
}

#[tokio::test]
async fn without_prune_a_removed_file_stays_and_the_event_says_why() {
    let Some(mut w) = World::new("ks-noprune").await else {
        return;
    };
    let ns = w.ns.clone();
    w.publish(
        "1111",
        &[
            ("apps/a.yaml", &cm("a", "1")),
            ("apps/b.yaml", &cm("b", "1")),
        ],
    );
    let mut ks = w.kustomization(json!({"prune": false, "deletionPolicy": "Orphan"}));
    let r = w.run(&mut ks).await;
    assert_eq!(ready(&r).status, "True");
    w.publish("2222", &[("apps/a.yaml", &cm("a", "1"))]);
    let r = w.run(&mut ks).await;
    assert_eq!(ready(&r).status, "True");
    assert!(
        message(&r).starts_with(&format!(
            "ConfigMap/{ns}/b left the source but spec.prune is false: not deleted"
        )),
        "{}",
        message(&r)
    );
    assert!(w.config_maps().get_opt("b").await.expect("get").is_some());
    // Orphan: deleting the Kustomization leaves its objects.
    let cx = KustomizationCx {
        targets: &w.targets,
        clock: &SystemClock,
        options: &w.options,
    };
    let f = finalize(&ks, &cx).await;
    assert!(f.result.is_ok() && f.events.is_empty());
    assert!(w.config_maps().get_opt("a").await.expect("get").is_some());
}

const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n";

#[tokio::test]
async fn a_deployment_that_never_becomes_ready_fails_the_health_check() {
    let Some(mut w) = World::new("ks-health").await else {
        return;
    };
    let ns = w.ns.clone();
    w.publish("1111", &[("apps/deploy.yaml", DEPLOYMENT)]);
    // The shortest timeout Flux allows is 30 s; there is no kubelet here.
    let mut ks = w.kustomization(json!({"wait": true, "timeout": "30s"}));
    let r = w.run(&mut ks).await;
    let c = ready(&r);
    assert_eq!(
        (c.status.as_str(), c.reason.as_str()),
        ("False", "HealthCheckFailed")
    );
    assert!(
        c.message.starts_with("health check failed after 30."),
        "{}",
        c.message
    );
    assert!(
        c.message.contains(&format!(
            "timeout waiting for: [Deployment/{ns}/web status: 'InProgress'"
        )),
        "{}",
        c.message
    );
    let healthy = r
        .status
        .conditions
        .iter()
        .find(|c| c.type_ == "Healthy")
        .expect("Healthy");
    assert_eq!(
        (healthy.status.as_str(), healthy.reason.as_str()),
        ("False", "HealthCheckFailed")
    );
    assert!(healthy.message.starts_with("timeout waiting for: ["));
    assert_eq!(r.status.last_applied_revision, None);
    assert_eq!(
        r.status.history[0].last_reconciled_status,
        "HealthCheckFailed"
    );
    assert_eq!(r.outcome, Outcome::RequeueAfter(Duration::from_secs(60)));
    let event = r.event.expect("event");
    assert_eq!(event.type_, EventType::Warning);
    assert!(event.message.starts_with(&format!(
        "Deployment/{ns}/web created\nhealth check failed after"
    )));
}

#[tokio::test]
async fn health_check_exprs_fail_fast() {
    let Some(mut w) = World::new("ks-cel").await else {
        return;
    };
    let ns = w.ns.clone();
    w.publish(
        "1111",
        &[(
            "apps/a.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  state: broken\n",
        )],
    );
    let mut ks = w.kustomization(json!({
        "healthChecks": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "a", "namespace": ns}],
        "healthCheckExprs": [{"apiVersion": "v1", "kind": "ConfigMap",
            "current": "data.state == 'ok'", "failed": "data.state == 'broken'"}]}));
    let started = std::time::Instant::now();
    let r = w.run(&mut ks).await;
    let c = ready(&r);
    assert_eq!(c.reason, "HealthCheckFailed");
    assert!(
        c.message.contains(&format!(
            "failed early due to stalled resources: [ConfigMap/{ns}/a status: 'Failed'"
        )),
        "{}",
        c.message
    );
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "fail-fast, not the timeout"
    );

    w.publish(
        "2222",
        &[(
            "apps/a.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  state: ok\n",
        )],
    );
    let r = w.run(&mut ks).await;
    assert_eq!(ready(&r).status, "True", "{:?}", r.status.conditions);
    let healthy = r
        .status
        .conditions
        .iter()
        .find(|c| c.type_ == "Healthy")
        .expect("Healthy");
    assert!(
        healthy.message.starts_with("Health check passed in "),
        "{}",
        healthy.message
    );
    assert!(
        message(&r).contains("\nHealth check passed in "),
        "{}",
        message(&r)
    );
}

fn job(image: &str) -> String {
    format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: m\n        image: {image}\n"
    )
}

#[tokio::test]
async fn an_immutable_change_fails_without_force_and_recreates_with_it() {
    let Some(mut w) = World::new("ks-force").await else {
        return;
    };
    let ns = w.ns.clone();
    w.publish("1111", &[("apps/job.yaml", &job("busybox:1.36"))]);
    let mut ks = w.kustomization(json!({}));
    assert_eq!(ready(&w.run(&mut ks).await).status, "True");
    w.publish("2222", &[("apps/job.yaml", &job("busybox:1.37"))]);
    let r = w.run(&mut ks).await;
    let c = ready(&r);
    assert_eq!(c.reason, "ReconciliationFailed");
    assert!(
        c.message
            .starts_with(&format!("Job/{ns}/migrate dry-run failed (Invalid): ")),
        "{}",
        c.message
    );
    assert!(c.message.contains("field is immutable"), "{}", c.message);
    assert_eq!(
        r.status.history[0].last_reconciled_status,
        "ReconciliationFailed"
    );
    assert_eq!(
        r.status.last_applied_revision.as_deref(),
        Some("main@sha1:1111")
    );

    ks.spec.force = Some(true);
    let r = w.run(&mut ks).await;
    assert_eq!(ready(&r).message, "Applied revision: main@sha1:2222");
    assert!(
        message(&r).starts_with(&format!("Job/{ns}/migrate created\n")),
        "{}",
        message(&r)
    );
    let jobs: Api<DynamicObject> = Api::namespaced_with(
        w.client.clone(),
        &ns,
        &ApiResource::from_gvk(&kube::api::GroupVersionKind::gvk("batch", "v1", "Job")),
    );
    let live = jobs.get("migrate").await.expect("job");
    assert_eq!(
        live.data["spec"]["template"]["spec"]["containers"][0]["image"],
        "busybox:1.37"
    );
}

#[tokio::test]
async fn a_build_error_names_the_file_not_the_temp_dir() {
    let Some(mut w) = World::new("ks-build").await else {
        return;
    };
    w.publish(
        "1111",
        &[(
            "apps/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- missing.yaml\n",
        )],
    );
    let mut ks = w.kustomization(json!({}));
    let r = w.run(&mut ks).await;
    let c = ready(&r);
    assert_eq!(c.reason, "BuildFailed", "{}", c.message);
    assert!(c.message.contains("missing.yaml"), "{}", c.message);
    assert!(
        !c.message.contains(&*w.work.path().to_string_lossy()),
        "{}",
        c.message
    );
    assert!(
        r.status.history.is_empty(),
        "build failures are not recorded"
    );
}

#[tokio::test]
async fn the_service_account_is_impersonated() {
    let Some(mut w) = World::new("ks-sa").await else {
        return;
    };
    let ns = w.ns.clone();
    w.publish("1111", &[("apps/a.yaml", &cm("a", "1"))]);
    let mut ks = w.kustomization(json!({"serviceAccountName": "nobody"}));
    let r = w.run(&mut ks).await;
    let c = ready(&r);
    assert_eq!(c.reason, "ReconciliationFailed");
    assert!(
        c.message
            .contains(&format!("system:serviceaccount:{ns}:nobody")),
        "{}",
        c.message
    );
    assert!(
        c.message.to_lowercase().contains("forbidden"),
        "{}",
        c.message
    );
    assert!(w.config_maps().get_opt("a").await.expect("get").is_none());
}

#[tokio::test]
async fn a_kubeconfig_secret_targets_a_second_apiserver() {
    let Some(mut w) = World::new("ks-remote").await else {
        return;
    };
    let Some(remote) = ControlPlane::for_tests() else {
        return;
    };
    eprintln!("second control plane started in {:?}", remote.started_in());
    let ns = w.ns.clone();
    let body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
    let (code, text) = remote
        .request("POST", "/api/v1/namespaces", Some(&body))
        .expect("namespace");
    assert_eq!(code, 201, "{text}");
    let kubeconfig = std::fs::read_to_string(remote.kubeconfig()).expect("kubeconfig");
    let secret = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "remote", "namespace": ns},
        "stringData": {"value.yaml": kubeconfig}});
    let (code, text) =
        w.cp.request(
            "POST",
            &format!("/api/v1/namespaces/{ns}/secrets"),
            Some(&secret),
        )
        .expect("secret");
    assert_eq!(code, 201, "{text}");
    w.publish("1111", &[("apps/a.yaml", &cm("a", "remote"))]);
    let mut ks = w.kustomization(json!({"kubeConfig": {"secretRef": {"name": "remote"}}}));
    let r = w.run(&mut ks).await;
    assert_eq!(ready(&r).status, "True", "{:?}", r.status.conditions);
    let (code, text) = remote
        .request(
            "GET",
            &format!("/api/v1/namespaces/{ns}/configmaps/a"),
            None,
        )
        .expect("get");
    assert_eq!(code, 200, "on the second apiserver: {text}");
    assert!(
        w.config_maps().get_opt("a").await.expect("get").is_none(),
        "not on the first"
    );

    let mut wrong = w.kustomization(json!({"kubeConfig": {"secretRef": {"name": "absent"}}}));
    let r = w.run(&mut wrong).await;
    let c = ready(&r);
    assert_eq!(c.reason, "ReconciliationFailed");
    assert_eq!(
        c.message,
        format!(
            "failed to build kube client: unable to read KubeConfig secret '{ns}/absent' error: secrets \"absent\" not found"
        )
    );
}

#[tokio::test]
async fn wait_for_termination_deletes_without_prune_and_waits() {
    let Some(mut w) = World::new("ks-wft").await else {
        return;
    };
    let ns = w.ns.clone();
    w.publish("1111", &[("apps/a.yaml", &cm("a", "1"))]);
    let mut ks = w.kustomization(json!({"prune": false, "deletionPolicy": "WaitForTermination"}));
    assert_eq!(ready(&w.run(&mut ks).await).status, "True");
    let cx = KustomizationCx {
        targets: &w.targets,
        clock: &SystemClock,
        options: &w.options,
    };
    let f = finalize(&ks, &cx).await;
    assert!(f.result.is_ok(), "{:?}", f.result);
    let messages: Vec<&str> = f.events.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(messages, [format!("ConfigMap/{ns}/a deleted")]);
    assert!(w.config_maps().get_opt("a").await.expect("get").is_none());
}
