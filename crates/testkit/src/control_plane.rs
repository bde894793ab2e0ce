//! A real Kubernetes control plane on loopback, started the way envtest does:
//! `etcd` (temp data dir, no fsync) and `kube-apiserver` with a CA and serving
//! certificate from [`crate::tls::TestCa`], a service-account signing key, an
//! admin client certificate (group `system:masters`) and
//! `--authorization-mode=RBAC`, so RBAC rules are really enforced for every
//! other identity; then `kube-controller-manager` with the controllers in
//! [`CONTROLLERS`] (garbage collection by `ownerReferences`, namespace
//! deletion, service-account tokens), not waited for. Readiness is
//! `GET /readyz` = 200. The binaries come from `FERROFLUX_KUBE_APISERVER`,
//! `FERROFLUX_KUBE_CONTROLLER_MANAGER` and `FERROFLUX_ETCD`, exported by
//! `.ci/setup.d/40-control-plane.sh` (cached build of one Kubernetes release).
//!
//! Tests share one control plane per test binary, [`ControlPlane::shared`],
//! started by the first test that asks; each test isolates itself in
//! namespaces of its own ([`ControlPlane::namespace`]). A static is never
//! dropped, so the shared one is stopped by a watchdog: a `sh` child whose
//! stdin is a pipe only this process holds the write end of (std opens pipes
//! close-on-exec, so no other child inherits it). Every pid the control plane
//! starts is written to that pipe; when this process ends in any way (tests
//! done, a panic, `kill -9`), the kernel closes the pipe, the watchdog reads
//! EOF, kills the pids (SIGKILL: the state is thrown away) and removes the
//! control plane's temp dir. It ignores SIGINT, so Ctrl-C on `cargo test`
//! still cleans up. (`PR_SET_PDEATHSIG` would need `unsafe` in `pre_exec`,
//! which the workspace forbids, and fires when the spawning *thread* ends.)
//!
//! [`ControlPlane::start`] stops everything on drop; `scripts/control-plane`
//! (the `control-plane` binary) uses [`ControlPlane::detach`] to leave it
//! running and [`stop_dir`] to stop it later.

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine as _;

use crate::registry::free_port;
use crate::tls::{CertPair, TestCa};

/// Environment variable naming the kube-apiserver binary.
pub const APISERVER_ENV: &str = "FERROFLUX_KUBE_APISERVER";
/// Environment variable naming the kube-controller-manager binary.
pub const CONTROLLER_MANAGER_ENV: &str = "FERROFLUX_KUBE_CONTROLLER_MANAGER";
/// Environment variable naming the etcd binary.
pub const ETCD_ENV: &str = "FERROFLUX_ETCD";
/// What kube-controller-manager runs: garbage collection by
/// `ownerReferences`, deletion of a namespace's objects, and tokens of
/// service accounts. No workload controllers: a Deployment gets no Pods.
pub const CONTROLLERS: &str = "garbagecollector,namespace,serviceaccount-token";
/// File in the control plane's directory listing the pids to stop.
pub const PIDS_FILE: &str = "pids";

