//! ImageRepository: decide whether to scan, list the registry's tags, drop
//! the excluded ones, store them and report the scan exactly as Flux's
//! image-reflector-controller does (flux-image-api.md §1).
//!
//! ```text
//! let image = parse_image(&obj.spec)?;                 // Stalled ImageURLInvalid
//! let decision = should_scan(&obj, &image, ..)?;       // Failure
//! let tags = scan(&image, auth, cx).await?;            // ReadOperationFailed
//! let tags = exclude(&tags, &exclusion_list)?;         // ReadOperationFailed
//! let revision = store_tags(cx.store, &image, ..)?;    // ReadOperationFailed
//! ```
//!
//! Credentials are resolved by the caller (from `secretRef` through
//! [`auth_from_secret`], TLS from `certSecretRef` into the client's
//! options), so the steps do not care where Secrets live.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ferroflux_api::image::{ImageRepository, ImageRepositoryStatus, ScanResult};
use ferroflux_api::meta::{RECONCILE_REQUEST_ANNOTATION, condition, reason};
use ferroflux_registry::{Auth, Client, DockerConfig, ImageName, TlsOptions};
use ferroflux_store::Store;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::clock::Clock;
use crate::status::{Conditions, Outcome, StepError, finish};

/// How many tags `lastScanResult.latestTags` shows.
pub const LATEST_TAGS: usize = 10;

/// Called after each page of a scan (a terminal shows it for long scans).
pub type ScanProgress = dyn Fn(&ImageName, ferroflux_registry::Progress) + Send + Sync;

/// What a reconcile needs besides the object.
pub struct Context<'a> {
    pub client: &'a Client,
    pub store: &'a Arc<Store>,
    pub clock: &'a dyn Clock,
    pub progress: Option<&'a ScanProgress>,
    /// Scan although the interval has not elapsed: a one-shot run
    /// (`ferroflux automate --once`) is an explicit request.
    pub force: bool,
}

/// Why a scan happens (Flux's `shouldScan` reasons, in its order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanReason {
    FirstScan,
    ReconcileRequested,
    NewImageName,
    UpdatedExclusionList,
    NoTagsInDatabase,
    TriggeredByInterval,
    /// Not Flux's: a one-shot run asked for every repository.
    OneShotRun,
}

impl ScanReason {
    pub fn as_str(self) -> &'static str {
        match self {
            ScanReason::FirstScan => "first scan",
            ScanReason::ReconcileRequested => "reconcile requested",
            ScanReason::NewImageName => "new image name",
            ScanReason::UpdatedExclusionList => "updated exclusion list",
            ScanReason::NoTagsInDatabase => "no tags in database",
            ScanReason::TriggeredByInterval => "triggered by interval",
            ScanReason::OneShotRun => "one-shot run",
        }
    }
}

/// The scan decision: scan now, or not before this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Scan(ScanReason),
    NotBefore(Duration),
}

/// The new status and what the runtime does next.
#[derive(Debug, Clone, PartialEq)]
pub struct Reconciled {
    pub status: ImageRepositoryStatus,
    pub outcome: Outcome,
    /// Why a scan ran; `None` when none was due (or it failed before).
    pub scanned: Option<ScanReason>,
}

/// Basic credentials from a `kubernetes.io/dockerconfigjson` Secret's data
/// for the image's registry (`AuthenticationFailed` when unreadable).
pub fn auth_from_secret(
    data: &BTreeMap<String, Vec<u8>>,
    secret: &str,
    image: &ImageName,
) -> Result<Auth, StepError> {
    DockerConfig::from_secret_data(data, secret)
        .map(|config| config.auth_for(image.registry()))
        .map_err(|e| {
            StepError::retry(
                reason::AUTHENTICATION_FAILED,
                format!("failed to configure authentication options: secret '{secret}': {e}"),
            )
        })
}

/// Reconcile one ImageRepository. Never fails: failures end up in the
/// conditions and the outcome.
pub async fn reconcile(obj: &ImageRepository, auth: &Auth, cx: &Context<'_>) -> Reconciled {
    let mut status = obj.status.clone().unwrap_or_default();
    let now = cx.clock.now_time();
    let generation = obj.metadata.generation;
    if obj.spec.suspend == Some(true) {
        return Reconciled {
            status,
            outcome: Outcome::Wait,
            scanned: None,
        };
    }
    let mut scanned = None;
    let result = run_steps(obj, auth, cx, &mut status, &mut scanned).await;
    let outcome = match &result {
        Ok(next) => Outcome::RequeueAfter(*next),
        Err(e) => crate::status::outcome(&Err(e.clone()), None),
    };
    let ready = result.map(|_| ready_message(&status));
    if !matches!(
        ready,
        Err(StepError::Retry { .. } | StepError::Waiting { .. })
    ) {
        status.observed_generation = generation;
    }
    finish(&mut status.conditions, generation, now, &ready);
    Reconciled {
        status,
        outcome,
        scanned,
    }
}

