//! The Kubernetes home of the runtime (`ferroflux controller`): the kinds
//! are watched in the cluster instead of read from a checkout, status goes
//! to the status subresource, Secrets come from the cluster, and events are
//! Kubernetes Events.
//!
//! The watches are kube-rs `watcher`s (the machinery under kube-rs'
//! `Controller`): each kind's stream becomes [`Change`]s on one channel, so
//! the one scheduler of [`crate::Runner`] keeps Flux's cross-kind triggers
//! (a new scan runs its policies, a new `latestRef` runs the automations of
//! the namespace) exactly as `automate --watch` does.

use std::collections::BTreeSet;
use std::fmt::Debug;

use ferroflux_api::image::ImageRepository;
use ferroflux_api::meta::{FINALIZER, ObjectMeta};
use ferroflux_controllers::kind::{Kind, KindInfo};
use ferroflux_controllers::status::{self, EventType};
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::{ObjectReference, Secret};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kube::runtime::events::{Event as KubeEvent, EventType as KubeEventType, Recorder, Reporter};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::automate::SecretData;
use crate::registry::{Registry, flux};
use crate::source::ObjectKey;

/// The field manager of every status write.
pub const FIELD_MANAGER: &str = "ferroflux";

/// Secrets are watched too (credentials, webhook tokens).
pub const SECRET: &str = "Secret";

/// ConfigMaps are watched by their metadata, those labelled as
/// helm-controller's `--watch-configs-label-selector` default selects
/// (a HelmRelease's `valuesFrom` changed runs it at once).
pub const CONFIG_MAP: &str = "ConfigMap";
pub const WATCH_CONFIGS_LABEL_SELECTOR: &str = "reconcile.fluxcd.io/watch=Enabled";

/// What a watch saw.
#[derive(Debug, Clone)]
pub enum Change {
    /// An object of a registered kind as the apiserver sent it (its kind's
    /// type decodes it in the runner), with the apiVersion its author
    /// wrote (for the template data; v1beta2 is read as v1).
    Object {
        key: ObjectKey,
        object: Box<Value>,
        version: String,
    },
    Deleted(ObjectKey),
    /// A (re)list of `kind` completed; `keys` is everything it holds, so
    /// what the runner knows beyond it was deleted while unwatched.
    Synced {
        kind: &'static str,
        keys: BTreeSet<ObjectKey>,
    },
    Secret {
        namespace: String,
        name: String,
        data: Option<SecretData>,
    },
    /// A watched ConfigMap changed or went (its content is read by the
    /// reconcile that needs it).
    ConfigMap {
        namespace: String,
        name: String,
    },
}

/// The watches' changes, as [`Cluster::watch`] hands them over.
pub type Changes = mpsc::Receiver<Change>;

impl Change {
    /// The change that `object` of kind `K` was added or updated, written
    /// as `version`.
    pub fn object<K: Kind>(object: &K::Object, version: &str) -> Change {
        let meta = K::meta(object);
        Change::Object {
            key: ObjectKey::new(
                K::INFO.kind,
                meta.namespace.as_deref().unwrap_or("default"),
                meta.name.as_deref().unwrap_or_default(),
            ),
            object: Box::new(serde_json::to_value(object).unwrap_or_default()),
            version: version.to_string(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("--watch-label-selector '{selector}': {detail}")]
    Selector { selector: String, detail: String },
    #[error(
        "the Flux image CRDs are not installed ({detail}): run `ferroflux install --export | kubectl apply -f -`"
    )]
    NoCrds { detail: String },
    #[error("cannot list ImageRepositories: {detail}")]
    List { detail: String },
    #[error("{kind} {namespace}/{name}: status update failed: {detail}")]
    Status {
        kind: String,
        namespace: String,
        name: String,
        detail: String,
    },
    #[error("{kind} {namespace}/{name}: apply failed: {detail}")]
    Apply {
        kind: String,
        namespace: String,
        name: String,
        detail: String,
    },
}

