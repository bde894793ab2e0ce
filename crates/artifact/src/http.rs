//! One bounded HTTP GET with a source's credentials (Helm's `HTTPGetter`
//! as source-controller configures it for a HelmRepository): Basic auth
//! sent only to the host the credentials belong to unless
//! `passCredentials`, TLS trusting the system roots plus a `ca.crt` and
//! presenting a client certificate (`tls.crt`/`tls.key`), a deadline for
//! the whole request, and a bound on the body (Helm reads it all; a
//! stranger's server is not trusted here).
//!
//! Messages are Helm's (`failed to fetch <url> : 401 Unauthorized`) and
//! never carry a credential, a key or a body.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

#[cfg(test)]
mod tests;

/// Basic auth credentials (Debug shows the user only).
#[derive(Clone, PartialEq, Eq)]
pub struct BasicAuth {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicAuth")
            .field("username", &self.username)
            .field("password", &"***")
            .finish()
    }
}

/// TLS material of a `certSecretRef` (PEM; Debug shows which are set).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TlsMaterial {
    /// `ca.crt`: trusted besides the system roots.
    pub ca_pem: Option<Vec<u8>>,
    /// `tls.crt` and `tls.key`: the client certificate (mTLS).
    pub cert_pem: Option<Vec<u8>>,
    pub key_pem: Option<Vec<u8>>,
}

impl fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("ca", &self.ca_pem.is_some())
            .field("cert", &self.cert_pem.is_some())
            .field("key", &self.key_pem.as_ref().map(|_| "***"))
            .finish()
    }
}

impl TlsMaterial {
    pub fn is_empty(&self) -> bool {
        self.ca_pem.is_none() && self.cert_pem.is_none() && self.key_pem.is_none()
    }
}

/// How to GET.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    pub basic_auth: Option<BasicAuth>,
    /// The URL the credentials belong to (the repository's): they are sent
    /// only to its scheme, host and port unless `pass_credentials`.
    pub credentials_url: String,
    /// `spec.passCredentials`: send them to any host.
    pub pass_credentials: bool,
    pub tls: TlsMaterial,
    /// The whole request, body included (`spec.timeout`).
    pub timeout: Duration,
    /// Most bytes of the body.
    pub max_bytes: u64,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            basic_auth: None,
            credentials_url: String::new(),
            pass_credentials: false,
            tls: TlsMaterial::default(),
            timeout: Duration::from_secs(60),
            max_bytes: 50 << 20,
        }
    }
}

/// Why a GET failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// A non-2xx answer, as Helm's getter words it.
    #[error("failed to fetch {url} : {status}")]
    Status { url: String, status: String },
    #[error("Get \"{url}\": {detail}")]
    Transport { url: String, detail: String },
    /// The server's certificate was refused, or ours.
    #[error("Get \"{url}\": tls: {detail}")]
    Tls { url: String, detail: String },
    #[error("Get \"{url}\": response body larger than {limit} bytes")]
    TooLarge { url: String, limit: u64 },
    #[error("Get \"{url}\": timeout after {timeout:?}")]
    Timeout { url: String, timeout: Duration },
    /// The TLS material could not be used (names the key, never its bytes).
    #[error("failed to construct Helm client's TLS config: {0}")]
    TlsConfig(String),
    #[error("invalid URL '{url}': {detail}")]
    Url { url: String, detail: String },
}

impl HttpError {
    /// An authentication failure (401/403) or a TLS refusal: what Flux
    /// reports as `AuthenticationFailed`.
    pub fn is_auth(&self) -> bool {
        match self {
            HttpError::Status { status, .. } => {
                status.starts_with("401") || status.starts_with("403")
            }
            HttpError::Tls { .. } | HttpError::TlsConfig(_) => true,
            _ => false,
        }
    }
}

/// `url` without its userinfo (for messages).
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// Whether the credentials of `credentials_url` go to `url` (Helm's
/// getter: same scheme, host and port unless `passCredentials`).
pub fn sends_credentials(credentials_url: &str, url: &str, pass_credentials: bool) -> bool {
    if pass_credentials {
        return true;
    }
    match (url::Url::parse(credentials_url), url::Url::parse(url)) {
        (Ok(a), Ok(b)) => {
            a.scheme() == b.scheme()
                && a.host_str() == b.host_str()
                && a.port_or_known_default() == b.port_or_known_default()
        }
        _ => false,
    }
}

