//! The local home of `ferroflux automate`: the working clone of `--repo`
//! (fetched, read into [`Objects`], their stored status attached), and the
//! GitRepository rewritten to `--repo` when it describes the repository
//! ferroflux runs from. To become `home/local.rs` with the `Home` trait.

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
        if self.cluster.is_some() {
            // Objects come from the watches.
            return Ok(false);
        }
        let url = self.url.clone();
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
                let auth = if self.opts.repo_credentials.is_empty() {
                    ferroflux_git::Auth::none()
                } else {
                    ferroflux_git::Auth::from_secret(&self.opts.repo_credentials)
                        .map_err(|e| fail(e.to_string()))?
                };
                let cache = self.cache_dir.join("manifests");
                let checkout = ferroflux_git::CheckoutRef::branch(&self.opts.branch);
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
        let loaded = tokio::task::spawn_blocking(move || LocalSource::load(&root, &path))
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
            if let Some(ks) = self.objects.kustomizations.get(&k) {
                self.finalize_kustomization(ks.clone());
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
            for (k, v) in o.image_repositories.iter_mut() {
                v.status = st.get_status(k)?;
                st.put_spec(k, &v.spec)?;
            }
            for (k, v) in o.image_policies.iter_mut() {
                v.status = st.get_status(k)?;
                st.put_spec(k, &v.spec)?;
            }
            for (k, v) in o.automations.iter_mut() {
                v.status = st.get_status(k)?;
                st.put_spec(k, &v.spec)?;
            }
            for (k, v) in o.receivers.iter_mut() {
                v.status = st.get_status(k)?;
                st.put_spec(k, &v.spec)?;
            }
            for (k, v) in o.git_repositories.iter_mut() {
                v.status = st.get_status(k)?;
                st.put_spec(k, &v.spec)?;
            }
            for (k, v) in o.kustomizations.iter_mut() {
                v.status = st.get_status(k)?;
                st.put_spec(k, &v.spec)?;
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

    /// The GitRepository `key` as this home runs it, and its Secret: in a
    /// cluster what it says; locally rewritten to `--repo` (URL, branch
    /// when it names no ref, `--repo`'s credentials) when it describes the
    /// repository ferroflux runs from.
    pub(super) fn git_repository(
        &self,
        key: &ObjectKey,
    ) -> (Option<GitRepository>, Option<SecretData>) {
        let ns = key.namespace.as_str();
        let found = self.objects.git_repositories.get(key).cloned();
        if self.cluster.is_some() {
            // In a cluster the GitRepository is what it says.
            let secret = found
                .as_ref()
                .and_then(|gr| gr.spec.secret_ref.as_ref())
                .and_then(|r| self.secret(ns, &r.name).ok().cloned());
            return (found, secret);
        }
        let describes_self = match &found {
            Some(gr) => self.describes_repo(gr),
            // Bootstrap keeps flux-system's own GitRepository outside the
            // automation's path; it always means the repository itself.
            None => key.name == "flux-system",
        };
        if !describes_self {
            let secret = found
                .as_ref()
                .and_then(|gr| gr.spec.secret_ref.as_ref())
                .and_then(|r| self.secret(ns, &r.name).ok().cloned());
            return (found, secret);
        }
        let mut gr = found.unwrap_or_else(|| {
            let mut g = GitRepository::new(&key.name, Default::default());
            g.metadata.namespace = Some(ns.to_string());
            g
        });
        gr.spec.url = self.url.clone();
        if gr.spec.reference.is_none() {
            gr.spec.reference = Some(GitRepositoryRef {
                branch: Some(self.opts.branch.clone()),
                ..Default::default()
            });
        }
        let named = gr
            .spec
            .secret_ref
            .as_ref()
            .and_then(|r| self.secret(ns, &r.name).ok().cloned());
        let (secret_ref, data) = if !self.opts.repo_credentials.is_empty() {
            (
                Some("ferroflux-repo-credentials".to_string()),
                Some(self.opts.repo_credentials.clone()),
            )
        } else if let Some(d) = named {
            (gr.spec.secret_ref.as_ref().map(|r| r.name.clone()), Some(d))
        } else {
            (None, None)
        };
        gr.spec.secret_ref = secret_ref.map(|name| LocalObjectReference { name });
        (Some(gr), data)
    }

    /// `spec.timeout` of the GitRepository that describes `--repo` (60s).
    pub(super) fn manifests_timeout(&self) -> Duration {
        let repo = self
            .objects
            .git_repositories
            .values()
            .find(|g| self.describes_repo(g));
        git_timeout(repo)
    }

    pub(super) fn describes_repo(&self, gr: &GitRepository) -> bool {
        let same = |a: &str, b: &str| {
            a.trim_end_matches('/').trim_end_matches(".git")
                == b.trim_end_matches('/').trim_end_matches(".git")
        };
        if same(&gr.spec.url, &self.url) || same(&gr.spec.url, &self.opts.repo) {
            return true;
        }
        // Another object for the same remote (seed 004's write-enabled
        // `flux-system-write`) describes it too.
        let self_url = self
            .objects
            .git_repositories
            .iter()
            .find(|(k, _)| k.namespace == "flux-system" && k.name == "flux-system")
            .map(|(_, g)| g.spec.url.clone());
        self_url.is_some_and(|u| same(&u, &gr.spec.url))
    }
}
