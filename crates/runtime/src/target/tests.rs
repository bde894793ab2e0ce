use super::*;

/// Kubeconfig Secrets kept in memory, counting reads.
#[derive(Default)]
struct Memory {
    secrets: Mutex<BTreeMap<(String, String), VersionedSecret>>,
    reads: std::sync::atomic::AtomicUsize,
}

impl Memory {
    fn put(&self, ns: &str, name: &str, version: &str, key: &str, value: &str) {
        let mut data = BTreeMap::new();
        data.insert(key.to_string(), value.as_bytes().to_vec());
        self.secrets
            .lock()
            .expect("lock")
            .insert((ns.into(), name.into()), (version.into(), data));
    }
}

impl KubeConfigSecrets for Memory {
    fn get<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<VersionedSecret>, String>> {
        self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let found = self
            .secrets
            .lock()
            .expect("lock")
            .get(&(namespace.to_string(), name.to_string()))
            .cloned();
        Box::pin(async move { Ok(found) })
    }
}

fn kubeconfig(server: &str, extra_user: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\n    \
         certificate-authority: /etc/passwd\n    insecure-skip-tls-verify: true\n\
         contexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n\
         users:\n- name: u\n  user:\n    token: t0ken\n{extra_user}"
    )
}

fn local() -> Config {
    Config::new("https://127.0.0.1:6443".parse().expect("url"))
}

fn spec(secret: Option<&str>, sa: Option<&str>) -> TargetSpec {
    TargetSpec {
        requester: "Kustomization/apps/web".into(),
        namespace: "apps".into(),
        kube_config_secret: secret.map(str::to_string),
        kube_config_key: None,
        service_account_name: sa.map(str::to_string),
    }
}

#[test]
fn the_kubeconfig_key_is_value_then_value_yaml_or_the_one_named() {
    let mut data = BTreeMap::new();
    data.insert("value.yaml".to_string(), b"b".to_vec());
    assert_eq!(
        kubeconfig_value("ns", "kc", None, &data).expect("value.yaml"),
        ("value.yaml".to_string(), &b"b"[..])
    );
    data.insert("value".to_string(), b"a".to_vec());
    assert_eq!(
        kubeconfig_value("ns", "kc", None, &data).expect("value").1,
        b"a"
    );
    let err = kubeconfig_value("ns", "kc", Some("config"), &data).expect_err("no such key");
    assert_eq!(
        err,
        "KubeConfig secret 'ns/kc' does not contain a 'config' key with a kubeconfig"
    );
    let err = kubeconfig_value("ns", "kc", None, &BTreeMap::new()).expect_err("empty");
    assert_eq!(
        err,
        "KubeConfig secret 'ns/kc' does not contain a 'value' key with a kubeconfig"
    );
}

#[tokio::test]
async fn a_kubeconfig_from_a_secret_is_sanitised() {
    let exec =
        "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: /bin/sh\n";
    let text = kubeconfig("https://10.0.0.1:6443", exec);
    let config = config_from_kubeconfig(text.as_bytes(), &KubeTargetsOptions::default())
        .await
        .expect("config");
    assert_eq!(config.cluster_url.to_string(), "https://10.0.0.1:6443/");
    assert!(config.auth_info.exec.is_none(), "exec dropped");
    assert!(!config.accept_invalid_certs, "insecure TLS dropped");
    assert!(config.root_cert.is_none(), "no CA read from a file");
    let allowed = KubeTargetsOptions {
        allow_exec: true,
        allow_insecure_tls: true,
    };
    let config = config_from_kubeconfig(text.as_bytes(), &allowed)
        .await
        .expect("config");
    assert!(config.auth_info.exec.is_some());
    assert!(config.accept_invalid_certs);

    let err = config_from_kubeconfig(b"clusters: [", &KubeTargetsOptions::default())
        .await
        .expect_err("not yaml");
    assert!(err.starts_with("invalid kubeconfig: "), "{err}");
    assert!(
        config_from_kubeconfig(&[0xff, 0xfe], &KubeTargetsOptions::default())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn clients_are_cached_per_secret_revision_and_account() {
    let secrets = Arc::new(Memory::default());
    secrets.put(
        "apps",
        "kc",
        "1",
        "value",
        &kubeconfig("https://10.0.0.1:6443", ""),
    );
    let targets = KubeTargets::new(local(), secrets.clone(), KubeTargetsOptions::default());

    let a = targets.build(&spec(None, None)).await.expect("local");
    let b = targets.build(&spec(None, None)).await.expect("local again");
    assert!(Arc::ptr_eq(&a, &b), "the local client is reused");
    let sa = targets
        .build(&spec(None, Some("deployer")))
        .await
        .expect("impersonated");
    assert!(!Arc::ptr_eq(&a, &sa), "another user, another client");
    assert_eq!(
        sa.0.client().default_namespace(),
        a.0.client().default_namespace()
    );

    let r1 = targets
        .build(&spec(Some("kc"), None))
        .await
        .expect("remote");
    let r2 = targets
        .build(&spec(Some("kc"), None))
        .await
        .expect("remote again");
    assert!(Arc::ptr_eq(&r1, &r2), "same revision, same client");
    secrets.put(
        "apps",
        "kc",
        "2",
        "value",
        &kubeconfig("https://10.0.0.2:6443", ""),
    );
    let r3 = targets
        .build(&spec(Some("kc"), None))
        .await
        .expect("rotated");
    assert!(!Arc::ptr_eq(&r1, &r3), "a new revision, a new client");
    assert_eq!(
        targets.lock().len(),
        3,
        "the old revision's client is dropped"
    );
    assert_eq!(secrets.reads.load(std::sync::atomic::Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_missing_kubeconfig_secret_is_a_retry_with_flux_s_words() {
    let targets = KubeTargets::new(
        local(),
        Arc::new(Memory::default()),
        KubeTargetsOptions::default(),
    );
    let Err(e) = targets.target(&spec(Some("prod"), None)).await else {
        panic!("no secret");
    };
    assert!(matches!(e, StepError::Retry { .. }), "{e:?}");
    assert_eq!(
        e.message(),
        "unable to read KubeConfig secret 'apps/prod' error: secrets \"prod\" not found"
    );
}

#[tokio::test]
async fn a_malformed_kubeconfig_is_reported_without_its_values() {
    let text = "apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user: \"s3cr3t-token\"\n";
    let err = config_from_kubeconfig(text.as_bytes(), &KubeTargetsOptions::default())
        .await
        .expect_err("user is not a map");
    assert!(err.starts_with("invalid kubeconfig: "), "{err}");
    assert!(!err.contains("s3cr3t"), "{err}");
    assert_eq!(without_quoted(r#"a "b" c "d"#), r#"a "***" c "***""#);
}
