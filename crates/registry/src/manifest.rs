//! OCI image manifests and indexes (and their Docker v2 twins) as a
//! registry serves them, parsed and checked against the digest they were
//! asked by. Pure: the bytes come from [`crate::Client::get_manifest`].

use std::collections::BTreeMap;

use serde::Deserialize;
use sha2::Digest as _;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// Flux's `flux push artifact` config and content layer (fluxcd/pkg/oci).
pub const FLUX_CONFIG: &str = "application/vnd.cncf.flux.config.v1+json";
pub const FLUX_CONTENT: &str = "application/vnd.cncf.flux.content.v1.tar+gzip";
/// Helm's chart config and content layer (helm.sh/helm/v4/pkg/registry).
pub const HELM_CONFIG: &str = "application/vnd.cncf.helm.config.v1+json";
pub const HELM_CHART_CONTENT: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";

/// 4 MiB: distribution's own limit on a manifest it accepts.
pub const MAX_MANIFEST_BYTES: usize = 4 << 20;

/// What a manifest points at.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: String,
    #[serde(default)]
    pub size: i64,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub platform: Option<Platform>,
}

/// The platform of an index entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Platform {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
}

/// A manifest or an index, with the digest of its bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// `sha256:<hex>` of the bytes served.
    pub digest: String,
    /// From the body's `mediaType`, else the `Content-Type` header.
    pub media_type: String,
    pub config: Option<Descriptor>,
    pub layers: Vec<Descriptor>,
    /// The entries of an index.
    pub manifests: Vec<Descriptor>,
    pub annotations: BTreeMap<String, String>,
}

impl Manifest {
    pub fn is_index(&self) -> bool {
        matches!(self.media_type.as_str(), OCI_INDEX | DOCKER_LIST)
    }

    /// The index entry go-containerregistry's `remote.Image` picks:
    /// linux/amd64, else the only entry.
    pub fn default_platform(&self) -> Option<&Descriptor> {
        self.manifests
            .iter()
            .find(|d| {
                d.platform
                    .as_ref()
                    .is_some_and(|p| p.os == "linux" && p.architecture == "amd64")
            })
            .or(match self.manifests.as_slice() {
                [only] => Some(only),
                _ => None,
            })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Body {
    #[serde(default)]
    schema_version: Option<i64>,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
    #[serde(default)]
    manifests: Vec<Descriptor>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

/// `sha256:<hex>` of bytes.
pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&sha2::Sha256::digest(bytes)))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Whether `s` is a digest ferroflux can verify: `sha256:` and 64
/// lowercase hex digits.
pub fn is_sha256_digest(s: &str) -> bool {
    s.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Parse a manifest's bytes. `expected` is the digest it was asked by
/// (a `@sha256:` reference) or announced with (`Docker-Content-Digest`):
/// the bytes must hash to it.
pub fn parse(
    bytes: &[u8],
    content_type: Option<&str>,
    expected: &[&str],
) -> Result<Manifest, ManifestError> {
    let digest = sha256(bytes);
    for want in expected {
        if !is_sha256_digest(want) {
            return Err(ManifestError::Algorithm {
                digest: (*want).to_owned(),
            });
        }
        if *want != digest {
            return Err(ManifestError::Digest {
                expected: (*want).to_owned(),
                got: digest,
            });
        }
    }
    let body: Body =
        serde_json::from_slice(bytes).map_err(|e| ManifestError::Json(e.to_string()))?;
    let media_type = body
        .media_type
        .filter(|m| !m.is_empty())
        .or_else(|| content_type.map(|c| c.split(';').next().unwrap_or(c).trim().to_owned()))
        .unwrap_or_default();
    let known = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST];
    if !known.contains(&media_type.as_str()) || body.schema_version.is_some_and(|v| v != 2) {
        return Err(ManifestError::MediaType { media_type });
    }
    let manifest = Manifest {
        digest,
        media_type,
        config: body.config,
        layers: body.layers,
        manifests: body.manifests,
        annotations: body.annotations,
    };
    for d in manifest
        .layers
        .iter()
        .chain(&manifest.manifests)
        .chain(&manifest.config)
    {
        if !is_sha256_digest(&d.digest) {
            return Err(ManifestError::Algorithm {
                digest: d.digest.clone(),
            });
        }
        if d.size < 0 {
            return Err(ManifestError::Json(format!(
                "descriptor {} has a negative size {}",
                d.digest, d.size
            )));
        }
    }
    Ok(manifest)
}

/// Why bytes are not a manifest ferroflux reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("digest mismatch: content has {got}, expected {expected}")]
    Digest { expected: String, got: String },
    #[error("unsupported digest '{digest}' (only sha256 is verified)")]
    Algorithm { digest: String },
    #[error("unsupported manifest media type '{media_type}'")]
    MediaType { media_type: String },
    #[error("invalid manifest: {0}")]
    Json(String),
}

#[cfg(test)]
mod tests;
