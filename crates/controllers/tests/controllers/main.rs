//! Integration tests of the reconcile steps against real adapters: Git
//! remotes served by git http-backend (lighttpd) and file://, repositories
//! made with the git CLI, the seed articles' manifests
//! (`FERROFLUX_SEEDS_DIR`) and Flux's vectors (`FERROFLUX_CONFORMANCE_DIR`).

mod automation;
mod policy;
mod source;

use std::path::PathBuf;

use ferroflux_api::manifest::{Manifest, Object, load_paths};
use ferroflux_controllers::FixedClock;
use k8s_openapi::jiff::Timestamp;

/// 2026-05-13T07:06:14Z, the scan time seed 000 shows.
const NOW: i64 = 1_778_655_974;

fn clock() -> FixedClock {
    FixedClock::new(Timestamp::from_second(NOW).expect("valid timestamp"))
}

fn seeds_dir() -> Option<PathBuf> {
    ferroflux_testkit::env::dir_from_env("FERROFLUX_SEEDS_DIR")
}

fn conformance_dir() -> Option<PathBuf> {
    ferroflux_testkit::env::dir_from_env("FERROFLUX_CONFORMANCE_DIR")
}

/// The manifests of one seed file (`000/05-automation-imageupdateautomation.yaml`).
fn seed_manifests(rel: &str) -> Option<Vec<Manifest>> {
    let path = seeds_dir()?.join("manifests").join(rel);
    let loaded = load_paths(std::slice::from_ref(&path));
    assert!(
        !loaded.manifests.is_empty(),
        "{}: no manifests: {:?}",
        path.display(),
        loaded.findings
    );
    Some(loaded.manifests)
}

fn seed_object(rel: &str) -> Option<(String, Object)> {
    let m = seed_manifests(rel)?.into_iter().next()?;
    Some((m.api_version, m.object))
}
