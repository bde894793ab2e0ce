//! GitRepository as it is today: read, never reconciled. In a cluster its
//! changes run the automations that push through it; locally the runtime
//! re-fetches `--repo` on its interval. A real GitRepository reconciler
//! (artifacts, `source/git.rs`) replaces this marker type.

use ferroflux_api::meta::{Condition, ObjectMeta};
use ferroflux_api::source::GitRepository;

use super::{FirstRun, Kind, KindInfo};

/// Flux's GitRepository, held and watched but not reconciled.
#[derive(Debug, Clone, Copy)]
pub struct ReadGitRepository;

impl Kind for ReadGitRepository {
    const INFO: KindInfo = KindInfo {
        kind: "GitRepository",
        group: "source.toolkit.fluxcd.io",
        version: "v1",
        section: "sources",
    };
    const RECONCILED: bool = false;
    type Object = GitRepository;

    fn meta(obj: &GitRepository) -> &ObjectMeta {
        &obj.metadata
    }

    fn conditions(obj: &GitRepository) -> &[Condition] {
        obj.status.as_ref().map_or(&[], |s| s.conditions.as_slice())
    }

    fn suspended(obj: &GitRepository) -> bool {
        obj.spec.suspend == Some(true)
    }

    /// Not reconciled: the local home schedules the fetch of `--repo` on
    /// the interval of the GitRepository that describes it, itself.
    fn first_run(_: &GitRepository) -> FirstRun {
        FirstRun::Triggered
    }
}
