//! ferroflux-git against real Git: bare repositories made with the git CLI,
//! served over file://, smart HTTP (lighttpd + git http-backend, Basic
//! auth) and sshd (ed25519/ecdsa user keys, a read-only deploy key).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use ferroflux_git::{
    Auth, Author, CheckoutRef, CommitOptions, Error, Options, PushSpec, Signer, SwitchOutcome,
    Workspace,
};
use ferroflux_testkit::git_http::{self, GitHttpServer};
use ferroflux_testkit::gitrepo::{
    self, commit_files, git, init_bare, log_subjects, rev_parse, show_file,
};
use ferroflux_testkit::sshd::{self, KeyKind, Sshd};

mod shared;
mod verify;
use tempfile::TempDir;

fn commit_opts() -> CommitOptions {
    CommitOptions {
        author: Author {
            name: "fluxcdbot".into(),
            email: "fluxcdbot@users.noreply.github.com".into(),
        },
        signer: None,
    }
}

fn push_to(branch: &str) -> PushSpec {
    PushSpec {
        branch: branch.into(),
        ..PushSpec::default()
    }
}

/// A bare repo with `app.yaml` on main, in a tempdir; None without git.
fn seeded() -> Option<(TempDir, std::path::PathBuf, String)> {
    if !gitrepo::git_available() {
        return None;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let bare = init_bare(tmp.path(), "repo.git");
    let sha = commit_files(
        &bare,
        "main",
        &[("app.yaml", b"image: app:1.0.0\n")],
        "initial",
    );
    Some((tmp, bare, sha))
}

fn file_url(bare: &Path) -> String {
    format!("file://{}", bare.display())
}

fn rewrite(tag: &str) -> impl FnMut(&Path) -> Result<Option<String>, std::io::Error> + '_ {
    move |dir| {
        std::fs::write(dir.join("app.yaml"), format!("image: app:{tag}\n"))?;
        Ok(Some(format!("Update app to {tag}")))
    }
}

fn secret(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect()
}

#[test]
fn file_push_to_checkout_branch() {
    let Some((tmp, bare, initial)) = seeded() else {
        return;
    };
    let cache = tmp.path().join("cache");
    let mut ws = Workspace::open_or_clone(
        &cache,
        &file_url(&bare),
        &Auth::none(),
        &CheckoutRef::branch("main"),
        Options::default(),
    )
    .expect("clone");
    assert_eq!(ws.checkout_commit().as_deref(), Some(initial.as_str()));
    let result = ws
        .push_with_retry(&push_to("main"), &commit_opts(), rewrite("1.1.0"))
        .expect("push")
        .expect("a change was pushed");
    assert_eq!(
        rev_parse(&bare, "main").as_deref(),
        Some(result.commit.as_str())
    );
    assert_eq!(show_file(&bare, "main", "app.yaml"), "image: app:1.1.0");
    assert_eq!(
        log_subjects(&bare, "main"),
        vec!["Update app to 1.1.0", "initial"]
    );
    assert_eq!(result.attempts, 1);
    assert_eq!(
        ws.observed_source_revision(),
        Some(format!("main@sha1:{}", result.commit))
    );
    let author = git(
        &bare,
        &["log", "-1", "--format=%an <%ae>|%cn <%ce>", "main"],
    );
    assert_eq!(
        author,
        "fluxcdbot <fluxcdbot@users.noreply.github.com>|fluxcdbot <fluxcdbot@users.noreply.github.com>"
    );
}

#[test]
fn no_changes_means_no_commit() {
    let Some((tmp, bare, initial)) = seeded() else {
        return;
    };
    let mut ws = Workspace::open_or_clone(
        &tmp.path().join("c"),
        &file_url(&bare),
        &Auth::none(),
        &CheckoutRef::branch("main"),
        Options::default(),
    )
    .expect("clone");
    // Rewrite to the same content: nothing to commit.
    let out = ws
        .push_with_retry(&push_to("main"), &commit_opts(), rewrite("1.0.0"))
        .expect("no-op");
    assert_eq!(out, None);
    assert_eq!(
        ws.commit_all(&commit_opts(), "empty").expect("commit_all"),
        None
    );
    assert_eq!(rev_parse(&bare, "main"), Some(initial.clone()));
    assert_eq!(
        ws.observed_source_revision(),
        Some(format!("main@sha1:{initial}"))
    );
}

#[test]
fn push_to_new_pr_branch() {
    let Some((tmp, bare, initial)) = seeded() else {
        return;
    };
    let mut ws = Workspace::open_or_clone(
        &tmp.path().join("c"),
        &file_url(&bare),
        &Auth::none(),
        &CheckoutRef::branch("main"),
        Options::default(),
    )
    .expect("clone");
    assert_eq!(
        ws.switch_branch("image-updates").expect("switch"),
        SwitchOutcome::Created
    );
    let spec = PushSpec {
        force: true,
        ..push_to("image-updates")
    };
    let result = ws
        .push_with_retry(&spec, &commit_opts(), rewrite("2.0.0"))
        .expect("push")
        .expect("pushed");
    assert_eq!(
        rev_parse(&bare, "image-updates").as_deref(),
        Some(result.commit.as_str())
    );
    assert_eq!(git(&bare, &["rev-parse", "image-updates^"]), initial);
    assert_eq!(
        rev_parse(&bare, "main"),
        Some(initial.clone()),
        "main untouched"
    );
    // Switching branch: Flux reports the checkout commit.
    assert_eq!(
        ws.observed_source_revision(),
        Some(format!("main@sha1:{initial}"))
    );
}

