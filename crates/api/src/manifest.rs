//! The manifest loader: YAML files and directories in, typed objects out,
//! each with its file and line, and a finding for everything that is wrong
//! with them (`FILE:LINE: KIND/NAMESPACE/NAME: error|warning: message`).
//!
//! Objects of older API versions (`image.toolkit.fluxcd.io/v1beta2`, ...) are
//! converted to the version ferroflux stores, with a deprecation warning.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::meta::ObjectMeta;
use crate::yaml::{self, Node, Value};
use crate::{helm, image, kustomize, notification, source, thirdparty, tree};

mod kinds;

pub use kinds::{KindStatus, Lookup, lookup_kind};

/// One object read from a file.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub file: PathBuf,
    /// Line of the document's first node.
    pub line: usize,
    /// The apiVersion as written.
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    pub node: Node,
    pub object: Object,
}

/// A typed object; older versions are already converted.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // built once per document, never moved in bulk
pub enum Object {
    ImageRepository(image::ImageRepository),
    ImagePolicy(image::ImagePolicy),
    ImageUpdateAutomation(image::ImageUpdateAutomation),
    GitRepository(source::GitRepository),
    HelmRepository(source::HelmRepository),
    HelmChart(source::HelmChart),
    OCIRepository(source::OCIRepository),
    Kustomization(kustomize::Kustomization),
    HelmRelease(helm::HelmRelease),
    Receiver(notification::Receiver),
    Provider(notification::Provider),
    Alert(notification::Alert),
    Canary(thirdparty::Canary),
    SealedSecret(thirdparty::SealedSecret),
    /// A `kustomization.yaml` (`kustomize.config.k8s.io`).
    KustomizationFile(kustomize::KustomizationFile),
    /// A Kubernetes kind ferroflux knows but does not model (Deployment,
    /// Secret, ...), or a kind it does not know at all.
    Other(serde_json::Value),
    /// The object could not be decoded; the findings say why.
    Invalid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// Something wrong (or suspicious) in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub file: PathBuf,
    pub line: usize,
    /// `KIND/NAMESPACE/NAME` of the object, when the finding is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    pub severity: Severity,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.file.display(), self.line)?;
        if let Some(object) = &self.object {
            write!(f, "{object}: ")?;
        }
        write!(f, "{}: {}", self.severity, self.message)
    }
}

/// What a load produced: the objects that decoded and every finding.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub manifests: Vec<Manifest>,
    pub findings: Vec<Finding>,
}

impl Loaded {
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    fn extend(&mut self, other: Loaded) {
        self.manifests.extend(other.manifests);
        self.findings.extend(other.findings);
    }
}

impl Manifest {
    /// `KIND/NAMESPACE/NAME` as findings print it.
    pub fn display_name(&self) -> String {
        object_label(&self.kind, self.namespace.as_deref(), &self.name)
    }

    pub fn finding(&self, line: usize, severity: Severity, message: impl Into<String>) -> Finding {
        Finding {
            file: self.file.clone(),
            line,
            object: Some(self.display_name()),
            severity,
            message: message.into(),
        }
    }

    /// Line of a dotted field path (`spec.filterTags.pattern`), or of the
    /// nearest parent that exists.
    pub fn line_of(&self, path: &str) -> usize {
        let segs: Vec<String> = path.split('.').map(str::to_string).collect();
        self.node.line_of(&segs)
    }
}

fn object_label(kind: &str, namespace: Option<&str>, name: &str) -> String {
    match namespace {
        _ if name.is_empty() => kind.to_string(),
        Some(ns) => format!("{kind}/{ns}/{name}"),
        None => format!("{kind}/{name}"),
    }
}

/// Files a directory walk picks up: `.yaml` and `.yml`.
pub fn is_manifest_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

