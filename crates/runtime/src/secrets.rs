//! Secrets kept outside the repository: Kubernetes Secret manifests in a
//! directory (`--secrets DIR`, `data` base64 and `stringData`), plus a
//! docker `config.json` used for registries when an ImageRepository names
//! no Secret. Values never reach a log or an error message.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use ferroflux_api::manifest::{self, Object};

use crate::source::DEFAULT_NAMESPACE;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("secret '{namespace}/{name}' not found{}", where_looked(.dir))]
    NotFound {
        namespace: String,
        name: String,
        dir: Option<PathBuf>,
    },
    #[error("{file}:{line}: secret '{namespace}/{name}': key '{key}' of data is not base64")]
    BadBase64 {
        file: PathBuf,
        line: usize,
        namespace: String,
        name: String,
        key: String,
    },
    #[error("{file}:{line}: secret '{namespace}/{name}': {detail}")]
    Malformed {
        file: PathBuf,
        line: usize,
        namespace: String,
        name: String,
        detail: String,
    },
    #[error("secrets directory {dir}: {detail}")]
    Dir { dir: PathBuf, detail: String },
    #[error("docker config {file}: {detail}")]
    DockerConfig { file: PathBuf, detail: String },
}

fn where_looked(dir: &Option<PathBuf>) -> String {
    match dir {
        Some(d) => format!(" in {}", d.display()),
        None => " (no --secrets directory given)".to_string(),
    }
}

/// Secret data by namespace and name.
#[derive(Clone, Default)]
pub struct Secrets {
    dir: Option<PathBuf>,
    data: BTreeMap<(String, String), BTreeMap<String, Vec<u8>>>,
    docker_config: Option<(PathBuf, Vec<u8>)>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("dir", &self.dir)
            .field("secrets", &self.data.keys().collect::<Vec<_>>())
            .field(
                "docker_config",
                &self.docker_config.as_ref().map(|(p, _)| p),
            )
            .finish()
    }
}

impl Secrets {
    /// Read every Secret manifest under `dir`. Other kinds are ignored; a
    /// malformed Secret is an error (it would otherwise look missing).
    pub fn load_dir(dir: &Path) -> Result<Secrets, SecretError> {
        std::fs::metadata(dir).map_err(|e| SecretError::Dir {
            dir: dir.to_path_buf(),
            detail: e.to_string(),
        })?;
        let loaded = manifest::load_paths(&[dir.to_path_buf()]);
        let mut secrets = Secrets {
            dir: Some(dir.to_path_buf()),
            ..Secrets::default()
        };
        for m in loaded.manifests {
            let Object::Other(value) = &m.object else {
                continue;
            };
            if m.kind != "Secret" {
                continue;
            }
            let namespace = m
                .namespace
                .clone()
                .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string());
            let data = decode(value, &m.file, m.line, &namespace, &m.name)?;
            secrets.data.insert((namespace, m.name.clone()), data);
        }
        Ok(secrets)
    }

    /// Add a docker `config.json` for registries without a `secretRef`.
    pub fn with_docker_config(mut self, file: &Path) -> Result<Secrets, SecretError> {
        let bytes = std::fs::read(file).map_err(|e| SecretError::DockerConfig {
            file: file.to_path_buf(),
            detail: e.to_string(),
        })?;
        self.docker_config = Some((file.to_path_buf(), bytes));
        Ok(self)
    }

    /// Insert one Secret (tests and conveniences such as the git password).
    pub fn insert(&mut self, namespace: &str, name: &str, data: BTreeMap<String, Vec<u8>>) {
        self.data
            .insert((namespace.to_string(), name.to_string()), data);
    }

    /// Forget one Secret (it was deleted in the cluster).
    pub fn remove(&mut self, namespace: &str, name: &str) {
        self.data.remove(&(namespace.to_string(), name.to_string()));
    }

    pub fn get(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<&BTreeMap<String, Vec<u8>>, SecretError> {
        self.data
            .get(&(namespace.to_string(), name.to_string()))
            .ok_or_else(|| SecretError::NotFound {
                namespace: namespace.to_string(),
                name: name.to_string(),
                dir: self.dir.clone(),
            })
    }

    /// The docker config file and its bytes, when one was given.
    pub fn docker_config(&self) -> Option<(&Path, &[u8])> {
        self.docker_config
            .as_ref()
            .map(|(p, b)| (p.as_path(), b.as_slice()))
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

fn decode(
    value: &serde_json::Value,
    file: &Path,
    line: usize,
    namespace: &str,
    name: &str,
) -> Result<BTreeMap<String, Vec<u8>>, SecretError> {
    let malformed = |detail: &str| SecretError::Malformed {
        file: file.to_path_buf(),
        line,
        namespace: namespace.to_string(),
        name: name.to_string(),
        detail: detail.to_string(),
    };
    let mut out = BTreeMap::new();
    if let Some(data) = value.get("data").filter(|d| !d.is_null()) {
        let map = data
            .as_object()
            .ok_or_else(|| malformed("data must be a map of strings"))?;
        for (key, v) in map {
            let text = v
                .as_str()
                .ok_or_else(|| malformed(&format!("data key '{key}' must be a string")))?;
            let compact: String = text.split_whitespace().collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(compact)
                .map_err(|_| SecretError::BadBase64 {
                    file: file.to_path_buf(),
                    line,
                    namespace: namespace.to_string(),
                    name: name.to_string(),
                    key: key.clone(),
                })?;
            out.insert(key.clone(), bytes);
        }
    }
    // stringData wins over data, as the API server merges it.
    if let Some(data) = value.get("stringData").filter(|d| !d.is_null()) {
        let map = data
            .as_object()
            .ok_or_else(|| malformed("stringData must be a map of strings"))?;
        for (key, v) in map {
            let text = v
                .as_str()
                .ok_or_else(|| malformed(&format!("stringData key '{key}' must be a string")))?;
            out.insert(key.clone(), text.as_bytes().to_vec());
        }
    }
    Ok(out)
}

/// What a reconcile reads: the Secret or why it is missing.
impl ferroflux_controllers::kind::SecretSource for Secrets {
    fn secret(&self, namespace: &str, name: &str) -> Result<&BTreeMap<String, Vec<u8>>, String> {
        self.get(namespace, name).map_err(|e| e.to_string())
    }

    fn docker_config(&self) -> Option<(&Path, &[u8])> {
        Secrets::docker_config(self)
    }
}

#[cfg(test)]
mod tests;
