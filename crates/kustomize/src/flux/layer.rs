//! The top kustomization file as Flux builds it (`fluxcd/pkg/kustomize`
//! `Generator.GenerateManifest`): the directory's own file, or one generated
//! from the YAML files found there, with the Kustomization's spec fields
//! layered in (`targetNamespace`, `namePrefix`/`nameSuffix`, `patches`,
//! `components`, `images`, `buildMetadata`).
//!
//! Flux decodes the file into kustomize's type and writes it back, dropping
//! unknown keys. Here the user's lines stay where they are (so an error in
//! them keeps its line): the entries Flux replaces or drops are blanked and
//! the new values appended after the last line. `sortOptions: fifo` is
//! appended when the file has none, because Flux builds without kustomize's
//! legacy reordering.

use std::path::{Path, PathBuf};

use ferroflux_api::kustomize::KustomizationSpec;
use ferroflux_api::yaml;

use crate::error::Error;
use crate::flux::ignore::Matcher;
use crate::fs::{FileSystem, normalize};
use crate::kustomization::{FILE_NAMES, KNOWN_FIELDS as KNOWN_KEYS};
use crate::value::{Map, Value, from_node};

/// Files a generated kustomization lists at most (a directory of a
/// stranger's repository can hold any number).
pub const MAX_GENERATED_RESOURCES: usize = 100_000;

/// Whether the file was the directory's own or generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Unchanged,
    Created,
}

/// The kustomization file Flux builds.
#[derive(Debug, Clone, PartialEq)]
pub struct Layered {
    /// Where it is (or would be written).
    pub path: PathBuf,
    pub text: String,
    pub action: Action,
    /// Lines of the text that are the user's (or generated); the
    /// Kustomization's fields come after them.
    pub user_lines: usize,
    /// Things Flux does silently that change the build (dropped keys).
    pub warnings: Vec<String>,
}

/// Flux's `IsLocalRelativePath` for `components` entries.
pub fn is_local_relative_path(path: &str) -> bool {
    const REMOTE: [&str; 8] = [
        "git::",
        "gh:",
        "ssh://",
        "https://",
        "http://",
        "git@",
        "github.com:",
        "github.com/",
    ];
    for p in REMOTE {
        if p.len() < path.len()
            && path
                .get(..p.len())
                .is_some_and(|head| head.to_lowercase() == p)
        {
            return false;
        }
    }
    let lower = path.to_lowercase();
    let without_scheme = lower.strip_prefix("file://").unwrap_or(&lower);
    !(path.starts_with('/') || without_scheme.starts_with('/'))
}

/// The kustomization file of `dir` with `spec` layered in; `ignore`
/// holds `--ignore-paths` patterns (on top of Flux's defaults and the
/// `.sourceignore` files), or `None` for the controller, which filters
/// nothing (the artifact already is).
pub fn layer(
    fs: &dyn FileSystem,
    dir: &Path,
    spec: &KustomizationSpec,
    ignore: Option<&[String]>,
) -> Result<Layered, Error> {
    let dir = normalize(dir);
    let matcher = match ignore {
        Some(extra) => Matcher::for_dir(fs, &dir, extra),
        None => Matcher::default(),
    };
    let (path, text, action) = match FILE_NAMES
        .iter()
        .map(|n| dir.join(n))
        .find(|p| fs.is_file(p))
    {
        Some(path) => {
            let bytes = fs.read(&path).map_err(|e| Error::Build(e.to_string()))?;
            let text = String::from_utf8(bytes).map_err(|_| Error::At {
                file: path.display().to_string(),
                line: 1,
                message: "invalid Kustomization: the file is not UTF-8 text".to_string(),
            })?;
            (path, text, Action::Unchanged)
        }
        None => (
            dir.join(FILE_NAMES[0]),
            generate(fs, &dir, &matcher)?,
            Action::Created,
        ),
    };
    apply_spec(fs, &dir, &path, &text, action, spec, &matcher)
}

