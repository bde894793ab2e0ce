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

#[tokio::test]
async fn jobs_run_at_most_the_limit_and_hold_objects_and_resources() {
    let mut jobs: Jobs<u32> = Jobs::new(2);
    let (tx_a, rx_a) = tokio::sync::oneshot::channel::<u32>();
    let (tx_b, rx_b) = tokio::sync::oneshot::channel::<u32>();
    let clone = vec!["git http://h/r.git".to_string()];
    assert!(jobs.has_room() && jobs.is_empty());
    jobs.spawn(
        key("a"),
        clone.clone(),
        async move { rx_a.await.unwrap_or(0) },
    );
    assert!(jobs.has_room());
    // The same object, or another one on the same clone, cannot start.
    assert!(!jobs.can_start(&key("a"), &[]));
    assert!(!jobs.can_start(&key("c"), &clone));
    assert!(jobs.can_start(&key("c"), &["git http://h/other.git".to_string()]));
    jobs.spawn(key("b"), Vec::new(), async move { rx_b.await.unwrap_or(0) });
    // Two ImageRepositories work: that kind is full, another kind is not.
    assert!(!jobs.can_start(&key("d"), &[]));
    assert!(jobs.has_room());
    assert!(jobs.can_start(&ObjectKey::new("Kustomization", "ns", "k"), &[]));
    assert_eq!(jobs.running(), 2);
    jobs.defer(key("c"), Trigger::Interval);
    jobs.defer(
        key("c"),
        Trigger::Requested {
            at: "now".to_string(),
        },
    );
    jobs.defer(key("a"), Trigger::Interval);
    // The second job finishes first: its result comes first, with its key.
    tx_b.send(2).unwrap();
    assert_eq!(jobs.join_next().await, Some((key("b"), Ok(2))));
    assert!(jobs.has_room());
    assert!(!jobs.can_start(&key("c"), &clone));
    tx_a.send(1).unwrap();
    assert_eq!(jobs.join_next().await, Some((key("a"), Ok(1))));
    assert!(jobs.can_start(&key("c"), &clone));
    assert_eq!(
        jobs.take_deferred(),
        vec![
            (
                key("c"),
                Trigger::Requested {
                    at: "now".to_string()
                }
            ),
            (key("a"), Trigger::Interval),
        ]
    );
    assert!(jobs.take_deferred().is_empty());
    assert_eq!(jobs.join_next().await, None);
}

#[tokio::test]
async fn a_job_that_panics_comes_back_as_an_error_with_its_key() {
    let mut jobs: Jobs<u32> = Jobs::new(0);
    assert!(jobs.has_room(), "a limit of 0 means 1");
    jobs.spawn(key("boom"), vec!["r".to_string()], async {
        panic!("reconciler bug")
    });
    assert!(!jobs.can_start(&key("other"), &[]));
    let (k, result) = jobs.join_next().await.unwrap();
    assert_eq!(k, key("boom"));
    assert!(result.unwrap_err().contains("panic"));
    assert!(jobs.can_start(&key("other"), &["r".to_string()]));
}

#[tokio::test]
async fn a_parked_job_frees_its_worker_and_its_deferred_triggers() {
    let mut jobs: Jobs<u32> = Jobs::new(1);
    let wakeups = jobs.wakeups();
    let (tx, rx) = tokio::sync::oneshot::channel::<u32>();
    let (parked_tx, parked_rx) = tokio::sync::oneshot::channel::<()>();
    jobs.spawn(key("waits"), Vec::new(), async move {
        // Work first (holding the worker), then wait parked.
        parked_rx.await.ok();
        ferroflux_controllers::park::parked(rx).await.unwrap_or(0)
    });
    assert!(!jobs.can_start(&key("next"), &[]), "one worker, working");
    jobs.defer(key("next"), Trigger::Interval);
    jobs.defer(key("after"), Trigger::Interval);
    assert!(jobs.take_deferred().is_empty(), "no room: both kept");
    parked_tx.send(()).unwrap();
    wakeups.freed().await;
    assert!(jobs.can_start(&key("next"), &[]));
    // One worker is free: one deferred trigger comes back, one stays.
    assert_eq!(jobs.take_deferred(), vec![(key("next"), Trigger::Interval)]);
    jobs.spawn(key("next"), Vec::new(), async { 2 });
    assert_eq!(jobs.join_next().await, Some((key("next"), Ok(2))));
    tx.send(1).unwrap();
    assert_eq!(jobs.join_next().await, Some((key("waits"), Ok(1))));
    assert_eq!(
        jobs.take_deferred(),
        vec![(key("after"), Trigger::Interval)]
    );
}
