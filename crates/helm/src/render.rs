//! `helm template`: a chart and values in, the printed manifests out
//! (helm-semantics.md §1, §3.7, §4.1, §5).

pub mod output;

use std::collections::BTreeMap;

use std::rc::Rc;

use ferroflux_template::{Set, Value};
use serde_json::Map;

use crate::chart::{Chart, File};
use crate::funcs::Lookup;

pub use output::{Head, Hook, HookEvent, Manifest, PrintOptions, SortError};

/// What a render needs besides the chart and the values.
#[derive(Clone, Debug)]
pub struct RenderOptions {
    pub release_name: String,
    pub namespace: String,
    /// `.Release.IsUpgrade` (and not `.Release.IsInstall`).
    pub is_upgrade: bool,
    pub revision: i64,
    /// `--kube-version`; Helm's default (v1.36.0 for v4.2.4) without.
    pub kube_version: Option<String>,
    /// `--api-versions`, after the defaults.
    pub api_versions: Vec<String>,
    pub skip_schema_validation: bool,
    /// `--include-crds`: the `crds/` files lead the manifest.
    pub include_crds: bool,
    /// `--render-subchart-notes`.
    pub subchart_notes: bool,
    /// What `now` returns (the engine has no clock of its own).
    pub now: Option<ferroflux_template::Timestamp>,
    /// Keys the ChaCha20 stream the random functions (`randAlphaNum`,
    /// `uuidv4`, ...) draw from: 32 bytes of the caller's entropy, so that
    /// one printed value tells nothing of the others (charts put
    /// `randAlphaNum` passwords in Secrets).
    pub seed: Option<[u8; 32]>,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            release_name: "release-name".to_string(),
            namespace: "default".to_string(),
            is_upgrade: false,
            revision: 1,
            kube_version: None,
            api_versions: Vec::new(),
            skip_schema_validation: false,
            include_crds: false,
            subchart_notes: false,
            now: None,
            seed: None,
        }
    }
}

/// A rendered release: what Helm stores and what `helm template` prints.
#[derive(Clone, Debug)]
pub struct Release {
    /// `rel.Manifest`: CRDs (with `--include-crds`) and the sorted
    /// manifests, each behind `---\n# Source: <path>\n`.
    pub manifest: String,
    pub manifests: Vec<Manifest>,
    /// Hooks in kind order.
    pub hooks: Vec<Hook>,
    /// The rendered `NOTES.txt`.
    pub notes: String,
    /// Every `crds/` file of the chart and its enabled subcharts
    /// (path, content), whatever `include_crds` says.
    pub crds: Vec<(String, String)>,
    /// Whether `manifest` starts with the CRDs (`include_crds`).
    pub crds_included: bool,
    /// The coalesced values the templates saw (`.Values`).
    pub values: Map<String, serde_json::Value>,
}

/// Why a chart did not render. `message` is Helm's wording; `hint` is
/// whether `helm template` adds "Use --debug flag to render out invalid
/// YAML" (it does for failures after the release record exists).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub message: String,
    pub hint: bool,
}

impl Error {
    pub fn new(message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
            hint: false,
        }
    }

    fn render(message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
            hint: true,
        }
    }

    /// What `helm template` prints after `Error: `.
    pub fn helm_message(&self) -> String {
        if self.hint {
            format!(
                "{}\n\nUse --debug flag to render out invalid YAML",
                self.message
            )
        } else {
            self.message.clone()
        }
    }
}

/// Helm's release name rule (`chartutil.ValidateReleaseName`).
pub fn validate_release_name(name: &str) -> Result<(), String> {
    const PATTERN: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
    if name.is_empty() {
        return Err("no name provided".to_string());
    }
    let label = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-')
    };
    if name.len() > 53 || !name.split('.').all(label) {
        return Err(format!(
            "invalid release name, must match regex {PATTERN} and the length must not be longer than 53"
        ));
    }
    Ok(())
}

/// One template to parse (and, unless a partial, execute) with the data
/// of its chart.
struct Renderable<'a> {
    name: String,
    /// The template's text, borrowed from the chart when it is UTF-8.
    text: std::borrow::Cow<'a, str>,
    /// Index into the per-chart data maps.
    chart: usize,
    base_path: String,
}

/// Files whose name starts with `crds/` and ends in .yaml/.yml/.json
/// (Helm's `CRDObjects`), root first, then each subchart's, recursively.
pub fn crd_objects(chart: &Chart) -> Vec<(String, String)> {
    let mut out = Vec::new();
    collect_crds(chart, &chart.metadata.name, &mut out);
    out
}

