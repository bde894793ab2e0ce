//! The target clusters of appliers over `ferroflux-kube`: [`KubeTargets`]
//! is the `TargetFactory` of a home that has a cluster (`ferroflux
//! controller`'s own, or `ferroflux automate --kubeconfig`'s). A
//! Kustomization gets that cluster, or the one of its `spec.kubeConfig`
//! Secret (keys `value`, then `value.yaml`, or `secretRef.key`, as Flux),
//! each impersonating `spec.serviceAccountName` (or the default service
//! account) as `system:serviceaccount:<namespace>:<name>`.
//!
//! Clients and their `ResourceManager`s (which cache discovery) are kept
//! per kubeconfig Secret revision and impersonated account, so a
//! reconcile costs one GET of the Secret, and a rotated kubeconfig is used
//! at once. A kubeconfig from a Secret is sanitised as Flux does: file
//! paths, auth providers and `exec` plugins are dropped (`exec` kept only
//! when allowed), so a tenant cannot make the controller read its files or
//! run commands.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferroflux_controllers::StepError;
use ferroflux_controllers::target::helm::{
    ActionError, IgnoreRule, Install, JsonDiff, JsonDiffSet, Record, Rollback, Test, Uninstall,
    Upgrade,
};
use ferroflux_controllers::target::{
    ApplyError, ApplyFailure, ApplyOptions, BoxFuture, ChangeSet, DeleteOptions, HelmCluster,
    ObjRef, TargetCluster, TargetFactory, TargetSpec, WaitOptions,
};
use ferroflux_kube::apply::ResourceManager;
use k8s_openapi::api::core::v1::Secret;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use serde_json::Value;

#[cfg(test)]
mod tests;

/// The reason of a failure to build a client (Flux: the Ready reason of
/// `failed to build kube client`).
const REASON: &str = "ReconciliationFailed";

/// A Secret's data and the revision it has (its `resourceVersion`).
pub type VersionedSecret = (String, BTreeMap<String, Vec<u8>>);

/// Where kubeconfig Secrets are read: the home's cluster (Flux reads them
/// with its own client, never the impersonated one).
pub trait KubeConfigSecrets: Send + Sync {
    /// The Secret, `Ok(None)` when it does not exist.
    fn get<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<VersionedSecret>, String>>;
}

impl KubeConfigSecrets for Client {
    fn get<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<VersionedSecret>, String>> {
        Box::pin(async move {
            let api: Api<Secret> = Api::namespaced(self.clone(), namespace);
            let Some(s) = api.get_opt(name).await.map_err(|e| e.to_string())? else {
                return Ok(None);
            };
            let version = s.metadata.resource_version.clone().unwrap_or_default();
            let data = s
                .data
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.0))
                .collect();
            Ok(Some((version, data)))
        })
    }
}

/// Settings (kustomize-controller's `--insecure-kubeconfig-*` flags).
#[derive(Debug, Clone, Default)]
pub struct KubeTargetsOptions {
    /// `--insecure-kubeconfig-exec`: keep `exec` credential plugins.
    pub allow_exec: bool,
    /// `--insecure-kubeconfig-tls`: keep `insecure-skip-tls-verify`.
    pub allow_insecure_tls: bool,
}

/// Which client a target is: the kubeconfig Secret (namespace, name, key,
/// revision; `None` for the home's cluster) and the impersonated user.
type CacheKey = (Option<(String, String, String, String)>, Option<String>);

/// The target clusters of a home with a cluster.
pub struct KubeTargets {
    local: Config,
    secrets: Arc<dyn KubeConfigSecrets>,
    opts: KubeTargetsOptions,
    cache: Mutex<HashMap<CacheKey, Arc<KubeTarget>>>,
}

impl std::fmt::Debug for KubeTargets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeTargets")
            .field("cluster", &self.local.cluster_url.to_string())
            .finish_non_exhaustive()
    }
}

impl KubeTargets {
    /// Targets whose default cluster is `local` (the configuration the
    /// home's client was made from); kubeconfig Secrets read from `secrets`.
    pub fn new(
        local: Config,
        secrets: Arc<dyn KubeConfigSecrets>,
        opts: KubeTargetsOptions,
    ) -> Self {
        KubeTargets {
            local,
            secrets,
            opts,
            cache: Mutex::new(HashMap::new()),
        }
    }

