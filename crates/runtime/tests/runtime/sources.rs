//! GitRepositories in the local home: reconciled into artifacts when the
//! runner has a target cluster (GitOps), only read otherwise.

use std::sync::Arc;

use ferroflux_controllers::target::NoTarget;
use ferroflux_runtime::StatusStore;
use ferroflux_runtime::automate::Runner;
use ferroflux_testkit::gitrepo;
use sha2::Digest as _;

use crate::automate::{quickstart_options, quickstart_registry, quickstart_repo, tags};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_target_the_self_repository_is_stored_as_an_artifact() {
    if !gitrepo::git_available() {
        ferroflux_testkit::env::skip_or_fail("git binary");
        return;
    }
    let registry = quickstart_registry(tags(&["0.13.2", "0.13.3"]), 100).await;
    let tmp = tempfile::tempdir().unwrap();
    let (bare, _, _) = quickstart_repo(tmp.path(), &registry.host());
    let opts = quickstart_options(&bare, tmp.path(), true);
    let state = StatusStore::open(&tmp.path().join("state.redb")).unwrap();
    let mut runner = Runner::new(opts, state.clone())
        .unwrap()
        .with_targets(Arc::new(NoTarget));
    let summary = runner.run_once().await.unwrap();
    let text = summary.to_string();
    assert!(summary.all_ready(), "{text}");
    let head = gitrepo::rev_parse(&bare, "main").unwrap();
    let stored = state.list("GitRepository").unwrap();
    assert_eq!(stored.len(), 1, "{stored:?}");
    let status = stored[0].status.as_ref().unwrap();
    let artifact = &status["artifact"];
    let revision = artifact["revision"].as_str().unwrap();
    assert!(revision.starts_with("main@sha1:"), "{status}");
    assert!(
        text.contains(&format!(
            "sources:\n  ok   flux-system/flux-system: {revision}"
        )),
        "{text}"
    );
    assert_eq!(
        status["conditions"][0]["message"],
        format!("stored artifact for revision '{revision}'")
    );
    // The artifact is on disk under Flux's path, with the advertised digest,
    // and holds the manifests of the commit.
    let url = artifact["url"].as_str().unwrap();
    let path = url
        .strip_prefix("http://localhost/")
        .unwrap_or_else(|| panic!("{url}"));
    assert!(
        path.starts_with("gitrepository/flux-system/flux-system/"),
        "{url}"
    );
    let file = tmp.path().join("artifacts").join(path);
    let bytes = std::fs::read(&file).unwrap();
    let digest = format!("sha256:{}", hex::encode(sha2::Sha256::digest(&bytes)));
    assert_eq!(artifact["digest"], digest.as_str());
    let out = tmp.path().join("unpacked");
    ferroflux_artifact::archive::unpack_tar_gz(&file, &out, &Default::default()).unwrap();
    assert!(
        out.join("clusters/stage/flux-system/gotk-sync.yaml")
            .is_file()
    );
    // The automation pushed in this pass, and the GitRepository ran again
    // after it: the artifact holds the pushed commit.
    assert_eq!(gitrepo::log_subjects(&bare, "main").len(), 2);
    assert_eq!(revision, format!("main@sha1:{head}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_target_git_repositories_are_only_read() {
    if !gitrepo::git_available() {
        ferroflux_testkit::env::skip_or_fail("git binary");
        return;
    }
    let registry = quickstart_registry(tags(&["0.13.2"]), 100).await;
    let tmp = tempfile::tempdir().unwrap();
    let (bare, _, _) = quickstart_repo(tmp.path(), &registry.host());
    let opts = quickstart_options(&bare, tmp.path(), true);
    let state = StatusStore::open(&tmp.path().join("state.redb")).unwrap();
    let mut runner = Runner::new(opts, state.clone()).unwrap();
    let summary = runner.run_once().await.unwrap();
    let text = summary.to_string();
    assert!(!text.contains("sources:"), "{text}");
    let stored = state.list("GitRepository").unwrap();
    assert!(stored.iter().all(|s| s.status.is_none()), "{stored:?}");
    assert!(!tmp.path().join("artifacts/gitrepository").exists());
}
