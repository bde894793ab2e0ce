//! `.Capabilities` as `helm template` builds it (Helm v4.2.4,
//! `pkg/chart/common/capabilities.go`): the Kubernetes version Helm's
//! client-go implies (v1.36.0) or `--kube-version`, the API versions
//! client-go's scheme registers plus `--api-versions`, and Helm's build.

/// `KubeVersion`: `Version` as given (with a `v`), `Major`, `Minor`, and
/// the normalised form `String()` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeVersion {
    pub version: String,
    pub normalized: String,
    pub major: String,
    pub minor: String,
}

impl Default for KubeVersion {
    /// client-go v0.36.1's major + 1 and minor: v1.36.0.
    fn default() -> Self {
        KubeVersion {
            version: "v1.36.0".to_string(),
            normalized: "v1.36.0".to_string(),
            major: "1".to_string(),
            minor: "36".to_string(),
        }
    }
}

/// Why `--kube-version` was refused; the message is `helm template`'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid kube version '{given}': {reason}")]
pub struct KubeVersionError {
    pub given: String,
    pub reason: String,
}

/// `common.ParseKubeVersion`: k8s.io/apimachinery's `ParseGeneric`
/// (`v?N.N[.N...]` then anything; at least two components, the first
/// without a leading zero).
pub fn parse_kube_version(given: &str) -> Result<KubeVersion, KubeVersionError> {
    let fail = |reason: String| KubeVersionError {
        given: given.to_string(),
        reason,
    };
    let trimmed = given.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let body = trimmed.strip_prefix('v').unwrap_or(trimmed);
    let mut end = 0;
    let bytes = body.as_bytes();
    // `[0-9]+(?:\.[0-9]+)*`: a dot only counts when digits follow it.
    loop {
        let start = end;
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
        if end == start {
            end = start.saturating_sub(1);
            break;
        }
        if end + 1 < bytes.len() && bytes[end] == b'.' && bytes[end + 1].is_ascii_digit() {
            end += 1;
            continue;
        }
        break;
    }
    let numbers = &body[..end];
    if numbers.is_empty() {
        return Err(fail(format!("could not parse {given:?} as version")));
    }
    let components: Vec<&str> = numbers.split('.').collect();
    if components.len() < 2 {
        return Err(fail(format!("illegal version string {given:?}")));
    }
    let mut parsed = Vec::with_capacity(components.len());
    for (i, comp) in components.iter().enumerate() {
        if i == 0 && comp.starts_with('0') && *comp != "0" {
            return Err(fail(format!(
                "illegal zero-prefixed version component {comp:?} in {given:?}"
            )));
        }
        let n: u64 = comp.parse().map_err(|_| {
            fail(format!(
                "illegal non-numeric version component {comp:?} in {given:?}: strconv.ParseUint: parsing {comp:?}: value out of range"
            ))
        })?;
        parsed.push(n);
    }
    let version = if given.starts_with('v') {
        given.to_string()
    } else {
        format!("v{given}")
    };
    let normalized = format!(
        "v{}",
        parsed
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(".")
    );
    Ok(KubeVersion {
        version,
        normalized,
        major: parsed[0].to_string(),
        minor: parsed[1].to_string(),
    })
}

/// Every group/version client-go v0.36.1's scheme registers, in
/// `PrioritizedVersionsAllGroups` order as helm v4.2.4 printed it, then
/// apiextensions v1beta1 and v1.
pub const DEFAULT_API_VERSIONS: &[&str] = &[
    "v1",
    "admissionregistration.k8s.io/v1",
    "admissionregistration.k8s.io/v1alpha1",
    "admissionregistration.k8s.io/v1beta1",
    "internal.apiserver.k8s.io/v1alpha1",
    "apps/v1",
    "apps/v1beta1",
    "apps/v1beta2",
    "authentication.k8s.io/v1",
    "authentication.k8s.io/v1alpha1",
    "authentication.k8s.io/v1beta1",
    "authorization.k8s.io/v1",
    "authorization.k8s.io/v1beta1",
    "autoscaling/v1",
    "autoscaling/v2",
    "batch/v1",
    "batch/v1beta1",
    "certificates.k8s.io/v1",
    "certificates.k8s.io/v1beta1",
    "certificates.k8s.io/v1alpha1",
    "coordination.k8s.io/v1alpha2",
    "coordination.k8s.io/v1beta1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "discovery.k8s.io/v1beta1",
    "events.k8s.io/v1",
    "events.k8s.io/v1beta1",
    "extensions/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1beta2",
    "flowcontrol.apiserver.k8s.io/v1beta3",
    "networking.k8s.io/v1",
    "networking.k8s.io/v1beta1",
    "node.k8s.io/v1",
    "node.k8s.io/v1alpha1",
    "node.k8s.io/v1beta1",
    "policy/v1",
    "policy/v1beta1",
    "rbac.authorization.k8s.io/v1",
    "rbac.authorization.k8s.io/v1beta1",
    "rbac.authorization.k8s.io/v1alpha1",
    "resource.k8s.io/v1",
    "resource.k8s.io/v1beta2",
    "resource.k8s.io/v1beta1",
    "resource.k8s.io/v1alpha3",
    "scheduling.k8s.io/v1alpha2",
    "scheduling.k8s.io/v1beta1",
    "scheduling.k8s.io/v1",
    "storage.k8s.io/v1beta1",
    "storage.k8s.io/v1",
    "storage.k8s.io/v1alpha1",
    "storagemigration.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1",
];

