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
    r.objects.of_mut::<ImagePolicy>().insert(key.clone(), p);
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
        r.objects.of::<ImagePolicy>()[&key]
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
    assert!(r.objects.of::<ImagePolicy>().is_empty());
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
    assert!(r.objects.of::<ImagePolicy>()[&key].status.is_none());
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

use crate::home::recording::Recording;

#[tokio::test]
async fn the_event_of_a_reconcile_is_recorded_by_the_home() {
    let (r, key, _d) = runner_with_policy();
    let home = std::sync::Arc::new(Recording::default());
    let mut r = r.with_home(home.clone());
    let mut f = finished(&key, "1.0.0", Ok(()));
    f.said = Said::Event(Some(Event {
        type_: EventType::Normal,
        reason: "Succeeded".into(),
        message: "Latest image tag for r.example/web resolved to 1.0.0".into(),
    }));
    r.finish(f).await.expect("finish");
    // Without an event, nothing is recorded.
    r.finish(finished(&key, "1.0.0", Ok(())))
        .await
        .expect("finish");
    assert_eq!(
        *home.events.lock().unwrap(),
        [(Some("web".to_string()), "Succeeded".to_string())]
    );
}

#[tokio::test]
async fn a_job_writes_its_status_to_the_home_with_the_status_it_started_from() {
    let (r, key, _d) = runner_with_policy();
    let home = std::sync::Arc::new(Recording::default());
    let mut r = r.with_home(home.clone());
    r.finish(finished(&key, "1.0.0", Ok(())))
        .await
        .expect("finish");
    let before = r.objects.status_json(&key);
    assert!(before.is_some());
    let new = json!({"latestRef": {"name": "r.example/web", "tag": "1.1.0"}});
    r.save(&key, new.clone()).await.expect("written");
    assert_eq!(*home.writes.lock().unwrap(), [(key.clone(), before, new)]);
}

#[tokio::test]
async fn a_status_the_home_refuses_is_a_refusal_naming_the_object() {
    let (r, key, _d) = runner_with_policy();
    let home = std::sync::Arc::new(Recording {
        refuse: true,
        ..Recording::default()
    });
    let r = r.with_home(home);
    let err = r.save(&key, json!({})).await.expect_err("refused");
    assert!(
        matches!(
            err,
            AutomateError::Home(crate::home::HomeError::Refused { .. })
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "ImagePolicy apps/web: status update failed: forbidden"
    );
}

/// In a pass, a status the home refuses fails its object (retried), not
/// the run; a home whose own store fails stops the run.
#[tokio::test]
async fn a_pass_goes_on_past_a_refused_status_and_stops_on_a_broken_store() {
    let (r, key, _d) = runner_with_policy();
    let home = std::sync::Arc::new(Recording {
        refuse: true,
        ..Recording::default()
    });
    let mut r = r.with_home(home);
    let summary = r.run_once().await.expect("the pass goes on");
    assert!(summary.lines.iter().any(|l| l.key == key), "{summary}");
    assert_eq!(r.failures.get(&key), Some(&1));

    let (r, _key, _d) = runner_with_policy();
    let home = std::sync::Arc::new(Recording {
        broken_store: true,
        ..Recording::default()
    });
    let mut r = r.with_home(home);
    let err = r.run_once().await.expect_err("the store is broken");
    assert!(
        matches!(err, AutomateError::Home(crate::home::HomeError::Store(_))),
        "{err:?}"
    );
}
