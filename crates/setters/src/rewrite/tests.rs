use super::*;
use crate::policy::LatestRef;

const M: &str = r#"{"$imagepolicy": "ns:app"}"#;

fn policies() -> Policies {
    let mut p = Policies::new();
    p.insert(
        "ns",
        "app",
        LatestRef {
            name: "ghcr.io/org/app".into(),
            tag: "1.2.3".into(),
            digest: String::new(),
        },
    );
    p.insert(
        "ns",
        "num",
        LatestRef {
            name: "app".into(),
            tag: "1.10".into(),
            digest: String::new(),
        },
    );
    p
}

fn run(input: &str) -> (String, FileOutcome) {
    let out = rewrite_file("f.yaml", input.as_bytes(), &policies()).expect("parses");
    let text = match &out.updated {
        Some(b) => String::from_utf8(b.clone()).expect("utf-8"),
        None => input.to_string(),
    };
    (text, out)
}

#[test]
fn rewrites_only_the_value_bytes() {
    let cases: Vec<(String, String)> = vec![
        // plain, single and double quotes keep their style
        (
            format!("image: a:1 # {M}\n"),
            format!("image: ghcr.io/org/app:1.2.3 # {M}\n"),
        ),
        (
            format!("image: 'a:1' # {M}\n"),
            format!("image: 'ghcr.io/org/app:1.2.3' # {M}\n"),
        ),
        (
            format!("image: \"a:1\" # {M}\n"),
            format!("image: \"ghcr.io/org/app:1.2.3\" # {M}\n"),
        ),
        // CRLF, tabs before the comment, BOM
        (
            format!("a: b\r\nimage: a:1\t# {M}\r\n"),
            format!("a: b\r\nimage: ghcr.io/org/app:1.2.3\t# {M}\r\n"),
        ),
        (
            format!("\u{feff}image: a:1 # {M}\n"),
            format!("\u{feff}image: ghcr.io/org/app:1.2.3 # {M}\n"),
        ),
        // non-ASCII before and around
        (
            format!("# ✓ ö\né: ü # {M}\n"),
            format!("# ✓ ö\né: ghcr.io/org/app:1.2.3 # {M}\n"),
        ),
        (
            format!("é: ü\nimage: \"ä:1\" # {M}\n"),
            format!("é: ü\nimage: \"ghcr.io/org/app:1.2.3\" # {M}\n"),
        ),
        // sequence item, nested, flow mapping, anchors and tags
        (
            format!("l:\n- a:1 # {M}\n- b\n"),
            format!("l:\n- ghcr.io/org/app:1.2.3 # {M}\n- b\n"),
        ),
        (
            format!("x:\n  y:\n    - z: a:1  # {M}\n"),
            format!("x:\n  y:\n    - z: ghcr.io/org/app:1.2.3  # {M}\n"),
        ),
        (
            format!("c: {{image: a:1 # {M}\n  }}\n"),
            format!("c: {{image: ghcr.io/org/app:1.2.3 # {M}\n  }}\n"),
        ),
        (
            format!("l: [a:1, # {M}\n  b]\n"),
            format!("l: [ghcr.io/org/app:1.2.3, # {M}\n  b]\n"),
        ),
        (
            format!("i: &x !!str a:1 # {M}\n"),
            format!("i: &x !!str ghcr.io/org/app:1.2.3 # {M}\n"),
        ),
        // value on the next line, multi-line plain value
        (
            format!("image:\n  a:1 # {M}\n"),
            format!("image:\n  ghcr.io/org/app:1.2.3 # {M}\n"),
        ),
        (
            format!("image: a\n  b # {M}\n"),
            format!("image: ghcr.io/org/app:1.2.3 # {M}\n"),
        ),
        // a plain value that would read as a number gets double quotes
        (
            "tag: v1 # {\"$imagepolicy\": \"ns:num:tag\"}\n".to_string(),
            "tag: \"1.10\" # {\"$imagepolicy\": \"ns:num:tag\"}\n".to_string(),
        ),
        (
            "tag: 'v1' # {\"$imagepolicy\": \"ns:num:tag\"}\n".to_string(),
            "tag: '1.10' # {\"$imagepolicy\": \"ns:num:tag\"}\n".to_string(),
        ),
        // the same value: nothing to do
        (
            format!("image: ghcr.io/org/app:1.2.3 # {M}\n"),
            format!("image: ghcr.io/org/app:1.2.3 # {M}\n"),
        ),
        // inside a block scalar it is text
        (
            format!("p: |\n  image: a:1 # {M}\nq: 1\n"),
            format!("p: |\n  image: a:1 # {M}\nq: 1\n"),
        ),
        // unknown policy, other namespace
        (
            "image: a:1 # {\"$imagepolicy\": \"other:app\"}\n".to_string(),
            "image: a:1 # {\"$imagepolicy\": \"other:app\"}\n".to_string(),
        ),
        // a comment needs a blank before `#`
        (
            "image: \"a:1\"\n".to_string(),
            "image: \"a:1\"\n".to_string(),
        ),
        // multi-document
        (
            format!("a: 1\n---\nimage: a:1 # {M}\n---\nimage: b # {M}\n"),
            format!(
                "a: 1\n---\nimage: ghcr.io/org/app:1.2.3 # {M}\n---\nimage: ghcr.io/org/app:1.2.3 # {M}\n"
            ),
        ),
    ];
    for (input, want) in cases {
        let (got, out) = run(&input);
        assert_eq!(got, want, "input {input:?}");
        assert_eq!(out.changes().count(), out.edits.len());
        assert!(
            out.diagnostics.is_empty(),
            "{input:?}: {:?}",
            out.diagnostics
        );
    }
}

