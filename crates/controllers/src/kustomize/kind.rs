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

use std::collections::BTreeMap;

use crate::kind::cx::ConfigMaps;
use crate::kind::{
    Cleanup, Cx, FirstRun, Job, Kind, KindInfo, ObjectKey, Reconciled, Ref, Run, Said, SecretData,
    SecretSource, Watch, after_if_ready,
};

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
    const FINALIZES: bool = true;

    /// kustomize-controller's finalizer: prune (or orphan) what it applied,
    /// per its `deletionPolicy`; its events logged.
    fn cleanup(key: &ObjectKey, obj: &Kustomization, cx: &dyn Cx) -> Option<Cleanup> {
        let key = key.clone();
        let ks = obj.clone();
        let targets = cx.targets();
        let options = cx.stores().kustomize.clone();
        let clock = cx.clock();
        Some(std::sync::Arc::new(move || {
            let (key, ks) = (key.clone(), ks.clone());
            let (targets, options, clock) = (targets.clone(), options.clone(), clock.clone());
            Box::pin(async move {
                let kcx = super::reconcile::KustomizationCx {
                    targets: targets.as_ref(),
                    clock: clock.as_ref(),
                    options: &options,
                };
                let done = super::reconcile::finalize(&ks, &kcx).await;
                for e in &done.events {
                    tracing::info!(object = %key, reason = %e.reason, "{}", e.message);
                }
                done.result.map_err(|e| e.to_string())
            })
        }))
    }

    fn meta(obj: &Kustomization) -> &ObjectMeta {
        &obj.metadata
    }

    fn meta_mut(obj: &mut Kustomization) -> &mut ObjectMeta {
        &mut obj.metadata
    }

    fn from_manifest(object: &ferroflux_api::manifest::Object) -> Option<Kustomization> {
        match object {
            ferroflux_api::manifest::Object::Kustomization(o) => Some(o.clone()),
            _ => None,
        }
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
            Watch {
                upstream: "OCIRepository",
                refs: source_ref,
                when: artifact_revision_moved,
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

    /// What it reads resolved now (its source's artifact, `dependsOn`,
    /// `substituteFrom` Secrets), its `substituteFrom` ConfigMaps read
    /// from the cluster just before the build, then kustomize-controller's
    /// reconcile against the target cluster.
    fn reconcile(key: &ObjectKey, obj: &Kustomization, _: Run, cx: &dyn Cx) -> Option<Job> {
        let mut input = super::reconcile::resolve(obj, cx.objects(), cx.secrets());
        let substitutes = substitutes(obj, cx);
        let targets = cx.targets();
        let options = cx.stores().kustomize.clone();
        let clock = cx.clock();
        let key = key.clone();
        let obj = obj.clone();
        Some(Box::pin(async move {
            if let Some((mut s, read)) = substitutes {
                s.config_maps = read.await;
                input.substitute_from = super::reconcile::resolve_substitute_from(&obj, &s);
            }
            let kcx = super::reconcile::KustomizationCx {
                targets: targets.as_ref(),
                clock: clock.as_ref(),
                options: &options,
            };
            let r = super::reconcile::reconcile(input, &kcx).await;
            Reconciled::new(&key, &r.status, Said::Event(r.event), r.outcome)
        }))
    }
}

/// The key of the source `spec.sourceRef` names (its namespace defaults
/// to the Kustomization's), when it is a kind ferroflux reconciles.
pub fn source_key(key: &ObjectKey, obj: &Kustomization) -> Option<ObjectKey> {
    let r = &obj.spec.source_ref;
    let kind = match r.kind {
        KustomizationSourceKind::GitRepository => "GitRepository",
        KustomizationSourceKind::OCIRepository => "OCIRepository",
        _ => return None,
    };
    let ns = r
        .namespace
        .as_deref()
        .filter(|n| !n.is_empty())
        .unwrap_or(&key.namespace);
    Some(ObjectKey::new(kind, ns, &r.name))
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

/// The `substituteFrom` objects of one run: its Secrets from the home, its
/// ConfigMaps read from the cluster (as kustomize-controller reads them,
/// with its own client) just before the build.
struct Substitutes {
    secrets: BTreeMap<String, SecretData>,
    config_maps: ConfigMaps,
}

/// When `ks` substitutes from ConfigMaps and a cluster holds them: what
/// its run reads there, and the read.
fn substitutes(
    ks: &Kustomization,
    cx: &dyn Cx,
) -> Option<(Substitutes, crate::kind::cx::ConfigMapsRead)> {
    let refs = &ks.spec.post_build.as_ref()?.substitute_from;
    if !refs.iter().any(|r| r.kind == "ConfigMap") {
        return None;
    }
    let namespace = ks.metadata.namespace.clone().unwrap_or_default();
    let wanted = refs
        .iter()
        .filter(|r| r.kind == "ConfigMap")
        .map(|r| r.name.clone())
        .collect();
    let read = cx.config_maps(&namespace, wanted)?;
    let secrets = refs
        .iter()
        .filter(|r| r.kind == "Secret")
        .filter_map(|r| {
            let data = cx.secrets().secret(&namespace, &r.name).ok()?;
            Some((r.name.clone(), data.clone()))
        })
        .collect();
    Some((
        Substitutes {
            secrets,
            config_maps: ConfigMaps::new(),
        },
        read,
    ))
}

impl SecretSource for Substitutes {
    fn secret(&self, _: &str, name: &str) -> Result<&SecretData, String> {
        self.secrets
            .get(name)
            .ok_or_else(|| format!("secret '{name}' not found"))
    }

    fn config_map(&self, _: &str, name: &str) -> Result<Option<BTreeMap<String, String>>, String> {
        self.config_maps.get(name).cloned().unwrap_or(Ok(None))
    }
}
