//! The loop: one pass in kind order (`--once`), then `--watch`'s schedule;
//! each job taken back through `engine::finish`, its next run and the runs
//! that follow it. To become `Engine::{run_once, run}`.

use super::*;

/// A job taken back: when to run again and what must follow.
pub(super) struct Completed {
    key: ObjectKey,
    outcome: Outcome,
    /// The kinds of readers its status change runs (a new scan revision
    /// runs policies, a new `latestRef` automations, a new artifact what
    /// reads it).
    readers: Vec<&'static str>,
    /// An automation pushed.
    pushed: bool,
    /// The manifests at the pushed commit, when it went to `--repo`'s branch.
    manifests: Option<Box<Manifests>>,
}

/// Runs of one object beyond its first within a pass (a push, then a new
/// artifact): bounded, so that objects that move each other cannot loop.
const MAX_RERUNS: u32 = 2;

pub(super) fn spec_changed(old: &Objects, new: &Objects, key: &ObjectKey) -> bool {
    old.spec_json(key) != new.spec_json(key)
}

impl Runner {
    /// One full pass over every kind, sources before readers. Every
    /// object runs as requested (`Run::force`: every image repository is
    /// scanned) unless `respect_intervals` is set.
    pub async fn run_once(&mut self) -> Result<Summary, AutomateError> {
        let force = !self.opts.respect_intervals;
        let summary = self.run_pass(force).await;
        self.settle_notifications().await;
        summary
    }

    pub(super) async fn run_pass(&mut self, force_scans: bool) -> Result<Summary, AutomateError> {
        self.refresh().await?;
        self.pass(force_scans).await?;
        Ok(self.summary())
    }

