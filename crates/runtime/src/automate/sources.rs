//! What the runner does for GitRepositories beyond their reconcile: the
//! sources that follow a push.

use super::*;

impl Runner {
    /// The GitRepositories that follow the remote `automation` pushed to
    /// (its `sourceRef`, and any other of the same URL: seed 004's
    /// write-enabled copy), when this home reconciles them.
    pub(super) fn pushed_sources(&self, automation: &ObjectKey) -> Vec<ObjectKey> {
        if !self.serves(GIT_REPOSITORY) {
            return Vec::new();
        }
        let Some(auto) = self.objects.of::<ImageUpdateAutomation>().get(automation) else {
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
            .of::<GitRepository>()
            .keys()
            .filter(|k| self.git_repository(k).0.is_some_and(|g| same(&g.spec.url)))
            .cloned()
            .collect()
    }
}
