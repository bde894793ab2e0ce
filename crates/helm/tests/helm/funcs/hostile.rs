//! Arbitrary text into every parser and pattern of the module, arbitrary
//! trees into every serialiser: errors are fine, panics are not.

use ferroflux_helm::chart::File;
use ferroflux_helm::funcs::{self, Files, Glob};
use proptest::prelude::*;

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[\\[\\]{},*?!\\\\/a-c.-]{0,40}",
        "[{}\\[\\]\":,0-9a-z \\n\\t=#'.-]{0,80}",
    ]
}

fn tree() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        any::<String>().prop_map(serde_json::Value::String),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        any::<bool>().prop_map(serde_json::Value::Bool),
        Just(serde_json::Value::Null),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn parsers_and_globs_never_panic(s in text(), name in text()) {
        let _ = funcs::from_json(&s);
        let _ = funcs::from_json_array(&s);
        let _ = funcs::from_toml(&s);
        let _ = funcs::toml::from_toml_go(&s);
        let _ = funcs::from_yaml(&s);
        let _ = funcs::parse_kube_version(&s);
        if let Ok(g) = Glob::compile(&s) {
            let _ = g.is_match(&name);
        }
        let files = Files::new(&[File { name: name.clone(), data: s.clone().into_bytes() }]);
        let _ = files.glob(&s).as_config();
        let _ = files.lines(&name);
    }

    #[test]
    fn serialisers_never_panic(v in tree()) {
        let _ = funcs::to_yaml(&v);
        let _ = funcs::to_yaml_pretty(&v);
        let _ = funcs::to_toml(&v);
        let _ = funcs::to_json(&v);
        let _ = funcs::yaml2::go_to_yaml(&ferroflux_template::Value::from_json(&v));
    }
}
