//! GitRepository against real Git remotes (git http-backend with Basic
//! auth, sshd, file://) and a real artifact storage: Flux's revisions,
//! artifacts, conditions and events; includes; rebuilds.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::Path;

use ferroflux_api::meta::{LocalObjectReference, condition};
use ferroflux_api::source::{
    Artifact, GitRepository, GitRepositoryInclude, GitRepositoryRef, GitRepositorySpec,
};
use ferroflux_artifact::{Retention, Storage};
use ferroflux_controllers::Outcome;
use ferroflux_controllers::source::git::{
    GitRepositoryInput, GitRepositoryOptions, GitRepositoryResult, SecretData, reconcile,
};
use ferroflux_controllers::status::{self, EventType};
use ferroflux_testkit::git_http::{self, GitHttpServer};
use ferroflux_testkit::gitrepo::{self, commit_files, init_bare, rev_parse};
use ferroflux_testkit::sshd::{self, KeyKind, Sshd};
use sha2::Digest as _;

use crate::clock;

fn git_repository(name: &str, url: &str, reference: GitRepositoryRef) -> GitRepository {
    let mut r = GitRepository::new(
        name,
        GitRepositorySpec {
            url: url.into(),
            interval: ferroflux_api::Duration::from_secs(60),
            reference: Some(reference),
            ..Default::default()
        },
    );
    r.metadata.namespace = Some("flux-system".into());
    r.metadata.generation = Some(1);
    r
}

fn branch(b: &str) -> GitRepositoryRef {
    GitRepositoryRef {
        branch: Some(b.into()),
        ..Default::default()
    }
}

struct Env {
    _tmp: tempfile::TempDir,
    storage: Storage,
    opts: GitRepositoryOptions,
}

fn env() -> Env {
    let tmp = tempfile::tempdir().expect("tempdir");
    let storage = Storage::new(
        &tmp.path().join("data"),
        "localhost:9090",
        Retention::default(),
    )
    .expect("storage");
    let opts = GitRepositoryOptions {
        cache_dir: tmp.path().join("cache"),
        ..Default::default()
    };
    Env {
        _tmp: tmp,
        storage,
        opts,
    }
}

fn run(
    env: &Env,
    repo: &GitRepository,
    secret: Option<&SecretData>,
    included: &BTreeMap<String, Option<Artifact>>,
) -> GitRepositoryResult {
    let input = GitRepositoryInput {
        repository: repo,
        secret,
        verify_secret: None,
        included,
        storage: &env.storage,
    };
    reconcile(&input, &clock(), &env.opts)
}

fn with_status(repo: &GitRepository, r: &GitRepositoryResult) -> GitRepository {
    let mut next = repo.clone();
    next.status = Some(r.status.clone());
    next
}

fn ready(r: &GitRepositoryResult) -> (String, String, String) {
    let c = status::get(&r.status.conditions, condition::READY).expect("Ready");
    (c.status.clone(), c.reason.clone(), c.message.clone())
}

fn artifact(r: &GitRepositoryResult) -> Artifact {
    r.status.artifact.clone().expect("artifact")
}

/// The names in an artifact, and a file's content.
fn unpack(env: &Env, a: &Artifact) -> Vec<String> {
    let bytes = std::fs::read(env.storage.local_path(&a.path)).expect("artifact file");
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(bytes.as_slice())
        .read_to_end(&mut tar)
        .expect("gunzip");
    let mut names = Vec::new();
    let mut at = 0;
    while at + 512 <= tar.len() && tar[at..at + 512].iter().any(|&b| b != 0) {
        let h = &tar[at..at + 512];
        let end = h[..100].iter().position(|&b| b == 0).unwrap_or(100);
        names.push(String::from_utf8_lossy(&h[..end]).into_owned());
        let size_field = std::str::from_utf8(&h[124..135]).expect("size");
        let size = usize::from_str_radix(size_field, 8).expect("octal");
        at += 512 + size.div_ceil(512) * 512;
    }
    names
}