#[test]
fn push_to_existing_pr_branch_continues_from_it() {
    let Some((tmp, bare, _)) = seeded() else {
        return;
    };
    let earlier = commit_files(
        &bare,
        "image-updates",
        &[("other.yaml", b"x: 1\n")],
        "earlier update",
    );
    let mut ws = Workspace::open_or_clone(
        &tmp.path().join("c"),
        &file_url(&bare),
        &Auth::none(),
        &CheckoutRef::branch("main"),
        Options::default(),
    )
    .expect("clone");
    assert_eq!(
        ws.switch_branch("image-updates").expect("switch"),
        SwitchOutcome::Continued
    );
    let spec = PushSpec {
        force: true,
        ..push_to("image-updates")
    };
    let result = ws
        .push_with_retry(&spec, &commit_opts(), rewrite("2.0.0"))
        .expect("push")
        .expect("pushed");
    assert_eq!(
        git(&bare, &["rev-parse", &format!("{}^", result.commit)]),
        earlier
    );
    assert_eq!(
        log_subjects(&bare, "image-updates"),
        vec!["Update app to 2.0.0", "earlier update", "initial"]
    );
    assert_eq!(show_file(&bare, "image-updates", "other.yaml"), "x: 1");
}

#[test]
fn push_with_refspec() {
    let Some((tmp, bare, _)) = seeded() else {
        return;
    };
    let mut ws = Workspace::open_or_clone(
        &tmp.path().join("c"),
        &file_url(&bare),
        &Auth::none(),
        &CheckoutRef::branch("main"),
        Options::default(),
    )
    .expect("clone");
    ws.switch_branch("auto").expect("switch");
    let spec = PushSpec {
        branch: "auto".into(),
        refspec: Some("refs/heads/auto:refs/heads/release".into()),
        force: true,
        ..PushSpec::default()
    };
    let result = ws
        .push_with_retry(&spec, &commit_opts(), rewrite("3.0.0"))
        .expect("push")
        .expect("pushed");
    assert_eq!(
        result.refspecs,
        vec!["refs/heads/auto:refs/heads/release".to_string()]
    );
    assert_eq!(
        rev_parse(&bare, "auto").as_deref(),
        Some(result.commit.as_str())
    );
    assert_eq!(
        rev_parse(&bare, "release").as_deref(),
        Some(result.commit.as_str())
    );
}

#[test]
fn concurrent_remote_commit_is_retried() {
    let Some((tmp, bare, _)) = seeded() else {
        return;
    };
    let mut ws = Workspace::open_or_clone(
        &tmp.path().join("c"),
        &file_url(&bare),
        &Auth::none(),
        &CheckoutRef::branch("main"),
        Options::default(),
    )
    .expect("clone");
    let mut calls = 0;
    let result = ws
        .push_with_retry(&push_to("main"), &commit_opts(), |dir: &Path| {
            calls += 1;
            if calls == 1 {
                // Someone else pushes while we rewrite.
                commit_files(
                    &bare,
                    "main",
                    &[("other.yaml", b"by: human\n")],
                    "human commit",
                );
            }
            std::fs::write(dir.join("app.yaml"), "image: app:1.2.0\n")?;
            Ok::<_, std::io::Error>(Some("Update app to 1.2.0".to_string()))
        })
        .expect("push after retry")
        .expect("pushed");
    assert_eq!(calls, 2, "re-applied once after the rejection");
    assert_eq!(result.attempts, 2);
    assert_eq!(
        log_subjects(&bare, "main"),
        vec!["Update app to 1.2.0", "human commit", "initial"]
    );
    assert_eq!(show_file(&bare, "main", "other.yaml"), "by: human");
    assert_eq!(show_file(&bare, "main", "app.yaml"), "image: app:1.2.0");
}

