//! `ferroflux image ...`: one module per subcommand.

use std::process::ExitCode;

use clap::Subcommand;

#[derive(Subcommand)]
pub enum ImageCommand {}

pub fn run(cmd: ImageCommand) -> anyhow::Result<ExitCode> {
    match cmd {}
}
