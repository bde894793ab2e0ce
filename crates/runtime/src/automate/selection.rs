//! The ImagePolicy job: the repository it reads, digests when asked, the
//! choice of tag. To become ImagePolicy's `Kind::reconcile`.

use super::*;

impl Runner {
    /// Start choosing one policy's latest tag (None when it left the
    /// objects).
    pub(super) fn start_policy(&mut self, key: &ObjectKey) -> Option<Work> {
        let obj = self.objects.image_policies.get(key)?;
        let repo_key = policy::repository_key(key, obj);
        let repo = policy::repository(key, obj, &self.objects).cloned();
        let obj = obj.clone();
        let started = std::time::Instant::now();
        let suspended = obj.spec.suspend == Some(true);
        let store = Arc::clone(self.state.store());
        let reflects = obj
            .spec
            .digest_reflection_policy
            .is_some_and(|p| p != ReflectionPolicy::Never);
        let digests: Box<dyn policy::DigestSource + Send> = match &repo {
            Some(r) if reflects => {
                let setup = repository::registry_auth(&repo_key, r, &self.opts.secrets)
                    .and_then(|auth| Ok((auth, self.registry_client(&repo_key, r)?)))
                    .map_err(|e| e.message().to_string());
                Box::new(digests::RegistryDigests {
                    setup,
                    handle: tokio::runtime::Handle::current(),
                })
            }
            _ => Box::new(policy::NoDigests),
        };
        let clock = Arc::clone(&self.clock);
        let status_sink = self.status_sink(key);
        Some(Box::pin(async move {
            // Blocking: redb reads, and the digest HEAD driven on this handle.
            let result = tokio::task::spawn_blocking(move || {
                policy::reconcile(
                    &obj,
                    repo.as_ref(),
                    store.as_ref(),
                    digests.as_ref(),
                    clock.as_ref(),
                    &policy::PolicyOptions::default(),
                )
            })
            .await
            .map_err(|e| AutomateError::Join(e.to_string()));
            let finished = match result {
                Ok(r) => {
                    status_sink
                        .finish(
                            started,
                            suspended,
                            &r.status,
                            Said::Event(r.event),
                            r.outcome,
                            None,
                        )
                        .await
                }
                Err(e) => Err(e),
            };
            Done::from(finished)
        }))
    }
}
