//! `ferroflux validate` over a generated repository of 2,000 manifests
//! (target: under 1 s).

use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};

fn repository(n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for i in 0..n {
        let sub = dir.path().join(format!("apps/app-{}", i / 50));
        std::fs::create_dir_all(&sub).expect("mkdir");
        let text = match i % 4 {
            0 => format!(
                "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: app-{i}\n  namespace: flux-system\nspec:\n  image: ghcr.io/org/app-{i}\n  interval: 5m0s\n"
            ),
            1 => format!(
                "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: app-{i}\n  namespace: flux-system\nspec:\n  imageRepositoryRef:\n    name: app-{}\n  filterTags:\n    pattern: '^main-(?P<v>[0-9]+\\.[0-9]+\\.[0-9]+)$'\n    extract: '$v'\n  policy:\n    semver:\n      range: '>=1.0.0 <2.0.0'\n",
                i - 1
            ),
            2 => format!(
                "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app-{i}\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./apps/app-{i}\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"
            ),
            _ => format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{i}\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: ghcr.io/org/app:1.0.0 # {{\"$imagepolicy\": \"flux-system:app-{i}\"}}\n"
            ),
        };
        std::fs::write(sub.join(format!("m{i}.yaml")), text).expect("write");
    }
    dir
}

fn bench(c: &mut Criterion) {
    let dir = repository(2_000);
    let paths = vec![PathBuf::from(dir.path())];
    let report = ferroflux_validate::validate_paths(&paths);
    assert_eq!(report.objects, 2_000);
    assert!(!report.has_errors(), "{:?}", report.findings.first());
    let mut group = c.benchmark_group("validate");
    group.sample_size(10);
    group.bench_function("2000 manifests", |b| {
        b.iter(|| ferroflux_validate::validate_paths(&paths))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
