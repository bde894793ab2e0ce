//! `replacements` (kustomize's `ReplacementTransformer`, the last built-in
//! transformer): copy one field of one source resource into fields of the
//! selected targets.
//!
//! As kustomize: the source must be exactly one resource (matched by any id
//! it had); targets are selected by id (group, version, kind, exact name,
//! namespace), labels and annotations, minus `reject`; target paths take
//! `[key=value]` (an unanchored regular expression, as kyaml's
//! `PathMatcher`), indexes and `*`; a scalar target keeps its type and
//! takes the source's text, other targets take the source node.

use crate::decode;
use crate::fieldpath::{self, Create};
use crate::labelselector;
use crate::resource::{Gvk, ResId, Resource};
use crate::value::{Map, Value};

/// Replacements one kustomization may configure (files included).
pub const MAX_REPLACEMENTS: usize = 10_000;

/// `options` of a source or a target.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FieldOptions {
    pub delimiter: String,
    pub index: i64,
    pub create: bool,
}

/// A resource selector (`select`, `reject`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Selector {
    pub id: ResId,
    pub annotation_selector: String,
    pub label_selector: String,
}

/// One target of a replacement.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub select: Option<Selector>,
    pub reject: Vec<Selector>,
    pub field_paths: Vec<String>,
    pub options: Option<FieldOptions>,
}

/// One replacement.
#[derive(Debug, Clone, PartialEq)]
pub struct Replacement {
    pub source: Option<(ResId, String, Option<FieldOptions>)>,
    /// `None` when the entry has no `targets` key.
    pub targets: Option<Vec<Target>>,
    /// Where it was written (`file:line` or `file`), for messages.
    pub at: String,
}

/// One entry of `replacements` in a kustomization.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    Inline(Box<Replacement>),
    /// `path:` a file holding one replacement or a list of them.
    Path(String),
}

/// The `replacements` field of a kustomization (decoded strictly);
/// `at(i)` says where entry `i` is.
pub fn entries(value: &Value, at: &dyn Fn(usize) -> String) -> Result<Vec<Entry>, String> {
    entries_with(value, at, true)
}

/// The `replacements` of a `ReplacementTransformer` config in
/// `transformers` (decoded leniently, as kustomize reads plugin configs).
pub fn config_entries(value: &Value, at: &dyn Fn(usize) -> String) -> Result<Vec<Entry>, String> {
    entries_with(value, at, false)
}

fn entries_with(
    value: &Value,
    at: &dyn Fn(usize) -> String,
    strict: bool,
) -> Result<Vec<Entry>, String> {
    let Value::Seq(items) = value else {
        return Err("replacements: expected a list".to_string());
    };
    if items.len() > MAX_REPLACEMENTS {
        return Err(format!("more than {MAX_REPLACEMENTS} replacements"));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let here = format!("replacements[{i}]");
            let m = decode::map(item, &here)?;
            if strict {
                decode::known_keys(m, &["path", "source", "targets"], &here)?;
            }
            let path = decode::string(m, "path", &here)?;
            if !path.is_empty() {
                if decode::get(m, "source").is_some_and(|v| *v != Value::Null)
                    || decode::get(m, "targets")
                        .is_some_and(|v| !matches!(v, Value::Null) && *v != Value::Seq(vec![]))
                {
                    return Err(format!(
                        "{here}: cannot specify both path and inline replacement"
                    ));
                }
                return Ok(Entry::Path(path));
            }
            Ok(Entry::Inline(Box::new(replacement(
                m,
                &here,
                strict,
                at(i),
            )?)))
        })
        .collect()
}

/// The replacements of a `path:` file: one mapping or a list (decoded
/// leniently, as kustomize reads these files: unknown keys ignored).
pub fn from_file(text: &str, file: &str) -> Result<Vec<Replacement>, String> {
    let docs = ferroflux_api::yaml::parse_stream_raw(text)
        .map_err(|e| format!("{file}:{}: {}", e.line, e.message))?;
    let Some(node) = docs.into_iter().find_map(|d| d.node) else {
        return Err(format!(
            "{file}: unsupported replacement type encountered within replacement path: invalid"
        ));
    };
    let line_of = |i: usize| match &node.value {
        ferroflux_api::yaml::Value::Seq(items) => items.get(i).map_or(node.line, |n| n.line),
        _ => node.line,
    };
    match decode::from_node_yaml11(&node) {
        Value::Seq(items) => {
            if items.len() > MAX_REPLACEMENTS {
                return Err(format!("{file}: more than {MAX_REPLACEMENTS} replacements"));
            }
            items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let here = format!("{file}:{}: replacement {i}", line_of(i));
                    let m = decode::map(item, &here)?;
                    replacement(m, &here, false, format!("{file}:{}", line_of(i)))
                })
                .collect()
        }
        Value::Map(m) => Ok(vec![replacement(
            &m,
            file,
            false,
            format!("{file}:{}", node.line),
        )?]),
        other => Err(format!(
            "{file}: unsupported replacement type encountered within replacement path: {}",
            match other {
                Value::Null => "invalid",
                _ => "a scalar",
            }
        )),
    }
}

