//! Store benchmarks.
//!
//! First the acceptance figure from issue 4: 5,000 images with 2,000,000
//! tags in total written and read back, with resident memory (VmHWM from
//! /proc/self/status) under 100 MiB. Then criterion timings of one image's
//! put and get.

use std::hint::black_box;
use std::time::{Instant, SystemTime};

use criterion::Criterion;
use ferroflux_store::{Options, Store};

const IMAGES: usize = 5_000;
const TAGS_PER_IMAGE: usize = 400;
const BATCH: usize = 50;
const LIMIT_KIB: u64 = 100 * 1024;

fn tags_of(image: usize) -> Vec<String> {
    (0..TAGS_PER_IMAGE)
        .map(|t| format!("v{}.{}.{}-build.{image}", t / 100, t % 100, t * 7 % 13))
        .collect()
}

fn proc_status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn two_million_tags() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bench.redb");
    let store = Store::open(&path, Options::default()).expect("open");
    let now = SystemTime::now();
    let started = Instant::now();
    for first in (0..IMAGES).step_by(BATCH) {
        let names: Vec<String> = (first..first + BATCH)
            .map(|i| format!("registry.example.com/team{}/app{i}", i % 50))
            .collect();
        let lists: Vec<Vec<String>> = (first..first + BATCH).map(tags_of).collect();
        let batch: Vec<(&str, &[String])> = names
            .iter()
            .zip(&lists)
            .map(|(n, t)| (n.as_str(), t.as_slice()))
            .collect();
        store.put_tags_many(&batch, now).expect("put");
    }
    let write = started.elapsed();
    let started = Instant::now();
    let mut total = 0;
    for image in store.images().expect("images") {
        let record = store.get_tags(&image).expect("get").expect("stored");
        total += record.tags.len();
    }
    let read = started.elapsed();
    assert_eq!(total, IMAGES * TAGS_PER_IMAGE);
    let hwm = proc_status_kib("VmHWM:");
    let rss = proc_status_kib("VmRSS:");
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "store: {IMAGES} images, {total} tags: write {write:.2?} ({:.0} tags/s), read back {read:.2?} ({:.0} tags/s), file {:.1} MiB, VmHWM {:.1} MiB, VmRSS {:.1} MiB (limit 100 MiB)",
        total as f64 / write.as_secs_f64(),
        total as f64 / read.as_secs_f64(),
        size as f64 / 1048576.0,
        hwm as f64 / 1024.0,
        rss as f64 / 1024.0,
    );
    assert!(hwm < LIMIT_KIB, "VmHWM {hwm} KiB exceeds 100 MiB");
}

fn one_image(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path().join("one.redb"), Options::default()).expect("open");
    let tags = tags_of(1);
    let now = SystemTime::now();
    c.bench_function("put_tags 400 tags", |b| {
        b.iter(|| {
            store
                .put_tags("r.io/app", black_box(&tags), now)
                .expect("put")
        })
    });
    c.bench_function("get_tags 400 tags", |b| {
        b.iter(|| store.get_tags(black_box("r.io/app")).expect("get"))
    });
}

fn main() {
    two_million_tags();
    let mut c = Criterion::default().configure_from_args();
    one_image(&mut c);
    c.final_summary();
}
