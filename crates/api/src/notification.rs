//! `notification.toolkit.fluxcd.io`: Receiver (v1), Provider and Alert
//! (v1beta3, and v1beta2 read with the same spec).

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Duration;
use crate::meta::{Condition, LocalObjectReference};

pub const GROUP: &str = "notification.toolkit.fluxcd.io";

#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "notification.toolkit.fluxcd.io",
    version = "v1",
    kind = "Receiver",
    namespaced,
    derive = "PartialEq",
    status = "ReceiverStatus",
    category = "fluxcd"
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReceiverSpec {
    #[serde(rename = "type")]
    pub receiver_type: ReceiverType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
    pub resources: Vec<CrossNamespaceObjectReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_filter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReceiverType {
    #[default]
    Generic,
    #[serde(rename = "generic-hmac")]
    GenericHmac,
    #[serde(rename = "generic-oidc")]
    GenericOidc,
    Github,
    Gitlab,
    Bitbucket,
    Harbor,
    Dockerhub,
    Quay,
    Gcr,
    Nexus,
    Acr,
    Cdevents,
}

/// A reference with an optional namespace and, for `name: "*"`, labels.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CrossNamespaceObjectReference {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    pub kind: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<BTreeMap<String, String>>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReceiverStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

/// A Provider (notification-controller's `api/v1beta3/provider_types.go`):
/// where and how notifications are sent. v1beta3 has no status.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "notification.toolkit.fluxcd.io",
    version = "v1beta3",
    kind = "Provider",
    namespaced,
    derive = "PartialEq",
    category = "fluxcd"
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProviderSpec {
    #[serde(rename = "type")]
    pub provider_type: ProviderType,
    /// Deprecated and unused by Flux.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Flux's default is 15s ([`ProviderSpec::timeout`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Deprecated: use `proxySecretRef`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_secret_ref: Option<LocalObjectReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalObjectReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_status_expr: Option<String>,
}

/// Flux's default `spec.timeout` of a Provider (`GetTimeout`).
pub const DEFAULT_PROVIDER_TIMEOUT: Duration = Duration::from_secs(15);

/// The longest `address`, `channel`, `username` and `proxy` the CRD admits.
pub const MAX_PROVIDER_FIELD: usize = 2048;

/// The longest Alert `summary` the CRD admits.
pub const MAX_ALERT_SUMMARY: usize = 255;

/// One field of a spec that the CRD's validation would refuse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecProblem {
    /// Dotted path from the object root, e.g. `spec.timeout`.
    pub field: String,
    pub message: String,
}

impl ProviderSpec {
    /// `spec.timeout`, or Flux's default of 15s.
    pub fn timeout(&self) -> std::time::Duration {
        self.timeout.unwrap_or(DEFAULT_PROVIDER_TIMEOUT).to_std()
    }

    pub fn suspended(&self) -> bool {
        self.suspend.unwrap_or(false)
    }

    /// What the CRD's OpenAPI and CEL rules refuse, beyond the types.
    /// `timeout`'s pattern (`ms`, `s`, `m` only) is checked on the text by
    /// [`timeout_problem`], since a parsed duration no longer has it.
    pub fn problems(&self) -> Vec<SpecProblem> {
        let mut out = Vec::new();
        for (field, value) in [
            ("address", &self.address),
            ("channel", &self.channel),
            ("username", &self.username),
            ("proxy", &self.proxy),
        ] {
            if let Some(v) = value
                && v.len() > MAX_PROVIDER_FIELD
            {
                out.push(SpecProblem {
                    field: format!("spec.{field}"),
                    message: format!(
                        "spec.{field} is {} bytes long; at most {MAX_PROVIDER_FIELD} are allowed",
                        v.len()
                    ),
                });
            }
        }
        if let Some(p) = &self.proxy
            && !(p.starts_with("http://") || p.starts_with("https://"))
        {
            out.push(SpecProblem {
                field: "spec.proxy".into(),
                message: format!(
                    "spec.proxy `{p}` must match ^(http|https)://.*$ (spec.proxy is deprecated: \
                     use spec.proxySecretRef)"
                ),
            });
        }
        if self.commit_status_expr.is_some() && !self.provider_type.is_commit_status() {
            out.push(SpecProblem {
                field: "spec.commitStatusExpr".into(),
                message: "spec.commitStatusExpr is only supported for the 'github', 'gitlab', \
                          'gitea', 'bitbucketserver', 'bitbucket', 'azuredevops' provider types"
                    .into(),
            });
        }
        out
    }
}

/// `spec.timeout` as written must match `^([0-9]+(\.[0-9]+)?(ms|s|m))+$`
/// (the CRD's pattern: no hours, no sign).
pub fn timeout_problem(text: &str) -> Option<SpecProblem> {
    let mut rest = text;
    let mut ok = !rest.is_empty();
    while ok && !rest.is_empty() {
        let int = rest.bytes().take_while(u8::is_ascii_digit).count();
        if int == 0 {
            ok = false;
            break;
        }
        rest = &rest[int..];
        if let Some(r) = rest.strip_prefix('.') {
            let frac = r.bytes().take_while(u8::is_ascii_digit).count();
            if frac == 0 {
                ok = false;
                break;
            }
            rest = &r[frac..];
        }
        if let Some(r) = rest.strip_prefix("ms") {
            rest = r;
        } else if let Some(r) = rest.strip_prefix('s').or_else(|| rest.strip_prefix('m')) {
            rest = r;
        } else {
            ok = false;
        }
    }
    (!ok).then(|| SpecProblem {
        field: "spec.timeout".into(),
        message: format!(
            "spec.timeout `{text}` must match ^([0-9]+(\\.[0-9]+)?(ms|s|m))+$, e.g. `30s` or `1m30s` \
             (hours are not allowed)"
        ),
    })
}

