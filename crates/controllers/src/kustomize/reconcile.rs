//! One run of a Kustomization, as kustomize-controller orders it
//! (`internal/controller/kustomization_controller.go`,
//! `shared/docs/flux-gitops-semantics.md` §3–7).
//!
//! [`resolve`] reads, synchronously and from the home, what the run
//! depends on: the source's artifact, the `dependsOn` verdict and the
//! `substituteFrom` data. [`reconcile`] then runs the steps against the
//! target cluster: `healthCheckExprs` compiled, source and dependencies
//! checked, artifact fetched and unpacked (`ferroflux_artifact::fetch`),
//! `spec.path` found, the build (`ferroflux_kustomize::flux::build_for_apply`,
//! on the blocking pool), owner labels and `commonMetadata`, the staged
//! server-side apply, the inventory, prune of what left it, the health wait,
//! and the status with Flux's conditions, reasons and messages.
//! [`finalize`] is the deletion (`deletionPolicy`).
//!
//! Every failure but a terminal one (`Stalled`) runs again after
//! `spec.retryInterval` (Flux does not back off); a missing artifact or an
//! unready dependency after `--requeue-dependency`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferroflux_api::kustomize::{
    KustomizationSourceKind, KustomizationStatus, ResourceInventory, ResourceRef,
};
use ferroflux_api::meta::{Condition, condition, reason};
use ferroflux_api::source::{Artifact, GitRepository, OCIRepository};
use ferroflux_artifact::fetch::{FetchError, FetchOptions, LocalStorage};
use ferroflux_kube::health::{Health, Status};
use ferroflux_kube::inventory;
use ferroflux_kustomize::flux::{BuildOptions, Manifests, SubstituteFrom};
use serde_json::Value;

pub use ferroflux_api::kustomize::Kustomization;

use super::decrypt::{self, DecryptionKeys};
use super::health_exprs::{ExprStatus, HealthExprs};
use super::{REQUEUE_DEPENDENCY, dependency, history, retry_interval, timeout};
use crate::clock::Clock;
use crate::kind::{Lookup, ObjectKey, SecretSource};
use crate::status::{self, Conditions, Event, EventType, Outcome, StepError};
use crate::target::{
    ApplyOptions, ChangeSet, CustomHealth, DeleteOptions, ObjMetadata, ObjRef, Owner,
    TargetCluster, TargetFactory, TargetSpec, WaitOptions,
};

#[cfg(test)]
mod tests;

/// `Reconciliation failed terminally due to configuration error`.
pub const TERMINAL_ERROR_MESSAGE: &str =
    "Reconciliation failed terminally due to configuration error";

/// `spec.deletionPolicy` values.
pub mod deletion_policy {
    pub const MIRROR_PRUNE: &str = "MirrorPrune";
    pub const DELETE: &str = "Delete";
    pub const WAIT_FOR_TERMINATION: &str = "WaitForTermination";
    pub const ORPHAN: &str = "Orphan";
}

/// Controller-wide settings (kustomize-controller's flags).
#[derive(Debug, Clone)]
pub struct KustomizationOptions {
    /// Where each run unpacks its artifact (a fresh `kustomization-*`
    /// directory, removed at the end) and keeps the download meanwhile.
    pub work_dir: PathBuf,
    /// The artifacts this process stores (the GitRepository reconciler's
    /// storage root and advertised address): read from disk, not HTTP.
    pub local_storage: Option<LocalStorage>,
    /// Download and unpack bounds, retries (`--http-retry`).
    pub fetch: FetchOptions,
    /// `--requeue-dependency`.
    pub requeue_dependency: Duration,
    /// How often the health wait polls (Flux: 5 s).
    pub health_interval: Duration,
    /// The apply's settings besides `force` and `spec.ignore`, which come
    /// from the object (`--custom-apply-stage-kinds`, `--concurrent-ssa`,
    /// `--override-manager`, stage waits).
    pub apply: ApplyOptions,
    /// `--default-service-account`: impersonated when the object names none.
    pub default_service_account: Option<String>,
}

impl Default for KustomizationOptions {
    fn default() -> Self {
        KustomizationOptions {
            work_dir: std::env::temp_dir(),
            local_storage: None,
            fetch: FetchOptions::default(),
            requeue_dependency: REQUEUE_DEPENDENCY,
            health_interval: Duration::from_secs(5),
            apply: ApplyOptions::default(),
            default_service_account: None,
        }
    }
}

/// What one run works with besides the object: the clusters, the clock,
/// the settings.
pub struct KustomizationCx<'a> {
    pub targets: &'a dyn TargetFactory,
    pub clock: &'a dyn Clock,
    pub options: &'a KustomizationOptions,
}

/// The source a Kustomization applies: its key and its artifact.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceArtifact {
    /// `GitRepository/namespace/name`.
    pub source: ObjectKey,
    pub artifact: Artifact,
}

/// What [`resolve`] read from the home, owned so that the run can await.
/// Each part is the step's verdict; [`reconcile`] reports the first error
/// in Flux's order (source, dependencies, then `substituteFrom` at build).
#[derive(Debug, Clone)]
pub struct KustomizationInput {
    pub kustomization: Kustomization,
    pub source: Result<SourceArtifact, StepError>,
    /// `Ok` when `dependsOn` is empty or every dependency is ready.
    pub dependencies: Result<(), StepError>,
    /// `postBuild.substituteFrom`, read with the home's (not the target's)
    /// credentials, as Flux reads them with its own client.
    pub substitute_from: Result<SubstituteFrom, StepError>,
    /// `spec.decryption`'s keys from its Secret (`None` without
    /// decryption); an error fails the build, as Flux's `ImportKeys`.
    pub decryption: Result<Option<DecryptionKeys>, StepError>,
}

