use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ferroflux_api::image::{ImageRepository, ImageRepositorySpec};
use ferroflux_api::meta::{condition, reason};
use ferroflux_registry::{Auth, Client, Options};
use ferroflux_store::Store;
use ferroflux_testkit::fake_registry::{FakeRegistry, Options as FakeOptions, Stats};
use k8s_openapi::jiff::Timestamp;

use super::*;
use crate::clock::FixedClock;
use crate::status::{get, is_true};

struct Env {
    fake: FakeRegistry,
    client: Client,
    store: Arc<Store>,
    clock: FixedClock,
    _dir: tempfile::TempDir,
}

impl Env {
    async fn new(tags: &[&str]) -> Env {
        let fake = FakeRegistry::start(FakeOptions {
            repositories: BTreeMap::from([(
                "org/app".to_owned(),
                tags.iter().map(|t| t.to_string()).collect(),
            )]),
            ..FakeOptions::default()
        })
        .await;
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(
            Store::open(
                dir.path().join("tags.redb"),
                ferroflux_store::Options::default(),
            )
            .unwrap(),
        );
        Env {
            fake,
            client: Client::new(Options {
                rate_limit: 0,
                ..Options::default()
            })
            .unwrap(),
            store,
            clock: FixedClock::new(Timestamp::from_second(1_700_000_000).unwrap()),
            _dir: dir,
        }
    }

    fn object(&self, repository: &str) -> ImageRepository {
        let mut obj = ImageRepository::new(
            "app",
            ImageRepositorySpec {
                image: self.fake.image(repository),
                interval: ferroflux_api::Duration::parse("5m").unwrap(),
                insecure: Some(true),
                ..ImageRepositorySpec::default()
            },
        );
        obj.metadata.namespace = Some("apps".into());
        obj.metadata.generation = Some(1);
        obj
    }

    async fn reconcile(&self, obj: &mut ImageRepository) -> Reconciled {
        self.reconcile_with(obj, false).await
    }

    async fn reconcile_with(&self, obj: &mut ImageRepository, force: bool) -> Reconciled {
        let cx = Context {
            client: &self.client,
            store: &self.store,
            clock: &self.clock,
            progress: None,
            force,
        };
        let out = super::reconcile(obj, &Auth::Anonymous, &cx).await;
        obj.status = Some(out.status.clone());
        out
    }

    fn tag_requests(&self) -> usize {
        Stats::get(&self.fake.stats().tag_requests)
    }
}

fn ready(out: &Reconciled) -> (String, String, String) {
    let c = get(&out.status.conditions, condition::READY).expect("Ready condition");
    (c.status.clone(), c.reason.clone(), c.message.clone())
}

const TAGS: &[&str] = &[
    "1.0.0",
    "1.1.0",
    "1.10.0",
    "1.2.0",
    "1.3.0",
    "1.4.0",
    "1.5.0",
    "1.6.0",
    "1.7.0",
    "1.8.0",
    "1.9.0",
    "latest",
    "sha256-abc.sig",
    "sha256-abc.att",
];

#[tokio::test]
async fn first_scan_sets_status_as_flux() {
    let env = Env::new(TAGS).await;
    let mut obj = env.object("org/app");
    let out = env.reconcile(&mut obj).await;
    assert_eq!(out.scanned, Some(ScanReason::FirstScan));
    assert_eq!(out.outcome, Outcome::RequeueAfter(Duration::from_secs(300)));
    let status = &out.status;
    let canonical = format!("{}/org/app", env.fake.host());
    assert_eq!(
        status.canonical_image_name.as_deref(),
        Some(canonical.as_str())
    );
    assert_eq!(
        status.observed_exclusion_list,
        vec!["^.*\\.sig$".to_owned()]
    );
    assert_eq!(status.observed_generation, Some(1));
    let scan = status.last_scan_result.as_ref().unwrap();
    // The .sig tag is excluded by default; .att is not.
    assert_eq!(scan.tag_count, 13);
    assert_eq!(scan.scan_time.as_ref().unwrap().0, env.clock.now());
    assert_eq!(
        scan.latest_tags,
        [
            "sha256-abc.att",
            "latest",
            "1.9.0",
            "1.8.0",
            "1.7.0",
            "1.6.0",
            "1.5.0",
            "1.4.0",
            "1.3.0",
            "1.2.0"
        ]
    );
    let stored = env.store.get_tags(&canonical).unwrap().unwrap();
    assert_eq!(stored.tags.len(), 13);
    assert!(!stored.tags.iter().any(|t| t.ends_with(".sig")));
    let revision = scan.revision.clone().unwrap();
    assert_eq!(revision, stored.revision);
    assert!(revision.starts_with("sha256:"));
    assert_eq!(
        ready(&out),
        (
            "True".into(),
            reason::SUCCEEDED.into(),
            format!("successful scan: found 13 tags with checksum {revision}")
        )
    );
    assert!(get(&status.conditions, condition::RECONCILING).is_none());
    assert!(get(&status.conditions, condition::STALLED).is_none());
}

