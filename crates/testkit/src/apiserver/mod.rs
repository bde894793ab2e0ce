//! A fake Kubernetes apiserver (axum, plain HTTP on 127.0.0.1), kept only
//! for what the real control plane ([`crate::control_plane`], which every
//! Kubernetes test runs on) cannot be made to do: fail on demand
//! ([`Options::faults`]: a chosen status and message for one method and
//! path) and send watch bookmarks on a short chosen interval
//! ([`Options::bookmark_interval`]). Its users, and why:
//!
//! - the `ferroflux` cli test
//!   `controller::controller_reports_an_apiserver_failure_at_start_up`: the
//!   start-up list answered with a 500 (an etcd timeout), which a real
//!   apiserver gives only by accident;
//! - this module's own tests (`tests.rs`), which pin the behaviour below.
//!
//! Nothing else once this branch meets main's 43a79b8, which moved the
//! versus-Flux bench (its last other user, as a fallback) to the real
//! control plane.
//! The store, discovery, tables and patches below are what lets a
//! controller get as far as a fault; a fault-injecting proxy in front of
//! the real apiserver could replace them when a fault needs real semantics
//! around it (a watch that hangs after a real list).
//!
//! kube-rs clients and kubectl 1.32 talk to it as to a real one for:
//!
//! - discovery: `/version`, `/api`, `/apis`, `/api/v1`, `/apis/<group>` and
//!   `/apis/<group>/<version>` (legacy documents; aggregated discovery v2 is
//!   not served and clients fall back), and `/openapi/v3` with the CRD
//!   schemas, whose PATCH operations announce `fieldValidation` so that
//!   `kubectl apply` leaves validation to the server;
//! - CRUD on namespaced and cluster-scoped objects with `metadata.uid`,
//!   `creationTimestamp`, a global monotonic `resourceVersion`, `generation`
//!   bumped when anything outside metadata and status changes, 409 on a
//!   stale `resourceVersion` or an existing name, 404 with a `Status` body,
//!   `generateName`, `dryRun`, finalizers with `deletionTimestamp`;
//! - list and watch (`?watch=1`: newline-delimited JSON events `ADDED`,
//!   `MODIFIED`, `DELETED` from a given `resourceVersion`; `BOOKMARK` with
//!   `allowWatchBookmarks`, and the initial-events-end bookmark for
//!   `sendInitialEvents`), `timeoutSeconds`;
//! - the `/status` subresource: spec changes are ignored there, status
//!   changes are ignored on the main resource when the CRD declares it;
//! - patches: merge, JSON, strategic merge (approximated as a merge after
//!   dropping `$` directives, so lists are replaced rather than merged by
//!   key), server-side apply (approximated as a merge; `managedFields`
//!   records each field manager, but ownership conflicts are never raised);
//! - label selectors (`=`, `==`, `!=`, `in`, `notin`, exists, `!key`) and
//!   field selectors on any dotted path;
//! - CustomResourceDefinitions: creating one registers its served versions
//!   for discovery, CRUD and Tables (printer columns), and marks it
//!   Established; deprecated versions send a `Warning` header;
//! - Tables for `kubectl get` (`Accept: ...;as=Table`), on lists, single
//!   objects and watches.
//!
//! It does not do: admission, defaulting, validation beyond "is it JSON"
//! (no OpenAPI schema checks, no immutable fields), version conversion (an
//! object is served at whatever version is asked, with `apiVersion`
//! rewritten), authentication or RBAC (every request is allowed), garbage
//! collection (ownerReferences are stored, never acted on; deleting a
//! Namespace does not delete its objects), `limit`/`continue` paging (lists
//! are whole), 410 Gone (the whole event history is kept), protobuf, and
//! any controller (a Deployment never gets Pods).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub mod discovery;
pub mod patch;
pub mod selector;
pub mod store;

#[cfg(test)]
mod tests;

use selector::Selector;
use store::{Part, PatchKind, ResourceDef, Store, WriteOptions};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("fake apiserver: cannot bind 127.0.0.1:{port}: {source}")]
    Bind {
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error("fake apiserver: cannot write kubeconfig {path}: {source}")]
    Kubeconfig {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Debug, Clone)]
