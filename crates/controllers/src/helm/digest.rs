//! helm-controller's digests, byte for byte (helm-semantics.md §10.2):
//! the values' config digest (fluxcd/pkg `chartutil.DigestValues`), the
//! observation digest of a stored release (`internal/release`
//! `ObserveRelease` + `Digest`), and the post-renderer and
//! `commonMetadata` digests (`internal/postrender`).

use ferroflux_api::helm::{HelmRelease, SNAPSHOT_API_VERSION, Snapshot, TestHookStatus};
use ferroflux_helm::action::Record;
use ferroflux_helm::funcs::to_json;
use ferroflux_kustomize::value::{Map as YMap, Value as Y};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

/// `sha256:<hex>` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// `chartutil.DigestValues(sha256, values)`: yaml.v2's encoding of the
/// values with every map's keys sorted bytewise (also inside lists) and
/// integral numbers written as integers; no values hash the empty string.
pub fn config_digest(values: &Map<String, Value>) -> String {
    if values.is_empty() {
        return sha256(b"");
    }
    let doc = yaml_object(values);
    match ferroflux_kustomize::emit::document_in_order(&doc) {
        Ok(text) => sha256(text.as_bytes()),
        // chartutil answers an empty digest when the encoder fails.
        Err(_) => String::new(),
    }
}

/// `chartutil.VerifyValues`.
pub fn verify_values(digest: &str, values: &Map<String, Value>) -> bool {
    !digest.is_empty() && config_digest(values) == digest
}

fn yaml_object(values: &Map<String, Value>) -> Y {
    let mut entries: Vec<(&String, &Value)> = values.iter().collect();
    entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    Y::Map(YMap(
        entries
            .into_iter()
            .map(|(k, v)| (k.clone(), yaml_value(v)))
            .collect(),
    ))
}

/// sigs.k8s.io/yaml `JSONObjectToYAMLObject`: a float64 that is an int64
/// becomes one.
fn yaml_value(v: &Value) -> Y {
    match v {
        Value::Null => Y::Null,
        Value::Bool(b) => Y::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Y::Int(i)
            } else if let Some(u) = n.as_u64() {
                Y::Uint(u)
            } else {
                let f = n.as_f64().unwrap_or(0.0);
                let i = f as i64;
                if i as f64 == f && f.is_finite() {
                    Y::Int(i)
                } else {
                    Y::Float(f)
                }
            }
        }
        Value::String(s) => Y::Str(s.clone()),
        Value::Array(items) => Y::Seq(items.iter().map(yaml_value).collect()),
        Value::Object(m) => yaml_object(m),
    }
}

/// `postrender.Digest`: the JSON encoding (with `json.Encoder`'s newline)
/// of `spec.postRenderers`.
pub fn post_renderers_digest(hr: &HelmRelease) -> String {
    if hr.spec.post_renderers.is_empty() {
        return String::new();
    }
    let v = serde_json::to_value(&hr.spec.post_renderers).unwrap_or(Value::Null);
    go_json_line_digest(&v)
}

/// `postrender.CommonMetadataDigest`.
pub fn common_metadata_digest(hr: &HelmRelease) -> String {
    match &hr.spec.common_metadata {
        None => String::new(),
        Some(m) => go_json_line_digest(&serde_json::to_value(m).unwrap_or(Value::Null)),
    }
}

fn go_json_line_digest(v: &Value) -> String {
    let mut text = to_json(v).unwrap_or_default();
    text.push('\n');
    sha256(text.as_bytes())
}

/// What helm-controller observes of a stored release (`Observation`),
/// from the record as Helm wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// The observation's Go JSON encoding, newline included.
    pub encoded: String,
    pub name: String,
    pub namespace: String,
    pub version: i64,
    pub status: String,
    pub chart_name: String,
    pub chart_version: String,
    pub app_version: String,
    pub config: Map<String, Value>,
    pub first_deployed: String,
    pub last_deployed: String,
    pub deleted: String,
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn push_key(out: &mut String, first: &mut bool, key: &str) {
    if !*first {
        out.push(',');
    }
    *first = false;
    ferroflux_api::gojson::quote_into(key, out);
    out.push(':');
}

/// A string field with `omitempty`.
fn opt_str(out: &mut String, first: &mut bool, key: &str, v: &str) {
    if !v.is_empty() {
        push_key(out, first, key);
        ferroflux_api::gojson::quote_into(v, out);
    }
}

/// Any JSON field with `omitempty` (empty list, map, false, 0 omitted).
fn opt_json(out: &mut String, first: &mut bool, key: &str, v: Option<&Value>) {
    let Some(v) = v else { return };
    let empty = match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Number(n) => n.as_f64() == Some(0.0),
    };
    if !empty {
        push_key(out, first, key);
        out.push_str(&to_json(v).unwrap_or_else(|_| "null".into()));
    }
}

