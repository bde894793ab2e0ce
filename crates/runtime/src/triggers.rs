//! The triggers between kinds: which objects run at once when an object
//! they read changed (Flux's watches). An ImageRepository whose scan
//! revision moved runs the ImagePolicies that point at it; an ImagePolicy
//! whose `latestRef` moved runs every ImageUpdateAutomation of its
//! namespace; a changed GitRepository runs the automations that push
//! through it, and a new artifact the Kustomizations that apply it; a
//! Kustomization whose readiness or applied revision moved runs those that
//! depend on it; a changed Secret runs the Receivers that take their token
//! from it. Both homes use these rules, so they are kept in one place and
//! pinned by a table test that runs in milliseconds.

use serde_json::Value;

use crate::automate::{
    GIT_REPOSITORY, IMAGE_POLICY, IMAGE_REPOSITORY, IMAGE_UPDATE_AUTOMATION, KUSTOMIZATION,
};
use crate::registry::{Registry, flux};
use crate::source::{ObjectKey, Objects};

/// The kind of the key a Secret change is reported under.
pub const SECRET: &str = "Secret";
/// The kind of the key a ConfigMap change is reported under.
pub const CONFIG_MAP: &str = "ConfigMap";

/// The objects that read `upstream`, in key order.
pub fn dependents(objects: &Objects, upstream: &ObjectKey) -> Vec<ObjectKey> {
    objects.dependents(upstream)
}

/// Whether a change of `kind`'s status from `old` to `new` reaches its
/// dependents: any watch on `kind` whose predicate holds (a new scan
/// revision, a new `latestRef`, a new artifact; every reported change of
/// a Secret, whose watch reports only changes).
pub fn moved(kind: &str, old: Option<&Value>, new: Option<&Value>) -> bool {
    !moved_readers(flux(), kind, old, new).is_empty()
}

/// The reader kinds whose watch on `kind` holds for this status change:
/// a new artifact runs the GitRepositories that include it, not the
/// automations that push through it.
pub fn moved_readers(
    registry: &Registry,
    kind: &str,
    old: Option<&Value>,
    new: Option<&Value>,
) -> Vec<&'static str> {
    registry
        .kinds()
        .filter(|k| k.moved(kind, old, new))
        .map(|k| k.info().kind)
        .collect()
}

/// Why a dependent of `upstream` runs, for its log line.
pub fn reason(upstream: &ObjectKey) -> String {
    match upstream.kind.as_str() {
        IMAGE_REPOSITORY => format!("{upstream} revision changed"),
        IMAGE_POLICY => format!("{upstream} latestRef changed"),
        SECRET => format!("Secret {} changed", upstream.namespaced_name()),
        CONFIG_MAP => format!("ConfigMap {} changed", upstream.namespaced_name()),
        _ => format!("{upstream} changed"),
    }
}

const HELM_REPOSITORY: &str = ferroflux_controllers::source::helm_repository::KIND;
const HELM_CHART: &str = ferroflux_controllers::source::helm_chart::KIND;

/// Today's edges (upstream, reader), pinned: the registry's watches must
/// declare exactly these.
pub const EDGES: [(&str, &str); 15] = [
    (GIT_REPOSITORY, GIT_REPOSITORY),
    (HELM_REPOSITORY, HELM_CHART),
    (GIT_REPOSITORY, HELM_CHART),
    (GIT_REPOSITORY, KUSTOMIZATION),
    (KUSTOMIZATION, KUSTOMIZATION),
    ("OCIRepository", KUSTOMIZATION),
    (IMAGE_REPOSITORY, IMAGE_POLICY),
    (IMAGE_POLICY, IMAGE_UPDATE_AUTOMATION),
    (GIT_REPOSITORY, IMAGE_UPDATE_AUTOMATION),
    (SECRET, crate::automate::RECEIVER),
    ("HelmChart", "HelmRelease"),
    ("OCIRepository", "HelmRelease"),
    ("HelmRelease", "HelmRelease"),
    (SECRET, "HelmRelease"),
    (CONFIG_MAP, "HelmRelease"),
];

#[cfg(test)]
mod tests;
