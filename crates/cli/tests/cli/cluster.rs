//! `ferroflux get|reconcile|suspend|resume image ...` against the shared
//! real control plane of this binary (`crate::kubernetes`, Flux's CRDs from
//! the install): seed-000-like objects in a namespace of the test's own in
//! place of flux-system, and one in a second namespace in place of `apps`;
//! a background task per namespace plays the controller (sees the
//! `reconcile.fluxcd.io/requestedAt` annotation, writes
//! `lastHandledReconcileAt` and Ready through the status subresource).

use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ferroflux_api::image::{ImagePolicy, ImageRepository, ImageUpdateAutomation};
use futures_util::StreamExt;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Config, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::kubernetes;

const ANNOTATION: &str = "reconcile.fluxcd.io/requestedAt";

pub(crate) struct Cluster {
    pub(crate) client: Client,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) kubeconfig: PathBuf,
    /// In place of flux-system.
    pub(crate) flux: String,
    /// In place of apps.
    pub(crate) apps: String,
}

/// Two fresh namespaces `<name>-apps-N` and `<name>-flux-N` (sorted as
/// apps and flux-system are) with the seed; `None` after a skip notice.
async fn cluster(name: &str) -> Option<Cluster> {
    let c = namespaces(name).await?;
    seed(&c).await;
    Some(c)
}

/// The two namespaces, empty.
pub(crate) async fn namespaces(name: &str) -> Option<Cluster> {
    let env = tokio::task::spawn_blocking(kubernetes::env)
        .await
        .expect("join")?;
    let apps = env.cp.namespace(&format!("{name}-apps"));
    let flux = env.cp.namespace(&format!("{name}-flux"));
    let kubeconfig = env.cp.kubeconfig();
    let config = Config::from_custom_kubeconfig(
        Kubeconfig::read_from(&kubeconfig).expect("kubeconfig"),
        &KubeConfigOptions::default(),
    )
    .await
    .expect("kube config");
    let client = Client::try_from(config).expect("client");
    Some(Cluster {
        client,
        dir: tempfile::tempdir().expect("tempdir"),
        kubeconfig,
        flux,
        apps,
    })
}

pub(crate) fn ready(status: &str, message: &str, generation: i64) -> Value {
    json!({"type": "Ready", "status": status, "reason": if status == "True" { "Succeeded" } else { "Failed" },
           "message": message, "observedGeneration": generation,
           "lastTransitionTime": "2026-12-04T10:00:00Z"})
}

pub(crate) async fn create<K>(client: &Client, ns: &str, obj: Value, status: Option<Value>)
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + Debug
        + DeserializeOwned
        + Serialize,
{
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    let obj: K = serde_json::from_value(obj).expect("object");
    let created = api
        .create(&PostParams::default(), &obj)
        .await
        .expect("create");
    if let Some(status) = status {
        let name = created.meta().name.clone().expect("name");
        api.patch_status(
            &name,
            &PatchParams::default(),
            &Patch::Merge(&json!({ "status": status })),
        )
        .await
        .expect("status");
    }
}

fn repo(name: &str, ns: &str, image: &str) -> Value {
    json!({"apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImageRepository",
           "metadata": {"name": name, "namespace": ns},
           "spec": {"image": image, "interval": "5m0s"}})
}

fn policy(name: &str, ns: &str) -> Value {
    json!({"apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImagePolicy",
           "metadata": {"name": name, "namespace": ns},
           "spec": {"imageRepositoryRef": {"name": name},
                    "filterTags": {"pattern": "^(?:api-|streamlit-)?(?P<version>\\d+\\.\\d+\\.\\d+.*)$", "extract": "$version"},
                    "policy": {"semver": {"range": ">=0.0.0"}}}})
}

