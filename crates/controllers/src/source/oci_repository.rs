//! OCIRepository (`source.toolkit.fluxcd.io/v1`): an OCI artifact pulled
//! from a registry and stored as the artifact Kustomizations and
//! HelmReleases read (source-controller v1.9.1's `OCIRepositoryReconciler`).
//!
//! Sub-reconcilers as source-controller's: `storage` (garbage collection,
//! the advertised artifact still there with its digest), `source` (the
//! `oci://` URL, credentials from the `secretRef` dockerconfigjson, TLS from
//! `certSecretRef`, the reference: `digest`, else the newest tag matching
//! `semver` (and `semverFilter`), else `tag`, else `latest`; the revision
//! `<tag>@sha256:<hex>` or `sha256:<hex>`; an unchanged revision with the
//! same `ignore` and `layerSelector` stops here; else the manifest, the
//! layer of `layerSelector.mediaType` (or the first) fetched bounded and
//! digest-checked, then extracted or kept as it is), `artifact`
//! (`ocirepository/<ns>/<name>/sha256:<hex>.tar.gz`, `latest.tar.gz`, the
//! manifest's annotations in `artifact.metadata`).
//!
//! `insecure` allows plain HTTP and, without a `certSecretRef`, skips
//! certificate verification (the one place Flux does).
//!
//! Not yet: `verify` (cosign, notation), cloud `provider`s,
//! `serviceAccountName`, `proxySecretRef`: each a clear Stalled.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use ferroflux_api::meta::{condition, reason};
use ferroflux_api::source::{Artifact, OCIRepository, SourceStatus};
use ferroflux_artifact::{Limits, Storage, storage};
use ferroflux_registry::manifest::HELM_CHART_CONTENT;
use ferroflux_registry::{Auth, Client, Descriptor, DockerConfig, ImageName, Options};

use crate::clock::Clock;
use crate::kind::SecretData;
use crate::status::{self, Conditions, Event, EventType, Outcome, StepError};

mod kind;
#[cfg(test)]
mod tests;

/// The kind as it names the storage directory (`ocirepository/...`).
pub const KIND: &str = "OCIRepository";

/// 512 MiB: the largest layer stored (Flux has no bound).
pub const MAX_LAYER_BYTES: u64 = 512 << 20;

/// source-controller's condition types and reasons of this kind.
pub mod reasons {
    pub const URL_INVALID: &str = "URLInvalid";
    pub const OCI_PULL_FAILED: &str = "OCIArtifactPullFailed";
    pub const OCI_LAYER_OPERATION_FAILED: &str = "OCIArtifactLayerOperationFailed";
    pub const ARCHIVE_OPERATION_FAILED: &str = "ArchiveOperationFailed";
    pub const VERIFICATION_ERROR: &str = "VerificationError";
    pub const NEW_REVISION: &str = "NewRevision";
    pub const NEW_ARTIFACT: &str = "NewArtifact";
    pub const ARTIFACT_UP_TO_DATE: &str = "ArtifactUpToDate";
    pub const ARTIFACT_OUTDATED: &str = "ArtifactOutdated";
    pub const STORAGE_OPERATION_FAILED: &str = "StorageOperationFailed";
}

/// What one run works from; the caller looked everything up.
#[derive(Clone, Copy)]
pub struct OciRepositoryInput<'a> {
    pub repository: &'a OCIRepository,
    /// `spec.secretRef`'s Secret, or why it could not be read.
    pub secret: Option<Result<&'a SecretData, &'a str>>,
    /// `spec.certSecretRef`'s Secret, or why it could not be read.
    pub cert_secret: Option<Result<&'a SecretData, &'a str>>,
    pub storage: &'a Storage,
    /// Registry client settings besides TLS and the timeout (tests turn
    /// the rate limit off).
    pub client: &'a Options,
}

/// The new status, when to run again, and the event.
#[derive(Debug, Clone)]
pub struct OciRepositoryResult {
    pub status: SourceStatus,
    pub outcome: Outcome,
    pub event: Option<Event>,
}

