//! ImageUpdateAutomation against real Git remotes: seed 000 over smart
//! HTTP, seed 004 (v1beta2, `.Updated.Images`, a push branch for review)
//! over file://, a concurrent commit on the remote, no change, errors.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferroflux_api::image::{
    ImagePolicy, ImagePolicyStatus, ImageRef, ImageUpdateAutomation, ImageUpdateAutomationStatus,
};
use ferroflux_api::manifest::Object;
use ferroflux_api::meta::condition;
use ferroflux_api::source::{GitRepository, GitRepositoryRef, GitRepositorySpec};
use ferroflux_controllers::image::automation::{
    AutomationInput, AutomationOptions, AutomationResult, reconcile,
};
use ferroflux_controllers::status::{self, EventType};
use ferroflux_controllers::{Clock, Outcome};
use ferroflux_testkit::git_http::{self, GitHttpServer};
use ferroflux_testkit::gitrepo::{
    self, commit_files, git, init_bare, log_subjects, rev_parse, show_file,
};
use tempfile::TempDir;

use crate::{clock, seed_object};

const KC_IMAGE: &str = "harbor.thebarkingdog.tw/tbd/keyword_correction";
const KC_FILE: &str = "apps/stage/services/keyword-correction/deployment.yaml";
const PROD_FILE: &str = "apps/prod/services/keyword-correction/deployment.yaml";
const BLOG_IMAGE: &str = "ghcr.io/ruedigerp/ink-blog.kuepper.nrw";
const BLOG_FILE: &str = "apps/blog/prod/deployment-patch.yaml";

/// The deployment of seed 000: api and streamlit share one marker.
fn kc_deployment(tag: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: keyword-correction
  namespace: stage
spec:
  template:
    spec:
      containers:
        - name: api
          image: {KC_IMAGE}:{tag} # {{"$imagepolicy": "flux-system:keyword-correction"}}
        - name: streamlit
          image: {KC_IMAGE}:{tag} # {{"$imagepolicy": "flux-system:keyword-correction"}}
"#
    )
}

/// Seed 000's automation with its template's `{{ }}` actions restored
/// from the commit the article shows.
fn seed_000_automation() -> Option<(String, ImageUpdateAutomation)> {
    let (api_version, object) = seed_object("000/05-automation-imageupdateautomation.yaml")?;
    let Object::ImageUpdateAutomation(mut auto) = object else {
        panic!("seed 000/05 is not an ImageUpdateAutomation");
    };
    let git = auto.spec.git.as_mut().expect("seed 000 has spec.git");
    let template = git
        .commit
        .message_template
        .clone()
        .expect("seed 000 has a template");
    let actions = [
        "{{ .AutomationObject }}",
        "{{ range $filename, $_ := .Changed.FileChanges -}}",
        "{{ $filename }}",
        "{{ end -}}",
        "{{ range $resource, $_ := .Changed.Objects -}}",
        "{{ $resource.Kind }}",
        "{{ $resource.Name }}",
        "{{ end -}}",
    ];
    let mut restored = template;
    for (i, action) in actions.iter().enumerate() {
        let placeholder = format!("<!--swig{i}-->");
        assert!(restored.contains(&placeholder), "{placeholder} in seed 000");
        restored = restored.replace(&placeholder, action);
    }
    git.commit.message_template = Some(restored);
    auto.metadata.generation = Some(1);
    Some((api_version, auto))
}

fn git_repository(name: &str, namespace: &str, url: &str, branch: &str) -> GitRepository {
    let mut r = GitRepository::new(
        name,
        GitRepositorySpec {
            url: url.into(),
            interval: ferroflux_api::Duration::from_secs(300),
            reference: Some(GitRepositoryRef {
                branch: Some(branch.into()),
                ..Default::default()
            }),
            ..Default::default()
        },
    );
    r.metadata.namespace = Some(namespace.into());
    r
}