async fn seed(c: &Cluster) {
    let (client, flux, apps) = (&c.client, c.flux.as_str(), c.apps.as_str());
    let scanned = |n: i64| {
        json!({"conditions": [ready("True", &format!("successful scan: found {n} tags"), 1)],
               "lastScanResult": {"tagCount": n, "scanTime": "2026-12-04T10:00:00Z"}})
    };
    create::<ImageRepository>(
        client,
        flux,
        repo(
            "keyword-correction",
            flux,
            "harbor.example/ai/keyword-correction",
        ),
        Some(scanned(7)),
    )
    .await;
    create::<ImageRepository>(
        client,
        flux,
        repo("realtime-asr", flux, "harbor.example/ai/realtime-asr"),
        Some(scanned(3)),
    )
    .await;
    create::<ImageRepository>(
        client,
        apps,
        repo("web-app", apps, "ghcr.io/example/web-app"),
        Some(json!({"conditions": [ready("False", "scan failed: 401 Unauthorized", 1)]})),
    )
    .await;
    for (name, tag) in [("keyword-correction", "0.13.3"), ("realtime-asr", "0.9.1")] {
        let latest = json!({"latestRef": {"name": format!("harbor.example/ai/{name}"), "tag": tag},
            "conditions": [ready("True", &format!("Latest image tag for harbor.example/ai/{name} resolved to {tag}"), 1)]});
        create::<ImagePolicy>(client, flux, policy(name, flux), Some(latest)).await;
    }
    create::<ImageUpdateAutomation>(
        client,
        flux,
        json!({"apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImageUpdateAutomation",
               "metadata": {"name": "flux-system", "namespace": flux},
               "spec": {"interval": "30m0s",
                        "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
                        "git": {"commit": {"author": {"name": "fluxcdbot", "email": "fluxcdbot@users.noreply.github.com"}},
                                "push": {"branch": "main"}},
                        "update": {"path": "./clusters/prod", "strategy": "Setters"}}}),
        Some(json!({"conditions": [ready("True", "repository up-to-date", 1)],
                    "lastAutomationRunTime": "2026-12-04T10:01:02Z"})),
    )
    .await;
}

/// Plays the controller for kind K in the test's two namespaces (never in
/// another test's): every object whose requestedAt annotation is not yet
/// handled gets `status(name, generation)` merged into its status, with
/// `lastHandledReconcileAt` set to the token.
pub(crate) fn controller<K>(
    c: &Cluster,
    status: impl Fn(&str, i64) -> Option<Value> + Send + Sync + 'static,
) -> Vec<tokio::task::JoinHandle<()>>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + Debug
        + DeserializeOwned
        + Serialize
        + Send
        + Sync
        + 'static,
{
    let status = std::sync::Arc::new(status);
    [c.flux.clone(), c.apps.clone()]
        .into_iter()
        .map(|ns| {
            let api: Api<K> = Api::namespaced(c.client.clone(), &ns);
            let status = status.clone();
            tokio::spawn(async move {
                let mut stream = watcher(api.clone(), watcher::Config::default())
                    .applied_objects()
                    .boxed();
                while let Some(Ok(obj)) = stream.next().await {
                    let v = serde_json::to_value(&obj).expect("json");
                    let Some(token) = v["metadata"]["annotations"][ANNOTATION].as_str() else {
                        continue;
                    };
                    if v["status"]["lastHandledReconcileAt"].as_str() == Some(token) {
                        continue;
                    }
                    let generation = v["metadata"]["generation"].as_i64().unwrap_or(1);
                    let name = v["metadata"]["name"].as_str().expect("name");
                    // `None`: this object's requests are never handled.
                    let Some(mut st) = status(name, generation) else {
                        continue;
                    };
                    st["lastHandledReconcileAt"] = json!(token);
                    api.patch_status(
                        name,
                        &PatchParams::default(),
                        &Patch::Merge(&json!({ "status": st })),
                    )
                    .await
                    .expect("controller status");
                }
            })
        })
        .collect()
}

pub(crate) struct Out {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Run the binary off the runtime (the stand-in controller runs on it),
/// isolated from the machine's kubeconfig.
pub(crate) async fn run(home: &Path, args: Vec<String>, env: Vec<(&'static str, String)>) -> Out {
    let home = home.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferroflux"));
        cmd.args(&args)
            .env("HOME", &home)
            .env("XDG_STATE_HOME", home.join("state"))
            .env_remove("KUBECONFIG")
            .env_remove("KUBERNETES_SERVICE_HOST");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run ferroflux");
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    })
    .await
    .expect("join")
}

impl Cluster {
    /// `ferroflux ARGS --kubeconfig K`, in the test's flux namespace unless
    /// ARGS name one (`-n`) or all (`-A`).
    pub(crate) async fn ff(&self, args: &[&str]) -> Out {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        if !args.iter().any(|a| *a == "-n" || *a == "-A") {
            all.push("-n".into());
            all.push(self.flux.clone());
        }
        all.push("--kubeconfig".into());
        all.push(self.kubeconfig.display().to_string());
        run(self.dir.path(), all, Vec::new()).await
    }

