use std::collections::BTreeMap;

use ferroflux_api::image::{
    CommitSpec, CommitUser, CrossNamespaceSourceReference, GitCheckoutSpec, GitSpec,
    ImageUpdateAutomationSpec, PushSpec as ApiPushSpec, SigningKey, UpdateStrategy,
};
use ferroflux_api::meta::{LocalObjectReference, condition};
use ferroflux_api::source::{GitRepositoryRef, GitRepositorySpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;
use k8s_openapi::jiff::Timestamp;

use super::*;
use crate::clock::FixedClock;

fn clock() -> FixedClock {
    FixedClock::new(Timestamp::from_second(1_778_656_000).unwrap())
}

fn automation(git: Option<GitSpec>) -> ImageUpdateAutomation {
    let mut a = ImageUpdateAutomation::new(
        "flux-system",
        ImageUpdateAutomationSpec {
            source_ref: CrossNamespaceSourceReference {
                kind: "GitRepository".into(),
                name: "flux-system".into(),
                ..Default::default()
            },
            git,
            interval: ferroflux_api::Duration::from_secs(60),
            policy_selector: None,
            update: Some(UpdateStrategy {
                path: Some("./apps/stage".into()),
                ..Default::default()
            }),
            suspend: None,
        },
    );
    a.metadata.namespace = Some("flux-system".into());
    a.metadata.generation = Some(2);
    a
}

fn git_spec(checkout: Option<&str>, push: Option<&str>) -> GitSpec {
    GitSpec {
        checkout: checkout.map(|b| GitCheckoutSpec {
            reference: GitRepositoryRef {
                branch: Some(b.into()),
                ..Default::default()
            },
        }),
        commit: CommitSpec {
            author: CommitUser {
                name: Some("gitea-bot".into()),
                email: "bot@gitea.com".into(),
            },
            ..Default::default()
        },
        push: push.map(|b| ApiPushSpec {
            branch: Some(b.into()),
            ..Default::default()
        }),
    }
}

fn git_repo(reference: Option<GitRepositoryRef>) -> GitRepository {
    let mut r = GitRepository::new(
        "flux-system",
        GitRepositorySpec {
            url: "file:///nonexistent/ferroflux-test.git".into(),
            interval: ferroflux_api::Duration::from_secs(60),
            reference,
            ..Default::default()
        },
    );
    r.metadata.namespace = Some("flux-system".into());
    r
}

fn policy(name: &str, labels: &[(&str, &str)], tag: Option<&str>) -> ImagePolicy {
    let mut p = ImagePolicy::new(name, Default::default());
    p.metadata.namespace = Some("flux-system".into());
    p.metadata.labels = Some(
        labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    );
    p.status = tag.map(|t| ferroflux_api::image::ImagePolicyStatus {
        latest_ref: Some(ImageRef {
            name: format!("ghcr.io/org/{name}"),
            tag: t.into(),
            digest: None,
        }),
        ..Default::default()
    });
    p
}

fn run_errors(
    auto: &ImageUpdateAutomation,
    repo: Option<&GitRepository>,
    opts: &AutomationOptions,
) -> AutomationResult {
    let input = AutomationInput {
        automation: auto,
        api_version: "image.toolkit.fluxcd.io/v1",
        git_repository: repo,
        git_secret: None,
        signing_secret: None,
        policies: &[],
    };
    reconcile(&input, &clock(), opts)
}

#[test]
fn spec_and_source_errors_map_to_flux_reasons() {
    let with_secret = {
        let mut r = git_repo(None);
        r.spec.secret_ref = Some(LocalObjectReference {
            name: "git-auth".into(),
        });
        r
    };
    let mut other_kind = automation(Some(git_spec(Some("main"), None)));
    other_kind.spec.source_ref.kind = "OCIRepository".into();
    let mut no_update = automation(Some(git_spec(Some("main"), None)));
    no_update.spec.update = None;
    let mut cross = automation(Some(git_spec(Some("main"), None)));
    cross.spec.source_ref.namespace = Some("other".into());
    let mut bad_selector = automation(Some(git_spec(Some("main"), None)));
    bad_selector.spec.policy_selector = Some(LabelSelector {
        match_expressions: Some(vec![LabelSelectorRequirement {
            key: "app".into(),
            operator: "Near".into(),
            values: None,
        }]),
        ..Default::default()
    });
    let mut signing = automation(Some(git_spec(Some("main"), None)));
    if let Some(g) = signing.spec.git.as_mut() {
        g.commit.signing_key = Some(SigningKey {
            secret_ref: LocalObjectReference {
                name: "signing".into(),
            },
            key_type: None,
        });
    }
    let blocked = AutomationOptions {
        no_cross_namespace_refs: true,
        ..Default::default()
    };
    let tag_only = git_repo(Some(GitRepositoryRef {
        tag: Some("v1".into()),
        ..Default::default()
    }));
    type Case<'a> = (
        &'a str,
        ImageUpdateAutomation,
        Option<&'a GitRepository>,
        &'a AutomationOptions,
        &'a str,
        &'a str,
        bool,
    );
    let default = AutomationOptions::default();
    let repo = git_repo(None);
    let cases: Vec<Case> = vec![
        (
            "unsupported source kind",
            other_kind,
            Some(&repo),
            &default,
            "InvalidSourceConfiguration",
            "source kind 'OCIRepository' not supported: invalid source configuration",
            true,
        ),
        (
            "no git spec",
            automation(None),
            Some(&repo),
            &default,
            "InvalidSourceConfiguration",
            "source kind 'GitRepository' necessitates field .spec.git: invalid source configuration",
            true,
        ),
        (
            "no update strategy",
            no_update,
            Some(&repo),
            &default,
            "InvalidUpdateStrategy",
            "no update strategy",
            true,
        ),
        (
            "cross-namespace blocked",
            cross,
            Some(&repo),
            &blocked,
            "AccessDenied",
            "can't access 'GitRepository/other/flux-system', cross-namespace references have been blocked",
            true,
        ),
        (
            "bad policy selector",
            bad_selector,
            Some(&repo),
            &default,
            "InvalidPolicySelector",
            "failed to parse policy selector: \"Near\" is not a valid label selector operator",
            true,
        ),
        (
            "missing GitRepository",
            automation(Some(git_spec(Some("main"), None))),
            None,
            &default,
            "SourceManagerFailed",
            "failed configuring source manager: referenced git repository does not exist: gitrepositories.source.toolkit.fluxcd.io \"flux-system\" not found",
            false,
        ),
        (
            "push branch not inferable",
            automation(Some(git_spec(None, None))),
            Some(&tag_only),
            &default,
            "SourceManagerFailed",
            "failed configuring source manager: push spec not provided, and cannot be inferred from .spec.git.checkout.ref or GitRepository .spec.ref",
            false,
        ),
        (
            "missing auth secret",
            automation(Some(git_spec(Some("main"), None))),
            Some(&with_secret),
            &default,
            "SourceManagerFailed",
            "failed configuring source manager: failed to get auth secret 'flux-system/git-auth': secrets \"git-auth\" not found",
            false,
        ),
        (
            "missing signing secret",
            signing,
            Some(&repo),
            &default,
            "SourceManagerFailed",
            "failed configuring source manager: could not find signing key secret 'flux-system/signing': secrets \"signing\" not found",
            false,
        ),
    ];
    for (what, auto, repo, opts, reason, message, stalled) in cases {
        let r = run_errors(&auto, repo, opts);
        let ready = status::get(&r.status.conditions, condition::READY).expect(what);
        assert_eq!(ready.status, "False", "{what}");
        assert_eq!(ready.reason, reason, "{what}");
        assert_eq!(ready.message, message, "{what}");
        assert_eq!(
            status::is_true(&r.status.conditions, condition::STALLED),
            stalled,
            "{what}"
        );
        let want = if stalled {
            Outcome::Wait
        } else {
            Outcome::Backoff
        };
        assert_eq!(r.outcome, want, "{what}");
        assert!(r.status.last_automation_run_time.is_some(), "{what}");
        assert_eq!(r.status.last_push_commit, None, "{what}");
        let e = r.event.expect("event");
        assert_eq!((e.type_, e.message.as_str()), (EventType::Warning, message));
    }
}

