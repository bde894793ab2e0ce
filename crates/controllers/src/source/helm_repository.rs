//! HelmRepository (`source.toolkit.fluxcd.io/v1`): fetch a chart
//! repository's `index.yaml` on the interval and store it as the artifact
//! HelmCharts read (source-controller v1.9.1, helm-semantics.md §9.1).
//!
//! `type: default`, as source-controller's sub-reconcilers: `storage`
//! (garbage collection, the advertised artifact still there with its
//! digest, its URL rewritten), `source` (the URL, credentials from
//! `secretRef` and `certSecretRef`, `<url>/index.yaml` fetched within
//! `timeout` and 50 MiB; the revision `sha256:<hex>` of the raw bytes; an
//! unchanged revision stops here; else the index is loaded as Flux loads
//! it), `artifact` (`index-<hex>.yaml` holding the index as indented JSON,
//! the `index.yaml` link in `status.url`). `type: oci` is a static object
//! since v1.9: no artifact, no conditions, nothing fetched.
//!
//! Blocking IO (the fetch is handed in): async callers use
//! `spawn_blocking`.

use std::time::Duration;

use ferroflux_api::meta::{condition, reason};
use ferroflux_api::source::{Artifact, HelmRepository, HelmRepositoryType, SourceStatus};
use ferroflux_artifact::http::{BasicAuth, HttpError, HttpOptions, TlsMaterial, redact};
use ferroflux_artifact::{Storage, storage};
use ferroflux_helm::repo::{Index, MAX_INDEX_SIZE, revision};

use crate::clock::Clock;
use crate::kind::SecretData;
use crate::status::{self, Conditions, Event, EventType, Outcome, StepError};

mod kind;
pub use kind::STATIC_MESSAGE;
#[cfg(test)]
mod tests;

/// The kind as it names the storage directory (`helmrepository/...`).
pub const KIND: &str = "HelmRepository";

/// source-controller's condition types and reasons of this kind.
pub mod reasons {
    pub const URL_INVALID: &str = "URLInvalid";
    pub const INDEXATION_FAILED: &str = "IndexationFailed";
    pub const ARCHIVE_OPERATION_FAILED: &str = "ArchiveOperationFailed";
    pub const NEW_REVISION: &str = "NewRevision";
    pub const NEW_ARTIFACT: &str = "NewArtifact";
    pub const ARTIFACT_UP_TO_DATE: &str = "ArtifactUpToDate";
    pub const ARTIFACT_OUTDATED: &str = "ArtifactOutdated";
    pub const STORAGE_OPERATION_FAILED: &str = "StorageOperationFailed";
}

/// Fetches a URL: `http::get` on the runtime in production, a table in
/// unit tests.
pub type Fetch<'a> = &'a (dyn Fn(&str, &HttpOptions) -> Result<Vec<u8>, HttpError> + Sync);

/// What one run works from; the caller looked everything up.
#[derive(Clone, Copy)]
pub struct HelmRepositoryInput<'a> {
    pub repository: &'a HelmRepository,
    /// `spec.secretRef`'s Secret, or why it could not be read.
    pub secret: Option<Result<&'a SecretData, &'a str>>,
    /// `spec.certSecretRef`'s Secret, or why it could not be read.
    pub cert_secret: Option<Result<&'a SecretData, &'a str>>,
    pub storage: &'a Storage,
}

/// The new status, when to run again, and the event.
#[derive(Debug, Clone)]
pub struct HelmRepositoryResult {
    pub status: SourceStatus,
    pub outcome: Outcome,
    pub event: Option<Event>,
}

