//! ImageUpdateAutomation: rewrite the setter markers of a Git repository
//! from the ImagePolicies' `latestRef`, commit and push
//! (image-automation-controller, `shared/docs/flux-image-semantics.md` §5).
//!
//! One run: check the spec (source kind, `git`, `update`, cross-namespace
//! refs, `policySelector`), collect the policies in scope, build the source
//! configuration (checkout ref, push branch, credentials, signing key),
//! fetch into the cached clone, stop early when neither the policies nor
//! the remote changed, switch to the push branch, apply the setters under
//! `update.path`, render the commit message, commit and push (re-fetching
//! and re-applying on a non-fast-forward refusal). The clone is reset on
//! every failure and at the start of every run, so nothing half-done is
//! ever committed. Git IO is blocking: async callers use `spawn_blocking`.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ferroflux_api::image::{ImagePolicy, ImageRef, ImageUpdateAutomation, SigningKeyType};
use ferroflux_api::meta::{Condition, LabelSelector, reason};
use ferroflux_api::source::GitRepository;
use ferroflux_git::{Auth, Author, CheckoutRef, CommitOptions, PushSpec, Signer, Workspace};
use ferroflux_setters::{LatestRef, Policies, TreeResult};
use ferroflux_template::{ApiVersion, RenderOptions, TemplateData};

use crate::clock::Clock;
use crate::status::{self, Event, EventType, Outcome, StepError};

mod kind;
pub use kind::{clone_resource, git_timeout, policies_of_namespace};
#[cfg(test)]
mod tests;

/// Secret data as Kubernetes holds it (`data`, decoded).
pub type SecretData = BTreeMap<String, Vec<u8>>;

/// Ready message after every successful run, pushed or not.
pub const READY_MESSAGE: &str = "repository up-to-date";
/// Trace event when the run stopped early.
pub const NO_CHANGE_MESSAGE: &str = "no change since last reconciliation";

/// Problems found in the spec or the working tree, before they become a
/// [`StepError`] with Flux's reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("failed to parse policy selector: {message}")]
    Selector { message: String },
    #[error("update path '{path}': too many levels of symbolic links")]
    SymlinkLoop { path: String },
}

/// Called with the attempt number (1, 2, ...) after the changes of that
/// attempt are written and before they are committed and pushed.
pub type BeforePush = Arc<dyn Fn(u32) + Send + Sync>;

/// Controller-wide settings.
#[derive(Clone)]
pub struct AutomationOptions {
    /// Where the cached working clones live (one per remote URL).
    pub cache_dir: PathBuf,
    /// Pushes retried after a non-fast-forward refusal (re-fetch, re-apply).
    pub max_push_retries: u32,
    /// Flux's `--no-cross-namespace-refs`.
    pub no_cross_namespace_refs: bool,
    /// Shallow fetch depth (Flux's `GitShallowClone` gate: 1); None: full.
    pub depth: Option<u32>,
    /// Test seam: lets a test move the remote between apply and push.
    pub before_push: Option<BeforePush>,
    /// Clone and fetch progress, for a terminal.
    pub fetch_progress: Option<ferroflux_git::FetchProgress>,
}

impl Default for AutomationOptions {
    fn default() -> Self {
        AutomationOptions {
            // A fixed path: reconcilers never read the environment ($TMPDIR).
            cache_dir: PathBuf::from("/tmp/ferroflux-git-cache"),
            max_push_retries: 4,
            no_cross_namespace_refs: false,
            depth: Some(1),
            before_push: None,
            fetch_progress: None,
        }
    }
}

impl std::fmt::Debug for AutomationOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AutomationOptions")
            .field("cache_dir", &self.cache_dir)
            .field("max_push_retries", &self.max_push_retries)
            .field("no_cross_namespace_refs", &self.no_cross_namespace_refs)
            .field("depth", &self.depth)
            .field("before_push", &self.before_push.is_some())
            .field("fetch_progress", &self.fetch_progress.is_some())
            .finish()
    }
}

