//! `Chart.yaml` (and `requirements.yaml`) read as Helm reads them:
//! `sigs.k8s.io/yaml.Unmarshal` into `chart.Metadata`, i.e. YAML 1.1
//! scalars converted to strings where the Go field is a string (`version:
//! 1.10` is `"1.1"`, `name: yes` is `"true"`), JSON keys matched to fields
//! case-insensitively, the first type error reported as `encoding/json`
//! words it; then `Metadata.Validate` (sanitising and checks).

use std::collections::BTreeMap;

use ferroflux_api::yaml::{Node, Value as Yaml};
use serde_json::{Map, Value};

use super::{Dependency, Maintainer, Metadata};
use crate::values::yaml::{Scalar, go_float32_g_plain, resolve_plain, syntax, to_json};

/// What decoding found wrong: Go's message, and the line at fault.
#[derive(Debug)]
pub(crate) struct DecodeError {
    pub message: String,
    pub line: Option<usize>,
}

/// Metadata being decoded, with the null entries Go keeps as nil pointers
/// until `Validate` refuses them.
#[derive(Default)]
pub(crate) struct Decoded {
    pub md: Metadata,
    pub null_maintainer: bool,
    pub null_deps: Vec<usize>,
}

/// The first type error (Go's decoder goes on and reports the first).
#[derive(Default)]
struct Errors {
    first: Option<(String, usize)>,
    /// The line of the node being decoded.
    at: usize,
}

impl Errors {
    fn type_error(&mut self, kind: &str, strukt: &str, path: &str, ty: &str) {
        if self.first.is_none() {
            self.first = Some((
                format!(
                    "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {kind} into \
                 Go struct field {strukt}.{path} of type {ty}"
                ),
                self.at,
            ));
        }
    }
}

/// The JSON kind Go names in a type error.
pub(crate) fn kind(node: &Node) -> &'static str {
    match &node.value {
        Yaml::Seq(_) => "array",
        Yaml::Map(_) => "object",
        Yaml::Str { quoted: true, .. } => "string",
        Yaml::Str { text, .. } => match resolve_plain(text) {
            Scalar::Bool(_) => "bool",
            Scalar::Int(_) | Scalar::Uint(_) | Scalar::Float(_) => "number",
            Scalar::Null => "null",
            Scalar::Str => "string",
        },
        Yaml::Null => "null",
        Yaml::Bool(_) => "bool",
        Yaml::Int(_) | Yaml::Float(_) => "number",
    }
}

pub(crate) fn is_null(node: &Node) -> bool {
    kind(node) == "null"
}

/// A scalar for a Go `string` field: numbers and booleans become their
/// text as sigs.k8s.io/yaml converts them. `Ok(None)` is a JSON null (the
/// field is left alone); `Err` is the JSON kind that does not fit.
pub(crate) fn as_string(node: &Node) -> Result<Option<String>, &'static str> {
    match &node.value {
        Yaml::Str { text, quoted: true } => Ok(Some(text.clone())),
        Yaml::Str {
            text,
            quoted: false,
        } => Ok(match resolve_plain(text) {
            Scalar::Null => None,
            Scalar::Bool(b) => Some(b.to_string()),
            Scalar::Int(i) => Some(i.to_string()),
            Scalar::Uint(u) => Some(u.to_string()),
            Scalar::Float(f) => Some(go_float32_g_plain(f)),
            Scalar::Str => Some(text.clone()),
        }),
        Yaml::Seq(_) => Err("array"),
        Yaml::Map(_) => Err("object"),
        Yaml::Null => Ok(None),
        Yaml::Bool(b) => Ok(Some(b.to_string())),
        Yaml::Int(i) => Ok(Some(i.to_string())),
        Yaml::Float(f) => Ok(Some(go_float32_g_plain(*f))),
    }
}

pub(crate) fn as_bool(node: &Node) -> Result<Option<bool>, &'static str> {
    match &node.value {
        Yaml::Str {
            text,
            quoted: false,
        } => match resolve_plain(text) {
            Scalar::Bool(b) => Ok(Some(b)),
            Scalar::Null => Ok(None),
            _ => Err(kind(node)),
        },
        Yaml::Bool(b) => Ok(Some(*b)),
        Yaml::Null => Ok(None),
        _ => Err(kind(node)),
    }
}

