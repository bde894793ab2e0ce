//! Image repository names, canonicalised as go-containerregistry's
//! `name.ParseReference(..).Context().String()` does, because Flux stores and
//! reports `status.canonicalImageName` in that form.

use std::fmt;

/// Docker Hub's canonical registry host (go-containerregistry `DefaultRegistry`).
pub const DOCKER_HUB: &str = "index.docker.io";

const REPOSITORY_CHARS: &str = "abcdefghijklmnopqrstuvwxyz0123456789_-./";

/// A parse failure of `spec.image`; the messages are Flux's.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NameError {
    #[error("image '{image}' should not include URL scheme; remove '{scheme}://'")]
    Scheme { image: String, scheme: String },
    #[error("image '{image}' should not include a tag; remove ':{tag}'")]
    Tag { image: String, tag: String },
    #[error("image '{image}' should not include a digest; remove '@{digest}'")]
    Digest { image: String, digest: String },
    #[error("image '{image}': a repository name must be specified")]
    Empty { image: String },
    #[error("image '{image}': registries must be valid RFC 3986 URI authorities: {registry}")]
    Registry { image: String, registry: String },
    #[error(
        "image '{image}': repository can only contain the characters `{REPOSITORY_CHARS}`: {repository}"
    )]
    RepositoryChars { image: String, repository: String },
    #[error(
        "image '{image}': repository must be between 2 and 255 characters in length: {repository}"
    )]
    RepositoryLength { image: String, repository: String },
}

/// A repository in a registry: `registry` is a host with an optional port,
/// `repository` the path under `/v2/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageName {
    registry: String,
    repository: String,
    insecure: bool,
}

impl ImageName {
    /// Parse `spec.image`. `insecure` (Flux `spec.insecure`) allows plain HTTP.
    pub fn parse(image: &str, insecure: bool) -> Result<ImageName, NameError> {
        if let Some((scheme, _)) = image.split_once("://") {
            return Err(NameError::Scheme {
                image: image.to_owned(),
                scheme: scheme.to_owned(),
            });
        }
        if let Some((_, digest)) = image.split_once('@') {
            return Err(NameError::Digest {
                image: image.to_owned(),
                digest: digest.to_owned(),
            });
        }
        if image.is_empty() {
            return Err(NameError::Empty {
                image: image.to_owned(),
            });
        }
        let (registry, rest) = match image.split_once('/') {
            // go-containerregistry: the first element is a registry iff it has
            // a '.' or a ':' (or is `localhost`); otherwise it is Docker Hub.
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first, rest)
            }
            _ => ("", image),
        };
        if let Some((_, tag)) = rest.split_once(':') {
            return Err(NameError::Tag {
                image: image.to_owned(),
                tag: tag.to_owned(),
            });
        }
        check_registry(image, registry)?;
        check_repository(image, rest)?;
        let registry = match registry {
            "" | "docker.io" => DOCKER_HUB.to_owned(),
            other => other.to_owned(),
        };
        let repository = if registry == DOCKER_HUB && !rest.contains('/') {
            format!("library/{rest}")
        } else {
            rest.to_owned()
        };
        Ok(ImageName {
            registry,
            repository,
            insecure,
        })
    }

    /// The registry host (and port), e.g. `index.docker.io`, `127.0.0.1:5000`.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository path, e.g. `library/alpine`.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// Whether plain HTTP is allowed.
    pub fn insecure(&self) -> bool {
        self.insecure
    }

    /// `registry/repository`: Flux's `status.canonicalImageName`.
    pub fn canonical(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }
}

impl fmt::Display for ImageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)
    }
}

fn check_registry(image: &str, registry: &str) -> Result<(), NameError> {
    if registry.is_empty() {
        return Ok(());
    }
    // go-containerregistry checks that `//<registry>` parses as a URL whose
    // authority is exactly the registry: a host, an optional port, nothing else.
    let plain = !registry.contains(['@', '/', '?', '#', ' ']);
    let parsed = url::Url::parse(&format!("http://{registry}/"))
        .is_ok_and(|u| u.host_str().is_some() && u.username().is_empty() && u.path() == "/");
    let port_ok = match registry.rsplit_once(':') {
        _ if registry.ends_with(']') => true,
        Some((host, _)) if !host.ends_with(']') && host.contains(':') => false,
        Some((_, port)) => !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()),
        None => true,
    };
    if plain && parsed && port_ok {
        Ok(())
    } else {
        Err(NameError::Registry {
            image: image.to_owned(),
            registry: registry.to_owned(),
        })
    }
}

fn check_repository(image: &str, repository: &str) -> Result<(), NameError> {
    if !(2..=255).contains(&repository.len()) {
        return Err(NameError::RepositoryLength {
            image: image.to_owned(),
            repository: repository.to_owned(),
        });
    }
    if !repository.chars().all(|c| REPOSITORY_CHARS.contains(c)) {
        return Err(NameError::RepositoryChars {
            image: image.to_owned(),
            repository: repository.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
