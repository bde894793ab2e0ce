//! One cached working clone per source: open or clone, fetch and reset hard
//! to the checkout ref (so a crashed earlier run leaves nothing that gets
//! committed), switch to a push branch the way Flux does, commit, push, and
//! retry a non-fast-forward push by re-fetching and re-applying the caller's
//! rewrite. Not safe for two users of the same cache directory at once: the
//! caller runs one automation per source at a time.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use git2::{
    AutotagOption, FetchOptions, Oid, PushOptions, RemoteRedirect, Repository, ResetType,
    Signature, Status, StatusOptions, build::CheckoutBuilder,
};
use sha1::{Digest, Sha1};

use crate::auth::{self, Auth};
use crate::remote::{self, Deadline, Shared};
use crate::signing::{self, Signer};
use crate::url::{self, RemoteUrl};
use ferroflux_policy::semver;

mod signed;
#[cfg(test)]
mod tests;

pub use signed::SignedTag;

/// `depth` for a fetch that must see the whole history.
const UNSHALLOW: i32 = i32::MAX;

/// Errors of workspace operations. Messages carry the URL with any password
/// removed and the branch; never a credential.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The URL does not parse.
    #[error(transparent)]
    Url(#[from] url::Error),
    /// The credentials do not fit the URL.
    #[error(transparent)]
    Credentials(#[from] auth::Error),
    /// The server's host key is unknown or does not match known_hosts.
    #[error("refusing to connect to '{url}': {source}")]
    HostKey {
        /// Redacted URL.
        url: String,
        /// What did not match.
        source: crate::known_hosts::Error,
    },
    /// The server rejected the credentials.
    #[error("authentication failed for '{url}': {message}")]
    AuthFailed {
        /// Redacted URL.
        url: String,
        /// Server or libgit2 message.
        message: String,
    },
    /// A network operation did not finish within `Options::timeout`.
    #[error("timeout after {timeout:?} waiting for '{url}'")]
    Timeout {
        /// Redacted URL.
        url: String,
        /// The limit (GitRepository `spec.timeout`).
        timeout: std::time::Duration,
    },
    /// Connection or protocol failure.
    #[error("failed to reach '{url}': {message}")]
    Remote {
        /// Redacted URL.
        url: String,
        /// libgit2 message.
        message: String,
    },
    /// The checkout ref does not exist on the remote.
    #[error("{what} not found in '{url}'")]
    RefNotFound {
        /// Redacted URL.
        url: String,
        /// e.g. `branch 'main'`.
        what: String,
    },
    /// A semver checkout constraint is invalid.
    #[error("invalid semver range '{range}' in checkout ref: {source}")]
    Semver {
        /// The range as given.
        range: String,
        /// Parser error.
        source: semver::Error,
    },
    /// The push was refused because the remote branch moved on.
    #[error("push to branch '{branch}' of '{url}' rejected as non-fast-forward: {message}")]
    NonFastForward {
        /// Redacted URL.
        url: String,
        /// Target branch.
        branch: String,
        /// Server or libgit2 message.
        message: String,
    },
    /// Still non-fast-forward after re-fetching and re-applying.
    #[error(
        "push to branch '{branch}' of '{url}' still rejected as non-fast-forward after {attempts} attempts"
    )]
    RetriesExhausted {
        /// Redacted URL.
        url: String,
        /// Target branch.
        branch: String,
        /// How many pushes were tried.
        attempts: u32,
    },
    /// The credentials may read but not write (deploy key, read-only token).
    #[error(
        "push to branch '{branch}' of '{url}' denied, the credentials are read-only: {message}"
    )]
    ReadOnly {
        /// Redacted URL.
        url: String,
        /// Target branch.
        branch: String,
        /// The server's message.
        message: String,
    },
    /// A branch protection rule refused the push.
    #[error("push to protected branch '{branch}' of '{url}' rejected: {message}")]
    ProtectedBranch {
        /// Redacted URL.
        url: String,
        /// Target branch.
        branch: String,
        /// The server's message.
        message: String,
    },
    /// Any other refusal (e.g. a pre-receive hook), with the server's text.
    #[error("push to branch '{branch}' of '{url}' rejected: {message}")]
    PushRejected {
        /// Redacted URL.
        url: String,
        /// Target branch.
        branch: String,
        /// The server's message.
        message: String,
    },
    /// A local repository operation failed.
    #[error("git {op} failed: {message}")]
    Local {
        /// Operation.
        op: &'static str,
        /// libgit2 message.
        message: String,
    },
    /// A file system operation on the cache failed.
    #[error("cannot {op} '{path}': {source}")]
    Io {
        /// Operation.
        op: &'static str,
        /// Path.
        path: PathBuf,
        /// OS error.
        source: std::io::Error,
    },
    /// Signing the commit failed.
    #[error(transparent)]
    Signing(#[from] signing::Error),
    /// The caller's rewrite failed.
    #[error("failed to apply changes: {0}")]
    Apply(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Push called with nothing committed.
    #[error("nothing to push to branch '{branch}': the workspace has no commit")]
    NothingToPush {
        /// Target branch.
        branch: String,
    },
}

impl Error {
    /// True for errors that come from the remote side (credentials, host
    /// keys, missing refs, network), where rebuilding the cache cannot help.
    pub fn is_remote(&self) -> bool {
        !matches!(self, Error::Local { .. } | Error::Io { .. })
    }
}

/// `git init` of a cache repository with nothing it does not use: no
/// template files (hooks samples, `description`, `info/exclude`: an empty
/// template path copies none and writes none of libgit2's own) and, in a
/// work tree, no reflogs (`core.logAllRefUpdates=false`). Each file is an
/// inode to allocate; a thousand GitRepositories made about 60 apiece,
/// and creating inodes was a third of the controller's CPU.
pub(crate) fn init_plain(dir: &Path, bare: bool) -> Result<Repository, git2::Error> {
    let mut opts = git2::RepositoryInitOptions::new();
    opts.bare(bare).template_path(Path::new(""));
    let repo = Repository::init_opts(dir, &opts)?;
    if !bare {
        repo.config()?.set_bool("core.logAllRefUpdates", false)?;
    }
    Ok(repo)
}

pub(crate) fn local(op: &'static str) -> impl Fn(git2::Error) -> Error {
    move |e| Error::Local {
        op,
        message: e.message().to_string(),
    }
}

/// A GitRepository `spec.ref`. Precedence as in source-controller:
/// commit > name > tag > semver > branch (pkg/git's `clone` checks `tag`
/// before `semver`, whatever the API comment says); all empty means
/// branch `master`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckoutRef {
    /// Branch name.
    pub branch: Option<String>,
    /// Tag name.
    pub tag: Option<String>,
    /// Masterminds semver constraint over tags.
    pub semver: Option<String>,
    /// Full reference name, e.g. `refs/pull/1/head`.
    pub name: Option<String>,
    /// Commit SHA (fetched via `branch` when that is also set).
    pub commit: Option<String>,
}

