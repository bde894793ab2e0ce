//! How long `ferroflux install --export` spends generating: the CRDs from
//! the api types (schemars), the version merge, and the YAML stream.

use criterion::{Criterion, criterion_group, criterion_main};
use ferroflux_kube::{InstallOptions, crds, manifests, render_yaml};

fn bench(c: &mut Criterion) {
    c.bench_function("crds", |b| b.iter(|| crds().expect("crds")));
    let opts = InstallOptions::default();
    c.bench_function("install_export", |b| {
        b.iter(|| render_yaml(&manifests(&opts).expect("manifests")).expect("yaml"))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
