use super::*;

fn load(src: &str) -> Loaded {
    load_str(Path::new("x.yaml"), src)
}

fn messages(l: &Loaded) -> Vec<String> {
    l.findings.iter().map(ToString::to_string).collect()
}

#[test]
fn unknown_field_gets_a_nested_hint_and_its_line() {
    let l = load(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 5m0s\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  postBuildSubstitute:\n    A: b\n",
    );
    let m = messages(&l);
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!(
        m[0],
        "x.yaml:12: Kustomization/flux-system/apps: error: unknown field `spec.postBuildSubstitute`; did you mean `spec.postBuild.substitute`?"
    );
}

#[test]
fn every_unknown_field_is_reported_in_one_pass() {
    let l = load(
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: a\nspec:\n  image: x\n  interval: 1m\n  intervall: 2m\n  secretRef:\n    nam: s\n",
    );
    let m = messages(&l);
    assert_eq!(m.len(), 3, "{m:?}");
    assert!(
        m[0].contains(":8:") && m[0].contains("did you mean `spec.interval`"),
        "{m:?}"
    );
    assert!(
        m[1].contains(":10:") && m[1].contains("unknown field `spec.secretRef.nam`"),
        "{m:?}"
    );
    assert!(
        m[2].contains("missing required field `spec.secretRef.name`"),
        "{m:?}"
    );
}

#[test]
fn missing_required_field_names_the_path() {
    let l = load(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\nspec:\n  interval: 1h\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n",
    );
    let m = messages(&l);
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(
        m[0].contains("missing required field `spec.prune`"),
        "{m:?}"
    );
    assert!(m[0].starts_with("x.yaml:5:"), "{m:?}");
}

#[test]
fn helmrelease_in_the_source_group_names_the_right_group() {
    let l = load(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRelease\nmetadata:\n  name: redis\nspec:\n  chart:\n    spec:\n      chart: redis\n      sourceRef:\n        kind: HelmRepository\n        name: bitnami\n",
    );
    let m = messages(&l);
    assert!(
        m[0].contains("x.yaml:1:") && m[0].contains("helm.toolkit.fluxcd.io/v2"),
        "{m:?}"
    );
    assert!(
        m.iter()
            .any(|s| s.contains("missing required field `spec.interval`")),
        "{m:?}"
    );
    assert!(matches!(l.manifests[0].object, Object::Invalid));
}

#[test]
fn v1beta2_is_converted_with_a_deprecation_warning() {
    let l = load(
        "apiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImagePolicy\nmetadata:\n  name: p\n  namespace: ns\nspec:\n  imageRepositoryRef:\n    name: r\n  policy:\n    semver:\n      range: 1.0.x\n",
    );
    assert_eq!(l.findings.len(), 1);
    assert_eq!(l.findings[0].severity, Severity::Warning);
    assert!(l.findings[0].message.contains("image.toolkit.fluxcd.io/v1"));
    let Object::ImagePolicy(p) = &l.manifests[0].object else {
        panic!("{:?}", l.manifests[0].object)
    };
    assert_eq!(p.spec.policy.semver.as_ref().unwrap().range, "1.0.x");
    assert_eq!(p.metadata.namespace.as_deref(), Some("ns"));
}

#[test]
fn v1beta2_policy_refuses_v1_only_suspend() {
    let l = load(
        "apiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImagePolicy\nmetadata:\n  name: p\nspec:\n  suspend: true\n  imageRepositoryRef:\n    name: r\n  policy:\n    semver:\n      range: 1.0.x\n",
    );
    assert!(
        messages(&l)
            .iter()
            .any(|m| m.contains("unknown field `spec.suspend`"))
    );
}

