//! End to end: the quickstart scenario against the real docker-registry
//! and a real Git server (git http-backend behind lighttpd): `--once`
//! bumps both containers with the template's message and author, then
//! `--watch` turns a new tag plus a harbor webhook into a commit, a second
//! webhook without a new tag into nothing, and a wrong token into 401.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ferroflux_testkit::git_http::{GitHttpServer, Options as GitOptions};
use ferroflux_testkit::gitrepo;
use ferroflux_testkit::registry::{DockerRegistry, Options as RegistryOptions, free_port};

const IMAGE: &str = "tbd/keyword_correction";
const DEPLOYMENT: &str = "apps/stage/keyword-correction/deployment.yaml";
const TOKEN: &str = "quickstart-token";

fn quickstart() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/quickstart")
}

/// The quickstart's repository files with the registry host filled in.
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

/// A bare repository `root/name` with the quickstart's manifests but no
/// ImageRepository: a run reads them and is not ready, without a registry.
fn without_image_repository(root: &Path, name: &str) -> PathBuf {
    let bare = gitrepo::init_bare(root, name);
    let files: Vec<(String, Vec<u8>)> = quickstart_files("127.0.0.1:1")
        .into_iter()
        .filter(|(p, _)| !p.ends_with("registry.yaml"))
        .collect();
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    gitrepo::commit_files(&bare, "main", &refs, "no ImageRepository");
    bare
}

fn ferroflux() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ferroflux"));
    c.env("HOME", "/nonexistent")
        .env_remove("FERROFLUX_GIT_PASSWORD");
    c
}

/// A raw HTTP/1.1 POST; returns the status code.
fn post(port: u16, path: &str, headers: &[(&str, &str)], body: &str) -> u16 {
    ferroflux_testkit::http::post_json(port, path, headers, body).status
}

fn git_log(bare: &Path, format: &str) -> String {
    gitrepo::git(bare, &["log", "-1", &format!("--format={format}"), "main"])
}

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start `automate --watch` and wait (60 s at most) for its first pass;
/// its stderr lines keep arriving on the receiver.
fn watch_until_first_pass(cmd: &mut Command) -> (Child, std::sync::mpsc::Receiver<String>) {
    let mut child = Child(
        cmd.stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("automate --watch starts"),
    );
    let (log_tx, log_rx) = std::sync::mpsc::channel::<String>();
    let stderr = child.0.stderr.take().expect("piped stderr");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if log_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut log = Vec::new();
    let ready_by = Instant::now() + Duration::from_secs(60);
    while !log.iter().any(|l: &String| l.contains("first pass done")) {
        let left = ready_by.saturating_duration_since(Instant::now());
        match log_rx.recv_timeout(left) {
            Ok(l) => log.push(l),
            Err(_) => panic!(
                "automate --watch never finished its first pass:\n{}",
                log.join("\n")
            ),
        }
    }
    (child, log_rx)
}

