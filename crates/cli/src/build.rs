//! `ferroflux build kustomization NAME --path DIR`: what `flux build
//! kustomization` prints for a Flux Kustomization over a local directory,
//! without a cluster (the Kustomization comes from `--kustomization-file`;
//! `substituteFrom` objects from `--substitute-from` files, or skipped as
//! `flux build kustomization --dry-run` skips them).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use ferroflux_kustomize::DiskFs;
use ferroflux_kustomize::flux::{self, BuildOptions, SubstituteFrom};

#[derive(Subcommand)]
pub enum BuildCommand {
    /// Build a Flux Kustomization's manifests from a local directory, as `flux build kustomization`.
    #[command(visible_alias = "ks")]
    Kustomization(KustomizationArgs),
}

#[derive(Args)]
pub struct KustomizationArgs {
    /// The Kustomization's name.
    name: String,
    /// Path to the manifests location (the Kustomization's `spec.path` checked out).
    #[arg(long)]
    path: PathBuf,
    /// The Flux Kustomization YAML file (the first document with this name
    /// and namespace, or no namespace, is used).
    #[arg(long = "kustomization-file")]
    kustomization_file: Option<PathBuf>,
    /// The Kustomization's namespace.
    #[arg(short, long, default_value = "flux-system")]
    namespace: String,
    /// Fail when a variable without a default is referenced but not defined.
    #[arg(long = "strict-substitute")]
    strict_substitute: bool,
    /// Accepted for compatibility: ferroflux never contacts a cluster here.
    #[arg(long = "dry-run")]
    dry_run: bool,
    /// Paths to leave out, in .gitignore format, comma-separated (on top of
    /// Flux's defaults and the `.sourceignore` files below --path).
    #[arg(long = "ignore-paths", value_delimiter = ',')]
    ignore_paths: Vec<String>,
    /// YAML files holding the ConfigMaps and Secrets `postBuild.substituteFrom`
    /// names (without it, `substituteFrom` is skipped, as with `flux build --dry-run`).
    #[arg(long = "substitute-from")]
    substitute_from: Vec<PathBuf>,
}

pub fn run(cmd: BuildCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        BuildCommand::Kustomization(args) => match kustomization(&args) {
            Ok((yaml, warnings)) => {
                for w in warnings {
                    // kustomize's own warnings are printed as it prints them.
                    if w.starts_with("# Warning") || w.starts_with("Warning: ") {
                        eprintln!("{w}");
                    } else {
                        eprintln!("⚠️ {w}");
                    }
                }
                std::io::stdout().lock().write_all(yaml.as_bytes())?;
                Ok(ExitCode::SUCCESS)
            }
            Err(message) => {
                eprintln!("✗ {message}");
                Ok(ExitCode::from(1))
            }
        },
    }
}

fn kustomization(args: &KustomizationArgs) -> Result<(String, Vec<String>), String> {
    let _ = args.dry_run;
    if args.path.as_os_str().is_empty() {
        return Err("invalid resource path \"\"".to_string());
    }
    let path = std::path::absolute(&args.path).map_err(|e| e.to_string())?;
    if !path.is_dir() {
        return Err(format!(
            "invalid resource path {:?}",
            path.display().to_string()
        ));
    }
    let Some(file) = &args.kustomization_file else {
        return Err(
            "a Kustomization is needed: give --kustomization-file FILE (ferroflux build reads \
             no cluster)"
                .to_string(),
        );
    };
    if !file.is_file() {
        return Err(format!(
            "invalid kustomization file {:?}",
            file.display().to_string()
        ));
    }
    let text = read_text(file)?;
    let ks = flux::select(file, &text, &args.name, &args.namespace).map_err(|e| e.to_string())?;
    let substitute_from = if args.substitute_from.is_empty() {
        SubstituteFrom::Skip
    } else {
        let mut files = Vec::new();
        for f in &args.substitute_from {
            files.push((f.clone(), read_text(f)?));
        }
        SubstituteFrom::Objects(files)
    };
    let opts = BuildOptions {
        strict_substitute: args.strict_substitute,
        substitute_from,
        ignore_paths: args.ignore_paths.clone(),
        ..BuildOptions::default()
    };
    // The flux CLI builds on an unrestricted file system.
    let fs = DiskFs::new("/").map_err(|e| e.to_string())?;
    let built = flux::build(&fs, &path, &ks, &opts).map_err(|e| e.to_string())?;
    Ok((built.yaml, built.warnings))
}

pub(crate) fn read_text(path: &std::path::Path) -> Result<String, String> {
    match ferroflux_api::tree::read_bounded(path, ferroflux_api::yaml::MAX_STREAM_BYTES) {
        Ok(Some(bytes)) => String::from_utf8(bytes)
            .map_err(|_| format!("{}: the file is not UTF-8 text", path.display())),
        Ok(None) => Err(format!(
            "{}: file is larger than {} bytes",
            path.display(),
            ferroflux_api::yaml::MAX_STREAM_BYTES
        )),
        Err(e) => Err(format!("failed to read {}: {e}", path.display())),
    }
}
