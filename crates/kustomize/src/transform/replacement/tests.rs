use super::*;
use crate::value::from_node;

fn doc(text: &str) -> Value {
    let docs = ferroflux_api::yaml::parse_stream_raw(text).expect("yaml");
    from_node(docs[0].node.as_ref().expect("a document"))
}

fn inline(text: &str) -> Result<Vec<Replacement>, String> {
    entries(&doc(text), &|i| format!("k.yaml:{i}")).map(|list| {
        list.into_iter()
            .map(|e| match e {
                Entry::Inline(r) => *r,
                Entry::Path(p) => panic!("path {p}"),
            })
            .collect()
    })
}

fn resources() -> Vec<Resource> {
    crate::build::parse_resources(
        "r.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  labels: {app: a}\ndata:\n  port: \"8080\"\n  image: nginx:1.27\n  list: a,b,c\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {app: a}\n  annotations: {skip: \"yes\"}\nspec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.25\n        ports:\n        - containerPort: 80\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  labels: {app: b}\nspec:\n  replicas: 1\n  template:\n    spec:\n      containers:\n      - name: api\n        image: api:1\n        ports:\n        - containerPort: 81\n",
    )
    .expect("resources")
}

fn run_text(text: &str) -> Result<Vec<Resource>, String> {
    let mut rs = resources();
    run(&mut rs, &inline(text)?)?;
    Ok(rs)
}

fn at(r: &Resource, path: &str) -> Option<Value> {
    crate::fieldpath::lookup(&r.value, &crate::fieldpath::split(path))
        .unwrap()
        .cloned()
}

#[test]
fn scalar_targets_keep_their_type() {
    let rs = run_text(
        "- source: {kind: ConfigMap, name: cfg, fieldPath: data.port}\n  targets:\n  - select: {kind: Deployment}\n    fieldPaths: [spec.template.spec.containers.0.ports.0.containerPort, metadata.labels.app]\n",
    )
    .unwrap();
    for r in &rs[1..] {
        assert_eq!(
            at(r, "spec.template.spec.containers.0.ports.0.containerPort"),
            Some(Value::Int(8080))
        );
        assert_eq!(
            at(r, "metadata.labels.app"),
            Some(Value::Str("8080".to_string()))
        );
    }
}

#[test]
fn select_by_labels_and_reject() {
    let rs = run_text(
        "- source: {kind: ConfigMap, fieldPath: data.image}\n  targets:\n  - select: {kind: Deployment, labelSelector: app=a}\n    fieldPaths: [spec.template.spec.containers.0.image]\n  - select: {kind: Deployment}\n    reject: [{name: web}]\n    fieldPaths: [spec.template.spec.containers.0.name]\n",
    )
    .unwrap();
    assert_eq!(
        at(&rs[1], "spec.template.spec.containers.0.image"),
        Some(Value::Str("nginx:1.27".into()))
    );
    assert_eq!(
        at(&rs[2], "spec.template.spec.containers.0.image"),
        Some(Value::Str("api:1".into()))
    );
    assert_eq!(
        at(&rs[1], "spec.template.spec.containers.0.name"),
        Some(Value::Str("web".into()))
    );
    assert_eq!(
        at(&rs[2], "spec.template.spec.containers.0.name"),
        Some(Value::Str("nginx:1.27".into()))
    );
    let rs = run_text(
        "- source: {kind: ConfigMap, fieldPath: data.port}\n  targets:\n  - select: {kind: Deployment}\n    reject: [{annotationSelector: skip=yes}]\n    fieldPaths: [metadata.name]\n",
    )
    .unwrap();
    assert_eq!(rs[1].name(), "web");
    assert_eq!(rs[2].name(), "8080");
}

