//! Kinds found by discovery and remembered: the API of an object's
//! `group/version/kind`, looked up with `pinned_kind`. A kind the
//! apiserver does not serve yet is looked up again for a while, since a
//! CRD applied a moment ago is Established shortly before its group is
//! served (controller-runtime's mapper reloads the same way). Shared by
//! the apply (`ResourceManager`) and Helm's actions.

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kube::Client;
use kube::api::GroupVersionKind;
use kube::core::GroupVersion;
use kube::discovery::{ApiCapabilities, ApiResource};

/// How often, and how far apart, a kind missing from discovery is looked
/// up before it is reported missing (about 3 s).
const DISCOVERY_ATTEMPTS: u32 = 15;
const DISCOVERY_RETRY: std::time::Duration = std::time::Duration::from_millis(200);

/// `(group, version, kind)`.
type KindKey = (String, String, String);

/// `(group, version)`.
type GroupVersionKey = (String, String);

/// The turn of one group version's lookup.
type Turn = Arc<tokio::sync::Mutex<()>>;

/// Why a kind was not found.
#[derive(Debug)]
pub enum KindError {
    /// Not served, after the retries.
    NotServed,
    /// Discovery itself failed.
    Failed(kube::Error),
}

/// Discovered kinds of one client; clones share what was found, so the
/// actions of many reconciles on one cluster look each group version up
/// once: one lookup at a time per group version, which records every kind
/// it serves, while the others wait for it instead of asking too.
#[derive(Clone)]
pub struct KindCache {
    client: Client,
    found: Arc<Mutex<HashMap<KindKey, (ApiResource, ApiCapabilities)>>>,
    lookups: Arc<Mutex<HashMap<GroupVersionKey, Turn>>>,
}

fn key(gvk: &GroupVersionKind) -> KindKey {
    (gvk.group.clone(), gvk.version.clone(), gvk.kind.clone())
}

impl KindCache {
    pub fn new(client: Client) -> KindCache {
        KindCache {
            client,
            found: Arc::new(Mutex::new(HashMap::new())),
            lookups: Arc::default(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The API of `gvk` and its scope.
    pub async fn find(
        &self,
        gvk: &GroupVersionKind,
    ) -> Result<(ApiResource, ApiCapabilities), KindError> {
        if let Some(found) = self.known(gvk) {
            return Ok(found);
        }
        let gate = Arc::clone(
            self.lookups
                .lock()
                .expect("kinds lock")
                .entry((gvk.group.clone(), gvk.version.clone()))
                .or_default(),
        );
        let _turn = gate.lock().await;
        let gv = GroupVersion::gv(&gvk.group, &gvk.version);
        let mut attempt = 0;
        loop {
            // Found while this one waited its turn, or by its last lookup.
            if let Some(found) = self.known(gvk) {
                return Ok(found);
            }
            if attempt >= DISCOVERY_ATTEMPTS {
                return Err(KindError::NotServed);
            }
            if attempt > 0 {
                tokio::time::sleep(DISCOVERY_RETRY).await;
            }
            attempt += 1;
            match kube::discovery::pinned_group(&self.client, &gv).await {
                Ok(group) => {
                    let mut found = self.found.lock().expect("kinds lock");
                    for (ar, caps) in group.versioned_resources(&gvk.version) {
                        let k = (ar.group.clone(), ar.version.clone(), ar.kind.clone());
                        // The first resource of a kind, as `pinned_kind` picks.
                        found.entry(k).or_insert((ar, caps));
                    }
                }
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(kube::Error::Discovery(_)) => {}
                Err(other) => return Err(KindError::Failed(other)),
            }
        }
    }

    fn known(&self, gvk: &GroupVersionKind) -> Option<(ApiResource, ApiCapabilities)> {
        self.found
            .lock()
            .expect("kinds lock")
            .get(&key(gvk))
            .cloned()
    }

    /// Forgets `gvk` (its scope turned out wrong for an object).
    pub fn forget(&self, gvk: &GroupVersionKind) {
        self.found.lock().expect("kinds lock").remove(&key(gvk));
    }
}
