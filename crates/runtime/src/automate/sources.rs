//! The GitRepository job: its Secrets and the artifacts of what it
//! includes looked up, then source-controller's reconcile on a blocking
//! thread (clone, archive, store). To become GitRepository's
//! `Kind::reconcile`.

use ferroflux_api::source::Artifact;
use ferroflux_controllers::source::git::{self, GitRepositoryInput};

use super::*;

/// What one GitRepository run owns.
struct GitJob {
    repository: GitRepository,
    secret: Option<SecretData>,
    verify_secret: Option<SecretData>,
    included: BTreeMap<String, Option<Artifact>>,
}

impl Runner {
    /// Start reconciling one GitRepository (None when it left the objects).
    pub(super) fn start_git_repository(
        &mut self,
        key: &ObjectKey,
        requested: Option<&str>,
    ) -> Option<Work> {
        if requested.is_some() {
            let obj = self.objects.git_repositories.get_mut(key)?;
            sink::note_request(&mut obj.metadata, requested);
        }
        let job = self.git_job(key)?;
        let started = std::time::Instant::now();
        let storage = self.storage.clone();
        let opts = self.sources.clone();
        let clock = Arc::clone(&self.clock);
        let status_sink = self.status_sink(key);
        Some(Box::pin(async move {
            let suspended = job.repository.spec.suspend == Some(true);
            let run = tokio::task::spawn_blocking(move || {
                let input = GitRepositoryInput {
                    repository: &job.repository,
                    secret: job.secret.as_ref(),
                    verify_secret: job.verify_secret.as_ref(),
                    included: &job.included,
                    storage: &storage,
                };
                git::reconcile(&input, clock.as_ref(), &opts)
            })
            .await;
            let finished = match run {
                Ok(r) => {
                    status_sink
                        .finish(
                            started,
                            suspended,
                            &r.status,
                            Said::Event(r.event),
                            r.outcome,
                            None,
                        )
                        .await
                }
                Err(e) => Err(AutomateError::Join(e.to_string())),
            };
            Done::from(finished)
        }))
    }

    /// The GitRepositories that follow the remote `automation` pushed to
    /// (its `sourceRef`, and any other of the same URL: seed 004's
    /// write-enabled copy), when this home reconciles them.
    pub(super) fn pushed_sources(&self, automation: &ObjectKey) -> Vec<ObjectKey> {
        if !self.serves(GIT_REPOSITORY) {
            return Vec::new();
        }
        let Some(auto) = self.objects.automations.get(automation) else {
            return Vec::new();
        };
        let (Some(source), _) = self.git_source(automation, auto) else {
            return Vec::new();
        };
        let same = |url: &str| {
            let norm = |u: &str| u.trim_end_matches('/').trim_end_matches(".git").to_string();
            norm(url) == norm(&source.spec.url)
        };
        self.objects
            .git_repositories
            .keys()
            .filter(|k| self.git_repository(k).0.is_some_and(|g| same(&g.spec.url)))
            .cloned()
            .collect()
    }

    /// A deleted GitRepository's artifacts and clone go (source-controller's
    /// `reconcileDelete`), in the background: nothing waits for it.
    pub(super) fn delete_artifacts(&self, repo: GitRepository) {
        let storage = self.storage.clone();
        let opts = self.sources.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = git::delete(&repo, &storage, &opts) {
                let name = repo.metadata.name.as_deref().unwrap_or_default();
                tracing::warn!(gitrepository = %name, "{e}");
            }
        });
    }

    /// The GitRepository as this home runs it (see [`Runner::git_repository`]),
    /// with its Secrets and the artifacts of the repositories it includes.
    fn git_job(&self, key: &ObjectKey) -> Option<GitJob> {
        if !self.objects.git_repositories.contains_key(key) {
            return None;
        }
        let (repository, secret) = self.git_repository(key);
        let repository = repository?;
        let verify_secret = repository
            .spec
            .verify
            .as_ref()
            .and_then(|v| self.secret(&key.namespace, &v.secret_ref.name).ok())
            .cloned();
        let included = repository
            .spec
            .include
            .iter()
            .filter_map(|i| {
                let k = ObjectKey::new(GIT_REPOSITORY, &key.namespace, &i.repository.name);
                let g = self.objects.git_repositories.get(&k)?;
                let artifact = g.status.as_ref().and_then(|s| s.artifact.clone());
                Some((i.repository.name.clone(), artifact))
            })
            .collect();
        Some(GitJob {
            repository,
            secret,
            verify_secret,
            included,
        })
    }
}
