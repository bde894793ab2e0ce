//! GitRepository (`source.toolkit.fluxcd.io/v1`): clone the ref, copy the
//! included repositories' artifacts in, archive the tree as Flux's tar.gz
//! and advertise it in `status.artifact` (source-controller,
//! `shared/docs/flux-gitops-semantics.md` §1).
//!
//! One run, as source-controller's sub-reconcilers: `storage` (garbage
//! collection, the advertised artifact still there with its digest, its
//! URL rewritten), `source` (credentials, includes available, fetch and
//! checkout through the cached clone, the revision `<ref>@sha1:<hex>`),
//! `include` (each included artifact's `fromPath` moved to `toPath`), and
//! `artifact` (archived only when the revision, `ignore`,
//! `recurseSubmodules`, `include` or an included artifact changed).
//! Blocking IO: async callers use `spawn_blocking`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use ferroflux_api::meta::{condition, reason};
use ferroflux_api::source::{Artifact, GitRepository, GitRepositoryInclude, SourceStatus};
use ferroflux_artifact::{Limits, Storage, storage};
use ferroflux_git::{Auth, CheckoutRef, Workspace, revision_string};

use crate::clock::Clock;
use crate::status::{self, Conditions, Event, EventType, Outcome, StepError};

mod kind;
#[cfg(test)]
mod tests;

pub use kind::artifact_moved;

/// Secret data as Kubernetes holds it (`data`, decoded).
pub type SecretData = BTreeMap<String, Vec<u8>>;

/// The kind as it names the storage directory (`gitrepository/...`).
pub const KIND: &str = "GitRepository";

/// Condition types of source-controller besides the shared ones.
pub mod conditions {
    pub const ARTIFACT_OUTDATED: &str = "ArtifactOutdated";
    pub const INCLUDE_UNAVAILABLE: &str = "IncludeUnavailable";
    pub const STORAGE_OPERATION_FAILED: &str = "StorageOperationFailed";
}

/// source-controller's reasons for GitRepository.
pub mod reasons {
    pub const URL_INVALID: &str = "URLInvalid";
    pub const EMPTY_GIT_REPOSITORY: &str = "EmptyGitRepository";
    pub const INVALID_PROVIDER_CONFIGURATION: &str = "InvalidProviderConfiguration";
    pub const NOT_FOUND: &str = "NotFound";
    pub const NO_ARTIFACT: &str = "NoArtifact";
    pub const NEW_REVISION: &str = "NewRevision";
    pub const INCLUDE_CHANGE: &str = "IncludeChange";
    pub const ARCHIVE_OPERATION_FAILED: &str = "ArchiveOperationFailed";
    pub const DIRECTORY_CREATION_FAILED: &str = "DirectoryCreationFailed";
    pub const ILLEGAL_PATH: &str = "IllegalPath";
    pub const COPY_FAILURE: &str = "CopyFailure";
    pub const VERIFICATION_ERROR: &str = "VerificationError";
    pub const NEW_ARTIFACT: &str = "NewArtifact";
    pub const ARTIFACT_UP_TO_DATE: &str = "ArtifactUpToDate";
}

/// Controller-wide settings (source-controller's flags).
#[derive(Debug, Clone)]
pub struct GitRepositoryOptions {
    /// Where the cached clones live: one per GitRepository
    /// (`<cache_dir>/<namespace>/<name>`), apart from the automations'.
    pub cache_dir: PathBuf,
    /// `--requeue-dependency`: retry after an include is unavailable.
    pub requeue_dependency: Duration,
    /// Bounds of one artifact (a repository is a stranger's input).
    pub limits: Limits,
    /// One network fetch shared by the GitRepositories of the same URL,
    /// credentials and ref that fetch at once (None: each fetches on its
    /// own, as source-controller does). The cached clone stays per object.
    pub fetches: Option<ferroflux_git::FetchPool>,
}

impl Default for GitRepositoryOptions {
    fn default() -> Self {
        GitRepositoryOptions {
            cache_dir: PathBuf::from("/tmp/ferroflux-source-cache"),
            requeue_dependency: Duration::from_secs(30),
            limits: Limits::default(),
            fetches: None,
        }
    }
}

