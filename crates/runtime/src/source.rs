//! The local object source: Flux objects read from a checkout directory
//! (`--path` under it), indexed by kind, namespace and name.
//!
//! Objects of any served version come converted by the api crate's loader.
//! A document that does not decode, or a duplicate, is a finding: the other
//! objects load anyway, so one broken file never stops the rest.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use ferroflux_api::image::{ImagePolicy, ImageRepository, ImageUpdateAutomation};
use ferroflux_api::manifest::{self, Finding, Object, Severity};
use ferroflux_api::meta::ObjectMeta;
use ferroflux_api::notification::Receiver;
use ferroflux_api::source::GitRepository;
use k8s_openapi::api::core::v1::ObjectReference;

use crate::index::{Index, Ref};

/// Where `metadata.namespace` is absent, as `kubectl apply` does.
pub const DEFAULT_NAMESPACE: &str = "default";

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("manifest path {path} is outside the checkout {root}")]
    OutsideCheckout { root: PathBuf, path: PathBuf },
    #[error("manifest path {path}: {detail}")]
    Missing { path: PathBuf, detail: String },
}

/// `kind/namespace/name`, the key of the status table and the scheduler.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl ObjectKey {
    pub fn new(kind: &str, namespace: &str, name: &str) -> Self {
        ObjectKey {
            kind: kind.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }

    /// `namespace/name`, as Flux names objects in messages.
    pub fn namespaced_name(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
    }
}

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
    pub origins: BTreeMap<ObjectKey, Origin>,
}

impl Objects {
    /// Every key, in kind order (repositories first: the order of a run).
    pub fn keys(&self) -> Vec<ObjectKey> {
        let mut keys: Vec<ObjectKey> = Vec::new();
        keys.extend(self.git_repositories.keys().cloned());
        keys.extend(self.receivers.keys().cloned());
        keys.extend(self.image_repositories.keys().cloned());
        keys.extend(self.image_policies.keys().cloned());
        keys.extend(self.automations.keys().cloned());
        keys
    }

    /// The stored status of `key` as JSON (None when absent).
    pub fn status_json(&self, key: &ObjectKey) -> Option<serde_json::Value> {
        fn of<T: serde::Serialize>(o: Option<&T>) -> Option<serde_json::Value> {
            o.and_then(|s| serde_json::to_value(s).ok())
        }
        match key.kind.as_str() {
            "ImageRepository" => of(self
                .image_repositories
                .get(key)
                .and_then(|o| o.status.as_ref())),
            "ImagePolicy" => of(self.image_policies.get(key).and_then(|o| o.status.as_ref())),
            "ImageUpdateAutomation" => {
                of(self.automations.get(key).and_then(|o| o.status.as_ref()))
            }
            "Receiver" => of(self.receivers.get(key).and_then(|o| o.status.as_ref())),
            _ => None,
        }
    }

    /// Give `key` the encoded `status`; false when the object is gone or
    /// the status is not its kind's.
    pub fn set_status_json(&mut self, key: &ObjectKey, status: &serde_json::Value) -> bool {
        fn set<T: serde::de::DeserializeOwned>(
            slot: Option<&mut Option<T>>,
            status: &serde_json::Value,
        ) -> bool {
            let Some(slot) = slot else {
                return false;
            };
            match serde_json::from_value(status.clone()) {
                Ok(s) => {
                    *slot = Some(s);
                    true
                }
                Err(_) => false,
            }
        }
        match key.kind.as_str() {
            "ImageRepository" => set(
                self.image_repositories.get_mut(key).map(|o| &mut o.status),
                status,
            ),
            "ImagePolicy" => set(
                self.image_policies.get_mut(key).map(|o| &mut o.status),
                status,
            ),
            "ImageUpdateAutomation" => {
                set(self.automations.get_mut(key).map(|o| &mut o.status), status)
            }
            "Receiver" => set(self.receivers.get_mut(key).map(|o| &mut o.status), status),
            _ => false,
        }
    }

