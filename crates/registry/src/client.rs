//! A thin OCI distribution client: only what scanning needs, with every page
//! of `tags/list` followed and every failure named.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, LINK, RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::{Method, Response, StatusCode};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;
use sha2::Digest as _;
use url::Url;

use crate::auth::Auth;
use crate::manifest::{self, Descriptor, MAX_MANIFEST_BYTES, Manifest, hex};
use crate::name::ImageName;

const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// A registry call failed. Messages name the registry and repository (or the
/// URL holding both) and the HTTP status; never a credential or token.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{method} {url}: unexpected status code {status}{detail}")]
    Status {
        method: String,
        url: String,
        registry: String,
        repository: String,
        status: StatusCode,
        /// `: CODE: message` from the registry's error JSON, or empty.
        detail: String,
    },
    #[error("cannot connect to registry {registry} ({method} {url}): {detail}")]
    Connect {
        method: String,
        url: String,
        registry: String,
        detail: String,
    },
    #[error("tls handshake with registry {registry} failed ({method} {url}): {detail}")]
    Tls {
        method: String,
        url: String,
        registry: String,
        detail: String,
    },
    #[error(
        "timeout after {timeout:?} talking to registry {registry} for repository {repository}{}",
        last.as_deref().map(|l| format!("; last error: {l}")).unwrap_or_default()
    )]
    Timeout {
        registry: String,
        repository: String,
        timeout: Duration,
        last: Option<String>,
    },
    #[error("registry {registry}: invalid response from {url}: {detail}")]
    Decode {
        url: String,
        registry: String,
        detail: String,
    },
    #[error("registry {registry}: pagination of {repository} did not end: {detail}")]
    Pagination {
        registry: String,
        repository: String,
        detail: String,
    },
    #[error("registry {registry}: {what} of {repository} has digest {got}, expected {expected}")]
    Digest {
        registry: String,
        repository: String,
        what: String,
        expected: String,
        got: String,
    },
    #[error("registry {registry}: blob {digest} of {repository}: {detail}")]
    Blob {
        registry: String,
        repository: String,
        digest: String,
        detail: String,
    },
    #[error("invalid tag '{tag}' for {image}")]
    InvalidTag { image: String, tag: String },
    #[error("invalid tls configuration: {what}: {detail}")]
    TlsConfig { what: &'static str, detail: String },
    #[error("cannot build http client: {detail}")]
    Build { detail: String },
}

/// Retries of 429 and 5xx: `Retry-After` when the registry sends it, else
/// exponential backoff with jitter; always within [`Options::timeout`].
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Retries per request (not counting the first try).
    pub max_retries: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(30),
            max_retries: 10,
        }
    }
}

/// Extra trust and client identity (Flux `certSecretRef`: `ca.crt`,
/// `tls.crt`, `tls.key`).
#[derive(Clone, Default)]
pub struct TlsOptions {
    /// PEM CA certificates trusted in addition to the system roots.
    pub ca_pem: Option<Vec<u8>>,
    /// PEM client certificate chain for mTLS (needs `client_key_pem`).
    pub client_cert_pem: Option<Vec<u8>>,
    /// PEM private key for mTLS.
    pub client_key_pem: Option<Vec<u8>>,
    /// Load the system trust store (default true via [`Options::default`]).
    pub no_system_roots: bool,
    /// Accept any server certificate: OCIRepository's `insecure` without a
    /// `certSecretRef`, the one place Flux skips verification (for crane
    /// and other tools that push to self-signed registries).
    pub insecure_skip_verify: bool,
}

impl fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsOptions")
            .field("ca_pem", &self.ca_pem.as_ref().map(|c| c.len()))
            .field("client_cert_pem", &self.client_cert_pem.is_some())
            .field(
                "client_key_pem",
                &self.client_key_pem.as_ref().map(|_| "<redacted>"),
            )
            .field("no_system_roots", &self.no_system_roots)
            .field("insecure_skip_verify", &self.insecure_skip_verify)
            .finish()
    }
}

