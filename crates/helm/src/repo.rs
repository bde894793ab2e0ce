//! A chart repository's `index.yaml` as source-controller reads it
//! (helm-semantics.md §9.1–§9.2): Helm's `repo.IndexFile` loaded by Flux's
//! `IndexFromBytes`, the HelmRepository artifact (the index as Go's
//! `json.MarshalIndent`), and a HelmChart's version selection and chart URL.
//!
//! Pure: the bytes are the caller's (downloaded under [`MAX_INDEX_SIZE`]).

use std::collections::BTreeMap;

use ferroflux_api::yaml::{Node, Value as Yaml};
use ferroflux_policy::semver::{Constraints, try_parse_tag};
use serde_json::{Map, Value};

use crate::chart::Metadata;
use crate::chart::metadata::{self as md, Decoded};

mod time;
mod url;

pub use time::GoTime;
pub use url::resolve_reference_url;

/// source-controller's `helm.MaxIndexSize`: 50 MiB.
pub const MAX_INDEX_SIZE: usize = 50 << 20;
/// Most chart versions (all charts together) one index may list: far above
/// real repositories (Bitnami's full index held ~20,000), a bound on a
/// hostile one.
pub const MAX_CHART_VERSIONS: usize = 250_000;

/// Why an index could not be loaded, or a chart not selected: Helm's or
/// Flux's words; `line` where the index was at fault, when known.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct IndexError {
    pub message: String,
    pub line: Option<usize>,
}

impl IndexError {
    fn new(message: impl Into<String>) -> IndexError {
        IndexError {
            message: message.into(),
            line: None,
        }
    }
}

/// Helm's `repo.ChartVersion`: a chart's metadata and where to get it.
#[derive(Clone, Debug, PartialEq)]
pub struct ChartVersion {
    /// The embedded `chart.Metadata`, validated and sanitised.
    pub metadata: Metadata,
    /// `urls` (`None` is Go's nil slice, written `null`).
    pub urls: Option<Vec<String>>,
    pub created: GoTime,
    pub removed: bool,
    pub digest: String,
    pub checksum: String,
    pub engine: String,
    pub tiller_version: String,
    pub url: String,
}

impl ChartVersion {
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    pub fn version(&self) -> &str {
        &self.metadata.version
    }
}

/// Helm's `repo.IndexFile` as loaded by source-controller.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Index {
    pub server_info: Option<Map<String, Value>>,
    pub api_version: String,
    pub generated: GoTime,
    /// Per chart name, newest version first (`None`: no `entries` key).
    pub entries: Option<BTreeMap<String, Vec<ChartVersion>>>,
    /// Charts whose list was `null` (Go's nil slice, written `null`; an
    /// emptied list is written `[]`).
    pub nil_entries: std::collections::BTreeSet<String>,
    pub public_keys: Vec<String>,
    pub annotations: BTreeMap<String, String>,
}

