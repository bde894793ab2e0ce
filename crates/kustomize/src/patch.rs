//! kustomize's patch transformers: `patchesStrategicMerge` (deprecated),
//! `patches` (strategic merge or JSON 6902, with or without a `target`)
//! and `patchesJson6902` (deprecated), configured from a kustomization
//! (patch files read at configuration time, as kustomize reads them) and
//! run in kustomize's order by [`crate::transform::run`]. The merge itself
//! is [`crate::smp`], the JSON operations [`crate::json6902`].

use crate::openapi::OpenApi;
use regex::Regex;

use crate::error::Error;
use crate::json6902;
use crate::resource::Resource;
use crate::smp;
use crate::value::{Map, Value};

/// Largest patch text (inline or file) a kustomization may name.
pub const MAX_PATCH_BYTES: usize = 4 << 20;

/// kustomize's `types.Selector`: which resources a patch targets. Name and
/// namespace (and group, version, kind) are regular expressions anchored
/// as `^(?:…)$`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Selector {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
    pub label_selector: String,
    pub annotation_selector: String,
}

impl Selector {
    /// kustomize prints a selector with `%q` of the Go struct; this is
    /// its fields, for messages.
    pub fn display(&self) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("group", &self.group),
            ("version", &self.version),
            ("kind", &self.kind),
            ("name", &self.name),
            ("namespace", &self.namespace),
            ("labelSelector", &self.label_selector),
            ("annotationSelector", &self.annotation_selector),
        ] {
            if !v.is_empty() {
                parts.push(format!("{k}: {v}"));
            }
        }
        format!("{{{}}}", parts.join(", "))
    }
}

/// One entry of `patches` or `patchesJson6902`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Entry {
    pub path: String,
    pub patch: String,
    pub target: Option<Selector>,
    pub allow_name_change: bool,
    pub allow_kind_change: bool,
    /// Where the entry is in the kustomization file.
    pub line: usize,
}

/// A configured patch transformer.
#[derive(Debug, Clone)]
pub enum Step {
    /// `patchesStrategicMerge`: every patch, each to the one resource its
    /// own id names.
    StrategicMerge(Vec<Resource>),
    /// One `patches` entry holding strategic merge patches.
    Merge {
        patches: Vec<Resource>,
        target: Option<Selector>,
        allow_name_change: bool,
        allow_kind_change: bool,
        source: String,
    },
    /// One `patches` entry holding JSON operations.
    Json {
        ops: json6902::Patch,
        target: Option<Selector>,
        source: String,
    },
    /// One `patchesJson6902` entry.
    Json6902 {
        ops: json6902::Patch,
        target: Selector,
        source: String,
    },
}

impl Step {
    /// The kind of kustomize's built-in transformer this is.
    pub fn transformer(&self) -> &'static str {
        match self {
            Step::StrategicMerge(_) => "PatchStrategicMergeTransformer",
            Step::Merge { .. } | Step::Json { .. } => "PatchTransformer",
            Step::Json6902 { .. } => "PatchJson6902Transformer",
        }
    }

    /// Run the transformer over the resources (it may delete some).
    pub fn apply(&self, resources: &mut Vec<Resource>, oa: &OpenApi) -> Result<(), String> {
        match self {
            Step::StrategicMerge(patches) => {
                for patch in patches {
                    let i = by_id(resources, patch, oa)?;
                    apply_to_selected(resources, &[i], patch, false, false, oa)?;
                }
                Ok(())
            }
            Step::Merge {
                patches,
                target: Some(target),
                allow_name_change,
                allow_kind_change,
                source,
            } => {
                if patches.len() > 1 {
                    return Err(format!(
                        "Multiple Strategic-Merge Patches in one `patches` entry is not allowed \
                         to set `patches.target` field: {source}"
                    ));
                }
                let selected = select(resources, target, oa).map_err(|e| {
                    format!(
                        "unable to find patch target {:?} in `resources`: {e}",
                        target.display()
                    )
                })?;
                let Some(patch) = patches.first() else {
                    return Ok(());
                };
                apply_to_selected(
                    resources,
                    &selected,
                    patch,
                    *allow_name_change,
                    *allow_kind_change,
                    oa,
                )
            }
            Step::Merge {
                patches,
                target: None,
                allow_name_change,
                allow_kind_change,
                ..
            } => {
                for patch in patches {
                    let i = by_id(resources, patch, oa).map_err(|e| {
                        format!(
                            "no resource matches strategic merge patch \"{}\": {e}",
                            patch.cur_id().display()
                        )
                    })?;
                    let keep = apply_smp(
                        &mut resources[i],
                        &patch.value,
                        *allow_name_change,
                        *allow_kind_change,
                        oa,
                    )?;
                    if !keep {
                        resources.remove(i);
                    }
                }
                Ok(())
            }
            Step::Json {
                ops,
                target,
                source,
            } => {
                let Some(target) = target else {
                    return Err(format!("must specify a target for JSON patch {source}"));
                };
                for i in select(resources, target, oa)? {
                    resources[i].store_previous_id(oa);
                    apply_json(&mut resources[i], ops)?;
                }
                Ok(())
            }
            Step::Json6902 { ops, target, .. } => {
                for i in select(resources, target, oa)? {
                    apply_json(&mut resources[i], ops)?;
                }
                Ok(())
            }
        }
    }
}

