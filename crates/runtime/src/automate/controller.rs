//! `ferroflux controller`: the runner fed by Kubernetes watches.
//!
//! Until every kind is listed the runner only collects objects (as an
//! informer cache syncs); then it runs one pass in the order of
//! `automate --once`, and from there follows two sources: watch changes
//! (a new object, a changed spec or a new `reconcile.fluxcd.io/requestedAt`
//! runs the object now; a deleted one leaves the schedule) and the
//! scheduler (intervals, retries, the triggers between kinds).

use super::*;
use crate::cluster::{Change, Changes, SECRET, made_key};
use crate::source::Origin;

/// How long a maker whose made object is still to come waits for it
/// before it runs anyway (and says what is missing).
const MADE_GRACE: Duration = Duration::from_secs(5);

enum Next {
    Stop,
    Change(Option<Change>),
    Finished(ObjectKey, Result<Done, String>),
    Due(ObjectKey, Trigger),
    Parked,
}

impl Runner {
    /// Reconcile the cluster's objects until `shutdown` resolves; the
    /// running step always finishes first. Requires [`Runner::in_cluster`].
    pub async fn control(
        &mut self,
        mut sched: Scheduler,
        mut changes: Changes,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), AutomateError> {
        tokio::pin!(shutdown);
        let mut pending: BTreeSet<&'static str> = self
            .registry()
            .kinds()
            .map(|k| k.info().kind)
            .chain([SECRET])
            .collect();
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
        let wakeups = jobs.wakeups();
        loop {
            let next = tokio::select! {
                biased;
                () = &mut shutdown => Next::Stop,
                c = changes.recv() => Next::Change(c),
                Some((key, done)) = jobs.join_next(), if !jobs.is_empty() => Next::Finished(key, done),
                () = wakeups.freed(), if !jobs.is_empty() => Next::Parked,
                (key, trigger) = sched.next(), if jobs.has_room() => Next::Due(key, trigger),
            };
            match next {
                Next::Stop => break,
                Next::Change(None) => {
                    self.drain(&mut sched, &mut jobs).await;
                    return Err(AutomateError::WatchClosed);
                }
                Next::Change(Some(c)) => self.apply_change(c, Some(&mut sched)),
                Next::Parked => {
                    // A job waits parked: its worker may take a deferred one.
                    for (k, t) in jobs.take_deferred() {
                        sched.trigger(k, t);
                    }
                }
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
        if let Some((key, ours, cleanup)) = self.terminating(&change) {
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
            Change::Object {
                key,
                object,
                version,
            } => {
                let Some(kind) = self.registry().get(&key.kind) else {
                    return;
                };
                let t = match kind.upsert(&mut self.objects, &key, *object) {
                    Ok(t) => t,
                    Err(e) => {
                        tracing::warn!(object = %key, "not read: {e}");
                        return;
                    }
                };
                self.origin(&key, &version);
                if let Some(meta) = self.objects.meta(&key) {
                    self.ensure_finalizer(&key, meta);
                }
                // What its spec makes (`Kind::derived`). Made
                // afresh, the maker waits for it instead of failing first
                // on its absence: the made object's status runs the maker
                // (a dependency), or the grace ends and the maker says
                // what is missing.
                let mut fresh = false;
                if t.is_some() {
                    let made = kind.derived(&self.objects, &key);
                    fresh = !made.is_empty()
                        && made
                            .iter()
                            .all(|o| self.objects.meta(&made_key(o)).is_none());
                    self.make(&key, made);
                }
                if t.is_some() {
                    // The readers of its spec run now (the automations
                    // that push through a Git source); the others wait
                    // for what its status says next.
                    for d in triggers::dependents(&self.objects, &key) {
                        let reads_spec = self
                            .registry()
                            .get(&d.kind)
                            .is_some_and(|k| k.reads_spec(&key.kind));
                        if reads_spec {
                            run(
                                d,
                                Some(Trigger::Dependency {
                                    what: triggers::reason(&key),
                                }),
                            );
                        }
                    }
                }
                let waits = fresh.then(|| key.clone());
                run(key, t.filter(|_| !fresh));
                if let (Some(key), Some(s)) = (waits, sched.as_deref_mut()) {
                    s.schedule_after(key, MADE_GRACE);
                }
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
            Change::ConfigMap { namespace, name } => {
                // A watched ConfigMap changed: run what reads it.
                let cm = ObjectKey::new(triggers::CONFIG_MAP, &namespace, &name);
                for k in triggers::dependents(&self.objects, &cm) {
                    run(
                        k,
                        Some(Trigger::Dependency {
                            what: triggers::reason(&cm),
                        }),
                    );
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
                // A webhook's token changed: reconcile it (and so serve
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
        let cleanup = self.unfinalized_cleanup(key);
        if !self.forget_quietly(key, sched) {
            return;
        }
        if let Some(c) = cleanup {
            self.clean_up_gone(key.clone(), c);
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
        self.refresh_webhooks(key);
        true
    }
}

#[cfg(test)]
mod tests;