pub struct Options {
    /// 0 picks a free port.
    pub port: u16,
    /// How often a watch that asked for bookmarks gets one.
    pub bookmark_interval: Duration,
    /// Requests answered with an error instead of served.
    pub faults: Vec<Fault>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            port: 0,
            bookmark_interval: Duration::from_secs(30),
            faults: Vec::new(),
        }
    }
}

/// A request the fake answers with `status` and a `Status` body carrying
/// `message`, whatever it holds: what a real apiserver cannot be made to
/// do on demand (an etcd timeout, an overloaded server).
#[derive(Debug, Clone)]
pub struct Fault {
    /// `GET`, `PATCH`, ...
    pub method: String,
    /// The path without the query, such as
    /// `/apis/image.toolkit.fluxcd.io/v1/imagerepositories`.
    pub path: String,
    pub status: u16,
    pub message: String,
}

struct Shared {
    store: Mutex<Store>,
    changed: tokio::sync::watch::Sender<u64>,
    addr: SocketAddr,
    opts: Options,
}

/// A running fake apiserver; stops when dropped.
pub struct FakeApiServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeApiServer {
    /// Serve on 127.0.0.1 with a free port, on the current tokio runtime.
    pub async fn start() -> FakeApiServer {
        Self::start_with(Options::default())
            .await
            .expect("start fake apiserver")
    }

    pub async fn start_with(opts: Options) -> Result<FakeApiServer, Error> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", opts.port))
            .await
            .map_err(|source| Error::Bind {
                port: opts.port,
                source,
            })?;
        let (shared, app) = Self::app(&listener, opts);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(FakeApiServer {
            addr: shared.addr,
            shared,
            stop: Some(stop),
            thread: None,
        })
    }

    /// Serve from a thread of its own (for synchronous tests and benches).
    pub fn start_in_thread(opts: Options) -> Result<FakeApiServer, Error> {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("tokio runtime for the fake apiserver");
            rt.block_on(async move {
                match Self::start_with(opts).await {
                    Ok(mut server) => {
                        let stop = server.stop.take();
                        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
                        let _ = tx.send(Ok((server.addr, server.shared.clone(), stop_tx)));
                        let _ = stop_rx.await;
                        if let Some(stop) = stop {
                            let _ = stop.send(());
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                    }
                }
            });
        });
        let (addr, shared, stop) = rx.recv().expect("fake apiserver thread started")?;
        Ok(FakeApiServer {
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    fn app(listener: &tokio::net::TcpListener, opts: Options) -> (Arc<Shared>, Router) {
        let addr = listener.local_addr().expect("fake apiserver address");
        let (changed, _) = tokio::sync::watch::channel(0);
        let shared = Arc::new(Shared {
            store: Mutex::new(Store::new(discovery::builtins())),
            changed,
            addr,
            opts,
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        (shared, app)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A kubeconfig with one context (`fake`) pointing here, no credentials.
    pub fn kubeconfig(&self) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n    namespace: default\ncurrent-context: fake\nusers:\n- name: fake\n  user: {{}}\npreferences: {{}}\n",
            self.url()
        )
    }

    pub fn write_kubeconfig(&self, path: &Path) -> Result<(), Error> {
        std::fs::write(path, self.kubeconfig()).map_err(|source| Error::Kubeconfig {
            path: path.display().to_string(),
            source,
        })
    }

    /// The current global resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.shared
            .store
            .lock()
            .expect("fake apiserver store")
            .resource_version()
    }
}

impl Drop for FakeApiServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------- requests

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                Ok(b) => {
                    out.push(b);
                    i += 2;
                }
                Err(_) => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Default)]
struct Query(Vec<(String, String)>);

impl Query {
    fn parse(q: Option<&str>) -> Query {
        Query(
            q.unwrap_or_default()
                .split('&')
                .filter(|kv| !kv.is_empty())
                .map(|kv| {
                    let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                    (percent_decode(k), percent_decode(v))
                })
                .collect(),
        )
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("1" | "true" | "True"))
    }
}

enum Target {
    Version,
    CoreVersions,
    Groups,
    Group(String),
    Resources(String, String),
    OpenApiRoot,
    OpenApi(String, String),
    Object {
        group: String,
        version: String,
        namespace: Option<String>,
        plural: String,
        name: Option<String>,
        sub: Option<String>,
    },
}

