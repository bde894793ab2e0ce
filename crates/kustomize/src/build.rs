//! Accumulating a kustomization: its resources (files and directories with
//! their own kustomization, recursively), then its transformers; at the top,
//! name references, local-config removal and the output order.

use std::path::{Path, PathBuf};

use ferroflux_api::yaml;

use crate::error::Error;
use crate::fs::{FileSystem, normalize};
use crate::kustomization::{self, Kustomization, SortOptions};
use crate::openapi::OpenApi;
use crate::origin;
use crate::resource::Resource;
use crate::transform::{self, fieldspec, fieldspec::Tables};
use crate::value::{Map, Value, from_node};
use crate::vars::VarSet;

mod components;
mod replacements;

/// What a kustomization passes up besides its resources (kustomize's
/// accumulator): its field specs and its vars.
#[derive(Debug, Clone)]
pub(crate) struct Rules {
    pub tables: Tables,
    pub vars: VarSet,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            tables: fieldspec::builtin().clone(),
            vars: VarSet::default(),
        }
    }
}

/// kustomize's `--load-restrictor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoadRestrictor {
    /// Files must be in or below the kustomization's directory (default).
    #[default]
    RootOnly,
    /// Files may be anywhere the file system reaches.
    None,
}

/// How to build.
#[derive(Debug, Clone)]
pub struct Options {
    pub load_restrictor: LoadRestrictor,
    /// Resources the whole build may accumulate ([`MAX_ACCUMULATED`]).
    pub max_accumulated: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            load_restrictor: LoadRestrictor::default(),
            max_accumulated: MAX_ACCUMULATED,
        }
    }
}

/// Deepest nesting of kustomizations (a base of a base of ...).
pub const MAX_DEPTH: usize = 64;
/// Kustomizations one build may read, counting a base each time it is
/// included: directories that each include two others of the next level
/// would otherwise double the work per level.
pub const MAX_TARGETS: usize = 2_000;
/// Resources one kustomization may accumulate.
pub const MAX_RESOURCES: usize = 200_000;
/// Resources a whole build may accumulate, counting a base's resources again
/// at every level that includes them (bounds the work and the memory a
/// repository can ask for).
pub const MAX_ACCUMULATED: usize = 2_000_000;

/// Build the kustomization in `dir`: the resources in output order.
pub fn build(fs: &dyn FileSystem, dir: &Path, opts: &Options) -> Result<Vec<Resource>, Error> {
    build_with_warnings(fs, dir, opts).map(|(resources, _)| resources)
}

/// [`build`], with kustomize's warnings (deprecated fields), one per
/// kustomization that uses them, in the order they were read.
pub fn build_with_warnings(
    fs: &dyn FileSystem,
    dir: &Path,
    opts: &Options,
) -> Result<(Vec<Resource>, Vec<String>), Error> {
    let dir = normalize(dir);
    if !fs.is_dir(&dir) {
        return Err(Error::Build(format!(
            "must build at directory: not a valid directory: '{}'",
            dir.display()
        )));
    }
    let mut b = Builder {
        fs,
        opts,
        stack: Vec::new(),
        targets: 0,
        metadata: Vec::new(),
        warnings: Vec::new(),
        accumulated: 0,
        generated: Default::default(),
        openapi: OpenApi::default(),
    };
    let (k, mut resources, rules) = b.target(&dir, None, None)?;
    crate::generate::add_hashes(&mut resources, &b.openapi)?;
    transform::nameref::run(&mut resources, &rules.tables.name_reference, &b.openapi)
        .map_err(Error::Build)?;
    let unused = crate::vars::resolve(&rules.vars, &mut resources, &rules.tables.var_reference)
        .map_err(Error::Build)?;
    b.warnings.extend(unused);
    resources.retain(|r| !is_local_config(r));
    let keep_origin = b.metadata.iter().any(|m| m == "originAnnotations");
    let keep_transformations = b.metadata.iter().any(|m| m == "transformerAnnotations");
    for r in &mut resources {
        rewrite_annotations(r, keep_origin, keep_transformations);
    }
    match &k.sort_options {
        Some(SortOptions::Fifo) => {}
        Some(SortOptions::Legacy {
            order_first,
            order_last,
        }) => crate::sort::legacy(&mut resources, order_first, order_last),
        None => {
            let first: Vec<String> = crate::sort::DEFAULT_ORDER_FIRST
                .iter()
                .map(|s| s.to_string())
                .collect();
            let last: Vec<String> = crate::sort::DEFAULT_ORDER_LAST
                .iter()
                .map(|s| s.to_string())
                .collect();
            crate::sort::legacy(&mut resources, &first, &last);
        }
    }
    Ok((resources, b.warnings))
}