fn secret(pairs: &[(&str, &str)]) -> SecretData {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect()
}

/// Over smart HTTP with Basic auth: the artifact, its digest and URL, the
/// status and the event as Flux writes them; an unchanged run is a trace;
/// a new commit and an ignore change each write a new artifact.
#[test]
fn http_basic_auth_artifact_as_flux_writes_it() {
    let Some(server) = GitHttpServer::start(git_http::Options {
        basic_auth: Some(("flux".into(), "s3cret-pw".into())),
    }) else {
        return;
    };
    let bare = init_bare(server.root(), "podinfo.git");
    let head = commit_files(
        &bare,
        "main",
        &[
            ("deploy/app.yaml", b"kind: Deployment\n"),
            (".github/workflows/ci.yaml", b"on: push\n"),
            ("docs/logo.png", b"png"),
        ],
        "feat: the first deployment of podinfo, with a subject longer than fifty runes\n\nbody",
    );
    let env = env();
    let mut repo = git_repository("podinfo", &server.url("podinfo.git"), branch("main"));
    repo.spec.secret_ref = Some(LocalObjectReference {
        name: "git-auth".into(),
    });
    let auth = secret(&[("username", "flux"), ("password", "s3cret-pw")]);
    let r = run(&env, &repo, Some(&auth), &BTreeMap::new());
    let revision = format!("main@sha1:{head}");
    assert_eq!(
        ready(&r),
        (
            "True".into(),
            "Succeeded".into(),
            format!("stored artifact for revision '{revision}'")
        ),
        "{}",
        server.log()
    );
    let a = artifact(&r);
    assert_eq!(a.revision, revision);
    assert_eq!(
        a.path,
        format!("gitrepository/flux-system/podinfo/{head}.tar.gz")
    );
    assert_eq!(a.url, format!("http://localhost:9090/{}", a.path));
    let bytes = std::fs::read(env.storage.local_path(&a.path)).expect("file");
    assert_eq!(
        a.digest.as_deref(),
        Some(format!("sha256:{}", hex::encode(sha2::Sha256::digest(&bytes))).as_str())
    );
    assert_eq!(a.size, Some(bytes.len() as i64));
    assert_eq!(a.last_update_time.as_deref(), Some("2026-05-13T07:06:14Z"));
    assert_eq!(unpack(&env, &a), [".", "deploy", "deploy/app.yaml", "docs"]);
    let c = status::get(&r.status.conditions, condition::ARTIFACT_IN_STORAGE).expect("AIS");
    assert_eq!(
        c.message,
        format!("stored artifact for revision '{revision}'")
    );
    assert!(status::get(&r.status.conditions, condition::RECONCILING).is_none());
    assert_eq!(r.status.observed_generation, Some(1));
    assert_eq!(
        r.outcome,
        Outcome::RequeueAfter(std::time::Duration::from_secs(60))
    );
    let e = r.event.clone().expect("event");
    assert_eq!(
        (e.type_, e.reason.as_str(), e.message.as_str()),
        (
            EventType::Normal,
            "NewArtifact",
            "stored artifact for commit 'feat: the first deployment of podinfo, with a subj...'"
        )
    );

    // Unchanged: no new file, a trace event.
    let repo = with_status(&repo, &r);
    let r2 = run(&env, &repo, Some(&auth), &BTreeMap::new());
    assert_eq!(artifact(&r2).digest, a.digest);
    let e = r2.event.clone().expect("event");
    assert_eq!(e.type_, EventType::Trace);
    assert_eq!(
        e.message,
        format!("artifact up-to-date with remote revision: '{revision}'")
    );

    // A new commit: a new revision and artifact; the old one is kept
    // (two records within the TTL).
    let head2 = commit_files(&bare, "main", &[("deploy/b.yaml", b"b: 1\n")], "second");
    let repo = with_status(&repo, &r2);
    let r3 = run(&env, &repo, Some(&auth), &BTreeMap::new());
    let a3 = artifact(&r3);
    assert_eq!(a3.revision, format!("main@sha1:{head2}"));
    assert_eq!(r3.event.as_ref().expect("event").reason, "NewArtifact");
    assert!(env.storage.exists(&a.path));

    // spec.ignore: the same file rewritten, observedIgnore recorded, and the
    // defaults dropped (the image comes back).
    let mut repo = with_status(&repo, &r3);
    repo.spec.ignore = Some("deploy/b.yaml\n".into());
    let r4 = run(&env, &repo, Some(&auth), &BTreeMap::new());
    let a4 = artifact(&r4);
    assert_eq!(a4.path, a3.path);
    assert_ne!(a4.digest, a3.digest);
    assert_eq!(
        r4.status.observed_ignore.as_deref(),
        Some("deploy/b.yaml\n")
    );
    let names = unpack(&env, &a4);
    assert!(names.contains(&"docs/logo.png".to_string()), "{names:?}");
    assert!(!names.contains(&"deploy/b.yaml".to_string()), "{names:?}");

    // A wrong password: AuthenticationFailed, retried, never the password.
    let bad = secret(&[("username", "flux"), ("password", "wrong-pw")]);
    let repo = with_status(&repo, &r4);
    let r5 = run(&env, &repo, Some(&bad), &BTreeMap::new());
    let c = status::get(&r5.status.conditions, condition::FETCH_FAILED).expect("FetchFailed");
    assert_eq!(c.reason, "AuthenticationFailed", "{}", c.message);
    assert!(
        c.message
            .starts_with("failed to checkout and determine revision: "),
        "{}",
        c.message
    );
    assert!(!c.message.contains("wrong-pw"), "{}", c.message);
    assert_eq!(r5.outcome, Outcome::Backoff);
    // The last good artifact stays advertised.
    assert_eq!(artifact(&r5).digest, a4.digest);
}