/// Client settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Bound of one operation (`list_tags`, `head_digest`) including retries
    /// and token exchanges: Flux `spec.timeout`.
    pub timeout: Duration,
    /// Requests per second per registry host, on average; 0 disables the
    /// limit.
    pub rate_limit: u32,
    /// Requests to one host that may go at once before `rate_limit` spaces
    /// them (a token bucket of this size): a controller's first pass over
    /// a fleet of repositories on one registry is not stretched to
    /// `fleet / rate_limit` seconds (Flux has no limit at all), while a
    /// loop still cannot exceed the rate for long. 0 counts as 1.
    pub rate_burst: u32,
    pub retry: RetryPolicy,
    pub tls: TlsOptions,
    /// `n` of `tags/list` (Flux/go-containerregistry use 1000).
    pub page_size: usize,
    pub user_agent: String,
    /// ferroflux's bounds on what a registry sends (Go's client has none):
    /// bytes of one response body ([`MAX_BODY_BYTES`]), pages of one scan
    /// ([`MAX_PAGES`]) and distinct tags of one repository ([`MAX_TAGS`]).
    pub max_body_bytes: usize,
    pub max_pages: usize,
    pub max_tags: usize,
}

/// 64 MiB: a `tags/list` page of 1000 tags is under 150 KiB.
pub const MAX_BODY_BYTES: usize = 64 << 20;
/// 10,000 pages: ten million tags at Flux's page size of 1000.
pub const MAX_PAGES: usize = 10_000;
/// 1,000,000 tags: more than any registry keeps for one repository.
pub const MAX_TAGS: usize = 1_000_000;
/// The part of an error response read for its message.
const MAX_ERROR_BODY_BYTES: usize = 64 << 10;

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: Duration::from_secs(60),
            rate_limit: 20,
            rate_burst: 100,
            retry: RetryPolicy::default(),
            tls: TlsOptions::default(),
            page_size: 1000,
            user_agent: format!("ferroflux/{}", env!("CARGO_PKG_VERSION")),
            max_body_bytes: MAX_BODY_BYTES,
            max_pages: MAX_PAGES,
            max_tags: MAX_TAGS,
        }
    }
}

/// Reported after each page of `tags/list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub pages: usize,
    pub tags: usize,
    pub more: bool,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct TokenKey {
    registry: String,
    scope: String,
    /// sha256 of the Basic header: tokens of other credentials never match.
    credentials: Option<String>,
}

#[derive(Default)]
struct State {
    tokens: HashMap<TokenKey, (String, Instant)>,
    basic_registries: HashSet<String>,
    next_slot: HashMap<String, Instant>,
    schemes: HashMap<String, &'static str>,
}

/// A registry client; cheap to clone, shares its token cache and rate limits.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    opts: Arc<Options>,
    state: Arc<Mutex<State>>,
    token_requests: Arc<std::sync::atomic::AtomicUsize>,
}

/// One operation: its image, credentials and deadline.
struct Call<'a> {
    image: &'a ImageName,
    auth: &'a Auth,
    deadline: Instant,
    scope: String,
    last_error: Option<String>,
}

impl Client {
    pub fn new(opts: Options) -> Result<Client, RegistryError> {
        let tls = tls_config(&opts.tls)?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .user_agent(opts.user_agent.clone())
            .build()
            .map_err(|e| RegistryError::Build {
                detail: error_chain(&e),
            })?;
        Ok(Client {
            http,
            opts: Arc::new(opts),
            state: Arc::default(),
            token_requests: Arc::default(),
        })
    }