/// Reconcile one OCIRepository. Blocks on storage work: run it on a
/// blocking thread (the kind does).
pub async fn reconcile(input: &OciRepositoryInput<'_>, clock: &dyn Clock) -> OciRepositoryResult {
    let repo = input.repository;
    let mut st = repo.status.clone().unwrap_or_default();
    if let Some(token) = status::requested_at(&repo.metadata) {
        st.last_handled_reconcile_at = Some(token);
    }
    if repo.spec.suspend == Some(true) {
        return OciRepositoryResult {
            status: st,
            outcome: Outcome::Wait,
            event: None,
        };
    }
    let before = st.clone();
    let done = run(input, clock, &mut st).await;
    let result = done
        .as_ref()
        .map(|_| stored_message(&st))
        .map_err(Clone::clone);
    status::finish_observed(
        &mut st.conditions,
        &mut st.observed_generation,
        repo.metadata.generation,
        clock.now_time(),
        &result,
    );
    let event = event(&before, &st, &done, &repo.spec.url);
    OciRepositoryResult {
        outcome: status::outcome(&result, Some(interval(repo))),
        status: st,
        event: Some(event),
    }
}

/// source-controller's `reconcileDelete`: every artifact of the object.
pub fn delete(repo: &OCIRepository, storage: &Storage) -> Result<(), StepError> {
    let (ns, name) = names(repo);
    storage.remove_all(KIND, &ns, &name).map_err(|e| {
        StepError::retry(
            "GarbageCollectionFailed",
            format!("garbage collection for deleted resource failed: {e}"),
        )
    })?;
    Ok(())
}

/// The interval of an OCIRepository (at least 1s).
pub fn interval(repo: &OCIRepository) -> Duration {
    repo.spec.interval.to_std().max(Duration::from_secs(1))
}

fn names(repo: &OCIRepository) -> (String, String) {
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
    format!("stored artifact for digest '{revision}'")
}

/// How a run that did not fail ended.
#[derive(Debug)]
enum Done {
    UpToDate,
    Stored,
}

/// Flux's `notify`: `NewArtifact` when the digest changed, `Succeeded`
/// on recovery (with the origin source and revision of the annotations),
/// a Warning on failure, a trace otherwise.
fn event(
    before: &SourceStatus,
    after: &SourceStatus,
    done: &Result<Done, StepError>,
    url: &str,
) -> Event {
    if let Err(e) = done {
        return Event {
            type_: EventType::Warning,
            reason: e.reason().to_string(),
            message: e.message().to_string(),
        };
    }
    let Some(a) = after.artifact.as_ref() else {
        return Event {
            type_: EventType::Trace,
            reason: reason::SUCCEEDED.to_string(),
            message: String::new(),
        };
    };
    let mut message = format!(
        "stored artifact with revision '{}' from '{url}'",
        a.revision
    );
    if let (Some(source), Some(revision)) = (
        a.metadata.get("org.opencontainers.image.source"),
        a.metadata.get("org.opencontainers.image.revision"),
    ) && !source.is_empty()
        && !revision.is_empty()
    {
        message = format!("{message}, origin source '{source}', origin revision '{revision}'");
    }
    let old = before.artifact.as_ref().and_then(|a| a.digest.clone());
    let failed_before = [
        condition::FETCH_FAILED,
        reasons::STORAGE_OPERATION_FAILED,
        condition::STALLED,
    ]
    .iter()
    .any(|t| status::is_true(&before.conditions, t))
        || status::get(&before.conditions, condition::READY).is_some_and(|c| c.status == "False");
    if old != a.digest {
        Event {
            type_: EventType::Normal,
            reason: reasons::NEW_ARTIFACT.to_string(),
            message,
        }
    } else if failed_before {
        Event {
            type_: EventType::Normal,
            reason: reason::SUCCEEDED.to_string(),
            message,
        }
    } else {
        Event {
            type_: EventType::Trace,
            reason: reasons::ARTIFACT_UP_TO_DATE.to_string(),
            message: format!("artifact up-to-date with remote revision: '{}'", a.revision),
        }
    }
}

