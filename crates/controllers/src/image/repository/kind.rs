//! ImageRepository as a [`Kind`]: scanned on its interval, read by nothing
//! upstream.

use ferroflux_api::image::ImageRepository;
use ferroflux_api::meta::{Condition, ObjectMeta};

use crate::kind::{FirstRun, Kind, KindInfo, after_if_ready, is_ready};

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
