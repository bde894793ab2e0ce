//! `.Capabilities.APIVersions` as Helm's `GetVersionSet` builds it: every
//! served `group/version`, and `group/version/Kind` for every resource and
//! subresource the server lists (a subresource under its response kind:
//! `apps/v1/Scale`, `policy/v1/Eviction`).
//!
//! client-go asks for the aggregated discovery document first (Kubernetes
//! 1.26 and later: `/api` and `/apis` in two requests, stale versions left
//! out); an older server answers with the legacy group lists, and then
//! every group version is read on its own, all at once, a version that
//! fails being left out as Helm tolerates `ErrGroupDiscoveryFailed`.

use futures_util::future::join_all;
use kube::Client;
use kube::core::discovery::v2::ACCEPT_AGGREGATED_DISCOVERY_V2;
use serde_json::Value;

/// The sorted, deduplicated version set of the cluster behind `client`.
pub async fn version_set(client: &Client) -> Result<Vec<String>, kube::Error> {
    read(client, ACCEPT_AGGREGATED_DISCOVERY_V2).await
}

/// The same set read through the legacy documents only (one request per
/// group version), as from a server without aggregated discovery.
pub async fn version_set_legacy(client: &Client) -> Result<Vec<String>, kube::Error> {
    read(client, "application/json").await
}

async fn read(client: &Client, accept: &str) -> Result<Vec<String>, kube::Error> {
    let (core, apis) = futures_util::future::try_join(
        get_json(client, "/api", accept),
        get_json(client, "/apis", accept),
    )
    .await?;
    let mut set = Vec::new();
    if aggregated(&core) && aggregated(&apis) {
        from_aggregated(&core, &mut set);
        from_aggregated(&apis, &mut set);
    } else {
        legacy(client, &core, &apis, &mut set).await;
    }
    set.sort();
    set.dedup();
    Ok(set)
}

async fn get_json(client: &Client, path: &str, accept: &str) -> Result<Value, kube::Error> {
    let req = http::Request::get(path)
        .header(http::header::ACCEPT, accept)
        .body(Vec::new())
        .map_err(kube::Error::HttpError)?;
    client.request::<Value>(req).await
}

fn aggregated(doc: &Value) -> bool {
    doc["kind"] == "APIGroupDiscoveryList"
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_default()
}

fn group_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

/// client-go's `SplitGroupsAndResources` then Helm's set: stale versions
/// skipped, a resource or subresource without a response kind skipped.
fn from_aggregated(doc: &Value, set: &mut Vec<String>) {
    let empty = Vec::new();
    for g in doc["items"].as_array().unwrap_or(&empty) {
        let group = str_of(&g["metadata"], "name");
        for v in g["versions"].as_array().unwrap_or(&empty) {
            if str_of(v, "freshness") == "Stale" {
                continue;
            }
            let gv = group_version(group, str_of(v, "version"));
            for r in v["resources"].as_array().unwrap_or(&empty) {
                let subresources = r["subresources"].as_array().unwrap_or(&empty);
                for kind_of in std::iter::once(r).chain(subresources) {
                    let kind = str_of(&kind_of["responseKind"], "kind");
                    if !kind.is_empty() {
                        set.push(format!("{gv}/{kind}"));
                    }
                }
            }
            set.push(gv);
        }
    }
}

