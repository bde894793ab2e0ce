//! `cargo bench -p ferroflux --bench e2e`: the acceptance figures of
//! `ferroflux automate --watch`, measured on loopback with the real
//! docker-registry and git http-backend:
//!
//! 1. webhook POST → commit on the remote branch, 20 runs: p50 and p99
//!    (target: p50 < 1 s, p99 < 2 s);
//! 2. resident memory with 100 ImageRepositories, 100 ImagePolicies and 10
//!    ImageUpdateAutomations after the first pass (target: < 30 MiB);
//! 3. and 4. the same for `ferroflux controller`, and the time from
//!    `requestedAt` to updated status ([`controller`]).
//!
//! A fixed number of runs and percentiles is what the acceptance asks for,
//! so this bench has its own harness rather than criterion's sampling.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ferroflux_testkit::git_http::{GitHttpServer, Options as GitOptions};
use ferroflux_testkit::gitrepo;
use ferroflux_testkit::registry::{DockerRegistry, Options as RegistryOptions, free_port};

#[path = "e2e/controller.rs"]
mod controller;

const TOKEN: &str = "quickstart-token";

fn quickstart() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/quickstart")
}

fn quickstart_files(registry: &str) -> Vec<(String, Vec<u8>)> {
    let root = quickstart().join("repo");
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("quickstart dir") {
            let p = entry.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let text = std::fs::read_to_string(&p).expect("quickstart file");
            let rel = p.strip_prefix(&root).expect("under root");
            out.push((
                rel.to_string_lossy().to_string(),
                text.replace("REGISTRY_HOST", registry).into_bytes(),
            ));
        }
    }
    out
}

const GIT_PASSWORD: &str = "bench-s3cret";

fn post(port: u16, path: &str, token: &str) -> u16 {
    ferroflux_testkit::http::post_json(port, path, &[("Authorization", token)], "{}").status
}

/// `ferroflux automate --watch`, returned once its first pass is done.
fn watch(url: &str, path: &str, state: &Path, port: u16) -> Child {
    watch_with(url, path, state, port, None)
}

/// [`watch`] with a Basic password in `FERROFLUX_GIT_PASSWORD`.
fn watch_with(url: &str, path: &str, state: &Path, port: u16, password: Option<&str>) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferroflux"));
    if let Some(p) = password {
        cmd.env("FERROFLUX_GIT_PASSWORD", p);
    }
    let mut child = cmd
        .args(["automate", "--watch", "--repo", url, "--path", path])
        .arg("--state")
        .arg(state)
        .arg("--secrets")
        .arg(quickstart().join("secrets"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("HOME", "/nonexistent")
        .env("FERROFLUX_LOG", "warn,ferroflux_runtime::automate=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ferroflux");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("first pass of automate --watch");
        if line.contains("first pass done") {
            break;
        }
    }
    child
}

fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

/// `VmRSS X (anonymous Y, file Z), VmHWM W` of a process.
fn memory_report(pid: u32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .map(|l| l.trim_start_matches(name).trim().to_string())
            .unwrap_or_default()
    };
    format!(
        "VmRSS {} (anonymous {}, file {}), VmHWM {}",
        field("VmRSS:"),
        field("RssAnon:"),
        field("RssFile:"),
        field("VmHWM:")
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn latency(registry: &DockerRegistry, git: &GitHttpServer, rt: &tokio::runtime::Runtime) {
    let bare = gitrepo::init_bare(git.root(), "latency.git");
    let files = quickstart_files(&registry.host());
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    gitrepo::commit_files(&bare, "main", &refs, "initial");
    rt.block_on(registry.push_image("tbd/keyword_correction", "0.13.3"));
    let tmp = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    // Basic auth over http-backend, the user in the URL: what users run.
    let url = git.url("latency.git").replace("http://", "http://flux@");
    let child = watch_with(
        &url,
        "clusters/stage",
        &tmp.path().join("state.redb"),
        port,
        Some(GIT_PASSWORD),
    );
    let log_before = git.access_log().lines().count();
    let hook = webhook_path(TOKEN, "harbor-receiver", "flux-system");
    let mut samples = Vec::new();
    for i in 0..20 {
        rt.block_on(registry.push_image("tbd/keyword_correction", &format!("0.14.{i}")));
        let before = gitrepo::rev_parse(&bare, "main");
        let t0 = Instant::now();
        assert_eq!(post(port, &hook, TOKEN), 200);
        while gitrepo::rev_parse(&bare, "main") == before {
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "no commit after run {i}"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        samples.push(t0.elapsed());
    }
    stop(child);
    let log = git.access_log();
    let cycle: Vec<&str> = log.lines().skip(log_before).collect();
    let unauthorized = cycle.iter().filter(|l| l.ends_with(" 401")).count();
    println!(
        "http-backend access log over {} webhook cycles: {:.1} requests and {:.1} 401s per cycle",
        samples.len(),
        cycle.len() as f64 / samples.len() as f64,
        unauthorized as f64 / samples.len() as f64
    );
    samples.sort();
    println!(
        "webhook POST -> commit on the remote branch (http-backend, Basic auth), {} runs: p50 {:?}, p99 {:?}, min {:?}, max {:?}",
        samples.len(),
        percentile(&samples, 50.0),
        percentile(&samples, 99.0),
        samples[0],
        samples[samples.len() - 1]
    );
}

/// Flux's Receiver path: `/hook/` + sha256(token + name + namespace).
fn webhook_path(token: &str, name: &str, ns: &str) -> String {
    let out = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin
                .take()
                .expect("stdin")
                .write_all(format!("{token}{name}{ns}").as_bytes())?;
            c.wait_with_output()
        })
        .expect("sha256sum");
    let text = String::from_utf8_lossy(&out.stdout);
    format!("/hook/{}", text.split_whitespace().next().expect("digest"))
}

