//! The `ferroflux automate` loop: a checkout of `--repo` is the object
//! source, redb the status store, and the reconcilers of
//! `ferroflux-controllers` do the work.
//!
//! One pass ([`Runner::run_once`]) reconciles Receivers, then every
//! ImageRepository, ImagePolicy and ImageUpdateAutomation, each after what
//! it reads (a policy after its repository, an automation after the
//! policies of its namespace) and up to `--concurrent` at once, so that a
//! registry or Git server that never answers holds up only the objects
//! that wait for it; the summary keeps the order of the kinds and keys.
//! `--watch` ([`Runner::watch`]) keeps each object on its own schedule:
//! a scan whose revision changed runs the policies of that repository at
//! once, a policy whose `latestRef` changed runs every automation of its
//! namespace at once (Flux's rule), a Receiver call runs its repositories,
//! and the checkout is fetched on the GitRepository's interval and after
//! every push, re-reading the objects when their manifests changed; a push
//! to `--repo`'s own branch is read from the automation's clone instead,
//! so a webhook cycle fetches once and pushes once.
//!
//! The same runner is `ferroflux controller` when given a
//! [`Cluster`](crate::cluster::Cluster) ([`Runner::in_cluster`]): objects
//! then come from Kubernetes watches ([`controller`]), status goes to the
//! status subresource and events become Kubernetes Events; the reconcile
//! steps and the triggers between kinds stay the same.

mod controller;
mod digests;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferroflux_api::image::{ImagePolicy, ImageRepository, ImageUpdateAutomation, ReflectionPolicy};
use ferroflux_api::meta::{LocalObjectReference, RECONCILE_REQUEST_ANNOTATION, reason};
use ferroflux_api::source::{GitRepository, GitRepositoryRef, GitRepositorySpec};
use ferroflux_controllers::image::{automation, policy, repository};
use ferroflux_controllers::kind::FirstRun;
use ferroflux_controllers::notification::receiver;
use ferroflux_controllers::status::{self, Outcome, StepError};
use ferroflux_controllers::{Clock, SystemClock};
use ferroflux_registry::{Auth, Client, DockerConfig};

use crate::cluster::Cluster;
use crate::engine::finish::{self, Finished, Said};
use crate::metrics::Metrics;
use crate::scheduler::{
    DEFAULT_CONCURRENT, Jobs, Scheduler, SchedulerHandle, SchedulerOptions, Trigger,
};
use crate::secrets::Secrets;
use crate::source::{LocalSource, ObjectKey, Objects};
use crate::state::StatusStore;
use crate::triggers;
use crate::webhook::{Endpoint, ReceiverTable};

pub const IMAGE_REPOSITORY: &str = "ImageRepository";
pub const IMAGE_POLICY: &str = "ImagePolicy";
pub const IMAGE_UPDATE_AUTOMATION: &str = "ImageUpdateAutomation";
pub const RECEIVER: &str = "Receiver";
pub const GIT_REPOSITORY: &str = "GitRepository";

/// Secret data, decoded.
pub type SecretData = BTreeMap<String, Vec<u8>>;

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