/// The client's TLS configuration: system roots plus `ca.crt`, and the
/// client certificate when both `tls.crt` and `tls.key` are given.
pub fn tls_config(m: &TlsMaterial) -> Result<rustls::ClientConfig, HttpError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = system_roots().clone();
    if let Some(pem) = &m.ca_pem {
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| HttpError::TlsConfig(format!("ca.crt: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| HttpError::TlsConfig(format!("ca.crt: {e}")))?;
            added += 1;
        }
        if added == 0 {
            return Err(HttpError::TlsConfig(
                "ca.crt: no PEM certificate found".into(),
            ));
        }
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| HttpError::TlsConfig(e.to_string()))?
        .with_root_certificates(roots);
    match (&m.cert_pem, &m.key_pem) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_slice_iter(cert)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| HttpError::TlsConfig(format!("tls.crt: {e}")))?;
            if chain.is_empty() {
                return Err(HttpError::TlsConfig(
                    "tls.crt: no PEM certificate found".into(),
                ));
            }
            // Only that the key is unreadable, never its bytes.
            let key = PrivateKeyDer::from_pem_slice(key)
                .map_err(|_| HttpError::TlsConfig("tls.key: unreadable PEM private key".into()))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| HttpError::TlsConfig(format!("tls.crt: {e}")))
        }
        (None, None) => Ok(builder.with_no_client_auth()),
        _ => Err(HttpError::TlsConfig(
            "tls.crt and tls.key must be given together".into(),
        )),
    }
}

/// An error and its causes, `: `-joined.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

/// Whether a transport error is a TLS refusal.
fn is_tls(chain: &str) -> bool {
    chain.contains("certificate") || chain.contains("tls") || chain.contains("TLS")
}

/// The system's trusted roots, read and parsed once per process (as Go's
/// `x509.SystemCertPool`): reading the bundle took a quarter of the
/// controller's CPU when every chart download read it again.
fn system_roots() -> &'static rustls::RootCertStore {
    static ROOTS: OnceLock<rustls::RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut roots = rustls::RootCertStore::empty();
        // Unreadable system certificates are skipped, as Go's x509 does.
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        roots
    })
}

/// A client with `config`.
fn client_of(config: rustls::ClientConfig) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .user_agent(concat!("ferroflux/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| error_chain(&e))
}

/// The client of every request without TLS material of its own, built
/// once: its connections are kept between requests (credentials go per
/// request, in a header).
pub(crate) fn shared_client() -> Result<reqwest::Client, String> {
    static CLIENT: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            tls_config(&TlsMaterial::default())
                .map_err(|e| e.to_string())
                .and_then(client_of)
        })
        .clone()
}

/// GET `url` with `opts`: the body, at most `opts.max_bytes`.
pub async fn get(url: &str, opts: &HttpOptions) -> Result<Vec<u8>, HttpError> {
    let shown = redact(url);
    url::Url::parse(url).map_err(|e| HttpError::Url {
        url: shown.clone(),
        detail: e.to_string(),
    })?;
    let client = if opts.tls.is_empty() {
        shared_client()
    } else {
        client_of(tls_config(&opts.tls)?)
    }
    .map_err(|detail| HttpError::Transport {
        url: shown.clone(),
        detail,
    })?;
    let mut req = client.get(url);
    // Helm's getter: both set, and only to the credentials' own host.
    if let Some(a) = &opts.basic_auth
        && !a.username.is_empty()
        && !a.password.is_empty()
        && sends_credentials(&opts.credentials_url, url, opts.pass_credentials)
    {
        req = req.basic_auth(&a.username, Some(&a.password));
    }
    let transport = |e: reqwest::Error| {
        let detail = error_chain(&e.without_url());
        if is_tls(&detail) {
            HttpError::Tls {
                url: shown.clone(),
                detail,
            }
        } else {
            HttpError::Transport {
                url: shown.clone(),
                detail,
            }
        }
    };
    let work = async {
        let mut resp = req.send().await.map_err(transport)?;
        let status = resp.status();
        if !status.is_success() {
            return Err(HttpError::Status {
                url: shown.clone(),
                status: status.to_string(),
            });
        }
        let too_large = || HttpError::TooLarge {
            url: shown.clone(),
            limit: opts.max_bytes,
        };
        if resp.content_length().is_some_and(|n| n > opts.max_bytes) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(transport)? {
            if (body.len() + chunk.len()) as u64 > opts.max_bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    };
    match tokio::time::timeout(opts.timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(HttpError::Timeout {
            url: shown.clone(),
            timeout: opts.timeout,
        }),
    }
}
