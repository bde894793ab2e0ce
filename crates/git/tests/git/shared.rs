//! Shared fetches (`Options::shared`): many clones of one remote, one
//! fetch each time, never an answer older than the request, never another
//! Secret's access.

use std::sync::{Arc, Barrier, Once};
use std::time::Duration;

use ferroflux_git::{Auth, CheckoutRef, Error, FetchPool, Options, Workspace};
use ferroflux_testkit::gitrepo::{commit_files, git, init_bare};

use super::{authed_app_repo, secret};

fn pooled(pool: &FetchPool) -> Options {
    Options {
        shared: Some(pool.clone()),
        ..Options::default()
    }
}

fn auth(password: &str) -> Auth {
    Auth::from_secret(&secret(&[("username", "flux"), ("password", password)])).expect("auth")
}

#[test]
fn twenty_clones_at_once_share_a_couple_of_fetches() {
    let Some((server, bare)) = authed_app_repo(b"image: app:1.0.0\n") else {
        return;
    };
    let head = git(&bare, &["rev-parse", "main"]);
    let tmp = tempfile::tempdir().expect("tempdir");
    let pool = FetchPool::new(&tmp.path().join("shared"));
    let url = server.url("app.git");
    let start = Arc::new(Barrier::new(20));
    let clones: Vec<_> = (0..20)
        .map(|i| {
            let (pool, url, start) = (pool.clone(), url.clone(), Arc::clone(&start));
            let cache = tmp.path().join(format!("cache-{i}"));
            std::thread::spawn(move || {
                start.wait();
                let ws = Workspace::open_or_clone(
                    &cache,
                    &url,
                    &auth("s3cret-pw"),
                    &CheckoutRef::branch("main"),
                    pooled(&pool),
                )
                .map_err(|e| e.to_string())?;
                let file =
                    std::fs::read(ws.workdir().join("app.yaml")).map_err(|e| e.to_string())?;
                Ok::<_, String>((ws.checkout_commit(), file))
            })
        })
        .collect();
    for c in clones {
        let (commit, file) = c.join().expect("thread").unwrap_or_else(|e| {
            panic!("pooled clone: {e}\n{}", server.log());
        });
        assert_eq!(commit.as_deref(), Some(head.as_str()));
        assert_eq!(file, b"image: app:1.0.0\n");
    }
    // The first fetch, then one for everyone who asked while it ran (a
    // slow thread may need a third).
    assert!(
        pool.fetches() <= 3,
        "{} fetches for 20 clones",
        pool.fetches()
    );
    assert_eq!(pool.mirrors(), 1);

    // A later run fetches again and finds the new commit.
    let next = commit_files(
        &bare,
        "main",
        &[("app.yaml", b"image: app:2.0.0\n")],
        "bump",
    );
    let ws = Workspace::open_or_clone(
        &tmp.path().join("cache-0"),
        &url,
        &auth("s3cret-pw"),
        &CheckoutRef::branch("main"),
        pooled(&pool),
    )
    .expect("reuse");
    assert_eq!(ws.checkout_commit().as_deref(), Some(next.as_str()));
    assert_eq!(
        std::fs::read(ws.workdir().join("app.yaml")).expect("file"),
        b"image: app:2.0.0\n"
    );
}

/// While a fetch runs, the remote moves on and a second clone asks: it
/// must get the new commit, not the running fetch's.
#[test]
fn a_clone_never_takes_a_fetch_that_began_before_it_asked() {
    let Some((server, bare)) = authed_app_repo(b"image: app:1.0.0\n") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let pool = FetchPool::new(&tmp.path().join("shared"));
    let url = server.url("app.git");
    let second = Arc::new(std::sync::Mutex::new(None));
    let once = Arc::new(Once::new());
    let progress: ferroflux_git::FetchProgress = {
        let (pool, url, bare, second, cache) = (
            pool.clone(),
            url.clone(),
            bare.clone(),
            Arc::clone(&second),
            tmp.path().join("second"),
        );
        Arc::new(move |_, _| {
            once.call_once(|| {
                let moved = commit_files(&bare, "main", &[("app.yaml", b"v2\n")], "moved");
                let (pool, url, cache) = (pool.clone(), url.clone(), cache.clone());
                let handle = std::thread::spawn(move || {
                    Workspace::open_or_clone(
                        &cache,
                        &url,
                        &auth("s3cret-pw"),
                        &CheckoutRef::branch("main"),
                        pooled(&pool),
                    )
                    .map(|ws| ws.checkout_commit())
                    .map_err(|e| e.to_string())
                });
                *second.lock().expect("lock") = Some((moved, handle));
                // Let the second clone ask while this fetch still runs.
                std::thread::sleep(Duration::from_millis(300));
            });
        })
    };
    let first = Workspace::open_or_clone(
        &tmp.path().join("first"),
        &url,
        &auth("s3cret-pw"),
        &CheckoutRef::branch("main"),
        Options {
            progress: Some(progress),
            ..pooled(&pool)
        },
    )
    .unwrap_or_else(|e| panic!("first clone: {e}\n{}", server.log()));
    let (moved, handle) = second
        .lock()
        .expect("lock")
        .take()
        .expect("progress was reported");
    assert_ne!(first.checkout_commit().as_deref(), Some(moved.as_str()));
    let got = handle.join().expect("thread").expect("second clone");
    assert_eq!(got.as_deref(), Some(moved.as_str()), "served a stale fetch");
    assert_eq!(pool.fetches(), 2);
}