/// `spec.type` of a Provider: the CRD's enum, every value Flux knows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProviderType {
    Slack,
    Discord,
    Msteams,
    Rocket,
    #[default]
    Generic,
    #[serde(rename = "generic-hmac")]
    GenericHmac,
    Github,
    Gitlab,
    Gitea,
    Giteapullrequestcomment,
    Bitbucketserver,
    Bitbucket,
    Azuredevops,
    Googlechat,
    Googlepubsub,
    Webex,
    Sentry,
    Azureeventhub,
    Telegram,
    Lark,
    Matrix,
    Opsgenie,
    Alertmanager,
    Grafana,
    Githubdispatch,
    Githubpullrequestcomment,
    Gitlabmergerequestcomment,
    Pagerduty,
    Datadog,
    Nats,
    Zulip,
    Otel,
    Zoom,
    #[serde(rename = "incident.io")]
    Incidentio,
}

impl ProviderType {
    /// The name as written in `spec.type`.
    pub fn as_str(self) -> &'static str {
        use ProviderType::*;
        match self {
            Slack => "slack",
            Discord => "discord",
            Msteams => "msteams",
            Rocket => "rocket",
            Generic => "generic",
            GenericHmac => "generic-hmac",
            Github => "github",
            Gitlab => "gitlab",
            Gitea => "gitea",
            Giteapullrequestcomment => "giteapullrequestcomment",
            Bitbucketserver => "bitbucketserver",
            Bitbucket => "bitbucket",
            Azuredevops => "azuredevops",
            Googlechat => "googlechat",
            Googlepubsub => "googlepubsub",
            Webex => "webex",
            Sentry => "sentry",
            Azureeventhub => "azureeventhub",
            Telegram => "telegram",
            Lark => "lark",
            Matrix => "matrix",
            Opsgenie => "opsgenie",
            Alertmanager => "alertmanager",
            Grafana => "grafana",
            Githubdispatch => "githubdispatch",
            Githubpullrequestcomment => "githubpullrequestcomment",
            Gitlabmergerequestcomment => "gitlabmergerequestcomment",
            Pagerduty => "pagerduty",
            Datadog => "datadog",
            Nats => "nats",
            Zulip => "zulip",
            Otel => "otel",
            Zoom => "zoom",
            Incidentio => "incident.io",
        }
    }

    /// The commit-status providers (`isCommitStatusProvider`).
    pub fn is_commit_status(self) -> bool {
        use ProviderType::*;
        matches!(
            self,
            Github | Gitlab | Gitea | Bitbucketserver | Bitbucket | Azuredevops
        )
    }

    /// `generic` and `generic-hmac`, which get every event.
    pub fn is_generic(self) -> bool {
        matches!(self, ProviderType::Generic | ProviderType::GenericHmac)
    }

    /// The change-request comment providers (`isChangeRequestProvider`).
    pub fn is_change_request(self) -> bool {
        use ProviderType::*;
        matches!(
            self,
            Githubpullrequestcomment | Gitlabmergerequestcomment | Giteapullrequestcomment
        )
    }
}

impl std::fmt::Display for ProviderType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "notification.toolkit.fluxcd.io",
    version = "v1beta3",
    kind = "Alert",
    namespaced,
    derive = "PartialEq",
    category = "fluxcd"
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlertSpec {
    pub provider_ref: LocalObjectReference,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_severity: Option<EventSeverity>,
    pub event_sources: Vec<CrossNamespaceObjectReference>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inclusion_list: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclusion_list: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_metadata: Option<BTreeMap<String, String>>,
    /// Deprecated in v1beta3: use `eventMetadata`; at most 255 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
}

impl AlertSpec {
    /// `spec.eventSeverity`, or the CRD's default `info`.
    pub fn severity(&self) -> EventSeverity {
        self.event_severity.unwrap_or_default()
    }

    pub fn suspended(&self) -> bool {
        self.suspend.unwrap_or(false)
    }

    /// What the CRD refuses beyond the types: a `summary` over 255
    /// characters, an event source kind outside the enum.
    pub fn problems(&self) -> Vec<SpecProblem> {
        let mut out = Vec::new();
        if let Some(s) = &self.summary
            && s.chars().count() > MAX_ALERT_SUMMARY
        {
            out.push(SpecProblem {
                field: "spec.summary".into(),
                message: format!(
                    "spec.summary is {} characters long; at most {MAX_ALERT_SUMMARY} are allowed",
                    s.chars().count()
                ),
            });
        }
        for (i, source) in self.event_sources.iter().enumerate() {
            if !ALERT_SOURCE_KINDS.contains(&source.kind.as_str()) {
                out.push(SpecProblem {
                    field: format!("spec.eventSources.{i}.kind"),
                    message: format!(
                        "spec.eventSources[{i}].kind `{}` is not one of {}",
                        source.kind,
                        ALERT_SOURCE_KINDS.join(", ")
                    ),
                });
            }
        }
        out
    }
}

/// The kinds an Alert's `eventSources` may name (the CRD's enum).
pub const ALERT_SOURCE_KINDS: &[&str] = &[
    "Bucket",
    "GitRepository",
    "Kustomization",
    "HelmRelease",
    "HelmChart",
    "HelmRepository",
    "ImageRepository",
    "ImagePolicy",
    "ImageUpdateAutomation",
    "OCIRepository",
    "ArtifactGenerator",
    "ExternalArtifact",
];

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EventSeverity {
    #[default]
    Info,
    Error,
}

impl EventSeverity {
    pub fn as_str(self) -> &'static str {
        match self {
            EventSeverity::Info => "info",
            EventSeverity::Error => "error",
        }
    }
}

#[cfg(test)]
mod tests;
