//! `ferroflux_kube::apply` against the real kube-apiserver: the change
//! set of a first apply, a re-apply and a change; immutable fields with
//! and without force; the `ssa` annotations; a CRD and its custom resource
//! in one set; kubectl's fields taken over; diff with a Secret; prune of a
//! removed object and of protected ones; the health wait, on a Deployment
//! whose status the test writes (there is no kubelet and no deployment
//! controller) and until its timeout.

use std::time::Duration;

use ferroflux_kube::apply::{
    Action, ApplyError, ApplyOptions, DeleteOptions, DiffOptions, IgnoreRule, IgnoreTarget,
    ResourceManager, WaitOptions, health_check_failed_message,
};
use ferroflux_kube::inventory::{
    self, OWNER_NAME_LABEL, OWNER_NAMESPACE_LABEL, ObjMetadata, ObjRef, Owner,
};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::discovery::ApiResource;
use serde_json::{Value, json};

use crate::cluster::{client, control_plane};

const KS: &str = "apps";
const KS_NS: &str = "flux-system";

fn owned(mut obj: Value) -> Value {
    let labels = obj["metadata"]
        .as_object_mut()
        .expect("metadata")
        .entry("labels")
        .or_insert_with(|| json!({}));
    labels[OWNER_NAME_LABEL] = KS.into();
    labels[OWNER_NAMESPACE_LABEL] = KS_NS.into();
    obj
}

fn config_map(ns: &str, name: &str, data: Value) -> Value {
    owned(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns}, "data": data}))
}

fn deployment(ns: &str, name: &str, image: &str) -> Value {
    owned(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": image}]}}}}))
}

fn job(ns: &str, name: &str, image: &str, annotations: Value) -> Value {
    owned(json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "namespace": ns, "annotations": annotations},
        "spec": {"template": {"spec": {"restartPolicy": "Never",
            "containers": [{"name": "job", "image": image}]}}}}))
}

fn lines(cs: &ferroflux_kube::apply::ChangeSet) -> Vec<String> {
    cs.entries.iter().map(ToString::to_string).collect()
}

async fn manager() -> Option<(
    ResourceManager,
    &'static ferroflux_testkit::control_plane::ControlPlane,
)> {
    let cp = control_plane()?;
    Some((ResourceManager::new(client(cp).await), cp))
}

async fn config_maps(rm: &ResourceManager, ns: &str) -> Api<ConfigMap> {
    Api::namespaced(rm.client().clone(), ns)
}

#[tokio::test]
async fn apply_creates_then_leaves_unchanged_then_configures() {
    let Some((rm, cp)) = manager().await else {
        return;
    };
    let ns = cp.unique_name("apply-basic");
    let set = |value: &str| {
        vec![
            deployment(&ns, "web", "nginx:1.27"),
            config_map(&ns, "settings", json!({"level": value})),
            owned(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})),
            owned(json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "web", "namespace": ns},
                "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})),
        ]
    };
    let opts = ApplyOptions::default();
    let first = rm
        .apply_all_staged(set("info"), &opts)
        .await
        .expect("apply");
    assert_eq!(
        lines(&first),
        [
            format!("Namespace/{ns} created"),
            format!("ConfigMap/{ns}/settings created"),
            format!("Service/{ns}/web created"),
            format!("Deployment/{ns}/web created"),
        ]
    );
    let ids: Vec<String> = first
        .to_inventory()
        .entries
        .into_iter()
        .map(|e| format!("{} {}", e.id, e.v))
        .collect();
    assert_eq!(
        ids,
        [
            format!("_{ns}__Namespace v1"),
            format!("{ns}_settings__ConfigMap v1"),
            format!("{ns}_web__Service v1"),
            format!("{ns}_web_apps_Deployment v1"),
        ]
    );
    let maps = config_maps(&rm, &ns).await;
    let before = maps.get("settings").await.expect("get");
    let fields = before.metadata.managed_fields.clone().unwrap_or_default();
    assert!(
        fields
            .iter()
            .any(|f| f.manager.as_deref() == Some("kustomize-controller")
                && f.operation.as_deref() == Some("Apply")),
        "{fields:?}"
    );

    let again = rm
        .apply_all_staged(set("info"), &opts)
        .await
        .expect("re-apply");
    assert!(
        again.entries.iter().all(|e| e.action == Action::Unchanged),
        "{again}"
    );
    assert_eq!(again.changes(), "");
    let after = maps.get("settings").await.expect("get");
    assert_eq!(
        after.metadata.resource_version, before.metadata.resource_version,
        "an unchanged object is not written"
    );

    let changed = rm
        .apply_all_staged(set("debug"), &opts)
        .await
        .expect("change");
    assert_eq!(
        changed.changes(),
        format!("ConfigMap/{ns}/settings configured")
    );
    let now = maps.get("settings").await.expect("get");
    assert_eq!(
        now.data
            .unwrap_or_default()
            .get("level")
            .map(String::as_str),
        Some("debug")
    );
}

