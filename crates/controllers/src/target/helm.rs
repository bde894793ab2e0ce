//! Helm's actions on a target cluster, as helm-controller runs them
//! through Helm's `action.Configuration` (helm-semantics.md §6–§8, §12):
//! the HelmRelease kind decides which action runs; the cluster renders,
//! runs hooks, applies, waits and keeps the release records (Secrets
//! `sh.helm.release.v1.<name>.v<N>` in the storage namespace, readable by
//! the real `helm`). The implementation is `ferroflux_kube::helm` behind
//! the runtime's `KubeTargets`; tests of the kind use an in-memory one.

use std::sync::Arc;

pub use ferroflux_helm::action::{
    ActionError, Common, CrdPolicy, Install, PostRender, Record, Rollback, ServerSide, Test,
    Uninstall, Upgrade, WaitStrategy,
};

pub use ferroflux_kube::apply::{DiffType, IgnoreRule, IgnoreTarget, JsonDiff, JsonDiffSet};

use super::BoxFuture;

/// A storage namespace's releases on one cluster, and the actions on them.
/// Reads answer decoded records; a record that does not decode is an
/// error for `get`, and skipped by `history` and `last` (as Helm's
/// `List`).
pub trait HelmCluster: Send + Sync {
    /// `Storage.Last(name)`: the highest revision, if any.
    fn last<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<Record>, ActionError>>;
    /// `Storage.Get(name, version)`.
    fn get<'a>(
        &'a self,
        name: &'a str,
        version: i64,
    ) -> BoxFuture<'a, Result<Option<Record>, ActionError>>;
    /// `Storage.History(name)`, sorted by revision, oldest first.
    fn history<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Vec<Record>, ActionError>>;
    /// `Storage.Update`: the record written back as it is (helm-controller's
    /// unlock sets a pending record to `failed`).
    fn update<'a>(&'a self, record: &'a Record) -> BoxFuture<'a, Result<(), ActionError>>;
    fn install<'a>(&'a self, o: Install) -> BoxFuture<'a, Result<Record, ActionError>>;
    fn upgrade<'a>(&'a self, o: Upgrade) -> BoxFuture<'a, Result<Record, ActionError>>;
    fn rollback<'a>(&'a self, o: Rollback) -> BoxFuture<'a, Result<Record, ActionError>>;
    /// The uninstalled record (`None` when the history went with it).
    fn uninstall<'a>(&'a self, o: Uninstall) -> BoxFuture<'a, Result<Option<Record>, ActionError>>;
    /// Runs the last release's `test` hooks; the record with their
    /// `last_run`.
    fn test<'a>(&'a self, o: Test) -> BoxFuture<'a, Result<Record, ActionError>>;
    /// helm-controller's `action.Diff`: the record's objects (Helm's
    /// ownership metadata set, namespaced by the release) dry-run applied
    /// as `field_manager` and compared with the cluster, `ignore` rules
    /// left out; objects labelled or annotated
    /// `helm.toolkit.fluxcd.io/driftDetection: disabled` excluded. Objects
    /// that could not be diffed are the set's errors.
    fn diff<'a>(
        &'a self,
        record: &'a Record,
        field_manager: &'a str,
        ignore: &'a [IgnoreRule],
    ) -> BoxFuture<'a, Result<JsonDiffSet, ActionError>>;
    /// `action.ApplyDiff`: the missing objects created, the drifted ones
    /// patched, as `field_manager`; no release is written. The corrected
    /// lines (`Kind/ns/name created|configured`) and the failures.
    fn correct_drift<'a>(
        &'a self,
        diffs: &'a [JsonDiff],
        field_manager: &'a str,
    ) -> BoxFuture<'a, (Vec<String>, Vec<String>)>;
}

/// A shared handle, as [`super::TargetCluster::helm`] hands it out.
pub type SharedHelmCluster = Arc<dyn HelmCluster>;
