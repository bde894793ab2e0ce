//! Values: YAML typed as Helm types it (`sigs.k8s.io/yaml`, YAML 1.1,
//! every number a float), values files (multi-document, deep-merged), the
//! CLI's value sources, and coalescing with the chart's defaults
//! (helm-semantics.md §3).

mod yaml;

pub use yaml::YamlError;

use serde_json::{Map, Value};

/// `sigs.k8s.io/yaml.Unmarshal(text, &v)` with `v interface{}`: the first
/// document of `text` (yaml.v2 reads no further), plain scalars resolved by
/// YAML 1.1 (`yes`/`off`/`y` booleans, `010` octal, `0x10`, `1_000`,
/// `0b11`), every number an `f64` (`Value::is_f64`), timestamps left as
/// strings, non-string keys stringified, the last of duplicate keys kept.
/// An empty text is `Null`.
pub fn unmarshal(text: &str) -> Result<Value, YamlError> {
    let docs =
        ferroflux_api::yaml::parse_stream_raw_last_key_wins(text).map_err(|e| yaml::syntax(&e))?;
    match docs.into_iter().next().and_then(|d| d.node) {
        Some(node) => yaml::to_json(&node),
        None => Ok(Value::Null),
    }
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)` (`%v` of a float64):
/// shortest digits, exponent form below 1e-4 and from 1e6
/// (`1000000` → `1e+06`).
pub fn go_format_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    yaml::go_g_shortest(&format!("{f:e}"))
}

/// A values file as Helm's `loader.LoadValues` reads it (`values.yaml`,
/// `-f`): documents split at lines starting with `---` (Kubernetes'
/// `YAMLReader`), each read by [`unmarshal`] into a map and deep-merged
/// into the documents before it ([`merge_maps`]). Error lines count from
/// the start of `text`.
pub fn read_values(text: &str) -> Result<Map<String, Value>, YamlError> {
    let mut values = Map::new();
    for (start, doc) in split_documents(text)? {
        let parsed = unmarshal(&doc).map_err(|e| wrap_document(e, start))?;
        match parsed {
            Value::Object(map) => values = merge_maps(values, map),
            Value::Null => {}
            other => {
                let kind = match other {
                    Value::Array(_) => "array",
                    Value::String(_) => "string",
                    Value::Bool(_) => "bool",
                    _ => "number",
                };
                return Err(YamlError {
                    line: start + 1,
                    col: 1,
                    message: format!(
                        "cannot unmarshal yaml document: error unmarshaling JSON: while decoding \
                         JSON: json: cannot unmarshal {kind} into Go value of type \
                         map[string]interface {{}}"
                    ),
                });
            }
        }
    }
    Ok(values)
}

fn wrap_document(e: YamlError, start: usize) -> YamlError {
    YamlError {
        message: format!("cannot unmarshal yaml document: {}", e.message),
        ..e
    }
    .shifted(start)
}

/// Kubernetes' `YAMLReader`: a line starting with `---` ends a document;
/// only spaces and a comment may follow the dashes. Returns each
/// non-empty document with the number of lines before it.
fn split_documents(text: &str) -> Result<Vec<(usize, String)>, YamlError> {
    let mut docs = Vec::new();
    let mut buffer = String::new();
    let mut start = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if let Some(rest) = line.strip_prefix("---") {
            let trimmed = rest.trim();
            if !trimmed.is_empty() && !trimmed.starts_with('#') {
                return Err(YamlError {
                    line: i + 1,
                    col: 1,
                    message: format!(
                        "error reading yaml document: invalid Yaml document separator: {trimmed}"
                    ),
                });
            }
            if !buffer.is_empty() {
                docs.push((start, std::mem::take(&mut buffer)));
            }
            start = i + 1;
            continue;
        }
        buffer.push_str(line);
    }
    if !buffer.is_empty() {
        docs.push((start, buffer));
    }
    Ok(docs)
}

/// Helm's `loader.MergeMaps(a, b)`: `b` wins; two maps under one key
/// merge recursively; nulls are kept.
pub fn merge_maps(mut a: Map<String, Value>, b: Map<String, Value>) -> Map<String, Value> {
    for (k, v) in b {
        match (a.get_mut(&k), v) {
            (Some(Value::Object(old)), Value::Object(new)) => {
                let merged = merge_maps(std::mem::take(old), new);
                *old = merged;
            }
            (_, v) => {
                a.insert(k, v);
            }
        }
    }
    a
}
