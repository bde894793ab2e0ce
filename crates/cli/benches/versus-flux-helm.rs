//! `cargo bench -p ferroflux --bench versus-flux-helm`: issue 19's
//! figures. N HelmReleases of a small chart installed and Ready, Flux's
//! source-controller + helm-controller (built from their Go modules by
//! `scripts/build-flux helm`) against `ferroflux controller`, one after the
//! other on the same kube-apiserver and the same chart repository in the
//! same run.
//!
//! The shape, from fluxcd/flux-benchmark's `flux-hr-bench` Timoni module
//! (its `HRS=1000` run is the 8m12s of issue 19): one namespace with a
//! ServiceAccount `flux` bound to the `admin` ClusterRole, one
//! HelmRepository `podinfo` (interval 12h, timeout 2m) and per index i a
//! HelmRelease `podinfo-<i>` (releaseName `podinfo-<i>`, interval 60m,
//! `serviceAccountName: flux`, `targetNamespace` and `storageNamespace`
//! the namespace, `install.crds: Create`, `upgrade.crds: CreateReplace`,
//! Helm's wait on as by default) of chart `podinfo` version 6.5.3 (its
//! HelmChart's interval 600m) with flux-benchmark's values: 0 replicas,
//! a ServiceAccount, an nginx Ingress, requests of 1m CPU and 16Mi. Each
//! HelmRelease's `spec.chart` makes one HelmChart, as helm-controller does.
//! flux-benchmark pulls the real podinfo chart from an OCI registry; here
//! the HelmRepository is an HTTP chart repository (`index.yaml` + `.tgz`,
//! served by lighttpd with Basic auth, a Secret `chart-auth`) holding a
//! small podinfo-like chart packaged by `ferroflux_helm::package`: a
//! ServiceAccount, a Service, a Deployment and an Ingress, 4 objects per
//! release. The HelmReleases carry `spec.chart.metadata.labels` `bench=<side>`
//! so that the HelmCharts they make are seen by their side's
//! source-controller (`--watch-label-selector`, Flux's sharding rule).
//!
//! Flux runs with flux-benchmark's settings: `--concurrent=10` for both
//! controllers, `GOMEMLIMIT` at their limits (1 GiB for source-controller,
//! 2 GiB for helm-controller); source-controller serves its artifacts on
//! 127.0.0.1 (`--storage-adv-addr`), where helm-controller fetches the
//! charts. ferroflux runs with `--concurrent=10`. Each side sees only its
//! own objects (`--watch-label-selector bench=<side>`); each side runs on
//! a fresh control plane, as each contender gets a fresh cluster in
//! flux-benchmark (on a cluster of your own, the first side's namespace
//! is deleted and waited for instead, the finalizers of its Flux objects
//! dropped). The control plane is the testkit's plus the second
//! kube-controller-manager of `versus` (Deployments reported Available, so
//! Helm's wait ends; the `admin` ClusterRole's aggregated rules).
//!
//! Figures, per contender: time from the first object created (the
//! HelmRepository) to all N HelmReleases Ready (kstatus: Ready=True at the
//! current generation), also when all N HelmCharts were Ready; per
//! HelmRelease, its creation -> its Ready, p50/p99; peak resident memory
//! (VmHWM, summed over Flux's two processes) and CPU seconds until then;
//! the releases Helm's storage holds (Secrets `owner=helm,status=deployed`
//! in the namespace, against N) and the objects they made (labelled
//! `app.kubernetes.io/managed-by=Helm`, against 4N). For ferroflux, the
//! ratio against Flux and issue 19's goals (>= 4x faster, <= 1/4 of the
//! memory).
//!
//! A contender that does not get there is reported, not faked: ferroflux
//! fails at once when `ferroflux install --export` has no HelmRelease CRD,
//! either side fails when no HelmRelease has any status
//! `FERROFLUX_BENCH_STALL_SECS` (120) after the objects were created or
//! when not all are Ready by `FERROFLUX_BENCH_DEADLINE_SECS` (300 + 2N);
//! the figures of the other side are printed and the bench exits 1.
//!
//! Needs `FERROFLUX_FLUX_HELM_DIR` (the directory `scripts/build-flux
//! helm` prints; `FERROFLUX_FLUX_DIR` is used when it holds a
//! helm-controller), lighttpd, and the control-plane binaries
//! (`FERROFLUX_KUBE_APISERVER`, `FERROFLUX_KUBE_CONTROLLER_MANAGER`,
//! `FERROFLUX_ETCD`, from `.ci/setup.d/40-control-plane.sh`), or
//! `FERROFLUX_BENCH_KUBECONFIG` for a cluster of your own. Settings:
//! `FERROFLUX_BENCH_HELMRELEASES` (N, default 100),
//! `FERROFLUX_BENCH_CONTENDERS` (`flux,ferroflux`, either alone),
//! `FERROFLUX_BENCH_FERROFLUX_ARGS` (more arguments for `ferroflux
//! controller`), `FERROFLUX_BENCH_KEEP=1` (keep the logs and data
//! directory). Run only by `cargo bench`: `cargo test` never runs it.
//! ferroflux's figures count from a `cargo bench` (release) build; Flux's
//! do not depend on the profile (`cargo bench --profile dev` spares the
//! release build).
//!
//! Figures (README, Performance, keeps the current ones; git history the
//! earlier): 2026-12-07, at 44b4469 (ferroflux release, thin LTO:
//! `CARGO_PROFILE_RELEASE_LTO=thin CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
//! cargo bench -p ferroflux --bench versus-flux-helm`), six same-run pairs
//! at N = 100, each side on a fresh control plane, 2 cores: Flux
//! 19.59–25.19 s, ferroflux 3.71–4.75 s (4.6x–5.5x); 265–277 against
//! 42–46 MiB (0.16–0.17); CPU 16.3–18.4 against 0.9–1.2 s. The control
//! plane on the same two cores bounds ours: the apiserver takes about 1.1
//! cores during our run, etcd and the controller-manager 0.2 each, ours
//! 0.25; a release costs about 18 requests (Helm's storage list, four
//! ownership reads, the pending and deployed release Secrets, four
//! applies, the Deployment's watch, the status patch and an event; its
//! HelmChart's apply and status patch, its finalizer).