    /// The same client (connections, token cache, rate limits) with another
    /// operation timeout, e.g. an ImageRepository's `spec.timeout`.
    pub fn with_timeout(&self, timeout: Duration) -> Client {
        Client {
            opts: Arc::new(Options {
                timeout,
                ..(*self.opts).clone()
            }),
            ..self.clone()
        }
    }

    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// Bearer tokens fetched so far (the cache's misses).
    pub fn token_requests(&self) -> usize {
        self.token_requests
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Every tag of the repository, in the registry's order, de-duplicated.
    pub async fn list_tags(
        &self,
        image: &ImageName,
        auth: &Auth,
    ) -> Result<Vec<String>, RegistryError> {
        self.list_tags_with_progress(image, auth, |_| {}).await
    }

    /// [`Client::list_tags`], reporting after each page.
    pub async fn list_tags_with_progress(
        &self,
        image: &ImageName,
        auth: &Auth,
        mut on_page: impl FnMut(Progress),
    ) -> Result<Vec<String>, RegistryError> {
        let mut call = self.call(image, auth);
        let base = self.base_url(&mut call).await?;
        let n = self.opts.page_size.max(1);
        let first = format!("{base}/v2/{}/tags/list?n={n}", image.repository());
        let mut url = parse_url(&first, image)?;
        let mut tags = Vec::new();
        let mut seen = HashSet::new();
        let mut visited = HashSet::new();
        let mut pages = 0;
        loop {
            if !visited.insert(url.to_string()) {
                return Err(RegistryError::Pagination {
                    registry: image.registry().to_owned(),
                    repository: image.repository().to_owned(),
                    detail: format!("next page {url} was already fetched"),
                });
            }
            let resp = self.send(&mut call, Method::GET, &url, None).await?;
            let next_link = next_link(resp.headers(), &url);
            let page: TagPage = decode_json(resp, &url, image, self.opts.max_body_bytes).await?;
            pages += 1;
            let page_len = page.tags.as_ref().map_or(0, Vec::len);
            let mut added = 0;
            let mut last = None;
            for tag in page.tags.unwrap_or_default() {
                if seen.insert(tag.clone()) {
                    added += 1;
                    tags.push(tag.clone());
                }
                last = Some(tag);
            }
            // No Link: ask for the page after the last tag while pages come
            // back full; stop when a page adds nothing (a registry that
            // ignores `last`, like distribution 2.8, returns everything).
            let next = match next_link {
                Some(next) => Some(next),
                None if page_len >= n && added > 0 => last.map(|last| {
                    let mut next = url.clone();
                    next.query_pairs_mut()
                        .clear()
                        .append_pair("n", &n.to_string())
                        .append_pair("last", &last);
                    next
                }),
                None => None,
            };
            let over = if tags.len() > self.opts.max_tags {
                Some(format!("more than {} tags", self.opts.max_tags))
            } else if next.is_some() && pages >= self.opts.max_pages {
                Some(format!("more than {} pages", self.opts.max_pages))
            } else {
                None
            };
            if let Some(over) = over {
                return Err(RegistryError::Pagination {
                    registry: image.registry().to_owned(),
                    repository: image.repository().to_owned(),
                    detail: format!("{over}, ferroflux's limit for one scan"),
                });
            }
            on_page(Progress {
                pages,
                tags: tags.len(),
                more: next.is_some(),
            });
            match next {
                Some(next) => url = next,
                None => return Ok(tags),
            }
        }
    }

    /// The digest of `image:tag` from `HEAD /v2/<name>/manifests/<tag>`
    /// (`Docker-Content-Digest`), else the sha256 of the manifest body.
    pub async fn head_digest(
        &self,
        image: &ImageName,
        tag: &str,
        auth: &Auth,
    ) -> Result<String, RegistryError> {
        if !valid_tag(tag) {
            return Err(RegistryError::InvalidTag {
                image: image.canonical(),
                tag: tag.to_owned(),
            });
        }
        let mut call = self.call(image, auth);
        let base = self.base_url(&mut call).await?;
        let url = parse_url(
            &format!("{base}/v2/{}/manifests/{tag}", image.repository()),
            image,
        )?;
        let resp = self
            .send(&mut call, Method::HEAD, &url, Some(MANIFEST_ACCEPT))
            .await?;
        if let Some(digest) = header_str(resp.headers(), "docker-content-digest") {
            return Ok(digest.to_owned());
        }
        let resp = self
            .send(&mut call, Method::GET, &url, Some(MANIFEST_ACCEPT))
            .await?;
        if let Some(digest) = header_str(resp.headers(), "docker-content-digest") {
            return Ok(digest.to_owned());
        }
        let body = read_body(resp, self.opts.max_body_bytes)
            .await
            .map_err(|detail| RegistryError::Decode {
                url: url.to_string(),
                registry: image.registry().to_owned(),
                detail,
            })?;
        Ok(format!("sha256:{}", hex(&sha2::Sha256::digest(&body))))
    }

    /// The manifest (or index) of `image:reference`, `reference` a tag or
    /// a `sha256:` digest: at most [`MAX_MANIFEST_BYTES`], its bytes
    /// hashing to the digest asked for and to the one the registry
    /// announces (`Docker-Content-Digest`).
    pub async fn get_manifest(
        &self,
        image: &ImageName,
        reference: &str,
        auth: &Auth,
    ) -> Result<Manifest, RegistryError> {
        let by_digest = reference.contains(':');
        if !(by_digest && manifest::is_sha256_digest(reference) || valid_tag(reference)) {
            return Err(RegistryError::InvalidTag {
                image: image.canonical(),
                tag: reference.to_owned(),
            });
        }
        let mut call = self.call(image, auth);
        let base = self.base_url(&mut call).await?;
        let url = parse_url(
            &format!("{base}/v2/{}/manifests/{reference}", image.repository()),
            image,
        )?;
        let resp = self
            .send(&mut call, Method::GET, &url, Some(MANIFEST_ACCEPT))
            .await?;
        let announced = header_str(resp.headers(), "docker-content-digest").map(str::to_owned);
        let content_type = header_str(resp.headers(), "content-type").map(str::to_owned);
        let limit = MAX_MANIFEST_BYTES.min(self.opts.max_body_bytes);
        let decode = |detail: String| RegistryError::Decode {
            url: url.to_string(),
            registry: image.registry().to_owned(),
            detail,
        };
        let body = read_body(resp, limit).await.map_err(decode)?;
        let mut expected: Vec<&str> = Vec::new();
        if by_digest {
            expected.push(reference);
        }
        // A registry may announce another algorithm than it was asked
        // by; only a sha256 announcement is checked.
        if let Some(a) = announced.as_deref().filter(|a| a.starts_with("sha256:")) {
            expected.push(a);
        }
        manifest::parse(&body, content_type.as_deref(), &expected).map_err(|e| match e {
            manifest::ManifestError::Digest { expected, got } => RegistryError::Digest {
                registry: image.registry().to_owned(),
                repository: image.repository().to_owned(),
                what: format!("manifest {reference}"),
                expected,
                got,
            },
            other => decode(other.to_string()),
        })
    }

    /// The blob `digest` of `image` written to `out`: at most `limit`
    /// bytes, exactly `size` when it is known (> 0), hashing to `digest`.
    /// On an error `out` holds a partial or wrong blob: the caller
    /// discards it. Returns the bytes written.
    pub async fn get_blob<W: std::io::Write + Send>(
        &self,
        image: &ImageName,
        blob: &Descriptor,
        limit: u64,
        auth: &Auth,
        out: &mut W,
    ) -> Result<u64, RegistryError> {
        let blob_error = |detail: String| RegistryError::Blob {
            registry: image.registry().to_owned(),
            repository: image.repository().to_owned(),
            digest: blob.digest.clone(),
            detail,
        };
        if !manifest::is_sha256_digest(&blob.digest) {
            return Err(blob_error(
                "unsupported digest (only sha256 is verified)".to_owned(),
            ));
        }
        let size = u64::try_from(blob.size).unwrap_or(0);
        if size > limit {
            return Err(blob_error(format!(
                "size {size} is over {limit} bytes, ferroflux's limit"
            )));
        }
        let mut call = self.call(image, auth);
        let base = self.base_url(&mut call).await?;
        let url = parse_url(
            &format!("{base}/v2/{}/blobs/{}", image.repository(), blob.digest),
            image,
        )?;
        let mut resp = self.send(&mut call, Method::GET, &url, None).await?;
        let bound = if size > 0 { size } else { limit };
        if resp.content_length().is_some_and(|n| n > bound) {
            return Err(blob_error(format!(
                "the registry announces more than {bound} bytes"
            )));
        }
        let mut hasher = sha2::Sha256::new();
        let mut written: u64 = 0;
        loop {
            let chunk = match resp.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(e) if e.is_timeout() => return Err(timeout_error(&call, &self.opts)),
                Err(e) => return Err(blob_error(format!("reading: {}", error_chain(&e)))),
            };
            written = written.saturating_add(chunk.len() as u64);
            if written > bound {
                return Err(blob_error(format!("more than {bound} bytes served")));
            }
            hasher.update(&chunk);
            out.write_all(&chunk)
                .map_err(|e| blob_error(format!("writing: {e}")))?;
        }
        if size > 0 && written != size {
            return Err(blob_error(format!(
                "{written} bytes served, the manifest says {size}"
            )));
        }
        let got = format!("sha256:{}", hex(&hasher.finalize()));
        if got != blob.digest {
            return Err(RegistryError::Digest {
                registry: image.registry().to_owned(),
                repository: image.repository().to_owned(),
                what: "blob".to_owned(),
                expected: blob.digest.clone(),
                got,
            });
        }
        Ok(written)
    }