#[tokio::test]
async fn immutable_fields_fail_without_force_and_recreate_with_it() {
    let Some((rm, cp)) = manager().await else {
        return;
    };
    let ns = cp.namespace("apply-immutable");
    let opts = ApplyOptions {
        wait_interval: Duration::from_millis(200),
        ..ApplyOptions::default()
    };
    let created = rm
        .apply_all_staged(vec![job(&ns, "migrate", "busybox:1", json!({}))], &opts)
        .await
        .expect("create");
    assert_eq!(lines(&created), [format!("Job/{ns}/migrate created")]);
    let jobs: Api<DynamicObject> = Api::namespaced_with(
        rm.client().clone(),
        &ns,
        &ApiResource::erase::<k8s_openapi::api::batch::v1::Job>(&()),
    );
    let uid = |o: &DynamicObject| o.metadata.uid.clone().expect("uid");
    let first_uid = uid(&jobs.get("migrate").await.expect("get"));

    // The pod template of a Job is immutable: Flux's dry-run error.
    let failure = rm
        .apply_all_staged(vec![job(&ns, "migrate", "busybox:2", json!({}))], &opts)
        .await
        .expect_err("immutable");
    let text = failure.to_string();
    assert!(
        text.starts_with(&format!("Job/{ns}/migrate dry-run failed (Invalid): ")),
        "{text}"
    );
    assert!(text.contains("field is immutable"), "{text}");
    assert!(failure.change_set.entries.is_empty());
    assert_eq!(uid(&jobs.get("migrate").await.expect("get")), first_uid);

    // spec.force: deleted, recreated, reported as created.
    let forced = ApplyOptions {
        force: true,
        ..opts.clone()
    };
    let recreated = rm
        .apply_all_staged(vec![job(&ns, "migrate", "busybox:2", json!({}))], &forced)
        .await
        .expect("forced");
    assert_eq!(lines(&recreated), [format!("Job/{ns}/migrate created")]);
    let second_uid = uid(&jobs.get("migrate").await.expect("get"));
    assert_ne!(second_uid, first_uid);

    // The object's own `force: enabled` does the same without spec.force.
    let annotated = job(
        &ns,
        "migrate",
        "busybox:3",
        json!({"kustomize.toolkit.fluxcd.io/force": "Enabled"}),
    );
    let again = rm
        .apply_all_staged(vec![annotated], &opts)
        .await
        .expect("force annotation");
    assert_eq!(lines(&again), [format!("Job/{ns}/migrate created")]);
    assert_ne!(uid(&jobs.get("migrate").await.expect("get")), second_uid);
}

#[tokio::test]
async fn ssa_ignore_and_if_not_present_are_honoured() {
    let Some((rm, cp)) = manager().await else {
        return;
    };
    let ns = cp.namespace("apply-ssa");
    let annotated = |name: &str, value: &str, data: &str| {
        let mut cm = config_map(&ns, name, json!({"k": data}));
        cm["metadata"]["annotations"] = json!({"kustomize.toolkit.fluxcd.io/ssa": value});
        cm
    };
    let opts = ApplyOptions::default();
    let first = rm
        .apply_all_staged(
            vec![
                annotated("seed", "IfNotPresent", "v1"),
                annotated("ignored", "Ignore", "v1"),
                config_map(&ns, "plain", json!({"k": "v1"})),
            ],
            &opts,
        )
        .await
        .expect("apply");
    assert_eq!(
        lines(&first),
        [
            format!("ConfigMap/{ns}/ignored skipped"),
            format!("ConfigMap/{ns}/plain created"),
            format!("ConfigMap/{ns}/seed created"),
        ]
    );
    let maps = config_maps(&rm, &ns).await;
    assert!(maps.get_opt("ignored").await.expect("get").is_none());

    // IfNotPresent: created once, never patched again.
    let second = rm
        .apply_all_staged(vec![annotated("seed", "IfNotPresent", "v2")], &opts)
        .await
        .expect("apply");
    assert_eq!(lines(&second), [format!("ConfigMap/{ns}/seed skipped")]);
    let seed = maps.get("seed").await.expect("get");
    assert_eq!(seed.data.unwrap_or_default()["k"], "v1");

    // Ignore on the live object (a user's edit) stops the apply too.
    let ignore =
        json!({"metadata": {"annotations": {"kustomize.toolkit.fluxcd.io/ssa": "Ignore"}}});
    maps.patch("plain", &PatchParams::default(), &Patch::Merge(&ignore))
        .await
        .expect("annotate");
    let third = rm
        .apply_all_staged(vec![config_map(&ns, "plain", json!({"k": "v2"}))], &opts)
        .await
        .expect("apply");
    assert_eq!(lines(&third), [format!("ConfigMap/{ns}/plain skipped")]);
    assert_eq!(
        maps.get("plain")
            .await
            .expect("get")
            .data
            .unwrap_or_default()["k"],
        "v1"
    );
}