fn parse_target(path: &str) -> Option<Target> {
    let segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let (group, version, rest) = match s.as_slice() {
        ["version"] => return Some(Target::Version),
        ["api"] => return Some(Target::CoreVersions),
        ["apis"] => return Some(Target::Groups),
        ["apis", g] => return Some(Target::Group(g.to_string())),
        ["openapi", "v3"] => return Some(Target::OpenApiRoot),
        ["openapi", "v3", "api", v] => return Some(Target::OpenApi(String::new(), v.to_string())),
        ["openapi", "v3", "apis", g, v] => {
            return Some(Target::OpenApi(g.to_string(), v.to_string()));
        }
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return None,
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, plural, more @ ..] if *plural != "status" && *plural != "finalize" => {
            (Some(ns.to_string()), [&[*plural][..], more].concat())
        }
        _ => (None, rest.to_vec()),
    };
    match rest.as_slice() {
        [] => Some(Target::Resources(group.to_string(), version.to_string())),
        [plural] => Some(Target::Object {
            group: group.into(),
            version: version.into(),
            namespace,
            plural: plural.to_string(),
            name: None,
            sub: None,
        }),
        [plural, name] => Some(Target::Object {
            group: group.into(),
            version: version.into(),
            namespace,
            plural: plural.to_string(),
            name: Some(name.to_string()),
            sub: None,
        }),
        [plural, name, sub] => Some(Target::Object {
            group: group.into(),
            version: version.into(),
            namespace,
            plural: plural.to_string(),
            name: Some(name.to_string()),
            sub: Some(sub.to_string()),
        }),
        _ => None,
    }
}

fn json_response(code: u16, body: &Value) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn error_response(err: &store::Error) -> Response {
    json_response(err.code(), &err.status())
}

fn not_found() -> Response {
    json_response(
        404,
        &json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "the server could not find the requested resource",
            "reason": "NotFound", "details": {}, "code": 404
        }),
    )
}

fn bad_request(message: String) -> Response {
    error_response(&store::Error::BadRequest { message })
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(f) = shared
        .opts
        .faults
        .iter()
        .find(|f| f.method == method.as_str() && f.path == uri.path())
    {
        return json_response(
            f.status,
            &json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": f.message, "reason": "InternalError", "details": {}, "code": f.status
            }),
        );
    }
    let query = Query::parse(uri.query());
    let Some(target) = parse_target(uri.path()) else {
        return not_found();
    };
    let resources = || {
        shared
            .store
            .lock()
            .expect("fake apiserver store")
            .resources()
            .to_vec()
    };
    match target {
        Target::Version => json_response(200, &discovery::version()),
        Target::CoreVersions => {
            json_response(200, &discovery::core_versions(&shared.addr.to_string()))
        }
        Target::Groups => json_response(200, &discovery::group_list(&resources())),
        Target::Group(g) => match discovery::group(&resources(), &g) {
            Ok(doc) => json_response(200, &doc),
            Err(_) => not_found(),
        },
        Target::Resources(g, v) => match discovery::resource_list(&resources(), &g, &v) {
            Ok(doc) => json_response(200, &doc),
            Err(_) => not_found(),
        },
        Target::OpenApiRoot => {
            let rs = resources();
            let hash = shared
                .store
                .lock()
                .expect("fake apiserver store")
                .resource_version();
            json_response(200, &discovery::openapi_root(&rs, hash))
        }
        Target::OpenApi(g, v) => match discovery::openapi_group_version(&resources(), &g, &v) {
            Ok(doc) => json_response(200, &doc),
            Err(_) => not_found(),
        },
        Target::Object {
            group,
            version,
            namespace,
            plural,
            name,
            sub,
        } => {
            let res = shared
                .store
                .lock()
                .expect("fake apiserver store")
                .find(&group, &version, &plural)
                .cloned();
            let Some(res) = res else {
                return not_found();
            };
            if namespace.is_some() && !res.namespaced {
                return not_found();
            }
            let part = match sub.as_deref() {
                None => Part::Main,
                Some("status") if res.status_subresource => Part::Status,
                Some(_) => return not_found(),
            };
            let req = Request {
                shared,
                res,
                namespace,
                name,
                part,
                query,
                headers,
                body,
            };
            let warning = req.res.deprecation_warning.clone();
            let mut resp = req.serve(method).await;
            if let Some(w) = warning
                && let Ok(v) = HeaderValue::from_str(&format!("299 - \"{}\"", w.replace('"', "'")))
            {
                resp.headers_mut().insert(header::WARNING, v);
            }
            resp
        }
    }
}

