//! ImagePolicy: choose the latest tag of an ImageRepository's stored tags
//! and reflect it in `status.latestRef` (image-reflector-controller's
//! `ImagePolicyReconciler`).
//!
//! Steps, in Flux's order: the interval rule of `digestReflectionPolicy:
//! Always`, the repository reference (cross-namespace refusal, existence,
//! `accessFrom`), the repository's image and provider, the policy itself,
//! the tags (none yet is a wait, not a failure), the selection, the digest.
//! Tags and digests come through [`TagSource`] and [`DigestSource`], so the
//! step is pure apart from what those adapters do.

use std::collections::BTreeMap;
use std::time::Duration;

use ferroflux_api::image::{
    ImagePolicy, ImagePolicySpec, ImagePolicyStatus, ImageRef, ImageRepository, ReflectionPolicy,
    RegistryProvider, SortOrder,
};
use ferroflux_api::meta::{AccessFrom, RECONCILE_REQUEST_ANNOTATION, reason};
use ferroflux_policy::{Choice, Policy, TagFilter};

use crate::clock::Clock;
use crate::status::{self, Event, Outcome, StepError};

mod digests;
mod kind;
pub use kind::{repository, repository_key};
#[cfg(test)]
mod tests;

/// Flux's `--requeue-dependency` default.
pub const DEFAULT_DEPENDENCY_REQUEUE: Duration = Duration::from_secs(30);
/// `spec.interval` when `digestReflectionPolicy: Always` leaves it unset.
pub const DEFAULT_ALWAYS_INTERVAL: Duration = Duration::from_secs(600);

/// What an adapter (tag database, registry) reports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("failed to read tags from database: {message}")]
    Tags { image: String, message: String },
    #[error("failed fetching descriptor for \"{reference}\": {message}")]
    Digest { reference: String, message: String },
}

/// The tags stored for a repository, keyed by its canonical image name
/// (`status.canonicalImageName`).
pub trait TagSource {
    /// `None` (or an empty list) when nothing is stored for the image.
    fn tags(&self, canonical_image: &str) -> Result<Option<Vec<String>>, Error>;
}

impl<T: TagSource + ?Sized> TagSource for &T {
    fn tags(&self, canonical_image: &str) -> Result<Option<Vec<String>>, Error> {
        (**self).tags(canonical_image)
    }
}

impl TagSource for ferroflux_store::Store {
    fn tags(&self, canonical_image: &str) -> Result<Option<Vec<String>>, Error> {
        self.get_tags(canonical_image)
            .map(|r| r.map(|r| r.tags))
            .map_err(|e| Error::Tags {
                image: canonical_image.to_string(),
                message: e.to_string(),
            })
    }
}

impl TagSource for BTreeMap<String, Vec<String>> {
    fn tags(&self, canonical_image: &str) -> Result<Option<Vec<String>>, Error> {
        Ok(self.get(canonical_image).cloned())
    }
}

/// The digest of `<spec.image>:<tag>` (a registry HEAD on the manifest),
/// with the repository's authentication. The registry adapter implements it.
pub trait DigestSource {
    fn digest(&self, repo: &ImageRepository, reference: &str) -> Result<String, Error>;
}

/// A digest source for callers that never reflect digests: every request
/// fails with a message that says so.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoDigests;

impl DigestSource for NoDigests {
    fn digest(&self, _repo: &ImageRepository, reference: &str) -> Result<String, Error> {
        Err(Error::Digest {
            reference: reference.to_string(),
            message: "no registry client configured".to_string(),
        })
    }
}

/// Controller-wide settings.
#[derive(Debug, Clone)]
pub struct PolicyOptions {
    /// Namespace name → its labels, for `accessFrom.namespaceSelectors`. A
    /// namespace that is absent has no labels.
    pub namespace_labels: BTreeMap<String, BTreeMap<String, String>>,
    /// Flux's `--no-cross-namespace-refs`.
    pub no_cross_namespace_refs: bool,
    /// Flux's `--requeue-dependency`: the wait when no tags are stored yet.
    pub dependency_requeue: Duration,
}

