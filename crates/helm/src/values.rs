//! Values: YAML typed as Helm types it (`sigs.k8s.io/yaml`, YAML 1.1,
//! every number a float), values files (multi-document, deep-merged), the
//! CLI's value sources, and coalescing with the chart's defaults
//! (helm-semantics.md §3).

mod coalesce;
mod deps;
pub(crate) mod yaml;

pub use coalesce::{coalesce_values, merge_values};
pub use deps::process_dependencies;
pub use yaml::YamlError;

use crate::chart::Chart;

/// Why values could not be coalesced or dependencies processed; the text
/// is Helm's (`type mismatch on sub: %!t(string=x)`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub message: String,
}

/// What the renderer needs from a loaded chart and the user's values:
/// Helm's `ProcessDependencies` (conditions, tags and aliases decide which
/// subcharts stay in the returned tree; import-values and exports merged
/// into the parents' defaults) then `CoalesceValues` (the root's final
/// `.Values`; a subchart's `.Values` is the root's under its (aliased)
/// name). Every chart's `metadata.go_map` is refreshed (aliases, `Enabled`,
/// normalised `ImportValues`).
pub fn prepare(
    mut chart: Chart,
    user: Map<String, Value>,
) -> Result<(Chart, Map<String, Value>), Error> {
    process_dependencies(&mut chart, &user).map_err(|e| Error {
        message: format!("chart dependencies processing failed: {}", e.message),
    })?;
    let values = coalesce_values(&chart, user)?;
    refresh_go_maps(&mut chart);
    Ok((chart, values))
}

fn refresh_go_maps(chart: &mut Chart) {
    chart.metadata.refresh_go_map();
    for sub in &mut chart.dependencies {
        refresh_go_maps(sub);
    }
}

use serde_json::{Map, Value};

/// `sigs.k8s.io/yaml.Unmarshal(text, &v)` with `v interface{}`: the first
/// document of `text` (yaml.v2 reads no further), plain scalars resolved by
/// YAML 1.1 (`yes`/`off`/`y` booleans, `010` octal, `0x10`, `1_000`,
/// `0b11`), every number an `f64` (`Value::is_f64`), timestamps left as
/// strings, non-string keys stringified, the last of duplicate keys kept.
/// An empty text is `Null`.
pub fn unmarshal(text: &str) -> Result<Value, YamlError> {
    match first_node(text)? {
        Some(node) => yaml::to_json(&node),
        None => Ok(Value::Null),
    }
}

/// The first document's node (yaml.v2 reads no further), `None` when empty.
fn first_node(text: &str) -> Result<Option<ferroflux_api::yaml::Node>, YamlError> {
    let docs =
        ferroflux_api::yaml::parse_stream_raw_last_key_wins(text).map_err(|e| yaml::syntax(&e))?;
    Ok(docs.into_iter().next().and_then(|d| d.node))
}

/// [`unmarshal`] where only the top-level `keys` of a mapping are wanted
/// (a manifest's head): the other entries are checked for the round
/// trip's errors, in document order, but not converted.
pub fn unmarshal_keys(text: &str, keys: &[&str]) -> Result<Value, YamlError> {
    let Some(node) = first_node(text)? else {
        return Ok(Value::Null);
    };
    let ferroflux_api::yaml::Value::Map(entries) = &node.value else {
        return yaml::to_json(&node);
    };
    let mut map = Map::new();
    for e in entries {
        let key = yaml::json_key(e)?;
        if keys.contains(&key.as_str()) {
            map.insert(key, yaml::to_json(&e.value)?);
        } else {
            yaml::check_json(&e.value)?;
        }
    }
    Ok(Value::Object(map))
}

/// `sigs.k8s.io/yaml.Unmarshal(text, &m)` with `m map[string]any` (Helm's
/// `fromYaml`): a null document is an empty map, a list or scalar Go's
/// `encoding/json` type error.
pub fn unmarshal_map(text: &str) -> Result<Map<String, Value>, YamlError> {
    match unmarshal(text)? {
        Value::Object(m) => Ok(m),
        Value::Null => Ok(Map::new()),
        other => Err(json_type_error(&other, "map[string]interface {}")),
    }
}

