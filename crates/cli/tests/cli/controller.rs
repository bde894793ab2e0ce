//! `ferroflux controller` end to end: the real control plane of the testkit
//! (etcd + kube-apiserver with RBAC, driven by kubectl 1.32, as a user would), the real docker-registry and a real Git
//! server (git http-backend behind lighttpd). Seed 000's objects go in with
//! `kubectl apply`; the test reads status with seed 000's cheat sheet
//! (`kubectl get imagepolicy NAME -o jsonpath='{.status.latestRef.tag}'`),
//! forces a scan with `reconcile.fluxcd.io/requestedAt`, suspends, and
//! runs two replicas of which only the Lease holder acts.

use ferroflux_testkit::process;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use ferroflux_testkit::apiserver::{FakeApiServer, Fault, Options as ApiOptions};
use ferroflux_testkit::chart_repo::{ChartRepo, Options as ChartRepoOptions};
use ferroflux_testkit::control_plane::ControlPlane;
use ferroflux_testkit::git_http::{GitHttpServer, Options as GitOptions};
use ferroflux_testkit::gitrepo;
use ferroflux_testkit::registry::{DockerRegistry, Options as RegistryOptions, free_port};

use crate::kubernetes::{self, install_export, kubectl_bin};

const IMAGE: &str = "tbd/keyword_correction";
const DEPLOYMENT: &str = "apps/stage/keyword-correction/deployment.yaml";
const TOKEN: &str = "quickstart-token";
/// The shard of a test's objects (`--watch-label-selector`): its namespace,
/// so that the controllers of concurrent tests on the shared control plane
/// never see each other's objects.
fn shard(ns: &str) -> String {
    format!("sharding.fluxcd.io/key={ns}")
}

fn quickstart() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/quickstart")
}

struct Kubectl {
    bin: PathBuf,
    config: PathBuf,
    /// The kubeconfig the controller runs with (the install's
    /// ServiceAccount on the real control plane, else `config`).
    controller: PathBuf,
    ns: String,
}

impl Kubectl {
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new(&self.bin)
            .arg("--kubeconfig")
            .arg(&self.config)
            .args(args)
            .output()
            .expect("kubectl runs");
        assert!(
            out.status.success(),
            "kubectl {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    fn apply(&self, yaml: &str) {
        self.apply_with(&["apply", "-f", "-"], yaml);
    }

    fn apply_server_side(&self, yaml: &str) {
        self.apply_with(
            &[
                "apply",
                "--server-side",
                "--field-manager=ferroflux-test",
                "-f",
                "-",
            ],
            yaml,
        );
    }

