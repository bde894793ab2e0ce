//! A loaded chart: what Helm's `loader.Load` gives, before values are
//! coalesced. Loading (directory, `.tgz`, `.helmignore`, validation) lives
//! here; see helm-semantics.md §2.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

pub(crate) mod archive;
mod ignore;
pub(crate) mod metadata;
pub mod semver;

pub use archive::{MAX_DECOMPRESSED_CHART_SIZE, MAX_DECOMPRESSED_FILE_SIZE};
pub use ignore::{IgnoreError, IgnoreRules, go_match};

/// One file of a chart, its path relative to the chart's root with `/`
/// separators (`templates/deployment.yaml`, `crds/crd.yaml`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct File {
    pub name: String,
    pub data: Vec<u8>,
}

/// A chart and its subcharts, as Helm's `chart.Chart`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Chart {
    pub metadata: Metadata,
    /// Every file under `templates/` (partials, `NOTES.txt`, tests too),
    /// in load order.
    pub templates: Vec<File>,
    /// The chart's default values (`values.yaml`, typed as
    /// `sigs.k8s.io/yaml` types them: numbers are floats).
    pub values: Map<String, Value>,
    /// `values.schema.json`, raw.
    pub schema: Option<Vec<u8>>,
    /// Every other file (`crds/…`, `README.md`, `.helmignore`, `files/…`):
    /// what `.Files` sees.
    pub files: Vec<File>,
    /// Loaded subcharts (`charts/*`), in load order.
    pub dependencies: Vec<Chart>,
}

/// `Chart.yaml` (helm-semantics.md §2.1).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metadata {
    pub api_version: String,
    pub name: String,
    pub version: String,
    pub app_version: String,
    pub description: String,
    pub kube_version: String,
    /// `""`, `application` or `library`.
    pub kind: String,
    pub dependencies: Vec<Dependency>,
    /// Every field as Helm v4 exposes `.Chart` (Go field names as keys:
    /// `Name`, `Version`, `AppVersion`, `Maintainers`, ...), without
    /// `IsRoot`, which the renderer adds. Kept in step with the fields by
    /// the loader and by `values::prepare` ([`Metadata::refresh_go_map`]).
    pub go_map: Map<String, Value>,
    pub home: String,
    pub sources: Vec<String>,
    pub keywords: Vec<String>,
    pub maintainers: Vec<Maintainer>,
    pub icon: String,
    pub condition: String,
    /// A plain string in Chart.yaml's schema (not a list).
    pub tags: String,
    pub deprecated: bool,
    /// `None` when Chart.yaml has none (`.Chart.Annotations` is then nil).
    pub annotations: Option<BTreeMap<String, String>>,
    /// Chart.yaml (or requirements.yaml) holds a `dependencies:` list, even
    /// an empty one (Go's non-nil slice). Helm processes conditions, tags
    /// and import-values only for such charts (or when `dependencies` is
    /// not empty).
    pub declares_dependencies: bool,
}

/// One entry of `maintainers:`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Maintainer {
    pub name: String,
    pub email: String,
    pub url: String,
}

impl Metadata {
    /// Recomputes [`Metadata::go_map`] from the fields.
    pub fn refresh_go_map(&mut self) {
        self.go_map = metadata::go_map(self);
    }
}

/// One entry of `dependencies:` in Chart.yaml (or `requirements.yaml`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dependency {
    pub name: String,
    pub version: String,
    pub repository: String,
    pub condition: String,
    pub tags: Vec<String>,
    pub enabled: bool,
    /// `import-values` items as written (string or `{child, parent}` map).
    pub import_values: Vec<Value>,
    pub alias: String,
}

/// Why a chart could not be loaded. `message` is Helm's text (`validation:
/// chart.metadata.name is required`, `cannot load values.yaml: …`); `file`
/// is the file at fault relative to the loaded chart
/// (`charts/sub/Chart.yaml`), `line` its line when known.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.display())]
pub struct ChartError {
    pub message: String,
    pub file: Option<String>,
    pub line: Option<usize>,
}

