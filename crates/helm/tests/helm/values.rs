//! `values::unmarshal` and `values::read_values` (helm-semantics.md §3.1):
//! each YAML 1.1 typing rule, the errors, and a generated differential
//! against helm's `{{ toJson .Values }}` of the same file.

use ferroflux_helm::values::{self, merge_maps, read_values, unmarshal};
use ferroflux_testkit::helm::Helm;
use serde_json::{Value, json};

use crate::common::{all_numbers_f64, numbers_as_f64};

fn one(scalar: &str) -> Value {
    let v = unmarshal(&format!("k: {scalar}\n")).expect(scalar);
    v["k"].clone()
}

#[test]
fn numbers_are_floats_in_every_yaml_1_1_form() {
    for (text, want) in [
        ("8080", 8080.0),
        ("010", 8.0),
        ("0x10", 16.0),
        ("0o17", 15.0),
        ("1_000", 1000.0),
        ("0b11", 3.0),
        ("-0b11", -3.0),
        ("+12", 12.0),
        ("08", 8.0),
        (".5", 0.5),
        ("1e3", 1000.0),
        ("1e-400", 0.0),
        ("9223372036854775808", 9_223_372_036_854_775_808.0),
    ] {
        let v = one(text);
        assert!(v.as_f64() == Some(want), "{text}: {v}");
        assert!(all_numbers_f64(&v), "{text} is not an f64: {v:?}");
    }
}

#[test]
fn yaml_1_1_booleans_and_nulls() {
    for t in [
        "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE",
    ] {
        assert_eq!(one(t), json!(true), "{t}");
    }
    for t in [
        "n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE",
    ] {
        assert_eq!(one(t), json!(false), "{t}");
    }
    for t in ["~", "null", "Null", "NULL", ""] {
        assert_eq!(one(t), Value::Null, "{t}");
    }
    for t in [
        "yEs",
        "oN",
        "nULL",
        "2001-01-01",
        "1e400",
        "0x",
        "._5",
        "\"yes\"",
        "'1'",
    ] {
        assert!(one(t).is_string(), "{t}: {}", one(t));
    }
    assert_eq!(one("'010'"), json!("010"));
}

#[test]
fn keys_are_stringified_as_sigs_yaml_does() {
    let v = unmarshal("1: a\ntrue: b\ny: c\n1.5: d\n1e6: e\n0.1: f\n'x': g\n").unwrap();
    assert_eq!(
        v,
        json!({"1": "a", "true": "c", "1.5": "d", "1e+06": "e", "0.1": "f", "x": "g"})
    );
}

#[test]
fn duplicate_keys_last_wins() {
    assert_eq!(
        unmarshal("a: {b: 1}\na: {c: x}\n").unwrap(),
        json!({"a": {"c": "x"}})
    );
}

#[test]
fn errors_are_worded_as_helm_and_name_the_line() {
    for (text, message, line) in [
        (
            "a: 1\nb: .inf\n",
            "error converting YAML to JSON: json: unsupported value: +Inf",
            2,
        ),
        (
            "b: -.Inf\n",
            "error converting YAML to JSON: json: unsupported value: -Inf",
            1,
        ),
        (
            "x:\n  b: .nan\n",
            "error converting YAML to JSON: json: unsupported value: NaN",
            2,
        ),
        (
            "~: 1\n",
            "error converting YAML to JSON: unsupported map key of type: %!s(<nil>), key: <nil>, value: 1",
            1,
        ),
        (
            "18446744073709551615: 1\n",
            "error converting YAML to JSON: unsupported map key of type: uint64, key: 0xffffffffffffffff, value: 1",
            1,
        ),
    ] {
        let err = unmarshal(text).unwrap_err();
        assert_eq!(err.message, message, "{text}");
        assert_eq!(err.line, line, "{text}");
        assert!(err.to_string().contains(&format!("line {line}")), "{err}");
    }
    let err = unmarshal("a: 1\nb: [\n").unwrap_err();
    assert!(
        err.message
            .starts_with("error converting YAML to JSON: yaml: line "),
        "{err}"
    );
}

