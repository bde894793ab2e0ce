//! `ferroflux reconcile image repository|policy|update NAME`, `reconcile
//! source git NAME` and `reconcile kustomization NAME [--with-source]`:
//! what `flux reconcile ...` does. Annotate the object with
//! `reconcile.fluxcd.io/requestedAt`, wait until the controller reports the
//! request handled in `status.lastHandledReconcileAt` and Ready decided,
//! print the result (flux 2.9's lines, on stderr).

use std::process::ExitCode;
use std::time::SystemTime;

use clap::{Args, Subcommand};
use ferroflux_api::duration::Duration;
use ferroflux_api::helm::HelmRelease;
use ferroflux_api::image::{ImagePolicy, ImageRepository, ImageUpdateAutomation};
use ferroflux_api::kustomize::Kustomization;
use ferroflux_api::source::{GitRepository, HelmChart, HelmRepository, OCIRepository};
use kube::Client;
use kube::api::Api;

use crate::cluster::{self, ConnectArgs, Error, FluxObject};

#[derive(Subcommand)]
pub enum ReconcileCommand {
    /// Image automation objects.
    #[command(subcommand, alias = "images")]
    Image(ReconcileImageCommand),
    /// Sources.
    #[command(subcommand, alias = "sources")]
    Source(ReconcileSourceCommand),
    /// Trigger a reconciliation of a Kustomization and wait for it to finish.
    #[command(alias = "ks", alias = "kustomizations")]
    Kustomization(ReconcileKsArgs),
    /// Trigger a reconciliation of a HelmRelease and wait for it to finish.
    #[command(alias = "hr", alias = "helmreleases")]
    Helmrelease(ReconcileKsArgs),
}

#[derive(Subcommand)]
pub enum ReconcileImageCommand {
    /// Trigger a scan of an ImageRepository and wait for it to finish.
    #[command(alias = "repositories")]
    Repository(ReconcileArgs),
    /// Trigger a reconciliation of an ImagePolicy and wait for it to finish.
    #[command(alias = "policies")]
    Policy(ReconcileArgs),
    /// Trigger an automation run of an ImageUpdateAutomation and wait for it to finish.
    #[command(alias = "update-auto")]
    Update(ReconcileArgs),
}

#[derive(Subcommand)]
pub enum ReconcileSourceCommand {
    /// Trigger a fetch of a GitRepository and wait for its artifact.
    Git(ReconcileArgs),
    /// Trigger a fetch of a HelmRepository's index and wait for its artifact.
    Helm(ReconcileArgs),
    /// Trigger a build of a HelmChart and wait for its artifact.
    Chart(ReconcileArgs),
    /// Trigger a pull of an OCIRepository and wait for its artifact.
    Oci(ReconcileArgs),
}

