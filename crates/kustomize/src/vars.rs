//! `vars` (deprecated in kustomize, still honoured): a name bound to a
//! field of one resource, and `$(NAME)` replaced by that field's final
//! value in the fields of the `varReference` table.
//!
//! As kustomize: each kustomization, after its transformers ran, tags the
//! resource each of its vars names (matched by any id the resource had, so
//! by its raw name as well as its prefixed one); vars of bases and
//! components join the including kustomization's set (one name once);
//! after the whole build renamed things and fixed name references, every
//! var takes its value from its tagged resource and the references are
//! replaced, once, never recursively.

use crate::openapi::OpenApi;
use std::collections::BTreeMap;

use crate::decode;
use crate::fieldpath;
use crate::resource::{Gvk, ResId, Resource};
use crate::transform::fieldspec::{self, FieldSpec};
use crate::value::Value;

/// kustomize's default `fieldref.fieldPath`.
pub const DEFAULT_FIELD_PATH: &str = "metadata.name";
/// Longest string a substitution may produce.
pub const MAX_EXPANDED: usize = 1 << 20;
/// Bytes all substitutions of a build may add.
pub const MAX_TOTAL_EXPANDED: usize = 64 << 20;

/// One var.
#[derive(Debug, Clone, PartialEq)]
pub struct Var {
    pub name: String,
    /// The object reference, its apiVersion already split.
    pub objref: ResId,
    pub field_path: String,
    /// Where it was declared (`file:line`), for messages.
    pub at: String,
}

impl Var {
    fn display(&self) -> String {
        format!(
            "'{}' (objref {} {}{}, fieldref {}, declared at {})",
            self.name,
            self.objref.gvk.display(),
            self.objref.name,
            if self.objref.namespace.is_empty() {
                String::new()
            } else {
                format!(" in namespace {}", self.objref.namespace)
            },
            self.field_path,
            self.at
        )
    }
}

/// The `vars` of a kustomization; `at(i)` says where entry `i` is.
pub fn from_value(value: &Value, at: &dyn Fn(usize) -> String) -> Result<Vec<Var>, String> {
    let Value::Seq(items) = value else {
        return Err("vars: expected a list".to_string());
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let here = format!("vars[{i}]");
        let m = decode::map(item, &here)?;
        decode::known_keys(m, &["name", "objref", "fieldref"], &here)?;
        let objref = match decode::get(m, "objref") {
            None | Some(Value::Null) => crate::value::Map::default(),
            Some(v) => decode::map(v, &format!("{here}.objref"))?.clone(),
        };
        let oat = format!("{here}.objref");
        decode::known_keys(
            &objref,
            &[
                "apiVersion",
                "group",
                "version",
                "kind",
                "name",
                "namespace",
            ],
            &oat,
        )?;
        let mut gvk = Gvk {
            group: decode::string(&objref, "group", &oat)?,
            version: decode::string(&objref, "version", &oat)?,
            kind: decode::string(&objref, "kind", &oat)?,
        };
        // kustomize's Target.GVK(): an apiVersion overrides group/version.
        let api_version = decode::string(&objref, "apiVersion", &oat)?;
        if !api_version.is_empty() {
            let parts: Vec<&str> = api_version.split('/').collect();
            match parts.as_slice() {
                [g, v] => {
                    gvk.group = g.to_string();
                    gvk.version = v.to_string();
                }
                [v] => gvk.version = v.to_string(),
                _ => {}
            }
        }
        let fieldref = match decode::get(m, "fieldref") {
            None | Some(Value::Null) => crate::value::Map::default(),
            Some(v) => decode::map(v, &format!("{here}.fieldref"))?.clone(),
        };
        decode::known_keys(&fieldref, &["fieldPath"], &format!("{here}.fieldref"))?;
        let mut field_path = decode::string(&fieldref, "fieldPath", &format!("{here}.fieldref"))?;
        if field_path.is_empty() {
            field_path = DEFAULT_FIELD_PATH.to_string();
        }
        let name = decode::string(m, "name", &here)?;
        out.push(Var {
            name,
            objref: ResId {
                gvk,
                name: decode::string(&objref, "name", &oat)?,
                namespace: decode::string(&objref, "namespace", &oat)?,
            },
            field_path,
            at: at(i),
        });
    }
    Ok(out)
}

/// Vars by name (kustomize's `VarSet`): a name may be declared once in a
/// build's tree.
#[derive(Debug, Clone, Default)]
pub struct VarSet(BTreeMap<String, Var>);

impl VarSet {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn merge_one(&mut self, v: &Var) -> Result<(), String> {
        if let Some(old) = self.0.get(&v.name) {
            return Err(format!(
                "var '{}' already encountered (declared at {} and at {})",
                v.name, old.at, v.at
            ));
        }
        self.0.insert(v.name.clone(), v.clone());
        Ok(())
    }