#[test]
fn unreachable_remote_is_a_git_operation_failure() {
    let cache = tempfile::tempdir().unwrap();
    let opts = AutomationOptions {
        cache_dir: cache.path().to_path_buf(),
        ..Default::default()
    };
    let auto = automation(Some(git_spec(Some("main"), None)));
    let r = run_errors(&auto, Some(&git_repo(None)), &opts);
    let ready = status::get(&r.status.conditions, condition::READY).unwrap();
    assert_eq!(ready.reason, "GitOperationFailed");
    assert!(
        ready.message.starts_with("failed to checkout source: "),
        "{}",
        ready.message
    );
    assert_eq!(r.outcome, Outcome::Backoff);
}

#[test]
fn suspended_automation_does_nothing() {
    let mut auto = automation(None);
    auto.spec.suspend = Some(true);
    let r = run_errors(&auto, None, &AutomationOptions::default());
    assert_eq!(r.outcome, Outcome::Wait);
    assert_eq!(r.event, None);
    assert_eq!(r.status.last_automation_run_time, None);
    assert!(r.status.conditions.is_empty());
}

#[test]
fn observed_policies_follow_selector_namespace_and_latest_ref() {
    let policies = vec![
        policy("app", &[("stage", "prod")], Some("1.0.0")),
        policy("worker", &[("stage", "dev")], Some("2.0.0")),
        policy("pending", &[("stage", "prod")], None),
        {
            let mut p = policy("elsewhere", &[("stage", "prod")], Some("3.0.0"));
            p.metadata.namespace = Some("other".into());
            p
        },
    ];
    let select = |labels: &[(&str, &str)]| LabelSelector {
        match_labels: Some(
            labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
        ..Default::default()
    };
    let cases = [
        (None, vec!["app", "worker"]),
        (Some(select(&[("stage", "prod")])), vec!["app"]),
        (Some(select(&[])), vec!["app", "worker"]),
        (Some(select(&[("stage", "qa")])), vec![]),
    ];
    for (selector, want) in cases {
        let mut auto = automation(None);
        auto.spec.policy_selector = selector.clone();
        let got = observed_policies(&auto, &policies).unwrap();
        let names: Vec<&str> = got.keys().map(String::as_str).collect();
        assert_eq!(names, want, "{selector:?}");
    }
}

#[test]
fn label_selector_expressions() {
    let labels = BTreeMap::from([
        ("app".to_string(), "web".to_string()),
        ("tier".to_string(), "front".to_string()),
    ]);
    let req = |op: &str, values: &[&str]| LabelSelector {
        match_expressions: Some(vec![LabelSelectorRequirement {
            key: "app".into(),
            operator: op.into(),
            values: Some(values.iter().map(|v| v.to_string()).collect()),
        }]),
        ..Default::default()
    };
    let cases: [(&str, LabelSelector, Result<bool, &str>); 8] = [
        ("in", req("In", &["web", "api"]), Ok(true)),
        ("in miss", req("In", &["api"]), Ok(false)),
        ("notin", req("NotIn", &["api"]), Ok(true)),
        ("exists", req("Exists", &[]), Ok(true)),
        ("does not exist", req("DoesNotExist", &[]), Ok(false)),
        (
            "in without values",
            req("In", &[]),
            Err("for 'in', 'notin'"),
        ),
        (
            "exists with values",
            req("Exists", &["x"]),
            Err("must be empty"),
        ),
        (
            "unknown operator",
            req("Like", &["x"]),
            Err("not a valid label selector operator"),
        ),
    ];
    for (what, sel, want) in cases {
        match (selector_matches(&sel, &labels), want) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{what}"),
            (Err(e), Err(part)) => assert!(e.to_string().contains(part), "{what}: {e}"),
            (got, want) => panic!("{what}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn secure_join_stays_inside_the_root() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir_all(root.join("apps/stage")).unwrap();
    std::os::unix::fs::symlink("/etc", root.join("escape")).unwrap();
    std::os::unix::fs::symlink("../../..", root.join("apps/up")).unwrap();
    std::os::unix::fs::symlink("loop", root.join("loop")).unwrap();
    let cases = [
        ("", root.to_path_buf()),
        ("./apps/stage", root.join("apps/stage")),
        ("apps/../apps/stage/", root.join("apps/stage")),
        ("../../etc", root.join("etc")),
        ("/apps", root.join("apps")),
        ("escape", root.join("etc")),
        ("apps/up/apps", root.join("apps")),
    ];
    for (input, want) in cases {
        assert_eq!(secure_join(root, input).unwrap(), want, "{input:?}");
    }
    assert!(matches!(
        secure_join(root, "loop"),
        Err(Error::SymlinkLoop { .. })
    ));
}

#[test]
fn api_versions() {
    let cases = [
        ("image.toolkit.fluxcd.io/v1", ApiVersion::V1),
        ("image.toolkit.fluxcd.io/v1beta2", ApiVersion::V1beta2),
        ("image.toolkit.fluxcd.io/v1beta1", ApiVersion::V1beta1),
        ("", ApiVersion::V1),
    ];
    for (v, want) in cases {
        assert_eq!(api_version(v), want, "{v}");
    }
}

#[test]
fn push_event_text_as_flux() {
    let cases = [
        (
            vec![],
            "msg",
            "pushed commit 'a47b32f' to branch 'main'\nmsg",
        ),
        (
            vec!["refs/heads/auto:refs/heads/foo".to_string()],
            "",
            "pushed commit 'a47b32f' to branch 'main' and refspecs 'refs/heads/auto:refs/heads/foo'",
        ),
    ];
    for (refspecs, message, want) in cases {
        let p = Pushed {
            commit: "a47b32f4814810acac804df5054ec37cbfdbfb53".into(),
            branch: "main".into(),
            refspecs,
            message: message.into(),
            attempts: 1,
            workdir: PathBuf::new(),
        };
        assert_eq!(p.summary().unwrap(), want);
    }
}
