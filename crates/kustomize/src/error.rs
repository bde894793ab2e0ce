//! Why a build failed. Every message names the kustomization file or the
//! resource file, with a line where there is one.

/// A failed build.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A problem at a place in a file.
    #[error("{file}:{line}: {message}")]
    At {
        file: String,
        line: usize,
        message: String,
    },
    /// A kustomization field this engine does not implement yet.
    #[error("{file}:{line}: not supported yet: {field} in {file}")]
    NotSupported {
        field: String,
        file: String,
        line: usize,
    },
    /// A remote base or a plugin: refused, no network, no processes.
    #[error("{file}: {what} is not supported: {entry}")]
    Refused {
        file: String,
        what: &'static str,
        entry: String,
    },
    /// Any other failure, worded as kustomize words it.
    #[error("{0}")]
    Build(String),
}

impl Error {
    /// The same error with `prefix: ` in front (kustomize's `WrapPrefixf`).
    pub fn prefixed(self, prefix: &str) -> Error {
        match self {
            Error::Build(m) => Error::Build(format!("{prefix}: {m}")),
            Error::At {
                file,
                line,
                message,
            } => Error::At {
                file,
                line,
                message: format!("{prefix}: {message}"),
            },
            other => other,
        }
    }
}