/// What one run works from; the caller looked everything up.
#[derive(Debug, Clone, Copy)]
pub struct AutomationInput<'a> {
    pub automation: &'a ImageUpdateAutomation,
    /// The apiVersion the object was written in: `.Updated` in a template
    /// renders for `v1beta2`/`v1beta1` and stalls for `v1`.
    pub api_version: &'a str,
    /// The GitRepository `spec.sourceRef` names (None: not found).
    pub git_repository: Option<&'a GitRepository>,
    /// The GitRepository's `spec.secretRef` Secret (None: not found).
    pub git_secret: Option<&'a SecretData>,
    /// The `git.commit.signingKey.secretRef` Secret (None: not found).
    pub signing_secret: Option<&'a SecretData>,
    /// The ImagePolicies of the automation's namespace (others are ignored).
    pub policies: &'a [ImagePolicy],
}

/// The new status, when to run again, the event, and what was pushed.
#[derive(Debug, Clone)]
pub struct AutomationResult {
    pub status: ferroflux_api::image::ImageUpdateAutomationStatus,
    pub outcome: Outcome,
    /// None only for a suspended object.
    pub event: Option<Event>,
    pub pushed: Option<Pushed>,
}

/// A successful push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    pub commit: String,
    pub branch: String,
    pub refspecs: Vec<String>,
    pub message: String,
    pub attempts: u32,
    /// The clone the commit was made in: its working tree holds the pushed
    /// files until the next run on that clone.
    pub workdir: PathBuf,
}

/// How a run that did not fail ended.
enum Done {
    /// Nothing changed in the policies nor on the remote.
    Unchanged,
    /// Setters changed nothing.
    UpToDate,
    Pushed(Pushed),
}

/// Reconcile one ImageUpdateAutomation.
pub fn reconcile(
    input: &AutomationInput<'_>,
    clock: &dyn Clock,
    opts: &AutomationOptions,
) -> AutomationResult {
    let auto = input.automation;
    let mut status = auto.status.clone().unwrap_or_default();
    if let Some(token) = status::requested_at(&auto.metadata) {
        status.last_handled_reconcile_at = Some(token);
    }
    if auto.spec.suspend == Some(true) {
        return AutomationResult {
            status,
            outcome: Outcome::Wait,
            event: None,
            pushed: None,
        };
    }
    status.last_automation_run_time = Some(clock.now_time());
    let before = status.conditions.clone();
    let done = run(input, clock, opts, &mut status);
    let result = done
        .as_ref()
        .map(|_| READY_MESSAGE.to_string())
        .map_err(Clone::clone);
    let generation = auto.metadata.generation;
    status::finish_observed(
        &mut status.conditions,
        &mut status.observed_generation,
        generation,
        clock.now_time(),
        &result,
    );
    let interval = auto.spec.interval.to_std().max(Duration::from_secs(1));
    let (event, pushed) = match done {
        Ok(Done::Pushed(p)) => (
            Event {
                type_: EventType::Normal,
                reason: reason::SUCCEEDED.to_string(),
                message: p.summary().unwrap_or_default(),
            },
            Some(p),
        ),
        Ok(Done::Unchanged) => (
            trace_or_recovered(&before, &status.conditions, NO_CHANGE_MESSAGE),
            None,
        ),
        Ok(Done::UpToDate) => (
            trace_or_recovered(&before, &status.conditions, READY_MESSAGE),
            None,
        ),
        Err(e) => (
            Event {
                type_: EventType::Warning,
                reason: e.reason().to_string(),
                message: e.message().to_string(),
            },
            None,
        ),
    };
    AutomationResult {
        status,
        outcome: status::outcome(&result, Some(interval)),
        event: Some(event),
        pushed,
    }
}

