//! Flux's finalizer (`finalizers.fluxcd.io`) in a cluster. Objects Flux
//! created carry it, so a cluster moving from Flux needs someone to take
//! it off, or every deletion hangs; and a Kustomization or GitRepository
//! is only cleaned up for sure (its inventory pruned, its artifacts
//! removed) when its deletion waits for that cleanup. As Flux: the
//! finalizer is added to the GitOps kinds; an object being deleted is
//! forgotten, its kind's cleanup runs, then the finalizer comes off.

use ferroflux_api::kustomize::Kustomization;
use ferroflux_api::meta::{FINALIZER, ObjectMeta};

use serde_json::Value;

use super::*;
use crate::cluster::Change;

/// What a deleted object leaves to clean up.
pub(super) enum Cleanup {
    Nothing,
    Artifacts(Box<GitRepository>),
    Prune(Box<Kustomization>),
}

/// Attempts of a cleanup before the finalizer is left for a person.
const CLEANUP_ATTEMPTS: u32 = 3;

pub(super) fn has_finalizer(meta: &ObjectMeta) -> bool {
    meta.finalizers.iter().flatten().any(|f| f == FINALIZER)
}

/// The object of `change` when it is being deleted: its key, whether it
/// holds our finalizer, and its cleanup (a GitRepository's artifacts, a
/// Kustomization's inventory).
pub(super) fn terminating(change: &Change) -> Option<(ObjectKey, bool, Cleanup)> {
    let Change::Object { key, object, .. } = change else {
        return None;
    };
    let meta: ObjectMeta = serde_json::from_value(object.get("metadata")?.clone()).ok()?;
    meta.deletion_timestamp.as_ref()?;
    let decoded = |what: &str| {
        tracing::warn!(object = %key, "being deleted, but not read as a {what}: no cleanup");
        Cleanup::Nothing
    };
    let cleanup = match key.kind.as_str() {
        GIT_REPOSITORY => match serde_json::from_value(Value::clone(object)) {
            Ok(g) => Cleanup::Artifacts(Box::new(g)),
            Err(_) => decoded(GIT_REPOSITORY),
        },
        KUSTOMIZATION => match serde_json::from_value(Value::clone(object)) {
            Ok(k) => Cleanup::Prune(Box::new(k)),
            Err(_) => decoded(KUSTOMIZATION),
        },
        _ => Cleanup::Nothing,
    };
    Some((key.clone(), has_finalizer(&meta), cleanup))
}

impl Runner {
    /// An object being deleted: it leaves the schedule at once; with our
    /// finalizer, its cleanup runs and the finalizer comes off (kept, with
    /// an error in the log, when the cleanup keeps failing).
    pub(super) fn on_terminating(
        &mut self,
        key: ObjectKey,
        ours: bool,
        cleanup: Cleanup,
        sched: Option<&mut Scheduler>,
    ) {
        self.forget_quietly(&key, sched);
        if !ours || !self.home.finalizes() {
            return;
        }
        let home = Arc::clone(&self.home);
        let storage = self.storage.clone();
        let sources = self.sources.clone();
        let prune = match &cleanup {
            Cleanup::Prune(_) if self.serves(KUSTOMIZATION) => Some(self.kustomize_finalizer()),
            _ => None,
        };
        tokio::spawn(async move {
            let mut attempt = 0;
            loop {
                attempt += 1;
                let done: Result<(), String> = match &cleanup {
                    Cleanup::Nothing => Ok(()),
                    Cleanup::Artifacts(repo) => {
                        let repo = (**repo).clone();
                        let (storage, sources) = (storage.clone(), sources.clone());
                        tokio::task::spawn_blocking(move || {
                            ferroflux_controllers::source::git::delete(&repo, &storage, &sources)
                                .map_err(|e| e.to_string())
                        })
                        .await
                        .unwrap_or_else(|e| Err(e.to_string()))
                    }
                    Cleanup::Prune(ks) => match &prune {
                        Some(f) => f.run(ks).await,
                        None => Ok(()),
                    },
                };
                match done {
                    Ok(()) => break,
                    Err(e) if attempt < CLEANUP_ATTEMPTS => {
                        tracing::warn!(object = %key, "cleanup failed, retrying: {e}");
                        tokio::time::sleep(Duration::from_secs(5 * u64::from(attempt))).await;
                    }
                    Err(e) => {
                        tracing::error!(
                            object = %key,
                            "cleanup failed {attempt} times, the finalizer stays (remove '{FINALIZER}' by hand to let it go): {e}"
                        );
                        return;
                    }
                }
            }
            if let Err(e) = home.set_finalizer(&key, false).await {
                tracing::error!(object = %key, "{e}");
            }
        });
    }

    /// Add our finalizer to a GitOps object that lacks it (in a home that
    /// holds finalizers: a cluster).
    pub(super) fn ensure_finalizer(&self, key: &ObjectKey, meta: &ObjectMeta) {
        if has_finalizer(meta) || !matches!(key.kind.as_str(), GIT_REPOSITORY | KUSTOMIZATION) {
            return;
        }
        if !self.home.finalizes() {
            return;
        }
        let home = Arc::clone(&self.home);
        let key = key.clone();
        tokio::spawn(async move {
            if let Err(e) = home.set_finalizer(&key, true).await {
                tracing::warn!(object = %key, "{e}");
            }
        });
    }
}