fn replacement(m: &Map, here: &str, strict: bool, at: String) -> Result<Replacement, String> {
    let check = |m: &Map, known: &[&str], at: &str| {
        if strict {
            decode::known_keys(m, known, at)
        } else {
            Ok(())
        }
    };
    if strict {
        decode::known_keys(m, &["path", "source", "targets"], here)?;
    }
    let source = match decode::get(m, "source") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let sat = format!("{here}.source");
            let s = decode::map(v, &sat)?;
            check(
                s,
                &[
                    "group",
                    "version",
                    "kind",
                    "name",
                    "namespace",
                    "fieldPath",
                    "options",
                ],
                &sat,
            )?;
            Some((
                res_id(s, &sat)?,
                decode::string(s, "fieldPath", &sat)?,
                options(s, &sat, strict)?,
            ))
        }
    };
    let targets = match decode::get(m, "targets") {
        None | Some(Value::Null) => None,
        Some(Value::Seq(items)) => Some(
            items
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    let tat = format!("{here}.targets[{i}]");
                    let t = decode::map(t, &tat)?;
                    check(t, &["select", "reject", "fieldPaths", "options"], &tat)?;
                    let select = match decode::get(t, "select") {
                        None | Some(Value::Null) => None,
                        Some(v) => Some(selector(v, &format!("{tat}.select"), strict)?),
                    };
                    let reject = match decode::get(t, "reject") {
                        None | Some(Value::Null) => Vec::new(),
                        Some(Value::Seq(list)) => list
                            .iter()
                            .enumerate()
                            .map(|(j, r)| selector(r, &format!("{tat}.reject[{j}]"), strict))
                            .collect::<Result<_, _>>()?,
                        Some(_) => return Err(format!("{tat}.reject: expected a list")),
                    };
                    Ok(Target {
                        select,
                        reject,
                        field_paths: decode::strings(t, "fieldPaths", &tat)?,
                        options: options(t, &tat, strict)?,
                    })
                })
                .collect::<Result<Vec<_>, String>>()?,
        ),
        Some(_) => return Err(format!("{here}.targets: expected a list")),
    };
    Ok(Replacement {
        source,
        targets,
        at,
    })
}

fn res_id(m: &Map, at: &str) -> Result<ResId, String> {
    Ok(ResId {
        gvk: Gvk {
            group: decode::string(m, "group", at)?,
            version: decode::string(m, "version", at)?,
            kind: decode::string(m, "kind", at)?,
        },
        name: decode::string(m, "name", at)?,
        namespace: decode::string(m, "namespace", at)?,
    })
}

fn selector(v: &Value, at: &str, strict: bool) -> Result<Selector, String> {
    let m = decode::map(v, at)?;
    if strict {
        decode::known_keys(
            m,
            &[
                "group",
                "version",
                "kind",
                "name",
                "namespace",
                "annotationSelector",
                "labelSelector",
            ],
            at,
        )?;
    }
    let s = Selector {
        id: res_id(m, at)?,
        annotation_selector: decode::string(m, "annotationSelector", at)?,
        label_selector: decode::string(m, "labelSelector", at)?,
    };
    // Refuse a malformed selector when it is read, naming it.
    labelselector::Selector::parse(&s.annotation_selector)
        .map_err(|e| format!("{at}.annotationSelector: {e}"))?;
    labelselector::Selector::parse(&s.label_selector)
        .map_err(|e| format!("{at}.labelSelector: {e}"))?;
    Ok(s)
}

fn options(m: &Map, at: &str, strict: bool) -> Result<Option<FieldOptions>, String> {
    let Some(v) = decode::get(m, "options").filter(|v| **v != Value::Null) else {
        return Ok(None);
    };
    let oat = format!("{at}.options");
    let o = decode::map(v, &oat)?;
    if strict {
        decode::known_keys(o, &["delimiter", "index", "encoding", "create"], &oat)?;
    }
    Ok(Some(FieldOptions {
        delimiter: decode::string(o, "delimiter", &oat)?,
        index: decode::int(o, "index", &oat)?,
        create: decode::boolean(o, "create", &oat)?,
    }))
}

/// kyaml's `ResId.String()` for a selector in messages.
fn selector_text(id: &ResId, path: &str, options: Option<&FieldOptions>) -> String {
    let mut parts = vec![id.display()];
    if !path.is_empty() {
        parts.push(path.to_string());
    }
    if let Some(o) = options.filter(|o| !o.delimiter.is_empty() || o.create) {
        parts.push(format!("{}({}), create={}", o.delimiter, o.index, o.create));
    }
    parts.join(":")
}