/// `HelmVersion` (`version.BuildInfo`): what the helm binary reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelmVersion {
    pub version: String,
    pub git_commit: String,
    pub git_tree_state: String,
    pub go_version: String,
    pub kube_client_version: String,
}

impl Default for HelmVersion {
    /// The release binary of v4.2.4 as `.ci/setup.d/56-helm.sh` builds it
    /// (no commit recorded); the Go version is the toolchain's, so callers
    /// comparing with a particular binary set it.
    fn default() -> Self {
        HelmVersion {
            version: "v4.2.4".to_string(),
            git_commit: String::new(),
            git_tree_state: String::new(),
            go_version: "go1.26.8".to_string(),
            kube_client_version: "v1.36".to_string(),
        }
    }
}

/// The whole `.Capabilities`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Capabilities {
    pub kube_version: KubeVersion,
    /// The defaults, then `--api-versions` in the order given.
    pub api_versions: Vec<String>,
    pub helm_version: HelmVersion,
}

impl Capabilities {
    /// `helm template`'s: `--kube-version` when given (else v1.36.0), the
    /// default API versions followed by `extra_api_versions` (already
    /// split at commas, as the flag's parser does).
    pub fn for_template(
        kube_version: Option<&str>,
        extra_api_versions: &[String],
    ) -> Result<Capabilities, KubeVersionError> {
        let kube_version = match kube_version {
            Some(v) if !v.is_empty() => parse_kube_version(v)?,
            _ => KubeVersion::default(),
        };
        let mut api_versions: Vec<String> =
            DEFAULT_API_VERSIONS.iter().map(|s| s.to_string()).collect();
        api_versions.extend(extra_api_versions.iter().cloned());
        Ok(Capabilities {
            kube_version,
            api_versions,
            helm_version: HelmVersion::default(),
        })
    }
}

use std::rc::Rc;

use ferroflux_template::{Object, Param, Signature, Value};

/// `.Capabilities` for `helm template` (see [`Capabilities::for_template`]).
pub fn capabilities_value(
    kube_version: Option<&str>,
    extra_api_versions: &[String],
) -> Result<Value, KubeVersionError> {
    Ok(Capabilities::for_template(kube_version, extra_api_versions)?.into_value())
}

impl Capabilities {
    /// The template value: a `*common.Capabilities`.
    pub fn into_value(self) -> Value {
        Value::Object(Rc::new(CapabilitiesObject(Rc::new(self))))
    }

    /// Go's `%v` of the struct (what `{{ .Capabilities }}` prints).
    fn go_print(&self) -> String {
        format!(
            "{{{} [{}] {}}}",
            self.kube_version.go_print(),
            self.api_versions.join(" "),
            self.helm_version.go_print()
        )
    }
}

impl KubeVersion {
    fn go_print(&self) -> String {
        format!(
            "{{{} {} {} {}}}",
            self.version, self.normalized, self.major, self.minor
        )
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({"Version": self.version, "Major": self.major, "Minor": self.minor})
    }
}

impl HelmVersion {
    fn go_print(&self) -> String {
        format!(
            "{{{} {} {} {} {}}}",
            self.version,
            self.git_commit,
            self.git_tree_state,
            self.go_version,
            self.kube_client_version
        )
    }

    /// `json` tags with `omitempty` on all but `kube_client_version`.
    fn json(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        for (k, v) in [
            ("version", &self.version),
            ("git_commit", &self.git_commit),
            ("git_tree_state", &self.git_tree_state),
            ("go_version", &self.go_version),
        ] {
            if !v.is_empty() {
                m.insert(k.to_string(), serde_json::Value::String(v.clone()));
            }
        }
        m.insert(
            "kube_client_version".to_string(),
            serde_json::Value::String(self.kube_client_version.clone()),
        );
        serde_json::Value::Object(m)
    }
}

/// JSON text in Go's field order (serde_json's map would sort it).
fn ordered_json(fields: &[(&str, String)]) -> String {
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}:{v}", ferroflux_api::gojson::quote(k)))
        .collect();
    format!("{{{}}}", body.join(","))
}

fn kube_version_json(kv: &KubeVersion) -> String {
    let j = kv.json();
    ordered_json(&["Version", "Major", "Minor"].map(|k| {
        (
            k,
            ferroflux_api::gojson::quote(j[k].as_str().unwrap_or_default()),
        )
    }))
}

fn helm_version_json(hv: &HelmVersion) -> String {
    let j = hv.json();
    let fields: Vec<(&str, String)> = [
        "version",
        "git_commit",
        "git_tree_state",
        "go_version",
        "kube_client_version",
    ]
    .into_iter()
    .filter_map(|k| {
        j.get(k)
            .and_then(|v| v.as_str())
            .map(|v| (k, ferroflux_api::gojson::quote(v)))
    })
    .collect();
    ordered_json(&fields)
}

