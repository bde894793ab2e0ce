//! When each object runs in `--watch` mode: on its own interval with
//! jitter, or at once on a trigger (a Receiver call, a policy whose
//! `latestRef` changed, a re-read of the repository's manifests).
//!
//! The scheduler is a queue, not a runner: [`Scheduler::next`] hands out
//! one due object at a time. What waits on a server (a scan, a policy's
//! digest lookups, an automation's git work) runs in [`Jobs`], at most
//! `--concurrent` at once (Flux's flag, default 4), so a registry or Git
//! server that never answers holds up only its own object; the caller takes
//! the next object while there is room, and lets the running ones finish
//! before it honours SIGTERM. Triggers come through a cloneable
//! [`SchedulerHandle`] from other tasks (the webhook server).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ferroflux_controllers::park;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

pub use crate::source::ObjectKey;

/// Why an object runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// Its interval (or a retry delay) elapsed.
    Interval,
    /// `reconcile.fluxcd.io/requestedAt`: a Receiver call or a manual
    /// request; the value is stored as `lastHandledReconcileAt`.
    Requested { at: String },
    /// Something it depends on changed (a policy's `latestRef`, a re-read).
    Dependency { what: String },
}

#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// Spread of interval runs, in percent of the interval (either way).
    pub jitter_percent: u32,
}

impl Default for SchedulerOptions {
    fn default() -> Self {
        SchedulerOptions { jitter_percent: 5 }
    }
}

/// Sends triggers to a [`Scheduler`] from any task.
#[derive(Debug, Clone)]
pub struct SchedulerHandle {
    tx: mpsc::UnboundedSender<(ObjectKey, Trigger)>,
}

impl SchedulerHandle {
    /// Ask for an immediate run; false once the scheduler is gone.
    pub fn trigger(&self, key: ObjectKey, trigger: Trigger) -> bool {
        self.tx.send((key, trigger)).is_ok()
    }
}

/// The queue of due objects.
#[derive(Debug)]
pub struct Scheduler {
    opts: SchedulerOptions,
    due: BTreeMap<ObjectKey, Instant>,
    pub(crate) pending: VecDeque<(ObjectKey, Trigger)>,
    rx: mpsc::UnboundedReceiver<(ObjectKey, Trigger)>,
    // Keeps the channel open so `next` waits on timers when no handle is left.
    _tx: mpsc::UnboundedSender<(ObjectKey, Trigger)>,
    seq: u64,
}

/// The longest timer: an interval from a manifest (Go durations reach 292
/// years) or a delay a server asked for is capped here, so adding it to
/// the clock never overflows.
pub const MAX_DELAY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

impl Scheduler {
    pub fn new(opts: SchedulerOptions) -> (Scheduler, SchedulerHandle) {
        let (tx, rx) = mpsc::unbounded_channel();
        let handle = SchedulerHandle { tx: tx.clone() };
        (
            Scheduler {
                opts,
                due: BTreeMap::new(),
                pending: VecDeque::new(),
                rx,
                _tx: tx,
                seq: 0,
            },
            handle,
        )
    }

    /// Run `key` after `after` (at most [`MAX_DELAY`]), jittered; replaces
    /// an earlier timer.
    pub fn schedule_after(&mut self, key: ObjectKey, after: Duration) {
        let after = self.jitter(&key, after.min(MAX_DELAY));
        let now = Instant::now();
        let at = now
            .checked_add(after)
            .or_else(|| now.checked_add(Duration::from_secs(3600)))
            .unwrap_or(now);
        self.due.insert(key, at);
    }

    /// Run `key` as soon as the caller asks for the next object.
    pub fn trigger(&mut self, key: ObjectKey, trigger: Trigger) {
        self.push(key, trigger);
    }

    /// Forget an object (it left the repository).
    pub fn remove(&mut self, key: &ObjectKey) {
        self.due.remove(key);
        self.pending.retain(|(k, _)| k != key);
    }

    /// When `key` runs next on its timer.
    pub fn due_in(&self, key: &ObjectKey) -> Option<Duration> {
        self.due
            .get(key)
            .map(|at| at.saturating_duration_since(Instant::now()))
    }