#[test]
fn non_fast_forward_retries_are_bounded() {
    let Some((tmp, bare, _)) = seeded() else {
        return;
    };
    let opts = Options {
        push_attempts: 2,
        ..Options::default()
    };
    let mut ws = Workspace::open_or_clone(
        &tmp.path().join("c"),
        &file_url(&bare),
        &Auth::none(),
        &CheckoutRef::branch("main"),
        opts,
    )
    .expect("clone");
    let mut n = 0;
    let err = ws
        .push_with_retry(&push_to("main"), &commit_opts(), |dir: &Path| {
            n += 1;
            commit_files(
                &bare,
                "main",
                &[("race.txt", format!("{n}").as_bytes())],
                "racer",
            );
            std::fs::write(dir.join("app.yaml"), "image: app:9\n")?;
            Ok::<_, std::io::Error>(Some("Update".to_string()))
        })
        .expect_err("always raced");
    assert!(
        matches!(err, Error::RetriesExhausted { attempts: 2, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("branch 'main'"), "{err}");
    // The failed run leaves a clean tree at the last fetched commit.
    assert_eq!(
        std::fs::read_to_string(ws.workdir().join("app.yaml")).expect("read"),
        "image: app:1.0.0\n"
    );
}

#[test]
fn empty_remote_repository() {
    if !gitrepo::git_available() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let bare = init_bare(tmp.path(), "empty.git");
    let mut ws = Workspace::open_or_clone(
        &tmp.path().join("c"),
        &file_url(&bare),
        &Auth::none(),
        &CheckoutRef::branch("main"),
        Options::default(),
    )
    .expect("clone of an empty repository");
    assert_eq!(ws.checkout_commit(), None);
    let result = ws
        .push_with_retry(&push_to("main"), &commit_opts(), rewrite("0.1.0"))
        .expect("push")
        .expect("pushed");
    assert_eq!(
        rev_parse(&bare, "main").as_deref(),
        Some(result.commit.as_str())
    );
    assert_eq!(log_subjects(&bare, "main"), vec!["Update app to 0.1.0"]);
}

#[test]
fn missing_branch_is_a_clear_error() {
    let Some((tmp, bare, _)) = seeded() else {
        return;
    };
    gitrepo::tag(&bare, "v1.0.0", "main");
    let cases = [
        (CheckoutRef::branch("nope"), "branch 'nope' not found"),
        (
            CheckoutRef {
                tag: Some("v9".into()),
                ..CheckoutRef::default()
            },
            "tag 'v9' not found",
        ),
        (
            CheckoutRef {
                semver: Some(">=2.0.0".into()),
                ..CheckoutRef::default()
            },
            "no tag matching semver '>=2.0.0' not found",
        ),
        (
            CheckoutRef {
                semver: Some(">=foo".into()),
                ..CheckoutRef::default()
            },
            "invalid semver range '>=foo'",
        ),
        (
            CheckoutRef {
                commit: Some("0123456789012345678901234567890123456789".into()),
                ..CheckoutRef::default()
            },
            "commit '0123456789012345678901234567890123456789' not found",
        ),
    ];
    for (i, (r, want)) in cases.into_iter().enumerate() {
        let err = Workspace::open_or_clone(
            &tmp.path().join(format!("c{i}")),
            &file_url(&bare),
            &Auth::none(),
            &r,
            Options::default(),
        )
        .expect_err("must fail");
        assert!(err.to_string().contains(want), "{r:?}: {err}");
        assert!(
            err.to_string().contains(&file_url(&bare)) || want.starts_with("invalid"),
            "{err}"
        );
    }
}

#[test]
fn checkout_tag_semver_and_commit() {
    let Some((tmp, bare, initial)) = seeded() else {
        return;
    };
    gitrepo::tag(&bare, "v1.0.0", "main");
    let c2 = commit_files(
        &bare,
        "main",
        &[("app.yaml", b"image: app:1.2.0\n")],
        "second",
    );
    gitrepo::tag(&bare, "v1.2.0", "main");
    commit_files(
        &bare,
        "main",
        &[("app.yaml", b"image: app:2.0.0\n")],
        "third",
    );
    gitrepo::tag(&bare, "v2.0.0", "main");
    let url = file_url(&bare);
    let cases = [
        (
            CheckoutRef {
                semver: Some(">=1.0.0 <2.0.0".into()),
                ..CheckoutRef::default()
            },
            format!("v1.2.0@sha1:{c2}"),
        ),
        (
            CheckoutRef {
                tag: Some("v1.0.0".into()),
                ..CheckoutRef::default()
            },
            format!("v1.0.0@sha1:{initial}"),
        ),
        (
            CheckoutRef {
                branch: Some("main".into()),
                commit: Some(c2.clone()),
                ..CheckoutRef::default()
            },
            format!("main@sha1:{c2}"),
        ),
        (
            CheckoutRef {
                commit: Some(initial.clone()),
                ..CheckoutRef::default()
            },
            format!("sha1:{initial}"),
        ),
        (
            CheckoutRef {
                name: Some("refs/tags/v1.0.0".into()),
                tag: Some("v2.0.0".into()),
                ..CheckoutRef::default()
            },
            format!("v1.0.0@sha1:{initial}"),
        ),
    ];
    for (i, (r, want)) in cases.into_iter().enumerate() {
        let ws = Workspace::open_or_clone(
            &tmp.path().join(format!("c{i}")),
            &url,
            &Auth::none(),
            &r,
            Options::default(),
        )
        .unwrap_or_else(|e| panic!("{r:?}: {e}"));
        assert_eq!(ws.observed_source_revision(), Some(want), "{r:?}");
    }
}

#[test]
fn cached_clone_is_reused_and_cleaned() {
    let Some((tmp, bare, _)) = seeded() else {
        return;
    };
    let cache = tmp.path().join("c");
    let url = file_url(&bare);
    let main = CheckoutRef::branch("main");
    let dir = {
        let ws = Workspace::open_or_clone(&cache, &url, &Auth::none(), &main, Options::default())
            .expect("clone");
        // A crashed run: half-written and untracked files in the clone.
        std::fs::write(ws.workdir().join("app.yaml"), "image: half-writ").expect("write");
        std::fs::write(ws.workdir().join("stray.tmp"), "x").expect("write");
        std::fs::write(ws.workdir().join("staged.yaml"), "y").expect("write");
        std::fs::create_dir_all(ws.workdir().join("new/dir")).expect("mkdir");
        std::fs::write(ws.workdir().join("new/dir/f"), "z").expect("write");
        git(ws.workdir(), &["add", "staged.yaml", "app.yaml"]);
        ws.workdir().to_path_buf()
    };
    let newer = commit_files(&bare, "main", &[("b.yaml", b"b: 1\n")], "newer");
    let ws = Workspace::open_or_clone(&cache, &url, &Auth::none(), &main, Options::default())
        .expect("reuse");
    assert_eq!(ws.workdir(), dir, "same cache directory");
    assert_eq!(ws.checkout_commit(), Some(newer), "fetched the new commit");
    assert_eq!(
        std::fs::read_to_string(dir.join("app.yaml")).expect("read"),
        "image: app:1.0.0\n"
    );
    assert!(!dir.join("stray.tmp").exists(), "untracked file removed");
    assert!(!dir.join("staged.yaml").exists(), "staged new file removed");
    assert!(!dir.join("new").exists(), "untracked directory removed");
    assert_eq!(
        git(&dir, &["status", "--porcelain", "--ignored"]),
        "",
        "clean tree and index"
    );
    assert!(dir.join("b.yaml").exists());
}

#[test]
fn corrupt_cache_is_rebuilt() {
    let Some((tmp, bare, initial)) = seeded() else {
        return;
    };
    let cache = tmp.path().join("c");
    let url = file_url(&bare);
    let main = CheckoutRef::branch("main");
    type Corruption = fn(&Path);
    let corruptions: [(&str, Corruption); 3] = [
        ("garbage HEAD", |git_dir| {
            std::fs::write(git_dir.join("HEAD"), "garbage\n").expect("write")
        }),
        ("objects deleted", |git_dir| {
            std::fs::remove_dir_all(git_dir.join("objects")).expect("rm");
            std::fs::create_dir_all(git_dir.join("objects")).expect("mkdir");
        }),
        ("stale index.lock", |git_dir| {
            std::fs::write(git_dir.join("index.lock"), "").expect("write")
        }),
    ];
    for (what, corrupt) in corruptions {
        let dir = Workspace::open_or_clone(&cache, &url, &Auth::none(), &main, Options::default())
            .expect("clone")
            .workdir()
            .to_path_buf();
        corrupt(&dir.join(".git"));
        let mut ws =
            Workspace::open_or_clone(&cache, &url, &Auth::none(), &main, Options::default())
                .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(
            ws.checkout_commit().as_deref(),
            Some(initial.as_str()),
            "{what}"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("app.yaml")).expect("read"),
            "image: app:1.0.0\n",
            "{what}"
        );
        // Still usable for a commit (no push, to keep `initial` valid).
        std::fs::write(dir.join("x"), what).expect("write");
        assert!(
            ws.commit_all(&commit_opts(), "probe")
                .expect("commit")
                .is_some(),
            "{what}"
        );
    }
}

// ---- smart HTTP ----

fn http_server(auth: bool) -> Option<GitHttpServer> {
    GitHttpServer::start(git_http::Options {
        basic_auth: auth.then(|| ("flux".to_string(), "s3cret-pw".to_string())),
    })
}

/// http-backend with Basic auth (flux / s3cret-pw) serving `app.git`, whose
/// `main` holds `app.yaml` with `content`.
fn authed_app_repo(content: &[u8]) -> Option<(GitHttpServer, std::path::PathBuf)> {
    let server = http_server(true)?;
    let bare = init_bare(server.root(), "app.git");
    commit_files(&bare, "main", &[("app.yaml", content)], "initial");
    Some((server, bare))
}

#[test]
fn http_basic_auth_clone_and_push() {
    let Some((server, bare)) = authed_app_repo(b"image: app:1.0.0\n") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let auth = Auth::from_secret(&secret(&[("username", "flux"), ("password", "s3cret-pw")]))
        .expect("auth");
    let mut ws = Workspace::open_or_clone(
        tmp.path(),
        &server.url("app.git"),
        &auth,
        &CheckoutRef::branch("main"),
        Options::default(),
    )
    .unwrap_or_else(|e| panic!("clone over http: {e}\n{}", server.log()));
    let result = ws
        .push_with_retry(&push_to("main"), &commit_opts(), rewrite("1.5.0"))
        .unwrap_or_else(|e| panic!("push over http: {e}\n{}", server.log()))
        .expect("pushed");
    assert_eq!(
        rev_parse(&bare, "main").as_deref(),
        Some(result.commit.as_str())
    );
    // Later run over the cached clone.
    let mut ws = Workspace::open_or_clone(
        tmp.path(),
        &server.url("app.git"),
        &auth,
        &CheckoutRef::branch("main"),
        Options::default(),
    )
    .expect("reuse over http");
    assert_eq!(
        ws.checkout_commit().as_deref(),
        Some(result.commit.as_str())
    );
    let again = ws
        .push_with_retry(&push_to("main"), &commit_opts(), rewrite("1.6.0"))
        .expect("push")
        .expect("pushed");
    assert_eq!(git(&bare, &["rev-parse", "main^"]), result.commit);
    assert_eq!(rev_parse(&bare, "main"), Some(again.commit));
}

#[test]
fn http_clone_reports_fetch_progress() {
    let Some(server) = http_server(false) else {
        return;
    };
    let bare = init_bare(server.root(), "progress.git");
    let files: Vec<(String, Vec<u8>)> = (0..50)
        .map(|i| {
            (
                format!("apps/app-{i}.yaml"),
                format!("image: app:{i}\n").into_bytes(),
            )
        })
        .collect();
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    commit_files(&bare, "main", &refs, "fifty files");
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(usize, usize)>::new()));
    let record = std::sync::Arc::clone(&seen);
    let opts = Options {
        progress: Some(std::sync::Arc::new(move |received, total| {
            record.lock().expect("progress log").push((received, total));
        })),
        ..Options::default()
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    Workspace::open_or_clone(
        tmp.path(),
        &server.url("progress.git"),
        &Auth::none(),
        &CheckoutRef::branch("main"),
        opts,
    )
    .unwrap_or_else(|e| panic!("clone over http: {e}\n{}", server.log()));
    let seen = seen.lock().expect("progress log");
    let last = seen.last().copied().expect("progress was reported");
    // 50 blobs, their trees and the commit: all received by the end.
    assert!(last.1 > 50, "{seen:?}");
    assert_eq!(last.0, last.1, "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0), "{seen:?}");
}

#[test]
fn http_wrong_password_is_a_clear_error() {
    let Some((server, _)) = authed_app_repo(b"x\n") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let auth = Auth::from_secret(&secret(&[
        ("username", "flux"),
        ("password", "wrong-pw-123"),
    ]))
    .expect("auth");
    let url = server
        .url("app.git")
        .replace("http://", "http://flux:url-pw-456@");
    let err = Workspace::open_or_clone(
        tmp.path(),
        &url,
        &auth,
        &CheckoutRef::branch("main"),
        Options::default(),
    )
    .expect_err("bad password");
    assert!(matches!(err, Error::AuthFailed { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("127.0.0.1:{}/git/app.git", server.port())),
        "{msg}"
    );
    assert!(
        !msg.contains("wrong-pw-123") && !msg.contains("url-pw-456"),
        "{msg}"
    );
    let dbg = format!("{err:?}");
    assert!(
        !dbg.contains("wrong-pw-123") && !dbg.contains("url-pw-456"),
        "{dbg}"
    );
}

#[test]
fn protected_branch_hook_rejection_is_passed_through() {
    // Hooks run in git-receive-pack, so this needs a real server (libgit2's
    // file:// transport pushes in-process without hooks).
    let Some(server) = http_server(false) else {
        return;
    };
    let bare = init_bare(server.root(), "protected.git");
    let initial = commit_files(
        &bare,
        "main",
        &[("app.yaml", b"image: app:1.0.0\n")],
        "initial",
    );
    let hook = bare.join("hooks/pre-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\necho 'GH006: Protected branch update failed for refs/heads/main.' >&2\nexit 1\n",
    )
    .expect("hook");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut ws = Workspace::open_or_clone(
        tmp.path(),
        &server.url("protected.git"),
        &Auth::none(),
        &CheckoutRef::branch("main"),
        Options::default(),
    )
    .expect("clone");
    let err = ws
        .push_with_retry(&push_to("main"), &commit_opts(), rewrite("1.1.0"))
        .expect_err("protected");
    assert!(matches!(err, Error::ProtectedBranch { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("GH006: Protected branch update failed"),
        "{msg}"
    );
    assert!(msg.contains("branch 'main'"), "{msg}");
    assert_eq!(rev_parse(&bare, "main"), Some(initial), "remote untouched");
}

#[test]
fn http_push_options_reach_the_server() {
    let Some(server) = http_server(false) else {
        return;
    };
    let bare = init_bare(server.root(), "opts.git");
    git(&bare, &["config", "receive.advertisePushOptions", "true"]);
    commit_files(
        &bare,
        "main",
        &[("app.yaml", b"image: app:1.0.0\n")],
        "initial",
    );
    let seen = server.root().join("push-options.txt");
    let hook = bare.join("hooks/pre-receive");
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\ni=0\nwhile [ $i -lt \"${{GIT_PUSH_OPTION_COUNT:-0}}\" ]; do eval echo \\$GIT_PUSH_OPTION_$i >> {}; i=$((i+1)); done\n",
            seen.display()
        ),
    )
    .expect("hook");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut ws = Workspace::open_or_clone(
        tmp.path(),
        &server.url("opts.git"),
        &Auth::none(),
        &CheckoutRef::branch("main"),
        Options::default(),
    )
    .expect("clone");
    let spec = PushSpec {
        options: [
            ("merge_request.create".to_string(), String::new()),
            ("merge_request.target".to_string(), "release".to_string()),
        ]
        .into_iter()
        .collect(),
        ..push_to("main")
    };
    ws.push_with_retry(&spec, &commit_opts(), rewrite("1.1.0"))
        .unwrap_or_else(|e| panic!("push with options: {e}\n{}", server.log()))
        .expect("pushed");
    let got = std::fs::read_to_string(&seen).expect("hook saw push options");
    assert_eq!(got, "merge_request.create\nmerge_request.target=release\n");
}

#[test]
fn bearer_token_is_sent_as_authorization_header() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("accept");
        let mut req = Vec::new();
        let mut buf = [0u8; 1024];
        while !req.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = conn.read(&mut buf).expect("read request");
            if n == 0 {
                break;
            }
            req.extend_from_slice(&buf[..n]);
        }
        conn.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .expect("respond");
        String::from_utf8_lossy(&req).to_string()
    });
    let tmp = tempfile::tempdir().expect("tempdir");
    let auth = Auth::from_secret(&secret(&[("bearerToken", "tok-123456")])).expect("auth");
    let url = format!("http://127.0.0.1:{port}/org/repo.git");
    let err = Workspace::open_or_clone(
        tmp.path(),
        &url,
        &auth,
        &CheckoutRef::branch("main"),
        Options::default(),
    )
    .expect_err("the fake server refuses");
    let request = server.join().expect("server thread");
    assert!(
        request.starts_with("GET /org/repo.git/info/refs?service=git-upload-pack"),
        "{request}"
    );
    assert!(
        request.contains("Authorization: Bearer tok-123456"),
        "{request}"
    );
    assert!(!err.to_string().contains("tok-123456"), "{err}");
}

