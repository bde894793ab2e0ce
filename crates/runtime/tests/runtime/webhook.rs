use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ferroflux_api::notification::{CrossNamespaceObjectReference, ReceiverSpec, ReceiverType};
use ferroflux_controllers::SystemClock;
use ferroflux_controllers::notification::receiver::{self, Candidate};
use ferroflux_runtime::scheduler::{Scheduler, SchedulerOptions};
use ferroflux_runtime::webhook::{self, Endpoint, ReceiverTable};
use ferroflux_runtime::{ObjectKey, Trigger};

/// A raw HTTP/1.1 POST over TCP (the runtime has no HTTP client).
async fn post(addr: std::net::SocketAddr, path: &str, headers: &[(&str, &str)], body: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).await.expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).await.expect("read");
    out.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status line")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generic_hmac_over_http() {
    let token = "hmac-token";
    let path = receiver::webhook_path(token, "hook", "apps");
    let table = ReceiverTable::default();
    table.set(
        BTreeMap::from([(
            path.clone(),
            Endpoint {
                key: ObjectKey::new("Receiver", "apps", "hook"),
                spec: ReceiverSpec {
                    receiver_type: ReceiverType::GenericHmac,
                    resources: vec![CrossNamespaceObjectReference {
                        kind: "ImageRepository".into(),
                        name: "*".into(),
                        match_labels: Some(BTreeMap::from([("team".into(), "a".into())])),
                        ..Default::default()
                    }],
                    ..Default::default()
                },
                token: token.into(),
                serving: true,
            },
        )]),
        ["x", "y"]
            .iter()
            .map(|n| Candidate {
                kind: "ImageRepository".into(),
                namespace: "apps".into(),
                name: n.to_string(),
                labels: BTreeMap::from([("team".into(), if *n == "x" { "a" } else { "b" }.into())]),
            })
            .collect(),
    );
    let (mut sched, handle) = Scheduler::new(SchedulerOptions::default());
    let listener = webhook::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = webhook::router(table, handle, Arc::new(SystemClock));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(webhook::serve(listener, router, async {
        let _ = stop_rx.await;
    }));

    let body = r#"{"image":"x"}"#;
    let sig = format!(
        "sha256={}",
        receiver::sign("sha256", token, body.as_bytes()).unwrap()
    );
    assert_eq!(
        post(addr, &path, &[("X-Signature", "sha256=00")], body).await,
        401
    );
    assert_eq!(
        post(addr, &path, &[("X-Signature", "md5=00")], body).await,
        400
    );
    assert_eq!(post(addr, "/hook/nope", &[], body).await, 404);
    assert_eq!(post(addr, &path, &[("X-Signature", &sig)], body).await, 200);
    let (key, trigger) = tokio::time::timeout(Duration::from_secs(5), sched.next())
        .await
        .unwrap();
    assert_eq!(key, ObjectKey::new("ImageRepository", "apps", "x"));
    assert!(matches!(trigger, Trigger::Requested { .. }));
    sched.drain_triggers();
    assert!(
        tokio::time::timeout(Duration::from_millis(200), sched.next())
            .await
            .is_err(),
        "only the labelled repository is triggered"
    );
    stop_tx.send(()).unwrap();
    server.await.unwrap().unwrap();
}
