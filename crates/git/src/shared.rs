//! One network fetch shared by the clones that ask for the same thing at
//! once. A thousand GitRepositories of one repository (flux-benchmark's
//! shape, or a monorepo with a source per team) would otherwise make a
//! thousand fetches of the same commit, and the Git server is what every
//! reconcile then waits for.
//!
//! A [`FetchPool`] keeps one bare *mirror* per remote URL, credentials,
//! refspecs and depth. A clone asks the pool; the pool fetches into the
//! mirror, and the clone borrows the mirror's objects (`objects/info/
//! alternates`) and sets its refs to what the server advertised, which is
//! what its own fetch would have done.
//!
//! Freshness is the rule that makes sharing safe: a clone joins only a
//! fetch that *starts after it asked*. While a fetch runs, everyone who
//! asks waits for the next one, which the first of them starts as soon as
//! the running one ends: at most one fetch in flight and one gathering per
//! mirror, and nobody is served a fetch older than its request (a push
//! made before a reconcile began is always seen by it).
//!
//! Credentials separate mirrors (two Secrets for one URL never share one,
//! so a clone cannot read through someone else's access); they are hashed
//! in memory only, and mirror directories are numbered, never named after
//! a URL or a credential.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use git2::{Oid, Repository};
use sha1::{Digest, Sha1};

use crate::auth::Auth;
use crate::url::RemoteUrl;
use crate::workspace::{Error, Options, fetch_remote, local, private_dir};

/// Mirrors kept at most; beyond it, idle mirrors are dropped (a remote
/// nobody names any more must not hold disk forever).
const MAX_MIRRORS: usize = 1024;

static POOLS: AtomicU64 = AtomicU64::new(0);

/// Shared fetches of one process (cheap to clone: one pool behind an `Arc`).
#[derive(Clone)]
pub struct FetchPool {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for FetchPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FetchPool")
            .field("dir", &self.inner.dir)
            .finish_non_exhaustive()
    }
}

struct Inner {
    /// `<root>/<pid>-<n>`: this pool's mirrors, removed when it drops.
    dir: PathBuf,
    slots: Mutex<HashMap<[u8; 20], Arc<Slot>>>,
    next: AtomicU64,
    /// Network fetches made (for figures and tests).
    fetches: AtomicU64,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One mirror and the fetches into it.
struct Slot {
    dir: PathBuf,
    state: Mutex<State>,
    done: Condvar,
}

#[derive(Default)]
struct State {
    /// Fetches started and finished; one runs while `started > finished`.
    started: u64,
    finished: u64,
    /// The outcome of fetch number `finished`.
    last: Option<Outcome>,
}

/// The refs a fetch saw, or why it failed, for everyone who joined it.
type Outcome = Result<Arc<Vec<(String, Oid)>>, Arc<Error>>;

/// What one clone asks for.
pub(crate) struct Request<'a> {
    pub url: &'a RemoteUrl,
    pub auth: &'a Auth,
    pub refspecs: &'a [String],
    pub depth: Option<i32>,
    pub opts: &'a Options,
}

/// A finished shared fetch: the mirror and the refs the server advertised.
pub(crate) struct Fetched {
    mirror: PathBuf,
    heads: Arc<Vec<(String, Oid)>>,
}

impl FetchPool {
    /// A pool whose mirrors live under `root` (in a directory of this
    /// pool's own; directories that earlier, dead processes left there are
    /// removed).
    pub fn new(root: &Path) -> FetchPool {
        remove_dead(root);
        let n = POOLS.fetch_add(1, Ordering::Relaxed);
        FetchPool {
            inner: Arc::new(Inner {
                dir: root.join(format!("{}-{n}", std::process::id())),
                slots: Mutex::new(HashMap::new()),
                next: AtomicU64::new(0),
                fetches: AtomicU64::new(0),
            }),
        }
    }

    /// The directory of this pool's mirrors.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// How many mirrors the pool holds.
    pub fn mirrors(&self) -> usize {
        lock(&self.inner.slots).len()
    }

    /// How many network fetches the pool has made.
    pub fn fetches(&self) -> u64 {
        self.inner.fetches.load(Ordering::Relaxed)
    }

