use ferroflux_api::image::ImagePolicy;

use super::*;

#[test]
fn repo_urls() {
    let dir = tempfile::tempdir().unwrap();
    let abs = std::fs::canonicalize(dir.path()).unwrap();
    let cases = [
        (
            "https://git.example/x.git",
            "https://git.example/x.git".to_string(),
        ),
        ("ssh://git@h:2222/x", "ssh://git@h:2222/x".to_string()),
        (
            "git@github.com:org/repo.git",
            "ssh://git@github.com/org/repo.git".to_string(),
        ),
        (abs.to_str().unwrap(), format!("file://{}", abs.display())),
    ];
    for (input, want) in cases {
        assert_eq!(repo_url(input), want, "{input}");
    }
}

fn l(kind: &str, name: &str, ready: bool, detail: &str, message: &str) -> Line {
    line(
        &ObjectKey::new(kind, "flux-system", name),
        ready,
        detail.into(),
        message.into(),
    )
}

#[test]
fn summary_groups_by_kind_and_shows_failures() {
    let s = Summary {
        lines: vec![
            l(IMAGE_REPOSITORY, "app", true, "4 tags", "successful scan"),
            l(
                IMAGE_REPOSITORY,
                "db",
                false,
                "scan failed: 401",
                "scan failed: 401",
            ),
            l(IMAGE_POLICY, "app", true, "0.13.3 (0.13.2)", ""),
            l(
                IMAGE_UPDATE_AUTOMATION,
                "flux-system",
                true,
                "no changes",
                "",
            ),
        ],
        findings: vec![],
    };
    assert_eq!(
        s.to_string(),
        "repositories:\n  ok   flux-system/app: 4 tags\n  FAIL flux-system/db: scan failed: 401\n\
         policies:\n  ok   flux-system/app: 0.13.3 (0.13.2)\n\
         automations:\n  ok   flux-system/flux-system: no changes\n"
    );
    assert!(!s.all_ready());
    let ok = Summary {
        lines: vec![s.lines[0].clone()],
        findings: vec![],
    };
    assert!(ok.all_ready());
    let broken = Summary {
        lines: vec![s.lines[0].clone()],
        findings: vec!["a.yaml:3: error: x".into()],
    };
    assert!(!broken.all_ready(), "a manifest error is not ready");
    assert!(broken.to_string().starts_with("a.yaml:3: error: x\n"));
}

#[tokio::test(start_paused = true)]
async fn backoff_doubles_and_resets() {
    let dir = tempfile::tempdir().unwrap();
    let state = StatusStore::open(&dir.path().join("s.redb")).unwrap();
    let opts = AutomateOptions {
        scheduler: SchedulerOptions { jitter_percent: 0 },
        ..AutomateOptions::default()
    };
    let mut runner = Runner::new(opts, state).unwrap();
    let (mut sched, _h) = runner.scheduler();
    let k = ObjectKey::new(IMAGE_REPOSITORY, "ns", "r");
    let mut seen = Vec::new();
    for _ in 0..4 {
        runner.requeue(&mut sched, &k, Outcome::Backoff);
        seen.push(sched.due_in(&k).unwrap().as_secs_f64().round() as u64);
    }
    assert_eq!(seen, [1, 2, 4, 8]);
    runner.requeue(
        &mut sched,
        &k,
        Outcome::RequeueAfter(Duration::from_secs(300)),
    );
    assert_eq!(sched.due_in(&k).unwrap().as_secs(), 300);
    runner.requeue(&mut sched, &k, Outcome::Backoff);
    assert_eq!(sched.due_in(&k).unwrap().as_secs_f64().round() as u64, 1);
    runner.requeue(&mut sched, &k, Outcome::Wait);
    assert!(sched.due_in(&k).is_none());
}

#[test]
fn repositories_trusting_the_same_ca_share_one_registry_client() {
    let client = || Client::new(ferroflux_registry::Options::default()).unwrap();
    let a = ObjectKey::new(IMAGE_REPOSITORY, "ns", "a");
    let b = ObjectKey::new(IMAGE_REPOSITORY, "ns", "b");
    let mut tls = TlsClients::default();
    assert!(tls.get(&a, 1).is_none());
    tls.insert(&a, 1, client());
    assert!(tls.get(&b, 1).is_some(), "b shares a's client");
    assert_eq!(tls.len(), 1);
    // a's Secret changes: b still uses the first client.
    assert!(tls.get(&a, 2).is_none());
    tls.insert(&a, 2, client());
    assert_eq!(tls.len(), 2);
    // b drops its certSecretRef: nobody uses fingerprint 1 any more.
    tls.forget(&b);
    assert_eq!(tls.len(), 1);
    assert!(tls.get(&b, 1).is_none());
    tls.forget(&a);
    assert_eq!(tls.len(), 0);
}