/// What one run works from; the caller looked everything up.
#[derive(Debug, Clone, Copy)]
pub struct GitRepositoryInput<'a> {
    pub repository: &'a GitRepository,
    /// The `spec.secretRef` Secret (None: not found).
    pub secret: Option<&'a SecretData>,
    /// The `spec.verify.secretRef` Secret of public keys (None: not found).
    pub verify_secret: Option<&'a SecretData>,
    /// The GitRepositories of the object's namespace that `spec.include`
    /// names, by name, with their `status.artifact` (a name missing: not
    /// found; `None`: no artifact yet).
    pub included: &'a BTreeMap<String, Option<Artifact>>,
    /// Where artifacts are stored and how they are advertised.
    pub storage: &'a Storage,
}

/// The new status, when to run again, and the event.
#[derive(Debug, Clone)]
pub struct GitRepositoryResult {
    pub status: SourceStatus,
    pub outcome: Outcome,
    /// None only for a suspended object.
    pub event: Option<Event>,
}

/// How a run that did not fail ended.
enum Done {
    /// The artifact already matched revision and content configuration.
    UpToDate { revision: String },
    /// A new artifact was written; the commit's subject for the event.
    Stored { subject: String },
}

/// Reconcile one GitRepository.
pub fn reconcile(
    input: &GitRepositoryInput<'_>,
    clock: &dyn Clock,
    opts: &GitRepositoryOptions,
) -> GitRepositoryResult {
    let repo = input.repository;
    let mut st = repo.status.clone().unwrap_or_default();
    if let Some(token) = status::requested_at(&repo.metadata) {
        st.last_handled_reconcile_at = Some(token);
    }
    if repo.spec.suspend == Some(true) {
        return GitRepositoryResult {
            status: st,
            outcome: Outcome::Wait,
            event: None,
        };
    }
    let before = st.clone();
    let done = run(input, clock, opts, &mut st);
    let result = done
        .as_ref()
        .map(|_| stored_message(&st))
        .map_err(Clone::clone);
    let generation = repo.metadata.generation;
    status::finish_observed(
        &mut st.conditions,
        &mut st.observed_generation,
        generation,
        clock.now_time(),
        &result,
    );
    let interval = repo.spec.interval.to_std().max(Duration::from_secs(1));
    let event = event(&before, &st, &done);
    GitRepositoryResult {
        outcome: status::outcome(&result, Some(interval)),
        status: st,
        event: Some(event),
    }
}

/// source-controller's `reconcileDelete`: every artifact of the object
/// goes (its whole `gitrepository/<ns>/<name>` directory) and the cached
/// clone with it.
pub fn delete(
    repo: &GitRepository,
    storage: &Storage,
    opts: &GitRepositoryOptions,
) -> Result<(), StepError> {
    let (ns, name) = names(repo);
    storage.remove_all(KIND, &ns, &name).map_err(|e| {
        StepError::retry(
            "GarbageCollectionFailed",
            format!("garbage collection for deleted resource failed: {e}"),
        )
    })?;
    let clone = opts.cache_dir.join(&ns).join(&name);
    match std::fs::remove_dir_all(&clone) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StepError::retry(
            "GarbageCollectionFailed",
            format!("cannot remove the clone of '{ns}/{name}': {e}"),
        )),
    }
}

fn names(repo: &GitRepository) -> (String, String) {
    (
        repo.metadata.namespace.clone().unwrap_or_default(),
        repo.metadata.name.clone().unwrap_or_default(),
    )
}

fn stored_message(st: &SourceStatus) -> String {
    let revision = st
        .artifact
        .as_ref()
        .map(|a| a.revision.clone())
        .unwrap_or_default();
    format!("stored artifact for revision '{revision}'")
}

