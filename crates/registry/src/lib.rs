//! Tier 1 adapter: the OCI distribution API as ImageRepository scanning needs
//! it.
//!
//! - [`name`]: image names parsed and canonicalised like go-containerregistry
//!   (`nginx` → `index.docker.io/library/nginx`), with Flux's errors for a
//!   scheme or a tag in `spec.image`.
//! - [`auth`]: anonymous or Basic credentials from a `kubernetes.io/dockerconfigjson`
//!   Secret or a docker `config.json`.
//! - [`client`]: `GET /v2/<name>/tags/list` following every page (`Link`
//!   header, else `n`/`last`), `HEAD` of a manifest for its digest, the Bearer
//!   token challenge with a token cache, TLS (system roots, extra CA, client
//!   certificate), a per-registry rate limit and retries of 429/5xx honouring
//!   `Retry-After`, all bounded by one timeout; manifests and blobs fetched
//!   bounded and checked against their digests ([`manifest`]).
//!
//! The HTTP client lives here and nowhere else (`deny.toml`). Must not depend
//! on kube, git, the store or any controller. Errors name the registry, the
//! repository and the HTTP status, never a credential or a token.

pub mod auth;
pub mod client;
pub mod fuzzing;
pub mod manifest;
pub mod name;

pub use auth::{Auth, AuthError, DockerConfig};
pub use client::{Client, Options, Progress, RegistryError, RetryPolicy, TlsOptions};
pub use manifest::{Descriptor, Manifest, ManifestError};
pub use name::{ImageName, NameError};
