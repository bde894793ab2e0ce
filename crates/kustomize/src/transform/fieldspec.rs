//! Field specs: which field of which kinds a transformer edits, and the walk
//! that reaches them (kustomize's `fieldspec.Filter`).
//!
//! A path is `/`-separated; a sequence met on the way is entered element by
//! element (`containers[]` only says a sequence is expected there). With
//! `create`, missing mappings on the way are made and the last field is made
//! with the kind the transformer asks for.

use std::sync::OnceLock;

use ferroflux_api::yaml;

use crate::resource::Gvk;
use crate::value::{Map, Value, from_node};

/// One field spec.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FieldSpec {
    pub gvk: Gvk,
    pub path: String,
    pub create: bool,
}

/// A kind and the fields of other kinds that hold its name.
#[derive(Debug, Clone, PartialEq)]
pub struct NameBackRef {
    pub gvk: Gvk,
    pub referrers: Vec<FieldSpec>,
}

/// kustomize's built-in tables.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tables {
    pub name_prefix: Vec<FieldSpec>,
    pub name_suffix: Vec<FieldSpec>,
    pub common_labels: Vec<FieldSpec>,
    /// Extra field specs for every `labels` entry (empty in kustomize's defaults).
    pub labels: Vec<FieldSpec>,
    pub template_labels: Vec<FieldSpec>,
    pub common_annotations: Vec<FieldSpec>,
    pub namespace: Vec<FieldSpec>,
    pub name_reference: Vec<NameBackRef>,
    pub images: Vec<FieldSpec>,
    pub replicas: Vec<FieldSpec>,
    /// Where `$(VAR)` references of `vars` are substituted.
    pub var_reference: Vec<FieldSpec>,
}

impl Tables {
    /// kustomize's `TransformerConfig.Merge`.
    pub fn merge(&mut self, other: &Tables) -> Result<(), String> {
        merge_all(&mut self.name_prefix, &other.name_prefix)?;
        merge_all(&mut self.name_suffix, &other.name_suffix)?;
        merge_all(&mut self.common_labels, &other.common_labels)?;
        merge_all(&mut self.labels, &other.labels)?;
        merge_all(&mut self.template_labels, &other.template_labels)?;
        merge_all(&mut self.common_annotations, &other.common_annotations)?;
        merge_all(&mut self.namespace, &other.namespace)?;
        merge_all(&mut self.images, &other.images)?;
        merge_all(&mut self.replicas, &other.replicas)?;
        merge_all(&mut self.var_reference, &other.var_reference)?;
        for back_ref in &other.name_reference {
            match self
                .name_reference
                .iter_mut()
                .find(|b| b.gvk == back_ref.gvk)
            {
                Some(mine) => merge_all(&mut mine.referrers, &back_ref.referrers)?,
                None => self.name_reference.push(back_ref.clone()),
            }
        }
        Ok(())
    }
}

/// Add a field spec unless one with the same path already selects it
/// (kustomize's `FsSlice.MergeOne`; differing `create` is a conflict).
pub fn merge_one(list: &mut Vec<FieldSpec>, fs: &FieldSpec) -> Result<(), String> {
    match list
        .iter()
        .find(|x| x.gvk.is_selected(&fs.gvk) && x.path == fs.path)
    {
        Some(x) if x.create != fs.create => Err(format!(
            "conflicting fieldspecs: path {} of {} is given both with and without create",
            fs.path,
            fs.gvk.display()
        )),
        Some(_) => Ok(()),
        None => {
            list.push(fs.clone());
            Ok(())
        }
    }
}

pub fn merge_all(list: &mut Vec<FieldSpec>, more: &[FieldSpec]) -> Result<(), String> {
    more.iter().try_for_each(|fs| merge_one(list, fs))
}

/// A `configurations` file: field specs to add to the built-in ones.
pub fn parse_config(text: &str) -> Result<Tables, String> {
    parse_tables(text)
}

