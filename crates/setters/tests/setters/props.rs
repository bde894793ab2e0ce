//! Property tests: on any input the rewrite never panics, either reports an
//! error or changes only marked values (every other byte identical), and is
//! idempotent.

use ferroflux_setters::{FileOutcome, LatestRef, Policies, rewrite_file};
use proptest::prelude::*;

fn policies() -> Policies {
    let mut p = Policies::new();
    let mut add = |name: &str, image: &str, tag: &str, digest: &str| {
        p.insert(
            "ns",
            name,
            LatestRef {
                name: image.into(),
                tag: tag.into(),
                digest: digest.into(),
            },
        );
    };
    add("app", "ghcr.io/org/app", "1.2.3", "");
    add("num", "app", "1.10", "");
    add("dig", "app", "v1", "sha256:abc");
    add("odd", "a'b\"c", "yes", "");
    p
}

fn setter() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("ns:app"),
        Just("ns:app:tag"),
        Just("ns:num:tag"),
        Just("ns:dig"),
        Just("ns:dig:digest"),
        Just("ns:app:digest"),
        Just("ns:odd"),
        Just("ns:odd:name"),
        Just("other:app"),
    ]
    .prop_map(str::to_string)
}

fn comment() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => setter().prop_map(|s| format!(" # {{\"$imagepolicy\": \"{s}\"}}")),
        1 => setter().prop_map(|s| format!("\t#{{\"$imagepolicy\":\"{s}\"}}")),
        1 => Just(" # {\"$imagepolicy\": broken}".to_string()),
        1 => Just(" # plain comment é".to_string()),
        2 => Just(String::new()),
    ]
}

fn value() -> impl Strategy<Value = String> {
    let text = "[a-z0-9.:/é-]{0,8}";
    prop_oneof![
        text.prop_map(|t| if t.is_empty() { "x".to_string() } else { t }),
        text.prop_map(|t| format!("'{t}'")),
        text.prop_map(|t| format!("\"{t}\"")),
        Just("&a !!str v".to_string()),
        Just("{k: v}".to_string()),
        Just("[a, b]".to_string()),
        Just("1.0".to_string()),
    ]
}

fn line() -> impl Strategy<Value = String> {
    let indent = prop_oneof![Just(""), Just("  "), Just("    ")];
    prop_oneof![
        4 => (indent.clone(), "[a-z]{1,5}", value(), comment())
            .prop_map(|(i, k, v, c)| format!("{i}{k}: {v}{c}")),
        2 => (indent.clone(), value(), comment()).prop_map(|(i, v, c)| format!("{i}- {v}{c}")),
        1 => (indent.clone(), "[a-z]{1,5}", comment()).prop_map(|(i, k, c)| format!("{i}{k}:{c}")),
        1 => (indent.clone(), comment()).prop_map(|(i, c)| format!("{i}p: |\n{i}  image: x{c}")),
        1 => comment().prop_map(|c| format!("#{c}")),
        1 => Just("---".to_string()),
        1 => Just(String::new()),
        1 => "\\PC{0,12}",
    ]
}

fn document() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(line(), 0..12),
        prop_oneof![Just("\n"), Just("\r\n")],
        any::<bool>(),
    )
        .prop_map(|(lines, eol, bom)| {
            let body = lines.join(eol) + eol;
            if bom { format!("\u{feff}{body}") } else { body }
        })
}

/// Checks one outcome against its input: edits are sorted, disjoint, each
/// followed on its line by a marker, and splicing them reproduces the output.
fn check(input: &[u8], out: &FileOutcome) {
    let mut rebuilt = Vec::new();
    let mut at = 0;
    for e in &out.edits {
        assert!(e.range.start >= at, "edits overlap or are unsorted");
        rebuilt.extend_from_slice(&input[at..e.range.start]);
        rebuilt.extend_from_slice(e.replacement.as_bytes());
        at = e.range.end;
        let rest = &input[e.range.end..];
        let line_end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let rest = String::from_utf8_lossy(&rest[..line_end]);
        assert!(
            rest.contains("\"$imagepolicy\""),
            "edit not on a marked line: {rest:?}"
        );
    }
    rebuilt.extend_from_slice(&input[at..]);
    match &out.updated {
        Some(updated) => assert_eq!(&rebuilt, updated),
        None => assert!(out.edits.is_empty()),
    }
    assert_eq!(out.edits.len(), out.changes().count());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn yaml_like_inputs(input in document()) {
        let policies = policies();
        if let Ok(out) = rewrite_file("p.yaml", input.as_bytes(), &policies) {
            check(input.as_bytes(), &out);
            if let Some(updated) = &out.updated {
                let again = rewrite_file("p.yaml", updated, &policies)
                    .expect("a rewritten file still parses");
                prop_assert!(again.updated.is_none(), "not idempotent: {:?}", String::from_utf8_lossy(updated));
                prop_assert_eq!(again.diagnostics.len(), out.diagnostics.len());
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        head in prop::collection::vec(any::<u8>(), 0..64),
        tail in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut input = head;
        input.extend_from_slice(b"x: y # {\"$imagepolicy\": \"ns:app\"}\n");
        input.extend_from_slice(&tail);
        if let Ok(out) = rewrite_file("b.yaml", &input, &policies()) {
            check(&input, &out);
        }
    }
}

/// The generator must exercise the interesting paths, or the properties
/// above prove little: changes, diagnostics and parse errors all occur.
#[test]
fn generator_covers_changes_diagnostics_and_errors() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let (mut changed, mut diagnosed, mut failed) = (0, 0, 0);
    for _ in 0..1000 {
        let input = document().new_tree(&mut runner).expect("sample").current();
        match rewrite_file("p.yaml", input.as_bytes(), &policies()) {
            Ok(out) => {
                changed += usize::from(out.updated.is_some());
                diagnosed += usize::from(!out.diagnostics.is_empty());
            }
            Err(_) => failed += 1,
        }
    }
    assert!(changed > 50, "only {changed} of 1000 samples changed");
    assert!(
        diagnosed > 50,
        "only {diagnosed} of 1000 samples had diagnostics"
    );
    assert!(failed > 50, "only {failed} of 1000 samples failed to parse");
}