    async fn build(&self, want: &TargetSpec) -> Result<Arc<KubeTarget>, String> {
        let impersonate = want
            .service_account_name
            .as_ref()
            .map(|sa| format!("system:serviceaccount:{}:{sa}", want.namespace));
        let (mut config, secret_key) = match &want.kube_config_secret {
            None => (self.local.clone(), None),
            Some(name) => {
                let (config, key) = self.remote_config(&want.namespace, name, want).await?;
                (config, Some(key))
            }
        };
        let key: CacheKey = (secret_key, impersonate.clone());
        if let Some(t) = self.lock().get(&key) {
            return Ok(t.clone());
        }
        config.auth_info.impersonate = impersonate;
        config.read_timeout = Some(Duration::from_secs(30));
        let client = ferroflux_kube::client::client(config).map_err(|e| e.to_string())?;
        let target = Arc::new(KubeTarget(ResourceManager::new(client), Default::default()));
        let mut cache = self.lock();
        // A rotated kubeconfig replaces the clients of its older revisions.
        cache.retain(|(s, _), _| match (s, &key.0) {
            (Some((ns, n, k, rev)), Some((ns2, n2, k2, rev2))) => {
                !(ns == ns2 && n == n2 && k == k2 && rev != rev2)
            }
            _ => true,
        });
        cache.insert(key, target.clone());
        Ok(target)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<CacheKey, Arc<KubeTarget>>> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The configuration of a `spec.kubeConfig` Secret, and its cache key.
    async fn remote_config(
        &self,
        ns: &str,
        name: &str,
        want: &TargetSpec,
    ) -> Result<(Config, (String, String, String, String)), String> {
        let (version, data) = self
            .secrets
            .get(ns, name)
            .await
            .map_err(|e| format!("unable to read KubeConfig secret '{ns}/{name}' error: {e}"))?
            .ok_or_else(|| {
                format!(
                    "unable to read KubeConfig secret '{ns}/{name}' error: secrets \"{name}\" not found"
                )
            })?;
        let (key, bytes) = kubeconfig_value(ns, name, want.kube_config_key.as_deref(), &data)?;
        let config = config_from_kubeconfig(bytes, &self.opts)
            .await
            .map_err(|e| format!("KubeConfig secret '{ns}/{name}': {e}"))?;
        Ok((config, (ns.into(), name.into(), key, version)))
    }
}

/// The kubeconfig in a Secret: `key`, else `value`, else `value.yaml`.
pub fn kubeconfig_value<'a>(
    ns: &str,
    name: &str,
    key: Option<&str>,
    data: &'a BTreeMap<String, Vec<u8>>,
) -> Result<(String, &'a [u8]), String> {
    let missing = |k: &str| {
        format!("KubeConfig secret '{ns}/{name}' does not contain a '{k}' key with a kubeconfig")
    };
    match key {
        Some(k) => data
            .get(k)
            .map(|v| (k.to_string(), v.as_slice()))
            .ok_or_else(|| missing(k)),
        None => ["value", "value.yaml"]
            .into_iter()
            .find_map(|k| data.get(k).map(|v| (k.to_string(), v.as_slice())))
            .ok_or_else(|| missing("value")),
    }
}

/// Parse and sanitise a kubeconfig (Flux's `ConvertToRESTConfig` with its
/// defaults): only what reaches the server inline is kept.
pub async fn config_from_kubeconfig(
    bytes: &[u8],
    opts: &KubeTargetsOptions,
) -> Result<Config, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "the kubeconfig is not UTF-8".to_string())?;
    let mut kc = Kubeconfig::from_yaml(text)
        .map_err(|e| format!("invalid kubeconfig: {}", without_quoted(&e.to_string())))?;
    for c in &mut kc.clusters {
        if let Some(cluster) = c.cluster.as_mut() {
            cluster.certificate_authority = None;
            if !opts.allow_insecure_tls {
                cluster.insecure_skip_tls_verify = None;
            }
        }
    }
    for a in &mut kc.auth_infos {
        if let Some(auth) = a.auth_info.as_mut() {
            auth.token_file = None;
            auth.client_certificate = None;
            auth.client_key = None;
            auth.auth_provider = None;
            if !opts.allow_exec {
                auth.exec = None;
            }
        }
    }
    Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .map_err(|e| e.to_string())
}

/// A parser's message without the values it quotes (a token or a key in
/// the wrong place would be echoed otherwise).
fn without_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut inside = false;
    for c in message.chars() {
        if c == '"' {
            if !inside {
                out.push_str("\"***\"");
            }
            inside = !inside;
        } else if !inside {
            out.push(c);
        }
    }
    out
}