/// kustomize's built-in field specs as written (`fieldspecs.yaml`), and the
/// same tables in a line format that reads without a YAML parser
/// (`fieldspecs.txt`, made from the YAML by [`to_compact`]; a test keeps the
/// two equal). Reading the YAML was a third of a trivial build's time.
#[cfg(test)]
const BUILTIN_YAML: &str = include_str!("../fieldspecs.yaml");
const BUILTIN: &str = include_str!("../fieldspecs.txt");

/// The built-in tables (read once).
pub fn builtin() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| parse_compact(BUILTIN))
}

/// The lists of [`Tables`] by their kustomize names, in one order.
fn lists(t: &Tables) -> [(&'static str, &Vec<FieldSpec>); 10] {
    [
        ("namePrefix", &t.name_prefix),
        ("nameSuffix", &t.name_suffix),
        ("commonLabels", &t.common_labels),
        ("labels", &t.labels),
        ("templateLabels", &t.template_labels),
        ("commonAnnotations", &t.common_annotations),
        ("namespace", &t.namespace),
        ("images", &t.images),
        ("replicas", &t.replicas),
        ("varReference", &t.var_reference),
    ]
}

fn list_mut<'t>(t: &'t mut Tables, name: &str) -> Option<&'t mut Vec<FieldSpec>> {
    Some(match name {
        "namePrefix" => &mut t.name_prefix,
        "nameSuffix" => &mut t.name_suffix,
        "commonLabels" => &mut t.common_labels,
        "labels" => &mut t.labels,
        "templateLabels" => &mut t.template_labels,
        "commonAnnotations" => &mut t.common_annotations,
        "namespace" => &mut t.namespace,
        "images" => &mut t.images,
        "replicas" => &mut t.replicas,
        "varReference" => &mut t.var_reference,
        _ => return None,
    })
}

/// The line format: `= LIST` opens a list, `> GROUP VERSION KIND` a
/// `nameReference` entry, `- GROUP VERSION KIND PATH CREATE` is a field
/// spec of the last one opened (fields separated by tabs, CREATE 0 or 1).
pub fn to_compact(t: &Tables) -> String {
    let mut out = String::from(
        "# kustomize's built-in field specs: fieldspecs.yaml in the line format of \
         transform/fieldspec.rs (generated; FERROFLUX_BLESS=1 cargo test -p ferroflux-kustomize \
         --lib fieldspec rewrites it)\n",
    );
    let spec = |out: &mut String, fs: &FieldSpec| {
        let g = &fs.gvk;
        let create = u8::from(fs.create);
        out.push_str(&format!(
            "-\t{}\t{}\t{}\t{}\t{create}\n",
            g.group, g.version, g.kind, fs.path
        ));
    };
    for (name, list) in lists(t) {
        out.push_str(&format!("= {name}\n"));
        list.iter().for_each(|fs| spec(&mut out, fs));
    }
    out.push_str("= nameReference\n");
    for b in &t.name_reference {
        out.push_str(&format!(
            ">\t{}\t{}\t{}\n",
            b.gvk.group, b.gvk.version, b.gvk.kind
        ));
        b.referrers.iter().for_each(|fs| spec(&mut out, fs));
    }
    out
}

/// Read [`to_compact`]'s format (only ever the committed table).
fn parse_compact(text: &str) -> Tables {
    let mut t = Tables::default();
    let mut list = String::new();
    for line in text.lines() {
        let mut f = line.split('\t');
        let tag = f.next().unwrap_or("");
        let mut s = || f.next().unwrap_or("").to_string();
        if let Some(name) = line.strip_prefix("= ") {
            list = name.to_string();
        } else if tag == ">" {
            let gvk = Gvk {
                group: s(),
                version: s(),
                kind: s(),
            };
            t.name_reference.push(NameBackRef {
                gvk,
                referrers: Vec::new(),
            });
        } else if tag == "-" {
            let fs = FieldSpec {
                gvk: Gvk {
                    group: s(),
                    version: s(),
                    kind: s(),
                },
                path: s(),
                create: s() == "1",
            };
            if list == "nameReference" {
                if let Some(b) = t.name_reference.last_mut() {
                    b.referrers.push(fs);
                }
            } else if let Some(l) = list_mut(&mut t, &list) {
                l.push(fs);
            }
        }
    }
    t
}

