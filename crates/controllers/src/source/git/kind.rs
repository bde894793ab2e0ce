//! GitRepository as a [`Kind`]: on its interval (Ready) or at the first
//! retry, and at once when a GitRepository it includes stores a new
//! artifact (source-controller waits for the interval there; a new
//! artifact upstream is a new artifact here).

use std::time::Duration;

use ferroflux_api::meta::{Condition, ObjectMeta};
use ferroflux_api::source::GitRepository;
use serde_json::Value;

use crate::kind::{FirstRun, Kind, KindInfo, ObjectKey, Ref, Watch, after_if_ready, is_ready};

impl Kind for GitRepository {
    const INFO: KindInfo = KindInfo {
        kind: super::KIND,
        group: "source.toolkit.fluxcd.io",
        version: "v1",
        section: "sources",
    };
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
