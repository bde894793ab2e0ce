//! The consumer side of an artifact (`fluxcd/pkg/http/fetch`'s
//! `ArchiveFetcher`, as kustomize-controller uses it): download
//! `status.artifact.url`, verify `status.artifact.digest`, unpack the
//! tar.gz into a fresh directory.
//!
//! An artifact this process stored (its URL under our advertised address)
//! is read from the storage root instead of over HTTP. Unlike Flux, the
//! download is bounded (`max_bytes`) and so is the unpacked tree
//! ([`Limits`]); entries leaving the directory are refused and symlinks
//! skipped, as Flux's untar does. Messages are Flux's and name the URL,
//! never a body.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::archive::{self, Limits};
use crate::storage::secure_join;

#[cfg(test)]
mod tests;

/// Where the artifacts of this process live, so that their URLs are read
/// from disk: the storage root and the advertised address
/// (`Storage::url`'s prefix, `host:port` or a URL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalStorage {
    pub root: PathBuf,
    pub address: String,
}

impl LocalStorage {
    /// The file `url` names under the root, when the URL is ours.
    pub fn path_of(&self, url: &str) -> Option<PathBuf> {
        let base = if self.address.starts_with("http://") || self.address.starts_with("https://") {
            self.address.trim_end_matches('/').to_string()
        } else {
            format!("http://{}", self.address.trim_end_matches('/'))
        };
        let rest = url.strip_prefix(&base)?.strip_prefix('/')?;
        let rest = rest.split(['?', '#']).next().unwrap_or_default();
        if rest.is_empty() {
            return None;
        }
        Some(secure_join(&self.root, rest))
    }
}

/// How to fetch.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Bytes of the compressed archive (Flux: unbounded).
    pub max_bytes: u64,
    /// Bounds of the unpacked tree.
    pub limits: Limits,
    /// Attempts after a transport error or a 5xx answer (`--http-retry`,
    /// 9 in Flux), waiting `retry_wait` × 2ⁿ (at most 30 s) between.
    pub retries: u32,
    pub retry_wait: Duration,
    /// One attempt's deadline.
    pub timeout: Duration,
    /// Our own artifacts, read from disk.
    pub local: Option<LocalStorage>,
    /// Where the download is kept while it is verified (a temp file).
    pub temp_dir: PathBuf,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            max_bytes: 1 << 30,
            limits: Limits::default(),
            retries: 9,
            retry_wait: Duration::from_secs(5),
            timeout: Duration::from_secs(120),
            local: None,
            temp_dir: std::env::temp_dir(),
        }
    }
}

/// Why an artifact could not be had; Flux's words where it has some.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// 404: the source has not stored it (yet), or collected it.
    #[error("artifact not found at {url}")]
    NotFound { url: String },
    #[error("failed to download archive from {url} (status: {status})")]
    Status { url: String, status: String },
    #[error("failed to download archive from {url}: {detail}")]
    Transport { url: String, detail: String },
    #[error("failed to download archive from {url}: larger than {limit} bytes")]
    TooLarge { url: String, limit: u64 },
    #[error("failed to verify archive: empty digest")]
    EmptyDigest,
    #[error("failed to verify archive: unsupported digest algorithm in '{digest}'")]
    BadDigest { digest: String },
    #[error(
        "failed to verify archive: computed digest doesn't match provided '{digest}' (check whether file size exceeds max download size)"
    )]
    Mismatch { digest: String },
    #[error("failed to untar artifact: {0}")]
    Unpack(#[from] archive::Error),
    #[error("cannot {op} '{}': {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl FetchError {
    /// Whether trying again later may help (not found, transport, 5xx,
    /// IO); a digest or archive error needs a new artifact.
    pub fn is_transient(&self) -> bool {
        match self {
            FetchError::NotFound { .. } | FetchError::Transport { .. } | FetchError::Io { .. } => {
                true
            }
            FetchError::Status { status, .. } => status.starts_with('5'),
            _ => false,
        }
    }
}

fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> FetchError + use<> {
    let path = path.to_path_buf();
    move |source| FetchError::Io { op, path, source }
}

/// The hash named by `digest` (`sha256:<hex>`, `sha384:`, `sha512:`; a
/// bare hex string is sha256, as Flux reads it).
enum Hasher {
    Sha256(Sha256),
    Sha384(Sha384),
    Sha512(Sha512),
}

