use std::time::Duration;

use ferroflux_api::image::{ImagePolicy, ImageRepository, ImageUpdateAutomation};
use ferroflux_api::notification::Receiver;
use serde_json::json;

use super::*;

fn decode<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).expect("fixture decodes")
}

fn ready(status: &str) -> Value {
    json!([{"type": "Ready", "status": status, "reason": "R", "message": "m",
        "lastTransitionTime": "2025-01-01T00:00:00Z"}])
}

#[test]
fn every_kind_says_who_it_is() {
    let infos = [
        ImageRepository::INFO,
        ImagePolicy::INFO,
        ImageUpdateAutomation::INFO,
        Receiver::INFO,
        ReadGitRepository::INFO,
    ];
    let kinds: Vec<&str> = infos.iter().map(|i| i.kind).collect();
    assert_eq!(
        kinds,
        [
            "ImageRepository",
            "ImagePolicy",
            "ImageUpdateAutomation",
            "Receiver",
            "GitRepository"
        ]
    );
    assert_eq!(
        ImagePolicy::INFO.api_version(),
        "image.toolkit.fluxcd.io/v1"
    );
    assert_eq!(
        Receiver::INFO.api_version(),
        "notification.toolkit.fluxcd.io/v1"
    );
}

#[test]
fn watches_name_what_an_object_reads() {
    let key = ObjectKey::new("ImagePolicy", "apps", "web");
    let p: ImagePolicy = decode(json!({"metadata": {"name": "web", "namespace": "apps"},
        "spec": {"imageRepositoryRef": {"name": "web", "namespace": "infra"},
            "policy": {"alphabetical": {}}}}));
    let w = ImagePolicy::watches();
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].upstream, "ImageRepository");
    assert_eq!(
        (w[0].refs)(&key, &p),
        [Ref::Object(ObjectKey::new(
            "ImageRepository",
            "infra",
            "web"
        ))]
    );

    let key = ObjectKey::new("ImageUpdateAutomation", "apps", "a");
    let a: ImageUpdateAutomation = decode(json!({"metadata": {"name": "a", "namespace": "apps"},
        "spec": {"sourceRef": {"kind": "GitRepository", "name": "fleet"}, "interval": "5m"}}));
    let w = ImageUpdateAutomation::watches();
    let edges: Vec<(&str, Vec<Ref>)> = w.iter().map(|w| (w.upstream, (w.refs)(&key, &a))).collect();
    assert_eq!(
        edges,
        [
            (
                "ImagePolicy",
                vec![Ref::Namespace {
                    kind: "ImagePolicy".into(),
                    namespace: "apps".into()
                }]
            ),
            (
                "GitRepository",
                vec![Ref::Object(ObjectKey::new(
                    "GitRepository",
                    "apps",
                    "fleet"
                ))]
            ),
        ]
    );

    let key = ObjectKey::new("Receiver", "apps", "hook");
    let with: Receiver = decode(json!({"metadata": {"name": "hook"},
        "spec": {"type": "generic", "resources": [], "secretRef": {"name": "token"}}}));
    let without: Receiver = decode(json!({"metadata": {"name": "hook"},
        "spec": {"type": "generic", "resources": []}}));
    let w = Receiver::watches();
    assert_eq!(w[0].upstream, "Secret");
    assert_eq!(
        (w[0].refs)(&key, &with),
        [Ref::Object(ObjectKey::new("Secret", "apps", "token"))]
    );
    assert!((w[0].refs)(&key, &without).is_empty());
    assert!(ImageRepository::watches().is_empty());
    assert!(ReadGitRepository::watches().is_empty());
}

#[test]
fn first_runs_follow_the_stored_status() {
    let repo = |status: &str| -> ImageRepository {
        decode(json!({"metadata": {"name": "r"},
            "spec": {"image": "r.example/x", "interval": "5m"},
            "status": {"conditions": ready(status)}}))
    };
    assert_eq!(
        ImageRepository::first_run(&repo("True")),
        FirstRun::After(Duration::from_secs(300))
    );
    assert_eq!(ImageRepository::first_run(&repo("False")), FirstRun::Retry);
    let policy = |extra: Value| -> ImagePolicy {
        let mut spec = json!({"imageRepositoryRef": {"name": "r"}, "policy": {"alphabetical": {}}});
        for (k, v) in extra.as_object().into_iter().flatten() {
            spec[k] = v.clone();
        }
        decode(json!({"metadata": {"name": "p"}, "spec": spec}))
    };
    assert_eq!(
        ImagePolicy::first_run(&policy(json!({}))),
        FirstRun::Triggered
    );
    assert_eq!(
        ImagePolicy::first_run(&policy(json!({"digestReflectionPolicy": "Always"}))),
        FirstRun::After(Duration::from_secs(600))
    );
    assert_eq!(
        ImagePolicy::first_run(&policy(
            json!({"digestReflectionPolicy": "Always", "interval": "2m"})
        )),
        FirstRun::After(Duration::from_secs(120))
    );
    let r: Receiver =
        decode(json!({"metadata": {"name": "h"}, "spec": {"type": "generic", "resources": []}}));
    assert_eq!(
        Receiver::first_run(&r),
        FirstRun::After(Duration::from_secs(600))
    );
}

#[test]
fn summary_details_of_ready_objects() {
    let repo = |status: &str| -> ImageRepository {
        decode(json!({"metadata": {"name": "r"},
            "spec": {"image": "r.example/x", "interval": "5m"},
            "status": {"lastScanResult": {"tagCount": 4}, "conditions": ready(status)}}))
    };
    assert_eq!(
        ImageRepository::detail(&repo("True"), None).as_deref(),
        Some("4 tags")
    );
    assert_eq!(ImageRepository::detail(&repo("False"), None), None);
    let p: ImagePolicy = decode(json!({"metadata": {"name": "p"},
        "spec": {"imageRepositoryRef": {"name": "r"}, "policy": {"alphabetical": {}}},
        "status": {"latestRef": {"name": "x", "tag": "1.1"},
                   "observedPreviousRef": {"name": "x", "tag": "1.0"},
                   "conditions": ready("True")}}));
    assert_eq!(ImagePolicy::detail(&p, None).as_deref(), Some("1.1 (1.0)"));
    let auto = |status: &str| -> ImageUpdateAutomation {
        decode(json!({"metadata": {"name": "a"},
            "spec": {"sourceRef": {"kind": "GitRepository", "name": "f"}, "interval": "5m"},
            "status": {"conditions": ready(status)}}))
    };
    assert_eq!(
        ImageUpdateAutomation::detail(&auto("True"), Some("abc")).as_deref(),
        Some("pushed commit abc")
    );
    assert_eq!(
        ImageUpdateAutomation::detail(&auto("True"), None).as_deref(),
        Some("no changes")
    );
    assert_eq!(
        ImageUpdateAutomation::detail(&auto("False"), Some("abc")),
        None
    );
    let r: Receiver =
        decode(json!({"metadata": {"name": "h"}, "spec": {"type": "generic", "resources": []}}));
    assert_eq!(Receiver::detail(&r, None), None);
    let r: Receiver = decode(json!({"metadata": {"name": "h"},
        "spec": {"type": "generic", "resources": []},
        "status": {"webhookPath": "/hook/abc", "conditions": ready("False")}}));
    assert_eq!(Receiver::detail(&r, None).as_deref(), Some("/hook/abc"));
}
