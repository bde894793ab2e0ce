//! Helm's Secret storage driver (`pkg/storage/driver/secrets.go` with
//! `pkg/storage/storage.go` on top): one Secret
//! `sh.helm.release.v1.<name>.v<N>` of type `helm.sh/release.v1` per
//! revision in the storage namespace, `data.release` =
//! base64(gzip(JSON)), labelled `name`, `owner=helm`, `status`, `version`
//! and `createdAt` (create) or `modifiedAt` (update). Records are kept as
//! their JSON so that fields ferroflux does not model (written by another
//! helm) survive an update.

use std::collections::BTreeMap;
use std::io::Write as _;

use base64::Engine as _;
use ferroflux_helm::release::{self, Record, SYSTEM_LABELS};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, PostParams};
use serde_json::Value;

/// The Secret type Helm's driver writes.
pub const SECRET_TYPE: &str = "helm.sh/release.v1";

/// Why the storage failed; messages name the release and revision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// `driver.ErrReleaseExists`.
    #[error("create: failed to create: release {key}: already exists")]
    Exists { key: String },
    #[error("{op} release {key}: {message}")]
    Api {
        op: &'static str,
        key: String,
        message: String,
    },
    /// A stored record that does not decode (`get` only; lists skip it).
    #[error("release {key}: {message}")]
    Corrupt { key: String, message: String },
    /// `user supplied labels contains system reserved label name`.
    #[error(
        "user supplied labels contains system reserved label name. System labels: [name owner status version createdAt modifiedAt]"
    )]
    SystemLabel,
}

/// A record with the user labels of its Secret (`release.Labels`).
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub record: Record,
    pub labels: BTreeMap<String, String>,
}

/// The releases of one storage namespace.
#[derive(Clone)]
pub struct Storage {
    api: Api<Secret>,
    namespace: String,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

/// base64(gzip -9 (JSON)) of a record as JSON, Helm's `encodeRelease`.
pub fn encode(json: &Value) -> String {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing to a Vec cannot fail.
    let _ = gz.write_all(json.to_string().as_bytes());
    let bytes = gz.finish().unwrap_or_default();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The labels of a record's Secret: the user's plus Helm's own (without
/// the time label).
pub fn labels_of(json: &Value, user: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut labels = user.clone();
    labels.insert(
        "name".into(),
        json["name"].as_str().unwrap_or_default().into(),
    );
    labels.insert("owner".into(), "helm".into());
    labels.insert(
        "status".into(),
        json["info"]["status"].as_str().unwrap_or_default().into(),
    );
    labels.insert(
        "version".into(),
        json["version"].as_i64().unwrap_or(0).to_string(),
    );
    labels
}

/// Refuses user labels that use Helm's system names.
pub fn check_user_labels(user: &BTreeMap<String, String>) -> Result<(), StorageError> {
    if user.keys().any(|k| SYSTEM_LABELS.contains(&k.as_str())) {
        return Err(StorageError::SystemLabel);
    }
    Ok(())
}

/// The apiserver's own message (`secrets "x" not found`), not kube-rs's
/// wrapping of its whole Status.
fn api_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    }
}

fn key_of(json: &Value) -> String {
    release::storage_name(
        json["name"].as_str().unwrap_or_default(),
        json["version"].as_i64().unwrap_or(0),
    )
}

fn now_unix() -> String {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        .to_string()
}

/// Reads one Secret: its record and user labels.
pub fn read_secret(secret: &Secret) -> Result<Stored, StorageError> {
    let key = secret.metadata.name.clone().unwrap_or_default();
    let corrupt = |message: String| StorageError::Corrupt {
        key: key.clone(),
        message,
    };
    let data = secret
        .data
        .as_ref()
        .and_then(|d| d.get("release"))
        .ok_or_else(|| corrupt("no data.release".into()))?;
    let text = std::str::from_utf8(&data.0).map_err(|e| corrupt(format!("not text: {e}")))?;
    let record = release::decode(text).map_err(|e| corrupt(e.to_string()))?;
    // The actions edit records in place: anything but a JSON object (a
    // hostile or broken Secret) is refused here, not met by a panic there.
    if !record.json.is_object()
        || !record.json["info"].is_object() && !record.json["info"].is_null()
    {
        return Err(corrupt("not a release object".into()));
    }
    let labels = secret
        .metadata
        .labels
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| !SYSTEM_LABELS.contains(&k.as_str()))
        .collect();
    Ok(Stored { record, labels })
}

