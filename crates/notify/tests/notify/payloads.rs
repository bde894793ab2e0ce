//! Each provider type's request, as received by the sink, against the
//! bytes notification-controller v1.9.3 (commit 2e46958, the v1.9.3
//! changelog merge) builds for the same event. The Go lines cited are in
//! `internal/notifier/`. Where Flux ranges over the metadata map (random
//! order in Go) the test event has one key, so the order is fixed.

use ferroflux_api::notification::ProviderType;
use ferroflux_notify::payload::ApiBases;
use ferroflux_notify::target::ProviderSecrets;
use sha1::Digest as _;

use crate::sink::Sink;
use crate::*;

const HMAC_KEY: &str = "7152fed34dd6149a7c75a276c510da27cb6f82b0";

/// The signed body of forwarder_test.go (`json.Marshal(event)`).
const EVENT_JSON: &str = r#"{"involvedObject":{"kind":"GitRepository","namespace":"gitops-system","name":"webapp"},"severity":"info","timestamp":"2022-09-30T06:40:29Z","message":"message","reason":"reason","metadata":{"test":"metadata"},"reportingController":"source-controller","reportingInstance":"source-controller-xyz"}"#;

async fn one(sink: &Sink, t: Target, opts: &NotifierOptions) -> sink::Recorded {
    let before = sink.requests().len();
    let report = send(t, flux_test_event(), opts).await;
    assert_eq!(report.error, None, "{report:?}");
    sink.wait_for(before + 1).await[before].clone()
}

#[tokio::test]
async fn generic_posts_the_event_with_gotk_component_and_secret_headers() {
    let sink = Sink::http().await;
    let t = target(
        &spec(ProviderType::Generic, &sink.url("/hook")),
        with_secret(&[("headers", "Authorization: token\nX-Team: platform\n")]),
    );
    let r = one(&sink, t, &fast()).await;
    assert_eq!((r.method.as_str(), r.target.as_str()), ("POST", "/hook"));
    // forwarder.go:83 gotk-component; then the Secret's headers.
    assert_eq!(r.body_text(), EVENT_JSON);
    assert_eq!(r.header("Content-Type"), Some("application/json"));
    assert_eq!(r.header("gotk-component"), Some("source-controller"));
    assert_eq!(r.header("Authorization"), Some("token"));
    assert_eq!(r.header("X-Team"), Some("platform"));
    assert_eq!(r.header("X-Signature"), None);
}

#[tokio::test]
async fn generic_hmac_signs_the_exact_body() {
    let sink = Sink::http().await;
    let t = target(
        &spec(ProviderType::GenericHmac, &sink.url("/hook")),
        with_secret(&[
            ("token", HMAC_KEY),
            (
                "headers",
                "X-Signature: should be overwritten with actual signature\n",
            ),
        ]),
    );
    let r = one(&sink, t, &fast()).await;
    assert_eq!(r.body_text(), EVENT_JSON);
    // forwarder_test.go:92, set last at forwarder.go:88 over any header.
    assert_eq!(
        r.header("X-Signature"),
        Some("sha256=65b018549b1254e7226d1c08f9567ee45bc9de0fc4e7b1a40253f9a018b08be7")
    );
}

#[tokio::test]
async fn slack_webhook_and_bot_token_with_channel() {
    let sink = Sink::http().await;
    let t = target(
        &spec(ProviderType::Slack, &sink.url("/services/T/B/X")),
        ProviderSecrets::default(),
    );
    let r = one(&sink, t, &fast()).await;
    // slack.go:88-131: SlackPayload, fallback "<author>: <first line>",
    // color good, author lower(kind)/name.namespace, one field per key.
    assert_eq!(
        r.body_text(),
        r#"{"channel":"","username":"source-controller","icon_url":"","icon_emoji":"","attachments":[{"fallback":"gitrepository/webapp.gitops-system: message","color":"good","author_name":"gitrepository/webapp.gitops-system","text":"message","mrkdwn_in":["text"],"fields":[{"title":"test","value":"metadata","short":false}]}]}"#
    );
    assert_eq!(r.header("Authorization"), None);

    let mut bot = spec(ProviderType::Slack, &sink.url("/api/chat.postMessage"));
    bot.channel = Some("general".into());
    bot.username = Some("flux".into());
    let t = target(&bot, with_secret(&[("token", "xoxb-bot-token")]));
    let mut e = flux_test_event();
    e.severity = Severity::Error;
    e.message = "line one\nline two".into();
    let report = send(t, e, &fast()).await;
    assert_eq!(report.error, None);
    let r = sink.wait_for(2).await[1].clone();
    // slack.go:124 the token as a Bearer.
    assert_eq!(r.header("Authorization"), Some("Bearer xoxb-bot-token"));
    assert_eq!(
        r.body_text(),
        r#"{"channel":"general","username":"flux","icon_url":"","icon_emoji":"","attachments":[{"fallback":"gitrepository/webapp.gitops-system: line one","color":"danger","author_name":"gitrepository/webapp.gitops-system","text":"line one\nline two","mrkdwn_in":["text"],"fields":[{"title":"test","value":"metadata","short":false}]}]}"#
    );
}