/// Flux's `notify`: `NewArtifact` when the digest changed, `Succeeded` on
/// recovery from a failure, a Warning on failure, otherwise a trace.
fn event(before: &SourceStatus, after: &SourceStatus, done: &Result<Done, StepError>) -> Event {
    let ready_before = status::is_true(&before.conditions, condition::READY);
    match done {
        Err(e) => Event {
            type_: EventType::Warning,
            reason: e.reason().to_string(),
            message: e.message().to_string(),
        },
        Ok(Done::Stored { subject }) => {
            let old = before.artifact.as_ref().and_then(|a| a.digest.clone());
            let new = after.artifact.as_ref().and_then(|a| a.digest.clone());
            let message = format!("stored artifact for commit '{}'", short_message(subject));
            if old != new {
                Event {
                    type_: EventType::Normal,
                    reason: reasons::NEW_ARTIFACT.to_string(),
                    message,
                }
            } else if !ready_before {
                Event {
                    type_: EventType::Normal,
                    reason: reason::SUCCEEDED.to_string(),
                    message,
                }
            } else {
                Event {
                    type_: EventType::Trace,
                    reason: reasons::ARTIFACT_UP_TO_DATE.to_string(),
                    message,
                }
            }
        }
        Ok(Done::UpToDate { revision }) => Event {
            type_: if ready_before {
                EventType::Trace
            } else {
                EventType::Normal
            },
            reason: if ready_before {
                reasons::ARTIFACT_UP_TO_DATE
            } else {
                reason::SUCCEEDED
            }
            .to_string(),
            message: if ready_before {
                format!("artifact up-to-date with remote revision: '{revision}'")
            } else {
                format!("stored artifact for commit '{revision}'")
            },
        },
    }
}

/// go-git's `Commit.ShortMessage`: the subject, cut to 50 runes + `...`.
pub fn short_message(message: &str) -> String {
    let subject = message.split('\n').next().unwrap_or_default();
    if subject.chars().count() > 50 {
        format!("{}...", subject.chars().take(50).collect::<String>())
    } else {
        subject.to_string()
    }
}

fn run(
    input: &GitRepositoryInput<'_>,
    clock: &dyn Clock,
    opts: &GitRepositoryOptions,
    st: &mut SourceStatus,
) -> Result<Done, StepError> {
    conditions_of(st, input, clock).remove(conditions::STORAGE_OPERATION_FAILED);
    reconcile_storage(input, clock, st);
    let source = reconcile_source(input, clock, opts, st)?;
    reconcile_include(input, clock, opts, &source, st)?;
    reconcile_artifact(input, clock, opts, &source, st)
}

fn conditions_of<'s>(
    st: &'s mut SourceStatus,
    input: &GitRepositoryInput<'_>,
    clock: &dyn Clock,
) -> Conditions<'s> {
    Conditions::new(
        &mut st.conditions,
        input.repository.metadata.generation,
        clock.now_time(),
    )
}

/// `reconcileStorage`: collect garbage, drop an advertised artifact that
/// is gone or whose digest no longer matches, rewrite its URL.
fn reconcile_storage(input: &GitRepositoryInput<'_>, clock: &dyn Clock, st: &mut SourceStatus) {
    let found = super::check_stored(input.storage, clock.now().into(), &mut st.artifact);
    if st.artifact.is_none() {
        let mut c = conditions_of(st, input, clock);
        c.reconciling(super::building_message(found));
        c.remove(condition::ARTIFACT_IN_STORAGE);
    }
}

/// The checked-out tree and what it resolved to.
struct Source {
    ws: Workspace,
    revision: String,
    commit: String,
    subject: String,
    included: Vec<Artifact>,
}