/// The new status, when to run again, and the event of the run.
#[derive(Debug, Clone)]
pub struct KustomizationResult {
    pub status: KustomizationStatus,
    pub outcome: Outcome,
    /// None for a suspended object and for a missing source (Flux emits
    /// none). Otherwise the lines Flux sends as separate events, in order
    /// (the apply's change set, the prune's, `Health check passed in …`,
    /// then `Reconciliation finished in …` or the error), as one event:
    /// Normal on success, Warning on failure, the Ready reason.
    pub event: Option<Event>,
}

/// Read what a run of `ks` depends on from the home: its source's
/// artifact (GitRepository, OCIRepository; Bucket and ExternalArtifact are
/// a Stalled "not supported yet"), the `dependsOn` verdict for that
/// artifact's revision, and the `substituteFrom` ConfigMaps and Secrets
/// (`SecretSource::config_map` / `secret`). A missing optional entry is
/// left out; a missing required one fails the build with Flux's message.
pub fn resolve(
    ks: &Kustomization,
    lookup: &dyn Lookup,
    secrets: &dyn SecretSource,
) -> KustomizationInput {
    let source = resolve_source(ks, lookup);
    let dependencies = match &source {
        Ok(s) if !ks.spec.depends_on.is_empty() => check_dependencies(ks, &s.artifact, lookup),
        _ => Ok(()),
    };
    KustomizationInput {
        kustomization: ks.clone(),
        source,
        dependencies,
        substitute_from: resolve_substitute_from(ks, secrets),
        decryption: decrypt::import_keys(ks, secrets)
            .map_err(|m| StepError::waiting(reason::BUILD_FAILED, m, retry_interval(ks))),
    }
}

fn namespace_of(ks: &Kustomization) -> &str {
    ks.metadata.namespace.as_deref().unwrap_or_default()
}

fn name_of(ks: &Kustomization) -> &str {
    ks.metadata.name.as_deref().unwrap_or_default()
}

/// `getSource` and the artifact check.
fn resolve_source(ks: &Kustomization, lookup: &dyn Lookup) -> Result<SourceArtifact, StepError> {
    let r = &ks.spec.source_ref;
    let ns = r
        .namespace
        .as_deref()
        .filter(|n| !n.is_empty())
        .unwrap_or(namespace_of(ks));
    let retry = retry_interval(ks);
    let (kind, plural) = match r.kind {
        KustomizationSourceKind::GitRepository => ("GitRepository", "gitrepositories"),
        KustomizationSourceKind::OCIRepository => ("OCIRepository", "ocirepositories"),
        other => {
            return Err(StepError::stalled(
                reason::ARTIFACT_FAILED,
                format!(
                    "source `{}` kind '{other:?}' not supported by ferroflux yet; use a GitRepository or an OCIRepository",
                    r.name
                ),
            ));
        }
    };
    let key = ObjectKey::new(kind, ns, &r.name);
    let status = lookup.object(&key).and_then(|o| {
        o.downcast_ref::<GitRepository>()
            .map(|g| g.status.as_ref())
            .or_else(|| o.downcast_ref::<OCIRepository>().map(|g| g.status.as_ref()))
    });
    let Some(status) = status else {
        return Err(StepError::waiting(
            reason::ARTIFACT_FAILED,
            format!("{plural}.source.toolkit.fluxcd.io \"{}\" not found", r.name),
            retry,
        ));
    };
    match status.and_then(|s| s.artifact.clone()) {
        Some(artifact) => Ok(SourceArtifact {
            source: key,
            artifact,
        }),
        None => Err(StepError::waiting(
            reason::ARTIFACT_FAILED,
            format!(
                "Source artifact not found, retrying in {}",
                go_duration(REQUEUE_DEPENDENCY)
            ),
            REQUEUE_DEPENDENCY,
        )),
    }
}

/// `dependency::Lookup` over the home's objects.
struct Kustomizations<'a>(&'a dyn Lookup);

impl dependency::Lookup for Kustomizations<'_> {
    fn kustomization(&self, namespace: &str, name: &str) -> Option<Kustomization> {
        let key = ObjectKey::new("Kustomization", namespace, name);
        self.0
            .object(&key)?
            .downcast_ref::<Kustomization>()
            .cloned()
    }
}

fn check_dependencies(
    ks: &Kustomization,
    artifact: &Artifact,
    lookup: &dyn Lookup,
) -> Result<(), StepError> {
    dependency::check(ks, &artifact.revision, &Kustomizations(lookup)).map_err(|e| {
        if e.is_transient() {
            let hint = match &e {
                dependency::DependencyError::NotFound { namespace, name } => {
                    did_you_mean(lookup, namespace, name, name_of(ks))
                }
                _ => String::new(),
            };
            StepError::waiting(
                reason::DEPENDENCY_NOT_READY,
                format!("{e}{hint}"),
                REQUEUE_DEPENDENCY,
            )
        } else {
            StepError::stalled(
                reason::INVALID_CEL_EXPRESSION,
                format!("{TERMINAL_ERROR_MESSAGE}: {e}"),
            )
        }
    })
}

