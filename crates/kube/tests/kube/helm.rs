//! `ferroflux_kube::helm` against the real kube-apiserver and the real
//! helm v4 (`$FERROFLUX_HELM`): a release ours installs is listed, shown
//! and rolled back by `helm`; one `helm install` made is upgraded by ours;
//! hooks run by weight and name with their delete policies; a rejected
//! upgrade stores `failed`; MaxHistory prunes; uninstall removes objects
//! and records. There is no kubelet: a helper thread plays it, marking
//! every Pod of the test namespace `Succeeded` through the status
//! subresource (hook and test Pods are waited for until then).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ferroflux_helm::action::{
    Common, CrdPolicy, Install, Rollback, ServerSide, Test, Uninstall, Upgrade, WaitStrategy,
};
use ferroflux_helm::chart::{self, Chart, File};
use ferroflux_helm::release::Status;
use ferroflux_kube::helm::Helm;
use ferroflux_testkit::control_plane::ControlPlane;
use ferroflux_testkit::helm::Helm as HelmBin;
use serde_json::{Map, Value, json};

use crate::cluster::{client, control_plane};

const FILES: &[(&str, &str)] = &[
    (
        "Chart.yaml",
        "apiVersion: v2\nname: t-actions\nversion: 0.1.0\nappVersion: \"1.0\"\n",
    ),
    (
        "values.yaml",
        "data:\n  a: \"1\"\nextra: true\nbad: false\nfail: false\nlookup: false\nfailhook: \"\"\n",
    ),
    (
        "templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-main\ndata:\n{{- toYaml .Values.data | nindent 2 }}\n",
    ),
    (
        "templates/extra.yaml",
        "{{- if .Values.extra }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-extra\ndata:\n  x: z\n{{- end }}\n",
    ),
    (
        "templates/bad.yaml",
        "{{- if .Values.bad }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-bad\ndata:\n  \"not a key!\": y\n{{- end }}\n{{- if .Values.fail }}{{ fail \"values say fail\" }}{{ end }}\n",
    ),
    (
        "templates/hooks.yaml",
        "{{- range $n, $w := dict \"pre-a\" \"0\" \"pre-b\" \"0\" \"pre-z\" \"-5\" }}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ $.Release.Name }}-{{ $n }}\n  annotations:\n    helm.sh/hook: pre-install,pre-upgrade\n    helm.sh/hook-weight: {{ $w | quote }}\n{{- if eq $n \"pre-z\" }}\n    helm.sh/hook-delete-policy: hook-succeeded\n{{- end }}\ndata:\n  n: {{ $n }}\n{{- end }}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}-post\n  annotations:\n    helm.sh/hook: post-install\nspec:\n  restartPolicy: Never\n  containers:\n  - name: c\n    image: busybox\n",
    ),
    (
        "templates/tests/ping.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}-ping\n  annotations:\n    helm.sh/hook: test\nspec:\n  restartPolicy: Never\n  volumes:\n  - name: s\n    secret:\n      secretName: none\n      defaultMode: 0644\n  containers:\n  - name: c\n    image: busybox\n",
    ),
    (
        "templates/lookup.yaml",
        "{{- if .Values.lookup }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-lookup\ndata:\n  ns: {{ (lookup \"v1\" \"Namespace\" \"\" .Release.Namespace).metadata.name | quote }}\n  main: {{ (lookup \"v1\" \"ConfigMap\" .Release.Namespace (printf \"%s-main\" .Release.Name)).data.a | quote }}\n  missing: {{ lookup \"v1\" \"ConfigMap\" .Release.Namespace \"nope\" | toJson | quote }}\n{{- end }}\n",
    ),
    (
        "templates/failhook.yaml",
        "{{- if .Values.failhook }}\napiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}-failing\n  annotations:\n    helm.sh/hook: {{ .Values.failhook }}\n    helm.sh/hook-weight: \"-10\"\n    helm.sh/hook-delete-policy: hook-failed\nspec:\n  restartPolicy: Never\n  containers:\n  - name: c\n    image: busybox\n{{- end }}\n",
    ),
    (
        "templates/kept.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-kept\n  annotations:\n    helm.sh/resource-policy: keep\ndata:\n  k: v\n",
    ),
    ("templates/NOTES.txt", "{{ .Release.Name }} is up\n"),
];

fn test_chart() -> Chart {
    chart::load_files(
        FILES
            .iter()
            .map(|(n, d)| File {
                name: (*n).to_string(),
                data: d.as_bytes().to_vec(),
            })
            .collect(),
    )
    .expect("chart loads")
}

fn write_chart(dir: &Path) {
    for (n, d) in FILES {
        let p = dir.join(n);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, d).expect("write");
    }
}

fn values(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("object")
}

fn common(name: &str, ns: &str) -> Common {
    Common {
        release_name: name.to_string(),
        namespace: ns.to_string(),
        timeout: Duration::from_secs(60),
        ..Common::default()
    }
}