/// The steps; returns when to come back.
async fn run_steps(
    obj: &ImageRepository,
    auth: &Auth,
    cx: &Context<'_>,
    status: &mut ImageRepositoryStatus,
    scanned: &mut Option<ScanReason>,
) -> Result<Duration, StepError> {
    let image = parse_image(obj)?;
    let exclusions = obj.spec.effective_exclusion_list();
    let decision = should_scan(obj, status, &image, &exclusions, cx)?;
    let interval = obj.spec.interval.to_std();
    let reason = match decision {
        Decision::NotBefore(wait) => {
            // The annotation was already handled; only record it.
            return Ok(wait);
        }
        Decision::Scan(reason) => reason,
    };
    Conditions::new(
        &mut status.conditions,
        obj.metadata.generation,
        cx.clock.now_time(),
    )
    .reconciling(&format!("scanning: {}", reason.as_str()));
    let patterns = compile_exclusions(&exclusions)?;
    let timeout = obj.spec.effective_timeout().to_std();
    let tags = scan(&image, auth, cx.client, timeout, cx.progress).await?;
    let tags = exclude(tags, &patterns);
    let scan_time = cx.clock.now_time();
    let revision = store_tags(cx.store, &image, &tags, &scan_time).await?;
    *scanned = Some(reason);
    status.canonical_image_name = Some(image.canonical());
    status.observed_exclusion_list = exclusions;
    status.last_scan_result = Some(ScanResult {
        revision: Some(revision),
        tag_count: i64::try_from(tags.len()).unwrap_or(i64::MAX),
        scan_time: Some(scan_time),
        latest_tags: latest_tags(&tags),
    });
    if let Some(requested) = requested_at(obj) {
        status.last_handled_reconcile_at = Some(requested.to_owned());
    }
    Ok(interval)
}

/// TLS settings from a `certSecretRef` Secret (`name` is `namespace/name`,
/// for messages): `ca.crt` trusted next to the system roots, `tls.crt` and
/// `tls.key` (both or neither) for mTLS; the deprecated `caFile`,
/// `certFile` and `keyFile` keys when the new ones are absent.
pub fn tls_from_secret(
    data: &BTreeMap<String, Vec<u8>>,
    name: &str,
) -> Result<TlsOptions, StepError> {
    let get = |key: &str, old: &str| {
        data.get(key)
            .or_else(|| {
                let v = data.get(old);
                if v.is_some() {
                    tracing::warn!(
                        secret = name,
                        "certSecretRef key '{old}' is deprecated, use '{key}'"
                    );
                }
                v
            })
            .filter(|v| !v.is_empty())
            .cloned()
    };
    let ca = get("ca.crt", "caFile");
    let cert = get("tls.crt", "certFile");
    let key = get("tls.key", "keyFile");
    if cert.is_some() != key.is_some() {
        return Err(StepError::stalled(
            reason::AUTHENTICATION_FAILED,
            format!(
                "failed to configure TLS from secret '{name}': tls.crt and tls.key must be set together"
            ),
        ));
    }
    if ca.is_none() && cert.is_none() {
        return Err(StepError::stalled(
            reason::AUTHENTICATION_FAILED,
            format!(
                "failed to configure TLS from secret '{name}': none of ca.crt, tls.crt and tls.key is set"
            ),
        ));
    }
    Ok(TlsOptions {
        ca_pem: ca,
        client_cert_pem: cert,
        client_key_pem: key,
        no_system_roots: false,
        insecure_skip_verify: false,
    })
}

/// `spec.image` as a registry name (`insecure` allows plain HTTP).
pub fn parse_image(obj: &ImageRepository) -> Result<ImageName, StepError> {
    ImageName::parse(&obj.spec.image, obj.spec.insecure == Some(true))
        .map_err(|e| StepError::stalled(reason::IMAGE_URL_INVALID, e.to_string()))
}

fn requested_at(obj: &ImageRepository) -> Option<&str> {
    obj.metadata
        .annotations
        .as_ref()?
        .get(RECONCILE_REQUEST_ANNOTATION)
        .map(String::as_str)
}

