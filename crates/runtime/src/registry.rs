//! The kinds the runtime serves, in run order, each behind one
//! kind-agnostic interface ([`ErasedKind`], a blanket implementation over
//! [`Kind`]). A new kind is one `impl Kind` in `ferroflux-controllers` and
//! one `.with::<K>()` line in [`Registry::flux`] ([`Objects`] holds a map
//! per registered kind); this is the only runtime module that names kinds
//! for the local home.

use std::any::Any;
use std::marker::PhantomData;
use std::sync::LazyLock;

use ferroflux_api::helm::HelmRelease;
use ferroflux_api::image::{ImagePolicy, ImageRepository, ImageUpdateAutomation};
use ferroflux_api::kustomize::Kustomization;
use ferroflux_api::manifest::Object;
use ferroflux_api::meta::{Condition, ObjectMeta, RECONCILE_REQUEST_ANNOTATION, condition};
use ferroflux_api::notification::{Alert, Provider, Receiver};
use ferroflux_api::source::{GitRepository, HelmChart, HelmRepository, OCIRepository};
use ferroflux_controllers::kind::{Cleanup, Cx, FirstRun, Job, Kind, KindInfo, Ref, Run, get};
use ferroflux_controllers::status;
use serde_json::Value;

use crate::scheduler::Trigger;
use crate::source::{ObjectKey, Objects};

/// The `--once` summary of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reported {
    /// Ready, or suspended.
    pub ok: bool,
    pub detail: String,
    pub message: String,
}

/// One kind, whatever it is.
pub trait ErasedKind: Send + Sync {
    fn info(&self) -> KindInfo;
    fn reconciled(&self) -> bool;
    /// The kinds it watches.
    fn upstreams(&self) -> Vec<&'static str>;
    fn keys(&self, objects: &Objects) -> Vec<ObjectKey>;
    fn meta<'a>(&self, objects: &'a Objects, key: &ObjectKey) -> Option<&'a ObjectMeta>;
    /// The object, as its kind's type behind `Any`.
    fn any<'a>(&self, objects: &'a Objects, key: &ObjectKey) -> Option<&'a dyn std::any::Any>;
    /// What `key` reads, over all its watches.
    fn refs(&self, objects: &Objects, key: &ObjectKey) -> Vec<Ref>;
    /// Whether a spec change of an `upstream` object runs its readers of
    /// this kind ([`Kind::reads_spec_of`]).
    fn reads_spec(&self, upstream: &str) -> bool;
    /// Whether a status change of an `upstream` object runs its readers
    /// of this kind.
    fn moved(&self, upstream: &str, old: Option<&Value>, new: Option<&Value>) -> bool;
    fn first_run(&self, objects: &Objects, key: &ObjectKey) -> Option<FirstRun>;
    fn report(&self, objects: &Objects, key: &ObjectKey, pushed: Option<&str>) -> Option<Reported>;
    fn status(&self, objects: &Objects, key: &ObjectKey) -> Option<Value>;
    /// Give `key` this encoded status; false when gone or not decodable.
    fn set_status(&self, objects: &mut Objects, key: &ObjectKey, status: &Value) -> bool;
    /// [`set_status`](ErasedKind::set_status), saying why a status is not
    /// its kind's (`Ok(false)`: `key` is not held).
    fn try_set_status(
        &self,
        objects: &mut Objects,
        key: &ObjectKey,
        status: &Value,
    ) -> Result<bool, serde_json::Error>;
    /// The object without its status (what decides a re-read matters).
    fn spec(&self, objects: &Objects, key: &ObjectKey) -> Option<Value>;
    fn remove(&self, objects: &mut Objects, key: &ObjectKey) -> bool;
    /// Write a request (`reconcile.fluxcd.io/requestedAt`) into `key`'s
    /// annotations, so that its run records it as handled.
    fn note_request(&self, objects: &mut Objects, key: &ObjectKey, at: &str);
    fn suspended(&self, objects: &Objects, key: &ObjectKey) -> bool;
    /// Start one run of `key` ([`Kind::reconcile`]); None when it left
    /// the objects or its kind has no reconcile.
    fn start(&self, cx: &dyn Cx, key: &ObjectKey, run: Run) -> Option<Job>;
    /// What a run of `key` holds besides the object ([`Kind::resources`]).
    fn resources(&self, cx: &dyn Cx, key: &ObjectKey) -> Vec<String>;
    /// Whether Flux's finalizer stays on its objects ([`Kind::FINALIZES`]).
    fn finalizes(&self) -> bool;
    /// The cleanup of the held `key` once deleted ([`Kind::cleanup`]).
    fn cleanup(&self, cx: &dyn Cx, key: &ObjectKey) -> Option<Cleanup>;
    /// The cleanup of `key` as a watch sent it (JSON) while being deleted;
    /// None too when it does not decode.
    fn cleanup_of(&self, cx: &dyn Cx, key: &ObjectKey, object: &Value) -> Option<Cleanup>;
    /// Its object in a manifest, behind `Any` (None: not one of its).
    fn decode(&self, object: &Object) -> Option<Box<dyn Any + Send>>;
    /// Hold a [`decode`](ErasedKind::decode)d object as `key`, in
    /// `namespace`; false when it is not this kind's.
    fn insert(
        &self,
        objects: &mut Objects,
        key: &ObjectKey,
        object: Box<dyn Any + Send>,
        namespace: &str,
    ) -> bool;
    /// Take `key` as a watch sent it (JSON), keeping the status the
    /// runtime holds for it; why it must run now, if it must (created, a
    /// new request, a changed spec), or why it does not decode.
    fn upsert(
        &self,
        objects: &mut Objects,
        key: &ObjectKey,
        object: Value,
    ) -> Result<Option<Trigger>, String>;
    /// [`Kind::derived`] of the object held as `key` (empty when none).
    fn derived(&self, objects: &Objects, key: &ObjectKey) -> Vec<Value>;
}

