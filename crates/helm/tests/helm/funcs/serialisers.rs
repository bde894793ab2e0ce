//! `toYaml`, `toYamlPretty`, `toToml` and `toJson` of generated trees,
//! ours against helm's bytes. Each tree reaches helm as a JSON string read
//! back by `fromJson` (numbers become float64, as values from YAML are);
//! each result comes back base64-encoded, so any bytes survive the trip.

use ferroflux_helm::funcs;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;

use super::oracle;

const TEMPLATE: &str = r#"{{- range $i, $c := .Values.cases }}
{{- $o := fromJson $c }}
y{{ $i }}: {{ toYaml $o.v | b64enc }}
p{{ $i }}: {{ toYamlPretty $o.v | b64enc }}
t{{ $i }}: {{ toToml $o | b64enc }}
j{{ $i }}: {{ toJson $o.v | b64enc }}
{{- end }}
"#;

/// Pieces that each hit a quoting, escaping or folding rule of one of
/// the encoders.
fn piece() -> impl Strategy<Value = String> {
    let fixed = prop::sample::select(vec![
        "a",
        "word",
        "Z",
        "x_y",
        "a-b",
        "é",
        "中文",
        "😀",
        "ü",
        " ",
        "  ",
        ": ",
        ":",
        "#",
        " #",
        "# ",
        "-",
        "- ",
        "? ",
        "'",
        "\"",
        "\\",
        "\n",
        "\n\n",
        "\t",
        "\r",
        "\r\n",
        ",",
        "[",
        "]",
        "{",
        "}",
        "&",
        "*",
        "!",
        "|",
        ">",
        "%",
        "@",
        "`",
        "---",
        "...",
        "<<",
        "=",
        "y",
        "n",
        "yes",
        "No",
        "on",
        "OFF",
        "true",
        "False",
        "null",
        "~",
        "1",
        "1.5",
        "017",
        "08",
        "0x1F",
        "0o17",
        "0b101",
        "1e3",
        "1_000",
        ".5",
        "+1",
        "-2",
        "2001-01-01",
        "2001-12-14t21:59:43.10-05:00",
        "1:20",
        "190:20:30.15",
        ".inf",
        ".NaN",
        "\u{1}",
        "\u{7f}",
        "\u{85}",
        "\u{a0}",
        "\u{2028}",
        "\u{feff}",
        "\u{fffe}",
        "\u{1b}",
        "<",
        ">",
        "&&",
    ])
    .prop_map(str::to_string);
    prop_oneof![
        6 => fixed,
        2 => "[a-z]{1,12}( [a-z]{1,12}){5,30}",
        1 => "[a-zA-Z0-9]{60,130}",
        1 => "[a-z ]{70,100}",
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..5).prop_map(|v| v.concat())
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-zA-Z_][a-zA-Z0-9_]{0,8}",
        1 => "[a-c0-9]{1,4}",
        1 => prop::sample::select(vec!["1", "2", "10", "a2", "a10", "aB", "B", "_x", "a_", "y", "on",
            "null", "", " k", "k ", "a b", "a.b", "a: b", "#k", "é", "x1y", "x01y", "x1z2"])
            .prop_map(str::to_string),
        1 => text(),
    ]
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        (-100_000i64..100_000).prop_map(|i| Value::from(i as f64)),
        prop::sample::select(vec![
            0.0,
            -0.0,
            1.5,
            -2.25,
            0.1,
            1e-7,
            0.0001,
            0.00001,
            1e6,
            999_999.0,
            1_234_567.0,
            1e20,
            1e21,
            1.5e300,
            9_007_199_254_740_993.0,
            123_456_789.125,
            5e-324,
        ])
        .prop_map(Value::from),
    ]
}

fn tree() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        4 => text().prop_map(Value::String),
        2 => number(),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => Just(Value::Null),
    ];
    leaf.prop_recursive(4, 40, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// What Go's `encoding/json` decoding makes of a tree: every number a
/// float64.
fn as_go(value: &Value) -> Value {
    match value {
        Value::Number(n) => serde_json::Number::from_f64(n.as_f64().unwrap_or(0.0))
            .map_or(Value::Null, Value::Number),
        Value::Array(items) => Value::Array(items.iter().map(as_go).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), as_go(v))).collect()),
        other => other.clone(),
    }
}

fn ours(kind: &str, obj: &Value) -> String {
    let v = &obj["v"];
    match kind {
        "y" => {
            // The template path (no JSON text) must agree with the JSON one.
            let via_json = funcs::to_yaml(v);
            let direct = funcs::yaml2::go_to_yaml(&ferroflux_template::Value::from_json(v));
            assert_eq!(via_json, direct, "{v}");
            via_json.map(|s| s.strip_suffix('\n').map(str::to_string).unwrap_or(s))
        }
        "p" => {
            funcs::to_yaml_pretty(v).map(|s| s.strip_suffix('\n').map(str::to_string).unwrap_or(s))
        }
        "t" => funcs::to_toml(obj).or_else(Ok::<_, String>),
        "j" => {
            // `toJson` in templates is the engine's encoder: it must agree.
            let engine = ferroflux_template::Value::from_json(v).to_json_string();
            let ours = funcs::to_json(v);
            assert_eq!(engine, ours, "{v}");
            ours
        }
        _ => unreachable!("kind {kind}"),
    }
    .unwrap_or_default()
}

fn cases(n: usize, seed: u64) -> Vec<Value> {
    let mut runner = TestRunner::new(Config {
        rng_seed: proptest::test_runner::RngSeed::Fixed(seed),
        ..Config::default()
    });
    let tree = tree();
    (0..n)
        .map(|_| {
            let v = tree.new_tree(&mut runner).expect("sample").current();
            as_go(&serde_json::json!({ "v": v }))
        })
        .collect()
}