/// `reconcileSource`: credentials, includes, clone, revision.
fn reconcile_source(
    input: &GitRepositoryInput<'_>,
    clock: &dyn Clock,
    opts: &GitRepositoryOptions,
    st: &mut SourceStatus,
) -> Result<Source, StepError> {
    let repo = input.repository;
    let spec = &repo.spec;
    let (ns, name) = names(repo);
    let had_artifact = st.artifact.is_some();
    let verified_false = status::get(&st.conditions, condition::SOURCE_VERIFIED)
        .is_some_and(|x| x.status == "False");
    let mut c = conditions_of(st, input, clock);
    if verified_false {
        c.remove(condition::SOURCE_VERIFIED);
    }
    let fetch_failed = |c: &mut Conditions<'_>, e: StepError| {
        c.set(condition::FETCH_FAILED, true, e.reason(), e.message());
        e
    };
    for (field, set) in [
        ("spec.sparseCheckout", !spec.sparse_checkout.is_empty()),
        ("spec.proxySecretRef", spec.proxy_secret_ref.is_some()),
    ] {
        if set {
            let e = StepError::stalled(
                reason::GIT_OPERATION_FAILED,
                format!("{field} is not supported by ferroflux yet"),
            );
            return Err(fetch_failed(&mut c, e));
        }
    }
    if let Some(p) = spec
        .provider
        .as_deref()
        .filter(|p| !p.is_empty() && *p != "generic")
    {
        let e = StepError::stalled(
            reasons::INVALID_PROVIDER_CONFIGURATION,
            format!("provider '{p}' is not supported by ferroflux yet; use a secretRef"),
        );
        return Err(fetch_failed(&mut c, e));
    }
    if let Err(e) = ferroflux_git::url::RemoteUrl::parse(&spec.url) {
        let e = StepError::stalled(
            reasons::URL_INVALID,
            format!(
                "failed to parse url '{}': {e}",
                ferroflux_git::url::redact(&spec.url)
            ),
        );
        return Err(fetch_failed(&mut c, e));
    }
    let auth = match &spec.secret_ref {
        None => Auth::none(),
        Some(r) => {
            let Some(data) = input.secret else {
                let e = StepError::retry(
                    reason::AUTHENTICATION_FAILED,
                    format!(
                        "failed to get secret '{ns}/{}': secrets \"{}\" not found",
                        r.name, r.name
                    ),
                );
                return Err(fetch_failed(&mut c, e));
            };
            Auth::from_secret(data).map_err(|e| {
                fetch_failed(
                    &mut c,
                    StepError::retry(
                        reason::AUTHENTICATION_FAILED,
                        format!("failed to configure authentication options: {e}"),
                    ),
                )
            })?
        }
    };
    let included = fetch_includes(input, opts, &mut c)?;
    let recorded = repo
        .status
        .as_ref()
        .map(|s| s.included_artifacts.clone())
        .unwrap_or_default();
    if included_differ(&included, &recorded) {
        let message = "included artifacts differ from last observed includes";
        if !recorded.is_empty() {
            c.set(
                conditions::ARTIFACT_OUTDATED,
                true,
                reasons::INCLUDE_CHANGE,
                message,
            );
        }
        c.reconciling(&format!("building artifact: {message}"));
    }
    let checkout = spec
        .reference
        .as_ref()
        .map(|r| CheckoutRef {
            branch: r.branch.clone(),
            tag: r.tag.clone(),
            semver: r.semver.clone(),
            name: r.name.clone(),
            commit: r.commit.clone(),
        })
        .unwrap_or_default();
    let git_opts = ferroflux_git::Options {
        timeout: Some(spec.effective_timeout().to_std()),
        recurse_submodules: spec.recurse_submodules == Some(true),
        shared: opts.fetches.clone(),
        ..ferroflux_git::Options::default()
    };
    let cache = opts.cache_dir.join(&ns).join(&name);
    let ws =
        Workspace::open_or_clone(&cache, &spec.url, &auth, &checkout, git_opts).map_err(|e| {
            let reason = match e {
                ferroflux_git::Error::Credentials(_) | ferroflux_git::Error::AuthFailed { .. } => {
                    reason::AUTHENTICATION_FAILED
                }
                _ => reason::GIT_OPERATION_FAILED,
            };
            fetch_failed(
                &mut c,
                StepError::retry(
                    reason,
                    format!("failed to checkout and determine revision: {e}"),
                ),
            )
        })?;
    let Some(commit) = ws.checkout_commit() else {
        let e = StepError::retry(reasons::EMPTY_GIT_REPOSITORY, "git repository is empty");
        return Err(fetch_failed(&mut c, e));
    };
    c.remove(condition::FETCH_FAILED);
    let revision = match checkout.name.as_deref().filter(|n| !n.is_empty()) {
        // `commitReference`: absolute for `ref.name`.
        Some(name) => format!("{name}@sha1:{commit}"),
        None => ws
            .observed_source_revision()
            .unwrap_or_else(|| revision_string(None, &commit)),
    };
    let mode = verify_signature(input, &ws, &commit, &mut c)?;
    let subject = ws.checkout_message().unwrap_or_default();
    st.source_verification_mode = mode;
    let current = st.artifact.as_ref().map(|a| a.revision.clone());
    let mut c = conditions_of(st, input, clock);
    if current.as_deref() != Some(revision.as_str()) {
        let message = format!("new upstream revision '{revision}'");
        if had_artifact {
            c.set(
                conditions::ARTIFACT_OUTDATED,
                true,
                reasons::NEW_REVISION,
                &message,
            );
        }
        c.reconciling(&format!("building artifact: {message}"));
    }
    Ok(Source {
        ws,
        revision,
        commit,
        subject,
        included,
    })
}

