//! Rewrite one file + commit + push in a repository of 10,000 files, over
//! file:// and over loopback smart HTTP: the first run (clone into an empty
//! cache) and later runs (fetch + reset of the cached clone; target under
//! 300 ms), and later runs that start from their own last push without a
//! fetch (`Options::trust_own_push`). Run: `cargo bench -p ferroflux-git --bench push`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use ferroflux_git::{Auth, Author, CheckoutRef, CommitOptions, Options, PushSpec, Workspace};
use ferroflux_testkit::git_http::{self, GitHttpServer};
use ferroflux_testkit::gitrepo::{self, git, init_bare};

const FILES: usize = 10_000;

/// A bare repository with FILES small YAML files in 100 directories.
fn big_repo(root: &Path, name: &str) -> PathBuf {
    let bare = init_bare(root, name);
    let work = root.join(format!("{name}-work"));
    std::fs::create_dir_all(&work).expect("work dir");
    git(&work, &["init", "--quiet", "--initial-branch=main"]);
    for i in 0..FILES {
        let dir = work.join(format!("apps/team-{:02}", i % 100));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(
            dir.join(format!("app-{i:05}.yaml")),
            format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{i}\nspec:\n  image: ghcr.io/org/app-{i}:1.0.0 # {{\"$imagepolicy\": \"flux-system:app-{i}\"}}\n"),
        )
        .expect("file");
    }
    git(&work, &["add", "--all"]);
    git(&work, &["commit", "--quiet", "-m", "10k files"]);
    git(
        &work,
        &[
            "push",
            "--quiet",
            &bare.to_string_lossy(),
            "HEAD:refs/heads/main",
        ],
    );
    bare
}

fn one_run(cache: &Path, url: &str, n: u64) {
    one_run_with(cache, url, n, Options::default());
}

fn one_run_with(cache: &Path, url: &str, n: u64, opts: Options) {
    let mut ws = Workspace::open_or_clone(
        cache,
        url,
        &Auth::none(),
        &CheckoutRef::branch("main"),
        opts,
    )
    .expect("open or clone");
    let commit = CommitOptions {
        author: Author {
            name: "bench".into(),
            email: "bench@example.com".into(),
        },
        signer: None,
    };
    let spec = PushSpec {
        branch: "main".into(),
        ..PushSpec::default()
    };
    ws.push_with_retry(&spec, &commit, |dir: &Path| {
        std::fs::write(
            dir.join("apps/team-00/app-00000.yaml"),
            format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-0\nspec:\n  image: ghcr.io/org/app-0:1.0.{n}\n"),
        )?;
        Ok::<_, std::io::Error>(Some(format!("Update app-0 to 1.0.{n}")))
    })
    .expect("push")
    .expect("a change");
}

fn bench_transport(c: &mut Criterion, label: &str, url: &str) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut n = 1_000u64;
    let mut group = c.benchmark_group(format!("push_10k_files_{label}"));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .warm_up_time(Duration::from_secs(1));
    group.bench_function("first_run_clone", |b| {
        b.iter_batched(
            || tempfile::tempdir().expect("cache"),
            |cache| {
                n += 1;
                one_run(cache.path(), url, n);
                cache
            },
            BatchSize::PerIteration,
        )
    });
    let cache = tmp.path().join("cache");
    one_run(&cache, url, 0);
    group.bench_function("later_run_cached", |b| {
        b.iter(|| {
            n += 1;
            one_run(&cache, url, n);
        })
    });
    // Automations that follow each other on one clone: the last push
    // stands for the fetch (Options::trust_own_push).
    let trusting = Options {
        trust_own_push: Some(Duration::from_secs(60)),
        ..Options::default()
    };
    group.bench_function("later_run_after_own_push", |b| {
        b.iter(|| {
            n += 1;
            one_run_with(&cache, url, n, trusting.clone());
        })
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    if !gitrepo::git_available() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let bare = big_repo(tmp.path(), "big.git");
    bench_transport(c, "file", &format!("file://{}", bare.display()));
    if let Some(server) = GitHttpServer::start(git_http::Options::default()) {
        let served = big_repo(server.root(), "big.git");
        assert!(served.exists());
        bench_transport(c, "http", &server.url("big.git"));
    }
}

criterion_group!(push, benches);
criterion_main!(push);