fn conditions_of<'s>(
    st: &'s mut SourceStatus,
    input: &OciRepositoryInput<'_>,
    clock: &dyn Clock,
) -> Conditions<'s> {
    Conditions::new(
        &mut st.conditions,
        input.repository.metadata.generation,
        clock.now_time(),
    )
}

async fn run(
    input: &OciRepositoryInput<'_>,
    clock: &dyn Clock,
    st: &mut SourceStatus,
) -> Result<Done, StepError> {
    if let Some(message) =
        super::new_generation(st.observed_generation, input.repository.metadata.generation)
    {
        conditions_of(st, input, clock).reconciling(&message);
    }
    reconcile_storage(input, clock, st);
    let source = reconcile_source(input, clock, st).await;
    let pulled = match source {
        Ok(p) => p,
        Err(e) => {
            if !matches!(e, StepError::Stalled { .. } if e.reason() == reasons::VERIFICATION_ERROR)
            {
                conditions_of(st, input, clock).set(
                    condition::FETCH_FAILED,
                    true,
                    e.reason(),
                    e.message(),
                );
            }
            return Err(e);
        }
    };
    conditions_of(st, input, clock).remove(condition::FETCH_FAILED);
    let Some(pulled) = pulled else {
        let mut c = conditions_of(st, input, clock);
        c.remove(reasons::ARTIFACT_OUTDATED);
        set_in_storage(input, clock, st);
        return Ok(Done::UpToDate);
    };
    reconcile_artifact(input, clock, pulled, st)?;
    Ok(Done::Stored)
}

/// `reconcileStorage`: collect garbage, drop an advertised artifact that
/// is gone or whose digest no longer matches, rewrite its URL.
fn reconcile_storage(input: &OciRepositoryInput<'_>, clock: &dyn Clock, st: &mut SourceStatus) {
    super::check_stored_at(
        input.storage,
        clock,
        input.repository.metadata.generation,
        &mut st.artifact,
        &mut st.url,
        &mut st.conditions,
        "latest.tar.gz",
    );
}

/// A pulled layer that differs from the stored artifact.
struct Pulled {
    revision: String,
    annotations: BTreeMap<String, String>,
    /// Holds `layer` (and, extracted, `content/`).
    dir: tempfile::TempDir,
}

impl Pulled {
    fn layer(&self) -> std::path::PathBuf {
        self.dir.path().join("layer")
    }
}

/// `spec.url` as a repository: `oci://<host>/<path>`, no tag, no digest
/// (`parseRepository`).
pub fn parse_url(url: &str, insecure: bool) -> Result<ImageName, String> {
    let format = || "URL must be in format 'oci://<domain>/<org>/<repo>'".to_owned();
    let rest = url.strip_prefix("oci://").ok_or_else(format)?;
    let path = rest.split_once('/').map_or("", |(_, p)| p);
    if let Some((_, tag)) = path.split_once(':') {
        return Err(format!("URL must not contain a tag; remove ':{tag}'"));
    }
    ImageName::parse(rest, insecure).map_err(|e| e.to_string())
}

/// The registry credentials of `spec.secretRef` (a dockerconfigjson
/// Secret), anonymous without one.
fn auth(input: &OciRepositoryInput<'_>, image: &ImageName) -> Result<Auth, StepError> {
    let repo = input.repository;
    let ns = repo.metadata.namespace.as_deref().unwrap_or_default();
    let (Some(r), Some(s)) = (&repo.spec.secret_ref, input.secret) else {
        return Ok(Auth::Anonymous);
    };
    let name = format!("{ns}/{}", r.name);
    let failed = |e: String| {
        StepError::retry(
            reason::AUTHENTICATION_FAILED,
            format!("failed to get credential: {e}"),
        )
    };
    let data = s.map_err(|e| failed(format!("failed to get secret '{name}': {e}")))?;
    DockerConfig::from_secret_data(data, &name)
        .map(|c| c.auth_for(image.registry()))
        .map_err(|e| failed(format!("secret '{name}': {e}")))
}

