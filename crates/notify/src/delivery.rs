//! Sending: a bounded queue that a reconciler offers jobs to without ever
//! waiting, and workers that send each job with retries and backoff
//! (Flux's retryablehttp client: 4 retries, 2–30 s exponential backoff,
//! connection errors, 429 and 5xx retried), all within the Provider's
//! `timeout`. Every outcome is reported (the runtime turns failures into
//! Flux's `NotificationDispatchFailed` events); a full queue drops the job
//! with a log line.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::sync::{Semaphore, mpsc};

use crate::event::Event;
use crate::payload::{self, ApiBases, Check, Method, Plan, Request};
use crate::target::{Target, TargetError};

/// How the notifier queues and retries.
#[derive(Clone, Debug)]
pub struct NotifierOptions {
    /// Jobs waiting to be sent; an offer beyond is dropped.
    pub queue: usize,
    /// Jobs sent at once (a Provider that is down holds only its own).
    pub concurrency: usize,
    /// Retries after the first attempt (retryablehttp's `RetryMax`).
    pub retry_max: u32,
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    pub bases: ApiBases,
    pub user_agent: String,
    /// Response bodies are read up to this many bytes (hostile servers).
    pub max_response: usize,
}

impl Default for NotifierOptions {
    fn default() -> Self {
        NotifierOptions {
            queue: 1024,
            concurrency: 8,
            retry_max: 4,
            backoff_min: Duration::from_secs(2),
            backoff_max: Duration::from_secs(30),
            bases: ApiBases::default(),
            user_agent: "ferroflux-notification".into(),
            max_response: 1 << 20,
        }
    }
}

/// One event for one Provider, the metadata already combined.
#[derive(Clone, Debug)]
pub struct Job {
    /// `<namespace>/<name>` of the Alert that matched.
    pub alert: String,
    pub target: Target,
    pub event: Event,
}

/// What became of a job. `error` never holds a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub alert: String,
    pub provider: String,
    /// `<Kind>/<namespace>/<name>` of the event's object.
    pub involved: String,
    pub attempts: u32,
    pub error: Option<String>,
}

impl Report {
    /// Flux's Warning event message on the Alert for a failed send.
    pub fn dispatch_failed_message(&self) -> Option<String> {
        self.error
            .as_ref()
            .map(|e| format!("failed to send notification for {}: {e}", self.involved))
    }
}

type OnReport = Arc<dyn Fn(Report) + Send + Sync>;

/// The queue's sending end; cheap to clone.
#[derive(Clone)]
pub struct Notifier {
    tx: mpsc::Sender<Job>,
    dropped: Arc<AtomicUsize>,
    /// Jobs offered and not yet reported.
    pending: Arc<AtomicUsize>,
}

impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notifier")
            .field("dropped", &self.dropped())
            .finish()
    }
}

impl Notifier {
    /// Start the workers on the current tokio runtime. `on_report` is
    /// called from a worker after each job.
    pub fn start(opts: NotifierOptions, on_report: OnReport) -> Notifier {
        let (tx, mut rx) = mpsc::channel::<Job>(opts.queue.max(1));
        let pending: Arc<AtomicUsize> = Arc::default();
        let done = pending.clone();
        let opts = Arc::new(opts);
        let slots = Arc::new(Semaphore::new(opts.concurrency.max(1)));
        tokio::spawn(async move {
            while let Some(job) = rx.recv().await {
                let Ok(permit) = slots.clone().acquire_owned().await else {
                    break;
                };
                let opts = opts.clone();
                let on_report = on_report.clone();
                let done = done.clone();
                tokio::spawn(async move {
                    let report = deliver(&job, &opts).await;
                    if let Some(e) = &report.error {
                        tracing::warn!(alert = %report.alert, provider = %report.provider,
                            attempts = report.attempts, "failed to send notification for {}: {e}",
                            report.involved);
                    } else {
                        tracing::debug!(alert = %report.alert, provider = %report.provider,
                            "notification sent for {}", report.involved);
                    }
                    on_report(report);
                    done.fetch_sub(1, Ordering::Relaxed);
                    drop(permit);
                });
            }
        });
        Notifier {
            tx,
            dropped: Arc::default(),
            pending,
        }
    }

