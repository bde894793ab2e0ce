//! `kustomization.yaml`: finding it, reading it into typed fields, and
//! refusing what this engine does not do yet with a message naming the
//! field and the file (never a silent skip).
//!
//! kustomize decodes the file with Go's `encoding/json` and
//! `DisallowUnknownFields`, which matches keys case-insensitively
//! (`nameprefix` is `namePrefix`); an unknown key fails the build.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ferroflux_api::yaml::{self, Node};

use crate::error::Error;
use crate::fs::FileSystem;
use crate::value::{Value, from_node};

/// The names kustomize looks for, in its order.
pub const FILE_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Every top-level field kustomize 5.6 knows (Flux's layering matches
/// them case-insensitively, as Go's JSON decoder does).
pub(crate) const KNOWN_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "openapi",
    "namePrefix",
    "nameSuffix",
    "namespace",
    "commonLabels",
    "labels",
    "commonAnnotations",
    "patchesStrategicMerge",
    "patchesJson6902",
    "patches",
    "images",
    "imageTags",
    "replacements",
    "replicas",
    "vars",
    "sortOptions",
    "resources",
    "components",
    "crds",
    "bases",
    "configMapGenerator",
    "secretGenerator",
    "helmGlobals",
    "helmCharts",
    "helmChartInflationGenerator",
    "generatorOptions",
    "configurations",
    "generators",
    "transformers",
    "validators",
    "buildMetadata",
];

/// Fields kustomize knows that this engine does not implement yet; a build
/// that sets one (non-empty) fails naming it.
const NOT_YET: &[&str] = &[
    "helmGlobals",
    "helmCharts",
    "helmChartInflationGenerator",
    "validators",
];

/// Deprecated fields that still work, and what replaces each.
const DEPRECATED: &[(&str, &str)] = &[
    ("bases", "resources"),
    ("commonLabels", "labels"),
    ("imageTags", "images"),
    ("patchesJson6902", "patches"),
    ("patchesStrategicMerge", "patches"),
];

/// The order of kustomize's `CheckDeprecatedFields`.
const WARNING_ORDER: &[&str] = &[
    "bases",
    "commonLabels",
    "imageTags",
    "patchesJson6902",
    "patchesStrategicMerge",
    "vars",
];

/// One entry of `labels`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Label {
    pub pairs: BTreeMap<String, String>,
    pub include_selectors: bool,
    pub include_templates: bool,
    /// Extra field specs (`fields`).
    pub fields: Vec<crate::transform::fieldspec::FieldSpec>,
}

/// One entry of `images`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Image {
    pub name: String,
    pub new_name: String,
    pub new_tag: String,
    pub digest: String,
    pub tag_suffix: String,
}

/// One entry of `replicas`.
#[derive(Debug, Clone, PartialEq)]
pub struct Replica {
    pub name: String,
    pub count: i64,
}

/// `sortOptions`.
#[derive(Debug, Clone, PartialEq)]
pub enum SortOptions {
    Legacy {
        order_first: Vec<String>,
        order_last: Vec<String>,
    },
    Fifo,
}

/// `openapi` (a map of strings in kustomize: other keys are ignored).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OpenApiField {
    /// `path`: a swagger file, relative to the kustomization.
    pub path: Option<String>,
    /// `version`: a built-in schema (`Some("")` when given empty).
    pub version: Option<String>,
    /// The line of `openapi:`.
    pub line: usize,
}

