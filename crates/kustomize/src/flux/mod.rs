//! What Flux adds around kustomize: `flux build kustomization`'s pipeline
//! for a `kustomize.toolkit.fluxcd.io/v1` Kustomization over a directory.
//! Pure like the rest of the crate: files come through a [`FileSystem`],
//! the Kustomization and the `substituteFrom` objects as text.
//!
//! The steps, in Flux's order (`flux2 internal/build`): the top
//! kustomization file is found or generated and the Kustomization's spec
//! layered in ([`layer`]); kustomize builds it without legacy reordering and
//! with no load restriction; `postBuild` substitution runs per resource
//! ([`postbuild`]); the owner labels `kustomize.toolkit.fluxcd.io/name` and
//! `/namespace` are set; SOPS-encrypted Secret values are masked
//! (`**SOPS**`); `commonMetadata` is merged in; each object is printed as
//! YAML followed by a `---` line.

pub mod envsubst;
pub mod ignore;
pub mod layer;
pub mod postbuild;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ferroflux_api::kustomize::Kustomization;
use ferroflux_api::manifest::{self, Object, Severity};

use crate::build::{LoadRestrictor, Options};
use crate::error::Error;
use crate::fs::{FileSystem, FsError, normalize};
use crate::resource::Resource;
use crate::value::{Map, Value};

/// The group of Flux's Kustomization, and of the owner labels.
pub const GROUP: &str = "kustomize.toolkit.fluxcd.io";
/// What replaces a SOPS-encrypted value.
pub const MASK: &str = "**SOPS**";

/// The Kustomization named `name` in `namespace` (or with no namespace)
/// among the documents of `text` (the `--kustomization-file`), as the
/// `flux` CLI picks it: the first document of group
/// `kustomize.toolkit.fluxcd.io` and kind `Kustomization` that matches.
/// Unlike Flux, a field the API does not have is an error with its line
/// and the field it probably meant, not silently dropped.
pub fn select(
    file: &Path,
    text: &str,
    name: &str,
    namespace: &str,
) -> Result<Kustomization, Error> {
    let loaded = manifest::load_str(file, text);
    let found = loaded.manifests.iter().find(|m| {
        m.api_version.starts_with(&format!("{GROUP}/"))
            && m.kind == "Kustomization"
            && m.name == name
            && m.namespace.as_deref().is_none_or(|ns| ns == namespace)
    });
    let Some(m) = found else {
        if let Some(f) = loaded
            .findings
            .iter()
            .find(|f| f.severity == Severity::Error && f.object.is_none())
        {
            return Err(Error::Build(f.to_string()));
        }
        return Err(Error::Build(format!(
            "failed to get kustomization object: failed find kustomization with name '{name}' and namespace '{namespace}' in file \
             '{}'",
            file.display()
        )));
    };
    let label = m.display_name();
    let errors: Vec<String> = loaded
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error && f.object.as_deref() == Some(label.as_str()))
        .map(ToString::to_string)
        .collect();
    if !errors.is_empty() {
        return Err(Error::Build(errors.join("\n")));
    }
    match &m.object {
        Object::Kustomization(k) => {
            let mut k = k.clone();
            if k.metadata.namespace.is_none() {
                // The flux CLI keeps the file's (empty) namespace; the owner
                // label then says so.
                k.metadata.namespace = Some(String::new());
            }
            Ok(k)
        }
        _ => Err(Error::Build(format!(
            "{}:{}: {label}: the Kustomization could not be decoded",
            file.display(),
            m.line
        ))),
    }
}

/// Where `substituteFrom` values come from. Its `Debug` names the files,
/// never their content (Secrets).
#[derive(Clone, Default)]
pub enum SubstituteFrom {
    /// Skipped, as `flux build kustomization --dry-run` does (no cluster).
    #[default]
    Skip,
    /// ConfigMaps and Secrets given as manifests (`file`, text).
    Objects(Vec<(PathBuf, String)>),
    /// What the controller read from its home: (kind, name, data) of the
    /// ConfigMaps and Secrets (Secret data decoded) of the Kustomization's
    /// namespace that `substituteFrom` names and that exist.
    Data(Vec<(String, String, BTreeMap<String, String>)>),
}

