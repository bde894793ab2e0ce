//! Integration tests of the runtime: the webhook server over real HTTP and
//! one `automate` pass against a fake registry and a file:// repository;
//! HelmRepositories and HelmCharts against a chart repository on loopback;
//! the Kustomization reconcile against the testkit's real kube-apiserver,
//! SOPS-encrypted Secrets among its manifests; a test-only kind served with
//! one registration line.

mod automate;
mod helm;
mod helm_target;
mod kind;
mod kustomize;
mod notify;
mod oci;
mod sops;
mod sources;
mod webhook;

/// The shared test control plane's client config, from its kubeconfig.
pub(crate) async fn kube_config(
    cp: &ferroflux_testkit::control_plane::ControlPlane,
) -> kube::Config {
    kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::read_from(cp.kubeconfig()).expect("kubeconfig"),
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .expect("kube config")
}

/// A client of the test control plane, and the target clusters
/// `automate --kubeconfig` gets for it.
pub(crate) async fn targets(
    cp: &ferroflux_testkit::control_plane::ControlPlane,
) -> (
    kube::Client,
    std::sync::Arc<dyn ferroflux_controllers::target::TargetFactory>,
) {
    let config = kube_config(cp).await;
    let client = kube::Client::try_from(config.clone()).expect("client");
    let targets = std::sync::Arc::new(ferroflux_runtime::target::KubeTargets::new(
        config,
        std::sync::Arc::new(client.clone()),
        ferroflux_runtime::target::KubeTargetsOptions::default(),
    ));
    (client, targets)
}
