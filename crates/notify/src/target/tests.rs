use ferroflux_api::meta::LocalObjectReference;
use ferroflux_api::notification::{ProviderSpec, ProviderType};

use super::*;

fn spec(t: ProviderType) -> ProviderSpec {
    ProviderSpec {
        provider_type: t,
        address: Some("https://spec.example/hook".into()),
        username: Some("flux".into()),
        secret_ref: Some(LocalObjectReference { name: "s".into() }),
        ..Default::default()
    }
}

fn data(pairs: &[(&str, &str)]) -> SecretData {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect()
}

fn secrets(pairs: &[(&str, &str)]) -> ProviderSecrets {
    ProviderSecrets {
        secret: Some(data(pairs)),
        ..Default::default()
    }
}

#[test]
fn secret_address_token_and_headers_override_the_spec() {
    let t = resolve(
        "ns",
        "p",
        &spec(ProviderType::Generic),
        &secrets(&[
            ("address", " https://hooks.example/T000/secret-path \n"),
            ("token", "s3cr3t-token\n"),
            ("headers", "X-Team: a\nAuthorization: Bearer abc123\n"),
        ]),
    )
    .expect("resolves");
    assert_eq!(t.address, "https://hooks.example/T000/secret-path");
    assert!(t.address_from_secret);
    assert_eq!(t.token, "s3cr3t-token\n", "the token is sent as stored");
    assert_eq!(t.headers["X-Team"], "a");
    assert_eq!(t.timeout, std::time::Duration::from_secs(15));
    let debug = format!("{t:?}");
    for secret in ["secret-path", "s3cr3t-token", "abc123"] {
        assert!(!debug.contains(secret), "{debug}");
    }
    assert_eq!(
        t.mask("Post https://hooks.example/T000/secret-path: token s3cr3t-token"),
        "Post *****: token *****"
    );
}

#[test]
fn username_and_password_override_spec_username_and_need_each_other() {
    let t = resolve(
        "ns",
        "p",
        &spec(ProviderType::Alertmanager),
        &secrets(&[("username", "u"), ("password", "pw"), ("token", "tok")]),
    )
    .expect("resolves");
    assert_eq!(t.username, "u");
    assert_eq!(t.basic, Some(("u".into(), "pw".into())));
    assert_eq!(t.token, "tok");
    // Flux: a username without a password makes every credential of the
    // Secret ignored, the token too.
    let t = resolve(
        "ns",
        "p",
        &spec(ProviderType::Alertmanager),
        &secrets(&[("username", "u"), ("token", "tok")]),
    )
    .expect("resolves");
    assert_eq!(t.basic, None);
    assert_eq!(t.token, "");
    assert_eq!(t.username, "flux");
}

#[test]
fn errors_of_the_secrets() {
    let long = "h".repeat(2049);
    assert_eq!(
        resolve(
            "ns",
            "p",
            &spec(ProviderType::Slack),
            &secrets(&[("address", &long)])
        )
        .expect_err("too long"),
        TargetError::AddressTooLong
    );
    let e = resolve(
        "ns",
        "p",
        &spec(ProviderType::Generic),
        &secrets(&[("headers", "- not\n- a map\n")]),
    )
    .expect_err("bad headers");
    assert!(
        e.to_string()
            .starts_with("failed to read headers from secret:"),
        "{e}"
    );
    let mut s = spec(ProviderType::Slack);
    s.proxy_secret_ref = Some(LocalObjectReference { name: "px".into() });
    let e = resolve(
        "ns",
        "p",
        &s,
        &ProviderSecrets {
            proxy: Some(data(&[("username", "u")])),
            ..Default::default()
        },
    )
    .expect_err("no proxy address");
    assert_eq!(
        e.to_string(),
        "failed to get proxy URL: secret 'ns/px': key 'address' not found or empty"
    );
    let mut s = spec(ProviderType::Slack);
    s.cert_secret_ref = Some(LocalObjectReference { name: "ca".into() });
    let e = resolve(
        "ns",
        "p",
        &s,
        &ProviderSecrets {
            cert: Some(data(&[("tls.crt", "x")])),
            ..Default::default()
        },
    )
    .expect_err("cert without key");
    assert!(
        e.to_string()
            .contains("tls.crt and tls.key must be given together"),
        "{e}"
    );
}

#[test]
fn proxy_secret_and_cert_secret_are_read() {
    let mut s = spec(ProviderType::Slack);
    s.proxy = Some("http://old-proxy:3128".into());
    let t = resolve(
        "ns",
        "p",
        &s,
        &ProviderSecrets {
            proxy: Some(data(&[
                ("address", "http://proxy:8080"),
                ("username", "pu"),
                ("password", "pp-secret"),
            ])),
            cert: Some(data(&[("ca.crt", "PEM")])),
            ..Default::default()
        },
    )
    .expect("resolves");
    let p = t.proxy.clone().expect("proxy");
    assert_eq!(
        p.url, "http://proxy:8080",
        "proxySecretRef wins over spec.proxy"
    );
    assert_eq!(
        t.tls.as_ref().and_then(|t| t.ca_pem.clone()),
        Some(b"PEM".to_vec())
    );
    assert!(!format!("{t:?}").contains("pp-secret"));
    // A commit-status provider takes ca.crt from its secretRef.
    let t = resolve(
        "ns",
        "p",
        &spec(ProviderType::Github),
        &secrets(&[("token", "t"), ("ca.crt", "PEM")]),
    )
    .expect("resolves");
    assert!(t.tls.is_some());
    let t = resolve(
        "ns",
        "p",
        &spec(ProviderType::Slack),
        &secrets(&[("token", "t"), ("ca.crt", "PEM")]),
    )
    .expect("resolves");
    assert!(
        t.tls.is_none(),
        "only commit-status providers read TLS from secretRef"
    );
}
