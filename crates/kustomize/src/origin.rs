//! `buildMetadata: [originAnnotations, transformerAnnotations]`: where each
//! resource came from (`config.kubernetes.io/origin`) and which transformers
//! touched it (`alpha.config.kubernetes.io/transformations`), written as
//! kustomize writes them (small YAML documents in annotations).

use crate::resource::Resource;
use crate::value::{Map, Value};

pub const ORIGIN: &str = "config.kubernetes.io/origin";
pub const TRANSFORMATIONS: &str = "alpha.config.kubernetes.io/transformations";

/// A transformer's origin: the kustomization (or config file) that
/// configured it, and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Configured {
    pub configured_in: String,
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
}

impl Configured {
    pub fn builtin(configured_in: &str, kind: &str) -> Self {
        Configured {
            configured_in: configured_in.to_string(),
            api_version: "builtin".to_string(),
            kind: kind.to_string(),
            name: String::new(),
            namespace: String::new(),
        }
    }

    /// The YAML lines of this origin, each prefixed by `indent`.
    fn lines(&self, first: &str, indent: &str) -> String {
        let mut out = format!("{first}configuredIn: {}\n", self.configured_in);
        out.push_str(&format!("{indent}configuredBy:\n"));
        for (k, v) in [
            ("apiVersion", &self.api_version),
            ("kind", &self.kind),
            ("name", &self.name),
            ("namespace", &self.namespace),
        ] {
            if !v.is_empty() {
                out.push_str(&format!("{indent}  {k}: {v}\n"));
            }
        }
        out
    }
}

/// Go's `filepath.Join` for relative slash paths: joined, then cleaned
/// (`a/../b` is `b`, a leading `..` stays).
pub fn join(base: &str, path: &str) -> String {
    let joined = if base.is_empty() {
        path.to_string()
    } else {
        format!("{base}/{path}")
    };
    let absolute = joined.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in joined.split('/') {
        match seg {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if absolute => {}
                _ => parts.push(".."),
            },
            other => parts.push(other),
        }
    }
    let body = parts.join("/");
    match (absolute, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".to_string(),
        (false, false) => body,
    }
}

fn annotations(r: &mut Resource) -> Option<&mut Map> {
    let meta = r.map_mut()?.map_entry("metadata")?;
    meta.map_entry("annotations")
}

/// Mark a resource read from `path`.
pub fn set_file_origin(r: &mut Resource, path: &str) {
    if let Some(a) = annotations(r) {
        a.insert(ORIGIN, Value::Str(format!("path: {path}\n")));
    }
}

/// After a transformer ran: a resource without an origin takes the
/// transformer's; the others record it as a transformation.
pub fn record(r: &mut Resource, by: &Configured) {
    let Some(a) = annotations(r) else { return };
    if a.get(ORIGIN).is_none() {
        a.insert(ORIGIN, Value::Str(by.lines("", "")));
        return;
    }
    let mut list = a
        .get(TRANSFORMATIONS)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    list.push_str(&by.lines("- ", "  "));
    a.insert(TRANSFORMATIONS, Value::Str(list));
}

/// A generated resource takes its generator's origin unless it has one.
pub fn set_origin_if_absent(r: &mut Resource, by: &Configured) {
    let Some(a) = annotations(r) else { return };
    if a.get(ORIGIN).is_none() {
        a.insert(ORIGIN, Value::Str(by.lines("", "")));
    }
}

/// The path an annotation records for a resource (its `path:` line).
pub fn path_of(r: &Resource) -> Option<String> {
    let text = r
        .value
        .get("metadata")?
        .get("annotations")?
        .get(ORIGIN)?
        .as_str()?;
    text.lines()
        .find_map(|l| l.strip_prefix("path: "))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_cleans_as_go_does() {
        assert_eq!(join("", "a.yaml"), "a.yaml");
        assert_eq!(join("../base", "role.yaml"), "../base/role.yaml");
        assert_eq!(join("a/../b", "./c"), "b/c");
        assert_eq!(join("..", "../x"), "../../x");
        assert_eq!(join("a", ".."), ".");
    }

    #[test]
    fn origins_and_transformations_are_yaml_documents() {
        let by = Configured::builtin("kustomization.yaml", "PrefixTransformer");
        assert_eq!(
            by.lines("- ", "  "),
            "- configuredIn: kustomization.yaml\n  configuredBy:\n    apiVersion: builtin\n    \
             kind: PrefixTransformer\n"
        );
    }
}
