//! The HTTP requests each provider type sends for an event, as Flux's
//! `internal/notifier/*.go` builds them. Chat and alerting bodies are Go's
//! `json.Marshal` of Flux's structs (field order, `omitempty`, escaping);
//! where Flux ranges over the metadata map (random order in Go) we send the
//! keys sorted. Commit statuses list the commit's statuses first and post
//! only when the same id does not already say the same thing.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use ferroflux_api::notification::ProviderType;
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::{Value, json};
use sha1::Digest as _;

use crate::event::{Event, Severity, go_json};
use crate::target::{Target, TargetError};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
}

/// How a response is judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// Any 2xx.
    Success,
    /// 2xx and Slack's `{"ok":true}` (`chat.postMessage`).
    SlackOk,
    /// 2xx, or 404 meaning "no status yet" (Bitbucket's GET of one status).
    SuccessOrNotFound,
}

/// One HTTP request. Debug shows the method and the host only: URLs and
/// headers may carry tokens.
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub check: Check,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = url::Url::parse(&self.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("host", &host)
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

impl Request {
    fn post(url: impl Into<String>, body: Vec<u8>) -> Request {
        Request {
            method: Method::Post,
            url: url.into(),
            headers: vec![("Content-Type".into(), "application/json".into())],
            body,
            check: Check::Success,
        }
    }

    fn get(url: impl Into<String>) -> Request {
        Request {
            method: Method::Get,
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
            check: Check::Success,
        }
    }

    /// Set a header, replacing one of the same name (Go's `Header.Set`).
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value.into()));
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How an existing commit status is recognised as the same.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Duplicate {
    /// github, gitea: the first listed status with this context decides.
    Context {
        context: String,
        state: String,
        description: String,
    },
    /// gitlab: any listed status with the same sha, status, description
    /// and name.
    GitLab {
        sha: String,
        state: String,
        name: String,
        description: String,
    },
    /// bitbucket: the one status of this key has the same state and
    /// description.
    Bitbucket { state: String, description: String },
}

impl Duplicate {
    /// Whether the listing answered with `body` already holds the status.
    pub fn found_in(&self, body: &[u8]) -> bool {
        let Ok(v) = serde_json::from_slice::<Value>(body) else {
            return false;
        };
        let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        match self {
            Duplicate::Context {
                context,
                state,
                description,
            } => {
                for st in v.as_array().into_iter().flatten() {
                    let (Some(c), Some(st_), Some(d)) =
                        (s(st, "context"), s(st, "state"), s(st, "description"))
                    else {
                        continue;
                    };
                    if c.is_empty() || st_.is_empty() || d.is_empty() {
                        continue;
                    }
                    if &c == context {
                        return &st_ == state && &d == description;
                    }
                }
                false
            }
            Duplicate::GitLab {
                sha,
                state,
                name,
                description,
            } => v.as_array().into_iter().flatten().any(|st| {
                s(st, "sha").as_ref() == Some(sha)
                    && s(st, "status").as_ref() == Some(state)
                    && s(st, "description").as_ref() == Some(description)
                    && s(st, "name").as_ref() == Some(name)
            }),
            Duplicate::Bitbucket { state, description } => {
                s(&v, "state").as_ref() == Some(state)
                    && s(&v, "description").as_deref().unwrap_or("") == description
            }
        }
    }
}

/// What delivering one event to one Provider takes.
#[derive(Clone, Debug, PartialEq)]
pub enum Plan {
    /// Nothing (a commit-status provider skips `Progressing`).
    Nothing,
    One(Request),
    /// List the commit's statuses, then post unless [`Duplicate`] says it
    /// is there already.
    CommitStatus {
        list: Request,
        post: Request,
        duplicate: Duplicate,
    },
}

/// Fixed API hosts of SaaS providers; tests point them at a local sink.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiBases {
    /// `https://api.telegram.org` (Flux ignores a telegram `address`).
    pub telegram: String,
    /// `https://api.bitbucket.org/2.0` (Bitbucket Cloud).
    pub bitbucket: String,
}

impl Default for ApiBases {
    fn default() -> Self {
        ApiBases {
            telegram: "https://api.telegram.org".into(),
            bitbucket: "https://api.bitbucket.org/2.0".into(),
        }
    }
}

