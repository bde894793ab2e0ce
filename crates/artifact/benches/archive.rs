//! Archiving a repository-sized tree as Flux's tar.gz (what every new
//! GitRepository revision costs): 1,000 YAML files of 2 KiB in 50
//! directories, plus a `.git` directory the walk skips; with Flux's
//! default ignore rules, to a sink and to storage (temp file, digest,
//! rename).
//!
//!   cargo bench -p ferroflux-artifact --bench archive

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use ferroflux_artifact::{Limits, Retention, Storage, archive};
use ferroflux_kustomize::flux::ignore::Matcher;
use ferroflux_kustomize::fs::DiskFs;

fn tree(root: &Path) {
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n".to_string()
        + &"  key: value-value-value-value\n".repeat(70);
    for d in 0..50 {
        let dir = root.join(format!("apps/app-{d:02}"));
        std::fs::create_dir_all(&dir).expect("mkdir");
        for f in 0..20 {
            std::fs::write(dir.join(format!("res-{f:02}.yaml")), &yaml).expect("write");
        }
    }
    let objects = root.join(".git/objects/aa");
    std::fs::create_dir_all(&objects).expect("mkdir");
    for i in 0..500 {
        std::fs::write(objects.join(format!("{i:038}")), "x").expect("write");
    }
}

fn bench(c: &mut Criterion) {
    let t = tempfile::tempdir().expect("tempdir");
    let src = t.path().join("repo");
    tree(&src);
    let fs = DiskFs::new(&src).expect("fs");
    let matcher = Matcher::for_artifact(&fs, &src, None);
    let mut g = c.benchmark_group("archive");
    g.sample_size(20);
    g.bench_function("tar.gz 1000 files to a sink", |b| {
        b.iter(|| {
            archive::write_tar_gz(&src, Some(&matcher), &Limits::default(), std::io::sink())
                .expect("archive")
        })
    });
    let storage =
        Storage::new(&t.path().join("data"), "localhost", Retention::default()).expect("storage");
    g.bench_function("store 1000 files (ignore rules, digest, rename)", |b| {
        b.iter(|| {
            black_box(
                storage
                    .archive(
                        "gitrepository/ns/repo/a.tar.gz",
                        &src,
                        None,
                        &Limits::default(),
                    )
                    .expect("store"),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
