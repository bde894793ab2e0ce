use std::collections::BTreeMap;
use std::sync::Mutex;

use ferroflux_api::meta::LocalObjectReference;
use ferroflux_api::source::HelmRepositorySpec;
use ferroflux_artifact::Retention;
use k8s_openapi::jiff::Timestamp;

use super::*;
use crate::FixedClock;

pub(crate) const INDEX: &str = "apiVersion: v1
entries:
  podinfo:
  - apiVersion: v2
    name: podinfo
    version: 6.5.0
    urls:
    - podinfo-6.5.0.tgz
generated: \"2024-01-01T00:00:00Z\"
";

fn repo(spec: HelmRepositorySpec) -> HelmRepository {
    let mut r = HelmRepository::new("podinfo", spec);
    r.metadata.namespace = Some("default".into());
    r.metadata.generation = Some(1);
    r
}

fn spec(url: &str) -> HelmRepositorySpec {
    HelmRepositorySpec {
        url: url.into(),
        ..Default::default()
    }
}

fn storage(t: &tempfile::TempDir) -> Storage {
    Storage::new(
        &t.path().join("data"),
        "localhost:9090",
        Retention::default(),
    )
    .expect("storage")
}

fn clock() -> FixedClock {
    FixedClock::new(Timestamp::from_second(1_778_655_974).expect("ts"))
}

/// Answers `body` for `https://charts.example/index.yaml`, recording the
/// options it was called with.
struct Served {
    body: Mutex<Result<Vec<u8>, HttpError>>,
    seen: Mutex<Vec<(String, HttpOptions)>>,
}

impl Served {
    fn new(body: Result<&str, HttpError>) -> Served {
        Served {
            body: Mutex::new(body.map(|b| b.as_bytes().to_vec())),
            seen: Mutex::new(Vec::new()),
        }
    }

    fn fetch(&self, url: &str, opts: &HttpOptions) -> Result<Vec<u8>, HttpError> {
        self.seen
            .lock()
            .expect("lock")
            .push((url.to_string(), opts.clone()));
        self.body.lock().expect("lock").clone()
    }
}

fn run(
    r: &HelmRepository,
    secret: Option<Result<&SecretData, &str>>,
    storage: &Storage,
    served: &Served,
) -> HelmRepositoryResult {
    let input = HelmRepositoryInput {
        repository: r,
        secret,
        cert_secret: None,
        storage,
    };
    reconcile(&input, &clock(), &|u, o| served.fetch(u, o))
}

fn cond(st: &SourceStatus, type_: &str) -> Option<(String, String, String)> {
    status::get(&st.conditions, type_)
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
}

#[test]
fn an_index_is_stored_as_indented_json_once_per_revision() {
    let t = tempfile::tempdir().expect("tempdir");
    let storage = storage(&t);
    let served = Served::new(Ok(INDEX));
    let mut r = repo(spec("https://charts.example/"));
    let first = run(&r, None, &storage, &served);
    let rev = ferroflux_helm::repo::revision(INDEX.as_bytes());
    let a = first.status.artifact.clone().expect("artifact");
    assert_eq!(a.revision, rev);
    let hex = rev.trim_start_matches("sha256:");
    assert_eq!(
        a.path,
        format!("helmrepository/default/podinfo/index-{hex}.yaml")
    );
    let bytes = std::fs::read(storage.local_path(&a.path)).expect("stored");
    let want = Index::load(INDEX.as_bytes()).expect("index").to_json();
    assert_eq!(bytes, want.as_bytes());
    assert_eq!(
        first.status.url.as_deref(),
        Some("http://localhost:9090/helmrepository/default/podinfo/index.yaml")
    );
    let message = format!("stored artifact: revision '{rev}'");
    assert_eq!(
        cond(&first.status, "Ready"),
        Some(("True".into(), "Succeeded".into(), message.clone()))
    );
    assert_eq!(
        cond(&first.status, "ArtifactInStorage"),
        Some(("True".into(), "Succeeded".into(), message))
    );
    let ev = first.event.expect("event");
    assert_eq!(ev.reason, "NewArtifact");
    assert_eq!(
        ev.message,
        format!(
            "stored fetched index of size {} from 'https://charts.example/'",
            human_size(want.len() as f64)
        )
    );
    assert_eq!(
        first.outcome,
        Outcome::RequeueAfter(Duration::from_secs(60))
    );
    assert_eq!(
        served.seen.lock().expect("lock")[0].0,
        "https://charts.example/index.yaml"
    );
    // The same bytes again: no new artifact, a trace event.
    r.status = Some(first.status.clone());
    let second = run(&r, None, &storage, &served);
    assert_eq!(second.status.artifact, first.status.artifact);
    assert_eq!(second.event.expect("event").type_, EventType::Trace);
}

