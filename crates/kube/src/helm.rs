//! Helm's actions on a cluster, as helm-controller runs them through Helm
//! v4's `action.Configuration` (helm-semantics.md §6–§8): install,
//! upgrade, rollback, uninstall and test over the release storage of
//! [`storage`] (Secrets the real `helm` reads and writes), the chart
//! rendered by `ferroflux-helm` with the cluster's capabilities, objects
//! applied server-side (field manager `helm-controller`, conflicts
//! forced) through [`crate::apply::ResourceManager`], waited for with
//! kstatus, hooks run as Helm runs them ([`hooks`]).
//!
//! Every message is Helm's where Helm has one (`Release "web" failed: …`,
//! `another operation (install/upgrade/rollback) is in progress`); a
//! failure after the record exists leaves a `failed` revision and hands it
//! back in [`ActionError::record`].

pub mod drift;
pub mod hooks;
pub mod lookup;
pub mod objects;
pub mod postrender;
pub mod storage;
pub mod versions;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use ferroflux_helm::action::{
    ActionError, Common, CrdPolicy, Install, PostRender, Record, Rollback, Test, Uninstall,
    Upgrade, WaitStrategy,
};
use ferroflux_helm::chart::Chart;
use ferroflux_helm::release::{self, HookRecord, Info, Release, Status};
use ferroflux_helm::{RenderOptions, render};
use kube::Client;
use serde_json::{Map, Value, json};

use crate::apply::{
    ApplyOptions, DeleteOptions, ResourceManager, WaitOptions, default_field_managers,
};
use crate::helm::objects::{Kinds, check_ownership, resource_string, set_ownership};
use crate::helm::storage::{Storage, StorageError, Stored};

/// Helm's actions on one cluster for one storage namespace.
#[derive(Clone)]
pub struct Helm {
    client: Client,
    storage: Storage,
    capabilities: CapabilitiesCache,
    /// The kinds its actions looked up (shared with the client's other
    /// users through [`Helm::with_kinds`]).
    kinds: crate::kinds::KindCache,
}

/// The cluster's `.Capabilities` as last discovered, shared by the `Helm`s
/// of one client: a discovery lists every group and resource of the
/// apiserver (tens of requests), so it is not repeated for each action.
/// Kept for [`CAPABILITIES_TTL`], so that CRDs installed since are seen.
#[derive(Clone, Debug, Default)]
pub struct CapabilitiesCache(std::sync::Arc<tokio::sync::Mutex<Option<Discovered>>>);

/// The server's version and its `group/version[/Kind]`s, and when.
type Discovered = (std::time::Instant, (String, Vec<String>));

/// How long discovered capabilities are reused.
pub const CAPABILITIES_TTL: std::time::Duration = std::time::Duration::from_secs(30);

impl std::fmt::Debug for Helm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Helm")
            .field("storage_namespace", &self.storage.namespace())
            .finish_non_exhaustive()
    }
}

/// Go's `time.Now()` as the record writes it (RFC 3339, nanoseconds).
pub fn now() -> String {
    k8s_openapi::jiff::Timestamp::now().to_string()
}

fn storage_error(e: StorageError) -> ActionError {
    ActionError::new(e.to_string())
}

/// The decoded form of a record held as JSON.
pub fn to_record(json: &Value) -> Record {
    use base64::Engine as _;
    let text = base64::engine::general_purpose::STANDARD.encode(json.to_string());
    release::decode(&text).unwrap_or_else(|_| Record {
        json: json.clone(),
        name: String::new(),
        namespace: String::new(),
        version: 0,
        status: None,
        manifest: String::new(),
        chart_name: String::new(),
        chart_version: String::new(),
        app_version: String::new(),
        config: Map::new(),
    })
}

fn set_status(rel: &mut Value, status: Status, description: &str) {
    if !rel["info"].is_object() {
        rel["info"] = json!({});
    }
    rel["info"]["status"] = status.as_str().into();
    rel["info"]["description"] = description.into();
}

/// Helm's `CoalesceTables(dst, src)`: `src` fills what `dst` lacks, maps
/// merged recursively; `dst` wins.
pub fn coalesce_tables(
    mut dst: Map<String, Value>,
    src: &Map<String, Value>,
) -> Map<String, Value> {
    for (k, v) in src {
        match (dst.get_mut(k), v) {
            (None, v) => {
                dst.insert(k.clone(), v.clone());
            }
            (Some(Value::Object(d)), Value::Object(s)) => {
                let merged = coalesce_tables(std::mem::take(d), s);
                *d = merged;
            }
            _ => {}
        }
    }
    dst
}

/// Upgrade's values: `--reset-values` takes the new ones, `--reuse-values`
/// fills them from the current release's, and with neither, no new values
/// at all reuse the current release's (helm-semantics.md §8).
pub fn upgrade_values(
    values: Map<String, Value>,
    current: &Map<String, Value>,
    reset: bool,
    reuse: bool,
) -> Map<String, Value> {
    if reset {
        values
    } else if reuse {
        coalesce_tables(values, current)
    } else if values.is_empty() && !current.is_empty() {
        current.clone()
    } else {
        values
    }
}

/// 32 bytes of the system's randomness for the render's random functions.
fn seed() -> Option<[u8; 32]> {
    use std::io::Read as _;
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .ok()?;
    Some(bytes)
}

/// One action in progress: its settings and the cluster parts it uses.
pub(crate) struct Run<'a> {
    common: &'a Common,
    kinds: Kinds,
    rm: ResourceManager,
    storage: &'a Storage,
    /// User labels of the record being written.
    labels: BTreeMap<String, String>,
}

