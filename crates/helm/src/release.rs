//! Helm's release record (`pkg/release/v1`) and its storage encoding
//! (`pkg/storage/driver`), so that releases ferroflux writes are read by
//! the real `helm list`, `helm history`, `helm get manifest` and `helm
//! rollback`, and releases `helm install` wrote are adopted
//! (helm-semantics.md §7).
//!
//! The record is JSON with Helm's field names, `omitempty`/`omitzero` as
//! Helm declares them (object keys sorted: Helm reads fields by name).
//! Stored in a Secret `sh.helm.release.v1.<name>.v<revision>` of
//! type `helm.sh/release.v1`, `data.release` = base64(gzip(JSON)) (gzip
//! level 9), labelled `name`, `owner=helm`, `status`, `version`.

use std::io::{Read, Write};

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::chart::{Chart, File};
use crate::render::{Hook, HookEvent};

/// A release's status (`pkg/release/common.Status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Unknown,
    Deployed,
    Uninstalled,
    Superseded,
    Failed,
    Uninstalling,
    PendingInstall,
    PendingUpgrade,
    PendingRollback,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unknown => "unknown",
            Status::Deployed => "deployed",
            Status::Uninstalled => "uninstalled",
            Status::Superseded => "superseded",
            Status::Failed => "failed",
            Status::Uninstalling => "uninstalling",
            Status::PendingInstall => "pending-install",
            Status::PendingUpgrade => "pending-upgrade",
            Status::PendingRollback => "pending-rollback",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "unknown" => Status::Unknown,
            "deployed" => Status::Deployed,
            "uninstalled" => Status::Uninstalled,
            "superseded" => Status::Superseded,
            "failed" => Status::Failed,
            "uninstalling" => Status::Uninstalling,
            "pending-install" => Status::PendingInstall,
            "pending-upgrade" => Status::PendingUpgrade,
            "pending-rollback" => Status::PendingRollback,
            _ => return None,
        })
    }

    /// A pending status locks the release against other operations.
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            Status::PendingInstall | Status::PendingUpgrade | Status::PendingRollback
        )
    }
}

/// `release.Info`. Times are RFC 3339 text as Go writes `time.Time`
/// (`2026-12-06T09:10:11.123456789Z`); empty = the zero time (omitted).
#[derive(Clone, Debug, PartialEq)]
pub struct Info {
    pub first_deployed: String,
    pub last_deployed: String,
    pub deleted: String,
    pub description: String,
    pub status: Status,
    pub notes: String,
}

/// One hook as the record keeps it (`release.Hook`).
#[derive(Clone, Debug, PartialEq)]
pub struct HookRecord {
    pub hook: Hook,
    /// `last_run`: started/completed times (empty = never) and phase
    /// (`""`, `Running`, `Succeeded`, `Failed`).
    pub started_at: String,
    pub completed_at: String,
    pub phase: String,
}

/// `release.Release`.
#[derive(Clone)]
pub struct Release {
    pub name: String,
    pub namespace: String,
    pub version: i64,
    pub info: Info,
    pub chart: Chart,
    /// The values as given (CLI / `valuesFrom`), not coalesced.
    pub config: Map<String, Value>,
    /// The chart's values after import-values (`chart.values`).
    pub chart_values: Map<String, Value>,
    pub manifest: String,
    pub hooks: Vec<HookRecord>,
    /// `"ssa"` or `"csa"` (Helm v4); empty when unknown.
    pub apply_method: String,
    /// User labels of the storage object (system labels excluded).
    pub labels: std::collections::BTreeMap<String, String>,
}

/// Labels Helm keeps for itself on the storage object.
pub const SYSTEM_LABELS: &[&str] = &[
    "name",
    "owner",
    "status",
    "version",
    "createdAt",
    "modifiedAt",
];

/// The Secret's name: `sh.helm.release.v1.<name>.v<revision>`.
pub fn storage_name(name: &str, version: i64) -> String {
    format!("sh.helm.release.v1.{name}.v{version}")
}

/// Why a stored record cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("release record: {0}")]
pub struct RecordError(pub String);

/// Largest decompressed record read (a hostile Secret could hold a gzip
/// bomb): 64 MiB, far above the 1 MiB a Secret may hold compressed.
pub const MAX_RECORD_BYTES: u64 = 64 << 20;