struct Erased<K>(PhantomData<fn() -> K>);

impl<K: Kind> ErasedKind for Erased<K> {
    fn info(&self) -> KindInfo {
        K::INFO
    }

    fn reconciled(&self) -> bool {
        K::RECONCILED
    }

    fn upstreams(&self) -> Vec<&'static str> {
        K::watches().iter().map(|w| w.upstream).collect()
    }

    fn keys(&self, objects: &Objects) -> Vec<ObjectKey> {
        objects.of::<K>().keys().cloned().collect()
    }

    fn meta<'a>(&self, objects: &'a Objects, key: &ObjectKey) -> Option<&'a ObjectMeta> {
        objects.of::<K>().get(key).map(K::meta)
    }

    fn any<'a>(&self, objects: &'a Objects, key: &ObjectKey) -> Option<&'a dyn std::any::Any> {
        objects.of::<K>().get(key).map(|o| o as &dyn std::any::Any)
    }

    fn refs(&self, objects: &Objects, key: &ObjectKey) -> Vec<Ref> {
        let Some(obj) = objects.of::<K>().get(key) else {
            return Vec::new();
        };
        K::watches()
            .iter()
            .flat_map(|w| (w.refs)(key, obj))
            .collect()
    }

    fn reads_spec(&self, upstream: &str) -> bool {
        K::reads_spec_of().contains(&upstream)
    }

    fn moved(&self, upstream: &str, old: Option<&Value>, new: Option<&Value>) -> bool {
        K::watches()
            .iter()
            .any(|w| w.upstream == upstream && (w.when)(old, new))
    }

    fn first_run(&self, objects: &Objects, key: &ObjectKey) -> Option<FirstRun> {
        objects.of::<K>().get(key).map(K::first_run)
    }

    fn report(&self, objects: &Objects, key: &ObjectKey, pushed: Option<&str>) -> Option<Reported> {
        let obj = objects.of::<K>().get(key)?;
        let c: &[Condition] = K::conditions(obj);
        let r = status::get(c, condition::READY);
        let ready = r.is_some_and(|r| r.status == "True");
        let message = r.map(|r| r.message.clone()).unwrap_or_default();
        let detail = K::detail(obj, pushed).unwrap_or_else(|| message.clone());
        Some(Reported {
            ok: ready || K::suspended(obj),
            detail,
            message,
        })
    }

    fn status(&self, objects: &Objects, key: &ObjectKey) -> Option<Value> {
        let obj = serde_json::to_value(objects.of::<K>().get(key)?).ok()?;
        obj.get("status").filter(|s| !s.is_null()).cloned()
    }

    fn set_status(&self, objects: &mut Objects, key: &ObjectKey, status: &Value) -> bool {
        self.try_set_status(objects, key, status).unwrap_or(false)
    }

    fn try_set_status(
        &self,
        objects: &mut Objects,
        key: &ObjectKey,
        status: &Value,
    ) -> Result<bool, serde_json::Error> {
        let Some(obj) = objects.map_mut::<K>().get_mut(key) else {
            return Ok(false);
        };
        let mut v = serde_json::to_value(&*obj)?;
        v["status"] = status.clone();
        *obj = serde_json::from_value(v)?;
        Ok(true)
    }

    fn spec(&self, objects: &Objects, key: &ObjectKey) -> Option<Value> {
        let mut v = serde_json::to_value(objects.of::<K>().get(key)?).ok()?;
        if let Some(m) = v.as_object_mut() {
            m.remove("status");
        }
        Some(v)
    }

    fn remove(&self, objects: &mut Objects, key: &ObjectKey) -> bool {
        objects.touched(key);
        objects.map_mut::<K>().remove(key).is_some()
    }

    fn note_request(&self, objects: &mut Objects, key: &ObjectKey, at: &str) {
        if let Some(obj) = objects.map_mut::<K>().get_mut(key) {
            K::meta_mut(obj)
                .annotations
                .get_or_insert_with(Default::default)
                .insert(RECONCILE_REQUEST_ANNOTATION.to_string(), at.to_string());
        }
    }

    fn suspended(&self, objects: &Objects, key: &ObjectKey) -> bool {
        objects.of::<K>().get(key).is_some_and(K::suspended)
    }

    fn start(&self, cx: &dyn Cx, key: &ObjectKey, run: Run) -> Option<Job> {
        K::reconcile(key, get::<K>(cx.objects(), key)?, run, cx)
    }

    fn resources(&self, cx: &dyn Cx, key: &ObjectKey) -> Vec<String> {
        get::<K>(cx.objects(), key)
            .map(|obj| K::resources(key, obj, cx))
            .unwrap_or_default()
    }

    fn finalizes(&self) -> bool {
        K::FINALIZES
    }

    fn cleanup(&self, cx: &dyn Cx, key: &ObjectKey) -> Option<Cleanup> {
        K::cleanup(key, get::<K>(cx.objects(), key)?, cx)
    }

    fn cleanup_of(&self, cx: &dyn Cx, key: &ObjectKey, object: &Value) -> Option<Cleanup> {
        let obj: K::Object = serde_json::from_value(object.clone()).ok()?;
        K::cleanup(key, &obj, cx)
    }

    fn decode(&self, object: &Object) -> Option<Box<dyn Any + Send>> {
        K::from_manifest(object).map(|o| Box::new(o) as Box<dyn Any + Send>)
    }

    fn insert(
        &self,
        objects: &mut Objects,
        key: &ObjectKey,
        object: Box<dyn Any + Send>,
        namespace: &str,
    ) -> bool {
        let Ok(mut obj) = object.downcast::<K::Object>() else {
            return false;
        };
        K::meta_mut(&mut obj).namespace = Some(namespace.to_string());
        objects.touched(key);
        objects.map_mut::<K>().insert(key.clone(), *obj);
        true
    }

    fn derived(&self, objects: &Objects, key: &ObjectKey) -> Vec<Value> {
        objects
            .of::<K>()
            .get(key)
            .map(K::derived)
            .unwrap_or_default()
    }

    fn upsert(
        &self,
        objects: &mut Objects,
        key: &ObjectKey,
        object: Value,
    ) -> Result<Option<Trigger>, String> {
        let fail = |e: serde_json::Error| e.to_string();
        let new: K::Object = serde_json::from_value(object).map_err(fail)?;
        objects.touched(key);
        let map = objects.map_mut::<K>();
        let Some(old) = map.get(key) else {
            map.insert(key.clone(), new);
            return Ok(Some(Trigger::Dependency {
                what: "created".to_string(),
            }));
        };
        let requested = |o: &K::Object| {
            K::meta(o)
                .annotations
                .as_ref()
                .and_then(|a| a.get(RECONCILE_REQUEST_ANNOTATION))
                .cloned()
        };
        let asked = requested(&new);
        let old_v = serde_json::to_value(old).map_err(fail)?;
        let mut new_v = serde_json::to_value(&new).map_err(fail)?;
        let trigger = if asked.is_some() && asked != requested(old) {
            asked.map(|at| Trigger::Requested { at })
        } else if new_v.get("spec") != old_v.get("spec") {
            Some(Trigger::Dependency {
                what: "spec changed".to_string(),
            })
        } else {
            None
        };
        // The runner's own status stands: a watch event may trail its
        // last status write.
        new_v["status"] = old_v.get("status").cloned().unwrap_or(Value::Null);
        let new = serde_json::from_value(new_v).map_err(fail)?;
        map.insert(key.clone(), new);
        Ok(trigger)
    }
}

