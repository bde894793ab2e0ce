use std::path::Path;

use ferroflux_api::kustomize::{Image, KustomizationSpec, Patch, Selector};

use super::*;
use crate::MemFs;

fn spec() -> KustomizationSpec {
    KustomizationSpec::default()
}

fn layered(fs: &MemFs, spec: &KustomizationSpec) -> Result<Layered, Error> {
    layer(fs, Path::new("/app"), spec, Some(&[]))
}

#[test]
fn a_directory_without_kustomization_lists_its_yaml_files_in_walk_order() {
    let mut fs = MemFs::new();
    fs.add(
        "/app/b.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n",
    )
    .add(
        "/app/a/z.yml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: z\n",
    )
    .add("/app/a/base/kustomization.yaml", "resources: []\n")
    .add("/app/a/base/ignored.yaml", "not: a resource\n")
    .add("/app/.sops.yaml", "creation_rules: []\n")
    .add("/app/.github/workflows/ci.yaml", "on: push\n")
    .add(
        "/app/.sourceignore",
        "# Flux's defaults apply with any pattern\n/nothing\n",
    )
    .add("/app/readme.md", "# hi\n");
    let l = layered(&fs, &spec()).expect("generated");
    assert_eq!(l.action, Action::Created);
    assert_eq!(l.path, Path::new("/app/kustomization.yaml"));
    assert_eq!(
        l.text,
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- \
         ./a/base\n- ./a/z.yml\n- ./b.yaml\nsortOptions:\n  order: fifo\n"
    );
}

#[test]
fn without_a_pattern_of_the_users_the_scan_ignores_nothing() {
    let mut fs = MemFs::new();
    fs.add("/app/.github/ci.yaml", "on: push\n");
    let err = layered(&fs, &spec()).expect_err("scanned").to_string();
    assert!(err.contains("/app/.github/ci.yaml"), "{err}");
}

#[test]
fn an_empty_directory_gets_the_placeholder_namespace() {
    let mut fs = MemFs::new();
    fs.add_dir("/app");
    let l = layered(&fs, &spec()).expect("generated");
    assert!(l.text.contains("namespace: _placeholder\n"), "{}", l.text);
    assert!(!l.text.contains("resources"));
}

#[test]
fn a_yaml_file_that_is_not_kubernetes_fails_the_generation_naming_it() {
    let mut fs = MemFs::new();
    fs.add("/app/values.yaml", "replicaCount: 3\n");
    let err = layered(&fs, &spec())
        .expect_err("not a resource")
        .to_string();
    assert_eq!(
        err,
        "failed to generate kustomization.yaml: failed to decode Kubernetes YAML from \
         /app/values.yaml: /app/values.yaml:1: missing kind in object"
    );
}

#[test]
fn spec_fields_replace_blank_and_append_keeping_the_users_lines() {
    let mut fs = MemFs::new();
    fs.add(
        "/app/kustomization.yaml",
        "resources:\n- cm.yaml\nnamespace: old\nnamePrefix: a-\nimages:\n- name: web\n  newTag: \
         \"1\"\n  digest: sha256:abc\n- name: db\n  newName: pg\npatches:\n- path: p.yaml\n",
    );
    let s = KustomizationSpec {
        target_namespace: Some("prod".into()),
        name_prefix: Some("b-".into()),
        images: vec![
            Image {
                name: "web".into(),
                new_tag: Some("2".into()),
                ..Image::default()
            },
            Image {
                name: "db".into(),
                new_name: Some("postgres".into()),
                ..Image::default()
            },
            Image {
                name: "new".into(),
                digest: Some("sha256:def".into()),
                ..Image::default()
            },
        ],
        patches: vec![Patch {
            patch: "- op: remove\n  path: /x\n".into(),
            target: Some(Selector {
                kind: Some("Deployment".into()),
                ..Selector::default()
            }),
        }],
        build_metadata: vec!["transformerAnnotations".into()],
        ..spec()
    };
    let l = layered(&fs, &s).expect("layered");
    assert_eq!(l.action, Action::Unchanged);
    let lines: Vec<&str> = l.text.lines().collect();
    // The user's `resources` keeps lines 1 and 2; replaced keys are blank.
    assert_eq!(&lines[..4], ["resources:", "- cm.yaml", "", ""]);
    let tail = lines[12..].join("\n");
    assert_eq!(
        tail,
        "namespace: prod\nnamePrefix: b-\npatches:\n- path: p.yaml\n- patch: |\n    - op: \
         remove\n      path: /x\n  target:\n    kind: Deployment\nimages:\n- name: web\n  \
         newTag: \"2\"\n- name: db\n  newName: postgres\n- digest: sha256:def\n  name: \
         new\nbuildMetadata:\n- transformerAnnotations\nsortOptions:\n  order: fifo"
    );
}

#[test]
fn a_file_without_resources_gets_origin_annotations_and_unknown_keys_are_dropped() {
    let mut fs = MemFs::new();
    fs.add(
        "/app/kustomization.yaml",
        "bases:\n- ../base\nmystery: 1\nsortOptions:\n  order: legacy\n",
    );
    let l = layered(&fs, &spec()).expect("layered");
    assert_eq!(
        l.text,
        "bases:\n- ../base\n\nsortOptions:\n  order: legacy\nbuildMetadata:\n- \
         originAnnotations\n"
    );
    assert_eq!(
        l.warnings,
        [
            "/app/kustomization.yaml:3: unknown field `mystery` dropped, as Flux does when it \
          layers the Kustomization into this file (kustomize alone would refuse it)",
            "Warning: Sorting order is set both in 'kustomization.yaml' ('sortOptions') and in \
             a CLI flag ('--reorder'). Using the kustomization file over the CLI flag."
        ]
    );
}

