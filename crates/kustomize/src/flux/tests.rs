use std::path::Path;

use super::*;
use crate::MemFs;

const KS: &str = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  \
                  name: app\n  namespace: flux-system\nspec:\n  interval: 5m\n  prune: true\n  \
                  sourceRef:\n    kind: GitRepository\n    name: repo\n";

fn ks(extra: &str) -> Kustomization {
    select(
        Path::new("ks.yaml"),
        &format!("{KS}{extra}"),
        "app",
        "flux-system",
    )
    .expect("selected")
}

fn run(fs: &MemFs, k: &Kustomization, opts: &BuildOptions) -> Result<Built, Error> {
    build(fs, Path::new("/app"), k, opts)
}

#[test]
fn select_picks_the_first_matching_document() {
    let text = format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: \
         app\n  namespace: flux-system\nspec:\n  interval: 1m\n  url: https://x\n---\n{KS}  \
         targetNamespace: one\n---\n{KS}  targetNamespace: two\n"
    );
    let k = select(Path::new("f.yaml"), &text, "app", "flux-system").expect("found");
    assert_eq!(k.spec.target_namespace.as_deref(), Some("one"));
    // A document without a namespace matches any.
    let bare = KS.replace("  namespace: flux-system\n", "");
    let k = select(Path::new("f.yaml"), &bare, "app", "other").expect("found");
    assert_eq!(k.metadata.namespace.as_deref(), Some(""));
}

#[test]
fn select_errors() {
    assert_eq!(
        select(Path::new("f.yaml"), KS, "app", "other")
            .expect_err("other namespace")
            .to_string(),
        "failed to get kustomization object: failed find kustomization with name 'app' and namespace 'other' in file 'f.yaml'"
    );
    let typo = format!("{KS}  postBuildSubstitute:\n    A: b\n");
    assert_eq!(
        select(Path::new("f.yaml"), &typo, "app", "flux-system")
            .expect_err("unknown field")
            .to_string(),
        "f.yaml:12: Kustomization/flux-system/app: error: unknown field \
         `spec.postBuildSubstitute`; did you mean `spec.postBuild.substitute`?"
    );
    let broken = format!("{KS}  path: [\n");
    assert!(
        select(Path::new("f.yaml"), &broken, "app", "flux-system")
            .expect_err("not YAML")
            .to_string()
            .starts_with("f.yaml:")
    );
}

fn app_fs() -> MemFs {
    let mut fs = MemFs::new();
    fs.add(
        "/app/kustomization.yaml",
        "resources:\n- svc.yaml\n- cm.yaml\nnamePrefix: user-\n",
    )
    .add(
        "/app/svc.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n",
    )
    .add(
        "/app/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  region: ${REGION}\n",
    );
    fs
}

#[test]
fn builds_in_input_order_with_owner_labels_and_a_separator_after_each() {
    let fs = app_fs();
    let k = ks("  namePrefix: flux-\n  commonMetadata:\n    annotations:\n      team: a\n");
    let out = run(&fs, &k, &BuildOptions::default()).expect("built");
    assert_eq!(
        out.yaml,
        "apiVersion: v1\nkind: Service\nmetadata:\n  annotations:\n    team: a\n  labels:\n    \
         kustomize.toolkit.fluxcd.io/name: app\n    kustomize.toolkit.fluxcd.io/namespace: \
         flux-system\n  name: flux-web\n---\napiVersion: v1\ndata:\n  region: \
         ${REGION}\nkind: ConfigMap\nmetadata:\n  annotations:\n    team: a\n  labels:\n    \
         kustomize.toolkit.fluxcd.io/name: app\n    kustomize.toolkit.fluxcd.io/namespace: \
         flux-system\n  name: flux-cfg\n---\n"
    );
}

