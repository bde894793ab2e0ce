//! Generators: `configMapGenerator`, `secretGenerator` (with
//! `generatorOptions`) and the builtin generator configs of `generators:`
//! (`ConfigMapGenerator`, `SecretGenerator`, `IAMPolicyGenerator`), as
//! kustomize 5.6 runs them for each kustomization after its resources and
//! before its transformers; and, once at the top of a build, the content
//! hash that ends the names of the generated objects.
//!
//! What a generated object carries besides its content lives on
//! [`Resource`]: `needs_hash` and `behavior` (kustomize keeps them in
//! internal annotations). A generator with `behavior: merge` or `replace`
//! takes the place of the object it names, found by any id that object
//! ever had (a base's `p-cm` is still `cm`), keeping that object's name,
//! namespace and name history, so the hash is computed over the final name
//! and content and name references follow it.

pub mod args;
pub mod hash;
pub mod kv;

use crate::openapi::OpenApi;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ferroflux_api::yaml::{self, Node};

use crate::error::Error;
use crate::fs::{FileSystem, normalize};
use crate::kustomization::Kustomization;
use crate::origin;
use crate::resource::Resource;
use crate::value::{Map, Value, from_node};

/// Bytes of files and env files all generators of one build may read
/// (counting a file again each time it is named: one large file listed a
/// thousand times would otherwise fill memory).
pub const MAX_GENERATED_BYTES: usize = 256 << 20;
/// Keys one generated object may hold.
pub const MAX_KEYS: usize = 100_000;
/// Generator entries (of both fields and `generators:`) in one kustomization.
pub const MAX_GENERATORS: usize = 10_000;
/// Objects all generators of one build may make (a base with many
/// generators, included by many overlays, makes them again each time).
pub const MAX_GENERATED_OBJECTS: usize = 200_000;

/// What kind of object a generator makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    ConfigMap,
    Secret,
}

impl Kind {
    fn object(self) -> &'static str {
        match self {
            Kind::ConfigMap => "ConfigMap",
            Kind::Secret => "Secret",
        }
    }

    /// The kustomization field, for messages.
    pub fn field(self) -> &'static str {
        match self {
            Kind::ConfigMap => "configMapGenerator",
            Kind::Secret => "secretGenerator",
        }
    }

    /// The builtin generator's kind (origin annotations name it).
    fn generator(self) -> &'static str {
        match self {
            Kind::ConfigMap => "ConfigMapGenerator",
            Kind::Secret => "SecretGenerator",
        }
    }
}

/// A generator's `behavior`. Any other text than `create`, `merge` or
/// `replace` is unspecified, which creates (as kustomize reads it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Behavior {
    #[default]
    Unspecified,
    Create,
    Replace,
    Merge,
}

impl Behavior {
    pub fn from_text(s: &str) -> Behavior {
        match s {
            "create" => Behavior::Create,
            "replace" => Behavior::Replace,
            "merge" => Behavior::Merge,
            _ => Behavior::Unspecified,
        }
    }
}

/// `generatorOptions` or a generator's `options`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GenOptions {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub disable_name_suffix_hash: bool,
    pub immutable: bool,
}

impl GenOptions {
    /// kustomize's `MergeGlobalOptionsIntoLocal`: the generator's own
    /// labels and annotations win, the global ones fill in; either side's
    /// `disableNameSuffixHash` or `immutable` turns it on.
    pub fn with_global(&self, global: Option<&GenOptions>) -> GenOptions {
        let Some(g) = global else {
            return self.clone();
        };
        let mut out = self.clone();
        for (k, v) in &g.labels {
            out.labels.entry(k.clone()).or_insert_with(|| v.clone());
        }
        for (k, v) in &g.annotations {
            out.annotations
                .entry(k.clone())
                .or_insert_with(|| v.clone());
        }
        out.disable_name_suffix_hash |= g.disable_name_suffix_hash;
        out.immutable |= g.immutable;
        out
    }
}

/// One ConfigMap or Secret generator.
#[derive(Debug, Clone, PartialEq)]
pub struct Args {
    pub kind: Kind,
    pub name: String,
    pub namespace: String,
    pub behavior: Behavior,
    pub literals: Vec<String>,
    pub files: Vec<String>,
    /// `envs`, then the deprecated `env`.
    pub envs: Vec<String>,
    pub options: GenOptions,
    /// A Secret's `type` (`Opaque` when empty).
    pub secret_type: String,
    /// Where it was configured (`file:line`), for messages.
    pub source: String,
}