fn info_json(info: &Value) -> String {
    let mut out = String::from("{");
    let mut first = true;
    for key in [
        "first_deployed",
        "last_deployed",
        "deleted",
        "description",
        "status",
        "notes",
    ] {
        opt_str(&mut out, &mut first, key, text(info, key));
    }
    opt_json(&mut out, &mut first, "resources", info.get("resources"));
    out.push('}');
    out
}

fn metadata_json(m: &Value) -> String {
    let mut out = String::from("{");
    let mut first = true;
    for key in [
        "name",
        "home",
        "sources",
        "version",
        "description",
        "keywords",
        "maintainers",
        "icon",
        "apiVersion",
        "condition",
        "tags",
        "appVersion",
        "deprecated",
        "annotations",
        "kubeVersion",
        "dependencies",
        "type",
    ] {
        match key {
            "maintainers" => opt_list(&mut out, &mut first, key, m.get(key), maintainer_json),
            "dependencies" => opt_list(&mut out, &mut first, key, m.get(key), dependency_json),
            _ => opt_json(&mut out, &mut first, key, m.get(key)),
        }
    }
    out.push('}');
    out
}

fn opt_list(
    out: &mut String,
    first: &mut bool,
    key: &str,
    v: Option<&Value>,
    item: fn(&Value) -> String,
) {
    let Some(items) = v.and_then(Value::as_array).filter(|a| !a.is_empty()) else {
        return;
    };
    push_key(out, first, key);
    out.push('[');
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if v.is_null() {
            out.push_str("null");
        } else {
            out.push_str(&item(v));
        }
    }
    out.push(']');
}

fn maintainer_json(m: &Value) -> String {
    let mut out = String::from("{");
    let mut first = true;
    for key in ["name", "email", "url"] {
        opt_str(&mut out, &mut first, key, text(m, key));
    }
    out.push('}');
    out
}

fn dependency_json(d: &Value) -> String {
    let mut out = String::from("{");
    let mut first = true;
    push_key(&mut out, &mut first, "name");
    ferroflux_api::gojson::quote_into(text(d, "name"), &mut out);
    opt_str(&mut out, &mut first, "version", text(d, "version"));
    push_key(&mut out, &mut first, "repository");
    ferroflux_api::gojson::quote_into(text(d, "repository"), &mut out);
    opt_str(&mut out, &mut first, "condition", text(d, "condition"));
    opt_json(&mut out, &mut first, "tags", d.get("tags"));
    opt_json(&mut out, &mut first, "enabled", d.get("enabled"));
    opt_json(
        &mut out,
        &mut first,
        "import-values",
        d.get("import-values"),
    );
    opt_str(&mut out, &mut first, "alias", text(d, "alias"));
    out.push('}');
    out
}

fn hook_json(h: &Value) -> String {
    let mut out = String::from("{");
    let mut first = true;
    for key in ["name", "kind", "path", "manifest"] {
        opt_str(&mut out, &mut first, key, text(h, key));
    }
    opt_json(&mut out, &mut first, "events", h.get("events"));
    push_key(&mut out, &mut first, "last_run");
    let run = h.get("last_run").cloned().unwrap_or(Value::Null);
    out.push('{');
    let mut f2 = true;
    opt_str(&mut out, &mut f2, "started_at", text(&run, "started_at"));
    opt_str(
        &mut out,
        &mut f2,
        "completed_at",
        text(&run, "completed_at"),
    );
    push_key(&mut out, &mut f2, "phase");
    ferroflux_api::gojson::quote_into(text(&run, "phase"), &mut out);
    out.push('}');
    opt_json(&mut out, &mut first, "weight", h.get("weight"));
    opt_json(
        &mut out,
        &mut first,
        "delete_policies",
        h.get("delete_policies"),
    );
    opt_json(
        &mut out,
        &mut first,
        "output_log_policies",
        h.get("output_log_policies"),
    );
    out.push('}');
    out
}

/// Whether a hook runs on `test` (`IsHookForEvent(h, HookTest)`).
pub fn is_test_hook(h: &Value) -> bool {
    h.get("events")
        .and_then(Value::as_array)
        .is_some_and(|e| e.iter().any(|e| e.as_str() == Some("test")))
}