    /// Take in the vars of a base or a component.
    pub fn merge_set(&mut self, other: &VarSet) -> Result<(), String> {
        other.0.values().try_for_each(|v| self.merge_one(v))
    }

    /// kustomize's `MergeVars`: tag the resource each var names, then add
    /// the vars to the set.
    pub fn merge(
        &mut self,
        incoming: &[Var],
        resources: &mut [Resource],
        oa: &OpenApi,
    ) -> Result<(), String> {
        if incoming.is_empty() {
            return Ok(());
        }
        // Every id of every resource, by name, read once (a var per
        // resource would otherwise rescan the whole list for each var).
        let mut by_name: std::collections::HashMap<String, Vec<(usize, ResId)>> =
            std::collections::HashMap::new();
        for (i, r) in resources.iter().enumerate() {
            for id in r.all_ids() {
                by_name.entry(id.name.clone()).or_default().push((i, id));
            }
        }
        for v in incoming {
            let target = &v.objref;
            // kustomize decodes the objref's kind without knowing whether
            // it is cluster-scoped: a namespace given is compared, with an
            // empty one meaning `default` only on the resource's side.
            let with_ns = !target.namespace.is_empty();
            let mut hits: Vec<usize> = by_name
                .get(&target.name)
                .map(|ids| {
                    ids.iter()
                        .filter(|(_, id)| {
                            id.gvk == target.gvk
                                && (!with_ns || id.effective_namespace(oa) == target.namespace)
                        })
                        .map(|(i, _)| *i)
                        .collect()
                })
                .unwrap_or_default();
            hits.dedup();
            if hits.len() > 1 {
                return Err(format!(
                    "found {} resId matches for var {} (unable to disambiguate)",
                    hits.len(),
                    v.display()
                ));
            }
            if let Some(&i) = hits.first() {
                resources[i].ref_vars.push(v.name.clone());
            }
        }
        incoming.iter().try_for_each(|v| self.merge_one(v))
    }
}

/// A var's value, typed as kyaml's `GetFieldValue` reads it.
#[derive(Debug, Clone, PartialEq)]
enum Found {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// A mapping or a sequence: kustomize leaves `$(NAME)` as it is.
    Complex,
}

impl Found {
    fn text(&self) -> Option<String> {
        match self {
            Found::Str(s) => Some(s.clone()),
            Found::Int(i) => Some(i.to_string()),
            Found::Float(f) => Some(go_float_v(*f)),
            Found::Bool(b) => Some(b.to_string()),
            Found::Complex => None,
        }
    }

    fn value(&self) -> Option<Value> {
        match self {
            Found::Str(s) => Some(Value::Str(s.clone())),
            Found::Int(i) => Some(Value::Int(*i)),
            Found::Float(f) => Some(Value::Float(*f)),
            Found::Bool(b) => Some(Value::Bool(*b)),
            Found::Complex => None,
        }
    }
}

/// Go's `fmt.Sprintf("%v", f)` for a float64 (`%g`, shortest: an exponent
/// below -4 or from 6 up is written `1e+06`).
fn go_float_v(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let e = format!("{f:e}");
    let (mantissa, exp) = e.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("{:e} exponent is an integer");
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    format!("{f}")
}

fn field_value(r: &Resource, path: &str) -> Option<Found> {
    let parts = fieldpath::split_slice_indexes(fieldpath::split(path));
    let node = fieldpath::lookup(&r.value, &parts).ok()??;
    Some(match node {
        Value::Map(_) | Value::Seq(_) => Found::Complex,
        Value::Str(s) | Value::Timestamp(s) => Found::Str(s.clone()),
        Value::Int(i) => Found::Int(*i),
        Value::Uint(_) => return None,
        Value::Float(f) => Found::Float(*f),
        Value::Bool(b) => Found::Bool(*b),
        Value::Null => Found::Str(String::new()),
        Value::Spelled(text) => match crate::value::resolve_plain(text) {
            Value::Int(_) => Found::Int(text.parse().ok()?),
            Value::Float(_) => Found::Float(text.parse().ok()?),
            Value::Bool(_) => Found::Bool(go_parse_bool(text)?),
            _ => Found::Str(text.clone()),
        },
    })
}

