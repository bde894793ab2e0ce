//! ferroflux-artifact — tier 1 adapter (does IO): Flux source artifacts as
//! source-controller keeps them. [`archive`] writes a directory as Flux's
//! tar.gz (its entry order, headers and modes; Flux's ignore rules, reused
//! from `ferroflux-kustomize`'s sourceignore matcher) and unpacks one;
//! [`storage`] lays artifacts out as `<kind>/<namespace>/<name>/<file>`
//! under one root, writes them atomically, verifies digests, collects
//! garbage with Flux's retention defaults and copies included artifacts;
//! [`server`] serves the root over HTTP at the paths of
//! `status.artifact.url`; [`fetch`] is the consumer's side: download (or
//! read from our own storage), verify the digest, unpack; [`http`] is one
//! bounded GET with a source's credentials and TLS (a HelmRepository's
//! index and charts).
//!
//! Synchronous file IO except the server, `fetch` and `http`: async callers use
//! `spawn_blocking`. Must not depend on git2, kube, the registry adapter,
//! the controllers or the runtime.

pub mod archive;
pub mod fetch;
pub mod http;
pub mod server;
pub mod storage;

pub use archive::Limits;
pub use storage::{Retention, Storage, Stored};
