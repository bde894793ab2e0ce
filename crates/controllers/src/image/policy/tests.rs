use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use ferroflux_api::image::{
    ImagePolicy, ImagePolicyChoice, ImagePolicySpec, ImageRepository, ImageRepositorySpec,
    ImageRepositoryStatus, ReflectionPolicy, SemVerPolicy, TagFilter as ApiTagFilter,
};
use ferroflux_api::meta::{AccessFrom, NamespaceSelector, NamespacedObjectReference, condition};
use k8s_openapi::jiff::Timestamp;

use super::*;
use crate::clock::FixedClock;
use crate::status::EventType;

const IMAGE: &str = "harbor.thebarkingdog.tw/tbd/keyword_correction";
const CANONICAL: &str = "harbor.thebarkingdog.tw/tbd/keyword_correction";
/// The tags of seed 000's keyword_correction repository.
const SEED_000_TAGS: &[&str] = &[
    "0.13.3",
    "0.13.2",
    "api-0.13.0",
    "streamlit-0.13.0",
    "api-0.12.4",
    "latest",
    "dev-abc",
];

fn clock() -> FixedClock {
    FixedClock::new(Timestamp::from_second(1_778_656_000).unwrap())
}

fn semver_spec(range: &str) -> ImagePolicySpec {
    ImagePolicySpec {
        image_repository_ref: NamespacedObjectReference {
            name: "keyword-correction".into(),
            namespace: None,
        },
        policy: ImagePolicyChoice {
            semver: Some(SemVerPolicy {
                range: range.into(),
            }),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Seed 000's `keyword-correction` policy (04-imagepolicy-keyword-correction.yaml).
fn seed_policy() -> ImagePolicy {
    let mut spec = semver_spec(">=0.0.0");
    spec.filter_tags = Some(ApiTagFilter {
        pattern: r"^(?:api-|streamlit-)?(?P<version>\d+\.\d+\.\d+.*)$".into(),
        extract: "$version".into(),
    });
    policy_with(spec)
}

fn policy_with(spec: ImagePolicySpec) -> ImagePolicy {
    let mut p = ImagePolicy::new("keyword-correction", spec);
    p.metadata.namespace = Some("flux-system".into());
    p.metadata.generation = Some(3);
    p
}

fn repo(namespace: &str) -> ImageRepository {
    let mut r = ImageRepository::new(
        "keyword-correction",
        ImageRepositorySpec {
            image: IMAGE.into(),
            interval: ferroflux_api::Duration::from_secs(300),
            ..Default::default()
        },
    );
    r.metadata.namespace = Some(namespace.into());
    r.status = Some(ImageRepositoryStatus {
        canonical_image_name: Some(CANONICAL.into()),
        ..Default::default()
    });
    r
}

fn db(tags: &[&str]) -> BTreeMap<String, Vec<String>> {
    BTreeMap::from([(
        CANONICAL.to_string(),
        tags.iter().map(|t| t.to_string()).collect(),
    )])
}

/// Digests by reference; counts requests.
#[derive(Default)]
struct FakeDigests {
    digests: RefCell<BTreeMap<String, String>>,
    calls: Cell<u32>,
}

impl FakeDigests {
    fn with(pairs: &[(&str, &str)]) -> Self {
        let f = FakeDigests::default();
        for (r, d) in pairs {
            f.digests.borrow_mut().insert(r.to_string(), d.to_string());
        }
        f
    }
}

impl DigestSource for FakeDigests {
    fn digest(&self, _repo: &ImageRepository, reference: &str) -> Result<String, Error> {
        self.calls.set(self.calls.get() + 1);
        self.digests
            .borrow()
            .get(reference)
            .cloned()
            .ok_or_else(|| Error::Digest {
                reference: reference.to_string(),
                message: "MANIFEST_UNKNOWN".to_string(),
            })
    }
}

fn run_once(policy: &ImagePolicy, repo: Option<&ImageRepository>, tags: &[&str]) -> PolicyResult {
    reconcile(
        policy,
        repo,
        db(tags),
        &NoDigests,
        &clock(),
        &PolicyOptions::default(),
    )
}

fn ready(r: &PolicyResult) -> &ferroflux_api::meta::Condition {
    status::get(&r.status.conditions, condition::READY).expect("Ready condition")
}

#[test]
fn ready_messages_as_flux_composes_them() {
    let r = |name: &str, tag: &str, digest: Option<&str>| ImageRef {
        name: name.into(),
        tag: tag.into(),
        digest: digest.map(str::to_string),
    };
    let cases = [
        (
            r("foo/bar", "1.0.0", None),
            None,
            "Latest image tag for foo/bar resolved to 1.0.0",
        ),
        (
            r("foo/bar", "1.1.0", None),
            Some(r("foo/bar", "1.0.0", None)),
            "Latest image tag for foo/bar resolved to 1.1.0 (previously foo/bar:1.0.0)",
        ),
        (
            r("foo/bar", "1.0.0", None),
            Some(r("foo/bar", "1.0.0", None)),
            "Latest image tag for foo/bar resolved to 1.0.0",
        ),
        (
            r("foo/bar", "1.0.0", Some("sha256:1234567890abcdef")),
            Some(r("foo/bar", "1.0.0", Some("sha256:abcdef1234567890"))),
            "Latest image tag for foo/bar resolved to 1.0.0 with digest sha256:1234567890abcdef (previously foo/bar:1.0.0@sha256:abcdef1234567890)",
        ),
    ];
    for (latest, prev, want) in cases {
        let status = ImagePolicyStatus {
            latest_ref: Some(latest),
            observed_previous_ref: prev,
            ..Default::default()
        };
        assert_eq!(ready_message(&status), want);
    }
}

#[test]
fn seed_000_policies_choose_0_13_3() {
    let cases = [
        ("filterTags with extract", seed_policy()),
        (
            "plain >=0.0.0 skips prefixed tags",
            policy_with(semver_spec(">=0.0.0")),
        ),
    ];
    for (what, policy) in cases {
        let r = run_once(&policy, Some(&repo("flux-system")), SEED_000_TAGS);
        let latest = r.status.latest_ref.as_ref().expect(what);
        assert_eq!(latest.name, IMAGE, "{what}");
        assert_eq!(latest.tag, "0.13.3", "{what}");
        assert_eq!(latest.digest, None, "{what}");
        assert_eq!(r.status.observed_previous_ref, None, "{what}");
        assert_eq!(
            ready(&r).message,
            format!("Latest image tag for {IMAGE} resolved to 0.13.3"),
            "{what}"
        );
        assert_eq!(ready(&r).status, "True");
        assert_eq!(r.status.observed_generation, Some(3));
        assert_eq!(r.outcome, Outcome::Wait, "no timer without Always");
        let e = r.event.clone().expect("event");
        assert_eq!(e.type_, EventType::Normal);
        assert_eq!(e.message, ready(&r).message);
    }
}

#[test]
fn failures_map_to_flux_reasons() {
    struct Case {
        what: &'static str,
        spec: ImagePolicySpec,
        repo: Option<ImageRepository>,
        tags: &'static [&'static str],
        reason: &'static str,
        message: &'static str,
        stalled: bool,
        outcome: Outcome,
    }
    let mut bad_regex = semver_spec(">=0.0.0");
    bad_regex.filter_tags = Some(ApiTagFilter {
        pattern: "(".into(),
        extract: String::new(),
    });
    let mut numeric = semver_spec("");
    numeric.policy = ImagePolicyChoice {
        numerical: Some(Default::default()),
        ..Default::default()
    };
    let mut always = semver_spec(">=0.0.0");
    always.digest_reflection_policy = Some(ReflectionPolicy::Always);
    let mut url = repo("flux-system");
    url.spec.image = "https://ghcr.io/org/app".into();
    let mut tagged = repo("flux-system");
    tagged.spec.image = "ghcr.io/org/app:1.0".into();
    let mut unscanned = repo("flux-system");
    unscanned.status = None;
    let cases = vec![
        Case {
            what: "missing repository",
            spec: semver_spec(">=0.0.0"),
            repo: None,
            tags: SEED_000_TAGS,
            reason: "DependencyNotReady",
            message: "failed to get the referred ImageRepository: referenced ImageRepository does not exist: imagerepositories.image.toolkit.fluxcd.io \"keyword-correction\" not found",
            stalled: false,
            outcome: Outcome::Backoff,
        },
        Case {
            what: "no tags",
            spec: semver_spec(">=0.0.0"),
            repo: Some(repo("flux-system")),
            tags: &[],
            reason: "DependencyNotReady",
            message: "retrying in 30s error: no tags in database",
            stalled: false,
            outcome: Outcome::RequeueAfter(Duration::from_secs(30)),
        },
        Case {
            what: "never scanned",
            spec: semver_spec(">=0.0.0"),
            repo: Some(unscanned),
            tags: SEED_000_TAGS,
            reason: "DependencyNotReady",
            message: "retrying in 30s error: no tags in database",
            stalled: false,
            outcome: Outcome::RequeueAfter(Duration::from_secs(30)),
        },
        Case {
            what: "invalid range",
            spec: semver_spec("1x"),
            repo: Some(repo("flux-system")),
            tags: SEED_000_TAGS,
            reason: "InvalidPolicy",
            message: "invalid policy: ",
            stalled: true,
            outcome: Outcome::Wait,
        },
        Case {
            what: "invalid regex",
            spec: bad_regex,
            repo: Some(repo("flux-system")),
            tags: SEED_000_TAGS,
            reason: "InvalidPolicy",
            message: "failed to filter tags: invalid regular expression pattern '(':",
            stalled: true,
            outcome: Outcome::Wait,
        },
        Case {
            what: "nothing matches",
            spec: semver_spec(">=5.0.0"),
            repo: Some(repo("flux-system")),
            tags: SEED_000_TAGS,
            reason: "Failure",
            message: "unable to determine latest version from provided list",
            stalled: false,
            outcome: Outcome::Backoff,
        },
        Case {
            what: "numerical on a non-number",
            spec: numeric,
            repo: Some(repo("flux-system")),
            tags: &["1", "latest"],
            reason: "Failure",
            message: "failed to parse invalid numeric value 'latest'",
            stalled: false,
            outcome: Outcome::Backoff,
        },
        Case {
            what: "Always without interval",
            spec: always,
            repo: Some(repo("flux-system")),
            tags: SEED_000_TAGS,
            reason: "IntervalNotConfigured",
            message: "spec.interval must be set when spec.digestReflectionPolicy is set to 'Always'",
            stalled: true,
            outcome: Outcome::Wait,
        },
        Case {
            what: "image with scheme",
            spec: semver_spec(">=0.0.0"),
            repo: Some(url),
            tags: SEED_000_TAGS,
            reason: "ImageURLInvalid",
            message: "image 'https://ghcr.io/org/app' should not include URL scheme; remove 'https://'",
            stalled: true,
            outcome: Outcome::Wait,
        },
        Case {
            what: "image with tag",
            spec: semver_spec(">=0.0.0"),
            repo: Some(tagged),
            tags: SEED_000_TAGS,
            reason: "ImageURLInvalid",
            message: "image 'ghcr.io/org/app:1.0' should not include a tag; remove ':1.0'",
            stalled: true,
            outcome: Outcome::Wait,
        },
    ];
    for c in cases {
        let r = run_once(&policy_with(c.spec), c.repo.as_ref(), c.tags);
        let ready = ready(&r);
        assert_eq!(ready.status, "False", "{}", c.what);
        assert_eq!(ready.reason, c.reason, "{}", c.what);
        assert!(
            ready.message.starts_with(c.message),
            "{}: {:?} does not start with {:?}",
            c.what,
            ready.message,
            c.message
        );
        assert_eq!(
            status::is_true(&r.status.conditions, condition::STALLED),
            c.stalled,
            "{}",
            c.what
        );
        assert_eq!(r.outcome, c.outcome, "{}", c.what);
        assert_eq!(r.status.latest_ref, None, "{}", c.what);
        // Stalled is final for this generation; a retry is not.
        let want_gen = if c.stalled { Some(3) } else { None };
        assert_eq!(r.status.observed_generation, want_gen, "{}", c.what);
        let e = r.event.expect("event");
        assert_eq!(e.type_, EventType::Warning, "{}", c.what);
        assert_eq!(e.reason, c.reason, "{}", c.what);
    }
}

#[test]
fn cross_namespace_access() {
    let mut spec = semver_spec(">=0.0.0");
    spec.image_repository_ref.namespace = Some("images".into());
    let policy = policy_with(spec);
    let acl = |labels: &[(&str, &str)]| AccessFrom {
        namespace_selectors: vec![NamespaceSelector {
            match_labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
        }],
    };
    let ns_labels = BTreeMap::from([(
        "flux-system".to_string(),
        BTreeMap::from([("team".to_string(), "platform".to_string())]),
    )]);
    type Case = (
        &'static str,
        Option<AccessFrom>,
        bool,
        Result<(), &'static str>,
    );
    let cases: Vec<Case> = vec![
        (
            "no accessFrom",
            None,
            false,
            Err(
                "failed to get the referred ImageRepository: access denied: 'images/keyword-correction' can't be accessed due to missing ACL labels on 'accessFrom'",
            ),
        ),
        (
            "matching labels",
            Some(acl(&[("team", "platform")])),
            false,
            Ok(()),
        ),
        (
            "empty matchLabels admits all",
            Some(acl(&[])),
            false,
            Ok(()),
        ),
        (
            "label mismatch",
            Some(acl(&[("team", "apps")])),
            false,
            Err(
                "failed to get the referred ImageRepository: access denied: 'images/keyword-correction' can't be accessed due to ACL labels mismatch on namespace 'flux-system'",
            ),
        ),
        (
            "blocked by flag",
            Some(acl(&[])),
            true,
            Err(
                "failed to get the referred ImageRepository: cannot access 'ImageRepository/images/keyword-correction', cross-namespace references have been blocked",
            ),
        ),
    ];
    for (what, access_from, blocked, want) in cases {
        let mut r = repo("images");
        r.spec.access_from = access_from;
        let opts = PolicyOptions {
            namespace_labels: ns_labels.clone(),
            no_cross_namespace_refs: blocked,
            ..Default::default()
        };
        let res = reconcile(
            &policy,
            Some(&r),
            db(SEED_000_TAGS),
            &NoDigests,
            &clock(),
            &opts,
        );
        let ready = ready(&res);
        match want {
            Ok(()) => assert_eq!(ready.status, "True", "{what}: {}", ready.message),
            Err(msg) => {
                assert_eq!(ready.reason, "AccessDenied", "{what}");
                assert_eq!(ready.message, msg, "{what}");
                assert_eq!(res.outcome, Outcome::Backoff, "{what}");
            }
        }
    }
}

#[test]
fn previous_ref_moves_only_when_latest_changes() {
    let policy = seed_policy();
    let r1 = run_once(&policy, Some(&repo("flux-system")), &["0.13.1", "0.13.0"]);
    let mut p = policy.clone();
    p.status = Some(r1.status.clone());
    let r2 = run_once(&p, Some(&repo("flux-system")), SEED_000_TAGS);
    let prev = r2.status.observed_previous_ref.clone().expect("previous");
    assert_eq!(prev.tag, "0.13.1");
    assert_eq!(
        ready(&r2).message,
        format!("Latest image tag for {IMAGE} resolved to 0.13.3 (previously {IMAGE}:0.13.1)")
    );
    assert_eq!(r2.event.as_ref().unwrap().type_, EventType::Normal);
    // Same result again: previous stays, the message too, so only a trace.
    p.status = Some(r2.status.clone());
    let r3 = run_once(&p, Some(&repo("flux-system")), SEED_000_TAGS);
    assert_eq!(r3.status.observed_previous_ref, Some(prev));
    assert_eq!(ready(&r3).message, ready(&r2).message);
    let e = r3.event.clone().unwrap();
    assert_eq!(e.type_, EventType::Trace);
    assert_eq!(e.reason, "Succeeded");
    // Transition time does not move while Ready stays True.
    assert_eq!(
        ready(&r3).last_transition_time,
        ready(&r1).last_transition_time
    );
}

#[test]
fn digest_reflection_policies() {
    let reference = format!("{IMAGE}:0.13.3");
    let other = format!("{IMAGE}:0.13.2");
    struct Case {
        policy: ReflectionPolicy,
        /// Digest calls after each of three runs (0.13.3, 0.13.3, then 0.13.2).
        calls: [u32; 3],
        digest: Option<&'static str>,
        timer: Option<Duration>,
    }
    let cases = [
        Case {
            policy: ReflectionPolicy::Never,
            calls: [0, 0, 0],
            digest: None,
            timer: None,
        },
        Case {
            policy: ReflectionPolicy::IfNotPresent,
            calls: [1, 1, 2],
            digest: Some("sha256:aaa"),
            timer: None,
        },
        Case {
            policy: ReflectionPolicy::Always,
            calls: [1, 2, 3],
            digest: Some("sha256:aaa"),
            timer: Some(Duration::from_secs(120)),
        },
    ];
    for c in cases {
        let mut spec = seed_policy().spec;
        spec.digest_reflection_policy = Some(c.policy);
        if c.policy == ReflectionPolicy::Always {
            spec.interval = Some(ferroflux_api::Duration::from_secs(120));
        }
        let mut policy = policy_with(spec);
        let digests = FakeDigests::with(&[(&reference, "sha256:aaa"), (&other, "sha256:bbb")]);
        let runs: [&[&str]; 3] = [SEED_000_TAGS, SEED_000_TAGS, &["0.13.2"]];
        for (i, tags) in runs.iter().enumerate() {
            let r = reconcile(
                &policy,
                Some(&repo("flux-system")),
                db(tags),
                &digests,
                &clock(),
                &PolicyOptions::default(),
            );
            assert_eq!(digests.calls.get(), c.calls[i], "{:?} run {i}", c.policy);
            if i == 0 {
                let latest = r.status.latest_ref.clone().unwrap();
                assert_eq!(latest.digest.as_deref(), c.digest, "{:?}", c.policy);
                match c.timer {
                    Some(t) => assert_eq!(r.outcome, Outcome::RequeueAfter(t)),
                    None => assert_eq!(r.outcome, Outcome::Wait),
                }
                if let Some(d) = c.digest {
                    assert!(ready(&r).message.ends_with(&format!(" with digest {d}")));
                }
            }
            policy.status = Some(r.status);
        }
    }
}

#[test]
fn digest_failure_is_retried_and_keeps_the_old_ref() {
    let mut spec = seed_policy().spec;
    spec.digest_reflection_policy = Some(ReflectionPolicy::IfNotPresent);
    let policy = policy_with(spec);
    let r = reconcile(
        &policy,
        Some(&repo("flux-system")),
        db(SEED_000_TAGS),
        &FakeDigests::default(),
        &clock(),
        &PolicyOptions::default(),
    );
    assert_eq!(r.outcome, Outcome::Backoff);
    assert_eq!(ready(&r).reason, "Failure");
    assert_eq!(
        ready(&r).message,
        format!(
            "failed fetching digest of {IMAGE}:0.13.3: failed fetching descriptor for \"{IMAGE}:0.13.3\": MANIFEST_UNKNOWN"
        )
    );
    assert_eq!(r.status.latest_ref, None);
}

#[test]
fn reconcile_request_and_suspend() {
    let mut policy = seed_policy();
    policy.metadata.annotations = Some(BTreeMap::from([(
        RECONCILE_REQUEST_ANNOTATION.to_string(),
        "1778656000".to_string(),
    )]));
    let r = run_once(&policy, Some(&repo("flux-system")), SEED_000_TAGS);
    assert_eq!(
        r.status.last_handled_reconcile_at.as_deref(),
        Some("1778656000")
    );
    assert!(r.status.latest_ref.is_some());

    policy.spec.suspend = Some(true);
    let r = run_once(&policy, Some(&repo("flux-system")), SEED_000_TAGS);
    assert_eq!(r.outcome, Outcome::Wait);
    assert_eq!(r.event, None);
    assert_eq!(
        r.status.latest_ref, None,
        "a suspended policy selects nothing"
    );
    assert!(r.status.conditions.is_empty());
}

#[test]
fn store_is_a_tag_source() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        ferroflux_store::Store::open(dir.path().join("tags.redb"), Default::default()).unwrap();
    let tags: Vec<String> = SEED_000_TAGS.iter().map(|t| t.to_string()).collect();
    store
        .put_tags(CANONICAL, &tags, std::time::SystemTime::UNIX_EPOCH)
        .unwrap();
    let r = reconcile(
        &seed_policy(),
        Some(&repo("flux-system")),
        &store,
        &NoDigests,
        &clock(),
        &PolicyOptions::default(),
    );
    assert_eq!(r.status.latest_ref.unwrap().tag, "0.13.3");
}