/// Seed 001's `dependsOn` typo: the Kustomization of `namespace` whose
/// name is closest to `name`, when one is close (never the one asking).
fn did_you_mean(lookup: &dyn Lookup, namespace: &str, name: &str, own: &str) -> String {
    lookup
        .keys_in("Kustomization", namespace)
        .into_iter()
        .map(|k| (strsim::levenshtein(&k.name, name), k.name))
        .filter(|(d, n)| *d <= 3.max(name.len() / 4) && n != name && n != own)
        .min()
        .map(|(_, n)| format!("; did you mean '{namespace}/{n}'?"))
        .unwrap_or_default()
}

/// The `substituteFrom` objects that exist, as the build wants them.
pub fn resolve_substitute_from(
    ks: &Kustomization,
    secrets: &dyn SecretSource,
) -> Result<SubstituteFrom, StepError> {
    let Some(pb) = &ks.spec.post_build else {
        return Ok(SubstituteFrom::Data(Vec::new()));
    };
    let ns = namespace_of(ks);
    let mut found = Vec::new();
    for r in &pb.substitute_from {
        let data = match r.kind.as_str() {
            "Secret" => secrets.secret(ns, &r.name).ok().map(|d| {
                d.iter()
                    .map(|(k, v)| (k.clone(), String::from_utf8_lossy(v).into_owned()))
                    .collect::<BTreeMap<_, _>>()
            }),
            "ConfigMap" => secrets.config_map(ns, &r.name).map_err(|e| {
                StepError::waiting(
                    reason::BUILD_FAILED,
                    format!("substitute from 'ConfigMap/{}' error: {e}", r.name),
                    retry_interval(ks),
                )
            })?,
            other => {
                return Err(StepError::stalled(
                    reason::BUILD_FAILED,
                    format!(
                        "postBuild.substituteFrom: kind '{other}' of '{}' is neither ConfigMap nor Secret",
                        r.name
                    ),
                ));
            }
        };
        if let Some(data) = data {
            found.push((r.kind.clone(), r.name.clone(), data));
        }
    }
    Ok(SubstituteFrom::Data(found))
}

/// Go's `time.Duration.String()`.
fn go_duration(d: Duration) -> String {
    ferroflux_api::Duration::from_std(d).to_string()
}

/// How a run that did not fail ended.
struct Applied {
    revision: String,
}

/// One run's state: the object, its status being written, the event
/// lines so far.
struct Run<'a> {
    ks: &'a Kustomization,
    st: KustomizationStatus,
    cx: &'a KustomizationCx<'a>,
    lines: Vec<String>,
    started: Instant,
}

impl Run<'_> {
    fn conditions(&mut self) -> Conditions<'_> {
        Conditions::new(
            &mut self.st.conditions,
            self.ks.metadata.generation,
            self.cx.clock.now_time(),
        )
    }

    fn progress(&mut self, what: &str, revision: &str) {
        let message = format!(
            "{what} for revision {revision} with a timeout of {}",
            go_duration(timeout(self.ks))
        );
        self.conditions().reconciling(&message);
    }

    fn record(&mut self, digest: &str, revision: &str, status: &str) {
        let mut meta = BTreeMap::new();
        meta.insert("revision".to_string(), revision.to_string());
        let at = self.cx.clock.now_time();
        history::upsert(
            &mut self.st.history,
            digest,
            at,
            self.started.elapsed(),
            status,
            meta,
        );
    }
}

/// Reconcile one Kustomization against its target cluster.
pub async fn reconcile(input: KustomizationInput, cx: &KustomizationCx<'_>) -> KustomizationResult {
    let ks = &input.kustomization;
    let mut st = ks.status.clone().unwrap_or_default();
    if let Some(token) = status::requested_at(&ks.metadata) {
        st.last_handled_reconcile_at = Some(token);
    }
    if ks.spec.suspend == Some(true) {
        return KustomizationResult {
            status: st,
            outcome: Outcome::Wait,
            event: None,
        };
    }
    let mut run = Run {
        ks,
        st,
        cx,
        lines: Vec::new(),
        started: Instant::now(),
    };
    let result = run.steps(&input).await;
    finish(run, &result)
}

/// `finalizeStatus` and the event.
fn finish(mut run: Run<'_>, result: &Result<Applied, StepError>) -> KustomizationResult {
    let ks = run.ks;
    let generation = ks.metadata.generation;
    let interval = ks.spec.interval.to_std().max(Duration::from_secs(1));
    let mut c = run.conditions();
    let (outcome, event) = match result {
        Ok(done) => {
            c.remove(condition::RECONCILING);
            c.remove(condition::STALLED);
            let message = format!("Applied revision: {}", done.revision);
            c.set(
                condition::READY,
                true,
                reason::RECONCILIATION_SUCCEEDED,
                &message,
            );
            run.st.observed_generation = generation;
            run.lines.push(format!(
                "Reconciliation finished in {}, next run in {}",
                go_duration(run.started.elapsed()),
                go_duration(ks.spec.interval.to_std())
            ));
            let event = event_of(EventType::Normal, reason::RECONCILIATION_SUCCEEDED, &run);
            (Outcome::RequeueAfter(interval), Some(event))
        }
        Err(e @ StepError::Stalled { .. }) => {
            c.remove(condition::RECONCILING);
            c.set(condition::STALLED, true, e.reason(), e.message());
            c.set(condition::READY, false, e.reason(), e.message());
            run.st.observed_generation = generation;
            run.lines.push(e.message().to_string());
            let event = event_of(EventType::Warning, e.reason(), &run);
            (Outcome::Wait, Some(event))
        }
        Err(e) => {
            c.remove(condition::STALLED);
            c.set(condition::READY, false, e.reason(), e.message());
            retrying(&mut run.st.conditions);
            let retry_after = match e {
                StepError::Waiting { retry_after, .. } => *retry_after,
                _ => retry_interval(ks),
            };
            let event = match e.reason() {
                // Flux only logs a missing source or artifact.
                reason::ARTIFACT_FAILED if source_missing(e.message()) => None,
                reason::DEPENDENCY_NOT_READY => {
                    run.lines.push(format!(
                        "Dependencies do not meet ready condition, retrying in {}",
                        go_duration(retry_after)
                    ));
                    Some(event_of(EventType::Normal, e.reason(), &run))
                }
                _ => {
                    run.lines.push(e.message().to_string());
                    Some(event_of(EventType::Warning, e.reason(), &run))
                }
            };
            (Outcome::RequeueAfter(retry_after), event)
        }
    };
    KustomizationResult {
        status: run.st,
        outcome,
        event,
    }
}