/// `sigs.k8s.io/yaml.Unmarshal(text, &a)` with `a []any` (Helm's
/// `fromYamlArray`): a null document is an empty list.
pub fn unmarshal_array(text: &str) -> Result<Vec<Value>, YamlError> {
    match unmarshal(text)? {
        Value::Array(a) => Ok(a),
        Value::Null => Ok(Vec::new()),
        other => Err(json_type_error(&other, "[]interface {}")),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "array",
        Value::Object(_) => "object",
        Value::String(_) => "string",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::Null => "null",
    }
}

fn json_type_error(v: &Value, go_type: &str) -> YamlError {
    YamlError {
        line: 1,
        col: 1,
        message: format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go \
             value of type {go_type}",
            json_kind(v)
        ),
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
                let e = json_type_error(&other, "map[string]interface {}");
                return Err(YamlError {
                    line: start + 1,
                    col: 1,
                    message: format!("cannot unmarshal yaml document: {}", e.message),
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

/// Values given on the command line (`pkg/cli/values.Options`), merged by
/// [`Options::merge`] in Helm's fixed order whatever the order of the
/// flags: `-f` files, `--set-json`, `--set`, `--set-string`,
/// `--set-file`, `--set-literal`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// `-f`: (name as given, for errors; contents). Reading is the caller's.
    pub values_files: Vec<(String, String)>,
    pub set: Vec<String>,
    pub set_string: Vec<String>,
    /// `--set-file key=path`: the paths go to `merge`'s reader.
    pub set_file: Vec<String>,
    pub set_json: Vec<String>,
    pub set_literal: Vec<String>,
}

/// Why the command line's values could not be merged; the text is Helm's
/// (`failed parsing --set data: key "a" has no value`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct OptionsError {
    pub message: String,
    /// The values file's line, when a values file is at fault.
    pub line: Option<usize>,
}

impl Options {
    /// Helm's `Options.MergeValues`. `read_file` gives the contents of a
    /// `--set-file` path (its error is shown as is).
    pub fn merge(
        &self,
        read_file: &mut crate::strvals::FileReader<'_>,
    ) -> Result<Map<String, Value>, OptionsError> {
        use crate::strvals;
        let fail = |message: String| OptionsError {
            message,
            line: None,
        };
        let mut base = Map::new();
        for (name, text) in &self.values_files {
            let current = read_values(text).map_err(|e| OptionsError {
                message: format!("failed to parse {name}: {}", e.message),
                line: Some(e.line),
            })?;
            base = merge_maps(base, current);
        }
        for value in &self.set_json {
            let trimmed = value.trim();
            if trimmed.starts_with('{') {
                let parsed = serde_json::from_str::<Map<String, Value>>(trimmed)
                    .map_err(|_| fail(format!("failed parsing --set-json data JSON: {value}")))?;
                let Value::Object(parsed) = strvals::floats(Value::Object(parsed)) else {
                    unreachable!("floats keeps a map a map")
                };
                base = merge_maps(base, parsed);
            } else {
                strvals::parse_json(value, &mut base)
                    .map_err(|_| fail(format!("failed parsing --set-json data {value}")))?;
            }
        }
        for value in &self.set {
            strvals::parse_into(value, &mut base)
                .map_err(|e| fail(format!("failed parsing --set data: {e}")))?;
        }
        for value in &self.set_string {
            strvals::parse_into_string(value, &mut base)
                .map_err(|e| fail(format!("failed parsing --set-string data: {e}")))?;
        }
        for value in &self.set_file {
            strvals::parse_into_file(value, &mut base, read_file)
                .map_err(|e| fail(format!("failed parsing --set-file data: {e}")))?;
        }
        for value in &self.set_literal {
            strvals::parse_literal_into(value, &mut base)
                .map_err(|e| fail(format!("failed parsing --set-literal data: {e}")))?;
        }
        Ok(base)
    }
}