#[test]
fn the_build_path_must_be_a_directory_and_kustomize_errors_are_wrapped() {
    let fs = app_fs();
    assert_eq!(
        build(
            &fs,
            Path::new("/nowhere"),
            &ks(""),
            &BuildOptions::default()
        )
        .expect_err("no dir")
        .to_string(),
        "invalid resource path \"/nowhere\""
    );
    let mut fs = MemFs::new();
    fs.add("/app/kustomization.yaml", "resources:\n- missing.yaml\n");
    let err = run(&fs, &ks(""), &BuildOptions::default())
        .expect_err("missing")
        .to_string();
    assert!(err.starts_with("kustomize build failed: "), "{err}");
}

#[test]
fn substitute_from_objects_in_order_then_inline() {
    let fs = app_fs();
    let k = ks(
        "  postBuild:\n    substitute:\n      ZONE: z\n    substituteFrom:\n    - kind: \
         ConfigMap\n      name: one\n    - kind: Secret\n      name: two\n    - kind: \
         ConfigMap\n      name: three\n      optional: true\n",
    );
    let objects = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\ndata:\n  REGION: \
                   cm\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: two\n  namespace: \
                   flux-system\ndata:\n  REGION: ZXUtd2VzdC0x\n---\napiVersion: v1\nkind: \
                   Secret\nmetadata:\n  name: two\n  namespace: elsewhere\ndata:\n  REGION: \
                   bm8=\n";
    let opts = BuildOptions {
        substitute_from: SubstituteFrom::Objects(vec![("vars.yaml".into(), objects.into())]),
        ..BuildOptions::default()
    };
    let out = run(&fs, &k, &opts).expect("built");
    assert!(out.yaml.contains("  region: eu-west-1\n"), "{}", out.yaml);
    // Without objects: skipped with a warning; the inline map still counts,
    // so substitution runs and the empty value reads back as null.
    let out = run(&fs, &k, &BuildOptions::default()).expect("built");
    assert!(out.yaml.contains("  region: null\n"), "{}", out.yaml);
    assert_eq!(
        out.warnings
            .iter()
            .filter(|w| w.contains("skipped"))
            .count(),
        3
    );
    // A required object that is missing.
    let k = ks("  postBuild:\n    substituteFrom:\n    - kind: Secret\n      name: gone\n");
    let err = run(&fs, &k, &opts).expect_err("missing").to_string();
    assert!(
        err.starts_with("substitute from 'Secret/gone' error: secrets \"gone\" not found"),
        "{err}"
    );
    // A Secret whose data is not base64.
    let bad = BuildOptions {
        substitute_from: SubstituteFrom::Objects(vec![(
            "vars.yaml".into(),
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: gone\ndata:\n  A: '%%%'\n".into(),
        )]),
        ..BuildOptions::default()
    };
    let err = run(&fs, &k, &bad).expect_err("bad base64").to_string();
    assert!(err.contains("Secret/gone: data.A is not base64"), "{err}");
}

fn secret_fs(secret: &str) -> MemFs {
    let mut fs = MemFs::new();
    fs.add("/app/kustomization.yaml", "resources:\n- s.yaml\n")
        .add("/app/s.yaml", secret);
    fs
}

#[test]
fn sops_encrypted_secrets_are_masked() {
    let fs = secret_fs(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  b: \
         RU5DW0FFUzI1Nl9HQ00sZGF0YTpd\n  a: ENC[AES256_GCM,data:x]\nstringData:\n  c: \
         ENC[x]\nsops:\n  mac: ENC[AES256_GCM,data:y]\n",
    );
    let out = run(&fs, &ks(""), &BuildOptions::default()).expect("built");
    assert!(
        out.yaml.starts_with(
            "apiVersion: v1\ndata:\n  a: KipTT1BTKio=\n  b: KipTT1BTKio=\nkind: Secret\n"
        ),
        "{}",
        out.yaml
    );
    assert!(
        out.yaml.contains("stringData:\n  c: '**SOPS**'\n"),
        "{}",
        out.yaml
    );
    assert!(!out.yaml.contains("sops:"));
    let fs = secret_fs(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ntype: \
         kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: ENC[x]\nsops:\n  mac: \
         ENC[y]\n",
    );
    let out = run(&fs, &ks(""), &BuildOptions::default()).expect("built");
    assert!(
        out.yaml
            .contains("  .dockerconfigjson: eyJtYXNrIjoiKipTT1BTKioifQ==\n"),
        "{}",
        out.yaml
    );
}

