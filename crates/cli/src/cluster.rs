//! The cluster side of the CLI, shared by `get`, `reconcile`, `suspend`,
//! `resume` and `events`: find the cluster as kubectl does, the Flux kinds
//! (image kinds, GitRepository, OCIRepository, Kustomization) behind one
//! trait, Flux's reconcile-request handshake
//! (`reconcile.fluxcd.io/requestedAt` → `status.lastHandledReconcileAt`)
//! and Flux's `► ✔ ◎ ✗` lines, which flux writes to stderr.

use std::ffi::OsString;
use std::fmt::Debug;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clap::Args;
use ferroflux_api::helm::{HelmRelease, HelmReleaseSpec, HelmReleaseStatus};
use ferroflux_api::image::{
    ImagePolicy, ImagePolicySpec, ImagePolicyStatus, ImageRepository, ImageRepositorySpec,
    ImageRepositoryStatus, ImageUpdateAutomation, ImageUpdateAutomationSpec,
    ImageUpdateAutomationStatus,
};
use ferroflux_api::kustomize::{Kustomization, KustomizationSpec, KustomizationStatus};
use ferroflux_api::meta::{Condition, RECONCILE_REQUEST_ANNOTATION, condition};
use ferroflux_api::source::{
    GitRepository, GitRepositorySpec, HelmChart, HelmChartSpec, HelmChartStatus, HelmRepository,
    HelmRepositorySpec, OCIRepository, OCIRepositorySpec, SourceStatus,
};
use ferroflux_controllers::status::get as find;
use ferroflux_kube::cluster::{ClusterError, ConnectOptions};
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::core::NamespaceResourceScope;
use kube::{Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// How often the object is read while waiting (flux polls every 2s; the
/// read is cheap and a shorter wait reads better).
const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// `--kubeconfig` and `--context`, as flux and kubectl take them.
#[derive(Args, Clone, Debug, Default)]
pub struct ConnectArgs {
    /// Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The name of the kubeconfig context to use.
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
}

/// The environment that decides whether a cluster is configured; read
/// once in `from_process` so the decision itself is testable.
#[derive(Clone, Debug, Default)]
pub struct Env {
    pub kubeconfig: Option<OsString>,
    pub home: Option<PathBuf>,
    pub service_host: Option<OsString>,
}

impl Env {
    pub fn from_process() -> Env {
        let set = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        Env {
            kubeconfig: set("KUBECONFIG"),
            home: set("HOME").map(PathBuf::from),
            service_host: set("KUBERNETES_SERVICE_HOST"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no Kubernetes configuration found: {tried}; pass --kubeconfig or set KUBECONFIG")]
    NoConfig { tried: String },
    #[error(transparent)]
    Connect(#[from] ClusterError),
    /// The apiserver's words for a missing object, which flux prints.
    #[error("{resource} \"{name}\" not found")]
    NotFound {
        kind: String,
        /// `<plural>.<group>`.
        resource: String,
        name: String,
        namespace: String,
    },
    /// `flux suspend --all` in a namespace without objects of the kind.
    #[error("no objects found")]
    NoneFound,
    #[error("resource is suspended")]
    Suspended,
    #[error("{kind} reconciliation failed: '{message}'")]
    Failed { kind: String, message: String },
    /// `reconcile --with-source`'s wording of the same failure (no quotes).
    #[error("{kind} reconciliation failed: {message}")]
    FailedWithSource { kind: String, message: String },
    /// A message flux prints as it is.
    #[error("{0}")]
    Said(String),
    /// A source kind `--with-source` cannot reconcile.
    #[error("cannot reconcile source of kind {kind}")]
    SourceKind { kind: String },
    #[error("status can't be determined")]
    Undetermined,
    #[error(
        "timed out after {timeout} waiting for {kind} {name} in {namespace} namespace to be reconciled"
    )]
    Timeout {
        kind: String,
        name: String,
        namespace: String,
        timeout: ferroflux_api::duration::Duration,
    },
    #[error("{action} {kind} {target}: {detail}")]
    Api {
        action: &'static str,
        kind: String,
        target: String,
        detail: String,
        /// The apiserver's HTTP status, when it answered.
        code: Option<u16>,
    },
}

impl Error {
    /// 2 when the cluster could not be found or reached at all (bad input,
    /// like any other usage error), 1 when an object is missing or failed.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::NoConfig { .. } | Error::Connect(_) => 2,
            _ => 1,
        }
    }

    fn api(action: &'static str, kind: &str, target: String, err: &kube::Error) -> Error {
        Error::Api {
            action,
            kind: kind.to_string(),
            target,
            detail: api_detail(err),
            code: match err {
                kube::Error::Api(s) => Some(s.code),
                _ => None,
            },
        }
    }
}

/// The server's message for an API error (`Status.message`), the error
/// chain otherwise; request bodies and headers are never part of it.
pub fn api_detail(err: &kube::Error) -> String {
    match err {
        kube::Error::Api(status) => status.message.clone(),
        other => {
            let mut s = other.to_string();
            let mut src = std::error::Error::source(other);
            // hyper's errors repeat their source in their own text.
            while let Some(e) = src {
                let t = e.to_string();
                if !s.contains(&t) {
                    s.push_str(": ");
                    s.push_str(&t);
                }
                src = e.source();
            }
            s
        }
    }
}

/// Print a failure as flux does (`✗ message` on stderr, exit 1); not
/// finding the cluster is a usage error for `main` (exit 2).
pub fn finish(result: Result<bool, Error>) -> anyhow::Result<ExitCode> {
    match result {
        Ok(true) => Ok(ExitCode::SUCCESS),
        Ok(false) => Ok(ExitCode::from(1)),
        Err(e) if e.exit_code() == 2 => Err(e.into()),
        Err(e) => {
            failure(&e.to_string());
            Ok(ExitCode::from(e.exit_code()))
        }
    }
}

pub fn action(msg: &str) {
    eprintln!("► {msg}");
}
pub fn success(msg: &str) {
    eprintln!("✔ {msg}");
}
pub fn waiting(msg: &str) {
    eprintln!("◎ {msg}");
}
pub fn failure(msg: &str) {
    eprintln!("✗ {msg}");
}

/// Is a cluster configured, as kubectl would find one? `Err` names every
/// place that was tried.
pub fn detect(args: &ConnectArgs, env: &Env) -> Result<(), Error> {
    if args.kubeconfig.is_some() || args.context.is_some() || env.kubeconfig.is_some() {
        return Ok(());
    }
    let default = env.home.as_ref().map(|h| h.join(".kube").join("config"));
    if default.as_ref().is_some_and(|p| p.is_file()) || env.service_host.is_some() {
        return Ok(());
    }
    let home = match default {
        Some(p) => format!("{} does not exist", p.display()),
        None => "~/.kube/config unknown ($HOME not set)".to_string(),
    };
    Err(Error::NoConfig {
        tried: format!(
            "--kubeconfig and --context not given, $KUBECONFIG not set, {home}, not in a cluster ($KUBERNETES_SERVICE_HOST not set)"
        ),
    })
}

/// A client for the configured cluster.
pub async fn connect(args: &ConnectArgs) -> Result<Client, Error> {
    detect(args, &Env::from_process())?;
    let conn = ferroflux_kube::cluster::connect(&ConnectOptions {
        kubeconfig: args.kubeconfig.clone(),
        context: args.context.clone(),
    })
    .await
    .map_err(redact)?;
    Ok(conn.client)
}

/// kube-rs and the YAML parser quote the kubeconfig back (a snippet of
/// the offending lines, a scalar that had the wrong type), which may be a
/// token or a password: keep the first line and drop double-quoted text.
fn redact(e: ClusterError) -> ClusterError {
    match e {
        ClusterError::Kubeconfig { path, detail } => ClusterError::Kubeconfig {
            path,
            detail: redact_detail(&detail),
        },
        ClusterError::NoConfig { detail } => ClusterError::NoConfig {
            detail: redact_detail(&detail),
        },
        ClusterError::Client(detail) => ClusterError::Client(redact_detail(&detail)),
    }
}

pub fn redact_detail(detail: &str) -> String {
    let first = detail.lines().next().unwrap_or_default().trim_end();
    let mut out = String::with_capacity(first.len());
    let mut parts = first.split('"');
    if let Some(head) = parts.next() {
        out.push_str(head);
    }
    let rest: Vec<&str> = parts.collect();
    // Pairs of (quoted, after); an unmatched quote hides the rest.
    for pair in rest.chunks(2) {
        out.push_str("\"…\"");
        if let [_, after] = pair {
            out.push_str(after);
        }
    }
    out
}

/// Run a cluster operation on a runtime of its own (the CLI is sync).
pub fn block_on<F: std::future::Future>(f: F) -> anyhow::Result<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(rt.block_on(f))
}

