//! OpenSSH `known_hosts` checking for the `known_hosts` key of Flux's
//! GitRepository Secret. libgit2 only consults `~/.ssh/known_hosts`, so the
//! check runs in the `certificate_check` callback against the raw host key
//! blob libssh2 received. Supports plain patterns (`*`, `?`, `!negation`,
//! `[host]:port`), hashed names (`|1|salt|hash`, HMAC-SHA1) and `@revoked`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};

#[cfg(test)]
mod tests;

/// Errors parsing known_hosts or refusing a host key.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// A line of the known_hosts data is malformed.
    #[error("known_hosts line {line}: {reason}")]
    Parse {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// No entry names the host.
    #[error("unknown host key for '{host}' ({key_type}): the host is not in known_hosts")]
    UnknownHost {
        /// `host` or `[host]:port`.
        host: String,
        /// The key type the server presented, e.g. `ssh-ed25519`.
        key_type: String,
    },
    /// Entries name the host but none has the presented key.
    #[error(
        "host key mismatch for '{host}': the server presented a {key_type} key that does not match known_hosts"
    )]
    Mismatch {
        /// `host` or `[host]:port`.
        host: String,
        /// The key type the server presented.
        key_type: String,
    },
    /// The presented key is marked `@revoked`.
    #[error("host key for '{host}' ({key_type}) is marked @revoked in known_hosts")]
    Revoked {
        /// `host` or `[host]:port`.
        host: String,
        /// The key type the server presented.
        key_type: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Hosts {
    Patterns(Vec<String>),
    Hashed { salt: Vec<u8>, hash: Vec<u8> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    revoked: bool,
    hosts: Hosts,
    key_type: String,
    key: Vec<u8>,
}

/// Parsed known_hosts data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnownHosts {
    entries: Vec<Entry>,
}

impl KnownHosts {
    /// Parse OpenSSH known_hosts text. `@cert-authority` lines are skipped
    /// (host certificates are not supported).
    pub fn parse(text: &str) -> Result<Self, Error> {
        let mut entries = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |reason: &str| Error::Parse {
                line: i + 1,
                reason: reason.to_string(),
            };
            let mut fields = line.split_whitespace();
            let mut first = fields.next().ok_or_else(|| err("empty line"))?;
            let mut revoked = false;
            if first.starts_with('@') {
                match first {
                    "@revoked" => revoked = true,
                    "@cert-authority" => continue,
                    _ => return Err(err("unknown marker")),
                }
                first = fields.next().ok_or_else(|| err("missing host patterns"))?;
            }
            let key_type = fields.next().ok_or_else(|| err("missing key type"))?;
            let key_b64 = fields.next().ok_or_else(|| err("missing key"))?;
            let key = B64
                .decode(key_b64)
                .map_err(|_| err("key is not valid base64"))?;
            let hosts = if let Some(hashed) = first.strip_prefix("|1|") {
                let (salt, hash) = hashed
                    .split_once('|')
                    .ok_or_else(|| err("hashed host name must be |1|salt|hash"))?;
                Hosts::Hashed {
                    salt: B64
                        .decode(salt)
                        .map_err(|_| err("hashed host salt is not valid base64"))?,
                    hash: B64
                        .decode(hash)
                        .map_err(|_| err("hashed host hash is not valid base64"))?,
                }
            } else {
                Hosts::Patterns(first.split(',').map(str::to_string).collect())
            };
            entries.push(Entry {
                revoked,
                hosts,
                key_type: key_type.to_string(),
                key,
            });
        }
        Ok(KnownHosts { entries })
    }

    /// Number of entries parsed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Accept `key` (the SSH wire-format public key blob) for `host`
    /// (`host` or `[host]:port`, see `RemoteUrl::known_hosts_name`).
    pub fn check(&self, host: &str, key: &[u8]) -> Result<(), Error> {
        let key_type = key_type_of(key);
        let matching: Vec<&Entry> = self.entries.iter().filter(|e| e.matches(host)).collect();
        if matching.iter().any(|e| e.revoked && e.key == key) {
            return Err(Error::Revoked {
                host: host.to_string(),
                key_type,
            });
        }
        if matching.iter().any(|e| !e.revoked && e.key == key) {
            return Ok(());
        }
        if matching.iter().any(|e| !e.revoked) {
            Err(Error::Mismatch {
                host: host.to_string(),
                key_type,
            })
        } else {
            Err(Error::UnknownHost {
                host: host.to_string(),
                key_type,
            })
        }
    }
}

impl Entry {
    fn matches(&self, host: &str) -> bool {
        match &self.hosts {
            Hosts::Hashed { salt, hash } => {
                let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(salt) else {
                    return false;
                };
                mac.update(host.as_bytes());
                mac.verify_slice(hash).is_ok()
            }
            Hosts::Patterns(patterns) => {
                let mut matched = false;
                for p in patterns {
                    if let Some(neg) = p.strip_prefix('!') {
                        if glob(neg, host) {
                            return false;
                        }
                    } else if glob(p, host) {
                        matched = true;
                    }
                }
                matched
            }
        }
    }
}

/// OpenSSH pattern match with `*` and `?`, case-insensitive.
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let t: Vec<char> = text.to_ascii_lowercase().chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// The key type name at the start of an SSH wire-format key blob.
pub fn key_type_of(blob: &[u8]) -> String {
    if blob.len() >= 4 {
        let n = u32::from_be_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
        if let Some(name) = blob.get(4..4 + n) {
            return String::from_utf8_lossy(name).into_owned();
        }
    }
    "unknown".to_string()
}
