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
