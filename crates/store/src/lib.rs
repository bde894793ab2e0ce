//! Tier 1 adapter: the embedded redb database.
//!
//! Two tables in one file:
//! - `tags`: canonical image name (`index.docker.io/library/alpine`) → the
//!   scanned tags, the scan time and the revision checksum. The revision is
//!   Flux's `FluxStorage` form: `sha256:<hex>` of the tags joined with `\n`,
//!   in stored order.
//! - `status`: `kind/namespace/name` → the object's status JSON, for
//!   `ferroflux automate` (standalone mode without a cluster).
//!
//! Every write is one redb transaction, so a process killed mid-write leaves
//! the previous complete value (tested with SIGKILL). The page cache is
//! bounded ([`Options::cache_size`]) so memory stays flat as the file grows.
//! Blocking IO: async callers use `spawn_blocking`. Must not depend on the
//! registry client, kube or any controller.

pub mod tags;

pub use tags::{Options, Store, StoreError, TagRecord, revision};