/// What a controller is told about the cluster.
#[derive(Debug, Clone, Default)]
pub struct ClusterOptions {
    /// `--watch-label-selector`: only objects whose labels match (Flux's
    /// sharding by `sharding.fluxcd.io/key`).
    pub label_selector: Option<String>,
    /// The reporting instance of events (the pod name).
    pub instance: Option<String>,
}

/// Events waiting for the apiserver, at most (client-go's broadcaster
/// queues 1000 and drops what comes beyond, as this does).
const EVENT_QUEUE: usize = 1000;

type EventQueue = mpsc::Sender<(ObjectReference, KubeEvent)>;

/// A connected cluster.
#[derive(Clone)]
pub struct Cluster {
    client: Client,
    opts: ClusterOptions,
    /// The kinds watched, whose status and finalizers are written here.
    kinds: &'static Registry,
    recorder: Recorder,
    /// Events go to the apiserver from a task of their own, in order, so
    /// that a reconcile does not wait for its Event to be written (Flux's
    /// recorder is asynchronous too); started on the first event.
    events: std::sync::Arc<std::sync::OnceLock<EventQueue>>,
}

impl Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    pub fn new(client: Client, opts: ClusterOptions) -> Cluster {
        let recorder = Recorder::new(
            client.clone(),
            Reporter {
                controller: "ferroflux".to_string(),
                instance: opts.instance.clone(),
            },
        );
        Cluster {
            client,
            opts,
            kinds: flux(),
            recorder,
            events: std::sync::Arc::default(),
        }
    }

    /// Watch and write the kinds of `kinds` (the runner's registry)
    /// instead of Flux's.
    pub fn with_kinds(mut self, kinds: &'static Registry) -> Cluster {
        self.kinds = kinds;
        self
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The kinds a controller watches (the registry's, and Secrets); a
    /// first pass waits for all of them.
    pub fn watched(&self) -> Vec<&'static str> {
        self.kinds
            .kinds()
            .map(|k| k.info().kind)
            .chain([SECRET])
            .collect()
    }

    /// How the apiserver serves `kind` (None: not a kind of the registry).
    fn resource(&self, kind: &str) -> Option<ApiResource> {
        self.kinds.get(kind).map(|k| api_resource(&k.info()))
    }

    /// Fail fast on what the watches would only retry forever: a label
    /// selector the apiserver refuses, CRDs that are not installed, no
    /// access. One `list` with `limit=1`.
    pub async fn check(&self) -> Result<(), ClusterError> {
        let mut params = kube::api::ListParams::default().limit(1);
        if let Some(s) = &self.opts.label_selector {
            params = params.labels(s);
        }
        match Api::<ImageRepository>::all(self.client.clone())
            .list(&params)
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(e)) if e.code == 400 && self.opts.label_selector.is_some() => {
                Err(ClusterError::Selector {
                    selector: self.opts.label_selector.clone().unwrap_or_default(),
                    detail: e.message,
                })
            }
            Err(kube::Error::Api(e)) if e.code == 404 => {
                Err(ClusterError::NoCrds { detail: e.message })
            }
            Err(e) => Err(ClusterError::List {
                detail: e.to_string(),
            }),
        }
    }

    /// Start one watch per kind (and one on Secrets); their changes arrive
    /// on the returned channel until it is dropped.
    pub fn watch(&self) -> Changes {
        let (tx, rx) = mpsc::channel(1024);
        let selector = self.opts.label_selector.clone();
        let cfg = || {
            let c = watcher::Config::default();
            match &selector {
                Some(s) => c.labels(s),
                None => c,
            }
        };
        for kind in self.kinds.kinds() {
            spawn_watch(&self.client, cfg(), tx.clone(), kind.info());
        }
        spawn_secret_watch(&self.client, tx.clone());
        spawn_config_map_watch(&self.client, tx);
        rx
    }

    /// Replace `status` with `new` (a JSON merge patch on the status
    /// subresource that also clears the fields `old` had and `new` lacks).
    pub async fn write_status(
        &self,
        key: &ObjectKey,
        old: Option<&Value>,
        new: &Value,
    ) -> Result<(), ClusterError> {
        let patch = serde_json::json!({ "status": merge_diff(old, new) });
        let r = match self.resource(&key.kind) {
            Some(ar) => self.patch_status(&ar, key, &patch).await,
            None => Ok(()),
        };
        match r {
            Ok(()) => Ok(()),
            // Deleted meanwhile: its watch event follows.
            Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
            Err(e) => Err(ClusterError::Status {
                kind: key.kind.clone(),
                namespace: key.namespace.clone(),
                name: key.name.clone(),
                detail: e.to_string(),
            }),
        }
    }

    /// Record a Kubernetes Event on the object (best effort, as Flux):
    /// queued for the event task, dropped with a warning when the queue is
    /// full (then `false`); trace events are never recorded.
    pub fn event(&self, object: &ObjectReference, e: &status::Event, action: &str) -> bool {
        let type_ = match e.type_ {
            EventType::Normal => KubeEventType::Normal,
            EventType::Warning => KubeEventType::Warning,
            EventType::Trace => return true,
        };
        let ev = KubeEvent {
            type_,
            reason: e.reason.clone(),
            note: Some(truncate(&e.message, 1024)),
            action: action.to_string(),
            secondary: None,
        };
        let queue = self.events.get_or_init(|| {
            let (tx, mut rx) = mpsc::channel::<(ObjectReference, KubeEvent)>(EVENT_QUEUE);
            let recorder = self.recorder.clone();
            tokio::spawn(async move {
                while let Some((object, ev)) = rx.recv().await {
                    if let Err(err) = recorder.publish(&ev, &object).await {
                        tracing::warn!(object = ?object.name, "event not recorded: {err}");
                    }
                }
            });
            tx
        });
        if queue.try_send((object.clone(), ev)).is_err() {
            tracing::warn!(
                object = ?object.name,
                "event not recorded: {EVENT_QUEUE} events already wait for the apiserver"
            );
            return false;
        }
        true
    }

    /// Whether `key` still exists (a watch's delete may mean it left this
    /// shard's selector, not the cluster). A kind not watched here is never
    /// said to be gone.
    pub async fn exists(&self, key: &ObjectKey) -> Result<bool, kube::Error> {
        let Some(ar) = self.resource(&key.kind) else {
            return Ok(true);
        };
        self.api(&ar, key)
            .get_opt(&key.name)
            .await
            .map(|o| o.is_some())
    }

    /// The objects of `ar` in `key`'s namespace.
    fn api(&self, ar: &ApiResource, key: &ObjectKey) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), &key.namespace, ar)
    }

    /// Add or remove Flux's finalizer (`finalizers.fluxcd.io`) on `key`: a
    /// merge patch of `metadata.finalizers` guarded by the resourceVersion
    /// it was computed from, retried on a conflict. The first try starts
    /// from `seen` (the object as its watch brought it, saving a GET per
    /// object); a conflict reads it again. Ok when the object is gone or
    /// already as wanted.
    pub async fn set_finalizer(
        &self,
        key: &ObjectKey,
        present: bool,
        seen: Option<&ObjectMeta>,
    ) -> Result<(), ClusterError> {
        let r = match self.resource(&key.kind) {
            Some(ar) => self.finalizer(&ar, key, present, seen).await,
            None => Ok(()),
        };
        r.map_err(|e| ClusterError::Status {
            kind: key.kind.clone(),
            namespace: key.namespace.clone(),
            name: key.name.clone(),
            detail: format!("finalizer update failed: {e}"),
        })
    }

    /// Server-side apply of an object a kind makes (`Kind::derived`), as
    /// `helm-controller` (the field manager Flux's HelmCharts carry), so
    /// that the watch of its kind brings it in. A made kind that holds our
    /// finalizer is created with it, rather than patched once more when
    /// it arrives.
    pub async fn apply_made(&self, mut object: Value) -> Result<(), ClusterError> {
        let finalizes = self
            .kinds
            .get(object["kind"].as_str().unwrap_or_default())
            .is_some_and(|k| k.finalizes());
        if finalizes && let Some(meta) = object["metadata"].as_object_mut() {
            meta.insert("finalizers".into(), serde_json::json!([FINALIZER]));
        }
        let key = made_key(&object);
        let (kind, name) = (key.kind.as_str(), key.name.as_str());
        let failed = |detail: String| ClusterError::Apply {
            kind: key.kind.clone(),
            namespace: key.namespace.clone(),
            name: key.name.clone(),
            detail,
        };
        let Some(ar) = self.resource(kind) else {
            return Err(failed(format!("kind {kind} is not served here")));
        };
        let params = PatchParams::apply("helm-controller").force();
        self.api(&ar, &key)
            .patch(name, &params, &Patch::Apply(object))
            .await
            .map(|_| ())
            .map_err(|e| failed(e.to_string()))
    }

    /// Deletes an object a deleted maker made (`Kind::derived`); one
    /// already gone is no error.
    pub async fn delete_made(&self, object: &Value) -> Result<(), ClusterError> {
        let key = made_key(object);
        let (kind, name) = (key.kind.as_str(), key.name.as_str());
        let Some(ar) = self.resource(kind) else {
            return Ok(());
        };
        match self
            .api(&ar, &key)
            .delete(name, &kube::api::DeleteParams::default())
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
            Err(e) => Err(ClusterError::Apply {
                kind: key.kind.clone(),
                namespace: key.namespace.clone(),
                name: key.name.clone(),
                detail: format!("delete: {e}"),
            }),
        }
    }

    async fn finalizer(
        &self,
        ar: &ApiResource,
        key: &ObjectKey,
        present: bool,
        seen: Option<&ObjectMeta>,
    ) -> Result<(), kube::Error> {
        let api = self.api(ar, key);
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.to_string()),
            ..PatchParams::default()
        };
        let mut seen = seen.filter(|m| m.resource_version.is_some()).cloned();
        for _ in 0..5 {
            let meta = match seen.take() {
                Some(meta) => meta,
                None => match api.get_opt(&key.name).await? {
                    Some(obj) => obj.metadata,
                    None => return Ok(()),
                },
            };
            let mut list = meta.finalizers.clone().unwrap_or_default();
            if list.iter().any(|f| f == FINALIZER) == present {
                return Ok(());
            }
            if present {
                list.push(FINALIZER.to_string());
            } else {
                list.retain(|f| f != FINALIZER);
            }
            let patch = serde_json::json!({"metadata": {
                "finalizers": list,
                "resourceVersion": meta.resource_version,
            }});
            match api.patch(&key.name, &params, &Patch::Merge(&patch)).await {
                Ok(_) => return Ok(()),
                Err(kube::Error::Api(e)) if e.code == 409 => continue,
                Err(kube::Error::Api(e)) if e.code == 404 => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// A merge patch on the status subresource of `key`.
    async fn patch_status(
        &self,
        ar: &ApiResource,
        key: &ObjectKey,
        patch: &Value,
    ) -> Result<(), kube::Error> {
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.to_string()),
            ..PatchParams::default()
        };
        self.api(ar, key)
            .patch_status(&key.name, &params, &Patch::Merge(patch))
            .await
            .map(drop)
    }
}