fn parse_tables(text: &str) -> Result<Tables, String> {
    let docs = yaml::parse_stream_raw(text).map_err(|e| e.to_string())?;
    let mut t = Tables::default();
    for doc in docs {
        let Some(node) = doc.node else { continue };
        let m = match from_node(&node) {
            Value::Map(m) => m,
            Value::Null => continue,
            _ => return Err("field specs: expected a mapping".to_string()),
        };
        for (key, value) in &m.0 {
            match key.as_str() {
                "namePrefix" => t.name_prefix.extend(from_value(value)?),
                "nameSuffix" => t.name_suffix.extend(from_value(value)?),
                "commonLabels" => t.common_labels.extend(from_value(value)?),
                "templateLabels" => t.template_labels.extend(from_value(value)?),
                "commonAnnotations" => t.common_annotations.extend(from_value(value)?),
                "namespace" => t.namespace.extend(from_value(value)?),
                "images" => t.images.extend(from_value(value)?),
                "replicas" => t.replicas.extend(from_value(value)?),
                "labels" => t.labels.extend(from_value(value)?),
                "varReference" => t.var_reference.extend(from_value(value)?),
                "nameReference" => t.name_reference.extend(back_refs(value)?),
                other => {
                    let known = [
                        "namePrefix",
                        "nameSuffix",
                        "namespace",
                        "commonLabels",
                        "labels",
                        "templateLabels",
                        "commonAnnotations",
                        "nameReference",
                        "varReference",
                        "images",
                        "replicas",
                    ];
                    let hint = known
                        .iter()
                        .min_by_key(|k| strsim::damerau_levenshtein(other, k))
                        .filter(|k| strsim::damerau_levenshtein(other, k) <= 3)
                        .map(|k| format!("; did you mean `{k}`?"))
                        .unwrap_or_default();
                    return Err(format!("unknown field {other:?}{hint}"));
                }
            }
        }
    }
    Ok(t)
}

fn gvk_of(m: &Map) -> Gvk {
    let s = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    Gvk {
        group: s("group"),
        version: s("version"),
        kind: s("kind"),
    }
}

/// A list of field specs (`- path: ...; kind: ...; create: true`).
pub fn from_value(value: &Value) -> Result<Vec<FieldSpec>, String> {
    let items = match value {
        Value::Seq(items) => items.as_slice(),
        Value::Null => &[],
        _ => return Err("field specs: expected a list".to_string()),
    };
    items
        .iter()
        .map(|item| {
            let m = item
                .as_map()
                .ok_or_else(|| "field specs: expected a mapping".to_string())?;
            for (k, _) in &m.0 {
                if !["path", "group", "version", "kind", "create"].contains(&k.as_str()) {
                    return Err(format!("field specs: unknown field {k:?}"));
                }
            }
            Ok(FieldSpec {
                gvk: gvk_of(m),
                path: m
                    .get("path")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                create: m.get("create").map(Value::resolved) == Some(Value::Bool(true)),
            })
        })
        .collect()
}

fn back_refs(value: &Value) -> Result<Vec<NameBackRef>, String> {
    let items = match value {
        Value::Seq(items) => items.as_slice(),
        Value::Null => &[],
        _ => return Err("nameReference: expected a list".to_string()),
    };
    items
        .iter()
        .map(|item| {
            let m = item
                .as_map()
                .ok_or_else(|| "nameReference: expected a mapping".to_string())?;
            let referrers = match m.get("fieldSpecs") {
                Some(v) => from_value(v)?,
                None => Vec::new(),
            };
            Ok(NameBackRef {
                gvk: gvk_of(m),
                referrers,
            })
        })
        .collect()
}

/// What a transformer creates at the end of a `create` path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateKind {
    Scalar,
    Map,
}