/// The messages of a source or artifact that is not there (yet).
fn source_missing(message: &str) -> bool {
    message.starts_with("Source artifact not found")
        || message.starts_with("Source is not ready, artifact not found")
        || (message.contains(".source.toolkit.fluxcd.io \"") && message.ends_with("\" not found"))
}

/// A failed run leaves `Reconciling` (when a step set it) as
/// `ProgressingWithRetry`.
fn retrying(conditions: &mut [Condition]) {
    if let Some(c) = conditions
        .iter_mut()
        .find(|c| c.type_ == condition::RECONCILING)
    {
        c.reason = reason::PROGRESSING_WITH_RETRY.to_string();
    }
}

fn event_of(type_: EventType, reason: &str, run: &Run<'_>) -> Event {
    Event {
        type_,
        reason: reason.to_string(),
        message: run.lines.join("\n"),
    }
}

impl Run<'_> {
    async fn steps(&mut self, input: &KustomizationInput) -> Result<Applied, StepError> {
        let exprs = compile_health_exprs(self.ks)?;
        let source = input.source.clone()?;
        input.dependencies.clone()?;
        let revision = source.artifact.revision.clone();
        self.conditions().set(
            condition::READY,
            false,
            reason::PROGRESSING,
            "Reconciliation in progress",
        );
        // `set` takes a bool; Flux's Ready is Unknown while it runs.
        mark_unknown(&mut self.st.conditions, condition::READY);
        self.progress("Fetching manifests", &revision);
        let old_inventory = self.st.inventory.clone().unwrap_or_default();
        let tmp = self.fetch(&source).await?;
        let dir = self.path_in(tmp.path(), &revision)?;
        self.st.last_attempted_revision = Some(revision.clone());
        self.progress("Building manifests", &revision);
        let target = self.target().await?;
        let manifests = self.build(tmp.path(), &dir, input).await?;
        drop(tmp);
        let objects = self.objects(&manifests)?;
        self.progress("Detecting drift", &revision);
        let written = self.apply(&*target, objects, &manifests, &revision).await?;
        let drifted = !written.change_set.changes().is_empty();
        self.prune(&*target, &old_inventory, &manifests, &revision)
            .await?;
        self.health(&*target, written, exprs, &revision, drifted)
            .await
            .inspect_err(|_| {
                self.record(&manifests.digest, &revision, reason::HEALTH_CHECK_FAILED);
            })?;
        self.st.last_applied_revision = Some(revision.clone());
        self.st.last_applied_origin_revision = None;
        self.record(
            &manifests.digest,
            &revision,
            reason::RECONCILIATION_SUCCEEDED,
        );
        Ok(Applied { revision })
    }
}

fn mark_unknown(conditions: &mut [Condition], type_: &str) {
    if let Some(c) = conditions.iter_mut().find(|c| c.type_ == type_) {
        c.status = "Unknown".to_string();
    }
}

/// `cel.NewStatusReader`: a bad expression is terminal.
fn compile_health_exprs(ks: &Kustomization) -> Result<Option<HealthExprs>, StepError> {
    if ks.spec.health_check_exprs.is_empty() {
        return Ok(None);
    }
    HealthExprs::compile(&ks.spec.health_check_exprs)
        .map(Some)
        .map_err(|e| {
            StepError::stalled(
                reason::INVALID_CEL_EXPRESSION,
                format!("{TERMINAL_ERROR_MESSAGE}: {e}"),
            )
        })
}