/// The patch transformers of a kustomization: those that run before the
/// namespace transformer (`patchesStrategicMerge`, then `patches`) and the
/// `patchesJson6902` ones (after the annotations).
#[derive(Debug, Clone, Default)]
pub struct Configured {
    pub first: Vec<Step>,
    pub json6902: Vec<Step>,
}

/// What a kustomization's patch fields configure. `read` reads a file
/// named in the kustomization (held to the load restrictor) and `file`
/// names the kustomization in messages.
pub fn configure(
    file: &str,
    strategic_merge: &[(String, usize)],
    patches: &[Entry],
    json6902: &[Entry],
    read: &mut dyn FnMut(&str) -> Result<String, Error>,
) -> Result<Configured, Error> {
    let at = |line: usize, message: String| Error::At {
        file: file.to_string(),
        line,
        message,
    };
    let mut out = Configured::default();
    if !strategic_merge.is_empty() {
        let mut loaded = Vec::new();
        for (entry, line) in strategic_merge {
            // kustomize first reads the entry as patch text, then as a path.
            let patches = match parse_smp("patchesStrategicMerge", entry) {
                Ok(p) if !p.is_empty() => p,
                _ => {
                    let text = read(entry)?;
                    check_size(&text).map_err(|e| at(*line, e))?;
                    parse_smp(entry, &text).map_err(|e| e.prefixed(&format!("{file}:{line}")))?
                }
            };
            loaded.extend(patches);
        }
        if loaded.is_empty() {
            return Err(at(
                strategic_merge[0].1,
                "patchesStrategicMerge: patch appears to be empty".to_string(),
            ));
        }
        out.first.push(Step::StrategicMerge(loaded));
    }
    for e in patches {
        let text = e.patch.trim();
        let (text, source) = match (text.is_empty(), e.path.is_empty()) {
            (true, true) => {
                return Err(at(
                    e.line,
                    "patches: must specify one of patch and path".to_string(),
                ));
            }
            (false, false) => {
                return Err(at(
                    e.line,
                    "patches: patch and path can't be set at the same time".to_string(),
                ));
            }
            (false, true) => (text.to_string(), format!("[patch: {text:?}]")),
            (true, false) => {
                let t = read(&e.path).map_err(|err| {
                    at(
                        e.line,
                        format!("failed to get the patch file from path({}): {err}", e.path),
                    )
                })?;
                (t, format!("[path: {:?}]", e.path))
            }
        };
        check_size(&text).map_err(|m| at(e.line, m))?;
        let smp = parse_smp(&source, &text);
        let json = decode_json(&text);
        let step = match (smp, json) {
            (Ok(_), Ok(_)) => {
                return Err(at(
                    e.line,
                    format!("illegally qualifies as both an SM and JSON patch: {source}"),
                ));
            }
            (Err(_), Err(_)) => {
                return Err(at(
                    e.line,
                    format!("unable to parse SM or JSON patch from {source}"),
                ));
            }
            (Ok(patches), Err(_)) => Step::Merge {
                patches,
                target: e.target.clone(),
                allow_name_change: e.allow_name_change,
                allow_kind_change: e.allow_kind_change,
                source,
            },
            (Err(_), Ok(ops)) => Step::Json {
                ops,
                target: e.target.clone(),
                source,
            },
        };
        out.first.push(step);
    }
    for e in json6902 {
        let Some(target) = e.target.clone().filter(|t| !t.name.is_empty()) else {
            return Err(at(
                e.line,
                "patchesJson6902: must specify the target name".to_string(),
            ));
        };
        let (text, source) = match (e.path.is_empty(), e.patch.is_empty()) {
            (true, true) => {
                return Err(at(
                    e.line,
                    "patchesJson6902: empty file path and empty jsonOp".to_string(),
                ));
            }
            (false, false) => {
                return Err(at(
                    e.line,
                    "patchesJson6902: must specify a file path or jsonOp, not both".to_string(),
                ));
            }
            (false, true) => {
                let t = read(&e.path)?;
                if t.is_empty() {
                    return Err(at(
                        e.line,
                        format!("patch file '{}' empty seems to be empty", e.path),
                    ));
                }
                (t, e.path.clone())
            }
            (true, false) => (e.patch.clone(), e.patch.clone()),
        };
        check_size(&text).map_err(|m| at(e.line, m))?;
        let ops = json6902::decode(&text)
            .map_err(|m| at(e.line, format!("patchesJson6902: decoding {source}: {m}")))?;
        if ops.is_empty() {
            return Err(at(
                e.line,
                format!(
                    "patch appears to be empty; file={}, JsonOp={}",
                    e.path, e.patch
                ),
            ));
        }
        out.json6902.push(Step::Json6902 {
            ops,
            target,
            source,
        });
    }
    Ok(out)
}