/// Two Secrets for one URL never share a mirror: a wrong password asking
/// beside a right one fails, and the right one is served.
#[test]
fn credentials_keep_mirrors_apart() {
    let Some((server, _bare)) = authed_app_repo(b"image: app:1.0.0\n") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let pool = FetchPool::new(&tmp.path().join("shared"));
    let url = server.url("app.git");
    let others = Arc::new(std::sync::Mutex::new(Vec::new()));
    let once = Arc::new(Once::new());
    let progress: ferroflux_git::FetchProgress = {
        let (pool, url, others, root) = (
            pool.clone(),
            url.clone(),
            Arc::clone(&others),
            tmp.path().to_path_buf(),
        );
        Arc::new(move |_, _| {
            once.call_once(|| {
                for (name, password) in [("wrong", "not-the-password"), ("right", "s3cret-pw")] {
                    let (pool, url, cache) = (pool.clone(), url.clone(), root.join(name));
                    let handle = std::thread::spawn(move || {
                        Workspace::open_or_clone(
                            &cache,
                            &url,
                            &auth(password),
                            &CheckoutRef::branch("main"),
                            pooled(&pool),
                        )
                        .map(|ws| ws.checkout_commit())
                    });
                    others.lock().expect("lock").push(handle);
                }
                std::thread::sleep(Duration::from_millis(300));
            });
        })
    };
    Workspace::open_or_clone(
        &tmp.path().join("first"),
        &url,
        &auth("s3cret-pw"),
        &CheckoutRef::branch("main"),
        Options {
            progress: Some(progress),
            ..pooled(&pool)
        },
    )
    .unwrap_or_else(|e| panic!("first clone: {e}\n{}", server.log()));
    let mut handles = std::mem::take(&mut *others.lock().expect("lock"));
    let right = handles.pop().expect("right").join().expect("thread");
    let wrong = handles.pop().expect("wrong").join().expect("thread");
    assert!(
        matches!(wrong, Err(Error::AuthFailed { .. })),
        "the wrong password was served: {wrong:?}"
    );
    assert!(right.expect("right password").is_some());
    assert_eq!(pool.mirrors(), 2);
}

/// Tags through a wildcard refspec (semver), and a clone that outlives its
/// pool: the mirror is gone, the next open clones anew, with or without a
/// pool.
#[test]
fn semver_through_a_pool_and_clones_that_outlive_it() {
    if !ferroflux_testkit::gitrepo::git_available() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let bare = init_bare(tmp.path(), "repo.git");
    commit_files(&bare, "main", &[("app.yaml", b"one\n")], "one");
    git(&bare, &["tag", "v1.0.0", "main"]);
    let two = commit_files(&bare, "main", &[("app.yaml", b"two\n")], "two");
    git(&bare, &["tag", "-a", "-m", "two", "v1.1.0", "main"]);
    let url = format!("file://{}", bare.display());
    let cache = tmp.path().join("cache");
    let semver = CheckoutRef {
        semver: Some("1.x".into()),
        ..CheckoutRef::default()
    };
    let pool = FetchPool::new(&tmp.path().join("shared"));
    let ws = Workspace::open_or_clone(&cache, &url, &Auth::none(), &semver, pooled(&pool))
        .expect("semver via pool");
    assert_eq!(ws.checkout_commit().as_deref(), Some(two.as_str()));
    drop(ws);
    let dir = pool.dir().to_path_buf();
    assert!(dir.exists());
    drop(pool);
    assert!(!dir.exists(), "a dropped pool removes its mirrors");
    let ws = Workspace::open_or_clone(&cache, &url, &Auth::none(), &semver, Options::default())
        .expect("reopen without the pool");
    assert_eq!(ws.checkout_commit().as_deref(), Some(two.as_str()));
    assert_eq!(
        std::fs::read(ws.workdir().join("app.yaml")).expect("file"),
        b"two\n"
    );
}