    /// Fetch for `req`, sharing the network fetch as the module says.
    pub(crate) fn fetch(&self, req: &Request<'_>) -> Result<Fetched, Error> {
        let slot = self.slot(req);
        let asked = Instant::now();
        // A waiter gives up after twice its own timeout: the fetch before
        // the one it joins may run for a whole timeout too.
        let patience = req.opts.timeout.map(|t| t.saturating_mul(2));
        let mut st = lock(&slot.state);
        let want = st.started + 1;
        loop {
            if st.finished >= want {
                let heads = match st.last.as_ref() {
                    Some(Ok(heads)) => Arc::clone(heads),
                    Some(Err(e)) => return Err(duplicate(e)),
                    None => return Err(interrupted()),
                };
                return Ok(Fetched {
                    mirror: slot.dir.clone(),
                    heads,
                });
            }
            if st.started < want && st.started == st.finished {
                st.started = want;
                drop(st);
                return self.run(&slot, req, want);
            }
            st = match patience {
                Some(p) => {
                    let left = p.saturating_sub(asked.elapsed());
                    if left.is_zero() {
                        return Err(Error::Timeout {
                            url: req.url.redacted(),
                            timeout: req.opts.timeout.unwrap_or_default(),
                        });
                    }
                    slot.done
                        .wait_timeout(st, left)
                        .map_or_else(|p| p.into_inner().0, |(g, _)| g)
                }
                None => slot.done.wait(st).unwrap_or_else(|p| p.into_inner()),
            };
        }
    }

    /// Run fetch number `n` into the slot's mirror and hand it to everyone
    /// waiting for it (also when it fails or panics).
    fn run(&self, slot: &Slot, req: &Request<'_>, n: u64) -> Result<Fetched, Error> {
        struct Publish<'s> {
            slot: &'s Slot,
            n: u64,
            last: Option<Outcome>,
        }
        impl Drop for Publish<'_> {
            fn drop(&mut self) {
                let mut st = lock(&self.slot.state);
                st.finished = self.n;
                st.last = self.last.take();
                drop(st);
                self.slot.done.notify_all();
            }
        }
        let mut publish = Publish {
            slot,
            n,
            last: None,
        };
        self.inner.fetches.fetch_add(1, Ordering::Relaxed);
        let result = fetch_into(&slot.dir, req);
        let (shared, mine) = match result {
            Ok(heads) => {
                let heads = Arc::new(heads);
                (Ok(Arc::clone(&heads)), Ok(heads))
            }
            Err(e) => {
                let copy = duplicate(&e);
                (Err(Arc::new(copy)), Err(e))
            }
        };
        publish.last = Some(shared);
        drop(publish);
        mine.map(|heads| Fetched {
            mirror: slot.dir.clone(),
            heads,
        })
    }

    fn slot(&self, req: &Request<'_>) -> Arc<Slot> {
        let key = slot_key(req);
        let mut slots = lock(&self.inner.slots);
        if let Some(slot) = slots.get(&key) {
            return Arc::clone(slot);
        }
        if slots.len() >= MAX_MIRRORS {
            // Only this map holds an idle slot; a slot in use stays.
            slots.retain(|_, s| {
                let keep = Arc::strong_count(s) > 1;
                if !keep {
                    let _ = std::fs::remove_dir_all(&s.dir);
                }
                keep
            });
        }
        let n = self.inner.next.fetch_add(1, Ordering::Relaxed);
        let slot = Arc::new(Slot {
            dir: self.inner.dir.join(n.to_string()),
            state: Mutex::new(State::default()),
            done: Condvar::new(),
        });
        slots.insert(key, Arc::clone(&slot));
        slot
    }
}

impl Fetched {
    /// The refs the server advertised.
    pub(crate) fn heads(&self) -> &[(String, Oid)] {
        &self.heads
    }