/// What the CLI needs of every Flux kind it lists, reconciles, suspends
/// and resumes: the image kinds, GitRepository and Kustomization behind one
/// set of code paths.
pub trait FluxObject:
    Resource<Scope = NamespaceResourceScope, DynamicType = ()>
    + Clone
    + Debug
    + DeserializeOwned
    + Serialize
    + Send
    + Sync
    + 'static
{
    type Spec: DeserializeOwned + Default;
    type Status: DeserializeOwned + Default;
    /// Flux's lower-case kind for suspend/resume (`image repository`,
    /// `source git`, `kustomization`).
    const HUMAN_KIND: &'static str;
    fn spec(&self) -> &Self::Spec;
    fn status(&self) -> Option<&Self::Status>;
    fn spec_suspended(spec: &Self::Spec) -> bool;
    fn status_conditions(status: &Self::Status) -> &[Condition];
    fn status_last_handled(status: &Self::Status) -> Option<&str>;
    /// What flux prints after a successful reconcile.
    fn success_message(&self) -> String;
    fn into_parts(self) -> (String, String, Option<Self::Spec>, Self::Status);
    /// The source `reconcile --with-source` reconciles first.
    fn source_ref(&self) -> Option<SourceRef> {
        None
    }

    fn suspended(&self) -> bool {
        Self::spec_suspended(self.spec())
    }
    fn conditions(&self) -> &[Condition] {
        self.status().map_or(&[], Self::status_conditions)
    }
    fn last_handled_reconcile_at(&self) -> Option<&str> {
        self.status().and_then(Self::status_last_handled)
    }
}

