//! Strategic merge patch as kustomize 5.6 applies it (kyaml's `merge2`
//! walked over the resource and the patch, with new list elements in front).
//!
//! Merge keys and strategies come from the build's OpenAPI schema
//! ([`schema`]; kustomize's built-in Kubernetes one unless `openapi` names
//! another, [`crate::openapi`]): a list is merged element by element
//! when its field has `x-kubernetes-patch-strategy` with `merge`, keyed by
//! `x-kubernetes-list-map-keys` or `x-kubernetes-patch-merge-key`; any other
//! list, and every list of a kind without a schema (custom resources), is
//! replaced whole, maps are merged key by key (JSON merge patch, RFC 7386).
//! A null deletes a field; `$patch: delete|replace|merge` works on maps,
//! list elements and (as an element of its own) lists. kustomize 5.6 does
//! not read `$setElementOrder/…`, `$deleteFromPrimitiveList/…` or
//! `$retainKeys`: they are merged as ordinary fields, and so they are here
//! (the output must match kustomize's byte for byte).
//!
//! Pure and bounded: nesting deeper than [`MAX_DEPTH`] and lists longer
//! than [`MAX_LIST`] are refused.

pub mod schema;

use crate::value::{Value, resolve_plain};
use schema::{Schema, Table};

/// Deepest nesting a merge walks.
pub const MAX_DEPTH: usize = 256;
/// Longest list a merge matches element by element (matching is quadratic).
pub const MAX_LIST: usize = 10_000;

/// The `$patch` directive key.
const DIRECTIVE: &str = "$patch";

/// A merge failure, worded as kyaml words it, with the field path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}{}", if path.is_empty() { String::new() } else { format!(" (at {path})") })]
pub struct MergeError {
    pub message: String,
    /// The dotted path of the field being merged.
    pub path: String,
}

