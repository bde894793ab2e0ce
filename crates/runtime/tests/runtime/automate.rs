//! `Runner::run_once` against a fake registry and a file:// bare repository
//! holding the quickstart's manifests (examples/quickstart/repo).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ferroflux_api::image::{ImagePolicy, ImageRepository};

use ferroflux_runtime::automate::{AutomateOptions, Runner};
use ferroflux_runtime::{ProgressEvent, Secrets, StatusStore};
use ferroflux_testkit::fake_registry::{FakeRegistry, Options as FakeOptions};
use ferroflux_testkit::gitrepo;
use ferroflux_testkit::registry::{DockerRegistry, Options as RegistryOptions};

pub fn quickstart_files(registry: &str) -> Vec<(String, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/quickstart/repo");
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("quickstart dir") {
            let p = entry.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let text = std::fs::read_to_string(&p).expect("quickstart file");
                let rel = p.strip_prefix(&root).expect("under root");
                out.push((
                    rel.to_string_lossy().to_string(),
                    text.replace("REGISTRY_HOST", registry).into_bytes(),
                ));
            }
        }
    }
    out.sort();
    out
}

pub fn quickstart_secrets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/quickstart/secrets")
}

const IMAGE: &str = "tbd/keyword_correction";

/// A fake registry serving `tags` for the quickstart image, in pages of at
/// most `max_page` tags.
pub(crate) async fn quickstart_registry(tags: Vec<String>, max_page: usize) -> FakeRegistry {
    FakeRegistry::start(FakeOptions {
        repositories: BTreeMap::from([(IMAGE.to_string(), tags)]),
        max_page,
        ..FakeOptions::default()
    })
    .await
}

pub(crate) fn tags(list: &[&str]) -> Vec<String> {
    list.iter().map(|t| t.to_string()).collect()
}

/// The quickstart's manifests committed to `tmp/flux.git`: the bare
/// repository, its first commit and the files.
pub(crate) fn quickstart_repo(
    tmp: &Path,
    registry: &str,
) -> (PathBuf, String, Vec<(String, Vec<u8>)>) {
    let bare = gitrepo::init_bare(tmp, "flux.git");
    let files = quickstart_files(registry);
    let first = commit_all(&bare, &files);
    (bare, first, files)
}

/// A GitRepository `stuck` at a server on `port` that never answers, and an
/// automation that reads it, in `namespace`.
fn stuck_git_objects(port: u16, namespace: &str, timeout: &str) -> String {
    format!(
        "apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: stuck
  namespace: {namespace}
spec:
  interval: 1m0s
  timeout: {timeout}
  url: http://127.0.0.1:{port}/stuck.git
  ref:
    branch: main
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata:
  name: stuck
  namespace: {namespace}
spec:
  interval: 1m0s
  sourceRef:
    kind: GitRepository
    name: stuck
  git:
    commit:
      author:
        email: bot@example.com
        name: bot
  update:
    path: ./apps
    strategy: Setters
"
    )
}

/// Commit `files` to `main` of `bare` as "initial": the commit.
pub(crate) fn commit_all(bare: &Path, files: &[(String, Vec<u8>)]) -> String {
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    gitrepo::commit_files(bare, "main", &refs, "initial")
}