#[tokio::test]
async fn discord_appends_slack_to_the_path() {
    let sink = Sink::http().await;
    let t = target(
        &spec(ProviderType::Discord, &sink.url("/api/webhooks/1/tok")),
        ProviderSecrets::default(),
    );
    let r = one(&sink, t, &fast()).await;
    // discord.go:46-47.
    assert_eq!(r.target, "/api/webhooks/1/tok/slack");
    assert_eq!(
        r.body_text(),
        r#"{"channel":"","username":"source-controller","icon_url":"","icon_emoji":"","attachments":[{"fallback":"","color":"good","author_name":"gitrepository/webapp.gitops-system","text":"message","mrkdwn_in":["text"],"fields":[{"title":"test","value":"metadata","short":false}]}]}"#
    );
}

#[tokio::test]
async fn rocket_uses_the_spec_channel_and_teams_colours() {
    let sink = Sink::http().await;
    let mut s = spec(ProviderType::Rocket, &sink.url("/hooks/x"));
    s.channel = Some("ops".into());
    let r = one(&sink, target(&s, ProviderSecrets::default()), &fast()).await;
    // rocket.go:55-61: channel and username from the spec, #0076D7.
    assert_eq!(
        r.body_text(),
        r##"{"channel":"ops","username":"","icon_url":"","icon_emoji":"","attachments":[{"fallback":"","color":"#0076D7","author_name":"gitrepository/webapp.gitops-system","text":"message","mrkdwn_in":["text"],"fields":[{"title":"test","value":"metadata","short":false}]}]}"##
    );
}

#[tokio::test]
async fn msteams_adaptive_card_and_legacy_message_card() {
    let sink = Sink::http().await;
    let t = target(
        &spec(ProviderType::Msteams, &sink.url("/workflows/x")),
        ProviderSecrets::default(),
    );
    let r = one(&sink, t, &fast()).await;
    // teams.go:204 buildMSTeamsAdaptiveCardPayload (any host but
    // *.webhook.office.com).
    assert_eq!(
        r.body_text(),
        r#"{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","content":{"$schema":"http://adaptivecards.io/schemas/adaptive-card.json","type":"AdaptiveCard","version":"1.4","body":[{"type":"Container","items":[{"type":"TextBlock","text":"gitrepository/webapp.gitops-system","size":"large","weight":"bolder","wrap":true},{"type":"TextBlock","text":"message","wrap":true},{"type":"FactSet","facts":[{"title":"test","value":"metadata"}]}]}],"msteams":{"width":"Full"}}}]}"#
    );
    // teams.go:184: the legacy connector for *.webhook.office.com (built,
    // not sent: that host is not ours).
    let legacy = target(
        &spec(
            ProviderType::Msteams,
            "https://org.webhook.office.com/webhookb2/x",
        ),
        ProviderSecrets::default(),
    );
    let mut e = flux_test_event();
    e.severity = Severity::Error;
    let ferroflux_notify::Plan::One(r) =
        ferroflux_notify::payload::build(&legacy, &e, &ApiBases::default()).expect("builds")
    else {
        panic!("one request");
    };
    assert_eq!(
        String::from_utf8(r.body).expect("utf-8"),
        r#"{"@type":"MessageCard","@context":"http://schema.org/extensions","themeColor":"FF0000","summary":"gitrepository/webapp.gitops-system","sections":[{"activityTitle":"message","activitySubtitle":"gitrepository/webapp.gitops-system","facts":[{"name":"test","value":"metadata"}]}]}"#
    );
}

#[tokio::test]
async fn googlechat_card_with_go_escaping_for_errors() {
    let sink = Sink::http().await;
    let t = target(
        &spec(ProviderType::Googlechat, &sink.url("/v1/spaces/x")),
        ProviderSecrets::default(),
    );
    let mut e = flux_test_event();
    e.severity = Severity::Error;
    assert_eq!(send(t, e, &fast()).await.error, None);
    let r = sink.wait_for(1).await[0].clone();
    // google_chat.go:102 the red font, which json.Marshal escapes as
    // \u003c…\u003e; header, then one section per kind of widget.
    assert_eq!(
        r.body_text(),
        r##"{"cards":[{"header":{"title":"gitrepository/webapp.gitops-system","subtitle":"source-controller","imageUrl":null,"imageStyle":null},"sections":[{"header":"","widgets":[{"textParagraph":{"text":"\u003cfont color=\"#ff0000\"\u003emessage\u003c/font\u003e"},"keyValue":null}]},{"header":"","widgets":[{"textParagraph":null,"keyValue":{"topLabel":"test","content":"metadata","contentMultiline":false,"bottomLabel":null,"icon":null}}]}]}]}"##
    );
}

