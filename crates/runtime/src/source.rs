//! The local object source: Flux objects read from a checkout directory
//! (`--path` under it), indexed by kind, namespace and name.
//!
//! Objects of any served version come converted by the api crate's loader.
//! A document that does not decode, or a duplicate, is a finding: the other
//! objects load anyway, so one broken file never stops the rest.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ferroflux_api::image::{ImagePolicy, ImageRepository, ImageUpdateAutomation};
use ferroflux_api::kustomize::Kustomization;
use ferroflux_api::manifest::{self, Finding, Object, Severity};
use ferroflux_api::meta::ObjectMeta;
use ferroflux_api::notification::{Alert, Provider, Receiver};
use ferroflux_api::source::GitRepository;
use k8s_openapi::api::core::v1::ObjectReference;

use ferroflux_controllers::kind::Lookup;

use crate::index::Index;
pub use crate::index::Ref;
use crate::registry::{Held, flux};

/// Where `metadata.namespace` is absent, as `kubectl apply` does.
pub const DEFAULT_NAMESPACE: &str = "default";

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("manifest path {path} is outside the checkout {root}")]
    OutsideCheckout { root: PathBuf, path: PathBuf },
    #[error("manifest path {path}: {detail}")]
    Missing { path: PathBuf, detail: String },
}

/// `kind/namespace/name`: defined with the kinds, which name their references by it.
pub use ferroflux_controllers::kind::ObjectKey;

/// Where an object was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: PathBuf,
    pub line: usize,
    /// The apiVersion as written (before conversion).
    pub api_version: String,
}

/// The kinds `ferroflux automate` reconciles, by key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Objects {
    pub image_repositories: BTreeMap<ObjectKey, ImageRepository>,
    pub image_policies: BTreeMap<ObjectKey, ImagePolicy>,
    pub automations: BTreeMap<ObjectKey, ImageUpdateAutomation>,
    pub git_repositories: BTreeMap<ObjectKey, GitRepository>,
    pub receivers: BTreeMap<ObjectKey, Receiver>,
    pub kustomizations: BTreeMap<ObjectKey, Kustomization>,
    pub providers: BTreeMap<ObjectKey, Provider>,
    pub alerts: BTreeMap<ObjectKey, Alert>,
    pub origins: BTreeMap<ObjectKey, Origin>,
}

impl Objects {
    /// Every key, in kind order (sources first: the order of a run).
    pub fn keys(&self) -> Vec<ObjectKey> {
        flux().kinds().flat_map(|k| k.keys(self)).collect()
    }

    /// The stored status of `key` as JSON (None when absent).
    pub fn status_json(&self, key: &ObjectKey) -> Option<serde_json::Value> {
        flux().get(&key.kind)?.status(self, key)
    }

    /// Give `key` the encoded `status`; false when the object is gone or
    /// the status is not its kind's.
    pub fn set_status_json(&mut self, key: &ObjectKey, status: &serde_json::Value) -> bool {
        flux()
            .get(&key.kind)
            .is_some_and(|k| k.set_status(self, key, status))
    }

    /// The reference a Kubernetes Event on `key` points at (reconciled
    /// kinds only: nothing else has events).
    pub fn reference(&self, key: &ObjectKey) -> Option<ObjectReference> {
        let kind = flux().get(&key.kind).filter(|k| k.reconciled())?;
        let meta = kind.meta(self, key)?;
        Some(ObjectReference {
            api_version: Some(kind.info().api_version()),
            kind: Some(key.kind.clone()),
            name: Some(key.name.clone()),
            namespace: Some(key.namespace.clone()),
            uid: meta.uid.clone(),
            resource_version: meta.resource_version.clone(),
            ..ObjectReference::default()
        })
    }

    /// The metadata of `key`, whatever its kind.
    pub fn meta(&self, key: &ObjectKey) -> Option<&ObjectMeta> {
        flux().get(&key.kind)?.meta(self, key)
    }

    /// Drop `key` and its origin; false when it was not there.
    pub fn remove(&mut self, key: &ObjectKey) -> bool {
        let known = flux().get(&key.kind).is_some_and(|k| k.remove(self, key));
        self.origins.remove(key);
        known
    }

