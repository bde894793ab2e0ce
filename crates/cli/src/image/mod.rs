//! `ferroflux image ...`: one module per subcommand.

use std::process::ExitCode;

use clap::Subcommand;

mod setters;

#[derive(Subcommand)]
pub enum ImageCommand {
    /// `$imagepolicy` setter markers: rewrite marked values in a tree.
    #[command(subcommand)]
    Setters(setters::SettersCommand),
}

pub fn run(cmd: ImageCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ImageCommand::Setters(cmd) => setters::run(cmd),
    }
}