/// A client with `certSecretRef`'s TLS and `spec.timeout`.
fn client(input: &OciRepositoryInput<'_>) -> Result<Client, StepError> {
    let repo = input.repository;
    let ns = repo.metadata.namespace.as_deref().unwrap_or_default();
    let failed = |e: String| {
        StepError::retry(
            reason::AUTHENTICATION_FAILED,
            format!("failed to generate transport for '{}': {e}", repo.spec.url),
        )
    };
    let mut opts = input.client.clone();
    opts.timeout = repo.spec.effective_timeout().to_std();
    if let (Some(r), Some(s)) = (&repo.spec.cert_secret_ref, input.cert_secret) {
        let name = format!("{ns}/{}", r.name);
        let data = s.map_err(|e| failed(format!("failed to get secret '{name}': {e}")))?;
        opts.tls = crate::image::repository::tls_from_secret(data, &name)
            .map_err(|e| failed(e.message().to_string()))?;
    } else if repo.spec.insecure == Some(true) {
        // Flux's one exception: `insecure` without a `certSecretRef`
        // skips certificate verification.
        opts.tls.insecure_skip_verify = true;
    }
    Client::new(opts).map_err(|e| failed(e.to_string()))
}

/// What ferroflux cannot do yet, as a Stalled before anything is fetched.
fn unsupported(repo: &OCIRepository) -> Result<(), StepError> {
    let spec = &repo.spec;
    if let Some(p) = spec
        .provider
        .as_deref()
        .filter(|p| !p.is_empty() && *p != "generic")
    {
        return Err(StepError::stalled(
            reason::AUTHENTICATION_FAILED,
            format!(
                "failed to get credential from {p}: provider '{p}' is not supported by ferroflux yet; use 'generic' with a secretRef"
            ),
        ));
    }
    let not_yet = |field: &str| {
        StepError::stalled(
            reason::AUTHENTICATION_FAILED,
            format!("spec.{field} is not supported by ferroflux yet"),
        )
    };
    if spec
        .service_account_name
        .as_deref()
        .is_some_and(|s| !s.is_empty())
    {
        return Err(not_yet("serviceAccountName"));
    }
    if spec.proxy_secret_ref.is_some() {
        return Err(not_yet("proxySecretRef"));
    }
    if let Some(op) = spec
        .layer_selector
        .as_ref()
        .and_then(|l| l.operation.as_deref())
        .filter(|o| !matches!(*o, "" | "extract" | "copy"))
    {
        return Err(StepError::stalled(
            reasons::OCI_LAYER_OPERATION_FAILED,
            format!("unsupported layer operation: {op}"),
        ));
    }
    Ok(())
}

/// `getArtifactRef`: a digest, the newest tag in the semver range, the
/// tag, or `latest`.
async fn artifact_ref(
    repo: &OCIRepository,
    client: &Client,
    image: &ImageName,
    auth: &Auth,
) -> Result<String, String> {
    let r = repo.spec.reference.clone().unwrap_or_default();
    if let Some(d) = r.digest.filter(|d| !d.is_empty()) {
        return Ok(d);
    }
    if let Some(range) = r.semver.filter(|s| !s.is_empty()) {
        let tags = client
            .list_tags(image, auth)
            .await
            .map_err(|e| e.to_string())?;
        return select_semver(
            &tags,
            &range,
            r.semver_filter.as_deref().unwrap_or_default(),
            repo.spec.layer_media_type(),
        );
    }
    Ok(r.tag
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "latest".into()))
}