/// Credentials and TLS of a HelmRepository for requests to `url` (its
/// normalised URL): source-controller's `GetClientOpts`. `certSecretRef`
/// wins over the TLS keys of `secretRef` (deprecated there).
pub fn client_options(
    repo: &HelmRepository,
    secret: Option<Result<&SecretData, &str>>,
    cert_secret: Option<Result<&SecretData, &str>>,
    url: &str,
) -> Result<HttpOptions, StepError> {
    let ns = repo.metadata.namespace.clone().unwrap_or_default();
    let mut opts = HttpOptions {
        credentials_url: url.to_string(),
        pass_credentials: repo.spec.pass_credentials == Some(true),
        timeout: repo.spec.effective_timeout().to_std(),
        max_bytes: MAX_INDEX_SIZE as u64,
        ..HttpOptions::default()
    };
    let auth = |m: String| StepError::retry(reason::AUTHENTICATION_FAILED, m);
    if let (Some(r), Some(s)) = (&repo.spec.cert_secret_ref, cert_secret) {
        let data = s.map_err(|e| {
            auth(format!(
                "failed to get TLS authentication secret '{ns}/{}': {e}",
                r.name
            ))
        })?;
        opts.tls = tls_material(data, false);
        if opts.tls.is_empty() {
            return Err(auth(format!(
                "failed to construct Helm client's TLS config: secret '{ns}/{}' has none of 'ca.crt', 'tls.crt', 'tls.key'",
                r.name
            )));
        }
    }
    if let (Some(r), Some(s)) = (&repo.spec.secret_ref, secret) {
        let data = s.map_err(|e| {
            auth(format!(
                "failed to get authentication secret '{ns}/{}': {e}",
                r.name
            ))
        })?;
        let text = |k: &str| data.get(k).map(|v| String::from_utf8_lossy(v).into_owned());
        match (text("username"), text("password")) {
            (Some(username), Some(password)) => {
                opts.basic_auth = Some(BasicAuth { username, password })
            }
            (None, None) => {}
            (u, _) => {
                let (has, missing) = if u.is_some() {
                    ("username", "password")
                } else {
                    ("password", "username")
                };
                return Err(auth(format!(
                    "failed to detect authentication methods: secret '{ns}/{}': malformed basic auth - has '{has}' but missing '{missing}'",
                    r.name
                )));
            }
        }
        if opts.tls.is_empty() {
            opts.tls = tls_material(data, true);
        }
    }
    Ok(opts)
}

/// `ca.crt`, `tls.crt`, `tls.key` (and, in a `secretRef`, the deprecated
/// `caFile`, `certFile`, `keyFile`).
fn tls_material(data: &SecretData, legacy: bool) -> TlsMaterial {
    let get = |k: &str, old: &str| {
        data.get(k)
            .or_else(|| legacy.then(|| data.get(old)).flatten())
            .cloned()
    };
    TlsMaterial {
        ca_pem: get("ca.crt", "caFile"),
        cert_pem: get("tls.crt", "certFile"),
        key_pem: get("tls.key", "keyFile"),
    }
}

/// Helm's `NormalizeURL`: no trailing slash, `oci://` kept.
pub fn normalize_url(url: &str) -> Result<String, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("parse \"{}\": {e}", redact(url)))?;
    if !matches!(parsed.scheme(), "http" | "https" | "oci") {
        return Err(format!(
            "scheme \"{}\" not supported (http, https, oci)",
            parsed.scheme()
        ));
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// `<url>/index.yaml`, the path joined as Go's `path.Join` does.
fn index_url(url: &str) -> Result<String, String> {
    let mut u = url::Url::parse(url).map_err(|e| format!("parse \"{}\": {e}", redact(url)))?;
    let path = format!("{}/index.yaml", u.path().trim_end_matches('/'));
    u.set_path(&path);
    Ok(u.to_string())
}

/// Reconcile one HelmRepository.
pub fn reconcile(
    input: &HelmRepositoryInput<'_>,
    clock: &dyn Clock,
    fetch: Fetch<'_>,
) -> HelmRepositoryResult {
    let repo = input.repository;
    let mut st = repo.status.clone().unwrap_or_default();
    if repo.spec.repo_type == Some(HelmRepositoryType::Oci) {
        // `migrationToStatic`: artifacts go, the status is emptied.
        let (ns, name) = names(repo);
        let _ = input.storage.remove_all(KIND, &ns, &name);
        return HelmRepositoryResult {
            status: SourceStatus::default(),
            outcome: Outcome::Wait,
            event: None,
        };
    }
    if let Some(token) = status::requested_at(&repo.metadata) {
        st.last_handled_reconcile_at = Some(token);
    }
    if repo.spec.suspend == Some(true) {
        return HelmRepositoryResult {
            status: st,
            outcome: Outcome::Wait,
            event: None,
        };
    }
    let before = st.clone();
    let done = run(input, clock, fetch, &mut st);
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
    let interval = repo.spec.effective_interval().to_std();
    let event = event(&before, &st, &done, &repo.spec.url);
    HelmRepositoryResult {
        outcome: status::outcome(&result, Some(interval)),
        status: st,
        event: Some(event),
    }
}

/// source-controller's `reconcileDelete`: every artifact of the object.
pub fn delete(repo: &HelmRepository, storage: &Storage) -> Result<(), StepError> {
    let (ns, name) = names(repo);
    storage.remove_all(KIND, &ns, &name).map_err(|e| {
        StepError::retry(
            "GarbageCollectionFailed",
            format!("garbage collection for deleted resource failed: {e}"),
        )
    })?;
    Ok(())
}

fn names(repo: &HelmRepository) -> (String, String) {
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
    format!("stored artifact: revision '{revision}'")
}

/// How a run that did not fail ended.
#[derive(Debug)]
enum Done {
    UpToDate,
    Stored,
}

/// Flux's `notify`: `NewArtifact` when the digest changed, `Succeeded` on
/// recovery, a Warning on failure, a trace otherwise.
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
    let size = after
        .artifact
        .as_ref()
        .and_then(|a| a.size)
        .map_or("unknown size".to_string(), |s| {
            format!("size {}", human_size(s as f64))
        });
    let message = format!("stored fetched index of {size} from '{}'", redact(url));
    let old = before.artifact.as_ref().and_then(|a| a.digest.clone());
    let new = after.artifact.as_ref().and_then(|a| a.digest.clone());
    let failed_before = [
        condition::FETCH_FAILED,
        reasons::STORAGE_OPERATION_FAILED,
        condition::STALLED,
    ]
    .iter()
    .any(|t| status::is_true(&before.conditions, t))
        || status::get(&before.conditions, condition::READY).is_some_and(|c| c.status == "False");
    if old != new {
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
        let revision = after
            .artifact
            .as_ref()
            .map(|a| a.revision.clone())
            .unwrap_or_default();
        Event {
            type_: EventType::Trace,
            reason: reasons::ARTIFACT_UP_TO_DATE.to_string(),
            message: format!("artifact up-to-date with remote revision: '{revision}'"),
        }
    }
}