/// `automate` options for `repo` (objects under `clusters/stage`), with
/// the quickstart's Secrets or none.
pub(crate) fn quickstart_options(repo: &Path, tmp: &Path, with_secrets: bool) -> AutomateOptions {
    AutomateOptions {
        repo: repo.display().to_string(),
        path: PathBuf::from("clusters/stage"),
        cache_dir: Some(tmp.join("cache")),
        secrets: if with_secrets {
            Secrets::load_dir(&quickstart_secrets()).expect("quickstart secrets")
        } else {
            Secrets::default()
        },
        ..AutomateOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_bumps_both_containers_then_nothing_to_do() {
    if !gitrepo::git_available() {
        ferroflux_testkit::env::skip_or_fail("git binary");
        return;
    }
    let registry = quickstart_registry(
        tags(&["0.13.2", "api-0.13.0", "streamlit-0.13.0", "0.13.3"]),
        100,
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let (bare, first, _) = quickstart_repo(tmp.path(), &registry.host());
    let opts = quickstart_options(&bare, tmp.path(), true);
    let state = StatusStore::open(&tmp.path().join("state.redb")).unwrap();
    let mut runner = Runner::new(opts.clone(), state.clone()).unwrap();
    let summary = runner.run_once().await.unwrap();
    let text = summary.to_string();
    assert!(summary.all_ready(), "{text}");
    assert!(
        text.contains("flux-system/keyword-correction: 4 tags"),
        "{text}"
    );
    assert!(
        text.contains("flux-system/keyword-correction: 0.13.3"),
        "{text}"
    );
    assert!(
        text.contains("flux-system/flux-system: pushed commit "),
        "{text}"
    );
    assert!(
        text.contains("flux-system/harbor-receiver: /hook/"),
        "{text}"
    );

    let head = gitrepo::rev_parse(&bare, "main").unwrap();
    assert_ne!(head, first);
    let deployment = gitrepo::show_file(
        &bare,
        "main",
        "apps/stage/keyword-correction/deployment.yaml",
    );
    assert_eq!(
        deployment.matches("keyword_correction:0.13.3 #").count(),
        2,
        "{deployment}"
    );
    let subject = gitrepo::log_subjects(&bare, "main")[0].clone();
    // `%s` joins the first paragraph: the whole template output here.
    assert_eq!(
        subject,
        "Automated image update Automation name: flux-system/flux-system \
         Files: - keyword-correction/deployment.yaml Objects: - Deployment keyword-correction"
    );

    // Status is in the state database for `ferroflux get`.
    let stored = state.list("ImagePolicy").unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].status.as_ref().unwrap()["latestRef"]["tag"],
        "0.13.3"
    );
    drop(runner);

    // A second process with the same state: nothing new, no commit.
    let mut again = Runner::new(opts, state).unwrap();
    let summary = again.run_once().await.unwrap();
    assert!(summary.all_ready(), "{summary}");
    assert!(
        summary
            .to_string()
            .contains("flux-system/flux-system: no changes"),
        "{summary}"
    );
    assert_eq!(gitrepo::rev_parse(&bare, "main").unwrap(), head);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_secret_fails_only_its_object() {
    if !gitrepo::git_available() {
        ferroflux_testkit::env::skip_or_fail("git binary");
        return;
    }
    let registry = quickstart_registry(tags(&["0.13.3"]), 100).await;
    let tmp = tempfile::tempdir().unwrap();
    let (bare, _, _) = quickstart_repo(tmp.path(), &registry.host());
    // no --secrets: the Receiver's token is missing
    let opts = quickstart_options(&bare, tmp.path(), false);
    let state = StatusStore::open(&tmp.path().join("state.redb")).unwrap();
    let mut runner = Runner::new(opts, state).unwrap();
    let summary = runner.run_once().await.unwrap();
    assert!(!summary.all_ready());
    let failed: Vec<String> = summary
        .lines
        .iter()
        .filter(|l| !l.ready)
        .map(|l| l.key.to_string())
        .collect();
    assert_eq!(
        failed,
        ["Receiver/flux-system/harbor-receiver"],
        "{summary}"
    );
    assert!(
        summary
            .to_string()
            .contains("secret 'flux-system/webhook-token' not found"),
        "{summary}"
    );
}

/// `certSecretRef`: a registry behind a private CA that also asks for a
/// client certificate (mTLS). The repository with the Secret scans; the one
/// without fails with the TLS error, and only it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cert_secret_ref_trusts_the_ca_and_presents_the_client_certificate() {
    if !gitrepo::git_available() {
        ferroflux_testkit::env::skip_or_fail("git binary");
        return;
    }
    let Some(registry) = DockerRegistry::start(RegistryOptions {
        tls: true,
        client_auth: true,
        ..RegistryOptions::default()
    }) else {
        return;
    };
    registry.push_image("tbd/app", "1.0.0").await;
    registry.push_image("tbd/app", "1.1.0").await;
    let image = registry.image("tbd/app");
    let manifests = format!(
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: trusted\n  namespace: flux-system\nspec:\n  image: {image}\n  interval: 5m0s\n  certSecretRef:\n    name: registry-tls\n---\n\
         apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: untrusted\n  namespace: flux-system\nspec:\n  image: {image}\n  interval: 5m0s\n"
    );
    let tmp = tempfile::tempdir().unwrap();
    let bare = gitrepo::init_bare(tmp.path(), "flux.git");
    gitrepo::commit_files(
        &bare,
        "main",
        &[("clusters/registries.yaml", manifests.as_bytes())],
        "initial",
    );
    let client = registry.client_cert().unwrap();
    let mut secrets = Secrets::default();
    secrets.insert(
        "flux-system",
        "registry-tls",
        BTreeMap::from([
            (
                "ca.crt".to_string(),
                registry.ca_pem().unwrap().as_bytes().to_vec(),
            ),
            ("tls.crt".to_string(), client.cert_pem.as_bytes().to_vec()),
            ("tls.key".to_string(), client.key_pem.as_bytes().to_vec()),
        ]),
    );
    let opts = AutomateOptions {
        repo: bare.display().to_string(),
        path: PathBuf::from("clusters"),
        cache_dir: Some(tmp.path().join("cache")),
        secrets,
        ..AutomateOptions::default()
    };
    let state = StatusStore::open(&tmp.path().join("state.redb")).unwrap();
    let mut runner = Runner::new(opts, state).unwrap();
    let summary = runner.run_once().await.unwrap();
    let text = summary.to_string();
    let line = |name: &str| {
        summary
            .lines
            .iter()
            .find(|l| l.key.name == name)
            .cloned()
            .unwrap()
    };
    let trusted = line("trusted");
    assert!(trusted.ready, "{text}");
    assert_eq!(trusted.detail, "2 tags", "{text}");
    let untrusted = line("untrusted");
    assert!(!untrusted.ready, "{text}");
    assert!(untrusted.message.contains("scan failed"), "{text}");
}

/// A scan of several pages reports each page to the progress sink (what
/// `ferroflux automate` shows on a terminal).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_reports_every_page_of_a_long_scan() {
    if !gitrepo::git_available() {
        ferroflux_testkit::env::skip_or_fail("git binary");
        return;
    }
    let registry = quickstart_registry((0..25).map(|i| format!("1.0.{i}")).collect(), 10).await;
    let tmp = tempfile::tempdir().unwrap();
    let (bare, _, _) = quickstart_repo(tmp.path(), &registry.host());
    let opts = quickstart_options(&bare, tmp.path(), true);
    let events = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = std::sync::Arc::clone(&events);
    let state = StatusStore::open(&tmp.path().join("state.redb")).unwrap();
    let mut runner = Runner::new(opts, state)
        .unwrap()
        .with_progress(std::sync::Arc::new(move |e| sink.lock().unwrap().push(e)));
    runner.run_once().await.unwrap();
    let scans: Vec<(usize, usize, bool)> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            ProgressEvent::Scan {
                pages, tags, more, ..
            } => Some((*pages, *tags, *more)),
            ProgressEvent::Fetch { .. } => None,
        })
        .collect();
    assert_eq!(
        scans,
        [(1, 10, true), (2, 20, true), (3, 25, false)],
        "{scans:?}"
    );
}