/// `getTagBySemver`: the newest tag (by SemVer precedence, `v` allowed)
/// matching `filter` and in `range`; Helm chart tags read `_` as `+`.
pub fn select_semver(
    tags: &[String],
    range: &str,
    filter: &str,
    media_type: &str,
) -> Result<String, String> {
    use ferroflux_policy::semver::{Constraints, try_parse_tag};
    let filter = if filter.is_empty() {
        None
    } else {
        Some(regex::Regex::new(filter).map_err(|e| e.to_string())?)
    };
    let constraints =
        Constraints::parse(range).map_err(|e| format!("semver '{range}' parse error: {e}"))?;
    let helm = media_type == HELM_CHART_CONTENT;
    let semver_of = |t: &str| {
        if helm {
            t.replace('_', "+")
        } else {
            t.to_owned()
        }
    };
    let candidates: Vec<(String, String)> = tags
        .iter()
        .filter(|t| filter.as_ref().is_none_or(|f| f.is_match(t)))
        .map(|t| (t.clone(), semver_of(t)))
        .collect();
    let mut best: Option<(&String, ferroflux_policy::semver::Version<'_>)> = None;
    for (tag, sv) in &candidates {
        let Some(v) = try_parse_tag(sv) else { continue };
        if !constraints.check(&v) {
            continue;
        }
        if best
            .as_ref()
            .is_none_or(|(_, b)| v.compare(b) == std::cmp::Ordering::Greater)
        {
            best = Some((tag, v));
        }
    }
    best.map(|(t, _)| t.clone())
        .ok_or_else(|| format!("no match found for semver: {range}"))
}

/// `reconcileSource`: credentials, reference, revision; the layer pulled
/// when the stored artifact does not hold this revision (or `ignore` or
/// `layerSelector` moved). None: up to date.
async fn reconcile_source(
    input: &OciRepositoryInput<'_>,
    clock: &dyn Clock,
    st: &mut SourceStatus,
) -> Result<Option<Pulled>, StepError> {
    let repo = input.repository;
    let url = &repo.spec.url;
    unsupported(repo)?;
    let image = parse_url(url, repo.spec.insecure == Some(true)).map_err(|e| {
        StepError::stalled(
            reasons::URL_INVALID,
            format!("URL validation failed for '{url}': {e}"),
        )
    })?;
    let auth = auth(input, &image)?;
    let client = client(input)?;
    let reference = artifact_ref(repo, &client, &image, &auth)
        .await
        .map_err(|e| {
            StepError::retry(
                reason::READ_OPERATION_FAILED,
                format!("failed to determine the artifact tag for '{url}': {e}"),
            )
        })?;
    let pull_failed =
        |what: &str, e: String| StepError::retry(reasons::OCI_PULL_FAILED, format!("{what}: {e}"));
    let manifest = client
        .get_manifest(&image, &reference, &auth)
        .await
        .map_err(|e| pull_failed("failed to determine artifact digest", e.to_string()))?;
    let revision = if reference.contains(':') {
        manifest.digest.clone()
    } else {
        format!("{reference}@{}", manifest.digest)
    };
    let current = st.artifact.as_ref().map(|a| a.revision.clone());
    if repo.spec.verify.is_some() {
        let provider = repo
            .spec
            .verify
            .as_ref()
            .and_then(|v| v.get("provider"))
            .and_then(|p| p.as_str())
            .unwrap_or("cosign")
            .to_owned();
        let e = StepError::stalled(
            reasons::VERIFICATION_ERROR,
            format!(
                "failed to verify the signature using provider '{provider}': signature verification is not supported by ferroflux yet"
            ),
        );
        conditions_of(st, input, clock).set(
            condition::SOURCE_VERIFIED,
            false,
            e.reason(),
            e.message(),
        );
        return Err(e);
    }
    conditions_of(st, input, clock).remove(condition::SOURCE_VERIFIED);
    let changed = content_config_changed(repo, st);
    if current.as_deref() == Some(revision.as_str()) && !changed {
        return Ok(None);
    }
    let message = format!(
        "new revision '{revision}' for '{}:{}'",
        image.canonical(),
        reference
    );
    let message = if reference.contains(':') {
        message.replacen(&format!(":{reference}"), &format!("@{reference}"), 1)
    } else {
        message
    };
    {
        let had = st.artifact.is_some();
        let mut c = conditions_of(st, input, clock);
        if had && current.as_deref() != Some(revision.as_str()) {
            c.set(
                reasons::ARTIFACT_OUTDATED,
                true,
                reasons::NEW_REVISION,
                &message,
            );
        }
        c.reconciling(&format!("building artifact: {message}"));
    }
    let manifest = if manifest.is_index() {
        let entry = manifest.default_platform().ok_or_else(|| {
            pull_failed(
                &format!("failed to pull artifact from '{url}'"),
                "no matching manifest for platform linux/amd64 in the index".into(),
            )
        })?;
        client
            .get_manifest(&image, &entry.digest, &auth)
            .await
            .map_err(|e| {
                pull_failed(
                    &format!("failed to pull artifact from '{url}'"),
                    e.to_string(),
                )
            })?
    } else {
        manifest
    };
    let layer = select_layer(repo, &manifest.layers)
        .map_err(|m| StepError::retry(reasons::OCI_LAYER_OPERATION_FAILED, m))?;
    let dir = tempfile::Builder::new()
        .prefix("ferroflux-oci-")
        .tempdir()
        .map_err(|e| {
            StepError::retry(
                "DirCreationFailed",
                format!("failed to create temporary working directory: {e}"),
            )
        })?;
    let pulled = Pulled {
        revision,
        annotations: manifest.annotations.clone(),
        dir,
    };
    let mut file = std::fs::File::create(pulled.layer()).map_err(|e| {
        StepError::retry(
            reasons::OCI_LAYER_OPERATION_FAILED,
            format!("failed to create file to copy layer to: {e}"),
        )
    })?;
    client
        .get_blob(&image, layer, MAX_LAYER_BYTES, &auth, &mut file)
        .await
        .map_err(|e| {
            pull_failed(
                &format!("failed to pull artifact from '{url}'"),
                e.to_string(),
            )
        })?;
    Ok(Some(pulled))
}

/// `selectLayer`: the layer of `layerSelector.mediaType`, else the first.
fn select_layer<'m>(
    repo: &OCIRepository,
    layers: &'m [Descriptor],
) -> Result<&'m Descriptor, String> {
    if layers.is_empty() {
        return Err("no layers found in artifact".to_owned());
    }
    let media_type = repo.spec.layer_media_type();
    if media_type.is_empty() {
        return Ok(&layers[0]);
    }
    layers
        .iter()
        .find(|l| l.media_type == media_type)
        .ok_or_else(|| format!("failed to find layer with media type '{media_type}' in artifact"))
}

