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
