//! `ferroflux controller`: the image chain inside Kubernetes, one binary in
//! place of Flux's image-reflector, image-automation and (for Receivers)
//! notification controllers. Objects and status live in the cluster; tags
//! in a redb file under `--storage-path`; one replica reconciles at a time
//! (a Lease); `--watch-label-selector` shards like Flux.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use ferroflux_api::duration::Duration as GoDuration;
use ferroflux_kube::cluster::{ConnectOptions, connect};
use ferroflux_runtime::automate::{AutomateOptions, Runner};
use ferroflux_runtime::cluster::{Cluster, ClusterOptions};
use ferroflux_runtime::leader::{self, LeaderOptions};
use ferroflux_runtime::metrics::{self, Metrics};
use ferroflux_runtime::target::{KubeTargets, KubeTargetsOptions};
use ferroflux_runtime::{Secrets, StatusStore, webhook};

use crate::automate::{LogFormat, init_logs, shutdown_signal};

#[derive(Args)]
pub struct ControllerArgs {
    /// Kubeconfig file [default: as kubectl: $KUBECONFIG, ~/.kube/config, in-cluster].
    #[arg(long, value_name = "FILE")]
    kubeconfig: Option<PathBuf>,
    /// Kubeconfig context.
    #[arg(long)]
    context: Option<String>,
    /// Only objects whose labels match (Flux's sharding: `sharding.fluxcd.io/key=shard1`).
    #[arg(long, value_name = "SELECTOR")]
    watch_label_selector: Option<String>,
    /// Directory of the tag database and the Git clones.
    #[arg(long, value_name = "DIR", default_value = "/data")]
    storage_path: PathBuf,
    /// Address of the artifact file server (source-controller's flag):
    /// GitRepository artifacts at Flux's paths.
    #[arg(long, value_name = "ADDR", default_value = ":9090")]
    storage_addr: String,
    /// The address artifact URLs advertise [default: --storage-addr's, with
    /// 0.0.0.0 as $HOSTNAME and no host as localhost].
    #[arg(long, value_name = "ADDR", default_value = "")]
    storage_adv_addr: String,
    /// Address of /metrics.
    #[arg(long, value_name = "ADDR", default_value = ":8080")]
    metrics_addr: String,
    /// Address of /healthz and /readyz.
    #[arg(long, value_name = "ADDR", default_value = ":9440")]
    health_addr: String,
    /// Address of the Receiver webhook server (Flux's notification-controller port).
    #[arg(long, value_name = "ADDR", default_value = ":9292")]
    receiver_addr: String,
    /// Elect a leader through a Lease, so that only one replica reconciles.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL",
          num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    enable_leader_election: bool,
    /// How long a Lease holds without renewal.
    #[arg(long, value_name = "DURATION", default_value = "35s")]
    leader_election_lease_duration: GoDuration,
    /// The leader renews within this time, or gives up.
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    leader_election_renew_deadline: GoDuration,
    /// Namespace of the Lease [default: $RUNTIME_NAMESPACE, else flux-system].
    #[arg(long, value_name = "NAMESPACE")]
    leader_election_namespace: Option<String>,
    /// Name of the Lease.
    #[arg(long, value_name = "NAME", default_value = "ferroflux-leader-election")]
    leader_election_id: String,
    /// Reconciles of each kind at work at once (each Flux controller's
    /// --concurrent); the others go on while one waits on a server, and a
    /// Kustomization waiting for its health checks frees its place.
    #[arg(long, value_name = "N", default_value = "4",
          value_parser = clap::value_parser!(u16).range(1..=1000))]
    concurrent: u16,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Json)]
    log_format: LogFormat,
}

/// This replica's name in the Lease: the pod name (or host name) and a
/// random suffix, as controller-runtime does.
fn identity() -> String {
    let host = std::env::var("POD_NAME")
        .or_else(|_| std::env::var("HOSTNAME"))
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|s| s.trim().to_string())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "ferroflux".to_string());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{host}_{:08x}", nanos ^ std::process::id())
}

/// What the runner is told: Secrets come from the cluster's watches.
fn runner_options(args: &ControllerArgs) -> AutomateOptions {
    AutomateOptions {
        secrets: Secrets::default(),
        backoff: Duration::from_secs(1),
        concurrent: usize::from(args.concurrent),
        artifacts_dir: Some(args.storage_path.join("artifacts")),
        artifacts_address: ferroflux_artifact::storage::advertised_address(
            &args.storage_addr,
            &args.storage_adv_addr,
            &std::env::var("HOSTNAME").unwrap_or_default(),
        ),
        ..AutomateOptions::default()
    }
}

pub fn run(args: ControllerArgs) -> anyhow::Result<ExitCode> {
    init_logs(args.log_format);
    std::fs::create_dir_all(&args.storage_path).with_context(|| {
        format!(
            "cannot create --storage-path {}",
            args.storage_path.display()
        )
    })?;
    let state_path = args.storage_path.join("ferroflux.redb");
    let state = StatusStore::open(&state_path)
        .with_context(|| format!("cannot open the tag database {}", state_path.display()))?;
    let leader_opts = LeaderOptions {
        lease_name: args.leader_election_id.clone(),
        namespace: args
            .leader_election_namespace
            .clone()
            .or_else(|| std::env::var("RUNTIME_NAMESPACE").ok())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "flux-system".to_string()),
        identity: identity(),
        lease_duration: args.leader_election_lease_duration.to_std(),
        renew_deadline: args.leader_election_renew_deadline.to_std(),
    };
    if args.enable_leader_election {
        leader::lease_seconds(&leader_opts)?;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(serve(args, state, leader_opts))
}