/// Flux's `shouldScan`, in its order.
pub fn should_scan(
    obj: &ImageRepository,
    status: &ImageRepositoryStatus,
    image: &ImageName,
    exclusions: &[String],
    cx: &Context<'_>,
) -> Result<Decision, StepError> {
    let Some(last) = &status.last_scan_result else {
        return Ok(Decision::Scan(ScanReason::FirstScan));
    };
    if let Some(requested) = requested_at(obj)
        && status.last_handled_reconcile_at.as_deref() != Some(requested)
    {
        return Ok(Decision::Scan(ScanReason::ReconcileRequested));
    }
    if status.canonical_image_name.as_deref() != Some(image.canonical().as_str()) {
        return Ok(Decision::Scan(ScanReason::NewImageName));
    }
    let wanted: BTreeSet<&String> = exclusions.iter().collect();
    let observed: BTreeSet<&String> = status.observed_exclusion_list.iter().collect();
    if wanted != observed {
        return Ok(Decision::Scan(ScanReason::UpdatedExclusionList));
    }
    let stored = cx.store.get_tags(&image.canonical()).map_err(|e| {
        StepError::retry(
            reason::FAILURE,
            format!("failed to determine if it's scan time: {e}"),
        )
    })?;
    if stored.is_none_or(|r| r.tags.is_empty()) && last.tag_count > 0 {
        return Ok(Decision::Scan(ScanReason::NoTagsInDatabase));
    }
    if cx.force {
        return Ok(Decision::Scan(ScanReason::OneShotRun));
    }
    let interval = obj.spec.interval.to_std();
    let elapsed = last
        .scan_time
        .as_ref()
        .and_then(|t| Duration::try_from(cx.clock.now().duration_since(t.0)).ok())
        .unwrap_or(interval);
    let remaining = interval.saturating_sub(elapsed);
    if remaining < Duration::from_secs(1) {
        return Ok(Decision::Scan(ScanReason::TriggeredByInterval));
    }
    Ok(Decision::NotBefore(remaining))
}

/// The exclusion regexes (Go RE2 semantics: unanchored match).
pub fn compile_exclusions(list: &[String]) -> Result<Vec<regex::Regex>, StepError> {
    list.iter()
        .map(|p| {
            regex::Regex::new(p).map_err(|e| {
                StepError::retry(
                    reason::READ_OPERATION_FAILED,
                    format!("scan failed: failed to compile regex {p}: {e}"),
                )
            })
        })
        .collect()
}

/// List every tag of the repository within `timeout`.
pub async fn scan(
    image: &ImageName,
    auth: &Auth,
    client: &Client,
    timeout: Duration,
    progress: Option<&ScanProgress>,
) -> Result<Vec<String>, StepError> {
    client
        .with_timeout(timeout)
        .list_tags_with_progress(image, auth, |p| {
            if let Some(report) = progress {
                report(image, p);
            }
        })
        .await
        .map_err(|e| StepError::retry(reason::READ_OPERATION_FAILED, format!("scan failed: {e}")))
}

/// Drop the tags matching any exclusion regex.
pub fn exclude(tags: Vec<String>, patterns: &[regex::Regex]) -> Vec<String> {
    tags.into_iter()
        .filter(|t| !patterns.iter().any(|p| p.is_match(t)))
        .collect()
}

/// Store the tags under the canonical name; returns the revision.
pub async fn store_tags(
    store: &Arc<Store>,
    image: &ImageName,
    tags: &[String],
    scan_time: &Time,
) -> Result<String, StepError> {
    let store = Arc::clone(store);
    let name = image.canonical();
    let tags = tags.to_vec();
    let at = SystemTime::from(scan_time.0);
    let failed = |detail: String| {
        StepError::retry(
            reason::READ_OPERATION_FAILED,
            format!(
                "scan failed: failed to set tags for \"{}\": {detail}",
                image.canonical()
            ),
        )
    };
    tokio::task::spawn_blocking(move || store.put_tags(&name, &tags, at))
        .await
        .map_err(|e| failed(e.to_string()))?
        .map_err(|e| failed(e.to_string()))
}

/// The first [`LATEST_TAGS`] tags after a stable, descending, byte-order sort.
pub fn latest_tags(tags: &[String]) -> Vec<String> {
    let mut sorted: Vec<&String> = tags.iter().collect();
    sorted.sort_by(|a, b| b.as_bytes().cmp(a.as_bytes()));
    sorted.into_iter().take(LATEST_TAGS).cloned().collect()
}

/// `successful scan: found <N> tags with checksum <revision>`.
pub fn ready_message(status: &ImageRepositoryStatus) -> String {
    let (count, revision) = status
        .last_scan_result
        .as_ref()
        .map(|r| (r.tag_count, r.revision.clone().unwrap_or_default()))
        .unwrap_or_default();
    format!("successful scan: found {count} tags with checksum {revision}")
}

/// True when the object's status says it is ready.
pub fn is_ready(status: &ImageRepositoryStatus) -> bool {
    crate::status::is_true(&status.conditions, condition::READY)
}

mod kind;
pub use kind::registry_auth;
#[cfg(test)]
mod tests;