/// The result of an automation whose git work did not finish in time (the
/// caller stopped waiting): Ready=False with `GitOperationFailed`, retried
/// with backoff.
pub fn git_unfinished(
    obj: &ImageUpdateAutomation,
    clock: &dyn Clock,
    message: String,
) -> AutomationResult {
    let mut s = obj.status.clone().unwrap_or_default();
    let before = s.conditions.clone();
    let result = Err(StepError::retry(reason::GIT_OPERATION_FAILED, message));
    status::finish(
        &mut s.conditions,
        obj.metadata.generation,
        clock.now_time(),
        &result,
    );
    let event = status::notify(&before, &s.conditions, "");
    AutomationResult {
        status: s,
        outcome: status::outcome(&result, None),
        event: Some(event),
        pushed: None,
    }
}

fn trace_or_recovered(before: &[Condition], after: &[Condition], trace: &str) -> Event {
    let mut e = status::notify(before, after, trace);
    if e.type_ == EventType::Normal
        && status::is_true(before, ferroflux_api::meta::condition::READY)
    {
        // Ready before and after with the same fixed message: a trace.
        e = Event {
            type_: EventType::Trace,
            reason: reason::SUCCEEDED.to_string(),
            message: trace.to_string(),
        };
    }
    e
}

impl Pushed {
    /// The event text: `pushed commit '<sha7>' to branch '<b>'[ and refspecs …]\n<message>`.
    pub fn summary(&self) -> Result<String, ferroflux_template::EventError> {
        ferroflux_template::push_summary(&ferroflux_template::PushResult {
            branch: &self.branch,
            revision: &self.commit,
            commit_message: &self.message,
            refspecs: &self.refspecs,
        })
    }
}

fn run(
    input: &AutomationInput<'_>,
    clock: &dyn Clock,
    opts: &AutomationOptions,
    status: &mut ferroflux_api::image::ImageUpdateAutomationStatus,
) -> Result<Done, StepError> {
    let auto = input.automation;
    let spec = check_spec(auto, opts)?;
    let observed = observed_policies(auto, input.policies)?;
    let sync_needed = observed != status.observed_policies.clone().unwrap_or_default();
    let source = source_config(input)?;
    // New policies mean a commit is likely: start from our own last push
    // without a fetch (the push proves the base or is retried after one).
    let trust = sync_needed && !source.switch_branch;
    let mut ws = checkout(&source, opts, trust)?;
    let full_sync = source.switch_branch || source.push.refspec.is_some() || sync_needed;
    if !full_sync
        && ws.is_verified()
        && status.observed_source_revision.is_some()
        && ws.observed_source_revision() == status.observed_source_revision
    {
        return Ok(Done::Unchanged);
    }
    if source.switch_branch {
        ws.switch_branch(&source.push.branch)
            .map_err(|e| git_failed("failed to checkout source", &e))?;
    }
    let update_path = spec.update_path.clone();
    let policies = setter_policies(auto, &observed);
    let data = template_base(auto, &observed);
    let template = spec.template.clone();
    let api_version = api_version(input.api_version);
    let mut failure: Option<StepError> = None;
    let mut message = String::new();
    let before_push = opts.before_push.clone();
    let mut attempt = 0;
    let pushed = ws.push_with_retry(&source.push, &source.commit, |dir| {
        attempt += 1;
        let outcome = apply(dir, &update_path, &policies, &data, &template, api_version);
        match outcome {
            Ok(Some(m)) => {
                message = m.clone();
                if let Some(hook) = &before_push {
                    hook(attempt);
                }
                Ok(Some(m))
            }
            Ok(None) => Ok(None),
            Err(e) => {
                let text = e.message().to_string();
                failure = Some(e);
                Err(text)
            }
        }
    });
    let pushed = match pushed {
        Ok(p) => p,
        Err(e) => {
            return Err(match (e, failure) {
                (ferroflux_git::Error::Apply(_), Some(f)) => f,
                (e, _) => git_failed("failed to update source", &e),
            });
        }
    };
    status.observed_policies = Some(observed).filter(|m| !m.is_empty());
    status.observed_source_revision = ws.observed_source_revision();
    match pushed {
        None => Ok(Done::UpToDate),
        Some(p) => {
            status.last_push_commit = Some(p.commit.clone());
            status.last_push_time = Some(clock.now_time());
            Ok(Done::Pushed(Pushed {
                commit: p.commit,
                branch: p.branch,
                refspecs: p.refspecs,
                message,
                attempts: p.attempts,
                workdir: ws.workdir().to_path_buf(),
            }))
        }
    }
}

