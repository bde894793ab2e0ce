//! Resolved image policies and the four setters each one defines
//! (`ns:name`, `ns:name:tag`, `ns:name:name`, `ns:name:digest`).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// Why a policy given as `NS:NAME=IMAGE:TAG[@DIGEST]` was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("policy {spec:?}: {reason}")]
    Spec { spec: String, reason: &'static str },
}

/// `namespace/name` of an ImagePolicy.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct PolicyKey {
    pub namespace: String,
    pub name: String,
}

impl fmt::Display for PolicyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// An ImagePolicy's `status.latestRef`. An empty `digest` means "none", as
/// in Flux's API.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct LatestRef {
    pub name: String,
    pub tag: String,
    pub digest: String,
}

impl LatestRef {
    /// Splits `IMAGE:TAG[@DIGEST]` the way Flux's `testutil.ImageToRef`
    /// does: strip `@digest`, then split on the last `:` after the last `/`.
    pub fn parse(image: &str) -> Option<LatestRef> {
        let (rest, digest) = match image.split_once('@') {
            Some((rest, digest)) => (rest, digest),
            None => (image, ""),
        };
        let slash = rest.rfind('/').map_or(0, |i| i + 1);
        let colon = rest[slash..].rfind(':')? + slash;
        let (name, tag) = (&rest[..colon], &rest[colon + 1..]);
        Some(LatestRef {
            name: name.to_string(),
            tag: tag.to_string(),
            digest: digest.to_string(),
        })
    }
}

/// `latestRef.String()`: `name:tag`, plus `@digest` when there is one.
impl fmt::Display for LatestRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if !self.tag.is_empty() {
            write!(f, ":{}", self.tag)?;
        }
        if !self.digest.is_empty() {
            write!(f, "@{}", self.digest)?;
        }
        Ok(())
    }
}

/// The policies in scope of one run (Flux: the automation's namespace,
/// filtered by `policySelector`, only those with a `latestRef`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policies {
    by_key: BTreeMap<PolicyKey, LatestRef>,
}

/// What a setter marker resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved<'a> {
    pub policy: &'a PolicyKey,
    pub latest: &'a LatestRef,
    /// The value to write.
    pub value: String,
}

impl Policies {
    pub fn new() -> Policies {
        Policies::default()
    }

    pub fn insert(&mut self, namespace: &str, name: &str, latest: LatestRef) {
        let key = PolicyKey {
            namespace: namespace.to_string(),
            name: name.to_string(),
        };
        self.by_key.insert(key, latest);
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&PolicyKey, &LatestRef)> {
        self.by_key.iter()
    }

    /// Resolves a marker value (`ns:name`, `ns:name:tag`, `ns:name:name`,
    /// `ns:name:digest`). `None` when no supplied policy defines that setter,
    /// which Flux silently ignores. `:digest` writes "" when the policy has
    /// no digest: the setter is always defined in Flux.
    pub fn resolve(&self, setter: &str) -> Option<Resolved<'_>> {
        let mut parts = setter.splitn(3, ':');
        let namespace = parts.next()?;
        let name = parts.next()?;
        let field = parts.next();
        let wanted = PolicyKey {
            namespace: namespace.to_string(),
            name: name.to_string(),
        };
        let (policy, latest) = self.by_key.get_key_value(&wanted)?;
        let value = match field {
            None => latest.to_string(),
            Some("tag") => latest.tag.clone(),
            Some("name") => latest.name.clone(),
            Some("digest") => latest.digest.clone(),
            Some(_) => return None,
        };
        Some(Resolved {
            policy,
            latest,
            value,
        })
    }
}

/// One policy as given on a command line: `NS:NAME=IMAGE:TAG[@DIGEST]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySpec {
    pub key: PolicyKey,
    pub latest: LatestRef,
}

impl FromStr for PolicySpec {
    type Err = Error;

    fn from_str(spec: &str) -> Result<PolicySpec, Error> {
        let fail = |reason| Error::Spec {
            spec: spec.to_string(),
            reason,
        };
        let (key, image) = spec
            .split_once('=')
            .ok_or_else(|| fail("expected NS:NAME=IMAGE:TAG[@DIGEST]"))?;
        let (namespace, name) = key
            .split_once(':')
            .ok_or_else(|| fail("the policy must be given as NS:NAME"))?;
        if namespace.is_empty() || name.is_empty() || name.contains(':') {
            return Err(fail("the policy must be given as NS:NAME"));
        }
        if image.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(fail("the image must not contain white space"));
        }
        let latest =
            LatestRef::parse(image).ok_or_else(|| fail("the image must be IMAGE:TAG[@DIGEST]"))?;
        if latest.name.is_empty() || latest.tag.is_empty() {
            return Err(fail("the image must be IMAGE:TAG[@DIGEST]"));
        }
        if image.contains('@') && !latest.digest.contains(':') {
            return Err(fail("the digest must be ALGORITHM:HEX"));
        }
        Ok(PolicySpec {
            key: PolicyKey {
                namespace: namespace.to_string(),
                name: name.to_string(),
            },
            latest,
        })
    }
}

impl FromIterator<PolicySpec> for Policies {
    fn from_iter<I: IntoIterator<Item = PolicySpec>>(iter: I) -> Policies {
        Policies {
            by_key: iter.into_iter().map(|s| (s.key, s.latest)).collect(),
        }
    }
}

#[cfg(test)]
mod tests;
