use std::collections::BTreeMap;
use std::time::Duration;

use ferroflux_api::image::{ImagePolicy, ImageRepository, ImageUpdateAutomation};
use ferroflux_api::notification::Receiver;
use ferroflux_api::source::GitRepository;
use serde_json::json;

use super::*;
use crate::status::StepError;

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
        GitRepository::INFO,
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

    // A GitRepository reads the ones it includes, and runs when they
    // store a new artifact; an automation's source never runs it.
    let key = ObjectKey::new("GitRepository", "apps", "app");
    let g: GitRepository = decode(json!({"metadata": {"name": "app", "namespace": "apps"},
        "spec": {"url": "https://example.com/app", "interval": "1m",
            "include": [{"repository": {"name": "shared"}}]}}));
    let w = GitRepository::watches();
    assert_eq!(w[0].upstream, "GitRepository");
    assert_eq!(
        (w[0].refs)(&key, &g),
        [Ref::Object(ObjectKey::new(
            "GitRepository",
            "apps",
            "shared"
        ))]
    );
    let art = |rev: &str| json!({"artifact": {"revision": rev, "digest": "sha256:x"}});
    assert!((w[0].when)(None, Some(&art("main@sha1:1"))));
    assert!((w[0].when)(
        Some(&art("main@sha1:1")),
        Some(&art("main@sha1:2"))
    ));
    assert!(!(w[0].when)(
        Some(&art("main@sha1:1")),
        Some(&art("main@sha1:1"))
    ));
    assert!(!(w[0].when)(Some(&art("main@sha1:1")), Some(&json!({}))));
    let git = ImageUpdateAutomation::watches()[1];
    assert!(!(git.when)(None, Some(&art("main@sha1:1"))));
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

/// Secrets in memory, for the resolutions below.
#[derive(Default)]
struct Memory {
    data: BTreeMap<(String, String), SecretData>,
    docker: Option<(std::path::PathBuf, Vec<u8>)>,
}

impl SecretSource for Memory {
    fn secret(&self, namespace: &str, name: &str) -> Result<&SecretData, String> {
        self.data
            .get(&(namespace.to_string(), name.to_string()))
            .ok_or_else(|| format!("secret {namespace}/{name} not found"))
    }

    fn docker_config(&self) -> Option<(&std::path::Path, &[u8])> {
        self.docker
            .as_ref()
            .map(|(p, b)| (p.as_path(), b.as_slice()))
    }
}

fn with_secret(ns: &str, name: &str, data: &[(&str, &str)]) -> Memory {
    let mut m = Memory::default();
    m.data.insert(
        (ns.into(), name.into()),
        data.iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect(),
    );
    m
}

#[test]
fn a_receivers_token_comes_from_its_secret_or_stalls_it() {
    use crate::notification::receiver::resolve_token;
    let key = ObjectKey::new("Receiver", "apps", "hook");
    let r = |secret: Option<&str>| -> Receiver {
        let mut spec = json!({"type": "generic", "resources": []});
        if let Some(s) = secret {
            spec["secretRef"] = json!({"name": s});
        }
        decode(json!({"metadata": {"name": "hook", "namespace": "apps"}, "spec": spec}))
    };
    let secrets = with_secret("apps", "token", &[("token", "s3cr3t")]);
    assert_eq!(
        resolve_token(&key, &r(Some("token")), &secrets).expect("token"),
        "s3cr3t"
    );
    let e = resolve_token(&key, &r(None), &secrets).expect_err("no ref");
    assert!(matches!(e, StepError::Stalled { .. }));
    assert_eq!(e.reason(), "TokenNotFound");
    assert_eq!(
        e.message(),
        "receiver apps/hook: spec.secretRef is required"
    );
    let e = resolve_token(&key, &r(Some("gone")), &secrets).expect_err("no secret");
    assert_eq!(
        e.message(),
        "unable to read token from secret 'apps/gone': secret apps/gone not found"
    );
    // Another namespace's Secret of the same name is not read.
    let elsewhere = with_secret("other", "token", &[("token", "x")]);
    assert!(resolve_token(&key, &r(Some("token")), &elsewhere).is_err());
}