impl std::fmt::Debug for SubstituteFrom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SubstituteFrom::Skip => f.write_str("Skip"),
            SubstituteFrom::Objects(files) => f
                .debug_tuple("Objects")
                .field(&files.iter().map(|(p, _)| p).collect::<Vec<_>>())
                .finish(),
            SubstituteFrom::Data(objects) => f
                .debug_tuple("Data")
                .field(
                    &objects
                        .iter()
                        .map(|(kind, name, _)| format!("{kind}/{name}"))
                        .collect::<Vec<_>>(),
                )
                .finish(),
        }
    }
}

/// How to build.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// `--strict-substitute` (the CLI's default is off, the controller's on).
    pub strict_substitute: bool,
    pub substitute_from: SubstituteFrom,
    /// `--ignore-paths`: gitignore patterns relative to the build directory.
    pub ignore_paths: Vec<String>,
    /// Accumulation bound of the kustomize build.
    pub max_accumulated: Option<usize>,
    /// Runs on every built resource before `postBuild` substitution, where
    /// kustomize-controller decrypts SOPS resources (`DecryptResource`).
    pub decrypt: Option<ResourceHook>,
}

/// What a [`ResourceHook`] runs: the resource in place, or an error
/// message that fails the build.
pub type ResourceFn = dyn Fn(&mut crate::value::Value) -> Result<(), String> + Send + Sync;

/// A step over each built resource.
#[derive(Clone)]
pub struct ResourceHook(pub std::sync::Arc<ResourceFn>);

// The hook holds keys: its Debug says only that it is there.
impl std::fmt::Debug for ResourceHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResourceHook")
    }
}

/// What a build printed, and what it wants to tell on standard error.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Built {
    pub yaml: String,
    pub warnings: Vec<String>,
}

/// The file system with one file replaced (the layered kustomization).
struct Overlay<'a> {
    inner: &'a dyn FileSystem,
    path: PathBuf,
    bytes: Vec<u8>,
}

impl FileSystem for Overlay<'_> {
    fn read(&self, path: &Path) -> Result<Vec<u8>, FsError> {
        if normalize(path) == self.path {
            return Ok(self.bytes.clone());
        }
        self.inner.read(path)
    }

    fn is_dir(&self, path: &Path) -> bool {
        normalize(path) != self.path && self.inner.is_dir(path)
    }

    fn is_file(&self, path: &Path) -> bool {
        normalize(path) == self.path || self.inner.is_file(path)
    }

    fn list_dir(&self, path: &Path) -> Result<Vec<String>, FsError> {
        let mut names = self.inner.list_dir(path)?;
        if self.path.parent() == Some(normalize(path).as_path())
            && let Some(name) = self.path.file_name()
        {
            let name = name.to_string_lossy().into_owned();
            if !names.contains(&name) {
                names.push(name);
                names.sort();
            }
        }
        Ok(names)
    }

    fn real_path(&self, path: &Path) -> Result<PathBuf, FsError> {
        if normalize(path) == self.path
            && !self.inner.is_file(path)
            && let (Some(parent), Some(name)) = (self.path.parent(), self.path.file_name())
        {
            return Ok(self.inner.real_path(parent)?.join(name));
        }
        self.inner.real_path(path)
    }
}