/// A Kustomization's `spec.sourceRef`, its namespace defaulted to the
/// Kustomization's own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceRef {
    pub kind: String,
    pub name: String,
    pub namespace: String,
}

fn parts<S, T: Default>(
    meta: kube::core::ObjectMeta,
    spec: S,
    status: Option<T>,
) -> (String, String, Option<S>, T) {
    (
        meta.name.unwrap_or_default(),
        meta.namespace.unwrap_or_default(),
        Some(spec),
        status.unwrap_or_default(),
    )
}

fn ready_message(conditions: &[Condition]) -> Option<String> {
    find(conditions, condition::READY).map(|c| c.message.clone())
}

/// The methods every Flux kind answers the same way (`spec.suspend`,
/// `status.conditions`, `status.lastHandledReconcileAt`).
macro_rules! common_flux_object {
    () => {
        fn spec(&self) -> &Self::Spec {
            &self.spec
        }
        fn status(&self) -> Option<&Self::Status> {
            self.status.as_ref()
        }
        fn spec_suspended(spec: &Self::Spec) -> bool {
            spec.suspend == Some(true)
        }
        fn status_conditions(status: &Self::Status) -> &[Condition] {
            &status.conditions
        }
        fn status_last_handled(status: &Self::Status) -> Option<&str> {
            status.last_handled_reconcile_at.as_deref()
        }
        fn into_parts(self) -> (String, String, Option<Self::Spec>, Self::Status) {
            parts(self.metadata, self.spec, self.status)
        }
    };
}

