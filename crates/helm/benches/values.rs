//! Chart loading and values preparation on a chart of ingress-nginx's
//! shape (40 templates, a subchart with globals and import-values, a
//! values.yaml of ~1,500 lines), and `--set` parsing: the part of `helm
//! template` before rendering, for issue 18's "≥5× faster than helm".

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ferroflux_helm::chart::{File, load_files};
use ferroflux_helm::strvals;
use ferroflux_helm::values::{Options, prepare};
use serde_json::Map;

fn file(name: &str, data: String) -> File {
    File {
        name: name.to_string(),
        data: data.into_bytes(),
    }
}

fn chart_files() -> Vec<File> {
    let mut values =
        String::from("global:\n  image:\n    registry: r.example\n  labels: {team: a}\n");
    for i in 0..150 {
        values.push_str(&format!(
            "component{i}:\n  enabled: yes\n  replicas: {i}\n  image:\n    repository: repo/{i}\n    tag: \"v1.{i}.0\"\n  resources:\n    limits: {{cpu: 100m, memory: 128Mi}}\n  extra: ~\n  list: [a, b, {i}]\n"
        ));
    }
    let mut files = vec![
        file(
            "Chart.yaml",
            "apiVersion: v2\nname: big\nversion: 4.11.0\nappVersion: 1.11.0\ndependencies:\n- name: backend\n  version: '>=1.0.0'\n  condition: backend.enabled\n  import-values:\n  - child: exported\n    parent: fromBackend\n".to_string(),
        ),
        file("values.yaml", values),
        file("charts/backend/Chart.yaml", "apiVersion: v2\nname: backend\nversion: 1.2.0\n".to_string()),
        file(
            "charts/backend/values.yaml",
            "global:\n  image: {pullPolicy: IfNotPresent}\nexported: {a: 1, b: 2}\nenabled: true\n".to_string(),
        ),
    ];
    for i in 0..40 {
        files.push(file(
            &format!("templates/t{i}.yaml"),
            format!("{{{{ .Values.component{i}.replicas }}}}\n"),
        ));
    }
    files
}

fn bench(c: &mut Criterion) {
    let files = chart_files();
    c.bench_function(
        "load_files (40 templates, subchart, 1,500-line values)",
        |b| b.iter(|| black_box(load_files(black_box(files.clone())).expect("loads"))),
    );
    let chart = load_files(files).expect("loads");
    let opts = Options {
        set: vec!["component1.replicas=3,global.labels.env=prod,component2.list[5]=x".into()],
        set_string: vec!["component3.image.tag=1.0".into()],
        ..Options::default()
    };
    c.bench_function("Options::merge + prepare (dependencies, coalesce)", |b| {
        b.iter(|| {
            let user = opts.merge(&mut |_| Err(String::new())).expect("flags");
            black_box(prepare(black_box(chart.clone()), user).expect("prepares"))
        })
    });
    let set = (0..200)
        .map(|i| format!("a.b{i}.c[{i}]=v{i}"))
        .collect::<Vec<_>>()
        .join(",");
    c.bench_function("--set with 200 pairs", |b| {
        b.iter(|| {
            let mut m = Map::new();
            strvals::parse_into(black_box(&set), &mut m).expect("parses");
            black_box(m)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
