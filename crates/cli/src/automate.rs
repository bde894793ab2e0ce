//! `ferroflux automate`: the whole image chain against a Git repository,
//! once (`--once`: summary, exit 0 when every object is ready) or for good
//! (`--watch`: intervals, policy triggers, Receiver webhooks, SIGTERM).

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use ferroflux_runtime::automate::{AutomateOptions, ProgressEvent, ProgressSink, Runner};
use ferroflux_runtime::target::{KubeTargets, KubeTargetsOptions};
use ferroflux_runtime::{Secrets, StatusStore, webhook};

#[derive(Args)]
#[command(group(clap::ArgGroup::new("mode").required(true).args(["once", "watch"])))]
pub struct AutomateArgs {
    /// The Git repository holding the Flux manifests: a URL or a local path.
    #[arg(long, value_name = "URL|PATH")]
    repo: String,
    /// Branch of --repo to read the manifests from.
    #[arg(long, default_value = "main")]
    branch: String,
    /// Directory inside the repository with the Flux objects.
    #[arg(long, value_name = "DIR", default_value = ".")]
    path: PathBuf,
    /// One pass: scan every ImageRepository, choose, rewrite, commit,
    /// push, print a summary.
    #[arg(long)]
    once: bool,
    /// With --once: scan only the ImageRepositories whose spec.interval
    /// elapsed since the stored scan (for cron jobs).
    #[arg(long, requires = "once")]
    respect_intervals: bool,
    /// Keep running: intervals, policy triggers and webhook receivers.
    #[arg(long)]
    watch: bool,
    /// State database (tags and status) [default: $XDG_STATE_HOME/ferroflux/state.redb].
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Address of the Receiver webhook server (--watch).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9292")]
    listen: String,
    /// Directory of Kubernetes Secret manifests named by secretRef fields.
    #[arg(long, value_name = "DIR")]
    secrets: Option<PathBuf>,
    /// Registry credentials for ImageRepositories without a secretRef
    /// [default: ~/.docker/config.json when it exists].
    #[arg(long, value_name = "FILE")]
    docker_config: Option<PathBuf>,
    /// SSH private key for --repo (with --known-hosts).
    #[arg(long, value_name = "FILE", requires = "known_hosts")]
    ssh_key: Option<PathBuf>,
    /// known_hosts for --repo over SSH.
    #[arg(long, value_name = "FILE")]
    known_hosts: Option<PathBuf>,
    /// Reconciles of each kind at work at once (each Flux controller's
    /// --concurrent); the others go on while one waits on a server, and a
    /// Kustomization waiting for its health checks frees its place.
    #[arg(long, value_name = "N", default_value = "4",
          value_parser = clap::value_parser!(u16).range(1..=1000))]
    concurrent: u16,
    /// Apply the repository's Kustomizations to this cluster (from outside
    /// it, inventory in the state file); without it GitRepositories and
    /// Kustomizations are only read.
    #[arg(long, value_name = "FILE")]
    kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (with --kubeconfig).
    #[arg(long, requires = "kubeconfig")]
    context: Option<String>,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// `$XDG_STATE_HOME/ferroflux/state.redb`, else `~/.local/state/...`.
pub fn default_state_path() -> PathBuf {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local").join("state")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("ferroflux").join("state.redb")
}

pub(crate) fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FERROFLUX_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // Errors only when a subscriber is already set (tests in one process).
    let _ = match format {
        LogFormat::Json => builder.json().with_current_span(false).try_init(),
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .with_target(false)
            .try_init(),
    };
}

fn read(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {what} {}", path.display()))
}

fn repo_credentials(args: &AutomateArgs) -> anyhow::Result<BTreeMap<String, Vec<u8>>> {
    let mut data = BTreeMap::new();
    if let Some(key) = &args.ssh_key {
        data.insert("identity".to_string(), read(key, "ssh key")?);
    }
    if let Some(kh) = &args.known_hosts {
        data.insert("known_hosts".to_string(), read(kh, "known_hosts")?);
    }
    if let Some(password) = std::env::var_os("FERROFLUX_GIT_PASSWORD").filter(|p| !p.is_empty()) {
        let user = basic_user(&args.repo, std::env::var("FERROFLUX_GIT_USERNAME").ok());
        data.insert("username".to_string(), user.into_bytes());
        data.insert(
            "password".to_string(),
            password.to_string_lossy().as_bytes().to_vec(),
        );
    }
    Ok(data)
}