    /// What `key` reads, from its kind's watches.
    pub fn refs_of(&self, key: &ObjectKey) -> Vec<Ref> {
        flux()
            .get(&key.kind)
            .map(|k| k.refs(self, key))
            .unwrap_or_default()
    }

    /// The objects `key` reads that a pass reconciles before it: those its
    /// references name (every one of a kind in a namespace, for
    /// [`Ref::Namespace`]) that exist and are of a reconciled kind.
    pub fn waits_for(&self, key: &ObjectKey) -> Vec<ObjectKey> {
        let reconciled = |kind: &str| flux().get(kind).is_some_and(|k| k.reconciled());
        let mut after = Vec::new();
        for r in self.refs_of(key) {
            match r {
                Ref::Object(k) => {
                    if reconciled(&k.kind) && self.meta(&k).is_some() {
                        after.push(k);
                    }
                }
                Ref::Namespace { kind, namespace } => {
                    if reconciled(&kind) {
                        after.extend(self.keys_in(&kind, &namespace));
                    }
                }
            }
        }
        after.sort();
        after.dedup();
        after
    }

    /// The references of every object, and who reads what.
    pub fn index(&self) -> Index {
        let mut ix = Index::default();
        for key in self.keys() {
            let refs = self.refs_of(&key);
            ix.insert(key, refs);
        }
        ix
    }

    /// `key` without its status (None when absent).
    pub fn spec_json(&self, key: &ObjectKey) -> Option<serde_json::Value> {
        flux().get(&key.kind)?.spec(self, key)
    }