/// Does the spec's group/version/kind match the object?
pub fn matches(fs: &FieldSpec, obj: &Value) -> bool {
    let text = |k: &str| obj.get(k).and_then(Value::scalar_text).unwrap_or_default();
    let gvk = Gvk::from_api_version(&text("apiVersion"), &text("kind"));
    (fs.gvk.kind.is_empty() || fs.gvk.kind == gvk.kind)
        && (fs.gvk.group.is_empty() || fs.gvk.group == gvk.group)
        && (fs.gvk.version.is_empty() || fs.gvk.version == gvk.version)
}

/// Apply `set` to every node `fs` reaches in `obj` (when its gvk matches).
pub fn apply(
    obj: &mut Value,
    fs: &FieldSpec,
    create: Option<CreateKind>,
    set: &mut dyn FnMut(&mut Value) -> Result<(), String>,
) -> Result<(), String> {
    if !matches(fs, obj) {
        return Ok(());
    }
    let path: Vec<&str> = fs.path.split('/').collect();
    walk(obj, &path, fs.create, create, set)
        .map_err(|e| format!("considering field '{}' of object: {e}", fs.path))
}

fn walk(
    node: &mut Value,
    path: &[&str],
    create_if_missing: bool,
    create: Option<CreateKind>,
    set: &mut dyn FnMut(&mut Value) -> Result<(), String>,
) -> Result<(), String> {
    let Some((first, rest)) = path.split_first() else {
        return set(node);
    };
    match node {
        Value::Null => Ok(()),
        Value::Seq(items) => {
            for item in items {
                walk(item, path, create_if_missing, create, set)?;
            }
            Ok(())
        }
        Value::Map(m) => {
            let (name, is_seq) = match first.strip_suffix("[]") {
                Some(n) => (n, true),
                None => (*first, false),
            };
            if name.is_empty() {
                return Err("cannot set or create an empty field name".to_string());
            }
            let make: Option<Value> = if !create_if_missing || create.is_none() || is_seq {
                is_seq.then(|| Value::Seq(Vec::new()))
            } else if rest.is_empty() {
                Some(match create {
                    Some(CreateKind::Map) => Value::Map(Map::default()),
                    _ => Value::Str(String::new()),
                })
            } else {
                Some(Value::Map(Map::default()))
            };
            let creating = create_if_missing && create.is_some() && !is_seq;
            if m.get(name).is_none() {
                if !creating {
                    return Ok(());
                }
                m.insert(name, make.clone().unwrap_or(Value::Null));
            }
            let Some(field) = m.get_mut(name) else {
                return Ok(());
            };
            if *field == Value::Null
                && let Some(empty) = make
            {
                *field = empty;
            }
            walk(field, rest, create_if_missing, create, set)
        }
        _ => Err("expected sequence or mapping node".to_string()),
    }
}

/// Set a scalar (kyaml's `FieldSetter` with no name): the target must be a
/// scalar.
pub fn set_scalar(node: &mut Value, value: &str) -> Result<(), String> {
    match node {
        Value::Seq(_) => {
            Err("wrong node kind: expected ScalarNode but got SequenceNode".to_string())
        }
        Value::Map(_) => {
            Err("wrong node kind: expected ScalarNode but got MappingNode".to_string())
        }
        _ => {
            *node = Value::Str(value.to_string());
            Ok(())
        }
    }
}

/// Set `key: value` in a mapping (kyaml's `FieldSetter` with a name).
pub fn set_entry(node: &mut Value, key: &str, value: &str) -> Result<(), String> {
    if *node == Value::Null {
        *node = Value::Map(Map::default());
    }
    match node {
        Value::Map(m) => {
            m.insert(key, Value::Str(value.to_string()));
            Ok(())
        }
        Value::Seq(_) => {
            Err("wrong node kind: expected MappingNode but got SequenceNode".to_string())
        }
        _ => Err("wrong node kind: expected MappingNode but got ScalarNode".to_string()),
    }
}

#[cfg(test)]
mod tests;