/// The parts of the spec a run needs, once validated.
struct Spec {
    update_path: String,
    template: String,
}

fn check_spec(auto: &ImageUpdateAutomation, opts: &AutomationOptions) -> Result<Spec, StepError> {
    let invalid = |m: String| {
        StepError::stalled(
            reason::INVALID_SOURCE_CONFIGURATION,
            format!("{m}: invalid source configuration"),
        )
    };
    let source = &auto.spec.source_ref;
    if source.kind != "GitRepository" {
        return Err(invalid(format!(
            "source kind '{}' not supported",
            source.kind
        )));
    }
    let Some(git) = &auto.spec.git else {
        return Err(invalid(
            "source kind 'GitRepository' necessitates field .spec.git".to_string(),
        ));
    };
    let Some(update) = &auto.spec.update else {
        return Err(StepError::stalled(
            reason::INVALID_UPDATE_STRATEGY,
            "no update strategy",
        ));
    };
    let ns = auto.metadata.namespace.clone().unwrap_or_default();
    let source_ns = source
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or(ns.clone());
    if opts.no_cross_namespace_refs && source_ns != ns {
        return Err(StepError::stalled(
            reason::ACCESS_DENIED,
            format!(
                "can't access 'GitRepository/{source_ns}/{}', cross-namespace references have been blocked",
                source.name
            ),
        ));
    }
    Ok(Spec {
        update_path: update.path.clone().unwrap_or_default(),
        template: git.commit.message_template.clone().unwrap_or_default(),
    })
}

/// `observedPolicies`: every policy of the automation's namespace that
/// `policySelector` selects and that has a `latestRef`.
fn observed_policies(
    auto: &ImageUpdateAutomation,
    policies: &[ImagePolicy],
) -> Result<BTreeMap<String, ImageRef>, StepError> {
    let ns = auto.metadata.namespace.as_deref().unwrap_or_default();
    let selector = auto.spec.policy_selector.as_ref();
    let mut out = BTreeMap::new();
    for p in policies {
        if p.metadata.namespace.as_deref().unwrap_or_default() != ns {
            continue;
        }
        let labels = p.metadata.labels.clone().unwrap_or_default();
        let selected = match selector {
            None => true,
            Some(s) => selector_matches(s, &labels)
                .map_err(|e| StepError::stalled(reason::INVALID_POLICY_SELECTOR, e.to_string()))?,
        };
        let latest = p.status.as_ref().and_then(|s| s.latest_ref.clone());
        if let (true, Some(latest), Some(name)) = (selected, latest, p.metadata.name.clone()) {
            out.insert(name, latest);
        }
    }
    // A bad selector must stall even when the namespace has no policies.
    if let Some(s) = selector {
        selector_matches(s, &BTreeMap::new())
            .map_err(|e| StepError::stalled(reason::INVALID_POLICY_SELECTOR, e.to_string()))?;
    }
    Ok(out)
}

/// `metav1.LabelSelectorAsSelector(...).Matches(labels)`; an empty
/// selector matches everything.
pub fn selector_matches(
    selector: &LabelSelector,
    labels: &BTreeMap<String, String>,
) -> Result<bool, Error> {
    let err = |message: String| Error::Selector { message };
    let mut ok = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    for req in selector.match_expressions.iter().flatten() {
        let values = req.values.clone().unwrap_or_default();
        let has = labels.get(&req.key);
        let matched = match req.operator.as_str() {
            "In" | "NotIn" if values.is_empty() => {
                return Err(err(format!(
                    "values: Invalid value: []string{{}}: for 'in', 'notin' operators, values set can't be empty (key '{}')",
                    req.key
                )));
            }
            "Exists" | "DoesNotExist" if !values.is_empty() => {
                return Err(err(format!(
                    "values: Invalid value: {values:?}: values set must be empty for exists and does not exist (key '{}')",
                    req.key
                )));
            }
            "In" => has.is_some_and(|v| values.contains(v)),
            "NotIn" => !has.is_some_and(|v| values.contains(v)),
            "Exists" => has.is_some(),
            "DoesNotExist" => has.is_none(),
            other => {
                return Err(err(format!(
                    "{other:?} is not a valid label selector operator"
                )));
            }
        };
        ok &= matched;
    }
    Ok(ok)
}