/// kustomize ends every build by removing its own annotations with kyaml's
/// `SetAnnotations`, which rewrites the whole map: values become strings
/// (`n: 1` prints as `"n": "1"`), and an empty, null or non-map
/// `annotations` field is dropped.
fn rewrite_annotations(r: &mut Resource, keep_origin: bool, keep_transformations: bool) {
    let Some(Value::Map(meta)) = r.value.as_map_mut().and_then(|m| m.get_mut("metadata")) else {
        return;
    };
    let Some(old) = meta.get("annotations") else {
        return;
    };
    let pairs: Vec<(String, Value)> = match old {
        Value::Map(m) => {
            m.0.iter()
                .filter(|(k, _)| {
                    (keep_origin || k != origin::ORIGIN)
                        && (keep_transformations || k != origin::TRANSFORMATIONS)
                })
                .map(|(k, v)| (k.clone(), Value::Str(v.scalar_text().unwrap_or_default())))
                .collect()
        }
        _ => Vec::new(),
    };
    if pairs.is_empty() {
        meta.remove("annotations");
    } else {
        meta.insert("annotations", Value::Map(Map(pairs)));
    }
}

fn is_local_config(r: &Resource) -> bool {
    r.metadata_map("annotations")
        .iter()
        .any(|(k, v)| k == "config.kubernetes.io/local-config" && v == "true")
}

/// The kustomization being built, for its entries.
struct Place<'a> {
    k: &'a Kustomization,
    dir: &'a Path,
    real_dir: &'a Path,
    /// Its path relative to the top, when origins are recorded.
    origin: Option<&'a str>,
}

struct Builder<'a> {
    fs: &'a dyn FileSystem,
    opts: &'a Options,
    /// Real paths of the kustomization directories being built.
    stack: Vec<PathBuf>,
    /// Kustomizations read so far.
    targets: usize,
    /// The top kustomization's `buildMetadata` (bases take it over).
    metadata: Vec<String>,
    /// Warnings of the kustomizations read.
    warnings: Vec<String>,
    /// Resources accumulated so far, over every level.
    accumulated: usize,
    /// What generators have read so far.
    generated: crate::generate::Budget,
    /// The build's schema (`openapi`).
    openapi: OpenApi,
}

