//! Tier 2: the runtime behind `ferroflux automate` and `ferroflux controller`.
//!
//! Standalone, it loads Flux objects from a Git checkout ([`source`]),
//! reads Secrets kept outside the repository ([`secrets`]) and persists
//! every object's status in redb ([`state`]); in a cluster ([`cluster`])
//! the objects and Secrets come from Kubernetes watches and status goes to
//! the status subresource. Either way it decides what runs when
//! ([`scheduler`]), serves Receiver webhooks ([`webhook`]) and counts
//! Flux's metrics ([`metrics`]). The reconcile logic itself lives in
//! `ferroflux-controllers`: the runtime never decides a status, it only
//! stores what a reconciler returns. Must not depend on the CLI; blocking
//! work (redb, git) goes through `spawn_blocking`, and no lock is held
//! across an `.await`.

pub mod automate;
pub mod cluster;
pub mod engine;
pub mod index;
pub mod leader;
pub mod metrics;
pub mod registry;
pub mod scheduler;
pub mod secrets;
pub mod source;
pub mod state;
pub mod triggers;
pub mod webhook;

pub use automate::{AutomateError, AutomateOptions, ProgressEvent, ProgressSink, Runner, Summary};
pub use scheduler::{Scheduler, SchedulerHandle, Trigger};
pub use secrets::{SecretError, Secrets};
pub use source::{LocalSource, ObjectKey, Objects, SourceError};
pub use state::{StateError, StatusStore};