#[test]
fn values_that_decode_to_sops_output_are_masked_and_bad_base64_fails() {
    // base64 of "sops ENC[x]"
    let fs = secret_fs(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  enc: \
         c29wcyBFTkNbeF0=\n  plain: aGVsbG8=\n  empty: {}\n",
    );
    let err = run(&fs, &ks(""), &BuildOptions::default());
    // `empty: {}` is not a string value: Flux reads it as "" and keeps it.
    let out = err.expect("built");
    assert!(
        out.yaml
            .contains("data:\n  empty: \"\"\n  enc: KipTT1BTKio=\n  plain: aGVsbG8=\n"),
        "{}",
        out.yaml
    );
    let fs = secret_fs("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  bad: abc$\n");
    assert_eq!(
        run(&fs, &ks(""), &BuildOptions::default())
            .expect_err("bad base64")
            .to_string(),
        "failed to mask secret s sops data: illegal base64 data at input byte 3 (data.bad)"
    );
}

#[test]
fn objects_flux_cannot_print_are_dropped_with_a_warning() {
    let mut fs = MemFs::new();
    fs.add("/app/kustomization.yaml", "resources:\n- a.yaml\n")
        .add("/app/a.yaml", "kind: Thing\nmetadata:\n  name: t\n");
    let out = run(&fs, &ks(""), &BuildOptions::default()).expect("built");
    assert_eq!(out.yaml, "");
    assert!(out.warnings.iter().any(|w| w.contains("dropped")));
}

#[test]
fn common_metadata_overrides_and_replaces_a_map_go_cannot_read() {
    let mut fs = MemFs::new();
    fs.add("/app/kustomization.yaml", "resources:\n- a.yaml\n")
        .add(
            "/app/a.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: t\n  annotations:\n    team: \
             old\n",
        );
    let k = ks("  commonMetadata:\n    annotations:\n      team: new\n    labels:\n      x: y\n");
    let out = run(&fs, &k, &BuildOptions::default()).expect("built");
    assert!(
        out.yaml.contains("  annotations:\n    team: new\n"),
        "{}",
        out.yaml
    );
    // `y` is a boolean to yaml.v2, so it is quoted.
    assert!(out.yaml.contains("    x: \"y\"\n"), "{}", out.yaml);
    let mut r = Resource::new(
        crate::build::parse_resources(
            "a.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: t\n  labels:\n    n: 1\n",
        )
        .expect("parsed")
        .remove(0)
        .value,
        String::new(),
    );
    common_metadata(
        &mut r,
        &ferroflux_api::kustomize::CommonMetadata {
            labels: Some([("x".to_string(), "y".to_string())].into()),
            annotations: None,
        },
    );
    assert_eq!(
        r.metadata_map("labels"),
        [("x".to_string(), "y".to_string())]
    );
}

#[test]
fn go_base64_offsets() {
    assert_eq!(go_base64_decode("aGVs\nbG8="), Ok(b"hello".to_vec()));
    assert_eq!(go_base64_decode("ab!d"), Err(2));
}

#[test]
fn an_error_in_the_appended_fields_names_the_kustomization_not_a_phantom_line() {
    let fs = app_fs();
    let k = ks("  patches:\n  - patch: |\n      - op: remove\n        path: /x\n");
    let err = run(&fs, &k, &BuildOptions::default())
        .expect_err("the patch removes a missing field")
        .to_string();
    assert!(
        err.starts_with("kustomize build failed: /app/kustomization.yaml: must specify a target"),
        "{err}"
    );
    assert!(!err.contains("kustomization.yaml:5:"), "{err}");
    // An error in the user's own lines keeps its line.
    let mut fs = app_fs();
    fs.add(
        "/app/kustomization.yaml",
        "resources:\n- svc.yaml\npatches:\n- path: p.yaml\n",
    );
    let err = run(&fs, &ks(""), &BuildOptions::default())
        .expect_err("the patch file is missing")
        .to_string();
    assert!(
        err.contains("/app/kustomization.yaml:4: failed to get the patch file from path(p.yaml)"),
        "{err}"
    );
}

