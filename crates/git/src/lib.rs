//! ferroflux-git — tier 1 adapter (does IO): Git over libgit2 (`git2`) for
//! ImageUpdateAutomation and GitRepository: clone and fetch into one cached
//! working clone per source (shallow by default, rebuilt when corrupt),
//! checkout of a GitRepository `spec.ref`, commits with an optional OpenPGP
//! signature, and pushes that turn server refusals into typed errors
//! (non-fast-forward with re-fetch/re-apply retry, read-only key, protected
//! branch, bad credentials, unknown host key). Credentials come from Flux's
//! Secret formats (`Auth::from_secret`).
//!
//! One automation run, as the controller drives it:
//!
//! ```text
//! let auth = Auth::from_secret(&secret.data)?;               // GitRepository secretRef
//! let mut ws = Workspace::open_or_clone(cache, url, &auth, &checkout_ref, Options::default())?;
//! if push_branch != checkout_branch { ws.switch_branch(push_branch)?; }  // force = true
//! let pushed = ws.push_with_retry(&PushSpec { .. }, &CommitOptions { author, signer },
//!     |dir| /* run setters under dir; Some(message) when files changed */)?;
//! status.observed_source_revision = ws.observed_source_revision();
//! status.last_push_commit = pushed.map(|p| p.commit);
//! ```
//!
//! The API is synchronous: async callers use `spawn_blocking`. This crate
//! must not depend on kube, the registry client, the controllers or the
//! CLI; it is the only crate that links git2.

pub mod auth;
pub mod known_hosts;
mod remote;
pub mod shared;
pub mod signing;
pub mod tls;
pub mod url;
pub mod verify;
pub mod workspace;

pub use auth::Auth;
pub use shared::FetchPool;
pub use signing::Signer;
pub use workspace::{
    Author, CheckoutRef, CommitOptions, Error, FetchProgress, Options, PushResult, PushSpec,
    SwitchOutcome, Workspace, revision_string,
};