#[tokio::test]
async fn matrix_puts_to_the_room_with_a_sha1_transaction_id() {
    let sink = Sink::http().await;
    let mut s = spec(ProviderType::Matrix, &sink.url(""));
    s.channel = Some("!room:example.org".into());
    let r = one(
        &sink,
        target(&s, with_secret(&[("token", "syt_matrix")])),
        &fast(),
    )
    .await;
    // matrix.go:48 the URL, the txid = hex SHA-1 of json.Marshal(event).
    let txid = hex::encode(sha1::Sha1::digest(EVENT_JSON.as_bytes()));
    assert_eq!(r.method, "PUT");
    assert_eq!(
        r.target,
        format!("/_matrix/client/r0/rooms/!room:example.org/send/m.room.message/{txid}")
    );
    assert_eq!(r.header("Authorization"), Some("Bearer syt_matrix"));
    assert_eq!(
        r.body_text(),
        "{\"body\":\"💫 gitrepository/webapp.gitops-system\\nmessage\\n- test: metadata\\n\",\"msgtype\":\"m.text\"}"
    );
}

#[tokio::test]
async fn telegram_sends_escaped_markdown_to_the_bot_api() {
    let sink = Sink::http().await;
    let mut s = spec(ProviderType::Telegram, "");
    s.channel = Some("-1001:7".into());
    let opts = NotifierOptions {
        bases: ApiBases {
            telegram: sink.url(""),
            ..ApiBases::default()
        },
        ..fast()
    };
    let r = one(
        &sink,
        target(&s, with_secret(&[("token", "123:tg-token")])),
        &opts,
    )
    .await;
    assert_eq!(r.target, "/bot123:tg-token/sendMessage");
    // telegram.go:63 "*heading*\nmessage\nmetadata", channel chat:thread.
    assert_eq!(
        r.body_text(),
        r#"{"chat_id":"-1001","message_thread_id":"7","text":"*💫 gitrepository/webapp/gitops\\-system*\nmessage\n\\- *test*: metadata\n","parse_mode":"MarkdownV2"}"#
    );
}

#[tokio::test]
async fn alertmanager_fires_one_alert_with_basic_auth_over_the_token() {
    let sink = Sink::http().await;
    let t = target(
        &spec(ProviderType::Alertmanager, &sink.url("/api/v2/alerts")),
        with_secret(&[
            ("token", "am-token"),
            ("username", "am"),
            ("password", "pw"),
        ]),
    );
    let mut e = flux_test_event();
    e.metadata.insert("summary".into(), "prod cluster".into());
    assert_eq!(send(t, e, &fast()).await.error, None);
    let r = sink.wait_for(1).await[0].clone();
    // alertmanager.go:109 alertname = Flux + Kind + Title(reason); labels
    // and annotations are Go maps (keys sorted); endsAt the zero time.
    assert_eq!(
        r.body_text(),
        r#"[{"status":"firing","labels":{"alertname":"FluxGitRepositoryReason","kind":"GitRepository","name":"webapp","namespace":"gitops-system","reason":"reason","reportingcontroller":"source-controller","severity":"info","test":"metadata"},"annotations":{"message":"message","summary":"prod cluster"},"startsAt":"2022-09-30T06:40:29Z","endsAt":"0001-01-01T00:00:00Z"}]"#
    );
    assert_eq!(r.header("Authorization"), Some("Basic YW06cHc="));
}

const SHA: &str = "5394cb7f48332b2de7c17dd8b8384bbc84b7e738";
const STATUS_ID: &str = "kustomization/webapp/0c9c2e41";

fn status_event() -> Event {
    let mut e = flux_test_event();
    e.involved_object.kind = "Kustomization".into();
    e.reason = "ReconciliationSucceeded".into();
    e.reporting_controller = "kustomize-controller".into();
    e.metadata.clear();
    e.metadata
        .insert("revision".into(), format!("main@sha1:{SHA}"));
    e
}

fn status_target(t: ProviderType, address: &str, token: &str) -> Target {
    let mut target = target(&spec(t, address), with_secret(&[("token", token)]));
    target.commit_status = STATUS_ID.into();
    target
}

