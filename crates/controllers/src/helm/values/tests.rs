//! fluxcd/pkg chartutil's `values_test.go` cases, and the error texts.

use std::collections::BTreeMap;

use ferroflux_api::helm::{ValuesKind, ValuesReference};
use serde_json::{Value, json};

use super::*;

#[derive(Default)]
struct Home {
    objects: BTreeMap<(ValuesKind, String), BTreeMap<String, Vec<u8>>>,
    broken: Option<String>,
}

impl Home {
    fn with(mut self, kind: ValuesKind, name: &str, data: &[(&str, &str)]) -> Self {
        self.objects.insert(
            (kind, name.to_string()),
            data.iter()
                .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                .collect(),
        );
        self
    }
}

impl ValuesSource for Home {
    fn data(
        &self,
        kind: ValuesKind,
        namespace: &str,
        name: &str,
    ) -> Result<Option<BTreeMap<String, Vec<u8>>>, String> {
        assert_eq!(namespace, "apps");
        if let Some(e) = &self.broken {
            return Err(e.clone());
        }
        Ok(self.objects.get(&(kind, name.to_string())).cloned())
    }
}

fn r(kind: ValuesKind, name: &str) -> ValuesReference {
    ValuesReference {
        kind,
        name: name.into(),
        ..ValuesReference::default()
    }
}

fn at(mut v: ValuesReference, key: Option<&str>, path: &str) -> ValuesReference {
    v.values_key = key.map(str::to_string);
    v.target_path = Some(path.into());
    v
}

fn compose_json(
    home: &Home,
    inline: Value,
    refs: &[ValuesReference],
) -> Result<Value, ValuesError> {
    compose("apps", Some(&inline), refs, home).map(Value::Object)
}

const CM: ValuesKind = ValuesKind::ConfigMap;
const SECRET: ValuesKind = ValuesKind::Secret;

#[test]
fn merges_in_order_with_inline_values_last() {
    let home = Home::default()
        .with(
            CM,
            "values",
            &[(
                "values.yaml",
                "flat: value\nnested:\n  configuration: value\n",
            )],
        )
        .with(
            SECRET,
            "values",
            &[("values.yaml", "flat:\n  nested: value\nnested: value\n")],
        );
    let got = compose_json(
        &home,
        json!({"other": "values"}),
        &[r(CM, "values"), r(SECRET, "values")],
    );
    assert_eq!(
        got.unwrap(),
        json!({"flat": {"nested": "value"}, "nested": "value", "other": "values"})
    );
}

#[test]
fn target_path_sets_one_value() {
    let home = Home::default().with(SECRET, "values", &[("single", "value")]);
    let got = compose_json(
        &home,
        json!({}),
        &[at(
            r(SECRET, "values"),
            Some("single"),
            "merge.at.specific.path",
        )],
    );
    assert_eq!(
        got.unwrap(),
        json!({"merge": {"at": {"specific": {"path": "value"}}}})
    );
}

#[test]
fn target_path_applies_on_the_inline_values_merged_so_far() {
    let home = Home::default()
        .with(
            CM,
            "values",
            &[(
                "values.yaml",
                "flat: value\nnested:\n  configuration:\n  - one\n  - two\n  - three\n",
            )],
        )
        .with(SECRET, "values", &[("key", "value")]);
    let got = compose_json(
        &home,
        json!({"nested": {"configuration": ["list", "item", "option"]}}),
        &[
            at(r(SECRET, "values"), Some("key"), "nested.configuration[0]"),
            r(CM, "values"),
        ],
    );
    assert_eq!(
        got.unwrap(),
        json!({"flat": "value", "nested": {"configuration": ["value", "item", "option"]}})
    );

    let home = Home::default()
        .with(
            CM,
            "values",
            &[(
                "values.yaml",
                "flat: value\nnested:\n  configuration:\n  - list\n  - item\n  - option\n",
            )],
        )
        .with(SECRET, "values", &[("values.yaml", "foo")]);
    let got = compose_json(
        &home,
        json!({"other": "values"}),
        &[
            r(CM, "values"),
            at(r(SECRET, "values"), None, "nested.configuration[1]"),
        ],
    );
    assert_eq!(
        got.unwrap(),
        json!({"flat": "value", "nested": {"configuration": ["list", "foo", "option"]}, "other": "values"})
    );
}