/// The requests `target` sends for `event` (metadata already combined).
pub fn build(target: &Target, event: &Event, bases: &ApiBases) -> Result<Plan, TargetError> {
    use ProviderType as T;
    match target.provider_type {
        T::Generic | T::GenericHmac => generic(target, event),
        T::Slack => slack(target, event),
        T::Discord => discord(target, event),
        T::Rocket => rocket(target, event),
        T::Msteams => msteams(target, event),
        T::Googlechat => googlechat(target, event),
        T::Matrix => matrix(target, event),
        T::Telegram => telegram(target, event, bases),
        T::Alertmanager => alertmanager(target, event),
        T::Github | T::Gitlab | T::Gitea | T::Bitbucket => commit_status(target, event, bases),
        other => Err(TargetError::Unsupported {
            provider_type: other,
        }),
    }
}

/// `url.ParseRequestURI`: an absolute URL (or an absolute path).
fn request_uri(target: &Target, what: &'static str) -> Result<String, TargetError> {
    let a = &target.address;
    let ok = url::Url::parse(a).is_ok() || (a.starts_with('/') && !a.contains(' '));
    if ok {
        Ok(a.clone())
    } else {
        Err(TargetError::InvalidAddress {
            what,
            address: target.shown_address(),
            detail: if a.is_empty() {
                "empty address".into()
            } else {
                "not an absolute URL".into()
            },
        })
    }
}

/// forwarder.go: the event itself, `gotk-component`, the Secret's headers,
/// and for generic-hmac `X-Signature: sha256=<hex HMAC of the body>`.
fn generic(t: &Target, e: &Event) -> Result<Plan, TargetError> {
    let url = request_uri(t, "hook")?;
    let hmac_key = (t.provider_type == ProviderType::GenericHmac).then_some(t.token.as_bytes());
    if hmac_key.is_some_and(<[u8]>::is_empty) {
        return Err(TargetError::HmacKeyEmpty);
    }
    let body = e.to_json();
    let mut r = Request::post(url, body);
    r.set("gotk-component", e.reporting_controller.clone());
    for (k, v) in &t.headers {
        r.set(k, v.clone());
    }
    if let Some(key) = hmac_key {
        r.set("X-Signature", format!("sha256={}", sign(&r.body, key)));
    }
    Ok(Plan::One(r))
}

/// Lowercase hex HMAC-SHA256 of `payload` with `key`.
pub fn sign(payload: &[u8], key: &[u8]) -> String {
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(payload);
    hex::encode(mac.finalize().into_bytes())
}

/// Basic auth from the Secret's `username` and `password`: of the types
/// here only alertmanager gets them from Flux's factory.
fn basic(t: &Target, r: &mut Request) {
    if let Some((u, p)) = &t.basic {
        let enc = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
        r.set("Authorization", format!("Basic {enc}"));
    }
}

#[derive(Serialize)]
struct SlackPayload<'a> {
    channel: &'a str,
    username: &'a str,
    icon_url: &'a str,
    icon_emoji: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<SlackAttachment<'a>>,
}

#[derive(Serialize)]
struct SlackAttachment<'a> {
    fallback: String,
    color: &'a str,
    author_name: String,
    text: &'a str,
    mrkdwn_in: [&'a str; 1],
    fields: Vec<SlackField<'a>>,
}

#[derive(Serialize)]
struct SlackField<'a> {
    title: &'a str,
    value: &'a str,
    short: bool,
}

fn slack_attachment<'a>(e: &'a Event, color: &'a str, fallback: bool) -> SlackAttachment<'a> {
    let author = e.object_title();
    SlackAttachment {
        fallback: if fallback {
            format!("{author}: {}", e.message.split('\n').next().unwrap_or(""))
        } else {
            String::new()
        },
        color,
        author_name: author,
        text: &e.message,
        mrkdwn_in: ["text"],
        fields: e
            .metadata
            .iter()
            .map(|(k, v)| SlackField {
                title: k,
                value: v,
                short: false,
            })
            .collect(),
    }
}

fn username_or_controller<'a>(t: &'a Target, e: &'a Event) -> &'a str {
    if t.username.is_empty() {
        &e.reporting_controller
    } else {
        &t.username
    }
}

