//! `values.schema.json` (helm-semantics.md §2.6) against helm: Helm's own
//! schema test charts and a chart of ours exercising each keyword, with
//! value sets that pass and fail. Helm visits object properties in Go's
//! random map order, so error trees are compared with siblings sorted.

use std::path::Path;

use ferroflux_helm::chart::load_dir;
use ferroflux_helm::schema::{validate_chart, validate_single};
use ferroflux_helm::values::{Options, prepare};
use ferroflux_kustomize::fs::DiskFs;
use ferroflux_testkit::helm::Helm;
use serde_json::{Map, Value, json};

/// Each chart's block, its error lines as a tree, siblings sorted.
fn normalise(text: &str) -> Vec<String> {
    let mut charts: Vec<String> = Vec::new();
    let mut current: Vec<(usize, String)> = Vec::new();
    let mut name = String::new();
    let flush = |name: &str, lines: &mut Vec<(usize, String)>, out: &mut Vec<String>| {
        if !name.is_empty() || !lines.is_empty() {
            out.push(format!("{name}\n{}", render(&tree(lines))));
        }
        lines.clear();
    };
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        if indent == 0 && !line.starts_with("- ") {
            flush(&name, &mut current, &mut charts);
            name = line.to_string();
        } else {
            current.push((indent, line.trim_start().to_string()));
        }
    }
    flush(&name, &mut current, &mut charts);
    charts.sort();
    charts
}

struct N {
    line: String,
    kids: Vec<N>,
}

fn tree(lines: &[(usize, String)]) -> Vec<N> {
    let mut out: Vec<N> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let (ind, line) = &lines[i];
        let mut j = i + 1;
        while j < lines.len() && lines[j].0 > *ind {
            j += 1;
        }
        out.push(N {
            line: line.clone(),
            kids: tree(&lines[i + 1..j]),
        });
        i = j;
    }
    out
}

fn render(nodes: &[N]) -> String {
    let mut parts: Vec<String> = nodes
        .iter()
        .map(|n| {
            let kids = render(&n.kids);
            if kids.is_empty() {
                n.line.clone()
            } else {
                format!("{} [{kids}]", n.line)
            }
        })
        .collect();
    parts.sort();
    parts.join("; ")
}

fn compare(helm: &Helm, dir: &Path, values: Option<&str>) {
    let mut args = vec![dir.display().to_string()];
    let mut opts = Options::default();
    if let Some(v) = values {
        let f = helm.home.path().join("schema-values.yaml");
        std::fs::write(&f, v).expect("write");
        args.extend(["-f".to_string(), f.display().to_string()]);
        opts.values_files.push(("v.yaml".into(), v.into()));
    }
    let run = helm.template(&args);
    let user = opts.merge(&mut |_| Err(String::new())).expect("values");
    let fs = DiskFs::new(dir).expect("dir");
    let chart = load_dir(&fs, dir).expect("load");
    let prepared = prepare(chart, user);
    if let Err(e) = &prepared {
        let last = run
            .stderr
            .trim_end()
            .lines()
            .last()
            .unwrap_or("")
            .to_string();
        assert_eq!(last, format!("Error: {e}"), "{} {values:?}", dir.display());
        return;
    }
    let (chart, vals) = prepared.expect("checked");
    match validate_chart(&chart, &vals) {
        Ok(()) => assert!(
            run.ok,
            "{} {values:?}: helm failed: {}",
            dir.display(),
            run.stderr
        ),
        Err(e) => {
            assert!(!run.ok, "{} {values:?}: we refused: {e}", dir.display());
            let at = run.stderr.find("Error: ").expect("an Error: line");
            let theirs = run.stderr[at + "Error: ".len()..].trim_end();
            assert_eq!(
                normalise(e.message.trim_end()),
                normalise(theirs),
                "{} {values:?}\nours:\n{}\ntheirs:\n{theirs}",
                dir.display(),
                e.message
            );
        }
    }
}

