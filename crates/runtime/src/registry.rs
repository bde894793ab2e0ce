//! The kinds the runtime serves, in run order, each behind one
//! kind-agnostic interface ([`ErasedKind`], a blanket implementation over
//! [`Kind`]). A new kind is one `impl Kind` in `ferroflux-controllers`, a
//! map in [`Objects`] and one `.with::<K>()` line in [`Registry::flux`];
//! this is the only runtime module (with [`source`](crate::source)'s maps)
//! that names kinds.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::LazyLock;

use ferroflux_api::image::{ImagePolicy, ImageRepository, ImageUpdateAutomation};
use ferroflux_api::kustomize::Kustomization;
use ferroflux_api::meta::{Condition, ObjectMeta, condition};
use ferroflux_api::notification::{Alert, Provider, Receiver};
use ferroflux_api::source::GitRepository;
use ferroflux_controllers::kind::{FirstRun, Kind, KindInfo, Ref};
use ferroflux_controllers::status;
use serde_json::Value;

use crate::source::{ObjectKey, Objects};

/// Where [`Objects`] keeps the objects of a kind.
pub trait Held: Kind {
    fn map(objects: &Objects) -> &BTreeMap<ObjectKey, Self::Object>;
    fn map_mut(objects: &mut Objects) -> &mut BTreeMap<ObjectKey, Self::Object>;
}

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
    /// Whether a status change of an `upstream` object runs its readers
    /// of this kind.
    fn moved(&self, upstream: &str, old: Option<&Value>, new: Option<&Value>) -> bool;
    fn first_run(&self, objects: &Objects, key: &ObjectKey) -> Option<FirstRun>;
    fn report(&self, objects: &Objects, key: &ObjectKey, pushed: Option<&str>) -> Option<Reported>;
    fn status(&self, objects: &Objects, key: &ObjectKey) -> Option<Value>;
    /// Give `key` this encoded status; false when gone or not decodable.
    fn set_status(&self, objects: &mut Objects, key: &ObjectKey, status: &Value) -> bool;
    /// The object without its status (what decides a re-read matters).
    fn spec(&self, objects: &Objects, key: &ObjectKey) -> Option<Value>;
    fn remove(&self, objects: &mut Objects, key: &ObjectKey) -> bool;
}

struct Erased<K>(PhantomData<fn() -> K>);

impl<K: Held> ErasedKind for Erased<K> {
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
        K::map(objects).keys().cloned().collect()
    }

    fn meta<'a>(&self, objects: &'a Objects, key: &ObjectKey) -> Option<&'a ObjectMeta> {
        K::map(objects).get(key).map(K::meta)
    }

    fn any<'a>(&self, objects: &'a Objects, key: &ObjectKey) -> Option<&'a dyn std::any::Any> {
        K::map(objects).get(key).map(|o| o as &dyn std::any::Any)
    }

    fn refs(&self, objects: &Objects, key: &ObjectKey) -> Vec<Ref> {
        let Some(obj) = K::map(objects).get(key) else {
            return Vec::new();
        };
        K::watches()
            .iter()
            .flat_map(|w| (w.refs)(key, obj))
            .collect()
    }

    fn moved(&self, upstream: &str, old: Option<&Value>, new: Option<&Value>) -> bool {
        K::watches()
            .iter()
            .any(|w| w.upstream == upstream && (w.when)(old, new))
    }

    fn first_run(&self, objects: &Objects, key: &ObjectKey) -> Option<FirstRun> {
        K::map(objects).get(key).map(K::first_run)
    }

    fn report(&self, objects: &Objects, key: &ObjectKey, pushed: Option<&str>) -> Option<Reported> {
        let obj = K::map(objects).get(key)?;
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
        let obj = serde_json::to_value(K::map(objects).get(key)?).ok()?;
        obj.get("status").filter(|s| !s.is_null()).cloned()
    }

    fn set_status(&self, objects: &mut Objects, key: &ObjectKey, status: &Value) -> bool {
        let Some(obj) = K::map_mut(objects).get_mut(key) else {
            return false;
        };
        let Ok(mut v) = serde_json::to_value(&*obj) else {
            return false;
        };
        v["status"] = status.clone();
        match serde_json::from_value(v) {
            Ok(o) => {
                *obj = o;
                true
            }
            Err(_) => false,
        }
    }

    fn spec(&self, objects: &Objects, key: &ObjectKey) -> Option<Value> {
        let mut v = serde_json::to_value(K::map(objects).get(key)?).ok()?;
        if let Some(m) = v.as_object_mut() {
            m.remove("status");
        }
        Some(v)
    }

    fn remove(&self, objects: &mut Objects, key: &ObjectKey) -> bool {
        K::map_mut(objects).remove(key).is_some()
    }
}

/// The kinds, in the order a pass runs them (sources before readers).
#[derive(Default)]
pub struct Registry {
    kinds: Vec<Box<dyn ErasedKind>>,
}

impl Registry {
    /// Serve `K` (the one line a new kind adds).
    pub fn with<K: Held>(mut self) -> Self {
        self.kinds.push(Box::new(Erased::<K>(PhantomData)));
        self
    }

    /// The kinds ferroflux serves today.
    pub fn flux() -> Registry {
        Registry::default()
            .with::<GitRepository>()
            .with::<Kustomization>()
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
