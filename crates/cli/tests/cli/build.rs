//! `ferroflux build kustomization NAME --path DIR --kustomization-file F`:
//! seed 001's command on a tree made of the seed's manifests, Flux's output
//! format (owner labels, `---` after every object, no legacy reordering),
//! `postBuild` substitution and the errors with file and line.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ferroflux_testkit::env::dir_from_env;

fn build(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferroflux"))
        .current_dir(dir)
        .args(["build", "kustomization"])
        .args(args)
        .output()
        .expect("ferroflux runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Seed 001's manifests numbered `numbers`, each with the path its first
/// line (`# path`) names, plus the Service and HorizontalPodAutoscaler the
/// base lists but the article does not show.
pub(crate) fn seed_001_files(numbers: &[&str]) -> Option<Vec<(String, String)>> {
    let seeds = dir_from_env("FERROFLUX_SEEDS_DIR")?;
    let manifests = seeds.join("manifests/001");
    let mut files = Vec::new();
    for n in numbers {
        let file = std::fs::read_dir(&manifests)
            .expect("the seed tree is written")
            .map(|e| e.expect("the seed tree is written").path())
            .find(|p| {
                p.file_name()
                    .is_some_and(|f| f.to_string_lossy().starts_with(&format!("{n}-")))
            })
            .expect("the seed tree is written");
        let content = std::fs::read_to_string(&file).expect("the seed tree is written");
        let (first, rest) = content.split_once('\n').expect("the seed tree is written");
        let rel = first.trim_start_matches("# ").trim();
        files.push((rel.to_string(), rest.to_string()));
    }
    files.push((
        "apps/base/service.yaml".to_string(),
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web-app\nspec:\n  selector:\n    app: \
         web-app\n  ports:\n    - port: 80\n      targetPort: 8080\n"
            .to_string(),
    ));
    files.push((
        "apps/base/hpa.yaml".to_string(),
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: \
         web-app\nspec:\n  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    \
         name: web-app\n  minReplicas: 2\n  maxReplicas: 10\n"
            .to_string(),
    ));
    Some(files)
}

/// [`seed_001_files`] of the overlay and its Flux Kustomizations, written
/// to a directory.
fn seed_001_tree() -> Option<tempfile::TempDir> {
    let files = seed_001_files(&["02", "03", "04", "05", "06", "07", "11"])?;
    let dir = tempfile::tempdir().expect("the seed tree is written");
    for (rel, content) in files {
        let target: PathBuf = dir.path().join(rel);
        std::fs::create_dir_all(target.parent().expect("the seed tree is written"))
            .expect("the seed tree is written");
        std::fs::write(&target, content).expect("the seed tree is written");
    }
    Some(dir)
}

#[test]
fn seed_001_production_overlay_as_flux_builds_it() {
    let Some(tree) = seed_001_tree() else { return };
    let out = build(
        tree.path(),
        &[
            "web-app-production",
            "--path",
            "./apps/overlays/production",
            "--kustomization-file",
            "./clusters/production/apps.yaml",
        ],
    );
    let stderr = text(&out.stderr);
    // The golden is kustomize 5.6's build with Flux's labels; Flux v2.9.4's
    // own `flux build kustomization --dry-run` printed the same bytes.
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // kustomize 5.6's build of the overlay (in input order, as Flux builds),
    // with the owner labels Flux adds and a `---` after every object.
    assert_eq!(
        text(&out.stdout),
        include_str!("testdata/build-kustomization/seed001-production.yaml")
    );
}

#[test]
fn seed_001_base_keeps_input_order_and_sets_owner_labels() {
    let Some(tree) = seed_001_tree() else { return };
    let out = build(
        tree.path(),
        &[
            "web-app-production",
            "--path",
            "apps/base",
            "--kustomization-file",
            "clusters/production/apps.yaml",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    // Deployment, Service, HPA: the order of `resources` (kustomize's own
    // CLI would put the Service first).
    let kinds: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("kind: "))
        .collect();
    assert_eq!(kinds, ["Deployment", "Service", "HorizontalPodAutoscaler"]);
    assert_eq!(stdout.matches("\n---\n").count(), 3);
    assert!(stdout.ends_with("---\n"));
    assert_eq!(
        stdout
            .matches("    kustomize.toolkit.fluxcd.io/name: web-app-production\n    kustomize.toolkit.fluxcd.io/namespace: flux-system\n")
            .count(),
        3,
        "{stdout}"
    );
    // kustomize's warning for commonLabels goes to stderr, as with flux.
    assert!(text(&out.stderr).contains("'commonLabels' is deprecated"));
}

#[test]
fn seed_001_postbuildsubstitute_is_an_unknown_field_with_a_hint() {
    let Some(tree) = seed_001_tree() else { return };
    let out = build(
        tree.path(),
        &[
            "apps",
            "--path",
            "apps/base",
            "--kustomization-file",
            "clusters/us-east-2/apps.yaml",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert_eq!(
        text(&out.stderr),
        "✗ clusters/us-east-2/apps.yaml:15: Kustomization/flux-system/apps: error: unknown field \
         `spec.postBuildSubstitute`; did you mean `spec.postBuild.substitute`?\n"
    );
}

#[test]
fn a_name_missing_from_the_file_and_bad_paths_are_reported() {
    let Some(tree) = seed_001_tree() else { return };
    let out = build(
        tree.path(),
        &[
            "web-app",
            "--path",
            "apps/base",
            "--kustomization-file",
            "clusters/production/apps.yaml",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "✗ failed to get kustomization object: failed find kustomization with name 'web-app' and namespace 'flux-system' in file \
         'clusters/production/apps.yaml'\n"
    );
    let out = build(
        tree.path(),
        &[
            "web-app-production",
            "--path",
            "apps/nowhere",
            "--kustomization-file",
            "x.yaml",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("✗ invalid resource path \"")
            && text(&out.stderr).ends_with("apps/nowhere\"\n"),
        "{}",
        text(&out.stderr)
    );
    let out = build(
        tree.path(),
        &[
            "web-app-production",
            "--path",
            "apps/base",
            "--kustomization-file",
            "nope.yaml",
        ],
    );
    assert_eq!(
        text(&out.stderr),
        "✗ invalid kustomization file \"nope.yaml\"\n"
    );
    let out = build(tree.path(), &["web-app-production", "--path", "apps/base"]);
    assert!(text(&out.stderr).contains("--kustomization-file"));
}

#[test]
fn generated_kustomization_substitution_and_common_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app");
    std::fs::create_dir_all(app.join("sub")).unwrap();
    std::fs::write(
        app.join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  region: \
         ${REGION}\n  replicas: \"${N:=3}\"\n  script: echo $$HOME\n",
    )
    .unwrap();
    std::fs::write(
        app.join("sub/skip.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: raw\n  annotations:\n    \
         kustomize.toolkit.fluxcd.io/substitute: disabled\ndata:\n  v: ${REGION}\n",
    )
    .unwrap();
    std::fs::write(app.join("notes.txt"), "not yaml").unwrap();
    std::fs::write(app.join(".sops.yaml"), "creation_rules: []\n").unwrap();
    std::fs::write(
        dir.path().join("ks.yaml"),
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: \
         app\n  namespace: apps\nspec:\n  interval: 5m\n  prune: true\n  sourceRef:\n    kind: \
         GitRepository\n    name: repo\n  targetNamespace: prod\n  namePrefix: p-\n  \
         commonMetadata:\n    labels:\n      team: web\n  postBuild:\n    substitute:\n      \
         REGION: eu-west-1\n    substituteFrom:\n    - kind: ConfigMap\n      name: vars\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("vars.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: vars\n  namespace: apps\ndata:\n  \
         N: \"5\"\n  REGION: overridden\n",
    )
    .unwrap();
    let plain = [
        "app",
        "-n",
        "apps",
        "--path",
        "app",
        "--kustomization-file",
        "ks.yaml",
    ];
    // Without a pattern of the user's, Flux's scan ignores nothing, not
    // even `.sops.yaml`.
    let out = build(dir.path(), &plain);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("failed to decode Kubernetes YAML from ")
            && text(&out.stderr).contains("app/.sops.yaml"),
        "{}",
        text(&out.stderr)
    );
    std::fs::create_dir_all(app.join("drafts")).unwrap();
    std::fs::write(app.join("drafts/values.yaml"), "replicas: 3\n").unwrap();
    let mut args = plain.to_vec();
    args.extend(["--ignore-paths", "drafts/,*.txt"]);
    let out = build(dir.path(), &args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // `"${N:=3}"` reaches envsubst unquoted (kustomize prints the string
    // plain) and the result is read again: Flux's output has the integer 3.
    assert_eq!(
        text(&out.stdout),
        "apiVersion: v1\ndata:\n  region: eu-west-1\n  replicas: 3\n  script: echo $HOME\n\
         kind: ConfigMap\nmetadata:\n  labels:\n    kustomize.toolkit.fluxcd.io/name: app\n    \
         kustomize.toolkit.fluxcd.io/namespace: apps\n    team: web\n  name: p-cfg\n  \
         namespace: prod\n---\napiVersion: v1\ndata:\n  v: ${REGION}\nkind: ConfigMap\n\
         metadata:\n  annotations:\n    kustomize.toolkit.fluxcd.io/substitute: disabled\n  \
         labels:\n    kustomize.toolkit.fluxcd.io/name: app\n    \
         kustomize.toolkit.fluxcd.io/namespace: apps\n    team: web\n  name: p-raw\n  \
         namespace: prod\n---\n"
    );
    assert!(text(&out.stderr).contains("substituteFrom ConfigMap/vars skipped"));
    // With the ConfigMap given, its N applies; the inline REGION still wins.
    let mut with_vars = args.to_vec();
    with_vars.extend(["--substitute-from", "vars.yaml"]);
    let out = build(dir.path(), &with_vars);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("  region: eu-west-1\n  replicas: 5\n"),
        "{stdout}"
    );
    // Strict mode refuses an undefined variable, naming it and the object.
    std::fs::write(
        app.join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  x: ${MISSING}\n",
    )
    .unwrap();
    let mut strict = args.to_vec();
    strict.push("--strict-substitute");
    let out = build(dir.path(), &strict);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr).lines().last().unwrap_or_default(),
        "✗ var substitution failed for 'p-cfg': envsubst error: variable substitution failed: \
         variable not set (strict mode): \"MISSING\""
    );
}

/// `testdata/build-kustomization/flux`: a generated kustomization (with
/// `.sourceignore` defaults, `--ignore-paths`, substitution read back as
/// yaml.v2, SOPS masking, prefix, suffix, targetNamespace,
/// `commonMetadata`) and a layered one (images merged, unknown key dropped,
/// the user's legacy sort kept). The `*.expected.*` files are the output of
/// Flux's own CLI, v2.9.4, `flux build kustomization ... --dry-run` on
/// these files.
#[test]
fn byte_identical_to_flux_2_9_4_dry_run() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cli/testdata/build-kustomization/flux");
    let base = ["app", "-n", "apps", "--kustomization-file", "ks.yaml"];
    let mut gen_args = base.to_vec();
    gen_args.extend(["--path", "gen", "--ignore-paths", "drafts/"]);
    let out = build(&dir, &gen_args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        include_str!("testdata/build-kustomization/flux/gen.expected.yaml")
    );
    let mut ex_args = base.to_vec();
    ex_args.extend(["--path", "ex"]);
    let out = build(&dir, &ex_args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        include_str!("testdata/build-kustomization/flux/ex.expected.yaml")
    );
    assert!(
        text(&out.stderr).contains(include_str!(
            "testdata/build-kustomization/flux/ex.expected.stderr"
        )),
        "{}",
        text(&out.stderr)
    );
    // Flux's strict-mode error, word for word.
    gen_args.push("--strict-substitute");
    let out = build(&dir, &gen_args);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr).lines().last().unwrap_or_default(),
        "✗ var substitution failed for 'p-cfg-s': envsubst error: variable substitution failed: \
         variable not set (strict mode): \"NOPE\""
    );
}
