use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::event::{Event, ObjectRef, Severity};
use crate::target::Target;

fn target(t: ProviderType, address: &str) -> Target {
    Target {
        provider: "ns/p".into(),
        provider_type: t,
        address: address.into(),
        address_from_secret: false,
        channel: String::new(),
        username: String::new(),
        token: String::new(),
        basic: None,
        headers: BTreeMap::new(),
        proxy: None,
        tls: None,
        timeout: Duration::from_secs(15),
        commit_status: String::new(),
    }
}

fn event() -> Event {
    let mut e = Event::new(
        ObjectRef {
            kind: "Kustomization".into(),
            namespace: "flux-system".into(),
            name: "apps".into(),
            ..Default::default()
        },
        Severity::Error,
        jiff::Timestamp::UNIX_EPOCH,
        "HealthCheckFailed",
        "health check failed",
    );
    e.metadata
        .insert("revision".into(), format!("main@sha1:{}", "a".repeat(40)));
    e
}

#[test]
fn reasons_become_flux_descriptions() {
    // util_test.go's cases.
    for (reason, want) in [
        ("ReconciliationSucceeded", "reconciliation succeeded"),
        ("HealthCheckFailed", "health check failed"),
        ("GitOperationFailed", "git operation failed"),
        ("HTTPRequestFailed", "http request failed"),
        ("Stage2Done", "stage 2 done"),
    ] {
        assert_eq!(describe_reason(reason), want, "{reason}");
    }
}

#[test]
fn commits_are_taken_from_revisions() {
    let sha = "a".repeat(40);
    assert_eq!(commit_of(&format!("main@sha1:{sha}")).expect("ok"), sha);
    assert_eq!(commit_of(&format!("main/{sha}")).expect("ok"), sha);
    assert_eq!(commit_of(&sha).expect("ok"), sha);
    let e = commit_of("sha256:abc").expect_err("not a commit");
    assert_eq!(
        e.to_string(),
        "failed to extract commit hash from 'sha256:abc' revision"
    );
}

#[test]
fn git_addresses_parse_as_flux_parses_them() {
    assert_eq!(
        git_address("https://github.com/org/repo.git").expect("ok"),
        ("https://github.com".into(), "org/repo".into())
    );
    assert_eq!(
        git_address("ssh://git@gitlab.example:2222/group/sub/repo").expect("ok"),
        (
            "https://gitlab.example:2222".into(),
            "group/sub/repo".into()
        )
    );
    assert_eq!(
        git_address("git@github.com:org/repo.git").expect("ok"),
        ("https://github.com".into(), "org/repo".into())
    );
    assert!(git_address("not a url").is_err());
}

#[test]
fn telegram_escapes_markdown_v2() {
    // telegram_test.go: every special character gets a backslash.
    assert_eq!(
        telegram_escape("a.b-c_d[e]f(g)h~i>j`k#l+m=n|o{p}q!r*s\\"),
        "a\\.b\\-c\\_d\\[e\\]f\\(g\\)h\\~i\\>j\\`k\\#l\\+m\\=n\\|o\\{p\\}q\\!r\\*s\\\\"
    );
}

#[test]
fn title_case_lowers_the_rest_of_the_word() {
    assert_eq!(title_case("BuildFailed"), "Buildfailed");
    assert_eq!(title_case("info"), "Info");
}

#[test]
fn setup_errors() {
    let bases = ApiBases::default();
    let e = build(
        &target(ProviderType::GenericHmac, "https://x/h"),
        &event(),
        &bases,
    )
    .expect_err("no key");
    assert_eq!(e, TargetError::HmacKeyEmpty);
    let e = build(&target(ProviderType::Slack, "not a url"), &event(), &bases)
        .expect_err("bad address");
    assert_eq!(
        e.to_string(),
        "invalid Slack hook URL not a url: not an absolute URL"
    );
    let mut secret = target(ProviderType::Slack, "hooks/secret-path");
    secret.address_from_secret = true;
    let e = build(&secret, &event(), &bases).expect_err("bad address");
    assert!(!e.to_string().contains("secret-path"), "{e}");
    let e = build(&target(ProviderType::Webex, "https://x"), &event(), &bases)
        .expect_err("unsupported");
    assert_eq!(
        e.to_string(),
        "provider type 'webex' is not supported by ferroflux yet"
    );
    let e = build(
        &target(ProviderType::Telegram, "https://x"),
        &event(),
        &bases,
    )
    .expect_err("no channel");
    assert_eq!(e.to_string(), "empty Telegram channel");
}

