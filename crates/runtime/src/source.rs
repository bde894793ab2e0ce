//! The local object source: Flux objects read from a checkout directory
//! (`--path` under it), indexed by kind, namespace and name.
//!
//! Objects of any served version come converted by the api crate's loader.
//! A document that does not decode, or a duplicate, is a finding: the other
//! objects load anyway, so one broken file never stops the rest.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use std::any::Any;
use std::fmt;

use ferroflux_api::manifest::{self, Finding, Severity};
use ferroflux_api::meta::ObjectMeta;
use k8s_openapi::api::core::v1::ObjectReference;

use ferroflux_controllers::kind::{Kind, Lookup};

use crate::index::Index;
pub use crate::index::Ref;
use crate::registry::{Registry, flux};

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

/// The objects of every kind of a registry, by key: one typed map per
/// kind ([`Objects::of`]), created when its first object arrives, so a new
/// kind needs no field here.
pub struct Objects {
    registry: &'static Registry,
    maps: BTreeMap<&'static str, Box<dyn Map>>,
    pub origins: BTreeMap<ObjectKey, Origin>,
    /// Who reads what, brought up to date when asked: a change marks the
    /// keys (or, through [`Objects::of_mut`], the kind) it touched, so a
    /// watch event costs its own object's references, not every object's.
    index: Mutex<IndexCache>,
}

/// The reference index and what changed since it was last brought up to date.
#[derive(Clone, Default)]
struct IndexCache {
    index: Index,
    stale_keys: BTreeSet<ObjectKey>,
    stale_kinds: BTreeSet<&'static str>,
}

impl Clone for Objects {
    fn clone(&self) -> Self {
        Objects {
            registry: self.registry,
            maps: self.maps.clone(),
            origins: self.origins.clone(),
            index: Mutex::new(self.index_cache().clone()),
        }
    }
}

/// One kind's map, whatever its object type.
trait Map: Send + Sync {
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
    fn clone_box(&self) -> Box<dyn Map>;
    fn same(&self, other: &dyn Map) -> bool;
    fn is_empty(&self) -> bool;
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

impl<T: Clone + PartialEq + fmt::Debug + Send + Sync + 'static> Map for BTreeMap<ObjectKey, T> {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn clone_box(&self) -> Box<dyn Map> {
        Box::new(self.clone())
    }
    fn same(&self, other: &dyn Map) -> bool {
        match other.as_any().downcast_ref::<Self>() {
            Some(o) => self == o,
            None => self.is_empty() && other.is_empty(),
        }
    }
    fn is_empty(&self) -> bool {
        BTreeMap::is_empty(self)
    }
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Clone for Box<dyn Map> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

impl fmt::Debug for Objects {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct M<'a>(&'a dyn Map);
        impl fmt::Debug for M<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
        f.debug_struct("Objects")
            .field(
                "maps",
                &self
                    .maps
                    .iter()
                    .map(|(k, m)| (k, M(m.as_ref())))
                    .collect::<BTreeMap<_, _>>(),
            )
            .field("origins", &self.origins)
            .finish()
    }
}

/// Same objects and origins (an empty map is no map).
impl PartialEq for Objects {
    fn eq(&self, other: &Objects) -> bool {
        let same = |a: &Objects, b: &Objects| {
            a.maps.iter().all(|(k, m)| match b.maps.get(k) {
                Some(o) => m.same(o.as_ref()),
                None => m.is_empty(),
            })
        };
        self.origins == other.origins && same(self, other) && same(other, self)
    }
}

impl Default for Objects {
    fn default() -> Self {
        Objects::new(flux())
    }
}

impl Objects {
    /// No objects, of the kinds of `registry`.
    pub fn new(registry: &'static Registry) -> Objects {
        Objects {
            registry,
            maps: BTreeMap::new(),
            origins: BTreeMap::new(),
            index: Mutex::default(),
        }
    }

