//! `ferroflux events` against the shared real control plane: events
//! recorded by kube-rs's Recorder exactly as the controller records them
//! (`crates/runtime`'s `Cluster::event`: events.k8s.io/v1, `regarding` the
//! Flux object), listed as `flux events` lists them.

use std::time::Duration;

use ferroflux_api::kustomize::Kustomization;
use ferroflux_api::source::GitRepository;
use k8s_openapi::api::core::v1::ObjectReference;
use kube::Resource;
use kube::api::Api;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};

use crate::cluster::Cluster;
use crate::gitops::seed;

/// The reference the controller's events point at (`Source::reference`).
async fn reference<K>(c: &Cluster, ns: &str, name: &str) -> ObjectReference
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned,
{
    let api: Api<K> = Api::namespaced(c.client.clone(), ns);
    api.get(name).await.expect("get").object_ref(&())
}

async fn record(
    recorder: &Recorder,
    object: &ObjectReference,
    type_: EventType,
    reason: &str,
    note: &str,
) {
    recorder
        .publish(
            &Event {
                type_,
                reason: reason.to_string(),
                note: Some(note.to_string()),
                action: "Reconcile".to_string(),
                secondary: None,
            },
            object,
        )
        .await
        .expect("event recorded");
    // Distinct event times, so the order is the recording order.
    tokio::time::sleep(Duration::from_millis(20)).await;
}