#[test]
fn unmarshal_keys_converts_the_head_and_checks_the_rest_in_order() {
    let keys = ["apiVersion", "kind", "metadata"];
    let head = |doc: &str| values::unmarshal_keys(doc, &keys);
    let full = |doc: &str| {
        unmarshal(doc).map(|v| match v {
            Value::Object(mut m) => {
                m.retain(|k, _| keys.contains(&k.as_str()));
                Value::Object(m)
            }
            other => other,
        })
    };
    for doc in [
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  annotations: {a: 1}\ndata: {k: v}\n",
        "kind: A\nspec: {x: .inf}\n",
        "kind: A\nspec:\n  ~: 1\n",
        "spec:\n  - {0xFFFFFFFFFFFFFFFF: 1}\nkind: A\n",
        "metadata: {name: .nan}\nspec: {y: -.inf}\n",
        "true: 1\nkind: B\nkind: C\n",
        "- a\n- b\n",
        "12\n",
        "",
    ] {
        let (ours, theirs) = (head(doc), full(doc));
        assert_eq!(
            ours.as_ref().map_err(|e| &e.message),
            theirs.as_ref().map_err(|e| &e.message),
            "{doc:?}"
        );
        if let (Err(a), Err(b)) = (&ours, &theirs) {
            assert_eq!((a.line, a.col), (b.line, b.col), "{doc:?}");
        }
    }
    assert!(head("kind: A\nspec: {x: .inf}\n").is_err());
}