    /// Triggers already received, without waiting.
    pub fn drain_triggers(&mut self) {
        while let Ok((key, trigger)) = self.rx.try_recv() {
            self.push(key, trigger);
        }
    }

    /// The next object to run and why. Triggers come first, then the
    /// earliest timer. Cancel-safe: dropping the future loses nothing.
    pub async fn next(&mut self) -> (ObjectKey, Trigger) {
        loop {
            self.drain_triggers();
            if let Some(next) = self.pending.pop_front() {
                return next;
            }
            let earliest = self
                .due
                .iter()
                .min_by_key(|(_, at)| **at)
                .map(|(k, at)| (k.clone(), *at));
            match earliest {
                Some((key, at)) => {
                    tokio::select! {
                        received = self.rx.recv() => {
                            if let Some((k, t)) = received {
                                self.push(k, t);
                            }
                        }
                        () = tokio::time::sleep_until(at) => {
                            self.due.remove(&key);
                            return (key, Trigger::Interval);
                        }
                    }
                }
                None => {
                    if let Some((k, t)) = self.rx.recv().await {
                        self.push(k, t);
                    }
                }
            }
        }
    }

    fn push(&mut self, key: ObjectKey, trigger: Trigger) {
        merge(&mut self.pending, key, trigger);
    }

    fn jitter(&mut self, key: &ObjectKey, after: Duration) -> Duration {
        let pct = u64::from(self.opts.jitter_percent.min(100));
        if pct == 0 || after.is_zero() {
            return after;
        }
        self.seq = self.seq.wrapping_add(1);
        let mut h = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut h);
        self.seq.hash(&mut h);
        Instant::now().hash(&mut h);
        let span = after.as_millis() as u64 * pct / 100;
        if span == 0 {
            return after;
        }
        // Uniform in [-span, +span].
        let offset = h.finish() % (2 * span + 1);
        let ms = (after.as_millis() as u64 + offset).saturating_sub(span);
        Duration::from_millis(ms)
    }
}

/// Queues `trigger` for `key` once: a request carries a value that must be
/// recorded, so it wins over a plain dependency trigger already waiting.
fn merge(queue: &mut VecDeque<(ObjectKey, Trigger)>, key: ObjectKey, trigger: Trigger) {
    if let Some(slot) = queue.iter_mut().find(|(k, _)| *k == key) {
        if matches!(trigger, Trigger::Requested { .. }) {
            slot.1 = trigger;
        }
        return;
    }
    queue.push_back((key, trigger));
}

/// Flux's `--concurrent` default.
pub const DEFAULT_CONCURRENT: usize = 4;

/// How many jobs may wait parked (health checks) per `--concurrent` slot.
pub const PARKED_PER_SLOT: usize = 8;

/// Reconciles in flight: the waiting part of each runs as a task. At most
/// `limit` jobs of each kind work at once (each Flux controller has its own
/// `--concurrent`); a job parked in a wait ([`ferroflux_controllers::park`])
/// does not count, and at most `limit` × [`PARKED_PER_SLOT`] are parked. An
/// object is never in two jobs at once, nor are two objects that share a
/// resource (an automation's clone of a Git URL).
pub struct Jobs<T> {
    limit: usize,
    tasks: JoinSet<T>,
    keys: HashMap<tokio::task::Id, ObjectKey>,
    /// Running object → the resources it holds.
    held: BTreeMap<ObjectKey, Vec<String>>,
    /// Triggers of objects that could not start (running, a resource held,
    /// their kind busy), to hand back when there is room.
    deferred: VecDeque<(ObjectKey, Trigger)>,
    /// Per kind: jobs running and the counter of those parked.
    kinds: HashMap<String, (usize, Arc<AtomicUsize>)>,
    park: Arc<park::Shared>,
}