    /// Make the clone at `dir` see the mirror's objects and shallow
    /// boundary, then set its refs as its own fetch of `refspecs` would
    /// have (forced updates of what the server advertised; nothing pruned).
    /// `repo` is reopened so that libgit2 reads the new alternates.
    pub(crate) fn link(
        &self,
        repo: &mut Repository,
        dir: &Path,
        refspecs: &[String],
    ) -> Result<(), Error> {
        let git_dir = repo.path().to_path_buf();
        let objects = self.mirror.join("objects");
        let info = git_dir.join("objects").join("info");
        write(
            &info.join("alternates"),
            format!("{}\n", objects.display()).as_bytes(),
        )?;
        match std::fs::read(self.mirror.join("shallow")) {
            Ok(shallow) => write(&git_dir.join("shallow"), &shallow)?,
            Err(_) => {
                let _ = std::fs::remove_file(git_dir.join("shallow"));
            }
        }
        *repo = Repository::open(dir).map_err(local("open"))?;
        for spec in refspecs {
            for (name, oid) in self.heads.iter() {
                if let Some(dst) = destination(spec, name) {
                    repo.reference(&dst, *oid, true, "fetch (shared)")
                        .map_err(local("fetch"))?;
                }
            }
        }
        Ok(())
    }
}

/// Fetch into the bare mirror at `dir`, creating it the first time (and
/// anew when it cannot be opened).
fn fetch_into(dir: &Path, req: &Request<'_>) -> Result<Vec<(String, Oid)>, Error> {
    let repo = match Repository::open_bare(dir) {
        Ok(repo) => repo,
        Err(_) => {
            if dir.exists() {
                crate::workspace::remove_dir(dir)?;
            }
            private_dir(dir)?;
            let repo = crate::workspace::init_plain(dir, true).map_err(local("init"))?;
            // The password stays in memory (callbacks, header), never in the config.
            repo.remote("origin", &req.url.redacted())
                .map_err(local("remote add"))?;
            repo
        }
    };
    let remote = repo.find_remote("origin").map_err(local("remote"))?;
    fetch_remote(remote, req.url, req.auth, req.opts, req.refspecs, req.depth)
}

/// Where `refspec` (`[+]src:dst`, at most one `*` on each side) puts the
/// remote ref `name`; None when it does not take it.
fn destination(refspec: &str, name: &str) -> Option<String> {
    let spec = refspec.strip_prefix('+').unwrap_or(refspec);
    let (src, dst) = spec.split_once(':')?;
    if name.ends_with("^{}") || dst.is_empty() {
        return None;
    }
    match (src.split_once('*'), dst.split_once('*')) {
        (None, None) => (name == src).then(|| dst.to_string()),
        (Some((pre, post)), Some((dpre, dpost))) => {
            let middle = name.strip_prefix(pre)?.strip_suffix(post)?;
            (!middle.is_empty()).then(|| format!("{dpre}{middle}{dpost}"))
        }
        _ => None,
    }
}

/// What separates mirrors: the URL, the credentials (hashed, in memory
/// only), the refspecs and the depth.
fn slot_key(req: &Request<'_>) -> [u8; 20] {
    let mut h = Sha1::new();
    let mut part = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    part(req.url.redacted().as_bytes());
    let a = req.auth;
    match &a.basic {
        Some((u, p)) => {
            part(b"basic");
            part(u.as_bytes());
            part(p.as_bytes());
        }
        None => part(b""),
    }
    part(a.bearer_token.as_deref().unwrap_or_default().as_bytes());
    part(a.ca_cert.as_deref().unwrap_or_default());
    match &a.ssh_identity {
        Some(id) => {
            part(id.private_key.as_bytes());
            part(id.passphrase.as_deref().unwrap_or_default().as_bytes());
        }
        None => part(b""),
    }
    part(format!("{:?}", a.known_hosts).as_bytes());
    for spec in req.refspecs {
        part(spec.as_bytes());
    }
    part(format!("{:?}", req.depth).as_bytes());
    h.finalize().into()
}

