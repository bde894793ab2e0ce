//! The ImageRepository job: registry credentials and a TLS client per
//! `certSecretRef`, then the scan. To become ImageRepository's
//! `Kind::reconcile`, the clients in `Cx::stores`.

use super::*;

/// Registry clients built from `certSecretRef` TLS material, shared by every
/// ImageRepository whose Secret holds the same material; a client goes when
/// the last repository using it changes its Secret or drops the reference.
#[derive(Default)]
pub(super) struct TlsClients {
    clients: std::collections::HashMap<u64, Client>,
    used_by: BTreeMap<ObjectKey, u64>,
}

impl TlsClients {
    /// The client for this fingerprint, when one is built; `key` now uses it.
    pub(super) fn get(&mut self, key: &ObjectKey, fingerprint: u64) -> Option<Client> {
        let client = self.clients.get(&fingerprint)?.clone();
        self.use_fingerprint(key, fingerprint);
        Some(client)
    }

    pub(super) fn insert(&mut self, key: &ObjectKey, fingerprint: u64, client: Client) {
        self.clients.insert(fingerprint, client);
        self.use_fingerprint(key, fingerprint);
    }

    pub(super) fn forget(&mut self, key: &ObjectKey) {
        if let Some(old) = self.used_by.remove(key) {
            self.drop_unused(old);
        }
    }

    pub(super) fn use_fingerprint(&mut self, key: &ObjectKey, fingerprint: u64) {
        if let Some(old) = self.used_by.insert(key.clone(), fingerprint)
            && old != fingerprint
        {
            self.drop_unused(old);
        }
    }

    pub(super) fn drop_unused(&mut self, fingerprint: u64) {
        if !self.used_by.values().any(|f| *f == fingerprint) {
            self.clients.remove(&fingerprint);
        }
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.clients.len()
    }
}

impl Runner {
    /// The registry client of one ImageRepository: the shared one, or one
    /// that also trusts its `certSecretRef` CA and presents its client
    /// certificate (rebuilt when the Secret changes).
    pub(super) fn registry_client(
        &mut self,
        key: &ObjectKey,
        obj: &ImageRepository,
    ) -> Result<Client, StepError> {
        let Some(r) = &obj.spec.cert_secret_ref else {
            self.tls_clients.forget(key);
            return Ok(self.client.clone());
        };
        let name = format!("{}/{}", key.namespace, r.name);
        let data = self.secret(&key.namespace, &r.name).map_err(|e| {
            StepError::retry(
                reason::AUTHENTICATION_FAILED,
                format!("failed to configure TLS from secret '{name}': {e}"),
            )
        })?;
        let tls = repository::tls_from_secret(data, &name)?;
        let fingerprint = {
            use std::hash::{Hash as _, Hasher as _};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            (&tls.ca_pem, &tls.client_cert_pem, &tls.client_key_pem).hash(&mut h);
            h.finish()
        };
        if let Some(c) = self.tls_clients.get(key, fingerprint) {
            return Ok(c);
        }
        let opts = ferroflux_registry::Options {
            tls,
            ..self.opts.registry.clone()
        };
        let client = Client::new(opts).map_err(|e| {
            StepError::stalled(
                reason::AUTHENTICATION_FAILED,
                format!("failed to configure TLS from secret '{name}': {e}"),
            )
        })?;
        self.tls_clients.insert(key, fingerprint, client.clone());
        Ok(client)
    }

    /// Start scanning one repository (None when it left the objects).
    pub(super) fn start_repository(
        &mut self,
        key: &ObjectKey,
        requested: Option<&str>,
        force: bool,
    ) -> Option<Work> {
        let obj = self.objects.image_repositories.get_mut(key)?;
        sink::note_request(&mut obj.metadata, requested);
        let obj = obj.clone();
        let started = std::time::Instant::now();
        let setup = repository::registry_auth(key, &obj, &self.opts.secrets)
            .and_then(|auth| Ok((auth, self.registry_client(key, &obj)?)));
        let store = Arc::clone(self.state.store());
        let clock = Arc::clone(&self.clock);
        let sink = self.progress.clone();
        let status_sink = self.status_sink(key);
        Some(Box::pin(async move {
            let (status, outcome) = match setup {
                Ok((auth, client)) => {
                    let report =
                        move |image: &ferroflux_registry::ImageName,
                              p: ferroflux_registry::Progress| {
                            if let Some(sink) = &sink {
                                sink(ProgressEvent::Scan {
                                    image: image.canonical(),
                                    pages: p.pages,
                                    tags: p.tags,
                                    more: p.more,
                                });
                            }
                        };
                    let cx = repository::Context {
                        client: &client,
                        store: &store,
                        clock: clock.as_ref(),
                        progress: Some(&report),
                        force,
                    };
                    let r = repository::reconcile(&obj, &auth, &cx).await;
                    (r.status, r.outcome)
                }
                Err(e) => {
                    let mut s = obj.status.clone().unwrap_or_default();
                    let result = Err(e);
                    status::finish(
                        &mut s.conditions,
                        obj.metadata.generation,
                        clock.now_time(),
                        &result,
                    );
                    (s, status::outcome(&result, None))
                }
            };
            let suspended = obj.spec.suspend == Some(true);
            let finished = status_sink
                .finish(started, suspended, &status, Said::Ready, outcome, None)
                .await;
            Done::from(finished)
        }))
    }
}
