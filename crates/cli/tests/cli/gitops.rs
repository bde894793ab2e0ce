//! `ferroflux get|reconcile|suspend|resume` of GitRepository and
//! Kustomization, and `ferroflux events`, against the shared real control
//! plane of this binary (the install's CRDs, Kustomization's included). As
//! in `cluster.rs`, a background task per kind plays the controller: it
//! sees `reconcile.fluxcd.io/requestedAt` and writes
//! `lastHandledReconcileAt` and the status through the status subresource.

use ferroflux_api::kustomize::Kustomization;
use ferroflux_api::source::GitRepository;
use kube::api::Api;
use serde_json::{Value, json};

use crate::cluster::{Cluster, controller, create, namespaces, ready};

const REV: &str = "main@sha1:5f6d7fa5c0ffee0123456789abcdef0123456789";
const REV_NEW: &str = "main@sha1:0a1b2c3d4e5f60718293a4b5c6d7e8f901234567";
const ANNOTATION: &str = "reconcile.fluxcd.io/requestedAt";

fn git(name: &str, ns: &str, suspend: bool) -> Value {
    json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
           "metadata": {"name": name, "namespace": ns},
           "spec": {"url": format!("https://git.example/{name}.git"), "interval": "1m0s",
                    "ref": {"branch": "main"}, "suspend": suspend}})
}

fn git_status(revision: &str, generation: i64) -> Value {
    json!({"artifact": {"path": "gitrepository/x/y/z.tar.gz", "url": "http://source/z.tar.gz",
                        "revision": revision, "digest": "sha256:00"},
           "observedGeneration": generation,
           "conditions": [ready("True", &format!("stored artifact for revision '{revision}'"), generation)]})
}

fn ks(name: &str, ns: &str, source: &str, source_ns: Option<&str>) -> Value {
    let mut source_ref = json!({"kind": "GitRepository", "name": source});
    if let Some(sns) = source_ns {
        source_ref["namespace"] = json!(sns);
    }
    json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
           "metadata": {"name": name, "namespace": ns},
           "spec": {"interval": "10m0s", "path": format!("./{name}"), "prune": true,
                    "sourceRef": source_ref}})
}

fn ks_status(revision: &str, generation: i64) -> Value {
    json!({"lastAppliedRevision": revision, "lastAttemptedRevision": revision,
           "observedGeneration": generation,
           "conditions": [ready("True", &format!("Applied revision: {revision}"), generation)]})
}

/// seed 001's shape: the flux-system source and Kustomization, infra and
/// apps (apps waiting for infra), and a suspended source of apps' own in
/// the second namespace.
pub(crate) async fn seed(name: &str) -> Option<Cluster> {
    let c = namespaces(name).await?;
    let (client, flux, apps) = (&c.client, c.flux.as_str(), c.apps.as_str());
    create::<GitRepository>(
        client,
        flux,
        git("flux-system", flux, false),
        Some(git_status(REV, 1)),
    )
    .await;
    create::<GitRepository>(
        client,
        apps,
        git("podinfo", apps, true),
        Some(json!({"conditions": [ready("False", "failed to checkout and determine revision: unable to clone 'https://git.example/podinfo.git': authentication required", 1)]})),
    )
    .await;
    create::<Kustomization>(
        client,
        flux,
        ks("flux-system", flux, "flux-system", None),
        Some(ks_status(REV, 1)),
    )
    .await;
    create::<Kustomization>(client, flux, ks("infra", flux, "flux-system", None), None).await;
    create::<Kustomization>(
        client,
        flux,
        ks("apps", flux, "podinfo", Some(apps)),
        Some(json!({"lastAttemptedRevision": REV,
                    "conditions": [ready("False", &format!("dependency '{flux}/infra' is not ready"), 1)]})),
    )
    .await;
    Some(c)
}