/// Load every YAML file under the given files and directories, in path
/// order. Hidden directories (`.git`, ...) are skipped; symlinked
/// directories are not followed, and a symlinked file is read only when it
/// leads to a file inside the directory walked (an error names it otherwise).
pub fn load_paths(paths: &[PathBuf]) -> Loaded {
    let mut loaded = Loaded::default();
    for path in paths {
        let mut files = Vec::new();
        if let Err(message) = collect_files(path, &mut files, &mut loaded.findings) {
            loaded.findings.push(Finding {
                file: path.clone(),
                line: 0,
                object: None,
                severity: Severity::Error,
                message,
            });
            continue;
        }
        files.sort();
        for file in files {
            loaded.extend(load_file(&file));
        }
    }
    loaded
}

fn collect_files(
    path: &Path,
    out: &mut Vec<PathBuf>,
    refused: &mut Vec<Finding>,
) -> Result<(), String> {
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if meta.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let real_root =
        tree::real_root(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    collect_dir(&real_root, path, out, refused)
}

fn collect_dir(
    real_root: &Path,
    dir: &Path,
    out: &mut Vec<PathBuf>,
    refused: &mut Vec<Finding>,
) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        let child = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        let file_type = entry
            .file_type()
            .map_err(|e| format!("cannot read {}: {e}", child.display()))?;
        if file_type.is_dir() {
            if !hidden {
                collect_dir(real_root, &child, out, refused)?;
            }
        } else if !is_manifest_file(&child) {
        } else if file_type.is_symlink() {
            match tree::link_target(real_root, &child) {
                Ok(_) => out.push(child),
                Err(reason) => refused.push(Finding {
                    file: child,
                    line: 0,
                    object: None,
                    severity: Severity::Error,
                    message: format!("not read: {reason}"),
                }),
            }
        } else {
            out.push(child);
        }
    }
    Ok(())
}

/// Load one file (at most [`yaml::MAX_STREAM_BYTES`]).
pub fn load_file(path: &Path) -> Loaded {
    let error = |message: String| Loaded {
        manifests: Vec::new(),
        findings: vec![Finding {
            file: path.to_path_buf(),
            line: 0,
            object: None,
            severity: Severity::Error,
            message,
        }],
    };
    match tree::read_bounded(path, yaml::MAX_STREAM_BYTES) {
        Ok(Some(bytes)) => match String::from_utf8(bytes) {
            Ok(text) => load_str(path, &text),
            Err(e) => error(format!("not UTF-8 text: {e}")),
        },
        Ok(None) => error(format!(
            "file is larger than the {} bytes a manifest file may hold",
            yaml::MAX_STREAM_BYTES
        )),
        Err(e) => error(format!("cannot read file: {e}")),
    }
}

/// Load the documents of one YAML stream; `path` names it in findings.
pub fn load_str(path: &Path, source: &str) -> Loaded {
    let mut loaded = Loaded::default();
    let documents = match yaml::parse_stream(source) {
        Ok(d) => d,
        Err(e) => {
            loaded.findings.push(Finding {
                file: path.to_path_buf(),
                line: e.line,
                object: None,
                severity: Severity::Error,
                message: format!("not valid YAML: {}", e.message),
            });
            return loaded;
        }
    };
    let is_kustomization_file = matches!(
        path.file_name().and_then(|n| n.to_str()),
        Some("kustomization.yaml" | "kustomization.yml" | "Kustomization")
    );
    for doc in documents {
        let Some(node) = doc.node else { continue };
        decode_document(path, node, is_kustomization_file, &mut loaded);
    }
    loaded
}