#[test]
fn quickstart_once_then_watch_with_harbor_webhooks() {
    let Some(registry) = DockerRegistry::start(RegistryOptions::default()) else {
        return;
    };
    let Some(git) = GitHttpServer::start(GitOptions::default()) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let bare = gitrepo::init_bare(git.root(), "flux.git");
    let files = quickstart_files(&registry.host());
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    let initial = gitrepo::commit_files(&bare, "main", &refs, "initial manifests");
    for tag in ["0.13.2", "api-0.13.0", "streamlit-0.13.0", "0.13.3"] {
        rt.block_on(registry.push_image(IMAGE, tag));
    }
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state/state.redb");
    let url = git.url("flux.git");
    let secrets = quickstart().join("secrets");
    let common = |c: &mut Command| {
        c.args(["automate", "--repo", &url, "--path", "clusters/stage"])
            .arg("--state")
            .arg(&state)
            .arg("--secrets")
            .arg(&secrets);
    };

    // --once: both containers, the template's message, the template's author.
    let mut once = ferroflux();
    common(&mut once);
    let out = once.arg("--once").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("flux-system/keyword-correction: 4 tags"),
        "{stdout}"
    );
    assert!(
        stdout.contains("flux-system/keyword-correction: 0.13.3"),
        "{stdout}"
    );
    assert!(
        stdout.contains("flux-system/flux-system: pushed commit "),
        "{stdout}"
    );
    assert_ne!(gitrepo::rev_parse(&bare, "main").unwrap(), initial);
    let deployment = gitrepo::show_file(&bare, "main", DEPLOYMENT);
    let want = format!("{}:0.13.3 # {{\"$imagepolicy\"", registry.image(IMAGE));
    assert_eq!(deployment.matches(&want).count(), 2, "{deployment}");
    assert_eq!(git_log(&bare, "%an <%ae>"), "gitea-bot <bot@gitea.com>");
    assert_eq!(git_log(&bare, "%cn <%ce>"), "gitea-bot <bot@gitea.com>");
    assert_eq!(
        git_log(&bare, "%B"),
        "Automated image update\nAutomation name: flux-system/flux-system\nFiles:\n\
         - keyword-correction/deployment.yaml\nObjects:\n- Deployment keyword-correction"
    );
    let hook = stdout
        .lines()
        .find_map(|l| {
            l.split_once("flux-system/harbor-receiver: ")
                .map(|(_, p)| p.trim().to_string())
        })
        .expect("the receiver's webhook path in the summary");
    assert!(hook.starts_with("/hook/") && hook.len() == 6 + 64, "{hook}");

    // `ferroflux get image policy` reads the state the run left.
    let get = ferroflux()
        .args(["get", "image", "policy", "--state"])
        .arg(&state)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&get.stdout);
    assert!(get.status.success(), "{table}");
    let mut lines = table.lines();
    let header = lines.next().unwrap();
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        ["NAME", "IMAGE", "TAG", "READY", "MESSAGE"],
        "{table}"
    );
    let row: Vec<&str> = lines
        .next()
        .unwrap()
        .split("   ")
        .filter(|c| !c.is_empty())
        .map(str::trim)
        .collect();
    assert_eq!(row[0], "keyword-correction", "{table}");
    assert_eq!(row[1], registry.image(IMAGE), "{table}");
    assert_eq!(row[2], "0.13.3", "{table}");
    assert_eq!(row[3], "True", "{table}");

    // --watch on a free port.
    let port = free_port();
    let mut watch = ferroflux();
    common(&mut watch);
    let (mut child, log_rx) =
        watch_until_first_pass(watch.args(["--watch", "--listen", &format!("127.0.0.1:{port}")]));
    let head = gitrepo::rev_parse(&bare, "main").unwrap();

    // A wrong token: 401 and nothing happens.
    assert_eq!(post(port, &hook, &[("Authorization", "wrong")], "{}"), 401);
    // A new tag, then the right token: a commit within a few seconds.
    rt.block_on(registry.push_image(IMAGE, "0.13.4"));
    let sent = Instant::now();
    assert_eq!(post(port, &hook, &[("Authorization", TOKEN)], "{}"), 200);
    let mut new_head = head.clone();
    while new_head == head && sent.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(20));
        new_head = gitrepo::rev_parse(&bare, "main").unwrap();
    }
    let latency = sent.elapsed();
    assert_ne!(
        new_head,
        head,
        "no commit after the webhook:\n{}",
        log_rx.try_iter().collect::<Vec<_>>().join("\n")
    );
    eprintln!("webhook → pushed commit in {latency:?}");
    let deployment = gitrepo::show_file(&bare, "main", DEPLOYMENT);
    assert_eq!(deployment.matches(":0.13.4 # ").count(), 2, "{deployment}");
    assert!(git_log(&bare, "%B").starts_with("Automated image update\n"));

    // The same webhook again, no new tag: no commit.
    assert_eq!(post(port, &hook, &[("Authorization", TOKEN)], "{}"), 200);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(gitrepo::rev_parse(&bare, "main").unwrap(), new_head);
    // The wrong token once more, after a new tag: still nothing.
    rt.block_on(registry.push_image(IMAGE, "0.13.5"));
    assert_eq!(post(port, &hook, &[("Authorization", "wrong")], "{}"), 401);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(gitrepo::rev_parse(&bare, "main").unwrap(), new_head);

    // SIGTERM: the process exits cleanly.
    let status = ferroflux_testkit::process::terminate(
        &mut child.0,
        Duration::from_secs(20),
        "ferroflux automate --watch",
    );
    assert_eq!(status.code(), Some(0));
}

