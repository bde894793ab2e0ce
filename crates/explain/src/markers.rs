//! Finding `$imagepolicy` markers with `ferroflux-setters`, so that what
//! counts as a marker here is exactly what the automation rewrites.
//!
//! The setters engine reports a marker only when a policy resolves it, so
//! every policy a marker names is given a sentinel `latestRef` that can never
//! equal a real value: each valid marker then shows up as a change carrying
//! its line, its setter and the value the file holds now.

use std::path::{Path, PathBuf};

use ferroflux_setters::marker;
use ferroflux_setters::{LatestRef, Policies, rewrite_file};

/// Why a tree of markers could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Tree(#[from] ferroflux_setters::tree::Error),
}

/// One marked value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// Absolute path.
    pub file: PathBuf,
    /// 1-based line of the value.
    pub line: usize,
    /// The marker's value: `ns:name`, `ns:name:tag`, ...
    pub setter: String,
    /// The value the file holds now.
    pub value: String,
}

impl Site {
    pub fn namespace(&self) -> &str {
        self.setter.split(':').next().unwrap_or("")
    }

    pub fn name(&self) -> &str {
        self.setter.split(':').nth(1).unwrap_or("")
    }

    /// `tag`, `name`, `digest` or `None` for the whole image reference.
    pub fn field(&self) -> Option<&str> {
        self.setter.split(':').nth(2)
    }
}

/// What one file holds: valid markers and problems (malformed JSON,
/// misplaced markers, unparsable YAML), each with its line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileMarkers {
    pub sites: Vec<Site>,
    pub problems: Vec<(usize, String)>,
}

const SENTINEL: &str = "\u{1}ferroflux-explain\u{1}";

fn sentinel() -> LatestRef {
    LatestRef {
        name: SENTINEL.to_string(),
        tag: SENTINEL.to_string(),
        digest: SENTINEL.to_string(),
    }
}

/// Every marker of one file.
pub fn scan_file(file: &Path) -> Result<FileMarkers, Error> {
    let bytes = std::fs::read(file).map_err(|source| Error::Read {
        path: file.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let mut policies = Policies::new();
    for setter in text.lines().filter_map(comment_setter) {
        let mut parts = setter.split(':');
        if let (Some(ns), Some(name)) = (parts.next(), parts.next()) {
            policies.insert(ns, name, sentinel());
        }
    }
    let display = file.display().to_string();
    let mut out = FileMarkers::default();
    match rewrite_file(&display, &bytes, &policies) {
        Ok(outcome) => {
            out.sites = outcome
                .changes()
                .map(|c| Site {
                    file: file.to_path_buf(),
                    line: c.line,
                    setter: c.setter.clone(),
                    value: c.old_value.clone(),
                })
                .collect();
            out.sites.sort_by_key(|s| s.line);
            out.problems = outcome
                .diagnostics
                .into_iter()
                .map(|d| (d.line, d.message))
                .collect();
        }
        Err(e) => {
            let d = e.to_diagnostic();
            out.problems.push((
                d.line,
                format!("{}; Flux skips a file it cannot parse, silently", d.message),
            ));
        }
    }
    Ok(out)
}

/// Every marker under `root` that names `namespace:name` (any field), read
/// the way the automation walks a tree.
pub fn scan_tree(root: &Path, namespace: &str, name: &str) -> Result<Vec<Site>, Error> {
    let mut policies = Policies::new();
    policies.insert(namespace, name, sentinel());
    let result =
        ferroflux_setters::apply_tree(root, &policies, &ferroflux_setters::Options::default())?;
    let mut sites: Vec<Site> = result
        .files
        .iter()
        .flat_map(|f| {
            f.changes().map(|c| Site {
                file: root.join(&f.path),
                line: c.line,
                setter: c.setter.clone(),
                value: c.old_value.clone(),
            })
        })
        .collect();
    sites.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    Ok(sites)
}

/// The setter of a line's `# {"$imagepolicy": ...}` comment, if it parses.
fn comment_setter(line: &str) -> Option<String> {
    let at = line.find(marker::SHORT_HAND)?;
    let bytes = line.as_bytes();
    let hash =
        (0..at).find(|&i| bytes[i] == b'#' && (i == 0 || matches!(bytes[i - 1], b' ' | b'\t')))?;
    marker::parse_comment(&line[hash..]).ok().flatten()
}

#[cfg(test)]
mod tests;
