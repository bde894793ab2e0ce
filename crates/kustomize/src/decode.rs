//! Decoding kustomization entries as kustomize does (Go's `encoding/json`
//! with `DisallowUnknownFields`): keys match struct fields
//! case-insensitively, an unknown key is an error, and a value must have
//! the field's type. Errors name the field's path (`vars[0].objref.kind`).

use crate::value::{Map, Value};

/// Refuse keys that are none of `known` (with a "did you mean").
pub fn known_keys(m: &Map, known: &[&str], at: &str) -> Result<(), String> {
    for (k, _) in &m.0 {
        if !known.iter().any(|f| f.eq_ignore_ascii_case(k)) {
            let mut what = format!("{at}: unknown field {k:?}");
            if let Some(hint) = known
                .iter()
                .min_by_key(|f| strsim::damerau_levenshtein(&k.to_lowercase(), &f.to_lowercase()))
                .filter(|f| strsim::damerau_levenshtein(&k.to_lowercase(), &f.to_lowercase()) <= 3)
            {
                what.push_str(&format!("; did you mean `{hint}`?"));
            }
            return Err(what);
        }
    }
    Ok(())
}

/// A key, matched as Go's `encoding/json` matches struct fields (the last
/// of several spellings wins).
pub fn get<'m>(m: &'m Map, key: &str) -> Option<&'m Value> {
    m.0.iter()
        .rev()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

/// A mapping, or an error naming `at`.
pub fn map<'v>(v: &'v Value, at: &str) -> Result<&'v Map, String> {
    v.as_map()
        .ok_or_else(|| format!("{at}: expected a mapping"))
}

/// A string field (absent or null: empty).
pub fn string(m: &Map, key: &str, at: &str) -> Result<String, String> {
    match get(m, key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::Str(s)) => Ok(s.clone()),
        Some(other) => Err(format!(
            "{at}.{key}: expected a string, found {}; quote it",
            other
                .scalar_text()
                .unwrap_or_else(|| "a collection".to_string())
        )),
    }
}

/// A boolean field (absent or null: false).
pub fn boolean(m: &Map, key: &str, at: &str) -> Result<bool, String> {
    match get(m, key).map(Value::resolved) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(b),
        Some(_) => Err(format!("{at}.{key}: expected true or false")),
    }
}

/// An integer field (absent or null: 0), within Go's `int`.
pub fn int(m: &Map, key: &str, at: &str) -> Result<i64, String> {
    match get(m, key).map(Value::resolved) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Int(i)) => Ok(i),
        Some(_) => Err(format!("{at}.{key}: expected an integer")),
    }
}

/// A list of strings (absent or null: empty).
pub fn strings(m: &Map, key: &str, at: &str) -> Result<Vec<String>, String> {
    match get(m, key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Seq(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Str(s) => Ok(s.clone()),
                _ => Err(format!("{at}.{key}[{i}]: expected a string")),
            })
            .collect(),
        Some(_) => Err(format!("{at}.{key}: expected a list of strings")),
    }
}

/// A node as sigs.k8s.io/yaml hands it to `encoding/json`: YAML 1.1, so an
/// unquoted `yes`, `on`, `y` (and their negatives) is a boolean, unlike in
/// the resources, which kustomize reads as YAML 1.2.
pub fn from_node_yaml11(node: &ferroflux_api::yaml::Node) -> Value {
    use ferroflux_api::yaml::Value as Y;
    match &node.value {
        Y::Str {
            text,
            quoted: false,
        } => match text.as_str() {
            "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Value::Bool(true),
            "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => Value::Bool(false),
            _ => crate::value::from_node(node),
        },
        Y::Seq(items) => Value::Seq(items.iter().map(from_node_yaml11).collect()),
        Y::Map(entries) => Value::Map(Map(entries
            .iter()
            .map(|e| (e.key.clone(), from_node_yaml11(&e.value)))
            .collect())),
        _ => crate::value::from_node(node),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_1_1_booleans_only_when_unquoted() {
        let docs =
            ferroflux_api::yaml::parse_stream_raw("a: yes\nb: \"yes\"\nc: [off, on]\nd: x\n")
                .expect("yaml");
        let v = from_node_yaml11(docs[0].node.as_ref().expect("a document"));
        let m = v.as_map().expect("a mapping");
        assert_eq!(m.get("a"), Some(&Value::Bool(true)));
        assert_eq!(m.get("b"), Some(&Value::Str("yes".to_string())));
        assert_eq!(
            m.get("c"),
            Some(&Value::Seq(vec![Value::Bool(false), Value::Bool(true)]))
        );
        assert_eq!(m.get("d"), Some(&Value::Str("x".to_string())));
        assert_eq!(
            boolean(m, "a", "x"),
            Ok(true),
            "an unquoted yes is true for kustomize's decoder"
        );
        assert!(string(m, "a", "x").is_err(), "and not a string");
    }
}
