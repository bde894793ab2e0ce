//! A Provider and its Secrets resolved into where and how to send
//! (`createNotifier`, `extractAuthFromSecret`, `getTLSConfigForProvider`).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use ferroflux_api::notification::{MAX_PROVIDER_FIELD, ProviderSpec, ProviderType};

/// A Secret's `data`, decoded.
pub type SecretData = BTreeMap<String, Vec<u8>>;

/// The Secrets a Provider names, read by the caller from its home.
#[derive(Clone, Default)]
pub struct ProviderSecrets {
    /// `spec.secretRef`.
    pub secret: Option<SecretData>,
    /// `spec.certSecretRef`.
    pub cert: Option<SecretData>,
    /// `spec.proxySecretRef`.
    pub proxy: Option<SecretData>,
}

impl fmt::Debug for ProviderSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys =
            |d: &Option<SecretData>| d.as_ref().map(|d| d.keys().cloned().collect::<Vec<_>>());
        f.debug_struct("ProviderSecrets")
            .field("secret_keys", &keys(&self.secret))
            .field("cert_keys", &keys(&self.cert))
            .field("proxy_keys", &keys(&self.proxy))
            .finish()
    }
}

/// A proxy with optional userinfo (`proxySecretRef`).
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    pub url: String,
    pub username: String,
    pub password: String,
}

/// PEM material for TLS: an extra CA and an optional client certificate.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Tls {
    pub ca_pem: Option<Vec<u8>>,
    pub cert_pem: Option<Vec<u8>>,
    pub key_pem: Option<Vec<u8>>,
}

/// Where and how one Provider sends. Debug shows no secret.
#[derive(Clone)]
pub struct Target {
    /// `<namespace>/<name>` of the Provider, for logs and reports.
    pub provider: String,
    pub provider_type: ProviderType,
    pub address: String,
    /// Whether `address` came from the Secret (then it is never shown).
    pub address_from_secret: bool,
    pub channel: String,
    pub username: String,
    /// Secret `token`, as stored (Flux does not trim it for sending).
    pub token: String,
    /// Secret `username`/`password` (both or neither).
    pub basic: Option<(String, String)>,
    /// Secret `headers` (generic, generic-hmac).
    pub headers: BTreeMap<String, String>,
    pub proxy: Option<Proxy>,
    pub tls: Option<Tls>,
    pub timeout: Duration,
    /// The commit status id (commit-status providers only).
    pub commit_status: String,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("provider", &self.provider)
            .field("provider_type", &self.provider_type)
            .field("address", &self.shown_address())
            .field("channel", &self.channel)
            .field("username", &self.username)
            .field("token", &redacted(&self.token))
            .field(
                "basic",
                &self.basic.as_ref().map(|(u, _)| (u, "<redacted>")),
            )
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("proxy", &self.proxy.as_ref().map(|_| "<set>"))
            .field("tls", &self.tls.as_ref().map(|_| "<set>"))
            .field("timeout", &self.timeout)
            .field("commit_status", &self.commit_status)
            .finish()
    }
}

fn redacted(s: &str) -> &'static str {
    if s.is_empty() { "" } else { "<redacted>" }
}

impl Target {
    /// The address as it may appear in a message: only the host when it
    /// came from a Secret (a Slack webhook URL is itself a credential).
    pub fn shown_address(&self) -> String {
        if !self.address_from_secret {
            return self.address.clone();
        }
        match url::Url::parse(&self.address) {
            Ok(u) => format!("<address from secret, host {}>", u.host_str().unwrap_or("")),
            Err(_) => "<address from secret>".to_string(),
        }
    }

    /// Every secret value that must never be shown: the token (raw and
    /// trimmed), the password, the proxy password, the secret address.
    pub fn secrets(&self) -> Vec<String> {
        let mut out = vec![self.token.clone(), self.token.trim().to_string()];
        if let Some((_, p)) = &self.basic {
            out.push(p.clone());
        }
        if let Some(p) = &self.proxy {
            out.push(p.password.clone());
        }
        if self.address_from_secret {
            out.push(self.address.clone());
        }
        out.extend(self.headers.values().cloned());
        out.retain(|s| s.len() >= 3);
        out.sort_by_key(|s| std::cmp::Reverse(s.len()));
        out
    }