/// docker/go-units `HumanSize`: decimal units, 4 significant digits
/// (`%.4g`), no space (`1.234kB`).
pub fn human_size(mut size: f64) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut i = 0;
    while size >= 1000.0 && i < UNITS.len() - 1 {
        size /= 1000.0;
        i += 1;
    }
    format!(
        "{}{}",
        ferroflux_template::format_g(size, Some(4)),
        UNITS[i]
    )
}

fn conditions_of<'s>(
    st: &'s mut SourceStatus,
    input: &HelmRepositoryInput<'_>,
    clock: &dyn Clock,
) -> Conditions<'s> {
    Conditions::new(
        &mut st.conditions,
        input.repository.metadata.generation,
        clock.now_time(),
    )
}

fn run(
    input: &HelmRepositoryInput<'_>,
    clock: &dyn Clock,
    fetch: Fetch<'_>,
    st: &mut SourceStatus,
) -> Result<Done, StepError> {
    if let Some(message) =
        super::new_generation(st.observed_generation, input.repository.metadata.generation)
    {
        conditions_of(st, input, clock).reconciling(&message);
    }
    reconcile_storage(input, clock, st);
    let Some(fetched) = reconcile_source(input, clock, fetch, st)? else {
        conditions_of(st, input, clock).remove(reasons::ARTIFACT_OUTDATED);
        set_in_storage(input, clock, st);
        return Ok(Done::UpToDate);
    };
    reconcile_artifact(input, clock, &fetched, st)?;
    Ok(Done::Stored)
}

/// `reconcileStorage`: collect garbage, drop an advertised artifact that
/// is gone or whose digest no longer matches, rewrite its URLs.
fn reconcile_storage(input: &HelmRepositoryInput<'_>, clock: &dyn Clock, st: &mut SourceStatus) {
    super::check_stored_at(
        input.storage,
        clock,
        input.repository.metadata.generation,
        &mut st.artifact,
        &mut st.url,
        &mut st.conditions,
        "index.yaml",
    );
}

/// A fetched index that differs from the stored artifact.
struct Fetched {
    revision: String,
    index: Index,
}

