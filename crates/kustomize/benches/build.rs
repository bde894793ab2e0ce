//! Engine figures for `kustomize build` (no process start, files in memory):
//! a trivial overlay, trees of 1,000 and 4,000 resources under a base
//! and an overlay with a namespace, a prefix, labels, an image and patches
//! (strategic merge on every Deployment, JSON on every ConfigMap), and a
//! base of 1,000 ConfigMap and 1,000 Secret generators (each referred to by
//! a Deployment) whose overlay merges into half of the ConfigMaps (kustomize
//! 5.6 takes about 70 s for that tree).
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

fn generators(n: usize) -> MemFs {
    let mut fs = MemFs::new();
    let mut k = String::from("resources:\n- d.yaml\nconfigMapGenerator:\n");
    for i in 0..n {
        k.push_str(&format!("- name: cm{i}\n  literals:\n  - key=value{i}\n"));
    }
    k.push_str("secretGenerator:\n");
    for i in 0..n {
        k.push_str(&format!("- name: s{i}\n  literals:\n  - pass=p{i}\n"));
    }
    let mut d = String::new();
    for i in 0..n {
        d.push_str(&format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d{i}\nspec:\n  \
             template:\n    spec:\n      containers:\n      - name: c\n        image: nginx\n        \
             envFrom:\n        - configMapRef:\n            name: cm{i}\n        - secretRef:\n            \
             name: s{i}\n"
        ));
    }
    let mut o = String::from(
        "namePrefix: o-\nnamespace: prod\nresources:\n- ../base\nconfigMapGenerator:\n",
    );
    for i in (0..n).step_by(2) {
        o.push_str(&format!(
            "- name: cm{i}\n  behavior: merge\n  literals:\n  - added=yes\n"
        ));
    }
    fs.add("/b/base/kustomization.yaml", k);
    fs.add("/b/base/d.yaml", d);
    fs.add("/b/overlay/kustomization.yaml", o);
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

/// [`tree`] with a var per ConfigMap referenced by its Deployment, a
/// replacement into every Deployment and a component adding an annotation.
fn tree_with_vars(pairs: usize) -> MemFs {
    let mut fs = tree(pairs);
    let mut vars = String::from("vars:\n");
    let mut pod = String::new();
    for i in 0..pairs {
        vars.push_str(&format!(
            "- name: CM{i}\n  objref: {{apiVersion: v1, kind: ConfigMap, name: cm{i}}}\n"
        ));
        pod.push_str(&format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: pod{i}\nspec:\n  containers:\n  \
             - name: c\n    image: busybox\n    args: [\"--cm=$(CM{i})\"]\n"
        ));
    }
    fs.add("/b/base/pods.yaml", pod);
    fs.add(
        "/b/base/kustomization.yaml",
        format!("resources:\n- r.yaml\n- pods.yaml\n{vars}"),
    );
    fs.add(
        "/b/comp/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n\
         commonAnnotations:\n  from: component\n",
    );
    fs.add(
        "/b/overlay/kustomization.yaml",
        "resources:\n- ../base\ncomponents:\n- ../comp\nnamePrefix: p-\nnamespace: prod\n\
         replacements:\n- source: {kind: ConfigMap, name: cm0, fieldPath: data.k}\n  targets:\n  \
         - select: {kind: Deployment}\n    fieldPaths: [\"spec.template.spec.containers.[name=c].image\"]\n    \
         options: {delimiter: \":\", index: 1}\n",
    );
    fs
}

fn main() {
    measure("trivial overlay (2 resources)", &tree(1), 50);
    measure("1,000 resources", &tree(500), 10);
    measure("4,000 resources", &tree(2000), 5);
    measure(
        "1,000 + 500 pods with 500 vars, a replacement, a component",
        &tree_with_vars(500),
        10,
    );
    measure(
        "4,000 + 2,000 pods with 2,000 vars, a replacement, a component",
        &tree_with_vars(2000),
        5,
    );
    measure("1,000 + 1,000 generators, 500 merges", &generators(1000), 5);
}
