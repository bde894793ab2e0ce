//! The Kubernetes of this test binary: the testkit's shared control plane
//! (etcd, kube-apiserver with RBAC, kube-controller-manager; one per
//! process, stopped at exit) with `crds()` created once and established,
//! and kube-controller-manager restarted after them (its garbage collector
//! then watches our kinds). Every test works in namespaces of its own.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use ferroflux_kube::{InstallOptions, manifests, render_yaml};
use ferroflux_testkit::control_plane::ControlPlane;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::Value;

const CRDS: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

/// The control plane with the CRDs established; `None` after a skip notice
/// when its binaries are missing.
pub fn control_plane() -> Option<&'static ControlPlane> {
    static CRDS_READY: OnceLock<()> = OnceLock::new();
    let cp = ControlPlane::shared()?;
    CRDS_READY.get_or_init(|| {
        let crds = ferroflux_kube::crds().expect("crds");
        for crd in &crds {
            let body = serde_json::to_value(crd).expect("crd json");
            let (code, text) = cp.request("POST", CRDS, Some(&body)).expect("create crd");
            assert_eq!(code, 201, "{text}");
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        for crd in &crds {
            let name = crd.metadata.name.as_deref().expect("crd name");
            loop {
                let (_, text) = cp
                    .request("GET", &format!("{CRDS}/{name}"), None)
                    .expect("get crd");
                let v: Value = serde_json::from_str(&text).unwrap_or_default();
                let established = v["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|c| c["type"] == "Established" && c["status"] == "True");
                if established {
                    break;
                }
                assert!(Instant::now() < deadline, "{name} not established: {text}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        // So that its garbage collector watches the new kinds at once.
        cp.restart_controller_manager()
            .expect("restart kube-controller-manager");
    });
    Some(cp)
}

/// A kube-rs client with the admin kubeconfig.
pub async fn client(cp: &ControlPlane) -> Client {
    let config = Config::from_custom_kubeconfig(
        Kubeconfig::read_from(cp.kubeconfig()).expect("kubeconfig"),
        &KubeConfigOptions::default(),
    )
    .await
    .expect("kube config");
    ferroflux_kube::client::client(config).expect("kube client")
}

/// The install manifests for `namespace` as YAML, the ClusterRole and
/// ClusterRoleBinding (cluster-scoped, named `ferroflux` in every install)
/// renamed `ferroflux-<namespace>` so that installs of concurrent tests do
/// not share them (the cluster-reconciler binding is named after the
/// namespace already).
pub fn install_yaml(namespace: &str) -> String {
    let opts = InstallOptions {
        namespace: namespace.to_string(),
        ..Default::default()
    };
    let own = format!("ferroflux-{namespace}");
    let mut objects = manifests(&opts).expect("install manifests");
    for o in &mut objects {
        match o["kind"].as_str() {
            Some("ClusterRole") => o["metadata"]["name"] = own.clone().into(),
            Some("ClusterRoleBinding") if o["metadata"]["name"] == "ferroflux" => {
                o["metadata"]["name"] = own.clone().into();
                o["roleRef"]["name"] = own.clone().into();
            }
            _ => {}
        }
    }
    render_yaml(&objects).expect("install yaml")
}
