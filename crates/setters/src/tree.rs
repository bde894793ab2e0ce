//! Walking a tree the way Flux's `ScreeningLocalReader` does, and writing
//! the changed files back.
//!
//! Lexical order; hidden files and `.git` included; symlinked directories
//! are not followed; candidates are `*.yaml`, `*.yml` and files named
//! exactly `Kustomization`; a file is parsed only when it contains the token
//! `"$imagepolicy"` (with the quotes). Symlinked files are read through the
//! link, but never when the link leaves the tree; dangling links are skipped.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::policy::Policies;
use crate::result::{Change, Diagnostic, FileChanges, ObjectChanges, Skipped};
use crate::rewrite::rewrite_file;

/// Why a tree could not be processed or written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: cannot read: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("{path}: cannot write: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("{path}: changed since it was read; not overwritten")]
    Modified { path: PathBuf },
    #[error("{path}: reached through two links with different updates; not written")]
    Conflict { path: PathBuf },
}

/// The screening token: Flux looks for the key with its quotes.
pub const TOKEN: &[u8] = b"\"$imagepolicy\"";

/// How to walk a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Base names read besides `*.yaml` and `*.yml`. Flux reads only
    /// `Kustomization` (the extension-less name kustomize accepts).
    pub file_names: Vec<String>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            file_names: vec!["Kustomization".to_string()],
        }
    }
}

/// Everything a run found: the changed files (with their new bytes), the
/// problems to show, and candidates that were skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TreeResult {
    pub files: Vec<FileChanges>,
    pub diagnostics: Vec<Diagnostic>,
    pub skipped: Vec<Skipped>,
}

impl TreeResult {
    /// All changes, de-duplicated by (old, new, setter) like Flux's
    /// `.Changed.Changes` (here in file order rather than random).
    pub fn unique_changes(&self) -> Vec<&Change> {
        let mut out: Vec<&Change> = Vec::new();
        for c in self.files.iter().flat_map(FileChanges::changes) {
            let dup = out.iter().any(|o| {
                o.old_value == c.old_value && o.new_value == c.new_value && o.setter == c.setter
            });
            if !dup {
                out.push(c);
            }
        }
        out
    }

    /// Changes per object over all files (Flux's `.Changed.Objects`): the
    /// same object in two files keeps the changes of both, file order.
    pub fn objects(&self) -> Vec<ObjectChanges> {
        let mut out: Vec<ObjectChanges> = Vec::new();
        for o in self.files.iter().flat_map(|f| f.objects.iter()) {
            match out.iter_mut().find(|x| x.object == o.object) {
                Some(x) => x.changes.extend(o.changes.iter().cloned()),
                None => out.push(o.clone()),
            }
        }
        out
    }
}

/// Finds and rewrites (in memory) every marked value under `root`. Fails only
/// when the tree cannot be read (Flux aborts the run on an unreadable
/// regular file); unparsable files and malformed markers become diagnostics.
pub fn apply_tree(
    root: &Path,
    policies: &Policies,
    options: &Options,
) -> Result<TreeResult, Error> {
    let read_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Read { path, source }
    };
    let real_root = fs::canonicalize(root).map_err(read_err(root))?;
    let mut walk = Walk {
        root,
        real_root: &real_root,
        policies,
        options,
        result: TreeResult::default(),
    };
    let meta = fs::metadata(root).map_err(read_err(root))?;
    if meta.is_dir() {
        walk.dir(root)?;
    } else {
        walk.entry(root, &meta)?;
    }
    Ok(walk.result)
}

struct Walk<'a> {
    root: &'a Path,
    real_root: &'a Path,
    policies: &'a Policies,
    options: &'a Options,
    result: TreeResult,
}

