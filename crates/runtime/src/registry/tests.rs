use serde_json::json;

use super::*;

fn objects() -> Objects {
    let mut o = Objects::default();
    let p: ImagePolicy = serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "apps", "labels": {"team": "a"}},
        "spec": {"imageRepositoryRef": {"name": "web"}, "policy": {"alphabetical": {}}},
        "status": {"latestRef": {"name": "r.example/web", "tag": "1.0"}}
    }))
    .expect("policy");
    o.of_mut::<ImagePolicy>()
        .insert(ObjectKey::new("ImagePolicy", "apps", "web"), p);
    o
}

#[test]
fn flux_runs_sources_before_their_readers() {
    let order = flux().order();
    assert_eq!(
        order,
        [
            "GitRepository",
            "OCIRepository",
            "HelmRepository",
            "HelmChart",
            "Kustomization",
            "HelmRelease",
            "Receiver",
            "ImageRepository",
            "ImagePolicy",
            "ImageUpdateAutomation",
            "Provider",
            "Alert"
        ]
    );
    // Every watch points at a kind that runs earlier, or outside (Secret);
    // a GitRepository reads the GitRepositories it includes (a pass orders
    // objects of one kind by what they read).
    for (upstream, reader) in flux().edges() {
        if upstream == reader {
            continue;
        }
        let pos = |k: &str| order.iter().position(|o| *o == k);
        if let Some(u) = pos(upstream) {
            assert!(
                u < pos(reader).expect("reader served"),
                "{upstream} -> {reader}"
            );
        }
    }
    // Kustomization and HelmRelease are reconciled.
    assert!(flux().get("Kustomization").is_some_and(|k| k.reconciled()));
    assert!(
        flux()
            .get("HelmRelease")
            .is_some_and(|k| k.reconciled() && k.finalizes())
    );
    // Providers and Alerts are held for the notifier, not reconciled.
    assert!(flux().get("Alert").is_some_and(|k| !k.reconciled()));
}

#[test]
fn erased_access_reads_and_writes_the_typed_objects() {
    let mut o = objects();
    let key = ObjectKey::new("ImagePolicy", "apps", "web");
    let kind = flux().get("ImagePolicy").expect("served");
    assert_eq!(kind.keys(&o), vec![key.clone()]);
    assert_eq!(
        kind.meta(&o, &key)
            .and_then(|m| m.labels.as_ref())
            .and_then(|l| l.get("team"))
            .map(String::as_str),
        Some("a")
    );
    assert_eq!(
        kind.status(&o, &key),
        Some(json!({"latestRef": {"name": "r.example/web", "tag": "1.0"}}))
    );
    let spec = kind.spec(&o, &key).expect("present");
    assert!(spec.get("status").is_none() && spec.get("spec").is_some());
    // A status that does not decode: refused, nothing changes.
    assert!(!kind.set_status(&mut o, &key, &json!({"latestRef": "not an object"})));
    assert!(kind.set_status(
        &mut o,
        &key,
        &json!({"latestRef": {"name": "r.example/web", "tag": "2.0"}})
    ));
    assert_eq!(
        o.of::<ImagePolicy>()[&key]
            .status
            .as_ref()
            .and_then(|s| s.latest_ref.as_ref())
            .map(|l| l.tag.as_str()),
        Some("2.0")
    );
    let gone = ObjectKey::new("ImagePolicy", "apps", "gone");
    assert!(!kind.set_status(&mut o, &gone, &json!({})));
    assert!(kind.status(&o, &gone).is_none());
    assert!(kind.remove(&mut o, &key));
    assert!(!kind.remove(&mut o, &key));
}

#[test]
fn reports_are_ready_suspended_or_the_ready_message() {
    let mut o = objects();
    let key = ObjectKey::new("ImagePolicy", "apps", "web");
    let kind = flux().get("ImagePolicy").expect("served");
    // No Ready condition yet: not ok, no message.
    assert_eq!(
        kind.report(&o, &key, None),
        Some(Reported {
            ok: false,
            detail: String::new(),
            message: String::new()
        })
    );
    assert!(kind.set_status(
        &mut o,
        &key,
        &json!({"latestRef": {"name": "x", "tag": "1.0"}, "conditions": [{"type": "Ready",
            "status": "False", "reason": "Failed", "message": "no tags",
            "lastTransitionTime": "2025-01-01T00:00:00Z"}]})
    ));
    let r = kind.report(&o, &key, None).expect("present");
    assert!(!r.ok);
    assert_eq!(
        (r.detail.as_str(), r.message.as_str()),
        ("no tags", "no tags")
    );
    if let Some(p) = o.of_mut::<ImagePolicy>().get_mut(&key) {
        p.spec.suspend = Some(true);
    }
    assert!(kind.report(&o, &key, None).expect("present").ok);
}