/// How the apiserver serves a kind: its storage version, at the plural
/// of its lowercased name (`imagepolicies`, `kustomizations`).
pub fn api_resource(info: &KindInfo) -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk(info.group, info.version, info.kind))
}

/// One object of a watch as a [`Change`]. Its managed fields are read for
/// the version its author wrote, then dropped: nothing else reads them, and
/// held for every object they were the largest part of the runner's memory.
pub(crate) fn wrap(info: &KindInfo, mut o: DynamicObject) -> Change {
    let key = key_of(info.kind, &o);
    let version = written_version_of(&o.metadata, info);
    o.metadata.managed_fields = None;
    Change::Object {
        key,
        object: Box::new(serde_json::to_value(&o).unwrap_or_default()),
        version,
    }
}

fn spawn_watch(client: &Client, cfg: watcher::Config, tx: mpsc::Sender<Change>, info: KindInfo) {
    let kind = info.kind;
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &api_resource(&info));
    tokio::spawn(async move {
        let mut stream = watcher(api, cfg).default_backoff().boxed();
        let mut listing: BTreeSet<ObjectKey> = BTreeSet::new();
        let mut missing_reported = false;
        while let Some(ev) = stream.next().await {
            let change = match ev {
                Ok(watcher::Event::Init) => {
                    listing.clear();
                    continue;
                }
                Ok(watcher::Event::InitApply(o)) => {
                    listing.insert(key_of(kind, &o));
                    wrap(&info, o)
                }
                Ok(watcher::Event::InitDone) => Change::Synced {
                    kind,
                    keys: std::mem::take(&mut listing),
                },
                Ok(watcher::Event::Apply(o)) => wrap(&info, o),
                Ok(watcher::Event::Delete(o)) => Change::Deleted(key_of(kind, &o)),
                // A kind whose CRD is not installed (a cluster installed
                // for the image chain only) holds nothing: the first pass
                // goes on without it, and its watch keeps trying.
                // So does one the controller may not list (an install
                // whose ClusterRole predates the kind).
                Err(watcher::Error::InitialListFailed(kube::Error::Api(e)))
                    if (e.code == 404 || e.code == 403) && !missing_reported =>
                {
                    missing_reported = true;
                    if e.code == 404 {
                        tracing::warn!(
                            kind,
                            "the {kind} CRD is not installed: run `ferroflux install --export | kubectl apply -f -` to reconcile {kind}s"
                        );
                    } else {
                        tracing::warn!(
                            kind,
                            "not allowed to list {kind}s ({}): re-apply `ferroflux install --export` to reconcile {kind}s",
                            e.message
                        );
                    }
                    Change::Synced {
                        kind,
                        keys: BTreeSet::new(),
                    }
                }
                Err(e) => {
                    tracing::warn!(kind, "watch failed, retrying: {e}");
                    continue;
                }
            };
            if tx.send(change).await.is_err() {
                return;
            }
        }
    });
}