impl FluxObject for ImageRepository {
    type Spec = ImageRepositorySpec;
    type Status = ImageRepositoryStatus;
    const HUMAN_KIND: &'static str = "image repository";
    common_flux_object!();
    fn success_message(&self) -> String {
        let count = self
            .status
            .as_ref()
            .and_then(|s| s.last_scan_result.as_ref())
            .map_or(0, |r| r.tag_count);
        format!("scan fetched {count} tags")
    }
}

impl FluxObject for ImagePolicy {
    type Spec = ImagePolicySpec;
    type Status = ImagePolicyStatus;
    const HUMAN_KIND: &'static str = "image policy";
    common_flux_object!();
    fn success_message(&self) -> String {
        if let Some(m) = ready_message(self.conditions()) {
            return m;
        }
        match self.status.as_ref().and_then(|s| s.latest_ref.as_ref()) {
            Some(r) => format!("latest image {r}"),
            None => "no image selected yet".to_string(),
        }
    }
}

impl FluxObject for ImageUpdateAutomation {
    type Spec = ImageUpdateAutomationSpec;
    type Status = ImageUpdateAutomationStatus;
    const HUMAN_KIND: &'static str = "image update automation";
    common_flux_object!();
    /// Flux: the Ready message (`pushed commit '…' to branch '…'` or
    /// `repository up-to-date`), else the last run time.
    fn success_message(&self) -> String {
        if let Some(m) = ready_message(self.conditions()) {
            return m;
        }
        let last = self
            .status
            .as_ref()
            .and_then(|s| s.last_automation_run_time.as_ref())
            .and_then(|t| serde_json::to_value(t).ok())
            .and_then(|v| v.as_str().map(str::to_string));
        match last {
            Some(t) => format!("last run {t}"),
            None => "automation not yet run".to_string(),
        }
    }
}

/// The artifact's revision of a source (`main@sha1:<hex>`).
fn artifact_revision(status: Option<&SourceStatus>) -> &str {
    status
        .and_then(|s| s.artifact.as_ref())
        .map_or("", |a| a.revision.as_str())
}

impl FluxObject for GitRepository {
    type Spec = GitRepositorySpec;
    type Status = SourceStatus;
    const HUMAN_KIND: &'static str = "source git";
    common_flux_object!();
    fn success_message(&self) -> String {
        format!(
            "fetched revision {}",
            artifact_revision(self.status.as_ref())
        )
    }
}

impl FluxObject for HelmRepository {
    type Spec = HelmRepositorySpec;
    type Status = SourceStatus;
    const HUMAN_KIND: &'static str = "source helm";
    common_flux_object!();
    fn success_message(&self) -> String {
        format!(
            "fetched revision {}",
            artifact_revision(self.status.as_ref())
        )
    }
}

impl FluxObject for HelmChart {
    type Spec = HelmChartSpec;
    type Status = HelmChartStatus;
    const HUMAN_KIND: &'static str = "source chart";
    common_flux_object!();
    fn success_message(&self) -> String {
        let revision = self
            .status
            .as_ref()
            .and_then(|s| s.artifact.as_ref())
            .map_or("", |a| a.revision.as_str());
        format!(
            "pulled '{}' chart with version '{revision}'",
            self.spec.chart
        )
    }
}