impl CheckoutRef {
    /// Checkout of a branch.
    pub fn branch(name: &str) -> Self {
        CheckoutRef {
            branch: Some(name.to_string()),
            ..CheckoutRef::default()
        }
    }

    /// The branch this ref names, used as the default push branch: the
    /// `branch` field, or `master` when nothing at all is set.
    pub fn branch_name(&self) -> Option<&str> {
        fn set(o: &Option<String>) -> Option<&str> {
            o.as_deref().filter(|s| !s.is_empty())
        }
        match set(&self.branch) {
            Some(b) => Some(b),
            None if [&self.tag, &self.semver, &self.name, &self.commit]
                .iter()
                .all(|o| set(o).is_none()) =>
            {
                Some("master")
            }
            None => None,
        }
    }
}

/// Called during fetches with (received objects, total objects): the
/// progress a terminal shows for long clones.
pub type FetchProgress = std::sync::Arc<dyn Fn(usize, usize) + Send + Sync>;

/// Options for [`Workspace::open_or_clone`].
#[derive(Clone)]
pub struct Options {
    /// Shallow fetch depth; `None` fetches the full history (Flux's
    /// `GitShallowClone` gate is on by default: depth 1).
    pub depth: Option<u32>,
    /// How many pushes [`Workspace::push_with_retry`] tries.
    pub push_attempts: u32,
    /// Fetch progress, when someone watches.
    pub progress: Option<FetchProgress>,
    /// Limit of each fetch and push (GitRepository `spec.timeout`, Flux's
    /// default 60s), checked in libgit2's callbacks; a server that never
    /// answers is bounded by the caller (see the crate docs).
    pub timeout: Option<std::time::Duration>,
    /// Skip the opening fetch when the clone's HEAD is this process's (or
    /// an earlier one's) own push to the checkout branch, made within this
    /// long. Safe for a caller that is about to push: a push from a stale
    /// base is rejected as non-fast-forward and retried after a fetch, and
    /// a rewrite that changes nothing fetches and runs again before it
    /// reports "nothing to do" ([`Workspace::push_with_retry`]). Automations
    /// that run one after another on one clone save a fetch each.
    pub trust_own_push: Option<std::time::Duration>,
    /// GitRepository `recurseSubmodules`: after each checkout, every
    /// submodule is checked out at its recorded commit, recursively (at
    /// most [`MAX_SUBMODULE_DEPTH`] levels), fetched with the same
    /// credentials, as source-controller does.
    pub recurse_submodules: bool,
    /// Share each network fetch with the other clones of the same remote,
    /// credentials and refspecs that ask while it runs (the GitRepositories
    /// of one repository): see [`crate::shared`].
    pub shared: Option<crate::shared::FetchPool>,
}

/// How deep submodules of submodules go (a repository is a stranger's
/// input; a cycle of submodules would never end).
pub const MAX_SUBMODULE_DEPTH: u32 = 8;

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("depth", &self.depth)
            .field("push_attempts", &self.push_attempts)
            .field("progress", &self.progress.is_some())
            .field("timeout", &self.timeout)
            .field("trust_own_push", &self.trust_own_push)
            .field("recurse_submodules", &self.recurse_submodules)
            .field("shared", &self.shared.is_some())
            .finish()
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            depth: Some(1),
            push_attempts: 5,
            progress: None,
            timeout: Some(std::time::Duration::from_secs(60)),
            trust_own_push: None,
            recurse_submodules: false,
            shared: None,
        }
    }
}

/// Commit author (also the committer, as in Flux).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    /// Name.
    pub name: String,
    /// Email.
    pub email: String,
}

/// Author and optional signing key for commits.
#[derive(Debug, Clone)]
pub struct CommitOptions {
    /// Author and committer.
    pub author: Author,
    /// OpenPGP signer.
    pub signer: Option<Signer>,
}

/// What to push: `git.push` of an ImageUpdateAutomation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushSpec {
    /// Branch to push to.
    pub branch: String,
    /// Extra refspec pushed in a second push, e.g. `HEAD:refs/for/main`.
    pub refspec: Option<String>,
    /// Push options (`-o key=value`; an empty value sends just `key`).
    pub options: BTreeMap<String, String>,
    /// Force the push (Flux forces when switching branch).
    pub force: bool,
}

/// A successful push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushResult {
    /// The pushed commit, full hex SHA-1.
    pub commit: String,
    /// The branch pushed to.
    pub branch: String,
    /// Extra refspecs pushed.
    pub refspecs: Vec<String>,
    /// How many push attempts it took.
    pub attempts: u32,
}

