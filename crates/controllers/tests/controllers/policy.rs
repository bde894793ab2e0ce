//! ImagePolicy against Flux's message vectors and the seeds' policies.

use std::collections::BTreeMap;

use ferroflux_api::image::{
    ImagePolicy, ImagePolicyStatus, ImageRef, ImageRepository, ImageRepositorySpec,
    ImageRepositoryStatus,
};
use ferroflux_api::manifest::Object;
use ferroflux_api::meta::condition;
use ferroflux_controllers::image::policy::{
    NoDigests, PolicyOptions, PolicyResult, ready_message, reconcile,
};
use ferroflux_controllers::status;

use crate::{clock, conformance_dir, seed_object};

fn image_ref(v: &serde_json::Value) -> Option<ImageRef> {
    if v.is_null() {
        return None;
    }
    Some(ImageRef {
        name: v["name"].as_str()?.to_string(),
        tag: v["tag"].as_str()?.to_string(),
        digest: v["digest"].as_str().map(str::to_string),
    })
}

fn messages() -> Option<serde_json::Value> {
    let path = conformance_dir()?.join("flux-image/messages.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    Some(serde_json::from_str(&text).expect("messages.json is JSON"))
}

#[test]
fn ready_messages_match_flux_vectors() {
    let Some(m) = messages() else { return };
    let cases = m["imagepolicy_ready_message"]["cases"]
        .as_array()
        .expect("cases");
    assert!(cases.len() >= 5);
    for c in cases {
        let status = ImagePolicyStatus {
            latest_ref: image_ref(&c["latestRef"]),
            observed_previous_ref: image_ref(&c["observedPreviousRef"]),
            ..Default::default()
        };
        assert_eq!(
            ready_message(&status),
            c["expected"].as_str().expect("expected"),
            "{c}"
        );
    }
}

fn repo(name: &str, namespace: &str, image: &str) -> ImageRepository {
    let mut r = ImageRepository::new(
        name,
        ImageRepositorySpec {
            image: image.into(),
            interval: ferroflux_api::Duration::from_secs(300),
            ..Default::default()
        },
    );
    r.metadata.namespace = Some(namespace.into());
    r.status = Some(ImageRepositoryStatus {
        canonical_image_name: Some(image.into()),
        ..Default::default()
    });
    r
}

fn seed_policy(rel: &str) -> Option<ImagePolicy> {
    match seed_object(rel)? {
        (_, Object::ImagePolicy(p)) => Some(p),
        (v, other) => panic!("{rel}: not an ImagePolicy ({v}): {other:?}"),
    }
}

fn run(policy: &ImagePolicy, repo: &ImageRepository, tags: &[&str]) -> PolicyResult {
    let image = repo.spec.image.clone();
    let db = BTreeMap::from([(image, tags.iter().map(|t| t.to_string()).collect())]);
    reconcile(
        policy,
        Some(repo),
        db,
        &NoDigests,
        &clock(),
        &PolicyOptions::default(),
    )
}

fn ready(r: &PolicyResult) -> (String, String, String) {
    let c = status::get(&r.status.conditions, condition::READY).expect("Ready");
    (c.status.clone(), c.reason.clone(), c.message.clone())
}

/// Seed 000: the Harbor tags, a previous 0.13.1, and the article's message.
#[test]
fn seed_000_keyword_correction_resolves_to_0_13_3() {
    let Some(mut policy) = seed_policy("000/04-imagepolicy-keyword-correction.yaml") else {
        return;
    };
    let image = "harbor.thebarkingdog.tw/tbd/keyword_correction";
    let repo = repo("keyword-correction", "flux-system", image);
    let tags = [
        "0.13.3",
        "0.13.2",
        "api-0.13.0",
        "streamlit-0.13.0",
        "api-0.12.4",
        "latest",
        "dev-abc",
    ];
    policy.status = Some(ImagePolicyStatus {
        latest_ref: Some(ImageRef {
            name: image.into(),
            tag: "0.13.1".into(),
            digest: None,
        }),
        ..Default::default()
    });
    let r = run(&policy, &repo, &tags);
    assert_eq!(
        ready(&r),
        (
            "True".into(),
            "Succeeded".into(),
            format!("Latest image tag for {image} resolved to 0.13.3 (previously {image}:0.13.1)")
        )
    );
    assert_eq!(r.status.latest_ref.unwrap().tag, "0.13.3");
    assert_eq!(r.status.observed_previous_ref.unwrap().tag, "0.13.1");
}

/// Seed 004's four-part filter admits none of the tags its CI pushes.
#[test]
fn seed_004_policy_never_resolves() {
    let Some(policy) = seed_policy("004/05-imagepolicy.yaml") else {
        return;
    };
    let repo = repo(
        "blog-repo",
        "blog",
        "ghcr.io/ruedigerp/ink-blog.kuepper.nrw",
    );
    let r = run(
        &policy,
        &repo,
        &["v1.9.31", "v1.9.32-stage.1", "v1.9.32-develop.2"],
    );
    let (status, reason, message) = ready(&r);
    assert_eq!((status.as_str(), reason.as_str()), ("False", "Failure"));
    assert!(
        message == "version list argument cannot be empty"
            || message == "unable to determine latest version from provided list",
        "{message}"
    );
    assert_eq!(r.status.latest_ref, None);
}

#[test]
fn other_messages_match_flux_vectors() {
    let Some(m) = messages() else { return };
    let Some(policy) = seed_policy("000/03-imagepolicy-realtime-asr.yaml") else {
        return;
    };
    let no_tags = &m["other_messages"]["imagepolicy_no_tags"];
    let repo = repo("realtime-asr", "flux-system", "harbor.example/asr");
    let r = run(&policy, &repo, &[]);
    assert_eq!(
        ready(&r),
        (
            "False".into(),
            no_tags["reason"].as_str().unwrap().into(),
            no_tags["ready_message"].as_str().unwrap().into()
        )
    );

    let interval = &m["other_messages"]["imagepolicy_interval_missing"];
    let mut always = policy.clone();
    always.spec.digest_reflection_policy = Some(ferroflux_api::image::ReflectionPolicy::Always);
    let r = run(&always, &repo, &["1.0.0"]);
    let msg = interval["stalled_and_ready_message"].as_str().unwrap();
    assert_eq!(
        ready(&r),
        (
            "False".into(),
            interval["reason"].as_str().unwrap().into(),
            msg.into()
        )
    );
    let stalled = status::get(&r.status.conditions, condition::STALLED).expect("Stalled");
    assert_eq!(stalled.message, msg);

    let mut sa_repo = repo.clone();
    sa_repo.spec.provider = Some(ferroflux_api::image::RegistryProvider::Aws);
    sa_repo.spec.service_account_name = Some("ecr-reader".into());
    let r = run(&policy, &sa_repo, &["1.0.0"]);
    assert_eq!(
        ready(&r).2,
        m["other_messages"]["imagepolicy_feature_gate"]
            .as_str()
            .unwrap()
    );

    // The other kinds' fixed messages, read from the vectors too.
    let other = &m["other_messages"];
    let scanned = ferroflux_api::image::ImageRepositoryStatus {
        last_scan_result: Some(ferroflux_api::image::ScanResult {
            tag_count: 4,
            revision: Some("sha256:ab".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let want = other["imagerepository_ready_format"]
        .as_str()
        .unwrap()
        .replacen("%d", "4", 1)
        .replacen("%s", "sha256:ab", 1);
    assert_eq!(
        ferroflux_controllers::image::repository::ready_message(&scanned),
        want
    );
    assert_eq!(
        ferroflux_controllers::image::automation::READY_MESSAGE,
        other["imageupdateautomation_ready"].as_str().unwrap()
    );
    assert_eq!(
        ferroflux_controllers::image::automation::NO_CHANGE_MESSAGE,
        other["imageupdateautomation_noop_event"].as_str().unwrap()
    );
}