/// Merge `patch` into `dest`. `None`: the patch deleted the whole object
/// (`$patch: delete` at the top).
pub fn merge(table: &Table, dest: &Value, patch: &Value) -> Result<Option<Value>, MergeError> {
    let mut w = Walker {
        path: Vec::new(),
        table,
    };
    let out = w.walk(Some(dest.clone()), Some(patch.clone()), None)?;
    Ok(match out.value {
        Some(Value::Null) if !out.keep_null => None,
        v => v,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Directive {
    Merge,
    Replace,
    Delete,
}

/// What a walk gave back.
struct Walked {
    /// `None`: clear the field.
    value: Option<Value>,
    /// The result is the destination node, changed in place (kyaml merges
    /// list elements in place; what was not changed in place is put back).
    from_dest: bool,
    /// A null kept from the destination (kyaml's persistent null).
    keep_null: bool,
}

impl Walked {
    fn clear() -> Self {
        Walked {
            value: None,
            from_dest: false,
            keep_null: false,
        }
    }
    fn of(value: Option<Value>, from_dest: bool) -> Self {
        Walked {
            value,
            from_dest,
            keep_null: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    None,
    Map,
    Seq,
    Scalar,
}

fn kind_of(v: &Value) -> Kind {
    match v {
        Value::Null => Kind::None,
        Value::Map(_) => Kind::Map,
        Value::Seq(_) => Kind::Seq,
        _ => Kind::Scalar,
    }
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Map => "MappingNode",
        Kind::Seq => "SequenceNode",
        Kind::Scalar => "ScalarNode",
        Kind::None => "null",
    }
}

fn is_null(v: &Option<Value>) -> bool {
    matches!(v, None | Some(Value::Null))
}

fn is_empty_map(v: &Option<Value>) -> bool {
    is_null(v) || matches!(v, Some(Value::Map(m)) if m.is_empty())
}

/// The text kyaml's `YNode().Value` holds (empty for maps, lists, null).
fn text(v: &Value) -> String {
    match v {
        Value::Map(_) | Value::Seq(_) | Value::Null => String::new(),
        other => other.scalar_text().unwrap_or_default(),
    }
}

/// kyaml's `IsNilOrEmpty` for a field value.
fn nil_or_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Map(m) => m.is_empty(),
        Value::Seq(s) => s.is_empty(),
        Value::Str(s) => s.is_empty(),
        _ => false,
    }
}

/// A plain scalar made from text, typed as yaml.v3 reads it.
pub(crate) fn plain(text: &str) -> Value {
    match resolve_plain(text) {
        Value::Int(i) if i.to_string() != text => Value::Spelled(text.to_string()),
        Value::Bool(b) if b.to_string() != text => Value::Spelled(text.to_string()),
        Value::Uint(u) if u.to_string() != text => Value::Spelled(text.to_string()),
        Value::Float(f) if f.to_string() != text => Value::Spelled(text.to_string()),
        Value::Null if !text.is_empty() => Value::Str(text.to_string()),
        other => other,
    }
}

struct Walker<'t> {
    path: Vec<String>,
    table: &'t Table,
}

impl Walker<'_> {
    fn error(&self, message: String) -> MergeError {
        MergeError {
            message,
            path: self.path.join("."),
        }
    }

    /// kyaml's `Walker.GetSchema`: the schema given, else the one of the
    /// first source that names an apiVersion and kind the schema knows.
    fn schema_of(&self, given: Option<Schema>, sources: [&Option<Value>; 2]) -> Option<Schema> {
        if given.is_some() {
            return given;
        }
        for s in sources.into_iter().flatten() {
            let field = |k: &str| {
                s.get(k)
                    .filter(|v| !nil_or_empty(v))
                    .map(text)
                    .unwrap_or_default()
            };
            let (api_version, kind) = (field("apiVersion"), field("kind"));
            if api_version.is_empty() || kind.is_empty() {
                continue;
            }
            if let Some(found) = self.table.for_type(&api_version, &kind) {
                return Some(found);
            }
        }
        None
    }

    fn walk(
        &mut self,
        dest: Option<Value>,
        patch: Option<Value>,
        schema: Option<Schema>,
    ) -> Result<Walked, MergeError> {
        if self.path.len() > MAX_DEPTH {
            return Err(self.error(format!("the patch nests deeper than {MAX_DEPTH} levels")));
        }
        let schema = self.schema_of(schema, [&dest, &patch]);
        let kind = [&dest, &patch]
            .into_iter()
            .flatten()
            .map(kind_of)
            .find(|k| *k != Kind::None)
            .unwrap_or(Kind::None);
        for s in [&dest, &patch].into_iter().flatten() {
            let k = kind_of(s);
            if k != Kind::None && k != kind && kind != Kind::None {
                return Err(self.error(format!(
                    "wrong node kind: expected {} but got {}",
                    kind_name(kind),
                    kind_name(k)
                )));
            }
        }
        match kind {
            Kind::Map | Kind::None => self.walk_map(dest, patch, schema),
            Kind::Seq => {
                if schema.as_ref().is_some_and(Schema::is_associative) {
                    self.walk_associative(dest, patch, schema)
                } else if patch.is_some() {
                    Ok(Walked::of(patch, false))
                } else {
                    Ok(Walked::of(dest, true))
                }
            }
            Kind::Scalar => {
                if patch.is_some() {
                    Ok(Walked::of(patch, false))
                } else {
                    Ok(Walked::of(dest, true))
                }
            }
        }
    }

    fn walk_map(
        &mut self,
        dest: Option<Value>,
        mut patch: Option<Value>,
        schema: Option<Schema>,
    ) -> Result<Walked, MergeError> {
        let (mut dest, from_dest) = if is_null(&dest) {
            if let Some(p @ Value::Map(_)) = &mut patch
                && let Ok(Directive::Delete) = map_directive(p)
            {
                return Ok(Walked::clear());
            }
            if patch.is_none() && dest.is_some() {
                // An explicit null in the resource the patch does not touch.
                return Ok(Walked {
                    value: dest,
                    from_dest: true,
                    keep_null: true,
                });
            }
            (patch.clone(), false)
        } else {
            if patch == Some(Value::Null) {
                return Ok(Walked::clear());
            }
            let directive = match &mut patch {
                Some(p) => map_directive(p).map_err(|e| self.error(e))?,
                None => Directive::Merge,
            };
            match directive {
                Directive::Delete => return Ok(Walked::clear()),
                Directive::Replace => (patch.clone(), false),
                Directive::Merge => (dest, true),
            }
        };
        let mut names: Vec<String> = Vec::new();
        for s in [&dest, &patch].into_iter().flatten() {
            if let Value::Map(m) = s {
                names.extend(m.0.iter().map(|(k, _)| k.clone()));
            }
        }
        names.sort();
        names.dedup();
        for key in names {
            let field_schema = schema.as_ref().and_then(|s| s.field(self.table, &key));
            let d = dest.as_ref().and_then(|v| v.get(&key)).cloned();
            let p = patch.as_ref().and_then(|v| v.get(&key)).cloned();
            self.path.push(key.clone());
            let w = self.walk(d, p, field_schema)?;
            self.path.pop();
            if let Some(Value::Map(m)) = &mut dest {
                match w.value {
                    None => {
                        m.remove(&key);
                    }
                    Some(Value::Null) if !w.keep_null => {
                        m.remove(&key);
                    }
                    Some(v) => m.insert(&key, v),
                }
            }
        }
        Ok(Walked::of(dest, from_dest))
    }

    fn walk_associative(
        &mut self,
        dest: Option<Value>,
        mut patch: Option<Value>,
        schema: Option<Schema>,
    ) -> Result<Walked, MergeError> {
        for s in [&dest, &patch].into_iter().flatten() {
            if let Value::Seq(items) = s
                && items.len() > MAX_LIST
            {
                return Err(self.error(format!(
                    "a list of {} elements is longer than the {MAX_LIST} a merge matches",
                    items.len()
                )));
            }
        }
        let dest = if is_null(&dest) {
            patch.clone()
        } else {
            if patch == Some(Value::Null) {
                return Ok(Walked::clear());
            }
            let directive = match &mut patch {
                Some(Value::Seq(items)) => seq_directive(items).map_err(|e| self.error(e))?,
                _ => Directive::Merge,
            };
            match directive {
                Directive::Delete => return Ok(Walked::clear()),
                Directive::Replace => patch.clone(),
                Directive::Merge => dest,
            }
        };
        let Some(Value::Seq(mut dest_items)) = dest else {
            return Ok(Walked::of(dest, false));
        };
        let patch_items: Vec<Value> = match &patch {
            Some(Value::Seq(items)) => items.clone(),
            _ => Vec::new(),
        };
        let schema = schema.expect("associative lists have a schema");
        let keys: Vec<String> = schema.strategy_and_keys().1.to_vec();
        let elem_schema = schema.elements(self.table);
        let values = element_values(&patch_items, &dest_items, &keys);
        let out = if !values.is_empty() || !keys.is_empty() {
            self.set_elements(values, &keys, &mut dest_items, &patch_items, elem_schema)?
        } else {
            let prims = primitive_values(&patch_items, &dest_items);
            self.set_elements(
                prims,
                &[String::new()],
                &mut dest_items,
                &patch_items,
                elem_schema,
            )?
        };
        Ok(Walked::of(Some(Value::Seq(out)), false))
    }

    /// kyaml's `setAssociativeSequenceElements` with new elements in front.
    fn set_elements(
        &mut self,
        mut values_list: Vec<Vec<String>>,
        keys: &[String],
        dest: &mut Vec<Value>,
        patch: &[Value],
        elem_schema: Option<Schema>,
    ) -> Result<Vec<Value>, MergeError> {
        let mut items: Vec<Value> = Vec::new();
        if keys.len() > 1 {
            merge_values(&mut values_list);
        }
        let mut valid_keys: Vec<String> = Vec::new();
        for values in &values_list {
            if values.is_empty() {
                continue;
            }
            let (vk, vv) = validate_keys(&values_list, values, keys);
            let (lk, lv) = validate_keys(std::slice::from_ref(&vv), &vv, &vk);
            let di = element_list(dest, &lk, &lv);
            let pi = element_list(patch, &lk, &lv);
            self.path.push(format!("[{}]", lv.join(",")));
            let w = self.walk(
                di.map(|i| dest[i].clone()),
                pi.map(|i| patch[i].clone()),
                elem_schema.clone(),
            )?;
            self.path.pop();
            let mut val = w.value;
            if w.from_dest
                && let (Some(i), Some(v)) = (di, &val)
            {
                dest[i] = v.clone();
            }
            let mut exit = false;
            for (i, key) in vk.iter().enumerate() {
                if is_empty_map(&val) {
                    element_setter(dest, None, &vk, &vv).map_err(|e| self.error(e))?;
                    exit = true;
                } else if let Some(v) = &mut val
                    && !key.is_empty()
                    && v.get(key).is_none()
                    && !vv[i].is_empty()
                {
                    let Value::Map(m) = v else {
                        return Err(self.error(format!(
                            "wrong node kind: expected MappingNode but got {}",
                            kind_name(kind_of(v))
                        )));
                    };
                    m.insert(key, plain(&vv[i]));
                    if w.from_dest
                        && let Some(d) = di
                    {
                        dest[d] = v.clone();
                    }
                }
            }
            if exit {
                continue;
            }
            element_setter(&mut items, val.as_ref(), &vk, &vv).map_err(|e| self.error(e))?;
            valid_keys = vk;
        }
        if values_list.is_empty() {
            return Ok(std::mem::take(dest));
        }
        append_list(items, dest, &valid_keys).map_err(|e| self.error(e))
    }
}

