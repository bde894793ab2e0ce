//! Figures for `ferroflux build kustomization` without process start (files
//! in memory): the Flux layering, the kustomize build, `postBuild`
//! substitution of every resource and Flux's output, on a tree of 1,000 and
//! 4,000 resources with a `${VAR}` in each; and envsubst alone on one
//! 4,000-resource text. `cargo bench -p ferroflux-kustomize --bench flux`.

use std::path::Path;
use std::time::{Duration, Instant};

use ferroflux_kustomize::MemFs;
use ferroflux_kustomize::flux::{self, BuildOptions, envsubst};

const KS: &str = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  \
                  name: apps\n  namespace: flux-system\nspec:\n  interval: 5m\n  prune: true\n  \
                  sourceRef:\n    kind: GitRepository\n    name: repo\n  targetNamespace: prod\n  \
                  namePrefix: p-\n  postBuild:\n    substitute:\n      REGION: eu-west-1\n      \
                  TAG: \"1.26\"\n";

fn resources(pairs: usize) -> String {
    let mut text = String::new();
    for i in 0..pairs {
        text.push_str(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm{i}\ndata:\n  region: \
             ${{REGION}}\n  zone: ${{ZONE:=a}}\n---\napiVersion: apps/v1\nkind: Deployment\n\
             metadata:\n  name: app{i}\nspec:\n  selector:\n    matchLabels:\n      app: \
             app{i}\n  template:\n    metadata:\n      labels:\n        app: app{i}\n    spec:\n      \
             containers:\n      - name: c\n        image: nginx:${{TAG}}\n        envFrom:\n        \
             - configMapRef:\n            name: cm{i}\n"
        ));
    }
    text
}

fn measure(name: &str, runs: usize, mut f: impl FnMut() -> usize) {
    let mut times: Vec<Duration> = Vec::with_capacity(runs);
    let mut bytes = 0;
    for _ in 0..runs {
        let start = Instant::now();
        bytes = f();
        times.push(start.elapsed());
    }
    times.sort();
    println!(
        "{name}: best {:.1} ms, median {:.1} ms over {runs} runs, {bytes} bytes out",
        times[0].as_secs_f64() * 1e3,
        times[runs / 2].as_secs_f64() * 1e3,
    );
}

fn main() {
    let ks = flux::select(Path::new("ks.yaml"), KS, "apps", "flux-system").expect("selected");
    for (label, pairs, runs) in [("1,000", 500, 10), ("4,000", 2000, 5)] {
        let mut fs = MemFs::new();
        fs.add("/app/r.yaml", resources(pairs));
        measure(
            &format!("flux build, {label} resources (generated kustomization, substitution)"),
            runs,
            || {
                flux::build(&fs, Path::new("/app"), &ks, &BuildOptions::default())
                    .expect("builds")
                    .yaml
                    .len()
            },
        );
    }
    let text = resources(2000);
    let vars = |name: &str| match name {
        "REGION" => ("eu-west-1".to_string(), true),
        "TAG" => ("1.26".to_string(), true),
        _ => (String::new(), false),
    };
    measure("envsubst alone, 4,000 resources in one text", 10, || {
        envsubst::eval(&text, &vars, &envsubst::Limits::default())
            .expect("substitutes")
            .len()
    });
}
