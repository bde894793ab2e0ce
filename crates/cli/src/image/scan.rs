//! `ferroflux image scan IMAGE`: list every tag of a repository as an
//! ImageRepository scan would see it (all pages, auth, TLS, retries), one
//! per line on stdout; the count and the time on stderr.

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use ferroflux_registry::{Auth, Client, DockerConfig, ImageName, Options, TlsOptions};

#[derive(Args)]
pub struct ScanArgs {
    /// Repository without scheme or tag, e.g. `ghcr.io/org/app` or `alpine`.
    image: String,
    /// A docker `config.json` (or a Secret's `.dockerconfigjson`) with credentials.
    #[arg(long, value_name = "FILE")]
    docker_config: Option<PathBuf>,
    /// PEM CA certificates trusted in addition to the system roots.
    #[arg(long, value_name = "FILE")]
    ca_file: Option<PathBuf>,
    /// PEM client certificate for mTLS (with --key-file).
    #[arg(long, value_name = "FILE", requires = "key_file")]
    cert_file: Option<PathBuf>,
    /// PEM private key for mTLS (with --cert-file).
    #[arg(long, value_name = "FILE", requires = "cert_file")]
    key_file: Option<PathBuf>,
    /// Allow plain HTTP (Flux `spec.insecure`).
    #[arg(long)]
    insecure: bool,
    /// Bound of the whole scan, a Go duration (Flux `spec.timeout`).
    #[arg(long, value_name = "DURATION", default_value = "1m0s")]
    timeout: ferroflux_api::Duration,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Output::Text)]
    output: Output,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Output {
    Text,
    Json,
}

fn read(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {what} {}", path.display()))
}

pub fn run(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let image = ImageName::parse(&args.image, args.insecure)?;
    let auth = match &args.docker_config {
        Some(path) => {
            let json = read(path, "docker config")?;
            let name = path.display().to_string();
            DockerConfig::parse(&json, Some(&name))?.auth_for(image.registry())
        }
        None => Auth::Anonymous,
    };
    let tls = TlsOptions {
        ca_pem: args
            .ca_file
            .as_deref()
            .map(|p| read(p, "CA file"))
            .transpose()?,
        client_cert_pem: args
            .cert_file
            .as_deref()
            .map(|p| read(p, "certificate file"))
            .transpose()?,
        client_key_pem: args
            .key_file
            .as_deref()
            .map(|p| read(p, "key file"))
            .transpose()?,
        ..TlsOptions::default()
    };
    let client = Client::new(Options {
        // Flux raises timeouts under one second to one second.
        timeout: args.timeout.to_std().max(std::time::Duration::from_secs(1)),
        tls,
        ..Options::default()
    })?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let started = Instant::now();
    let progress = Progress::new();
    let tags = runtime.block_on(client.list_tags_with_progress(&image, &auth, |p| {
        progress.update(p);
    }));
    progress.finish();
    let tags = tags.with_context(|| format!("scan of {} failed", image.canonical()))?;
    let elapsed = started.elapsed();

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match args.output {
        Output::Text => {
            for tag in &tags {
                writeln!(out, "{tag}")?;
            }
        }
        Output::Json => {
            let doc = serde_json::json!({
                "image": image.canonical(),
                "tags": tags,
                "count": tags.len(),
            });
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    eprintln!("{} tags in {:.2?}", tags.len(), elapsed);
    Ok(ExitCode::SUCCESS)
}

/// A spinner on stderr, only on a terminal and only once a scan has more
/// than one page.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn new() -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::hidden();
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar
        });
        Progress { bar }
    }

    fn update(&self, p: ferroflux_registry::Progress) {
        let Some(bar) = &self.bar else { return };
        if p.pages == 1 && p.more {
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
        bar.set_message(format!("page {}: {} tags", p.pages, p.tags));
        bar.tick();
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
