//! Tier 2: `ferroflux image explain` as a library. Given a marked line
//! (`FILE[:LINE]`) or an ImagePolicy (`NAMESPACE/POLICY`), walk the image
//! automation chain of seed 000 — marker → ImagePolicy → ImageRepository →
//! registry tags → exclusionList → filterTags → range → automation →
//! update.path → update → push — and say for each link whether it holds,
//! is broken (with the evidence: file, line, Flux's message, the closest
//! tags) or cannot be judged.
//!
//! It reuses the engines rather than re-deciding: `ferroflux-setters` finds
//! markers, `ferroflux-policy` explains each tag, `ferroflux-validate`
//! contributes its findings, `ferroflux-store` holds what `ferroflux
//! automate` saw (status and tags). A live registry scan is a callback the
//! caller supplies (the binary owns the async runtime). Reads files and the
//! state database; no clock, no environment, no network of its own. Must not
//! depend on the controllers, the runtime, git or kube.

use std::path::PathBuf;

mod chain;
pub mod closest;
pub mod evidence;
pub mod markers;
pub mod report;
pub mod selector;
pub mod target;

pub use evidence::{Evidence, LiveScan, State, TagsFile, default_state_path};
pub use report::{Link, LinkState, Report};
pub use target::Target;

/// Why nothing could be explained (bad input: exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("repository {path}: {source}")]
    Repo {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("manifest path {path} does not exist")]
    ManifestPath { path: PathBuf },
    #[error(transparent)]
    Target(#[from] target::Error),
    #[error(transparent)]
    Markers(#[from] markers::Error),
    #[error("{file} holds markers of several policies ({markers}); give FILE:LINE")]
    Ambiguous { file: String, markers: String },
}

/// Where to look.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The checkout: the root `update.path` is relative to.
    pub repo: PathBuf,
    /// Directories or files with the Flux objects, relative to `repo` (or
    /// absolute); empty means the whole checkout.
    pub paths: Vec<PathBuf>,
}

/// Explain `target` (`FILE[:LINE]`, `NAMESPACE/POLICY` or `NAMESPACE:POLICY`).
pub fn explain(options: &Options, target: &str, evidence: &Evidence<'_>) -> Result<Report, Error> {
    let root = options.repo.canonicalize().map_err(|source| Error::Repo {
        path: options.repo.clone(),
        source,
    })?;
    let parsed = Target::parse(target, &root)?;
    let mut paths = Vec::new();
    for p in &options.paths {
        let full = if p.is_absolute() {
            p.clone()
        } else {
            root.join(p)
        };
        if !full.exists() {
            return Err(Error::ManifestPath { path: full });
        }
        paths.push(full);
    }
    if paths.is_empty() {
        paths.push(root.clone());
    }
    chain::run(&root, &paths, &parsed, evidence)
}
