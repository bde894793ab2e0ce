//! `helm.toolkit.fluxcd.io/v2` HelmRelease (helm-controller v1.6.3,
//! `api/v2`): every field of the spec, the status with its history
//! snapshots and failure counters, and the defaults helm-controller applies
//! in code through its getters (timeout 5m, maxHistory 5, the release name,
//! storage and target namespaces, remediation, CRD policies, strategies).
//! The removed `v2beta1`/`v2beta2` manifests are read with these types.

use std::collections::BTreeMap;
use std::time::Duration as StdDuration;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Duration;
use crate::kustomize::{
    CommonMetadata, CustomHealthCheck, DependencyReference, IgnoreRule, Image, Patch,
    ResourceInventory,
};
use crate::meta::{Condition, KubeConfigReference, LocalObjectReference};

pub const GROUP: &str = "helm.toolkit.fluxcd.io";

/// `defaultMaxHistory`.
pub const DEFAULT_MAX_HISTORY: i64 = 5;
/// `GetTimeout`'s default.
pub const DEFAULT_TIMEOUT: StdDuration = StdDuration::from_secs(300);
/// `retryInterval`'s default under `RetryOnFailure`.
pub const DEFAULT_RETRY_INTERVAL: StdDuration = StdDuration::from_secs(300);
/// `CurrentSnapshotAPIVersion`.
pub const SNAPSHOT_API_VERSION: &str = "v2";

/// Annotations helm-controller reads (`api/v2/annotations.go`, fluxcd/pkg
/// `meta`).
pub mod annotation {
    /// `reconcile.fluxcd.io/forceAt`: a one-off forced upgrade when equal
    /// to `requestedAt`.
    pub const FORCE_REQUEST: &str = "reconcile.fluxcd.io/forceAt";
    /// `reconcile.fluxcd.io/resetAt`: the failure counters reset when equal
    /// to `requestedAt`.
    pub const RESET_REQUEST: &str = "reconcile.fluxcd.io/resetAt";
}

/// Condition types of a HelmRelease besides Ready/Reconciling/Stalled.
pub mod condition {
    pub const RELEASED: &str = "Released";
    pub const TEST_SUCCESS: &str = "TestSuccess";
    pub const REMEDIATED: &str = "Remediated";
    pub const DRIFTED: &str = "Drifted";
}

/// helm-controller's reasons (`api/v2/condition_types.go`).
pub mod reason {
    pub const INSTALL_SUCCEEDED: &str = "InstallSucceeded";
    pub const INSTALL_FAILED: &str = "InstallFailed";
    pub const UPGRADE_SUCCEEDED: &str = "UpgradeSucceeded";
    pub const UPGRADE_FAILED: &str = "UpgradeFailed";
    pub const TEST_SUCCEEDED: &str = "TestSucceeded";
    pub const TEST_FAILED: &str = "TestFailed";
    pub const ROLLBACK_SUCCEEDED: &str = "RollbackSucceeded";
    pub const ROLLBACK_FAILED: &str = "RollbackFailed";
    pub const UNINSTALL_SUCCEEDED: &str = "UninstallSucceeded";
    pub const UNINSTALL_FAILED: &str = "UninstallFailed";
    pub const ARTIFACT_FAILED: &str = "ArtifactFailed";
    pub const INIT_FAILED: &str = "InitFailed";
    pub const GET_LAST_RELEASE_FAILED: &str = "GetLastReleaseFailed";
    pub const DEPENDENCY_NOT_READY: &str = "DependencyNotReady";
    pub const DRIFT_DETECTED: &str = "DriftDetected";
    pub const NO_DRIFT_DETECTED: &str = "NoDriftDetected";
    pub const SOURCE_NOT_READY: &str = "SourceNotReady";
    pub const VALUES_ERROR: &str = "ValuesError";
    pub const CHART_MUTATE_ERROR: &str = "ChartMutateError";
    pub const REST_CLIENT_ERROR: &str = "RESTClientError";
    pub const FACTORY_ERROR: &str = "FactoryError";
    pub const STATE_ERROR: &str = "StateError";
    pub const RECONCILE_ERROR: &str = "ReconcileError";
    pub const RETRIES_EXCEEDED: &str = "RetriesExceeded";
    pub const MISSING_ROLLBACK_TARGET: &str = "MissingRollbackTarget";
    pub const AWAITING_TESTS: &str = "AwaitingTests";
    pub const PENDING_RELEASE: &str = "PendingRelease";
}