/// The objects live in Git: a new commit to the manifests is read on the
/// next fetch (what `--watch` does on the GitRepository interval and after
/// every push); an unchanged remote reads nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifests_are_re_read_when_the_repository_changes() {
    if !gitrepo::git_available() {
        ferroflux_testkit::env::skip_or_fail("git binary");
        return;
    }
    let registry = quickstart_registry(tags(&["0.13.2", "0.13.3"]), 100).await;
    let tmp = tempfile::tempdir().unwrap();
    let (bare, _, files) = quickstart_repo(tmp.path(), &registry.host());
    let opts = quickstart_options(&bare, tmp.path(), true);
    let state = StatusStore::open(&tmp.path().join("state.redb")).unwrap();
    let mut runner = Runner::new(opts, state).unwrap();
    runner.run_once().await.unwrap();
    assert_eq!(runner.objects().of::<ImageRepository>().len(), 1);
    assert!(!runner.refresh().await.unwrap(), "nothing changed yet");

    let policy = files
        .iter()
        .find(|(p, _)| p.ends_with("flux/policy.yaml"))
        .map(|(p, b)| {
            (
                p.clone(),
                String::from_utf8_lossy(b).replace(">=0.0.0", "<0.13.3"),
            )
        })
        .unwrap();
    let extra = format!(
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: extra\n  namespace: flux-system\nspec:\n  image: {}/tbd/keyword_correction\n  interval: 5m0s\n  insecure: true\n",
        registry.host()
    );
    gitrepo::commit_files(
        &bare,
        "main",
        &[
            (policy.0.as_str(), policy.1.as_bytes()),
            ("clusters/stage/flux/extra.yaml", extra.as_bytes()),
        ],
        "narrow the range, add a repository",
    );
    assert!(runner.refresh().await.unwrap(), "the new commit is read");
    let objects = runner.objects();
    assert_eq!(objects.of::<ImageRepository>().len(), 2);
    let range = objects
        .of::<ImagePolicy>()
        .values()
        .next()
        .and_then(|p| p.spec.policy.semver.as_ref())
        .map(|s| s.range.clone());
    assert_eq!(range.as_deref(), Some("<0.13.3"));
    assert!(!runner.refresh().await.unwrap(), "read once");
}