mod versus;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use ferroflux_helm::chart::File;
use ferroflux_testkit::chart_repo::{self, ChartRepo};
use futures_util::{StreamExt as _, TryStreamExt as _};
use kube::api::ListParams;
use serde_json::{Value, json};
use versus::{
    Awaited, Board, Cluster, Controllers, Side, Spawn, Table, api, apply, duration, env_number,
    free_port, load_average,
};

const USER: &str = "bench";
const PASSWORD: &str = "bench-password";
const CHART: &str = "podinfo";
const CHART_VERSION: &str = "6.5.3";
/// Objects each release makes (ServiceAccount, Service, Deployment, Ingress).
const PER_RELEASE: usize = 4;
/// Creations in flight at once.
const IN_FLIGHT: usize = 16;
const BUILD: &str = "scripts/build-flux helm";

/// The chart: podinfo's objects, trimmed to what the shape's values turn on.
fn chart_files() -> Vec<File> {
    let file = |name: &str, data: &str| File {
        name: name.into(),
        data: data.as_bytes().to_vec(),
    };
    vec![
        file(
            "Chart.yaml",
            &format!(
                "apiVersion: v2\nname: {CHART}\nversion: {CHART_VERSION}\nappVersion: {CHART_VERSION}\ndescription: podinfo's objects for the HelmRelease bench\n"
            ),
        ),
        file(
            "values.yaml",
            r##"replicaCount: 1
image:
  repository: ghcr.io/stefanprodan/podinfo
  tag: 6.5.3
  pullPolicy: IfNotPresent
ui:
  color: "#34577c"
service:
  type: ClusterIP
  httpPort: 9898
  grpcPort: 9999
serviceAccount:
  enabled: false
ingress:
  enabled: false
  className: ""
  path: /
resources:
  requests:
    cpu: 1m
    memory: 16Mi
"##,
        ),
        file(
            "templates/_helpers.tpl",
            r#"{{- define "podinfo.fullname" -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- define "podinfo.selectorLabels" -}}
app.kubernetes.io/name: {{ include "podinfo.fullname" . }}
{{- end -}}
{{- define "podinfo.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "podinfo.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}
"#,
        ),
        file(
            "templates/serviceaccount.yaml",
            r#"{{- if .Values.serviceAccount.enabled }}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "podinfo.fullname" . }}
  labels:
    {{- include "podinfo.labels" . | nindent 4 }}
{{- end }}
"#,
        ),
        file(
            "templates/service.yaml",
            r#"apiVersion: v1
kind: Service
metadata:
  name: {{ include "podinfo.fullname" . }}
  labels:
    {{- include "podinfo.labels" . | nindent 4 }}
spec:
  type: {{ .Values.service.type }}
  selector:
    {{- include "podinfo.selectorLabels" . | nindent 4 }}
  ports:
    - name: http
      port: {{ .Values.service.httpPort }}
      targetPort: http
      protocol: TCP
    - name: grpc
      port: {{ .Values.service.grpcPort }}
      targetPort: grpc
      protocol: TCP
"#,
        ),
        file(
            "templates/deployment.yaml",
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "podinfo.fullname" . }}
  labels:
    {{- include "podinfo.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicaCount }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 1
  selector:
    matchLabels:
      {{- include "podinfo.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "podinfo.selectorLabels" . | nindent 8 }}
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: "9898"
    spec:
      terminationGracePeriodSeconds: 30
      {{- if .Values.serviceAccount.enabled }}
      serviceAccountName: {{ include "podinfo.fullname" . }}
      {{- end }}
      containers:
        - name: podinfo
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          command:
            - ./podinfo
            - --port=9898
            - --port-metrics=9797
            - --grpc-port=9999
            - --level=info
          env:
            - name: PODINFO_UI_COLOR
              value: {{ .Values.ui.color | quote }}
          ports:
            - name: http
              containerPort: 9898
              protocol: TCP
            - name: grpc
              containerPort: 9999
              protocol: TCP
          readinessProbe:
            exec:
              command: [podcli, check, http, "localhost:9898/readyz"]
            initialDelaySeconds: 1
            periodSeconds: 10
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
"#,
        ),
        file(
            "templates/ingress.yaml",
            r#"{{- if .Values.ingress.enabled }}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ include "podinfo.fullname" . }}
  labels:
    {{- include "podinfo.labels" . | nindent 4 }}
spec:
  {{- with .Values.ingress.className }}
  ingressClassName: {{ . }}
  {{- end }}
  rules:
    - host: {{ include "podinfo.fullname" . }}.local
      http:
        paths:
          - path: {{ .Values.ingress.path }}
            pathType: ImplementationSpecific
            backend:
              service:
                name: {{ include "podinfo.fullname" . }}
                port:
                  number: {{ .Values.service.httpPort }}
{{- end }}
"#,
        ),
    ]
}

/// Package the chart into the served directory and write its index
/// (a relative URL, as `helm repo index` writes it).
fn publish(root: &Path) -> Result<(), String> {
    let p = ferroflux_helm::package::package(chart_files(), 1_700_000_000)
        .map_err(|e| format!("package the bench chart: {}", e.message))?;
    std::fs::write(root.join(&p.file_name), &p.data)
        .map_err(|e| format!("write {}: {e}", p.file_name))?;
    let digest = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(&p.data))
    };
    let index = format!(
        "apiVersion: v1\nentries:\n  {CHART}:\n  - apiVersion: v2\n    name: {CHART}\n    version: {CHART_VERSION}\n    appVersion: {CHART_VERSION}\n    created: \"2024-01-01T00:00:00Z\"\n    digest: {digest}\n    urls:\n    - {}\ngenerated: \"2024-01-01T00:00:00Z\"\n",
        p.file_name
    );
    std::fs::write(root.join("index.yaml"), index).map_err(|e| format!("write index.yaml: {e}"))
}

struct Settings {
    n: usize,
    contenders: Vec<Side>,
    stall: Duration,
    deadline: Duration,
    flux_dir: Option<PathBuf>,
    ferroflux_args: Vec<String>,
}

impl Settings {
    fn from_env() -> Result<Settings, String> {
        let n = env_number("FERROFLUX_BENCH_HELMRELEASES", 100)?;
        let flux_dir = std::env::var_os("FERROFLUX_FLUX_HELM_DIR")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("FERROFLUX_FLUX_DIR")
                    .map(PathBuf::from)
                    .filter(|d| d.join("helm-controller").is_file())
            });
        Ok(Settings {
            n,
            contenders: versus::contenders()?,
            stall: Duration::from_secs(env_number("FERROFLUX_BENCH_STALL_SECS", 120)? as u64),
            deadline: Duration::from_secs(
                env_number("FERROFLUX_BENCH_DEADLINE_SECS", 300 + 2 * n)? as u64,
            ),
            flux_dir,
            ferroflux_args: versus::ferroflux_args(),
        })
    }
}