/// The steps of a built-in patch transformer named in `transformers`
/// (`PatchTransformer`, `PatchStrategicMergeTransformer`,
/// `PatchJson6902Transformer`); `None` for any other config.
pub fn from_config(
    file: &str,
    r: &Resource,
    read: &mut dyn FnMut(&str) -> Result<String, Error>,
) -> Result<Option<Vec<Step>>, Error> {
    let gvk = r.gvk();
    if !gvk.group.is_empty() || gvk.version != "builtin" {
        return Ok(None);
    }
    let Some(m) = r.map() else { return Ok(None) };
    let line = r
        .source
        .rsplit_once(':')
        .and_then(|(_, l)| l.parse().ok())
        .unwrap_or(1);
    let name = r.name();
    let invalid = |e: String| Error::At {
        file: file.to_string(),
        line,
        message: format!("builtin {} {name}: {e}", gvk.kind),
    };
    let string = |key: &str| -> Result<String, Error> {
        match m.get(key) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::Str(s)) => Ok(s.clone()),
            Some(_) => Err(invalid(format!("`{key}` must be a string"))),
        }
    };
    let target = || -> Result<Option<Selector>, Error> {
        match m.get("target") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Map(t)) => {
                let f = |k: &str| match t.get(k) {
                    None | Some(Value::Null) => Ok(String::new()),
                    Some(Value::Str(s)) => Ok(s.clone()),
                    Some(_) => Err(invalid(format!("`target.{k}` must be a string"))),
                };
                Ok(Some(Selector {
                    group: f("group")?,
                    version: f("version")?,
                    kind: f("kind")?,
                    name: f("name")?,
                    namespace: f("namespace")?,
                    label_selector: f("labelSelector")?,
                    annotation_selector: f("annotationSelector")?,
                }))
            }
            Some(_) => Err(invalid("`target` must be a mapping".to_string())),
        }
    };
    let configured = match gvk.kind.as_str() {
        "PatchTransformer" => {
            let mut e = Entry {
                path: string("path")?,
                patch: string("patch")?,
                target: target()?,
                line,
                ..Entry::default()
            };
            if let Some(Value::Map(o)) = m.get("options") {
                let flag = |k: &str| matches!(o.get(k), Some(Value::Bool(true)));
                e.allow_name_change = flag("allowNameChange");
                e.allow_kind_change = flag("allowKindChange");
            }
            configure(file, &[], &[e], &[], read)?
        }
        "PatchStrategicMergeTransformer" => {
            let mut entries: Vec<(String, usize)> = match m.get("paths") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Seq(items)) => items
                    .iter()
                    .map(|i| match i {
                        Value::Str(s) => Ok((s.clone(), line)),
                        _ => Err(invalid("`paths` must be a list of strings".to_string())),
                    })
                    .collect::<Result<_, _>>()?,
                Some(_) => return Err(invalid("`paths` must be a list of strings".to_string())),
            };
            let patches = string("patches")?;
            if entries.is_empty() && patches.is_empty() {
                return Err(invalid(
                    "empty file path and empty patch content".to_string(),
                ));
            }
            if !patches.is_empty() {
                entries.push((patches, line));
            }
            configure(file, &entries, &[], &[], read)?
        }
        "PatchJson6902Transformer" => {
            let e = Entry {
                path: string("path")?,
                patch: string("jsonOp")?,
                target: target()?,
                line,
                ..Entry::default()
            };
            configure(file, &[], &[], &[e], read)?
        }
        _ => return Ok(None),
    };
    Ok(Some(
        configured
            .first
            .into_iter()
            .chain(configured.json6902)
            .collect(),
    ))
}

