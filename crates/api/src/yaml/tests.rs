use super::*;

fn one(src: &str) -> Node {
    let docs = parse_stream(src).unwrap();
    assert_eq!(docs.len(), 1, "{docs:?}");
    docs.into_iter().next().unwrap().node.unwrap()
}

#[test]
fn keeps_lines_of_keys_and_values() {
    let node = one("# c\napiVersion: v1\nkind: X\nspec:\n  a:\n    - b: 1\n      c: two\n");
    assert_eq!(node.line_of(&["kind".into()]), 3);
    let path: Vec<String> = ["spec", "a", "0", "c"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(node.line_of(&path), 7);
    assert_eq!(node.at("spec.a.0.c").unwrap().as_str(), Some("two"));
    // a missing field points at its parent
    let missing: Vec<String> = ["spec", "nope"].iter().map(|s| s.to_string()).collect();
    assert_eq!(node.line_of(&missing), 4);
}

#[test]
fn resolves_core_schema_scalars() {
    let node =
        one("a: 1\nb: '1'\nc: true\nd: ~\ne: 1.5\nf: 1.10.0\ng: 0x1F\nh: yes\ni: -3\nj: 1e3\n");
    let json = node.to_json();
    assert_eq!(json["a"], 1);
    assert_eq!(json["b"], "1");
    assert_eq!(json["c"], true);
    assert!(json["d"].is_null());
    assert_eq!(json["e"], 1.5);
    assert_eq!(json["f"], "1.10.0");
    assert_eq!(json["g"], 31);
    assert_eq!(json["h"], "yes");
    assert_eq!(json["i"], -3);
    assert_eq!(json["j"], 1000.0);
}

#[test]
fn splits_documents_and_keeps_their_lines() {
    let docs = parse_stream("a: 1\n---\n# only a comment\n---\nb: 2\n").unwrap();
    assert_eq!(docs.len(), 3);
    assert!(docs[1].node.is_none());
    assert_eq!(docs[2].node.as_ref().unwrap().line, 5);
}

#[test]
fn anchors_aliases_and_merge_keys() {
    let node = one("base: &b\n  x: 1\n  y: 2\nother:\n  <<: *b\n  y: 3\nref: *b\n");
    let json = node.to_json();
    assert_eq!(json["other"]["x"], 1);
    assert_eq!(json["other"]["y"], 3);
    assert_eq!(json["ref"]["y"], 2);
}

#[test]
fn duplicate_keys_are_errors_with_a_line() {
    let err = parse_stream("a: 1\nb: 2\na: 3\n").unwrap_err();
    assert_eq!(err.line, 3);
    assert!(err.message.contains("duplicate key \"a\""), "{err}");
}

#[test]
fn backslash_d_in_double_quotes_names_the_fix() {
    let err = parse_stream("spec:\n  pattern: \"^v\\d+$\"\n").unwrap_err();
    assert_eq!(err.line, 2, "{err}");
    assert!(err.message.contains("`\\\\d`"), "{err}");
    assert!(err.message.contains("single quotes"), "{err}");
}

#[test]
fn stream_starting_with_document_end_is_an_error() {
    assert!(parse_stream("...\nspec:\n  a: 1\n...\n").is_err());
}

/// Ten nested anchors of ten aliases each: 10^10 nodes if expanded.
pub(crate) fn alias_bomb() -> String {
    let mut src = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let prev = format!("*a{}", i - 1);
        let items = [prev.as_str(); 10].join(", ");
        src.push_str(&format!("a{i}: &a{i} [{items}]\n"));
    }
    src
}

#[test]
fn alias_bomb_is_refused_with_its_line() {
    let src = alias_bomb();
    assert!(src.len() < 1024, "{}", src.len());
    let err = parse_stream(&src).unwrap_err();
    assert!(
        err.message.contains("excessive aliasing") && err.message.contains("limit 100000"),
        "{err}"
    );
    // a4's ten aliases of a3 bring 111,110 nodes: the budget runs out on line 5.
    assert_eq!(err.line, 5, "{err}");
}

