use super::*;
use crate::fs::MemFs;

fn load_str(text: &str) -> Result<Kustomization, Error> {
    let mut fs = MemFs::new();
    fs.add("/k/kustomization.yaml", text);
    load(&fs, Path::new("/k/kustomization.yaml"))
}

#[test]
fn reads_the_fields_it_implements() {
    let k = load_str(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: ns\n\
         nameprefix: p-\nnameSuffix: -s\nresources:\n- a.yaml\nbases:\n- ../base\n\
         commonLabels:\n  app: x\n  empty:\ncommonAnnotations:\n  note: y\n\
         labels:\n- pairs:\n    team: t\n  includeSelectors: true\n\
         images:\n- name: nginx\n  newTag: \"1.2\"\nreplicas:\n- name: web\n  count: 3\n\
         sortOptions:\n  order: fifo\n",
    )
    .unwrap();
    assert_eq!(k.namespace, "ns");
    assert_eq!(
        k.name_prefix, "p-",
        "keys match case-insensitively, as Go's json"
    );
    assert_eq!(k.resources, ["a.yaml", "../base"]);
    assert_eq!(k.common_labels["empty"], "");
    assert!(k.labels[0].include_selectors);
    assert_eq!(k.images[0].new_tag, "1.2");
    assert_eq!(k.replicas[0].count, 3);
    assert_eq!(k.sort_options, Some(SortOptions::Fifo));
}

#[test]
fn unknown_field_names_file_line_and_a_near_miss() {
    let err = load_str("resources:\n- a.yaml\ncommonLabel:\n  a: b\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "/k/kustomization.yaml:3: invalid Kustomization: json: unknown field \"commonLabel\"; \
         did you mean `commonLabels`?"
    );
    let err = load_str("images:\n- name: a\n  newtga: b\n").unwrap_err();
    assert!(err.to_string().contains("did you mean `newTag`"), "{err}");
}

#[test]
fn unimplemented_fields_are_refused_by_name() {
    let err = load_str("resources:\n- a.yaml\nvalidators:\n- v.yaml\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "/k/kustomization.yaml:3: not supported yet: validators in /k/kustomization.yaml"
    );
    // An empty list of an unimplemented field changes nothing.
    assert!(load_str("resources:\n- a.yaml\nvalidators: []\n").is_ok());
}

#[test]
fn crds_entries_are_read_with_their_lines() {
    let k = load_str("resources:\n- a.yaml\ncrds:\n- c.json\n- d.yaml\n").unwrap();
    assert_eq!(
        k.crds,
        vec![("c.json".to_string(), 4), ("d.yaml".to_string(), 5)]
    );
    let err = load_str("crds:\n- [x]\n").unwrap_err();
    assert!(err.to_string().contains(":2: "), "{err}");
}

#[test]
fn patch_entries_are_read_with_their_lines() {
    let k = load_str(
        "resources:\n- a.yaml\npatches:\n- path: p.yaml\n- patch: |-\n    x\n  target:\n    \
         kind: Deployment\n    name: web.*\n    labelSelector: app=web\n  options:\n    \
         allowNameChange: true\npatchesStrategicMerge:\n- s.yaml\npatchesJson6902:\n- target: \
         {name: web}\n  path: j.yaml\n",
    )
    .expect("loads");
    assert_eq!(k.patches.len(), 2);
    assert_eq!(
        (k.patches[0].path.as_str(), k.patches[0].line),
        ("p.yaml", 4)
    );
    let t = k.patches[1].target.clone().expect("a target");
    assert_eq!((t.kind.as_str(), t.name.as_str()), ("Deployment", "web.*"));
    assert_eq!(t.label_selector, "app=web");
    assert!(k.patches[1].allow_name_change && !k.patches[1].allow_kind_change);
    assert_eq!(k.patches_strategic_merge, vec![("s.yaml".to_string(), 14)]);
    assert_eq!(k.patches_json6902[0].path, "j.yaml");
    assert_eq!(
        k.warnings.len(),
        2,
        "both deprecated fields warn: {:?}",
        k.warnings
    );
    // In kustomize's order, not the file's.
    assert!(k.warnings[0].contains("'patchesJson6902' is deprecated"));
    assert!(k.warnings[1].contains("'patchesStrategicMerge' is deprecated"));
}

#[test]
fn malformed_patch_entries_are_errors() {
    for (text, want) in [
        (
            "patches:\n- target: 3\n  path: p\n",
            ":2: invalid Kustomization: field `patches`: `target` must be a mapping",
        ),
        (
            "patches:\n- target: {nmae: x}\n  path: p\n",
            "did you mean `name`?",
        ),
        (
            "patches:\n- options: [1]\n  path: p\n",
            "`options` must be a mapping of booleans",
        ),
        (
            "patches:\n- options: {allowNameChange: yes}\n  path: p\n",
            "must be true or false",
        ),
        ("patches:\n- pth: p\n", "did you mean `path`?"),
        ("patches: p.yaml\n", "expected a list"),
        (
            "patchesStrategicMerge:\n- {a: 1}\n",
            ":2: invalid Kustomization: field `patchesStrategicMerge`: expected a list of strings",
        ),
    ] {
        let err = load_str(text).expect_err(text).to_string();
        assert!(err.contains(want), "{text}: {err}");
    }
}

