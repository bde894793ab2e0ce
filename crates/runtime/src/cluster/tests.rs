use super::*;
use k8s_openapi::ByteString;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;
use serde_json::json;

#[test]
fn merge_diff_clears_what_the_new_status_lacks() {
    let old = json!({
        "conditions": [{"type": "Ready", "status": "False"}],
        "latestRef": {"name": "r", "tag": "1.0.0"},
        "observedPreviousRef": {"name": "r", "tag": "0.9.0"},
        "lastHandledReconcileAt": "a"
    });
    let new = json!({
        "conditions": [{"type": "Ready", "status": "True"}],
        "latestRef": {"name": "r", "tag": "1.1.0"},
        "lastHandledReconcileAt": "a"
    });
    let diff = merge_diff(Some(&old), &new);
    assert_eq!(
        diff,
        json!({
            "conditions": [{"type": "Ready", "status": "True"}],
            "latestRef": {"tag": "1.1.0"},
            "observedPreviousRef": null
        })
    );
    // Applying the diff as RFC 7386 gives `new` back.
    let mut applied = old.clone();
    merge(&mut applied, &diff);
    assert_eq!(applied, new);
}

#[test]
fn merge_diff_without_old_status_is_the_new_status() {
    let new = json!({"observedGeneration": 2});
    assert_eq!(merge_diff(None, &new), new);
    assert_eq!(merge_diff(Some(&json!("x")), &new), new);
}

fn merge(target: &mut Value, patch: &Value) {
    if let Value::Object(p) = patch {
        if !target.is_object() {
            *target = json!({});
        }
        if let Value::Object(t) = target {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
    } else {
        *target = patch.clone();
    }
}

fn entry(manager: &str, version: &str, subresource: Option<&str>) -> ManagedFieldsEntry {
    ManagedFieldsEntry {
        manager: Some(manager.into()),
        api_version: Some(version.into()),
        subresource: subresource.map(Into::into),
        ..Default::default()
    }
}

#[test]
fn written_version_comes_from_the_authors_managed_fields() {
    let mut meta = kube::api::ObjectMeta::default();
    assert_eq!(written_version(&meta), "image.toolkit.fluxcd.io/v1");
    meta.managed_fields = Some(vec![
        entry(
            "kubectl-client-side-apply",
            "image.toolkit.fluxcd.io/v1beta2",
            None,
        ),
        // Our own status writes say v1 and do not count.
        entry(FIELD_MANAGER, "image.toolkit.fluxcd.io/v1", Some("status")),
    ]);
    assert_eq!(written_version(&meta), "image.toolkit.fluxcd.io/v1beta2");
    meta.managed_fields = Some(vec![
        entry("kubectl", "image.toolkit.fluxcd.io/v1beta2", None),
        entry("flux", "image.toolkit.fluxcd.io/v1", None),
    ]);
    assert_eq!(written_version(&meta), "image.toolkit.fluxcd.io/v1");
}

/// Each kind reads the entries of its own group: a Kustomization applied
/// as v1beta2 says so, and one with no author's entry is its storage
/// version (not the image group's).
#[test]
fn written_version_is_of_the_kinds_group() {
    use ferroflux_api::kustomize::Kustomization;
    use ferroflux_controllers::kind::Kind;
    let info = <Kustomization as Kind>::INFO;
    let mut meta = kube::api::ObjectMeta::default();
    assert_eq!(
        written_version_of(&meta, &info),
        "kustomize.toolkit.fluxcd.io/v1"
    );
    meta.managed_fields = Some(vec![
        entry("kubectl", "kustomize.toolkit.fluxcd.io/v1beta2", None),
        entry("kubectl", "image.toolkit.fluxcd.io/v1beta2", None),
    ]);
    assert_eq!(
        written_version_of(&meta, &info),
        "kustomize.toolkit.fluxcd.io/v1beta2"
    );
}

#[test]
fn secret_data_decodes_data_and_string_data() {
    let s = Secret {
        data: Some(
            [("username".to_string(), ByteString(b"u".to_vec()))]
                .into_iter()
                .collect(),
        ),
        string_data: Some(
            [("password".to_string(), "p".to_string())]
                .into_iter()
                .collect(),
        ),
        ..Default::default()
    };
    let d = secret_data(&s);
    assert_eq!(d.get("username").map(Vec::as_slice), Some(&b"u"[..]));
    assert_eq!(d.get("password").map(Vec::as_slice), Some(&b"p"[..]));
}

#[test]
fn truncate_keeps_char_boundaries() {
    assert_eq!(truncate("héllo", 2), "h");
    assert_eq!(truncate("abc", 10), "abc");
}

/// An apiserver that accepts connections and never answers: the event task
/// hangs on its first Event, the queue fills, and what comes beyond it is
/// dropped (reported, never awaited by the reconcile).
#[tokio::test]
async fn events_beyond_the_queue_are_dropped_without_waiting() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let _hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((conn, _)) = listener.accept().await {
            open.push(conn);
        }
    });
    let config = kube::Config::new(format!("http://{addr}").parse().unwrap());
    let client = Client::try_from(config).unwrap();
    let cluster = Cluster::new(client, ClusterOptions::default());
    let object = ObjectReference {
        kind: Some("ImagePolicy".into()),
        namespace: Some("apps".into()),
        name: Some("app".into()),
        ..ObjectReference::default()
    };
    let event = status::Event {
        type_: EventType::Normal,
        reason: "Succeeded".into(),
        message: "Latest image tag resolved".into(),
    };
    let queued = (0..EVENT_QUEUE + 2)
        .filter(|_| cluster.event(&object, &event, "Reconcile"))
        .count();
    // One may be in the task's hands already; the rest fill the queue.
    assert!(
        (EVENT_QUEUE..=EVENT_QUEUE + 1).contains(&queued),
        "{queued}"
    );
    let trace = status::Event {
        type_: EventType::Trace,
        ..event
    };
    assert!(
        cluster.event(&object, &trace, "Reconcile"),
        "trace events are not queued"
    );
}

