//! Tier 0, pure engine: `$imagepolicy` setter markers.
//!
//! Finds every `# {"$imagepolicy": "ns:name[:tag|:name|:digest]"}` comment
//! that sits on the line of a scalar value in a tree of YAML files and
//! rewrites that value from the resolved image policies. Unlike Flux, which
//! re-serialises the whole file with kyaml (losing blank lines and layout),
//! only the bytes of the marked scalar change: quotes, CRLF, BOM, comments,
//! flow style and every other byte stay as they were.
//!
//! Reads files (no other IO except the explicit [`write_changes`]); no clock,
//! no environment, no tokio. Must not depend on git, registry, kube or any
//! adapter crate.

pub mod marker;
pub mod policy;
pub mod result;
pub mod rewrite;
pub mod scalar;
pub mod tree;

pub use policy::{LatestRef, Policies, PolicyKey};
pub use result::{Change, Diagnostic, FileChanges, ObjectChanges, ObjectIdentifier, Skipped};
pub use rewrite::{Edit, FileOutcome, rewrite_file};
pub use tree::{Options, TreeResult, apply_tree, write_changes};