#[derive(Debug)]
struct CapabilitiesObject(Rc<Capabilities>);

impl Object for CapabilitiesObject {
    fn type_name(&self) -> String {
        "*common.Capabilities".to_string()
    }

    fn kind(&self) -> &'static str {
        "ptr"
    }

    fn field(&self, name: &str) -> Option<Value> {
        let caps = Rc::clone(&self.0);
        Some(match name {
            "KubeVersion" => Value::Object(Rc::new(KubeVersionObject(caps))),
            "APIVersions" => Value::Object(Rc::new(VersionSetObject(caps))),
            "HelmVersion" => Value::Object(Rc::new(BuildInfoObject(caps))),
            _ => return None,
        })
    }

    fn string(&self) -> Option<String> {
        Some(self.0.go_print())
    }

    fn to_json(&self) -> Option<Result<String, String>> {
        let apis: Vec<String> = self
            .0
            .api_versions
            .iter()
            .map(|a| ferroflux_api::gojson::quote(a))
            .collect();
        Some(Ok(ordered_json(&[
            ("KubeVersion", kube_version_json(&self.0.kube_version)),
            ("APIVersions", format!("[{}]", apis.join(","))),
            ("HelmVersion", helm_version_json(&self.0.helm_version)),
        ])))
    }
}

/// `common.KubeVersion`: `Version`, `Major`, `Minor`, and the methods
/// `String()` (normalised, what `{{ .Capabilities.KubeVersion }}` prints)
/// and `GitVersion()`.
#[derive(Debug)]
struct KubeVersionObject(Rc<Capabilities>);

impl Object for KubeVersionObject {
    fn type_name(&self) -> String {
        "common.KubeVersion".to_string()
    }

    fn kind(&self) -> &'static str {
        "struct"
    }

    fn method(&self, name: &str) -> Option<Signature> {
        matches!(name, "String" | "GitVersion").then(|| Signature::new(&[]))
    }

    fn call(&self, name: &str, _: &[Value]) -> Result<Value, String> {
        let kv = &self.0.kube_version;
        match name {
            "String" => Ok(Value::str(kv.normalized.as_str())),
            "GitVersion" => Ok(Value::str(kv.version.as_str())),
            other => Err(format!("common.KubeVersion has no method {other}")),
        }
    }

    fn field(&self, name: &str) -> Option<Value> {
        let kv = &self.0.kube_version;
        Some(Value::str(match name {
            "Version" => kv.version.as_str(),
            "Major" => kv.major.as_str(),
            "Minor" => kv.minor.as_str(),
            _ => return None,
        }))
    }

    fn string(&self) -> Option<String> {
        Some(self.0.kube_version.normalized.clone())
    }

    fn to_json(&self) -> Option<Result<String, String>> {
        Some(Ok(kube_version_json(&self.0.kube_version)))
    }
}

/// `common.VersionSet`: a `[]string` with `Has`.
#[derive(Debug)]
struct VersionSetObject(Rc<Capabilities>);

impl Object for VersionSetObject {
    fn type_name(&self) -> String {
        "common.VersionSet".to_string()
    }

    fn method(&self, name: &str) -> Option<Signature> {
        (name == "Has").then(|| Signature::new(&[Param::Str]))
    }

    fn call(&self, name: &str, args: &[Value]) -> Result<Value, String> {
        if name != "Has" {
            return Err(format!("common.VersionSet has no method {name}"));
        }
        let wanted = args.first().and_then(Value::as_str).unwrap_or_default();
        Ok(Value::Bool(self.0.api_versions.iter().any(|v| v == wanted)))
    }

    fn underlying(&self) -> Option<Value> {
        Some(Value::list(
            "[]string",
            self.0
                .api_versions
                .iter()
                .map(|v| Value::str(v.as_str()))
                .collect(),
        ))
    }
}

/// `version.BuildInfo`.
#[derive(Debug)]
struct BuildInfoObject(Rc<Capabilities>);

impl Object for BuildInfoObject {
    fn type_name(&self) -> String {
        "version.BuildInfo".to_string()
    }

    fn kind(&self) -> &'static str {
        "struct"
    }

    fn field(&self, name: &str) -> Option<Value> {
        let hv = &self.0.helm_version;
        Some(Value::str(match name {
            "Version" => hv.version.as_str(),
            "GitCommit" => hv.git_commit.as_str(),
            "GitTreeState" => hv.git_tree_state.as_str(),
            "GoVersion" => hv.go_version.as_str(),
            "KubeClientVersion" => hv.kube_client_version.as_str(),
            _ => return None,
        }))
    }

    fn string(&self) -> Option<String> {
        Some(self.0.helm_version.go_print())
    }

    fn to_json(&self) -> Option<Result<String, String>> {
        Some(Ok(helm_version_json(&self.0.helm_version)))
    }
}