#[tokio::test]
async fn a_crd_and_its_custom_resource_apply_in_one_set() {
    let Some((rm, cp)) = manager().await else {
        return;
    };
    let group = format!("{}.example.com", cp.unique_name("gadgets"));
    let ns = cp.unique_name("apply-crd");
    let crd_json = owned(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("gadgets.{group}")},
        "spec": {"group": group, "scope": "Namespaced",
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget", "listKind": "GadgetList"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}}}}]}
    }));
    let gadget = owned(
        json!({"apiVersion": format!("{group}/v1"), "kind": "Gadget",
        "metadata": {"name": "g1", "namespace": ns}, "spec": {"size": 3}}),
    );
    let namespace =
        owned(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}));
    let opts = ApplyOptions {
        wait_interval: Duration::from_millis(200),
        ..ApplyOptions::default()
    };
    let cs = rm
        .apply_all_staged(vec![gadget.clone(), namespace, crd_json.clone()], &opts)
        .await
        .expect("apply");
    assert_eq!(
        lines(&cs),
        [
            format!("CustomResourceDefinition/gadgets.{group} created"),
            format!("Namespace/{ns} created"),
            format!("Gadget/{ns}/g1 created"),
        ]
    );
    assert_eq!(
        cs.to_inventory().entries[2].id,
        format!("{ns}_g1_{group}_Gadget")
    );

    // A custom resource whose CRD is not there: Flux's dry-run message.
    let mut stray = gadget;
    stray["apiVersion"] = "nothing.example.com/v1".into();
    let err = rm
        .apply_all_staged(vec![stray.clone()], &opts)
        .await
        .expect_err("unknown kind");
    assert_eq!(
        err.to_string(),
        format!(
            "Gadget/{ns}/g1 dry-run failed: no matches for kind \"Gadget\" in version \"nothing.example.com/v1\""
        )
    );

    // A kind that discovery serves a moment later (a CRD is Established
    // before its group is served): looked up again, not failed at once.
    let late = format!("{}.example.com", cp.unique_name("late"));
    let mut late_crd = crd_json.clone();
    late_crd["metadata"]["name"] = format!("gadgets.{late}").into();
    late_crd["spec"]["group"] = late.clone().into();
    let mut late_gadget = stray.clone();
    late_gadget["apiVersion"] = format!("{late}/v1").into();
    let creator = ResourceManager::new(rm.client().clone());
    let late_opts = ApplyOptions::default();
    let (created, applied) = tokio::join!(
        async {
            tokio::time::sleep(Duration::from_millis(600)).await;
            creator.apply_all_staged(vec![late_crd], &late_opts).await
        },
        rm.apply_all_staged(vec![late_gadget], &opts)
    );
    created.expect("late crd");
    let cs = applied.expect("found on a later look");
    assert_eq!(lines(&cs), [format!("Gadget/{ns}/g1 created")]);
}

#[tokio::test]
async fn namespaced_objects_need_a_namespace() {
    let Some((rm, _cp)) = manager().await else {
        return;
    };
    let cm = owned(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "lost"}}));
    let err = rm
        .apply_all_staged(vec![cm], &ApplyOptions::default())
        .await
        .expect_err("no namespace");
    assert!(
        matches!(err.error, ApplyError::NamespaceNotSpecified { .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("ConfigMap/lost namespace not specified: "),
        "{err}"
    );
    let nowhere = config_map("no-such-namespace", "lost", json!({}));
    let err = rm
        .apply_all_staged(vec![nowhere], &ApplyOptions::default())
        .await
        .expect_err("no such namespace");
    assert_eq!(
        err.to_string(),
        "ConfigMap/no-such-namespace/lost not found: namespaces \"no-such-namespace\" not found"
    );
}

/// `kubectl apply` (client-side) left a key the manifest no longer has:
/// the cleanup hands its fields to us, so the key goes.
#[tokio::test]
async fn kubectl_fields_are_taken_over() {
    let Some((rm, cp)) = manager().await else {
        return;
    };
    let ns = cp.namespace("apply-kubectl");
    let maps = config_maps(&rm, &ns).await;
    let mut by_hand: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "app", "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": "{}"}},
        "data": {"keep": "1", "stray": "2"}
    }))
    .expect("configmap");
    by_hand.metadata.namespace = Some(ns.clone());
    let pp = PostParams {
        field_manager: Some("kubectl-client-side-apply".into()),
        ..PostParams::default()
    };
    maps.create(&pp, &by_hand).await.expect("create as kubectl");

    let cs = rm
        .apply_all_staged(
            vec![config_map(&ns, "app", json!({"keep": "1"}))],
            &ApplyOptions::default(),
        )
        .await
        .expect("apply");
    assert_eq!(lines(&cs), [format!("ConfigMap/{ns}/app configured")]);
    let live = maps.get("app").await.expect("get");
    let data = live.data.clone().unwrap_or_default();
    assert_eq!(data.keys().collect::<Vec<_>>(), ["keep"], "{data:?}");
    let annotations = live.metadata.annotations.clone().unwrap_or_default();
    assert!(
        !annotations.contains_key("kubectl.kubernetes.io/last-applied-configuration"),
        "{annotations:?}"
    );
    let managers: Vec<String> = live
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert_eq!(managers, ["kustomize-controller"]);
}

