//! `cargo bench -p ferroflux --bench versus-flux`: Flux's own
//! image-reflector-controller and image-automation-controller beside
//! `ferroflux controller`, one after the other on the same apiserver, the
//! same docker-registry (htpasswd + TLS) and the same git http-backend (Basic
//! auth), with the same workload: 100 ImageRepositories, 100 ImagePolicies,
//! 10 ImageUpdateAutomations. Prints one table:
//!
//! - time to converge (all 100 `latestRef`s and 10 commits pushed);
//! - resident memory (VmRSS) and CPU seconds (utime + stime) at that point,
//!   summed over all of Flux's processes, against our one;
//! - `requestedAt` on an ImageRepository (after a new tag is pushed) → its
//!   `lastHandledReconcileAt`, and → the commit on the remote branch, 20 runs
//!   each side, p50/p99 (Flux's webhook Receiver lives in
//!   notification-controller, not built here; annotating `requestedAt` is what
//!   that Receiver does, so this is the comparable webhook → commit path).
//!
//! Needs `FERROFLUX_FLUX_DIR` (the directory `scripts/build-flux` prints:
//! Flux's binaries and CRDs), `FERROFLUX_KUBECTL`, and the control-plane
//! binaries (`FERROFLUX_KUBE_APISERVER`, `FERROFLUX_ETCD`, exported by
//! `.ci/setup.d/40-control-plane.sh`): both sides run against one real
//! kube-apiserver started here, or against `FERROFLUX_VERSUS_KUBECONFIG` when
//! set. Each side sees only its own objects through `--watch-label-selector`.
//!
//! While investigating: `FERROFLUX_VERSUS_ONLY=flux|ferroflux` runs one side,
//! `FERROFLUX_VERSUS_LOG` is ferroflux's log filter (default `warn`), and
//! `FERROFLUX_VERSUS_KEEP=1` keeps the logs and data directory. A side that
//! has not converged after `FERROFLUX_VERSUS_DEADLINE_SECS` (300) is
//! reported as such, with what it reached (Flux's automations of one
//! repository race their pushes and may back off for minutes).

use ferroflux_testkit::process::{self, cpu_seconds, percentile, status_kib};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ferroflux_testkit::control_plane::ControlPlane;
use ferroflux_testkit::git_http::{GitHttpServer, Options as GitOptions};
use ferroflux_testkit::gitrepo;
use ferroflux_testkit::registry::{DockerRegistry, Options as RegistryOptions, free_port};

const REPOS: usize = 100;
const AUTOMATIONS: usize = 10;
const RUNS: usize = 20;
const USER: &str = "bench";
const PASSWORD: &str = "bench-password";

struct Env {
    kubectl: String,
    kubeconfig: PathBuf,
    registry: DockerRegistry,
    git: GitHttpServer,
    rt: tokio::runtime::Runtime,
    tmp: tempfile::TempDir,
}

