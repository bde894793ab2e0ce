use std::path::Path;

use super::*;

fn check(src: &str) -> Vec<String> {
    validate_str(Path::new("f.yaml"), src)
        .findings
        .iter()
        .map(ToString::to_string)
        .collect()
}

const POLICY: &str = "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: p\n  namespace: ns\nspec:\n  imageRepositoryRef:\n    name: r\n";

fn policy(rest: &str) -> Vec<String> {
    check(&format!("{POLICY}{rest}"))
}

#[test]
fn four_part_pattern_with_semver_warns_on_the_pattern_line() {
    let f = policy(
        "  filterTags:\n    pattern: '^v[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$'\n  policy:\n    semver:\n      range: '>=1.0.0'\n",
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].starts_with("f.yaml:10: ImagePolicy/ns/p: warning: filterTags.pattern"),
        "{f:?}"
    );
    assert!(f[0].contains("exactly 3 dots"), "{f:?}");
}

#[test]
fn seed_000_pattern_and_extract_are_clean() {
    let f = policy(
        "  filterTags:\n    pattern: \"^(?:api-|streamlit-)?(?P<version>\\\\d+\\\\.\\\\d+\\\\.\\\\d+.*)$\"\n    extract: \"$version\"\n  policy:\n    semver:\n      range: \">=0.0.0\"\n",
    );
    assert!(f.is_empty(), "{f:?}");
}

#[test]
fn backslash_d_in_double_quotes_is_an_error_naming_the_fix() {
    let f = policy(
        "  filterTags:\n    pattern: \"^v\\d+$\"\n  policy:\n    semver:\n      range: \">=0.0.0\"\n",
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].starts_with("f.yaml:10: error: not valid YAML"),
        "{f:?}"
    );
    assert!(
        f[0].contains("`\\\\d`") && f[0].contains("single quotes"),
        "{f:?}"
    );
}

#[test]
fn invalid_range_and_regex_are_errors() {
    let f = policy("  policy:\n    semver:\n      range: 'not a range'\n");
    assert!(f[0].contains("error: invalid policy"), "{f:?}");
    let f = policy("  filterTags:\n    pattern: '^(v'\n  policy:\n    alphabetical: {}\n");
    assert!(
        f[0].contains(":10:") && f[0].contains("error: failed to filter tags"),
        "{f:?}"
    );
    let f = policy("  policy: {}\n");
    assert!(
        f[0].contains("given ImagePolicyChoice object is invalid"),
        "{f:?}"
    );
}

#[test]
fn extract_naming_a_missing_group_warns() {
    let f = policy(
        "  filterTags:\n    pattern: '^main-(?P<ts>[0-9]+)$'\n    extract: '$version'\n  policy:\n    numerical: {}\n",
    );
    assert!(
        f[0].contains("`$version`") && f[0].contains("groups: ts"),
        "{f:?}"
    );
    let f = policy("  filterTags:\n    extract: '$1'\n  policy:\n    numerical: {}\n");
    assert!(f.iter().any(|m| m.contains("without a pattern")), "{f:?}");
}

#[test]
fn stage_prerelease_range_warns() {
    let f = policy("  policy:\n    semver:\n      range: '>=1.0.0-stage'\n");
    assert!(
        f[0].contains("does not restrict tags to `-stage` prereleases"),
        "{f:?}"
    );
    let f = policy(
        "  filterTags:\n    pattern: '-stage\\.'\n  policy:\n    semver:\n      range: '>=1.0.0-stage'\n",
    );
    assert!(f.is_empty(), "{f:?}");
}

const REPO: &str = "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: r\nspec:\n  interval: 1m\n";