/// The manifests an automation pushed stand for a fetch only when they
/// could be read: otherwise the error is the reload's, and the checkout
/// keeps its revision (the next fetch reads them again).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushed_manifests_that_do_not_read_leave_the_checkout_as_it_was() {
    use ferroflux_testkit::gitrepo;
    if !gitrepo::git_available() {
        ferroflux_testkit::env::skip_or_fail("git binary");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bare = gitrepo::init_bare(dir.path(), "r.git");
    let first = gitrepo::commit_files(&bare, "main", &[("a.yaml", b"a: b\n")], "initial");
    let state = StatusStore::open(&dir.path().join("s.redb")).unwrap();
    let opts = AutomateOptions {
        repo: bare.display().to_string(),
        ..AutomateOptions::default()
    };
    let mut runner = Runner::new(opts, state).unwrap();
    runner.refresh().await.unwrap();
    let revision = |r: &Runner| r.checkout.as_ref().and_then(|c| c.revision.clone());
    assert_eq!(revision(&runner), Some(first.clone()));
    let err = runner
        .adopt(Manifests {
            revision: "f".repeat(40),
            loaded: Err(crate::source::SourceError::Missing {
                path: PathBuf::from("clusters/stage"),
                detail: "no such directory".into(),
            }),
        })
        .await
        .expect_err("unreadable manifests");
    assert_eq!(
        err.to_string(),
        "manifest path clusters/stage: no such directory"
    );
    assert_eq!(revision(&runner), Some(first));
}

/// A reconcile that panicked (a bug) is retried with backoff instead of
/// leaving its object without a schedule.
#[tokio::test(start_paused = true)]
async fn a_job_that_panicked_is_retried_with_backoff() {
    let dir = tempfile::tempdir().unwrap();
    let state = StatusStore::open(&dir.path().join("s.redb")).unwrap();
    let opts = AutomateOptions {
        scheduler: SchedulerOptions { jitter_percent: 0 },
        ..AutomateOptions::default()
    };
    let mut runner = Runner::new(opts, state).unwrap();
    let (mut sched, _h) = runner.scheduler();
    let mut jobs: Jobs<Done> = Jobs::new(1);
    let k = ObjectKey::new(IMAGE_REPOSITORY, "ns", "r");
    runner
        .settle(
            &mut sched,
            &mut jobs,
            k.clone(),
            Err("task panicked".into()),
        )
        .await
        .unwrap();
    assert_eq!(sched.due_in(&k).unwrap().as_secs_f64().round() as u64, 1);
}

/// A Receiver runs as a job like any kind: its status written, its
/// webhook published, and its next run after its interval (600s by
/// default), as when it ran inline.
#[tokio::test(start_paused = true)]
async fn a_receiver_job_publishes_its_webhook_and_runs_again_after_its_interval() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets");
    std::fs::create_dir_all(&secrets).unwrap();
    std::fs::write(
        secrets.join("token.yaml"),
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: token\n  namespace: ns\nstringData:\n  token: t0ken\n",
    )
    .unwrap();
    let state = StatusStore::open(&dir.path().join("s.redb")).unwrap();
    let opts = AutomateOptions {
        scheduler: SchedulerOptions { jitter_percent: 0 },
        secrets: Secrets::load_dir(&secrets).unwrap(),
        ..AutomateOptions::default()
    };
    let mut runner = Runner::new(opts, state.clone()).unwrap();
    let k = ObjectKey::new(RECEIVER, "ns", "hook");
    let receiver: Receiver = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "hook", "namespace": "ns"},
        "spec": {"type": "generic", "secretRef": {"name": "token"},
                 "resources": [{"kind": "ImageRepository", "name": "*"}]}
    }))
    .unwrap();
    runner
        .objects
        .of_mut::<Receiver>()
        .insert(k.clone(), receiver);
    let (mut sched, _h) = runner.scheduler();
    let mut jobs: Jobs<Done> = Jobs::new(1);
    let work = runner.start(&k, None, false).expect("a job");
    let done = work.await;
    runner
        .settle(&mut sched, &mut jobs, k.clone(), Ok(done))
        .await
        .unwrap();
    assert_eq!(sched.due_in(&k).unwrap().as_secs(), 600);
    let stored: Option<serde_json::Value> = state.get_status(&k).unwrap();
    let path = stored
        .as_ref()
        .and_then(|s| s["webhookPath"].as_str())
        .expect("a webhook path stored")
        .to_string();
    assert_eq!(runner.receivers().paths(), vec![path]);
}