/// Why a control plane did not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("${0} is not set or not an executable file (run .ci/setup.d/40-control-plane.sh)")]
    Missing(&'static str),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0} exited early: {1}")]
    Exited(&'static str, String),
    #[error("{0} not ready within {1:?}: {2}")]
    NotReady(&'static str, Duration, String),
    #[error("{method} {path}: {detail}")]
    Request {
        method: String,
        path: String,
        detail: String,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let what = what.into();
    move |source| Error::Io { what, source }
}

fn binary(var: &'static str) -> Result<PathBuf, Error> {
    match std::env::var_os(var).map(PathBuf::from) {
        Some(p) if p.is_file() => Ok(p),
        _ => Err(Error::Missing(var)),
    }
}

/// A running etcd + kube-apiserver + kube-controller-manager.
pub struct ControlPlane {
    dir: PathBuf,
    /// The temp dir of [`Self::for_tests`], removed on drop.
    _temp: Option<tempfile::TempDir>,
    etcd: Option<Child>,
    apiserver: Option<Child>,
    /// Behind a lock: [`Self::restart_controller_manager`] replaces it.
    controller_manager: Mutex<Option<Child>>,
    controller_manager_cmd: (PathBuf, Vec<String>),
    /// The write end of the watchdog's stdin (shared control plane only);
    /// each pid started goes down it.
    watchdog: Option<Mutex<ChildStdin>>,
    url: String,
    started_in: Duration,
    ca_pem: String,
    admin: CertPair,
    http: Http,
    namespaces: AtomicU32,
}

static SHARED: OnceLock<Result<ControlPlane, String>> = OnceLock::new();

fn binaries() -> Result<(), Error> {
    binary(APISERVER_ENV)?;
    binary(CONTROLLER_MANAGER_ENV)?;
    binary(ETCD_ENV).map(|_| ())
}

impl ControlPlane {
    /// The control plane of this test binary, started by the first caller
    /// (the others wait for it) and stopped by the watchdog when the process
    /// exits (see the module doc). `None` after a skip notice when the
    /// binaries are missing (a panic under `FERROFLUX_REQUIRE_SERVERS=1`).
    /// Panics in every caller when they are present but the start failed.
    pub fn shared() -> Option<&'static ControlPlane> {
        if let Err(e) = binaries() {
            crate::env::skip_or_fail(&e.to_string());
            return None;
        }
        match SHARED.get_or_init(start_shared) {
            Ok(cp) => Some(cp),
            Err(e) => panic!("shared control plane: {e}"),
        }
    }

    /// A control plane of the caller's own in a fresh temp dir, stopped and
    /// removed when dropped (a bench that wants it to itself; tests share
    /// [`Self::shared`]). `None` after a skip notice when the binaries are
    /// missing (a panic under `FERROFLUX_REQUIRE_SERVERS=1`). Panics when
    /// they are present but fail.
    pub fn for_tests() -> Option<ControlPlane> {
        if let Err(e) = binaries() {
            crate::env::skip_or_fail(&e.to_string());
            return None;
        }
        let temp = tempfile::tempdir().expect("control plane temp dir");
        let mut cp = ControlPlane::start(temp.path()).unwrap_or_else(|e| panic!("{e}"));
        cp._temp = Some(temp);
        Some(cp)
    }

    /// Start etcd, kube-apiserver and kube-controller-manager with their
    /// state, certificates, logs and `kubeconfig` under `dir` (created if
    /// missing).
    pub fn start(dir: &Path) -> Result<ControlPlane, Error> {
        Self::launch(dir, None)
    }

    fn launch(dir: &Path, watchdog: Option<ChildStdin>) -> Result<ControlPlane, Error> {
        let apiserver_bin = binary(APISERVER_ENV)?;
        let controller_manager_bin = binary(CONTROLLER_MANAGER_ENV)?;
        let etcd_bin = binary(ETCD_ENV)?;
        let began = Instant::now();
        std::fs::create_dir_all(dir).map_err(io(format!("create {}", dir.display())))?;
        let dir = dir
            .canonicalize()
            .map_err(io(format!("resolve {}", dir.display())))?;
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(io(format!("write {}", path.display())))?;
            Ok::<PathBuf, Error>(path)
        };
        let ca = TestCa::new("ferroflux test kubernetes CA");
        let serving = ca.server_cert(&[
            "127.0.0.1",
            "localhost",
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
        ]);
        let admin = ca.client_cert_in("ferroflux-admin", "system:masters");
        let ca_path = write("ca.crt", ca.cert_pem())?;
        let cert_path = write("apiserver.crt", &serving.cert_pem)?;
        let key_path = write("apiserver.key", &serving.key_pem)?;
        let sa = rcgen::KeyPair::generate().expect("generate service-account key");
        let sa_key = write("sa.key", &sa.serialize_pem())?;
        let sa_pub = write("sa.pub", &sa.public_key_pem())?;
        let port = free_port();
        let url = format!("https://127.0.0.1:{port}");
        let http = Http::new(ca.cert_pem(), &admin, &url)?;
        let mut cp = ControlPlane {
            dir: dir.clone(),
            _temp: None,
            etcd: None,
            apiserver: None,
            controller_manager: Mutex::new(None),
            controller_manager_cmd: (controller_manager_bin, Vec::new()),
            watchdog: watchdog.map(Mutex::new),
            url,
            started_in: Duration::ZERO,
            ca_pem: ca.cert_pem().to_owned(),
            admin,
            http,
            namespaces: AtomicU32::new(0),
        };

        let etcd_port = free_port();
        let peer_port = free_port();
        let etcd_url = format!("http://127.0.0.1:{etcd_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        let data = dir.join("etcd-data");
        let _ = std::fs::remove_dir_all(&data);
        cp.etcd = Some(cp.spawn(
            &etcd_bin,
            &[
                "--name=default".into(),
                format!("--data-dir={}", data.display()),
                format!("--listen-client-urls={etcd_url}"),
                format!("--advertise-client-urls={etcd_url}"),
                format!("--listen-peer-urls={peer_url}"),
                format!("--initial-advertise-peer-urls={peer_url}"),
                format!("--initial-cluster=default={peer_url}"),
                "--unsafe-no-fsync".into(),
                "--log-level=warn".into(),
            ],
            &dir.join("etcd.log"),
        )?);
        let etcd_addr = SocketAddr::from(([127, 0, 0, 1], etcd_port));
        wait_until(
            Duration::from_secs(30),
            "etcd",
            &dir.join("etcd.log"),
            || {
                if let Some(Ok(Some(status))) = cp.etcd.as_mut().map(|c| c.try_wait()) {
                    return Err(status.to_string());
                }
                Ok(TcpStream::connect_timeout(&etcd_addr, Duration::from_millis(200)).is_ok())
            },
        )?;

        cp.apiserver = Some(cp.spawn(
            &apiserver_bin,
            &[
                format!("--etcd-servers={etcd_url}"),
                format!("--cert-dir={}", dir.display()),
                format!("--tls-cert-file={}", cert_path.display()),
                format!("--tls-private-key-file={}", key_path.display()),
                format!("--client-ca-file={}", ca_path.display()),
                format!("--service-account-key-file={}", sa_pub.display()),
                format!("--service-account-signing-key-file={}", sa_key.display()),
                "--service-account-issuer=https://kubernetes.default.svc".into(),
                format!("--secure-port={port}"),
                "--bind-address=127.0.0.1".into(),
                "--advertise-address=127.0.0.1".into(),
                "--authorization-mode=RBAC".into(),
                "--service-cluster-ip-range=10.0.0.0/24".into(),
                "--allow-privileged=true".into(),
                "--enable-priority-and-fairness=false".into(),
                "--v=0".into(),
            ],
            &dir.join("apiserver.log"),
        )?);
        wait_until(
            Duration::from_secs(90),
            "kube-apiserver",
            &dir.join("apiserver.log"),
            || {
                if let Some(Ok(Some(status))) = cp.apiserver.as_mut().map(|c| c.try_wait()) {
                    return Err(status.to_string());
                }
                Ok(cp
                    .http
                    .send("GET", "/readyz", None)
                    .is_ok_and(|(code, _)| code == 200))
            },
        )?;
        let kubeconfig = write("kubeconfig", &kubeconfig(&cp.url, &cp.ca_pem, &cp.admin))?;
        cp.controller_manager_cmd.1 = vec![
            format!("--kubeconfig={}", kubeconfig.display()),
            format!("--controllers={CONTROLLERS}"),
            format!("--service-account-private-key-file={}", sa_key.display()),
            format!("--root-ca-file={}", ca_path.display()),
            "--secure-port=0".into(),
            "--leader-elect=false".into(),
            "--v=0".into(),
        ];
        cp.restart_controller_manager()?;
        cp.started_in = began.elapsed();
        Ok(cp)
    }

    /// (Re)start kube-controller-manager, not waiting for it (no HTTPS port,
    /// `--secure-port=0`: the tests that need its controllers wait for
    /// their effect). Call it after installing CRDs whose objects own others:
    /// its garbage collector watches the kinds it discovered at start and
    /// rediscovers only every 30 s, so an owner of a kind created later is
    /// not seen deleted for up to that long (measured: 40 s for an
    /// ImagePolicy owning a ConfigMap; 0.1 s after a restart).
    pub fn restart_controller_manager(&self) -> Result<(), Error> {
        let mut current = self
            .controller_manager
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(mut old) = current.take() {
            let _ = old.kill();
            let _ = old.wait();
        }
        let (bin, args) = &self.controller_manager_cmd;
        *current = Some(self.spawn(bin, args, &self.dir.join("controller-manager.log"))?);
        Ok(())
    }

    /// Start a child with its output in `log`, its pid sent to the watchdog.
    fn spawn(&self, bin: &Path, args: &[String], log: &Path) -> Result<Child, Error> {
        let child = spawn(bin, args, log)?;
        if let Some(w) = &self.watchdog {
            let mut w = w.lock().unwrap_or_else(|e| e.into_inner());
            writeln!(w, "{}", child.id()).map_err(io("tell the watchdog"))?;
        }
        Ok(child)
    }

    /// `https://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The admin kubeconfig (client certificate in `system:masters`).
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    /// The directory holding certificates, logs and the kubeconfig.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How long the start took (etcd up to apiserver `/readyz` 200).
    pub fn started_in(&self) -> Duration {
        self.started_in
    }

    /// The apiserver's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("apiserver.log")).unwrap_or_default()
    }

    /// kube-controller-manager's log so far.
    pub fn controller_manager_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("controller-manager.log")).unwrap_or_default()
    }

    /// One request as the admin (`system:masters`): status and body. A JSON
    /// `body` is sent as `application/json`, or as
    /// `application/merge-patch+json` for `PATCH`. Blocking; it runs on the
    /// control plane's own HTTP thread (connections are reused), so it works
    /// inside async tests too.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(u16, String), Error> {
        self.http
            .send(method, path, body)
            .map_err(|detail| Error::Request {
                method: method.to_owned(),
                path: path.to_owned(),
                detail,
            })
    }

    /// A name `<prefix>-<n>` no other caller in this process gets (n counts
    /// up): for a namespace a test creates itself, such as by applying an
    /// install.
    pub fn unique_name(&self, prefix: &str) -> String {
        let n = self.namespaces.fetch_add(1, Ordering::Relaxed);
        format!("{prefix}-{n}")
    }

    /// Create a namespace [`Self::unique_name`] and return its name: what
    /// isolates a test on the shared control plane. Panics when the
    /// apiserver refuses.
    pub fn namespace(&self, prefix: &str) -> String {
        let name = self.unique_name(prefix);
        let body = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name},
        });
        match self.request("POST", "/api/v1/namespaces", Some(&body)) {
            Ok((201, _)) => name,
            Ok((code, text)) => panic!("create namespace {name}: {code} {text}"),
            Err(e) => panic!("create namespace {name}: {e}"),
        }
    }

    /// Leave the processes running after this value is gone; their pids are
    /// written to `DIR/pids` for [`stop_dir`].
    pub fn detach(mut self) -> Result<(), Error> {
        let pids: Vec<String> = [
            self.controller_manager
                .get_mut()
                .unwrap_or_else(|e| e.into_inner())
                .take(),
            self.apiserver.take(),
            self.etcd.take(),
        ]
        .into_iter()
        .flatten()
        .map(|c| c.id().to_string())
        .collect();
        let path = self.dir.join(PIDS_FILE);
        let tmp = self.dir.join(format!("{PIDS_FILE}.tmp"));
        std::fs::write(&tmp, pids.join("\n") + "\n")
            .map_err(io(format!("write {}", tmp.display())))?;
        std::fs::rename(&tmp, &path).map_err(io(format!("rename to {}", path.display())))
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        // Its clients first, then the apiserver, then its storage.
        for child in [
            self.controller_manager
                .get_mut()
                .unwrap_or_else(|e| e.into_inner())
                .take(),
            self.apiserver.take(),
            self.etcd.take(),
        ]
        .into_iter()
        .flatten()
        {
            stop_child(child);
        }
    }
}