#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "helm.toolkit.fluxcd.io",
    version = "v2",
    kind = "HelmRelease",
    namespaced,
    derive = "PartialEq",
    status = "HelmReleaseStatus",
    shortname = "hr",
    category = "fluxcd"
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HelmReleaseSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<HelmChartTemplate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart_ref: Option<CrossNamespaceSourceReference>,
    pub interval: Duration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_config: Option<KubeConfigReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<DependencyReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_history: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent_client: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_detection: Option<DriftDetection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install: Option<Install>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<Upgrade>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<Test>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<Rollback>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uninstall: Option<Uninstall>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values_from: Vec<ValuesReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_metadata: Option<CommonMetadata>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_renderers: Vec<PostRenderer>,
    /// `nohooks`, `combined` (default) or `separate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_render_strategy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_strategy: Option<WaitStrategy>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub health_check_exprs: Vec<CustomHealthCheck>,
}

/// `spec.postRenderers[]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostRenderer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kustomize: Option<KustomizePostRenderer>,
}

/// `spec.postRenderers[].kustomize`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KustomizePostRenderer {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patches: Vec<Patch>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<Image>,
}

/// `spec.waitStrategy`: `poller` (default) or `legacy`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WaitStrategy {
    pub name: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HelmChartTemplate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<CommonMetadata>,
    pub spec: HelmChartTemplateSpec,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HelmChartTemplateSpec {
    pub chart: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub source_ref: CrossNamespaceSourceReference,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconcile_strategy: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values_files: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_missing_values_files: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<HelmChartTemplateVerification>,
}

/// `chart.spec.verify`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HelmChartTemplateVerification {
    /// CRD default `cosign`.
    #[serde(default)]
    pub provider: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CrossNamespaceSourceReference {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    pub kind: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DriftDetection {
    /// `enabled`, `warn` or `disabled` (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<IgnoreRule>,
}

/// `install.strategy` / `upgrade.strategy`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActionStrategy {
    /// `RemediateOnFailure` or `RetryOnFailure`.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_interval: Option<Duration>,
}

pub const STRATEGY_REMEDIATE_ON_FAILURE: &str = "RemediateOnFailure";
pub const STRATEGY_RETRY_ON_FAILURE: &str = "RetryOnFailure";

/// `install.remediation` (its strategy is always uninstall).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InstallRemediation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_test_failures: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediate_last_failure: Option<bool>,
}

/// `upgrade.remediation`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpgradeRemediation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_test_failures: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediate_last_failure: Option<bool>,
    /// `rollback` (default) or `uninstall`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Install {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<ActionStrategy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<InstallRemediation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_take_ownership: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_wait: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_wait_for_jobs: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_hooks: Option<bool>,
    #[serde(
        default,
        rename = "disableOpenAPIValidation",
        skip_serializing_if = "Option::is_none"
    )]
    pub disable_openapi_validation: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_schema_validation: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replace: Option<bool>,
    #[serde(default, rename = "skipCRDs", skip_serializing_if = "Option::is_none")]
    pub skip_crds: Option<bool>,
    #[serde(default, rename = "crds", skip_serializing_if = "Option::is_none")]
    pub crds: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_namespace: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_side_apply: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Upgrade {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<ActionStrategy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<UpgradeRemediation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_take_ownership: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_wait: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_wait_for_jobs: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_hooks: Option<bool>,
    #[serde(
        default,
        rename = "disableOpenAPIValidation",
        skip_serializing_if = "Option::is_none"
    )]
    pub disable_openapi_validation: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_schema_validation: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preserve_values: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleanup_on_fail: Option<bool>,
    #[serde(default, rename = "crds", skip_serializing_if = "Option::is_none")]
    pub crds: Option<String>,
    /// `enabled`, `disabled` or `auto` (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_side_apply: Option<String>,
    /// `Reinstall` (default) or `InPlaceUpdate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart_name_change_strategy: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Test {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_failures: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<TestFilter>,
}