/// Helm's release records (`sh.helm.release.v1.<name>.v<N>`, two writes
/// per install or upgrade): the helm code reads them from the apiserver,
/// nothing references them (valuesFrom, sops keys, receiver tokens and
/// kubeConfigs are user Secrets), so the watch leaves them out — each was
/// an event, a decoded copy in the cache and a trigger lookup.
const SECRET_WATCH_FIELDS: &str = "type!=helm.sh/release.v1";

fn secret_watch_config() -> watcher::Config {
    watcher::Config::default().fields(SECRET_WATCH_FIELDS)
}

fn spawn_secret_watch(client: &Client, tx: mpsc::Sender<Change>) {
    let api: Api<Secret> = Api::all(client.clone());
    tokio::spawn(async move {
        let mut stream = watcher(api, secret_watch_config())
            .default_backoff()
            .boxed();
        while let Some(ev) = stream.next().await {
            let (secret, deleted) = match ev {
                Ok(watcher::Event::Apply(s) | watcher::Event::InitApply(s)) => (s, false),
                Ok(watcher::Event::Delete(s)) => (s, true),
                Ok(watcher::Event::InitDone) => {
                    let synced = Change::Synced {
                        kind: SECRET,
                        keys: BTreeSet::new(),
                    };
                    if tx.send(synced).await.is_err() {
                        return;
                    }
                    continue;
                }
                Ok(watcher::Event::Init) => continue,
                Err(e) => {
                    tracing::warn!("Secret watch failed, retrying: {e}");
                    continue;
                }
            };
            let data = (!deleted).then(|| secret_data(&secret));
            let change = Change::Secret {
                namespace: secret.namespace().unwrap_or_default(),
                name: secret.name_any(),
                data,
            };
            if tx.send(change).await.is_err() {
                return;
            }
        }
    });
}

