//! Where the chain's runtime facts come from: the state database that
//! `ferroflux automate` keeps (object status and scanned tags), a tags file
//! (one tag per line), or a live registry scan the caller performs.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use ferroflux_store::{Store, TagRecord};

/// Why evidence could not be read (bad input, exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("state database {path} does not exist")]
    StateMissing { path: PathBuf },
    #[error("state database {path}: {source} (is `ferroflux automate` running on it?)")]
    State {
        path: PathBuf,
        #[source]
        source: ferroflux_store::StoreError,
    },
    #[error("tags file {path}: {source}")]
    TagsFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The state database: status under `Kind/namespace/name` and the tags of
/// each canonical image name, as `ferroflux automate` writes them.
#[derive(Debug)]
pub struct State {
    store: Store,
}

impl State {
    /// Open an existing database; a missing file is an error rather than a
    /// new empty database.
    pub fn open(path: &Path) -> Result<State, Error> {
        if !path.is_file() {
            return Err(Error::StateMissing {
                path: path.to_path_buf(),
            });
        }
        let store = Store::open(path, ferroflux_store::Options::default()).map_err(|source| {
            Error::State {
                path: path.to_path_buf(),
                source,
            }
        })?;
        Ok(State { store })
    }

    /// Wrap an open store (tests, or a caller that already holds one).
    pub fn from_store(store: Store) -> State {
        State { store }
    }

    pub fn path(&self) -> &Path {
        self.store.path()
    }

    /// Status JSON of `kind/namespace/name`; a read error is reported as text.
    pub fn status(
        &self,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Option<serde_json::Value>, String> {
        self.store
            .get_status(&format!("{kind}/{namespace}/{name}"))
            .map_err(|e| e.to_string())
    }

    /// Tags stored for a canonical image name (after the exclusion list).
    pub fn tags(&self, canonical: &str) -> Result<Option<TagRecord>, String> {
        self.store.get_tags(canonical).map_err(|e| e.to_string())
    }
}

/// Tags given by hand: one per line, blank lines and `#` comments ignored.
/// They stand for what the registry lists, before the exclusion list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagsFile {
    pub path: PathBuf,
    pub tags: Vec<String>,
}

impl TagsFile {
    pub fn read(path: &Path) -> Result<TagsFile, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::TagsFile {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(TagsFile::parse(path, &text))
    }

    pub fn parse(path: &Path, text: &str) -> TagsFile {
        let tags = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect();
        TagsFile {
            path: path.to_path_buf(),
            tags,
        }
    }
}

/// What a live scan is asked for: the ImageRepository's image as written,
/// its canonical name and its `insecure` flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveScan {
    pub image: String,
    pub canonical: String,
    pub insecure: bool,
}

/// A live registry scan: every tag, or the error text.
pub type Scanner<'a> = &'a dyn Fn(&LiveScan) -> Result<Vec<String>, String>;

/// Everything the walk may consult besides the manifests.
#[derive(Default)]
pub struct Evidence<'a> {
    pub state: Option<&'a State>,
    pub tags_file: Option<&'a TagsFile>,
    /// `None` with `--offline`.
    pub live: Option<Scanner<'a>>,
}

/// `$XDG_STATE_HOME/ferroflux/state.redb`, else
/// `$HOME/.local/state/ferroflux/state.redb` (the XDG default), the path
/// `ferroflux automate` uses. The caller passes the environment in.
pub fn default_state_path(
    xdg_state_home: Option<OsString>,
    home: Option<OsString>,
) -> Option<PathBuf> {
    let base = match xdg_state_home.filter(|v| !v.is_empty() && Path::new(v).is_absolute()) {
        Some(x) => PathBuf::from(x),
        None => PathBuf::from(home.filter(|h| !h.is_empty())?).join(".local/state"),
    };
    Some(base.join("ferroflux/state.redb"))
}

#[cfg(test)]
mod tests;