#[test]
fn once_without_a_mode_or_with_both_is_a_usage_error() {
    for args in [
        &["--repo", "x"][..],
        &["--repo", "x", "--once", "--watch"][..],
    ] {
        let out = ferroflux().arg("automate").args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn a_missing_repository_fails_with_its_name() {
    let tmp = tempfile::tempdir().unwrap();
    let out = ferroflux()
        .args(["automate", "--once", "--repo"])
        .arg(tmp.path().join("nope"))
        .arg("--state")
        .arg(tmp.path().join("s.redb"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("error: repository file://") && stderr.contains("nope"),
        "{stderr}"
    );
}

/// The README's "run" command works: examples/quickstart/run.sh with this
/// build's binary bumps both containers.
#[test]
fn quickstart_script() {
    let script = quickstart().join("run.sh");
    if DockerRegistry::binary().is_none() || !gitrepo::git_available() {
        ferroflux_testkit::env::skip_or_fail("docker-registry and git for the quickstart");
        return;
    }
    if Command::new("curl").arg("--version").output().is_err() {
        ferroflux_testkit::env::skip_or_fail("curl for the quickstart");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let out = Command::new("bash")
        .arg(&script)
        .env("FERROFLUX", env!("CARGO_BIN_EXE_ferroflux"))
        .env("QUICKSTART_DIR", work.path())
        .env("QUICKSTART_PORT", free_port().to_string())
        .env("HOME", "/nonexistent")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let added: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("+ ") || l.starts_with("+  "))
        .filter(|l| l.contains("/tbd/keyword_correction:0.13.3 # {\"$imagepolicy\""))
        .collect();
    assert_eq!(added.len(), 2, "{stdout}");
    assert!(
        stdout.contains("Author: gitea-bot <bot@gitea.com>"),
        "{stdout}"
    );
}

/// `--once` exits 1 when an object is not ready (here the Receiver, whose
/// token Secret is not given, and the policy, whose repository is not in
/// Git), and `--log-format json` writes one JSON object per log line.
#[test]
fn once_exits_1_when_not_ready_and_logs_json() {
    if !gitrepo::git_available() {
        ferroflux_testkit::env::skip_or_fail("git binary");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let bare = without_image_repository(tmp.path(), "flux.git");
    let out = ferroflux()
        .args(["automate", "--once", "--log-format", "json", "--repo"])
        .arg(&bare)
        .args(["--path", "clusters/stage", "--state"])
        .arg(tmp.path().join("state.redb"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("harbor-receiver") && stdout.contains("webhook-token"),
        "{stdout}"
    );
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "no logs");
    for l in &lines {
        let v: serde_json::Value =
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
        assert!(v["level"].is_string() && v["fields"].is_object(), "{l}");
    }
}

/// `--repo` over HTTP with Basic auth: the password comes from
/// `FERROFLUX_GIT_PASSWORD` (never the command line); with a wrong one the
/// checkout fails with an error that shows no password.
#[test]
fn repo_password_from_the_environment() {
    let Some(git) = GitHttpServer::start(GitOptions {
        basic_auth: Some(("flux".to_string(), "s3cret-pw".to_string())),
    }) else {
        return;
    };
    without_image_repository(git.root(), "fleet.git");
    let tmp = tempfile::tempdir().unwrap();
    let run = |password: Option<&str>, state: &str| {
        let mut c = ferroflux();
        c.args(["automate", "--once", "--repo", &git.url("fleet.git")])
            .args(["--path", "clusters/stage", "--state"])
            .arg(tmp.path().join(state));
        if let Some(p) = password {
            c.env("FERROFLUX_GIT_USERNAME", "flux")
                .env("FERROFLUX_GIT_PASSWORD", p);
        }
        c.output().unwrap()
    };
    // With the password: the manifests are read (the run then reports the
    // Receiver without its token Secret: exit 1, not a checkout error).
    let out = run(Some("s3cret-pw"), "a.redb");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("harbor-receiver"), "{stdout}");
    // A wrong password: exit 2, an authentication error, no password.
    let out = run(Some("wrong-pw"), "b.redb");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("error: repository"), "{stderr}");
    assert!(
        !stderr.contains("wrong-pw") && !stderr.contains("s3cret"),
        "{stderr}"
    );
}

/// `--repo http://flux@host/...` with only `FERROFLUX_GIT_PASSWORD`: the
/// user comes from the URL, as with git; the clone cache under the state
/// directory is private and holds no password.
#[test]
fn repo_user_from_the_url() {
    use std::os::unix::fs::PermissionsExt as _;
    let Some(git) = GitHttpServer::start(GitOptions {
        basic_auth: Some(("flux".to_string(), "s3cret-pw".to_string())),
    }) else {
        return;
    };
    without_image_repository(git.root(), "fleet.git");
    let tmp = tempfile::tempdir().unwrap();
    let url = git.url("fleet.git").replace("http://", "http://flux@");
    let out = ferroflux()
        .args(["automate", "--once", "--repo", &url])
        .args(["--path", "clusters/stage", "--state"])
        .arg(tmp.path().join("state").join("state.redb"))
        .env_remove("FERROFLUX_GIT_USERNAME")
        .env("FERROFLUX_GIT_PASSWORD", "s3cret-pw")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("harbor-receiver"), "{stdout}");
    let cache = tmp.path().join("state").join("cache");
    let mode = std::fs::metadata(cache.join("manifests"))
        .expect("clone cache under the state directory")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
    let config = std::fs::read_dir(cache.join("manifests"))
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path().join(".git/config")).unwrap_or_default())
        .collect::<String>();
    assert!(config.contains("url = http://flux@"), "{config}");
    assert!(!config.contains("s3cret-pw"), "{config}");
}