/// ConfigMaps labelled [`WATCH_CONFIGS_LABEL_SELECTOR`], metadata only;
/// the initial list reports nothing (a start reconciles everything).
fn spawn_config_map_watch(client: &Client, tx: mpsc::Sender<Change>) {
    let api: Api<kube::core::PartialObjectMeta<k8s_openapi::api::core::v1::ConfigMap>> =
        Api::all(client.clone());
    let config = watcher::Config::default().labels(WATCH_CONFIGS_LABEL_SELECTOR);
    tokio::spawn(async move {
        let mut stream = watcher(api, config).default_backoff().boxed();
        let mut listed = false;
        while let Some(ev) = stream.next().await {
            let meta = match ev {
                Ok(watcher::Event::Apply(m) | watcher::Event::Delete(m)) => m,
                Ok(watcher::Event::InitApply(m)) if listed => m,
                Ok(watcher::Event::InitDone) => {
                    listed = true;
                    continue;
                }
                Ok(watcher::Event::Init | watcher::Event::InitApply(_)) => continue,
                Err(e) => {
                    tracing::warn!("ConfigMap watch failed, retrying: {e}");
                    continue;
                }
            };
            let change = Change::ConfigMap {
                namespace: meta.namespace().unwrap_or_default(),
                name: meta.name_any(),
            };
            if tx.send(change).await.is_err() {
                return;
            }
        }
    });
}