#[test]
fn fetch_failures_say_flux_s_words_without_the_secret() {
    let t = tempfile::tempdir().expect("tempdir");
    let storage = storage(&t);
    let served = Served::new(Err(HttpError::Status {
        url: "https://charts.example/index.yaml".into(),
        status: "401 Unauthorized".into(),
    }));
    let mut s = spec("https://charts.example");
    s.secret_ref = Some(LocalObjectReference {
        name: "auth".into(),
    });
    let data: SecretData = BTreeMap::from([
        ("username".to_string(), b"bob".to_vec()),
        ("password".to_string(), b"hunter2".to_vec()),
    ]);
    let r = run(&repo(s), Some(Ok(&data)), &storage, &served);
    let message = "failed to fetch Helm repository index: failed to cache index to temporary file: failed to fetch https://charts.example/index.yaml : 401 Unauthorized";
    assert_eq!(
        cond(&r.status, "Ready"),
        Some(("False".into(), "Failed".into(), message.into()))
    );
    assert_eq!(
        cond(&r.status, "FetchFailed"),
        Some(("True".into(), "Failed".into(), message.into()))
    );
    assert_eq!(r.outcome, Outcome::Backoff);
    let seen = served.seen.lock().expect("lock");
    let auth = seen[0].1.basic_auth.as_ref().expect("basic auth");
    assert_eq!(
        (auth.username.as_str(), auth.password.as_str()),
        ("bob", "hunter2")
    );
    assert_eq!(seen[0].1.credentials_url, "https://charts.example");
    let all = format!("{:?} {:?}", r.status, r.event);
    assert!(!all.contains("hunter2"), "{all}");
}

#[test]
fn spec_and_secret_errors_are_classified() {
    let t = tempfile::tempdir().expect("tempdir");
    let storage = storage(&t);
    let served = Served::new(Ok(INDEX));
    let oci_url = run(&repo(spec("oci://ghcr.io/x")), None, &storage, &served);
    assert_eq!(
        cond(&oci_url.status, "Stalled"),
        Some((
            "True".into(),
            "URLInvalid".into(),
            "invalid Helm repository URL: 'oci' URL scheme cannot be used with 'default' HelmRepository type".into()
        ))
    );
    assert_eq!(oci_url.outcome, Outcome::Wait);
    let bad = run(&repo(spec("ftp://x/")), None, &storage, &served);
    assert_eq!(cond(&bad.status, "Ready").expect("ready").1, "URLInvalid");
    let mut s = spec("https://charts.example");
    s.secret_ref = Some(LocalObjectReference {
        name: "auth".into(),
    });
    let missing = run(
        &repo(s.clone()),
        Some(Err("secrets \"auth\" not found")),
        &storage,
        &served,
    );
    assert_eq!(
        cond(&missing.status, "FetchFailed"),
        Some((
            "True".into(),
            "AuthenticationFailed".into(),
            "failed to get authentication secret 'default/auth': secrets \"auth\" not found".into()
        ))
    );
    let half: SecretData = BTreeMap::from([("username".to_string(), b"bob".to_vec())]);
    let malformed = run(&repo(s), Some(Ok(&half)), &storage, &served);
    let (_, reason, message) = cond(&malformed.status, "Ready").expect("ready");
    assert_eq!(reason, "AuthenticationFailed");
    assert!(
        message.contains("has 'username' but missing 'password'"),
        "{message}"
    );
    assert!(served.seen.lock().expect("lock").is_empty());
}

#[test]
fn a_broken_index_is_an_indexation_failure_and_a_big_one_is_refused() {
    let t = tempfile::tempdir().expect("tempdir");
    let storage = storage(&t);
    let served = Served::new(Ok("entries: {}\n"));
    let r = run(
        &repo(spec("https://charts.example")),
        None,
        &storage,
        &served,
    );
    let (_, reason, message) = cond(&r.status, "FetchFailed").expect("fetch failed");
    assert_eq!(reason, "IndexationFailed");
    assert!(
        message
            .starts_with("failed to load Helm repository from index YAML: failed to load index: "),
        "{message}"
    );
    assert!(r.status.artifact.is_none());
    let big = Served::new(Err(HttpError::TooLarge {
        url: "https://charts.example/index.yaml".into(),
        limit: 1,
    }));
    let r = run(&repo(spec("https://charts.example")), None, &storage, &big);
    let (_, _, message) = cond(&r.status, "FetchFailed").expect("fetch failed");
    assert!(
        message.ends_with("index exceeds the maximum index file size of 52428800 bytes"),
        "{message}"
    );
}