#[test]
fn wrong_types_and_enum_values_are_explained() {
    let l = load(
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: p\nspec:\n  imageRepositoryRef:\n    name: r\n  policy:\n    alphabetical:\n      order: up\n",
    );
    let m = messages(&l);
    assert!(
        m[0].contains(":10:") && m[0].contains("unsupported value `up`"),
        "{m:?}"
    );
    let l = load(
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: a\nspec:\n  image: x\n  interval: 5 minutes\n",
    );
    let m = messages(&l);
    assert!(
        m[0].contains(":7:") && m[0].contains("spec.interval"),
        "{m:?}"
    );
}

#[test]
fn spec_fields_at_top_level_are_pointed_under_spec() {
    let l = load(
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: a\ninterval: 1m\nspec:\n  image: x\n  interval: 1m\n",
    );
    let m = messages(&l);
    assert!(
        m[0].contains(":5:") && m[0].contains("did you mean `spec.interval`"),
        "{m:?}"
    );
}

#[test]
fn unknown_and_unserved_kinds() {
    let l = load("apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata:\n  name: c\n");
    assert_eq!(l.findings[0].severity, Severity::Warning);
    let l = load(
        "apiVersion: image.toolkit.fluxcd.io/v1alpha1\nkind: ImagePolicy\nmetadata:\n  name: c\nspec: {}\n",
    );
    assert!(
        l.findings[0]
            .message
            .contains("served versions: image.toolkit.fluxcd.io/v1")
    );
    let l = load("apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata:\n  name: c\n");
    assert!(
        l.findings[0].message.contains("apps/v1"),
        "{:?}",
        l.findings
    );
}

#[test]
fn core_kinds_and_kustomization_files_load() {
    let l = load(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n",
    );
    assert!(l.findings.is_empty(), "{:?}", l.findings);
    let l = load_str(
        Path::new("apps/kustomization.yaml"),
        "resources:\n  - a.yaml\ncommonLabel:\n  a: b\n",
    );
    let m = messages(&l);
    assert!(
        m[0].contains("unknown field `commonLabel`; did you mean `commonLabels`?"),
        "{m:?}"
    );
}

#[test]
fn yaml_errors_are_findings_with_lines() {
    let l = load("a: 1\nb: [\n");
    assert_eq!(l.findings.len(), 1);
    assert!(l.findings[0].message.starts_with("not valid YAML"));
}

#[test]
fn round_trips_every_kind() {
    let l = load_paths(&[PathBuf::from("testdata/kinds")]);
    assert!(l.findings.is_empty(), "{:#?}", l.findings);
    assert!(l.manifests.len() >= 14, "{}", l.manifests.len());
    for m in &l.manifests {
        let again = match &m.object {
            Object::ImageRepository(o) => reload(o),
            Object::ImagePolicy(o) => reload(o),
            Object::ImageUpdateAutomation(o) => reload(o),
            Object::GitRepository(o) => reload(o),
            Object::HelmRepository(o) => reload(o),
            Object::HelmChart(o) => reload(o),
            Object::OCIRepository(o) => reload(o),
            Object::Kustomization(o) => reload(o),
            Object::HelmRelease(o) => reload(o),
            Object::Receiver(o) => reload(o),
            Object::Provider(o) => reload(o),
            Object::Alert(o) => reload(o),
            Object::Canary(o) => reload(o),
            Object::SealedSecret(o) => reload(o),
            Object::KustomizationFile(o) => {
                let json = serde_json::to_value(o).unwrap();
                let back: kustomize::KustomizationFile = serde_json::from_value(json).unwrap();
                assert_eq!(&back, o);
                continue;
            }
            other => panic!("{}: {other:?}", m.display_name()),
        };
        assert!(again, "{} did not round-trip", m.display_name());
    }
}

fn reload<T>(o: &T) -> bool
where
    T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let text = serde_json::to_string(o).unwrap();
    let back: T = serde_json::from_str(&text).unwrap();
    // a second load through the YAML loader gives the same object
    let reloaded = load(&text);
    assert!(
        reloaded.findings.is_empty(),
        "{:?}\n{text}",
        reloaded.findings
    );
    &back == o
}