impl Run<'_> {
    /// Download (or read) the artifact, verify it, unpack it into a fresh
    /// `kustomization-*` directory.
    async fn fetch(&mut self, source: &SourceArtifact) -> Result<tempfile::TempDir, StepError> {
        let opts = &self.cx.options;
        let retry = retry_interval(self.ks);
        let tmp = std::fs::create_dir_all(&opts.work_dir)
            .and_then(|()| {
                tempfile::Builder::new()
                    .prefix("kustomization-")
                    .tempdir_in(&opts.work_dir)
            })
            .map_err(|e| {
                StepError::waiting(
                    reason::DIRECTORY_CREATION_FAILED,
                    format!("tmp dir error: {e}"),
                    retry,
                )
            })?;
        let fetch_opts = FetchOptions {
            local: opts.local_storage.clone(),
            temp_dir: opts.work_dir.clone(),
            ..opts.fetch.clone()
        };
        let a = &source.artifact;
        let digest = a.digest.as_deref().unwrap_or_default();
        let unpacked = tmp.path().join("src");
        match ferroflux_artifact::fetch::fetch(&a.url, digest, &unpacked, &fetch_opts).await {
            Ok(()) => Ok(tmp),
            Err(FetchError::NotFound { .. }) => Err(StepError::waiting(
                reason::ARTIFACT_FAILED,
                format!(
                    "Source is not ready, artifact not found, retrying in {}",
                    go_duration(opts.requeue_dependency)
                ),
                opts.requeue_dependency,
            )),
            Err(e) => Err(StepError::waiting(
                reason::ARTIFACT_FAILED,
                e.to_string(),
                retry,
            )),
        }
    }

    /// `spec.path` inside the unpacked artifact (lexically confined).
    fn path_in(&self, tmp: &Path, revision: &str) -> Result<PathBuf, StepError> {
        let root = tmp.join("src");
        let path = self.ks.spec.path.as_deref().unwrap_or_default();
        let dir = ferroflux_artifact::storage::secure_join(&root, path);
        match std::fs::metadata(&dir) {
            Ok(m) if m.is_dir() => Ok(dir),
            Ok(_) => Err(StepError::stalled(
                reason::ARTIFACT_FAILED,
                format!(
                    "kustomization path not found: spec.path '{path}' is a file, not a directory, \
                     in revision {revision}"
                ),
            )),
            Err(_) => Err(StepError::stalled(
                reason::ARTIFACT_FAILED,
                format!(
                    "kustomization path not found: stat {path}: no such file or directory \
                     (spec.path '{path}' does not exist in revision {revision}{})",
                    nearest_hint(&root, path)
                ),
            )),
        }
    }

    /// The client for the object: `kubeConfig`, `serviceAccountName`.
    async fn target(&self) -> Result<Arc<dyn TargetCluster>, StepError> {
        let ks = self.ks;
        let spec = target_spec(ks, self.cx.options.default_service_account.as_deref());
        self.cx.targets.target(&spec).await.map_err(|e| match e {
            StepError::Stalled { .. } => e,
            other => StepError::waiting(
                reason::RECONCILIATION_FAILED,
                format!("failed to build kube client: {}", other.message()),
                retry_interval(ks),
            ),
        })
    }
}

/// The cluster `ks` asks for.
pub fn target_spec(ks: &Kustomization, default_service_account: Option<&str>) -> TargetSpec {
    let ns = namespace_of(ks);
    let secret = ks
        .spec
        .kube_config
        .as_ref()
        .and_then(|k| k.secret_ref.as_ref());
    TargetSpec {
        requester: format!("Kustomization/{ns}/{}", name_of(ks)),
        namespace: ns.to_string(),
        kube_config_secret: secret.map(|s| s.name.clone()),
        kube_config_key: secret.and_then(|s| s.key.clone()).filter(|k| !k.is_empty()),
        service_account_name: ks
            .spec
            .service_account_name
            .clone()
            .filter(|s| !s.is_empty())
            .or_else(|| default_service_account.map(str::to_string)),
    }
}

/// The top-level directories of the artifact, when `path` names none of
/// them: what the user probably meant.
fn nearest_hint(root: &Path, path: &str) -> String {
    let mut dirs: Vec<String> = std::fs::read_dir(root)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs.truncate(10);
    if dirs.is_empty() {
        return String::new();
    }
    let _ = path;
    format!("; its top-level directories: {}", dirs.join(", "))
}

impl Run<'_> {
    /// `generate` + `build` on the blocking pool.
    async fn build(
        &self,
        root: &Path,
        dir: &Path,
        input: &KustomizationInput,
    ) -> Result<Manifests, StepError> {
        let retry = retry_interval(self.ks);
        let failed = |m: String| StepError::waiting(reason::BUILD_FAILED, m, retry);
        let decryption = input.decryption.clone()?;
        let substitute_from = input.substitute_from.clone()?;
        // Messages name files relative to the artifact, not the temp dir.
        let shown_root = format!("{}/", root.join("src").display());
        let (root, dir, ks) = (root.to_path_buf(), dir.to_path_buf(), self.ks.clone());
        let built = tokio::task::spawn_blocking(move || {
            let disk = ferroflux_kustomize::DiskFs::new(&root).map_err(|e| e.to_string())?;
            let mut opts = BuildOptions {
                strict_substitute: true,
                substitute_from,
                ..BuildOptions::default()
            };
            // Decrypted generator inputs stay in memory (an overlay over
            // the artifact), never on disk as Flux's decryptor writes them.
            let files = match &decryption {
                // Paths in messages are relative to the artifact (`src/`).
                Some(keys) => decrypt::decrypt_sources(&disk, &root.join("src"), &dir, &ks, keys)?,
                None => BTreeMap::new(),
            };
            opts.decrypt = decryption.map(decrypt::resource_hook);
            let fs = decrypt::Decrypted {
                inner: &disk,
                files,
            };
            ferroflux_kustomize::flux::build_for_apply(&fs, &dir, &ks, &opts)
                .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| failed(format!("kustomize build failed: {e}")))?;
        built.map_err(|m| failed(m.replace(&shown_root, "")))
    }
}

/// The build output as objects: Lists flattened, what is not a Kubernetes
/// object dropped (`ssautil.ReadObjects`).
fn read_objects(yaml: &str) -> Result<Vec<Value>, String> {
    let docs = ferroflux_api::yaml::parse_stream(yaml)
        .map_err(|e| format!("failed to decode the build output: {e}"))?;
    let mut out = Vec::new();
    for v in docs.into_iter().filter_map(|d| d.node.map(|n| n.to_json())) {
        let is_list = v["kind"]
            .as_str()
            .is_some_and(|k| k.ends_with("List") && v["items"].is_array());
        if is_list {
            if let Some(items) = v["items"].as_array() {
                out.extend(items.iter().filter(|i| is_object(i)).cloned());
            }
        } else if is_object(&v) {
            out.push(v);
        }
    }
    Ok(out)
}