/// A kustomization file, read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Kustomization {
    /// The file it was read from.
    pub file: PathBuf,
    pub kind: String,
    pub resources: Vec<String>,
    pub namespace: String,
    pub name_prefix: String,
    pub name_suffix: String,
    pub common_labels: BTreeMap<String, String>,
    pub labels: Vec<Label>,
    pub common_annotations: BTreeMap<String, String>,
    pub images: Vec<Image>,
    pub replicas: Vec<Replica>,
    pub sort_options: Option<SortOptions>,
    /// Files of extra field specs.
    pub configurations: Vec<String>,
    /// `crds`: OpenAPI definition files (entry, line) whose `x-kubernetes-*`
    /// extensions add field specs.
    pub crds: Vec<(String, usize)>,
    /// `buildMetadata`: `originAnnotations`, `transformerAnnotations`.
    pub build_metadata: Vec<String>,
    /// `openapi`: the schema it asks for.
    pub openapi: Option<OpenApiField>,
    /// kustomize's warnings for deprecated fields, in its words.
    pub warnings: Vec<String>,
    /// `generators` and `transformers` entries.
    pub generators: Vec<String>,
    pub transformers: Vec<String>,
    /// `vars` (deprecated).
    pub vars: Vec<crate::vars::Var>,
    pub replacements: Vec<crate::transform::replacement::Entry>,
    /// Directories of `kind: Component` kustomizations.
    pub components: Vec<String>,
    /// `configMapGenerator` and `secretGenerator` entries.
    pub config_map_generator: Vec<crate::generate::Args>,
    pub secret_generator: Vec<crate::generate::Args>,
    pub generator_options: Option<crate::generate::GenOptions>,
    /// `patches`, `patchesStrategicMerge` (entry, line) and `patchesJson6902`.
    pub patches: Vec<crate::patch::Entry>,
    pub patches_strategic_merge: Vec<(String, usize)>,
    pub patches_json6902: Vec<crate::patch::Entry>,
}

/// Find the kustomization file of `dir`.
pub fn find(fs: &dyn FileSystem, dir: &Path) -> Result<PathBuf, Error> {
    let present: Vec<PathBuf> = FILE_NAMES
        .iter()
        .map(|n| dir.join(n))
        .filter(|p| fs.is_file(p))
        .collect();
    match present.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(Error::Build(format!(
            "unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' \
             in directory '{}'",
            dir.display()
        ))),
        _ => Err(Error::Build(format!(
            "Found multiple kustomization files under: {}",
            dir.display()
        ))),
    }
}

