//! The database handle, the tag table and the status table.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redb::{ReadableDatabase as _, ReadableTable as _, TableDefinition};
use sha2::Digest as _;

const TAGS: TableDefinition<&str, &[u8]> = TableDefinition::new("tags");
const STATUS: TableDefinition<&str, &str> = TableDefinition::new("status");

/// Record layout version (first byte of every `tags` value).
const RECORD_V1: u8 = 1;

/// A database operation failed; names the file, the operation and the key.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("tag database {path}: {op}: {source}")]
    Db {
        path: PathBuf,
        op: String,
        #[source]
        source: Box<redb::Error>,
    },
    #[error("tag database {path}: corrupt record for '{key}': {detail}")]
    Corrupt {
        path: PathBuf,
        key: String,
        detail: String,
    },
    #[error("tag database {path}: tag {tag:?} of '{image}' is empty or contains a newline")]
    InvalidTag {
        path: PathBuf,
        image: String,
        tag: String,
    },
    #[error("tag database {path}: status key '{key}' must be kind/namespace/name")]
    InvalidKey { path: PathBuf, key: String },
    #[error("tag database {path}: status of '{key}' is not JSON: {source}")]
    Json {
        path: PathBuf,
        key: String,
        #[source]
        source: serde_json::Error,
    },
}

/// Database settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Bytes of redb page cache; bounds resident memory.
    pub cache_size: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            cache_size: 16 * 1024 * 1024,
        }
    }
}

/// The tags of one image as last stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRecord {
    pub tags: Vec<String>,
    pub scan_time: SystemTime,
    /// `sha256:<hex>` of the newline-joined tags.
    pub revision: String,
}