/// Where to clone from, what to check out, where to push, and as whom.
struct Source {
    url: String,
    auth: Auth,
    checkout: CheckoutRef,
    push: PushSpec,
    commit: CommitOptions,
    switch_branch: bool,
    /// The GitRepository's `spec.timeout` (60s by default).
    timeout: std::time::Duration,
}

fn source_config(input: &AutomationInput<'_>) -> Result<Source, StepError> {
    let auto = input.automation;
    let ns = auto.metadata.namespace.clone().unwrap_or_default();
    let fail = |m: String| {
        StepError::retry(
            reason::SOURCE_MANAGER_FAILED,
            format!("failed configuring source manager: {m}"),
        )
    };
    let Some(repo) = input.git_repository else {
        return Err(fail(format!(
            "referenced git repository does not exist: gitrepositories.source.toolkit.fluxcd.io \"{}\" not found",
            auto.spec.source_ref.name
        )));
    };
    let repo_ns = repo.metadata.namespace.clone().unwrap_or_default();
    let git = auto.spec.git.clone().unwrap_or_default();
    if let Some(p) = repo
        .spec
        .provider
        .as_deref()
        .filter(|p| !p.is_empty() && *p != "generic")
    {
        let sa = repo
            .spec
            .service_account_name
            .as_deref()
            .is_some_and(|s| !s.is_empty());
        if sa {
            return Err(StepError::stalled(
                reason::FEATURE_GATE_DISABLED,
                "to use spec.serviceAccountName for provider authentication please enable the ObjectLevelWorkloadIdentity feature gate in the controller",
            ));
        }
        return Err(fail(format!(
            "GitRepository '{repo_ns}/{}' uses provider '{p}', which ferroflux does not support; use a secretRef",
            repo.metadata.name.clone().unwrap_or_default()
        )));
    }
    let explicit = git
        .checkout
        .as_ref()
        .map(|c| c.reference.clone())
        .or_else(|| repo.spec.reference.clone());
    let checkout = explicit
        .as_ref()
        .map(|r| CheckoutRef {
            branch: r.branch.clone(),
            tag: r.tag.clone(),
            semver: r.semver.clone(),
            name: r.name.clone(),
            commit: r.commit.clone(),
        })
        .unwrap_or_default();
    let checkout_branch = match &explicit {
        None => Some("master".to_string()),
        Some(r) => r.branch.clone().filter(|b| !b.is_empty()),
    };
    let push = git.push.clone().unwrap_or_default();
    let push_branch = match push.branch.clone().filter(|b| !b.is_empty()) {
        Some(b) => b,
        None => match explicit
            .as_ref()
            .and_then(|r| r.branch.clone())
            .filter(|b| !b.is_empty())
        {
            Some(b) => b,
            None => {
                return Err(fail(
                    "push spec not provided, and cannot be inferred from .spec.git.checkout.ref or GitRepository .spec.ref"
                        .to_string(),
                ));
            }
        },
    };
    let switch_branch = checkout_branch.as_deref() != Some(push_branch.as_str());
    let auth = match &repo.spec.secret_ref {
        None => Auth::none(),
        Some(r) => {
            let data = input.git_secret.ok_or_else(|| {
                fail(format!(
                    "failed to get auth secret '{repo_ns}/{}': secrets \"{}\" not found",
                    r.name, r.name
                ))
            })?;
            Auth::from_secret(data)
                .map_err(|e| fail(format!("failed to configure authentication options: {e}")))?
        }
    };
    let signer = match &git.commit.signing_key {
        None => None,
        Some(key) => {
            let name = format!("{ns}/{}", key.secret_ref.name);
            if key.key_type == Some(SigningKeyType::Ssh) {
                return Err(fail(format!(
                    "signing key secret '{name}': ssh commit signing is not supported by ferroflux yet; use type gpg"
                )));
            }
            let data = input.signing_secret.ok_or_else(|| {
                fail(format!(
                    "could not find signing key secret '{name}': secrets \"{}\" not found",
                    key.secret_ref.name
                ))
            })?;
            Some(Signer::from_secret(&name, data).map_err(|e| fail(e.to_string()))?)
        }
    };
    Ok(Source {
        url: repo.spec.url.clone(),
        timeout: repo.spec.effective_timeout().to_std(),
        auth,
        checkout,
        push: PushSpec {
            branch: push_branch,
            refspec: push.refspec.clone().filter(|r| !r.is_empty()),
            options: push.options.clone().unwrap_or_default(),
            // Flux's GitForcePushBranch gate (on by default).
            force: switch_branch,
        },
        commit: CommitOptions {
            author: Author {
                name: git.commit.author.name.clone().unwrap_or_default(),
                email: git.commit.author.email.clone(),
            },
            signer,
        },
        switch_branch,
    })
}

