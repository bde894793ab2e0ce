//! The home of `ferroflux controller`: a Kubernetes cluster
//! ([`Cluster`]). Objects arrive through its watches, status is a merge
//! patch on the status subresource, events are Kubernetes Events (queued,
//! never awaited), Flux's finalizer holds a deletion until its cleanup ran,
//! and an object counts as gone only when the apiserver no longer has it.

use ferroflux_api::meta::ObjectMeta;
use ferroflux_controllers::status::Event;
use k8s_openapi::api::core::v1::ObjectReference;
use serde_json::Value;

use super::{Arrival, BoxFuture, Home, HomeError, OwnRepository};
use crate::cluster::{Cluster, ClusterError};
use crate::source::ObjectKey;

/// The action of every Event a reconcile records.
const ACTION: &str = "Reconcile";

/// A write the apiserver refused, as the home's error (same message).
fn refused(key: &ObjectKey, e: ClusterError) -> HomeError {
    match e {
        ClusterError::Status { detail, .. } => HomeError::refused(key, detail),
        other => HomeError::refused(key, other.to_string()),
    }
}

/// The Kubernetes home: see the module docs.
#[derive(Debug, Clone)]
pub struct KubeHome {
    cluster: Cluster,
}

impl KubeHome {
    pub fn new(cluster: Cluster) -> KubeHome {
        KubeHome { cluster }
    }

    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }
}

impl Home for KubeHome {
    fn write_status<'a>(
        &'a self,
        key: &'a ObjectKey,
        old: Option<&'a Value>,
        new: &'a Value,
    ) -> BoxFuture<'a, Result<(), HomeError>> {
        Box::pin(async move {
            self.cluster
                .write_status(key, old, new)
                .await
                .map_err(|e| refused(key, e))
        })
    }

    fn record(&self, object: &ObjectReference, event: &Event) -> bool {
        // A full queue is logged there; the reconcile goes on.
        self.cluster.event(object, event, ACTION)
    }

    fn arrival(&self) -> Arrival {
        Arrival::Watches
    }

    fn own_repository(&self) -> Option<&OwnRepository> {
        // A source object in a cluster is what it says.
        None
    }

    fn serves_gitops(&self) -> bool {
        true
    }

    fn finalizes(&self) -> bool {
        true
    }

    fn set_finalizer<'a>(
        &'a self,
        key: &'a ObjectKey,
        present: bool,
        seen: Option<&'a ObjectMeta>,
    ) -> BoxFuture<'a, Result<(), HomeError>> {
        Box::pin(async move {
            self.cluster
                .set_finalizer(key, present, seen)
                .await
                .map_err(|e| refused(key, e))
        })
    }

    fn make<'a>(
        &'a self,
        maker: &'a ObjectKey,
        objects: Vec<Value>,
    ) -> BoxFuture<'a, Result<(), HomeError>> {
        Box::pin(async move {
            for object in objects {
                self.cluster
                    .apply_made(object)
                    .await
                    .map_err(|e| refused(maker, e))?;
            }
            Ok(())
        })
    }

    fn unmake<'a>(
        &'a self,
        maker: &'a ObjectKey,
        objects: Vec<Value>,
    ) -> BoxFuture<'a, Result<(), HomeError>> {
        Box::pin(async move {
            for object in objects {
                self.cluster
                    .delete_made(&object)
                    .await
                    .map_err(|e| refused(maker, e))?;
            }
            Ok(())
        })
    }

    fn gone<'a>(&'a self, key: &'a ObjectKey) -> BoxFuture<'a, Result<bool, HomeError>> {
        // A watch's delete may mean the object left this shard's label
        // selector, not the cluster.
        Box::pin(async move {
            self.cluster
                .exists(key)
                .await
                .map(|exists| !exists)
                .map_err(|e| HomeError::lookup(key, e.to_string()))
        })
    }
}