/// `flux build kustomization NAME --path DIR`: the objects as Flux prints
/// them.
pub fn build(
    fs: &dyn FileSystem,
    dir: &Path,
    ks: &Kustomization,
    opts: &BuildOptions,
) -> Result<Built, Error> {
    let dir = normalize(dir);
    if !fs.is_dir(&dir) {
        return Err(Error::Build(format!(
            "invalid resource path {:?}",
            dir.display().to_string()
        )));
    }
    let (resources, mut warnings) = build_resources(fs, &dir, ks, opts, Caller::Cli)?;
    let name = ks.metadata.name.clone().unwrap_or_default();
    let namespace = ks.metadata.namespace.clone().unwrap_or_default();
    let mut out = String::new();
    for mut r in resources {
        set_label(&mut r, &format!("{GROUP}/name"), &name);
        set_label(&mut r, &format!("{GROUP}/namespace"), &namespace);
        mask_sops(&mut r)?;
        if !is_kubernetes_object(&r) {
            warnings.push(format!(
                "{} dropped from the output: Flux prints only objects with apiVersion, kind \
                 and name, and no kustomize.config.k8s.io Kustomization",
                r.cur_id().display()
            ));
            continue;
        }
        if let Some(cm) = &ks.spec.common_metadata {
            common_metadata(&mut r, cm);
        }
        unsigned_to_float(&mut r.value);
        out.push_str(&crate::emit::document(&r.value).map_err(|e| Error::Build(e.to_string()))?);
        out.push_str("---\n");
    }
    Ok(Built {
        yaml: out,
        warnings,
    })
}

/// What kustomize-controller's build step hands to the apply step: the
/// output of kustomize after post-build substitution, as kustomize prints
/// it (`ResMap.AsYaml`), and its digest, the `status.history` key.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Manifests {
    pub yaml: String,
    /// `sha256:<hex>` of `yaml`.
    pub digest: String,
    pub warnings: Vec<String>,
}

/// The Kustomization controller's build of `ks` over the extracted
/// artifact at `dir`: like [`build`] but as kustomize-controller runs it,
/// i.e. no ignore rules (the artifact is already filtered), no SOPS
/// masking, and no owner labels or `commonMetadata` (set at apply time).
/// `opts.strict_substitute` should be on: the controller's default.
pub fn build_for_apply(
    fs: &dyn FileSystem,
    dir: &Path,
    ks: &Kustomization,
    opts: &BuildOptions,
) -> Result<Manifests, Error> {
    use sha2::Digest;
    let dir = normalize(dir);
    if !fs.is_dir(&dir) {
        return Err(Error::Build(format!(
            "kustomization path not found: {}: no such file or directory",
            dir.display()
        )));
    }
    let (resources, warnings) = build_resources(fs, &dir, ks, opts, Caller::Controller)?;
    let yaml = crate::emit::documents(resources.iter().map(|r| &r.value))
        .map_err(|e| Error::Build(format!("kustomize build failed: {e}")))?;
    let digest = format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(yaml.as_bytes()))
    );
    Ok(Manifests {
        yaml,
        digest,
        warnings,
    })
}

/// Who builds: the `flux` CLI filters with the ignore rules, the
/// controller does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Cli,
    Controller,
}

/// Layer, build and substitute: the steps the CLI and the controller share.
fn build_resources(
    fs: &dyn FileSystem,
    dir: &Path,
    ks: &Kustomization,
    opts: &BuildOptions,
    caller: Caller,
) -> Result<(Vec<Resource>, Vec<String>), Error> {
    let ignore = match caller {
        Caller::Cli => Some(opts.ignore_paths.as_slice()),
        Caller::Controller => None,
    };
    let layered = layer::layer(fs, dir, &ks.spec, ignore)?;
    let mut warnings = layered.warnings.clone();
    let overlay = Overlay {
        inner: fs,
        path: layered.path.clone(),
        bytes: layered.text.clone().into_bytes(),
    };
    let build_opts = Options {
        load_restrictor: LoadRestrictor::None,
        max_accumulated: opts
            .max_accumulated
            .unwrap_or(crate::build::MAX_ACCUMULATED),
    };
    let (mut resources, kwarnings) = crate::build::build_with_warnings(&overlay, dir, &build_opts)
        .map_err(|e| Error::Build(format!("kustomize build failed: {}", locate(e, &layered))))?;
    warnings.extend(kwarnings);
    if let Some(hook) = &opts.decrypt {
        for r in &mut resources {
            (hook.0)(&mut r.value).map_err(Error::Build)?;
        }
    }
    let namespace = ks.metadata.namespace.clone().unwrap_or_default();
    if let Some(pb) = &ks.spec.post_build {
        let sub = postbuild::Substitution {
            vars: variables(pb, &namespace, &opts.substitute_from, &mut warnings)?,
            strict: opts.strict_substitute,
            always: pb.substitute_strategy.as_deref() == Some("Always"),
            limits: envsubst::Limits::default(),
        };
        for r in &mut resources {
            postbuild::substitute(r, &sub)?;
        }
    }
    Ok((resources, warnings))
}

