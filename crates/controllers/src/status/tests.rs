use super::*;
use k8s_openapi::jiff::Timestamp;

fn at(secs: i64) -> Time {
    Time(Timestamp::from_second(secs).unwrap())
}

#[test]
fn ready_after_success_and_never_next_to_stalled() {
    let mut list = Vec::new();
    finish(
        &mut list,
        Some(1),
        at(1),
        &Err(StepError::stalled("ImageURLInvalid", "bad")),
    );
    assert!(is_true(&list, condition::STALLED));
    assert!(!is_true(&list, condition::READY));
    assert_eq!(
        get(&list, condition::READY).unwrap().reason,
        "ImageURLInvalid"
    );
    finish(
        &mut list,
        Some(2),
        at(2),
        &Ok("successful scan: found 3 tags".into()),
    );
    assert!(is_true(&list, condition::READY));
    assert!(get(&list, condition::STALLED).is_none());
    assert!(get(&list, condition::RECONCILING).is_none());
    assert_eq!(
        get(&list, condition::READY).unwrap().observed_generation,
        Some(2)
    );
}

#[test]
fn retry_keeps_reconciling_with_retry_reason() {
    let mut list = Vec::new();
    let err = StepError::retry("ReadOperationFailed", "scan failed: 429");
    finish(&mut list, None, at(1), &Err(err.clone()));
    let r = get(&list, condition::RECONCILING).unwrap();
    assert_eq!(r.reason, reason::PROGRESSING_WITH_RETRY);
    assert_eq!(
        get(&list, condition::READY).unwrap().message,
        "scan failed: 429"
    );
    assert_eq!(
        outcome(&Err(err), Some(Duration::from_secs(60))),
        Outcome::Backoff
    );
}

#[test]
fn transition_time_moves_only_with_status() {
    let mut list = Vec::new();
    finish(&mut list, None, at(1), &Ok("a".into()));
    finish(&mut list, None, at(5), &Ok("b".into()));
    let ready = get(&list, condition::READY).unwrap();
    assert_eq!(ready.last_transition_time, at(1));
    assert_eq!(ready.message, "b");
    finish(
        &mut list,
        None,
        at(9),
        &Err(StepError::retry("Failed", "x")),
    );
    assert_eq!(
        get(&list, condition::READY).unwrap().last_transition_time,
        at(9)
    );
}

#[test]
fn outcomes() {
    let d = Duration::from_secs(5);
    assert_eq!(
        outcome(&Ok(String::new()), Some(d)),
        Outcome::RequeueAfter(d)
    );
    assert_eq!(outcome(&Ok(String::new()), None), Outcome::Wait);
    assert_eq!(
        outcome(&Err(StepError::stalled("X", "y")), Some(d)),
        Outcome::Wait
    );
    let w = StepError::waiting("DependencyNotReady", "no tags", d);
    assert_eq!(outcome(&Err(w), None), Outcome::RequeueAfter(d));
}

#[test]
fn notify_follows_flux() {
    let ready = |ok: bool, msg: &str| {
        let mut list = Vec::new();
        let result = if ok {
            Ok(msg.to_string())
        } else {
            Err(StepError::retry("Failure", msg))
        };
        finish(&mut list, Some(1), at(1), &result);
        list
    };
    let cases = [
        (
            "first success",
            vec![],
            ready(true, "a"),
            EventType::Normal,
            "a",
        ),
        (
            "recovered",
            ready(false, "x"),
            ready(true, "a"),
            EventType::Normal,
            "a",
        ),
        (
            "message changed",
            ready(true, "a"),
            ready(true, "b"),
            EventType::Normal,
            "b",
        ),
        (
            "unchanged",
            ready(true, "a"),
            ready(true, "a"),
            EventType::Trace,
            "trace",
        ),
        (
            "failed",
            ready(true, "a"),
            ready(false, "x"),
            EventType::Warning,
            "x",
        ),
    ];
    for (what, before, after, type_, message) in cases {
        let e = notify(&before, &after, "trace");
        assert_eq!((e.type_, e.message.as_str()), (type_, message), "{what}");
    }
}
