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
