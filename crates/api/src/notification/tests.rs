use std::path::Path;

use super::*;
use crate::manifest::{Object, load_str};

fn provider(yaml: &str) -> (Option<Provider>, Vec<String>) {
    let l = load_str(Path::new("p.yaml"), yaml);
    let findings = l.findings.iter().map(ToString::to_string).collect();
    let p = l.manifests.into_iter().find_map(|m| match m.object {
        Object::Provider(p) => Some(p),
        _ => None,
    });
    (p, findings)
}

#[test]
fn v1beta3_provider_reads_every_field_and_defaults_the_timeout() {
    let (p, findings) = provider(
        "apiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Provider\nmetadata:\n  name: slack\n  namespace: flux-system\nspec:\n  type: slack\n  channel: general\n  username: flux\n  address: https://hooks.slack.com/services/x\n  secretRef:\n    name: slack-url\n  certSecretRef:\n    name: ca\n  proxySecretRef:\n    name: proxy\n",
    );
    assert!(findings.is_empty(), "{findings:?}");
    let p = p.expect("a Provider");
    assert_eq!(p.spec.provider_type, ProviderType::Slack);
    assert_eq!(p.spec.timeout(), std::time::Duration::from_secs(15));
    assert_eq!(p.spec.channel.as_deref(), Some("general"));
    assert!(!p.spec.suspended());
    assert!(p.spec.problems().is_empty());
}

#[test]
fn v1beta2_provider_of_the_tutorials_reads_as_v1beta3_with_a_deprecation() {
    let (p, findings) = provider(
        "apiVersion: notification.toolkit.fluxcd.io/v1beta2\nkind: Provider\nmetadata:\n  name: generic\n  namespace: flux-system\nspec:\n  type: generic-hmac\n  address: https://example.com/hook\n  timeout: 30s\n  secretRef:\n    name: hmac\n",
    );
    let p = p.expect("a Provider");
    assert_eq!(p.spec.provider_type, ProviderType::GenericHmac);
    assert_eq!(p.spec.timeout(), std::time::Duration::from_secs(30));
    assert!(
        findings.iter().any(|f| f.contains("v1beta2 is deprecated")),
        "{findings:?}"
    );
}

#[test]
fn an_unknown_provider_type_is_an_error_naming_the_field() {
    let (_, findings) = provider(
        "apiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Provider\nmetadata:\n  name: x\nspec:\n  type: slak\n",
    );
    assert!(
        findings
            .iter()
            .any(|f| f.contains("p.yaml:6") && f.contains("slak") && f.contains("error")),
        "{findings:?}"
    );
}

#[test]
fn provider_type_names_round_trip() {
    for t in [
        ProviderType::GenericHmac,
        ProviderType::Incidentio,
        ProviderType::Msteams,
        ProviderType::Bitbucketserver,
    ] {
        let json = serde_json::to_value(t).expect("encodes");
        assert_eq!(json, serde_json::Value::String(t.as_str().to_string()));
        let back: ProviderType = serde_json::from_value(json).expect("decodes");
        assert_eq!(back, t);
    }
    assert!(ProviderType::Github.is_commit_status());
    assert!(!ProviderType::Slack.is_commit_status());
    assert!(ProviderType::GenericHmac.is_generic());
}

#[test]
fn provider_problems_follow_the_crd() {
    let spec = ProviderSpec {
        provider_type: ProviderType::Slack,
        address: Some("x".repeat(2049)),
        proxy: Some("socks5://p".into()),
        commit_status_expr: Some("'a'".into()),
        ..Default::default()
    };
    let fields: Vec<String> = spec.problems().into_iter().map(|p| p.field).collect();
    assert_eq!(
        fields,
        ["spec.address", "spec.proxy", "spec.commitStatusExpr"],
        "{fields:?}"
    );
    let github = ProviderSpec {
        provider_type: ProviderType::Github,
        commit_status_expr: Some("'a'".into()),
        ..Default::default()
    };
    assert!(github.problems().is_empty());
}

#[test]
fn timeout_pattern_admits_ms_s_m_only() {
    for ok in ["15s", "1m30s", "500ms", "1.5s", "2m"] {
        assert_eq!(timeout_problem(ok), None, "{ok}");
    }
    for bad in ["1h", "", "-1s", "s", "1.s", "10"] {
        let p = timeout_problem(bad).expect(bad);
        assert_eq!(p.field, "spec.timeout");
        assert!(p.message.contains("hours are not allowed"), "{}", p.message);
    }
}

#[test]
fn alert_defaults_and_problems() {
    let spec = AlertSpec {
        provider_ref: crate::meta::LocalObjectReference {
            name: "slack".into(),
        },
        event_sources: vec![CrossNamespaceObjectReference {
            kind: "Deployment".into(),
            name: "*".into(),
            ..Default::default()
        }],
        summary: Some("s".repeat(256)),
        ..Default::default()
    };
    assert_eq!(spec.severity(), EventSeverity::Info);
    let fields: Vec<String> = spec.problems().into_iter().map(|p| p.field).collect();
    assert_eq!(fields, ["spec.summary", "spec.eventSources.0.kind"]);
}