    /// Every object once, each after what it reads in this pass (a policy
    /// after its repository, an automation after the policies of its
    /// namespace), up to `concurrent` at once: a server that never answers
    /// holds up only the objects that wait for it. `force_scans` runs each
    /// object as a request (`Run::force`: a scan although its interval has
    /// not elapsed).
    pub(super) async fn pass(&mut self, force_scans: bool) -> Result<(), AutomateError> {
        // Ready work is taken from the front: readers before what they
        // read (the registry's order reversed), so an automation starts as
        // soon as its namespace's policies are done, and its git work
        // overlaps the other scans. What each waits for comes from its
        // kind's watches.
        let registry = self.registry();
        let mut todo: Vec<(ObjectKey, Vec<ObjectKey>)> = Vec::new();
        for kind in registry.kinds().collect::<Vec<_>>().into_iter().rev() {
            if !self.serves(kind.info().kind) {
                continue;
            }
            for key in kind.keys(&self.objects) {
                let after = self.pass_waits(&key);
                todo.push((key, after));
            }
        }
        let mut jobs: Jobs<Done> = Jobs::new(self.opts.concurrent);
        let wakeups = jobs.wakeups();
        let mut finished: BTreeSet<ObjectKey> = BTreeSet::new();
        let mut reruns: BTreeMap<ObjectKey, u32> = BTreeMap::new();
        loop {
            let mut i = 0;
            while i < todo.len() && jobs.has_room() {
                let (key, after) = &todo[i];
                let resources = self.resources(key);
                if !after.iter().all(|k| finished.contains(k)) || !jobs.can_start(key, &resources) {
                    i += 1;
                    continue;
                }
                let (key, _) = todo.remove(i);
                match self.start(&key, None, force_scans) {
                    Some(work) => jobs.spawn(key, resources, work),
                    None => {
                        finished.insert(key);
                        // What waited for it may start now.
                        i = 0;
                    }
                }
            }
            let next = tokio::select! {
                next = jobs.join_next() => next,
                // A job waits parked: start what its worker may take.
                () = wakeups.freed(), if !jobs.is_empty() => continue,
            };
            let Some((key, done)) = next else {
                break;
            };
            match self.complete(key.clone(), done).await {
                Ok(c) => {
                    finished.insert(c.key.clone());
                    for again in self.follow_ups(&c) {
                        // Once more in this pass, when it already ran.
                        let count = reruns.entry(again.clone()).or_insert(0);
                        if *count < MAX_RERUNS
                            && finished.remove(&again)
                            && !todo.iter().any(|(k, _)| *k == again)
                        {
                            *count += 1;
                            let mut after = self.pass_waits(&again);
                            after.retain(|k| *k != c.key);
                            todo.push((again, after));
                        }
                    }
                }
                // A status the apiserver refused (RBAC, a webhook) fails
                // that object, not the controller: it is retried.
                Err(e @ AutomateError::Home(HomeError::Refused { .. })) => {
                    tracing::error!(object = %key, "{e}");
                    *self.failures.entry(key.clone()).or_default() += 1;
                    finished.insert(key);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// What `key` waits for in a pass: what it reads, of kinds served here.
    fn pass_waits(&self, key: &ObjectKey) -> Vec<ObjectKey> {
        let mut after = self.objects.waits_for(key);
        after.retain(|k| self.serves(&k.kind));
        after
    }

    /// What must run after `c` within a pass, even when it already ran:
    /// the GitRepositories of a pushed remote, and the readers of a status
    /// that moved (a new artifact reaches what applies it).
    fn follow_ups(&self, c: &Completed) -> Vec<ObjectKey> {
        let mut out = Vec::new();
        if c.pushed {
            out.extend(self.pushed_sources(&c.key));
        }
        out.extend(
            self.moved_dependents(c)
                .into_iter()
                .filter(|k| self.serves(&k.kind)),
        );
        out
    }

    /// The objects that read `c`'s object, of the kinds its change runs.
    fn moved_dependents(&self, c: &Completed) -> Vec<ObjectKey> {
        triggers::dependents(&self.objects, &c.key)
            .into_iter()
            .filter(|d| c.readers.contains(&d.kind.as_str()))
            .collect()
    }

    /// Start the reconcile of `key`: what waits on a server goes to `jobs`
    /// (or waits in it while the object or its clone is busy); Receivers
    /// and the manifests run here.
    pub(super) async fn step(
        &mut self,
        sched: &mut Scheduler,
        jobs: &mut Jobs<Done>,
        key: ObjectKey,
        trigger: Trigger,
    ) -> Result<(), AutomateError> {
        tracing::debug!(object = %key, ?trigger, "reconcile");
        if self.home.arrival() == Arrival::Checkout && self.is_self_repository(&key) {
            // The checkout of `--repo` follows its source's interval.
            self.reload(sched, None).await;
            if !(self.serves(&key.kind) && self.objects.meta(&key).is_some()) {
                let every = self.self_repository_interval(&key);
                sched.schedule_after(key, every);
                return Ok(());
            }
        }
        if self.serves(&key.kind) {
            self.start_job(sched, jobs, key, trigger);
        }
        Ok(())
    }

    /// Start `key`'s job, or let it wait while it or its clone is busy.
    fn start_job(
        &mut self,
        sched: &mut Scheduler,
        jobs: &mut Jobs<Done>,
        key: ObjectKey,
        trigger: Trigger,
    ) {
        let resources = self.resources(&key);
        if !jobs.can_start(&key, &resources) {
            jobs.defer(key, trigger);
            return;
        }
        let requested = match &trigger {
            Trigger::Requested { at } => Some(at.clone()),
            _ => None,
        };
        match self.start(&key, requested.as_deref(), false) {
            Some(work) => jobs.spawn(key, resources, work),
            None => sched.remove(&key),
        }
    }

    /// The waiting part of one object's reconcile, its kind's
    /// `Kind::reconcile` started through the registry, then its status
    /// written by the job itself (None when it left the objects or its
    /// kind has no reconcile).
    pub(super) fn start(
        &mut self,
        key: &ObjectKey,
        requested: Option<&str>,
        force: bool,
    ) -> Option<Work> {
        let kind = self.registry().get(&key.kind)?;
        if let Some(at) = requested {
            kind.note_request(&mut self.objects, key, at);
        }
        let started = std::time::Instant::now();
        let suspended = kind.suspended(&self.objects, key);
        let job = kind.start(&*self, key, Run { force })?;
        let status_sink = self.status_sink(key);
        Some(Box::pin(async move {
            match job.await {
                Ok(r) => status_sink.finish(started, suspended, r).await,
                Err(e) => Done::from(Err(AutomateError::Join(e))),
            }
        }))
    }

    /// What a job of `key` holds besides the object (its kind's
    /// `Kind::resources`: an automation's clone).
    pub(super) fn resources(&self, key: &ObjectKey) -> Vec<String> {
        self.registry()
            .get(&key.kind)
            .map(|k| k.resources(self, key))
            .unwrap_or_default()
    }

    /// Take a finished job back: store its status, count it, and say what
    /// must follow.
    pub(super) async fn complete(
        &mut self,
        key: ObjectKey,
        done: Result<Done, String>,
    ) -> Result<Completed, AutomateError> {
        let mut completed = Completed {
            key,
            outcome: Outcome::Backoff,
            readers: Vec::new(),
            pushed: false,
            manifests: None,
        };
        let done = match done {
            Ok(done) => done,
            Err(panic) => {
                tracing::error!(object = %completed.key, "reconcile failed: {panic}");
                return Ok(completed);
            }
        };
        let f = *done.finished?;
        completed.outcome = f.outcome;
        let effects = self.finish(f).await?;
        self.refresh_webhooks(&completed.key);
        completed.readers = effects.readers;
        completed.pushed = effects.pushed;
        completed.manifests = done.manifests;
        Ok(completed)
    }

    /// A finished job in `--watch`: its next run, and what follows it now
    /// (a new scan revision runs the repository's policies, a new
    /// `latestRef` the automations of its namespace, a push the manifests).
    pub(super) async fn settle(
        &mut self,
        sched: &mut Scheduler,
        jobs: &mut Jobs<Done>,
        key: ObjectKey,
        done: Result<Done, String>,
    ) -> Result<(), AutomateError> {
        for (k, t) in jobs.take_deferred() {
            sched.trigger(k, t);
        }
        let mut c = match self.complete(key.clone(), done).await {
            Ok(c) => c,
            Err(e) => {
                self.requeue(sched, &key, Outcome::Backoff);
                return Err(e);
            }
        };
        self.requeue(sched, &c.key, c.outcome);
        if c.pushed {
            let pushed = c.manifests.take();
            self.reload(sched, pushed).await;
            // Beyond Flux, which waits for the source's interval or a
            // webhook: the GitRepositories of the pushed remote fetch now.
            for g in self.pushed_sources(&c.key) {
                sched.trigger(
                    g,
                    Trigger::Dependency {
                        what: format!("{} pushed", c.key),
                    },
                );
            }
        } else if !c.readers.is_empty() {
            // Flux: a new scan revision reconciles its policies, a new
            // latestRef the automations of the namespace.
            for d in self.moved_dependents(&c) {
                sched.trigger(
                    d,
                    Trigger::Dependency {
                        what: triggers::reason(&c.key),
                    },
                );
            }
        }
        Ok(())
    }

    pub(super) fn requeue(&mut self, sched: &mut Scheduler, key: &ObjectKey, outcome: Outcome) {
        let mut failures = self.failures.remove(key).unwrap_or(0);
        match finish::next_run(outcome, &mut failures, self.opts.backoff) {
            Some(d) => sched.schedule_after(key.clone(), d),
            None => sched.remove(key),
        }
        if failures > 0 {
            self.failures.insert(key.clone(), failures);
        }
    }

    /// Fetch the checkout (or take the manifests an automation pushed);
    /// on changed manifests, run what changed.
    pub(super) async fn reload(&mut self, sched: &mut Scheduler, pushed: Option<Box<Manifests>>) {
        if self.home.arrival() == Arrival::Watches {
            return;
        }
        let before: BTreeSet<ObjectKey> = self.objects.keys().into_iter().collect();
        let old = self.objects.clone();
        let result = match pushed {
            Some(m) => self.adopt(*m).await,
            None => self.refresh().await,
        };
        match result {
            Ok(false) => {}
            Ok(true) => {
                tracing::info!("manifests changed: objects re-read");
                for key in self.objects.keys() {
                    let changed = !before.contains(&key) || spec_changed(&old, &self.objects, &key);
                    if changed {
                        sched.trigger(
                            key,
                            Trigger::Dependency {
                                what: "manifests changed".into(),
                            },
                        );
                    }
                }
                for key in before {
                    if !self.objects.origins.contains_key(&key) {
                        sched.remove(&key);
                    }
                }
                self.publish_receivers();
            }
            Err(e) => tracing::warn!("re-reading manifests failed: {e}"),
        }
    }

    /// `--watch`: a first pass, then every object on its schedule until
    /// `shutdown` resolves; the running step always finishes first.
    pub async fn watch(
        &mut self,
        mut sched: Scheduler,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), AutomateError> {
        // A restart is no request: stored scans younger than their
        // interval stand.
        let summary = self.run_pass(false).await?;
        tracing::info!(ready = summary.all_ready(), "first pass done");
        for key in self.objects.keys() {
            let after = self.first_delay(&key);
            sched.schedule_after(key, after);
        }
        let self_repo = self.self_repository();
        let every = self.self_repository_interval(&self_repo);
        sched.schedule_after(self_repo, every);
        tokio::pin!(shutdown);
        let mut jobs: Jobs<Done> = Jobs::new(self.opts.concurrent);
        let wakeups = jobs.wakeups();
        loop {
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                Some((key, done)) = jobs.join_next(), if !jobs.is_empty() => {
                    if let Err(e) = self.settle(&mut sched, &mut jobs, key.clone(), done).await {
                        tracing::error!(object = %key, "{e}");
                    }
                }
                () = wakeups.freed(), if !jobs.is_empty() => {
                    // A job waits parked: its worker may take a deferred one.
                    for (k, t) in jobs.take_deferred() {
                        sched.trigger(k, t);
                    }
                }
                (key, trigger) = sched.next(), if jobs.has_room() => {
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

    /// Let the running jobs finish and store their results (each gives up
    /// by its own timeout).
    pub(super) async fn drain(&mut self, sched: &mut Scheduler, jobs: &mut Jobs<Done>) {
        while let Some((key, done)) = jobs.join_next().await {
            if let Err(e) = self.settle(sched, jobs, key.clone(), done).await {
                tracing::error!(object = %key, "{e}");
            }
        }
    }

    pub(super) fn first_delay(&self, key: &ObjectKey) -> Duration {
        let first = self
            .registry()
            .get(&key.kind)
            .and_then(|k| k.first_run(&self.objects, key));
        match first {
            Some(FirstRun::After(interval)) => interval.max(Duration::from_secs(1)),
            Some(FirstRun::Retry) => self.opts.backoff,
            // Trigger-driven objects still get an hourly run.
            Some(FirstRun::Triggered) | None => Duration::from_secs(3600),
        }
    }

    /// Handle to trigger objects from other tasks (the webhook server).
    pub fn scheduler(&self) -> (Scheduler, SchedulerHandle) {
        Scheduler::new(self.opts.scheduler.clone())
    }
}
