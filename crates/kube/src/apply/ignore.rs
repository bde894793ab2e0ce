//! Drift ignore rules (a Kustomization's `spec.ignore`, `pkg/ssa
//! jsondiff`): JSON pointers left out of the drift comparison of the
//! objects a target selects; when the object is applied anyway, each
//! ignored path that differs is dropped from the payload if another Apply
//! manager owns it, and otherwise set to the live value, so Flux keeps
//! ownership without reverting what another controller wrote.

use regex::Regex;
use serde_json::{Map, Value};

use super::ApplyError;
use crate::inventory;

/// One `spec.ignore` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IgnoreRule {
    /// RFC 6901 pointers (`/spec/replicas`, `/metadata/annotations/a~1b`).
    pub paths: Vec<String>,
    /// Which objects; `None` is every object.
    pub target: Option<IgnoreTarget>,
}

impl From<&ferroflux_api::kustomize::IgnoreRule> for IgnoreRule {
    /// A Kustomization's `spec.ignore` or a HelmRelease's
    /// `driftDetection.ignore` entry (the same API type), unset fields empty.
    fn from(rule: &ferroflux_api::kustomize::IgnoreRule) -> Self {
        IgnoreRule {
            paths: rule.paths.clone(),
            target: rule.target.as_ref().map(|t| IgnoreTarget {
                group: t.group.clone().unwrap_or_default(),
                version: t.version.clone().unwrap_or_default(),
                kind: t.kind.clone().unwrap_or_default(),
                name: t.name.clone().unwrap_or_default(),
                namespace: t.namespace.clone().unwrap_or_default(),
                label_selector: t.label_selector.clone().unwrap_or_default(),
                annotation_selector: t.annotation_selector.clone().unwrap_or_default(),
            }),
        }
    }
}

/// A rule's target: anchored regexes (empty matches all) and label or
/// annotation selectors in Kubernetes' syntax.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IgnoreTarget {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
    pub label_selector: String,
    pub annotation_selector: String,
}

/// Rules ready to match.
#[derive(Debug, Default)]
pub(crate) struct Compiled {
    rules: Vec<(Option<Target>, Vec<String>)>,
}

#[derive(Debug)]
struct Target {
    regexes: [(Option<Regex>, Field); 5],
    labels: Option<Selector>,
    annotations: Option<Selector>,
}

#[derive(Debug, Clone, Copy)]
enum Field {
    Group,
    Version,
    Kind,
    Name,
    Namespace,
}

/// What to do with one drifted ignored path in the payload.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Fix {
    Strip(String),
    Adopt(String, Value),
}

fn anchored(what: &str, pattern: &str) -> Result<Option<Regex>, ApplyError> {
    if pattern.is_empty() {
        return Ok(None);
    }
    Regex::new(&format!("^(?:{pattern})$"))
        .map(Some)
        .map_err(|e| ApplyError::IgnoreRule(format!("invalid {what} regex: {e}")))
}

impl Compiled {
    pub(crate) fn new(rules: &[IgnoreRule]) -> Result<Self, ApplyError> {
        let mut out = Vec::with_capacity(rules.len());
        for rule in rules {
            let target = match &rule.target {
                None => None,
                Some(t) => Some(Target {
                    regexes: [
                        (anchored("group", &t.group)?, Field::Group),
                        (anchored("version", &t.version)?, Field::Version),
                        (anchored("kind", &t.kind)?, Field::Kind),
                        (anchored("name", &t.name)?, Field::Name),
                        (anchored("namespace", &t.namespace)?, Field::Namespace),
                    ],
                    labels: Selector::parse_opt(&t.label_selector).map_err(|e| {
                        ApplyError::IgnoreRule(format!("invalid label selector: {e}"))
                    })?,
                    annotations: Selector::parse_opt(&t.annotation_selector).map_err(|e| {
                        ApplyError::IgnoreRule(format!("invalid annotation selector: {e}"))
                    })?,
                }),
            };
            out.push((target, rule.paths.clone()));
        }
        Ok(Compiled { rules: out })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The paths of every rule whose target selects `obj`.
    fn paths_for<'a>(&'a self, obj: &Value) -> impl Iterator<Item = &'a str> + 'a {
        let selected: Vec<bool> = self
            .rules
            .iter()
            .map(|(t, _)| t.as_ref().is_none_or(|t| t.matches(obj)))
            .collect();
        self.rules
            .iter()
            .zip(selected)
            .filter(|(_, s)| *s)
            .flat_map(|((_, paths), _)| paths.iter().map(String::as_str))
    }