#[tokio::test]
async fn diff_reports_drift_and_masks_secrets() {
    let Some((rm, cp)) = manager().await else {
        return;
    };
    let ns = cp.namespace("apply-diff");
    let secret = |token: &str| {
        owned(
            json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": "creds", "namespace": ns},
            "stringData": {"token": token, "user": "flux"}}),
        )
    };
    rm.apply_all_staged(
        vec![
            secret("first-token"),
            config_map(&ns, "same", json!({"a": "b"})),
        ],
        &ApplyOptions::default(),
    )
    .await
    .expect("apply");
    let report = rm
        .diff(
            vec![
                secret("second-token"),
                config_map(&ns, "same", json!({"a": "b"})),
                config_map(&ns, "new", json!({})),
            ],
            &DiffOptions::default(),
        )
        .await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(report.changed());
    let got: Vec<String> = report.drifts.iter().map(|d| d.entry.to_string()).collect();
    assert_eq!(
        got,
        [
            format!("ConfigMap/{ns}/new created"),
            format!("ConfigMap/{ns}/same unchanged"),
            format!("Secret/{ns}/creds configured"),
        ]
    );
    let drift = &report.drifts[2];
    let live = drift.live.as_ref().expect("live");
    let merged = drift.merged.as_ref().expect("merged");
    assert_eq!(
        live["data"],
        json!({"token": "*** (before)", "user": "***"})
    );
    assert_eq!(
        merged["data"],
        json!({"token": "*** (after)", "user": "***"})
    );
    assert!(live["metadata"]["managedFields"].is_null());
    let all = format!("{report:?}");
    for secret in [
        "first-token",
        "second-token",
        "Zmlyc3QtdG9rZW4",
        "c2Vjb25kLXRva2Vu",
    ] {
        assert!(!all.contains(secret), "{secret} in {all}");
    }
    // The same Secret again (stringData as in Git, data in the cluster).
    let same = rm
        .diff(vec![secret("first-token")], &DiffOptions::default())
        .await;
    assert_eq!(same.drifts[0].entry.action, Action::Unchanged, "{same:?}");
    let again = rm
        .apply_all_staged(vec![secret("first-token")], &ApplyOptions::default())
        .await
        .expect("re-apply");
    assert_eq!(lines(&again), [format!("Secret/{ns}/creds unchanged")]);
    // Nothing was written.
    let maps = config_maps(&rm, &ns).await;
    assert!(maps.get_opt("new").await.expect("get").is_none());
}

