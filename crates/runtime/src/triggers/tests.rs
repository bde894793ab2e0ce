use serde_json::json;

use super::*;
use crate::automate::{KUSTOMIZATION, RECEIVER};
use ferroflux_api::helm::HelmRelease;
use ferroflux_api::image::{ImagePolicy, ImageRepository, ImageUpdateAutomation};
use ferroflux_api::kustomize::Kustomization;
use ferroflux_api::notification::Receiver;
use ferroflux_api::source::{GitRepository, HelmChart, HelmRepository};

fn k(kind: &str, ns: &str, name: &str) -> ObjectKey {
    ObjectKey::new(kind, ns, name)
}

fn decode<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).expect("fixture decodes")
}

/// Two namespaces: `apps` with two repositories, a policy on each, one
/// policy reading `infra`'s repository, two automations (one through
/// `flux-system`'s GitRepository), a GitRepository, and Receivers.
fn fixture() -> Objects {
    let mut o = Objects::default();
    for (ns, name) in [("apps", "web"), ("apps", "db"), ("infra", "base")] {
        o.of_mut::<ImageRepository>().insert(
            k(IMAGE_REPOSITORY, ns, name),
            decode(json!({"metadata": {"name": name, "namespace": ns},
                "spec": {"image": format!("r.example/{name}"), "interval": "5m"}})),
        );
    }
    for (ns, name, repo, repo_ns) in [
        ("apps", "web", "web", None),
        ("apps", "web-canary", "web", Some("apps")),
        ("apps", "db", "db", None),
        ("apps", "base", "base", Some("infra")),
        ("infra", "base", "base", None),
        ("infra", "orphan", "gone", None),
    ] {
        let mut r = json!({"name": repo});
        if let Some(n) = repo_ns {
            r["namespace"] = json!(n);
        }
        o.of_mut::<ImagePolicy>().insert(
            k(IMAGE_POLICY, ns, name),
            decode(json!({"metadata": {"name": name, "namespace": ns},
                "spec": {"imageRepositoryRef": r, "policy": {"semver": {"range": ">=1"}}}})),
        );
    }
    for (ns, name, git, git_ns) in [
        ("apps", "apps", "apps-repo", None),
        ("apps", "fleet", "flux-system", Some("flux-system")),
        ("infra", "infra", "flux-system", Some("flux-system")),
    ] {
        let mut r = json!({"kind": "GitRepository", "name": git});
        if let Some(n) = git_ns {
            r["namespace"] = json!(n);
        }
        o.of_mut::<ImageUpdateAutomation>().insert(
            k(IMAGE_UPDATE_AUTOMATION, ns, name),
            decode(json!({"metadata": {"name": name, "namespace": ns},
                "spec": {"sourceRef": r, "interval": "5m",
                    "git": {"commit": {"author": {"email": "a@b", "name": "a"}}}}})),
        );
    }
    o.of_mut::<GitRepository>().insert(
        k(GIT_REPOSITORY, "flux-system", "flux-system"),
        decode(
            json!({"metadata": {"name": "flux-system", "namespace": "flux-system"},
            "spec": {"url": "https://git.example/fleet", "interval": "1m"}}),
        ),
    );
    // A GitRepository that includes another one's artifact.
    o.of_mut::<GitRepository>().insert(
        k(GIT_REPOSITORY, "apps", "apps-repo"),
        decode(
            json!({"metadata": {"name": "apps-repo", "namespace": "apps"},
            "spec": {"url": "https://git.example/apps", "interval": "1m"}}),
        ),
    );
    o.of_mut::<GitRepository>().insert(
        k(GIT_REPOSITORY, "apps", "site"),
        decode(json!({"metadata": {"name": "site", "namespace": "apps"},
            "spec": {"url": "https://git.example/site", "interval": "1m",
                "include": [{"repository": {"name": "apps-repo"}}]}})),
    );
    // A HelmRepository and HelmCharts of it and of apps-repo's artifact.
    o.of_mut::<HelmRepository>().insert(
        k(HELM_REPOSITORY, "apps", "charts"),
        decode(json!({"metadata": {"name": "charts", "namespace": "apps"},
            "spec": {"url": "https://charts.example"}})),
    );
    for (name, kind, source) in [
        ("podinfo", HELM_REPOSITORY, "charts"),
        ("app", GIT_REPOSITORY, "apps-repo"),
    ] {
        o.of_mut::<HelmChart>().insert(
            k(HELM_CHART, "apps", name),
            decode(json!({"metadata": {"name": name, "namespace": "apps"},
                "spec": {"chart": name, "interval": "5m",
                    "sourceRef": {"kind": kind, "name": source}}})),
        );
    }
    // Kustomizations: of flux-system's artifact (one across namespaces),
    // of apps-repo's, and one that depends on another.
    for (ns, name, git, git_ns, depends) in [
        ("apps", "apps", "flux-system", Some("flux-system"), None),
        ("infra", "infra", "flux-system", Some("flux-system"), None),
        ("apps", "web", "apps-repo", None, Some("apps")),
        ("apps", "oci", "oci:web", None, None),
    ] {
        let (kind, git) = match git.strip_prefix("oci:") {
            Some(name) => ("OCIRepository", name),
            None => ("GitRepository", git),
        };
        let mut r = json!({"kind": kind, "name": git});
        if let Some(n) = git_ns {
            r["namespace"] = json!(n);
        }
        let mut spec = json!({"sourceRef": r, "interval": "10m", "path": "./", "prune": true});
        if let Some(d) = depends {
            spec["dependsOn"] = json!([{"name": d}]);
        }
        o.of_mut::<Kustomization>().insert(
            k(KUSTOMIZATION, ns, name),
            decode(json!({"metadata": {"name": name, "namespace": ns}, "spec": spec})),
        );
    }
    for (ns, name, secret) in [
        ("apps", "hook", Some("token")),
        ("apps", "other", Some("other-token")),
        ("infra", "hook", Some("token")),
        ("apps", "bare", None),
    ] {
        let mut spec = json!({"type": "generic", "resources": []});
        if let Some(s) = secret {
            spec["secretRef"] = json!({"name": s});
        }
        o.of_mut::<Receiver>().insert(
            k(RECEIVER, ns, name),
            decode(json!({"metadata": {"name": name, "namespace": ns}, "spec": spec})),
        );
    }
    // HelmReleases: one of a HelmChart that takes values from a
    // ConfigMap, one of an OCIRepository that depends on it and takes
    // values from a Secret.
    o.of_mut::<HelmRelease>().insert(
        k("HelmRelease", "apps", "web"),
        decode(json!({"metadata": {"name": "web", "namespace": "apps"},
            "spec": {"interval": "5m", "chartRef": {"kind": "HelmChart", "name": "web"},
                "valuesFrom": [{"kind": "ConfigMap", "name": "web"}]}})),
    );
    o.of_mut::<HelmRelease>().insert(
        k("HelmRelease", "apps", "db"),
        decode(json!({"metadata": {"name": "db", "namespace": "apps"},
            "spec": {"interval": "5m", "chartRef": {"kind": "OCIRepository", "name": "db"},
                "dependsOn": [{"name": "web"}],
                "valuesFrom": [{"kind": "Secret", "name": "bare"}]}})),
    );
    o
}

