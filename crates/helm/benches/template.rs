//! `cargo bench -p ferroflux-helm --bench template`: where `helm template`'s
//! time goes in ferroflux, phase by phase, in one process (no start-up):
//! reading the chart directory, merging and coalescing the values,
//! rendering (parse + execute every template), sorting the documents and
//! printing. The chart is `FERROFLUX_BENCH_CHART` (a chart directory, for
//! instance ingress-nginx's) or, without it, this crate's `t-basic` test
//! chart. Prints the median of 50 runs per phase.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ferroflux_helm::render::{PrintOptions, RenderOptions, output};
use ferroflux_kustomize::DiskFs;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = std::env::var_os("FERROFLUX_BENCH_CHART")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/charts/t-basic"));
    let fs = DiskFs::new("/").expect("fs");
    let runs = 50;
    let (mut load, mut values, mut render, mut print, mut whole) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut bytes = 0;
    for _ in 0..runs {
        let t0 = Instant::now();
        let chart = ferroflux_helm::chart::load_dir(&fs, &dir).expect("loads");
        let t1 = Instant::now();
        let user = ferroflux_helm::values::Options::default()
            .merge(&mut |_: &str| Err("no files".to_string()))
            .expect("values");
        let t2 = Instant::now();
        let release = ferroflux_helm::render::render(
            chart,
            user,
            &RenderOptions::default(),
            std::rc::Rc::new(ferroflux_helm::funcs::TemplateLookup),
        )
        .expect("renders");
        let t3 = Instant::now();
        let out = output::print_release(&release, &PrintOptions::default()).expect("prints");
        let t4 = Instant::now();
        bytes = out.len();
        load.push(t1 - t0);
        values.push(t2 - t1);
        render.push(t3 - t2);
        print.push(t4 - t3);
        whole.push(t4 - t0);
    }
    println!(
        "chart {} ({bytes} bytes out), median of {runs}:",
        dir.display()
    );
    for (name, v) in [
        ("load_dir", load),
        ("values", values),
        ("render (prepare, parse, execute, sort)", render),
        ("print", print),
        ("whole", whole),
    ] {
        println!("  {name:<40} {:>8.2} ms", median(v).as_secs_f64() * 1e3);
    }
}
