use super::*;

fn kinds_and_names(objs: &[Value]) -> Vec<(String, String)> {
    objs.iter()
        .map(|o| {
            (
                o["kind"].as_str().unwrap_or_default().to_string(),
                o["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

#[test]
fn objects_come_in_apply_order() {
    let objs = manifests(&InstallOptions::default()).expect("manifests");
    let got = kinds_and_names(&objs);
    let want: Vec<(String, String)> = [
        (
            "CustomResourceDefinition",
            "imagerepositories.image.toolkit.fluxcd.io",
        ),
        (
            "CustomResourceDefinition",
            "imagepolicies.image.toolkit.fluxcd.io",
        ),
        (
            "CustomResourceDefinition",
            "imageupdateautomations.image.toolkit.fluxcd.io",
        ),
        (
            "CustomResourceDefinition",
            "gitrepositories.source.toolkit.fluxcd.io",
        ),
        (
            "CustomResourceDefinition",
            "helmrepositories.source.toolkit.fluxcd.io",
        ),
        (
            "CustomResourceDefinition",
            "ocirepositories.source.toolkit.fluxcd.io",
        ),
        (
            "CustomResourceDefinition",
            "helmcharts.source.toolkit.fluxcd.io",
        ),
        (
            "CustomResourceDefinition",
            "kustomizations.kustomize.toolkit.fluxcd.io",
        ),
        (
            "CustomResourceDefinition",
            "helmreleases.helm.toolkit.fluxcd.io",
        ),
        (
            "CustomResourceDefinition",
            "receivers.notification.toolkit.fluxcd.io",
        ),
        (
            "CustomResourceDefinition",
            "providers.notification.toolkit.fluxcd.io",
        ),
        (
            "CustomResourceDefinition",
            "alerts.notification.toolkit.fluxcd.io",
        ),
        ("Namespace", "flux-system"),
        ("ServiceAccount", "ferroflux"),
        ("ClusterRole", "ferroflux"),
        ("ClusterRoleBinding", "ferroflux"),
        ("ClusterRoleBinding", "cluster-reconciler-flux-system"),
        ("Service", "webhook-receiver"),
        ("Service", "source-controller"),
        ("Deployment", "ferroflux"),
    ]
    .iter()
    .map(|(k, n)| (k.to_string(), n.to_string()))
    .collect();
    assert_eq!(got, want);
    for o in &objs {
        assert!(o["apiVersion"].is_string(), "{o}");
    }
}

fn allowed(role: &Value, group: &str, resource: &str, verb: &str) -> bool {
    role["rules"].as_array().into_iter().flatten().any(|r| {
        let has = |key: &str, want: &str| {
            r[key]
                .as_array()
                .is_some_and(|xs| xs.iter().any(|x| x == want))
        };
        has("apiGroups", group) && has("resources", resource) && has("verbs", verb)
    })
}

#[test]
fn cluster_role_grants_what_the_controller_needs_and_no_more() {
    let objs = manifests(&InstallOptions::default()).expect("manifests");
    let role = objs
        .iter()
        .find(|o| o["kind"] == "ClusterRole")
        .expect("role");
    let cases = [
        ("image.toolkit.fluxcd.io", "imagepolicies", "watch", true),
        (
            "image.toolkit.fluxcd.io",
            "imagepolicies/status",
            "patch",
            true,
        ),
        (
            "image.toolkit.fluxcd.io",
            "imagerepositories/status",
            "update",
            true,
        ),
        (
            "image.toolkit.fluxcd.io",
            "imageupdateautomations",
            "list",
            true,
        ),
        (
            "notification.toolkit.fluxcd.io",
            "receivers/status",
            "patch",
            true,
        ),
        ("source.toolkit.fluxcd.io", "helmcharts", "watch", true),
        (
            "source.toolkit.fluxcd.io",
            "ocirepositories/status",
            "patch",
            true,
        ),
        (
            "source.toolkit.fluxcd.io",
            "helmrepositories/status",
            "patch",
            true,
        ),
        ("source.toolkit.fluxcd.io", "gitrepositories", "watch", true),
        (
            "source.toolkit.fluxcd.io",
            "gitrepositories",
            "update",
            true,
        ),
        (
            "source.toolkit.fluxcd.io",
            "gitrepositories/status",
            "patch",
            true,
        ),
        (
            "kustomize.toolkit.fluxcd.io",
            "kustomizations/status",
            "patch",
            true,
        ),
        (
            "kustomize.toolkit.fluxcd.io",
            "kustomizations",
            "watch",
            true,
        ),
        ("", "secrets", "get", true),
        ("", "secrets", "create", false),
        ("", "configmaps", "watch", true),
        ("", "configmaps", "update", false),
        ("", "events", "create", true),
        ("events.k8s.io", "events", "create", true),
        ("coordination.k8s.io", "leases", "update", true),
        ("apps", "deployments", "get", false),
    ];
    for (group, resource, verb, want) in cases {
        assert_eq!(
            allowed(role, group, resource, verb),
            want,
            "{group} {resource} {verb}"
        );
    }
}

#[test]
fn deployment_runs_the_controller_with_its_ports() {
    let opts = InstallOptions {
        namespace: "gitops".into(),
        image: "example.com/ff:test".into(),
    };
    let objs = manifests(&opts).expect("manifests");
    let dep = objs
        .iter()
        .find(|o| o["kind"] == "Deployment")
        .expect("deployment");
    assert_eq!(dep["metadata"]["namespace"], "gitops");
    let c = &dep["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], "example.com/ff:test");
    assert_eq!(c["args"][0], "controller");
    let ports: Vec<(String, i64)> = c["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap_or_default().to_string(),
                p["containerPort"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        ports,
        vec![
            ("http-prom".to_string(), 8080),
            ("http-webhook".to_string(), 9292),
            ("http".to_string(), 9090),
            ("healthz".to_string(), 9440)
        ]
    );
    let env: Vec<(&str, &str)> = c["env"]
        .as_array()
        .expect("env")
        .iter()
        .filter_map(|e| Some((e["name"].as_str()?, e["value"].as_str()?)))
        .collect();
    assert_eq!(env, [("MALLOC_ARENA_MAX", "2")]);
    // Artifact URLs name source-controller's Service, which serves them.
    let args: Vec<&str> = c["args"]
        .as_array()
        .expect("args")
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    assert!(
        args.contains(
            &"--storage-adv-addr=source-controller.$(RUNTIME_NAMESPACE).svc.cluster.local."
        ),
        "{args:?}"
    );
    let svc = objs
        .iter()
        .find(|o| o["kind"] == "Service" && o["metadata"]["name"] == "source-controller")
        .expect("the artifact Service");
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], "http");
    assert_eq!(svc["spec"]["ports"][0]["port"], 80);
    assert_eq!(
        dep["spec"]["template"]["spec"]["serviceAccountName"],
        "ferroflux"
    );
    let binding = objs
        .iter()
        .find(|o| o["kind"] == "ClusterRoleBinding")
        .expect("binding");
    assert_eq!(binding["subjects"][0]["namespace"], "gitops");
    let ns = objs
        .iter()
        .find(|o| o["kind"] == "Namespace")
        .expect("namespace");
    assert_eq!(ns["metadata"]["name"], "gitops");
}

#[test]
fn yaml_round_trips_and_sorts_keys() {
    let objs = manifests(&InstallOptions::default()).expect("manifests");
    let text = render_yaml(&objs).expect("yaml");
    assert!(
        text.starts_with(
            "---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        )
    );
    let back: Vec<Value> = text
        .split("\n---\n")
        .map(|doc| serde_yaml::from_str::<Value>(doc.trim_start_matches("---\n")).expect("parse"))
        .collect();
    assert_eq!(back, objs);
    // The same input renders the same bytes.
    assert_eq!(render_yaml(&objs).expect("yaml"), text);
}

/// A Kustomization applies arbitrary objects: the controller's
/// ServiceAccount is bound to cluster-admin, as Flux's
/// `cluster-reconciler-<namespace>` binds kustomize-controller.
#[test]
fn cluster_reconciler_binds_the_controller_to_cluster_admin() {
    let opts = InstallOptions {
        namespace: "gitops".to_string(),
        ..Default::default()
    };
    let objs = manifests(&opts).expect("manifests");
    let binding = objs
        .iter()
        .find(|o| o["metadata"]["name"] == "cluster-reconciler-gitops")
        .expect("cluster-reconciler binding");
    assert_eq!(binding["kind"], "ClusterRoleBinding");
    assert_eq!(binding["roleRef"]["name"], "cluster-admin");
    assert_eq!(binding["roleRef"]["kind"], "ClusterRole");
    assert_eq!(
        binding["subjects"],
        serde_json::json!([{"kind": "ServiceAccount", "name": "ferroflux", "namespace": "gitops"}])
    );
}
