//! `ferroflux reconcile image repository|policy|update NAME`: what
//! `flux reconcile image ...` does. Annotate the object with
//! `reconcile.fluxcd.io/requestedAt`, wait until the controller reports the
//! request handled in `status.lastHandledReconcileAt`, print the result.

use std::process::ExitCode;
use std::time::SystemTime;

use clap::{Args, Subcommand};
use ferroflux_api::duration::Duration;
use ferroflux_api::image::{ImagePolicy, ImageRepository, ImageUpdateAutomation};
use kube::api::Api;

use crate::cluster::{self, ConnectArgs, Error, ImageObject};

#[derive(Subcommand)]
pub enum ReconcileCommand {
    /// Image automation objects.
    #[command(subcommand, alias = "images")]
    Image(ReconcileImageCommand),
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

pub fn run(cmd: ReconcileCommand) -> anyhow::Result<ExitCode> {
    let ReconcileCommand::Image(cmd) = cmd;
    let result = cluster::block_on(async {
        match &cmd {
            ReconcileImageCommand::Repository(a) => reconcile::<ImageRepository>(a).await,
            ReconcileImageCommand::Policy(a) => reconcile::<ImagePolicy>(a).await,
            ReconcileImageCommand::Update(a) => reconcile::<ImageUpdateAutomation>(a).await,
        }
    })?;
    cluster::finish(result.map(|()| true))
}

async fn reconcile<K: ImageObject>(args: &ReconcileArgs) -> Result<(), Error> {
    let client = cluster::connect(&args.connect).await?;
    let (ns, name) = (args.namespace.as_str(), args.name.as_str());
    let kind = cluster::kind::<K>();
    let api: Api<K> = Api::namespaced(client, ns);
    let work = async {
        let obj = cluster::get(&api, ns, name).await?;
        if obj.suspended() {
            return Err(Error::Suspended);
        }
        let before = obj.last_handled_reconcile_at().map(str::to_string);
        cluster::action(&format!("annotating {kind} {name} in {ns} namespace"));
        let token = cluster::rfc3339_nano(SystemTime::now());
        cluster::merge_patch(&api, ns, name, &cluster::request_patch(&token)).await?;
        cluster::success(&format!("{kind} annotated"));
        cluster::waiting(&format!("waiting for {kind} reconciliation"));
        let obj = cluster::wait_reconciled(&api, ns, name, &token, before.as_deref()).await?;
        cluster::success(&format!("{kind} reconciliation completed"));
        cluster::outcome(&kind, obj.conditions())?;
        cluster::success(&obj.success_message());
        Ok(())
    };
    // One deadline for the whole command, as flux's context timeout.
    match tokio::time::timeout(args.timeout.to_std(), work).await {
        Ok(r) => r,
        Err(_) => Err(Error::Timeout {
            kind,
            name: name.to_string(),
            namespace: ns.to_string(),
            timeout: args.timeout,
        }),
    }
}
