//! HelmChart (`source.toolkit.fluxcd.io/v1`): a chart pulled from a
//! HelmRepository's index, or packaged from a directory of a GitRepository
//! artifact, stored as `<name>-<version>.tgz` (source-controller v1.9.1,
//! helm-semantics.md §9.2).
//!
//! One run, as source-controller's sub-reconcilers: `storage` (garbage
//! collection, the advertised artifact still there with its digest, its
//! URLs rewritten), `source` (the `sourceRef` and its artifact, then the
//! build: from a HelmRepository the index in our storage, the version
//! selected, the chart downloaded with the repository's credentials unless
//! the stored one already has that name and version, `valuesFiles` merged
//! and version metadata set by repackaging; from a GitRepository the
//! artifact unpacked, the chart directory (its dependencies present in
//! `charts/`) packaged with the values files of the source root and, with
//! `reconcileStrategy: Revision`, the commit in the version), `artifact`
//! (written unless the build is the stored artifact, the `latest.tar.gz`
//! link in `status.url`).
//!
//! Blocking IO (the download is handed in): async callers use
//! `spawn_blocking`.

use std::path::Path;
use std::time::Duration;

use ferroflux_api::meta::{condition, reason};
use ferroflux_api::source::{Artifact, HelmChart, HelmChartStatus, HelmRepository};
use ferroflux_artifact::http::HttpOptions;
use ferroflux_artifact::{Limits, Storage, storage};
use ferroflux_helm::chart;
use ferroflux_helm::package;
use ferroflux_helm::repo::{self, Index};
use serde_json::{Map, Value};

use super::helm_repository::{self, Fetch};
use super::oci_repository::{self, ChartPull, ChartPullError, PulledChart};
use crate::clock::Clock;
use crate::kind::SecretData;
use crate::status::{self, Conditions, Event, EventType, Outcome, StepError};

mod kind;
#[cfg(test)]
mod tests;

/// The kind as it names the storage directory (`helmchart/...`).
pub const KIND: &str = "HelmChart";

/// source-controller's reasons of this kind.
pub mod reasons {
    pub const CHART_PULL_SUCCEEDED: &str = "ChartPullSucceeded";
    pub const CHART_PACKAGE_SUCCEEDED: &str = "ChartPackageSucceeded";
    pub const NO_SOURCE_ARTIFACT: &str = "NoSourceArtifact";
    pub const SOURCE_UNAVAILABLE: &str = "SourceUnavailable";
    pub const UNSUPPORTED_SOURCE_KIND: &str = "UnsupportedSourceKind";
    pub const NEW_CHART: &str = "NewChart";
    pub const ARTIFACT_OUTDATED: &str = "ArtifactOutdated";
    pub const ARTIFACT_UP_TO_DATE: &str = "ArtifactUpToDate";
    pub const STORAGE_OPERATION_FAILED: &str = "StorageOperationFailed";
    pub const ARCHIVE_OPERATION_FAILED: &str = "ArchiveOperationFailed";
    pub const BUILD_FAILED: &str = "BuildFailed";
}

/// A failed build, as source-controller's `BuildError`: its reason (the
/// condition's) and summary (the message's prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildReason {
    ChartReference,
    ChartPull,
    MetadataPatch,
    ValuesFilesMerge,
    DependencyBuild,
    ChartPackage,
    ChartVerification,
    Unknown,
}

impl BuildReason {
    pub fn reason(self) -> &'static str {
        match self {
            BuildReason::ChartReference => "InvalidChartReference",
            BuildReason::ChartPull => "ChartPullError",
            BuildReason::MetadataPatch => "MetadataPatchError",
            BuildReason::ValuesFilesMerge => "ValuesFilesError",
            BuildReason::DependencyBuild => "DependencyBuildError",
            BuildReason::ChartPackage => "ChartPackageError",
            BuildReason::ChartVerification => "ChartVerificationError",
            BuildReason::Unknown => "Unknown",
        }
    }

    fn summary(self) -> &'static str {
        match self {
            BuildReason::ChartReference => "invalid chart reference",
            BuildReason::ChartPull => "chart pull error",
            BuildReason::MetadataPatch => "chart metadata patch error",
            BuildReason::ValuesFilesMerge => "values files merge error",
            BuildReason::DependencyBuild => "dependency build error",
            BuildReason::ChartPackage => "chart package error",
            BuildReason::ChartVerification => "chart verification error",
            BuildReason::Unknown => "unknown build error",
        }
    }

    /// `IsPersistentBuildErrorReason`: only a spec change helps.
    fn persistent(self) -> bool {
        matches!(
            self,
            BuildReason::ChartReference
                | BuildReason::MetadataPatch
                | BuildReason::ValuesFilesMerge
        )
    }

    /// The condition it sets: BuildFailed or FetchFailed.
    fn build_failed(self) -> bool {
        matches!(
            self,
            BuildReason::MetadataPatch
                | BuildReason::ValuesFilesMerge
                | BuildReason::DependencyBuild
                | BuildReason::ChartPackage
                | BuildReason::ChartVerification
        )
    }

    fn error(self, detail: impl std::fmt::Display) -> BuildError {
        BuildError {
            reason: self,
            message: format!("{}: {detail}", self.summary()),
            auth: false,
        }
    }
}

/// A build failure with its message (`<summary>: <detail>`).
#[derive(Debug, Clone)]
pub struct BuildError {
    pub reason: BuildReason,
    pub message: String,
    /// A 401/403 or TLS refusal: Flux reports AuthenticationFailed.
    auth: bool,
}