impl Env {
    fn kubectl(&self, args: &[&str], stdin: Option<&str>) -> String {
        let mut cmd = Command::new(&self.kubectl);
        cmd.arg("--kubeconfig").arg(&self.kubeconfig).args(args);
        let out = process::output_with_stdin(&mut cmd, stdin.unwrap_or("")).expect("kubectl");
        assert!(
            out.status.success(),
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    fn apply(&self, yaml: &str) {
        self.kubectl(
            &["apply", "--server-side", "--force-conflicts", "-f", "-"],
            Some(yaml),
        );
    }

    fn get_json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["get"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-o", "json"]);
        serde_json::from_str(&self.kubectl(&all, None)).unwrap_or(serde_json::Value::Null)
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Side {
    Flux,
    Ferroflux,
}

impl Side {
    fn label(self) -> &'static str {
        match self {
            Side::Flux => "flux",
            Side::Ferroflux => "ferroflux",
        }
    }
}

struct Figures {
    /// Time to converge, or what was reached when the deadline passed.
    converge: Result<Duration, String>,
    rss_kib: u64,
    cpu_secs: f64,
    processes: usize,
    status: Vec<Duration>,
    commit: Vec<Duration>,
}

fn secrets(env: &Env, side: Side, ns: &str) -> String {
    let host = env.registry.host();
    let auth = base64(&format!("{USER}:{PASSWORD}"));
    let docker = base64(&format!(
        r#"{{"auths":{{"{host}":{{"username":"{USER}","password":"{PASSWORD}","auth":"{auth}"}}}}}}"#
    ));
    let ca = base64(env.registry.ca_pem().expect("registry CA"));
    let label = side.label();
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: regcred\n  namespace: {ns}\n  labels:\n    bench: {label}\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: {docker}\n---\n\
         apiVersion: v1\nkind: Secret\nmetadata:\n  name: registry-ca\n  namespace: {ns}\n  labels:\n    bench: {label}\ndata:\n  ca.crt: {ca}\n---\n\
         apiVersion: v1\nkind: Secret\nmetadata:\n  name: git-auth\n  namespace: {ns}\n  labels:\n    bench: {label}\nstringData:\n  username: {USER}\n  password: {PASSWORD}\n---\n"
    )
}

fn base64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// The objects of one side (namespaces `<side>-ns<N>`) and the files of its
/// Git repository.
fn workload(env: &Env, side: Side, git_url: &str) -> (String, Vec<(String, String)>) {
    let host = env.registry.host();
    let label = side.label();
    let mut yaml = String::new();
    let mut files = Vec::new();
    for a in 0..AUTOMATIONS {
        let ns = format!("{label}-ns{a}");
        yaml.push_str(&format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n---\n"
        ));
        yaml.push_str(&secrets(env, side, &ns));
        yaml.push_str(&format!(
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: fleet\n  namespace: {ns}\n  labels:\n    bench: {label}\nspec:\n  interval: 10m0s\n  ref:\n    branch: main\n  url: {git_url}\n  secretRef:\n    name: git-auth\n---\n\
             apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageUpdateAutomation\nmetadata:\n  name: auto{a}\n  namespace: {ns}\n  labels:\n    bench: {label}\nspec:\n  interval: 10m0s\n  sourceRef:\n    kind: GitRepository\n    name: fleet\n  git:\n    checkout:\n      ref:\n        branch: main\n    commit:\n      author:\n        email: bot@example.invalid\n        name: bot\n    push:\n      branch: main\n  update:\n    path: ./apps/ns{a}\n    strategy: Setters\n---\n"
        ));
    }
    for i in 0..REPOS {
        let a = i % AUTOMATIONS;
        let ns = format!("{label}-ns{a}");
        yaml.push_str(&format!(
            "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: app{i}\n  namespace: {ns}\n  labels:\n    bench: {label}\nspec:\n  image: {host}/{label}/app{i}\n  interval: 10m0s\n  secretRef:\n    name: regcred\n  certSecretRef:\n    name: registry-ca\n---\n\
             apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: app{i}\n  namespace: {ns}\n  labels:\n    bench: {label}\nspec:\n  imageRepositoryRef:\n    name: app{i}\n  policy:\n    semver:\n      range: '>=0.1.0'\n---\n"
        ));
        files.push((
            format!("apps/ns{a}/app{i}.yaml"),
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app{i}\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: {host}/{label}/app{i}:0.9.0 # {{\"$imagepolicy\": \"{ns}:app{i}\"}}\n"
            ),
        ));
    }
    (yaml, files)
}

fn spawn(bin: &Path, args: &[String], env: &Env, log: &Path) -> Child {
    let log = std::fs::File::create(log).expect("log file");
    Command::new(bin)
        .args(args)
        .env("KUBECONFIG", &env.kubeconfig)
        .env("HOME", env.tmp.path())
        .env("TMPDIR", env.tmp.path())
        .env(
            "FERROFLUX_LOG",
            std::env::var("FERROFLUX_VERSUS_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", bin.display()))
}