#[test]
fn commit_status_errors() {
    let bases = ApiBases::default();
    let mut t = target(ProviderType::Github, "https://github.com/org/repo");
    let e = build(&t, &event(), &bases).expect_err("no id");
    assert_eq!(e.to_string(), "commit status cannot be empty");
    t.commit_status = "kustomization/apps/0c9c2e41".into();
    let e = build(&t, &event(), &bases).expect_err("no token");
    assert_eq!(e.to_string(), "github token cannot be empty");
    t.token = "tok".into();
    let mut no_rev = event();
    no_rev.metadata.clear();
    let e = build(&t, &no_rev, &bases).expect_err("no revision");
    assert_eq!(e.to_string(), "missing revision metadata");
    let mut deep = t.clone();
    deep.address = "https://github.com/org/sub/repo".into();
    let e = build(&deep, &event(), &bases).expect_err("three parts");
    assert_eq!(e.to_string(), "invalid repository id \"org/sub/repo\"");
    let mut bb = t.clone();
    bb.provider_type = ProviderType::Bitbucket;
    let e = build(&bb, &event(), &bases).expect_err("token format");
    assert_eq!(
        e.to_string(),
        "invalid token format, expected to be <user>:<password>"
    );
    let mut progressing = event();
    progressing.reason = "Progressing".into();
    assert_eq!(build(&t, &progressing, &bases).expect("ok"), Plan::Nothing);
}

#[test]
fn request_debug_shows_no_token() {
    let mut t = target(ProviderType::Telegram, "");
    t.channel = "chat".into();
    t.token = "123:bot-secret".into();
    let Plan::One(r) = build(&t, &event(), &ApiBases::default()).expect("ok") else {
        panic!("one request");
    };
    assert!(r.url.contains("bot-secret"));
    assert!(!format!("{r:?}").contains("bot-secret"));
}

#[test]
fn duplicates_are_recognised_as_flux_does() {
    let d = Duplicate::Context {
        context: "id".into(),
        state: "success".into(),
        description: "ok".into(),
    };
    assert!(d.found_in(br#"[{"context":"other","state":"failure","description":"x"},{"context":"id","state":"success","description":"ok"}]"#));
    assert!(!d.found_in(br#"[{"context":"id","state":"failure","description":"ok"},{"context":"id","state":"success","description":"ok"}]"#));
    assert!(!d.found_in(b"not json"));
    let b = Duplicate::Bitbucket {
        state: "SUCCESSFUL".into(),
        description: "ok".into(),
    };
    assert!(b.found_in(br#"{"state":"SUCCESSFUL","description":"ok"}"#));
    assert!(!b.found_in(b""));
}

#[test]
fn only_alertmanager_sends_the_secret_basic_auth() {
    let bases = ApiBases::default();
    for (t, want) in [
        (ProviderType::Generic, None),
        (ProviderType::Slack, None),
        (ProviderType::Msteams, None),
        (ProviderType::Alertmanager, Some("Basic dTpw")),
    ] {
        let mut target = target(t, "https://hooks.example/x");
        target.basic = Some(("u".into(), "p".into()));
        let Plan::One(r) = build(&target, &event(), &bases).expect("builds") else {
            panic!("one request");
        };
        assert_eq!(r.header("Authorization"), want, "{t}");
    }
}

#[test]
fn teams_adaptive_card_puts_summary_first_and_colours_errors() {
    // teams.go buildMSTeamsAdaptiveCardPayload: `summary` first, then the
    // keys sorted; an error's message TextBlock gets color "attention"
    // between text and wrap (the struct's field order).
    let mut e = event();
    e.metadata.insert("summary".into(), "prod".into());
    e.metadata.insert("a".into(), "1".into());
    let Plan::One(r) = build(
        &target(ProviderType::Msteams, "https://x.example/hook"),
        &e,
        &ApiBases::default(),
    )
    .expect("builds") else {
        panic!("one request");
    };
    let body = String::from_utf8(r.body).expect("utf-8");
    assert!(
        body.contains(
            r#"{"type":"TextBlock","text":"health check failed","color":"attention","wrap":true}"#
        ),
        "{body}"
    );
    assert!(
        body.contains(&format!(
            r#""facts":[{{"title":"summary","value":"prod"}},{{"title":"a","value":"1"}},{{"title":"revision","value":"main@sha1:{}"}}]"#,
            "a".repeat(40)
        )),
        "{body}"
    );
}