impl Hasher {
    fn for_digest(digest: &str) -> Result<(Hasher, String), FetchError> {
        if digest.is_empty() {
            return Err(FetchError::EmptyDigest);
        }
        let (algo, hex) = digest.split_once(':').unwrap_or(("sha256", digest));
        let bad = || FetchError::BadDigest {
            digest: digest.to_string(),
        };
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let h = match algo {
            "sha256" => Hasher::Sha256(Sha256::new()),
            "sha384" => Hasher::Sha384(Sha384::new()),
            "sha512" => Hasher::Sha512(Sha512::new()),
            _ => return Err(bad()),
        };
        Ok((h, hex.to_ascii_lowercase()))
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha384(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    fn hex(self) -> String {
        match self {
            Hasher::Sha256(h) => hex::encode(h.finalize()),
            Hasher::Sha384(h) => hex::encode(h.finalize()),
            Hasher::Sha512(h) => hex::encode(h.finalize()),
        }
    }
}

/// Where a download goes: a temp file, or memory.
trait Out: Send + 'static {
    fn put(&mut self, data: &[u8]) -> Result<(), FetchError>;
    /// Back to empty, for another attempt.
    fn clear(&mut self) -> Result<(), FetchError>;
}

impl Out for tempfile::NamedTempFile {
    fn put(&mut self, data: &[u8]) -> Result<(), FetchError> {
        let path = self.path().to_path_buf();
        self.write_all(data).map_err(io("write", &path))
    }

    fn clear(&mut self) -> Result<(), FetchError> {
        use std::io::Seek;
        let path = self.path().to_path_buf();
        self.as_file().set_len(0).map_err(io("truncate", &path))?;
        self.as_file_mut()
            .seek(std::io::SeekFrom::Start(0))
            .map_err(io("seek", &path))?;
        Ok(())
    }
}

impl Out for Vec<u8> {
    fn put(&mut self, data: &[u8]) -> Result<(), FetchError> {
        self.extend_from_slice(data);
        Ok(())
    }

