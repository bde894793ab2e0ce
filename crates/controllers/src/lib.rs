//! Tier 2: the reconcile steps of every kind, written once for both homes
//! (`ferroflux automate`, objects from a Git checkout and status in redb;
//! `ferroflux controller`, objects and status in Kubernetes).
//!
//! A reconciler takes an object, what it depends on (other objects' status,
//! the tag store, a registry or git client) and a [`Clock`], and returns the
//! object's new status and what to do next. It never reads the environment
//! and never talks to Kubernetes: the runtime does that. Controllers never
//! import each other; data passes through status, as in Flux.
//!
//! [`kind`] is the contract between a kind and the runtime (`Kind`,
//! `Watch`, `Ref`, `ObjectKey`), implemented beside each kind's steps;
//! [`target`] the contract of the clusters appliers write to
//! (`TargetCluster`, `TargetFactory`, `NoTarget`). See
//! `docs/ARCHITECTURE.md`.

pub mod clock;
pub mod helm;
pub mod image;
pub mod kind;
pub mod kustomize;
pub mod notification;
pub mod park;
pub mod source;
pub mod status;
pub mod target;

pub use clock::{Clock, FixedClock, SystemClock};
pub use status::{Outcome, StepError};
