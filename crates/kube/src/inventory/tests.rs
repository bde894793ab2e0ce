use serde_json::json;

use super::*;

fn inv(ids: &[(&str, &str)]) -> Inventory {
    Inventory {
        entries: ids
            .iter()
            .map(|(id, v)| Entry {
                id: (*id).into(),
                v: (*v).into(),
            })
            .collect(),
    }
}

#[test]
fn ids_are_written_as_flux_writes_them() {
    let cases = [
        (
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "podinfo", "namespace": "default"}}),
            "default_podinfo__Service",
        ),
        (
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "podinfo", "namespace": "default"}}),
            "default_podinfo_apps_Deployment",
        ),
        (
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}}),
            "_apps__Namespace",
        ),
        (
            json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "crontabs.stable.example.com"}}),
            "_crontabs.stable.example.com_apiextensions.k8s.io_CustomResourceDefinition",
        ),
        (
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "system:flux:view"}}),
            "_system__flux__view_rbac.authorization.k8s.io_ClusterRole",
        ),
        // Only the RBAC kinds transcode `:`.
        (
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a:b", "namespace": "x"}}),
            "x_a:b__ConfigMap",
        ),
    ];
    for (obj, want) in cases {
        let meta = ObjMetadata::from_object(&obj, 0).expect("meta");
        assert_eq!(meta.id(), want);
        let back = ObjMetadata::parse(want).expect("parse");
        if meta.group == RBAC_GROUP || !meta.name.contains(':') {
            assert_eq!(back, meta, "{want}");
        }
    }
}

#[test]
fn ids_parse_as_cli_utils_parses_them() {
    let m = ObjMetadata::parse("default_my_app_apps_Deployment").expect("parse");
    assert_eq!(
        m,
        ObjMetadata::new("default", "my_app", "apps", "Deployment")
    );
    let m = ObjMetadata::parse("_system__flux_rbac.authorization.k8s.io_ClusterRoleBinding")
        .expect("parse");
    assert_eq!(m.name, "system:flux");
    assert_eq!(
        ObjMetadata::parse("nounderscores"),
        Err(InventoryError::Parse("nounderscores".into()))
    );
    assert_eq!(
        ObjMetadata::parse("ns_name").map_err(|e| e.to_string()),
        Err("unable to parse stored object metadata: name".into())
    );
    assert_eq!(
        ObjMetadata::parse("a_b_c").map_err(|e| e.to_string()),
        Err("unable to parse stored object metadata: b".into())
    );
}

#[test]
fn objects_without_identity_are_refused_by_index() {
    let err = ObjMetadata::from_object(
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}),
        3,
    )
    .expect_err("no name");
    assert_eq!(err.to_string(), "object #3 has no metadata.name");
    let err =
        ObjMetadata::from_object(&json!({"kind": "ConfigMap"}), 0).expect_err("no apiVersion");
    assert_eq!(err.to_string(), "object #0 has no apiVersion");
    let err = ObjMetadata::from_object(&json!({"apiVersion": "v1", "metadata": {"name": "x"}}), 1)
        .expect_err("no kind");
    assert_eq!(err.to_string(), "object #1 has no kind");
}

#[test]
fn subjects_are_kind_namespace_name() {
    assert_eq!(
        ObjMetadata::new("default", "app", "apps", "Deployment").subject(),
        "Deployment/default/app"
    );
    assert_eq!(
        ObjMetadata::new("", "apps", "", "Namespace").subject(),
        "Namespace/apps"
    );
}

#[test]
fn api_version_parts() {
    assert_eq!((group_of("apps/v1"), version_of("apps/v1")), ("apps", "v1"));
    assert_eq!((group_of("v1"), version_of("v1")), ("", "v1"));
    let r = ObjRef {
        meta: ObjMetadata::new("", "x", "", "Namespace"),
        version: "v1".into(),
    };
    assert_eq!(r.api_version(), "v1");
}

