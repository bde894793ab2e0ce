//! The chart's `lookup` against the cluster (Helm's engine with a
//! client), and the render on a thread of its own: the template engine
//! needs a big stack and is not `Send`, so it runs on a std thread and
//! reaches the cluster by blocking on the action's tokio runtime.

use std::rc::Rc;

use ferroflux_helm::chart::Chart;
use ferroflux_helm::funcs::Lookup;
use ferroflux_helm::{RenderOptions, render};
use kube::Client;
use kube::api::{Api, DynamicObject, GroupVersionKind, ListParams};
use kube::discovery::Scope;
use serde_json::{Map, Value};
use tokio::runtime::Handle;

use crate::inventory;

/// Most objects one `lookup` list returns (a list of every Secret of a
/// big cluster would otherwise fill the render's memory).
pub const MAX_LOOKUP_ITEMS: u32 = 10_000;

/// `lookup` over a kube client, blocking on `handle`.
pub struct ClusterLookup {
    pub client: Client,
    pub handle: Handle,
}

impl Lookup for ClusterLookup {
    fn lookup(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Value, String> {
        self.handle
            .block_on(lookup(&self.client, api_version, kind, namespace, name))
    }
}

/// Helm's `lookup`: the object, `{}` when it (or its kind) is missing, or
/// `{"items": [...]}` without a name.
pub async fn lookup(
    client: &Client,
    api_version: &str,
    kind: &str,
    namespace: &str,
    name: &str,
) -> Result<Value, String> {
    let empty = || Value::Object(Map::new());
    let gvk = GroupVersionKind::gvk(
        inventory::group_of(api_version),
        inventory::version_of(api_version),
        kind,
    );
    let (ar, caps) = match kube::discovery::pinned_kind(client, &gvk).await {
        Ok(found) => found,
        Err(kube::Error::Api(s)) if s.code == 404 => return Ok(empty()),
        Err(e) => {
            return Err(format!(
                "unable to get apiresource from unstructured: {api_version}, Kind={kind}: {e}"
            ));
        }
    };
    let api: Api<DynamicObject> = match caps.scope {
        Scope::Namespaced if !namespace.is_empty() => {
            Api::namespaced_with(client.clone(), namespace, &ar)
        }
        _ => Api::all_with(client.clone(), &ar),
    };
    if name.is_empty() {
        let list = api
            .list(&ListParams::default().limit(MAX_LOOKUP_ITEMS))
            .await
            .map_err(|e| e.to_string())?;
        let items: Vec<Value> = list
            .items
            .iter()
            .filter_map(|o| serde_json::to_value(o).ok())
            .collect();
        return Ok(serde_json::json!({
            "apiVersion": "v1", "kind": "List", "items": items,
        }));
    }
    match api.get_opt(name).await {
        Ok(Some(o)) => serde_json::to_value(o).map_err(|e| e.to_string()),
        Ok(None) => Ok(empty()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(empty()),
        Err(e) => Err(e.to_string()),
    }
}

/// What `now` returns in templates: the system clock, in UTC.
pub fn template_now() -> ferroflux_template::Timestamp {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    ferroflux_template::Timestamp {
        unix_secs: i64::try_from(now.as_secs()).unwrap_or(i64::MAX),
        nanos: now.subsec_nanos(),
        offset_secs: 0,
        zone: "UTC".to_string(),
    }
}

/// Renders on a std thread with the engine's stack, `lookup` reaching the
/// cluster through `client`; awaited without blocking the runtime.
pub async fn render_with_cluster(
    client: Client,
    chart: Chart,
    values: Map<String, Value>,
    opts: RenderOptions,
) -> Result<ferroflux_helm::Release, render::Error> {
    let handle = Handle::current();
    let stack =
        (ferroflux_template::Options::HELM.max_depth + 100) * ferroflux_template::STACK_PER_LEVEL;
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("helm-render".into())
        .stack_size(stack)
        .spawn(move || {
            let lookup = Rc::new(ClusterLookup { client, handle });
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                render::render(chart, values, &opts, lookup)
            }))
            .unwrap_or_else(|_| {
                Err(render::Error::new(
                    "rendering template failed: the renderer panicked",
                ))
            });
            let _ = tx.send(out);
        })
        .map_err(|e| render::Error::new(format!("cannot start the render thread: {e}")))?;
    rx.await
        .unwrap_or_else(|_| Err(render::Error::new("the render thread stopped")))
}