/// `ociContentConfigChanged`: `ignore` or `layerSelector` moved since the
/// stored artifact.
fn content_config_changed(repo: &OCIRepository, st: &SourceStatus) -> bool {
    repo.spec.ignore != st.observed_ignore || repo.spec.layer_selector != st.observed_layer_selector
}

fn set_in_storage(input: &OciRepositoryInput<'_>, clock: &dyn Clock, st: &mut SourceStatus) {
    let message = stored_message(st);
    conditions_of(st, input, clock).set(
        condition::ARTIFACT_IN_STORAGE,
        true,
        reason::SUCCEEDED,
        &message,
    );
}

/// `reconcileArtifact`: the layer extracted and archived with `ignore`
/// (and `.sourceignore` files), or copied as it is, at
/// `ocirepository/<ns>/<name>/sha256:<hex>.tar.gz`; `latest.tar.gz`.
fn reconcile_artifact(
    input: &OciRepositoryInput<'_>,
    clock: &dyn Clock,
    pulled: Pulled,
    st: &mut SourceStatus,
) -> Result<(), StepError> {
    let repo = input.repository;
    let (ns, name) = names(repo);
    let digest = pulled
        .revision
        .rsplit('@')
        .next()
        .unwrap_or(&pulled.revision);
    let path = storage::artifact_path(KIND, &ns, &name, &format!("{digest}.tar.gz"));
    let stored = match repo.spec.layer_operation() {
        "copy" => store_copy(input.storage, &path, &pulled.layer()),
        _ => store_extracted(input.storage, &path, &pulled, repo.spec.ignore.as_deref()),
    };
    let stored = stored.map_err(|(reason, message)| {
        let e = StepError::retry(reason, message);
        if reason == reasons::ARCHIVE_OPERATION_FAILED {
            conditions_of(st, input, clock).set(
                reasons::STORAGE_OPERATION_FAILED,
                true,
                e.reason(),
                e.message(),
            );
        } else {
            conditions_of(st, input, clock).set(
                condition::FETCH_FAILED,
                true,
                e.reason(),
                e.message(),
            );
        }
        e
    })?;
    st.artifact = Some(Artifact {
        url: input.storage.url(&path),
        path: path.clone(),
        revision: pulled.revision.clone(),
        digest: Some(stored.digest),
        last_update_time: Some(clock.now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()),
        size: Some(i64::try_from(stored.size).unwrap_or(i64::MAX)),
        metadata: pulled.annotations.clone(),
    });
    st.observed_ignore = repo.spec.ignore.clone();
    st.observed_layer_selector = repo.spec.layer_selector.clone();
    if let Ok(url) = input.storage.symlink(&path, "latest.tar.gz") {
        st.url = Some(url);
    }
    let mut c = conditions_of(st, input, clock);
    c.remove(reasons::ARTIFACT_OUTDATED);
    c.remove(reasons::STORAGE_OPERATION_FAILED);
    set_in_storage(input, clock, st);
    Ok(())
}