#[test]
fn an_upstream_change_triggers_exactly_its_readers() {
    let o = fixture();
    let cases: Vec<(ObjectKey, Vec<ObjectKey>)> = vec![
        // ImagePolicy <- ImageRepository (imageRepositoryRef, namespace defaulted)
        (
            k(IMAGE_REPOSITORY, "apps", "web"),
            vec![
                k(IMAGE_POLICY, "apps", "web"),
                k(IMAGE_POLICY, "apps", "web-canary"),
            ],
        ),
        (
            k(IMAGE_REPOSITORY, "apps", "db"),
            vec![k(IMAGE_POLICY, "apps", "db")],
        ),
        // A cross-namespace reference reaches the other namespace.
        (
            k(IMAGE_REPOSITORY, "infra", "base"),
            vec![
                k(IMAGE_POLICY, "apps", "base"),
                k(IMAGE_POLICY, "infra", "base"),
            ],
        ),
        (k(IMAGE_REPOSITORY, "apps", "gone"), vec![]),
        // ImageUpdateAutomation <- every ImagePolicy of its namespace.
        (
            k(IMAGE_POLICY, "apps", "db"),
            vec![
                k(IMAGE_UPDATE_AUTOMATION, "apps", "apps"),
                k(IMAGE_UPDATE_AUTOMATION, "apps", "fleet"),
            ],
        ),
        (
            k(IMAGE_POLICY, "infra", "orphan"),
            vec![k(IMAGE_UPDATE_AUTOMATION, "infra", "infra")],
        ),
        (k(IMAGE_POLICY, "other", "x"), vec![]),
        // ImageUpdateAutomation and Kustomization <- their sourceRef
        // GitRepository (across namespaces when the ref names one).
        (
            k(GIT_REPOSITORY, "flux-system", "flux-system"),
            vec![
                k(IMAGE_UPDATE_AUTOMATION, "apps", "fleet"),
                k(IMAGE_UPDATE_AUTOMATION, "infra", "infra"),
                k(KUSTOMIZATION, "apps", "apps"),
                k(KUSTOMIZATION, "infra", "infra"),
            ],
        ),
        // ... and a GitRepository <- the ones it includes.
        (
            k(GIT_REPOSITORY, "apps", "apps-repo"),
            vec![
                k(GIT_REPOSITORY, "apps", "site"),
                k(HELM_CHART, "apps", "app"),
                k(IMAGE_UPDATE_AUTOMATION, "apps", "apps"),
                k(KUSTOMIZATION, "apps", "web"),
            ],
        ),
        // HelmChart <- its sourceRef HelmRepository.
        (
            k(HELM_REPOSITORY, "apps", "charts"),
            vec![k(HELM_CHART, "apps", "podinfo")],
        ),
        (k(HELM_REPOSITORY, "infra", "charts"), vec![]),
        // Kustomization <- the Kustomizations it depends on (namespace
        // defaulted to its own).
        (
            k(KUSTOMIZATION, "apps", "apps"),
            vec![k(KUSTOMIZATION, "apps", "web")],
        ),
        (k(KUSTOMIZATION, "infra", "apps"), vec![]),
        (k(KUSTOMIZATION, "apps", "web"), vec![]),
        (k(GIT_REPOSITORY, "apps", "flux-system"), vec![]),
        // Kustomization <- its sourceRef OCIRepository.
        (
            k("OCIRepository", "apps", "web"),
            vec![k(KUSTOMIZATION, "apps", "oci")],
        ),
        (k(GIT_REPOSITORY, "apps", "web"), vec![]),
        // Receiver <- the Secret of its token, same namespace only.
        (
            k(SECRET, "apps", "token"),
            vec![k(RECEIVER, "apps", "hook")],
        ),
        (
            k(SECRET, "infra", "token"),
            vec![k(RECEIVER, "infra", "hook")],
        ),
        (k(SECRET, "apps", "unused"), vec![]),
        // HelmRelease <- its valuesFrom ConfigMaps, same namespace only.
        (
            k(CONFIG_MAP, "apps", "web"),
            vec![k("HelmRelease", "apps", "web")],
        ),
        (k(CONFIG_MAP, "infra", "web"), vec![]),
        // Nothing reads these.
        (k(IMAGE_UPDATE_AUTOMATION, "apps", "apps"), vec![]),
        (k(RECEIVER, "apps", "hook"), vec![]),
    ];
    for (upstream, want) in cases {
        assert_eq!(dependents(&o, &upstream), want, "{upstream}");
    }
}

