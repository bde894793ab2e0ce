//! Performance targets of issue 3: 100,000 tags with a filterTags pattern,
//! extract and a semver range under 50 ms; 2,000,000 tags without a filter
//! under 1 s.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ferroflux_policy::{Choice, Order, Policy, TagFilter};

/// A registry-like mix: prefixed releases, prereleases, junk.
fn tags(n: usize) -> Vec<String> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..n)
        .map(|i| {
            let r = next();
            let (a, b, c) = (r % 20, (r >> 8) % 50, (r >> 16) % 100);
            match i % 10 {
                0 => format!("sha-{:012x}", r >> 12),
                1 => "latest".to_owned(),
                2 => format!("api-{a}.{b}.{c}"),
                3 => format!("{a}.{b}.{c}-rc.{}", (r >> 24) % 10),
                4 => format!("{a}.0{b}.{c}"),
                _ => format!("{a}.{b}.{c}"),
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let filtered = Policy::new(
        Choice::Semver {
            range: ">=1.0.0 <19.0.0".to_owned(),
        },
        Some(TagFilter {
            pattern: r"^(?:api-)?(?P<version>\d+\.\d+\.\d+.*)$".to_owned(),
            extract: "$version".to_owned(),
        }),
    )
    .expect("valid policy");
    let small = tags(100_000);
    c.bench_function("select 100k tags, pattern+extract+semver", |b| {
        b.iter(|| black_box(filtered.select(black_box(&small))))
    });

    let big = tags(2_000_000);
    let mut group = c.benchmark_group("select 2M tags, no filter");
    group.sample_size(10);
    let plain = Policy::new(
        Choice::Semver {
            range: ">=1.0.0".to_owned(),
        },
        None,
    )
    .expect("valid policy");
    group.bench_function("semver", |b| {
        b.iter(|| black_box(plain.select(black_box(&big))))
    });
    let alpha = Policy::new(Choice::Alphabetical { order: Order::Asc }, None).expect("valid");
    group.bench_function("alphabetical", |b| {
        b.iter(|| black_box(alpha.select(black_box(&big))))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
