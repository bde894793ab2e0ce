use super::*;

#[tokio::test]
async fn no_target_stalls_and_names_the_flag_to_pass() {
    let want = TargetSpec {
        requester: "Kustomization/flux-system/apps".into(),
        ..TargetSpec::default()
    };
    let Err(e) = NoTarget.target(&want).await else {
        panic!("NoTarget must refuse");
    };
    assert!(matches!(e, StepError::Stalled { .. }), "{e:?}");
    assert_eq!(e.reason(), NO_TARGET_REASON);
    assert!(e.message().contains("--kubeconfig FILE"), "{}", e.message());
    assert!(
        e.message().starts_with("Kustomization/flux-system/apps: "),
        "{}",
        e.message()
    );

    let remote = TargetSpec {
        kube_config_secret: Some("prod-kubeconfig".into()),
        ..want
    };
    let Err(e) = NoTarget.target(&remote).await else {
        panic!("NoTarget must refuse");
    };
    assert!(
        e.message()
            .contains("spec.kubeConfig (secret 'prod-kubeconfig')")
    );
    assert!(e.message().contains("--kubeconfig FILE"));
}

#[test]
fn inventory_ids_are_fluxs() {
    let id = ObjMetadata::new("default", "app", "apps", "Deployment");
    assert_eq!(id.id(), "default_app_apps_Deployment");
    assert_eq!(id.subject(), "Deployment/default/app");
}
