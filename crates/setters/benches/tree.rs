//! `apply_tree` over 10,000 YAML files, 1,000 of them with markers
//! (issue 5 target: under 1 s).

use std::fs;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use ferroflux_setters::{LatestRef, Options, Policies, apply_tree};

const FILES: usize = 10_000;
const MARKED_EVERY: usize = 10;

fn deployment(i: usize, marked: bool) -> String {
    let marker = if marked {
        " # {\"$imagepolicy\": \"flux-system:app\"}"
    } else {
        ""
    };
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{i}\n  namespace: team-{t}\n\
         spec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: app-{i}\n  template:\n\
         \x20   metadata:\n      labels:\n        app: app-{i}\n    spec:\n      containers:\n\
         \x20       - name: app\n          image: ghcr.io/org/app:1.0.0{marker}\n\
         \x20         ports:\n            - containerPort: 8080\n          env:\n\
         \x20           - name: MODE\n              value: \"production\"\n",
        t = i % 17
    )
}

fn make_tree(root: &Path) {
    for i in 0..FILES {
        let dir = root.join(format!("apps/group-{}", i / 100));
        fs::create_dir_all(&dir).expect("mkdir");
        fs::write(
            dir.join(format!("app-{i}.yaml")),
            deployment(i, i % MARKED_EVERY == 0),
        )
        .expect("write");
    }
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    make_tree(dir.path());
    let mut policies = Policies::new();
    policies.insert(
        "flux-system",
        "app",
        LatestRef {
            name: "ghcr.io/org/app".into(),
            tag: "1.2.3".into(),
            digest: String::new(),
        },
    );
    let options = Options::default();
    let mut group = c.benchmark_group("apply_tree");
    group.sample_size(10);
    group.bench_function("10k files, 1k marked", |b| {
        b.iter(|| {
            let result = apply_tree(dir.path(), &policies, &options).expect("apply");
            assert_eq!(result.files.len(), FILES / MARKED_EVERY);
            result
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
