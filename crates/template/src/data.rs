//! Flux's commit-template data model built from the run's inputs: v1's
//! `.AutomationObject`, `.Changed` and `.Values`, and the legacy `.Updated`
//! of v1beta1/v1beta2 (Flux ≤ v0.41 `pkg/update`), with the Go type names,
//! field order and embedding that decide map-key order, printing and error
//! texts. The input shape is the template-oracle's, so the same JSON feeds both.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::imageref::{ImageRef, ImageRefError};
use crate::value::{Value, embedded, field, make_struct};

/// The automation object (`.AutomationObject`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutomationRef {
    pub name: String,
    pub namespace: String,
}

/// An ImagePolicy's `status.latestRef`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatestRef {
    pub name: String,
    pub tag: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub digest: String,
}

impl LatestRef {
    /// What the full `ns:name` setter writes (image-reflector's `ImageRef.String()`).
    pub fn image(&self) -> String {
        if self.digest.is_empty() {
            format!("{}:{}", self.name, self.tag)
        } else {
            format!("{}:{}@{}", self.name, self.tag, self.digest)
        }
    }
}

/// The object (document) a change was made in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    #[serde(default)]
    pub api_version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: String,
}

/// One rewritten field, in document order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// Relative to `spec.update.path`.
    pub file: String,
    pub object: ObjectRef,
    pub old_value: String,
    pub new_value: String,
    /// The marker, e.g. `flux-system:podinfo:tag`.
    pub setter: String,
}

/// Everything a commit message can show.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateData {
    pub automation: AutomationRef,
    /// `spec.git.commit.messageTemplateValues`; `None` is Go's nil map.
    #[serde(default)]
    pub values: Option<BTreeMap<String, String>>,
    /// `ns/name` → the policy's latest image.
    #[serde(default)]
    pub policies: BTreeMap<String, LatestRef>,
    #[serde(default)]
    pub changes: Vec<Change>,
}

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum DataError {
    #[error(transparent)]
    InvalidImageRef(#[from] ImageRefError),
}

const CHANGE_LIST: &str = "[]update.Change";
const OBJECT_CHANGES: &str = "update.ObjectChanges";
const IMAGE_LIST: &str = "[]update.imageRef";
const IMAGE_MAP: &str = "map[update.ObjectIdentifier][]update.imageRef";

fn s(x: &str) -> Value {
    Value::str(x)
}

fn namespaced_name(namespace: &str, name: &str) -> Value {
    make_struct(
        "types.NamespacedName",
        vec![field("Namespace", s(namespace)), field("Name", s(name))],
        vec![("String", s(&format!("{namespace}/{name}")))],
        Some(format!("{namespace}/{name}")),
    )
}

fn object_identifier(o: &ObjectRef) -> Value {
    let type_meta = make_struct(
        "yaml.TypeMeta",
        vec![
            field("APIVersion", s(&o.api_version)),
            field("Kind", s(&o.kind)),
        ],
        vec![],
        None,
    );
    let name_meta = make_struct(
        "yaml.NameMeta",
        vec![
            field("Name", s(&o.name)),
            field("Namespace", s(&o.namespace)),
        ],
        vec![],
        None,
    );
    let resource = make_struct(
        "yaml.ResourceIdentifier",
        vec![
            embedded("TypeMeta", type_meta),
            embedded("NameMeta", name_meta),
        ],
        vec![],
        None,
    );
    make_struct(
        "update.ObjectIdentifier",
        vec![embedded("ResourceIdentifier", resource)],
        vec![],
        None,
    )
}

fn change_value(c: &Change) -> Value {
    make_struct(
        "update.Change",
        vec![
            field("OldValue", s(&c.old_value)),
            field("NewValue", s(&c.new_value)),
            field("Setter", s(&c.setter)),
        ],
        vec![],
        None,
    )
}

fn image_value(r: &ImageRef, policy: (&str, &str)) -> Value {
    let private = |name: &'static str, v: &str| crate::value::Field {
        name,
        value: s(v),
        embedded: false,
        exported: false,
    };
    make_struct(
        "update.imageRef",
        vec![
            private("original", &r.original),
            private("registry", &r.registry),
            private("repository", &r.repository),
            private("tag", &r.tag),
            private("digest", &r.digest),
            crate::value::Field {
                name: "policy",
                value: namespaced_name(policy.0, policy.1),
                embedded: false,
                exported: false,
            },
        ],
        vec![
            ("String", s(&r.original)),
            ("Registry", s(&r.registry)),
            ("Repository", s(&r.repository)),
            ("Identifier", s(r.identifier())),
            ("Name", s(&r.name())),
            ("Policy", namespaced_name(policy.0, policy.1)),
        ],
        Some(r.original.clone()),
    )
}