/// Has apiVersion, kind and name, and is no kustomize.config.k8s.io
/// Kustomization.
fn is_object(v: &Value) -> bool {
    let s = |p: &str| {
        v.pointer(p)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    };
    s("/apiVersion")
        && s("/kind")
        && s("/metadata/name")
        && !v["apiVersion"]
            .as_str()
            .is_some_and(|a| a.starts_with("kustomize.config.k8s.io/"))
}

/// `SetCommonMetadata`: labels and annotations merged, overriding.
fn common_metadata(obj: &mut Value, cm: &ferroflux_api::kustomize::CommonMetadata) {
    for (field, map) in [("labels", &cm.labels), ("annotations", &cm.annotations)] {
        let Some(map) = map.as_ref().filter(|m| !m.is_empty()) else {
            continue;
        };
        let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
            return;
        };
        let slot = meta
            .entry(field)
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(serde_json::Map::new());
        }
        for (k, v) in map {
            slot[k] = Value::String(v.clone());
        }
    }
}

/// A v1 Secret still holding a `sops` block, not opted out of decryption.
fn sops_encrypted(obj: &Value) -> bool {
    let disabled = obj["metadata"]["annotations"]["kustomize.toolkit.fluxcd.io/decrypt"]
        .as_str()
        .is_some_and(|v| v.eq_ignore_ascii_case("disabled"));
    obj["apiVersion"] == "v1" && obj["kind"] == "Secret" && !obj["sops"].is_null() && !disabled
}

/// Jobs whose `ttlSecondsAfterFinished` lets them vanish once done.
fn jobs_with_ttl(objects: &[Value]) -> Vec<ObjMetadata> {
    objects
        .iter()
        .filter(|o| {
            o["kind"] == "Job"
                && o["apiVersion"]
                    .as_str()
                    .is_some_and(|a| a.starts_with("batch/"))
                && !o["spec"]["ttlSecondsAfterFinished"].is_null()
        })
        .filter_map(|o| ObjMetadata::from_object(o, 0).ok())
        .collect()
}

fn to_status_inventory(inv: &inventory::Inventory) -> ResourceInventory {
    ResourceInventory {
        entries: inv
            .entries
            .iter()
            .map(|e| ResourceRef {
                id: e.id.clone(),
                v: e.v.clone(),
            })
            .collect(),
    }
}

fn from_status_inventory(inv: &ResourceInventory) -> inventory::Inventory {
    inventory::Inventory {
        entries: inv
            .entries
            .iter()
            .map(|e| inventory::Entry {
                id: e.id.clone(),
                v: e.v.clone(),
            })
            .collect(),
    }
}

/// The change lines of a set, each followed by `\n` (Flux's log buffer).
fn change_lines(cs: &ChangeSet) -> String {
    cs.entries
        .iter()
        .filter(|e| e.action.changed())
        .map(|e| format!("{e}\n"))
        .collect()
}

impl Run<'_> {
    /// Decode, label as ours, merge `commonMetadata`, refuse SOPS.
    fn objects(&self, manifests: &Manifests) -> Result<Vec<Value>, StepError> {
        let retry = retry_interval(self.ks);
        let mut objects = read_objects(&manifests.yaml)
            .map_err(|m| StepError::waiting(reason::BUILD_FAILED, m, retry))?;
        let owner = Owner::new(name_of(self.ks), namespace_of(self.ks));
        for o in &mut objects {
            owner.label(o);
            if let Some(cm) = &self.ks.spec.common_metadata {
                common_metadata(o, cm);
            }
            if sops_encrypted(o) {
                let subject = ObjMetadata::from_object(o, 0)
                    .map(|m| m.subject())
                    .unwrap_or_default();
                return Err(StepError::waiting(
                    reason::RECONCILIATION_FAILED,
                    format!(
                        "{subject} is SOPS encrypted, configuring decryption is required for this secret to be reconciled"
                    ),
                    retry,
                ));
            }
        }
        Ok(objects)
    }

    /// The staged apply; the inventory of what it applied.
    async fn apply(
        &mut self,
        target: &dyn TargetCluster,
        objects: Vec<Value>,
        manifests: &Manifests,
        revision: &str,
    ) -> Result<Written, StepError> {
        let ks = self.ks;
        let jobs = jobs_with_ttl(&objects);
        let mut opts = self.cx.options.apply.clone();
        opts.force = ks.spec.force == Some(true);
        opts.drift_ignore_rules = ks
            .spec
            .ignore
            .iter()
            .map(ferroflux_kube::apply::IgnoreRule::from)
            .collect();
        let (change_set, written) = if objects.is_empty() {
            (ChangeSet::default(), Vec::new())
        } else {
            match target.apply_staged(objects, &opts).await {
                Ok(applied) => applied,
                Err(f) => {
                    self.record(&manifests.digest, revision, reason::RECONCILIATION_FAILED);
                    return Err(StepError::waiting(
                        reason::RECONCILIATION_FAILED,
                        format!("{}\n{}", f.error, change_lines(&f.change_set)),
                        retry_interval(ks),
                    ));
                }
            }
        };
        let changes = change_set.changes();
        if !changes.is_empty() {
            self.lines.push(changes);
        }
        self.st.inventory = Some(to_status_inventory(&change_set.to_inventory()));
        Ok(Written {
            change_set,
            jobs_with_ttl: jobs,
            answers: written,
        })
    }

    /// Garbage collection of what left the inventory (`spec.prune`).
    async fn prune(
        &mut self,
        target: &dyn TargetCluster,
        old: &ResourceInventory,
        manifests: &Manifests,
        revision: &str,
    ) -> Result<(), StepError> {
        let ks = self.ks;
        let retry = retry_interval(ks);
        let mut new = from_status_inventory(&self.st.inventory.clone().unwrap_or_default());
        let stale = inventory::stale(&from_status_inventory(old), &new).map_err(|e| {
            self.record(&manifests.digest, revision, reason::RECONCILIATION_FAILED);
            StepError::waiting(reason::RECONCILIATION_FAILED, e.to_string(), retry)
        })?;
        if stale.is_empty() {
            return Ok(());
        }
        if !ks.spec.prune {
            let subjects: Vec<String> = stale.iter().map(|o| o.meta.subject()).collect();
            self.lines.push(format!(
                "{} left the source but spec.prune is false: not deleted (set prune: true to \
                 garbage-collect what is removed from Git)",
                subjects.join(", ")
            ));
            return Ok(());
        }
        let opts = DeleteOptions {
            owner: Some(Owner::new(name_of(ks), namespace_of(ks))),
            keep_shared_namespaces: true,
        };
        match target.delete(&stale, &opts).await {
            Ok(cs) => {
                if !cs.entries.is_empty() {
                    self.lines.push(cs.to_string());
                }
                Ok(())
            }
            Err(f) => {
                new.merge(&f.change_set.survivors(&stale));
                self.st.inventory = Some(to_status_inventory(&new));
                self.record(&manifests.digest, revision, reason::PRUNE_FAILED);
                Err(StepError::waiting(
                    reason::PRUNE_FAILED,
                    f.error.to_string(),
                    retry,
                ))
            }
        }
    }
}