proptest::proptest! {
    #[test]
    fn loader_never_panics(s in "[a-zA-Z:{}\\[\\] \n\\-#'\"0-9.]{0,300}") {
        let _ = load(&s);
    }

    #[test]
    fn loader_never_panics_on_truncated_seed(cut in 0usize..2000) {
        let src = include_str!("../../testdata/kinds/image.yaml");
        let cut = cut.min(src.len());
        if src.is_char_boundary(cut) {
            let _ = load(&src[..cut]);
        }
    }
}

#[test]
fn alias_bomb_is_a_finding_with_file_and_line() {
    let l = load(&crate::yaml::tests::alias_bomb());
    let m = messages(&l);
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(
        m[0].starts_with("x.yaml:5: error: not valid YAML: document uses excessive aliasing"),
        "{m:?}"
    );
}

#[cfg(unix)]
#[test]
fn symlinks_out_of_the_tree_are_refused_and_named() {
    use std::os::unix::fs::symlink;
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.yaml");
    std::fs::write(
        &secret,
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: leaked\n",
    )
    .unwrap();
    let repo = tempfile::tempdir().unwrap();
    let own = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: own\n";
    std::fs::write(repo.path().join("a.yaml"), own).unwrap();
    symlink(repo.path().join("a.yaml"), repo.path().join("b.yaml")).unwrap();
    symlink(&secret, repo.path().join("leak.yaml")).unwrap();
    symlink(outside.path(), repo.path().join("outdir")).unwrap();

    let l = load_paths(&[repo.path().to_path_buf()]);
    let names: Vec<_> = l.manifests.iter().map(|m| m.name.clone()).collect();
    assert_eq!(names, ["own", "own"], "{:?}", messages(&l));
    let m = messages(&l);
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(m[0].contains("leak.yaml"), "{m:?}");
    assert!(
        m[0].contains("not read: symlink points outside the tree"),
        "{m:?}"
    );
    assert!(l.has_errors());
}

#[test]
fn oversized_file_is_refused_before_reading_it_whole() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("big.yaml");
    let file = std::fs::File::create(&f).unwrap();
    file.set_len(crate::yaml::MAX_STREAM_BYTES as u64 + 1)
        .unwrap();
    let m = messages(&load_file(&f));
    assert!(m[0].contains("larger than the"), "{m:?}");
}

#[test]
fn kustomization_v1beta2_is_read_as_v1_and_v1_refuses_its_removed_fields() {
    let ks = |version: &str| {
        format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/{version}\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 10m\n  prune: true\n  validation: client\n  dependsOn:\n  - name: infra\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  patchesStrategicMerge:\n  - kind: Deployment\n    metadata:\n      name: web\n  patchesJson6902:\n  - target:\n      kind: Deployment\n      name: web\n    patch:\n    - op: remove\n      path: /spec/replicas\n"
        )
    };
    let l = load(&ks("v1beta2"));
    assert_eq!(l.findings.len(), 1, "{:?}", messages(&l));
    assert_eq!(l.findings[0].severity, Severity::Warning);
    assert!(l.findings[0].message.contains("removed in Flux 2.8"));
    let Object::Kustomization(k) = &l.manifests[0].object else {
        panic!("{:?}", l.manifests[0].object)
    };
    assert_eq!(k.spec.depends_on[0].name, "infra");
    assert_eq!(k.spec.legacy_patches_strategic_merge.len(), 1);
    assert_eq!(k.spec.legacy_patches_json6902[0].operations.len(), 1);
    assert_eq!(
        k.spec.legacy_patches_json6902[0].target.name.as_deref(),
        Some("web")
    );
    let m = messages(&load(&ks("v1")));
    for field in ["validation", "patchesStrategicMerge", "patchesJson6902"] {
        assert!(
            m.iter()
                .any(|s| s.contains(&format!("unknown field `spec.{field}`"))),
            "{field}: {m:?}"
        );
    }
}

