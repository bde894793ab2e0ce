//! Splitting, sorting and printing rendered files (helm-semantics.md §5).

use std::collections::BTreeMap;

use ferroflux_helm::render::output::{
    Head, HookEvent, INSTALL_ORDER, PrintOptions, go_path_match, print, sort_manifests,
    split_manifests, uninstall_order,
};

/// A head reader good enough for these tests: `kind:`, `metadata.name`
/// and annotations written as `  a: b` lines under `  annotations:`.
fn head(doc: &str) -> Result<Head, String> {
    if doc.contains("{{bad") {
        return Err(
            "error converting YAML to JSON: yaml: line 1: did not find expected key".into(),
        );
    }
    let mut h = Head::default();
    let mut in_annotations = false;
    for line in doc.lines() {
        if let Some(v) = line.strip_prefix("apiVersion: ") {
            h.api_version = v.to_string();
        } else if let Some(k) = line.strip_prefix("kind: ") {
            h.kind = k.to_string();
        } else if let Some(n) = line.strip_prefix("  name: ") {
            h.name = n.to_string();
        } else if line == "  annotations:" {
            in_annotations = true;
            h.annotations = Some(BTreeMap::new());
        } else if in_annotations && line.starts_with("    ") {
            let (k, v) = line.trim().split_once(": ").ok_or("bad annotation")?;
            h.annotations
                .as_mut()
                .map(|a| a.insert(k.to_string(), v.trim_matches('"').to_string()));
        } else {
            in_annotations = false;
        }
    }
    Ok(h)
}

#[test]
fn split_keeps_trailing_whitespace_and_splits_odd_separators() {
    let docs =
        split_manifests("\n\n---\na: 1\n\n--- # c\nb: 2\n---apiVersion: v1\n----\n   \n---\n");
    assert_eq!(
        docs,
        vec!["a: 1\n\n", "# c\nb: 2\n", "apiVersion: v1\n", "-\n   \n"]
    );
    assert!(split_manifests(" \n---\n\t\n").is_empty());
}