/// The source a HelmChart names, as the caller found it.
#[derive(Debug, Clone)]
pub enum ChartSource {
    /// Not found, or not readable: why (`... not found`).
    Missing(String),
    /// A kind HelmCharts cannot read.
    Unsupported(String),
    HelmRepository {
        repository: Box<HelmRepository>,
        /// Its `secretRef` and `certSecretRef` Secrets.
        secret: Option<Result<SecretData, String>>,
        cert_secret: Option<Result<SecretData, String>>,
    },
    /// A GitRepository's artifact (None: it has none yet).
    GitRepository(Option<Artifact>),
}

/// What one run works from; the caller looked everything up.
#[derive(Clone, Copy)]
pub struct HelmChartInput<'a> {
    pub chart: &'a HelmChart,
    pub source: &'a ChartSource,
    pub storage: &'a Storage,
    /// Bounds of an unpacked source artifact.
    pub limits: &'a Limits,
    /// Retry after a source without an artifact (`--requeue-dependency`).
    pub requeue_dependency: Duration,
    /// The HelmRepositories of the chart's namespace, whose credentials a
    /// remote dependency of a Git chart uses when its URL is theirs.
    pub repositories: &'a [DependencyRepository],
    /// Pulls charts of `type: oci` HelmRepositories (None: such a chart
    /// fails with a clear error).
    pub oci: Option<OciPull<'a>>,
}

/// Resolves and pulls a chart from an OCI registry:
/// [`oci_repository::pull_chart`] on the runtime in production.
pub type OciPull<'a> = &'a (dyn Fn(&ChartPull) -> Result<PulledChart, ChartPullError> + Sync);

/// A HelmRepository of the namespace with its Secrets, for dependencies.
#[derive(Debug, Clone)]
pub struct DependencyRepository {
    pub repository: HelmRepository,
    pub secret: Option<Result<SecretData, String>>,
    pub cert_secret: Option<Result<SecretData, String>>,
}

/// The new status, when to run again, and the event.
#[derive(Debug, Clone)]
pub struct HelmChartResult {
    pub status: HelmChartStatus,
    pub outcome: Outcome,
    pub event: Option<Event>,
}

/// A build: what `chart.Build` holds.
#[derive(Debug, Clone, Default)]
struct Build {
    name: String,
    version: String,
    /// The package to store (None: the stored artifact is this build).
    data: Option<Vec<u8>>,
    /// Whether there is a chart (stored or new).
    complete: bool,
    values_files: Vec<String>,
    packaged: bool,
}

impl Build {
    fn has_metadata(&self) -> bool {
        !self.name.is_empty() && !self.version.is_empty()
    }

    /// `Build.Summary`.
    fn summary(&self) -> String {
        if !self.has_metadata() {
            return "no chart build".into();
        }
        let action = match (self.complete, self.packaged) {
            (false, _) => "new",
            (true, false) => "pulled",
            (true, true) => "packaged",
        };
        let mut s = format!(
            "{action} '{}' chart with version '{}'",
            self.name, self.version
        );
        if !self.values_files.is_empty() {
            s.push_str(&format!(
                " and merged values files [{}]",
                self.values_files.join(" ")
            ));
        }
        s
    }

    fn reason(&self) -> &'static str {
        if self.packaged {
            reasons::CHART_PACKAGE_SUCCEEDED
        } else {
            reasons::CHART_PULL_SUCCEEDED
        }
    }
}

/// Reconcile one HelmChart.
pub fn reconcile(
    input: &HelmChartInput<'_>,
    clock: &dyn Clock,
    fetch: Fetch<'_>,
) -> HelmChartResult {
    let hc = input.chart;
    let mut st = hc.status.clone().unwrap_or_default();
    if let Some(token) = status::requested_at(&hc.metadata) {
        st.last_handled_reconcile_at = Some(token);
    }
    if hc.spec.suspend == Some(true) {
        return HelmChartResult {
            status: st,
            outcome: Outcome::Wait,
            event: None,
        };
    }
    let before = st.clone();
    let mut build = Build::default();
    let done = run(input, clock, fetch, &mut st, &mut build);
    let result = done.as_ref().map(|_| build.summary()).map_err(Clone::clone);
    let generation = hc.metadata.generation;
    status::finish_observed(
        &mut st.conditions,
        &mut st.observed_generation,
        generation,
        clock.now_time(),
        &result,
    );
    // Ready carries the build's reason on success, as Flux summarises it.
    if result.is_ok()
        && let Some(c) = st
            .conditions
            .iter_mut()
            .find(|c| c.type_ == condition::READY)
    {
        c.reason = build.reason().to_string();
    }
    let interval = hc.spec.interval.to_std().max(Duration::from_secs(1));
    let event = event(&before, &st, &done, &build);
    HelmChartResult {
        outcome: status::outcome(&result, Some(interval)),
        status: st,
        event,
    }
}

/// source-controller's `reconcileDelete`: every artifact of the object.
pub fn delete(hc: &HelmChart, storage: &Storage) -> Result<(), StepError> {
    let (ns, name) = names(hc);
    storage.remove_all(KIND, &ns, &name).map_err(|e| {
        StepError::retry(
            "GarbageCollectionFailed",
            format!("garbage collection for deleted resource failed: {e}"),
        )
    })?;
    Ok(())
}

fn names(hc: &HelmChart) -> (String, String) {
    (
        hc.metadata.namespace.clone().unwrap_or_default(),
        hc.metadata.name.clone().unwrap_or_default(),
    )
}

