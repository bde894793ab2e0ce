//! Receiver: Flux's webhook path, the Receiver's status, the per-type
//! validation of an incoming request and the resources a request triggers.
//!
//! Pure logic: the runtime reads the token from the Secret, serves HTTP and
//! asks this module what to answer. The status codes follow Flux's handler:
//! 404 for an unknown path, 503 for a suspended or not-ready Receiver, 401
//! when a token or signature does not match, 400 for a request that is
//! malformed or an event the Receiver does not accept, 200 when every
//! resource was triggered and 500 when one could not be.

use std::collections::BTreeMap;

use ferroflux_api::meta::{condition, reason};
use ferroflux_api::notification::{Receiver, ReceiverSpec, ReceiverStatus, ReceiverType};
use hmac::{Hmac, Mac};
use sha2::Digest as _;

use crate::clock::Clock;
use crate::status::{self, StepError};

/// Header carrying the HMAC of a `generic-hmac` request.
pub const SIGNATURE_HEADER: &str = "x-signature";
/// GitHub's SHA-256 and legacy SHA-1 signature headers.
pub const GITHUB_SIGNATURE_256_HEADER: &str = "x-hub-signature-256";
pub const GITHUB_SIGNATURE_HEADER: &str = "x-hub-signature";
pub const GITHUB_EVENT_HEADER: &str = "x-github-event";
pub const GITLAB_TOKEN_HEADER: &str = "x-gitlab-token";
pub const GITLAB_EVENT_HEADER: &str = "x-gitlab-event";
pub const AUTHORIZATION_HEADER: &str = "authorization";

/// Why a request was refused; [`ReceiverError::status_code`] gives the
/// HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiverError {
    #[error("receiver {receiver}: the {header} header is missing")]
    MissingHeader { receiver: String, header: String },
    #[error("receiver {receiver}: {detail}")]
    Unauthorized { receiver: String, detail: String },
    #[error("receiver {receiver}: unable to validate HMAC signature: {detail}")]
    MalformedSignature { receiver: String, detail: String },
    #[error("receiver {receiver}: unable to parse {receiver_type} request body: {detail}")]
    InvalidPayload {
        receiver: String,
        receiver_type: String,
        detail: String,
    },
    #[error("receiver {receiver}: {provider} event '{event}' is not authorised")]
    EventNotAllowed {
        receiver: String,
        provider: String,
        event: String,
    },
    #[error("receiver {receiver}: receiver type '{receiver_type}' is not supported")]
    UnsupportedType {
        receiver: String,
        receiver_type: String,
    },
    #[error(
        "receiver {receiver}: resource {kind}/{name}: matchLabels field not set when using wildcard '*' as name"
    )]
    WildcardWithoutLabels {
        receiver: String,
        kind: String,
        name: String,
    },
    #[error("receiver {receiver}: resource {kind}/{namespace}/{name} not found")]
    ResourceNotFound {
        receiver: String,
        kind: String,
        namespace: String,
        name: String,
    },
}

impl ReceiverError {
    /// The HTTP status Flux's handler answers with.
    pub fn status_code(&self) -> u16 {
        match self {
            ReceiverError::MissingHeader { .. } | ReceiverError::Unauthorized { .. } => 401,
            ReceiverError::MalformedSignature { .. }
            | ReceiverError::InvalidPayload { .. }
            | ReceiverError::EventNotAllowed { .. }
            | ReceiverError::UnsupportedType { .. } => 400,
            ReceiverError::WildcardWithoutLabels { .. }
            | ReceiverError::ResourceNotFound { .. } => 500,
        }
    }
}