#[test]
fn image_names() {
    let f = check(&format!("{REPO}  image: https://ghcr.io/org/app\n"));
    assert!(f[0].contains("error: image 'https://ghcr.io/org/app' should not include URL scheme; remove 'https://'"), "{f:?}");
    let f = check(&format!("{REPO}  image: ghcr.io/org/app:1.0\n"));
    assert!(
        f[0].contains("error: image 'ghcr.io/org/app:1.0' should not include a tag; remove ':1.0'"),
        "{f:?}"
    );
    let f = check(&format!("{REPO}  image: docker.io/你的用户名/flask-app\n"));
    assert!(
        f[0].contains(
            "warning: image 'docker.io/你的用户名/flask-app' is not a valid repository reference"
        ),
        "{f:?}"
    );
    for ok in [
        "nginx",
        "localhost:5000/a/b",
        "harbor.thebarkingdog.tw/tbd/keyword_correction",
    ] {
        assert!(check(&format!("{REPO}  image: {ok}\n")).is_empty(), "{ok}");
    }
    let f = check(&format!("{REPO}  image: nginx\n  exclusionList: ['^(']\n"));
    assert!(f[0].contains("error: failed to compile regex ^("), "{f:?}");
}

const IUA: &str = "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageUpdateAutomation\nmetadata:\n  name: a\n  namespace: flux-system\nspec:\n  interval: 1m\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n";

#[test]
fn automation_templates() {
    let git = "  git:\n    commit:\n      author:\n        email: a@b\n      messageTemplate: ";
    let f = check(&format!("{IUA}{git}\"Files:\\n<!--swig1-->\\n\"\n"));
    assert!(
        f[0].contains(":15:") && f[0].contains("placeholder(s) <!--swig1-->"),
        "{f:?}"
    );
    let f = check(&format!(
        "{IUA}{git}'{{{{range .Updated.Images}}}}{{{{.}}}}{{{{end}}}}'\n"
    ));
    assert!(f[0].contains("uses `.Updated`"), "{f:?}");
    let f = check(&format!(
        "{IUA}{git}'{{{{range .Changed.Changes}}}}{{{{.NewValue}}}}{{{{end}}}}'\n"
    ));
    assert!(f.is_empty(), "{f:?}");
    let f = check(&format!("{IUA}{git}'{{{{range .Changed.Changes}}}}'\n"));
    assert!(
        f[0].contains("error: unable to create commit message template from spec"),
        "{f:?}"
    );
    let f = check(IUA);
    assert!(f[0].contains("necessitates field .spec.git"), "{f:?}");
}

#[test]
fn secrets() {
    let base = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n";
    let f = check(&format!("{base}stringData:\n  password: hunter2\n"));
    assert!(f[0].contains(":5:") && f[0].contains("plaintext"), "{f:?}");
    assert!(
        !f[0].contains("hunter2"),
        "a finding must never echo a secret"
    );
    let f = check(&format!(
        "{base}data:\n  a: ENC[AES256_GCM,data:x,type:str]\nsops:\n  age:\n    - recipient: age1x\n      enc: |\n        -----BEGIN AGE ENCRYPTED FILE-----\n        -----END AGE ENCRYPTED FILE-----\n"
    ));
    assert!(
        f[0].contains("mac, lastmodified, version") && f[0].contains("age[].enc"),
        "{f:?}"
    );
    let f = check(&format!(
        "{base}data:\n  a: ENC[AES256_GCM,data:x,type:str]\n"
    ));
    assert!(f[0].contains("`sops:` metadata is missing"), "{f:?}");
    assert!(check(&format!("{base}type: kubernetes.io/tls\n")).is_empty());
}

#[test]
fn alerts_and_kustomization_files() {
    let alert = "apiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Alert\nmetadata:\n  name: a\nspec:\n  providerRef:\n    name: slack\n  eventSources:\n    - kind: Kustomization\n      name: '*'\n";
    let f = check(&format!("{alert}  summary: hi\n"));
    assert!(f[0].contains("spec.summary is deprecated"), "{f:?}");
    let f = check(&format!(
        "{alert}  exclusionList:\n    - 'reconcilation.*in_progress'\n"
    ));
    assert!(f[0].contains("misspelling of `reconciliation`"), "{f:?}");
    let f = check(&format!("{alert}  exclusionList:\n    - '('\n"));
    assert!(f[0].contains("error: invalid regular expression"), "{f:?}");
    let f = check(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nbases:\n  - ../a\n",
    );
    assert!(f[0].contains("'bases' is deprecated"), "{f:?}");
}