/// How long our own push stands for a fetch of the branch it went to.
const OWN_PUSH_TRUST: std::time::Duration = std::time::Duration::from_secs(60);

fn checkout(
    source: &Source,
    opts: &AutomationOptions,
    trust_own_push: bool,
) -> Result<Workspace, StepError> {
    let git_opts = ferroflux_git::Options {
        depth: opts.depth,
        push_attempts: opts.max_push_retries.saturating_add(1),
        progress: opts.fetch_progress.clone(),
        timeout: Some(source.timeout),
        trust_own_push: trust_own_push.then_some(OWN_PUSH_TRUST),
        // Flux's image-automation-controller clones without submodules.
        recurse_submodules: false,
        // A clone that pushes fetches on its own.
        shared: None,
    };
    Workspace::open_or_clone(
        &opts.cache_dir,
        &source.url,
        &source.auth,
        &source.checkout,
        git_opts,
    )
    .map_err(|e| git_failed("failed to checkout source", &e))
}

fn git_failed(what: &str, e: &ferroflux_git::Error) -> StepError {
    StepError::retry(reason::GIT_OPERATION_FAILED, format!("{what}: {e}"))
}

fn api_version(v: &str) -> ApiVersion {
    match v.rsplit('/').next() {
        Some("v1beta2") => ApiVersion::V1beta2,
        Some("v1beta1") => ApiVersion::V1beta1,
        _ => ApiVersion::V1,
    }
}

/// The setters' view of the observed policies (namespace `ns`).
fn setter_policies(
    auto: &ImageUpdateAutomation,
    observed: &BTreeMap<String, ImageRef>,
) -> Policies {
    let ns = auto.metadata.namespace.as_deref().unwrap_or_default();
    let mut out = Policies::new();
    for (name, r) in observed {
        out.insert(
            ns,
            name,
            LatestRef {
                name: r.name.clone(),
                tag: r.tag.clone(),
                digest: r.digest.clone().unwrap_or_default(),
            },
        );
    }
    out
}

/// The template data that does not depend on the run's changes.
fn template_base(
    auto: &ImageUpdateAutomation,
    observed: &BTreeMap<String, ImageRef>,
) -> TemplateData {
    let ns = auto.metadata.namespace.clone().unwrap_or_default();
    let git = auto.spec.git.clone().unwrap_or_default();
    TemplateData {
        automation: ferroflux_template::AutomationRef {
            name: auto.metadata.name.clone().unwrap_or_default(),
            namespace: ns.clone(),
        },
        values: git.commit.message_template_values.clone(),
        policies: observed
            .iter()
            .map(|(name, r)| {
                (
                    format!("{ns}/{name}"),
                    ferroflux_template::LatestRef {
                        name: r.name.clone(),
                        tag: r.tag.clone(),
                        digest: r.digest.clone().unwrap_or_default(),
                    },
                )
            })
            .collect(),
        changes: Vec::new(),
    }
}

