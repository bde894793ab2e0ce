//! A real Kubernetes control plane on loopback, started the way envtest does:
//! `etcd` (temp data dir, no fsync) and `kube-apiserver` with a CA and serving
//! certificate from [`crate::tls::TestCa`], a service-account signing key, an
//! admin client certificate (group `system:masters`) and
//! `--authorization-mode=RBAC`, so RBAC rules are really enforced for every
//! other identity. Readiness is `GET /readyz` = 200. The binaries come from
//! `FERROFLUX_KUBE_APISERVER` and `FERROFLUX_ETCD`, exported by
//! `.ci/setup.d/40-control-plane.sh` (cached build of one Kubernetes release).
//!
//! [`ControlPlane::start`] stops everything on drop; `scripts/control-plane`
//! (the `control-plane` binary) uses [`ControlPlane::detach`] to leave it
//! running and [`stop_dir`] to stop it later.

use std::fmt::Write as _;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;

use crate::registry::free_port;
use crate::tls::TestCa;

/// Environment variable naming the kube-apiserver binary.
pub const APISERVER_ENV: &str = "FERROFLUX_KUBE_APISERVER";
/// Environment variable naming the etcd binary.
pub const ETCD_ENV: &str = "FERROFLUX_ETCD";
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

/// A running etcd + kube-apiserver.
pub struct ControlPlane {
    dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
    etcd: Option<Child>,
    apiserver: Option<Child>,
    url: String,
    started_in: Duration,
}

impl ControlPlane {
    /// Start one in a fresh temp dir for a test binary; `None` after a skip
    /// notice when the binaries are missing (a panic under
    /// `FERROFLUX_REQUIRE_SERVERS=1`). Panics when they are present but fail.
    pub fn for_tests() -> Option<ControlPlane> {
        if let Err(e) = binary(APISERVER_ENV).and_then(|_| binary(ETCD_ENV)) {
            crate::env::skip_or_fail(&e.to_string());
            return None;
        }
        let temp = tempfile::tempdir().expect("control plane temp dir");
        let mut cp = ControlPlane::start(temp.path()).unwrap_or_else(|e| panic!("{e}"));
        cp._temp = Some(temp);
        Some(cp)
    }

    /// Start etcd and kube-apiserver with their state, certificates, logs
    /// and `kubeconfig` under `dir` (created if missing).
    pub fn start(dir: &Path) -> Result<ControlPlane, Error> {
        let apiserver_bin = binary(APISERVER_ENV)?;
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

        let etcd_port = free_port();
        let peer_port = free_port();
        let etcd_url = format!("http://127.0.0.1:{etcd_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        let data = dir.join("etcd-data");
        let _ = std::fs::remove_dir_all(&data);
        let etcd = spawn(
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
        )?;
        let mut cp = ControlPlane {
            dir: dir.clone(),
            _temp: None,
            etcd: Some(etcd),
            apiserver: None,
            url: String::new(),
            started_in: Duration::ZERO,
        };
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

        let port = free_port();
        cp.url = format!("https://127.0.0.1:{port}");
        let apiserver = spawn(
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
        )?;
        cp.apiserver = Some(apiserver);
        let ready = readyz_probe(cp.url.clone(), ca.cert_pem().to_owned());
        wait_until(
            Duration::from_secs(90),
            "kube-apiserver",
            &dir.join("apiserver.log"),
            || {
                if let Some(Ok(Some(status))) = cp.apiserver.as_mut().map(|c| c.try_wait()) {
                    return Err(status.to_string());
                }
                Ok(ready())
            },
        )?;
        write("kubeconfig", &kubeconfig(&cp.url, ca.cert_pem(), &admin))?;
        cp.started_in = began.elapsed();
        Ok(cp)
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

    /// Leave the processes running after this value is gone; their pids are
    /// written to `DIR/pids` for [`stop_dir`].
    pub fn detach(mut self) -> Result<(), Error> {
        let pids: Vec<String> = [self.apiserver.take(), self.etcd.take()]
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
        // apiserver first, then its storage.
        for child in [self.apiserver.take(), self.etcd.take()]
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

/// A closure answering "does GET /readyz return 200?"; it runs the request
/// on its own thread and runtime so that it also works inside async tests.
fn readyz_probe(url: String, ca_pem: String) -> impl Fn() -> bool {
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(ca_pem.as_bytes()).flatten() {
        let _ = roots.add(cert);
    }
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("tls versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(Duration::from_secs(2))
        .build()
        .expect("readyz client");
    let url = format!("{url}/readyz");
    move || {
        let client = client.clone();
        let url = url.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async { client.get(&url).send().await.ok().map(|r| r.status()) })
        })
        .join()
        .ok()
        .flatten()
        .is_some_and(|s| s.as_u16() == 200)
    }
}

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
        let (Some(cp), Some(kubectl)) = (ControlPlane::for_tests(), kubectl()) else {
            return;
        };
        eprintln!("control plane started in {:?}", cp.started_in());
        let kc = cp.kubeconfig();
        let (ok, out) = run(&kubectl, &kc, &["create", "namespace", "cp-test"]);
        assert!(ok, "{out}");
        let (ok, out) = run(
            &kubectl,
            &kc,
            &["get", "namespace", "cp-test", "-o", "name"],
        );
        assert!(ok && out.contains("namespace/cp-test"), "{out}");
        // A service account without any binding is refused: RBAC is on.
        let (ok, out) = run(
            &kubectl,
            &kc,
            &[
                "get",
                "configmaps",
                "-n",
                "cp-test",
                "--as=system:serviceaccount:cp-test:nobody",
            ],
        );
        assert!(!ok && out.contains("forbidden"), "{out}");
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
