//! Where each job writes its object's status: the runner's [`Home`]
//! (`Home::write_status`), from the job itself.

use ferroflux_api::meta::ObjectMeta;

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

    /// Write a job's `status`, then hand back the frame of its finished
    /// reconcile (a failed write fails it there).
    pub(super) async fn finish<T: serde::Serialize + Clone + Send + 'static>(
        self,
        started: std::time::Instant,
        suspended: bool,
        status: &T,
        said: Said,
        outcome: Outcome,
        pushed: Option<String>,
    ) -> Result<Box<Finished>, AutomateError> {
        let key = self.key.clone();
        let saved = self.write(status.clone()).await.map_err(Box::new);
        Finished::new(
            &key, started, suspended, status, said, outcome, pushed, saved,
        )
        .map(Box::new)
    }
}

/// `reconcile.fluxcd.io/requestedAt` as the request that runs a job (so
/// the reconcile records it as handled).
pub(super) fn note_request(meta: &mut ObjectMeta, requested: Option<&str>) {
    if let Some(at) = requested {
        meta.annotations
            .get_or_insert_with(Default::default)
            .insert(RECONCILE_REQUEST_ANNOTATION.to_string(), at.to_string());
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