/// slack.go: the token as a Bearer (bot tokens with `chat.postMessage`,
/// whose answer must be `{"ok":true}`).
fn slack(t: &Target, e: &Event) -> Result<Plan, TargetError> {
    let url = request_uri(t, "Slack hook")?;
    let color = if e.severity == Severity::Error {
        "danger"
    } else {
        "good"
    };
    let payload = SlackPayload {
        channel: &t.channel,
        username: username_or_controller(t, e),
        icon_url: "",
        icon_emoji: "",
        attachments: vec![slack_attachment(e, color, true)],
    };
    let mut r = Request::post(url.clone(), go_json(&payload));
    if !t.token.is_empty() {
        r.set("Authorization", format!("Bearer {}", t.token));
    }
    if url == "https://slack.com/api/chat.postMessage" {
        r.check = Check::SlackOk;
    }
    Ok(Plan::One(r))
}

/// discord.go: Slack's body to `<address>/slack`, no channel, no fallback.
fn discord(t: &Target, e: &Event) -> Result<Plan, TargetError> {
    let mut url = request_uri(t, "Discord hook")?;
    if !url.ends_with("/slack") {
        let mut u = url::Url::parse(&url).map_err(|e| TargetError::InvalidAddress {
            what: "Discord hook",
            address: t.shown_address(),
            detail: e.to_string(),
        })?;
        let path = format!("{}/slack", u.path().trim_end_matches('/'));
        u.set_path(&path);
        url = u.to_string();
    }
    let color = if e.severity == Severity::Error {
        "danger"
    } else {
        "good"
    };
    let payload = SlackPayload {
        channel: "",
        username: username_or_controller(t, e),
        icon_url: "",
        icon_emoji: "",
        attachments: vec![slack_attachment(e, color, false)],
    };
    Ok(Plan::One(Request::post(url, go_json(&payload))))
}

/// rocket.go: Slack's body with the spec's channel and username as they
/// are, Teams' colours.
fn rocket(t: &Target, e: &Event) -> Result<Plan, TargetError> {
    let url = request_uri(t, "Rocket hook")?;
    let color = if e.severity == Severity::Error {
        "#FF0000"
    } else {
        "#0076D7"
    };
    let payload = SlackPayload {
        channel: &t.channel,
        username: &t.username,
        icon_url: "",
        icon_emoji: "",
        attachments: vec![slack_attachment(e, color, false)],
    };
    Ok(Plan::One(Request::post(url, go_json(&payload))))
}

/// teams.go: the legacy MessageCard for `*.webhook.office.com`, else an
/// Adaptive Card (facts: `summary` first, then the keys sorted).
fn msteams(t: &Target, e: &Event) -> Result<Plan, TargetError> {
    let url = request_uri(t, "MS Teams webhook")?;
    let host = url::Url::parse(&url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    let obj = e.object_title();
    let error = e.severity == Severity::Error;
    let body = if host.ends_with(".webhook.office.com") {
        let facts: Vec<Value> = e
            .metadata
            .iter()
            .map(|(k, v)| json!({"name": k, "value": v}))
            .collect();
        let card = json!({
            "@type": "MessageCard",
            "@context": "http://schema.org/extensions",
            "themeColor": if error { "FF0000" } else { "0076D7" },
            "summary": obj,
            "sections": [{"activityTitle": e.message, "activitySubtitle": obj, "facts": facts}],
        });
        reorder(&card, TEAMS_ORDER)
    } else {
        let mut facts: Vec<Value> = Vec::new();
        if let Some(s) = e.metadata.get("summary") {
            facts.push(json!({"title": "summary", "value": s}));
        }
        for (k, v) in e.metadata.iter().filter(|(k, _)| *k != "summary") {
            facts.push(json!({"title": k, "value": v}));
        }
        let mut message = json!({"type": "TextBlock", "text": e.message, "wrap": true});
        if error {
            message["color"] = json!("attention");
        }
        let mut factset = json!({"type": "FactSet"});
        if !facts.is_empty() {
            factset["facts"] = Value::Array(facts);
        }
        let card = json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [{
                        "type": "Container",
                        "items": [
                            {"type": "TextBlock", "text": obj, "size": "large", "weight": "bolder", "wrap": true},
                            message,
                            factset,
                        ],
                    }],
                    "msteams": {"width": "Full"},
                },
            }],
        });
        reorder(&card, TEAMS_ORDER)
    };
    Ok(Plan::One(Request::post(url, body)))
}

