//! The files a build reads: a trait, an in-memory set for tests and a real
//! directory tree for the CLI.
//!
//! Paths are absolute and lexically normalised (`a/../b` is `b`). The disk
//! implementation resolves symlinks and refuses those that leave its root
//! (a repository is content a stranger controls: a link may point at
//! `/etc/shadow` or another tenant's checkout), as `ferroflux_api::tree` does.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

/// Largest file a build reads (the YAML loader's own bound).
pub const MAX_FILE_BYTES: usize = ferroflux_api::yaml::MAX_STREAM_BYTES;

/// Why a file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FsError {
    #[error("{path}: no such file or directory")]
    NotFound { path: PathBuf },
    #[error("{path}: is a directory")]
    IsDir { path: PathBuf },
    #[error("{path}: symlink points outside the tree (to {target})")]
    OutsideRoot { path: PathBuf, target: PathBuf },
    #[error("{path}: file is larger than {MAX_FILE_BYTES} bytes")]
    TooLarge { path: PathBuf },
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
}

/// What a build needs from a file system.
pub trait FileSystem {
    /// The bytes of a regular file (at most [`MAX_FILE_BYTES`]).
    fn read(&self, path: &Path) -> Result<Vec<u8>, FsError>;
    fn is_dir(&self, path: &Path) -> bool;
    fn is_file(&self, path: &Path) -> bool;
    /// Whether `path` (symlinks followed) is a directory, a regular file, or
    /// neither (missing, refused or irregular): one lookup where a walk
    /// would ask [`FileSystem::is_dir`] then [`FileSystem::is_file`].
    fn kind(&self, path: &Path) -> Option<EntryKind> {
        if self.is_dir(path) {
            Some(EntryKind::Dir)
        } else if self.is_file(path) {
            Some(EntryKind::File)
        } else {
            None
        }
    }
    /// The names of a directory's entries, sorted.
    fn list_dir(&self, path: &Path) -> Result<Vec<String>, FsError>;
    /// A directory's entries, sorted by name, each with what
    /// [`FileSystem::kind`] says of it: a walk's one call per directory
    /// where it would list, then look up every entry.
    fn list_dir_kinds(&self, path: &Path) -> Result<Vec<(String, Option<EntryKind>)>, FsError> {
        let names = self.list_dir(path)?;
        Ok(names
            .into_iter()
            .map(|name| {
                let kind = self.kind(&path.join(&name));
                (name, kind)
            })
            .collect())
    }
    /// The bytes of an entry that [`FileSystem::list_dir_kinds`] just
    /// reported as a file; the same answers as [`FileSystem::read`].
    fn read_listed(&self, path: &Path) -> Result<Vec<u8>, FsError> {
        self.read(path)
    }
    /// The path with symlinks resolved (what load restrictions compare).
    fn real_path(&self, path: &Path) -> Result<PathBuf, FsError>;
}

/// See [`FileSystem::kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Dir,
    File,
}

/// `path` with `.` and `..` resolved lexically (`..` above `/` stays at `/`).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::RootDir | Component::Prefix(_) | Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
        }
    }
    out
}

/// Files held in memory, for tests and for content that is not on disk.
#[derive(Debug, Clone, Default)]
pub struct MemFs {
    files: BTreeMap<PathBuf, Vec<u8>>,
    dirs: BTreeSet<PathBuf>,
}

impl MemFs {
    pub fn new() -> Self {
        let mut fs = Self::default();
        fs.dirs.insert(PathBuf::from("/"));
        fs
    }

    /// Add a file (and its parent directories).
    pub fn add(&mut self, path: impl AsRef<Path>, content: impl Into<Vec<u8>>) -> &mut Self {
        let path = normalize(path.as_ref());
        let mut dir = path.clone();
        while dir.pop() {
            self.dirs.insert(dir.clone());
        }
        self.files.insert(path, content.into());
        self
    }

    /// Add an empty directory.
    pub fn add_dir(&mut self, path: impl AsRef<Path>) -> &mut Self {
        let mut dir = normalize(path.as_ref());
        self.dirs.insert(dir.clone());
        while dir.pop() {
            self.dirs.insert(dir.clone());
        }
        self
    }
}