/// Fixed trees for the rules by name, before the generated ones.
fn named() -> Vec<Value> {
    let long = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor \
                incididunt ut labore et dolore magna aliqua";
    let trees = vec![
        serde_json::json!({"b": 1, "a": [1, 2, {"x": "y", "z": [true, null]}], "c": {}, "d": []}),
        serde_json::json!({"k": long, "q": format!("'{long}'"), "d": format!("{long}\t"),
                           "s": format!(" {long}"), "m": format!("{long}\n{long}\n")}),
        serde_json::json!([
            "a\n", "a\n\n", " a\nb", "a\n ", "\n", "a \nb", "a\n b", "a\tb\nc"
        ]),
        serde_json::json!({"1e6": 1_000_000.0, "f": 1e21, "g": 1e-7, "h": 0.1, "i": 2.5}),
        serde_json::json!({"x": long.repeat(3), "y": format!("a: {long}")}),
        serde_json::json!("top"),
        serde_json::json!(null),
        serde_json::json!({"html": "<a href=\"x\">&</a>", "sep": "\u{2028}\u{2029}"}),
        serde_json::json!({"k".repeat(130): 1, "multi\nkey": 2}),
        serde_json::json!({"k".repeat(1022): 1}),
        serde_json::json!({"k".repeat(1023): 1}),
        serde_json::json!({"<".repeat(170): 1}),
        serde_json::json!({"<".repeat(171): 1}),
        serde_json::json!({"a": {"nel\u{85}key": 1}}),
        serde_json::json!({"nel": "a\u{85}b  \u{85}\u{85} c"}),
        serde_json::json!({"1e31_000": "1e400", "a": ".5e999", "b": "1e300", "c": "-1e309"}),
        serde_json::json!({"tables": [{"a": 1}, {"b": {"c": 2}}], "mixed": [1, {"a": 2}],
                           "nested": {"deep": {"deeper": {"x": 1}}, "plain": "v"}}),
    ];
    trees
        .into_iter()
        .map(|v| as_go(&serde_json::json!({ "v": v })))
        .collect()
}

fn run(cases: &[Value]) {
    let Some(helm) = oracle::helm() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let chart = dir.path().join("t");
    oracle::chart(&chart, &[("t.yaml", TEMPLATE)], &[]);
    let mut values = String::from("cases:\n");
    for case in cases {
        values.push_str("- ");
        values.push_str(&oracle::yaml_quote(
            &serde_json::to_string(case).expect("json"),
        ));
        values.push('\n');
    }
    let values_path = dir.path().join("values.yaml");
    std::fs::write(&values_path, &values).expect("values");
    let rendered = oracle::template(&helm, &chart, &["-f", values_path.to_str().expect("path")])
        .unwrap_or_else(|e| panic!("helm template: {e}"));
    let theirs = oracle::b64_lines(&rendered);
    let mut set =
        ferroflux_template::Set::helm(funcs::helm_funcs(std::rc::Rc::new(funcs::TemplateLookup)));
    for (kind, text) in [
        ("y", "{{ toYaml .v }}"),
        ("p", "{{ toYamlPretty .v }}"),
        ("t", "{{ toToml . }}"),
        ("j", "{{ toJson .v }}"),
    ] {
        set.parse(kind, text).expect("parse");
    }
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        for kind in ["y", "p", "t", "j"] {
            let expected = theirs
                .get(&format!("{kind}{i}"))
                .unwrap_or_else(|| panic!("no {kind}{i} in helm's output"));
            let got = ours(kind, case);
            // The same through the template functions (Go values, not JSON).
            let dot = ferroflux_template::Value::from_json(case);
            let templated = set.execute(kind, &dot).expect("execute");
            if templated != got {
                failures.push(format!(
                    "{kind} of case {i}: template {templated:?}, direct {got:?}"
                ));
            }
            if &got != expected {
                failures.push(format!(
                    "{kind} of case {i} {}\n--- helm\n{expected:?}\n--- ours\n{got:?}",
                    serde_json::to_string(case).expect("json")
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n{}",
        failures.len(),
        cases.len() * 4,
        failures
            .iter()
            .take(8)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
}

#[test]
fn named_trees_serialise_as_helm_serialises_them() {
    run(&named());
}

#[test]
fn generated_trees_serialise_as_helm_serialises_them() {
    let seed = std::env::var("FERROFLUX_PROPTEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(18);
    let n = std::env::var("FERROFLUX_PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(400);
    run(&cases(n, seed));
}

#[test]
fn serialiser_errors_carry_the_go_libraries_messages() {
    let nil_in_array = serde_json::json!({"a": [1, null]});
    assert_eq!(
        funcs::to_toml(&nil_in_array).unwrap_err(),
        "toml: cannot encode array with nil element"
    );
    let top_tables = serde_json::json!([{"a": 1}]);
    assert_eq!(
        funcs::to_toml(&top_tables).unwrap_err(),
        "toml: top-level values must be Go maps or structs"
    );
    let nel_key = serde_json::json!({"a\u{85}": 1});
    assert!(funcs::to_yaml(&nel_key).unwrap_err().contains("U+0085"));
    let long_key = serde_json::json!({ "k".repeat(1023): 1 });
    assert!(
        funcs::to_yaml(&long_key)
            .unwrap_err()
            .contains("1023 characters")
    );
    let control = serde_json::json!({"a": "\u{7f}"});
    assert!(
        funcs::to_yaml(&control)
            .unwrap_err()
            .contains("control characters")
    );
}
