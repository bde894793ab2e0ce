//! Built-in transformers configured by hand in `transformers:`
//! (`apiVersion: builtin`, `kind: PrefixSuffixTransformer`, ...). The
//! configs are decoded as kustomize decodes them: keys case-insensitively,
//! unknown keys ignored.

use std::collections::BTreeMap;

use super::fieldspec::{self, FieldSpec};
use super::{Step, SubjectMode};
use crate::kustomization::{Image, Replica};
use crate::resource::Resource;
use crate::value::{Map, Value};

/// Why a transformer config cannot run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// Not `apiVersion: builtin`: an exec, Go or container plugin.
    Plugin(String),
    /// A built-in kind this engine does not implement yet.
    NotYet(String),
    /// A malformed config.
    Invalid(String),
}

/// Built-in generator kinds not implemented yet (the others are run by
/// [`crate::generate`]).
const BUILTIN_GENERATORS: &[&str] = &["HelmChartInflationGenerator"];

const BUILTIN_TRANSFORMERS_NOT_YET: &[&str] = &["HashTransformer", "ValueAddTransformer"];

fn is_builtin(r: &Resource) -> bool {
    let gvk = r.gvk();
    gvk.group.is_empty() && gvk.version == "builtin"
}

/// A `generators` entry that [`crate::generate`] does not run: a built-in
/// generator still to be written, or a plugin.
pub fn generator(r: &Resource) -> ConfigError {
    let kind = r.kind();
    if is_builtin(r) && BUILTIN_GENERATORS.contains(&kind.as_str()) {
        ConfigError::NotYet(format!("builtin {kind}"))
    } else {
        ConfigError::Plugin(format!("{} {kind} {}", r.api_version(), r.name()))
    }
}

/// The steps a `transformers` entry configures.
pub fn transformer(r: &Resource) -> Result<Vec<Step>, ConfigError> {
    let kind = r.kind();
    if !is_builtin(r) {
        return Err(ConfigError::Plugin(format!(
            "{} {kind} {}",
            r.api_version(),
            r.name()
        )));
    }
    let m = r.map().cloned().unwrap_or_default();
    let invalid = |e: String| ConfigError::Invalid(format!("builtin {kind} {}: {e}", r.name()));
    let specs = || field_specs(&m).map_err(invalid);
    let required_specs = || match get(&m, "fieldSpecs") {
        None | Some(Value::Null) => {
            Err(invalid("fieldSpecs is not expected to be nil".to_string()))
        }
        Some(_) => specs(),
    };
    Ok(match kind.as_str() {
        "PrefixSuffixTransformer" => {
            let specs = required_specs()?;
            vec![
                Step::Prefix {
                    prefix: string(&m, "prefix").map_err(invalid)?,
                    specs: specs.clone(),
                },
                Step::Suffix {
                    suffix: string(&m, "suffix").map_err(invalid)?,
                    specs,
                },
            ]
        }
        "PrefixTransformer" => vec![Step::Prefix {
            prefix: string(&m, "prefix").map_err(invalid)?,
            specs: required_specs()?,
        }],
        "SuffixTransformer" => vec![Step::Suffix {
            suffix: string(&m, "suffix").map_err(invalid)?,
            specs: required_specs()?,
        }],
        "NamespaceTransformer" => {
            let meta = match get(&m, "metadata") {
                Some(Value::Map(meta)) => meta.clone(),
                _ => Map::default(),
            };
            let subjects = match string(&m, "setRoleBindingSubjects")
                .map_err(invalid)?
                .as_str()
            {
                "" | "defaultOnly" => SubjectMode::DefaultOnly,
                "allServiceAccounts" => SubjectMode::AllServiceAccounts,
                "none" => SubjectMode::None,
                other => {
                    return Err(invalid(format!(
                        "invalid value {other:?} for setRoleBindingSubjects: must be one of \
                         \"defaultOnly\", \"none\" or \"allServiceAccounts\""
                    )));
                }
            };
            vec![Step::Namespace {
                namespace: string(&meta, "namespace").map_err(invalid)?,
                specs: specs()?,
                unset_only: get(&m, "unsetOnly").map(Value::resolved) == Some(Value::Bool(true)),
                subjects,
            }]
        }
        "LabelTransformer" | "AnnotationsTransformer" => {
            let key = if kind == "LabelTransformer" {
                "labels"
            } else {
                "annotations"
            };
            vec![Step::Entries {
                pairs: string_map(&m, key).map_err(invalid)?,
                specs: specs()?,
                transformer: if kind == "LabelTransformer" {
                    "LabelTransformer"
                } else {
                    "AnnotationsTransformer"
                },
            }]
        }
        "ImageTagTransformer" => {
            let tag = match get(&m, "imageTag") {
                Some(Value::Map(t)) => t.clone(),
                _ => Map::default(),
            };
            let s = |k: &str| string(&tag, k).map_err(invalid);
            vec![Step::Images {
                image: Image {
                    name: s("name")?,
                    new_name: s("newName")?,
                    new_tag: s("newTag")?,
                    digest: s("digest")?,
                    tag_suffix: s("tagSuffix")?,
                },
                specs: specs()?,
            }]
        }
        "ReplicaCountTransformer" => {
            let replica = match get(&m, "replica") {
                Some(Value::Map(t)) => t.clone(),
                _ => Map::default(),
            };
            let count = match get(&replica, "count").map(Value::resolved) {
                None | Some(Value::Null) => 0,
                Some(Value::Int(i)) => i,
                Some(_) => return Err(invalid("replica.count must be an integer".to_string())),
            };
            vec![Step::Replicas {
                replica: Replica {
                    name: string(&replica, "name").map_err(invalid)?,
                    count,
                },
                specs: specs()?,
            }]
        }
        k if BUILTIN_TRANSFORMERS_NOT_YET.contains(&k) => {
            return Err(ConfigError::NotYet(format!("builtin {k}")));
        }
        other => return Err(ConfigError::Plugin(format!("builtin {other}"))),
    })
}

/// A key, matched as Go's `encoding/json` matches struct fields.
fn get<'m>(m: &'m Map, key: &str) -> Option<&'m Value> {
    m.0.iter()
        .rev()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

fn string(m: &Map, key: &str) -> Result<String, String> {
    match get(m, key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::Str(s)) => Ok(s.clone()),
        Some(_) => Err(format!("{key} must be a string")),
    }
}

fn string_map(m: &Map, key: &str) -> Result<BTreeMap<String, String>, String> {
    match get(m, key) {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Map(pairs)) => pairs
            .0
            .iter()
            .map(|(k, v)| match v {
                Value::Str(s) => Ok((k.clone(), s.clone())),
                Value::Null => Ok((k.clone(), String::new())),
                _ => Err(format!("{key}.{k} must be a string")),
            })
            .collect(),
        Some(_) => Err(format!("{key} must be a map of strings")),
    }
}

/// `fieldSpecs`, ignoring keys a field spec does not have (as kustomize).
fn field_specs(m: &Map) -> Result<Vec<FieldSpec>, String> {
    let Some(value) = get(m, "fieldSpecs") else {
        return Ok(Vec::new());
    };
    let lenient = match value {
        Value::Seq(items) => Value::Seq(
            items
                .iter()
                .map(|item| match item {
                    Value::Map(fs) => Value::Map(Map(fs
                        .0
                        .iter()
                        .filter(|(k, _)| {
                            ["path", "group", "version", "kind", "create"].contains(&k.as_str())
                        })
                        .cloned()
                        .collect())),
                    other => other.clone(),
                })
                .collect(),
        ),
        other => other.clone(),
    };
    fieldspec::from_value(&lenient)
}