/// An automation whose GitRepository has another URL than `--repo` pushes
/// there: it is cloned from its own URL, and `--repo` is left alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_git_repository_with_another_url_is_cloned_from_it() {
    if !gitrepo::git_available() {
        ferroflux_testkit::env::skip_or_fail("git binary");
        return;
    }
    let registry = quickstart_registry(tags(&["0.13.2", "0.13.3"]), 100).await;
    let tmp = tempfile::tempdir().unwrap();
    let files = quickstart_files(&registry.host());
    let apps_bare = gitrepo::init_bare(tmp.path(), "apps.git");
    let deployment = "apps/stage/keyword-correction/deployment.yaml";
    let apps: Vec<(&str, &[u8])> = files
        .iter()
        .filter(|(p, _)| p == deployment)
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    let apps_head = gitrepo::commit_files(&apps_bare, "main", &apps, "apps");
    let fleet_bare = gitrepo::init_bare(tmp.path(), "fleet.git");
    let mut fleet: Vec<(String, Vec<u8>)> = files
        .iter()
        .filter(|(p, _)| p.starts_with("clusters/"))
        .map(|(p, b)| {
            let text = String::from_utf8_lossy(b).replace(
                "kind: GitRepository\n    name: flux-system",
                "kind: GitRepository\n    name: apps",
            );
            (p.clone(), text.into_bytes())
        })
        .collect();
    fleet.push((
        "clusters/stage/flux/apps-source.yaml".to_string(),
        format!(
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 1m0s\n  ref:\n    branch: main\n  url: file://{}\n",
            apps_bare.display()
        )
        .into_bytes(),
    ));
    let refs: Vec<(&str, &[u8])> = fleet
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    let fleet_head = gitrepo::commit_files(&fleet_bare, "main", &refs, "fleet");
    let opts = quickstart_options(&fleet_bare, tmp.path(), true);
    let state = StatusStore::open(&tmp.path().join("state.redb")).unwrap();
    let mut runner = Runner::new(opts, state).unwrap();
    let summary = runner.run_once().await.unwrap();
    assert!(summary.all_ready(), "{summary}");
    assert_ne!(gitrepo::rev_parse(&apps_bare, "main").unwrap(), apps_head);
    assert!(
        gitrepo::show_file(&apps_bare, "main", deployment).contains("keyword_correction:0.13.3 #")
    );
    assert_eq!(gitrepo::rev_parse(&fleet_bare, "main").unwrap(), fleet_head);
}

/// Issue 13 item 2: a one-shot run is an explicit request, so a tag pushed
/// since the last run is seen although the 5m interval has not elapsed;
/// `respect_intervals` (`--respect-intervals`, for cron jobs) keeps the
/// stored scan until the interval is over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_scans_every_repository_and_sees_a_new_tag() {
    if !gitrepo::git_available() {
        ferroflux_testkit::env::skip_or_fail("git binary");
        return;
    }
    let Some(registry) = DockerRegistry::start(RegistryOptions::default()) else {
        return;
    };
    registry.push_image(IMAGE, "0.13.2").await;
    let tmp = tempfile::tempdir().unwrap();
    let (bare, _, _) = quickstart_repo(tmp.path(), &registry.host());
    let opts = quickstart_options(&bare, tmp.path(), true);
    let state = StatusStore::open(&tmp.path().join("state.redb")).unwrap();
    let summary = Runner::new(opts.clone(), state.clone())
        .unwrap()
        .run_once()
        .await
        .unwrap();
    assert!(
        summary
            .to_string()
            .contains("flux-system/keyword-correction: 1 tags"),
        "{summary}"
    );
    let head = gitrepo::rev_parse(&bare, "main").unwrap();

    registry.push_image(IMAGE, "0.13.4").await;
    let cron = AutomateOptions {
        respect_intervals: true,
        ..opts.clone()
    };
    let summary = Runner::new(cron, state.clone())
        .unwrap()
        .run_once()
        .await
        .unwrap();
    assert!(
        summary
            .to_string()
            .contains("flux-system/keyword-correction: 1 tags"),
        "--respect-intervals keeps the stored scan: {summary}"
    );
    assert_eq!(gitrepo::rev_parse(&bare, "main").unwrap(), head);

    let summary = Runner::new(opts, state).unwrap().run_once().await.unwrap();
    let text = summary.to_string();
    assert!(summary.all_ready(), "{text}");
    assert!(
        text.contains("flux-system/keyword-correction: 2 tags"),
        "{text}"
    );
    assert!(
        text.contains("flux-system/keyword-correction: 0.13.4"),
        "{text}"
    );
    assert!(
        text.contains("flux-system/flux-system: pushed commit "),
        "{text}"
    );
    assert_ne!(gitrepo::rev_parse(&bare, "main").unwrap(), head);
}