impl Release {
    /// The record as Helm's `encoding/json` writes it.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        put_str(&mut out, "name", &self.name);
        let mut info = Map::new();
        put_str(&mut info, "first_deployed", &self.info.first_deployed);
        put_str(&mut info, "last_deployed", &self.info.last_deployed);
        put_str(&mut info, "deleted", &self.info.deleted);
        put_str(&mut info, "description", &self.info.description);
        put_str(&mut info, "status", self.info.status.as_str());
        put_str(&mut info, "notes", &self.info.notes);
        out.insert("info".into(), Value::Object(info));
        out.insert("chart".into(), chart_json(&self.chart, &self.chart_values));
        if !self.config.is_empty() {
            out.insert("config".into(), Value::Object(self.config.clone()));
        }
        put_str(&mut out, "manifest", &self.manifest);
        if !self.hooks.is_empty() {
            out.insert(
                "hooks".into(),
                Value::Array(self.hooks.iter().map(hook_json).collect()),
            );
        }
        if self.version != 0 {
            out.insert("version".into(), Value::from(self.version));
        }
        put_str(&mut out, "namespace", &self.namespace);
        put_str(&mut out, "apply_method", &self.apply_method);
        Value::Object(out)
    }

    /// `data.release` of the Secret, before the API's own base64:
    /// base64(gzip -9 (JSON)).
    pub fn encode(&self) -> String {
        let json = self.to_json().to_string();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        // Writing to a Vec cannot fail.
        let _ = gz.write_all(json.as_bytes());
        let bytes = gz.finish().unwrap_or_default();
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// The labels of the storage object: the user's plus Helm's own.
    pub fn storage_labels(&self) -> std::collections::BTreeMap<String, String> {
        let mut labels = self.labels.clone();
        labels.insert("name".into(), self.name.clone());
        labels.insert("owner".into(), "helm".into());
        labels.insert("status".into(), self.info.status.as_str().into());
        labels.insert("version".into(), self.version.to_string());
        labels
    }
}

/// What [`decode`] reads: the JSON record (as Helm wrote it, for fields
/// ferroflux does not model) and the fields the controller needs.
#[derive(Clone, PartialEq)]
pub struct Record {
    pub json: Value,
    pub name: String,
    pub namespace: String,
    pub version: i64,
    pub status: Option<Status>,
    pub manifest: String,
    pub chart_name: String,
    pub chart_version: String,
    pub app_version: String,
    pub config: Map<String, Value>,
}

/// Reads `data.release` (after the API's base64): base64, then gzip when
/// the bytes start with gzip's magic (Helm accepts plain JSON too).
pub fn decode(data: &str) -> Result<Record, RecordError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_err(|e| RecordError(format!("not base64: {e}")))?;
    let json = if bytes.starts_with(&[0x1f, 0x8b, 0x08]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes.as_slice())
            .take(MAX_RECORD_BYTES + 1)
            .read_to_end(&mut out)
            .map_err(|e| RecordError(format!("not gzip: {e}")))?;
        if out.len() as u64 > MAX_RECORD_BYTES {
            return Err(RecordError(format!(
                "larger than {MAX_RECORD_BYTES} bytes once decompressed"
            )));
        }
        out
    } else {
        bytes
    };
    let json: Value =
        serde_json::from_slice(&json).map_err(|e| RecordError(format!("not JSON: {e}")))?;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
    let meta = json.pointer("/chart/metadata");
    Ok(Record {
        name: text(json.get("name")),
        namespace: text(json.get("namespace")),
        version: json.get("version").and_then(Value::as_i64).unwrap_or(0),
        status: json
            .pointer("/info/status")
            .and_then(Value::as_str)
            .and_then(Status::parse),
        manifest: text(json.get("manifest")),
        chart_name: text(meta.and_then(|m| m.get("name"))),
        chart_version: text(meta.and_then(|m| m.get("version"))),
        app_version: text(meta.and_then(|m| m.get("appVersion"))),
        config: json
            .get("config")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
        json,
    })
}

fn put_str(m: &mut Map<String, Value>, key: &str, v: &str) {
    if !v.is_empty() {
        m.insert(key.into(), Value::String(v.into()));
    }
}

fn hook_json(h: &HookRecord) -> Value {
    let mut m = Map::new();
    put_str(&mut m, "name", &h.hook.name);
    put_str(&mut m, "kind", &h.hook.kind);
    put_str(&mut m, "path", &h.hook.path);
    put_str(&mut m, "manifest", &h.hook.manifest);
    if !h.hook.events.is_empty() {
        m.insert(
            "events".into(),
            Value::Array(
                h.hook
                    .events
                    .iter()
                    .map(|e| Value::String(HookEvent::as_str(*e).into()))
                    .collect(),
            ),
        );
    }
    let mut run = Map::new();
    put_str(&mut run, "started_at", &h.started_at);
    put_str(&mut run, "completed_at", &h.completed_at);
    run.insert("phase".into(), Value::String(h.phase.clone()));
    m.insert("last_run".into(), Value::Object(run));
    if h.hook.weight != 0 {
        m.insert("weight".into(), Value::from(h.hook.weight));
    }
    let list = |v: &[String]| Value::Array(v.iter().map(|s| Value::String(s.clone())).collect());
    if !h.hook.delete_policies.is_empty() {
        m.insert("delete_policies".into(), list(&h.hook.delete_policies));
    }
    if !h.hook.output_log_policies.is_empty() {
        m.insert(
            "output_log_policies".into(),
            list(&h.hook.output_log_policies),
        );
    }
    Value::Object(m)
}