impl Default for PolicyOptions {
    fn default() -> Self {
        PolicyOptions {
            namespace_labels: BTreeMap::new(),
            no_cross_namespace_refs: false,
            dependency_requeue: DEFAULT_DEPENDENCY_REQUEUE,
        }
    }
}

/// The new status, when to run again, and the event to record (None only
/// for a suspended object).
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyResult {
    pub status: ImagePolicyStatus,
    pub outcome: Outcome,
    pub event: Option<Event>,
}

/// Reconcile one ImagePolicy. `repo` is the referenced ImageRepository as
/// the caller found it (None: not found).
pub fn reconcile(
    policy: &ImagePolicy,
    repo: Option<&ImageRepository>,
    tags: impl TagSource,
    digests: &dyn DigestSource,
    clock: &dyn Clock,
    opts: &PolicyOptions,
) -> PolicyResult {
    let mut status = policy.status.clone().unwrap_or_default();
    if let Some(token) = requested_at(policy) {
        status.last_handled_reconcile_at = Some(token);
    }
    if policy.spec.suspend == Some(true) {
        return PolicyResult {
            status,
            outcome: Outcome::Wait,
            event: None,
        };
    }
    let before = status.conditions.clone();
    let result = run(policy, repo, &tags, digests, opts, &mut status);
    let generation = policy.metadata.generation;
    status::finish_observed(
        &mut status.conditions,
        &mut status.observed_generation,
        generation,
        clock.now_time(),
        &result,
    );
    let trace = result.as_deref().unwrap_or_default();
    let event = status::notify(&before, &status.conditions, trace);
    PolicyResult {
        status,
        outcome: status::outcome(&result, timer(&policy.spec)),
        event: Some(event),
    }
}

fn run(
    policy: &ImagePolicy,
    repo: Option<&ImageRepository>,
    tags: &dyn TagSource,
    digests: &dyn DigestSource,
    opts: &PolicyOptions,
    status: &mut ImagePolicyStatus,
) -> Result<String, StepError> {
    check_interval(&policy.spec)?;
    let repo = resolve_repository(policy, repo, opts)?;
    check_repository(repo)?;
    let compiled = policy_from_spec(&policy.spec)
        .map_err(|e| StepError::stalled(reason::INVALID_POLICY, e.to_string()))?;
    let tags = read_tags(repo, tags, opts)?;
    let latest = select(&compiled, &tags)?;
    update_refs(policy, repo, &latest, digests, status)?;
    Ok(ready_message(status))
}

/// The timer: only `digestReflectionPolicy: Always` requeues by itself.
fn timer(spec: &ImagePolicySpec) -> Option<Duration> {
    match spec.digest_reflection_policy {
        Some(ReflectionPolicy::Always) => Some(
            spec.interval
                .map(|d| d.to_std())
                .filter(|d| !d.is_zero())
                .unwrap_or(DEFAULT_ALWAYS_INTERVAL),
        ),
        _ => None,
    }
}

fn requested_at(policy: &ImagePolicy) -> Option<String> {
    policy
        .metadata
        .annotations
        .as_ref()?
        .get(RECONCILE_REQUEST_ANNOTATION)
        .cloned()
}

fn check_interval(spec: &ImagePolicySpec) -> Result<(), StepError> {
    if spec.digest_reflection_policy == Some(ReflectionPolicy::Always) && spec.interval.is_none() {
        return Err(StepError::stalled(
            reason::INTERVAL_NOT_CONFIGURED,
            "spec.interval must be set when spec.digestReflectionPolicy is set to 'Always'",
        ));
    }
    Ok(())
}