/// Over ssh with an identity and known_hosts from the Secret.
#[test]
fn ssh_identity_and_known_hosts() {
    let Some(server) = Sshd::start(sshd::Options::default()) else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let bare = init_bare(tmp.path(), "fleet.git");
    let head = commit_files(&bare, "main", &[("a.yaml", b"a: 1\n")], "initial");
    let env = env();
    let mut repo = git_repository("fleet", &server.url(&bare), branch("main"));
    repo.spec.secret_ref = Some(LocalObjectReference { name: "ssh".into() });
    let key = server.key(KeyKind::Ed25519).private.clone();
    let s = secret(&[("identity", &key), ("known_hosts", &server.known_hosts())]);
    let r = run(&env, &repo, Some(&s), &BTreeMap::new());
    assert_eq!(ready(&r).0, "True", "{:?}\n{}", ready(&r), server.log());
    assert_eq!(artifact(&r).revision, format!("main@sha1:{head}"));
    // known_hosts missing: Flux's message, no key material.
    let s = secret(&[("identity", &key)]);
    let r = run(&env, &repo, Some(&s), &BTreeMap::new());
    let c = status::get(&r.status.conditions, condition::FETCH_FAILED).expect("FetchFailed");
    assert_eq!(c.reason, "AuthenticationFailed", "{}", c.message);
    assert!(!c.message.contains("PRIVATE KEY"), "{}", c.message);
}

