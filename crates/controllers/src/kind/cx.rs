//! What a kind's reconcile may reach, lent by the runtime ([`Cx`]), and
//! what it hands back ([`Reconciled`]).
//!
//! A reconcile has two parts. [`Kind::reconcile`](super::Kind::reconcile)
//! runs while the runtime holds the objects: it resolves what the object
//! reads (other objects through [`Cx::objects`], Secrets, the services
//! below) into owned inputs. It returns a [`Job`], an owned `'static`
//! future that does the waiting (a scan, a clone, an apply) while other
//! objects go on, up to `--concurrent` at once. The runtime writes the
//! status the job returns to its home, then runs the frame every
//! reconcile ends with.

use std::any::Any;
use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use ferroflux_api::image::ImageRepository;
use ferroflux_api::source::GitRepository;
use ferroflux_artifact::Storage;
use ferroflux_registry::Client;
use ferroflux_store::Store;
use serde_json::Value;

use super::{Lookup, ObjectKey, SecretData, SecretSource};
use crate::clock::Clock;
use crate::kustomize::reconcile::KustomizationOptions;
use crate::source::git::GitRepositoryOptions;
use crate::status::{Event, Outcome, StepError};
use crate::target::TargetFactory;

/// What a terminal shows while a long step runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgressEvent {
    /// A page of a registry scan arrived; `more` while pages follow.
    Scan {
        image: String,
        pages: usize,
        tags: usize,
        more: bool,
    },
    /// A clone or fetch received objects (URL without credentials).
    Fetch {
        url: String,
        received: usize,
        total: usize,
    },
}

/// Receives [`ProgressEvent`]s (`ferroflux automate` on a terminal).
pub type ProgressSink = Arc<dyn Fn(ProgressEvent) + Send + Sync>;

/// A git transfer's progress as [`ProgressEvent::Fetch`] of `url`
/// (shown without its credentials).
pub fn fetch_progress(sink: &ProgressSink, url: &str) -> ferroflux_git::FetchProgress {
    let sink = Arc::clone(sink);
    let url = ferroflux_git::url::redact(url);
    Arc::new(move |received, total| {
        sink(ProgressEvent::Fetch {
            url: url.clone(),
            received,
            total,
        });
    })
}

/// The stores and settings a reconcile works with, owned by the runtime.
pub struct Stores<'a> {
    /// The tag database (scans write, policies read).
    pub tags: &'a Arc<Store>,
    /// Where GitRepository artifacts are stored and served from.
    pub artifacts: &'a Storage,
    /// source-controller's settings.
    pub sources: &'a GitRepositoryOptions,
    /// kustomize-controller's settings.
    pub kustomize: &'a KustomizationOptions,
    /// Where the automations' working clones live (one per remote URL).
    pub clones: &'a Path,
    /// Shallow clone depth of the automations' clones; None: full.
    pub depth: Option<u32>,
}

/// Held while a job uses a resource that must not be used twice at once
/// (an automation's cached clone); released when dropped, possibly by a
/// blocking thread that outlived its job's timeout.
pub type Guard = Box<dyn Send>;

/// The `data` of ConfigMaps by name: `None` when one does not exist, or
/// why it could not be read.
pub type ConfigMaps = BTreeMap<String, Result<Option<BTreeMap<String, String>>, String>>;

/// A read of ConfigMaps that a job awaits (owned, `'static`).
pub type ConfigMapsRead = Pin<Box<dyn Future<Output = ConfigMaps> + Send + 'static>>;

/// Called by an automation on the thread that pushed, while it still holds
/// its clone: the home may read what it needs from the pushed tree (the
/// local home re-reads its manifests there instead of fetching again).
pub trait AfterPush: Send {
    /// What was read at `commit` of `branch` in `workdir` (None: nothing
    /// for this branch); handed back in [`Reconciled::read`].
    fn read(
        self: Box<Self>,
        branch: &str,
        commit: &str,
        workdir: &Path,
    ) -> Option<Box<dyn Any + Send>>;
}