#[test]
fn go_float_formatting() {
    for (f, want) in [
        (1_000_000.0, "1e+06"),
        (999_999.0, "999999"),
        (1_234_567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (8080.0, "8080"),
        (2.5, "2.5"),
        (-0.5, "-0.5"),
        (0.0, "0"),
    ] {
        assert_eq!(values::go_format_float(f), want, "{f}");
    }
}

#[test]
fn read_values_merges_documents() {
    let v = read_values("a: {x: 1, p: 2}\nl: [1]\n---\na: {p: 3}\nl: [2]\n--- # c\n---\n").unwrap();
    assert_eq!(
        numbers_as_f64(&Value::Object(v)),
        numbers_as_f64(&json!({"a": {"x": 1, "p": 3}, "l": [2]}))
    );
    assert!(read_values("").unwrap().is_empty());
    assert!(read_values("# only a comment\n").unwrap().is_empty());
}

#[test]
fn read_values_errors() {
    let err = read_values("a: 1\n--- x\n").unwrap_err();
    assert_eq!(
        err.message,
        "error reading yaml document: invalid Yaml document separator: x"
    );
    assert_eq!(err.line, 2);
    let err = read_values("a: 1\n---\n- 1\n").unwrap_err();
    assert_eq!(
        err.message,
        "cannot unmarshal yaml document: error unmarshaling JSON: while decoding JSON: json: \
         cannot unmarshal array into Go value of type map[string]interface {}"
    );
    assert_eq!(err.line, 3);
    let err = read_values("a: 1\n---\nb: 1\nc: .inf\n").unwrap_err();
    assert_eq!(err.line, 4, "{err}");
    assert!(
        err.message
            .starts_with("cannot unmarshal yaml document: error converting")
    );
}

#[test]
fn merge_maps_keeps_nulls_and_replaces_non_maps() {
    let a = json!({"a": {"x": 1, "y": {"z": 1}}, "b": [1], "c": 1});
    let b = json!({"a": {"y": null}, "b": {"k": 1}, "d": null});
    let (Value::Object(a), Value::Object(b)) = (a, b) else {
        unreachable!()
    };
    assert_eq!(
        Value::Object(merge_maps(a, b)),
        json!({"a": {"x": 1, "y": null}, "b": {"k": 1}, "c": 1, "d": null})
    );
}

/// Scalars that exercise every branch of yaml.v2's resolver.
pub fn generated_scalars() -> Vec<String> {
    let bodies = [
        "0",
        "00",
        "010",
        "08",
        "0x1F",
        "0X1f",
        "0o17",
        "0O17",
        "0b101",
        "0B11",
        "1_000",
        "1__0",
        "0_1",
        "1e3",
        "1E+3",
        "1.5",
        "1.",
        "0.5e-3",
        "1e400",
        "1e-400",
        "1.5e",
        "1e+",
        "1.2.3",
        "9223372036854775807",
        "9223372036854775808",
        "18446744073709551615",
        "18446744073709551616",
        "99999999999999999999",
        "0x7FFFFFFFFFFFFFFF",
        "0x8000000000000000",
        "0xFFFFFFFFFFFFFFFF",
        "0x10000000000000000",
        "0b1111111111111111111111111111111111111111111111111111111111111111",
        "0b1_0",
        "0x",
        "0b",
        "0o",
        "1:30",
        "2001-01-01",
        "2001-12-14t21:59:43.10-05:00",
        "2001-1-2 3:4:5",
        "0x1p3",
        "1_0.5",
        "12abc",
        "3.14159265358979",
        "16777217",
        "1.0000001",
        "123456789012",
    ];
    let mut out = Vec::new();
    for sign in ["", "+", "-"] {
        for b in bodies {
            out.push(format!("{sign}{b}"));
        }
    }
    for w in [
        "y",
        "Y",
        "yes",
        "Yes",
        "YES",
        "yEs",
        "n",
        "N",
        "no",
        "NO",
        "nO",
        "on",
        "On",
        "ON",
        "oN",
        "off",
        "Off",
        "OFF",
        "true",
        "TRUE",
        "tRue",
        "False",
        "null",
        "NULL",
        "nUll",
        "~",
        "",
        ".5",
        "._5",
        ".5e3",
        ".e1",
        ".",
        "inf",
        "nan",
        "Infinity",
        "hello",
        "o",
        "t",
        "f",
        "<<x",
        "'quoted 1'",
        "\"0x10\"",
        "'yes'",
        "!!str 12",
        "1 2",
    ] {
        out.push(w.to_string());
    }
    out
}

#[test]
fn generated_scalars_and_keys_match_helm() {
    let Some(helm) = Helm::find() else { return };
    let chart = helm.values_probe("probe");
    let scalars = generated_scalars();
    let mut text = String::new();
    for (i, s) in scalars.iter().enumerate() {
        text.push_str(&format!("v{i}: {s}\n"));
        // A scalar that is not a null or a too-big key also tried as a key.
        if !matches!(one_or_error(s), Some(Value::Null)) && !s.is_empty() {
            text.push_str(&format!("k{i}:\n  {s}: x\n"));
        }
    }
    // uint64 keys and infinities fail the whole file in helm: keep them
    // out of this one (the next test tries each alone).
    let (text, dropped) = drop_failing_keys(&text);
    let file = helm.home.path().join("generated.yaml");
    std::fs::write(&file, &text).unwrap();
    let theirs = helm
        .probe_values(&chart, &["-f".as_ref(), file.as_os_str()])
        .unwrap();
    let ours = read_values(&text).unwrap();
    let ours = Value::Object(ours);
    assert!(all_numbers_f64(&ours));
    let (ours, theirs) = (numbers_as_f64(&ours), numbers_as_f64(&theirs));
    if ours != theirs {
        let (Value::Object(o), Value::Object(t)) = (&ours, &theirs) else {
            panic!("not maps")
        };
        for (k, v) in o {
            let i: usize = k[1..].parse().unwrap();
            assert_eq!(Some(v), t.get(k), "key {k}: {}", scalars[i]);
        }
        assert_eq!(o.len(), t.len());
    }
    assert!(dropped > 0, "the uint64 keys were tried separately");
}

fn one_or_error(s: &str) -> Option<Value> {
    unmarshal(&format!("k: {s}\n")).ok().map(|v| v["k"].clone())
}

/// Removes the `kN:` blocks whose key our reader refuses (and checks helm
/// refuses each of them with the same words, one file per key).
fn drop_failing_keys(text: &str) -> (String, usize) {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::new();
    let mut dropped = 0;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.starts_with('k') && i + 1 < lines.len() && lines[i + 1].starts_with("  ") {
            let block = format!("{line}\n{}\n", lines[i + 1]);
            i += 2;
            if unmarshal(&block).is_err() {
                dropped += 1;
                continue;
            }
            out.push_str(&block);
            continue;
        }
        // Values that fail (±inf, nan) are tried alone below.
        if unmarshal(&format!("{line}\n")).is_err() {
            dropped += 1;
            i += 1;
            continue;
        }
        out.push_str(line);
        out.push('\n');
        i += 1;
    }
    (out, dropped)
}

