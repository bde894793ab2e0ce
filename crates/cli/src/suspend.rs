//! `ferroflux suspend|resume image repository|policy|update`, `source git`
//! and `kustomization` `NAME...|--all`: what `flux suspend` and `flux
//! resume` do (flux 2.9's lines and exit codes). Merge-patch
//! `spec.suspend`; resume also requests a reconcile and, for one object (or
//! `--wait`), waits for the controller's result.

use std::process::ExitCode;
use std::time::{Instant, SystemTime};

use clap::{Args, Subcommand};
use ferroflux_api::duration::Duration;
use ferroflux_api::helm::HelmRelease;
use ferroflux_api::image::{ImagePolicy, ImageRepository, ImageUpdateAutomation};
use ferroflux_api::kustomize::Kustomization;
use ferroflux_api::source::{GitRepository, HelmChart, HelmRepository, OCIRepository};
use kube::Client;
use kube::api::Api;
use serde_json::json;

use crate::cluster::{self, ConnectArgs, Error, FluxObject};

#[derive(Subcommand)]
pub enum SuspendCommand {
    /// Image automation objects.
    #[command(subcommand, alias = "images")]
    Image(SuspendImageCommand),
    /// Sources.
    #[command(subcommand, alias = "sources")]
    Source(SuspendSourceCommand),
    /// Kustomization objects.
    #[command(alias = "ks", alias = "kustomizations")]
    Kustomization(SuspendArgs),
    /// HelmRelease objects.
    #[command(alias = "hr", alias = "helmreleases")]
    Helmrelease(SuspendArgs),
}

#[derive(Subcommand)]
pub enum SuspendImageCommand {
    /// ImageRepository objects.
    #[command(alias = "repositories")]
    Repository(SuspendArgs),
    /// ImagePolicy objects.
    #[command(alias = "policies")]
    Policy(SuspendArgs),
    /// ImageUpdateAutomation objects.
    #[command(alias = "update-auto")]
    Update(SuspendArgs),
}

#[derive(Subcommand)]
pub enum SuspendSourceCommand {
    /// GitRepository objects.
    Git(SuspendArgs),
    /// HelmRepository objects.
    Helm(SuspendArgs),
    /// HelmChart objects.
    Chart(SuspendArgs),
    /// OCIRepository objects.
    Oci(SuspendArgs),
}

#[derive(Args, Clone, Debug)]
pub struct SuspendArgs {
    /// Names of the objects.
    #[arg(required_unless_present = "all")]
    pub names: Vec<String>,
    /// Every object of the kind in the namespace.
    #[arg(long, conflicts_with = "names")]
    pub all: bool,
    /// The namespace of the objects.
    #[arg(short = 'n', long, default_value = "flux-system")]
    pub namespace: String,
    /// How long the whole command may take (Go duration).
    #[arg(long, default_value = "5m0s")]
    pub timeout: Duration,
    /// Resume only: wait for each object to reconcile (the default for a single name).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub wait: Option<bool>,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Suspend or resume.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    Suspend,
    Resume,
}

impl Verb {
    fn doing(self) -> &'static str {
        match self {
            Verb::Suspend => "suspending",
            Verb::Resume => "resuming",
        }
    }
    fn done(self) -> &'static str {
        match self {
            Verb::Suspend => "suspended",
            Verb::Resume => "resumed",
        }
    }
}

pub fn run(cmd: SuspendCommand, verb: Verb) -> anyhow::Result<ExitCode> {
    let result = cluster::block_on(async {
        match &cmd {
            SuspendCommand::Image(SuspendImageCommand::Repository(a)) => {
                apply::<ImageRepository>(a, verb).await
            }
            SuspendCommand::Image(SuspendImageCommand::Policy(a)) => {
                apply::<ImagePolicy>(a, verb).await
            }
            SuspendCommand::Image(SuspendImageCommand::Update(a)) => {
                apply::<ImageUpdateAutomation>(a, verb).await
            }
            SuspendCommand::Source(SuspendSourceCommand::Git(a)) => {
                apply::<GitRepository>(a, verb).await
            }
            SuspendCommand::Source(SuspendSourceCommand::Helm(a)) => {
                apply::<HelmRepository>(a, verb).await
            }
            SuspendCommand::Source(SuspendSourceCommand::Chart(a)) => {
                apply::<HelmChart>(a, verb).await
            }
            SuspendCommand::Source(SuspendSourceCommand::Oci(a)) => {
                apply::<OCIRepository>(a, verb).await
            }
            SuspendCommand::Kustomization(a) => apply::<Kustomization>(a, verb).await,
            SuspendCommand::Helmrelease(a) => apply::<HelmRelease>(a, verb).await,
        }
    })?;
    cluster::finish(result)
}