impl ChartError {
    fn new(message: impl Into<String>) -> ChartError {
        ChartError {
            message: message.into(),
            file: None,
            line: None,
        }
    }

    fn at(message: impl Into<String>, file: &str, line: Option<usize>) -> ChartError {
        ChartError {
            message: message.into(),
            file: Some(file.to_string()),
            line,
        }
    }

    fn display(&self) -> String {
        match (&self.file, self.line) {
            (Some(f), Some(l)) => format!("{} ({f}:{l})", self.message),
            (Some(f), None) => format!("{} ({f})", self.message),
            _ => self.message.clone(),
        }
    }

    /// The same error seen from a parent chart: Helm's wrapping, the file
    /// path under `prefix`.
    fn nested(self, wrap: String, prefix: &str) -> ChartError {
        ChartError {
            message: format!("{wrap}{}", self.message),
            file: Some(match self.file {
                Some(f) => format!("{prefix}/{f}"),
                None => prefix.to_string(),
            }),
            line: self.line,
        }
    }
}

/// Deepest nesting of subcharts (`charts/a/charts/b/…`) loaded: a bound on
/// archives inside archives, far above real charts.
pub const MAX_CHART_DEPTH: usize = 16;

/// UTF-8 byte order mark, stripped from every file.
const BOM: &[u8] = &[0xEF, 0xBB, 0xBF];

impl Chart {
    /// The chart's name (`Metadata.name`).
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// Files under `crds/` (any depth) ending in `.yaml`, `.yml` or `.json`
    /// (any case): Helm's `CRDObjects`, this chart's only.
    pub fn crds(&self) -> impl Iterator<Item = &File> {
        self.files.iter().filter(|f| {
            let lower = f.name.to_ascii_lowercase();
            f.name.starts_with("crds/")
                && (lower.ends_with(".yaml") || lower.ends_with(".yml") || lower.ends_with(".json"))
        })
    }
}

/// Helm's `loader.LoadFiles`: a chart from its files (names relative to
/// the chart's root, `/`-separated), classified as helm-semantics.md §2.2
/// says; `Chart.yaml` validated and sanitised (§2.1); subcharts under
/// `charts/` loaded from directories or `.tgz` archives.
pub fn load_files(files: Vec<File>) -> Result<Chart, ChartError> {
    load_files_at(files, 0)
}

