//! kube-rs 5.0 (client + runtime, ring TLS, the admin client certificate)
//! against the real control plane: with the CRDs from `crds()` installed,
//! `Api::<ImagePolicy>` creates, lists, server-side applies, patches status,
//! hits a conflict, and `kube::runtime::watcher` sees the status change,
//! each test in a namespace of its own.

use std::time::Duration;

use ferroflux_api::image::{ImagePolicy, ImagePolicySpec};
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;

use crate::cluster::{client, control_plane};

fn policy(name: &str, ns: &str) -> ImagePolicy {
    let spec: ImagePolicySpec = serde_json::from_value(json!({
        "imageRepositoryRef": {"name": "keyword-correction"},
        "policy": {"semver": {"range": ">=0.0.0"}}
    }))
    .expect("spec");
    let mut p = ImagePolicy::new(name, spec);
    p.metadata.namespace = Some(ns.into());
    p
}

#[tokio::test]
async fn kube_rs_crud_status_apply_and_conflict() {
    let Some(cp) = control_plane() else {
        return;
    };
    let ns = cp.namespace("crud");
    let client = client(cp).await;
    let api: Api<ImagePolicy> = Api::namespaced(client.clone(), &ns);

    let created = api
        .create(&PostParams::default(), &policy("keyword-correction", &ns))
        .await
        .expect("create");
    assert_eq!(created.metadata.generation, Some(1));
    assert!(created.metadata.uid.is_some());
    api.create(&PostParams::default(), &policy("realtime-asr", &ns))
        .await
        .expect("create");

    let names: Vec<String> = api
        .list(&ListParams::default())
        .await
        .expect("list")
        .items
        .into_iter()
        .filter_map(|p| p.metadata.name)
        .collect();
    assert_eq!(names, ["keyword-correction", "realtime-asr"]);

    let status = json!({"status": {"latestRef": {"name": "harbor.example/app", "tag": "1.2.3"}}});
    let patched = api
        .patch_status(
            "keyword-correction",
            &PatchParams::default(),
            &Patch::Merge(&status),
        )
        .await
        .expect("patch_status");
    let latest = patched
        .status
        .and_then(|s| s.latest_ref)
        .expect("latestRef");
    assert_eq!(latest.tag, "1.2.3");
    assert_eq!(patched.metadata.generation, Some(1));

    // Server-side apply: a spec change bumps generation and records the manager.
    let mut applied = policy("keyword-correction", &ns);
    applied.spec.suspend = Some(true);
    let after = api
        .patch(
            "keyword-correction",
            &PatchParams::apply("ferroflux").force(),
            &Patch::Apply(&applied),
        )
        .await
        .expect("apply");
    assert_eq!(after.spec.suspend, Some(true));
    assert_eq!(after.metadata.generation, Some(2));
    let managers: Vec<String> = after
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert!(managers.contains(&"ferroflux".to_string()), "{managers:?}");
    // Status survives a main-resource write.
    assert_eq!(
        after.status.and_then(|s| s.latest_ref).map(|r| r.tag),
        Some("1.2.3".into())
    );

    // A replace with a stale resourceVersion is a 409 Conflict.
    let stale = created;
    let err = api
        .replace("keyword-correction", &PostParams::default(), &stale)
        .await
        .expect_err("stale replace");
    match err {
        kube::Error::Api(status) => {
            assert_eq!(status.code, 409);
            assert_eq!(status.reason, "Conflict");
        }
        other => panic!("want a 409, got {other:?}"),
    }
    let missing = api.get_opt("nope").await.expect("get_opt");
    assert!(missing.is_none());
}

#[tokio::test]
async fn kube_rs_watcher_sees_status_updates() {
    let Some(cp) = control_plane() else {
        return;
    };
    let ns = cp.namespace("watch");
    let client = client(cp).await;
    let api: Api<ImagePolicy> = Api::namespaced(client.clone(), &ns);
    api.create(&PostParams::default(), &policy("keyword-correction", &ns))
        .await
        .expect("create");

    let mut stream = watcher(api.clone(), watcher::Config::default())
        .applied_objects()
        .boxed();
    let first = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("initial object within 10s")
        .expect("stream open")
        .expect("no watch error");
    assert_eq!(first.metadata.name.as_deref(), Some("keyword-correction"));

    let writer = api.clone();
    let later = policy("later", &ns);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let status =
            json!({"status": {"latestRef": {"name": "harbor.example/app", "tag": "2.0.0"}}});
        writer
            .patch_status(
                "keyword-correction",
                &PatchParams::default(),
                &Patch::Merge(&status),
            )
            .await
            .expect("patch_status");
        writer
            .create(&PostParams::default(), &later)
            .await
            .expect("create");
    });

    let mut seen_tag = None;
    let mut seen_later = false;
    while seen_tag.is_none() || !seen_later {
        let obj = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("watch event within 10s")
            .expect("stream open")
            .expect("no watch error");
        match obj.metadata.name.as_deref() {
            Some("later") => seen_later = true,
            Some("keyword-correction") => {
                if let Some(r) = obj.status.and_then(|s| s.latest_ref) {
                    seen_tag = Some(r.tag);
                }
            }
            other => panic!("unexpected object {other:?}"),
        }
    }
    assert_eq!(seen_tag.as_deref(), Some("2.0.0"));
}

