//! The event Flux's controllers post to notification-controller
//! (`fluxcd/pkg/apis/event/v1beta1`), marshalled as Go marshals it: the
//! fields in declaration order, compact, metadata keys sorted, `<`, `>`
//! and `&` escaped, the timestamp in whole UTC seconds.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};
use sha2::Digest as _;

/// Flux's event API group: metadata keys with this prefix come from the
/// object's `event.toolkit.fluxcd.io/*` annotations.
pub const EVENT_GROUP: &str = "event.toolkit.fluxcd.io";

/// `type Event` marks `message` with a maximum of 39,000 characters; a
/// longer message (a hostile registry's error echoed back) is cut there.
pub const MAX_MESSAGE_CHARS: usize = 39_000;

/// Metadata keys (`metadata.go`), sent prefixed with the object's group.
pub mod key {
    pub const REVISION: &str = "revision";
    pub const ORIGIN_REVISION: &str = "originRevision";
    pub const CHECKSUM: &str = "checksum";
    pub const DIGEST: &str = "digest";
    pub const TOKEN: &str = "token";
    pub const COMMIT: &str = "commit";
    pub const COMMIT_STATUS: &str = "commit_status";
    pub const COMMIT_STATUS_UPDATE: &str = "update";
    pub const CHANGE_REQUEST: &str = "change_request";
}

/// The involved object (a `corev1.ObjectReference`; empty fields omitted).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub uid: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub api_version: String,
}

impl ObjectRef {
    /// The API group of `apiVersion` (`""` for the core group).
    pub fn group(&self) -> &str {
        self.api_version
            .rsplit_once('/')
            .map(|(g, _)| g)
            .unwrap_or("")
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    #[default]
    Info,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Error => "error",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub involved_object: ObjectRef,
    pub severity: Severity,
    #[serde(serialize_with = "whole_seconds")]
    pub timestamp: jiff::Timestamp,
    pub message: String,
    pub reason: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    pub reporting_controller: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reporting_instance: String,
}

fn whole_seconds<S: Serializer>(t: &jiff::Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
}

impl Event {
    /// An event with Flux's bounds applied (the message cut at
    /// [`MAX_MESSAGE_CHARS`]).
    pub fn new(
        involved_object: ObjectRef,
        severity: Severity,
        timestamp: jiff::Timestamp,
        reason: impl Into<String>,
        message: impl Into<String>,
    ) -> Event {
        let mut message: String = message.into();
        if let Some((cut, _)) = message.char_indices().nth(MAX_MESSAGE_CHARS) {
            message.truncate(cut);
        }
        let reporting_controller = reporting_controller(&involved_object.kind).to_string();
        Event {
            involved_object,
            severity,
            timestamp,
            message,
            reason: reason.into(),
            metadata: BTreeMap::new(),
            reporting_controller,
            reporting_instance: String::new(),
        }
    }

    /// Go's `json.Marshal(event)`: what generic providers post and sign.
    pub fn to_json(&self) -> Vec<u8> {
        go_json(self)
    }

    /// `<object group>/<key>`, as controllers prefix their metadata.
    pub fn group_key(&self, key: &str) -> String {
        format!("{}/{key}", self.involved_object.group())
    }

    /// `Event.GetRevision()`: the unprefixed `commit`, `originRevision` or
    /// `revision`, in that order (read after the metadata is combined).
    pub fn revision(&self) -> Option<&str> {
        [key::COMMIT, key::ORIGIN_REVISION, key::REVISION]
            .iter()
            .find_map(|k| self.metadata.get(*k).map(String::as_str))
    }

    /// Whether the controller marked this event as a commit-status update
    /// (kustomize-controller's "Reconciliation finished").
    pub fn is_commit_status_update(&self) -> bool {
        self.metadata
            .get(&self.group_key(key::COMMIT_STATUS))
            .map(String::as_str)
            == Some(key::COMMIT_STATUS_UPDATE)
    }

    /// `hasCommitKey`: an `event.toolkit.fluxcd.io/commit` annotation.
    pub fn has_commit_key(&self) -> bool {
        self.metadata
            .get(&format!("{EVENT_GROUP}/{}", key::COMMIT))
            .is_some_and(|v| !v.is_empty())
    }

    pub fn has_change_request_key(&self) -> bool {
        self.metadata
            .get(&format!("{EVENT_GROUP}/{}", key::CHANGE_REQUEST))
            .is_some_and(|v| !v.is_empty())
    }

    /// `<lowercase kind>/<name>.<namespace>`, the chat providers' title.
    pub fn object_title(&self) -> String {
        let o = &self.involved_object;
        format!("{}/{}.{}", o.kind.to_lowercase(), o.name, o.namespace)
    }

    /// `cleanupMetadata` (event server): keep only keys of the event group
    /// or the object's group, without `<group>/checksum` and `<group>/digest`.
    pub fn cleanup_metadata(&mut self) {
        let event_prefix = format!("{EVENT_GROUP}/");
        let object_prefix = format!("{}/", self.involved_object.group());
        let excluded = [
            format!("{object_prefix}{}", key::CHECKSUM),
            format!("{object_prefix}{}", key::DIGEST),
        ];
        self.metadata.retain(|k, _| {
            !excluded.iter().any(|x| x == k)
                && (k.starts_with(&event_prefix) || k.starts_with(&object_prefix))
        });
    }

    /// The rate limiter's key (`eventKeyFunc`): lowercase hex SHA-256 of
    /// `event/name=…/namespace=…/kind=…/message=…` and, when present, the
    /// object group's `originRevision`, `revision` and `token`.
    pub fn rate_limit_key(&self) -> String {
        let o = &self.involved_object;
        let mut parts = vec![
            "event".to_string(),
            format!("name={}", o.name),
            format!("namespace={}", o.namespace),
            format!("kind={}", o.kind),
            format!("message={}", self.message),
        ];
        for k in [key::ORIGIN_REVISION, key::REVISION, key::TOKEN] {
            if let Some(v) = self.metadata.get(&self.group_key(k)) {
                parts.push(format!("{k}={v}"));
            }
        }
        hex::encode(sha2::Sha256::digest(parts.join("/").as_bytes()))
    }
}

/// The controller Flux names as `reportingController` for a kind.
pub fn reporting_controller(kind: &str) -> &'static str {
    match kind {
        "GitRepository" | "OCIRepository" | "HelmRepository" | "HelmChart" | "Bucket" => {
            "source-controller"
        }
        "Kustomization" => "kustomize-controller",
        "HelmRelease" => "helm-controller",
        "ImageRepository" | "ImagePolicy" => "image-reflector-controller",
        "ImageUpdateAutomation" => "image-automation-controller",
        _ => "notification-controller",
    }
}

/// Go's `json.Marshal`: compact, and `<`, `>`, `&`, U+2028 and U+2029
/// escaped. Those characters only occur inside strings in compact JSON, so
/// escaping them after serde_json wrote the text is exact.
pub fn go_json<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let text = serde_json::to_string(value).unwrap_or_else(|_| "null".to_string());
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests;