    /// Whether a selected rule ignores the whole object (the root path
    /// `""`).
    pub(crate) fn ignores_root(&self, obj: &Value) -> bool {
        self.paths_for(obj).any(str::is_empty)
    }

    /// Removes from `obj` the paths the rules select for `match_obj`.
    pub(crate) fn strip(&self, match_obj: &Value, obj: &mut Value) {
        for p in self.paths_for(match_obj) {
            remove_pointer(obj, p);
        }
    }

    /// The fixes for the payload: each selected path whose live and
    /// dry-run values differ.
    pub(crate) fn fixes(&self, live: &Value, dry_run: &Value, ours: &str) -> Vec<Fix> {
        let mut out = Vec::new();
        for p in self.paths_for(dry_run) {
            let before = live.pointer(p);
            if before == dry_run.pointer(p) {
                continue;
            }
            if owned_by_other_apply_manager(live, p, ours) {
                out.push(Fix::Strip(p.to_string()));
            } else {
                match before {
                    Some(v) => out.push(Fix::Adopt(p.to_string(), v.clone())),
                    None => out.push(Fix::Strip(p.to_string())),
                }
            }
        }
        out
    }
}

/// Applies the fixes to an apply payload.
pub(crate) fn apply_fixes(payload: &mut Value, fixes: &[Fix]) {
    for f in fixes {
        match f {
            Fix::Strip(p) => remove_pointer(payload, p),
            Fix::Adopt(p, v) => set_pointer(payload, p, v.clone()),
        }
    }
}

impl Target {
    fn matches(&self, obj: &Value) -> bool {
        let api_version = obj["apiVersion"].as_str().unwrap_or_default();
        let meta = &obj["metadata"];
        let value = |f: Field| match f {
            Field::Group => inventory::group_of(api_version),
            Field::Version => inventory::version_of(api_version),
            Field::Kind => obj["kind"].as_str().unwrap_or_default(),
            Field::Name => meta["name"].as_str().unwrap_or_default(),
            Field::Namespace => meta["namespace"].as_str().unwrap_or_default(),
        };
        self.regexes
            .iter()
            .all(|(re, f)| re.as_ref().is_none_or(|re| re.is_match(value(*f))))
            && self
                .labels
                .as_ref()
                .is_none_or(|s| s.matches(&meta["labels"]))
            && self
                .annotations
                .as_ref()
                .is_none_or(|s| s.matches(&meta["annotations"]))
    }
}

fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

fn segments(pointer: &str) -> Option<Vec<String>> {
    let rest = pointer.strip_prefix('/')?;
    Some(rest.split('/').map(unescape).collect())
}

/// Removes the value at `pointer`; a missing path is fine.
pub(crate) fn remove_pointer(obj: &mut Value, pointer: &str) {
    let Some(segs) = segments(pointer) else {
        return;
    };
    let Some((last, parents)) = segs.split_last() else {
        return;
    };
    let mut node = obj;
    for s in parents {
        node = match node {
            Value::Object(m) => match m.get_mut(s.as_str()) {
                Some(n) => n,
                None => return,
            },
            Value::Array(a) => match s.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                Some(n) => n,
                None => return,
            },
            _ => return,
        };
    }
    match node {
        Value::Object(m) => {
            m.remove(last.as_str());
        }
        Value::Array(a) => {
            if let Some(i) = last.parse::<usize>().ok().filter(|i| *i < a.len()) {
                a.remove(i);
            }
        }
        _ => {}
    }
}

