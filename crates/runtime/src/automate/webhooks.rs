//! The webhook table the Receivers publish (their reconcile is the
//! kind's: `Kind::reconcile`).

use super::*;

impl Runner {
    pub(super) fn secret(&self, namespace: &str, name: &str) -> Result<&SecretData, String> {
        self.opts
            .secrets
            .get(namespace, name)
            .map_err(|e| e.to_string())
    }

    /// After `key` was reconciled or forgotten: a Receiver's path or
    /// token may have moved, so the webhook server gets the table again.
    pub(super) fn refresh_webhooks(&self, key: &ObjectKey) {
        if key.kind == RECEIVER {
            self.publish_receivers();
        }
    }

    /// Hand the webhook server the current paths and trigger candidates.
    pub(super) fn publish_receivers(&self) {
        let mut endpoints = BTreeMap::new();
        for (k, o) in self.objects.of::<Receiver>() {
            let Some(path) = o.status.as_ref().and_then(|s| s.webhook_path.clone()) else {
                continue;
            };
            let token = o
                .spec
                .secret_ref
                .as_ref()
                .and_then(|r| self.secret(&k.namespace, &r.name).ok())
                .and_then(|d| receiver::token_from_secret("", d).ok())
                .unwrap_or_default();
            endpoints.insert(
                path,
                Endpoint {
                    key: k.clone(),
                    spec: o.spec.clone(),
                    token,
                    serving: receiver::is_serving(o),
                },
            );
        }
        // What a Receiver may name (matched by kind, so order is free).
        let candidates = self
            .objects
            .keys()
            .into_iter()
            .filter(|k| k.kind != RECEIVER)
            .filter_map(|k| {
                let labels = self.objects.meta(&k)?.labels.clone().unwrap_or_default();
                Some(receiver::Candidate {
                    labels,
                    kind: k.kind,
                    namespace: k.namespace,
                    name: k.name,
                })
            })
            .collect();
        self.receivers.set(endpoints, candidates);
    }
}
