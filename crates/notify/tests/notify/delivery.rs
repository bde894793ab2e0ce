//! Delivery: TLS with the Provider's CA, retries with backoff, a queue
//! that never blocks, a wrong token reported, a proxy.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferroflux_api::notification::ProviderType;
use ferroflux_notify::target::ProviderSecrets;
use ferroflux_notify::{Notifier, Report};
use ferroflux_testkit::tls::TestCa;

use crate::sink::Sink;
use crate::*;

#[tokio::test]
async fn https_with_the_ca_of_cert_secret_ref() {
    let ca = TestCa::new("notify-test-ca");
    let sink = Sink::https(&ca).await;
    let s = spec(ProviderType::Generic, &sink.url("/hook"));
    let trusted = target(
        &s,
        ProviderSecrets {
            cert: Some(secret(&[("ca.crt", ca.cert_pem())])),
            ..Default::default()
        },
    );
    let report = send(trusted, flux_test_event(), &fast()).await;
    assert_eq!(report.error, None, "{report:?}");
    assert_eq!(sink.wait_for(1).await[0].target, "/hook");

    // Without the CA the certificate is refused, once: a TLS error is not
    // retried (retryablehttp does not retry unknown authorities either).
    let untrusted = target(&s, ProviderSecrets::default());
    let report = send(untrusted, flux_test_event(), &fast()).await;
    let e = report.error.expect("refused");
    assert!(e.contains("certificate"), "{e}");
    assert_eq!(report.attempts, 1);
    assert_eq!(sink.requests().len(), 1);
}

#[tokio::test]
async fn a_provider_that_is_down_is_retried_with_backoff() {
    let sink = Sink::http().await;
    sink.answer("/hook", 503, "down");
    sink.answer("/hook", 502, "still down");
    let t = target(
        &spec(ProviderType::Generic, &sink.url("/hook")),
        ProviderSecrets::default(),
    );
    let started = Instant::now();
    let report = send(t, flux_test_event(), &fast()).await;
    assert_eq!(report.error, None, "{report:?}");
    assert_eq!(report.attempts, 3);
    // Backoff 20 ms then 40 ms.
    assert!(started.elapsed() >= Duration::from_millis(60));
    assert_eq!(sink.requests().len(), 3);

    // Never up: giving up after RetryMax 4 retries, the body in the error.
    sink.answer("/down", 500, "boom");
    for _ in 0..4 {
        sink.answer("/down", 500, "boom");
    }
    let t = target(
        &spec(ProviderType::Generic, &sink.url("/down")),
        ProviderSecrets::default(),
    );
    let report = send(t, flux_test_event(), &fast()).await;
    assert_eq!(report.attempts, 5);
    assert_eq!(
        report.error.as_deref(),
        Some(
            "postMessage failed: giving up after 5 attempt(s): request failed with status code 500: boom"
        )
    );
}