/// Issue 13 item 9: `digestReflectionPolicy` against docker-registry. The
/// policy's `latestRef.digest` comes from a manifest HEAD; `ns:name`
/// markers become `image:tag@sha256:…` and `:digest` markers the digest.
/// IfNotPresent keeps the digest of an unchanged tag although the tag was
/// rebuilt; Always fetches it again and pins the new build.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_reflection_pins_digests() {
    if !gitrepo::git_available() {
        ferroflux_testkit::env::skip_or_fail("git binary");
        return;
    }
    let Some(registry) = DockerRegistry::start(RegistryOptions::default()) else {
        return;
    };
    registry.push_image(IMAGE, "0.13.2").await;
    let first = registry.push_image(IMAGE, "0.13.3").await;
    let tmp = tempfile::tempdir().unwrap();
    let host = registry.host();
    let bare = gitrepo::init_bare(tmp.path(), "flux.git");
    let policy_path = "clusters/stage/flux/policy.yaml";
    let with_policy = |reflect: &str| -> Vec<(String, Vec<u8>)> {
        let mut files = quickstart_files(&host);
        for (p, b) in files.iter_mut() {
            if p == policy_path {
                *b = String::from_utf8_lossy(b)
                    .replace("spec:\n", &format!("spec:\n{reflect}"))
                    .into_bytes();
            }
        }
        files
    };
    let mut files = with_policy("  digestReflectionPolicy: IfNotPresent\n");
    let pinned = "apps/stage/keyword-correction/pinned.yaml";
    files.push((
        pinned.to_string(),
        b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: pinned\n  namespace: default\ndata:\n  tag: \"0.13.2\" # {\"$imagepolicy\": \"flux-system:keyword-correction:tag\"}\n  digest: \"none\" # {\"$imagepolicy\": \"flux-system:keyword-correction:digest\"}\n".to_vec(),
    ));
    commit_all(&bare, &files);
    let opts = quickstart_options(&bare, tmp.path(), true);
    let state = StatusStore::open(&tmp.path().join("state.redb")).unwrap();
    let deployment = "apps/stage/keyword-correction/deployment.yaml";

    let summary = Runner::new(opts.clone(), state.clone())
        .unwrap()
        .run_once()
        .await
        .unwrap();
    assert!(summary.all_ready(), "{summary}");
    let stored = state.list("ImagePolicy").unwrap();
    let latest = &stored[0].status.as_ref().unwrap()["latestRef"];
    assert_eq!(latest["tag"], "0.13.3");
    assert_eq!(latest["digest"], first.as_str(), "{latest}");
    let text = gitrepo::show_file(&bare, "main", deployment);
    assert_eq!(
        text.matches(&format!("keyword_correction:0.13.3@{first} #"))
            .count(),
        2,
        "{text}"
    );
    let text = gitrepo::show_file(&bare, "main", pinned);
    assert!(text.contains("tag: \"0.13.3\" #"), "{text}");
    assert!(text.contains(&format!("digest: \"{first}\" #")), "{text}");
    let head = gitrepo::rev_parse(&bare, "main").unwrap();

    // The tag is rebuilt: IfNotPresent keeps the digest it has.
    let rebuilt = registry.push_build(IMAGE, "0.13.3", Some("rebuilt")).await;
    assert_ne!(rebuilt, first);
    let summary = Runner::new(opts.clone(), state.clone())
        .unwrap()
        .run_once()
        .await
        .unwrap();
    assert!(summary.all_ready(), "{summary}");
    assert_eq!(gitrepo::rev_parse(&bare, "main").unwrap(), head);

    // Always fetches the digest on every reconcile and pins the new build.
    let always = with_policy("  digestReflectionPolicy: Always\n  interval: 5m\n");
    let policy = always.iter().find(|(p, _)| p == policy_path).unwrap();
    gitrepo::commit_files(
        &bare,
        "main",
        &[(policy_path, policy.1.as_slice())],
        "always",
    );
    let summary = Runner::new(opts, state.clone())
        .unwrap()
        .run_once()
        .await
        .unwrap();
    assert!(summary.all_ready(), "{summary}");
    let text = gitrepo::show_file(&bare, "main", pinned);
    assert!(text.contains(&format!("digest: \"{rebuilt}\" #")), "{text}");
    let text = gitrepo::show_file(&bare, "main", deployment);
    assert!(
        text.contains(&format!("keyword_correction:0.13.3@{rebuilt} #")),
        "{text}"
    );
}