/// Every line as its words, the LAST SEEN cell (`3s`, or `3s (x2 over 4s)`)
/// replaced by `AGE` after checking its shape.
fn rows(stdout: &str, namespaced: bool) -> Vec<String> {
    stdout
        .lines()
        .map(|l| {
            let mut words: Vec<&str> = l.split_whitespace().collect();
            let at = usize::from(namespaced);
            if l.starts_with(' ') || words.len() <= at || words[at] == "LAST" {
                return words.join(" ");
            }
            let age =
                |w: &str| w.ends_with('s') && w[..w.len() - 1].chars().all(|c| c.is_ascii_digit());
            assert!(age(words[at]), "LAST SEEN {:?} in {l:?}", words[at]);
            if words.get(at + 1).is_some_and(|w| w.starts_with("(x")) {
                assert!(age(words[at + 3].trim_end_matches(')')), "{l:?}");
                words.drain(at + 1..at + 4);
            }
            words[at] = "AGE";
            words.join(" ")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_of_flux_objects_like_flux() {
    let Some(c) = seed("events").await else {
        return;
    };
    let recorder = Recorder::new(
        c.client.clone(),
        Reporter {
            controller: "ferroflux".to_string(),
            instance: None,
        },
    );
    let (flux, apps) = (c.flux.clone(), c.apps.clone());
    let ks_root = reference::<Kustomization>(&c, &flux, "flux-system").await;
    let ks_apps = reference::<Kustomization>(&c, &flux, "apps").await;
    let git_root = reference::<GitRepository>(&c, &flux, "flux-system").await;
    let git_apps = reference::<GitRepository>(&c, &apps, "podinfo").await;
    let deployment = ObjectReference {
        api_version: Some("apps/v1".into()),
        kind: Some("Deployment".into()),
        name: Some("web".into()),
        namespace: Some(flux.clone()),
        ..Default::default()
    };
    record(
        &recorder,
        &ks_root,
        EventType::Normal,
        "ReconciliationSucceeded",
        "Reconciliation finished in 1s, next run in 10m0s",
    )
    .await;
    record(
        &recorder,
        &git_root,
        EventType::Normal,
        "NewArtifact",
        "stored artifact for commit 'Add apps'",
    )
    .await;
    record(
        &recorder,
        &deployment,
        EventType::Normal,
        "ScalingReplicaSet",
        "Scaled up replica set web-1 to 1",
    )
    .await;
    let waiting = format!("dependency '{flux}/infra' is not ready");
    record(
        &recorder,
        &ks_apps,
        EventType::Warning,
        "DependencyNotReady",
        &waiting,
    )
    .await;
    record(
        &recorder,
        &ks_root,
        EventType::Normal,
        "Progressing",
        "Deployment/default/web configured\nService/default/web created",
    )
    .await;
    let clone = "failed to checkout and determine revision: authentication required";
    record(
        &recorder,
        &git_apps,
        EventType::Warning,
        "GitOperationFailed",
        clone,
    )
    .await;
    // The same event again: one event with a series of 2.
    record(
        &recorder,
        &git_apps,
        EventType::Warning,
        "GitOperationFailed",
        clone,
    )
    .await;

    // The namespace: Flux kinds only, oldest first, a change set on two lines.
    let out = c.ff(&["events"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        rows(&out.stdout, false),
        [
            "LAST SEEN TYPE REASON OBJECT MESSAGE".to_string(),
            "AGE Normal ReconciliationSucceeded Kustomization/flux-system Reconciliation finished in 1s, next run in 10m0s".to_string(),
            "AGE Normal NewArtifact GitRepository/flux-system stored artifact for commit 'Add apps'".to_string(),
            format!("AGE Warning DependencyNotReady Kustomization/apps {waiting}"),
            "AGE Normal Progressing Kustomization/flux-system Deployment/default/web configured".to_string(),
            "Service/default/web created".to_string(),
        ],
        "{}",
        out.stdout
    );
    // The continuation line sits under MESSAGE.
    let header = out.stdout.lines().next().expect("header");
    let last = out.stdout.lines().last().expect("line");
    assert_eq!(last.find('S'), header.find("MESSAGE"), "{}", out.stdout);

    // --for Kind/name: its events and its source's, here in another
    // namespace, so with a NAMESPACE column.
    let out = c.ff(&["events", "--for", "Kustomization/apps"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        rows(&out.stdout, true),
        [
            "NAMESPACE LAST SEEN TYPE REASON OBJECT MESSAGE".to_string(),
            format!("{flux} AGE Warning DependencyNotReady Kustomization/apps {waiting}"),
            format!("{apps} AGE Warning GitOperationFailed GitRepository/podinfo {clone}"),
        ],
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains(" (x2 over "), "{}", out.stdout);

    // --for Kind (case-blind), --types.
    let out = c.ff(&["events", "--for", "gitrepository"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        rows(&out.stdout, false)[1..],
        ["AGE Normal NewArtifact GitRepository/flux-system stored artifact for commit 'Add apps'".to_string()]
    );
    let out = c.ff(&["events", "--types", "warning"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        rows(&out.stdout, false)[1..],
        [format!(
            "AGE Warning DependencyNotReady Kustomization/apps {waiting}"
        )]
    );
    let out = c
        .ff(&[
            "events",
            "--for",
            "Kustomization/flux-system",
            "--types",
            "Warning",
        ])
        .await;
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{}", out.stderr);
    assert_eq!(
        out.stderr,
        c.ns("✗ No events found in flux-system namespace.\n")
    );

    // -A: ours among the others, with their namespaces.
    let out = c.ff(&["events", "-A"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let all = rows(&out.stdout, true);
    assert_eq!(all[0], "NAMESPACE LAST SEEN TYPE REASON OBJECT MESSAGE");
    assert!(
        all.contains(&format!(
            "{apps} AGE Warning GitOperationFailed GitRepository/podinfo {clone}"
        )),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("ScalingReplicaSet"), "{}", out.stdout);

    // --watch: what is there, then what is recorded meanwhile, until the
    // timeout (exit 0, as flux); the header once.
    let args: Vec<String> = [
        "events",
        "--for",
        "Kustomization/flux-system",
        "-w",
        "--timeout",
        "6s",
        "-n",
        &flux,
        "--kubeconfig",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([c.kubeconfig.display().to_string()])
    .collect();
    let home = c.dir.path().to_path_buf();
    let watching = tokio::spawn(async move { crate::cluster::run(&home, args, Vec::new()).await });
    tokio::time::sleep(Duration::from_millis(2500)).await;
    record(
        &recorder,
        &ks_root,
        EventType::Warning,
        "HealthCheckFailed",
        "timeout waiting for: [Deployment/default/web status: 'InProgress']",
    )
    .await;
    let out = watching.await.expect("join");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = rows(&out.stdout, false);
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("LAST SEEN")).count(),
        1,
        "{}",
        out.stdout
    );
    for want in [
        "AGE Normal ReconciliationSucceeded Kustomization/flux-system Reconciliation finished in 1s, next run in 10m0s",
        "AGE Normal NewArtifact GitRepository/flux-system stored artifact for commit 'Add apps'",
        "AGE Warning HealthCheckFailed Kustomization/flux-system timeout waiting for: [Deployment/default/web status: 'InProgress']",
    ] {
        assert!(lines.iter().any(|l| l == want), "{want}\n{}", out.stdout);
    }
    assert!(!out.stdout.contains("Kustomization/apps"), "{}", out.stdout);

    // Errors, in flux's words.
    let out = c.ff(&["events", "--for", "Deployment/web"]).await;
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (1, "✗ 'Deployment' is not a recognized Flux kind\n")
    );
    let out = c.ff(&["events", "--for", "Kustomization/nope"]).await;
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            1,
            "✗ kustomizations.kustomize.toolkit.fluxcd.io \"nope\" not found\n"
        )
    );
    let out = c.ff(&["events", "--types", "info"]).await;
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            1,
            "✗ type 'info' not supported. Supported types are Normal, Warning\n"
        )
    );
}