/// Whether [`Workspace::switch_branch`] continued an existing remote branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwitchOutcome {
    /// The remote branch exists: its head is checked out.
    Continued,
    /// The branch is new: created from the checkout commit.
    Created,
}

/// A cached working clone.
pub struct Workspace {
    repo: Repository,
    dir: PathBuf,
    url: RemoteUrl,
    auth: Auth,
    checkout_ref: CheckoutRef,
    opts: Options,
    /// Full name of the ref that was checked out (None for a bare commit).
    checkout_refname: Option<String>,
    checkout_commit: Option<Oid>,
    /// The commit HEAD was last reset to (None: unborn, empty remote).
    base: Option<Oid>,
    switched: Option<String>,
    pushed: Option<PushResult>,
    /// HEAD was taken from our own recent push, not fetched
    /// ([`Options::trust_own_push`]): the remote may have moved since.
    unverified: bool,
}

impl std::fmt::Debug for Workspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workspace")
            .field("dir", &self.dir)
            .field("url", &self.url.redacted())
            .field("checkout_ref", &self.checkout_ref)
            .field("checkout_commit", &self.checkout_commit)
            .finish()
    }
}

impl Workspace {
    /// Open the cached clone of `url` under `cache_dir` (fetch and reset it)
    /// or clone it; a cache that cannot be used is deleted and cloned anew.
    pub fn open_or_clone(
        cache_dir: &Path,
        url: &str,
        auth: &Auth,
        checkout: &CheckoutRef,
        opts: Options,
    ) -> Result<Workspace, Error> {
        let parsed = RemoteUrl::parse(url)?;
        auth.validate_for(&parsed)?;
        let auth = &with_url_password(auth, &parsed);
        private_dir(cache_dir)?;
        let dir = cache_dir.join(cache_key(&parsed));
        if dir.join(".git").exists() {
            match Self::reuse(&dir, &parsed, auth, checkout, &opts) {
                Ok(ws) => return Ok(ws),
                Err(e) if e.is_remote() => return Err(e),
                Err(_) => remove_dir(&dir)?,
            }
        } else if dir.exists() {
            remove_dir(&dir)?;
        }
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
            op: "create",
            path: dir.clone(),
            source,
        })?;
        let repo = init_plain(&dir, false).map_err(local("init"))?;
        // The password stays in memory (callbacks, header), never in .git/config.
        repo.remote("origin", &parsed.redacted())
            .map_err(local("remote add"))?;
        let mut ws = Workspace::new(repo, dir, parsed, auth, checkout, opts);
        ws.sync()?;
        Ok(ws)
    }

    fn reuse(
        dir: &Path,
        url: &RemoteUrl,
        auth: &Auth,
        checkout: &CheckoutRef,
        opts: &Options,
    ) -> Result<Workspace, Error> {
        // A crash can leave lock files behind; nobody else uses this clone.
        for lock in ["index.lock", "HEAD.lock", "shallow.lock"] {
            let _ = std::fs::remove_file(dir.join(".git").join(lock));
        }
        let repo = Repository::open(dir).map_err(local("open"))?;
        if repo.is_bare() {
            return Err(Error::Local {
                op: "open",
                message: "cache is a bare repository".to_string(),
            });
        }
        repo.remote_set_url("origin", &url.redacted())
            .map_err(local("remote set-url"))?;
        // Catch a corrupt HEAD or missing objects before talking to the remote.
        if let Ok(head) = repo.head() {
            let commit = head.peel_to_commit().map_err(local("open"))?;
            commit.tree().map_err(local("open"))?;
        } else if repo.find_reference("HEAD").is_err() {
            return Err(Error::Local {
                op: "open",
                message: "HEAD is unreadable".to_string(),
            });
        }
        let mut ws = Workspace::new(
            repo,
            dir.to_path_buf(),
            url.clone(),
            auth,
            checkout,
            opts.clone(),
        );
        if !ws.adopt_own_push() {
            ws.sync()?;
        }
        Ok(ws)
    }

    /// Take HEAD as the checkout commit without fetching when it is our
    /// own push to the checkout branch, younger than
    /// [`Options::trust_own_push`] (see there); false when it is not.
    fn adopt_own_push(&mut self) -> bool {
        let Some(window) = self.opts.trust_own_push else {
            return false;
        };
        let r = &self.checkout_ref;
        let set = |o: &Option<String>| o.as_deref().is_some_and(|s| !s.is_empty());
        if [&r.tag, &r.semver, &r.name, &r.commit].into_iter().any(set) {
            return false;
        }
        let Some(branch) = r.branch_name().map(str::to_string) else {
            return false;
        };
        let full = format!("refs/heads/{branch}");
        let Some(mark) = PushMark::read(&self.dir) else {
            return false;
        };
        let Ok(head) = self.repo.refname_to_id(&full) else {
            return false;
        };
        if mark.refname != full || mark.commit != head || !mark.younger_than(window) {
            return false;
        }
        if self.reset_branch(&branch, head).is_err() {
            return false;
        }
        self.checkout_refname = Some(full);
        self.checkout_commit = Some(head);
        self.unverified = true;
        true
    }

    /// Whether the checkout commit was fetched (false while it is taken
    /// from our own push, [`Options::trust_own_push`]).
    pub fn is_verified(&self) -> bool {
        !self.unverified
    }

    fn new(
        repo: Repository,
        dir: PathBuf,
        url: RemoteUrl,
        auth: &Auth,
        checkout: &CheckoutRef,
        opts: Options,
    ) -> Self {
        Workspace {
            repo,
            dir,
            url,
            auth: auth.clone(),
            checkout_ref: checkout.clone(),
            opts,
            checkout_refname: None,
            checkout_commit: None,
            base: None,
            switched: None,
            pushed: None,
            unverified: false,
        }
    }

    /// The working tree: the caller's rewrite runs here.
    pub fn workdir(&self) -> &Path {
        &self.dir
    }

    /// The commit the checkout ref resolved to (None for an empty remote).
    pub fn checkout_commit(&self) -> Option<String> {
        self.checkout_commit.map(|o| o.to_string())
    }

    /// The message of the checkout commit (None for an empty remote): the
    /// subject of GitRepository's `NewArtifact` event.
    pub fn checkout_message(&self) -> Option<String> {
        let oid = self.checkout_commit?;
        let commit = self.repo.find_commit(oid).ok()?;
        Some(String::from_utf8_lossy(commit.message_bytes()).into_owned())
    }

    /// The commit HEAD points at now.
    pub fn head_commit(&self) -> Option<String> {
        self.repo
            .head()
            .ok()
            .and_then(|h| h.target())
            .map(|o| o.to_string())
    }

    /// Flux's `observedSourceRevision` (`<branch>@sha1:<hex>`): the pushed
    /// commit after a push to the checkout branch, otherwise the checkout
    /// commit (also when the push went to another branch).
    pub fn observed_source_revision(&self) -> Option<String> {
        if let (Some(p), None) = (&self.pushed, &self.switched) {
            return Some(revision_string(
                Some(&format!("refs/heads/{}", p.branch)),
                &p.commit,
            ));
        }
        let commit = self.checkout_commit?;
        Some(revision_string(
            self.checkout_refname.as_deref(),
            &commit.to_string(),
        ))
    }

    /// Fetch the checkout ref and reset the working tree hard to it,
    /// removing untracked and ignored files.
    pub fn sync(&mut self) -> Result<(), Error> {
        let commit_sha = self.checkout_ref.commit.clone().filter(|c| !c.is_empty());
        let depth = if commit_sha.is_some() {
            if self.repo.is_shallow() {
                Some(UNSHALLOW)
            } else {
                None
            }
        } else {
            self.opts.depth.map(|d| d as i32)
        };
        // One connection: fetch what the ref names, then check it against
        // the refs the server advertised (a stale local ref proves nothing).
        let heads = self.fetch(&[self.fetch_refspec()], depth)?;
        self.unverified = false;
        let (remote_ref, local_ref, what) = self.resolve_target(&heads)?;
        let Some(remote_ref) = remote_ref else {
            // Empty remote: start an unborn branch.
            let branch = self
                .checkout_ref
                .branch_name()
                .unwrap_or("master")
                .to_string();
            self.repo
                .set_head(&format!("refs/heads/{branch}"))
                .map_err(local("checkout"))?;
            self.checkout_refname = Some(format!("refs/heads/{branch}"));
            self.checkout_commit = None;
            self.base = None;
            return self.clean_unborn();
        };
        let target = match &commit_sha {
            Some(sha) => {
                let oid = Oid::from_str(sha).map_err(|_| Error::RefNotFound {
                    url: self.url.redacted(),
                    what: format!("commit '{sha}'"),
                })?;
                self.repo.find_commit(oid).map_err(|_| Error::RefNotFound {
                    url: self.url.redacted(),
                    what: format!("commit '{sha}'"),
                })?;
                oid
            }
            None => self
                .repo
                .refname_to_id(&local_ref)
                .and_then(|o| self.repo.find_object(o, None)?.peel_to_commit())
                .map(|c| c.id())
                .map_err(|_| Error::RefNotFound {
                    url: self.url.redacted(),
                    what: what.clone(),
                })?,
        };
        let branch = self.checkout_ref.branch.clone().filter(|b| !b.is_empty());
        self.checkout_refname = match (&commit_sha, &branch) {
            (Some(_), Some(b)) => Some(format!("refs/heads/{b}")),
            (Some(_), None) => None,
            (None, _) => Some(remote_ref.clone()),
        };
        self.checkout_commit = Some(target);
        match (
            &branch,
            commit_sha.is_some() || !remote_ref.starts_with("refs/heads/"),
        ) {
            (Some(b), false) => self.reset_branch(b, target)?,
            _ => self.reset_detached(target)?,
        }
        self.switched = None;
        self.pushed = None;
        if self.opts.recurse_submodules {
            update_submodules(&self.repo, &self.url, &self.auth, self.opts.timeout, 0)?;
        }
        Ok(())
    }

    /// Move to `branch` for pushing there (Flux's "switch branch"): when
    /// the remote has it, continue from its head; otherwise create it from
    /// the checkout commit.
    pub fn switch_branch(&mut self, branch: &str) -> Result<SwitchOutcome, Error> {
        let full = format!("refs/heads/{branch}");
        let tracking = format!("refs/remotes/origin/{branch}");
        let heads = self.fetch(
            &[format!("+{full}:{tracking}")],
            self.opts.depth.map(|d| d as i32),
        )?;
        let outcome = if heads.iter().any(|(n, _)| *n == full) {
            let oid = self
                .repo
                .refname_to_id(&tracking)
                .map_err(local("switch branch"))?;
            self.reset_branch(branch, oid)?;
            SwitchOutcome::Continued
        } else {
            match self.checkout_commit {
                Some(oid) => self.reset_branch(branch, oid)?,
                None => {
                    self.repo.set_head(&full).map_err(local("switch branch"))?;
                    self.clean_unborn()?;
                }
            }
            SwitchOutcome::Created
        };
        self.switched = Some(branch.to_string());
        Ok(outcome)
    }

    /// Commit every change of the working tree (added, modified, deleted
    /// files). None when nothing changed: no empty commits.
    pub fn commit_all(
        &mut self,
        opts: &CommitOptions,
        message: &str,
    ) -> Result<Option<String>, Error> {
        let mut index = self.repo.index().map_err(local("add"))?;
        let mut status_opts = StatusOptions::new();
        status_opts
            .include_untracked(true)
            .recurse_untracked_dirs(true)
            .include_ignored(false)
            // Store refreshed stat data so later runs compare stats
            // instead of re-hashing racily-clean files.
            .update_index(true);
        let statuses = self
            .repo
            .statuses(Some(&mut status_opts))
            .map_err(local("status"))?;
        let mut changed = false;
        for entry in statuses.iter() {
            let Ok(path) = entry.path() else { continue };
            let st = entry.status();
            if st.contains(Status::WT_DELETED) {
                index.remove_path(Path::new(path)).map_err(local("rm"))?;
                changed = true;
            } else if st.intersects(
                Status::WT_NEW | Status::WT_MODIFIED | Status::WT_TYPECHANGE | Status::WT_RENAMED,
            ) {
                index.add_path(Path::new(path)).map_err(local("add"))?;
                changed = true;
            } else if st
                .intersects(Status::INDEX_NEW | Status::INDEX_MODIFIED | Status::INDEX_DELETED)
            {
                changed = true;
            }
        }
        if !changed {
            return Ok(None);
        }
        index.write().map_err(local("add"))?;
        let tree_id = index.write_tree().map_err(local("write-tree"))?;
        let parent = self.repo.head().ok().and_then(|h| h.peel_to_commit().ok());
        match &parent {
            Some(p) if p.tree_id() == tree_id => return Ok(None),
            None if index.is_empty() => return Ok(None),
            _ => {}
        }
        let tree = self.repo.find_tree(tree_id).map_err(local("commit"))?;
        let sig = Signature::now(&opts.author.name, &opts.author.email).map_err(local("commit"))?;
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        let oid = match &opts.signer {
            None => self
                .repo
                .commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)
                .map_err(local("commit"))?,
            Some(signer) => {
                let buf = self
                    .repo
                    .commit_create_buffer(&sig, &sig, message, &tree, &parents)
                    .map_err(local("commit"))?;
                let content = buf.as_str().map_err(|_| Error::Local {
                    op: "commit",
                    message: "commit buffer is not UTF-8".to_string(),
                })?;
                let signature = signer.sign(content.as_bytes())?;
                let oid = self
                    .repo
                    .commit_signed(content, &signature, Some("gpgsig"))
                    .map_err(local("commit"))?;
                self.move_head(oid)?;
                oid
            }
        };
        Ok(Some(oid.to_string()))
    }

    /// Push HEAD to `spec.branch` and `spec.refspec` in one push.
    pub fn push(&mut self, spec: &PushSpec) -> Result<PushResult, Error> {
        let head = self
            .repo
            .head()
            .ok()
            .and_then(|h| h.target())
            .ok_or_else(|| Error::NothingToPush {
                branch: spec.branch.clone(),
            })?;
        let src = match self
            .repo
            .head()
            .ok()
            .filter(|h| h.is_branch())
            .and_then(|h| h.name().ok().map(str::to_string))
        {
            Some(name) => name,
            None => {
                let name = format!("refs/heads/{}", spec.branch);
                self.repo
                    .reference(&name, head, true, "ferroflux: push")
                    .map_err(local("push"))?;
                name
            }
        };
        let force = if spec.force { "+" } else { "" };
        let mut all = vec![format!("{force}{src}:refs/heads/{}", spec.branch)];
        let mut refspecs = Vec::new();
        if let Some(r) = spec.refspec.as_deref().filter(|r| !r.is_empty()) {
            let r = r.trim_start_matches('+');
            all.push(format!("{force}{r}"));
            refspecs.push(r.to_string());
        }
        // One connection and one receive-pack request for both (libgit2
        // cannot ask for `atomic`; the server applies both or reports each).
        self.push_refspecs(&all, spec)?;
        self.unverified = false;
        let checkout_branch = format!("refs/heads/{}", spec.branch);
        if self.switched.is_none() && self.checkout_refname.as_deref() == Some(&checkout_branch) {
            // Best effort: without the mark the next run fetches.
            let _ = PushMark::write(&self.dir, &checkout_branch, head);
        }
        let result = PushResult {
            commit: head.to_string(),
            branch: spec.branch.clone(),
            refspecs,
            attempts: 1,
        };
        self.pushed = Some(result.clone());
        self.base = Some(head);
        Ok(result)
    }

    /// Apply the caller's rewrite, commit and push; on a non-fast-forward
    /// rejection re-fetch, reset and re-apply, up to `Options::push_attempts`
    /// times. `apply` returns the commit message when it changed something,
    /// None when there is nothing to commit. On failure the working tree is
    /// reset, so nothing half-done is left for the next run.
    pub fn push_with_retry<E>(
        &mut self,
        spec: &PushSpec,
        commit: &CommitOptions,
        mut apply: impl FnMut(&Path) -> Result<Option<String>, E>,
    ) -> Result<Option<PushResult>, Error>
    where
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let attempts = self.opts.push_attempts.max(1);
        // A run on an unverified HEAD (our own push, not fetched) is a
        // free try: it does not count as an attempt.
        let mut attempt = 0;
        loop {
            let unverified = self.unverified;
            if !unverified {
                attempt += 1;
            }
            let message = match apply(&self.dir) {
                Ok(Some(m)) => m,
                Ok(None) if unverified => {
                    self.refresh()?;
                    continue;
                }
                Ok(None) => return Ok(None),
                Err(e) => {
                    self.reset_to_base()?;
                    return Err(Error::Apply(e.into()));
                }
            };
            if self.commit_all(commit, &message)?.is_none() {
                if unverified {
                    self.refresh()?;
                    continue;
                }
                return Ok(None);
            }
            match self.push(spec) {
                Ok(mut r) => {
                    r.attempts = attempt.max(1);
                    self.pushed = Some(r.clone());
                    return Ok(Some(r));
                }
                Err(Error::NonFastForward { url, branch, .. })
                    if !unverified && attempt >= attempts =>
                {
                    self.reset_to_base()?;
                    return Err(Error::RetriesExhausted {
                        url,
                        branch,
                        attempts,
                    });
                }
                Err(Error::NonFastForward { .. }) => self.refresh()?,
                Err(e) => {
                    self.reset_to_base()?;
                    return Err(e);
                }
            }
        }
    }

    /// Re-fetch the checkout ref (and the push branch when switched) and reset.
    fn refresh(&mut self) -> Result<(), Error> {
        let switched = self.switched.clone();
        self.sync()?;
        if let Some(b) = switched {
            self.switch_branch(&b)?;
        }
        Ok(())
    }

    /// Reset HEAD, index and working tree to the last synced commit.
    pub fn reset_to_base(&mut self) -> Result<(), Error> {
        match self.base {
            Some(oid) => {
                let obj = self.repo.find_object(oid, None).map_err(local("reset"))?;
                // `reset --hard` + `clean -fdx` in one pass over the tree:
                // libgit2's hard reset ignores the checkout strategy (and so
                // keeps untracked files), so move HEAD with a soft reset and
                // let a forced checkout rewrite index and working tree.
                self.repo
                    .reset(&obj, ResetType::Soft, None)
                    .map_err(local("reset"))?;
                self.repo
                    .checkout_head(Some(
                        CheckoutBuilder::new()
                            .force()
                            .remove_untracked(true)
                            .remove_ignored(true),
                    ))
                    .map_err(local("clean"))
            }
            None => {
                if let Ok(mut head) = self.repo.head() {
                    let _ = head.delete();
                }
                self.clean_unborn()
            }
        }
    }

    /// The refspec that fetches what the checkout ref names (all tags for
    /// semver, all branches for a bare commit).
    fn fetch_refspec(&self) -> String {
        let r = &self.checkout_ref;
        let set = |o: &Option<String>| o.clone().filter(|s| !s.is_empty());
        let branch = |b: &str| format!("+refs/heads/{b}:refs/remotes/origin/{b}");
        if set(&r.commit).is_some() {
            return match set(&r.branch) {
                Some(b) => branch(&b),
                None => "+refs/heads/*:refs/remotes/origin/*".to_string(),
            };
        }
        if let Some(name) = set(&r.name) {
            return format!("+{name}:refs/ferroflux/checkout");
        }
        if let Some(tag) = set(&r.tag) {
            return format!("+refs/tags/{tag}:refs/tags/{tag}");
        }
        if set(&r.semver).is_some() {
            return "+refs/tags/*:refs/tags/*".to_string();
        }
        branch(r.branch_name().unwrap_or("master"))
    }

    /// Fetch `refspecs`; returns the refs the server advertised. With
    /// [`Options::shared`], the network fetch is one shared by every clone
    /// of the same remote, credentials and refspecs that asks meanwhile
    /// ([`crate::shared`]); a fetch of the whole history never is.
    fn fetch(
        &mut self,
        refspecs: &[String],
        depth: Option<i32>,
    ) -> Result<Vec<(String, Oid)>, Error> {
        if let Some(shared) = self.opts.shared.clone()
            && depth != Some(UNSHALLOW)
        {
            let key = crate::shared::Request {
                url: &self.url,
                auth: &self.auth,
                refspecs,
                depth,
                opts: &self.opts,
            };
            let fetched = shared.fetch(&key)?;
            fetched.link(&mut self.repo, &self.dir, refspecs)?;
            return Ok(fetched.heads().to_vec());
        }
        let remote = self.repo.find_remote("origin").map_err(local("remote"))?;
        fetch_remote(remote, &self.url, &self.auth, &self.opts, refspecs, depth)
    }

    /// (remote ref, local ref, description) of the checkout target; remote
    /// ref None when the remote is empty.
    fn resolve_target(
        &self,
        heads: &[(String, Oid)],
    ) -> Result<(Option<String>, String, String), Error> {
        let r = &self.checkout_ref;
        let set = |o: &Option<String>| o.clone().filter(|s| !s.is_empty());
        let has = |name: &str| heads.iter().any(|(n, _)| n == name);
        let not_found = |what: String| Error::RefNotFound {
            url: self.url.redacted(),
            what,
        };
        let heads_only = heads.iter().filter(|(n, _)| n.starts_with("refs/")).count();
        if heads_only == 0 {
            return Ok((None, String::new(), "empty repository".to_string()));
        }
        if set(&r.commit).is_some() {
            return Ok(match set(&r.branch) {
                Some(b) => (
                    Some(format!("refs/heads/{b}")),
                    format!("refs/remotes/origin/{b}"),
                    format!("branch '{b}'"),
                ),
                None => (
                    Some("refs/heads/*".to_string()),
                    "refs/remotes/origin/*".to_string(),
                    "commit".to_string(),
                ),
            });
        }
        if let Some(name) = set(&r.name) {
            return if has(&name) {
                Ok((
                    Some(name.clone()),
                    "refs/ferroflux/checkout".to_string(),
                    format!("reference '{name}'"),
                ))
            } else {
                Err(not_found(format!("reference '{name}'")))
            };
        }
        if let Some(tag) = set(&r.tag) {
            let full = format!("refs/tags/{tag}");
            return if has(&full) {
                Ok((Some(full.clone()), full, format!("tag '{tag}'")))
            } else {
                Err(not_found(format!("tag '{tag}'")))
            };
        }
        if let Some(range) = set(&r.semver) {
            let constraint =
                semver::Constraints::parse(&range).map_err(|source| Error::Semver {
                    range: range.clone(),
                    source,
                })?;
            // Flux: `version.ParseVersion` (strict, optional `v`), highest wins.
            let tag = heads
                .iter()
                .filter_map(|(n, _)| n.strip_prefix("refs/tags/"))
                .filter(|t| !t.ends_with("^{}"))
                .filter_map(|t| {
                    semver::try_parse_tag(t)
                        .filter(|v| constraint.check(v))
                        .map(|v| (v, t))
                })
                .max_by(|a, b| a.0.compare(&b.0))
                .map(|(_, t)| t)
                .ok_or_else(|| not_found(format!("no tag matching semver '{range}'")))?;
            return Ok((
                Some(format!("refs/tags/{tag}")),
                format!("refs/tags/{tag}"),
                format!("tag '{tag}'"),
            ));
        }
        let branch = r.branch_name().unwrap_or("master").to_string();
        let full = format!("refs/heads/{branch}");
        if has(&full) {
            Ok((
                Some(full),
                format!("refs/remotes/origin/{branch}"),
                format!("branch '{branch}'"),
            ))
        } else {
            Err(not_found(format!("branch '{branch}'")))
        }
    }

    fn reset_branch(&mut self, branch: &str, oid: Oid) -> Result<(), Error> {
        let name = format!("refs/heads/{branch}");
        // Detach first: force-moving the checked-out branch is refused.
        self.repo
            .set_head_detached(oid)
            .map_err(local("checkout"))?;
        {
            let commit = self.repo.find_commit(oid).map_err(local("checkout"))?;
            self.repo
                .branch(branch, &commit, true)
                .map_err(local("checkout"))?;
        }
        self.repo.set_head(&name).map_err(local("checkout"))?;
        self.base = Some(oid);
        self.reset_to_base()
    }

    fn reset_detached(&mut self, oid: Oid) -> Result<(), Error> {
        self.repo
            .set_head_detached(oid)
            .map_err(local("checkout"))?;
        self.base = Some(oid);
        self.reset_to_base()
    }

    fn move_head(&self, oid: Oid) -> Result<(), Error> {
        let head = self.repo.find_reference("HEAD").map_err(local("commit"))?;
        match head.symbolic_target().ok().flatten() {
            Some(target) => {
                let target = target.to_string();
                self.repo
                    .reference(&target, oid, true, "commit (signed)")
                    .map_err(local("commit"))?;
            }
            None => self.repo.set_head_detached(oid).map_err(local("commit"))?,
        }
        Ok(())
    }

    /// Empty the index and the working tree (except `.git`).
    fn clean_unborn(&mut self) -> Result<(), Error> {
        let mut index = self.repo.index().map_err(local("reset"))?;
        index.clear().map_err(local("reset"))?;
        index.write().map_err(local("reset"))?;
        let entries = std::fs::read_dir(&self.dir).map_err(|source| Error::Io {
            op: "read",
            path: self.dir.clone(),
            source,
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.file_name().is_some_and(|n| n == ".git") {
                continue;
            }
            let res = if path.is_dir() && !path.is_symlink() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            res.map_err(|source| Error::Io {
                op: "remove",
                path: path.clone(),
                source,
            })?;
        }
        Ok(())
    }

    fn push_refspecs(&mut self, refspecs: &[String], spec: &PushSpec) -> Result<(), Error> {
        let seen: Shared = Default::default();
        let url = self.url.clone();
        let auth = self.auth.clone();
        let headers = remote::headers(&url, &auth);
        let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
        let deadline = Deadline::after(self.opts.timeout);
        let options: Vec<String> = spec
            .options
            .iter()
            .map(|(k, v)| {
                if v.is_empty() {
                    k.clone()
                } else {
                    format!("{k}={v}")
                }
            })
            .collect();
        let option_refs: Vec<&str> = options.iter().map(String::as_str).collect();
        let mut remote = self.repo.find_remote("origin").map_err(local("remote"))?;
        let mut po = PushOptions::new();
        let mut cbs = remote::callbacks(&url, &auth, &seen, deadline);
        let s = seen.clone();
        cbs.push_negotiation(move |_| {
            if remote::expired(deadline, &s) {
                return Err(git2::Error::from_str("timeout"));
            }
            Ok(())
        });
        po.remote_callbacks(cbs).custom_headers(&header_refs);
        if !headers.is_empty() {
            po.follow_redirects(RemoteRedirect::None);
        }
        if !option_refs.is_empty() {
            po.remote_push_options(&option_refs);
        }
        let res = remote.push(refspecs, Some(&mut po));
        let rejected = !seen.borrow().rejections.is_empty();
        match res {
            Ok(()) if !rejected => Ok(()),
            Ok(()) => Err(remote::push_error(None, &url, &auth, &spec.branch, &seen)),
            Err(e) => Err(remote::push_error(
                Some(&e),
                &url,
                &auth,
                &spec.branch,
                &seen,
            )),
        }
    }
}