/// A kustomization listing every Kubernetes YAML file below `dir`
/// (`scanManifests`): files ending `.yaml` or `.yml`, in lexical walk
/// order; a subdirectory with its own kustomization file is listed as a
/// directory and not entered; a file that is not Kubernetes YAML fails the
/// generation. No file at all gives `namespace: _placeholder`. The ignore
/// rules apply only when there is a `.sourceignore` or `--ignore-paths`
/// pattern: Flux's defaults alone leave `.github/*.yaml` in the scan.
pub fn generate(fs: &dyn FileSystem, dir: &Path, matcher: &Matcher) -> Result<String, Error> {
    let mut resources = Vec::new();
    let root_real = fs.real_path(dir).map_err(|e| Error::Build(e.to_string()))?;
    // Depth-first in lexical order, a directory's entries before its next
    // sibling, as filepath.Walk; each entry with the real path it has when
    // no symlink is involved (a symlink is not followed).
    let mut stack: Vec<(PathBuf, PathBuf, Vec<String>)> =
        vec![(dir.to_path_buf(), root_real, Vec::new())];
    while let Some((path, expected_real, rel)) = stack.pop() {
        let is_link = !rel.is_empty() && fs.real_path(&path).is_ok_and(|r| r != expected_real);
        let is_dir = !is_link && fs.is_dir(&path);
        if !rel.is_empty() && !is_dir {
            let name = rel.last().map(String::as_str).unwrap_or_default();
            if !(name.ends_with(".yaml") || name.ends_with(".yml"))
                || (matcher.has_user_patterns() && matcher.is_ignored(&path, false))
            {
                continue;
            }
            let bytes = fs.read(&path).map_err(|e| Error::Build(e.to_string()))?;
            let text = String::from_utf8_lossy(&bytes);
            let file = path.display().to_string();
            crate::build::parse_resources(&file, &text).map_err(|e| {
                Error::Build(format!(
                    "failed to generate kustomization.yaml: failed to decode Kubernetes YAML \
                     from {file}: {e}"
                ))
            })?;
            resources.push(format!("./{}", rel.join("/")));
            if resources.len() > MAX_GENERATED_RESOURCES {
                return Err(Error::Build(format!(
                    "failed to generate kustomization.yaml: more than {MAX_GENERATED_RESOURCES} \
                     YAML files below {}",
                    dir.display()
                )));
            }
            continue;
        }
        if !is_dir {
            continue;
        }
        if !rel.is_empty() && FILE_NAMES.iter().any(|n| fs.is_file(&path.join(n))) {
            resources.push(format!("./{}", rel.join("/")));
            continue;
        }
        let names = fs
            .list_dir(&path)
            .map_err(|e| Error::Build(e.to_string()))?;
        for name in names.into_iter().rev() {
            let mut r = rel.clone();
            r.push(name.clone());
            stack.push((path.join(&name), expected_real.join(&name), r));
        }
    }
    let mut k = Map::default();
    k.insert(
        "apiVersion",
        Value::Str("kustomize.config.k8s.io/v1beta1".to_string()),
    );
    k.insert("kind", Value::Str("Kustomization".to_string()));
    if resources.is_empty() {
        k.insert("namespace", Value::Str("_placeholder".to_string()));
    } else {
        k.insert(
            "resources",
            Value::Seq(resources.into_iter().map(Value::Str).collect()),
        );
    }
    crate::emit::document(&Value::Map(k)).map_err(|e| Error::Build(e.to_string()))
}

/// A top-level entry of the file: its key, value and lines.
struct Entry {
    key: String,
    value: Value,
    first: usize,
    /// One past the last line it spans.
    end: usize,
}

