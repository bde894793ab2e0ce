//! A Kustomization with `spec.decryption` on the real kube-apiserver: a
//! Secret encrypted by the real sops (`$FERROFLUX_SOPS`) and a
//! `secretGenerator` env file arrive decrypted in the cluster; a wrong key
//! is BuildFailed with Flux's words, no plaintext in status or event.

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use serde_json::json;

use crate::kustomize::{World, message, ready};

use ferroflux_testkit::sops::Sops as Age;

fn age() -> Option<Age> {
    Age::age()
}

#[tokio::test]
async fn encrypted_secrets_are_applied_decrypted_and_a_wrong_key_is_build_failed() {
    let Some(key) = age() else { return };
    let Some(mut w) = World::new("ks-sops").await else {
        return;
    };
    let db = key.encrypt(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: hunter2-db\n",
        "yaml",
        &["--encrypted-regex", "^(data|stringData)$"],
    );
    let env = key.encrypt("TOKEN=hunter2-env\n", "dotenv", &[]);
    w.publish(
        "5555",
        &[
            ("apps/db.yaml", &db),
            ("apps/app.env", &env),
            (
                "apps/kustomization.yaml",
                "resources:\n- db.yaml\nsecretGenerator:\n- name: gen\n  envs:\n  - app.env\n\
                 generatorOptions:\n  disableNameSuffixHash: true\n",
            ),
        ],
    );
    w.home.secrets.insert(
        (w.ns.clone(), "sops-age".into()),
        [("age.agekey".to_string(), key.identity.clone().into_bytes())].into(),
    );
    let mut ks = w.kustomization(json!({
        "decryption": {"provider": "sops", "secretRef": {"name": "sops-age"}}}));
    let r = w.run(&mut ks).await;
    let c = ready(&r);
    assert_eq!(c.status, "True", "{}: {}", c.reason, c.message);
    let secrets: Api<Secret> = Api::namespaced(w.client.clone(), &w.ns);
    let db = secrets.get("db").await.expect("db applied");
    let password = db
        .data
        .as_ref()
        .and_then(|d| d.get("password"))
        .expect("password");
    assert_eq!(password.0, b"hunter2-db");
    assert!(
        db.metadata
            .annotations
            .as_ref()
            .is_none_or(|a| !a.values().any(|v| v.contains("ENC["))),
        "no sops metadata applied"
    );
    let generated = secrets.get("gen").await.expect("generated");
    let token = generated
        .data
        .as_ref()
        .and_then(|d| d.get("TOKEN"))
        .expect("TOKEN");
    assert_eq!(token.0, b"hunter2-env");
    assert!(!message(&r).contains("hunter2"), "{}", message(&r));

    // Another key: BuildFailed, the recipient named, nothing decrypted shown.
    let Some(other) = age() else { return };
    w.home.secrets.insert(
        (w.ns.clone(), "sops-age".into()),
        [(
            "age.agekey".to_string(),
            other.identity.clone().into_bytes(),
        )]
        .into(),
    );
    let r = w.run(&mut ks).await;
    let c = ready(&r);
    assert_eq!(
        (c.status.as_str(), c.reason.as_str()),
        ("False", "BuildFailed")
    );
    assert!(
        c.message
            .starts_with("error decrypting sources: apps/app.env: cannot get sops data key"),
        "{}",
        c.message
    );
    assert!(c.message.contains(&key.recipient), "{}", c.message);
    let event = message(&r);
    for text in [c.message.as_str(), event.as_str()] {
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("AGE-SECRET-KEY"), "{text}");
    }

    // No decryption configured: the apply refuses the encrypted Secret.
    let mut plain = w.kustomization(json!({}));
    let r = w.run(&mut plain).await;
    let c = ready(&r);
    assert_eq!(c.status, "False");
    assert!(
        c.message
            .contains("is SOPS encrypted, configuring decryption is required"),
        "{}",
        c.message
    );
}
