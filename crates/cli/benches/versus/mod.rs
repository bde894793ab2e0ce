//! What the benches against Flux's controllers share (`versus-flux-gitops`,
//! `versus-flux-helm`): the control plane (the testkit's kube-apiserver +
//! etcd, plus a second kube-controller-manager that reports Deployments
//! Available), the contenders' processes (spawned, health-waited, sampled
//! for VmHWM and CPU, stopped), the kstatus Ready watch, waiting for N
//! objects Ready, and the Markdown table.
//!
//! Each bench includes it with `mod versus;`; not every bench uses every
//! piece.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferroflux_testkit::control_plane::{CONTROLLER_MANAGER_ENV, ControlPlane};
use ferroflux_testkit::http;
use ferroflux_testkit::process::{cpu_seconds, percentile, status_kib};
use futures_util::{StreamExt as _, TryStreamExt as _};
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::WatchStreamExt as _;
use kube::runtime::watcher;
use serde::Deserialize as _;
use serde_json::{Value, json};

/// The field manager of what the harness creates.
pub const MANAGER: &str = "ferroflux-bench";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Side {
    Flux,
    Ferroflux,
}

impl Side {
    pub fn label(self) -> &'static str {
        match self {
            Side::Flux => "flux",
            Side::Ferroflux => "ferroflux",
        }
    }
}

/// A positive whole number from the environment, `default` when unset.
pub fn env_number(var: &str, default: usize) -> Result<usize, String> {
    match std::env::var(var) {
        Err(_) => Ok(default),
        Ok(v) => v
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("{var}={v:?}: expected a positive whole number")),
    }
}