#[test]
fn every_edge_of_the_table_is_exercised() {
    let o = fixture();
    for (upstream, reader) in EDGES {
        let any = o
            .keys()
            .into_iter()
            .map(|key| ObjectKey::new(upstream, &key.namespace, &key.name))
            .chain([k(SECRET, "apps", "token")])
            .filter(|u| u.kind == upstream)
            .flat_map(|u| dependents(&o, &u))
            .any(|d| d.kind == reader);
        assert!(any, "{upstream} -> {reader}");
    }
}

#[test]
fn only_a_moved_revision_or_latest_ref_reaches_readers() {
    let scan = |rev: &str| json!({"lastScanResult": {"revision": rev, "tagCount": 3}});
    let latest = |tag: &str| json!({"latestRef": {"name": "r.example/web", "tag": tag}});
    let applied = |ready: &str, rev: &str| json!({"conditions": [{"type": "Ready", "status": ready}], "lastAppliedRevision": rev});
    let cases: Vec<(&str, Option<Value>, Option<Value>, bool)> = vec![
        (IMAGE_REPOSITORY, None, Some(scan("a")), true),
        (IMAGE_REPOSITORY, Some(scan("a")), Some(scan("a")), false),
        (IMAGE_REPOSITORY, Some(scan("a")), Some(scan("b")), true),
        // A failed scan keeps the last result: no change.
        (
            IMAGE_REPOSITORY,
            Some(scan("a")),
            Some(json!({"lastScanResult": {"revision": "a", "tagCount": 3}, "conditions": []})),
            false,
        ),
        (IMAGE_POLICY, None, Some(latest("1.0.0")), true),
        (
            IMAGE_POLICY,
            Some(latest("1.0.0")),
            Some(latest("1.0.0")),
            false,
        ),
        (
            IMAGE_POLICY,
            Some(latest("1.0.0")),
            Some(latest("1.0.1")),
            true,
        ),
        // A policy that lost its latestRef does not run the automations.
        (IMAGE_POLICY, Some(latest("1.0.0")), Some(json!({})), false),
        (IMAGE_POLICY, None, Some(json!({})), false),
        // A new artifact runs the GitRepositories that include it; the
        // automations read only the spec (their home reports its changes).
        (
            GIT_REPOSITORY,
            None,
            Some(json!({"artifact": {"revision": "main@sha1:1", "digest": "sha256:1"}})),
            true,
        ),
        (
            GIT_REPOSITORY,
            Some(json!({"artifact": {"revision": "main@sha1:1", "digest": "sha256:1"}})),
            Some(
                json!({"artifact": {"revision": "main@sha1:1", "digest": "sha256:1"},
                "lastHandledReconcileAt": "now"}),
            ),
            false,
        ),
        // A Kustomization runs its dependents when its readiness or its
        // applied revision moved, not on a message or a new attempt.
        (
            KUSTOMIZATION,
            None,
            Some(applied("False", "main@sha1:1")),
            true,
        ),
        (
            KUSTOMIZATION,
            Some(applied("False", "main@sha1:1")),
            Some(applied("True", "main@sha1:1")),
            true,
        ),
        (
            KUSTOMIZATION,
            Some(applied("True", "main@sha1:1")),
            Some(applied("True", "main@sha1:2")),
            true,
        ),
        (
            KUSTOMIZATION,
            Some(applied("True", "main@sha1:2")),
            Some({
                let mut v = applied("True", "main@sha1:2");
                v["lastAttemptedRevision"] = json!("main@sha1:3");
                v
            }),
            false,
        ),
        (SECRET, None, None, true),
        (
            IMAGE_UPDATE_AUTOMATION,
            None,
            Some(json!({"lastPushCommit": "c"})),
            false,
        ),
        (
            RECEIVER,
            None,
            Some(json!({"webhookPath": "/hook/x"})),
            false,
        ),
    ];
    for (kind, old, new, want) in cases {
        assert_eq!(
            moved(kind, old.as_ref(), new.as_ref()),
            want,
            "{kind}: {old:?} -> {new:?}"
        );
    }
}

