//! ImagePolicy as a [`Kind`]: runs when its ImageRepository's scan
//! revision moves (Flux's predicate on `lastScanResult.revision`), and on
//! a timer only with `digestReflectionPolicy: Always`.

use ferroflux_api::image::{ImagePolicy, ImageRepository, ReflectionPolicy};
use ferroflux_api::meta::{Condition, ObjectMeta};
use serde_json::Value;

use super::DEFAULT_ALWAYS_INTERVAL;
use super::digests::RegistryDigests;
use crate::image::repository as image_repository;
use crate::kind::{
    Cx, FirstRun, Job, Kind, KindInfo, Lookup, ObjectKey, Reconciled, Ref, Run, Said, Watch, get,
    is_ready,
};

impl Kind for ImagePolicy {
    const INFO: KindInfo = KindInfo {
        kind: "ImagePolicy",
        group: "image.toolkit.fluxcd.io",
        version: "v1",
        section: "policies",
    };
    type Object = ImagePolicy;

    fn meta(obj: &ImagePolicy) -> &ObjectMeta {
        &obj.metadata
    }

    fn meta_mut(obj: &mut ImagePolicy) -> &mut ObjectMeta {
        &mut obj.metadata
    }

    fn from_manifest(object: &ferroflux_api::manifest::Object) -> Option<ImagePolicy> {
        match object {
            ferroflux_api::manifest::Object::ImagePolicy(o) => Some(o.clone()),
            _ => None,
        }
    }

    fn conditions(obj: &ImagePolicy) -> &[Condition] {
        obj.status.as_ref().map_or(&[], |s| s.conditions.as_slice())
    }

    fn suspended(obj: &ImagePolicy) -> bool {
        obj.spec.suspend == Some(true)
    }

    fn watches() -> Vec<Watch<Self>> {
        vec![Watch {
            upstream: "ImageRepository",
            refs: repository_ref,
            when: revision_moved,
        }]
    }

    fn first_run(obj: &ImagePolicy) -> FirstRun {
        if obj.spec.digest_reflection_policy != Some(ReflectionPolicy::Always) {
            return FirstRun::Triggered;
        }
        let every = obj
            .spec
            .interval
            .map(|d| d.to_std())
            .filter(|d| !d.is_zero())
            .unwrap_or(DEFAULT_ALWAYS_INTERVAL);
        FirstRun::After(every)
    }

    /// When Ready: `latest (previous)` when it moved, else `latest`.
    fn detail(obj: &ImagePolicy, _: Option<&str>) -> Option<String> {
        if !is_ready(Self::conditions(obj)) {
            return None;
        }
        let s = obj.status.as_ref()?;
        let latest = s.latest_ref.as_ref()?;
        Some(match &s.observed_previous_ref {
            Some(prev) if prev != latest => format!("{} ({})", latest.tag, prev.tag),
            _ => latest.tag.clone(),
        })
    }

    /// The repository it reads, digests when asked (a manifest HEAD with
    /// the repository's credentials and TLS), then the choice of tag on a
    /// blocking thread (redb reads, the digest HEAD driven on this handle).
    fn reconcile(key: &ObjectKey, obj: &ImagePolicy, _: Run, cx: &dyn Cx) -> Option<Job> {
        let repo_key = repository_key(key, obj);
        let repo = repository(key, obj, cx.objects()).cloned();
        let reflects = obj
            .spec
            .digest_reflection_policy
            .is_some_and(|p| p != ReflectionPolicy::Never);
        let digests: Box<dyn super::DigestSource + Send> = match &repo {
            Some(r) if reflects => {
                let setup = image_repository::registry_auth(&repo_key, r, cx.secrets())
                    .and_then(|auth| Ok((auth, cx.registry_client(&repo_key, r)?)))
                    .map_err(|e| e.message().to_string());
                Box::new(RegistryDigests {
                    setup,
                    handle: tokio::runtime::Handle::current(),
                })
            }
            _ => Box::new(super::NoDigests),
        };
        let key = key.clone();
        let obj = obj.clone();
        let store = std::sync::Arc::clone(cx.stores().tags);
        let clock = cx.clock();
        Some(Box::pin(async move {
            let r = tokio::task::spawn_blocking(move || {
                super::reconcile(
                    &obj,
                    repo.as_ref(),
                    store.as_ref(),
                    digests.as_ref(),
                    clock.as_ref(),
                    &super::PolicyOptions::default(),
                )
            })
            .await
            .map_err(|e| e.to_string())?;
            Reconciled::new(&key, &r.status, Said::Event(r.event), r.outcome)
        }))
    }
}

/// The key of the ImageRepository `spec.imageRepositoryRef` names, in
/// the policy's namespace unless it names one.
pub fn repository_key(key: &ObjectKey, obj: &ImagePolicy) -> ObjectKey {
    let r = &obj.spec.image_repository_ref;
    ObjectKey::new(
        ImageRepository::INFO.kind,
        r.namespace.as_deref().unwrap_or(&key.namespace),
        &r.name,
    )
}

/// The ImageRepository the policy reads, when it exists.
pub fn repository<'a>(
    key: &ObjectKey,
    obj: &ImagePolicy,
    objects: &'a dyn Lookup,
) -> Option<&'a ImageRepository> {
    get::<ImageRepository>(objects, &repository_key(key, obj))
}

fn repository_ref(key: &ObjectKey, obj: &ImagePolicy) -> Vec<Ref> {
    vec![Ref::Object(repository_key(key, obj))]
}

/// A new scan revision (a failed scan keeps the last one).
fn revision_moved(old: Option<&Value>, new: Option<&Value>) -> bool {
    let at = |v: Option<&Value>| {
        v.and_then(|v| v.pointer("/lastScanResult/revision"))
            .cloned()
    };
    at(old) != at(new)
}
