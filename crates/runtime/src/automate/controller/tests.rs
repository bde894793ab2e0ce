use std::collections::BTreeSet;

use ferroflux_api::image::{ImagePolicy, ImagePolicyStatus};
use ferroflux_api::meta::RECONCILE_REQUEST_ANNOTATION;
use serde_json::json;

use super::*;

fn runner() -> (Runner, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = StatusStore::open(&dir.path().join("s.redb")).expect("state");
    (
        Runner::new(AutomateOptions::default(), state).expect("runner"),
        dir,
    )
}

/// The watch change of `p`.
fn policy_change(p: Box<ImagePolicy>) -> Change {
    Change::object::<ImagePolicy>(&p, "image.toolkit.fluxcd.io/v1")
}

fn policy(range: &str, requested: Option<&str>) -> Box<ImagePolicy> {
    let mut p: ImagePolicy = serde_json::from_value(json!({
        "apiVersion": "image.toolkit.fluxcd.io/v1",
        "kind": "ImagePolicy",
        "metadata": {"name": "web", "namespace": "apps"},
        "spec": {"imageRepositoryRef": {"name": "web"}, "policy": {"semver": {"range": range}}}
    }))
    .expect("policy");
    if let Some(at) = requested {
        p.metadata.annotations = Some(
            [(RECONCILE_REQUEST_ANNOTATION.to_string(), at.to_string())]
                .into_iter()
                .collect(),
        );
    }
    Box::new(p)
}

fn key() -> ObjectKey {
    ObjectKey::new(IMAGE_POLICY, "apps", "web")
}

fn pending(s: &mut Scheduler) -> Vec<(ObjectKey, Trigger)> {
    s.drain_triggers();
    s.pending.drain(..).collect()
}

#[test]
fn before_the_first_pass_changes_only_collect() {
    let (mut r, _d) = runner();
    r.apply_change(policy_change(policy(">=1.0.0", None)), None);
    assert!(r.objects.of::<ImagePolicy>().contains_key(&key()));
    assert_eq!(
        r.objects
            .origins
            .get(&key())
            .map(|o| o.api_version.as_str()),
        Some("image.toolkit.fluxcd.io/v1")
    );
}

#[test]
fn new_changed_and_requested_objects_run_unchanged_ones_do_not() {
    let (mut r, _d) = runner();
    let (mut s, _h) = Scheduler::new(SchedulerOptions::default());
    r.apply_change(policy_change(policy(">=1.0.0", None)), Some(&mut s));
    assert!(matches!(
        pending(&mut s).as_slice(),
        [(k, Trigger::Dependency { what })] if *k == key() && what == "created"
    ));
    // Our own status write echoed back: same spec, no run, status kept.
    if let Some(p) = r.objects.of_mut::<ImagePolicy>().get_mut(&key()) {
        p.status = Some(ImagePolicyStatus {
            observed_generation: Some(7),
            ..Default::default()
        });
    }
    r.apply_change(policy_change(policy(">=1.0.0", None)), Some(&mut s));
    assert!(pending(&mut s).is_empty());
    assert_eq!(
        r.objects.of::<ImagePolicy>()[&key()]
            .status
            .as_ref()
            .and_then(|s| s.observed_generation),
        Some(7)
    );
    // A new requestedAt runs it with the token; the same token again does not.
    r.apply_change(policy_change(policy(">=1.0.0", Some("t1"))), Some(&mut s));
    assert!(matches!(
        pending(&mut s).as_slice(),
        [(_, Trigger::Requested { at })] if at == "t1"
    ));
    r.apply_change(policy_change(policy(">=1.0.0", Some("t1"))), Some(&mut s));
    assert!(pending(&mut s).is_empty());
    // A spec change runs it.
    r.apply_change(policy_change(policy(">=2.0.0", Some("t1"))), Some(&mut s));
    assert!(matches!(
        pending(&mut s).as_slice(),
        [(_, Trigger::Dependency { what })] if what == "spec changed"
    ));
}

#[test]
fn deletes_and_relists_forget_objects() {
    let (mut r, _d) = runner();
    let (mut s, _h) = Scheduler::new(SchedulerOptions::default());
    r.apply_change(policy_change(policy(">=1.0.0", None)), None);
    s.schedule_after(key(), std::time::Duration::from_secs(60));
    r.apply_change(Change::Deleted(key()), Some(&mut s));
    assert!(r.objects.of::<ImagePolicy>().is_empty());
    assert!(r.objects.origins.is_empty());
    assert_eq!(s.due_in(&key()), None);

    // A relist that no longer holds an object: it was deleted meanwhile.
    r.apply_change(policy_change(policy(">=1.0.0", None)), None);
    r.apply_change(
        Change::Synced {
            kind: IMAGE_POLICY,
            keys: BTreeSet::new(),
        },
        Some(&mut s),
    );
    assert!(r.objects.of::<ImagePolicy>().is_empty());
}