/// Flux's `getImageRepository`: cross-namespace refusal, then existence,
/// then the repository's `accessFrom`. All retried: the namespace labels
/// that grant access are not watched.
fn resolve_repository<'r>(
    policy: &ImagePolicy,
    repo: Option<&'r ImageRepository>,
    opts: &PolicyOptions,
) -> Result<&'r ImageRepository, StepError> {
    let policy_ns = policy.metadata.namespace.clone().unwrap_or_default();
    let reference = &policy.spec.image_repository_ref;
    let repo_ns = reference
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| policy_ns.clone());
    let fail = |reason: &str, message: String| {
        StepError::retry(
            reason,
            format!("failed to get the referred ImageRepository: {message}"),
        )
    };
    if opts.no_cross_namespace_refs && repo_ns != policy_ns {
        return Err(fail(
            reason::ACCESS_DENIED,
            format!(
                "cannot access 'ImageRepository/{repo_ns}/{}', cross-namespace references have been blocked",
                reference.name
            ),
        ));
    }
    let Some(repo) = repo else {
        return Err(fail(
            reason::DEPENDENCY_NOT_READY,
            format!(
                "referenced ImageRepository does not exist: imagerepositories.image.toolkit.fluxcd.io \"{}\" not found",
                reference.name
            ),
        ));
    };
    if repo_ns != policy_ns {
        let labels = opts
            .namespace_labels
            .get(&policy_ns)
            .cloned()
            .unwrap_or_default();
        check_access(
            repo.spec.access_from.as_ref(),
            &labels,
            &repo_ns,
            &reference.name,
            &policy_ns,
        )
        .map_err(|m| fail(reason::ACCESS_DENIED, format!("access denied: {m}")))?;
    }
    Ok(repo)
}

/// fluxcd/pkg `acl.HasAccessToRef` for a reference in another namespace.
pub fn check_access(
    access_from: Option<&AccessFrom>,
    namespace_labels: &BTreeMap<String, String>,
    ref_namespace: &str,
    ref_name: &str,
    object_namespace: &str,
) -> Result<(), String> {
    let Some(acl) = access_from else {
        return Err(format!(
            "'{ref_namespace}/{ref_name}' can't be accessed due to missing ACL labels on 'accessFrom'"
        ));
    };
    let matches = acl.namespace_selectors.iter().any(|s| {
        s.match_labels
            .iter()
            .flatten()
            .all(|(k, v)| namespace_labels.get(k) == Some(v))
    });
    if matches {
        Ok(())
    } else {
        Err(format!(
            "'{ref_namespace}/{ref_name}' can't be accessed due to ACL labels mismatch on namespace '{object_namespace}'"
        ))
    }
}

/// The repository's image must be a name without scheme or tag, and a cloud
/// provider with a service account needs a feature gate ferroflux lacks.
fn check_repository(repo: &ImageRepository) -> Result<(), StepError> {
    let image = &repo.spec.image;
    if let Some((scheme, _)) = image.split_once("://") {
        return Err(StepError::stalled(
            reason::IMAGE_URL_INVALID,
            format!("image '{image}' should not include URL scheme; remove '{scheme}://'"),
        ));
    }
    // A colon in the last path component is a tag (`host:port/` is not).
    let last = image.rsplit('/').next().unwrap_or(image);
    if let Some((_, tag)) = last.split_once(':') {
        return Err(StepError::stalled(
            reason::IMAGE_URL_INVALID,
            format!("image '{image}' should not include a tag; remove ':{tag}'"),
        ));
    }
    let provider = repo.spec.provider.unwrap_or_default();
    let sa = repo
        .spec
        .service_account_name
        .as_deref()
        .is_some_and(|s| !s.is_empty());
    if provider != RegistryProvider::Generic && sa {
        return Err(StepError::stalled(
            reason::FEATURE_GATE_DISABLED,
            "to use spec.serviceAccountName in the ImageRepository for provider authentication please enable the ObjectLevelWorkloadIdentity feature gate in the controller",
        ));
    }
    Ok(())
}

