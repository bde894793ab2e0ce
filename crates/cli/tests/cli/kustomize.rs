//! `ferroflux kustomize build DIR`: kustomize's bytes on stdout and exit 0;
//! an error on stderr naming the file and exit 1; `--load-restrictor`.

use std::process::{Command, Output};

fn kustomize_build(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferroflux"))
        .args(["kustomize", "build"])
        .args(args)
        .output()
        .expect("ferroflux runs")
}

#[test]
fn prints_what_kustomize_prints() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        "resources:\n- svc.yaml\nnamePrefix: p-\ncommonLabels:\n  app: web\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("svc.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n",
    )
    .unwrap();
    let out = kustomize_build(&[dir.path().to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // kustomize 5.6.0's output for the same files.
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "apiVersion: v1\nkind: Service\nmetadata:\n  labels:\n    app: web\n  name: p-web\nspec:\n  \
         ports:\n  - port: 80\n  selector:\n    app: web\n"
    );
    // kustomize's warning for the deprecated field, on stderr.
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "# Warning: 'commonLabels' is deprecated. Please use 'labels' instead. Run 'kustomize \
         edit fix' to update your Kustomization automatically.\n"
    );
}

#[test]
fn errors_go_to_stderr_with_a_non_zero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app");
    std::fs::create_dir(&app).unwrap();
    std::fs::write(app.join("kustomization.yaml"), "resources:\n- ../cm.yaml\n").unwrap();
    std::fs::write(
        dir.path().join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n",
    )
    .unwrap();
    let out = kustomize_build(&[app.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("Error: ") && stderr.contains("is not in or below"),
        "{stderr}"
    );
    let out = kustomize_build(&[
        app.to_str().unwrap(),
        "--load-restrictor",
        "LoadRestrictionsNone",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("name: cm"));
}