/// `test.filters[]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TestFilter {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rollback {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_wait: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_wait_for_jobs: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_hooks: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recreate: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleanup_on_fail: Option<bool>,
    /// `enabled`, `disabled` or `auto` (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_side_apply: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Uninstall {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_hooks: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_history: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_wait: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_propagation: Option<String>,
}

/// `spec.valuesFrom[]` (fluxcd/pkg `meta.ValuesReference`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ValuesReference {
    pub kind: ValuesKind,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub literal: Option<bool>,
}

impl ValuesReference {
    /// `GetValuesKey`: `values.yaml` unless set.
    pub fn values_key(&self) -> &str {
        self.values_key
            .as_deref()
            .filter(|k| !k.is_empty())
            .unwrap_or("values.yaml")
    }
}

#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum ValuesKind {
    #[default]
    ConfigMap,
    Secret,
}

impl ValuesKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ValuesKind::ConfigMap => "ConfigMap",
            ValuesKind::Secret => "Secret",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmReleaseStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub observed_post_renderers_digest: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub observed_common_metadata_digest: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub last_attempted_generation: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub helm_chart: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub storage_namespace: String,
    /// Newest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Snapshot>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<ResourceInventory>,
    /// `install` or `upgrade`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub last_attempted_release_action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_release_action_duration: Option<Duration>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failures: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub install_failures: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub upgrade_failures: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_revision: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub last_attempted_revision_digest: String,
    /// Deprecated; helm-controller clears it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub last_attempted_values_checksum: String,
    /// Deprecated; helm-controller clears it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub last_release_revision: i64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub last_attempted_config_digest: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub last_handled_reset_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub last_handled_force_at: String,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// One `status.history` entry: a release revision as helm-controller
/// observed it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    pub digest: String,
    pub name: String,
    pub namespace: String,
    pub version: i64,
    pub status: String,
    /// `install`, `upgrade`, `rollback`, ...
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub action: String,
    pub chart_name: String,
    pub chart_version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub app_version: String,
    pub config_digest: String,
    /// RFC 3339 (seconds, as `metav1.Time`); None = the zero time.
    #[serde(default)]
    pub first_deployed: Option<String>,
    #[serde(default)]
    pub last_deployed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<String>,
    /// None: never tested; Some(empty): tested, the chart has no tests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_hooks: Option<BTreeMap<String, Option<TestHookStatus>>>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub oci_digest: String,
}

/// `testHooks.<name>`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestHookStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_started: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_completed: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phase: String,
}

/// `crds` of install and upgrade.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Crds {
    Skip,
    Create,
    CreateReplace,
}

/// Which action a remediation belongs to (`GetActiveRemediation`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReleaseAction {
    Install,
    Upgrade,
}

impl ReleaseAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseAction::Install => "install",
            ReleaseAction::Upgrade => "upgrade",
        }
    }
}

/// The remediation settings of install or upgrade, with their defaults
/// applied (`InstallRemediation`/`UpgradeRemediation`'s getters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remediation {
    pub action: ReleaseAction,
    /// Negative: unlimited.
    pub retries: i64,
    pub ignore_test_failures: Option<bool>,
    pub remediate_last_failure: bool,
    /// Upgrade's `strategy: uninstall` (install always uninstalls).
    pub uninstall: bool,
}