impl Walk<'_> {
    fn dir(&mut self, dir: &Path) -> Result<(), Error> {
        let read_err = |source| Error::Read {
            path: dir.to_path_buf(),
            source,
        };
        let mut entries = fs::read_dir(dir)
            .map_err(read_err)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(read_err)?;
        entries.sort();
        for path in entries {
            let meta = fs::symlink_metadata(&path).map_err(|source| Error::Read {
                path: path.clone(),
                source,
            })?;
            if meta.is_dir() {
                self.dir(&path)?;
            } else {
                self.entry(&path, &meta)?;
            }
        }
        Ok(())
    }

    fn entry(&mut self, path: &Path, meta: &fs::Metadata) -> Result<(), Error> {
        if !self.is_candidate(path) {
            return Ok(());
        }
        let rel = self.relative(path);
        let target = if meta.file_type().is_symlink() {
            let Some(target) = self.link_target(path, &rel) else {
                return Ok(());
            };
            target
        } else if meta.is_file() {
            path.to_path_buf()
        } else {
            return Ok(());
        };
        let bytes = fs::read(&target).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        if !contains(&bytes, TOKEN) {
            return Ok(());
        }
        let outcome = match rewrite_file(&rel, &bytes, self.policies) {
            Ok(outcome) => outcome,
            Err(e) => {
                self.result.diagnostics.push(e.to_diagnostic());
                return Ok(());
            }
        };
        self.result.diagnostics.extend(outcome.diagnostics);
        if let Some(updated) = outcome.updated {
            self.result.files.push(FileChanges {
                path: rel,
                objects: outcome.objects,
                target,
                original: bytes,
                updated,
            });
        }
        Ok(())
    }

    /// The resolved target of a symlinked candidate, or `None` (recorded as
    /// skipped) when it dangles, leaves the tree or is not a file.
    fn link_target(&mut self, path: &Path, rel: &str) -> Option<PathBuf> {
        let reason = match fs::canonicalize(path) {
            Err(_) => "dangling symlink",
            Ok(t) if !t.starts_with(self.real_root) => "symlink points outside the tree",
            Ok(t) if !t.is_file() => "symlink does not point to a file",
            Ok(t) => return Some(t),
        };
        self.result.skipped.push(Skipped {
            path: rel.to_string(),
            reason: reason.to_string(),
        });
        None
    }

    fn is_candidate(&self, path: &Path) -> bool {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            return false;
        };
        // Go's filepath.Ext: from the last dot of the base name.
        let ext = name.rfind('.').map(|i| &name[i..]);
        matches!(ext, Some(".yaml" | ".yml")) || self.options.file_names.iter().any(|n| n == name)
    }

    fn relative(&self, path: &Path) -> String {
        let rel = match path.strip_prefix(self.root) {
            Ok(r) if !r.as_os_str().is_empty() => r,
            _ => Path::new(path.file_name().unwrap_or(path.as_os_str())),
        };
        rel.components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/")
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Writes every changed file: a temporary file in the target's directory,
/// the target's permissions, then a rename over it. A file that changed
/// since it was read is not overwritten. Returns the number of files written.
pub fn write_changes(result: &TreeResult) -> Result<usize, Error> {
    let mut written: HashMap<&Path, &[u8]> = HashMap::new();
    for file in &result.files {
        if let Some(previous) = written.get(file.target.as_path()) {
            if *previous == file.updated.as_slice() {
                continue;
            }
            return Err(Error::Conflict {
                path: file.target.clone(),
            });
        }
        write_one(file)?;
        written.insert(&file.target, &file.updated);
    }
    Ok(written.len())
}

fn write_one(file: &FileChanges) -> Result<(), Error> {
    let path = &file.target;
    let write_err = |source| Error::Write {
        path: path.clone(),
        source,
    };
    let current = fs::read(path).map_err(|source| Error::Read {
        path: path.clone(),
        source,
    })?;
    if current != file.original {
        return Err(Error::Modified { path: path.clone() });
    }
    let permissions = fs::metadata(path).map_err(write_err)?.permissions();
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".ferroflux-setters-")
        .tempfile_in(dir)
        .map_err(write_err)?;
    tmp.write_all(&file.updated).map_err(write_err)?;
    tmp.as_file().sync_all().map_err(write_err)?;
    fs::set_permissions(tmp.path(), permissions).map_err(write_err)?;
    tmp.persist(path).map_err(|e| write_err(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests;