fn install(name: &str, ns: &str, v: Value) -> Install {
    Install {
        common: common(name, ns),
        chart: test_chart(),
        values: values(v),
        crds: CrdPolicy::Create,
        create_namespace: false,
        skip_schema_validation: false,
        disable_openapi_validation: false,
        replace: false,
        name_free: false,
        server_side: true,
        force_conflicts: true,
        take_ownership: false,
        description: None,
        labels: Default::default(),
        post_render: None,
    }
}

fn upgrade(name: &str, ns: &str, v: Value) -> Upgrade {
    Upgrade {
        common: common(name, ns),
        chart: test_chart(),
        values: values(v),
        reset_values: false,
        reuse_values: false,
        max_history: 0,
        crds: CrdPolicy::Skip,
        skip_schema_validation: false,
        disable_openapi_validation: false,
        force_replace: false,
        cleanup_on_fail: false,
        server_side: ServerSide::Auto,
        force_conflicts: true,
        take_ownership: false,
        description: None,
        labels: Default::default(),
        post_render: None,
    }
}

/// Plays the kubelet: every Pod of `ns` is set `Succeeded` (those named
/// `*-failing`: `Failed`), until dropped.
struct Kubelet(Arc<AtomicBool>);

impl Kubelet {
    fn start(cp: &'static ControlPlane, ns: &str) -> Kubelet {
        // No service-account controller here: Pods need the default one.
        let (code, text) = cp
            .request(
                "POST",
                &format!("/api/v1/namespaces/{ns}/serviceaccounts"),
                Some(&json!({"apiVersion": "v1", "kind": "ServiceAccount",
                    "metadata": {"name": "default"}})),
            )
            .expect("create service account");
        assert!(code == 201 || code == 409, "{text}");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let ns = ns.to_string();
        std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                let (_, text) = cp
                    .request("GET", &format!("/api/v1/namespaces/{ns}/pods"), None)
                    .unwrap_or_default();
                let list: Value = serde_json::from_str(&text).unwrap_or_default();
                for pod in list["items"].as_array().into_iter().flatten() {
                    let mut pod = pod.clone();
                    let name = pod["metadata"]["name"].as_str().unwrap_or_default();
                    let phase = if name.ends_with("-failing") {
                        "Failed"
                    } else {
                        "Succeeded"
                    };
                    if pod["status"]["phase"] == phase {
                        continue;
                    }
                    pod["status"]["phase"] = phase.into();
                    let name = pod["metadata"]["name"].as_str().unwrap_or_default();
                    let _ = cp.request(
                        "PUT",
                        &format!("/api/v1/namespaces/{ns}/pods/{name}/status"),
                        Some(&pod),
                    );
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        Kubelet(stop)
    }
}

impl Drop for Kubelet {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

fn helm(bin: &HelmBin, cp: &ControlPlane, args: &[&str]) -> String {
    let out = bin
        .command()
        .args(args)
        .env("KUBECONFIG", cp.kubeconfig())
        .output()
        .expect("run helm");
    assert!(
        out.status.success(),
        "helm {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn helm_json(bin: &HelmBin, cp: &ControlPlane, args: &[&str]) -> Value {
    serde_json::from_str(&helm(bin, cp, args)).expect("helm json")
}

/// `(revision, status, description)` of `helm history`.
fn history(bin: &HelmBin, cp: &ControlPlane, name: &str, ns: &str) -> Vec<(i64, String, String)> {
    let h = helm_json(bin, cp, &["history", name, "-n", ns, "-o", "json"]);
    h.as_array()
        .expect("history list")
        .iter()
        .map(|e| {
            (
                e["revision"].as_i64().expect("revision"),
                e["status"].as_str().unwrap_or_default().to_string(),
                e["description"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn get(cp: &ControlPlane, path: &str) -> Option<Value> {
    let (code, text) = cp.request("GET", path, None).expect("get");
    (code == 200).then(|| serde_json::from_str(&text).expect("json"))
}

fn config_map(cp: &ControlPlane, ns: &str, name: &str) -> Option<Value> {
    get(cp, &format!("/api/v1/namespaces/{ns}/configmaps/{name}"))
}

fn release_secrets(cp: &ControlPlane, ns: &str) -> Vec<String> {
    let list = get(
        cp,
        &format!("/api/v1/namespaces/{ns}/secrets?labelSelector=owner%3Dhelm"),
    )
    .expect("list");
    let mut names: Vec<String> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            s["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    names.sort();
    names
}

fn started(record: &ferroflux_helm::action::Record, hook: &str) -> String {
    record.json["hooks"]
        .as_array()
        .expect("hooks")
        .iter()
        .find(|h| h["name"] == hook)
        .and_then(|h| h["last_run"]["started_at"].as_str())
        .unwrap_or_default()
        .to_string()
}

fn phase(record: &ferroflux_helm::action::Record, hook: &str) -> String {
    record.json["hooks"]
        .as_array()
        .expect("hooks")
        .iter()
        .find(|h| h["name"] == hook)
        .and_then(|h| h["last_run"]["phase"].as_str())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ours_installs_upgrades_fails_rolls_back_tests_and_uninstalls_as_helm_reads_it() {
    let Some(bin) = HelmBin::find() else { return };
    let Some(cp) = control_plane() else { return };
    let ns = cp.namespace("helm-act");
    let _kubelet = Kubelet::start(cp, &ns);
    let h = Helm::new(client(cp).await, &ns);

    // Install: hooks by weight then name, the post-install Pod waited for.
    let r1 = h
        .install(install("web", &ns, json!({})))
        .await
        .expect("install");
    assert_eq!(r1.version, 1);
    assert_eq!(r1.status, Some(Status::Deployed));
    assert_eq!(r1.json["info"]["description"], "Install complete");
    let (z, a, b) = (
        started(&r1, "web-pre-z"),
        started(&r1, "web-pre-a"),
        started(&r1, "web-pre-b"),
    );
    assert!(!z.is_empty() && z < a && a < b, "{z} {a} {b}");
    assert_eq!(phase(&r1, "web-post"), "Succeeded");
    assert!(
        config_map(cp, &ns, "web-pre-z").is_none(),
        "hook-succeeded deletes"
    );
    assert!(
        config_map(cp, &ns, "web-pre-a").is_some(),
        "before-hook-creation keeps"
    );
    let main = config_map(cp, &ns, "web-main").expect("applied");
    assert_eq!(main["data"]["a"], "1");
    assert_eq!(
        main["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "Helm"
    );
    assert_eq!(
        main["metadata"]["annotations"]["meta.helm.sh/release-name"],
        "web"
    );
    assert!(
        !r1.manifest.contains("managed-by"),
        "ownership metadata is not stored"
    );
    let list = helm_json(&bin, cp, &["list", "-n", &ns, "-o", "json"]);
    assert_eq!(list[0]["name"], "web", "{list}");
    assert_eq!(list[0]["status"], "deployed");
    assert_eq!(list[0]["chart"], "t-actions-0.1.0");
    assert_eq!(list[0]["revision"], "1");
    let manifest = helm(&bin, cp, &["get", "manifest", "web", "-n", &ns]);
    assert_eq!(manifest.trim_end(), r1.manifest.trim_end());
    let dir = tempfile::tempdir().expect("tempdir");
    write_chart(dir.path());
    let chart_dir = dir.path().to_str().expect("utf-8");
    let template = helm(
        &bin,
        cp,
        &["template", "web", chart_dir, "-n", &ns, "--skip-tests"],
    );
    assert!(
        template.starts_with(r1.manifest.trim_end()),
        "helm template's manifest and ours differ:\n{template}\n---\n{}",
        r1.manifest
    );
    let notes = helm(&bin, cp, &["get", "notes", "web", "-n", &ns]);
    assert!(notes.contains("web is up"), "{notes}");

    // Upgrade with new values: changed and removed objects.
    let r2 = h
        .upgrade(upgrade(
            "web",
            &ns,
            json!({"data": {"a": "2"}, "extra": false, "lookup": true}),
        ))
        .await
        .expect("upgrade");
    assert_eq!((r2.version, r2.status), (2, Some(Status::Deployed)));
    assert_eq!(
        config_map(cp, &ns, "web-main").expect("main")["data"]["a"],
        "2"
    );
    assert!(
        config_map(cp, &ns, "web-extra").is_none(),
        "removed by the upgrade"
    );
    // `lookup` saw the cluster: the namespace, the object as it was before
    // this upgrade, `{}` for a missing one.
    let looked = config_map(cp, &ns, "web-lookup").expect("lookup");
    assert_eq!(looked["data"]["ns"], ns.as_str());
    assert_eq!(looked["data"]["main"], "1");
    assert_eq!(looked["data"]["missing"], "{}");
    assert_eq!(
        history(&bin, cp, "web", &ns),
        vec![
            (1, "superseded".into(), "Install complete".into()),
            (2, "deployed".into(), "Upgrade complete".into()),
        ]
    );

    // A change the apiserver rejects: a failed revision, the last one kept.
    let err = h
        .upgrade(upgrade("web", &ns, json!({"bad": true})))
        .await
        .expect_err("rejected");
    let failed = err.record.as_deref().expect("a failed record");
    assert_eq!((failed.version, failed.status), (3, Some(Status::Failed)));
    let description = failed.json["info"]["description"].as_str().expect("text");
    assert!(
        description.starts_with("Upgrade \"web\" failed: ConfigMap/"),
        "{description}"
    );
    assert!(err.message.contains("web-bad"), "{}", err.message);
    let hist = history(&bin, cp, "web", &ns);
    assert_eq!(hist[2].1, "failed");
    assert_eq!(hist[1].1, "deployed", "the base stays deployed: {hist:?}");

    // Rollback (ours) to the previous deployed one.
    let r4 = h
        .rollback(Rollback {
            common: common("web", &ns),
            version: 2,
            ..Rollback::default()
        })
        .await
        .expect("rollback");
    assert_eq!((r4.version, r4.status), (4, Some(Status::Deployed)));
    assert_eq!(r4.json["info"]["description"], "Rollback to 2");
    let hist = history(&bin, cp, "web", &ns);
    assert_eq!(
        hist.iter().map(|e| e.1.as_str()).collect::<Vec<_>>(),
        vec!["superseded", "superseded", "failed", "deployed"]
    );

    // The real helm rolls our release back to revision 1; ours reads it.
    helm(
        &bin,
        cp,
        &["rollback", "web", "1", "-n", &ns, "--force-conflicts"],
    );
    let r5 = h.last("web").await.expect("last").expect("a record");
    assert_eq!((r5.version, r5.status), (5, Some(Status::Deployed)));
    assert!(
        config_map(cp, &ns, "web-extra").is_some(),
        "helm restored it"
    );
    assert_eq!(
        config_map(cp, &ns, "web-main").expect("main")["data"]["a"],
        "1"
    );

    // Test hooks: the Pod runs, its phase is recorded.
    let tested = h
        .test(Test {
            common: common("web", &ns),
            filters: Vec::new(),
        })
        .await
        .expect("test");
    assert_eq!(phase(&tested, "web-ping"), "Succeeded");
    // `defaultMode: 0644` read as Kubernetes reads YAML: octal.
    let ping = get(cp, &format!("/api/v1/namespaces/{ns}/pods/web-ping")).expect("pod");
    assert_eq!(ping["spec"]["volumes"][0]["secret"]["defaultMode"], 420);
    let stored = h.get("web", 5).await.expect("get").expect("stored");
    assert_eq!(phase(&stored, "web-ping"), "Succeeded");

    // A failing test hook: Helm's message, its phase recorded; excluded
    // by a filter, the rest pass.
    h.upgrade(upgrade("web", &ns, json!({"failhook": "test"})))
        .await
        .expect("upgrade");
    let err = h
        .test(Test {
            common: common("web", &ns),
            filters: Vec::new(),
        })
        .await
        .expect_err("a failing test");
    assert_eq!(
        err.message,
        "warning: Hook test t-actions/templates/failhook.yaml failed: pod web-failing failed"
    );
    assert_eq!(
        phase(err.record.as_deref().expect("record"), "web-failing"),
        "Failed"
    );
    let passed = h
        .test(Test {
            common: common("web", &ns),
            filters: vec![("web-failing".into(), true)],
        })
        .await
        .expect("filtered");
    assert_eq!(phase(&passed, "web-ping"), "Succeeded");
    assert_eq!(
        phase(&passed, "web-failing"),
        "Failed",
        "a skipped hook keeps its last run"
    );

    // Uninstall: objects and records gone.
    let gone = h
        .uninstall(Uninstall {
            common: common("web", &ns),
            ..Uninstall::default()
        })
        .await
        .expect("uninstall");
    assert!(gone.is_none());
    assert!(config_map(cp, &ns, "web-main").is_none());
    assert!(release_secrets(cp, &ns).is_empty());
    let list = helm_json(&bin, cp, &["list", "-n", &ns, "-o", "json"]);
    assert_eq!(list, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ours_upgrades_a_release_helm_installed_and_checks_ownership() {
    let Some(bin) = HelmBin::find() else { return };
    let Some(cp) = control_plane() else { return };
    let ns = cp.namespace("helm-adopt");
    let _kubelet = Kubelet::start(cp, &ns);
    let dir = tempfile::tempdir().expect("tempdir");
    write_chart(dir.path());
    helm(
        &bin,
        cp,
        &[
            "install",
            "shop",
            dir.path().to_str().expect("utf-8"),
            "-n",
            &ns,
        ],
    );
    let h = Helm::new(client(cp).await, &ns);
    let r2 = h
        .upgrade(upgrade("shop", &ns, json!({"data": {"a": "3"}})))
        .await
        .expect("upgrade of helm's release");
    assert_eq!((r2.version, r2.status), (2, Some(Status::Deployed)));
    assert_eq!(
        config_map(cp, &ns, "shop-main").expect("main")["data"]["a"],
        "3"
    );
    assert_eq!(
        history(&bin, cp, "shop", &ns),
        vec![
            (1, "superseded".into(), "Install complete".into()),
            (2, "deployed".into(), "Upgrade complete".into()),
        ]
    );
    // A post-upgrade hook fails: with cleanup_on_fail the objects this
    // upgrade created are deleted again.
    let mut failing = upgrade(
        "shop",
        &ns,
        json!({"failhook": "post-upgrade", "lookup": true}),
    );
    failing.cleanup_on_fail = true;
    let err = h.upgrade(failing).await.expect_err("post-upgrade fails");
    assert_eq!(
        err.message,
        "post-upgrade hooks failed: warning: Hook post-upgrade t-actions/templates/failhook.yaml failed: pod shop-failing failed"
    );
    assert_eq!(
        err.record.as_deref().map(|r| (r.version, r.status)),
        Some((3, Some(Status::Failed)))
    );
    assert!(
        config_map(cp, &ns, "shop-lookup").is_none(),
        "cleaned up on failure"
    );

    // A name in use.
    let err = h
        .install(install("shop", &ns, json!({})))
        .await
        .expect_err("in use");
    assert_eq!(err.message, "cannot reuse a name that is still in use");

    // An object that exists without Helm's ownership: refused, nothing
    // stored; adopted with take_ownership.
    let (code, text) = cp
        .request(
            "POST",
            &format!("/api/v1/namespaces/{ns}/configmaps"),
            Some(&json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "cart-main"}, "data": {"a": "0"}})),
        )
        .expect("create");
    assert_eq!(code, 201, "{text}");
    let err = h
        .install(install("cart", &ns, json!({})))
        .await
        .expect_err("not ours");
    assert!(
        err.message
            .starts_with("unable to continue with install: ConfigMap \"cart-main\" in namespace")
            && err.message.contains("invalid ownership metadata"),
        "{}",
        err.message
    );
    assert!(err.record.is_none());
    assert!(h.history("cart").await.expect("history").is_empty());
    let mut adopt = install("cart", &ns, json!({}));
    adopt.take_ownership = true;
    let r = h.install(adopt).await.expect("adopted");
    assert_eq!(r.status, Some(Status::Deployed));
    assert_eq!(
        config_map(cp, &ns, "cart-main").expect("main")["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "Helm"
    );

    // Uninstall with `orphan` propagation: a dependent of a release object
    // survives, its owner reference removed by the garbage collector.
    let owner = config_map(cp, &ns, "cart-main").expect("main");
    let (code, text) = cp
        .request(
            "POST",
            &format!("/api/v1/namespaces/{ns}/configmaps"),
            Some(&json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "cart-dependent", "ownerReferences": [{
                    "apiVersion": "v1", "kind": "ConfigMap", "name": "cart-main",
                    "uid": owner["metadata"]["uid"]}]}})),
        )
        .expect("create");
    assert_eq!(code, 201, "{text}");
    h.uninstall(Uninstall {
        common: common("cart", &ns),
        deletion_propagation: "orphan".into(),
        ..Uninstall::default()
    })
    .await
    .expect("uninstall");
    assert!(config_map(cp, &ns, "cart-main").is_none());
    let dependent = config_map(cp, &ns, "cart-dependent").expect("orphaned, not deleted");
    assert!(
        dependent["metadata"]["ownerReferences"].is_null(),
        "{dependent}"
    );

    // `lookup` of a kind the cluster does not serve is `{}`, as Helm's.
    let missing =
        ferroflux_kube::helm::lookup::lookup(&client(cp).await, "example.com/v1", "Nope", &ns, "x")
            .await
            .expect("no error");
    assert_eq!(missing, json!({}));
    let list = ferroflux_kube::helm::lookup::lookup(&client(cp).await, "v1", "ConfigMap", &ns, "")
        .await
        .expect("a list");
    assert!(
        list["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|o| o["metadata"]["name"] == "cart-dependent"),
        "{list}"
    );

    // A pre-install hook that fails: a failed record naming it, the hook
    // deleted per `hook-failed`, nothing of the manifest applied.
    let err = h
        .install(install("hooked", &ns, json!({"failhook": "pre-install"})))
        .await
        .expect_err("hook fails");
    assert_eq!(
        err.message,
        "failed pre-install: warning: Hook pre-install t-actions/templates/failhook.yaml failed: pod hooked-failing failed"
    );
    let record = err.record.as_deref().expect("record");
    assert_eq!(record.status, Some(Status::Failed));
    assert_eq!(
        record.json["info"]["description"],
        format!("Release \"hooked\" failed: {}", err.message)
    );
    assert_eq!(phase(record, "hooked-failing"), "Failed");
    assert!(
        get(cp, &format!("/api/v1/namespaces/{ns}/pods/hooked-failing")).is_none(),
        "hook-failed deletes it"
    );
    assert!(config_map(cp, &ns, "hooked-main").is_none());
    let hist = history(&bin, cp, "hooked", &ns);
    assert_eq!(hist[0].1, "failed", "{hist:?}");

    // A post-renderer's output is what is applied and stored; its error
    // stores nothing.
    let mut post = install("post", &ns, json!({"extra": false}));
    post.post_render = Some(Arc::new(|m: String| {
        Ok(m.replace(
            "kind: ConfigMap\nmetadata:\n",
            "kind: ConfigMap\nmetadata:\n  labels:\n    post: rendered\n",
        ))
    }));
    let r = h.install(post).await.expect("post-rendered");
    assert!(r.manifest.contains("post: rendered"), "{}", r.manifest);
    assert!(
        r.manifest
            .starts_with("---\n# Source: t-actions/templates/cm.yaml\n"),
        "{}",
        r.manifest
    );
    assert!(
        !r.manifest.contains("postrender-filename"),
        "{}",
        r.manifest
    );
    let main = config_map(cp, &ns, "post-main").expect("main");
    assert_eq!(main["metadata"]["labels"]["post"], "rendered");
    assert!(
        main["metadata"]["annotations"]
            .get("postrenderer.helm.sh/postrender-filename")
            .is_none()
    );
    // Hooks go through the post-renderer too (Helm v4's `combined`).
    assert_eq!(
        config_map(cp, &ns, "post-pre-a").expect("hook")["metadata"]["labels"]["post"],
        "rendered"
    );
    let mut broken = install("postfail", &ns, json!({}));
    broken.post_render = Some(Arc::new(|_| Err("exit status 1".to_string())));
    let err = h.install(broken).await.expect_err("post-render fails");
    assert_eq!(
        err.message,
        "error while running post render on files: exit status 1"
    );
    assert!(h.history("postfail").await.expect("history").is_empty());

    // create_namespace: the target namespace made (labelled `name`), the
    // record stored here says where the release lives.
    let target = format!("{ns}-target");
    let mut elsewhere = install("far", &target, json!({"extra": false}));
    elsewhere.create_namespace = true;
    elsewhere.common.wait = WaitStrategy::HookOnly;
    // No service-account controller makes the namespace's default one
    // for the hook Pods: hooks off (and so checked off).
    elsewhere.common.disable_hooks = true;
    let r = h.install(elsewhere).await.expect("into a new namespace");
    assert_eq!(r.namespace, target);
    let created = get(cp, &format!("/api/v1/namespaces/{target}")).expect("namespace");
    assert_eq!(created["metadata"]["labels"]["name"], target.as_str());
    assert!(config_map(cp, &target, "far-main").is_some());
    assert!(config_map(cp, &ns, "far-main").is_none());
    assert!(h.last("far").await.expect("last").is_some());
    assert!(
        config_map(cp, &target, "far-pre-a").is_none(),
        "no hook ran"
    );

    // A render failure stores nothing.
    let err = h
        .install(install("broken", &ns, json!({"fail": true})))
        .await
        .expect_err("render fails");
    assert!(err.message.contains("values say fail"), "{}", err.message);
    assert!(h.history("broken").await.expect("history").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_history_prunes_and_a_pending_release_is_locked() {
    let Some(cp) = control_plane() else { return };
    let ns = cp.namespace("helm-hist");
    let _kubelet = Kubelet::start(cp, &ns);
    let h = Helm::new(client(cp).await, &ns);
    let mut i = install("app", &ns, json!({}));
    i.common.wait = WaitStrategy::HookOnly;
    h.install(i).await.expect("install");
    for n in 2..=4 {
        let mut u = upgrade("app", &ns, json!({"data": {"a": n.to_string()}}));
        u.max_history = 2;
        h.upgrade(u).await.expect("upgrade");
    }
    let versions: Vec<(i64, Option<Status>)> = h
        .history("app")
        .await
        .expect("history")
        .iter()
        .map(|r| (r.version, r.status))
        .collect();
    assert_eq!(
        versions,
        vec![(3, Some(Status::Superseded)), (4, Some(Status::Deployed))]
    );
    assert_eq!(
        release_secrets(cp, &ns),
        vec!["sh.helm.release.v1.app.v3", "sh.helm.release.v1.app.v4"]
    );
    // A pending last revision locks the release.
    let mut last = h.last("app").await.expect("last").expect("record");
    last.json["info"]["status"] = "pending-upgrade".into();
    h.update(&last).await.expect("update");
    let err = h
        .upgrade(upgrade("app", &ns, json!({})))
        .await
        .expect_err("locked");
    assert_eq!(
        err.message,
        "another operation (install/upgrade/rollback) is in progress"
    );
    let labels = get(
        cp,
        &format!("/api/v1/namespaces/{ns}/secrets/sh.helm.release.v1.app.v4"),
    )
    .expect("secret")["metadata"]["labels"]
        .clone();
    assert_eq!(labels["status"], "pending-upgrade");
    assert!(labels.get("modifiedAt").is_some() && labels.get("createdAt").is_none());
    last.json["info"]["status"] = "deployed".into();
    h.update(&last).await.expect("update");

    // Uninstall keeping the history (and the `keep` object), then an
    // install with `replace` reuses the name at the next revision.
    let kept = h
        .uninstall(Uninstall {
            common: common("app", &ns),
            keep_history: true,
            ..Uninstall::default()
        })
        .await
        .expect("uninstall")
        .expect("kept record");
    assert_eq!((kept.version, kept.status), (4, Some(Status::Uninstalled)));
    assert_eq!(kept.json["info"]["description"], "Uninstallation complete");
    assert!(
        kept.json["info"]["deleted"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
    );
    assert!(config_map(cp, &ns, "app-main").is_none());
    assert!(
        config_map(cp, &ns, "app-kept").is_some(),
        "helm.sh/resource-policy: keep"
    );
    let err = h
        .uninstall(Uninstall {
            common: common("app", &ns),
            keep_history: true,
            ..Uninstall::default()
        })
        .await
        .expect_err("already deleted");
    assert_eq!(err.message, "the release named \"app\" is already deleted");
    let err = h
        .install(install("app", &ns, json!({})))
        .await
        .expect_err("without replace");
    assert_eq!(err.message, "cannot reuse a name that is still in use");
    let mut again = install("app", &ns, json!({}));
    again.replace = true;
    again.common.wait = WaitStrategy::HookOnly;
    let r = h.install(again).await.expect("replace");
    assert_eq!((r.version, r.status), (5, Some(Status::Deployed)));
    let old = h.get("app", 4).await.expect("get").expect("v4");
    assert_eq!(old.status, Some(Status::Superseded));
    assert_eq!(old.json["info"]["description"], "superseded by new release");
}

const CRD_FILES: &[(&str, &str)] = &[
    (
        "Chart.yaml",
        "apiVersion: v2\nname: t-crd\nversion: 0.1.0\n",
    ),
    ("values.yaml", "size: 1\ncolor: red\n"),
    (
        "crds/widget.yaml",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.helmact.ferroflux.test\nspec:\n  group: helmact.ferroflux.test\n  names:\n    kind: Widget\n    plural: widgets\n    singular: widget\n  scope: Namespaced\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n        x-kubernetes-preserve-unknown-fields: true\n",
    ),
    (
        "templates/all.yaml",
        "apiVersion: helmact.ferroflux.test/v1\nkind: Widget\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  size: {{ .Values.size }}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-color\ndata:\n  color: {{ .Values.color }}\n",
    ),
];

fn crd_upgrade(ns: &str, v: Value) -> Upgrade {
    let mut u = upgrade("w", ns, v);
    u.chart = chart::load_files(
        CRD_FILES
            .iter()
            .map(|(n, d)| File {
                name: (*n).to_string(),
                data: d.as_bytes().to_vec(),
            })
            .collect(),
    )
    .expect("chart");
    u
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crds_come_first_and_values_are_reused_or_reset_as_helm_does() {
    let Some(cp) = control_plane() else { return };
    let ns = cp.namespace("helm-crd");
    let h = Helm::new(client(cp).await, &ns);
    let mut i = install("w", &ns, json!({}));
    i.chart = crd_upgrade(&ns, json!({})).chart;
    let r = h.install(i).await.expect("install with its CRD");
    assert_eq!(r.status, Some(Status::Deployed));
    assert!(
        !r.manifest.contains("CustomResourceDefinition"),
        "CRDs are not in the manifest"
    );
    let widget = |cp: &ControlPlane| {
        get(
            cp,
            &format!("/apis/helmact.ferroflux.test/v1/namespaces/{ns}/widgets/w"),
        )
        .expect("widget")["spec"]["size"]
            .as_i64()
            .expect("size")
    };
    let color = |cp: &ControlPlane| {
        config_map(cp, &ns, "w-color").expect("cm")["data"]["color"]
            .as_str()
            .expect("color")
            .to_string()
    };
    assert_eq!((widget(cp), color(cp)), (1, "red".to_string()));

    h.upgrade(crd_upgrade(&ns, json!({"size": 3})))
        .await
        .expect("new values");
    assert_eq!((widget(cp), color(cp)), (3, "red".to_string()));
    // Reuse: the new values over the old config, and the new chart's
    // defaults replaced by the old release's (so `green` is not seen).
    let mut reuse = crd_upgrade(&ns, json!({"shape": "round"}));
    reuse.reuse_values = true;
    reuse.chart.values.insert("color".into(), "green".into());
    let r = h.upgrade(reuse).await.expect("reuse");
    assert_eq!((widget(cp), color(cp)), (3, "red".to_string()));
    assert_eq!(
        Value::Object(r.config),
        json!({"shape": "round", "size": 3})
    );
    let mut green = crd_upgrade(&ns, json!({"color": "blue"}));
    green.chart.values.insert("color".into(), "green".into());
    h.upgrade(green).await.expect("new values");
    assert_eq!((widget(cp), color(cp)), (1, "blue".to_string()));
    h.upgrade(crd_upgrade(&ns, json!({})))
        .await
        .expect("no values: the last ones again");
    assert_eq!((widget(cp), color(cp)), (1, "blue".to_string()));
    let mut reset = crd_upgrade(&ns, json!({}));
    reset.reset_values = true;
    let r = h.upgrade(reset).await.expect("reset");
    assert_eq!((widget(cp), color(cp)), (1, "red".to_string()));
    assert!(r.config.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_that_never_gets_ready_fails_with_helms_wait_message() {
    let Some(cp) = control_plane() else { return };
    let ns = cp.namespace("helm-wait");
    let h = Helm::new(client(cp).await, &ns);
    let files = [
        (
            "Chart.yaml",
            "apiVersion: v2\nname: t-wait\nversion: 0.1.0\n",
        ),
        (
            "templates/deploy.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  replicas: 1\n  paused: {{ .Values.paused }}\n  selector:\n    matchLabels:\n      app: x\n  template:\n    metadata:\n      labels:\n        app: x\n    spec:\n      containers:\n      - name: c\n        image: busybox\n",
        ),
        ("values.yaml", "paused: false\n"),
    ];
    let chart = chart::load_files(
        files
            .iter()
            .map(|(n, d)| File {
                name: (*n).to_string(),
                data: d.as_bytes().to_vec(),
            })
            .collect(),
    )
    .expect("chart");
    let mut i = install("slow", &ns, json!({}));
    i.chart = chart.clone();
    i.common.timeout = Duration::from_secs(2);
    let err = h.install(i).await.expect_err("never ready: no kubelet");
    assert!(
        err.message.starts_with(&format!(
            "resource Deployment/{ns}/slow not ready. status: InProgress, message: "
        )),
        "{}",
        err.message
    );
    assert!(
        err.message.ends_with("\ncontext deadline exceeded"),
        "{}",
        err.message
    );
    let record = err.record.as_deref().expect("record");
    assert_eq!(record.status, Some(Status::Failed));
    // A paused Deployment is not waited for, as Helm's watcher skips it.
    let mut i = install("paused", &ns, json!({"paused": true}));
    i.chart = chart;
    i.common.timeout = Duration::from_secs(2);
    let r = h.install(i).await.expect("paused is not waited for");
    assert_eq!(r.status, Some(Status::Deployed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_whose_failed_base_was_pruned_still_succeeds() {
    let Some(cp) = control_plane() else { return };
    let ns = cp.namespace("helm-prune");
    let _kubelet = Kubelet::start(cp, &ns);
    let h = Helm::new(client(cp).await, &ns);
    let mut i = install("lone", &ns, json!({}));
    i.common.wait = WaitStrategy::HookOnly;
    h.install(i).await.expect("install");
    // The only revision failed: it is the base, and MaxHistory 1 prunes it.
    let mut last = h.last("lone").await.expect("last").expect("record");
    last.json["info"]["status"] = "failed".into();
    h.update(&last).await.expect("update");
    let mut u = upgrade("lone", &ns, json!({"data": {"a": "9"}}));
    u.max_history = 1;
    let r = h.upgrade(u).await.expect("upgrade over a pruned base");
    assert_eq!((r.version, r.status), (2, Some(Status::Deployed)));
    assert_eq!(release_secrets(cp, &ns), vec!["sh.helm.release.v1.lone.v2"]);
    assert_eq!(
        config_map(cp, &ns, "lone-main").expect("main")["data"]["a"],
        "9"
    );
}

/// `.Capabilities.APIVersions` from the real apiserver: the real helm's
/// (`helm template --validate` asks the cluster) is ours, read through the
/// aggregated discovery document and through the legacy per-group lists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capabilities_are_the_version_set_helm_reads_from_the_cluster() {
    let Some(bin) = HelmBin::find() else { return };
    let Some(cp) = control_plane() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let files = [
        (
            "Chart.yaml",
            "apiVersion: v2\nname: t-caps\nversion: 0.1.0\n",
        ),
        (
            "templates/caps.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caps\ndata:\n  versions: {{ .Capabilities.APIVersions | toJson | quote }}\n",
        ),
    ];
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    let chart = dir.path().display().to_string();
    let helms = || {
        let out = helm(&bin, cp, &["template", "caps", &chart, "--validate"]);
        let doc: Value = serde_yaml::from_str(&out).expect("helm's manifest");
        let mut set: Vec<String> =
            serde_json::from_str(doc["data"]["versions"].as_str().expect("versions"))
                .expect("a JSON list");
        set.sort();
        set
    };
    let c = client(cp).await;
    // Other tests of this binary install CRDs on the same apiserver: the
    // sets are compared when helm's is the same before and after ours.
    for attempt in 0.. {
        let theirs = helms();
        let ours = ferroflux_kube::helm::versions::version_set(&c)
            .await
            .expect("aggregated discovery");
        let legacy = ferroflux_kube::helm::versions::version_set_legacy(&c)
            .await
            .expect("legacy discovery");
        if helms() != theirs && attempt < 5 {
            continue;
        }
        // Subresources count under their response kind (deployments/scale).
        assert!(ours.iter().any(|v| v == "apps/v1/Scale"), "{ours:?}");
        assert_eq!(ours, theirs);
        assert_eq!(legacy, theirs);
        break;
    }
}