struct Request {
    shared: Arc<Shared>,
    res: ResourceDef,
    namespace: Option<String>,
    name: Option<String>,
    part: Part,
    query: Query,
    headers: HeaderMap,
    body: Bytes,
}

impl Request {
    fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    fn wants_table(&self) -> bool {
        self.header(header::ACCEPT).contains("as=Table")
    }

    fn write_options(&self) -> WriteOptions {
        let manager = self
            .query
            .get("fieldManager")
            .map(str::to_string)
            .or_else(|| {
                let ua = self.header(header::USER_AGENT);
                let m = ua.split('/').next().unwrap_or_default();
                (!m.is_empty()).then(|| m.to_string())
            });
        WriteOptions {
            manager,
            dry_run: self.query.get("dryRun").is_some_and(|v| v == "All"),
        }
    }

    fn selectors(&self) -> Result<(Selector, Selector), store::Error> {
        let labels =
            Selector::parse(self.query.get("labelSelector").unwrap_or_default()).map_err(|e| {
                store::Error::BadRequest {
                    message: e.to_string(),
                }
            })?;
        let fields =
            Selector::parse(self.query.get("fieldSelector").unwrap_or_default()).map_err(|e| {
                store::Error::BadRequest {
                    message: e.to_string(),
                }
            })?;
        Ok((labels, fields))
    }

    fn parse_body(&self) -> Result<Value, store::Error> {
        let ct = self.header(header::CONTENT_TYPE);
        if ct.contains("yaml") {
            let text = String::from_utf8_lossy(&self.body);
            serde_yaml::from_str::<Value>(&text).map_err(|e| store::Error::BadRequest {
                message: format!("error decoding YAML body: {e}"),
            })
        } else {
            serde_json::from_slice(&self.body).map_err(|e| store::Error::BadRequest {
                message: format!("error decoding JSON body: {e}"),
            })
        }
    }

    fn result(&self, r: Result<Value, store::Error>, created: bool) -> Response {
        match r {
            Ok(obj) => {
                self.notify();
                if self.wants_table() {
                    return self.table(&[obj]);
                }
                json_response(if created { 201 } else { 200 }, &obj)
            }
            Err(e) => error_response(&e),
        }
    }

    fn notify(&self) {
        let rv = self
            .shared
            .store
            .lock()
            .expect("fake apiserver store")
            .resource_version();
        self.shared.changed.send_replace(rv);
    }

    fn table(&self, objs: &[Value]) -> Response {
        let rv = self
            .shared
            .store
            .lock()
            .expect("fake apiserver store")
            .resource_version();
        let include = self.query.get("includeObject").unwrap_or("Metadata");
        json_response(200, &discovery::table(&self.res, objs, rv, include))
    }