/// An incoming webhook call: header names lowercase, the raw body.
#[derive(Debug, Clone, Default)]
pub struct WebhookRequest {
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl WebhookRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

/// `/hook/` + lowercase hex SHA-256 of `token + name + namespace`.
pub fn webhook_path(token: &str, name: &str, namespace: &str) -> String {
    let mut hasher = sha2::Sha256::new();
    hasher.update(token.as_bytes());
    hasher.update(name.as_bytes());
    hasher.update(namespace.as_bytes());
    format!("/hook/{}", hex::encode(hasher.finalize()))
}

/// The token from the data of the Receiver's Secret (key `token`).
pub fn token_from_secret(
    secret: &str,
    data: &BTreeMap<String, Vec<u8>>,
) -> Result<String, StepError> {
    let raw = data.get("token").ok_or_else(|| {
        StepError::stalled(
            reason::TOKEN_NOT_FOUND,
            format!("invalid '{secret}' secret data: required fields 'token'"),
        )
    })?;
    let token = String::from_utf8(raw.clone()).map_err(|_| {
        StepError::stalled(
            reason::TOKEN_NOT_FOUND,
            format!("invalid '{secret}' secret data: 'token' is not UTF-8"),
        )
    })?;
    // Not Flux's: an empty token makes the path guessable and a generic
    // Receiver open to anyone.
    if token.trim().is_empty() {
        return Err(StepError::stalled(
            reason::TOKEN_NOT_FOUND,
            format!(
                "invalid '{secret}' secret data: 'token' is empty; a Receiver needs a token to authenticate requests"
            ),
        ));
    }
    Ok(token)
}

/// Reconcile a Receiver: with its token, `webhookPath` and Ready=True
/// (`Receiver initialized for path: …`); without it Ready=False with
/// `TokenNotFound`. `token` is the result of reading the Secret.
pub fn reconcile(
    receiver: &Receiver,
    token: Result<String, StepError>,
    clock: &dyn Clock,
) -> ReceiverStatus {
    let mut status = receiver.status.clone().unwrap_or_default();
    let generation = receiver.metadata.generation;
    let name = receiver.metadata.name.clone().unwrap_or_default();
    let namespace = receiver
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_string());
    let result = if receiver.spec.suspend == Some(true) {
        Err(StepError::stalled(
            reason::SUSPENDED,
            "Reconciliation is suspended for this object",
        ))
    } else {
        token.map(|token| {
            let path = webhook_path(&token, &name, &namespace);
            let message = format!("Receiver initialized for path: {path}");
            status.webhook_path = Some(path);
            message
        })
    };
    if result.is_err() && receiver.spec.suspend != Some(true) {
        status.webhook_path = None;
    }
    status.observed_generation = generation;
    status::finish(
        &mut status.conditions,
        generation,
        clock.now_time(),
        &result,
    );
    status
}

/// True when the Receiver may handle requests: not suspended and Ready.
pub fn is_serving(receiver: &Receiver) -> bool {
    receiver.spec.suspend != Some(true)
        && receiver
            .status
            .as_ref()
            .is_some_and(|s| status::is_true(&s.conditions, condition::READY))
}

