use super::*;
use crate::clock::FixedClock;
use ferroflux_api::meta::LocalObjectReference;
use ferroflux_api::notification::CrossNamespaceObjectReference;
use k8s_openapi::jiff::Timestamp;

#[test]
fn webhook_paths_match_flux_examples() {
    assert_eq!(
        webhook_path("token", "receiver", "default"),
        "/hook/8cc3207cffc97dc881eed557d9eb9348edf632357f3132b4f4d30188c54fc63d"
    );
    assert_eq!(
        webhook_path("s3cr3t", "harbor-receiver", "flux-system"),
        "/hook/323fb1eefac7529138eb460f3e69b004496f7a3cefe148ca1bbc62d39fa2d685"
    );
}

fn spec(t: ReceiverType, events: &[&str]) -> ReceiverSpec {
    ReceiverSpec {
        receiver_type: t,
        events: events.iter().map(|e| e.to_string()).collect(),
        resources: vec![],
        secret_ref: Some(LocalObjectReference {
            name: "token".into(),
        }),
        ..Default::default()
    }
}

fn req(headers: &[(&str, &str)], body: &str) -> WebhookRequest {
    WebhookRequest {
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .collect(),
        body: body.as_bytes().to_vec(),
    }
}

const TOKEN: &str = "s3cr3t";
/// (case, type, events, headers, body, expected status: 0 = accepted)
type Case<'a> = (
    &'a str,
    ReceiverType,
    Vec<&'a str>,
    Vec<(&'a str, &'a str)>,
    &'a str,
    u16,
);

const BODY: &str = r#"{"push_data":{"tag":"1.0.0"},"repository":{"repo_url":"x"}}"#;