fn load_files_at(files: Vec<File>, depth: usize) -> Result<Chart, ChartError> {
    if depth > MAX_CHART_DEPTH {
        return Err(ChartError::new(format!(
            "subcharts nest deeper than {MAX_CHART_DEPTH} levels"
        )));
    }
    let mut chart = Chart::default();
    let mut decoded: Option<metadata::Decoded> = None;
    for f in &files {
        if f.name == "Chart.yaml" {
            let dec = decoded.get_or_insert_with(Default::default);
            metadata::decode_into(&text(&f.data), dec).map_err(|e| {
                ChartError::at(
                    format!("cannot load Chart.yaml: {}", e.message),
                    "Chart.yaml",
                    e.line,
                )
            })?;
            if dec.md.api_version.is_empty() {
                dec.md.api_version = "v1".to_string();
            }
        }
    }
    let mut subcharts: BTreeMap<String, Vec<File>> = BTreeMap::new();
    for f in files {
        let name = f.name.as_str();
        match name {
            "Chart.yaml" => {}
            "Chart.lock" | "requirements.lock" => {
                // Decoded into Helm's `Lock` (its fields' own types, such as
                // `generated`'s RFC 3339 time, are not checked here).
                match crate::values::unmarshal(&text(&f.data)) {
                    Ok(Value::Object(_) | Value::Null) => {}
                    Ok(other) => {
                        let kind = if other.is_array() {
                            "array"
                        } else if other.is_string() {
                            "string"
                        } else if other.is_boolean() {
                            "bool"
                        } else {
                            "number"
                        };
                        return Err(ChartError::at(
                            format!(
                                "cannot load {name}: error unmarshaling JSON: while decoding \
                                 JSON: json: cannot unmarshal {kind} into Go value of type v2.Lock"
                            ),
                            name,
                            None,
                        ));
                    }
                    Err(e) => {
                        return Err(ChartError::at(
                            format!("cannot load {name}: {}", e.message),
                            name,
                            Some(e.line),
                        ));
                    }
                }
                if name == "requirements.lock" {
                    let dec = decoded.get_or_insert_with(Default::default);
                    if dec.md.api_version == "v1" {
                        chart.files.push(f);
                    }
                }
            }
            "values.yaml" => {
                chart.values = crate::values::read_values(&text(&f.data)).map_err(|e| {
                    ChartError::at(
                        format!("cannot load values.yaml: {}", e.message),
                        "values.yaml",
                        Some(e.line),
                    )
                })?;
            }
            "values.schema.json" => chart.schema = Some(f.data),
            "requirements.yaml" => {
                let dec = decoded.get_or_insert_with(Default::default);
                metadata::decode_into(&text(&f.data), dec).map_err(|e| {
                    ChartError::at(
                        format!("cannot load requirements.yaml: {}", e.message),
                        "requirements.yaml",
                        e.line,
                    )
                })?;
                if dec.md.api_version == "v1" {
                    chart.files.push(f);
                }
            }
            _ if name.starts_with("templates/") => chart.templates.push(f),
            _ if name.starts_with("charts/") => {
                if go_ext(name) == ".prov" {
                    chart.files.push(f);
                    continue;
                }
                let rest = &name["charts/".len()..];
                let cname = rest.split('/').next().unwrap_or("").to_string();
                subcharts.entry(cname).or_default().push(File {
                    name: rest.to_string(),
                    data: f.data,
                });
            }
            _ => chart.files.push(f),
        }
    }
    let Some(mut decoded) = decoded else {
        return Err(ChartError::at(
            "Chart.yaml file is missing",
            "Chart.yaml",
            None,
        ));
    };
    metadata::validate(&mut decoded).map_err(|e| ChartError::at(e, "Chart.yaml", None))?;
    chart.metadata = decoded.md;
    chart.metadata.refresh_go_map();
    for (n, files) in subcharts {
        if n.starts_with('_') || n.starts_with('.') {
            continue;
        }
        let prefix = format!("charts/{n}");
        let wrap = format!("error unpacking subchart {n} in {}: ", chart.name());
        let sub = if go_ext(&n) == ".tgz" {
            let file = &files[0];
            if file.name != n {
                return Err(ChartError::at(
                    format!(
                        "error unpacking subchart tar in {}: expected {n}, got {}",
                        chart.name(),
                        file.name
                    ),
                    &prefix,
                    None,
                ));
            }
            archive::load_archive_files(&file.data)
                .map_err(ChartError::new)
                .and_then(|files| load_files_at(files, depth + 1))
                .map_err(|e| e.nested(wrap, &prefix))?
        } else {
            let inner: Vec<File> = files
                .into_iter()
                .filter_map(|f| {
                    let (_, rest) = f.name.split_once('/')?;
                    Some(File {
                        name: rest.to_string(),
                        data: f.data,
                    })
                })
                .collect();
            load_files_at(inner, depth + 1).map_err(|e| e.nested(wrap, &prefix))?
        };
        chart.dependencies.push(sub);
    }
    Ok(chart)
}

/// Go's `filepath.Ext`.
fn go_ext(name: &str) -> &str {
    let base_start = name.rfind('/').map_or(0, |i| i + 1);
    match name[base_start..].rfind('.') {
        Some(i) => &name[base_start + i..],
        None => "",
    }
}