/// A JSON object whose keys keep the order given (Go structs marshal in
/// declaration order; serde_json's map here sorts).
struct Ordered(Vec<(&'static str, Value)>);

impl Serialize for Ordered {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// The field order of teams.go's structs (Go marshals in declaration
/// order; the body element's embedded structs follow its `type`).
const TEAMS_ORDER: &[&str] = &[
    "@type",
    "@context",
    "themeColor",
    "summary",
    "sections",
    "activityTitle",
    "activitySubtitle",
    "$schema",
    "type",
    "version",
    "body",
    "msteams",
    "attachments",
    "contentType",
    "content",
    "items",
    "text",
    "size",
    "weight",
    "color",
    "wrap",
    "facts",
    "name",
    "title",
    "value",
    "width",
];

/// google_chat.go: one card; the message red for errors; metadata as a
/// second section of key/value widgets.
fn googlechat(t: &Target, e: &Event) -> Result<Plan, TargetError> {
    let url = request_uri(t, "Google Chat hook")?;
    let text = if e.severity == Severity::Error {
        format!("<font color=\"#ff0000\">{}</font>", e.message)
    } else {
        e.message.clone()
    };
    let mut sections = vec![
        json!({"header": "", "widgets": [{"textParagraph": {"text": text}, "keyValue": null}]}),
    ];
    if !e.metadata.is_empty() {
        let widgets: Vec<Value> = e
            .metadata
            .iter()
            .map(|(k, v)| {
                json!({"textParagraph": null, "keyValue": {"topLabel": k, "content": v,
                    "contentMultiline": false, "bottomLabel": null, "icon": null}})
            })
            .collect();
        sections.push(json!({"header": "", "widgets": widgets}));
    }
    let payload = json!({"cards": [{
        "header": {"title": e.object_title(), "subtitle": e.reporting_controller,
                   "imageUrl": null, "imageStyle": null},
        "sections": sections,
    }]});
    // Go's field order: header before sections; title, subtitle, imageUrl,
    // imageStyle; header before widgets; textParagraph before keyValue;
    // topLabel, content, contentMultiline, bottomLabel, icon.
    let body = reorder(
        &payload,
        &[
            "header",
            "sections",
            "title",
            "subtitle",
            "imageUrl",
            "imageStyle",
            "widgets",
            "textParagraph",
            "keyValue",
            "text",
            "topLabel",
            "content",
            "contentMultiline",
            "bottomLabel",
            "icon",
        ],
    );
    Ok(Plan::One(Request::post(url, body)))
}

/// Go-marshal `v` with object keys in the order of `order` (keys not in
/// it last, sorted).
fn reorder(v: &Value, order: &[&str]) -> Vec<u8> {
    fn write(v: &Value, order: &[&str], out: &mut Vec<u8>) {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort_by_key(|k| {
                    (
                        order.iter().position(|o| o == k).unwrap_or(usize::MAX),
                        (*k).clone(),
                    )
                });
                out.push(b'{');
                for (i, k) in keys.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend(go_json(k.as_str()));
                    out.push(b':');
                    write(&m[k.as_str()], order, out);
                }
                out.push(b'}');
            }
            Value::Array(a) => {
                out.push(b'[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write(x, order, out);
                }
                out.push(b']');
            }
            other => out.extend(go_json(other)),
        }
    }
    let mut out = Vec::new();
    write(v, order, &mut out);
    out
}

/// matrix.go: PUT to the room with a transaction id = hex SHA-1 of the
/// event JSON.
fn matrix(t: &Target, e: &Event) -> Result<Plan, TargetError> {
    let base = request_uri(t, "Matrix homeserver")?;
    let txid = hex::encode(sha1::Sha1::digest(e.to_json()));
    let url = format!(
        "{base}/_matrix/client/r0/rooms/{}/send/m.room.message/{txid}",
        t.channel
    );
    let emoji = if e.severity == Severity::Error {
        "🚨"
    } else {
        "💫"
    };
    let metadata: String = e
        .metadata
        .iter()
        .map(|(k, v)| format!("- {k}: {v}\n"))
        .collect();
    let body = format!("{emoji} {}\n{}\n{metadata}", e.object_title(), e.message);
    let mut r = Request::post(
        url,
        reorder(
            &json!({"body": body, "msgtype": "m.text"}),
            &["body", "msgtype"],
        ),
    );
    r.method = Method::Put;
    // One request modifier per request in Flux: the last one (the token)
    // is the one kept.
    r.set("Authorization", format!("Bearer {}", t.token));
    Ok(Plan::One(r))
}

