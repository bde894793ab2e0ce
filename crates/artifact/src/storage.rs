//! source-controller's artifact storage (`pkg/artifact/storage`): files at
//! `<lower kind>/<namespace>/<name>/<file>` under one root, written to a
//! temp file and renamed into place (mode 0600, directories 0700), a
//! `<file>.lock` beside each artifact, the URL Flux advertises
//! (`http://<adv-addr>/<path>`), digest verification, garbage collection
//! by TTL and record count, and the copy of an included artifact's subtree.

use std::io::Write;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

use ferroflux_kustomize::flux::ignore::Matcher;
use ferroflux_kustomize::fs::DiskFs;
use sha2::{Digest as _, Sha256};

use crate::archive::{self, Limits, io};

#[cfg(test)]
mod tests;

/// `pkg/artifact/storage` `GarbageCountLimit`: files walked per collection.
pub const GARBAGE_COUNT_LIMIT: usize = 1000;

/// Flux's `--artifact-retention-ttl` (1m) and `--artifact-retention-records` (2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub ttl: Duration,
    pub records: usize,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            ttl: Duration::from_secs(60),
            records: 2,
        }
    }
}

/// Storage errors, with the messages source-controller words.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Archive(#[from] archive::Error),
    #[error("artifact has no digest")]
    NoDigest,
    #[error("failed to parse artifact digest '{digest}': unsupported digest algorithm")]
    BadDigest { digest: String },
    #[error("computed digest doesn't match '{digest}'")]
    Mismatch { digest: String },
    #[error("invalid artifact path '{path}'")]
    BadPath { path: String },
    #[error("reached file walking limit, already walked over: {0}")]
    WalkLimit(usize),
    #[error("cannot load ignore rules of '{}': {message}", dir.display())]
    Ignore { dir: PathBuf, message: String },
}

/// What [`Storage::archive`] stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// `sha256:<hex>` of the compressed file.
    pub digest: String,
    /// Compressed bytes.
    pub size: u64,
}

/// The storage root, the advertised address and the retention rules.
#[derive(Debug, Clone)]
pub struct Storage {
    root: PathBuf,
    hostname: String,
    retention: Retention,
}

/// Flux's `GetAdvertisedAddress`: `adv_addr` when set; otherwise the
/// `--storage-addr` host and port, an empty host being `localhost` and
/// `0.0.0.0` the machine's `hostname` (`$HOSTNAME`, which the caller reads).
pub fn advertised_address(storage_addr: &str, adv_addr: &str, hostname: &str) -> String {
    if !adv_addr.is_empty() {
        return adv_addr.to_string();
    }
    let (host, port) = match storage_addr.rsplit_once(':') {
        Some((h, p)) => (h, p),
        None => (storage_addr, ""),
    };
    let host = match host {
        "" => "localhost",
        "0.0.0.0" => hostname,
        h => h,
    };
    if port.is_empty() {
        host.to_string()
    } else {
        format!("{host}:{port}")
    }
}

/// `ArtifactDir`: `<lower kind>/<namespace>/<name>`.
pub fn artifact_dir(kind: &str, namespace: &str, name: &str) -> String {
    format!("{}/{namespace}/{name}", kind.to_lowercase())
}

/// `ArtifactPath`: `<lower kind>/<namespace>/<name>/<file>`.
pub fn artifact_path(kind: &str, namespace: &str, name: &str, file: &str) -> String {
    format!("{}/{file}", artifact_dir(kind, namespace, name))
}

/// `path` inside `root` as filepath-securejoin resolves it lexically: `..`
/// stops at the root, absolute paths are relative to it.
pub fn secure_join(root: &Path, path: &str) -> PathBuf {
    let mut out = Vec::new();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out.iter().fold(root.to_path_buf(), |p, c| p.join(c))
}