#[tokio::test]
async fn the_timeout_bounds_a_silent_provider() {
    let sink = Sink::http().await;
    sink.answer_after("/slow", 200, "{}", Duration::from_secs(5));
    let mut s = spec(ProviderType::Generic, &sink.url("/slow"));
    s.timeout = Some(ferroflux_api::Duration::from_nanos(300_000_000));
    let started = Instant::now();
    let report = send(
        target(&s, ProviderSecrets::default()),
        flux_test_event(),
        &fast(),
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(
        report
            .error
            .as_deref()
            .is_some_and(|e| e.contains("context deadline exceeded")),
        "{report:?}"
    );
}

#[tokio::test]
async fn offering_never_blocks_while_a_provider_is_down() {
    let sink = Sink::http().await;
    for _ in 0..10 {
        sink.answer_after("/down", 503, "down", Duration::from_millis(200));
    }
    let reports: Arc<Mutex<Vec<Report>>> = Arc::default();
    let seen = reports.clone();
    let notifier = Notifier::start(
        fast(),
        Arc::new(move |r| seen.lock().expect("lock").push(r)),
    );
    let down = target(
        &spec(ProviderType::Generic, &sink.url("/down")),
        ProviderSecrets::default(),
    );
    let up = target(
        &spec(ProviderType::Generic, &sink.url("/up")),
        ProviderSecrets::default(),
    );
    let started = Instant::now();
    let job = |t: &Target| Job {
        alert: "flux-system/a".into(),
        target: t.clone(),
        event: flux_test_event(),
    };
    assert!(notifier.offer(job(&down)));
    assert!(notifier.offer(job(&up)));
    // The offers returned at once, and the healthy provider got its event
    // while the other one is still being retried.
    assert!(started.elapsed() < Duration::from_millis(50));
    for _ in 0..200 {
        if sink.requests().iter().any(|r| r.target == "/up") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(sink.requests().iter().any(|r| r.target == "/up"));
    assert!(
        reports
            .lock()
            .expect("lock")
            .iter()
            .all(|r| r.provider == "flux-system/p" && r.error.is_none()),
        "the down provider has not finished yet"
    );
    // Eventually the down provider reports its failure.
    for _ in 0..400 {
        if reports.lock().expect("lock").len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(notifier.settle(Duration::from_secs(5)).await);
    assert_eq!(notifier.pending(), 0);
    let reports = reports.lock().expect("lock").clone();
    assert_eq!(reports.len(), 2, "{reports:?}");
    assert!(
        reports
            .iter()
            .any(|r| r.error.as_deref().is_some_and(|e| e.contains("503")))
    );
}

#[tokio::test]
async fn a_wrong_token_is_reported_without_the_token() {
    let sink = Sink::http().await;
    sink.answer("/api/v3/", 401, r#"{"message":"Bad credentials"}"#);
    let mut t = target(
        &spec(ProviderType::Github, &sink.url("/org/repo")),
        with_secret(&[("token", "ghp_wrong_token")]),
    );
    t.commit_status = "kustomization/webapp/0c9c2e41".into();
    let mut e = flux_test_event();
    e.metadata.insert(
        "revision".into(),
        "main@sha1:5394cb7f48332b2de7c17dd8b8384bbc84b7e738".into(),
    );
    let report = send(t, e, &fast()).await;
    let message = report.dispatch_failed_message().expect("fails");
    assert_eq!(
        message,
        "failed to send notification for GitRepository/gitops-system/webapp: could not list commit \
         statuses: request failed with status code 401: {\"message\":\"Bad credentials\"}"
    );
    assert_eq!(report.attempts, 1, "a 401 is not retried");
    assert!(!format!("{report:?}").contains("ghp_wrong_token"));

    // A server that echoes the token back has it masked.
    sink.answer("/echo", 403, "token ghp_wrong_token refused");
    let t = target(
        &spec(ProviderType::Slack, &sink.url("/echo")),
        with_secret(&[("token", "ghp_wrong_token")]),
    );
    let report = send(t, flux_test_event(), &fast()).await;
    assert_eq!(
        report.error.as_deref(),
        Some("postMessage failed: request failed with status code 403: token ***** refused")
    );
}

#[tokio::test]
async fn proxy_secret_ref_routes_through_the_proxy_with_its_credentials() {
    let proxy = Sink::http().await;
    let s = spec(ProviderType::Generic, "http://hooks.example.invalid/hook");
    let t = target(
        &s,
        ProviderSecrets {
            proxy: Some(secret(&[
                ("address", &proxy.url("")),
                ("username", "pu"),
                ("password", "pp"),
            ])),
            ..Default::default()
        },
    );
    let report = send(t, flux_test_event(), &fast()).await;
    assert_eq!(report.error, None, "{report:?}");
    let r = proxy.wait_for(1).await[0].clone();
    assert_eq!(r.target, "http://hooks.example.invalid/hook");
    assert_eq!(r.header("Proxy-Authorization"), Some("Basic cHU6cHA="));
}