fn fetch_progress(sink: &ProgressSink, url: &str) -> ferroflux_git::FetchProgress {
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

#[derive(Debug, thiserror::Error)]
pub enum AutomateError {
    #[error("repository {repo}: {detail}")]
    Checkout { repo: String, detail: String },
    #[error(transparent)]
    Source(#[from] crate::source::SourceError),
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    #[error("registry client: {0}")]
    Registry(String),
    #[error("clone cache {dir}: {source}")]
    Cache {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("task failed: {0}")]
    Join(String),
    #[error(transparent)]
    Cluster(#[from] crate::cluster::ClusterError),
    #[error("the Kubernetes watches stopped")]
    WatchClosed,
}

/// Everything `ferroflux automate` is told on its command line.
#[derive(Debug, Clone)]
pub struct AutomateOptions {
    /// `--repo`: a Git URL, or a local path (a bare or working repository).
    pub repo: String,
    pub branch: String,
    /// `--path` inside the repository (`.` for the root).
    pub path: PathBuf,
    /// Where the working clones live (the manifests' and the automations');
    /// `None`: `cache/` beside the state database. Created readable by its
    /// owner only either way: the clones hold private repositories.
    pub cache_dir: Option<PathBuf>,
    pub secrets: Secrets,
    /// Credentials for `--repo` in Flux's Git Secret keys (`identity`,
    /// `known_hosts`, `username`, `password`); empty for none.
    pub repo_credentials: SecretData,
    pub registry: ferroflux_registry::Options,
    pub scheduler: SchedulerOptions,
    /// Shallow clone depth; None for full clones.
    pub depth: Option<u32>,
    /// First retry delay after a transient failure (doubles up to 5 min).
    pub backoff: Duration,
    /// `--respect-intervals`: [`Runner::run_once`] scans only the
    /// repositories whose `spec.interval` elapsed since their stored scan
    /// (cron jobs). Off, a one-shot run scans every ImageRepository: it is
    /// an explicit request. `--watch` always keeps the intervals.
    pub respect_intervals: bool,
    /// `--concurrent`: reconciles waiting on a server at once (Flux's
    /// flag, default 4); other objects go on while one waits.
    pub concurrent: usize,
}

impl Default for AutomateOptions {
    fn default() -> Self {
        AutomateOptions {
            repo: String::new(),
            branch: "main".to_string(),
            path: PathBuf::from("."),
            cache_dir: None,
            secrets: Secrets::default(),
            repo_credentials: SecretData::new(),
            registry: ferroflux_registry::Options::default(),
            scheduler: SchedulerOptions::default(),
            depth: Some(1),
            backoff: Duration::from_secs(1),
            respect_intervals: false,
            concurrent: DEFAULT_CONCURRENT,
        }
    }
}

/// `--repo` as a URL libgit2 understands: a path becomes `file://`.
pub fn repo_url(repo: &str) -> String {
    if repo.contains("://") {
        return repo.to_string();
    }
    if let Some(rest) = repo.strip_prefix("git@")
        && let Some((host, path)) = rest.split_once(':')
    {
        return format!("ssh://git@{host}/{path}");
    }
    let path = std::path::Path::new(repo);
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    format!("file://{}", abs.display())
}

/// One line of the `--once` summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub key: ObjectKey,
    pub ready: bool,
    /// Repositories: `N tags`; policies: `latest (previous)`; automations:
    /// the pushed commit or `no changes`; otherwise the Ready message.
    pub detail: String,
    pub message: String,
}

/// What a pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub lines: Vec<Line>,
    /// Manifest problems (documents that did not decode, duplicates).
    pub findings: Vec<String>,
}

impl Summary {
    /// Every object ready and every manifest readable.
    pub fn all_ready(&self) -> bool {
        self.findings.is_empty() && self.lines.iter().all(|l| l.ready)
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for finding in &self.findings {
            writeln!(f, "{finding}")?;
        }
        let mut kind = "";
        for l in &self.lines {
            if l.key.kind != kind {
                kind = &l.key.kind;
                writeln!(f, "{}:", section(kind))?;
            }
            let mark = if l.ready { "ok  " } else { "FAIL" };
            write!(f, "  {mark} {}: {}", l.key.namespaced_name(), l.detail)?;
            if !l.ready && !l.message.is_empty() && l.message != l.detail {
                write!(f, " ({})", l.message)?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// The summary heading of a kind's objects.
fn section(kind: &str) -> &str {
    crate::registry::flux()
        .get(kind)
        .map_or(kind, |k| k.info().section)
}

/// The manifests' working clone of `--repo`.
struct Checkout {
    ws: Arc<Mutex<ferroflux_git::Workspace>>,
    root: PathBuf,
    revision: Option<String>,
}

/// The runtime of `ferroflux automate`.
pub struct Runner {
    opts: AutomateOptions,
    /// The clones' directory (0700): `opts.cache_dir` or beside the state.
    cache_dir: PathBuf,
    url: String,
    state: StatusStore,
    client: Client,
    clock: Arc<dyn Clock>,
    checkout: Option<Checkout>,
    pub(crate) objects: Objects,
    findings: Vec<String>,
    receivers: ReceiverTable,
    /// `Automation key → the last commit pushed in this process`.
    pub(crate) pushed: BTreeMap<ObjectKey, String>,
    failures: BTreeMap<ObjectKey, u32>,
    /// Set for `ferroflux controller`: objects, status and events live there.
    pub(crate) cluster: Option<Cluster>,
    /// Registry clients of ImageRepositories with a `certSecretRef`, one
    /// per fingerprint of the Secret's TLS material, so that repositories
    /// trusting the same CA share connections (and the system roots are
    /// loaded once, not once per repository).
    tls_clients: TlsClients,
    pub(crate) metrics: Arc<Metrics>,
    progress: Option<ProgressSink>,
    /// Automations whose blocking git work is still running (possibly
    /// after its reconcile gave up waiting).
    in_flight: Arc<Mutex<BTreeSet<ObjectKey>>>,
}

/// Creates `dir` (and missing parents) readable by its owner only, and
/// makes an existing one so.
fn private_dir(dir: &std::path::Path) -> Result<(), AutomateError> {
    use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
    let fail = |source| AutomateError::Cache {
        dir: dir.to_path_buf(),
        source,
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(fail)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(fail)
}

/// Where one object's status is written: the cluster (a merge patch from
/// the status the object had when its job started) or the state database.
/// A job writes its own result, so that up to `--concurrent` writes are
/// under way at once rather than one at a time in the runner's loop; one
/// object never has two jobs, so its writes stay in order.
struct StatusSink {
    key: ObjectKey,
    cluster: Option<Cluster>,
    state: StatusStore,
    old: Option<serde_json::Value>,
}

impl StatusSink {
    async fn write<T: serde::Serialize + Send + 'static>(
        self,
        status: T,
    ) -> Result<(), AutomateError> {
        let key = self.key;
        if let Some(cluster) = &self.cluster {
            let new = serde_json::to_value(&status).map_err(|e| {
                AutomateError::Join(format!("status of {key} does not encode: {e}"))
            })?;
            cluster.write_status(&key, self.old.as_ref(), &new).await?;
            return Ok(());
        }
        let st = self.state;
        tokio::task::spawn_blocking(move || st.put_status(&key, &status))
            .await
            .map_err(|e| AutomateError::Join(e.to_string()))??;
        Ok(())
    }
}

/// The waiting part of one reconcile, owning everything it needs.
type Work = std::pin::Pin<Box<dyn std::future::Future<Output = Done> + Send + 'static>>;

/// What the waiting part of a reconcile hands back to the runner.
struct Done {
    /// The reconcile, its status written by the job.
    finished: Result<Box<Finished>, AutomateError>,
    /// After a push to `--repo`'s branch, its manifests at that commit.
    manifests: Option<Box<Manifests>>,
}

/// The manifests of `--repo` at a commit an automation pushed.
struct Manifests {
    revision: String,
    loaded: Result<LocalSource, crate::source::SourceError>,
}

/// A job taken back: when to run again and what must follow.
struct Completed {
    key: ObjectKey,
    outcome: Outcome,
    /// A repository's scan revision or a policy's `latestRef` changed.
    changed: bool,
    /// An automation pushed.
    pushed: bool,
    /// The manifests at the pushed commit, when it went to `--repo`'s branch.
    manifests: Option<Box<Manifests>>,
}

/// The resource an automation's clone of `url` is (one cached clone per URL).
fn clone_resource(url: &str) -> String {
    format!("git {}", ferroflux_git::url::redact(url))
}

/// `spec.timeout` of a GitRepository; without one, the API's default.
fn git_timeout(repo: Option<&GitRepository>) -> Duration {
    repo.map_or_else(
        || GitRepositorySpec::default().effective_timeout(),
        |g| g.spec.effective_timeout(),
    )
    .to_std()
}

/// Marks an automation's git work as running until dropped.
struct InFlight {
    set: Arc<Mutex<BTreeSet<ObjectKey>>>,
    key: ObjectKey,
}

impl InFlight {
    fn enter(set: &Arc<Mutex<BTreeSet<ObjectKey>>>, key: &ObjectKey) -> Option<InFlight> {
        let mut s = set
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        s.insert(key.clone()).then(|| InFlight {
            set: Arc::clone(set),
            key: key.clone(),
        })
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.set
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.key);
    }
}

impl Runner {
    pub fn new(opts: AutomateOptions, state: StatusStore) -> Result<Runner, AutomateError> {
        let client = Client::new(opts.registry.clone())
            .map_err(|e| AutomateError::Registry(e.to_string()))?;
        let cache_dir = opts.cache_dir.clone().unwrap_or_else(|| {
            state
                .path()
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or_else(|| std::path::Path::new("."))
                .join("cache")
        });
        private_dir(&cache_dir)?;
        Ok(Runner {
            cache_dir,
            url: repo_url(&opts.repo),
            opts,
            state,
            client,
            clock: Arc::new(SystemClock),
            checkout: None,
            objects: Objects::default(),
            findings: Vec::new(),
            receivers: ReceiverTable::default(),
            pushed: BTreeMap::new(),
            failures: BTreeMap::new(),
            cluster: None,
            tls_clients: TlsClients::default(),
            metrics: Arc::new(Metrics::new()),
            progress: None,
            in_flight: Arc::default(),
        })
    }

    /// Run against Kubernetes (`ferroflux controller`): see [`Runner::control`].
    pub fn in_cluster(mut self, cluster: Cluster) -> Runner {
        self.cluster = Some(cluster);
        self
    }

    /// Report scan pages and clone progress here.
    pub fn with_progress(mut self, sink: ProgressSink) -> Runner {
        self.progress = Some(sink);
        self
    }

    /// Record reconcile metrics here (shared with the `/metrics` server).
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Runner {
        self.metrics = metrics;
        self
    }

    /// Use another clock (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Runner {
        self.clock = clock;
        self
    }

    pub fn objects(&self) -> &Objects {
        &self.objects
    }

    /// The webhook table the server reads (filled by Receiver reconciles).
    pub fn receivers(&self) -> ReceiverTable {
        self.receivers.clone()
    }

    pub fn clock(&self) -> Arc<dyn Clock> {
        Arc::clone(&self.clock)
    }

    /// Fetch `--repo` and (re)load the objects; true when they changed.
    pub async fn refresh(&mut self) -> Result<bool, AutomateError> {
        if self.cluster.is_some() {
            // Objects come from the watches.
            return Ok(false);
        }
        let url = self.url.clone();
        let fail = |detail: String| AutomateError::Checkout {
            repo: ferroflux_git::url::redact(&url),
            detail,
        };
        let git_timeout = self.manifests_timeout();
        let timed_out = || {
            fail(format!(
                "timeout after {git_timeout:?} waiting for the remote"
            ))
        };
        let guard_key = ObjectKey::new(GIT_REPOSITORY, "", "--repo");
        let Some(guard) = InFlight::enter(&self.in_flight, &guard_key) else {
            return Err(fail(
                "a fetch from an earlier run has not finished".to_string(),
            ));
        };
        let (ws, root, revision) = match self.checkout.take() {
            Some(c) => {
                let ws = Arc::clone(&c.ws);
                let task = tokio::task::spawn_blocking(move || {
                    let _guard = guard;
                    let mut ws = ws.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    ws.sync().map(|()| ws.head_commit())
                });
                let revision = match tokio::time::timeout(git_timeout, task).await {
                    Ok(r) => r.map_err(|e| AutomateError::Join(e.to_string()))?,
                    Err(_) => {
                        self.checkout = Some(c);
                        return Err(timed_out());
                    }
                };
                match revision {
                    Ok(r) => (c.ws, c.root, r),
                    Err(e) => {
                        let detail = e.to_string();
                        self.checkout = Some(c);
                        return Err(fail(detail));
                    }
                }
            }
            None => {
                let auth = if self.opts.repo_credentials.is_empty() {
                    ferroflux_git::Auth::none()
                } else {
                    ferroflux_git::Auth::from_secret(&self.opts.repo_credentials)
                        .map_err(|e| fail(e.to_string()))?
                };
                let cache = self.cache_dir.join("manifests");
                let checkout = ferroflux_git::CheckoutRef::branch(&self.opts.branch);
                let git_opts = ferroflux_git::Options {
                    depth: self.opts.depth,
                    timeout: Some(git_timeout),
                    progress: self.progress.as_ref().map(|s| fetch_progress(s, &url)),
                    ..ferroflux_git::Options::default()
                };
                let u = url.clone();
                let task = tokio::task::spawn_blocking(move || {
                    let _guard = guard;
                    ferroflux_git::Workspace::open_or_clone(&cache, &u, &auth, &checkout, git_opts)
                });
                let ws = tokio::time::timeout(git_timeout, task)
                    .await
                    .map_err(|_| timed_out())?
                    .map_err(|e| AutomateError::Join(e.to_string()))?
                    .map_err(|e| fail(e.to_string()))?;
                let root = ws.workdir().to_path_buf();
                let rev = ws.head_commit();
                (Arc::new(Mutex::new(ws)), root, rev)
            }
        };
        let unchanged_rev = self
            .checkout
            .as_ref()
            .is_some_and(|c| c.revision == revision);
        self.checkout = Some(Checkout {
            ws,
            root: root.clone(),
            revision,
        });
        if unchanged_rev && !self.objects.is_empty() {
            return Ok(false);
        }
        let path = self.opts.path.clone();
        let loaded = tokio::task::spawn_blocking(move || LocalSource::load(&root, &path))
            .await
            .map_err(|e| AutomateError::Join(e.to_string()))??;
        self.take_loaded(loaded).await
    }

    /// After a push to `--repo`'s branch, the manifests at the pushed
    /// commit, read from the automation's clone, stand for a fetch of
    /// `--repo`: one fetch per cycle. The next fetch finds that commit and
    /// reads nothing again.
    async fn adopt(&mut self, pushed: Manifests) -> Result<bool, AutomateError> {
        let Some(checkout) = self.checkout.as_mut() else {
            return self.refresh().await;
        };
        let loaded = pushed.loaded?;
        checkout.revision = Some(pushed.revision);
        self.take_loaded(loaded).await
    }

    /// Take freshly read manifests as the objects; true when they changed.
    async fn take_loaded(&mut self, loaded: LocalSource) -> Result<bool, AutomateError> {
        self.findings = loaded.errors().map(ToString::to_string).collect();
        for f in &self.findings {
            tracing::error!("{f}");
        }
        let mut next = loaded.objects;
        if next.same_specs(&self.objects) {
            return Ok(false);
        }
        self.attach_status(&mut next).await?;
        let gone: Vec<ObjectKey> = self
            .objects
            .keys()
            .into_iter()
            .filter(|k| !next.origins.contains_key(k))
            .collect();
        for k in gone {
            let st = self.state.clone();
            tokio::task::spawn_blocking(move || st.remove(&k))
                .await
                .map_err(|e| AutomateError::Join(e.to_string()))??;
        }
        tracing::info!(objects = next.len(), "objects loaded");
        self.objects = next;
        Ok(true)
    }

    /// Give loaded objects their stored status, and store their specs.
    async fn attach_status(&self, objects: &mut Objects) -> Result<(), AutomateError> {
        let st = self.state.clone();
        let mut o = std::mem::take(objects);
        let o = tokio::task::spawn_blocking(move || -> Result<Objects, AutomateError> {
            for (k, v) in o.image_repositories.iter_mut() {
                v.status = st.get_status(k)?;
                st.put_spec(k, &v.spec)?;
            }
            for (k, v) in o.image_policies.iter_mut() {
                v.status = st.get_status(k)?;
                st.put_spec(k, &v.spec)?;
            }
            for (k, v) in o.automations.iter_mut() {
                v.status = st.get_status(k)?;
                st.put_spec(k, &v.spec)?;
            }
            for (k, v) in o.receivers.iter_mut() {
                v.status = st.get_status(k)?;
                st.put_spec(k, &v.spec)?;
            }
            Ok(o)
        })
        .await
        .map_err(|e| AutomateError::Join(e.to_string()))??;
        *objects = o;
        Ok(())
    }

    async fn save<T: serde::Serialize + Send + 'static>(
        &self,
        key: &ObjectKey,
        status: T,
    ) -> Result<(), AutomateError> {
        self.status_sink(key).write(status).await
    }

    /// Where `key`'s next status goes, for a job to write it itself.
    fn status_sink(&self, key: &ObjectKey) -> StatusSink {
        StatusSink {
            key: key.clone(),
            cluster: self.cluster.clone(),
            state: self.state.clone(),
            old: self
                .cluster
                .as_ref()
                .and_then(|_| self.objects.status_json(key)),
        }
    }

    /// One full pass: receivers, repositories, policies, automations.
    /// Every ImageRepository is scanned unless `respect_intervals` is set.
    pub async fn run_once(&mut self) -> Result<Summary, AutomateError> {
        let force = !self.opts.respect_intervals;
        self.run_pass(force).await
    }

    async fn run_pass(&mut self, force_scans: bool) -> Result<Summary, AutomateError> {
        self.refresh().await?;
        self.pass(force_scans).await?;
        Ok(self.summary())
    }

    /// Every object once, each after what it reads in this pass (a policy
    /// after its repository, an automation after the policies of its
    /// namespace), up to `concurrent` at once: a server that never answers
    /// holds up only the objects that wait for it. `force_scans` scans each
    /// ImageRepository even when its interval has not elapsed.
    async fn pass(&mut self, force_scans: bool) -> Result<(), AutomateError> {
        for key in self.objects.receivers.keys().cloned().collect::<Vec<_>>() {
            self.reconcile_receiver(&key).await?;
        }
        self.publish_receivers();
        // Ready work is taken from the front: automations, then policies,
        // then scans. An automation starts as soon as its namespace's
        // policies are done, and its git work overlaps the other scans.
        let mut todo: Vec<(ObjectKey, Vec<ObjectKey>)> = Vec::new();
        for key in self.objects.automations.keys() {
            let after = self
                .objects
                .image_policies
                .keys()
                .filter(|p| p.namespace == key.namespace)
                .cloned()
                .collect();
            todo.push((key.clone(), after));
        }
        for (key, p) in &self.objects.image_policies {
            let repo = Self::policy_repository(key, p);
            let after = self
                .objects
                .image_repositories
                .contains_key(&repo)
                .then_some(repo);
            todo.push((key.clone(), after.into_iter().collect()));
        }
        for key in self.objects.image_repositories.keys() {
            todo.push((key.clone(), Vec::new()));
        }
        let mut jobs: Jobs<Done> = Jobs::new(self.opts.concurrent);
        let mut finished: BTreeSet<ObjectKey> = BTreeSet::new();
        loop {
            let mut i = 0;
            while i < todo.len() && jobs.has_room() {
                let (key, after) = &todo[i];
                let resources = self.resources(key);
                if !after.iter().all(|k| finished.contains(k)) || !jobs.can_start(key, &resources) {
                    i += 1;
                    continue;
                }
                let (key, _) = todo.remove(i);
                match self.start(&key, None, force_scans) {
                    Some(work) => jobs.spawn(key, resources, work),
                    None => {
                        finished.insert(key);
                        // What waited for it may start now.
                        i = 0;
                    }
                }
            }
            let Some((key, done)) = jobs.join_next().await else {
                break;
            };
            let c = self.complete(key, done).await?;
            finished.insert(c.key);
        }
        Ok(())
    }

    /// The state of every object now.
    pub fn summary(&self) -> Summary {
        let mut lines = Vec::new();
        for kind in crate::registry::flux().kinds().filter(|k| k.reconciled()) {
            for k in kind.keys(&self.objects) {
                let pushed = self.pushed.get(&k).map(String::as_str);
                if let Some(r) = kind.report(&self.objects, &k, pushed) {
                    lines.push(line(&k, r.ok, r.detail, r.message));
                }
            }
        }
        Summary {
            lines,
            findings: self.findings.clone(),
        }
    }

    fn secret(&self, namespace: &str, name: &str) -> Result<&SecretData, String> {
        self.opts
            .secrets
            .get(namespace, name)
            .map_err(|e| e.to_string())
    }

    async fn reconcile_receiver(&mut self, key: &ObjectKey) -> Result<(), AutomateError> {
        let Some(obj) = self.objects.receivers.get(key) else {
            return Ok(());
        };
        let started = std::time::Instant::now();
        let token = match &obj.spec.secret_ref {
            None => Err(StepError::stalled(
                reason::TOKEN_NOT_FOUND,
                format!(
                    "receiver {}: spec.secretRef is required",
                    key.namespaced_name()
                ),
            )),
            Some(r) => match self.secret(&key.namespace, &r.name) {
                Ok(data) => receiver::token_from_secret(&r.name, data),
                Err(e) => Err(StepError::stalled(
                    reason::TOKEN_NOT_FOUND,
                    format!(
                        "unable to read token from secret '{}/{}': {e}",
                        key.namespace, r.name
                    ),
                )),
            },
        };
        let status = receiver::reconcile(obj, token, self.clock.as_ref());
        let suspended = obj.spec.suspend == Some(true);
        let saved = self.save(key, status.clone()).await.map_err(Box::new);
        let f = Finished::new(
            key,
            started,
            suspended,
            &status,
            Said::Ready,
            Outcome::Wait,
            None,
            saved,
        )?;
        self.finish(f).await?;
        Ok(())
    }

    /// Hand the webhook server the current paths and trigger candidates.
    fn publish_receivers(&self) {
        let mut endpoints = BTreeMap::new();
        for (k, o) in &self.objects.receivers {
            let Some(path) = o.status.as_ref().and_then(|s| s.webhook_path.clone()) else {
                continue;
            };
            let token = o
                .spec
                .secret_ref
                .as_ref()
                .and_then(|r| self.secret(&k.namespace, &r.name).ok())
                .and_then(|d| receiver::token_from_secret("", d).ok())
                .unwrap_or_default();
            endpoints.insert(
                path,
                Endpoint {
                    key: k.clone(),
                    spec: o.spec.clone(),
                    token,
                    serving: receiver::is_serving(o),
                },
            );
        }
        // What a Receiver may name (matched by kind, so order is free).
        let candidates = self
            .objects
            .keys()
            .into_iter()
            .filter(|k| k.kind != RECEIVER)
            .filter_map(|k| {
                let labels = self.objects.meta(&k)?.labels.clone().unwrap_or_default();
                Some(receiver::Candidate {
                    labels,
                    kind: k.kind,
                    namespace: k.namespace,
                    name: k.name,
                })
            })
            .collect();
        self.receivers.set(endpoints, candidates);
    }

    /// Registry credentials: the `secretRef` Secret, else the docker config.
    fn registry_auth(&self, key: &ObjectKey, obj: &ImageRepository) -> Result<Auth, StepError> {
        let image = repository::parse_image(obj)?;
        match &obj.spec.secret_ref {
            Some(r) => {
                let data = self.secret(&key.namespace, &r.name).map_err(|e| {
                    StepError::retry(
                        reason::AUTHENTICATION_FAILED,
                        format!("failed to configure authentication options: {e}"),
                    )
                })?;
                repository::auth_from_secret(data, &format!("{}/{}", key.namespace, r.name), &image)
            }
            None => match self.opts.secrets.docker_config() {
                None => Ok(Auth::default()),
                Some((file, bytes)) => {
                    DockerConfig::parse(bytes, Some(&file.display().to_string()))
                        .map(|c| c.auth_for(image.registry()))
                        .map_err(|e| {
                            StepError::retry(
                                reason::AUTHENTICATION_FAILED,
                                format!("failed to configure authentication options: {e}"),
                            )
                        })
                }
            },
        }
    }

    /// The registry client of one ImageRepository: the shared one, or one
    /// that also trusts its `certSecretRef` CA and presents its client
    /// certificate (rebuilt when the Secret changes).
    fn registry_client(
        &mut self,
        key: &ObjectKey,
        obj: &ImageRepository,
    ) -> Result<Client, StepError> {
        let Some(r) = &obj.spec.cert_secret_ref else {
            self.tls_clients.forget(key);
            return Ok(self.client.clone());
        };
        let name = format!("{}/{}", key.namespace, r.name);
        let data = self.secret(&key.namespace, &r.name).map_err(|e| {
            StepError::retry(
                reason::AUTHENTICATION_FAILED,
                format!("failed to configure TLS from secret '{name}': {e}"),
            )
        })?;
        let tls = repository::tls_from_secret(data, &name)?;
        let fingerprint = {
            use std::hash::{Hash as _, Hasher as _};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            (&tls.ca_pem, &tls.client_cert_pem, &tls.client_key_pem).hash(&mut h);
            h.finish()
        };
        if let Some(c) = self.tls_clients.get(key, fingerprint) {
            return Ok(c);
        }
        let opts = ferroflux_registry::Options {
            tls,
            ..self.opts.registry.clone()
        };
        let client = Client::new(opts).map_err(|e| {
            StepError::stalled(
                reason::AUTHENTICATION_FAILED,
                format!("failed to configure TLS from secret '{name}': {e}"),
            )
        })?;
        self.tls_clients.insert(key, fingerprint, client.clone());
        Ok(client)
    }

    /// Start scanning one repository (None when it left the objects).
    fn start_repository(
        &mut self,
        key: &ObjectKey,
        requested: Option<&str>,
        force: bool,
    ) -> Option<Work> {
        let obj = self.objects.image_repositories.get_mut(key)?;
        if let Some(at) = requested {
            obj.metadata
                .annotations
                .get_or_insert_with(Default::default)
                .insert(RECONCILE_REQUEST_ANNOTATION.to_string(), at.to_string());
        }
        let obj = obj.clone();
        let started = std::time::Instant::now();
        let setup = self
            .registry_auth(key, &obj)
            .and_then(|auth| Ok((auth, self.registry_client(key, &obj)?)));
        let store = Arc::clone(self.state.store());
        let clock = Arc::clone(&self.clock);
        let sink = self.progress.clone();
        let status_sink = self.status_sink(key);
        let key = key.clone();
        Some(Box::pin(async move {
            let (status, outcome) = match setup {
                Ok((auth, client)) => {
                    let report =
                        move |image: &ferroflux_registry::ImageName,
                              p: ferroflux_registry::Progress| {
                            if let Some(sink) = &sink {
                                sink(ProgressEvent::Scan {
                                    image: image.canonical(),
                                    pages: p.pages,
                                    tags: p.tags,
                                    more: p.more,
                                });
                            }
                        };
                    let cx = repository::Context {
                        client: &client,
                        store: &store,
                        clock: clock.as_ref(),
                        progress: Some(&report),
                        force,
                    };
                    let r = repository::reconcile(&obj, &auth, &cx).await;
                    (r.status, r.outcome)
                }
                Err(e) => {
                    let mut s = obj.status.clone().unwrap_or_default();
                    let result = Err(e);
                    status::finish(
                        &mut s.conditions,
                        obj.metadata.generation,
                        clock.now_time(),
                        &result,
                    );
                    (s, status::outcome(&result, None))
                }
            };
            let saved = status_sink.write(status.clone()).await.map_err(Box::new);
            let suspended = obj.spec.suspend == Some(true);
            Done {
                finished: Finished::new(
                    &key,
                    started,
                    suspended,
                    &status,
                    Said::Ready,
                    outcome,
                    None,
                    saved,
                )
                .map(Box::new),
                manifests: None,
            }
        }))
    }

    /// The ImageRepository a policy reads.
    fn policy_repository(key: &ObjectKey, obj: &ImagePolicy) -> ObjectKey {
        let repo_ref = &obj.spec.image_repository_ref;
        ObjectKey::new(
            IMAGE_REPOSITORY,
            repo_ref.namespace.as_deref().unwrap_or(&key.namespace),
            &repo_ref.name,
        )
    }

    /// Start choosing one policy's latest tag (None when it left the
    /// objects).
    fn start_policy(&mut self, key: &ObjectKey) -> Option<Work> {
        let obj = self.objects.image_policies.get(key)?;
        let repo_key = Self::policy_repository(key, obj);
        let obj = obj.clone();
        let repo = self.objects.image_repositories.get(&repo_key).cloned();
        let started = std::time::Instant::now();
        let suspended = obj.spec.suspend == Some(true);
        let store = Arc::clone(self.state.store());
        let reflects = obj
            .spec
            .digest_reflection_policy
            .is_some_and(|p| p != ReflectionPolicy::Never);
        let digests: Box<dyn policy::DigestSource + Send> = match &repo {
            Some(r) if reflects => {
                let setup = self
                    .registry_auth(&repo_key, r)
                    .and_then(|auth| Ok((auth, self.registry_client(&repo_key, r)?)))
                    .map_err(|e| e.message().to_string());
                Box::new(digests::RegistryDigests {
                    setup,
                    handle: tokio::runtime::Handle::current(),
                })
            }
            _ => Box::new(policy::NoDigests),
        };
        let clock = Arc::clone(&self.clock);
        let status_sink = self.status_sink(key);
        let key = key.clone();
        Some(Box::pin(async move {
            // Blocking: redb reads, and the digest HEAD driven on this handle.
            let result = tokio::task::spawn_blocking(move || {
                policy::reconcile(
                    &obj,
                    repo.as_ref(),
                    store.as_ref(),
                    digests.as_ref(),
                    clock.as_ref(),
                    &policy::PolicyOptions::default(),
                )
            })
            .await
            .map_err(|e| AutomateError::Join(e.to_string()));
            let finished = match result {
                Ok(r) => {
                    let saved = status_sink.write(r.status.clone()).await.map_err(Box::new);
                    Finished::new(
                        &key,
                        started,
                        suspended,
                        &r.status,
                        Said::Event(r.event),
                        r.outcome,
                        None,
                        saved,
                    )
                    .map(Box::new)
                }
                Err(e) => Err(e),
            };
            Done {
                finished,
                manifests: None,
            }
        }))
    }

    /// The GitRepository an automation uses, rewritten to `--repo` when it
    /// describes the repository ferroflux runs from, and its Secret.
    fn git_source(
        &self,
        auto_key: &ObjectKey,
        auto: &ImageUpdateAutomation,
    ) -> (Option<GitRepository>, Option<SecretData>) {
        let sr = &auto.spec.source_ref;
        let ns = sr.namespace.as_deref().unwrap_or(&auto_key.namespace);
        let key = ObjectKey::new(GIT_REPOSITORY, ns, &sr.name);
        let found = self.objects.git_repositories.get(&key).cloned();
        if self.cluster.is_some() {
            // In a cluster the GitRepository is what it says.
            let secret = found
                .as_ref()
                .and_then(|gr| gr.spec.secret_ref.as_ref())
                .and_then(|r| self.secret(ns, &r.name).ok().cloned());
            return (found, secret);
        }
        let describes_self = match &found {
            Some(gr) => self.describes_repo(gr),
            // Bootstrap keeps flux-system's own GitRepository outside the
            // automation's path; it always means the repository itself.
            None => sr.name == "flux-system",
        };
        if !describes_self {
            let secret = found
                .as_ref()
                .and_then(|gr| gr.spec.secret_ref.as_ref())
                .and_then(|r| self.secret(ns, &r.name).ok().cloned());
            return (found, secret);
        }
        let mut gr = found.unwrap_or_else(|| {
            let mut g = GitRepository::new(&sr.name, Default::default());
            g.metadata.namespace = Some(ns.to_string());
            g
        });
        gr.spec.url = self.url.clone();
        if gr.spec.reference.is_none() {
            gr.spec.reference = Some(GitRepositoryRef {
                branch: Some(self.opts.branch.clone()),
                ..Default::default()
            });
        }
        let named = gr
            .spec
            .secret_ref
            .as_ref()
            .and_then(|r| self.secret(ns, &r.name).ok().cloned());
        let (secret_ref, data) = if !self.opts.repo_credentials.is_empty() {
            (
                Some("ferroflux-repo-credentials".to_string()),
                Some(self.opts.repo_credentials.clone()),
            )
        } else if let Some(d) = named {
            (gr.spec.secret_ref.as_ref().map(|r| r.name.clone()), Some(d))
        } else {
            (None, None)
        };
        gr.spec.secret_ref = secret_ref.map(|name| LocalObjectReference { name });
        (Some(gr), data)
    }

    /// `spec.timeout` of the GitRepository that describes `--repo` (60s).
    fn manifests_timeout(&self) -> Duration {
        let repo = self
            .objects
            .git_repositories
            .values()
            .find(|g| self.describes_repo(g));
        git_timeout(repo)
    }

    fn describes_repo(&self, gr: &GitRepository) -> bool {
        let same = |a: &str, b: &str| {
            a.trim_end_matches('/').trim_end_matches(".git")
                == b.trim_end_matches('/').trim_end_matches(".git")
        };
        if same(&gr.spec.url, &self.url) || same(&gr.spec.url, &self.opts.repo) {
            return true;
        }
        // Another object for the same remote (seed 004's write-enabled
        // `flux-system-write`) describes it too.
        let self_url = self
            .objects
            .git_repositories
            .iter()
            .find(|(k, _)| k.namespace == "flux-system" && k.name == "flux-system")
            .map(|(_, g)| g.spec.url.clone());
        self_url.is_some_and(|u| same(&u, &gr.spec.url))
    }

    /// What a job of `key` holds besides the object: an automation holds
    /// the clone of its Git URL (two automations of one repository share
    /// the cached clone, so they take turns).
    fn resources(&self, key: &ObjectKey) -> Vec<String> {
        if key.kind != IMAGE_UPDATE_AUTOMATION {
            return Vec::new();
        }
        let Some(obj) = self.objects.automations.get(key) else {
            return Vec::new();
        };
        let (git_repository, _) = self.git_source(key, obj);
        git_repository
            .map(|g| vec![clone_resource(&g.spec.url)])
            .unwrap_or_default()
    }

    /// Start one automation (None when it left the objects).
    fn start_automation(&mut self, key: &ObjectKey, requested: Option<&str>) -> Option<Work> {
        let obj = self.objects.automations.get_mut(key)?;
        if let Some(at) = requested {
            obj.metadata
                .annotations
                .get_or_insert_with(Default::default)
                .insert(RECONCILE_REQUEST_ANNOTATION.to_string(), at.to_string());
        }
        let obj = obj.clone();
        let started = std::time::Instant::now();
        let suspended = obj.spec.suspend == Some(true);
        let api_version = self
            .objects
            .origins
            .get(key)
            .map(|o| o.api_version.clone())
            .unwrap_or_else(|| "image.toolkit.fluxcd.io/v1".to_string());
        let (git_repository, git_secret) = self.git_source(key, &obj);
        let signing_secret = obj
            .spec
            .git
            .as_ref()
            .and_then(|g| g.commit.signing_key.as_ref())
            .and_then(|k| {
                self.secret(&key.namespace, &k.secret_ref.name)
                    .ok()
                    .cloned()
            });
        let policies: Vec<ImagePolicy> = self
            .objects
            .image_policies
            .iter()
            .filter(|(k, _)| k.namespace == key.namespace)
            .map(|(_, p)| p.clone())
            .collect();
        let clock = Arc::clone(&self.clock);
        let fetch = self.progress.as_ref().and_then(|sink| {
            git_repository
                .as_ref()
                .map(|gr| fetch_progress(sink, &gr.spec.url))
        });
        let opts = automation::AutomationOptions {
            cache_dir: self.cache_dir.join("automation"),
            depth: self.opts.depth,
            fetch_progress: fetch,
            ..automation::AutomationOptions::default()
        };
        let git_timeout = git_timeout(git_repository.as_ref());
        let shown_url = git_repository
            .as_ref()
            .map(|g| ferroflux_git::url::redact(&g.spec.url))
            .unwrap_or_default();
        let previous = obj.clone();
        // Pushed to the branch the manifests come from: read them from this
        // clone rather than fetching --repo again.
        let manifests = (self.cluster.is_none()
            && git_repository
                .as_ref()
                .is_some_and(|g| g.spec.url == self.url))
        .then(|| (self.opts.branch.clone(), self.opts.path.clone()));
        let clone_key = ObjectKey::new(
            "clone",
            "automation",
            &git_repository
                .as_ref()
                .map(|g| clone_resource(&g.spec.url))
                .unwrap_or_default(),
        );
        // A thread left blocked on this clone by an earlier timeout still
        // holds it: this run fails at once instead of racing it.
        let guard = InFlight::enter(&self.in_flight, &clone_key);
        let status_sink = self.status_sink(key);
        let key = key.clone();
        Some(Box::pin(async move {
            let result = match guard {
                None => Ok((
                    automation::git_unfinished(
                        &previous,
                        clock.as_ref(),
                        format!(
                            "a git operation on '{shown_url}' from an earlier run has not finished"
                        ),
                    ),
                    None,
                )),
                Some(guard) => {
                    let thread_clock = Arc::clone(&clock);
                    let task = tokio::task::spawn_blocking(move || {
                        let _guard = guard;
                        let input = automation::AutomationInput {
                            automation: &obj,
                            api_version: &api_version,
                            git_repository: git_repository.as_ref(),
                            git_secret: git_secret.as_ref(),
                            signing_secret: signing_secret.as_ref(),
                            policies: &policies,
                        };
                        let r = automation::reconcile(&input, thread_clock.as_ref(), &opts);
                        // Still holding the clone: nothing else writes in it.
                        let read = manifests.and_then(|(branch, path)| {
                            let p = r.pushed.as_ref().filter(|p| p.branch == branch)?;
                            Some(Box::new(Manifests {
                                revision: p.commit.clone(),
                                loaded: LocalSource::load(&p.workdir, &path),
                            }))
                        });
                        (r, read)
                    });
                    // libgit2 waits forever on a server that accepts and
                    // never answers: give up waiting after spec.timeout (the
                    // callbacks' own deadline covers slow transfers); the
                    // guard keeps the cache to that thread until it returns.
                    match tokio::time::timeout(git_timeout, task).await {
                        Ok(r) => r.map_err(|e| AutomateError::Join(e.to_string())),
                        Err(_) => Ok((
                            automation::git_unfinished(
                                &previous,
                                clock.as_ref(),
                                format!("timeout after {git_timeout:?} waiting for '{shown_url}'"),
                            ),
                            None,
                        )),
                    }
                }
            };
            match result {
                Ok((r, manifests)) => {
                    let saved = status_sink.write(r.status.clone()).await.map_err(Box::new);
                    let pushed = r.pushed.as_ref().map(|p| p.commit.clone());
                    Done {
                        finished: Finished::new(
                            &key,
                            started,
                            suspended,
                            &r.status,
                            Said::Event(r.event),
                            r.outcome,
                            pushed,
                            saved,
                        )
                        .map(Box::new),
                        manifests,
                    }
                }
                Err(e) => Done {
                    finished: Err(e),
                    manifests: None,
                },
            }
        }))
    }

    /// Start the reconcile of `key`: what waits on a server goes to `jobs`
    /// (or waits in it while the object or its clone is busy); Receivers
    /// and the manifests run here.
    async fn step(
        &mut self,
        sched: &mut Scheduler,
        jobs: &mut Jobs<Done>,
        key: ObjectKey,
        trigger: Trigger,
    ) -> Result<(), AutomateError> {
        tracing::debug!(object = %key, ?trigger, "reconcile");
        let requested = match &trigger {
            Trigger::Requested { at } => Some(at.clone()),
            _ => None,
        };
        match key.kind.as_str() {
            IMAGE_REPOSITORY | IMAGE_POLICY | IMAGE_UPDATE_AUTOMATION => {
                let resources = self.resources(&key);
                if !jobs.can_start(&key, &resources) {
                    jobs.defer(key, trigger);
                    return Ok(());
                }
                match self.start(&key, requested.as_deref(), false) {
                    Some(work) => jobs.spawn(key, resources, work),
                    None => sched.remove(&key),
                }
            }
            RECEIVER => {
                self.reconcile_receiver(&key).await?;
                self.publish_receivers();
                let every = self
                    .objects
                    .receivers
                    .get(&key)
                    .and_then(|r| r.spec.interval)
                    .map_or(Duration::from_secs(600), |d| d.to_std());
                sched.schedule_after(key, every);
            }
            // In a cluster, GitRepositories are only read.
            GIT_REPOSITORY if self.cluster.is_some() => {}
            GIT_REPOSITORY => {
                self.reload(sched, None).await;
                let every = self
                    .objects
                    .git_repositories
                    .get(&key)
                    .map_or(Duration::from_secs(60), |g| g.spec.interval.to_std());
                sched.schedule_after(key, every.max(Duration::from_secs(1)));
            }
            _ => {}
        }
        Ok(())
    }

    /// The waiting part of one object's reconcile (None when it left the
    /// objects or is of a kind without one).
    fn start(&mut self, key: &ObjectKey, requested: Option<&str>, force: bool) -> Option<Work> {
        match key.kind.as_str() {
            IMAGE_REPOSITORY => self.start_repository(key, requested, force),
            IMAGE_POLICY => self.start_policy(key),
            IMAGE_UPDATE_AUTOMATION => self.start_automation(key, requested),
            _ => None,
        }
    }

    /// Take a finished job back: store its status, count it, and say what
    /// must follow.
    async fn complete(
        &mut self,
        key: ObjectKey,
        done: Result<Done, String>,
    ) -> Result<Completed, AutomateError> {
        let mut completed = Completed {
            key,
            outcome: Outcome::Backoff,
            changed: false,
            pushed: false,
            manifests: None,
        };
        let done = match done {
            Ok(done) => done,
            Err(panic) => {
                tracing::error!(object = %completed.key, "reconcile failed: {panic}");
                return Ok(completed);
            }
        };
        let f = *done.finished?;
        completed.outcome = f.outcome;
        let effects = self.finish(f).await?;
        completed.changed = effects.changed;
        completed.pushed = effects.pushed;
        completed.manifests = done.manifests;
        Ok(completed)
    }

    /// A finished job in `--watch`: its next run, and what follows it now
    /// (a new scan revision runs the repository's policies, a new
    /// `latestRef` the automations of its namespace, a push the manifests).
    async fn settle(
        &mut self,
        sched: &mut Scheduler,
        jobs: &mut Jobs<Done>,
        key: ObjectKey,
        done: Result<Done, String>,
    ) -> Result<(), AutomateError> {
        for (k, t) in jobs.take_deferred() {
            sched.trigger(k, t);
        }
        let mut c = match self.complete(key.clone(), done).await {
            Ok(c) => c,
            Err(e) => {
                self.requeue(sched, &key, Outcome::Backoff);
                return Err(e);
            }
        };
        self.requeue(sched, &c.key, c.outcome);
        match c.key.kind.as_str() {
            IMAGE_UPDATE_AUTOMATION if c.pushed => {
                let pushed = c.manifests.take();
                self.reload(sched, pushed).await;
            }
            // Flux: a new scan revision reconciles its policies, a new
            // latestRef the automations of the namespace.
            _ if c.changed => {
                for d in triggers::dependents(&self.objects, &c.key) {
                    sched.trigger(
                        d,
                        Trigger::Dependency {
                            what: triggers::reason(&c.key),
                        },
                    );
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn requeue(&mut self, sched: &mut Scheduler, key: &ObjectKey, outcome: Outcome) {
        let mut failures = self.failures.remove(key).unwrap_or(0);
        match finish::next_run(outcome, &mut failures, self.opts.backoff) {
            Some(d) => sched.schedule_after(key.clone(), d),
            None => sched.remove(key),
        }
        if failures > 0 {
            self.failures.insert(key.clone(), failures);
        }
    }

    /// Fetch the checkout (or take the manifests an automation pushed);
    /// on changed manifests, run what changed.
    async fn reload(&mut self, sched: &mut Scheduler, pushed: Option<Box<Manifests>>) {
        if self.cluster.is_some() {
            return;
        }
        let before: BTreeSet<ObjectKey> = self.objects.keys().into_iter().collect();
        let old = self.objects.clone();
        let result = match pushed {
            Some(m) => self.adopt(*m).await,
            None => self.refresh().await,
        };
        match result {
            Ok(false) => {}
            Ok(true) => {
                tracing::info!("manifests changed: objects re-read");
                for key in self.objects.keys() {
                    let changed = !before.contains(&key) || spec_changed(&old, &self.objects, &key);
                    if changed {
                        sched.trigger(
                            key,
                            Trigger::Dependency {
                                what: "manifests changed".into(),
                            },
                        );
                    }
                }
                for key in before {
                    if !self.objects.origins.contains_key(&key) {
                        sched.remove(&key);
                    }
                }
                self.publish_receivers();
            }
            Err(e) => tracing::warn!("re-reading manifests failed: {e}"),
        }
    }

    /// `--watch`: a first pass, then every object on its schedule until
    /// `shutdown` resolves; the running step always finishes first.
    pub async fn watch(
        &mut self,
        mut sched: Scheduler,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), AutomateError> {
        // A restart is no request: stored scans younger than their
        // interval stand.
        let summary = self.run_pass(false).await?;
        tracing::info!(ready = summary.all_ready(), "first pass done");
        for key in self.objects.keys() {
            let after = self.first_delay(&key);
            sched.schedule_after(key, after);
        }
        let self_repo = self
            .objects
            .git_repositories
            .iter()
            .find(|(_, g)| self.describes_repo(g))
            .map(|(k, _)| k.clone())
            .unwrap_or_else(|| ObjectKey::new(GIT_REPOSITORY, "flux-system", "flux-system"));
        let every = self
            .objects
            .git_repositories
            .get(&self_repo)
            .map_or(Duration::from_secs(60), |g| g.spec.interval.to_std());
        sched.schedule_after(self_repo, every.max(Duration::from_secs(1)));
        tokio::pin!(shutdown);
        let mut jobs: Jobs<Done> = Jobs::new(self.opts.concurrent);
        loop {
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                Some((key, done)) = jobs.join_next(), if !jobs.is_empty() => {
                    if let Err(e) = self.settle(&mut sched, &mut jobs, key.clone(), done).await {
                        tracing::error!(object = %key, "{e}");
                    }
                }
                (key, trigger) = sched.next(), if jobs.has_room() => {
                    if let Err(e) = self.step(&mut sched, &mut jobs, key.clone(), trigger).await {
                        tracing::error!(object = %key, "{e}");
                    }
                }
            }
        }
        tracing::info!(running = jobs.running(), "shutting down");
        self.drain(&mut sched, &mut jobs).await;
        Ok(())
    }

    /// Let the running jobs finish and store their results (each gives up
    /// by its own timeout).
    async fn drain(&mut self, sched: &mut Scheduler, jobs: &mut Jobs<Done>) {
        while let Some((key, done)) = jobs.join_next().await {
            if let Err(e) = self.settle(sched, jobs, key.clone(), done).await {
                tracing::error!(object = %key, "{e}");
            }
        }
    }

    fn first_delay(&self, key: &ObjectKey) -> Duration {
        let first = crate::registry::flux()
            .get(&key.kind)
            .and_then(|k| k.first_run(&self.objects, key));
        match first {
            Some(FirstRun::After(interval)) => interval.max(Duration::from_secs(1)),
            Some(FirstRun::Retry) => self.opts.backoff,
            // Trigger-driven objects still get an hourly run.
            Some(FirstRun::Triggered) | None => Duration::from_secs(3600),
        }
    }

    /// Handle to trigger objects from other tasks (the webhook server).
    pub fn scheduler(&self) -> (Scheduler, SchedulerHandle) {
        Scheduler::new(self.opts.scheduler.clone())
    }
}

fn spec_changed(old: &Objects, new: &Objects, key: &ObjectKey) -> bool {
    old.spec_json(key) != new.spec_json(key)
}

fn line(key: &ObjectKey, ready: bool, detail: String, message: String) -> Line {
    Line {
        key: key.clone(),
        ready,
        detail,
        message,
    }
}

#[cfg(test)]
mod tests;

/// Registry clients built from `certSecretRef` TLS material, shared by every
/// ImageRepository whose Secret holds the same material; a client goes when
/// the last repository using it changes its Secret or drops the reference.
#[derive(Default)]
struct TlsClients {
    clients: std::collections::HashMap<u64, Client>,
    used_by: BTreeMap<ObjectKey, u64>,
}

impl TlsClients {
    /// The client for this fingerprint, when one is built; `key` now uses it.
    fn get(&mut self, key: &ObjectKey, fingerprint: u64) -> Option<Client> {
        let client = self.clients.get(&fingerprint)?.clone();
        self.use_fingerprint(key, fingerprint);
        Some(client)
    }

    fn insert(&mut self, key: &ObjectKey, fingerprint: u64, client: Client) {
        self.clients.insert(fingerprint, client);
        self.use_fingerprint(key, fingerprint);
    }

    fn forget(&mut self, key: &ObjectKey) {
        if let Some(old) = self.used_by.remove(key) {
            self.drop_unused(old);
        }
    }

    fn use_fingerprint(&mut self, key: &ObjectKey, fingerprint: u64) {
        if let Some(old) = self.used_by.insert(key.clone(), fingerprint)
            && old != fingerprint
        {
            self.drop_unused(old);
        }
    }

    fn drop_unused(&mut self, fingerprint: u64) {
        if !self.used_by.values().any(|f| *f == fingerprint) {
            self.clients.remove(&fingerprint);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.clients.len()
    }
}
