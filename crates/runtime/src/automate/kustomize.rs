//! kustomize-controller's finalizer, for a Kustomization deleted or gone
//! from the home (its reconcile is the kind's: `Kind::reconcile`).

use ferroflux_api::kustomize::Kustomization;
use ferroflux_controllers::kustomize::reconcile::{self, KustomizationCx};

use super::*;

impl Runner {
    /// The cleanup of a deleted Kustomization, owning what it needs.
    pub(super) fn kustomize_finalizer(&self) -> KustomizationFinalizer {
        KustomizationFinalizer {
            targets: self.target_factory(),
            options: self.kustomize.clone(),
            clock: Arc::clone(&self.clock),
        }
    }

    /// A Kustomization left the home without our finalizer (removed from
    /// the checkout, or deleted in a cluster before it had one):
    /// kustomize-controller's finalizer (prune its inventory per
    /// `deletionPolicy`), in the background.
    pub(super) fn finalize_kustomization(&self, ks: Kustomization) {
        if !self.serves(KUSTOMIZATION) {
            return;
        }
        let finalizer = self.kustomize_finalizer();
        let home = Arc::clone(&self.home);
        tokio::spawn(async move {
            let key = ObjectKey::new(
                KUSTOMIZATION,
                ks.metadata.namespace.as_deref().unwrap_or_default(),
                ks.metadata.name.as_deref().unwrap_or_default(),
            );
            // Only what is gone from the home is pruned, never an object
            // that merely left this shard's label selector.
            match home.gone(&key).await {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => {
                    tracing::warn!(object = %key, "not finalized: {e}");
                    return;
                }
            }
            if let Err(e) = finalizer.run(&ks).await {
                tracing::warn!(object = %key, "finalizer failed: {e}");
            }
        });
    }
}

/// kustomize-controller's finalizer for one deleted Kustomization.
pub(super) struct KustomizationFinalizer {
    targets: Arc<dyn TargetFactory>,
    options: ferroflux_controllers::kustomize::reconcile::KustomizationOptions,
    clock: Arc<dyn Clock>,
}

impl KustomizationFinalizer {
    /// Prune (or orphan) what `ks` applied, per its `deletionPolicy`.
    pub(super) async fn run(&self, ks: &Kustomization) -> Result<(), String> {
        let cx = KustomizationCx {
            targets: self.targets.as_ref(),
            clock: self.clock.as_ref(),
            options: &self.options,
        };
        let done = reconcile::finalize(ks, &cx).await;
        let key = format!(
            "Kustomization/{}/{}",
            ks.metadata.namespace.as_deref().unwrap_or_default(),
            ks.metadata.name.as_deref().unwrap_or_default()
        );
        for e in &done.events {
            tracing::info!(object = %key, reason = %e.reason, "{}", e.message);
        }
        done.result.map_err(|e| e.to_string())
    }
}