fn start(env: &Env, side: Side, flux_dir: &Path) -> Vec<Child> {
    let addr = || format!("127.0.0.1:{}", free_port());
    let selector = format!("bench={}", side.label());
    let data = env.tmp.path().join(side.label());
    std::fs::create_dir_all(&data).expect("data dir");
    match side {
        Side::Flux => {
            let common = |extra: &[String]| {
                let mut v = vec![
                    "--enable-leader-election=false".to_string(),
                    format!("--metrics-addr={}", addr()),
                    format!("--health-addr={}", addr()),
                    format!("--watch-label-selector={selector}"),
                    "--watch-all-namespaces=true".to_string(),
                    "--log-level=error".to_string(),
                ];
                v.extend_from_slice(extra);
                v
            };
            vec![
                spawn(
                    &flux_dir.join("image-reflector-controller"),
                    &common(&[format!("--storage-path={}", data.join("irc").display())]),
                    env,
                    &data.join("image-reflector-controller.log"),
                ),
                spawn(
                    &flux_dir.join("image-automation-controller"),
                    &common(&[]),
                    env,
                    &data.join("image-automation-controller.log"),
                ),
            ]
        }
        Side::Ferroflux => vec![spawn(
            Path::new(env!("CARGO_BIN_EXE_ferroflux")),
            &[
                "controller".to_string(),
                "--kubeconfig".to_string(),
                env.kubeconfig.display().to_string(),
                "--storage-path".to_string(),
                data.join("store").display().to_string(),
                "--metrics-addr".to_string(),
                addr(),
                "--health-addr".to_string(),
                addr(),
                "--receiver-addr".to_string(),
                addr(),
                "--storage-addr".to_string(),
                addr(),
                "--watch-label-selector".to_string(),
                selector,
            ],
            env,
            &data.join("ferroflux.log"),
        )],
    }
}

fn chosen(env: &Env, side: Side, tag: &str) -> usize {
    let list = env.get_json(&[
        "imagepolicies.image.toolkit.fluxcd.io",
        "-A",
        "-l",
        &format!("bench={}", side.label()),
    ]);
    list["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter(|p| p["status"]["latestRef"]["tag"] == tag)
                .count()
        })
        .unwrap_or(0)
}

fn stop(children: &mut [Child]) {
    for c in children.iter_mut() {
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        let _ = c.wait();
    }
}