/// Revision strings of every ref kind, as `commitReference` writes them.
#[test]
fn revisions_of_every_ref_kind() {
    if !gitrepo::git_available() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let bare = init_bare(tmp.path(), "r.git");
    let c1 = commit_files(&bare, "main", &[("a", b"1")], "one");
    gitrepo::tag(&bare, "v1.0.0", &c1);
    let c2 = commit_files(&bare, "main", &[("a", b"2")], "two");
    gitrepo::tag(&bare, "v1.1.0", &c2);
    let c3 = commit_files(&bare, "feat/x", &[("b", b"3")], "three");
    let url = format!("file://{}", bare.display());
    let env = env();
    let cases = [
        (branch("main"), format!("main@sha1:{c2}")),
        (branch("feat/x"), format!("feat/x@sha1:{c3}")),
        (
            GitRepositoryRef {
                tag: Some("v1.0.0".into()),
                ..Default::default()
            },
            format!("v1.0.0@sha1:{c1}"),
        ),
        (
            GitRepositoryRef {
                semver: Some(">=1.0.0".into()),
                ..Default::default()
            },
            format!("v1.1.0@sha1:{c2}"),
        ),
        // Flux's clone checks `tag` before `semver` (pkg/git gogit
        // client.go), whatever the API comment says.
        (
            GitRepositoryRef {
                tag: Some("v1.0.0".into()),
                semver: Some(">=1.0.0".into()),
                ..Default::default()
            },
            format!("v1.0.0@sha1:{c1}"),
        ),
        (
            GitRepositoryRef {
                name: Some("refs/heads/main".into()),
                ..Default::default()
            },
            format!("refs/heads/main@sha1:{c2}"),
        ),
        (
            GitRepositoryRef {
                commit: Some(c1.clone()),
                ..Default::default()
            },
            format!("sha1:{c1}"),
        ),
    ];
    for (i, (reference, want)) in cases.into_iter().enumerate() {
        let repo = git_repository(&format!("r{i}"), &url, reference);
        let r = run(&env, &repo, None, &BTreeMap::new());
        assert_eq!(ready(&r).0, "True", "{want}: {:?}", ready(&r));
        assert_eq!(artifact(&r).revision, want);
    }
    assert_eq!(rev_parse(&bare, "main").as_deref(), Some(c2.as_str()));
}

/// An empty remote, and a branch that does not exist.
#[test]
fn empty_repositories_and_missing_branches_fail_fetch() {
    if !gitrepo::git_available() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let bare = init_bare(tmp.path(), "empty.git");
    let env = env();
    let url = format!("file://{}", bare.display());
    let r = run(
        &env,
        &git_repository("e", &url, branch("main")),
        None,
        &BTreeMap::new(),
    );
    let c = status::get(&r.status.conditions, condition::FETCH_FAILED).expect("FetchFailed");
    assert_eq!(
        (c.reason.as_str(), c.message.as_str()),
        ("EmptyGitRepository", "git repository is empty")
    );
    commit_files(&bare, "main", &[("a", b"1")], "one");
    let r = run(
        &env,
        &git_repository("e", &url, branch("nope")),
        None,
        &BTreeMap::new(),
    );
    let c = status::get(&r.status.conditions, condition::FETCH_FAILED).expect("FetchFailed");
    assert_eq!(c.reason, "GitOperationFailed");
    assert!(
        c.message.contains("branch 'nope' not found"),
        "{}",
        c.message
    );
    assert_eq!(ready(&r).0, "False");
}