    async fn serve(self, method: Method) -> Response {
        let ns = self.namespace.clone();
        let ns = ns.as_deref();
        let opts = self.write_options();
        match (method, self.name.clone()) {
            (Method::GET, Some(name)) => {
                let r = self
                    .shared
                    .store
                    .lock()
                    .expect("fake apiserver store")
                    .get(&self.res, ns, &name);
                match r {
                    Ok(obj) if self.wants_table() => self.table(&[obj]),
                    Ok(obj) => json_response(200, &obj),
                    Err(e) => error_response(&e),
                }
            }
            (Method::GET, None) if self.query.flag("watch") => self.watch(),
            (Method::GET, None) => self.list(),
            (Method::POST, None) => {
                let body = match self.parse_body() {
                    Ok(b) => b,
                    Err(e) => return error_response(&e),
                };
                let r = self
                    .shared
                    .store
                    .lock()
                    .expect("fake apiserver store")
                    .create(&self.res, ns, body, &opts);
                self.result(r, true)
            }
            (Method::PUT, Some(name)) => {
                let body = match self.parse_body() {
                    Ok(b) => b,
                    Err(e) => return error_response(&e),
                };
                let r = self
                    .shared
                    .store
                    .lock()
                    .expect("fake apiserver store")
                    .update(&self.res, ns, &name, body, self.part, &opts);
                self.result(r, false)
            }
            (Method::PATCH, Some(name)) => {
                let ct = self.header(header::CONTENT_TYPE).to_string();
                let kind = if ct.starts_with("application/merge-patch+json") {
                    PatchKind::Merge
                } else if ct.starts_with("application/strategic-merge-patch+json") {
                    PatchKind::Strategic
                } else if ct.starts_with("application/json-patch+json") {
                    PatchKind::Json
                } else if ct.starts_with("application/apply-patch") {
                    PatchKind::Apply
                } else {
                    return json_response(
                        415,
                        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                "message": format!("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json; got {ct:?}"),
                                "reason": "UnsupportedMediaType", "code": 415}),
                    );
                };
                let body = match self.parse_body() {
                    Ok(b) => b,
                    Err(e) => return error_response(&e),
                };
                let exists = self
                    .shared
                    .store
                    .lock()
                    .expect("fake apiserver store")
                    .get(&self.res, ns, &name)
                    .is_ok();
                let r = self
                    .shared
                    .store
                    .lock()
                    .expect("fake apiserver store")
                    .patch(&self.res, ns, &name, kind, body, self.part, &opts);
                self.result(r, !exists)
            }
            (Method::DELETE, Some(name)) => {
                let r = self
                    .shared
                    .store
                    .lock()
                    .expect("fake apiserver store")
                    .delete(&self.res, ns, &name, &opts);
                self.result(r, false)
            }
            (Method::DELETE, None) => {
                let (labels, fields) = match self.selectors() {
                    Ok(s) => s,
                    Err(e) => return error_response(&e),
                };
                let r = self
                    .shared
                    .store
                    .lock()
                    .expect("fake apiserver store")
                    .delete_collection(&self.res, ns, &labels, &fields, &opts);
                match r {
                    Ok(items) => {
                        self.notify();
                        json_response(200, &self.list_doc(items))
                    }
                    Err(e) => error_response(&e),
                }
            }
            _ => error_response(&store::Error::MethodNotAllowed),
        }
    }

    fn list_doc(&self, items: Vec<Value>) -> Value {
        let rv = self
            .shared
            .store
            .lock()
            .expect("fake apiserver store")
            .resource_version();
        json!({
            "kind": format!("{}List", self.res.kind),
            "apiVersion": self.res.api_version(),
            "metadata": {"resourceVersion": rv.to_string()},
            "items": items,
        })
    }

    fn list(&self) -> Response {
        let (labels, fields) = match self.selectors() {
            Ok(s) => s,
            Err(e) => return error_response(&e),
        };
        let items = self
            .shared
            .store
            .lock()
            .expect("fake apiserver store")
            .list(&self.res, self.namespace.as_deref(), &labels, &fields);
        if self.wants_table() {
            return self.table(&items);
        }
        json_response(200, &self.list_doc(items))
    }

    fn watch(self) -> Response {
        let (labels, fields) = match self.selectors() {
            Ok(s) => s,
            Err(e) => return error_response(&e),
        };
        let send_initial = self.query.flag("sendInitialEvents");
        let bookmarks = self.query.flag("allowWatchBookmarks");
        let since = self
            .query
            .get("resourceVersion")
            .filter(|v| !v.is_empty() && *v != "0")
            .map(|v| v.parse::<u64>());
        let since = match since {
            Some(Err(_)) => return bad_request("resourceVersion: invalid value".to_string()),
            Some(Ok(rv)) => Some(rv),
            None => None,
        };
        let timeout = self
            .query
            .get("timeoutSeconds")
            .and_then(|t| t.parse::<u64>().ok())
            .map(Duration::from_secs)
            .unwrap_or(Duration::from_secs(1800));
        let table = self.wants_table();
        let include = self
            .query
            .get("includeObject")
            .unwrap_or("Metadata")
            .to_string();
        let ns = self.namespace.clone();
        let (mut pending, cursor, rv_now) = {
            let store = self.shared.store.lock().expect("fake apiserver store");
            let rv = store.resource_version();
            match since {
                Some(since) if !send_initial => (Vec::new(), store.history_index_after(since), rv),
                _ => {
                    let items = store.list(&self.res, ns.as_deref(), &labels, &fields);
                    let mut events: Vec<(String, Value)> = items
                        .into_iter()
                        .map(|o| ("ADDED".to_string(), o))
                        .collect();
                    if send_initial {
                        events.push(("BOOKMARK".to_string(), self.bookmark(rv, true)));
                    }
                    (events, store.events_since(usize::MAX).1, rv)
                }
            }
        };
        let _ = rv_now;
        let filter = WatchFilter {
            res: self.res.clone(),
            namespace: ns,
            labels,
            fields,
        };
        let state = WatchState {
            req: self,
            filter,
            cursor,
            changed: None,
            deadline: tokio::time::Instant::now() + timeout,
            next_bookmark: None,
            bookmarks,
            table,
            include,
            pending: std::mem::take(&mut pending).into(),
        };
        let stream = futures_util::stream::unfold(state, |mut st| async move {
            let line = st.next_line().await?;
            Some((Ok::<_, std::io::Error>(Bytes::from(line)), st))
        });
        Response::builder()
            .status(200)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::TRANSFER_ENCODING, "chunked")
            .body(Body::from_stream(stream))
            .unwrap_or_else(|_| not_found())
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> Value {
        let mut meta = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        json!({"kind": self.res.kind, "apiVersion": self.res.api_version(), "metadata": meta})
    }
}

