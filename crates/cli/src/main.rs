//! Tier 3: the one binary. Parses the command line and calls operations in
//! the crates below; `anyhow` lives here and nowhere else.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod automate;
mod build;
mod cluster;
mod controller;
mod diff;
mod events;
mod get;
mod helm;
mod image;
mod install;
mod kustomize;
mod reconcile;
mod sops;
mod suspend;
mod tree;
mod validate;

#[derive(Parser)]
#[command(
    name = "ferroflux",
    version,
    about = "GitOps for Kubernetes that reads Flux manifests"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check Flux manifests: schema, deprecated APIs and the known traps.
    Validate(validate::ValidateArgs),
    /// Image automation: policies, setters, registry scans.
    #[command(subcommand)]
    Image(image::ImageCommand),
    /// Print the install manifests: Flux's CRDs, RBAC and the controller Deployment.
    Install(install::InstallArgs),
    /// Run image automation against a Git repository: scan, choose, rewrite, commit, push.
    Automate(automate::AutomateArgs),
    /// Run the image chain in Kubernetes: Flux's CRDs, status, events, leader election.
    Controller(controller::ControllerArgs),
    /// Print the objects in the cluster or the status `ferroflux automate` stored, as `flux get` does.
    #[command(subcommand)]
    Get(get::GetCommand),
    /// Ask the controller to reconcile an object now and wait, as `flux reconcile` does.
    #[command(subcommand)]
    Reconcile(reconcile::ReconcileCommand),
    /// Suspend reconciliation of objects in the cluster, as `flux suspend` does.
    #[command(subcommand)]
    Suspend(suspend::SuspendCommand),
    /// Resume suspended objects in the cluster, as `flux resume` does.
    #[command(subcommand)]
    Resume(suspend::SuspendCommand),
    /// Kubernetes Events of Flux objects, as `flux events` lists them.
    Events(events::EventsArgs),
    /// Build a Flux Kustomization locally, as `flux build kustomization`.
    #[command(subcommand)]
    Build(build::BuildCommand),
    /// Diff a Flux Kustomization's local build against the cluster, as `flux diff kustomization`.
    #[command(subcommand)]
    Diff(diff::DiffCommand),
    /// Print the objects a Flux object reconciles as a tree, as `flux tree`.
    #[command(subcommand)]
    Tree(tree::TreeCommand),
    /// kustomize, byte-compatible with kustomize 5.6: `kustomize build DIR`.
    #[command(subcommand)]
    Kustomize(kustomize::KustomizeCommand),
    /// Decrypt SOPS files (age, PGP) as `sops decrypt` does.
    #[command(subcommand)]
    Sops(sops::SopsCommand),
    /// Helm charts rendered natively, byte-compatible with Helm v4: `helm template [NAME] CHART`.
    #[command(subcommand)]
    Helm(helm::HelmCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate(args) => validate::run(args),
        Command::Image(cmd) => image::run(cmd),
        Command::Install(args) => install::run(args),
        Command::Automate(args) => automate::run(args),
        Command::Controller(args) => controller::run(args),
        Command::Get(cmd) => get::run(cmd),
        Command::Reconcile(cmd) => reconcile::run(cmd),
        Command::Suspend(cmd) => suspend::run(cmd, suspend::Verb::Suspend),
        Command::Resume(cmd) => suspend::run(cmd, suspend::Verb::Resume),
        Command::Events(args) => events::run(args),
        Command::Build(cmd) => build::run(cmd),
        Command::Diff(cmd) => diff::run(cmd),
        Command::Tree(cmd) => tree::run(cmd),
        Command::Kustomize(cmd) => kustomize::run(cmd),
        Command::Sops(cmd) => sops::run(cmd),
        Command::Helm(cmd) => helm::run(cmd),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
