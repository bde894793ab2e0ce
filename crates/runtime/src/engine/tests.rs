//! The engine and the homes stay kind-agnostic (anchors §9.4): no kind
//! name appears in their sources, so a new kind never needs an edit there.
//! And what runs in either home stays home-agnostic: no home is named in
//! the engine, the scheduler, the triggers, or the loop
//! and jobs of `automate/`, so they never ask "is this a cluster?".

use std::path::{Path, PathBuf};

/// Kind names and the constants that spell them.
const KIND_NAMES: &[&str] = &[
    "ImageRepository",
    "ImagePolicy",
    "ImageUpdateAutomation",
    "Receiver",
    "GitRepository",
    "OCIRepository",
    "HelmRepository",
    "HelmChart",
    "Bucket",
    "Kustomization",
    "HelmRelease",
    "Provider",
    "Alert",
    "IMAGE_REPOSITORY",
    "IMAGE_POLICY",
    "IMAGE_UPDATE_AUTOMATION",
    "RECEIVER",
    "GIT_REPOSITORY",
    "KUSTOMIZATION",
];

/// Every `.rs` file of `src/<name>.rs` and under `src/<name>/`, tests aside.
fn sources(src: &Path, name: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let file = src.join(format!("{name}.rs"));
    if file.is_file() {
        out.push(file);
    }
    let mut dirs = vec![src.join(name)];
    while let Some(d) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs")
                && p.file_name().is_some_and(|n| n != "tests.rs")
            {
                out.push(p);
            }
        }
    }
    out
}

/// The kind names that appear as words in `text`.
fn kind_names_in(text: &str) -> Vec<&'static str> {
    let words: std::collections::BTreeSet<&str> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .collect();
    KIND_NAMES
        .iter()
        .copied()
        .filter(|k| words.contains(k))
        .collect()
}

#[test]
fn the_engine_and_the_homes_name_no_kind() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files: Vec<PathBuf> = ["engine", "home"]
        .iter()
        .flat_map(|n| sources(&src, n))
        .collect();
    assert!(
        files.iter().any(|f| f.ends_with("engine/finish.rs")),
        "the check must see the engine: {files:?}"
    );
    for f in files {
        let text = std::fs::read_to_string(&f).expect("readable source");
        let found = kind_names_in(&text);
        assert!(found.is_empty(), "{} names {found:?}", f.display());
    }
}

/// What names a particular home: the kube side and the two homes.
const HOME_NAMES: &[&str] = &["Cluster", "ClusterError", "KubeHome", "LocalHome"];

/// The home names (and `cluster::` paths) that appear in `text`.
fn home_names_in(text: &str) -> Vec<&'static str> {
    let words: std::collections::BTreeSet<&str> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .collect();
    let mut found: Vec<&'static str> = HOME_NAMES
        .iter()
        .copied()
        .filter(|k| words.contains(k))
        .collect();
    if text.contains("cluster::") {
        found.push("cluster::");
    }
    found
}

/// The engine, the scheduler, the triggers and the loop and jobs that run
/// in either home ask the `Home`, never which home it is.
#[test]
fn the_engine_scheduler_triggers_and_jobs_name_no_home() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files: Vec<PathBuf> = ["engine", "scheduler", "triggers"]
        .iter()
        .flat_map(|n| sources(&src, n))
        .collect();
    for f in [
        "run", "sink", "cx", "scan", "update", "webhooks", "sources", "local",
    ] {
        files.push(src.join("automate").join(format!("{f}.rs")));
    }
    // The jobs themselves: each kind's `Kind::reconcile` and its context.
    let controllers = src.join("../../controllers/src");
    files.push(controllers.join("kind.rs"));
    files.push(controllers.join("kind/cx.rs"));
    for kind in [
        "image/repository",
        "image/policy",
        "image/automation",
        "notification/receiver",
        "source/git",
        "kustomize",
    ] {
        files.push(controllers.join(kind).join("kind.rs"));
    }
    for name in ["engine/finish.rs", "scheduler.rs", "triggers.rs"] {
        assert!(
            files.iter().any(|f| f.ends_with(name)),
            "the check must see {name}: {files:?}"
        );
    }
    for f in files {
        let text = std::fs::read_to_string(&f).expect("readable source");
        let found = home_names_in(&text);
        assert!(found.is_empty(), "{} names {found:?}", f.display());
    }
}

/// The loop starts every kind's run through the registry, and a job
/// writes its status through a sink that knows no kind: a new kind needs
/// no edit there (its `Kind::reconcile` is its job).
#[test]
fn the_loop_and_the_job_frame_name_no_kind() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/automate");
    for f in ["run.rs", "sink.rs", "controller.rs"] {
        let text = std::fs::read_to_string(src.join(f)).expect("readable source");
        let found = kind_names_in(&text);
        assert!(found.is_empty(), "automate/{f} names {found:?}");
    }
}

#[test]
fn the_check_finds_a_home_name_as_a_word_or_path() {
    assert_eq!(
        home_names_in("if let Some(c) = &self.cluster { Cluster::new(); KubeHome }"),
        ["Cluster", "KubeHome"]
    );
    assert_eq!(home_names_in("use crate::cluster::x;"), ["cluster::"]);
    assert!(home_names_in("a target cluster, TargetCluster, in_cluster").is_empty());
}

#[test]
fn the_check_finds_a_kind_name_as_a_word_only() {
    assert_eq!(
        kind_names_in("match k { IMAGE_POLICY => \"Receiver\" }"),
        ["Receiver", "IMAGE_POLICY"]
    );
    assert!(kind_names_in("receivers, ImagePolicyStatus, alerting").is_empty());
}