/// kube-controller-manager's garbage collector deletes a ConfigMap whose
/// owner, an ImagePolicy, was deleted: ownerReferences to our kinds work
/// (what pruning by owner will rely on). Quick because the control plane's
/// controller manager was restarted after the CRDs went in; otherwise its
/// discovery finds the kind only on its next 30 s resync.
#[tokio::test]
async fn garbage_collector_follows_owner_references_to_our_kinds() {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
    use kube::api::DeleteParams;

    let Some(cp) = control_plane() else {
        return;
    };
    let ns = cp.namespace("gc");
    let client = client(cp).await;
    let policies: Api<ImagePolicy> = Api::namespaced(client.clone(), &ns);
    let owner = policies
        .create(&PostParams::default(), &policy("owner", &ns))
        .await
        .expect("create policy");
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    let mut owned = ConfigMap::default();
    owned.metadata.name = Some("owned".into());
    owned.metadata.owner_references = Some(vec![OwnerReference {
        api_version: "image.toolkit.fluxcd.io/v1".into(),
        kind: "ImagePolicy".into(),
        name: "owner".into(),
        uid: owner.metadata.uid.clone().expect("uid"),
        ..Default::default()
    }]);
    maps.create(&PostParams::default(), &owned)
        .await
        .expect("create configmap");
    policies
        .delete("owner", &DeleteParams::default())
        .await
        .expect("delete policy");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while maps.get_opt("owned").await.expect("get").is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the owned ConfigMap outlived its ImagePolicy by 20 s:\n{}",
            cp.controller_manager_log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// ferroflux's client speaks HTTP/2 with the apiserver, as client-go does:
/// concurrent requests share one connection instead of opening one each.
#[tokio::test]
async fn the_client_speaks_http2_and_multiplexes() {
    let Some(cp) = control_plane() else {
        return;
    };
    let client = client(cp).await;
    let request = || http::Request::get("/version").body(Vec::new()).unwrap();
    let answer = client.send(request().map(Into::into)).await.expect("send");
    assert_eq!(answer.version(), http::Version::HTTP_2);
    let answers = futures_util::future::join_all((0..50).map(|_| {
        let client = client.clone();
        async move {
            let info = client.apiserver_version().await.expect("version");
            info.major
        }
    }))
    .await;
    assert!(answers.iter().all(|v| v == "1"), "{answers:?}");
}

/// The connection the client shares: a watch nobody reads for a while (a
/// busy consumer) must not stall the other requests. HTTP/2's flow
/// control would, once the unread events fill the connection's window;
/// the connection's window (client-go's 1 GiB) is far larger than a
/// stream's (512 KiB), so one stalled stream holds only itself.
#[tokio::test]
async fn an_unread_watch_does_not_stall_the_shared_connection() {
    let Some(cp) = control_plane() else {
        return;
    };
    let ns = cp.namespace("unread-watch");
    let client = client(cp).await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    // Opened, then never polled while its events pile up.
    let watch = cms
        .watch(&kube::api::WatchParams::default(), "0")
        .await
        .expect("watch");
    // 800 KiB of events: past the stream's own window too.
    let data = "x".repeat(8192);
    for i in 0..100 {
        let cm: ConfigMap = serde_json::from_value(json!({
            "metadata": {"name": format!("cm-{i}")},
            "data": {"blob": data},
        }))
        .expect("configmap");
        tokio::time::timeout(
            Duration::from_secs(10),
            cms.create(&PostParams::default(), &cm),
        )
        .await
        .unwrap_or_else(|_| panic!("create {i} stalled behind the unread watch"))
        .expect("create");
    }
    let listed = tokio::time::timeout(Duration::from_secs(10), cms.list(&ListParams::default()))
        .await
        .expect("list stalled behind the unread watch")
        .expect("list");
    assert_eq!(listed.items.len(), 100);
    drop(watch);
}
