//! `cargo bench -p ferroflux --bench versus-kustomize`: `ferroflux kustomize
//! build` against kustomize 5.6.0 (Debian trixie's, `FERROFLUX_KUSTOMIZE`,
//! set by `.ci/setup.d/60-kustomize.sh`), whole processes on the same trees
//! written to disk, in one run:
//!
//! - a trivial overlay (one Deployment, a prefix);
//! - seed 001's production overlay (base with commonLabels, namespace, two
//!   strategic-merge patches from files);
//! - generated trees of 1,000 and 4,000 resources: a base of ConfigMaps and
//!   Deployments that reference them, an overlay with a namespace, a
//!   prefix, labels, an image, a strategic-merge patch on every Deployment
//!   and a JSON 6902 patch.
//!
//! For each tree: whether both print the same bytes, then the median wall
//! time and the peak resident memory (GNU time's `%M`) of each side over a
//! few runs, and the ratio. Goals (issue 15): trivial < 10 ms, 1,000
//! resources < 0.3 s, 4,000 < 1 s, at least 5x faster than kustomize 5.6 at
//! 1,000 and 4,000, and less memory.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().expect("a parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

fn trivial(root: &Path) -> PathBuf {
    write(
        root,
        "base/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    \
         spec:\n      containers:\n      - name: web\n        image: nginx:1.25\n",
    );
    write(
        root,
        "base/kustomization.yaml",
        "resources:\n- deployment.yaml\n",
    );
    write(
        root,
        "overlay/kustomization.yaml",
        "resources:\n- ../base\nnamePrefix: dev-\n",
    );
    root.join("overlay")
}

/// Seed 001's base and production overlay, from the seed manifests.
fn seed_001(root: &Path) -> Option<PathBuf> {
    let seeds = std::env::var_os("FERROFLUX_SEEDS_DIR").map(PathBuf::from)?;
    let m = seeds.join("manifests/001");
    let read = |f: &str| std::fs::read_to_string(m.join(f)).ok();
    write(
        root,
        "apps/base/kustomization.yaml",
        &read("02-base-kustomization.yaml")?,
    );
    write(
        root,
        "apps/base/deployment.yaml",
        &read("03-base-deployment.yaml")?,
    );
    write(
        root,
        "apps/base/service.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web-app\nspec:\n  selector:\n    \
         app: web-app\n  ports:\n  - port: 80\n    targetPort: 8080\n",
    );
    write(
        root,
        "apps/base/hpa.yaml",
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: web-app\n\
         spec:\n  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: web-app\n  \
         minReplicas: 2\n  maxReplicas: 10\n",
    );
    let o = "apps/overlays/production";
    write(
        root,
        &format!("{o}/kustomization.yaml"),
        &read("04-overlay-production-kustomization.yaml")?,
    );
    write(
        root,
        &format!("{o}/deployment-patch.yaml"),
        &read("05-overlay-production-deployment-patch.yaml")?,
    );
    write(
        root,
        &format!("{o}/hpa-patch.yaml"),
        &read("06-overlay-production-hpa-patch.yaml")?,
    );
    Some(root.join(o))
}

/// `n` resources: n/2 ConfigMaps and n/2 Deployments using them.
fn generated(root: &Path, n: usize) -> PathBuf {
    let mut base = String::new();
    for i in 0..n / 2 {
        base.push_str(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm{i}\ndata:\n  k: v{i}\n\
             ---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app{i}\n  labels:\n    \
             tier: web\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: app{i}\n  \
             template:\n    metadata:\n      labels:\n        app: app{i}\n    spec:\n      \
             containers:\n      - name: c\n        image: nginx:1.25\n        env:\n        - name: A\n          \
             value: a\n        envFrom:\n        - configMapRef:\n            name: cm{i}\n"
        ));
    }
    write(root, "base/resources.yaml", &base);
    write(
        root,
        "base/kustomization.yaml",
        "resources:\n- resources.yaml\n",
    );
    write(
        root,
        "overlay/kustomization.yaml",
        "resources:\n- ../base\nnamespace: prod\nnamePrefix: p-\nlabels:\n- pairs:\n    team: a\n  \
         includeSelectors: true\nimages:\n- name: nginx\n  newTag: \"1.26\"\npatches:\n- path: smp.yaml\n  \
         target:\n    kind: Deployment\n- target:\n    kind: Deployment\n    labelSelector: tier=web\n  \
         patch: |-\n    - op: replace\n      path: /spec/replicas\n      value: 3\n",
    );
    write(
        root,
        "overlay/smp.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: any\nspec:\n  template:\n    spec:\n      \
         containers:\n      - name: c\n        env:\n        - name: B\n          value: b\n",
    );
    root.join("overlay")
}