fn map_directive(patch: &mut Value) -> Result<Directive, String> {
    let Value::Map(m) = patch else {
        return Err(format!(
            "no implemented strategic merge patch strategy for '{}'",
            text(patch)
        ));
    };
    let Some(v) = m.get(DIRECTIVE) else {
        return Ok(Directive::Merge);
    };
    let d = directive_named(&text(v))?;
    m.remove(DIRECTIVE);
    Ok(d)
}

fn directive_named(v: &str) -> Result<Directive, String> {
    match v {
        "delete" => Ok(Directive::Delete),
        "replace" => Ok(Directive::Replace),
        "merge" => Ok(Directive::Merge),
        other => Err(format!("unknown patch strategy '{other}'")),
    }
}

/// A list's own directive: an element `{$patch: X}` alone.
fn seq_directive(items: &mut Vec<Value>) -> Result<Directive, String> {
    let Some(Value::Map(m)) = items
        .iter()
        .find(|i| matches!(i, Value::Map(m) if m.get(DIRECTIVE).is_some()))
    else {
        return Ok(Directive::Merge);
    };
    if m.0.len() > 1 {
        return Ok(Directive::Merge);
    }
    let v = m.get(DIRECTIVE).map(text).unwrap_or_default();
    let d = directive_named(&v)?;
    element_setter(items, None, &[DIRECTIVE.to_string()], &[v])?;
    Ok(d)
}

