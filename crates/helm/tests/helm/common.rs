//! Shared helpers of the test modules.

use serde_json::Value;

/// `v` with every number as an f64, so that helm's printed JSON (where
/// `8` reads back as an integer) compares with our floats by value; our
/// own values are checked to be floats separately.
pub fn numbers_as_f64(v: &Value) -> Value {
    match v {
        Value::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number),
        Value::Array(items) => Value::Array(items.iter().map(numbers_as_f64).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), numbers_as_f64(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Every number in `v` is a float (as Go's `encoding/json` gives them).
pub fn all_numbers_f64(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.is_f64(),
        Value::Array(items) => items.iter().all(all_numbers_f64),
        Value::Object(map) => map.values().all(all_numbers_f64),
        _ => true,
    }
}
