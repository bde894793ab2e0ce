//! A HelmRepository's work on a large index (200 charts × 50 versions,
//! ~10,000 entries in `helm repo index`'s shape, ~4 MB): loaded as
//! source-controller loads it, written as its JSON artifact, a HelmChart's
//! version picked; and a HelmChart build (values files merged, packaged).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ferroflux_helm::chart::File;
use ferroflux_helm::package::{self, BuildOptions};
use ferroflux_helm::repo::Index;

fn big_index() -> String {
    let mut s = String::from("apiVersion: v1\nentries:\n");
    for c in 0..200 {
        s.push_str(&format!("  chart-{c}:\n"));
        for v in 0..50 {
            s.push_str(&format!(
                "  - annotations:\n      category: Infrastructure\n    apiVersion: v2\n    appVersion: 1.{v}.0\n    created: \"2024-05-{:02}T10:11:12.123456789Z\"\n    dependencies:\n    - name: common\n      repository: oci://registry-1.docker.io/bitnamicharts\n      tags:\n      - bitnami-common\n      version: 2.x.x\n    description: Chart {c} packaged for the benchmark, a description of usual length.\n    digest: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n    home: https://example.com/charts/{c}\n    keywords:\n    - one\n    - two\n    maintainers:\n    - name: Team\n      url: https://example.com/team\n    name: chart-{c}\n    sources:\n    - https://github.com/example/charts/tree/main/chart-{c}\n    urls:\n    - https://charts.example.com/chart-{c}-{}.{v}.0.tgz\n    version: {}.{v}.0\n",
                v % 28 + 1,
                v % 7,
                v % 7
            ));
        }
    }
    s.push_str("generated: \"2024-06-01T00:00:00Z\"\n");
    s
}

fn bench(c: &mut Criterion) {
    let raw = big_index();
    eprintln!("index: {} bytes", raw.len());
    c.bench_function("repo/load_10k_versions", |b| {
        b.iter(|| Index::load(black_box(raw.as_bytes())).expect("loads"))
    });
    let index = Index::load(raw.as_bytes()).expect("loads");
    c.bench_function("repo/artifact_json_10k_versions", |b| {
        b.iter(|| black_box(&index).to_json())
    });
    c.bench_function("repo/get_range", |b| {
        b.iter(|| {
            black_box(&index)
                .get("chart-100", ">=3.0.0 <6.0.0")
                .expect("picks")
                .version()
                .len()
        })
    });
    let mut files = vec![
        File {
            name: "Chart.yaml".into(),
            data: b"apiVersion: v2\nname: app\nversion: 1.2.3\n".to_vec(),
        },
        File {
            name: "values.yaml".into(),
            data: (0..300)
                .map(|i| format!("key{i}:\n  enabled: true\n  list: [a, b, {i}]\n"))
                .collect::<String>()
                .into_bytes(),
        },
        File {
            name: "prod.yaml".into(),
            data: b"key1: {enabled: false}\n".to_vec(),
        },
    ];
    for i in 0..40 {
        files.push(File {
            name: format!("templates/t{i}.yaml"),
            data: format!("kind: ConfigMap\nmetadata:\n  name: t{i}\ndata:\n  v: {{{{ .Values.key{i}.enabled | quote }}}}\n").repeat(20).into_bytes(),
        });
    }
    let opts = BuildOptions {
        values_files: vec!["values.yaml".into(), "prod.yaml".into()],
        ignore_missing_values_files: false,
        version_metadata: "abcdef123456.2".into(),
        mtime: 1_700_000_000,
    };
    c.bench_function("package/build_40_templates_values_merged", |b| {
        b.iter(|| package::build(black_box(files.clone()), &opts).expect("builds"))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