#[tokio::test]
async fn rescans_only_when_flux_would() {
    let env = Env::new(TAGS).await;
    let mut obj = env.object("org/app");
    env.reconcile(&mut obj).await;
    assert_eq!(env.tag_requests(), 1);

    // Not due yet: requeue for the rest of the interval.
    env.clock.advance(Duration::from_secs(60));
    let out = env.reconcile(&mut obj).await;
    assert_eq!(out.scanned, None);
    assert_eq!(out.outcome, Outcome::RequeueAfter(Duration::from_secs(240)));
    assert_eq!(env.tag_requests(), 1);
    assert_eq!(ready(&out).0, "True");

    // A one-shot run scans although the interval has not elapsed.
    let out = env.reconcile_with(&mut obj, true).await;
    assert_eq!(out.scanned, Some(ScanReason::OneShotRun));
    assert_eq!(env.tag_requests(), 2);
    let out = env.reconcile(&mut obj).await;
    assert_eq!(out.scanned, None);

    type Change = Box<dyn Fn(&mut ImageRepository, &Env)>;
    let cases: Vec<(&str, Change, Option<ScanReason>)> = vec![
        (
            "reconcile annotation",
            Box::new(|o, _| {
                o.metadata.annotations = Some(BTreeMap::from([(
                    "reconcile.fluxcd.io/requestedAt".to_owned(),
                    "2026-11-23T19:00:00Z".to_owned(),
                )]));
            }),
            Some(ScanReason::ReconcileRequested),
        ),
        ("same annotation again", Box::new(|_, _| {}), None),
        (
            "exclusion list",
            Box::new(|o, _| o.spec.exclusion_list = Some(vec!["^latest$".into()])),
            Some(ScanReason::UpdatedExclusionList),
        ),
        (
            "tags lost from the database",
            Box::new(|o, env| {
                let name = o
                    .status
                    .as_ref()
                    .unwrap()
                    .canonical_image_name
                    .clone()
                    .unwrap();
                assert!(env.store.remove(&name).unwrap());
            }),
            Some(ScanReason::NoTagsInDatabase),
        ),
        (
            "interval elapsed",
            Box::new(|_, env| env.clock.advance(Duration::from_secs(300))),
            Some(ScanReason::TriggeredByInterval),
        ),
    ];
    for (what, change, want) in cases {
        change(&mut obj, &env);
        let before = env.tag_requests();
        let out = env.reconcile(&mut obj).await;
        assert_eq!(out.scanned, want, "{what}");
        assert_eq!(
            env.tag_requests() - before,
            usize::from(want.is_some()),
            "{what}"
        );
        assert_eq!(ready(&out).0, "True", "{what}");
    }
    let status = obj.status.as_ref().unwrap();
    assert_eq!(
        status.last_handled_reconcile_at.as_deref(),
        Some("2026-11-23T19:00:00Z")
    );
    // The replaced list keeps the .sig tag and drops `latest`.
    assert_eq!(status.observed_exclusion_list, vec!["^latest$".to_owned()]);
    assert_eq!(status.last_scan_result.as_ref().unwrap().tag_count, 13);
    assert_eq!(
        status.last_scan_result.as_ref().unwrap().latest_tags[..2],
        ["sha256-abc.sig".to_owned(), "sha256-abc.att".to_owned()]
    );
}

#[tokio::test]
async fn a_changed_image_name_rescans() {
    let env = Env::new(TAGS).await;
    let mut obj = env.object("org/app");
    env.reconcile(&mut obj).await;
    obj.status.as_mut().unwrap().canonical_image_name = Some("index.docker.io/library/old".into());
    let out = env.reconcile(&mut obj).await;
    assert_eq!(out.scanned, Some(ScanReason::NewImageName));
}

#[tokio::test]
async fn invalid_image_stalls() {
    let env = Env::new(TAGS).await;
    let cases = [
        (
            format!("{}/org/app:v1", env.fake.host()),
            format!(
                "image '{}/org/app:v1' should not include a tag; remove ':v1'",
                env.fake.host()
            ),
        ),
        (
            "https://ghcr.io/org/app".to_owned(),
            "image 'https://ghcr.io/org/app' should not include URL scheme; remove 'https://'"
                .to_owned(),
        ),
    ];
    for (image, message) in cases {
        let mut obj = env.object("org/app");
        obj.spec.image = image;
        let out = env.reconcile(&mut obj).await;
        assert_eq!(out.outcome, Outcome::Wait);
        assert_eq!(
            ready(&out),
            (
                "False".into(),
                reason::IMAGE_URL_INVALID.into(),
                message.clone()
            )
        );
        let stalled = get(&out.status.conditions, condition::STALLED).unwrap();
        assert_eq!(
            (stalled.reason.as_str(), stalled.message.as_str()),
            (reason::IMAGE_URL_INVALID, message.as_str())
        );
        assert!(!is_true(&out.status.conditions, condition::READY));
    }
    assert_eq!(env.tag_requests(), 0);
}

