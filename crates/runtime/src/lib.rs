//! Tier 2: the runtime behind `ferroflux automate` and `ferroflux controller`
//! (see `docs/ARCHITECTURE.md` for the seams).
//!
//! The kinds it serves are listed once in [`registry`] (each an `impl Kind`
//! of `ferroflux-controllers`, erased); [`source`]'s `Objects` holds their
//! objects, [`index`] who reads what, and [`triggers`] the runs that follow a
//! change. [`engine`] is what follows every reconcile, for every kind alike,
//! and names no kind. The loop is the [`Runner`]; where its objects live
//! is its [`home`]: standalone a `LocalHome` (objects from a Git checkout,
//! Secrets kept outside the repository ([`secrets`]), status in redb
//! ([`state`])), given a [`cluster`] a `KubeHome` (objects and Secrets
//! from Kubernetes watches, status to the status subresource, Events).
//! Either way it decides what runs when ([`scheduler`]), serves Receiver
//! webhooks ([`webhook`]) and counts Flux's metrics ([`metrics`]).
//! The runtime never decides a status: it stores what a reconciler returns.
//! Must not depend on the CLI; blocking work (redb, git) goes through
//! `spawn_blocking`, and no lock is held across an `.await`.

pub mod automate;
pub mod cluster;
pub mod engine;
pub mod home;
pub mod index;
pub mod leader;
pub mod metrics;
pub mod registry;
pub mod scheduler;
pub mod secrets;
pub mod source;
pub mod state;
pub mod target;
pub mod triggers;
pub mod webhook;

pub use automate::{AutomateError, AutomateOptions, ProgressEvent, ProgressSink, Runner, Summary};
pub use scheduler::{Scheduler, SchedulerHandle, Trigger};
pub use secrets::{SecretError, Secrets};
pub use source::{LocalSource, ObjectKey, Objects, SourceError};
pub use state::{StateError, StatusStore};
