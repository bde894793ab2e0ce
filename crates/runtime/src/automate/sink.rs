//! Where each job writes its object's status: a merge patch in a cluster,
//! the state database otherwise. To become `Home::write_status`.

use super::*;

/// Where one object's status is written: the cluster (a merge patch from
/// the status the object had when its job started) or the state database.
/// A job writes its own result, so that up to `--concurrent` writes are
/// under way at once rather than one at a time in the runner's loop; one
/// object never has two jobs, so its writes stay in order.
pub(super) struct StatusSink {
    key: ObjectKey,
    cluster: Option<Cluster>,
    state: StatusStore,
    old: Option<serde_json::Value>,
}

impl StatusSink {
    pub(super) async fn write<T: serde::Serialize + Send + 'static>(
        self,
        status: T,
    ) -> Result<(), AutomateError> {
        let key = self.key;
        if let Some(cluster) = &self.cluster {
            let new = serde_json::to_value(&status).map_err(|e| {
                AutomateError::Join(format!("status of {key} does not encode: {e}"))
            })?;
            cluster.write_status(&key, self.old.as_ref(), &new).await?;
            return Ok(());
        }
        let st = self.state;
        tokio::task::spawn_blocking(move || st.put_status(&key, &status))
            .await
            .map_err(|e| AutomateError::Join(e.to_string()))??;
        Ok(())
    }
}

impl Runner {
    pub(super) async fn save<T: serde::Serialize + Send + 'static>(
        &self,
        key: &ObjectKey,
        status: T,
    ) -> Result<(), AutomateError> {
        self.status_sink(key).write(status).await
    }

    /// Where `key`'s next status goes, for a job to write it itself.
    pub(super) fn status_sink(&self, key: &ObjectKey) -> StatusSink {
        StatusSink {
            key: key.clone(),
            cluster: self.cluster.clone(),
            state: self.state.clone(),
            old: self
                .cluster
                .as_ref()
                .and_then(|_| self.objects.status_json(key)),
        }
    }
}
