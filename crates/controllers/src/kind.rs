//! The contract of a kind: what the runtime needs to know about it to hold
//! its objects, schedule them and trigger them from other objects, without
//! naming it. A kind is one `impl Kind` in its own module (beside its
//! reconcile steps) and one line in the runtime's registry.
//!
//! Flux declares the same facts in each controller's `SetupWithManager`:
//! `For(kind)`, `Watches(source, mapper, predicate)` and an `IndexField`;
//! here they are [`Kind::INFO`] and [`Kind::watches`], whose
//! [`Watch::refs`] is the index field and [`Watch::when`] the predicate.
//! [`Kind::reconcile`] resolves what a run reads through the runtime's
//! [`Cx`] and returns its owned [`Job`] (see [`cx`]).

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use ferroflux_api::manifest::Object;
use ferroflux_api::meta::{Condition, ObjectMeta, condition};
use serde_json::Value;

use crate::status;

pub mod cx;
pub use cx::{Cleanup, Cx, Job, Reconciled, Run, Said};

#[cfg(test)]
mod tests;

/// `kind/namespace/name`, the key of the status table and the scheduler.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl ObjectKey {
    pub fn new(kind: &str, namespace: &str, name: &str) -> Self {
        ObjectKey {
            kind: kind.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }

    /// `namespace/name`, as Flux names objects in messages.
    pub fn namespaced_name(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
    }
}

/// The data of a Secret, decoded.
pub type SecretData = BTreeMap<String, Vec<u8>>;

/// The Secrets of a home (`--secrets DIR` locally, the Secret watch in a
/// cluster), as a reconcile reads them.
pub trait SecretSource: Send + Sync {
    /// A Secret's data, or why it cannot be read (never its content).
    fn secret(&self, namespace: &str, name: &str) -> Result<&SecretData, String>;

    /// A ConfigMap's `data` (`postBuild.substituteFrom`), `Ok(None)` when
    /// it does not exist. Homes without ConfigMaps keep the default: none
    /// exists, so a required entry fails the build with Flux's "not found".
    fn config_map(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<BTreeMap<String, String>>, String> {
        let _ = (namespace, name);
        Ok(None)
    }

    /// The docker config for registries without a `secretRef`
    /// (`--docker-config`), with the file it came from.
    fn docker_config(&self) -> Option<(&Path, &[u8])> {
        None
    }
}

/// The objects a home holds, as a reconcile reads other kinds' objects
/// (a policy's ImageRepository, the policies of an automation's namespace).
pub trait Lookup {
    /// The object of `key`, as its kind's type (see [`get`]).
    fn object(&self, key: &ObjectKey) -> Option<&dyn std::any::Any>;
    /// The keys of `kind`'s objects in `namespace`, in key order.
    fn keys_in(&self, kind: &str, namespace: &str) -> Vec<ObjectKey>;
    /// The object of `key` as Flux's JSON (`metadata`, `spec`, `status`),
    /// for a reader that does not name its type (a HelmRelease's chart
    /// source: a HelmChart, an OCIRepository). None by default.
    fn json(&self, key: &ObjectKey) -> Option<Value> {
        let _ = key;
        None
    }
}

/// The object of `key` when it is a `K`.
pub fn get<'a, K: Kind>(objects: &'a dyn Lookup, key: &ObjectKey) -> Option<&'a K::Object> {
    if key.kind != K::INFO.kind {
        return None;
    }
    objects.object(key)?.downcast_ref()
}

/// Who a kind is, for the homes (watches, Events) and the `--once` summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindInfo {
    pub kind: &'static str,
    /// `image.toolkit.fluxcd.io`.
    pub group: &'static str,
    /// The storage version (`v1`): what Events and status patches name.
    pub version: &'static str,
    /// The heading of its objects in the `--once` summary.
    pub section: &'static str,
}

impl KindInfo {
    /// `group/version`.
    pub fn api_version(&self) -> String {
        format!("{}/{}", self.group, self.version)
    }

    /// A GitOps kind: it fetches sources or applies to a cluster (source,
    /// kustomize and helm groups), which `ferroflux automate` does only
    /// with a target cluster; the image chain never needs them.
    pub fn gitops(&self) -> bool {
        matches!(
            self.group,
            "source.toolkit.fluxcd.io" | "kustomize.toolkit.fluxcd.io" | "helm.toolkit.fluxcd.io"
        )
    }
}

/// What one object reads.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Ref {
    /// One object (a `sourceRef`, an `imageRepositoryRef`, a `secretRef`).
    Object(ObjectKey),
    /// Every object of `kind` in `namespace`.
    Namespace { kind: String, namespace: String },
}

/// A watch on another kind: which of its objects `K` reads, and which
/// changes of their status make `K` run at once.
pub struct Watch<K: Kind + ?Sized> {
    /// The other kind (`Secret` for Secrets).
    pub upstream: &'static str,
    /// What an object of `K` reads of `upstream` (Flux's index field).
    pub refs: fn(&ObjectKey, &K::Object) -> Vec<Ref>,
    /// Whether a status change of the upstream object, old to new, runs
    /// the objects that read it (Flux's predicate).
    pub when: fn(Option<&Value>, Option<&Value>) -> bool,
}

