//! `ferroflux image explain TARGET`: which link of the image chain is broken,
//! and why. TARGET is `FILE[:LINE]` of a marked line or `NAMESPACE/POLICY`.
//! Exit 0 when the chain is whole, 1 when a link is broken, 2 on bad input.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use ferroflux_explain::{Evidence, LiveScan, Options, State, TagsFile};
use ferroflux_registry::{Auth, Client, DockerConfig, ImageName};

#[derive(Args)]
pub struct ExplainArgs {
    /// `FILE[:LINE]` of a marked line, or `NAMESPACE/POLICY`.
    target: String,
    /// The Git checkout the automation writes to (update.path is relative to it).
    #[arg(long, value_name = "PATH", default_value = ".")]
    repo: PathBuf,
    /// Where the Flux objects are, relative to --repo (repeatable; default: all of it).
    #[arg(long = "path", value_name = "DIR")]
    paths: Vec<PathBuf>,
    /// The state database of `ferroflux automate`
    /// (default: $XDG_STATE_HOME/ferroflux/state.redb when it exists).
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// A docker `config.json` with registry credentials for a live scan.
    #[arg(long, value_name = "FILE")]
    docker_config: Option<PathBuf>,
    /// Never contact a registry.
    #[arg(long)]
    offline: bool,
    /// Tags as the registry lists them, one per line (overrides state and live scan).
    #[arg(long, value_name = "FILE")]
    tags_file: Option<PathBuf>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Output::Text)]
    output: Output,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Output {
    Text,
    Json,
}

pub fn run(args: ExplainArgs) -> anyhow::Result<ExitCode> {
    let state = match &args.state {
        Some(path) => Some(State::open(path)?),
        None => ferroflux_explain::default_state_path(
            std::env::var_os("XDG_STATE_HOME"),
            std::env::var_os("HOME"),
        )
        .filter(|p| p.is_file())
        .and_then(|p| match State::open(&p) {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("warning: {e}; explaining without state");
                None
            }
        }),
    };
    let tags_file = args.tags_file.as_deref().map(TagsFile::read).transpose()?;
    let docker_config = match &args.docker_config {
        Some(path) => {
            let json = std::fs::read(path)
                .with_context(|| format!("cannot read docker config {}", path.display()))?;
            Some(DockerConfig::parse(
                &json,
                Some(&path.display().to_string()),
            )?)
        }
        None => None,
    };
    let scan = |req: &LiveScan| live_scan(req, docker_config.as_ref());
    let evidence = Evidence {
        state: state.as_ref(),
        tags_file: tags_file.as_ref(),
        live: (!args.offline).then_some(&scan as &dyn Fn(&LiveScan) -> Result<Vec<String>, String>),
    };
    let options = Options {
        repo: args.repo.clone(),
        paths: args.paths.clone(),
    };
    let report = ferroflux_explain::explain(&options, &args.target, &evidence)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.output {
        Output::Text => out.write_all(report.to_text().as_bytes())?,
        Output::Json => {
            serde_json::to_writer_pretty(&mut out, &report.to_json())?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(if report.is_whole() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// List the tags of the ImageRepository's image now, as its scan would.
fn live_scan(req: &LiveScan, config: Option<&DockerConfig>) -> Result<Vec<String>, String> {
    let image = ImageName::parse(&req.image, req.insecure).map_err(|e| e.to_string())?;
    let auth = config.map_or(Auth::Anonymous, |c| c.auth_for(image.registry()));
    let client = Client::new(ferroflux_registry::Options {
        timeout: std::time::Duration::from_secs(30),
        ..ferroflux_registry::Options::default()
    })
    .map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime
        .block_on(client.list_tags(&image, &auth))
        .map_err(|e| e.to_string())
}