/// One attempt in the working tree: setters under `update.path`, the
/// commit message rendered, then the files written. `None`: no change.
fn apply(
    workdir: &Path,
    update_path: &str,
    policies: &Policies,
    base: &TemplateData,
    template: &str,
    api_version: ApiVersion,
) -> Result<Option<String>, StepError> {
    let update_failed = |m: String| {
        StepError::retry(
            reason::UPDATE_FAILED,
            format!("failed to apply policies: {m}"),
        )
    };
    let root = secure_join(workdir, update_path).map_err(|e| update_failed(e.to_string()))?;
    let tree =
        ferroflux_setters::apply_tree(&root, policies, &ferroflux_setters::Options::default())
            .map_err(|e| update_failed(e.to_string()))?;
    if tree.files.is_empty() {
        return Ok(None);
    }
    let data = TemplateData {
        changes: template_changes(&tree),
        ..base.clone()
    };
    let message = ferroflux_template::render(template, &data, RenderOptions { api_version })
        .map_err(|e| match e {
            e if e.is_stalled() => StepError::stalled(e.reason(), e.to_string()),
            ferroflux_template::TemplateError::InvalidImageRef(r) => update_failed(r.to_string()),
            e => StepError::retry(e.reason(), format!("failed to update source: {e}")),
        })?;
    ferroflux_setters::write_changes(&tree).map_err(|e| update_failed(e.to_string()))?;
    Ok(Some(message))
}

fn template_changes(tree: &TreeResult) -> Vec<ferroflux_template::Change> {
    let mut out = Vec::new();
    for file in &tree.files {
        for obj in &file.objects {
            for c in &obj.changes {
                out.push(ferroflux_template::Change {
                    file: file.path.clone(),
                    object: ferroflux_template::ObjectRef {
                        api_version: obj.object.api_version.clone(),
                        kind: obj.object.kind.clone(),
                        name: obj.object.name.clone(),
                        namespace: obj.object.namespace.clone(),
                    },
                    old_value: c.old_value.clone(),
                    new_value: c.new_value.clone(),
                    setter: c.setter.clone(),
                });
            }
        }
    }
    out
}

/// cyphar/filepath-securejoin: `unsafe_path` resolved inside `root` as if
/// `root` were `/`: `..` stops at the root and symlinks (absolute or
/// relative) are followed but never lead out of it.
pub fn secure_join(root: &Path, unsafe_path: &str) -> Result<PathBuf, Error> {
    let mut pending: Vec<String> = components(unsafe_path);
    pending.reverse();
    let mut resolved: Vec<String> = Vec::new();
    let mut links = 0;
    while let Some(part) = pending.pop() {
        if part == ".." {
            resolved.pop();
            continue;
        }
        let candidate = resolved
            .iter()
            .fold(root.to_path_buf(), |p, c| p.join(c))
            .join(&part);
        match std::fs::symlink_metadata(&candidate) {
            Ok(m) if m.file_type().is_symlink() => {
                links += 1;
                if links > 255 {
                    return Err(Error::SymlinkLoop {
                        path: unsafe_path.to_string(),
                    });
                }
                let target = std::fs::read_link(&candidate).unwrap_or_default();
                let target = target.to_string_lossy().to_string();
                if target.starts_with('/') {
                    resolved.clear();
                }
                let mut more = components(&target);
                more.reverse();
                pending.extend(more);
            }
            _ => resolved.push(part),
        }
    }
    Ok(resolved.iter().fold(root.to_path_buf(), |p, c| p.join(c)))
}

fn components(path: &str) -> Vec<String> {
    Path::new(path)
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().to_string()),
            Component::ParentDir => Some("..".to_string()),
            _ => None,
        })
        .collect()
}
