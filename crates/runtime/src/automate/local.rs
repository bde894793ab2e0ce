//! The checkout the runtime reads when its home's objects arrive that way
//! ([`Arrival::Checkout`]): the working clone of `--repo` (fetched, read
//! into [`Objects`], their stored status attached), and the GitRepository
//! an automation uses, rewritten by the home's [`OwnRepository`] rule when
//! it describes the repository ferroflux runs from.

use super::*;

/// The manifests' working clone of `--repo`.
pub(super) struct Checkout {
    ws: Arc<Mutex<ferroflux_git::Workspace>>,
    root: PathBuf,
    pub(super) revision: Option<String>,
}

impl Runner {
    /// Fetch `--repo` and (re)load the objects; true when they changed.
    pub async fn refresh(&mut self) -> Result<bool, AutomateError> {
        let own = match self.home.own_repository() {
            Some(own) if self.home.arrival() == Arrival::Checkout => own.clone(),
            // Objects come from the watches.
            _ => return Ok(false),
        };
        let url = own.url().to_string();
        let fail = |detail: String| AutomateError::Checkout {
            repo: ferroflux_git::url::redact(&url),
            detail,
        };
        let git_timeout = self.manifests_timeout();
        let timed_out = || {
            fail(format!(
                "timeout after {git_timeout:?} waiting for the remote"
            ))
        };
        let guard_key = ObjectKey::new(GIT_REPOSITORY, "", "--repo");
        let Some(guard) = InFlight::enter(&self.in_flight, &guard_key) else {
            return Err(fail(
                "a fetch from an earlier run has not finished".to_string(),
            ));
        };
        let (ws, root, revision) = match self.checkout.take() {
            Some(c) => {
                let ws = Arc::clone(&c.ws);
                let task = tokio::task::spawn_blocking(move || {
                    let _guard = guard;
                    let mut ws = ws.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    ws.sync().map(|()| ws.head_commit())
                });
                let revision = match tokio::time::timeout(git_timeout, task).await {
                    Ok(r) => r.map_err(|e| AutomateError::Join(e.to_string()))?,
                    Err(_) => {
                        self.checkout = Some(c);
                        return Err(timed_out());
                    }
                };
                match revision {
                    Ok(r) => (c.ws, c.root, r),
                    Err(e) => {
                        let detail = e.to_string();
                        self.checkout = Some(c);
                        return Err(fail(detail));
                    }
                }
            }
            None => {
                let auth = if own.credentials().is_empty() {
                    ferroflux_git::Auth::none()
                } else {
                    ferroflux_git::Auth::from_secret(own.credentials())
                        .map_err(|e| fail(e.to_string()))?
                };
                let cache = self.cache_dir.join("manifests");
                let checkout = ferroflux_git::CheckoutRef::branch(own.branch());
                let git_opts = ferroflux_git::Options {
                    depth: self.opts.depth,
                    timeout: Some(git_timeout),
                    progress: self.progress.as_ref().map(|s| fetch_progress(s, &url)),
                    ..ferroflux_git::Options::default()
                };
                let u = url.clone();
                let task = tokio::task::spawn_blocking(move || {
                    let _guard = guard;
                    ferroflux_git::Workspace::open_or_clone(&cache, &u, &auth, &checkout, git_opts)
                });
                let ws = tokio::time::timeout(git_timeout, task)
                    .await
                    .map_err(|_| timed_out())?
                    .map_err(|e| AutomateError::Join(e.to_string()))?
                    .map_err(|e| fail(e.to_string()))?;
                let root = ws.workdir().to_path_buf();
                let rev = ws.head_commit();
                (Arc::new(Mutex::new(ws)), root, rev)
            }
        };
        let unchanged_rev = self
            .checkout
            .as_ref()
            .is_some_and(|c| c.revision == revision);
        self.checkout = Some(Checkout {
            ws,
            root: root.clone(),
            revision,
        });
        if unchanged_rev && !self.objects.is_empty() {
            return Ok(false);
        }
        let path = self.opts.path.clone();
        let registry = self.registry();
        let loaded =
            tokio::task::spawn_blocking(move || LocalSource::load_kinds(&root, &path, registry))
                .await
                .map_err(|e| AutomateError::Join(e.to_string()))??;
        self.take_loaded(loaded).await
    }

    /// After a push to `--repo`'s branch, the manifests at the pushed
    /// commit, read from the automation's clone, stand for a fetch of
    /// `--repo`: one fetch per cycle. The next fetch finds that commit and
    /// reads nothing again.
    pub(super) async fn adopt(&mut self, pushed: Manifests) -> Result<bool, AutomateError> {
        let Some(checkout) = self.checkout.as_mut() else {
            return self.refresh().await;
        };
        let loaded = pushed.loaded?;
        checkout.revision = Some(pushed.revision);
        self.take_loaded(loaded).await
    }

    /// Take freshly read manifests as the objects; true when they changed.
    pub(super) async fn take_loaded(&mut self, loaded: LocalSource) -> Result<bool, AutomateError> {
        self.findings = loaded.errors().map(ToString::to_string).collect();
        for f in &self.findings {
            tracing::error!("{f}");
        }
        let mut next = loaded.objects;
        if next.same_specs(&self.objects) {
            return Ok(false);
        }
        self.attach_status(&mut next).await?;
        let gone: Vec<ObjectKey> = self
            .objects
            .keys()
            .into_iter()
            .filter(|k| !next.origins.contains_key(k))
            .collect();
        for k in gone {
            if let Some(c) = self.unfinalized_cleanup(&k) {
                self.clean_up_gone(k.clone(), c);
            }
            let st = self.state.clone();
            tokio::task::spawn_blocking(move || st.remove(&k))
                .await
                .map_err(|e| AutomateError::Join(e.to_string()))??;
        }
        tracing::info!(objects = next.len(), "objects loaded");
        self.objects = next;
        Ok(true)
    }