/// Flux's `git.Commit.String()`: `<short ref>@sha1:<hex>`, or `sha1:<hex>`
/// without a reference. The short ref drops the first two path segments
/// (`refs/heads/feature/x` → `feature/x`).
pub fn revision_string(reference: Option<&str>, hex: &str) -> String {
    match reference.and_then(|r| r.splitn(3, '/').nth(2)) {
        Some(short) => format!("{short}@sha1:{hex}"),
        None => format!("sha1:{hex}"),
    }
}

/// Fetch `refspecs` through `remote` (the URL's password stays in the
/// callbacks and headers); returns the refs the server advertised.
pub(crate) fn fetch_remote(
    mut remote: git2::Remote<'_>,
    url: &RemoteUrl,
    auth: &Auth,
    opts: &Options,
    refspecs: &[String],
    depth: Option<i32>,
) -> Result<Vec<(String, Oid)>, Error> {
    let seen: Shared = Default::default();
    let headers = remote::headers(url, auth);
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    let deadline = Deadline::after(opts.timeout);
    let mut fo = FetchOptions::new();
    let mut cbs = remote::callbacks(url, auth, &seen, deadline);
    let progress = opts.progress.clone();
    let s = seen.clone();
    cbs.transfer_progress(move |p| {
        if let Some(progress) = &progress {
            progress(p.received_objects(), p.total_objects());
        }
        !remote::expired(deadline, &s)
    });
    fo.remote_callbacks(cbs)
        .download_tags(AutotagOption::None)
        .custom_headers(&header_refs);
    if !headers.is_empty() {
        // The Authorization header must reach this host only.
        fo.follow_redirects(RemoteRedirect::None);
    }
    // libgit2's local transport cannot do shallow fetches; a local
    // fetch copies no more than it needs anyway.
    if let Some(d) = depth.filter(|_| url.scheme != url::Scheme::File) {
        fo.depth(d);
    }
    remote
        .fetch(refspecs, Some(&mut fo), None)
        .map_err(|e| remote::fetch_error(&e, url, auth, &seen))?;
    let heads = remote
        .list()
        .map_err(|e| remote::fetch_error(&e, url, auth, &seen))?
        .iter()
        .map(|h| (h.name().to_string(), h.oid()))
        .collect();
    Ok(heads)
}

