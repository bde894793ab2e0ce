use ferroflux_api::meta::LocalObjectReference;
use ferroflux_api::source::GitRepositorySpec;
use ferroflux_artifact::Retention;
use k8s_openapi::jiff::Timestamp;

use super::*;
use crate::FixedClock;

fn repo(spec: GitRepositorySpec) -> GitRepository {
    let mut r = GitRepository::new("app", spec);
    r.metadata.namespace = Some("flux-system".into());
    r.metadata.generation = Some(2);
    r
}

fn spec(url: &str) -> GitRepositorySpec {
    GitRepositorySpec {
        url: url.into(),
        interval: ferroflux_api::Duration::from_secs(60),
        ..Default::default()
    }
}

fn run_with(
    r: &GitRepository,
    secret: Option<&SecretData>,
    included: &BTreeMap<String, Option<Artifact>>,
) -> GitRepositoryResult {
    let t = tempfile::tempdir().expect("tempdir");
    let storage = Storage::new(
        &t.path().join("data"),
        "localhost:9090",
        Retention::default(),
    )
    .expect("storage");
    let input = GitRepositoryInput {
        repository: r,
        secret,
        verify_secret: None,
        included,
        storage: &storage,
    };
    let opts = GitRepositoryOptions {
        cache_dir: t.path().join("cache"),
        ..Default::default()
    };
    let clock = FixedClock::new(Timestamp::from_second(1_778_655_974).expect("ts"));
    reconcile(&input, &clock, &opts)
}

fn cond(r: &GitRepositoryResult, type_: &str) -> Option<(String, String, String)> {
    status::get(&r.status.conditions, type_)
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
}

#[test]
fn short_message_is_go_git_s() {
    assert_eq!(short_message("fix: a\n\nbody"), "fix: a");
    let long = "é".repeat(60);
    assert_eq!(short_message(&long), format!("{}...", "é".repeat(50)));
    assert_eq!(short_message(""), "");
}

#[test]
fn suspended_objects_are_left_alone() {
    let mut s = spec("file:///nonexistent");
    s.suspend = Some(true);
    let r = run_with(&repo(s), None, &BTreeMap::new());
    assert_eq!(r.outcome, Outcome::Wait);
    assert!(r.event.is_none());
    assert!(r.status.conditions.is_empty());
}

#[test]
fn unsupported_fields_and_providers_stall_with_fetch_failed() {
    let cases: Vec<(GitRepositorySpec, &str, &str)> = vec![
        (
            GitRepositorySpec {
                sparse_checkout: vec!["apps".into()],
                ..spec("https://h/r.git")
            },
            "GitOperationFailed",
            "spec.sparseCheckout is not supported by ferroflux yet",
        ),
        (
            GitRepositorySpec {
                provider: Some("azure".into()),
                ..spec("https://h/r.git")
            },
            "InvalidProviderConfiguration",
            "provider 'azure' is not supported by ferroflux yet; use a secretRef",
        ),
    ];
    for (s, reason, message) in cases {
        let r = run_with(&repo(s), None, &BTreeMap::new());
        assert_eq!(
            cond(&r, condition::FETCH_FAILED),
            Some(("True".into(), reason.into(), message.into()))
        );
        assert_eq!(r.outcome, Outcome::Wait);
    }
}

#[test]
fn a_bad_url_stalls_without_its_password() {
    let r = run_with(&repo(spec("https://user:hunter2@")), None, &BTreeMap::new());
    let (_, reason, msg) = cond(&r, condition::FETCH_FAILED).expect("FetchFailed");
    assert_eq!(reason, "URLInvalid");
    assert!(msg.starts_with("failed to parse url '"), "{msg}");
    assert!(!msg.contains("hunter2"), "{msg}");
    assert_eq!(cond(&r, condition::STALLED).expect("Stalled").0, "True");
}

#[test]
fn a_missing_or_bad_secret_is_authentication_failed_and_retried() {
    let mut s = spec("https://h.invalid/r.git");
    s.secret_ref = Some(LocalObjectReference {
        name: "git-auth".into(),
    });
    let r = run_with(&repo(s.clone()), None, &BTreeMap::new());
    assert_eq!(
        cond(&r, condition::FETCH_FAILED),
        Some((
            "True".into(),
            "AuthenticationFailed".into(),
            "failed to get secret 'flux-system/git-auth': secrets \"git-auth\" not found".into()
        ))
    );
    assert_eq!(r.outcome, Outcome::Backoff);
    assert_eq!(
        cond(&r, condition::RECONCILING).expect("Reconciling").1,
        "ProgressingWithRetry"
    );
    let secret: SecretData = [("password".to_string(), b"s3cret".to_vec())].into();
    let r = run_with(&repo(s), Some(&secret), &BTreeMap::new());
    let (_, reason, msg) = cond(&r, condition::FETCH_FAILED).expect("FetchFailed");
    assert_eq!(reason, "AuthenticationFailed");
    assert!(
        msg.starts_with("failed to configure authentication options: "),
        "{msg}"
    );
    assert!(!msg.contains("s3cret"), "{msg}");
}

#[test]
fn unavailable_includes_wait_for_the_dependency_interval() {
    let mut s = spec("https://h.invalid/r.git");
    s.include = vec![GitRepositoryInclude {
        repository: LocalObjectReference { name: "lib".into() },
        ..Default::default()
    }];
    let r = run_with(&repo(s.clone()), None, &BTreeMap::new());
    assert_eq!(
        cond(&r, conditions::INCLUDE_UNAVAILABLE),
        Some((
            "True".into(),
            "NotFound".into(),
            "could not get resource for include 'lib': gitrepositories.source.toolkit.fluxcd.io \"lib\" not found".into()
        ))
    );
    assert_eq!(r.outcome, Outcome::RequeueAfter(Duration::from_secs(30)));
    let included = [("lib".to_string(), None)].into();
    let r = run_with(&repo(s), None, &included);
    assert_eq!(
        cond(&r, conditions::INCLUDE_UNAVAILABLE),
        Some((
            "True".into(),
            "NoArtifact".into(),
            "no artifact available for include 'lib'".into()
        ))
    );
    assert_eq!(cond(&r, condition::READY).expect("Ready").1, "NoArtifact");
}

#[test]
fn included_artifacts_differ_on_count_revision_or_digest() {
    let a = |rev: &str, digest: &str| Artifact {
        revision: rev.into(),
        digest: Some(digest.into()),
        ..Default::default()
    };
    assert!(!included_differ(&[a("r1", "d1")], &[a("r1", "d1")]));
    assert!(included_differ(&[a("r1", "d1")], &[]));
    assert!(included_differ(&[a("r2", "d1")], &[a("r1", "d1")]));
    assert!(included_differ(&[a("r1", "d2")], &[a("r1", "d1")]));
}