fn apply_spec(
    fs: &dyn FileSystem,
    dir: &Path,
    path: &Path,
    text: &str,
    action: Action,
    spec: &KustomizationSpec,
    matcher: &Matcher,
) -> Result<Layered, Error> {
    let file = path.display().to_string();
    let lines: Vec<&str> = text.lines().collect();
    let entries = top_entries(&file, text, lines.len())?;
    let mut warnings = Vec::new();
    let mut blank = vec![false; lines.len() + 1];
    let mut appended: Vec<(&str, Value)> = Vec::new();
    let field = |name: &str| {
        entries
            .iter()
            .rev()
            .find(|e| e.key.eq_ignore_ascii_case(name))
            .map(|e| e.value.clone())
    };
    let mut replace = |name: &'static str, value: Value, blank: &mut Vec<bool>| {
        for e in entries.iter().filter(|e| e.key.eq_ignore_ascii_case(name)) {
            for b in &mut blank[e.first..e.end] {
                *b = true;
            }
        }
        appended.push((name, value));
    };
    for e in &entries {
        if !KNOWN_KEYS.iter().any(|k| k.eq_ignore_ascii_case(&e.key)) {
            warnings.push(format!(
                "{file}:{}: unknown field `{}` dropped, as Flux does when it layers the \
                 Kustomization into this file (kustomize alone would refuse it)",
                e.first, e.key
            ));
            for b in &mut blank[e.first..e.end] {
                *b = true;
            }
        }
    }
    let strings = |v: Option<Value>| -> Vec<String> {
        match v {
            Some(Value::Seq(items)) => items.iter().filter_map(|i| i.scalar_text()).collect(),
            _ => Vec::new(),
        }
    };
    let resources = strings(field("resources"));
    let mut build_metadata: Option<Vec<String>> = None;
    if action == Action::Unchanged && resources.is_empty() {
        build_metadata = Some(vec!["originAnnotations".to_string()]);
    }
    // The flux CLI drops local entries its ignore rules match.
    for name in ["resources", "components", "crds"] {
        let list = strings(field(name));
        let kept: Vec<String> = list
            .iter()
            .filter(|entry| !is_ignored_entry(fs, dir, entry, matcher))
            .cloned()
            .collect();
        if kept.len() != list.len() {
            replace(
                match name {
                    "resources" => "resources",
                    "components" => "components",
                    _ => "crds",
                },
                Value::Seq(kept.into_iter().map(Value::Str).collect()),
                &mut blank,
            );
        }
    }
    if let Some(ns) = &spec.target_namespace {
        replace("namespace", Value::Str(ns.clone()), &mut blank);
    }
    if let Some(p) = &spec.name_prefix {
        replace("namePrefix", Value::Str(p.clone()), &mut blank);
    }
    if let Some(s) = &spec.name_suffix {
        replace("nameSuffix", Value::Str(s.clone()), &mut blank);
    }
    if !spec.patches.is_empty() {
        let mut patches = match field("patches") {
            Some(Value::Seq(items)) => items,
            _ => Vec::new(),
        };
        patches.extend(spec.patches.iter().map(patch_value));
        replace("patches", Value::Seq(patches), &mut blank);
    }
    if !spec.components.is_empty() {
        let mut components = match field("components") {
            Some(Value::Seq(items)) => items,
            _ => Vec::new(),
        };
        let ignore_missing = spec.ignore_missing_components.unwrap_or(false);
        for c in &spec.components {
            if !is_local_relative_path(c) {
                return Err(Error::Build(format!(
                    "failed to generate kustomization.yaml: component path '{c}' must be local \
                     and relative"
                )));
            }
            let target = normalize(&dir.join(c));
            if ignore_missing && !fs.is_dir(&target) && !fs.is_file(&target) {
                continue;
            }
            components.push(Value::Str(c.clone()));
        }
        replace("components", Value::Seq(components), &mut blank);
    }
    // A v1beta2 Kustomization's deprecated fields, as Flux's generator
    // still layers them: the SMP as its JSON text, the 6902 operations
    // as a JSON list with the target.
    if !spec.legacy_patches_strategic_merge.is_empty() {
        let mut patches = match field("patchesStrategicMerge") {
            Some(Value::Seq(items)) => items,
            _ => Vec::new(),
        };
        patches.extend(
            spec.legacy_patches_strategic_merge
                .iter()
                .map(|p| Value::Str(p.to_string())),
        );
        replace("patchesStrategicMerge", Value::Seq(patches), &mut blank);
    }
    if !spec.legacy_patches_json6902.is_empty() {
        let mut patches = match field("patchesJson6902") {
            Some(Value::Seq(items)) => items,
            _ => Vec::new(),
        };
        patches.extend(spec.legacy_patches_json6902.iter().map(|p| {
            patch_value(&ferroflux_api::kustomize::Patch {
                patch: serde_json::Value::Array(p.operations.clone()).to_string(),
                target: Some(p.target.clone()),
            })
        }));
        replace("patchesJson6902", Value::Seq(patches), &mut blank);
    }
    if !spec.images.is_empty() {
        let images = match field("images") {
            Some(Value::Seq(items)) => items,
            _ => Vec::new(),
        };
        replace("images", Value::Seq(merge_images(images, spec)), &mut blank);
    }
    if !spec.build_metadata.is_empty() {
        build_metadata = Some(spec.build_metadata.clone());
    }
    if let Some(m) = build_metadata {
        replace(
            "buildMetadata",
            Value::Seq(m.into_iter().map(Value::Str).collect()),
            &mut blank,
        );
    }
    if field("sortOptions").is_some() {
        // kustomize 5.8 (Flux's) says so: its Reorder option is set, if empty.
        warnings.push(
            "Warning: Sorting order is set both in 'kustomization.yaml' ('sortOptions') and in \
             a CLI flag ('--reorder'). Using the kustomization file over the CLI flag."
                .to_string(),
        );
    } else {
        let mut fifo = Map::default();
        fifo.insert("order", Value::Str("fifo".to_string()));
        appended.push(("sortOptions", Value::Map(fifo)));
    }
    let mut out = String::with_capacity(text.len() + 256);
    for (i, line) in lines.iter().enumerate() {
        if !blank[i + 1] {
            out.push_str(line);
        }
        out.push('\n');
    }
    if entries.is_empty()
        && lines
            .iter()
            .all(|l| l.trim().is_empty() || l.starts_with('#'))
    {
        // An empty file decodes to an empty Kustomization.
        out.push_str("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n");
    }
    let user_lines = out.lines().count();
    for (key, value) in appended {
        let mut m = Map::default();
        m.insert(key, value);
        out.push_str(
            &crate::emit::document(&Value::Map(m)).map_err(|e| Error::Build(e.to_string()))?,
        );
    }
    Ok(Layered {
        path: path.to_path_buf(),
        text: out,
        action,
        user_lines,
        warnings,
    })
}