/// A mapping's entries with keys as sigs.k8s.io/yaml names them, in the
/// order `encoding/json` sees them (sorted, as `json.Marshal` writes a map).
pub(crate) fn entries(node: &Node) -> Vec<(String, &Node)> {
    let Yaml::Map(es) = &node.value else {
        return Vec::new();
    };
    let mut by_key: BTreeMap<String, &Node> = BTreeMap::new();
    for e in es {
        let key = if e.key_quoted {
            e.key.clone()
        } else {
            match resolve_plain(&e.key) {
                Scalar::Bool(b) => b.to_string(),
                Scalar::Int(i) => i.to_string(),
                Scalar::Float(f) => crate::values::yaml::go_float32_g(f),
                _ => e.key.clone(),
            }
        };
        by_key.insert(key, &e.value);
    }
    by_key.into_iter().collect()
}

/// `encoding/json`'s field lookup: the exact name, else a case-insensitive
/// one.
pub(crate) fn field<'f>(key: &str, fields: &[&'f str]) -> Option<&'f str> {
    fields
        .iter()
        .find(|f| **f == key)
        .or_else(|| fields.iter().find(|f| f.eq_ignore_ascii_case(key)))
        .copied()
}

fn string_field(node: &Node, slot: &mut String, errs: &mut Errors, strukt: &str, path: &str) {
    match as_string(node) {
        Ok(Some(s)) => *slot = s,
        Ok(None) => {}
        Err(k) => errs.type_error(k, strukt, path, "string"),
    }
}

fn bool_field(node: &Node, slot: &mut bool, errs: &mut Errors, strukt: &str, path: &str) {
    match as_bool(node) {
        Ok(Some(b)) => *slot = b,
        Ok(None) => {}
        Err(k) => errs.type_error(k, strukt, path, "bool"),
    }
}

fn strings_field(node: &Node, slot: &mut Vec<String>, errs: &mut Errors, strukt: &str, path: &str) {
    match &node.value {
        Yaml::Seq(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                errs.at = item.line;
                match as_string(item) {
                    Ok(s) => out.push(s.unwrap_or_default()),
                    Err(k) => {
                        errs.type_error(k, strukt, path, "string");
                        out.push(String::new());
                    }
                }
            }
            *slot = out;
        }
        // JSON null into a slice makes it nil.
        _ if is_null(node) => slot.clear(),
        _ => errs.type_error(kind(node), strukt, path, "[]string"),
    }
}

/// Decodes a `Chart.yaml` (or `requirements.yaml`) document into `md`,
/// as `yaml.Unmarshal(data, md)` does (fields present overwrite).
pub(crate) fn decode_into(text: &str, dec: &mut Decoded) -> Result<(), DecodeError> {
    let docs =
        ferroflux_api::yaml::parse_stream_raw_last_key_wins(text).map_err(|e| DecodeError {
            message: syntax(&e).message,
            line: Some(e.line),
        })?;
    let Some(node) = docs.into_iter().next().and_then(|d| d.node) else {
        return Ok(());
    };
    decode_node(&node, dec)
}

/// [`decode_into`] of one parsed node (an index entry, for instance).
pub(crate) fn decode_node(node: &Node, dec: &mut Decoded) -> Result<(), DecodeError> {
    // The YAML → JSON step fails first (infinities, null keys).
    to_json(node).map_err(|e| DecodeError {
        message: e.message,
        line: Some(e.line),
    })?;
    if !matches!(node.value, Yaml::Map(_)) {
        let k = kind(node);
        return Err(DecodeError {
            message: format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {k} into \
                 Go value of type v2.Metadata"
            ),
            line: Some(node.line),
        });
    }
    let mut errs = Errors::default();
    let md = &mut dec.md;
    const S: &str = "Metadata";
    for (key, value) in entries(node) {
        let Some(f) = field(&key, METADATA_FIELDS) else {
            continue;
        };
        errs.at = value.line;
        let e = &mut errs;
        match f {
            "name" => string_field(value, &mut md.name, e, S, f),
            "home" => string_field(value, &mut md.home, e, S, f),
            "sources" => strings_field(value, &mut md.sources, e, S, f),
            "version" => string_field(value, &mut md.version, e, S, f),
            "description" => string_field(value, &mut md.description, e, S, f),
            "keywords" => strings_field(value, &mut md.keywords, e, S, f),
            "maintainers" => decode_maintainers(value, md, &mut dec.null_maintainer, e),
            "icon" => string_field(value, &mut md.icon, e, S, f),
            "apiVersion" => string_field(value, &mut md.api_version, e, S, f),
            "condition" => string_field(value, &mut md.condition, e, S, f),
            "tags" => string_field(value, &mut md.tags, e, S, f),
            "appVersion" => string_field(value, &mut md.app_version, e, S, f),
            "deprecated" => bool_field(value, &mut md.deprecated, e, S, f),
            "annotations" => decode_annotations(value, md, e),
            "kubeVersion" => string_field(value, &mut md.kube_version, e, S, f),
            "dependencies" => decode_dependencies(value, md, &mut dec.null_deps, e),
            _ => string_field(value, &mut md.kind, e, S, f),
        }
    }
    match errs.first {
        Some((message, line)) => Err(DecodeError {
            message,
            line: Some(line),
        }),
        None => Ok(()),
    }
}