/// Namespaces as replacements compare them: empty is `default` (kustomize
/// builds these ids without knowing cluster-scoped kinds).
fn ns_equal(a: &str, b: &str) -> bool {
    let eff = |s: &str| if s.is_empty() { "default" } else { s }.to_string();
    eff(a) == eff(b)
}

/// kyaml's `ResId.IsSelectedBy`.
fn selected(id: &ResId, by: &ResId) -> bool {
    (by.name.is_empty() || by.name == id.name)
        && (by.namespace.is_empty() || ns_equal(&by.namespace, &id.namespace))
        && id.gvk.is_selected(&by.gvk)
}

fn id_is_empty(id: &ResId) -> bool {
    *id == ResId::default()
}

/// Run the replacements, in order.
pub fn run(resources: &mut [Resource], list: &[Replacement]) -> Result<(), String> {
    for r in list {
        apply_one(resources, r).map_err(|e| format!("replacement at {}: {e}", r.at))?;
    }
    Ok(())
}

fn apply_one(resources: &mut [Resource], r: &Replacement) -> Result<(), String> {
    let (Some(source), Some(targets)) = (&r.source, &r.targets) else {
        return Err("replacements must specify a source and at least one target".to_string());
    };
    let value = source_value(resources, source)?;
    for t in targets {
        let Some(select) = &t.select else {
            return Err("target must specify resources to select".to_string());
        };
        let paths: Vec<String> = if t.field_paths.is_empty() {
            vec![crate::vars::DEFAULT_FIELD_PATH.to_string()]
        } else {
            t.field_paths.clone()
        };
        for res in resources.iter_mut() {
            if !by_labels_and_annotations(res, select, &t.reject)? {
                continue;
            }
            let ids = res.all_ids();
            let rejected = t
                .reject
                .iter()
                .any(|rj| !id_is_empty(&rj.id) && ids.iter().any(|id| selected(id, &rj.id)));
            if rejected || !ids.iter().any(|id| selected(id, &select.id)) {
                continue;
            }
            let what = format!("{} ({})", res.cur_id().display(), res.source);
            for fp in &paths {
                copy_to(&mut res.value, &value, fp, t.options.as_ref())
                    .map_err(|e| format!("target {what}: {e}"))?;
            }
        }
    }
    Ok(())
}

fn matches_selectors(res: &Resource, s: &Selector) -> Result<bool, String> {
    if s.annotation_selector.is_empty() && s.label_selector.is_empty() {
        return Ok(true);
    }
    let annotations = labelselector::Selector::parse(&s.annotation_selector)?;
    let labels = labelselector::Selector::parse(&s.label_selector)?;
    Ok(annotations.matches(&res.metadata_map("annotations"))
        && labels.matches(&res.metadata_map("labels")))
}

fn by_labels_and_annotations(
    res: &Resource,
    select: &Selector,
    reject: &[Selector],
) -> Result<bool, String> {
    if !matches_selectors(res, select)? {
        return Ok(false);
    }
    for rj in reject {
        if rj.annotation_selector.is_empty() && rj.label_selector.is_empty() {
            continue;
        }
        if matches_selectors(res, rj)? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn source_value(
    resources: &[Resource],
    (id, path, options): &(ResId, String, Option<FieldOptions>),
) -> Result<Value, String> {
    let text = || selector_text(id, path, options.as_ref());
    let mut found: Option<&Resource> = None;
    for r in resources {
        if r.all_ids().iter().any(|i| selected(i, id)) {
            if found.is_some() {
                return Err(format!("multiple matches for selector {}", text()));
            }
            found = Some(r);
        }
    }
    let Some(r) = found else {
        return Err(format!("nothing selected by {}", text()));
    };
    let path = if path.is_empty() {
        crate::vars::DEFAULT_FIELD_PATH
    } else {
        path
    };
    let node = fieldpath::lookup(&r.value, &fieldpath::split(path))
        .map_err(|e| format!("error looking up replacement source: {e}"))?;
    let node = match node {
        None | Some(Value::Null) => None,
        Some(Value::Map(m)) if m.is_empty() => None,
        Some(Value::Seq(s)) if s.is_empty() => None,
        Some(n) => Some(n),
    };
    let Some(node) = node else {
        return Err(format!(
            "fieldPath `{path}` is missing for replacement source {}",
            id.display()
        ));
    };
    let Some(o) = options.as_ref().filter(|o| !o.delimiter.is_empty()) else {
        return Ok(node.clone());
    };
    let Some(text) = scalar(node) else {
        return Err("delimiter option can only be used with scalar nodes".to_string());
    };
    let parts: Vec<&str> = text.split(o.delimiter.as_str()).collect();
    let Some(part) = usize::try_from(o.index).ok().and_then(|i| parts.get(i)) else {
        return Err(format!(
            "options.index {} is out of bounds for value {text}",
            o.index
        ));
    };
    // The part keeps the source's type (kyaml copies the node, then sets
    // its text).
    Ok(retyped(node, part))
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::Map(_) | Value::Seq(_) => None,
        other => other.scalar_text(),
    }
}

/// `text` in a scalar of the type `like` has, or the source's text as a
/// string when that type cannot hold it (a source part refined by a
/// delimiter).
fn retyped(like: &Value, text: &str) -> Value {
    decode_as(like, text).unwrap_or_else(|_| Value::Str(text.to_string()))
}

/// The tag yaml.v3 gives a value (a timestamp-looking plain scalar
/// resolves as a string when the node has no tag).
fn tag(v: &Value) -> &'static str {
    match v.resolved() {
        Value::Null => "!!null",
        Value::Bool(_) => "!!bool",
        Value::Int(_) | Value::Uint(_) => "!!int",
        Value::Float(_) => "!!float",
        Value::Seq(_) => "!!seq",
        Value::Map(_) => "!!map",
        Value::Str(_) | Value::Timestamp(_) | Value::Spelled(_) => "!!str",
    }
}

