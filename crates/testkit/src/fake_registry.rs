//! A fake OCI registry (axum, plain HTTP on loopback) for what distribution
//! 2.8 cannot do: `Link` pagination of `tags/list`, the Bearer token
//! challenge with a token endpoint, 429/5xx with `Retry-After`, and canned
//! (hostile) manifests and blobs.
//! Counters let tests check how many requests and token exchanges happened.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;

/// How `tags/list` announces the next page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LinkStyle {
    /// `Link: </v2/<name>/tags/list?n=..&last=..>; rel="next"` (distribution 3).
    #[default]
    Relative,
    /// `Link: <http://127.0.0.1:port/v2/...>; rel="next"`.
    Absolute,
    /// No header: clients must continue with `n`/`last` themselves.
    None,
}

/// Token-protected registry, as Docker Hub, GHCR, Harbor and Quay are.
#[derive(Debug, Clone)]
pub struct Bearer {
    /// Basic credentials the token endpoint wants; `None` = anonymous tokens.
    pub credentials: Option<(String, String)>,
    /// `expires_in` of issued tokens, seconds.
    pub expires_in: u64,
}

/// What the fake serves and how it misbehaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// repository → tags (served sorted, as distribution does).
    pub repositories: BTreeMap<String, Vec<String>>,
    /// Largest page the server returns whatever `n` asks for.
    pub max_page: usize,
    pub links: LinkStyle,
    pub bearer: Option<Bearer>,
    /// The first this-many `tags/list` requests get 429.
    pub throttle: usize,
    /// `Retry-After` sent with 429/5xx answers.
    pub retry_after: Option<String>,
    /// Every `tags/list` request fails with this status.
    pub fail_status: Option<u16>,
    /// Answers served as they are, by path under `/v2/`
    /// (`org/app/manifests/1.0.0`, `org/app/blobs/sha256:...`): the
    /// manifests and blobs of hostile tests.
    pub objects: BTreeMap<String, Served>,
}

/// One canned answer of [`Options::objects`].
#[derive(Debug, Clone, Default)]
pub struct Served {
    pub content_type: String,
    pub body: Vec<u8>,
    /// `Docker-Content-Digest`, when set (it may lie).
    pub digest: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            repositories: BTreeMap::new(),
            max_page: 100,
            links: LinkStyle::default(),
            bearer: None,
            throttle: 0,
            retry_after: None,
            fail_status: None,
            objects: BTreeMap::new(),
        }
    }
}

/// Request counters.
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicUsize,
    pub tag_requests: AtomicUsize,
    pub token_requests: AtomicUsize,
    pub rejected: AtomicUsize,
}

impl Stats {
    pub fn get(counter: &AtomicUsize) -> usize {
        counter.load(Ordering::SeqCst)
    }
}

struct Shared {
    opts: Options,
    addr: SocketAddr,
    stats: Arc<Stats>,
    tokens: Mutex<HashSet<String>>,
}

