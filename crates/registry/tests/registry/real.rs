//! Against Debian's docker-registry 2.8 with htpasswd Basic auth and TLS.

use std::time::Duration;

use ferroflux_registry::{Auth, Client, ImageName, Options, RegistryError, TlsOptions};
use ferroflux_testkit::registry::{DockerRegistry, Options as RegistryOptions, free_port};
use ferroflux_testkit::tls::TestCa;

const USER: &str = "scanner";
const PASSWORD: &str = "pa55-w0rd-never-shown";

fn start() -> Option<DockerRegistry> {
    DockerRegistry::start(RegistryOptions {
        htpasswd: Some((USER.into(), PASSWORD.into())),
        tls: true,
        ..RegistryOptions::default()
    })
}

fn client_trusting(ca_pem: Option<&str>) -> Client {
    Client::new(Options {
        timeout: Duration::from_secs(10),
        tls: TlsOptions {
            ca_pem: ca_pem.map(|c| c.as_bytes().to_vec()),
            ..TlsOptions::default()
        },
        ..Options::default()
    })
    .expect("client")
}

fn basic(password: &str) -> Auth {
    Auth::Basic {
        username: USER.into(),
        password: password.into(),
    }
}

fn assert_no_password(err: &RegistryError) {
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(!shown.contains(PASSWORD), "{shown}");
        assert!(!shown.contains("wrong-password"), "{shown}");
    }
}

#[tokio::test]
async fn lists_pushed_tags_and_digests() {
    let Some(registry) = start() else { return };
    let mut digests = Vec::new();
    for tag in ["1.0.0", "1.1.0", "latest", "1.0.0.sig"] {
        digests.push((tag, registry.push_image("team/app", tag).await));
    }
    let client = client_trusting(registry.ca_pem());
    let image = ImageName::parse(&registry.image("team/app"), false).unwrap();
    assert_eq!(image.canonical(), format!("{}/team/app", registry.host()));
    let mut tags = client.list_tags(&image, &basic(PASSWORD)).await.unwrap();
    tags.sort();
    assert_eq!(tags, ["1.0.0", "1.0.0.sig", "1.1.0", "latest"]);
    for (tag, digest) in digests {
        let got = client
            .head_digest(&image, tag, &basic(PASSWORD))
            .await
            .unwrap();
        assert_eq!(got, digest, "{tag}");
    }
}

#[tokio::test]
async fn wrong_password_and_anonymous_get_401() {
    let Some(registry) = start() else { return };
    registry.push_image("app", "v1").await;
    let client = client_trusting(registry.ca_pem());
    let image = ImageName::parse(&registry.image("app"), false).unwrap();
    for auth in [basic("wrong-password"), Auth::Anonymous] {
        let err = client.list_tags(&image, &auth).await.unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, RegistryError::Status { status, .. } if status.as_u16() == 401),
            "{err:?}"
        );
        assert!(
            text.starts_with(&format!(
                "GET https://{}/v2/app/tags/list?n=1000: unexpected status code 401 Unauthorized",
                registry.host()
            )),
            "{text}"
        );
        assert!(text.contains("UNAUTHORIZED"), "{text}");
        assert_no_password(&err);
    }
}

#[tokio::test]
async fn unknown_repository_is_name_unknown() {
    let Some(registry) = start() else { return };
    let client = client_trusting(registry.ca_pem());
    let image = ImageName::parse(&registry.image("does/not-exist"), false).unwrap();
    let err = client
        .list_tags(&image, &basic(PASSWORD))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("/v2/does/not-exist/tags/list"), "{text}");
    assert!(
        text.contains("unexpected status code 404 Not Found"),
        "{text}"
    );
    assert!(
        text.contains("NAME_UNKNOWN: repository name not known to registry"),
        "{text}"
    );
    assert_no_password(&err);
    let err = client
        .head_digest(&image, "v1", &basic(PASSWORD))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("404"), "{err}");
}

#[tokio::test]
async fn connection_refused_names_the_registry() {
    let client = client_trusting(None);
    let host = format!("127.0.0.1:{}", free_port());
    let image = ImageName::parse(&format!("{host}/app"), false).unwrap();
    let err = client
        .list_tags(&image, &basic(PASSWORD))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, RegistryError::Connect { .. }), "{err:?}");
    assert!(
        text.starts_with(&format!("cannot connect to registry {host}")),
        "{text}"
    );
    assert!(text.to_lowercase().contains("connection refused"), "{text}");
    assert_no_password(&err);
}

#[tokio::test]
async fn untrusted_ca_is_a_tls_error() {
    let Some(registry) = start() else { return };
    let other = TestCa::new("some other CA");
    for ca in [None, Some(other.cert_pem())] {
        let client = client_trusting(ca);
        let image = ImageName::parse(&registry.image("app"), false).unwrap();
        let err = client
            .list_tags(&image, &basic(PASSWORD))
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, RegistryError::Tls { .. }), "{err:?}");
        assert!(
            text.starts_with(&format!(
                "tls handshake with registry {} failed",
                registry.host()
            )),
            "{text}"
        );
        assert!(text.contains("invalid peer certificate"), "{text}");
        assert_no_password(&err);
    }
}

