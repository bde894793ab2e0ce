//! A release manifest as objects (`KubeClient.Build`): documents split as
//! Helm's `SplitManifests` splits them, parsed, namespaced like kubectl
//! (namespaced kinds without one get the release namespace, cluster-scoped
//! ones lose theirs), and Helm's ownership metadata: set on what is
//! applied (never in the stored manifest) and checked on what exists.

use std::collections::BTreeMap;

use kube::Client;
use kube::api::{Api, DynamicObject, GroupVersionKind};
use kube::discovery::{ApiCapabilities, ApiResource, Scope};
use serde_json::{Value, json};

use crate::inventory::{self, ObjMetadata, ObjRef};

pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
pub const RELEASE_NAME_ANNOTATION: &str = "meta.helm.sh/release-name";
pub const RELEASE_NAMESPACE_ANNOTATION: &str = "meta.helm.sh/release-namespace";
/// `helm.sh/resource-policy: keep`: left in place by upgrade and uninstall.
pub const RESOURCE_POLICY_ANNOTATION: &str = "helm.sh/resource-policy";

/// Largest number of documents read from one manifest (a hostile chart
/// could render millions of empty documents).
pub const MAX_DOCUMENTS: usize = 100_000;

/// The documents of a manifest (`---` lines separate them), parsed; empty
/// documents dropped. Errors name the `# Source:` template.
pub fn parse_manifest(manifest: &str) -> Result<Vec<Value>, String> {
    let mut docs: Vec<String> = vec![String::new()];
    for line in manifest.split_inclusive('\n') {
        if line.starts_with("---") && line[3..].trim().is_empty() {
            if docs.len() >= MAX_DOCUMENTS {
                return Err(format!("more than {MAX_DOCUMENTS} documents"));
            }
            docs.push(String::new());
        } else if let Some(last) = docs.last_mut() {
            last.push_str(line);
        }
    }
    let mut out = Vec::new();
    for doc in docs {
        if doc.trim().is_empty() {
            continue;
        }
        let source = doc
            .lines()
            .find_map(|l| l.strip_prefix("# Source: "))
            .unwrap_or("manifest")
            .to_string();
        let value = yaml_v2(&doc).map_err(|e| format!("error parsing {source}: {e}"))?;
        match value {
            Value::Null => {}
            Value::Object(_) => {
                check_identity(&value).map_err(|field| {
                    format!("error validating {source}: {field} not set in the object")
                })?;
                out.push(value);
            }
            _ => return Err(format!("error parsing {source}: not an object")),
        }
    }
    Ok(out)
}

/// One document as Kubernetes' decoder reads it (sigs.k8s.io/yaml's
/// `YAMLToJSON`, yaml.v2): `yes`/`on`/`y` are booleans, `0644` is octal
/// (420), integers stay integers; with ferroflux-api's depth, alias and
/// size budgets.
pub fn yaml_v2(doc: &str) -> Result<Value, String> {
    let docs = ferroflux_api::yaml::parse_stream_raw(doc)
        .map_err(|e| format!("yaml: line {}: {}", e.line, e.message))?;
    Ok(docs
        .into_iter()
        .find_map(|d| d.node)
        .map(|n| to_json(&ferroflux_kustomize::flux::postbuild::from_node_v2(&n)))
        .unwrap_or(Value::Null))
}

fn to_json(v: &ferroflux_kustomize::value::Value) -> Value {
    use ferroflux_kustomize::value::Value as K;
    match v {
        K::Null => Value::Null,
        K::Bool(b) => Value::Bool(*b),
        K::Int(i) => Value::from(*i),
        K::Uint(u) => Value::from(*u),
        K::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        K::Str(s) | K::Timestamp(s) => Value::String(s.clone()),
        K::Spelled(_) => match v.resolved() {
            K::Spelled(s) => Value::String(s),
            other => to_json(&other),
        },
        K::Seq(items) => Value::Array(items.iter().map(to_json).collect()),
        K::Map(m) => Value::Object(m.0.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
    }
}

fn check_identity(obj: &Value) -> Result<(), &'static str> {
    for (ptr, field) in [
        ("/apiVersion", "apiVersion"),
        ("/kind", "kind"),
        ("/metadata/name", "metadata.name"),
    ] {
        if obj
            .pointer(ptr)
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(field);
        }
    }
    Ok(())
}

/// The identity of a parsed object.
pub fn obj_ref(obj: &Value, index: usize) -> Result<ObjRef, String> {
    let meta = ObjMetadata::from_object(obj, index).map_err(|e| e.to_string())?;
    Ok(ObjRef {
        meta,
        version: inventory::version_of(obj["apiVersion"].as_str().unwrap_or_default()).into(),
    })
}

/// Helm's `resourceString`: `ConfigMap "x" in namespace "ns"`.
pub fn resource_string(obj: &Value) -> String {
    format!(
        "{} {:?} in namespace {:?}",
        obj["kind"].as_str().unwrap_or_default(),
        obj["metadata"]["name"].as_str().unwrap_or_default(),
        obj["metadata"]["namespace"].as_str().unwrap_or_default()
    )
}

/// Whether an object asks to be kept (`helm.sh/resource-policy: keep`).
pub fn is_keep(obj: &Value) -> bool {
    obj["metadata"]["annotations"][RESOURCE_POLICY_ANNOTATION]
        .as_str()
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("keep"))
}

