use super::*;

fn ready(status: &str) -> Vec<Condition> {
    vec![Condition {
        type_: condition::READY.to_string(),
        status: status.to_string(),
        reason: "Succeeded".to_string(),
        message: String::new(),
        last_transition_time: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
        ),
        observed_generation: None,
    }]
}

#[test]
fn flux_metric_names_labels_and_buckets() {
    let m = Metrics::new();
    let key = ObjectKey::new("ImagePolicy", "flux-system", "web");
    m.observe_duration(&key, 0.05);
    m.record_status(&key, &ready("True"), false);
    let text = m.encode();
    assert!(
        text.contains("# HELP gotk_reconcile_duration_seconds The duration in seconds of a GitOps Toolkit resource reconciliation.\n"),
        "{text}"
    );
    assert!(
        text.contains("# TYPE gotk_reconcile_duration_seconds histogram"),
        "{text}"
    );
    assert!(
        text.contains(
            r#"gotk_reconcile_duration_seconds_bucket{le="0.1",kind="ImagePolicy",name="web",namespace="flux-system"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"gotk_reconcile_duration_seconds_bucket{le="0.01",kind="ImagePolicy",name="web",namespace="flux-system"} 0"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"gotk_reconcile_condition{kind="ImagePolicy",name="web",namespace="flux-system",type="Ready",status="True"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"gotk_reconcile_condition{kind="ImagePolicy",name="web",namespace="flux-system",type="Ready",status="False"} 0"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"gotk_suspend_status{kind="ImagePolicy",name="web",namespace="flux-system"} 0"#
        ),
        "{text}"
    );
}

#[test]
fn deleted_and_suspended_objects() {
    let m = Metrics::new();
    let key = ObjectKey::new("ImageRepository", "apps", "r");
    m.record_status(&key, &[], true);
    let text = m.encode();
    assert!(
        text.contains(r#"type="Ready",status="Unknown"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"gotk_suspend_status{kind="ImageRepository",name="r",namespace="apps"} 1"#),
        "{text}"
    );
    m.record_deleted(&key);
    let text = m.encode();
    assert!(
        text.contains(r#"type="Ready",status="Deleted"} 1"#),
        "{text}"
    );
    assert!(!text.contains("gotk_suspend_status{"), "{text}");
}