/// The objects the health check looks at (`checkHealth`): with `wait`
/// every applied object but the skipped, else `healthChecks`; never the
/// Kustomization itself.
fn health_objects(ks: &Kustomization, change_set: &ChangeSet) -> Result<Vec<ObjRef>, String> {
    let objects: Vec<ObjRef> = if ks.spec.wait == Some(true) {
        change_set
            .entries
            .iter()
            .filter(|e| e.action != crate::target::Action::Skipped)
            .map(|e| ObjRef {
                meta: e.meta.clone(),
                version: e.version.clone(),
            })
            .collect()
    } else {
        let mut out = Vec::new();
        for (i, r) in ks.spec.health_checks.iter().enumerate() {
            let api_version = r.api_version.as_deref().filter(|a| !a.is_empty());
            let api_version = api_version.unwrap_or("apps/v1");
            if api_version.split('/').count() > 2 || api_version.ends_with('/') {
                return Err(format!(
                    "spec.healthChecks[{i}].apiVersion: unexpected GroupVersion string: {api_version}"
                ));
            }
            out.push(ObjRef {
                meta: ObjMetadata::new(
                    r.namespace.as_deref().unwrap_or_default(),
                    &r.name,
                    inventory::group_of(api_version),
                    &r.kind,
                ),
                version: inventory::version_of(api_version).to_string(),
            });
        }
        out
    };
    Ok(objects
        .into_iter()
        .filter(|o| {
            !(o.meta.kind == "Kustomization"
                && o.meta.name == name_of(ks)
                && o.meta.namespace == namespace_of(ks))
        })
        .collect())
}

/// `healthCheckExprs` as the wait's custom rule.
fn custom_health(exprs: HealthExprs) -> CustomHealth {
    Arc::new(move |obj: &Value| {
        let health = match exprs.evaluate(obj)? {
            Ok(ExprStatus::Current) => Health {
                status: Status::Current,
                message: "healthy according to healthCheckExprs".into(),
            },
            Ok(ExprStatus::InProgress) => Health {
                status: Status::InProgress,
                message: "in progress according to healthCheckExprs".into(),
            },
            Ok(ExprStatus::Failed) => Health {
                status: Status::Failed,
                message: "failed according to healthCheckExprs".into(),
            },
            Err(e) => Health {
                status: Status::Unknown,
                message: e,
            },
        };
        Some(health)
    })
}

/// What an apply leaves for the steps after it.
struct Written {
    change_set: ChangeSet,
    /// Jobs with `ttlSecondsAfterFinished`: gone counts as done.
    jobs_with_ttl: Vec<ObjMetadata>,
    /// The apiserver's answers to the writes (the health wait's first look).
    answers: Vec<Value>,
}

