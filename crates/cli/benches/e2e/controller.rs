//! `ferroflux controller` figures on the testkit's real control plane (etcd,
//! kube-apiserver, kube-controller-manager; started for this bench, stopped
//! at its exit) with the real docker-registry and git http-backend:
//!
//! 3. resident memory of the controller with 100 ImageRepositories, 100
//!    ImagePolicies and 10 ImageUpdateAutomations once every policy has its
//!    `latestRef` and every automation has pushed (target: < 50 MiB; Flux's
//!    image controllers together use about 120 MiB idle);
//! 4. `reconcile.fluxcd.io/requestedAt` written → `lastHandledReconcileAt`
//!    in status, 20 runs: p50 and p99.

use ferroflux_testkit::process;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ferroflux_testkit::control_plane::ControlPlane;
use ferroflux_testkit::git_http::GitHttpServer;
use ferroflux_testkit::gitrepo;
use ferroflux_testkit::registry::{DockerRegistry, free_port};

use super::{memory_report, percentile, stop};

/// One request to the apiserver as its admin (merge patches for PATCH).
fn request(
    cp: &ControlPlane,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> (u16, serde_json::Value) {
    let body = body.map(|b| serde_json::from_str(b).expect("json body"));
    let (code, text) = cp
        .request(method, path, body.as_ref())
        .unwrap_or_else(|e| panic!("{e}"));
    let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    (code, json)
}

fn kubectl_apply(kubectl: &str, kubeconfig: &std::path::Path, yaml: &str) {
    let mut cmd = Command::new(kubectl);
    cmd.arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["apply", "-f", "-"]);
    let out = process::output_with_stdin(&mut cmd, yaml).expect("kubectl apply");
    assert!(
        out.status.success(),
        "kubectl apply: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn objects(host: &str, git_url: &str) -> (String, Vec<(String, String)>) {
    let mut yaml = String::new();
    let mut files = Vec::new();
    for a in 0..10 {
        yaml.push_str(&format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns{a}\n---\n\
             apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageUpdateAutomation\nmetadata:\n  name: auto{a}\n  namespace: ns{a}\nspec:\n  interval: 10m0s\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n    namespace: flux-system\n  git:\n    commit:\n      author:\n        email: bot@example.invalid\n        name: bot\n    push:\n      branch: main\n  update:\n    path: ./apps/ns{a}\n    strategy: Setters\n---\n"
        ));
    }
    yaml.push_str(&format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 1m0s\n  ref:\n    branch: main\n  url: {git_url}\n---\n"
    ));
    for i in 0..100 {
        let a = i % 10;
        yaml.push_str(&format!(
            "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: app{i}\n  namespace: ns{a}\nspec:\n  image: {host}/mem/app{i}\n  interval: 5m0s\n  insecure: true\n---\n\
             apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: app{i}\n  namespace: ns{a}\nspec:\n  imageRepositoryRef:\n    name: app{i}\n  policy:\n    semver:\n      range: '>=0.1.0'\n---\n"
        ));
        files.push((
            format!("apps/ns{a}/app{i}.yaml"),
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app{i}\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: {host}/mem/app{i}:0.9.0 # {{\"$imagepolicy\": \"ns{a}:app{i}\"}}\n"
            ),
        ));
    }
    (yaml, files)
}

pub fn run(registry: &DockerRegistry, git: &GitHttpServer, rt: &tokio::runtime::Runtime) {
    let Some(kubectl) = std::env::var_os("FERROFLUX_KUBECTL") else {
        println!("controller figures skipped: FERROFLUX_KUBECTL is not set");
        return;
    };
    let kubectl = kubectl.to_string_lossy().to_string();
    let Some(cp) = ControlPlane::shared() else {
        println!("controller figures skipped: no control plane (see above)");
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let kubeconfig = cp.kubeconfig();

    let host = registry.host();
    for i in 0..100 {
        rt.block_on(registry.push_image(&format!("mem/app{i}"), "1.0.0"));
    }
    let bare = gitrepo::init_bare(git.root(), "controller.git");
    let (yaml, files) = objects(&host, &git.url("controller.git"));
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_bytes()))
        .collect();
    gitrepo::commit_files(&bare, "main", &refs, "100 deployments");

    let install = Command::new(env!("CARGO_BIN_EXE_ferroflux"))
        .args(["install", "--export"])
        .output()
        .expect("install --export");
    kubectl_apply(
        &kubectl,
        &kubeconfig,
        &String::from_utf8_lossy(&install.stdout),
    );
    let established = Command::new(&kubectl)
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args([
            "wait",
            "--for=condition=established",
            "--timeout=60s",
            "crd",
            "--all",
        ])
        .output()
        .expect("kubectl wait");
    assert!(
        established.status.success(),
        "CRDs not established: {}",
        String::from_utf8_lossy(&established.stderr)
    );
    kubectl_apply(&kubectl, &kubeconfig, &yaml);

    let started = Instant::now();
    let child: Child = Command::new(env!("CARGO_BIN_EXE_ferroflux"))
        .arg("controller")
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .arg("--storage-path")
        .arg(tmp.path().join("data"))
        .args([
            "--metrics-addr",
            &format!("127.0.0.1:{}", free_port()),
            "--health-addr",
            &format!("127.0.0.1:{}", free_port()),
            "--receiver-addr",
            &format!("127.0.0.1:{}", free_port()),
            "--storage-addr",
            &format!("127.0.0.1:{}", free_port()),
        ])
        .env("HOME", "/nonexistent")
        .env("FERROFLUX_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn ferroflux controller");

    // Converged: every policy chose 1.0.0 and every automation pushed.
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let (_, body) = request(
            cp,
            "GET",
            "/apis/image.toolkit.fluxcd.io/v1/imagepolicies",
            None,
        );
        let list = body;
        let chosen = list["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter(|p| p["status"]["latestRef"]["tag"] == "1.0.0")
                    .count()
            })
            .unwrap_or(0);
        let commits = gitrepo::log_subjects(&bare, "main").len();
        if chosen == 100 && commits == 11 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "controller did not converge: {chosen} policies, {commits} commits"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let converged = started.elapsed();
    std::thread::sleep(Duration::from_secs(2));
    println!(
        "controller with 100 ImageRepositories, 100 ImagePolicies, 10 automations: converged (100 latestRefs, 10 commits) in {converged:.2?}; {}",
        memory_report(child.id())
    );

    // requestedAt → lastHandledReconcileAt, 20 runs.
    let path = "/apis/image.toolkit.fluxcd.io/v1/namespaces/ns0/imagerepositories/app0";
    let mut samples = Vec::new();
    for run in 0..20 {
        let token = format!("2026-12-04T00:00:{run:02}.000000000Z");
        let patch = format!(
            r#"{{"metadata":{{"annotations":{{"reconcile.fluxcd.io/requestedAt":"{token}"}}}}}}"#
        );
        let sent = Instant::now();
        let (code, _) = request(cp, "PATCH", path, Some(&patch));
        assert_eq!(code, 200, "annotate");
        loop {
            let (_, body) = request(cp, "GET", path, None);
            if body["status"]["lastHandledReconcileAt"] == token.as_str() {
                break;
            }
            assert!(
                sent.elapsed() < Duration::from_secs(30),
                "requestedAt {token} never handled"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        samples.push(sent.elapsed());
    }
    samples.sort();
    println!(
        "controller requestedAt -> status.lastHandledReconcileAt (scan of 1 tag), 20 runs: p50 {:.1?}, p99 {:.1?}",
        percentile(&samples, 50.0),
        percentile(&samples, 99.0)
    );
    stop(child);
}