/// Flux's `notify`: the build summary on a new artifact or a recovery, a
/// Warning on failure, a trace when up to date.
fn event(
    before: &HelmChartStatus,
    after: &HelmChartStatus,
    done: &Result<bool, StepError>,
    build: &Build,
) -> Option<Event> {
    let stored = match done {
        Err(e) => {
            return Some(Event {
                type_: EventType::Warning,
                reason: e.reason().to_string(),
                message: e.message().to_string(),
            });
        }
        Ok(stored) => *stored,
    };
    let old = before.artifact.as_ref().and_then(|a| a.digest.clone());
    let new = after.artifact.as_ref().and_then(|a| a.digest.clone());
    let failed_before =
        status::get(&before.conditions, condition::READY).is_some_and(|c| c.status == "False");
    if old != new || failed_before {
        return Some(Event {
            type_: EventType::Normal,
            reason: build.reason().to_string(),
            message: build.summary(),
        });
    }
    let revision = after.artifact.as_ref().map(|a| a.revision.clone());
    Some(Event {
        type_: EventType::Trace,
        reason: reasons::ARTIFACT_UP_TO_DATE.to_string(),
        message: if stored {
            build.summary()
        } else {
            format!(
                "artifact up-to-date with remote revision: '{}'",
                revision.unwrap_or_default()
            )
        },
    })
}

fn conditions_of<'s>(
    st: &'s mut HelmChartStatus,
    input: &HelmChartInput<'_>,
    clock: &dyn Clock,
) -> Conditions<'s> {
    Conditions::new(
        &mut st.conditions,
        input.chart.metadata.generation,
        clock.now_time(),
    )
}

/// The run; Ok(true) when a new artifact was written.
fn run(
    input: &HelmChartInput<'_>,
    clock: &dyn Clock,
    fetch: Fetch<'_>,
    st: &mut HelmChartStatus,
    build: &mut Build,
) -> Result<bool, StepError> {
    if let Some(message) =
        super::new_generation(st.observed_generation, input.chart.metadata.generation)
    {
        conditions_of(st, input, clock).reconciling(&message);
    }
    reconcile_storage(input, clock, st);
    reconcile_source(input, clock, fetch, st, build)?;
    reconcile_artifact(input, clock, st, build)
}

/// `reconcileStorage`: as every source kind's, `latest.tar.gz` the link.
fn reconcile_storage(input: &HelmChartInput<'_>, clock: &dyn Clock, st: &mut HelmChartStatus) {
    super::check_stored_at(
        input.storage,
        clock,
        input.chart.metadata.generation,
        &mut st.artifact,
        &mut st.url,
        &mut st.conditions,
        "latest.tar.gz",
    );
}

/// `reconcileSource`: the source and its artifact, then the build and
/// its observation (`observeChartBuild`).
fn reconcile_source(
    input: &HelmChartInput<'_>,
    clock: &dyn Clock,
    fetch: Fetch<'_>,
    st: &mut HelmChartStatus,
    build: &mut Build,
) -> Result<(), StepError> {
    let spec = &input.chart.spec;
    let source_kind = &spec.source_ref.kind;
    let source_name = &spec.source_ref.name;
    let mut c = conditions_of(st, input, clock);
    c.remove(condition::SOURCE_VERIFIED);
    let artifact = match input.source {
        ChartSource::Missing(why) => {
            let e = StepError::retry(
                reasons::SOURCE_UNAVAILABLE,
                format!("failed to get source: {why}"),
            );
            c.set(condition::FETCH_FAILED, true, e.reason(), e.message());
            return Err(e);
        }
        ChartSource::Unsupported(kind) => {
            let message = format!(
                "failed to get source: unsupported source kind '{kind}', must be one of: [HelmRepository GitRepository Bucket]"
            );
            c.set(
                condition::FETCH_FAILED,
                true,
                reasons::SOURCE_UNAVAILABLE,
                &message,
            );
            return Err(StepError::stalled(
                reasons::UNSUPPORTED_SOURCE_KIND,
                message,
            ));
        }
        ChartSource::HelmRepository { repository, .. } => {
            repository.status.as_ref().and_then(|s| s.artifact.clone())
        }
        ChartSource::GitRepository(a) => a.clone(),
    };
    if let ChartSource::HelmRepository {
        repository,
        secret,
        cert_secret,
    } = input.source
        && repository.spec.repo_type == Some(ferroflux_api::source::HelmRepositoryType::Oci)
    {
        // A static OCI repository has no artifact: the chart is pulled
        // from the registry.
        let result = build_from_oci(
            input,
            st,
            repository,
            secret.as_ref().map(|s| s.as_ref().map_err(String::as_str)),
            cert_secret
                .as_ref()
                .map(|s| s.as_ref().map_err(String::as_str)),
            clock,
            build,
        );
        return observe_build(input, clock, st, build, result);
    }
    let Some(artifact) = artifact.filter(|a| input.storage.exists(&a.path)) else {
        let message = format!("no artifact available for {source_kind} source '{source_name}'");
        c.set(
            condition::FETCH_FAILED,
            true,
            reasons::NO_SOURCE_ARTIFACT,
            &message,
        );
        return Err(StepError::waiting(
            reasons::NO_SOURCE_ARTIFACT,
            message,
            input.requeue_dependency,
        ));
    };
    st.observed_source_artifact_revision = Some(artifact.revision.clone());
    let result = match input.source {
        ChartSource::HelmRepository {
            repository,
            secret,
            cert_secret,
        } => build_from_repository(
            input,
            st,
            repository,
            secret.as_ref().map(|s| s.as_ref().map_err(String::as_str)),
            cert_secret
                .as_ref()
                .map(|s| s.as_ref().map_err(String::as_str)),
            &artifact,
            fetch,
            clock,
            build,
        ),
        _ => build_from_tarball(input, st, &artifact, clock, fetch, build),
    };
    observe_build(input, clock, st, build, result)
}