impl FileSystem for MemFs {
    fn read(&self, path: &Path) -> Result<Vec<u8>, FsError> {
        let path = normalize(path);
        if self.dirs.contains(&path) {
            return Err(FsError::IsDir { path });
        }
        let bytes = self
            .files
            .get(&path)
            .ok_or(FsError::NotFound { path: path.clone() })?;
        if bytes.len() > MAX_FILE_BYTES {
            return Err(FsError::TooLarge { path });
        }
        Ok(bytes.clone())
    }

    fn is_dir(&self, path: &Path) -> bool {
        self.dirs.contains(&normalize(path))
    }

    fn is_file(&self, path: &Path) -> bool {
        self.files.contains_key(&normalize(path))
    }

    fn list_dir(&self, path: &Path) -> Result<Vec<String>, FsError> {
        let path = normalize(path);
        if !self.dirs.contains(&path) {
            return Err(FsError::NotFound { path });
        }
        let child = |p: &PathBuf| {
            (p.parent() == Some(path.as_path()))
                .then(|| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .flatten()
        };
        let mut names: Vec<String> = self
            .files
            .keys()
            .chain(self.dirs.iter())
            .filter_map(child)
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn real_path(&self, path: &Path) -> Result<PathBuf, FsError> {
        Ok(normalize(path))
    }
}

/// A directory tree on disk; symlinks that leave `root` are refused.
///
/// Every path is resolved to its real path before use (`realpath`: one
/// `readlink` per component). Directories already resolved are kept, so a
/// name inside one costs one `lstat` when it is not a symlink: walking a
/// chart or a kustomization resolves each directory once, not each file's
/// whole path three times. As before, a tree changed while it is read
/// (between the check and the open) is not guarded against: the trees read
/// are the caller's checkout or an artifact ferroflux unpacked itself.
#[derive(Debug, Clone)]
pub struct DiskFs {
    root: PathBuf,
    /// Absolute paths as asked (only root and normal components) of
    /// directories whose real path is known to lie under `root`; keyed by
    /// the path's bytes (hashing a `Path` walks its components).
    real_dirs:
        std::sync::Arc<std::sync::Mutex<std::collections::HashMap<std::ffi::OsString, PathBuf>>>,
}

impl DiskFs {
    /// A file system confined to `root` (use `/` for no confinement).
    pub fn new(root: impl AsRef<Path>) -> Result<Self, FsError> {
        let root = root.as_ref();
        let real = std::fs::canonicalize(root).map_err(|e| io_error(root, &e))?;
        let fs = Self {
            root: real.clone(),
            real_dirs: Default::default(),
        };
        if root.is_absolute()
            && root
                .components()
                .all(|c| matches!(c, Component::RootDir | Component::Normal(_)))
        {
            fs.remember_dir(root, &real);
        }
        Ok(fs)
    }

    /// `name` inside the remembered directory `dir`, by its real path.
    fn in_known_dir(&self, dir: &Path, name: &std::ffi::OsStr) -> Option<PathBuf> {
        let dirs = self.real_dirs.lock().unwrap_or_else(|e| e.into_inner());
        dirs.get(dir.as_os_str()).map(|real| real.join(name))
    }

    fn remember_dir(&self, path: &Path, real: &Path) {
        let mut dirs = self.real_dirs.lock().unwrap_or_else(|e| e.into_inner());
        // Bounded: a tree larger than this resolves the slow way.
        if dirs.len() < 65_536 {
            dirs.insert(path.as_os_str().to_os_string(), real.to_path_buf());
        }
    }

    /// The real path of `path` and its metadata (of the target, not the
    /// link), refused when it leaves the root.
    fn resolve(&self, path: &Path) -> Result<(PathBuf, std::fs::Metadata), FsError> {
        let plain = path.is_absolute()
            && path
                .components()
                .all(|c| matches!(c, Component::RootDir | Component::Normal(_)));
        if plain
            && let (Some(parent), Some(name)) = (path.parent(), path.file_name())
            && let Some(candidate) = self.in_known_dir(parent, name)
        {
            let meta = std::fs::symlink_metadata(&candidate).map_err(|e| io_error(path, &e))?;
            if !meta.file_type().is_symlink() {
                if meta.is_dir() {
                    self.remember_dir(path, &candidate);
                }
                return Ok((candidate, meta));
            }
        }
        let real = std::fs::canonicalize(path).map_err(|e| io_error(path, &e))?;
        if !real.starts_with(&self.root) {
            return Err(FsError::OutsideRoot {
                path: path.to_path_buf(),
                target: real,
            });
        }
        let meta = std::fs::metadata(&real).map_err(|e| io_error(path, &e))?;
        if plain && meta.is_dir() {
            self.remember_dir(path, &real);
        }
        Ok((real, meta))
    }
}

/// A bounded read's outcome as the file system's answer for `path`.
fn bounded(path: &Path, read: std::io::Result<Option<Vec<u8>>>) -> Result<Vec<u8>, FsError> {
    match read {
        Ok(Some(bytes)) => Ok(bytes),
        Ok(None) => Err(FsError::TooLarge {
            path: path.to_path_buf(),
        }),
        Err(e) => Err(io_error(path, &e)),
    }
}

fn io_error(path: &Path, e: &std::io::Error) -> FsError {
    if e.kind() == std::io::ErrorKind::NotFound {
        FsError::NotFound {
            path: path.to_path_buf(),
        }
    } else {
        FsError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    }
}

impl FileSystem for DiskFs {
    fn read(&self, path: &Path) -> Result<Vec<u8>, FsError> {
        let (real, meta) = self.resolve(path)?;
        if meta.is_dir() {
            return Err(FsError::IsDir {
                path: path.to_path_buf(),
            });
        }
        bounded(
            path,
            ferroflux_api::tree::read_bounded(&real, MAX_FILE_BYTES),
        )
    }

    fn is_dir(&self, path: &Path) -> bool {
        self.resolve(path).is_ok_and(|(_, m)| m.is_dir())
    }

    fn is_file(&self, path: &Path) -> bool {
        self.resolve(path).is_ok_and(|(_, m)| m.is_file())
    }

    fn kind(&self, path: &Path) -> Option<EntryKind> {
        let (_, meta) = self.resolve(path).ok()?;
        if meta.is_dir() {
            Some(EntryKind::Dir)
        } else if meta.is_file() {
            Some(EntryKind::File)
        } else {
            None
        }
    }

    fn list_dir(&self, path: &Path) -> Result<Vec<String>, FsError> {
        let (real, _) = self.resolve(path)?;
        let entries = std::fs::read_dir(&real).map_err(|e| io_error(path, &e))?;
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io_error(path, &e))?;
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }

    fn list_dir_kinds(&self, path: &Path) -> Result<Vec<(String, Option<EntryKind>)>, FsError> {
        let (real, _) = self.resolve(path)?;
        let entries = std::fs::read_dir(&real).map_err(|e| io_error(path, &e))?;
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io_error(path, &e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            // The type the directory entry carries, without a lookup: a
            // plain entry of a directory inside the root is inside it. A
            // symlink (or an unknown type) is resolved as `kind` does.
            let kind = match entry.file_type() {
                Ok(t) if t.is_dir() => Some(EntryKind::Dir),
                Ok(t) if t.is_file() => Some(EntryKind::File),
                Ok(t) if !t.is_symlink() => None,
                _ => self.kind(&path.join(&name)),
            };
            out.push((name, kind));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Opened in its directory's known real path without following a final
    /// symlink (nor blocking on a FIFO), and checked on the open file: no
    /// `lstat` before the open. A name that became a link since the
    /// listing is resolved as `read` resolves it.
    fn read_listed(&self, path: &Path) -> Result<Vec<u8>, FsError> {
        use std::os::unix::fs::OpenOptionsExt;
        let plain = path
            .components()
            .all(|c| matches!(c, Component::RootDir | Component::Normal(_)));
        let real = match (path.parent(), path.file_name()) {
            (Some(parent), Some(name)) if plain => self.in_known_dir(parent, name),
            _ => None,
        };
        let Some(real) = real else {
            return self.read(path);
        };
        let file = match std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&real)
        {
            Ok(f) => f,
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return self.read(path),
            Err(e) => return Err(io_error(path, &e)),
        };
        let meta = file.metadata().map_err(|e| io_error(path, &e))?;
        if meta.is_dir() {
            return Err(FsError::IsDir {
                path: path.to_path_buf(),
            });
        }
        if !meta.is_file() {
            return Err(FsError::Io {
                path: path.to_path_buf(),
                message: "not a regular file".to_string(),
            });
        }
        bounded(
            path,
            ferroflux_api::tree::read_open_bounded(file, meta.len(), MAX_FILE_BYTES),
        )
    }

    fn real_path(&self, path: &Path) -> Result<PathBuf, FsError> {
        self.resolve(path).map(|(real, _)| real)
    }
}

#[cfg(test)]
mod tests;
