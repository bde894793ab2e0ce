//! Tier 2: the standalone runtime behind `ferroflux automate`.
//!
//! It loads Flux objects from a Git checkout ([`source`]), reads Secrets
//! kept outside the repository ([`secrets`]), persists every object's
//! status in redb ([`state`]), decides what runs when ([`scheduler`]) and
//! serves Receiver webhooks ([`webhook`]). The reconcile logic itself lives
//! in `ferroflux-controllers`: the runtime never decides a status, it only
//! stores what a reconciler returns. Must not depend on kube or the CLI;
//! blocking work (redb, git) goes through `spawn_blocking`, and no lock is
//! held across an `.await`.

pub mod automate;
pub mod scheduler;
pub mod secrets;
pub mod source;
pub mod state;
pub mod webhook;

pub use automate::{AutomateError, AutomateOptions, Runner, Summary};
pub use scheduler::{Scheduler, SchedulerHandle, Trigger};
pub use secrets::{SecretError, Secrets};
pub use source::{LocalSource, ObjectKey, Objects, SourceError};
pub use state::{StateError, StatusStore};