/// `observeChartBuild`: the conditions of a build and of its error.
fn observe_build(
    input: &HelmChartInput<'_>,
    clock: &dyn Clock,
    st: &mut HelmChartStatus,
    build: &Build,
    result: Result<(), BuildError>,
) -> Result<(), StepError> {
    let observed_name = st.observed_chart_name.clone();
    let current = st.artifact.as_ref().map(|a| a.revision.clone());
    let had_artifact = st.artifact.is_some();
    let mut c = conditions_of(st, input, clock);
    if build.has_metadata()
        && (observed_name.as_deref() != Some(build.name.as_str())
            || current.as_deref() != Some(build.version.as_str()))
    {
        if had_artifact {
            c.set(
                reasons::ARTIFACT_OUTDATED,
                true,
                reasons::NEW_CHART,
                &build.summary(),
            );
        }
        c.reconciling(&format!("building artifact: {}", build.summary()));
    }
    if build.complete {
        c.remove(condition::FETCH_FAILED);
        c.remove(reasons::BUILD_FAILED);
    }
    let Err(e) = result else {
        return Ok(());
    };
    if e.auth {
        let message = format!(
            "failed to authenticate with the Helm repository: {}",
            e.message
        );
        c.set(
            condition::FETCH_FAILED,
            true,
            reason::AUTHENTICATION_FAILED,
            &message,
        );
        return Err(StepError::retry(reason::AUTHENTICATION_FAILED, message));
    }
    if e.reason == BuildReason::ChartVerification {
        c.set(
            condition::SOURCE_VERIFIED,
            false,
            "VerificationError",
            &e.message,
        );
    }
    if e.reason.build_failed() {
        c.remove(condition::FETCH_FAILED);
        c.set(reasons::BUILD_FAILED, true, e.reason.reason(), &e.message);
    } else {
        c.remove(reasons::BUILD_FAILED);
        c.set(condition::FETCH_FAILED, true, e.reason.reason(), &e.message);
    }
    Err(if e.reason.persistent() {
        StepError::stalled(e.reason.reason(), e.message)
    } else {
        StepError::retry(e.reason.reason(), e.message)
    })
}

/// A chart name as `RemoteReference.Validate` accepts it:
/// `^([-a-z0-9]+/?\.?)+$`.
fn valid_chart_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-/.".contains(&b))
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.contains("//")
        && !name.contains("..")
        && !name.contains("./")
}

/// Whether the stored artifact is this build (`CachedChart` without
/// `Force`: same name and version, and the spec did not move).
fn cached(input: &HelmChartInput<'_>, st: &HelmChartStatus, name: &str, version: &str) -> bool {
    input.chart.metadata.generation == st.observed_generation
        && st.observed_chart_name.as_deref() == Some(name)
        && st
            .artifact
            .as_ref()
            .is_some_and(|a| a.revision == version && input.storage.exists(&a.path))
}

/// The values files of the cached build, as Flux recalls them.
fn cached_values_files(input: &HelmChartInput<'_>, st: &HelmChartStatus) -> Vec<String> {
    if !st.observed_values_files.is_empty() {
        return st.observed_values_files.clone();
    }
    package::effective_values_files(&input.chart.spec.values_files).to_vec()
}

/// `buildFromHelmRepository` with the remote builder.
#[allow(clippy::too_many_arguments)]
fn build_from_repository(
    input: &HelmChartInput<'_>,
    st: &HelmChartStatus,
    repository: &HelmRepository,
    secret: Option<Result<&SecretData, &str>>,
    cert_secret: Option<Result<&SecretData, &str>>,
    artifact: &Artifact,
    fetch: Fetch<'_>,
    clock: &dyn Clock,
    build: &mut Build,
) -> Result<(), BuildError> {
    let spec = &input.chart.spec;
    if !valid_chart_name(&spec.chart) {
        return Err(BuildReason::ChartReference.error(format!(
            "invalid chart name '{}': a valid name must be lower case letters and numbers and MAY be separated with dashes (-), slashes (/) or periods (.)",
            spec.chart
        )));
    }
    let url = helm_repository::normalize_url(&repository.spec.url).map_err(|e| BuildError {
        reason: BuildReason::Unknown,
        message: format!("invalid Helm repository URL: {e}"),
        auth: false,
    })?;
    let opts =
        helm_repository::client_options(repository, secret, cert_secret, &url).map_err(|e| {
            BuildError {
                reason: BuildReason::Unknown,
                message: e.message().to_string(),
                auth: true,
            }
        })?;
    let raw = std::fs::read(input.storage.local_path(&artifact.path)).map_err(|e| {
        BuildReason::ChartPull.error(format!(
            "failed to get chart version for remote reference: failed to load index: {e}"
        ))
    })?;
    let index = Index::load(&raw).map_err(|e| {
        BuildReason::ChartPull.error(format!(
            "failed to get chart version for remote reference: failed to load index: {}",
            e.message
        ))
    })?;
    // `VerifyChart` of an HTTP repository: not implemented in Flux either.
    if spec.verify.as_ref().is_some_and(|v| !v.provider.is_empty()) {
        return Err(BuildReason::ChartVerification.error("not implemented"));
    }
    let cv = index.get(&spec.chart, &version_of(input)).map_err(|e| {
        BuildReason::ChartReference.error(format!(
            "failed to get chart version for remote reference: {}",
            e.message
        ))
    })?;
    let chart_url = repo::chart_url(&url, cv).map_err(|e| {
        BuildReason::ChartPull.error(format!(
            "failed to download chart for remote reference: {}",
            e.message
        ))
    });
    let download = HttpOptions {
        max_bytes: chart::MAX_DECOMPRESSED_CHART_SIZE,
        ..opts
    };
    remote_build(
        input,
        st,
        clock,
        build,
        cv.name(),
        cv.version(),
        &mut || {
            let chart_url = chart_url.clone()?;
            fetch(&chart_url, &download).map_err(|e| BuildError {
                auth: e.is_auth(),
                ..BuildReason::ChartPull.error(format!(
                    "failed to download chart for remote reference: {e}"
                ))
            })
        },
    )
}

