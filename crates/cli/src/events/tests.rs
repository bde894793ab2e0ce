use k8s_openapi::api::core::v1::{EventSeries, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};

use super::*;

#[test]
fn human_duration_like_apimachinery() {
    let cases: [(i64, &str); 17] = [
        (-5, "<invalid>"),
        (-1, "0s"),
        (0, "0s"),
        (119, "119s"),
        (120, "2m"),
        (121, "2m1s"),
        (599, "9m59s"),
        (600, "10m"),
        (3 * 3600 - 1, "179m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 60, "3h1m"),
        (8 * 3600, "8h"),
        (47 * 3600 + 59, "47h"),
        (48 * 3600, "2d"),
        (49 * 3600, "2d1h"),
        (8 * 86400, "8d"),
        (3 * 365 * 86400 + 86400, "3y1d"),
    ];
    for (secs, want) in cases {
        assert_eq!(human_duration(secs), want, "{secs}");
    }
    assert_eq!(human_duration(9 * 365 * 86400), "9y");
}

#[test]
fn for_selector_and_kinds() {
    assert_eq!(
        parse_for("Kustomization/app"),
        Ok(("Kustomization", Some("app")))
    );
    assert_eq!(parse_for("kustomization"), Ok(("kustomization", None)));
    assert!(parse_for("/app").is_err());
    assert_eq!(
        flux_kind_of("gitrepository").map(|k| k.kind),
        Some("GitRepository")
    );
    assert!(flux_kind_of("Deployment").is_none());
    assert_eq!(
        field_selector("Kustomization", Some("app")),
        "involvedObject.kind=Kustomization,involvedObject.name=app"
    );
}

fn event(kind: &str, type_: &str, at: Timestamp) -> Event {
    Event {
        involved_object: ObjectReference {
            kind: Some(kind.to_string()),
            name: Some("x".to_string()),
            ..Default::default()
        },
        type_: Some(type_.to_string()),
        event_time: Some(MicroTime(at)),
        ..Default::default()
    }
}

#[test]
fn last_seen_of_single_and_repeated_events() {
    let now = Timestamp::from_second(1_796_500_000).expect("ts");
    let ago = |s: i64| Timestamp::from_second(1_796_500_000 - s).expect("ts");
    let mut e = event("Kustomization", "Normal", ago(300));
    assert_eq!(last_seen(&e, now), "5m");
    e.series = Some(EventSeries {
        count: Some(3),
        last_observed_time: Some(MicroTime(ago(30))),
    });
    assert_eq!(last_seen(&e, now), "30s (x3 over 5m)");
    assert_eq!(sort_time(&e), ago(30));
    // A core/v1 event from an older recorder: timestamps and a count.
    let old = Event {
        event_time: None,
        first_timestamp: Some(Time(ago(7200))),
        last_timestamp: Some(Time(ago(60))),
        count: Some(4),
        ..event("GitRepository", "Warning", ago(0))
    };
    assert_eq!(last_seen(&old, now), "60s (x4 over 120m)");
    assert_eq!(sort_time(&old), ago(60));
    let none = Event {
        event_time: None,
        ..event("GitRepository", "Normal", ago(0))
    };
    assert_eq!(last_seen(&none, now), "<unknown>");
}

#[test]
fn only_flux_kinds_and_asked_types() {
    let now = Timestamp::now();
    assert!(keep(&event("Kustomization", "Normal", now), &[]));
    assert!(!keep(&event("Deployment", "Normal", now), &[]));
    let warning = vec!["warning".to_string()];
    assert!(keep(&event("GitRepository", "Warning", now), &warning));
    assert!(!keep(&event("GitRepository", "Normal", now), &warning));
}