/// Read a `configMapGenerator` or `secretGenerator` field of the
/// kustomization `file`.
pub fn from_kustomization(file: &str, kind: Kind, node: &Node) -> Result<Vec<Args>, Error> {
    let field = kind.field();
    let at = |line: usize, message: String| Error::At {
        file: file.to_string(),
        line,
        message: format!("invalid Kustomization: field `{field}`: {message}"),
    };
    let yaml::Value::Seq(items) = &node.value else {
        return Err(at(node.line, "expected a list".to_string()));
    };
    if items.len() > MAX_GENERATORS {
        return Err(at(
            node.line,
            format!("more than {MAX_GENERATORS} generators"),
        ));
    }
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let Value::Map(m) = from_node(item) else {
            return Err(at(item.line, "expected a mapping".to_string()));
        };
        let mut a =
            args::generator(&m, kind, true).map_err(|e| at(item.line_of(&e.path()), e.message))?;
        a.source = format!("{file}:{}", item.line);
        out.push(a);
    }
    Ok(out)
}

/// Read `generatorOptions` of the kustomization `file`.
pub fn options_from_kustomization(file: &str, node: &Node) -> Result<GenOptions, Error> {
    let at = |line: usize, message: String| Error::At {
        file: file.to_string(),
        line,
        message: format!("invalid Kustomization: field `generatorOptions`: {message}"),
    };
    let Value::Map(m) = from_node(node) else {
        return Err(at(node.line, "expected a mapping".to_string()));
    };
    args::options(&m, true).map_err(|e| at(node.line_of(&e.path()), e.message))
}

/// What generators have read and made so far in a build
/// ([`MAX_GENERATED_BYTES`], [`MAX_GENERATED_OBJECTS`]).
#[derive(Debug, Default)]
pub struct Budget {
    pub bytes: usize,
    pub objects: usize,
}

impl Budget {
    fn count_object(&mut self, source: &str) -> Result<(), Error> {
        self.objects += 1;
        if self.objects > MAX_GENERATED_OBJECTS {
            return Err(Error::Build(format!(
                "{source}: the generators of this build make more than \
                 {MAX_GENERATED_OBJECTS} objects"
            )));
        }
        Ok(())
    }
}

/// Where a kustomization's generators read files: its directory, held to
/// the load restrictor.
pub struct Loader<'a> {
    pub fs: &'a dyn FileSystem,
    pub dir: &'a Path,
    /// `dir` with symlinks resolved.
    pub real_dir: &'a Path,
    /// `--load-restrictor LoadRestrictionsRootOnly`.
    pub root_only: bool,
    /// The build's schema (which kinds are cluster-scoped).
    pub openapi: &'a OpenApi,
}

impl Loader<'_> {
    fn read(&self, entry: &str, budget: &mut Budget) -> Result<Vec<u8>, String> {
        let path: PathBuf = normalize(&self.dir.join(entry));
        if self.root_only {
            let real = self.fs.real_path(&path).map_err(|e| e.to_string())?;
            if !real.starts_with(self.real_dir) {
                return Err(format!(
                    "security; file '{}' is not in or below '{}'",
                    real.display(),
                    self.real_dir.display()
                ));
            }
        }
        let bytes = self.fs.read(&path).map_err(|e| e.to_string())?;
        budget.bytes = budget.bytes.saturating_add(bytes.len());
        if budget.bytes > MAX_GENERATED_BYTES {
            return Err(format!(
                "generators of this build read more than {MAX_GENERATED_BYTES} bytes of files"
            ));
        }
        Ok(bytes)
    }
}