fn cache_key(url: &RemoteUrl) -> String {
    let digest = Sha1::digest(url.redacted().as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The Basic credentials a `user:password@` URL carries, when the Secret
/// has none (git's own rule), so that the URL can be stored without them.
fn with_url_password(auth: &Auth, url: &RemoteUrl) -> Auth {
    let mut auth = auth.clone();
    if auth.basic.is_none()
        && auth.bearer_token.is_none()
        && let Some(p) = url.password()
    {
        let user = url.user.clone().unwrap_or_else(|| "git".to_string());
        auth.basic = Some((user, p.to_string()));
    }
    auth
}

/// Create the cache directory readable by its owner only (the clones hold
/// private repositories' contents).
pub(crate) fn private_dir(dir: &Path) -> Result<(), Error> {
    use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
    let io = |op| {
        move |source| Error::Io {
            op,
            path: dir.to_path_buf(),
            source,
        }
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io("create"))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io("chmod"))
}

pub(crate) fn remove_dir(dir: &Path) -> Result<(), Error> {
    std::fs::remove_dir_all(dir).map_err(|source| Error::Io {
        op: "remove",
        path: dir.to_path_buf(),
        source,
    })
}

/// `.git/ferroflux-push`: the branch and commit of our last push from this
/// clone and when it happened ([`Options::trust_own_push`]).
#[derive(Debug, PartialEq, Eq)]
struct PushMark {
    refname: String,
    commit: Oid,
    unix_ms: u128,
}

impl PushMark {
    const FILE: &'static str = "ferroflux-push";

    fn read(dir: &Path) -> Option<PushMark> {
        let text = std::fs::read_to_string(dir.join(".git").join(Self::FILE)).ok()?;
        let mut parts = text.split_whitespace();
        let refname = parts.next()?.to_string();
        let commit = Oid::from_str(parts.next()?).ok()?;
        let unix_ms = parts.next()?.parse().ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(PushMark {
            refname,
            commit,
            unix_ms,
        })
    }

    /// Written to a temp file and renamed: a torn mark is never read.
    fn write(dir: &Path, refname: &str, commit: Oid) -> std::io::Result<()> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        let git = dir.join(".git");
        let tmp = git.join(format!("{}.tmp", Self::FILE));
        std::fs::write(&tmp, format!("{refname} {commit} {now}\n"))?;
        std::fs::rename(&tmp, git.join(Self::FILE))
    }

    /// Made within `window` of now (a mark from the future is not trusted).
    fn younger_than(&self, window: std::time::Duration) -> bool {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        now >= self.unix_ms && now - self.unix_ms <= window.as_millis()
    }
}