/// `reconcileSource`: URL, credentials, fetch, revision; None when the
/// stored artifact already holds this revision.
fn reconcile_source(
    input: &HelmRepositoryInput<'_>,
    clock: &dyn Clock,
    fetch: Fetch<'_>,
    st: &mut SourceStatus,
) -> Result<Option<Fetched>, StepError> {
    let repo = input.repository;
    let had_artifact = st.artifact.is_some();
    let current = st.artifact.as_ref().map(|a| a.revision.clone());
    let mut c = conditions_of(st, input, clock);
    let fetch_failed = |c: &mut Conditions<'_>, e: StepError| {
        c.set(condition::FETCH_FAILED, true, e.reason(), e.message());
        e
    };
    if repo.spec.url.starts_with("oci://") {
        let e = StepError::stalled(
            reasons::URL_INVALID,
            "invalid Helm repository URL: 'oci' URL scheme cannot be used with 'default' HelmRepository type",
        );
        return Err(fetch_failed(&mut c, e));
    }
    let url = normalize_url(&repo.spec.url)
        .and_then(|u| index_url(&u).map(|i| (u, i)))
        .map_err(|e| {
            StepError::stalled(
                reasons::URL_INVALID,
                format!("invalid Helm repository URL: {e}"),
            )
        });
    let (url, index) = match url {
        Ok(u) => u,
        Err(e) => return Err(fetch_failed(&mut c, e)),
    };
    if let Some(p) = repo
        .spec
        .provider
        .as_deref()
        .filter(|p| !p.is_empty() && *p != "generic")
    {
        let e = StepError::stalled(
            "InvalidProviderConfiguration",
            format!("provider '{p}' is only used with 'oci' HelmRepositories"),
        );
        return Err(fetch_failed(&mut c, e));
    }
    let opts = match client_options(repo, input.secret, input.cert_secret, &url) {
        Ok(o) => o,
        Err(e) => return Err(fetch_failed(&mut c, e)),
    };
    let raw = match fetch(&index, &opts) {
        Ok(raw) => raw,
        Err(e) => {
            let e = StepError::retry(
                reason::FAILED,
                format!(
                    "failed to fetch Helm repository index: failed to cache index to temporary file: {}",
                    index_error(&e)
                ),
            );
            return Err(fetch_failed(&mut c, e));
        }
    };
    let revision = revision(&raw);
    if current.as_deref() == Some(revision.as_str()) {
        c.remove(condition::FETCH_FAILED);
        return Ok(None);
    }
    let index = Index::load(&raw).map_err(|e| {
        let line = e.line.map(|l| format!(" (line {l})")).unwrap_or_default();
        fetch_failed(
            &mut c,
            StepError::retry(
                reasons::INDEXATION_FAILED,
                format!(
                    "failed to load Helm repository from index YAML: failed to load index: {}{line}",
                    e.message
                ),
            ),
        )
    })?;
    c.remove(condition::FETCH_FAILED);
    let message = format!("new index revision '{revision}'");
    if had_artifact {
        c.set(
            reasons::ARTIFACT_OUTDATED,
            true,
            reasons::NEW_REVISION,
            &message,
        );
    }
    c.reconciling(&format!("building artifact: {message}"));
    Ok(Some(Fetched { revision, index }))
}

/// The fetch error as Helm's `DownloadIndex` reports it (the size bound
/// in its words).
fn index_error(e: &HttpError) -> String {
    match e {
        HttpError::TooLarge { .. } => {
            format!("index exceeds the maximum index file size of {MAX_INDEX_SIZE} bytes")
        }
        other => other.to_string(),
    }
}

fn set_in_storage(input: &HelmRepositoryInput<'_>, clock: &dyn Clock, st: &mut SourceStatus) {
    let message = stored_message(st);
    conditions_of(st, input, clock).set(
        condition::ARTIFACT_IN_STORAGE,
        true,
        reason::SUCCEEDED,
        &message,
    );
}

/// `reconcileArtifact`: the index as indented JSON at
/// `helmrepository/<ns>/<name>/index-<hex>.yaml`, and the link.
fn reconcile_artifact(
    input: &HelmRepositoryInput<'_>,
    clock: &dyn Clock,
    fetched: &Fetched,
    st: &mut SourceStatus,
) -> Result<(), StepError> {
    let (ns, name) = names(input.repository);
    let hex = fetched
        .revision
        .strip_prefix("sha256:")
        .unwrap_or(&fetched.revision);
    let path = storage::artifact_path(KIND, &ns, &name, &format!("index-{hex}.yaml"));
    let json = fetched.index.to_json();
    let stored = input.storage.write(&path, json.as_bytes()).map_err(|err| {
        let e = StepError::retry(
            reasons::ARCHIVE_OPERATION_FAILED,
            format!("unable to save artifact to storage: {err}"),
        );
        conditions_of(st, input, clock).set(
            reasons::STORAGE_OPERATION_FAILED,
            true,
            e.reason(),
            e.message(),
        );
        e
    })?;
    st.artifact = Some(Artifact {
        metadata: Default::default(),
        url: input.storage.url(&path),
        path: path.clone(),
        revision: fetched.revision.clone(),
        digest: Some(stored.digest),
        last_update_time: Some(clock.now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()),
        size: Some(i64::try_from(stored.size).unwrap_or(i64::MAX)),
    });
    // Best effort, as Flux (a trace event there).
    if let Ok(url) = input.storage.symlink(&path, "index.yaml") {
        st.url = Some(url);
    }
    let mut c = conditions_of(st, input, clock);
    c.remove(reasons::ARTIFACT_OUTDATED);
    c.remove(reasons::STORAGE_OPERATION_FAILED);
    set_in_storage(input, clock, st);
    Ok(())
}

/// The interval of a HelmRepository (1m when unset).
pub fn interval(repo: &HelmRepository) -> Duration {
    repo.spec
        .effective_interval()
        .to_std()
        .max(Duration::from_secs(1))
}
