use std::time::Duration;

use serde_json::{Value, json};

use super::patch::{fields_v1, json_patch, merge, strip_directives};
use super::selector::Selector;
use super::store::rfc3339;
use super::{FakeApiServer, Options, discovery};

// ---------------------------------------------------------------- pure parts

#[test]
fn label_selectors() {
    let obj = json!({"metadata": {"labels": {"app": "web", "tier": "front", "n": "1"}}});
    let cases = [
        ("", true),
        ("app=web", true),
        ("app==web", true),
        ("app=api", false),
        ("app!=api", true),
        ("app!=web", false),
        ("missing!=x", true),
        ("tier in (front,back)", true),
        ("tier in (back)", false),
        ("tier notin (back, middle)", true),
        ("tier notin (front)", false),
        ("missing notin (front)", true),
        ("app", true),
        ("missing", false),
        ("!missing", true),
        ("!app", false),
        ("app=web,tier in (front),!missing", true),
        ("app=web,tier in (back)", false),
    ];
    for (sel, want) in cases {
        let s = Selector::parse(sel).expect(sel);
        assert_eq!(s.matches_labels(&obj), want, "{sel}");
    }
    assert!(Selector::parse("tier in front").is_err());
}

#[test]
fn field_selectors() {
    let obj =
        json!({"metadata": {"name": "a", "namespace": "ns"}, "involvedObject": {"kind": "Pod"}});
    let cases = [
        ("metadata.name=a", true),
        ("metadata.name=b", false),
        ("metadata.namespace!=ns", false),
        ("involvedObject.kind=Pod,metadata.name=a", true),
    ];
    for (sel, want) in cases {
        assert_eq!(
            Selector::parse(sel).expect(sel).matches_fields(&obj),
            want,
            "{sel}"
        );
    }
}

#[test]
fn merge_patches() {
    let cases = [
        (
            json!({"a": 1, "b": {"c": 2}}),
            json!({"b": {"c": 3}}),
            json!({"a": 1, "b": {"c": 3}}),
        ),
        (json!({"a": 1, "b": 2}), json!({"a": null}), json!({"b": 2})),
        (json!({"l": [1, 2]}), json!({"l": [3]}), json!({"l": [3]})),
        (
            json!({"a": "x"}),
            json!({"a": {"b": 1}}),
            json!({"a": {"b": 1}}),
        ),
    ];
    for (mut doc, p, want) in cases {
        merge(&mut doc, &p);
        assert_eq!(doc, want);
    }
}

#[test]
fn strategic_directives_are_dropped() {
    let mut p = json!({"spec": {"$setElementOrder/containers": [{"name": "a"}], "containers": [{"name": "a", "$patch": "replace"}]}});
    strip_directives(&mut p);
    assert_eq!(p, json!({"spec": {"containers": [{"name": "a"}]}}));
}

#[test]
fn json_patches() {
    let doc = json!({"a": {"b": [1, 2]}, "c": "x"});
    let ok = [
        (
            json!([{"op": "add", "path": "/a/b/-", "value": 3}]),
            json!({"a": {"b": [1, 2, 3]}, "c": "x"}),
        ),
        (
            json!([{"op": "add", "path": "/a/b/0", "value": 0}]),
            json!({"a": {"b": [0, 1, 2]}, "c": "x"}),
        ),
        (
            json!([{"op": "remove", "path": "/c"}]),
            json!({"a": {"b": [1, 2]}}),
        ),
        (
            json!([{"op": "replace", "path": "/c", "value": "y"}]),
            json!({"a": {"b": [1, 2]}, "c": "y"}),
        ),
        (
            json!([{"op": "move", "from": "/c", "path": "/d"}]),
            json!({"a": {"b": [1, 2]}, "d": "x"}),
        ),
        (
            json!([{"op": "copy", "from": "/c", "path": "/a/e"}]),
            json!({"a": {"b": [1, 2], "e": "x"}, "c": "x"}),
        ),
        (
            json!([{"op": "test", "path": "/c", "value": "x"}, {"op": "add", "path": "/a~1b", "value": 1}]),
            json!({"a": {"b": [1, 2]}, "c": "x", "a/b": 1}),
        ),
    ];
    for (ops, want) in ok {
        assert_eq!(json_patch(&doc, &ops).expect("patch"), want, "{ops}");
    }
    let bad = [
        json!([{"op": "replace", "path": "/nope", "value": 1}]),
        json!([{"op": "test", "path": "/c", "value": "z"}]),
        json!([{"op": "remove", "path": "/a/b/5"}]),
        json!([{"op": "frobnicate", "path": "/c"}]),
    ];
    for ops in bad {
        assert!(json_patch(&doc, &ops).is_err(), "{ops}");
    }
}

