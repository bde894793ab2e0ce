//! The objects a home holds, seen without their kind: what each object
//! reads (its references) and, reversed, which objects read a given one.
//!
//! Flux's controllers keep the same thing as field indexes
//! (`IndexField(sourceRef)`) and map a watched source back to the objects
//! that use it; kube-rs does it with `watches(api, mapper)`. Here a
//! reference is either one object ([`Ref::Object`]) or every object of a
//! kind in a namespace ([`Ref::Namespace`]: ImageUpdateAutomation reads
//! all the ImagePolicies of its namespace). The index names no kind: the
//! references come from each kind's own rules.

use std::collections::{BTreeMap, BTreeSet};

use crate::source::ObjectKey;

pub use ferroflux_controllers::kind::Ref;

/// References and reverse references of a set of objects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Index {
    refs: BTreeMap<ObjectKey, Vec<Ref>>,
    readers: BTreeMap<ObjectKey, BTreeSet<ObjectKey>>,
    namespace_readers: BTreeMap<(String, String), BTreeSet<ObjectKey>>,
}

impl Index {
    /// Record (or replace) what `key` reads.
    pub fn insert(&mut self, key: ObjectKey, refs: Vec<Ref>) {
        self.remove(&key);
        for r in &refs {
            match r {
                Ref::Object(up) => {
                    self.readers
                        .entry(up.clone())
                        .or_default()
                        .insert(key.clone());
                }
                Ref::Namespace { kind, namespace } => {
                    self.namespace_readers
                        .entry((kind.clone(), namespace.clone()))
                        .or_default()
                        .insert(key.clone());
                }
            }
        }
        self.refs.insert(key, refs);
    }

    /// Forget `key` and what it read.
    pub fn remove(&mut self, key: &ObjectKey) {
        let Some(refs) = self.refs.remove(key) else {
            return;
        };
        for r in refs {
            match r {
                Ref::Object(up) => drop_reader(&mut self.readers, up, key),
                Ref::Namespace { kind, namespace } => {
                    drop_reader(&mut self.namespace_readers, (kind, namespace), key)
                }
            }
        }
    }

    /// After a relist of `kind`: keep only its objects in `keys`.
    pub fn reset(&mut self, kind: &str, keys: &BTreeSet<ObjectKey>) {
        let gone: Vec<ObjectKey> = self
            .refs
            .keys()
            .filter(|k| k.kind == kind && !keys.contains(k))
            .cloned()
            .collect();
        for k in gone {
            self.remove(&k);
        }
    }

    /// What `key` reads.
    pub fn refs(&self, key: &ObjectKey) -> &[Ref] {
        self.refs.get(key).map_or(&[], Vec::as_slice)
    }

    /// The objects that read `upstream`, by name or through its
    /// namespace, in key order.
    pub fn dependents(&self, upstream: &ObjectKey) -> Vec<ObjectKey> {
        let by_name = self.readers.get(upstream).into_iter().flatten();
        let by_namespace = self
            .namespace_readers
            .get(&(upstream.kind.clone(), upstream.namespace.clone()))
            .into_iter()
            .flatten();
        let all: BTreeSet<&ObjectKey> = by_name.chain(by_namespace).collect();
        all.into_iter().cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.refs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.refs.is_empty()
    }
}

fn drop_reader<K: Ord>(map: &mut BTreeMap<K, BTreeSet<ObjectKey>>, up: K, key: &ObjectKey) {
    if let Some(set) = map.get_mut(&up) {
        set.remove(key);
        if set.is_empty() {
            map.remove(&up);
        }
    }
}

#[cfg(test)]
mod tests;