#[test]
fn validation_table() {
    let sha256 = format!("sha256={}", sign("sha256", TOKEN, BODY.as_bytes()).unwrap());
    let sha1 = format!("sha1={}", sign("sha1", TOKEN, BODY.as_bytes()).unwrap());
    let sha512 = format!("sha512={}", sign("sha512", TOKEN, BODY.as_bytes()).unwrap());
    let wrong256 = format!(
        "sha256={}",
        sign("sha256", "other", BODY.as_bytes()).unwrap()
    );
    // (case, type, events, headers, body, expected status: 0 = accepted)
    let cases: Vec<Case> = vec![
        (
            "generic accepts anything",
            ReceiverType::Generic,
            vec![],
            vec![],
            "",
            0,
        ),
        (
            "hmac sha256",
            ReceiverType::GenericHmac,
            vec![],
            vec![("X-Signature", &sha256)],
            BODY,
            0,
        ),
        (
            "hmac sha1",
            ReceiverType::GenericHmac,
            vec![],
            vec![("X-Signature", &sha1)],
            BODY,
            0,
        ),
        (
            "hmac sha512",
            ReceiverType::GenericHmac,
            vec![],
            vec![("X-Signature", &sha512)],
            BODY,
            0,
        ),
        (
            "hmac missing header",
            ReceiverType::GenericHmac,
            vec![],
            vec![],
            BODY,
            401,
        ),
        (
            "hmac wrong key",
            ReceiverType::GenericHmac,
            vec![],
            vec![("X-Signature", &wrong256)],
            BODY,
            401,
        ),
        (
            "hmac body changed",
            ReceiverType::GenericHmac,
            vec![],
            vec![("X-Signature", &sha256)],
            "{}",
            401,
        ),
        (
            "hmac no algorithm",
            ReceiverType::GenericHmac,
            vec![],
            vec![("X-Signature", "abcdef")],
            BODY,
            400,
        ),
        (
            "hmac unknown algorithm",
            ReceiverType::GenericHmac,
            vec![],
            vec![("X-Signature", "md5=abcd")],
            BODY,
            400,
        ),
        (
            "hmac not hex",
            ReceiverType::GenericHmac,
            vec![],
            vec![("X-Signature", "sha256=zz")],
            BODY,
            400,
        ),
        (
            "harbor token",
            ReceiverType::Harbor,
            vec![],
            vec![("Authorization", TOKEN)],
            "",
            0,
        ),
        (
            "harbor wrong token",
            ReceiverType::Harbor,
            vec![],
            vec![("Authorization", "nope")],
            "",
            401,
        ),
        (
            "harbor no header",
            ReceiverType::Harbor,
            vec![],
            vec![],
            "",
            401,
        ),
        (
            "dockerhub payload",
            ReceiverType::Dockerhub,
            vec![],
            vec![],
            BODY,
            0,
        ),
        (
            "dockerhub bad payload",
            ReceiverType::Dockerhub,
            vec![],
            vec![],
            r#"{"push_data":{}}"#,
            400,
        ),
        (
            "quay payload",
            ReceiverType::Quay,
            vec![],
            vec![],
            r#"{"docker_url":"q/x","updated_tags":["1"]}"#,
            0,
        ),
        (
            "quay bad payload",
            ReceiverType::Quay,
            vec![],
            vec![],
            "not json",
            400,
        ),
        (
            "github push",
            ReceiverType::Github,
            vec!["push"],
            vec![("X-Hub-Signature-256", &sha256), ("X-GitHub-Event", "PUSH")],
            BODY,
            0,
        ),
        (
            "github sha1 fallback",
            ReceiverType::Github,
            vec![],
            vec![("X-Hub-Signature", &sha1), ("X-GitHub-Event", "ping")],
            BODY,
            0,
        ),
        (
            "github no signature",
            ReceiverType::Github,
            vec![],
            vec![("X-GitHub-Event", "push")],
            BODY,
            401,
        ),
        (
            "github wrong signature",
            ReceiverType::Github,
            vec![],
            vec![("X-Hub-Signature-256", &wrong256)],
            BODY,
            401,
        ),
        (
            "github prefix mismatch",
            ReceiverType::Github,
            vec![],
            vec![("X-Hub-Signature-256", &sha1)],
            BODY,
            401,
        ),
        (
            "github event filtered",
            ReceiverType::Github,
            vec!["push"],
            vec![
                ("X-Hub-Signature-256", &sha256),
                ("X-GitHub-Event", "issues"),
            ],
            BODY,
            400,
        ),
        (
            "gitlab token",
            ReceiverType::Gitlab,
            vec![],
            vec![("X-Gitlab-Token", TOKEN), ("X-Gitlab-Event", "Push Hook")],
            "",
            0,
        ),
        (
            "gitlab wrong token",
            ReceiverType::Gitlab,
            vec![],
            vec![("X-Gitlab-Token", "x")],
            "",
            401,
        ),
        (
            "gitlab event filtered",
            ReceiverType::Gitlab,
            vec!["Tag Push Hook"],
            vec![("X-Gitlab-Token", TOKEN), ("X-Gitlab-Event", "Push Hook")],
            "",
            400,
        ),
        (
            "gitlab event allowed",
            ReceiverType::Gitlab,
            vec!["push hook"],
            vec![("X-Gitlab-Token", TOKEN), ("X-Gitlab-Event", "Push Hook")],
            "",
            0,
        ),
        (
            "unsupported type",
            ReceiverType::Gcr,
            vec![],
            vec![],
            "",
            400,
        ),
    ];
    for (case, t, events, headers, body, want) in cases {
        let got = validate(
            "flux-system/r",
            &spec(t, &events),
            TOKEN,
            &req(&headers, body),
        );
        match got {
            Ok(()) => assert_eq!(want, 0, "{case}: accepted, wanted {want}"),
            Err(e) => {
                assert_eq!(e.status_code(), want, "{case}: {e}");
                assert!(
                    e.to_string().starts_with("receiver flux-system/r: "),
                    "{case}: {e}"
                );
                assert!(
                    !e.to_string().contains(TOKEN),
                    "{case}: message leaks the token: {e}"
                );
            }
        }
    }
}

fn receiver(suspend: Option<bool>) -> Receiver {
    let mut r = Receiver::new("harbor-receiver", spec(ReceiverType::Harbor, &[]));
    r.metadata.namespace = Some("flux-system".into());
    r.metadata.generation = Some(3);
    r.spec.suspend = suspend;
    r
}

#[test]
fn reconcile_sets_path_and_ready() {
    let clock = FixedClock::new(Timestamp::from_second(1_700_000_000).unwrap());
    let mut r = receiver(None);
    assert!(!is_serving(&r));
    let status = reconcile(&r, Ok(TOKEN.into()), &clock);
    let path = "/hook/323fb1eefac7529138eb460f3e69b004496f7a3cefe148ca1bbc62d39fa2d685";
    assert_eq!(status.webhook_path.as_deref(), Some(path));
    let ready = status::get(&status.conditions, condition::READY).unwrap();
    assert_eq!(ready.status, "True");
    assert_eq!(
        ready.message,
        format!("Receiver initialized for path: {path}")
    );
    assert_eq!(status.observed_generation, Some(3));
    r.status = Some(status);
    assert!(is_serving(&r));

    let status = reconcile(
        &r,
        token_from_secret("webhook-token", &BTreeMap::new()),
        &clock,
    );
    let ready = status::get(&status.conditions, condition::READY).unwrap();
    assert_eq!(ready.status, "False");
    assert_eq!(ready.reason, reason::TOKEN_NOT_FOUND);
    assert!(
        ready.message.contains("'webhook-token'"),
        "{}",
        ready.message
    );
    assert_eq!(status.webhook_path, None);
    r.status = Some(status);
    assert!(!is_serving(&r));

    let mut s = receiver(Some(true));
    s.status = Some(reconcile(&s, Ok(TOKEN.into()), &clock));
    assert!(!is_serving(&s));
}