/// A running fake; stops when dropped.
pub struct FakeRegistry {
    addr: SocketAddr,
    stats: Arc<Stats>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeRegistry {
    /// Serve on 127.0.0.1 with a free port, on the current tokio runtime.
    pub async fn start(opts: Options) -> FakeRegistry {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake registry");
        let addr = listener.local_addr().expect("fake registry address");
        let stats = Arc::new(Stats::default());
        let mut opts = opts;
        for tags in opts.repositories.values_mut() {
            tags.sort();
        }
        let shared = Arc::new(Shared {
            opts,
            addr,
            stats: stats.clone(),
            tokens: Mutex::new(HashSet::new()),
        });
        let app = Router::new()
            .route("/token", get(token))
            .route("/v2/", get(ping))
            .route("/v2/{*rest}", get(v2).head(v2))
            .with_state(shared);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeRegistry { addr, stats, task }
    }

    /// `127.0.0.1:<port>`.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// `127.0.0.1:<port>/<repository>`.
    pub fn image(&self, repository: &str) -> String {
        format!("{}/{repository}", self.addr)
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The digest the fake reports for `repository:tag`.
    pub fn digest(repository: &str, tag: &str) -> String {
        crate::registry::sha256(format!("{repository}:{tag}").as_bytes())
    }
}

impl Drop for FakeRegistry {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn error_json(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({"errors": [{"code": code, "message": message}]});
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// `Some(401 response)` when the request lacks a valid token.
fn rejection(shared: &Shared, headers: &HeaderMap, repository: &str) -> Option<Response> {
    shared.opts.bearer.as_ref()?;
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let valid = token.is_some_and(|t| {
        shared
            .tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(t)
    });
    if valid {
        return None;
    }
    shared.stats.rejected.fetch_add(1, Ordering::SeqCst);
    let challenge = format!(
        "Bearer realm=\"http://{}/token\",service=\"fake-registry\",scope=\"repository:{repository}:pull\"",
        shared.addr
    );
    let mut resp = error_json(
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
        "authentication required",
    );
    resp.headers_mut().insert(
        "www-authenticate",
        challenge.parse().expect("challenge header"),
    );
    Some(resp)
}

async fn ping(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    shared.stats.requests.fetch_add(1, Ordering::SeqCst);
    match rejection(&shared, &headers, "") {
        None => (StatusCode::OK, "{}").into_response(),
        Some(resp) => resp,
    }
}

async fn token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    shared.stats.requests.fetch_add(1, Ordering::SeqCst);
    let n = shared.stats.token_requests.fetch_add(1, Ordering::SeqCst) + 1;
    let Some(bearer) = &shared.opts.bearer else {
        return error_json(StatusCode::NOT_FOUND, "NOT_FOUND", "no token endpoint");
    };
    if query.get("service").map(String::as_str) != Some("fake-registry") {
        return error_json(StatusCode::BAD_REQUEST, "DENIED", "unknown service");
    }
    if let Some((user, pass)) = &bearer.credentials {
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
        );
        let given = headers.get("authorization").and_then(|v| v.to_str().ok());
        if given != Some(expected.as_str()) {
            return error_json(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                "incorrect username or password",
            );
        }
    }
    let token = format!("fake-token-{n}");
    shared
        .tokens
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(token.clone());
    let body = serde_json::json!({"token": token, "expires_in": bearer.expires_in});
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn v2(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    shared.stats.requests.fetch_add(1, Ordering::SeqCst);
    let path = uri.path().trim_start_matches("/v2/");
    if let Some(repository) = path.strip_suffix("/tags/list") {
        return tags(&shared, &headers, repository, &query).await;
    }
    if let Some(served) = shared.opts.objects.get(path) {
        let repository = path
            .split_once("/manifests/")
            .or_else(|| path.split_once("/blobs/"))
            .map_or(path, |(r, _)| r);
        if let Some(resp) = rejection(&shared, &headers, repository) {
            return resp;
        }
        let mut resp = (
            StatusCode::OK,
            [("content-type", served.content_type.as_str())],
            if method == Method::HEAD {
                Vec::new()
            } else {
                served.body.clone()
            },
        )
            .into_response();
        if let Some(digest) = &served.digest {
            resp.headers_mut().insert(
                "docker-content-digest",
                digest.parse().expect("digest header"),
            );
        }
        return resp;
    }
    if let Some((repository, tag)) = path.split_once("/manifests/") {
        if let Some(resp) = rejection(&shared, &headers, repository) {
            return resp;
        }
        let known = shared
            .opts
            .repositories
            .get(repository)
            .is_some_and(|tags| tags.iter().any(|t| t == tag));
        if !known {
            return error_json(
                StatusCode::NOT_FOUND,
                "MANIFEST_UNKNOWN",
                "manifest unknown",
            );
        }
        let digest = FakeRegistry::digest(repository, tag);
        let body = if method == Method::HEAD { "" } else { "{}" };
        return (
            StatusCode::OK,
            [
                ("docker-content-digest", digest.as_str()),
                ("content-type", "application/vnd.oci.image.manifest.v1+json"),
            ],
            body,
        )
            .into_response();
    }
    error_json(StatusCode::NOT_FOUND, "NOT_FOUND", "unknown path")
}

async fn tags(
    shared: &Shared,
    headers: &HeaderMap,
    repository: &str,
    query: &BTreeMap<String, String>,
) -> Response {
    if let Some(resp) = rejection(shared, headers, repository) {
        return resp;
    }
    let count = shared.stats.tag_requests.fetch_add(1, Ordering::SeqCst) + 1;
    let failure = if count <= shared.opts.throttle {
        Some((
            StatusCode::TOO_MANY_REQUESTS,
            "TOOMANYREQUESTS",
            "rate limit exceeded",
        ))
    } else {
        shared.opts.fail_status.map(|s| {
            (
                StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                "UNAVAILABLE",
                "service unavailable",
            )
        })
    };
    if let Some((status, code, message)) = failure {
        let mut resp = error_json(status, code, message);
        if let Some(after) = &shared.opts.retry_after {
            resp.headers_mut()
                .insert("retry-after", after.parse().expect("retry-after header"));
        }
        return resp;
    }
    let Some(all) = shared.opts.repositories.get(repository) else {
        return error_json(
            StatusCode::NOT_FOUND,
            "NAME_UNKNOWN",
            "repository name not known to registry",
        );
    };
    let n = query
        .get("n")
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(shared.opts.max_page)
        .min(shared.opts.max_page)
        .max(1);
    let start = match query.get("last") {
        Some(last) => all.partition_point(|t| t <= last),
        None => 0,
    };
    let page: Vec<&String> = all.iter().skip(start).take(n).collect();
    let mut resp = (
        StatusCode::OK,
        [("content-type", "application/json")],
        serde_json::json!({"name": repository, "tags": page}).to_string(),
    )
        .into_response();
    let more = start + page.len() < all.len();
    if let (true, Some(last)) = (more, page.last()) {
        let target = format!("/v2/{repository}/tags/list?n={n}&last={last}");
        let link = match shared.opts.links {
            LinkStyle::Relative => Some(format!("<{target}>; rel=\"next\"")),
            LinkStyle::Absolute => Some(format!("<http://{}{target}>; rel=\"next\"", shared.addr)),
            LinkStyle::None => None,
        };
        if let Some(link) = link {
            resp.headers_mut()
                .insert("link", link.parse().expect("link header"));
        }
    }
    resp
}
