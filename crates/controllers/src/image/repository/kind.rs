//! ImageRepository as a [`Kind`]: scanned on its interval, read by nothing
//! upstream.

use ferroflux_api::image::ImageRepository;
use ferroflux_api::meta::{Condition, ObjectMeta, reason};
use ferroflux_registry::{Auth, DockerConfig};

use super::{auth_from_secret, parse_image};
use crate::kind::{FirstRun, Kind, KindInfo, ObjectKey, SecretSource, after_if_ready, is_ready};
use crate::status::StepError;

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