/// source-controller's `verifySignature`: with `spec.verify`, the tag
/// the checkout came through (modes `Tag`, `TagAndHEAD`) and the commit
/// (`HEAD`, `TagAndHEAD`) must carry a signature that a key of the Secret
/// verifies; `SourceVerified` says which key. Returns the mode to record in
/// `status.sourceVerificationMode` (None without `spec.verify`).
fn verify_signature(
    input: &GitRepositoryInput<'_>,
    ws: &Workspace,
    commit: &str,
    c: &mut Conditions<'_>,
) -> Result<Option<String>, StepError> {
    use ferroflux_git::verify::{self, Keys, Signed};
    let Some(v) = input.repository.spec.verify.as_ref() else {
        c.remove(condition::SOURCE_VERIFIED);
        return Ok(None);
    };
    // `GetMode`: anything but the three modes is HEAD (`head` included).
    let mode = v
        .mode
        .as_deref()
        .filter(|m| matches!(*m, "Tag" | "TagAndHEAD"))
        .unwrap_or("HEAD");
    let fail = |c: &mut Conditions<'_>, e: StepError| {
        c.set(condition::SOURCE_VERIFIED, false, e.reason(), e.message());
        e
    };
    let Some(data) = input.verify_secret else {
        let name = &v.secret_ref.name;
        let e = StepError::retry(
            reasons::VERIFICATION_ERROR,
            format!("public keys secret error: secrets \"{name}\" not found"),
        );
        return Err(fail(c, e));
    };
    let keys = Keys::from_secret(data);
    // fluxcd/pkg wraps each verifier's error with what it verified.
    let wrap = |what: &str, signed: &Signed, e: verify::Error| match verify::signature_type(
        &signed.signature,
    ) {
        "openpgp" if !keys.key_rings.is_empty() => format!("unable to verify Git {what}: {e}"),
        "ssh" if !keys.authorized_keys.is_empty() => {
            format!("unable to verify Git {what} SSH signature: {e}")
        }
        _ => e.to_string(),
    };
    let git_error =
        |e: ferroflux_git::Error| StepError::retry(reasons::VERIFICATION_ERROR, e.to_string());
    let mut message = String::new();
    if mode != "HEAD" {
        let tag = match ws.signed_tag().map_err(git_error) {
            Ok(t) => t,
            Err(e) => return Err(fail(c, e)),
        };
        let Some(tag) = tag else {
            let e = StepError::stalled(
                "InvalidVerificationMode",
                "cannot verify tag object's signature if a tag reference is not specified",
            );
            return Err(fail(c, e));
        };
        let Some(signed) = tag.signed.as_ref() else {
            let e = StepError::retry(
                "InvalidGitObject",
                format!(
                    "cannot verify signature of tag '{}' since it is not signed",
                    tag.display
                ),
            );
            return Err(fail(c, e));
        };
        match verify::verify(signed, &keys) {
            Ok(key) => message.push_str(&format!(
                "verified signature of\n\t- tag '{}' with key '{key}'",
                tag.display
            )),
            Err(e) => {
                let e = StepError::retry(
                    "InvalidTagSignature",
                    format!(
                        "signature verification of tag '{}' failed: {}",
                        tag.display,
                        wrap("tag", signed, e)
                    ),
                );
                return Err(fail(c, e));
            }
        }
    }
    if mode != "Tag" {
        let signed = match ws.signed_commit().map_err(git_error) {
            Ok(s) => s.unwrap_or(Signed {
                signature: String::new(),
                payload: Vec::new(),
            }),
            Err(e) => return Err(fail(c, e)),
        };
        match verify::verify(&signed, &keys) {
            Ok(key) if message.is_empty() => message.push_str(&format!(
                "verified signature of\n\t- commit '{commit}' with key '{key}'"
            )),
            Ok(key) => message.push_str(&format!("\n\t- commit '{commit}' with key '{key}'")),
            Err(e) => {
                let e = StepError::retry(
                    "InvalidCommitSignature",
                    format!(
                        "signature verification of commit '{commit}' failed: {}",
                        wrap("commit", &signed, e)
                    ),
                );
                return Err(fail(c, e));
            }
        }
    }
    c.set(
        condition::SOURCE_VERIFIED,
        true,
        reason::SUCCEEDED,
        &message,
    );
    Ok(Some(mode.to_string()))
}

