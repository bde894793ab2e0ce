use super::*;
use ferroflux_api::meta::LocalObjectReference;
use ferroflux_api::source::{GitRepositoryRef, GitRepositorySpec};
use ferroflux_controllers::kind::SecretData;
use ferroflux_controllers::status::EventType;
use ferroflux_testkit::scripted::Scripted;
use serde_json::json;
use std::sync::Arc;

use crate::cluster::{Cluster, ClusterOptions};
use crate::state::StatusStore;

fn local_home(dir: &tempfile::TempDir) -> (LocalHome, StatusStore) {
    let st = StatusStore::open(&dir.path().join("state.redb")).unwrap();
    let own = OwnRepository::new("https://git.example/fleet.git", "main", SecretData::new());
    (LocalHome::new(st.clone(), own), st)
}

fn event() -> Event {
    Event {
        type_: EventType::Normal,
        reason: "Succeeded".into(),
        message: "Latest image tag resolved".into(),
    }
}

fn reference(key: &ObjectKey) -> ObjectReference {
    ObjectReference {
        kind: Some(key.kind.clone()),
        namespace: Some(key.namespace.clone()),
        name: Some(key.name.clone()),
        ..ObjectReference::default()
    }
}

#[tokio::test]
async fn local_home_writes_status_to_the_state_database_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (home, st) = local_home(&dir);
    let key = ObjectKey::new("ImagePolicy", "apps", "app");
    let first = json!({
        "conditions": [{"type": "Ready", "status": "True", "reason": "Succeeded",
                        "message": "m", "lastTransitionTime": "2026-01-01T00:00:00Z"}],
        "latestRef": {"name": "r", "tag": "1.0.0"},
        "observedPreviousRef": {"name": "r", "tag": "0.9.0"}
    });
    home.write_status(&key, None, &first).await.unwrap();
    assert_eq!(st.get_status::<Value>(&key).unwrap(), Some(first.clone()));
    let typed: ferroflux_api::image::ImagePolicyStatus = st.get_status(&key).unwrap().unwrap();
    assert_eq!(typed.latest_ref.map(|r| r.tag), Some("1.0.0".to_string()));
    // The next status replaces the stored one (no merge with `old`).
    let second = json!({"latestRef": {"name": "r", "tag": "1.1.0"}});
    home.write_status(&key, Some(&first), &second)
        .await
        .unwrap();
    assert_eq!(st.get_status::<Value>(&key).unwrap(), Some(second));
}

#[tokio::test]
async fn local_home_drops_events() {
    let dir = tempfile::tempdir().unwrap();
    let (home, st) = local_home(&dir);
    let key = ObjectKey::new("ImagePolicy", "apps", "app");
    assert!(!home.record(&reference(&key), &event()));
    assert!(st.list("ImagePolicy").unwrap().is_empty());
    assert_eq!(st.get_status::<Value>(&key).unwrap(), None);
}

#[tokio::test]
async fn local_home_reads_a_checkout_of_its_own_repository() {
    let dir = tempfile::tempdir().unwrap();
    let (home, _) = local_home(&dir);
    assert_eq!(home.arrival(), Arrival::Checkout);
    assert_eq!(
        home.own_repository().map(OwnRepository::url),
        Some("https://git.example/fleet.git")
    );
    assert!(!home.serves_gitops());
    // Asked once the checkout lost the object: gone.
    let key = ObjectKey::new("Kustomization", "apps", "app");
    assert!(home.gone(&key).await.unwrap());
}

#[test]
fn own_repository_describes_its_url_as_read_and_as_written() {
    let own = OwnRepository::new("/no/such/fleet", "main", SecretData::new());
    assert_eq!(own.url(), "file:///no/such/fleet");
    assert!(own.describes("file:///no/such/fleet.git/", None));
    assert!(own.describes("/no/such/fleet", None));
    assert!(!own.describes("https://git.example/other", None));
    // Another object for the remote flux-system/flux-system points at.
    assert!(own.describes(
        "https://git.example/fleet",
        Some("https://git.example/fleet.git")
    ));
    assert!(!own.describes(
        "https://git.example/other",
        Some("https://git.example/fleet.git")
    ));
}