impl Builder<'_> {
    /// Build one kustomization; `base` is its path relative to the top
    /// when it is a base (`Some("")` is not used: the top has `None`).
    /// A component gets what the kustomization listing it accumulated so
    /// far (`into`) and works on it.
    fn target(
        &mut self,
        dir: &Path,
        base: Option<String>,
        into: Option<(Vec<Resource>, Rules)>,
    ) -> Result<(Kustomization, Vec<Resource>, Rules), Error> {
        let as_base = base.is_some();
        self.targets += 1;
        if self.targets > MAX_TARGETS {
            return Err(Error::Build(format!(
                "the build reads more than {MAX_TARGETS} kustomizations (bases included more \
                 than once count each time); stopped at '{}'",
                dir.display()
            )));
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(Error::Build(format!(
                "kustomizations nest deeper than {MAX_DEPTH} levels at '{}'",
                dir.display()
            )));
        }
        let kfile = kustomization::find(self.fs, dir)?;
        let k = kustomization::load(self.fs, &kfile)?;
        self.warnings.extend(k.warnings.iter().cloned());
        components::check_kind(&k, dir, as_base, into.is_some())?;
        if !as_base {
            self.metadata = k.build_metadata.clone();
        }
        // Where resources come from, relative to the top, when recorded.
        let origin: Option<String> =
            (!self.metadata.is_empty()).then(|| base.clone().unwrap_or_default());
        let real = self
            .fs
            .real_path(dir)
            .map_err(|e| Error::Build(e.to_string()))?;
        self.set_openapi(&k, dir, &real)?;
        self.stack.push(real.clone());
        let (mut resources, mut rules) = into.unwrap_or_default();
        for entry in &k.resources {
            let at = Place {
                k: &k,
                dir,
                real_dir: &real,
                origin: origin.as_deref(),
            };
            self.resource_entry(&at, entry, &mut resources, &mut rules)
                .map_err(|e| e.prefixed("accumulating resources"))?;
        }
        if resources.len() > MAX_RESOURCES {
            return Err(Error::Build(format!(
                "{}: more than {MAX_RESOURCES} resources",
                k.file.display()
            )));
        }
        check_unique(&resources, &self.openapi)
            .map_err(|e| e.prefixed("accumulating resources"))?;
        let at = Place {
            k: &k,
            dir,
            real_dir: &real,
            origin: origin.as_deref(),
        };
        let generators = self.plugin_configs(&at, &k.generators)?;
        let loader = crate::generate::Loader {
            fs: self.fs,
            dir,
            real_dir: &real,
            root_only: self.opts.load_restrictor == LoadRestrictor::RootOnly,
            openapi: &self.openapi,
        };
        let origin_dir = origin.as_deref();
        crate::generate::run(
            &loader,
            &k,
            &generators,
            origin_dir,
            &mut resources,
            &mut self.generated,
        )?;
        let mut extra = self.replacements(&at)?;
        for r in self.plugin_configs(&at, &k.transformers)? {
            let steps = match self.configured_replacements(&at, &r)? {
                Some(step) => vec![step],
                None => match self.patch_transformer(&k, dir, &real, &r)? {
                    Some(steps) => steps,
                    None => transform::config::transformer(&r)
                        .map_err(|e| config_error(&k, "transformers", e))?,
                },
            };
            let by = origin::path_of(&r).map(|path| origin::Configured {
                configured_in: path,
                api_version: r.api_version(),
                kind: r.kind(),
                name: r.name(),
                namespace: r.namespace(),
            });
            extra.extend(steps.into_iter().map(|s| (s, by.clone())));
        }
        self.stack.pop();
        for config in &k.configurations {
            let more = self.configuration(&k, dir, &real, config)?;
            rules.tables.merge(&more).map_err(|e| {
                Error::Build(format!(
                    "{}: merging config {config}: {e}",
                    k.file.display()
                ))
            })?;
        }
        for (entry, line) in &k.crds {
            let more = self.crd_config(&k, dir, &real, entry, *line)?;
            rules.tables.merge(&more).map_err(|e| Error::At {
                file: k.file.display().to_string(),
                line: *line,
                message: format!("merging CRDs {entry}: {e}"),
            })?;
        }
        let patches = self.patches(&k, dir, &real)?;
        let (mut resources, mut rules) =
            self.components(&k, dir, origin.as_deref(), resources, rules)?;
        transform::run(
            &k,
            &mut resources,
            &rules.tables,
            &extra,
            origin.as_deref(),
            &patches,
            &self.openapi,
        )
        .map_err(|e| crate::patch::hint(e, &k.namespace))?;
        rules
            .vars
            .merge(&k.vars, &mut resources, &self.openapi)
            .map_err(|e| Error::Build(format!("{}: merging vars: {e}", k.file.display())))?;
        Ok((k, resources, rules))
    }

    /// kustomize's `SetSchema` for `k`'s `openapi`: the top kustomization's
    /// replaces what is set, a later one counts only when nothing is. The
    /// file `path` names is read (and held to the load restrictor) either
    /// way, and parsed only when it counts.
    fn set_openapi(&mut self, k: &Kustomization, dir: &Path, real_dir: &Path) -> Result<(), Error> {
        let Some(field) = &k.openapi else {
            if self.targets == 1 {
                let _ = self.openapi.set(None, None, true);
            }
            return Ok(());
        };
        let file = k.file.display().to_string();
        let at = |message: String| Error::At {
            file: file.clone(),
            line: field.line,
            message,
        };
        let top = self.targets == 1;
        let mut custom = None;
        if let Some(entry) = &field.path {
            if is_remote(entry) {
                return Err(Error::Refused {
                    file: file.clone(),
                    what: "a remote OpenAPI schema in openapi.path (no network access)",
                    entry: entry.clone(),
                });
            }
            let kfile = format!("{file}: ");
            let path = self
                .restricted_file(k, dir, real_dir, entry)
                .map_err(|e| match e {
                    Error::Build(m) => at(format!(
                        "openapi.path: {}",
                        m.strip_prefix(&kfile).unwrap_or(&m)
                    )),
                    other => other,
                })?;
            let bytes = self
                .fs
                .read(&path)
                .map_err(|e| at(format!("openapi.path: {e}")))?;
            if top || self.openapi.unset() {
                let text = String::from_utf8(bytes)
                    .map_err(|_| at(format!("openapi.path: '{entry}' is not UTF-8 text")))?;
                let table = crate::smp::schema::read_swagger(&text)
                    .map_err(|e| at(format!("openapi.path: invalid schema file '{entry}': {e}")))?;
                custom = Some(table);
            }
        }
        self.openapi
            .set(field.version.as_deref(), custom, top)
            .map_err(|e| at(format!("openapi: {e}")))
    }

    /// The configs of `generators` or `transformers`: inline YAML, files or
    /// directories with a kustomization.
    fn plugin_configs(&mut self, at: &Place, entries: &[String]) -> Result<Vec<Resource>, Error> {
        let mut out = Vec::new();
        let kfile = at.k.file.display().to_string();
        let kfile_name =
            at.k.file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
        for entry in entries {
            match parse_resources(&kfile, entry) {
                Ok(mut inline) if !inline.is_empty() => {
                    if let Some(o) = at.origin {
                        for r in &mut inline {
                            origin::set_file_origin(r, &origin::join(o, &kfile_name));
                        }
                    }
                    out.extend(inline)
                }
                _ => {
                    let mut ignored = Rules::default();
                    self.resource_entry(at, entry, &mut out, &mut ignored)?;
                }
            }
        }
        Ok(out)
    }

    /// A built-in patch transformer in `transformers`, its files read
    /// within the root of `k`.
    fn patch_transformer(
        &self,
        k: &Kustomization,
        dir: &Path,
        real_dir: &Path,
        r: &crate::resource::Resource,
    ) -> Result<Option<Vec<transform::Step>>, Error> {
        let mut read = |entry: &str| self.read_patch(k, dir, real_dir, entry);
        // The config's own file (its source is `file:line`).
        let file = r
            .source
            .rsplit_once(':')
            .map_or(r.source.as_str(), |(f, _)| f)
            .to_string();
        let steps = crate::patch::from_config(&file, r, &mut read)?;
        Ok(steps.map(|s| {
            s.into_iter()
                .map(|p| transform::Step::Patch(Box::new(p)))
                .collect()
        }))
    }

    fn read_patch(
        &self,
        k: &Kustomization,
        dir: &Path,
        real_dir: &Path,
        entry: &str,
    ) -> Result<String, Error> {
        let path = self.restricted_file(k, dir, real_dir, entry)?;
        let bytes = self
            .fs
            .read(&path)
            .map_err(|e| Error::Build(format!("{}: {e}", k.file.display())))?;
        String::from_utf8(bytes).map_err(|_| Error::At {
            file: path.display().to_string(),
            line: 1,
            message: "the patch file is not UTF-8 text".to_string(),
        })
    }

    /// The patch transformers of `k`, their files read within the root.
    fn patches(
        &self,
        k: &Kustomization,
        dir: &Path,
        real_dir: &Path,
    ) -> Result<crate::patch::Configured, Error> {
        let mut read = |entry: &str| self.read_patch(k, dir, real_dir, entry);
        crate::patch::configure(
            &k.file.display().to_string(),
            &k.patches_strategic_merge,
            &k.patches,
            &k.patches_json6902,
            &mut read,
        )
    }

    /// A file of `configurations` (field specs), within the root.
    fn configuration(
        &self,
        k: &Kustomization,
        dir: &Path,
        real_dir: &Path,
        entry: &str,
    ) -> Result<Tables, Error> {
        let path = self.restricted_file(k, dir, real_dir, entry)?;
        let bytes = self
            .fs
            .read(&path)
            .map_err(|e| Error::Build(e.to_string()))?;
        let text = String::from_utf8_lossy(&bytes);
        fieldspec::parse_config(&text).map_err(|e| Error::Build(format!("{}: {e}", path.display())))
    }

    /// A `crds` file: field specs from its OpenAPI definitions.
    fn crd_config(
        &self,
        k: &Kustomization,
        dir: &Path,
        real_dir: &Path,
        entry: &str,
        line: usize,
    ) -> Result<Tables, Error> {
        let at = |message: String| Error::At {
            file: k.file.display().to_string(),
            line,
            message: format!("loading CRDs: {message}"),
        };
        let kfile = format!("{}: ", k.file.display());
        let path = self
            .restricted_file(k, dir, real_dir, entry)
            .map_err(|e| match e {
                Error::Build(m) => at(m.strip_prefix(&kfile).unwrap_or(&m).to_string()),
                other => other,
            })?;
        let bytes = self.fs.read(&path).map_err(|e| at(e.to_string()))?;
        let text =
            String::from_utf8(bytes).map_err(|_| at(format!("'{entry}' is not UTF-8 text")))?;
        transform::crds::parse(&text).map_err(|e| {
            at(format!(
                "unable to parse open API definition from '{entry}': {e}"
            ))
        })
    }

    /// A file named in a kustomization, held to the load restrictor.
    fn restricted_file(
        &self,
        k: &Kustomization,
        dir: &Path,
        real_dir: &Path,
        entry: &str,
    ) -> Result<PathBuf, Error> {
        let kfile = k.file.display();
        let path = normalize(&dir.join(entry));
        let real = self
            .fs
            .real_path(&path)
            .map_err(|e| Error::Build(format!("{kfile}: {e}")))?;
        if self.opts.load_restrictor == LoadRestrictor::RootOnly && !real.starts_with(real_dir) {
            return Err(Error::Build(format!(
                "{kfile}: security; file '{}' is not in or below '{}'",
                real.display(),
                real_dir.display()
            )));
        }
        Ok(path)
    }

    fn resource_entry(
        &mut self,
        at: &Place,
        entry: &str,
        out: &mut Vec<Resource>,
        rules: &mut Rules,
    ) -> Result<(), Error> {
        let before = out.len();
        self.resource_entry_unbounded(at, entry, out, rules)?;
        self.accumulated = self.accumulated.saturating_add(out.len() - before);
        let max = self.opts.max_accumulated;
        if self.accumulated > max {
            return Err(Error::Build(format!(
                "{}: the build accumulates more than {max} resources (a base's resources \
                 count again at every level that includes them)",
                at.k.file.display()
            )));
        }
        Ok(())
    }

    fn resource_entry_unbounded(
        &mut self,
        at: &Place,
        entry: &str,
        out: &mut Vec<Resource>,
        rules: &mut Rules,
    ) -> Result<(), Error> {
        let (dir, real_dir) = (at.dir, at.real_dir);
        let kfile = at.k.file.display().to_string();
        if is_remote(entry) {
            return Err(Error::Refused {
                file: kfile,
                what: "a remote resource (no network access)",
                entry: entry.to_string(),
            });
        }
        let path = normalize(&dir.join(entry));
        if self.fs.is_file(&path) {
            let real = self
                .fs
                .real_path(&path)
                .map_err(|e| Error::Build(e.to_string()))?;
            if self.opts.load_restrictor == LoadRestrictor::RootOnly && !real.starts_with(real_dir)
            {
                return Err(Error::Build(format!(
                    "{kfile}: security; file '{}' is not in or below '{}'",
                    real.display(),
                    real_dir.display()
                )));
            }
            for mut r in load_resources(self.fs, &path)? {
                // kustomize asks each new resource's scope as it adds it
                // (which decides when kyaml reads its schemas).
                self.openapi.is_cluster_scoped(&r.gvk());
                if let Some(o) = at.origin {
                    origin::set_file_origin(&mut r, &origin::join(o, entry));
                }
                out.push(r);
            }
            return Ok(());
        }
        if self.fs.is_dir(&path) {
            let real = self
                .fs
                .real_path(&path)
                .map_err(|e| Error::Build(e.to_string()))?;
            if let Some(visited) = self.stack.iter().find(|v| v.starts_with(&real)) {
                return Err(Error::Build(format!(
                    "{kfile}: cycle detected: candidate root '{}' contains visited root '{}'",
                    real.display(),
                    visited.display()
                )));
            }
            let base = origin::join(at.origin.unwrap_or(""), entry);
            let (_, resources, sub) = self.target(&path, Some(base), None)?;
            for r in resources {
                out.push(r);
            }
            rules
                .tables
                .merge(&sub.tables)
                .map_err(|e| Error::Build(format!("{kfile}: merging config of {entry}: {e}")))?;
            rules.vars.merge_set(&sub.vars).map_err(|e| {
                Error::Build(format!(
                    "{kfile}: recursed merging from path '{entry}': {e}"
                ))
            })?;
            return Ok(());
        }
        if let Err(e @ crate::fs::FsError::OutsideRoot { .. }) = self.fs.real_path(&path) {
            return Err(Error::Build(format!("{kfile}: resource '{entry}': {e}")));
        }
        Err(Error::Build(format!(
            "{kfile}: resource '{entry}': '{}' is neither a file nor a directory \
             with a kustomization",
            path.display()
        )))
    }
}