impl TargetFactory for KubeTargets {
    fn target<'a>(
        &'a self,
        want: &'a TargetSpec,
    ) -> BoxFuture<'a, Result<Arc<dyn TargetCluster>, StepError>> {
        Box::pin(async move {
            let t = self
                .build(want)
                .await
                .map_err(|m| StepError::retry(REASON, m))?;
            Ok(t as Arc<dyn TargetCluster>)
        })
    }
}

/// One cluster as one field manager.
#[derive(Debug)]
pub struct KubeTarget(
    pub ResourceManager,
    /// Helm's `.Capabilities` of this client, discovered once per TTL.
    pub ferroflux_kube::helm::CapabilitiesCache,
);

impl TargetCluster for KubeTarget {
    fn apply_staged<'a>(
        &'a self,
        objects: Vec<Value>,
        o: &'a ApplyOptions,
    ) -> BoxFuture<'a, Result<(ChangeSet, Vec<Value>), ApplyFailure>> {
        Box::pin(self.0.apply_all_staged_written(objects, o))
    }

    fn delete<'a>(
        &'a self,
        objects: &'a [ObjRef],
        o: &'a DeleteOptions,
    ) -> BoxFuture<'a, Result<ChangeSet, ApplyFailure>> {
        Box::pin(self.0.delete(objects, o))
    }

    fn wait<'a>(
        &'a self,
        objects: &'a [ObjRef],
        o: &'a WaitOptions,
    ) -> BoxFuture<'a, Result<Duration, ApplyError>> {
        Box::pin(self.0.wait(objects, o))
    }

    fn wait_for_termination<'a>(
        &'a self,
        deleted: &'a ChangeSet,
        o: &'a WaitOptions,
    ) -> BoxFuture<'a, Result<Duration, ApplyError>> {
        Box::pin(self.0.wait_for_termination(deleted, o))
    }

    /// Helm's actions with this target's client (its impersonation
    /// included), records in `storage_namespace`.
    fn helm(&self, storage_namespace: &str) -> Result<Arc<dyn HelmCluster>, StepError> {
        Ok(Arc::new(KubeHelm(
            ferroflux_kube::helm::Helm::new(self.0.client().clone(), storage_namespace)
                .with_capabilities(self.1.clone())
                .with_kinds(self.0.kinds().clone()),
        )))
    }
}

/// Helm's actions and release storage on one cluster.
#[derive(Debug, Clone)]
pub struct KubeHelm(pub ferroflux_kube::helm::Helm);

impl HelmCluster for KubeHelm {
    fn last<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<Record>, ActionError>> {
        Box::pin(self.0.last(name))
    }

    fn get<'a>(
        &'a self,
        name: &'a str,
        version: i64,
    ) -> BoxFuture<'a, Result<Option<Record>, ActionError>> {
        Box::pin(self.0.get(name, version))
    }

    fn history<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Vec<Record>, ActionError>> {
        Box::pin(self.0.history(name))
    }

    fn update<'a>(&'a self, record: &'a Record) -> BoxFuture<'a, Result<(), ActionError>> {
        Box::pin(self.0.update(record))
    }

    fn install<'a>(&'a self, o: Install) -> BoxFuture<'a, Result<Record, ActionError>> {
        Box::pin(self.0.install(o))
    }

    fn upgrade<'a>(&'a self, o: Upgrade) -> BoxFuture<'a, Result<Record, ActionError>> {
        Box::pin(self.0.upgrade(o))
    }

    fn rollback<'a>(&'a self, o: Rollback) -> BoxFuture<'a, Result<Record, ActionError>> {
        Box::pin(self.0.rollback(o))
    }

    fn uninstall<'a>(&'a self, o: Uninstall) -> BoxFuture<'a, Result<Option<Record>, ActionError>> {
        Box::pin(self.0.uninstall(o))
    }

    fn test<'a>(&'a self, o: Test) -> BoxFuture<'a, Result<Record, ActionError>> {
        Box::pin(self.0.test(o))
    }

    fn diff<'a>(
        &'a self,
        record: &'a Record,
        field_manager: &'a str,
        ignore: &'a [IgnoreRule],
    ) -> BoxFuture<'a, Result<JsonDiffSet, ActionError>> {
        Box::pin(self.0.diff(record, field_manager, ignore))
    }

    fn correct_drift<'a>(
        &'a self,
        diffs: &'a [JsonDiff],
        field_manager: &'a str,
    ) -> BoxFuture<'a, (Vec<String>, Vec<String>)> {
        Box::pin(self.0.correct_drift(diffs, field_manager))
    }
}