    /// `text` with flux-system and apps (as namespaces) replaced by the
    /// test's own.
    pub(crate) fn ns(&self, text: &str) -> String {
        text.replace(
            "in flux-system namespace",
            &format!("in {} namespace", self.flux),
        )
        .replace("in apps namespace", &format!("in {} namespace", self.apps))
    }

    pub(crate) async fn suspend_of<K>(&self, ns: &str, name: &str) -> Option<bool>
    where
        K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + Debug
            + DeserializeOwned
            + Serialize,
    {
        let api: Api<K> = Api::namespaced(self.client.clone(), ns);
        let v = serde_json::to_value(api.get(name).await.expect("get")).expect("json");
        v["spec"]["suspend"].as_bool()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_tables_from_the_cluster() {
    let Some(c) = cluster("get").await else {
        return;
    };
    let cases: [(&[&str], &str); 4] = [
        (&["get", "image", "repository"], "\
NAME                 LAST SCAN              SUSPENDED   READY   MESSAGE
keyword-correction   2026-12-04T10:00:00Z   False       True    successful scan: found 7 tags
realtime-asr         2026-12-04T10:00:00Z   False       True    successful scan: found 3 tags
"),
        (&["get", "image", "repository", "-n", &c.apps], "\
NAME      LAST SCAN   SUSPENDED   READY   MESSAGE
web-app               False       False   scan failed: 401 Unauthorized
"),
        (&["get", "image", "policies"], "\
NAME                 IMAGE                                  TAG      READY   MESSAGE
keyword-correction   harbor.example/ai/keyword-correction   0.13.3   True    Latest image tag for harbor.example/ai/keyword-correction resolved to 0.13.3
realtime-asr         harbor.example/ai/realtime-asr         0.9.1    True    Latest image tag for harbor.example/ai/realtime-asr resolved to 0.9.1
"),
        (&["get", "image", "update"], "\
NAME          LAST RUN               SUSPENDED   READY   MESSAGE
flux-system   2026-12-04T10:01:02Z   False       True    repository up-to-date
"),
    ];
    for (args, want) in cases {
        let out = c.ff(args).await;
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        assert_eq!(out.stdout, want, "{args:?}");
    }
    // All namespaces: other tests' objects too, so the table's widths are
    // not ours to know; our rows, words only, in namespace order.
    let out = c.ff(&["get", "image", "repositories", "-A"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let words = |line: &str| line.split_whitespace().collect::<Vec<_>>().join(" ");
    let ours: Vec<String> = out
        .stdout
        .lines()
        .filter(|l| {
            l.starts_with("NAMESPACE ")
                || l.starts_with(&format!("{} ", c.flux))
                || l.starts_with(&format!("{} ", c.apps))
        })
        .map(words)
        .collect();
    assert_eq!(
        ours,
        [
            "NAMESPACE NAME LAST SCAN SUSPENDED READY MESSAGE".to_string(),
            format!(
                "{} web-app False False scan failed: 401 Unauthorized",
                c.apps
            ),
            format!(
                "{} keyword-correction 2026-12-04T10:00:00Z False True successful scan: found 7 tags",
                c.flux
            ),
            format!(
                "{} realtime-asr 2026-12-04T10:00:00Z False True successful scan: found 3 tags",
                c.flux
            ),
        ],
        "{}",
        out.stdout
    );
    // Flux 2.9: nothing to list is an error (exit 1), the namespace quoted.
    let out = c.ff(&["get", "image", "policy", "-n", &c.apps]).await;
    assert_eq!((out.code, out.stdout.as_str()), (1, ""));
    assert_eq!(
        out.stderr,
        format!("✗ no ImagePolicy objects found in {:?} namespace\n", c.apps)
    );

    // Without -n: flux-system, where no test puts anything.
    let out = run(
        c.dir.path(),
        ["get", "image", "policy", "--kubeconfig"]
            .iter()
            .map(|s| s.to_string())
            .chain([c.kubeconfig.display().to_string()])
            .collect(),
        Vec::new(),
    )
    .await;
    assert_eq!((out.code, out.stdout.as_str()), (1, ""), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("no ImagePolicy objects found in \"flux-system\" namespace"),
        "{}",
        out.stderr
    );

    // $KUBECONFIG alone selects the cluster too.
    let out = run(
        c.dir.path(),
        vec![
            "get".into(),
            "image".into(),
            "update".into(),
            "-n".into(),
            c.flux.clone(),
        ],
        vec![("KUBECONFIG", c.kubeconfig.display().to_string())],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("repository up-to-date"),
        "{}",
        out.stdout
    );
    // So does ~/.kube/config.
    let home = tempfile::tempdir().expect("home");
    std::fs::create_dir_all(home.path().join(".kube")).expect("mkdir");
    std::fs::copy(&c.kubeconfig, home.path().join(".kube/config")).expect("kubeconfig");
    let out = run(
        home.path(),
        vec![
            "get".into(),
            "image".into(),
            "repository".into(),
            "-A".into(),
        ],
        Vec::new(),
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .lines()
            .any(|l| words(l).starts_with(&format!("{} web-app ", c.apps))),
        "{}",
        out.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspend_and_resume() {
    let Some(c) = cluster("suspend").await else {
        return;
    };
    let _ctl = controller::<ImageRepository>(&c, |_, g| {
        Some(
            json!({"conditions": [ready("True", "successful scan: found 8 tags", g)],
               "lastScanResult": {"tagCount": 8, "scanTime": "2026-12-04T11:00:00Z"}}),
        )
    });
    let out = c
        .ff(&["suspend", "image", "repository", "keyword-correction"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        c.ns(
            "► suspending image repository keyword-correction in flux-system namespace\n\
         ✔ image repository suspended\n"
        )
    );
    assert_eq!(
        c.suspend_of::<ImageRepository>(&c.flux, "keyword-correction")
            .await,
        Some(true)
    );
    let out = c.ff(&["get", "image", "repository"]).await;
    assert!(
        out.stdout
            .contains("keyword-correction   2026-12-04T10:00:00Z   True "),
        "{}",
        out.stdout
    );

    // A suspended object is not reconciled.
    let out = c
        .ff(&["reconcile", "image", "repository", "keyword-correction"])
        .await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stderr, "✗ resource is suspended\n");

    // Resume one: requests a reconcile and waits for it.
    let out = c
        .ff(&["resume", "image", "repository", "keyword-correction"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        c.ns(
            "► resuming image repository keyword-correction in flux-system namespace\n\
         ✔ image repository resumed\n\
         ◎ waiting for ImageRepository reconciliation\n\
         ✔ ImageRepository keyword-correction reconciliation completed\n\
         ✔ scan fetched 8 tags\n"
        )
    );
    assert_eq!(
        c.suspend_of::<ImageRepository>(&c.flux, "keyword-correction")
            .await,
        Some(false)
    );

    // --all: every object of the kind in the namespace, no wait.
    let out = c.ff(&["suspend", "image", "policy", "--all"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        c.ns(
            "► suspending image policy keyword-correction in flux-system namespace\n\
         ✔ image policy suspended\n\
         ► suspending image policy realtime-asr in flux-system namespace\n\
         ✔ image policy suspended\n"
        )
    );
    for name in ["keyword-correction", "realtime-asr"] {
        assert_eq!(c.suspend_of::<ImagePolicy>(&c.flux, name).await, Some(true));
    }
    let out = c.ff(&["resume", "image", "policy", "--all"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("waiting"), "{}", out.stderr);
    for name in ["keyword-correction", "realtime-asr"] {
        assert_eq!(
            c.suspend_of::<ImagePolicy>(&c.flux, name).await,
            Some(false)
        );
    }

    // Other namespace; update automation.
    let out = c.ff(&["suspend", "image", "update", "flux-system"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        c.ns(
            "► suspending image update automation flux-system in flux-system namespace\n\
         ✔ image update automation suspended\n"
        )
    );
    let out = c
        .ff(&["suspend", "image", "repository", "web-app", "-n", &c.apps])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        c.suspend_of::<ImageRepository>(&c.apps, "web-app").await,
        Some(true)
    );

    // Missing names are reported, the others still done; exit 0, as flux.
    let out = c
        .ff(&["suspend", "image", "repository", "nope", "realtime-asr"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        c.ns(
            "✗ ImageRepository nope not found in flux-system namespace\n\
         ► suspending image repository realtime-asr in flux-system namespace\n\
         ✔ image repository suspended\n"
        )
    );
    let out = c
        .ff(&["resume", "image", "update", "--all", "-n", &c.apps])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        c.ns("✗ no ImageUpdateAutomation objects found in apps namespace\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_waits_for_the_controller() {
    let Some(c) = cluster("reconcile").await else {
        return;
    };
    let _repos = controller::<ImageRepository>(&c, |_, g| {
        Some(
            json!({"conditions": [ready("True", "successful scan: found 9 tags", g)],
               "lastScanResult": {"tagCount": 9, "scanTime": "2026-12-04T11:00:00Z"}}),
        )
    });
    let _autos = controller::<ImageUpdateAutomation>(&c, |_, g| {
        Some(
            json!({"conditions": [ready("True", "pushed commit 'a1b2c3d' to branch 'main'", g)],
               "lastPushCommit": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
               "lastAutomationRunTime": "2026-12-04T11:00:00Z"}),
        )
    });
    let _pols = controller::<ImagePolicy>(&c, |_, g| {
        Some(
            json!({"conditions": [ready("True", "Latest image tag for harbor.example/ai/keyword-correction resolved to 0.13.4", g)],
               "latestRef": {"name": "harbor.example/ai/keyword-correction", "tag": "0.13.4"}}),
        )
    });

    let out = c
        .ff(&["reconcile", "image", "repository", "keyword-correction"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        c.ns(
            "► annotating ImageRepository keyword-correction in flux-system namespace\n\
         ✔ ImageRepository annotated\n\
         ◎ waiting for ImageRepository reconciliation\n\
         ✔ scan fetched 9 tags\n"
        )
    );
    let api: Api<ImageRepository> = Api::namespaced(c.client.clone(), &c.flux);
    let obj = api.get("keyword-correction").await.expect("get");
    let token = obj
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(ANNOTATION))
        .cloned()
        .expect("annotation");
    // Go's RFC3339Nano in UTC.
    assert!(token.ends_with('Z') && token.len() >= 20, "{token}");
    assert_eq!(&token[4..5], "-");
    assert_eq!(&token[10..11], "T");
    assert!(
        !token.trim_end_matches('Z').ends_with('0') || !token.contains('.'),
        "{token}"
    );
    assert_eq!(
        obj.status.and_then(|s| s.last_handled_reconcile_at),
        Some(token)
    );

    let out = c.ff(&["reconcile", "image", "update", "flux-system"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        c.ns(
            "► annotating ImageUpdateAutomation flux-system in flux-system namespace\n\
         ✔ ImageUpdateAutomation annotated\n\
         ◎ waiting for ImageUpdateAutomation reconciliation\n\
         ✔ pushed commit 'a1b2c3d' to branch 'main'\n"
        )
    );

    let out = c
        .ff(&["reconcile", "image", "policy", "keyword-correction"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .ends_with(&c.ns("◎ waiting for ImagePolicy reconciliation\n\
             ✔ Latest image tag for harbor.example/ai/keyword-correction resolved to 0.13.4\n")),
        "{}",
        out.stderr
    );

    // The other namespace.
    let out = c
        .ff(&["reconcile", "image", "repository", "web-app", "-n", &c.apps])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .starts_with(&c.ns("► annotating ImageRepository web-app in apps namespace\n")),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_failure_timeout_and_not_found() {
    let Some(c) = cluster("fail").await else {
        return;
    };
    let _repos = controller::<ImageRepository>(&c, |_, g| {
        Some(
            json!({"conditions": [ready("False", "failed to scan: GET https://harbor.example/v2/: 401 Unauthorized", g)]}),
        )
    });
    let out = c
        .ff(&["reconcile", "image", "repository", "realtime-asr"])
        .await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        c.ns(
            "► annotating ImageRepository realtime-asr in flux-system namespace\n\
         ✔ ImageRepository annotated\n\
         ◎ waiting for ImageRepository reconciliation\n\
         ✗ ImageRepository reconciliation failed: 'failed to scan: GET https://harbor.example/v2/: 401 Unauthorized'\n"
        )
    );

    // Resume waits for the same verdict.
    let out = c
        .ff(&["resume", "image", "repository", "realtime-asr"])
        .await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.ends_with(
            &c.ns("◎ waiting for ImageRepository reconciliation\n\
             ✗ ImageRepository realtime-asr reconciliation failed: failed to scan: GET https://harbor.example/v2/: 401 Unauthorized\n\
             ✗ reconciliation failed for 1 ImageRepository(s)\n")
        ),
        "{}",
        out.stderr
    );

    // Nobody handles ImagePolicy requests here.
    let started = std::time::Instant::now();
    let out = c
        .ff(&[
            "reconcile",
            "image",
            "policy",
            "realtime-asr",
            "--timeout",
            "1s",
        ])
        .await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.ends_with(
            &c.ns("◎ waiting for ImagePolicy reconciliation\n\
             ✗ timed out after 1s waiting for ImagePolicy realtime-asr in flux-system namespace to be reconciled\n")
        ),
        "{}",
        out.stderr
    );
    assert!(started.elapsed() < Duration::from_secs(20));

    // The apiserver's words, as flux prints them.
    let out = c.ff(&["reconcile", "image", "update", "nope"]).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "✗ imageupdateautomations.image.toolkit.fluxcd.io \"nope\" not found\n"
    );
    // Resume reports it and, as flux, exits 0.
    let out = c
        .ff(&["resume", "image", "policy", "nope", "-n", &c.apps])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        c.ns("✗ ImagePolicy object 'nope' not found in apps namespace\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_or_missing_cluster_config() {
    let dir = tempfile::tempdir().expect("home");
    let home = dir.path();
    let secret = "s3cr3t-t0ken-value";
    let bad = home.join("bad-kubeconfig");
    std::fs::write(
        &bad,
        format!("apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    token: {secret}\nclusters: 7\n"),
    )
    .expect("write");
    let bad_s = bad.display().to_string();
    for args in [
        vec![
            "reconcile",
            "image",
            "repository",
            "x",
            "--kubeconfig",
            &bad_s,
        ],
        vec!["suspend", "image", "policy", "x", "--kubeconfig", &bad_s],
        vec!["get", "image", "update", "--kubeconfig", &bad_s],
    ] {
        let out = run(
            home,
            args.iter().map(|s| s.to_string()).collect(),
            Vec::new(),
        )
        .await;
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(&bad_s), "{}", out.stderr);
        assert!(!out.stderr.contains(secret), "{}", out.stderr);
        assert!(!out.stdout.contains(secret), "{}", out.stdout);
    }
    let missing = home.join("missing-kubeconfig").display().to_string();
    let out = run(
        home,
        ["resume", "image", "update", "x", "--kubeconfig", &missing]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        Vec::new(),
    )
    .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("missing-kubeconfig"), "{}", out.stderr);

    // A configured cluster that does not answer: the request fails, exit 1.
    let down = home.join("down-kubeconfig");
    std::fs::write(
        &down,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:1\ncontexts:\n- name: a\n  context:\n    cluster: c\ncurrent-context: a\nusers: []\n",
    )
    .expect("write");
    let down_s = down.display().to_string();
    let out = run(
        home,
        ["get", "image", "repository", "--kubeconfig", &down_s]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        Vec::new(),
    )
    .await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .starts_with("✗ listing ImageRepository objects in flux-system namespace: ")
            && out.stderr.contains("Connection refused"),
        "{}",
        out.stderr
    );

    // Unknown context.
    let out = run(
        home,
        [
            "reconcile",
            "image",
            "repository",
            "x",
            "--context",
            "nope",
            "--kubeconfig",
            &down_s,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        Vec::new(),
    )
    .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("nope"), "{}", out.stderr);

    // Nothing configured: reconcile names what was tried; get falls back
    // to the local state database.
    let empty = tempfile::tempdir().expect("home");
    let out = run(
        empty.path(),
        ["reconcile", "image", "repository", "x"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        Vec::new(),
    )
    .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    for want in [
        "no Kubernetes configuration found",
        "$KUBECONFIG not set",
        ".kube/config does not exist",
        "KUBERNETES_SERVICE_HOST",
    ] {
        assert!(out.stderr.contains(want), "{want}: {}", out.stderr);
    }
    let out = run(
        empty.path(),
        ["get", "image", "repository"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        Vec::new(),
    )
    .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("no state database at"),
        "{}",
        out.stderr
    );
}