#[test]
fn a_number_above_i64_prints_as_flux_prints_a_float64() {
    let mut fs = MemFs::new();
    fs.add("/app/kustomization.yaml", "resources:\n- a.yaml\n")
        .add(
            "/app/a.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: t\nspec:\n  big: \
         18446744073709551615\n  small: 7\n",
        );
    let out = run(&fs, &ks(""), &BuildOptions::default()).expect("built");
    // Flux 2.9.4's output for the same file.
    assert!(
        out.yaml
            .contains("spec:\n  big: 1.8446744073709552e+19\n  small: 7\n"),
        "{}",
        out.yaml
    );
}

#[test]
fn debug_output_holds_no_secret_value() {
    let opts = BuildOptions {
        substitute_from: SubstituteFrom::Objects(vec![(
            "s.yaml".into(),
            "data:\n  PASSWORD: aHVudGVyMg==\n".into(),
        )]),
        ..BuildOptions::default()
    };
    assert!(!format!("{opts:?}").contains("aHVudGVyMg"));
    let sub = postbuild::Substitution {
        vars: [("PASSWORD".to_string(), "hunter2".to_string())].into(),
        ..postbuild::Substitution::default()
    };
    let debug = format!("{sub:?}");
    assert!(
        debug.contains("PASSWORD") && !debug.contains("hunter2"),
        "{debug}"
    );
}

#[test]
fn a_v1beta2_kustomization_layers_its_deprecated_patch_fields_as_flux_does() {
    let text = KS.replace("/v1\n", "/v1beta2\n")
        + "  validation: client\n  patchesStrategicMerge:\n  - apiVersion: v1\n    kind: Service\n    \
           metadata:\n      name: web\n      labels:\n        tier: front\n  patchesJson6902:\n  - \
           target:\n      version: v1\n      kind: ConfigMap\n      name: cfg\n    patch:\n    - op: \
           replace\n      path: /data/region\n      value: eu\n";
    let k = select(Path::new("ks.yaml"), &text, "app", "flux-system").expect("v1beta2 read");
    assert_eq!(k.spec.legacy_patches_strategic_merge.len(), 1);
    let out = run(&app_fs(), &k, &BuildOptions::default()).expect("built");
    assert!(out.yaml.contains("    tier: front\n"), "{}", out.yaml);
    assert!(out.yaml.contains("  region: eu\n"), "{}", out.yaml);
    // The same as a kustomization file that carries the fields itself.
    let mut fs = app_fs();
    fs.add(
        "/app/kustomization.yaml",
        "resources:\n- svc.yaml\n- cm.yaml\nnamePrefix: user-\npatchesStrategicMerge:\n- \
         '{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"labels\":{\"tier\":\"front\"},\"name\":\"web\"}}'\n\
         patchesJson6902:\n- patch: '[{\"op\":\"replace\",\"path\":\"/data/region\",\"value\":\"eu\"}]'\n  \
         target:\n    version: v1\n    kind: ConfigMap\n    name: cfg\n",
    );
    let by_hand = run(&fs, &ks(""), &BuildOptions::default()).expect("built");
    assert_eq!(out.yaml, by_hand.yaml);
}