#[test]
fn helm_schema_test_charts_validate_as_helm() {
    let Some(helm) = Helm::find() else { return };
    let Some(module) = Helm::module_dir() else {
        return;
    };
    let base = module.join("pkg/cmd/testdata/testcharts");
    for chart in [
        "chart-with-schema",
        "chart-with-schema-negative",
        "chart-with-schema-and-subchart",
    ] {
        compare(&helm, &base.join(chart), None);
    }
    compare(
        &helm,
        &base.join("chart-with-schema"),
        Some("age: -1\nfirstname: 7\n"),
    );
    compare(
        &helm,
        &base.join("chart-with-schema-and-subchart"),
        Some("subchart-with-schema:\n  age: 30\n"),
    );
    compare(
        &helm,
        &base.join("chart-with-schema-and-subchart"),
        Some("subchart-with-schema: null\n"),
    );
}

#[test]
fn our_schema_keywords_match_helm() {
    let Some(helm) = Helm::find() else { return };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/charts/schema");
    for values in [
        None,
        Some("req: null\n"),
        Some("n: 5\nf: 2\ns: ab\ne: b\nc: y\nl: [1, 1]\no: {b: 1, x1: 2, a: 3}\n"),
        Some("any: 1\none: 3\nnone: 1\nall: 1\nnot: s\nr: long\n"),
        Some("m: 0.35\nbig: 1000000\npn: {ab: 1}\ndr: {a: 1}\nite: ab\n"),
        Some("ite: 5\npre: [1, x]\ncont: [x, 1]\ndeep: {a: {b: 1}}\nec: 3\n"),
        Some("m: 0.3\nf: -1234567.891\nn: 100000\ns: ~\ne: ~\nl: [a]\n"),
        Some("n: 1.5\nbig: [1]\ns: \"a'b\\\"c\"\n"),
    ] {
        compare(&helm, &dir, values);
    }
}

#[test]
fn draft7_formats_and_keywords_match_helm() {
    let Some(helm) = Helm::find() else { return };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/charts/schema-draft7");
    for values in [
        None,
        Some("ip: 1.2.3\nhost: -bad\nmail: a..b@x.com\nid: 1234\n"),
        Some(
            "ip: 01.2.3.4\nhost: ok_no\nmail: '\"q\\\\\"@x'\nid: 12345678-1234-1234-1234-12345678901g\n",
        ),
        Some("ip: 1.2.3.x\nmail: nobody\nport: 70000\n"),
        Some("ip: 1.2.3.256\nmail: a@[1.2.3.999]\nwhen: nonsense\nport: 5\n"),
        Some("tuple: [a, b]\ntuple2: [a, 1, x]\ndep: {a: 1, c: 2}\nex: 10\n"),
        Some(
            "ip: 10.0.0.1\nhost: example.com.\nmail: me@example.com\nid: 12345678-1234-1234-1234-1234567890ab\n",
        ),
    ] {
        compare(&helm, &dir, values);
    }
}

#[test]
fn messages_without_helm() {
    let schema = br#"{"type":"object","properties":{"a":{"minimum":1000}},"required":["b","c"]}"#;
    let Value::Object(v) = json!({"a": 5.0}) else {
        unreachable!()
    };
    let text = validate_single(&v, schema).unwrap_err();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.contains(&"- at '': missing properties 'b', 'c'"),
        "{text}"
    );
    assert!(
        lines.contains(&"- at '/a': minimum: got 5, want 1,000"),
        "{text}"
    );
    assert!(text.ends_with('\n'));
    let draft4 = br#"{"$schema":"http://json-schema.org/draft-04/schema#","maximum":5,"exclusiveMaximum":true}"#;
    let Value::Object(v) = json!({}) else {
        unreachable!()
    };
    assert!(validate_single(&v, draft4).is_ok());
    let mut m = Map::new();
    m.insert("x".into(), json!(1));
    let refs = br##"{"properties":{"x":{"$ref":"#/definitions/s"}},"definitions":{"s":{"type":"string"}}}"##;
    assert_eq!(
        validate_single(&m, refs).unwrap_err(),
        "- at '/x': got number, want string\n"
    );
    let urn = br##"{"properties":{"x":{"$ref":"urn:example:anything"}}}"##;
    assert!(
        validate_single(&m, urn).is_ok(),
        "an unresolved URN is permissive, as Helm's loader"
    );
    let remote = br##"{"properties":{"x":{"$ref":"https://example.com/s.json"}}}"##;
    assert!(
        validate_single(&m, remote)
            .unwrap_err()
            .contains("unresolved $ref")
    );
    let cycle = br##"{"$ref":"#"}"##;
    assert!(
        validate_single(&m, cycle).is_err(),
        "a $ref cycle ends with an error, not a stack overflow"
    );
}
