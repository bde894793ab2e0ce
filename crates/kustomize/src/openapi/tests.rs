use super::*;
use crate::smp::schema::{Schema, read_swagger};

/// A custom swagger: a Widget whose `items` merge by `name` and whose
/// `ports` merge by two keys; its own PodSpec (containers replaced whole);
/// paths that make Widget cluster-scoped and Gadget namespaced.
const SWAGGER: &str = r##"{
 "definitions": {
  "x.Widget": {
   "type": "object",
   "properties": {
    "spec": {"properties": {
     "items": {"type": "array", "items": {"$ref": "#/definitions/x.Item"},
               "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "name"},
     "ports": {"type": ["array"], "items": {"type": "object", "properties": {"p": {"type": "integer"}}},
               "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "p",
               "x-kubernetes-list-map-keys": ["p", "protocol"], "x-kubernetes-list-type": "map"},
     "tags": {"$ref": "#/definitions/x.Tags"},
     "other": {"$ref": "#/parameters/nowhere"},
     "pod": {"$ref": "#/definitions/io.k8s.api.core.v1.PodSpec"}
    }}
   },
   "x-kubernetes-group-version-kind": [{"group": "example.com", "kind": "Widget", "version": "v1"}]
  },
  "x.Item": {"type": "object", "properties": {"name": {"type": "string"}}},
  "x.Tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-patch-strategy": "merge"},
  "io.k8s.api.core.v1.PodSpec": {"type": "object", "properties": {"containers": {"type": "array"}}}
 },
 "paths": {
  "/apis/example.com/v1/widgets/{name}": {"get": {"x-kubernetes-group-version-kind": {"group": "example.com", "kind": "Widget", "version": "v1"}}},
  "/apis/example.com/v1/gadgets/{name}": {"get": {"x-kubernetes-group-version-kind": {"group": "example.com", "kind": "Gadget", "version": "v1"}}},
  "/apis/example.com/v1/namespaces/{namespace}/gadgets/{name}": {"get": {"x-kubernetes-group-version-kind": {"group": "example.com", "kind": "Gadget", "version": "v1"}}},
  "/api/v1/namespaces/{namespace}/nodes/{name}": {"get": {"x-kubernetes-group-version-kind": {"group": "", "kind": "Node", "version": "v1"}}}
 }
}"##;

fn gvk(api_version: &str, kind: &str) -> Gvk {
    Gvk::from_api_version(api_version, kind)
}

fn custom() -> Table {
    read_swagger(SWAGGER).expect("the swagger reads")
}

/// The containers list of a Deployment's pod spec in `t`, if any.
fn deployment_containers(t: &Table) -> Option<Schema> {
    t.for_type("apps/v1", "Deployment")?
        .field(t, "spec")?
        .field(t, "template")?
        .field(t, "spec")?
        .field(t, "containers")
}

#[test]
fn the_precomputed_table_is_sorted_and_knows_the_usual_kinds() {
    assert!(
        PRECOMPUTED
            .windows(2)
            .all(|w| (w[0].0, w[0].1, w[0].2) < (w[1].0, w[1].1, w[1].2))
    );
    assert_eq!(precomputed(&gvk("v1", "Namespace")), Some(false));
    assert_eq!(precomputed(&gvk("v1", "ConfigMap")), Some(true));
    assert_eq!(
        precomputed(&gvk("rbac.authorization.k8s.io/v1", "ClusterRole")),
        Some(false)
    );
    assert_eq!(precomputed(&gvk("apps/v1", "Deployment")), Some(true));
    // Kinds newer than v1.21.2, or a kind without its apiVersion, are unknown.
    assert_eq!(
        precomputed(&gvk("autoscaling/v2", "HorizontalPodAutoscaler")),
        None
    );
    assert_eq!(precomputed(&gvk("", "Namespace")), None);
}

#[test]
fn without_openapi_the_built_in_schema_is_shared_and_never_copied() {
    let oa = OpenApi::default();
    let TableRef::Static(t) = oa.table() else {
        panic!("the built-in table is not copied");
    };
    assert!(std::ptr::eq(t, schema::builtin()));
    assert!(deployment_containers(t).is_some_and(|c| c.is_associative()));
    assert!(!oa.is_cluster_scoped(&gvk("example.com/v1", "Widget")));
    assert!(oa.is_cluster_scoped(&gvk("v1", "Namespace")));
    assert_eq!(oa.version(), "v1.21.2");
}

#[test]
fn a_custom_schema_replaces_the_built_in_definitions() {
    let oa = OpenApi::default();
    oa.set(None, Some(custom()), true).expect("set");
    assert_eq!(oa.version(), "using custom schema from file provided");
    let t = oa.table();
    assert!(t.for_type("apps/v1", "Deployment").is_none());
    let spec = t
        .for_type("example.com/v1", "Widget")
        .and_then(|w| w.field(&t, "spec"));
    let spec = spec.expect("Widget has a spec");
    let items = spec.field(&t, "items").expect("items");
    assert!(items.is_associative());
    assert_eq!(items.strategy_and_keys().1, ["name".to_string()]);
    assert!(items.elements(&t).is_some());
    let ports = spec.field(&t, "ports").expect("ports");
    assert_eq!(
        ports.strategy_and_keys().1,
        ["p".to_string(), "protocol".to_string()]
    );
    // A reference to an array definition is that array.
    let tags = spec.field(&t, "tags").expect("tags");
    assert!(tags.is_associative());
    assert!(tags.strategy_and_keys().1.is_empty());
    // A reference kyaml cannot resolve gives no schema.
    assert!(spec.field(&t, "other").is_none());
    // Its own PodSpec: containers without a strategy.
    let pod = spec.field(&t, "pod").expect("pod");
    assert!(
        !pod.field(&t, "containers")
            .expect("containers")
            .is_associative()
    );
}

