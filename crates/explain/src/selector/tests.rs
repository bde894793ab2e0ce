use std::collections::BTreeMap;

use ferroflux_api::meta::LabelSelector;

use super::*;

fn selector(json: serde_json::Value) -> LabelSelector {
    serde_json::from_value(json).expect("selector")
}

#[test]
fn selects_like_kubernetes() {
    let labels: BTreeMap<String, String> = [("tier", "web"), ("env", "prod")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let cases = [
        (serde_json::json!({}), Ok(true)),
        (
            serde_json::json!({"matchLabels": {"tier": "web"}}),
            Ok(true),
        ),
        (
            serde_json::json!({"matchLabels": {"tier": "db"}}),
            Ok(false),
        ),
        (
            serde_json::json!({"matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "stage"]}]}),
            Ok(true),
        ),
        (
            serde_json::json!({"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]}),
            Ok(false),
        ),
        (
            serde_json::json!({"matchExpressions": [{"key": "team", "operator": "DoesNotExist"}]}),
            Ok(true),
        ),
        (
            serde_json::json!({"matchExpressions": [{"key": "team", "operator": "Exists"}]}),
            Ok(false),
        ),
        (
            serde_json::json!({"matchLabels": {"tier": "db"}, "matchExpressions": [{"key": "x", "operator": "Bogus"}]}),
            Err("operator \"Bogus\""),
        ),
        (
            serde_json::json!({"matchExpressions": [{"key": "x", "operator": "In"}]}),
            Err("at least one value"),
        ),
    ];
    for (json, want) in cases {
        let sel = selector(json.clone());
        match (matches(Some(&sel), &labels), want) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{json}"),
            (Err(e), Err(msg)) => assert!(e.to_string().contains(msg), "{json}: {e}"),
            (got, want) => panic!("{json}: got {got:?}, want {want:?}"),
        }
    }
    assert_eq!(matches(None, &labels), Ok(true));
}

#[test]
fn describes_selectors() {
    let sel = selector(
        serde_json::json!({"matchLabels": {"a": "b"}, "matchExpressions": [{"key": "c", "operator": "In", "values": ["x", "y"]}]}),
    );
    assert_eq!(describe(Some(&sel)), "{a=b, c In (x, y)}");
    assert_eq!(describe(None), "(none: all policies)");
}