#[test]
fn reasons_name_the_upstream() {
    assert_eq!(
        reason(&k(IMAGE_REPOSITORY, "apps", "web")),
        "ImageRepository/apps/web revision changed"
    );
    assert_eq!(
        reason(&k(IMAGE_POLICY, "apps", "web")),
        "ImagePolicy/apps/web latestRef changed"
    );
    assert_eq!(
        reason(&k(GIT_REPOSITORY, "flux-system", "flux-system")),
        "GitRepository/flux-system/flux-system changed"
    );
    assert_eq!(
        reason(&k(SECRET, "apps", "token")),
        "Secret apps/token changed"
    );
    assert_eq!(
        reason(&k(CONFIG_MAP, "apps", "web")),
        "ConfigMap apps/web changed"
    );
}

#[test]
fn the_registry_declares_exactly_todays_edges() {
    let mut declared = flux().edges();
    declared.sort();
    let mut pinned = EDGES.to_vec();
    pinned.sort();
    assert_eq!(declared, pinned);
}

/// A kind registered beside Flux's takes part in the trigger table through
/// its declared watch alone: a new scan revision of the repository it
/// reads runs it, nothing else does, and Flux's edges are unchanged.
#[test]
fn a_registered_kind_is_triggered_by_its_own_watch() {
    use ferroflux_api::meta::{Condition, ObjectMeta};
    use ferroflux_controllers::kind::{FirstRun, Kind, KindInfo, Ref, Watch};
    use std::sync::LazyLock;

    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Echo {
        metadata: ObjectMeta,
        repository: String,
    }
    impl Kind for Echo {
        const INFO: KindInfo = KindInfo {
            kind: "Echo",
            group: "test.ferroflux.dev",
            version: "v1",
            section: "echoes",
        };
        type Object = Echo;
        fn meta(o: &Echo) -> &ObjectMeta {
            &o.metadata
        }
        fn meta_mut(o: &mut Echo) -> &mut ObjectMeta {
            &mut o.metadata
        }
        fn conditions(_: &Echo) -> &[Condition] {
            &[]
        }
        fn suspended(_: &Echo) -> bool {
            false
        }
        fn first_run(_: &Echo) -> FirstRun {
            FirstRun::Triggered
        }
        fn watches() -> Vec<Watch<Self>> {
            vec![Watch {
                upstream: "ImageRepository",
                refs: |key, o| {
                    vec![Ref::Object(ObjectKey::new(
                        "ImageRepository",
                        &key.namespace,
                        &o.repository,
                    ))]
                },
                when: |old, new| {
                    let at = |v: Option<&Value>| {
                        v.and_then(|v| v.pointer("/lastScanResult/revision"))
                            .cloned()
                    };
                    at(old) != at(new)
                },
            }]
        }
    }
    static KINDS: LazyLock<crate::registry::Registry> =
        LazyLock::new(|| crate::registry::Registry::flux().with::<Echo>());

    let mut o = Objects::new(&KINDS);
    let flux_objects = fixture();
    o.of_mut::<ImageRepository>()
        .extend(flux_objects.of::<ImageRepository>().clone());
    o.of_mut::<Echo>().insert(
        k("Echo", "apps", "e"),
        decode(json!({"metadata": {"name": "e", "namespace": "apps"}, "repository": "web"})),
    );
    let web = k(IMAGE_REPOSITORY, "apps", "web");
    assert_eq!(dependents(&o, &web), vec![k("Echo", "apps", "e")]);
    assert!(dependents(&o, &k(IMAGE_REPOSITORY, "apps", "db")).is_empty());
    let scanned = json!({"lastScanResult": {"revision": "r2"}});
    let readers = moved_readers(&KINDS, IMAGE_REPOSITORY, None, Some(&scanned));
    assert!(readers.contains(&"Echo"), "{readers:?}");
    assert!(readers.contains(&"ImagePolicy"), "{readers:?}");
    assert!(
        moved_readers(&KINDS, IMAGE_POLICY, None, Some(&scanned))
            .iter()
            .all(|r| *r != "Echo")
    );
    assert!(KINDS.edges().contains(&("ImageRepository", "Echo")));
    let flux_edges: Vec<_> = KINDS
        .edges()
        .into_iter()
        .filter(|(_, r)| *r != "Echo")
        .collect();
    assert_eq!(flux_edges, flux().edges());
}