/// Groups items by file (sorted), then object (first appearance), keeping list order.
struct Grouped<T> {
    files: BTreeMap<String, Vec<(ObjectRef, Vec<T>)>>,
}

impl<T> Grouped<T> {
    fn new() -> Self {
        Grouped {
            files: BTreeMap::new(),
        }
    }

    fn push(&mut self, file: &str, obj: &ObjectRef, item: T) {
        let objs = self.files.entry(file.to_string()).or_default();
        match objs.iter_mut().find(|(o, _)| o == obj) {
            Some((_, list)) => list.push(item),
            None => objs.push((obj.clone(), vec![item])),
        }
    }

    fn walk(&self) -> impl Iterator<Item = (&ObjectRef, &T)> {
        self.files
            .values()
            .flat_map(|objs| objs.iter().flat_map(|(o, l)| l.iter().map(move |t| (o, t))))
    }

    /// Per-object lists concatenated across files, in walk order.
    fn merged(&self) -> Vec<(ObjectRef, Vec<&T>)> {
        let mut out: Vec<(ObjectRef, Vec<&T>)> = Vec::new();
        for (o, t) in self.walk() {
            match out.iter_mut().find(|(x, _)| x == o) {
                Some((_, l)) => l.push(t),
                None => out.push((o.clone(), vec![t])),
            }
        }
        out
    }
}

fn changed(changes: &[Change]) -> Value {
    let mut g = Grouped::new();
    for c in changes {
        g.push(&c.file, &c.object, c);
    }
    let file_changes = if changes.is_empty() {
        Value::nil_map(
            "map[string]update.ObjectChanges",
            Value::nil_map(OBJECT_CHANGES, Value::nil_list(CHANGE_LIST)),
        )
    } else {
        let entries = g
            .files
            .iter()
            .map(|(file, objs)| {
                let inner = objs
                    .iter()
                    .map(|(o, l)| {
                        (
                            object_identifier(o),
                            Value::list(CHANGE_LIST, l.iter().map(|c| change_value(c)).collect()),
                        )
                    })
                    .collect();
                (
                    s(file),
                    Value::map(OBJECT_CHANGES, Value::nil_list(CHANGE_LIST), inner),
                )
            })
            .collect();
        Value::map(
            "map[string]update.ObjectChanges",
            Value::nil_map(OBJECT_CHANGES, Value::nil_list(CHANGE_LIST)),
            entries,
        )
    };
    let mut unique: Vec<&Change> = Vec::new();
    for (_, c) in g.walk() {
        let same = |u: &&Change| {
            u.old_value == c.old_value && u.new_value == c.new_value && u.setter == c.setter
        };
        if !unique.iter().any(same) {
            unique.push(c);
        }
    }
    let changes_value = if unique.is_empty() {
        Value::nil_list(CHANGE_LIST)
    } else {
        Value::list(CHANGE_LIST, unique.into_iter().map(change_value).collect())
    };
    let objects = Value::map(
        OBJECT_CHANGES,
        Value::nil_list(CHANGE_LIST),
        g.merged()
            .into_iter()
            .map(|(o, l)| {
                (
                    object_identifier(&o),
                    Value::list(
                        CHANGE_LIST,
                        l.into_iter().map(|c| change_value(c)).collect(),
                    ),
                )
            })
            .collect(),
    );
    make_struct(
        "update.Result",
        vec![field("FileChanges", file_changes)],
        vec![("Changes", changes_value), ("Objects", objects)],
        None,
    )
}

/// An image with its policy's namespace and name.
type Img = (ImageRef, (String, String));