/// Check out every submodule of `repo` at its recorded commit, then theirs,
/// with the parent's credentials (a relative submodule URL is on the
/// parent's host; its checks use the parent's URL).
fn update_submodules(
    repo: &Repository,
    parent: &RemoteUrl,
    auth: &Auth,
    timeout: Option<std::time::Duration>,
    depth: u32,
) -> Result<(), Error> {
    let submodules = repo.submodules().map_err(local("submodules"))?;
    if !submodules.is_empty() && depth >= MAX_SUBMODULE_DEPTH {
        return Err(Error::Local {
            op: "submodules",
            message: format!("submodules nested deeper than {MAX_SUBMODULE_DEPTH} levels"),
        });
    }
    for mut sm in submodules {
        let url = sm
            .url()
            .ok()
            .flatten()
            .and_then(|u| RemoteUrl::parse(u).ok())
            .unwrap_or_else(|| parent.clone());
        let seen: Shared = Default::default();
        let mut fo = FetchOptions::new();
        fo.remote_callbacks(remote::callbacks(
            &url,
            auth,
            &seen,
            Deadline::after(timeout),
        ));
        let mut so = git2::SubmoduleUpdateOptions::new();
        so.fetch(fo);
        sm.update(true, Some(&mut so))
            .map_err(|e| remote::fetch_error(&e, &url, auth, &seen))?;
        let sub = sm.open().map_err(local("submodule open"))?;
        update_submodules(&sub, parent, auth, timeout, depth + 1)?;
    }
    Ok(())
}