impl Remediation {
    /// `MustIgnoreTestFailures(def)`.
    pub fn ignore_test_failures(&self, default: bool) -> bool {
        self.ignore_test_failures.unwrap_or(default)
    }

    /// `GetFailureCount`.
    pub fn failure_count(&self, status: &HelmReleaseStatus) -> i64 {
        match self.action {
            ReleaseAction::Install => status.install_failures,
            ReleaseAction::Upgrade => status.upgrade_failures,
        }
    }

    /// `IncrementFailureCount`.
    pub fn increment_failure_count(&self, status: &mut HelmReleaseStatus) {
        match self.action {
            ReleaseAction::Install => status.install_failures += 1,
            ReleaseAction::Upgrade => status.upgrade_failures += 1,
        }
    }

    /// `RetriesExhausted`: `retries >= 0 && failures > retries`.
    pub fn retries_exhausted(&self, status: &HelmReleaseStatus) -> bool {
        self.retries >= 0 && self.failure_count(status) > self.retries
    }

    /// `IsUninstallAfterUpgrade`... and install's uninstall strategy.
    pub fn strategy_uninstall(&self) -> bool {
        self.uninstall || self.action == ReleaseAction::Install
    }
}

fn flag(b: Option<bool>) -> bool {
    b.unwrap_or(false)
}

impl Install {
    /// `GetRemediation`.
    pub fn remediation(&self) -> Remediation {
        let r = self.remediation.clone().unwrap_or_default();
        Remediation {
            action: ReleaseAction::Install,
            retries: r.retries.unwrap_or(0),
            ignore_test_failures: r.ignore_test_failures,
            remediate_last_failure: flag(r.remediate_last_failure),
            uninstall: true,
        }
    }

    /// `GetRetry`: the retry interval when `RetryOnFailure` is active.
    pub fn retry(&self, default_to_retry_on_failure: bool) -> Option<StdDuration> {
        retry(self.strategy.as_ref(), default_to_retry_on_failure)
    }

    /// `GetCRDsPolicy`: `skipCRDs` means Skip; default Create.
    pub fn crds(&self) -> Crds {
        if self.skip_crds == Some(true) {
            return Crds::Skip;
        }
        crds(self.crds.as_deref())
    }

    /// `serverSideApply` (default true).
    pub fn server_side_apply(&self) -> bool {
        self.server_side_apply.unwrap_or(true)
    }
}

impl Upgrade {
    /// `GetRemediation`: `remediateLastFailure` defaults to `retries > 0`.
    pub fn remediation(&self) -> Remediation {
        let r = self.remediation.clone().unwrap_or_default();
        let retries = r.retries.unwrap_or(0);
        Remediation {
            action: ReleaseAction::Upgrade,
            retries,
            ignore_test_failures: r.ignore_test_failures,
            remediate_last_failure: r.remediate_last_failure.unwrap_or(retries > 0),
            uninstall: r.strategy.as_deref() == Some("uninstall"),
        }
    }

    pub fn retry(&self, default_to_retry_on_failure: bool) -> Option<StdDuration> {
        retry(self.strategy.as_ref(), default_to_retry_on_failure)
    }

    /// `crdPolicyOrDefault`: Create (the API comment's Skip is not what
    /// the code does).
    pub fn crds(&self) -> Crds {
        crds(self.crds.as_deref())
    }

    /// `GetChartNameChangeStrategy`: Reinstall unless `InPlaceUpdate`.
    pub fn reinstall_on_chart_name_change(&self) -> bool {
        self.chart_name_change_strategy.as_deref() != Some("InPlaceUpdate")
    }
}

fn retry(strategy: Option<&ActionStrategy>, default_to_retry: bool) -> Option<StdDuration> {
    match strategy {
        None if default_to_retry => Some(DEFAULT_RETRY_INTERVAL),
        None => None,
        Some(s) if s.name == STRATEGY_RETRY_ON_FAILURE => Some(
            s.retry_interval
                .map_or(DEFAULT_RETRY_INTERVAL, |d| d.to_std()),
        ),
        Some(_) => None,
    }
}