#[test]
fn http_shallow_clone_retries_after_concurrent_commit() {
    let Some(server) = http_server(false) else {
        return;
    };
    let bare = init_bare(server.root(), "race.git");
    for i in 0..3 {
        commit_files(
            &bare,
            "main",
            &[("history.txt", format!("{i}").as_bytes())],
            &format!("history {i}"),
        );
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut ws = Workspace::open_or_clone(
        tmp.path(),
        &server.url("race.git"),
        &Auth::none(),
        &CheckoutRef::branch("main"),
        Options::default(),
    )
    .expect("shallow clone");
    let shallow = tmp
        .path()
        .read_dir()
        .expect("cache")
        .flatten()
        .any(|d| d.path().join(".git/shallow").exists());
    assert!(shallow, "depth 1 by default");
    let mut calls = 0;
    let result = ws
        .push_with_retry(&push_to("main"), &commit_opts(), |dir: &Path| {
            calls += 1;
            if calls == 1 {
                commit_files(
                    &bare,
                    "main",
                    &[("other.yaml", b"by: human\n")],
                    "human commit",
                );
            }
            std::fs::write(dir.join("app.yaml"), "image: app:1.2.0\n")?;
            Ok::<_, std::io::Error>(Some("Update app to 1.2.0".to_string()))
        })
        .unwrap_or_else(|e| panic!("push after retry: {e}\n{}", server.log()))
        .expect("pushed");
    assert_eq!(result.attempts, 2);
    assert_eq!(
        log_subjects(&bare, "main"),
        vec![
            "Update app to 1.2.0",
            "human commit",
            "history 2",
            "history 1",
            "history 0"
        ]
    );
    git(&bare, &["fsck", "--no-progress"]);
}

// ---- ssh ----

fn ssh_auth(server: &Sshd, kind: KeyKind, known_hosts: &str) -> Auth {
    let key = server.key(kind);
    let mut pairs = vec![
        ("identity", key.private.as_str()),
        ("known_hosts", known_hosts),
    ];
    if kind == KeyKind::Encrypted {
        pairs.push(("password", sshd::PASSPHRASE));
    }
    Auth::from_secret(&secret(&pairs)).expect("ssh auth")
}

#[test]
fn ssh_clone_and_push_with_ed25519_ecdsa_rsa_and_encrypted_keys() {
    let Some(server) = Sshd::start(sshd::Options::default()) else {
        return;
    };
    let Some((tmp, bare, _)) = seeded() else {
        return;
    };
    for (i, kind) in [
        KeyKind::Ed25519,
        KeyKind::Ecdsa,
        KeyKind::Rsa,
        KeyKind::Encrypted,
    ]
    .into_iter()
    .enumerate()
    {
        let auth = ssh_auth(&server, kind, &server.known_hosts());
        let mut ws = Workspace::open_or_clone(
            &tmp.path().join(format!("c{i}")),
            &server.url(&bare),
            &auth,
            &CheckoutRef::branch("main"),
            Options::default(),
        )
        .unwrap_or_else(|e| panic!("{kind:?} clone: {e}\n{}", server.log()));
        let tag = format!("4.{i}.0");
        let result = ws
            .push_with_retry(&push_to("main"), &commit_opts(), rewrite(&tag))
            .unwrap_or_else(|e| panic!("{kind:?} push: {e}\n{}", server.log()))
            .expect("pushed");
        assert_eq!(
            rev_parse(&bare, "main").as_deref(),
            Some(result.commit.as_str()),
            "{kind:?}"
        );
    }
}

#[test]
fn ssh_unknown_or_mismatched_host_key_is_refused() {
    let Some(server) = Sshd::start(sshd::Options::default()) else {
        return;
    };
    let Some((tmp, bare, _)) = seeded() else {
        return;
    };
    let host = format!("[127.0.0.1]:{}", server.port());
    let other_key = server.key(KeyKind::Ecdsa).public.clone();
    let cases = [
        (
            format!("github.com {}\n", server.host_public_key()),
            "not in known_hosts",
        ),
        (format!("{host} {other_key}\n"), "does not match"),
        (
            format!("127.0.0.1 {}\n", server.host_public_key()),
            "not in known_hosts",
        ),
    ];
    for (i, (kh, want)) in cases.into_iter().enumerate() {
        let auth = ssh_auth(&server, KeyKind::Ed25519, &kh);
        let err = Workspace::open_or_clone(
            &tmp.path().join(format!("c{i}")),
            &server.url(&bare),
            &auth,
            &CheckoutRef::branch("main"),
            Options::default(),
        )
        .expect_err("host key must be refused");
        assert!(matches!(err, Error::HostKey { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(
            msg.contains(want) && msg.contains(&host) && msg.contains("ssh-ed25519"),
            "{msg}"
        );
    }
}

#[test]
fn ssh_read_only_key_push_is_a_clear_error() {
    let Some(server) = Sshd::start(sshd::Options::default()) else {
        return;
    };
    let Some((tmp, bare, initial)) = seeded() else {
        return;
    };
    let auth = ssh_auth(&server, KeyKind::ReadOnly, &server.known_hosts());
    let mut ws = Workspace::open_or_clone(
        tmp.path(),
        &server.url(&bare),
        &auth,
        &CheckoutRef::branch("main"),
        Options::default(),
    )
    .unwrap_or_else(|e| panic!("read-only keys can clone: {e}\n{}", server.log()));
    let err = ws
        .push_with_retry(&push_to("main"), &commit_opts(), rewrite("5.0.0"))
        .expect_err("read-only");
    assert!(matches!(err, Error::ReadOnly { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("marked as read only"), "{msg}");
    assert!(msg.contains("branch 'main'"), "{msg}");
    assert_eq!(rev_parse(&bare, "main"), Some(initial), "remote untouched");
}

#[test]
fn ssh_unauthorized_key_is_auth_failed() {
    let Some(server) = Sshd::start(sshd::Options::default()) else {
        return;
    };
    let Some((tmp, bare, _)) = seeded() else {
        return;
    };
    let keyfile = tmp.path().join("stranger");
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&keyfile)
        .output()
        .expect("ssh-keygen");
    assert!(out.status.success());
    let private = std::fs::read_to_string(&keyfile).expect("key");
    let kh = server.known_hosts();
    let auth =
        Auth::from_secret(&secret(&[("identity", &private), ("known_hosts", &kh)])).expect("auth");
    let err = Workspace::open_or_clone(
        &tmp.path().join("c"),
        &server.url(&bare),
        &auth,
        &CheckoutRef::branch("main"),
        Options::default(),
    )
    .expect_err("key not authorized");
    assert!(matches!(err, Error::AuthFailed { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains(&format!("127.0.0.1:{}", server.port())),
        "{err}"
    );
}

// ---- signing ----

#[test]
fn signed_commit_verifies_with_git_verify_commit() {
    let Some((tmp, bare, _)) = seeded() else {
        return;
    };
    if Command::new("gpg").arg("--version").output().is_err() {
        ferroflux_testkit::env::skip_or_fail("gpg (Debian package gnupg)");
        return;
    }
    let gnupg = tmp.path().join("gnupg");
    std::fs::create_dir_all(&gnupg).expect("gnupghome");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&gnupg, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let gpg = |args: &[&str]| {
        let out = Command::new("gpg")
            .env("GNUPGHOME", &gnupg)
            .args([
                "--batch",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "sign-pass",
            ])
            .args(args)
            .output()
            .expect("run gpg");
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    gpg(&[
        "--quick-gen-key",
        "Flux Bot <flux@example.com>",
        "ed25519",
        "sign",
        "never",
    ]);
    let armored = gpg(&["--armor", "--export-secret-keys", "flux@example.com"]);
    let signer = Signer::from_secret(
        "signing-key",
        &[
            ("git.asc".to_string(), armored.clone()),
            ("passphrase".to_string(), b"sign-pass".to_vec()),
        ]
        .into_iter()
        .collect(),
    )
    .expect("signer");
    let wrong =
        Signer::from_armored("signing-key", &armored, Some("nope")).expect_err("wrong passphrase");
    assert!(wrong.to_string().contains("passphrase"), "{wrong}");

    let mut ws = Workspace::open_or_clone(
        &tmp.path().join("c"),
        &file_url(&bare),
        &Auth::none(),
        &CheckoutRef::branch("main"),
        Options::default(),
    )
    .expect("clone");
    let opts = CommitOptions {
        signer: Some(signer),
        ..commit_opts()
    };
    let result = ws
        .push_with_retry(&push_to("main"), &opts, rewrite("6.0.0"))
        .expect("push")
        .expect("pushed");
    let out = Command::new("git")
        .env("GNUPGHOME", &gnupg)
        .args(["verify-commit", "--raw", &result.commit])
        .current_dir(&bare)
        .output()
        .expect("git verify-commit");
    assert!(
        out.status.success(),
        "verify-commit failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("GOODSIG"));
    assert_eq!(show_file(&bare, "main", "app.yaml"), "image: app:6.0.0");
}

/// Access-log lines (`METHOD /path STATUS`) whose status is `status`.
fn with_status<'a>(log: &'a str, status: &str) -> Vec<&'a str> {
    log.lines()
        .filter(|l| l.rsplit(' ').next() == Some(status))
        .collect()
}

#[test]
fn http_basic_auth_is_sent_up_front_and_one_push_carries_both_refspecs() {
    let Some((server, bare)) = authed_app_repo(b"image: app:1.0.0\n") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let cache = tmp.path().join("cache");
    let auth = Auth::from_secret(&secret(&[("username", "flux"), ("password", "s3cret-pw")]))
        .expect("auth");
    let mut ws = Workspace::open_or_clone(
        &cache,
        &server.url("app.git"),
        &auth,
        &CheckoutRef::branch("main"),
        Options::default(),
    )
    .unwrap_or_else(|e| panic!("clone over http: {e}\n{}", server.log()));
    let spec = PushSpec {
        branch: "main".into(),
        refspec: Some("refs/heads/main:refs/heads/release".into()),
        ..PushSpec::default()
    };
    let result = ws
        .push_with_retry(&spec, &commit_opts(), rewrite("1.5.0"))
        .unwrap_or_else(|e| panic!("push over http: {e}\n{}", server.log()))
        .expect("pushed");
    assert_eq!(rev_parse(&bare, "release"), Some(result.commit.clone()));
    // The push's POST line, not the info/refs GET before it (which also
    // names git-receive-pack): lighttpd may flush them seconds apart.
    let log = server.access_log_until(|log| {
        log.lines()
            .any(|l| l.starts_with("POST") && l.contains("git-receive-pack"))
    });
    // No request waits for a 401 before sending the credentials.
    assert!(with_status(&log, "401").is_empty(), "{log}");
    let pushes: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("POST") && l.contains("git-receive-pack"))
        .collect();
    assert_eq!(pushes.len(), 1, "one push for branch and refspec:\n{log}");
}

#[test]
fn password_in_the_url_stays_out_of_the_cache() {
    use std::os::unix::fs::PermissionsExt as _;
    let Some((server, _)) = authed_app_repo(b"x\n") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let cache = tmp.path().join("cache");
    let url = server
        .url("app.git")
        .replace("http://", "http://flux:s3cret-pw@");
    for _ in 0..2 {
        // Clone, then reuse of the cached clone.
        Workspace::open_or_clone(
            &cache,
            &url,
            &Auth::none(),
            &CheckoutRef::branch("main"),
            Options::default(),
        )
        .unwrap_or_else(|e| panic!("clone with user:password@ url: {e}\n{}", server.log()));
    }
    let mode = std::fs::metadata(&cache)
        .expect("cache")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
    for entry in walk(&cache) {
        let text = std::fs::read(&entry).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&text).contains("s3cret-pw"),
            "password written to {}",
            entry.display()
        );
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn timeout_is_checked_when_the_server_answers_late() {
    // Answers every request with a 401 after 1.5 s: with a 1 s timeout the
    // credential callback sees the deadline passed.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                use std::io::{Read as _, Write as _};
                let mut s = stream;
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                std::thread::sleep(std::time::Duration::from_millis(1500));
                let _ = s.write_all(
                    b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\nContent-Length: 0\r\n\r\n",
                );
            });
        }
    });
    let tmp = tempfile::tempdir().expect("tempdir");
    let auth = Auth::from_secret(&secret(&[("username", "flux"), ("password", "s3cret-pw")]))
        .expect("auth");
    let started = std::time::Instant::now();
    let err = Workspace::open_or_clone(
        tmp.path(),
        &format!("http://127.0.0.1:{port}/app.git"),
        &auth,
        &CheckoutRef::branch("main"),
        Options {
            timeout: Some(std::time::Duration::from_secs(1)),
            ..Options::default()
        },
    )
    .expect_err("late server");
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains("timeout after 1s"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

fn trusting(window: std::time::Duration) -> Options {
    Options {
        trust_own_push: Some(window),
        ..Options::default()
    }
}

fn open(cache: &Path, bare: &Path, opts: Options) -> Workspace {
    Workspace::open_or_clone(
        cache,
        &file_url(bare),
        &Auth::none(),
        &CheckoutRef::branch("main"),
        opts,
    )
    .expect("open")
}

#[test]
fn own_push_is_reused_without_a_fetch_and_checked_by_the_next_push() {
    let Some((tmp, bare, _)) = seeded() else {
        return;
    };
    let cache = tmp.path().join("c");
    let window = std::time::Duration::from_secs(60);
    let first = open(&cache, &bare, trusting(window))
        .push_with_retry(&push_to("main"), &commit_opts(), rewrite("1.1.0"))
        .expect("push")
        .expect("pushed");
    // Someone else pushes after us.
    let human = commit_files(&bare, "main", &[("other.yaml", b"by: human\n")], "human");
    let mut ws = open(&cache, &bare, trusting(window));
    assert!(!ws.is_verified(), "HEAD is our own push, not fetched");
    assert_eq!(ws.checkout_commit(), Some(first.commit.clone()));
    let mut calls = 0;
    let second = ws
        .push_with_retry(&push_to("main"), &commit_opts(), |dir: &Path| {
            calls += 1;
            rewrite("1.2.0")(dir)
        })
        .expect("push")
        .expect("pushed");
    assert_eq!(calls, 2, "the stale try is rejected, fetched and redone");
    assert_eq!(second.attempts, 1, "the unverified try is free");
    assert!(ws.is_verified());
    assert_eq!(
        log_subjects(&bare, "main"),
        vec![
            "Update app to 1.2.0",
            "human",
            "Update app to 1.1.0",
            "initial"
        ]
    );
    assert_eq!(rev_parse(&bare, "main^"), Some(human));
    // Without the option, the same clone fetches.
    let ws = open(&cache, &bare, Options::default());
    assert!(ws.is_verified());
    assert_eq!(ws.checkout_commit(), Some(second.commit));
}

#[test]
fn own_push_that_would_change_nothing_is_fetched_before_saying_so() {
    let Some((tmp, bare, _)) = seeded() else {
        return;
    };
    let cache = tmp.path().join("c");
    let window = std::time::Duration::from_secs(60);
    open(&cache, &bare, trusting(window))
        .push_with_retry(&push_to("main"), &commit_opts(), rewrite("1.1.0"))
        .expect("push")
        .expect("pushed");
    // A human reverts our change: the stale tree already says 1.1.0.
    commit_files(
        &bare,
        "main",
        &[("app.yaml", b"image: app:1.0.0\n")],
        "revert",
    );
    let mut ws = open(&cache, &bare, trusting(window));
    assert!(!ws.is_verified());
    let pushed = ws
        .push_with_retry(&push_to("main"), &commit_opts(), rewrite("1.1.0"))
        .expect("push")
        .expect("the revert is undone, not missed");
    assert_eq!(show_file(&bare, "main", "app.yaml"), "image: app:1.1.0");
    assert_eq!(rev_parse(&bare, "main"), Some(pushed.commit));
    // And when the remote really holds the change: nothing, after a fetch.
    let mut ws = open(&cache, &bare, trusting(window));
    assert_eq!(
        ws.push_with_retry(&push_to("main"), &commit_opts(), rewrite("1.1.0"))
            .expect("no-op"),
        None
    );
    assert!(ws.is_verified());
}

#[test]
fn own_push_older_than_the_window_or_to_another_branch_is_fetched() {
    let Some((tmp, bare, _)) = seeded() else {
        return;
    };
    let cache = tmp.path().join("c");
    open(&cache, &bare, Options::default())
        .push_with_retry(&push_to("main"), &commit_opts(), rewrite("1.1.0"))
        .expect("push")
        .expect("pushed");
    std::thread::sleep(std::time::Duration::from_millis(20));
    let human = commit_files(&bare, "main", &[("other.yaml", b"x\n")], "human");
    let ws = open(&cache, &bare, trusting(std::time::Duration::from_millis(1)));
    assert!(ws.is_verified(), "the mark is too old");
    assert_eq!(ws.checkout_commit(), Some(human.clone()));
    // A push to another branch leaves no mark for the checkout branch.
    let mut ws = open(&cache, &bare, trusting(std::time::Duration::from_secs(60)));
    ws.push_with_retry(&push_to("release"), &commit_opts(), rewrite("2.0.0"))
        .expect("push")
        .expect("pushed");
    let human2 = commit_files(&bare, "main", &[("other.yaml", b"y\n")], "human 2");
    let ws = open(&cache, &bare, trusting(std::time::Duration::from_secs(60)));
    assert!(ws.is_verified());
    assert_eq!(ws.checkout_commit(), Some(human2));
}