/// The HelmRepository artifact revision of raw index bytes:
/// `sha256:<hex>`.
pub fn revision(raw: &[u8]) -> String {
    use sha2::Digest;
    let mut out = String::from("sha256:");
    for b in sha2::Sha256::digest(raw) {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

thread_local! {
    /// The index being decoded is JSON: `encoding/json`'s typing, no
    /// scalar-to-string conversion.
    static JSON_INPUT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// sigs.k8s.io/yaml's wrapping of a decode error of a YAML index; a JSON
/// index's errors are `encoding/json`'s own.
fn unmarshal_prefix() -> &'static str {
    if JSON_INPUT.with(std::cell::Cell::get) {
        ""
    } else {
        "error unmarshaling JSON: while decoding JSON: "
    }
}

fn type_error(kind: &str, strukt: &str, path: &str, ty: &str, line: usize) -> IndexError {
    IndexError {
        message: format!(
            "{}json: cannot unmarshal {kind} into Go struct field {strukt}.{path} of type {ty}",
            unmarshal_prefix()
        ),
        line: Some(line),
    }
}

fn unknown_field(key: &str, line: usize) -> IndexError {
    IndexError {
        message: format!(
            "{}json: unknown field {}",
            unmarshal_prefix(),
            crate::strvals::go_quote(key)
        ),
        line: Some(line),
    }
}

fn string_of(node: &Node, strukt: &str, path: &str) -> Result<String, IndexError> {
    if JSON_INPUT.with(std::cell::Cell::get) {
        want(node, &["string"], strukt, path, "string")?;
    }
    md::as_string(node)
        .map(Option::unwrap_or_default)
        .map_err(|k| type_error(k, strukt, path, "string", node.line))
}

fn strings_of(node: &Node, strukt: &str, path: &str) -> Result<Option<Vec<String>>, IndexError> {
    match &node.value {
        Yaml::Seq(items) => items
            .iter()
            .map(|i| string_of(i, strukt, path))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        _ if md::is_null(node) => Ok(None),
        _ => Err(type_error(
            md::kind(node),
            strukt,
            path,
            "[]string",
            node.line,
        )),
    }
}

fn time_of(node: &Node) -> Result<Option<GoTime>, IndexError> {
    if md::is_null(node) {
        return Ok(None);
    }
    let text = match &node.value {
        Yaml::Str { text, .. } if md::kind(node) == "string" => text,
        _ => {
            return Err(IndexError {
                message: format!(
                    "{}Time.UnmarshalJSON: input is not a JSON string",
                    unmarshal_prefix()
                ),
                line: Some(node.line),
            });
        }
    };
    GoTime::parse(text).map(Some).map_err(|e| IndexError {
        message: format!("{}{e}", unmarshal_prefix()),
        line: Some(node.line),
    })
}

const INDEX_FIELDS: &[&str] = &[
    "serverInfo",
    "apiVersion",
    "generated",
    "entries",
    "publicKeys",
    "annotations",
];

const ENTRY_FIELDS: &[&str] = &[
    "urls",
    "created",
    "removed",
    "digest",
    "checksum",
    "engine",
    "tillerVersion",
    "url",
];

impl Index {
    /// Flux's `IndexFromBytes` (and the size bound of `IndexFromFile`):
    /// JSON when the bytes are valid JSON, else strict YAML (unknown fields
    /// refused); `apiVersion` required; nil entries dropped, missing
    /// metadata initialised, an entry's empty `apiVersion` set to `v1`,
    /// entries that fail `Metadata.Validate` dropped (a duplicated
    /// dependency name is tolerated); each chart's versions sorted newest
    /// first.
    pub fn load(data: &[u8]) -> Result<Index, IndexError> {
        Index::load_bounded(data, MAX_CHART_VERSIONS)
    }

    /// [`Index::load`] with another bound on the chart versions listed.
    pub fn load_bounded(data: &[u8], max_versions: usize) -> Result<Index, IndexError> {
        if data.len() > MAX_INDEX_SIZE {
            return Err(IndexError::new(format!(
                "index exceeds the maximum index file size of {MAX_INDEX_SIZE} bytes"
            )));
        }
        if data.is_empty() {
            return Err(IndexError::new("empty index.yaml file"));
        }
        let strict = serde_json::from_slice::<serde::de::IgnoredAny>(data).is_err();
        let text = String::from_utf8_lossy(data);
        // `yaml.UnmarshalStrict` refuses a key given twice in one mapping;
        // `json.Unmarshal` keeps the last.
        let parsed = ferroflux_api::yaml::parse_stream_raw_sized(&text, !strict, MAX_INDEX_SIZE);
        let docs = parsed.map_err(|e| {
            if let Some(key) = e
                .message
                .strip_prefix("duplicate key ")
                .and_then(|r| r.strip_suffix(" in one mapping"))
            {
                return IndexError {
                    message: format!(
                        "error converting YAML to JSON: yaml: unmarshal errors:\n  line {}: key {key} \
                         already set in map",
                        e.line
                    ),
                    line: Some(e.line),
                };
            }
            let e = crate::values::yaml::syntax(&e);
            IndexError {
                message: e.message,
                line: Some(e.line),
            }
        })?;
        let mut index = Index::default();
        JSON_INPUT.with(|j| j.set(!strict));
        if let Some(node) = docs.into_iter().next().and_then(|d| d.node) {
            index.decode(&node, strict, max_versions)?;
        }
        if index.api_version.is_empty() {
            return Err(IndexError::new("no API version specified"));
        }
        Ok(index)
    }

    fn decode(&mut self, node: &Node, strict: bool, max_versions: usize) -> Result<(), IndexError> {
        if md::is_null(node) {
            return Ok(());
        }
        if !matches!(node.value, Yaml::Map(_)) {
            return Err(IndexError {
                message: format!(
                    "{}json: cannot unmarshal {} into Go value of type repo.IndexFile",
                    unmarshal_prefix(),
                    md::kind(node)
                ),
                line: Some(node.line),
            });
        }
        const S: &str = "IndexFile";
        let mut count = 0usize;
        for (key, value) in md::entries(node) {
            let Some(f) = md::field(&key, INDEX_FIELDS) else {
                if strict {
                    return Err(unknown_field(&key, value.line));
                }
                continue;
            };
            match f {
                "serverInfo" => {
                    let v = crate::values::yaml::to_json(value).map_err(|e| IndexError {
                        message: e.message,
                        line: Some(e.line),
                    })?;
                    self.server_info = match v {
                        Value::Object(m) => Some(m),
                        Value::Null => None,
                        _ => {
                            return Err(type_error(
                                md::kind(value),
                                S,
                                f,
                                "map[string]interface {}",
                                value.line,
                            ));
                        }
                    };
                }
                "apiVersion" => self.api_version = string_of(value, S, f)?,
                "generated" => {
                    if let Some(t) = time_of(value)? {
                        self.generated = t;
                    }
                }
                "publicKeys" => self.public_keys = strings_of(value, S, f)?.unwrap_or_default(),
                "annotations" => {
                    self.annotations.clear();
                    if md::is_null(value) {
                        continue;
                    }
                    if !matches!(value.value, Yaml::Map(_)) {
                        return Err(type_error(
                            md::kind(value),
                            S,
                            f,
                            "map[string]string",
                            value.line,
                        ));
                    }
                    for (k, v) in md::entries(value) {
                        self.annotations.insert(k, string_of(v, S, f)?);
                    }
                }
                _ => {
                    if md::is_null(value) {
                        self.entries = None;
                        continue;
                    }
                    if !matches!(value.value, Yaml::Map(_)) {
                        return Err(type_error(
                            md::kind(value),
                            S,
                            f,
                            "map[string]repo.ChartVersions",
                            value.line,
                        ));
                    }
                    let mut entries = BTreeMap::new();
                    self.nil_entries.clear();
                    for (name, versions) in md::entries(value) {
                        if md::is_null(versions) {
                            self.nil_entries.insert(name.clone());
                        }
                        let list = decode_versions(versions, strict, &mut count, max_versions)?;
                        entries.insert(name, list);
                    }
                    self.entries = Some(entries);
                }
            }
        }
        Ok(())
    }

    /// The HelmRepository artifact: `json.MarshalIndent(index, "", "  ")`.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        out.push('{');
        let mut first = true;
        let mut key = |out: &mut String, k: &str| {
            if !first {
                out.push(',');
            }
            first = false;
            out.push('"');
            out.push_str(k);
            out.push_str("\":");
        };
        if let Some(si) = self.server_info.as_ref().filter(|m| !m.is_empty()) {
            key(&mut out, "serverInfo");
            out.push_str(&go_json(&Value::Object(si.clone())));
        }
        key(&mut out, "apiVersion");
        quote(&self.api_version, &mut out);
        key(&mut out, "generated");
        quote(&self.generated.rfc3339_nano(), &mut out);
        key(&mut out, "entries");
        match &self.entries {
            None => out.push_str("null"),
            Some(entries) => {
                out.push('{');
                for (i, (name, versions)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    quote(name, &mut out);
                    out.push(':');
                    if self.nil_entries.contains(name) {
                        out.push_str("null");
                        continue;
                    }
                    out.push('[');
                    for (j, cv) in versions.iter().enumerate() {
                        if j > 0 {
                            out.push(',');
                        }
                        chart_version_json(cv, &mut out);
                    }
                    out.push(']');
                }
                out.push('}');
            }
        }
        if !self.public_keys.is_empty() {
            key(&mut out, "publicKeys");
            strings_json(&self.public_keys, &mut out);
        }
        if !self.annotations.is_empty() {
            key(&mut out, "annotations");
            string_map_json(&self.annotations, &mut out);
        }
        out.push('}');
        go_indent(&out)
    }

    /// The versions of chart `name`, newest first.
    pub fn versions(&self, name: &str) -> Option<&[ChartVersion]> {
        self.entries.as_ref()?.get(name).map(Vec::as_slice)
    }

    /// source-controller's `getChartVersion`: `version` equal to an
    /// entry's version wins; otherwise `version` (empty → `*`) is a
    /// Masterminds constraint, entries are parsed as Flux parses tags
    /// (strict semver, optional `v`; others skipped), and the highest match
    /// wins, a tie going to the later `created`.
    pub fn get(&self, name: &str, version: &str) -> Result<&ChartVersion, IndexError> {
        let cvs = self
            .versions(name)
            .ok_or_else(|| IndexError::new("no chart name found"))?;
        if cvs.is_empty() {
            return Err(IndexError::new("no chart version found"));
        }
        if !version.is_empty()
            && let Some(cv) = cvs.iter().find(|cv| cv.version() == version)
        {
            return Ok(cv);
        }
        let range = if version.is_empty() { "*" } else { version };
        let constraint = Constraints::parse(range).map_err(|e| IndexError::new(e.to_string()))?;
        let mut best: Option<(ferroflux_policy::semver::Version<'_>, &ChartVersion)> = None;
        for cv in cvs {
            let Some(v) = try_parse_tag(cv.version()) else {
                continue;
            };
            if !constraint.check(&v) {
                continue;
            }
            let better = match &best {
                None => true,
                Some((bv, bcv)) => match v.compare(bv) {
                    std::cmp::Ordering::Greater => true,
                    std::cmp::Ordering::Less => false,
                    std::cmp::Ordering::Equal => !cv.created.before(&bcv.created),
                },
            };
            if better {
                best = Some((v, cv));
            }
        }
        best.map(|(_, cv)| cv).ok_or_else(|| {
            IndexError::new(format!(
                "no '{name}' chart with version matching '{version}' found"
            ))
        })
    }
}

/// Where to download a chart version: its first URL resolved against the
/// repository URL (Helm's `ResolveReferenceURL`).
pub fn chart_url(repository_url: &str, cv: &ChartVersion) -> Result<String, IndexError> {
    let first = cv.urls.as_ref().and_then(|u| u.first()).ok_or_else(|| {
        IndexError::new(format!(
            "chart '{}' has no downloadable URLs",
            cv.metadata.name
        ))
    })?;
    resolve_reference_url(repository_url, first).map_err(IndexError::new)
}

fn decode_versions(
    node: &Node,
    strict: bool,
    count: &mut usize,
    max_versions: usize,
) -> Result<Vec<ChartVersion>, IndexError> {
    let items = match &node.value {
        Yaml::Seq(items) => items,
        _ if md::is_null(node) => return Ok(Vec::new()),
        _ => {
            return Err(type_error(
                md::kind(node),
                "IndexFile",
                "entries",
                "repo.ChartVersions",
                node.line,
            ));
        }
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        *count += 1;
        if *count > max_versions {
            return Err(IndexError {
                message: format!("index lists more than {max_versions} chart versions"),
                line: Some(item.line),
            });
        }
        if md::is_null(item) {
            continue;
        }
        if !matches!(item.value, Yaml::Map(_)) {
            return Err(type_error(
                md::kind(item),
                "IndexFile",
                "entries",
                "repo.ChartVersion",
                item.line,
            ));
        }
        if let Some(cv) = decode_version(item, strict)? {
            out.push(cv);
        }
    }
    // `sort.Sort(sort.Reverse(versions))` by Masterminds `NewVersion`;
    // every kept entry's version parses (`Validate` checked it).
    out.sort_by(|a, b| {
        let pa = crate::chart::semver::parse_loose(a.version());
        let pb = crate::chart::semver::parse_loose(b.version());
        match (pa, pb) {
            (Some(x), Some(y)) => y.compare(&x),
            _ => std::cmp::Ordering::Equal,
        }
    });
    Ok(out)
}

/// The JSON kind of a node without sigs.k8s.io/yaml's scalar-to-string
/// conversion: the embedded `*chart.Metadata` of an index entry gets none
/// (`version: 1.10` is "cannot unmarshal number"), nor does any field of a
/// JSON index.
fn plain_kind(node: &Node) -> &'static str {
    md::kind(node)
}

fn want(node: &Node, kinds: &[&str], strukt: &str, path: &str, ty: &str) -> Result<(), IndexError> {
    let k = plain_kind(node);
    if k == "null" || kinds.contains(&k) {
        return Ok(());
    }
    Err(type_error(k, strukt, path, ty, node.line))
}

fn want_strings(node: &Node, strukt: &str, path: &str) -> Result<(), IndexError> {
    want(node, &["array"], strukt, path, "[]string")?;
    if let Yaml::Seq(items) = &node.value {
        for i in items {
            want(i, &["string"], strukt, path, "string")?;
        }
    }
    Ok(())
}

/// Go's typing of the `chart.Metadata` fields of an entry (and of its
/// maintainers and dependencies), checked before the entry is decoded.
fn check_metadata_types(node: &Node) -> Result<(), IndexError> {
    const P: &str = "entries.Metadata";
    const CV: &str = "ChartVersion";
    for (key, value) in md::entries(node) {
        let Some(f) = md::field(&key, md::METADATA_FIELDS) else {
            continue;
        };
        let path = format!("{P}.{f}");
        match f {
            "sources" | "keywords" => want_strings(value, CV, &path)?,
            "deprecated" => want(value, &["bool"], CV, &path, "bool")?,
            "annotations" => {
                want(value, &["object"], CV, &path, "map[string]string")?;
                for (_, v) in md::entries(value) {
                    want(v, &["string"], CV, &path, "string")?;
                }
            }
            "maintainers" | "dependencies" => {
                let (strukt, ty) = if f == "maintainers" {
                    ("Maintainer", "[]*v2.Maintainer")
                } else {
                    ("Dependency", "[]*v2.Dependency")
                };
                want(value, &["array"], CV, &path, ty)?;
                let Yaml::Seq(items) = &value.value else {
                    continue;
                };
                for item in items {
                    want(item, &["object"], CV, &path, &ty[3..])?;
                    for (k, v) in md::entries(item) {
                        let sub = format!("{path}.{k}");
                        match k.as_str() {
                            "tags" if strukt == "Dependency" => want_strings(v, strukt, &sub)?,
                            "enabled" if strukt == "Dependency" => {
                                want(v, &["bool"], strukt, &sub, "bool")?
                            }
                            "import-values" if strukt == "Dependency" => {
                                want(v, &["array"], strukt, &sub, "[]interface {}")?
                            }
                            "name" | "email" | "url" if strukt == "Maintainer" => {
                                want(v, &["string"], strukt, &sub, "string")?
                            }
                            "name" | "version" | "repository" | "condition" | "alias"
                                if strukt == "Dependency" =>
                            {
                                want(v, &["string"], strukt, &sub, "string")?
                            }
                            _ => {}
                        }
                    }
                }
            }
            _ => want(value, &["string"], CV, &path, "string")?,
        }
    }
    Ok(())
}

/// One entry: `Ok(None)` when `Metadata.Validate` drops it.
fn decode_version(node: &Node, strict: bool) -> Result<Option<ChartVersion>, IndexError> {
    const S: &str = "ChartVersion";
    check_metadata_types(node)?;
    let mut dec = Decoded::default();
    md::decode_node(node, &mut dec).map_err(|e| IndexError {
        message: e.message,
        line: e.line,
    })?;
    let mut cv = ChartVersion {
        metadata: Metadata::default(),
        urls: None,
        created: GoTime::default(),
        removed: false,
        digest: String::new(),
        checksum: String::new(),
        engine: String::new(),
        tiller_version: String::new(),
        url: String::new(),
    };
    for (key, value) in md::entries(node) {
        if md::field(&key, md::METADATA_FIELDS).is_some() {
            continue;
        }
        let Some(f) = md::field(&key, ENTRY_FIELDS) else {
            if strict {
                return Err(unknown_field(&key, value.line));
            }
            continue;
        };
        let path = format!("entries.{f}");
        let path = path.as_str();
        match f {
            "urls" => cv.urls = strings_of(value, S, path)?,
            "created" => {
                if let Some(t) = time_of(value)? {
                    cv.created = t;
                }
            }
            "removed" => {
                cv.removed = md::as_bool(value)
                    .map_err(|k| type_error(k, S, path, "bool", value.line))?
                    .unwrap_or(false);
            }
            "digest" => cv.digest = string_of(value, S, path)?,
            "checksum" => cv.checksum = string_of(value, S, path)?,
            "engine" => cv.engine = string_of(value, S, path)?,
            "tillerVersion" => cv.tiller_version = string_of(value, S, path)?,
            _ => cv.url = string_of(value, S, path)?,
        }
    }
    if dec.md.api_version.is_empty() {
        dec.md.api_version = "v1".to_string();
    }
    if let Err(e) = md::validate(&mut dec)
        && !e.starts_with("validation: more than one dependency with name or alias")
    {
        return Ok(None);
    }
    cv.metadata = dec.md;
    cv.metadata.refresh_go_map();
    Ok(Some(cv))
}

fn quote(s: &str, out: &mut String) {
    ferroflux_api::gojson::quote_into(s, out);
}

fn go_json(v: &Value) -> String {
    // Values typed from YAML/JSON hold no NaN or infinity.
    crate::funcs::to_json(v).unwrap_or_else(|_| "null".to_string())
}

fn strings_json(items: &[String], out: &mut String) {
    out.push('[');
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        quote(s, out);
    }
    out.push(']');
}

