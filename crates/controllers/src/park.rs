//! Waiting without holding a worker. `--concurrent` bounds how many
//! reconciles *work* at once (build, apply, clone); a Kustomization that
//! only waits for its Deployments to become ready does not work, and while
//! Flux's kustomize-controller keeps a worker blocked for it, ferroflux lets
//! another reconcile start meanwhile. The runtime runs each job inside a
//! [`Park::scope`]; a reconciler wraps its waits in [`parked`].
//!
//! Parking is bounded ([`Park::new`]'s `limit`, shared by every job of the
//! runtime): past it, a wait keeps its worker, as in Flux.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;

tokio::task_local! {
    static PARK: Park;
}

/// One job's handle: the counter of its kind's parked jobs, and what all
/// jobs share (the bound and the runtime's wake-up).
#[derive(Clone)]
pub struct Park {
    kind: Arc<AtomicUsize>,
    shared: Arc<Shared>,
}

/// What every job of one runtime shares.
#[derive(Debug)]
pub struct Shared {
    parked: AtomicUsize,
    limit: usize,
    /// Notified when a job parks: a worker is free.
    freed: Notify,
}

impl Shared {
    /// At most `limit` jobs parked at once.
    pub fn new(limit: usize) -> Arc<Shared> {
        Arc::new(Shared {
            parked: AtomicUsize::new(0),
            limit,
            freed: Notify::new(),
        })
    }

    /// Jobs parked now.
    pub fn parked(&self) -> usize {
        self.parked.load(Ordering::Acquire)
    }

    /// Resolves after a job parked (a permit is kept when nobody waits, so
    /// a park between two polls is not lost).
    pub async fn freed(&self) {
        self.freed.notified().await;
    }
}

impl Park {
    /// A handle for a job of the kind whose parked jobs `kind` counts.
    pub fn new(kind: Arc<AtomicUsize>, shared: Arc<Shared>) -> Park {
        Park { kind, shared }
    }

    /// Run `job` with this handle, so that its [`parked`] waits count.
    pub async fn scope<F: Future>(self, job: F) -> F::Output {
        PARK.scope(self, job).await
    }

    fn enter(&self) -> bool {
        let s = &self.shared;
        let entered = s
            .parked
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < s.limit).then_some(n + 1)
            })
            .is_ok();
        if entered {
            self.kind.fetch_add(1, Ordering::AcqRel);
            s.freed.notify_one();
        }
        entered
    }
}

struct Leave(Park);

impl Drop for Leave {
    fn drop(&mut self) {
        self.0.kind.fetch_sub(1, Ordering::AcqRel);
        self.0.shared.parked.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Await `wait` with this job parked (its worker free for another
/// reconcile) when the runtime allows it; otherwise just await it.
pub async fn parked<F: Future>(wait: F) -> F::Output {
    let park = PARK.try_with(Park::clone).ok().filter(Park::enter);
    let _leave = park.map(Leave);
    wait.await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn parked_waits_count_while_they_last_and_only_up_to_the_limit() {
        let shared = Shared::new(1);
        let kind = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let park = Park::new(Arc::clone(&kind), Arc::clone(&shared));
        let job = tokio::spawn(park.scope(async move { parked(rx).await.is_ok() }));
        shared.freed().await;
        assert_eq!((shared.parked(), kind.load(Ordering::Acquire)), (1, 1));
        // The bound is reached: a second job waits without parking.
        let second = Park::new(Arc::clone(&kind), Arc::clone(&shared));
        let seen = second.scope(parked(async { shared.parked() })).await;
        assert_eq!(seen, 1);
        tx.send(()).expect("send");
        assert!(job.await.expect("job"));
        assert_eq!((shared.parked(), kind.load(Ordering::Acquire)), (0, 0));
        // Outside a scope, a wait is just a wait.
        assert_eq!(parked(async { 7 }).await, 7);
        assert_eq!(shared.parked(), 0);
    }
}
