//! `ferroflux kustomize build DIR`: the same standard output as
//! `kustomize build DIR` (kustomize 5.6), errors on standard error and a
//! non-zero exit.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use ferroflux_kustomize::{DiskFs, LoadRestrictor, Options};

#[derive(Subcommand)]
pub enum KustomizeCommand {
    /// Build a kustomization directory and print the resources, as `kustomize build`.
    Build(BuildArgs),
}

#[derive(Args)]
pub struct BuildArgs {
    /// The directory holding kustomization.yaml.
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Where files may be read from: in or below each kustomization's
    /// directory (`LoadRestrictionsRootOnly`, kustomize's default) or anywhere.
    #[arg(long = "load-restrictor", value_enum, default_value_t = Restrictor::LoadRestrictionsRootOnly)]
    load_restrictor: Restrictor,
}

#[derive(Clone, Copy, ValueEnum)]
#[allow(clippy::enum_variant_names)]
enum Restrictor {
    #[value(name = "LoadRestrictionsRootOnly")]
    LoadRestrictionsRootOnly,
    #[value(name = "LoadRestrictionsNone")]
    LoadRestrictionsNone,
}

pub fn run(cmd: KustomizeCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        KustomizeCommand::Build(args) => build(args),
    }
}

fn build(args: BuildArgs) -> anyhow::Result<ExitCode> {
    let opts = Options {
        load_restrictor: match args.load_restrictor {
            Restrictor::LoadRestrictionsRootOnly => LoadRestrictor::RootOnly,
            Restrictor::LoadRestrictionsNone => LoadRestrictor::None,
        },
        ..Options::default()
    };
    // kustomize follows symlinks anywhere; the load restrictor, not the
    // file system, keeps files under each kustomization.
    let fs = DiskFs::new("/")?;
    let dir = std::path::absolute(&args.dir)?;
    match ferroflux_kustomize::build_yaml_with_warnings(&fs, &dir, &opts) {
        Ok((out, warnings)) => {
            for w in warnings {
                eprintln!("{w}");
            }
            std::io::stdout().lock().write_all(out.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("Error: {e}");
            Ok(ExitCode::from(1))
        }
    }
}