/// File bytes as text (Go reads bytes; invalid UTF-8 is replaced),
/// borrowed when they are UTF-8 (`from_utf8` checks ASCII a word at a time,
/// faster than the lossy scan).
pub(crate) fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(data) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(data),
    }
}

/// Helm's `loader.LoadArchive`: a gzipped tar of one chart directory
/// (§2.4), then [`load_files`]. `.helmignore` is not applied to archives.
pub fn load_archive(data: &[u8]) -> Result<Chart, ChartError> {
    load_unpacked(archive::load_archive_files(data).map_err(ChartError::new)?)
}

/// The files of a chart archive (names relative to the chart root), as
/// [`load_archive`] unpacks them before loading.
pub fn archive_files(data: &[u8]) -> Result<Vec<File>, ChartError> {
    archive::load_archive_files(data).map_err(ChartError::new)
}

/// [`load_archive`] after the unpacking: the root's `apiVersion` dispatch,
/// then [`load_files`] (for callers that word the unpacking's errors
/// themselves, as `helm template`'s `LoadFile` does).
pub(crate) fn load_unpacked(files: Vec<File>) -> Result<Chart, ChartError> {
    let v3 = match files.iter().find(|f| f.name == "Chart.yaml") {
        Some(f) => check_api_version(&f.data)?,
        None => false,
    };
    refuse_v3(load_files(files)?, v3)
}

/// Helm's `EnsureArchive`: a chart file (not a directory) must be gzip;
/// `name` is the path as given, for the message. The content type Helm
/// names comes from Go's `http.DetectContentType` over a 512-byte buffer
/// (zero-padded for short files); the common cases are reproduced (gzip,
/// zip, PDF, HTML, XML, text, else `application/octet-stream`).
pub fn ensure_archive(name: &str, data: &[u8]) -> Result<(), ChartError> {
    if data.starts_with(&[0x1f, 0x8b, 0x08]) {
        return Ok(());
    }
    if name.ends_with(".yml") || name.ends_with(".yaml") {
        return Err(ChartError::new(format!(
            "file '{name}' seems to be a YAML file, but expected a gzipped archive"
        )));
    }
    Err(ChartError::new(format!(
        "file '{name}' does not appear to be a gzipped archive; got '{}'",
        detect_content_type(data)
    )))
}

fn detect_content_type(data: &[u8]) -> &'static str {
    let mut buf = [0u8; 512];
    let n = data.len().min(512);
    buf[..n].copy_from_slice(&data[..n]);
    let trimmed = {
        let start = buf
            .iter()
            .position(|b| !matches!(b, b'\t' | b'\n' | 0x0c | b'\r' | b' '))
            .unwrap_or(buf.len());
        &buf[start..]
    };
    let html = [
        "<!DOCTYPE HTML",
        "<HTML",
        "<HEAD",
        "<SCRIPT",
        "<IFRAME",
        "<H1",
        "<DIV",
        "<FONT",
        "<TABLE",
        "<A",
        "<STYLE",
        "<TITLE",
        "<B",
        "<BODY",
        "<BR",
        "<P",
        "<!--",
    ];
    for sig in html {
        let sig = sig.as_bytes();
        if trimmed.len() > sig.len()
            && trimmed[..sig.len()].eq_ignore_ascii_case(sig)
            && matches!(trimmed[sig.len()], b' ' | b'>')
        {
            return "text/html; charset=utf-8";
        }
    }
    if trimmed.starts_with(b"<?xml") {
        return "text/xml; charset=utf-8";
    }
    if buf.starts_with(b"PK\x03\x04") {
        return "application/zip";
    }
    if buf.starts_with(b"%PDF-") {
        return "application/pdf";
    }
    let binary = |b: &u8| matches!(b, 0x00..=0x08 | 0x0b | 0x0e..=0x1a | 0x1c..=0x1f);
    if !buf.iter().any(binary) {
        return "text/plain; charset=utf-8";
    }
    "application/octet-stream"
}

