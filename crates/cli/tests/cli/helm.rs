//! `ferroflux helm template`: the binary run as users run `helm template`
//! (relative chart and values paths, `-f -` from standard input, flags in
//! any order), printing what the real helm v4 prints (`$FERROFLUX_HELM`,
//! .ci/setup.d/56-helm.sh), `Error: ...` and exit 1 on failure.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn charts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../helm/tests/charts")
}

fn ours(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferroflux"))
        .arg("helm")
        .arg("template")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ferroflux");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write stdin");
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("ferroflux ends")
}

fn helm(dir: &Path, args: &[&str], stdin: Option<&str>) -> Option<Output> {
    let bin = std::env::var_os("FERROFLUX_HELM").filter(|p| Path::new(p).is_file());
    let Some(bin) = bin else {
        ferroflux_testkit::env::skip_or_fail(
            "FERROFLUX_HELM (see .ci/setup.d/56-helm.sh) is not a built helm",
        );
        return None;
    };
    let home = tempfile::tempdir().expect("home");
    let mut child = Command::new(bin)
        .arg("template")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("HOME", home.path())
        .env("KUBECONFIG", home.path().join("none"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run helm");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write stdin");
    }
    drop(child.stdin.take());
    Some(child.wait_with_output().expect("helm ends"))
}

#[test]
fn relative_paths_and_stdin_values_print_what_helm_prints() {
    let dir = charts();
    let values = "replicaCount: 5\nautoscaling:\n  enabled: false\n";
    let args = [
        "web",
        "./t-basic",
        "-n",
        "shop",
        "-f",
        "-",
        "--set",
        "image.tag=2.0",
    ];
    let Some(want) = helm(&dir, &args, Some(values)) else {
        return;
    };
    let got = ours(&dir, &args, Some(values));
    assert!(
        got.status.success(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    assert!(want.status.success());
    assert_eq!(
        String::from_utf8_lossy(&got.stdout),
        String::from_utf8_lossy(&want.stdout)
    );
    let out = String::from_utf8_lossy(&got.stdout);
    assert!(out.contains("replicas: 5"), "{out}");
    assert!(out.contains("image: \"nginx:2.0\""), "{out}");
}

#[test]
fn a_failing_chart_says_error_and_exits_1() {
    let dir = charts();
    let got = ours(&dir, &["rel", "t-err-required"], None);
    assert_eq!(got.status.code(), Some(1));
    let err = String::from_utf8_lossy(&got.stderr);
    assert!(
        err.starts_with("Error: execution error at (t-err-required/templates/a.yaml:6:12): image.repository is required"),
        "{err}"
    );
    assert!(got.stdout.is_empty());
    let got = ours(&dir, &["rel", "no-such-chart"], None);
    assert_eq!(got.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&got.stderr).contains("not found"),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    let got = ours(
        &dir,
        &["rel", "t-basic", "--repo", "https://charts.example.com"],
        None,
    );
    assert_eq!(got.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&got.stderr).contains("--repo is not supported"),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
}

#[test]
fn help_lists_helms_flags() {
    let got = ours(&charts(), &["--help"], None);
    assert!(got.status.success());
    let out = String::from_utf8_lossy(&got.stdout);
    assert!(
        out.contains("ferroflux helm template [NAME] CHART"),
        "{out}"
    );
    assert!(out.contains("--set-json"), "{out}");
}