/// `sha256:<hex>` of the tags joined with `\n` (Flux's FluxStorage revision).
pub fn revision(tags: &[String]) -> String {
    let mut hasher = sha2::Sha256::new();
    for (i, tag) in tags.iter().enumerate() {
        if i > 0 {
            hasher.update(b"\n");
        }
        hasher.update(tag.as_bytes());
    }
    let digest = hasher.finalize();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in digest {
        out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    out
}

/// An open database file. Cheap to share behind an `Arc`; redb serialises
/// writers and lets readers run concurrently.
pub struct Store {
    db: redb::Database,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Open or create the database at `path`.
    pub fn open(path: impl AsRef<Path>, opts: Options) -> Result<Store, StoreError> {
        let path = path.as_ref().to_path_buf();
        let db = redb::Database::builder()
            .set_cache_size(opts.cache_size)
            .create(&path)
            .map_err(|e| db_error(&path, "open", e))?;
        let store = Store { db, path };
        // Create both tables so readers never meet a missing table.
        store.write("create tables", |txn| {
            txn.open_table(TAGS)?;
            txn.open_table(STATUS)?;
            Ok(())
        })?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Replace the tags of `image`; returns the stored record's revision.
    pub fn put_tags(
        &self,
        image: &str,
        tags: &[String],
        scan_time: SystemTime,
    ) -> Result<String, StoreError> {
        self.put_tags_many(&[(image, tags)], scan_time)
            .map(|mut revs| revs.pop().unwrap_or_default())
    }

    /// Replace the tags of several images in one transaction.
    pub fn put_tags_many(
        &self,
        images: &[(&str, &[String])],
        scan_time: SystemTime,
    ) -> Result<Vec<String>, StoreError> {
        let mut encoded = Vec::with_capacity(images.len());
        let mut revisions = Vec::with_capacity(images.len());
        for (image, tags) in images {
            if let Some(tag) = tags.iter().find(|t| t.is_empty() || t.contains('\n')) {
                return Err(StoreError::InvalidTag {
                    path: self.path.clone(),
                    image: (*image).to_owned(),
                    tag: tag.clone(),
                });
            }
            let rev = revision(tags);
            encoded.push((*image, encode(tags, scan_time, &rev)));
            revisions.push(rev);
        }
        let op = match images {
            [(image, _)] => format!("put tags of '{image}'"),
            _ => format!("put tags of {} images", images.len()),
        };
        self.write(&op, |txn| {
            let mut table = txn.open_table(TAGS)?;
            for (image, value) in &encoded {
                table.insert(*image, value.as_slice())?;
            }
            Ok(())
        })?;
        Ok(revisions)
    }

    /// The stored tags of `image`, if any.
    pub fn get_tags(&self, image: &str) -> Result<Option<TagRecord>, StoreError> {
        let op = format!("get tags of '{image}'");
        let txn = self
            .db
            .begin_read()
            .map_err(|e| db_error(&self.path, &op, e))?;
        let table = txn
            .open_table(TAGS)
            .map_err(|e| db_error(&self.path, &op, e))?;
        let Some(value) = table.get(image).map_err(|e| db_error(&self.path, &op, e))? else {
            return Ok(None);
        };
        decode(value.value())
            .map(Some)
            .map_err(|detail| StoreError::Corrupt {
                path: self.path.clone(),
                key: image.to_owned(),
                detail,
            })
    }

    /// Remove the tags of `image`; true when there were some.
    pub fn remove(&self, image: &str) -> Result<bool, StoreError> {
        let mut removed = false;
        self.write(&format!("remove tags of '{image}'"), |txn| {
            let mut table = txn.open_table(TAGS)?;
            removed = table.remove(image)?.is_some();
            Ok(())
        })?;
        Ok(removed)
    }

    /// Every image name with stored tags, sorted.
    pub fn images(&self) -> Result<Vec<String>, StoreError> {
        let op = "list images";
        let txn = self
            .db
            .begin_read()
            .map_err(|e| db_error(&self.path, op, e))?;
        let table = txn
            .open_table(TAGS)
            .map_err(|e| db_error(&self.path, op, e))?;
        let mut out = Vec::new();
        for entry in table.iter().map_err(|e| db_error(&self.path, op, e))? {
            let (key, _) = entry.map_err(|e| db_error(&self.path, op, e))?;
            out.push(key.value().to_owned());
        }
        Ok(out)
    }

    /// Store the status JSON of `kind/namespace/name`.
    pub fn put_status(&self, key: &str, status: &serde_json::Value) -> Result<(), StoreError> {
        self.check_key(key)?;
        let json = status.to_string();
        self.write(&format!("put status of '{key}'"), |txn| {
            txn.open_table(STATUS)?.insert(key, json.as_str())?;
            Ok(())
        })
    }

    /// The status JSON of `kind/namespace/name`, if stored.
    pub fn get_status(&self, key: &str) -> Result<Option<serde_json::Value>, StoreError> {
        self.check_key(key)?;
        let op = format!("get status of '{key}'");
        let txn = self
            .db
            .begin_read()
            .map_err(|e| db_error(&self.path, &op, e))?;
        let table = txn
            .open_table(STATUS)
            .map_err(|e| db_error(&self.path, &op, e))?;
        let Some(value) = table.get(key).map_err(|e| db_error(&self.path, &op, e))? else {
            return Ok(None);
        };
        serde_json::from_str(value.value())
            .map(Some)
            .map_err(|source| StoreError::Json {
                path: self.path.clone(),
                key: key.to_owned(),
                source,
            })
    }

    /// Remove the status of `kind/namespace/name`; true when it existed.
    pub fn remove_status(&self, key: &str) -> Result<bool, StoreError> {
        self.check_key(key)?;
        let mut removed = false;
        self.write(&format!("remove status of '{key}'"), |txn| {
            removed = txn.open_table(STATUS)?.remove(key)?.is_some();
            Ok(())
        })?;
        Ok(removed)
    }

    /// Every `(namespace/name, status)` of one kind, sorted by key.
    pub fn list_status(&self, kind: &str) -> Result<Vec<(String, serde_json::Value)>, StoreError> {
        let op = format!("list status of kind '{kind}'");
        let prefix = format!("{kind}/");
        let txn = self
            .db
            .begin_read()
            .map_err(|e| db_error(&self.path, &op, e))?;
        let table = txn
            .open_table(STATUS)
            .map_err(|e| db_error(&self.path, &op, e))?;
        let mut out = Vec::new();
        let range = table
            .range::<&str>(prefix.as_str()..)
            .map_err(|e| db_error(&self.path, &op, e))?;
        for entry in range {
            let (key, value) = entry.map_err(|e| db_error(&self.path, &op, e))?;
            let Some(rest) = key.value().strip_prefix(&prefix) else {
                break;
            };
            let status =
                serde_json::from_str(value.value()).map_err(|source| StoreError::Json {
                    path: self.path.clone(),
                    key: key.value().to_owned(),
                    source,
                })?;
            out.push((rest.to_owned(), status));
        }
        Ok(out)
    }

    fn check_key(&self, key: &str) -> Result<(), StoreError> {
        let parts: Vec<&str> = key.split('/').collect();
        if parts.len() == 3 && !parts[0].is_empty() && !parts[2].is_empty() {
            Ok(())
        } else {
            Err(StoreError::InvalidKey {
                path: self.path.clone(),
                key: key.to_owned(),
            })
        }
    }

    fn write(
        &self,
        op: &str,
        body: impl FnOnce(&redb::WriteTransaction) -> Result<(), redb::Error>,
    ) -> Result<(), StoreError> {
        let txn = self
            .db
            .begin_write()
            .map_err(|e| db_error(&self.path, op, e))?;
        body(&txn).map_err(|e| db_error(&self.path, op, e))?;
        txn.commit().map_err(|e| db_error(&self.path, op, e))
    }
}

fn db_error(path: &Path, op: &str, e: impl Into<redb::Error>) -> StoreError {
    StoreError::Db {
        path: path.to_path_buf(),
        op: op.to_owned(),
        source: Box::new(e.into()),
    }
}

/// `[version u8][scan secs u64 LE][scan nanos u32 LE][revision len u8][revision][tags joined by \n]`.
fn encode(tags: &[String], scan_time: SystemTime, revision: &str) -> Vec<u8> {
    // Times before 1970 do not occur for scans; clamp them to the epoch.
    let since = scan_time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let (secs, nanos) = (since.as_secs(), since.subsec_nanos());
    let body: usize = tags.iter().map(|t| t.len() + 1).sum();
    let mut out = Vec::with_capacity(14 + revision.len() + body);
    out.push(RECORD_V1);
    out.extend_from_slice(&secs.to_le_bytes());
    out.extend_from_slice(&nanos.to_le_bytes());
    out.push(u8::try_from(revision.len()).expect("revision is sha256:<64 hex>"));
    out.extend_from_slice(revision.as_bytes());
    for (i, tag) in tags.iter().enumerate() {
        if i > 0 {
            out.push(b'\n');
        }
        out.extend_from_slice(tag.as_bytes());
    }
    out
}

fn decode(bytes: &[u8]) -> Result<TagRecord, String> {
    let (&version, rest) = bytes.split_first().ok_or("empty record")?;
    if version != RECORD_V1 {
        return Err(format!("unknown record version {version}"));
    }
    if rest.len() < 13 {
        return Err("truncated header".to_owned());
    }
    let secs = u64::from_le_bytes(rest[0..8].try_into().map_err(|_| "bad seconds")?);
    let nanos = u32::from_le_bytes(rest[8..12].try_into().map_err(|_| "bad nanoseconds")?);
    let rev_len = usize::from(rest[12]);
    let rest = &rest[13..];
    if rest.len() < rev_len {
        return Err("truncated revision".to_owned());
    }
    let revision = std::str::from_utf8(&rest[..rev_len])
        .map_err(|_| "revision is not UTF-8")?
        .to_owned();
    let body = std::str::from_utf8(&rest[rev_len..]).map_err(|_| "tags are not UTF-8")?;
    let tags: Vec<String> = if body.is_empty() {
        Vec::new()
    } else {
        body.split('\n').map(str::to_owned).collect()
    };
    if nanos >= 1_000_000_000 {
        return Err("bad nanoseconds".to_owned());
    }
    let scan_time = UNIX_EPOCH
        .checked_add(Duration::new(secs, nanos))
        .ok_or("scan time out of range")?;
    Ok(TagRecord {
        tags,
        scan_time,
        revision,
    })
}

#[cfg(test)]
mod tests;