/// `include`: another GitRepository's artifact, `fromPath` to `toPath`;
/// the included artifacts recorded; a change of the included artifact
/// rewrites ours.
#[test]
fn include_copies_another_repository_s_artifact() {
    if !gitrepo::git_available() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let lib_bare = init_bare(tmp.path(), "lib.git");
    commit_files(
        &lib_bare,
        "main",
        &[("deploy/crd.yaml", b"kind: CRD\n"), ("README.md", b"r")],
        "lib",
    );
    let app_bare = init_bare(tmp.path(), "app.git");
    commit_files(&app_bare, "main", &[("app.yaml", b"a\n")], "app");
    let env = env();
    let lib = git_repository(
        "lib",
        &format!("file://{}", lib_bare.display()),
        branch("main"),
    );
    let lib_r = run(&env, &lib, None, &BTreeMap::new());
    let lib_artifact = artifact(&lib_r);
    let mut app = git_repository(
        "app",
        &format!("file://{}", app_bare.display()),
        branch("main"),
    );
    app.spec.include = vec![GitRepositoryInclude {
        repository: LocalObjectReference { name: "lib".into() },
        from_path: Some("deploy".into()),
        to_path: Some("vendor/lib".into()),
    }];
    let included: BTreeMap<String, Option<Artifact>> =
        [("lib".to_string(), Some(lib_artifact.clone()))].into();
    let r = run(&env, &app, None, &included);
    assert_eq!(ready(&r).0, "True", "{:?}", ready(&r));
    let names = unpack(&env, &artifact(&r));
    assert!(
        names.contains(&"vendor/lib/crd.yaml".to_string()),
        "{names:?}"
    );
    assert!(
        !names.contains(&"vendor/lib/README.md".to_string()),
        "{names:?}"
    );
    assert_eq!(
        r.status.included_artifacts,
        std::slice::from_ref(&lib_artifact)
    );
    assert_eq!(r.status.observed_include, app.spec.include);

    // The included repository moves on: a new artifact for us too, and
    // the copy of the last run does not get in the way.
    commit_files(&lib_bare, "main", &[("deploy/more.yaml", b"m\n")], "more");
    let lib_r2 = run(&env, &with_status(&lib, &lib_r), None, &BTreeMap::new());
    let included: BTreeMap<String, Option<Artifact>> =
        [("lib".to_string(), Some(artifact(&lib_r2)))].into();
    let r2 = run(&env, &with_status(&app, &r), None, &included);
    assert_eq!(ready(&r2).0, "True", "{:?}", ready(&r2));
    assert_ne!(artifact(&r2).digest, artifact(&r).digest);
    let names = unpack(&env, &artifact(&r2));
    assert!(
        names.contains(&"vendor/lib/more.yaml".to_string()),
        "{names:?}"
    );
}

/// An artifact deleted from storage is noticed and written again; one
/// whose bytes changed is replaced.
#[test]
fn artifacts_gone_or_corrupt_in_storage_are_rebuilt() {
    if !gitrepo::git_available() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let bare = init_bare(tmp.path(), "r.git");
    commit_files(&bare, "main", &[("a", b"1")], "one");
    let env = env();
    let repo = git_repository("r", &format!("file://{}", bare.display()), branch("main"));
    let r = run(&env, &repo, None, &BTreeMap::new());
    let a = artifact(&r);
    let local = env.storage.local_path(&a.path);
    std::fs::remove_file(&local).expect("rm");
    let r2 = run(&env, &with_status(&repo, &r), None, &BTreeMap::new());
    assert_eq!(ready(&r2).0, "True");
    assert!(local.exists());
    std::fs::write(&local, "tampered").expect("write");
    let r3 = run(&env, &with_status(&repo, &r2), None, &BTreeMap::new());
    assert_eq!(ready(&r3).0, "True");
    env.storage
        .verify(&a.path, artifact(&r3).digest.as_deref().unwrap_or_default())
        .expect("rebuilt file matches its digest");
    assert_ne!(std::fs::read(&local).expect("read"), b"tampered");
}

/// The stored artifact downloads from the artifact server at the path of
/// its URL.
#[tokio::test]
async fn artifact_url_path_is_served() {
    if !gitrepo::git_available() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let bare = init_bare(tmp.path(), "r.git");
    commit_files(&bare, "main", &[("a", b"1")], "one");
    let env = env();
    let repo = git_repository("r", &format!("file://{}", bare.display()), branch("main"));
    let r = run(&env, &repo, None, &BTreeMap::new());
    let a = artifact(&r);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let root = env.storage.root().to_path_buf();
    let server = tokio::spawn(async move {
        ferroflux_artifact::server::serve(listener, Path::new(&root), std::future::pending()).await
    });
    let path = a.url.strip_prefix("http://localhost:9090").expect("url");
    let body = tokio::task::spawn_blocking({
        let path = path.to_string();
        move || {
            use std::io::Write as _;
            let mut s = std::net::TcpStream::connect(addr).expect("connect");
            write!(
                s,
                "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
            .expect("send");
            let mut buf = Vec::new();
            s.read_to_end(&mut buf).expect("read");
            buf
        }
    })
    .await
    .expect("join");
    server.abort();
    let end = body
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("head");
    assert!(
        body.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&body[..end])
    );
    let file = std::fs::read(env.storage.local_path(&a.path)).expect("file");
    assert_eq!(&body[end + 4..], file.as_slice());
}