/// The key/value pairs of a generator, in kustomize's order: env files,
/// literals, files. Errors name the entry, never a value (a Secret's
/// literal is a secret).
fn pairs(ld: &Loader, a: &Args, budget: &mut Budget) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    for env in &a.envs {
        let bytes = ld
            .read(env, budget)
            .map_err(|e| format!("envs {env:?}: {e}"))?;
        let more = kv::parse_env(&bytes)
            .map_err(|e| format!("envs {env:?}: line {}: {}", e.line, e.message))?;
        out.extend(more.into_iter().map(|(k, v)| (k, v.into_bytes())));
    }
    for (i, literal) in a.literals.iter().enumerate() {
        let (k, v) = kv::parse_literal(literal).map_err(|_| {
            format!("literals[{i}]: invalid literal source, expected key=value (a key, then '=')")
        })?;
        out.push((k, v.into_bytes()));
    }
    for file in &a.files {
        let (k, path) = kv::parse_file_source(file).map_err(|e| format!("files: {e}"))?;
        let bytes = ld
            .read(&path, budget)
            .map_err(|e| format!("files {file:?}: {e}"))?;
        out.push((k, bytes));
    }
    if out.len() > MAX_KEYS {
        return Err(format!("more than {MAX_KEYS} keys"));
    }
    let mut seen = std::collections::HashSet::with_capacity(out.len());
    for (k, _) in &out {
        if !seen.insert(k.as_str()) {
            return Err(format!(
                "{} {} illegally repeats the key `{k}`",
                a.kind.object().to_lowercase(),
                a.name
            ));
        }
    }
    Ok(out)
}

/// kyaml's `encodeBase64`: standard base64, and from 70 characters on,
/// each line of 70 (the last one too) ends with a newline.
pub fn encode_base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    let enc = base64::engine::general_purpose::STANDARD.encode(bytes);
    if enc.len() < 70 {
        return enc;
    }
    let mut out = String::with_capacity(enc.len() + enc.len() / 70 + 1);
    for chunk in enc.as_bytes().chunks(70) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out
}

fn string_map(m: &BTreeMap<String, String>) -> Value {
    Value::Map(Map(m
        .iter()
        .map(|(k, v)| (k.clone(), Value::Str(v.clone())))
        .collect()))
}

/// The object a ConfigMap or Secret generator makes.
pub fn make(ld: &Loader, a: &Args, budget: &mut Budget) -> Result<Resource, Error> {
    let what = format!("{}: {} {:?}", a.source, a.kind.field(), a.name);
    let fail = |e: String| Error::Build(format!("{what}: {e}"));
    if a.name.is_empty() {
        return Err(fail(format!(
            "a {} must have a name",
            a.kind.object().to_lowercase()
        )));
    }
    let mut pairs = pairs(ld, a, budget).map_err(fail)?;
    pairs.sort_by(|x, y| x.0.cmp(&y.0));
    let mut meta = Map::default();
    meta.insert("name", Value::Str(a.name.clone()));
    if !a.namespace.is_empty() {
        meta.insert("namespace", Value::Str(a.namespace.clone()));
    }
    if !a.options.labels.is_empty() {
        meta.insert("labels", string_map(&a.options.labels));
    }
    if !a.options.annotations.is_empty() {
        meta.insert("annotations", string_map(&a.options.annotations));
    }
    let mut obj = Map::default();
    obj.insert("apiVersion", Value::Str("v1".to_string()));
    obj.insert("kind", Value::Str(a.kind.object().to_string()));
    obj.insert("metadata", Value::Map(meta));
    match a.kind {
        Kind::ConfigMap => {
            let (mut data, mut binary) = (Map::default(), Map::default());
            for (k, v) in pairs {
                match String::from_utf8(v) {
                    Ok(text) => data.0.push((k, Value::Str(text))),
                    Err(e) => binary.0.push((k, Value::Str(encode_base64(e.as_bytes())))),
                }
            }
            if !data.is_empty() {
                obj.insert("data", Value::Map(data));
            }
            if !binary.is_empty() {
                obj.insert("binaryData", Value::Map(binary));
            }
        }
        Kind::Secret => {
            let t = if a.secret_type.is_empty() {
                "Opaque"
            } else {
                &a.secret_type
            };
            obj.insert("type", Value::Str(t.to_string()));
            let data = pairs
                .into_iter()
                .map(|(k, v)| (k, Value::Str(encode_base64(&v))))
                .collect();
            obj.insert("data", Value::Map(Map(data)));
        }
    }
    if a.options.immutable {
        obj.insert("immutable", Value::Bool(true));
    }
    let mut r = Resource::new(Value::Map(obj), a.source.clone());
    r.needs_hash = !a.options.disable_name_suffix_hash;
    r.behavior = a.behavior;
    Ok(r)
}

