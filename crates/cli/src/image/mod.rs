//! `ferroflux image ...`: one module per subcommand.

use std::process::ExitCode;

use clap::Subcommand;

mod explain;
mod policy;
mod scan;
mod setters;

#[derive(Subcommand)]
pub enum ImageCommand {
    /// ImagePolicy tag selection: test a policy against a tag list.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// `$imagepolicy` setter markers: rewrite marked values in a tree.
    #[command(subcommand)]
    Setters(setters::SettersCommand),
    /// List every tag of a registry repository, as an ImageRepository scan does.
    Scan(scan::ScanArgs),
    /// Which link of the image chain (marker → policy → tags → automation → push) is broken, and why.
    Explain(explain::ExplainArgs),
}

pub fn run(cmd: ImageCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ImageCommand::Policy(cmd) => policy::run(cmd),
        ImageCommand::Setters(cmd) => setters::run(cmd),
        ImageCommand::Scan(args) => scan::run(args),
        ImageCommand::Explain(args) => explain::run(args),
    }
}
