//! The clusters appliers write to, distinct from the home the objects come
//! from: in `ferroflux controller` the cluster it runs in (or a
//! Kustomization's `spec.kubeConfig`, as `serviceAccountName`), in
//! `ferroflux automate` the cluster of `--kubeconfig`. Kinds reach them
//! only through a [`TargetFactory`]; the Kubernetes implementation lives in
//! the runtime (`ferroflux_runtime::target::KubeTargets`) over
//! `ferroflux-kube`'s `ResourceManager`. With no cluster configured,
//! [`NoTarget`] answers every request with a Stalled error that says which
//! flag to pass; image kinds never ask.
//!
//! The operations and their data are `ferroflux-kube`'s (staged
//! server-side apply with the `ssa`/`force`/`reconcile` annotations and
//! `spec.force`, inventory ids and prune decisions by owner labels, the
//! kstatus wait with custom health rules): the pure types are shared, the
//! kube client stays behind the trait, so a kind never holds one.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

pub use ferroflux_kube::apply::{
    Action, ApplyError, ApplyFailure, ApplyOptions, ChangeSet, ChangeSetEntry, CustomHealth,
    DeleteOptions, WaitOptions,
};
pub use ferroflux_kube::inventory::{Inventory, ObjMetadata, ObjRef, Owner};

use crate::status::StepError;

pub mod helm;
pub use helm::HelmCluster;

#[cfg(test)]
mod tests;

/// A boxed future, so that the traits stay usable as `dyn`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A cluster manifests are applied to, as one field manager
/// (`kustomize-controller`).
pub trait TargetCluster: Send + Sync {
    /// `ApplyAllStaged`: definitions and classes first (each waited for),
    /// then the rest; created/configured/unchanged decided by a dry-run.
    /// With the objects as the apiserver answered their writes (the
    /// health wait's first look). On error the change set holds the
    /// stages applied before.
    fn apply_staged<'a>(
        &'a self,
        objects: Vec<Value>,
        o: &'a ApplyOptions,
    ) -> BoxFuture<'a, Result<(ChangeSet, Vec<Value>), ApplyFailure>>;
    /// Deletes `objects` in reverse apply order, keeping what the owner
    /// labels and the prune exclusions protect; on error the change set
    /// says which went.
    fn delete<'a>(
        &'a self,
        objects: &'a [ObjRef],
        o: &'a DeleteOptions,
    ) -> BoxFuture<'a, Result<ChangeSet, ApplyFailure>>;
    /// Waits until `objects` are Current (kstatus, or `o.custom`); the
    /// time it took.
    fn wait<'a>(
        &'a self,
        objects: &'a [ObjRef],
        o: &'a WaitOptions,
    ) -> BoxFuture<'a, Result<Duration, ApplyError>>;
    /// `deletionPolicy: WaitForTermination`: waits until every `deleted`
    /// entry of `deleted` is gone.
    fn wait_for_termination<'a>(
        &'a self,
        deleted: &'a ChangeSet,
        o: &'a WaitOptions,
    ) -> BoxFuture<'a, Result<Duration, ApplyError>>;
    /// Helm's actions on this cluster with the release records in
    /// `storage_namespace` (`spec.storageNamespace`), as field manager
    /// `helm-controller`. A cluster that cannot run them says so.
    fn helm(&self, storage_namespace: &str) -> Result<Arc<dyn HelmCluster>, StepError> {
        Err(StepError::stalled(
            NO_TARGET_REASON,
            format!("no Helm storage in namespace '{storage_namespace}' on this target cluster"),
        ))
    }
}

/// Which cluster a reconcile wants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetSpec {
    /// The object asking, `Kind/namespace/name`, for messages.
    pub requester: String,
    /// The requester's namespace: where the kubeconfig Secret lives and
    /// the namespace of the impersonated ServiceAccount.
    pub namespace: String,
    /// `spec.kubeConfig.secretRef.name` (in the requester's namespace).
    pub kube_config_secret: Option<String>,
    /// `spec.kubeConfig.secretRef.key` (default `value`, then
    /// `value.yaml`).
    pub kube_config_key: Option<String>,
    /// `spec.serviceAccountName`, impersonated as
    /// `system:serviceaccount:<namespace>:<name>`.
    pub service_account_name: Option<String>,
}

/// Hands out the cluster a reconcile wants. Errors are StepErrors with
/// Flux's reason (`ReconciliationFailed` and `failed to build kube client:
/// …` when a kubeconfig Secret is missing or wrong).
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
