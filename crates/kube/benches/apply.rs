//! Figures of the server-side apply on a real kube-apiserver (a control
//! plane of its own, from the testkit): N objects (a Namespace, N/2
//! ConfigMaps, N/2 Deployments; `FERROFLUX_BENCH_OBJECTS`, default 500)
//! created, re-applied unchanged (dry-runs only), one changed, diffed,
//! waited for, and half of them pruned. Prints one line per figure.
//!
//! `source .ci/setup.d/40-control-plane.sh; cargo bench -p ferroflux-kube --bench apply`

use std::time::{Duration, Instant};

use ferroflux_kube::apply::{ApplyOptions, DeleteOptions, DiffOptions, ResourceManager};
use ferroflux_kube::inventory::{self, OWNER_NAME_LABEL, OWNER_NAMESPACE_LABEL, Owner};
use ferroflux_testkit::control_plane::ControlPlane;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::{Value, json};

fn objects(ns: &str, n: usize, level: &str) -> Vec<Value> {
    let labels = json!({OWNER_NAME_LABEL: "bench", OWNER_NAMESPACE_LABEL: "flux-system"});
    let mut out = vec![json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": ns, "labels": labels}})];
    for i in 0..n / 2 {
        out.push(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": format!("cm-{i}"), "namespace": ns, "labels": labels},
            "data": {"level": if i == 0 { level } else { "info" }}}));
        out.push(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": format!("app-{i}"), "namespace": ns, "labels": labels},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": format!("app-{i}")}},
                "template": {"metadata": {"labels": {"app": format!("app-{i}")}},
                    "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}}}));
    }
    out
}

fn report(what: &str, n: usize, took: Duration) {
    let per = took.as_secs_f64() * 1000.0 / n.max(1) as f64;
    println!(
        "{what:<32} {n:>5} objects {:>9.1} ms  {per:>6.2} ms/object",
        took.as_secs_f64() * 1000.0
    );
}

fn main() {
    let n: usize = std::env::var("FERROFLUX_BENCH_OBJECTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let Some(cp) = ControlPlane::for_tests() else {
        eprintln!("apply bench: no control plane binaries, skipped");
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
        let rm = ResourceManager::new(Client::try_from(config).expect("client"));
        let opts = ApplyOptions::default();
        let ns = "bench";
        let count = objects(ns, n, "info").len();

        let t = Instant::now();
        let created = rm
            .apply_all_staged(objects(ns, n, "info"), &opts)
            .await
            .expect("create");
        report("apply, all created", count, t.elapsed());

        let t = Instant::now();
        rm.apply_all_staged(objects(ns, n, "info"), &opts)
            .await
            .expect("re-apply");
        report("re-apply, all unchanged", count, t.elapsed());

        let t = Instant::now();
        let changed = rm
            .apply_all_staged(objects(ns, n, "debug"), &opts)
            .await
            .expect("change");
        report("apply, one configured", count, t.elapsed());
        assert_eq!(
            changed.changes().lines().count(),
            1,
            "{}",
            changed.changes()
        );

        let t = Instant::now();
        let diff = rm
            .diff(objects(ns, n, "info"), &DiffOptions::default())
            .await;
        report("diff, one drifted", count, t.elapsed());
        assert!(diff.errors.is_empty() && diff.changed());

        let configmaps: Vec<_> = created
            .objects()
            .into_iter()
            .filter(|o| o.meta.kind == "ConfigMap")
            .collect();
        let t = Instant::now();
        rm.wait(&configmaps, &Default::default())
            .await
            .expect("wait");
        report("wait, ConfigMaps Current", configmaps.len(), t.elapsed());

        let old = created.to_inventory();
        let kept = rm
            .apply_all_staged(objects(ns, n / 2, "debug"), &opts)
            .await
            .expect("apply");
        let stale = inventory::stale(&old, &kept.to_inventory()).expect("diff");
        let del = DeleteOptions {
            owner: Some(Owner::new("bench", "flux-system")),
            ..DeleteOptions::default()
        };
        let t = Instant::now();
        rm.delete(&stale, &del).await.expect("prune");
        report("prune", stale.len(), t.elapsed());
    });
}