    /// `kubectl apply -f -`: success and stdout+stderr.
    fn try_apply(&self, yaml: &str) -> (bool, String) {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--kubeconfig")
            .arg(&self.config)
            .args(["apply", "-f", "-"]);
        let out = process::output_with_stdin(&mut cmd, yaml).expect("kubectl apply");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text)
    }

    fn apply_with(&self, args: &[&str], yaml: &str) {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--kubeconfig").arg(&self.config).args(args);
        let out = process::output_with_stdin(&mut cmd, yaml).expect("controller e2e step");
        assert!(
            out.status.success(),
            "kubectl apply: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `kubectl annotate --overwrite` with Flux's reconcile request.
    fn request_reconcile(&self, resource: &str, at: &str) {
        let annotation = format!("reconcile.fluxcd.io/requestedAt={at}");
        self.run(&[
            "annotate",
            "--overwrite",
            "-n",
            &self.ns,
            resource,
            &annotation,
        ]);
    }

    /// `kubectl patch --type merge`.
    fn merge_patch(&self, resource: &str, patch: &str) {
        self.run(&[
            "patch", "-n", &self.ns, resource, "--type", "merge", "-p", patch,
        ]);
    }

    fn jsonpath(&self, resource: &str, path: &str) -> String {
        self.run(&[
            "get",
            resource,
            "-n",
            &self.ns,
            "-o",
            &format!("jsonpath={{{path}}}"),
        ])
    }

    /// Poll a jsonpath until `ok` holds; the last value otherwise.
    fn wait_for(
        &self,
        resource: &str,
        path: &str,
        within: Duration,
        ok: impl Fn(&str) -> bool,
    ) -> Result<String, String> {
        let deadline = Instant::now() + within;
        loop {
            let v = self.jsonpath(resource, path);
            if ok(&v) {
                return Ok(v);
            }
            if Instant::now() > deadline {
                return Err(v);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A running `ferroflux controller` with its stderr lines on a channel.
struct Replica {
    child: std::process::Child,
    lines: Receiver<String>,
    log: Vec<String>,
    metrics_port: u16,
    health_port: u16,
    receiver_port: u16,
    storage_port: u16,
}

impl Replica {
    fn start(kubeconfig: &Path, ns: &str, storage: &Path) -> Replica {
        let metrics_port = free_port();
        let health_port = free_port();
        let receiver_port = free_port();
        let storage_port = free_port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_ferroflux"))
            .env("HOME", "/nonexistent")
            .env("FERROFLUX_LOG", "info")
            .arg("controller")
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .arg("--storage-path")
            .arg(storage)
            .args([
                "--metrics-addr",
                &format!("127.0.0.1:{metrics_port}"),
                "--health-addr",
                &format!("127.0.0.1:{health_port}"),
                "--receiver-addr",
                &format!("127.0.0.1:{receiver_port}"),
                "--storage-addr",
                &format!("127.0.0.1:{storage_port}"),
                "--leader-election-lease-duration",
                "4s",
                "--leader-election-renew-deadline",
                "2s",
                "--log-format",
                "text",
                "--watch-label-selector",
                &shard(ns),
                "--leader-election-namespace",
                ns,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ferroflux controller starts");
        let (tx, lines) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().expect("controller e2e step");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Replica {
            child,
            lines,
            log: Vec::new(),
            metrics_port,
            health_port,
            receiver_port,
            storage_port,
        }
    }

    fn drain(&mut self) {
        self.log.extend(self.lines.try_iter());
    }

    fn has(&mut self, what: &str) -> bool {
        self.drain();
        self.log.iter().any(|l| l.contains(what))
    }

    fn wait_log(&mut self, what: &str, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while !self.has(what) {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        true
    }

    fn text(&mut self) -> String {
        self.drain();
        self.log.join("\n")
    }

    /// This replica's Lease identity, from its log.
    fn identity(&mut self) -> String {
        self.drain();
        self.log
            .iter()
            .find(|l| l.contains("successfully acquired lease"))
            .and_then(|l| l.split("identity=").nth(1))
            .map(|s| s.split_whitespace().next().unwrap_or_default().to_string())
            .unwrap_or_default()
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `ferroflux ARGS -n NS --kubeconfig K` (the cluster CLI).
fn ferroflux_cli(k: &Kubectl, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ferroflux"))
        .env("HOME", "/nonexistent")
        .env_remove("KUBECONFIG")
        .args(args)
        .args(["-n", &k.ns])
        // `get` has no --timeout.
        .args(if args.first() == Some(&"get") {
            &[][..]
        } else {
            &["--timeout", "60s"][..]
        })
        .arg("--kubeconfig")
        .arg(&k.config)
        .output()
        .expect("ferroflux runs")
}

/// A HelmRepository behind Basic auth and a HelmChart of it, reconciled by
/// the leading replica: the chart stored as served, at Flux's path, behind
/// the artifact server, and listed by `get sources helm|chart`.
fn helm_sources(k: &Kubectl, a: &mut Replica) {
    let Some(charts) = ChartRepo::start(ChartRepoOptions {
        basic_auth: Some(("bob".into(), "chart-pass".into())),
        ..Default::default()
    }) else {
        return;
    };
    let files = vec![
        ferroflux_helm::chart::File {
            name: "Chart.yaml".into(),
            data: b"apiVersion: v2\nname: podinfo\nversion: 6.5.0\n".to_vec(),
        },
        ferroflux_helm::chart::File {
            name: "values.yaml".into(),
            data: b"replicas: 1\n".to_vec(),
        },
        ferroflux_helm::chart::File {
            name: "templates/cm.yaml".into(),
            data: b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  replicas: {{ .Values.replicas | quote }}\n".to_vec(),
        },
    ];
    let chart = ferroflux_helm::package::package(files, 1_700_000_000).expect("package");
    std::fs::write(charts.root().join(&chart.file_name), &chart.data).expect("chart");
    std::fs::write(
        charts.root().join("index.yaml"),
        format!(
            "apiVersion: v1\nentries:\n  podinfo:\n  - apiVersion: v2\n    name: podinfo\n    version: 6.5.0\n    urls: [{}]\n",
            chart.file_name
        ),
    )
    .expect("index");
    let ns = k.ns.as_str();
    let shard = shard(ns).replace('=', ": ");
    k.apply(&format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: charts-auth\n  namespace: {ns}\nstringData:\n  username: bob\n  password: chart-pass\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: charts\n  namespace: {ns}\n  labels:\n    {shard}\nspec:\n  interval: 1m\n  url: {url}\n  secretRef:\n    name: charts-auth\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmChart\nmetadata:\n  name: podinfo\n  namespace: {ns}\n  labels:\n    {shard}\nspec:\n  chart: podinfo\n  version: '6.x'\n  interval: 5m\n  sourceRef:\n    kind: HelmRepository\n    name: charts\n",
        url = charts.url()
    ));
    let pulled = k.wait_for(
        "helmchart/podinfo",
        ".status.artifact.revision",
        Duration::from_secs(30),
        |v| v == "6.5.0",
    );
    assert_eq!(pulled.as_deref(), Ok("6.5.0"), "{}", a.text());
    assert_eq!(
        k.jsonpath(
            "helmchart/podinfo",
            ".status.conditions[?(@.type==\"Ready\")].message"
        ),
        "pulled 'podinfo' chart with version '6.5.0'"
    );
    let url = k.jsonpath("helmchart/podinfo", ".status.artifact.url");
    let prefix = format!("http://127.0.0.1:{}/", a.storage_port);
    let path = url.strip_prefix(&prefix).unwrap_or_else(|| panic!("{url}"));
    assert_eq!(path, format!("helmchart/{ns}/podinfo/podinfo-6.5.0.tgz"));
    let (code, body) = http_get_bytes(a.storage_port, &format!("/{path}"));
    assert_eq!((code, body), (200, chart.data.clone()), "{url}");
    let index_url = k.jsonpath("helmrepository/charts", ".status.url");
    assert_eq!(
        index_url,
        format!("{prefix}helmrepository/{ns}/charts/index.yaml")
    );
    let out = ferroflux_cli(k, &["get", "sources", "chart"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(
            "podinfo   6.5.0      False       True    pulled 'podinfo' chart with version '6.5.0'"
        ),
        "{stdout}"
    );
    helm_release(k, a, &shard);
}

/// An OCIRepository of a Flux artifact pushed to the registry (plain
/// HTTP: `insecure`), reconciled by the leading replica: the extracted
/// tree stored at Flux's path behind the artifact server, listed by `get
/// sources oci`, fetched again by `reconcile source oci`.
fn oci_source(
    k: &Kubectl,
    a: &mut Replica,
    rt: &tokio::runtime::Runtime,
    registry: &DockerRegistry,
) {
    let ns = k.ns.as_str();
    let shard = shard(ns).replace('=', ": ");
    let dir = tempfile::tempdir().expect("oci layer");
    std::fs::write(dir.path().join("cm.yaml"), "kind: ConfigMap\n").expect("oci layer");
    let layer = ferroflux_artifact::archive::write_tar_gz(
        dir.path(),
        None,
        &ferroflux_artifact::Limits::default(),
        Vec::new(),
    )
    .expect("oci layer");
    let digest =
        rt.block_on(registry.push_flux_artifact("fleet/oci", "v1", &layer, "main@sha1:0a1b"));
    k.apply(&format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: fleet\n  namespace: {ns}\n  labels:\n    {shard}\nspec:\n  interval: 10m\n  insecure: true\n  url: oci://{host}/fleet/oci\n  ref:\n    tag: v1\n",
        host = registry.host()
    ));
    let revision = format!("v1@{digest}");
    let got = k.wait_for(
        "ocirepository/fleet",
        ".status.artifact.revision",
        Duration::from_secs(30),
        |v| v == revision,
    );
    assert_eq!(got.as_deref(), Ok(revision.as_str()), "{}", a.text());
    let url = k.jsonpath("ocirepository/fleet", ".status.artifact.url");
    let prefix = format!("http://127.0.0.1:{}/", a.storage_port);
    let path = url.strip_prefix(&prefix).unwrap_or_else(|| panic!("{url}"));
    assert_eq!(path, format!("ocirepository/{ns}/fleet/{digest}.tar.gz"));
    let (code, _) = http_get_bytes(a.storage_port, &format!("/{path}"));
    assert_eq!(code, 200, "{url}");
    let out = ferroflux_cli(k, &["get", "sources", "oci"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let short = &digest[..15];
    assert!(
        stdout.contains(&format!(
            "fleet   v1@{short}   False       True    stored artifact for digest 'v1@{short}'"
        )),
        "{stdout}"
    );
    let out = ferroflux_cli(k, &["reconcile", "source", "oci", "fleet"]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(&format!("fetched revision {revision}")),
        "{text}"
    );
}

/// A HelmRelease in the cluster: its `spec.chart` makes the HelmChart
/// `<ns>-web` (applied by the controller, as helm-controller creates it),
/// the release is installed into the namespace with the values of its
/// `valuesFrom` ConfigMap; a change of that ConfigMap (labelled
/// `reconcile.fluxcd.io/watch: Enabled`) upgrades it at once; deleting
/// the HelmRelease uninstalls it and deletes its HelmChart before the
/// finalizer comes off.
fn helm_release(k: &Kubectl, a: &mut Replica, shard: &str) {
    let ns = k.ns.as_str();
    let values = |replicas: u32| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-values\n  namespace: {ns}\n  labels:\n    reconcile.fluxcd.io/watch: Enabled\ndata:\n  values.yaml: |\n    replicas: {replicas}\n"
        )
    };
    k.apply(&values(2));
    k.apply(&format!(
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: web\n  namespace: {ns}\n  labels:\n    {shard}\nspec:\n  interval: 5m\n  chart:\n    metadata:\n      labels:\n        {shard}\n    spec:\n      chart: podinfo\n      sourceRef:\n        kind: HelmRepository\n        name: charts\n  valuesFrom:\n  - kind: ConfigMap\n    name: web-values\n"
    ));
    let chart = format!("helmchart/{ns}-web");
    let deadline = Instant::now() + Duration::from_secs(30);
    let want = format!("helmchart.source.toolkit.fluxcd.io/{ns}-web");
    loop {
        let names = k.run(&["get", "helmcharts", "-n", ns, "-o", "name"]);
        if names.lines().any(|l| l == want) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no HelmChart made: {names}\n{}",
            a.text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let ready = k.wait_for(
        "helmrelease/web",
        ".status.conditions[?(@.type==\"Ready\")].message",
        Duration::from_secs(60),
        |v| v.starts_with("Helm install succeeded"),
    );
    assert_eq!(
        ready.as_deref(),
        Ok(
            format!("Helm install succeeded for release {ns}/web.v1 with chart podinfo@6.5.0")
                .as_str()
        ),
        "{}",
        a.text()
    );
    assert_eq!(
        k.jsonpath("helmrelease/web", ".status.helmChart"),
        format!("{ns}/{ns}-web")
    );
    // It waited for the HelmChart it made, instead of failing first on
    // its absence.
    let reasons = k.run(&[
        "get",
        "events",
        "-n",
        ns,
        "--field-selector",
        "involvedObject.kind=HelmRelease,involvedObject.name=web",
        "-o",
        "jsonpath={.items[*].reason}",
    ]);
    assert_eq!(reasons.trim(), "InstallSucceeded", "{}", a.text());
    assert_eq!(k.jsonpath(&chart, ".status.artifact.revision"), "6.5.0");
    assert_eq!(k.jsonpath("configmap/web", ".data.replicas"), "2");
    assert_eq!(
        k.jsonpath(
            "secret/sh.helm.release.v1.web.v1",
            ".metadata.labels.status"
        ),
        "deployed"
    );
    let out = ferroflux_cli(k, &["get", "helmreleases"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("web    6.5.0      False       True    Helm install succeeded"),
        "{stdout}"
    );
    // The values ConfigMap changes: the watch runs the HelmRelease long
    // before its 5m interval.
    k.apply(&values(3));
    let upgraded = k.wait_for(
        "helmrelease/web",
        ".status.conditions[?(@.type==\"Ready\")].message",
        Duration::from_secs(30),
        |v| v.starts_with("Helm upgrade succeeded"),
    );
    assert_eq!(
        upgraded.as_deref(),
        Ok(
            format!("Helm upgrade succeeded for release {ns}/web.v2 with chart podinfo@6.5.0")
                .as_str()
        ),
        "{}",
        a.text()
    );
    assert_eq!(k.jsonpath("configmap/web", ".data.replicas"), "3");
    k.run(&["delete", "helmrelease", "web", "-n", ns, "--timeout=60s"]);
    let left = k.run(&[
        "get",
        "helmcharts,configmaps,secrets",
        "-n",
        ns,
        "-o",
        "name",
    ]);
    for gone in [
        format!("helmchart.source.toolkit.fluxcd.io/{ns}-web"),
        "configmap/web".to_string(),
        "secret/sh.helm.release.v1.web.v1".to_string(),
        "secret/sh.helm.release.v1.web.v2".to_string(),
    ] {
        assert!(
            !left.lines().any(|l| l == gone),
            "{gone} left: {left}\n{}",
            a.text()
        );
    }
}

/// `GET path` on loopback: the status and the body's bytes (the artifact
/// server answers with a Content-Length, not chunks).
fn http_get_bytes(port: u16, path: &str) -> (u16, Vec<u8>) {
    use std::io::{Read as _, Write as _};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&raw[..end]).to_string();
    assert!(!head.to_ascii_lowercase().contains("chunked"), "{head}");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, raw[end + 4..].to_vec())
}

fn http_get(port: u16, path: &str) -> (u16, String) {
    let r = ferroflux_testkit::http::get(port, path);
    (r.status, r.body)
}

/// Seed 000's objects (the quickstart's files) in `ns`, in the test shard,
/// plus one ImageRepository outside it that the controller must not touch.
fn objects(ns: &str, registry_host: &str, git_url: &str) -> String {
    let flux = quickstart().join("repo/clusters/stage/flux");
    let shard = shard(ns).replace('=', ": ");
    let mut yaml = String::new();
    let mut add = |text: &str| {
        yaml.push_str(
            &text
                .replace("REGISTRY_HOST", registry_host)
                .replace("namespace: flux-system", &format!("namespace: {ns}"))
                .replace(
                    "metadata:\n",
                    &format!("metadata:\n  labels:\n    {shard}\n"),
                ),
        );
        yaml.push_str("\n---\n");
    };
    for f in [
        "registry.yaml",
        "policy.yaml",
        "automation.yaml",
        "receiver.yaml",
    ] {
        add(&std::fs::read_to_string(flux.join(f)).expect("controller e2e step"));
    }
    add(
        &std::fs::read_to_string(quickstart().join("secrets/webhook-token.yaml"))
            .expect("controller e2e step"),
    );
    add(&format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: {ns}\nspec:\n  interval: 1m0s\n  ref:\n    branch: main\n  url: {git_url}\n"
    ));
    yaml.push_str(&format!(
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: unsharded\n  namespace: {ns}\nspec:\n  image: {registry_host}/{IMAGE}\n  interval: 1m0s\n  insecure: true\n"
    ));
    yaml
}

/// A local HTTP sink for notifications: records each request's body and
/// answers 200.
fn notification_sink() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("sink binds");
    let port = listener.local_addr().expect("sink address").port();
    let seen: std::sync::Arc<std::sync::Mutex<Vec<String>>> = std::sync::Arc::default();
    let out = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut r = BufReader::new(stream);
            let mut len = 0;
            let mut line = String::new();
            while r.read_line(&mut line).unwrap_or(0) > 0 {
                let l = line.trim_end().to_ascii_lowercase();
                if l.is_empty() {
                    break;
                }
                if let Some(v) = l.strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0; len];
            if r.read_exact(&mut body).is_ok() {
                seen.lock()
                    .expect("sink lock")
                    .push(String::from_utf8_lossy(&body).into_owned());
            }
            let _ = r
                .get_mut()
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (port, out)
}

/// A generic Provider at `address` and an Alert on the namespace's
/// ImageUpdateAutomations, in the test's shard.
fn provider_and_alert(ns: &str, name: &str, address: &str, timeout: &str) -> String {
    let labels = format!("  labels:\n    {}\n", shard(ns).replace('=', ": "));
    format!(
        "apiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Provider\nmetadata:\n  name: {name}\n  namespace: {ns}\n{labels}spec:\n  type: generic\n  address: {address}\n  timeout: {timeout}\n---\napiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Alert\nmetadata:\n  name: {name}\n  namespace: {ns}\n{labels}spec:\n  providerRef:\n    name: {name}\n  eventSources:\n    - kind: ImageUpdateAutomation\n      name: '*'\n"
    )
}

/// A raw HTTP/1.1 POST; returns the status code.
fn post(port: u16, path: &str, headers: &[(&str, &str)], body: &str) -> u16 {
    ferroflux_testkit::http::post_json(port, path, headers, body).status
}

/// The real control plane of the testkit (etcd + kube-apiserver with RBAC):
/// the whole install applied server-side and validated by the apiserver, and
/// the controller running as the install's ServiceAccount (a token from the
/// TokenRequest API), so a missing RBAC rule fails the scenario.
#[test]
fn controller_e2e_on_the_real_control_plane() {
    let Some(env) = kubernetes::env() else {
        return;
    };
    let cp = env.cp;
    let tmp = tempfile::tempdir().expect("controller e2e step");
    let ns = cp.namespace("e2e");
    let k = install_on_control_plane(&env.kubectl, cp, tmp.path(), &ns, None);
    let began = Instant::now();
    let result =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| scenario(&k, tmp.path())));
    eprintln!(
        "controller e2e on the real control plane: {:?}",
        began.elapsed()
    );
    if let Err(e) = result {
        eprintln!("kube-apiserver log tail:\n{}", tail(&cp.log(), 30));
        std::panic::resume_unwind(e);
    }
}

/// The RBAC of the install is what the controller gets: without the rule
/// line granting `imagerepositories/status`, the scan that succeeds in
/// `controller_e2e_on_the_real_control_plane` cannot be recorded, and the
/// controller says it was forbidden.
#[test]
fn controller_without_one_rbac_rule_is_forbidden() {
    let Some(env) = kubernetes::env() else {
        return;
    };
    let Some(registry) = DockerRegistry::start(RegistryOptions::default()) else {
        return;
    };
    let rule = "  - imagerepositories/status\n";
    // Without the cluster-admin binding a Kustomization needs, so that the
    // ClusterRole alone decides.
    let drop_rule = |export: String| {
        assert_eq!(export.matches(rule).count(), 1, "the ClusterRole changed");
        export
            .replacen(rule, "", 1)
            .split("\n---\n")
            .filter(|doc| !doc.contains("\n  name: cluster-reconciler-"))
            .collect::<Vec<_>>()
            .join("\n---\n")
    };
    let tmp = tempfile::tempdir().expect("rbac test step");
    let ns = env.cp.namespace("rbac");
    let k = install_on_control_plane(&env.kubectl, env.cp, tmp.path(), &ns, Some(&drop_rule));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rbac test step");
    rt.block_on(registry.push_image(IMAGE, "1.0.0"));
    let shard = shard(&ns).replace('=', ": ");
    k.apply(&format!(
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: no-status\n  namespace: {ns}\n  labels:\n    {shard}\nspec:\n  image: {}/{IMAGE}\n  interval: 1m0s\n  insecure: true\n",
        registry.host()
    ));
    let mut a = Replica::start(&k.controller, &ns, &tmp.path().join("a"));
    // The apiserver's own checks of the install's CRDs, while the replica
    // starts (here rather than in the e2e, the longer test).
    crd_schemas_are_enforced(&k);
    v1beta2_is_stored_and_read_as_v1(&k);
    assert!(
        a.wait_log("forbidden", Duration::from_secs(60)),
        "no forbidden error without the status rule:\n{}",
        a.text()
    );
    assert!(a.has("imagerepositories"), "{}", a.text());
    // The refused status fails that object, not the controller: it goes
    // on with its first pass (the Receiver-less namespace has nothing else)
    // and keeps running to retry.
    assert!(
        a.wait_log("first pass done", Duration::from_secs(30)),
        "{}",
        a.text()
    );
    assert!(
        a.child.try_wait().expect("replica status").is_none(),
        "the controller exited on a refused status:\n{}",
        a.text()
    );
    let count = k.jsonpath(
        "imagerepository/no-status",
        ".status.lastScanResult.tagCount",
    );
    assert_eq!(count, "", "status written without RBAC:\n{}", a.text());
}

/// The apiserver validates with our CRD schemas: what Flux's CRDs reject is
/// rejected (bad enum, missing required field, wrong type).
fn crd_schemas_are_enforced(k: &Kubectl) {
    let policy = |spec: &str| {
        format!(
            "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: bad\n  namespace: {}\nspec:\n{spec}",
            k.ns
        )
    };
    for (spec, expect) in [
        (
            "  imageRepositoryRef:\n    name: r\n  policy:\n    alphabetical:\n      order: sideways\n",
            "spec.policy.alphabetical.order",
        ),
        (
            "  policy:\n    semver:\n      range: '>=1.0.0'\n",
            "spec.imageRepositoryRef",
        ),
        (
            "  imageRepositoryRef:\n    name: r\n  policy:\n    semver:\n      range: [1]\n",
            "spec.policy.semver.range",
        ),
    ] {
        let (ok, out) = k.try_apply(&policy(spec));
        assert!(
            !ok && out.contains(expect),
            "accepted or unclear ({expect}): {out}"
        );
    }
}

/// A `v1beta2` ImagePolicy (manifests written before Flux 2.6) is accepted,
/// stored, and read back as `v1` with its spec intact.
fn v1beta2_is_stored_and_read_as_v1(k: &Kubectl) {
    k.apply(&format!(
        "apiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImagePolicy\nmetadata:\n  name: old\n  namespace: {}\nspec:\n  imageRepositoryRef:\n    name: r\n  policy:\n    semver:\n      range: '>=1.0.0'\n",
        k.ns
    ));
    let got = k.run(&[
        "get",
        "imagepolicies.v1.image.toolkit.fluxcd.io/old",
        "-n",
        &k.ns,
        "-o",
        "jsonpath={.apiVersion} {.spec.policy.semver.range}",
    ]);
    assert_eq!(got, "image.toolkit.fluxcd.io/v1 >=1.0.0");
    k.run(&["delete", "imagepolicy/old", "-n", &k.ns]);
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// `ferroflux install --export` moved into the namespace `ns`: its
/// Namespace, ServiceAccount, Service and Deployment there, its ClusterRole
/// and ClusterRoleBinding named `ferroflux-<ns>` (cluster-scoped, so renamed
/// for a test to change its own rules). The CRDs stay as they are.
fn install_in_namespace(export: &str, ns: &str) -> String {
    let own = format!("ferroflux-{ns}");
    let docs: Vec<String> = export
        .split("\n---\n")
        .map(|doc| {
            fn swap(doc: &str, from: &str, to: &str) -> String {
                assert!(doc.contains(from), "{from:?} not in:\n{doc}");
                doc.replace(from, to)
            }
            let doc = if doc.contains("\nkind: Namespace\n") {
                swap(doc, "\n  name: flux-system", &format!("\n  name: {ns}"))
            } else if doc.contains("\nkind: ClusterRole\n") {
                swap(doc, "\n  name: ferroflux\n", &format!("\n  name: {own}\n"))
            } else if doc.contains("\n  name: cluster-reconciler-flux-system\n") {
                swap(
                    doc,
                    "\n  name: cluster-reconciler-flux-system\n",
                    &format!("\n  name: cluster-reconciler-{ns}\n"),
                )
            } else if doc.contains("\nkind: ClusterRoleBinding\n") {
                let doc = swap(
                    doc,
                    "\n  name: ferroflux\nroleRef:",
                    &format!("\n  name: {own}\nroleRef:"),
                );
                swap(
                    &doc,
                    "  kind: ClusterRole\n  name: ferroflux\n",
                    &format!("  kind: ClusterRole\n  name: {own}\n"),
                )
            } else {
                doc.to_string()
            };
            doc.replace("namespace: flux-system", &format!("namespace: {ns}"))
        })
        .collect();
    docs.join("\n---\n")
}

/// `kubectl apply --server-side` of `ferroflux install --export` in the
/// namespace `ns` (after `edit` of its text), then a kubeconfig with a token
/// of that install's `ferroflux` ServiceAccount for the controller.
fn install_on_control_plane(
    bin: &Path,
    cp: &ControlPlane,
    tmp: &Path,
    ns: &str,
    edit: Option<&dyn Fn(String) -> String>,
) -> Kubectl {
    let mut k = Kubectl {
        bin: bin.to_path_buf(),
        config: cp.kubeconfig(),
        controller: cp.kubeconfig(),
        ns: ns.to_string(),
    };
    let mut export = install_in_namespace(&install_export(), ns);
    if let Some(edit) = edit {
        export = edit(export);
    }
    k.apply_server_side(&export);
    let token = k.run(&["create", "token", "ferroflux", "-n", ns, "--duration=2h"]);
    let sa = tmp.join("sa.kubeconfig");
    std::fs::copy(&k.config, &sa).expect("copy kubeconfig");
    let as_sa = Kubectl {
        bin: k.bin.clone(),
        config: sa.clone(),
        controller: sa.clone(),
        ns: k.ns.clone(),
    };
    as_sa.run(&[
        "config",
        "set-credentials",
        "ferroflux-sa",
        &format!("--token={}", token.trim()),
    ]);
    as_sa.run(&["config", "set-context", "--current", "--user=ferroflux-sa"]);
    let who = as_sa.run(&[
        "auth",
        "whoami",
        "-o",
        "jsonpath={.status.userInfo.username}",
    ]);
    assert_eq!(who, format!("system:serviceaccount:{ns}:ferroflux"));
    k.controller = sa;
    k
}

/// A real cluster, when `FERROFLUX_TEST_KUBECONFIG` names one: the same
/// scenario in a namespace of its own (the controller runs here, outside
/// the cluster, so that it reaches the loopback registry and Git server).
/// Only the CRDs are installed; a Flux image controller running in that
/// cluster would fight over the test objects, so use one without.
#[test]
fn controller_e2e_on_a_real_cluster() {
    let Some(config) = std::env::var_os("FERROFLUX_TEST_KUBECONFIG").map(PathBuf::from) else {
        eprintln!(
            "skipped: FERROFLUX_TEST_KUBECONFIG is not set (no real cluster to test against)"
        );
        return;
    };
    let Some(bin) = kubectl_bin() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("controller e2e step");
    let k = Kubectl {
        bin,
        controller: config.clone(),
        config,
        ns: format!("ferroflux-e2e-{}", std::process::id()),
    };
    let crds: Vec<&str> = Vec::new();
    let export = install_export();
    let crds = export
        .split("\n---\n")
        .filter(|d| d.contains("kind: CustomResourceDefinition"))
        .fold(crds, |mut v, d| {
            v.push(d);
            v
        })
        .join("\n---\n");
    k.apply(&crds);
    k.run(&["create", "namespace", &k.ns]);
    let result =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| scenario(&k, tmp.path())));
    k.run(&["delete", "namespace", &k.ns, "--wait=false"]);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

fn scenario(k: &Kubectl, tmp: &Path) {
    let Some(registry) = DockerRegistry::start(RegistryOptions::default()) else {
        return;
    };
    let Some(git) = GitHttpServer::start(GitOptions::default()) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("controller e2e step");
    let ns = k.ns.as_str();
    // The repository: the quickstart's manifests, seed 000's tags.
    let bare = gitrepo::init_bare(git.root(), "flux.git");
    let root = quickstart().join("repo");
    let deployment = std::fs::read_to_string(root.join(DEPLOYMENT))
        .expect("controller e2e step")
        .replace("REGISTRY_HOST", &registry.host())
        // The setter markers name the policies' namespace.
        .replace("\"flux-system:", &format!("\"{ns}:"));
    let initial = gitrepo::commit_files(
        &bare,
        "main",
        &[(DEPLOYMENT, deployment.as_bytes())],
        "initial",
    );
    for tag in ["0.13.2", "api-0.13.0", "streamlit-0.13.0", "0.13.3"] {
        rt.block_on(registry.push_image(IMAGE, tag));
    }

    k.apply(&objects(ns, &registry.host(), &git.url("flux.git")));
    // Notifications: one Provider that answers, one that is down.
    let (sink_port, announced) = notification_sink();
    k.apply(&provider_and_alert(
        ns,
        "hook",
        &format!("http://127.0.0.1:{sink_port}/hook"),
        "15s",
    ));
    k.apply(&provider_and_alert(
        ns,
        "down",
        &format!("http://127.0.0.1:{}/down", free_port()),
        "1s",
    ));
    // Seed 000's last link: the Kustomization that applies the app.
    k.apply(&format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: {ns}\n  labels:\n    {}\nspec:\n  interval: 10m\n  path: ./apps/stage/keyword-correction\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  targetNamespace: {ns}\n",
        shard(ns).replace('=', ": ")
    ));

    let mut a = Replica::start(&k.controller, ns, &tmp.join("a"));
    assert!(
        a.wait_log("successfully acquired lease", Duration::from_secs(30)),
        "replica a never led:\n{}",
        a.text()
    );

    // Tags, latestRef (the cheat sheet), and the pushed commit in status.
    let within = Duration::from_secs(60);
    let tags = k.wait_for(
        "imagerepository/keyword-correction",
        ".status.lastScanResult.tagCount",
        within,
        |v| v == "4",
    );
    assert_eq!(tags.as_deref(), Ok("4"), "{}", a.text());
    let latest = k.wait_for(
        "imagepolicy/keyword-correction",
        ".status.latestRef.tag",
        within,
        |v| v == "0.13.3",
    );
    assert_eq!(latest.as_deref(), Ok("0.13.3"), "{}", a.text());
    let pushed = k.wait_for(
        "imageupdateautomation/flux-system",
        ".status.lastPushCommit",
        within,
        |v| !v.is_empty(),
    );
    let head = gitrepo::rev_parse(&bare, "main").expect("controller e2e step");
    assert_ne!(head, initial, "{pushed:?}\n{}", a.text());
    assert_eq!(pushed.as_deref(), Ok(head.as_str()), "{}", a.text());
    let file = gitrepo::show_file(&bare, "main", DEPLOYMENT);
    assert_eq!(
        file.matches(":0.13.3 # {\"$imagepolicy\"").count(),
        2,
        "{file}"
    );
    let ready = k.jsonpath(
        "imagepolicy/keyword-correction",
        ".status.conditions[?(@.type==\"Ready\")].status",
    );
    assert_eq!(ready, "True");
    // The automation's event reached the Provider that answers.
    let deadline = Instant::now() + Duration::from_secs(20);
    let pushed_event = loop {
        let seen = announced.lock().expect("sink lock").clone();
        if let Some(e) = seen
            .iter()
            .find(|b| b.contains("\"kind\":\"ImageUpdateAutomation\""))
        {
            break e.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no notification: {seen:?}\n{}",
            a.text()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(pushed_event.contains(&head[..7]), "{pushed_event}");
    assert!(
        pushed_event.contains("\"reportingController\":\"image-automation-controller\""),
        "{pushed_event}"
    );

    // The GitRepository follows the push at once (Flux waits for its 1m
    // interval or a webhook), and its artifact is served at Flux's path
    // with the digest its status advertises.
    let want = format!("main@sha1:{head}");
    let stored = k.wait_for(
        "gitrepository/flux-system",
        ".status.artifact.revision",
        Duration::from_secs(20),
        |v| v == want,
    );
    assert_eq!(stored.as_deref(), Ok(want.as_str()), "{}", a.text());
    let url = k.jsonpath("gitrepository/flux-system", ".status.artifact.url");
    let prefix = format!("http://127.0.0.1:{}/", a.storage_port);
    let path = url.strip_prefix(&prefix).unwrap_or_else(|| panic!("{url}"));
    assert!(
        path.starts_with(&format!("gitrepository/{ns}/flux-system/")),
        "{url}"
    );
    // ... and the Kustomization applies it: the Deployment in the
    // apiserver runs the pushed image, its inventory and message as Flux's.
    let image = |k: &Kubectl| {
        k.jsonpath(
            "deployment/keyword-correction",
            ".spec.template.spec.containers[0].image",
        )
    };
    let applied = k.wait_for(
        "kustomization/apps",
        ".status.lastAppliedRevision",
        Duration::from_secs(20),
        |v| v == want,
    );
    assert_eq!(applied.as_deref(), Ok(want.as_str()), "{}", a.text());
    assert!(
        image(k).ends_with("/tbd/keyword_correction:0.13.3"),
        "{}",
        image(k)
    );
    assert_eq!(
        k.jsonpath(
            "kustomization/apps",
            ".status.conditions[?(@.type==\"Ready\")].message"
        ),
        format!("Applied revision: {want}")
    );
    assert_eq!(
        k.jsonpath("kustomization/apps", ".status.inventory.entries[0].id"),
        format!("{ns}_keyword-correction_apps_Deployment")
    );
    let (code, body) = http_get_bytes(a.storage_port, &format!("/{path}"));
    assert_eq!(code, 200, "{url}");
    let digest = {
        use sha2::Digest as _;
        format!("sha256:{}", hex::encode(sha2::Sha256::digest(&body)))
    };
    assert_eq!(
        digest,
        k.jsonpath("gitrepository/flux-system", ".status.artifact.digest")
    );

    helm_sources(k, &mut a);
    oci_source(k, &mut a, &rt, &registry);

    // requestedAt forces a scan that finds the new tag, and a new commit.
    rt.block_on(registry.push_image(IMAGE, "0.13.4"));
    k.request_reconcile(
        "imagerepository/keyword-correction",
        "2026-12-04T10:00:00.000000001Z",
    );
    let handled = k.wait_for(
        "imagerepository/keyword-correction",
        ".status.lastHandledReconcileAt",
        Duration::from_secs(20),
        |v| v == "2026-12-04T10:00:00.000000001Z",
    );
    assert!(handled.is_ok(), "{handled:?}\n{}", a.text());
    assert_eq!(
        k.jsonpath(
            "imagerepository/keyword-correction",
            ".status.lastScanResult.tagCount"
        ),
        "5"
    );
    let latest = k.wait_for(
        "imagepolicy/keyword-correction",
        ".status.latestRef.tag",
        within,
        |v| v == "0.13.4",
    );
    assert_eq!(latest.as_deref(), Ok("0.13.4"), "{}", a.text());
    let deadline = Instant::now() + within;
    while !gitrepo::show_file(&bare, "main", DEPLOYMENT).contains(":0.13.4 # ") {
        assert!(
            Instant::now() < deadline,
            "no commit for 0.13.4\n{}",
            a.text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // `ferroflux reconcile` and `ferroflux get` against the running controller.
    let rec = ferroflux_cli(
        k,
        &["reconcile", "image", "repository", "keyword-correction"],
    );
    let said = String::from_utf8_lossy(&rec.stderr);
    assert_eq!(rec.status.code(), Some(0), "{said}\n{}", a.text());
    assert!(
        said.contains("◎ waiting for ImageRepository reconciliation\n✔ scan fetched 5 tags\n"),
        "{said}"
    );
    let get = ferroflux_cli(k, &["get", "image", "policy"]);
    let table = String::from_utf8_lossy(&get.stdout);
    assert!(get.status.success(), "{table}");
    assert!(
        table.lines().any(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            cells.get(1) == Some(&registry.image(IMAGE).as_str()) && cells.get(2) == Some(&"0.13.4")
        }),
        "{table}"
    );

    // A Harbor webhook to the Receiver's path: a scan, a commit.
    let hook = k
        .wait_for(
            "receiver/harbor-receiver",
            ".status.webhookPath",
            within,
            |v| v.starts_with("/hook/"),
        )
        .expect("the Receiver's webhook path");
    rt.block_on(registry.push_image(IMAGE, "0.13.5"));
    assert_eq!(
        post(a.receiver_port, &hook, &[("Authorization", "wrong")], "{}"),
        401
    );
    let sent = Instant::now();
    assert_eq!(
        post(a.receiver_port, &hook, &[("Authorization", TOKEN)], "{}"),
        200
    );
    while !gitrepo::show_file(&bare, "main", DEPLOYMENT).contains(":0.13.5 # ") {
        assert!(
            sent.elapsed() < within,
            "no commit after the webhook\n{}",
            a.text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!("webhook -> pushed commit in {:?}", sent.elapsed());
    // Seed 000's whole loop: tag pushed, webhook, commit, GitRepository
    // revision, Kustomization applied, the Deployment's image changed.
    while !image(k).ends_with(":0.13.5") {
        assert!(
            sent.elapsed() < within,
            "the Deployment never ran 0.13.5: {}\n{}",
            image(k),
            a.text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!("webhook -> Deployment updated in {:?}", sent.elapsed());

    // Flux's finalizer: the controller adds it, and deleting the
    // Kustomization prunes what it applied before the object goes. A
    // finalizer Flux left on an image object comes off on deletion too.
    assert!(
        k.jsonpath("kustomization/apps", ".metadata.finalizers")
            .contains("finalizers.fluxcd.io"),
        "{}",
        a.text()
    );
    k.apply(&format!(
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: left-by-flux\n  namespace: {ns}\n  finalizers:\n    - finalizers.fluxcd.io\n  labels:\n    {}\nspec:\n  imageRepositoryRef:\n    name: keyword-correction\n  policy:\n    semver:\n      range: '>=0'\n",
        shard(ns).replace('=', ": ")
    ));
    k.run(&["delete", "kustomization", "apps", "-n", ns, "--wait=false"]);
    k.run(&[
        "delete",
        "imagepolicy",
        "left-by-flux",
        "-n",
        ns,
        "--wait=false",
    ]);
    let deadline = Instant::now() + Duration::from_secs(20);
    let left = || {
        k.run(&[
            "get",
            "kustomization,deployment,imagepolicy",
            "-n",
            ns,
            "-o",
            "name",
        ])
        .lines()
        .filter(|l| {
            l.starts_with("kustomization")
                || l.ends_with("/left-by-flux")
                || *l == "deployment.apps/keyword-correction"
        })
        .map(str::to_string)
        .collect::<Vec<_>>()
    };
    while !left().is_empty() {
        assert!(
            Instant::now() < deadline,
            "still there: {:?}\n{}",
            left(),
            a.text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // Sharding: the object outside the selector is never touched.
    assert_eq!(k.jsonpath("imagerepository/unsharded", ".status"), "");

    // Metrics, probes and Events.
    let (code, metrics) = http_get(a.metrics_port, "/metrics");
    assert_eq!(code, 200);
    assert!(
        metrics.contains(
            &r#"gotk_reconcile_condition{kind="ImagePolicy",name="keyword-correction",namespace="@NS@",type="Ready",status="True"} 1"#.replace("@NS@", ns)
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(&r#"gotk_reconcile_duration_seconds_count{kind="ImageRepository",name="keyword-correction",namespace="@NS@"}"#.replace("@NS@", ns)),
        "{metrics}"
    );
    assert_eq!(http_get(a.health_port, "/healthz").0, 200);
    assert_eq!(http_get(a.health_port, "/readyz").0, 200);
    let events = k.run(&[
        "get",
        "events.events.k8s.io",
        "-n",
        ns,
        "-o",
        "jsonpath={range .items[*]}{.regarding.kind}/{.reason};{end}",
    ]);
    assert!(events.contains("ImagePolicy/"), "{events}");
    // The Provider that is down: Flux's Warning on its Alert.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let events = k.run(&[
            "get",
            "events.events.k8s.io",
            "-n",
            ns,
            "-o",
            "jsonpath={range .items[*]}{.regarding.kind}/{.regarding.name}/{.reason};{end}",
        ]);
        if events.contains("Alert/down/NotificationDispatchFailed") {
            break;
        }
        assert!(Instant::now() < deadline, "{events}\n{}", a.text());
        std::thread::sleep(Duration::from_millis(200));
    }

    // Suspend: a request and a new tag change nothing. Meanwhile a second
    // replica starts and waits while the first holds the Lease (the two
    // waits overlap).
    k.merge_patch(
        "imagerepository/keyword-correction",
        r#"{"spec":{"suspend":true}}"#,
    );
    rt.block_on(registry.push_image(IMAGE, "0.13.6"));
    k.request_reconcile("imagerepository/keyword-correction", "2026-12-04T10:05:00Z");
    let suspended = Instant::now();
    let mut b = Replica::start(&k.controller, ns, &tmp.join("b"));
    assert!(
        b.wait_log(
            "attempting to acquire leader lease",
            Duration::from_secs(20)
        ),
        "{}",
        b.text()
    );
    let standby = Instant::now();
    std::thread::sleep(Duration::from_secs(3).saturating_sub(suspended.elapsed()));
    assert_eq!(
        k.jsonpath(
            "imagerepository/keyword-correction",
            ".status.lastScanResult.tagCount"
        ),
        "6",
        "{}",
        a.text()
    );
    let (_, metrics) = http_get(a.metrics_port, "/metrics");
    assert!(
        metrics.contains(
            &r#"gotk_suspend_status{kind="ImageRepository",name="keyword-correction",namespace="@NS@"} 1"#.replace("@NS@", ns)
        ),
        "{metrics}"
    );
    // Longer than the lease (4s): the first replica renewed it.
    std::thread::sleep(Duration::from_secs(5).saturating_sub(standby.elapsed()));
    assert!(
        !b.has("successfully acquired lease") && !b.has("watches synced"),
        "both replicas act:\n{}",
        b.text()
    );
    let holder = k.jsonpath("lease/ferroflux-leader-election", ".spec.holderIdentity");
    let a_identity = a.identity();
    assert!(!a_identity.is_empty(), "{}", a.text());
    assert_eq!(holder, a_identity, "{}", a.text());

    // The leader dies without releasing: the other takes over within the
    // lease duration (4s) plus its retry, and does the work.
    let _ = a.child.kill();
    let _ = a.child.wait();
    let killed = Instant::now();
    assert!(
        b.wait_log("successfully acquired lease", Duration::from_secs(20)),
        "no takeover:\n{}",
        b.text()
    );
    eprintln!("takeover after {:?}", killed.elapsed());
    // `ferroflux resume` (the cluster CLI) waits for the new leader's scan.
    let resume = ferroflux_cli(k, &["resume", "image", "repository", "keyword-correction"]);
    let said = String::from_utf8_lossy(&resume.stderr);
    assert_eq!(resume.status.code(), Some(0), "{said}\n{}", b.text());
    assert!(said.contains("fetched 7 tags"), "{said}");
    let tags = k.wait_for(
        "imagerepository/keyword-correction",
        ".status.lastScanResult.tagCount",
        within,
        |v| v == "7",
    );
    assert_eq!(tags.as_deref(), Ok("7"), "{}", b.text());
    let b_identity = b.identity();
    assert!(!b_identity.is_empty() && b_identity != a_identity);
    assert_eq!(
        k.jsonpath("lease/ferroflux-leader-election", ".spec.holderIdentity"),
        b_identity
    );

    // SIGTERM: a clean exit that gives the Lease up.
    let status = ferroflux_testkit::process::terminate(
        &mut b.child,
        Duration::from_secs(20),
        "ferroflux controller",
    );
    assert_eq!(status.code(), Some(0), "{}", b.text());
    assert_eq!(
        k.jsonpath("lease/ferroflux-leader-election", ".spec.holderIdentity"),
        ""
    );
}

#[test]
fn controller_without_a_cluster_is_a_clear_error() {
    let tmp = tempfile::tempdir().expect("controller e2e step");
    let out = Command::new(env!("CARGO_BIN_EXE_ferroflux"))
        .arg("controller")
        .arg("--kubeconfig")
        .arg(tmp.path().join("missing"))
        .arg("--storage-path")
        .arg(tmp.path().join("data"))
        .output()
        .expect("controller e2e step");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("kubeconfig") && stderr.contains("missing"),
        "{stderr}"
    );
}

#[test]
fn controller_rejects_a_renew_deadline_not_shorter_than_the_lease() {
    let tmp = tempfile::tempdir().expect("controller e2e step");
    let out = Command::new(env!("CARGO_BIN_EXE_ferroflux"))
        .args([
            "controller",
            "--leader-election-lease-duration",
            "10s",
            "--leader-election-renew-deadline",
            "10s",
            "--storage-path",
        ])
        .arg(tmp.path().join("data"))
        .output()
        .expect("controller e2e step");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("renew deadline"), "{stderr}");
}

/// The Deployment in `deploy/install.yaml` starts the binary with flags it
/// accepts: with them, the only complaint is the missing cluster.
#[test]
fn install_deployment_args_are_accepted() {
    let install = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/install.yaml"),
    )
    .expect("controller e2e step");
    let args: Vec<String> = install
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("- args:"))
        .skip(1)
        .take_while(|l| l.trim_start().starts_with("- "))
        .map(|l| l.trim_start().trim_start_matches("- ").to_string())
        .collect();
    assert_eq!(
        args.first().map(String::as_str),
        Some("controller"),
        "{args:?}"
    );
    assert!(
        args.contains(&"--storage-path=/data".to_string()),
        "{args:?}"
    );
    // /data is not writable here: the same flag, pointed elsewhere.
    let args: Vec<String> = args
        .into_iter()
        .filter(|a| !a.starts_with("--storage-path="))
        .collect();
    let tmp = tempfile::tempdir().expect("controller e2e step");
    let out = Command::new(env!("CARGO_BIN_EXE_ferroflux"))
        .args(&args)
        .arg(format!(
            "--storage-path={}",
            tmp.path().join("data").display()
        ))
        .arg("--kubeconfig")
        .arg(tmp.path().join("no-kubeconfig"))
        .output()
        .expect("controller e2e step");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no-kubeconfig") && !stderr.contains("Usage:"),
        "{stderr}"
    );
}

/// What the watches would only retry forever fails at start-up with a
/// clear message: CRDs not installed (the run `kubernetes::env` made on the
/// control plane before it applied them), a selector the apiserver refuses.
#[test]
fn controller_fails_fast_without_crds_or_with_a_bad_selector() {
    let Some(env) = kubernetes::env() else {
        return;
    };
    let out = &env.without_crds;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("CRDs are not installed"), "{stderr}");

    let tmp = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_ferroflux"))
        .env("HOME", "/nonexistent")
        .arg("controller")
        .arg("--kubeconfig")
        .arg(env.cp.kubeconfig())
        .arg("--storage-path")
        .arg(tmp.path().join("data"))
        .args(["--watch-label-selector", "sharding.fluxcd.io/key in (a"])
        .output()
        .expect("ferroflux controller");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--watch-label-selector 'sharding.fluxcd.io/key in (a'"),
        "{stderr}"
    );
}

/// Fault injection (the fake apiserver: a real one cannot be made to fail
/// on demand): the start-up list answered with a 500 ends the controller
/// with the apiserver's message, not a hang or a panic.
#[test]
fn controller_reports_an_apiserver_failure_at_start_up() {
    let server = FakeApiServer::start_in_thread(ApiOptions {
        faults: vec![Fault {
            method: "GET".into(),
            path: "/apis/image.toolkit.fluxcd.io/v1/imagerepositories".into(),
            status: 500,
            message: "etcdserver: request timed out".into(),
        }],
        ..ApiOptions::default()
    })
    .expect("fake apiserver");
    let tmp = tempfile::tempdir().expect("tempdir");
    let config = tmp.path().join("kubeconfig");
    server.write_kubeconfig(&config).expect("kubeconfig");
    let out = Command::new(env!("CARGO_BIN_EXE_ferroflux"))
        .env("HOME", "/nonexistent")
        .arg("controller")
        .arg("--kubeconfig")
        .arg(&config)
        .arg("--storage-path")
        .arg(tmp.path().join("data"))
        .output()
        .expect("ferroflux controller");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("cannot list ImageRepositories")
            && stderr.contains("etcdserver: request timed out"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