#[test]
fn providers_and_alerts_refused_as_flux_crds_refuse_them() {
    let provider = "apiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Provider\nmetadata:\n  name: p\nspec:\n  type: slack\n";
    assert!(check(provider).is_empty(), "{:?}", check(provider));
    let f = check(&format!("{provider}  timeout: 1h\n"));
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].starts_with("f.yaml:7: Provider/p: error: spec.timeout `1h` must match"),
        "{f:?}"
    );
    let f = check(&format!("{provider}  commitStatusExpr: \"'x'\"\n"));
    assert!(
        f[0].contains("f.yaml:7:") && f[0].contains("only supported for the 'github'"),
        "{f:?}"
    );
    let alert = "apiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Alert\nmetadata:\n  name: a\nspec:\n  providerRef:\n    name: p\n  eventSources:\n    - kind: Deployment\n      name: '*'\n";
    let f = check(alert);
    assert!(
        f.iter()
            .any(|f| f.starts_with("f.yaml:9:") && f.contains("kind `Deployment` is not one of")),
        "{f:?}"
    );
}

#[test]
fn an_alert_reads_its_provider_from_its_own_namespace() {
    let src = "apiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Provider\nmetadata:\n  name: slack\n  namespace: flux-system\nspec:\n  type: slack\n---\n".to_string()
        + "apiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Alert\nmetadata:\n  name: a\n  namespace: apps\nspec:\n  providerRef:\n    name: slack\n  eventSources:\n    - kind: Kustomization\n      name: '*'\n";
    let f = check(&src);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].starts_with("f.yaml:16: Alert/apps/a: warning: spec.providerRef refers to Provider slack, which is looked up in the Alert's own namespace apps, but Provider slack is defined in namespace flux-system"),
        "{f:?}"
    );
    assert!(check(&src.replace("namespace: apps", "namespace: flux-system")).is_empty());
}

#[test]
fn reference_missing_by_a_namespace() {
    let src = "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: r\n  namespace: flux-system\nspec:\n  image: nginx\n  interval: 1m\n---\n".to_string()
        + "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: p\n  namespace: apps\nspec:\n  imageRepositoryRef:\n    name: r\n  policy:\n    semver:\n      range: 1.x\n";
    let f = check(&src);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].contains("resolves to apps/r") && f[0].contains("namespace: flux-system"),
        "{f:?}"
    );
}

const SOPS_SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: apps\ndata:\n  password: ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAA,type:str]\nsops:\n  age:\n    - recipient: age1x\n      enc: x\n  lastmodified: \"2024-01-01T00:00:00Z\"\n  mac: ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAA,type:str]\n  version: 3.13.2\n";

fn sops_tree(decryption: &str, annotation: &str) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("clusters/prod")).expect("mkdir");
    std::fs::create_dir_all(root.join("apps/prod")).expect("mkdir");
    std::fs::write(
        root.join("clusters/prod/apps.yaml"),
        format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./apps/prod\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n{decryption}"
        ),
    )
    .expect("write ks");
    let secret = SOPS_SECRET.replace(
        "  namespace: apps\n",
        &format!("  namespace: apps\n{annotation}"),
    );
    std::fs::write(root.join("apps/prod/secret.yaml"), secret).expect("write secret");
    validate_paths(&[root.to_path_buf()])
        .findings
        .iter()
        .map(ToString::to_string)
        .filter(|f| f.contains("SOPS"))
        .collect()
}

#[test]
fn a_sops_secret_without_decryption_on_its_kustomization_warns() {
    let f = sops_tree("", "");
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].contains("secret.yaml:8: Secret/apps/db: warning"),
        "{f:?}"
    );
    assert!(
        f[0].contains("Kustomization flux-system/apps (path ./apps/prod"),
        "{f:?}"
    );
    assert!(f[0].contains("has no spec.decryption"), "{f:?}");
}

#[test]
fn a_sops_secret_with_decryption_or_opted_out_is_clean() {
    let f = sops_tree(
        "  decryption:\n    provider: sops\n    secretRef:\n      name: sops-age\n",
        "",
    );
    assert!(f.is_empty(), "{f:?}");
    let f = sops_tree(
        "",
        "  annotations:\n    kustomize.toolkit.fluxcd.io/decrypt: Disabled\n",
    );
    assert!(f.is_empty(), "{f:?}");
}