#[test]
fn fields_v1_sets_name_every_applied_key() {
    let applied = json!({"apiVersion": "v1", "kind": "X", "metadata": {"labels": {"a": "1"}}, "spec": {"l": [1], "s": "x"}});
    assert_eq!(
        fields_v1(&applied),
        json!({"f:metadata": {"f:labels": {"f:a": {}}}, "f:spec": {"f:l": {}, "f:s": {}}})
    );
}

#[test]
fn timestamps_are_rfc3339_utc() {
    let cases = [
        (0, "1970-01-01T00:00:00Z"),
        (951_782_400, "2000-02-29T00:00:00Z"),
        (1_700_000_000, "2023-11-14T22:13:20Z"),
        (4_102_444_799, "2099-12-31T23:59:59Z"),
    ];
    for (secs, want) in cases {
        assert_eq!(rfc3339(secs), want);
    }
}

#[test]
fn printer_column_json_paths() {
    let obj = json!({"status": {"conditions": [
        {"type": "Reconciling", "status": "False"},
        {"type": "Ready", "status": "True", "message": "ok"}
    ], "latestRef": {"tag": "1.2.3"}, "n": [5, 6]}});
    let cases = [
        (".status.latestRef.tag", Some(json!("1.2.3"))),
        (
            ".status.conditions[?(@.type==\"Ready\")].status",
            Some(json!("True")),
        ),
        (
            ".status.conditions[?(@.type==\"Ready\")].message",
            Some(json!("ok")),
        ),
        (".status.conditions[?(@.type==\"Stalled\")].status", None),
        (".status.n[1]", Some(json!(6))),
        ("{.status.latestRef.tag}", Some(json!("1.2.3"))),
        (".status.missing", None),
    ];
    for (path, want) in cases {
        assert_eq!(
            discovery::json_path(&obj, path).first().cloned().cloned(),
            want,
            "{path}"
        );
    }
}

#[test]
fn ages_read_like_kubectl() {
    let cases = [
        (5, "5s"),
        (119, "119s"),
        (150, "2m30s"),
        (600, "10m"),
        (3 * 3600 + 5 * 60, "3h5m"),
        (30 * 3600, "30h"),
        (3 * 86_400 + 2 * 3600, "3d2h"),
        (40 * 86_400, "40d"),
    ];
    for (secs, want) in cases {
        assert_eq!(discovery::human_age(secs), want, "{secs}");
    }
    for secs in [0, 951_782_400, 1_700_000_000] {
        assert_eq!(discovery::parse_rfc3339(&rfc3339(secs)), Some(secs));
    }
}

#[test]
fn versions_sort_by_kubernetes_priority() {
    let mut vs = vec!["v1alpha1", "v1beta1", "v2", "v1", "v1beta2", "v10"];
    vs.sort_by(|a, b| discovery::version_priority(a, b));
    assert_eq!(vs, ["v10", "v2", "v1", "v1beta2", "v1beta1", "v1alpha1"]);
}

// ---------------------------------------------------------------- over HTTP

fn http() -> reqwest::Client {
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("tls versions")
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .expect("http client")
}

struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    fn new(server: &FakeApiServer) -> Api {
        Api {
            base: server.url(),
            http: http(),
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        ct: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.header("content-type", ct).body(b.to_string());
        }
        let resp = req.send().await.expect("request");
        let code = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        (
            code,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, "", None).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, "application/json", Some(&body))
            .await
    }

    async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::PUT, path, "application/json", Some(&body))
            .await
    }

    async fn patch(&self, path: &str, ct: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::PATCH, path, ct, Some(&body))
            .await
    }

    async fn delete(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::DELETE, path, "", None).await
    }
}

fn widget_crd() -> Value {
    let schema = json!({"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}});
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "shortNames": ["wd"], "categories": ["all"]},
            "scope": "Namespaced",
            "versions": [
                {"name": "v1", "served": true, "storage": true, "schema": schema,
                 "subresources": {"status": {}},
                 "additionalPrinterColumns": [{"name": "Size", "type": "string", "jsonPath": ".spec.size"}]},
                {"name": "v1beta1", "served": true, "storage": false, "schema": schema,
                 "deprecated": true, "deprecationWarning": "v1beta1 Widget is deprecated, upgrade to v1",
                 "subresources": {"status": {}}},
            ]
        }
    })
}

const WIDGETS: &str = "/apis/example.com/v1/namespaces/default/widgets";

async fn with_widgets() -> (FakeApiServer, Api) {
    let server = FakeApiServer::start().await;
    let api = Api::new(&server);
    let (code, crd) = api
        .post(
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            widget_crd(),
        )
        .await;
    assert_eq!(code, 201, "{crd}");
    assert_eq!(crd["status"]["conditions"][1]["type"], "Established");
    (server, api)
}

fn widget(name: &str, size: &str) -> Value {
    json!({"apiVersion": "example.com/v1", "kind": "Widget",
           "metadata": {"name": name, "labels": {"size": size}}, "spec": {"size": size}})
}