#[test]
fn the_controller_build_prints_as_kustomize_with_its_digest_and_no_owner_labels() {
    use sha2::Digest;
    let fs = app_fs();
    let k = ks("  namePrefix: flux-\n  commonMetadata:\n    labels:\n      team: a\n");
    let m = build_for_apply(&fs, Path::new("/app"), &k, &BuildOptions::default()).expect("built");
    assert_eq!(
        m.yaml,
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: flux-web\n---\napiVersion: v1\ndata:\n  \
         region: ${REGION}\nkind: ConfigMap\nmetadata:\n  name: flux-cfg\n"
    );
    let hex: String = sha2::Sha256::digest(m.yaml.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(m.digest, format!("sha256:{hex}"));
    assert_eq!(
        build_for_apply(&fs, Path::new("/nowhere"), &k, &BuildOptions::default())
            .expect_err("no dir")
            .to_string(),
        "kustomization path not found: /nowhere: no such file or directory"
    );
}

#[test]
fn the_controller_generates_without_ignore_rules() {
    let mut fs = MemFs::new();
    fs.add("/app/.sourceignore", "skipped/\n")
        .add(
            "/app/a.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
        )
        .add(
            "/app/skipped/b.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n",
        );
    let cli = run(&fs, &ks(""), &BuildOptions::default()).expect("cli");
    assert!(!cli.yaml.contains("name: b\n"), "{}", cli.yaml);
    let ctl = build_for_apply(&fs, Path::new("/app"), &ks(""), &BuildOptions::default())
        .expect("controller");
    assert!(ctl.yaml.contains("name: b\n"), "{}", ctl.yaml);
}

#[test]
fn the_controller_substitutes_from_what_its_home_read() {
    let fs = app_fs();
    let k = ks(
        "  postBuild:\n    substituteFrom:\n    - kind: ConfigMap\n      name: vars\n    - kind: \
         Secret\n      name: extra\n      optional: true\n",
    );
    let data = |region: &str| {
        SubstituteFrom::Data(vec![(
            "ConfigMap".to_string(),
            "vars".to_string(),
            BTreeMap::from([("REGION".to_string(), region.to_string())]),
        )])
    };
    let opts = BuildOptions {
        strict_substitute: true,
        substitute_from: data("eu-\nwest"),
        ..BuildOptions::default()
    };
    let m = build_for_apply(&fs, Path::new("/app"), &k, &opts).expect("built");
    assert!(m.yaml.contains("  region: eu-west\n"), "{}", m.yaml);
    assert!(!format!("{:?}", opts.substitute_from).contains("eu-"));
    let missing = BuildOptions {
        strict_substitute: true,
        substitute_from: SubstituteFrom::Data(Vec::new()),
        ..BuildOptions::default()
    };
    assert_eq!(
        build_for_apply(&fs, Path::new("/app"), &k, &missing)
            .expect_err("missing")
            .to_string(),
        "substitute from 'ConfigMap/vars' error: configmaps \"vars\" not found"
    );
}

#[test]
fn the_decrypt_hook_runs_on_each_resource_before_substitution() {
    use crate::value::{Map, Value};
    let fs = app_fs();
    let k = ks("  postBuild:\n    substitute:\n      ZONE: z\n");
    // A stand-in for SOPS decryption: the ConfigMap's value becomes a
    // variable, which substitution must then see.
    let hook = ResourceHook(std::sync::Arc::new(|v: &mut Value| {
        if let Value::Map(m) = v
            && let Some(Value::Map(data)) = m.get_mut("data")
        {
            *data = Map(vec![("region".into(), Value::Str("${ZONE}".into()))]);
        }
        Ok(())
    }));
    let opts = BuildOptions {
        decrypt: Some(hook),
        ..BuildOptions::default()
    };
    assert_eq!(format!("{:?}", opts.decrypt), "Some(ResourceHook)");
    let out = build_for_apply(&fs, Path::new("/app"), &k, &opts).expect("built");
    assert!(out.yaml.contains("  region: z\n"), "{}", out.yaml);
    let failing = BuildOptions {
        decrypt: Some(ResourceHook(std::sync::Arc::new(|_: &mut Value| {
            Err("decryption failed for 'Secret.v1.[noGrp]/x': no key".to_string())
        }))),
        ..BuildOptions::default()
    };
    let err = build_for_apply(&fs, Path::new("/app"), &k, &failing).expect_err("hook error");
    assert_eq!(
        err.to_string(),
        "decryption failed for 'Secret.v1.[noGrp]/x': no key"
    );
}