#[test]
fn oci_repositories_are_static_and_deleted_ones_leave_no_artifact() {
    let t = tempfile::tempdir().expect("tempdir");
    let storage = storage(&t);
    let served = Served::new(Ok(INDEX));
    let r = repo(spec("https://charts.example"));
    let stored = run(&r, None, &storage, &served);
    assert!(stored.status.artifact.is_some());
    let mut oci = repo(HelmRepositorySpec {
        repo_type: Some(HelmRepositoryType::Oci),
        ..spec("oci://ghcr.io/stefanprodan/charts")
    });
    oci.status = Some(stored.status.clone());
    let r2 = run(&oci, None, &storage, &served);
    assert_eq!(r2.status, SourceStatus::default());
    assert_eq!(r2.outcome, Outcome::Wait);
    assert!(
        !t.path()
            .join("data/helmrepository/default/podinfo")
            .exists()
    );
    let again = run(&r, None, &storage, &served);
    assert!(
        t.path()
            .join("data/helmrepository/default/podinfo")
            .exists()
    );
    delete(&r, &storage).expect("delete");
    assert!(
        !t.path()
            .join("data/helmrepository/default/podinfo")
            .exists()
    );
    assert!(again.status.artifact.is_some());
}

#[test]
fn credentials_and_tls_come_from_both_secrets() {
    let mut s = spec("https://charts.example");
    s.secret_ref = Some(LocalObjectReference { name: "a".into() });
    s.cert_secret_ref = Some(LocalObjectReference { name: "c".into() });
    s.pass_credentials = Some(true);
    let auth: SecretData = BTreeMap::from([
        ("username".to_string(), b"u".to_vec()),
        ("password".to_string(), b"p".to_vec()),
        ("caFile".to_string(), b"legacy".to_vec()),
    ]);
    let certs: SecretData = BTreeMap::from([("ca.crt".to_string(), b"ca".to_vec())]);
    let o = client_options(&repo(s.clone()), Some(Ok(&auth)), Some(Ok(&certs)), "u").expect("o");
    assert_eq!(o.tls.ca_pem.as_deref(), Some(&b"ca"[..]));
    assert!(o.pass_credentials);
    assert_eq!(o.timeout, Duration::from_secs(60));
    // Without certSecretRef, the deprecated keys of secretRef.
    s.cert_secret_ref = None;
    let o = client_options(&repo(s), Some(Ok(&auth)), None, "u").expect("o");
    assert_eq!(o.tls.ca_pem.as_deref(), Some(&b"legacy"[..]));
    let none: SecretData = BTreeMap::new();
    let mut c = spec("https://charts.example");
    c.cert_secret_ref = Some(LocalObjectReference { name: "c".into() });
    let e = client_options(&repo(c), None, Some(Ok(&none)), "u").unwrap_err();
    assert_eq!(e.reason(), "AuthenticationFailed");
}

#[test]
fn sizes_are_go_units_human_sizes() {
    for (n, want) in [
        (0.0, "0B"),
        (512.0, "512B"),
        (1000.0, "1kB"),
        (1234.0, "1.234kB"),
        (10240.0, "10.24kB"),
        (999_950.0, "1000kB"),
        (52_428_800.0, "52.43MB"),
    ] {
        assert_eq!(human_size(n), want, "{n}");
    }
}

#[test]
fn a_static_oci_repository_reads_as_ready_for_its_readers() {
    use crate::kind::{FirstRun, Kind, is_ready};
    let oci = repo(HelmRepositorySpec {
        repo_type: Some(HelmRepositoryType::Oci),
        ..spec("oci://ghcr.io/stefanprodan/charts")
    });
    assert!(is_ready(HelmRepository::conditions(&oci)));
    assert_eq!(
        HelmRepository::conditions(&oci)[0].message,
        "Helm repository is Ready"
    );
    assert_eq!(
        HelmRepository::first_run(&oci),
        FirstRun::After(Duration::from_secs(60))
    );
    let plain = repo(spec("https://charts.example"));
    assert!(HelmRepository::conditions(&plain).is_empty());
    assert_eq!(HelmRepository::first_run(&plain), FirstRun::Retry);
}
