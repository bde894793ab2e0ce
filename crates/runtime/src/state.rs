//! Status persistence on `ferroflux-store`: every object's status as JSON
//! under `kind/namespace/name`, and its spec under `kind.spec/...` (what
//! `ferroflux get` needs for SUSPENDED and `explain` for the chain). Each
//! write is one redb transaction, so a killed process leaves the previous
//! complete value. Blocking: async callers use `spawn_blocking`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferroflux_store::{Options, Store, StoreError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::source::ObjectKey;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("state {path}: {what} of {key} does not decode: {source}")]
    Decode {
        path: PathBuf,
        key: String,
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("state {path}: {what} of {key} does not encode: {source}")]
    Encode {
        path: PathBuf,
        key: String,
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("state directory {dir}: {source}")]
    Dir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A stored object: its spec and its status (either may be absent).
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub namespace: String,
    pub name: String,
    pub spec: Option<serde_json::Value>,
    pub status: Option<serde_json::Value>,
}

/// The state database. Cheap to clone.
#[derive(Debug, Clone)]
pub struct StatusStore {
    store: Arc<Store>,
}

impl StatusStore {
    /// Open or create the database, creating its directory.
    pub fn open(path: &Path) -> Result<StatusStore, StateError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StateError::Dir {
                dir: dir.to_path_buf(),
                source,
            })?;
        }
        Ok(StatusStore {
            store: Arc::new(Store::open(path, Options::default())?),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        self.store.path()
    }

    /// The underlying store (tags live in it too).
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    pub fn put_status<T: Serialize>(&self, key: &ObjectKey, status: &T) -> Result<(), StateError> {
        let value = self.encode(key, "status", status)?;
        self.store.put_status(&key.to_string(), &value)?;
        Ok(())
    }

    pub fn put_spec<T: Serialize>(&self, key: &ObjectKey, spec: &T) -> Result<(), StateError> {
        let value = self.encode(key, "spec", spec)?;
        self.store.put_status(&spec_key(key), &value)?;
        Ok(())
    }

    pub fn get_status<T: DeserializeOwned>(
        &self,
        key: &ObjectKey,
    ) -> Result<Option<T>, StateError> {
        self.store
            .get_status(&key.to_string())?
            .map(|v| self.decode(key, "status", v))
            .transpose()
    }

    pub fn get_spec<T: DeserializeOwned>(&self, key: &ObjectKey) -> Result<Option<T>, StateError> {
        self.store
            .get_status(&spec_key(key))?
            .map(|v| self.decode(key, "spec", v))
            .transpose()
    }

    /// Forget an object that left the repository.
    pub fn remove(&self, key: &ObjectKey) -> Result<(), StateError> {
        self.store.remove_status(&key.to_string())?;
        self.store.remove_status(&spec_key(key))?;
        Ok(())
    }

    /// Every stored object of a kind, sorted by namespace and name.
    pub fn list(&self, kind: &str) -> Result<Vec<Stored>, StateError> {
        let mut out: std::collections::BTreeMap<String, Stored> = Default::default();
        let entry = |out: &mut std::collections::BTreeMap<String, Stored>, nsname: &str| {
            let (ns, name) = nsname.split_once('/').unwrap_or(("", nsname));
            out.entry(nsname.to_string())
                .or_insert_with(|| Stored {
                    namespace: ns.to_string(),
                    name: name.to_string(),
                    spec: None,
                    status: None,
                })
                .clone()
        };
        for (nsname, status) in self.store.list_status(kind)? {
            let mut e = entry(&mut out, &nsname);
            e.status = Some(status);
            out.insert(nsname, e);
        }
        for (nsname, spec) in self.store.list_status(&format!("{kind}.spec"))? {
            let mut e = entry(&mut out, &nsname);
            e.spec = Some(spec);
            out.insert(nsname, e);
        }
        Ok(out.into_values().collect())
    }

    /// Every stored `kind/namespace/name` of a kind.
    pub fn keys(&self, kind: &str) -> Result<Vec<ObjectKey>, StateError> {
        Ok(self
            .list(kind)?
            .into_iter()
            .map(|s| ObjectKey::new(kind, &s.namespace, &s.name))
            .collect())
    }

    fn encode<T: Serialize>(
        &self,
        key: &ObjectKey,
        what: &'static str,
        value: &T,
    ) -> Result<serde_json::Value, StateError> {
        serde_json::to_value(value).map_err(|source| StateError::Encode {
            path: self.store.path().to_path_buf(),
            key: key.to_string(),
            what,
            source,
        })
    }

    fn decode<T: DeserializeOwned>(
        &self,
        key: &ObjectKey,
        what: &'static str,
        value: serde_json::Value,
    ) -> Result<T, StateError> {
        serde_json::from_value(value).map_err(|source| StateError::Decode {
            path: self.store.path().to_path_buf(),
            key: key.to_string(),
            what,
            source,
        })
    }
}

fn spec_key(key: &ObjectKey) -> String {
    format!("{}.spec/{}/{}", key.kind, key.namespace, key.name)
}

#[cfg(test)]
mod tests;