impl FluxObject for HelmRelease {
    type Spec = HelmReleaseSpec;
    type Status = HelmReleaseStatus;
    const HUMAN_KIND: &'static str = "helmrelease";
    common_flux_object!();
    fn success_message(&self) -> String {
        let revision = self
            .status
            .as_ref()
            .and_then(|s| s.last_attempted_revision.as_deref())
            .unwrap_or_default();
        format!("applied revision {revision}")
    }
    /// flux's `reconcile helmrelease --with-source`: the HelmChart that
    /// `spec.chart` makes (`<namespace>-<name>` in its source's
    /// namespace), or `spec.chartRef`.
    fn source_ref(&self) -> Option<SourceRef> {
        let own = self.metadata.namespace.clone().unwrap_or_default();
        if let Some(r) = &self.spec.chart_ref {
            return Some(SourceRef {
                kind: r.kind.clone(),
                name: r.name.clone(),
                namespace: r.namespace.clone().unwrap_or(own),
            });
        }
        let chart = self.spec.chart.as_ref()?;
        let name = self.metadata.name.clone().unwrap_or_default();
        Some(SourceRef {
            kind: "HelmChart".into(),
            name: format!("{own}-{name}"),
            namespace: chart.spec.source_ref.namespace.clone().unwrap_or(own),
        })
    }
}

impl FluxObject for OCIRepository {
    type Spec = OCIRepositorySpec;
    type Status = SourceStatus;
    const HUMAN_KIND: &'static str = "source oci";
    common_flux_object!();
    fn success_message(&self) -> String {
        format!(
            "fetched revision {}",
            artifact_revision(self.status.as_ref())
        )
    }
}