/// Sets the value at `pointer`, creating missing objects on the way.
fn set_pointer(obj: &mut Value, pointer: &str, value: Value) {
    let Some(segs) = segments(pointer) else {
        return;
    };
    let Some((last, parents)) = segs.split_last() else {
        return;
    };
    let mut node = obj;
    for s in parents {
        if node.is_null() {
            *node = Value::Object(Map::new());
        }
        node = match node {
            Value::Object(m) => m.entry(s.clone()).or_insert(Value::Null),
            Value::Array(a) => match s.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                Some(n) => n,
                None => return,
            },
            _ => return,
        };
    }
    if node.is_null() {
        *node = Value::Object(Map::new());
    }
    match node {
        Value::Object(m) => {
            m.insert(last.clone(), value);
        }
        Value::Array(a) => {
            if let Some(slot) = last.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                *slot = value;
            }
        }
        _ => {}
    }
}

/// Whether an Apply manager other than `ours` owns `pointer` in `live`'s
/// managedFields (list items found by their `k:{…}` merge keys).
fn owned_by_other_apply_manager(live: &Value, pointer: &str, ours: &str) -> bool {
    let entries: Vec<(&str, &Value)> = live["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| {
            e["operation"] == "Apply"
                && e["subresource"].as_str().unwrap_or_default().is_empty()
                && e["fieldsV1"].is_object()
        })
        .map(|e| (e["manager"].as_str().unwrap_or_default(), &e["fieldsV1"]))
        .collect();
    let Some(path) = fields_path(live, pointer, &entries) else {
        return false;
    };
    entries
        .iter()
        .filter(|(m, _)| *m != ours)
        .any(|(_, fields)| contains(fields, &path))
}

/// The fieldsV1 keys of a pointer: `f:<field>` per field, `k:{…}` for a
/// list item, found among the managers' keys by matching the item.
fn fields_path(live: &Value, pointer: &str, entries: &[(&str, &Value)]) -> Option<Vec<String>> {
    let segs = segments(pointer)?;
    if segs.is_empty() || (segs.len() == 1 && segs[0].is_empty()) {
        return None;
    }
    let mut out: Vec<String> = Vec::with_capacity(segs.len());
    let mut node = live;
    for s in segs {
        let Ok(index) = s.parse::<usize>() else {
            out.push(format!("f:{s}"));
            node = &node[s.as_str()];
            continue;
        };
        let item = node.as_array()?.get(index)?;
        let item_map = item.as_object()?;
        let key = entries
            .iter()
            .filter_map(|(_, fields)| walk(fields, &out))
            .flat_map(|m| m.keys())
            .filter_map(|k| Some((k, k.strip_prefix("k:")?)))
            .find(|(_, json)| {
                serde_json::from_str::<Map<String, Value>>(json)
                    .is_ok_and(|kv| kv.iter().all(|(k, v)| item_map.get(k) == Some(v)))
            })
            .map(|(k, _)| k.clone())?;
        out.push(key);
        node = item;
    }
    Some(out)
}

fn walk<'a>(fields: &'a Value, path: &[String]) -> Option<&'a Map<String, Value>> {
    path.iter()
        .try_fold(fields, |node, seg| node.get(seg))
        .and_then(Value::as_object)
}

fn contains(fields: &Value, path: &[String]) -> bool {
    !path.is_empty()
        && path
            .iter()
            .try_fold(fields, |node, seg| node.get(seg))
            .is_some()
}

/// A Kubernetes label selector (`a=b,c!=d,e in (x,y),f notin (z),g,!h`,
/// `n>1`, `n<3`): every requirement must hold.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Selector(Vec<Requirement>);

#[derive(Debug, Clone, PartialEq)]
enum Requirement {
    Exists(String),
    NotExists(String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Gt(String, i64),
    Lt(String, i64),
}

impl Selector {
    fn parse_opt(text: &str) -> Result<Option<Selector>, String> {
        if text.trim().is_empty() {
            return Ok(None);
        }
        Selector::parse(text).map(Some)
    }

