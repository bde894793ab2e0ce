//! The pure parts of the apply: error texts, immutable-error detection,
//! secret redaction, drift comparison, metadata cleanup, change sets.

use std::time::Duration;

use serde_json::json;

use super::*;

fn desired(obj: Value) -> Desired {
    Desired::new(obj, 0).expect("desired")
}

#[test]
fn error_messages_are_fluxs() {
    let cases = [
        (
            ApplyError::DryRun {
                subject: "Deployment/default/app".into(),
                reason: "Invalid".into(),
                message: "Deployment.apps \"app\" is invalid: spec.selector: Required value".into(),
            },
            "Deployment/default/app dry-run failed (Invalid): Deployment.apps \"app\" is invalid: spec.selector: Required value",
        ),
        (
            ApplyError::DryRun {
                subject: "Foo/default/x".into(),
                reason: String::new(),
                message: "no matches for kind \"Foo\" in version \"example.com/v1\"".into(),
            },
            "Foo/default/x dry-run failed: no matches for kind \"Foo\" in version \"example.com/v1\"",
        ),
        (
            ApplyError::NamespaceNotSpecified {
                subject: "ConfigMap/x".into(),
                message: "the server could not find the requested resource".into(),
            },
            "ConfigMap/x namespace not specified: the server could not find the requested resource",
        ),
        (
            ApplyError::NotFound {
                subject: "ConfigMap/nope/x".into(),
                message: "namespaces \"nope\" not found".into(),
            },
            "ConfigMap/nope/x not found: namespaces \"nope\" not found",
        ),
        (
            ApplyError::ForceDelete {
                subject: "Job/default/j".into(),
                message: "forbidden".into(),
            },
            "Job/default/j immutable field detected, failed to delete object: forbidden",
        ),
        (
            ApplyError::Apply {
                subject: "Service/default/s".into(),
                message: "boom".into(),
            },
            "Service/default/s apply failed: boom",
        ),
        (
            ApplyError::DeleteAll("ConfigMap/a/b delete failed: x;".into()),
            "delete failed, errors: ConfigMap/a/b delete failed: x;",
        ),
    ];
    for (e, want) in cases {
        assert_eq!(e.to_string(), want);
    }
}

#[test]
fn immutable_errors_are_detected_as_kubectl_and_flux_do() {
    assert!(is_immutable_error(Some(422), "anything"));
    assert!(is_immutable_error(Some(409), "conflict"));
    assert!(is_immutable_error(
        Some(400),
        "admission webhook denied: spec.foo is immutable"
    ));
    assert!(is_immutable_error(
        Some(400),
        "cannot change an immutable\tfield"
    ));
    assert!(!is_immutable_error(Some(400), "spec.foo is mutable"));
    assert!(!is_immutable_error(Some(403), "forbidden"));
    assert!(!is_immutable_error(None, "connection refused"));
}

#[test]
fn force_needs_an_immutable_error_and_a_request() {
    let immutable = kube::Error::Api(Box::new(kube::core::Status {
        code: 422,
        reason: "Invalid".into(),
        message: "spec.clusterIP: Invalid value: \"10.0.0.9\": field is immutable".into(),
        ..Default::default()
    }));
    let forbidden = kube::Error::Api(Box::new(kube::core::Status {
        code: 403,
        reason: "Forbidden".into(),
        message: "no".into(),
        ..Default::default()
    }));
    let plain = json!({"metadata": {}});
    let asks = json!({"metadata": {"annotations": {FORCE_KEY: "Enabled"}}});
    assert!(!should_force_with(&plain, None, false, &immutable));
    assert!(should_force_with(&plain, None, true, &immutable));
    assert!(should_force_with(&asks, None, false, &immutable));
    assert!(should_force_with(&plain, Some(&asks), false, &immutable));
    assert!(!should_force_with(&asks, None, true, &forbidden));
}

#[test]
fn dry_run_errors_name_the_object_and_reason() {
    let status = |code: u16, reason: &str, message: &str| {
        kube::Error::Api(Box::new(kube::core::Status {
            code,
            reason: reason.into(),
            message: message.into(),
            ..Default::default()
        }))
    };
    let cm = desired(
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "nope"}}),
    );
    assert_eq!(
        dry_run_error(
            &cm,
            &status(404, "NotFound", "namespaces \"nope\" not found")
        )
        .to_string(),
        "ConfigMap/nope/x not found: namespaces \"nope\" not found"
    );
    let ns = desired(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}));
    assert!(matches!(
        dry_run_error(&ns, &status(404, "NotFound", "x")),
        ApplyError::NamespaceNotSpecified { .. }
    ));
    assert_eq!(
        dry_run_error(&cm, &status(422, "Invalid", "bad")).to_string(),
        "ConfigMap/nope/x dry-run failed (Invalid): bad"
    );
}

