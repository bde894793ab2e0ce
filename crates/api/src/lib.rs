//! Tier 0: the Flux API as Rust types.
//!
//! Every kind ferroflux reads, in every apiVersion the seeds use plus Flux's
//! current one; Go-compatible durations; condition types and reason strings;
//! the multi-document manifest loader that keeps file and line for every
//! object and field. No IO beyond reading the files the loader is given, no
//! clock, no tokio, no Kubernetes client (only `kube`'s derive).

pub mod duration;
pub mod gojson;
pub mod helm;
pub mod image;
pub mod kustomize;
pub mod manifest;
pub mod meta;
pub mod notification;
pub mod source;
pub mod thirdparty;
pub mod tree;
pub mod yaml;

pub use duration::Duration;
