//! A kind the runtime has never heard of, served with one registration
//! line: its objects are read from the checkout, held, reconciled by the
//! runner through `Kind::reconcile` and their status stored in the local
//! home, with no edit to the runtime.

use std::time::Duration;

use ferroflux_api::meta::{Condition, ObjectMeta};
use ferroflux_controllers::kind::{
    Cx, FirstRun, Job, Kind, KindInfo, ObjectKey, Reconciled, Run, Said,
};
use ferroflux_controllers::status::{self, StepError};
use ferroflux_runtime::StatusStore;
use ferroflux_runtime::automate::{AutomateOptions, Runner};
use ferroflux_runtime::registry::Registry;
use ferroflux_testkit::gitrepo;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Dummy {
    api_version: String,
    kind: String,
    metadata: ObjectMeta,
    spec: DummySpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<DummyStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct DummySpec {
    /// Said by its Ready condition; empty: the reconcile stalls.
    message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct DummyStatus {
    #[serde(default)]
    conditions: Vec<Condition>,
}

impl Kind for Dummy {
    const INFO: KindInfo = KindInfo {
        kind: "Dummy",
        group: "test.ferroflux.dev",
        version: "v1",
        section: "dummies",
    };
    type Object = Dummy;

    fn meta(obj: &Dummy) -> &ObjectMeta {
        &obj.metadata
    }

    fn meta_mut(obj: &mut Dummy) -> &mut ObjectMeta {
        &mut obj.metadata
    }

    fn conditions(obj: &Dummy) -> &[Condition] {
        obj.status.as_ref().map_or(&[], |s| s.conditions.as_slice())
    }

    fn suspended(_: &Dummy) -> bool {
        false
    }

    fn first_run(_: &Dummy) -> FirstRun {
        FirstRun::After(Duration::from_secs(60))
    }

    /// Ready with its spec's message after a wait on a timer (a job that
    /// really waits), Stalled without one.
    fn reconcile(key: &ObjectKey, obj: &Dummy, _: Run, cx: &dyn Cx) -> Option<Job> {
        let key = key.clone();
        let obj = obj.clone();
        let clock = cx.clock();
        Some(Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            let mut s = obj.status.clone().unwrap_or_default();
            let result = if obj.spec.message.is_empty() {
                Err(StepError::stalled("NoMessage", "spec.message is empty"))
            } else {
                Ok(obj.spec.message.clone())
            };
            status::finish(
                &mut s.conditions,
                obj.metadata.generation,
                clock.now_time(),
                &result,
            );
            let outcome = status::outcome(&result, Some(Duration::from_secs(60)));
            Reconciled::new(&key, &s, Said::Ready, outcome)
        }))
    }
}

/// Flux's kinds and the dummy: the one line a new kind adds.
fn registry() -> &'static Registry {
    static KINDS: std::sync::LazyLock<Registry> =
        std::sync::LazyLock::new(|| Registry::flux().with::<Dummy>());
    &KINDS
}

const DUMMIES: &str = "apiVersion: test.ferroflux.dev/v1
kind: Dummy
metadata:
  name: hello
  namespace: apps
spec:
  message: hello from a kind the runtime does not know
---
apiVersion: test.ferroflux.dev/v1
kind: Dummy
metadata:
  name: silent
  namespace: apps
