//! Remote URLs as Flux's GitRepository accepts them: `http(s)://`, `ssh://`,
//! scp-like `user@host:path` and `file://`. Parsed by hand because the
//! scp-like form is not a URL; the parsed parts feed the known_hosts lookup
//! (`[host]:port`) and the redacted form that every error message uses.

#[cfg(test)]
mod tests;

/// Errors parsing a remote URL.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// The URL has no scheme this adapter speaks.
    #[error("unsupported git url '{url}': scheme must be http, https, ssh or file")]
    Scheme {
        /// The URL with any password removed.
        url: String,
    },
    /// The URL could not be split into host and path.
    #[error("invalid git url '{url}': {reason}")]
    Invalid {
        /// The URL with any password removed.
        url: String,
        /// What is wrong.
        reason: &'static str,
    },
}

/// The transport a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `http://`
    Http,
    /// `https://`
    Https,
    /// `ssh://` or scp-like `user@host:path`
    Ssh,
    /// `file://` or a plain absolute path
    File,
}

/// A parsed remote URL. `Debug` shows the redacted URL only.
#[derive(Clone, PartialEq, Eq)]
pub struct RemoteUrl {
    /// Transport.
    pub scheme: Scheme,
    /// User from the userinfo part, if any.
    pub user: Option<String>,
    password: Option<String>,
    /// Host name or address (without brackets); empty for file URLs.
    pub host: String,
    /// Explicit port, if any.
    pub port: Option<u16>,
    /// Path part (for file URLs the local path).
    pub path: String,
    raw: String,
}

impl std::fmt::Debug for RemoteUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteUrl")
            .field("scheme", &self.scheme)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("host", &self.host)
            .field("port", &self.port)
            .field("path", &self.path)
            .field("url", &self.redacted())
            .finish()
    }
}

impl RemoteUrl {
    /// Parse `raw`.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let raw = raw.trim();
        if let Some((scheme, rest)) = raw.split_once("://") {
            let scheme = match scheme.to_ascii_lowercase().as_str() {
                "http" => Scheme::Http,
                "https" => Scheme::Https,
                "ssh" => Scheme::Ssh,
                "file" => Scheme::File,
                _ => {
                    return Err(Error::Scheme { url: redact(raw) });
                }
            };
            if scheme == Scheme::File {
                return Ok(RemoteUrl {
                    scheme,
                    user: None,
                    password: None,
                    host: String::new(),
                    port: None,
                    path: rest.to_string(),
                    raw: raw.to_string(),
                });
            }
            let (authority, path) = match rest.find('/') {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, ""),
            };
            let (userinfo, hostport) = match authority.rfind('@') {
                Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
                None => (None, authority),
            };
            let (user, password) = match userinfo {
                Some(u) => match u.split_once(':') {
                    Some((user, pass)) => (Some(user.to_string()), Some(pass.to_string())),
                    None => (Some(u.to_string()), None),
                },
                None => (None, None),
            };
            let (host, port) = split_host_port(hostport).ok_or_else(|| Error::Invalid {
                url: redact(raw),
                reason: "bad host or port",
            })?;
            if host.is_empty() {
                return Err(Error::Invalid {
                    url: redact(raw),
                    reason: "missing host",
                });
            }
            return Ok(RemoteUrl {
                scheme,
                user,
                password,
                host,
                port,
                path: path.to_string(),
                raw: raw.to_string(),
            });
        }
        if raw.starts_with('/') {
            return Ok(RemoteUrl {
                scheme: Scheme::File,
                user: None,
                password: None,
                host: String::new(),
                port: None,
                path: raw.to_string(),
                raw: raw.to_string(),
            });
        }
        // scp-like: [user@]host:path
        let (userhost, path) = raw
            .split_once(':')
            .ok_or_else(|| Error::Scheme { url: redact(raw) })?;
        let (user, host) = match userhost.rsplit_once('@') {
            Some((u, h)) => (Some(u.to_string()), h.to_string()),
            None => (None, userhost.to_string()),
        };
        if host.is_empty() || host.contains('/') {
            return Err(Error::Scheme { url: redact(raw) });
        }
        Ok(RemoteUrl {
            scheme: Scheme::Ssh,
            user,
            password: None,
            host,
            port: None,
            path: path.to_string(),
            raw: raw.to_string(),
        })
    }

    /// The URL as given, for libgit2.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The password from the userinfo part, if any (never printed).
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// The URL with any userinfo password removed: safe for messages.
    pub fn redacted(&self) -> String {
        redact(&self.raw)
    }

    /// The host name as OpenSSH writes it in known_hosts: `host` for port 22,
    /// `[host]:port` otherwise.
    pub fn known_hosts_name(&self) -> String {
        match self.port {
            Some(p) if p != 22 => format!("[{}]:{p}", self.host),
            _ => self.host.clone(),
        }
    }
}

fn split_host_port(hostport: &str) -> Option<(String, Option<u16>)> {
    if let Some(rest) = hostport.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().ok()?),
            None if after.is_empty() => None,
            None => return None,
        };
        return Some((host.to_string(), port));
    }
    match hostport.rsplit_once(':') {
        Some((host, p)) if !p.is_empty() => Some((host.to_string(), Some(p.parse().ok()?))),
        Some((host, _)) => Some((host.to_string(), None)),
        None => Some((hostport.to_string(), None)),
    }
}

/// Remove the password of a `scheme://user:password@host` URL; anything
/// else is returned unchanged.
pub fn redact(raw: &str) -> String {
    let Some((scheme, rest)) = raw.split_once("://") else {
        return raw.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return raw.to_string();
    };
    let userinfo = &authority[..at];
    let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
    format!("{scheme}://{user}@{}", &rest[at + 1..])
}
