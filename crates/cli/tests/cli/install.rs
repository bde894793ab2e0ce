//! `ferroflux install --export`: the committed `deploy/install.yaml` is
//! exactly what the binary prints (regenerate it with
//! `cargo run -p ferroflux -- install --export > deploy/install.yaml`), and
//! the stream holds Flux's CRDs and the controller.

use std::path::Path;
use std::process::{Command, Output};

fn install(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferroflux"))
        .arg("install")
        .args(args)
        .output()
        .expect("ferroflux runs")
}

#[test]
fn committed_install_yaml_matches_a_fresh_export() {
    let out = install(&["--export"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fresh = String::from_utf8(out.stdout).expect("utf-8");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/install.yaml");
    let committed = std::fs::read_to_string(&path).expect("deploy/install.yaml exists");
    if committed != fresh {
        let line = committed
            .lines()
            .zip(fresh.lines())
            .position(|(a, b)| a != b)
            .map_or(
                committed.lines().count().min(fresh.lines().count()) + 1,
                |i| i + 1,
            );
        panic!(
            "deploy/install.yaml differs from `ferroflux install --export` from line {line}; \
             regenerate it: cargo run -p ferroflux -- install --export > deploy/install.yaml"
        );
    }
}

#[test]
fn export_lists_crds_then_namespace_rbac_and_deployment() {
    let out = install(&[
        "--export",
        "--namespace",
        "gitops",
        "--image",
        "example.com/ff:1",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let kinds: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("kind: "))
        .collect();
    assert_eq!(
        kinds,
        [
            "CustomResourceDefinition",
            "CustomResourceDefinition",
            "CustomResourceDefinition",
            "CustomResourceDefinition",
            "CustomResourceDefinition",
            "CustomResourceDefinition",
            // HelmRepository, OCIRepository and HelmChart.
            "CustomResourceDefinition",
            "CustomResourceDefinition",
            "CustomResourceDefinition",
            // HelmRelease.
            "CustomResourceDefinition",
            // Provider and Alert (notification v1beta3).
            "CustomResourceDefinition",
            "CustomResourceDefinition",
            "Namespace",
            "ServiceAccount",
            "ClusterRole",
            "ClusterRoleBinding",
            "ClusterRoleBinding",
            "Service",
            "Service",
            "Deployment"
        ]
    );
    for want in [
        "name: imagepolicies.image.toolkit.fluxcd.io",
        "deprecationWarning: v1beta2 ImagePolicy is deprecated, upgrade to v1",
        "name: kustomizations.kustomize.toolkit.fluxcd.io",
        "name: helmreleases.helm.toolkit.fluxcd.io",
        "name: ocirepositories.source.toolkit.fluxcd.io",
        "deprecationWarning: v1beta2 Kustomization is deprecated, upgrade to v1",
        "name: providers.notification.toolkit.fluxcd.io",
        "name: alerts.notification.toolkit.fluxcd.io",
        "name: cluster-reconciler-gitops",
        "image: example.com/ff:1",
        "namespace: gitops",
        "containerPort: 9292",
        "containerPort: 9090",
        "- --storage-adv-addr=source-controller.$(RUNTIME_NAMESPACE).svc.cluster.local.",
        "name: source-controller",
    ] {
        assert!(text.contains(want), "missing {want:?}");
    }
}

#[test]
fn install_without_export_is_refused() {
    let out = install(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--export"));
}