#[test]
fn missing_objects_and_keys_are_errors_unless_optional() {
    let home = Home::default().with(CM, "values", &[("other", "a: b")]);
    let e = compose_json(&home, json!({}), &[r(SECRET, "missing")]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "could not resolve Secret chart values reference 'apps/missing' with key 'values.yaml': resource not found"
    );
    let e = compose_json(&home, json!({}), &[r(CM, "values")]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "could not resolve ConfigMap chart values reference 'apps/values' with key 'values.yaml': key not found"
    );
    let mut optional = r(SECRET, "missing");
    optional.optional = Some(true);
    let mut optional_key = r(CM, "values");
    optional_key.optional = Some(true);
    let got = compose_json(&home, json!({"x": 1}), &[optional, optional_key]);
    assert_eq!(got.unwrap(), json!({"x": 1}));
}

#[test]
fn an_unreadable_object_names_the_reference_and_the_cause() {
    let home = Home {
        broken: Some("secrets is forbidden".into()),
        ..Home::default()
    };
    let mut o = r(SECRET, "s");
    o.optional = Some(true);
    let e = compose_json(&home, json!({}), &[o]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "could not resolve optional Secret chart values reference 'apps/s' with key 'values.yaml': secrets is forbidden"
    );
}

#[test]
fn invalid_values_are_an_error_without_the_data() {
    let home = Home::default().with(
        SECRET,
        "values",
        &[("values.yaml", "secret-value: [unclosed")],
    );
    let e = compose_json(&home, json!({}), &[r(SECRET, "values")]).unwrap_err();
    assert!(
        e.to_string().starts_with(
            "could not resolve Secret chart values reference 'apps/values' with key 'values.yaml': failed to read values data: "
        ),
        "{e}"
    );
    let home = Home::default().with(CM, "values", &[("values.yaml", "- a list")]);
    let e = compose_json(&home, json!({}), &[r(CM, "values")]).unwrap_err();
    assert!(e.to_string().contains("cannot unmarshal array"), "{e}");
}

#[test]
fn oversized_values_are_refused() {
    let big = "a: ".to_string() + &"x".repeat(MAX_VALUES_BYTES);
    let home = Home::default().with(CM, "values", &[("values.yaml", &big)]);
    let e = compose_json(&home, json!({}), &[r(CM, "values")]).unwrap_err();
    assert!(e.to_string().contains("larger than"), "{e}");
}

#[test]
fn literal_keeps_set_metacharacters_and_plain_target_paths_do_not() {
    let content = "server:\n  port: 8080\n  include: [ \"prometheus\", \"health\" ]\n";
    let home = Home::default().with(CM, "values", &[("application.yml", content)]);
    let plain = at(
        r(CM, "values"),
        Some("application.yml"),
        r"externalConfig.application\.yml.content",
    );
    let e = compose_json(&home, json!({}), std::slice::from_ref(&plain)).unwrap_err();
    assert!(e.to_string().contains("failed to merge value"), "{e}");
    let mut literal = plain;
    literal.literal = Some(true);
    let got = compose_json(&home, json!({}), &[literal]).unwrap();
    assert_eq!(
        got,
        json!({"externalConfig": {"application.yml": {"content": content}}})
    );

    let home = Home::default().with(CM, "kafka", &[("brokers", "a:9092,b:9092")]);
    let mut brokers = at(r(CM, "kafka"), Some("brokers"), "kafka.brokers");
    assert!(compose_json(&home, json!({}), std::slice::from_ref(&brokers)).is_err());
    brokers.literal = Some(true);
    assert_eq!(
        compose_json(&home, json!({}), &[brokers]).unwrap(),
        json!({"kafka": {"brokers": "a:9092,b:9092"}})
    );
}

#[test]
fn replace_path_value_table() {
    let cases: &[(&str, &str, Value)] = &[
        ("outer.inner", "value", json!({"outer": {"inner": "value"}})),
        ("name", "{a,b,c}", json!({"name": ["a", "b", "c"]})),
        ("name", r"value1\,value2", json!({"name": "value1,value2"})),
        (
            "merge.at.specific.path",
            "true",
            json!({"merge": {"at": {"specific": {"path": true}}}}),
        ),
        (
            "merge.at.specific.path",
            "\"true\"",
            json!({"merge": {"at": {"specific": {"path": "true"}}}}),
        ),
        (
            "merge.at[2]",
            "value",
            json!({"merge": {"at": [null, null, "value"]}}),
        ),
        (
            r"nodeSelector.kubernetes\.io/role",
            "master",
            json!({"nodeSelector": {"kubernetes.io/role": "master"}}),
        ),
    ];
    for (path, value, want) in cases {
        let mut m = Map::new();
        replace_path(&mut m, path, value).unwrap();
        assert_eq!(&Value::Object(m), want, "{path}={value}");
    }
}

#[test]
fn inline_values_that_are_not_a_map_are_no_values() {
    assert!(inline_values(Some(&json!(["a"]))).is_empty());
    assert!(inline_values(None).is_empty());
}