struct Scale {
    total: Duration,
    created_in: Duration,
    charts_ready: Option<Duration>,
    per_release: Vec<Duration>,
    /// Per process: its name and VmHWM.
    peak_rss_kib: Vec<(String, u64)>,
    cpu_secs: f64,
    /// Helm storage Secrets `status=deployed` in the namespace.
    releases: usize,
    /// Objects labelled `app.kubernetes.io/managed-by=Helm`.
    objects: usize,
    created: usize,
    /// One HelmRelease's Ready message.
    message: String,
}

impl Scale {
    fn peak_rss(&self) -> u64 {
        self.peak_rss_kib.iter().map(|(_, kib)| kib).sum()
    }
}

struct Figures {
    side: Side,
    scale: Result<Scale, String>,
}

struct Bench {
    cluster: Cluster,
    charts: ChartRepo,
    tmp: tempfile::TempDir,
    settings: Settings,
}

impl Bench {
    /// Start a contender's controllers and wait for their /readyz.
    fn start(&self, side: Side) -> Result<Controllers, String> {
        let addr = |port: u16| format!("127.0.0.1:{port}");
        let data = self.tmp.path().join(side.label());
        std::fs::create_dir_all(&data).expect("data dir");
        let selector = format!("bench={}", side.label());
        let mut health = Vec::new();
        let mut children = Vec::new();
        let spawn = |name: &str, bin: &Path, args: &[String], gomemlimit: &str| {
            Spawn {
                kubeconfig: &self.cluster.kubeconfig,
                side,
                name,
                bin,
                args,
                data: &data,
                gomemlimit,
            }
            .spawn()
        };
        match side {
            Side::Flux => {
                let dir = self
                    .settings
                    .flux_dir
                    .as_deref()
                    .ok_or("FERROFLUX_FLUX_HELM_DIR is not set")?;
                let mut flux = |name: &str, extra: &[String], gomemlimit: &str| {
                    let port = free_port();
                    health.push(port);
                    let mut args = versus::flux_common_args(port);
                    args.push(format!("--watch-label-selector={selector}"));
                    args.push("--concurrent=10".to_string());
                    args.extend_from_slice(extra);
                    children.push(spawn(name, &dir.join(name), &args, gomemlimit));
                };
                let storage = free_port();
                std::fs::create_dir_all(data.join("storage")).expect("storage dir");
                // flux-benchmark's limits: source-controller keeps Flux's
                // 1 GiB, helm-controller gets 2 GiB.
                flux(
                    "source-controller",
                    &[
                        format!("--storage-path={}", data.join("storage").display()),
                        format!("--storage-addr={}", addr(storage)),
                        format!("--storage-adv-addr={}", addr(storage)),
                    ],
                    "1073741824",
                );
                flux("helm-controller", &[], "2147483648");
            }
            Side::Ferroflux => {
                let port = free_port();
                health.push(port);
                let mut args = vec![
                    "controller".to_string(),
                    "--kubeconfig".to_string(),
                    self.cluster.kubeconfig.display().to_string(),
                    "--storage-path".to_string(),
                    data.join("store").display().to_string(),
                    format!("--metrics-addr={}", addr(free_port())),
                    format!("--health-addr={}", addr(port)),
                    format!("--receiver-addr={}", addr(free_port())),
                    format!("--storage-addr={}", addr(free_port())),
                    format!("--watch-label-selector={selector}"),
                    "--enable-leader-election=false".to_string(),
                    "--concurrent=10".to_string(),
                ];
                args.extend(self.settings.ferroflux_args.iter().cloned());
                children.push(spawn(
                    "ferroflux",
                    Path::new(env!("CARGO_BIN_EXE_ferroflux")),
                    &args,
                    "",
                ));
            }
        }
        Controllers {
            side,
            children,
            receiver_port: None,
            logs: data.clone(),
        }
        .wait_healthy(&health)
    }

