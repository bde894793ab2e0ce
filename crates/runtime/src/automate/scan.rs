//! The registry clients the runner lends ImageRepositories and
//! ImagePolicies ([`Cx::registry_client`](ferroflux_controllers::kind::Cx)):
//! the shared one, or one per `certSecretRef`'s TLS material.

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
    fn tls(&self) -> std::sync::MutexGuard<'_, TlsClients> {
        self.tls_clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The registry client of one ImageRepository: the shared one, or one
    /// that also trusts its `certSecretRef` CA and presents its client
    /// certificate (rebuilt when the Secret changes).
    pub(super) fn registry_client(
        &self,
        key: &ObjectKey,
        obj: &ImageRepository,
    ) -> Result<Client, StepError> {
        let Some(r) = &obj.spec.cert_secret_ref else {
            self.tls().forget(key);
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
        if let Some(c) = self.tls().get(key, fingerprint) {
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
        self.tls().insert(key, fingerprint, client.clone());
        Ok(client)
    }
}