fn decode_annotations(node: &Node, md: &mut Metadata, errs: &mut Errors) {
    match &node.value {
        Yaml::Map(_) => {
            let map = md.annotations.get_or_insert_with(BTreeMap::new);
            for (k, v) in entries(node) {
                errs.at = v.line;
                match as_string(v) {
                    Ok(s) => {
                        map.insert(k, s.unwrap_or_default());
                    }
                    Err(kind) => errs.type_error(kind, "Metadata", "annotations", "string"),
                }
            }
        }
        _ if is_null(node) => md.annotations = None,
        _ => errs.type_error(kind(node), "Metadata", "annotations", "map[string]string"),
    }
}

fn decode_maintainers(node: &Node, md: &mut Metadata, null: &mut bool, errs: &mut Errors) {
    match &node.value {
        Yaml::Seq(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                errs.at = item.line;
                if is_null(item) {
                    out.push(Maintainer::default());
                    continue;
                }
                if !matches!(item.value, Yaml::Map(_)) {
                    errs.type_error(kind(item), "Metadata", "maintainers", "v2.Maintainer");
                    out.push(Maintainer::default());
                    continue;
                }
                let mut m = Maintainer::default();
                for (key, value) in entries(item) {
                    let Some(f) = field(&key, &["name", "email", "url"]) else {
                        continue;
                    };
                    errs.at = value.line;
                    let path = format!("maintainers.{f}");
                    let slot = match f {
                        "name" => &mut m.name,
                        "email" => &mut m.email,
                        _ => &mut m.url,
                    };
                    string_field(value, slot, errs, "Maintainer", &path);
                }
                out.push(m);
            }
            *null = items.iter().any(is_null);
            md.maintainers = out;
        }
        _ if is_null(node) => {
            md.maintainers.clear();
            *null = false;
        }
        _ => errs.type_error(kind(node), "Metadata", "maintainers", "[]*v2.Maintainer"),
    }
}

fn decode_dependencies(
    node: &Node,
    md: &mut Metadata,
    null_deps: &mut Vec<usize>,
    errs: &mut Errors,
) {
    const FIELDS: &[&str] = &[
        "name",
        "version",
        "repository",
        "condition",
        "tags",
        "enabled",
        "import-values",
        "alias",
    ];
    const S: &str = "Dependency";
    match &node.value {
        Yaml::Seq(items) => {
            let mut out = Vec::with_capacity(items.len());
            let mut nulls = Vec::new();
            for (i, item) in items.iter().enumerate() {
                errs.at = item.line;
                if is_null(item) {
                    nulls.push(i);
                    out.push(Dependency::default());
                    continue;
                }
                if !matches!(item.value, Yaml::Map(_)) {
                    errs.type_error(kind(item), "Metadata", "dependencies", "v2.Dependency");
                    out.push(Dependency::default());
                    continue;
                }
                let mut d = Dependency::default();
                for (key, value) in entries(item) {
                    let Some(f) = field(&key, FIELDS) else {
                        continue;
                    };
                    errs.at = value.line;
                    let path = format!("dependencies.{f}");
                    match f {
                        "name" => string_field(value, &mut d.name, errs, S, &path),
                        "version" => string_field(value, &mut d.version, errs, S, &path),
                        "repository" => string_field(value, &mut d.repository, errs, S, &path),
                        "condition" => string_field(value, &mut d.condition, errs, S, &path),
                        "tags" => {
                            strings_field(value, &mut d.tags, errs, S, &path);
                        }
                        "enabled" => bool_field(value, &mut d.enabled, errs, S, &path),
                        "import-values" => match &value.value {
                            Yaml::Seq(items) => {
                                d.import_values = items
                                    .iter()
                                    .map(|n| to_json(n).unwrap_or(Value::Null))
                                    .collect();
                            }
                            _ if is_null(value) => d.import_values.clear(),
                            _ => errs.type_error(kind(value), S, &path, "[]interface {}"),
                        },
                        _ => string_field(value, &mut d.alias, errs, S, &path),
                    }
                }
                out.push(d);
            }
            *null_deps = nulls;
            md.dependencies = out;
            md.declares_dependencies = true;
        }
        _ if is_null(node) => {
            md.dependencies.clear();
            md.declares_dependencies = false;
            null_deps.clear();
        }
        _ => errs.type_error(kind(node), "Metadata", "dependencies", "[]*v2.Dependency"),
    }
}