/// The ServiceAccount of a builtin `IAMPolicyGenerator` (cloud `gke`),
/// from the same YAML text kustomize fills in and parses.
fn iam_policy(config: &Resource) -> Result<Vec<Resource>, Error> {
    let fail = |e: String| {
        Error::Build(format!(
            "{}: builtin IAMPolicyGenerator {:?}: {e}",
            config.source,
            config.name()
        ))
    };
    let m = config.map().cloned().unwrap_or_default();
    let p = args::iam_policy(&m).map_err(|e| fail(e.message))?;
    if p.cloud != "gke" {
        return Err(fail(format!(
            "cloud provider {} not supported yet",
            p.cloud
        )));
    }
    let mut text = format!(
        "\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  annotations:\n    \
         iam.gke.io/gcp-service-account: {}@{}.iam.gserviceaccount.com\n  name: {}\n",
        p.sa_name, p.project_id, p.k8s_name
    );
    if !p.k8s_namespace.is_empty() {
        text.push_str(&format!("\n  namespace: {}", p.k8s_namespace));
    }
    let out = crate::build::parse_resources(&config.source, &text)?;
    if out.len() != 1 {
        return Err(fail(
            "the generated text is not one resource (a name holds YAML syntax)".to_string(),
        ));
    }
    Ok(out)
}

/// Run the generators of `k`: its `configMapGenerator` and
/// `secretGenerator` entries (with `generatorOptions`), then the builtin
/// generator `configs` of its `generators:`, each folded into `resources`
/// by its behavior. `origin` is `k`'s directory relative to the top when
/// origins are recorded.
pub fn run(
    ld: &Loader,
    k: &Kustomization,
    configs: &[Resource],
    origin: Option<&str>,
    resources: &mut Vec<Resource>,
    budget: &mut Budget,
) -> Result<(), Error> {
    let kfile_name = k
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if configs.len() > MAX_GENERATORS {
        return Err(Error::Build(format!(
            "{}: more than {MAX_GENERATORS} generators",
            k.file.display()
        )));
    }
    let total = k.config_map_generator.len() + k.secret_generator.len() + configs.len();
    if total == 0 {
        return Ok(());
    }
    let mut acc = Accumulation::new(resources, ld.openapi);
    for (kind, list) in [
        (Kind::ConfigMap, &k.config_map_generator),
        (Kind::Secret, &k.secret_generator),
    ] {
        let by = origin
            .map(|o| origin::Configured::builtin(&origin::join(o, &kfile_name), kind.generator()));
        for a in list {
            let mut a = a.clone();
            a.options = a.options.with_global(k.generator_options.as_ref());
            budget.count_object(&a.source)?;
            let r = make(ld, &a, budget)?;
            acc.absorb(r, by.as_ref()).map_err(|e| {
                Error::Build(format!("{}: {} {:?}: {e}", a.source, kind.field(), a.name))
            })?;
        }
    }
    for config in configs {
        let by = origin::path_of(config).map(|path| origin::Configured {
            configured_in: path,
            api_version: config.api_version(),
            kind: config.kind(),
            name: config.name(),
            namespace: config.namespace(),
        });
        let generated = from_config(ld, config, budget)?;
        for r in generated {
            budget.count_object(&config.source)?;
            acc.absorb(r, by.as_ref()).map_err(|e| {
                Error::Build(format!(
                    "{}: merging from generator {} {}: {e}",
                    config.source,
                    config.kind(),
                    config.name()
                ))
            })?;
        }
    }
    Ok(())
}