/// `spec.policy` and `spec.filterTags` compiled into a selection policy
/// (Flux's `PolicerFromSpec` plus `NewRegexFilter`).
pub fn policy_from_spec(spec: &ImagePolicySpec) -> Result<Policy, ferroflux_policy::Error> {
    let order = |o: SortOrder| match o {
        SortOrder::Asc => "asc",
        SortOrder::Desc => "desc",
    };
    let choice = Choice::from_spec(
        spec.policy.semver.as_ref().map(|s| s.range.as_str()),
        spec.policy.alphabetical.as_ref().map(|a| order(a.order)),
        spec.policy.numerical.as_ref().map(|n| order(n.order)),
    )?;
    let filter = spec.filter_tags.as_ref().map(|f| TagFilter {
        pattern: f.pattern.clone(),
        extract: f.extract.clone(),
    });
    Policy::new(choice, filter)
}

fn read_tags(
    repo: &ImageRepository,
    tags: &dyn TagSource,
    opts: &PolicyOptions,
) -> Result<Vec<String>, StepError> {
    let canonical = repo
        .status
        .as_ref()
        .and_then(|s| s.canonical_image_name.as_deref())
        .unwrap_or_default();
    let found = if canonical.is_empty() {
        Vec::new()
    } else {
        tags.tags(canonical)
            .map_err(|e| StepError::retry(reason::FAILURE, e.to_string()))?
            .unwrap_or_default()
    };
    if found.is_empty() {
        let after = ferroflux_api::Duration::from_std(opts.dependency_requeue);
        return Err(StepError::waiting(
            reason::DEPENDENCY_NOT_READY,
            format!("retrying in {after} error: no tags in database"),
            opts.dependency_requeue,
        ));
    }
    Ok(found)
}

fn select(policy: &Policy, tags: &[String]) -> Result<String, StepError> {
    policy.select(tags).map(|s| s.latest).map_err(|e| {
        if e.is_invalid_policy() {
            StepError::stalled(reason::INVALID_POLICY, e.to_string())
        } else {
            StepError::retry(reason::FAILURE, e.to_string())
        }
    })
}

/// `latestRef` from the selection and the digest policy; the previous ref
/// is kept only when the ref changes.
fn update_refs(
    policy: &ImagePolicy,
    repo: &ImageRepository,
    tag: &str,
    digests: &dyn DigestSource,
    status: &mut ImagePolicyStatus,
) -> Result<(), StepError> {
    let mut latest = ImageRef {
        name: repo.spec.image.clone(),
        tag: tag.to_string(),
        digest: None,
    };
    let current = status.latest_ref.as_ref();
    let fetch = match policy.spec.digest_reflection_policy.unwrap_or_default() {
        ReflectionPolicy::Never => false,
        ReflectionPolicy::Always => true,
        ReflectionPolicy::IfNotPresent => {
            let keep = current
                .filter(|c| c.name == latest.name && c.tag == latest.tag)
                .and_then(|c| c.digest.clone())
                .filter(|d| !d.is_empty());
            latest.digest = keep;
            latest.digest.is_none()
        }
    };
    if fetch {
        let reference = latest.to_string();
        let digest = digests.digest(repo, &reference).map_err(|e| {
            StepError::retry(
                reason::FAILURE,
                format!("failed fetching digest of {reference}: {e}"),
            )
        })?;
        latest.digest = Some(digest).filter(|d| !d.is_empty());
    }
    if status.latest_ref.as_ref() != Some(&latest) {
        status.observed_previous_ref = status.latest_ref.take();
        status.latest_ref = Some(latest);
    }
    Ok(())
}

/// `Latest image tag for <name> resolved to <tag>[ with digest <d>][ (previously <prev>)]`.
pub fn ready_message(status: &ImagePolicyStatus) -> String {
    let Some(latest) = &status.latest_ref else {
        return String::new();
    };
    let mut msg = format!(
        "Latest image tag for {} resolved to {}",
        latest.name, latest.tag
    );
    if let Some(d) = latest.digest.as_deref().filter(|d| !d.is_empty()) {
        msg.push_str(&format!(" with digest {d}"));
    }
    if let Some(prev) = status
        .observed_previous_ref
        .as_ref()
        .filter(|p| *p != latest)
    {
        msg.push_str(&format!(" (previously {prev})"));
    }
    msg
}