fn collect_crds(chart: &Chart, full_path: &str, out: &mut Vec<(String, String)>) {
    for f in chart.crds() {
        out.push((
            format!("{full_path}/{}", f.name),
            String::from_utf8_lossy(&f.data).into_owned(),
        ));
    }
    for sub in &chart.dependencies {
        collect_crds(
            sub,
            &format!("{full_path}/charts/{}", sub.metadata.name),
            out,
        );
    }
}

/// Helm's `sortTemplates`: deepest paths first, then reverse lexical.
fn sort_templates(names: &mut [Renderable<'_>]) {
    names.sort_by(|a, b| {
        let (ca, cb) = (a.name.matches('/').count(), b.name.matches('/').count());
        cb.cmp(&ca).then_with(|| b.name.cmp(&a.name))
    });
}

fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The shared parts of the template data.
struct Shared {
    release: Value,
    capabilities: Value,
}

/// `recAllTpls`: the per-chart data map (`.Chart`, `.Files`, `.Release`,
/// `.Capabilities`, `.Values`, `.Subcharts`) of `chart` and its
/// subcharts, and their templates.
fn collect<'a>(
    chart: &'a Chart,
    values: Value,
    is_root: bool,
    full_path: &str,
    shared: &Shared,
    datas: &mut Vec<Value>,
    out: &mut Vec<Renderable<'a>>,
) -> Value {
    let subcharts = go_map(Vec::new());
    let mut meta = chart.metadata.go_map.clone();
    meta.insert("IsRoot".to_string(), serde_json::Value::Bool(is_root));
    let next = go_map(vec![
        ("Chart", Value::from_json(&serde_json::Value::Object(meta))),
        ("Files", crate::funcs::files::files_value(&chart.files)),
        ("Release", shared.release.clone()),
        ("Capabilities", shared.capabilities.clone()),
        ("Values", values.clone()),
        ("Subcharts", subcharts.clone()),
    ]);
    let index = datas.len();
    datas.push(next.clone());
    for sub in &chart.dependencies {
        let name = &sub.metadata.name;
        let sub_values = match values.get_key(name) {
            Some(v @ Value::Map(_)) => v,
            _ => go_map(Vec::new()),
        };
        let sub_path = format!("{full_path}/charts/{name}");
        let sub_next = collect(sub, sub_values, false, &sub_path, shared, datas, out);
        subcharts.set_key(name, sub_next);
    }
    let library = chart.metadata.kind == "library";
    for File { name, data } in &chart.templates {
        if library && !base_name(name).starts_with('_') {
            continue;
        }
        out.push(Renderable {
            name: format!("{full_path}/{name}"),
            text: crate::chart::text(data),
            chart: index,
            base_path: format!("{full_path}/templates"),
        });
    }
    next
}