async fn serve(
    args: ControllerArgs,
    state: StatusStore,
    leader_opts: LeaderOptions,
) -> anyhow::Result<ExitCode> {
    let conn = connect(&ConnectOptions {
        kubeconfig: args.kubeconfig.clone(),
        context: args.context.clone(),
    })
    .await?;
    Cluster::new(
        conn.client.clone(),
        ClusterOptions {
            label_selector: args.watch_label_selector.clone(),
            instance: None,
        },
    )
    .check()
    .await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |rx: &tokio::sync::watch::Receiver<bool>| {
        let mut rx = rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let signals = tokio::spawn(async move {
        let _ = shutdown_signal().await;
        let _ = stop_tx.send(true);
    });

    // Probes and metrics first: a standby replica is alive and ready too.
    let metrics = Arc::new(Metrics::new());
    let ready = Arc::new(AtomicBool::new(false));
    let metrics_listener = webhook::bind(&args.metrics_addr).await?;
    let health_listener = webhook::bind(&args.health_addr).await?;
    tracing::info!(
        metrics = %metrics_listener.local_addr().context("metrics address")?,
        health = %health_listener.local_addr().context("health address")?,
        "serving metrics and probes"
    );
    let probes = metrics::router(Arc::clone(&metrics), Arc::clone(&ready));
    let servers = vec![
        tokio::spawn(webhook::serve(
            metrics_listener,
            probes.clone(),
            stopped(&stop_rx),
        )),
        tokio::spawn(webhook::serve(health_listener, probes, stopped(&stop_rx))),
    ];
    ready.store(true, Ordering::Release);

    let mut leadership = None;
    if args.enable_leader_election {
        tokio::select! {
            l = leader::acquire(conn.client.clone(), &leader_opts) => leadership = Some(l?),
            () = stopped(&stop_rx) => {
                signals.abort();
                return Ok(ExitCode::SUCCESS);
            }
        }
    }

    let opts = runner_options(&args);
    let cluster = Cluster::new(
        conn.client.clone(),
        ClusterOptions {
            label_selector: args.watch_label_selector.clone(),
            instance: Some(leader_opts.identity.clone()),
        },
    );
    let changes = cluster.watch();
    let targets = KubeTargets::new(
        conn.config.clone(),
        Arc::new(conn.client.clone()),
        KubeTargetsOptions::default(),
    );
    let mut runner = Runner::new(opts, state)?
        .in_cluster(cluster)
        .with_targets(Arc::new(targets))
        .with_metrics(Arc::clone(&metrics));
    let receiver_listener = webhook::bind(&args.receiver_addr).await?;
    let (sched, handle) = runner.scheduler();
    let router = webhook::router(runner.receivers(), handle, runner.clock());
    tracing::info!(
        addr = %receiver_listener.local_addr().context("receiver address")?,
        "webhook receivers listening"
    );
    let receiver_server =
        tokio::spawn(webhook::serve(receiver_listener, router, stopped(&stop_rx)));
    let storage_listener = webhook::bind(&args.storage_addr).await?;
    tracing::info!(
        addr = %storage_listener.local_addr().context("storage address")?,
        root = %runner.storage().root().display(),
        "artifact server listening"
    );
    let storage_root = runner.storage().root().to_path_buf();
    let storage_stop = stopped(&stop_rx);
    let storage_server = tokio::spawn(async move {
        if let Err(e) =
            ferroflux_artifact::server::serve(storage_listener, &storage_root, storage_stop).await
        {
            tracing::error!("artifact server: {e}");
        }
    });

    let lost = Arc::new(AtomicBool::new(false));
    let shutdown = {
        let stop = stopped(&stop_rx);
        let lost = Arc::clone(&lost);
        async move {
            match leadership.as_mut() {
                Some(l) => tokio::select! {
                    () = stop => {}
                    () = l.lost() => lost.store(true, Ordering::Release),
                },
                None => stop.await,
            }
            leadership
        }
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    let result = runner
        .control(sched, changes, async move {
            let l = shutdown.await;
            let _ = tx.send(l);
        })
        .await;
    signals.abort();
    receiver_server.abort();
    storage_server.abort();
    for s in servers {
        s.abort();
    }
    if let Ok(Some(l)) = rx.await {
        if lost.load(Ordering::Acquire) {
            tracing::error!("leader election lost");
        } else {
            l.release().await;
        }
    }
    result?;
    if lost.load(Ordering::Acquire) {
        anyhow::bail!("leader election lost: another replica holds the Lease");
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        args: ControllerArgs,
    }

    #[test]
    fn concurrent_reaches_the_runner_as_fluxs_flag_does() {
        let parse =
            |argv: &[&str]| Cli::try_parse_from(argv).map(|c| runner_options(&c.args).concurrent);
        assert_eq!(parse(&["controller"]).expect("default"), 4);
        // The spelling of Flux's Deployment args.
        assert_eq!(parse(&["controller", "--concurrent=10"]).expect("10"), 10);
        let err = parse(&["controller", "--concurrent=0"])
            .expect_err("0")
            .to_string();
        assert!(err.contains("--concurrent"), "{err}");
    }
}
