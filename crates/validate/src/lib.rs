//! Tier 0: `ferroflux validate`. Loads a repository's manifests with
//! `ferroflux-api` (schema findings) and adds the traps the seed articles
//! show: a filter pattern that can never yield a semver tag, a commit template
//! mangled by a blog engine, the removed `.Updated` template field, a marked
//! image line whose JSON is broken, plaintext Secrets, SOPS Secrets a Kustomization cannot decrypt, references that miss by
//! a namespace, kustomizations that do not build (with a hint for a patch
//! that matches nothing). Reads the files it is given; no other IO, no clock.

use std::path::{Path, PathBuf};

use ferroflux_api::manifest::{self, Loaded, Manifest};

mod checks;
mod decryption;
mod kustomize;
mod markers;
mod pattern;
mod references;

pub use ferroflux_api::manifest::{Finding, Severity};
pub use pattern::never_semver;

/// Everything `validate` found, sorted by file and line.
#[derive(Debug, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
    /// How many objects were read.
    pub objects: usize,
}

impl Report {
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }
}

/// Validate every YAML file under the given files and directories.
pub fn validate_paths(paths: &[PathBuf]) -> Report {
    let loaded = manifest::load_paths(paths);
    // Markers live in files that may hold no Flux object at all (a
    // Deployment patch), so scan every YAML file, not only the loaded ones.
    let mut marker_findings = Vec::new();
    for path in paths {
        markers::scan_path(path, &mut marker_findings);
    }
    kustomize::check_paths(paths, &mut marker_findings);
    report(loaded, marker_findings)
}

/// Validate one YAML stream; `path` names it in findings.
pub fn validate_str(path: &Path, source: &str) -> Report {
    let loaded = manifest::load_str(path, source);
    let mut marker_findings = Vec::new();
    markers::scan_text(path, source, &mut marker_findings);
    report(loaded, marker_findings)
}

fn report(loaded: Loaded, marker_findings: Vec<Finding>) -> Report {
    let mut findings = loaded.findings;
    for m in &loaded.manifests {
        checks::check(m, &mut findings);
    }
    references::check(&loaded.manifests, &mut findings);
    decryption::check(&loaded.manifests, &mut findings);
    findings.extend(marker_findings);
    findings.sort_by(|a, b| {
        (&a.file, a.line, b.severity, &a.message).cmp(&(&b.file, b.line, a.severity, &b.message))
    });
    findings.dedup();
    Report {
        findings,
        objects: loaded.manifests.len(),
    }
}

/// A finding about one field of an object.
pub(crate) fn at(m: &Manifest, path: &str, severity: Severity, message: String) -> Finding {
    m.finding(m.line_of(path), severity, message)
}

#[cfg(test)]
mod tests;
