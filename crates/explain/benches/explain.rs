//! How long one `explain` takes: the seed-000-like fixture with its six
//! tags, and the same repository against 10,000 tags (a busy registry).

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use ferroflux_explain::{Evidence, Options, TagsFile};

fn bench(c: &mut Criterion) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/whole-pending/input");
    let options = Options {
        repo: repo.clone(),
        paths: Vec::new(),
    };
    let target = "apps/stage/deployment.yaml:11";
    let small = TagsFile::read(&repo.join("tags.txt")).expect("tags file");
    let big = TagsFile {
        path: "generated".into(),
        tags: (0..10_000)
            .map(|i| match i % 4 {
                0 => format!("{}.{}.{}", i / 400, (i / 20) % 20, i % 20),
                1 => format!("api-{}.{}.{}", i / 400, (i / 20) % 20, i % 20),
                2 => format!("main-{i:07x}"),
                _ => format!("{}.{}.{}-rc.{}", i / 400, (i / 20) % 20, i % 20, i % 3),
            })
            .collect(),
    };
    for (name, tags) in [("explain/6 tags", &small), ("explain/10k tags", &big)] {
        let evidence = Evidence {
            state: None,
            tags_file: Some(tags),
            live: None,
        };
        c.bench_function(name, |b| {
            b.iter(|| {
                let report =
                    ferroflux_explain::explain(&options, target, &evidence).expect("explained");
                assert!(report.is_whole());
                report
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