#[test]
fn own_repository_rewrite_points_a_source_at_repo() {
    let mut creds = SecretData::new();
    creds.insert("password".into(), b"hunter2".to_vec());
    let own = OwnRepository::new("https://git.example/fleet.git", "prod", creds.clone());
    let mut spec = GitRepositorySpec {
        url: "ssh://git@git.example/fleet".into(),
        secret_ref: Some(LocalObjectReference {
            name: "named".into(),
        }),
        ..Default::default()
    };
    let data = own.rewrite(&mut spec, Some(SecretData::new()));
    assert_eq!(spec.url, "https://git.example/fleet.git");
    assert_eq!(
        spec.reference.as_ref().and_then(|r| r.branch.as_deref()),
        Some("prod")
    );
    assert_eq!(
        spec.secret_ref.map(|r| r.name),
        Some(local::CREDENTIALS_SECRET.to_string())
    );
    assert_eq!(data, Some(creds));

    // No `--repo` credentials: the named Secret stays; a named ref stays.
    let own = OwnRepository::new("https://git.example/fleet.git", "prod", SecretData::new());
    let mut named = SecretData::new();
    named.insert("username".into(), b"bot".to_vec());
    let mut spec = GitRepositorySpec {
        secret_ref: Some(LocalObjectReference {
            name: "named".into(),
        }),
        reference: Some(GitRepositoryRef {
            tag: Some("v1".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(own.rewrite(&mut spec, Some(named.clone())), Some(named));
    assert_eq!(spec.secret_ref.map(|r| r.name), Some("named".to_string()));
    assert_eq!(spec.reference.and_then(|r| r.tag), Some("v1".to_string()));

    // Neither: the source is read without credentials.
    let mut spec = GitRepositorySpec {
        secret_ref: Some(LocalObjectReference {
            name: "missing".into(),
        }),
        ..Default::default()
    };
    assert_eq!(own.rewrite(&mut spec, None), None);
    assert_eq!(spec.secret_ref, None);
}

#[test]
fn own_repository_debug_shows_no_secret() {
    let mut creds = SecretData::new();
    creds.insert("password".into(), b"hunter2".to_vec());
    let own = OwnRepository::new("https://bot:s3cret@git.example/fleet.git", "main", creds);
    let shown = format!("{own:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(shown.contains("git.example/fleet.git"), "{shown}");
}

/// An apiserver that answers every request with `status` and `body`.
async fn apiserver(status: u16, body: &'static str) -> Cluster {
    scripted(move |_| (status, body.to_string())).await.0
}

/// A fake apiserver answering each request (`"METHOD /path body"`) as
/// `answer` says; the server keeps the requests it got.
async fn scripted(
    answer: impl Fn(&str) -> (u16, String) + Send + Sync + 'static,
) -> (Cluster, Scripted) {
    let server = Scripted::start(std::time::Duration::ZERO, answer).await;
    let config = ::kube::Config::new(server.url().parse().unwrap());
    let cluster = Cluster::new(
        ::kube::Client::try_from(config).unwrap(),
        ClusterOptions::default(),
    );
    (cluster, server)
}

const NOT_FOUND: &str = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"not found","reason":"NotFound","code":404}"#;
const FORBIDDEN: &str = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"patch is forbidden","reason":"Forbidden","code":403}"#;
const FAILED: &str = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"etcd timeout","reason":"InternalError","code":500}"#;
const SOURCE: &str = r#"{"apiVersion":"source.toolkit.fluxcd.io/v1","kind":"GitRepository","metadata":{"name":"app","namespace":"apps"},"spec":{"url":"https://git.example/app","interval":"1m"}}"#;

#[tokio::test]
async fn kube_home_is_fed_by_watches_and_serves_gitops() {
    let home = KubeHome::new(apiserver(404, NOT_FOUND).await);
    assert_eq!(home.arrival(), Arrival::Watches);
    assert!(home.own_repository().is_none());
    assert!(home.serves_gitops());
}

#[tokio::test]
async fn kube_home_says_gone_only_when_the_apiserver_lost_the_object() {
    let key = ObjectKey::new("GitRepository", "apps", "app");
    let home = KubeHome::new(apiserver(404, NOT_FOUND).await);
    assert!(home.gone(&key).await.unwrap());
    let home = KubeHome::new(apiserver(200, SOURCE).await);
    assert!(!home.gone(&key).await.unwrap());
    let home = KubeHome::new(apiserver(500, FAILED).await);
    let e = home.gone(&key).await.unwrap_err();
    assert!(matches!(e, HomeError::Lookup { .. }), "{e:?}");
    assert!(e.to_string().contains("GitRepository apps/app"), "{e}");
    // A kind no watch serves is never declared gone.
    let other = ObjectKey::new("Unknown", "apps", "app");
    assert!(!home.gone(&other).await.unwrap());
}

#[tokio::test]
async fn kube_home_status_refused_fails_that_object() {
    let key = ObjectKey::new("ImagePolicy", "apps", "app");
    let home = KubeHome::new(apiserver(403, FORBIDDEN).await);
    let e = home
        .write_status(&key, None, &json!({"observedGeneration": 1}))
        .await
        .unwrap_err();
    assert!(matches!(e, HomeError::Refused { .. }), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("ImagePolicy apps/app: status update failed:"),
        "{e}"
    );
    // Deleted meanwhile: not an error, its watch event follows.
    let home = KubeHome::new(apiserver(404, NOT_FOUND).await);
    home.write_status(&key, None, &json!({"observedGeneration": 1}))
        .await
        .unwrap();
}

#[tokio::test]
async fn local_home_holds_no_finalizer() {
    let dir = tempfile::tempdir().unwrap();
    let (home, st) = local_home(&dir);
    assert!(!home.finalizes());
    let key = ObjectKey::new("Kustomization", "apps", "app");
    home.set_finalizer(&key, true, None).await.unwrap();
    assert!(st.list("Kustomization").unwrap().is_empty());
}

#[tokio::test]
async fn kube_home_finalizer_refused_names_the_object() {
    let key = ObjectKey::new("GitRepository", "apps", "app");
    let home = KubeHome::new(apiserver(403, FORBIDDEN).await);
    assert!(home.finalizes());
    let e = home.set_finalizer(&key, true, None).await.unwrap_err();
    assert!(matches!(e, HomeError::Refused { .. }), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("GitRepository apps/app: status update failed: finalizer update failed:"),
        "{e}"
    );
    // Gone already: nothing to hold.
    let home = KubeHome::new(apiserver(404, NOT_FOUND).await);
    home.set_finalizer(&key, false, None).await.unwrap();
}

const CONFLICT: &str = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the object has been modified","reason":"Conflict","code":409}"#;

#[tokio::test]
async fn kube_home_finalizer_starts_from_the_seen_object() {
    let key = ObjectKey::new("GitRepository", "apps", "app");
    let seen = ObjectMeta {
        name: Some("app".into()),
        namespace: Some("apps".into()),
        resource_version: Some("5".into()),
        finalizers: Some(vec!["other.example/keep".into()]),
        ..ObjectMeta::default()
    };
    // Seen fresh: one PATCH, no GET, guarded by the seen resourceVersion.
    let (cluster, got) = scripted(|_| (200, SOURCE.to_string())).await;
    KubeHome::new(cluster)
        .set_finalizer(&key, true, Some(&seen))
        .await
        .unwrap();
    let got = got.requests();
    assert_eq!(got.len(), 1, "{got:?}");
    let path = "/apis/source.toolkit.fluxcd.io/v1/namespaces/apps/gitrepositories/app";
    assert!(got[0].starts_with(&format!("PATCH {path} ")), "{got:?}");
    let patch: Value = serde_json::from_str(got[0].splitn(3, ' ').nth(2).unwrap()).unwrap();
    assert_eq!(
        patch,
        json!({"metadata": {
            "finalizers": ["other.example/keep", "finalizers.fluxcd.io"],
            "resourceVersion": "5",
        }})
    );

    // Seen stale: the conflict reads the object again and patches that.
    let fresh = r#"{"apiVersion":"source.toolkit.fluxcd.io/v1","kind":"GitRepository","metadata":{"name":"app","namespace":"apps","resourceVersion":"7"}}"#;
    let patches = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = Arc::clone(&patches);
    let (cluster, got) = scripted(move |request| {
        if request.starts_with("GET ") {
            return (200, fresh.to_string());
        }
        match counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
            0 => (409, CONFLICT.to_string()),
            _ => (200, SOURCE.to_string()),
        }
    })
    .await;
    KubeHome::new(cluster)
        .set_finalizer(&key, true, Some(&seen))
        .await
        .unwrap();
    let got = got.requests();
    let methods: Vec<&str> = got.iter().map(|r| r.split(' ').next().unwrap()).collect();
    assert_eq!(methods, ["PATCH", "GET", "PATCH"], "{got:?}");
    let patch: Value = serde_json::from_str(got[2].splitn(3, ' ').nth(2).unwrap()).unwrap();
    assert_eq!(patch["metadata"]["resourceVersion"], "7");
    assert_eq!(
        patch["metadata"]["finalizers"],
        json!(["finalizers.fluxcd.io"])
    );

    // Seen without the finalizer to remove: nothing is written.
    let (cluster, got) = scripted(|_| (200, SOURCE.to_string())).await;
    KubeHome::new(cluster)
        .set_finalizer(&key, false, Some(&seen))
        .await
        .unwrap();
    assert!(got.requests().is_empty());
}

#[tokio::test]
async fn kube_home_makes_a_finalized_kind_with_the_finalizer() {
    let maker = ObjectKey::new("HelmRelease", "apps", "web");
    let chart = json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "HelmChart",
        "metadata": {"name": "apps-web", "namespace": "apps"},
        "spec": {"chart": "podinfo", "sourceRef": {"kind": "HelmRepository", "name": "charts"}},
    });
    let (cluster, got) = scripted(|_| (200, SOURCE.to_string())).await;
    KubeHome::new(cluster)
        .make(&maker, vec![chart.clone()])
        .await
        .unwrap();
    let got = got.requests();
    assert_eq!(got.len(), 1, "{got:?}");
    let path = "/apis/source.toolkit.fluxcd.io/v1/namespaces/apps/helmcharts/apps-web";
    assert!(got[0].starts_with(&format!("PATCH {path} ")), "{got:?}");
    let applied: Value = serde_json::from_str(got[0].splitn(3, ' ').nth(2).unwrap()).unwrap();
    let mut want = chart;
    want["metadata"]["finalizers"] = json!(["finalizers.fluxcd.io"]);
    assert_eq!(applied, want);
}