#[test]
fn secret_values_never_reach_an_error() {
    // "aHVudGVyMg==" is base64 of "hunter2".
    let secret = desired(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "s", "namespace": "default"},
        "data": {"password": "aHVudGVyMg=="},
        "stringData": {"token": "s3cr3t-token"}
    }));
    let e = kube::Error::Api(Box::new(kube::core::Status {
        code: 422,
        reason: "Invalid".into(),
        message: "data[password]: Invalid value: \"aHVudGVyMg==\" (hunter2); stringData[token]: s3cr3t-token".into(),
        ..Default::default()
    }));
    let text = dry_run_error(&secret, &e).to_string();
    assert!(!text.contains("hunter2"), "{text}");
    assert!(!text.contains("aHVudGVyMg=="), "{text}");
    assert!(!text.contains("s3cr3t-token"), "{text}");
    assert!(
        text.starts_with("Secret/default/s dry-run failed (Invalid): data[password]"),
        "{text}"
    );
    // Other kinds keep their text.
    let cm = json!({"kind": "ConfigMap", "data": {"k": "visible"}});
    assert_eq!(redact_secret_values(&cm, "visible".into()), "visible");
    assert_eq!(decode_base64("aHVudGVyMg=="), Some("hunter2".into()));
    assert_eq!(decode_base64("not base64!"), None);
}

#[test]
fn desired_objects_lose_server_fields() {
    let d = desired(
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {
        "name": "app", "namespace": "default", "resourceVersion": "7", "uid": "u",
        "managedFields": [], "creationTimestamp": null}}),
    );
    assert_eq!(
        d.object["metadata"],
        json!({"name": "app", "namespace": "default"})
    );
    let with_status = desired(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c"}, "status": {"x": 1}}));
    assert!(with_status.object.get("status").is_none());
    let crd = desired(
        json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "c"}, "status": {"x": 1}}),
    );
    assert_eq!(crd.object["status"], json!({"x": 1}));
    assert_eq!(d.subject(), "Deployment/default/app");
    assert_eq!(d.version(), "v1");
    assert!(matches!(
        Desired::new(json!({"kind": "X"}), 4),
        Err(ApplyError::Object(InventoryError::MissingField {
            index: 4,
            ..
        }))
    ));
}

#[test]
fn skip_rules() {
    let with = |ann: Value| {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "d", "annotations": ann}})
    };
    let live = with(json!({}));
    // Ignore and reconcile: disabled on either side skip; IfNotPresent only once present.
    let cases = [
        (with(json!({SSA_KEY: "Ignore"})), None, true),
        (with(json!({SSA_KEY: "ignore"})), Some(&live), true),
        (with(json!({RECONCILE_KEY: "disabled"})), None, true),
        (with(json!({SSA_KEY: "IfNotPresent"})), None, false),
        (with(json!({SSA_KEY: "IfNotPresent"})), Some(&live), true),
        (with(json!({SSA_KEY: "Merge"})), Some(&live), false),
        (
            with(json!({})),
            Some(&with(json!({SSA_KEY: "Ignore"}))),
            true,
        ),
        (with(json!({})), None, false),
    ];
    for (d, l, skip) in cases {
        let d = desired(d);
        let got = skip_entry(&d, l);
        assert_eq!(got.is_some(), skip, "{} {:?}", d.object, l);
        if let Some(e) = got {
            assert_eq!(e.to_string(), "ConfigMap/d/c skipped");
        }
    }
}

