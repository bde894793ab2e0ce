use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::*;

const CORE_V1: &str = r#"{"kind":"APIResourceList","groupVersion":"v1","resources":[
{"name":"services","singularName":"service","namespaced":true,"kind":"Service","verbs":["get","patch"]},
{"name":"services/status","singularName":"","namespaced":true,"kind":"Service","verbs":["get"]},
{"name":"serviceaccounts","singularName":"serviceaccount","namespaced":true,"kind":"ServiceAccount","verbs":["get"]},
{"name":"namespaces","singularName":"namespace","namespaced":false,"kind":"Namespace","verbs":["get"]}]}"#;

/// A discovery endpoint serving `CORE_V1` slowly (so that lookups overlap),
/// and 404 for any other group version; the number of requests it got.
async fn discovery() -> (Client, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&count);
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let counted = Arc::clone(&counted);
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut buf = [0u8; 4096];
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                counted.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                let head = String::from_utf8_lossy(&seen).to_string();
                let (status, body) = if head.starts_with("GET /api/v1 ") {
                    (200, CORE_V1)
                } else {
                    (
                        404,
                        r#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}"#,
                    )
                };
                let answer = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(answer.as_bytes()).await;
                let _ = conn.shutdown().await;
            });
        }
    });
    let config = kube::Config::new(format!("http://{addr}").parse().unwrap());
    (Client::try_from(config).unwrap(), count)
}

#[tokio::test]
async fn concurrent_lookups_of_one_group_version_ask_once() {
    let (client, count) = discovery().await;
    let kinds = KindCache::new(client);
    let gvk = |k: &str| GroupVersionKind::gvk("", "v1", k);
    let (service, account) = (gvk("Service"), gvk("ServiceAccount"));
    let shared = kinds.clone();
    let (a, b, c) = tokio::join!(
        kinds.find(&service),
        kinds.find(&account),
        shared.find(&service),
    );
    let (svc, caps) = a.unwrap();
    assert_eq!(
        (svc.plural.as_str(), svc.kind.as_str()),
        ("services", "Service")
    );
    assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);
    assert_eq!(b.unwrap().0.plural, "serviceaccounts");
    assert_eq!(c.unwrap().0.plural, "services");
    // A kind of the same group version found by that one lookup.
    let (ns, caps) = kinds.find(&gvk("Namespace")).await.unwrap();
    assert_eq!(ns.plural, "namespaces");
    assert_eq!(caps.scope, kube::discovery::Scope::Cluster);
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_kind_not_served_is_asked_for_again_then_reported() {
    let (client, count) = discovery().await;
    let kinds = KindCache::new(client);
    let widget = GroupVersionKind::gvk("", "v1", "Widget");
    let missing = kinds.find(&widget).await;
    assert!(matches!(missing, Err(KindError::NotServed)));
    assert_eq!(count.load(Ordering::SeqCst), DISCOVERY_ATTEMPTS as usize);
}