/// A `map[string]interface {}`.
fn go_map(entries: Vec<(&str, Value)>) -> Value {
    Value::dict(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

/// Renders a chart as `helm template` (client-side install, revision 1)
/// renders it. `chart` is as loaded; dependencies are processed here.
pub fn render(
    chart: Chart,
    user_values: Map<String, serde_json::Value>,
    opts: &RenderOptions,
    lookup: Rc<dyn Lookup>,
) -> Result<Release, Error> {
    crate::chart::check_installable(&chart).map_err(|e| Error::new(e.to_string()))?;
    crate::chart::check_dependencies(&chart).map_err(|e| Error::new(e.to_string()))?;
    validate_release_name(&opts.release_name).map_err(|e| {
        Error::new(format!(
            "release name check failed: release name {:?}: {e}",
            opts.release_name
        ))
    })?;
    let (chart, values) =
        crate::values::prepare(chart, user_values).map_err(|e| Error::new(e.message))?;
    if !opts.skip_schema_validation {
        crate::schema::validate_chart(&chart, &values).map_err(|e| Error::new(e.message))?;
    }
    let caps =
        crate::funcs::Capabilities::for_template(opts.kube_version.as_deref(), &opts.api_versions)
            .map_err(|e| Error::new(e.to_string()))?;
    crate::chart::check_kube_version(
        &chart,
        &caps.kube_version.normalized,
        &caps.kube_version.version,
    )
    .map_err(|e| Error::render(e.to_string()))?;
    let shared = Shared {
        release: go_map(vec![
            ("Name", Value::str(opts.release_name.as_str())),
            ("Namespace", Value::str(opts.namespace.as_str())),
            ("IsUpgrade", Value::Bool(opts.is_upgrade)),
            ("IsInstall", Value::Bool(!opts.is_upgrade)),
            ("Revision", Value::Int(opts.revision)),
            ("Service", Value::str("Helm")),
        ]),
        capabilities: caps.into_value(),
    };
    let root_values = Value::from_json_map(&values);
    let mut datas = Vec::new();
    let mut templates = Vec::new();
    let root_name = chart.metadata.name.clone();
    collect(
        &chart,
        root_values,
        true,
        &root_name,
        &shared,
        &mut datas,
        &mut templates,
    );
    sort_templates(&mut templates);
    let mut funcs = crate::funcs::helm_funcs(lookup);
    if let Some(now) = opts.now.clone() {
        funcs.set_clock(move || now.clone());
    }
    if let Some(key) = opts.seed {
        use chacha20::cipher::{KeyIvInit, StreamCipher};
        let mut stream = chacha20::ChaCha20::new(&key.into(), &[0u8; 12].into());
        funcs.set_rng(move || {
            let mut bytes = [0u8; 8];
            stream.apply_keystream(&mut bytes);
            u64::from_le_bytes(bytes)
        });
    }
    let mut files = execute_all(&templates, &datas, funcs)?;

    // NOTES.txt: rendered (an error fails the render), never a manifest.
    let root_notes = format!("{root_name}/templates/NOTES.txt");
    let mut notes = String::new();
    let note_names: Vec<String> = files
        .keys()
        .filter(|k| k.ends_with("NOTES.txt"))
        .cloned()
        .collect();
    for name in note_names {
        let text = files.remove(&name).unwrap_or_default();
        if opts.subchart_notes || name == root_notes {
            if !notes.is_empty() {
                notes.push('\n');
            }
            notes.push_str(&text);
        }
    }
    let (hooks, manifests) = output::sort_manifests(&files, &output::read_head)
        .map_err(|e| Error::render(e.to_string()))?;
    let crds = crd_objects(&chart);
    let mut manifest = String::new();
    if opts.include_crds {
        for (name, content) in &crds {
            manifest.push_str(&format!("---\n# Source: {name}\n{content}\n"));
        }
    }
    for m in &manifests {
        manifest.push_str(&format!("---\n# Source: {}\n{}\n", m.name, m.content));
    }
    Ok(Release {
        manifest,
        manifests,
        hooks,
        notes,
        crds,
        crds_included: opts.include_crds,
        values,
    })
}

/// [`render`] for `helm template` (`lookup` gives `{}`) on a stack as
/// deep as the template engine's deepest nesting needs: a segment mapped
/// (lazily) and switched to on the calling thread, rather than a thread of
/// its own, so the render allocates from the caller's malloc arena (a
/// second thread's arena grows by an `mprotect` per step: a tenth of a
/// `ferroflux helm template` process's wall time).
pub fn render_on_big_stack(
    chart: Chart,
    values: Map<String, serde_json::Value>,
    opts: RenderOptions,
) -> Result<Release, Error> {
    let stack =
        (ferroflux_template::Options::HELM.max_depth + 100) * ferroflux_template::STACK_PER_LEVEL;
    stacker::grow(stack, move || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            render(chart, values, &opts, Rc::new(crate::funcs::TemplateLookup))
        }))
        .unwrap_or_else(|_| {
            Err(Error::render(
                "rendering template failed: the renderer panicked",
            ))
        })
    })
}

/// Parses every template into one set (Helm's order) and executes the
/// non-partials, `<no value>` removed.
fn execute_all(
    templates: &[Renderable<'_>],
    datas: &[Value],
    funcs: ferroflux_template::FuncMap,
) -> Result<BTreeMap<String, String>, Error> {
    let mut set = Set::helm(funcs);
    for t in templates {
        set.parse(&t.name, &t.text)
            .map_err(|e| Error::render(e.helm_message()))?;
    }
    let mut files = BTreeMap::new();
    for t in templates {
        if base_name(&t.name).starts_with('_') {
            continue;
        }
        let data = &datas[t.chart];
        data.set_key(
            "Template",
            go_map(vec![
                ("Name", Value::str(t.name.as_str())),
                ("BasePath", Value::str(t.base_path.as_str())),
            ]),
        );
        let text = set
            .execute(&t.name, data)
            .map_err(|e| Error::render(e.helm_message()))?;
        let text = if text.contains("<no value>") {
            text.replace("<no value>", "")
        } else {
            text
        };
        files.insert(t.name.clone(), text);
    }
    Ok(files)
}