/// telegram.go: `sendMessage` of the bot `token` to `channel`
/// (`chat:thread`), MarkdownV2 escaped.
fn telegram(t: &Target, e: &Event, bases: &ApiBases) -> Result<Plan, TargetError> {
    if t.channel.is_empty() {
        return Err(TargetError::Invalid("empty Telegram channel".into()));
    }
    if t.token.is_empty() {
        return Err(TargetError::Invalid("empty Telegram token".into()));
    }
    let emoji = if e.severity == Severity::Error {
        "🚨"
    } else {
        "💫"
    };
    let o = &e.involved_object;
    let heading = format!(
        "{emoji} {}/{}/{}",
        o.kind.to_lowercase(),
        o.name,
        o.namespace
    );
    let metadata: String = e
        .metadata
        .iter()
        .map(|(k, v)| format!("\\- *{}*: {}\n", telegram_escape(k), telegram_escape(v)))
        .collect();
    let text = format!(
        "*{}*\n{}\n{metadata}",
        telegram_escape(&heading),
        telegram_escape(&e.message)
    );
    let (chat, thread) = match t.channel.split_once(':') {
        Some((c, th)) => (c.to_string(), Some(th.to_string())),
        None => (t.channel.clone(), None),
    };
    let mut fields = vec![("chat_id", json!(chat))];
    if let Some(th) = thread.filter(|th| !th.is_empty()) {
        fields.push(("message_thread_id", json!(th)));
    }
    fields.push(("text", json!(text)));
    fields.push(("parse_mode", json!("MarkdownV2")));
    let url = format!(
        "{}/bot{}/sendMessage",
        bases.telegram.trim_end_matches('/'),
        t.token
    );
    Ok(Plan::One(Request::post(url, go_json(&Ordered(fields)))))
}