fn string_map_json(m: &BTreeMap<String, String>, out: &mut String) {
    out.push('{');
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        quote(k, out);
        out.push(':');
        quote(v, out);
    }
    out.push('}');
}

/// An object's fields in Go struct order, `omitempty` applied by the caller.
struct Obj<'o> {
    out: &'o mut String,
    first: bool,
}

impl<'o> Obj<'o> {
    fn open(out: &'o mut String) -> Obj<'o> {
        out.push('{');
        Obj { out, first: true }
    }

    fn key(&mut self, k: &str) -> &mut String {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        self.out.push('"');
        self.out.push_str(k);
        self.out.push_str("\":");
        self.out
    }

    fn str(&mut self, k: &str, v: &str, omitempty: bool) {
        if omitempty && v.is_empty() {
            return;
        }
        let out = self.key(k);
        quote(v, out);
    }

    fn strs(&mut self, k: &str, v: &[String]) {
        if v.is_empty() {
            return;
        }
        let out = self.key(k);
        strings_json(v, out);
    }

    fn close(self) {
        self.out.push('}');
    }
}

/// The fields of `chart.Metadata` as `encoding/json` writes them (all
/// `omitempty`), into an open object.
fn metadata_fields(m: &Metadata, o: &mut Obj<'_>, with_dependencies: bool) {
    o.str("name", &m.name, true);
    o.str("home", &m.home, true);
    o.strs("sources", &m.sources);
    o.str("version", &m.version, true);
    o.str("description", &m.description, true);
    o.strs("keywords", &m.keywords);
    if !m.maintainers.is_empty() {
        let out = o.key("maintainers");
        out.push('[');
        for (i, mt) in m.maintainers.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let mut mo = Obj::open(out);
            mo.str("name", &mt.name, true);
            mo.str("email", &mt.email, true);
            mo.str("url", &mt.url, true);
            mo.close();
        }
        out.push(']');
    }
    o.str("icon", &m.icon, true);
    o.str("apiVersion", &m.api_version, true);
    o.str("condition", &m.condition, true);
    o.str("tags", &m.tags, true);
    o.str("appVersion", &m.app_version, true);
    if m.deprecated {
        o.key("deprecated").push_str("true");
    }
    if let Some(a) = m.annotations.as_ref().filter(|a| !a.is_empty()) {
        string_map_json(a, o.key("annotations"));
    }
    o.str("kubeVersion", &m.kube_version, true);
    if with_dependencies && !m.dependencies.is_empty() {
        let out = o.key("dependencies");
        out.push('[');
        for (i, d) in m.dependencies.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            dependency_json(d, out);
        }
        out.push(']');
    }
    o.str("type", &m.kind, true);
}

