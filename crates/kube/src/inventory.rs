//! A Kustomization's inventory as Flux writes it (`status.inventory`), the
//! order kustomize-controller applies and prunes in, and the rules that
//! keep a live object from being pruned.
//!
//! Pure: object ids and decisions over JSON, no IO. The id format is
//! cli-utils' `ObjMetadata.String()`: `<namespace>_<name>_<group>_<kind>`,
//! with `:` in the names of RBAC kinds written `__`; the order is
//! `pkg/ssa sort.go`; the prune rules are kustomize-controller's
//! `deleteObjects` (owner labels required, `prune: disabled`,
//! `reconcile: disabled` and `ssa: Ignore` excluded).

use std::cmp::Ordering;
use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The label naming the Kustomization that owns an object.
pub const OWNER_NAME_LABEL: &str = "kustomize.toolkit.fluxcd.io/name";
/// The label naming the owning Kustomization's namespace.
pub const OWNER_NAMESPACE_LABEL: &str = "kustomize.toolkit.fluxcd.io/namespace";
/// `disabled`: the live object is never deleted.
pub const PRUNE_KEY: &str = "kustomize.toolkit.fluxcd.io/prune";
/// `disabled`: the object is neither applied nor pruned.
pub const RECONCILE_KEY: &str = "kustomize.toolkit.fluxcd.io/reconcile";
/// `Merge`, `IfNotPresent`, `Ignore` (anything else is `Override`).
pub const SSA_KEY: &str = "kustomize.toolkit.fluxcd.io/ssa";
/// `enabled`: an immutable-field change recreates the object.
pub const FORCE_KEY: &str = "kustomize.toolkit.fluxcd.io/force";

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
const RBAC_KINDS: &[&str] = &["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"];

/// Why an id or an object could not be identified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InventoryError {
    /// cli-utils' message, with the part it could not split.
    #[error("unable to parse stored object metadata: {0}")]
    Parse(String),
    #[error("object #{index} has no {field}")]
    MissingField { index: usize, field: &'static str },
}

/// One object's identity: namespace (empty when cluster-scoped), name,
/// API group (empty for the core group) and kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ObjMetadata {
    pub namespace: String,
    pub name: String,
    pub group: String,
    pub kind: String,
}

impl ObjMetadata {
    pub fn new(namespace: &str, name: &str, group: &str, kind: &str) -> Self {
        ObjMetadata {
            namespace: namespace.into(),
            name: name.into(),
            group: group.into(),
            kind: kind.into(),
        }
    }

    /// The identity of a manifest; `index` names it in the error.
    pub fn from_object(obj: &Value, index: usize) -> Result<Self, InventoryError> {
        let field = |v: &Value, field: &'static str| {
            v.as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .ok_or(InventoryError::MissingField { index, field })
        };
        let api_version = field(&obj["apiVersion"], "apiVersion")?;
        Ok(ObjMetadata {
            namespace: obj["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .into(),
            name: field(&obj["metadata"]["name"], "metadata.name")?,
            group: group_of(&api_version).into(),
            kind: field(&obj["kind"], "kind")?,
        })
    }

    /// Parses an inventory id as cli-utils does: namespace up to the first
    /// `_`, kind after the last, group between the last two, the rest is
    /// the name (`__` read back as `:`).
    pub fn parse(id: &str) -> Result<Self, InventoryError> {
        let err = |s: &str| InventoryError::Parse(s.to_string());
        let (namespace, rest) = id.split_once('_').ok_or_else(|| err(id))?;
        let (rest, kind) = rest.rsplit_once('_').ok_or_else(|| err(rest))?;
        let (name, group) = rest.rsplit_once('_').ok_or_else(|| err(rest))?;
        Ok(ObjMetadata {
            namespace: namespace.into(),
            name: name.replace("__", ":"),
            group: group.into(),
            kind: kind.into(),
        })
    }

    /// The inventory id (`default_podinfo_apps_Deployment`).
    pub fn id(&self) -> String {
        self.to_string()
    }

