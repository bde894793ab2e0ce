//! `ferroflux controller`: the runner fed by Kubernetes watches.
//!
//! Until every kind is listed the runner only collects objects (as an
//! informer cache syncs); then it runs one pass in the order of
//! `automate --once`, and from there follows two sources: watch changes
//! (a new object, a changed spec or a new `reconcile.fluxcd.io/requestedAt`
//! runs the object now; a deleted one leaves the schedule) and the
//! scheduler (intervals, retries, the triggers between kinds).

use std::collections::BTreeMap;

use ferroflux_api::meta::ObjectMeta;
use tokio::sync::mpsc;

use super::*;
use crate::cluster::{ALERT, Change, KINDS, PROVIDER};
use crate::source::Origin;

const V1_IMAGE: &str = "image.toolkit.fluxcd.io/v1";
const V1_NOTIFICATION: &str = "notification.toolkit.fluxcd.io/v1";
const V1BETA3_NOTIFICATION: &str = "notification.toolkit.fluxcd.io/v1beta3";
const V1_SOURCE: &str = "source.toolkit.fluxcd.io/v1";

/// Take a watched object of one kind into `self.objects.$map` (see
/// [`upsert`]); yields its key and why it must run now, if it must.
macro_rules! upsert_kind {
    ($self:ident, $map:ident, $kind:expr, $obj:expr, $version:expr) => {{
        let obj = $obj;
        let key = key_of($kind, &obj.metadata);
        $self.origin(&key, $version);
        let t = upsert(
            &mut $self.objects.$map,
            &key,
            obj,
            |o| &o.metadata,
            |a, b| a.spec == b.spec,
            |new, old| new.status = old.status.clone(),
        );
        (key, t)
    }};
}

enum Next {
    Stop,
    Change(Option<Change>),
    Finished(ObjectKey, Result<Done, String>),
    Due(ObjectKey, Trigger),
}

impl Runner {
    /// Reconcile the cluster's objects until `shutdown` resolves; the
    /// running step always finishes first. Requires [`Runner::in_cluster`].
    pub async fn control(
        &mut self,
        mut sched: Scheduler,
        mut changes: mpsc::Receiver<Change>,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), AutomateError> {
        tokio::pin!(shutdown);
        let mut pending: BTreeSet<&'static str> = KINDS.into_iter().collect();
        while !pending.is_empty() {
            let change = tokio::select! {
                biased;
                () = &mut shutdown => return Ok(()),
                c = changes.recv() => c.ok_or(AutomateError::WatchClosed)?,
            };
            if let Change::Synced { kind, .. } = &change {
                pending.remove(kind);
            }
            self.apply_change(change, None);
        }
        tracing::info!(objects = self.objects.len(), "watches synced");
        self.pass(false).await?;
        for key in self.objects.keys() {
            let after = self.first_delay(&key);
            sched.schedule_after(key, after);
        }
        tracing::info!("first pass done");
        let mut jobs: Jobs<Done> = Jobs::new(self.opts.concurrent);
        loop {
            let next = tokio::select! {
                biased;
                () = &mut shutdown => Next::Stop,
                c = changes.recv() => Next::Change(c),
                Some((key, done)) = jobs.join_next(), if !jobs.is_empty() => Next::Finished(key, done),
                (key, trigger) = sched.next(), if jobs.has_room() => Next::Due(key, trigger),
            };
            match next {
                Next::Stop => break,
                Next::Change(None) => {
                    self.drain(&mut sched, &mut jobs).await;
                    return Err(AutomateError::WatchClosed);
                }
                Next::Change(Some(c)) => self.apply_change(c, Some(&mut sched)),
                Next::Finished(key, done) => {
                    if let Err(e) = self.settle(&mut sched, &mut jobs, key.clone(), done).await {
                        tracing::error!(object = %key, "{e}");
                    }
                }
                Next::Due(key, trigger) => {
                    if let Err(e) = self.step(&mut sched, &mut jobs, key.clone(), trigger).await {
                        tracing::error!(object = %key, "{e}");
                    }
                }
            }
        }
        tracing::info!(running = jobs.running(), "shutting down");
        self.drain(&mut sched, &mut jobs).await;
        Ok(())
    }

