//! `openapi` in kustomization.yaml: the one schema a build merges and scopes
//! with, kept per build (kyaml keeps it in package globals).
//!
//! kustomize 5.6 sets it from the top kustomization (`path` or `version`),
//! else from the first base or component loaded that names one; `path` with
//! `version` is an error, and only v1.21.2 is built in. A custom swagger
//! (JSON, or YAML when it does not open with `{`) takes the place of the
//! built-in definitions: a kind it does not describe merges as JSON merge
//! patch. Its `paths` say which kinds are namespaced (a GET path under
//! `namespaces/{namespace}`), for kinds kyaml's precomputed table does not
//! know ([`PRECOMPUTED`] always wins).
//!
//! kyaml reads its schemas lazily, and the order shows: when a build asked
//! whether a kind outside that table is namespaced before a base set a custom
//! schema, the built-in schema is read after the custom one (its definitions
//! win); when a strategic merge patch ran before, the built-in one was read
//! first (the custom definitions win). [`OpenApi`] replays that.

use std::cell::RefCell;
use std::ops::Deref;
use std::rc::Rc;
use std::sync::OnceLock;

use crate::resource::Gvk;
use crate::smp::schema::{self, Table};

/// The only built-in version (kyaml's `kubernetesapi.DefaultOpenAPI`).
pub const DEFAULT_VERSION: &str = "v1.21.2";

/// kyaml's `precomputedIsNamespaceScoped`: (group, version, kind,
/// namespaced) of the built-in v1.21.2 kinds, sorted.
pub const PRECOMPUTED: &[(&str, &str, &str, bool)] = &[
    ("", "v1", "ComponentStatus", false),
    ("", "v1", "ConfigMap", true),
    ("", "v1", "Endpoints", true),
    ("", "v1", "Event", true),
    ("", "v1", "LimitRange", true),
    ("", "v1", "Namespace", false),
    ("", "v1", "Node", false),
    ("", "v1", "NodeProxyOptions", false),
    ("", "v1", "PersistentVolume", false),
    ("", "v1", "PersistentVolumeClaim", true),
    ("", "v1", "Pod", true),
    ("", "v1", "PodAttachOptions", true),
    ("", "v1", "PodExecOptions", true),
    ("", "v1", "PodPortForwardOptions", true),
    ("", "v1", "PodProxyOptions", true),
    ("", "v1", "PodTemplate", true),
    ("", "v1", "ReplicationController", true),
    ("", "v1", "ResourceQuota", true),
    ("", "v1", "Secret", true),
    ("", "v1", "Service", true),
    ("", "v1", "ServiceAccount", true),
    ("", "v1", "ServiceProxyOptions", true),
    (
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "v1beta1",
        "MutatingWebhookConfiguration",
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "v1beta1",
        "ValidatingWebhookConfiguration",
        false,
    ),
    (
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        false,
    ),
    (
        "apiextensions.k8s.io",
        "v1beta1",
        "CustomResourceDefinition",
        false,
    ),
    ("apiregistration.k8s.io", "v1", "APIService", false),
    ("apiregistration.k8s.io", "v1beta1", "APIService", false),
    ("apps", "v1", "ControllerRevision", true),
    ("apps", "v1", "DaemonSet", true),
    ("apps", "v1", "Deployment", true),
    ("apps", "v1", "ReplicaSet", true),
    ("apps", "v1", "StatefulSet", true),
    ("autoscaling", "v1", "HorizontalPodAutoscaler", true),
    ("autoscaling", "v1", "Scale", true),
    ("autoscaling", "v2beta1", "HorizontalPodAutoscaler", true),
    ("autoscaling", "v2beta2", "HorizontalPodAutoscaler", true),
    ("batch", "v1", "CronJob", true),
    ("batch", "v1", "Job", true),
    ("batch", "v1beta1", "CronJob", true),
    (
        "certificates.k8s.io",
        "v1",
        "CertificateSigningRequest",
        false,
    ),
    (
        "certificates.k8s.io",
        "v1beta1",
        "CertificateSigningRequest",
        false,
    ),
    ("coordination.k8s.io", "v1", "Lease", true),
    ("coordination.k8s.io", "v1beta1", "Lease", true),
    ("discovery.k8s.io", "v1", "EndpointSlice", true),
    ("discovery.k8s.io", "v1beta1", "EndpointSlice", true),
    ("events.k8s.io", "v1", "Event", true),
    ("events.k8s.io", "v1beta1", "Event", true),
    ("extensions", "v1beta1", "Ingress", true),
    (
        "flowcontrol.apiserver.k8s.io",
        "v1beta1",
        "FlowSchema",
        false,
    ),
    (
        "flowcontrol.apiserver.k8s.io",
        "v1beta1",
        "PriorityLevelConfiguration",
        false,
    ),
    ("networking.k8s.io", "v1", "Ingress", true),
    ("networking.k8s.io", "v1", "IngressClass", false),
    ("networking.k8s.io", "v1", "NetworkPolicy", true),
    ("networking.k8s.io", "v1beta1", "Ingress", true),
    ("networking.k8s.io", "v1beta1", "IngressClass", false),
    ("node.k8s.io", "v1", "RuntimeClass", false),
    ("node.k8s.io", "v1beta1", "RuntimeClass", false),
    ("policy", "v1", "PodDisruptionBudget", true),
    ("policy", "v1beta1", "PodDisruptionBudget", true),
    ("policy", "v1beta1", "PodSecurityPolicy", false),
    ("rbac.authorization.k8s.io", "v1", "ClusterRole", false),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        false,
    ),
    ("rbac.authorization.k8s.io", "v1", "Role", true),
    ("rbac.authorization.k8s.io", "v1", "RoleBinding", true),
    ("rbac.authorization.k8s.io", "v1beta1", "ClusterRole", false),
    (
        "rbac.authorization.k8s.io",
        "v1beta1",
        "ClusterRoleBinding",
        false,
    ),
    ("rbac.authorization.k8s.io", "v1beta1", "Role", true),
    ("rbac.authorization.k8s.io", "v1beta1", "RoleBinding", true),
    ("scheduling.k8s.io", "v1", "PriorityClass", false),
    ("scheduling.k8s.io", "v1beta1", "PriorityClass", false),
    ("storage.k8s.io", "v1", "CSIDriver", false),
    ("storage.k8s.io", "v1", "CSINode", false),
    ("storage.k8s.io", "v1", "StorageClass", false),
    ("storage.k8s.io", "v1", "VolumeAttachment", false),
    ("storage.k8s.io", "v1beta1", "CSIDriver", false),
    ("storage.k8s.io", "v1beta1", "CSINode", false),
    ("storage.k8s.io", "v1beta1", "CSIStorageCapacity", true),
    ("storage.k8s.io", "v1beta1", "StorageClass", false),
    ("storage.k8s.io", "v1beta1", "VolumeAttachment", false),
];

