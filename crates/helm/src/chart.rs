//! A loaded chart: what Helm's `loader.Load` gives, before values are
//! coalesced. Loading (directory, `.tgz`, `.helmignore`, validation) lives
//! here; see helm-semantics.md §2.

use serde_json::{Map, Value};

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
    /// `IsRoot`, which the renderer adds.
    pub go_map: Map<String, Value>,
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