/// What kustomize would fetch over the network.
fn is_remote(entry: &str) -> bool {
    entry.contains("://")
        || entry.starts_with("git@")
        || entry.starts_with("github.com/")
        || entry.starts_with("gitlab.com/")
        || entry.starts_with("bitbucket.org/")
}

fn config_error(k: &Kustomization, field: &str, e: transform::config::ConfigError) -> Error {
    use transform::config::ConfigError;
    let file = k.file.display().to_string();
    match e {
        ConfigError::Plugin(what) => Error::Refused {
            file,
            what: "a plugin (it would run a program or a container)",
            entry: format!("{what} in `{field}`"),
        },
        ConfigError::NotYet(what) => Error::Build(format!(
            "{file}: not supported yet: {what} in `{field}` of {file}"
        )),
        ConfigError::Invalid(what) => Error::Build(format!("{file}: `{field}`: {what}")),
    }
}

/// Every id must be new (kustomize refuses to add a resource whose id is
/// already registered); one pass with a set, not a scan per resource.
fn check_unique(resources: &[Resource], oa: &OpenApi) -> Result<(), Error> {
    let mut seen = std::collections::HashSet::with_capacity(resources.len());
    for r in resources {
        let id = r.cur_id();
        if !seen.insert(id.key(oa)) {
            return Err(Error::Build(format!(
                "may not add resource with an already registered id: {} (from {})",
                id.display(),
                r.source
            )));
        }
    }
    Ok(())
}