#[tokio::test]
async fn github_lists_then_creates_the_status_once() {
    let sink = Sink::http().await;
    let t = status_target(
        ProviderType::Github,
        &sink.url("/org/repo.git"),
        "ghp_token",
    );
    assert_eq!(send(t.clone(), status_event(), &fast()).await.error, None);
    let r = sink.wait_for(2).await;
    // github.go:78 ListStatuses (per_page 50), github.go:92 CreateStatus;
    // a non-github.com host is GitHub Enterprise (/api/v3/).
    assert_eq!(r[0].method, "GET");
    assert_eq!(
        r[0].target,
        format!("/api/v3/repos/org/repo/commits/{SHA}/statuses?per_page=50")
    );
    assert_eq!(
        r[1].target,
        format!("/api/v3/repos/org/repo/statuses/{SHA}")
    );
    assert_eq!(r[1].header("Authorization"), Some("Bearer ghp_token"));
    assert_eq!(
        r[1].body_text(),
        format!(
            r#"{{"state":"success","description":"reconciliation succeeded","context":"{STATUS_ID}"}}"#
        )
    );
    // The same status already there (duplicateGithubStatus): no POST.
    sink.answer(
        "/api/v3/repos/org/repo/commits/",
        200,
        &format!(
            r#"[{{"context":"{STATUS_ID}","state":"success","description":"reconciliation succeeded"}}]"#
        ),
    );
    assert_eq!(send(t, status_event(), &fast()).await.error, None);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let r = sink.requests();
    assert_eq!(r.len(), 3, "{r:?}");
    assert_eq!(r[2].method, "GET");
}

#[tokio::test]
async fn gitlab_sets_the_status_of_the_project_path() {
    let sink = Sink::http().await;
    let t = status_target(
        ProviderType::Gitlab,
        &sink.url("/group/sub/repo.git"),
        "glpat",
    );
    let mut e = status_event();
    e.severity = Severity::Error;
    e.reason = "HealthCheckFailed".into();
    assert_eq!(send(t, e, &fast()).await.error, None);
    let r = sink.wait_for(2).await;
    // gitlab.go:108 GetCommitStatuses by name, gitlab.go:120 SetCommitStatus.
    assert_eq!(
        r[0].target,
        format!(
            "/api/v4/projects/group%2Fsub%2Frepo/repository/commits/{SHA}/statuses?name=kustomization%2Fwebapp%2F0c9c2e41"
        )
    );
    assert_eq!(
        r[1].target,
        format!("/api/v4/projects/group%2Fsub%2Frepo/statuses/{SHA}")
    );
    assert_eq!(r[1].header("PRIVATE-TOKEN"), Some("glpat"));
    assert_eq!(
        r[1].body_text(),
        format!(r#"{{"state":"failed","name":"{STATUS_ID}","description":"health check failed"}}"#)
    );
}

#[tokio::test]
async fn gitea_creates_the_status_with_an_empty_target_url() {
    let sink = Sink::http().await;
    let t = status_target(ProviderType::Gitea, &sink.url("/org/repo"), "gitea-token");
    let mut e = status_event();
    e.reason = "Progressing".into();
    assert_eq!(send(t, e, &fast()).await.error, None);
    let r = sink.wait_for(2).await;
    // gitea.go:107 CreateStatus; Progressing is "pending" for gitea only.
    assert_eq!(
        r[1].target,
        format!("/api/v1/repos/org/repo/statuses/{SHA}")
    );
    assert_eq!(r[1].header("Authorization"), Some("token gitea-token"));
    assert_eq!(
        r[1].body_text(),
        format!(
            r#"{{"state":"pending","target_url":"","description":"progressing","context":"{STATUS_ID}"}}"#
        )
    );
}

#[tokio::test]
async fn bitbucket_keys_the_status_by_the_sha1_of_its_id() {
    let sink = Sink::http().await;
    let t = status_target(
        ProviderType::Bitbucket,
        "https://bitbucket.org/org/repo",
        "user:app-password",
    );
    let opts = NotifierOptions {
        bases: ApiBases {
            bitbucket: sink.url("/2.0"),
            ..ApiBases::default()
        },
        ..fast()
    };
    let key = hex::encode(sha1::Sha1::digest(STATUS_ID.as_bytes()));
    sink.answer("/2.0/repositories/", 404, r#"{"type":"error"}"#);
    assert_eq!(send(t, status_event(), &opts).await.error, None);
    let r = sink.wait_for(2).await;
    let base = format!("/2.0/repositories/org/repo/commit/{SHA}/statuses/build");
    assert_eq!(r[0].target, format!("{base}/{key}"));
    assert_eq!(r[1].target, base);
    assert_eq!(
        r[1].header("Authorization"),
        Some("Basic dXNlcjphcHAtcGFzc3dvcmQ=")
    );
    // bitbucket.go:122-128 CommitStatusOptions.
    assert_eq!(
        r[1].body_text(),
        format!(
            r#"{{"key":"{key}","url":"https://bitbucket.org","state":"SUCCESSFUL","name":"kustomization/webapp","description":"reconciliation succeeded"}}"#
        )
    );
}