/// Read and check the kustomization file at `path`.
pub fn load(fs: &dyn FileSystem, path: &Path) -> Result<Kustomization, Error> {
    let file = path.display().to_string();
    let bytes = fs.read(path).map_err(|e| Error::Build(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|_| Error::At {
        file: file.clone(),
        line: 1,
        message: "invalid Kustomization: the file is not UTF-8 text".to_string(),
    })?;
    let docs = yaml::parse_stream_raw_last_key_wins(&text).map_err(|e| Error::At {
        file: file.clone(),
        line: e.line,
        message: format!("invalid Kustomization: {}", e.message),
    })?;
    let mut nodes = docs.into_iter().filter_map(|d| d.node);
    let Some(root) = nodes.next() else {
        return Err(Error::Build(format!("kustomization.yaml is empty: {file}")));
    };
    let yaml::Value::Map(entries) = &root.value else {
        return Err(Error::At {
            file,
            line: root.line,
            message: "invalid Kustomization: the document is not a mapping".to_string(),
        });
    };
    let mut k = Kustomization {
        file: path.to_path_buf(),
        ..Kustomization::default()
    };
    let mut api_version = String::new();
    let mut has_content = false;
    let at = |line: usize, message: String| Error::At {
        file: file.clone(),
        line,
        message,
    };
    for entry in entries {
        let Some(field) = KNOWN_FIELDS
            .iter()
            .find(|f| f.eq_ignore_ascii_case(&entry.key))
        else {
            let mut message = format!("invalid Kustomization: json: unknown field {:?}", entry.key);
            if let Some(hint) = suggest(&entry.key) {
                message.push_str(&format!("; did you mean `{hint}`?"));
            }
            return Err(at(entry.key_line, message));
        };
        let node = &entry.value;
        let value = from_node(node);
        if value == Value::Null {
            continue;
        }
        let field = *field;
        if field != "apiVersion" && field != "kind" {
            has_content = true;
        }
        if NOT_YET.contains(&field) {
            if is_empty(&value) {
                continue;
            }
            return Err(Error::NotSupported {
                field: field.to_string(),
                file: file.clone(),
                line: entry.key_line,
            });
        }
        if let Some((old, new)) = DEPRECATED.iter().find(|(old, _)| *old == field) {
            k.warnings.push(format!(
                "# Warning: '{old}' is deprecated. Please use '{new}' instead. Run 'kustomize \
                 edit fix' to update your Kustomization automatically."
            ));
        }
        let ctx = Ctx {
            file: &file,
            field,
            node,
        };
        match field {
            "apiVersion" => api_version = ctx.string(&value)?,
            "metadata" => {}
            "kind" => k.kind = ctx.string(&value)?,
            "resources" | "bases" => k.resources.extend(ctx.strings(&value)?),
            "namespace" => k.namespace = ctx.string(&value)?,
            "namePrefix" => k.name_prefix = ctx.string(&value)?,
            "nameSuffix" => k.name_suffix = ctx.string(&value)?,
            "commonLabels" => k.common_labels = ctx.string_map(&value)?,
            "commonAnnotations" => k.common_annotations = ctx.string_map(&value)?,
            "labels" => k.labels = ctx.labels(&value)?,
            "images" | "imageTags" => k.images.extend(ctx.images(&value)?),
            "replicas" => k.replicas = ctx.replicas(&value)?,
            "sortOptions" => k.sort_options = Some(ctx.sort_options(&value)?),
            "configurations" => k.configurations = ctx.strings(&value)?,
            "openapi" => k.openapi = Some(ctx.openapi(&value, entry.key_line)?),
            "buildMetadata" => {
                k.build_metadata = ctx.strings(&value)?;
                if let Some(other) = k
                    .build_metadata
                    .iter()
                    .find(|m| *m != "originAnnotations" && *m != "transformerAnnotations")
                {
                    return Err(Error::NotSupported {
                        field: format!("buildMetadata {other}"),
                        file: file.clone(),
                        line: entry.key_line,
                    });
                }
            }
            "generators" => k.generators = ctx.strings(&value)?,
            "components" => k.components = ctx.strings(&value)?,
            "vars" => {
                k.warnings.push(
                    "# Warning: 'vars' is deprecated. Please use 'replacements' instead. \
                     [EXPERIMENTAL] Run 'kustomize edit fix' to update your Kustomization \
                     automatically."
                        .to_string(),
                );
                let at = |i: usize| format!("{file}:{}", line_of_item(node, i));
                k.vars = crate::vars::from_value(&crate::decode::from_node_yaml11(node), &at)
                    .map_err(|e| ctx.error(item_line(node, &e), &e))?;
            }
            "replacements" => {
                let at = |i: usize| format!("{file}:{}", line_of_item(node, i));
                let value = crate::decode::from_node_yaml11(node);
                k.replacements = crate::transform::replacement::entries(&value, &at)
                    .map_err(|e| ctx.error(item_line(node, &e), &e))?;
            }
            "configMapGenerator" => {
                k.config_map_generator = crate::generate::from_kustomization(
                    &file,
                    crate::generate::Kind::ConfigMap,
                    node,
                )?
            }
            "secretGenerator" => {
                k.secret_generator =
                    crate::generate::from_kustomization(&file, crate::generate::Kind::Secret, node)?
            }
            "generatorOptions" => {
                k.generator_options =
                    Some(crate::generate::options_from_kustomization(&file, node)?)
            }
            "transformers" => k.transformers = ctx.strings(&value)?,
            "patches" => k.patches = ctx.patch_entries(&value)?,
            "patchesJson6902" => k.patches_json6902 = ctx.patch_entries(&value)?,
            "crds" => {
                let lines = (0..).map(|i| line_of_item(node, i));
                k.crds = ctx.strings(&value)?.into_iter().zip(lines).collect();
            }
            "patchesStrategicMerge" => {
                let lines = (0..).map(|i| line_of_item(node, i));
                k.patches_strategic_merge = ctx.strings(&value)?.into_iter().zip(lines).collect();
            }
            _ => {
                return Err(Error::NotSupported {
                    field: field.to_string(),
                    file: file.clone(),
                    line: entry.key_line,
                });
            }
        }
    }
    // kustomize checks deprecated fields in a fixed order, not the file's.
    k.warnings.sort_by_key(|w| {
        WARNING_ORDER
            .iter()
            .position(|f| w.contains(&format!("'{f}'")))
            .unwrap_or(usize::MAX)
    });
    if let Some(extra) = nodes.next() {
        return Err(at(
            extra.line,
            "invalid Kustomization: the file holds more than one document".to_string(),
        ));
    }
    if !k.kind.is_empty() && k.kind != "Kustomization" && k.kind != "Component" {
        return Err(at(
            root.line_of(&["kind".to_string()]),
            format!(
                "invalid Kustomization: kind {:?} is neither Kustomization nor Component",
                k.kind
            ),
        ));
    }
    let required = if k.kind == "Component" {
        "kustomize.config.k8s.io/v1alpha1"
    } else {
        "kustomize.config.k8s.io/v1beta1"
    };
    if !api_version.is_empty() && api_version != required {
        return Err(at(
            root.line_of(&["apiVersion".to_string()]),
            format!(
                "apiVersion for {} should be {required}, not {api_version:?}",
                if k.kind.is_empty() {
                    "Kustomization"
                } else {
                    &k.kind
                }
            ),
        ));
    }
    // kustomize prints its deprecation warnings in one fixed order (that of
    // `DEPRECATED`), whatever the order of the fields in the file.
    // The `vars` warning comes from elsewhere in kustomize, after these.
    k.warnings.sort_by_key(|w| {
        DEPRECATED
            .iter()
            .position(|(old, _)| w.contains(&format!("'{old}'")))
            .unwrap_or(usize::MAX)
    });
    // kustomize refuses a file that sets nothing beyond apiVersion and kind.
    if !has_content {
        return Err(Error::Build(format!("kustomization.yaml is empty: {file}")));
    }
    Ok(k)
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Seq(s) => s.is_empty(),
        Value::Map(m) => m.is_empty(),
        Value::Str(s) => s.is_empty(),
        _ => false,
    }
}