fn decode_document(path: &Path, node: Node, is_kustomization_file: bool, out: &mut Loaded) {
    let at = |line: usize, severity, message: String| Finding {
        file: path.to_path_buf(),
        line,
        object: None,
        severity,
        message,
    };
    if !matches!(node.value, Value::Map(_)) {
        // A list or scalar document is not a Kubernetes object (values
        // files, CI files); nothing to check.
        return;
    }
    let api_version = node
        .get("apiVersion")
        .and_then(Node::as_str)
        .map(str::to_string);
    let kind = node.get("kind").and_then(Node::as_str).map(str::to_string);
    let (api_version, kind) = match (api_version, kind) {
        (Some(a), Some(k)) => (a, k),
        (None, None) if is_kustomization_file => (
            "kustomize.config.k8s.io/v1beta1".to_string(),
            "Kustomization".to_string(),
        ),
        // Not a Kubernetes object at all (a values file, a fragment).
        (None, None) => return,
        (Some(_), None) => {
            out.findings.push(at(
                node.line,
                Severity::Error,
                "missing required field `kind`".to_string(),
            ));
            return;
        }
        (None, Some(k)) => {
            out.findings.push(at(
                node.line,
                Severity::Error,
                format!("missing required field `apiVersion` for kind {k}"),
            ));
            return;
        }
    };
    let metadata = node.get("metadata");
    let name = metadata
        .and_then(|m| m.get("name"))
        .and_then(Node::as_str)
        .unwrap_or("")
        .to_string();
    let namespace = metadata
        .and_then(|m| m.get("namespace"))
        .and_then(Node::as_str)
        .map(str::to_string);
    let mut manifest = Manifest {
        file: path.to_path_buf(),
        line: node.line,
        api_version,
        kind,
        name,
        namespace,
        node,
        object: Object::Invalid,
    };
    let mut findings = Vec::new();
    manifest.object = kinds::decode(&manifest, &mut findings);
    out.findings.extend(findings);
    out.manifests.push(manifest);
}

/// Decode `json` into `T`, turning every serde error into a finding at the
/// right line. Unknown fields are removed and decoding retried, so that one
/// pass reports all of them.
pub(crate) fn decode_at<T: DeserializeOwned>(
    manifest: &Manifest,
    prefix: &str,
    mut json: serde_json::Value,
    findings: &mut Vec<Finding>,
) -> Option<T> {
    for _ in 0..32 {
        let result: Result<T, _> = serde_path_to_error::deserialize(&json);
        let err = match result {
            Ok(v) => return Some(v),
            Err(e) => e,
        };
        let mut segs: Vec<String> = if prefix.is_empty() {
            Vec::new()
        } else {
            prefix.split('.').map(str::to_string).collect()
        };
        segs.extend(
            err.path()
                .iter()
                .map(|s| {
                    s.to_string()
                        .trim_start_matches('[')
                        .trim_end_matches(']')
                        .to_string()
                })
                .filter(|s| s != "?"),
        );
        let inner = err.inner().to_string();
        if let Some((field, expected)) = parse_unknown_field(&inner) {
            // serde_path_to_error's path ends at the unknown key's parent.
            if segs.last() != Some(&field) {
                segs.push(field.clone());
            }
            let path = segs.join(".");
            let line = manifest.node.line_of(&segs);
            let parent = &segs[..segs.len() - 1];
            let mut message = format!("unknown field `{path}`");
            if let Some(hint) = did_you_mean(&field, &expected, parent) {
                message.push_str(&format!("; did you mean `{hint}`?"));
            }
            findings.push(manifest.finding(line, Severity::Error, message));
            let json_parent: Vec<&str> = segs[prefix_len(prefix)..segs.len() - 1]
                .iter()
                .map(String::as_str)
                .collect();
            if !remove_field(&mut json, &json_parent, &field) {
                return None;
            }
            continue;
        }
        let path = segs.join(".");
        let line = manifest.node.line_of(&segs);
        let message = if let Some(field) = inner
            .strip_prefix("missing field `")
            .and_then(|r| r.strip_suffix('`'))
        {
            let full = if path.is_empty() {
                field.to_string()
            } else {
                format!("{path}.{field}")
            };
            format!("missing required field `{full}`")
        } else {
            format!("`{path}`: {}", humanize_serde(&inner))
        };
        findings.push(manifest.finding(line, Severity::Error, message));
        return None;
    }
    None
}

fn prefix_len(prefix: &str) -> usize {
    if prefix.is_empty() {
        0
    } else {
        prefix.split('.').count()
    }
}

