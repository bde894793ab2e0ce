//! `ferroflux image scan` against the real docker-registry (htpasswd + TLS).

use std::process::Command;

use base64::Engine as _;
use ferroflux_testkit::registry::{DockerRegistry, Options};

const PASSWORD: &str = "cli-scan-pa55";

fn docker_config(host: &str, password: &str) -> String {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("ci:{password}"));
    format!(r#"{{"auths": {{"https://{host}/": {{"auth": "{auth}"}}}}}}"#)
}

#[test]
fn scan_lists_tags_from_a_real_registry() {
    let Some(registry) = DockerRegistry::start(Options {
        htpasswd: Some(("ci".into(), PASSWORD.into())),
        tls: true,
        ..Options::default()
    }) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for tag in ["1.0.0", "1.2.0", "latest"] {
        runtime.block_on(registry.push_image("team/web", tag));
    }
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.crt");
    std::fs::write(&ca, registry.ca_pem().unwrap()).unwrap();
    let good = dir.path().join("good.json");
    std::fs::write(&good, docker_config(&registry.host(), PASSWORD)).unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, docker_config(&registry.host(), "not-the-password")).unwrap();
    let image = registry.image("team/web");
    let scan = |config: &std::path::Path, extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_ferroflux"))
            .args(["image", "scan", &image, "--docker-config"])
            .arg(config)
            .arg("--ca-file")
            .arg(&ca)
            .args(extra)
            .output()
            .unwrap()
    };

    let out = scan(&good, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let mut tags: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    tags.sort();
    assert_eq!(tags, ["1.0.0", "1.2.0", "latest"]);
    assert!(stderr.starts_with("3 tags in "), "{stderr}");

    let out = scan(&good, &["-o", "json"]);
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["image"], format!("{}/team/web", registry.host()));
    assert_eq!(doc["count"], 3);
    assert_eq!(doc["tags"].as_array().unwrap().len(), 3);

    let out = scan(&bad, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("unexpected status code 401 Unauthorized"),
        "{stderr}"
    );
    assert!(stderr.contains(&registry.host()), "{stderr}");
    assert!(!stderr.contains("not-the-password"), "{stderr}");
    assert!(out.stdout.is_empty());

    let out = Command::new(env!("CARGO_BIN_EXE_ferroflux"))
        .args(["image", "scan", "https://ghcr.io/org/app"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains(
            "image 'https://ghcr.io/org/app' should not include URL scheme; remove 'https://'"
        ),
        "{stderr}"
    );
}