#[test]
fn secrets_follow_the_cluster() {
    let (mut r, _d) = runner();
    let data: SecretData = [("token".to_string(), b"t".to_vec())].into_iter().collect();
    r.apply_change(
        Change::Secret {
            namespace: "apps".into(),
            name: "tok".into(),
            data: Some(data),
        },
        None,
    );
    assert!(r.secret("apps", "tok").is_ok());
    r.apply_change(
        Change::Secret {
            namespace: "apps".into(),
            name: "tok".into(),
            data: None,
        },
        None,
    );
    assert!(r.secret("apps", "tok").is_err());
}

/// An object its kind's type does not decode (a CRD without a schema lets
/// anything in) is skipped with a warning: the others go on, and it runs
/// nothing.
#[test]
fn an_object_that_does_not_decode_is_skipped() {
    let (mut r, _d) = runner();
    let (mut s, _h) = Scheduler::new(SchedulerOptions::default());
    let broken = Change::Object {
        key: key(),
        object: Box::new(json!({
            "apiVersion": "image.toolkit.fluxcd.io/v1",
            "kind": "ImagePolicy",
            "metadata": {"name": "web", "namespace": "apps"},
            "spec": {"imageRepositoryRef": 5}
        })),
        version: "image.toolkit.fluxcd.io/v1".into(),
    };
    r.apply_change(broken, Some(&mut s));
    assert!(r.objects.of::<ImagePolicy>().is_empty());
    assert!(r.objects.origins.is_empty());
    assert!(pending(&mut s).is_empty());
    // A kind this runner does not serve is not held either.
    let other = Change::Object {
        key: ObjectKey::new("Dummy", "apps", "web"),
        object: Box::new(json!({"metadata": {"name": "web", "namespace": "apps"}})),
        version: "test.ferroflux.dev/v1".into(),
    };
    r.apply_change(other, Some(&mut s));
    assert!(r.objects.is_empty());
    // The valid object that follows is taken.
    r.apply_change(policy_change(policy(">=1.0.0", None)), Some(&mut s));
    assert!(r.objects.of::<ImagePolicy>().contains_key(&key()));
}

/// A watch event that trails the runner's own status write keeps the
/// runner's status: the runner wrote it last.
#[test]
fn a_watch_event_keeps_the_status_the_runner_holds() {
    let (mut r, _d) = runner();
    r.apply_change(policy_change(policy(">=1.0.0", None)), None);
    let status = json!({"latestRef": {"name": "web", "tag": "1.2.3"}});
    assert!(r.objects.set_status_json(&key(), &status));
    // The apiserver's copy has no status yet.
    r.apply_change(policy_change(policy(">=1.0.0", None)), None);
    let held = r.objects.status_json(&key()).expect("status kept");
    assert_eq!(held["latestRef"]["tag"], "1.2.3");
}

/// A GitRepository whose spec changed runs itself and the automations
/// that read its spec (`Kind::reads_spec_of`) at once; a Kustomization
/// reading it waits for its next artifact.
#[test]
fn a_source_spec_change_runs_the_readers_of_its_spec() {
    use ferroflux_api::image::ImageUpdateAutomation;
    use ferroflux_api::kustomize::Kustomization;
    use ferroflux_api::source::GitRepository;
    let (mut r, _d) = runner();
    let (mut s, _h) = Scheduler::new(SchedulerOptions::default());
    let repo = |url: &str| -> GitRepository {
        serde_json::from_value(json!({
            "metadata": {"name": "fleet", "namespace": "apps"},
            "spec": {"url": url, "interval": "1m"}
        }))
        .expect("repository")
    };
    let automation: ImageUpdateAutomation = serde_json::from_value(json!({
        "metadata": {"name": "bump", "namespace": "apps"},
        "spec": {"sourceRef": {"kind": "GitRepository", "name": "fleet"}, "interval": "5m",
                 "git": {"commit": {"author": {"name": "a", "email": "a@b"}}}}
    }))
    .expect("automation");
    let ks: Kustomization = serde_json::from_value(json!({
        "metadata": {"name": "apps", "namespace": "apps"},
        "spec": {"sourceRef": {"kind": "GitRepository", "name": "fleet"}, "interval": "5m",
                 "prune": true}
    }))
    .expect("kustomization");
    let source = "source.toolkit.fluxcd.io/v1";
    r.apply_change(
        Change::object::<GitRepository>(&repo("https://a/x"), source),
        None,
    );
    r.apply_change(
        Change::object::<ImageUpdateAutomation>(&automation, "image.toolkit.fluxcd.io/v1"),
        None,
    );
    r.apply_change(
        Change::object::<Kustomization>(&ks, "kustomize.toolkit.fluxcd.io/v1"),
        None,
    );
    r.apply_change(
        Change::object::<GitRepository>(&repo("https://a/y"), source),
        Some(&mut s),
    );
    let run: BTreeSet<String> = pending(&mut s)
        .into_iter()
        .map(|(k, _)| k.to_string())
        .collect();
    assert_eq!(
        run,
        BTreeSet::from([
            "GitRepository/apps/fleet".to_string(),
            "ImageUpdateAutomation/apps/bump".to_string(),
        ])
    );
    // The same spec again runs nothing.
    r.apply_change(
        Change::object::<GitRepository>(&repo("https://a/y"), source),
        Some(&mut s),
    );
    assert!(pending(&mut s).is_empty());
}
