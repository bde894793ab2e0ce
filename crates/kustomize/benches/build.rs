//! Engine figures for `kustomize build` (no process start, files in memory):
//! a trivial overlay, and trees of 1,000 and 4,000 resources under a base
//! and an overlay with a namespace, a prefix, labels, an image and patches
//! (strategic merge on every Deployment, JSON on every ConfigMap).
//! `cargo bench -p ferroflux-kustomize --bench build` prints one line per
//! tree: resources, best and median of the runs, output bytes.

use std::path::Path;
use std::time::{Duration, Instant};

use ferroflux_kustomize::{MemFs, Options, build_yaml};

/// A strategic merge patch on every Deployment (a container merged by
/// name, an env var added), a JSON patch on every ConfigMap, and one
/// patch naming its own target.
const PATCHES: &str = r#"patches:
- target:
    kind: Deployment
  patch: |-
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: any
    spec:
      template:
        spec:
          containers:
          - name: c
            env:
            - name: STAGE
              value: prod
            resources:
              limits:
                memory: 128Mi
- target:
    kind: ConfigMap
  patch: '[{"op": "add", "path": "/data/stage", "value": "prod"}]'
- patch: |-
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: app0
    spec:
      replicas: 3
"#;

fn tree(pairs: usize) -> MemFs {
    let mut fs = MemFs::new();
    let mut base = String::new();
    for i in 0..pairs {
        base.push_str(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm{i}\ndata:\n  k: v{i}\n\
             ---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app{i}\nspec:\n  \
             selector:\n    matchLabels:\n      app: app{i}\n  template:\n    metadata:\n      \
             labels:\n        app: app{i}\n    spec:\n      containers:\n      - name: c\n        \
             image: nginx:1.25\n        envFrom:\n        - configMapRef:\n            name: cm{i}\n"
        ));
    }
    fs.add("/b/base/r.yaml", base);
    fs.add("/b/base/kustomization.yaml", "resources:\n- r.yaml\n");
    fs.add(
        "/b/overlay/kustomization.yaml",
        "resources:\n- ../base\nnamePrefix: p-\nnamespace: prod\ncommonLabels:\n  team: a\n\
         images:\n- name: nginx\n  newTag: \"1.26\"\n{PATCHES}"
            .replace("{PATCHES}", PATCHES),
    );
    fs
}

fn measure(name: &str, fs: &MemFs, runs: usize) {
    let mut times: Vec<Duration> = Vec::with_capacity(runs);
    let mut bytes = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let out =
            build_yaml(fs, Path::new("/b/overlay"), &Options::default()).expect("the tree builds");
        times.push(start.elapsed());
        bytes = out.len();
    }
    times.sort();
    println!(
        "{name}: best {:.1} ms, median {:.1} ms over {runs} runs, {bytes} bytes out",
        times[0].as_secs_f64() * 1e3,
        times[runs / 2].as_secs_f64() * 1e3,
    );
}

fn main() {
    measure("trivial overlay (2 resources)", &tree(1), 50);
    measure("1,000 resources", &tree(500), 10);
    measure("4,000 resources", &tree(2000), 5);
}