#[test]
fn drift_ignores_metadata_and_status_but_not_labels() {
    let live = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "resourceVersion": "5", "labels": {"a": "1"}, "generation": 1},
        "data": {"k": "v"}, "status": {"x": 1}});
    let mut same = live.clone();
    same["metadata"]["generation"] = 2.into();
    same["metadata"]["managedFields"] = json!([{"manager": "x"}]);
    same["status"] = json!({"x": 2});
    assert!(!diff::drifted(&live, &same));
    let mut data = live.clone();
    data["data"]["k"] = "w".into();
    assert!(diff::drifted(&live, &data));
    let mut label = live.clone();
    label["metadata"]["labels"]["a"] = "2".into();
    assert!(diff::drifted(&live, &label));
    // No annotations and empty annotations are the same.
    let mut empty = live.clone();
    empty["metadata"]["annotations"] = json!({});
    assert!(!diff::drifted(&live, &empty));
    // A dry-run without a resourceVersion is a creation.
    let mut new = live.clone();
    new["metadata"]
        .as_object_mut()
        .expect("meta")
        .remove("resourceVersion");
    assert!(diff::drifted(&live, &new));
}

#[test]
fn secret_data_is_masked_as_flux_masks_it() {
    let mut live = json!({"data": {"same": "YQ==", "changed": "Yg==", "gone": "Yw=="}});
    let mut merged = json!({"data": {"same": "YQ==", "changed": "ZA==", "new": "ZQ=="}});
    mask_secret_data(&mut live, &mut merged);
    assert_eq!(
        live,
        json!({"data": {"same": "***", "changed": "*** (before)", "gone": "***"}})
    );
    assert_eq!(
        merged,
        json!({"data": {"same": "***", "changed": "*** (after)", "new": "***"}})
    );
}

fn entry(manager: &str, operation: &str, fields: Value) -> Value {
    json!({"manager": manager, "operation": operation, "apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": fields})
}

#[test]
fn cleanup_hands_kubectl_fields_to_us() {
    let managers = default_field_managers(DEFAULT_FIELD_MANAGER, &[]);
    let live = json!({"metadata": {
        "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}", "keep": "x"},
        "labels": {"fluxcd.io/sync-gc-mark": "y"},
        "managedFields": [
            entry("kustomize-controller", "Apply", json!({"f:data": {"f:a": {}}})),
            entry("kubectl-client-side-apply", "Update", json!({"f:data": {"f:b": {}}})),
            entry("kube-controller-manager", "Update", json!({"f:status": {}})),
            entry("kubectl-edit", "Update", json!({"f:data": {"f:c": {}}, "f:metadata": {".": {}}})),
            {"manager": "kubectl", "operation": "Update", "subresource": "status", "fieldsV1": {"f:status": {}}},
        ]
    }});
    let patch = cleanup_patch(&live, &managers, DEFAULT_FIELD_MANAGER).expect("a patch");
    assert_eq!(
        patch,
        json!([
            {"op": "remove", "path": "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration"},
            {"op": "remove", "path": "/metadata/labels/fluxcd.io~1sync-gc-mark"},
            {"op": "replace", "path": "/metadata/managedFields", "value": [
                entry("kube-controller-manager", "Update", json!({"f:status": {}})),
                {"manager": "kubectl", "operation": "Update", "subresource": "status", "fieldsV1": {"f:status": {}}},
                entry("kustomize-controller", "Apply",
                    json!({"f:data": {"f:a": {}, "f:b": {}, "f:c": {}}, "f:metadata": {".": {}}})),
            ]},
        ])
    );
}

#[test]
fn cleanup_renames_the_first_match_when_we_own_nothing() {
    let managers =
        default_field_managers(DEFAULT_FIELD_MANAGER, &["flux-client-side-apply".into()]);
    let live = json!({"metadata": {"managedFields": [
        entry("kubectl", "Apply", json!({"f:data": {"f:a": {}}})),
        entry("flux-client-side-apply", "Update", json!({"f:data": {"f:b": {}}})),
    ]}});
    let patch = cleanup_patch(&live, &managers, DEFAULT_FIELD_MANAGER).expect("a patch");
    assert_eq!(
        patch[0]["value"],
        json!([entry(
            "kustomize-controller",
            "Apply",
            json!({"f:data": {"f:a": {}, "f:b": {}}})
        )])
    );
    // Without the override, flux-client-side-apply is untouched.
    let plain = default_field_managers(DEFAULT_FIELD_MANAGER, &[]);
    let patch = cleanup_patch(&live, &plain, DEFAULT_FIELD_MANAGER).expect("a patch");
    assert_eq!(
        patch[0]["value"],
        json!([
            entry(
                "flux-client-side-apply",
                "Update",
                json!({"f:data": {"f:b": {}}})
            ),
            entry(
                "kustomize-controller",
                "Apply",
                json!({"f:data": {"f:a": {}}})
            ),
        ])
    );
}