/// A stored status that is not its kind's fails the load with the key and
/// the state file, as a typed read did; a matching one is attached.
#[tokio::test]
async fn a_stored_status_of_the_wrong_shape_fails_the_load() {
    let dir = tempfile::tempdir().unwrap();
    let state = StatusStore::open(&dir.path().join("s.redb")).unwrap();
    let runner = Runner::new(AutomateOptions::default(), state.clone()).unwrap();
    let key = ObjectKey::new(IMAGE_POLICY, "apps", "web");
    let policy = || -> ImagePolicy {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web", "namespace": "apps"},
            "spec": {"imageRepositoryRef": {"name": "web"}, "policy": {"alphabetical": {}}}
        }))
        .unwrap()
    };
    let mut objects = Objects::default();
    objects
        .of_mut::<ImagePolicy>()
        .insert(key.clone(), policy());
    state
        .put_status(
            &key,
            &serde_json::json!({"latestRef": {"tag": "1.0", "name": "r/web"}}),
        )
        .unwrap();
    runner.attach_status(&mut objects).await.expect("attached");
    let tag = objects.of::<ImagePolicy>()[&key]
        .status
        .as_ref()
        .and_then(|s| s.latest_ref.as_ref())
        .map(|r| r.tag.clone());
    assert_eq!(tag.as_deref(), Some("1.0"));

    state
        .put_status(&key, &serde_json::json!({"conditions": "not a list"}))
        .unwrap();
    let err = runner
        .attach_status(&mut objects)
        .await
        .expect_err("a status that does not decode");
    let msg = err.to_string();
    assert!(
        msg.contains("status of ImagePolicy/apps/web does not decode"),
        "{msg}"
    );
}

/// A kind's cleanup runs for an object that leaves the home without our
/// finalizer, when this home reconciles the kind: a GitRepository's
/// artifacts go (`Kind::cleanup`); without a target cluster the GitOps
/// kinds are not reconciled here, so nothing is cleaned up.
#[tokio::test]
async fn a_deleted_object_is_cleaned_up_by_its_kind() {
    use ferroflux_controllers::target::NoTarget;
    let dir = tempfile::tempdir().unwrap();
    let state = StatusStore::open(&dir.path().join("s.redb")).unwrap();
    let key = ObjectKey::new(GIT_REPOSITORY, "apps", "fleet");
    let repo: GitRepository = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "fleet", "namespace": "apps"},
        "spec": {"url": "https://example.com/fleet.git", "interval": "1m"}
    }))
    .unwrap();
    let mut image_only = Runner::new(AutomateOptions::default(), state.clone()).unwrap();
    let mut runner = Runner::new(AutomateOptions::default(), state)
        .unwrap()
        .with_targets(Arc::new(NoTarget));
    for r in [&mut image_only, &mut runner] {
        r.objects
            .of_mut::<GitRepository>()
            .insert(key.clone(), repo.clone());
    }
    assert!(
        image_only.unfinalized_cleanup(&key).is_none(),
        "GitRepositories are not reconciled without a target cluster"
    );
    let artifacts = runner.storage().root().join("gitrepository/apps/fleet");
    std::fs::create_dir_all(&artifacts).unwrap();
    std::fs::write(artifacts.join("abc.tar.gz"), b"x").unwrap();
    let cleanup = runner.unfinalized_cleanup(&key).expect("a cleanup");
    cleanup().await.expect("cleaned up");
    assert!(!artifacts.join("abc.tar.gz").exists());
    // Holding our finalizer, the object is cleaned up by its deletion.
    let mut held = repo;
    held.metadata.finalizers = Some(vec![ferroflux_api::meta::FINALIZER.to_string()]);
    runner
        .objects
        .of_mut::<GitRepository>()
        .insert(key.clone(), held);
    assert!(runner.unfinalized_cleanup(&key).is_none());
}

/// The watch events that arrive while our finalizer is being added (the
/// object's own status writes, say) do not add it again; once that write
/// is done, an object still seen without it gets it again.
#[tokio::test]
async fn a_finalizer_being_added_is_not_added_again() {
    let dir = tempfile::tempdir().unwrap();
    let state = StatusStore::open(&dir.path().join("s.redb")).unwrap();
    let home = Arc::new(crate::home::recording::Recording {
        finalizes: true,
        ..Default::default()
    });
    let runner = Runner::new(AutomateOptions::default(), state)
        .unwrap()
        .with_home(home.clone());
    let key = ObjectKey::new(GIT_REPOSITORY, "apps", "fleet");
    let meta = ferroflux_api::meta::ObjectMeta::default();
    let writes = || {
        home.finalizer_writes
            .load(std::sync::atomic::Ordering::SeqCst)
    };
    let settle = || async {
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
    };
    for _ in 0..3 {
        runner.ensure_finalizer(&key, &meta);
    }
    settle().await;
    assert_eq!(writes(), 1);
    // Another object's finalizer is its own write.
    runner.ensure_finalizer(&ObjectKey::new(GIT_REPOSITORY, "apps", "other"), &meta);
    settle().await;
    assert_eq!(writes(), 2);
    // Done: a later event without the finalizer writes it again.
    home.finalizer_done.add_permits(2);
    settle().await;
    runner.ensure_finalizer(&key, &meta);
    settle().await;
    assert_eq!(writes(), 3);
    // An object that holds it needs no write.
    let held = ferroflux_api::meta::ObjectMeta {
        finalizers: Some(vec![ferroflux_api::meta::FINALIZER.to_string()]),
        ..Default::default()
    };
    home.finalizer_done.add_permits(1);
    runner.ensure_finalizer(&ObjectKey::new(GIT_REPOSITORY, "apps", "held"), &held);
    settle().await;
    assert_eq!(writes(), 3);
}