#[test]
fn moderate_aliasing_is_fine() {
    let node = one("a: &a [x, x, x]\nb: &b [*a, *a, *a]\nc: [*b, *b]\n");
    assert_eq!(node.to_json()["c"][1][2][0], "x");
}

#[test]
fn long_aliased_text_is_refused() {
    let long = "y".repeat(1 << 20);
    let aliases = ["*s"; 17].join(", ");
    let src = format!("s: &s {long}\nt: [{aliases}]\n");
    let err = parse_stream(&src).unwrap_err();
    assert!(err.message.contains("bytes of text expanded"), "{err}");
    assert_eq!(err.line, 2);
}

#[test]
fn deep_nesting_is_refused() {
    let nested = |levels: usize| -> String {
        (0..levels)
            .map(|i| format!("{}k:\n", " ".repeat(i)))
            .collect()
    };
    let err = parse_stream(&nested(300)).unwrap_err();
    assert!(err.message.contains("deeper than 256"), "{err}");
    assert_eq!(err.line, 257, "{err}");
    assert!(parse_stream(&nested(200)).is_ok());
}

#[test]
fn aliases_cannot_stack_nesting_past_the_limit() {
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let src = format!("a: &d {deep}\nb: {}*d{}\n", "[".repeat(60), "]".repeat(60));
    let err = parse_stream(&src).unwrap_err();
    assert!(err.message.contains("deeper than 256"), "{err}");
    assert_eq!(err.line, 2);
}

#[test]
fn oversized_document_and_stream_are_refused() {
    let big = format!("a: {}\n", "z".repeat(MAX_DOCUMENT_CHARS));
    let err = parse_stream(&big).unwrap_err();
    assert!(err.message.contains("longer than"), "{err}");
    let huge = "#".repeat(MAX_STREAM_BYTES + 1);
    let err = parse_stream(&huge).unwrap_err();
    assert!(err.message.contains("more than the"), "{err}");
}

#[test]
fn many_keys_load_without_quadratic_time() {
    let src: String = (0..50_000).map(|i| format!("k{i}: {i}\n")).collect();
    let node = one(&src);
    assert_eq!(node.to_json()["k49999"], 49999);
}

/// YAML built from anchors, aliases, merges and nesting.
fn anchored_yaml() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let item = prop_oneof![
        Just("x".to_string()),
        (0..4u8).prop_map(|i| format!("*a{i}")),
        (0..4u8).prop_map(|i| format!("&a{i} [y, z]")),
        (0..4u8).prop_map(|i| format!("&a{i} {{k: v}}")),
        (0..4u8).prop_map(|i| format!("{{<<: *a{i}, k: w}}")),
    ];
    proptest::collection::vec(proptest::collection::vec(item, 0..6), 0..12).prop_map(|lines| {
        lines
            .iter()
            .enumerate()
            .map(|(i, items)| format!("k{i}: &a{} [{}]\n", i % 4, items.join(", ")))
            .collect()
    })
}

proptest::proptest! {
    #[test]
    fn never_panics_on_anchors_and_aliases(src in anchored_yaml()) {
        if let Ok(docs) = parse_stream(&src) {
            for doc in docs.iter().filter_map(|d| d.node.as_ref()) {
                let c = cost(doc);
                proptest::prop_assert!(c.height <= MAX_DEPTH + 1);
                proptest::prop_assert!(c.nodes <= MAX_ALIAS_NODES + src.len() * 2 + 2);
            }
        }
    }

    #[test]
    fn never_panics_on_garbage(s in "\\PC{0,200}") {
        let _ = parse_stream(&s);
    }

    #[test]
    fn never_panics_on_truncated_manifests(cut in 0usize..400) {
        let src = "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: a\n  namespace: b\nspec:\n  imageRepositoryRef:\n    name: a\n  filterTags:\n    pattern: '^v(?P<v>.*)$'\n    extract: '$v'\n  policy:\n    semver:\n      range: \">=1.0.0\"\n---\n- [a, {b: c}]\n- &x y\n- *x\n";
        let cut = cut.min(src.len());
        if src.is_char_boundary(cut) {
            let _ = parse_stream(&src[..cut]);
        }
    }
}