impl Storage {
    pub fn new(client: Client, namespace: &str) -> Storage {
        Storage {
            api: Api::namespaced(client, namespace),
            namespace: namespace.to_string(),
        }
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    fn secret(json: &Value, labels: BTreeMap<String, String>) -> Secret {
        Secret {
            metadata: ObjectMeta {
                name: Some(key_of(json)),
                labels: Some(labels),
                ..ObjectMeta::default()
            },
            type_: Some(SECRET_TYPE.into()),
            data: Some(BTreeMap::from([(
                "release".to_string(),
                ByteString(encode(json).into_bytes()),
            )])),
            ..Secret::default()
        }
    }

    /// `Storage.Create`: prunes the history down to `max_history - 1`
    /// first when `max_history > 0`, then creates the record (labelled
    /// `createdAt`).
    pub async fn create(
        &self,
        json: &Value,
        user: &BTreeMap<String, String>,
        max_history: i64,
    ) -> Result<(), StorageError> {
        check_user_labels(user)?;
        let name = json["name"].as_str().unwrap_or_default();
        if max_history > 0 {
            self.remove_least_recent(name, max_history - 1).await?;
        }
        let mut labels = labels_of(json, user);
        labels.insert("createdAt".into(), now_unix());
        let key = key_of(json);
        match self
            .api
            .create(&PostParams::default(), &Self::secret(json, labels))
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 409 => Err(StorageError::Exists { key }),
            Err(e) => Err(StorageError::Api {
                op: "create",
                key,
                message: api_message(&e),
            }),
        }
    }

    /// `Storage.Update`: the whole Secret replaced, `createdAt` dropped,
    /// `modifiedAt` set.
    pub async fn update(
        &self,
        json: &Value,
        user: &BTreeMap<String, String>,
    ) -> Result<(), StorageError> {
        let mut labels = labels_of(json, user);
        labels.insert("modifiedAt".into(), now_unix());
        let key = key_of(json);
        self.api
            .replace(&key, &PostParams::default(), &Self::secret(json, labels))
            .await
            .map(|_| ())
            .map_err(|e| StorageError::Api {
                op: "update",
                key,
                message: api_message(&e),
            })
    }

    /// `Storage.Get(name, version)`.
    pub async fn get(&self, name: &str, version: i64) -> Result<Option<Stored>, StorageError> {
        let key = release::storage_name(name, version);
        let found = self
            .api
            .get_opt(&key)
            .await
            .map_err(|e| StorageError::Api {
                op: "get",
                key: key.clone(),
                message: api_message(&e),
            })?;
        found.as_ref().map(read_secret).transpose()
    }

    async fn list(&self, name: &str, selector: &str) -> Result<Vec<Stored>, StorageError> {
        let params = ListParams::default().labels(selector);
        let list = self
            .api
            .list(&params)
            .await
            .map_err(|e| StorageError::Api {
                op: "list",
                key: name.to_string(),
                message: api_message(&e),
            })?;
        let mut out: Vec<Stored> = list
            .items
            .iter()
            .filter_map(|s| read_secret(s).ok())
            .collect();
        out.sort_by_key(|s| s.record.version);
        Ok(out)
    }

    /// `Storage.History(name)`, oldest first; undecodable records skipped.
    pub async fn history(&self, name: &str) -> Result<Vec<Stored>, StorageError> {
        self.list(name, &format!("name={name},owner=helm")).await
    }

    /// `Storage.Last(name)`.
    pub async fn last(&self, name: &str) -> Result<Option<Stored>, StorageError> {
        Ok(self.history(name).await?.pop())
    }

    /// `Storage.Deployed(name)`: the highest deployed revision.
    pub async fn deployed(&self, name: &str) -> Result<Option<Stored>, StorageError> {
        Ok(self
            .list(name, &format!("name={name},owner=helm,status=deployed"))
            .await?
            .pop())
    }

    /// `Storage.Delete(name, version)`; a record already gone is no error.
    pub async fn delete(&self, name: &str, version: i64) -> Result<(), StorageError> {
        let key = release::storage_name(name, version);
        match self.api.delete(&key, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(StorageError::Api {
                op: "delete",
                key,
                message: api_message(&e),
            }),
        }
    }

    /// `removeLeastRecent`: oldest revisions deleted until `keep` remain,
    /// never the last deployed one.
    async fn remove_least_recent(&self, name: &str, keep: i64) -> Result<(), StorageError> {
        if keep < 0 {
            return Ok(());
        }
        let history = self.history(name).await?;
        let keep = usize::try_from(keep).unwrap_or(usize::MAX);
        if history.len() <= keep {
            return Ok(());
        }
        let deployed = self.deployed(name).await?.map(|s| s.record.version);
        let doomed = prune_plan(&history, keep, deployed);
        for version in doomed {
            self.delete(name, version).await?;
        }
        Ok(())
    }
}

/// Which revisions `removeLeastRecent` deletes: oldest first, until `keep`
/// remain, skipping the last deployed one.
pub fn prune_plan(history: &[Stored], keep: usize, deployed: Option<i64>) -> Vec<i64> {
    let mut doomed = Vec::new();
    for s in history {
        if history.len() - doomed.len() <= keep {
            break;
        }
        if Some(s.record.version) != deployed {
            doomed.push(s.record.version);
        }
    }
    doomed
}