/// The merge-key values of every element, the patch's first (kyaml's
/// `elementValues` when prepending).
fn element_values(patch: &[Value], dest: &[Value], keys: &[String]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    for src in [patch, dest] {
        for item in src {
            let values: Vec<String> = keys
                .iter()
                .map(|k| match item.get(k) {
                    Some(v) if !nil_or_empty(v) => text(v),
                    _ => String::new(),
                })
                .collect();
            if values.is_empty() || out.contains(&values) {
                continue;
            }
            out.push(values);
        }
    }
    out
}

fn primitive_values(patch: &[Value], dest: &[Value]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for src in [patch, dest] {
        for item in src {
            let t = text(item);
            if seen.insert(t.clone()) {
                out.push(vec![t]);
            }
        }
    }
    out
}

fn validate_keys(
    values_list: &[Vec<String>],
    values: &[String],
    keys: &[String],
) -> (Vec<String>, Vec<String>) {
    let mut valid: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for vs in values_list {
        for (i, v) in vs.iter().enumerate() {
            if !v.is_empty()
                && let Some(k) = keys.get(i)
            {
                valid.insert(k);
            }
        }
    }
    if valid.is_empty() {
        return (keys.to_vec(), values.to_vec());
    }
    let vk: Vec<String> = keys
        .iter()
        .filter(|k| valid.contains(k.as_str()))
        .cloned()
        .collect();
    let vv: Vec<String> = values
        .iter()
        .enumerate()
        .filter(|(i, v)| !v.is_empty() || keys.get(*i).is_some_and(|k| valid.contains(k.as_str())))
        .map(|(_, v)| v.clone())
        .collect();
    (vk, vv)
}

fn merge_values(list: &mut [Vec<String>]) {
    for i in 0..list.len() {
        for j in 0..list.len() {
            if let Some(values) = match_values(&list[i], &list[j]) {
                list[i] = values.clone();
                list[j] = values;
            }
        }
    }
}

