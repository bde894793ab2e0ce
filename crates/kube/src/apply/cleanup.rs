//! The metadata cleanup kustomize-controller sends before it compares
//! (`cleanupMetadata`, `pkg/ssa patch.go`): kubectl's last-applied
//! annotation and Flux v1's checksum annotations and label removed, and
//! the fields of kubectl (and other listed managers) handed to our field
//! manager, so that the next apply removes what Git no longer has.

use serde_json::{Map, Value, json};

/// How a field manager wrote (`metadata.managedFields[].operation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Apply,
    Update,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

/// A field manager whose main-resource entries are taken over; the name
/// matches as a prefix (`kubectl` matches `kubectl-client-side-apply`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldManager {
    pub name: String,
    pub operation: Operation,
}

impl FieldManager {
    pub fn new(name: &str, operation: Operation) -> Self {
        FieldManager {
            name: name.into(),
            operation,
        }
    }

    fn matches(&self, entry: &Value) -> bool {
        entry["operation"] == self.operation.as_str()
            && entry["subresource"].as_str().unwrap_or_default().is_empty()
            && entry["manager"]
                .as_str()
                .is_some_and(|m| m.starts_with(&self.name))
    }
}

/// kustomize-controller's list: kubectl (apply and update),
/// `before-first-apply`, our own name's Update entries (from before
/// server-side apply), and each of `overrides` (`--override-manager`).
pub fn default_field_managers(ours: &str, overrides: &[String]) -> Vec<FieldManager> {
    let mut list = vec![
        FieldManager::new("kubectl", Operation::Apply),
        FieldManager::new("kubectl", Operation::Update),
        FieldManager::new("before-first-apply", Operation::Update),
        FieldManager::new(ours, Operation::Update),
    ];
    for o in overrides {
        list.push(FieldManager::new(o, Operation::Apply));
        list.push(FieldManager::new(o, Operation::Update));
    }
    list
}

const ANNOTATIONS: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    "kustomize.toolkit.fluxcd.io/checksum",
    "fluxcd.io/sync-checksum",
];
const LABELS: &[&str] = &["fluxcd.io/sync-gc-mark"];

/// The JSON Patch (RFC 6902) that cleans `live`, or `None` when it is
/// clean already.
pub fn cleanup_patch(live: &Value, managers: &[FieldManager], ours: &str) -> Option<Value> {
    let mut ops = Vec::new();
    for (field, keys) in [("annotations", ANNOTATIONS), ("labels", LABELS)] {
        for key in keys {
            if live["metadata"][field].get(*key).is_some() {
                ops.push(json!({
                    "op": "remove",
                    "path": format!("/metadata/{field}/{}", key.replace('~', "~0").replace('/', "~1")),
                }));
            }
        }
    }
    if let Some(entries) = managed_fields(live, managers, ours) {
        ops.push(json!({"op": "replace", "path": "/metadata/managedFields", "value": entries}));
    }
    (!ops.is_empty()).then_some(Value::Array(ops))
}

/// `PatchReplaceFieldsManagers`: matching entries folded into our Apply
/// entry (field sets unioned; the first match renamed when we have
/// none), which goes last.
fn managed_fields(live: &Value, managers: &[FieldManager], ours: &str) -> Option<Vec<Value>> {
    let entries = live["metadata"]["managedFields"].as_array()?;
    let is_ours = |e: &Value| e["manager"] == ours && e["operation"] == "Apply";
    let mut merged: Option<Value> = entries.iter().rev().find(|e| is_ours(e)).cloned();
    let previous = merged.clone();
    let mut kept = Vec::with_capacity(entries.len());
    let mut edited = false;
    for entry in entries {
        if previous.as_ref() == Some(entry) {
            continue;
        }
        if !managers.iter().any(|m| m.matches(entry)) {
            kept.push(entry.clone());
            continue;
        }
        edited = true;
        match &mut merged {
            None => {
                let mut renamed = entry.clone();
                renamed["manager"] = ours.into();
                renamed["operation"] = "Apply".into();
                merged = Some(renamed);
            }
            Some(m) => {
                let fields = union(&m["fieldsV1"], &entry["fieldsV1"]);
                m["fieldsV1"] = fields;
            }
        }
    }
    if !edited {
        return None;
    }
    kept.extend(merged);
    Some(kept)
}

/// The union of two `fieldsV1` tries (nested maps of `f:`/`k:`/`v:`/`i:`
/// keys, `.` for the node itself).
fn union(a: &Value, b: &Value) -> Value {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut out: Map<String, Value> = x.clone();
            for (k, v) in y {
                let merged = match out.get(k) {
                    Some(existing) => union(existing, v),
                    None => v.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Null, other) | (other, Value::Null) => other.clone(),
        (left, _) => left.clone(),
    }
}