/// What a reconcile may reach while the runtime holds the objects.
pub trait Cx {
    fn clock(&self) -> Arc<dyn Clock>;

    /// The objects of every kind (a `sourceRef`, a namespace's policies).
    fn objects(&self) -> &dyn Lookup;

    /// The home's Secrets.
    fn secrets(&self) -> &dyn SecretSource;

    /// The apiVersion `key` was written in, before conversion (`.Updated`
    /// template data); None when unknown.
    fn written_version(&self, key: &ObjectKey) -> Option<String>;

    /// The clusters appliers write to (a Stalled `NoTarget` without one).
    fn targets(&self) -> Arc<dyn TargetFactory>;

    fn stores(&self) -> Stores<'_>;

    /// Where scan pages and clone progress go (a terminal), if anywhere.
    fn progress(&self) -> Option<ProgressSink>;

    /// The registry client of an ImageRepository: the shared one, or one
    /// that also trusts its `certSecretRef` CA and presents its client
    /// certificate (cached per TLS material).
    fn registry_client(&self, key: &ObjectKey, obj: &ImageRepository) -> Result<Client, StepError>;

    /// The GitRepository `key` as this home runs it, with its Secret: what
    /// it says, unless the home runs from a repository it describes
    /// (`automate`'s `--repo` URL, branch and credentials).
    fn git_repository(&self, key: &ObjectKey) -> (Option<GitRepository>, Option<SecretData>);

    /// Take `resource` for a job (None: a thread of an earlier job still
    /// holds it).
    fn guard(&self, resource: &str) -> Option<Guard>;

    /// What the home reads after a push to `url` (None: nothing).
    fn after_push(&self, url: &str) -> Option<Box<dyn AfterPush>>;

    /// A read of these ConfigMaps of `namespace` from the cluster that holds
    /// them (None: no cluster here, so none exists).
    fn config_maps(&self, namespace: &str, names: Vec<String>) -> Option<ConfigMapsRead>;
}

/// How a run was asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Run {
    /// Run although the interval has not elapsed (`automate --once` scans
    /// every ImageRepository: an explicit request).
    pub force: bool,
}

/// What a reconcile tells about itself.
#[derive(Debug, Clone, PartialEq)]
pub enum Said {
    /// Nothing of its own: the Ready condition is logged and the event is
    /// Flux's `notify` of the conditions before and after.
    Ready,
    /// Its own event (or none), logged and recorded as it is.
    Event(Option<Event>),
}

/// A finished reconcile, as a job hands it back.
pub struct Reconciled {
    /// The new status, encoded.
    pub status: Value,
    pub said: Said,
    pub outcome: Outcome,
    /// The commit an automation pushed.
    pub pushed: Option<String>,
    /// What [`AfterPush::read`] read.
    pub read: Option<Box<dyn Any + Send>>,
}

impl Reconciled {
    /// Encode `status`; a status that does not encode fails the reconcile.
    pub fn new<T: serde::Serialize>(
        key: &ObjectKey,
        status: &T,
        said: Said,
        outcome: Outcome,
    ) -> Result<Reconciled, String> {
        let status = serde_json::to_value(status)
            .map_err(|e| format!("status of {key} does not encode: {e}"))?;
        Ok(Reconciled {
            status,
            said,
            outcome,
            pushed: None,
            read: None,
        })
    }
}

/// The waiting part of one reconcile, owning everything it needs; an
/// error is a failed task (a panic), never a failed reconcile.
pub type Job = Pin<Box<dyn Future<Output = Result<Reconciled, String>> + Send + 'static>>;

/// The cleanup of a deleted object (its artifacts removed, what it applied
/// pruned), owning what it needs: each call is one attempt, so that the
/// runtime can retry it; `Err` says why it failed.
pub type Cleanup = std::sync::Arc<
    dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'static>> + Send + Sync,
>;