/// Check a request against the Receiver's type, token and events.
pub fn validate(
    receiver: &str,
    spec: &ReceiverSpec,
    token: &str,
    req: &WebhookRequest,
) -> Result<(), ReceiverError> {
    let receiver = receiver.to_string();
    if token.trim().is_empty() {
        return Err(ReceiverError::Unauthorized {
            receiver,
            detail: "the receiver has no token; requests are refused".into(),
        });
    }
    match spec.receiver_type {
        ReceiverType::Generic => Ok(()),
        ReceiverType::GenericHmac => {
            let header =
                req.header(SIGNATURE_HEADER)
                    .ok_or_else(|| ReceiverError::MissingHeader {
                        receiver: receiver.clone(),
                        header: "X-Signature".into(),
                    })?;
            verify_hmac_header(&receiver, header, &req.body, token)
        }
        ReceiverType::Harbor => {
            let value = req.header(AUTHORIZATION_HEADER).unwrap_or("");
            if constant_time_eq(value.as_bytes(), token.as_bytes()) {
                Ok(())
            } else {
                Err(ReceiverError::Unauthorized {
                    receiver,
                    detail:
                        "the Harbor Authorization header value does not match the receiver token"
                            .into(),
                })
            }
        }
        ReceiverType::Dockerhub => {
            #[derive(serde::Deserialize)]
            #[allow(dead_code)] // decoded to check the shape, as Flux does
            struct Payload {
                push_data: PushData,
                repository: Repository,
            }
            #[derive(serde::Deserialize)]
            #[allow(dead_code)]
            struct PushData {
                tag: String,
            }
            #[derive(serde::Deserialize)]
            #[allow(dead_code)]
            struct Repository {
                repo_url: String,
            }
            decode::<Payload>(&receiver, "DockerHub", &req.body)
        }
        ReceiverType::Quay => {
            #[derive(serde::Deserialize)]
            #[allow(dead_code)]
            struct Payload {
                docker_url: String,
                updated_tags: Vec<String>,
            }
            decode::<Payload>(&receiver, "Quay", &req.body)
        }
        ReceiverType::Github => {
            let (header, algo) = match (
                req.header(GITHUB_SIGNATURE_256_HEADER),
                req.header(GITHUB_SIGNATURE_HEADER),
            ) {
                (Some(h), _) => (h, "sha256"),
                (None, Some(h)) => (h, "sha1"),
                (None, None) => {
                    return Err(ReceiverError::MissingHeader {
                        receiver,
                        header: "X-Hub-Signature-256".into(),
                    });
                }
            };
            let Some((prefix, _)) = header.split_once('=') else {
                return Err(ReceiverError::Unauthorized {
                    receiver,
                    detail: "the GitHub signature header is invalid, error: missing signature"
                        .into(),
                });
            };
            if prefix != algo {
                return Err(ReceiverError::Unauthorized {
                    receiver,
                    detail: format!(
                        "the GitHub signature header is invalid, error: unknown hash type prefix: {prefix:?}"
                    ),
                });
            }
            verify_hmac_header(&receiver, header, &req.body, token).map_err(|e| {
                ReceiverError::Unauthorized {
                    receiver: receiver.clone(),
                    detail: format!("the GitHub signature header is invalid, error: {e}"),
                }
            })?;
            let event = req.header(GITHUB_EVENT_HEADER).unwrap_or("");
            check_event(&receiver, "GitHub", &spec.events, event)
        }
        ReceiverType::Gitlab => {
            let value = req.header(GITLAB_TOKEN_HEADER).unwrap_or("");
            if !constant_time_eq(value.as_bytes(), token.as_bytes()) {
                return Err(ReceiverError::Unauthorized {
                    receiver,
                    detail: "the X-Gitlab-Token header value does not match the receiver token"
                        .into(),
                });
            }
            let event = req.header(GITLAB_EVENT_HEADER).unwrap_or("");
            check_event(&receiver, "GitLab", &spec.events, event)
        }
        other => Err(ReceiverError::UnsupportedType {
            receiver,
            receiver_type: serde_json::to_value(other)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
        }),
    }
}

fn decode<T: serde::de::DeserializeOwned>(
    receiver: &str,
    receiver_type: &str,
    body: &[u8],
) -> Result<(), ReceiverError> {
    serde_json::from_slice::<T>(body)
        .map(|_| ())
        .map_err(|e| ReceiverError::InvalidPayload {
            receiver: receiver.to_string(),
            receiver_type: receiver_type.to_string(),
            detail: e.to_string(),
        })
}

fn check_event(
    receiver: &str,
    provider: &str,
    allowed: &[String],
    event: &str,
) -> Result<(), ReceiverError> {
    if allowed.is_empty() || allowed.iter().any(|e| e.eq_ignore_ascii_case(event)) {
        Ok(())
    } else {
        Err(ReceiverError::EventNotAllowed {
            receiver: receiver.to_string(),
            provider: provider.to_string(),
            event: event.to_string(),
        })
    }
}

