//! ImageUpdateAutomation as a [`Kind`]: runs on its interval, when any
//! ImagePolicy of its namespace chose a new `latestRef` (Flux reads every
//! policy of the namespace), and when its `sourceRef` GitRepository
//! changed.

use ferroflux_api::image::{ImagePolicy, ImageUpdateAutomation};
use ferroflux_api::meta::{Condition, ObjectMeta};
use serde_json::Value;

use crate::kind::{
    FirstRun, Kind, KindInfo, Lookup, ObjectKey, Ref, Watch, after_if_ready, get, is_ready, never,
};

impl Kind for ImageUpdateAutomation {
    const INFO: KindInfo = KindInfo {
        kind: "ImageUpdateAutomation",
        group: "image.toolkit.fluxcd.io",
        version: "v1",
        section: "automations",
    };
    type Object = ImageUpdateAutomation;

    fn meta(obj: &ImageUpdateAutomation) -> &ObjectMeta {
        &obj.metadata
    }

    fn conditions(obj: &ImageUpdateAutomation) -> &[Condition] {
        obj.status.as_ref().map_or(&[], |s| s.conditions.as_slice())
    }

    fn suspended(obj: &ImageUpdateAutomation) -> bool {
        obj.spec.suspend == Some(true)
    }

    fn watches() -> Vec<Watch<Self>> {
        vec![
            Watch {
                upstream: "ImagePolicy",
                refs: namespace_policies,
                when: latest_ref_moved,
            },
            Watch {
                upstream: "GitRepository",
                refs: source_ref,
                // It fetches the branch itself: a new artifact is no news.
                when: never,
            },
        ]
    }

    fn first_run(obj: &ImageUpdateAutomation) -> FirstRun {
        after_if_ready(Self::conditions(obj), obj.spec.interval.to_std())
    }

    /// When Ready: `pushed commit C`, or `no changes`.
    fn detail(obj: &ImageUpdateAutomation, pushed: Option<&str>) -> Option<String> {
        if !is_ready(Self::conditions(obj)) {
            return None;
        }
        Some(match pushed {
            Some(c) => format!("pushed commit {c}"),
            None => "no changes".to_string(),
        })
    }
}

fn namespace_policies(key: &ObjectKey, _: &ImageUpdateAutomation) -> Vec<Ref> {
    vec![Ref::Namespace {
        kind: "ImagePolicy".to_string(),
        namespace: key.namespace.clone(),
    }]
}

/// `spec.sourceRef`, in the automation's namespace unless it names one.
fn source_ref(key: &ObjectKey, obj: &ImageUpdateAutomation) -> Vec<Ref> {
    let r = &obj.spec.source_ref;
    vec![Ref::Object(ObjectKey::new(
        "GitRepository",
        r.namespace.as_deref().unwrap_or(&key.namespace),
        &r.name,
    ))]
}

/// A new `latestRef`; a policy that lost its choice runs nothing.
fn latest_ref_moved(old: Option<&Value>, new: Option<&Value>) -> bool {
    let at = |v: Option<&Value>| v.and_then(|v| v.pointer("/latestRef")).cloned();
    let new_ref = at(new);
    new_ref.is_some() && at(old) != new_ref
}

/// Every ImagePolicy of the automation's namespace (Flux applies them all).
pub fn policies_of_namespace(key: &ObjectKey, objects: &dyn Lookup) -> Vec<ImagePolicy> {
    objects
        .keys_in(ImagePolicy::INFO.kind, &key.namespace)
        .iter()
        .filter_map(|k| get::<ImagePolicy>(objects, k).cloned())
        .collect()
}
