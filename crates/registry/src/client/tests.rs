use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, HeaderValue};

use super::*;

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in pairs {
        map.append(*k, HeaderValue::from_str(v).unwrap());
    }
    map
}

#[test]
fn challenges() {
    let bearer = |pairs: &[(&str, &str)]| {
        Challenge::Bearer(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    };
    let cases = [
        ("Basic realm=\"basic-realm\"", Challenge::Basic),
        (
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull""#,
            bearer(&[
                ("realm", "https://auth.docker.io/token"),
                ("service", "registry.docker.io"),
                ("scope", "repository:library/alpine:pull"),
            ]),
        ),
        (
            r#"bearer realm="https://r.io/token", scope="repository:a/b:pull,push",error="invalid_token""#,
            bearer(&[
                ("realm", "https://r.io/token"),
                ("scope", "repository:a/b:pull,push"),
                ("error", "invalid_token"),
            ]),
        ),
        (
            "Bearer realm=https://r.io/t,service=svc",
            bearer(&[("realm", "https://r.io/t"), ("service", "svc")]),
        ),
        ("Negotiate abc", Challenge::Other),
    ];
    for (input, want) in cases {
        assert_eq!(parse_challenge(input), want, "{input}");
    }
}

#[test]
fn link_headers() {
    let current = Url::parse("https://r.io/v2/a/tags/list?n=100").unwrap();
    type Case<'a> = (&'a [(&'static str, &'a str)], Option<&'a str>);
    let cases: [Case; 5] = [
        (
            &[("link", "</v2/a/tags/list?last=x&n=100>; rel=\"next\"")],
            Some("https://r.io/v2/a/tags/list?last=x&n=100"),
        ),
        (
            &[(
                "link",
                "<https://cdn.r.io/v2/a/tags/list?c=opaque>; rel=next",
            )],
            Some("https://cdn.r.io/v2/a/tags/list?c=opaque"),
        ),
        (
            &[(
                "link",
                "</prev>; rel=\"prev\", </v2/a/tags/list?last=y>; rel=\"next\"",
            )],
            Some("https://r.io/v2/a/tags/list?last=y"),
        ),
        (&[("link", "</prev>; rel=\"prev\"")], None),
        (&[], None),
    ];
    for (pairs, want) in cases {
        let got = next_link(&headers(pairs), &current).map(|u| u.to_string());
        assert_eq!(got.as_deref(), want, "{pairs:?}");
    }
}

#[test]
fn retry_after_seconds_and_dates() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let date = httpdate::fmt_http_date(now + Duration::from_secs(7));
    let cases = [
        ("3", Some(Duration::from_secs(3))),
        (" 0 ", Some(Duration::ZERO)),
        (date.as_str(), Some(Duration::from_secs(7))),
        ("Thu, 01 Jan 1970 00:00:00 GMT", Some(Duration::ZERO)),
        ("soon", None),
    ];
    for (value, want) in cases {
        assert_eq!(
            retry_after(&headers(&[("retry-after", value)]), now),
            want,
            "{value}"
        );
    }
    assert_eq!(retry_after(&HeaderMap::new(), now), None);
}

#[test]
fn backoff_grows_with_jitter_and_cap() {
    let policy = RetryPolicy {
        initial_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(1),
        max_retries: 5,
    };
    let cases = [
        (0, Duration::from_millis(50), Duration::from_millis(100)),
        (1, Duration::from_millis(100), Duration::from_millis(200)),
        (3, Duration::from_millis(400), Duration::from_millis(800)),
        (10, Duration::from_millis(500), Duration::from_secs(1)),
        (40, Duration::from_millis(500), Duration::from_secs(1)),
    ];
    for (retry, low, high) in cases {
        for _ in 0..20 {
            let d = backoff(&policy, retry);
            assert!(d >= low && d <= high, "retry {retry}: {d:?}");
        }
    }
}

#[test]
fn tls_options_are_validated() {
    let cases: [(TlsOptions, &str); 3] = [
        (
            TlsOptions {
                ca_pem: Some(b"not a pem".to_vec()),
                ..TlsOptions::default()
            },
            "invalid tls configuration: ca certificate: no PEM certificate found",
        ),
        (
            TlsOptions {
                client_cert_pem: Some(b"x".to_vec()),
                ..TlsOptions::default()
            },
            "tls.crt and tls.key must be given together",
        ),
        (
            TlsOptions {
                client_cert_pem: Some(Vec::new()),
                client_key_pem: Some(b"-----BEGIN PRIVATE KEY-----\nsecretkeybytes".to_vec()),
                ..TlsOptions::default()
            },
            "invalid tls configuration: client key:",
        ),
    ];
    for (tls, want) in cases {
        let debug = format!("{tls:?}");
        assert!(!debug.contains("secretkeybytes"), "{debug}");
        let err = tls_config(&tls).expect_err(want);
        let shown = format!("{err} {err:?}");
        assert!(shown.contains(want), "{shown}");
        assert!(!shown.contains("secretkeybytes"), "{shown}");
    }
    assert!(tls_config(&TlsOptions::default()).is_ok());
}

#[test]
fn error_chain_skips_repeats() {
    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "outer")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
    let e = Outer(std::io::Error::other("connection refused"));
    assert_eq!(error_chain(&e), "outer: connection refused");
}

#[test]
fn clock_arithmetic_saturates() {
    let now = Instant::now();
    assert!(later(now, Duration::MAX) > later(now, Duration::from_secs(3600 * 24 * 365)));
    assert_eq!(
        later(now, Duration::from_secs(5)),
        now + Duration::from_secs(5)
    );
    let cases = [
        (None, 54_000),
        (Some(0), 900),
        (Some(300), 270_000),
        (Some(u64::MAX), 3_240_000),
    ];
    for (expires_in, millis) in cases {
        assert_eq!(
            token_expiry(now, expires_in).duration_since(now),
            Duration::from_millis(millis),
            "{expires_in:?}"
        );
    }
}

#[test]
fn credentials_go_to_the_registry_host_or_an_https_realm_only() {
    let cases = [
        ("https://auth.docker.io/token", "docker.io", true),
        ("http://127.0.0.1:5000/token", "127.0.0.1:5000", true),
        ("http://127.0.0.1:9999/token", "127.0.0.1:5000", true),
        ("http://REGISTRY.example/token", "registry.example", true),
        ("http://evil.example/token", "registry.example", false),
        ("http://127.0.0.2/token", "127.0.0.1:5000", false),
        ("https://evil.example/token", "registry.example", true),
    ];
    for (realm, registry, want) in cases {
        let url = Url::parse(realm).unwrap();
        assert_eq!(
            may_send_credentials(&url, registry),
            want,
            "{realm} for {registry}"
        );
    }
}
