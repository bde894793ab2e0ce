//! Bare Git repositories with content, made with the `git` CLI (the reference
//! tool, so tests never check ferroflux-git against itself). Every helper
//! panics with git's stderr on failure: they are test fixtures.

use std::path::{Path, PathBuf};
use std::process::Command;

/// True when a `git` binary is on PATH; otherwise a skip notice (or a CI
/// failure) is printed and false returned.
pub fn git_available() -> bool {
    let ok = Command::new("git")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        crate::env::skip_or_fail("the git binary (Debian package git)");
    }
    ok
}

/// Run `git <args>` in `dir` with a fixed identity and no user or system
/// config; return trimmed stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Fixture")
        .env("GIT_AUTHOR_EMAIL", "fixture@example.com")
        .env("GIT_COMMITTER_NAME", "Fixture")
        .env("GIT_COMMITTER_EMAIL", "fixture@example.com")
        .output()
        .unwrap_or_else(|e| panic!("cannot run git {args:?} in {}: {e}", dir.display()));
    assert!(
        out.status.success(),
        "git {args:?} in {} failed: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Create an empty bare repository `<root>/<name>` whose default branch is
/// `main` and that accepts pushes over smart HTTP.
pub fn init_bare(root: &Path, name: &str) -> PathBuf {
    let path = root.join(name);
    std::fs::create_dir_all(&path)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
    git(
        &path,
        &["init", "--quiet", "--bare", "--initial-branch=main"],
    );
    git(&path, &["config", "http.receivepack", "true"]);
    git(
        &path,
        &["config", "uploadpack.allowReachableSHA1InWant", "true"],
    );
    path
}

/// Commit `files` (path, content) on `branch` of the bare repository `bare`
/// and push it there. A missing branch starts from `main` when that exists,
/// or as the first commit of an empty repository. Returns the new commit SHA.
pub fn commit_files(bare: &Path, branch: &str, files: &[(&str, &[u8])], message: &str) -> String {
    let tmp = tempfile::tempdir().expect("tempdir for a fixture clone");
    let work = tmp.path().join("w");
    let bare_s = bare.to_string_lossy().to_string();
    git(tmp.path(), &["clone", "--quiet", &bare_s, "w"]);
    let has = |r: &str| {
        Command::new("git")
            .args(["rev-parse", "--verify", "--quiet", r])
            .current_dir(&work)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if has(&format!("refs/remotes/origin/{branch}")) {
        git(
            &work,
            &[
                "checkout",
                "--quiet",
                "-B",
                branch,
                &format!("origin/{branch}"),
            ],
        );
    } else if has("refs/remotes/origin/main") {
        git(&work, &["checkout", "--quiet", "-B", branch, "origin/main"]);
    } else {
        git(&work, &["checkout", "--quiet", "--orphan", branch]);
    }
    for (path, content) in files {
        let p = work.join(path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("fixture dir");
        }
        std::fs::write(&p, content).expect("fixture file");
    }
    git(&work, &["add", "--all"]);
    git(
        &work,
        &["commit", "--quiet", "--allow-empty", "-m", message],
    );
    git(
        &work,
        &[
            "push",
            "--quiet",
            "origin",
            &format!("HEAD:refs/heads/{branch}"),
        ],
    );
    git(&work, &["rev-parse", "HEAD"])
}

/// The commit a revision of `bare` points at, or None when it does not exist.
pub fn rev_parse(bare: &Path, rev: &str) -> Option<String> {
    let out = Command::new("git")
        .args([
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ])
        .current_dir(bare)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Subjects of the commits reachable from `rev`, newest first.
pub fn log_subjects(bare: &Path, rev: &str) -> Vec<String> {
    git(bare, &["log", "--format=%s", rev])
        .lines()
        .map(str::to_string)
        .collect()
}

/// The content of `path` at `rev` in `bare`.
pub fn show_file(bare: &Path, rev: &str, path: &str) -> String {
    git(bare, &["show", &format!("{rev}:{path}")])
}

/// Create a lightweight tag `name` at `rev`.
pub fn tag(bare: &Path, name: &str, rev: &str) {
    git(bare, &["tag", name, rev]);
}