fn crds(policy: Option<&str>) -> Crds {
    match policy {
        Some("Skip") => Crds::Skip,
        Some("CreateReplace") => Crds::CreateReplace,
        _ => Crds::Create,
    }
}

impl Uninstall {
    /// `GetDeletionPropagation`: `background` unless set.
    pub fn deletion_propagation(&self) -> &str {
        self.deletion_propagation.as_deref().unwrap_or("background")
    }
}

impl HelmRelease {
    fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or_default()
    }

    fn namespace(&self) -> &str {
        self.metadata.namespace.as_deref().unwrap_or("default")
    }

    /// `GetReleaseName`: `releaseName`, else `[targetNamespace-]name`
    /// (before `ShortenName`).
    pub fn release_name(&self) -> String {
        if let Some(n) = self.spec.release_name.as_deref().filter(|n| !n.is_empty()) {
            return n.to_string();
        }
        match self
            .spec
            .target_namespace
            .as_deref()
            .filter(|n| !n.is_empty())
        {
            Some(ns) => format!("{ns}-{}", self.name()),
            None => self.name().to_string(),
        }
    }

    /// `GetReleaseNamespace`: `targetNamespace`, else the HelmRelease's.
    pub fn release_namespace(&self) -> String {
        self.spec
            .target_namespace
            .as_deref()
            .filter(|n| !n.is_empty())
            .unwrap_or(self.namespace())
            .to_string()
    }

    /// `GetStorageNamespace`: `storageNamespace`, else the HelmRelease's.
    pub fn storage_namespace(&self) -> String {
        self.spec
            .storage_namespace
            .as_deref()
            .filter(|n| !n.is_empty())
            .unwrap_or(self.namespace())
            .to_string()
    }

    /// `GetHelmChartName`: `<namespace>-<name>`.
    pub fn helm_chart_name(&self) -> String {
        format!("{}-{}", self.namespace(), self.name())
    }

    /// `GetTimeout`: 5m unless set.
    pub fn timeout(&self) -> StdDuration {
        self.spec.timeout.map_or(DEFAULT_TIMEOUT, |d| d.to_std())
    }

    /// `GetMaxHistory`: 5 unless set (0 = unlimited).
    pub fn max_history(&self) -> i64 {
        self.spec.max_history.unwrap_or(DEFAULT_MAX_HISTORY)
    }

    /// `UsePersistentClient`: true unless set.
    pub fn persistent_client(&self) -> bool {
        self.spec.persistent_client.unwrap_or(true)
    }

    pub fn install(&self) -> Install {
        self.spec.install.clone().unwrap_or_default()
    }

    pub fn upgrade(&self) -> Upgrade {
        self.spec.upgrade.clone().unwrap_or_default()
    }

    pub fn test(&self) -> Test {
        self.spec.test.clone().unwrap_or_default()
    }

    pub fn rollback(&self) -> Rollback {
        self.spec.rollback.clone().unwrap_or_default()
    }

    pub fn uninstall(&self) -> Uninstall {
        self.spec.uninstall.clone().unwrap_or_default()
    }

    /// Timeouts of the actions: their own, else `spec.timeout`.
    pub fn install_timeout(&self) -> StdDuration {
        self.install()
            .timeout
            .map_or(self.timeout(), |d| d.to_std())
    }

    pub fn upgrade_timeout(&self) -> StdDuration {
        self.upgrade()
            .timeout
            .map_or(self.timeout(), |d| d.to_std())
    }

    pub fn test_timeout(&self) -> StdDuration {
        self.test().timeout.map_or(self.timeout(), |d| d.to_std())
    }

    pub fn rollback_timeout(&self) -> StdDuration {
        self.rollback()
            .timeout
            .map_or(self.timeout(), |d| d.to_std())
    }

    pub fn uninstall_timeout(&self) -> StdDuration {
        self.uninstall()
            .timeout
            .map_or(self.timeout(), |d| d.to_std())
    }

    /// `GetDriftDetection().GetMode()`: `disabled` unless set.
    pub fn drift_detection_mode(&self) -> &str {
        self.spec
            .drift_detection
            .as_ref()
            .and_then(|d| d.mode.as_deref())
            .filter(|m| !m.is_empty())
            .unwrap_or("disabled")
    }

    /// `test.enable`.
    pub fn tests_enabled(&self) -> bool {
        self.spec.test.as_ref().and_then(|t| t.enable) == Some(true)
    }

    /// `test.ignoreFailures`.
    pub fn ignore_test_failures(&self) -> bool {
        self.spec.test.as_ref().and_then(|t| t.ignore_failures) == Some(true)
    }

    fn status_or_default(&self) -> HelmReleaseStatus {
        self.status.clone().unwrap_or_default()
    }

    /// `GetActiveRemediation`: that of `lastAttemptedReleaseAction`.
    pub fn active_remediation(&self) -> Option<Remediation> {
        match self
            .status_or_default()
            .last_attempted_release_action
            .as_str()
        {
            "install" => Some(self.install().remediation()),
            "upgrade" => Some(self.upgrade().remediation()),
            _ => None,
        }
    }

    /// `GetActiveRetry`: the retry interval of `lastAttemptedReleaseAction`
    /// under `RetryOnFailure`.
    pub fn active_retry(&self, default_to_retry_on_failure: bool) -> Option<StdDuration> {
        match self
            .status_or_default()
            .last_attempted_release_action
            .as_str()
        {
            "install" => self.install().retry(default_to_retry_on_failure),
            "upgrade" => self.upgrade().retry(default_to_retry_on_failure),
            _ => None,
        }
    }

    /// The `postRenderStrategy`: `combined` unless set.
    pub fn post_render_strategy(&self) -> &str {
        self.spec
            .post_render_strategy
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or("combined")
    }
}