impl Run<'_> {
    /// `checkHealth`: wait for the objects, set `Healthy`.
    async fn health(
        &mut self,
        target: &dyn TargetCluster,
        written: Written,
        exprs: Option<HealthExprs>,
        revision: &str,
        drifted: bool,
    ) -> Result<(), StepError> {
        let Written {
            change_set,
            jobs_with_ttl,
            answers,
        } = written;
        let ks = self.ks;
        let retry = retry_interval(ks);
        let objects = health_objects(ks, &change_set)
            .map_err(|m| StepError::waiting(reason::HEALTH_CHECK_FAILED, m, retry))?;
        if objects.is_empty() || (ks.spec.health_checks.is_empty() && ks.spec.wait != Some(true)) {
            self.conditions().remove(condition::HEALTHY);
            return Ok(());
        }
        let was_healthy = status::is_true(&self.st.conditions, condition::HEALTHY);
        let is_new_revision = self.st.last_applied_revision.as_deref() != Some(revision);
        self.progress("Running health checks", revision);
        let message = format!(
            "Running health checks for revision {revision} with a timeout of {}",
            go_duration(timeout(ks))
        );
        self.conditions()
            .set(condition::HEALTHY, false, reason::PROGRESSING, &message);
        mark_unknown(&mut self.st.conditions, condition::HEALTHY);
        let opts = WaitOptions {
            interval: self.cx.options.health_interval,
            timeout: timeout(ks),
            fail_fast: true,
            jobs_with_ttl,
            custom: exprs.map(custom_health),
            seen: answers,
        };
        let started = Instant::now();
        // Waiting is not work: the job's worker may serve another reconcile.
        match crate::park::parked(target.wait(&objects, &opts)).await {
            Ok(_) => {
                let message = format!("Health check passed in {}", go_duration(started.elapsed()));
                if !was_healthy || (is_new_revision && drifted) {
                    self.lines.push(message.clone());
                }
                self.conditions()
                    .set(condition::HEALTHY, true, reason::SUCCEEDED, &message);
                Ok(())
            }
            Err(e) => {
                self.conditions().set(
                    condition::HEALTHY,
                    false,
                    reason::HEALTH_CHECK_FAILED,
                    &e.to_string(),
                );
                Err(StepError::waiting(
                    reason::HEALTH_CHECK_FAILED,
                    ferroflux_kube::apply::health_check_failed_message(started.elapsed(), &e),
                    retry,
                ))
            }
        }
    }
}

/// What the deletion of a Kustomization did.
#[derive(Debug, Clone)]
pub struct FinalizeResult {
    /// `Ok`: the finalizer can go. `Err`: keep it and retry (the prune
    /// failed, or the cluster could not be reached).
    pub result: Result<(), StepError>,
    /// Flux's events: the delete change set, `pruning for deleted resource
    /// failed`, `failed to wait for resources termination`, `unable to
    /// prune objects: …`.
    pub events: Vec<Event>,
}

/// `finalizerShouldDeleteResources`: not suspended, an inventory, and
/// the deletion policy (`MirrorPrune`, the default, follows `spec.prune`).
pub fn should_delete_resources(ks: &Kustomization) -> bool {
    let has_inventory = ks
        .status
        .as_ref()
        .and_then(|s| s.inventory.as_ref())
        .is_some_and(|i| !i.entries.is_empty());
    if ks.spec.suspend == Some(true) || !has_inventory {
        return false;
    }
    match ks
        .spec
        .deletion_policy
        .as_deref()
        .filter(|p| !p.is_empty())
        .unwrap_or(deletion_policy::MIRROR_PRUNE)
    {
        deletion_policy::MIRROR_PRUNE => ks.spec.prune,
        deletion_policy::DELETE | deletion_policy::WAIT_FOR_TERMINATION => true,
        _ => false,
    }
}

fn info(message: String) -> Event {
    Event {
        type_: EventType::Normal,
        reason: reason::PROGRESSING.to_string(),
        message,
    }
}

fn warning(message: String) -> Event {
    Event {
        type_: EventType::Warning,
        reason: reason::PRUNE_FAILED.to_string(),
        message,
    }
}

/// kustomize-controller's `finalize`: delete the inventory (owner labels
/// and prune exclusions respected) when [`should_delete_resources`], and
/// with `WaitForTermination` wait for the objects to be gone (a timeout
/// is only reported). A cluster that cannot be had for good (no target
/// configured) is reported and the finalizer released, as Flux does when
/// the impersonated account is gone.
pub async fn finalize(ks: &Kustomization, cx: &KustomizationCx<'_>) -> FinalizeResult {
    let mut events = Vec::new();
    if !should_delete_resources(ks) {
        return FinalizeResult {
            result: Ok(()),
            events,
        };
    }
    let inv = ks
        .status
        .as_ref()
        .and_then(|s| s.inventory.clone())
        .unwrap_or_default();
    let objects = from_status_inventory(&inv).objects().unwrap_or_default();
    let spec = target_spec(ks, cx.options.default_service_account.as_deref());
    let target = match cx.targets.target(&spec).await {
        Ok(t) => t,
        Err(StepError::Stalled { message, .. }) => {
            let subjects: Vec<String> = objects.iter().map(|o| o.meta.subject()).collect();
            events.push(warning(format!(
                "unable to prune objects: \n{}\n({message})",
                subjects.join("\n")
            )));
            return FinalizeResult {
                result: Ok(()),
                events,
            };
        }
        Err(e) => {
            return FinalizeResult {
                result: Err(e),
                events,
            };
        }
    };
    let opts = DeleteOptions {
        owner: Some(Owner::new(name_of(ks), namespace_of(ks))),
        keep_shared_namespaces: true,
    };
    let deleted = match target.delete(&objects, &opts).await {
        Ok(cs) => cs,
        Err(f) => {
            events.push(warning("pruning for deleted resource failed".to_string()));
            let e = StepError::retry(reason::PRUNE_FAILED, f.error.to_string());
            return FinalizeResult {
                result: Err(e),
                events,
            };
        }
    };
    if !deleted.entries.is_empty() {
        events.push(info(deleted.to_string()));
    }
    if ks.spec.deletion_policy.as_deref() == Some(deletion_policy::WAIT_FOR_TERMINATION) {
        let opts = WaitOptions {
            interval: Duration::from_secs(2),
            timeout: timeout(ks),
            ..WaitOptions::default()
        };
        if target.wait_for_termination(&deleted, &opts).await.is_err() {
            events.push(warning(
                "failed to wait for resources termination".to_string(),
            ));
        }
    }
    FinalizeResult {
        result: Ok(()),
        events,
    }
}