/// `artifactSet.Diff`: a different count, or any revision or digest.
fn included_differ(now: &[Artifact], recorded: &[Artifact]) -> bool {
    now.len() != recorded.len()
        || now
            .iter()
            .zip(recorded)
            .any(|(a, b)| a.revision != b.revision || a.digest != b.digest)
}

/// `fetchIncludes`: every included GitRepository exists and has an artifact.
fn fetch_includes(
    input: &GitRepositoryInput<'_>,
    opts: &GitRepositoryOptions,
    c: &mut Conditions<'_>,
) -> Result<Vec<Artifact>, StepError> {
    let mut out = Vec::new();
    for inc in &input.repository.spec.include {
        let n = &inc.repository.name;
        let e = match input.included.get(n) {
            Some(Some(a)) => {
                out.push(a.clone());
                continue;
            }
            None => StepError::waiting(
                reasons::NOT_FOUND,
                format!(
                    "could not get resource for include '{n}': gitrepositories.source.toolkit.fluxcd.io \"{n}\" not found"
                ),
                opts.requeue_dependency,
            ),
            Some(None) => StepError::waiting(
                reasons::NO_ARTIFACT,
                format!("no artifact available for include '{n}'"),
                opts.requeue_dependency,
            ),
        };
        c.set(
            conditions::INCLUDE_UNAVAILABLE,
            true,
            e.reason(),
            e.message(),
        );
        return Err(e);
    }
    c.remove(conditions::INCLUDE_UNAVAILABLE);
    Ok(out)
}

/// `GetToPath`: the repository's name when `toPath` is empty.
fn to_path(inc: &GitRepositoryInclude) -> String {
    inc.to_path
        .clone()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| inc.repository.name.clone())
}

/// `GetFromPath`: the artifact's root when empty.
fn from_path(inc: &GitRepositoryInclude) -> String {
    inc.from_path.clone().unwrap_or_default()
}

/// `reconcileInclude`: each included artifact's `fromPath` into `toPath`.
fn reconcile_include(
    input: &GitRepositoryInput<'_>,
    clock: &dyn Clock,
    opts: &GitRepositoryOptions,
    source: &Source,
    st: &mut SourceStatus,
) -> Result<(), StepError> {
    let mut c = conditions_of(st, input, clock);
    let workdir = source.ws.workdir();
    for (inc, artifact) in input.repository.spec.include.iter().zip(&source.included) {
        let name = &inc.repository.name;
        let to = crate::image::automation::secure_join(workdir, &to_path(inc)).map_err(|e| {
            let e = StepError::retry(
                reasons::ILLEGAL_PATH,
                format!("path calculation for include '{name}' failed: {e}"),
            );
            c.set(
                conditions::STORAGE_OPERATION_FAILED,
                true,
                e.reason(),
                e.message(),
            );
            e
        })?;
        input
            .storage
            .copy_to_path(&artifact.path, &from_path(inc), &to, &opts.limits)
            .map_err(|err| {
                let e = StepError::retry(
                    reasons::COPY_FAILURE,
                    format!(
                        "failed to copy '{name}' include from {} to {}: {err}",
                        from_path(inc),
                        to_path(inc)
                    ),
                );
                c.set(
                    conditions::STORAGE_OPERATION_FAILED,
                    true,
                    e.reason(),
                    e.message(),
                );
                e
            })?;
    }
    c.remove(conditions::INCLUDE_UNAVAILABLE);
    Ok(())
}