const TEST_PHASE_FAILED: &str = "Failed";
const TEST_PHASE_SUCCEEDED: &str = "Succeeded";

impl Snapshot {
    /// `<namespace>/<name>.v<version>`.
    pub fn full_release_name(&self) -> String {
        format!("{}/{}.v{}", self.namespace, self.name, self.version)
    }

    /// `<chartName>@<chartVersion>`.
    pub fn versioned_chart_name(&self) -> String {
        format!("{}@{}", self.chart_name, self.chart_version)
    }

    /// `HasBeenTested`: test hooks recorded and (none, or one failed, or
    /// all succeeded).
    pub fn has_been_tested(&self) -> bool {
        let Some(hooks) = &self.test_hooks else {
            return false;
        };
        if hooks.is_empty() {
            return true;
        }
        if hooks
            .values()
            .any(|h| h.as_ref().is_some_and(|h| h.phase == TEST_PHASE_FAILED))
        {
            return true;
        }
        hooks
            .values()
            .all(|h| h.as_ref().is_some_and(|h| h.phase == TEST_PHASE_SUCCEEDED))
    }

    /// `HasTestInPhase`.
    pub fn has_test_in_phase(&self, phase: &str) -> bool {
        self.test_hooks.as_ref().is_some_and(|hooks| {
            hooks
                .values()
                .any(|h| h.as_ref().is_some_and(|h| h.phase == phase))
        })
    }

    /// `Targets`.
    pub fn targets(&self, name: &str, namespace: &str, version: i64) -> bool {
        self.name == name && self.namespace == namespace && self.version == version
    }

    fn deployed_or_superseded(&self) -> bool {
        self.status == "deployed" || self.status == "superseded"
    }
}

/// `Snapshots`' operations on `status.history`.
pub mod snapshots {
    use super::{DEFAULT_MAX_HISTORY, Snapshot, TEST_PHASE_FAILED};

