//! Shared Flux API pieces (`github.com/fluxcd/pkg/apis/meta` and `acl`):
//! object references, condition types and reason strings.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector, ObjectMeta};

/// Condition types (kstatus): `Ready` is positive; `Reconciling` and
/// `Stalled` are negative polarity and present only while True.
pub mod condition {
    pub const READY: &str = "Ready";
    pub const RECONCILING: &str = "Reconciling";
    pub const STALLED: &str = "Stalled";
    pub const HEALTHY: &str = "Healthy";
    pub const SOURCE_VERIFIED: &str = "SourceVerified";
    pub const FETCH_FAILED: &str = "FetchFailed";
    pub const ARTIFACT_IN_STORAGE: &str = "ArtifactInStorage";
}

/// Reason strings, exactly as Flux writes them into conditions, events and
/// the `reason` label of `gotk_reconcile_condition`.
pub mod reason {
    // fluxcd/pkg/apis/meta
    pub const SUCCEEDED: &str = "Succeeded";
    pub const FAILED: &str = "Failed";
    pub const PROGRESSING: &str = "Progressing";
    pub const PROGRESSING_WITH_RETRY: &str = "ProgressingWithRetry";
    pub const DEPENDENCY_NOT_READY: &str = "DependencyNotReady";
    pub const SUSPENDED: &str = "Suspended";
    pub const ACCESS_DENIED: &str = "AccessDenied";
    pub const FEATURE_GATE_DISABLED: &str = "FeatureGateDisabled";
    pub const INVALID_PATH: &str = "InvalidPath";
    pub const INVALID_URL: &str = "InvalidURL";
    pub const RECONCILIATION_FAILED: &str = "ReconciliationFailed";
    pub const HEALTH_CHECK_FAILED: &str = "HealthCheckFailed";
    /// `metav1.StatusFailure`, used when an error carries no reason.
    pub const FAILURE: &str = "Failure";
    // image-reflector-controller
    pub const IMAGE_URL_INVALID: &str = "ImageURLInvalid";
    pub const AUTHENTICATION_FAILED: &str = "AuthenticationFailed";
    pub const READ_OPERATION_FAILED: &str = "ReadOperationFailed";
    pub const INVALID_POLICY: &str = "InvalidPolicy";
    pub const INTERVAL_NOT_CONFIGURED: &str = "IntervalNotConfigured";
    // image-automation-controller
    pub const SOURCE_MANAGER_FAILED: &str = "SourceManagerFailed";
    pub const GIT_OPERATION_FAILED: &str = "GitOperationFailed";
    pub const UPDATE_FAILED: &str = "UpdateFailed";
    pub const INVALID_SOURCE_CONFIGURATION: &str = "InvalidSourceConfiguration";
    pub const INVALID_POLICY_SELECTOR: &str = "InvalidPolicySelector";
    pub const INVALID_UPDATE_STRATEGY: &str = "InvalidUpdateStrategy";
    pub const REMOVED_TEMPLATE_FIELD: &str = "RemovedTemplateField";
    // notification-controller
    pub const TOKEN_NOT_FOUND: &str = "TokenNotFound";
    pub const VALIDATION_FAILED: &str = "ValidationFailed";
    // kustomize-controller
    pub const RECONCILIATION_SUCCEEDED: &str = "ReconciliationSucceeded";
    pub const ARTIFACT_FAILED: &str = "ArtifactFailed";
    pub const BUILD_FAILED: &str = "BuildFailed";
    pub const PRUNE_FAILED: &str = "PruneFailed";
    pub const HEALTH_CHECK_CANCELED: &str = "HealthCheckCanceled";
    pub const INVALID_CEL_EXPRESSION: &str = "InvalidCELExpression";
    pub const DIRECTORY_CREATION_FAILED: &str = "DirectoryCreationFailed";
}

/// Annotation that asks for an immediate reconcile; its value is compared
/// with `status.lastHandledReconcileAt`.
pub const RECONCILE_REQUEST_ANNOTATION: &str = "reconcile.fluxcd.io/requestedAt";
/// Finalizer Flux adds on the first reconcile.
pub const FINALIZER: &str = "finalizers.fluxcd.io";
/// Flux's sharding label (`--watch-label-selector`).
pub const SHARDING_LABEL: &str = "sharding.fluxcd.io/key";

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LocalObjectReference {
    pub name: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NamespacedObjectReference {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NamespacedObjectKindReference {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    pub kind: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretKeyReference {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KubeConfigReference {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretKeyReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_ref: Option<SecretKeyReference>,
}

/// `acl.AccessFrom`: which namespaces may refer to an object.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccessFrom {
    pub namespace_selectors: Vec<NamespaceSelector>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NamespaceSelector {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<std::collections::BTreeMap<String, String>>,
}

/// One `status.history` entry (fluxcd/pkg `meta.Snapshot`): a distinct
/// build output (`digest`) and how its reconciles ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub digest: String,
    pub first_reconciled: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time,
    pub last_reconciled: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time,
    pub last_reconciled_duration: crate::Duration,
    pub last_reconciled_status: String,
    pub total_reconciliations: i64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}