/// The Go field name of `.Chart` → its JSON name in the record, in
/// `chart.Metadata`'s field order.
const METADATA_FIELDS: &[(&str, &str)] = &[
    ("Name", "name"),
    ("Home", "home"),
    ("Sources", "sources"),
    ("Version", "version"),
    ("Description", "description"),
    ("Keywords", "keywords"),
    ("Maintainers", "maintainers"),
    ("Icon", "icon"),
    ("APIVersion", "apiVersion"),
    ("Condition", "condition"),
    ("Tags", "tags"),
    ("AppVersion", "appVersion"),
    ("Deprecated", "deprecated"),
    ("Annotations", "annotations"),
    ("KubeVersion", "kubeVersion"),
    ("Dependencies", "dependencies"),
    ("Type", "type"),
];

fn empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Number(_) => false,
    }
}

/// `chart.Metadata` with its JSON names (omitempty), from the `.Chart`
/// map's Go names.
fn metadata_json(go: &Map<String, Value>) -> Value {
    let mut m = Map::new();
    for (go_name, json_name) in METADATA_FIELDS {
        let Some(v) = go.get(*go_name) else { continue };
        let v = match *go_name {
            "Maintainers" => rename_list(
                v,
                &[
                    ("Name", "name", true),
                    ("Email", "email", true),
                    ("URL", "url", true),
                ],
            ),
            "Dependencies" => rename_list(
                v,
                &[
                    ("Name", "name", false),
                    ("Version", "version", true),
                    ("Repository", "repository", false),
                    ("Condition", "condition", true),
                    ("Tags", "tags", true),
                    ("Enabled", "enabled", true),
                    ("ImportValues", "import-values", true),
                    ("Alias", "alias", true),
                ],
            ),
            _ => v.clone(),
        };
        if !empty(&v) {
            m.insert((*json_name).into(), v);
        }
    }
    Value::Object(m)
}

/// A list of Go-named maps renamed to JSON names (`omit` = omitempty).
fn rename_list(v: &Value, fields: &[(&str, &str, bool)]) -> Value {
    let Value::Array(items) = v else {
        return Value::Null;
    };
    Value::Array(
        items
            .iter()
            .map(|item| {
                let mut m = Map::new();
                if let Value::Object(o) = item {
                    for (go, json, omit) in fields {
                        let v = o.get(*go).cloned().unwrap_or(Value::Null);
                        if *omit && empty(&v) {
                            continue;
                        }
                        let v = if v.is_null() {
                            Value::String(String::new())
                        } else {
                            v
                        };
                        m.insert((*json).into(), v);
                    }
                }
                Value::Object(m)
            })
            .collect(),
    )
}

fn files_json(files: &[File]) -> Value {
    Value::Array(
        files
            .iter()
            .map(|f| {
                let mut m = Map::new();
                m.insert("name".into(), Value::String(f.name.clone()));
                m.insert(
                    "data".into(),
                    Value::String(base64::engine::general_purpose::STANDARD.encode(&f.data)),
                );
                Value::Object(m)
            })
            .collect(),
    )
}

/// `chart.Chart` as the record holds it (subcharts are not stored: Helm's
/// `Chart` JSON has no dependencies field).
fn chart_json(chart: &Chart, values: &Map<String, Value>) -> Value {
    let mut m = Map::new();
    m.insert("metadata".into(), metadata_json(&chart.metadata.go_map));
    m.insert("lock".into(), Value::Null);
    m.insert("templates".into(), files_json(&chart.templates));
    m.insert("values".into(), Value::Object(values.clone()));
    m.insert(
        "schema".into(),
        match &chart.schema {
            Some(s) => Value::String(base64::engine::general_purpose::STANDARD.encode(s)),
            None => Value::Null,
        },
    );
    m.insert(
        "schemamodtime".into(),
        Value::String("0001-01-01T00:00:00Z".into()),
    );
    m.insert("files".into(), files_json(&chart.files));
    Value::Object(m)
}

// The values (`config`, the chart's) may come from Secrets (`valuesFrom`)
// and the manifest holds rendered Secrets: Debug names the release only.
impl std::fmt::Debug for Release {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Release")
            .field("name", &self.name)
            .field("namespace", &self.namespace)
            .field("version", &self.version)
            .field("status", &self.info.status)
            .field("chart", &self.chart.metadata.name)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Record")
            .field("name", &self.name)
            .field("namespace", &self.namespace)
            .field("version", &self.version)
            .field("status", &self.status)
            .field("chart_name", &self.chart_name)
            .field("chart_version", &self.chart_version)
            .finish_non_exhaustive()
    }
}
