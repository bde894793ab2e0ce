use super::*;
use crate::value::from_node;
use ferroflux_api::yaml;

fn v(text: &str) -> Value {
    let docs = yaml::parse_stream_raw(text).expect("yaml");
    from_node(docs[0].node.as_ref().expect("a document"))
}

fn merged(dest: &str, patch: &str) -> Value {
    merge(schema::builtin(), &v(dest), &v(patch))
        .expect("merges")
        .expect("kept")
}

const DEP: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: a
        image: a:1
      - name: b
        image: b:1
";

#[test]
fn the_schema_knows_merge_keys_and_strategies() {
    let t = schema::builtin();
    let dep = t.for_type("apps/v1", "Deployment").expect("Deployment");
    let spec = dep.field(t, "spec").and_then(|s| s.field(t, "template"));
    let pod = spec.and_then(|s| s.field(t, "spec")).expect("pod spec");
    let containers = pod.field(t, "containers").expect("containers");
    assert!(containers.is_associative());
    assert_eq!(containers.strategy_and_keys().1, ["name".to_string()]);
    let ports = containers
        .elements(t)
        .and_then(|c| c.field(t, "ports"))
        .expect("ports");
    assert_eq!(
        ports.strategy_and_keys().1,
        ["containerPort".to_string(), "protocol".to_string()]
    );
    let volumes = pod.field(t, "volumes").expect("volumes");
    assert_eq!(volumes.strategy_and_keys().0, "merge,retainKeys");
    // Tolerations have no strategy: replaced whole.
    assert!(
        !pod.field(t, "tolerations")
            .expect("tolerations")
            .is_associative()
    );
    assert!(t.for_type("example.com/v1", "Widget").is_none());
}

#[test]
fn elements_merge_by_key_and_new_ones_go_first() {
    let out = merged(
        DEP,
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: b
        image: b:2
      - name: c
        image: c:1
",
    );
    let containers = out
        .get("spec")
        .and_then(|s| s.get("template"))
        .and_then(|s| s.get("spec"))
        .and_then(|s| s.get("containers"))
        .cloned()
        .expect("containers");
    let Value::Seq(items) = containers else {
        panic!("a list")
    };
    let names: Vec<String> = items
        .iter()
        .map(|i| {
            i.get("name")
                .and_then(Value::scalar_text)
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(names, ["b", "c", "a"]);
    assert_eq!(
        items[0]
            .get("image")
            .and_then(Value::scalar_text)
            .as_deref(),
        Some("b:2")
    );
}

#[test]
fn null_deletes_and_delete_directive_removes_the_object() {
    let out = merged("a: 1\nb: {c: 1, d: 2}\n", "a: null\nb: {c: null}\n");
    assert_eq!(out, v("b: {d: 2}\n"));
    assert_eq!(
        merge(schema::builtin(), &v(DEP), &v("$patch: delete\n")).expect("merges"),
        None
    );
    let out = merged("a: {x: 1, y: 2}\n", "a: {$patch: replace, z: 3}\n");
    assert_eq!(out, v("a: {z: 3}\n"));
}

#[test]
fn lists_without_a_schema_are_replaced() {
    let out = merged(
        "apiVersion: example.com/v1\nkind: W\nspec: {l: [1, 2], m: {a: 1}}\n",
        "spec: {l: [3], m: {b: 2}}\n",
    );
    assert_eq!(
        out,
        v("apiVersion: example.com/v1\nkind: W\nspec: {l: [3], m: {a: 1, b: 2}}\n")
    );
}

#[test]
fn an_unknown_directive_is_an_error_with_the_path() {
    let e = merge(schema::builtin(), &v(DEP), &v("spec: {$patch: frob}\n")).expect_err("unknown");
    assert_eq!(e.message, "unknown patch strategy 'frob'");
    assert_eq!(e.path, "spec");
    let e = merge(
        schema::builtin(),
        &v(DEP),
        &v("spec: {template: {spec: {containers: [{$patch: frob}]}}}\n"),
    )
    .expect_err("unknown list directive");
    assert_eq!(e.message, "unknown patch strategy 'frob'");
}

#[test]
fn a_map_patched_with_a_scalar_is_an_error() {
    let e = merge(schema::builtin(), &v(DEP), &v("spec: {template: 5}\n")).expect_err("wrong kind");
    assert_eq!(
        e.message,
        "wrong node kind: expected MappingNode but got ScalarNode"
    );
    assert_eq!(e.path, "spec.template");
    assert!(e.to_string().contains("(at spec.template)"), "{e}");
}

#[test]
fn deep_nesting_is_refused() {
    let mut deep = Value::Int(1);
    for _ in 0..(MAX_DEPTH + 10) {
        deep = Value::Map(crate::value::Map(vec![("a".to_string(), deep)]));
    }
    let e = merge(schema::builtin(), &deep, &deep).expect_err("too deep");
    assert!(e.message.contains("deeper than"), "{e}");
}

#[test]
fn long_merged_lists_are_refused() {
    let items: Vec<Value> = (0..=MAX_LIST)
        .map(|i| {
            Value::Map(crate::value::Map(vec![(
                "name".to_string(),
                Value::Str(format!("c{i}")),
            )]))
        })
        .collect();
    let mut dest = v(DEP);
    let patch = v("spec: {template: {spec: {containers: []}}}\n");
    if let Some(Value::Map(m)) = dest
        .as_map_mut()
        .and_then(|m| m.get_mut("spec"))
        .and_then(|s| s.as_map_mut())
        .and_then(|m| m.get_mut("template"))
        .and_then(|s| s.as_map_mut())
        .and_then(|m| m.get_mut("spec"))
    {
        m.insert("containers", Value::Seq(items));
    }
    let e = merge(schema::builtin(), &dest, &patch).expect_err("too long");
    assert!(e.message.contains("longer than"), "{e}");
}

#[test]
fn primitive_merge_lists_put_the_patch_first() {
    let out = merged(
        "apiVersion: v1\nkind: Service\nmetadata: {name: s, finalizers: [x, y]}\n",
        "metadata: {finalizers: [z, x]}\n",
    );
    assert_eq!(
        out.get("metadata").and_then(|m| m.get("finalizers")),
        Some(&v("[z, x, y]\n"))
    );
}
