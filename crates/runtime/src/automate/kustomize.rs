//! The Kustomization job: what it reads resolved while the runner holds
//! the objects (its source's artifact, `dependsOn`, `substituteFrom`),
//! then kustomize-controller's reconcile against the target cluster. To
//! become Kustomization's `Kind::reconcile`.

use ferroflux_api::kustomize::Kustomization;
use ferroflux_controllers::kustomize::reconcile::{self, KustomizationCx};
use ferroflux_controllers::target::NoTarget;

use super::*;

impl Runner {
    /// Start reconciling one Kustomization (None when it left the objects).
    pub(super) fn start_kustomization(
        &mut self,
        key: &ObjectKey,
        requested: Option<&str>,
    ) -> Option<Work> {
        let obj = self.objects.kustomizations.get_mut(key)?;
        sink::note_request(&mut obj.metadata, requested);
        let obj = obj.clone();
        let input = reconcile::resolve(&obj, &self.objects, &self.opts.secrets);
        let targets = self.target_factory();
        let options = self.kustomize.clone();
        let clock = Arc::clone(&self.clock);
        let status_sink = self.status_sink(key);
        let started = std::time::Instant::now();
        Some(Box::pin(async move {
            let cx = KustomizationCx {
                targets: targets.as_ref(),
                clock: clock.as_ref(),
                options: &options,
            };
            let r = reconcile::reconcile(input, &cx).await;
            let suspended = obj.spec.suspend == Some(true);
            let finished = status_sink
                .finish(
                    started,
                    suspended,
                    &r.status,
                    Said::Event(r.event),
                    r.outcome,
                    None,
                )
                .await;
            Done {
                finished,
                manifests: None,
            }
        }))
    }

    /// The clusters Kustomizations apply to ([`NoTarget`] without one).
    fn target_factory(&self) -> Arc<dyn TargetFactory> {
        self.targets
            .clone()
            .unwrap_or_else(|| Arc::new(NoTarget) as Arc<dyn TargetFactory>)
    }

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