fn go_parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Replace `$(NAME)` in the `varReference` fields of every resource with
/// the vars' values. Returns kustomize's warning about vars never used.
pub fn resolve(
    set: &VarSet,
    resources: &mut [Resource],
    specs: &[FieldSpec],
) -> Result<Vec<String>, String> {
    let mut tagged: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, r) in resources.iter().enumerate() {
        for name in &r.ref_vars {
            tagged.entry(name.as_str()).or_insert(i);
        }
    }
    let mut values: BTreeMap<&str, Found> = BTreeMap::new();
    for v in set.0.values() {
        let Some(r) = tagged.get(v.name.as_str()).map(|&i| &resources[i]) else {
            return Err(format!(
                "var {} cannot be mapped to a field in the set of known resources",
                v.display()
            ));
        };
        let Some(found) = field_value(r, &v.field_path) else {
            return Err(format!(
                "field specified in var {} not found in corresponding resource {} ({})",
                v.display(),
                r.cur_id().display(),
                r.source
            ));
        };
        values.insert(&v.name, found);
    }
    if values.is_empty() {
        return Ok(Vec::new());
    }
    let mut sub = Substitution {
        values: &values,
        used: BTreeMap::new(),
        budget: MAX_TOTAL_EXPANDED,
    };
    for r in resources.iter_mut() {
        for spec in specs {
            let mut set = |node: &mut Value| sub.node(node);
            fieldspec::apply(&mut r.value, spec, None, &mut set)
                .map_err(|e| format!("{} ({}): {e}", r.cur_id().display(), r.source))?;
        }
    }
    let unused: Vec<&str> = values
        .keys()
        .filter(|k| !sub.used.contains_key(**k))
        .copied()
        .collect();
    Ok(if unused.is_empty() {
        Vec::new()
    } else {
        vec![format!(
            "well-defined vars that were never replaced: {}",
            unused.join(",")
        )]
    })
}

struct Substitution<'a> {
    values: &'a BTreeMap<&'a str, Found>,
    used: BTreeMap<String, usize>,
    /// Bytes substitutions may still add.
    budget: usize,
}

enum Replaced {
    /// The whole string was one reference: the value keeps its type.
    Whole(Value),
    Text(String),
}

impl Substitution<'_> {
    fn node(&mut self, node: &mut Value) -> Result<(), String> {
        match node {
            Value::Null => Ok(()),
            Value::Str(_) => self.scalar(node),
            Value::Map(m) => {
                for (_, v) in m.0.iter_mut() {
                    if matches!(v, Value::Str(_)) {
                        self.scalar(v)?;
                    }
                }
                Ok(())
            }
            Value::Seq(items) => {
                for item in items.iter_mut() {
                    if !matches!(item, Value::Str(_)) {
                        return Err("invalid value type expect a string".to_string());
                    }
                    self.scalar(item)?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn scalar(&mut self, node: &mut Value) -> Result<(), String> {
        let Value::Str(s) = node else { return Ok(()) };
        if !s.contains("$(") {
            return Ok(());
        }
        match self.expand(s)? {
            Replaced::Whole(v) => *node = v,
            Replaced::Text(t) => *node = Value::Str(t),
        }
        Ok(())
    }

    fn lookup(&mut self, name: &str) -> Option<&Found> {
        let found = self.values.get(name).filter(|f| **f != Found::Complex)?;
        *self.used.entry(name.to_string()).or_default() += 1;
        Some(found)
    }

    /// kustomize's `DoReplacements`: `$$` is a literal `$`, `$(NAME)` a
    /// reference (left as it is when NAME is no var), anything else stays.
    fn expand(&mut self, input: &str) -> Result<Replaced, String> {
        let bytes = input.as_bytes();
        let mut out = String::with_capacity(input.len());
        let mut checkpoint = 0;
        let mut cursor = 0;
        while cursor < bytes.len() {
            if bytes[cursor] == b'$' && cursor + 1 < bytes.len() {
                out.push_str(&input[checkpoint..cursor]);
                let rest = &input[cursor + 1..];
                let advance = match rest.as_bytes()[0] {
                    b'$' => {
                        out.push('$');
                        1
                    }
                    b'(' => match rest.find(')') {
                        Some(close) => {
                            let name = &rest[1..close];
                            let whole = input.len() == name.len() + 3;
                            match self.lookup(name).cloned() {
                                Some(found) if whole => {
                                    return Ok(Replaced::Whole(found.value().expect("primitive")));
                                }
                                Some(found) => {
                                    let text = found.text().expect("primitive");
                                    self.charge(text.len())?;
                                    out.push_str(&text);
                                }
                                None => {
                                    out.push_str("$(");
                                    out.push_str(name);
                                    out.push(')');
                                }
                            }
                            close + 1
                        }
                        None => {
                            out.push_str("$(");
                            1
                        }
                    },
                    _ => {
                        let c = rest.chars().next().expect("non-empty");
                        out.push('$');
                        out.push(c);
                        c.len_utf8()
                    }
                };
                cursor += advance;
                checkpoint = cursor + 1;
                if out.len() > MAX_EXPANDED {
                    return Err(format!(
                        "substituting vars makes a string longer than {MAX_EXPANDED} bytes"
                    ));
                }
            }
            cursor += 1;
        }
        if checkpoint < input.len() {
            out.push_str(&input[checkpoint..]);
        }
        Ok(Replaced::Text(out))
    }

    fn charge(&mut self, n: usize) -> Result<(), String> {
        self.budget = self.budget.checked_sub(n).ok_or_else(|| {
            format!("substituting vars adds more than {MAX_TOTAL_EXPANDED} bytes to the build")
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