fn stop_child(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Stop a control plane left running by [`ControlPlane::detach`] in `dir`:
/// SIGTERM to each pid in `DIR/pids`, SIGKILL after 10 s; removes the file.
pub fn stop_dir(dir: &Path) -> Result<(), Error> {
    let path = dir.join(PIDS_FILE);
    let text = std::fs::read_to_string(&path).map_err(io(format!("read {}", path.display())))?;
    for pid in text.lines().filter_map(|l| l.trim().parse::<u32>().ok()) {
        let pid = pid.to_string();
        let alive = || {
            Command::new("kill")
                .args(["-0", &pid])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        if !alive() {
            continue;
        }
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while alive() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        if alive() {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
        }
    }
    std::fs::remove_file(&path).map_err(io(format!("remove {}", path.display())))
}

fn spawn(bin: &Path, args: &[String], log: &Path) -> Result<Child, Error> {
    let out = std::fs::File::create(log).map_err(io(format!("create {}", log.display())))?;
    let err = out
        .try_clone()
        .map_err(io(format!("clone {}", log.display())))?;
    Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(io(format!("run {}", bin.display())))
}

fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

fn wait_until(
    within: Duration,
    what: &'static str,
    log: &Path,
    mut probe: impl FnMut() -> Result<bool, String>,
) -> Result<(), Error> {
    let deadline = Instant::now() + within;
    loop {
        match probe() {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(status) => return Err(Error::Exited(what, format!("{status}: {}", tail(log)))),
        }
        if Instant::now() >= deadline {
            return Err(Error::NotReady(what, within, tail(log)));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

type Reply = std::sync::mpsc::Sender<Result<(u16, String), String>>;

/// An HTTPS client (the CA trusted, the admin certificate presented) with a
/// thread and tokio runtime of its own, alive as long as this value: callers
/// block on a reply whether or not they are inside a runtime, and
/// connections are reused between requests.
struct Http {
    client: reqwest::Client,
    url: String,
    jobs: tokio::sync::mpsc::UnboundedSender<(reqwest::RequestBuilder, Reply)>,
}

impl Http {
    fn new(ca_pem: &str, admin: &CertPair, url: &str) -> Result<Http, Error> {
        let client = client(ca_pem, admin).map_err(|detail| Error::Request {
            method: "TLS".into(),
            path: url.to_owned(),
            detail,
        })?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(io("control plane HTTP runtime"))?;
        let (jobs, mut rx) =
            tokio::sync::mpsc::unbounded_channel::<(reqwest::RequestBuilder, Reply)>();
        std::thread::Builder::new()
            .name("control-plane-http".into())
            .spawn(move || {
                rt.block_on(async move {
                    while let Some((req, reply)) = rx.recv().await {
                        tokio::spawn(async move {
                            let result = async {
                                let resp = req.send().await.map_err(|e| e.to_string())?;
                                let code = resp.status().as_u16();
                                let text = resp.text().await.map_err(|e| e.to_string())?;
                                Ok((code, text))
                            };
                            let _ = reply.send(result.await);
                        });
                    }
                })
            })
            .map_err(io("control plane HTTP thread"))?;
        Ok(Http {
            client,
            url: url.to_owned(),
            jobs,
        })
    }

    fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(u16, String), String> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        let content_type = if method == reqwest::Method::PATCH {
            "application/merge-patch+json"
        } else {
            "application/json"
        };
        let mut req = self.client.request(method, format!("{}{path}", self.url));
        if let Some(body) = body {
            req = req
                .header("Content-Type", content_type)
                .body(body.to_string());
        }
        let (reply, answer) = std::sync::mpsc::channel();
        self.jobs
            .send((req, reply))
            .map_err(|_| "the control plane's HTTP thread is gone".to_string())?;
        answer
            .recv()
            .map_err(|_| "the control plane's HTTP thread is gone".to_string())?
    }
}

/// An HTTPS client trusting `ca_pem` and presenting `admin`.
fn client(ca_pem: &str, admin: &CertPair) -> Result<reqwest::Client, String> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()).flatten() {
        roots.add(cert).map_err(|e| e.to_string())?;
    }
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(admin.cert_pem.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
    let key = PrivateKeyDer::from_pem_slice(admin.key_pem.as_bytes()).map_err(|e| e.to_string())?;
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_client_auth_cert(chain, key)
    .map_err(|e| e.to_string())?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())
}

/// The shared control plane: a watchdog first, so that even a control plane
/// that dies half-started is cleaned up, then the start in a temp dir the
/// watchdog removes.
fn start_shared() -> Result<ControlPlane, String> {
    let dir = tempfile::Builder::new()
        .prefix("ferroflux-control-plane-")
        .tempdir()
        .map_err(|e| format!("temp dir: {e}"))?
        .keep();
    let mut watchdog = Command::new("sh")
        .args(["-c", WATCHDOG, "ferroflux-control-plane-watchdog"])
        .arg(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("start the watchdog (sh): {e}"))?;
    let stdin = watchdog
        .stdin
        .take()
        .ok_or_else(|| "the watchdog has no stdin".to_string())?;
    // The watchdog outlives this process on purpose; it is not waited for.
    drop(watchdog);
    let cp = ControlPlane::launch(&dir, Some(stdin)).map_err(|e| e.to_string())?;
    eprintln!(
        "control plane at {} ready in {:.1} s ({})",
        cp.url,
        cp.started_in.as_secs_f64(),
        dir.display()
    );
    Ok(cp)
}

/// The watchdog's script (`$1` is the control plane's dir): collect pids from
/// stdin until EOF, i.e. until the test process is gone, then kill them (its
/// state is thrown away: no graceful shutdown to wait for, nothing left
/// running into the next test binary), wait up to 10 s for them to go, and
/// remove the dir.
const WATCHDOG: &str = r#"trap '' INT HUP
pids=
while read -r pid; do pids="$pids $pid"; done
[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
i=0
while [ $i -lt 100 ]; do
  alive=
  for p in $pids; do
    # A zombie (state Z, not yet reaped by its new parent) holds no files.
    state=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -c1)
    [ -n "$state" ] && [ "$state" != Z ] && alive=1
  done
  [ -z "$alive" ] && break
  sleep 0.1
  i=$((i + 1))
done
rm -rf "$1"
"#;

fn kubeconfig(url: &str, ca_pem: &str, admin: &crate::tls::CertPair) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let mut out = String::new();
    let _ = write!(
        out,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: ferroflux-test\n  cluster:\n    \
         server: {url}\n    certificate-authority-data: {}\nusers:\n- name: admin\n  user:\n    \
         client-certificate-data: {}\n    client-key-data: {}\ncontexts:\n- name: ferroflux-test\n  \
         context:\n    cluster: ferroflux-test\n    user: admin\n\
         current-context: ferroflux-test\n",
        b64(ca_pem),
        b64(&admin.cert_pem),
        b64(&admin.key_pem),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kubectl() -> Option<PathBuf> {
        match std::env::var_os("FERROFLUX_KUBECTL").map(PathBuf::from) {
            Some(p) if p.is_file() => Some(p),
            _ => {
                crate::env::skip_or_fail("FERROFLUX_KUBECTL (.ci/setup.d/70-kube.sh)");
                None
            }
        }
    }

    fn run(kubectl: &Path, kubeconfig: &Path, args: &[&str]) -> (bool, String) {
        let out = Command::new(kubectl)
            .arg(format!("--kubeconfig={}", kubeconfig.display()))
            .args(args)
            .output()
            .expect("run kubectl");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text)
    }

    #[test]
    fn kubectl_talks_to_the_control_plane_and_rbac_is_enforced() {
        let (Some(cp), Some(kubectl)) = (ControlPlane::shared(), kubectl()) else {
            return;
        };
        let kc = cp.kubeconfig();
        let ns = cp.namespace("cp-test");
        let (ok, out) = run(&kubectl, &kc, &["get", "namespace", &ns, "-o", "name"]);
        assert!(ok && out.contains(&format!("namespace/{ns}")), "{out}");
        // A service account without any binding is refused: RBAC is on.
        let nobody = format!("--as=system:serviceaccount:{ns}:nobody");
        let (ok, out) = run(&kubectl, &kc, &["get", "configmaps", "-n", &ns, &nobody]);
        assert!(!ok && out.contains("forbidden"), "{out}");
    }

    fn configmap(cp: &ControlPlane, ns: &str, name: &str, owner: Option<(&str, &str)>) -> String {
        let mut body = serde_json::json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name},
            "data": {"k": "v"},
        });
        if let Some((owner, uid)) = owner {
            body["metadata"]["ownerReferences"] = serde_json::json!([
                {"apiVersion": "v1", "kind": "ConfigMap", "name": owner, "uid": uid}
            ]);
        }
        let (code, text) = cp
            .request(
                "POST",
                &format!("/api/v1/namespaces/{ns}/configmaps"),
                Some(&body),
            )
            .expect("create configmap");
        assert_eq!(code, 201, "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).expect("configmap json");
        v["metadata"]["uid"].as_str().expect("uid").to_owned()
    }

    /// Poll `GET path` until `done(status, body)`; panics with the
    /// controller-manager's log after 60 s.
    fn wait_for(cp: &ControlPlane, path: &str, done: impl Fn(u16, &serde_json::Value) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (code, text) = cp.request("GET", path, None).expect("get");
            let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            if done(code, &v) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{path}: still {code} {text}\nkube-controller-manager:\n{}",
                tail_text(&cp.controller_manager_log(), 30)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn tail_text(text: &str, n: usize) -> String {
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// kube-controller-manager's garbage collector acts on ownerReferences:
    /// deleting the owner deletes what it owns (background propagation, the
    /// default), and an `Orphan` delete leaves the dependent without the
    /// reference. What Kustomization prune will rely on.
    #[test]
    fn garbage_collector_deletes_what_an_owner_owned() {
        let Some(cp) = ControlPlane::shared() else {
            return;
        };
        let ns = cp.namespace("cp-gc");
        let base = format!("/api/v1/namespaces/{ns}/configmaps");
        let uid = configmap(cp, &ns, "owner", None);
        configmap(cp, &ns, "owned", Some(("owner", &uid)));
        let uid = configmap(cp, &ns, "parent", None);
        configmap(cp, &ns, "orphan", Some(("parent", &uid)));

        let (code, text) = cp
            .request("DELETE", &format!("{base}/owner"), None)
            .expect("delete owner");
        assert_eq!(code, 200, "{text}");
        wait_for(cp, &format!("{base}/owned"), |code, _| code == 404);

        let orphan = serde_json::json!({"propagationPolicy": "Orphan"});
        let (code, text) = cp
            .request("DELETE", &format!("{base}/parent"), Some(&orphan))
            .expect("delete parent");
        assert_eq!(code, 200, "{text}");
        wait_for(cp, &format!("{base}/orphan"), |code, v| {
            code == 200 && v["metadata"]["ownerReferences"].is_null()
        });
        wait_for(cp, &format!("{base}/parent"), |code, _| code == 404);
    }

    /// The namespace controller empties and removes a deleted namespace.
    #[test]
    fn deleting_a_namespace_deletes_its_objects() {
        let Some(cp) = ControlPlane::shared() else {
            return;
        };
        let ns = cp.namespace("cp-ns");
        configmap(cp, &ns, "inside", None);
        let (code, text) = cp
            .request("DELETE", &format!("/api/v1/namespaces/{ns}"), None)
            .expect("delete namespace");
        assert_eq!(code, 200, "{text}");
        wait_for(cp, &format!("/api/v1/namespaces/{ns}"), |code, _| {
            code == 404
        });
    }

    /// The watchdog kills what it was told about and removes the dir once
    /// its stdin closes (here dropped; at exit, closed by the kernel).
    #[test]
    fn watchdog_stops_the_pids_and_removes_the_dir_at_eof() {
        let dir = tempfile::tempdir().expect("temp dir").keep();
        std::fs::write(dir.join("state"), "x").expect("write");
        let mut sleeper = Command::new("sleep").arg("600").spawn().expect("sleep");
        let mut watchdog = Command::new("sh")
            .args(["-c", WATCHDOG, "watchdog"])
            .arg(&dir)
            .stdin(Stdio::piped())
            .spawn()
            .expect("watchdog");
        let mut stdin = watchdog.stdin.take().expect("stdin");
        writeln!(stdin, "{}", sleeper.id()).expect("pid");
        std::thread::sleep(Duration::from_millis(300));
        assert!(matches!(sleeper.try_wait(), Ok(None)), "killed before EOF");
        assert!(dir.exists());
        drop(stdin);
        let status = watchdog.wait().expect("watchdog exits");
        assert!(status.success(), "{status}");
        assert!(!dir.exists(), "{} left behind", dir.display());
        let killed = sleeper.wait().expect("sleep reaped");
        assert!(!killed.success(), "{killed}");
    }

    /// An owned control plane answers, and dropping it stops its processes
    /// and removes its dir.
    #[test]
    fn owned_control_plane_stops_and_cleans_up_on_drop() {
        let Some(cp) = ControlPlane::for_tests() else {
            return;
        };
        let (code, text) = cp.request("GET", "/readyz", None).expect("readyz");
        assert_eq!(code, 200, "{text}");
        let dir = cp.dir().to_path_buf();
        let pids: Vec<u32> = [cp.etcd.as_ref(), cp.apiserver.as_ref()]
            .into_iter()
            .flatten()
            .map(Child::id)
            .collect();
        assert_eq!(pids.len(), 2);
        drop(cp);
        assert!(!dir.exists(), "{} left behind", dir.display());
        for pid in pids {
            // Reaped by the drop: no such process (or a recycled pid, not ours).
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            assert!(
                !stat.contains("(etcd)") && !stat.contains("(kube-apiserver)"),
                "{stat}"
            );
        }
    }

    #[test]
    fn missing_binary_is_a_clear_error() {
        // SAFETY of intent: only reads an unset variable name.
        let err = binary("FERROFLUX_TEST_NO_SUCH_BINARY_VAR").unwrap_err();
        assert!(
            err.to_string()
                .contains("FERROFLUX_TEST_NO_SUCH_BINARY_VAR"),
            "{err}"
        );
    }

    #[test]
    fn stop_dir_without_pids_names_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let err = stop_dir(dir.path()).unwrap_err();
        assert!(err.to_string().contains(PIDS_FILE), "{err}");
    }
}