/// A GitRepository on a server that accepts and never answers: its
/// automation fails with a timeout after `spec.timeout`, the other
/// automation of the same pass still pushes.
#[test]
fn silent_git_server_times_out_and_delays_only_itself() {
    // The git thread stays blocked on the silent server: the runtime must
    // not wait for it when it shuts down (as `ferroflux automate` does not).
    on_two_workers(silent_git_server_run());
}

async fn silent_git_server_run() {
    if !gitrepo::git_available() {
        ferroflux_testkit::env::skip_or_fail("git binary");
        return;
    }
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("test setup");
    let port = silent.local_addr().expect("test setup").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in silent.incoming().flatten() {
            held.push(s);
        }
    });
    let registry = quickstart_registry(tags(&["0.13.2", "0.13.3"]), 100).await;
    let tmp = tempfile::tempdir().expect("test setup");
    let bare = gitrepo::init_bare(tmp.path(), "flux.git");
    let mut files = quickstart_files(&registry.host());
    let stuck = stuck_git_objects(port, "flux-system", "2s");
    files.push(("clusters/stage/flux/stuck.yaml".into(), stuck.into_bytes()));
    commit_all(&bare, &files);
    let opts = quickstart_options(&bare, tmp.path(), true);
    let state = StatusStore::open(&tmp.path().join("state.redb")).expect("test setup");
    let mut runner = Runner::new(opts, state).expect("test setup");
    let started = std::time::Instant::now();
    let summary = tokio::time::timeout(std::time::Duration::from_secs(60), runner.run_once())
        .await
        .expect("run_once must not hang on a silent server")
        .expect("test setup");
    let text = summary.to_string();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert!(
        text.contains("FAIL flux-system/stuck: timeout after 2s waiting for 'http://127.0.0.1:"),
        "{text}"
    );
    assert!(
        text.contains("flux-system/flux-system: pushed commit "),
        "{text}"
    );
}

/// Without a `cache_dir`, the clones (manifests and automations) live in
/// `cache/` next to the state database, readable by their owner only, and
/// never under the shared temp directory; a given `cache_dir` is made
/// private too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clone_cache_lives_private_under_the_state_directory() {
    use std::os::unix::fs::PermissionsExt as _;
    if !gitrepo::git_available() {
        ferroflux_testkit::env::skip_or_fail("git binary");
        return;
    }
    let mode = |p: &Path| {
        std::fs::metadata(p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .permissions()
            .mode()
            & 0o777
    };
    let registry = quickstart_registry(tags(&["0.13.2", "0.13.3"]), 100).await;
    let tmp = tempfile::tempdir().unwrap();
    let (bare, first, _) = quickstart_repo(tmp.path(), &registry.host());
    let state_dir = tmp.path().join("state");
    let opts = AutomateOptions {
        repo: bare.display().to_string(),
        path: PathBuf::from("clusters/stage"),
        secrets: Secrets::load_dir(&quickstart_secrets()).unwrap(),
        ..AutomateOptions::default()
    };
    let state = StatusStore::open(&state_dir.join("state.redb")).unwrap();
    let mut runner = Runner::new(opts, state).unwrap();
    let summary = runner.run_once().await.unwrap();
    assert!(summary.all_ready(), "{summary}");
    assert_ne!(
        gitrepo::rev_parse(&bare, "main").as_deref(),
        Some(first.as_str()),
        "{summary}"
    );
    let cache = state_dir.join("cache");
    assert_eq!(mode(&cache), 0o700, "{}", cache.display());
    let clones: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert!(
        clones.iter().any(|c| c == "manifests") && clones.iter().any(|c| c == "automation"),
        "{clones:?}"
    );

    let given = tmp.path().join("given-cache");
    std::fs::create_dir(&given).unwrap();
    std::fs::set_permissions(&given, std::fs::Permissions::from_mode(0o755)).unwrap();
    let opts = AutomateOptions {
        cache_dir: Some(given.clone()),
        ..AutomateOptions::default()
    };
    let state = StatusStore::open(&tmp.path().join("other.redb")).unwrap();
    Runner::new(opts, state).unwrap();
    assert_eq!(mode(&given), 0o700);

    let file = tmp.path().join("a-file");
    std::fs::write(&file, b"").unwrap();
    let opts = AutomateOptions {
        cache_dir: Some(file.join("cache")),
        ..AutomateOptions::default()
    };
    let state = StatusStore::open(&tmp.path().join("third.redb")).unwrap();
    let err = Runner::new(opts, state)
        .err()
        .expect("a cache under a file");
    assert!(
        err.to_string()
            .starts_with(&format!("clone cache {}: ", file.join("cache").display())),
        "{err}"
    );
}