    /// The kinds these objects are of.
    pub fn registry(&self) -> &'static Registry {
        self.registry
    }

    /// The objects of `K`, by key.
    pub fn of<K: Kind>(&self) -> &BTreeMap<ObjectKey, K::Object> {
        self.maps
            .get(K::INFO.kind)
            .and_then(|m| m.as_any().downcast_ref())
            .unwrap_or(const { &BTreeMap::new() })
    }

    /// The objects of `K`, by key, to change (any of them: the reference
    /// index reads the whole kind again).
    pub fn of_mut<K: Kind>(&mut self) -> &mut BTreeMap<ObjectKey, K::Object> {
        self.cache().stale_kinds.insert(K::INFO.kind);
        self.map_mut::<K>()
    }

    /// The objects of `K` to change, leaving the reference index to the
    /// caller: it calls [`Objects::touched`] for a key whose spec it
    /// changed, or nothing when only status or annotations moved.
    pub(crate) fn map_mut<K: Kind>(&mut self) -> &mut BTreeMap<ObjectKey, K::Object> {
        let fresh = || Box::new(BTreeMap::<ObjectKey, K::Object>::new()) as Box<dyn Map>;
        let slot = self.maps.entry(K::INFO.kind).or_insert_with(fresh);
        if !slot.as_any().is::<BTreeMap<ObjectKey, K::Object>>() {
            *slot = fresh();
        }
        slot.as_any_mut()
            .downcast_mut()
            .expect("the map was just made for this kind")
    }

    /// Every key, in kind order (sources first: the order of a run).
    pub fn keys(&self) -> Vec<ObjectKey> {
        self.registry.kinds().flat_map(|k| k.keys(self)).collect()
    }

    /// The stored status of `key` as JSON (None when absent).
    pub fn status_json(&self, key: &ObjectKey) -> Option<serde_json::Value> {
        self.registry.get(&key.kind)?.status(self, key)
    }

    /// Give `key` the encoded `status`; false when the object is gone or
    /// the status is not its kind's.
    pub fn set_status_json(&mut self, key: &ObjectKey, status: &serde_json::Value) -> bool {
        self.registry
            .get(&key.kind)
            .is_some_and(|k| k.set_status(self, key, status))
    }

    /// The reference a Kubernetes Event on `key` points at (reconciled
    /// kinds only: nothing else has events).
    pub fn reference(&self, key: &ObjectKey) -> Option<ObjectReference> {
        let kind = self.registry.get(&key.kind).filter(|k| k.reconciled())?;
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
        self.registry.get(&key.kind)?.meta(self, key)
    }

    /// Drop `key` and its origin; false when it was not there.
    pub fn remove(&mut self, key: &ObjectKey) -> bool {
        let known = self
            .registry
            .get(&key.kind)
            .is_some_and(|k| k.remove(self, key));
        self.origins.remove(key);
        known
    }

    /// What `key` reads, from its kind's watches.
    pub fn refs_of(&self, key: &ObjectKey) -> Vec<Ref> {
        self.registry
            .get(&key.kind)
            .map(|k| k.refs(self, key))
            .unwrap_or_default()
    }

    /// The objects `key` reads that a pass reconciles before it: those its
    /// references name (every one of a kind in a namespace, for
    /// [`Ref::Namespace`]) that exist and are of a reconciled kind.
    pub fn waits_for(&self, key: &ObjectKey) -> Vec<ObjectKey> {
        let reconciled = |kind: &str| self.registry.get(kind).is_some_and(|k| k.reconciled());
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

    /// `key` was added, removed or given a new spec: the index reads its
    /// references again when next asked.
    pub(crate) fn touched(&mut self, key: &ObjectKey) {
        self.cache().stale_keys.insert(key.clone());
    }

    fn cache(&mut self) -> &mut IndexCache {
        self.index.get_mut().unwrap_or_else(PoisonError::into_inner)
    }

    fn index_cache(&self) -> MutexGuard<'_, IndexCache> {
        self.index.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The objects that read `upstream` (by name or through its
    /// namespace), in key order, from the index kept up to date.
    pub fn dependents(&self, upstream: &ObjectKey) -> Vec<ObjectKey> {
        let mut cache = self.index_cache();
        for kind in std::mem::take(&mut cache.stale_kinds) {
            let keys: BTreeSet<ObjectKey> = self
                .registry
                .get(kind)
                .map(|k| k.keys(self))
                .unwrap_or_default()
                .into_iter()
                .collect();
            cache.index.reset(kind, &keys);
            for key in keys {
                let refs = self.refs_of(&key);
                cache.index.insert(key, refs);
            }
        }
        for key in std::mem::take(&mut cache.stale_keys) {
            if self.meta(&key).is_some() {
                let refs = self.refs_of(&key);
                cache.index.insert(key, refs);
            } else {
                cache.index.remove(&key);
            }
        }
        cache.index.dependents(upstream)
    }

    /// The references of every object, and who reads what, built afresh:
    /// what the kept index must answer.
    #[cfg(test)]
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
        self.registry.get(&key.kind)?.spec(self, key)
    }

    pub fn len(&self) -> usize {
        self.registry.kinds().map(|k| k.keys(self).len()).sum()
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
        self.registry.get(&key.kind)?.any(self, key)
    }

    fn keys_in(&self, kind: &str, namespace: &str) -> Vec<ObjectKey> {
        self.registry
            .get(kind)
            .map(|k| k.keys(self))
            .unwrap_or_default()
            .into_iter()
            .filter(|k| k.namespace == namespace)
            .collect()
    }

    fn json(&self, key: &ObjectKey) -> Option<serde_json::Value> {
        let kind = self.registry.get(&key.kind)?;
        let mut v = kind.spec(self, key)?;
        if let (Some(m), Some(status)) = (v.as_object_mut(), kind.status(self, key)) {
            m.insert("status".into(), status);
        }
        Some(v)
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
    /// Load every object under `root/path` (`path` relative, `.` for all)
    /// of the kinds ferroflux serves.
    pub fn load(root: &Path, path: &Path) -> Result<LocalSource, SourceError> {
        LocalSource::load_kinds(root, path, flux())
    }

    /// Load every object under `root/path` of the kinds of `registry`.
    pub fn load_kinds(
        root: &Path,
        path: &Path,
        registry: &'static Registry,
    ) -> Result<LocalSource, SourceError> {
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
            objects: Objects::new(registry),
            findings: loaded.findings,
        };
        for m in loaded.manifests {
            source.add(m);
        }
        source.add_derived();
        Ok(source)
    }

    /// The objects the loaded ones make ([`Kind::derived`]: a
    /// HelmRelease's HelmChart), held as if the checkout had them, with
    /// their maker's origin. An object the checkout already has wins.
    fn add_derived(&mut self) {
        let registry = self.objects.registry();
        let mut made = Vec::new();
        for kind in registry.kinds() {
            for key in kind.keys(&self.objects) {
                for object in kind.derived(&self.objects, &key) {
                    made.push((key.clone(), object));
                }
            }
        }
        for (maker, object) in made {
            let (Some(kind), Some(name)) =
                (object["kind"].as_str(), object["metadata"]["name"].as_str())
            else {
                continue;
            };
            let namespace = object["metadata"]["namespace"]
                .as_str()
                .unwrap_or(DEFAULT_NAMESPACE)
                .to_string();
            let key = ObjectKey::new(kind, &namespace, name);
            let Some(erased) = registry.get(kind) else {
                continue;
            };
            if self.objects.origins.contains_key(&key) {
                continue;
            }
            // Through the loader, so that a kind the api crate models is
            // decoded as a checkout's would be.
            let text = object.to_string();
            let loaded = manifest::load_str(Path::new("<made>"), &text);
            let Some(decoded) = loaded
                .manifests
                .first()
                .and_then(|m| erased.decode(&m.object))
            else {
                tracing::warn!(object = %key, maker = %maker, "made object does not decode");
                continue;
            };
            if erased.insert(&mut self.objects, &key, decoded, &namespace)
                && let Some(origin) = self.objects.origins.get(&maker).cloned()
            {
                self.objects.origins.insert(key, origin);
            }
        }
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
        let Some(kind) = self.objects.registry().get(&m.kind) else {
            return;
        };
        let Some(object) = kind.decode(&m.object) else {
            return;
        };
        if let Some(first) = self.objects.origins.get(&key) {
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
        if kind.insert(&mut self.objects, &key, object, &namespace) {
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
