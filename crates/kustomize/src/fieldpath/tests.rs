use super::*;
use crate::value::from_node;

fn doc(text: &str) -> Value {
    let docs = ferroflux_api::yaml::parse_stream_raw(text).expect("yaml");
    from_node(docs[0].node.as_ref().expect("a document"))
}

fn parts(p: &str) -> Vec<String> {
    split(p)
}

const POD: &str = "spec:\n  containers:\n  - name: web\n    image: a\n  - name: web-sidecar\n    image: b\n  args: [x, y]\nmetadata:\n  annotations:\n    a.b/c: dotted\n";

#[test]
fn split_escapes_dots_and_keeps_brackets_whole() {
    assert_eq!(split("a.b.c"), ["a", "b", "c"]);
    assert_eq!(split("/a.b"), ["/a", "b"]);
    assert_eq!(
        split(r"metadata.annotations.a\.b/c"),
        ["metadata", "annotations", "a.b/c"]
    );
    assert_eq!(split("spec.[name=a.b].x"), ["spec", "[name=a.b]", "x"]);
    assert_eq!(split("spec.[a.b].x"), ["spec", "a.b", "x"]);
    assert_eq!(
        split_slice_indexes(split("ports[0].port")),
        ["ports", "0", "port"]
    );
    assert_eq!(split_slice_indexes(vec!["[1]".to_string()]), ["1"]);
    assert_eq!(split_slice_indexes(vec!["a[x]".to_string()]), ["a[x]"]);
}

#[test]
fn lookup_reads_fields_indexes_and_list_selectors() {
    let v = doc(POD);
    let get = |p: &str| lookup(&v, &parts(p)).expect(p).and_then(Value::scalar_text);
    assert_eq!(
        get("spec.containers.[name=web].image").as_deref(),
        Some("a")
    );
    assert_eq!(get("spec.containers.1.image").as_deref(), Some("b"));
    assert_eq!(
        get("spec.containers.-.name").as_deref(),
        Some("web-sidecar")
    );
    assert_eq!(get("spec.args.[=y]").as_deref(), Some("y"));
    assert_eq!(
        get(r"metadata.annotations.a\.b/c").as_deref(),
        Some("dotted")
    );
    assert_eq!(get("spec.containers.5.image"), None);
    assert_eq!(get("spec.nothing.deeper"), None);
    // PathGetter matches list selectors exactly.
    assert_eq!(get("spec.containers.[name=we].image"), None);
}

#[test]
fn lookup_errors_as_kyaml() {
    let v = doc(POD);
    for (p, want) in [
        ("spec.containers.-1", "cannot be negative"),
        ("spec.containers.*.image", "wildcard is not supported"),
        (
            "spec.containers.[name].image",
            "must contain fieldName=fieldValue",
        ),
        (
            "spec.containers.name",
            "expected MappingNode but got SequenceNode",
        ),
        ("spec.0", "expected SequenceNode but got MappingNode"),
        (
            "spec.containers.[name=web].image.x",
            "expected MappingNode but got ScalarNode",
        ),
    ] {
        let e = lookup(&v, &parts(p)).expect_err(p);
        assert!(e.contains(want), "{p}: {e}");
    }
    let long = vec!["a".to_string(); MAX_PARTS + 1];
    assert!(lookup(&v, &long).is_err());
}

#[test]
fn matches_uses_unanchored_patterns_and_wildcards() {
    let mut v = doc(POD);
    let found = matches(&mut v, &parts("spec.containers.[name=web].image"), None).unwrap();
    assert_eq!(found.len(), 2, "web and web-sidecar both match `web`");
    let found = matches(&mut v, &parts("spec.containers.*.name"), None).unwrap();
    assert_eq!(found.len(), 2);
    let found = matches(&mut v, &parts("spec.containers.[name=^web$].image"), None).unwrap();
    assert_eq!(found.len(), 1);
    let found = matches(&mut v, &parts("spec.missing.x"), None).unwrap();
    assert!(found.is_empty());
}

#[test]
fn matches_creates_fields_list_elements_and_appends() {
    let mut v = doc(POD);
    {
        let found = matches(
            &mut v,
            &parts("spec.new.[name=x].value"),
            Some(Create::Scalar),
        )
        .unwrap();
        assert_eq!(found.len(), 1);
        assert!(found[0].created);
    }
    let made = lookup(&v, &parts("spec.new.[name=x]")).unwrap().unwrap();
    assert_eq!(
        made.get("name").and_then(Value::scalar_text).as_deref(),
        Some("x")
    );
    {
        let found = matches(&mut v, &parts("spec.args.2"), Some(Create::Scalar)).unwrap();
        assert_eq!(found.len(), 1, "index == length appends");
    }
    let e = matches(&mut v, &parts("spec.args.9"), Some(Create::Scalar))
        .err()
        .unwrap();
    assert!(
        e.contains("index 9 specified but only 3 elements found"),
        "{e}"
    );
}

#[test]
fn matches_errors_name_the_problem() {
    let mut v = doc(POD);
    for (p, want) in [
        (
            "spec.containers.[name=(].image",
            "not a valid regular expression",
        ),
        (
            "spec.containers.[name].image",
            "must contain fieldName=fieldValue",
        ),
        (
            "spec.containers.0.image.x",
            "expected MappingNode but got ScalarNode",
        ),
        ("spec.*", "expected SequenceNode but got MappingNode"),
        (
            "spec.containers.0.[a=b]",
            "expected SequenceNode but got MappingNode",
        ),
        ("spec.0", "expected SequenceNode but got MappingNode"),
    ] {
        let e = matches(&mut v, &parts(p), None).err().expect(p);
        assert!(e.contains(want), "{p}: {e}");
    }
    let long = vec!["a".to_string(); MAX_PARTS + 1];
    assert!(matches(&mut v, &long, None).is_err());
}

#[test]
fn matches_bounds_what_one_path_reaches() {
    let mut v = Value::Map(Map(vec![(
        "a".to_string(),
        Value::Seq(vec![Value::Int(1); MAX_MATCHES + 1]),
    )]));
    let path = parts("a.*");
    let e = matches(&mut v, &path, None).err().expect("too many");
    assert!(e.contains("more than"), "{e}");
}