fn match_values(a: &[String], b: &[String]) -> Option<Vec<String>> {
    if a.len() != b.len() {
        return None;
    }
    let mut common = false;
    let mut out = Vec::with_capacity(a.len());
    for (x, y) in a.iter().zip(b) {
        if x == y {
            common = true;
            out.push(x.clone());
            continue;
        }
        if !x.is_empty() && !y.is_empty() {
            return None;
        }
        out.push(if x.is_empty() { y.clone() } else { x.clone() });
    }
    common.then_some(out)
}

/// kyaml's `ElementList`: the first element whose keys hold the values.
fn element_list(list: &[Value], keys: &[String], values: &[String]) -> Option<usize> {
    let first = values.first().map(String::as_str).unwrap_or("");
    if keys.first().is_none_or(|k| k.is_empty()) {
        return list.iter().position(|i| text(i) == first);
    }
    if keys.len() != values.len() {
        return None;
    }
    list.iter().position(|item| {
        let Value::Map(m) = item else { return false };
        keys.iter()
            .zip(values)
            .all(|(k, v)| m.get(k).is_some_and(|f| text(f) == *v))
    })
}

/// kyaml's `FieldMatcher` as `ElementSetter` uses it: an empty value
/// matches any value of a present field.
fn field_matches(item: &Value, key: &str, value: &str) -> Result<bool, String> {
    if *item == Value::Null {
        return Ok(false);
    }
    if key.is_empty() {
        if matches!(item, Value::Map(_) | Value::Seq(_)) {
            return Err(format!(
                "wrong node kind: expected ScalarNode but got {}",
                kind_name(kind_of(item))
            ));
        }
        return Ok(text(item) == value);
    }
    let Value::Map(m) = item else {
        return Err(format!(
            "wrong node kind: expected MappingNode but got {}",
            kind_name(kind_of(item))
        ));
    };
    Ok(match m.get(key) {
        None => false,
        Some(_) if value.is_empty() => true,
        Some(f) => text(f) == value,
    })
}

/// kyaml's `ElementSetter`: replace every element matching the keys with
/// `elem` (remove them when `None`), append `elem` when none matched; null
/// and empty-map elements are dropped on the way.
fn element_setter(
    list: &mut Vec<Value>,
    elem: Option<&Value>,
    keys: &[String],
    values: &[String],
) -> Result<(), String> {
    let empty = [String::new()];
    let keys = if keys.is_empty() { &empty[..] } else { keys };
    let mapping_setter = !keys[0].is_empty() && values.first().is_some_and(|v| !v.is_empty());
    let mut out = Vec::with_capacity(list.len() + 1);
    let mut matched = false;
    for item in list.drain(..) {
        if matches!(&item, Value::Null) || matches!(&item, Value::Map(m) if m.is_empty()) {
            continue;
        }
        if !matches!(item, Value::Map(_)) && mapping_setter {
            out.push(item);
            continue;
        }
        let mut found = true;
        for (j, key) in keys.iter().enumerate() {
            if let Some(v) = values.get(j)
                && !field_matches(&item, key, v)?
            {
                found = false;
                break;
            }
        }
        if !found {
            if !values.is_empty() {
                out.push(item);
            }
            continue;
        }
        matched = true;
        if let Some(e) = elem {
            out.push(e.clone());
        }
    }
    *list = out;
    let Some(e) = elem.filter(|e| **e != Value::Null) else {
        return Ok(());
    };
    if !matched {
        list.push(e.clone());
    }
    Ok(())
}

/// kyaml's `appendListNode(dst, src, keys)`.
fn append_list(mut dst: Vec<Value>, src: &[Value], keys: &[String]) -> Result<Vec<Value>, String> {
    for elem in src {
        if keys.first().is_none_or(|k| k.is_empty()) {
            element_setter(&mut dst, Some(elem), &[String::new()], &[text(elem)])?;
            continue;
        }
        let Value::Map(m) = elem else {
            return Err(format!(
                "wrong node kind: expected MappingNode but got {}",
                kind_name(kind_of(elem))
            ));
        };
        let mut v = Vec::new();
        for key in keys {
            match m.get(key) {
                None => dst.push(elem.clone()),
                Some(f) => v.push(text(f)),
            }
        }
        if keys.len() > 1 {
            element_setter(&mut dst, None, keys, &v)?;
        }
        element_setter(&mut dst, Some(elem), keys, &v)?;
    }
    Ok(dst)
}

#[cfg(test)]
mod tests;