/// The Basic user for `FERROFLUX_GIT_PASSWORD`: `FERROFLUX_GIT_USERNAME`
/// when set, else the user of the URL (`http://bob@host/...`, as git does),
/// else `git`.
fn basic_user(repo: &str, env_user: Option<String>) -> String {
    let from_url = || {
        let (_, rest) = repo.split_once("://")?;
        let authority = rest.split('/').next()?;
        let (userinfo, _) = authority.rsplit_once('@')?;
        let user = userinfo.split(':').next()?;
        (!user.is_empty()).then(|| user.to_string())
    };
    env_user
        .filter(|u| !u.is_empty())
        .or_else(from_url)
        .unwrap_or_else(|| "git".to_string())
}

fn options(args: &AutomateArgs) -> anyhow::Result<AutomateOptions> {
    let mut secrets = match &args.secrets {
        Some(dir) => Secrets::load_dir(dir)?,
        None => Secrets::default(),
    };
    let docker_config = args.docker_config.clone().or_else(|| {
        std::env::var_os("HOME")
            .map(|h| PathBuf::from(h).join(".docker/config.json"))
            .filter(|p| p.is_file())
    });
    if let Some(file) = docker_config {
        secrets = secrets.with_docker_config(&file)?;
    }
    Ok(AutomateOptions {
        repo: args.repo.clone(),
        branch: args.branch.clone(),
        path: args.path.clone(),
        secrets,
        repo_credentials: repo_credentials(args)?,
        respect_intervals: args.respect_intervals,
        concurrent: usize::from(args.concurrent),
        ..AutomateOptions::default()
    })
}

pub fn run(args: AutomateArgs) -> anyhow::Result<ExitCode> {
    init_logs(args.log_format);
    let state_path = args.state.clone().unwrap_or_else(default_state_path);
    let opts = options(&args)?;
    let state = StatusStore::open(&state_path)
        .with_context(|| format!("cannot open state {}", state_path.display()))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = rt.block_on(async move {
        let mut runner = Runner::new(opts, state)?;
        if let Some(kubeconfig) = &args.kubeconfig {
            let conn = ferroflux_kube::cluster::connect(&ferroflux_kube::cluster::ConnectOptions {
                kubeconfig: Some(kubeconfig.clone()),
                context: args.context.clone(),
            })
            .await?;
            let targets = KubeTargets::new(
                conn.config.clone(),
                Arc::new(conn.client.clone()),
                KubeTargetsOptions::default(),
            );
            runner = runner
                .with_targets(Arc::new(targets))
                .with_config_maps(conn.client.clone());
        }
        if args.log_format == LogFormat::Text && std::io::stderr().is_terminal() {
            runner = runner.with_progress(terminal_progress());
        }
        if args.once {
            let summary = runner.run_once().await?;
            print!("{summary}");
            return Ok(if summary.all_ready() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            });
        }
        watch(runner, &args.listen).await
    });
    // A git call stuck on a silent server must not hold up the exit: its
    // reconcile already gave up waiting (spec.timeout).
    rt.shutdown_timeout(std::time::Duration::from_secs(1));
    result
}

