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

proptest::proptest! {
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