    /// Queue `job` without waiting; false (and a log line) when the queue
    /// is full or the workers are gone.
    pub fn offer(&self, job: Job) -> bool {
        self.pending.fetch_add(1, Ordering::Relaxed);
        match self.tx.try_send(job) {
            Ok(()) => true,
            Err(e) => {
                self.pending.fetch_sub(1, Ordering::Relaxed);
                self.dropped.fetch_add(1, Ordering::Relaxed);
                let job = match e {
                    mpsc::error::TrySendError::Full(j) | mpsc::error::TrySendError::Closed(j) => j,
                };
                tracing::warn!(alert = %job.alert, provider = %job.target.provider,
                    "notification queue full: dropped the event of {}/{}/{}",
                    job.event.involved_object.kind, job.event.involved_object.namespace,
                    job.event.involved_object.name);
                false
            }
        }
    }

    /// Jobs offered and not yet sent or given up.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::Relaxed)
    }

    /// Wait until every offered job is reported, at most `max` (a one-shot
    /// run ends after its notifications); false when some are left.
    pub async fn settle(&self, max: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + max;
        while self.pending() > 0 {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }

    /// Jobs dropped so far because the queue was full.
    pub fn dropped(&self) -> usize {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// Send one job now (what a worker does), within the Provider's timeout.
pub async fn deliver(job: &Job, opts: &NotifierOptions) -> Report {
    let o = &job.event.involved_object;
    let mut report = Report {
        alert: job.alert.clone(),
        provider: job.target.provider.clone(),
        involved: format!("{}/{}/{}", o.kind, o.namespace, o.name),
        attempts: 0,
        error: None,
    };
    let attempts = AtomicUsize::new(0);
    let sent = tokio::time::timeout(
        job.target.timeout,
        send(&job.target, &job.event, opts, &attempts),
    )
    .await;
    report.attempts = u32::try_from(attempts.load(Ordering::Relaxed)).unwrap_or(u32::MAX);
    let error = match sent {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e),
        Err(_) => Some(format!(
            "postMessage failed: context deadline exceeded after {:?} ({} attempt(s))",
            job.target.timeout, report.attempts
        )),
    };
    report.error = error.map(|e| job.target.mask(&e));
    report
}

async fn send(
    t: &Target,
    e: &Event,
    opts: &NotifierOptions,
    attempts: &AtomicUsize,
) -> Result<(), String> {
    let plan = payload::build(t, e, &opts.bases).map_err(|e| setup_error(t, &e))?;
    let client = client(t, opts).map_err(|e| setup_error(t, &e))?;
    match plan {
        Plan::Nothing => Ok(()),
        Plan::One(r) => call(&client, &r, opts, attempts)
            .await
            .map(|_| ())
            .map_err(|e| format!("postMessage failed: {e}")),
        Plan::CommitStatus {
            list,
            post,
            duplicate,
        } => {
            let listed = call(&client, &list, opts, attempts)
                .await
                .map_err(|e| format!("could not list commit statuses: {e}"))?;
            if duplicate.found_in(&listed) {
                return Ok(());
            }
            call(&client, &post, opts, attempts)
                .await
                .map(|_| ())
                .map_err(|e| format!("could not create commit status: {e}"))
        }
    }
}

fn setup_error(t: &Target, e: &TargetError) -> String {
    format!(
        "failed to initialize notifier for provider '{}': {e}",
        t.provider
    )
}

/// One request with retryablehttp's policy; the response body on success.
async fn call(
    client: &reqwest::Client,
    r: &Request,
    opts: &NotifierOptions,
    attempts: &AtomicUsize,
) -> Result<Vec<u8>, String> {
    let method = match r.method {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
    };
    let mut attempt: u32 = 0;
    loop {
        attempts.fetch_add(1, Ordering::Relaxed);
        let mut req = client.request(method.clone(), &r.url);
        for (k, v) in &r.headers {
            req = req.header(k, v);
        }
        if !r.body.is_empty() || r.method != Method::Get {
            req = req.body(r.body.clone());
        }
        let (retry, wait, error) = match req.send().await {
            Ok(resp) => {
                let status = resp.status();
                let retry_after = resp
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                let body = read_bounded(resp, opts.max_response).await;
                let ok = status.is_success()
                    || (r.check == Check::SuccessOrNotFound && status == StatusCode::NOT_FOUND);
                if ok {
                    if status == StatusCode::NOT_FOUND {
                        return Ok(Vec::new());
                    }
                    if r.check == Check::SlackOk {
                        slack_ok(&body)?;
                    }
                    return Ok(body);
                }
                let retry = status == StatusCode::TOO_MANY_REQUESTS
                    || (status.is_server_error() && status != StatusCode::NOT_IMPLEMENTED);
                let wait = retry_after.filter(|_| {
                    status == StatusCode::TOO_MANY_REQUESTS
                        || status == StatusCode::SERVICE_UNAVAILABLE
                });
                let text = String::from_utf8_lossy(&body[..body.len().min(512)]).into_owned();
                (
                    retry,
                    wait,
                    format!(
                        "request failed with status code {}: {text}",
                        status.as_u16()
                    ),
                )
            }
            Err(e) => {
                // A request that cannot be built (a Secret header with a
                // newline) or a refused certificate fails the same way
                // again: not retried, as retryablehttp does not.
                let builder = e.is_builder();
                let detail = error_chain(&e.without_url());
                let tls = detail.contains("certificate") || detail.contains("UnknownIssuer");
                (
                    !tls && !builder,
                    None,
                    format!("failed to execute request: {detail}"),
                )
            }
        };
        if !retry || attempt >= opts.retry_max {
            if retry {
                return Err(format!(
                    "giving up after {} attempt(s): {error}",
                    attempt + 1
                ));
            }
            return Err(error);
        }
        let backoff = wait.unwrap_or_else(|| {
            opts.backoff_min
                .saturating_mul(1u32.checked_shl(attempt).unwrap_or(u32::MAX))
                .min(opts.backoff_max)
        });
        tracing::debug!(
            attempt = attempt + 1,
            "notification send failed, retrying in {backoff:?}: {error}"
        );
        tokio::time::sleep(backoff).await;
        attempt += 1;
    }
}

async fn read_bounded(mut resp: reqwest::Response, max: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        let room = max.saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if out.len() >= max {
            break;
        }
    }
    out
}

