//! Tier 1 adapter: Flux's notifications, as notification-controller sends
//! them (v1.9.3, `internal/server` and `internal/notifier`).
//!
//! - [`event`]: the event every reconciler emits, in Flux's JSON shape
//!   (`apis/event/v1beta1`), its metadata clean-up and its rate-limit key.
//! - [`matching`]: which Alerts take an event (`eventSources`, `*`,
//!   `matchLabels`, `eventSeverity`, inclusion and exclusion regexes,
//!   `suspend`), which Providers are skipped for it, the combined metadata
//!   (`eventMetadata`, `summary`), and the duplicate [`matching::RateLimiter`].
//! - [`target`]: a Provider and its Secrets resolved into where and how to
//!   send (`address`, `token`, `headers`, `username`/`password`, CA, proxy,
//!   timeout); Debug never shows a secret.
//! - [`payload`]: the HTTP requests of each provider type, byte for byte
//!   what Flux sends (Go's JSON escaping included).
//! - [`delivery`]: a bounded queue and workers that send with retries and
//!   backoff, never blocking the reconciler that offered the event.
//!
//! The HTTP client lives here, in `registry` and in `artifact` only
//! (`deny.toml`). Must not depend on kube, git, the store, the runtime or a
//! controller. Errors and logs never carry a token, a password or an
//! address read from a Secret.

pub mod delivery;
pub mod event;
pub mod matching;
pub mod payload;
pub mod target;

pub use delivery::{Job, Notifier, NotifierOptions, Report};
pub use event::{Event, ObjectRef, Severity};
pub use matching::{Decision, RateLimiter};
pub use payload::{ApiBases, Plan, Request};
pub use target::{SecretData, Target, TargetError};
