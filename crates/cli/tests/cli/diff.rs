//! `ferroflux diff kustomization` against the shared real control plane:
//! created, drifted (with the report), unchanged, skipped and deleted
//! lines, the Secret values masked, the exit codes, and Flux's argument
//! errors.

use std::path::Path;
use std::process::Command;

use ferroflux_api::kustomize::Kustomization;
use ferroflux_kube::apply::{ApplyOptions, ResourceManager};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::kubernetes;

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

fn ff(home: &Path, args: &[String]) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_ferroflux"))
        .args(args)
        .env("HOME", home)
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .output()
        .expect("run ferroflux");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub async fn ff_async(home: &Path, args: Vec<String>) -> Out {
    let home = home.to_path_buf();
    tokio::task::spawn_blocking(move || ff(&home, &args))
        .await
        .expect("join")
}

#[test]
fn missing_or_bad_path_is_exit_2_with_fluxs_message() {
    let home = tempfile::tempdir().expect("tempdir");
    let out = ff(home.path(), &["diff".into(), "ks".into(), "apps".into()]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.stderr, "✗ invalid resource path \"\"\n");
    assert_eq!(out.stdout, "");
    let missing = home.path().join("nowhere").display().to_string();
    let out = ff(
        home.path(),
        &[
            "diff".into(),
            "kustomization".into(),
            "apps".into(),
            "--path".into(),
            missing.clone(),
        ],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.stderr, format!("✗ invalid resource path {missing:?}\n"));
}

const PASSWORD_NEW: &str = "s3cr3t-new-plain";
const PASSWORD_OLD: &str = "s3cr3t-old-plain";

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn write_tree(dir: &Path, ns: &str) {
    std::fs::write(
        dir.join("kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- objects.yaml\n",
    )
    .expect("write");
    let objects = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: same\ndata:\n  a: \"1\"\n---\n\
         apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: drift\ndata:\n  port: \"9898\"\n---\n\
         apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fresh\ndata:\n  b: \"2\"\n---\n\
         apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: off\n  annotations:\n    \
         kustomize.toolkit.fluxcd.io/reconcile: disabled\ndata:\n  c: \"3\"\n---\n\
         apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\ntype: Opaque\ndata:\n  password: {}\n",
        b64(PASSWORD_NEW)
    );
    std::fs::write(dir.join("objects.yaml"), objects).expect("write");
    std::fs::write(
        dir.join("ks.yaml"),
        format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  \
             name: apps\n  namespace: {ns}\nspec:\n  interval: 10m\n  path: ./\n  prune: true\n  \
             targetNamespace: {ns}\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"
        ),
    )
    .expect("write");
}

