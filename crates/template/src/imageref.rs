//! Image references as go-containerregistry's `name.ParseReference(…,
//! WeakValidation)` parses them: what Flux v1beta2's legacy `.Updated.Images`
//! ImageRef methods (`Registry`, `Repository`, `Identifier`, `Name`) return.

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("encountered invalid image ref {quoted}: could not parse reference: {image}", quoted = crate::gofmt::quote(image))]
pub struct ImageRefError {
    pub image: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef {
    /// As the full setter writes it: `name:tag` or `name:tag@digest`.
    pub original: String,
    /// `index.docker.io` when the name has no registry host.
    pub registry: String,
    /// `library/x` for single-component Docker Hub names.
    pub repository: String,
    pub tag: String,
    /// Set for `name[:tag]@digest`: ggcr then drops the tag.
    pub digest: String,
}

const REPO_CHARS: &str = "abcdefghijklmnopqrstuvwxyz0123456789_-./";
const TAG_CHARS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.";
const DIGEST_CHARS: &str = "sh:0123456789abcdef";

fn only_chars(s: &str, allowed: &str, min: usize, max: usize) -> bool {
    let n = s.chars().count();
    n >= min && n <= max && s.chars().all(|c| allowed.contains(c))
}

/// Would Go's `url.Parse("//" + host)` give back exactly `host`?
fn valid_host(host: &str) -> bool {
    if host
        .chars()
        .any(|c| matches!(c, '/' | '?' | '#' | '@' | ' ' | '%') || c.is_control())
    {
        return false;
    }
    if host.starts_with('[') {
        return host.contains(']');
    }
    match host.rsplit_once(':') {
        Some((_, port)) => port.bytes().all(|b| b.is_ascii_digit()),
        None => true,
    }
}

fn split_repo(s: &str) -> Option<(String, String)> {
    let (mut reg, mut repo) = ("", s);
    if let Some((first, rest)) = s.split_once('/')
        && first.contains(['.', ':'])
    {
        reg = first;
        repo = rest;
    }
    if !only_chars(repo, REPO_CHARS, 2, 255) || !valid_host(reg) {
        return None;
    }
    let reg = match reg {
        "" | "docker.io" => "index.docker.io",
        r => r,
    };
    let repo = if reg == "index.docker.io" && !repo.contains('/') {
        format!("library/{repo}")
    } else {
        repo.to_string()
    };
    Some((reg.to_string(), repo))
}

impl ImageRef {
    /// Parses as ggcr's `ParseReference`: a tag reference first, then a digest reference.
    pub fn parse(s: &str) -> Result<ImageRef, ImageRefError> {
        let err = || ImageRefError {
            image: s.to_string(),
        };
        let (mut base, mut tag) = (s, "");
        if let Some((b, t)) = s.rsplit_once(':')
            && !t.contains('/')
        {
            base = b;
            tag = t;
        }
        if (tag.is_empty() || only_chars(tag, TAG_CHARS, 1, 127))
            && let Some((registry, repository)) = split_repo(base)
        {
            return Ok(ImageRef {
                original: s.to_string(),
                registry,
                repository,
                tag: if tag.is_empty() {
                    "latest".into()
                } else {
                    tag.into()
                },
                digest: String::new(),
            });
        }
        let parts: Vec<&str> = s.split('@').collect();
        if let [name, digest] = parts.as_slice()
            && only_chars(digest, DIGEST_CHARS, 71, 71)
        {
            if let Ok(t) = ImageRef::parse(name)
                && t.digest.is_empty()
            {
                return Ok(ImageRef {
                    original: s.to_string(),
                    registry: t.registry,
                    repository: t.repository,
                    tag: String::new(),
                    digest: (*digest).to_string(),
                });
            }
            if let Some((registry, repository)) = split_repo(name) {
                return Ok(ImageRef {
                    original: s.to_string(),
                    registry,
                    repository,
                    tag: String::new(),
                    digest: (*digest).to_string(),
                });
            }
        }
        Err(err())
    }

    /// ggcr `Identifier()`: the digest of a digest reference, else the tag.
    pub fn identifier(&self) -> &str {
        if self.digest.is_empty() {
            &self.tag
        } else {
            &self.digest
        }
    }

    /// ggcr's fully qualified `Name()`.
    pub fn name(&self) -> String {
        if self.digest.is_empty() {
            format!("{}/{}:{}", self.registry, self.repository, self.tag)
        } else {
            format!("{}/{}@{}", self.registry, self.repository, self.digest)
        }
    }
}

#[cfg(test)]
mod tests;
