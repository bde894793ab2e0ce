use serde_json::json;

use super::*;

fn deployment() -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "apps",
            "labels": {"tier": "front", "size": "3"}, "annotations": {"team": "a"},
            "managedFields": [
                {"manager": "kustomize-controller", "operation": "Apply",
                 "fieldsV1": {"f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
                     "k:{\"name\":\"app\"}": {".": {}, "f:image": {}}}}}}}},
                {"manager": "hpa", "operation": "Apply",
                 "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {
                     "k:{\"name\":\"sidecar\"}": {".": {}, "f:image": {}}}}}}}},
                {"manager": "vpa", "operation": "Update",
                 "fieldsV1": {"f:spec": {"f:replicas": {}}}}]},
        "spec": {"replicas": 5, "template": {"spec": {"containers": [
            {"name": "app", "image": "app:1"}, {"name": "sidecar", "image": "side:2"}]}}}})
}

fn rule(paths: &[&str], target: Option<IgnoreTarget>) -> IgnoreRule {
    IgnoreRule {
        paths: paths.iter().map(|p| (*p).to_string()).collect(),
        target,
    }
}

#[test]
fn targets_select_by_anchored_regex_and_selectors() {
    let obj = deployment();
    let t = |f: fn(&mut IgnoreTarget)| {
        let mut t = IgnoreTarget::default();
        f(&mut t);
        Compiled::new(&[rule(&["/spec/replicas"], Some(t))]).expect("compile")
    };
    let selected = |c: &Compiled| c.paths_for(&obj).count() == 1;
    assert!(selected(&t(|_| {})));
    assert!(selected(&t(|t| t.kind = "Deploy.*".into())));
    assert!(!selected(&t(|t| t.kind = "Deploy".into())), "anchored");
    assert!(selected(&t(|t| t.group = "apps".into())));
    assert!(selected(&t(|t| t.version = "v1".into())));
    assert!(selected(&t(|t| t.name = "web|api".into())));
    assert!(!selected(&t(|t| t.namespace = "default".into())));
    assert!(selected(
        &t(|t| t.label_selector = "tier=front,size".into())
    ));
    assert!(selected(&t(
        |t| t.label_selector = "tier in (front, back),!missing".into()
    )));
    assert!(!selected(&t(
        |t| t.label_selector = "tier notin (front)".into()
    )));
    assert!(selected(&t(
        |t| t.label_selector = "size>2,size<4,tier!=back".into()
    )));
    assert!(selected(&t(|t| t.annotation_selector = "team==a".into())));
    assert!(!selected(&t(|t| t.annotation_selector = "team=b".into())));
    let everything = Compiled::new(&[rule(&["/a"], None)]).expect("compile");
    assert!(everything.paths_for(&json!({})).count() == 1);
}

#[test]
fn bad_rules_are_refused_with_the_field() {
    let bad = |t: IgnoreTarget| {
        Compiled::new(&[rule(&["/x"], Some(t))])
            .expect_err("bad")
            .to_string()
    };
    assert!(
        bad(IgnoreTarget {
            kind: "(".into(),
            ..Default::default()
        })
        .starts_with("invalid kind regex: ")
    );
    assert!(
        bad(IgnoreTarget {
            label_selector: "a in (b".into(),
            ..Default::default()
        })
        .starts_with("invalid label selector: ")
    );
    assert!(
        bad(IgnoreTarget {
            annotation_selector: "a=b,,c".into(),
            ..Default::default()
        })
        .starts_with("invalid annotation selector: ")
    );
    assert!(Selector::parse("n>x").is_err());
    assert!(Selector::parse("bad key=v").is_err());
}

#[test]
fn strip_removes_pointers_and_tolerates_missing_ones() {
    let c = Compiled::new(&[rule(
        &[
            "/spec/replicas",
            "/metadata/annotations/team",
            "/spec/template/spec/containers/1",
            "/nope/deeper",
            "/metadata/labels/a~1b",
        ],
        None,
    )])
    .expect("compile");
    let mut obj = deployment();
    obj["metadata"]["labels"]["a/b"] = "x".into();
    c.strip(&deployment(), &mut obj);
    assert!(obj["spec"].get("replicas").is_none());
    assert!(obj["metadata"]["annotations"].get("team").is_none());
    assert!(obj["metadata"]["labels"].get("a/b").is_none());
    assert_eq!(
        obj["spec"]["template"]["spec"]["containers"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

#[test]
fn drifted_paths_are_stripped_when_another_apply_manager_owns_them_else_adopted() {
    let live = deployment();
    let mut dry_run = live.clone();
    dry_run["spec"]["replicas"] = 1.into();
    dry_run["spec"]["template"]["spec"]["containers"][1]["image"] = "side:1".into();
    dry_run["spec"]["template"]["spec"]["containers"][0]["image"] = "app:2".into();
    let c = Compiled::new(&[rule(
        &[
            "/spec/replicas",
            "/spec/template/spec/containers/1/image",
            "/spec/template/spec/containers/0/image",
            "/metadata/annotations/team",
        ],
        None,
    )])
    .expect("compile");
    let fixes = c.fixes(&live, &dry_run, "kustomize-controller");
    assert_eq!(
        fixes,
        [
            // Only an Update manager (vpa) besides us: adopt the live value.
            Fix::Adopt("/spec/replicas".into(), json!(5)),
            // The hpa Apply manager owns the sidecar's image: strip it.
            Fix::Strip("/spec/template/spec/containers/1/image".into()),
            // Ours alone: adopt.
            Fix::Adopt(
                "/spec/template/spec/containers/0/image".into(),
                json!("app:1")
            ),
        ]
    );
    let mut payload = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": "app:2"}, {"name": "sidecar", "image": "side:1"}]}}}});
    apply_fixes(&mut payload, &fixes);
    assert_eq!(payload["spec"]["replicas"], 5);
    assert_eq!(
        payload["spec"]["template"]["spec"]["containers"][0]["image"],
        "app:1"
    );
    assert!(
        payload["spec"]["template"]["spec"]["containers"][1]
            .get("image")
            .is_none()
    );
}
