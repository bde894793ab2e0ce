//! Release records that the real helm v4 reads and writes, on the real
//! kube-apiserver: `helm install` stores a release that ours decodes (and
//! whose manifest is byte for byte the one our render makes), and a record
//! ours encodes is listed, shown and read back by `helm list`, `helm
//! history` and `helm get manifest`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use ferroflux_helm::release::{self, Info, Release, Status};
use ferroflux_helm::{RenderOptions, chart};
use ferroflux_kustomize::DiskFs;
use ferroflux_testkit::control_plane::ControlPlane;

fn helm_bin() -> Option<PathBuf> {
    match std::env::var_os("FERROFLUX_HELM") {
        Some(p) if Path::new(&p).is_file() => Some(PathBuf::from(p)),
        _ => {
            ferroflux_testkit::env::skip_or_fail(
                "FERROFLUX_HELM (see .ci/setup.d/56-helm.sh) is not a built helm",
            );
            None
        }
    }
}

fn helm(bin: &Path, cp: &ControlPlane, home: &Path, args: &[&str]) -> String {
    let out = Command::new(bin)
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("KUBECONFIG", cp.kubeconfig())
        .output()
        .expect("run helm");
    assert!(
        out.status.success(),
        "helm {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn t_release() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/charts/t-release")
}

fn render(ns: &str, name: &str) -> (chart::Chart, ferroflux_helm::Release) {
    let fs = DiskFs::new("/").expect("fs");
    let loaded = chart::load_dir(&fs, &t_release()).expect("loads");
    let opts = RenderOptions {
        release_name: name.to_string(),
        namespace: ns.to_string(),
        ..RenderOptions::default()
    };
    let rendered =
        ferroflux_helm::render::render_on_big_stack(loaded.clone(), serde_json::Map::new(), opts)
            .expect("renders");
    (loaded, rendered)
}

#[test]
fn helm_install_writes_a_record_ours_reads() {
    let Some(bin) = helm_bin() else { return };
    let Some(cp) = ControlPlane::shared() else {
        return;
    };
    let ns = cp.namespace("helm-rec");
    let home = tempfile::tempdir().expect("home");
    let chart = t_release();
    helm(
        &bin,
        cp,
        home.path(),
        &["install", "web", chart.to_str().expect("utf-8"), "-n", &ns],
    );
    let (code, body) = cp
        .request(
            "GET",
            &format!(
                "/api/v1/namespaces/{ns}/secrets/{}",
                release::storage_name("web", 1)
            ),
            None,
        )
        .expect("get secret");
    assert_eq!(code, 200, "{body}");
    let secret: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(secret["type"], "helm.sh/release.v1");
    assert_eq!(secret["metadata"]["labels"]["owner"], "helm");
    assert_eq!(secret["metadata"]["labels"]["status"], "deployed");
    let data = secret["data"]["release"].as_str().expect("data.release");
    let once = base64::engine::general_purpose::STANDARD
        .decode(data)
        .expect("the API's base64");
    let record = release::decode(&String::from_utf8(once).expect("base64 text")).expect("decodes");
    assert_eq!(record.name, "web");
    assert_eq!(record.namespace, ns);
    assert_eq!(record.version, 1);
    assert_eq!(record.status, Some(Status::Deployed));
    assert_eq!(record.chart_name, "t-release");
    assert_eq!(record.chart_version, "1.2.3");
    let (_, ours) = render(&ns, "web");
    assert_eq!(
        record.manifest, ours.manifest,
        "helm's stored manifest and ours differ"
    );
    assert_eq!(
        helm(
            &bin,
            cp,
            home.path(),
            &["get", "manifest", "web", "-n", &ns]
        )
        .trim_end(),
        ours.manifest.trim_end()
    );
}

#[test]
fn a_record_ours_writes_is_read_by_helm() {
    let Some(bin) = helm_bin() else { return };
    let Some(cp) = ControlPlane::shared() else {
        return;
    };
    let ns = cp.namespace("helm-ours");
    let home = tempfile::tempdir().expect("home");
    let (loaded, rendered) = render(&ns, "shop");
    let rel = Release {
        name: "shop".into(),
        namespace: ns.clone(),
        version: 1,
        info: Info {
            first_deployed: "2026-12-06T09:00:00.123456789Z".into(),
            last_deployed: "2026-12-06T09:00:00.123456789Z".into(),
            deleted: String::new(),
            description: "Install complete".into(),
            status: Status::Deployed,
            notes: rendered.notes.clone(),
        },
        chart: loaded.clone(),
        config: serde_json::Map::new(),
        chart_values: loaded.values.clone(),
        manifest: rendered.manifest.clone(),
        hooks: Vec::new(),
        apply_method: "ssa".into(),
        labels: BTreeMap::new(),
    };
    let labels: serde_json::Map<String, serde_json::Value> = rel
        .storage_labels()
        .into_iter()
        .map(|(k, v)| (k, serde_json::Value::String(v)))
        .collect();
    let secret = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "helm.sh/release.v1",
        "metadata": {"name": release::storage_name("shop", 1), "labels": labels},
        "data": {
            "release": base64::engine::general_purpose::STANDARD.encode(rel.encode()),
        },
    });
    let (code, body) = cp
        .request(
            "POST",
            &format!("/api/v1/namespaces/{ns}/secrets"),
            Some(&secret),
        )
        .expect("create secret");
    assert_eq!(code, 201, "{body}");
    let list = helm(&bin, cp, home.path(), &["list", "-n", &ns, "-o", "json"]);
    let list: serde_json::Value = serde_json::from_str(&list).expect("helm list json");
    assert_eq!(list[0]["name"], "shop", "{list}");
    assert_eq!(list[0]["status"], "deployed");
    assert_eq!(list[0]["chart"], "t-release-1.2.3");
    assert_eq!(list[0]["app_version"], "4.5");
    assert_eq!(list[0]["revision"], "1");
    let manifest = helm(
        &bin,
        cp,
        home.path(),
        &["get", "manifest", "shop", "-n", &ns],
    );
    assert_eq!(manifest.trim_end(), rendered.manifest.trim_end());
    let history = helm(&bin, cp, home.path(), &["history", "shop", "-n", &ns]);
    assert!(history.contains("Install complete"), "{history}");
    let notes = helm(&bin, cp, home.path(), &["get", "notes", "shop", "-n", &ns]);
    assert!(notes.contains("shop listens on 8080"), "{notes}");
    // The record round-trips through our decoder too.
    let record = release::decode(&rel.encode()).expect("decodes");
    assert_eq!(record.manifest, rendered.manifest);
    assert_eq!(record.status, Some(Status::Deployed));
}

#[test]
fn hostile_records_are_refused_not_crashed_on() {
    assert!(release::decode("not base64!").is_err());
    let plain = base64::engine::general_purpose::STANDARD.encode(b"{\"name\": 1}");
    let record = release::decode(&plain).expect("plain JSON is accepted, as Helm does");
    assert_eq!(record.name, "");
    // A gzip bomb: 80 MiB of zeros compress to about 80 KiB.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut gz, &vec![b' '; 80 << 20]).expect("write");
    let bomb = base64::engine::general_purpose::STANDARD.encode(gz.finish().expect("gzip"));
    let err = release::decode(&bomb).expect_err("refused");
    assert!(err.to_string().contains("larger than"), "{err}");
}
