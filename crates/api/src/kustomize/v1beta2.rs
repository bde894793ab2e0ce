//! `kustomize.toolkit.fluxcd.io/v1beta2`: removed in kustomize-controller
//! v1.8.0 (Flux 2.8), still read by ferroflux and converted to `v1`.
//! `patchesStrategicMerge` and `patchesJson6902` keep their meaning: Flux's
//! kustomization generator still layers them into the kustomization file
//! as the kustomize fields of the same names. `validation` was a no-op.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    CommonMetadata, CrossNamespaceSourceReference, Decryption, DependencyReference, Image,
    LegacyJson6902Patch, Patch, PostBuild, Selector,
};
use crate::Duration;
use crate::meta::{KubeConfigReference, NamespacedObjectKindReference, NamespacedObjectReference};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KustomizationSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_metadata: Option<CommonMetadata>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<NamespacedObjectReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decryption: Option<Decryption>,
    pub interval: Duration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_interval: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_config: Option<KubeConfigReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_build: Option<PostBuild>,
    pub prune: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub health_checks: Vec<NamespacedObjectKindReference>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patches: Vec<Patch>,
    /// Deprecated in v1beta2, removed in v1: use `patches`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patches_strategic_merge: Vec<serde_json::Value>,
    /// Deprecated in v1beta2, removed in v1: use `patches`.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        rename = "patchesJson6902"
    )]
    pub patches_json6902: Vec<Json6902Patch>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<Image>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    pub source_ref: CrossNamespaceSourceReference,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<String>,
    /// Deprecated and unused since v1beta2 (`none`, `client`, `server`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<String>,
}

/// A `patchesJson6902` entry: the operations as objects, and a target.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Json6902Patch {
    pub patch: Vec<serde_json::Value>,
    pub target: Selector,
}

impl From<KustomizationSpec> for super::KustomizationSpec {
    fn from(s: KustomizationSpec) -> Self {
        super::KustomizationSpec {
            common_metadata: s.common_metadata,
            depends_on: s
                .depends_on
                .into_iter()
                .map(|d| DependencyReference {
                    name: d.name,
                    namespace: d.namespace,
                    ready_expr: None,
                })
                .collect(),
            decryption: s.decryption,
            interval: s.interval,
            retry_interval: s.retry_interval,
            kube_config: s.kube_config,
            path: s.path,
            post_build: s.post_build,
            prune: s.prune,
            health_checks: s.health_checks,
            patches: s.patches,
            images: s.images,
            service_account_name: s.service_account_name,
            source_ref: s.source_ref,
            suspend: s.suspend,
            target_namespace: s.target_namespace,
            timeout: s.timeout,
            force: s.force,
            wait: s.wait,
            components: s.components,
            legacy_patches_strategic_merge: s.patches_strategic_merge,
            legacy_patches_json6902: s
                .patches_json6902
                .into_iter()
                .map(|p| LegacyJson6902Patch {
                    operations: p.patch,
                    target: p.target,
                })
                .collect(),
            ..Default::default()
        }
    }
}
