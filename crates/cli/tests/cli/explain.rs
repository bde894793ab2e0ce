//! `ferroflux image explain` on the explain crate's fixture repositories:
//! text and JSON output, exit codes 0 (whole), 1 (broken), 2 (bad input).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../explain/testdata")
        .join(case)
        .join("input")
}

fn explain(case: &str, target: &str, extra: &[&str]) -> Output {
    let repo = fixture(case);
    let home = tempfile::tempdir().expect("tempdir");
    Command::new(env!("CARGO_BIN_EXE_ferroflux"))
        .args(["image", "explain", "--offline", "--repo"])
        .arg(&repo)
        .arg("--tags-file")
        .arg(repo.join("tags.txt"))
        .args(extra)
        .arg(target)
        // Never pick up a developer's real state database.
        .env("HOME", home.path())
        .env("XDG_STATE_HOME", home.path())
        .output()
        .expect("ferroflux runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn whole_chain_exits_0() {
    let out = explain("whole-pending", "apps/stage/deployment.yaml:11", &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("explain apps/stage/deployment.yaml:11\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ok       range       clusters/stage/policy.yaml:12: chose 0.13.3"),
        "{stdout}"
    );
    assert!(
        stdout.contains("verdict: whole as far as known (1 link(s) unknown)"),
        "{stdout}"
    );
}

#[test]
fn broken_range_exits_1_with_json() {
    let out = explain(
        "range-excludes-all",
        "apps/stage/deployment.yaml:11",
        &["-o", "json"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["brokenLink"], "range");
    assert_eq!(json["policy"], "flux-system/app");
    let range = &json["links"][6];
    assert_eq!(range["state"], "broken");
    assert_eq!(range["line"], 12);
    assert_eq!(
        range["evidence"][0],
        "the highest version seen is 0.13.3 (tag 0.13.3)"
    );
}

#[test]
fn policy_target_and_missing_marker() {
    let out = explain("path-not-covered", "flux-system/app", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("broken   path        apps/prod/deployment.yaml:11: no ImageUpdateAutomation's update.path covers"),
        "{}",
        text(&out.stdout)
    );
    let out = explain("no-marker", "apps/stage/deployment.yaml:13", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout)
            .contains("verdict: broken at marker: no $imagepolicy marker on this line")
    );
}

#[test]
fn bad_input_exits_2() {
    for (target, extra, says) in [
        (
            "Not A Target",
            &[][..],
            "neither an existing file nor NAMESPACE/POLICY",
        ),
        (
            "flux-system/app",
            &["--state", "/nonexistent/state.redb"][..],
            "does not exist",
        ),
    ] {
        let out = explain("whole-pending", target, extra);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{target}: {}",
            text(&out.stdout)
        );
        assert!(
            text(&out.stderr).contains(says),
            "{target}: {}",
            text(&out.stderr)
        );
    }
}
