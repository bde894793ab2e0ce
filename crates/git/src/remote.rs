//! libgit2 remote callbacks built from [`Auth`], and the translation of
//! libgit2's terse failures into typed errors. libgit2 replaces a
//! callback's error text with its own ("invalid or unknown remote ssh
//! hostkey"), so the callbacks record what they saw in a shared
//! [`Observed`] that the caller reads after the operation.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use git2::{CertificateCheckStatus, Cred, CredentialType, ErrorClass, ErrorCode, RemoteCallbacks};

use crate::auth::Auth;
use crate::known_hosts;
use crate::url::{RemoteUrl, Scheme};
use crate::workspace::Error;

/// What the callbacks saw during one network operation.
#[derive(Debug, Default)]
pub(crate) struct Observed {
    pub host_key: Option<known_hosts::Error>,
    pub userpass_calls: u32,
    pub ssh_key_calls: u32,
    pub auth_failed: bool,
    pub rejections: Vec<(String, String)>,
    pub sideband: String,
    /// Set when a callback found the operation's deadline passed.
    pub timed_out: Option<Duration>,
}

/// When one network operation must give up (`spec.timeout`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    pub at: Instant,
    pub timeout: Duration,
}

impl Deadline {
    pub fn after(timeout: Option<Duration>) -> Option<Deadline> {
        // spec.timeout is user input: a huge one means "no deadline", not a panic.
        timeout.and_then(|timeout| {
            Instant::now()
                .checked_add(timeout)
                .map(|at| Deadline { at, timeout })
        })
    }
}

/// True (and recorded) when `deadline` has passed.
pub(crate) fn expired(deadline: Option<Deadline>, seen: &Shared) -> bool {
    match deadline {
        Some(d) if Instant::now() >= d.at => {
            seen.borrow_mut().timed_out = Some(d.timeout);
            true
        }
        _ => false,
    }
}

fn timeout_error() -> git2::Error {
    git2::Error::new(ErrorCode::GenericError, ErrorClass::Net, "timeout")
}

pub(crate) type Shared = Rc<RefCell<Observed>>;

/// Callbacks for one operation against `url`.
pub(crate) fn callbacks<'a>(
    url: &'a RemoteUrl,
    auth: &'a Auth,
    seen: &Shared,
    deadline: Option<Deadline>,
) -> RemoteCallbacks<'a> {
    let mut cbs = RemoteCallbacks::new();
    let s = seen.clone();
    cbs.credentials(move |_url, user_from_url, allowed| {
        if expired(deadline, &s) {
            return Err(timeout_error());
        }
        let mut o = s.borrow_mut();
        let user = user_from_url
            .map(str::to_string)
            .or_else(|| url.user.clone())
            .unwrap_or_else(|| "git".to_string());
        if allowed.contains(CredentialType::USERNAME) {
            return Cred::username(&user);
        }
        if allowed.contains(CredentialType::SSH_KEY)
            && let Some(id) = &auth.ssh_identity
        {
            o.ssh_key_calls += 1;
            if o.ssh_key_calls > 1 {
                o.auth_failed = true;
                return Err(auth_error("the ssh key was rejected"));
            }
            return Cred::ssh_key_from_memory(
                &user,
                None,
                &id.private_key,
                id.passphrase.as_deref(),
            );
        }
        if allowed.contains(CredentialType::USER_PASS_PLAINTEXT)
            && let Some((u, p)) = &auth.basic
        {
            o.userpass_calls += 1;
            if o.userpass_calls > 1 {
                o.auth_failed = true;
                return Err(auth_error("the username or password was rejected"));
            }
            return Cred::userpass_plaintext(u, p);
        }
        o.auth_failed = true;
        Err(auth_error(
            "the server asked for credentials that the secret does not have",
        ))
    });
    let s = seen.clone();
    cbs.certificate_check(move |cert, _host| {
        if expired(deadline, &s) {
            return Err(timeout_error());
        }
        if let Some(hk) = cert.as_hostkey() {
            if url.scheme != Scheme::Ssh {
                return Ok(CertificateCheckStatus::CertificatePassthrough);
            }
            let name = url.known_hosts_name();
            let blob = hk.hostkey().unwrap_or_default();
            let result = match &auth.known_hosts {
                Some(kh) => kh.check(&name, blob),
                None => Err(known_hosts::Error::UnknownHost {
                    host: name,
                    key_type: known_hosts::key_type_of(blob),
                }),
            };
            return match result {
                Ok(()) => Ok(CertificateCheckStatus::CertificateOk),
                Err(e) => {
                    let msg = e.to_string();
                    s.borrow_mut().host_key = Some(e);
                    Err(git2::Error::new(
                        ErrorCode::Certificate,
                        ErrorClass::Ssh,
                        msg,
                    ))
                }
            };
        }
        if let (Some(x509), Some(ca)) = (cert.as_x509(), &auth.ca_cert) {
            return match crate::tls::verify(x509.data(), ca, &url.host) {
                Ok(()) => Ok(CertificateCheckStatus::CertificateOk),
                Err(e) => Err(git2::Error::new(
                    ErrorCode::Certificate,
                    ErrorClass::Ssl,
                    e.to_string(),
                )),
            };
        }
        Ok(CertificateCheckStatus::CertificatePassthrough)
    });
    let s = seen.clone();
    cbs.push_update_reference(move |refname, status| {
        if let Some(msg) = status {
            s.borrow_mut()
                .rejections
                .push((refname.to_string(), msg.to_string()));
        }
        Ok(())
    });
    let s = seen.clone();
    cbs.sideband_progress(move |data| {
        if expired(deadline, &s) {
            return false;
        }
        let mut o = s.borrow_mut();
        if o.sideband.len() < 16 * 1024 {
            o.sideband.push_str(&String::from_utf8_lossy(data));
        }
        true
    });
    cbs
}