type StoreError = (&'static str, String);

fn store_copy(
    storage: &Storage,
    path: &str,
    layer: &Path,
) -> Result<ferroflux_artifact::Stored, StoreError> {
    storage.copy_from_path(path, layer).map_err(|e| {
        (
            reasons::ARCHIVE_OPERATION_FAILED,
            format!("unable to copy artifact to storage: {e}"),
        )
    })
}

fn store_extracted(
    storage: &Storage,
    path: &str,
    pulled: &Pulled,
    ignore: Option<&str>,
) -> Result<ferroflux_artifact::Stored, StoreError> {
    let content = pulled.dir.path().join("content");
    let limits = Limits::default();
    ferroflux_artifact::archive::unpack_tar_gz(&pulled.layer(), &content, &limits).map_err(
        |e| {
            (
                reasons::OCI_LAYER_OPERATION_FAILED,
                format!("failed to extract layer contents from artifact: {e}"),
            )
        },
    )?;
    storage
        .archive(path, &content, ignore, &limits)
        .map_err(|e| {
            (
                reasons::ARCHIVE_OPERATION_FAILED,
                format!("unable to archive artifact to storage: {e}"),
            )
        })
}

/// A chart of a `type: oci` HelmRepository, as a HelmChart pulls it
/// (source-controller's `OCIChartRepository`).
#[derive(Debug, Clone)]
pub struct ChartPull {
    /// The repository URL, `oci://<host>/<path>` (normalised).
    pub url: String,
    pub chart: String,
    /// A version, or a semver range (`*` when empty).
    pub version: String,
    /// Resolve the version only: no manifest or blob is fetched.
    pub download: bool,
    pub insecure: bool,
    pub auth: Auth,
    pub options: Options,
    /// Bytes of the chart layer at most.
    pub max_bytes: u64,
}

/// What [`pull_chart`] found: the chart's version (tags with `_` read as
/// `+`) and, when downloaded, its package and manifest digest.
#[derive(Debug, Clone, Default)]
pub struct PulledChart {
    pub version: String,
    pub data: Option<Vec<u8>>,
    pub digest: Option<String>,
}

/// Why a chart could not be pulled: `reference` for a version that cannot
/// be resolved, `auth` for a 401/403 or a TLS refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartPullError {
    pub message: String,
    pub reference: bool,
    pub auth: bool,
}

fn is_auth(e: &ferroflux_registry::RegistryError) -> bool {
    use ferroflux_registry::RegistryError as E;
    match e {
        E::Status { status, .. } => matches!(status.as_u16(), 401 | 403),
        E::Tls { .. } | E::TlsConfig { .. } => true,
        _ => false,
    }
}

