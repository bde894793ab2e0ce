//! Flux's finalizer (`finalizers.fluxcd.io`) in a cluster. Objects Flux
//! created carry it, so a cluster moving from Flux needs someone to take
//! it off, or every deletion hangs; and a Kustomization or GitRepository
//! is only cleaned up for sure (its inventory pruned, its artifacts
//! removed) when its deletion waits for that cleanup. As Flux: the
//! finalizer is added to the kinds that declare it (`Kind::FINALIZES`); an
//! object being deleted is forgotten, its kind's cleanup runs
//! (`Kind::cleanup`), then the finalizer comes off. An object that leaves
//! its home without our finalizer is cleaned up once it is really gone.

use ferroflux_api::meta::{FINALIZER, ObjectMeta};
use ferroflux_controllers::kind::Cleanup;

use super::*;
use crate::cluster::Change;

/// Attempts of a cleanup before the finalizer is left for a person.
const CLEANUP_ATTEMPTS: u32 = 3;

pub(super) fn has_finalizer(meta: &ObjectMeta) -> bool {
    meta.finalizers.iter().flatten().any(|f| f == FINALIZER)
}

impl Runner {
    /// The object of `change` when it is being deleted: its key, its
    /// metadata when it holds our finalizer, and its kind's cleanup when
    /// this home reconciles the kind.
    pub(super) fn terminating(
        &self,
        change: &Change,
    ) -> Option<(ObjectKey, Option<ObjectMeta>, Option<Cleanup>)> {
        let Change::Object { key, object, .. } = change else {
            return None;
        };
        let meta: ObjectMeta = serde_json::from_value(object.get("metadata")?.clone()).ok()?;
        meta.deletion_timestamp.as_ref()?;
        let cleanup = self
            .registry()
            .get(&key.kind)
            .filter(|_| self.serves(&key.kind))
            .and_then(|k| k.cleanup_of(self, key, object));
        let ours = has_finalizer(&meta).then_some(meta);
        Some((key.clone(), ours, cleanup))
    }

    /// An object being deleted: it leaves the schedule at once; with our
    /// finalizer (`ours`: its metadata then), its cleanup runs and the
    /// finalizer comes off (kept, with an error in the log, when the
    /// cleanup keeps failing).
    pub(super) fn on_terminating(
        &mut self,
        key: ObjectKey,
        ours: Option<ObjectMeta>,
        cleanup: Option<Cleanup>,
        sched: Option<&mut Scheduler>,
    ) {
        // What it made goes with it (helm-controller deletes the HelmChart
        // of a deleted HelmRelease), after its own cleanup.
        let made = self
            .registry()
            .get(&key.kind)
            .map(|k| k.derived(&self.objects, &key))
            .unwrap_or_default();
        self.forget_quietly(&key, sched);
        let Some(meta) = ours.filter(|_| self.home.finalizes()) else {
            return;
        };
        let home = Arc::clone(&self.home);
        tokio::spawn(async move {
            let mut attempt = 0;
            loop {
                attempt += 1;
                let done = match &cleanup {
                    None => Ok(()),
                    Some(run) => run().await,
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
            if !made.is_empty()
                && let Err(e) = home.unmake(&key, made).await
            {
                tracing::warn!(object = %key, "what it made stays: {e}");
            }
            if let Err(e) = home.set_finalizer(&key, false, Some(&meta)).await {
                tracing::error!(object = %key, "{e}");
            }
        });
    }

    /// The cleanup of the held `key`, when its kind has one, this home
    /// reconciles the kind, and our finalizer will not run it.
    pub(super) fn unfinalized_cleanup(&self, key: &ObjectKey) -> Option<Cleanup> {
        let kind = self.registry().get(&key.kind)?;
        if !self.serves(&key.kind) || self.objects.meta(key).is_some_and(has_finalizer) {
            return None;
        }
        kind.cleanup(self, key)
    }

    /// An object left the home without our finalizer (removed from the
    /// checkout, or deleted in a cluster before it had one): its cleanup,
    /// in the background, once the home says it is really gone (never for
    /// an object that merely left this shard's label selector).
    pub(super) fn clean_up_gone(&self, key: ObjectKey, cleanup: Cleanup) {
        let home = Arc::clone(&self.home);
        tokio::spawn(async move {
            match home.gone(&key).await {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => {
                    tracing::warn!(object = %key, "not cleaned up: {e}");
                    return;
                }
            }
            if let Err(e) = cleanup().await {
                tracing::warn!(object = %key, "cleanup failed: {e}");
            }
        });
    }

    /// Add our finalizer to an object of a kind that keeps it and lacks it
    /// (in a home that holds finalizers: a cluster).
    pub(super) fn ensure_finalizer(&self, key: &ObjectKey, meta: &ObjectMeta) {
        let keeps = self
            .registry()
            .get(&key.kind)
            .is_some_and(|k| k.finalizes());
        if has_finalizer(meta) || !keeps {
            return;
        }
        if !self.home.finalizes() {
            return;
        }
        if !self
            .finalizing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key.clone())
        {
            return;
        }
        let home = Arc::clone(&self.home);
        let finalizing = Arc::clone(&self.finalizing);
        let (key, meta) = (key.clone(), meta.clone());
        tokio::spawn(async move {
            if let Err(e) = home.set_finalizer(&key, true, Some(&meta)).await {
                tracing::warn!(object = %key, "{e}");
            }
            finalizing
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&key);
        });
    }

    /// Has the home keep what `maker` makes (`Kind::derived`), best effort:
    /// a failure is logged and the next change of the maker retries.
    pub(super) fn make(&self, maker: &ObjectKey, objects: Vec<serde_json::Value>) {
        if objects.is_empty() {
            return;
        }
        let home = Arc::clone(&self.home);
        let maker = maker.clone();
        tokio::spawn(async move {
            if let Err(e) = home.make(&maker, objects).await {
                tracing::warn!(object = %maker, "cannot keep what it makes: {e}");
            }
        });
    }
}