impl Storage {
    /// Storage rooted at `root` (created 0700 when missing), advertising
    /// `hostname` (see [`advertised_address`]).
    pub fn new(root: &Path, hostname: &str, retention: Retention) -> Result<Storage, Error> {
        private_dir(root)?;
        let root = std::fs::canonicalize(root).map_err(io("resolve", root))?;
        Ok(Storage {
            root,
            hostname: hostname.to_string(),
            retention,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn retention(&self) -> Retention {
        self.retention
    }

    /// `SetArtifactURL`: `http://<hostname>/<path>`, without adding a
    /// scheme when the advertised address has one.
    pub fn url(&self, path: &str) -> String {
        let path = path.trim_start_matches('/');
        if self.hostname.starts_with("http://") || self.hostname.starts_with("https://") {
            format!("{}/{path}", self.hostname)
        } else {
            format!("http://{}/{path}", self.hostname)
        }
    }

    /// `LocalPath`: the artifact's file under the root.
    pub fn local_path(&self, path: &str) -> PathBuf {
        secure_join(&self.root, path)
    }

    /// `ArtifactExist`: a regular file (not a symlink) is there.
    pub fn exists(&self, path: &str) -> bool {
        std::fs::symlink_metadata(self.local_path(path)).is_ok_and(|m| m.file_type().is_file())
    }

    /// `VerifyArtifact`: the file's digest is `digest` (`sha256:<hex>`).
    pub fn verify(&self, path: &str, digest: &str) -> Result<(), Error> {
        if digest.is_empty() {
            return Err(Error::NoDigest);
        }
        let Some(want) = digest.strip_prefix("sha256:") else {
            return Err(Error::BadDigest {
                digest: digest.to_string(),
            });
        };
        let local = self.local_path(path);
        let mut file = std::fs::File::open(&local).map_err(io("open", &local))?;
        let mut hasher = Sha256::new();
        std::io::copy(&mut file, &mut hasher).map_err(io("read", &local))?;
        if hex::encode(hasher.finalize()) != want {
            return Err(Error::Mismatch {
                digest: digest.to_string(),
            });
        }
        Ok(())
    }

    /// `Remove`: delete the artifact file.
    pub fn remove(&self, path: &str) -> Result<(), Error> {
        let local = self.local_path(path);
        std::fs::remove_file(&local).map_err(io("remove", &local))?;
        Ok(())
    }

    /// Archive `dir` to `path` (`Storage.Archive` with
    /// `SourceIgnoreFilter`): `.sourceignore` files and `ignore`
    /// (`spec.ignore`) as source-controller applies them, under the
    /// artifact's lock, written to a temp file and renamed into place.
    pub fn archive(
        &self,
        path: &str,
        dir: &Path,
        ignore: Option<&str>,
        limits: &Limits,
    ) -> Result<Stored, Error> {
        let local = self.local_path(path);
        let parent = local.parent().ok_or_else(|| Error::BadPath {
            path: path.to_string(),
        })?;
        private_dir(parent)?;
        let _lock = self.lock(path)?;
        let fs = DiskFs::new(dir).map_err(|e| Error::Ignore {
            dir: dir.to_path_buf(),
            message: e.to_string(),
        })?;
        let matcher = Matcher::for_artifact(&fs, dir, ignore);
        let tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(parent)
            .map_err(io("create temp file in", parent))?;
        let writer = Digesting {
            inner: std::io::BufWriter::new(tmp),
            hasher: Sha256::new(),
            written: 0,
        };
        let mut writer = archive::write_tar_gz(dir, Some(&matcher), limits, writer)?;
        writer.flush().map_err(io("write", &local))?;
        let Digesting {
            inner,
            hasher,
            written,
        } = writer;
        let tmp = inner
            .into_inner()
            .map_err(|e| io("write", &local)(e.into_error()))?;
        tmp.as_file().sync_all().map_err(io("sync", &local))?;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o600))
            .map_err(io("chmod", &local))?;
        tmp.persist(&local)
            .map_err(|e| io("rename into", &local)(e.error))?;
        Ok(Stored {
            digest: format!("sha256:{}", hex::encode(hasher.finalize())),
            size: written,
        })
    }

    /// `Copy`: `data` written to `path` under the artifact's lock, through
    /// a temp file renamed into place (mode 0600); the digest is of `data`.
    pub fn write(&self, path: &str, data: &[u8]) -> Result<Stored, Error> {
        let local = self.local_path(path);
        let parent = local.parent().ok_or_else(|| Error::BadPath {
            path: path.to_string(),
        })?;
        private_dir(parent)?;
        let _lock = self.lock(path)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(parent)
            .map_err(io("create temp file in", parent))?;
        tmp.write_all(data).map_err(io("write", &local))?;
        tmp.as_file().sync_all().map_err(io("sync", &local))?;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o600))
            .map_err(io("chmod", &local))?;
        tmp.persist(&local)
            .map_err(|e| io("rename into", &local)(e.error))?;
        Ok(Stored {
            digest: format!("sha256:{}", hex::encode(Sha256::digest(data))),
            size: data.len() as u64,
        })
    }

    /// `CopyFromPath`: the file `from` streamed to `path` under the
    /// artifact's lock, through a temp file renamed into place (mode
    /// 0600); the digest is of the bytes copied. Nothing is held in memory.
    pub fn copy_from_path(&self, path: &str, from: &Path) -> Result<Stored, Error> {
        let local = self.local_path(path);
        let parent = local.parent().ok_or_else(|| Error::BadPath {
            path: path.to_string(),
        })?;
        private_dir(parent)?;
        let _lock = self.lock(path)?;
        let tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(parent)
            .map_err(io("create temp file in", parent))?;
        let mut src = std::fs::File::open(from).map_err(io("open", from))?;
        let mut writer = Digesting {
            inner: std::io::BufWriter::new(tmp),
            hasher: Sha256::new(),
            written: 0,
        };
        std::io::copy(&mut src, &mut writer).map_err(io("copy into", &local))?;
        writer.flush().map_err(io("write", &local))?;
        let Digesting {
            inner,
            hasher,
            written,
        } = writer;
        let tmp = inner
            .into_inner()
            .map_err(|e| io("write", &local)(e.into_error()))?;
        tmp.as_file().sync_all().map_err(io("sync", &local))?;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o600))
            .map_err(io("chmod", &local))?;
        tmp.persist(&local)
            .map_err(|e| io("rename into", &local)(e.error))?;
        Ok(Stored {
            digest: format!("sha256:{}", hex::encode(hasher.finalize())),
            size: written,
        })
    }

    /// `Symlink`: `<artifact dir>/<name>` made a symlink to the artifact at
    /// `path` (replaced atomically); returns its URL (`status.url`).
    pub fn symlink(&self, path: &str, name: &str) -> Result<String, Error> {
        let local = self.local_path(path);
        let (Some(parent), Some(file)) = (local.parent(), local.file_name()) else {
            return Err(Error::BadPath {
                path: path.to_string(),
            });
        };
        if name.contains('/') || name.is_empty() || name == "." || name == ".." {
            return Err(Error::BadPath {
                path: name.to_string(),
            });
        }
        let link = parent.join(name);
        let tmp = parent.join(format!(".tmp-{name}"));
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(file, &tmp).map_err(io("symlink", &tmp))?;
        std::fs::rename(&tmp, &link).map_err(io("rename into", &link))?;
        let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        Ok(self.url(&format!("{dir}/{name}")))
    }

    /// `Lock`: an exclusive lock on `<artifact>.lock`, held until dropped.
    pub fn lock(&self, path: &str) -> Result<std::fs::File, Error> {
        let mut lock = self.local_path(path).into_os_string();
        lock.push(".lock");
        let lock = PathBuf::from(lock);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock)
            .map_err(io("open", &lock))?;
        file.lock().map_err(io("lock", &lock))?;
        Ok(file)
    }

    /// `GetGarbageFiles`: the files of the current artifact's directory
    /// older than the TTL, then, oldest first, more of them while over
    /// `records` would remain; never the current one, never a `.lock` or a
    /// symlink.
    pub fn garbage_files(&self, current: &str, now: SystemTime) -> Result<Vec<PathBuf>, Error> {
        let local = self.local_path(current);
        let Some(dir) = local.parent() else {
            return Ok(Vec::new());
        };
        let mut files: Vec<(SystemTime, PathBuf)> = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in entries.flatten() {
                let Ok(meta) = e.metadata() else { continue };
                let path = e.path();
                if meta.is_dir() {
                    stack.push(path);
                    continue;
                }
                if meta.file_type().is_symlink() || path.extension().is_some_and(|x| x == "lock") {
                    continue;
                }
                if files.len() >= GARBAGE_COUNT_LIMIT {
                    return Err(Error::WalkLimit(files.len()));
                }
                files.push((meta.modified().unwrap_or(SystemTime::UNIX_EPOCH), path));
            }
        }
        files.sort();
        let ttl = self.retention.ttl;
        let expired = |t: SystemTime| now.duration_since(t).is_ok_and(|age| age > ttl);
        let mut garbage: Vec<PathBuf> = files
            .iter()
            .filter(|(t, p)| *p != local && expired(*t))
            .map(|(_, p)| p.clone())
            .collect();
        let records = self.retention.records;
        if files.len() - garbage.len() < records {
            return Ok(garbage);
        }
        // Flux's arithmetic, quirk included: once some file expired, each
        // extra one collected counts twice, so more than `records` can stay.
        let total = files.len();
        let expired_count = garbage.len();
        let mut collected = 0;
        for (_, p) in &files {
            if *p == local || garbage.contains(p) {
                continue;
            }
            let left = if expired_count > 0 {
                total.saturating_sub(collected + garbage.len())
            } else {
                total.saturating_sub(collected)
            };
            if left > records {
                garbage.push(p.clone());
                collected += 1;
            }
        }
        Ok(garbage)
    }

    /// `GarbageCollect`: delete [`Storage::garbage_files`] and their lock
    /// files; returns what was deleted.
    pub fn garbage_collect(&self, current: &str, now: SystemTime) -> Result<Vec<PathBuf>, Error> {
        let mut deleted = Vec::new();
        for file in self.garbage_files(current, now)? {
            std::fs::remove_file(&file).map_err(io("remove", &file))?;
            let mut lock = file.clone().into_os_string();
            lock.push(".lock");
            let lock = PathBuf::from(lock);
            if std::fs::symlink_metadata(&lock).is_ok() {
                std::fs::remove_file(&lock).map_err(io("remove", &lock))?;
            }
            deleted.push(file);
        }
        Ok(deleted)
    }

    /// `RemoveAll` of an object's directory (its deletion); true when there
    /// was one.
    pub fn remove_all(&self, kind: &str, namespace: &str, name: &str) -> Result<bool, Error> {
        let dir = self.local_path(&artifact_dir(kind, namespace, name));
        if dir == self.root {
            return Err(Error::BadPath {
                path: artifact_dir(kind, namespace, name),
            });
        }
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io("remove", &dir)(e).into()),
        }
    }

    /// `CopyToPath`: unpack the artifact at `path`, and move its
    /// `sub_path` (secure-joined) to `to` (parents created).
    pub fn copy_to_path(
        &self,
        path: &str,
        sub_path: &str,
        to: &Path,
        limits: &Limits,
    ) -> Result<(), Error> {
        let parent = to.parent().ok_or_else(|| Error::BadPath {
            path: to.display().to_string(),
        })?;
        std::fs::create_dir_all(parent).map_err(io("create", parent))?;
        // Beside the destination, so that the move is a rename.
        let scratch = tempfile::Builder::new()
            .prefix(".flux-include-")
            .tempdir_in(parent)
            .map_err(io("create temp dir in", parent))?;
        let unpack = scratch.path().join("unpack");
        archive::unpack_tar_gz(&self.local_path(path), &unpack, limits)?;
        let from = secure_join(&unpack, sub_path);
        std::fs::rename(&from, to).map_err(io("rename into", to))?;
        Ok(())
    }
}

fn private_dir(dir: &Path) -> Result<(), Error> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io("create", dir))?;
    Ok(())
}

/// Hashes and counts what passes through (`io.MultiWriter` of digester,
/// file and counter).
struct Digesting<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> Write for Digesting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