/// An error at a line of the layered file that the user did not write
/// says where it comes from: the generated file, or the Kustomization's
/// fields appended after the user's last line.
fn locate(e: Error, layered: &layer::Layered) -> Error {
    let file = layered.path.display().to_string();
    let origin = |line: usize| match layered.action {
        layer::Action::Created => Some(format!(
            "{file} (generated by Flux: the directory has no kustomization file; {line}: \
             {})",
            layered
                .text
                .lines()
                .nth(line.saturating_sub(1))
                .unwrap_or_default()
        )),
        layer::Action::Unchanged if line > layered.user_lines => Some(format!(
            "{file} (the Flux Kustomization's fields, appended after line {})",
            layered.user_lines
        )),
        layer::Action::Unchanged => None,
    };
    match e {
        Error::At {
            file: f,
            line,
            message,
        } if f == file => match origin(line) {
            Some(place) => Error::Build(format!("{place}: {message}")),
            None => Error::At {
                file: f,
                line,
                message,
            },
        },
        Error::NotSupported {
            field,
            file: f,
            line,
        } if f == file => match origin(line) {
            Some(place) => Error::Build(format!("{place}: not supported yet: {field}")),
            None => Error::NotSupported {
                field,
                file: f,
                line,
            },
        },
        other => other,
    }
}

/// The variables of `postBuild`: `substituteFrom` in order, then the
/// inline map; `\n` removed from every value.
fn variables(
    pb: &ferroflux_api::kustomize::PostBuild,
    namespace: &str,
    from: &SubstituteFrom,
    warnings: &mut Vec<String>,
) -> Result<BTreeMap<String, String>, Error> {
    let mut vars = BTreeMap::new();
    match from {
        SubstituteFrom::Skip => {
            for r in &pb.substitute_from {
                warnings.push(format!(
                    "postBuild.substituteFrom {}/{} skipped: there is no cluster to read it \
                     from (as `flux build kustomization --dry-run`); give its manifest with \
                     --substitute-from FILE",
                    r.kind, r.name
                ));
            }
        }
        SubstituteFrom::Data(objects) => {
            for r in &pb.substitute_from {
                match objects
                    .iter()
                    .find(|(kind, name, _)| *kind == r.kind && *name == r.name)
                {
                    Some((_, _, data)) => {
                        for (k, v) in data {
                            vars.insert(k.clone(), v.replace('\n', ""));
                        }
                    }
                    None if r.optional.unwrap_or(false) => {}
                    None => {
                        return Err(Error::Build(format!(
                            "substitute from '{}/{}' error: {} \"{}\" not found",
                            r.kind,
                            r.name,
                            plural(&r.kind),
                            r.name
                        )));
                    }
                }
            }
        }
        SubstituteFrom::Objects(files) => {
            let objects = substitute_objects(files, namespace)?;
            for r in &pb.substitute_from {
                let found = objects
                    .iter()
                    .find(|(kind, name, _)| *kind == r.kind && *name == r.name);
                match found {
                    Some((_, _, data)) => {
                        for (k, v) in data {
                            vars.insert(k.clone(), v.replace('\n', ""));
                        }
                    }
                    None if r.optional.unwrap_or(false) => {}
                    None => {
                        let plural = plural(&r.kind);
                        return Err(Error::Build(format!(
                            "substitute from '{}/{}' error: {plural} \"{}\" not found (looked in \
                             namespace '{namespace}' of {})",
                            r.kind,
                            r.name,
                            r.name,
                            files
                                .iter()
                                .map(|(p, _)| p.display().to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )));
                    }
                }
            }
        }
    }
    if let Some(inline) = &pb.substitute {
        for (k, v) in inline {
            vars.insert(k.clone(), v.replace('\n', ""));
        }
    }
    Ok(vars)
}

fn plural(kind: &str) -> &'static str {
    match kind {
        "Secret" => "secrets",
        _ => "configmaps",
    }
}

