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
        let mut input = reconcile::resolve(&obj, &self.objects, &self.opts.secrets);
        let substitutes = self.substitutes(&obj);
        let targets = self.target_factory();
        let options = self.kustomize.clone();
        let clock = Arc::clone(&self.clock);
        let status_sink = self.status_sink(key);
        let started = std::time::Instant::now();
        Some(Box::pin(async move {
            if let Some(s) = substitutes {
                let s = s.fetch().await;
                input.substitute_from = reconcile::resolve_substitute_from(&obj, &s);
            }
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
            Done::from(finished)
        }))
    }

    /// When `ks` substitutes from ConfigMaps and a cluster holds them: what
    /// its run reads there (the Secrets it names come from the home now).
    fn substitutes(&self, ks: &Kustomization) -> Option<Substitutes> {
        let client = self.config_maps.clone()?;
        let refs = &ks.spec.post_build.as_ref()?.substitute_from;
        if !refs.iter().any(|r| r.kind == "ConfigMap") {
            return None;
        }
        let namespace = ks.metadata.namespace.clone().unwrap_or_default();
        let secrets = refs
            .iter()
            .filter(|r| r.kind == "Secret")
            .filter_map(|r| {
                let data = self.opts.secrets.get(&namespace, &r.name).ok()?;
                Some((r.name.clone(), data.clone()))
            })
            .collect();
        let wanted = refs
            .iter()
            .filter(|r| r.kind == "ConfigMap")
            .map(|r| r.name.clone())
            .collect();
        Some(Substitutes {
            client,
            namespace,
            wanted,
            secrets,
            config_maps: BTreeMap::new(),
        })
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

/// The `substituteFrom` objects of one run: its Secrets from the home, its
/// ConfigMaps read from the cluster (as kustomize-controller reads them,
/// with its own client) just before the build.
struct Substitutes {
    client: kube::Client,
    namespace: String,
    wanted: Vec<String>,
    secrets: BTreeMap<String, SecretData>,
    /// Each ConfigMap's data, `None` when it does not exist, or why it
    /// could not be read.
    config_maps: BTreeMap<String, Result<Option<BTreeMap<String, String>>, String>>,
}

impl Substitutes {
    async fn fetch(mut self) -> Self {
        let api: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
            kube::Api::namespaced(self.client.clone(), &self.namespace);
        for name in std::mem::take(&mut self.wanted) {
            let got = api
                .get_opt(&name)
                .await
                .map(|cm| cm.map(|cm| cm.data.unwrap_or_default()))
                .map_err(|e| e.to_string());
            self.config_maps.insert(name, got);
        }
        self
    }
}

impl ferroflux_controllers::kind::SecretSource for Substitutes {
    fn secret(&self, _: &str, name: &str) -> Result<&SecretData, String> {
        self.secrets
            .get(name)
            .ok_or_else(|| format!("secret '{name}' not found"))
    }

    fn config_map(&self, _: &str, name: &str) -> Result<Option<BTreeMap<String, String>>, String> {
        self.config_maps.get(name).cloned().unwrap_or(Ok(None))
    }
}
