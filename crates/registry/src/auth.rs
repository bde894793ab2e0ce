//! Registry credentials: anonymous, or Basic from a docker config
//! (`kubernetes.io/dockerconfigjson` Secret or `~/.docker/config.json`).
//!
//! Secrets never reach `Debug`, `Display` or an error message: the password
//! is printed as `<redacted>` and errors name only the host and the field.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use serde::Deserialize;

use crate::name::DOCKER_HUB;

/// The key of a `kubernetes.io/dockerconfigjson` Secret's data.
pub const DOCKER_CONFIG_JSON_KEY: &str = ".dockerconfigjson";

/// Credentials for one registry.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum Auth {
    #[default]
    Anonymous,
    Basic {
        username: String,
        password: String,
    },
}

impl Auth {
    /// The username, if any: part of the token cache key, never the password.
    pub fn username(&self) -> Option<&str> {
        match self {
            Auth::Anonymous => None,
            Auth::Basic { username, .. } => Some(username),
        }
    }

    pub(crate) fn basic_header(&self) -> Option<String> {
        match self {
            Auth::Anonymous => None,
            Auth::Basic { username, password } => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
            )),
        }
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Anonymous => f.write_str("Anonymous"),
            Auth::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
        }
    }
}

/// A docker config could not be read. Never carries a credential.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("secret has no '{key}' key")]
    MissingKey { key: String },
    #[error("invalid docker config JSON{}: line {line} column {column}: {category}", in_source(.source_name))]
    Json {
        source_name: Option<String>,
        line: usize,
        column: usize,
        category: String,
    },
    #[error("docker config entry for '{host}': field 'auth' is not valid base64")]
    Base64 { host: String },
    #[error("docker config entry for '{host}': field 'auth' is not '<username>:<password>'")]
    AuthFormat { host: String },
}

fn in_source(name: &Option<String>) -> String {
    name.as_deref()
        .map(|n| format!(" in {n}"))
        .unwrap_or_default()
}

#[derive(Deserialize, Default)]
struct RawConfig {
    #[serde(default)]
    auths: BTreeMap<String, RawEntry>,
}

#[derive(Deserialize, Default)]
struct RawEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

/// The `auths` of a docker config, keyed by normalised registry host.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct DockerConfig {
    auths: BTreeMap<String, Auth>,
}

impl fmt::Debug for DockerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DockerConfig")
            .field("hosts", &self.auths.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl DockerConfig {
    /// Parse a docker `config.json` / `.dockerconfigjson` document.
    /// `source_name` (a file or `Secret/ns/name`) goes into errors.
    pub fn parse(json: &[u8], source_name: Option<&str>) -> Result<DockerConfig, AuthError> {
        let raw: RawConfig = serde_json::from_slice(json).map_err(|e| AuthError::Json {
            source_name: source_name.map(str::to_owned),
            line: e.line(),
            column: e.column(),
            category: format!("{:?}", e.classify()).to_lowercase(),
        })?;
        let mut auths = BTreeMap::new();
        for (key, entry) in raw.auths {
            let host = normalize_host(&key);
            let auth = entry_auth(&host, entry)?;
            if let Some(auth) = auth {
                auths.insert(host, auth);
            }
        }
        Ok(DockerConfig { auths })
    }

    /// Read the `.dockerconfigjson` key of a Secret's (decoded) data.
    pub fn from_secret_data(
        data: &BTreeMap<String, Vec<u8>>,
        secret_name: &str,
    ) -> Result<DockerConfig, AuthError> {
        let json = data
            .get(DOCKER_CONFIG_JSON_KEY)
            .ok_or_else(|| AuthError::MissingKey {
                key: DOCKER_CONFIG_JSON_KEY.to_owned(),
            })?;
        DockerConfig::parse(json, Some(secret_name))
    }

    /// The credentials for a registry host (`index.docker.io`, `ghcr.io`,
    /// `127.0.0.1:5000`), anonymous when the config has none.
    pub fn auth_for(&self, registry: &str) -> Auth {
        self.auths
            .get(&normalize_host(registry))
            .cloned()
            .unwrap_or_default()
    }

    /// The normalised hosts that have credentials.
    pub fn hosts(&self) -> impl Iterator<Item = &str> {
        self.auths.keys().map(String::as_str)
    }
}

fn entry_auth(host: &str, entry: RawEntry) -> Result<Option<Auth>, AuthError> {
    if let Some(encoded) = entry.auth.filter(|a| !a.is_empty()) {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| AuthError::Base64 {
                host: host.to_owned(),
            })?;
        let text = String::from_utf8(decoded).map_err(|_| AuthError::AuthFormat {
            host: host.to_owned(),
        })?;
        let (username, password) = text.split_once(':').ok_or_else(|| AuthError::AuthFormat {
            host: host.to_owned(),
        })?;
        return Ok(Some(Auth::Basic {
            username: username.to_owned(),
            password: password.to_owned(),
        }));
    }
    match (entry.username, entry.password) {
        (Some(username), Some(password)) if !username.is_empty() => {
            Ok(Some(Auth::Basic { username, password }))
        }
        _ => Ok(None),
    }
}

/// `https://index.docker.io/v1/`, `docker.io`, `registry-1.docker.io` →
/// `index.docker.io`; other keys lose their scheme and path.
pub fn normalize_host(key: &str) -> String {
    let key = key.trim();
    let without_scheme = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = without_scheme
        .split('/')
        .next()
        .unwrap_or(without_scheme)
        .to_ascii_lowercase();
    match host.as_str() {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            DOCKER_HUB.to_owned()
        }
        _ => host,
    }
}

#[cfg(test)]
mod tests;
