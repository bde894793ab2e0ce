//! The triggers between kinds: which objects run at once when an object
//! they read changed (Flux's watches). An ImageRepository whose scan
//! revision moved runs the ImagePolicies that point at it; an ImagePolicy
//! whose `latestRef` moved runs every ImageUpdateAutomation of its
//! namespace; a changed GitRepository runs the automations that push
//! through it; a changed Secret runs the Receivers that take their token
//! from it. Both homes use these rules, so they are kept in one place and
//! pinned by a table test that runs in milliseconds.

use serde_json::Value;

use crate::automate::{GIT_REPOSITORY, IMAGE_POLICY, IMAGE_REPOSITORY, IMAGE_UPDATE_AUTOMATION};
use crate::source::{ObjectKey, Objects};

/// The kind of the key a Secret change is reported under.
pub const SECRET: &str = "Secret";

/// The objects that read `upstream`, in key order.
pub fn dependents(objects: &Objects, upstream: &ObjectKey) -> Vec<ObjectKey> {
    objects.index().dependents(upstream)
}

/// Whether a change of `kind`'s status from `old` to `new` reaches its
/// dependents: a new scan revision, a new `latestRef` (Flux's predicates).
/// Kinds whose dependents follow every change (GitRepository, Secret)
/// are not asked: their watch reports only changes.
pub fn moved(kind: &str, old: Option<&Value>, new: Option<&Value>) -> bool {
    let at = |v: Option<&Value>, pointer: &str| v.and_then(|v| v.pointer(pointer)).cloned();
    match kind {
        IMAGE_REPOSITORY => {
            at(old, "/lastScanResult/revision") != at(new, "/lastScanResult/revision")
        }
        IMAGE_POLICY => {
            let new_ref = at(new, "/latestRef");
            new_ref.is_some() && at(old, "/latestRef") != new_ref
        }
        GIT_REPOSITORY | SECRET => true,
        _ => false,
    }
}

/// Why a dependent of `upstream` runs, for its log line.
pub fn reason(upstream: &ObjectKey) -> String {
    match upstream.kind.as_str() {
        IMAGE_REPOSITORY => format!("{upstream} revision changed"),
        IMAGE_POLICY => format!("{upstream} latestRef changed"),
        SECRET => format!("Secret {} changed", upstream.namespaced_name()),
        _ => format!("{upstream} changed"),
    }
}

/// Kinds whose objects read others, with what they read: used by the
/// table test to prove no edge is missing.
pub const EDGES: [(&str, &str); 4] = [
    (IMAGE_REPOSITORY, IMAGE_POLICY),
    (IMAGE_POLICY, IMAGE_UPDATE_AUTOMATION),
    (GIT_REPOSITORY, IMAGE_UPDATE_AUTOMATION),
    (SECRET, crate::automate::RECEIVER),
];

#[cfg(test)]
mod tests;