/// The index kept up to date through watch-style changes (upsert with a
/// new spec, removal, a status write) answers as one built afresh.
#[test]
fn the_kept_index_follows_upserts_removals_and_status_writes() {
    let mut o = fixture();
    let every = |o: &Objects| -> Vec<(ObjectKey, Vec<ObjectKey>)> {
        let mut ups: Vec<ObjectKey> = o
            .keys()
            .into_iter()
            .flat_map(|key| {
                [
                    IMAGE_REPOSITORY,
                    GIT_REPOSITORY,
                    SECRET,
                    CONFIG_MAP,
                    IMAGE_POLICY,
                ]
                .map(|kind| ObjectKey::new(kind, &key.namespace, &key.name))
            })
            .collect();
        ups.push(k(IMAGE_REPOSITORY, "apps", "other"));
        ups.into_iter()
            .map(|u| (u.clone(), o.dependents(&u)))
            .collect()
    };
    let fresh = |o: &Objects| -> Vec<(ObjectKey, Vec<ObjectKey>)> {
        let ix = o.index();
        every(o)
            .into_iter()
            .map(|(u, _)| (u.clone(), ix.dependents(&u)))
            .collect()
    };
    assert_eq!(every(&o), fresh(&o));
    let policies = o.registry().get(IMAGE_POLICY).expect("kind registered");
    let web = k(IMAGE_REPOSITORY, "apps", "web");
    assert!(o.dependents(&web).contains(&k(IMAGE_POLICY, "apps", "web")));

    // A policy moves to another repository.
    let moved = json!({"metadata": {"name": "web", "namespace": "apps"},
        "spec": {"imageRepositoryRef": {"name": "other"}, "policy": {"semver": {"range": ">=1"}}}});
    policies
        .upsert(&mut o, &k(IMAGE_POLICY, "apps", "web"), moved)
        .expect("upsert");
    assert!(!o.dependents(&web).contains(&k(IMAGE_POLICY, "apps", "web")));
    assert_eq!(
        o.dependents(&k(IMAGE_REPOSITORY, "apps", "other")),
        vec![k(IMAGE_POLICY, "apps", "web")]
    );
    assert_eq!(every(&o), fresh(&o));

    // A new policy reads `db`; a status write changes no reference.
    let new = json!({"metadata": {"name": "db2", "namespace": "apps"},
        "spec": {"imageRepositoryRef": {"name": "db"}, "policy": {"semver": {"range": ">=1"}}}});
    policies
        .upsert(&mut o, &k(IMAGE_POLICY, "apps", "db2"), new)
        .expect("upsert");
    assert!(o.set_status_json(
        &k(IMAGE_POLICY, "apps", "db2"),
        &json!({"latestRef": {"name": "r.example/db", "tag": "1.0.0"}})
    ));
    assert!(
        o.dependents(&k(IMAGE_REPOSITORY, "apps", "db"))
            .contains(&k(IMAGE_POLICY, "apps", "db2"))
    );
    assert_eq!(every(&o), fresh(&o));

    // Removed objects read nothing any more, also in a clone.
    assert!(o.remove(&k(IMAGE_POLICY, "apps", "db2")));
    assert!(o.remove(&k(IMAGE_POLICY, "apps", "web")));
    let copy = o.clone();
    assert!(
        copy.dependents(&k(IMAGE_REPOSITORY, "apps", "other"))
            .is_empty()
    );
    assert!(
        !copy
            .dependents(&k(IMAGE_REPOSITORY, "apps", "db"))
            .contains(&k(IMAGE_POLICY, "apps", "db2"))
    );
    assert_eq!(every(&o), fresh(&o));
    assert_eq!(every(&copy), fresh(&copy));
}