#[tokio::test]
async fn discovery_lists_builtins_and_registered_crds() {
    let (server, api) = with_widgets().await;
    let (_, core) = api.get("/api/v1").await;
    let names: Vec<&str> = core["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    for want in ["namespaces", "secrets", "events", "configmaps"] {
        assert!(names.contains(&want), "{want} in {names:?}");
    }
    let (_, groups) = api.get("/apis").await;
    let widget_group = groups["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["name"] == "example.com")
        .expect("example.com registered")
        .clone();
    assert_eq!(widget_group["preferredVersion"]["version"], "v1");
    assert_eq!(widget_group["versions"].as_array().map(Vec::len), Some(2));
    let (code, list) = api.get("/apis/example.com/v1").await;
    assert_eq!(code, 200);
    assert_eq!(list["resources"][0]["shortNames"], json!(["wd"]));
    assert_eq!(list["resources"][1]["name"], "widgets/status");
    assert!(
        groups["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .any(|g| g["name"] == "coordination.k8s.io")
    );
    let (code, version) = api.get("/version").await;
    assert_eq!(
        (code, version["gitVersion"].as_str()),
        (200, Some("v1.32.3"))
    );
    let (_, root) = api.get("/openapi/v3").await;
    let url = root["paths"]["apis/example.com/v1"]["serverRelativeURL"]
        .as_str()
        .expect("gv url")
        .to_string();
    let (code, doc) = api.get(&url).await;
    assert_eq!(code, 200);
    let path = &doc["paths"]["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}"];
    assert_eq!(
        path["patch"]["x-kubernetes-group-version-kind"]["kind"],
        "Widget"
    );
    assert_eq!(path["parameters"][0]["name"], "fieldValidation");
    assert_eq!(api.get("/apis/nope.example.com/v1").await.0, 404);
    drop(server);
}

#[tokio::test]
async fn crud_with_resource_versions_generation_and_status_subresource() {
    let (_server, api) = with_widgets().await;
    let (code, w) = api.post(WIDGETS, widget("a", "s")).await;
    assert_eq!(code, 201, "{w}");
    assert_eq!(w["metadata"]["generation"], 1);
    assert_eq!(w["metadata"]["namespace"], "default");
    assert!(w["metadata"]["uid"].as_str().is_some_and(|u| u.len() == 36));
    assert!(
        w["metadata"]["creationTimestamp"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    let rv1: u64 = w["metadata"]["resourceVersion"]
        .as_str()
        .expect("rv")
        .parse()
        .expect("number");

    let (code, dup) = api.post(WIDGETS, widget("a", "s")).await;
    assert_eq!((code, dup["reason"].as_str()), (409, Some("AlreadyExists")));

    let (code, missing) = api.get(&format!("{WIDGETS}/nope")).await;
    assert_eq!(code, 404);
    assert_eq!(missing["kind"], "Status");
    assert_eq!(missing["reason"], "NotFound");
    assert_eq!(missing["message"], "widgets.example.com \"nope\" not found");
    assert_eq!(missing["details"]["name"], "nope");

    let (code, _) = api
        .post(
            "/apis/example.com/v1/namespaces/nowhere/widgets",
            widget("b", "s"),
        )
        .await;
    assert_eq!(code, 404);

    // Spec change bumps generation; status on the main resource is ignored.
    let mut changed = w.clone();
    changed["spec"]["size"] = json!("m");
    changed["status"] = json!({"ready": true});
    let (code, w2) = api.put(&format!("{WIDGETS}/a"), changed.clone()).await;
    assert_eq!(code, 200, "{w2}");
    assert_eq!(w2["metadata"]["generation"], 2);
    assert!(w2["status"].is_null());
    let rv2: u64 = w2["metadata"]["resourceVersion"]
        .as_str()
        .expect("rv")
        .parse()
        .expect("number");
    assert!(rv2 > rv1);

    // A stale resourceVersion is a conflict.
    let (code, conflict) = api.put(&format!("{WIDGETS}/a"), changed).await;
    assert_eq!((code, conflict["reason"].as_str()), (409, Some("Conflict")));

    // The status subresource takes status only.
    let mut st = w2.clone();
    st["spec"]["size"] = json!("xl");
    st["status"] = json!({"ready": true});
    let (code, w3) = api.put(&format!("{WIDGETS}/a/status"), st).await;
    assert_eq!(code, 200, "{w3}");
    assert_eq!(w3["status"]["ready"], true);
    assert_eq!(w3["spec"]["size"], "m");
    assert_eq!(w3["metadata"]["generation"], 2);

    // A no-op update keeps the resourceVersion.
    let (_, w4) = api.put(&format!("{WIDGETS}/a"), w3.clone()).await;
    assert_eq!(
        w4["metadata"]["resourceVersion"],
        w3["metadata"]["resourceVersion"]
    );

    // Served at the deprecated version too, with a warning.
    let resp = http()
        .get(format!(
            "{}/apis/example.com/v1beta1/namespaces/default/widgets/a",
            api.base
        ))
        .send()
        .await
        .expect("get v1beta1");
    let warning = resp
        .headers()
        .get("warning")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        warning.contains("v1beta1 Widget is deprecated"),
        "{warning}"
    );
    let v1beta1: Value = serde_json::from_str(&resp.text().await.expect("body")).expect("json");
    assert_eq!(v1beta1["apiVersion"], "example.com/v1beta1");

    let (code, gone) = api.delete(&format!("{WIDGETS}/a")).await;
    assert_eq!((code, gone["metadata"]["name"].as_str()), (200, Some("a")));
    assert_eq!(api.get(&format!("{WIDGETS}/a")).await.0, 404);
}

#[tokio::test]
async fn patches_merge_json_strategic_and_apply() {
    let (_server, api) = with_widgets().await;
    api.post(WIDGETS, widget("p", "s")).await;
    let url = format!("{WIDGETS}/p");
    let (code, w) = api
        .patch(
            &url,
            "application/merge-patch+json",
            json!({"spec": {"color": "red"}}),
        )
        .await;
    assert_eq!(code, 200, "{w}");
    assert_eq!(
        (w["spec"]["color"].as_str(), w["spec"]["size"].as_str()),
        (Some("red"), Some("s"))
    );
    let (code, w) = api
        .patch(
            &url,
            "application/json-patch+json",
            json!([{"op": "replace", "path": "/spec/size", "value": "l"}]),
        )
        .await;
    assert_eq!((code, w["spec"]["size"].as_str()), (200, Some("l")));
    let (code, w) = api
        .patch(
            &url,
            "application/strategic-merge-patch+json",
            json!({"spec": {"$retainKeys": ["size"], "size": "xl"}}),
        )
        .await;
    assert_eq!((code, w["spec"]["size"].as_str()), (200, Some("xl")));
    assert!(w["spec"].get("$retainKeys").is_none());
    let (code, bad) = api
        .patch(
            &url,
            "application/json-patch+json",
            json!([{"op": "test", "path": "/spec/size", "value": "s"}]),
        )
        .await;
    assert_eq!(code, 422, "{bad}");
    let (code, _) = api.patch(&url, "text/plain", json!({})).await;
    assert_eq!(code, 415);
    // Status patch through the subresource; spec in it is ignored.
    let (code, w) = api
        .patch(
            &format!("{url}/status"),
            "application/merge-patch+json",
            json!({"spec": {"size": "no"}, "status": {"phase": "ok"}}),
        )
        .await;
    assert_eq!(
        (
            code,
            w["status"]["phase"].as_str(),
            w["spec"]["size"].as_str()
        ),
        (200, Some("ok"), Some("xl"))
    );

    // Server-side apply creates, then merges, and records the manager.
    let apply_url = format!("{WIDGETS}/applied?fieldManager=ferroflux&force=true");
    let (code, w) = api
        .patch(&apply_url, "application/apply-patch+yaml", json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "applied"}, "spec": {"size": "s"}}))
        .await;
    assert_eq!(code, 201, "{w}");
    let (code, w) = api
        .patch(&apply_url, "application/apply-patch+yaml", json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "applied"}, "spec": {"color": "blue"}}))
        .await;
    assert_eq!(code, 200, "{w}");
    assert_eq!(
        (w["spec"]["size"].as_str(), w["spec"]["color"].as_str()),
        (Some("s"), Some("blue"))
    );
    let managers: Vec<(&str, &str)> = w["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields")
        .iter()
        .map(|m| {
            (
                m["manager"].as_str().unwrap_or_default(),
                m["operation"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert!(managers.contains(&("ferroflux", "Apply")), "{managers:?}");
    let mine = w["metadata"]["managedFields"]
        .as_array()
        .expect("mf")
        .iter()
        .find(|m| m["manager"] == "ferroflux")
        .expect("entry")
        .clone();
    assert_eq!(mine["fieldsV1"]["f:spec"], json!({"f:color": {}}));
    // YAML bodies are accepted for apply.
    let resp = http()
        .patch(format!("{}{WIDGETS}/yaml?fieldManager=kubectl", api.base))
        .header("content-type", "application/apply-patch+yaml")
        .body(
            "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: yaml\nspec:\n  size: m\n",
        )
        .send()
        .await
        .expect("apply yaml");
    assert_eq!(resp.status().as_u16(), 201);
    // Plain patches on a missing object are 404.
    assert_eq!(
        api.patch(
            &format!("{WIDGETS}/ghost"),
            "application/merge-patch+json",
            json!({})
        )
        .await
        .0,
        404
    );
}

#[tokio::test]
async fn lists_filter_by_labels_and_fields() {
    let (_server, api) = with_widgets().await;
    for (n, s) in [("a", "s"), ("b", "m"), ("c", "l")] {
        api.post(WIDGETS, widget(n, s)).await;
    }
    let cases = [
        ("", vec!["a", "b", "c"]),
        ("?labelSelector=size%3Dm", vec!["b"]),
        ("?labelSelector=size%21%3Dm", vec!["a", "c"]),
        ("?labelSelector=size+in+%28s%2Cl%29", vec!["a", "c"]),
        ("?labelSelector=size%20notin%20(s)", vec!["b", "c"]),
        ("?labelSelector=size", vec!["a", "b", "c"]),
        ("?labelSelector=%21size", vec![]),
        ("?fieldSelector=metadata.name%3Dc", vec!["c"]),
    ];
    for (q, want) in cases {
        let (code, list) = api.get(&format!("{WIDGETS}{q}")).await;
        assert_eq!(code, 200, "{q}: {list}");
        assert_eq!(list["kind"], "WidgetList");
        let names: Vec<&str> = list["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|i| i["metadata"]["name"].as_str())
            .collect();
        assert_eq!(names, want, "{q}");
    }
    // All namespaces.
    let (_, all) = api.get("/apis/example.com/v1/widgets").await;
    assert_eq!(all["items"].as_array().map(Vec::len), Some(3));
    // Tables carry the printer columns.
    let resp = http()
        .get(format!("{}{WIDGETS}", api.base))
        .header(
            "accept",
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
        )
        .send()
        .await
        .expect("table");
    let table: Value = serde_json::from_str(&resp.text().await.expect("body")).expect("json");
    assert_eq!(table["kind"], "Table");
    let cols: Vec<&str> = table["columnDefinitions"]
        .as_array()
        .expect("cols")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(cols, ["Name", "Size"]);
    assert_eq!(table["rows"][1]["cells"], json!(["b", "m"]));
    assert_eq!(table["rows"][1]["object"]["metadata"]["name"], "b");
}

#[tokio::test]
async fn finalizers_hold_deletion_until_removed() {
    let (_server, api) = with_widgets().await;
    let mut w = widget("f", "s");
    w["metadata"]["finalizers"] = json!(["example.com/cleanup"]);
    api.post(WIDGETS, w).await;
    let url = format!("{WIDGETS}/f");
    let (code, held) = api.delete(&url).await;
    assert_eq!(code, 200);
    assert!(held["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(api.get(&url).await.0, 200);
    let (code, _) = api
        .patch(
            &url,
            "application/merge-patch+json",
            json!({"metadata": {"finalizers": null}}),
        )
        .await;
    assert_eq!(code, 200);
    assert_eq!(api.get(&url).await.0, 404);
}

async fn read_events(resp: reqwest::Response, n: usize) -> Vec<Value> {
    let mut resp = resp;
    let mut buf = String::new();
    let mut out = Vec::new();
    while out.len() < n {
        let chunk = tokio::time::timeout(Duration::from_secs(10), resp.chunk())
            .await
            .expect("watch event within 10s")
            .expect("chunk");
        let Some(chunk) = chunk else { break };
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(i) = buf.find('\n') {
            let line: String = buf.drain(..=i).collect();
            out.push(serde_json::from_str(line.trim()).expect("event json"));
        }
    }
    out
}

fn summary(events: &[Value]) -> Vec<(String, String)> {
    events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap_or_default().to_string(),
                e["object"]["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn watch_streams_events_from_a_resource_version() {
    let (_server, api) = with_widgets().await;
    api.post(WIDGETS, widget("before", "s")).await;
    let (_, list) = api.get(WIDGETS).await;
    let rv = list["metadata"]["resourceVersion"]
        .as_str()
        .expect("rv")
        .to_string();
    let watch = http()
        .get(format!(
            "{}{WIDGETS}?watch=1&resourceVersion={rv}&labelSelector=size%3Ds",
            api.base
        ))
        .send()
        .await
        .expect("watch");
    assert_eq!(watch.status().as_u16(), 200);
    api.post(WIDGETS, widget("w", "s")).await;
    api.post(WIDGETS, widget("other", "m")).await;
    api.patch(
        &format!("{WIDGETS}/w"),
        "application/merge-patch+json",
        json!({"spec": {"x": 1}}),
    )
    .await;
    api.delete(&format!("{WIDGETS}/w")).await;
    let events = read_events(watch, 3).await;
    let want: Vec<(String, String)> = [("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w")]
        .iter()
        .map(|(t, n)| (t.to_string(), n.to_string()))
        .collect();
    assert_eq!(summary(&events), want);
    let rvs: Vec<u64> = events
        .iter()
        .map(|e| {
            e["object"]["metadata"]["resourceVersion"]
                .as_str()
                .expect("rv")
                .parse()
                .expect("n")
        })
        .collect();
    assert!(rvs.windows(2).all(|w| w[0] < w[1]), "{rvs:?}");
    assert!(rvs[0] > rv.parse::<u64>().expect("n"));

    // From resourceVersion 0: the current state as ADDED first.
    let watch = http()
        .get(format!("{}{WIDGETS}?watch=true", api.base))
        .send()
        .await
        .expect("watch");
    let events = read_events(watch, 2).await;
    assert_eq!(
        summary(&events),
        [
            ("ADDED".to_string(), "before".to_string()),
            ("ADDED".to_string(), "other".to_string())
        ]
    );
}

#[tokio::test]
async fn watch_sends_bookmarks_when_asked() {
    let server = FakeApiServer::start_with(Options {
        bookmark_interval: Duration::from_millis(100),
        ..Options::default()
    })
    .await
    .expect("start");
    let api = Api::new(&server);
    api.post(
        "/api/v1/namespaces/default/configmaps",
        json!({"metadata": {"name": "cm"}, "data": {"a": "1"}}),
    )
    .await;
    let watch = http()
        .get(format!("{}/api/v1/namespaces/default/configmaps?watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan", api.base))
        .send()
        .await
        .expect("watch");
    let events = read_events(watch, 3).await;
    assert_eq!(events[0]["type"], "ADDED");
    assert_eq!(events[1]["type"], "BOOKMARK");
    assert_eq!(
        events[1]["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    assert_eq!(events[2]["type"], "BOOKMARK");
    // timeoutSeconds ends the stream.
    let watch = http()
        .get(format!(
            "{}/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1&resourceVersion={}",
            api.base,
            server.resource_version()
        ))
        .send()
        .await
        .expect("watch");
    let body = tokio::time::timeout(Duration::from_secs(10), watch.text())
        .await
        .expect("stream ends")
        .expect("body");
    assert_eq!(body, "");
}

#[test]
fn runs_in_a_thread_and_writes_a_kubeconfig() {
    let server = FakeApiServer::start_in_thread(Options::default()).expect("start");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kubeconfig");
    server.write_kubeconfig(&path).expect("write");
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(
        text.contains(&format!("server: {}", server.url())),
        "{text}"
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let code = rt.block_on(async {
        http()
            .get(format!("{}/api", server.url()))
            .send()
            .await
            .expect("get")
            .status()
            .as_u16()
    });
    assert_eq!(code, 200);
}

#[tokio::test]
async fn faults_answer_instead_of_the_store() {
    let server = FakeApiServer::start_with(Options {
        faults: vec![super::Fault {
            method: "GET".into(),
            path: "/api/v1/namespaces/default/configmaps".into(),
            status: 503,
            message: "etcdserver: leader changed".into(),
        }],
        ..Options::default()
    })
    .await
    .expect("start");
    let api = Api::new(&server);
    let (code, body) = api.get("/api/v1/namespaces/default/configmaps").await;
    assert_eq!(code, 503);
    assert_eq!(body["kind"], "Status");
    assert_eq!(body["code"], 503);
    assert_eq!(body["message"], "etcdserver: leader changed");
    // Another method on the same path, and other paths, are served.
    let (code, _) = api
        .post(
            "/api/v1/namespaces/default/configmaps",
            json!({"metadata": {"name": "cm"}}),
        )
        .await;
    assert_eq!(code, 201);
    let (code, _) = api.get("/api/v1/namespaces/default/configmaps/cm").await;
    assert_eq!(code, 200);
}