/// The annotation and `lastHandledReconcileAt` of an object, as JSON.
async fn handshake<K>(c: &Cluster, ns: &str, name: &str) -> (Option<String>, Option<String>)
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + serde::Serialize,
{
    let api: Api<K> = Api::namespaced(c.client.clone(), ns);
    let v = serde_json::to_value(api.get(name).await.expect("get")).expect("json");
    (
        v["metadata"]["annotations"][ANNOTATION]
            .as_str()
            .map(str::to_string),
        v["status"]["lastHandledReconcileAt"]
            .as_str()
            .map(str::to_string),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_sources_git_and_kustomizations() {
    let Some(c) = seed("getgit").await else {
        return;
    };
    let cases: [(&[&str], &str); 5] = [
        (&["get", "sources", "git"], "\
NAME          REVISION             SUSPENDED   READY   MESSAGE
flux-system   main@sha1:5f6d7fa5   False       True    stored artifact for revision 'main@sha1:5f6d7fa5'
"),
        (&["get", "source", "git", "podinfo", "-n", &c.apps], "\
NAME      REVISION   SUSPENDED   READY   MESSAGE
podinfo              True        False   failed to checkout and determine revision: unable to clone 'https://git.example/podinfo.git': authentication required
"),
        (&["get", "kustomizations"], &format!("\
NAME          REVISION             SUSPENDED   READY   MESSAGE
apps                               False       False   dependency '{0}/infra' is not ready
flux-system   main@sha1:5f6d7fa5   False       True    Applied revision: main@sha1:5f6d7fa5
infra                              False       False   waiting to be reconciled
", c.flux)),
        // infra has no Ready condition: flux's selector does not match it.
        (&["get", "ks", "--status-selector", "ready=false", "--no-header"], &format!("\
apps      False   False   dependency '{0}/infra' is not ready
", c.flux)),
        (&["get", "kustomization", "apps", "--show-source"], &format!("\
NAME   SOURCE                          REVISION   SUSPENDED   READY   MESSAGE
apps   GitRepository/{0}/podinfo              False       False   dependency '{1}/infra' is not ready
", c.apps, c.flux)),
    ];
    for (args, want) in cases {
        let out = c.ff(args).await;
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        // The SOURCE column's width depends on the namespace's length.
        let norm = |t: &str| {
            t.lines()
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect::<Vec<_>>()
        };
        if args.contains(&"--show-source") {
            assert_eq!(norm(&out.stdout), norm(want), "{args:?}");
        } else {
            assert_eq!(out.stdout, want, "{args:?}");
        }
    }
    // ready!=true: the negation.
    let out = c
        .ff(&["get", "ks", "--status-selector", "Ready!=True"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let names: Vec<&str> = out
        .stdout
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(names, ["apps", "infra"]);

    // Flux 2.9's errors: exit 1, the namespace quoted.
    let out = c.ff(&["get", "sources", "git", "nope"]).await;
    assert_eq!((out.code, out.stdout.as_str()), (1, ""));
    assert_eq!(
        out.stderr,
        format!(
            "✗ GitRepository object 'nope' not found in {:?} namespace\n",
            c.flux
        )
    );
    let out = c.ff(&["get", "ks", "-n", &c.apps]).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        format!(
            "✗ no Kustomization objects found in {:?} namespace\n",
            c.apps
        )
    );
    let out = c.ff(&["get", "ks", "--status-selector", "ready"]).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "✗ expected status selector in type=status or type!=status format, but found: ready\n"
    );

    // get all: one table per kind that has objects, names as kind/name.
    let out = c.ff(&["get", "all"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        format!("\
NAME                        REVISION             SUSPENDED   READY   MESSAGE
gitrepository/flux-system   main@sha1:5f6d7fa5   False       True    stored artifact for revision 'main@sha1:5f6d7fa5'

NAME                        REVISION             SUSPENDED   READY   MESSAGE
kustomization/apps                               False       False   dependency '{0}/infra' is not ready
kustomization/flux-system   main@sha1:5f6d7fa5   False       True    Applied revision: main@sha1:5f6d7fa5
kustomization/infra                              False       False   waiting to be reconciled

", c.flux)
    );
    assert_eq!(out.stderr, "");

    // A v1beta2 manifest (served, stored as v1): its legacy patch field is
    // kept in etcd, yet v1 readers see Flux's v1 fields only.
    let ar = kube::api::ApiResource {
        group: "kustomize.toolkit.fluxcd.io".into(),
        version: "v1beta2".into(),
        api_version: "kustomize.toolkit.fluxcd.io/v1beta2".into(),
        kind: "Kustomization".into(),
        plural: "kustomizations".into(),
    };
    let legacy: kube::api::DynamicObject = serde_json::from_value(json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1beta2", "kind": "Kustomization",
        "metadata": {"name": "legacy", "namespace": c.apps},
        "spec": {"interval": "5m", "path": "./legacy", "prune": true, "validation": "client",
                 "sourceRef": {"kind": "GitRepository", "name": "podinfo"},
                 "patchesStrategicMerge": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                            "metadata": {"name": "web"}, "spec": {"replicas": 2}}]}
    }))
    .expect("v1beta2");
    Api::<kube::api::DynamicObject>::namespaced_with(c.client.clone(), &c.apps, &ar)
        .create(&Default::default(), &legacy)
        .await
        .expect("v1beta2 Kustomization accepted");
    let out = c.ff(&["get", "ks", "-n", &c.apps]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "NAME     REVISION   SUSPENDED   READY   MESSAGE\nlegacy              False       False   waiting to be reconciled\n"
    );

    // -A: our rows among other tests', with the NAMESPACE column.
    let out = c.ff(&["get", "sources", "git", "-A"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let words = |l: &str| l.split_whitespace().collect::<Vec<_>>().join(" ");
    let lines: Vec<String> = out.stdout.lines().map(words).collect();
    assert_eq!(lines[0], "NAMESPACE NAME REVISION SUSPENDED READY MESSAGE");
    assert!(lines.contains(&format!(
        "{} flux-system main@sha1:5f6d7fa5 False True stored artifact for revision 'main@sha1:5f6d7fa5'",
        c.flux
    )), "{}", out.stdout);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("{} podinfo True False ", c.apps))),
        "{}",
        out.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_source_git_and_kustomization() {
    let Some(c) = seed("recgit").await else {
        return;
    };
    // The source "slow" never answers.
    let _git = controller::<GitRepository>(&c, |name, g| {
        (name != "slow").then(|| git_status(REV_NEW, g))
    });
    let flux = c.flux.clone();
    let _ks = controller::<Kustomization>(&c, move |name, g| match name {
        "flux-system" => Some(ks_status(REV_NEW, g)),
        "apps" => Some(
            json!({"conditions": [ready("False", &format!("dependency '{flux}/infra' is not ready"), g)]}),
        ),
        // infra's requests are never handled.
        _ => None,
    });

    let out = c.ff(&["reconcile", "source", "git", "flux-system"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        c.ns(&format!(
            "► annotating GitRepository flux-system in flux-system namespace\n\
             ✔ GitRepository annotated\n\
             ◎ waiting for GitRepository reconciliation\n\
             ✔ fetched revision {REV_NEW}\n"
        ))
    );
    let (annotation, handled) = handshake::<GitRepository>(&c, &c.flux, "flux-system").await;
    assert!(annotation.is_some());
    assert_eq!(annotation, handled);

    let out = c.ff(&["reconcile", "kustomization", "flux-system"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        c.ns(&format!(
            "► annotating Kustomization flux-system in flux-system namespace\n\
             ✔ Kustomization annotated\n\
             ◎ waiting for Kustomization reconciliation\n\
             ✔ applied revision {REV_NEW}\n"
        ))
    );
    let (annotation, handled) = handshake::<Kustomization>(&c, &c.flux, "flux-system").await;
    assert!(annotation.is_some());
    assert_eq!(annotation, handled);

    // --with-source: the source first, then the Kustomization.
    let (git_before, _) = handshake::<GitRepository>(&c, &c.flux, "flux-system").await;
    let out = c
        .ff(&["reconcile", "ks", "flux-system", "--with-source"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        c.ns(&format!(
            "► annotating GitRepository flux-system in flux-system namespace\n\
             ✔ GitRepository annotated\n\
             ◎ waiting for GitRepository reconciliation\n\
             ✔ fetched revision {REV_NEW}\n\
             ► annotating Kustomization flux-system in flux-system namespace\n\
             ✔ Kustomization annotated\n\
             ◎ waiting for Kustomization reconciliation\n\
             ✔ applied revision {REV_NEW}\n"
        ))
    );
    let (git_after, git_handled) = handshake::<GitRepository>(&c, &c.flux, "flux-system").await;
    assert_ne!(git_before, git_after);
    assert_eq!(git_after, git_handled);

    // A source in another namespace, suspended: flux's refusal.
    let out = c.ff(&["reconcile", "ks", "apps", "--with-source"]).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stderr, "✗ resource is suspended\n");

    // Ready=False: flux's failure line (quoted without --with-source).
    let out = c.ff(&["reconcile", "ks", "apps"]).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.ends_with(&format!(
            "◎ waiting for Kustomization reconciliation\n\
             ✗ Kustomization reconciliation failed: 'dependency '{}/infra' is not ready'\n",
            c.flux
        )),
        "{}",
        out.stderr
    );

    // Not handled in time.
    let started = std::time::Instant::now();
    let out = c.ff(&["reconcile", "ks", "infra", "--timeout", "1s"]).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.ends_with(&c.ns(
            "◎ waiting for Kustomization reconciliation\n\
             ✗ timed out after 1s waiting for Kustomization infra in flux-system namespace to be reconciled\n"
        )),
        "{}",
        out.stderr
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(20));

    // Out of time while the source is reconciled: the source is named.
    create::<GitRepository>(&c.client, &c.flux, git("slow", &c.flux, false), None).await;
    create::<Kustomization>(
        &c.client,
        &c.flux,
        ks("on-slow", &c.flux, "slow", None),
        None,
    )
    .await;
    let out = c
        .ff(&[
            "reconcile",
            "ks",
            "on-slow",
            "--with-source",
            "--timeout",
            "1s",
        ])
        .await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        c.ns(
            "► annotating GitRepository slow in flux-system namespace\n\
             ✔ GitRepository annotated\n\
             ◎ waiting for GitRepository reconciliation\n\
             ✗ timed out after 1s waiting for GitRepository slow in flux-system namespace to be reconciled\n"
        )
    );

    // A source kind --with-source cannot reconcile: flux's words.
    let mut bucket = ks("from-bucket", &c.flux, "artifacts", None);
    bucket["spec"]["sourceRef"]["kind"] = json!("Bucket");
    create::<Kustomization>(&c.client, &c.flux, bucket, None).await;
    let out = c
        .ff(&["reconcile", "ks", "from-bucket", "--with-source"])
        .await;
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (1, "✗ cannot reconcile source of kind Bucket\n")
    );

    // Unknown objects: the apiserver's words, as flux prints them.
    let out = c.ff(&["reconcile", "kustomization", "nope"]).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "✗ kustomizations.kustomize.toolkit.fluxcd.io \"nope\" not found\n"
    );
    let out = c.ff(&["reconcile", "source", "git", "nope"]).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "✗ gitrepositories.source.toolkit.fluxcd.io \"nope\" not found\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspend_and_resume_source_git_and_kustomization() {
    let Some(c) = seed("susgit").await else {
        return;
    };
    let _git = controller::<GitRepository>(&c, |_, g| Some(git_status(REV_NEW, g)));
    let flux = c.flux.clone();
    let _ks = controller::<Kustomization>(&c, move |name, g| match name {
        "apps" => Some(
            json!({"conditions": [ready("False", &format!("dependency '{flux}/infra' is not ready"), g)]}),
        ),
        _ => Some(ks_status(REV_NEW, g)),
    });

    let out = c.ff(&["suspend", "source", "git", "flux-system"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        c.ns(
            "► suspending source git flux-system in flux-system namespace\n✔ source git suspended\n"
        )
    );
    assert_eq!(
        c.suspend_of::<GitRepository>(&c.flux, "flux-system").await,
        Some(true)
    );
    let out = c.ff(&["get", "sources", "git"]).await;
    assert!(
        out.stdout
            .contains("flux-system   main@sha1:5f6d7fa5   True "),
        "{}",
        out.stdout
    );
    let out = c.ff(&["reconcile", "source", "git", "flux-system"]).await;
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (1, "✗ resource is suspended\n")
    );

    let out = c.ff(&["resume", "source", "git", "flux-system"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        c.ns(&format!(
            "► resuming source git flux-system in flux-system namespace\n\
             ✔ source git resumed\n\
             ◎ waiting for GitRepository reconciliation\n\
             ✔ GitRepository flux-system reconciliation completed\n\
             ✔ fetched revision {REV_NEW}\n"
        ))
    );
    assert_eq!(
        c.suspend_of::<GitRepository>(&c.flux, "flux-system").await,
        Some(false)
    );

    // Kustomizations: --all suspends every one, no wait on resume --all.
    let out = c.ff(&["suspend", "ks", "--all"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        c.ns(
            "► suspending kustomization apps in flux-system namespace\n✔ kustomization suspended\n\
             ► suspending kustomization flux-system in flux-system namespace\n✔ kustomization suspended\n\
             ► suspending kustomization infra in flux-system namespace\n✔ kustomization suspended\n"
        )
    );
    for name in ["apps", "flux-system", "infra"] {
        assert_eq!(
            c.suspend_of::<Kustomization>(&c.flux, name).await,
            Some(true),
            "{name}"
        );
    }
    let out = c
        .ff(&["resume", "kustomization", "flux-system", "infra", "--wait"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        c.ns(&format!(
            "► resuming kustomization flux-system in flux-system namespace\n✔ kustomization resumed\n\
             ► resuming kustomization infra in flux-system namespace\n✔ kustomization resumed\n\
             ◎ waiting for Kustomization reconciliation\n\
             ◎ waiting for Kustomization reconciliation\n\
             ✔ Kustomization flux-system reconciliation completed\n✔ applied revision {REV_NEW}\n\
             ✔ Kustomization infra reconciliation completed\n✔ applied revision {REV_NEW}\n"
        ))
    );
    // One that fails: flux's two failure lines, exit 1.
    let out = c.ff(&["resume", "ks", "apps"]).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.ends_with(&format!(
            "◎ waiting for Kustomization reconciliation\n\
             ✗ Kustomization apps reconciliation failed: dependency '{}/infra' is not ready\n\
             ✗ reconciliation failed for 1 Kustomization(s)\n",
            c.flux
        )),
        "{}",
        out.stderr
    );
    assert_eq!(
        c.suspend_of::<Kustomization>(&c.flux, "apps").await,
        Some(false)
    );

    // Missing names: reported in each verb's words; exit 0, as flux.
    let out = c.ff(&["suspend", "ks", "nope"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        c.ns("✗ Kustomization nope not found in flux-system namespace\n")
    );
    let out = c.ff(&["resume", "source", "git", "nope"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        c.ns("✗ GitRepository object 'nope' not found in flux-system namespace\n")
    );
    // --all with nothing there.
    let out = c.ff(&["suspend", "ks", "--all", "-n", &c.apps]).await;
    assert_eq!((out.code, out.stderr.as_str()), (1, "✗ no objects found\n"));
    let out = c.ff(&["resume", "ks", "--all", "-n", &c.apps]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        c.ns("✗ no Kustomization objects found in apps namespace\n")
    );
}