#[test]
fn delimiters_on_source_and_target() {
    let rs = run_text(
        "- source: {kind: ConfigMap, fieldPath: data.list, options: {delimiter: ',', index: 1}}\n  targets:\n  - select: {name: web}\n    fieldPaths: [spec.template.spec.containers.0.image]\n    options: {delimiter: ':', index: 0}\n  - select: {name: api}\n    fieldPaths: [spec.template.spec.containers.0.image]\n    options: {delimiter: ':', index: -1}\n",
    )
    .unwrap();
    assert_eq!(
        at(&rs[1], "spec.template.spec.containers.0.image"),
        Some(Value::Str("b:1.25".into()))
    );
    assert_eq!(
        at(&rs[2], "spec.template.spec.containers.0.image"),
        Some(Value::Str("b:api:1".into()))
    );
    let e = run_text(
        "- source: {kind: ConfigMap, fieldPath: data.list, options: {delimiter: ',', index: 7}}\n  targets: [{select: {name: web}}]\n",
    )
    .unwrap_err();
    assert!(
        e.contains("options.index 7 is out of bounds for value a,b,c"),
        "{e}"
    );
    let e = run_text(
        "- source: {kind: ConfigMap, fieldPath: data, options: {delimiter: ','}}\n  targets: [{select: {name: web}}]\n",
    )
    .unwrap_err();
    assert!(
        e.contains("delimiter option can only be used with scalar nodes"),
        "{e}"
    );
    let e = run_text(
        "- source: {kind: ConfigMap, fieldPath: data.port}\n  targets: [{select: {name: web}, fieldPaths: [spec.template], options: {delimiter: ','}}]\n",
    )
    .unwrap_err();
    assert!(
        e.contains("delimiter option can only be used with scalar nodes"),
        "{e}"
    );
}

#[test]
fn create_makes_missing_fields_with_plain_resolution() {
    let rs = run_text(
        "- source: {kind: ConfigMap, fieldPath: data.port}\n  targets:\n  - select: {name: web}\n    fieldPaths: [spec.new.value, \"spec.list.[name=x].v\"]\n    options: {create: true}\n",
    )
    .unwrap();
    assert_eq!(at(&rs[1], "spec.new.value"), Some(Value::Int(8080)));
    assert_eq!(at(&rs[1], "spec.list.[name=x].v"), Some(Value::Int(8080)));
}

#[test]
fn errors_as_kustomize() {
    for (text, want) in [
        (
            "- targets: [{select: {name: web}}]\n",
            "replacements must specify a source and at least one target",
        ),
        (
            "- source: {kind: ConfigMap}\n",
            "replacements must specify a source and at least one target",
        ),
        (
            "- source: {kind: ConfigMap}\n  targets: [{fieldPaths: [a]}]\n",
            "target must specify resources to select",
        ),
        (
            "- source: {kind: Deployment}\n  targets: [{select: {name: web}}]\n",
            "multiple matches for selector Deployment.[noVer].[noGrp]/[noName].[noNs]",
        ),
        (
            "- source: {kind: Secret}\n  targets: [{select: {name: web}}]\n",
            "nothing selected by Secret",
        ),
        (
            "- source: {kind: ConfigMap, fieldPath: data.none}\n  targets: [{select: {name: web}}]\n",
            "fieldPath `data.none` is missing for replacement source",
        ),
        (
            "- source: {kind: ConfigMap, fieldPath: data.*}\n  targets: [{select: {name: web}}]\n",
            "error looking up replacement source: wildcard",
        ),
        (
            "- source: {kind: ConfigMap, fieldPath: data.port}\n  targets: [{select: {name: web}, fieldPaths: [spec.none]}]\n",
            "unable to find field \"spec.none\" in replacement target",
        ),
        (
            "- source: {kind: ConfigMap, fieldPath: data.port}\n  targets: [{select: {name: web}, fieldPaths: [spec.replicas.x], options: {create: true}}]\n",
            "unable to find or create field \"spec.replicas.x\" in replacement target: wrong node kind",
        ),
    ] {
        let e = run_text(text).expect_err(text);
        assert!(e.contains(want), "{text}: {e}");
        assert!(e.contains("replacement at k.yaml:0"), "{e}");
    }
}