#[test]
fn raw_scalars_keep_their_text_and_say_whether_they_were_quoted() {
    let docs = parse_stream_raw("a: 0777\nb: '1'\nc: !!str 2\nd: |\n  x\n---\n~\n").unwrap();
    assert_eq!(docs.len(), 2);
    let node = docs[0].node.as_ref().unwrap();
    let text = |k: &str| match &node.get(k).unwrap().value {
        Value::Str { text, quoted } => (text.clone(), *quoted),
        other => panic!("{other:?}"),
    };
    assert_eq!(text("a"), ("0777".to_string(), false));
    assert_eq!(text("b"), ("1".to_string(), true));
    assert_eq!(text("c"), ("2".to_string(), true));
    assert_eq!(text("d"), ("x\n".to_string(), true));
    assert!(docs[1].node.is_none(), "a document holding only ~ is empty");
}

#[test]
fn last_key_wins_replaces_a_repeated_key_where_the_strict_parse_fails() {
    let src = "a: 1\nb: 2\na: 3\n";
    assert!(parse_stream_raw(src).is_err());
    let docs = parse_stream_raw_last_key_wins(src).unwrap();
    let Value::Map(entries) = &docs[0].node.as_ref().unwrap().value else {
        panic!("a mapping")
    };
    let keys: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(keys, ["b", "a"]);
    assert_eq!(entries[1].key_line, 3);
}

#[test]
fn entries_say_whether_their_key_was_quoted() {
    let docs = parse_stream_raw("1: a\n\"2\": b\n'x': c\ny: d\n").unwrap();
    let Value::Map(entries) = &docs[0].node.as_ref().unwrap().value else {
        panic!("a mapping")
    };
    let quoted: Vec<bool> = entries.iter().map(|e| e.key_quoted).collect();
    assert_eq!(quoted, [false, true, true, false]);
}

#[test]
fn sized_parse_raises_the_size_budgets_only() {
    let big = format!("a: {}\n", "z".repeat(MAX_DOCUMENT_CHARS));
    assert!(parse_stream_raw(&big).is_err());
    let docs = parse_stream_raw_sized(&big, false, 8 << 20).expect("fits the raised budget");
    assert_eq!(docs.len(), 1);
    let err = parse_stream_raw_sized(&big, false, 1 << 20).unwrap_err();
    assert!(
        err.message.contains("more than the 1048576 bytes"),
        "{}",
        err.message
    );
    // A stream of several documents within the raised budget.
    let doc = "z".repeat(2 << 20);
    let docs = parse_stream_raw_sized(&format!("a: 1\n---\nb: {doc}\n"), false, 3 << 20)
        .expect("two documents");
    assert_eq!(docs.len(), 2);
    // Depth is not raised.
    let deep = format!(
        "{}{}",
        "[".repeat(MAX_DEPTH + 10),
        "]".repeat(MAX_DEPTH + 10)
    );
    assert!(parse_stream_raw_sized(&deep, false, 8 << 20).is_err());
    // A repeated key: refused, or the last kept.
    assert!(parse_stream_raw_sized("a: 1\na: 2\n", false, 1 << 20).is_err());
    let docs = parse_stream_raw_sized("a: 1\na: 2\n", true, 1 << 20).expect("last wins");
    assert_eq!(
        docs[0]
            .node
            .as_ref()
            .and_then(|n| n.get("a"))
            .and_then(|n| n.as_str()),
        Some("2")
    );
}

#[test]
fn base_60_floats_are_yaml_v3s_pattern_exactly() {
    for yes in ["1:20", "-1:20", "190:20:30.15", "1_0:5:9.", "+3:59.5_0"] {
        assert!(super::is_base60_float(yes), "{yes}");
    }
    for no in [
        "1:70",
        "a:1",
        "1:60",
        "1.5:30",
        "1:20.x",
        "6.Fz/#J;fuf\"Fg\"pg:&",
        "12",
        "",
        "1:",
    ] {
        assert!(!super::is_base60_float(no), "{no}");
    }
}