#[tokio::test]
async fn prune_deletes_stale_objects_and_spares_protected_ones() {
    let Some((rm, cp)) = manager().await else {
        return;
    };
    let ns = cp.unique_name("apply-prune");
    let shared = cp.unique_name("apply-shared");
    let mut kept = config_map(&ns, "kept", json!({}));
    kept["metadata"]["annotations"] = json!({"kustomize.toolkit.fluxcd.io/prune": "disabled"});
    let namespace = |name: &str| {
        owned(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}))
    };
    let opts = ApplyOptions::default();
    let old = rm
        .apply_all_staged(
            vec![
                namespace(&ns),
                namespace(&shared),
                config_map(&ns, "gone", json!({})),
                config_map(&ns, "stays", json!({})),
                config_map(&ns, "moved", json!({})),
                kept,
            ],
            &opts,
        )
        .await
        .expect("apply")
        .to_inventory();
    // Another Kustomization takes over `moved` and puts an object in `shared`.
    let maps = config_maps(&rm, &ns).await;
    let other = json!({"metadata": {"labels": {OWNER_NAME_LABEL: "infra"}}});
    maps.patch("moved", &PatchParams::default(), &Patch::Merge(&other))
        .await
        .expect("relabel");
    let mut foreign = config_map(&shared, "theirs", json!({}));
    foreign["metadata"]["labels"][OWNER_NAME_LABEL] = "infra".into();
    let foreign: ConfigMap = serde_json::from_value(foreign).expect("configmap");
    config_maps(&rm, &shared)
        .await
        .create(&PostParams::default(), &foreign)
        .await
        .expect("foreign object");

    let new = rm
        .apply_all_staged(
            vec![namespace(&ns), config_map(&ns, "stays", json!({}))],
            &opts,
        )
        .await
        .expect("apply")
        .to_inventory();
    let stale = inventory::stale(&old, &new).expect("diff");
    let del = DeleteOptions {
        owner: Some(Owner::new(KS, KS_NS)),
        ..DeleteOptions::default()
    };
    let cs = rm.delete(&stale, &del).await.expect("prune");
    assert_eq!(
        lines(&cs),
        [
            format!("ConfigMap/{ns}/moved skipped"),
            format!("ConfigMap/{ns}/kept skipped"),
            format!("ConfigMap/{ns}/gone deleted"),
            format!("Namespace/{shared} skipped"),
        ]
    );
    assert!(maps.get_opt("gone").await.expect("get").is_none());
    assert!(maps.get_opt("kept").await.expect("get").is_some());
    assert!(maps.get_opt("moved").await.expect("get").is_some());
    assert!(maps.get_opt("stays").await.expect("get").is_some());
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(rm.client().clone());
    let shared_ns = namespaces.get(&shared).await.expect("shared namespace");
    assert!(shared_ns.metadata.deletion_timestamp.is_none());

    // Once the foreign object is gone, the namespace is pruned.
    config_maps(&rm, &shared)
        .await
        .delete("theirs", &Default::default())
        .await
        .expect("delete foreign");
    let only_ns: Vec<ObjRef> = stale
        .iter()
        .filter(|o| o.meta.kind == "Namespace")
        .cloned()
        .collect();
    let cs = rm.delete(&only_ns, &del).await.expect("prune namespace");
    assert_eq!(lines(&cs), [format!("Namespace/{shared} deleted")]);
    // deletionPolicy WaitForTermination: the namespace controller empties
    // and removes it.
    let quick = WaitOptions {
        interval: Duration::from_millis(200),
        timeout: Duration::from_secs(60),
        ..WaitOptions::default()
    };
    rm.wait_for_termination(&cs, &quick)
        .await
        .expect("namespace terminated");
    assert!(namespaces.get_opt(&shared).await.expect("get").is_none());

    // Already gone: deleted, no error.
    let cs = rm.delete(&stale[..1], &del).await.expect("prune again");
    assert_eq!(cs.entries[0].action, Action::Deleted);
}

#[tokio::test]
async fn wait_follows_a_deployment_to_ready_and_times_out_with_fluxs_message() {
    let Some((rm, cp)) = manager().await else {
        return;
    };
    let ns = cp.namespace("apply-wait");
    let cs = rm
        .apply_all_staged(
            vec![deployment(&ns, "web", "nginx:1.27")],
            &ApplyOptions::default(),
        )
        .await
        .expect("apply");
    let objects = cs.objects();
    let quick = WaitOptions {
        interval: Duration::from_millis(100),
        timeout: Duration::from_millis(600),
        ..WaitOptions::default()
    };
    let err = rm
        .wait(&objects, &quick)
        .await
        .expect_err("no pods, no ready");
    assert_eq!(
        err.to_string(),
        format!("timeout waiting for: [Deployment/{ns}/web status: 'InProgress']")
    );
    let ApplyError::Wait { elapsed, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(
        health_check_failed_message(*elapsed, &err).starts_with("health check failed after "),
        "{err}"
    );

    // A missing object is NotFound until the timeout.
    let missing = [ObjRef {
        meta: ObjMetadata::new(&ns, "nope", "apps", "Deployment"),
        version: "v1".into(),
    }];
    let err = rm.wait(&missing, &quick).await.expect_err("missing");
    assert_eq!(
        err.to_string(),
        format!("timeout waiting for: [Deployment/{ns}/nope status: 'NotFound']")
    );

    // What the deployment controller and kubelet would write.
    let deployments: Api<DynamicObject> = Api::namespaced_with(
        rm.client().clone(),
        &ns,
        &ApiResource::erase::<k8s_openapi::api::apps::v1::Deployment>(&()),
    );
    let generation = deployments
        .get("web")
        .await
        .expect("get")
        .metadata
        .generation
        .expect("generation");
    let writer = deployments.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let status = json!({"status": {
            "observedGeneration": generation, "replicas": 1, "updatedReplicas": 1,
            "readyReplicas": 1, "availableReplicas": 1,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]}});
        writer
            .patch_status("web", &PatchParams::default(), &Patch::Merge(&status))
            .await
            .expect("status");
    });
    let patient = WaitOptions {
        interval: Duration::from_millis(100),
        timeout: Duration::from_secs(20),
        ..WaitOptions::default()
    };
    let took = rm.wait(&objects, &patient).await.expect("ready");
    assert!(took >= Duration::from_millis(300), "{took:?}");

    // A stalled object fails early, before the timeout.
    let stalled = json!({"status": {"conditions": [
        {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]}});
    deployments
        .patch_status("web", &PatchParams::default(), &Patch::Merge(&stalled))
        .await
        .expect("status");
    let started = tokio::time::Instant::now();
    let err = rm
        .wait(
            &objects,
            &WaitOptions {
                fail_fast: true,
                ..patient.clone()
            },
        )
        .await
        .expect_err("stalled");
    assert_eq!(
        err.to_string(),
        format!("failed early due to stalled resources: [Deployment/{ns}/web status: 'Failed']")
    );
    assert!(started.elapsed() < Duration::from_secs(10));

    // A custom rule (healthCheckExprs) judges the objects it covers in
    // place of kstatus: the stalled Deployment is Current by it, and an
    // object it does not cover keeps kstatus's verdict.
    let custom: ferroflux_kube::apply::CustomHealth = std::sync::Arc::new(|obj: &Value| {
        (obj["metadata"]["name"] == "web").then(|| ferroflux_kube::health::Health {
            status: ferroflux_kube::health::Status::Current,
            message: "by expression".into(),
        })
    });
    let by_rule = WaitOptions {
        fail_fast: true,
        custom: Some(custom),
        ..patient.clone()
    };
    rm.wait(&objects, &by_rule)
        .await
        .expect("current by the rule");
    let err = rm
        .wait(
            &missing,
            &WaitOptions {
                timeout: Duration::from_millis(300),
                ..by_rule
            },
        )
        .await
        .expect_err("not covered");
    assert!(err.to_string().contains("'NotFound'"), "{err}");
}