/// kustomize-controller's inventory test: inventory2 holds one more
/// ConfigMap (test2) than inventory1; it is the one stale object.
#[test]
fn stale_objects_are_those_that_left_the_inventory() {
    let old = inv(&[
        ("_test__Namespace", "v1"),
        ("test_test1__ConfigMap", "v1"),
        ("test_test2__ConfigMap", "v1"),
    ]);
    let new = inv(&[("_test__Namespace", "v1"), ("test_test1__ConfigMap", "v1")]);
    let stale = stale(&old, &new).expect("diff");
    assert_eq!(stale.len(), 1);
    assert_eq!(stale[0].meta.name, "test2");
    assert_eq!(stale[0].version, "v1");

    // The version does not count; a changed namespace, group or kind does.
    let old = inv(&[
        ("default_app_apps_Deployment", "v1"),
        ("default_svc__Service", "v1"),
    ]);
    let new = inv(&[
        ("default_app_apps_Deployment", "v2"),
        ("other_svc__Service", "v1"),
    ]);
    let ids: Vec<String> = stale_ids(&old, &new);
    assert_eq!(ids, ["default_svc__Service"]);
}

fn stale_ids(old: &Inventory, new: &Inventory) -> Vec<String> {
    stale(old, new)
        .expect("diff")
        .iter()
        .map(|o| o.meta.id())
        .collect()
}

#[test]
fn stale_objects_come_in_apply_order() {
    let old = inv(&[
        (
            "_vwh_admissionregistration.k8s.io_ValidatingWebhookConfiguration",
            "v1",
        ),
        ("apps_web_apps_Deployment", "v1"),
        ("apps_b__ConfigMap", "v1"),
        ("apps_a__ConfigMap", "v1"),
        ("apps_cron_stable.example.com_CronTab", "v1"),
        ("_apps__Namespace", "v1"),
        (
            "_crontabs.stable.example.com_apiextensions.k8s.io_CustomResourceDefinition",
            "v1",
        ),
        ("apps_x_networking.k8s.io_Ingress", "v1"),
        (
            "_mwh_admissionregistration.k8s.io_MutatingWebhookConfiguration",
            "v1",
        ),
    ]);
    assert_eq!(
        stale_ids(&old, &Inventory::default()),
        [
            "_crontabs.stable.example.com_apiextensions.k8s.io_CustomResourceDefinition",
            "_apps__Namespace",
            "apps_a__ConfigMap",
            "apps_b__ConfigMap",
            "apps_web_apps_Deployment",
            "apps_x_networking.k8s.io_Ingress",
            "apps_cron_stable.example.com_CronTab",
            "_mwh_admissionregistration.k8s.io_MutatingWebhookConfiguration",
            "_vwh_admissionregistration.k8s.io_ValidatingWebhookConfiguration",
        ]
    );
}

#[test]
fn stale_refuses_a_corrupt_inventory() {
    let bad = inv(&[("garbage", "v1")]);
    assert!(stale(&bad, &Inventory::default()).is_err());
    assert!(stale(&Inventory::default(), &bad).is_err());
}

#[test]
fn merge_re_adds_survivors_once() {
    let mut new = inv(&[("_test__Namespace", "v1"), ("test_test1__ConfigMap", "v1")]);
    let old = inv(&[("test_test2__ConfigMap", "v1")]);
    let survivors = stale(&old, &new).expect("diff");
    new.merge(&survivors);
    new.merge(&survivors);
    assert_eq!(new.entries.len(), 3);
    assert_eq!(new.entries[2].id, "test_test2__ConfigMap");
}

#[test]
fn inventory_serialises_as_status_inventory() {
    let i = inv(&[("default_podinfo__Service", "v1")]);
    assert_eq!(
        serde_json::to_value(&i).expect("json"),
        json!({"entries": [{"id": "default_podinfo__Service", "v": "v1"}]})
    );
    let back: Inventory = serde_json::from_value(json!({})).expect("empty");
    assert!(back.entries.is_empty());
}

#[test]
fn kind_ranks() {
    assert_eq!(kind_rank("CustomResourceDefinition"), -23);
    assert_eq!(kind_rank("PodDisruptionBudget"), -1);
    assert_eq!(kind_rank("Ingress"), 0);
    assert_eq!(kind_rank("MutatingWebhookConfiguration"), 1);
    assert_eq!(kind_rank("ValidatingWebhookConfiguration"), 2);
}