/// `pkg/chart/loader`'s dispatch on the root chart's `apiVersion`: `v1`,
/// `v2` or empty are read here; `v3` charts (Helm's internal v3 loader)
/// are refused as `helm template` refuses them; anything else is Helm's
/// "unsupported chart version". A Chart.yaml that does not decode is left
/// to [`load_files`], which reports it in the same words.
/// Returns whether the chart is a `v3` one, to be refused after loading
/// (Helm's own v3 loader validates the chart first).
fn check_api_version(chart_yaml: &[u8]) -> Result<bool, ChartError> {
    let mut dec = metadata::Decoded::default();
    if metadata::decode_into(&text(chart_yaml), &mut dec).is_err() {
        return Ok(false);
    }
    match dec.md.api_version.as_str() {
        "" | "v1" | "v2" => Ok(false),
        "v3" => Ok(true),
        _ => Err(ChartError::at(
            "unsupported chart version",
            "Chart.yaml",
            None,
        )),
    }
}

fn refuse_v3(chart: Chart, v3: bool) -> Result<Chart, ChartError> {
    if v3 {
        return Err(ChartError::at(
            "invalid chart apiVersion",
            "Chart.yaml",
            None,
        ));
    }
    Ok(chart)
}

/// Helm's `action.CheckDependencies` as `helm template` words its failure:
/// every `dependencies:` name must be a loaded subchart (versions are not
/// compared here).
pub fn check_dependencies(chart: &Chart) -> Result<(), ChartError> {
    let missing: Vec<&str> = chart
        .metadata
        .dependencies
        .iter()
        .map(|d| d.name.as_str())
        .filter(|n| !chart.dependencies.iter().any(|c| c.name() == *n))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(ChartError::at(
        format!(
            "an error occurred while checking for chart dependencies. You may need to run \
             'helm dependency build' to fetch missing dependencies: found in Chart.yaml, but \
             missing in charts/ directory: {}",
            missing.join(", ")
        ),
        "Chart.yaml",
        None,
    ))
}

/// `helm template`'s refusal of library charts.
pub fn check_installable(chart: &Chart) -> Result<(), ChartError> {
    match chart.metadata.kind.as_str() {
        "" | "application" => Ok(()),
        _ => Err(ChartError::at(
            "library charts are not installable",
            "Chart.yaml",
            None,
        )),
    }
}

/// Helm's render-time `kubeVersion` check: `normalized` is
/// `KubeVersion.String()` (`v1.33.4`), `version` the raw `Version` shown
/// in the error (`v1.33.4-gke.1245000`).
pub fn check_kube_version(
    chart: &Chart,
    normalized: &str,
    version: &str,
) -> Result<(), ChartError> {
    let constraint = &chart.metadata.kube_version;
    if constraint.is_empty() || semver::is_compatible_range(constraint, normalized) {
        return Ok(());
    }
    Err(ChartError::at(
        format!(
            "chart requires kubeVersion: {constraint} which is incompatible with Kubernetes \
             {version}"
        ),
        "Chart.yaml",
        None,
    ))
}

/// Most files one directory load reads (a bound on a hostile tree).
pub const MAX_DIR_FILES: usize = 100_000;
/// Deepest directory nesting one directory load walks (symlink loops end
/// here).
pub const MAX_DIR_DEPTH: usize = 64;

/// Helm's `loader.LoadDir`: the chart directory `root` walked in lexical
/// order (symlinks followed by `fs`), filtered by its `.helmignore` (with
/// the default `templates/.?*`), each file at most 5 MiB with its UTF-8
/// BOM stripped, then [`load_files`].
pub fn load_dir(
    fs: &dyn ferroflux_kustomize::fs::FileSystem,
    root: &Path,
) -> Result<Chart, ChartError> {
    let (files, v3) = dir_files(fs, root)?;
    refuse_v3(load_files(files)?, v3)
}