/// The merged watch events of the objects a wait is waiting for.
type Changes = futures_util::stream::SelectAll<
    futures_util::stream::BoxStream<'static, Result<Option<Value>, kube::Error>>,
>;

impl Run<'_> {
    /// Writes the record as it is now (`recordRelease`).
    async fn record(&self, rel: &Value) -> Result<(), String> {
        self.storage
            .update(rel, &self.labels)
            .await
            .map_err(|e| e.to_string())
    }

    /// Sets namespaces by scope; `owned` adds Helm's ownership metadata.
    async fn prepare(
        &self,
        docs: Vec<Value>,
        release: &str,
        namespace: &str,
        owned: bool,
    ) -> Result<Vec<Value>, String> {
        let mut out = Vec::with_capacity(docs.len());
        for mut obj in docs {
            self.kinds.namespace(&mut obj, namespace).await?;
            if owned {
                set_ownership(&mut obj, release, namespace);
            }
            out.push(obj);
        }
        Ok(out)
    }

    /// Server-side apply, forced, staged (CRDs and Namespaces first); the
    /// objects as the apiserver answered their writes.
    async fn apply(&self, objects: Vec<Value>) -> Result<Vec<Value>, String> {
        self.apply_known(objects, &[]).await
    }

    /// [`Run::apply`] of objects of which `absent` were just found
    /// missing (by [`Run::check_existing`]): those are written at once.
    async fn apply_known(
        &self,
        objects: Vec<Value>,
        absent: &[Value],
    ) -> Result<Vec<Value>, String> {
        if objects.is_empty() {
            return Ok(Vec::new());
        }
        let known_absent = absent.iter().map(objects::identity).collect();
        let opts = ApplyOptions {
            known_absent,
            wait_timeout: self.common.timeout,
            cleanup_field_managers: default_field_managers(self.rm.field_manager(), &[]),
            ..ApplyOptions::default()
        };
        self.rm
            .apply_all_staged_written(objects, &opts)
            .await
            .map(|(_, written)| written)
            .map_err(|f| f.error.to_string())
    }

    /// The wait of the action's strategy: Helm v4's status watcher
    /// (every object kstatus-Current; Jobs only with `wait_for_jobs`,
    /// paused Deployments skipped), with its message for what is not
    /// ready when the time is up. The first look at an object the apply
    /// just wrote is the apiserver's answer to that write (`written`), not
    /// another read; the objects not Current then are watched, and judged
    /// again as their watch events bring them (as Helm v4's watcher does),
    /// with a read of them all every [`WATCHED_POLL`] in case an event was
    /// missed. Without a watch they are read at growing pauses.
    async fn wait(&self, objects: &[Value], written: &[Value]) -> Result<(), String> {
        if self.common.wait == WaitStrategy::HookOnly {
            return Ok(());
        }
        let targets: Vec<&Value> = objects
            .iter()
            .filter(|o| o["kind"] != "Job" || self.common.wait_for_jobs)
            .filter(|o| !(o["kind"] == "Deployment" && o["spec"]["paused"] == true))
            .collect();
        let deadline = tokio::time::Instant::now() + self.common.timeout;
        let mut told: Vec<Value> = written.to_vec();
        let mut pending = Vec::new();
        for o in targets {
            let id = objects::identity(o);
            let live = match told.iter().position(|a| objects::identity(a) == id) {
                Some(i) => Some(told.swap_remove(i)),
                None => self.kinds.live(o).await?,
            };
            pending.push((o, judge(live.as_ref()), live));
        }
        let mut changes: Option<Changes> = None;
        let mut step = 0;
        loop {
            pending.retain(|(_, h, _)| h.status != crate::health::Status::Current);
            if pending.is_empty() {
                return Ok(());
            }
            if step == 0 {
                changes = self.watch_changes(&pending, deadline).await;
            }
            if tokio::time::Instant::now() >= deadline {
                let mut lines: Vec<String> = pending
                    .iter()
                    .map(|(o, h, _)| {
                        format!(
                            "resource {}/{}/{} not ready. status: {}, message: {}",
                            o["kind"].as_str().unwrap_or_default(),
                            o["metadata"]["namespace"].as_str().unwrap_or_default(),
                            o["metadata"]["name"].as_str().unwrap_or_default(),
                            h.status,
                            h.message
                        )
                    })
                    .collect();
                lines.push("context deadline exceeded".into());
                return Err(lines.join("\n"));
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let poll = match changes.as_mut() {
                Some(events) => {
                    use futures_util::StreamExt as _;
                    tokio::select! {
                        () = tokio::time::sleep(WATCHED_POLL.min(left)) => true,
                        event = events.next() => match event {
                            // A watched object as it is now: judged
                            // without reading it again.
                            Some(Ok(Some(object))) => {
                                let id = objects::identity(&object);
                                if let Some(p) = pending
                                    .iter_mut()
                                    .find(|(o, _, _)| objects::identity(o) == id)
                                {
                                    p.1 = judge(Some(&object));
                                    p.2 = Some(object);
                                }
                                false
                            }
                            Some(Ok(None)) => false,
                            _ => {
                                changes = None;
                                true
                            }
                        }
                    }
                }
                None => {
                    tokio::time::sleep(wait_delay(step).min(left)).await;
                    true
                }
            };
            if poll {
                for (o, health, live) in pending.iter_mut() {
                    *live = self.kinds.live(o).await?;
                    *health = judge(live.as_ref());
                }
            }
            step += 1;
        }
    }

    /// One watch per pending object (by name, from the resourceVersion
    /// just read), merged; None when one cannot be opened (the wait then
    /// polls only).
    async fn watch_changes(
        &self,
        pending: &[(&Value, crate::health::Health, Option<Value>)],
        deadline: tokio::time::Instant,
    ) -> Option<Changes> {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        // The server ends a watch after this; the polls cover the rest.
        let timeout = u32::try_from(left.as_secs().clamp(1, 290)).unwrap_or(290);
        let mut streams = Vec::with_capacity(pending.len());
        for (o, _, live) in pending {
            let name = o["metadata"]["name"].as_str()?;
            let version = live
                .as_ref()
                .and_then(|l| l["metadata"]["resourceVersion"].as_str())
                .unwrap_or("0");
            let api = self.kinds.api(o).await.ok()?;
            let params = kube::api::WatchParams::default()
                .fields(&format!("metadata.name={name}"))
                .timeout(timeout);
            let stream = api.watch(&params, version).await.ok()?;
            streams.push(futures_util::StreamExt::boxed(
                futures_util::StreamExt::map(stream, |e| {
                    e.map(|event| match event {
                        kube::api::WatchEvent::Added(o) | kube::api::WatchEvent::Modified(o) => {
                            serde_json::to_value(o).ok()
                        }
                        _ => None,
                    })
                }),
            ));
        }
        Some(futures_util::stream::select_all(streams))
    }

    /// Deletes objects (reverse apply order), except those kept by
    /// `helm.sh/resource-policy: keep`.
    async fn delete(&self, objects: &[Value]) -> Result<(), String> {
        self.delete_then(objects, false).await
    }

    /// [`Run::delete`], then (with `wait`, unless the strategy waits for
    /// hooks only) waits until the objects are gone, as uninstall does.
    async fn delete_then(&self, objects: &[Value], wait: bool) -> Result<(), String> {
        let mut refs = Vec::new();
        for (i, o) in objects.iter().enumerate() {
            if !objects::is_keep(o) {
                refs.push(objects::obj_ref(o, i)?);
            }
        }
        if refs.is_empty() {
            return Ok(());
        }
        let opts = DeleteOptions {
            owner: None,
            keep_shared_namespaces: false,
        };
        let deleted = self
            .rm
            .delete(&refs, &opts)
            .await
            .map_err(|f| f.error.to_string())?;
        if !wait || self.common.wait == WaitStrategy::HookOnly {
            return Ok(());
        }
        let opts = WaitOptions {
            interval: std::time::Duration::from_secs(2),
            timeout: self.common.timeout,
            ..WaitOptions::default()
        };
        self.rm
            .wait_for_termination(&deleted, &opts)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Uninstall's delete with `deletion_propagation`: `foreground` and
    /// `orphan` are sent as such (background, the default, and unknown
    /// words go through [`Run::delete_then`]), then the wait.
    async fn delete_propagating(&self, objects: &[Value], propagation: &str) -> Result<(), String> {
        let policy = match propagation {
            "foreground" => kube::api::PropagationPolicy::Foreground,
            "orphan" => kube::api::PropagationPolicy::Orphan,
            _ => return self.delete_then(objects, true).await,
        };
        let params = kube::api::DeleteParams {
            propagation_policy: Some(policy),
            ..kube::api::DeleteParams::default()
        };
        let mut doomed: Vec<(&Value, crate::inventory::ObjRef)> = Vec::new();
        for (i, o) in objects.iter().enumerate() {
            if !objects::is_keep(o) {
                doomed.push((o, objects::obj_ref(o, i)?));
            }
        }
        doomed.sort_by(|a, b| crate::inventory::compare(&b.1.meta, &a.1.meta));
        let mut errors = Vec::new();
        let mut deleted = crate::apply::ChangeSet::default();
        for (obj, r) in &doomed {
            let api = self.kinds.api(obj).await?;
            match api.delete(&r.meta.name, &params).await {
                Ok(_) => deleted.entries.push(crate::apply::ChangeSetEntry::of_ref(
                    r,
                    crate::apply::Action::Deleted,
                )),
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => errors.push(format!("{} delete failed: {e}", r.meta.subject())),
            }
        }
        if !errors.is_empty() {
            return Err(errors.join("; "));
        }
        if self.common.wait == WaitStrategy::HookOnly {
            return Ok(());
        }
        let opts = WaitOptions {
            interval: std::time::Duration::from_secs(2),
            timeout: self.common.timeout,
            ..WaitOptions::default()
        };
        self.rm
            .wait_for_termination(&deleted, &opts)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// `existingResourceConflict`: the objects that exist and are not
    /// this release's are an error; the ones missing are returned.
    async fn check_existing(
        &self,
        objects: &[Value],
        release: &str,
        namespace: &str,
        take_ownership: bool,
    ) -> Result<Vec<Value>, String> {
        // Read-only, so looked up concurrently (Helm visits them in turn),
        // and judged in order, the first conflict reported.
        use futures_util::StreamExt as _;
        // The lookups made first: a stream over a closure's futures is
        // not Send for every lifetime, as the caller's boxed future needs.
        let lookups: Vec<_> = objects.iter().map(|o| self.kinds.live(o)).collect();
        let lives: Vec<Result<Option<Value>, String>> = futures_util::stream::iter(lookups)
            .buffered(EXISTING_LOOKUPS)
            .collect()
            .await;
        let mut missing = Vec::new();
        for (obj, live) in objects.iter().zip(lives) {
            match live? {
                None => missing.push(obj.clone()),
                Some(_) if take_ownership => {}
                Some(live) => {
                    check_ownership(&live, release, namespace).map_err(|e| {
                        format!(
                            "{} exists and cannot be imported into the current release: {e}",
                            resource_string(obj)
                        )
                    })?;
                }
            }
        }
        Ok(missing)
    }

    /// The chart's `crds/` files per `crds` (helm-controller applies them
    /// itself): `Create` creates the missing ones, `CreateReplace` applies
    /// them all; then they are waited for (Established).
    async fn crds(&self, crds: &[(String, String)], policy: CrdPolicy) -> Result<(), String> {
        if policy == CrdPolicy::Skip || crds.is_empty() {
            return Ok(());
        }
        let mut docs = Vec::new();
        for (path, content) in crds {
            let parsed = objects::parse_manifest(&format!("---\n# Source: {path}\n{content}\n"))
                .map_err(|e| format!("failed to install CRD {path}: {e}"))?;
            docs.extend(parsed);
        }
        let mut todo = Vec::new();
        for doc in docs {
            if policy == CrdPolicy::Create && self.kinds.live(&doc).await?.is_some() {
                continue;
            }
            todo.push(doc);
        }
        if todo.is_empty() {
            return Ok(());
        }
        // apply_all_staged waits for the definitions to be established.
        self.apply(todo)
            .await
            .map(|_| ())
            .map_err(|e| format!("failed to install CRD: {e}"))
    }
}

/// A rendered chart ready to store and apply.
struct Rendered {
    release: ferroflux_helm::Release,
    /// The manifest and hooks after the post-renderer.
    manifest: String,
    hooks: Vec<ferroflux_helm::render::Hook>,
}

impl Helm {
    /// Releases stored in `storage_namespace`, acted on through `client`
    /// (impersonation and all, as the caller built it).
    pub fn new(client: Client, storage_namespace: &str) -> Helm {
        Helm {
            storage: Storage::new(client.clone(), storage_namespace),
            kinds: crate::kinds::KindCache::new(client.clone()),
            client,
            capabilities: CapabilitiesCache::default(),
        }
    }

    /// Kinds looked up once for every action on this client's cluster
    /// (the `ResourceManager`'s of its target), instead of per action:
    /// each lookup is a request on the action's path.
    pub fn with_kinds(mut self, kinds: crate::kinds::KindCache) -> Helm {
        self.kinds = kinds;
        self
    }

    fn resource_manager(&self, field_manager: &str) -> ResourceManager {
        ResourceManager::new(self.client.clone())
            .with_kinds(self.kinds.clone())
            .with_field_manager(field_manager)
    }

    /// Discovered capabilities shared with the other `Helm`s of its
    /// client (the target cluster's cache).
    pub fn with_capabilities(mut self, cache: CapabilitiesCache) -> Helm {
        self.capabilities = cache;
        self
    }

    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    fn run<'a>(&'a self, common: &'a Common, labels: BTreeMap<String, String>) -> Run<'a> {
        Run {
            common,
            kinds: Kinds::over(self.kinds.clone()),
            rm: self.resource_manager(&common.field_manager),
            storage: &self.storage,
            labels,
        }
    }

    /// `.Capabilities` of the cluster: the server's version, and every
    /// served `group/version` and `group/version/Kind` (Helm's
    /// `GetVersionSet`).
    pub async fn capabilities(&self) -> Result<(String, Vec<String>), ActionError> {
        let mut cached = self.capabilities.0.lock().await;
        if let Some((at, caps)) = cached.as_ref()
            && at.elapsed() < CAPABILITIES_TTL
        {
            return Ok(caps.clone());
        }
        let caps = self.discover().await?;
        *cached = Some((std::time::Instant::now(), caps.clone()));
        Ok(caps)
    }

    async fn discover(&self) -> Result<(String, Vec<String>), ActionError> {
        let (version, set) = futures_util::future::join(
            self.client.apiserver_version(),
            versions::version_set(&self.client),
        )
        .await;
        let version = version.map_err(|e| {
            ActionError::new(format!("could not get server version from Kubernetes: {e}"))
        })?;
        let set = set.map_err(|e| {
            ActionError::new(format!("could not get apiVersions from Kubernetes: {e}"))
        })?;
        Ok((version.git_version, set))
    }

    /// Renders on the render thread, then the post-renderer.
    #[allow(clippy::too_many_arguments)]
    async fn render(
        &self,
        chart: Chart,
        values: Map<String, Value>,
        name: &str,
        namespace: &str,
        revision: i64,
        is_upgrade: bool,
        skip_schema_validation: bool,
        post_render: Option<&PostRender>,
    ) -> Result<Rendered, ActionError> {
        let (kube_version, api_versions) = self.capabilities().await?;
        let opts = RenderOptions {
            release_name: name.to_string(),
            namespace: namespace.to_string(),
            is_upgrade,
            revision,
            kube_version: Some(kube_version),
            api_versions,
            skip_schema_validation,
            seed: seed(),
            now: Some(lookup::template_now()),
            ..RenderOptions::default()
        };
        let rendered = lookup::render_with_cluster(self.client.clone(), chart, values, opts)
            .await
            .map_err(|e| ActionError::new(e.message))?;
        let (manifest, hooks) = match post_render {
            Some(pr) => postrender::combined(&rendered, pr).map_err(ActionError::new)?,
            None => (rendered.manifest.clone(), rendered.hooks.clone()),
        };
        Ok(Rendered {
            release: rendered,
            manifest,
            hooks,
        })
    }

    /// A new record's JSON.
    #[allow(clippy::too_many_arguments)]
    fn new_record(
        common: &Common,
        chart: &Chart,
        config: Map<String, Value>,
        rendered: &Rendered,
        version: i64,
        first_deployed: String,
        status: Status,
        description: &str,
    ) -> Value {
        let now = now();
        Release {
            name: common.release_name.clone(),
            namespace: common.namespace.clone(),
            version,
            info: Info {
                first_deployed: if first_deployed.is_empty() {
                    now.clone()
                } else {
                    first_deployed
                },
                last_deployed: now,
                deleted: String::new(),
                description: description.to_string(),
                status,
                notes: rendered.release.notes.clone(),
            },
            chart: chart.clone(),
            config,
            chart_values: chart.values.clone(),
            manifest: rendered.manifest.clone(),
            hooks: rendered
                .hooks
                .iter()
                .map(|h| HookRecord {
                    hook: h.clone(),
                    started_at: String::new(),
                    completed_at: String::new(),
                    phase: String::new(),
                })
                .collect(),
            // Every apply here is server-side (client-side apply, and so
            // `force_replace`, is not implemented): the record says so, and
            // a later `helm upgrade --server-side=auto` follows it.
            apply_method: "ssa".into(),
            labels: BTreeMap::new(),
        }
        .to_json()
    }

    /// `Storage.Last`.
    pub async fn last(&self, name: &str) -> Result<Option<Record>, ActionError> {
        Ok(self
            .storage
            .last(name)
            .await
            .map_err(storage_error)?
            .map(|s| s.record))
    }

    /// `Storage.Get`.
    pub async fn get(&self, name: &str, version: i64) -> Result<Option<Record>, ActionError> {
        Ok(self
            .storage
            .get(name, version)
            .await
            .map_err(storage_error)?
            .map(|s| s.record))
    }

    /// `Storage.History`, oldest first.
    pub async fn history(&self, name: &str) -> Result<Vec<Record>, ActionError> {
        Ok(self
            .storage
            .history(name)
            .await
            .map_err(storage_error)?
            .into_iter()
            .map(|s| s.record)
            .collect())
    }

    /// `Storage.Update` of a record as it is (its Secret's user labels
    /// kept).
    pub async fn update(&self, record: &Record) -> Result<(), ActionError> {
        let labels = self
            .storage
            .get(&record.name, record.version)
            .await
            .ok()
            .flatten()
            .map(|s| s.labels)
            .unwrap_or_default();
        self.storage
            .update(&record.json, &labels)
            .await
            .map_err(storage_error)
    }

    /// `action.Install`.
    pub async fn install(&self, o: Install) -> Result<Record, ActionError> {
        let c = &o.common;
        let name = c.release_name.as_str();
        render::validate_release_name(name)
            .map_err(|e| ActionError::new(format!("release name {name:?}: {e}")))?;
        storage::check_user_labels(&o.labels).map_err(storage_error)?;
        let last = match o.name_free {
            true => None,
            false => self.storage.last(name).await.map_err(storage_error)?,
        };
        if let Some(last) = &last {
            let st = last.record.status;
            if !(o.replace && matches!(st, Some(Status::Uninstalled | Status::Failed))) {
                return Err(ActionError::new("cannot reuse a name that is still in use"));
            }
        }
        let run = self.run(c, o.labels.clone());
        let rendered = self
            .render(
                o.chart.clone(),
                o.values.clone(),
                name,
                &c.namespace,
                1,
                false,
                o.skip_schema_validation,
                o.post_render.as_ref(),
            )
            .await?;
        if o.create_namespace {
            let ns = json!({"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": c.namespace, "labels": {"name": c.namespace}}});
            if run
                .kinds
                .live(&ns)
                .await
                .map_err(ActionError::new)?
                .is_none()
            {
                run.apply(vec![ns]).await.map_err(ActionError::new)?;
            }
        }
        run.crds(&rendered.release.crds, o.crds)
            .await
            .map_err(ActionError::new)?;
        let docs = objects::parse_manifest(&rendered.manifest).map_err(|e| {
            ActionError::new(format!(
                "unable to build kubernetes objects from release manifest: {e}"
            ))
        })?;
        let objs = run
            .prepare(docs, name, &c.namespace, true)
            .await
            .map_err(|e| {
                ActionError::new(format!(
                    "unable to build kubernetes objects from release manifest: {e}"
                ))
            })?;
        let missing = run
            .check_existing(&objs, name, &c.namespace, o.take_ownership)
            .await
            .map_err(|e| ActionError::new(format!("unable to continue with install: {e}")))?;
        let mut version = 1;
        if o.replace
            && let Some(last) = &last
        {
            version = last.record.version + 1;
            if last.record.status != Some(Status::Failed) {
                let mut old = last.record.json.clone();
                set_status(&mut old, Status::Superseded, "superseded by new release");
                self.storage
                    .update(&old, &last.labels)
                    .await
                    .map_err(storage_error)?;
            }
        }
        let mut rel = Self::new_record(
            c,
            &o.chart,
            o.values.clone(),
            &rendered,
            version,
            String::new(),
            Status::PendingInstall,
            "Initial install underway",
        );
        self.storage
            .create(&rel, &o.labels, 0)
            .await
            .map_err(storage_error)?;
        match perform_install(&run, &mut rel, objs, &missing).await {
            Ok(()) => {
                let description = o.description.as_deref().unwrap_or("Install complete");
                set_status(&mut rel, Status::Deployed, description);
                run.record(&rel).await.map_err(ActionError::new)?;
                Ok(to_record(&rel))
            }
            Err(e) => Err(fail(&run, &mut rel, format!("Release {name:?} failed: {e}"), e).await),
        }
    }

    /// `action.Upgrade`.
    pub async fn upgrade(&self, o: Upgrade) -> Result<Record, ActionError> {
        let c = &o.common;
        let name = c.release_name.as_str();
        render::validate_release_name(name)
            .map_err(|_| ActionError::new(format!("release name is invalid: {name}")))?;
        storage::check_user_labels(&o.labels).map_err(storage_error)?;
        let no_deployed = || ActionError::new(format!("{name:?} has no deployed releases"));
        let last = self
            .storage
            .last(name)
            .await
            .map_err(storage_error)?
            .ok_or_else(no_deployed)?;
        if last.record.status.is_some_and(Status::is_pending) {
            return Err(ActionError::new(
                "another operation (install/upgrade/rollback) is in progress",
            ));
        }
        let current = current_release(&self.storage, &last)
            .await?
            .ok_or_else(no_deployed)?;
        let values = upgrade_values(
            o.values.clone(),
            &current.record.config,
            o.reset_values,
            o.reuse_values,
        );
        let mut chart = o.chart.clone();
        if o.reuse_values && !o.reset_values {
            // Helm's reuse: the chart's defaults become the old release's
            // coalesced values (its chart's defaults under its config).
            let old_defaults = current.record.json["chart"]["values"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            chart.values = coalesce_tables(current.record.config.clone(), &old_defaults);
        }
        let revision = last.record.version + 1;
        let run = self.run(c, o.labels.clone());
        let rendered = self
            .render(
                chart.clone(),
                values.clone(),
                name,
                &c.namespace,
                revision,
                true,
                o.skip_schema_validation,
                o.post_render.as_ref(),
            )
            .await?;
        run.crds(&rendered.release.crds, o.crds)
            .await
            .map_err(ActionError::new)?;
        let build = |what: &str, e: String| {
            ActionError::new(format!(
                "unable to build kubernetes objects from {what} release manifest: {e}"
            ))
        };
        let old_docs =
            objects::parse_manifest(&current.record.manifest).map_err(|e| build("current", e))?;
        let old = run
            .prepare(old_docs, name, &c.namespace, false)
            .await
            .map_err(|e| build("current", e))?;
        let new_docs = objects::parse_manifest(&rendered.manifest).map_err(|e| build("new", e))?;
        let new = run
            .prepare(new_docs, name, &c.namespace, true)
            .await
            .map_err(|e| build("new", e))?;
        let to_create = objects::removed(&new, &old);
        let created = run
            .check_existing(&to_create, name, &c.namespace, o.take_ownership)
            .await
            .map_err(|e| ActionError::new(format!("unable to continue with update: {e}")))?;
        let first = current.record.json["info"]["first_deployed"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let mut rel = Self::new_record(
            c,
            &chart,
            values,
            &rendered,
            revision,
            first,
            Status::PendingUpgrade,
            "Preparing upgrade",
        );
        self.storage
            .create(&rel, &o.labels, o.max_history)
            .await
            .map_err(storage_error)?;
        match perform_change(&run, &mut rel, &old, new, "upgrade").await {
            Ok(()) => {
                let mut cur = current.record.json.clone();
                cur["info"]["status"] = Status::Superseded.as_str().into();
                // Helm's recordRelease: logged, not failed (MaxHistory may
                // have pruned a base that was not deployed).
                if let Err(e) = self.storage.update(&cur, &current.labels).await {
                    tracing::warn!(release = name, error = %e, "superseding the base revision failed");
                }
                let description = o.description.as_deref().unwrap_or("Upgrade complete");
                set_status(&mut rel, Status::Deployed, description);
                run.record(&rel).await.map_err(ActionError::new)?;
                Ok(to_record(&rel))
            }
            Err(e) => {
                if o.cleanup_on_fail {
                    // Best effort, as Helm's: the upgrade error is the one told.
                    let _ = run.delete(&created).await;
                }
                Err(fail(&run, &mut rel, format!("Upgrade {name:?} failed: {e}"), e).await)
            }
        }
    }

    /// `action.Rollback`.
    pub async fn rollback(&self, o: Rollback) -> Result<Record, ActionError> {
        let c = &o.common;
        let name = c.release_name.as_str();
        render::validate_release_name(name).map_err(|_| {
            ActionError::new(format!("prepareRollback: Release name is invalid: {name}"))
        })?;
        let history = self.storage.history(name).await.map_err(storage_error)?;
        let current = history
            .last()
            .cloned()
            .ok_or_else(|| ActionError::new(format!("release: not found: {name}")))?;
        let previous = if o.version == 0 {
            current.record.version - 1
        } else {
            o.version
        };
        let target = history
            .iter()
            .find(|s| s.record.version == previous)
            .cloned()
            .ok_or_else(|| ActionError::new(format!("release has no {previous} version")))?;
        let mut rel = target.record.json.clone();
        rel["version"] = (current.record.version + 1).into();
        rel["namespace"] = current.record.json["namespace"].clone();
        rel["apply_method"] = "ssa".into();
        rel["info"] = json!({
            "first_deployed": current.record.json["info"]["first_deployed"],
            "last_deployed": now(),
            "description": format!("Rollback to {previous}"),
            "status": Status::PendingRollback.as_str(),
            "notes": target.record.json["info"]["notes"],
        });
        if let Some(info) = rel["info"].as_object_mut() {
            info.retain(|_, v| !v.is_null() && v != "");
        }
        let namespace = rel["namespace"].as_str().unwrap_or_default().to_string();
        let run = self.run(c, target.labels.clone());
        let build = |what: &str, e: String| {
            ActionError::new(format!(
                "unable to build kubernetes objects from {what} release manifest: {e}"
            ))
        };
        let old_docs =
            objects::parse_manifest(&current.record.manifest).map_err(|e| build("current", e))?;
        let old = run
            .prepare(old_docs, name, &namespace, false)
            .await
            .map_err(|e| build("current", e))?;
        let new_docs = objects::parse_manifest(rel["manifest"].as_str().unwrap_or_default())
            .map_err(|e| build("new", e))?;
        let new = run
            .prepare(new_docs, name, &namespace, true)
            .await
            .map_err(|e| build("new", e))?;
        self.storage
            .create(&rel, &target.labels, o.max_history)
            .await
            .map_err(storage_error)?;
        let created = run
            .check_existing(&objects::removed(&new, &old), name, &namespace, true)
            .await
            .unwrap_or_default();
        match perform_change(&run, &mut rel, &old, new, "rollback").await {
            Ok(()) => {
                let deployed: Vec<Stored> = self
                    .storage
                    .history(name)
                    .await
                    .map_err(storage_error)?
                    .into_iter()
                    .filter(|s| s.record.status == Some(Status::Deployed))
                    .collect();
                for s in deployed {
                    let mut j = s.record.json.clone();
                    j["info"]["status"] = Status::Superseded.as_str().into();
                    if let Err(e) = self.storage.update(&j, &s.labels).await {
                        tracing::warn!(release = name, error = %e, "superseding a deployed revision failed");
                    }
                }
                let description = description_of(&rel).to_string();
                set_status(&mut rel, Status::Deployed, &description);
                run.record(&rel).await.map_err(ActionError::new)?;
                Ok(to_record(&rel))
            }
            Err(e) => {
                let mut cur = current.record.json.clone();
                cur["info"]["status"] = Status::Superseded.as_str().into();
                let _ = self.storage.update(&cur, &current.labels).await;
                if o.cleanup_on_fail {
                    let _ = run.delete(&created).await;
                }
                Err(fail(&run, &mut rel, format!("Rollback {name:?} failed: {e}"), e).await)
            }
        }
    }

    /// `action.Uninstall`: the uninstalled record, or `None` when the
    /// history went with it (no `keep_history`).
    pub async fn uninstall(&self, o: Uninstall) -> Result<Option<Record>, ActionError> {
        let c = &o.common;
        let name = c.release_name.as_str();
        render::validate_release_name(name)
            .map_err(|_| ActionError::new(format!("uninstall: Release name is invalid: {name}")))?;
        let history = self.storage.history(name).await.map_err(storage_error)?;
        let Some(last) = history.last().cloned() else {
            return Err(ActionError::new(format!(
                "uninstall: Release not loaded: {name}: release: not found"
            )));
        };
        let purge = |history: Vec<Stored>| async move {
            for s in history {
                self.storage
                    .delete(name, s.record.version)
                    .await
                    .map_err(|e| {
                        ActionError::new(format!("uninstall: Failed to purge the release: {e}"))
                    })?;
            }
            Ok::<(), ActionError>(())
        };
        if last.record.status == Some(Status::Uninstalled) {
            if !o.keep_history {
                purge(history).await?;
                return Ok(None);
            }
            return Err(ActionError::new(format!(
                "the release named {name:?} is already deleted"
            )));
        }
        let run = self.run(c, last.labels.clone());
        let mut rel = last.record.json.clone();
        set_status(
            &mut rel,
            Status::Uninstalling,
            "Deletion in progress (or silently failed)",
        );
        rel["info"]["deleted"] = now().into();
        run.record(&rel).await.map_err(ActionError::new)?;
        let namespace = rel["namespace"].as_str().unwrap_or_default().to_string();
        let mut errs: Vec<String> = Vec::new();
        if let Err(e) = run.exec_hooks(&mut rel, "pre-delete").await {
            return Err(ActionError::with_record(e, to_record(&rel)));
        }
        match objects::parse_manifest(&last.record.manifest) {
            Ok(docs) => match run.prepare(docs, name, &namespace, false).await {
                Ok(objs) => {
                    if let Err(e) = run.delete_propagating(&objs, &o.deletion_propagation).await {
                        errs.push(e);
                    }
                }
                Err(e) => errs.push(format!(
                    "unable to build kubernetes objects for delete: {e}"
                )),
            },
            Err(e) => errs.push(format!(
                "corrupted release record. You must manually delete the resources: {e}"
            )),
        }
        if let Err(e) = run.exec_hooks(&mut rel, "post-delete").await {
            errs.push(e);
        }
        let description = o
            .description
            .as_deref()
            .unwrap_or("Uninstallation complete");
        set_status(&mut rel, Status::Uninstalled, description);
        let kept = if o.keep_history {
            run.record(&rel).await.map_err(ActionError::new)?;
            Some(to_record(&rel))
        } else {
            let history = self.storage.history(name).await.map_err(storage_error)?;
            purge(history).await?;
            None
        };
        if !errs.is_empty() {
            let message = format!(
                "uninstallation completed with {} error(s): {}",
                errs.len(),
                errs.join("; ")
            );
            return Err(match &kept {
                Some(r) => ActionError::with_record(message, r.clone()),
                None => ActionError::new(message),
            });
        }
        Ok(kept)
    }

    /// `action.ReleaseTesting`: the last release's `test` hooks, their
    /// `last_run` written back.
    pub async fn test(&self, o: Test) -> Result<Record, ActionError> {
        let c = &o.common;
        let name = c.release_name.as_str();
        render::validate_release_name(name).map_err(|_| {
            ActionError::new(format!("releaseTest: Release name is invalid: {name}"))
        })?;
        let last = self
            .storage
            .last(name)
            .await
            .map_err(storage_error)?
            .ok_or_else(|| ActionError::new(format!("release: not found: {name}")))?;
        let mut rel = last.record.json.clone();
        let hooks = rel["hooks"].as_array().cloned().unwrap_or_default();
        let (run_hooks, skipped) = filter_tests(hooks, &o.filters);
        rel["hooks"] = Value::Array(run_hooks);
        let common = Common {
            wait: WaitStrategy::Watcher,
            ..c.clone()
        };
        let run = self.run(&common, last.labels.clone());
        let result = run.exec_hooks(&mut rel, "test").await;
        let mut all = skipped;
        all.extend(rel["hooks"].as_array().cloned().unwrap_or_default());
        rel["hooks"] = Value::Array(all);
        let stored = run.record(&rel).await;
        match result {
            Err(e) => Err(ActionError::with_record(e, to_record(&rel))),
            Ok(()) => {
                stored.map_err(ActionError::new)?;
                Ok(to_record(&rel))
            }
        }
    }
}

/// `test.filters`: names with `exclude` leave the run; names without it
/// are the only ones run (when any). Returns (run, skipped).
pub fn filter_tests(hooks: Vec<Value>, filters: &[(String, bool)]) -> (Vec<Value>, Vec<Value>) {
    let excluded: Vec<&str> = filters
        .iter()
        .filter(|(_, ex)| *ex)
        .map(|(n, _)| n.as_str())
        .collect();
    let included: Vec<&str> = filters
        .iter()
        .filter(|(_, ex)| !*ex)
        .map(|(n, _)| n.as_str())
        .collect();
    let mut run = Vec::new();
    let mut skipped = Vec::new();
    for h in hooks {
        let n = h["name"].as_str().unwrap_or_default();
        let go = !excluded.contains(&n) && (included.is_empty() || included.contains(&n));
        if go {
            run.push(h);
        } else {
            skipped.push(h);
        }
    }
    (run, skipped)
}

fn description_of(rel: &Value) -> &str {
    rel["info"]["description"].as_str().unwrap_or_default()
}

/// Upgrade's base revision: the last if deployed, else the deployed one,
/// else the last if failed or superseded.
async fn current_release(storage: &Storage, last: &Stored) -> Result<Option<Stored>, ActionError> {
    if last.record.status == Some(Status::Deployed) {
        return Ok(Some(last.clone()));
    }
    if let Some(d) = storage
        .deployed(&last.record.name)
        .await
        .map_err(storage_error)?
    {
        return Ok(Some(d));
    }
    Ok(matches!(
        last.record.status,
        Some(Status::Failed | Status::Superseded)
    )
    .then(|| last.clone()))
}

/// The record set `failed` with `description` and written; the error
/// carries it.
async fn fail(run: &Run<'_>, rel: &mut Value, description: String, e: String) -> ActionError {
    set_status(rel, Status::Failed, &description);
    if let Err(store) = run.record(rel).await {
        return ActionError::new(format!("{e}: {store}"));
    }
    ActionError::with_record(e, to_record(rel))
}

async fn perform_install(
    run: &Run<'_>,
    rel: &mut Value,
    objs: Vec<Value>,
    missing: &[Value],
) -> Result<(), String> {
    run.exec_hooks(rel, "pre-install")
        .await
        .map_err(|e| format!("failed pre-install: {e}"))?;
    let written = run.apply_known(objs.clone(), missing).await?;
    run.wait(&objs, &written).await?;
    run.exec_hooks(rel, "post-install")
        .await
        .map_err(|e| format!("failed post-install: {e}"))
}

/// Upgrade and rollback: hooks around the apply of `new`, the delete of
/// what only `old` had, and the wait.
async fn perform_change(
    run: &Run<'_>,
    rel: &mut Value,
    old: &[Value],
    new: Vec<Value>,
    action: &str,
) -> Result<(), String> {
    let hook_error = |when: &str, e: String| match action {
        "upgrade" => format!("{when}-upgrade hooks failed: {e}"),
        _ => e,
    };
    run.exec_hooks(rel, &format!("pre-{action}"))
        .await
        .map_err(|e| hook_error("pre", e))?;
    let written = run.apply(new.clone()).await?;
    run.delete(&objects::removed(old, &new)).await?;
    run.wait(&new, &written).await?;
    run.exec_hooks(rel, &format!("post-{action}"))
        .await
        .map_err(|e| hook_error("post", e))
}

/// Objects whose existence an install checks at once.
const EXISTING_LOOKUPS: usize = 8;

/// How often [`Run::wait`] reads again the objects it watches, in case a
/// watch event was missed.
const WATCHED_POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// The kstatus of an object as last seen (None: not found).
fn judge(live: Option<&Value>) -> crate::health::Health {
    match live {
        Some(live) => crate::health::compute(live, k8s_openapi::jiff::Timestamp::now()),
        None => crate::health::Health::not_found(),
    }
}

/// The pause before the `step`th re-poll of [`Run::wait`]: 50 ms, then
/// half as long again each time, at most 2 s — most objects of a chart
/// are ready within a few hundred ms and the worker is held meanwhile.
fn wait_delay(step: u32) -> std::time::Duration {
    let ms = (50.0 * 1.5f64.powi(step.min(16) as i32)).min(2000.0);
    std::time::Duration::from_millis(ms as u64)
}
