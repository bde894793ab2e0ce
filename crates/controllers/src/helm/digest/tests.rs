//! Digests against vectors computed by Go: fluxcd/pkg chartutil's own
//! `digest_test.go` table, and an observation of the record below encoded
//! by Go's `json.Encoder` over Helm v4.2.4's `release.Info`, `release.Hook`
//! and `chart.Metadata` (the program is `/tmp`-only; its figures are here).

use base64::Engine as _;
use serde_json::{Value, json};

use super::*;

fn map(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

#[test]
fn config_digest_matches_chartutil() {
    let empty = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    assert_eq!(config_digest(&Map::new()), empty);
    let v = json!({
        "replicas": 3,
        "image": {"tag": "latest", "repository": "nginx"},
        "ports": [{"protocol": "TCP", "port": 8080}, {"port": 9090, "protocol": "UDP"}]
    });
    assert_eq!(
        config_digest(&map(v)),
        "sha256:fcdc2b0de1581a3633ada4afee3f918f6eaa5b5ab38c3fef03d5b48d3f85d9f6"
    );
    // Keys yaml.v2 would sort naturally (digit runs as numbers): bytewise.
    let v = json!({
        "replicas": 3,
        "test": {
            "632bd80235a05f4192aefade": "value1",
            "632bd80ddf416cf32fd50679": "value2",
            "632bd817c559818a52307da2": "value3",
            "632bd82398e71231a98004b6": "value4"
        }
    });
    assert_eq!(
        config_digest(&map(v)),
        "sha256:8a980fcbeadd6f05818f07e8aec14070c22250ca3d96af1fcd5f93b3e85b4d70"
    );
    // Floats from JSON (integral ones as integers), nulls, case, "yes".
    let v: Value = serde_json::from_str(
        r#"{"a10":1,"a9":2.5,"B":"x","b":[{"z":1e6,"y":0.000001}],"n":null,"t":true,"s":"yes","big":1e21,"e":""}"#,
    )
    .unwrap();
    assert_eq!(
        config_digest(&map(v)),
        "sha256:47e81d31554623e73cf459f4056340dcb0f3a94afff4dbbcff6afcf380d6a111"
    );
}

#[test]
fn verify_values_needs_the_same_values() {
    let v = map(json!({"a": 1}));
    assert!(verify_values(&config_digest(&v), &v));
    assert!(!verify_values(&config_digest(&v), &map(json!({"a": 2}))));
    assert!(!verify_values("", &v));
}

fn record(json: &str) -> Record {
    let b64 = base64::engine::general_purpose::STANDARD.encode(json);
    ferroflux_helm::release::decode(&b64).unwrap()
}

#[test]
fn observation_digest_matches_go() {
    let empty = record(r#"{"name":"foo"}"#);
    assert_eq!(
        observe(&empty, "").digest(),
        "sha256:f1498f27a16a09cd7e1ee610d924df065c03d30035638babc95dd9a8d412ce4d"
    );
    let rec = record(RECORD);
    let obs = observe(&rec, "");
    assert_eq!(
        obs.digest(),
        "sha256:86d78172a2a07d5923a769873ce26b6aef5bb20f62e64920cabfb9dc29688eaf",
        "{}",
        obs.encoded
    );
    assert_eq!(
        observe(&rec, "sha256:abc").digest(),
        "sha256:153b4a4eb068609fdb667ed83d02aaf034e01a11d70796b687d864183b2e3ef1"
    );
    assert!(
        !obs.encoded.contains("podinfo-test"),
        "test hooks are left out"
    );
    let snap = obs.to_snapshot("upgrade", "");
    assert_eq!(
        snap.config_digest,
        "sha256:0c6a2778981cf7f7d2a20f0c6577d18889e097c29bdc84fd9b10fc3f3bd619c0"
    );
    assert_eq!(snap.full_release_name(), "apps/podinfo.v3");
    assert_eq!(snap.versioned_chart_name(), "podinfo@6.5.0");
    assert_eq!(snap.first_deployed.as_deref(), Some("2026-01-02T02:04:05Z"));
    assert_eq!(snap.deleted, None);
    assert_eq!(
        (snap.api_version.as_str(), snap.action.as_str()),
        ("v2", "upgrade")
    );
}

#[test]
fn test_hooks_follow_the_filters() {
    let rec = record(RECORD);
    let all = test_hooks(&rec, &[]);
    assert_eq!(all.keys().collect::<Vec<_>>(), ["podinfo-test"]);
    assert!(test_hooks(&rec, &[("podinfo-test".into(), true)]).is_empty());
    assert!(test_hooks(&rec, &[("other".into(), false)]).is_empty());
    assert_eq!(test_hooks(&rec, &[("podinfo-test".into(), false)]).len(), 1);
}

#[test]
fn post_renderer_and_common_metadata_digests_follow_the_spec() {
    let mut hr = ferroflux_api::helm::HelmRelease::new("a", Default::default());
    assert_eq!(post_renderers_digest(&hr), "");
    assert_eq!(common_metadata_digest(&hr), "");
    hr.spec.common_metadata = Some(ferroflux_api::kustomize::CommonMetadata {
        labels: Some([("team".to_string(), "a".to_string())].into()),
        annotations: None,
    });
    // Go: json.NewEncoder(h).Encode(&CommonMetadata{Labels: {"team": "a"}}).
    assert_eq!(
        common_metadata_digest(&hr),
        sha256(b"{\"labels\":{\"team\":\"a\"}}\n")
    );
}

const RECORD: &str = r#"
{"name":"podinfo","namespace":"apps","version":3,"info":{"first_deployed":"2026-01-02T03:04:05.123456789+01:00","last_deployed":"2026-01-03T00:00:00Z","deleted":"","description":"Upgrade complete <ok> & done","status":"deployed","notes":"1. Get the URL\n"},"chart":{"metadata":{"name":"podinfo","home":"https://example.org","sources":["https://github.com/example/podinfo"],"version":"6.5.0","description":"Podinfo Helm chart","keywords":["kubernetes","podinfo"],"maintainers":[{"name":"stefanprodan","email":"stefan@example.org"}],"apiVersion":"v2","appVersion":"6.5.0","annotations":{"b":"2","a":"1"},"kubeVersion":">=1.23.0-0","dependencies":[{"name":"redis","version":"1.x","repository":"https://charts.example.org","condition":"redis.enabled","import-values":["data",{"child":"a","parent":"b"}]}],"type":"application"},"values":{"replicaCount":1},"templates":[]},"config":{"replicaCount":2,"ratio":0.25,"image":{"tag":"6.5.0","repository":"ghcr.io/stefanprodan/podinfo"},"a10":true,"a9":null},"manifest":"---\n# Source: podinfo/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  html: \"<b>ü</b>\"\n","hooks":[{"name":"podinfo-pre","kind":"Job","path":"podinfo/templates/pre.yaml","manifest":"kind: Job\n","events":["pre-install","pre-upgrade"],"last_run":{"started_at":"2026-01-03T00:00:01Z","completed_at":"2026-01-03T00:00:02.5Z","phase":"Succeeded"},"weight":-5,"delete_policies":["before-hook-creation"]},{"name":"podinfo-test","kind":"Pod","path":"podinfo/templates/tests/t.yaml","manifest":"kind: Pod\n","events":["test"],"last_run":{"phase":""}}]}"#;