/// A TCP listener that accepts and never answers, until released: then it
/// closes what it holds and every later connection at once.
struct SilentServer {
    port: u16,
    held: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
    released: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl SilentServer {
    fn start() -> SilentServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("test setup");
        let port = listener.local_addr().expect("test setup").port();
        let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let released = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (h, r) = (held.clone(), released.clone());
        std::thread::spawn(move || {
            for s in listener.incoming().flatten() {
                if !r.load(std::sync::atomic::Ordering::SeqCst) {
                    h.lock().expect("not poisoned").push(s);
                }
            }
        });
        SilentServer {
            port,
            held,
            released,
        }
    }

    fn connections(&self) -> usize {
        self.held.lock().expect("not poisoned").len()
    }

    fn release(&self) {
        self.released
            .store(true, std::sync::atomic::Ordering::SeqCst);
        for s in self.held.lock().expect("not poisoned").drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
}

/// Run a test's async body on a runtime of two workers, left behind (with
/// the silent servers' blocked connections) when it returns.
fn on_two_workers(body: impl std::future::Future<Output = ()>) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("test setup");
    rt.block_on(body);
    rt.shutdown_background();
}

/// A server that never answers, the quickstart's registry, and a bare
/// repository to commit the quickstart's files (`files`) to.
struct Silent {
    silent: SilentServer,
    port: u16,
    _registry: FakeRegistry,
    tmp: tempfile::TempDir,
    bare: PathBuf,
    files: Vec<(String, Vec<u8>)>,
}

async fn silent_setup() -> Option<Silent> {
    if !gitrepo::git_available() {
        ferroflux_testkit::env::skip_or_fail("git binary");
        return None;
    }
    let silent = SilentServer::start();
    let port = silent.port;
    let registry = quickstart_registry(tags(&["0.13.2", "0.13.3"]), 100).await;
    let tmp = tempfile::tempdir().expect("test setup");
    let bare = gitrepo::init_bare(tmp.path(), "flux.git");
    let files = quickstart_files(&registry.host());
    Some(Silent {
        silent,
        port,
        _registry: registry,
        tmp,
        bare,
        files,
    })
}

/// An ImageRepository in namespace `stuck-scan` whose registry never answers.
fn silent_repository(port: u16) -> String {
    format!(
        "apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  name: silent
  namespace: stuck-scan
spec:
  image: 127.0.0.1:{port}/app
  interval: 5m0s
  timeout: 10m0s
  insecure: true
"
    )
}

/// Issue 13 item 8: objects are reconciled concurrently (`--concurrent`,
/// Flux's default 4). A registry and a Git server that accept and never
/// answer (timeouts of 10 minutes) hold up only their own objects: in the
/// same pass, the quickstart's repository is scanned, its policy chooses
/// and its automation pushes while both are still waiting. The summary
/// keeps its order whatever finished first.
#[test]
fn a_silent_registry_and_git_server_delay_only_their_own_objects() {
    on_two_workers(silent_servers_run());
}