#[tokio::test]
async fn scan_failures_are_retried_with_flux_reasons() {
    let env = Env::new(TAGS).await;
    let mut missing = env.object("org/missing");
    let out = env.reconcile(&mut missing).await;
    assert_eq!(out.outcome, Outcome::Backoff);
    let (status, why, message) = ready(&out);
    assert_eq!(
        (status.as_str(), why.as_str()),
        ("False", reason::READ_OPERATION_FAILED)
    );
    assert!(
        message.starts_with(&format!(
            "scan failed: GET http://{}/v2/org/missing/tags/list?n=1000: unexpected status code 404 Not Found: NAME_UNKNOWN",
            env.fake.host()
        )),
        "{message}"
    );
    let reconciling = get(&out.status.conditions, condition::RECONCILING).unwrap();
    assert_eq!(reconciling.reason, reason::PROGRESSING_WITH_RETRY);
    assert!(out.status.last_scan_result.is_none());

    let mut bad_regex = env.object("org/app");
    bad_regex.spec.exclusion_list = Some(vec!["(unclosed".into()]);
    let out = env.reconcile(&mut bad_regex).await;
    let (_, why, message) = ready(&out);
    assert_eq!(why, reason::READ_OPERATION_FAILED);
    assert!(
        message.starts_with("scan failed: failed to compile regex (unclosed: "),
        "{message}"
    );
}

#[tokio::test]
async fn suspended_objects_are_left_alone() {
    let env = Env::new(TAGS).await;
    let mut obj = env.object("org/app");
    obj.spec.suspend = Some(true);
    let out = env.reconcile(&mut obj).await;
    assert_eq!(out.outcome, Outcome::Wait);
    assert!(out.status.conditions.is_empty());
    assert_eq!(env.tag_requests(), 0);
}

#[test]
fn auth_from_dockerconfigjson_secret() {
    let image = ImageName::parse("ghcr.io/org/app", false).unwrap();
    let mut data = BTreeMap::new();
    data.insert(
        ".dockerconfigjson".to_owned(),
        br#"{"auths":{"ghcr.io":{"username":"u","password":"p"}}}"#.to_vec(),
    );
    let auth = auth_from_secret(&data, "creds", &image).unwrap();
    assert_eq!(auth.username(), Some("u"));
    let err = auth_from_secret(&BTreeMap::new(), "creds", &image).unwrap_err();
    assert_eq!(err.reason(), reason::AUTHENTICATION_FAILED);
    assert_eq!(
        err.message(),
        "failed to configure authentication options: secret 'creds': secret has no '.dockerconfigjson' key"
    );
}

#[test]
fn latest_tags_are_byte_descending_and_ten() {
    let tags: Vec<String> = ["b", "a", "B", "10", "9", "c", "d", "e", "f", "g", "h", "i"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        latest_tags(&tags),
        ["i", "h", "g", "f", "e", "d", "c", "b", "a", "B"]
    );
    assert!(latest_tags(&[]).is_empty());
}

mod tls {
    use std::collections::BTreeMap;

    use super::super::tls_from_secret;

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn ca_and_client_pair_from_the_current_keys() {
        let t = tls_from_secret(
            &data(&[("ca.crt", "CA"), ("tls.crt", "C"), ("tls.key", "K")]),
            "ns/s",
        )
        .expect("valid");
        assert_eq!(t.ca_pem.as_deref(), Some(&b"CA"[..]));
        assert_eq!(t.client_cert_pem.as_deref(), Some(&b"C"[..]));
        assert_eq!(t.client_key_pem.as_deref(), Some(&b"K"[..]));
        assert!(!t.no_system_roots);
    }

    #[test]
    fn deprecated_keys_still_work_and_lose_to_the_new_ones() {
        let t = tls_from_secret(&data(&[("caFile", "OLD")]), "ns/s").expect("valid");
        assert_eq!(t.ca_pem.as_deref(), Some(&b"OLD"[..]));
        let t =
            tls_from_secret(&data(&[("caFile", "OLD"), ("ca.crt", "NEW")]), "ns/s").expect("valid");
        assert_eq!(t.ca_pem.as_deref(), Some(&b"NEW"[..]));
    }

    #[test]
    fn half_a_client_pair_or_nothing_is_an_error_naming_the_secret() {
        let err = tls_from_secret(&data(&[("tls.crt", "C")]), "ns/certs").expect_err("no key");
        assert!(err.message().contains("'ns/certs'"), "{}", err.message());
        assert!(err.message().contains("together"), "{}", err.message());
        let err = tls_from_secret(&data(&[("other", "x")]), "ns/certs").expect_err("empty");
        assert!(
            err.message().contains("none of ca.crt"),
            "{}",
            err.message()
        );
    }
}