#[test]
fn failing_documents_fail_in_helm_with_the_same_words() {
    let Some(helm) = Helm::find() else { return };
    let chart = helm.values_probe("probe");
    let mut cases: Vec<String> = generated_scalars()
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| format!("k:\n  {s}: x\n"))
        .filter(|t| unmarshal(t).is_err())
        .collect();
    cases.extend(
        [
            "a: .inf\n",
            "a: -.INF\n",
            "a: .NaN\n",
            "~: 1\n",
            "[1, 2]\n",
            "hello\n",
            "a: 1\n--- x\n",
            "a: 1\n---\ntrue\n",
        ]
        .map(String::from),
    );
    assert!(cases.len() > 10);
    for (i, text) in cases.iter().enumerate() {
        let file = helm.home.path().join(format!("bad{i}.yaml"));
        std::fs::write(&file, text).unwrap();
        let theirs = helm
            .probe_values(&chart, &["-f".as_ref(), file.as_os_str()])
            .expect_err(text);
        let ours = read_values(text).expect_err(text);
        let want = format!(
            "Error: failed to parse {}: {}",
            file.display(),
            ours.message
        );
        assert_eq!(theirs, want, "{text}");
    }
}

/// Whole documents: anchors, merge keys, block and flow styles, tags,
/// comments, multi-document files.
const DOCUMENTS: &[&str] = &[
    "base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n",
    "a: &a {x: 1}\nb: &b {x: 2, z: 2}\nm:\n  <<: [*a, *b]\n  w: 0\n",
    "s: |\n  line1\n  line2\nf: >\n  folded\n  text\nk: |-\n  keep\n",
    "l:\n- 1\n- - nested\n  - 2\n- {a: [x, y]}\n",
    "q: 'it''s'\nd: \"tab\\tnew\\nline \\u00e9\"\nplain: a b  c\n",
    // Not here: `!!int "7"` (a tag on a quoted scalar; the raw parser keeps
    // only `!!str`), which yaml.v2 reads as 7.
    "t: !!str 123\nf: !!float 1\n",
    "# comment\na: 1 # trailing\n---\n# only a comment\n---\nb: 2\n",
    "x: 1\n...\n",
    "empty:\nnull_list: [~, null, ]\n",
    "long: 123456789012345678901234567890\nneg: -0\nexp: 6.02e23\n",
    "'quoted key': 1\n\"dq\": 2\n? complex\n: 3\n",
    "a:\n  b:\n    c:\n      d: [1, {e: f}]\n",
];

#[test]
fn documents_match_helm() {
    let Some(helm) = Helm::find() else { return };
    let chart = helm.values_probe("docs");
    for (i, doc) in DOCUMENTS.iter().enumerate() {
        let file = helm.home.path().join(format!("doc{i}.yaml"));
        std::fs::write(&file, doc).unwrap();
        let theirs = helm.probe_values(&chart, &["-f".as_ref(), file.as_os_str()]);
        match (read_values(doc), theirs) {
            (Ok(ours), Ok(theirs)) => assert_eq!(
                numbers_as_f64(&Value::Object(ours)),
                numbers_as_f64(&theirs),
                "{doc}"
            ),
            (Err(e), Err(t)) => assert!(t.contains("failed to parse"), "{doc}: {e} / {t}"),
            (ours, theirs) => panic!("{doc}: ours {ours:?}, helm {theirs:?}"),
        }
    }
}

#[test]
fn unmarshal_into_a_map_or_a_list_as_from_yaml_does() {
    use ferroflux_helm::values::{unmarshal_array, unmarshal_map};
    assert_eq!(
        Value::Object(unmarshal_map("a: yes\n").unwrap()),
        json!({"a": true})
    );
    assert!(unmarshal_map("").unwrap().is_empty());
    assert_eq!(
        unmarshal_map("- 1\n").unwrap_err().message,
        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go \
         value of type map[string]interface {}"
    );
    assert_eq!(
        unmarshal_array("- 1\n- x\n").unwrap(),
        vec![json!(1.0), json!("x")]
    );
    assert_eq!(
        unmarshal_array("a: 1\n").unwrap_err().message,
        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal object into Go \
         value of type []interface {}"
    );
}