/// `GetChartVersion` then `DownloadChart`: an exact version is the tag
/// (`+` as `_`); a range is matched against the repository's tags (an
/// exact tag first, then the highest in range); the chart layer
/// (`application/vnd.cncf.helm.chart.content.v1.tar+gzip`) is fetched
/// bounded and digest-checked.
pub async fn pull_chart(p: &ChartPull) -> Result<PulledChart, ChartPullError> {
    let reference = |message: String| ChartPullError {
        message,
        reference: true,
        auth: false,
    };
    let chart_url = format!("{}/{}", p.url.trim_end_matches('/'), p.chart);
    let image = parse_url(&chart_url, p.insecure)
        .map_err(|e| reference(format!("invalid chart URL format '{chart_url}': {e}")))?;
    let client = Client::new(p.options.clone()).map_err(|e| ChartPullError {
        message: e.to_string(),
        reference: false,
        auth: true,
    })?;
    let version =
        if ferroflux_policy::semver::try_parse_tag(&p.version).is_some() {
            p.version.clone()
        } else {
            let tags = client.list_tags(&image, &p.auth).await.map_err(|e| ChartPullError {
            auth: is_auth(&e),
            ..reference(format!(
                "could not get tags for \"{}\": could not fetch tags for \"{chart_url}\": {e}",
                p.chart
            ))
        })?;
            if tags.is_empty() {
                return Err(reference(format!(
                    "unable to locate any tags in provided repository: {}",
                    p.chart
                )));
            }
            let tags: Vec<String> = tags.iter().map(|t| t.replace('_', "+")).collect();
            last_matching_version(&tags, &p.version).map_err(reference)?
        };
    if !p.download {
        return Ok(PulledChart {
            version,
            ..PulledChart::default()
        });
    }
    let tag = version.replace('+', "_");
    let pull = |e: String, auth: bool| ChartPullError {
        message: format!("failed to get '{chart_url}:{version}': {e}"),
        reference: false,
        auth,
    };
    let manifest = client
        .get_manifest(&image, &tag, &p.auth)
        .await
        .map_err(|e| pull(e.to_string(), is_auth(&e)))?;
    let layer = manifest
        .layers
        .iter()
        .find(|l| l.media_type == HELM_CHART_CONTENT)
        .ok_or_else(|| {
            pull(
                format!("manifest does not contain a layer with mediatype {HELM_CHART_CONTENT}"),
                false,
            )
        })?;
    let mut data = Vec::new();
    client
        .get_blob(&image, layer, p.max_bytes, &p.auth, &mut data)
        .await
        .map_err(|e| pull(e.to_string(), is_auth(&e)))?;
    Ok(PulledChart {
        version,
        data: Some(data),
        digest: Some(manifest.digest),
    })
}

/// `getLastMatchingVersionOrConstraint`: an exact tag, else the highest
/// version in the range (`*` for an empty one).
pub fn last_matching_version(tags: &[String], version: &str) -> Result<String, String> {
    use ferroflux_policy::semver::{Constraints, try_parse_tag};
    if !version.is_empty()
        && let Some(t) = tags.iter().find(|t| *t == version)
    {
        return Ok(t.clone());
    }
    let range = if version.is_empty() { "*" } else { version };
    let constraints = Constraints::parse(range).map_err(|e| e.to_string())?;
    let mut best: Option<(&String, ferroflux_policy::semver::Version<'_>)> = None;
    for tag in tags {
        let Some(v) = try_parse_tag(tag) else {
            continue;
        };
        if constraints.check(&v)
            && best
                .as_ref()
                .is_none_or(|(_, b)| v.compare(b) == std::cmp::Ordering::Greater)
        {
            best = Some((tag, v));
        }
    }
    best.map(|(t, _)| t.clone()).ok_or_else(|| {
        format!("could not locate a version matching provided version string {version}")
    })
}

/// The registry credentials of an OCI HelmRepository's `secretRef`: a
/// dockerconfigjson Secret, or `username` and `password`.
pub fn helm_repository_auth(
    data: &SecretData,
    secret: &str,
    registry: &str,
) -> Result<Auth, String> {
    if data.contains_key(".dockerconfigjson") {
        return DockerConfig::from_secret_data(data, secret)
            .map(|c| c.auth_for(registry))
            .map_err(|e| e.to_string());
    }
    let text = |k: &str| data.get(k).map(|v| String::from_utf8_lossy(v).into_owned());
    match (text("username"), text("password")) {
        (Some(username), Some(password)) => Ok(Auth::Basic { username, password }),
        (None, None) => Ok(Auth::Anonymous),
        _ => Err(format!(
            "secret '{secret}': malformed basic auth - both 'username' and 'password' are required"
        )),
    }
}