#[test]
fn components_must_be_local_and_missing_ones_can_be_ignored() {
    let mut fs = MemFs::new();
    fs.add("/app/kustomization.yaml", "resources:\n- cm.yaml\n")
        .add("/app/comp/kustomization.yaml", "kind: Component\n");
    let remote = KustomizationSpec {
        components: vec!["https://github.com/x/y".into()],
        ..spec()
    };
    assert_eq!(
        layered(&fs, &remote).expect_err("remote").to_string(),
        "failed to generate kustomization.yaml: component path 'https://github.com/x/y' must be \
         local and relative"
    );
    let missing = KustomizationSpec {
        components: vec!["comp".into(), "gone".into()],
        ignore_missing_components: Some(true),
        ..spec()
    };
    let l = layered(&fs, &missing).expect("layered");
    assert!(
        l.text.contains("components:\n- comp\nsortOptions"),
        "{}",
        l.text
    );
    let kept = KustomizationSpec {
        ignore_missing_components: None,
        ..missing
    };
    assert!(
        layered(&fs, &kept)
            .expect("layered")
            .text
            .contains("components:\n- comp\n- gone\n")
    );
}

#[test]
fn is_local_relative_path_as_flux() {
    for (p, want) in [
        ("../comp", true),
        ("comp", true),
        ("/abs", false),
        ("file:///abs", false),
        ("FILE:///abs", false),
        ("GIT::https://x", false),
        ("gh:org/repo", false),
        ("git@github.com:o/r", false),
        ("github.com/o/r", false),
        ("github.com:o/r", false),
        ("ssh://x", false),
        ("http://x", false),
        // Exactly a prefix is not longer than it: local.
        ("gh:", true),
    ] {
        assert_eq!(is_local_relative_path(p), want, "{p}");
    }
}

#[test]
fn ignore_paths_and_sourceignore_files_leave_files_out() {
    let mut fs = MemFs::new();
    let cm = |n: &str| format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {n}\n");
    fs.add("/app/a.yaml", cm("a"))
        .add("/app/drafts/b.yaml", cm("b"))
        .add("/app/sub/.sourceignore", "# local\n*.yaml\n!keep.yaml\n")
        .add("/app/sub/c.yaml", cm("c"))
        .add("/app/sub/keep.yaml", cm("k"));
    let l = layer(
        &fs,
        Path::new("/app"),
        &spec(),
        Some(&["drafts/".to_string()]),
    )
    .expect("generated");
    assert!(
        l.text
            .contains("resources:\n- ./a.yaml\n- ./sub/keep.yaml\n"),
        "{}",
        l.text
    );
}

#[test]
fn an_existing_files_ignored_entries_are_dropped() {
    let mut fs = MemFs::new();
    fs.add(
        "/app/kustomization.yaml",
        "resources:\n- a.yaml\n- .sops.yaml\n- ../base\n",
    )
    .add("/app/a.yaml", "")
    .add("/app/.sops.yaml", "")
    .add("/base/kustomization.yaml", "");
    let l = layered(&fs, &spec()).expect("layered");
    assert_eq!(
        l.text,
        "\n\n\n\nresources:\n- a.yaml\n- ../base\nsortOptions:\n  order: fifo\n"
    );
}

#[test]
fn files_flux_cannot_layer_are_refused_with_their_line() {
    let mut fs = MemFs::new();
    fs.add("/app/kustomization.yaml", "- a\n- b\n");
    assert_eq!(
        layered(&fs, &spec()).expect_err("a list").to_string(),
        "/app/kustomization.yaml:1: invalid Kustomization: the document is not a mapping"
    );
    let mut fs = MemFs::new();
    fs.add("/app/kustomization.yaml", "{resources: [a.yaml]}\n");
    assert!(
        layered(&fs, &spec())
            .expect_err("flow")
            .to_string()
            .contains("must be a block mapping")
    );
    let mut fs = MemFs::new();
    fs.add(
        "/app/kustomization.yaml",
        "resources: []\n---\nnamespace: x\n",
    );
    assert_eq!(
        layered(&fs, &spec()).expect_err("two docs").to_string(),
        "/app/kustomization.yaml:3: invalid Kustomization: the file holds more than one document"
    );
    let mut fs = MemFs::new();
    fs.add("/app/kustomization.yaml", "resources: [\n");
    assert!(
        layered(&fs, &spec())
            .expect_err("bad yaml")
            .to_string()
            .starts_with("/app/kustomization.yaml:")
    );
    let mut fs = MemFs::new();
    fs.add("/app/kustomization.yaml", vec![0xff, 0xfe]);
    assert_eq!(
        layered(&fs, &spec()).expect_err("binary").to_string(),
        "/app/kustomization.yaml:1: invalid Kustomization: the file is not UTF-8 text"
    );
}

#[test]
fn an_empty_file_decodes_to_an_empty_kustomization() {
    let mut fs = MemFs::new();
    fs.add("/app/kustomization.yaml", "# nothing\n");
    let l = layered(&fs, &spec()).expect("layered");
    assert_eq!(
        l.text,
        "# nothing\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n\
         buildMetadata:\n- originAnnotations\nsortOptions:\n  order: fifo\n"
    );
}

#[test]
fn generation_is_bounded() {
    let mut fs = MemFs::new();
    for i in 0..=MAX_GENERATED_RESOURCES.min(10) {
        fs.add(
            format!("/app/{i}.yaml"),
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i}\n"),
        );
    }
    // The real bound is large; the walk stops at it (checked with a count).
    let matcher = Matcher::for_dir(&fs, Path::new("/app"), &[]);
    let text = generate(&fs, Path::new("/app"), &matcher).expect("generated");
    assert_eq!(text.matches("\n- ./").count(), 11);
}