fn auth_error(msg: &str) -> git2::Error {
    git2::Error::new(ErrorCode::Auth, ErrorClass::Net, msg)
}

/// The `Authorization` header sent with every request of an http(s)
/// operation: the bearer token, else the Basic credentials. Sent up front so
/// that no request is answered 401 first (libgit2 otherwise asks the
/// credential callback only after each operation's first 401). The caller
/// must not follow off-site redirects while it sends this header.
pub(crate) fn headers(url: &RemoteUrl, auth: &Auth) -> Vec<String> {
    if !matches!(url.scheme, Scheme::Http | Scheme::Https) {
        return Vec::new();
    }
    if let Some(t) = auth.bearer_token.as_deref().filter(|t| !has_control(t)) {
        return vec![format!("Authorization: Bearer {t}")];
    }
    match &auth.basic {
        Some((u, p)) => {
            let pair = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
            vec![format!("Authorization: Basic {pair}")]
        }
        None => Vec::new(),
    }
}

/// A header value with CR, LF or another control character would let a
/// Secret inject headers.
fn has_control(v: &str) -> bool {
    v.chars().any(char::is_control)
}

/// Remove every credential from a message and redact the URL.
pub(crate) fn scrub(msg: &str, url: &RemoteUrl, auth: &Auth) -> String {
    let mut out = msg.replace(url.as_str(), &url.redacted());
    let mut secrets = auth.secrets();
    if let Some(p) = url.password() {
        secrets.push(p);
    }
    for s in secrets {
        out = out.replace(s, "***");
    }
    out.trim().to_string()
}

/// True when a libgit2 error came from the network side (connection,
/// credentials, certificates) rather than the local repository.
pub(crate) fn is_network(e: &git2::Error) -> bool {
    matches!(
        e.class(),
        ErrorClass::Net
            | ErrorClass::Http
            | ErrorClass::Ssh
            | ErrorClass::Ssl
            | ErrorClass::Callback
    ) || matches!(e.code(), ErrorCode::Auth | ErrorCode::Certificate)
}

/// Turn a failed fetch or connect into a typed error.
pub(crate) fn fetch_error(e: &git2::Error, url: &RemoteUrl, auth: &Auth, seen: &Shared) -> Error {
    let o = seen.borrow();
    if let Some(hk) = &o.host_key {
        return Error::HostKey {
            url: url.redacted(),
            source: hk.clone(),
        };
    }
    if let Some(timeout) = o.timed_out {
        return Error::Timeout {
            url: url.redacted(),
            timeout,
        };
    }
    let message = scrub(e.message(), url, auth);
    if o.auth_failed || e.code() == ErrorCode::Auth || looks_like_auth(&message) {
        return Error::AuthFailed {
            url: url.redacted(),
            message,
        };
    }
    if is_network(e) {
        Error::Remote {
            url: url.redacted(),
            message,
        }
    } else {
        Error::Local {
            op: "fetch",
            message,
        }
    }
}

fn looks_like_auth(msg: &str) -> bool {
    let m = msg.to_ascii_lowercase();
    m.contains("401")
        || m.contains("authentication")
        || m.contains("too many redirects or authentication replays")
}

/// Turn a failed or rejected push into a typed error.
pub(crate) fn push_error(
    e: Option<&git2::Error>,
    url: &RemoteUrl,
    auth: &Auth,
    branch: &str,
    seen: &Shared,
) -> Error {
    let o = seen.borrow();
    if let Some(hk) = &o.host_key {
        return Error::HostKey {
            url: url.redacted(),
            source: hk.clone(),
        };
    }
    if let Some(timeout) = o.timed_out {
        return Error::Timeout {
            url: url.redacted(),
            timeout,
        };
    }
    let remote_text: String = o
        .sideband
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    let mut message = match (e, o.rejections.first()) {
        (_, Some((r, m))) => format!("{r}: {m}"),
        (Some(e), None) => e.message().to_string(),
        (None, None) => "push failed".to_string(),
    };
    if !remote_text.is_empty() {
        message = format!("{message} (remote: {remote_text})");
    }
    let message = scrub(&message, url, auth);
    let lower = message.to_ascii_lowercase();
    let url = url.redacted();
    let branch = branch.to_string();
    if e.is_some_and(|e| e.code() == ErrorCode::NotFastForward)
        || [
            "non-fast-forward",
            "fetch first",
            "not present locally",
            "non-fastforwardable",
            "stale info",
        ]
        .iter()
        .any(|p| lower.contains(p))
    {
        return Error::NonFastForward {
            url,
            branch,
            message,
        };
    }
    if lower.contains("protected branch") {
        return Error::ProtectedBranch {
            url,
            branch,
            message,
        };
    }
    if [
        "read only",
        "read-only",
        "permission denied",
        "not allowed to push",
        "write access",
        "403",
        "access denied",
    ]
    .iter()
    .any(|p| lower.contains(p))
    {
        return Error::ReadOnly {
            url,
            branch,
            message,
        };
    }
    if o.auth_failed || e.is_some_and(|e| e.code() == ErrorCode::Auth) || looks_like_auth(&lower) {
        return Error::AuthFailed { url, message };
    }
    Error::PushRejected {
        url,
        branch,
        message,
    }
}

#[cfg(test)]
mod tests;