/// pkg/ssa's partial-failure case: an immutable `roleRef` fails the last
/// stage; the change set holds the stages before it. And a cluster-scoped
/// object given a namespace (as kustomize's namespace transformer does)
/// is reported without one.
#[tokio::test]
async fn a_failed_stage_returns_the_earlier_stages() {
    let Some((rm, cp)) = manager().await else {
        return;
    };
    let id = cp.unique_name("apply-staged");
    let set = |role: &str| {
        vec![
            owned(
                json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                "metadata": {"name": id},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": id}]}),
            ),
            owned(
                json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                "metadata": {"name": id}, "provisioner": "example.com/none"}),
            ),
            owned(
                json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                "metadata": {"name": format!("{id}:view"), "namespace": "injected-ns"},
                "rules": [{"apiGroups": ["apps"], "resources": ["*"], "verbs": ["get"]}]}),
            ),
            owned(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": id}})),
        ]
    };
    let opts = ApplyOptions {
        wait_interval: Duration::from_millis(200),
        ..ApplyOptions::default()
    };
    let cs = rm
        .apply_all_staged(set(&format!("{id}:view")), &opts)
        .await
        .expect("apply");
    assert_eq!(
        lines(&cs),
        [
            format!("Namespace/{id} created"),
            format!("ClusterRole/{id}:view created"),
            format!("StorageClass/{id} created"),
            format!("ClusterRoleBinding/{id} created"),
        ]
    );
    assert_eq!(
        cs.to_inventory().entries[1].id,
        format!("_{id}__view_rbac.authorization.k8s.io_ClusterRole")
    );

    let failure = rm
        .apply_all_staged(set("other"), &opts)
        .await
        .expect_err("roleRef is immutable");
    assert!(
        failure.to_string().starts_with(&format!(
            "ClusterRoleBinding/{id} dry-run failed (Invalid): "
        )),
        "{failure}"
    );
    assert_eq!(
        lines(&failure.change_set),
        [
            format!("Namespace/{id} unchanged"),
            format!("ClusterRole/{id}:view unchanged"),
            format!("StorageClass/{id} unchanged"),
        ]
    );
}

