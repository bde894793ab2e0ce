//! ImageRepository as a [`Kind`]: scanned on its interval, read by nothing
//! upstream.

use ferroflux_api::image::ImageRepository;
use ferroflux_api::meta::{Condition, ObjectMeta, reason};
use ferroflux_registry::{Auth, DockerConfig};

use super::{auth_from_secret, parse_image};
use crate::kind::cx::ProgressEvent;
use crate::kind::{
    Cx, FirstRun, Job, Kind, KindInfo, ObjectKey, Reconciled, Run, Said, SecretSource,
    after_if_ready, is_ready,
};
use crate::status::{self, StepError};

impl Kind for ImageRepository {
    const INFO: KindInfo = KindInfo {
        kind: "ImageRepository",
        group: "image.toolkit.fluxcd.io",
        version: "v1",
        section: "repositories",
    };
    type Object = ImageRepository;

    fn meta(obj: &ImageRepository) -> &ObjectMeta {
        &obj.metadata
    }

    fn meta_mut(obj: &mut ImageRepository) -> &mut ObjectMeta {
        &mut obj.metadata
    }

    fn from_manifest(object: &ferroflux_api::manifest::Object) -> Option<ImageRepository> {
        match object {
            ferroflux_api::manifest::Object::ImageRepository(o) => Some(o.clone()),
            _ => None,
        }
    }

    fn conditions(obj: &ImageRepository) -> &[Condition] {
        obj.status.as_ref().map_or(&[], |s| s.conditions.as_slice())
    }

    fn suspended(obj: &ImageRepository) -> bool {
        obj.spec.suspend == Some(true)
    }

    fn first_run(obj: &ImageRepository) -> FirstRun {
        after_if_ready(Self::conditions(obj), obj.spec.interval.to_std())
    }

    /// `N tags` when Ready.
    fn detail(obj: &ImageRepository, _: Option<&str>) -> Option<String> {
        if !is_ready(Self::conditions(obj)) {
            return None;
        }
        let r = obj.status.as_ref()?.last_scan_result.as_ref()?;
        Some(format!("{} tags", r.tag_count))
    }

    /// Registry credentials and a client (TLS per `certSecretRef`), then
    /// the scan.
    fn reconcile(key: &ObjectKey, obj: &ImageRepository, run: Run, cx: &dyn Cx) -> Option<Job> {
        let key = key.clone();
        let obj = obj.clone();
        let setup = registry_auth(&key, &obj, cx.secrets())
            .and_then(|auth| Ok((auth, cx.registry_client(&key, &obj)?)));
        let store = std::sync::Arc::clone(cx.stores().tags);
        let clock = cx.clock();
        let sink = cx.progress();
        Some(Box::pin(async move {
            let (status, outcome) = match setup {
                Ok((auth, client)) => {
                    let report =
                        move |image: &ferroflux_registry::ImageName,
                              p: ferroflux_registry::Progress| {
                            if let Some(sink) = &sink {
                                sink(ProgressEvent::Scan {
                                    image: image.canonical(),
                                    pages: p.pages,
                                    tags: p.tags,
                                    more: p.more,
                                });
                            }
                        };
                    let cx = super::Context {
                        client: &client,
                        store: &store,
                        clock: clock.as_ref(),
                        progress: Some(&report),
                        force: run.force,
                    };
                    let r = super::reconcile(&obj, &auth, &cx).await;
                    (r.status, r.outcome)
                }
                Err(e) => {
                    let mut s = obj.status.clone().unwrap_or_default();
                    let result = Err(e);
                    status::finish(
                        &mut s.conditions,
                        obj.metadata.generation,
                        clock.now_time(),
                        &result,
                    );
                    (s, status::outcome(&result, None))
                }
            };
            Reconciled::new(&key, &status, Said::Ready, outcome)
        }))
    }
}

/// Registry credentials of `key`: its `secretRef` Secret, else the home's
/// docker config, else anonymous. An unreadable Secret or config is a
/// retry (`AuthenticationFailed`): it may appear.
pub fn registry_auth(
    key: &ObjectKey,
    obj: &ImageRepository,
    secrets: &dyn SecretSource,
) -> Result<Auth, StepError> {
    let failed = |e: String| {
        StepError::retry(
            reason::AUTHENTICATION_FAILED,
            format!("failed to configure authentication options: {e}"),
        )
    };
    let image = parse_image(obj)?;
    match &obj.spec.secret_ref {
        Some(r) => {
            let data = secrets.secret(&key.namespace, &r.name).map_err(failed)?;
            auth_from_secret(data, &format!("{}/{}", key.namespace, r.name), &image)
        }
        None => match secrets.docker_config() {
            None => Ok(Auth::default()),
            Some((file, bytes)) => DockerConfig::parse(bytes, Some(&file.display().to_string()))
                .map(|c| c.auth_for(image.registry()))
                .map_err(|e| failed(e.to_string())),
        },
    }
}