/// Go's `unicode.IsSpace` → `' '`, non-printable runes dropped
/// (`sanitizeString`).
pub(crate) fn sanitize(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            if c.is_whitespace() {
                Some(' ')
            } else if is_go_print(c) {
                Some(c)
            } else {
                None
            }
        })
        .collect()
}

/// An approximation of Go's `unicode.IsPrint`: graphic runes and the ASCII
/// space; controls, format characters (`U+200B`, `U+FEFF`), surrogates,
/// private use and unassigned separators are not printable.
fn is_go_print(c: char) -> bool {
    if c.is_control() {
        return false;
    }
    let n = c as u32;
    let format = matches!(
        n,
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x890..=0x891 | 0x8E2 | 0x180E
            | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F | 0xFEFF
            | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD | 0x13430..=0x1343F | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F
    );
    let private = matches!(n, 0xE000..=0xF8FF | 0xF0000..=0xFFFFD | 0x100000..=0x10FFFD);
    let separators = matches!(n, 0x2028 | 0x2029);
    !(format || private || separators || n == 0xFFFE || n == 0xFFFF)
}

/// Helm's alias pattern `^[a-zA-Z0-9_-]+$`.
fn valid_alias(alias: &str) -> bool {
    !alias.is_empty()
        && alias
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `Metadata.Validate`: sanitises in place and checks; the error text is
/// Helm's (`validation: …`).
pub(crate) fn validate(dec: &mut Decoded) -> Result<(), String> {
    let md = &mut dec.md;
    let v = |s: String| Err(format!("validation: {s}"));
    md.name = sanitize(&md.name);
    md.description = sanitize(&md.description);
    md.home = sanitize(&md.home);
    md.icon = sanitize(&md.icon);
    md.condition = sanitize(&md.condition);
    md.tags = sanitize(&md.tags);
    md.app_version = sanitize(&md.app_version);
    md.kube_version = sanitize(&md.kube_version);
    for s in &mut md.sources {
        *s = sanitize(s);
    }
    for s in &mut md.keywords {
        *s = sanitize(s);
    }
    if md.api_version.is_empty() {
        return v("chart.metadata.apiVersion is required".into());
    }
    if md.name.is_empty() {
        return v("chart.metadata.name is required".into());
    }
    if md.name == "." || md.name == ".." {
        return v(format!(
            "chart.metadata.name {} is not allowed",
            crate::strvals::go_quote(&md.name)
        ));
    }
    if md.name.contains('/') {
        return v(format!(
            "chart.metadata.name {} is invalid",
            crate::strvals::go_quote(&md.name)
        ));
    }
    if md.version.is_empty() {
        return v("chart.metadata.version is required".into());
    }
    if super::semver::parse_loose(&md.version).is_none() {
        return v(format!(
            "chart.metadata.version {} is invalid",
            crate::strvals::go_quote(&md.version)
        ));
    }
    if !matches!(md.kind.as_str(), "" | "application" | "library") {
        return v("chart.metadata.type must be application or library".into());
    }
    if dec.null_maintainer {
        return v("maintainers must not contain empty or null nodes".into());
    }
    for m in &mut md.maintainers {
        m.name = sanitize(&m.name);
        m.email = sanitize(&m.email);
        m.url = sanitize(&m.url);
    }
    let mut seen = std::collections::HashSet::new();
    for (i, d) in md.dependencies.iter_mut().enumerate() {
        if dec.null_deps.contains(&i) {
            return v("dependencies must not contain empty or null nodes".into());
        }
        d.name = sanitize(&d.name);
        d.version = sanitize(&d.version);
        d.repository = sanitize(&d.repository);
        d.condition = sanitize(&d.condition);
        for t in &mut d.tags {
            *t = sanitize(t);
        }
        if !d.alias.is_empty() && !valid_alias(&d.alias) {
            return v(format!(
                "dependency {} has disallowed characters in the alias",
                crate::strvals::go_quote(&d.name)
            ));
        }
        let key = if d.alias.is_empty() {
            d.name.clone()
        } else {
            d.alias.clone()
        };
        if !seen.insert(key.clone()) {
            return v(format!(
                "more than one dependency with name or alias {}",
                crate::strvals::go_quote(&key)
            ));
        }
    }
    Ok(())
}

/// The `.Chart` map Helm v4 builds (`structToMap` of the metadata): Go
/// field names, nil slices as empty lists, nil annotations as null.
pub(crate) fn go_map(md: &Metadata) -> Map<String, Value> {
    let strings = |v: &[String]| -> Value {
        Value::Array(v.iter().map(|s| Value::String(s.clone())).collect())
    };
    let mut m = Map::new();
    m.insert("Name".into(), md.name.clone().into());
    m.insert("Home".into(), md.home.clone().into());
    m.insert("Sources".into(), strings(&md.sources));
    m.insert("Version".into(), md.version.clone().into());
    m.insert("Description".into(), md.description.clone().into());
    m.insert("Keywords".into(), strings(&md.keywords));
    m.insert(
        "Maintainers".into(),
        Value::Array(
            md.maintainers
                .iter()
                .map(|mt| {
                    let mut o = Map::new();
                    o.insert("Name".into(), mt.name.clone().into());
                    o.insert("Email".into(), mt.email.clone().into());
                    o.insert("URL".into(), mt.url.clone().into());
                    Value::Object(o)
                })
                .collect(),
        ),
    );
    m.insert("Icon".into(), md.icon.clone().into());
    m.insert("APIVersion".into(), md.api_version.clone().into());
    m.insert("Condition".into(), md.condition.clone().into());
    m.insert("Tags".into(), md.tags.clone().into());
    m.insert("AppVersion".into(), md.app_version.clone().into());
    m.insert("Deprecated".into(), md.deprecated.into());
    m.insert(
        "Annotations".into(),
        md.annotations.as_ref().map_or(Value::Null, |a| {
            Value::Object(
                a.iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect(),
            )
        }),
    );
    m.insert("KubeVersion".into(), md.kube_version.clone().into());
    m.insert(
        "Dependencies".into(),
        Value::Array(md.dependencies.iter().map(dependency_map).collect()),
    );
    m.insert("Type".into(), md.kind.clone().into());
    m
}

fn dependency_map(d: &Dependency) -> Value {
    let mut o = Map::new();
    o.insert("Name".into(), d.name.clone().into());
    o.insert("Version".into(), d.version.clone().into());
    o.insert("Repository".into(), d.repository.clone().into());
    o.insert("Condition".into(), d.condition.clone().into());
    o.insert(
        "Tags".into(),
        Value::Array(d.tags.iter().map(|t| Value::String(t.clone())).collect()),
    );
    o.insert("Enabled".into(), d.enabled.into());
    o.insert("ImportValues".into(), Value::Array(d.import_values.clone()));
    o.insert("Alias".into(), d.alias.clone().into());
    Value::Object(o)
}

/// `chart.Metadata`'s JSON field names, in its struct order (Chart.yaml's
/// keys; index entries and release records hold the same fields).
pub(crate) const METADATA_FIELDS: &[&str] = &[
    "name",
    "home",
    "sources",
    "version",
    "description",
    "keywords",
    "maintainers",
    "icon",
    "apiVersion",
    "condition",
    "tags",
    "appVersion",
    "deprecated",
    "annotations",
    "kubeVersion",
    "dependencies",
    "type",
];