/// A scalar node of `like`'s tag holding `text`, decoded as yaml.v3
/// decodes it when kustomize prints: kyaml sets only the text and keeps
/// the tag, so `12` in an int stays an int and `abc` in an int fails.
fn decode_as(like: &Value, text: &str) -> Result<Value, String> {
    let plain = plain(text);
    let want = match like {
        Value::Str(_) => return Ok(Value::Str(text.to_string())),
        Value::Timestamp(_) => {
            if crate::value::parse_timestamp(text).is_some() {
                return Ok(Value::Timestamp(text.to_string()));
            }
            "!!timestamp"
        }
        other => tag(other),
    };
    let got = tag(&plain);
    match (want, got) {
        (w, g) if w == g => Ok(plain),
        ("!!float", "!!int") => match plain.resolved() {
            Value::Int(i) => Ok(Value::Float(i as f64)),
            _ => Ok(plain),
        },
        _ => Err(format!("yaml: cannot decode {got} `{text}` as a {want}")),
    }
}

fn copy_to(
    target: &mut Value,
    value: &Value,
    fp: &str,
    options: Option<&FieldOptions>,
) -> Result<(), String> {
    let create = options.filter(|o| o.create).map(|_| match value {
        Value::Map(_) => Create::Map,
        Value::Seq(_) => Create::Seq,
        _ => Create::Scalar,
    });
    let retrieval = || {
        if create.is_some() {
            format!("unable to find or create field {fp:?} in replacement target")
        } else {
            format!("unable to find field {fp:?} in replacement target")
        }
    };
    let reached = fieldpath::matches(target, &fieldpath::split(fp), create)
        .map_err(|e| format!("{}: {e}", retrieval()))?;
    if reached.is_empty() {
        return Err(retrieval());
    }
    for slot in reached {
        set_field(slot, value, options)?;
    }
    Ok(())
}

fn set_field(
    slot: fieldpath::Reached,
    value: &Value,
    options: Option<&FieldOptions>,
) -> Result<(), String> {
    let mut text = scalar(value);
    if let Some(o) = options.filter(|o| !o.delimiter.is_empty()) {
        let Some(current) = scalar(slot.node) else {
            return Err("delimiter option can only be used with scalar nodes".to_string());
        };
        let mut parts: Vec<String> = current
            .split(o.delimiter.as_str())
            .map(str::to_string)
            .collect();
        let v = text.clone().unwrap_or_default();
        match usize::try_from(o.index) {
            Err(_) => parts.insert(0, v),
            Ok(i) if i >= parts.len() => parts.push(v),
            Ok(i) => parts[i] = v,
        }
        text = Some(parts.join(&o.delimiter));
    }
    match (&*slot.node, text) {
        (Value::Map(_) | Value::Seq(_), _) | (_, None) => *slot.node = value.clone(),
        // A created scalar is untagged: its text resolves as a plain
        // YAML scalar.
        (_, Some(t)) if slot.created => *slot.node = plain(&t),
        (old, Some(t)) => *slot.node = decode_as(old, &t)?,
    }
    Ok(())
}

/// The value a plain (unquoted, untagged) scalar `text` has.
fn plain(text: &str) -> Value {
    crate::value::from_node(&ferroflux_api::yaml::Node {
        value: ferroflux_api::yaml::Value::Str {
            text: text.to_string(),
            quoted: false,
        },
        line: 0,
        col: 0,
    })
}

#[cfg(test)]
mod tests;