/// `spec.verify`: a commit and a tag signed by git with an SSH key
/// (`gpg.format=ssh`), verified against the Secret's `*.sshpub` keys, with
/// source-controller's conditions for every failure.
#[test]
fn verify_checks_the_commit_and_tag_signatures() {
    use std::process::Command;
    if !gitrepo::git_available() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let key = tmp.path().join("id_ed25519");
    let keygen = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "bot", "-f"])
        .arg(&key)
        .status();
    if !keygen.is_ok_and(|s| s.success()) {
        ferroflux_testkit::env::skip_or_fail("ssh-keygen (Debian package openssh-client)");
        return;
    }
    let other = tmp.path().join("other");
    Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .status()
        .expect("second key");
    let bare = init_bare(tmp.path(), "r.git");
    let work = tmp.path().join("w");
    gitrepo::git(
        tmp.path(),
        &["clone", "--quiet", &bare.to_string_lossy(), "w"],
    );
    let signing = format!("user.signingkey={}", key.display());
    let git = |args: &[&str]| {
        let mut all = vec!["-c", "gpg.format=ssh", "-c", &signing];
        all.extend_from_slice(args);
        gitrepo::git(&work, &all)
    };
    std::fs::write(work.join("a"), "1").expect("file");
    git(&["add", "a"]);
    git(&["commit", "--quiet", "-S", "-m", "signed"]);
    git(&["tag", "-s", "v1.0.0", "-m", "release"]);
    git(&[
        "push",
        "--quiet",
        "--tags",
        "origin",
        "HEAD:refs/heads/main",
    ]);
    let commit = rev_parse(&bare, "main").expect("main");
    let tag_object = gitrepo::git(&bare, &["rev-parse", "refs/tags/v1.0.0"]);
    let fingerprint = String::from_utf8(
        Command::new("ssh-keygen")
            .args(["-l", "-E", "sha256", "-f"])
            .arg(key.with_extension("pub"))
            .output()
            .expect("fingerprint")
            .stdout,
    )
    .expect("utf8")
    .split_whitespace()
    .nth(1)
    .expect("field")
    .to_string();
    let pubkey = |k: &Path| {
        BTreeMap::from([(
            "bot.sshpub".to_string(),
            std::fs::read(k.with_extension("pub")).expect("pub"),
        )])
    };
    let url = format!("file://{}", bare.display());
    let env = env();
    let verified = |reference: GitRepositoryRef, mode: &str, keys: Option<&SecretData>| {
        let mut repo = git_repository("signed", &url, reference);
        repo.spec.verify = Some(ferroflux_api::source::GitRepositoryVerification {
            mode: Some(mode.into()),
            secret_ref: LocalObjectReference {
                name: "keys".into(),
            },
        });
        let input = GitRepositoryInput {
            repository: &repo,
            secret: None,
            verify_secret: keys,
            included: &BTreeMap::new(),
            storage: &env.storage,
        };
        reconcile(&input, &clock(), &env.opts)
    };
    let cond = |r: &GitRepositoryResult| {
        let c = status::get(&r.status.conditions, condition::SOURCE_VERIFIED).expect("cond");
        (c.status.clone(), c.reason.clone(), c.message.clone())
    };
    let tag_ref = GitRepositoryRef {
        tag: Some("v1.0.0".into()),
        ..Default::default()
    };
    let keys = pubkey(&key);
    let r = verified(tag_ref.clone(), "TagAndHEAD", Some(&keys));
    assert_eq!(ready(&r).0, "True", "{:?}", ready(&r));
    assert_eq!(
        cond(&r),
        (
            "True".into(),
            "Succeeded".into(),
            format!(
                "verified signature of\n\t- tag 'v1.0.0@{}' with key '{fingerprint}'\n\t- commit '{commit}' with key '{fingerprint}'",
                tag_object.trim()
            )
        )
    );
    assert_eq!(
        r.status.source_verification_mode.as_deref(),
        Some("TagAndHEAD")
    );
    // `head` is HEAD.
    let r = verified(branch("main"), "head", Some(&keys));
    assert_eq!(cond(&r).0, "True");
    assert_eq!(r.status.source_verification_mode.as_deref(), Some("HEAD"));

    // Another key: not ready, the reason names the commit.
    let r = verified(branch("main"), "HEAD", Some(&pubkey(&other)));
    assert_eq!(ready(&r).0, "False");
    let (status, reason, message) = cond(&r);
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "InvalidCommitSignature")
    );
    assert_eq!(
        message,
        format!(
            "signature verification of commit '{commit}' failed: unable to verify Git commit SSH signature: unable to verify payload with any of the given authorized keys: no matching key"
        )
    );
    // Tag mode without a tag stalls; a missing Secret retries.
    let r = verified(branch("main"), "Tag", Some(&keys));
    assert_eq!(cond(&r).1, "InvalidVerificationMode");
    assert!(status::is_true(&r.status.conditions, condition::STALLED));
    let r = verified(branch("main"), "HEAD", None);
    assert_eq!(
        cond(&r),
        (
            "False".into(),
            "VerificationError".into(),
            "public keys secret error: secrets \"keys\" not found".into()
        )
    );
    assert_eq!(r.outcome, Outcome::Backoff);
}

