//! `image.toolkit.fluxcd.io/v1beta2`: what seeds 001–004 use. Flux removed it
//! in image-reflector/automation-controller v1.2.0; ferroflux still reads it
//! and converts it to `v1`. ImageRepository and ImageUpdateAutomation have
//! the `v1` spec; ImagePolicy lacks `spec.suspend`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{ImagePolicyChoice, ReflectionPolicy, TagFilter};
use crate::Duration;
use crate::meta::NamespacedObjectReference;

pub use super::{ImageRepositorySpec, ImageUpdateAutomationSpec};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImagePolicySpec {
    pub image_repository_ref: NamespacedObjectReference,
    pub policy: ImagePolicyChoice,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_tags: Option<TagFilter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest_reflection_policy: Option<ReflectionPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
}

impl From<ImagePolicySpec> for super::ImagePolicySpec {
    fn from(s: ImagePolicySpec) -> Self {
        super::ImagePolicySpec {
            image_repository_ref: s.image_repository_ref,
            policy: s.policy,
            filter_tags: s.filter_tags,
            digest_reflection_policy: s.digest_reflection_policy,
            interval: s.interval,
            suspend: None,
        }
    }
}