/// The objects one `generators:` config makes; a config that is no builtin
/// generator this engine runs is refused by name.
fn from_config(
    ld: &Loader,
    config: &Resource,
    budget: &mut Budget,
) -> Result<Vec<Resource>, Error> {
    let gvk = config.gvk();
    let builtin = gvk.group.is_empty() && gvk.version == "builtin";
    let kind = match (builtin, gvk.kind.as_str()) {
        (true, "ConfigMapGenerator") => Kind::ConfigMap,
        (true, "SecretGenerator") => Kind::Secret,
        (true, "IAMPolicyGenerator") => return iam_policy(config),
        _ => {
            return Err(match crate::transform::config::generator(config) {
                crate::transform::config::ConfigError::Plugin(what) => Error::Refused {
                    file: config.source.clone(),
                    what: "a plugin (it would run a program or a container)",
                    entry: format!("{what} in `generators`"),
                },
                crate::transform::config::ConfigError::NotYet(what)
                | crate::transform::config::ConfigError::Invalid(what) => Error::Build(format!(
                    "{}: not supported yet: {what} in `generators`",
                    config.source
                )),
            });
        }
    };
    let m = config.map().cloned().unwrap_or_default();
    let mut a = args::generator(&m, kind, false).map_err(|e| {
        Error::Build(format!(
            "{}: builtin {} {:?}: {}",
            config.source,
            kind.generator(),
            config.name(),
            e.message
        ))
    })?;
    a.source = config.source.clone();
    Ok(vec![make(ld, &a, budget)?])
}

/// Add a generated object to `resources` (see [`Accumulation::absorb`]),
/// kinds scoped by the built-in schema.
pub fn absorb(
    resources: &mut Vec<Resource>,
    new: Resource,
    by: Option<&origin::Configured>,
) -> Result<(), String> {
    Accumulation::new(resources, &OpenApi::default()).absorb(new, by)
}

type IdKey = (crate::resource::Gvk, String, String);

/// What a kustomization accumulated, indexed by every id each resource
/// ever had, so that each generated object finds its match without a scan.
pub struct Accumulation<'r> {
    resources: &'r mut Vec<Resource>,
    oa: &'r OpenApi,
    by_id: std::collections::HashMap<IdKey, Vec<usize>>,
}

impl<'r> Accumulation<'r> {
    pub fn new(resources: &'r mut Vec<Resource>, oa: &'r OpenApi) -> Self {
        let mut acc = Accumulation {
            resources,
            oa,
            by_id: std::collections::HashMap::new(),
        };
        for i in 0..acc.resources.len() {
            acc.index(i, true);
        }
        acc
    }

