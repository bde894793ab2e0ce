//! Figures of Helm's actions on a real kube-apiserver (a control plane of
//! its own, from the testkit): N releases (`FERROFLUX_BENCH_RELEASES`,
//! default 50) of a small chart (a ConfigMap, a Secret, a Service; kstatus
//! wait) installed 4 at a time, upgraded with new values, uninstalled;
//! the discovery of the capabilities alone; and, when `$FERROFLUX_HELM`
//! is a built helm, the same installs by `helm install --wait` one after
//! the other for comparison. Prints one line per figure.
//!
//! `source .ci/setup.d/40-control-plane.sh; source .ci/setup.d/56-helm.sh;
//! cargo bench -p ferroflux-kube --bench helm`

use std::time::{Duration, Instant};

use ferroflux_helm::action::{Common, CrdPolicy, Install, ServerSide, Uninstall, Upgrade};
use ferroflux_helm::chart::{self, Chart, File};
use ferroflux_kube::helm::Helm;
use ferroflux_testkit::control_plane::ControlPlane;
use futures_util::StreamExt;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::{Map, Value, json};

const FILES: &[(&str, &str)] = &[
    (
        "Chart.yaml",
        "apiVersion: v2\nname: bench\nversion: 1.0.0\n",
    ),
    ("values.yaml", "level: info\n"),
    (
        "templates/all.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  level: {{ .Values.level }}\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}\nstringData:\n  token: {{ .Release.Name | sha256sum }}\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  ports:\n  - port: 80\n  selector:\n    app: {{ .Release.Name }}\n",
    ),
];

fn chart() -> Chart {
    chart::load_files(
        FILES
            .iter()
            .map(|(n, d)| File {
                name: (*n).to_string(),
                data: d.as_bytes().to_vec(),
            })
            .collect(),
    )
    .expect("chart")
}

fn common(name: &str, ns: &str) -> Common {
    Common {
        release_name: name.to_string(),
        namespace: ns.to_string(),
        timeout: Duration::from_secs(120),
        ..Common::default()
    }
}

fn report(what: &str, n: usize, took: Duration) {
    let per = took.as_secs_f64() * 1000.0 / n.max(1) as f64;
    println!(
        "{what:<40} {n:>5} releases {:>9.1} ms  {per:>7.2} ms/release",
        took.as_secs_f64() * 1000.0
    );
}

async fn install(h: &Helm, name: String, ns: &str) {
    h.install(Install {
        common: common(&name, ns),
        chart: chart(),
        values: Map::new(),
        crds: CrdPolicy::Create,
        create_namespace: false,
        skip_schema_validation: false,
        disable_openapi_validation: false,
        replace: false,
        name_free: false,
        server_side: true,
        force_conflicts: true,
        take_ownership: false,
        description: None,
        labels: Default::default(),
        post_render: None,
    })
    .await
    .expect("install");
}

async fn upgrade(h: &Helm, name: String, ns: &str) {
    let values: Map<String, Value> = json!({"level": "debug"})
        .as_object()
        .cloned()
        .unwrap_or_default();
    h.upgrade(Upgrade {
        common: common(&name, ns),
        chart: chart(),
        values,
        reset_values: false,
        reuse_values: false,
        max_history: 10,
        crds: CrdPolicy::Skip,
        skip_schema_validation: false,
        disable_openapi_validation: false,
        force_replace: false,
        cleanup_on_fail: false,
        server_side: ServerSide::Auto,
        force_conflicts: true,
        take_ownership: false,
        description: None,
        labels: Default::default(),
        post_render: None,
    })
    .await
    .expect("upgrade");
}

fn main() {
    let n: usize = std::env::var("FERROFLUX_BENCH_RELEASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let Some(cp) = ControlPlane::for_tests() else {
        eprintln!("helm bench: no control plane binaries, skipped");
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let config = Config::from_custom_kubeconfig(
            Kubeconfig::read_from(cp.kubeconfig()).expect("kubeconfig"),
            &KubeConfigOptions::default(),
        )
        .await
        .expect("config");
        let client = Client::try_from(config).expect("client");
        let ns = cp.namespace("bench");
        let h = Helm::new(client, &ns);
        let names: Vec<String> = (0..n).map(|i| format!("r{i}")).collect();

        let t = Instant::now();
        for _ in 0..10 {
            h.capabilities().await.expect("capabilities");
        }
        report("capabilities (discovery), x10", 10, t.elapsed());

        let t = Instant::now();
        futures_util::stream::iter(names.iter().map(|r| install(&h, r.clone(), &ns)))
            .buffer_unordered(4)
            .collect::<Vec<()>>()
            .await;
        report("install, 4 at a time", n, t.elapsed());

        let t = Instant::now();
        futures_util::stream::iter(names.iter().map(|r| upgrade(&h, r.clone(), &ns)))
            .buffer_unordered(4)
            .collect::<Vec<()>>()
            .await;
        report("upgrade, 4 at a time", n, t.elapsed());

        let t = Instant::now();
        for r in names.iter().take(10) {
            install(&h, format!("{r}-seq"), &ns).await;
        }
        report("install, one after the other", 10, t.elapsed());

        let t = Instant::now();
        futures_util::stream::iter(names.iter().map(|r| {
            h.uninstall(Uninstall {
                common: common(r, &ns),
                ..Uninstall::default()
            })
        }))
        .buffer_unordered(4)
        .collect::<Vec<_>>()
        .await;
        report("uninstall, 4 at a time", n, t.elapsed());

        let Some(bin) = std::env::var_os("FERROFLUX_HELM").filter(|p| !p.is_empty()) else {
            return;
        };
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, data) in FILES {
            let p = dir.path().join(name);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, data).expect("write");
        }
        let home = tempfile::tempdir().expect("home");
        let t = Instant::now();
        for r in names.iter().take(10) {
            let out = std::process::Command::new(&bin)
                .args(["install", &format!("{r}-helm"), "-n", &ns, "--wait"])
                .arg(dir.path())
                .env_clear()
                .env("HOME", home.path())
                .env("KUBECONFIG", cp.kubeconfig())
                .output()
                .expect("helm");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        report("helm install --wait, one after the other", 10, t.elapsed());
    });
}