spec:
  message: \"\"
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kind_registered_with_one_line_is_read_reconciled_and_stored() {
    if !gitrepo::git_available() {
        ferroflux_testkit::env::skip_or_fail("git binary");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let bare = gitrepo::init_bare(tmp.path(), "fleet.git");
    gitrepo::commit_files(
        &bare,
        "main",
        &[("apps/dummies.yaml", DUMMIES.as_bytes())],
        "dummies",
    );
    let state = StatusStore::open(&tmp.path().join("state.redb")).unwrap();
    let opts = AutomateOptions {
        repo: bare.display().to_string(),
        ..AutomateOptions::default()
    };
    let mut runner = Runner::new(opts, state.clone())
        .unwrap()
        .with_registry(registry());
    let summary = runner.run_once().await.expect("a pass");

    let hello = ObjectKey::new("Dummy", "apps", "hello");
    let silent = ObjectKey::new("Dummy", "apps", "silent");
    let line = |key: &ObjectKey| {
        summary
            .lines
            .iter()
            .find(|l| &l.key == key)
            .unwrap_or_else(|| panic!("{key} in the summary: {summary}"))
    };
    assert!(line(&hello).ready, "{summary}");
    assert_eq!(
        line(&hello).detail,
        "hello from a kind the runtime does not know"
    );
    assert!(!line(&silent).ready, "{summary}");
    assert!(summary.to_string().contains("dummies:\n"), "{summary}");
    assert_eq!(line(&silent).message, "spec.message is empty");

    // Held as its own type, with the status its job returned ...
    let held = runner.objects().of::<Dummy>();
    assert_eq!(held.len(), 2);
    let conditions = Dummy::conditions(&held[&hello]);
    assert_eq!(conditions.len(), 1);
    assert_eq!(
        (conditions[0].type_.as_str(), conditions[0].status.as_str()),
        ("Ready", "True")
    );
    // ... and that status written to the local home by the job.
    let stored: Option<DummyStatus> = state.get_status(&silent).unwrap();
    let stored = stored.expect("the silent dummy's status in the state file");
    let stalled = status::get(&stored.conditions, "Stalled").expect("Stalled");
    assert_eq!(
        (stalled.status.as_str(), stalled.reason.as_str()),
        ("True", "NoMessage")
    );
}

/// The dummies' CRD: namespaced, its status a subresource, any fields.
fn dummy_crd() -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "dummies.test.ferroflux.dev"},
        "spec": {
            "group": "test.ferroflux.dev",
            "scope": "Namespaced",
            "names": {"plural": "dummies", "singular": "dummy", "kind": "Dummy", "listKind": "DummyList"},
            "versions": [{
                "name": "v1",
                "served": true,
                "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "x-kubernetes-preserve-unknown-fields": true
                }}
            }]
        }
    })
}

/// In a cluster the same registration is enough: the runner's cluster
/// watches the dummies, the runner reconciles them, and their status goes
/// to the status subresource.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kind_registered_with_one_line_is_watched_and_reconciled_in_a_cluster() {
    use ferroflux_runtime::cluster::{Cluster, ClusterOptions};
    use ferroflux_testkit::control_plane::ControlPlane;
    use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};

    let Some(cp) = ControlPlane::shared() else {
        return;
    };
    let ns = cp.namespace("dummy");
    let config = crate::kube_config(cp).await;
    let client = kube::Client::try_from(config).expect("client");
    let apply = PatchParams::apply("ferroflux-test").force();
    let crds = ApiResource::from_gvk(&GroupVersionKind::gvk(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
    ));
    Api::<DynamicObject>::all_with(client.clone(), &crds)
        .patch(
            "dummies.test.ferroflux.dev",
            &apply,
            &Patch::Apply(dummy_crd()),
        )
        .await
        .expect("the dummies' CRD");
    let dummies: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        &ns,
        &ApiResource::from_gvk(&GroupVersionKind::gvk("test.ferroflux.dev", "v1", "Dummy")),
    );
    let dummy = serde_json::json!({
        "apiVersion": "test.ferroflux.dev/v1",
        "kind": "Dummy",
        "metadata": {"name": "hello", "namespace": ns},
        "spec": {"message": "hello from the cluster"}
    });
    // The CRD is served once established: retry the first object until then.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        match dummies.patch("hello", &apply, &Patch::Apply(&dummy)).await {
            Ok(_) => break,
            Err(e) if std::time::Instant::now() < deadline => {
                tracing::debug!("dummy not created yet: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("dummy: {e}"),
        }
    }

    let tmp = tempfile::tempdir().unwrap();
    let state = StatusStore::open(&tmp.path().join("state.redb")).unwrap();
    let cluster = Cluster::new(client.clone(), ClusterOptions::default()).with_kinds(registry());
    let changes = cluster.watch();
    let mut runner = Runner::new(AutomateOptions::default(), state)
        .unwrap()
        .with_registry(registry())
        .in_cluster(cluster);
    let (sched, _handle) = runner.scheduler();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let control = tokio::spawn(async move {
        let result = runner
            .control(sched, changes, async {
                let _ = stopped.await;
            })
            .await;
        (runner, result)
    });

    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let ready = loop {
        let live = dummies.get("hello").await.expect("the dummy");
        let ready = live
            .data
            .pointer("/status/conditions")
            .and_then(|c| c.as_array())
            .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
            .cloned();
        if let Some(r) = ready {
            break r;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the dummy was never reconciled: {live:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(ready["status"], "True", "{ready}");
    assert_eq!(ready["message"], "hello from the cluster", "{ready}");

    let _ = stop.send(());
    let (runner, result) = control.await.expect("the control loop");
    result.expect("the control loop ends cleanly");
    let key = ObjectKey::new("Dummy", &ns, "hello");
    assert!(
        runner.objects().of::<Dummy>().contains_key(&key),
        "held by the runner"
    );
}