    pub fn len(&self) -> usize {
        flux().kinds().map(|k| k.keys(self).len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Same objects apart from status: what decides a re-read matters.
    pub fn same_specs(&self, other: &Objects) -> bool {
        let keys = self.keys();
        keys == other.keys() && keys.iter().all(|k| self.spec_json(k) == other.spec_json(k))
    }
}

/// Other kinds' objects, as the kinds read them.
impl Lookup for Objects {
    fn object(&self, key: &ObjectKey) -> Option<&dyn std::any::Any> {
        flux().get(&key.kind)?.any(self, key)
    }

    fn keys_in(&self, kind: &str, namespace: &str) -> Vec<ObjectKey> {
        flux()
            .get(kind)
            .map(|k| k.keys(self))
            .unwrap_or_default()
            .into_iter()
            .filter(|k| k.namespace == namespace)
            .collect()
    }
}

impl Held for ImageRepository {
    fn map(o: &Objects) -> &BTreeMap<ObjectKey, ImageRepository> {
        &o.image_repositories
    }
    fn map_mut(o: &mut Objects) -> &mut BTreeMap<ObjectKey, ImageRepository> {
        &mut o.image_repositories
    }
}

impl Held for ImagePolicy {
    fn map(o: &Objects) -> &BTreeMap<ObjectKey, ImagePolicy> {
        &o.image_policies
    }
    fn map_mut(o: &mut Objects) -> &mut BTreeMap<ObjectKey, ImagePolicy> {
        &mut o.image_policies
    }
}

impl Held for ImageUpdateAutomation {
    fn map(o: &Objects) -> &BTreeMap<ObjectKey, ImageUpdateAutomation> {
        &o.automations
    }
    fn map_mut(o: &mut Objects) -> &mut BTreeMap<ObjectKey, ImageUpdateAutomation> {
        &mut o.automations
    }
}

impl Held for Receiver {
    fn map(o: &Objects) -> &BTreeMap<ObjectKey, Receiver> {
        &o.receivers
    }
    fn map_mut(o: &mut Objects) -> &mut BTreeMap<ObjectKey, Receiver> {
        &mut o.receivers
    }
}

impl Held for Kustomization {
    fn map(o: &Objects) -> &BTreeMap<ObjectKey, Kustomization> {
        &o.kustomizations
    }
    fn map_mut(o: &mut Objects) -> &mut BTreeMap<ObjectKey, Kustomization> {
        &mut o.kustomizations
    }
}

impl Held for Provider {
    fn map(o: &Objects) -> &BTreeMap<ObjectKey, Provider> {
        &o.providers
    }
    fn map_mut(o: &mut Objects) -> &mut BTreeMap<ObjectKey, Provider> {
        &mut o.providers
    }
}

impl Held for Alert {
    fn map(o: &Objects) -> &BTreeMap<ObjectKey, Alert> {
        &o.alerts
    }
    fn map_mut(o: &mut Objects) -> &mut BTreeMap<ObjectKey, Alert> {
        &mut o.alerts
    }
}

impl Held for GitRepository {
    fn map(o: &Objects) -> &BTreeMap<ObjectKey, GitRepository> {
        &o.git_repositories
    }
    fn map_mut(o: &mut Objects) -> &mut BTreeMap<ObjectKey, GitRepository> {
        &mut o.git_repositories
    }
}

/// Objects loaded from a checkout.
#[derive(Debug, Clone, Default)]
pub struct LocalSource {
    pub root: PathBuf,
    pub path: PathBuf,
    pub objects: Objects,
    pub findings: Vec<Finding>,
}

impl LocalSource {
    /// Load every object under `root/path` (`path` relative, `.` for all).
    pub fn load(root: &Path, path: &Path) -> Result<LocalSource, SourceError> {
        let rel = path.strip_prefix("./").unwrap_or(path);
        if rel.is_absolute()
            || rel
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err(SourceError::OutsideCheckout {
                root: root.to_path_buf(),
                path: path.to_path_buf(),
            });
        }
        let dir = root.join(rel);
        std::fs::metadata(&dir).map_err(|e| SourceError::Missing {
            path: dir.clone(),
            detail: e.to_string(),
        })?;
        let loaded = manifest::load_paths(std::slice::from_ref(&dir));
        let mut source = LocalSource {
            root: root.to_path_buf(),
            path: dir,
            objects: Objects::default(),
            findings: loaded.findings,
        };
        for m in loaded.manifests {
            source.add(m);
        }
        Ok(source)
    }

    fn add(&mut self, m: manifest::Manifest) {
        let namespace = m
            .namespace
            .clone()
            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string());
        let key = ObjectKey::new(&m.kind, &namespace, &m.name);
        let origin = Origin {
            file: m.file.clone(),
            line: m.line,
            api_version: m.api_version.clone(),
        };
        if matches!(
            m.object,
            Object::ImageRepository(_)
                | Object::ImagePolicy(_)
                | Object::ImageUpdateAutomation(_)
                | Object::GitRepository(_)
                | Object::Receiver(_)
                | Object::Kustomization(_)
                | Object::Provider(_)
                | Object::Alert(_)
        ) && let Some(first) = self.objects.origins.get(&key)
        {
            self.findings.push(m.finding(
                m.line,
                Severity::Error,
                format!(
                    "duplicate object: already defined at {}:{}; this one is ignored",
                    first.file.display(),
                    first.line
                ),
            ));
            return;
        }
        let ns = Some(namespace);
        let added = match m.object {
            Object::ImageRepository(mut o) => {
                o.metadata.namespace = ns;
                self.objects.image_repositories.insert(key.clone(), o);
                true
            }
            Object::ImagePolicy(mut o) => {
                o.metadata.namespace = ns;
                self.objects.image_policies.insert(key.clone(), o);
                true
            }
            Object::ImageUpdateAutomation(mut o) => {
                o.metadata.namespace = ns;
                self.objects.automations.insert(key.clone(), o);
                true
            }
            Object::GitRepository(mut o) => {
                o.metadata.namespace = ns;
                self.objects.git_repositories.insert(key.clone(), o);
                true
            }
            Object::Receiver(mut o) => {
                o.metadata.namespace = ns;
                self.objects.receivers.insert(key.clone(), o);
                true
            }
            Object::Kustomization(mut o) => {
                o.metadata.namespace = ns;
                self.objects.kustomizations.insert(key.clone(), o);
                true
            }
            Object::Provider(mut o) => {
                o.metadata.namespace = ns;
                self.objects.providers.insert(key.clone(), o);
                true
            }
            Object::Alert(mut o) => {
                o.metadata.namespace = ns;
                self.objects.alerts.insert(key.clone(), o);
                true
            }
            _ => false,
        };
        if added {
            self.objects.origins.insert(key, origin);
        }
    }

    /// Findings of severity error (documents that did not decode, duplicates).
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
    }
}

#[cfg(test)]
mod tests;
