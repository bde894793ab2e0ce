use std::time::{Duration, UNIX_EPOCH};

use ferroflux_api::meta::Condition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::*;

fn cond(type_: &str, status: &str, message: &str, generation: Option<i64>) -> Condition {
    Condition {
        type_: type_.to_string(),
        status: status.to_string(),
        message: message.to_string(),
        reason: "Test".to_string(),
        observed_generation: generation,
        last_transition_time: Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
    }
}

#[test]
fn rfc3339_nano_like_go() {
    let at = |secs: u64, nanos: u32| {
        rfc3339_nano(
            UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_nanos(u64::from(nanos)),
        )
    };
    assert_eq!(at(0, 0), "1970-01-01T00:00:00Z");
    assert_eq!(
        at(1_796_412_601, 123_456_789),
        "2026-12-04T19:30:01.123456789Z"
    );
    // Go drops trailing zeros of the fraction.
    assert_eq!(at(1_796_412_601, 120_000_000), "2026-12-04T19:30:01.12Z");
    assert_eq!(at(951_782_400, 5), "2000-02-29T00:00:00.000000005Z");
    assert_eq!(at(4_107_542_399, 0), "2100-02-28T23:59:59Z");
}

#[test]
fn detect_names_everything_tried() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = Env {
        home: Some(dir.path().to_path_buf()),
        ..Env::default()
    };
    let err = detect(&ConnectArgs::default(), &env).expect_err("nothing configured");
    let msg = err.to_string();
    for want in [
        "--kubeconfig",
        "$KUBECONFIG not set",
        ".kube/config does not exist",
        "KUBERNETES_SERVICE_HOST",
    ] {
        assert!(msg.contains(want), "{want}: {msg}");
    }
    assert_eq!(err.exit_code(), 2);
    let no_home = detect(&ConnectArgs::default(), &Env::default()).expect_err("no home");
    assert!(no_home.to_string().contains("$HOME not set"), "{no_home}");
}

#[test]
fn detect_finds_each_source() {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path().to_path_buf();
    let none = Env {
        home: Some(home.clone()),
        ..Env::default()
    };
    let flag = ConnectArgs {
        kubeconfig: Some("/x".into()),
        context: None,
    };
    assert!(detect(&flag, &none).is_ok());
    let ctx = ConnectArgs {
        kubeconfig: None,
        context: Some("c".into()),
    };
    assert!(detect(&ctx, &none).is_ok());
    let var = Env {
        kubeconfig: Some("/k".into()),
        ..none.clone()
    };
    assert!(detect(&ConnectArgs::default(), &var).is_ok());
    let in_cluster = Env {
        service_host: Some("10.0.0.1".into()),
        ..none.clone()
    };
    assert!(detect(&ConnectArgs::default(), &in_cluster).is_ok());
    std::fs::create_dir_all(home.join(".kube")).expect("mkdir");
    std::fs::write(home.join(".kube/config"), "").expect("write");
    assert!(detect(&ConnectArgs::default(), &none).is_ok());
}

#[test]
fn request_handled_cases() {
    let t = "2026-12-04T19:30:01.1Z";
    // Ours.
    assert!(request_handled(Some(t), None, t, Some(t)));
    // Not yet: unchanged since before.
    assert!(!request_handled(Some("old"), Some("old"), t, Some(t)));
    assert!(!request_handled(None, None, t, Some(t)));
    // An older request finished after we annotated: still ours to wait for.
    assert!(!request_handled(Some("older"), Some("old"), t, Some(t)));
    // Someone asked after us and that request was handled.
    assert!(request_handled(
        Some("newer"),
        Some("old"),
        t,
        Some("newer")
    ));
}

#[test]
fn settled_follows_kstatus() {
    let ready = |s: &str| cond("Ready", s, "m", Some(2));
    assert!(!settled(&[], Some(2)));
    assert!(!settled(&[ready("Unknown")], Some(2)));
    assert!(settled(&[ready("True")], Some(2)));
    assert!(settled(&[ready("False")], Some(2)));
    // Observed an older generation.
    assert!(!settled(&[ready("True")], Some(3)));
    // No observedGeneration on the condition: not checked.
    assert!(settled(&[cond("Ready", "True", "", None)], Some(3)));
    assert!(!settled(
        &[ready("True"), cond("Reconciling", "True", "", Some(2))],
        Some(2)
    ));
    assert!(settled(
        &[ready("Unknown"), cond("Stalled", "True", "", Some(2))],
        Some(2)
    ));
}

