//! The result model: what changed, where, and in which object. Shaped so a
//! commit-template engine can build Flux's `.Changed.FileChanges`,
//! `.Changed.Objects`, `.Changed.Changes` and the legacy `.Updated` data
//! (files → objects → image refs) from it.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use crate::policy::PolicyKey;

/// kyaml's `ResourceIdentifier` of the document holding a change; empty
/// fields for documents without them (a Kustomization has no name).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectIdentifier {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
}

impl fmt::Display for ObjectIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.api_version, self.kind)?;
        match (self.namespace.is_empty(), self.name.is_empty()) {
            (true, true) => Ok(()),
            (true, false) => write!(f, " {}", self.name),
            (false, _) => write!(f, " {}/{}", self.namespace, self.name),
        }
    }
}

/// One rewritten value (Flux's `Change{OldValue, NewValue, Setter}` plus
/// where it is and which policy and image it came from).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// 1-based line of the value in the original file.
    pub line: usize,
    pub old_value: String,
    pub new_value: String,
    /// The marker value, e.g. `flux-system:app:tag`.
    pub setter: String,
    pub policy: PolicyKey,
    /// The policy's full image ref, `name:tag[@digest]` (legacy `.Updated`
    /// lists these per object).
    pub image: String,
}

/// The changes in one object, in document order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectChanges {
    pub object: ObjectIdentifier,
    pub changes: Vec<Change>,
}

impl ObjectChanges {
    /// The distinct image refs written into this object, first-seen order.
    pub fn images(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for c in &self.changes {
            if !out.contains(&c.image.as_str()) {
                out.push(&c.image);
            }
        }
        out
    }
}

/// One changed file of a tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileChanges {
    /// Relative to the scanned root, `/`-separated.
    pub path: String,
    /// Objects in document order; a document identity seen twice in one file
    /// is merged, as Flux's map is.
    pub objects: Vec<ObjectChanges>,
    /// The file actually written: the link target for a symlink.
    #[serde(skip)]
    pub target: PathBuf,
    #[serde(skip)]
    pub original: Vec<u8>,
    #[serde(skip)]
    pub updated: Vec<u8>,
}

impl FileChanges {
    pub fn changes(&self) -> impl Iterator<Item = &Change> {
        self.objects.iter().flat_map(|o| o.changes.iter())
    }
}

/// A problem the user must fix, with its place. The rest of the tree is
/// still processed; the caller decides what a diagnostic means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Relative to the scanned root (or as given to `rewrite_file`).
    pub path: String,
    /// 1-based.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.path, self.line, self.message)
    }
}

/// A candidate file that was not read, and why (dangling symlink, link out
/// of the tree, link to a directory). Flux skips these silently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub path: String,
    pub reason: String,
}
