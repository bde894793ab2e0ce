//! Kustomization as a [`Kind`]: runs on its interval (or at the first
//! retry when its last run failed), when its source's artifact revision
//! moves (Flux's `SourceRevisionChangePredicate`: a new revision or a
//! first artifact, not a digest alone), and when a Kustomization it
//! `dependsOn` changes readiness or applies a new revision (Flux only
//! requeues after `--requeue-dependency`; watching the dependency makes a
//! dependent start as soon as it can).

use ferroflux_api::kustomize::{Kustomization, KustomizationSourceKind};
use ferroflux_api::meta::{Condition, ObjectMeta, condition};
use serde_json::Value;

use crate::kind::{FirstRun, Kind, KindInfo, ObjectKey, Ref, Watch, after_if_ready};

#[cfg(test)]
mod tests;

impl Kind for Kustomization {
    const INFO: KindInfo = KindInfo {
        kind: "Kustomization",
        group: "kustomize.toolkit.fluxcd.io",
        version: "v1",
        section: "kustomizations",
    };
    type Object = Kustomization;

    fn meta(obj: &Kustomization) -> &ObjectMeta {
        &obj.metadata
    }

    fn conditions(obj: &Kustomization) -> &[Condition] {
        obj.status.as_ref().map_or(&[], |s| s.conditions.as_slice())
    }

    fn suspended(obj: &Kustomization) -> bool {
        obj.spec.suspend == Some(true)
    }

    fn watches() -> Vec<Watch<Self>> {
        vec![
            Watch {
                upstream: "GitRepository",
                refs: source_ref,
                when: artifact_revision_moved,
            },
            Watch {
                upstream: "Kustomization",
                refs: dependency_refs,
                when: readiness_or_revision_moved,
            },
        ]
    }

    fn first_run(obj: &Kustomization) -> FirstRun {
        after_if_ready(Self::conditions(obj), obj.spec.interval.to_std())
    }

    /// When Ready: the applied revision.
    fn detail(obj: &Kustomization, _: Option<&str>) -> Option<String> {
        if !crate::kind::is_ready(Self::conditions(obj)) {
            return None;
        }
        obj.status.as_ref()?.last_applied_revision.clone()
    }
}

/// The key of the source `spec.sourceRef` names (its namespace defaults
/// to the Kustomization's), when it is a kind ferroflux reconciles.
pub fn source_key(key: &ObjectKey, obj: &Kustomization) -> Option<ObjectKey> {
    let r = &obj.spec.source_ref;
    if r.kind != KustomizationSourceKind::GitRepository {
        return None;
    }
    let ns = r
        .namespace
        .as_deref()
        .filter(|n| !n.is_empty())
        .unwrap_or(&key.namespace);
    Some(ObjectKey::new("GitRepository", ns, &r.name))
}

fn source_ref(key: &ObjectKey, obj: &Kustomization) -> Vec<Ref> {
    source_key(key, obj).map(Ref::Object).into_iter().collect()
}

/// The Kustomizations of `dependsOn` (namespace defaulted).
pub fn dependency_keys(key: &ObjectKey, obj: &Kustomization) -> Vec<ObjectKey> {
    obj.spec
        .depends_on
        .iter()
        .map(|d| {
            let ns = d
                .namespace
                .as_deref()
                .filter(|n| !n.is_empty())
                .unwrap_or(&key.namespace);
            ObjectKey::new("Kustomization", ns, &d.name)
        })
        .collect()
}

fn dependency_refs(key: &ObjectKey, obj: &Kustomization) -> Vec<Ref> {
    dependency_keys(key, obj)
        .into_iter()
        .map(Ref::Object)
        .collect()
}

/// A new `artifact.revision`, or a first artifact.
fn artifact_revision_moved(old: Option<&Value>, new: Option<&Value>) -> bool {
    let at = |v: Option<&Value>| v.and_then(|v| v.pointer("/artifact/revision")).cloned();
    let new_revision = at(new);
    new_revision.is_some() && at(old) != new_revision
}

/// The Ready status, or the applied revision, changed.
fn readiness_or_revision_moved(old: Option<&Value>, new: Option<&Value>) -> bool {
    let ready = |v: Option<&Value>| {
        v.and_then(|v| v["conditions"].as_array())
            .and_then(|cs| cs.iter().find(|c| c["type"] == condition::READY))
            .map(|c| c["status"].clone())
    };
    let applied = |v: Option<&Value>| v.and_then(|v| v.get("lastAppliedRevision")).cloned();
    ready(old) != ready(new) || applied(old) != applied(new)
}