    fn labels(side: Side) -> Value {
        json!({"bench": side.label(), "toolkit.fluxcd.io/tenant": "podinfo"})
    }

    /// The namespace, its ServiceAccount `flux` bound to `admin` and the
    /// chart repository's credentials: created before the clock starts.
    fn tenant(side: Side, ns: &str) -> Vec<Value> {
        let labels = Self::labels(side);
        vec![
            json!({"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": ns, "labels": labels}}),
            json!({"apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": "flux", "namespace": ns, "labels": labels}}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": "podinfo", "namespace": ns, "labels": labels},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
                "subjects": [{"kind": "ServiceAccount", "name": "flux", "namespace": ns}]}),
            json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "chart-auth", "namespace": ns, "labels": labels},
                "stringData": {"username": USER, "password": PASSWORD}}),
        ]
    }

    /// The HelmRepository, as flux-hr-bench's template (with Basic auth).
    fn repository(&self, side: Side, ns: &str) -> Value {
        json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
            "metadata": {"name": "podinfo", "namespace": ns, "labels": Self::labels(side)},
            "spec": {"interval": "12h", "timeout": "2m", "url": self.charts.url(),
                "secretRef": {"name": "chart-auth"}}})
    }

    /// HelmRelease `i`, as flux-hr-bench's template.
    fn release(side: Side, ns: &str, i: usize) -> Value {
        let name = format!("podinfo-{i}");
        json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": name, "namespace": ns, "labels": Self::labels(side)},
            "spec": {
                "releaseName": name,
                "serviceAccountName": "flux",
                "targetNamespace": ns,
                "storageNamespace": ns,
                "interval": "60m",
                "chart": {
                    "metadata": {"labels": {"bench": side.label()}},
                    "spec": {"chart": CHART, "version": CHART_VERSION,
                        "sourceRef": {"kind": "HelmRepository", "name": "podinfo"},
                        "interval": "600m"}},
                "install": {"crds": "Create"},
                "upgrade": {"crds": "CreateReplace"},
                "values": {
                    "replicaCount": 0,
                    "serviceAccount": {"enabled": true},
                    "ingress": {"enabled": true, "className": "nginx"},
                    "resources": {"requests": {"cpu": "1m", "memory": "16Mi"}}}}})
    }

    fn scale(&self, side: Side, controllers: &mut Controllers) -> Result<Scale, String> {
        let ns = namespace(side);
        let tenant = Self::tenant(side, &ns);
        self.cluster.apply_all(&tenant)?;
        let (releases, hr_task) =
            self.cluster
                .watch_board("HelmRelease", "helm.toolkit.fluxcd.io/v2", &ns, side);
        let (charts, chart_task) =
            self.cluster
                .watch_board("HelmChart", "source.toolkit.fluxcd.io/v1", &ns, side);
        let result = self.converge(side, &ns, &releases, &charts, controllers);
        hr_task.abort();
        chart_task.abort();
        let mut scale = result?;
        scale.created += tenant.len();
        let (releases, objects) = self.cluster.rt.block_on(self.installed(&ns))?;
        scale.releases = releases;
        scale.objects = objects;
        Ok(scale)
    }

    fn converge(
        &self,
        side: Side,
        ns: &str,
        releases: &Board,
        charts: &Board,
        controllers: &mut Controllers,
    ) -> Result<Scale, String> {
        let n = self.settings.n;
        let label = side.label();
        let started = Instant::now();
        let client = &self.cluster.client;
        let repository = self.repository(side, ns);
        let created: Vec<Instant> = self.cluster.rt.block_on(async {
            apply(client, &repository).await?;
            futures_util::stream::iter(0..n)
                .map(|i| {
                    let release = Self::release(side, ns, i);
                    async move {
                        let at = Instant::now();
                        apply(client, &release).await?;
                        Ok::<_, String>((i, at))
                    }
                })
                .buffer_unordered(IN_FLIGHT)
                .try_collect::<Vec<_>>()
                .await
                .map(|mut v| {
                    v.sort_by_key(|(i, _)| *i);
                    v.into_iter().map(|(_, at)| at).collect()
                })
        })?;
        let created_in = started.elapsed();
        eprintln!(
            "{label}: a HelmRepository and {n} HelmReleases created in {:.1} s",
            created_in.as_secs_f64()
        );
        let names: Vec<String> = (0..n).map(|i| format!("podinfo-{i}")).collect();
        let reached = versus::await_ready(
            &Awaited {
                plural: "HelmReleases",
                board: releases,
                names: &names,
                created: &created,
                second: ("HelmCharts", charts),
            },
            started,
            controllers,
            self.settings.stall,
            self.settings.deadline,
        )?;
        let message = releases
            .lock()
            .expect("board lock")
            .get("podinfo-0")
            .map(|s| s.message.clone())
            .unwrap_or_default();
        Ok(Scale {
            total: reached.total,
            created_in,
            charts_ready: reached.second_ready,
            per_release: reached.per_object,
            peak_rss_kib: reached.peak_rss_kib,
            cpu_secs: reached.cpu_secs,
            releases: 0,
            objects: 0,
            created: 1 + n,
            message,
        })
    }

    /// The deployed releases in Helm's storage in `ns` and the objects
    /// Helm made there.
    async fn installed(&self, ns: &str) -> Result<(usize, usize), String> {
        let client = &self.cluster.client;
        let releases = api(client, "v1", "Secret", Some(ns))
            .list_metadata(&ListParams::default().labels("owner=helm,status=deployed"))
            .await
            .map_err(|e| format!("list Helm's release Secrets: {e}"))?
            .items
            .len();
        let mut objects = 0;
        for (api_version, kind) in [
            ("v1", "ServiceAccount"),
            ("v1", "Service"),
            ("apps/v1", "Deployment"),
            ("networking.k8s.io/v1", "Ingress"),
        ] {
            objects += api(client, api_version, kind, Some(ns))
                .list_metadata(&ListParams::default().labels("app.kubernetes.io/managed-by=Helm"))
                .await
                .map_err(|e| format!("list {kind}: {e}"))?
                .items
                .len();
        }
        Ok((releases, objects))
    }

    fn run(&self, side: Side) -> Figures {
        eprintln!("{}: start (load {})", side.label(), load_average());
        let failed = |e: String| Figures {
            side,
            scale: Err(e),
        };
        if let Err(e) = versus::install_crds(
            &self.cluster,
            side,
            self.settings.flux_dir.as_deref(),
            &[
                "helmreleases.helm.toolkit.fluxcd.io",
                "helmcharts.source.toolkit.fluxcd.io",
                "helmrepositories.source.toolkit.fluxcd.io",
            ],
            BUILD,
        ) {
            return failed(e);
        }
        let mut controllers = match self.start(side) {
            Ok(c) => c,
            Err(e) => return failed(e),
        };
        let scale = self.scale(side, &mut controllers);
        controllers.stop();
        Figures { side, scale }
    }
}

