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
//! Where objects come from and where results go is the runner's
//! [`Home`]: a [`LocalHome`](crate::home::LocalHome) by default, a
//! [`KubeHome`](crate::home::KubeHome) for `ferroflux controller`
//! ([`Runner::in_cluster`]): objects then come from Kubernetes watches
//! ([`controller`]), status goes to the status subresource and events
//! become Kubernetes Events; the reconcile steps and the triggers between
//! kinds stay the same.
//!
//! Files by the seam they will become (`docs/ARCHITECTURE.md`): `local`
//! the checkout the runtime reads for a local home, `sink` a job's way to
//! its home's status, `cx` what the runner lends each kind's reconcile
//! (`Kind::reconcile`, started through the registry), with the runtime
//! state some kinds need in `scan` (registry TLS clients), `update`
//! (clone guards, the read after a push), `sources` and `webhooks`;
//! `finalizers` runs each kind's cleanup of a deleted object; `run` and
//! `controller` the loop.

mod controller;
mod cx;
mod finalizers;
mod local;
mod notify;
mod run;
mod scan;
mod sink;
mod sources;
mod update;
mod webhooks;

use ferroflux_controllers::image::automation::git_timeout;
use local::Checkout;
use scan::TlsClients;
use update::{InFlight, Manifests};

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferroflux_api::image::{ImageRepository, ImageUpdateAutomation};
use ferroflux_api::meta::reason;
use ferroflux_api::notification::Receiver;
use ferroflux_api::source::GitRepository;
use ferroflux_artifact::fetch::LocalStorage;
use ferroflux_artifact::{Retention, Storage};
use ferroflux_controllers::image::repository;
use ferroflux_controllers::kind::{FirstRun, Run};
use ferroflux_controllers::kustomize::reconcile::KustomizationOptions;
use ferroflux_controllers::notification::receiver;
use ferroflux_controllers::source::git::GitRepositoryOptions;
use ferroflux_controllers::status::{Outcome, StepError};
use ferroflux_controllers::target::TargetFactory;
use ferroflux_controllers::{Clock, SystemClock};
use ferroflux_registry::Client;

use crate::cluster::Cluster;
use crate::engine::finish::{self, Finished};
use crate::home::{Arrival, Home, HomeError, KubeHome, LocalHome, OwnRepository};
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
pub const KUSTOMIZATION: &str = "Kustomization";

/// Secret data, decoded.
pub use ferroflux_controllers::kind::SecretData;

