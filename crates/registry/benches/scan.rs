//! Tags scanned per second from the fake registry of ferroflux-testkit:
//! 10,000 tags in pages of 1,000 (Link pagination) and of 100, plain HTTP on
//! loopback, no rate limit, and once with a Bearer token (cached).

use std::collections::BTreeMap;

use criterion::{Criterion, Throughput};
use ferroflux_registry::{Auth, Client, ImageName, Options};
use ferroflux_testkit::fake_registry::{Bearer, FakeRegistry, Options as FakeOptions};

const TAGS: usize = 10_000;

fn scan(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let tags: Vec<String> = (0..TAGS)
        .map(|i| format!("1.{}.{}", i / 100, i % 100))
        .collect();
    let mut group = c.benchmark_group("list_tags");
    group.throughput(Throughput::Elements(TAGS as u64));
    group.sample_size(20);
    for (label, max_page, bearer) in [
        ("10k tags, pages of 1000", 1000, false),
        ("10k tags, pages of 100", 100, false),
        ("10k tags, pages of 1000, bearer", 1000, true),
    ] {
        let fake = runtime.block_on(FakeRegistry::start(FakeOptions {
            repositories: BTreeMap::from([("bench/app".to_owned(), tags.clone())]),
            max_page,
            bearer: bearer.then_some(Bearer {
                credentials: None,
                expires_in: 3600,
            }),
            ..FakeOptions::default()
        }));
        let client = Client::new(Options {
            rate_limit: 0,
            ..Options::default()
        })
        .expect("client");
        let image = ImageName::parse(&fake.image("bench/app"), true).expect("image");
        group.bench_function(label, |b| {
            b.iter(|| {
                let got = runtime
                    .block_on(client.list_tags(&image, &Auth::Anonymous))
                    .expect("scan");
                assert_eq!(got.len(), TAGS);
            })
        });
    }
    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    scan(&mut c);
    c.final_summary();
}