    fn call<'a>(&self, image: &'a ImageName, auth: &'a Auth) -> Call<'a> {
        Call {
            image,
            auth,
            deadline: later(Instant::now(), self.opts.timeout),
            scope: format!("repository:{}:pull", image.repository()),
            last_error: None,
        }
    }

    /// `https://host`, or for `insecure` images whichever of https and http
    /// answers `/v2/` (go-containerregistry's ping order), remembered.
    async fn base_url(&self, call: &mut Call<'_>) -> Result<String, RegistryError> {
        let registry = call.image.registry();
        if !call.image.insecure() {
            return Ok(format!("https://{registry}"));
        }
        if let Some(scheme) = self.lock().schemes.get(registry) {
            return Ok(format!("{scheme}://{registry}"));
        }
        let ping = parse_url(&format!("https://{registry}/v2/"), call.image)?;
        let remaining = remaining(call)?;
        let scheme = match self.http.get(ping).timeout(remaining).send().await {
            Ok(_) => "https",
            Err(e) if e.is_timeout() => return Err(timeout_error(call, &self.opts)),
            Err(_) => "http",
        };
        self.lock().schemes.insert(registry.to_owned(), scheme);
        Ok(format!("{scheme}://{registry}"))
    }

    /// One request with authentication: answers a 401 challenge once (Basic
    /// or Bearer token), then returns any 2xx or fails with the status.
    async fn send(
        &self,
        call: &mut Call<'_>,
        method: Method,
        url: &Url,
        accept: Option<&str>,
    ) -> Result<Response, RegistryError> {
        let mut answered_challenge = false;
        loop {
            let auth_header = self.auth_header(call);
            let resp = self
                .send_with_retry(call, &method, url, accept, auth_header.as_deref())
                .await?;
            let status = resp.status();
            if status.is_success() {
                return Ok(resp);
            }
            if status == StatusCode::UNAUTHORIZED && !answered_challenge {
                answered_challenge = true;
                let challenge =
                    header_str(resp.headers(), WWW_AUTHENTICATE.as_str()).map(parse_challenge);
                match challenge {
                    Some(Challenge::Bearer(params)) => {
                        self.fetch_token(call, &params).await?;
                        continue;
                    }
                    Some(Challenge::Basic) if call.auth.basic_header().is_some() => {
                        self.lock()
                            .basic_registries
                            .insert(call.image.registry().to_owned());
                        continue;
                    }
                    _ => {}
                }
            }
            return Err(status_error(resp, &method, call.image).await);
        }
    }

