//! Reconcile throughput: an ImagePolicy over 10,000 stored tags (seed 000's
//! filterTags + semver), ImageUpdateAutomation runs on a 200-file
//! repository over file:// (early stop; full sync with no change), and a
//! 20,000-version Helm repository index: stored by a HelmRepository run,
//! then read by a HelmChart run whose stored chart is current.

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

/// An index of 200 charts × 100 versions (Bitnami's full index held
/// ~20,000), its chart files the stored ones.
fn big_index() -> String {
    let mut s = String::from("apiVersion: v1\nentries:\n");
    for c in 0..200 {
        s.push_str(&format!("  chart{c}:\n"));
        for v in 0..100 {
            s.push_str(&format!(
                "  - apiVersion: v2\n    name: chart{c}\n    version: 1.{v}.0\n    created: \"2024-01-01T00:00:00Z\"\n    digest: 0123456789abcdef\n    urls:\n    - chart{c}-1.{v}.0.tgz\n"
            ));
        }
    }
    s.push_str("generated: \"2024-02-01T00:00:00Z\"\n");
    s
}

fn bench_helm(c: &mut Criterion) {
    use ferroflux_api::source::{
        HelmChart, HelmChartSpec, HelmRepository, HelmRepositorySpec, LocalHelmChartSourceReference,
    };
    use ferroflux_artifact::{Limits, Retention, Storage};
    use ferroflux_controllers::source::{helm_chart, helm_repository};
    let index = big_index();
    let t = tempfile::tempdir().expect("tempdir");
    let storage = Storage::new(
        &t.path().join("data"),
        "localhost:9090",
        Retention::default(),
    )
    .expect("s");
    let mut repo = HelmRepository::new(
        "big",
        HelmRepositorySpec {
            url: "https://charts.example".into(),
            ..Default::default()
        },
    );
    repo.metadata.namespace = Some("default".into());
    let fetch = |_: &str, _: &ferroflux_artifact::http::HttpOptions| Ok(index.clone().into_bytes());
    let store = |r: &HelmRepository| {
        let input = helm_repository::HelmRepositoryInput {
            repository: r,
            secret: None,
            cert_secret: None,
            storage: &storage,
        };
        helm_repository::reconcile(&input, &clock(), &fetch)
    };
    c.bench_function("helm_repository_store_20000_versions", |b| {
        b.iter(|| {
            let r = store(black_box(&repo));
            assert!(r.status.artifact.is_some());
        })
    });
    repo.status = Some(store(&repo).status);
    let chart = |n: &str| {
        let files = vec![ferroflux_helm::chart::File {
            name: "Chart.yaml".into(),
            data: format!("apiVersion: v2\nname: {n}\nversion: 1.99.0\n").into_bytes(),
        }];
        ferroflux_helm::package::package(files, 1_700_000_000)
            .expect("package")
            .data
    };
    let data = chart("chart7");
    let download = move |_: &str, _: &ferroflux_artifact::http::HttpOptions| Ok(data.clone());
    let mut hc = HelmChart::new(
        "chart7",
        HelmChartSpec {
            chart: "chart7".into(),
            version: Some("1.x".into()),
            source_ref: LocalHelmChartSourceReference {
                kind: "HelmRepository".into(),
                name: "big".into(),
                api_version: None,
            },
            interval: ferroflux_api::Duration::from_secs(300),
            ..Default::default()
        },
    );
    hc.metadata.namespace = Some("default".into());
    let source = helm_chart::ChartSource::HelmRepository {
        repository: Box::new(repo.clone()),
        secret: None,
        cert_secret: None,
    };
    let build = |hc: &HelmChart| {
        let input = helm_chart::HelmChartInput {
            chart: hc,
            source: &source,
            storage: &storage,
            limits: &Limits::default(),
            requeue_dependency: std::time::Duration::from_secs(30),
            repositories: &[],
            oci: None,
        };
        helm_chart::reconcile(&input, &clock(), &download)
    };
    hc.status = Some(build(&hc).status);
    assert_eq!(
        hc.status
            .as_ref()
            .and_then(|s| s.artifact.as_ref())
            .map(|a| a.revision.as_str()),
        Some("1.99.0")
    );
    c.bench_function("helm_chart_current_from_20000_versions", |b| {
        b.iter(|| {
            let r = build(black_box(&hc));
            assert!(r.status.artifact.is_some());
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench_policy, bench_automation, bench_helm
}
criterion_main!(benches);