/// A local entry of `resources`/`components`/`crds` the ignore rules
/// match (remote entries are never filtered).
fn is_ignored_entry(fs: &dyn FileSystem, dir: &Path, entry: &str, matcher: &Matcher) -> bool {
    if entry.contains("://") {
        return false;
    }
    let full = normalize(&dir.join(entry));
    // Lstat: a symlink is not a directory.
    let linked = match (fs.real_path(&full), full.parent().map(|p| fs.real_path(p))) {
        (Ok(real), Some(Ok(parent))) => full.file_name().is_some_and(|n| real != parent.join(n)),
        _ => false,
    };
    matcher.is_ignored(&full, !linked && fs.is_dir(&full))
}

fn patch_value(p: &ferroflux_api::kustomize::Patch) -> Value {
    let mut m = Map::default();
    m.insert("patch", Value::Str(p.patch.clone()));
    if let Some(t) = &p.target {
        let mut target = Map::default();
        for (k, v) in [
            ("group", &t.group),
            ("version", &t.version),
            ("kind", &t.kind),
            ("name", &t.name),
            ("namespace", &t.namespace),
            ("labelSelector", &t.label_selector),
            ("annotationSelector", &t.annotation_selector),
        ] {
            if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
                target.insert(k, Value::Str(v.clone()));
            }
        }
        m.insert("target", Value::Map(target));
    }
    Value::Map(m)
}

