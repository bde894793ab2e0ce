//! The event bus in `automate`: an Alert and a generic Provider read from
//! Git announce the ImageUpdateAutomation's push to a local HTTP sink, with
//! no cluster anywhere.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferroflux_runtime::StatusStore;
use ferroflux_runtime::automate::Runner;
use ferroflux_testkit::gitrepo;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::automate::{
    commit_all, quickstart_files, quickstart_options, quickstart_registry, tags,
};

/// Records the body of every request and answers 200.
async fn sink() -> (u16, Arc<Mutex<Vec<(String, String)>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let out = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut r = BufReader::new(stream);
                let mut line = String::new();
                if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                let mut len = 0;
                loop {
                    let mut h = String::new();
                    if r.read_line(&mut h).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let h = h.trim_end().to_ascii_lowercase();
                    if h.is_empty() {
                        break;
                    }
                    if let Some(v) = h.strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; len];
                if r.read_exact(&mut body).await.is_err() {
                    return;
                }
                seen.lock().expect("sink lock").push((
                    line.trim().to_string(),
                    String::from_utf8_lossy(&body).into(),
                ));
                let _ = r
                    .get_mut()
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    (port, out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automate_announces_the_image_bump_to_a_generic_provider() {
    if !gitrepo::git_available() {
        ferroflux_testkit::env::skip_or_fail("git binary");
        return;
    }
    let (port, seen) = sink().await;
    let registry = quickstart_registry(tags(&["0.13.2", "0.13.3"]), 100).await;
    let tmp = tempfile::tempdir().unwrap();
    let bare = gitrepo::init_bare(tmp.path(), "flux.git");
    let mut files = quickstart_files(&registry.host());
    files.push((
        "clusters/stage/flux/alert.yaml".into(),
        format!(
            "apiVersion: notification.toolkit.fluxcd.io/v1beta2
kind: Provider
metadata:
  name: hook
  namespace: flux-system
spec:
  type: generic
  address: http://127.0.0.1:{port}/announce
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata:
  name: image-bumps
  namespace: flux-system
spec:
  providerRef:
    name: hook
  eventSources:
    - kind: ImageUpdateAutomation
      name: '*'
"
        )
        .into_bytes(),
    ));
    commit_all(&bare, &files);
    let opts = quickstart_options(&bare, tmp.path(), true);
    let state = StatusStore::open(&tmp.path().join("state.redb")).unwrap();
    let mut runner = Runner::new(opts, state).unwrap();
    let summary = runner.run_once().await.unwrap();
    assert!(summary.all_ready(), "{summary}");
    let head = gitrepo::rev_parse(&bare, "main").unwrap();

    // run_once settles its notifications before returning.
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "only the automation's event: {seen:?}");
    let (line, body) = &seen[0];
    assert_eq!(line, "POST /announce HTTP/1.1");
    let event: serde_json::Value = serde_json::from_str(body).expect("JSON event");
    assert_eq!(
        event["involvedObject"],
        serde_json::json!({"kind": "ImageUpdateAutomation", "namespace": "flux-system",
            "name": "flux-system", "apiVersion": "image.toolkit.fluxcd.io/v1"})
    );
    assert_eq!(event["severity"], "info");
    assert_eq!(event["reportingController"], "image-automation-controller");
    let message = event["message"].as_str().expect("message");
    assert!(message.contains(&head[..7]), "{message} / {head}");
    tokio::time::sleep(Duration::from_millis(10)).await;
}