/// The ImageRef Flux v1beta2 attached to a change: every setter of a policy
/// records that policy's full latest image. Without the policy, only a full
/// `ns:name` marker resolves, from the value written.
fn legacy_ref(data: &TemplateData, c: &Change) -> Result<Option<Img>, ImageRefError> {
    let parts: Vec<&str> = c.setter.split(':').collect();
    if parts.len() < 2 || parts.len() > 3 {
        return Ok(None);
    }
    let policy = (parts[0].to_string(), parts[1].to_string());
    if let Some(latest) = data.policies.get(&format!("{}/{}", parts[0], parts[1])) {
        return ImageRef::parse(&latest.image()).map(|r| Some((r, policy)));
    }
    if parts.len() == 2 {
        return Ok(ImageRef::parse(&c.new_value).ok().map(|r| (r, policy)));
    }
    Ok(None)
}

fn updated(data: &TemplateData) -> Result<Value, DataError> {
    let mut g: Grouped<Img> = Grouped::new();
    for c in &data.changes {
        let Some(r) = legacy_ref(data, c)? else {
            continue;
        };
        let dup = g
            .files
            .get(&c.file)
            .and_then(|objs| objs.iter().find(|(o, _)| *o == c.object))
            .is_some_and(|(_, l)| l.contains(&r));
        if !dup {
            g.push(&c.file, &c.object, r);
        }
    }
    // Objects keep document order: where the object first appears in the
    // file, even through a change that recorded no image.
    let first_seen = |file: &str, o: &ObjectRef| {
        data.changes
            .iter()
            .position(|c| c.file == file && c.object == *o)
            .unwrap_or(usize::MAX)
    };
    for (file, objs) in g.files.iter_mut() {
        objs.sort_by_key(|(o, _)| first_seen(file, o));
    }
    let img = |(r, p): &Img| image_value(r, (&p.0, &p.1));
    let file_result = |objects: Value| {
        make_struct(
            "update.FileResult",
            vec![field("Objects", objects)],
            vec![],
            None,
        )
    };
    let files = Value::map(
        "map[string]update.FileResult",
        file_result(Value::nil_map(IMAGE_MAP, Value::nil_list(IMAGE_LIST))),
        g.files
            .iter()
            .map(|(file, objs)| {
                let objects = Value::map(
                    IMAGE_MAP,
                    Value::nil_list(IMAGE_LIST),
                    objs.iter()
                        .map(|(o, l)| {
                            (
                                object_identifier(o),
                                Value::list(IMAGE_LIST, l.iter().map(img).collect()),
                            )
                        })
                        .collect(),
                );
                (s(file), file_result(objects))
            })
            .collect(),
    );
    let mut images: Vec<&Img> = Vec::new();
    for (_, r) in g.walk() {
        if !images.contains(&r) {
            images.push(r);
        }
    }
    let images = if images.is_empty() {
        Value::nil_list(IMAGE_LIST)
    } else {
        Value::list(IMAGE_LIST, images.into_iter().map(img).collect())
    };
    let objects = Value::map(
        IMAGE_MAP,
        Value::nil_list(IMAGE_LIST),
        g.merged()
            .into_iter()
            .map(|(o, l)| {
                (
                    object_identifier(&o),
                    Value::list(IMAGE_LIST, l.into_iter().map(img).collect()),
                )
            })
            .collect(),
    );
    Ok(make_struct(
        "update.Result",
        vec![field("Files", files)],
        vec![("Images", images), ("Objects", objects)],
        None,
    ))
}

/// Builds the template's dot. `legacy` adds `.Updated` (v1beta1/v1beta2).
pub fn build(data: &TemplateData, legacy: bool) -> Result<Value, DataError> {
    let a = &data.automation;
    let values = match &data.values {
        None => Value::nil_map("map[string]string", s("")),
        Some(m) => Value::map(
            "map[string]string",
            s(""),
            m.iter().map(|(k, v)| (s(k), s(v))).collect(),
        ),
    };
    // Flux validates every policy image before rendering, whatever the API version.
    let legacy_value = updated(data)?;
    let mut fields = vec![field(
        "AutomationObject",
        namespaced_name(&a.namespace, &a.name),
    )];
    if legacy {
        fields.push(field("Updated", legacy_value));
    }
    fields.push(field("Changed", changed(&data.changes)));
    fields.push(field("Values", values));
    Ok(make_struct("source.TemplateData", fields, vec![], None))
}
