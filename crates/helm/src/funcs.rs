//! Helm's own template functions (`pkg/engine/funcs.go` of Helm v4.2.4)
//! and the template objects Helm adds:
//! - the serialisers behind `toYaml` ([`yaml2`]: sigs.k8s.io/yaml over
//!   yaml.v2), `toYamlPretty` ([`yaml3`]), `toToml`/`fromToml` ([`toml`]:
//!   BurntSushi v1.6.0) and `toJson`/`fromJson` ([`json`]), each printing
//!   the bytes of the Go library Helm calls;
//! - [`helm_funcs`]: the whole function map, `lookup` through [`Lookup`];
//! - `.Files` ([`files`]) and `.Capabilities` ([`capabilities`]) as
//!   objects of `ferroflux-template`.
//!
//! Values a template builds can nest without end or share lists
//! exponentially: the serialisers refuse values past [`MAX_DEPTH`] levels
//! or [`MAX_NODES`] nodes instead of exhausting the stack or memory.

pub mod capabilities;
pub mod files;
pub mod json;
pub mod toml;
pub mod yaml2;
pub mod yaml3;

pub use capabilities::{
    Capabilities, HelmVersion, KubeVersion, KubeVersionError, capabilities_value,
    parse_kube_version,
};
pub use files::{Files, FilesObject, Glob, files_value};
pub use json::to_json;
pub use toml::{from_toml, to_toml};
pub use yaml2::to_yaml;
pub use yaml3::to_yaml_pretty;

/// How deep a value the serialisers take. Go's encoders recurse on a
/// growing stack (and `encoding/json` reports a cycle past 1000 levels);
/// ours refuse deeper values, which only a template looping `dict` into
/// itself builds, so that a chart cannot exhaust the renderer's stack.
pub const MAX_DEPTH: usize = 512;

fn too_deep() -> String {
    format!("value nested deeper than {MAX_DEPTH} levels (or a map that contains itself)")
}

