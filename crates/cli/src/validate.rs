//! `ferroflux validate PATH...`: one line per finding,
//! `FILE:LINE: KIND/NAMESPACE/NAME: error|warning: message`; exit 1 when any
//! finding is an error.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use ferroflux_validate::{Severity, validate_paths};

#[derive(Args)]
pub struct ValidateArgs {
    /// Files and directories to check (directories are walked for .yaml/.yml).
    #[arg(default_value = ".")]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Output::Text)]
    output: Output,
}

#[derive(Clone, Copy, ValueEnum)]
enum Output {
    Text,
    Json,
}

pub fn run(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let report = validate_paths(&args.paths);
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&report.findings)?),
        Output::Text => {
            for finding in &report.findings {
                println!("{finding}");
            }
            eprintln!(
                "{} objects, {} errors, {} warnings",
                report.objects,
                report.count(Severity::Error),
                report.count(Severity::Warning)
            );
        }
    }
    Ok(if report.has_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
