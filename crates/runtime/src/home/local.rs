//! The home of `ferroflux automate`: objects read from a checkout of
//! `--repo` (fetched and re-read by the runtime), status in the state
//! database, no events (the runtime logs them), and the rule that a source
//! object describing `--repo` is run as `--repo` says ([`OwnRepository`]).

use std::sync::Arc;

use ferroflux_api::meta::{LocalObjectReference, ObjectMeta};
use ferroflux_api::source::{GitRepositoryRef, GitRepositorySpec};
use ferroflux_controllers::kind::SecretData;
use ferroflux_controllers::status::Event;
use k8s_openapi::api::core::v1::ObjectReference;
use serde_json::Value;

use super::{Arrival, BoxFuture, Home, HomeError};
use crate::source::ObjectKey;
use crate::state::StatusStore;

/// The name a rewritten source object gives `--repo`'s credentials.
pub const CREDENTIALS_SECRET: &str = "ferroflux-repo-credentials";

/// The repository `ferroflux automate` runs from (`--repo`, its branch and
/// credentials), and how a source object that describes it is rewritten.
#[derive(Clone)]
pub struct OwnRepository {
    /// `--repo` as libgit2 reads it (a path becomes `file://`).
    url: String,
    /// `--repo` as written on the command line.
    written: String,
    branch: String,
    credentials: Arc<SecretData>,
}

impl std::fmt::Debug for OwnRepository {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnRepository")
            .field("url", &ferroflux_git::url::redact(&self.url))
            .field("branch", &self.branch)
            .field("credentials", &!self.credentials.is_empty())
            .finish_non_exhaustive()
    }
}

impl OwnRepository {
    pub fn new(repo: &str, branch: &str, credentials: SecretData) -> OwnRepository {
        OwnRepository {
            url: crate::automate::repo_url(repo),
            written: repo.to_string(),
            branch: branch.to_string(),
            credentials: Arc::new(credentials),
        }
    }

    /// `--repo` as libgit2 reads it.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn branch(&self) -> &str {
        &self.branch
    }

    /// `--repo`'s credentials in Flux's Git Secret keys; empty for none.
    pub fn credentials(&self) -> &SecretData {
        &self.credentials
    }

    /// Whether a source object whose URL is `url` describes this
    /// repository: the same URL (a trailing `/` or `.git` aside), as read or
    /// as written, or the URL of `flux-system/flux-system` (another object
    /// for the same remote, as seed 004's write-enabled `flux-system-write`).
    pub fn describes(&self, url: &str, flux_system: Option<&str>) -> bool {
        let same = |a: &str, b: &str| {
            a.trim_end_matches('/').trim_end_matches(".git")
                == b.trim_end_matches('/').trim_end_matches(".git")
        };
        same(url, &self.url)
            || same(url, &self.written)
            || flux_system.is_some_and(|u| same(u, url))
    }

    /// Point `spec` at this repository: its URL, its branch when `spec`
    /// names no ref, and its credentials (when `--repo` has some; otherwise
    /// `named`, the data of the Secret `spec` names, if any). Returns the
    /// Secret data the source is read with.
    pub fn rewrite(
        &self,
        spec: &mut GitRepositorySpec,
        named: Option<SecretData>,
    ) -> Option<SecretData> {
        spec.url = self.url.clone();
        if spec.reference.is_none() {
            spec.reference = Some(GitRepositoryRef {
                branch: Some(self.branch.clone()),
                ..Default::default()
            });
        }
        let (secret_ref, data) = if !self.credentials.is_empty() {
            (
                Some(CREDENTIALS_SECRET.to_string()),
                Some(SecretData::clone(&self.credentials)),
            )
        } else if let Some(d) = named {
            (spec.secret_ref.as_ref().map(|r| r.name.clone()), Some(d))
        } else {
            (None, None)
        };
        spec.secret_ref = secret_ref.map(|name| LocalObjectReference { name });
        data
    }
}

/// The local home: see the module docs.
#[derive(Debug, Clone)]
pub struct LocalHome {
    state: StatusStore,
    own: OwnRepository,
}

impl LocalHome {
    pub fn new(state: StatusStore, own: OwnRepository) -> LocalHome {
        LocalHome { state, own }
    }
}

impl Home for LocalHome {
    fn write_status<'a>(
        &'a self,
        key: &'a ObjectKey,
        _old: Option<&'a Value>,
        new: &'a Value,
    ) -> BoxFuture<'a, Result<(), HomeError>> {
        let st = self.state.clone();
        let key = key.clone();
        let new = new.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || st.put_status(&key, &new))
                .await
                .map_err(|e| HomeError::Task(e.to_string()))??;
            Ok(())
        })
    }

    fn record(&self, _object: &ObjectReference, _event: &Event) -> bool {
        // The runtime has logged it; nothing keeps events locally.
        false
    }

    fn arrival(&self) -> Arrival {
        Arrival::Checkout
    }

    fn own_repository(&self) -> Option<&OwnRepository> {
        Some(&self.own)
    }

    fn serves_gitops(&self) -> bool {
        false
    }

    fn finalizes(&self) -> bool {
        false
    }

    fn set_finalizer<'a>(
        &'a self,
        _key: &'a ObjectKey,
        _present: bool,
        _seen: Option<&'a ObjectMeta>,
    ) -> BoxFuture<'a, Result<(), HomeError>> {
        // Nothing here waits for a finalizer: an object leaves the
        // checkout at once.
        Box::pin(async { Ok(()) })
    }

    fn gone<'a>(&'a self, _key: &'a ObjectKey) -> BoxFuture<'a, Result<bool, HomeError>> {
        // The runtime asks once the re-read checkout no longer has it: the
        // checkout is the whole home.
        Box::pin(async { Ok(true) })
    }
}