    fn auth_header(&self, call: &Call<'_>) -> Option<String> {
        let key = TokenKey {
            registry: call.image.registry().to_owned(),
            scope: call.scope.clone(),
            credentials: credentials_fingerprint(call.auth),
        };
        let state = self.lock();
        if let Some((token, expiry)) = state.tokens.get(&key)
            && Instant::now() < *expiry
        {
            return Some(format!("Bearer {token}"));
        }
        if state.basic_registries.contains(call.image.registry()) {
            return call.auth.basic_header();
        }
        None
    }

    /// Exchange the credentials for a token at the challenge's realm and
    /// cache it until `expires_in` (60s when absent, per the token spec).
    async fn fetch_token(
        &self,
        call: &mut Call<'_>,
        params: &HashMap<String, String>,
    ) -> Result<(), RegistryError> {
        let registry = call.image.registry().to_owned();
        let realm = params.get("realm").ok_or_else(|| RegistryError::Decode {
            url: registry.clone(),
            registry: registry.clone(),
            detail: "bearer challenge without realm".to_owned(),
        })?;
        let mut url = parse_url(realm, call.image)?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(service) = params.get("service") {
                query.append_pair("service", service);
            }
            let scope = params.get("scope").unwrap_or(&call.scope);
            query.append_pair("scope", scope);
        }
        self.token_requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // A challenge is hostile input: a realm elsewhere over plain http
        // gets an anonymous token request, never the credentials.
        let basic = call
            .auth
            .basic_header()
            .filter(|_| may_send_credentials(&url, &registry));
        let resp = self
            .send_with_retry(call, &Method::GET, &url, None, basic.as_deref())
            .await?;
        if !resp.status().is_success() {
            return Err(status_error(resp, &Method::GET, call.image).await);
        }
        let token: TokenResponse =
            decode_json(resp, &url, call.image, self.opts.max_body_bytes).await?;
        let value = token
            .token
            .or(token.access_token)
            .ok_or_else(|| RegistryError::Decode {
                url: url.to_string(),
                registry: registry.clone(),
                detail: "token response has neither 'token' nor 'access_token'".to_owned(),
            })?;
        let expiry = token_expiry(Instant::now(), token.expires_in);
        let key = TokenKey {
            registry,
            scope: call.scope.clone(),
            credentials: credentials_fingerprint(call.auth),
        };
        self.lock().tokens.insert(key, (value, expiry));
        Ok(())
    }

    /// Send with the rate limit; retry 429 and 5xx until the deadline.
    /// Returns any other response, success or not.
    async fn send_with_retry(
        &self,
        call: &mut Call<'_>,
        method: &Method,
        url: &Url,
        accept: Option<&str>,
        authorization: Option<&str>,
    ) -> Result<Response, RegistryError> {
        let mut retries = 0;
        loop {
            self.throttle(call).await?;
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .timeout(remaining(call)?);
            if let Some(accept) = accept {
                req = req.header(ACCEPT, accept);
            }
            if let Some(value) = authorization {
                req = req.header(AUTHORIZATION, value);
            }
            let resp = match req.send().await {
                Ok(resp) => resp,
                Err(e) if e.is_timeout() => return Err(timeout_error(call, &self.opts)),
                Err(e) => return Err(transport_error(&e, method, url, call.image)),
            };
            let status = resp.status();
            let retryable = status == StatusCode::TOO_MANY_REQUESTS
                || (status.is_server_error() && status != StatusCode::NOT_IMPLEMENTED);
            if !retryable {
                return Ok(resp);
            }
            let wait = retry_after(resp.headers(), SystemTime::now())
                .unwrap_or_else(|| backoff(&self.opts.retry, retries));
            let err = status_error(resp, method, call.image).await;
            if retries >= self.opts.retry.max_retries {
                return Err(err);
            }
            call.last_error = Some(err.to_string());
            if later(Instant::now(), wait) >= call.deadline {
                return Err(timeout_error(call, &self.opts));
            }
            tokio::time::sleep(wait).await;
            retries += 1;
        }
    }

    /// Let requests to one registry through at `rate_limit` per second on
    /// average, `rate_burst` at once (GCRA: each request moves the host's
    /// theoretical arrival time on by one interval; a request waits while
    /// that time is more than `burst - 1` intervals ahead of now).
    async fn throttle(&self, call: &Call<'_>) -> Result<(), RegistryError> {
        if self.opts.rate_limit == 0 {
            return Ok(());
        }
        let interval = Duration::from_secs(1) / self.opts.rate_limit;
        let tolerance = interval.saturating_mul(self.opts.rate_burst.max(1) - 1);
        let now = Instant::now();
        let slot = {
            let mut state = self.lock();
            let next = state
                .next_slot
                .entry(call.image.registry().to_owned())
                .or_insert(now);
            let tat = (*next).max(now);
            let slot = tat.checked_sub(tolerance).map_or(now, |s| s.max(now));
            *next = tat + interval;
            slot
        };
        if slot >= call.deadline {
            return Err(timeout_error(call, &self.opts));
        }
        if slot > now {
            tokio::time::sleep_until(slot.into()).await;
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock leaves only caches behind, which
        // stay valid: recover instead of propagating the poison.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[derive(Deserialize)]
pub(crate) struct TagPage {
    #[serde(default)]
    pub(crate) tags: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<ErrorEntry>,
}

#[derive(Deserialize)]
struct ErrorEntry {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Challenge {
    Basic,
    Bearer(HashMap<String, String>),
    Other,
}

fn credentials_fingerprint(auth: &Auth) -> Option<String> {
    auth.basic_header()
        .map(|h| hex(&sha2::Sha256::digest(h.as_bytes())))
}

fn remaining(call: &Call<'_>) -> Result<Duration, RegistryError> {
    let left = call.deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(RegistryError::Timeout {
            registry: call.image.registry().to_owned(),
            repository: call.image.repository().to_owned(),
            timeout: Duration::ZERO,
            last: call.last_error.clone(),
        });
    }
    Ok(left)
}

fn timeout_error(call: &Call<'_>, opts: &Options) -> RegistryError {
    RegistryError::Timeout {
        registry: call.image.registry().to_owned(),
        repository: call.image.repository().to_owned(),
        timeout: opts.timeout,
        last: call.last_error.clone(),
    }
}

/// Credentials go to the registry's own host, or to a token realm on
/// another host only over https.
fn may_send_credentials(realm: &Url, registry: &str) -> bool {
    let registry_host = Url::parse(&format!("http://{registry}/"))
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase));
    let realm_host = realm.host_str().map(str::to_ascii_lowercase);
    realm.scheme() == "https" || (realm_host.is_some() && realm_host == registry_host)
}