    /// `SortByVersion`: newest first (stable).
    pub fn sort(history: &mut [Snapshot]) {
        history.sort_by_key(|s| std::cmp::Reverse(s.version));
    }

    /// `Latest`.
    pub fn latest(history: &mut [Snapshot]) -> Option<&Snapshot> {
        sort(history);
        history.first()
    }

    /// `Previous`: the newest deployed or superseded snapshot after the
    /// latest (whose tests did not fail, unless `ignore_tests`).
    pub fn previous(history: &mut [Snapshot], ignore_tests: bool) -> Option<&Snapshot> {
        if history.len() < 2 {
            return None;
        }
        sort(history);
        history[1..].iter().find(|s| {
            s.deployed_or_superseded() && (ignore_tests || !s.has_test_in_phase(TEST_PHASE_FAILED))
        })
    }

    /// `Truncate`: keep down to the previous deployed/superseded snapshot,
    /// or the newest 5.
    pub fn truncate(history: &mut Vec<Snapshot>, ignore_tests: bool) {
        if history.len() < 2 {
            return;
        }
        sort(history);
        let keep = history[1..].iter().position(|s| {
            s.deployed_or_superseded() && (ignore_tests || !s.has_test_in_phase(TEST_PHASE_FAILED))
        });
        if let Some(i) = keep {
            history.truncate(i + 2);
            return;
        }
        history.truncate(DEFAULT_MAX_HISTORY as usize);
    }

    /// `TruncateIgnoringPreviousSnapshots`: the newest 5.
    pub fn truncate_ignoring_previous(history: &mut Vec<Snapshot>) {
        sort(history);
        history.truncate(DEFAULT_MAX_HISTORY as usize);
    }
}

/// A `v2beta1`/`v2beta2` spec as v2 says it: `chart.spec.valuesFile`
/// first in `valuesFiles` (it was merged before them), each
/// `postRenderers[].kustomize.patchesStrategicMerge` object and
/// `patchesJson6902` entry a `patches` entry (a strategic merge patch
/// finds its target by its own kind and name; a JSON 6902 one keeps its
/// target), after the `patches` already there, as kustomize applied them.
pub fn v2beta_spec_to_v2(mut spec: serde_json::Value) -> serde_json::Value {
    use serde_json::{Value, json};
    if let Some(chart_spec) = spec
        .pointer_mut("/chart/spec")
        .and_then(Value::as_object_mut)
        && let Some(file) = chart_spec.remove("valuesFile")
        && file.as_str().is_some_and(|f| !f.is_empty())
    {
        let mut files = vec![file];
        if let Some(Value::Array(rest)) = chart_spec.remove("valuesFiles") {
            files.extend(rest);
        }
        chart_spec.insert("valuesFiles".into(), Value::Array(files));
    }
    if let Some(renderers) = spec.get_mut("postRenderers").and_then(Value::as_array_mut) {
        for r in renderers {
            let Some(k) = r.get_mut("kustomize").and_then(Value::as_object_mut) else {
                continue;
            };
            let mut patches = match k.remove("patches") {
                Some(Value::Array(p)) => p,
                _ => Vec::new(),
            };
            if let Some(Value::Array(psm)) = k.remove("patchesStrategicMerge") {
                for p in psm {
                    patches.push(json!({"patch": p.to_string()}));
                }
            }
            if let Some(Value::Array(j6902)) = k.remove("patchesJson6902") {
                for p in j6902 {
                    let ops = p.get("patch").cloned().unwrap_or(Value::Array(Vec::new()));
                    let mut entry = json!({"patch": ops.to_string()});
                    if let Some(t) = p.get("target") {
                        entry["target"] = t.clone();
                    }
                    patches.push(entry);
                }
            }
            if !patches.is_empty() {
                k.insert("patches".into(), Value::Array(patches));
            }
        }
    }
    spec
}

#[cfg(test)]
mod tests;