    /// Flux's subject: `Kind/namespace/name`, or `Kind/name` when
    /// cluster-scoped.
    pub fn subject(&self) -> String {
        if self.namespace.is_empty() {
            format!("{}/{}", self.kind, self.name)
        } else {
            format!("{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }

    fn is_rbac(&self) -> bool {
        self.group == RBAC_GROUP && RBAC_KINDS.contains(&self.kind.as_str())
    }
}

impl fmt::Display for ObjMetadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = if self.is_rbac() {
            self.name.replace(':', "__")
        } else {
            self.name.clone()
        };
        write!(
            f,
            "{}_{}_{}_{}",
            self.namespace, name, self.group, self.kind
        )
    }
}

/// The group of an `apiVersion` (`apps/v1` → `apps`, `v1` → ``).
pub fn group_of(api_version: &str) -> &str {
    api_version
        .rsplit_once('/')
        .map(|(g, _)| g)
        .unwrap_or_default()
}

/// The version of an `apiVersion` (`apps/v1` → `v1`).
pub fn version_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or(api_version, |(_, v)| v)
}

/// `status.inventory` of a Kustomization.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    #[serde(default)]
    pub entries: Vec<Entry>,
}

/// One inventory entry: the id and the version it was applied with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub id: String,
    pub v: String,
}

/// An object named by an inventory: identity and version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjRef {
    pub meta: ObjMetadata,
    pub version: String,
}

impl ObjRef {
    /// `apps/v1`, or `v1` for the core group.
    pub fn api_version(&self) -> String {
        if self.meta.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.meta.group, self.version)
        }
    }
}

impl Inventory {
    /// The objects of the inventory, in its order.
    pub fn objects(&self) -> Result<Vec<ObjRef>, InventoryError> {
        self.entries
            .iter()
            .map(|e| {
                Ok(ObjRef {
                    meta: ObjMetadata::parse(&e.id)?,
                    version: e.v.clone(),
                })
            })
            .collect()
    }

    /// Appends the objects not in the inventory yet (by id): the
    /// survivors of a failed prune, so the next run retries them.
    pub fn merge(&mut self, objects: &[ObjRef]) {
        let mut seen: HashSet<String> = self.entries.iter().map(|e| e.id.clone()).collect();
        for o in objects {
            let id = o.meta.id();
            if seen.insert(id.clone()) {
                self.entries.push(Entry {
                    id,
                    v: o.version.clone(),
                });
            }
        }
    }
}

/// The objects of `old` whose id is not in `new` (the version does not
/// count), in apply order; prune deletes them in the reverse order.
pub fn stale(old: &Inventory, new: &Inventory) -> Result<Vec<ObjRef>, InventoryError> {
    let keep: HashSet<ObjMetadata> = new.objects()?.into_iter().map(|o| o.meta).collect();
    let mut seen = HashSet::new();
    let mut out: Vec<ObjRef> = old
        .objects()?
        .into_iter()
        .filter(|o| !keep.contains(&o.meta) && seen.insert(o.meta.clone()))
        .collect();
    out.sort_by(|a, b| compare(&a.meta, &b.meta));
    Ok(out)
}

/// `pkg/ssa`'s `ReconcileOrder`: these kinds first, in this order…
const FIRST: &[&str] = &[
    "CustomResourceDefinition",
    "Namespace",
    "ClusterRole",
    "ClusterClass",
    "RuntimeClass",
    "PriorityClass",
    "StorageClass",
    "VolumeSnapshotClass",
    "IngressClass",
    "GatewayClass",
    "ClusterRoleBinding",
    "ResourceQuota",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "ConfigMap",
    "Secret",
    "Service",
    "LimitRange",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];
/// …and these last, after every kind not named.
const LAST: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// The rank of a kind in Flux's order (any group): −23..−1 for the
/// first kinds, 0 for the unnamed, 1 and 2 for webhook configurations.
pub fn kind_rank(kind: &str) -> i32 {
    let len = i32::try_from(FIRST.len()).expect("a short list");
    if let Some(i) = FIRST.iter().position(|k| *k == kind) {
        return -len + i32::try_from(i).expect("a short list");
    }
    LAST.iter()
        .position(|k| *k == kind)
        .map_or(0, |i| 1 + i32::try_from(i).expect("a short list"))
}

/// Flux's apply order: kind rank, group, kind, namespace, name.
pub fn compare(a: &ObjMetadata, b: &ObjMetadata) -> Ordering {
    kind_rank(&a.kind)
        .cmp(&kind_rank(&b.kind))
        .then_with(|| a.group.cmp(&b.group))
        .then_with(|| a.kind.cmp(&b.kind))
        .then_with(|| a.namespace.cmp(&b.namespace))
        .then_with(|| a.name.cmp(&b.name))
}