/// `spec.ignore`: replicas written by another Apply manager (an HPA-like
/// controller) are no drift, survive a real change of the Deployment,
/// and are reverted only without the rule.
#[tokio::test]
async fn ignored_fields_are_no_drift_and_keep_the_other_managers_value() {
    let Some((rm, cp)) = manager().await else {
        return;
    };
    let ns = cp.namespace("apply-ignore");
    let plain = ApplyOptions::default();
    rm.apply_all_staged(vec![deployment(&ns, "web", "nginx:1.27")], &plain)
        .await
        .expect("apply");
    let deployments: Api<DynamicObject> = Api::namespaced_with(
        rm.client().clone(),
        &ns,
        &ApiResource::erase::<k8s_openapi::api::apps::v1::Deployment>(&()),
    );
    let scale = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": ns}, "spec": {"replicas": 3}});
    deployments
        .patch(
            "web",
            &PatchParams::apply("autoscaler").force(),
            &Patch::Apply(&scale),
        )
        .await
        .expect("scale");
    let replicas =
        || async { deployments.get("web").await.expect("get").data["spec"]["replicas"].clone() };
    let ignoring = ApplyOptions {
        drift_ignore_rules: vec![IgnoreRule {
            paths: vec!["/spec/replicas".into()],
            target: Some(IgnoreTarget {
                kind: "Deployment".into(),
                ..IgnoreTarget::default()
            }),
        }],
        ..ApplyOptions::default()
    };
    let cs = rm
        .apply_all_staged(vec![deployment(&ns, "web", "nginx:1.27")], &ignoring)
        .await
        .expect("apply");
    assert_eq!(lines(&cs), [format!("Deployment/{ns}/web unchanged")]);
    let report = rm
        .diff(
            vec![deployment(&ns, "web", "nginx:1.27")],
            &DiffOptions {
                drift_ignore_rules: ignoring.drift_ignore_rules.clone(),
                ..DiffOptions::default()
            },
        )
        .await;
    assert_eq!(report.drifts[0].entry.action, Action::Unchanged);
    assert_eq!(replicas().await, 3);

    let cs = rm
        .apply_all_staged(vec![deployment(&ns, "web", "nginx:1.28")], &ignoring)
        .await
        .expect("apply");
    assert_eq!(lines(&cs), [format!("Deployment/{ns}/web configured")]);
    assert_eq!(replicas().await, 3, "the autoscaler's replicas stay");

    let cs = rm
        .apply_all_staged(vec![deployment(&ns, "web", "nginx:1.28")], &plain)
        .await
        .expect("apply");
    assert_eq!(lines(&cs), [format!("Deployment/{ns}/web configured")]);
    assert_eq!(replicas().await, 1, "without the rule, Git wins");
}

/// An object held by a finalizer outlives the termination wait: Flux's
/// message names it.
#[tokio::test]
async fn termination_wait_times_out_on_a_finalizer() {
    let Some((rm, cp)) = manager().await else {
        return;
    };
    let ns = cp.namespace("apply-finalizer");
    let mut held = config_map(&ns, "held", json!({}));
    held["metadata"]["finalizers"] = json!(["example.com/hold"]);
    let applied = rm
        .apply_all_staged(vec![held], &ApplyOptions::default())
        .await
        .expect("apply");
    let del = DeleteOptions {
        owner: Some(Owner::new(KS, KS_NS)),
        ..DeleteOptions::default()
    };
    let cs = rm.delete(&applied.objects(), &del).await.expect("delete");
    assert_eq!(lines(&cs), [format!("ConfigMap/{ns}/held deleted")]);
    let quick = WaitOptions {
        interval: Duration::from_millis(100),
        timeout: Duration::from_millis(500),
        ..WaitOptions::default()
    };
    let err = rm
        .wait_for_termination(&cs, &quick)
        .await
        .expect_err("held by its finalizer");
    assert_eq!(
        err.to_string(),
        format!("ConfigMap/{ns}/held termination timeout: context deadline exceeded")
    );
    // The health wait sees it Terminating.
    let err = rm
        .wait(&applied.objects(), &quick)
        .await
        .expect_err("terminating");
    assert_eq!(
        err.to_string(),
        format!("timeout waiting for: [ConfigMap/{ns}/held status: 'Terminating']")
    );
    let release = json!({"metadata": {"finalizers": null}});
    config_maps(&rm, &ns)
        .await
        .patch("held", &PatchParams::default(), &Patch::Merge(&release))
        .await
        .expect("release");
    rm.wait_for_termination(&cs, &quick).await.expect("gone");
}

/// A CRD replaced by one of another scope: the manager (long-lived in
/// the controller) forgets the kind it had discovered after one failure.
#[tokio::test]
async fn a_kind_that_changed_scope_is_discovered_again() {
    let Some((rm, cp)) = manager().await else {
        return;
    };
    let group = format!("{}.example.com", cp.unique_name("widgets"));
    let ns = cp.namespace("apply-rescope");
    let crd = |scope: &str| {
        owned(json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": format!("widgets.{group}")},
            "spec": {"group": group, "scope": scope,
                "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}
        }))
    };
    let widget = |namespace: Option<&str>| {
        let mut w = owned(
            json!({"apiVersion": format!("{group}/v1"), "kind": "Widget",
            "metadata": {"name": "w1"}, "spec": {"size": 1}}),
        );
        if let Some(n) = namespace {
            w["metadata"]["namespace"] = n.into();
        }
        w
    };
    let opts = ApplyOptions {
        wait_interval: Duration::from_millis(200),
        ..ApplyOptions::default()
    };
    rm.apply_all_staged(vec![crd("Namespaced"), widget(Some(&ns))], &opts)
        .await
        .expect("namespaced");
    let crds: Api<DynamicObject> = Api::all_with(
        rm.client().clone(),
        &ApiResource::erase::<
            k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
        >(&()),
    );
    crds.delete(&format!("widgets.{group}"), &Default::default())
        .await
        .expect("delete crd");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while crds
        .get_opt(&format!("widgets.{group}"))
        .await
        .expect("get")
        .is_some()
    {
        assert!(tokio::time::Instant::now() < deadline, "crd not gone");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    rm.apply_all_staged(vec![crd("Cluster")], &opts)
        .await
        .expect("cluster-scoped crd");
    // The remembered kind is namespaced: one failure, then it is looked up again.
    let first = rm
        .apply_all_staged(vec![widget(None)], &opts)
        .await
        .expect_err("the kind as first discovered");
    assert!(
        matches!(first.error, ApplyError::NamespaceNotSpecified { .. }),
        "{first}"
    );
    let second = rm
        .apply_all_staged(vec![widget(None)], &opts)
        .await
        .expect("rediscovered");
    assert_eq!(lines(&second), ["Widget/w1 created"]);
}