/// The legacy documents: `/api`'s versions and `/apis`' groups, then each
/// group version's resource list (subresources are in it, `name/sub`); a
/// group version that cannot be read is left out.
async fn legacy(client: &Client, core: &Value, apis: &Value, set: &mut Vec<String>) {
    let empty = Vec::new();
    let mut gvs: Vec<String> = core["versions"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    for g in apis["groups"].as_array().unwrap_or(&empty) {
        for v in g["versions"].as_array().unwrap_or(&empty) {
            gvs.push(str_of(v, "groupVersion").to_string());
        }
    }
    let lists = join_all(gvs.iter().map(|gv| {
        let path = if gv.contains('/') {
            format!("/apis/{gv}")
        } else {
            format!("/api/{gv}")
        };
        async move { get_json(client, &path, "application/json").await }
    }))
    .await;
    for (gv, list) in gvs.into_iter().zip(lists) {
        match list {
            Ok(list) => {
                for r in list["resources"].as_array().unwrap_or(&empty) {
                    let kind = str_of(r, "kind");
                    if !kind.is_empty() {
                        set.push(format!("{gv}/{kind}"));
                    }
                }
            }
            Err(e) => tracing::debug!(group_version = %gv, "discovery failed, left out: {e}"),
        }
        set.push(gv);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn aggregated_documents_give_helms_set() {
        let apis = json!({"kind": "APIGroupDiscoveryList", "items": [
            {"metadata": {"name": "apps"}, "versions": [
                {"version": "v1", "resources": [
                    {"resource": "deployments", "responseKind": {"group": "apps", "version": "v1", "kind": "Deployment"},
                     "subresources": [
                        {"subresource": "scale", "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"}},
                        {"subresource": "status", "responseKind": {"group": "apps", "version": "v1", "kind": "Deployment"}},
                        {"subresource": "nokind"}]},
                    {"resource": "broken"}]},
                {"version": "v1beta9", "freshness": "Stale", "resources": [
                    {"resource": "olds", "responseKind": {"kind": "Old"}}]}]}]});
        let core = json!({"kind": "APIGroupDiscoveryList", "items": [
            {"metadata": {}, "versions": [{"version": "v1", "resources": [
                {"resource": "pods", "responseKind": {"kind": "Pod"},
                 "subresources": [{"subresource": "eviction", "responseKind": {"group": "policy", "version": "v1", "kind": "Eviction"}}]}]}]}]});
        assert!(aggregated(&apis) && aggregated(&core));
        let mut set = Vec::new();
        from_aggregated(&core, &mut set);
        from_aggregated(&apis, &mut set);
        set.sort();
        set.dedup();
        // The subresource's kind sits under its parent's group version, as
        // in client-go's converted resource list.
        assert_eq!(
            set,
            [
                "apps/v1",
                "apps/v1/Deployment",
                "apps/v1/Scale",
                "v1",
                "v1/Eviction",
                "v1/Pod"
            ]
        );
    }

    /// A server without aggregated discovery, one of whose group versions
    /// fails: the others' kinds are read, the failing one is listed
    /// without kinds (Helm tolerates `ErrGroupDiscoveryFailed`); a failed
    /// root document is an error.
    #[tokio::test]
    async fn legacy_discovery_leaves_a_failing_group_version_without_kinds() {
        use ferroflux_testkit::scripted::Scripted;
        let server = Scripted::start(std::time::Duration::ZERO, |request| {
            let body = match request.split(' ').nth(1).unwrap_or_default() {
                "/api" => r#"{"kind":"APIVersions","versions":["v1"]}"#,
                "/apis" => {
                    r#"{"kind":"APIGroupList","groups":[{"name":"apps","versions":[{"groupVersion":"apps/v1","version":"v1"}]},{"name":"broken.example","versions":[{"groupVersion":"broken.example/v1","version":"v1"}]}]}"#
                }
                "/api/v1" => {
                    r#"{"kind":"APIResourceList","groupVersion":"v1","resources":[{"name":"pods","kind":"Pod"},{"name":"pods/eviction","kind":"Eviction"}]}"#
                }
                "/apis/apps/v1" => {
                    r#"{"kind":"APIResourceList","groupVersion":"apps/v1","resources":[{"name":"deployments","kind":"Deployment"}]}"#
                }
                _ => return (500, r#"{"kind":"Status","code":500}"#.to_string()),
            };
            (200, body.to_string())
        })
        .await;
        let config = kube::Config::new(server.url().parse().expect("url"));
        let client = Client::try_from(config).expect("client");
        let set = version_set(&client).await.expect("version set");
        assert_eq!(
            set,
            [
                "apps/v1",
                "apps/v1/Deployment",
                "broken.example/v1",
                "v1",
                "v1/Eviction",
                "v1/Pod"
            ]
        );

        let down = Scripted::start(std::time::Duration::ZERO, |_| {
            (500, r#"{"kind":"Status","code":500}"#.to_string())
        })
        .await;
        let config = kube::Config::new(down.url().parse().expect("url"));
        let client = Client::try_from(config).expect("client");
        assert!(version_set(&client).await.is_err());
    }

    #[test]
    fn a_legacy_document_is_not_taken_for_an_aggregated_one() {
        assert!(!aggregated(&json!({"kind": "APIGroupList", "groups": []})));
        assert!(!aggregated(
            &json!({"kind": "APIVersions", "versions": ["v1"]})
        ));
    }
}