#[test]
fn a_clean_object_needs_no_patch() {
    let managers = default_field_managers(DEFAULT_FIELD_MANAGER, &[]);
    let live = json!({"metadata": {"annotations": {"a": "b"}, "managedFields": [
        entry("kustomize-controller", "Apply", json!({"f:data": {}})),
        entry("kube-controller-manager", "Update", json!({"f:status": {}})),
    ]}});
    assert_eq!(cleanup_patch(&live, &managers, DEFAULT_FIELD_MANAGER), None);
    assert_eq!(
        cleanup_patch(&json!(null), &managers, DEFAULT_FIELD_MANAGER),
        None
    );
}

#[test]
fn change_sets() {
    let e = |kind: &str, ns: &str, name: &str, group: &str, action| ChangeSetEntry {
        meta: ObjMetadata::new(ns, name, group, kind),
        version: "v1".into(),
        subject: ObjMetadata::new(ns, name, group, kind).subject(),
        action,
    };
    let cs = ChangeSet {
        entries: vec![
            e("Namespace", "", "apps", "", Action::Created),
            e("ConfigMap", "apps", "c", "", Action::Unchanged),
            e("Deployment", "apps", "web", "apps", Action::Configured),
            e("Secret", "apps", "s", "", Action::Skipped),
        ],
    };
    assert_eq!(
        cs.changes(),
        "Namespace/apps created\nDeployment/apps/web configured"
    );
    assert_eq!(
        cs.to_string(),
        "Namespace/apps created\nConfigMap/apps/c unchanged\nDeployment/apps/web configured\nSecret/apps/s skipped"
    );
    let inv = cs.to_inventory();
    let ids: Vec<&str> = inv.entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "_apps__Namespace",
            "apps_c__ConfigMap",
            "apps_web_apps_Deployment",
            "apps_s__Secret"
        ]
    );
    let deleted = ChangeSet {
        entries: vec![
            e("ConfigMap", "apps", "a", "", Action::Deleted),
            e("ConfigMap", "apps", "b", "", Action::Unknown),
            e("ConfigMap", "apps", "c", "", Action::Skipped),
        ],
    };
    let objs = deleted.objects();
    let survivors = deleted.survivors(&objs);
    assert_eq!(survivors.len(), 1);
    assert_eq!(survivors[0].meta.name, "b");
}

#[test]
fn health_check_failed_message_uses_go_durations() {
    let e = ApplyError::Wait {
        message: "timeout waiting for: [Deployment/default/app status: 'InProgress']".into(),
        elapsed: Duration::from_millis(2500),
    };
    assert_eq!(
        health_check_failed_message(Duration::from_millis(2500), &e),
        "health check failed after 2.5s: timeout waiting for: [Deployment/default/app status: 'InProgress']"
    );
}

#[test]
fn crds_lose_a_ca_bundle_without_a_certificate() {
    let crd = |bundle: &str| {
        json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "x"},
            "spec": {"conversion": {"strategy": "Webhook", "webhook": {"clientConfig": {
                "caBundle": bundle, "service": {"name": "s", "namespace": "n"}}}}}})
    };
    let valid = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJDZ0FCQWdNRUJRWUhDQWtLQ3d3TkRnOFFFUklUCi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K";
    let cases = [
        (valid, true),
        ("bm90IGEgY2VydGlmaWNhdGU=", false),
        // A certificate block whose body is no DER.
        (
            "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkFBQUEKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=",
            false,
        ),
        ("%%% not base64", false),
    ];
    for (bundle, kept) in cases {
        let mut obj = crd(bundle);
        remove_invalid_ca_bundle(&mut obj);
        let config = &obj["spec"]["conversion"]["webhook"]["clientConfig"];
        assert_eq!(config.get("caBundle").is_some(), kept, "{bundle}");
        assert_eq!(config["service"]["name"], "s");
    }
    // Other kinds and empty bundles are left alone.
    let mut other = crd("bm90");
    other["kind"] = "ConfigMap".into();
    remove_invalid_ca_bundle(&mut other);
    assert_eq!(
        other["spec"]["conversion"]["webhook"]["clientConfig"]["caBundle"],
        "bm90"
    );
    let mut empty = crd("");
    remove_invalid_ca_bundle(&mut empty);
    assert_eq!(
        empty["spec"]["conversion"]["webhook"]["clientConfig"]["caBundle"],
        ""
    );
    // Desired objects go through it.
    let d = desired(crd("bm90"));
    assert!(
        d.object["spec"]["conversion"]["webhook"]["clientConfig"]
            .get("caBundle")
            .is_none()
    );
}