/// The trap of seed 004: a patch that names the namespace its own
/// kustomization's `namespace` field sets matches nothing, because patches
/// run before the namespace transformer. kustomize's message stays; a hint
/// says why.
pub fn hint(e: Error, namespace: &str) -> Error {
    let Error::Build(m) = &e else { return e };
    let unmatched = m.contains("no resource matches strategic merge patch")
        || m.contains("; failed to find unique target for patch");
    if namespace.is_empty() || !unmatched || !m.contains(&format!(".{namespace}")) {
        return e;
    }
    Error::Build(format!(
        "{m}; hint: the patch names namespace '{namespace}', which this kustomization's \
         `namespace` field sets only after the patches run: drop metadata.namespace from the \
         patch (or select with a `target`)"
    ))
}

fn check_size(text: &str) -> Result<(), String> {
    if text.len() > MAX_PATCH_BYTES {
        return Err(format!(
            "the patch is {} bytes, more than the {MAX_PATCH_BYTES} a patch may have",
            text.len()
        ));
    }
    Ok(())
}

/// Strategic merge patches: resources (several documents, lists inlined).
fn parse_smp(source: &str, text: &str) -> Result<Vec<Resource>, Error> {
    crate::build::parse_resources(source, text)
}

/// JSON operations, as kustomize's `jsonPatchFromBytes` reads them: text
/// not starting with `[` is YAML.
fn decode_json(text: &str) -> Result<json6902::Patch, String> {
    json6902::decode(text)
}

/// The one resource any of whose ids is the patch's id.
fn by_id(resources: &[Resource], patch: &Resource, oa: &OpenApi) -> Result<usize, String> {
    let id = patch.cur_id();
    let found: Vec<usize> = resources
        .iter()
        .enumerate()
        .filter(|(_, r)| r.all_ids().iter().any(|x| x.same(&id, oa)))
        .map(|(i, _)| i)
        .collect();
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(format!(
            "no matches for Id {}; failed to find unique target for patch {}",
            id.display(),
            id.display()
        )),
        _ => Err(format!(
            "multiple matches for Id {}; failed to find unique target for patch {}",
            id.display(),
            id.display()
        )),
    }
}

fn anchored(pattern: &str) -> Result<Option<Regex>, String> {
    if pattern.is_empty() {
        return Ok(None);
    }
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(1 << 20)
        .build()
        .map(Some)
        .map_err(|e| format!("error parsing regexp {pattern:?}: {e}"))
}

/// kustomize's `resWrangler.Select`: indexes of the matching resources.
pub fn select(resources: &[Resource], s: &Selector, oa: &OpenApi) -> Result<Vec<usize>, String> {
    let group = anchored(&s.group)?;
    let version = anchored(&s.version)?;
    let kind = anchored(&s.kind)?;
    let name = anchored(&s.name)?;
    let namespace = anchored(&s.namespace)?;
    let labels = parse_selector(&s.label_selector)?;
    let annotations = parse_selector(&s.annotation_selector)?;
    let is = |re: &Option<Regex>, text: &str| re.as_ref().is_none_or(|r| r.is_match(text));
    let mut out = Vec::new();
    for (i, r) in resources.iter().enumerate() {
        let (cur, org) = (r.cur_id(), r.org_id());
        if !is(&namespace, &org.effective_namespace(oa))
            && !is(&namespace, &cur.effective_namespace(oa))
        {
            continue;
        }
        if !is(&name, &org.name) && !is(&name, &cur.name) {
            continue;
        }
        let gvk = r.gvk();
        if !is(&group, &gvk.group) || !is(&version, &gvk.version) || !is(&kind, &gvk.kind) {
            continue;
        }
        if !matches_selector(&labels, &r.metadata_map("labels"))
            || !matches_selector(&annotations, &r.metadata_map("annotations"))
        {
            continue;
        }
        out.push(i);
    }
    Ok(out)
}

