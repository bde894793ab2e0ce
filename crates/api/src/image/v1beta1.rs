//! `image.toolkit.fluxcd.io/v1beta1`, the first served version: no digest
//! reflection on ImagePolicy, no `policySelector` on ImageUpdateAutomation.
//! Read and converted to `v1`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{CrossNamespaceSourceReference, GitSpec, ImagePolicyChoice, TagFilter, UpdateStrategy};
use crate::Duration;
use crate::meta::NamespacedObjectReference;

pub use super::ImageRepositorySpec;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImagePolicySpec {
    pub image_repository_ref: NamespacedObjectReference,
    pub policy: ImagePolicyChoice,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_tags: Option<TagFilter>,
}

impl From<ImagePolicySpec> for super::ImagePolicySpec {
    fn from(s: ImagePolicySpec) -> Self {
        super::ImagePolicySpec {
            image_repository_ref: s.image_repository_ref,
            policy: s.policy,
            filter_tags: s.filter_tags,
            ..Default::default()
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageUpdateAutomationSpec {
    pub source_ref: CrossNamespaceSourceReference,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitSpec>,
    pub interval: Duration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<UpdateStrategy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
}

impl From<ImageUpdateAutomationSpec> for super::ImageUpdateAutomationSpec {
    fn from(s: ImageUpdateAutomationSpec) -> Self {
        super::ImageUpdateAutomationSpec {
            source_ref: s.source_ref,
            git: s.git,
            interval: s.interval,
            policy_selector: None,
            update: s.update,
            suspend: s.suspend,
        }
    }
}
