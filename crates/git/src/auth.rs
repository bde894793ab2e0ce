//! Credentials from the data of a Flux GitRepository `secretRef` Secret:
//! https `username`/`password`, `bearerToken`, `ca.crt`; ssh `identity`
//! (+ `password` as its passphrase) and `known_hosts`. The controller passes
//! the Secret's `data` map straight in; nothing here is ever printed.

use std::collections::BTreeMap;
use std::fmt;

use crate::known_hosts::{self, KnownHosts};
use crate::url::{RemoteUrl, Scheme};

#[cfg(test)]
mod tests;

/// Errors building or applying credentials. Messages name the Secret key,
/// never its value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// A Secret value that must be text is not UTF-8.
    #[error("secret key '{key}' is not valid UTF-8")]
    NotUtf8 {
        /// The Secret data key.
        key: &'static str,
    },
    /// `username` without `password` or the other way round.
    #[error("secret has '{present}' but no '{missing}' key")]
    Incomplete {
        /// The key that is there.
        present: &'static str,
        /// The key that is missing.
        missing: &'static str,
    },
    /// The `known_hosts` value does not parse.
    #[error("invalid 'known_hosts' in secret: {0}")]
    KnownHosts(#[source] known_hosts::Error),
    /// An ssh URL without an `identity` key.
    #[error("ssh url '{url}' needs an 'identity' key in the secret")]
    MissingIdentity {
        /// Redacted URL.
        url: String,
    },
    /// An ssh URL without `known_hosts`: unknown hosts are always refused.
    #[error(
        "ssh url '{url}' needs a 'known_hosts' key in the secret: unknown host keys are refused"
    )]
    MissingKnownHosts {
        /// Redacted URL.
        url: String,
    },
}

/// An SSH private key with its optional passphrase.
#[derive(Clone)]
pub struct SshIdentity {
    /// OpenSSH or PEM private key text.
    pub private_key: String,
    /// Passphrase of the private key.
    pub passphrase: Option<String>,
}

/// Credentials for one remote.
#[derive(Clone, Default)]
pub struct Auth {
    /// HTTP Basic user and password (or token as password).
    pub basic: Option<(String, String)>,
    /// Sent as `Authorization: Bearer <token>`.
    pub bearer_token: Option<String>,
    /// PEM CA bundle to trust for https.
    pub ca_cert: Option<Vec<u8>>,
    /// SSH user key.
    pub ssh_identity: Option<SshIdentity>,
    /// Host keys to accept for ssh.
    pub known_hosts: Option<KnownHosts>,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("basic_user", &self.basic.as_ref().map(|(u, _)| u))
            .field("bearer_token", &self.bearer_token.as_ref().map(|_| "***"))
            .field("ca_cert", &self.ca_cert.as_ref().map(Vec::len))
            .field("ssh_identity", &self.ssh_identity.as_ref().map(|_| "***"))
            .field(
                "known_hosts",
                &self.known_hosts.as_ref().map(KnownHosts::len),
            )
            .finish()
    }
}

impl Auth {
    /// No credentials (public https, file://).
    pub fn none() -> Self {
        Auth::default()
    }

    /// Build from the `data` of a Flux Git Secret.
    pub fn from_secret(data: &BTreeMap<String, Vec<u8>>) -> Result<Self, Error> {
        let text = |key: &'static str| -> Result<Option<String>, Error> {
            data.get(key)
                .map(|v| String::from_utf8(v.clone()).map_err(|_| Error::NotUtf8 { key }))
                .transpose()
        };
        let username = text("username")?;
        let password = text("password")?;
        let identity = text("identity")?;
        let mut auth = Auth {
            bearer_token: text("bearerToken")?.map(|t| t.trim().to_string()),
            ca_cert: data.get("ca.crt").or_else(|| data.get("caFile")).cloned(),
            ..Auth::default()
        };
        if let Some(kh) = text("known_hosts")? {
            auth.known_hosts = Some(KnownHosts::parse(&kh).map_err(Error::KnownHosts)?);
        }
        match identity {
            Some(key) => {
                auth.ssh_identity = Some(SshIdentity {
                    private_key: key,
                    passphrase: password.filter(|p| !p.is_empty()),
                });
                // With an identity, `password` is its passphrase; `username`
                // alone is the ssh user, which the URL already carries.
            }
            None => match (username, password) {
                (Some(u), Some(p)) => auth.basic = Some((u, p)),
                (Some(_), None) => {
                    return Err(Error::Incomplete {
                        present: "username",
                        missing: "password",
                    });
                }
                (None, Some(_)) => {
                    return Err(Error::Incomplete {
                        present: "password",
                        missing: "username",
                    });
                }
                (None, None) => {}
            },
        }
        Ok(auth)
    }

    /// Check that these credentials can be used for `url` (an ssh URL needs
    /// an identity and known_hosts).
    pub fn validate_for(&self, url: &RemoteUrl) -> Result<(), Error> {
        if url.scheme == Scheme::Ssh {
            if self.ssh_identity.is_none() {
                return Err(Error::MissingIdentity {
                    url: url.redacted(),
                });
            }
            if self.known_hosts.is_none() {
                return Err(Error::MissingKnownHosts {
                    url: url.redacted(),
                });
            }
        }
        Ok(())
    }

    /// Every secret value that must never show up in a message.
    pub(crate) fn secrets(&self) -> Vec<&str> {
        let mut out = Vec::new();
        if let Some((_, p)) = &self.basic {
            out.push(p.as_str());
        }
        if let Some(t) = &self.bearer_token {
            out.push(t.as_str());
        }
        if let Some(id) = &self.ssh_identity
            && let Some(p) = &id.passphrase
        {
            out.push(p.as_str());
        }
        out.retain(|s| s.len() >= 3);
        out
    }
}