/// Adds Helm's ownership label and annotations (`setMetadataVisitor`).
pub fn set_ownership(obj: &mut Value, release: &str, namespace: &str) {
    let Some(meta) = obj["metadata"].as_object_mut() else {
        return;
    };
    let labels = meta.entry("labels").or_insert_with(|| json!({}));
    if !labels.is_object() {
        *labels = json!({});
    }
    labels[MANAGED_BY_LABEL] = "Helm".into();
    let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
    if !annotations.is_object() {
        *annotations = json!({});
    }
    annotations[RELEASE_NAME_ANNOTATION] = release.into();
    annotations[RELEASE_NAMESPACE_ANNOTATION] = namespace.into();
}

/// Helm's `checkOwnership` of a live object, with its wording.
pub fn check_ownership(live: &Value, release: &str, namespace: &str) -> Result<(), String> {
    let text = |v: &Value| v.as_str().map(str::to_string);
    let require = |found: Option<String>, k: &str, v: &str| match found {
        None => Some(format!("missing key {k:?}: must be set to {v:?}")),
        Some(actual) if actual != v => Some(format!(
            "key {k:?} must equal {v:?}: current value is {actual:?}"
        )),
        Some(_) => None,
    };
    let meta = &live["metadata"];
    let mut errs = Vec::new();
    if let Some(e) = require(
        text(&meta["labels"][MANAGED_BY_LABEL]),
        MANAGED_BY_LABEL,
        "Helm",
    ) {
        errs.push(format!("label validation error: {e}"));
    }
    for (k, v) in [
        (RELEASE_NAME_ANNOTATION, release),
        (RELEASE_NAMESPACE_ANNOTATION, namespace),
    ] {
        if let Some(e) = require(text(&meta["annotations"][k]), k, v) {
            errs.push(format!("annotation validation error: {e}"));
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(format!("invalid ownership metadata; {}", errs.join("; ")))
    }
}

/// Kinds found by discovery, remembered for the life of one action.
pub struct Kinds {
    client: Client,
    found: crate::kinds::KindCache,
}

impl Kinds {
    /// Over a cache of kinds shared with other actions (its client's).
    pub fn over(found: crate::kinds::KindCache) -> Kinds {
        Kinds {
            client: found.client().clone(),
            found,
        }
    }

    /// A kind not served (after `KindCache`'s retries: a CRD the action
    /// just created is served a moment after it is Established) or a
    /// failed discovery is Helm's "resource mapping not found".
    async fn lookup(&self, obj: &Value) -> Result<(ApiResource, ApiCapabilities), String> {
        let api_version = obj["apiVersion"].as_str().unwrap_or_default();
        let kind = obj["kind"].as_str().unwrap_or_default();
        let gvk = GroupVersionKind::gvk(
            inventory::group_of(api_version),
            inventory::version_of(api_version),
            kind,
        );
        self.found.find(&gvk).await.map_err(|_| {
            format!(
                "resource mapping not found for name: {:?} namespace: {:?} from \"\": no matches for kind {kind:?} in version {api_version:?}",
                obj["metadata"]["name"].as_str().unwrap_or_default(),
                obj["metadata"]["namespace"].as_str().unwrap_or_default(),
            )
        })
    }

    /// Sets or drops `metadata.namespace` by the kind's scope.
    pub async fn namespace(&self, obj: &mut Value, namespace: &str) -> Result<(), String> {
        let (_, caps) = self.lookup(obj).await?;
        let Some(meta) = obj["metadata"].as_object_mut() else {
            return Ok(());
        };
        match caps.scope {
            Scope::Namespaced => {
                if meta
                    .get("namespace")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    meta.insert("namespace".into(), namespace.into());
                }
            }
            Scope::Cluster => {
                meta.remove("namespace");
            }
        }
        Ok(())
    }

    /// The API of an (already namespaced) object.
    pub async fn api(&self, obj: &Value) -> Result<Api<DynamicObject>, String> {
        let (ar, caps) = self.lookup(obj).await?;
        Ok(match caps.scope {
            Scope::Namespaced => Api::namespaced_with(
                self.client.clone(),
                obj["metadata"]["namespace"].as_str().unwrap_or_default(),
                &ar,
            ),
            Scope::Cluster => Api::all_with(self.client.clone(), &ar),
        })
    }

    /// The live object, if any.
    pub async fn live(&self, obj: &Value) -> Result<Option<Value>, String> {
        let api = self.api(obj).await?;
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        api.get_opt(name)
            .await
            .map(|o| o.and_then(|o| serde_json::to_value(o).ok()))
            .map_err(|e| {
                format!(
                    "could not get information about the resource {}: {e}",
                    resource_string(obj)
                )
            })
    }
}

/// `(group, kind, namespace, name)`: how upgrade matches old and new.
pub fn identity(obj: &Value) -> (String, String, String, String) {
    let text = |p: &str| {
        obj.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    (
        inventory::group_of(&text("/apiVersion")).to_string(),
        text("/kind"),
        text("/metadata/namespace"),
        text("/metadata/name"),
    )
}

/// Objects of `old` missing from `new` (by identity).
pub fn removed(old: &[Value], new: &[Value]) -> Vec<Value> {
    let keep: BTreeMap<_, ()> = new.iter().map(|o| (identity(o), ())).collect();
    old.iter()
        .filter(|o| !keep.contains_key(&identity(o)))
        .cloned()
        .collect()
}
