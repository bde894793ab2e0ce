//! ImageUpdateAutomation as a [`Kind`]: runs on its interval, when any
//! ImagePolicy of its namespace chose a new `latestRef` (Flux reads every
//! policy of the namespace), and when its `sourceRef` GitRepository
//! changed.

use std::sync::Arc;
use std::time::Duration;

use ferroflux_api::image::{ImagePolicy, ImageUpdateAutomation};
use ferroflux_api::meta::{Condition, ObjectMeta};
use ferroflux_api::source::{GitRepository, GitRepositorySpec};
use serde_json::Value;

use crate::kind::cx::fetch_progress;
use crate::kind::{
    Cx, FirstRun, Job, Kind, KindInfo, Lookup, ObjectKey, Reconciled, Ref, Run, Said, Watch,
    after_if_ready, get, is_ready, never,
};

impl Kind for ImageUpdateAutomation {
    const INFO: KindInfo = KindInfo {
        kind: "ImageUpdateAutomation",
        group: "image.toolkit.fluxcd.io",
        version: "v1",
        section: "automations",
    };
    type Object = ImageUpdateAutomation;

    fn meta(obj: &ImageUpdateAutomation) -> &ObjectMeta {
        &obj.metadata
    }

    fn meta_mut(obj: &mut ImageUpdateAutomation) -> &mut ObjectMeta {
        &mut obj.metadata
    }

    fn from_manifest(object: &ferroflux_api::manifest::Object) -> Option<ImageUpdateAutomation> {
        match object {
            ferroflux_api::manifest::Object::ImageUpdateAutomation(o) => Some(o.clone()),
            _ => None,
        }
    }

    fn conditions(obj: &ImageUpdateAutomation) -> &[Condition] {
        obj.status.as_ref().map_or(&[], |s| s.conditions.as_slice())
    }

    fn suspended(obj: &ImageUpdateAutomation) -> bool {
        obj.spec.suspend == Some(true)
    }

    fn watches() -> Vec<Watch<Self>> {
        vec![
            Watch {
                upstream: "ImagePolicy",
                refs: namespace_policies,
                when: latest_ref_moved,
            },
            Watch {
                upstream: "GitRepository",
                refs: source_ref,
                // It fetches the branch itself: a new artifact is no news.
                when: never,
            },
        ]
    }

    fn reads_spec_of() -> &'static [&'static str] {
        &["GitRepository"]
    }

    fn first_run(obj: &ImageUpdateAutomation) -> FirstRun {
        after_if_ready(Self::conditions(obj), obj.spec.interval.to_std())
    }

    /// When Ready: `pushed commit C`, or `no changes`.
    fn detail(obj: &ImageUpdateAutomation, pushed: Option<&str>) -> Option<String> {
        if !is_ready(Self::conditions(obj)) {
            return None;
        }
        Some(match pushed {
            Some(c) => format!("pushed commit {c}"),
            None => "no changes".to_string(),
        })
    }

    /// Its Git source, Secrets and the namespace's policies, then the
    /// blocking git work, bounded by `spec.timeout` and guarded so that
    /// one clone is never used twice.
    fn reconcile(key: &ObjectKey, obj: &ImageUpdateAutomation, _: Run, cx: &dyn Cx) -> Option<Job> {
        start(key, obj, cx)
    }

    /// The clone of its Git URL (two automations of one repository share
    /// the cached clone, so they take turns).
    fn resources(key: &ObjectKey, obj: &ImageUpdateAutomation, cx: &dyn Cx) -> Vec<String> {
        let (git_repository, _) = cx.git_repository(&source_key(key, obj));
        git_repository
            .map(|g| vec![clone_resource(&g.spec.url)])
            .unwrap_or_default()
    }
}

fn namespace_policies(key: &ObjectKey, _: &ImageUpdateAutomation) -> Vec<Ref> {
    vec![Ref::Namespace {
        kind: "ImagePolicy".to_string(),
        namespace: key.namespace.clone(),
    }]
}

/// `spec.sourceRef`, in the automation's namespace unless it names one.
fn source_ref(key: &ObjectKey, obj: &ImageUpdateAutomation) -> Vec<Ref> {
    let r = &obj.spec.source_ref;
    vec![Ref::Object(ObjectKey::new(
        "GitRepository",
        r.namespace.as_deref().unwrap_or(&key.namespace),
        &r.name,
    ))]
}

/// A new `latestRef`; a policy that lost its choice runs nothing.
fn latest_ref_moved(old: Option<&Value>, new: Option<&Value>) -> bool {
    let at = |v: Option<&Value>| v.and_then(|v| v.pointer("/latestRef")).cloned();
    let new_ref = at(new);
    new_ref.is_some() && at(old) != new_ref
}