/// Flux's rule: resume waits when given exactly one name and no `--wait`,
/// otherwise as `--wait` says.
pub fn should_wait(args: &SuspendArgs) -> bool {
    args.wait.unwrap_or(!args.all && args.names.len() == 1)
}

/// `Ok(false)` when a resumed object did not reconcile (flux's exit 1); a
/// missing name is reported and, as in flux, does not fail the command.
async fn apply<K: FluxObject>(args: &SuspendArgs, verb: Verb) -> Result<bool, Error> {
    let client = cluster::connect(&args.connect).await?;
    let deadline = Instant::now() + args.timeout.to_std();
    let work = patch_all::<K>(client, args, verb);
    match tokio::time::timeout_at(deadline.into(), work).await {
        Ok(r) => r,
        Err(_) => Err(Error::Timeout {
            kind: cluster::kind::<K>(),
            name: args.names.join(","),
            namespace: args.namespace.clone(),
            timeout: args.timeout,
        }),
    }
}

/// The objects named (each missing one reported in the verb's words), or
/// every object of the kind with `--all`.
async fn select<K: FluxObject>(
    client: &Client,
    api: &Api<K>,
    args: &SuspendArgs,
    verb: Verb,
) -> Result<Vec<K>, Error> {
    let ns = args.namespace.as_str();
    let kind = cluster::kind::<K>();
    if args.all {
        let objects = cluster::list::<K>(client, Some(ns)).await?;
        if objects.is_empty() {
            match verb {
                Verb::Suspend => return Err(Error::NoneFound),
                Verb::Resume => {
                    cluster::failure(&format!("no {kind} objects found in {ns} namespace"))
                }
            }
        }
        return Ok(objects);
    }
    let mut objects = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for name in args.names.iter().filter(|n| seen.insert(n.as_str())) {
        match cluster::get(api, ns, name).await {
            Ok(obj) => objects.push(obj),
            Err(Error::NotFound { .. }) => cluster::failure(&match verb {
                Verb::Suspend => format!("{kind} {name} not found in {ns} namespace"),
                Verb::Resume => format!("{kind} object '{name}' not found in {ns} namespace"),
            }),
            Err(e) => return Err(e),
        }
    }
    Ok(objects)
}

async fn patch_all<K: FluxObject>(
    client: Client,
    args: &SuspendArgs,
    verb: Verb,
) -> Result<bool, Error> {
    let ns = args.namespace.as_str();
    let kind = cluster::kind::<K>();
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    let objects = select::<K>(&client, &api, args, verb).await?;
    let mut resumed = Vec::new();
    for obj in objects {
        let name = obj.meta().name.clone().unwrap_or_default();
        cluster::action(&format!(
            "{} {} {name} in {ns} namespace",
            verb.doing(),
            K::HUMAN_KIND
        ));
        let patch = match verb {
            Verb::Suspend => json!({"spec": {"suspend": true}}),
            Verb::Resume => {
                let token = cluster::rfc3339_nano(SystemTime::now());
                let mut p = cluster::request_patch(&token);
                p["spec"] = json!({"suspend": false});
                resumed.push((
                    name.clone(),
                    token,
                    obj.last_handled_reconcile_at().map(str::to_string),
                ));
                p
            }
        };
        if let Err(e) = cluster::merge_patch(&api, ns, &name, &patch).await {
            if verb == Verb::Resume {
                return Err(e);
            }
            cluster::failure(&format!(
                "failed suspending {kind} {name} in {ns} namespace: {e}"
            ));
            continue;
        }
        cluster::success(&format!("{} {}", K::HUMAN_KIND, verb.done()));
    }
    if verb == Verb::Suspend || !should_wait(args) {
        return Ok(true);
    }
    for _ in &resumed {
        cluster::waiting(&format!("waiting for {kind} reconciliation"));
    }
    let mut results = Vec::new();
    for (name, token, before) in resumed {
        let obj = cluster::wait_reconciled(&api, ns, &name, &token, before.as_deref()).await?;
        results.push((
            name,
            cluster::outcome(&kind, obj.conditions()).map(|()| obj),
        ));
    }
    // Flux prints the results sorted by name.
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let mut failed = 0;
    for (name, result) in results {
        match result {
            Ok(obj) => {
                cluster::success(&format!("{kind} {name} reconciliation completed"));
                cluster::success(&obj.success_message());
            }
            Err(e) => {
                let why = match e {
                    Error::Failed { message, .. } => message,
                    e => e.to_string(),
                };
                cluster::failure(&format!("{kind} {name} reconciliation failed: {why}"));
                failed += 1;
            }
        }
    }
    if failed > 0 {
        cluster::failure(&format!("reconciliation failed for {failed} {kind}(s)"));
        return Ok(false);
    }
    Ok(true)
}

#[cfg(test)]
mod tests;