    /// Give loaded objects their stored status, and store their specs.
    pub(super) async fn attach_status(&self, objects: &mut Objects) -> Result<(), AutomateError> {
        let st = self.state.clone();
        let mut o = std::mem::take(objects);
        let o = tokio::task::spawn_blocking(move || -> Result<Objects, AutomateError> {
            let registry = o.registry();
            for k in o.keys() {
                let status: Option<serde_json::Value> = st.get_status(&k)?;
                let status = status.unwrap_or(serde_json::Value::Null);
                // A stored status that is not its kind's fails the load.
                if let Some(kind) = registry.get(&k.kind) {
                    kind.try_set_status(&mut o, &k, &status).map_err(|source| {
                        crate::state::StateError::Decode {
                            path: st.path().to_path_buf(),
                            key: k.to_string(),
                            what: "status",
                            source,
                        }
                    })?;
                }
                if let Some(spec) = o.spec_json(&k).and_then(|v| v.get("spec").cloned()) {
                    st.put_spec(&k, &spec)?;
                }
            }
            Ok(o)
        })
        .await
        .map_err(|e| AutomateError::Join(e.to_string()))??;
        *objects = o;
        Ok(())
    }

    /// The GitRepository an automation uses, rewritten to `--repo` when it
    /// describes the repository ferroflux runs from, and its Secret.
    pub(super) fn git_source(
        &self,
        auto_key: &ObjectKey,
        auto: &ImageUpdateAutomation,
    ) -> (Option<GitRepository>, Option<SecretData>) {
        let sr = &auto.spec.source_ref;
        let ns = sr.namespace.as_deref().unwrap_or(&auto_key.namespace);
        self.git_repository(&ObjectKey::new(GIT_REPOSITORY, ns, &sr.name))
    }

    /// The GitRepository `key` as this home runs it, and its Secret: what
    /// it says, unless the home runs from a repository it describes (the
    /// home's [`OwnRepository::rewrite`]: `--repo`'s URL, its branch when it
    /// names no ref, its credentials).
    pub(super) fn git_repository(
        &self,
        key: &ObjectKey,
    ) -> (Option<GitRepository>, Option<SecretData>) {
        let ns = key.namespace.as_str();
        let found = self.objects.of::<GitRepository>().get(key).cloned();
        let named = |gr: &GitRepository| {
            gr.spec
                .secret_ref
                .as_ref()
                .and_then(|r| self.secret(ns, &r.name).ok().cloned())
        };
        let own = self.home.own_repository().filter(|_| match &found {
            Some(gr) => self.describes_repo(gr),
            // Bootstrap keeps flux-system's own GitRepository outside the
            // automation's path; it always means the repository itself.
            None => key.name == "flux-system",
        });
        let Some(own) = own else {
            let secret = found.as_ref().and_then(named);
            return (found, secret);
        };
        let mut gr = found.unwrap_or_else(|| {
            let mut g = GitRepository::new(&key.name, Default::default());
            g.metadata.namespace = Some(ns.to_string());
            g
        });
        let secret = named(&gr);
        let data = own.rewrite(&mut gr.spec, secret);
        (Some(gr), data)
    }

    /// `spec.timeout` of the GitRepository that describes `--repo` (60s).
    pub(super) fn manifests_timeout(&self) -> Duration {
        let repo = self
            .objects
            .of::<GitRepository>()
            .values()
            .find(|g| self.describes_repo(g));
        git_timeout(repo)
    }

    /// Whether `gr` describes the repository the home runs from (never
    /// when it runs from none).
    pub(super) fn describes_repo(&self, gr: &GitRepository) -> bool {
        let Some(own) = self.home.own_repository() else {
            return false;
        };
        let flux_system = self
            .objects
            .of::<GitRepository>()
            .iter()
            .find(|(k, _)| k.namespace == "flux-system" && k.name == "flux-system")
            .map(|(_, g)| g.spec.url.as_str());
        own.describes(&gr.spec.url, flux_system)
    }

    /// Whether `key` is the GitRepository whose interval fetches `--repo`
    /// (the one that describes it, or `flux-system/flux-system`).
    pub(super) fn is_self_repository(&self, key: &ObjectKey) -> bool {
        if key.kind != GIT_REPOSITORY {
            return false;
        }
        match self.objects.of::<GitRepository>().get(key) {
            Some(g) => self.describes_repo(g),
            None => key.namespace == "flux-system" && key.name == "flux-system",
        }
    }

    /// The GitRepository whose interval fetches `--repo` (see
    /// [`Runner::is_self_repository`]).
    pub(super) fn self_repository(&self) -> ObjectKey {
        self.objects
            .of::<GitRepository>()
            .iter()
            .find(|(_, g)| self.describes_repo(g))
            .map(|(k, _)| k.clone())
            .unwrap_or_else(|| ObjectKey::new(GIT_REPOSITORY, "flux-system", "flux-system"))
    }

    /// How often the checkout of `--repo` is fetched: its GitRepository's
    /// interval (60s without one, at least 1s).
    pub(super) fn self_repository_interval(&self, key: &ObjectKey) -> Duration {
        self.objects
            .of::<GitRepository>()
            .get(key)
            .map_or(Duration::from_secs(60), |g| g.spec.interval.to_std())
            .max(Duration::from_secs(1))
    }
}
