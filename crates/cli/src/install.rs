//! `ferroflux install --export`: print the install manifests (Flux's CRDs
//! for every kind ferroflux serves, Namespace, RBAC, the controller's
//! Deployment) as a YAML stream, like `flux install --export`.
//! `deploy/install.yaml` is this output, committed.

use std::process::ExitCode;

use anyhow::bail;
use clap::Args;
use ferroflux_kube::{InstallOptions, manifests, render_yaml};

#[derive(Args)]
pub struct InstallArgs {
    /// Print the manifests to stdout instead of applying them.
    #[arg(long)]
    export: bool,
    /// The namespace the controller runs in.
    #[arg(short = 'n', long = "namespace", default_value = "flux-system")]
    namespace: String,
    /// The container image of the controller.
    #[arg(long)]
    image: Option<String>,
}

pub fn run(args: InstallArgs) -> anyhow::Result<ExitCode> {
    if !args.export {
        bail!(
            "install into a cluster is not implemented yet: run `ferroflux install --export | kubectl apply -f -`"
        );
    }
    let mut opts = InstallOptions {
        namespace: args.namespace,
        ..Default::default()
    };
    if let Some(image) = args.image {
        opts.image = image;
    }
    print!("{}", render_yaml(&manifests(&opts)?)?);
    Ok(ExitCode::SUCCESS)
}