/// The part of the remote builder after the version is known: version
/// metadata, the cached artifact, the download, values files merged and
/// repackaged.
fn remote_build(
    input: &HelmChartInput<'_>,
    st: &HelmChartStatus,
    clock: &dyn Clock,
    build: &mut Build,
    name: &str,
    version: &str,
    download: &mut dyn FnMut() -> Result<Vec<u8>, BuildError>,
) -> Result<(), BuildError> {
    let spec = &input.chart.spec;
    let values_files = package::effective_values_files(&spec.values_files).to_vec();
    let metadata = if values_files.is_empty() {
        String::new()
    } else {
        package::version_metadata(None, Some(generation(input)))
    };
    build.name = name.to_string();
    build.version = version.to_string();
    if !metadata.is_empty() {
        build.version = package::set_version_metadata(version, &metadata)
            .map_err(|e| BuildReason::MetadataPatch.error(e.message))?;
    }
    let packaging = !values_files.is_empty() || !metadata.is_empty();
    if cached(input, st, &build.name, &build.version) {
        build.complete = true;
        build.values_files = cached_values_files(input, st);
        build.packaged = packaging;
        return Ok(());
    }
    let data = download()?;
    if !packaging {
        chart::load_archive(&data).map_err(|e| {
            BuildReason::ChartPull.error(format!(
                "failed to load chart metadata from written chart: {e}"
            ))
        })?;
        build.data = Some(data);
        build.complete = true;
        return Ok(());
    }
    let files = chart::archive_files(&data)
        .and_then(|f| chart::load_files(f.clone()).map(|c| (f, c)))
        .map_err(|e| {
            BuildReason::ChartPackage.error(format!("failed to load downloaded chart: {e}"))
        });
    let (files, loaded) = files?;
    let values = if values_files.is_empty() {
        None
    } else {
        let (merged, used) = package::merge_values_files(
            &loaded,
            &values_files,
            spec.ignore_missing_values_files == Some(true),
        )
        .map_err(|e| {
            BuildReason::ValuesFilesMerge.error(format!("failed to merge chart values: {e}"))
        })?;
        build.values_files = used;
        Some(merged)
    };
    let packaged = package::repackage(
        files,
        values.as_ref(),
        Some(build.version.clone()),
        mtime(clock),
    )
    .map_err(|e| BuildReason::ChartPackage.error(e.message))?;
    build.data = Some(packaged.data);
    build.complete = true;
    build.packaged = true;
    Ok(())
}

/// `buildFromHelmRepository` of a `type: oci` repository: credentials
/// from its `secretRef` (dockerconfigjson or username/password) and
/// `certSecretRef`, the version resolved against the registry's tags,
/// the chart layer pulled unless the stored artifact is this build.
fn build_from_oci(
    input: &HelmChartInput<'_>,
    st: &HelmChartStatus,
    repository: &HelmRepository,
    secret: Option<Result<&SecretData, &str>>,
    cert_secret: Option<Result<&SecretData, &str>>,
    clock: &dyn Clock,
    build: &mut Build,
) -> Result<(), BuildError> {
    let spec = &input.chart.spec;
    if !valid_chart_name(&spec.chart) {
        return Err(BuildReason::ChartReference.error(format!(
            "invalid chart name '{}': a valid name must be lower case letters and numbers and MAY be separated with dashes (-), slashes (/) or periods (.)",
            spec.chart
        )));
    }
    let unknown = |message: String, auth: bool| BuildError {
        reason: BuildReason::Unknown,
        message,
        auth,
    };
    let url = helm_repository::normalize_url(&repository.spec.url)
        .map_err(|e| unknown(format!("invalid Helm repository URL: {e}"), false))?;
    if !url.starts_with("oci://") {
        return Err(unknown(
            format!("invalid Helm repository URL: '{url}' is not an 'oci://' URL"),
            false,
        ));
    }
    let Some(oci) = input.oci else {
        return Err(
            BuildReason::ChartPull.error("charts from OCI registries cannot be pulled here")
        );
    };
    if spec.verify.as_ref().is_some_and(|v| !v.provider.is_empty()) {
        return Err(BuildReason::ChartVerification
            .error("signature verification of OCI charts is not supported by ferroflux yet"));
    }
    let insecure = repository.spec.insecure == Some(true);
    let registry = oci_repository::parse_url(&url, insecure)
        .map(|i| i.registry().to_string())
        .map_err(|e| unknown(format!("invalid Helm repository URL: {e}"), false))?;
    let ns = repository.metadata.namespace.as_deref().unwrap_or_default();
    let secret_name = |r: &ferroflux_api::meta::LocalObjectReference| format!("{ns}/{}", r.name);
    let auth = match (&repository.spec.secret_ref, secret) {
        (Some(r), Some(s)) => {
            let name = secret_name(r);
            s.map_err(|e| format!("failed to get authentication secret '{name}': {e}"))
                .and_then(|d| oci_repository::helm_repository_auth(d, &name, &registry))
                .map_err(|e| unknown(format!("failed to login to OCI registry: {e}"), true))?
        }
        _ => ferroflux_registry::Auth::Anonymous,
    };
    let mut options = ferroflux_registry::Options {
        timeout: repository.spec.effective_timeout().to_std(),
        ..ferroflux_registry::Options::default()
    };
    if let (Some(r), Some(s)) = (&repository.spec.cert_secret_ref, cert_secret) {
        let name = secret_name(r);
        options.tls = s
            .map_err(|e| format!("failed to get TLS authentication secret '{name}': {e}"))
            .and_then(|d| {
                crate::image::repository::tls_from_secret(d, &name)
                    .map_err(|e| e.message().to_string())
            })
            .map_err(|e| {
                unknown(
                    format!("failed to construct Helm client's TLS config: {e}"),
                    true,
                )
            })?;
    }
    let mut pull = ChartPull {
        url,
        chart: spec.chart.clone(),
        version: version_of(input),
        download: false,
        insecure,
        auth,
        options,
        max_bytes: chart::MAX_DECOMPRESSED_CHART_SIZE,
    };
    let failed = |e: ChartPullError| {
        let (reason, what) = if e.reference {
            (
                BuildReason::ChartReference,
                "failed to get chart version for remote reference",
            )
        } else {
            (
                BuildReason::ChartPull,
                "failed to download chart for remote reference",
            )
        };
        BuildError {
            auth: e.auth,
            ..reason.error(format!("{what}: {}", e.message))
        }
    };
    let resolved = oci(&pull).map_err(failed)?;
    pull.version = resolved.version.clone();
    pull.download = true;
    let name = spec
        .chart
        .rsplit('/')
        .next()
        .unwrap_or(&spec.chart)
        .to_string();
    remote_build(
        input,
        st,
        clock,
        build,
        &name,
        &resolved.version,
        &mut || {
            oci(&pull)
                .map_err(failed)?
                .data
                .ok_or_else(|| BuildReason::ChartPull.error("no chart data"))
        },
    )
}