    fn keys(r: &Resource, oa: &OpenApi) -> Vec<IdKey> {
        let mut keys: Vec<IdKey> = Vec::new();
        for key in r.all_ids().iter().map(|id| id.key(oa)) {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        keys
    }

    fn index(&mut self, i: usize, add: bool) {
        for key in Self::keys(&self.resources[i], self.oa) {
            let list = self.by_id.entry(key).or_default();
            if add {
                list.push(i);
            } else {
                list.retain(|&j| j != i);
            }
        }
    }

    /// kustomize's `appendReplaceOrMerge`: a new id is appended (unless
    /// the behavior is merge or replace); an object that ever had the same
    /// id is replaced, the new one taking its name, namespace, name
    /// history, labels and annotations (its own win), and for `merge` its
    /// data too (its own keys win) and its origin.
    pub fn absorb(
        &mut self,
        mut new: Resource,
        by: Option<&origin::Configured>,
    ) -> Result<(), String> {
        if let Some(by) = by {
            origin::set_origin_if_absent(&mut new, by);
        }
        let id = new.cur_id();
        let mut matches: Vec<usize> = self
            .by_id
            .get(&id.key(self.oa))
            .cloned()
            .unwrap_or_default();
        matches.sort_unstable();
        let resources = &mut *self.resources;
        match (matches.as_slice(), new.behavior) {
            ([], Behavior::Merge | Behavior::Replace) => Err(format!(
                "id {} does not exist; cannot merge or replace",
                id.display()
            )),
            ([], _) => {
                resources.push(new);
                self.index(self.resources.len() - 1, true);
                Ok(())
            }
            ([i], Behavior::Merge | Behavior::Replace) => {
                let i = *i;
                let old = &resources[i];
                let merge = new.behavior == Behavior::Merge;
                let old_origin = old
                    .value
                    .get("metadata")
                    .and_then(|m| m.get("annotations"))
                    .and_then(|a| a.get(origin::ORIGIN))
                    .cloned();
                let mut merged = copy_merge_metadata(new, old);
                if merge {
                    for field in ["data", "binaryData"] {
                        merge_data(&mut merged, old, field);
                    }
                    if let Some(o) = old_origin
                        && let Some(a) = annotations_mut(&mut merged)
                    {
                        a.insert(origin::ORIGIN, o);
                    }
                }
                self.index(i, false);
                self.resources[i] = merged;
                self.index(i, true);
                Ok(())
            }
            ([_], _) => Err(format!(
                "id {} exists; behavior must be merge or replace",
                id.display()
            )),
            (many, _) => {
                let ids: Vec<String> = many
                    .iter()
                    .map(|&i| resources[i].cur_id().display())
                    .collect();
                Err(format!(
                    "found multiple objects [{}] that could accept merge of {}",
                    ids.join(", "),
                    id.display()
                ))
            }
        }
    }
}

fn annotations_mut(r: &mut Resource) -> Option<&mut Map> {
    r.map_mut()?.map_entry("metadata")?.map_entry("annotations")
}

/// Replace `field` of `meta` with the string map `pairs` (dropped when
/// empty), as kyaml's `SetLabels`/`SetAnnotations`.
fn set_string_map(meta: &mut Map, field: &str, pairs: BTreeMap<String, String>) {
    meta.remove(field);
    if !pairs.is_empty() {
        meta.insert(field, string_map(&pairs));
    }
}

/// kustomize's `CopyMergeMetaDataFieldsFrom(old)`: the new object's content
/// with the old one's name and namespace, both objects' labels and
/// annotations (the new ones win); everything the build tracks besides the
/// content (name history, prefixes, suffixes, behavior, the objects that
/// refer to it) stays the old object's, except that the hash is kept only
/// when both want it.
fn copy_merge_metadata(new: Resource, old: &Resource) -> Resource {
    let merged = |field: &str| -> BTreeMap<String, String> {
        let mut m: BTreeMap<String, String> = old.metadata_map(field).into_iter().collect();
        m.extend(new.metadata_map(field));
        m
    };
    let labels = merged("labels");
    let annotations = merged("annotations");
    let mut out = old.clone();
    out.needs_hash = new.needs_hash && old.needs_hash;
    out.source = new.source;
    out.value = new.value;
    let (name, namespace) = (old.name(), old.namespace());
    if let Some(meta) = out.map_mut().and_then(|m| m.map_entry("metadata")) {
        set_string_map(meta, "labels", labels);
        set_string_map(meta, "annotations", annotations);
        meta.insert("name", Value::Str(name));
        if namespace.is_empty() {
            meta.remove("namespace");
        } else {
            meta.insert("namespace", Value::Str(namespace));
        }
    }
    out
}

/// kustomize's `MergeDataMapFrom`/`MergeBinaryDataMapFrom`: the union of
/// both objects' entries (as strings), the new object's winning; an empty
/// union removes the field.
fn merge_data(new: &mut Resource, old: &Resource, field: &str) {
    let entries = |r: &Resource| -> Vec<(String, String)> {
        match r.value.get(field) {
            Some(Value::Map(m)) => {
                m.0.iter()
                    .map(|(k, v)| (k.clone(), v.scalar_text().unwrap_or_default()))
                    .collect()
            }
            _ => Vec::new(),
        }
    };
    let mut union: BTreeMap<String, String> = entries(old).into_iter().collect();
    union.extend(entries(new));
    if let Some(obj) = new.map_mut() {
        obj.remove(field);
        if !union.is_empty() {
            obj.insert(field, string_map(&union));
        }
    }
}

/// The last step of a build before name references: every object that
/// wants a hash gets `-<hash>` after its name (the name it has now, after
/// prefixes and suffixes), the old id kept for references.
pub fn add_hashes(resources: &mut [Resource], oa: &OpenApi) -> Result<(), Error> {
    for r in resources.iter_mut().filter(|r| r.needs_hash) {
        let h = hash::suffix(&r.value).map_err(|e| {
            Error::Build(format!(
                "{} ({}): computing the name hash: {e}",
                r.cur_id().display(),
                r.source
            ))
        })?;
        r.store_previous_id(oa);
        let name = format!("{}-{h}", r.name());
        if let Some(meta) = r.map_mut().and_then(|m| m.map_entry("metadata")) {
            meta.insert("name", Value::Str(name));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