/// `chart.Dependency` as `encoding/json` writes it.
pub(crate) fn dependency_json(d: &crate::chart::Dependency, out: &mut String) {
    let mut o = Obj::open(out);
    o.str("name", &d.name, false);
    o.str("version", &d.version, true);
    o.str("repository", &d.repository, false);
    o.str("condition", &d.condition, true);
    o.strs("tags", &d.tags);
    if d.enabled {
        o.key("enabled").push_str("true");
    }
    if !d.import_values.is_empty() {
        let v = go_json(&Value::Array(d.import_values.clone()));
        o.key("import-values").push_str(&v);
    }
    o.str("alias", &d.alias, true);
    o.close();
}

fn chart_version_json(cv: &ChartVersion, out: &mut String) {
    let mut o = Obj::open(out);
    metadata_fields(&cv.metadata, &mut o, true);
    match &cv.urls {
        None => o.key("urls").push_str("null"),
        Some(u) => strings_json(u, o.key("urls")),
    }
    quote(&cv.created.rfc3339_nano(), o.key("created"));
    if cv.removed {
        o.key("removed").push_str("true");
    }
    o.str("digest", &cv.digest, true);
    o.str("checksum", &cv.checksum, true);
    o.str("engine", &cv.engine, true);
    o.str("tillerVersion", &cv.tiller_version, true);
    o.str("url", &cv.url, true);
    o.close();
}