/// The generation the version metadata carries: an object read from a
/// checkout has none, and is taken as just created (1).
fn generation(input: &HelmChartInput<'_>) -> i64 {
    input.chart.metadata.generation.unwrap_or(1)
}

/// `spec.version` (`*` when unset).
fn version_of(input: &HelmChartInput<'_>) -> String {
    input.chart.spec.effective_version().to_string()
}

fn mtime(clock: &dyn Clock) -> u64 {
    u64::try_from(clock.now().as_second()).unwrap_or(0)
}

/// `git.ExtractHashFromRevision`: the hex after the last `:`, or the
/// revision itself.
fn revision_hex(revision: &str) -> &str {
    revision.rsplit_once(':').map_or(revision, |(_, h)| h)
}

/// `buildFromTarballArtifact` with the local builder: the artifact
/// unpacked, the chart at `spec.chart` packaged.
fn build_from_tarball(
    input: &HelmChartInput<'_>,
    st: &HelmChartStatus,
    artifact: &Artifact,
    clock: &dyn Clock,
    fetch: Fetch<'_>,
    build: &mut Build,
) -> Result<(), BuildError> {
    let spec = &input.chart.spec;
    let path = spec.chart.as_str();
    if path.is_empty() {
        return Err(BuildReason::ChartReference.error("no path set for local chart reference"));
    }
    if path.starts_with('/') {
        return Err(BuildReason::ChartReference
            .error("local chart reference path is expected to be relative"));
    }
    let tmp = tempfile::Builder::new()
        .prefix("helmchart-")
        .tempdir()
        .map_err(|e| {
            BuildReason::Unknown.error(format!("failed to create temporary working directory: {e}"))
        })?;
    let source = tmp.path().join("source");
    ferroflux_artifact::archive::unpack_tar_gz(
        &input.storage.local_path(&artifact.path),
        &source,
        input.limits,
    )
    .map_err(|e| BuildReason::Unknown.error(format!("artifact untar error: {e}")))?;
    let chart_dir = ferroflux_artifact::storage::secure_join(&source, path);
    let fs = ferroflux_kustomize::fs::DiskFs::new(&source)
        .map_err(|e| BuildReason::Unknown.error(format!("artifact untar error: {e}")))?;
    let (mut files, archived) = if chart_dir.is_file() {
        let data = std::fs::read(&chart_dir).map_err(|e| {
            BuildReason::ChartReference.error(format!("failed to read chart '{path}': {e}"))
        })?;
        let files = chart::archive_files(&data).map_err(|e| {
            BuildReason::ChartReference.error(format!("failed to load chart '{path}': {e}"))
        })?;
        (files, true)
    } else {
        let (files, _) = chart::dir_files(&fs, &chart_dir).map_err(|e| {
            BuildReason::ChartReference.error(format!(
                "failed to load chart metadata from '{path}' of the {} artifact: {}",
                spec.source_ref.kind, e.message
            ))
        })?;
        (files, false)
    };
    let loaded = chart::load_files(files.clone()).map_err(|e| {
        BuildReason::ChartReference.error(format!("failed to load chart '{path}': {e}"))
    })?;
    let values_files = package::effective_values_files(&spec.values_files).to_vec();
    let mut metadata = String::new();
    if spec.revision_strategy() {
        let hex = revision_hex(&artifact.revision);
        metadata.push_str(hex.get(..12).unwrap_or(hex));
    }
    if !values_files.is_empty() {
        if !metadata.is_empty() {
            metadata.push('.');
        }
        metadata.push_str(&generation(input).to_string());
    }
    build.name = loaded.metadata.name.clone();
    build.version = loaded.metadata.version.clone();
    if !metadata.is_empty() {
        build.version = package::set_version_metadata(&loaded.metadata.version, &metadata)
            .map_err(|e| BuildReason::MetadataPatch.error(e.message))?;
    }
    let packaging = !archived || !metadata.is_empty() || !values_files.is_empty();
    if cached(input, st, &build.name, &build.version) {
        build.complete = true;
        build.values_files = cached_values_files(input, st);
        build.packaged = packaging;
        return Ok(());
    }
    let values = if values_files.is_empty() {
        None
    } else {
        let (merged, used) = merge_file_values(
            &source,
            &values_files,
            spec.ignore_missing_values_files == Some(true),
        )
        .map_err(|e| BuildReason::ValuesFilesMerge.error(e))?;
        build.values_files = used;
        Some(merged)
    };
    if !archived {
        let added = dependencies(input, &fs, &source, path, &loaded, fetch)?;
        if !added.is_empty() {
            files.extend(added);
            let with_deps = chart::load_files(files.clone()).map_err(|e| {
                BuildReason::DependencyBuild.error(format!("failed to load chart '{path}': {e}"))
            })?;
            chart::check_dependencies(&with_deps)
        } else {
            chart::check_dependencies(&loaded)
        }
        .map_err(|e| BuildReason::DependencyBuild.error(e.message))?;
    }
    let data = if packaging {
        package::repackage(
            files,
            values.as_ref(),
            Some(build.version.clone()),
            mtime(clock),
        )
        .map_err(|e| BuildReason::ChartPackage.error(e.message))?
        .data
    } else {
        std::fs::read(&chart_dir).map_err(|e| BuildReason::ChartPull.error(e))?
    };
    build.data = Some(data);
    build.complete = true;
    build.packaged = packaging;
    Ok(())
}