/// The resources of one file: its documents, with `List`s inlined.
pub fn load_resources(fs: &dyn FileSystem, path: &Path) -> Result<Vec<Resource>, Error> {
    let file = path.display().to_string();
    let bytes = fs.read(path).map_err(|e| Error::Build(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|_| Error::At {
        file: file.clone(),
        line: 1,
        message: "the file is not UTF-8 text".to_string(),
    })?;
    parse_resources(&file, &text)
}

/// Resources from YAML text (`file` names it in messages).
pub fn parse_resources(file: &str, text: &str) -> Result<Vec<Resource>, Error> {
    let docs = yaml::parse_stream_raw(text).map_err(|e| Error::At {
        file: file.to_string(),
        line: e.line,
        message: e.message,
    })?;
    let mut queue: std::collections::VecDeque<(Value, usize)> = std::collections::VecDeque::new();
    for doc in docs {
        let Some(node) = doc.node else { continue };
        let value = from_node(&node);
        let at = |message: String| Error::At {
            file: file.to_string(),
            line: node.line,
            message,
        };
        if let Some((key, line)) = non_string_key(&node) {
            return Err(Error::At {
                file: file.to_string(),
                line,
                message: format!(
                    "the map key `{key}` is not a string for kustomize (Go's yaml.v3 reads a \
                     plain `{key}` as another type) and kustomize cannot print such a map \
                     (json: unsupported type: map[interface {{}}]interface {{}}); quote it: \
                     \"{key}\""
                ),
            });
        }
        match &value {
            Value::Map(m) if m.is_empty() => continue,
            Value::Map(m) => validate(m).map_err(at)?,
            _ => return Err(at("a resource must be a YAML mapping".to_string())),
        }
        queue.push_back((value, node.line));
    }
    let mut out = Vec::new();
    while let Some((value, line)) = queue.pop_front() {
        let kind = value
            .get("kind")
            .and_then(Value::scalar_text)
            .unwrap_or_default();
        if kind.ends_with("List")
            && let Some(items) = value.as_map().and_then(|m| m.get("items"))
        {
            match items {
                Value::Null => {}
                Value::Seq(items) => {
                    for item in items {
                        queue.push_back((item.clone(), line));
                    }
                }
                _ => {
                    return Err(Error::At {
                        file: file.to_string(),
                        line,
                        message: format!("expected array in {kind}/items"),
                    });
                }
            }
            continue;
        }
        if value.as_map().is_none() {
            return Err(Error::At {
                file: file.to_string(),
                line,
                message: format!("an item of a {kind} is not a mapping"),
            });
        }
        out.push(Resource::new(value, format!("{file}:{line}")));
    }
    Ok(out)
}

/// The first plain mapping key yaml.v3 resolves to something else than a
/// string (`1:`, `true:`, `~:`, a date).
fn non_string_key(node: &yaml::Node) -> Option<(String, usize)> {
    match &node.value {
        yaml::Value::Map(entries) => entries.iter().find_map(|e| {
            if !e.key_quoted && !matches!(crate::value::resolve_plain(&e.key), Value::Str(_)) {
                Some((e.key.clone(), e.key_line))
            } else {
                non_string_key(&e.value)
            }
        }),
        yaml::Value::Seq(items) => items.iter().find_map(non_string_key),
        _ => None,
    }
}

/// kyaml's `GetValidatedMetadata`: a kind, and a name unless it is a list.
fn validate(m: &Map) -> Result<(), String> {
    let text = |v: Option<&Value>| v.and_then(Value::scalar_text).unwrap_or_default();
    let kind = text(m.get("kind"));
    if kind.is_empty() {
        return Err("missing kind in object".to_string());
    }
    if kind.ends_with("List") {
        return Ok(());
    }
    let name = text(m.get("metadata").and_then(|md| md.get("name")));
    if name.is_empty() {
        return Err(format!("missing metadata.name in object of kind {kind}"));
    }
    Ok(())
}