    /// `text` with every secret value replaced by `*****` (Flux's
    /// `MaskTokenFromString`, applied to more than the token).
    pub fn mask(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in self.secrets() {
            out = out.replace(&s, "*****");
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error(
        "invalid address in secret: address exceeds maximum length of {MAX_PROVIDER_FIELD} bytes"
    )]
    AddressTooLong,
    #[error("invalid 'proxy' in secret '{secret}'")]
    SecretProxy { secret: String },
    #[error("failed to read headers from secret: {detail}")]
    Headers { detail: String },
    #[error("failed to get proxy URL: secret '{secret}': key 'address' not found or empty")]
    ProxyAddress { secret: String },
    #[error("failed to get proxy URL: secret '{secret}': invalid address: {detail}")]
    ProxyUrl { secret: String, detail: String },
    #[error("failed to get TLS config: secret '{secret}': {detail}")]
    Tls { secret: String, detail: String },
    #[error("provider type '{provider_type}' is not supported by ferroflux yet")]
    Unsupported { provider_type: ProviderType },
    #[error("invalid {what} URL {address}: {detail}")]
    InvalidAddress {
        what: &'static str,
        address: String,
        detail: String,
    },
    #[error("HMAC key is empty")]
    HmacKeyEmpty,
    #[error("{0}")]
    Invalid(String),
}

/// Resolve `spec` (Provider `namespace/name`, UID for the commit status)
/// with its Secrets.
pub fn resolve(
    namespace: &str,
    name: &str,
    spec: &ProviderSpec,
    secrets: &ProviderSecrets,
) -> Result<Target, TargetError> {
    let secret_name = |r: &Option<ferroflux_api::meta::LocalObjectReference>| {
        format!(
            "{namespace}/{}",
            r.as_ref().map(|r| r.name.as_str()).unwrap_or("")
        )
    };
    let mut t = Target {
        provider: format!("{namespace}/{name}"),
        provider_type: spec.provider_type,
        address: spec.address.clone().unwrap_or_default(),
        address_from_secret: false,
        channel: spec.channel.clone().unwrap_or_default(),
        username: spec.username.clone().unwrap_or_default(),
        token: String::new(),
        basic: None,
        headers: BTreeMap::new(),
        proxy: spec
            .proxy
            .as_ref()
            .filter(|p| !p.is_empty())
            .map(|p| Proxy {
                url: p.clone(),
                username: String::new(),
                password: String::new(),
            }),
        tls: None,
        timeout: spec.timeout(),
        commit_status: String::new(),
    };
    if let Some(data) = &secrets.secret {
        let text = |k: &str| data.get(k).map(|v| String::from_utf8_lossy(v).into_owned());
        if let Some(a) = data.get("address") {
            if a.len() > MAX_PROVIDER_FIELD {
                return Err(TargetError::AddressTooLong);
            }
            let a = String::from_utf8_lossy(a).trim().to_string();
            t.address = a;
            t.address_from_secret = true;
        }
        if let Some(p) = text("proxy") {
            let p = p.trim().to_string();
            if url::Url::parse(&p).is_err() {
                return Err(TargetError::SecretProxy {
                    secret: secret_name(&spec.secret_ref),
                });
            }
            t.proxy = Some(Proxy {
                url: p,
                username: String::new(),
                password: String::new(),
            });
        }
        if let Some(h) = data.get("headers") {
            t.headers = serde_yaml::from_slice::<BTreeMap<String, String>>(h).map_err(|e| {
                TargetError::Headers {
                    // The YAML error names a position and an expectation,
                    // never the values.
                    detail: e.to_string().lines().next().unwrap_or("").to_string(),
                }
            })?;
        }
        // runtime/secrets: a username without a password (or the reverse)
        // is malformed, and Flux then ignores every credential of the
        // Secret, the token included.
        let user = text("username");
        let pass = text("password");
        let malformed = user.is_some() != pass.is_some();
        if !malformed {
            if let Some(tok) = text("token") {
                t.token = tok;
            }
            if let (Some(u), Some(p)) = (user, pass) {
                t.username = u.clone();
                t.basic = Some((u, p));
            }
        }
    }
    if let Some(data) = &secrets.proxy {
        let secret = secret_name(&spec.proxy_secret_ref);
        let address = data
            .get("address")
            .map(|a| String::from_utf8_lossy(a).trim().to_string())
            .filter(|a| !a.is_empty())
            .ok_or_else(|| TargetError::ProxyAddress {
                secret: secret.clone(),
            })?;
        url::Url::parse(&address).map_err(|e| TargetError::ProxyUrl {
            secret: secret.clone(),
            detail: e.to_string(),
        })?;
        let get = |k: &str| {
            data.get(k)
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .unwrap_or_default()
        };
        t.proxy = Some(Proxy {
            url: address,
            username: get("username"),
            password: get("password"),
        });
    }
    t.tls = match (&secrets.cert, &secrets.secret) {
        (Some(cert), _) => Some(tls_from(cert, &secret_name(&spec.cert_secret_ref))?),
        (None, Some(s)) if spec.provider_type.is_commit_status() && has_tls(s) => {
            Some(tls_from(s, &secret_name(&spec.secret_ref))?)
        }
        _ => None,
    };
    Ok(t)
}

fn has_tls(d: &SecretData) -> bool {
    ["ca.crt", "tls.crt", "tls.key"]
        .iter()
        .any(|k| d.contains_key(*k))
}

/// `ca.crt`, `tls.crt`, `tls.key` (or the legacy `caFile`, `certFile`,
/// `keyFile`); a certificate needs its key.
fn tls_from(d: &SecretData, secret: &str) -> Result<Tls, TargetError> {
    let pick = |new: &str, old: &str| d.get(new).or_else(|| d.get(old)).cloned();
    let tls = Tls {
        ca_pem: pick("ca.crt", "caFile"),
        cert_pem: pick("tls.crt", "certFile"),
        key_pem: pick("tls.key", "keyFile"),
    };
    if tls.cert_pem.is_some() != tls.key_pem.is_some() {
        return Err(TargetError::Tls {
            secret: secret.to_string(),
            detail: "tls.crt and tls.key must be given together".into(),
        });
    }
    if tls.ca_pem.is_none() && tls.cert_pem.is_none() {
        return Err(TargetError::Tls {
            secret: secret.to_string(),
            detail: "no 'ca.crt' or 'tls.crt' and 'tls.key' in the secret".into(),
        });
    }
    Ok(tls)
}

#[cfg(test)]
mod tests;
