//! `spec.postBuild`: variable substitution on each built resource
//! (`fluxcd/pkg/kustomize` `SubstituteVariables`).
//!
//! The variables are the `substituteFrom` ConfigMaps and Secrets in list
//! order (later keys win), then the inline `substitute` map; every `\n` is
//! removed from every value. A resource labelled or annotated
//! `kustomize.toolkit.fluxcd.io/substitute: disabled` is left alone, and so
//! is every resource when there is no variable and the strategy is not
//! `Always`. Otherwise the resource's YAML (as kustomize prints it) goes
//! through envsubst and is read again the way Flux reads it (yaml.v2, so
//! `on` and `yes` inserted unquoted become booleans, a number a number).

use std::collections::BTreeMap;

use ferroflux_api::yaml;

use crate::error::Error;
use crate::flux::envsubst::{self, Limits};
use crate::resource::Resource;
use crate::value::{Map, Value, from_node};

/// The label or annotation that opts a resource out.
pub const SUBSTITUTE_KEY: &str = "kustomize.toolkit.fluxcd.io/substitute";
/// Flux's variable name rule, as it prints it.
pub const VAR_NAME_REGEX: &str = "^[_[:alpha:]][_[:alpha:][:digit:]]*$";

/// How to substitute. Its `Debug` names the variables, never their values
/// (they may come from Secrets).
#[derive(Clone, Default)]
pub struct Substitution {
    /// The variables, `\n` already removed.
    pub vars: BTreeMap<String, String>,
    /// A referenced variable without a default must exist.
    pub strict: bool,
    /// `substituteStrategy: Always`: substitute even without variables.
    pub always: bool,
    pub limits: Limits,
}

impl std::fmt::Debug for Substitution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Substitution")
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .field("strict", &self.strict)
            .field("always", &self.always)
            .finish_non_exhaustive()
    }
}

/// Flux's rule for a variable name (`[[:alpha:]]` is ASCII).
pub fn valid_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// Substitute one resource in place. `Ok(false)` when it was left alone.
pub fn substitute(r: &mut Resource, sub: &Substitution) -> Result<bool, Error> {
    let disabled = |field: &str| {
        r.metadata_map(field)
            .iter()
            .any(|(k, v)| k == SUBSTITUTE_KEY && v == "disabled")
    };
    if disabled("labels") || disabled("annotations") {
        return Ok(false);
    }
    if sub.vars.is_empty() && !sub.always {
        return Ok(false);
    }
    let fail = |what: String| {
        Error::Build(format!(
            "var substitution failed for '{}': envsubst error: {what}",
            r.name()
        ))
    };
    if let Some(bad) = sub.vars.keys().find(|k| !valid_var_name(k)) {
        return Err(fail(format!(
            "'{bad}' var name is invalid, must match '{VAR_NAME_REGEX}'"
        )));
    }
    let text = crate::emit::document(&r.value).map_err(|e| fail(e.to_string()))?;
    let strict = sub.strict;
    let mapping = |name: &str| match sub.vars.get(name) {
        Some(v) => (v.clone(), true),
        None => (String::new(), !strict),
    };
    let out = envsubst::eval(&text, &mapping, &sub.limits)
        .map_err(|e| fail(format!("variable substitution failed: {e}")))?;
    let out = String::from_utf8(out).map_err(|e| {
        fail(format!(
            "YAMLToJSON: yaml: invalid UTF-8 in the substituted text at byte {}",
            e.utf8_error().valid_up_to()
        ))
    })?;
    let docs = yaml::parse_stream_raw(&out)
        .map_err(|e| fail(format!("YAMLToJSON: yaml: line {}: {}", e.line, e.message)))?;
    let value = docs
        .into_iter()
        .find_map(|d| d.node)
        .map(|n| from_node_v2(&n))
        .unwrap_or(Value::Null);
    if !matches!(value, Value::Map(_)) {
        return Err(fail(
            "UnmarshalJSON: the substituted text is not a YAML mapping".to_string(),
        ));
    }
    r.value = value;
    Ok(true)
}

/// A node as yaml.v2 (sigs.k8s.io/yaml's `YAMLToJSON`) resolves plain
/// scalars: `y`, `yes`, `on` and their kin are booleans, timestamps stay
/// text (checked against Flux 2.9.4's CLI).
pub fn from_node_v2(node: &yaml::Node) -> Value {
    match &node.value {
        yaml::Value::Str {
            text,
            quoted: false,
        } => {
            match text.as_str() {
                "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => {
                    return Value::Bool(true);
                }
                "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => {
                    return Value::Bool(false);
                }
                _ => {}
            }
            match from_node(node) {
                Value::Timestamp(t) => Value::Str(t),
                other => other,
            }
        }
        yaml::Value::Seq(items) => Value::Seq(items.iter().map(from_node_v2).collect()),
        yaml::Value::Map(entries) => Value::Map(Map(entries
            .iter()
            .map(|e| (e.key.clone(), from_node_v2(&e.value)))
            .collect())),
        _ => from_node(node),
    }
}

#[cfg(test)]
mod tests;