fn print_table(settings: &Settings, flux_dir: &str, figures: &[Figures]) {
    let n = settings.n;
    println!(
        "versus-flux-helm: {n} HelmReleases + {n} HelmCharts of one HelmRepository (flux-benchmark's flux-hr-bench shape, {PER_RELEASE} objects each), kube-apiserver {} + etcd (RBAC), chart repository on lighttpd (Basic auth); Flux from {flux_dir}; {} CPUs, load average {} at the end",
        std::env::var("FERROFLUX_K8S_VERSION")
            .unwrap_or_else(|_| "(FERROFLUX_KUBE_APISERVER)".into()),
        std::thread::available_parallelism().map_or(0, |p| p.get()),
        load_average()
    );
    let sides: Vec<Side> = figures.iter().map(|f| f.side).collect();
    let mut table = Table::new(&sides);
    let pair = match figures {
        [a, b] => match (&a.scale, &b.scale) {
            (Ok(flux), Ok(ours)) => Some((flux, ours)),
            _ => None,
        },
        _ => None,
    };
    let mut row =
        |what: &str, show: &dyn Fn(&Scale) -> String, cmp: &dyn Fn(&Scale, &Scale) -> String| {
            let cells = figures
                .iter()
                .map(|f| match &f.scale {
                    Ok(s) => show(s),
                    Err(_) => "FAILED (below)".into(),
                })
                .collect();
            let compare = pair.map_or_else(|| "n/a".into(), |(flux, ours)| cmp(flux, ours));
            table.row(what, cells, compare);
        };
    let none = |_: &Scale, _: &Scale| String::new();
    row(
        &format!("objects created -> all {n} HelmReleases Ready"),
        &|s| duration(s.total),
        &|f, o| versus::faster_cell(f.total, o.total),
    );
    row(
        &format!("objects created -> all {n} HelmCharts Ready"),
        &|s| s.charts_ready.map_or_else(|| "n/a".into(), duration),
        &none,
    );
    row(
        &format!("harness: 1 HelmRepository + {n} HelmReleases created ({IN_FLIGHT} in flight)"),
        &|s| duration(s.created_in),
        &none,
    );
    for p in [50.0, 99.0] {
        row(
            &format!("per HelmRelease, created -> Ready, p{p:.0}"),
            &|s| versus::percentile_cell(&s.per_release, p),
            &none,
        );
    }
    row(
        "peak resident memory (VmHWM, summed per process)",
        &|s| versus::memory_cell(&s.peak_rss_kib),
        &|f, o| versus::memory_share_cell(f.peak_rss(), o.peak_rss()),
    );
    row(
        "CPU seconds (utime + stime) until all Ready",
        &|s| format!("{:.1}", s.cpu_secs),
        &|f, o| format!("{:.2} of Flux's", o.cpu_secs / f.cpu_secs.max(0.001)),
    );
    row(
        "releases deployed (Helm storage Secrets, owner=helm)",
        &|s| format!("{} of {n}", s.releases),
        &none,
    );
    row(
        "objects made by the releases (managed-by=Helm)",
        &|s| format!("{} of {}", s.objects, PER_RELEASE * n),
        &none,
    );
    row(
        "objects created by the harness",
        &|s| s.created.to_string(),
        &none,
    );
    table.print();
    for f in figures {
        match &f.scale {
            Err(e) => println!("{}: FAILED: {e}", f.side.label()),
            Ok(s) => println!("{}: podinfo-0 Ready: {}", f.side.label(), s.message),
        }
    }
}