#[test]
fn a_helm_chart_typo_is_reported_not_dropped() {
    let l = load(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmChart\nmetadata:\n  name: podinfo\nspec:\n  chart: podinfo\n  interval: 5m\n  valueFiles: [a.yaml]\n  sourceRef:\n    kind: HelmRepository\n    name: charts\n",
    );
    let m = messages(&l);
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(
        m[0].contains(":8:") && m[0].contains("did you mean `spec.valuesFiles`"),
        "{m:?}"
    );
}

#[test]
fn helmrelease_v2beta1_and_v2beta2_are_read_as_v2_with_a_deprecation_warning() {
    for (version, flux) in [("v2beta2", "Flux 2.8"), ("v2beta1", "Flux 2.7")] {
        let l = load(&format!(
            "apiVersion: helm.toolkit.fluxcd.io/{version}\nkind: HelmRelease\nmetadata:\n  name: podinfo\n  namespace: apps\nspec:\n  interval: 5m\n  chart:\n    spec:\n      chart: podinfo\n      sourceRef:\n        kind: HelmRepository\n        name: podinfo\n  upgrade:\n    remediation:\n      retries: 3\n"
        ));
        let m = messages(&l);
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(
            m[0].contains("warning")
                && m[0].contains(flux)
                && m[0].contains("helm.toolkit.fluxcd.io/v2"),
            "{m:?}"
        );
        let Object::HelmRelease(hr) = &l.manifests[0].object else {
            panic!("{version} not read as v2: {:?}", l.manifests[0].object);
        };
        assert_eq!(hr.upgrade().remediation().retries, 3);
    }
}

#[test]
fn helmrelease_v2beta1_removed_fields_are_carried_over_as_v2_says_them() {
    let l = load(
        "apiVersion: helm.toolkit.fluxcd.io/v2beta1\nkind: HelmRelease\nmetadata:\n  name: podinfo\nspec:\n  interval: 5m\n  chart:\n    spec:\n      chart: podinfo\n      valuesFile: base.yaml\n      valuesFiles: [prod.yaml]\n      sourceRef:\n        kind: HelmRepository\n        name: podinfo\n  postRenderers:\n  - kustomize:\n      patchesStrategicMerge:\n      - kind: Deployment\n        apiVersion: apps/v1\n        metadata:\n          name: podinfo\n        spec:\n          replicas: 2\n      patchesJson6902:\n      - target:\n          kind: Service\n          name: podinfo\n        patch:\n        - op: add\n          path: /metadata/labels/x\n          value: y\n",
    );
    let m = messages(&l);
    assert_eq!(m.len(), 1, "only the deprecation: {m:?}");
    let Object::HelmRelease(hr) = &l.manifests[0].object else {
        panic!("not read: {m:?}");
    };
    let chart = &hr.spec.chart.as_ref().unwrap().spec;
    assert_eq!(chart.values_files, ["base.yaml", "prod.yaml"]);
    let k = hr.spec.post_renderers[0].kustomize.as_ref().unwrap();
    assert_eq!(k.patches.len(), 2);
    let psm: serde_json::Value = serde_json::from_str(&k.patches[0].patch).unwrap();
    assert_eq!(psm["spec"]["replicas"], 2);
    assert!(k.patches[0].target.is_none());
    let ops: serde_json::Value = serde_json::from_str(&k.patches[1].patch).unwrap();
    assert_eq!(ops[0]["op"], "add");
    assert_eq!(
        k.patches[1].target.as_ref().unwrap().kind.as_deref(),
        Some("Service")
    );
    // v2 itself has no such fields.
    let l = load(
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\nspec:\n  interval: 5m\n  chart:\n    spec:\n      chart: podinfo\n      valuesFile: base.yaml\n      sourceRef:\n        kind: HelmRepository\n        name: podinfo\n",
    );
    assert!(
        messages(&l).iter().any(|m| m.contains("valuesFile")),
        "{:?}",
        messages(&l)
    );
}