async fn silent_servers_run() {
    let Some(Silent {
        silent,
        port,
        _registry,
        tmp,
        bare,
        mut files,
    }) = silent_setup().await
    else {
        return;
    };
    let stuck = format!(
        "{}---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: silent
  namespace: stuck-scan
spec:
  imageRepositoryRef:
    name: silent
  policy:
    semver:
      range: \">=0.0.0\"
---
{}",
        silent_repository(port),
        stuck_git_objects(port, "stuck-git", "10m0s")
    );
    files.push(("clusters/stage/flux/stuck.yaml".into(), stuck.into_bytes()));
    let first = commit_all(&bare, &files);
    let opts = quickstart_options(&bare, tmp.path(), true);
    assert_eq!(opts.concurrent, 4, "Flux's --concurrent default");
    let state = StatusStore::open(&tmp.path().join("state.redb")).expect("test setup");
    let mut runner = Runner::new(opts, state).expect("test setup");
    let pass = tokio::spawn(async move { runner.run_once().await });
    // The pushed commit shows while the silent servers still hold the pass.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while gitrepo::rev_parse(&bare, "main").as_deref() == Some(first.as_str()) {
        assert!(
            std::time::Instant::now() < deadline && !pass.is_finished(),
            "no commit while the silent servers were waited for ({} connections held)",
            silent.connections()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(!pass.is_finished(), "the pass waited for nothing");
    assert!(
        silent.connections() >= 1,
        "nothing reached the silent server"
    );
    silent.release();
    let summary = tokio::time::timeout(std::time::Duration::from_secs(120), pass)
        .await
        .expect("the pass ends once the silent server closes its connections")
        .expect("test setup")
        .expect("test setup");
    let text = summary.to_string();
    let line = |name: &str| {
        summary
            .lines
            .iter()
            .find(|l| l.key.namespaced_name() == name)
            .unwrap_or_else(|| panic!("{name} in\n{text}"))
    };
    assert!(line("flux-system/flux-system").ready, "{text}");
    assert!(
        line("flux-system/flux-system")
            .detail
            .starts_with("pushed commit "),
        "{text}"
    );
    assert!(!line("stuck-scan/silent").ready, "{text}");
    assert!(!line("stuck-git/stuck").ready, "{text}");
    let order: Vec<(String, String)> = summary
        .lines
        .iter()
        .map(|l| (l.key.kind.clone(), l.key.namespaced_name()))
        .collect();
    let repositories: Vec<&str> = order
        .iter()
        .filter(|(k, _)| k == "ImageRepository")
        .map(|(_, n)| n.as_str())
        .collect();
    assert_eq!(
        repositories,
        ["flux-system/keyword-correction", "stuck-scan/silent"],
        "{text}"
    );
    let automations: Vec<&str> = order
        .iter()
        .filter(|(k, _)| k == "ImageUpdateAutomation")
        .map(|(_, n)| n.as_str())
        .collect();
    assert_eq!(
        automations,
        ["flux-system/flux-system", "stuck-git/stuck"],
        "{text}"
    );
}

/// The first pass takes ready automations and policies before further
/// scans, so an automation's git work overlaps the scans of other
/// namespaces. With one worker and a registry that never answers behind a
/// repository of a later namespace, the quickstart's automation still
/// pushes: its repository, then its policy, then it ran before that scan.
#[test]
fn with_one_worker_an_automation_runs_before_the_remaining_scans() {
    on_two_workers(one_worker_run());
}

async fn one_worker_run() {
    let Some(Silent {
        silent,
        port,
        _registry,
        tmp,
        bare,
        mut files,
    }) = silent_setup().await
    else {
        return;
    };
    files.push((
        "clusters/stage/flux/stuck.yaml".into(),
        silent_repository(port).into_bytes(),
    ));
    let first = commit_all(&bare, &files);
    let opts = AutomateOptions {
        concurrent: 1,
        ..quickstart_options(&bare, tmp.path(), true)
    };
    let state = StatusStore::open(&tmp.path().join("state.redb")).expect("test setup");
    let mut runner = Runner::new(opts, state).expect("test setup");
    let pass = tokio::spawn(async move { runner.run_once().await });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while gitrepo::rev_parse(&bare, "main").as_deref() == Some(first.as_str()) {
        assert!(
            std::time::Instant::now() < deadline && !pass.is_finished(),
            "no commit: the one worker waited on the silent scan first"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // The silent scan starts after the push and holds the pass.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while silent.connections() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the scan never started"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(!pass.is_finished(), "the pass waited for nothing");
    silent.release();
    let summary = tokio::time::timeout(std::time::Duration::from_secs(120), pass)
        .await
        .expect("the pass ends once the silent server closes its connections")
        .expect("test setup")
        .expect("test setup");
    assert!(!summary.to_string().is_empty());
}