/// One requirement of a Kubernetes label selector.
#[derive(Debug, Clone, PartialEq)]
enum Requirement {
    Exists(String),
    NotExists(String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
}

/// A label selector (`a=b,c!=d,e in (f,g),h notin (i),j,!k`); the empty
/// selector matches everything.
fn parse_selector(text: &str) -> Result<Vec<Requirement>, String> {
    let mut out = Vec::new();
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    let bad = || format!("unable to parse requirement: found invalid selector {text:?}");
    for part in parts {
        let p = part.trim();
        if p.is_empty() {
            if text.trim().is_empty() {
                continue;
            }
            return Err(bad());
        }
        let set = |rest: &str| -> Result<Vec<String>, String> {
            let inner = rest
                .trim()
                .strip_prefix('(')
                .and_then(|r| r.strip_suffix(')'))
                .ok_or_else(bad)?;
            Ok(inner.split(',').map(|v| v.trim().to_string()).collect())
        };
        let req = if let Some(key) = p.strip_prefix('!') {
            Requirement::NotExists(key.trim().to_string())
        } else if let Some((k, v)) = p.split_once("!=") {
            Requirement::NotIn(k.trim().to_string(), vec![v.trim().to_string()])
        } else if let Some((k, v)) = p.split_once("==").or_else(|| p.split_once('=')) {
            Requirement::In(k.trim().to_string(), vec![v.trim().to_string()])
        } else if let Some((k, rest)) = p.split_once(" notin ") {
            Requirement::NotIn(k.trim().to_string(), set(rest)?)
        } else if let Some((k, rest)) = p.split_once(" in ") {
            Requirement::In(k.trim().to_string(), set(rest)?)
        } else if p.contains(char::is_whitespace) || p.contains(['(', ')']) {
            return Err(bad());
        } else {
            Requirement::Exists(p.to_string())
        };
        out.push(req);
    }
    Ok(out)
}

fn matches_selector(reqs: &[Requirement], labels: &[(String, String)]) -> bool {
    let get = |k: &str| labels.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    reqs.iter().all(|r| match r {
        Requirement::Exists(k) => get(k).is_some(),
        Requirement::NotExists(k) => get(k).is_none(),
        Requirement::In(k, vs) => get(k).is_some_and(|v| vs.iter().any(|x| x == v)),
        Requirement::NotIn(k, vs) => get(k).is_none_or(|v| !vs.iter().any(|x| x == v)),
    })
}

/// A string-valued scalar as kyaml's setters write it (a plain scalar).
fn plain(text: &str) -> Value {
    smp::plain(text)
}

fn meta_mut(v: &mut Value) -> Option<&mut Map> {
    v.as_map_mut()?.map_entry("metadata")
}

fn set_meta(v: &mut Value, field: &str, text: &str) {
    if let Some(m) = meta_mut(v) {
        m.insert(field, plain(text));
    }
}

fn set_namespace(v: &mut Value, ns: &str) {
    if ns.is_empty() {
        if let Some(Value::Map(m)) = v.as_map_mut().and_then(|m| m.get_mut("metadata")) {
            m.remove("namespace");
        }
    } else {
        set_meta(v, "namespace", ns);
    }
}

/// kyaml's `SetLabels`/`SetAnnotations` on a patch: string values, and an
/// empty (or null) map dropped.
fn string_map(v: &mut Value, field: &str) {
    let Some(Value::Map(meta)) = v.as_map_mut().and_then(|m| m.get_mut("metadata")) else {
        return;
    };
    let Some(old) = meta.get(field) else { return };
    let pairs: Vec<(String, Value)> = match old {
        Value::Map(m) => {
            let mut p: Vec<(String, Value)> =
                m.0.iter()
                    .map(|(k, v)| (k.clone(), Value::Str(v.scalar_text().unwrap_or_default())))
                    .collect();
            p.sort_by(|a, b| a.0.cmp(&b.0));
            p
        }
        _ => Vec::new(),
    };
    if pairs.is_empty() {
        meta.remove(field);
    } else {
        meta.insert(field, Value::Map(Map(pairs)));
    }
}

/// kustomize's `resWrangler.ApplySmPatch`: a copy of the patch, with the
/// target's apiVersion, applied to each selected resource.
fn apply_to_selected(
    resources: &mut Vec<Resource>,
    selected: &[usize],
    patch: &Resource,
    allow_name_change: bool,
    allow_kind_change: bool,
    oa: &OpenApi,
) -> Result<(), String> {
    let mut base = patch.value.clone();
    string_map(&mut base, "labels");
    string_map(&mut base, "annotations");
    let (name, namespace, kind) = (patch.name(), patch.namespace(), patch.kind());
    set_meta(&mut base, "name", &name);
    set_namespace(&mut base, &namespace);
    let mut deleted = Vec::new();
    for &i in selected {
        let mut p = base.clone();
        if let Some(m) = p.as_map_mut() {
            m.insert("kind", plain(&kind));
            m.insert("apiVersion", plain(&resources[i].api_version()));
        }
        if !apply_smp(
            &mut resources[i],
            &p,
            allow_name_change,
            allow_kind_change,
            oa,
        )? {
            deleted.push(i);
        }
    }
    let mut i = 0;
    resources.retain(|_| {
        let keep = !deleted.contains(&i);
        i += 1;
        keep
    });
    Ok(())
}

/// kustomize's `Resource.ApplySmPatch`: merge, then put back the name and
/// kind (unless the patch may change them) and the namespace. `false`: the
/// resource was deleted.
fn apply_smp(
    r: &mut Resource,
    patch: &Value,
    allow_name_change: bool,
    allow_kind_change: bool,
    oa: &OpenApi,
) -> Result<bool, String> {
    let (name, namespace, kind) = (r.name(), r.namespace(), r.kind());
    if allow_name_change || allow_kind_change {
        r.store_previous_id(oa);
    }
    let merged = smp::merge(&oa.table(), &r.value, patch)
        .map_err(|e| format!("{} ({}): {e}", r.cur_id().display(), r.source))?;
    let Some(v) = merged else { return Ok(false) };
    if matches!(&v, Value::Map(m) if m.is_empty()) {
        return Ok(false);
    }
    r.value = v;
    if !allow_kind_change && let Some(m) = r.value.as_map_mut() {
        m.insert("kind", plain(&kind));
    }
    if !allow_name_change {
        set_meta(&mut r.value, "name", &name);
    }
    set_namespace(&mut r.value, &namespace);
    Ok(true)
}

/// The build annotations kustomize keeps on a resource while it builds
/// (its previous ids, prefixes and suffixes): a JSON patch sees them.
fn internal_annotations(r: &Resource) -> Vec<(String, String)> {
    const DOMAIN: &str = "internal.config.kubernetes.io";
    let mut out = Vec::new();
    let csv = |f: &dyn Fn(&crate::resource::ResId) -> String| {
        r.previous.iter().map(f).collect::<Vec<_>>().join(",")
    };
    if !r.previous.is_empty() {
        out.push((
            format!("{DOMAIN}/previousNames"),
            csv(&|id| id.name.clone()),
        ));
        out.push((
            format!("{DOMAIN}/previousNamespaces"),
            csv(&|id| id.namespace.clone()),
        ));
        out.push((
            format!("{DOMAIN}/previousKinds"),
            csv(&|id| id.gvk.kind.clone()),
        ));
    }
    if !r.prefixes.is_empty() {
        out.push((format!("{DOMAIN}/prefixes"), r.prefixes.join(",")));
    }
    if !r.suffixes.is_empty() {
        out.push((format!("{DOMAIN}/suffixes"), r.suffixes.join(",")));
    }
    out
}

/// kustomize's JSON patch of one resource: the object as JSON, with its
/// build annotations in place; afterwards the annotations are written back
/// as strings and the build annotations restored (and, here, dropped: the
/// build strips them before printing anyway).
fn apply_json(r: &mut Resource, ops: &json6902::Patch) -> Result<(), String> {
    let id = r.cur_id().display();
    let internal = internal_annotations(r);
    if !internal.is_empty()
        && let Some(meta) = meta_mut(&mut r.value)
        && let Some(annotations) = meta.map_entry("annotations")
    {
        for (k, v) in &internal {
            annotations.insert(k, Value::Str(v.clone()));
        }
    }
    json6902::apply(&mut r.value, ops).map_err(|e| format!("{id} ({}): {e}", r.source))?;
    json6902::normalize(&mut r.value);
    if let Some(Value::Map(meta)) = r.value.as_map_mut().and_then(|m| m.get_mut("metadata"))
        && let Some(Value::Map(annotations)) = meta.get_mut("annotations")
    {
        for (k, _) in &internal {
            annotations.remove(k);
        }
    }
    string_map(&mut r.value, "annotations");
    Ok(())
}

#[cfg(test)]
mod tests;
