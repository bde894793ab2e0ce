use std::collections::BTreeMap;

use ferroflux_api::notification::ProviderType;

use super::*;
use crate::event::{ObjectRef, Severity};

fn job(address: &str) -> Job {
    Job {
        alert: "ns/a".into(),
        target: Target {
            provider: "ns/p".into(),
            provider_type: ProviderType::Generic,
            address: address.into(),
            address_from_secret: true,
            channel: String::new(),
            username: String::new(),
            token: String::new(),
            basic: None,
            headers: BTreeMap::new(),
            proxy: None,
            tls: None,
            timeout: Duration::from_secs(5),
            commit_status: String::new(),
        },
        event: Event::new(
            ObjectRef {
                kind: "Kustomization".into(),
                namespace: "ns".into(),
                name: "apps".into(),
                ..Default::default()
            },
            Severity::Info,
            jiff::Timestamp::UNIX_EPOCH,
            "r",
            "m",
        ),
    }
}

#[tokio::test]
async fn a_setup_error_is_reported_without_the_secret_address() {
    let report = deliver(&job("hooks/secret-path"), &NotifierOptions::default()).await;
    let e = report.error.clone().expect("fails");
    assert!(
        e.starts_with("failed to initialize notifier for provider 'ns/p': invalid hook URL"),
        "{e}"
    );
    assert!(!e.contains("secret-path"), "{e}");
    assert_eq!(report.attempts, 0);
    assert_eq!(
        report.dispatch_failed_message().expect("message"),
        format!("failed to send notification for Kustomization/ns/apps: {e}")
    );
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_given_up() {
    // A port nobody listens on: bind, learn the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let opts = NotifierOptions {
        retry_max: 2,
        backoff_min: Duration::from_millis(10),
        backoff_max: Duration::from_millis(20),
        ..Default::default()
    };
    let report = deliver(&job(&format!("http://127.0.0.1:{port}/hook-secret")), &opts).await;
    assert_eq!(report.attempts, 3);
    let e = report.error.expect("fails");
    assert!(e.contains("giving up after 3 attempt(s)"), "{e}");
    assert!(!e.contains("hook-secret"), "{e}");
}

#[tokio::test]
async fn a_header_that_cannot_be_sent_fails_once_without_its_value() {
    let mut j = job("http://127.0.0.1:9/hook");
    j.target
        .headers
        .insert("X-Bad".into(), "secret-value\nInjected: 1".into());
    let report = deliver(&j, &NotifierOptions::default()).await;
    assert_eq!(report.attempts, 1);
    let e = report.error.expect("fails");
    assert!(
        e.starts_with("postMessage failed: failed to execute request:"),
        "{e}"
    );
    assert!(!e.contains("secret-value"), "{e}");
}

#[tokio::test]
async fn a_full_queue_drops_without_waiting() {
    let notifier = Notifier::start(
        NotifierOptions {
            queue: 1,
            concurrency: 1,
            ..Default::default()
        },
        Arc::new(|_| {}),
    );
    // The worker may take the first job at once; offers beyond the one
    // slot are dropped, and none of them waits.
    let started = std::time::Instant::now();
    let accepted = (0..50)
        .filter(|_| notifier.offer(job("http://127.0.0.1:9/")))
        .count();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(accepted < 50);
    assert_eq!(notifier.dropped(), 50 - accepted);
}

#[test]
fn slack_answers_are_checked() {
    assert!(slack_ok(br#"{"ok":true}"#).is_ok());
    assert_eq!(
        slack_ok(br#"{"ok":false,"error":"invalid_auth"}"#).expect_err("not ok"),
        "Slack responded with error: invalid_auth"
    );
    assert!(slack_ok(b"<html>").is_err());
}
