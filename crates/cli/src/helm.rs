//! `ferroflux helm template`: a chart rendered as `helm template` renders
//! it (Helm v4), byte for byte, without Helm installed. The arguments are
//! Helm's own (`NAME CHART -f values.yaml --set k=v -n ns ...`), read by
//! `ferroflux_helm::TemplateArgs` so a command copied from a chart's README
//! works unchanged.

use std::io::{Read, Write};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use ferroflux_helm::TemplateArgs;
use ferroflux_kustomize::DiskFs;

#[derive(Subcommand)]
pub enum HelmCommand {
    /// Render a chart locally, as `helm template [NAME] CHART [flags]`.
    #[command(disable_help_flag = true)]
    Template(TemplateCommand),
}

#[derive(Args)]
pub struct TemplateCommand {
    /// helm template's arguments: [NAME] CHART (a directory or a .tgz), -f/--values,
    /// --set, --set-string, --set-file, --set-json, --set-literal, -n/--namespace,
    /// --kube-version, -a/--api-versions, --include-crds, --skip-tests, --no-hooks,
    /// -s/--show-only, --is-upgrade, --name-template, --skip-schema-validation.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    args: Vec<String>,
}

const USAGE: &str = "Render a chart locally and print the manifests, as `helm template` (Helm v4) does.

Usage:  ferroflux helm template [NAME] CHART [flags]

CHART is a chart directory or a packaged chart (.tgz); charts are not fetched from repositories.

Flags (Helm's):
  -f, --values strings        values files (can repeat; `-` reads standard input)
      --set stringArray       set values (key1=val1,key2=val2)
      --set-string stringArray, --set-file stringArray, --set-json stringArray, --set-literal stringArray
  -n, --namespace string      namespace (.Release.Namespace; default \"default\")
      --kube-version string   Kubernetes version for .Capabilities.KubeVersion
  -a, --api-versions strings  extra API versions for .Capabilities.APIVersions
      --include-crds          print the charts' crds/ files first
      --skip-tests            leave out test hooks
      --no-hooks              leave out all hooks
  -s, --show-only stringArray only the manifests of these templates
      --is-upgrade            .Release.IsUpgrade instead of .Release.IsInstall
      --name-template string  a template for the release name
      --skip-schema-validation  do not check values.schema.json
      --hide-secret           replace Secrets by a comment
";

pub fn run(cmd: HelmCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        HelmCommand::Template(t) => template(t),
    }
}

fn template(cmd: TemplateCommand) -> anyhow::Result<ExitCode> {
    if cmd.args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{USAGE}");
        return Ok(ExitCode::SUCCESS);
    }
    let mut args = match TemplateArgs::parse(&cmd.args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("Error: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    args.base_dir = Some(std::env::current_dir()?);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    // Helm sees the local zone; ferroflux's dates are in UTC.
    args.now = Some(ferroflux_template::Timestamp {
        unix_secs: i64::try_from(now.as_secs()).unwrap_or(i64::MAX),
        nanos: now.subsec_nanos(),
        offset_secs: 0,
        zone: "UTC".to_string(),
    });
    args.seed = seed();
    if args.values_files.iter().any(|f| f == "-") {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        args.stdin = Some(text);
    }
    let fs = DiskFs::new("/").map_err(|e| anyhow::anyhow!("{e}"))?;
    match ferroflux_helm::template(&fs, &args) {
        Ok(out) => {
            std::io::stdout().write_all(out.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("Error: {}", e.helm_message());
            Ok(ExitCode::FAILURE)
        }
    }
}

/// 32 bytes from the kernel to key the random functions' stream; `None`
/// (they then fail, saying so) when /dev/urandom cannot be read: a
/// guessable key would make `randAlphaNum` passwords guessable.
fn seed() -> Option<[u8; 32]> {
    let mut key = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut key))
        .ok()?;
    Some(key)
}