#[test]
fn registry_credentials_come_from_the_secret_then_the_docker_config() {
    use crate::image::repository::registry_auth;
    let key = ObjectKey::new("ImageRepository", "apps", "web");
    let repo = |secret: Option<&str>| -> ImageRepository {
        let mut spec = json!({"image": "registry.example/web", "interval": "5m"});
        if let Some(s) = secret {
            spec["secretRef"] = json!({"name": s});
        }
        decode(json!({"metadata": {"name": "web", "namespace": "apps"}, "spec": spec}))
    };
    // Nothing configured: anonymous.
    assert_eq!(
        registry_auth(&key, &repo(None), &Memory::default()).expect("anonymous"),
        ferroflux_registry::Auth::default()
    );
    // A named Secret that is missing: a retry that says so, no content.
    let e = registry_auth(&key, &repo(Some("creds")), &Memory::default()).expect_err("missing");
    assert!(matches!(e, StepError::Retry { .. }), "{e:?}");
    assert_eq!(e.reason(), "AuthenticationFailed");
    assert_eq!(
        e.message(),
        "failed to configure authentication options: secret apps/creds not found"
    );
    // A docker config that does not parse: a retry naming the file.
    let broken = Memory {
        docker: Some(("/etc/docker.json".into(), b"{not json".to_vec())),
        ..Memory::default()
    };
    let e = registry_auth(&key, &repo(None), &broken).expect_err("broken config");
    assert!(e.message().contains("/etc/docker.json"), "{}", e.message());
    // A docker config for the registry: its credentials.
    let config = br#"{"auths": {"registry.example": {"username": "u", "password": "p"}}}"#;
    let docker = Memory {
        docker: Some(("/etc/docker.json".into(), config.to_vec())),
        ..Memory::default()
    };
    assert_ne!(
        registry_auth(&key, &repo(None), &docker).expect("from config"),
        ferroflux_registry::Auth::default()
    );
}

/// A kind the api crate does not model decodes from the manifest's JSON
/// by default; what is not its shape, or another kind's typed object, is
/// not its object.
#[test]
fn from_manifest_decodes_unmodelled_kinds_by_default() {
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Note {
        metadata: ObjectMeta,
        text: String,
    }
    struct NoteKind;
    impl Kind for NoteKind {
        const INFO: KindInfo = KindInfo {
            kind: "Note",
            group: "test.ferroflux.dev",
            version: "v1",
            section: "notes",
        };
        const RECONCILED: bool = false;
        type Object = Note;
        fn meta(obj: &Note) -> &ObjectMeta {
            &obj.metadata
        }
        fn meta_mut(obj: &mut Note) -> &mut ObjectMeta {
            &mut obj.metadata
        }
        fn conditions(_: &Note) -> &[Condition] {
            &[]
        }
        fn suspended(_: &Note) -> bool {
            false
        }
        fn first_run(_: &Note) -> FirstRun {
            FirstRun::Triggered
        }
    }
    let other = Object::Other(json!({"metadata": {"name": "n"}, "text": "hi"}));
    assert_eq!(
        NoteKind::from_manifest(&other).map(|n| n.text),
        Some("hi".to_string())
    );
    let wrong = Object::Other(json!({"metadata": {"name": "n"}, "text": 5}));
    assert!(NoteKind::from_manifest(&wrong).is_none());
    let policy: ImagePolicy = serde_json::from_value(json!({
        "metadata": {"name": "p"},
        "spec": {"imageRepositoryRef": {"name": "r"}, "policy": {"alphabetical": {}}}
    }))
    .unwrap();
    let typed = Object::ImagePolicy(policy);
    assert!(NoteKind::from_manifest(&typed).is_none());
    assert!(<ImagePolicy as Kind>::from_manifest(&typed).is_some());
    assert!(<ImageRepository as Kind>::from_manifest(&typed).is_none());
}
