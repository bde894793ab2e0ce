//! What the runner lends a kind's reconcile ([`Cx`]): its clock, objects
//! and Secrets, the target clusters, the stores, and the services that
//! hold runtime state (the registry TLS clients, the home's `--repo`
//! rule, the clone guards, the read after a push, ConfigMaps).

use std::any::Any;

use ferroflux_controllers::kind::cx::{AfterPush, ConfigMapsRead, Guard, ProgressSink, Stores};
use ferroflux_controllers::kind::{Cx, Lookup, SecretSource};
use ferroflux_controllers::target::NoTarget;

use super::*;

impl Cx for Runner {
    fn clock(&self) -> Arc<dyn Clock> {
        Arc::clone(&self.clock)
    }

    fn objects(&self) -> &dyn Lookup {
        &self.objects
    }

    fn secrets(&self) -> &dyn SecretSource {
        &self.opts.secrets
    }

    fn written_version(&self, key: &ObjectKey) -> Option<String> {
        self.objects.origins.get(key).map(|o| o.api_version.clone())
    }

    fn targets(&self) -> Arc<dyn TargetFactory> {
        self.target_factory()
    }

    fn stores(&self) -> Stores<'_> {
        Stores {
            tags: self.state.store(),
            artifacts: &self.storage,
            sources: &self.sources,
            kustomize: &self.kustomize,
            clones: &self.clones,
            depth: self.opts.depth,
        }
    }

    fn progress(&self) -> Option<ProgressSink> {
        self.progress.clone()
    }

    fn registry_client(&self, key: &ObjectKey, obj: &ImageRepository) -> Result<Client, StepError> {
        Runner::registry_client(self, key, obj)
    }

    fn git_repository(&self, key: &ObjectKey) -> (Option<GitRepository>, Option<SecretData>) {
        Runner::git_repository(self, key)
    }

    fn guard(&self, resource: &str) -> Option<Guard> {
        let key = ObjectKey::new("clone", "automation", resource);
        InFlight::enter(&self.in_flight, &key).map(|g| Box::new(g) as Guard)
    }

    fn after_push(&self, url: &str) -> Option<Box<dyn AfterPush>> {
        let own = self.home.own_repository()?;
        (self.home.arrival() == Arrival::Checkout && url == own.url()).then(|| {
            Box::new(ReadManifests {
                branch: self.opts.branch.clone(),
                path: self.opts.path.clone(),
                registry: self.registry(),
            }) as Box<dyn AfterPush>
        })
    }

    fn config_maps(&self, namespace: &str, names: Vec<String>) -> Option<ConfigMapsRead> {
        let client = self.config_maps.clone()?;
        let api: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
            kube::Api::namespaced(client, namespace);
        Some(Box::pin(async move {
            let mut out = BTreeMap::new();
            for name in names {
                let got = api
                    .get_opt(&name)
                    .await
                    .map(|cm| cm.map(|cm| cm.data.unwrap_or_default()))
                    .map_err(|e| e.to_string());
                out.insert(name, got);
            }
            out
        }))
    }
}

/// After a push to `--repo`'s branch, its manifests at that commit read
/// from the automation's clone: one fetch per cycle.
struct ReadManifests {
    branch: String,
    path: PathBuf,
    registry: &'static crate::registry::Registry,
}

impl AfterPush for ReadManifests {
    fn read(
        self: Box<Self>,
        branch: &str,
        commit: &str,
        workdir: &std::path::Path,
    ) -> Option<Box<dyn Any + Send>> {
        (branch == self.branch).then(|| {
            Box::new(Manifests {
                revision: commit.to_string(),
                loaded: LocalSource::load_kinds(workdir, &self.path, self.registry),
            }) as Box<dyn Any + Send>
        })
    }
}

impl Runner {
    /// The clusters Kustomizations apply to ([`NoTarget`] without one).
    pub(super) fn target_factory(&self) -> Arc<dyn TargetFactory> {
        self.targets
            .clone()
            .unwrap_or_else(|| Arc::new(NoTarget) as Arc<dyn TargetFactory>)
    }
}
