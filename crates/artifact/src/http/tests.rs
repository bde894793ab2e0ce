use std::net::SocketAddr;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get as route;

use super::*;

/// A loopback server: `/ok` answers the Authorization header it got (or
/// `none`), `/big` 2 KiB, `/denied` 401, `/slow` after 5 s.
async fn server() -> SocketAddr {
    let app = Router::new()
        .route(
            "/ok",
            route(|h: HeaderMap| async move {
                h.get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("none")
                    .to_string()
            }),
        )
        .route("/big", route(|| async { vec![b'x'; 2048] }))
        .route(
            "/denied",
            route(|| async { (StatusCode::UNAUTHORIZED, "secret body") }),
        )
        .route(
            "/slow",
            route(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

fn auth() -> Option<BasicAuth> {
    Some(BasicAuth {
        username: "user".into(),
        password: "s3cret".into(),
    })
}

#[tokio::test]
async fn credentials_go_only_to_their_own_host_unless_passed() {
    let addr = server().await;
    let own = format!("http://{addr}/");
    let opts = HttpOptions {
        basic_auth: auth(),
        credentials_url: own.clone(),
        ..HttpOptions::default()
    };
    let got = get(&format!("{own}ok"), &opts).await.expect("get");
    assert_eq!(got, b"Basic dXNlcjpzM2NyZXQ=");
    // Another host (localhost is not 127.0.0.1 for Helm's comparison).
    let other = format!("http://localhost:{}/ok", addr.port());
    assert_eq!(get(&other, &opts).await.expect("get"), b"none");
    let passed = HttpOptions {
        pass_credentials: true,
        ..opts.clone()
    };
    assert_eq!(
        get(&other, &passed).await.expect("get"),
        b"Basic dXNlcjpzM2NyZXQ="
    );
    // An empty password sends nothing, as Helm's getter.
    let empty = HttpOptions {
        basic_auth: Some(BasicAuth {
            username: "user".into(),
            password: String::new(),
        }),
        ..opts
    };
    assert_eq!(
        get(&format!("{own}ok"), &empty).await.expect("get"),
        b"none"
    );
}

#[tokio::test]
async fn errors_are_helm_s_and_bounded() {
    let addr = server().await;
    let opts = HttpOptions {
        basic_auth: auth(),
        credentials_url: format!("http://{addr}/"),
        max_bytes: 1024,
        timeout: Duration::from_millis(300),
        ..HttpOptions::default()
    };
    let e = get(&format!("http://{addr}/denied"), &opts)
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("failed to fetch http://{addr}/denied : 401 Unauthorized")
    );
    assert!(e.is_auth());
    assert!(!e.to_string().contains("secret"));
    let e = get(&format!("http://{addr}/big"), &opts).await.unwrap_err();
    assert!(matches!(e, HttpError::TooLarge { limit: 1024, .. }), "{e}");
    let e = get(&format!("http://{addr}/slow"), &opts)
        .await
        .unwrap_err();
    assert!(matches!(e, HttpError::Timeout { .. }), "{e}");
    let e = get("http://127.0.0.1:1/index.yaml", &opts)
        .await
        .unwrap_err();
    assert!(matches!(e, HttpError::Transport { .. }), "{e}");
    assert!(!e.is_auth());
    let e = get("http://user:pw@127.0.0.1:1/x", &opts)
        .await
        .unwrap_err();
    assert!(!e.to_string().contains("pw"), "{e}");
}

#[test]
fn tls_material_errors_name_the_key_not_its_bytes() {
    let bad_ca = TlsMaterial {
        ca_pem: Some(b"not a pem".to_vec()),
        ..TlsMaterial::default()
    };
    assert_eq!(
        tls_config(&bad_ca).unwrap_err().to_string(),
        "failed to construct Helm client's TLS config: ca.crt: no PEM certificate found"
    );
    let half = TlsMaterial {
        cert_pem: Some(b"x".to_vec()),
        ..TlsMaterial::default()
    };
    assert!(
        tls_config(&half)
            .unwrap_err()
            .to_string()
            .contains("tls.crt and tls.key must be given together")
    );
    let secret_key = TlsMaterial {
        cert_pem: Some(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".to_vec()),
        key_pem: Some(b"PRIVATE-KEY-BYTES".to_vec()),
        ..TlsMaterial::default()
    };
    let e = tls_config(&secret_key).unwrap_err().to_string();
    assert!(!e.contains("PRIVATE-KEY-BYTES"), "{e}");
    let debug = format!("{secret_key:?} {:?}", auth());
    assert!(
        !debug.contains("PRIVATE-KEY-BYTES") && !debug.contains("s3cret"),
        "{debug}"
    );
}

#[test]
fn credentials_rule_compares_scheme_host_and_port() {
    assert!(sends_credentials(
        "https://charts.example/",
        "https://charts.example/a.tgz",
        false
    ));
    assert!(sends_credentials(
        "https://charts.example:443/",
        "https://charts.example/a.tgz",
        false
    ));
    assert!(!sends_credentials(
        "https://charts.example/",
        "http://charts.example/a.tgz",
        false
    ));
    assert!(!sends_credentials(
        "https://charts.example/",
        "https://cdn.example/a.tgz",
        false
    ));
    assert!(sends_credentials(
        "https://charts.example/",
        "https://cdn.example/a.tgz",
        true
    ));
    assert_eq!(redact("https://u:p@h/x"), "https://h/x");
}