/// Flux's image rule: an entry of the same name is merged (`newName` when
/// set; `newTag` and `digest` replaced together when either is set);
/// otherwise appended.
fn merge_images(mut images: Vec<Value>, spec: &KustomizationSpec) -> Vec<Value> {
    fn key_of<'a>(m: &'a Map, key: &str) -> Option<&'a str> {
        m.0.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .and_then(|(_, v)| v.as_str())
    }
    fn set(m: &mut Map, key: &str, value: &str) {
        m.0.retain(|(k, _)| !k.eq_ignore_ascii_case(key) || k == key);
        if value.is_empty() {
            m.remove(key);
        } else {
            m.insert(key, Value::Str(value.to_string()));
        }
    }
    for image in &spec.images {
        let existing = images.iter_mut().find_map(|v| match v {
            Value::Map(m) if key_of(m, "name") == Some(image.name.as_str()) => Some(m),
            _ => None,
        });
        let new_name = image.new_name.clone().unwrap_or_default();
        let new_tag = image.new_tag.clone().unwrap_or_default();
        let digest = image.digest.clone().unwrap_or_default();
        match existing {
            Some(m) => {
                if !new_name.is_empty() {
                    set(m, "newName", &new_name);
                }
                if !new_tag.is_empty() || !digest.is_empty() {
                    set(m, "newTag", &new_tag);
                    set(m, "digest", &digest);
                }
            }
            None => {
                let mut m = Map::default();
                m.insert("name", Value::Str(image.name.clone()));
                for (k, v) in [
                    ("newName", new_name),
                    ("newTag", new_tag),
                    ("digest", digest),
                ] {
                    if !v.is_empty() {
                        m.insert(k, Value::Str(v));
                    }
                }
                images.push(Value::Map(m));
            }
        }
    }
    images
}

/// The top-level entries with the lines each spans (1-based, `end`
/// exclusive). A file whose top level is not a block mapping at column 1
/// cannot keep its lines: it is refused with the loader's words.
fn top_entries(file: &str, text: &str, nlines: usize) -> Result<Vec<Entry>, Error> {
    let docs = yaml::parse_stream_raw_last_key_wins(text).map_err(|e| Error::At {
        file: file.to_string(),
        line: e.line,
        message: format!("invalid Kustomization: {}", e.message),
    })?;
    let mut nodes = docs.into_iter().filter_map(|d| d.node);
    let Some(root) = nodes.next() else {
        return Ok(Vec::new());
    };
    if let Some(extra) = nodes.next() {
        return Err(Error::At {
            file: file.to_string(),
            line: extra.line,
            message: "invalid Kustomization: the file holds more than one document".to_string(),
        });
    }
    let yaml::Value::Map(entries) = &root.value else {
        return Err(Error::At {
            file: file.to_string(),
            line: root.line,
            message: "invalid Kustomization: the document is not a mapping".to_string(),
        });
    };
    let lines: Vec<&str> = text.lines().collect();
    let block = entries.iter().all(|e| {
        lines
            .get(e.key_line.saturating_sub(1))
            .is_some_and(|l| !l.starts_with([' ', '\t', '{']))
    });
    if !block {
        return Err(Error::At {
            file: file.to_string(),
            line: root.line,
            message: "the top level of a kustomization file Flux layers a Kustomization into \
                      must be a block mapping (one `key:` per line at the left margin)"
                .to_string(),
        });
    }
    // Where the document ends: a `---` or `...` line after the last key.
    let last_key = entries.last().map_or(1, |e| e.key_line);
    let doc_end = (last_key..=nlines)
        .find(|&l| {
            lines
                .get(l - 1)
                .is_some_and(|t| l > last_key && (t.starts_with("---") || t.starts_with("...")))
        })
        .unwrap_or(nlines + 1);
    let mut out = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let end = entries.get(i + 1).map_or(doc_end, |n| n.key_line);
        out.push(Entry {
            key: e.key.clone(),
            value: from_node(&e.value),
            first: e.key_line,
            end: end.max(e.key_line + 1).min(nlines + 1),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