    /// The reference a Kubernetes Event on `key` points at.
    pub fn reference(&self, key: &ObjectKey) -> Option<ObjectReference> {
        let (group, meta) = match key.kind.as_str() {
            "ImageRepository" => ("image", &self.image_repositories.get(key)?.metadata),
            "ImagePolicy" => ("image", &self.image_policies.get(key)?.metadata),
            "ImageUpdateAutomation" => ("image", &self.automations.get(key)?.metadata),
            "Receiver" => ("notification", &self.receivers.get(key)?.metadata),
            _ => return None,
        };
        Some(ObjectReference {
            api_version: Some(format!("{group}.toolkit.fluxcd.io/v1")),
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
        match key.kind.as_str() {
            "ImageRepository" => self.image_repositories.get(key).map(|o| &o.metadata),
            "ImagePolicy" => self.image_policies.get(key).map(|o| &o.metadata),
            "ImageUpdateAutomation" => self.automations.get(key).map(|o| &o.metadata),
            "GitRepository" => self.git_repositories.get(key).map(|o| &o.metadata),
            "Receiver" => self.receivers.get(key).map(|o| &o.metadata),
            _ => None,
        }
    }

    /// Drop `key` and its origin; false when it was not there.
    pub fn remove(&mut self, key: &ObjectKey) -> bool {
        let known = match key.kind.as_str() {
            "ImageRepository" => self.image_repositories.remove(key).is_some(),
            "ImagePolicy" => self.image_policies.remove(key).is_some(),
            "ImageUpdateAutomation" => self.automations.remove(key).is_some(),
            "GitRepository" => self.git_repositories.remove(key).is_some(),
            "Receiver" => self.receivers.remove(key).is_some(),
            _ => false,
        };
        self.origins.remove(key);
        known
    }

    /// What `key` reads: an ImagePolicy its `imageRepositoryRef`, an
    /// ImageUpdateAutomation its `sourceRef` and every ImagePolicy of its
    /// namespace, a Receiver the Secret of its token.
    pub fn refs_of(&self, key: &ObjectKey) -> Vec<Ref> {
        let object = |kind: &str, ns: Option<&String>, name: &str| {
            Ref::Object(ObjectKey::new(kind, ns.unwrap_or(&key.namespace), name))
        };
        match key.kind.as_str() {
            "ImagePolicy" => self.image_policies.get(key).map_or_else(Vec::new, |p| {
                let r = &p.spec.image_repository_ref;
                vec![object("ImageRepository", r.namespace.as_ref(), &r.name)]
            }),
            "ImageUpdateAutomation" => self.automations.get(key).map_or_else(Vec::new, |a| {
                let r = &a.spec.source_ref;
                vec![
                    object("GitRepository", r.namespace.as_ref(), &r.name),
                    Ref::Namespace {
                        kind: "ImagePolicy".to_string(),
                        namespace: key.namespace.clone(),
                    },
                ]
            }),
            "Receiver" => self
                .receivers
                .get(key)
                .and_then(|r| r.spec.secret_ref.as_ref())
                .map(|s| vec![object("Secret", None, &s.name)])
                .unwrap_or_default(),
            _ => Vec::new(),
        }
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

    pub fn len(&self) -> usize {
        self.image_repositories.len()
            + self.image_policies.len()
            + self.automations.len()
            + self.git_repositories.len()
            + self.receivers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Same objects apart from status: what decides a re-read matters.
    pub fn same_specs(&self, other: &Objects) -> bool {
        fn strip<T: Clone>(
            m: &BTreeMap<ObjectKey, T>,
            f: impl Fn(&mut T),
        ) -> BTreeMap<ObjectKey, T> {
            m.iter()
                .map(|(k, v)| {
                    let mut v = v.clone();
                    f(&mut v);
                    (k.clone(), v)
                })
                .collect()
        }
        strip(&self.image_repositories, |o| o.status = None)
            == strip(&other.image_repositories, |o| o.status = None)
            && strip(&self.image_policies, |o| o.status = None)
                == strip(&other.image_policies, |o| o.status = None)
            && strip(&self.automations, |o| o.status = None)
                == strip(&other.automations, |o| o.status = None)
            && strip(&self.git_repositories, |o| o.status = None)
                == strip(&other.git_repositories, |o| o.status = None)
            && strip(&self.receivers, |o| o.status = None)
                == strip(&other.receivers, |o| o.status = None)
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
