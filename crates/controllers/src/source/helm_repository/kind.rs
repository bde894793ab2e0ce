//! HelmRepository as a [`Kind`]: on its interval (1m by default) or at
//! the first retry; its index fetched on the blocking pool (the request
//! itself on the runtime), then stored.

use ferroflux_api::meta::{Condition, ObjectMeta};
use ferroflux_api::source::{HelmRepository, HelmRepositoryType};
use ferroflux_artifact::http::{HttpError, HttpOptions};

use crate::kind::{
    Cleanup, Cx, FirstRun, Job, Kind, KindInfo, ObjectKey, Reconciled, Run, Said, after_if_ready,
    is_ready,
};

/// The message flux's CLI shows for a static (`type: oci`) HelmRepository.
pub const STATIC_MESSAGE: &str = "Helm repository is Ready";

static STATIC_READY: std::sync::LazyLock<[Condition; 1]> = std::sync::LazyLock::new(|| {
    [Condition {
        type_: ferroflux_api::meta::condition::READY.to_string(),
        status: "True".to_string(),
        reason: ferroflux_api::meta::reason::SUCCEEDED.to_string(),
        message: STATIC_MESSAGE.to_string(),
        observed_generation: None,
        last_transition_time: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
        ),
    }]
});

impl Kind for HelmRepository {
    const INFO: KindInfo = KindInfo {
        kind: super::KIND,
        group: "source.toolkit.fluxcd.io",
        version: "v1",
        section: "sources",
    };
    type Object = HelmRepository;
    const FINALIZES: bool = true;

    /// source-controller's `reconcileDelete`: its artifacts go.
    fn cleanup(_: &ObjectKey, obj: &HelmRepository, cx: &dyn Cx) -> Option<Cleanup> {
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

    fn meta(obj: &HelmRepository) -> &ObjectMeta {
        &obj.metadata
    }

    fn meta_mut(obj: &mut HelmRepository) -> &mut ObjectMeta {
        &mut obj.metadata
    }

    fn from_manifest(object: &ferroflux_api::manifest::Object) -> Option<HelmRepository> {
        match object {
            ferroflux_api::manifest::Object::HelmRepository(o) => Some(o.clone()),
            _ => None,
        }
    }

    /// A `type: oci` HelmRepository is static (its status is empty, as
    /// source-controller v1.9 leaves it): Ready for the summary and its
    /// readers, with the message `flux get sources helm` shows for it.
    fn conditions(obj: &HelmRepository) -> &[Condition] {
        if obj.spec.repo_type == Some(HelmRepositoryType::Oci) {
            return STATIC_READY.as_slice();
        }
        obj.status.as_ref().map_or(&[], |s| s.conditions.as_slice())
    }

    fn suspended(obj: &HelmRepository) -> bool {
        obj.spec.suspend == Some(true)
    }

    fn first_run(obj: &HelmRepository) -> FirstRun {
        after_if_ready(Self::conditions(obj), super::interval(obj))
    }

    /// When Ready: the stored revision.
    fn detail(obj: &HelmRepository, _: Option<&str>) -> Option<String> {
        if !is_ready(Self::conditions(obj)) {
            return None;
        }
        let a = obj.status.as_ref()?.artifact.as_ref()?;
        Some(a.revision.clone())
    }

    /// Its Secrets looked up, then source-controller's reconcile on a
    /// blocking thread that waits for the fetch on the runtime.
    fn reconcile(key: &ObjectKey, obj: &HelmRepository, _: Run, cx: &dyn Cx) -> Option<Job> {
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
                let input = super::HelmRepositoryInput {
                    repository: &repository,
                    secret: secret.as_ref().map(|s| s.as_ref().map_err(String::as_str)),
                    cert_secret: cert_secret
                        .as_ref()
                        .map(|s| s.as_ref().map_err(String::as_str)),
                    storage: &storage,
                };
                let fetch = move |url: &str, opts: &HttpOptions| -> Result<Vec<u8>, HttpError> {
                    handle.block_on(ferroflux_artifact::http::get(url, opts))
                };
                super::reconcile(&input, clock.as_ref(), &fetch)
            })
            .await
            .map_err(|e| e.to_string())?;
            Reconciled::new(&key, &r.status, Said::Event(r.event), r.outcome)
        }))
    }
}