#[test]
fn outcome_messages_like_flux() {
    assert!(outcome("ImageRepository", &[cond("Ready", "True", "ok", None)]).is_ok());
    let err = outcome(
        "ImageRepository",
        &[cond("Ready", "False", "auth failed", None)],
    )
    .expect_err("ready false");
    assert_eq!(
        err.to_string(),
        "ImageRepository reconciliation failed: 'auth failed'"
    );
    assert_eq!(err.exit_code(), 1);
    let err = outcome("ImagePolicy", &[]).expect_err("no ready");
    assert_eq!(err.to_string(), "status can't be determined");
    let err = outcome(
        "ImagePolicy",
        &[
            cond("Ready", "Unknown", "", None),
            cond("Stalled", "True", "invalid range", None),
        ],
    )
    .expect_err("stalled");
    assert_eq!(
        err.to_string(),
        "ImagePolicy reconciliation failed: 'invalid range'"
    );
}

#[test]
fn error_lines_and_exit_codes() {
    let cases: Vec<(Error, &str, u8)> = vec![
        (
            Error::NotFound {
                kind: "Kustomization".into(),
                resource: "kustomizations.kustomize.toolkit.fluxcd.io".into(),
                name: "app".into(),
                namespace: "flux-system".into(),
            },
            "kustomizations.kustomize.toolkit.fluxcd.io \"app\" not found",
            1,
        ),
        (Error::NoneFound, "no objects found", 1),
        (
            Error::FailedWithSource {
                kind: "Kustomization".into(),
                message: "kustomization path not found".into(),
            },
            "Kustomization reconciliation failed: kustomization path not found",
            1,
        ),
        (
            Error::SourceKind {
                kind: "Bucket".into(),
            },
            "cannot reconcile source of kind Bucket",
            1,
        ),
        (Error::Suspended, "resource is suspended", 1),
        (
            Error::Timeout {
                kind: "ImageUpdateAutomation".into(),
                name: "flux-system".into(),
                namespace: "flux-system".into(),
                timeout: ferroflux_api::duration::Duration::parse("2s").expect("duration"),
            },
            "timed out after 2s waiting for ImageUpdateAutomation flux-system in flux-system namespace to be reconciled",
            1,
        ),
        (
            Error::Api {
                action: "patching",
                kind: "ImagePolicy".into(),
                target: "p in apps namespace".into(),
                detail: "forbidden".into(),
                code: Some(403),
            },
            "patching ImagePolicy p in apps namespace: forbidden",
            1,
        ),
        (
            Error::Connect(ClusterError::Kubeconfig {
                path: "/k".into(),
                detail: "bad".into(),
            }),
            "kubeconfig /k: bad",
            2,
        ),
    ];
    for (err, text, code) in cases {
        assert_eq!(err.to_string(), text);
        assert_eq!(err.exit_code(), code, "{text}");
    }
}

#[test]
fn finish_maps_exit_codes() {
    assert_eq!(finish(Ok(true)).expect("ok"), ExitCode::SUCCESS);
    assert_eq!(finish(Ok(false)).expect("ok"), ExitCode::from(1));
    assert_eq!(
        finish(Err(Error::Suspended)).expect("ok"),
        ExitCode::from(1)
    );
    let err = finish(Err(Error::NoConfig { tried: "x".into() })).expect_err("usage error");
    assert!(err.to_string().contains("no Kubernetes configuration"));
}