#[test]
fn stages() {
    let none: &[(String, String)] = &[];
    let custom = [("example.com".to_string(), "Gadget".to_string())];
    let cases = [
        (
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            Stage::Definitions,
        ),
        ("v1", "Namespace", Stage::Definitions),
        ("v1", "namespace", Stage::Definitions),
        (
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            Stage::Definitions,
        ),
        ("example.com/v1", "Namespace", Stage::Resources),
        ("storage.k8s.io/v1", "StorageClass", Stage::Classes),
        ("example.com/v1", "FooClass", Stage::Classes),
        (
            "rbac.authorization.k8s.io/v1",
            "ClusterRoleBinding",
            Stage::Resources,
        ),
        ("example.com/v1", "Gadget", Stage::Custom),
        ("apps/v1", "Deployment", Stage::Resources),
    ];
    for (av, kind, want) in cases {
        assert_eq!(stage(av, kind, &custom), want, "{av} {kind}");
    }
    assert_eq!(stage("example.com/v1", "Gadget", none), Stage::Resources);
}

#[test]
fn metadata_selectors_match_labels_or_annotations_case_insensitively() {
    let obj = json!({"metadata": {
        "labels": {"kustomize.toolkit.fluxcd.io/prune": "Disabled"},
        "annotations": {"kustomize.toolkit.fluxcd.io/ssa": "ignore", "empty": ""}
    }});
    assert!(any_in_metadata(&obj, &[(PRUNE_KEY, "disabled")]));
    assert!(any_in_metadata(&obj, &[(SSA_KEY, "Ignore")]));
    assert!(!any_in_metadata(&obj, &[(SSA_KEY, "Merge")]));
    assert!(!any_in_metadata(&obj, &[("empty", "")]));
    assert!(!any_in_metadata(&json!(null), &[(SSA_KEY, "Ignore")]));
}

#[test]
fn prune_rules() {
    let owner = Owner::new("apps", "flux-system");
    let live = |labels: Value, annotations: Value| json!({"metadata": {"labels": labels, "annotations": annotations}});
    let owned = json!({OWNER_NAME_LABEL: "apps", OWNER_NAMESPACE_LABEL: "flux-system"});
    let cases = [
        (live(owned.clone(), json!({})), PruneDecision::Delete),
        (
            live(json!({OWNER_NAME_LABEL: "apps"}), json!({})),
            PruneDecision::NotOwned,
        ),
        (
            live(
                json!({OWNER_NAME_LABEL: "infra", OWNER_NAMESPACE_LABEL: "flux-system"}),
                json!({}),
            ),
            PruneDecision::NotOwned,
        ),
        (live(json!({}), json!({})), PruneDecision::NotOwned),
        (
            live(owned.clone(), json!({PRUNE_KEY: "disabled"})),
            PruneDecision::Excluded,
        ),
        (
            live(owned.clone(), json!({RECONCILE_KEY: "Disabled"})),
            PruneDecision::Excluded,
        ),
        (
            live(owned.clone(), json!({SSA_KEY: "Ignore"})),
            PruneDecision::Excluded,
        ),
        // IfNotPresent does not block prune.
        (
            live(owned.clone(), json!({SSA_KEY: "IfNotPresent"})),
            PruneDecision::Delete,
        ),
        (
            live(owned.clone(), json!({PRUNE_KEY: ""})),
            PruneDecision::Delete,
        ),
    ];
    for (obj, want) in cases {
        assert_eq!(prune_decision(&obj, &owner), want, "{obj}");
    }
    assert!(owner.other_owner_of(&live(
        json!({OWNER_NAME_LABEL: "infra", OWNER_NAMESPACE_LABEL: "flux-system"}),
        json!({})
    )));
    assert!(!owner.other_owner_of(&live(owned, json!({}))));
    assert!(!owner.other_owner_of(&live(json!({"app": "x"}), json!({}))));
}

#[test]
fn owner_labels_are_set_over_existing_ones() {
    let owner = Owner::new("apps", "flux-system");
    let mut obj =
        json!({"metadata": {"name": "x", "labels": {"app": "web", OWNER_NAME_LABEL: "old"}}});
    owner.label(&mut obj);
    assert_eq!(
        obj["metadata"]["labels"],
        json!({"app": "web", OWNER_NAME_LABEL: "apps", OWNER_NAMESPACE_LABEL: "flux-system"})
    );
    assert!(owner.owns(&obj));
    let mut bare = json!({"metadata": {"name": "x", "labels": null}});
    owner.label(&mut bare);
    assert!(owner.owns(&bare));
    let mut no_meta = json!({"kind": "X"});
    owner.label(&mut no_meta);
    assert_eq!(no_meta, json!({"kind": "X"}));
}