/// A watched object keeps the version its managed fields say, not the
/// managed fields themselves (nothing reads them; they were the largest
/// part of every held object).
#[test]
fn a_watched_object_is_held_without_its_managed_fields() {
    use ferroflux_api::kustomize::Kustomization;
    use ferroflux_controllers::kind::Kind;
    let info = <Kustomization as Kind>::INFO;
    let mut o = kube::api::DynamicObject::new("app", &api_resource(&info)).within("flux-system");
    o.metadata.managed_fields = Some(vec![entry(
        "kubectl",
        "kustomize.toolkit.fluxcd.io/v1beta2",
        None,
    )]);
    let Change::Object {
        key,
        object,
        version,
    } = wrap(&info, o)
    else {
        panic!("not an object change");
    };
    assert_eq!(key.name, "app");
    assert_eq!(version, "kustomize.toolkit.fluxcd.io/v1beta2");
    assert!(
        object["metadata"].get("managedFields").is_none(),
        "{object}"
    );
    assert_eq!(object["metadata"]["namespace"], "flux-system");
}

/// The Secret watch asks the apiserver to leave Helm's release records out
/// (a fake apiserver records the first request of the watch).
#[tokio::test]
async fn the_secret_watch_leaves_helm_release_records_out() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (seen_tx, mut seen_rx) = mpsc::channel::<String>(4);
    let _server = tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let mut buf = vec![0u8; 8192];
            let n = conn.read(&mut buf).await.unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]).to_string();
            let line = head.lines().next().unwrap_or_default().to_string();
            let _ = seen_tx.send(line).await;
            let _ = conn
                .write_all(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n")
                .await;
        }
    });
    let config = kube::Config::new(format!("http://{addr}").parse().unwrap());
    let client = Client::try_from(config).unwrap();
    let (tx, _rx) = mpsc::channel(4);
    spawn_secret_watch(&client, tx);
    let line = tokio::time::timeout(std::time::Duration::from_secs(10), seen_rx.recv())
        .await
        .expect("the watch sends a request")
        .unwrap();
    assert!(line.contains("/api/v1/secrets?"), "{line}");
    assert!(
        line.contains("fieldSelector=type%21%3Dhelm.sh%2Frelease.v1"),
        "{line}"
    );
}