#[test]
fn success_messages_like_flux() {
    let repo: ImageRepository = serde_json::from_value(serde_json::json!({
        "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImageRepository",
        "metadata": {"name": "r", "namespace": "flux-system"},
        "spec": {"image": "harbor.example/app", "interval": "5m"},
        "status": {"lastScanResult": {"tagCount": 7}}
    }))
    .expect("repo");
    assert_eq!(repo.success_message(), "scan fetched 7 tags");
    let auto: ImageUpdateAutomation = serde_json::from_value(serde_json::json!({
        "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImageUpdateAutomation",
        "metadata": {"name": "a", "namespace": "flux-system"},
        "spec": {"sourceRef": {"kind": "GitRepository", "name": "flux-system"}, "interval": "5m"}
    }))
    .expect("automation");
    assert_eq!(auto.success_message(), "automation not yet run");
    let pol: ImagePolicy = serde_json::from_value(serde_json::json!({
        "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImagePolicy",
        "metadata": {"name": "p", "namespace": "flux-system"},
        "spec": {"imageRepositoryRef": {"name": "r"}, "policy": {"semver": {"range": ">=0"}}},
        "status": {"latestRef": {"name": "harbor.example/app", "tag": "1.2.3"}}
    }))
    .expect("policy");
    assert_eq!(
        pol.success_message(),
        "latest image harbor.example/app:1.2.3"
    );
}

#[test]
fn gitops_kinds_success_messages_and_source() {
    let git: GitRepository = serde_json::from_value(serde_json::json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": {"name": "flux-system", "namespace": "flux-system"},
        "spec": {"url": "https://example.com/r.git", "interval": "1m", "suspend": true},
        "status": {"artifact": {"path": "p", "url": "u", "revision": "main@sha1:abc"},
                   "lastHandledReconcileAt": "t1"}
    }))
    .expect("git");
    assert_eq!(git.success_message(), "fetched revision main@sha1:abc");
    assert!(git.suspended());
    assert_eq!(git.last_handled_reconcile_at(), Some("t1"));
    assert_eq!(git.source_ref(), None);
    let ks: Kustomization = serde_json::from_value(serde_json::json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": "apps", "namespace": "flux-system"},
        "spec": {"interval": "10m", "prune": true, "path": "./apps",
                 "sourceRef": {"kind": "GitRepository", "name": "flux-system"}},
        "status": {"lastAppliedRevision": "main@sha1:def"}
    }))
    .expect("ks");
    assert_eq!(ks.success_message(), "applied revision main@sha1:def");
    assert!(!ks.suspended());
    assert_eq!(
        ks.source_ref(),
        Some(SourceRef {
            kind: "GitRepository".into(),
            name: "flux-system".into(),
            namespace: "flux-system".into(),
        })
    );
    let mut other = ks.clone();
    other.spec.source_ref.namespace = Some("sources".into());
    other.spec.source_ref.kind = ferroflux_api::kustomize::KustomizationSourceKind::OCIRepository;
    let src = other.source_ref().expect("source");
    assert_eq!(
        (src.kind.as_str(), src.namespace.as_str()),
        ("OCIRepository", "sources")
    );
}

#[test]
fn redact_drops_snippets_and_quoted_values() {
    let yaml = "failed to parse kubeconfig YAML: error: line 7 column 11: expected sequence start\n --> <input>:7:11\n6 |     token: s3cr3t\n";
    assert_eq!(
        redact_detail(yaml),
        "failed to parse kubeconfig YAML: error: line 7 column 11: expected sequence start"
    );
    assert_eq!(
        redact_detail("invalid type: string \"s3cr3t\", expected a sequence"),
        "invalid type: string \"…\", expected a sequence"
    );
    assert_eq!(redact_detail("unclosed \"s3cr3t"), "unclosed \"…\"");
    assert_eq!(redact_detail("no quotes"), "no quotes");
    let e = redact(ClusterError::Kubeconfig {
        path: "/k".into(),
        detail: "x \"tok\" y\nsnippet tok".into(),
    });
    assert_eq!(e.to_string(), "kubeconfig /k: x \"…\" y");
}

#[test]
fn api_detail_is_the_server_message_or_the_chain_once() {
    let status = kube::core::Status::failure("imagepolicies \"p\" is forbidden", "Forbidden");
    assert_eq!(
        api_detail(&kube::Error::Api(status.boxed())),
        "imagepolicies \"p\" is forbidden"
    );
    #[derive(Debug, thiserror::Error)]
    #[error("outer: {0}")]
    struct Outer(#[source] Inner);
    #[derive(Debug, thiserror::Error)]
    #[error("inner")]
    struct Inner;
    let err = kube::Error::Service(Box::new(Outer(Inner)));
    let detail = api_detail(&err);
    assert_eq!(detail.matches("inner").count(), 1, "{detail}");
}