/// Every ImagePolicy of the automation's namespace (Flux applies them all).
pub fn policies_of_namespace(key: &ObjectKey, objects: &dyn Lookup) -> Vec<ImagePolicy> {
    objects
        .keys_in(ImagePolicy::INFO.kind, &key.namespace)
        .iter()
        .filter_map(|k| get::<ImagePolicy>(objects, k).cloned())
        .collect()
}

/// The key of its `sourceRef` GitRepository.
fn source_key(key: &ObjectKey, obj: &ImageUpdateAutomation) -> ObjectKey {
    let r = &obj.spec.source_ref;
    ObjectKey::new(
        GitRepository::INFO.kind,
        r.namespace.as_deref().unwrap_or(&key.namespace),
        &r.name,
    )
}

/// The resource an automation's clone of `url` is (one cached clone per URL).
pub fn clone_resource(url: &str) -> String {
    format!("git {}", ferroflux_git::url::redact(url))
}

/// `spec.timeout` of a GitRepository; without one, the API's default.
pub fn git_timeout(repo: Option<&GitRepository>) -> Duration {
    repo.map_or_else(
        || GitRepositorySpec::default().effective_timeout(),
        |g| g.spec.effective_timeout(),
    )
    .to_std()
}

fn start(key: &ObjectKey, obj: &ImageUpdateAutomation, cx: &dyn Cx) -> Option<Job> {
    let api_version = cx
        .written_version(key)
        .unwrap_or_else(|| "image.toolkit.fluxcd.io/v1".to_string());
    let (git_repository, git_secret) = cx.git_repository(&source_key(key, obj));
    let signing_secret = obj
        .spec
        .git
        .as_ref()
        .and_then(|g| g.commit.signing_key.as_ref())
        .and_then(|k| {
            cx.secrets()
                .secret(&key.namespace, &k.secret_ref.name)
                .ok()
                .cloned()
        });
    let policies = policies_of_namespace(key, cx.objects());
    let clock = cx.clock();
    let fetch = cx.progress().and_then(|sink| {
        git_repository
            .as_ref()
            .map(|gr| fetch_progress(&sink, &gr.spec.url))
    });
    let stores = cx.stores();
    let opts = super::AutomationOptions {
        cache_dir: stores.clones.to_path_buf(),
        depth: stores.depth,
        fetch_progress: fetch,
        ..super::AutomationOptions::default()
    };
    let git_timeout = git_timeout(git_repository.as_ref());
    let shown_url = git_repository
        .as_ref()
        .map(|g| ferroflux_git::url::redact(&g.spec.url))
        .unwrap_or_default();
    let url = git_repository
        .as_ref()
        .map(|g| g.spec.url.clone())
        .unwrap_or_default();
    // Pushed to where the home reads from: it reads from this clone
    // rather than fetching again.
    let after_push = git_repository.as_ref().and_then(|_| cx.after_push(&url));
    // A thread left blocked on this clone by an earlier timeout still
    // holds it: this run fails at once instead of racing it.
    let guard = cx.guard(&clone_resource(&url));
    let key = key.clone();
    let obj = obj.clone();
    Some(Box::pin(async move {
        let previous = obj.clone();
        let unfinished = |message: String| {
            (
                super::git_unfinished(&previous, clock.as_ref(), message),
                None,
            )
        };
        let (r, read) = match guard {
            None => unfinished(format!(
                "a git operation on '{shown_url}' from an earlier run has not finished"
            )),
            Some(guard) => {
                let thread_clock = Arc::clone(&clock);
                let task = tokio::task::spawn_blocking(move || {
                    let _guard = guard;
                    let input = super::AutomationInput {
                        automation: &obj,
                        api_version: &api_version,
                        git_repository: git_repository.as_ref(),
                        git_secret: git_secret.as_ref(),
                        signing_secret: signing_secret.as_ref(),
                        policies: &policies,
                    };
                    let r = super::reconcile(&input, thread_clock.as_ref(), &opts);
                    // Still holding the clone: nothing else writes in it.
                    let read = after_push
                        .zip(r.pushed.as_ref())
                        .and_then(|(hook, p)| hook.read(&p.branch, &p.commit, &p.workdir));
                    (r, read)
                });
                // libgit2 waits forever on a server that accepts and
                // never answers: give up waiting after spec.timeout (the
                // callbacks' own deadline covers slow transfers); the
                // guard keeps the cache to that thread until it returns.
                match tokio::time::timeout(git_timeout, task).await {
                    Ok(r) => r.map_err(|e| e.to_string())?,
                    Err(_) => unfinished(format!(
                        "timeout after {git_timeout:?} waiting for '{shown_url}'"
                    )),
                }
            }
        };
        let mut done = Reconciled::new(&key, &r.status, Said::Event(r.event), r.outcome)?;
        done.pushed = r.pushed.map(|p| p.commit);
        done.read = read;
        Ok(done)
    }))
}
