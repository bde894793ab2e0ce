//! Tier 0: the Flux API as Rust types.
//!
//! Every kind ferroflux reads, in every apiVersion the seeds use plus Flux's
//! current one; Go-compatible durations; condition types and reason strings;
//! the multi-document manifest loader that keeps file and line for every
//! object and field. No IO beyond reading the files the loader is given, no
//! clock, no tokio.

pub mod duration;

pub use duration::Duration;
