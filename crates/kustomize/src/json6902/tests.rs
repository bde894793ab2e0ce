use super::*;

fn v(text: &str) -> Value {
    let docs = yaml::parse_stream_raw(text).expect("yaml");
    from_node(docs[0].node.as_ref().expect("a document"))
}

fn run(doc: &str, ops: &str) -> Result<Value, String> {
    let mut d = v(doc);
    apply(&mut d, &decode(ops)?)?;
    Ok(d)
}

#[test]
fn every_operation_applies() {
    let out = run(
        "a: {b: [1, 2]}\nc: x\n",
        r#"[
          {"op": "add", "path": "/a/b/-", "value": 3},
          {"op": "add", "path": "/a/b/0", "value": 0},
          {"op": "remove", "path": "/a/b/-1"},
          {"op": "replace", "path": "/c", "value": "y"},
          {"op": "copy", "from": "/c", "path": "/d~1e"},
          {"op": "move", "from": "/a/b", "path": "/f"},
          {"op": "test", "path": "/f/1", "value": 1},
          {"op": "replace", "path": "/new", "value": 7}
        ]"#,
    )
    .expect("applies");
    assert_eq!(out, v("a: {}\nc: y\nd/e: y\nf: [0, 1, 2]\nnew: 7\n"));
}

#[test]
fn yaml_operations_decode_too() {
    let out = run("a: 1\n", "- op: remove\n  path: /a\n").expect("applies");
    assert_eq!(out, v("{}\n"));
    assert_eq!(decode("null\n").expect("null is no operation"), Vec::new());
}

#[test]
fn decoding_errors() {
    assert_eq!(decode(""), Err("empty json patch operations".to_string()));
    assert!(
        decode("{op: add}")
            .unwrap_err()
            .contains("cannot unmarshal object")
    );
    assert!(
        decode("[1]")
            .unwrap_err()
            .contains("cannot unmarshal number")
    );
    assert!(decode("[").is_err());
    let many = format!("[{}]", vec!["{}"; MAX_OPS + 1].join(","));
    assert!(decode(&many).unwrap_err().contains("more than"));
}

#[test]
fn operation_errors() {
    let doc = "a: {b: [1]}\n";
    let cases = [
        (r#"[{"op": "frob", "path": "/a"}]"#, "Unexpected kind: frob"),
        (r#"[{"op": "add"}]"#, "add operation failed to decode path"),
        (
            r#"[{"op": "add", "path": "/x/y", "value": 1}]"#,
            "doc is missing path",
        ),
        (
            r#"[{"op": "add", "path": "/a/b/5", "value": 1}]"#,
            "invalid index",
        ),
        (
            r#"[{"op": "add", "path": "/a/b/x", "value": 1}]"#,
            "not a proper array index",
        ),
        (
            r#"[{"op": "remove", "path": "/a/zz"}]"#,
            "unable to remove nonexistent key",
        ),
        (r#"[{"op": "remove", "path": "/a/b/3"}]"#, "invalid index"),
        (
            r#"[{"op": "replace", "path": "/a/b/3", "value": 1}]"#,
            "doc is missing key",
        ),
        (
            r#"[{"op": "replace", "path": "", "value": 1}]"#,
            "must be an object",
        ),
        (
            r#"[{"op": "move", "from": "/zz", "path": "/y"}]"#,
            "unable to remove",
        ),
        (
            r#"[{"op": "move", "path": "/y"}]"#,
            "move operation failed to decode from",
        ),
        (
            r#"[{"op": "copy", "from": "/a/b/9", "path": "/y"}]"#,
            "error in copy",
        ),
        (
            r#"[{"op": "test", "path": "/a/b/0", "value": 2}]"#,
            "testing value /a/b/0 failed",
        ),
        (
            r#"[{"op": "test", "path": "", "value": 2}]"#,
            "testing value  failed",
        ),
    ];
    for (ops, want) in cases {
        let e = run(doc, ops).expect_err(ops);
        assert!(e.contains(want), "{ops}: {e}");
    }
}

#[test]
fn test_passes_for_equal_json_and_missing_keys_against_null() {
    run(
        "a: {x: 1.0, y: [true]}\n",
        r#"[{"op": "test", "path": "/a", "value": {"y": [true], "x": 1}}]"#,
    )
    .expect("numbers by value, keys in any order");
    run(
        "a: {}\n",
        r#"[{"op": "test", "path": "/a/missing", "value": null}]"#,
    )
    .expect("a missing key tests equal to null");
}

#[test]
fn pointers_and_copies_are_bounded() {
    let deep = format!("/{}", vec!["a"; MAX_POINTER_DEPTH + 1].join("/"));
    let ops = format!(r#"[{{"op": "add", "path": "{deep}", "value": 1}}]"#);
    assert!(run("a: 1\n", &ops).unwrap_err().contains("tokens"));
    // Doubling a list by copies grows past the bound quickly.
    let mut ops = vec![r#"{"op": "add", "path": "/l", "value": [0,0,0,0,0,0,0,0]}"#.to_string()];
    for i in 0..40 {
        ops.push(format!(
            r#"{{"op": "copy", "from": "/l", "path": "/l/{}"}}"#,
            i % 2
        ));
    }
    let e = run("a: 1\n", &format!("[{}]", ops.join(","))).expect_err("bounded");
    assert!(e.contains("copy operations add more than"), "{e}");
}

#[test]
fn tokens_unescape_as_rfc_6901_says() {
    assert_eq!(decode_token("a~1b~0c"), "a/b~c");
    assert_eq!(decode_token("~01"), "~1");
    assert_eq!(decode_token("~x"), "~x");
}

#[test]
fn normalizing_drops_spellings() {
    let mut d = v("a: 0x1F\nb: 2001-12-14\nc: [True]\n");
    normalize(&mut d);
    assert_eq!(
        d,
        Value::Map(crate::value::Map(vec![
            ("a".to_string(), Value::Int(31)),
            (
                "b".to_string(),
                Value::Str("2001-12-14T00:00:00Z".to_string())
            ),
            ("c".to_string(), Value::Seq(vec![Value::Bool(true)])),
        ]))
    );
}
