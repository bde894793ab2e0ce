//! `DetermineReleaseState` (helm-controller `internal/reconcile/state.go`):
//! what the last stored release says about the HelmRelease, decided from
//! the record, the status and the desired chart and values.

use ferroflux_api::helm::{HelmRelease, HelmReleaseStatus, SNAPSHOT_API_VERSION, snapshots};
use ferroflux_helm::action::Record;
use ferroflux_helm::release::Status;
use serde_json::{Map, Value};

use super::digest;

/// `ReleaseStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseStatus {
    /// No release in storage (or an uninstalled one).
    Absent,
    /// A release this object did not make (or whose record changed).
    Unmanaged,
    /// Chart, values, post-renderers or common metadata changed.
    OutOfSync,
    /// In sync, but the cluster's objects drifted from the release's
    /// manifest (decided by the caller's diff).
    Drifted,
    /// A pending release: a previous run died mid-action.
    Locked,
    /// Tests are enabled and have not run on this revision.
    Untested,
    InSync,
    Failed,
}

/// `ReleaseState`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseState {
    pub status: ReleaseStatus,
    pub reason: String,
}

fn state(status: ReleaseStatus, reason: &str) -> ReleaseState {
    ReleaseState {
        status,
        reason: reason.to_string(),
    }
}

/// The desired chart: what `VerifyRelease` compares the record with.
#[derive(Debug, Clone, Copy)]
pub struct Desired<'a> {
    pub chart_name: &'a str,
    pub chart_version: &'a str,
    pub values: &'a Map<String, Value>,
}

/// `VerifyReleaseObject`: whether the record is the one the snapshot
/// observed (snapshots of other API versions are not checked).
pub fn verify_release_object(
    snapshot: &ferroflux_api::helm::Snapshot,
    record: &Record,
) -> Result<(), &'static str> {
    if snapshot.api_version != SNAPSHOT_API_VERSION {
        return Ok(());
    }
    if !snapshot.digest.starts_with("sha256:") || snapshot.digest.len() != 71 {
        return Err("release digest verification error");
    }
    if digest::observe(record, &snapshot.oci_digest).digest() != snapshot.digest {
        return Err("release not observed to be made for object");
    }
    Ok(())
}

/// `DetermineReleaseState` over `last`, the storage's last release of the
/// (shortened) release name. Drift detection needs the cluster's objects
/// and is left to the caller. `Err` is a status this cannot handle.
pub fn determine(
    hr: &HelmRelease,
    status: &HelmReleaseStatus,
    last: Option<&Record>,
    desired: Desired<'_>,
) -> Result<ReleaseState, String> {
    let Some(rls) = last else {
        return Ok(state(
            ReleaseStatus::Absent,
            "no release in storage for object",
        ));
    };
    let rls_status = rls.status.unwrap_or(Status::Unknown);
    if rls_status.is_pending() {
        return Ok(state(
            ReleaseStatus::Locked,
            &format!("release with status '{}'", rls_status.as_str()),
        ));
    }
    let mut history = status.history.clone();
    let Some(cur) = snapshots::latest(&mut history).cloned() else {
        if rls_status == Status::Uninstalled {
            return Ok(state(
                ReleaseStatus::Absent,
                "found uninstalled release in storage",
            ));
        }
        return Ok(state(
            ReleaseStatus::Unmanaged,
            "found existing release in storage",
        ));
    };
    if let Err(e) = verify_release_object(&cur, rls) {
        return Ok(state(ReleaseStatus::Unmanaged, e));
    }
    match rls_status {
        Status::Failed => Ok(state(ReleaseStatus::Failed, "")),
        Status::Uninstalled => Ok(state(
            ReleaseStatus::Absent,
            "found uninstalled release in storage",
        )),
        Status::Deployed => {
            if rls.chart_name != desired.chart_name || rls.chart_version != desired.chart_version {
                return Ok(state(ReleaseStatus::OutOfSync, "release chart changed"));
            }
            if !digest::verify_values(&cur.config_digest, desired.values) {
                return Ok(state(
                    ReleaseStatus::OutOfSync,
                    "release config values changed",
                ));
            }
            let generation = hr.metadata.generation.unwrap_or(0);
            if status.observed_generation.unwrap_or(-1) != generation {
                if digest::post_renderers_digest(hr) != status.observed_post_renderers_digest {
                    return Ok(state(
                        ReleaseStatus::OutOfSync,
                        "postrenderers digest has changed",
                    ));
                }
                if digest::common_metadata_digest(hr) != status.observed_common_metadata_digest {
                    return Ok(state(
                        ReleaseStatus::OutOfSync,
                        "common metadata digest has changed",
                    ));
                }
            }
            if hr.tests_enabled() {
                if !cur.has_been_tested() {
                    return Ok(state(ReleaseStatus::Untested, ""));
                }
                let with_status = HelmRelease {
                    status: Some(status.clone()),
                    ..hr.clone()
                };
                if let Some(r) = with_status.active_remediation()
                    && !r.ignore_test_failures(hr.ignore_test_failures())
                    && cur.has_test_in_phase("Failed")
                {
                    return Ok(state(
                        ReleaseStatus::Failed,
                        "release has test in failed phase",
                    ));
                }
            }
            Ok(state(ReleaseStatus::InSync, ""))
        }
        other => Err(format!(
            "unable to determine state for release with status '{}'",
            other.as_str()
        )),
    }
}

#[cfg(test)]
mod tests;