fn parse_url(url: &str, image: &ImageName) -> Result<Url, RegistryError> {
    Url::parse(url).map_err(|e| RegistryError::Decode {
        url: url.to_owned(),
        registry: image.registry().to_owned(),
        detail: format!("invalid url: {e}"),
    })
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn decode_json<T: for<'de> Deserialize<'de>>(
    resp: Response,
    url: &Url,
    image: &ImageName,
    limit: usize,
) -> Result<T, RegistryError> {
    let decode = |detail: String| RegistryError::Decode {
        url: url.to_string(),
        registry: image.registry().to_owned(),
        detail,
    };
    let body = read_body(resp, limit).await.map_err(decode)?;
    serde_json::from_slice(&body).map_err(|e| decode(e.to_string()))
}

/// The body, refused once it passes `limit` bytes (by `Content-Length` or
/// as it streams in).
async fn read_body(mut resp: Response, limit: usize) -> Result<Vec<u8>, String> {
    let over = || format!("response body over {limit} bytes, ferroflux's limit");
    if resp
        .content_length()
        .is_some_and(|n| n > u64::try_from(limit).unwrap_or(u64::MAX))
    {
        return Err(over());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| error_chain(&e))? {
        if body.len().saturating_add(chunk.len()) > limit {
            return Err(over());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// At most `limit` bytes of the body, for an error message.
async fn read_prefix(mut resp: Response, limit: usize) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        let room = limit.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= limit {
            break;
        }
    }
    body
}

async fn status_error(resp: Response, method: &Method, image: &ImageName) -> RegistryError {
    let status = resp.status();
    let url = resp.url().to_string();
    let body = read_prefix(resp, MAX_ERROR_BODY_BYTES).await;
    let detail = serde_json::from_slice::<ErrorBody>(&body)
        .ok()
        .filter(|b| !b.errors.is_empty())
        .map(|b| {
            let parts: Vec<String> = b
                .errors
                .iter()
                .map(|e| match (e.code.is_empty(), e.message.is_empty()) {
                    (false, false) => format!("{}: {}", e.code, e.message),
                    (false, true) => e.code.clone(),
                    _ => e.message.clone(),
                })
                .collect();
            format!(": {}", parts.join("; "))
        })
        .unwrap_or_default();
    RegistryError::Status {
        method: method.to_string(),
        url,
        registry: image.registry().to_owned(),
        repository: image.repository().to_owned(),
        status,
        detail,
    }
}

fn transport_error(
    e: &reqwest::Error,
    method: &Method,
    url: &Url,
    image: &ImageName,
) -> RegistryError {
    let detail = error_chain(e);
    if let Some(tls) = find_rustls_error(e) {
        return RegistryError::Tls {
            method: method.to_string(),
            url: url.to_string(),
            registry: image.registry().to_owned(),
            detail: tls,
        };
    }
    RegistryError::Connect {
        method: method.to_string(),
        url: url.to_string(),
        registry: image.registry().to_owned(),
        detail,
    }
}

/// The TLS part of a transport error: a `rustls::Error` in the chain (it
/// may travel inside an `io::Error`, whose `source()` skips it), else a part
/// of the message that only rustls produces.
fn find_rustls_error(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    const TLS_MARKERS: [&str; 6] = [
        "invalid peer certificate",
        "received fatal alert",
        "peer sent no certificates",
        "peer is incompatible",
        "peer misbehaved",
        "invalid certificate",
    ];
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(tls.to_string());
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && let Some(tls) = inner.downcast_ref::<rustls::Error>()
        {
            return Some(tls.to_string());
        }
        let text = err.to_string();
        if let Some(at) = TLS_MARKERS.iter().filter_map(|m| text.find(m)).min() {
            return Some(text[at..].to_owned());
        }
        current = err.source();
    }
    None
}

/// `a: b: c` from an error and its sources, without repeated parts.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        let text = err.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = err.source();
    }
    parts.join(": ")
}

