//! Figures for Helm's serialisers as templates call them: `toYaml`,
//! `toYamlPretty`, `toToml` and `toJson` of a values tree the size of
//! ingress-nginx's (about 700 keys, 40 KB of YAML), each executed 200
//! times in one template by our engine; and, when `$FERROFLUX_HELM` is
//! set, the same chart through `helm template` in the same run (its
//! process start measured on an empty chart and subtracted).
//! `cargo bench -p ferroflux-helm --bench funcs` prints one line per
//! function: calls, best and median of the runs, per call, output bytes.

use std::path::Path;
use std::process::Command;
use std::rc::Rc;
use std::time::{Duration, Instant};

use ferroflux_helm::funcs::{self, TemplateLookup};
use ferroflux_template::{Set, Value};

const CALLS: usize = 200;
const RUNS: usize = 7;

/// A values tree shaped like a big chart's: nested maps of strings,
/// numbers, booleans, lists of maps, long text that folds.
fn values() -> serde_json::Value {
    let mut root = serde_json::Map::new();
    for c in 0..12 {
        let mut comp = serde_json::Map::new();
        comp.insert("enabled".into(), (c % 2 == 0).into());
        comp.insert("replicaCount".into(), serde_json::json!(c as f64 + 1.0));
        comp.insert(
            "image".into(),
            serde_json::json!({"registry": "registry.k8s.io", "image": format!("ingress-nginx/c{c}"),
                "tag": "v1.12.1", "digest": "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                "pullPolicy": "IfNotPresent"}),
        );
        let mut config = serde_json::Map::new();
        for k in 0..40 {
            config.insert(
                format!("option-{k}"),
                serde_json::json!(format!("value {k} with some words that make the line long enough to fold past eighty columns")),
            );
        }
        comp.insert("config".into(), config.into());
        comp.insert(
            "tolerations".into(),
            serde_json::json!([{"key": "node-role", "operator": "Exists", "effect": "NoSchedule"},
                               {"key": "dedicated", "operator": "Equal", "value": "ingress", "effect": "NoExecute"}]),
        );
        comp.insert(
            "resources".into(),
            serde_json::json!({"requests": {"cpu": "100m", "memory": "90Mi"}, "limits": {"memory": "1Gi"}}),
        );
        comp.insert(
            "script".into(),
            "#!/bin/sh\nset -e\necho start\nexec nginx -g 'daemon off;'\n".into(),
        );
        root.insert(format!("component{c}"), comp.into());
    }
    serde_json::Value::Object(root)
}

fn template(func: &str) -> String {
    format!("{{{{- range until {CALLS} }}}}\n# {{{{ {func} $.Values | len }}}}\n{{{{- end }}}}\n")
}

fn time(mut f: impl FnMut()) -> (Duration, Duration) {
    let mut runs: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    runs.sort();
    (runs[0], runs[RUNS / 2])
}

fn helm_run(helm: &Path, chart: &Path) -> Duration {
    let start = Instant::now();
    let out = Command::new(helm)
        .args(["template", "r"])
        .arg(chart)
        .env("HOME", chart.parent().expect("parent"))
        .output()
        .expect("run helm");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    start.elapsed()
}

fn write_chart(dir: &Path, template: &str, values: &str) {
    std::fs::create_dir_all(dir.join("templates")).expect("mkdir");
    std::fs::write(
        dir.join("Chart.yaml"),
        "apiVersion: v2\nname: b\nversion: 0.1.0\n",
    )
    .expect("chart");
    std::fs::write(dir.join("templates/t.yaml"), template).expect("template");
    std::fs::write(dir.join("values.yaml"), values).expect("values");
}

fn main() {
    let tree = values();
    let yaml = funcs::to_yaml(&tree).expect("yaml");
    let dot = Value::dict(vec![("Values".to_string(), Value::from_json(&tree))]);
    let helm = std::env::var_os("FERROFLUX_HELM").map(std::path::PathBuf::from);
    let dir = tempfile::tempdir().expect("tempdir");
    let baseline = helm.as_ref().map(|h| {
        let empty = dir.path().join("empty");
        write_chart(&empty, "# nothing\n", "");
        (0..RUNS).map(|_| helm_run(h, &empty)).min().expect("runs")
    });
    println!(
        "values: {} bytes of YAML; {CALLS} calls per run, best/median of {RUNS} runs",
        yaml.len()
    );
    for func in ["toYaml", "toYamlPretty", "toToml", "toJson"] {
        let mut set = Set::helm(funcs::helm_funcs(Rc::new(TemplateLookup)));
        set.parse("b/templates/t.yaml", &template(func))
            .expect("parse");
        let mut out = String::new();
        let (best, median) =
            time(|| out = set.execute("b/templates/t.yaml", &dot).expect("execute"));
        let bytes: usize = out
            .lines()
            .filter_map(|l| l.strip_prefix("# "))
            .filter_map(|n| n.parse::<usize>().ok())
            .next()
            .unwrap_or(0);
        let mut line = format!(
            "{func:13} ours: best {best:>10.2?} median {median:>10.2?} ({:>8.2?}/call, {bytes} bytes each)",
            best / CALLS as u32
        );
        if let (Some(h), Some(base)) = (&helm, baseline) {
            let chart = dir.path().join(func);
            write_chart(&chart, &template(func), &yaml);
            let best_helm = (0..RUNS).map(|_| helm_run(h, &chart)).min().expect("runs");
            let net = best_helm.saturating_sub(base);
            line.push_str(&format!(
                "; helm: {best_helm:.2?} - {base:.2?} start = {net:.2?} ({:.1}x ours)",
                net.as_secs_f64() / best.as_secs_f64()
            ));
        }
        println!("{line}");
    }
}
