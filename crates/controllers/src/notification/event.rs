//! The events the engine records, as Flux's controllers post them to
//! notification-controller: severity from the type (trace events are
//! never posted), the object's `event.toolkit.fluxcd.io/*` annotations and
//! the controller's metadata (`<group>/revision`, `originRevision`,
//! `commit_status`) taken from the status the reconcile wrote.

use std::collections::BTreeMap;

use ferroflux_notify::event::{EVENT_GROUP, key};
use ferroflux_notify::{Event, ObjectRef, Severity};
use k8s_openapi::jiff::Timestamp;
use serde_json::Value;

use crate::status::{self, EventType};

/// Flux's event for `event` on `object`; None for trace events and for
/// objects without a kind, name or namespace (never posted by Flux).
pub fn flux_event(
    object: &ObjectRef,
    annotations: Option<&BTreeMap<String, String>>,
    event: &status::Event,
    status: Option<&Value>,
    now: Timestamp,
) -> Option<Event> {
    let severity = match event.type_ {
        EventType::Normal => Severity::Info,
        EventType::Warning => Severity::Error,
        EventType::Trace => return None,
    };
    if object.kind.is_empty() || object.name.is_empty() || object.namespace.is_empty() {
        return None;
    }
    let mut e = Event::new(object.clone(), severity, now, &event.reason, &event.message);
    let group = object.group().to_string();
    let mut put = |k: &str, v: Option<&str>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            e.metadata.insert(format!("{group}/{k}"), v.to_string());
        }
    };
    let s = |path: &[&str]| {
        let mut v = status?;
        for p in path {
            v = v.get(*p)?;
        }
        v.as_str()
    };
    match object.kind.as_str() {
        "GitRepository" | "OCIRepository" | "HelmChart" | "Bucket" => {
            put(key::REVISION, s(&["artifact", "revision"]));
        }
        "Kustomization" | "HelmRelease" => {
            put(key::REVISION, s(&["lastAttemptedRevision"]));
            put(key::ORIGIN_REVISION, s(&["lastAppliedOriginRevision"]));
            // kustomize-controller marks its success event for commit
            // statuses.
            if severity == Severity::Info && event.reason == "ReconciliationSucceeded" {
                put(key::COMMIT_STATUS, Some(key::COMMIT_STATUS_UPDATE));
            }
        }
        _ => {}
    }
    let prefix = format!("{EVENT_GROUP}/");
    for (k, v) in annotations.into_iter().flatten() {
        if k.starts_with(&prefix) {
            e.metadata.insert(k.clone(), v.clone());
        }
    }
    Some(e)
}
