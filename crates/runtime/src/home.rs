//! Where the objects of the runtime live, and where their results go: the
//! [`Home`]. Two homes exist: [`LocalHome`] (`ferroflux automate`: a
//! checkout of `--repo`, the state database, no events) and [`KubeHome`]
//! (`ferroflux controller`: watches, the status subresource, Kubernetes
//! Events). The engine, the scheduler, the triggers and the reconcile jobs
//! ask the home what they need and never which home it is; like the
//! engine, a home names no kind, so a new kind needs no edit here.

mod kube;
mod local;

pub use self::kube::KubeHome;
pub use local::{LocalHome, OwnRepository};

use std::future::Future;
use std::pin::Pin;

use ferroflux_api::meta::ObjectMeta;
use ferroflux_controllers::status::Event;
use k8s_openapi::api::core::v1::ObjectReference;
use serde_json::Value;

use crate::source::ObjectKey;
use crate::state::StateError;

/// A boxed future, so that [`Home`] stays object-safe (as
/// `ferroflux_controllers::target` does).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where a home's objects come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// Pushed by watches (the runtime's watch loop takes them in); nothing
    /// to re-read.
    Watches,
    /// Read from a checkout, which the runtime fetches and re-reads on its
    /// source's interval and after a push.
    Checkout,
}

#[derive(Debug, thiserror::Error)]
pub enum HomeError {
    /// The home refused the status of one object (the apiserver: RBAC, an
    /// admission webhook): that object fails and is retried, the others go
    /// on.
    #[error("{kind} {namespace}/{name}: status update failed: {detail}")]
    Refused {
        kind: String,
        namespace: String,
        name: String,
        detail: String,
    },
    /// The home's own store failed: the run stops.
    #[error(transparent)]
    Store(#[from] StateError),
    /// The status does not encode, or a blocking task failed.
    #[error("task failed: {0}")]
    Task(String),
    /// Whether an object exists could not be told.
    #[error("{kind} {namespace}/{name}: {detail}")]
    Lookup {
        kind: String,
        namespace: String,
        name: String,
        detail: String,
    },
}

impl HomeError {
    pub(crate) fn refused(key: &ObjectKey, detail: String) -> HomeError {
        HomeError::Refused {
            kind: key.kind.clone(),
            namespace: key.namespace.clone(),
            name: key.name.clone(),
            detail,
        }
    }

    pub(crate) fn lookup(key: &ObjectKey, detail: String) -> HomeError {
        HomeError::Lookup {
            kind: key.kind.clone(),
            namespace: key.namespace.clone(),
            name: key.name.clone(),
            detail,
        }
    }
}

/// What the runtime asks the home of its objects.
pub trait Home: Send + Sync {
    /// Store `new` as the status of `key`. `old` is the status the object
    /// had when its reconcile started: a home that patches writes only the
    /// difference, and clears what `new` no longer has.
    fn write_status<'a>(
        &'a self,
        key: &'a ObjectKey,
        old: Option<&'a Value>,
        new: &'a Value,
    ) -> BoxFuture<'a, Result<(), HomeError>>;

    /// Record `event` on `object`, best effort (a reconcile never waits for
    /// it); false when the home keeps no events or dropped this one.
    fn record(&self, object: &ObjectReference, event: &Event) -> bool;

    /// Where the objects come from.
    fn arrival(&self) -> Arrival;

    /// The repository the home runs from, whose source objects the runtime
    /// rewrites to it (`--repo`); None: a source object is what it says.
    fn own_repository(&self) -> Option<&OwnRepository>;

    /// Whether the kinds that apply to a cluster (`KindInfo::gitops`) are
    /// reconciled here without a target cluster of their own.
    fn serves_gitops(&self) -> bool;

    /// Whether objects carry the runtime's finalizer (Flux's
    /// `finalizers.fluxcd.io`), so that a deletion waits for its cleanup.
    fn finalizes(&self) -> bool;

    /// Add (`present`) or remove the runtime's finalizer on `key`, starting
    /// from `seen`, its metadata as last seen (a stale one costs a retry);
    /// Ok when the object is gone or already so.
    fn set_finalizer<'a>(
        &'a self,
        key: &'a ObjectKey,
        present: bool,
        seen: Option<&'a ObjectMeta>,
    ) -> BoxFuture<'a, Result<(), HomeError>>;

    /// Whether `key`, which left the objects the runtime holds, is really
    /// gone from the home (its finalizer may run), rather than only out of
    /// this controller's view (a label selector's shard).
    fn gone<'a>(&'a self, key: &'a ObjectKey) -> BoxFuture<'a, Result<bool, HomeError>>;

    /// Keep `objects`, which `maker` makes (`Kind::derived`: a source
    /// object a release object's spec describes), as its spec says them. A cluster applies
    /// them (server-side, as Flux's controller that makes them) and its watch brings them
    /// in; a checkout already holds them beside their maker.
    fn make<'a>(
        &'a self,
        maker: &'a ObjectKey,
        objects: Vec<Value>,
    ) -> BoxFuture<'a, Result<(), HomeError>> {
        let _ = (maker, objects);
        Box::pin(async { Ok(()) })
    }

    /// Delete `objects`, which the deleted `maker` made. A checkout drops
    /// them with their maker; a cluster deletes them (gone already: Ok).
    fn unmake<'a>(
        &'a self,
        maker: &'a ObjectKey,
        objects: Vec<Value>,
    ) -> BoxFuture<'a, Result<(), HomeError>> {
        let _ = (maker, objects);
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
pub(crate) mod recording;
#[cfg(test)]
mod tests;
