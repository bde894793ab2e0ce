//! `ferroflux suspend|resume image repository|policy|update NAME...|--all`:
//! what `flux suspend` and `flux resume` do. Merge-patch `spec.suspend`;
//! resume also requests a reconcile and, for one object (or `--wait`),
//! waits for the controller's result.

use std::process::ExitCode;
use std::time::{Instant, SystemTime};

use clap::{Args, Subcommand};
use ferroflux_api::duration::Duration;
use ferroflux_api::image::{ImagePolicy, ImageRepository, ImageUpdateAutomation};
use kube::Client;
use kube::api::Api;
use serde_json::json;

use crate::cluster::{self, ConnectArgs, Error, ImageObject};

#[derive(Subcommand)]
pub enum SuspendCommand {
    /// Image automation objects.
    #[command(subcommand, alias = "images")]
    Image(SuspendImageCommand),
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
    let SuspendCommand::Image(cmd) = cmd;
    let result = cluster::block_on(async {
        match &cmd {
            SuspendImageCommand::Repository(a) => apply::<ImageRepository>(a, verb).await,
            SuspendImageCommand::Policy(a) => apply::<ImagePolicy>(a, verb).await,
            SuspendImageCommand::Update(a) => apply::<ImageUpdateAutomation>(a, verb).await,
        }
    })?;
    cluster::finish(result)
}

/// Flux's rule: resume waits when given exactly one name and no `--wait`,
/// otherwise as `--wait` says.
pub fn should_wait(args: &SuspendArgs) -> bool {
    args.wait.unwrap_or(!args.all && args.names.len() == 1)
}

/// `Ok(false)` when some named object was missing (reported, the others done).
async fn apply<K: ImageObject>(args: &SuspendArgs, verb: Verb) -> Result<bool, Error> {
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

async fn patch_all<K: ImageObject>(
    client: Client,
    args: &SuspendArgs,
    verb: Verb,
) -> Result<bool, Error> {
    let ns = args.namespace.as_str();
    let kind = cluster::kind::<K>();
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    let mut objects = Vec::new();
    let mut all_found = true;
    if args.all {
        objects = cluster::list::<K>(&client, Some(ns)).await?;
        if objects.is_empty() {
            return Err(Error::NoneFound {
                kind,
                namespace: ns.to_string(),
            });
        }
    } else {
        let mut seen = std::collections::BTreeSet::new();
        for name in args.names.iter().filter(|n| seen.insert(n.as_str())) {
            match cluster::get(&api, ns, name).await {
                Ok(obj) => objects.push(obj),
                Err(e @ Error::NotFound { .. }) => {
                    cluster::failure(&e.to_string());
                    all_found = false;
                }
                Err(e) => return Err(e),
            }
        }
    }
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
        cluster::merge_patch(&api, ns, &name, &patch).await?;
        cluster::success(&format!("{} {}", K::HUMAN_KIND, verb.done()));
    }
    if verb == Verb::Suspend || !should_wait(args) {
        return Ok(all_found);
    }
    let mut ok = all_found;
    for (name, token, before) in resumed {
        cluster::waiting(&format!("waiting for {kind} reconciliation"));
        let obj = cluster::wait_reconciled(&api, ns, &name, &token, before.as_deref()).await?;
        match cluster::outcome(&kind, obj.conditions()) {
            Ok(()) => {
                cluster::success(&format!("{kind} {name} reconciliation completed"));
                cluster::success(&obj.success_message());
            }
            Err(e) => {
                cluster::failure(&e.to_string());
                ok = false;
            }
        }
    }
    Ok(ok)
}

#[cfg(test)]
mod tests;