/// `migrate_api_version`: a custom resource applied as v1 and then as v2
/// (a CRD serving both) has its managedFields rewritten to v2 first.
#[tokio::test]
async fn managed_fields_migrate_to_a_new_crd_version() {
    let Some((rm, cp)) = manager().await else {
        return;
    };
    let group = format!("{}.example.com", cp.unique_name("gizmos"));
    let ns = cp.namespace("apply-migrate");
    let version = |name: &str, storage: bool| {
        json!({"name": name, "served": true, "storage": storage,
            "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                "spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}}}})
    };
    let crd = owned(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("gizmos.{group}")},
        "spec": {"group": group, "scope": "Namespaced",
            "names": {"plural": "gizmos", "singular": "gizmo", "kind": "Gizmo", "listKind": "GizmoList"},
            "versions": [version("v1", true), version("v2", false)]}
    }));
    let gizmo = |v: &str, size: i64| {
        owned(
            json!({"apiVersion": format!("{group}/{v}"), "kind": "Gizmo",
            "metadata": {"name": "g", "namespace": ns}, "spec": {"size": size}}),
        )
    };
    let opts = ApplyOptions {
        wait_interval: Duration::from_millis(200),
        ..ApplyOptions::default()
    };
    rm.apply_all_staged(vec![crd, gizmo("v1", 1)], &opts)
        .await
        .expect("apply v1");
    let migrating = ApplyOptions {
        migrate_api_version: true,
        ..opts.clone()
    };
    let cs = rm
        .apply_all_staged(vec![gizmo("v2", 1)], &migrating)
        .await
        .expect("apply v2");
    assert_eq!(lines(&cs), [format!("Gizmo/{ns}/g configured")]);
    let ar = ApiResource {
        group: group.clone(),
        version: "v2".into(),
        api_version: format!("{group}/v2"),
        kind: "Gizmo".into(),
        plural: "gizmos".into(),
    };
    let gizmos: Api<DynamicObject> = Api::namespaced_with(rm.client().clone(), &ns, &ar);
    let live = gizmos.get("g").await.expect("get");
    let versions: Vec<String> = live
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.api_version)
        .collect();
    assert!(
        !versions.is_empty() && versions.iter().all(|v| *v == format!("{group}/v2")),
        "{versions:?}"
    );
    let again = rm
        .apply_all_staged(vec![gizmo("v2", 1)], &migrating)
        .await
        .expect("again");
    assert_eq!(lines(&again), [format!("Gizmo/{ns}/g unchanged")]);
}

/// The first look at an object the apply just wrote is the apiserver's
/// answer: a ConfigMap written Current is not read again (deleted behind
/// the wait's back, it still counts as Current), while a Deployment
/// written InProgress is read again until the time is up.
#[tokio::test]
async fn wait_judges_written_objects_by_their_answers_first() {
    let Some((rm, cp)) = manager().await else {
        return;
    };
    let ns = cp.namespace("apply-seen");
    let (cs, written) = rm
        .apply_all_staged_written(
            vec![
                config_map(&ns, "settings", json!({"a": "1"})),
                deployment(&ns, "web", "nginx:1.27"),
            ],
            &ApplyOptions::default(),
        )
        .await
        .expect("apply");
    assert_eq!(written.len(), 2, "{written:?}");
    config_maps(&rm, &ns)
        .await
        .delete("settings", &Default::default())
        .await
        .expect("delete");
    let objects = cs.objects();
    let seen = WaitOptions {
        interval: Duration::from_millis(100),
        timeout: Duration::from_millis(600),
        seen: written.clone(),
        ..WaitOptions::default()
    };
    let err = rm
        .wait(&objects, &seen)
        .await
        .expect_err("no pods, no ready");
    assert_eq!(
        err.to_string(),
        format!("timeout waiting for: [Deployment/{ns}/web status: 'InProgress']")
    );
    // Without the answers, the deleted ConfigMap is read and missing.
    let unseen = WaitOptions {
        seen: Vec::new(),
        ..seen
    };
    let err = rm.wait(&objects, &unseen).await.expect_err("gone");
    assert!(
        err.to_string()
            .contains(&format!("ConfigMap/{ns}/settings status: 'NotFound'")),
        "{err}"
    );
}