/// Requests of one kind in a lighttpd access log (`METHOD /path?query STATUS`).
fn requests(log: &str, method: &str, service: &str) -> usize {
    log.lines()
        .filter(|l| l.starts_with(method) && l.contains(service))
        .count()
}

/// Issue 13 item 3: one webhook-triggered cycle of `--watch` on git
/// http-backend with Basic auth fetches once and pushes once. The
/// manifests come from the repository and branch the automation pushed
/// to, so they are re-read from the automation's clone instead of being
/// fetched again; no request waits for a 401.
#[test]
fn a_webhook_cycle_fetches_once_and_pushes_once() {
    let Some(registry) = DockerRegistry::start(RegistryOptions::default()) else {
        return;
    };
    let Some(git) = GitHttpServer::start(GitOptions {
        basic_auth: Some(("flux".to_string(), "s3cret-pw".to_string())),
    }) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let bare = gitrepo::init_bare(git.root(), "flux.git");
    let files = quickstart_files(&registry.host());
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    gitrepo::commit_files(&bare, "main", &refs, "initial manifests");
    rt.block_on(registry.push_image(IMAGE, "0.13.2"));
    let tmp = tempfile::tempdir().unwrap();
    let url = git.url("flux.git");
    let state = tmp.path().join("state/state.redb");
    let secrets = quickstart().join("secrets");
    let automate = |mode: &str| {
        let mut c = ferroflux();
        c.args(["automate", mode, "--repo", &url, "--path", "clusters/stage"])
            .arg("--state")
            .arg(&state)
            .arg("--secrets")
            .arg(&secrets)
            .env("FERROFLUX_GIT_USERNAME", "flux")
            .env("FERROFLUX_GIT_PASSWORD", "s3cret-pw");
        c
    };
    // A first run for the Receiver's webhook path (it prints it).
    let out = automate("--once").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hook = stdout
        .lines()
        .find_map(|l| {
            l.split_once("flux-system/harbor-receiver: ")
                .map(|(_, p)| p.trim().to_string())
        })
        .expect("the receiver's webhook path in the summary");
    let port = free_port();
    let (_child, log_rx) = watch_until_first_pass(
        automate("--watch").args(["--listen", &format!("127.0.0.1:{port}")]),
    );
    let head = gitrepo::rev_parse(&bare, "main").unwrap();
    rt.block_on(registry.push_image(IMAGE, "0.13.3"));
    // lighttpd logs requests in the order they end: a request for a marker
    // before the webhook and one after the cycle frame its requests.
    ferroflux_testkit::http::get(git.port(), "/cycle-starts");
    assert_eq!(post(port, &hook, &[("Authorization", TOKEN)], "{}"), 200);
    let sent = Instant::now();
    while gitrepo::rev_parse(&bare, "main").unwrap() == head {
        assert!(
            sent.elapsed() < Duration::from_secs(30),
            "no commit after the webhook:\n{}",
            log_rx.try_iter().collect::<Vec<_>>().join("\n")
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Whatever follows the push (re-reading the manifests) shows up here.
    std::thread::sleep(Duration::from_secs(2));
    ferroflux_testkit::http::get(git.port(), "/cycle-ends");
    let mut access = git.access_log();
    while !access.contains("/cycle-ends") {
        assert!(sent.elapsed() < Duration::from_secs(60), "{access}");
        access = git.access_log();
    }
    let cycle = access
        .split_once("/cycle-starts")
        .and_then(|(_, rest)| rest.split_once("/cycle-ends"))
        .map_or("", |(cycle, _)| cycle);
    assert_eq!(
        requests(cycle, "GET", "service=git-upload-pack"),
        1,
        "one fetch:\n{cycle}"
    );
    assert_eq!(
        requests(cycle, "POST", "git-receive-pack"),
        1,
        "one push:\n{cycle}"
    );
    assert!(
        !cycle.lines().any(|l| l.ends_with(" 401")),
        "no 401 round trip:\n{cycle}"
    );
    let deployment = gitrepo::show_file(&bare, "main", DEPLOYMENT);
    assert_eq!(deployment.matches(":0.13.3 # ").count(), 2, "{deployment}");
    // The objects read from the automation's clone run the next cycle.
    let head = gitrepo::rev_parse(&bare, "main").unwrap();
    rt.block_on(registry.push_image(IMAGE, "0.13.4"));
    assert_eq!(post(port, &hook, &[("Authorization", TOKEN)], "{}"), 200);
    let sent = Instant::now();
    while gitrepo::rev_parse(&bare, "main").unwrap() == head {
        assert!(
            sent.elapsed() < Duration::from_secs(30),
            "no second commit:\n{}",
            log_rx.try_iter().collect::<Vec<_>>().join("\n")
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let deployment = gitrepo::show_file(&bare, "main", DEPLOYMENT);
    assert_eq!(deployment.matches(":0.13.4 # ").count(), 2, "{deployment}");
    let log: Vec<String> = log_rx.try_iter().collect();
    assert!(
        !log.iter()
            .any(|l| l.contains("re-reading manifests failed")),
        "{}",
        log.join("\n")
    );
}

/// `automate --once --kubeconfig`: GitOps with nothing installed in the
/// cluster. The repository's Kustomization is applied from outside (its
/// inventory in the state file), a file removed from Git is pruned, and
/// `get kustomizations --state` reads what it stored.
#[test]
fn once_with_kubeconfig_applies_and_prunes_the_repository_kustomizations() {
    let Some(env) = crate::kubernetes::env() else {
        return;
    };
    if !gitrepo::git_available() {
        ferroflux_testkit::env::skip_or_fail("git binary");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let ns = env.cp.namespace("automate-ks");
    let bare = gitrepo::init_bare(tmp.path(), "fleet.git");
    let sync = format!(
        "apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 1m0s
  ref:
    branch: main
  url: https://git.example/fleet.git
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: {ns}
spec:
  interval: 10m0s
  path: ./apps
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
    namespace: flux-system
  targetNamespace: {ns}
  postBuild:
    substituteFrom:
      - kind: ConfigMap
        name: vars
"
    );
    let cm = |name: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: ${{greeting}}\n"
        )
    };
    let first = gitrepo::commit_files(
        &bare,
        "main",
        &[
            ("clusters/dev/sync.yaml", sync.as_bytes()),
            ("apps/a.yaml", cm("a").as_bytes()),
            ("apps/b.yaml", cm("b").as_bytes()),
        ],
        "two ConfigMaps",
    );
    let state = tmp.path().join("state/state.redb");
    let run = || {
        ferroflux()
            .args(["automate", "--once", "--path", "clusters/dev"])
            .arg("--repo")
            .arg(&bare)
            .arg("--state")
            .arg(&state)
            .arg("--kubeconfig")
            .arg(env.cp.kubeconfig())
            .output()
            .expect("automate runs")
    };
    let kubectl =
        |args: &[&str]| crate::kubernetes::kubectl_run(&env.kubectl, &env.cp.kubeconfig(), args);
    // substituteFrom reads its ConfigMap from the cluster, as Flux does.
    let (ok, said) = kubectl(&[
        "create",
        "configmap",
        "vars",
        "-n",
        &ns,
        "--from-literal=greeting=hello",
    ]);
    assert!(ok, "{said}");
    let out = run();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(&format!(
            "kustomizations:\n  ok   {ns}/apps: main@sha1:{first}"
        )),
        "{text}"
    );
    let (ok, labels) = kubectl(&[
        "get",
        "configmap",
        "b",
        "-n",
        &ns,
        "-o",
        "jsonpath={.metadata.labels}",
    ]);
    assert!(ok, "{labels}");
    assert!(
        labels.contains("\"kustomize.toolkit.fluxcd.io/name\":\"apps\""),
        "{labels}"
    );
    let (ok, data) = kubectl(&[
        "get",
        "configmap",
        "b",
        "-n",
        &ns,
        "-o",
        "jsonpath={.data.k}",
    ]);
    assert!(ok && data == "hello", "{data}");

    // The Kustomization moves to a path without b.yaml: the next run
    // prunes that ConfigMap (it left the inventory) and keeps a.
    let moved = sync.replace("path: ./apps", "path: ./apps2");
    let second = gitrepo::commit_files(
        &bare,
        "main",
        &[
            ("clusters/dev/sync.yaml", moved.as_bytes()),
            ("apps2/a.yaml", cm("a").as_bytes()),
        ],
        "one ConfigMap",
    );
    let out = run();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}");
    assert!(text.contains(&format!("main@sha1:{second}")), "{text}");
    let (gone, said) = kubectl(&["get", "configmap", "b", "-n", &ns]);
    assert!(!gone, "b was not pruned: {said}");
    let (kept, said) = kubectl(&["get", "configmap", "a", "-n", &ns]);
    assert!(kept, "{said}");

    // The state file answers `get kustomizations`.
    let get = ferroflux()
        .args(["get", "kustomizations", "-A", "--state"])
        .arg(&state)
        .output()
        .expect("get runs");
    let table = String::from_utf8_lossy(&get.stdout);
    assert!(
        get.status.success(),
        "{table}{}",
        String::from_utf8_lossy(&get.stderr)
    );
    assert!(
        table.contains(&format!("main@sha1:{}", &second[..8])) && table.contains("apps"),
        "{table}"
    );
}

/// Seed 001's fleet, applied by `automate --once --kubeconfig` in one
/// pass: its `dependencies.yaml` (crds → infrastructure → apps through
/// `dependsOn`) over the article's base and production overlay. The CRD
/// established first lets infrastructure create an object of it; the apps
/// overlay's patches reach the apiserver. (The seed's healthCheck on
/// cert-manager's Deployment is dropped: this control plane runs no
/// Deployment controller, so nothing would ever become Available.)
#[test]
fn once_with_kubeconfig_applies_seed_001_fleet_in_dependency_order() {
    let Some(env) = crate::kubernetes::env() else {
        return;
    };
    let Some(seed) = crate::build::seed_001_files(&["02", "03", "04", "05", "06", "24"]) else {
        return;
    };
    if !gitrepo::git_available() {
        ferroflux_testkit::env::skip_or_fail("git binary");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let ns = env.cp.namespace("fleet");
    let group = format!("{ns}.example.com");
    let mut files: Vec<(String, String)> = seed
        .into_iter()
        .map(|(path, text)| {
            let text = text
                .replace("namespace: production", &format!("namespace: {ns}"))
                .replace(
                    "  healthChecks:\n    - apiVersion: apps/v1\n      kind: Deployment\n      name: cert-manager\n      namespace: cert-manager\n",
                    "",
                );
            (path, text)
        })
        .collect();
    assert!(
        files
            .iter()
            .any(|(p, t)| p == "clusters/production/dependencies.yaml"
                && !t.contains("healthChecks")),
        "the seed's dependencies.yaml changed"
    );
    files.push((
        "clusters/production/flux-system.yaml".into(),
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 1m0s\n  ref:\n    branch: main\n  url: https://github.com/myorg/fleet.git\n".into(),
    ));
    files.push((
        "infrastructure/crds/widgets.yaml".into(),
        format!(
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.{group}\nspec:\n  group: {group}\n  names:\n    kind: Widget\n    plural: widgets\n    singular: widget\n  scope: Namespaced\n  versions:\n    - name: v1\n      served: true\n      storage: true\n      schema:\n        openAPIV3Schema:\n          type: object\n          x-kubernetes-preserve-unknown-fields: true\n"
        ),
    ));
    files.push((
        "infrastructure/overlays/production/kustomization.yaml".into(),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - namespace.yaml\n  - widget.yaml\n".into(),
    ));
    files.push((
        "infrastructure/overlays/production/namespace.yaml".into(),
        format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n"),
    ));
    files.push((
        "infrastructure/overlays/production/widget.yaml".into(),
        format!("apiVersion: {group}/v1\nkind: Widget\nmetadata:\n  name: ingress\n  namespace: {ns}\nspec:\n  size: 3\n"),
    ));
    let bare = gitrepo::init_bare(tmp.path(), "fleet.git");
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_bytes()))
        .collect();
    let head = gitrepo::commit_files(&bare, "main", &refs, "seed 001's fleet");
    let out = ferroflux()
        .args(["automate", "--once", "--path", "clusters/production"])
        .arg("--repo")
        .arg(&bare)
        .arg("--state")
        .arg(tmp.path().join("state.redb"))
        .arg("--kubeconfig")
        .arg(env.cp.kubeconfig())
        .output()
        .expect("automate runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in ["apps", "crds", "infrastructure"] {
        assert!(
            text.contains(&format!("  ok   flux-system/{name}: main@sha1:{head}")),
            "{name}:\n{text}"
        );
    }
    let get = |kind: &str, name: &str, path: &str| {
        let jsonpath = format!("jsonpath={path}");
        let args = ["get", kind, name, "-n", &ns, "-o", &jsonpath];
        crate::kubernetes::kubectl_run(&env.kubectl, &env.cp.kubeconfig(), &args)
    };
    let (ok, widget) = get("widget", "ingress", "{.spec.size}");
    assert!(ok && widget == "3", "{widget}");
    let (ok, replicas) = get("deployment", "web-app", "{.spec.replicas}");
    assert!(ok && replicas == "5", "{replicas}");
    let (ok, labels) = get("deployment", "web-app", "{.metadata.labels}");
    assert!(ok, "{labels}");
    assert!(
        labels.contains("\"app.kubernetes.io/managed-by\":\"flux\"")
            && labels.contains("\"kustomize.toolkit.fluxcd.io/name\":\"apps\""),
        "{labels}"
    );
    let (ok, min) = get("hpa", "web-app", "{.spec.minReplicas}");
    assert!(ok && min == "5", "{min}");
}
