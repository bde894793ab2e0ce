//! Where each job writes its object's status: the runner's [`Home`]
//! (`Home::write_status`), from the job itself.

use super::*;

/// Where one object's status is written, with the status the object had
/// when its job started (a home that patches writes the difference). A job
/// writes its own result, so that up to `--concurrent` writes are under way
/// at once rather than one at a time in the runner's loop; one object never
/// has two jobs, so its writes stay in order.
pub(super) struct StatusSink {
    key: ObjectKey,
    home: Arc<dyn Home>,
    old: Option<serde_json::Value>,
}

impl StatusSink {
    pub(super) async fn write<T: serde::Serialize + Send + 'static>(
        self,
        status: T,
    ) -> Result<(), AutomateError> {
        let key = self.key;
        let new = serde_json::to_value(&status)
            .map_err(|e| AutomateError::Join(format!("status of {key} does not encode: {e}")))?;
        self.home
            .write_status(&key, self.old.as_ref(), &new)
            .await?;
        Ok(())
    }
}

impl Runner {
    pub(crate) async fn save<T: serde::Serialize + Send + 'static>(
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
            home: Arc::clone(&self.home),
            old: self.objects.status_json(key),
        }
    }
}