#[derive(Args, Clone, Debug)]
pub struct ReconcileArgs {
    /// Name of the object.
    pub name: String,
    /// The namespace of the object.
    #[arg(short = 'n', long, default_value = "flux-system")]
    pub namespace: String,
    /// How long to wait for the controller (Go duration).
    #[arg(long, default_value = "5m0s")]
    pub timeout: Duration,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

#[derive(Args, Clone, Debug)]
pub struct ReconcileKsArgs {
    #[command(flatten)]
    pub common: ReconcileArgs,
    /// Reconcile the Kustomization's source first.
    #[arg(long)]
    pub with_source: bool,
}

pub fn run(cmd: ReconcileCommand) -> anyhow::Result<ExitCode> {
    let result = cluster::block_on(async {
        match &cmd {
            ReconcileCommand::Image(ReconcileImageCommand::Repository(a)) => {
                with_deadline::<ImageRepository>(a, false).await
            }
            ReconcileCommand::Image(ReconcileImageCommand::Policy(a)) => {
                with_deadline::<ImagePolicy>(a, false).await
            }
            ReconcileCommand::Image(ReconcileImageCommand::Update(a)) => {
                with_deadline::<ImageUpdateAutomation>(a, false).await
            }
            ReconcileCommand::Source(ReconcileSourceCommand::Git(a)) => {
                with_deadline::<GitRepository>(a, false).await
            }
            ReconcileCommand::Source(ReconcileSourceCommand::Helm(a)) => {
                with_deadline::<HelmRepository>(a, false).await
            }
            ReconcileCommand::Source(ReconcileSourceCommand::Chart(a)) => {
                with_deadline::<HelmChart>(a, false).await
            }
            ReconcileCommand::Source(ReconcileSourceCommand::Oci(a)) => {
                with_deadline::<OCIRepository>(a, false).await
            }
            ReconcileCommand::Kustomization(a) => {
                with_deadline::<Kustomization>(&a.common, a.with_source).await
            }
            ReconcileCommand::Helmrelease(a) => {
                with_deadline::<HelmRelease>(&a.common, a.with_source).await
            }
        }
    })?;
    cluster::finish(result.map(|()| true))
}

/// One deadline for the whole command, the source's reconcile included,
/// as flux's context timeout; running out names the object waited for.
async fn with_deadline<K: FluxObject>(
    args: &ReconcileArgs,
    with_source: bool,
) -> Result<(), Error> {
    let client = cluster::connect(&args.connect).await?;
    let (ns, name) = (args.namespace.as_str(), args.name.as_str());
    let deadline = tokio::time::Instant::now() + args.timeout.to_std();
    let timeout = |kind: String, name: &str, namespace: &str| Error::Timeout {
        kind,
        name: name.to_string(),
        namespace: namespace.to_string(),
        timeout: args.timeout,
    };
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    let obj = tokio::time::timeout_at(deadline, cluster::get(&api, ns, name))
        .await
        .map_err(|_| timeout(cluster::kind::<K>(), name, ns))??;
    if obj.suspended() {
        return Err(Error::Suspended);
    }
    if with_source && let Some(src) = obj.source_ref() {
        tokio::time::timeout_at(deadline, reconcile_source(&client, &src))
            .await
            .map_err(|_| timeout(src.kind.clone(), &src.name, &src.namespace))??;
    }
    tokio::time::timeout_at(deadline, reconcile(&api, ns, name, &obj))
        .await
        .map_err(|_| timeout(cluster::kind::<K>(), name, ns))?
        .map_err(|e| match e {
            Error::Failed { kind, message } if with_source => {
                Error::FailedWithSource { kind, message }
            }
            e => e,
        })
}

/// `--with-source`: the source's own reconcile, in the source's namespace,
/// with its own lines, before the Kustomization's.
async fn reconcile_source(client: &Client, src: &cluster::SourceRef) -> Result<(), Error> {
    async fn one<S: FluxObject>(client: &Client, src: &cluster::SourceRef) -> Result<(), Error> {
        let api: Api<S> = Api::namespaced(client.clone(), &src.namespace);
        let obj = cluster::get(&api, &src.namespace, &src.name).await?;
        if obj.suspended() {
            return Err(Error::Suspended);
        }
        reconcile(&api, &src.namespace, &src.name, &obj).await
    }
    match src.kind.as_str() {
        "GitRepository" => one::<GitRepository>(client, src).await,
        "OCIRepository" => one::<OCIRepository>(client, src).await,
        _ => Err(Error::SourceKind {
            kind: src.kind.clone(),
        }),
    }
}

/// Annotate `obj` (read just before), wait, and print flux's lines.
async fn reconcile<K: FluxObject>(
    api: &Api<K>,
    ns: &str,
    name: &str,
    obj: &K,
) -> Result<(), Error> {
    let kind = cluster::kind::<K>();
    let before = obj.last_handled_reconcile_at().map(str::to_string);
    cluster::action(&format!("annotating {kind} {name} in {ns} namespace"));
    let token = cluster::rfc3339_nano(SystemTime::now());
    cluster::merge_patch(api, ns, name, &cluster::request_patch(&token)).await?;
    cluster::success(&format!("{kind} annotated"));
    cluster::waiting(&format!("waiting for {kind} reconciliation"));
    let obj = cluster::wait_reconciled(api, ns, name, &token, before.as_deref()).await?;
    cluster::outcome(&kind, obj.conditions())?;
    cluster::success(&obj.success_message());
    Ok(())
}
