use std::collections::BTreeMap;

use base64::Engine as _;

use super::*;

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn host_normalisation() {
    let cases = [
        ("https://index.docker.io/v1/", "index.docker.io"),
        ("docker.io", "index.docker.io"),
        ("registry-1.docker.io", "index.docker.io"),
        ("http://localhost:5000", "localhost:5000"),
        ("https://GHCR.io/", "ghcr.io"),
        ("127.0.0.1:5000", "127.0.0.1:5000"),
        ("quay.io/v2/whatever", "quay.io"),
    ];
    for (input, want) in cases {
        assert_eq!(normalize_host(input), want, "{input}");
    }
}

#[test]
fn reads_auth_and_username_password_entries() {
    let json = format!(
        r#"{{"auths": {{
            "https://index.docker.io/v1/": {{"auth": "{}"}},
            "ghcr.io": {{"username": "gh", "password": "p:with:colons"}},
            "empty.example.com": {{}}
        }}}}"#,
        b64("hubuser:hub:pass")
    );
    let config = DockerConfig::parse(json.as_bytes(), None).unwrap();
    let table = [
        (
            "index.docker.io",
            Auth::Basic {
                username: "hubuser".into(),
                password: "hub:pass".into(),
            },
        ),
        (
            "docker.io",
            Auth::Basic {
                username: "hubuser".into(),
                password: "hub:pass".into(),
            },
        ),
        (
            "ghcr.io",
            Auth::Basic {
                username: "gh".into(),
                password: "p:with:colons".into(),
            },
        ),
        ("empty.example.com", Auth::Anonymous),
        ("quay.io", Auth::Anonymous),
    ];
    for (host, want) in table {
        assert_eq!(config.auth_for(host), want, "{host}");
    }
    assert_eq!(
        config.hosts().collect::<Vec<_>>(),
        vec!["ghcr.io", "index.docker.io"]
    );
}

#[test]
fn secret_data_needs_dockerconfigjson_key() {
    let mut data = BTreeMap::new();
    let err = DockerConfig::from_secret_data(&data, "Secret/ns/creds").unwrap_err();
    assert_eq!(err.to_string(), "secret has no '.dockerconfigjson' key");
    data.insert(
        ".dockerconfigjson".to_owned(),
        format!(r#"{{"auths":{{"r.io":{{"auth":"{}"}}}}}}"#, b64("u:p")).into_bytes(),
    );
    let config = DockerConfig::from_secret_data(&data, "Secret/ns/creds").unwrap();
    assert_eq!(config.auth_for("r.io").username(), Some("u"));
}

#[test]
fn errors_never_show_secrets() {
    let secret = "s3cr3t-value";
    let cases: Vec<(String, &str)> = vec![
        (
            format!(r#"{{"auths":{{"r.io":{{"auth":"!!{secret}!!"}}}}}}"#),
            "field 'auth' is not valid base64",
        ),
        (
            format!(r#"{{"auths":{{"r.io":{{"auth":"{}"}}}}}}"#, b64(secret)),
            "is not '<username>:<password>'",
        ),
        (
            format!(r#"{{"auths":{{"r.io":{{"password":"{secret}" "#),
            "invalid docker config JSON in config.json: line 1",
        ),
    ];
    for (json, want) in cases {
        let err = DockerConfig::parse(json.as_bytes(), Some("config.json")).unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(shown.contains(want), "{shown}");
        assert!(!shown.contains(secret), "{shown}");
    }
    let auth = Auth::Basic {
        username: "u".into(),
        password: secret.into(),
    };
    assert!(!format!("{auth:?}").contains(secret));
    let config = DockerConfig::parse(
        format!(
            r#"{{"auths":{{"r.io":{{"auth":"{}"}}}}}}"#,
            b64(&format!("u:{secret}"))
        )
        .as_bytes(),
        None,
    )
    .unwrap();
    assert!(!format!("{config:?}").contains(secret));
}

#[test]
fn basic_header_is_base64_of_user_colon_password() {
    let auth = Auth::Basic {
        username: "user".into(),
        password: "pass".into(),
    };
    assert_eq!(auth.basic_header().as_deref(), Some("Basic dXNlcjpwYXNz"));
    assert_eq!(Auth::Anonymous.basic_header(), None);
}