#[test]
fn sort_is_by_install_order_then_path_then_position() {
    let files: BTreeMap<String, String> = [
        (
            "c/templates/b.yaml",
            "kind: Deployment\nmetadata:\n  name: d\n---\nkind: Service\nmetadata:\n  name: s2\n",
        ),
        (
            "c/templates/a.yaml",
            "kind: Service\nmetadata:\n  name: s1\n---\nkind: Zebra\n---\nkind: Alpaca\n",
        ),
        (
            "c/charts/sub/templates/x.yaml",
            "kind: Service\nmetadata:\n  name: sub\n",
        ),
        ("c/templates/_helpers.tpl", "kind: Namespace\n"),
        ("c/templates/empty.yaml", "  \n\n"),
        (
            "c/templates/w.yaml",
            "kind: ValidatingWebhookConfiguration\n---\nkind: MutatingWebhookConfiguration\n",
        ),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    let (hooks, manifests) = sort_manifests(&files, &head).expect("sorts");
    assert!(hooks.is_empty());
    let got: Vec<(&str, &str)> = manifests
        .iter()
        .map(|m| (m.name.as_str(), m.head.kind.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("c/charts/sub/templates/x.yaml", "Service"),
            ("c/templates/a.yaml", "Service"),
            ("c/templates/b.yaml", "Service"),
            ("c/templates/b.yaml", "Deployment"),
            ("c/templates/w.yaml", "MutatingWebhookConfiguration"),
            ("c/templates/w.yaml", "ValidatingWebhookConfiguration"),
            ("c/templates/a.yaml", "Alpaca"),
            ("c/templates/a.yaml", "Zebra"),
        ]
    );
}

#[test]
fn hooks_are_classified_and_unknown_hook_types_dropped() {
    let files: BTreeMap<String, String> = [(
        "c/templates/hooks.yaml".to_string(),
        "kind: Job\nmetadata:\n  name: j\n  annotations:\n    helm.sh/hook: \" Pre-Install, test-success\"\n    helm.sh/hook-weight: \"-5\"\n    helm.sh/hook-delete-policy: \"Hook-Succeeded, before-hook-creation\"\n---\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    helm.sh/hook: pre-install,bogus\n---\nkind: ConfigMap\nmetadata:\n  name: cm\n  annotations:\n    other: x\n---\nkind: Pod\nmetadata:\n  name: w\n  annotations:\n    helm.sh/hook: test\n    helm.sh/hook-weight: 1x\n".to_string(),
    )]
    .into_iter()
    .collect();
    let (hooks, manifests) = sort_manifests(&files, &head).expect("sorts");
    assert_eq!(manifests.len(), 1);
    assert_eq!(manifests[0].head.kind, "ConfigMap");
    assert_eq!(
        hooks.len(),
        2,
        "the pod with an unknown hook type is dropped"
    );
    // Pod sorts before Job.
    assert_eq!(hooks[0].name, "w");
    assert_eq!(hooks[0].weight, 0, "an invalid weight reads as 0");
    assert_eq!(hooks[1].name, "j");
    assert_eq!(
        hooks[1].events,
        vec![HookEvent::PreInstall, HookEvent::Test]
    );
    assert_eq!(hooks[1].weight, -5);
    assert_eq!(
        hooks[1].delete_policies,
        vec![
            "hook-succeeded".to_string(),
            "before-hook-creation".to_string()
        ]
    );
}

#[test]
fn a_document_that_does_not_parse_names_its_template() {
    let files: BTreeMap<String, String> = [(
        "c/templates/x.yaml".to_string(),
        "a: 1\n---\n{{bad\n".to_string(),
    )]
    .into_iter()
    .collect();
    let err = sort_manifests(&files, &head).expect_err("fails");
    assert_eq!(
        err.to_string(),
        "YAML parse error on c/templates/x.yaml: error converting YAML to JSON: yaml: line 1: did not find expected key"
    );
}

#[test]
fn print_trims_the_manifests_and_appends_hooks() {
    let files: BTreeMap<String, String> = [
        (
            "c/templates/a.yaml".to_string(),
            "kind: Service\nmetadata:\n  name: s\n\n".to_string(),
        ),
        (
            "c/templates/t.yaml".to_string(),
            "kind: Pod\nmetadata:\n  name: t\n  annotations:\n    helm.sh/hook: test\n".to_string(),
        ),
        (
            "c/templates/s.yaml".to_string(),
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: sec\n".to_string(),
        ),
    ]
    .into_iter()
    .collect();
    let (hooks, manifests) = sort_manifests(&files, &head).expect("sorts");
    let crds = vec![(
        "c/crds/crd.yaml".to_string(),
        "kind: CustomResourceDefinition\n".to_string(),
    )];
    let out = print(&crds, &manifests, &hooks, &PrintOptions::default()).expect("prints");
    assert_eq!(
        out,
        "---\n# Source: c/crds/crd.yaml\nkind: CustomResourceDefinition\n\n\
         ---\n# Source: c/templates/s.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: sec\n\n\
         ---\n# Source: c/templates/a.yaml\nkind: Service\nmetadata:\n  name: s\n\
         ---\n# Source: c/templates/t.yaml\nkind: Pod\nmetadata:\n  name: t\n  annotations:\n    helm.sh/hook: test\n\n"
    );
    let quiet = PrintOptions {
        skip_tests: true,
        hide_secret: true,
        ..Default::default()
    };
    let out = print(&[], &manifests, &hooks, &quiet).expect("prints");
    assert_eq!(
        out,
        "---\n# Source: c/templates/s.yaml\n# HIDDEN: The Secret output has been suppressed\n\
         ---\n# Source: c/templates/a.yaml\nkind: Service\nmetadata:\n  name: s\n"
    );
    assert_eq!(
        print(&[], &[], &[], &PrintOptions::default()).expect("prints"),
        "\n"
    );
}

#[test]
fn show_only_picks_documents_by_pattern_in_flag_order() {
    let files: BTreeMap<String, String> = [
        (
            "c/templates/a.yaml".to_string(),
            "kind: Service\nmetadata:\n  name: s\n".to_string(),
        ),
        (
            "c/templates/b.yaml".to_string(),
            "kind: ConfigMap\nmetadata:\n  name: m\n".to_string(),
        ),
        (
            "c/charts/s/templates/b.yaml".to_string(),
            "kind: Pod\n".to_string(),
        ),
    ]
    .into_iter()
    .collect();
    let (hooks, manifests) = sort_manifests(&files, &head).expect("sorts");
    let opts = PrintOptions {
        show_only: vec!["templates/a.yaml".into(), "templates/*.yaml".into()],
        ..Default::default()
    };
    let out = print(&[], &manifests, &hooks, &opts).expect("prints");
    assert_eq!(
        out,
        "---\n# Source: c/templates/a.yaml\nkind: Service\nmetadata:\n  name: s\n\n\n\
         ---\n# Source: c/templates/b.yaml\nkind: ConfigMap\nmetadata:\n  name: m\n\n\n\
         ---\n# Source: c/templates/a.yaml\nkind: Service\nmetadata:\n  name: s\n\n\n"
    );
    let missing = PrintOptions {
        show_only: vec!["templates/nope.yaml".into()],
        ..Default::default()
    };
    assert_eq!(
        print(&[], &manifests, &hooks, &missing).expect_err("fails"),
        "could not find template templates/nope.yaml in chart"
    );
}

#[test]
fn path_match_follows_go_filepath_match() {
    for (p, n, want) in [
        ("templates/*.yaml", "templates/a.yaml", true),
        ("templates/*", "templates/sub/a.yaml", false),
        ("*/a.yaml", "templates/a.yaml", true),
        ("templates/?.yaml", "templates/ab.yaml", false),
        ("templates/[a-c].yaml", "templates/b.yaml", true),
        ("templates/[^a-c].yaml", "templates/b.yaml", false),
        ("templates/\\*.yaml", "templates/*.yaml", true),
        ("charts/*/templates/*", "charts/sub/templates/x.yaml", true),
        ("templates/[", "templates/[", false),
    ] {
        assert_eq!(go_path_match(p, n).expect("matches"), want, "{p} vs {n}");
    }
}

#[test]
fn install_and_uninstall_orders() {
    assert_eq!(INSTALL_ORDER.len(), 38);
    let u = uninstall_order();
    assert_eq!(u[0], "MutatingWebhookConfiguration");
    assert_eq!(u[1], "ValidatingWebhookConfiguration");
    assert_eq!(u[37], "PriorityClass");
}

#[test]
fn heads_are_read_as_helm_reads_them() {
    use ferroflux_helm::render::output::read_head;
    let h = read_head(
        "kind: 5\nmetadata:\n  name: 7\n  annotations:\n    helm.sh/hook: test\n    z: yes\n",
    )
    .expect("reads");
    assert_eq!(h.kind, "5");
    assert_eq!(h.name, "7");
    let a = h.annotations.expect("annotations");
    assert_eq!(a["helm.sh/hook"], "test");
    assert_eq!(a["z"], "true");
    assert_eq!(
        read_head("# only a comment\n").expect("reads"),
        Head::default()
    );
    let empty = read_head("kind: A\nmetadata:\n  annotations: {}\n").expect("reads");
    assert_eq!(
        empty.annotations, None,
        "empty annotations never make a hook"
    );
    for (doc, want) in [
        (
            "- a\n",
            "json: cannot unmarshal array into Go value of type util.SimpleHead",
        ),
        (
            "just a string\n",
            "json: cannot unmarshal string into Go value of type util.SimpleHead",
        ),
        (
            "kind: A\nmetadata:\n  annotations:\n    x: {a: 1}\n",
            "json: cannot unmarshal object into Go struct field .metadata.annotations of type string",
        ),
        (
            "kind: A\nmetadata: 5\n",
            "json: cannot unmarshal number into Go struct field SimpleHead.metadata of type struct { Name string \"json:\\\"name\\\"\"; Annotations map[string]string \"json:\\\"annotations\\\"\" }",
        ),
    ] {
        let err = read_head(doc).expect_err(doc);
        assert_eq!(
            err,
            format!("error unmarshaling JSON: while decoding JSON: {want}"),
            "{doc}"
        );
    }
    let err = read_head("a: b: c\n").expect_err("bad yaml");
    assert!(
        err.starts_with("error converting YAML to JSON: yaml: line 1: "),
        "{err}"
    );
}
