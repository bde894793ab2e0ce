//! A HelmRelease's values (`spec.values` and `spec.valuesFrom`), composed
//! as fluxcd/pkg `chartutil.ChartValuesFromReferences` does
//! (helm-semantics.md §10.1): each reference in order, merged or set at
//! its `targetPath`, then the inline values on top. Errors carry Flux's
//! text ("could not resolve Secret chart values reference 'ns/name' with
//! key 'values.yaml': …"), never a value.

use std::collections::BTreeMap;

use ferroflux_api::helm::{ValuesKind, ValuesReference};
use ferroflux_helm::strvals;
use ferroflux_helm::values::{merge_maps, unmarshal};
use serde_json::{Map, Value};

/// The largest values document read from one reference (a stranger's
/// ConfigMap must not exhaust memory): Kubernetes objects stop at 1 MiB
/// anyway; this bounds homes that read Secrets from files.
pub const MAX_VALUES_BYTES: usize = 3 * 1024 * 1024;

/// The objects `valuesFrom` names, as the home holds them: `Ok(None)`
/// when one does not exist, `Err` when it cannot be read.
pub trait ValuesSource {
    fn data(
        &self,
        kind: ValuesKind,
        namespace: &str,
        name: &str,
    ) -> Result<Option<BTreeMap<String, Vec<u8>>>, String>;
}

/// Why a reference could not be resolved (`ErrValuesReference`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValuesError {
    pub message: String,
}

fn error(namespace: &str, r: &ValuesReference, reason: &str) -> ValuesError {
    let mut m = String::from("could not resolve");
    if r.optional == Some(true) {
        m.push_str(" optional");
    }
    m.push(' ');
    m.push_str(r.kind.as_str());
    m.push_str(&format!(
        " chart values reference '{namespace}/{}' with key '{}': {reason}",
        r.name,
        r.values_key()
    ));
    ValuesError { message: m }
}

/// `ChartValuesFromReferences(namespace, values, refs...)`.
pub fn compose(
    namespace: &str,
    values: Option<&Value>,
    refs: &[ValuesReference],
    source: &dyn ValuesSource,
) -> Result<Map<String, Value>, ValuesError> {
    let mut inline = inline_values(values);
    let mut result = Map::new();
    for r in refs {
        let optional = r.optional == Some(true);
        let data = match source.data(r.kind, namespace, &r.name) {
            Ok(Some(d)) => d,
            Ok(None) if optional => continue,
            Ok(None) => return Err(error(namespace, r, "resource not found")),
            Err(e) => return Err(error(namespace, r, &e)),
        };
        let Some(bytes) = data.get(r.values_key()) else {
            if optional {
                continue;
            }
            return Err(error(namespace, r, "key not found"));
        };
        if bytes.len() > MAX_VALUES_BYTES {
            return Err(error(
                namespace,
                r,
                &format!(
                    "failed to read values data: larger than {MAX_VALUES_BYTES} bytes ({})",
                    bytes.len()
                ),
            ));
        }
        let text = String::from_utf8_lossy(bytes);
        if let Some(path) = r.target_path.as_deref().filter(|p| !p.is_empty()) {
            let before = result.clone();
            result = merge_maps(result, inline.clone());
            let set = if r.literal == Some(true) {
                replace_path_literal(&mut result, path, &text)
            } else {
                replace_path(&mut result, path, &text)
            };
            set.map_err(|e| error(namespace, r, &format!("failed to merge value: {e}")))?;
            share_aliases(&before, &mut inline, &result);
            continue;
        }
        let read = read_values(&text)
            .map_err(|e| error(namespace, r, &format!("failed to read values data: {e}")))?;
        result = merge_maps(result, read);
    }
    Ok(merge_maps(result, inline))
}

/// Go's `MergeMaps(result, values)` puts the inline values' own nested
/// maps and lists into the result wherever the result had no map to merge
/// them into, so that setting the target path there changes the inline
/// values too (chartutil's "target path precedence over all"): the inline
/// values take the result's value at every such place.
fn share_aliases(
    before: &Map<String, Value>,
    inline: &mut Map<String, Value>,
    after: &Map<String, Value>,
) {
    for (k, v) in inline.iter_mut() {
        let Some(now) = after.get(k) else { continue };
        match (before.get(k), &mut *v) {
            (Some(Value::Object(b)), Value::Object(i)) => {
                if let Value::Object(a) = now {
                    share_aliases(b, i, a);
                }
            }
            (_, Value::Object(_) | Value::Array(_)) => *v = now.clone(),
            _ => {}
        }
    }
}

/// `HelmRelease.GetValues`: the inline values as a map (anything else is
/// no values, as Go's ignored unmarshal error leaves it).
pub fn inline_values(values: Option<&Value>) -> Map<String, Value> {
    match values {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    }
}

/// Helm's `common.ReadValues`: one YAML document into a map; empty is
/// no values.
fn read_values(text: &str) -> Result<Map<String, Value>, String> {
    match unmarshal(text).map_err(|e| e.to_string())? {
        Value::Object(m) => Ok(m),
        Value::Null => Ok(Map::new()),
        other => Err(format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go \
             value of type map[string]interface {{}}",
            match other {
                Value::Array(_) => "array",
                Value::String(_) => "string",
                Value::Bool(_) => "bool",
                _ => "number",
            }
        )),
    }
}

/// `ReplacePathValue`: `path=value` with `--set` semantics; a value in
/// quotes (single or double, both ends) loses every quote at its ends
/// and is set with `--set-string` semantics.
pub fn replace_path(
    values: &mut Map<String, Value>,
    path: &str,
    value: &str,
) -> Result<(), strvals::StrvalsError> {
    let quoted = |q: char| value.starts_with(q) && value.ends_with(q);
    if quoted('\'') || quoted('"') {
        let trimmed = value.trim_matches(|c| c == '\'' || c == '"');
        return strvals::parse_into_string(&format!("{path}={trimmed}"), values);
    }
    strvals::parse_into(&format!("{path}={value}"), values)
}

/// `ReplacePathLiteralValue`: `\ , [ ] { }` escaped, set as a string.
pub fn replace_path_literal(
    values: &mut Map<String, Value>,
    path: &str,
    value: &str,
) -> Result<(), strvals::StrvalsError> {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | ',' | '[' | ']' | '{' | '}') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    strvals::parse_into_string(&format!("{path}={escaped}"), values)
}

#[cfg(test)]
mod tests;
