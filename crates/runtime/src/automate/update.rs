//! What the runner keeps for ImageUpdateAutomations' git work: the
//! guards of their clones ([`InFlight`]) and the manifests read after a
//! push to `--repo`'s branch ([`Manifests`]).

use super::*;

/// The manifests of `--repo` at a commit an automation pushed.
pub(super) struct Manifests {
    pub(super) revision: String,
    pub(super) loaded: Result<LocalSource, crate::source::SourceError>,
}

/// Marks an automation's git work as running until dropped.
pub(super) struct InFlight {
    set: Arc<Mutex<BTreeSet<ObjectKey>>>,
    key: ObjectKey,
}

impl InFlight {
    pub(super) fn enter(
        set: &Arc<Mutex<BTreeSet<ObjectKey>>>,
        key: &ObjectKey,
    ) -> Option<InFlight> {
        let mut s = set
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        s.insert(key.clone()).then(|| InFlight {
            set: Arc::clone(set),
            key: key.clone(),
        })
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.set
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.key);
    }
}