/// `Err` when `value` nests deeper than [`MAX_DEPTH`].
pub(crate) fn check_depth(value: &serde_json::Value) -> Result<(), String> {
    fn walk(v: &serde_json::Value, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        match v {
            serde_json::Value::Array(items) => items.iter().all(|i| walk(i, depth + 1)),
            serde_json::Value::Object(m) => m.values().all(|i| walk(i, depth + 1)),
            _ => true,
        }
    }
    if walk(value, 0) {
        Ok(())
    } else {
        Err(too_deep())
    }
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)`, with the library's own
/// spelling of the infinities and NaN.
pub(crate) fn go_format_float(f: f64, inf: &str, nan: &str) -> String {
    if f.is_nan() {
        return nan.to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            inf.to_string()
        } else {
            format!("-{}", inf.trim_start_matches('+'))
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    // Go switches to %e below 1e-4 and, for the shortest form, from 1e21
    // down to the precision of 6 digits.
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    format!("{f}")
}

/// A scalar yaml.v2 and yaml.v3 read as a timestamp (`2001-01-01`, ...).
pub(crate) fn is_timestamp(s: &str) -> bool {
    ferroflux_kustomize::value::parse_timestamp(s).is_some()
}

use std::rc::Rc;

use ferroflux_template::{FuncMap, Param, Signature, Value};

/// `lookup apiVersion kind namespace name`: the object as Kubernetes
/// returns it (unstructured JSON), `{}` when it does not exist, or the
/// list (`{"items": [...]}`) when `name` is empty. The controller backs it
/// with the cluster; `helm template` with [`TemplateLookup`].
pub trait Lookup {
    fn lookup(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<serde_json::Value, String>;
}

/// `helm template`'s (and lint's) `lookup`: always an empty map.
#[derive(Debug, Clone, Copy, Default)]
pub struct TemplateLookup;

impl Lookup for TemplateLookup {
    fn lookup(&self, _: &str, _: &str, _: &str, _: &str) -> Result<serde_json::Value, String> {
        Ok(serde_json::Value::Object(serde_json::Map::new()))
    }
}

/// Helm's whole function map (`pkg/engine/funcs.go` plus the engine's
/// `lookup`): the engine's Helm map (sprig without `env`/`expandenv`,
/// `include`, `tpl`, `required`, `fail`, `getHostByName` = `""`) with the
/// serialisers, their `must` variants, the parsers and `lookup`.
pub fn helm_funcs(lookup: Rc<dyn Lookup>) -> FuncMap {
    let mut m = FuncMap::helm();
    let any = || Signature::new(&[Param::Any]);
    let string = || Signature::new(&[Param::Str]);
    m.insert("toYaml", any(), |a| {
        Ok(Value::str(yaml_text(&a[0]).unwrap_or_default()))
    });
    m.insert("mustToYaml", any(), |a| yaml_text(&a[0]).map(Value::str));
    m.insert("toYamlPretty", any(), |a| {
        Ok(Value::str(
            go_to_serde(&a[0])
                .and_then(|v| to_yaml_pretty(&v))
                .map(trim_newline)
                .unwrap_or_default(),
        ))
    });
    m.insert("toToml", any(), |a| {
        Ok(Value::str(match toml_text(&a[0]) {
            Ok(s) | Err(s) => s,
        }))
    });
    m.insert("mustToToml", any(), |a| toml_text(&a[0]).map(Value::str));
    m.insert("toJson", any(), |a| {
        Ok(Value::str(json_text(&a[0]).unwrap_or_default()))
    });
    m.insert("mustToJson", any(), |a| json_text(&a[0]).map(Value::str));
    m.insert("fromYaml", string(), |a| {
        Ok(from_map_result(from_yaml(str_arg(&a[0]))))
    });
    m.insert("fromYamlArray", string(), |a| {
        Ok(from_array_result(from_yaml_array(str_arg(&a[0]))))
    });
    m.insert("fromJson", string(), |a| {
        Ok(from_map_result(from_json(str_arg(&a[0]))))
    });
    m.insert("fromJsonArray", string(), |a| {
        Ok(from_array_result(from_json_array(str_arg(&a[0]))))
    });
    m.insert("fromToml", string(), |a| {
        Ok(match toml::from_toml_go(str_arg(&a[0])) {
            Ok(v) => v,
            Err(e) => Value::dict(vec![("Error".to_string(), Value::str(e))]),
        })
    });
    m.insert(
        "lookup",
        Signature::new(&[Param::Str, Param::Str, Param::Str, Param::Str]),
        move |a| {
            let [v, k, ns, n] = [0, 1, 2, 3].map(|i| str_arg(&a[i]).to_string());
            let found = lookup.lookup(&v, &k, &ns, &n)?;
            Ok(Value::from_json(&found))
        },
    );
    m
}

fn str_arg(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

fn trim_newline(s: String) -> String {
    match s.strip_suffix('\n') {
        Some(t) => t.to_string(),
        None => s,
    }
}

/// `yaml.Marshal` (sigs.k8s.io/yaml) of a template value, one trailing
/// newline removed.
fn yaml_text(v: &Value) -> Result<String, String> {
    check_go(v)?;
    yaml2::go_to_yaml(v).map(trim_newline)
}

/// `json.Marshal` (the engine's encoder) of a value within the bounds.
fn json_text(v: &Value) -> Result<String, String> {
    check_go(v)?;
    v.to_json_string()
}

/// How many maps, lists and scalars one serialisation visits. Templates
/// share values, so `$a = list $a $a` thirty times is a small value that
/// prints as a billion nodes.
pub const MAX_NODES: usize = 1 << 22;

/// A template value (maps may contain themselves, lists may share items)
/// within [`MAX_DEPTH`] and [`MAX_NODES`].
fn check_go(v: &Value) -> Result<(), String> {
    fn walk(v: &Value, depth: usize, budget: &mut usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(too_deep());
        }
        if *budget == 0 {
            return Err(format!(
                "value of more than {MAX_NODES} maps, lists and scalars"
            ));
        }
        *budget -= 1;
        match v {
            Value::List(l) => l.items.iter().try_for_each(|i| walk(i, depth + 1, budget)),
            Value::Map(m) => m
                .entries
                .borrow()
                .iter()
                .try_for_each(|(_, i)| walk(i, depth + 1, budget)),
            Value::Object(o) => o
                .underlying()
                .map_or(Ok(()), |u| walk(&u, depth + 1, budget)),
            _ => Ok(()),
        }
    }
    let mut budget = MAX_NODES;
    walk(v, 0, &mut budget)
}

fn toml_text(v: &Value) -> Result<String, String> {
    to_toml(&go_to_serde(v)?)
}

/// A template value as the Go encoders that take it directly (yaml.v3,
/// BurntSushi's TOML) see it: float64 stays a float (`1e+06`, `8080.0`),
/// integers stay integers; structs and objects as their JSON.
fn go_to_serde(v: &Value) -> Result<serde_json::Value, String> {
    check_go(v)?;
    go_to_serde_at(v, 0)
}

fn go_to_serde_at(v: &Value, depth: usize) -> Result<serde_json::Value, String> {
    use serde_json::Value as J;
    if depth > MAX_DEPTH {
        return Err(too_deep());
    }
    let go_to_serde = |v: &Value| go_to_serde_at(v, depth + 1);
    Ok(match v {
        Value::Invalid | Value::Nil => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) | Value::Int64(i) => J::from(*i),
        Value::Float(f) => match serde_json::Number::from_f64(*f) {
            Some(n) => J::Number(n),
            None => return Err(format!("unsupported value: {f}")),
        },
        Value::String(s) => J::String(s.to_string()),
        Value::List(l) => J::Array(l.items.iter().map(go_to_serde).collect::<Result<_, _>>()?),
        Value::Map(m) => {
            let mut out = serde_json::Map::new();
            for (k, val) in m.entries.borrow().iter() {
                out.insert(k.to_string(), go_to_serde(val)?);
            }
            J::Object(out)
        }
        other => {
            let json = other.to_json()?;
            check_depth(&json)?;
            json
        }
    })
}

/// Every number of decoded JSON or YAML as Go's `interface{}` decoding
/// gives it: a float64.
fn floats(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        J::Number(n) => {
            serde_json::Number::from_f64(n.as_f64().unwrap_or_default()).map_or(J::Null, J::Number)
        }
        J::Array(items) => J::Array(items.into_iter().map(floats).collect()),
        J::Object(m) => J::Object(m.into_iter().map(|(k, v)| (k, floats(v))).collect()),
        other => other,
    }
}

const MAP_TYPE: &str = "map[string]interface {}";
const ARRAY_TYPE: &str = "[]interface {}";

/// `fromYaml`: sigs.k8s.io/yaml into `map[string]interface{}`. `Err` is
/// the message Helm puts under the `Error` key.
pub fn from_yaml(text: &str) -> Result<serde_json::Value, String> {
    crate::values::unmarshal_map(text)
        .map(|m| floats(serde_json::Value::Object(m)))
        .map_err(yaml_error)
}

/// `fromYamlArray`: sigs.k8s.io/yaml into `[]interface{}`.
pub fn from_yaml_array(text: &str) -> Result<serde_json::Value, String> {
    crate::values::unmarshal_array(text)
        .map(|a| floats(serde_json::Value::Array(a)))
        .map_err(yaml_error)
}

/// Go's text of the error (the reader's message; its position is in the
/// text already where Go puts one).
fn yaml_error(e: crate::values::YamlError) -> String {
    if e.message.starts_with("error ") {
        e.message
    } else {
        format!("error converting YAML to JSON: {}", e.message)
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "bool",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

fn into_map(v: serde_json::Value) -> Result<serde_json::Value, &'static str> {
    match v {
        serde_json::Value::Null => Ok(serde_json::Value::Object(serde_json::Map::new())),
        v @ serde_json::Value::Object(_) => Ok(floats(v)),
        other => Err(json_kind(&other)),
    }
}

fn into_array(v: serde_json::Value) -> Result<serde_json::Value, &'static str> {
    match v {
        serde_json::Value::Null => Ok(serde_json::Value::Array(Vec::new())),
        v @ serde_json::Value::Array(_) => Ok(floats(v)),
        other => Err(json_kind(&other)),
    }
}

/// `fromJson`: `encoding/json` into `map[string]interface{}`.
pub fn from_json(text: &str) -> Result<serde_json::Value, String> {
    let v = json::parse(text)?;
    into_map(v)
        .map_err(|kind| format!("json: cannot unmarshal {kind} into Go value of type {MAP_TYPE}"))
}

/// `fromJsonArray`: `encoding/json` into `[]interface{}`.
pub fn from_json_array(text: &str) -> Result<serde_json::Value, String> {
    let v = json::parse(text)?;
    into_array(v)
        .map_err(|kind| format!("json: cannot unmarshal {kind} into Go value of type {ARRAY_TYPE}"))
}

/// A parser's map (numbers already float64), or `{"Error": message}`.
fn from_map_result(r: Result<serde_json::Value, String>) -> Value {
    match r {
        Ok(v) => Value::from_json(&v),
        Err(e) => Value::dict(vec![("Error".to_string(), Value::str(e))]),
    }
}

/// A parser's list (numbers already float64), or `[message]`.
fn from_array_result(r: Result<serde_json::Value, String>) -> Value {
    match r {
        Ok(v) => Value::from_json(&v),
        Err(e) => Value::iface_list(vec![Value::str(e)]),
    }
}