#[test]
fn kinds_read_other_kinds_objects_through_the_lookup() {
    use ferroflux_controllers::image::{automation, policy};
    use ferroflux_controllers::kind::{Lookup, get};
    let mut o = objects();
    let repo_key = ObjectKey::new("ImageRepository", "apps", "web");
    o.of_mut::<ImageRepository>().insert(
        repo_key.clone(),
        serde_json::from_value(json!({"metadata": {"name": "web", "namespace": "apps"},
            "spec": {"image": "r.example/web", "interval": "5m"}}))
        .expect("repository"),
    );
    let key = ObjectKey::new("ImagePolicy", "apps", "web");
    let p = o.of::<ImagePolicy>()[&key].clone();
    assert_eq!(policy::repository_key(&key, &p), repo_key);
    assert_eq!(
        policy::repository(&key, &p, &o).map(|r| r.spec.image.as_str()),
        Some("r.example/web")
    );
    // The right key of the wrong kind is no ImageRepository.
    assert!(get::<ImageRepository>(&o, &key).is_none());
    assert!(get::<ImagePolicy>(&o, &key).is_some());
    o.of_mut::<ImageRepository>().clear();
    assert!(policy::repository(&key, &p, &o).is_none());

    assert_eq!(o.keys_in("ImagePolicy", "apps"), vec![key.clone()]);
    assert!(o.keys_in("ImagePolicy", "other").is_empty());
    assert!(o.keys_in("Kustomization", "apps").is_empty());
    let auto = ObjectKey::new("ImageUpdateAutomation", "apps", "a");
    let names: Vec<String> = automation::policies_of_namespace(&auto, &o)
        .into_iter()
        .filter_map(|p| p.metadata.name)
        .collect();
    assert_eq!(names, ["web"]);
    let elsewhere = ObjectKey::new("ImageUpdateAutomation", "infra", "a");
    assert!(automation::policies_of_namespace(&elsewhere, &o).is_empty());
}

/// A request is written into the object's annotations before its run, so
/// the reconcile records it as handled; an object that is gone is left.
#[test]
fn a_request_is_noted_in_the_annotations() {
    let mut o = objects();
    let key = ObjectKey::new("ImagePolicy", "apps", "web");
    let kind = flux().get("ImagePolicy").expect("served");
    kind.note_request(&mut o, &key, "2026-01-01T00:00:00Z");
    let meta = o.meta(&key).expect("held");
    assert_eq!(
        meta.annotations
            .as_ref()
            .and_then(|a| a.get(RECONCILE_REQUEST_ANNOTATION))
            .map(String::as_str),
        Some("2026-01-01T00:00:00Z")
    );
    let gone = ObjectKey::new("ImagePolicy", "apps", "gone");
    kind.note_request(&mut o, &gone, "x");
    assert!(o.meta(&gone).is_none());
}

/// A manifest's object is held by the kind it decodes as, in the
/// namespace the loader gives it; another kind's object is refused.
#[test]
fn a_manifest_object_is_held_by_its_kind_only() {
    let p: ImagePolicy = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"imageRepositoryRef": {"name": "web"}, "policy": {"alphabetical": {}}}
    }))
    .expect("policy");
    let object = Object::ImagePolicy(p);
    let policies = flux().get("ImagePolicy").expect("served");
    let repositories = flux().get("ImageRepository").expect("served");
    assert!(repositories.decode(&object).is_none());
    let mut o = Objects::default();
    let key = ObjectKey::new("ImagePolicy", "default", "web");
    let decoded = policies.decode(&object).expect("a policy");
    assert!(!repositories.insert(&mut o, &key, decoded, "default"));
    let decoded = policies.decode(&object).expect("a policy");
    assert!(policies.insert(&mut o, &key, decoded, "default"));
    assert_eq!(
        o.meta(&key).and_then(|m| m.namespace.as_deref()),
        Some("default")
    );
}
