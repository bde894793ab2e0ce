//! `TargetCluster::helm` of the runtime's Kubernetes targets on the real
//! kube-apiserver: the HelmRelease kind's seam reaches Helm's actions with
//! the target's client, impersonation included.

use std::sync::Arc;
use std::time::Duration;

use ferroflux_controllers::target::helm::{Common, CrdPolicy, Install, Uninstall};
use ferroflux_controllers::target::{TargetFactory, TargetSpec};
use ferroflux_helm::chart::{self, File};
use ferroflux_helm::release::Status;
use ferroflux_runtime::target::{KubeTargets, KubeTargetsOptions};
use ferroflux_testkit::control_plane::ControlPlane;
use kube::Client;

fn install(name: &str, ns: &str) -> Install {
    let files = [
        ("Chart.yaml", "apiVersion: v2\nname: tiny\nversion: 1.0.0\n"),
        (
            "templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  k: v\n",
        ),
    ];
    let chart = chart::load_files(
        files
            .iter()
            .map(|(n, d)| File {
                name: (*n).to_string(),
                data: d.as_bytes().to_vec(),
            })
            .collect(),
    )
    .expect("chart");
    Install {
        common: Common {
            release_name: name.into(),
            namespace: ns.into(),
            timeout: Duration::from_secs(30),
            ..Common::default()
        },
        chart,
        values: Default::default(),
        crds: CrdPolicy::Create,
        create_namespace: false,
        skip_schema_validation: false,
        disable_openapi_validation: false,
        replace: false,
        name_free: false,
        server_side: true,
        force_conflicts: true,
        take_ownership: false,
        description: None,
        labels: Default::default(),
        post_render: None,
    }
}

fn spec(ns: &str, sa: Option<&str>) -> TargetSpec {
    TargetSpec {
        requester: format!("HelmRelease/{ns}/tiny"),
        namespace: ns.into(),
        kube_config_secret: None,
        kube_config_key: None,
        service_account_name: sa.map(str::to_string),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_target_runs_helm_actions_as_its_client() {
    let Some(cp) = ControlPlane::shared() else {
        return;
    };
    let ns = cp.namespace("helm-target");
    let config = crate::kube_config(cp).await;
    let client = Client::try_from(config.clone()).expect("client");
    let targets = KubeTargets::new(config, Arc::new(client), KubeTargetsOptions::default());

    let admin = targets.target(&spec(&ns, None)).await.expect("target");
    let helm = admin.helm(&ns).expect("helm storage");
    let record = helm.install(install("tiny", &ns)).await.expect("install");
    assert_eq!(record.status, Some(Status::Deployed));
    let history = helm.history("tiny").await.expect("history");
    assert_eq!(history.len(), 1);
    let (code, body) = cp
        .request(
            "GET",
            &format!("/api/v1/namespaces/{ns}/configmaps/tiny"),
            None,
        )
        .expect("get");
    assert_eq!(code, 200, "{body}");
    assert!(
        body.contains("\"helm-controller\""),
        "field manager: {body}"
    );

    // Impersonating an account without rights: refused by the apiserver.
    let tenant = targets
        .target(&spec(&ns, Some("nobody")))
        .await
        .expect("target");
    let err = tenant
        .helm(&ns)
        .expect("helm storage")
        .install(install("other", &ns))
        .await
        .expect_err("forbidden");
    assert!(err.message.contains("forbidden"), "{}", err.message);

    let gone = helm
        .uninstall(Uninstall {
            common: Common {
                release_name: "tiny".into(),
                namespace: ns.clone(),
                ..Common::default()
            },
            ..Uninstall::default()
        })
        .await
        .expect("uninstall");
    assert!(gone.is_none());
}