/// The files [`load_dir`] loads (walked, filtered by `.helmignore`,
/// bounded, BOMs stripped), and whether the chart is a refused `v3` one.
pub fn dir_files(
    fs: &dyn ferroflux_kustomize::fs::FileSystem,
    root: &Path,
) -> Result<(Vec<File>, bool), ChartError> {
    let chart_yaml = root.join("Chart.yaml");
    let data = fs.read(&chart_yaml).map_err(|e| {
        let p = chart_yaml.display();
        let why = match e {
            ferroflux_kustomize::fs::FsError::NotFound { .. } => {
                format!("open {p}: no such file or directory")
            }
            other => other.to_string(),
        };
        ChartError::at(
            format!("unable to detect chart at {p}: {why}"),
            "Chart.yaml",
            None,
        )
    })?;
    let v3 = check_api_version(&data)?;
    let mut rules = IgnoreRules::default();
    let ignore_file = root.join(".helmignore");
    if fs.is_file(&ignore_file) {
        let data = fs
            .read(&ignore_file)
            .map_err(|e| ChartError::at(e.to_string(), ".helmignore", None))?;
        rules = IgnoreRules::parse(&text(&data))
            .map_err(|e| ChartError::at(e.message, ".helmignore", Some(e.line)))?;
    }
    rules.add_defaults();
    let mut files = Vec::new();
    let mut total: u64 = 0;
    walk(fs, root, "", &rules, &mut files, &mut total, 0)?;
    Ok((files, v3))
}

fn walk(
    fs: &dyn ferroflux_kustomize::fs::FileSystem,
    dir: &Path,
    rel: &str,
    rules: &IgnoreRules,
    files: &mut Vec<File>,
    total: &mut u64,
    depth: usize,
) -> Result<(), ChartError> {
    if depth > MAX_DIR_DEPTH {
        return Err(ChartError::at(
            format!("directories nest deeper than {MAX_DIR_DEPTH} levels (a symlink loop?)"),
            rel,
            None,
        ));
    }
    let entries = fs
        .list_dir_kinds(dir)
        .map_err(|e| ChartError::at(e.to_string(), rel, None))?;
    for (name, kind) in entries {
        let path = dir.join(&name);
        let n = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        if kind == Some(ferroflux_kustomize::fs::EntryKind::Dir) {
            if rules.ignore(&n, true) {
                continue;
            }
            walk(fs, &path, &n, rules, files, total, depth + 1)?;
            continue;
        }
        if rules.ignore(&n, false) {
            continue;
        }
        if kind.is_none() {
            return Err(ChartError::at(
                format!(
                    "cannot load irregular file {} as it has file mode type bits set",
                    path.display()
                ),
                &n,
                None,
            ));
        }
        let mut data = fs
            .read_listed(&path)
            .map_err(|e| ChartError::at(format!("error reading {n}: {e}"), &n, None))?;
        if data.len() as u64 > MAX_DECOMPRESSED_FILE_SIZE {
            return Err(ChartError::at(
                format!(
                    "chart file {} is larger than the maximum file size {MAX_DECOMPRESSED_FILE_SIZE}",
                    crate::strvals::go_quote(&name)
                ),
                &n,
                None,
            ));
        }
        *total += data.len() as u64;
        if files.len() >= MAX_DIR_FILES || *total > MAX_DECOMPRESSED_CHART_SIZE {
            return Err(ChartError::at(
                format!(
                    "chart directory holds more than {MAX_DIR_FILES} files or \
                     {MAX_DECOMPRESSED_CHART_SIZE} bytes"
                ),
                &n,
                None,
            ));
        }
        if data.starts_with(BOM) {
            data.drain(..3);
        }
        files.push(File { name: n, data });
    }
    Ok(())
}