/// Telegram MarkdownV2: a backslash before each special character.
pub fn telegram_escape(s: &str) -> String {
    const SPECIAL: &str = "\\.-_[]()~>`#+=|{}!*";
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if SPECIAL.contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// alertmanager.go: one firing alert; labels = metadata without `summary`
/// plus Flux's; `endsAt` always the zero time.
fn alertmanager(t: &Target, e: &Event) -> Result<Plan, TargetError> {
    let url = request_uri(t, "Alertmanager")?;
    let mut annotations = BTreeMap::new();
    annotations.insert("message".to_string(), e.message.clone());
    let mut labels = e.metadata.clone();
    if let Some(s) = labels.remove("summary") {
        annotations.insert("summary".to_string(), s);
    }
    let o = &e.involved_object;
    labels.insert(
        "alertname".into(),
        format!("Flux{}{}", o.kind, title_case(&e.reason)),
    );
    labels.insert("severity".into(), e.severity.as_str().into());
    labels.insert("reason".into(), e.reason.clone());
    labels.insert("kind".into(), o.kind.clone());
    labels.insert("name".into(), o.name.clone());
    labels.insert("namespace".into(), o.namespace.clone());
    labels.insert("reportingcontroller".into(), e.reporting_controller.clone());
    let starts = e.timestamp.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let alert = Ordered(vec![
        ("status", json!("firing")),
        ("labels", json!(labels)),
        ("annotations", json!(annotations)),
        ("startsAt", json!(starts)),
        ("endsAt", json!("0001-01-01T00:00:00Z")),
    ]);
    let mut body = b"[".to_vec();
    body.extend(go_json(&alert));
    body.push(b']');
    let mut r = Request::post(url, body);
    if !t.token.is_empty() {
        r.set("Authorization", format!("Bearer {}", t.token));
    }
    // Basic wins when both are set: its modifier is the later one.
    basic(t, &mut r);
    Ok(Plan::One(r))
}

/// x/text `cases.Title(language.Und)` on one word: the first letter upper,
/// the rest lower (`BuildFailed` → `Buildfailed`); words split at spaces.
fn title_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if c.is_whitespace() {
            start = true;
            out.push(c);
        } else if start {
            out.extend(c.to_uppercase());
            start = false;
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// `splitCamelcase` + lower-case, joined by spaces: `HealthCheckFailed` →
/// `health check failed`.
pub fn describe_reason(reason: &str) -> String {
    #[derive(PartialEq, Clone, Copy)]
    enum Class {
        Lower,
        Upper,
        Digit,
        Other,
    }
    let class = |c: char| {
        if c.is_lowercase() {
            Class::Lower
        } else if c.is_uppercase() {
            Class::Upper
        } else if c.is_numeric() {
            Class::Digit
        } else {
            Class::Other
        }
    };
    let mut runs: Vec<(Class, Vec<char>)> = Vec::new();
    for c in reason.chars() {
        let k = class(c);
        match runs.last_mut() {
            Some((last, run)) if *last == k => run.push(c),
            _ => runs.push((k, vec![c])),
        }
    }
    for i in 0..runs.len().saturating_sub(1) {
        if runs[i].0 == Class::Upper
            && runs[i + 1].0 == Class::Lower
            && let Some(c) = runs[i].1.pop()
        {
            runs[i + 1].1.insert(0, c);
        }
    }
    runs.iter()
        .filter(|(_, r)| !r.is_empty())
        .map(|(_, r)| r.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// `parseRevision`: the commit after the last `:` (`main@sha1:<hex>`), else
/// after the last `/` (`main/<hex>`); a SHA-1 or SHA-256 hex.
pub fn commit_of(revision: &str) -> Result<String, TargetError> {
    let sha = revision
        .rsplit_once(':')
        .or_else(|| revision.rsplit_once('/'))
        .map(|(_, s)| s)
        .unwrap_or(revision);
    if (sha.len() == 40 || sha.len() == 64) && sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(sha.to_string())
    } else {
        Err(TargetError::Invalid(format!(
            "failed to extract commit hash from '{revision}' revision"
        )))
    }
}

/// `parseGitAddress`: (`scheme://host`, `owner/repo`), ssh becoming https,
/// scp-like `git@host:owner/repo.git` understood.
pub fn git_address(address: &str) -> Result<(String, String), TargetError> {
    let bad = |d: &str| TargetError::Invalid(format!("failed parsing URL {address:?}: {d}"));
    let (scheme, host, path) = if address.contains("://") {
        let u = url::Url::parse(address).map_err(|e| bad(&e.to_string()))?;
        let host = match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => return Err(bad("no host")),
        };
        (u.scheme().to_string(), host, u.path().to_string())
    } else if let Some((userhost, path)) = address.split_once(':') {
        let host = userhost
            .rsplit_once('@')
            .map(|(_, h)| h)
            .unwrap_or(userhost);
        ("ssh".to_string(), host.to_string(), path.to_string())
    } else {
        return Err(bad("not a git URL"));
    };
    let scheme = if scheme == "ssh" {
        "https".to_string()
    } else {
        scheme
    };
    let id = path.trim_start_matches('/');
    let id = id.strip_suffix(".git").unwrap_or(id).to_string();
    Ok((format!("{scheme}://{host}"), id))
}

fn owner_repo(id: &str) -> Result<(String, String), TargetError> {
    match id.split('/').collect::<Vec<_>>()[..] {
        [o, r] => Ok((o.to_string(), r.to_string())),
        _ => Err(TargetError::Invalid(format!(
            "invalid repository id {id:?}"
        ))),
    }
}

/// github.go, gitlab.go, gitea.go, bitbucket.go.
fn commit_status(t: &Target, e: &Event, bases: &ApiBases) -> Result<Plan, TargetError> {
    use ProviderType as T;
    let kind = t.provider_type;
    if t.commit_status.is_empty() {
        return Err(TargetError::Invalid("commit status cannot be empty".into()));
    }
    let password = t.basic.as_ref().map(|(_, p)| p.as_str()).unwrap_or("");
    let token = if t.token.is_empty() {
        password
    } else {
        t.token.as_str()
    };
    if token.is_empty() {
        return Err(TargetError::Invalid(format!(
            "{kind} token cannot be empty"
        )));
    }
    let (host, id) = git_address(&t.address)?;
    let progressing = e.reason == "Progressing";
    if progressing && kind != T::Gitea {
        return Ok(Plan::Nothing);
    }
    let revision = e
        .revision()
        .ok_or_else(|| TargetError::Invalid("missing revision metadata".into()))?;
    let sha = commit_of(revision)?;
    let desc = describe_reason(&e.reason);
    let error = e.severity == Severity::Error;
    let id_ = t.commit_status.clone();
    match kind {
        T::Github => {
            let (o, r) = owner_repo(&id)?;
            let base = if host.ends_with("://github.com") {
                "https://api.github.com/".to_string()
            } else {
                format!("{host}/api/v3/")
            };
            let state = if error { "failure" } else { "success" };
            let auth = |r: &mut Request| {
                r.set("Accept", "application/vnd.github.v3+json");
                r.set("Authorization", format!("Bearer {token}"));
            };
            let mut list = Request::get(format!(
                "{base}repos/{o}/{r}/commits/{sha}/statuses?per_page=50"
            ));
            auth(&mut list);
            let body = go_json(&Ordered(vec![
                ("state", json!(state)),
                ("description", json!(desc)),
                ("context", json!(id_)),
            ]));
            let mut post = Request::post(format!("{base}repos/{o}/{r}/statuses/{sha}"), body);
            auth(&mut post);
            Ok(Plan::CommitStatus {
                list,
                post,
                duplicate: Duplicate::Context {
                    context: id_,
                    state: state.into(),
                    description: desc,
                },
            })
        }
        T::Gitlab => {
            let state = if error { "failed" } else { "success" };
            let project = url::form_urlencoded::byte_serialize(id.as_bytes())
                .collect::<String>()
                .replace('+', "%20");
            let name = url::form_urlencoded::byte_serialize(id_.as_bytes()).collect::<String>();
            let mut list = Request::get(format!(
                "{host}/api/v4/projects/{project}/repository/commits/{sha}/statuses?name={name}"
            ));
            list.set("PRIVATE-TOKEN", token);
            let body = go_json(&Ordered(vec![
                ("state", json!(state)),
                ("name", json!(id_)),
                ("description", json!(desc)),
            ]));
            let mut post = Request::post(
                format!("{host}/api/v4/projects/{project}/statuses/{sha}"),
                body,
            );
            post.set("PRIVATE-TOKEN", token);
            Ok(Plan::CommitStatus {
                list,
                post,
                duplicate: Duplicate::GitLab {
                    sha,
                    state: state.into(),
                    name: id_,
                    description: desc,
                },
            })
        }
        T::Gitea => {
            let (o, r) = owner_repo(&id)?;
            let state = if progressing {
                "pending"
            } else if error {
                "failure"
            } else {
                "success"
            };
            let mut list = Request::get(format!(
                "{host}/api/v1/repos/{o}/{r}/statuses/{sha}?page=1&limit=50"
            ));
            list.set("Authorization", format!("token {token}"));
            let body = go_json(&Ordered(vec![
                ("state", json!(state)),
                ("target_url", json!("")),
                ("description", json!(desc)),
                ("context", json!(id_)),
            ]));
            let mut post =
                Request::post(format!("{host}/api/v1/repos/{o}/{r}/statuses/{sha}"), body);
            post.set("Authorization", format!("token {token}"));
            Ok(Plan::CommitStatus {
                list,
                post,
                duplicate: Duplicate::Context {
                    context: id_,
                    state: state.into(),
                    description: desc,
                },
            })
        }
        T::Bitbucket => {
            let (user, pass) = t
                .token
                .split_once(':')
                .filter(|(_, p)| !p.contains(':'))
                .ok_or_else(|| {
                    TargetError::Invalid(
                        "invalid token format, expected to be <user>:<password>".into(),
                    )
                })?;
            let (o, r) = owner_repo(&id)?;
            let state = if error { "FAILED" } else { "SUCCESSFUL" };
            let key = hex::encode(sha1::Sha1::digest(id_.as_bytes()));
            let o_ = &e.involved_object;
            let name = format!("{}/{}", o_.kind, o_.name).to_lowercase();
            let enc = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
            let base = format!(
                "{}/repositories/{o}/{r}/commit/{sha}/statuses/build",
                bases.bitbucket.trim_end_matches('/')
            );
            let mut list = Request::get(format!("{base}/{key}"));
            list.check = Check::SuccessOrNotFound;
            list.set("Authorization", format!("Basic {enc}"));
            let body = go_json(&Ordered(vec![
                ("key", json!(key)),
                ("url", json!("https://bitbucket.org")),
                ("state", json!(state)),
                ("name", json!(name)),
                ("description", json!(desc)),
            ]));
            let mut post = Request::post(base, body);
            post.set("Authorization", format!("Basic {enc}"));
            Ok(Plan::CommitStatus {
                list,
                post,
                duplicate: Duplicate::Bitbucket {
                    state: state.into(),
                    description: desc,
                },
            })
        }
        other => Err(TargetError::Unsupported {
            provider_type: other,
        }),
    }
}

#[cfg(test)]
mod tests;