    fn clear(&mut self) -> Result<(), FetchError> {
        Vec::clear(self);
        Ok(())
    }
}

/// A download in progress: where it goes, its hash and its size.
struct Sink<O> {
    out: O,
    hasher: Hasher,
    size: u64,
    max: u64,
}

impl<O: Out> Sink<O> {
    fn write(&mut self, url: &str, data: &[u8]) -> Result<(), FetchError> {
        self.size = self.size.saturating_add(data.len() as u64);
        if self.size > self.max {
            return Err(FetchError::TooLarge {
                url: url.to_string(),
                limit: self.max,
            });
        }
        self.hasher.update(data);
        self.out.put(data)
    }
}

/// Fetch the artifact at `url`, check it against `digest`, and unpack it
/// into `to` (created; it must not exist or be empty).
pub async fn fetch(
    url: &str,
    digest: &str,
    to: &Path,
    opts: &FetchOptions,
) -> Result<(), FetchError> {
    std::fs::create_dir_all(&opts.temp_dir).map_err(io("create", &opts.temp_dir))?;
    let file = tempfile::Builder::new()
        .prefix("artifact-")
        .suffix(".tar.gz")
        .tempfile_in(&opts.temp_dir)
        .map_err(io("create a temp file in", &opts.temp_dir))?;
    let file = receive(url, digest, opts, file).await?;
    let (to, limits) = (to.to_path_buf(), opts.limits);
    let shown = to.clone();
    tokio::task::spawn_blocking(move || archive::unpack_tar_gz(file.path(), &to, &limits))
        .await
        .map_err(|e| joined("unpack into", &shown, e))??;
    Ok(())
}

/// Fetch the artifact at `url` into memory (at most `opts.max_bytes`) and
/// check it against `digest`, unpacked by nobody: a chart, which Helm
/// loads from its archive (helm-controller's `SecureLoadChartFromURL`).
pub async fn fetch_bytes(
    url: &str,
    digest: &str,
    opts: &FetchOptions,
) -> Result<Vec<u8>, FetchError> {
    receive(url, digest, opts, Vec::new()).await
}

/// The artifact at `url` written to `out`, whose hash must be `digest`.
async fn receive<O: Out>(
    url: &str,
    digest: &str,
    opts: &FetchOptions,
    out: O,
) -> Result<O, FetchError> {
    let (hasher, want) = Hasher::for_digest(digest)?;
    let mut sink = Sink {
        out,
        hasher,
        size: 0,
        max: opts.max_bytes,
    };
    match opts.local.as_ref().and_then(|l| l.path_of(url)) {
        Some(path) => {
            let (url, shown) = (url.to_string(), path.clone());
            sink = tokio::task::spawn_blocking(move || copy_local(&url, &path, sink))
                .await
                .map_err(|e| joined("copy", &shown, e))??;
        }
        None => download(url, &mut sink, opts).await?,
    }
    let Sink { out, hasher, .. } = sink;
    if hasher.hex() != want {
        return Err(FetchError::Mismatch {
            digest: digest.to_string(),
        });
    }
    Ok(out)
}

/// A blocking task that panicked or was cancelled, as an IO error.
fn joined(op: &'static str, path: &Path, e: tokio::task::JoinError) -> FetchError {
    FetchError::Io {
        op,
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    }
}

/// An artifact of our own storage, copied (and hashed) so that a garbage
/// collection in between cannot change what is unpacked.
fn copy_local<O: Out>(url: &str, path: &Path, mut sink: Sink<O>) -> Result<Sink<O>, FetchError> {
    use std::io::Read;
    let meta = std::fs::symlink_metadata(path);
    let mut f = match meta {
        Ok(m) if m.file_type().is_file() => std::fs::File::open(path).map_err(io("open", path))?,
        Ok(_) => {
            return Err(FetchError::NotFound {
                url: url.to_string(),
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(FetchError::NotFound {
                url: url.to_string(),
            });
        }
        Err(e) => return Err(io("open", path)(e)),
    };
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = f.read(&mut buf).map_err(io("read", path))?;
        if n == 0 {
            return Ok(sink);
        }
        sink.write(url, &buf[..n])?;
    }
}

/// An error and its causes, `: `-joined (reqwest's own text is only
/// "error sending request").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

/// GET with retries on transport errors and 5xx answers.
async fn download<O: Out>(
    url: &str,
    sink: &mut Sink<O>,
    opts: &FetchOptions,
) -> Result<(), FetchError> {
    let http = crate::http::shared_client().map_err(|detail| FetchError::Transport {
        url: url.to_string(),
        detail,
    })?;
    let mut attempt = 0;
    loop {
        match download_once(&http, url, sink, opts).await {
            Err(e) if e.is_retryable_download() && attempt < opts.retries => {
                attempt += 1;
                let wait = opts
                    .retry_wait
                    .saturating_mul(1 << attempt.min(8))
                    .min(Duration::from_secs(30));
                tokio::time::sleep(wait).await;
                sink.reset()?;
            }
            other => return other,
        }
    }
}

impl FetchError {
    fn is_retryable_download(&self) -> bool {
        match self {
            FetchError::Transport { .. } => true,
            FetchError::Status { status, .. } => status.starts_with('5'),
            _ => false,
        }
    }
}

impl<O: Out> Sink<O> {
    fn reset(&mut self) -> Result<(), FetchError> {
        self.out.clear()?;
        self.size = 0;
        self.hasher = match self.hasher {
            Hasher::Sha256(_) => Hasher::Sha256(Sha256::new()),
            Hasher::Sha384(_) => Hasher::Sha384(Sha384::new()),
            Hasher::Sha512(_) => Hasher::Sha512(Sha512::new()),
        };
        Ok(())
    }
}

async fn download_once<O: Out>(
    http: &reqwest::Client,
    url: &str,
    sink: &mut Sink<O>,
    opts: &FetchOptions,
) -> Result<(), FetchError> {
    let transport = |e: reqwest::Error| FetchError::Transport {
        url: url.to_string(),
        detail: error_chain(&e.without_url()),
    };
    let work = async {
        let mut resp = http.get(url).send().await.map_err(transport)?;
        let status = resp.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err(FetchError::NotFound {
                url: url.to_string(),
            });
        }
        if !status.is_success() {
            return Err(FetchError::Status {
                url: url.to_string(),
                status: status.to_string(),
            });
        }
        if resp.content_length().is_some_and(|n| n > sink.max) {
            return Err(FetchError::TooLarge {
                url: url.to_string(),
                limit: sink.max,
            });
        }
        while let Some(chunk) = resp.chunk().await.map_err(transport)? {
            sink.write(url, &chunk)?;
        }
        Ok(())
    };
    match tokio::time::timeout(opts.timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(FetchError::Transport {
            url: url.to_string(),
            detail: format!("no answer within {:?}", opts.timeout),
        }),
    }
}