/// The namespace of a side's objects.
fn namespace(side: Side) -> String {
    format!("{}-helm-benchmark", side.label())
}

impl versus::Turns for Bench {
    type Figures = Figures;

    fn stage(&mut self) -> (&mut Cluster, &Path, &[Side]) {
        (
            &mut self.cluster,
            self.tmp.path(),
            &self.settings.contenders,
        )
    }

    fn namespaces(side: Side) -> Vec<String> {
        vec![namespace(side)]
    }

    fn run_side(&self, side: Side) -> Figures {
        self.run(side)
    }
}

fn main() -> ExitCode {
    if !versus::run_by_cargo_bench() {
        return ExitCode::SUCCESS;
    }
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("versus-flux-helm: {e}");
            return ExitCode::FAILURE;
        }
    };
    if settings.contenders.contains(&Side::Flux) && settings.flux_dir.is_none() {
        println!("versus-flux-helm skipped: FERROFLUX_FLUX_HELM_DIR is not set (run {BUILD})");
        return ExitCode::SUCCESS;
    }
    let Some(charts) = ChartRepo::start(chart_repo::Options {
        basic_auth: Some((USER.to_string(), PASSWORD.to_string())),
        ..Default::default()
    }) else {
        return ExitCode::SUCCESS;
    };
    if let Err(e) = publish(charts.root()) {
        eprintln!("versus-flux-helm: {e}");
        return ExitCode::FAILURE;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let Some(cluster) = Cluster::start(tmp.path()) else {
        return ExitCode::SUCCESS;
    };
    let mut bench = Bench {
        cluster,
        charts,
        tmp,
        settings,
    };
    let figures = versus::in_turn(&mut bench);
    let flux_dir = bench
        .settings
        .flux_dir
        .as_deref()
        .map_or_else(|| "(not used)".into(), |d| d.display().to_string());
    print_table(&bench.settings, &flux_dir, &figures);
    let Bench { cluster, tmp, .. } = bench;
    drop(cluster);
    if std::env::var_os("FERROFLUX_BENCH_KEEP").is_some() {
        println!(
            "versus-flux-helm: logs and data kept in {}",
            tmp.keep().display()
        );
    }
    if figures.iter().all(|f| f.scale.is_ok()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