fn run(env: &Env, side: Side, flux_dir: &Path) -> Figures {
    // Each side scans its own images (`<side>/app<i>`), so the tags the
    // first side's runs push do not change what the second side chooses.
    for i in 0..REPOS {
        env.rt.block_on(
            env.registry
                .push_image(&format!("{}/app{i}", side.label()), "1.0.0"),
        );
    }
    let name = format!("{}.git", side.label());
    let bare = gitrepo::init_bare(env.git.root(), &name);
    let (yaml, files) = workload(env, side, &env.git.url(&name));
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_bytes()))
        .collect();
    gitrepo::commit_files(&bare, "main", &refs, "100 deployments");

    // CRDs: Flux's own for Flux, ours (`install --export`) for us; all of
    // them served before a controller starts (a watch on a CRD not yet
    // established fails and backs off for a second).
    match side {
        Side::Flux => {
            let mut crds = String::new();
            let mut paths: Vec<PathBuf> = std::fs::read_dir(flux_dir.join("crds"))
                .expect("Flux CRDs")
                .map(|e| e.expect("entry").path())
                .collect();
            paths.sort();
            for p in paths {
                crds.push_str(&std::fs::read_to_string(&p).expect("CRD"));
                crds.push_str("\n---\n");
            }
            env.apply(&crds);
        }
        Side::Ferroflux => {
            let install = Command::new(env!("CARGO_BIN_EXE_ferroflux"))
                .args(["install", "--export"])
                .output()
                .expect("install --export");
            env.apply(&String::from_utf8_lossy(&install.stdout));
        }
    }
    env.kubectl(
        &[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd",
            "--all",
        ],
        None,
    );
    // Established is not yet served everywhere: list every kind once
    // before a controller starts, so that neither side's first watch waits
    // on a CRD created a moment ago (users install CRDs long before).
    let crds = env.get_json(&["crd"]);
    for crd in crds["items"].as_array().into_iter().flatten() {
        let name = crd["metadata"]["name"].as_str().unwrap_or_default();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Command::new(&env.kubectl)
            .arg("--kubeconfig")
            .arg(&env.kubeconfig)
            .args(["get", name, "-A", "-o", "name"])
            .output()
            .map(|o| !o.status.success())
            .unwrap_or(true)
        {
            assert!(Instant::now() < deadline, "{name} is not served after 30 s");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    env.apply(&yaml);

    let started = Instant::now();
    let mut children = start(env, side, flux_dir);
    let pids: Vec<u32> = children.iter().map(Child::id).collect();
    let limit = std::env::var("FERROFLUX_VERSUS_DEADLINE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let deadline = started + Duration::from_secs(limit);
    let converge = loop {
        let n = chosen(env, side, "1.0.0");
        let commits = gitrepo::log_subjects(&bare, "main").len() - 1;
        if n == REPOS && commits == AUTOMATIONS {
            break Ok(started.elapsed());
        }
        for c in children.iter_mut() {
            if let Ok(Some(status)) = c.try_wait() {
                panic!(
                    "{}: a process exited ({status}); logs in {}",
                    side.label(),
                    env.tmp.path().join(side.label()).display()
                );
            }
        }
        if Instant::now() > deadline {
            // Reported in the table, not a panic: a side that never
            // converges is a result too.
            break Err(format!(
                "not in {limit} s ({n}/{REPOS} latestRefs, {commits}/{AUTOMATIONS} commits)"
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    std::thread::sleep(Duration::from_secs(2));
    let rss_kib = pids.iter().map(|&p| status_kib(p, "VmRSS:")).sum();
    let cpu_secs = pids.iter().map(|&p| cpu_seconds(p)).sum();
    if converge.is_err() {
        stop(&mut children);
        return Figures {
            converge,
            rss_kib,
            cpu_secs,
            processes: pids.len(),
            status: Vec::new(),
            commit: Vec::new(),
        };
    }

    // A new tag of app0, then requestedAt on its ImageRepository: time to
    // lastHandledReconcileAt and to the commit that writes the tag.
    let ns = format!("{}-ns0", side.label());
    let mut status = Vec::new();
    let mut commit = Vec::new();
    for run in 0..RUNS {
        let tag = format!("1.1.{run}");
        env.rt.block_on(
            env.registry
                .push_image(&format!("{}/app0", side.label()), &tag),
        );
        let mut before = gitrepo::rev_parse(&bare, "main");
        let token = format!("versus-{run}");
        let sent = Instant::now();
        env.kubectl(
            &[
                "annotate",
                "--overwrite",
                "-n",
                &ns,
                "imagerepositories.image.toolkit.fluxcd.io/app0",
                &format!("reconcile.fluxcd.io/requestedAt={token}"),
            ],
            None,
        );
        let mut handled = None;
        loop {
            let elapsed = sent.elapsed();
            if handled.is_none() {
                let repo =
                    env.get_json(&["-n", &ns, "imagerepositories.image.toolkit.fluxcd.io/app0"]);
                if repo["status"]["lastHandledReconcileAt"] == token.as_str() {
                    handled = Some(elapsed);
                }
            }
            let now = gitrepo::rev_parse(&bare, "main");
            if now != before {
                // Only the commit that writes this tag counts: a late retry
                // of an earlier push (Flux backs off and retries) is not it.
                let file = gitrepo::show_file(&bare, "main", "apps/ns0/app0.yaml");
                if file.contains(&format!("/app0:{tag} ")) {
                    commit.push(elapsed);
                    if handled.is_none() {
                        handled = Some(elapsed);
                    }
                    break;
                }
                before = now;
            }
            assert!(
                elapsed < Duration::from_secs(120),
                "{}: no commit for {tag} within 120 s of requestedAt",
                side.label()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        status.push(handled.expect("handled"));
    }
    stop(&mut children);
    status.sort();
    commit.sort();
    Figures {
        converge,
        rss_kib,
        cpu_secs,
        processes: pids.len(),
        status,
        commit,
    }
}

fn main() {
    // `cargo test --benches` runs this with --test (or --list): nothing to do.
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let Some(flux_dir) = std::env::var_os("FERROFLUX_FLUX_DIR").map(PathBuf::from) else {
        println!("versus-flux skipped: FERROFLUX_FLUX_DIR is not set (run scripts/build-flux)");
        return;
    };
    let Some(kubectl) = std::env::var_os("FERROFLUX_KUBECTL") else {
        println!("versus-flux skipped: FERROFLUX_KUBECTL is not set");
        return;
    };
    let creds = Some((USER.to_string(), PASSWORD.to_string()));
    let Some(registry) = DockerRegistry::start(RegistryOptions {
        htpasswd: creds.clone(),
        tls: true,
        client_auth: false,
    }) else {
        return;
    };
    let Some(git) = GitHttpServer::start(GitOptions { basic_auth: creds }) else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let (_control_plane, kubeconfig) = match std::env::var_os("FERROFLUX_VERSUS_KUBECONFIG") {
        Some(path) => (None, PathBuf::from(path)),
        None => {
            let Some(cp) = ControlPlane::for_tests() else {
                return;
            };
            let path = cp.kubeconfig();
            (Some(cp), path)
        }
    };
    let apiserver = format!(
        "kube-apiserver {} + etcd (RBAC)",
        std::env::var("FERROFLUX_K8S_VERSION")
            .unwrap_or_else(|_| "of FERROFLUX_KUBE_APISERVER".into())
    );
    let env = Env {
        kubectl: kubectl.to_string_lossy().to_string(),
        kubeconfig,
        registry,
        git,
        rt: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio"),
        tmp,
    };
    let only = std::env::var("FERROFLUX_VERSUS_ONLY").ok();
    let wanted = |side: Side| only.as_deref().is_none_or(|o| o == side.label());
    let flux = wanted(Side::Flux).then(|| run(&env, Side::Flux, &flux_dir));
    let ours = wanted(Side::Ferroflux).then(|| run(&env, Side::Ferroflux, &flux_dir));
    if std::env::var_os("FERROFLUX_VERSUS_KEEP").is_some() {
        println!(
            "versus-flux: logs and data kept in {}",
            env.tmp.keep().display()
        );
    }
    let (Some(flux), Some(ours)) = (&flux, &ours) else {
        for (side, f) in [("flux", flux), ("ferroflux", ours)] {
            if let Some(f) = f {
                println!(
                    "{side}: converge {}, VmRSS {:.1} MiB, CPU {:.2} s, requestedAt -> commit p50 {}",
                    converged(&f.converge),
                    f.rss_kib as f64 / 1024.0,
                    f.cpu_secs,
                    ms(percentile(&f.commit, 50.0))
                );
            }
        }
        return;
    };

    println!(
        "versus-flux: {REPOS} ImageRepositories, {REPOS} ImagePolicies, {AUTOMATIONS} ImageUpdateAutomations; {apiserver}; docker-registry (htpasswd+TLS); git http-backend (Basic auth); Flux from {}",
        flux_dir.display()
    );
    println!("| figure | Flux | ferroflux | ratio |");
    println!("|---|---|---|---|");
    let ratio = match (&flux.converge, &ours.converge) {
        (Ok(f), Ok(o)) => format!("{:.1}x faster", f.as_secs_f64() / o.as_secs_f64()),
        _ => String::new(),
    };
    println!(
        "| converge (100 latestRefs, 10 commits) | {} | {} | {ratio} |",
        converged(&flux.converge),
        converged(&ours.converge),
    );
    println!(
        "| resident memory (VmRSS, {} processes vs {}) | {:.1} MiB | {:.1} MiB | {:.2} of Flux |",
        flux.processes,
        ours.processes,
        flux.rss_kib as f64 / 1024.0,
        ours.rss_kib as f64 / 1024.0,
        ours.rss_kib as f64 / flux.rss_kib.max(1) as f64
    );
    println!(
        "| CPU seconds until converged (or the deadline) | {:.2} | {:.2} | {:.2} of Flux |",
        flux.cpu_secs,
        ours.cpu_secs,
        ours.cpu_secs / flux.cpu_secs.max(0.001)
    );
    for (what, f, o) in [
        ("requestedAt -> status, ", &flux.status, &ours.status),
        ("requestedAt -> commit, ", &flux.commit, &ours.commit),
    ] {
        for p in [50.0, 99.0] {
            println!(
                "| {what}p{p:.0} ({RUNS} runs) | {} | {} | |",
                ms(percentile(f, p)),
                ms(percentile(o, p))
            );
        }
    }
}

fn converged(c: &Result<Duration, String>) -> String {
    match c {
        Ok(d) => format!("{:.2} s", d.as_secs_f64()),
        Err(e) => e.clone(),
    }
}

fn ms(d: Option<Duration>) -> String {
    d.map_or_else(
        || "n/a".to_string(),
        |d| format!("{:.0} ms", d.as_secs_f64() * 1000.0),
    )
}
