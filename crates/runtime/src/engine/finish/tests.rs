use std::time::{Duration, Instant};

use ferroflux_api::image::ImagePolicy;
use serde_json::json;

use super::*;
use crate::automate::AutomateOptions;
use crate::state::StatusStore;

#[test]
fn next_run_follows_the_outcome_and_doubles_retries_up_to_five_minutes() {
    let base = Duration::from_secs(1);
    let mut failures = 0;
    let mut seen = Vec::new();
    for _ in 0..11 {
        seen.push(next_run(Outcome::Backoff, &mut failures, base).map(|d| d.as_secs()));
    }
    assert_eq!(seen, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300].map(Some));
    assert_eq!(failures, 11);
    // Far past 2^16 failures the delay stays capped, nothing overflows.
    let mut many = u32::MAX;
    assert_eq!(
        next_run(Outcome::Backoff, &mut many, base),
        Some(Duration::from_secs(300))
    );
    assert_eq!(many, u32::MAX);
    assert_eq!(
        next_run(Outcome::RequeueAfter(Duration::ZERO), &mut failures, base),
        Some(Duration::from_secs(1)),
        "never faster than once a second"
    );
    assert_eq!(failures, 0);
    failures = 3;
    assert_eq!(next_run(Outcome::Wait, &mut failures, base), None);
    assert_eq!(failures, 0);
}

#[test]
fn conditions_of_an_encoded_status() {
    let s = json!({"conditions": [{"type": "Ready", "status": "True", "reason": "Succeeded",
        "message": "ok", "lastTransitionTime": "2025-01-01T00:00:00Z"}]});
    let c = conditions(Some(&s));
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].reason, "Succeeded");
    assert!(conditions(None).is_empty());
    assert!(conditions(Some(&json!({}))).is_empty());
    assert!(conditions(Some(&json!({"conditions": "not a list"}))).is_empty());
}

fn runner_with_policy() -> (Runner, ObjectKey, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = StatusStore::open(&dir.path().join("s.redb")).expect("state");
    let mut r = Runner::new(AutomateOptions::default(), state).expect("runner");
    let key = ObjectKey::new(crate::automate::IMAGE_POLICY, "apps", "web");
    let p: ImagePolicy = serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "apps"},
        "spec": {"imageRepositoryRef": {"name": "web"}, "policy": {"semver": {"range": ">=1"}}}
    }))
    .expect("policy");
    r.objects.image_policies.insert(key.clone(), p);
    (r, key, dir)
}

fn finished(key: &ObjectKey, tag: &str, saved: Result<(), Box<AutomateError>>) -> Finished {
    let status = json!({"latestRef": {"name": "r.example/web", "tag": tag}});
    Finished::new(
        key,
        Instant::now(),
        false,
        &status,
        Said::Event(None),
        Outcome::Wait,
        None,
        saved,
    )
    .expect("encodes")
}

#[tokio::test]
async fn finish_stores_the_status_and_says_whether_readers_must_run() {
    let (mut r, key, _d) = runner_with_policy();
    let e = r
        .finish(finished(&key, "1.0.0", Ok(())))
        .await
        .expect("finish");
    assert_eq!(
        e,
        Effects {
            readers: vec!["ImageUpdateAutomation"],
            pushed: false
        }
    );
    let tag = |r: &Runner| {
        r.objects.image_policies[&key]
            .status
            .as_ref()
            .and_then(|s| s.latest_ref.as_ref())
            .map(|l| l.tag.clone())
    };
    assert_eq!(tag(&r).as_deref(), Some("1.0.0"));
    // The same latestRef again: nothing to trigger.
    let e = r
        .finish(finished(&key, "1.0.0", Ok(())))
        .await
        .expect("finish");
    assert!(e.readers.is_empty());
    // An object that left the objects meanwhile is not brought back.
    r.objects.remove(&key);
    let e = r
        .finish(finished(&key, "2.0.0", Ok(())))
        .await
        .expect("finish");
    assert!(e.readers.is_empty());
    assert!(r.objects.image_policies.is_empty());
}

#[tokio::test]
async fn a_failed_status_write_fails_the_reconcile_and_keeps_the_old_status() {
    let (mut r, key, _d) = runner_with_policy();
    let failed = Err(Box::new(AutomateError::Join("disk full".into())));
    let err = r
        .finish(finished(&key, "1.0.0", failed))
        .await
        .expect_err("the write failed");
    assert!(err.to_string().contains("disk full"), "{err}");
    assert!(r.objects.image_policies[&key].status.is_none());
}

#[tokio::test]
async fn a_push_is_remembered_for_the_summary() {
    let (mut r, _key, _d) = runner_with_policy();
    let auto = ObjectKey::new(crate::automate::IMAGE_UPDATE_AUTOMATION, "apps", "a");
    let f = Finished::new(
        &auto,
        Instant::now(),
        false,
        &json!({}),
        Said::Event(None),
        Outcome::Wait,
        Some("abc123".into()),
        Ok(()),
    )
    .expect("encodes");
    let e = r.finish(f).await.expect("finish");
    assert!(e.pushed && e.readers.is_empty());
    assert_eq!(r.pushed.get(&auto).map(String::as_str), Some("abc123"));
}