type DataObject = (String, String, Vec<(String, String)>);

/// ConfigMaps (`data`) and Secrets (`data` decoded, then `stringData`, as
/// the API server merges them) of `namespace` (or without one).
fn substitute_objects(
    files: &[(PathBuf, String)],
    namespace: &str,
) -> Result<Vec<DataObject>, Error> {
    use base64::Engine;
    let mut out = Vec::new();
    for (path, text) in files {
        let file = path.display().to_string();
        for r in crate::build::parse_resources(&file, text)? {
            let kind = r.kind();
            if r.api_version() != "v1" || (kind != "ConfigMap" && kind != "Secret") {
                continue;
            }
            let ns = r.namespace();
            if !ns.is_empty() && ns != namespace {
                continue;
            }
            let field = |name: &str| -> Vec<(String, String)> {
                match r.value.get(name) {
                    Some(Value::Map(m)) => {
                        m.0.iter()
                            .map(|(k, v)| (k.clone(), v.scalar_text().unwrap_or_default()))
                            .collect()
                    }
                    _ => Vec::new(),
                }
            };
            let mut data = Vec::new();
            if kind == "Secret" {
                for (k, v) in field("data") {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(v.trim())
                        .map_err(|_| {
                            // The decoder's message quotes a byte of the value.
                            Error::Build(format!(
                                "{}: Secret/{}: data.{k} is not base64",
                                r.source,
                                r.name()
                            ))
                        })?;
                    data.push((k, String::from_utf8_lossy(&bytes).into_owned()));
                }
                data.extend(field("stringData"));
            } else {
                data = field("data");
            }
            out.push((kind, r.name(), data));
        }
    }
    Ok(out)
}

/// Flux reads the build into unstructured objects, where a number above
/// `i64::MAX` is a float64 (printed `12345678901234567000`).
fn unsigned_to_float(v: &mut Value) {
    match v {
        Value::Uint(u) => *v = Value::Float(*u as f64),
        Value::Spelled(_) => {
            if let Value::Uint(u) = v.resolved() {
                *v = Value::Float(u as f64);
            }
        }
        Value::Seq(items) => items.iter_mut().for_each(unsigned_to_float),
        Value::Map(m) => m.0.iter_mut().for_each(|(_, v)| unsigned_to_float(v)),
        _ => {}
    }
}

/// kyaml's `SetLabel`: `metadata.labels` created when missing.
fn set_label(r: &mut Resource, key: &str, value: &str) {
    let Some(meta) = r.value.as_map_mut().and_then(|m| m.map_entry("metadata")) else {
        return;
    };
    if let Some(labels) = meta.map_entry("labels") {
        labels.insert(key, Value::Str(value.to_string()));
    }
}

/// ssa's `IsKubernetesObject` and not `IsKustomization`.
fn is_kubernetes_object(r: &Resource) -> bool {
    let api_version = r.api_version();
    !(r.name().is_empty()
        || r.kind().is_empty()
        || api_version.is_empty()
        || (r.kind().eq_ignore_ascii_case("kustomization")
            && api_version.starts_with("kustomize.config.k8s.io/")))
}

/// ssa's `SetCommonMetadata`: keys override; a map with a value that is not
/// a string reads as empty (Go's `NestedStringMap` fails) and is replaced.
fn common_metadata(r: &mut Resource, cm: &ferroflux_api::kustomize::CommonMetadata) {
    let Some(meta) = r.value.as_map_mut().and_then(|m| m.map_entry("metadata")) else {
        return;
    };
    for (field, extra) in [("labels", &cm.labels), ("annotations", &cm.annotations)] {
        let mut current: Vec<(String, Value)> = match meta.get(field) {
            Some(Value::Map(m)) if m.0.iter().all(|(_, v)| matches!(v, Value::Str(_))) => {
                m.0.clone()
            }
            _ => Vec::new(),
        };
        for (k, v) in extra.iter().flatten() {
            match current.iter_mut().find(|(ck, _)| ck == k) {
                Some(slot) => slot.1 = Value::Str(v.clone()),
                None => current.push((k.clone(), Value::Str(v.clone()))),
            }
        }
        if !current.is_empty() {
            meta.insert(field, Value::Map(Map(current)));
        }
    }
}