async fn watch(mut runner: Runner, listen: &str) -> anyhow::Result<ExitCode> {
    let listener = webhook::bind(listen).await?;
    let addr = listener.local_addr().context("webhook listener address")?;
    let (sched, handle) = runner.scheduler();
    let router = webhook::router(runner.receivers(), handle, runner.clock());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut server_stop = stop_rx.clone();
    let server = tokio::spawn(webhook::serve(listener, router, async move {
        let _ = server_stop.wait_for(|s| *s).await;
    }));
    tracing::info!(%addr, "webhook receivers listening");
    let signals = tokio::spawn(async move {
        let _ = shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    let mut runner_stop = stop_rx;
    let result = runner
        .watch(sched, async move {
            let _ = runner_stop.wait_for(|s| *s).await;
        })
        .await;
    signals.abort();
    server.abort();
    result?;
    Ok(ExitCode::SUCCESS)
}

/// Fetches smaller than this many objects finish too fast to need a bar.
const SHOWN_FETCH_OBJECTS: usize = 500;

/// The spinner line for one event, or None when it is not worth showing
/// (a single-page scan, a small fetch); `true` when the step finished.
fn progress_line(e: &ProgressEvent) -> (Option<String>, bool) {
    match e {
        ProgressEvent::Scan {
            image,
            pages,
            tags,
            more,
        } => {
            let shown = *pages > 1 || *more;
            let line = format!("scanning {image}: page {pages}, {tags} tags");
            (shown.then_some(line), !more)
        }
        ProgressEvent::Fetch {
            url,
            received,
            total,
        } => {
            let shown = *total >= SHOWN_FETCH_OBJECTS;
            let line = format!("fetching {url}: {received}/{total} objects");
            (shown.then_some(line), received >= total)
        }
    }
}

/// A spinner on stderr for long scans and clones (terminal, text logs).
fn terminal_progress() -> ProgressSink {
    let bar: std::sync::Mutex<Option<indicatif::ProgressBar>> = std::sync::Mutex::new(None);
    std::sync::Arc::new(move |e: ProgressEvent| {
        let (line, done) = progress_line(&e);
        let mut bar = bar
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(line) = line {
            let b = bar.get_or_insert_with(|| {
                let b = indicatif::ProgressBar::new_spinner();
                b.enable_steady_tick(std::time::Duration::from_millis(120));
                b
            });
            b.set_message(line);
        }
        if done && let Some(b) = bar.take() {
            b.finish_and_clear();
        }
    })
}

/// SIGTERM or Ctrl-C.
pub(crate) async fn shutdown_signal() -> std::io::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = term.recv() => {}
        r = tokio::signal::ctrl_c() => r?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        args: AutomateArgs,
    }

    #[test]
    fn concurrent_reaches_the_runner_and_defaults_to_fluxs_4() {
        let parse = |extra: &[&str]| {
            let mut argv = vec!["automate", "--repo", "/srv/fleet.git", "--once"];
            argv.extend_from_slice(extra);
            Cli::try_parse_from(argv).map(|c| options(&c.args).expect("options").concurrent)
        };
        assert_eq!(parse(&[]).expect("default"), 4);
        assert_eq!(parse(&["--concurrent", "16"]).expect("16"), 16);
        for bad in ["0", "1001", "many"] {
            let err = parse(&["--concurrent", bad]).expect_err(bad).to_string();
            assert!(err.contains("--concurrent"), "{bad}: {err}");
        }
    }

    #[test]
    fn basic_user_comes_from_the_env_then_the_url_then_git() {
        let cases = [
            ("http://bob@host/fleet.git", None, "bob"),
            ("https://bob:pw@host:8443/fleet.git", None, "bob"),
            ("http://bob@host/fleet.git", Some("alice"), "alice"),
            ("http://bob@host/fleet.git", Some(""), "bob"),
            ("http://host/fleet.git", None, "git"),
            ("http://host/a@b/fleet.git", None, "git"),
            ("/srv/fleet.git", None, "git"),
        ];
        for (repo, env, want) in cases {
            assert_eq!(basic_user(repo, env.map(str::to_string)), want, "{repo}");
        }
    }

    #[test]
    fn only_long_scans_and_large_fetches_are_shown() {
        let scan = |pages, more| ProgressEvent::Scan {
            image: "index.docker.io/library/nginx".into(),
            pages,
            tags: pages * 1000,
            more,
        };
        assert_eq!(progress_line(&scan(1, false)), (None, true));
        assert_eq!(
            progress_line(&scan(1, true)),
            (
                Some("scanning index.docker.io/library/nginx: page 1, 1000 tags".into()),
                false
            )
        );
        assert!(progress_line(&scan(3, false)).1);
        let fetch = |received, total| ProgressEvent::Fetch {
            url: "https://git.example/fleet.git".into(),
            received,
            total,
        };
        assert_eq!(progress_line(&fetch(10, 20)), (None, false));
        assert_eq!(
            progress_line(&fetch(600, 1200)),
            (
                Some("fetching https://git.example/fleet.git: 600/1200 objects".into()),
                false
            )
        );
        assert!(progress_line(&fetch(1200, 1200)).1);
    }
}