struct WatchFilter {
    res: ResourceDef,
    namespace: Option<String>,
    labels: Selector,
    fields: Selector,
}

impl WatchFilter {
    fn matches(&self, e: &store::Event) -> bool {
        e.group == self.res.group
            && e.plural == self.res.plural
            && self
                .namespace
                .as_deref()
                .is_none_or(|ns| e.object["metadata"]["namespace"] == ns)
            && self.labels.matches_labels(&e.object)
            && self.fields.matches_fields(&e.object)
    }
}

struct WatchState {
    req: Request,
    filter: WatchFilter,
    cursor: usize,
    changed: Option<tokio::sync::watch::Receiver<u64>>,
    deadline: tokio::time::Instant,
    next_bookmark: Option<tokio::time::Instant>,
    bookmarks: bool,
    table: bool,
    include: String,
    pending: std::collections::VecDeque<(String, Value)>,
}

impl WatchState {
    fn encode(&self, type_: &str, object: Value) -> String {
        let object = if self.table && type_ != "BOOKMARK" {
            discovery::table(
                &self.filter.res,
                &[object],
                self.req
                    .shared
                    .store
                    .lock()
                    .expect("fake apiserver store")
                    .resource_version(),
                &self.include,
            )
        } else {
            object
        };
        let mut line = json!({"type": type_, "object": object}).to_string();
        line.push('\n');
        line
    }

    async fn next_line(&mut self) -> Option<String> {
        let changed = self
            .changed
            .get_or_insert_with(|| self.req.shared.changed.subscribe())
            .clone();
        let mut changed = changed;
        loop {
            if let Some((t, o)) = self.pending.pop_front() {
                return Some(self.encode(&t, o));
            }
            changed.borrow_and_update();
            {
                let store = self.req.shared.store.lock().expect("fake apiserver store");
                let (events, next) = store.events_since(self.cursor);
                for e in events.iter().filter(|e| self.filter.matches(e)) {
                    let obj = Store::present(&self.filter.res, &e.object);
                    self.pending.push_back((e.type_.as_str().to_string(), obj));
                }
                self.cursor = next;
            }
            if !self.pending.is_empty() {
                continue;
            }
            let now = tokio::time::Instant::now();
            if now >= self.deadline {
                return None;
            }
            let bookmark_at = self.bookmarks.then(|| {
                *self
                    .next_bookmark
                    .get_or_insert(now + self.req.shared.opts.bookmark_interval)
            });
            let wake = bookmark_at.map_or(self.deadline, |b| b.min(self.deadline));
            tokio::select! {
                r = changed.changed() => {
                    if r.is_err() {
                        return None;
                    }
                }
                _ = tokio::time::sleep_until(wake) => {
                    if bookmark_at.is_some_and(|b| tokio::time::Instant::now() >= b) {
                        self.next_bookmark = None;
                        let rv = self.req.shared.store.lock().expect("fake apiserver store").resource_version();
                        let mark = self.req.bookmark(rv, false);
                        return Some(self.encode("BOOKMARK", mark));
                    }
                }
            }
        }
    }
}