/// The dependencies of `chart` missing from its `charts/`, as files under
/// `charts/<name>/`: local ones (`file://` or no repository) from the
/// source, their version checked against the constraint
/// (source-controller's `addLocalDependency`); remote ones from their
/// chart repository ([`remote_dependency`]).
fn dependencies(
    input: &HelmChartInput<'_>,
    fs: &ferroflux_kustomize::fs::DiskFs,
    root: &Path,
    chart_path: &str,
    loaded: &chart::Chart,
    fetch: Fetch<'_>,
) -> Result<Vec<chart::File>, BuildError> {
    let mut out = Vec::new();
    for dep in &loaded.metadata.dependencies {
        let name = if dep.alias.is_empty() {
            dep.name.as_str()
        } else {
            dep.alias.as_str()
        };
        if loaded
            .dependencies
            .iter()
            .any(|c| c.name() == name || c.name() == dep.name)
        {
            continue;
        }
        let repo = dep.repository.as_str();
        if !repo.is_empty() && !repo.starts_with("file://") {
            let files = remote_dependency(input, dep, fetch).map_err(|m| {
                BuildReason::DependencyBuild
                    .error(format!("failed to add remote dependency '{name}': {m}"))
            })?;
            out.extend(files.into_iter().map(|f| chart::File {
                name: format!("charts/{}/{}", dep.name, f.name),
                data: f.data,
            }));
            continue;
        }
        let fail = |m: String| {
            BuildReason::DependencyBuild
                .error(format!("failed to add local dependency '{name}': {m}"))
        };
        let rel = match repo.strip_prefix("file://") {
            None => format!("{chart_path}/charts/{}", dep.name),
            Some(p) => format!("{chart_path}/{p}"),
        };
        let dir = ferroflux_artifact::storage::secure_join(root, &rel);
        let shown = dir
            .strip_prefix(root)
            .map(|r| format!("/{}", r.display()))
            .unwrap_or_default();
        if !dir.exists() {
            return Err(fail(format!(
                "no chart found at '{shown}' (reference '{repo}')"
            )));
        }
        if dep.version.is_empty() {
            return Err(fail("invalid version/constraint format ''".into()));
        }
        let (files, _) = chart::dir_files(fs, &dir).map_err(|e| {
            fail(format!(
                "failed to load chart from '{shown}' (reference '{repo}'): {e}"
            ))
        })?;
        let sub = chart::load_files(files.clone()).map_err(|e| {
            fail(format!(
                "failed to load chart from '{shown}' (reference '{repo}'): {e}"
            ))
        })?;
        if !chart::semver::is_compatible_range(&dep.version, &sub.metadata.version) {
            return Err(fail(format!(
                "can't get a valid version for constraint '{}'",
                dep.version
            )));
        }
        out.extend(files.into_iter().map(|f| chart::File {
            name: format!("charts/{}/{}", dep.name, f.name),
            data: f.data,
        }));
    }
    Ok(out)
}