#[test]
fn records_objects_and_changes() {
    let input = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: prod\n\
         spec:\n  image: old:1 # {M}\n---\nkind: Kustomization\napiVersion: kustomize.config.k8s.io/v1beta1\n\
         images:\n- newTag: v1 # {{\"$imagepolicy\": \"ns:app:tag\"}}\n"
    );
    let (_, out) = run(&input);
    type Row<'a> = (usize, &'a str, &'a str, &'a str);
    let got: Vec<(String, Vec<Row<'_>>)> = out
        .objects
        .iter()
        .map(|o| {
            let changes = o
                .changes
                .iter()
                .map(|c| {
                    (
                        c.line,
                        c.old_value.as_str(),
                        c.new_value.as_str(),
                        c.setter.as_str(),
                    )
                })
                .collect();
            (o.object.to_string(), changes)
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "apps/v1/Deployment prod/web".to_string(),
                vec![(7, "old:1", "ghcr.io/org/app:1.2.3", "ns:app")]
            ),
            (
                "kustomize.config.k8s.io/v1beta1/Kustomization".to_string(),
                vec![(12, "v1", "1.2.3", "ns:app:tag")]
            ),
        ]
    );
    assert_eq!(out.objects[0].images(), vec!["ghcr.io/org/app:1.2.3"]);
    assert_eq!(out.objects[0].changes[0].policy.to_string(), "ns/app");
}

#[test]
fn reports_malformed_and_misplaced_markers() {
    let cases: Vec<(String, Vec<(usize, &str)>)> = vec![
        (
            "a: 1\nimage: a:1 # {\"$imagepolicy\": flux-system:app}\n".to_string(),
            vec![(2, "malformed $imagepolicy marker")],
        ),
        (
            "image: a:1 # {\"$imagepolicy\": \"app\"}\n".to_string(),
            vec![(1, "is not ns:name")],
        ),
        (
            format!("spec: # {M}\n  image: a:1\n"),
            vec![(1, "not a comment on the line of a scalar")],
        ),
        (
            format!("# {M}\nimage: a:1\n"),
            vec![(1, "not a comment on the line of a scalar")],
        ),
        (
            format!("p: | # {M}\n  text\n"),
            vec![(1, "not a comment on the line of a scalar")],
        ),
        (
            format!("l: [a, b] # {M}\n"),
            vec![(1, "not a comment on the line of a scalar")],
        ),
        // text mentioning the token is not a marker attempt
        (
            "# see \"$imagepolicy\" docs\nimage: a:1\n".to_string(),
            vec![],
        ),
        (format!("p: |\n  # {M}\n"), vec![]),
        (format!("p: '# {M}'\n"), vec![]),
    ];
    for (input, want) in cases {
        let (_, out) = run(&input);
        let got: Vec<(usize, bool)> = out
            .diagnostics
            .iter()
            .zip(&want)
            .map(|(d, (_, text))| (d.line, d.message.contains(text)))
            .collect();
        assert_eq!(
            out.diagnostics.len(),
            want.len(),
            "{input:?}: {:?}",
            out.diagnostics
        );
        for ((line, ok), (want_line, text)) in got.iter().zip(&want) {
            assert_eq!(line, want_line, "{input:?}");
            assert!(ok, "{input:?}: want {text:?} in {:?}", out.diagnostics);
        }
    }
}