/// `gitContentConfigChanged` and the revision: whether the artifact must
/// be written again.
fn artifact_outdated(repo: &GitRepository, source: &Source, st: &SourceStatus) -> bool {
    let spec = &repo.spec;
    let Some(a) = &st.artifact else {
        return true;
    };
    a.revision != source.revision
        || spec.ignore != st.observed_ignore
        || spec.recurse_submodules.unwrap_or(false)
            != st.observed_recurse_submodules.unwrap_or(false)
        || spec.include != st.observed_include
        || spec.sparse_checkout != st.observed_sparse_checkout
        || included_differ(&source.included, &st.included_artifacts)
}

/// `reconcileArtifact`: archive to `gitrepository/<ns>/<name>/<hex>.tar.gz`
/// unless the stored artifact is current; record what it was made from.
fn reconcile_artifact(
    input: &GitRepositoryInput<'_>,
    clock: &dyn Clock,
    opts: &GitRepositoryOptions,
    source: &Source,
    st: &mut SourceStatus,
) -> Result<Done, StepError> {
    let repo = input.repository;
    let (ns, name) = names(repo);
    if !artifact_outdated(repo, source, st) {
        let mut c = conditions_of(st, input, clock);
        c.remove(conditions::ARTIFACT_OUTDATED);
        c.set(
            condition::ARTIFACT_IN_STORAGE,
            true,
            reason::SUCCEEDED,
            &format!("stored artifact for revision '{}'", source.revision),
        );
        return Ok(Done::UpToDate {
            revision: source.revision.clone(),
        });
    }
    let path = storage::artifact_path(KIND, &ns, &name, &format!("{}.tar.gz", source.commit));
    let stored = input
        .storage
        .archive(
            &path,
            source.ws.workdir(),
            repo.spec.ignore.as_deref(),
            &opts.limits,
        )
        .map_err(|err| {
            let e = StepError::retry(
                reasons::ARCHIVE_OPERATION_FAILED,
                format!("unable to archive artifact to storage: {err}"),
            );
            conditions_of(st, input, clock).set(
                conditions::STORAGE_OPERATION_FAILED,
                true,
                e.reason(),
                e.message(),
            );
            e
        })?;
    st.artifact = Some(Artifact {
        metadata: Default::default(),
        url: input.storage.url(&path),
        path,
        revision: source.revision.clone(),
        digest: Some(stored.digest),
        last_update_time: Some(clock.now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()),
        size: Some(i64::try_from(stored.size).unwrap_or(i64::MAX)),
    });
    st.included_artifacts = source.included.clone();
    st.observed_ignore = repo.spec.ignore.clone();
    st.observed_recurse_submodules = repo.spec.recurse_submodules.filter(|r| *r);
    st.observed_include = repo.spec.include.clone();
    st.observed_sparse_checkout = repo.spec.sparse_checkout.clone();
    let mut c = conditions_of(st, input, clock);
    c.remove(conditions::ARTIFACT_OUTDATED);
    c.remove(conditions::STORAGE_OPERATION_FAILED);
    c.set(
        condition::ARTIFACT_IN_STORAGE,
        true,
        reason::SUCCEEDED,
        &format!("stored artifact for revision '{}'", source.revision),
    );
    Ok(Done::Stored {
        subject: source.subject.clone(),
    })
}