    pub(crate) fn parse(text: &str) -> Result<Selector, String> {
        let mut reqs = Vec::new();
        let mut depth = 0usize;
        let mut start = 0;
        let bytes = text.as_bytes();
        for (i, b) in bytes.iter().enumerate() {
            match b {
                b'(' => depth += 1,
                b')' => depth = depth.checked_sub(1).ok_or("unbalanced ')'")?,
                b',' if depth == 0 => {
                    reqs.push(Requirement::parse(&text[start..i])?);
                    start = i + 1;
                }
                _ => {}
            }
        }
        if depth != 0 {
            return Err("unbalanced '('".into());
        }
        reqs.push(Requirement::parse(&text[start..])?);
        Ok(Selector(reqs))
    }

    fn matches(&self, labels: &Value) -> bool {
        self.0.iter().all(|r| r.matches(labels))
    }
}

fn valid_key(k: &str) -> Result<String, String> {
    let ok = !k.is_empty()
        && k.len() <= 317
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    if ok {
        Ok(k.to_string())
    } else {
        Err(format!("invalid label key \"{k}\""))
    }
}

fn valid_value(v: &str) -> Result<String, String> {
    let ok = v.len() <= 63
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(v.to_string())
    } else {
        Err(format!("invalid label value \"{v}\""))
    }
}

impl Requirement {
    fn parse(raw: &str) -> Result<Requirement, String> {
        let s = raw.trim();
        if s.is_empty() {
            return Err("empty requirement".into());
        }
        if let Some(k) = s.strip_prefix('!') {
            return Ok(Requirement::NotExists(valid_key(k.trim())?));
        }
        for (op, negate) in [(" notin ", true), (" in ", false)] {
            if let Some((k, set)) = s.split_once(op) {
                let set = set
                    .trim()
                    .strip_prefix('(')
                    .and_then(|x| x.strip_suffix(')'))
                    .ok_or_else(|| format!("expected a (set) in \"{s}\""))?;
                let values = set
                    .split(',')
                    .map(|v| valid_value(v.trim()))
                    .collect::<Result<Vec<_>, _>>()?;
                let key = valid_key(k.trim())?;
                return Ok(if negate {
                    Requirement::NotIn(key, values)
                } else {
                    Requirement::In(key, values)
                });
            }
        }
        for (op, kind) in [("!=", 0), ("==", 1), ("=", 1), (">", 2), ("<", 3)] {
            if let Some((k, v)) = s.split_once(op) {
                let key = valid_key(k.trim())?;
                let v = v.trim();
                return match kind {
                    0 => Ok(Requirement::NotIn(key, vec![valid_value(v)?])),
                    1 => Ok(Requirement::In(key, vec![valid_value(v)?])),
                    _ => {
                        let n = v
                            .parse::<i64>()
                            .map_err(|_| format!("invalid integer value \"{v}\""))?;
                        Ok(if kind == 2 {
                            Requirement::Gt(key, n)
                        } else {
                            Requirement::Lt(key, n)
                        })
                    }
                };
            }
        }
        Ok(Requirement::Exists(valid_key(s)?))
    }

    fn matches(&self, labels: &Value) -> bool {
        let get = |k: &str| labels.get(k).and_then(Value::as_str);
        match self {
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::NotExists(k) => get(k).is_none(),
            Requirement::In(k, vs) => get(k).is_some_and(|v| vs.iter().any(|x| x == v)),
            Requirement::NotIn(k, vs) => get(k).is_none_or(|v| !vs.iter().any(|x| x == v)),
            Requirement::Gt(k, n) => get(k)
                .and_then(|v| v.parse::<i64>().ok())
                .is_some_and(|v| v > *n),
            Requirement::Lt(k, n) => get(k)
                .and_then(|v| v.parse::<i64>().ok())
                .is_some_and(|v| v < *n),
        }
    }
}

#[cfg(test)]
mod tests;