/// source-controller's `addRemoteDependency` through
/// `namespacedChartRepositoryCallback`: the repository's index fetched
/// from its URL with the credentials of the namespace's HelmRepository of
/// that URL (none when there is none), the version selected, the chart
/// downloaded; its files.
fn remote_dependency(
    input: &HelmChartInput<'_>,
    dep: &chart::Dependency,
    fetch: Fetch<'_>,
) -> Result<Vec<chart::File>, String> {
    let repo_url = dep.repository.as_str();
    if repo_url.starts_with("oci://") {
        return Err(format!(
            "charts from OCI registries ('{repo_url}') are not supported by ferroflux yet"
        ));
    }
    let url = helm_repository::normalize_url(repo_url)?;
    let known = input
        .repositories
        .iter()
        .find(|r| helm_repository::normalize_url(&r.repository.spec.url).is_ok_and(|u| u == url));
    let opts = match known {
        Some(r) => helm_repository::client_options(
            &r.repository,
            r.secret
                .as_ref()
                .map(|s| s.as_ref().map_err(String::as_str)),
            r.cert_secret
                .as_ref()
                .map(|s| s.as_ref().map_err(String::as_str)),
            &url,
        )
        .map_err(|e| e.message().to_string())?,
        None => HttpOptions {
            credentials_url: url.clone(),
            max_bytes: repo::MAX_INDEX_SIZE as u64,
            ..HttpOptions::default()
        },
    };
    let failed_get = |e: String| {
        format!(
            "failed to get chart '{}' version '{}' from '{repo_url}': {e}",
            dep.name, dep.version
        )
    };
    let index_url = format!("{}/index.yaml", url.trim_end_matches('/'));
    let raw = fetch(&index_url, &opts).map_err(|e| {
        failed_get(format!(
            "failed to cache index: failed to cache index to temporary file: {e}"
        ))
    })?;
    let index = Index::load(&raw)
        .map_err(|e| failed_get(format!("failed to load index: {}", e.message)))?;
    let cv = index
        .get(&dep.name, &dep.version)
        .map_err(|e| failed_get(e.message))?;
    let chart_url = repo::chart_url(&url, cv).map_err(|e| {
        format!(
            "chart download of version '{}' failed: {}",
            cv.version(),
            e.message
        )
    })?;
    let download = HttpOptions {
        max_bytes: chart::MAX_DECOMPRESSED_CHART_SIZE,
        ..opts
    };
    let data = fetch(&chart_url, &download)
        .map_err(|e| format!("chart download of version '{}' failed: {e}", cv.version()))?;
    chart::archive_files(&data).map_err(|e| {
        format!(
            "failed to load downloaded archive of version '{}': {e}",
            cv.version()
        )
    })
}

/// `mergeFileValues`: each file relative to the source root (secure
/// joined), deep-merged in order.
fn merge_file_values(
    root: &Path,
    paths: &[String],
    ignore_missing: bool,
) -> Result<(Map<String, Value>, Vec<String>), String> {
    let mut merged = Map::new();
    let mut used = Vec::new();
    for p in paths {
        let file = ferroflux_artifact::storage::secure_join(root, p);
        let shown = file
            .strip_prefix(root)
            .map(|r| format!("/{}", r.display()))
            .unwrap_or_default();
        let meta = std::fs::symlink_metadata(&file);
        match meta {
            Err(e) if ignore_missing && e.kind() == std::io::ErrorKind::NotFound => continue,
            Ok(m) if m.is_file() => {
                if m.len() > chart::MAX_DECOMPRESSED_FILE_SIZE {
                    return Err(format!(
                        "values file '{p}' is larger than {} bytes",
                        chart::MAX_DECOMPRESSED_FILE_SIZE
                    ));
                }
            }
            _ => {
                return Err(format!(
                    "no values file found at path '{shown}' (reference '{p}')"
                ));
            }
        }
        let data = std::fs::read(&file)
            .map_err(|e| format!("could not read values from file '{p}': {e}"))?;
        let values = ferroflux_helm::values::unmarshal_map(&String::from_utf8_lossy(&data))
            .map_err(|e| format!("unmarshaling values from '{p}' failed: {}", e.message))?;
        merged = ferroflux_helm::values::merge_maps(merged, values);
        used.push(p.clone());
    }
    Ok((merged, used))
}

/// `reconcileArtifact`: the build stored as `<name>-<version>.tgz` unless
/// it is the stored artifact; Ok(true) when written.
fn reconcile_artifact(
    input: &HelmChartInput<'_>,
    clock: &dyn Clock,
    st: &mut HelmChartStatus,
    build: &Build,
) -> Result<bool, StepError> {
    let (ns, name) = names(input.chart);
    let written = match &build.data {
        None => false,
        Some(data) => {
            let file = format!("{}-{}.tgz", build.name, build.version);
            let path = storage::artifact_path(KIND, &ns, &name, &file);
            let stored = input.storage.write(&path, data).map_err(|err| {
                let e = StepError::retry(
                    reasons::ARCHIVE_OPERATION_FAILED,
                    format!("unable to copy Helm chart to storage: {err}"),
                );
                conditions_of(st, input, clock).set(
                    reasons::STORAGE_OPERATION_FAILED,
                    true,
                    e.reason(),
                    e.message(),
                );
                e
            })?;
            st.artifact = Some(Artifact {
                metadata: Default::default(),
                url: input.storage.url(&path),
                path: path.clone(),
                revision: build.version.clone(),
                digest: Some(stored.digest),
                last_update_time: Some(clock.now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()),
                size: Some(i64::try_from(stored.size).unwrap_or(i64::MAX)),
            });
            st.observed_chart_name = Some(build.name.clone());
            st.observed_values_files = if input.chart.spec.ignore_missing_values_files == Some(true)
            {
                build.values_files.clone()
            } else {
                Vec::new()
            };
            if let Ok(url) = input.storage.symlink(&path, "latest.tar.gz") {
                st.url = Some(url);
            }
            true
        }
    };
    let in_sync = st.observed_chart_name.as_deref() == Some(build.name.as_str())
        && st
            .artifact
            .as_ref()
            .is_some_and(|a| a.revision == build.version);
    let mut c = conditions_of(st, input, clock);
    if written {
        c.remove(reasons::STORAGE_OPERATION_FAILED);
    }
    if in_sync {
        c.remove(reasons::ARTIFACT_OUTDATED);
        c.set(
            condition::ARTIFACT_IN_STORAGE,
            true,
            build.reason(),
            &build.summary(),
        );
    }
    Ok(written)
}