/// `FERROFLUX_BENCH_CONTENDERS` (`flux,ferroflux`, either alone).
pub fn contenders() -> Result<Vec<Side>, String> {
    let contenders = std::env::var("FERROFLUX_BENCH_CONTENDERS")
        .unwrap_or_else(|_| "flux,ferroflux".into())
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| match s {
            "flux" => Ok(Side::Flux),
            "ferroflux" => Ok(Side::Ferroflux),
            other => Err(format!(
                "FERROFLUX_BENCH_CONTENDERS: unknown contender {other:?} (flux, ferroflux)"
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if contenders.is_empty() {
        return Err("FERROFLUX_BENCH_CONTENDERS names no contender".into());
    }
    Ok(contenders)
}

/// `FERROFLUX_BENCH_FERROFLUX_ARGS`, split on whitespace.
pub fn ferroflux_args() -> Vec<String> {
    std::env::var("FERROFLUX_BENCH_FERROFLUX_ARGS")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// Only `cargo bench` (which passes --bench) runs these binaries: `cargo
/// test --all-targets` runs bench binaries too.
pub fn run_by_cargo_bench() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test" || a == "--list")
}

/// What was seen of one object by a watch: when it first had a status,
/// when it was first Ready, whether it is Ready now and its Ready message.
#[derive(Default, Clone)]
pub struct Seen {
    pub status_at: Option<Instant>,
    pub ready_at: Option<Instant>,
    pub ready: bool,
    pub message: String,
}

pub type Board = Arc<Mutex<HashMap<String, Seen>>>;

/// kstatus's rule for a Flux object: Ready=True, observed at the current
/// generation. Also whether it has any status, and its Ready message.
pub fn readiness(obj: &DynamicObject) -> (bool, bool, String) {
    let status = &obj.data["status"];
    let conditions = status["conditions"].as_array();
    let ready_condition = conditions.and_then(|c| c.iter().find(|c| c["type"] == "Ready"));
    let observed = status["observedGeneration"].as_i64();
    let current = observed.is_some() && observed == obj.metadata.generation;
    let ready = current && ready_condition.is_some_and(|c| c["status"] == "True");
    let has_status = current || conditions.is_some_and(|c| !c.is_empty());
    let message = ready_condition
        .and_then(|c| c["message"].as_str())
        .unwrap_or("no Ready condition")
        .chars()
        .take(300)
        .collect();
    (ready, has_status, message)
}

fn note(board: &Board, obj: &DynamicObject) {
    let Some(name) = obj.metadata.name.clone() else {
        return;
    };
    let (ready, has_status, message) = readiness(obj);
    let now = Instant::now();
    let mut board = board.lock().expect("board lock");
    let seen = board.entry(name).or_default();
    if has_status && seen.status_at.is_none() {
        seen.status_at = Some(now);
    }
    if ready && seen.ready_at.is_none() {
        seen.ready_at = Some(now);
    }
    seen.ready = ready;
    seen.message = message;
}

async fn watch(api: Api<DynamicObject>, selector: String, board: Board) {
    let mut events = watcher(api, watcher::Config::default().labels(&selector))
        .default_backoff()
        .boxed();
    while let Some(event) = events.next().await {
        if let Ok(watcher::Event::Apply(obj) | watcher::Event::InitApply(obj)) = event {
            note(&board, &obj);
        }
    }
}

/// The resource of a kind these benches create or read, and whether it is
/// namespaced.
pub fn resource(api_version: &str, kind: &str) -> (ApiResource, bool) {
    let (plural, namespaced) = match kind {
        "Namespace" => ("namespaces", false),
        "ServiceCIDR" => ("servicecidrs", false),
        "CustomResourceDefinition" => ("customresourcedefinitions", false),
        "ClusterRole" => ("clusterroles", false),
        "ServiceAccount" => ("serviceaccounts", true),
        "Secret" => ("secrets", true),
        "ConfigMap" => ("configmaps", true),
        "Service" => ("services", true),
        "Deployment" => ("deployments", true),
        "Ingress" => ("ingresses", true),
        "RoleBinding" => ("rolebindings", true),
        "GitRepository" => ("gitrepositories", true),
        "HelmRepository" => ("helmrepositories", true),
        "HelmChart" => ("helmcharts", true),
        "HelmRelease" => ("helmreleases", true),
        "Kustomization" => ("kustomizations", true),
        "Receiver" => ("receivers", true),
        other => panic!("versus: no resource for kind {other}"),
    };
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind);
    (ApiResource::from_gvk_with_plural(&gvk, plural), namespaced)
}

pub fn api(
    client: &kube::Client,
    api_version: &str,
    kind: &str,
    ns: Option<&str>,
) -> Api<DynamicObject> {
    let (ar, namespaced) = resource(api_version, kind);
    match ns {
        Some(ns) if namespaced => Api::namespaced_with(client.clone(), ns, &ar),
        _ => Api::all_with(client.clone(), &ar),
    }
}

/// Server-side apply of one object, as `timoni apply` and `kubectl apply
/// --server-side` create them.
pub async fn apply(client: &kube::Client, obj: &Value) -> Result<(), String> {
    let kind = obj["kind"].as_str().unwrap_or_default();
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    let api = api(
        client,
        obj["apiVersion"].as_str().unwrap_or_default(),
        kind,
        obj["metadata"]["namespace"].as_str(),
    );
    api.patch(
        name,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(obj),
    )
    .await
    .map(drop)
    .map_err(|e| format!("apply {kind}/{name}: {e}"))
}

/// The processes of one contender.
pub struct Controllers {
    pub side: Side,
    pub children: Vec<(String, Child)>,
    pub receiver_port: Option<u16>,
    pub logs: PathBuf,
}

impl Controllers {
    pub fn pids(&self) -> Vec<(String, u32)> {
        self.children
            .iter()
            .map(|(name, c)| (name.clone(), c.id()))
            .collect()
    }

    /// Per process, its name and peak resident memory (VmHWM, KiB); and
    /// the CPU seconds (utime + stime) of all of them so far.
    pub fn sample(&self) -> (Vec<(String, u64)>, f64) {
        let pids = self.pids();
        let peak = pids
            .iter()
            .map(|(name, pid)| (name.clone(), status_kib(*pid, "VmHWM:")))
            .collect();
        let cpu = pids.iter().map(|(_, pid)| cpu_seconds(*pid)).sum();
        (peak, cpu)
    }

    /// An error naming the process that exited, with its log's tail.
    pub fn exited(&mut self) -> Option<String> {
        for (name, child) in &mut self.children {
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(self.logs.join(format!("{name}.log")))
                    .unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(5).collect();
                return Some(format!(
                    "{}: {name} exited ({status}); its log ends: {}",
                    self.side.label(),
                    tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
                ));
            }
        }
        None
    }

    /// Wait (60 s at most) until every health port answers /readyz 200.
    pub fn wait_healthy(mut self, health: &[u16]) -> Result<Controllers, String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !health.iter().all(|&p| health_ready(p)) {
            if let Some(e) = self.exited() {
                return Err(e);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{}: /readyz not 200 within 60 s",
                    self.side.label()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(self)
    }

    pub fn stop(&mut self) {
        for (_, child) in &mut self.children {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
        }
        for (_, child) in &mut self.children {
            let deadline = Instant::now() + Duration::from_secs(15);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        self.children.clear();
    }
}

impl Drop for Controllers {
    fn drop(&mut self) {
        self.stop();
    }
}

/// How a contender's process is started: its log goes to
/// `<data>/<name>.log`, HOME and TMPDIR are `data`.
pub struct Spawn<'a> {
    pub kubeconfig: &'a Path,
    pub side: Side,
    pub name: &'a str,
    pub bin: &'a Path,
    pub args: &'a [String],
    pub data: &'a Path,
    /// Flux's `GOMEMLIMIT` (its manifests set it to the container's
    /// memory limit); ignored for ferroflux.
    pub gomemlimit: &'a str,
}

impl Spawn<'_> {
    pub fn spawn(&self) -> (String, Child) {
        let log =
            std::fs::File::create(self.data.join(format!("{}.log", self.name))).expect("log file");
        let mut cmd = Command::new(self.bin);
        cmd.args(self.args)
            .env("KUBECONFIG", self.kubeconfig)
            .env("HOME", self.data)
            .env("TMPDIR", self.data)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        if self.side == Side::Flux {
            cmd.env("GOMEMLIMIT", self.gomemlimit);
        } else {
            // As `ferroflux install`'s Deployment sets it.
            cmd.env(
                "MALLOC_ARENA_MAX",
                ferroflux_kube::install::MALLOC_ARENA_MAX,
            );
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", self.bin.display()));
        (self.name.to_string(), child)
    }
}

/// Flux's usual controller flags: no leader election, metrics and health
/// on loopback (the health port returned), all namespaces.
pub fn flux_common_args(health: u16) -> Vec<String> {
    vec![
        "--enable-leader-election=false".to_string(),
        format!("--metrics-addr=127.0.0.1:{}", free_port()),
        format!("--health-addr=127.0.0.1:{health}"),
        "--watch-all-namespaces=true".to_string(),
    ]
}

pub use ferroflux_testkit::registry::free_port;

pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

pub fn health_ready(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        && http::get(port, "/readyz").status == 200
}

/// The CRDs in the YAML of Flux's `crds/` directory (sorted by file name)
/// or of `ferroflux install --export`.
pub fn crds_of(side: Side, flux_dir: Option<&Path>, build: &str) -> Result<Vec<Value>, String> {
    let mut text = String::new();
    match side {
        Side::Flux => {
            let dir =
                flux_dir.ok_or_else(|| format!("FERROFLUX_FLUX_DIR is not set (run {build})"))?;
            let mut paths: Vec<PathBuf> = std::fs::read_dir(dir.join("crds"))
                .map_err(|e| format!("{}: {e}", dir.join("crds").display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            paths.sort();
            for p in paths {
                text.push_str(
                    &std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?,
                );
                text.push_str("\n---\n");
            }
        }
        Side::Ferroflux => {
            let out = Command::new(env!("CARGO_BIN_EXE_ferroflux"))
                .args(["install", "--export"])
                .output()
                .map_err(|e| format!("ferroflux install --export: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "ferroflux install --export failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            text = String::from_utf8_lossy(&out.stdout).into_owned();
        }
    }
    let mut crds = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let v = Value::deserialize(doc).map_err(|e| format!("{} CRDs: {e}", side.label()))?;
        if v["kind"] == "CustomResourceDefinition" {
            crds.push(v);
        }
    }
    Ok(crds)
}

/// The CRDs of one side, checked for the `needed` ones, applied and served
/// before its controllers start (users install CRDs long before): Flux's
/// own for Flux, those of `ferroflux install --export` for ferroflux.
/// `build` names the script that builds Flux's set.
pub fn install_crds(
    cluster: &Cluster,
    side: Side,
    flux_dir: Option<&Path>,
    needed: &[&str],
    build: &str,
) -> Result<(), String> {
    let crds = crds_of(side, flux_dir, build)?;
    for needed in needed {
        if !crds.iter().any(|c| c["metadata"]["name"] == *needed) {
            let from = match side {
                Side::Flux => format!("Flux's CRDs (FERROFLUX_FLUX_DIR/crds; run {build})"),
                Side::Ferroflux => "`ferroflux install --export`".to_string(),
            };
            return Err(format!(
                "{from} has no {needed} CRD: {} cannot reconcile that kind yet",
                side.label()
            ));
        }
    }
    let client = &cluster.client;
    cluster.rt.block_on(async {
        for crd in &crds {
            apply(client, crd).await?;
        }
        for crd in &crds {
            let name = crd["metadata"]["name"].as_str().unwrap_or_default();
            let group = crd["spec"]["group"].as_str().unwrap_or_default();
            let plural = crd["spec"]["names"]["plural"].as_str().unwrap_or_default();
            let kind = crd["spec"]["names"]["kind"].as_str().unwrap_or_default();
            let crds_api = api(
                client,
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                None,
            );
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let established = crds_api.get(name).await.ok().is_some_and(|c| {
                    c.data["status"]["conditions"].as_array().is_some_and(|cs| {
                        cs.iter()
                            .any(|c| c["type"] == "Established" && c["status"] == "True")
                    })
                });
                // Established is a moment before the kind is served: list
                // each served version once.
                let mut served = established;
                for v in crd["spec"]["versions"].as_array().into_iter().flatten() {
                    if !served || v["served"] != true {
                        continue;
                    }
                    let gvk =
                        GroupVersionKind::gvk(group, v["name"].as_str().unwrap_or_default(), kind);
                    let ar = ApiResource::from_gvk_with_plural(&gvk, plural);
                    let list: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
                    served = list.list(&ListParams::default().limit(1)).await.is_ok();
                }
                if served {
                    break;
                }
                if Instant::now() > deadline {
                    return Err(format!("CRD {name} is not served after 60 s"));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(())
    })
}

/// A bench whose contenders run one after the other ([`in_turn`]).
pub trait Turns {
    type Figures;
    /// The cluster the contenders run on, where a renewed control plane's
    /// controller-manager logs (`<dir>/<side>`), and the contenders.
    fn stage(&mut self) -> (&mut Cluster, &Path, &[Side]);
    /// The namespaces a side's objects are in.
    fn namespaces(side: Side) -> Vec<String>;
    /// One contender's run.
    fn run_side(&self, side: Side) -> Self::Figures;
}

/// Each contender in turn, each on a cluster as the first found it
/// ([`Cluster::renew`] between two: a fresh control plane, or the
/// previous side's namespaces cleared on a cluster of your own).
pub fn in_turn<B: Turns>(bench: &mut B) -> Vec<B::Figures> {
    let mut figures = Vec::new();
    let mut previous = None;
    for side in bench.stage().2.to_vec() {
        if let Some(previous) = previous {
            let started = Instant::now();
            let (cluster, dir, _) = bench.stage();
            match cluster.renew(&dir.join(side.label()), &B::namespaces(previous)) {
                Ok(done) => eprintln!(
                    "{}: {done} in {:.1} s",
                    side.label(),
                    started.elapsed().as_secs_f64()
                ),
                Err(e) => eprintln!("{}: the cluster is not renewed: {e}", side.label()),
            }
        }
        figures.push(bench.run_side(side));
        previous = Some(side);
    }
    figures
}

/// Drops the finalizers of the objects `objects` lists (a kind not served
/// holds none), 16 patches at a time; `what` (`Kind/namespace`) names them
/// in an error.
async fn unfinalize(objects: &Api<DynamicObject>, what: &str) -> Result<(), String> {
    let Ok(list) = objects.list(&Default::default()).await else {
        return Ok(());
    };
    let patch = Patch::Merge(json!({"metadata": {"finalizers": null}}));
    let finalized = list
        .items
        .into_iter()
        .filter(|o| {
            o.metadata
                .finalizers
                .as_ref()
                .is_some_and(|f| !f.is_empty())
        })
        .filter_map(|o| o.metadata.name);
    futures_util::stream::iter(finalized.map(Ok::<String, String>))
        .try_for_each_concurrent(16, |name| {
            let patch = &patch;
            async move {
                objects
                    .patch(&name, &PatchParams::default(), patch)
                    .await
                    .map(drop)
                    .map_err(|e| format!("unfinalize {what}/{name}: {e}"))
            }
        })
        .await
}

/// The cluster both contenders run against, one after the other: the
/// testkit's control plane with a second kube-controller-manager (or
/// `FERROFLUX_BENCH_KUBECONFIG`'s cluster, left as it is), a client and
/// the runtime that drives it. Fields drop in order: the extra
/// controller-manager before the control plane.
pub struct Cluster {
    pub rt: tokio::runtime::Runtime,
    pub client: kube::Client,
    pub kubeconfig: PathBuf,
    kcm: Option<KillOnDrop>,
    control_plane: Option<ControlPlane>,
}

impl Cluster {
    /// None (after the testkit's skip notice) when the control-plane
    /// binaries are missing. `dir` holds the controller-manager's log.
    pub fn start(dir: &Path) -> Option<Cluster> {
        let (control_plane, kubeconfig) = match std::env::var_os("FERROFLUX_BENCH_KUBECONFIG") {
            Some(path) => (None, PathBuf::from(path)),
            None => {
                let cp = ControlPlane::for_tests()?;
                let path = cp.kubeconfig();
                (Some(cp), path)
            }
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio");
        let client = rt.block_on(async {
            let config = kube::Config::from_custom_kubeconfig(
                Kubeconfig::read_from(&kubeconfig).expect("kubeconfig"),
                &KubeConfigOptions::default(),
            )
            .await
            .expect("kube config");
            kube::Client::try_from(config).expect("kube client")
        });
        let mut kcm = None;
        if control_plane.is_some() {
            kcm = Some(extra_controller_manager(&kubeconfig, dir));
            rt.block_on(async {
                apply(
                    &client,
                    &json!({"apiVersion": "networking.k8s.io/v1", "kind": "ServiceCIDR",
                        "metadata": {"name": "ferroflux-bench"}, "spec": {"cidrs": ["10.96.0.0/16"]}}),
                )
                .await
                .expect("ServiceCIDR");
                let roles = api(&client, "rbac.authorization.k8s.io/v1", "ClusterRole", None);
                let deadline = Instant::now() + Duration::from_secs(60);
                while roles
                    .get("admin")
                    .await
                    .ok()
                    .is_none_or(|r| r.data["rules"].as_array().is_none_or(Vec::is_empty))
                {
                    assert!(
                        Instant::now() < deadline,
                        "the admin ClusterRole has no rules after 60 s"
                    );
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            });
        }
        Some(Cluster {
            rt,
            client,
            kubeconfig,
            kcm,
            control_plane,
        })
    }

    /// The cluster as the next contender should find it: flux-benchmark
    /// gives each contender a fresh cluster. When this bench started the
    /// control plane, the old one is stopped and a new one started (the
    /// previous side's objects, its etcd history and the apiserver's
    /// caches gone: ferroflux took 12% longer right after ferroflux on
    /// the same control plane than on a fresh one). On a cluster of your
    /// own (`FERROFLUX_BENCH_KUBECONFIG`), `namespaces` are cleared
    /// ([`Self::clear_namespaces`]). Says which it did.
    pub fn renew(&mut self, dir: &Path, namespaces: &[String]) -> Result<&'static str, String> {
        if self.control_plane.is_none() {
            self.clear_namespaces(namespaces)?;
            return Ok("namespaces deleted");
        }
        // Stopped before the next starts: both would share the cores.
        self.kcm = None;
        self.control_plane = None;
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        *self = Cluster::start(dir).ok_or("the control-plane binaries are gone")?;
        Ok("a fresh control plane started")
    }

    /// Leaves the cluster as the next contender should find it, as a fresh
    /// cluster per contender does in flux-benchmark: `namespaces` deleted
    /// with all they hold, after the finalizers of the Flux objects in
    /// them are dropped (their controller has stopped and will not). Waits
    /// until they are gone (5 minutes at most).
    pub fn clear_namespaces(&self, namespaces: &[String]) -> Result<(), String> {
        const FLUX_KINDS: &[(&str, &str)] = &[
            ("source.toolkit.fluxcd.io/v1", "GitRepository"),
            ("source.toolkit.fluxcd.io/v1", "HelmRepository"),
            ("source.toolkit.fluxcd.io/v1", "HelmChart"),
            ("kustomize.toolkit.fluxcd.io/v1", "Kustomization"),
            ("helm.toolkit.fluxcd.io/v2", "HelmRelease"),
            ("notification.toolkit.fluxcd.io/v1", "Receiver"),
        ];
        let all = api(&self.client, "v1", "Namespace", None);
        self.rt.block_on(async {
            for ns in namespaces {
                for (api_version, kind) in FLUX_KINDS {
                    let objects = api(&self.client, api_version, kind, Some(ns));
                    unfinalize(&objects, &format!("{kind}/{ns}")).await?;
                }
                match all.delete(ns, &Default::default()).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 404 => {}
                    Err(e) => return Err(format!("delete namespace {ns}: {e}")),
                }
            }
            let deadline = Instant::now() + Duration::from_secs(300);
            for ns in namespaces {
                while all.get_opt(ns).await.map_err(|e| e.to_string())?.is_some() {
                    if Instant::now() > deadline {
                        return Err(format!("namespace {ns} is still there after 5 minutes"));
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
            Ok(())
        })
    }

    /// A watch of `kind` in `ns` for the objects labelled `bench=<side>`,
    /// noting on a board what it sees.
    pub fn watch_board(
        &self,
        kind: &str,
        api_version: &str,
        ns: &str,
        side: Side,
    ) -> (Board, tokio::task::JoinHandle<()>) {
        let board = Board::default();
        let task = self.rt.spawn(watch(
            api(&self.client, api_version, kind, Some(ns)),
            format!("bench={}", side.label()),
            board.clone(),
        ));
        (board, task)
    }

    /// Apply these objects one after the other.
    pub fn apply_all(&self, objects: &[Value]) -> Result<(), String> {
        self.rt.block_on(async {
            for obj in objects {
                apply(&self.client, obj).await?;
            }
            Ok(())
        })
    }
}

/// kube-controller-manager with what the shapes need and the testkit's
/// does not run: Deployments reported Available (`wait: true`), and the
/// `admin` ClusterRole's aggregated rules (the impersonated `flux`).
fn extra_controller_manager(kubeconfig: &Path, dir: &Path) -> KillOnDrop {
    let bin = std::env::var_os(CONTROLLER_MANAGER_ENV).expect("FERROFLUX_KUBE_CONTROLLER_MANAGER");
    let log = std::fs::File::create(dir.join("kube-controller-manager.log")).expect("log");
    // Its client's default 20 requests/s (about three per new Deployment)
    // would make the cluster, not the GitOps controllers, what all N wait
    // for: 1,000 Deployments reported Available take 2m30s at best. The
    // figures measure the controllers, so the cluster keeps up (both
    // contenders see the same one); FERROFLUX_BENCH_CM_QPS=20 is the stock
    // setting.
    let qps = std::env::var("FERROFLUX_BENCH_CM_QPS")
        .ok()
        .and_then(|q| q.parse::<u32>().ok())
        .unwrap_or(CM_QPS);
    Command::new(bin)
        .arg(format!("--kubeconfig={}", kubeconfig.display()))
        .arg("--controllers=deployment-controller,replicaset-controller,clusterrole-aggregation-controller")
        .args(["--secure-port=0", "--leader-elect=false", "--v=0"])
        .arg(format!("--kube-api-qps={qps}"))
        .arg(format!("--kube-api-burst={}", qps.saturating_mul(2)))
        .args(["--concurrent-deployment-syncs=10", "--concurrent-replicaset-syncs=10"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map(KillOnDrop)
        .expect("spawn kube-controller-manager")
}

/// The harness's kube-controller-manager client rate (requests/s).
pub const CM_QPS: u32 = 400;

/// A child killed when the bench ends, panics included.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What the wait for N objects Ready reports to the bench.
pub struct Reached {
    /// From `started` to the last of the N Ready.
    pub total: Duration,
    /// From `started` to when all N of the second kind were Ready.
    pub second_ready: Option<Duration>,
    /// Per object, its creation -> its Ready, sorted.
    pub per_object: Vec<Duration>,
    /// Per process: its name and VmHWM (KiB).
    pub peak_rss_kib: Vec<(String, u64)>,
    pub cpu_secs: f64,
}

/// What to wait for: `names[i]`, created at `created[i]`, Ready on
/// `board` (`plural` names the kind in messages); and as many of a second
/// kind (`second`: its board and plural), counted only.
pub struct Awaited<'a> {
    pub plural: &'a str,
    pub board: &'a Board,
    pub names: &'a [String],
    pub created: &'a [Instant],
    pub second: (&'a str, &'a Board),
}

/// Wait until all of `what` are Ready, reporting progress every 15 s;
/// an error when a controller exits, when none has a status `stall` after
/// `started`, or when not all are Ready by `deadline`. Memory and CPU are
/// sampled at the moment all are Ready.
pub fn await_ready(
    what: &Awaited<'_>,
    started: Instant,
    controllers: &mut Controllers,
    stall: Duration,
    deadline: Duration,
) -> Result<Reached, String> {
    let n = what.names.len();
    let label = controllers.side.label();
    let (second_plural, second) = what.second;
    let count = |board: &Board| {
        let b = board.lock().expect("board lock");
        (
            b.values().filter(|s| s.ready).count(),
            b.values().filter(|s| s.status_at.is_some()).count(),
        )
    };
    let mut last_report = Instant::now();
    let mut second_ready = None;
    loop {
        let (ready, with_status) = count(what.board);
        let (second_n, _) = count(second);
        if second_ready.is_none() && second_n >= n {
            second_ready = Some(started.elapsed());
        }
        if ready == n {
            break;
        }
        if let Some(e) = controllers.exited() {
            return Err(e);
        }
        let elapsed = started.elapsed();
        if with_status == 0 && elapsed > stall {
            return Err(format!(
                "no {} has any status {} s after they were created: {label} does not reconcile them (its log: {}, kept with FERROFLUX_BENCH_KEEP=1)",
                what.plural,
                stall.as_secs(),
                controllers.logs.display()
            ));
        }
        if elapsed > deadline {
            let board = what.board.lock().expect("board lock");
            let example = board
                .iter()
                .find(|(_, s)| !s.ready)
                .map(|(name, s)| format!("; {name}: {}", s.message))
                .unwrap_or_default();
            return Err(format!(
                "not all Ready in {} s: {ready}/{n} {}, {second_n}/{n} {second_plural}{example}",
                deadline.as_secs(),
                what.plural,
            ));
        }
        if last_report.elapsed() > Duration::from_secs(15) {
            eprintln!(
                "{label}: {:.0} s: {ready}/{n} {} Ready ({with_status} with a status), {second_n}/{n} {second_plural} Ready; load {}",
                elapsed.as_secs_f64(),
                what.plural,
                load_average()
            );
            last_report = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let (peak_rss_kib, cpu_secs) = controllers.sample();
    let board = what.board.lock().expect("board lock");
    let ready_at: Vec<Instant> = what
        .names
        .iter()
        .map(|name| board.get(name).and_then(|s| s.ready_at))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| format!("a Ready object of {} without its time", what.plural))?;
    let total = ready_at
        .iter()
        .max()
        .map_or(Duration::ZERO, |last| *last - started);
    let mut per_object: Vec<Duration> = ready_at
        .iter()
        .zip(what.created)
        .map(|(ready, created)| ready.saturating_duration_since(*created))
        .collect();
    per_object.sort();
    Ok(Reached {
        total,
        second_ready,
        per_object,
        peak_rss_kib,
        cpu_secs,
    })
}

pub fn duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 60.0 {
        format!("{}m{:04.1}s", (s / 60.0).floor(), s % 60.0)
    } else if s >= 1.0 {
        format!("{s:.2} s")
    } else {
        format!("{:.0} ms", s * 1000.0)
    }
}

/// A percentile of sorted durations, or n/a.
pub fn percentile_cell(sorted: &[Duration], p: f64) -> String {
    percentile(sorted, p).map_or_else(|| "n/a".into(), duration)
}

/// `total (name a + name b)` in MiB.
pub fn memory_cell(peak_rss_kib: &[(String, u64)]) -> String {
    let mib = |kib: u64| kib as f64 / 1024.0;
    let total: u64 = peak_rss_kib.iter().map(|(_, kib)| kib).sum();
    let each: Vec<String> = peak_rss_kib
        .iter()
        .map(|(name, kib)| format!("{name} {:.1}", mib(*kib)))
        .collect();
    format!("{:.1} MiB ({})", mib(total), each.join(" + "))
}

/// Flux's time over ours, against issue 16/19's goal (>= 4x).
pub fn faster_cell(flux: Duration, ours: Duration) -> String {
    let x = flux.as_secs_f64() / ours.as_secs_f64().max(1e-9);
    format!(
        "{x:.1}x faster (goal >= 4x: {})",
        if x >= 4.0 { "met" } else { "not met" }
    )
}

/// Our peak memory as a share of Flux's, against the goal (<= 1/4).
pub fn memory_share_cell(flux_kib: u64, ours_kib: u64) -> String {
    let x = ours_kib as f64 / flux_kib.max(1) as f64;
    format!(
        "{x:.2} of Flux's (goal <= 0.25: {})",
        if x <= 0.25 { "met" } else { "not met" }
    )
}

/// A Markdown table: one column per contender, and a comparison column
/// when both ran.
pub struct Table {
    sides: Vec<Side>,
    compare: bool,
    rows: Vec<String>,
}

impl Table {
    pub fn new(sides: &[Side]) -> Table {
        Table {
            sides: sides.to_vec(),
            compare: sides.len() == 2,
            rows: Vec::new(),
        }
    }

    /// One figure: a cell per contender (in the order given to `new`) and
    /// the comparison (dropped when only one contender ran).
    pub fn row(&mut self, what: &str, cells: Vec<String>, compare: String) {
        let mut line = format!("| {what} |");
        for cell in cells {
            line.push_str(&format!(" {cell} |"));
        }
        if self.compare {
            line.push_str(&format!(" {compare} |"));
        }
        self.rows.push(line);
    }

    pub fn print(&self) {
        let mut header = String::from("| figure |");
        let mut rule = String::from("|---|");
        for side in &self.sides {
            header.push_str(&format!(" {} |", side.label()));
            rule.push_str("---|");
        }
        if self.compare {
            header.push_str(" ferroflux vs Flux |");
            rule.push_str("---|");
        }
        println!("{header}\n{rule}");
        for row in &self.rows {
            println!("{row}");
        }
    }
}