#[test]
fn a_malformed_marker_does_not_stop_the_valid_ones() {
    let input = format!("a: x # {{\"$imagepolicy\": bad}}\nb: y # {M}\n");
    let (got, out) = run(&input);
    assert_eq!(
        got,
        format!("a: x # {{\"$imagepolicy\": bad}}\nb: ghcr.io/org/app:1.2.3 # {M}\n")
    );
    assert_eq!(out.diagnostics.len(), 1);
}

#[test]
fn unparsable_files_are_errors_with_a_line() {
    let cases = [
        (format!("a: b\nimage: [a # {M}\n"), 3),
        (format!("a: b\na: c # {M}\n"), 2),
        (format!("a:\n\t- b # {M}\n"), 2),
    ];
    for (input, line) in cases {
        let err = rewrite_file("dir/f.yaml", input.as_bytes(), &policies()).expect_err(&input);
        match &err {
            Error::Parse { path, line: l, .. } => {
                assert_eq!(path, "dir/f.yaml");
                assert_eq!(*l, line, "{input:?}: {err}");
            }
            other => panic!("{input:?}: {other}"),
        }
        assert!(
            err.to_diagnostic()
                .to_string()
                .starts_with(&format!("dir/f.yaml:{line}: "))
        );
    }
    let err = rewrite_file("f.yaml", b"a: b\nc: \xff\n", &policies()).expect_err("utf-8");
    assert_eq!(
        err,
        Error::NotUtf8 {
            path: "f.yaml".into(),
            line: 2
        }
    );
}

/// Found by the setters fuzz target: a value with a line break written
/// between single quotes folded on re-read and broke the indentation.
#[test]
fn a_value_single_quotes_cannot_hold_becomes_double_quoted() {
    let mut p = Policies::new();
    p.insert(
        "ns",
        "odd",
        LatestRef {
            name: "r.example:5000/a/b".into(),
            tag: "'\"#: x\n".into(),
            digest: String::new(),
        },
    );
    let input = "image:\n  tag: '1.0.0' # {\"$imagepolicy\": \"ns:odd:tag\"}\n";
    let out = rewrite_file("f.yaml", input.as_bytes(), &p).expect("parses");
    let updated = out.updated.expect("rewritten");
    let text = String::from_utf8(updated.clone()).expect("utf-8");
    assert_eq!(
        text,
        "image:\n  tag: \"'\\\"#: x\\n\" # {\"$imagepolicy\": \"ns:odd:tag\"}\n"
    );
    let again = rewrite_file("f.yaml", &updated, &p).expect("the rewritten file parses");
    assert!(again.updated.is_none(), "a second rewrite changes nothing");
}