/// Go's `json.Indent(dst, src, "", "  ")` of compact JSON: empty objects
/// and arrays stay `{}`/`[]`.
fn go_indent(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len() * 2);
    let mut depth = 0usize;
    let mut in_str = false;
    let mut i = 0;
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    };
    while i < b.len() {
        let c = b[i];
        if in_str {
            let start = i;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            let end = i.min(b.len());
            out.push_str(&src[start..end]);
            if i < b.len() {
                out.push('"');
            }
            in_str = false;
            i += 1;
            continue;
        }
        match c {
            b'"' => {
                out.push('"');
                in_str = true;
            }
            b'{' | b'[' => {
                out.push(c as char);
                let close = if c == b'{' { b'}' } else { b']' };
                if b.get(i + 1) == Some(&close) {
                    out.push(close as char);
                    i += 1;
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c as char);
            }
            b',' => {
                out.push(',');
                newline(&mut out, depth);
            }
            b':' => out.push_str(": "),
            _ => {
                // Numbers and literals: copy the run up to the next delimiter.
                let start = i;
                while i + 1 < b.len() && !matches!(b[i + 1], b',' | b'}' | b']' | b':') {
                    i += 1;
                }
                out.push_str(&src[start..=i]);
            }
        }
        i += 1;
    }
    out
}
/// `chart.Metadata` alone as compact Go JSON (`dependencies` left out when
/// `with_dependencies` is false, as `helm package` does for v1 charts).
pub(crate) fn metadata_json(m: &Metadata, with_dependencies: bool) -> String {
    let mut out = String::new();
    let mut o = Obj::open(&mut out);
    metadata_fields(m, &mut o, with_dependencies);
    o.close();
    out
}
