//! Drift of a release's objects (helm-controller's `action.Diff` and
//! `action.ApplyDiff`): the stored manifest's objects, with Helm's
//! ownership metadata and the release namespace, dry-run applied and
//! compared with the cluster as a JSON Patch; the correction creates the
//! missing objects and patches the drifted ones, writing no new release.

use ferroflux_helm::action::{ActionError, Record};

use super::Helm;
use super::objects::{Kinds, parse_manifest, set_ownership};
use crate::apply::{IgnoreRule, JsonDiff, JsonDiffOptions, JsonDiffSet};

/// The label or annotation that leaves an object out of drift detection
/// (`helm.toolkit.fluxcd.io/driftDetection: disabled`).
pub const DRIFT_DETECTION_KEY: &str = "helm.toolkit.fluxcd.io/driftDetection";
pub const DRIFT_DETECTION_DISABLED: &str = "disabled";

impl Helm {
    /// The release's objects against the cluster, as `field_manager`.
    /// Objects that cannot be diffed are in the set's errors; a manifest
    /// that does not parse is an error.
    pub async fn diff(
        &self,
        record: &Record,
        field_manager: &str,
        ignore: &[IgnoreRule],
    ) -> Result<JsonDiffSet, ActionError> {
        let docs = parse_manifest(&record.manifest).map_err(|e| {
            ActionError::new(format!("failed to read objects from release manifest: {e}"))
        })?;
        let kinds = Kinds::over(self.kinds.clone());
        let mut objects = Vec::with_capacity(docs.len());
        let mut errors = Vec::new();
        for mut obj in docs {
            set_ownership(&mut obj, &record.name, &record.namespace);
            if let Err(e) = kinds.namespace(&mut obj, &record.namespace).await {
                errors.push(format!(
                    "failed to determine if {} is namespace scoped: {e}",
                    obj["kind"].as_str().unwrap_or_default()
                ));
                continue;
            }
            objects.push(obj);
        }
        let opts = JsonDiffOptions {
            exclusions: vec![(
                DRIFT_DETECTION_KEY.to_string(),
                DRIFT_DETECTION_DISABLED.to_string(),
            )],
            ignore: ignore.to_vec(),
        };
        let mut set = self
            .resource_manager(field_manager)
            .json_diff(objects, &opts)
            .await;
        errors.append(&mut set.errors);
        set.errors = errors;
        Ok(set)
    }

    /// Creates the missing and patches the drifted objects of `diffs` as
    /// `field_manager`: the corrected lines and the failures.
    pub async fn correct_drift(
        &self,
        diffs: &[JsonDiff],
        field_manager: &str,
    ) -> (Vec<String>, Vec<String>) {
        self.resource_manager(field_manager)
            .apply_json_diff(diffs)
            .await
    }
}
