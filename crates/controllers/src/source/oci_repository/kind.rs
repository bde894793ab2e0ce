//! OCIRepository as a [`Kind`]: on its interval or at the first retry;
//! its Secrets looked up, then the reconcile on a blocking thread that
//! waits for the registry on the runtime.

use ferroflux_api::meta::{Condition, ObjectMeta};
use ferroflux_api::source::OCIRepository;

use crate::kind::{
    Cleanup, Cx, FirstRun, Job, Kind, KindInfo, ObjectKey, Reconciled, Run, Said, after_if_ready,
    is_ready,
};

impl Kind for OCIRepository {
    const INFO: KindInfo = KindInfo {
        kind: super::KIND,
        group: "source.toolkit.fluxcd.io",
        version: "v1",
        section: "sources",
    };
    type Object = OCIRepository;
    const FINALIZES: bool = true;

    /// source-controller's `reconcileDelete`: its artifacts go.
    fn cleanup(_: &ObjectKey, obj: &OCIRepository, cx: &dyn Cx) -> Option<Cleanup> {
        let repo = obj.clone();
        let storage = cx.stores().artifacts.clone();
        Some(std::sync::Arc::new(move || {
            let (repo, storage) = (repo.clone(), storage.clone());
            Box::pin(async move {
                tokio::task::spawn_blocking(move || {
                    super::delete(&repo, &storage).map_err(|e| e.to_string())
                })
                .await
                .unwrap_or_else(|e| Err(e.to_string()))
            })
        }))
    }

    fn meta(obj: &OCIRepository) -> &ObjectMeta {
        &obj.metadata
    }

    fn meta_mut(obj: &mut OCIRepository) -> &mut ObjectMeta {
        &mut obj.metadata
    }

    fn from_manifest(object: &ferroflux_api::manifest::Object) -> Option<OCIRepository> {
        match object {
            ferroflux_api::manifest::Object::OCIRepository(o) => Some(o.clone()),
            _ => None,
        }
    }

    fn conditions(obj: &OCIRepository) -> &[Condition] {
        obj.status.as_ref().map_or(&[], |s| s.conditions.as_slice())
    }

    fn suspended(obj: &OCIRepository) -> bool {
        obj.spec.suspend == Some(true)
    }

    fn first_run(obj: &OCIRepository) -> FirstRun {
        after_if_ready(Self::conditions(obj), super::interval(obj))
    }

    /// When Ready: the stored revision.
    fn detail(obj: &OCIRepository, _: Option<&str>) -> Option<String> {
        if !is_ready(Self::conditions(obj)) {
            return None;
        }
        let a = obj.status.as_ref()?.artifact.as_ref()?;
        Some(a.revision.clone())
    }

    fn reconcile(key: &ObjectKey, obj: &OCIRepository, _: Run, cx: &dyn Cx) -> Option<Job> {
        let repository = obj.clone();
        let (secret, cert_secret) = crate::source::referenced_secrets(
            cx,
            &key.namespace,
            repository.spec.secret_ref.as_ref(),
            repository.spec.cert_secret_ref.as_ref(),
        );
        let storage = cx.stores().artifacts.clone();
        let clock = cx.clock();
        let key = key.clone();
        Some(Box::pin(async move {
            let handle = tokio::runtime::Handle::current();
            let r = tokio::task::spawn_blocking(move || {
                let options = ferroflux_registry::Options::default();
                let input = super::OciRepositoryInput {
                    repository: &repository,
                    secret: secret.as_ref().map(|s| s.as_ref().map_err(String::as_str)),
                    cert_secret: cert_secret
                        .as_ref()
                        .map(|s| s.as_ref().map_err(String::as_str)),
                    storage: &storage,
                    client: &options,
                };
                handle.block_on(super::reconcile(&input, clock.as_ref()))
            })
            .await
            .map_err(|e| e.to_string())?;
            Reconciled::new(&key, &r.status, Said::Event(r.event), r.outcome)
        }))
    }
}