/// The stages of `ApplyAllStaged`, in the order they are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// CRDs, Namespaces and ClusterRoles; waited for before the rest.
    Definitions,
    /// Any kind ending in `Class`; waited for too.
    Classes,
    /// Kinds the operator names (`--custom-apply-stage-kinds`); no wait.
    Custom,
    /// Everything else.
    Resources,
}

/// The stage of an object; `custom` holds `(group, kind)` pairs.
pub fn stage(api_version: &str, kind: &str, custom: &[(String, String)]) -> Stage {
    let lower = kind.to_ascii_lowercase();
    let definition = (lower == "customresourcedefinition"
        && api_version.starts_with("apiextensions.k8s.io/"))
        || (lower == "namespace" && api_version == "v1")
        || (lower == "clusterrole" && api_version.starts_with("rbac.authorization.k8s.io/"));
    if definition {
        Stage::Definitions
    } else if kind.ends_with("Class") {
        Stage::Classes
    } else if custom
        .iter()
        .any(|(g, k)| g == group_of(api_version) && k == kind)
    {
        Stage::Custom
    } else {
        Stage::Resources
    }
}

/// Whether a label or an annotation of `obj` has one of the `selector`'s
/// key/value pairs; values compare case-insensitively and an empty value
/// never matches (`utils.AnyInMetadata`).
pub fn any_in_metadata(obj: &Value, selector: &[(&str, &str)]) -> bool {
    let meta = &obj["metadata"];
    selector.iter().any(|(key, want)| {
        ["labels", "annotations"].iter().any(|m| {
            meta[*m][*key]
                .as_str()
                .is_some_and(|v| !v.is_empty() && v.eq_ignore_ascii_case(want))
        })
    })
}

/// The Kustomization an object belongs to, by its owner labels.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Owner {
    pub name: String,
    pub namespace: String,
}

impl Owner {
    pub fn new(name: &str, namespace: &str) -> Self {
        Owner {
            name: name.into(),
            namespace: namespace.into(),
        }
    }

    /// The two labels Flux puts on every object it applies.
    pub fn labels(&self) -> [(&'static str, &str); 2] {
        [
            (OWNER_NAME_LABEL, &self.name),
            (OWNER_NAMESPACE_LABEL, &self.namespace),
        ]
    }

    /// Puts the owner labels on `obj` (what kustomize-controller does to
    /// every object before applying it).
    pub fn label(&self, obj: &mut Value) {
        let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
            return;
        };
        let labels = meta
            .entry("labels")
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        if !labels.is_object() {
            *labels = Value::Object(serde_json::Map::new());
        }
        for (k, v) in self.labels() {
            labels[k] = Value::String(v.to_string());
        }
    }

    /// Whether `obj`'s labels name this owner (both, exactly).
    pub fn owns(&self, obj: &Value) -> bool {
        let labels = &obj["metadata"]["labels"];
        self.labels()
            .iter()
            .all(|(k, v)| labels[*k].as_str() == Some(*v))
    }

    /// Whether `obj` carries owner labels that name another owner.
    pub fn other_owner_of(&self, obj: &Value) -> bool {
        let labels = &obj["metadata"]["labels"];
        let has_any = self.labels().iter().any(|(k, _)| !labels[*k].is_null());
        has_any && !self.owns(obj)
    }
}

/// Whether prune deletes a live object, and if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PruneDecision {
    Delete,
    /// The live object lacks this Kustomization's owner labels (it moved
    /// to another Kustomization, or was never Flux's).
    NotOwned,
    /// `prune: disabled`, `reconcile: disabled` or `ssa: Ignore`.
    Excluded,
}

/// The labels and annotations that keep a live object from prune.
pub const PRUNE_EXCLUSIONS: &[(&str, &str)] = &[
    (PRUNE_KEY, "disabled"),
    (RECONCILE_KEY, "disabled"),
    (SSA_KEY, "Ignore"),
];

/// kustomize-controller's `deleteObjects` rules for one live object.
pub fn prune_decision(live: &Value, owner: &Owner) -> PruneDecision {
    if !owner.owns(live) {
        PruneDecision::NotOwned
    } else if any_in_metadata(live, PRUNE_EXCLUSIONS) {
        PruneDecision::Excluded
    } else {
        PruneDecision::Delete
    }
}

#[cfg(test)]
mod tests;