fn policy(namespace: &str, name: &str, image: &str, tag: &str) -> ImagePolicy {
    let mut p = ImagePolicy::new(name, Default::default());
    p.metadata.namespace = Some(namespace.into());
    p.status = Some(ImagePolicyStatus {
        latest_ref: Some(ImageRef {
            name: image.into(),
            tag: tag.into(),
            digest: None,
        }),
        ..Default::default()
    });
    p
}

struct Fixture {
    _tmp: TempDir,
    bare: PathBuf,
    cache: PathBuf,
}

fn fixture(files: &[(&str, &str)]) -> Option<Fixture> {
    if !gitrepo::git_available() {
        return None;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let bare = init_bare(tmp.path(), "fleet.git");
    let files: Vec<(&str, &[u8])> = files.iter().map(|(p, c)| (*p, c.as_bytes())).collect();
    commit_files(&bare, "main", &files, "initial");
    let cache = tmp.path().join("cache");
    Some(Fixture {
        _tmp: tmp,
        bare,
        cache,
    })
}

/// A repository `name` on the HTTP server with seed 000's deployment at
/// 0.13.2: its bare path, first commit, GitRepository, and the policy that
/// moves it to 0.13.3.
fn http_fleet(
    server: &GitHttpServer,
    name: &str,
) -> (PathBuf, String, GitRepository, [ImagePolicy; 1]) {
    let bare = init_bare(server.root(), name);
    let initial = commit_files(
        &bare,
        "main",
        &[(KC_FILE, kc_deployment("0.13.2").as_bytes())],
        "initial",
    );
    let repo = git_repository("flux-system", "flux-system", &server.url(name), "main");
    let policies = [policy(
        "flux-system",
        "keyword-correction",
        KC_IMAGE,
        "0.13.3",
    )];
    (bare, initial, repo, policies)
}

fn file_url(bare: &Path) -> String {
    format!("file://{}", bare.display())
}

fn options(cache: &Path) -> AutomationOptions {
    AutomationOptions {
        cache_dir: cache.to_path_buf(),
        ..Default::default()
    }
}

fn run(
    auto: &ImageUpdateAutomation,
    api_version: &str,
    repo: Option<&GitRepository>,
    policies: &[ImagePolicy],
    opts: &AutomationOptions,
) -> AutomationResult {
    let input = AutomationInput {
        automation: auto,
        api_version,
        git_repository: repo,
        git_secret: None,
        signing_secret: None,
        policies,
    };
    reconcile(&input, &clock(), opts)
}

fn ready(r: &AutomationResult) -> (String, String, String) {
    let c = status::get(&r.status.conditions, condition::READY).expect("Ready");
    (c.status.clone(), c.reason.clone(), c.message.clone())
}

fn ok_ready() -> (String, String, String) {
    (
        "True".into(),
        "Succeeded".into(),
        "repository up-to-date".into(),
    )
}

fn with_status(
    auto: &ImageUpdateAutomation,
    s: ImageUpdateAutomationStatus,
) -> ImageUpdateAutomation {
    let mut a = auto.clone();
    a.status = Some(s);
    a
}

/// Seed 000 end to end over smart HTTP: both containers change, prod does
/// not, Flux's status and event; a second run stops early.
#[test]
fn seed_000_over_http_commits_both_containers() {
    let Some((api_version, auto)) = seed_000_automation() else {
        return;
    };
    if !gitrepo::git_available() {
        return;
    }
    let Some(server) = GitHttpServer::start(git_http::Options::default()) else {
        return;
    };
    let bare = init_bare(server.root(), "fleet.git");
    let old = kc_deployment("0.13.2");
    let initial = commit_files(
        &bare,
        "main",
        &[(KC_FILE, old.as_bytes()), (PROD_FILE, old.as_bytes())],
        "♻️ refactor(keyword-correction): 改用合一 image (api + streamlit)",
    );
    let cache = tempfile::tempdir().expect("cache");
    let repo = git_repository(
        "flux-system",
        "flux-system",
        &server.url("fleet.git"),
        "main",
    );
    let policies = [policy(
        "flux-system",
        "keyword-correction",
        KC_IMAGE,
        "0.13.3",
    )];
    let opts = options(cache.path());

    let r = run(&auto, &api_version, Some(&repo), &policies, &opts);
    assert_eq!(ready(&r), ok_ready(), "log: {}", server.log());
    let head = rev_parse(&bare, "main").expect("main");
    assert_ne!(head, initial);
    assert_eq!(
        rev_parse(&bare, "main~1").as_deref(),
        Some(initial.as_str())
    );
    assert_eq!(
        show_file(&bare, "main", KC_FILE).trim_end(),
        kc_deployment("0.13.3").trim_end()
    );
    assert_eq!(
        show_file(&bare, "main", PROD_FILE).trim_end(),
        old.trim_end(),
        "outside update.path"
    );
    let message = "Automated image update\nAutomation name: flux-system/flux-system\nFiles:\n- services/keyword-correction/deployment.yaml\nObjects:\n- Deployment keyword-correction\n";
    assert_eq!(
        git(&bare, &["log", "-1", "--format=%B", "main"]),
        message.trim_end()
    );
    assert_eq!(
        git(
            &bare,
            &["log", "-1", "--format=%an <%ae>|%cn <%ce>", "main"]
        ),
        "gitea-bot <bot@gitea.com>|gitea-bot <bot@gitea.com>"
    );

    let s = &r.status;
    assert_eq!(s.last_push_commit.as_deref(), Some(head.as_str()));
    assert_eq!(s.last_push_time, Some(clock().now_time()));
    assert_eq!(s.last_automation_run_time, Some(clock().now_time()));
    assert_eq!(
        s.observed_source_revision,
        Some(format!("main@sha1:{head}"))
    );
    assert_eq!(s.observed_generation, Some(1));
    let observed = s.observed_policies.clone().expect("observedPolicies");
    assert_eq!(observed.len(), 1);
    assert_eq!(observed["keyword-correction"].tag, "0.13.3");
    assert_eq!(
        r.outcome,
        Outcome::RequeueAfter(std::time::Duration::from_secs(60))
    );
    let event = r.event.clone().expect("event");
    assert_eq!(event.type_, EventType::Normal);
    assert_eq!(event.reason, "Succeeded");
    assert_eq!(
        event.message,
        format!("pushed commit '{}' to branch 'main'\n{message}", &head[..7])
    );
    assert_eq!(r.pushed.as_ref().map(|p| p.attempts), Some(1));

    // Nothing changed since: the run stops early, no commit.
    let again = run(
        &with_status(&auto, r.status.clone()),
        &api_version,
        Some(&repo),
        &policies,
        &opts,
    );
    assert_eq!(ready(&again), ok_ready());
    assert_eq!(rev_parse(&bare, "main").as_deref(), Some(head.as_str()));
    let e = again.event.expect("event");
    assert_eq!(
        (e.type_, e.message.as_str()),
        (EventType::Trace, "no change since last reconciliation")
    );
    assert!(again.pushed.is_none());
}

#[test]
fn no_change_means_no_commit() {
    let Some((api_version, auto)) = seed_000_automation() else {
        return;
    };
    let current = kc_deployment("0.13.3");
    let Some(f) = fixture(&[(KC_FILE, &current)]) else {
        return;
    };
    let head = rev_parse(&f.bare, "main").expect("main");
    let repo = git_repository("flux-system", "flux-system", &file_url(&f.bare), "main");
    let policies = [policy(
        "flux-system",
        "keyword-correction",
        KC_IMAGE,
        "0.13.3",
    )];
    let r = run(
        &auto,
        &api_version,
        Some(&repo),
        &policies,
        &options(&f.cache),
    );
    assert_eq!(ready(&r), ok_ready());
    assert_eq!(rev_parse(&f.bare, "main").as_deref(), Some(head.as_str()));
    assert_eq!(log_subjects(&f.bare, "main").len(), 1);
    assert_eq!(r.status.last_push_commit, None);
    assert_eq!(
        r.status.observed_source_revision,
        Some(format!("main@sha1:{head}"))
    );
    assert!(r.status.observed_policies.is_some());
    assert!(r.pushed.is_none());
    // Ready for the first time: a Normal event; afterwards a trace.
    assert_eq!(r.event.as_ref().map(|e| e.type_), Some(EventType::Normal));
    let mut next = with_status(&auto, r.status.clone());
    next.metadata.generation = Some(2);
    let policies = [policy(
        "flux-system",
        "keyword-correction",
        KC_IMAGE,
        "0.13.3",
    )];
    let mut s = r.status.clone();
    s.observed_policies = None; // force a full sync
    let again = run(
        &with_status(&next, s),
        &api_version,
        Some(&repo),
        &policies,
        &options(&f.cache),
    );
    let e = again.event.expect("event");
    assert_eq!(
        (e.type_, e.message.as_str()),
        (EventType::Trace, "repository up-to-date")
    );
    assert_eq!(again.status.observed_generation, Some(2));
}

/// Seed 004's v1beta2 automation (`.Updated.Images`) renders; the same
/// object as v1 stalls and leaves the remote alone.
#[test]
fn seed_004_updated_template_by_api_version() {
    let Some((api_version, object)) = seed_object("004/08-imageupdateautomation.yaml") else {
        return;
    };
    let Object::ImageUpdateAutomation(auto) = object else {
        panic!("seed 004/08 is not an ImageUpdateAutomation");
    };
    assert_eq!(api_version, "image.toolkit.fluxcd.io/v1beta2");
    let patch = std::fs::read_to_string(
        crate::seeds_dir()
            .expect("seeds dir")
            .join("manifests/004/02-prod-deployment-patch.yaml"),
    )
    .expect("seed 004/02");
    let Some(f) = fixture(&[(BLOG_FILE, &patch)]) else {
        return;
    };
    let initial = rev_parse(&f.bare, "main").expect("main");
    let repo = git_repository(
        "flux-system-write",
        "flux-system",
        &file_url(&f.bare),
        "main",
    );
    let policies = [policy("blog", "blog-policy", BLOG_IMAGE, "v1.9.32")];

    // As v1: `.Updated` was removed; no commit, no retry.
    let r = run(
        &auto,
        "image.toolkit.fluxcd.io/v1",
        Some(&repo),
        &policies,
        &options(&f.cache),
    );
    let (st, reason, message) = ready(&r);
    assert_eq!(
        (st.as_str(), reason.as_str()),
        ("False", "RemovedTemplateField")
    );
    assert_eq!(
        message,
        "template uses removed '.Updated' field. Please use '.Changed' instead. See: https://fluxcd.io/flux/components/image/imageupdateautomations/#message-template"
    );
    assert!(status::is_true(&r.status.conditions, condition::STALLED));
    assert_eq!(r.outcome, Outcome::Wait);
    assert_eq!(
        rev_parse(&f.bare, "main").as_deref(),
        Some(initial.as_str())
    );

    // As written (v1beta2): renders the legacy data.
    let r = run(
        &auto,
        &api_version,
        Some(&repo),
        &policies,
        &options(&f.cache),
    );
    assert_eq!(ready(&r), ok_ready());
    assert!(!status::is_true(&r.status.conditions, condition::STALLED));
    assert_eq!(
        git(&f.bare, &["log", "-1", "--format=%B", "main"]),
        format!(
            "Automated image update\n\nAutomation name: blog/blog-automation\n\nImages:\n- {BLOG_IMAGE}:v1.9.32"
        )
    );
    assert!(show_file(&f.bare, "main", BLOG_FILE).contains(&format!(
        "image: {BLOG_IMAGE}:v1.9.32 # {{\"$imagepolicy\": \"blog:blog-policy\"}}"
    )));
    assert_eq!(
        git(&f.bare, &["log", "-1", "--format=%an <%ae>", "main"]),
        "fluxcdbot <fluxcdbot@users.noreply.github.com>"
    );
}

/// Seed 004's wish: changes on a branch for review. The checkout branch
/// stays untouched; a later run continues the existing branch.
#[test]
fn push_to_a_review_branch() {
    let Some((api_version, mut auto)) = seed_000_automation() else {
        return;
    };
    let Some(f) = fixture(&[(KC_FILE, &kc_deployment("0.13.2"))]) else {
        return;
    };
    let main = rev_parse(&f.bare, "main").expect("main");
    let push = auto
        .spec
        .git
        .as_mut()
        .and_then(|g| g.push.as_mut())
        .expect("push");
    push.branch = Some("image-updates".into());
    push.refspec = Some("refs/heads/image-updates:refs/heads/review/image-updates".into());
    let repo = git_repository("flux-system", "flux-system", &file_url(&f.bare), "main");
    let opts = options(&f.cache);

    let r = run(
        &auto,
        &api_version,
        Some(&repo),
        &[policy(
            "flux-system",
            "keyword-correction",
            KC_IMAGE,
            "0.13.3",
        )],
        &opts,
    );
    assert_eq!(ready(&r), ok_ready());
    assert_eq!(
        rev_parse(&f.bare, "main").as_deref(),
        Some(main.as_str()),
        "main untouched"
    );
    let branch = rev_parse(&f.bare, "image-updates").expect("push branch created");
    assert_eq!(
        rev_parse(&f.bare, "image-updates~1").as_deref(),
        Some(main.as_str())
    );
    assert_eq!(
        rev_parse(&f.bare, "review/image-updates").as_deref(),
        Some(branch.as_str())
    );
    assert!(show_file(&f.bare, "image-updates", KC_FILE).contains(":0.13.3 #"));
    // Switching branch: the observed revision is the checkout commit.
    assert_eq!(
        r.status.observed_source_revision,
        Some(format!("main@sha1:{main}"))
    );
    assert_eq!(r.status.last_push_commit.as_deref(), Some(branch.as_str()));
    let event = r.event.expect("event").message;
    assert!(
        event.starts_with(&format!(
            "pushed commit '{}' to branch 'image-updates' and refspecs 'refs/heads/image-updates:refs/heads/review/image-updates'\nAutomated image update",
            &branch[..7]
        )),
        "{event}"
    );

    // A newer tag: the existing branch is continued, not recreated.
    let r2 = run(
        &with_status(&auto, r.status.clone()),
        &api_version,
        Some(&repo),
        &[policy(
            "flux-system",
            "keyword-correction",
            KC_IMAGE,
            "0.13.4",
        )],
        &opts,
    );
    assert_eq!(ready(&r2), ok_ready());
    assert_eq!(
        rev_parse(&f.bare, "image-updates~1").as_deref(),
        Some(branch.as_str())
    );
    assert_eq!(
        rev_parse(&f.bare, "image-updates~2").as_deref(),
        Some(main.as_str())
    );
    assert!(show_file(&f.bare, "image-updates", KC_FILE).contains(":0.13.4 #"));
}

/// Someone pushes between our apply and our push: re-fetch, re-apply,
/// push on top; their change is kept.
#[test]
fn concurrent_commit_is_retried_over_http() {
    let Some((api_version, auto)) = seed_000_automation() else {
        return;
    };
    if !gitrepo::git_available() {
        return;
    }
    let Some(server) = GitHttpServer::start(git_http::Options::default()) else {
        return;
    };
    let (bare, _, repo, policies) = http_fleet(&server, "fleet.git");
    let cache = tempfile::tempdir().expect("cache");
    let racer = bare.clone();
    let mut opts = options(cache.path());
    opts.before_push = Some(Arc::new(move |attempt| {
        if attempt == 1 {
            commit_files(
                &racer,
                "main",
                &[("README.md", b"hello\n")],
                "a human commit",
            );
        }
    }));
    let r = run(&auto, &api_version, Some(&repo), &policies, &opts);
    assert_eq!(ready(&r), ok_ready(), "log: {}", server.log());
    assert_eq!(r.pushed.as_ref().map(|p| p.attempts), Some(2));
    let subjects = log_subjects(&bare, "main");
    assert!(
        subjects[0].starts_with("Automated image update"),
        "{subjects:?}"
    );
    assert_eq!(subjects[1..], ["a human commit", "initial"]);
    assert_eq!(show_file(&bare, "main", "README.md"), "hello");
    assert!(show_file(&bare, "main", KC_FILE).contains(":0.13.3 #"));
}

/// Every push races: the retries run out, the remote keeps only the other
/// commits, and the next run starts clean and succeeds.
#[test]
fn exhausted_retries_lose_nothing() {
    let Some((api_version, auto)) = seed_000_automation() else {
        return;
    };
    let Some(f) = fixture(&[(KC_FILE, &kc_deployment("0.13.2"))]) else {
        return;
    };
    let repo = git_repository("flux-system", "flux-system", &file_url(&f.bare), "main");
    let policies = [policy(
        "flux-system",
        "keyword-correction",
        KC_IMAGE,
        "0.13.3",
    )];
    let racer = f.bare.clone();
    let mut opts = options(&f.cache);
    opts.max_push_retries = 1;
    opts.before_push = Some(Arc::new(move |attempt| {
        let name = format!("race-{attempt}.txt");
        commit_files(
            &racer,
            "main",
            &[(name.as_str(), b"x\n")],
            &format!("race {attempt}"),
        );
    }));
    let r = run(&auto, &api_version, Some(&repo), &policies, &opts);
    let (st, reason, message) = ready(&r);
    assert_eq!(
        (st.as_str(), reason.as_str()),
        ("False", "GitOperationFailed")
    );
    assert!(
        message.starts_with("failed to update source: "),
        "{message}"
    );
    assert!(message.contains("after 2 attempts"), "{message}");
    assert_eq!(r.outcome, Outcome::Backoff);
    assert_eq!(
        log_subjects(&f.bare, "main"),
        ["race 2", "race 1", "initial"]
    );
    assert_eq!(r.status.last_push_commit, None);

    opts.before_push = None;
    let r = run(
        &with_status(&auto, r.status.clone()),
        &api_version,
        Some(&repo),
        &policies,
        &opts,
    );
    assert_eq!(ready(&r), ok_ready());
    let subjects = log_subjects(&f.bare, "main");
    assert!(
        subjects[0].starts_with("Automated image update"),
        "{subjects:?}"
    );
    assert_eq!(subjects[1..], ["race 2", "race 1", "initial"]);
}

#[test]
fn missing_git_repository_is_retried() {
    let Some((api_version, auto)) = seed_000_automation() else {
        return;
    };
    let cache = tempfile::tempdir().expect("cache");
    let r = run(&auto, &api_version, None, &[], &options(cache.path()));
    assert_eq!(
        ready(&r),
        (
            "False".into(),
            "SourceManagerFailed".into(),
            "failed configuring source manager: referenced git repository does not exist: gitrepositories.source.toolkit.fluxcd.io \"flux-system\" not found".into()
        )
    );
    assert_eq!(r.outcome, Outcome::Backoff);
    assert!(!status::is_true(&r.status.conditions, condition::STALLED));
    assert_eq!(
        status::get(&r.status.conditions, condition::RECONCILING).map(|c| c.reason.as_str()),
        Some("ProgressingWithRetry")
    );
}

/// Flux's push-event vectors through `Pushed::summary`.
#[test]
fn push_summary_matches_flux_vectors() {
    let Some(dir) = crate::conformance_dir() else {
        return;
    };
    let text =
        std::fs::read_to_string(dir.join("flux-image/messages.json")).expect("messages.json");
    let m: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let cases = m["push_summary"]["cases"].as_array().expect("cases");
    assert!(cases.len() >= 6);
    for c in cases {
        let p = ferroflux_controllers::image::automation::Pushed {
            commit: c["rev"].as_str().unwrap().into(),
            branch: c["branch"].as_str().unwrap().into(),
            refspecs: c["refspecs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap().to_string())
                .collect(),
            message: c["commitMsg"].as_str().unwrap().into(),
            attempts: 1,
            workdir: PathBuf::new(),
        };
        match (
            p.summary(),
            c["expected"].as_str(),
            c["expected_error"].as_str(),
        ) {
            (Ok(got), Some(want), _) => assert_eq!(got, want),
            (Err(e), None, Some(want)) => assert_eq!(e.to_string(), want),
            (got, _, _) => panic!("{c}: {got:?}"),
        }
    }
}

/// Basic auth from the GitRepository's Secret, and a signed commit from
/// the signing-key Secret, verified by `git verify-commit`.
#[test]
fn basic_auth_and_signed_commit() {
    let Some((api_version, mut auto)) = seed_000_automation() else {
        return;
    };
    if !gitrepo::git_available() {
        return;
    }
    if std::process::Command::new("gpg")
        .arg("--version")
        .output()
        .is_err()
    {
        ferroflux_testkit::env::skip_or_fail("gpg (Debian package gnupg)");
        return;
    }
    let Some(server) = GitHttpServer::start(git_http::Options {
        basic_auth: Some(("flux".into(), "s3cret".into())),
    }) else {
        return;
    };
    let bare = init_bare(server.root(), "fleet.git");
    commit_files(
        &bare,
        "main",
        &[(KC_FILE, kc_deployment("0.13.2").as_bytes())],
        "initial",
    );
    let tmp = tempfile::tempdir().expect("tmp");
    let gnupg = tmp.path().join("gnupg");
    std::fs::create_dir_all(&gnupg).expect("gnupghome");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&gnupg, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let gpg = |args: &[&str]| {
        let out = std::process::Command::new("gpg")
            .env("GNUPGHOME", &gnupg)
            // No passphrase: unlocking an S2K-protected key is slow in a
            // debug build.
            .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
            .args(args)
            .output()
            .expect("run gpg");
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    gpg(&[
        "--quick-gen-key",
        "Gitea Bot <bot@gitea.com>",
        "ed25519",
        "sign",
        "never",
    ]);
    let armored = gpg(&["--armor", "--export-secret-keys", "bot@gitea.com"]);
    let signing: ferroflux_controllers::image::automation::SecretData =
        [("git.asc".to_string(), armored)].into_iter().collect();
    auto.spec.git.as_mut().expect("git").commit.signing_key =
        Some(ferroflux_api::image::SigningKey {
            secret_ref: ferroflux_api::meta::LocalObjectReference {
                name: "gpg-signing".into(),
            },
            key_type: None,
        });
    let mut repo = git_repository(
        "flux-system",
        "flux-system",
        &server.url("fleet.git"),
        "main",
    );
    repo.spec.secret_ref = Some(ferroflux_api::meta::LocalObjectReference {
        name: "git-auth".into(),
    });
    let policies = [policy(
        "flux-system",
        "keyword-correction",
        KC_IMAGE,
        "0.13.3",
    )];
    let cache = tmp.path().join("cache");
    let reconcile_with = |secret: &ferroflux_controllers::image::automation::SecretData| {
        let input = AutomationInput {
            automation: &auto,
            api_version: &api_version,
            git_repository: Some(&repo),
            git_secret: Some(secret),
            signing_secret: Some(&signing),
            policies: &policies,
        };
        reconcile(&input, &clock(), &options(&cache))
    };
    let secret = |user: &str, pass: &str| -> ferroflux_controllers::image::automation::SecretData {
        [
            ("username".to_string(), user.as_bytes().to_vec()),
            ("password".to_string(), pass.as_bytes().to_vec()),
        ]
        .into_iter()
        .collect()
    };

    let denied = reconcile_with(&secret("flux", "wrong"));
    let (st, reason, message) = ready(&denied);
    assert_eq!(
        (st.as_str(), reason.as_str()),
        ("False", "GitOperationFailed")
    );
    assert!(
        message.starts_with("failed to checkout source: "),
        "{message}"
    );
    assert!(
        !message.contains("wrong"),
        "no secret in messages: {message}"
    );

    let r = reconcile_with(&secret("flux", "s3cret"));
    assert_eq!(ready(&r), ok_ready(), "log: {}", server.log());
    let head = rev_parse(&bare, "main").expect("main");
    assert_eq!(r.status.last_push_commit.as_deref(), Some(head.as_str()));
    let out = std::process::Command::new("git")
        .env("GNUPGHOME", &gnupg)
        .args(["verify-commit", "--raw", &head])
        .current_dir(&bare)
        .output()
        .expect("git verify-commit");
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stderr).contains("GOODSIG"),
        "verify-commit: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `update.path` is joined inside the clone: `..` cannot leave it, and a
/// path that does not exist is an `UpdateFailed` retry with no commit.
#[test]
fn update_path_stays_in_the_clone() {
    let Some((api_version, auto)) = seed_000_automation() else {
        return;
    };
    let Some(f) = fixture(&[(KC_FILE, &kc_deployment("0.13.2"))]) else {
        return;
    };
    let initial = rev_parse(&f.bare, "main").expect("main");
    let repo = git_repository("flux-system", "flux-system", &file_url(&f.bare), "main");
    let policies = [policy(
        "flux-system",
        "keyword-correction",
        KC_IMAGE,
        "0.13.3",
    )];
    let with_path = |p: &str| {
        let mut a = auto.clone();
        a.spec.update.as_mut().expect("update").path = Some(p.into());
        a
    };

    let r = run(
        &with_path("./apps/missing"),
        &api_version,
        Some(&repo),
        &policies,
        &options(&f.cache),
    );
    let (st, reason, message) = ready(&r);
    assert_eq!((st.as_str(), reason.as_str()), ("False", "UpdateFailed"));
    assert!(
        message.starts_with("failed to apply policies: "),
        "{message}"
    );
    assert!(message.contains("apps/missing"), "{message}");
    assert_eq!(r.outcome, Outcome::Backoff);
    assert_eq!(
        rev_parse(&f.bare, "main").as_deref(),
        Some(initial.as_str())
    );

    // `../../..` resolves to the clone's root: the whole tree is scanned and
    // file names in the message are relative to it.
    let r = run(
        &with_path("../../.."),
        &api_version,
        Some(&repo),
        &policies,
        &options(&f.cache),
    );
    assert_eq!(ready(&r), ok_ready());
    assert!(show_file(&f.bare, "main", KC_FILE).contains(":0.13.3 #"));
    let message = git(&f.bare, &["log", "-1", "--format=%B", "main"]);
    assert!(message.contains(&format!("- {KC_FILE}")), "{message}");
}

/// A protected branch (a pre-receive hook refusing the push, as GitHub's
/// GH006) shows on the automation's status with the server's words; the
/// remote is untouched.
#[test]
fn protected_branch_refusal_is_on_the_status() {
    let Some((api_version, auto)) = seed_000_automation() else {
        return;
    };
    if !gitrepo::git_available() {
        return;
    }
    let Some(server) = GitHttpServer::start(git_http::Options::default()) else {
        return;
    };
    let (bare, initial, repo, policies) = http_fleet(&server, "protected.git");
    let hook = bare.join("hooks/pre-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\necho 'GH006: Protected branch update failed for refs/heads/main.' >&2\nexit 1\n",
    )
    .expect("hook");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let cache = tempfile::tempdir().expect("cache");
    let r = run(
        &auto,
        &api_version,
        Some(&repo),
        &policies,
        &options(cache.path()),
    );
    let (status, reason, message) = ready(&r);
    assert_eq!(status, "False", "{message}");
    assert_eq!(reason, "GitOperationFailed", "{message}");
    assert!(
        message.contains("GH006: Protected branch update failed"),
        "{message}"
    );
    assert!(r.pushed.is_none());
    assert_eq!(gitrepo::rev_parse(&bare, "main"), Some(initial));
}
