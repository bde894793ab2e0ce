use super::*;

fn refs() -> Vec<ObjRef> {
    ["a", "b", "c"]
        .iter()
        .map(|n| ObjRef {
            meta: ObjMetadata::new("default", n, "apps", "Deployment"),
            version: "v1".into(),
        })
        .collect()
}

fn h(status: Status, message: &str) -> Health {
    Health {
        status,
        message: message.into(),
    }
}

#[test]
fn timeout_lists_what_is_not_current_in_order() {
    let last = [
        h(Status::InProgress, "Ready: 0/1"),
        h(Status::Current, "ok"),
        h(Status::Unknown, "forbidden"),
    ];
    let statuses: Vec<Status> = last.iter().map(|h| h.status).collect();
    let err =
        verdict(&refs(), &statuses, &last, true, Duration::from_secs(1)).expect_err("timeout");
    assert_eq!(
        err.to_string(),
        "timeout waiting for: [Deployment/default/a status: 'InProgress', Deployment/default/c status: 'Unknown': forbidden]"
    );
}

#[test]
fn failed_objects_stop_early() {
    let last = [
        h(Status::Failed, "Progress deadline exceeded"),
        h(Status::Current, "ok"),
        h(Status::InProgress, "x"),
    ];
    let statuses: Vec<Status> = last.iter().map(|h| h.status).collect();
    let err =
        verdict(&refs(), &statuses, &last, false, Duration::from_secs(1)).expect_err("failed");
    assert_eq!(
        err.to_string(),
        "failed early due to stalled resources: [Deployment/default/a status: 'Failed']"
    );
    let all_current = [Status::Current; 3];
    let ok = [
        h(Status::Current, ""),
        h(Status::Current, ""),
        h(Status::Current, ""),
    ];
    assert!(verdict(&refs(), &all_current, &ok, false, Duration::ZERO).is_ok());
}
