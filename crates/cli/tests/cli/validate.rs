//! `ferroflux validate`: the example repository is clean, broken input gives
//! `FILE:LINE: KIND/NS/NAME: error: ...` and exit 1, `-o json` is an array.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn validate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferroflux"))
        .arg("validate")
        .args(args)
        .output()
        .expect("ferroflux runs")
}

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/flux-repo")
}

#[test]
fn example_repository_is_clean() {
    let out = validate(&[example().to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        stderr.contains("9 objects, 0 errors, 0 warnings"),
        "{stderr}"
    );
}

#[test]
fn errors_name_file_line_object_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("apps.yaml");
    std::fs::write(
        &file,
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 5m\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  postBuildSubstitute:\n    REGION: us-east-2\n",
    )
    .unwrap();
    let out = validate(&[file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.trim_end(),
        format!(
            "{}:12: Kustomization/flux-system/apps: error: unknown field `spec.postBuildSubstitute`; did you mean `spec.postBuild.substitute`?",
            file.display()
        )
    );
}

#[test]
fn warnings_alone_exit_0_and_json_lists_findings() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("policy.yaml"),
        "apiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImagePolicy\nmetadata:\n  name: blog-policy\n  namespace: blog\nspec:\n  imageRepositoryRef:\n    name: blog-repo\n  filterTags:\n    pattern: '^v[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$'\n  policy:\n    semver:\n      range: '>=1.0.0'\n",
    )
    .unwrap();
    let out = validate(&["-o", "json", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let findings: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = findings.as_array().unwrap();
    assert_eq!(findings.len(), 2, "{findings:#?}");
    assert!(findings.iter().all(|f| f["severity"] == "warning"));
    assert_eq!(findings[1]["line"], 10);
    assert_eq!(findings[1]["object"], "ImagePolicy/blog/blog-policy");
    assert!(
        findings[1]["message"]
            .as_str()
            .unwrap()
            .contains("can never yield a semver tag")
    );
}

#[test]
fn seed_000_double_quoted_backslash_d_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.yaml");
    std::fs::write(
        &file,
        "spec:\n  filterTags:\n    pattern: \"^(?P<version>\\d+\\.\\d+)$\"\n",
    )
    .unwrap();
    let out = validate(&[file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(":3: error: not valid YAML: invalid escape `\\d`"),
        "{stdout}"
    );
    assert!(stdout.contains("single quotes"), "{stdout}");
}