/// `recurseSubmodules`: the artifact holds the submodule's files at the
/// commit the parent records (and no repository data); without it, the
/// submodule's directory stays empty.
#[test]
fn recurse_submodules_puts_the_submodules_files_in_the_artifact() {
    if !gitrepo::git_available() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let lib_bare = init_bare(tmp.path(), "lib.git");
    commit_files(&lib_bare, "main", &[("crd.yaml", b"kind: CRD\n")], "lib");
    let app_bare = init_bare(tmp.path(), "app.git");
    commit_files(&app_bare, "main", &[("app.yaml", b"a\n")], "app");
    // Add the submodule with git itself, as a user does.
    let work = tmp.path().join("work");
    gitrepo::git(
        tmp.path(),
        &["clone", "--quiet", &app_bare.display().to_string(), "work"],
    );
    let lib_url = format!("file://{}", lib_bare.display());
    gitrepo::git(
        &work,
        &[
            "-c",
            "protocol.file.allow=always",
            "submodule",
            "add",
            "--quiet",
            &lib_url,
            "vendor/lib",
        ],
    );
    gitrepo::git(
        &work,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "commit",
            "--quiet",
            "-m",
            "vendor lib",
        ],
    );
    gitrepo::git(&work, &["push", "--quiet", "origin", "HEAD:main"]);

    let env = env();
    let url = format!("file://{}", app_bare.display());
    let mut app = git_repository("app", &url, branch("main"));
    app.spec.recurse_submodules = Some(true);
    let r = run(&env, &app, None, &BTreeMap::new());
    assert_eq!(ready(&r).0, "True", "{:?}", r.status.conditions);
    assert_eq!(r.status.observed_recurse_submodules, Some(true));
    let names = unpack(&env, &artifact(&r));
    assert!(
        names.iter().any(|n| n == "vendor/lib/crd.yaml"),
        "{names:?}"
    );
    assert!(names.iter().any(|n| n == "app.yaml"), "{names:?}");
    // No repository data: Flux's VCS exclusions (`.git/`, `.gitmodules`)
    // apply; a submodule's `.git` is a one-line gitlink file, which the
    // `.git/` pattern (directories only) keeps, as source-controller's does.
    assert!(!names.iter().any(|n| n.contains(".git/")), "{names:?}");
    assert!(
        !names.iter().any(|n| n.ends_with(".gitmodules")),
        "{names:?}"
    );

    let other = self::env();
    let plain = git_repository("plain", &url, branch("main"));
    let r = run(&other, &plain, None, &BTreeMap::new());
    let names = unpack(&other, &artifact(&r));
    assert!(
        !names.iter().any(|n| n.starts_with("vendor/lib/")),
        "{names:?}"
    );
}
