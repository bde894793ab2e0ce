//! Walking a repository's files without leaving it.
//!
//! A repository is content a stranger controls: a symlink in it may point at
//! `/etc/shadow`, a mounted Secret or another tenant's checkout. Every loader
//! of repository content resolves links here and refuses, naming the link,
//! those that dangle, leave the tree or are not files (the reasons
//! `ferroflux-setters` gives for the files it skips).

use std::io::Read;
use std::path::{Path, PathBuf};

/// Why a symlink was not followed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkRefused {
    #[error("dangling symlink")]
    Dangling,
    #[error("symlink points outside the tree (to {target})")]
    Outside { target: PathBuf },
    #[error("symlink does not point to a file")]
    NotAFile,
}

/// The canonical form of a walk's root, the reference for [`link_target`].
pub fn real_root(root: &Path) -> std::io::Result<PathBuf> {
    std::fs::canonicalize(root)
}

/// The file a symlink met while walking `real_root` leads to, if it stays
/// inside the tree and is a regular file.
pub fn link_target(real_root: &Path, link: &Path) -> Result<PathBuf, LinkRefused> {
    let target = std::fs::canonicalize(link).map_err(|_| LinkRefused::Dangling)?;
    if !target.starts_with(real_root) {
        return Err(LinkRefused::Outside { target });
    }
    if !target.is_file() {
        return Err(LinkRefused::NotAFile);
    }
    Ok(target)
}

/// Read at most `limit` bytes of `path`; `Ok(None)` when it holds more.
pub fn read_bounded(path: &Path, limit: usize) -> std::io::Result<Option<Vec<u8>>> {
    let file = std::fs::File::open(path)?;
    let len = file.metadata().map_or(0, |m| m.len());
    read_open_bounded(file, len, limit)
}

/// [`read_bounded`] of a file already open, whose metadata said `len`
/// bytes: the buffer is sized from it, as `std::fs::read` sizes it, so the
/// file is read in one call instead of a probe and a doubling buffer; the
/// bound holds whatever the metadata says.
pub fn read_open_bounded(
    file: std::fs::File,
    len: u64,
    limit: usize,
) -> std::io::Result<Option<Vec<u8>>> {
    let hint = len.min(limit as u64 + 1) as usize;
    let mut bytes = Vec::with_capacity(hint + 1);
    file.take(limit as u64 + 1).read_to_end(&mut bytes)?;
    Ok((bytes.len() <= limit).then_some(bytes))
}

#[cfg(test)]
mod tests;