/// The flux CLI's `maskSopsData` for every `Secret`: `data` rewritten as
/// strings (an empty map dropped); a SOPS-encrypted Secret (its YAML holds
/// `sops:` and `mac: ENC[`) loses its `sops` block and has every value
/// masked; otherwise each `data` value that decodes to SOPS output, and
/// each such `stringData` value, is masked.
fn mask_sops(r: &mut Resource) -> Result<(), Error> {
    use base64::Engine;
    if r.kind() != "Secret" {
        return Ok(());
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let name = r.name();
    let text = crate::emit::document(&r.value).map_err(|e| Error::Build(e.to_string()))?;
    let encrypted = text.contains("sops:") && text.contains("mac: ENC[");
    let Some(m) = r.value.as_map_mut() else {
        return Ok(());
    };
    let strings = |v: Option<&Value>| -> Vec<(String, String)> {
        match v {
            Some(Value::Map(m)) => {
                m.0.iter()
                    .map(|(k, v)| (k.clone(), v.scalar_text().unwrap_or_default()))
                    .collect()
            }
            _ => Vec::new(),
        }
    };
    let mut data = strings(m.get("data"));
    let mut string_data = strings(m.get("stringData"));
    let looks_encrypted = |s: &[u8]| {
        memchr::memmem::find(s, b"sops").is_some() && memchr::memmem::find(s, b"ENC[").is_some()
    };
    let masked = b64.encode(MASK);
    if encrypted {
        m.remove("sops");
        let docker =
            m.get("type").and_then(Value::as_str) == Some("kubernetes.io/dockerconfigjson");
        let json_mask = format!("{{\"mask\":\"{MASK}\"}}");
        for (_, v) in &mut data {
            *v = if docker {
                b64.encode(&json_mask)
            } else {
                masked.clone()
            };
        }
        for (_, v) in &mut string_data {
            *v = if docker {
                json_mask.clone()
            } else {
                MASK.to_string()
            };
        }
    } else {
        for (k, v) in &mut data {
            let decoded = go_base64_decode(v).map_err(|at| {
                Error::Build(format!(
                    "failed to mask secret {name} sops data: illegal base64 data at input byte \
                     {at} (data.{k})"
                ))
            })?;
            if looks_encrypted(&decoded) {
                *v = masked.clone();
            }
        }
        for (_, v) in &mut string_data {
            if looks_encrypted(v.as_bytes()) {
                // Flux writes the base64 form here too.
                *v = masked.clone();
            }
        }
    }
    let as_map = |pairs: Vec<(String, String)>| {
        let mut pairs: Vec<(String, Value)> =
            pairs.into_iter().map(|(k, v)| (k, Value::Str(v))).collect();
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        Value::Map(Map(pairs))
    };
    m.remove("data");
    if !data.is_empty() {
        m.insert("data", as_map(data));
    }
    if !string_data.is_empty() {
        m.insert("stringData", as_map(string_data));
    }
    Ok(())
}

/// Go's `base64.StdEncoding.DecodeString`: padding required, `\r` and `\n`
/// ignored; the error is the offset Go reports.
fn go_base64_decode(s: &str) -> Result<Vec<u8>, usize> {
    use base64::Engine;
    let clean: String = s.chars().filter(|c| *c != '\n' && *c != '\r').collect();
    base64::engine::general_purpose::STANDARD
        .decode(&clean)
        .map_err(|e| match e {
            base64::DecodeError::InvalidByte(at, _) => at,
            base64::DecodeError::InvalidLastSymbol(at, _) => at,
            _ => clean.len().saturating_sub(clean.len() % 4),
        })
}

#[cfg(test)]
mod tests;