struct Run {
    ok: bool,
    stdout: Vec<u8>,
    stderr: String,
    rss_kib: u64,
}

/// One whole process under GNU time (peak RSS).
fn run(cmd: &[&str], dir: &Path) -> Run {
    let report = tempfile::NamedTempFile::new().expect("temp file");
    let out = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%e %M")
        .arg("-o")
        .arg(report.path())
        .args(cmd)
        .arg(dir)
        .output()
        .expect("GNU time runs (Debian package `time`)");
    let text = std::fs::read_to_string(report.path()).unwrap_or_default();
    let rss_kib: u64 = text
        .lines()
        .last()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Run {
        ok: out.status.success(),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        rss_kib,
    }
}

/// Median wall time (measured here, finer than GNU time's 10 ms) and the
/// largest peak RSS over `runs`.
fn measure(cmd: &[&str], dir: &Path, runs: usize) -> (Duration, u64) {
    let mut walls = Vec::new();
    let mut rss = 0;
    for _ in 0..runs {
        let start = std::time::Instant::now();
        let r = run(cmd, dir);
        walls.push(start.elapsed());
        rss = rss.max(r.rss_kib);
    }
    walls.sort();
    (walls[runs / 2], rss)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let kustomize = std::env::var("FERROFLUX_KUSTOMIZE").unwrap_or_else(|_| {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.tools/trixie/usr/bin/kustomize");
        p.to_string_lossy().into_owned()
    });
    assert!(
        Path::new(&kustomize).exists(),
        "kustomize 5.6 not found at {kustomize}: source .ci/setup.d/60-kustomize.sh"
    );
    let ferroflux = env!("CARGO_BIN_EXE_ferroflux");
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut trees: Vec<(String, Option<PathBuf>, usize)> = vec![
        (
            "trivial overlay".into(),
            Some(trivial(&tmp.path().join("t"))),
            20,
        ),
        (
            "seed 001 production overlay".into(),
            seed_001(&tmp.path().join("s")),
            20,
        ),
    ];
    for n in [1_000, 4_000] {
        trees.push((
            format!("{n} resources"),
            Some(generated(&tmp.path().join(format!("g{n}")), n)),
            5,
        ));
    }
    println!(
        "ferroflux kustomize build vs kustomize 5.6.0 (whole processes, {} cores)",
        cores()
    );
    println!(
        "| tree | same bytes | kustomize 5.6 | ferroflux | faster | RSS kustomize | RSS ferroflux |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (name, dir, runs) in trees {
        let Some(dir) = dir else {
            println!("| {name} | (FERROFLUX_SEEDS_DIR not set) | | | | | |");
            continue;
        };
        let ours_cmd = [ferroflux, "kustomize", "build"];
        let theirs_cmd = [kustomize.as_str(), "build"];
        let ours = run(&ours_cmd, &dir);
        let theirs = run(&theirs_cmd, &dir);
        if !ours.ok || !theirs.ok {
            let why = if ours.ok {
                &theirs.stderr
            } else {
                &ours.stderr
            };
            println!(
                "| {name} | fails ({}): {} | | | | | |",
                if ours.ok { "kustomize" } else { "ferroflux" },
                why.lines().next().unwrap_or_default()
            );
            continue;
        }
        let same = if ours.stdout == theirs.stdout {
            "yes"
        } else {
            "NO"
        };
        let (t_theirs, m_theirs) = measure(&theirs_cmd, &dir, runs);
        let (t_ours, m_ours) = measure(&ours_cmd, &dir, runs);
        println!(
            "| {name} | {same} | {:.1} ms | {:.1} ms | {:.1}x | {:.1} MiB | {:.1} MiB |",
            t_theirs.as_secs_f64() * 1e3,
            t_ours.as_secs_f64() * 1e3,
            t_theirs.as_secs_f64() / t_ours.as_secs_f64(),
            m_theirs as f64 / 1024.0,
            m_ours as f64 / 1024.0,
        );
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
