use super::*;
use crate::scheduler::{Scheduler, SchedulerOptions};
use ferroflux_api::notification::{CrossNamespaceObjectReference, ReceiverType};
use ferroflux_controllers::FixedClock;
use k8s_openapi::jiff::Timestamp;

fn table(serving: bool) -> (ReceiverTable, String) {
    let path = receiver::webhook_path("s3cr3t", "harbor", "flux-system");
    let spec = ReceiverSpec {
        receiver_type: ReceiverType::Harbor,
        resources: vec![
            CrossNamespaceObjectReference {
                kind: "ImageRepository".into(),
                name: "app".into(),
                ..Default::default()
            },
            CrossNamespaceObjectReference {
                kind: "ImageRepository".into(),
                name: "gone".into(),
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    let t = ReceiverTable::default();
    t.set(
        BTreeMap::from([(
            path.clone(),
            Endpoint {
                key: ObjectKey::new("Receiver", "flux-system", "harbor"),
                spec,
                token: "s3cr3t".into(),
                serving,
            },
        )]),
        vec![Candidate {
            kind: "ImageRepository".into(),
            namespace: "flux-system".into(),
            name: "app".into(),
            labels: BTreeMap::new(),
        }],
    );
    (t, path)
}

#[tokio::test]
async fn answers_and_triggers() {
    let clock = FixedClock::new(Timestamp::from_second(1_700_000_000).unwrap());
    let auth = |v: &str| WebhookRequest {
        headers: BTreeMap::from([("authorization".to_string(), v.to_string())]),
        body: Vec::new(),
    };
    // (case, serving, path suffix ok, header, status, triggered)
    let cases = [
        ("unknown path", true, false, "s3cr3t", 404, 0),
        ("not ready", false, true, "s3cr3t", 503, 0),
        ("wrong token", true, true, "wrong", 401, 0),
        // 'gone' does not exist: 'app' is still triggered, the answer is 500
        ("one resource missing", true, true, "s3cr3t", 500, 1),
    ];
    for (case, serving, good_path, header, status, triggered) in cases {
        let (t, path) = table(serving);
        let (mut sched, handle) = Scheduler::new(SchedulerOptions::default());
        let path = if good_path {
            path
        } else {
            "/hook/0000".to_string()
        };
        let got = handle_request(&t, &handle, &clock, &path, &auth(header));
        assert_eq!(got.status, status, "{case}: {}", got.message);
        assert_eq!(got.triggered.len(), triggered, "{case}");
        assert!(!got.message.contains("s3cr3t"), "{case}: {}", got.message);
        if triggered > 0 {
            let (key, trigger) = sched.next().await;
            assert_eq!(key.to_string(), "ImageRepository/flux-system/app");
            assert_eq!(
                trigger,
                Trigger::Requested {
                    at: "2023-11-14T22:13:20Z".into()
                }
            );
        } else {
            sched.drain_triggers();
            assert!(sched.pending.is_empty(), "{case}");
        }
    }
}

#[tokio::test]
async fn bind_accepts_a_bare_port() {
    let l = bind("127.0.0.1:0").await.unwrap();
    assert!(l.local_addr().unwrap().port() > 0);
    assert!(bind("not-an-address").await.is_err());
}

#[test]
fn endpoint_debug_hides_the_token() {
    let e = Endpoint {
        key: ObjectKey::new("Receiver", "flux-system", "harbor"),
        spec: ReceiverSpec::default(),
        token: "s3cr3t-token".into(),
        serving: true,
    };
    let shown = format!("{e:?}");
    assert!(!shown.contains("s3cr3t-token"), "{shown}");
    assert!(shown.contains("***") && shown.contains("harbor"), "{shown}");
}