/// The error of a shared fetch, for each of its waiters (the fetcher keeps
/// the original).
fn duplicate(e: &Error) -> Error {
    match e {
        Error::AuthFailed { url, message } => Error::AuthFailed {
            url: url.clone(),
            message: message.clone(),
        },
        Error::Timeout { url, timeout } => Error::Timeout {
            url: url.clone(),
            timeout: *timeout,
        },
        Error::Remote { url, message } => Error::Remote {
            url: url.clone(),
            message: message.clone(),
        },
        Error::HostKey { url, source } => Error::HostKey {
            url: url.clone(),
            source: source.clone(),
        },
        Error::RefNotFound { url, what } => Error::RefNotFound {
            url: url.clone(),
            what: what.clone(),
        },
        other => Error::Local {
            op: "fetch",
            message: other.to_string(),
        },
    }
}

fn interrupted() -> Error {
    Error::Local {
        op: "fetch",
        message: "the shared fetch this clone waited for did not finish".to_string(),
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let io = |op| {
        move |source| Error::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io("create"))?;
    }
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    let tmp = path.with_extension("ferroflux-tmp");
    std::fs::write(&tmp, bytes).map_err(io("write"))?;
    std::fs::rename(&tmp, path).map_err(io("rename"))
}

/// Remove the pool directories under `root` whose process is gone.
fn remove_dead(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.split_once('-'))
            .map(|(p, _)| p)
        else {
            continue;
        };
        let alive = pid.parse::<u32>().is_ok_and(|pid| {
            pid == std::process::id() || Path::new("/proc").join(pid.to_string()).exists()
        });
        if !alive {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::{Error, destination, duplicate, interrupted};

    /// Everyone who joined a failed fetch gets its error: the kind a
    /// GitRepository's reason depends on is kept, anything else becomes a
    /// local failure with the same words.
    #[test]
    fn a_shared_failure_reaches_each_waiter_with_its_kind_and_words() {
        let url = "https://git.example/app.git".to_string();
        let auth = Error::AuthFailed {
            url: url.clone(),
            message: "bad credentials".into(),
        };
        assert!(
            matches!(duplicate(&auth), Error::AuthFailed { message, .. } if message == "bad credentials")
        );
        let timeout = Error::Timeout {
            url: url.clone(),
            timeout: std::time::Duration::from_secs(3),
        };
        assert!(
            matches!(duplicate(&timeout), Error::Timeout { timeout, .. } if timeout.as_secs() == 3)
        );
        let missing = Error::RefNotFound {
            url: url.clone(),
            what: "branch 'main'".into(),
        };
        assert_eq!(duplicate(&missing).to_string(), missing.to_string());
        let io = Error::Io {
            op: "write",
            path: "/x".into(),
            source: std::io::Error::other("disk full"),
        };
        let copy = duplicate(&io);
        assert!(matches!(copy, Error::Local { .. }));
        assert!(copy.to_string().contains("disk full"), "{copy}");
        assert!(!copy.is_remote(), "a local failure rebuilds the clone");
        assert!(interrupted().to_string().contains("did not finish"));
    }

    #[test]
    fn refspecs_map_advertised_refs_as_a_fetch_would() {
        let branch = "+refs/heads/main:refs/remotes/origin/main";
        assert_eq!(
            destination(branch, "refs/heads/main").as_deref(),
            Some("refs/remotes/origin/main")
        );
        assert_eq!(destination(branch, "refs/heads/mainline"), None);
        let all = "+refs/heads/*:refs/remotes/origin/*";
        assert_eq!(
            destination(all, "refs/heads/a/b").as_deref(),
            Some("refs/remotes/origin/a/b")
        );
        assert_eq!(destination(all, "refs/tags/v1"), None);
        let tags = "+refs/tags/*:refs/tags/*";
        assert_eq!(destination(tags, "refs/tags/v1^{}"), None);
        assert_eq!(
            destination(tags, "refs/tags/v1").as_deref(),
            Some("refs/tags/v1")
        );
        assert_eq!(
            destination(
                "+refs/pull/1/head:refs/ferroflux/checkout",
                "refs/pull/1/head"
            )
            .as_deref(),
            Some("refs/ferroflux/checkout")
        );
        assert_eq!(destination("HEAD", "HEAD"), None);
        assert_eq!(destination("+refs/heads/*:refs/x", "refs/heads/a"), None);
    }
}
