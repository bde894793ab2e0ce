//! `ferroflux image setters apply`.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

const MARKED: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n\n\
                      spec:\n  image: \"ghcr.io/org/app:1.0.0\" # {\"$imagepolicy\": \"flux-system:app\"}\n\
                      \x20 tag: 1.0.0 # {\"$imagepolicy\": \"flux-system:app:tag\"}\n";
const UPDATED: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n\n\
                       spec:\n  image: \"ghcr.io/org/app:1.2.3\" # {\"$imagepolicy\": \"flux-system:app\"}\n\
                       \x20 tag: 1.2.3 # {\"$imagepolicy\": \"flux-system:app:tag\"}\n";
const POLICY: &str = "flux-system:app=ghcr.io/org/app:1.2.3";

fn ferroflux(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferroflux"))
        .args(["image", "setters", "apply"])
        .arg(dir)
        .args(args)
        .output()
        .expect("run ferroflux")
}

fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (rel, text) in files {
        let path = dir.path().join(rel);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, text).expect("write");
    }
    dir
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn apply_rewrites_in_place_and_prints_changes() {
    let dir = tree(&[("apps/web.yaml", MARKED), ("other.yaml", "a: b\n")]);
    let out = ferroflux(&["--policy", POLICY], dir.path());
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let file = dir.path().join("apps/web.yaml");
    assert_eq!(fs::read_to_string(&file).expect("read"), UPDATED);
    let shown = file.display();
    assert_eq!(
        text(&out.stdout),
        format!(
            "{shown}:7: ghcr.io/org/app:1.0.0 -> ghcr.io/org/app:1.2.3 (flux-system:app)\n\
             {shown}:8: 1.0.0 -> 1.2.3 (flux-system:app:tag)\n"
        )
    );
    assert_eq!(text(&out.stderr), "");
    // Idempotent: a second run has nothing to do.
    let again = ferroflux(&["--policy", POLICY], dir.path());
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(text(&again.stdout), "");
}

#[test]
fn dry_run_prints_a_diff_and_writes_nothing() {
    let dir = tree(&[("web.yaml", MARKED)]);
    let out = ferroflux(&["--policy", POLICY, "--dry-run"], dir.path());
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert_eq!(
        fs::read_to_string(dir.path().join("web.yaml")).expect("read"),
        MARKED
    );
    let want = "--- a/web.yaml\n+++ b/web.yaml\n@@ -4,5 +4,5 @@\n   name: web\n \n spec:\n\
                -  image: \"ghcr.io/org/app:1.0.0\" # {\"$imagepolicy\": \"flux-system:app\"}\n\
                -  tag: 1.0.0 # {\"$imagepolicy\": \"flux-system:app:tag\"}\n\
                +  image: \"ghcr.io/org/app:1.2.3\" # {\"$imagepolicy\": \"flux-system:app\"}\n\
                +  tag: 1.2.3 # {\"$imagepolicy\": \"flux-system:app:tag\"}\n";
    assert_eq!(text(&out.stdout), want);
}

#[test]
fn json_prints_the_result_model() {
    let dir = tree(&[("web.yaml", MARKED)]);
    let out = ferroflux(&["--policy", POLICY, "-o", "json", "--dry-run"], dir.path());
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let file = &v["files"][0];
    assert_eq!(file["path"], "web.yaml");
    let object = &file["objects"][0];
    assert_eq!(object["object"]["kind"], "Deployment");
    assert_eq!(object["object"]["apiVersion"], "apps/v1");
    assert_eq!(object["object"]["name"], "web");
    let change = &object["changes"][1];
    assert_eq!(change["line"], 8);
    assert_eq!(change["oldValue"], "1.0.0");
    assert_eq!(change["newValue"], "1.2.3");
    assert_eq!(change["setter"], "flux-system:app:tag");
    assert_eq!(change["image"], "ghcr.io/org/app:1.2.3");
    assert_eq!(change["policy"]["namespace"], "flux-system");
    assert_eq!(v["diagnostics"], serde_json::json!([]));
    assert_eq!(
        fs::read_to_string(dir.path().join("web.yaml")).expect("read"),
        MARKED
    );
}

#[test]
fn diagnostics_go_to_stderr_with_exit_1() {
    let dir = tree(&[
        ("bad.yaml", "a: x # {\"$imagepolicy\": flux-system:app}\n"),
        (
            "broken.yaml",
            "a: [x # {\"$imagepolicy\": \"flux-system:app\"}\n",
        ),
        ("good.yaml", MARKED),
    ]);
    let out = ferroflux(&["--policy", POLICY], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    let root = dir.path().display();
    assert!(
        stderr.contains(&format!(
            "{root}/bad.yaml:1: error: malformed $imagepolicy marker"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{root}/broken.yaml:2: error: cannot parse YAML")),
        "{stderr}"
    );
    // The rest of the tree is still updated.
    assert_eq!(
        fs::read_to_string(dir.path().join("good.yaml")).expect("read"),
        UPDATED
    );
}

#[test]
fn bad_arguments_exit_2() {
    let dir = tree(&[("web.yaml", MARKED)]);
    let cases: &[&[&str]] = &[
        &["--policy", "flux-system/app=ghcr.io/org/app:1.2.3"],
        &["--policy", "flux-system:app=ghcr.io/org/app"],
        &["--policy", POLICY, "-o", "yaml"],
        &["--nope"],
    ];
    for args in cases {
        let out = ferroflux(args, dir.path());
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let missing = dir.path().join("missing");
    let out = ferroflux(&["--policy", POLICY], &missing);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("missing"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("web.yaml")).expect("read"),
        MARKED
    );
}
