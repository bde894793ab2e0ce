//! Patches (`patches`, `patchesStrategicMerge`, `patchesJson6902`): the
//! errors and hints. The trees built by kustomize 5.6.0 and compared byte
//! for byte are data in `cases/` (replayed by `cases.rs`).

use std::path::Path;

use ferroflux_kustomize::{MemFs, Options, build_yaml};

const DEP: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: 1
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: a
        image: a:1
        args: ["x", "y"]
        ports:
        - containerPort: 80
          protocol: TCP
        - containerPort: 81
        env:
        - name: E1
          value: "1"
        - name: E2
          value: "2"
      - name: b
        image: b:1
      volumes:
      - name: v1
        emptyDir: {}
      - name: v2
        configMap:
          name: cm
      finalizers: [a, b]
"#;

/// Errors name the kustomization file and the line of the entry.
#[test]
fn patch_errors_name_the_kustomization_and_line() {
    let cases: &[(&str, &str)] = &[
        (
            "resources: [dep.yaml]\npatches:\n- path: p.yaml\n  patch: \"x: 1\"\n",
            "/t/kustomization.yaml:3: patches: patch and path can't be set at the same time",
        ),
        (
            "resources: [dep.yaml]\npatches:\n- path: ../outside.yaml\n",
            "/t/kustomization.yaml:3: failed to get the patch file from path(../outside.yaml)",
        ),
        (
            "resources: [dep.yaml]\npatches:\n- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: nope\n",
            "/t/kustomization.yaml: no resource matches strategic merge patch \"Deployment.v1.apps/nope.[noNs]\"",
        ),
        (
            "resources: [dep.yaml]\npatchesJson6902:\n- target: {kind: Deployment}\n  patch: '[]'\n",
            "/t/kustomization.yaml:3: patchesJson6902: must specify the target name",
        ),
        (
            "resources: [dep.yaml]\ntransformers:\n- |-\n  apiVersion: builtin\n  kind: PatchStrategicMergeTransformer\n  metadata: {name: x}\n",
            "/t/kustomization.yaml:1: builtin PatchStrategicMergeTransformer x: empty file path and empty patch content",
        ),
    ];
    for (k, want) in cases {
        let mut fs = MemFs::new();
        fs.add("/t/kustomization.yaml", *k);
        fs.add("/t/dep.yaml", DEP);
        fs.add("/outside.yaml", DEP);
        let e = build_yaml(&fs, Path::new("/t"), &Options::default())
            .expect_err(k)
            .to_string();
        assert!(e.starts_with(want), "{k}\n{e}");
    }
}

/// Seed 004's trap: a patch naming the namespace the overlay sets matches
/// nothing (patches run before the namespace); kustomize's message, and a
/// hint.
#[test]
fn a_patch_naming_the_overlays_own_namespace_gets_a_hint() {
    let mut fs = MemFs::new();
    fs.add("/t/base/kustomization.yaml", "resources: [dep.yaml]\n");
    fs.add("/t/base/dep.yaml", DEP);
    fs.add(
        "/t/prod/kustomization.yaml",
        "resources: [../base]\nnamespace: prod\npatches:\n- patch: |-\n    apiVersion: apps/v1\n    \
         kind: Deployment\n    metadata:\n      name: web\n      namespace: prod\n",
    );
    let e = build_yaml(&fs, Path::new("/t/prod"), &Options::default())
        .expect_err("kustomize 5.6 rejects it")
        .to_string();
    assert!(
        e.starts_with(
            "/t/prod/kustomization.yaml: no resource matches strategic merge patch \
             \"Deployment.v1.apps/web.prod\""
        ),
        "{e}"
    );
    assert!(e.contains("hint: the patch names namespace 'prod'"), "{e}");
    // Without the namespace in the patch, it applies.
    fs.add(
        "/t/prod/kustomization.yaml",
        "resources: [../base]\nnamespace: prod\npatches:\n- patch: |-\n    apiVersion: apps/v1\n    \
         kind: Deployment\n    metadata:\n      name: web\n    spec:\n      replicas: 2\n",
    );
    let out = build_yaml(&fs, Path::new("/t/prod"), &Options::default()).expect("builds");
    assert!(
        out.contains("namespace: prod\n") && out.contains("replicas: 2\n"),
        "{out}"
    );
}