impl<K: Kind + ?Sized> Clone for Watch<K> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K: Kind + ?Sized> Copy for Watch<K> {}

/// [`Watch::when`] for upstreams whose every reported change counts
/// (their home reports only changes of spec, data or a request).
pub fn always(_: Option<&Value>, _: Option<&Value>) -> bool {
    true
}

/// [`Watch::when`] for upstreams read only for their spec: a status
/// change never runs the readers (a spec change does, in the home that
/// reports it).
pub fn never(_: Option<&Value>, _: Option<&Value>) -> bool {
    false
}

/// When an object runs first after a start, from its stored status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstRun {
    /// After this interval (its last run stands until then).
    After(Duration),
    /// At the first retry delay (its last run failed).
    Retry,
    /// Only when triggered.
    Triggered,
}

/// One kind, as the runtime sees it.
pub trait Kind: Send + Sync + 'static {
    const INFO: KindInfo;
    /// Whether the runtime reconciles it (false: only held and watched);
    /// only reconciled kinds have summary lines.
    const RECONCILED: bool = true;
    /// The ferroflux-api type of its objects.
    type Object: Clone
        + PartialEq
        + fmt::Debug
        + serde::Serialize
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static;

    fn meta(obj: &Self::Object) -> &ObjectMeta;

    fn meta_mut(obj: &mut Self::Object) -> &mut ObjectMeta;

    /// Its object in a manifest the loader read (None: not one of its
    /// objects). The default decodes what the loader does not model.
    fn from_manifest(object: &Object) -> Option<Self::Object> {
        match object {
            Object::Other(v) => serde_json::from_value(v.clone()).ok(),
            _ => None,
        }
    }

    /// The objects `obj` makes and keeps as its spec says, as whole
    /// manifests (`apiVersion`, `kind`, `metadata`, `spec`): a
    /// HelmRelease's `spec.chart` makes a HelmChart. A checkout holds
    /// them beside their maker; a cluster home applies them, as
    /// helm-controller creates its HelmCharts, and its watch brings them in.
    fn derived(obj: &Self::Object) -> Vec<serde_json::Value> {
        let _ = obj;
        Vec::new()
    }

    /// The conditions of its status (empty without a status).
    fn conditions(obj: &Self::Object) -> &[Condition];

    /// Whether `spec.suspend` is set.
    fn suspended(obj: &Self::Object) -> bool;

    /// What it watches on other kinds.
    fn watches() -> Vec<Watch<Self>> {
        Vec::new()
    }

    /// The upstream kinds whose spec it reads (its watch on them says
    /// [`never`] for status): a home that reports their spec changes runs
    /// it at once (an automation pushes through its GitRepository's URL
    /// and branch).
    fn reads_spec_of() -> &'static [&'static str] {
        &[]
    }

    /// When it runs first after a start.
    fn first_run(obj: &Self::Object) -> FirstRun;

    /// The `--once` summary's detail (None: its Ready message). `pushed`
    /// is the commit this process pushed for it.
    fn detail(obj: &Self::Object, pushed: Option<&str>) -> Option<String> {
        let _ = (obj, pushed);
        None
    }

    /// Start one run of `obj`: resolve what it reads now, while the
    /// runtime holds the objects, and return the owned job that waits
    /// (None: not reconciled, the default of held kinds). A request
    /// (`reconcile.fluxcd.io/requestedAt`) is already in its annotations.
    fn reconcile(key: &ObjectKey, obj: &Self::Object, run: Run, cx: &dyn Cx) -> Option<Job> {
        let _ = (key, obj, run, cx);
        None
    }

    /// Whether Flux keeps its finalizer (`finalizers.fluxcd.io`) on objects
    /// of this kind, so that their deletion waits for [`Kind::cleanup`]
    /// (in a home that holds finalizers: a cluster).
    const FINALIZES: bool = false;

    /// What the deletion of `obj` leaves to clean up (None: nothing).
    fn cleanup(key: &ObjectKey, obj: &Self::Object, cx: &dyn Cx) -> Option<Cleanup> {
        let _ = (key, obj, cx);
        None
    }

    /// What a run of `obj` holds besides the object, so that two runs
    /// never share it (an automation's clone of its Git URL).
    fn resources(key: &ObjectKey, obj: &Self::Object, cx: &dyn Cx) -> Vec<String> {
        let _ = (key, obj, cx);
        Vec::new()
    }
}

/// The Ready condition's status is True.
pub fn is_ready(conditions: &[Condition]) -> bool {
    status::is_true(conditions, condition::READY)
}

/// [`FirstRun::After`] the interval when Ready, else [`FirstRun::Retry`].
pub fn after_if_ready(conditions: &[Condition], interval: Duration) -> FirstRun {
    if is_ready(conditions) {
        FirstRun::After(interval)
    } else {
        FirstRun::Retry
    }
}
