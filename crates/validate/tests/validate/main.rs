//! Every whole manifest of the seeds gives the verdict `index.json` records,
//! and a finding that names the problem.

use std::path::{Path, PathBuf};

use ferroflux_validate::{Severity, validate_paths};

/// What a finding must mention for each non-valid manifest.
const NAMES: &[(&str, &[&str])] = &[
    (
        "000/05-automation-imageupdateautomation.yaml",
        &["<!--swig"],
    ),
    ("001/02-base-kustomization.yaml", &["commonLabels"]),
    (
        "001/08-nginx-ingress-helm.yaml",
        &["helm.toolkit.fluxcd.io/v2"],
    ),
    ("001/09-redis-ha-helm.yaml", &["helm.toolkit.fluxcd.io/v2"]),
    ("001/11-us-east-2-apps.yaml", &["spec.postBuild.substitute"]),
    ("001/13-sops-encrypted-secret.yaml", &["version"]),
    ("001/16-pitfall1-kustomization-wrong.yaml", &["spec.prune"]),
    ("001/17-pitfall1-kustomization-right.yaml", &["spec.prune"]),
    (
        "001/18-pitfall2-helmrelease-wrong.yaml",
        &["helm.toolkit.fluxcd.io/v2", "spec.interval"],
    ),
    (
        "001/19-pitfall2-helmrelease-right.yaml",
        &["helm.toolkit.fluxcd.io/v2", "spec.interval"],
    ),
    ("001/20-pitfall3-secret-plaintext.yaml", &["plaintext"]),
    ("001/21-pitfall3-secret-sops.yaml", &["mac"]),
    ("001/25-notifications.yaml", &["summary", "reconcilation"]),
    ("001/26-image-automation.yaml", &["v1beta2", ".Updated"]),
    ("002/01-imagerepository.yaml", &["v1beta2"]),
    ("002/02-imagepolicy.yaml", &["v1beta2"]),
    (
        "002/03-imageupdateautomation.yaml",
        &["v1beta2", ".Updated"],
    ),
    ("003/03-imagerepository.yaml", &["v1beta2", "你的用户名"]),
    ("003/04-imagepolicy.yaml", &["v1beta2"]),
    ("003/05-imageupdateautomation.yaml", &["v1beta2"]),
    ("004/04-imagerepository.yaml", &["v1beta2"]),
    (
        "004/05-imagepolicy.yaml",
        &["can never yield a semver tag", "v1beta2"],
    ),
    (
        "004/08-imageupdateautomation.yaml",
        &["v1beta2", ".Updated"],
    ),
];

fn manifests_dir() -> Option<PathBuf> {
    ferroflux_testkit::env::dir_from_env("FERROFLUX_SEEDS_DIR").map(|d| d.join("manifests"))
}

#[test]
fn seed_manifests_get_their_recorded_verdicts() {
    let Some(dir) = manifests_dir() else { return };
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("index.json")).unwrap()).unwrap();
    let mut checked = 0;
    let mut failures = Vec::new();
    for entry in index.as_array().unwrap() {
        if entry["fragment"].as_bool().unwrap() {
            continue;
        }
        let rel = entry["path"].as_str().unwrap();
        let want = entry["verdict"].as_str().unwrap();
        let report = validate_paths(&[dir.join(rel)]);
        let got = if report.has_errors() {
            "error"
        } else if report.count(Severity::Warning) > 0 {
            "warning"
        } else {
            "valid"
        };
        let text: Vec<String> = report.findings.iter().map(ToString::to_string).collect();
        if got != want {
            failures.push(format!("{rel}: want {want}, got {got}: {text:#?}"));
        }
        if want == "valid" && !report.findings.is_empty() {
            failures.push(format!("{rel}: valid, but findings: {text:#?}"));
        }
        if let Some((_, words)) = NAMES.iter().find(|(p, _)| *p == rel) {
            for word in *words {
                if !text.iter().any(|t| t.contains(word)) {
                    failures.push(format!("{rel}: no finding mentions {word:?}: {text:#?}"));
                }
            }
        } else if want != "valid" {
            failures.push(format!(
                "{rel}: add the words its finding must name to NAMES"
            ));
        }
        checked += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(checked, 45, "whole manifests in the index");
}

#[test]
fn seed_fragment_starting_with_document_end_is_an_error() {
    let Some(dir) = manifests_dir() else { return };
    let report = validate_paths(&[dir.join("004/fragments/06-stage-filtertags.yaml")]);
    assert!(report.has_errors());
    assert!(
        report.findings[0].message.contains("`...`"),
        "{:?}",
        report.findings
    );
}

#[test]
fn a_whole_seed_directory_in_one_run() {
    let Some(dir) = manifests_dir() else { return };
    let report = validate_paths(&[dir.join("000")]);
    // the fragments under 000/ hold a valid marker and no object
    assert_eq!(report.objects, 5);
    assert_eq!(report.count(Severity::Error), 0, "{:?}", report.findings);
    assert_eq!(report.count(Severity::Warning), 1, "{:?}", report.findings);
}

#[test]
fn missing_path_is_an_error_naming_it() {
    let report = validate_paths(&[Path::new("/nonexistent/ferroflux").to_path_buf()]);
    assert!(report.has_errors());
    assert!(
        report.findings[0]
            .to_string()
            .contains("/nonexistent/ferroflux")
    );
}