#[test]
fn malformed_entries_are_refused_naming_the_field() {
    for (text, want) in [
        ("{}", "expected a list"),
        ("- 3", "replacements[0]: expected a mapping"),
        (
            "- path: a.yaml\n  source: {kind: X}\n",
            "cannot specify both path and inline replacement",
        ),
        (
            "- sourc: {}\n",
            "unknown field \"sourc\"; did you mean `source`?",
        ),
        (
            "- source: {knd: X}\n",
            "replacements[0].source: unknown field \"knd\"",
        ),
        (
            "- source: {kind: X, options: {delim: x}}\n",
            "replacements[0].source.options: unknown field",
        ),
        (
            "- source: {kind: X, options: {index: x}}\n",
            "index: expected an integer",
        ),
        (
            "- source: {kind: X, options: {create: 3}}\n",
            "create: expected true or false",
        ),
        ("- targets: 3\n", "replacements[0].targets: expected a list"),
        (
            "- targets: [{select: {kind: X}, reject: 3}]\n",
            "reject: expected a list",
        ),
        (
            "- targets: [{select: {kind: X, labelSelector: \"a in b\"}}]\n",
            "labelSelector: unable to parse requirement",
        ),
        (
            "- targets: [{select: {kind: X}, fieldPaths: [1]}]\n",
            "fieldPaths[0]: expected a string",
        ),
        (
            "- targets: [{selec: {kind: X}}]\n",
            "did you mean `select`?",
        ),
    ] {
        let e = inline(text).expect_err(text);
        assert!(e.contains(want), "{text}: {e}");
    }
    let too_many = "- {}\n".repeat(MAX_REPLACEMENTS + 1);
    assert!(inline(&too_many).unwrap_err().contains("more than"));
}

#[test]
fn files_hold_one_replacement_or_a_list_read_leniently() {
    let one = from_file(
        "source: {kind: ConfigMap, extra: ignored}\ntargets: [{select: {kind: X}}]\n",
        "r.yaml",
    )
    .unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].at, "r.yaml:1");
    let two = from_file("- source: {kind: A}\n- source: {kind: B}\n", "r.yaml").unwrap();
    assert_eq!(two.len(), 2);
    assert_eq!(two[1].at, "r.yaml:2");
    for (text, want) in [
        ("just text\n", "unsupported replacement type"),
        ("", "unsupported replacement type"),
        ("- 1\n", "r.yaml:1: replacement 0: expected a mapping"),
        ("a: [\n", "r.yaml:"),
    ] {
        let e = from_file(text, "r.yaml").expect_err(text);
        assert!(e.contains(want), "{text:?}: {e}");
    }
}

#[test]
fn scalar_targets_decode_the_new_text_by_their_old_tag() {
    let s = |t: &str| Value::Str(t.to_string());
    assert_eq!(decode_as(&Value::Int(3), "12"), Ok(Value::Int(12)));
    assert_eq!(
        decode_as(&Value::Spelled("0x10".into()), "12"),
        Ok(Value::Int(12))
    );
    assert_eq!(decode_as(&Value::Float(1.5), "12"), Ok(Value::Float(12.0)));
    assert_eq!(
        decode_as(&Value::Bool(false), "true"),
        Ok(Value::Bool(true))
    );
    assert_eq!(decode_as(&s("x"), "12"), Ok(s("12")));
    assert_eq!(
        decode_as(&Value::Timestamp("2001-01-01".into()), "2002-02-02"),
        Ok(Value::Timestamp("2002-02-02".into()))
    );
    for (like, text, want) in [
        (Value::Null, "12", "cannot decode !!int `12` as a !!null"),
        (Value::Int(1), "abc", "cannot decode !!str `abc` as a !!int"),
        (
            Value::Int(1),
            "2002-02-02",
            "cannot decode !!str `2002-02-02` as a !!int",
        ),
        (
            Value::Int(1),
            "1.5",
            "cannot decode !!float `1.5` as a !!int",
        ),
        (
            Value::Float(1.0),
            "true",
            "cannot decode !!bool `true` as a !!float",
        ),
        (
            Value::Timestamp("2001-01-01".into()),
            "12",
            "cannot decode !!int `12` as a !!timestamp",
        ),
    ] {
        let e = decode_as(&like, text).unwrap_err();
        assert!(e.contains(want), "{like:?} {text}: {e}");
    }
    let e = run_text(
        "- source: {kind: ConfigMap, fieldPath: data.image}\n  targets: [{select: {name: web}, fieldPaths: [spec.replicas]}]\n",
    )
    .unwrap_err();
    assert!(
        e.contains("cannot decode !!str `nginx:1.27` as a !!int"),
        "{e}"
    );
}

#[test]
fn field_paths_must_be_a_list() {
    let e = inline("- targets: [{select: {kind: X}, fieldPaths: a.b}]\n").unwrap_err();
    assert!(e.contains("fieldPaths: expected a list of strings"), "{e}");
}
