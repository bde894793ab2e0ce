//! Tier 0: `kustomize build` as a pure engine over a file set.
//!
//! Reads a kustomization (and its bases) through a [`fs::FileSystem`],
//! applies kustomize 5.6's built-in transformers in its order and prints the
//! result byte for byte as `kustomize build` does. No process, no network,
//! no clock: remote bases and plugins are refused with an error naming them,
//! and fields not implemented yet fail with "not supported yet". Must not
//! depend on tokio, kube clients, git or HTTP.
//!
//! The shape, for what comes next: [`build`] reads a kustomization
//! ([`kustomization`]), accumulates its resources and bases, runs its
//! generators ([`generate`]) after the resources, applies its `components`
//! to that accumulation, then runs [`transform::run`]: the built-in steps in
//! kustomize's order ([`transform::steps`], with the patch transformers of
//! [`patch`] first and `patchesJson6902` after the annotations;
//! `replacements` ([`transform::replacement`]) last), then configured
//! `transformers`; its `vars` then tag the resources they name. Strategic
//! merge patches are [`smp`] (kyaml's merge with the build's schema,
//! [`openapi`]: the built-in Kubernetes one unless `openapi` names another),
//! JSON patches [`json6902`]. At the top, the hash suffixes of
//! generated names are added once, before the name-reference pass
//! ([`transform::nameref`]), which [`vars`] resolution follows. Field paths
//! of vars and replacements are [`fieldpath`]'s. Output goes through
//! [`emit`], which reproduces kustomize's JSON round trip and yaml.v2.

pub mod build;
pub mod decode;
pub mod emit;
pub mod error;
pub mod fieldpath;
pub mod flux;
pub mod fs;
pub mod generate;
pub mod json6902;
pub mod kustomization;
pub mod labelselector;
pub mod openapi;
pub mod origin;
pub mod patch;
pub mod resource;
pub mod smp;
pub mod sort;
pub mod transform;
pub mod value;
pub mod vars;

use std::path::Path;

pub use build::{LoadRestrictor, Options};
pub use error::Error;
pub use fs::{DiskFs, FileSystem, MemFs};

/// `kustomize build DIR`'s standard output.
pub fn build_yaml(fs: &dyn FileSystem, dir: &Path, opts: &Options) -> Result<String, Error> {
    build_yaml_with_warnings(fs, dir, opts).map(|(out, _)| out)
}

/// [`build_yaml`] and the warnings kustomize prints on standard error.
pub fn build_yaml_with_warnings(
    fs: &dyn FileSystem,
    dir: &Path,
    opts: &Options,
) -> Result<(String, Vec<String>), Error> {
    let (resources, warnings) = build::build_with_warnings(fs, dir, opts)?;
    let out = emit::documents(resources.iter().map(|r| &r.value))
        .map_err(|e| Error::Build(e.to_string()))?;
    Ok((out, warnings))
}
