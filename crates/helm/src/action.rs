//! Helm's actions as data (`pkg/action`'s option structs,
//! helm-semantics.md §6–§8): what the HelmRelease kind asks of a cluster
//! and what it gets back. The kind fills these; the cluster adapter
//! (`ferroflux_kube::helm`, behind `ferroflux_controllers::target::HelmCluster`)
//! runs them: render, hooks, apply, wait, release storage. No IO here.
//!
//! Every action answers with the stored record ([`Record`]): the one
//! currency for releases ferroflux wrote and releases `helm` wrote.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::chart::Chart;
pub use crate::release::Record;

/// `crds` of `install`/`upgrade` (helm-controller applies CRDs itself,
/// with Helm's `SkipCRDs` set).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CrdPolicy {
    Skip,
    #[default]
    Create,
    CreateReplace,
}

/// Helm v4's wait strategies (`--wait`): `HookOnly` waits for hooks only
/// (helm-controller's `disableWait`), `Watcher` is kstatus (Flux's
/// `poller`, the default), `Legacy` is v3's polling.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WaitStrategy {
    HookOnly,
    #[default]
    Watcher,
    Legacy,
}

/// `--server-side` of upgrade and rollback: `Auto` follows the previous
/// revision's `apply_method`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ServerSide {
    Enabled,
    Disabled,
    #[default]
    Auto,
}

/// A post-renderer: the rendered manifest (every document, `---`
/// separated) in, the manifest to apply and store out. helm-controller's
/// chain (kustomize patches and images, `commonMetadata`, the origin
/// labels) is one of these, built by the kind.
pub type PostRender = Arc<dyn Fn(String) -> Result<String, String> + Send + Sync>;

/// Settings every action shares.
#[derive(Clone, Debug)]
pub struct Common {
    /// The release name (after Flux's `ShortenName`).
    pub release_name: String,
    /// Where the release's objects go (`targetNamespace`).
    pub namespace: String,
    /// Field manager of applies (`helm-controller`).
    pub field_manager: String,
    pub timeout: Duration,
    pub wait: WaitStrategy,
    pub wait_for_jobs: bool,
    pub disable_hooks: bool,
}

impl Default for Common {
    fn default() -> Self {
        Common {
            release_name: String::new(),
            namespace: "default".to_string(),
            field_manager: "helm-controller".to_string(),
            timeout: Duration::from_secs(300),
            wait: WaitStrategy::Watcher,
            wait_for_jobs: true,
            disable_hooks: false,
        }
    }
}

/// `action.Install` as helm-controller configures it.
#[derive(Clone)]
pub struct Install {
    pub common: Common,
    pub chart: Chart,
    /// The user-supplied values (`config`), not coalesced.
    pub values: Map<String, Value>,
    pub crds: CrdPolicy,
    pub create_namespace: bool,
    pub skip_schema_validation: bool,
    pub disable_openapi_validation: bool,
    /// `--replace`: reuse the name of an uninstalled or failed release.
    pub replace: bool,
    /// The caller read storage just before and found no release of this
    /// name (helm-controller's loop does): the name check does not read
    /// it again.
    pub name_free: bool,
    /// Server-side apply (Helm v4 default; `install.serverSideApply`).
    pub server_side: bool,
    pub force_conflicts: bool,
    /// Adopt existing objects that lack Helm's ownership metadata.
    pub take_ownership: bool,
    /// Overrides "Install complete".
    pub description: Option<String>,
    /// User labels of the storage object.
    pub labels: BTreeMap<String, String>,
    pub post_render: Option<PostRender>,
}

/// `action.Upgrade` as helm-controller configures it.
#[derive(Clone)]
pub struct Upgrade {
    pub common: Common,
    pub chart: Chart,
    pub values: Map<String, Value>,
    /// `!preserveValues`.
    pub reset_values: bool,
    /// `preserveValues`.
    pub reuse_values: bool,
    /// `maxHistory` (0 = unlimited).
    pub max_history: i64,
    pub crds: CrdPolicy,
    pub skip_schema_validation: bool,
    pub disable_openapi_validation: bool,
    /// `force`: replace instead of patch (client-side apply only).
    pub force_replace: bool,
    pub cleanup_on_fail: bool,
    pub server_side: ServerSide,
    pub force_conflicts: bool,
    pub take_ownership: bool,
    pub description: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub post_render: Option<PostRender>,
}

/// `action.Rollback`.
#[derive(Clone, Debug, Default)]
pub struct Rollback {
    pub common: Common,
    /// The revision to roll back to; 0 = the previous one.
    pub version: i64,
    pub force_replace: bool,
    pub cleanup_on_fail: bool,
    pub max_history: i64,
    pub server_side: ServerSide,
    pub force_conflicts: bool,
}

/// `action.Uninstall`.
#[derive(Clone, Debug, Default)]
pub struct Uninstall {
    pub common: Common,
    pub keep_history: bool,
    /// `background` (default), `foreground` or `orphan`.
    pub deletion_propagation: String,
    pub description: Option<String>,
}

/// `action.ReleaseTesting`: the `test` hooks of the last release.
#[derive(Clone, Debug, Default)]
pub struct Test {
    pub common: Common,
    /// `test.filters`: `(name, exclude)`.
    pub filters: Vec<(String, bool)>,
}

/// Why an action failed. `record` is the release record the action left
/// in storage (a `failed` revision), if it got that far: helm-controller
/// counts install/upgrade failures only then.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{message}")]
pub struct ActionError {
    pub message: String,
    pub record: Option<Box<Record>>,
}

impl ActionError {
    pub fn new(message: impl Into<String>) -> ActionError {
        ActionError {
            message: message.into(),
            record: None,
        }
    }

    pub fn with_record(message: impl Into<String>, record: Record) -> ActionError {
        ActionError {
            message: message.into(),
            record: Some(Box::new(record)),
        }
    }
}

impl std::fmt::Debug for Install {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Install")
            .field("common", &self.common)
            .field("chart", &self.chart.metadata.name)
            .field("version", &self.chart.metadata.version)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Upgrade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upgrade")
            .field("common", &self.common)
            .field("chart", &self.chart.metadata.name)
            .field("version", &self.chart.metadata.version)
            .finish_non_exhaustive()
    }
}