fn parse_unknown_field(msg: &str) -> Option<(String, Vec<String>)> {
    let rest = msg.strip_prefix("unknown field `")?;
    let (field, rest) = rest.split_once('`')?;
    let expected = rest
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    Some((field.to_string(), expected))
}

fn humanize_serde(msg: &str) -> String {
    if let Some((value, expected)) = msg
        .strip_prefix("unknown variant `")
        .and_then(|rest| rest.split_once("`, expected "))
    {
        return format!("unsupported value `{value}`, expected {expected}");
    }
    msg.to_string()
}

/// Suggest the field a user probably meant: a field the unknown name starts
/// with (`postBuildSubstitute` → `postBuild.substitute`), else a close name.
fn did_you_mean(field: &str, expected: &[String], parent: &[String]) -> Option<String> {
    let prefix = if parent.is_empty() {
        String::new()
    } else {
        format!("{}.", parent.join("."))
    };
    let lower = field.to_ascii_lowercase();
    if let Some(exact) = expected.iter().find(|e| e.to_ascii_lowercase() == lower) {
        return Some(format!("{prefix}{exact}"));
    }
    let nested = expected
        .iter()
        .filter(|e| {
            // Only at a camelCase boundary: `postBuildSubstitute`, not `intervall`.
            lower.starts_with(&e.to_ascii_lowercase())
                && field[e.len()..].starts_with(|c: char| c.is_ascii_uppercase())
        })
        .max_by_key(|e| e.len());
    if let Some(outer) = nested {
        let rest = &field[outer.len()..];
        let mut chars = rest.chars();
        let inner: String = chars
            .next()
            .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
            .unwrap_or_default();
        return Some(format!("{prefix}{outer}.{inner}"));
    }
    expected
        .iter()
        .map(|e| (strsim::jaro_winkler(&lower, &e.to_ascii_lowercase()), e))
        .filter(|(score, _)| *score >= 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, e)| format!("{prefix}{e}"))
}

fn remove_field(json: &mut serde_json::Value, parent: &[&str], field: &str) -> bool {
    let mut node = json;
    for seg in parent {
        node = match node {
            serde_json::Value::Object(map) => match map.get_mut(*seg) {
                Some(n) => n,
                None => return false,
            },
            serde_json::Value::Array(items) => {
                match seg.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                    Some(n) => n,
                    None => return false,
                }
            }
            _ => return false,
        };
    }
    match node {
        serde_json::Value::Object(map) => map.remove(field).is_some(),
        _ => false,
    }
}

/// `metadata` as Kubernetes reads it; unknown keys are errors.
pub(crate) fn decode_metadata(manifest: &Manifest, findings: &mut Vec<Finding>) -> ObjectMeta {
    const KNOWN: &[&str] = &[
        "name",
        "namespace",
        "labels",
        "annotations",
        "generateName",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "finalizers",
        "ownerReferences",
        "managedFields",
        "selfLink",
    ];
    let Some(meta) = manifest.node.get("metadata") else {
        return ObjectMeta::default();
    };
    if let Value::Map(entries) = &meta.value {
        for e in entries {
            if !KNOWN.contains(&e.key.as_str()) {
                let expected: Vec<String> = KNOWN.iter().map(|s| s.to_string()).collect();
                let mut message = format!("unknown field `metadata.{}`", e.key);
                if let Some(hint) = did_you_mean(&e.key, &expected, &["metadata".to_string()]) {
                    message.push_str(&format!("; did you mean `{hint}`?"));
                }
                findings.push(manifest.finding(e.key_line, Severity::Error, message));
            }
        }
    }
    let mut json = meta.to_json();
    if let serde_json::Value::Object(map) = &mut json {
        map.retain(|k, _| KNOWN.contains(&k.as_str()));
        // `annotations:` with only a comment under it is null: fine for
        // Kubernetes, and not an error of the object.
        map.retain(|_, v| !v.is_null());
    }
    decode_at(manifest, "metadata", json, findings).unwrap_or_default()
}

#[cfg(test)]
mod tests;
