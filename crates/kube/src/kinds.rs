//! Kinds found by discovery and remembered: the API of an object's
//! `group/version/kind`, looked up with `pinned_kind`. A kind the
//! apiserver does not serve yet is looked up again for a while, since a
//! CRD applied a moment ago is Established shortly before its group is
//! served (controller-runtime's mapper reloads the same way). Shared by
//! the apply (`ResourceManager`) and Helm's actions.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kube::Client;
use kube::api::GroupVersionKind;
use kube::discovery::{ApiCapabilities, ApiResource};

/// How often, and how far apart, a kind missing from discovery is looked
/// up before it is reported missing (about 3 s).
const DISCOVERY_ATTEMPTS: u32 = 15;
const DISCOVERY_RETRY: std::time::Duration = std::time::Duration::from_millis(200);

/// `(group, version, kind)`.
type KindKey = (String, String, String);

/// Why a kind was not found.
#[derive(Debug)]
pub enum KindError {
    /// Not served, after the retries.
    NotServed,
    /// Discovery itself failed.
    Failed(kube::Error),
}

/// Discovered kinds of one client; clones share what was found, so the
/// actions of many reconciles on one cluster look each kind up once.
#[derive(Clone)]
pub struct KindCache {
    client: Client,
    found: Arc<Mutex<HashMap<KindKey, (ApiResource, ApiCapabilities)>>>,
}

fn key(gvk: &GroupVersionKind) -> KindKey {
    (gvk.group.clone(), gvk.version.clone(), gvk.kind.clone())
}

impl KindCache {
    pub fn new(client: Client) -> KindCache {
        KindCache {
            client,
            found: Arc::new(Mutex::new(HashMap::new())),
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
        if let Some(found) = self.found.lock().expect("kinds lock").get(&key(gvk)) {
            return Ok(found.clone());
        }
        let mut attempt = 0;
        let found = loop {
            match kube::discovery::pinned_kind(&self.client, gvk).await {
                Ok(found) => break found,
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(kube::Error::Discovery(_)) => {}
                Err(other) => return Err(KindError::Failed(other)),
            }
            attempt += 1;
            if attempt >= DISCOVERY_ATTEMPTS {
                return Err(KindError::NotServed);
            }
            tokio::time::sleep(DISCOVERY_RETRY).await;
        };
        self.found
            .lock()
            .expect("kinds lock")
            .insert(key(gvk), found.clone());
        Ok(found)
    }

    /// Forgets `gvk` (its scope turned out wrong for an object).
    pub fn forget(&self, gvk: &GroupVersionKind) {
        self.found.lock().expect("kinds lock").remove(&key(gvk));
    }
}
