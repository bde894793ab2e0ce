//! Where each job writes its object's status: the runner's [`Home`]
//! (`Home::write_status`), from the job itself.

use ferroflux_controllers::kind::Reconciled;

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
    #[cfg(test)]
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

    /// Write the status of a finished reconcile, then hand back its
    /// frame (a failed write fails it there) and what it read after a
    /// push.
    pub(super) async fn finish(
        self,
        started: std::time::Instant,
        suspended: bool,
        r: Reconciled,
    ) -> Done {
        let saved = self
            .home
            .write_status(&self.key, self.old.as_ref(), &r.status)
            .await
            .map_err(|e| Box::new(AutomateError::from(e)));
        let manifests = r.read.and_then(|m| m.downcast::<Manifests>().ok());
        Done {
            finished: Ok(Box::new(Finished {
                key: self.key,
                started,
                suspended,
                status: r.status,
                said: r.said,
                outcome: r.outcome,
                pushed: r.pushed,
                saved,
            })),
            manifests,
        }
    }
}

impl Runner {
    /// Write `key`'s status as a job does (tests).
    #[cfg(test)]
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
