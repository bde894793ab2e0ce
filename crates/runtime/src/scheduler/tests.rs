use super::*;

fn key(name: &str) -> ObjectKey {
    ObjectKey::new("ImageRepository", "ns", name)
}

#[tokio::test(start_paused = true)]
async fn timers_fire_in_order_and_triggers_jump_the_queue() {
    let (mut s, handle) = Scheduler::new(SchedulerOptions { jitter_percent: 0 });
    s.schedule_after(key("slow"), Duration::from_secs(60));
    s.schedule_after(key("fast"), Duration::from_secs(10));
    let start = Instant::now();
    assert_eq!(s.next().await, (key("fast"), Trigger::Interval));
    assert_eq!(start.elapsed().as_secs(), 10);
    let h = handle.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        h.trigger(key("hooked"), Trigger::Requested { at: "t1".into() });
    });
    assert_eq!(
        s.next().await,
        (key("hooked"), Trigger::Requested { at: "t1".into() })
    );
    assert_eq!(start.elapsed().as_secs(), 15);
    assert_eq!(s.next().await, (key("slow"), Trigger::Interval));
    assert_eq!(start.elapsed().as_secs(), 60);
}

#[tokio::test(start_paused = true)]
async fn triggers_for_one_object_merge_and_requests_win() {
    let (mut s, handle) = Scheduler::new(SchedulerOptions::default());
    let dep = Trigger::Dependency {
        what: "policy".into(),
    };
    handle.trigger(key("a"), dep.clone());
    handle.trigger(key("b"), dep.clone());
    handle.trigger(key("a"), Trigger::Requested { at: "t".into() });
    handle.trigger(key("a"), dep.clone());
    assert_eq!(
        s.next().await,
        (key("a"), Trigger::Requested { at: "t".into() })
    );
    assert_eq!(s.next().await, (key("b"), dep));
    assert!(s.pending.is_empty());
}

#[tokio::test(start_paused = true)]
async fn remove_forgets_timers_and_triggers() {
    let (mut s, _h) = Scheduler::new(SchedulerOptions::default());
    s.schedule_after(key("gone"), Duration::from_secs(1));
    s.trigger(key("gone"), Trigger::Interval);
    s.schedule_after(key("kept"), Duration::from_secs(100));
    s.remove(&key("gone"));
    assert!(s.due_in(&key("gone")).is_none());
    assert_eq!(s.next().await.0, key("kept"));
}

#[tokio::test(start_paused = true)]
async fn jitter_stays_within_the_percentage_and_varies() {
    let (mut s, _h) = Scheduler::new(SchedulerOptions { jitter_percent: 10 });
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..200 {
        let k = key(&format!("o{i}"));
        s.schedule_after(k.clone(), Duration::from_secs(100));
        let d = s.due_in(&k).unwrap().as_millis();
        assert!((90_000..=110_000).contains(&d), "{d}");
        seen.insert(d / 1000);
    }
    assert!(seen.len() > 5, "no spread: {seen:?}");
}

/// Issue 13 item 6: a delay no clock can hold (an interval or a
/// `Retry-After` from a stranger) saturates instead of panicking.
#[tokio::test(start_paused = true)]
async fn a_huge_delay_saturates() {
    let (mut s, _handle) = Scheduler::new(SchedulerOptions::default());
    s.schedule_after(key("never"), Duration::MAX);
    s.schedule_after(key("soon"), Duration::from_secs(10));
    assert_eq!(s.next().await, (key("soon"), Trigger::Interval));
    assert!(s.due_in(&key("never")).unwrap() >= MAX_DELAY / 2);
}