/// Found by the setters fuzz target: after `key:` and tabs only (no space),
/// saphyr reads a plain scalar starting with a letter, digit, `_` or `-` as
/// an error ("':' must be followed by a valid YAML whitespace"), so a value
/// like `${APP}` rewritten to `ghcr.io/...` left a file that no longer
/// parsed. The new value is double-quoted there.
#[test]
fn a_plain_value_after_a_tab_only_separator_is_quoted_when_it_must_be() {
    let cases = [
        (
            format!("image:\t${{APP}} # {M}\n"),
            format!("image:\t\"ghcr.io/org/app:1.2.3\" # {M}\n"),
        ),
        (
            format!("a:\n  image:\t\t:x # {M}\r\n"),
            format!("a:\n  image:\t\t\"ghcr.io/org/app:1.2.3\" # {M}\r\n"),
        ),
        // A space among the blanks is a valid separator: the value stays plain.
        (
            format!("image:\t ${{APP}} # {M}\n"),
            format!("image:\t ghcr.io/org/app:1.2.3 # {M}\n"),
        ),
        (
            format!("- ${{APP}}\t# {M}\n"),
            format!("- ghcr.io/org/app:1.2.3\t# {M}\n"),
        ),
    ];
    for (input, expected) in cases {
        let (got, out) = run(&input);
        assert_eq!(got, expected, "{input:?}");
        assert_eq!(out.edits.len(), 1, "{input:?}");
        let again = rewrite_file("f.yaml", got.as_bytes(), &policies())
            .unwrap_or_else(|e| panic!("{input:?}: the rewritten file parses: {e}"));
        assert!(again.updated.is_none(), "{input:?}: idempotent");
    }
}

/// YAML reads a lone CR as a line break, as saphyr and yaml.v3 do: a marker
/// comment ends there, and lines are counted the same way.
#[test]
fn a_lone_cr_ends_the_marker_comment_and_the_line() {
    let input = format!("a: b\rimage: a:1 # {M}\rnext: x\r");
    let (got, out) = run(&input);
    assert_eq!(
        got,
        format!("a: b\rimage: ghcr.io/org/app:1.2.3 # {M}\rnext: x\r")
    );
    assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
    assert_eq!(out.changes().map(|c| c.line).collect::<Vec<_>>(), [2]);
    let input = format!("a: b\rc: # {M}\r  d: e\r");
    let (_, out) = run(&input);
    assert!(out.edits.is_empty());
    assert_eq!(out.diagnostics.len(), 1, "{:?}", out.diagnostics);
    assert_eq!(out.diagnostics[0].line, 2);
    assert!(
        out.diagnostics[0]
            .message
            .contains("is not a comment on the line of a scalar value"),
        "{:?}",
        out.diagnostics
    );
}

/// The last line of defence: a rewrite whose result does not read back as
/// the same scalars with only the marked values changed is refused, naming
/// the file and the line of the edit.
#[test]
fn a_rewrite_that_does_not_read_back_is_refused() {
    let input = format!("a: b\nimage: a:1 # {M}\nc: d\n");
    let source = Source::new(&input);
    let parsed = parse("dir/f.yaml", &source).expect("parses");
    let site = parsed
        .sites
        .iter()
        .position(|s| s.value == "a:1")
        .expect("site");
    let edits = [Planned {
        site,
        line: 2,
        new_value: "x:1".to_string(),
    }];
    let ok = format!("a: b\nimage: x:1 # {M}\nc: d\n");
    assert_eq!(check_readback("dir/f.yaml", &parsed, &edits, &ok), Ok(()));
    let broken = [
        (format!("a: b\nimage: [x:1 # {M}\nc: d\n"), "does not parse"),
        (format!("a: b\nimage: y:1 # {M}\nc: d\n"), "reads back as"),
        (format!("a: b\nimage: x:1 # {M}\nc: e\n"), "reads back as"),
        (format!("a: b\nimage: x:1 # {M}\n"), "reads back as"),
    ];
    for (after, reason) in broken {
        let err = check_readback("dir/f.yaml", &parsed, &edits, &after).expect_err(&after);
        let text = err.to_string();
        assert!(text.starts_with("dir/f.yaml:2: "), "{text}");
        assert!(text.contains(reason), "{text}");
        assert!(text.contains("\"x:1\""), "{text}");
        assert!(
            err.to_diagnostic()
                .to_string()
                .starts_with("dir/f.yaml:2: "),
            "{text}"
        );
    }
}