/// Namespaced-ness from [`PRECOMPUTED`]; `None`: a kind it does not list.
pub fn precomputed(gvk: &Gvk) -> Option<bool> {
    let key = (gvk.group.as_str(), gvk.version.as_str(), gvk.kind.as_str());
    PRECOMPUTED
        .binary_search_by(|(g, v, k, _)| (*g, *v, *k).cmp(&key))
        .ok()
        .map(|i| PRECOMPUTED[i].3)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BuiltinStatus {
    NotParsed,
    Delayed,
    Parsed,
}

#[derive(Debug, Clone)]
enum Layer {
    Builtin,
    Custom(Rc<Table>),
}

#[derive(Debug)]
struct State {
    /// kyaml's `kubernetesOpenAPIVersion`: empty, the built-in version or
    /// `custom`.
    version: String,
    custom: Option<Rc<Table>>,
    init: bool,
    builtin: BuiltinStatus,
    /// The schemas read so far, in order.
    layers: Vec<Layer>,
    merged: Option<Rc<Table>>,
}

/// The schema state of one build.
#[derive(Debug)]
pub struct OpenApi {
    st: RefCell<State>,
}

impl Default for OpenApi {
    fn default() -> Self {
        OpenApi {
            st: RefCell::new(State {
                version: String::new(),
                custom: None,
                init: false,
                builtin: BuiltinStatus::NotParsed,
                layers: Vec::new(),
                merged: None,
            }),
        }
    }
}

/// A table to read: the shared built-in one or this build's own.
pub enum TableRef {
    Static(&'static Table),
    Shared(Rc<Table>),
}

impl Deref for TableRef {
    type Target = Table;
    fn deref(&self) -> &Table {
        match self {
            TableRef::Static(t) => t,
            TableRef::Shared(t) => t,
        }
    }
}

fn empty() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(Table::default)
}

/// Why `openapi` was refused (kyaml's words).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetError {
    #[error("builtin version and custom schema provided, cannot use both")]
    Both,
    #[error("the specified OpenAPI version {0:?} is not built in (kustomize 5.6 has v1.21.2)")]
    NotBuiltIn(String),
}