    /// Take one watch change into the objects; with a scheduler (after the
    /// first pass), run what it concerns.
    pub(crate) fn apply_change(&mut self, change: Change, mut sched: Option<&mut Scheduler>) {
        if let Some((key, ours, cleanup)) = finalizers::terminating(&change) {
            self.on_terminating(key, ours, cleanup, sched.as_deref_mut());
            return;
        }
        let mut run = |key: ObjectKey, trigger: Option<Trigger>| {
            if let (Some(s), Some(t)) = (sched.as_deref_mut(), trigger) {
                tracing::debug!(object = %key, ?t, "watch event");
                s.trigger(key, t);
            }
        };
        match change {
            Change::Repository(o) => {
                let (key, t) =
                    upsert_kind!(self, image_repositories, IMAGE_REPOSITORY, *o, V1_IMAGE);
                run(key, t);
            }
            Change::Policy(o) => {
                let (key, t) = upsert_kind!(self, image_policies, IMAGE_POLICY, *o, V1_IMAGE);
                run(key, t);
            }
            Change::Automation(o, version) => {
                let (key, t) =
                    upsert_kind!(self, automations, IMAGE_UPDATE_AUTOMATION, *o, &version);
                run(key, t);
            }
            Change::Kustomization(o, version) => {
                let meta = o.metadata.clone();
                let (key, t) = upsert_kind!(self, kustomizations, KUSTOMIZATION, *o, &version);
                self.ensure_finalizer(&key, &meta);
                run(key, t);
            }
            Change::Receiver(o) => {
                let (key, t) = upsert_kind!(self, receivers, RECEIVER, *o, V1_NOTIFICATION);
                run(key, t);
            }
            // Held for the event bus; nothing runs.
            Change::Provider(o) => {
                let key = key_of(PROVIDER, &o.metadata);
                self.origin(&key, V1BETA3_NOTIFICATION);
                self.objects.providers.insert(key, *o);
            }
            Change::Alert(o) => {
                let key = key_of(ALERT, &o.metadata);
                self.origin(&key, V1BETA3_NOTIFICATION);
                self.objects.alerts.insert(key, *o);
            }
            Change::GitRepository(o) => {
                let meta = o.metadata.clone();
                let (key, t) = upsert_kind!(self, git_repositories, GIT_REPOSITORY, *o, V1_SOURCE);
                self.ensure_finalizer(&key, &meta);
                if t.is_some() {
                    // The automations that push through it read its spec;
                    // the others wait for its next artifact.
                    for a in triggers::dependents(&self.objects, &key) {
                        if a.kind == IMAGE_UPDATE_AUTOMATION {
                            run(
                                a,
                                Some(Trigger::Dependency {
                                    what: triggers::reason(&key),
                                }),
                            );
                        }
                    }
                }
                run(key, t);
            }
            Change::Deleted(key) => {
                self.forget(&key, sched.as_deref_mut());
            }
            Change::Synced { kind, keys } => {
                let gone: Vec<ObjectKey> = self
                    .objects
                    .keys()
                    .into_iter()
                    .filter(|k| k.kind == kind && !keys.contains(k))
                    .collect();
                for k in gone {
                    self.forget(&k, sched.as_deref_mut());
                }
            }
            Change::Secret {
                namespace,
                name,
                data,
            } => {
                match data {
                    Some(d) => self.opts.secrets.insert(&namespace, &name, d),
                    None => self.opts.secrets.remove(&namespace, &name),
                }
                // A Receiver's token changed: reconcile it (and so serve
                // the new token, or stop serving a deleted one).
                let secret = ObjectKey::new(triggers::SECRET, &namespace, &name);
                for k in triggers::dependents(&self.objects, &secret) {
                    run(
                        k,
                        Some(Trigger::Dependency {
                            what: triggers::reason(&secret),
                        }),
                    );
                }
            }
        }
    }

    fn origin(&mut self, key: &ObjectKey, api_version: &str) {
        self.objects.origins.insert(
            key.clone(),
            Origin {
                file: PathBuf::from(format!("cluster://{}", key)),
                line: 0,
                api_version: api_version.to_string(),
            },
        );
    }

    /// A deleted object: it leaves the objects and the schedule, and what
    /// it leaves behind is cleaned up unless our finalizer did it already.
    fn forget(&mut self, key: &ObjectKey, sched: Option<&mut Scheduler>) {
        let unfinalized = |meta: &ObjectMeta| !finalizers::has_finalizer(meta);
        let repository = self
            .objects
            .git_repositories
            .get(key)
            .filter(|g| unfinalized(&g.metadata))
            .cloned();
        let kustomization = self
            .objects
            .kustomizations
            .get(key)
            .filter(|k| unfinalized(&k.metadata))
            .cloned();
        if !self.forget_quietly(key, sched) {
            return;
        }
        if let Some(repo) = repository {
            self.delete_artifacts(repo);
        }
        if let Some(ks) = kustomization {
            self.finalize_kustomization(ks);
        }
    }

    /// `key` leaves the objects, the schedule and the metrics; false when
    /// it was not there.
    pub(super) fn forget_quietly(
        &mut self,
        key: &ObjectKey,
        sched: Option<&mut Scheduler>,
    ) -> bool {
        if !self.objects.remove(key) {
            return false;
        }
        tracing::info!(object = %key, "deleted");
        self.pushed.remove(key);
        self.failures.remove(key);
        self.metrics.record_deleted(key);
        if let Some(s) = sched {
            s.remove(key);
        }
        if key.kind == RECEIVER {
            self.publish_receivers();
        }
        true
    }
}

fn key_of(kind: &str, meta: &ObjectMeta) -> ObjectKey {
    ObjectKey::new(
        kind,
        meta.namespace.as_deref().unwrap_or("default"),
        meta.name.as_deref().unwrap_or_default(),
    )
}

fn requested(meta: &ObjectMeta) -> Option<String> {
    meta.annotations
        .as_ref()
        .and_then(|a| a.get(RECONCILE_REQUEST_ANNOTATION))
        .cloned()
}

/// Insert or update `new`, keeping the runner's own status of a known
/// object (a watch event may trail the runner's last status write);
/// returns why the object must run now, if it must.
fn upsert<T>(
    map: &mut BTreeMap<ObjectKey, T>,
    key: &ObjectKey,
    mut new: T,
    meta: fn(&T) -> &ObjectMeta,
    same_spec: fn(&T, &T) -> bool,
    keep_status: fn(&mut T, &T),
) -> Option<Trigger> {
    let trigger = match map.get(key) {
        None => Some(Trigger::Dependency {
            what: "created".to_string(),
        }),
        Some(old) => {
            keep_status(&mut new, old);
            let asked = requested(meta(&new));
            if asked.is_some() && asked != requested(meta(old)) {
                asked.map(|at| Trigger::Requested { at })
            } else if !same_spec(old, &new) {
                Some(Trigger::Dependency {
                    what: "spec changed".to_string(),
                })
            } else {
                None
            }
        }
    };
    map.insert(key.clone(), new);
    trigger
}

#[cfg(test)]
mod tests;