impl<T: Send + 'static> Jobs<T> {
    /// At most `limit` (at least 1) working jobs of each kind at once.
    pub fn new(limit: usize) -> Jobs<T> {
        let limit = limit.max(1);
        Jobs {
            limit,
            tasks: JoinSet::new(),
            keys: HashMap::new(),
            held: BTreeMap::new(),
            deferred: VecDeque::new(),
            kinds: HashMap::new(),
            park: park::Shared::new(limit.saturating_mul(PARKED_PER_SLOT)),
        }
    }

    /// Whether another job may be taken up at all (its kind is checked by
    /// [`Jobs::can_start`]): fewer tasks than every kind's working limit
    /// plus the parked ones could reach.
    pub fn has_room(&self) -> bool {
        let kinds = self.kinds.values().filter(|(n, _)| *n > 0).count() + 1;
        self.tasks.len() < self.limit.saturating_mul(kinds) + self.park.parked()
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// How many jobs run (parked ones included).
    pub fn running(&self) -> usize {
        self.tasks.len()
    }

    /// Jobs of `kind` that work (not parked).
    fn working(&self, kind: &str) -> usize {
        working(&self.kinds, kind)
    }

    /// Neither `key` nor any of `resources` is in a running job, and
    /// `key`'s kind has a free worker.
    pub fn can_start(&self, key: &ObjectKey, resources: &[String]) -> bool {
        self.working(&key.kind) < self.limit
            && !self.held.contains_key(key)
            && !self.held.values().flatten().any(|r| resources.contains(r))
    }

    /// Run `work` for `key`, holding `resources` until it finishes. The
    /// caller checked [`Jobs::has_room`] and [`Jobs::can_start`].
    pub fn spawn(
        &mut self,
        key: ObjectKey,
        resources: Vec<String>,
        work: impl Future<Output = T> + Send + 'static,
    ) {
        let (n, parked) = self.kinds.entry(key.kind.clone()).or_default();
        *n += 1;
        let park = park::Park::new(Arc::clone(parked), Arc::clone(&self.park));
        let id = self.tasks.spawn(park.scope(work)).id();
        self.keys.insert(id, key.clone());
        self.held.insert(key, resources);
    }

    /// Keep `trigger` until there is room (see [`Jobs::take_deferred`]).
    pub fn defer(&mut self, key: ObjectKey, trigger: Trigger) {
        merge(&mut self.deferred, key, trigger);
    }

    /// The deferred triggers that may start now, in arrival order: those
    /// of a kind with free workers (as many as it has), the rest kept.
    pub fn take_deferred(&mut self) -> Vec<(ObjectKey, Trigger)> {
        let mut room: HashMap<String, usize> = HashMap::new();
        let mut out = Vec::new();
        let mut kept = VecDeque::new();
        for (key, trigger) in self.deferred.drain(..) {
            let free = room
                .entry(key.kind.clone())
                .or_insert_with(|| self.limit.saturating_sub(working(&self.kinds, &key.kind)));
            if *free > 0 {
                *free -= 1;
                out.push((key, trigger));
            } else {
                kept.push_back((key, trigger));
            }
        }
        self.deferred = kept;
        out
    }

    /// What resolves when a job parked (deferred triggers may start):
    /// `park::Shared::freed`, held apart so that a loop can await it beside
    /// [`Jobs::join_next`].
    pub fn wakeups(&self) -> Arc<park::Shared> {
        Arc::clone(&self.park)
    }

    /// The next job to finish, its object and result (`Err` with the
    /// panic's message); None when none runs. Cancel-safe.
    pub async fn join_next(&mut self) -> Option<(ObjectKey, Result<T, String>)> {
        let (id, result) = match self.tasks.join_next_with_id().await? {
            Ok((id, value)) => (id, Ok(value)),
            Err(e) => (e.id(), Err(e.to_string())),
        };
        let key = self
            .keys
            .remove(&id)
            .expect("every task was spawned with its key");
        self.held.remove(&key);
        if let Some((n, _)) = self.kinds.get_mut(&key.kind) {
            *n = n.saturating_sub(1);
        }
        Some((key, result))
    }
}

fn working(kinds: &HashMap<String, (usize, Arc<AtomicUsize>)>, kind: &str) -> usize {
    kinds.get(kind).map_or(0, |(n, parked)| {
        n.saturating_sub(parked.load(Ordering::Acquire))
    })
}

#[cfg(test)]
mod tests;