/// Issue 13 item 5: a symlink to a file outside DIR is refused, named, and
/// neither the loader nor the marker scan reads it.
#[cfg(unix)]
#[test]
fn symlink_out_of_the_tree_is_refused_by_every_walker() {
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.yaml");
    std::fs::write(
        &secret,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leaked\n# {\"$imagepolicy\": broken\n",
    )
    .unwrap();
    let repo = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(&secret, repo.path().join("link.yaml")).unwrap();
    std::os::unix::fs::symlink(outside.path(), repo.path().join("linkdir")).unwrap();
    let report = validate_paths(&[repo.path().to_path_buf()]);
    let messages: Vec<String> = report.findings.iter().map(ToString::to_string).collect();
    assert_eq!(report.objects, 0, "{messages:?}");
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].contains("link.yaml"), "{messages:?}");
    assert!(
        messages[0].contains("symlink points outside the tree"),
        "{messages:?}"
    );
    assert!(report.has_errors());
}

/// Issue 13 item 4: the 1 kB alias bomb is one file:line error, not an OOM.
#[test]
fn alias_bomb_is_one_error_with_file_and_line() {
    let mut src = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let items = vec![format!("*a{}", i - 1); 10].join(", ");
        src.push_str(&format!("a{i}: &a{i} [{items}]\n"));
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bomb.yaml");
    std::fs::write(&file, &src).unwrap();
    let report = validate_paths(&[dir.path().to_path_buf()]);
    let messages: Vec<String> = report.findings.iter().map(ToString::to_string).collect();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0].contains("bomb.yaml:5:") && messages[0].contains("excessive aliasing"),
        "{messages:?}"
    );
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().expect("a parent")).expect("test setup");
    std::fs::write(p, text).expect("test setup");
}

/// Issue 15 item 6: a kustomization that does not build is an error at its
/// file, before any cluster sees it; a Component is built only through the
/// kustomization that lists it.
#[test]
fn a_kustomization_that_does_not_build_is_an_error_at_its_file() {
    let tmp = tempfile::tempdir().expect("test setup");
    write(
        tmp.path(),
        "apps/web/kustomization.yaml",
        "resources:\n- deployment.yaml\n- service.yaml\n",
    );
    write(
        tmp.path(),
        "apps/web/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n",
    );
    write(
        tmp.path(),
        "apps/component/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n- missing.yaml\n",
    );
    write(
        tmp.path(),
        "apps/ok/kustomization.yaml",
        "resources:\n- ../web/deployment.yaml\nnamePrefix: ok-\n",
    );
    let report = validate_paths(&[tmp.path().to_path_buf()]);
    let kustomize: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.message.contains("kustomize build"))
        .map(|f| f.to_string())
        .collect();
    assert_eq!(kustomize.len(), 1, "{kustomize:#?}");
    let f = &kustomize[0];
    assert!(f.contains("apps/web/kustomization.yaml"), "{f}");
    assert!(f.contains("error: kustomize build fails"), "{f}");
    assert!(f.contains("service.yaml"), "{f}");
    assert!(report.has_errors());
}

/// Issue 15 item 6, seed 004: the prod overlay's patch names `namespace:
/// blog`, which only the overlay itself sets; kustomize 5.6 fails with "no
/// resource matches strategic merge patch". `validate` says so before a
/// build, at the overlay's kustomization file, with the hint.
#[test]
fn seed_004_overlay_patch_that_matches_nothing_is_an_error_with_a_hint() {
    let Some(manifests) = manifests_dir() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("test setup");
    let read = |f: &str| std::fs::read_to_string(manifests.join("004").join(f)).expect("seed");
    write(
        tmp.path(),
        "apps/blog/prod/kustomization.yaml",
        &read("01-prod-kustomization.yaml"),
    );
    write(
        tmp.path(),
        "apps/blog/prod/deployment-patch.yaml",
        &read("02-prod-deployment-patch.yaml"),
    );
    write(
        tmp.path(),
        "apps/blog/base/kustomization.yaml",
        "resources:\n- deployment.yaml\n",
    );
    write(
        tmp.path(),
        "apps/blog/base/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: blog\nspec:\n  template:\n    \
         spec:\n      containers:\n      - name: blog\n        image: ghcr.io/ruedigerp/ink-blog.kuepper.nrw:v1.9.30\n",
    );
    let report = validate_paths(&[tmp.path().to_path_buf()]);
    let found: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.to_string())
        .collect();
    assert_eq!(found.len(), 1, "{found:#?}");
    let f = &found[0];
    assert!(f.contains("apps/blog/prod/kustomization.yaml"), "{f}");
    assert!(
        f.contains("no resource matches strategic merge patch"),
        "{f}"
    );
    assert!(f.contains("hint:") && f.contains("namespace"), "{f}");
    // Without the namespace line in the patch, the overlay builds.
    write(
        tmp.path(),
        "apps/blog/prod/deployment-patch.yaml",
        &read("02-prod-deployment-patch.yaml").replace("  namespace: blog\n", ""),
    );
    let report = validate_paths(&[tmp.path().to_path_buf()]);
    assert!(!report.has_errors(), "{:#?}", report.findings);
}