impl FluxObject for Kustomization {
    type Spec = KustomizationSpec;
    type Status = KustomizationStatus;
    const HUMAN_KIND: &'static str = "kustomization";
    common_flux_object!();
    fn success_message(&self) -> String {
        let revision = self
            .status
            .as_ref()
            .and_then(|s| s.last_applied_revision.as_deref())
            .unwrap_or_default();
        format!("applied revision {revision}")
    }
    fn source_ref(&self) -> Option<SourceRef> {
        let r = &self.spec.source_ref;
        let kind = serde_json::to_value(r.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        Some(SourceRef {
            kind,
            name: r.name.clone(),
            namespace: r
                .namespace
                .clone()
                .or_else(|| self.metadata.namespace.clone())
                .unwrap_or_default(),
        })
    }
}

pub fn kind<K: FluxObject>() -> String {
    K::kind(&()).into_owned()
}

/// Every object of the kind in `namespace` (all namespaces for `None`),
/// sorted by namespace and name.
pub async fn list<K: FluxObject>(
    client: &Client,
    namespace: Option<&str>,
) -> Result<Vec<K>, Error> {
    let api: Api<K> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let target = match namespace {
        Some(ns) => format!("objects in {ns} namespace"),
        None => "objects in all namespaces".to_string(),
    };
    let mut items = api
        .list(&ListParams::default())
        .await
        .map_err(|e| Error::api("listing", &kind::<K>(), target, &e))?
        .items;
    items.sort_by(|a, b| {
        (a.meta().namespace.as_deref(), a.meta().name.as_deref())
            .cmp(&(b.meta().namespace.as_deref(), b.meta().name.as_deref()))
    });
    Ok(items)
}

/// [`list`], or `None` when the cluster does not serve the kind (its CRD
/// is not installed: the apiserver answers 404 for the whole resource).
pub async fn list_served<K: FluxObject>(
    client: &Client,
    namespace: Option<&str>,
) -> Result<Option<Vec<K>>, Error> {
    match list::<K>(client, namespace).await {
        Ok(items) => Ok(Some(items)),
        Err(Error::Api {
            code: Some(404), ..
        }) => Ok(None),
        Err(e) => Err(e),
    }
}

pub async fn get<K: FluxObject>(api: &Api<K>, namespace: &str, name: &str) -> Result<K, Error> {
    match api.get_opt(name).await {
        Ok(Some(obj)) => Ok(obj),
        Ok(None) => Err(Error::NotFound {
            kind: kind::<K>(),
            resource: format!("{}.{}", K::plural(&()), K::group(&())),
            name: name.to_string(),
            namespace: namespace.to_string(),
        }),
        Err(e) => Err(Error::api(
            "reading",
            &kind::<K>(),
            format!("{name} in {namespace} namespace"),
            &e,
        )),
    }
}

/// Merge-patch the object (flux patches with `client.MergeFrom`).
pub async fn merge_patch<K: FluxObject>(
    api: &Api<K>,
    namespace: &str,
    name: &str,
    patch: &serde_json::Value,
) -> Result<K, Error> {
    api.patch(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
        .map_err(|e| {
            Error::api(
                "patching",
                &kind::<K>(),
                format!("{name} in {namespace} namespace"),
                &e,
            )
        })
}

/// The merge patch that asks the controller to reconcile now.
pub fn request_patch(token: &str) -> serde_json::Value {
    serde_json::json!({"metadata": {"annotations": {RECONCILE_REQUEST_ANNOTATION: token}}})
}

/// Has the controller handled our request? Yes when it reports our token;
/// also when it reports some other new request and the annotation is no
/// longer ours (someone asked again after us, and that one covers ours).
pub fn request_handled(
    last_handled: Option<&str>,
    before: Option<&str>,
    token: &str,
    annotation: Option<&str>,
) -> bool {
    last_handled == Some(token) || (last_handled != before && annotation != Some(token))
}

/// Done reconciling, in kstatus terms: Stalled, or Ready known (True or
/// False), not Reconciling, and observed at the current generation.
pub fn settled(conditions: &[Condition], generation: Option<i64>) -> bool {
    if find(conditions, condition::STALLED).is_some_and(|c| c.status == "True") {
        return true;
    }
    let Some(ready) = find(conditions, condition::READY) else {
        return false;
    };
    if ready.status == "Unknown" {
        return false;
    }
    if find(conditions, condition::RECONCILING).is_some_and(|c| c.status == "True") {
        return false;
    }
    match (ready.observed_generation, generation) {
        (Some(observed), Some(current)) if observed > 0 => observed == current,
        _ => true,
    }
}

/// The result flux reports once reconciled: Ready=True is success; a
/// Stalled or non-True Ready is `reconciliation failed: '<message>'`.
pub fn outcome(kind: &str, conditions: &[Condition]) -> Result<(), Error> {
    let failed = |message: &str| Error::Failed {
        kind: kind.to_string(),
        message: message.to_string(),
    };
    if let Some(stalled) = find(conditions, condition::STALLED).filter(|c| c.status == "True")
        && find(conditions, condition::READY).is_none_or(|c| c.status != "False")
    {
        return Err(failed(&stalled.message));
    }
    match find(conditions, condition::READY) {
        None => Err(Error::Undetermined),
        Some(c) if c.status == "True" => Ok(()),
        Some(c) => Err(failed(&c.message)),
    }
}

/// Read the object until the controller has handled the request `token`
/// and settled. Unbounded: the callers put one deadline on their whole
/// command, as flux's context timeout does.
pub async fn wait_reconciled<K: FluxObject>(
    api: &Api<K>,
    namespace: &str,
    name: &str,
    token: &str,
    before: Option<&str>,
) -> Result<K, Error> {
    loop {
        let obj = get(api, namespace, name).await?;
        let annotation = obj
            .meta()
            .annotations
            .as_ref()
            .and_then(|a| a.get(RECONCILE_REQUEST_ANNOTATION))
            .map(String::as_str);
        if request_handled(obj.last_handled_reconcile_at(), before, token, annotation)
            && settled(obj.conditions(), obj.meta().generation)
        {
            return Ok(obj);
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Go's `time.Now().Format(time.RFC3339Nano)` in UTC: nanoseconds with the
/// trailing zeros dropped (and no fraction at all when it is zero), which
/// is how jiff prints a timestamp.
pub fn rfc3339_nano(t: SystemTime) -> String {
    k8s_openapi::jiff::Timestamp::try_from(t)
        .unwrap_or(k8s_openapi::jiff::Timestamp::UNIX_EPOCH)
        .to_string()
}

#[cfg(test)]
mod tests;