#[test]
fn wrong_types_and_shapes_are_errors() {
    let err = load_str("namePrefix: 12\n").unwrap_err();
    assert!(err.to_string().contains(":1:") && err.to_string().contains("expected a string"));
    let err = load_str("commonLabels:\n  version: 1\n").unwrap_err();
    assert!(err.to_string().contains("quote it (\"1\")"), "{err}");
    assert!(load_str("- a\n").is_err());
    assert!(load_str("kind: Deployment\n").is_err());
    assert!(load_str("replicas:\n- name: a\n  count: x\n").is_err());
    assert!(load_str("sortOptions:\n  order: random\n").is_err());
    assert!(
        load_str("sortOptions:\n  order: fifo\n  legacySortOptions:\n    orderFirst: [A]\n")
            .is_err()
    );
    assert!(matches!(load_str("# nothing\n"), Err(Error::Build(m)) if m.contains("empty")));
}

#[test]
fn find_wants_exactly_one_kustomization_file() {
    let mut fs = MemFs::new();
    fs.add_dir("/none");
    let err = find(&fs, Path::new("/none")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("unable to find one of 'kustomization.yaml'")
    );
    fs.add("/two/kustomization.yaml", "")
        .add("/two/Kustomization", "");
    assert!(
        find(&fs, Path::new("/two"))
            .unwrap_err()
            .to_string()
            .contains("multiple")
    );
    fs.add("/one/kustomization.yml", "");
    assert_eq!(
        find(&fs, Path::new("/one")).unwrap(),
        PathBuf::from("/one/kustomization.yml")
    );
}

#[test]
fn a_repeated_key_takes_the_last_value_as_kustomize_does() {
    let k = load_str("namePrefix: a-\nresources:\n- x.yaml\nnamePrefix: b-\n").unwrap();
    assert_eq!(k.name_prefix, "b-");
}

#[test]
fn kustomize_refuses_empty_files_and_foreign_api_versions() {
    let err =
        load_str("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n").unwrap_err();
    assert!(
        err.to_string().starts_with("kustomization.yaml is empty"),
        "{err}"
    );
    assert!(
        load_str("resources: []\n").is_ok(),
        "an empty list is content"
    );
    let err = load_str("apiVersion: v1\nresources:\n- a.yaml\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "/k/kustomization.yaml:1: apiVersion for Kustomization should be \
         kustomize.config.k8s.io/v1beta1, not \"v1\""
    );
    assert!(
        load_str(
            "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n- a\n"
        )
        .is_ok()
    );
}

#[test]
fn openapi_keeps_path_and_version_for_the_build() {
    let k = load_str("resources: []\nopenapi:\n  version: v1.14.1\n  path: s.json\n").unwrap();
    let o = k.openapi.expect("openapi");
    assert_eq!(o.version.as_deref(), Some("v1.14.1"));
    assert_eq!(o.path.as_deref(), Some("s.json"));
    assert_eq!(o.line, 2);
    // An empty version is given (kustomize's map holds the key).
    let k = load_str("resources: []\nopenapi:\n  version:\n").unwrap();
    assert_eq!(k.openapi.and_then(|o| o.version).as_deref(), Some(""));
    let err = load_str("resources: []\nopenapi:\n  path: [a]\n").unwrap_err();
    assert!(err.to_string().contains("must be a string"), "{err}");
}

#[test]
fn deprecated_fields_carry_kustomizes_warning() {
    let k = load_str("vars: []\ncommonLabels:\n  a: b\nbases:\n- ../b\n").unwrap();
    assert_eq!(
        k.warnings,
        [
            "# Warning: 'bases' is deprecated. Please use 'resources' instead. Run 'kustomize \
             edit fix' to update your Kustomization automatically.",
            "# Warning: 'commonLabels' is deprecated. Please use 'labels' instead. Run \
             'kustomize edit fix' to update your Kustomization automatically.",
            "# Warning: 'vars' is deprecated. Please use 'replacements' instead. [EXPERIMENTAL] \
             Run 'kustomize edit fix' to update your Kustomization automatically."
        ]
    );
}

#[test]
fn vars_replacements_and_components_are_read_with_lines() {
    let k = load_str(
        "resources: []\ncomponents: [c]\nvars:\n- name: A\n  objref: {kind: S, name: s}\nreplacements:\n- path: r.yaml\n",
    )
    .unwrap();
    assert_eq!(k.components, ["c"]);
    assert_eq!(k.vars.len(), 1);
    assert_eq!(k.vars[0].at, "/k/kustomization.yaml:4");
    assert_eq!(k.replacements.len(), 1);
    let err = load_str("resources: []\nvars:\n- name: A\n- name: B\n  objrf: {}\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "/k/kustomization.yaml:4: invalid Kustomization: field `vars`: vars[1]: unknown field \
         \"objrf\"; did you mean `objref`?"
    );
    let err = load_str("resources: []\nreplacements:\n- source: {}\n- source: 3\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "/k/kustomization.yaml:4: invalid Kustomization: field `replacements`: \
         replacements[1].source: expected a mapping"
    );
    let err = load_str("resources: []\ncomponents: c\n").unwrap_err();
    assert!(
        err.to_string().contains("expected a list of strings"),
        "{err}"
    );
}