fn memory(registry: &DockerRegistry, git: &GitHttpServer, rt: &tokio::runtime::Runtime) {
    let host = registry.host();
    let mut files: Vec<(String, String)> = Vec::new();
    for i in 0..100 {
        rt.block_on(registry.push_image(&format!("mem/app{i}"), "1.0.0"));
        let auto = i % 10;
        files.push((
            format!("clusters/mem/app{i}.yaml"),
            format!(
                "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: app{i}\n  namespace: ns{auto}\nspec:\n  image: {host}/mem/app{i}\n  interval: 5m0s\n  insecure: true\n---\n\
                 apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: app{i}\n  namespace: ns{auto}\nspec:\n  imageRepositoryRef:\n    name: app{i}\n  policy:\n    semver:\n      range: '>=0.1.0'\n"
            ),
        ));
        files.push((
            format!("apps/ns{auto}/app{i}.yaml"),
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app{i}\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: {host}/mem/app{i}:0.9.0 # {{\"$imagepolicy\": \"ns{auto}:app{i}\"}}\n"
            ),
        ));
    }
    for a in 0..10 {
        files.push((
            format!("clusters/mem/automation{a}.yaml"),
            format!(
                "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageUpdateAutomation\nmetadata:\n  name: auto{a}\n  namespace: ns{a}\nspec:\n  interval: 10m0s\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n    namespace: flux-system\n  git:\n    commit:\n      author:\n        email: bot@example.invalid\n        name: bot\n    push:\n      branch: main\n  update:\n    path: ./apps/ns{a}\n    strategy: Setters\n"
            ),
        ));
    }
    let bare = gitrepo::init_bare(git.root(), "memory.git");
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_bytes()))
        .collect();
    gitrepo::commit_files(&bare, "main", &refs, "100 repositories");
    let tmp = tempfile::tempdir().expect("tempdir");
    let child = watch(
        &git.url("memory.git"),
        "clusters/mem",
        &tmp.path().join("state.redb"),
        free_port(),
    );
    std::thread::sleep(Duration::from_secs(2));
    let commits = gitrepo::log_subjects(&bare, "main").len();
    println!(
        "automate --watch with 100 ImageRepositories, 100 ImagePolicies, 10 automations ({} commits pushed): {}",
        commits - 1,
        memory_report(child.id())
    );
    stop(child);
}

fn main() {
    // `cargo test --benches` runs this with --test (or --list): nothing to do.
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let Some(registry) = DockerRegistry::start(RegistryOptions::default()) else {
        return;
    };
    let Some(git) = GitHttpServer::start(GitOptions::default()) else {
        return;
    };
    let Some(git_auth) = GitHttpServer::start(GitOptions {
        basic_auth: Some(("flux".to_string(), GIT_PASSWORD.to_string())),
    }) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio");
    latency(&registry, &git_auth, &rt);
    memory(&registry, &git, &rt);
    controller::run(&registry, &git, &rt);
}
