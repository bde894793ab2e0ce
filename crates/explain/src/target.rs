//! What to explain: a marked line (`FILE[:LINE]`) or a policy
//! (`NAMESPACE/POLICY`, also accepted in the marker's `NAMESPACE:POLICY` form).

use std::fmt;
use std::path::{Path, PathBuf};

/// Why a target cannot be explained at all (bad input, exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("target {target:?} is neither an existing file nor NAMESPACE/POLICY")]
    Unknown { target: String },
    #[error("target {target:?}: line {line:?} is not a line number")]
    BadLine { target: String, line: String },
    #[error("target file {file} is outside the repository {repo}")]
    OutsideRepo { file: PathBuf, repo: PathBuf },
    #[error("target file {file}: {source}")]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A parsed target. File paths are absolute and canonical.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Line { file: PathBuf, line: Option<usize> },
    Policy { namespace: String, name: String },
}

impl Target {
    /// Read `FILE[:LINE]` (relative to the working directory, else to
    /// `repo`) or `NAMESPACE/POLICY`. A path that exists wins over the
    /// policy reading. `repo` must be canonical.
    pub fn parse(text: &str, repo: &Path) -> Result<Target, Error> {
        let (path_part, line) = split_line(text)?;
        let candidates = [PathBuf::from(path_part), repo.join(path_part)];
        if let Some(found) = candidates.iter().find(|p| p.is_file()) {
            let file = found.canonicalize().map_err(|source| Error::Io {
                file: found.clone(),
                source,
            })?;
            if !file.starts_with(repo) {
                return Err(Error::OutsideRepo {
                    file,
                    repo: repo.to_path_buf(),
                });
            }
            return Ok(Target::Line { file, line });
        }
        if line.is_none()
            && let Some((namespace, name)) = text.split_once('/').or_else(|| text.split_once(':'))
            && is_name(namespace)
            && is_name(name)
        {
            return Ok(Target::Policy {
                namespace: namespace.to_string(),
                name: name.to_string(),
            });
        }
        Err(Error::Unknown {
            target: text.to_string(),
        })
    }
}

/// `FILE:12` → (`FILE`, Some(12)); a suffix that is not all digits belongs
/// to the path (`C:` never occurs here, names rarely end in `:x`).
fn split_line(text: &str) -> Result<(&str, Option<usize>), Error> {
    match text.rsplit_once(':') {
        Some((path, line)) if !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit()) => {
            let n: usize = line.parse().map_err(|_| Error::BadLine {
                target: text.to_string(),
                line: line.to_string(),
            })?;
            if n == 0 {
                return Err(Error::BadLine {
                    target: text.to_string(),
                    line: line.to_string(),
                });
            }
            Ok((path, Some(n)))
        }
        _ => Ok((text, None)),
    }
}

/// A Kubernetes object name or namespace (RFC 1123 subdomain characters).
fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Line { file, line: None } => write!(f, "{}", file.display()),
            Target::Line {
                file,
                line: Some(l),
            } => write!(f, "{}:{l}", file.display()),
            Target::Policy { namespace, name } => write!(f, "ImagePolicy {namespace}/{name}"),
        }
    }
}

#[cfg(test)]
mod tests;