/// A Secret's `data` and `stringData`, decoded.
pub fn secret_data(s: &Secret) -> SecretData {
    let mut out = SecretData::new();
    for (k, v) in s.data.iter().flatten() {
        out.insert(k.clone(), v.0.clone());
    }
    for (k, v) in s.string_data.iter().flatten() {
        out.insert(k.clone(), v.clone().into_bytes());
    }
    out
}

fn key_of<K: Resource>(kind: &str, o: &K) -> ObjectKey {
    ObjectKey::new(
        kind,
        o.meta().namespace.as_deref().unwrap_or("default"),
        o.meta().name.as_deref().unwrap_or_default(),
    )
}

/// The apiVersion the object's author wrote: the apiserver stores every
/// version as v1, but its managed fields remember which version each
/// writer used (a `kubectl apply` of a v1beta2 manifest keeps `.Updated`
/// in the commit template data, as in Flux's v1beta2 controller).
pub fn written_version(meta: &kube::api::ObjectMeta) -> String {
    written_version_of(meta, &<ImageRepository as Kind>::INFO)
}

/// [`written_version`] of an object of `kind`'s group (its storage
/// version when no author's entry names the group).
pub fn written_version_of(meta: &kube::api::ObjectMeta, kind: &KindInfo) -> String {
    let group = format!("{}/", kind.group);
    meta.managed_fields
        .iter()
        .flatten()
        .filter(|f| f.subresource.is_none() && f.manager.as_deref() != Some(FIELD_MANAGER))
        .filter_map(|f| f.api_version.clone())
        .rfind(|v| v.starts_with(&group))
        .unwrap_or_else(|| kind.api_version())
}

/// RFC 7386 merge patch that turns `old` into `new`.
pub fn merge_diff(old: Option<&Value>, new: &Value) -> Value {
    match (old, new) {
        (Some(Value::Object(o)), Value::Object(n)) => {
            let mut out = serde_json::Map::new();
            for (k, nv) in n {
                match o.get(k) {
                    Some(ov) if ov == nv => {}
                    Some(ov @ Value::Object(_)) if nv.is_object() => {
                        out.insert(k.clone(), merge_diff(Some(ov), nv));
                    }
                    _ => {
                        out.insert(k.clone(), nv.clone());
                    }
                }
            }
            for k in o.keys() {
                if !n.contains_key(k) {
                    out.insert(k.clone(), Value::Null);
                }
            }
            Value::Object(out)
        }
        _ => new.clone(),
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

#[cfg(test)]
mod tests;

/// The key of an object a kind makes, from its manifest.
pub(crate) fn made_key(object: &Value) -> ObjectKey {
    let meta = &object["metadata"];
    ObjectKey::new(
        object["kind"].as_str().unwrap_or_default(),
        meta["namespace"].as_str().unwrap_or("default"),
        meta["name"].as_str().unwrap_or_default(),
    )
}
