//! `ferroflux tree kustomization` against the shared real control plane:
//! a Kustomization whose inventory holds a second one, expanded in Flux's
//! layout, `--compact`, `-o json`, and a missing Kustomization.

use ferroflux_api::kustomize::Kustomization;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::diff::ff_async;
use crate::kubernetes;

async fn ks(api: &Api<Kustomization>, ns: &str, name: &str, ids: &[String]) {
    let obj: Kustomization = serde_json::from_value(json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"interval": "10m", "path": "./", "prune": true,
                 "sourceRef": {"kind": "GitRepository", "name": "flux-system"}}
    }))
    .expect("ks");
    api.create(&PostParams::default(), &obj)
        .await
        .expect("create");
    let entries: Vec<Value> = ids.iter().map(|id| json!({"id": id, "v": "v1"})).collect();
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(&json!({"status": {"inventory": {"entries": entries}}})),
    )
    .await
    .expect("status");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_level_inventory_as_fluxs_tree() {
    let Some(env) = tokio::task::spawn_blocking(kubernetes::env)
        .await
        .expect("join")
    else {
        return;
    };
    let ns = env.cp.namespace("tree");
    let kubeconfig = env.cp.kubeconfig();
    let client = kubernetes::client(env).await;
    let api: Api<Kustomization> = Api::namespaced(client, &ns);
    ks(
        &api,
        &ns,
        "flux-system",
        &[
            "_flux-system__Namespace".to_string(),
            format!("{ns}_source-controller_apps_Deployment"),
            format!("{ns}_flux-system_kustomize.toolkit.fluxcd.io_Kustomization"),
            format!("{ns}_infrastructure_kustomize.toolkit.fluxcd.io_Kustomization"),
            format!("{ns}_flux-system_source.toolkit.fluxcd.io_GitRepository"),
        ],
    )
    .await;
    ks(
        &api,
        &ns,
        "infrastructure",
        &[
            "_cert-manager__Namespace".to_string(),
            "cert-manager_cert-manager_source.toolkit.fluxcd.io_HelmRepository".to_string(),
        ],
    )
    .await;
    ks(&api, &ns, "empty", &[]).await;
    let home = tempfile::tempdir().expect("tempdir");
    let args = |extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        a.extend(["-n".into(), ns.clone()]);
        a.extend(["--kubeconfig".into(), kubeconfig.display().to_string()]);
        a
    };

    let out = ff_async(home.path(), args(&["tree", "kustomization", "flux-system"])).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        format!(
            "Kustomization/{ns}/flux-system\n\
             ├── Namespace/flux-system\n\
             ├── Deployment/{ns}/source-controller\n\
             ├── Kustomization/{ns}/infrastructure\n\
             │   ├── Namespace/cert-manager\n\
             │   └── HelmRepository/cert-manager/cert-manager\n\
             └── GitRepository/{ns}/flux-system\n\n"
        )
    );

    let out = ff_async(
        home.path(),
        args(&["tree", "ks", "flux-system", "--compact"]),
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        format!(
            "Kustomization/{ns}/flux-system\n\
             ├── Kustomization/{ns}/infrastructure\n\
             │   └── HelmRepository/cert-manager/cert-manager\n\
             └── GitRepository/{ns}/flux-system\n\n"
        )
    );

    let out = ff_async(
        home.path(),
        args(&["tree", "ks", "flux-system", "-o", "json"]),
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(v["resource"]["Name"], "flux-system");
    assert_eq!(v["resources"][2]["resource"]["Name"], "infrastructure");
    assert_eq!(
        v["resources"][2]["resources"][1]["resource"]["Kind"],
        "HelmRepository"
    );

    let out = ff_async(home.path(), args(&["tree", "ks", "empty"])).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, format!("Kustomization/{ns}/empty\n\n"));

    let out = ff_async(home.path(), args(&["tree", "ks", "nope"])).await;
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        format!("✗ Kustomization nope not found in {ns} namespace\n")
    );
}