/// `Link: <url>; rel="next"` resolved against the current page's URL.
pub(crate) fn next_link(headers: &HeaderMap, current: &Url) -> Option<Url> {
    for value in headers.get_all(LINK) {
        let Ok(value) = value.to_str() else { continue };
        for link in value.split(',') {
            let mut parts = link.split(';');
            let target = parts.next()?.trim();
            let Some(target) = target.strip_prefix('<').and_then(|t| t.strip_suffix('>')) else {
                continue;
            };
            let is_next = parts.any(|p| {
                let p = p.trim();
                p.strip_prefix("rel=")
                    .map(|r| r.trim_matches('"').split_whitespace().any(|r| r == "next"))
                    .unwrap_or(false)
            });
            if is_next {
                return current.join(target).ok();
            }
        }
    }
    None
}

/// `WWW-Authenticate: Bearer realm="..",service="..",scope=".."`.
pub(crate) fn parse_challenge(value: &str) -> Challenge {
    let value = value.trim();
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Challenge::Basic;
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Challenge::Other;
    }
    let mut params = HashMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        let mut val = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            val.push(n);
                        }
                    }
                    '"' => break,
                    c => val.push(c),
                }
            }
        } else {
            while let Some(c) = chars.peek() {
                if *c == ',' {
                    break;
                }
                val.push(*c);
                chars.next();
            }
        }
        params.insert(key.trim().to_ascii_lowercase(), val.trim().to_owned());
    }
    Challenge::Bearer(params)
}

