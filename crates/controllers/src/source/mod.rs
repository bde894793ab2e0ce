//! source.toolkit.fluxcd.io kinds.

pub mod git;
pub mod helm_chart;
pub mod helm_repository;
pub mod oci_repository;

use ferroflux_api::source::Artifact;
use ferroflux_artifact::storage::Storage;

/// What `reconcileStorage` found of a source's advertised artifact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stored {
    /// Present and intact; its URL rewritten.
    Kept,
    /// None advertised.
    Absent,
    /// Advertised but gone or with another digest: dropped.
    Disappeared,
}

/// The part of `reconcileStorage` every source kind shares: collect
/// garbage (a failed collection is retried next run, as Flux ignores it),
/// drop an advertised artifact that is gone or whose digest no longer
/// matches, rewrite the URL of one that stays.
pub(crate) fn check_stored(
    storage: &Storage,
    now: std::time::SystemTime,
    artifact: &mut Option<Artifact>,
) -> Stored {
    let Some(a) = artifact else {
        return Stored::Absent;
    };
    let _ = storage.garbage_collect(&a.path, now);
    let intact = storage.exists(&a.path)
        && storage
            .verify(&a.path, a.digest.as_deref().unwrap_or_default())
            .is_ok();
    if !intact {
        if storage.exists(&a.path) {
            let _ = storage.remove(&a.path);
        }
        *artifact = None;
        return Stored::Disappeared;
    }
    a.url = storage.url(&a.path);
    Stored::Kept
}

/// `reconcileStorage` of the kinds that also advertise a stable URL beside
/// the artifact's (`<dir>/<latest>`: `index.yaml`, `latest.tar.gz`): the
/// URL rewritten, or dropped with a vanished artifact; without an
/// artifact, Reconciling with the building message and no
/// ArtifactInStorage.
pub(crate) fn check_stored_at(
    storage: &Storage,
    clock: &dyn crate::clock::Clock,
    generation: Option<i64>,
    artifact: &mut Option<Artifact>,
    url: &mut Option<String>,
    conditions: &mut Vec<ferroflux_api::meta::Condition>,
    latest: &str,
) {
    let found = check_stored(storage, clock.now().into(), artifact);
    match artifact {
        Some(a) => {
            let dir = a.path.rsplit_once('/').map_or("", |(d, _)| d);
            *url = Some(storage.url(&format!("{dir}/{latest}")));
        }
        None => {
            if found == Stored::Disappeared {
                *url = None;
            }
            let mut c = crate::status::Conditions::new(conditions, generation, clock.now_time());
            c.reconciling(building_message(found));
            c.remove(ferroflux_api::meta::condition::ARTIFACT_IN_STORAGE);
        }
    }
}

/// A referenced Secret as the home holds it: `None` without a reference,
/// the lookup's error as text.
pub(crate) type ReferencedSecret = Option<Result<crate::kind::SecretData, String>>;

/// The Secrets a source's `secretRef` and `certSecretRef` name in its
/// namespace, in that order.
pub(crate) fn referenced_secrets(
    cx: &dyn crate::kind::Cx,
    namespace: &str,
    secret_ref: Option<&ferroflux_api::meta::LocalObjectReference>,
    cert_secret_ref: Option<&ferroflux_api::meta::LocalObjectReference>,
) -> (ReferencedSecret, ReferencedSecret) {
    let lookup = |r: Option<&ferroflux_api::meta::LocalObjectReference>| {
        r.map(|r| cx.secrets().secret(namespace, &r.name).cloned())
    };
    (lookup(secret_ref), lookup(cert_secret_ref))
}

/// The Reconciling message of a source without an artifact.
pub(crate) fn building_message(found: Stored) -> &'static str {
    if found == Stored::Disappeared {
        "building artifact: disappeared from storage"
    } else {
        "building artifact"
    }
}

/// Reconciling's message when the spec moved since the last observed
/// generation (source-controller's "processing object: new generation").
pub(crate) fn new_generation(observed: Option<i64>, generation: Option<i64>) -> Option<String> {
    (observed != generation).then(|| {
        format!(
            "processing object: new generation {} -> {}",
            observed.unwrap_or(0),
            generation.unwrap_or(0)
        )
    })
}