fn parse(yaml: &str) -> Vec<Value> {
    ferroflux_api::yaml::parse_stream(yaml)
        .expect("yaml")
        .into_iter()
        .filter_map(|d| d.node.map(|n| n.to_json()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn created_drifted_unchanged_skipped_deleted_and_masked() {
    let Some(env) = tokio::task::spawn_blocking(kubernetes::env)
        .await
        .expect("join")
    else {
        return;
    };
    let ns = env.cp.namespace("diff");
    let kubeconfig = env.cp.kubeconfig();
    let client = kubernetes::client(env).await;
    let home = tempfile::tempdir().expect("tempdir");
    let tree = home.path().join("apps");
    std::fs::create_dir(&tree).expect("mkdir");
    write_tree(&tree, &ns);
    let ks_file = tree.join("ks.yaml").display().to_string();
    let args = |extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = ["diff", "kustomization", "apps", "--path"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        a.push(tree.display().to_string());
        a.extend(["--kustomization-file".into(), ks_file.clone()]);
        a.extend(["-n".into(), ns.clone()]);
        a.extend(["--kubeconfig".into(), kubeconfig.display().to_string()]);
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };

    // The live state: the build applied as kustomize-controller, then
    // `drift` and the Secret changed, `fresh` never there.
    let build = ff_async(
        home.path(),
        vec![
            "build".into(),
            "ks".into(),
            "apps".into(),
            "--path".into(),
            tree.display().to_string(),
            "--kustomization-file".into(),
            ks_file.clone(),
            "-n".into(),
            ns.clone(),
        ],
    )
    .await;
    assert_eq!(build.code, 0, "{}", build.stderr);
    let mut live: Vec<Value> = parse(&build.stdout)
        .into_iter()
        .filter(|o| o["metadata"]["name"] != "fresh")
        .collect();
    for o in &mut live {
        if o["metadata"]["name"] == "drift" {
            o["data"]["port"] = json!("9899");
        }
        if o["kind"] == "Secret" {
            o["data"]["password"] = json!(b64(PASSWORD_OLD));
        }
    }
    let rm = ResourceManager::new(client.clone());
    rm.apply_all_staged(live, &ApplyOptions::default())
        .await
        .expect("apply");
    // The live Kustomization, its inventory naming an object the build
    // no longer has.
    let api: Api<Kustomization> = Api::namespaced(client.clone(), &ns);
    let ks: Kustomization = serde_json::from_value(json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": "apps", "namespace": ns},
        "spec": {"interval": "10m", "path": "./", "prune": true, "targetNamespace": ns,
                 "sourceRef": {"kind": "GitRepository", "name": "flux-system"}}
    }))
    .expect("ks");
    api.create(&PostParams::default(), &ks)
        .await
        .expect("create");
    let inventory = |ids: &[&str]| {
        json!({"status": {"inventory": {"entries":
            ids.iter().map(|n| json!({"id": format!("{ns}_{n}__ConfigMap"), "v": "v1"})).collect::<Vec<_>>()}}})
    };
    api.patch_status(
        "apps",
        &PatchParams::default(),
        &Patch::Merge(&inventory(&["same", "drift", "gone"])),
    )
    .await
    .expect("status");

    let out = ff_async(home.path(), args(&["--progress-bar=false"])).await;
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        out.stderr,
        "✗ identified at least one change, exiting with non-zero exit code\n"
    );
    let mut lines: Vec<&str> = out.stdout.lines().filter(|l| l.starts_with('►')).collect();
    lines.sort_unstable();
    let want = [
        format!("► ConfigMap/{ns}/drift drifted"),
        format!("► ConfigMap/{ns}/fresh created"),
        format!("► ConfigMap/{ns}/gone deleted"),
        format!("► ConfigMap/{ns}/off skipped"),
        format!("► Secret/{ns}/creds drifted"),
    ];
    assert_eq!(lines, want.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        out.stdout.contains(&format!(
            "► ConfigMap/{ns}/drift drifted\n\ndata.port\n± value change\n- 9899\n+ 9898\n\n"
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!(
            "► Secret/{ns}/creds drifted\n\ndata.password\n± value change\n- *** (before)\n+ *** (after)\n\n"
        )),
        "{}",
        out.stdout
    );
    let all = format!("{}{}", out.stdout, out.stderr);
    for secret in [PASSWORD_NEW, PASSWORD_OLD] {
        assert!(!all.contains(secret), "plain value in the output: {all}");
        assert!(
            !all.contains(&b64(secret)),
            "encoded value in the output: {all}"
        );
    }
    // Unchanged objects print nothing.
    assert!(!out.stdout.contains("/same"), "{}", out.stdout);

    // After the build is applied and the inventory matches: nothing to
    // report but the skipped object, exit 0.
    let objects = parse(&build.stdout);
    rm.apply_all_staged(objects, &ApplyOptions::default())
        .await
        .expect("apply");
    api.patch_status(
        "apps",
        &PatchParams::default(),
        &Patch::Merge(&inventory(&["same", "drift", "fresh"])),
    )
    .await
    .expect("status");
    let out = ff_async(home.path(), args(&[])).await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(out.stdout, format!("► ConfigMap/{ns}/off skipped\n"));
    assert_eq!(out.stderr, "");

    // No file and no live Kustomization of that name: Flux's error, exit 2.
    let out = ff_async(
        home.path(),
        vec![
            "diff".into(),
            "ks".into(),
            "nope".into(),
            "--path".into(),
            tree.display().to_string(),
            "-n".into(),
            ns.clone(),
            "--kubeconfig".into(),
            kubeconfig.display().to_string(),
        ],
    )
    .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "✗ failed to get kustomization object: kustomizations.kustomize.toolkit.fluxcd.io \"nope\" not found\n"
    );
}
