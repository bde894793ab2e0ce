use super::*;

#[test]
fn a_huge_timeout_is_no_deadline_rather_than_a_panic() {
    assert!(Deadline::after(Some(Duration::MAX)).is_none());
    assert!(Deadline::after(None).is_none());
    let d = Deadline::after(Some(Duration::from_secs(5))).expect("a deadline");
    assert_eq!(d.timeout, Duration::from_secs(5));
    assert!(d.at > Instant::now());
}