/// What a terminal shows while a long step runs, and where it goes.
pub use ferroflux_controllers::kind::cx::{ProgressEvent, ProgressSink, fetch_progress};

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
    #[error(transparent)]
    Home(#[from] HomeError),
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
    /// Where GitRepository artifacts are stored (Flux's layout under it);
    /// `None`: `artifacts/` beside the state database.
    pub artifacts_dir: Option<PathBuf>,
    /// The address artifact URLs advertise (`--storage-adv-addr`, or the
    /// file server's `--storage-addr`); `localhost` when none serves them.
    pub artifacts_address: String,
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
            artifacts_dir: None,
            artifacts_address: "localhost".to_string(),
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
    /// The heading of its kind's objects (`KindInfo::section`; empty:
    /// the kind's name).
    pub section: &'static str,
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
                let heading = if l.section.is_empty() {
                    kind
                } else {
                    l.section
                };
                writeln!(f, "{heading}:")?;
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

/// The runtime of `ferroflux automate`.
pub struct Runner {
    opts: AutomateOptions,
    /// The clones' directory (0700): `opts.cache_dir` or beside the state.
    cache_dir: PathBuf,
    /// The automations' clones, under `cache_dir`.
    clones: PathBuf,
    state: StatusStore,
    client: Client,
    clock: Arc<dyn Clock>,
    checkout: Option<Checkout>,
    pub(crate) objects: Objects,
    findings: Vec<String>,
    receivers: ReceiverTable,
    /// `Automation key → the last commit pushed in this process`.
    pub(crate) pushed: BTreeMap<ObjectKey, String>,
    pub(crate) failures: BTreeMap<ObjectKey, u32>,
    /// Where objects come from, status and events go: the checkout and the
    /// state database, or a cluster (`ferroflux controller`).
    pub(crate) home: Arc<dyn Home>,
    /// Registry clients of ImageRepositories with a `certSecretRef`, one
    /// per fingerprint of the Secret's TLS material, so that repositories
    /// trusting the same CA share connections (and the system roots are
    /// loaded once, not once per repository).
    tls_clients: Mutex<TlsClients>,
    pub(crate) metrics: Arc<Metrics>,
    progress: Option<ProgressSink>,
    /// Automations whose blocking git work is still running (possibly
    /// after its reconcile gave up waiting).
    in_flight: Arc<Mutex<BTreeSet<ObjectKey>>>,
    /// Objects whose finalizer is being added: the watch events that
    /// arrive before that write is seen (a status write's, a maker's) do
    /// not write it again.
    finalizing: Arc<Mutex<BTreeSet<ObjectKey>>>,
    /// Where GitRepository artifacts go, and the source-controller settings.
    storage: Storage,
    sources: GitRepositoryOptions,
    /// kustomize-controller's settings (work directory, our artifacts).
    kustomize: KustomizationOptions,
    /// Where `substituteFrom` ConfigMaps are read (none: not found).
    config_maps: Option<kube::Client>,
    /// The cluster Kustomizations apply to; `None` in `automate` without
    /// `--kubeconfig`, where GitOps kinds are held but not reconciled.
    targets: Option<Arc<dyn TargetFactory>>,
    /// Where recorded events go to Alerts and their Providers.
    bus: notify::Bus,
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

/// The waiting part of one reconcile, owning everything it needs.
type Work = std::pin::Pin<Box<dyn std::future::Future<Output = Done> + Send + 'static>>;

/// What the waiting part of a reconcile hands back to the runner.
struct Done {
    /// The reconcile, its status written by the job.
    finished: Result<Box<Finished>, AutomateError>,
    /// After a push to `--repo`'s branch, its manifests at that commit.
    manifests: Option<Box<Manifests>>,
}

/// A job that pushed nothing to `--repo`'s branch.
impl From<Result<Box<Finished>, AutomateError>> for Done {
    fn from(finished: Result<Box<Finished>, AutomateError>) -> Done {
        Done {
            finished,
            manifests: None,
        }
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
        let artifacts = opts.artifacts_dir.clone().unwrap_or_else(|| {
            state
                .path()
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or_else(|| std::path::Path::new("."))
                .join("artifacts")
        });
        let storage = Storage::new(&artifacts, &opts.artifacts_address, Retention::default())
            .map_err(|e| AutomateError::Cache {
                dir: artifacts.clone(),
                source: std::io::Error::other(e.to_string()),
            })?;
        let sources = GitRepositoryOptions {
            cache_dir: cache_dir.join("sources"),
            fetches: Some(ferroflux_git::FetchPool::new(
                &cache_dir.join("sources").join(".shared"),
            )),
            ..GitRepositoryOptions::default()
        };
        let work_dir = cache_dir.join("kustomize");
        private_dir(&work_dir)?;
        let kustomize = KustomizationOptions {
            work_dir,
            local_storage: Some(LocalStorage {
                root: storage.root().to_path_buf(),
                address: opts.artifacts_address.clone(),
            }),
            ..KustomizationOptions::default()
        };
        let own = OwnRepository::new(&opts.repo, &opts.branch, opts.repo_credentials.clone());
        Ok(Runner {
            home: Arc::new(LocalHome::new(state.clone(), own)),
            storage,
            sources,
            kustomize,
            config_maps: None,
            targets: None,
            clones: cache_dir.join("automation"),
            cache_dir,
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
            tls_clients: Mutex::default(),
            metrics: Arc::new(Metrics::new()),
            progress: None,
            in_flight: Arc::default(),
            finalizing: Arc::default(),
            bus: notify::Bus::default(),
        })
    }

    /// Run against Kubernetes (`ferroflux controller`): a [`KubeHome`];
    /// see [`Runner::control`].
    pub fn in_cluster(self, cluster: Cluster) -> Runner {
        let client = cluster.client().clone();
        let cluster = cluster.with_kinds(self.registry());
        self.with_home(Arc::new(KubeHome::new(cluster)))
            .with_config_maps(client)
    }

    /// Read `postBuild.substituteFrom` ConfigMaps from this cluster (the
    /// home's in `controller`, the target's in `automate --kubeconfig`).
    pub fn with_config_maps(mut self, client: kube::Client) -> Runner {
        self.config_maps = Some(client);
        self
    }

    /// Serve the kinds of `registry` instead of Flux's
    /// ([`Registry::flux`](crate::registry::Registry::flux)): before any
    /// object is read, and before [`Runner::in_cluster`] (whose cluster
    /// must watch the same kinds: `Cluster::with_kinds`).
    pub fn with_registry(mut self, registry: &'static crate::registry::Registry) -> Runner {
        self.objects = Objects::new(registry);
        self
    }

    /// The kinds this runner serves, in run order.
    pub fn registry(&self) -> &'static crate::registry::Registry {
        self.objects.registry()
    }

    /// Keep objects, status and events in `home`.
    pub fn with_home(mut self, home: Arc<dyn Home>) -> Runner {
        self.home = home;
        self
    }

    /// Apply Kustomizations to this cluster; locally, it also makes the
    /// runner reconcile GitRepositories and Kustomizations.
    pub fn with_targets(mut self, targets: Arc<dyn TargetFactory>) -> Runner {
        self.targets = Some(targets);
        self
    }

    /// The artifact storage (served by `--storage-addr`).
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// Whether this home reconciles the GitOps kinds (GitRepository,
    /// Kustomization): when the home serves them (a cluster), or with a
    /// target cluster. The image chain never needs them.
    pub(crate) fn gitops(&self) -> bool {
        self.home.serves_gitops() || self.targets.is_some()
    }

    /// Whether objects of `kind` are reconciled here.
    pub(crate) fn serves(&self, kind: &str) -> bool {
        self.registry()
            .get(kind)
            .is_some_and(|k| k.reconciled() && (self.gitops() || !k.info().gitops()))
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

    /// The state of every object now.
    pub fn summary(&self) -> Summary {
        let mut lines = Vec::new();
        for kind in self
            .registry()
            .kinds()
            .filter(|k| self.serves(k.info().kind))
        {
            for k in kind.keys(&self.objects) {
                let pushed = self.pushed.get(&k).map(String::as_str);
                if let Some(r) = kind.report(&self.objects, &k, pushed) {
                    let mut l = line(&k, r.ok, r.detail, r.message);
                    l.section = kind.info().section;
                    lines.push(l);
                }
            }
        }
        Summary {
            lines,
            findings: self.findings.clone(),
        }
    }
}

/// A line of `key`, headed by its kind's section among Flux's kinds (the
/// kind's name otherwise; [`Runner::summary`] sets its registry's).
fn line(key: &ObjectKey, ready: bool, detail: String, message: String) -> Line {
    let section = crate::registry::flux()
        .get(&key.kind)
        .map_or("", |k| k.info().section);
    Line {
        key: key.clone(),
        ready,
        detail,
        message,
        section,
    }
}

#[cfg(test)]
mod tests;