#[test]
fn the_paths_of_a_custom_schema_scope_kinds_the_precomputed_table_does_not_know() {
    let oa = OpenApi::default();
    oa.set(None, Some(custom()), true).expect("set");
    assert!(oa.is_cluster_scoped(&gvk("example.com/v1", "Widget")));
    // A namespaced path wins over a cluster-wide one.
    assert!(!oa.is_cluster_scoped(&gvk("example.com/v1", "Gadget")));
    // The precomputed table wins over the paths.
    assert!(oa.is_cluster_scoped(&gvk("v1", "Node")));
    assert!(!oa.is_cluster_scoped(&gvk("example.com/v1", "Thing")));
}

#[test]
fn version_and_path_together_and_unknown_versions_are_refused() {
    let oa = OpenApi::default();
    assert_eq!(
        oa.set(Some("v1.21.2"), Some(custom()), true),
        Err(SetError::Both)
    );
    assert_eq!(oa.set(Some(""), Some(custom()), true), Err(SetError::Both));
    let e = oa.set(Some("v1.14.1"), None, true).unwrap_err();
    assert_eq!(e, SetError::NotBuiltIn("v1.14.1".to_string()));
    assert!(e.to_string().contains("is not built in"), "{e}");
}

#[test]
fn the_first_kustomization_that_sets_a_schema_wins_unless_the_top_resets() {
    let oa = OpenApi::default();
    oa.set(Some("v1.21.2"), None, false).expect("set");
    assert!(!oa.unset());
    // Ignored, errors included: the schema is set.
    oa.set(Some("v1.14.1"), Some(custom()), false)
        .expect("ignored");
    assert!(deployment_containers(&oa.table()).is_some());
    assert_eq!(oa.version(), "v1.21.2");
    oa.set(None, Some(custom()), true).expect("the top resets");
    assert!(oa.table().for_type("example.com/v1", "Widget").is_some());
}

#[test]
fn a_scope_question_before_a_base_sets_a_schema_reads_the_built_in_one_after_it() {
    let oa = OpenApi::default();
    // A kind outside the precomputed table, asked before any schema is set.
    assert!(!oa.is_cluster_scoped(&gvk("example.com/v1", "Gadget")));
    oa.set(None, Some(custom()), false).expect("set");
    let t = oa.table();
    assert!(t.for_type("example.com/v1", "Widget").is_some());
    // Read after the custom schema, the built-in PodSpec wins.
    assert!(deployment_containers(&t).is_some_and(|c| c.is_associative()));
    let pod = t
        .for_type("example.com/v1", "Widget")
        .and_then(|w| w.field(&t, "spec"))
        .and_then(|s| s.field(&t, "pod"))
        .expect("pod");
    assert!(
        pod.field(&t, "containers")
            .expect("containers")
            .is_associative()
    );
}

#[test]
fn a_merge_before_a_base_sets_a_schema_reads_the_custom_one_after_the_built_in_one() {
    let oa = OpenApi::default();
    let _ = oa.table();
    oa.set(None, Some(custom()), false).expect("set");
    let t = oa.table();
    assert!(t.for_type("example.com/v1", "Widget").is_some());
    // Read last, the custom PodSpec wins, for built-in kinds too.
    let containers = deployment_containers(&t).expect("containers");
    assert!(!containers.is_associative());
}

#[test]
fn a_custom_schema_may_be_yaml() {
    let yaml = "definitions:\n  x.W:\n    properties:\n      list:\n        type: array\n        \
                x-kubernetes-patch-strategy: merge\n        x-kubernetes-patch-merge-key: k\n    \
                x-kubernetes-group-version-kind:\n    - {group: g.io, version: v1, kind: W}\n";
    let t = read_swagger(yaml).expect("yaml reads");
    let list = t.for_type("g.io/v1", "W").and_then(|w| w.field(&t, "list"));
    assert_eq!(list.expect("list").strategy_and_keys().1, ["k".to_string()]);
}

#[test]
fn a_broken_custom_schema_is_an_error() {
    assert!(read_swagger("{\"definitions\": ").is_err());
    let e = read_swagger("- a list\n").unwrap_err();
    assert!(e.contains("not a mapping"), "{e}");
    assert!(
        read_swagger("definitions: 3\n")
            .unwrap_err()
            .contains("`definitions`")
    );
    // Nesting is bounded: by serde_json's limit for JSON, by ours for YAML.
    let nested = |n: usize| {
        format!(
            "{}{{}}{}",
            "{\"properties\": {\"a\": ".repeat(n),
            "}}".repeat(n)
        )
    };
    assert!(read_swagger(&format!("{{\"definitions\": {{\"d\": {}}}}}", nested(100))).is_err());
    let e = read_swagger(&format!("definitions:\n  d: {}\n", nested(70))).unwrap_err();
    assert!(e.contains("deeper than"), "{e}");
}