/// `<sha1|sha256|sha512>=<hex HMAC(body, token)>`, Flux's `validateSignature`.
fn verify_hmac_header(
    receiver: &str,
    header: &str,
    body: &[u8],
    token: &str,
) -> Result<(), ReceiverError> {
    let malformed = |detail: String| ReceiverError::MalformedSignature {
        receiver: receiver.to_string(),
        detail,
    };
    let (algo, hex_sig) = header
        .split_once('=')
        .ok_or_else(|| malformed("invalid signature value".into()))?;
    let sig =
        hex::decode(hex_sig).map_err(|e| malformed(format!("unable to decode signature: {e}")))?;
    let ok = match algo {
        "sha1" => hmac_verify::<Hmac<sha1::Sha1>>(token, body, &sig),
        "sha256" => hmac_verify::<Hmac<sha2::Sha256>>(token, body, &sig),
        "sha512" => hmac_verify::<Hmac<sha2::Sha512>>(token, body, &sig),
        other => {
            return Err(malformed(format!(
                "unsupported signature algorithm {other:?}"
            )));
        }
    };
    if ok {
        Ok(())
    } else {
        Err(ReceiverError::Unauthorized {
            receiver: receiver.to_string(),
            detail: "unable to validate HMAC signature: invalid signature".into(),
        })
    }
}

fn hmac_verify<M: Mac + hmac::digest::KeyInit>(key: &str, body: &[u8], sig: &[u8]) -> bool {
    let Ok(mut mac) = <M as hmac::digest::KeyInit>::new_from_slice(key.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(sig).is_ok()
}

/// Hex HMAC of `body` keyed with `token`, as a sender computes it
/// (`sha1`, `sha256` or `sha512`); None for another algorithm.
pub fn sign(algo: &str, token: &str, body: &[u8]) -> Option<String> {
    fn run<M: Mac + hmac::digest::KeyInit>(key: &str, body: &[u8]) -> Option<String> {
        let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(key.as_bytes()).ok()?;
        mac.update(body);
        Some(hex::encode(mac.finalize().into_bytes()))
    }
    match algo {
        "sha1" => run::<Hmac<sha1::Sha1>>(token, body),
        "sha256" => run::<Hmac<sha2::Sha256>>(token, body),
        "sha512" => run::<Hmac<sha2::Sha512>>(token, body),
        _ => None,
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// An object a Receiver may trigger.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

/// What the runtime knows about an object a resource reference may name.
#[derive(Debug, Clone, Default)]
pub struct Candidate {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
}

/// The objects `spec.resources` names: exact names, or `name: "*"` with
/// `matchLabels` in the resource's namespace (default: the Receiver's).
/// Returns the targets found and one error per reference that could not be
/// resolved (the handler answers 500 when there is any).
pub fn resolve_resources(
    receiver: &str,
    receiver_namespace: &str,
    spec: &ReceiverSpec,
    candidates: &[Candidate],
) -> (Vec<Target>, Vec<ReceiverError>) {
    let mut targets = Vec::new();
    let mut errors = Vec::new();
    for r in &spec.resources {
        let namespace = r.namespace.as_deref().unwrap_or(receiver_namespace);
        if r.name == "*" {
            let Some(labels) = r.match_labels.as_ref().filter(|l| !l.is_empty()) else {
                errors.push(ReceiverError::WildcardWithoutLabels {
                    receiver: receiver.to_string(),
                    kind: r.kind.clone(),
                    name: r.name.clone(),
                });
                continue;
            };
            targets.extend(
                candidates
                    .iter()
                    .filter(|c| c.kind == r.kind && c.namespace == namespace)
                    .filter(|c| labels.iter().all(|(k, v)| c.labels.get(k) == Some(v)))
                    .map(|c| Target {
                        kind: c.kind.clone(),
                        namespace: c.namespace.clone(),
                        name: c.name.clone(),
                    }),
            );
        } else if candidates
            .iter()
            .any(|c| c.kind == r.kind && c.namespace == namespace && c.name == r.name)
        {
            targets.push(Target {
                kind: r.kind.clone(),
                namespace: namespace.to_string(),
                name: r.name.clone(),
            });
        } else {
            errors.push(ReceiverError::ResourceNotFound {
                receiver: receiver.to_string(),
                kind: r.kind.clone(),
                namespace: namespace.to_string(),
                name: r.name.clone(),
            });
        }
    }
    targets.sort();
    targets.dedup();
    (targets, errors)
}

mod kind;
pub use kind::{DEFAULT_INTERVAL, interval, resolve_token};
#[cfg(test)]
mod tests;
