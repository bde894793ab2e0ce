//! The ImageUpdateAutomation job: its Git source, Secrets and the
//! namespace's policies, then the blocking git work, bounded by
//! `spec.timeout` and guarded so that one clone is never used twice. To
//! become ImageUpdateAutomation's `Kind::reconcile`.

use super::*;

/// The manifests of `--repo` at a commit an automation pushed.
pub(super) struct Manifests {
    pub(super) revision: String,
    pub(super) loaded: Result<LocalSource, crate::source::SourceError>,
}

/// The resource an automation's clone of `url` is (one cached clone per URL).
pub(super) fn clone_resource(url: &str) -> String {
    format!("git {}", ferroflux_git::url::redact(url))
}

/// `spec.timeout` of a GitRepository; without one, the API's default.
pub(super) fn git_timeout(repo: Option<&GitRepository>) -> Duration {
    repo.map_or_else(
        || GitRepositorySpec::default().effective_timeout(),
        |g| g.spec.effective_timeout(),
    )
    .to_std()
}

/// Marks an automation's git work as running until dropped.
pub(super) struct InFlight {
    set: Arc<Mutex<BTreeSet<ObjectKey>>>,
    key: ObjectKey,
}

impl InFlight {
    pub(super) fn enter(
        set: &Arc<Mutex<BTreeSet<ObjectKey>>>,
        key: &ObjectKey,
    ) -> Option<InFlight> {
        let mut s = set
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        s.insert(key.clone()).then(|| InFlight {
            set: Arc::clone(set),
            key: key.clone(),
        })
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.set
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.key);
    }
}

impl Runner {
    /// What a job of `key` holds besides the object: an automation holds
    /// the clone of its Git URL (two automations of one repository share
    /// the cached clone, so they take turns).
    pub(super) fn resources(&self, key: &ObjectKey) -> Vec<String> {
        if key.kind != IMAGE_UPDATE_AUTOMATION {
            return Vec::new();
        }
        let Some(obj) = self.objects.automations.get(key) else {
            return Vec::new();
        };
        let (git_repository, _) = self.git_source(key, obj);
        git_repository
            .map(|g| vec![clone_resource(&g.spec.url)])
            .unwrap_or_default()
    }

    /// Start one automation (None when it left the objects).
    pub(super) fn start_automation(
        &mut self,
        key: &ObjectKey,
        requested: Option<&str>,
    ) -> Option<Work> {
        let obj = self.objects.automations.get_mut(key)?;
        sink::note_request(&mut obj.metadata, requested);
        let obj = obj.clone();
        let started = std::time::Instant::now();
        let suspended = obj.spec.suspend == Some(true);
        let api_version = self
            .objects
            .origins
            .get(key)
            .map(|o| o.api_version.clone())
            .unwrap_or_else(|| "image.toolkit.fluxcd.io/v1".to_string());
        let (git_repository, git_secret) = self.git_source(key, &obj);
        let signing_secret = obj
            .spec
            .git
            .as_ref()
            .and_then(|g| g.commit.signing_key.as_ref())
            .and_then(|k| {
                self.secret(&key.namespace, &k.secret_ref.name)
                    .ok()
                    .cloned()
            });
        let policies = automation::policies_of_namespace(key, &self.objects);
        let clock = Arc::clone(&self.clock);
        let fetch = self.progress.as_ref().and_then(|sink| {
            git_repository
                .as_ref()
                .map(|gr| fetch_progress(sink, &gr.spec.url))
        });
        let opts = automation::AutomationOptions {
            cache_dir: self.cache_dir.join("automation"),
            depth: self.opts.depth,
            fetch_progress: fetch,
            ..automation::AutomationOptions::default()
        };
        let git_timeout = git_timeout(git_repository.as_ref());
        let shown_url = git_repository
            .as_ref()
            .map(|g| ferroflux_git::url::redact(&g.spec.url))
            .unwrap_or_default();
        let previous = obj.clone();
        // Pushed to the branch the manifests come from: read them from this
        // clone rather than fetching --repo again.
        let manifests = (self.home.arrival() == Arrival::Checkout
            && self.home.own_repository().is_some_and(|own| {
                git_repository
                    .as_ref()
                    .is_some_and(|g| g.spec.url == own.url())
            }))
        .then(|| (self.opts.branch.clone(), self.opts.path.clone()));
        let clone_key = ObjectKey::new(
            "clone",
            "automation",
            &git_repository
                .as_ref()
                .map(|g| clone_resource(&g.spec.url))
                .unwrap_or_default(),
        );
        // A thread left blocked on this clone by an earlier timeout still
        // holds it: this run fails at once instead of racing it.
        let guard = InFlight::enter(&self.in_flight, &clone_key);
        let status_sink = self.status_sink(key);
        Some(Box::pin(async move {
            let result = match guard {
                None => Ok((
                    automation::git_unfinished(
                        &previous,
                        clock.as_ref(),
                        format!(
                            "a git operation on '{shown_url}' from an earlier run has not finished"
                        ),
                    ),
                    None,
                )),
                Some(guard) => {
                    let thread_clock = Arc::clone(&clock);
                    let task = tokio::task::spawn_blocking(move || {
                        let _guard = guard;
                        let input = automation::AutomationInput {
                            automation: &obj,
                            api_version: &api_version,
                            git_repository: git_repository.as_ref(),
                            git_secret: git_secret.as_ref(),
                            signing_secret: signing_secret.as_ref(),
                            policies: &policies,
                        };
                        let r = automation::reconcile(&input, thread_clock.as_ref(), &opts);
                        // Still holding the clone: nothing else writes in it.
                        let read = manifests.and_then(|(branch, path)| {
                            let p = r.pushed.as_ref().filter(|p| p.branch == branch)?;
                            Some(Box::new(Manifests {
                                revision: p.commit.clone(),
                                loaded: LocalSource::load(&p.workdir, &path),
                            }))
                        });
                        (r, read)
                    });
                    // libgit2 waits forever on a server that accepts and
                    // never answers: give up waiting after spec.timeout (the
                    // callbacks' own deadline covers slow transfers); the
                    // guard keeps the cache to that thread until it returns.
                    match tokio::time::timeout(git_timeout, task).await {
                        Ok(r) => r.map_err(|e| AutomateError::Join(e.to_string())),
                        Err(_) => Ok((
                            automation::git_unfinished(
                                &previous,
                                clock.as_ref(),
                                format!("timeout after {git_timeout:?} waiting for '{shown_url}'"),
                            ),
                            None,
                        )),
                    }
                }
            };
            match result {
                Ok((r, manifests)) => {
                    let pushed = r.pushed.as_ref().map(|p| p.commit.clone());
                    let finished = status_sink
                        .finish(
                            started,
                            suspended,
                            &r.status,
                            Said::Event(r.event),
                            r.outcome,
                            pushed,
                        )
                        .await;
                    Done {
                        finished,
                        manifests,
                    }
                }
                Err(e) => Done::from(Err(e)),
            }
        }))
    }
}