/// `ObserveRelease` with the default filter (test hooks left out), and
/// its Go JSON encoding; `oci_digest` is `Observation.OCIDigest`.
pub fn observe(record: &Record, oci_digest: &str) -> Observation {
    let json = &record.json;
    let info = json.get("info").cloned().unwrap_or(Value::Null);
    let meta = json
        .pointer("/chart/metadata")
        .cloned()
        .unwrap_or(Value::Null);
    let config = json
        .get("config")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let hooks: Vec<&Value> = json
        .get("hooks")
        .and_then(Value::as_array)
        .map(|h| {
            h.iter()
                .filter(|h| !h.is_null() && !is_test_hook(h))
                .collect()
        })
        .unwrap_or_default();

    let mut out = String::from("{\"name\":");
    ferroflux_api::gojson::quote_into(text(json, "name"), &mut out);
    out.push_str(&format!(",\"version\":{}", record.version));
    out.push_str(",\"info\":");
    out.push_str(&info_json(&info));
    out.push_str(",\"chartMetadata\":");
    out.push_str(&metadata_json(&meta));
    out.push_str(",\"config\":");
    if config.is_empty() {
        out.push_str("null");
    } else {
        out.push_str(&to_json(&Value::Object(config.clone())).unwrap_or_else(|_| "null".into()));
    }
    out.push_str(",\"manifest\":");
    ferroflux_api::gojson::quote_into(text(json, "manifest"), &mut out);
    out.push_str(",\"hooks\":");
    if hooks.is_empty() {
        out.push_str("null");
    } else {
        out.push('[');
        for (i, h) in hooks.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&hook_json(h));
        }
        out.push(']');
    }
    out.push_str(",\"namespace\":");
    ferroflux_api::gojson::quote_into(text(json, "namespace"), &mut out);
    if !oci_digest.is_empty() {
        out.push_str(",\"ociDigest\":");
        ferroflux_api::gojson::quote_into(oci_digest, &mut out);
    }
    out.push_str("}\n");
    Observation {
        encoded: out,
        name: text(json, "name").to_string(),
        namespace: text(json, "namespace").to_string(),
        version: record.version,
        status: text(&info, "status").to_string(),
        chart_name: text(&meta, "name").to_string(),
        chart_version: text(&meta, "version").to_string(),
        app_version: text(&meta, "appVersion").to_string(),
        config,
        first_deployed: text(&info, "first_deployed").to_string(),
        last_deployed: text(&info, "last_deployed").to_string(),
        deleted: text(&info, "deleted").to_string(),
    }
}

impl Observation {
    /// `Digest(sha256, obs)`.
    pub fn digest(&self) -> String {
        sha256(self.encoded.as_bytes())
    }

    /// `ObservedToSnapshot`, with the action that made it.
    pub fn to_snapshot(&self, action: &str, oci_digest: &str) -> Snapshot {
        Snapshot {
            api_version: SNAPSHOT_API_VERSION.to_string(),
            digest: self.digest(),
            name: self.name.clone(),
            namespace: self.namespace.clone(),
            version: self.version,
            status: self.status.clone(),
            action: action.to_string(),
            chart_name: self.chart_name.clone(),
            chart_version: self.chart_version.clone(),
            app_version: self.app_version.clone(),
            config_digest: config_digest(&self.config),
            first_deployed: meta_time(&self.first_deployed),
            last_deployed: meta_time(&self.last_deployed),
            deleted: meta_time(&self.deleted),
            test_hooks: None,
            oci_digest: oci_digest.to_string(),
        }
    }
}

/// A Go time as `metav1.Time` writes it: RFC 3339 in UTC, whole seconds;
/// None for the zero time.
pub fn meta_time(go: &str) -> Option<String> {
    if go.is_empty() || go.starts_with("0001-01-01T00:00:00") {
        return None;
    }
    let ts: k8s_openapi::jiff::Timestamp = go.parse().ok()?;
    Some(ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// `TestHooksFromRelease`: the release's test hooks that `filters` select
/// (`(name, exclude)`), with their last run.
pub fn test_hooks(
    record: &Record,
    filters: &[(String, bool)],
) -> std::collections::BTreeMap<String, Option<TestHookStatus>> {
    let mut out = std::collections::BTreeMap::new();
    let hooks = record.json.get("hooks").and_then(Value::as_array);
    for h in hooks.into_iter().flatten().filter(|h| is_test_hook(h)) {
        let name = text(h, "name").to_string();
        if !test_hook_selected(&name, filters) {
            continue;
        }
        let run = h.get("last_run").cloned().unwrap_or(Value::Null);
        out.insert(
            name,
            Some(TestHookStatus {
                last_started: meta_time(text(&run, "started_at")),
                last_completed: meta_time(text(&run, "completed_at")),
                phase: text(&run, "phase").to_string(),
            }),
        );
    }
    out
}

fn test_hook_selected(name: &str, filters: &[(String, bool)]) -> bool {
    let mut has_include = false;
    let mut included = false;
    for (f, exclude) in filters {
        if *exclude {
            if f == name {
                return false;
            }
            continue;
        }
        has_include = true;
        if f == name {
            included = true;
        }
    }
    !has_include || included
}

#[cfg(test)]
mod tests;