/// The known field closest to an unknown one.
fn suggest(key: &str) -> Option<&'static str> {
    KNOWN_FIELDS
        .iter()
        .map(|f| {
            (
                strsim::damerau_levenshtein(&key.to_lowercase(), &f.to_lowercase()),
                *f,
            )
        })
        .filter(|(d, f)| *d <= 3.max(f.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, f)| f)
}

/// Where a field was read, for messages.
struct Ctx<'a> {
    file: &'a str,
    field: &'a str,
    node: &'a Node,
}

impl Ctx<'_> {
    fn error(&self, line: usize, what: &str) -> Error {
        Error::At {
            file: self.file.to_string(),
            line,
            message: format!("invalid Kustomization: field `{}`: {what}", self.field),
        }
    }

    fn string(&self, value: &Value) -> Result<String, Error> {
        value
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| self.error(self.node.line, "expected a string"))
    }

    fn strings(&self, value: &Value) -> Result<Vec<String>, Error> {
        let Value::Seq(items) = value else {
            return Err(self.error(self.node.line, "expected a list of strings"));
        };
        items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str().map(str::to_string).ok_or_else(|| {
                    self.error(line_of_item(self.node, i), "expected a list of strings")
                })
            })
            .collect()
    }

    fn string_map(&self, value: &Value) -> Result<BTreeMap<String, String>, Error> {
        let Value::Map(m) = value else {
            return Err(self.error(self.node.line, "expected a map of strings"));
        };
        m.0.iter()
            .map(|(k, v)| match v {
                Value::Str(s) => Ok((k.clone(), s.clone())),
                // sigs.k8s.io/yaml turns an empty value into JSON null,
                // which Go's decoder leaves as the empty string.
                Value::Null => Ok((k.clone(), String::new())),
                _ => Err(self.error(
                    self.node.line_of(std::slice::from_ref(k)),
                    &format!(
                        "the value of {k:?} must be a string; quote it (\"{}\")",
                        v.scalar_text().unwrap_or_default()
                    ),
                )),
            })
            .collect()
    }

    fn list_of_maps<'v>(
        &self,
        value: &'v Value,
    ) -> Result<Vec<(usize, &'v crate::value::Map)>, Error> {
        let Value::Seq(items) = value else {
            return Err(self.error(self.node.line, "expected a list"));
        };
        items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_map()
                    .map(|m| (line_of_item(self.node, i), m))
                    .ok_or_else(|| self.error(line_of_item(self.node, i), "expected a mapping"))
            })
            .collect()
    }

    fn check_keys(&self, line: usize, m: &crate::value::Map, known: &[&str]) -> Result<(), Error> {
        for (k, _) in &m.0 {
            if !known.iter().any(|f| f.eq_ignore_ascii_case(k)) {
                let mut what = format!("unknown field {k:?}");
                if let Some(hint) = known
                    .iter()
                    .min_by_key(|f| strsim::damerau_levenshtein(k, f))
                    .filter(|f| strsim::damerau_levenshtein(k, f) <= 3)
                {
                    what.push_str(&format!("; did you mean `{hint}`?"));
                }
                return Err(self.error(line, &what));
            }
        }
        Ok(())
    }

    fn field_str(&self, line: usize, m: &crate::value::Map, key: &str) -> Result<String, Error> {
        match m
            .0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
        {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::Str(s)) => Ok(s.clone()),
            Some(other) => Err(self.error(
                line,
                &format!(
                    "`{key}` must be a string; quote it (\"{}\")",
                    other.scalar_text().unwrap_or_default()
                ),
            )),
        }
    }

    fn field_bool(&self, line: usize, m: &crate::value::Map, key: &str) -> Result<bool, Error> {
        match m
            .0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
        {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(self.error(line, &format!("`{key}` must be true or false"))),
        }
    }

    fn labels(&self, value: &Value) -> Result<Vec<Label>, Error> {
        let mut out = Vec::new();
        for (line, m) in self.list_of_maps(value)? {
            self.check_keys(
                line,
                m,
                &["pairs", "includeSelectors", "includeTemplates", "fields"],
            )?;
            let mut label = Label {
                include_selectors: self.field_bool(line, m, "includeSelectors")?,
                include_templates: self.field_bool(line, m, "includeTemplates")?,
                ..Label::default()
            };
            if let Some(pairs) = m.0.iter().find(|(k, _)| k.eq_ignore_ascii_case("pairs")) {
                label.pairs = match &pairs.1 {
                    Value::Null => BTreeMap::new(),
                    v => self.string_map(v)?,
                };
            }
            if let Some((_, fields)) = m.0.iter().find(|(k, _)| k.eq_ignore_ascii_case("fields")) {
                label.fields = crate::transform::fieldspec::from_value(fields)
                    .map_err(|e| self.error(line, &e))?;
            }
            out.push(label);
        }
        Ok(out)
    }

    fn images(&self, value: &Value) -> Result<Vec<Image>, Error> {
        let mut out = Vec::new();
        for (line, m) in self.list_of_maps(value)? {
            self.check_keys(
                line,
                m,
                &["name", "newName", "newTag", "digest", "tagSuffix"],
            )?;
            out.push(Image {
                name: self.field_str(line, m, "name")?,
                new_name: self.field_str(line, m, "newName")?,
                new_tag: self.field_str(line, m, "newTag")?,
                digest: self.field_str(line, m, "digest")?,
                tag_suffix: self.field_str(line, m, "tagSuffix")?,
            });
        }
        Ok(out)
    }

    fn replicas(&self, value: &Value) -> Result<Vec<Replica>, Error> {
        let mut out = Vec::new();
        for (line, m) in self.list_of_maps(value)? {
            self.check_keys(line, m, &["name", "count"])?;
            let count = match m
                .0
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("count"))
                .map(|(_, v)| v.resolved())
            {
                None => 0,
                Some(Value::Int(i)) => i,
                Some(_) => return Err(self.error(line, "`count` must be an integer")),
            };
            out.push(Replica {
                name: self.field_str(line, m, "name")?,
                count,
            });
        }
        Ok(out)
    }

    /// `patches` and `patchesJson6902` entries: `path` or `patch`, a
    /// `target`, `options`.
    fn patch_entries(&self, value: &Value) -> Result<Vec<crate::patch::Entry>, Error> {
        let mut out = Vec::new();
        for (line, m) in self.list_of_maps(value)? {
            self.check_keys(line, m, &["path", "patch", "target", "options"])?;
            let mut e = crate::patch::Entry {
                path: self.field_str(line, m, "path")?,
                patch: self.field_str(line, m, "patch")?,
                line,
                ..crate::patch::Entry::default()
            };
            let get = |key: &str| {
                m.0.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v)
                    .filter(|v| **v != Value::Null)
            };
            if let Some(t) = get("target") {
                let Value::Map(t) = t else {
                    return Err(self.error(line, "`target` must be a mapping"));
                };
                self.check_keys(
                    line,
                    t,
                    &[
                        "group",
                        "version",
                        "kind",
                        "name",
                        "namespace",
                        "labelSelector",
                        "annotationSelector",
                    ],
                )?;
                e.target = Some(crate::patch::Selector {
                    group: self.field_str(line, t, "group")?,
                    version: self.field_str(line, t, "version")?,
                    kind: self.field_str(line, t, "kind")?,
                    name: self.field_str(line, t, "name")?,
                    namespace: self.field_str(line, t, "namespace")?,
                    label_selector: self.field_str(line, t, "labelSelector")?,
                    annotation_selector: self.field_str(line, t, "annotationSelector")?,
                });
            }
            if let Some(o) = get("options") {
                let Value::Map(o) = o else {
                    return Err(self.error(line, "`options` must be a mapping of booleans"));
                };
                for (k, _) in &o.0 {
                    let b = self.field_bool(line, o, k)?;
                    match k.as_str() {
                        "allowNameChange" => e.allow_name_change = b,
                        "allowKindChange" => e.allow_kind_change = b,
                        _ => {}
                    }
                }
            }
            out.push(e);
        }
        Ok(out)
    }

    /// `openapi`: the schema strategic merge patches and the namespace
    /// transformer use. Which kustomization's counts, and whether it is
    /// valid, is decided while building ([`crate::openapi`]).
    fn openapi(&self, value: &Value, line: usize) -> Result<OpenApiField, Error> {
        let mut openapi = self.string_map(value)?;
        Ok(OpenApiField {
            path: openapi.remove("path"),
            version: openapi.remove("version"),
            line,
        })
    }

    fn sort_options(&self, value: &Value) -> Result<SortOptions, Error> {
        let line = self.node.line;
        let Value::Map(m) = value else {
            return Err(self.error(line, "expected a mapping"));
        };
        self.check_keys(line, m, &["order", "legacySortOptions"])?;
        let order = self.field_str(line, m, "order")?;
        let legacy =
            m.0.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("legacySortOptions"))
                .map(|(_, v)| v)
                .filter(|v| **v != Value::Null);
        match order.as_str() {
            "fifo" => {
                if legacy.is_some() {
                    return Err(self.error(
                        line,
                        "legacySortOptions is set but order is fifo: the options apply to the \
                         legacy order only",
                    ));
                }
                Ok(SortOptions::Fifo)
            }
            "legacy" => {
                let (mut first, mut last) = (None, None);
                if let Some(v) = legacy {
                    let Value::Map(lm) = v else {
                        return Err(self.error(line, "legacySortOptions: expected a mapping"));
                    };
                    self.check_keys(line, lm, &["orderFirst", "orderLast"])?;
                    for (k, v) in &lm.0 {
                        let list = match v {
                            Value::Null => Vec::new(),
                            other => self.strings(other)?,
                        };
                        if k.eq_ignore_ascii_case("orderFirst") {
                            first = Some(list);
                        } else {
                            last = Some(list);
                        }
                    }
                }
                Ok(SortOptions::Legacy {
                    order_first: first.unwrap_or_else(|| {
                        crate::sort::DEFAULT_ORDER_FIRST
                            .iter()
                            .map(|s| s.to_string())
                            .collect()
                    }),
                    order_last: last.unwrap_or_else(|| {
                        crate::sort::DEFAULT_ORDER_LAST
                            .iter()
                            .map(|s| s.to_string())
                            .collect()
                    }),
                })
            }
            other => Err(self.error(
                line,
                &format!("the sort order {other:?} is neither \"legacy\" nor \"fifo\""),
            )),
        }
    }
}

/// The line of the item an error names (`vars[3]...`), else the field's.
fn item_line(node: &Node, message: &str) -> usize {
    message
        .split_once('[')
        .and_then(|(_, rest)| rest.split_once(']'))
        .and_then(|(i, _)| i.parse().ok())
        .map_or(node.line, |i| line_of_item(node, i))
}

fn line_of_item(node: &Node, i: usize) -> usize {
    match &node.value {
        yaml::Value::Seq(items) => items.get(i).map_or(node.line, |n| n.line),
        _ => node.line,
    }
}

#[cfg(test)]
mod tests;
