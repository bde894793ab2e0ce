//! The Receiver webhook server: `POST /hook/<sha256(token+name+namespace)>`.
//!
//! The decisions are `ferroflux-controllers`' (`notification::receiver`):
//! this module only maps a path to a Receiver, asks for validation and the
//! targets, and turns each target into an immediate scheduler trigger that
//! carries `reconcile.fluxcd.io/requestedAt`. The table is behind a std
//! lock that is never held across an `.await`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::any;
use ferroflux_api::notification::ReceiverSpec;
use ferroflux_controllers::Clock;
use ferroflux_controllers::notification::receiver::{self, Candidate, WebhookRequest};

use crate::scheduler::{SchedulerHandle, Trigger};
use crate::source::ObjectKey;

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("webhook server: cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("webhook server on {addr}: {source}")]
    Serve {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// One Receiver as the server sees it. `Debug` hides the token.
#[derive(Clone)]
pub struct Endpoint {
    pub key: ObjectKey,
    pub spec: ReceiverSpec,
    /// The token from the Receiver's Secret (never logged).
    pub token: String,
    /// Not suspended and Ready.
    pub serving: bool,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("key", &self.key)
            .field("spec", &self.spec)
            .field("token", &if self.token.is_empty() { "" } else { "***" })
            .field("serving", &self.serving)
            .finish()
    }
}

#[derive(Debug, Default)]
struct Inner {
    endpoints: BTreeMap<String, Endpoint>,
    candidates: Vec<Candidate>,
}

/// Webhook paths and the objects they may trigger; the runtime replaces
/// the contents after every Receiver reconcile and every re-read.
#[derive(Debug, Clone, Default)]
pub struct ReceiverTable(Arc<RwLock<Inner>>);

impl ReceiverTable {
    pub fn set(&self, endpoints: BTreeMap<String, Endpoint>, candidates: Vec<Candidate>) {
        let mut inner = self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        inner.endpoints = endpoints;
        inner.candidates = candidates;
    }

    pub fn paths(&self) -> Vec<String> {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .endpoints
            .keys()
            .cloned()
            .collect()
    }

    fn lookup(&self, path: &str) -> Option<(Endpoint, Vec<Candidate>)> {
        let inner = self
            .0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let endpoint = inner.endpoints.get(path)?.clone();
        Some((endpoint, inner.candidates.clone()))
    }
}

#[derive(Clone)]
struct AppState {
    table: ReceiverTable,
    scheduler: SchedulerHandle,
    clock: Arc<dyn Clock>,
}

/// The router: `/hook/{digest}` for any method, as Flux's handler.
pub fn router(table: ReceiverTable, scheduler: SchedulerHandle, clock: Arc<dyn Clock>) -> Router {
    Router::new()
        .route("/hook/{digest}", any(handle))
        .with_state(AppState {
            table,
            scheduler,
            clock,
        })
}

/// What one request got; the HTTP answer is `status` and `message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handled {
    pub status: u16,
    pub message: String,
    pub triggered: Vec<ObjectKey>,
}

/// Handle a request for `path` (the server's handler, callable in tests).
pub fn handle_request(
    table: &ReceiverTable,
    scheduler: &SchedulerHandle,
    clock: &dyn Clock,
    path: &str,
    req: &WebhookRequest,
) -> Handled {
    let refuse = |status: u16, message: String| Handled {
        status,
        message,
        triggered: Vec::new(),
    };
    let Some((endpoint, candidates)) = table.lookup(path) else {
        return refuse(404, "receiver not found".into());
    };
    let name = endpoint.key.namespaced_name();
    if !endpoint.serving {
        return refuse(503, format!("receiver {name} is not ready"));
    }
    if let Err(e) = receiver::validate(&name, &endpoint.spec, &endpoint.token, req) {
        tracing::warn!(receiver = %name, status = e.status_code(), "webhook refused: {e}");
        return refuse(e.status_code(), e.to_string());
    }
    let (targets, errors) =
        receiver::resolve_resources(&name, &endpoint.key.namespace, &endpoint.spec, &candidates);
    let at = clock.now().to_string();
    let mut triggered = Vec::new();
    for t in targets {
        let key = ObjectKey::new(&t.kind, &t.namespace, &t.name);
        if scheduler.trigger(key.clone(), Trigger::Requested { at: at.clone() }) {
            triggered.push(key);
        }
    }
    tracing::info!(receiver = %name, triggered = triggered.len(), "webhook accepted");
    if let Some(first) = errors.first() {
        for e in &errors {
            tracing::error!(receiver = %name, "{e}");
        }
        return Handled {
            status: first.status_code(),
            message: first.to_string(),
            triggered,
        };
    }
    Handled {
        status: 200,
        message: format!("triggered {} resource(s)", triggered.len()),
        triggered,
    }
}

async fn handle(
    State(state): State<AppState>,
    Path(digest): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let req = WebhookRequest {
        headers: headers
            .iter()
            .filter_map(|(k, v)| {
                Some((
                    k.as_str().to_ascii_lowercase(),
                    v.to_str().ok()?.to_string(),
                ))
            })
            .collect(),
        body: body.to_vec(),
    };
    let path = format!("/hook/{digest}");
    let handled = handle_request(
        &state.table,
        &state.scheduler,
        state.clock.as_ref(),
        &path,
        &req,
    );
    let code = StatusCode::from_u16(handled.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (code, handled.message)
}

/// Bind `addr` (`127.0.0.1:9292`, `:9292`).
pub async fn bind(addr: &str) -> Result<tokio::net::TcpListener, WebhookError> {
    let normalized = if addr.starts_with(':') {
        format!("0.0.0.0{addr}")
    } else {
        addr.to_string()
    };
    tokio::net::TcpListener::bind(&normalized)
        .await
        .map_err(|source| WebhookError::Bind {
            addr: addr.to_string(),
            source,
        })
}

/// Serve until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), WebhookError> {
    let addr = listener
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|source| WebhookError::Serve { addr, source })
}

#[cfg(test)]
mod tests;