#[tokio::test]
async fn insecure_falls_back_to_plain_http() {
    let Some(registry) = DockerRegistry::start(RegistryOptions {
        htpasswd: None,
        tls: false,
        ..RegistryOptions::default()
    }) else {
        return;
    };
    registry.push_image("plain", "v1").await;
    let client = client_trusting(None);
    let secure = ImageName::parse(&registry.image("plain"), false).unwrap();
    let err = client
        .list_tags(&secure, &Auth::Anonymous)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            RegistryError::Connect { .. } | RegistryError::Tls { .. }
        ),
        "{err:?}"
    );
    let insecure = ImageName::parse(&registry.image("plain"), true).unwrap();
    let tags = client.list_tags(&insecure, &Auth::Anonymous).await.unwrap();
    assert_eq!(tags, ["v1"]);
}

#[tokio::test]
async fn client_certificate_for_mtls() {
    let Some(registry) = DockerRegistry::start(RegistryOptions {
        htpasswd: None,
        tls: true,
        client_auth: true,
    }) else {
        return;
    };
    registry.push_image("mtls/app", "v1").await;
    let image = ImageName::parse(&registry.image("mtls/app"), false).unwrap();
    let ca = registry.ca_pem().map(|c| c.as_bytes().to_vec());

    let without = client_trusting(registry.ca_pem());
    let err = without
        .list_tags(&image, &Auth::Anonymous)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            RegistryError::Tls { .. } | RegistryError::Connect { .. }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains(&registry.host()), "{err}");

    let pair = registry.client_cert().unwrap();
    let with = Client::new(Options {
        timeout: Duration::from_secs(10),
        tls: TlsOptions {
            ca_pem: ca,
            client_cert_pem: Some(pair.cert_pem.as_bytes().to_vec()),
            client_key_pem: Some(pair.key_pem.as_bytes().to_vec()),
            ..TlsOptions::default()
        },
        ..Options::default()
    })
    .unwrap();
    let tags = with.list_tags(&image, &Auth::Anonymous).await.unwrap();
    assert_eq!(tags, ["v1"]);
}

#[tokio::test]
async fn pulls_a_flux_artifact_manifest_and_layer_verified() {
    let Some(registry) = start() else { return };
    let layer = b"not really gzip, but bytes with a digest".to_vec();
    let digest = registry
        .push_flux_artifact("team/manifests", "v1.0.0", &layer, "main@sha1:0123")
        .await;
    let client = client_trusting(registry.ca_pem());
    let image = ImageName::parse(&registry.image("team/manifests"), false).unwrap();
    let auth = basic(PASSWORD);
    for reference in ["v1.0.0", digest.as_str()] {
        let m = client.get_manifest(&image, reference, &auth).await.unwrap();
        assert_eq!(m.digest, digest, "{reference}");
        assert_eq!(m.media_type, ferroflux_registry::manifest::OCI_MANIFEST);
        assert_eq!(
            m.annotations["org.opencontainers.image.revision"],
            "main@sha1:0123"
        );
        assert_eq!(m.layers.len(), 1);
        assert_eq!(
            m.layers[0].media_type,
            ferroflux_registry::manifest::FLUX_CONTENT
        );
        let mut out = Vec::new();
        let n = client
            .get_blob(&image, &m.layers[0], 1 << 20, &auth, &mut out)
            .await
            .unwrap();
        assert_eq!(n as usize, layer.len());
        assert_eq!(out, layer);
    }
    // Bounded before a byte is read.
    let m = client.get_manifest(&image, "v1.0.0", &auth).await.unwrap();
    let err = client
        .get_blob(&image, &m.layers[0], 8, &auth, &mut Vec::new())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("is over 8 bytes"), "{err}");
    let err = client
        .get_manifest(&image, "v9.9.9", &auth)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("MANIFEST_UNKNOWN"), "{err}");
    assert_no_password(&err);
}

#[tokio::test]
async fn insecure_skip_verify_accepts_an_untrusted_certificate_and_nothing_else_does() {
    let Some(registry) = start() else { return };
    registry.push_image("team/skip", "v1").await;
    let image = ImageName::parse(&registry.image("team/skip"), false).unwrap();
    let err = client_trusting(None)
        .list_tags(&image, &basic(PASSWORD))
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::Tls { .. }), "{err:?}");
    let skip = Client::new(Options {
        timeout: Duration::from_secs(10),
        tls: TlsOptions {
            insecure_skip_verify: true,
            ..TlsOptions::default()
        },
        ..Options::default()
    })
    .unwrap();
    let tags = skip.list_tags(&image, &basic(PASSWORD)).await.unwrap();
    assert_eq!(tags, ["v1"]);
}
