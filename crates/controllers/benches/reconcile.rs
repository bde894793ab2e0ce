//! Reconcile throughput: an ImagePolicy over 10,000 stored tags (seed 000's
//! filterTags + semver), and ImageUpdateAutomation runs on a 200-file
//! repository over file:// (early stop; full sync with no change).

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ferroflux_api::image::{
    CommitSpec, CommitUser, CrossNamespaceSourceReference, GitSpec, ImagePolicy, ImagePolicyChoice,
    ImagePolicySpec, ImagePolicyStatus, ImageRef, ImageRepository, ImageRepositorySpec,
    ImageRepositoryStatus, ImageUpdateAutomation, ImageUpdateAutomationSpec, SemVerPolicy,
    TagFilter, UpdateStrategy,
};
use ferroflux_api::meta::NamespacedObjectReference;
use ferroflux_api::source::{GitRepository, GitRepositoryRef, GitRepositorySpec};
use ferroflux_controllers::FixedClock;
use ferroflux_controllers::image::automation::{self, AutomationInput, AutomationOptions};
use ferroflux_controllers::image::policy::{self, NoDigests, PolicyOptions};
use k8s_openapi::jiff::Timestamp;

const IMAGE: &str = "harbor.example/tbd/keyword_correction";

fn clock() -> FixedClock {
    FixedClock::new(Timestamp::from_second(1_778_655_974).expect("timestamp"))
}

fn bench_policy(c: &mut Criterion) {
    let mut p = ImagePolicy::new(
        "keyword-correction",
        ImagePolicySpec {
            image_repository_ref: NamespacedObjectReference {
                name: "keyword-correction".into(),
                namespace: None,
            },
            policy: ImagePolicyChoice {
                semver: Some(SemVerPolicy {
                    range: ">=0.0.0".into(),
                }),
                ..Default::default()
            },
            filter_tags: Some(TagFilter {
                pattern: r"^(?:api-|streamlit-)?(?P<version>\d+\.\d+\.\d+.*)$".into(),
                extract: "$version".into(),
            }),
            ..Default::default()
        },
    );
    p.metadata.namespace = Some("flux-system".into());
    let mut repo = ImageRepository::new(
        "keyword-correction",
        ImageRepositorySpec {
            image: IMAGE.into(),
            interval: ferroflux_api::Duration::from_secs(300),
            ..Default::default()
        },
    );
    repo.metadata.namespace = Some("flux-system".into());
    repo.status = Some(ImageRepositoryStatus {
        canonical_image_name: Some(IMAGE.into()),
        ..Default::default()
    });
    let tags: Vec<String> = (0..10_000)
        .map(|i| match i % 4 {
            0 => format!("{}.{}.{}", i / 1000, (i / 10) % 100, i % 10),
            1 => format!("api-{}.{}.{}", i / 1000, (i / 10) % 100, i % 10),
            2 => format!("sha-{i:08x}"),
            _ => format!("{}.{}.{}-rc.{}", i / 1000, (i / 10) % 100, i % 10, i % 7),
        })
        .collect();
    let db = BTreeMap::from([(IMAGE.to_string(), tags)]);
    let clock = clock();
    let opts = PolicyOptions::default();
    c.bench_function("policy_reconcile_10k_tags", |b| {
        b.iter(|| {
            let r = policy::reconcile(black_box(&p), Some(&repo), &db, &NoDigests, &clock, &opts);
            assert!(r.status.latest_ref.is_some());
        })
    });
}

fn bench_automation(c: &mut Criterion) {
    if !ferroflux_testkit::gitrepo::git_available() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let bare = ferroflux_testkit::gitrepo::init_bare(tmp.path(), "fleet.git");
    let files: Vec<(String, Vec<u8>)> = (0..200)
        .map(|i| {
            (
                format!("apps/stage/svc-{i:03}/deployment.yaml"),
                format!(
                    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: svc-{i}\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: {IMAGE}:1.0.0 # {{\"$imagepolicy\": \"flux-system:app\"}}\n"
                )
                .into_bytes(),
            )
        })
        .collect();
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_slice()))
        .collect();
    ferroflux_testkit::gitrepo::commit_files(&bare, "main", &refs, "initial");
    let mut repo = GitRepository::new(
        "flux-system",
        GitRepositorySpec {
            url: format!("file://{}", bare.display()),
            interval: ferroflux_api::Duration::from_secs(60),
            reference: Some(GitRepositoryRef {
                branch: Some("main".into()),
                ..Default::default()
            }),
            ..Default::default()
        },
    );
    repo.metadata.namespace = Some("flux-system".into());
    let mut pol = ImagePolicy::new("app", Default::default());
    pol.metadata.namespace = Some("flux-system".into());
    pol.status = Some(ImagePolicyStatus {
        latest_ref: Some(ImageRef {
            name: IMAGE.into(),
            tag: "1.0.0".into(),
            digest: None,
        }),
        ..Default::default()
    });
    let policies = [pol];
    let mut auto = ImageUpdateAutomation::new(
        "flux-system",
        ImageUpdateAutomationSpec {
            source_ref: CrossNamespaceSourceReference {
                kind: "GitRepository".into(),
                name: "flux-system".into(),
                ..Default::default()
            },
            git: Some(GitSpec {
                checkout: None,
                commit: CommitSpec {
                    author: CommitUser {
                        name: Some("bot".into()),
                        email: "bot@example.com".into(),
                    },
                    ..Default::default()
                },
                push: Some(ferroflux_api::image::PushSpec {
                    branch: Some("main".into()),
                    ..Default::default()
                }),
            }),
            interval: ferroflux_api::Duration::from_secs(60),
            policy_selector: None,
            update: Some(UpdateStrategy {
                path: Some("./apps/stage".into()),
                ..Default::default()
            }),
            suspend: None,
        },
    );
    auto.metadata.namespace = Some("flux-system".into());
    let opts = AutomationOptions {
        cache_dir: tmp.path().join("cache"),
        ..Default::default()
    };
    let clock = clock();
    let run = |auto: &ImageUpdateAutomation| {
        let input = AutomationInput {
            automation: auto,
            api_version: "image.toolkit.fluxcd.io/v1",
            git_repository: Some(&repo),
            git_secret: None,
            signing_secret: None,
            policies: &policies,
        };
        automation::reconcile(&input, &clock, &opts)
    };
    let first = run(&auto);
    assert!(first.status.observed_source_revision.is_some());
    c.bench_function("automation_full_sync_no_change_200_files", |b| {
        b.iter(|| {
            let r = run(black_box(&auto));
            assert!(r.pushed.is_none());
        })
    });
    let mut settled = auto.clone();
    settled.status = Some(first.status);
    c.bench_function("automation_early_stop_200_files", |b| {
        b.iter(|| {
            let r = run(black_box(&settled));
            assert!(r.pushed.is_none());
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench_policy, bench_automation
}
criterion_main!(benches);
