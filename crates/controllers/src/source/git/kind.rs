//! GitRepository as a [`Kind`]: on its interval (Ready) or at the first
//! retry, and at once when a GitRepository it includes stores a new
//! artifact (source-controller waits for the interval there; a new
//! artifact upstream is a new artifact here).

use std::time::Duration;

use ferroflux_api::meta::{Condition, ObjectMeta};
use ferroflux_api::source::GitRepository;
use serde_json::Value;

use crate::kind::{
    Cleanup, Cx, FirstRun, Job, Kind, KindInfo, ObjectKey, Reconciled, Ref, Run, Said, Watch,
    after_if_ready, get, is_ready,
};

impl Kind for GitRepository {
    const INFO: KindInfo = KindInfo {
        kind: super::KIND,
        group: "source.toolkit.fluxcd.io",
        version: "v1",
        section: "sources",
    };
    type Object = GitRepository;
    const FINALIZES: bool = true;

    /// source-controller's `reconcileDelete`: its artifacts and clone go.
    fn cleanup(_: &ObjectKey, obj: &GitRepository, cx: &dyn Cx) -> Option<Cleanup> {
        let repo = obj.clone();
        let stores = cx.stores();
        let storage = stores.artifacts.clone();
        let opts = stores.sources.clone();
        Some(std::sync::Arc::new(move || {
            let (repo, storage, opts) = (repo.clone(), storage.clone(), opts.clone());
            Box::pin(async move {
                tokio::task::spawn_blocking(move || {
                    super::delete(&repo, &storage, &opts).map_err(|e| e.to_string())
                })
                .await
                .unwrap_or_else(|e| Err(e.to_string()))
            })
        }))
    }

    fn meta(obj: &GitRepository) -> &ObjectMeta {
        &obj.metadata
    }

    fn meta_mut(obj: &mut GitRepository) -> &mut ObjectMeta {
        &mut obj.metadata
    }

    fn from_manifest(object: &ferroflux_api::manifest::Object) -> Option<GitRepository> {
        match object {
            ferroflux_api::manifest::Object::GitRepository(o) => Some(o.clone()),
            _ => None,
        }
    }

    fn conditions(obj: &GitRepository) -> &[Condition] {
        obj.status.as_ref().map_or(&[], |s| s.conditions.as_slice())
    }

    fn suspended(obj: &GitRepository) -> bool {
        obj.spec.suspend == Some(true)
    }

    fn watches() -> Vec<Watch<Self>> {
        vec![Watch {
            upstream: super::KIND,
            refs: included,
            when: artifact_moved,
        }]
    }

    fn first_run(obj: &GitRepository) -> FirstRun {
        let every = obj.spec.interval.to_std().max(Duration::from_secs(1));
        after_if_ready(Self::conditions(obj), every)
    }

    /// When Ready: the stored revision.
    fn detail(obj: &GitRepository, _: Option<&str>) -> Option<String> {
        if !is_ready(Self::conditions(obj)) {
            return None;
        }
        let a = obj.status.as_ref()?.artifact.as_ref()?;
        Some(a.revision.clone())
    }

    /// Its Secrets and the artifacts of what it includes looked up (as
    /// this home runs it: see [`Cx::git_repository`]), then
    /// source-controller's reconcile on a blocking thread (clone, archive,
    /// store).
    fn reconcile(key: &ObjectKey, _: &GitRepository, _: Run, cx: &dyn Cx) -> Option<Job> {
        let (repository, secret) = cx.git_repository(key);
        let repository = repository?;
        let verify_secret = repository
            .spec
            .verify
            .as_ref()
            .and_then(|v| cx.secrets().secret(&key.namespace, &v.secret_ref.name).ok())
            .cloned();
        let included: std::collections::BTreeMap<_, _> = repository
            .spec
            .include
            .iter()
            .filter_map(|i| {
                let k = ObjectKey::new(super::KIND, &key.namespace, &i.repository.name);
                let g = get::<GitRepository>(cx.objects(), &k)?;
                let artifact = g.status.as_ref().and_then(|s| s.artifact.clone());
                Some((i.repository.name.clone(), artifact))
            })
            .collect();
        let stores = cx.stores();
        let storage = stores.artifacts.clone();
        let opts = stores.sources.clone();
        let clock = cx.clock();
        let key = key.clone();
        Some(Box::pin(async move {
            let r = tokio::task::spawn_blocking(move || {
                let input = super::GitRepositoryInput {
                    repository: &repository,
                    secret: secret.as_ref(),
                    verify_secret: verify_secret.as_ref(),
                    included: &included,
                    storage: &storage,
                };
                super::reconcile(&input, clock.as_ref(), &opts)
            })
            .await
            .map_err(|e| e.to_string())?;
            Reconciled::new(&key, &r.status, Said::Event(r.event), r.outcome)
        }))
    }
}

/// The GitRepositories `spec.include` names (always in its namespace).
fn included(key: &ObjectKey, obj: &GitRepository) -> Vec<Ref> {
    obj.spec
        .include
        .iter()
        .map(|i| {
            Ref::Object(ObjectKey::new(
                super::KIND,
                &key.namespace,
                &i.repository.name,
            ))
        })
        .collect()
}

/// A new artifact: its digest (or revision) moved, or it appeared.
pub fn artifact_moved(old: Option<&Value>, new: Option<&Value>) -> bool {
    let at = |v: Option<&Value>| {
        v.and_then(|v| v.get("artifact"))
            .map(|a| (a.get("revision").cloned(), a.get("digest").cloned()))
    };
    let new_at = at(new);
    new_at.is_some() && at(old) != new_at
}