#[test]
fn built_in_kinds_are_normalised_as_flux_does() {
    let d = desired(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "n"},
        "spec": {"template": {"spec": {"containers": [
            {"name": "a", "ports": [{"containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}]}]}}}}));
    assert_eq!(
        d.object["spec"]["template"]["spec"]["containers"][0]["ports"],
        json!([{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 53, "protocol": "UDP"}])
    );
    let cron = desired(json!({"apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "c", "namespace": "n"},
        "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [
            {"name": "a", "ports": [{"containerPort": 8080}]}]}}}}}}));
    assert_eq!(
        cron.object
            .pointer("/spec/jobTemplate/spec/template/spec/containers/0/ports/0/protocol"),
        Some(&json!("TCP"))
    );
    let svc = desired(json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "s", "namespace": "n"}, "spec": {"ports": [{"port": 80}]}}));
    assert_eq!(svc.object["spec"]["ports"][0]["protocol"], "TCP");
    // A custom kind named Deployment is not a built-in.
    let custom = desired(json!({"apiVersion": "example.com/v1", "kind": "Deployment",
        "metadata": {"name": "x", "namespace": "n"},
        "spec": {"template": {"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 1}]}]}}}}));
    assert!(
        custom
            .object
            .pointer("/spec/template/spec/containers/0/ports/0/protocol")
            .is_none()
    );
    let secret = desired(json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "s", "namespace": "n"},
        "data": {"a": "YQ==", "b": "b2xk"}, "stringData": {"b": "hunter2", "c": ""}}));
    assert_eq!(
        secret.object["data"],
        json!({"a": "YQ==", "b": "aHVudGVyMg==", "c": ""})
    );
    assert!(secret.object.get("stringData").is_none());
    assert_eq!(encode_base64(b"f"), "Zg==");
    assert_eq!(encode_base64(b"fo"), "Zm8=");
    assert_eq!(encode_base64(b"foo"), "Zm9v");
    assert_eq!(
        decode_base64(&encode_base64(b"any text")),
        Some("any text".into())
    );
}

#[test]
fn hpa_metrics_are_compared_without_duplicates_and_empty_ones() {
    let hpa = |metrics: Value| {
        json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "h", "resourceVersion": "1"}, "spec": {"metrics": metrics}})
    };
    let cpu = json!({"type": "Resource", "resource": {"name": "cpu"}});
    let live = hpa(json!([cpu.clone()]));
    let buggy = hpa(json!([cpu.clone(), cpu.clone(), {"type": ""}]));
    assert!(!diff::drifted(&live, &buggy));
    let other = hpa(json!([{"type": "Resource", "resource": {"name": "memory"}}]));
    assert!(diff::drifted(&live, &other));
}

#[test]
fn managed_fields_migrate_to_the_applied_version() {
    let live = json!({"metadata": {"managedFields": [
        {"manager": "kustomize-controller", "operation": "Apply", "apiVersion": "example.com/v1"},
        {"manager": "other", "operation": "Update", "apiVersion": "example.com/v2", "subresource": "status"},
    ]}});
    let patch = migrate_patch(&live, "example.com/v2").expect("a patch");
    assert_eq!(
        patch,
        json!([{"op": "replace", "path": "/metadata/managedFields", "value": [
            {"manager": "kustomize-controller", "operation": "Apply", "apiVersion": "example.com/v2"},
            {"manager": "other", "operation": "Update", "apiVersion": "example.com/v2", "subresource": "status"},
        ]}])
    );
    let done = json!({"metadata": {"managedFields": [{"apiVersion": "example.com/v2"}]}});
    assert_eq!(migrate_patch(&done, "example.com/v2"), None);
    assert_eq!(migrate_patch(&json!({}), "v1"), None);
    let e = ApplyError::Migrate {
        subject: "Widget/n/w".into(),
        api_version: "example.com/v2".into(),
        message: "denied".into(),
    };
    assert_eq!(
        e.to_string(),
        "Widget/n/w failed to migrate API version: failed to migrate managed fields API version to example.com/v2: denied"
    );
}