impl OpenApi {
    /// kyaml's `SetSchema`: `version` as the kustomization gives it (`Some`
    /// even when empty), `custom` the swagger its `path` names. Only the
    /// first call that finds nothing set counts, unless `reset` (the top).
    pub fn set(
        &self,
        version: Option<&str>,
        custom: Option<Table>,
        reset: bool,
    ) -> Result<(), SetError> {
        let mut st = self.st.borrow_mut();
        let is_set = !st.version.is_empty() || st.custom.is_some();
        if is_set && !reset {
            return Ok(());
        }
        if let Some(custom) = custom {
            if version.is_some() {
                return Err(SetError::Both);
            }
            st.custom = Some(Rc::new(custom));
            st.version = "custom".to_string();
            st.init = false;
            return Ok(());
        }
        st.version = version.unwrap_or_default().to_string();
        if st.version.is_empty() {
            return Ok(());
        }
        if st.version != DEFAULT_VERSION {
            return Err(SetError::NotBuiltIn(st.version.clone()));
        }
        st.custom = None;
        st.init = false;
        Ok(())
    }

    /// Nothing set yet: a kustomization's `openapi` would count.
    pub fn unset(&self) -> bool {
        let st = self.st.borrow();
        st.version.is_empty() && st.custom.is_none()
    }

    /// kyaml's `initSchema`: read what is set, once until it changes.
    fn init(&self) {
        let mut st = self.st.borrow_mut();
        if st.init {
            return;
        }
        st.init = true;
        if let Some(c) = st.custom.clone() {
            st.layers.push(Layer::Custom(c));
        } else {
            st.layers.push(Layer::Builtin);
            st.builtin = BuiltinStatus::Parsed;
        }
        if st.builtin == BuiltinStatus::Delayed {
            st.layers.push(Layer::Builtin);
            st.builtin = BuiltinStatus::Parsed;
        }
        st.merged = None;
    }

    /// The definitions strategic merge patches use now.
    pub fn table(&self) -> TableRef {
        self.init();
        let mut st = self.st.borrow_mut();
        if st.layers.iter().all(|l| matches!(l, Layer::Builtin)) {
            return TableRef::Static(if st.layers.is_empty() {
                empty()
            } else {
                schema::builtin()
            });
        }
        if let Some(m) = &st.merged {
            return TableRef::Shared(m.clone());
        }
        let tables: Vec<&Table> = st
            .layers
            .iter()
            .map(|l| match l {
                Layer::Builtin => schema::builtin(),
                Layer::Custom(t) => t.as_ref(),
            })
            .collect();
        let merged = Rc::new(Table::layered(&tables));
        st.merged = Some(merged.clone());
        TableRef::Shared(merged)
    }

    /// kyaml's `IsCertainlyClusterScoped`: the precomputed table, else the
    /// paths of the schema read.
    pub fn is_cluster_scoped(&self, gvk: &Gvk) -> bool {
        if let Some(namespaced) = precomputed(gvk) {
            return !namespaced;
        }
        let needs_init = {
            let mut st = self.st.borrow_mut();
            if st.init {
                false
            } else if st.custom.is_some() {
                true
            } else if st.version.is_empty() || st.version == DEFAULT_VERSION {
                // The precomputed table is the built-in schema's: no need
                // to read it now, but it will be read at the next need.
                if st.builtin == BuiltinStatus::NotParsed {
                    st.builtin = BuiltinStatus::Delayed;
                }
                false
            } else {
                true
            }
        };
        if needs_init {
            self.init();
        }
        let st = self.st.borrow();
        if st.layers.iter().all(|l| matches!(l, Layer::Builtin)) {
            return false;
        }
        drop(st);
        self.table().namespaced(&gvk.api_version(), &gvk.kind) == Some(false)
    }

    /// kyaml's `GetSchemaVersion`.
    pub fn version(&self) -> String {
        let st = self.st.borrow();
        match (st.version.as_str(), &st.custom) {
            ("", None) => DEFAULT_VERSION.to_string(),
            (_, Some(_)) => "using custom schema from file provided".to_string(),
            (v, None) => v.to_string(),
        }
    }
}

#[cfg(test)]
mod tests;