/// The kinds, in the order a pass runs them (sources before readers).
#[derive(Default)]
pub struct Registry {
    kinds: Vec<Box<dyn ErasedKind>>,
}

impl Registry {
    /// Serve `K` (the one line a new kind adds).
    pub fn with<K: Kind>(mut self) -> Self {
        self.kinds.push(Box::new(Erased::<K>(PhantomData)));
        self
    }

    /// The kinds ferroflux serves today.
    pub fn flux() -> Registry {
        Registry::default()
            .with::<GitRepository>()
            .with::<OCIRepository>()
            .with::<HelmRepository>()
            .with::<HelmChart>()
            .with::<Kustomization>()
            .with::<HelmRelease>()
            .with::<Receiver>()
            .with::<ImageRepository>()
            .with::<ImagePolicy>()
            .with::<ImageUpdateAutomation>()
            .with::<Provider>()
            .with::<Alert>()
    }

    pub fn kinds(&self) -> impl Iterator<Item = &dyn ErasedKind> {
        self.kinds.iter().map(|k| k.as_ref())
    }

    pub fn get(&self, kind: &str) -> Option<&dyn ErasedKind> {
        self.kinds().find(|k| k.info().kind == kind)
    }

    /// The kind names, in run order.
    pub fn order(&self) -> Vec<&'static str> {
        self.kinds().map(|k| k.info().kind).collect()
    }

    /// Every watch edge: (upstream, reader).
    pub fn edges(&self) -> Vec<(&'static str, &'static str)> {
        self.kinds()
            .flat_map(|k| {
                let reader = k.info().kind;
                k.upstreams().into_iter().map(move |u| (u, reader))
            })
            .collect()
    }
}

/// [`Registry::flux`], built once.
pub fn flux() -> &'static Registry {
    static FLUX: LazyLock<Registry> = LazyLock::new(Registry::flux);
    &FLUX
}

#[cfg(test)]
mod tests;
