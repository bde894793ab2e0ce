//! The clusters appliers write to, distinct from the home the objects come
//! from: in `ferroflux controller` the cluster it runs in (or a
//! Kustomization's `spec.kubeConfig`, as `serviceAccountName`), in
//! `ferroflux automate` the cluster of `--kubeconfig`. Kinds reach them
//! only through a [`TargetFactory`]; the Kubernetes implementation (server-
//! side apply, staged, with inventory and health) lives in the runtime over
//! `ferroflux-kube` and is not built yet. With no cluster configured,
//! [`NoTarget`] answers every request with a Stalled error that says which
//! flag to pass; image kinds never ask.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::status::StepError;

#[cfg(test)]
mod tests;

/// A boxed future, so that the traits stay usable as `dyn`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Flux's inventory id of an applied object: `<namespace>_<name>_<group>_<kind>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjId {
    pub namespace: String,
    pub name: String,
    pub group: String,
    pub kind: String,
}

impl std::fmt::Display for ObjId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}_{}_{}_{}",
            self.namespace, self.name, self.group, self.kind
        )
    }
}

/// What an apply or delete did to each object (`Deployment/default/app configured`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeSet {
    pub entries: Vec<(ObjId, String)>,
}

/// An object whose live state differs from the desired one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    pub id: ObjId,
    /// A readable diff, Secrets masked.
    pub diff: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyOptions {
    /// `force`: recreate objects whose immutable fields changed.
    pub force: bool,
    pub field_manager: String,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            force: false,
            field_manager: "kustomize-controller".to_string(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    /// Objects with these labels or annotations are kept (`prune: disabled`).
    pub keep_annotated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitOptions {
    pub timeout: Duration,
}

/// Which cluster a reconcile wants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetSpec {
    /// The object asking, `Kind/namespace/name`, for messages.
    pub requester: String,
    /// `spec.kubeConfig.secretRef.name` (in the requester's namespace).
    pub kube_config_secret: Option<String>,
    /// `spec.serviceAccountName`, impersonated.
    pub service_account_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("{id}: {detail}")]
    Object { id: ObjId, detail: String },
    #[error("target cluster: {0}")]
    Cluster(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Health check failed after {after:?}: {detail}")]
pub struct HealthError {
    pub after: Duration,
    pub detail: String,
}

/// A cluster manifests are applied to.
pub trait TargetCluster: Send + Sync {
    /// CRDs and Namespaces first (waiting until established), then the rest.
    fn apply_staged(
        &self,
        objs: Vec<Value>,
        o: &ApplyOptions,
    ) -> BoxFuture<'_, Result<ChangeSet, TargetError>>;
    /// Server-side dry run: what differs from the live objects.
    fn diff<'a>(&'a self, objs: &'a [Value]) -> BoxFuture<'a, Result<Vec<Drift>, TargetError>>;
    fn delete<'a>(
        &'a self,
        ids: &'a [ObjId],
        o: &'a DeleteOptions,
    ) -> BoxFuture<'a, Result<ChangeSet, TargetError>>;
    fn wait<'a>(
        &'a self,
        ids: &'a [ObjId],
        o: &'a WaitOptions,
    ) -> BoxFuture<'a, Result<(), HealthError>>;
}

/// Hands out the cluster a reconcile wants.
pub trait TargetFactory: Send + Sync {
    fn target<'a>(
        &'a self,
        want: &'a TargetSpec,
    ) -> BoxFuture<'a, Result<Arc<dyn TargetCluster>, StepError>>;
}

/// The reason of the Stalled condition when no target cluster is configured.
pub const NO_TARGET_REASON: &str = "TargetClusterMissing";

/// No cluster to apply to (`ferroflux automate` without `--kubeconfig`).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTarget;

impl TargetFactory for NoTarget {
    fn target<'a>(
        &'a self,
        want: &'a TargetSpec,
    ) -> BoxFuture<'a, Result<Arc<dyn TargetCluster>, StepError>> {
        let message = match &want.kube_config_secret {
            Some(secret) => format!(
                "{}: no cluster to apply to: spec.kubeConfig (secret '{secret}') is read only by \
                 `ferroflux controller`; run `ferroflux automate --kubeconfig FILE` to apply \
                 from outside the cluster",
                want.requester
            ),
            None => format!(
                "{}: no cluster to apply to: run `ferroflux automate --kubeconfig FILE` \
                 (or `ferroflux controller` inside the cluster)",
                want.requester
            ),
        };
        Box::pin(async move { Err(StepError::stalled(NO_TARGET_REASON, message)) })
    }
}