#[test]
fn token_from_secret_reads_the_token_key() {
    let data = BTreeMap::from([("token".to_string(), b"abc".to_vec())]);
    assert_eq!(token_from_secret("s", &data).unwrap(), "abc");
    let bad = BTreeMap::from([("token".to_string(), vec![0xff])]);
    assert!(token_from_secret("s", &bad).is_err());
}

fn candidate(kind: &str, ns: &str, name: &str, labels: &[(&str, &str)]) -> Candidate {
    Candidate {
        kind: kind.into(),
        namespace: ns.into(),
        name: name.into(),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn reference(
    kind: &str,
    name: &str,
    ns: Option<&str>,
    labels: &[(&str, &str)],
) -> CrossNamespaceObjectReference {
    CrossNamespaceObjectReference {
        kind: kind.into(),
        name: name.into(),
        namespace: ns.map(str::to_string),
        match_labels: (!labels.is_empty()).then(|| {
            labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        }),
        ..Default::default()
    }
}

#[test]
fn resources_by_name_and_by_labels() {
    let candidates = vec![
        candidate("ImageRepository", "flux-system", "a", &[("team", "x")]),
        candidate("ImageRepository", "flux-system", "b", &[("team", "y")]),
        candidate("ImageRepository", "apps", "c", &[("team", "x")]),
        candidate("ImagePolicy", "flux-system", "a", &[("team", "x")]),
    ];
    let mut s = spec(ReceiverType::Generic, &[]);
    s.resources = vec![
        reference("ImageRepository", "b", None, &[]),
        reference("ImageRepository", "*", None, &[("team", "x")]),
        reference("ImageRepository", "*", Some("apps"), &[("team", "x")]),
        reference("ImageRepository", "missing", None, &[]),
        reference("ImageRepository", "*", None, &[]),
    ];
    let (targets, errors) = resolve_resources("flux-system/r", "flux-system", &s, &candidates);
    let names: Vec<String> = targets
        .iter()
        .map(|t| format!("{}/{}/{}", t.kind, t.namespace, t.name))
        .collect();
    assert_eq!(
        names,
        [
            "ImageRepository/apps/c",
            "ImageRepository/flux-system/a",
            "ImageRepository/flux-system/b"
        ]
    );
    assert_eq!(errors.len(), 2);
    assert!(errors.iter().all(|e| e.status_code() == 500));
    assert!(
        errors[0]
            .to_string()
            .contains("ImageRepository/flux-system/missing")
    );
    assert!(errors[1].to_string().contains("matchLabels"));
}

/// Issue 13 item 10: an empty token would make the webhook path
/// (sha256 of token, name and namespace) guessable and the generic type
/// unauthenticated: the Receiver is refused, and a request is too.
#[test]
fn an_empty_token_is_refused() {
    for empty in [&b""[..], b"  \n"] {
        let data = BTreeMap::from([("token".to_string(), empty.to_vec())]);
        let err = token_from_secret("webhook-token", &data).unwrap_err();
        assert_eq!(
            err.message(),
            "invalid 'webhook-token' secret data: 'token' is empty; a Receiver needs a token to authenticate requests"
        );
        let r = receiver(None);
        let status = reconcile(&r, Err(err), &FixedClock::new(Timestamp::UNIX_EPOCH));
        let ready = status::get(&status.conditions, condition::READY).unwrap();
        assert_eq!(ready.status, "False");
        assert_eq!(ready.reason, reason::TOKEN_NOT_FOUND);
        assert_eq!(status.webhook_path, None);
    }
    let spec = spec(ReceiverType::Generic, &[]);
    let req = WebhookRequest::default();
    let err = validate("default/receiver", &spec, "", &req).unwrap_err();
    assert!(err.to_string().contains("no token"), "{err}");
}