fn slack_ok(body: &[u8]) -> Result<(), String> {
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(default)]
        ok: bool,
        #[serde(default)]
        error: String,
    }
    let a: Answer = serde_json::from_slice(body)
        .map_err(|e| format!("unable to unmarshal response body: {e}"))?;
    if a.ok {
        Ok(())
    } else {
        Err(format!("Slack responded with error: {}", a.error))
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        let text = err.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = err.source();
    }
    parts.join(": ")
}

/// A client with the Provider's TLS material and proxy.
fn client(t: &Target, opts: &NotifierOptions) -> Result<reqwest::Client, TargetError> {
    let mut b = reqwest::Client::builder()
        .tls_backend_preconfigured(tls_config(t)?)
        .user_agent(opts.user_agent.clone());
    if let Some(p) = &t.proxy {
        let mut proxy = reqwest::Proxy::all(&p.url)
            .map_err(|_| TargetError::Invalid("unable to parse proxy URL".into()))?;
        if !p.username.is_empty() || !p.password.is_empty() {
            proxy = proxy.basic_auth(&p.username, &p.password);
        }
        b = b.proxy(proxy);
    }
    b.build()
        .map_err(|e| TargetError::Invalid(format!("building the HTTP client: {}", error_chain(&e))))
}

fn system_roots() -> &'static rustls::RootCertStore {
    static ROOTS: std::sync::OnceLock<rustls::RootCertStore> = std::sync::OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        roots
    })
}

fn tls_config(t: &Target) -> Result<rustls::ClientConfig, TargetError> {
    let tls_err = |detail: String| TargetError::Tls {
        secret: t.provider.clone(),
        detail,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = system_roots().clone();
    let material = t.tls.clone().unwrap_or_default();
    if let Some(pem) = &material.ca_pem {
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| tls_err(format!("ca.crt: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| tls_err(format!("ca.crt: {e}")))?;
            added += 1;
        }
        if added == 0 {
            return Err(tls_err("ca.crt: no PEM certificate found".into()));
        }
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err(e.to_string()))?
        .with_root_certificates(roots);
    match (&material.cert_pem, &material.key_pem) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_slice_iter(cert)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| tls_err(format!("tls.crt: {e}")))?;
            // Only that the key is unreadable, never its bytes.
            let key = PrivateKeyDer::from_pem_slice(key)
                .map_err(|_| tls_err("tls.key: unreadable PEM private key".into()))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| tls_err(format!("tls.crt: {e}")))
        }
        _ => Ok(builder.with_no_client_auth()),
    }
}

#[cfg(test)]
mod tests;
