//! A resource, its identity (group, version, kind, name, namespace) and the
//! history kustomize keeps of it while building: the names, kinds and
//! namespaces it had before a transformer changed them, and the prefixes and
//! suffixes applied (kustomize keeps these in build annotations it strips
//! before printing; here they are fields).

use crate::openapi::OpenApi;
use crate::value::{Map, Value};

/// Group, version, kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Gvk {
    pub group: String,
    pub version: String,
    pub kind: String,
}

impl Gvk {
    pub fn from_api_version(api_version: &str, kind: &str) -> Self {
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        Gvk {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
        }
    }

    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// kyaml's `Gvk.IsSelected`: every non-empty field of `selector` matches.
    pub fn is_selected(&self, selector: &Gvk) -> bool {
        (selector.group.is_empty() || selector.group == self.group)
            && (selector.version.is_empty() || selector.version == self.version)
            && (selector.kind.is_empty() || selector.kind == self.kind)
    }

    /// kyaml's `Gvk.String()`: `Kind.version.group` with placeholders.
    pub fn display(&self) -> String {
        let or = |s: &str, d: &str| {
            if s.is_empty() {
                d.to_string()
            } else {
                s.to_string()
            }
        };
        format!(
            "{}.{}.{}",
            or(&self.kind, "[noKind]"),
            or(&self.version, "[noVer]"),
            or(&self.group, "[noGrp]")
        )
    }
}

/// What kyaml writes for the namespace of a cluster-scoped id.
pub const NOT_A_NAMESPACE: &str = "_non_namespaceable_";

/// A resource's identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ResId {
    pub gvk: Gvk,
    pub name: String,
    pub namespace: String,
}

impl ResId {
    /// `default` for an empty namespace, a marker for cluster-scoped kinds
    /// (as the build's schema knows them).
    pub fn effective_namespace(&self, oa: &OpenApi) -> String {
        if oa.is_cluster_scoped(&self.gvk) {
            NOT_A_NAMESPACE.to_string()
        } else if self.namespace.is_empty() {
            "default".to_string()
        } else {
            self.namespace.clone()
        }
    }

    pub fn ns_equals(&self, other: &ResId, oa: &OpenApi) -> bool {
        self.effective_namespace(oa) == other.effective_namespace(oa)
    }

    /// What [`ResId::same`] compares, for sets and maps.
    pub fn key(&self, oa: &OpenApi) -> (Gvk, String, String) {
        (
            self.gvk.clone(),
            self.name.clone(),
            self.effective_namespace(oa),
        )
    }

    /// kyaml's `ResId.Equals`.
    pub fn same(&self, other: &ResId, oa: &OpenApi) -> bool {
        self.gvk == other.gvk && self.name == other.name && self.ns_equals(other, oa)
    }

    /// kyaml's `ResId.String()`, used in messages.
    pub fn display(&self) -> String {
        let ns = if self.namespace.is_empty() {
            "[noNs]"
        } else {
            &self.namespace
        };
        let name = if self.name.is_empty() {
            "[noName]"
        } else {
            &self.name
        };
        format!("{}/{}.{}", self.gvk.display(), name, ns)
    }
}

/// One resource of a build.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    /// The object (a mapping).
    pub value: Value,
    /// Where it was read, for messages: `file:line`.
    pub source: String,
    /// Ids it had before a transformer renamed or moved it, oldest first
    /// (namespaces are effective ones, as kustomize records them).
    pub previous: Vec<ResId>,
    /// Name prefixes and suffixes applied, outermost last.
    pub prefixes: Vec<String>,
    pub suffixes: Vec<String>,
    /// Names of the `vars` whose object reference is this resource.
    pub ref_vars: Vec<String>,
    /// A generated object whose name gets the content hash at the end of
    /// the build ([`crate::generate::add_hashes`]).
    pub needs_hash: bool,
    /// A generated object's behavior toward an object with its id.
    pub behavior: crate::generate::Behavior,
}

impl Resource {
    pub fn new(value: Value, source: String) -> Self {
        Resource {
            value,
            source,
            previous: Vec::new(),
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            ref_vars: Vec::new(),
            needs_hash: false,
            behavior: crate::generate::Behavior::Unspecified,
        }
    }

    pub fn map(&self) -> Option<&Map> {
        self.value.as_map()
    }

    pub fn map_mut(&mut self) -> Option<&mut Map> {
        self.value.as_map_mut()
    }

    fn text_at(&self, path: &[&str]) -> String {
        let mut v = &self.value;
        for p in path {
            match v.get(p) {
                Some(next) => v = next,
                None => return String::new(),
            }
        }
        v.scalar_text().unwrap_or_default()
    }

    pub fn api_version(&self) -> String {
        self.text_at(&["apiVersion"])
    }

    pub fn kind(&self) -> String {
        self.text_at(&["kind"])
    }

    pub fn name(&self) -> String {
        self.text_at(&["metadata", "name"])
    }

    pub fn namespace(&self) -> String {
        self.text_at(&["metadata", "namespace"])
    }

    pub fn gvk(&self) -> Gvk {
        Gvk::from_api_version(&self.api_version(), &self.kind())
    }

    pub fn cur_id(&self) -> ResId {
        ResId {
            gvk: self.gvk(),
            name: self.name(),
            namespace: self.namespace(),
        }
    }

    /// Every id the resource had, the current one last (what kustomize's
    /// `GetMatchingResourcesByAnyId` looks at). Name references look at
    /// [`Resource::previous`] alone: a resource never renamed or moved is
    /// never a referral.
    pub fn all_ids(&self) -> Vec<ResId> {
        let mut ids = self.previous.clone();
        ids.push(self.cur_id());
        ids
    }

    /// The id it was loaded with.
    pub fn org_id(&self) -> ResId {
        self.previous
            .first()
            .cloned()
            .unwrap_or_else(|| self.cur_id())
    }

    /// Record the current id before a change of name or namespace.
    pub fn store_previous_id(&mut self, oa: &OpenApi) {
        let mut id = self.cur_id();
        id.namespace = id.effective_namespace(oa);
        self.previous.push(id);
    }

    /// A string-valued map under `metadata` (labels, annotations).
    pub fn metadata_map(&self, field: &str) -> Vec<(String, String)> {
        self.value
            .get("metadata")
            .and_then(|m| m.get(field))
            .and_then(Value::as_map)
            .map(|m| {
                m.0.iter()
                    .map(|(k, v)| (k.clone(), v.scalar_text().unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// kustomize's `PrefixesSuffixesEquals`.
    pub fn prefixes_suffixes_equal(&self, other: &Resource, allow_empty: bool) -> bool {
        if allow_empty {
            let prefix_ok = self.prefixes.is_empty()
                || other.prefixes.is_empty()
                || same_ending(&self.prefixes, &other.prefixes);
            let suffix_ok = self.suffixes.is_empty()
                || other.suffixes.is_empty()
                || same_ending(&self.suffixes, &other.suffixes);
            prefix_ok && suffix_ok
        } else {
            same_ending(&self.prefixes, &other.prefixes)
                && same_ending(&self.suffixes, &other.suffixes)
        }
    }
}

/// kustomize's `SameEndingSubSlice`: the shorter list ends the longer one
/// (an empty list only matches an empty list).
fn same_ending(a: &[String], b: &[String]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.is_empty() {
        return long.is_empty();
    }
    long[long.len() - short.len()..] == *short
}