/// Longest a bearer token is cached, whatever its `expires_in` says.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// The farthest point [`later`] reaches: far enough to mean "never",
/// near enough that no platform's clock overflows.
const FAR_FUTURE: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// `now + d` without the panic of `Instant + Duration` on a stranger's
/// number (`Retry-After`, `expires_in`) or a `spec.timeout`: saturates at
/// [`FAR_FUTURE`].
fn later(now: Instant, d: Duration) -> Instant {
    now.checked_add(d.min(FAR_FUTURE))
        .or_else(|| now.checked_add(Duration::from_secs(3600)))
        .unwrap_or(now)
}

/// When a token fetched `now` is renewed: 90% of `expires_in` (60s when
/// absent, per the token spec), at least 1s and at most
/// [`MAX_TOKEN_LIFETIME`], so a token does not expire in flight.
fn token_expiry(now: Instant, expires_in: Option<u64>) -> Instant {
    let secs = expires_in
        .unwrap_or(60)
        .clamp(1, MAX_TOKEN_LIFETIME.as_secs());
    later(now, Duration::from_secs(secs).mul_f64(0.9))
}

/// `Retry-After` as delay-seconds or an HTTP date.
fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = header_str(headers, RETRY_AFTER.as_str())?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// `initial * 2^retry`, capped, with jitter in [50%, 100%].
fn backoff(policy: &RetryPolicy, retry: u32) -> Duration {
    let base = policy
        .initial_backoff
        .saturating_mul(1u32 << retry.min(20))
        .min(policy.max_backoff);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(retry);
    let unit = (hasher.finish() % 1000) as f64 / 1000.0;
    base.mul_f64(0.5 + unit / 2.0)
}

/// A tag as the distribution spec allows it (`[A-Za-z0-9_.-]{1,128}`).
fn valid_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 128
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// The system's trusted roots, read and parsed once per process: a
/// controller builds a client per `certSecretRef`, and reading the system
/// bundle each time cost tens of milliseconds per ImageRepository.
fn system_roots() -> &'static rustls::RootCertStore {
    static ROOTS: std::sync::OnceLock<rustls::RootCertStore> = std::sync::OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut roots = rustls::RootCertStore::empty();
        // Unreadable system certificates are skipped, as Go's x509 does.
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        roots
    })
}

fn tls_config(opts: &TlsOptions) -> Result<rustls::ClientConfig, RegistryError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = if opts.no_system_roots {
        rustls::RootCertStore::empty()
    } else {
        system_roots().clone()
    };
    if let Some(pem) = &opts.ca_pem {
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| RegistryError::TlsConfig {
                what: "ca certificate",
                detail: e.to_string(),
            })?;
            roots.add(cert).map_err(|e| RegistryError::TlsConfig {
                what: "ca certificate",
                detail: e.to_string(),
            })?;
            added += 1;
        }
        if added == 0 {
            return Err(RegistryError::TlsConfig {
                what: "ca certificate",
                detail: "no PEM certificate found".to_owned(),
            });
        }
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| RegistryError::TlsConfig {
            what: "protocol versions",
            detail: e.to_string(),
        })?;
    let builder = if opts.insecure_skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
    } else {
        builder.with_root_certificates(roots)
    };
    let config = match (&opts.client_cert_pem, &opts.client_key_pem) {
        (None, None) => builder.with_no_client_auth(),
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_slice_iter(cert)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| RegistryError::TlsConfig {
                    what: "client certificate",
                    detail: e.to_string(),
                })?;
            // Only the PEM parser's error kind is shown, never key bytes.
            let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| RegistryError::TlsConfig {
                what: "client key",
                detail: pem_error_kind(&e),
            })?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| RegistryError::TlsConfig {
                    what: "client certificate",
                    detail: e.to_string(),
                })?
        }
        _ => {
            return Err(RegistryError::TlsConfig {
                what: "client certificate",
                detail: "tls.crt and tls.key must be given together".to_owned(),
            });
        }
    };
    Ok(config)
}

/// A verifier that accepts every certificate but still checks the
/// handshake signatures ([`TlsOptions::insecure_skip_verify`]).
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn pem_error_kind(e: &rustls::pki_types::pem::Error) -> String {
    use rustls::pki_types::pem::Error;
    match e {
        Error::NoItemsFound => "no PEM private key found".to_owned(),
        Error::MissingSectionEnd { .. } | Error::IllegalSectionStart { .. } => {
            "malformed PEM section".to_owned()
        }
        Error::Base64Decode(_) => "invalid base64 in PEM".to_owned(),
        _ => "unreadable PEM private key".to_owned(),
    }
}

#[cfg(test)]
mod tests;
