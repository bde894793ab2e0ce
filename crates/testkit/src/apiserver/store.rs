//! The in-memory object store: resources (built-in and registered from
//! CustomResourceDefinitions), objects keyed by group, resource, namespace
//! and name, a global monotonic `resourceVersion`, and the event history
//! that watches replay from.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::patch;
use super::selector::Selector;

/// Errors as the apiserver reports them: each maps to a `Status` body.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Error {
    #[error("{resource} \"{name}\" not found")]
    NotFound { resource: String, name: String },
    #[error("{resource} \"{name}\" already exists")]
    AlreadyExists { resource: String, name: String },
    #[error(
        "Operation cannot be fulfilled on {resource} \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
    )]
    Conflict { resource: String, name: String },
    #[error("{message}")]
    BadRequest { message: String },
    #[error("{resource} \"{name}\" is invalid: {message}")]
    Invalid {
        resource: String,
        name: String,
        message: String,
    },
    #[error("the server does not allow this method on the requested resource")]
    MethodNotAllowed,
}

impl Error {
    pub fn code(&self) -> u16 {
        match self {
            Error::NotFound { .. } => 404,
            Error::AlreadyExists { .. } | Error::Conflict { .. } => 409,
            Error::BadRequest { .. } => 400,
            Error::Invalid { .. } => 422,
            Error::MethodNotAllowed => 405,
        }
    }

    pub fn reason(&self) -> &'static str {
        match self {
            Error::NotFound { .. } => "NotFound",
            Error::AlreadyExists { .. } => "AlreadyExists",
            Error::Conflict { .. } => "Conflict",
            Error::BadRequest { .. } => "BadRequest",
            Error::Invalid { .. } => "Invalid",
            Error::MethodNotAllowed => "MethodNotAllowed",
        }
    }

    /// The `Status` object the apiserver sends with this error.
    pub fn status(&self) -> Value {
        let mut details = Map::new();
        match self {
            Error::NotFound { resource, name }
            | Error::AlreadyExists { resource, name }
            | Error::Conflict { resource, name }
            | Error::Invalid { resource, name, .. } => {
                let (kind, group) = resource.split_once('.').unwrap_or((resource, ""));
                details.insert("name".into(), json!(name));
                if !group.is_empty() {
                    details.insert("group".into(), json!(group));
                }
                details.insert("kind".into(), json!(kind));
            }
            _ => {}
        }
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.to_string(),
            "reason": self.reason(),
            "code": self.code(),
        });
        if !details.is_empty() {
            status["details"] = Value::Object(details);
        }
        status
    }
}

/// A printer column of a resource (`additionalPrinterColumns`).
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub type_: String,
    pub json_path: String,
    pub priority: i64,
    pub description: String,
}

/// One served resource at one group/version.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceDef {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub status_subresource: bool,
    /// `metadata.generation` is kept (bumped on changes outside metadata and status).
    pub generation: bool,
    pub columns: Vec<Column>,
    /// The OpenAPI v3 schema (from a CRD), served under `/openapi/v3`.
    pub schema: Option<Value>,
    pub deprecation_warning: Option<String>,
    /// Set for resources registered from a CustomResourceDefinition.
    pub crd: Option<String>,
}

impl ResourceDef {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `plural.group`, as error messages name a resource.
    pub fn group_resource(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Event {
    pub rv: u64,
    pub group: String,
    pub plural: String,
    pub type_: EventType,
    pub object: Value,
}

/// Which part of an object a write may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Main,
    Status,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    Merge,
    Strategic,
    Json,
    Apply,
}

/// Who writes, and whether to keep the result.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    pub manager: Option<String>,
    pub dry_run: bool,
}

type Key = (String, String);

pub struct Store {
    rv: u64,
    uid_seq: u64,
    resources: Vec<ResourceDef>,
    objects: BTreeMap<Key, BTreeMap<Key, Value>>,
    history: Vec<Event>,
}

pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    rfc3339(secs)
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (Howard Hinnant's
/// civil-from-days).
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Everything but `metadata` and `status`: what bumps `generation`.
fn spec_part(obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Value::Object(m) = &mut v {
        for k in ["metadata", "status", "apiVersion", "kind"] {
            m.remove(k);
        }
    }
    v
}

fn str_at<'a>(obj: &'a Value, a: &str, b: &str) -> &'a str {
    obj[a][b].as_str().unwrap_or_default()
}

impl Store {
    pub fn new(resources: Vec<ResourceDef>) -> Store {
        let mut store = Store {
            rv: 0,
            uid_seq: 0,
            resources,
            objects: BTreeMap::new(),
            history: Vec::new(),
        };
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let res = store.find("", "v1", "namespaces").cloned();
            if let Some(res) = res {
                let body =
                    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
                let _ = store.create(&res, None, body, &WriteOptions::default());
            }
        }
        store
    }

    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    pub fn resources(&self) -> &[ResourceDef] {
        &self.resources
    }

    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<&ResourceDef> {
        self.resources
            .iter()
            .find(|r| r.group == group && r.version == version && r.plural == plural)
    }

    /// Events after history index `from`, and the next index.
    pub fn events_since(&self, from: usize) -> (&[Event], usize) {
        let from = from.min(self.history.len());
        (&self.history[from..], self.history.len())
    }

    /// History index of the first event with a resourceVersion above `rv`.
    pub fn history_index_after(&self, rv: u64) -> usize {
        self.history.partition_point(|e| e.rv <= rv)
    }

    fn next_uid(&mut self) -> String {
        self.uid_seq += 1;
        let mut h = Sha256::new();
        h.update(self.uid_seq.to_le_bytes());
        h.update(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
                .to_le_bytes(),
        );
        let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        format!(
            "{}-{}-4{}-a{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[13..16],
            &hex[17..20],
            &hex[20..32]
        )
    }

    /// The object as served at `res`'s version.
    pub fn present(res: &ResourceDef, obj: &Value) -> Value {
        let mut v = obj.clone();
        v["apiVersion"] = json!(res.api_version());
        v["kind"] = json!(res.kind);
        v
    }

    fn bucket(&self, res: &ResourceDef) -> Option<&BTreeMap<Key, Value>> {
        self.objects.get(&(res.group.clone(), res.plural.clone()))
    }

    fn key(res: &ResourceDef, ns: Option<&str>, name: &str) -> Key {
        let ns = if res.namespaced {
            ns.unwrap_or_default()
        } else {
            ""
        };
        (ns.to_string(), name.to_string())
    }

    pub fn get(&self, res: &ResourceDef, ns: Option<&str>, name: &str) -> Result<Value, Error> {
        self.bucket(res)
            .and_then(|b| b.get(&Self::key(res, ns, name)))
            .map(|o| Self::present(res, o))
            .ok_or_else(|| Error::NotFound {
                resource: res.group_resource(),
                name: name.to_string(),
            })
    }

    pub fn list(
        &self,
        res: &ResourceDef,
        ns: Option<&str>,
        labels: &Selector,
        fields: &Selector,
    ) -> Vec<Value> {
        self.bucket(res)
            .into_iter()
            .flat_map(|b| b.iter())
            .filter(|((ons, _), _)| !res.namespaced || ns.is_none_or(|n| n == ons))
            .filter(|(_, o)| labels.matches_labels(o) && fields.matches_fields(o))
            .map(|(_, o)| Self::present(res, o))
            .collect()
    }

    fn namespace_exists(&self, ns: &str) -> bool {
        self.objects
            .get(&(String::new(), "namespaces".to_string()))
            .is_some_and(|b| b.contains_key(&(String::new(), ns.to_string())))
    }

    fn record_event(&mut self, res: &ResourceDef, type_: EventType, obj: &Value) {
        self.history.push(Event {
            rv: self.rv,
            group: res.group.clone(),
            plural: res.plural.clone(),
            type_,
            object: obj.clone(),
        });
    }

    fn bump(&mut self, obj: &mut Value) {
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
    }

    fn record_manager(
        obj: &mut Value,
        manager: Option<&str>,
        operation: &str,
        res: &ResourceDef,
        part: Part,
        fields: Value,
    ) {
        let Some(manager) = manager else { return };
        let entry = {
            let mut e = json!({
                "manager": manager,
                "operation": operation,
                "apiVersion": res.api_version(),
                "time": now_rfc3339(),
                "fieldsType": "FieldsV1",
                "fieldsV1": fields,
            });
            if part == Part::Status {
                e["subresource"] = json!("status");
            }
            e
        };
        let list = obj["metadata"]
            .as_object_mut()
            .map(|m| m.entry("managedFields").or_insert_with(|| json!([])));
        if let Some(Value::Array(list)) = list {
            let same = |e: &Value| {
                e["manager"] == entry["manager"]
                    && e["operation"] == entry["operation"]
                    && e.get("subresource") == entry.get("subresource")
            };
            match list.iter_mut().find(|e| same(e)) {
                Some(e) => *e = entry,
                None => list.push(entry),
            }
        }
    }

    pub fn create(
        &mut self,
        res: &ResourceDef,
        ns: Option<&str>,
        mut body: Value,
        opts: &WriteOptions,
    ) -> Result<Value, Error> {
        if !body.is_object() {
            return Err(Error::BadRequest {
                message: "the body of the request was not a JSON object".into(),
            });
        }
        if !body["metadata"].is_object() {
            body["metadata"] = json!({});
        }
        let mut name = str_at(&body, "metadata", "name").to_string();
        if name.is_empty() {
            let prefix = str_at(&body, "metadata", "generateName").to_string();
            if prefix.is_empty() {
                return Err(Error::Invalid {
                    resource: res.group_resource(),
                    name: String::new(),
                    message: "metadata.name: Required value: name or generateName is required"
                        .into(),
                });
            }
            let uid = self.next_uid();
            name = format!("{prefix}{}", &uid[..5]);
            body["metadata"]["name"] = json!(name);
        }
        let body_ns = str_at(&body, "metadata", "namespace").to_string();
        let ns = if res.namespaced {
            let ns = ns.map(str::to_string).unwrap_or(body_ns.clone());
            if !body_ns.is_empty() && body_ns != ns {
                return Err(Error::BadRequest {
                    message: "the namespace of the provided object does not match the namespace sent on the request".into(),
                });
            }
            if ns.is_empty() {
                return Err(Error::BadRequest {
                    message: "an empty namespace may not be set during creation".into(),
                });
            }
            if !self.namespace_exists(&ns) {
                return Err(Error::NotFound {
                    resource: "namespaces".into(),
                    name: ns,
                });
            }
            body["metadata"]["namespace"] = json!(ns);
            Some(ns)
        } else {
            if let Some(m) = body["metadata"].as_object_mut() {
                m.remove("namespace");
            }
            None
        };
        let key = Self::key(res, ns.as_deref(), &name);
        if self.bucket(res).is_some_and(|b| b.contains_key(&key)) {
            return Err(Error::AlreadyExists {
                resource: res.group_resource(),
                name,
            });
        }
        if res.crd.is_none() && res.group == "apiextensions.k8s.io" {
            crd_status(&mut body, &res.group_resource(), &name)?;
        } else if res.status_subresource
            && let Some(m) = body.as_object_mut()
        {
            m.remove("status");
        }
        let meta = body["metadata"]
            .as_object_mut()
            .expect("metadata is an object");
        for k in [
            "resourceVersion",
            "deletionTimestamp",
            "managedFields",
            "generation",
        ] {
            meta.remove(k);
        }
        let uid = self.next_uid();
        body["metadata"]["uid"] = json!(uid);
        body["metadata"]["creationTimestamp"] = json!(now_rfc3339());
        if res.generation {
            body["metadata"]["generation"] = json!(1);
        }
        let fields = patch::fields_v1(&spec_part(&body));
        Self::record_manager(
            &mut body,
            opts.manager.as_deref(),
            "Update",
            res,
            Part::Main,
            fields,
        );
        body = Self::present(res, &body);
        if opts.dry_run {
            return Ok(body);
        }
        self.bump(&mut body);
        self.objects
            .entry((res.group.clone(), res.plural.clone()))
            .or_default()
            .insert(key, body.clone());
        self.record_event(res, EventType::Added, &body);
        if res.crd.is_none() && res.group == "apiextensions.k8s.io" {
            self.register_crd(&body);
        }
        Ok(body)
    }

    /// PUT: replace the object (or only its status).
    pub fn update(
        &mut self,
        res: &ResourceDef,
        ns: Option<&str>,
        name: &str,
        body: Value,
        part: Part,
        opts: &WriteOptions,
    ) -> Result<Value, Error> {
        self.write(res, ns, name, body, part, opts, "Update", None)
    }

    #[allow(clippy::too_many_arguments)]
    fn write(
        &mut self,
        res: &ResourceDef,
        ns: Option<&str>,
        name: &str,
        mut body: Value,
        part: Part,
        opts: &WriteOptions,
        operation: &str,
        applied: Option<&Value>,
    ) -> Result<Value, Error> {
        let old = self.get(res, ns, name)?;
        if !body.is_object() {
            return Err(Error::BadRequest {
                message: "the body of the request was not a JSON object".into(),
            });
        }
        let body_name = str_at(&body, "metadata", "name");
        if !body_name.is_empty() && body_name != name {
            return Err(Error::BadRequest {
                message: format!(
                    "the name of the object ({body_name}) does not match the name on the URL ({name})"
                ),
            });
        }
        let want_rv = str_at(&body, "metadata", "resourceVersion");
        if !want_rv.is_empty() && want_rv != str_at(&old, "metadata", "resourceVersion") {
            return Err(Error::Conflict {
                resource: res.group_resource(),
                name: name.to_string(),
            });
        }
        let mut new = match part {
            Part::Status => {
                let mut n = old.clone();
                match body.get("status") {
                    Some(s) => n["status"] = s.clone(),
                    None => {
                        if let Some(m) = n.as_object_mut() {
                            m.remove("status");
                        }
                    }
                }
                n
            }
            Part::Main => {
                if !body["metadata"].is_object() {
                    body["metadata"] = json!({});
                }
                if res.status_subresource {
                    match old.get("status") {
                        Some(s) => body["status"] = s.clone(),
                        None => {
                            if let Some(m) = body.as_object_mut() {
                                m.remove("status");
                            }
                        }
                    }
                }
                for k in [
                    "uid",
                    "creationTimestamp",
                    "namespace",
                    "generation",
                    "deletionTimestamp",
                    "managedFields",
                ] {
                    match old["metadata"].get(k) {
                        Some(v) => body["metadata"][k] = v.clone(),
                        None => {
                            if let Some(m) = body["metadata"].as_object_mut() {
                                m.remove(k);
                            }
                        }
                    }
                }
                body["metadata"]["name"] = json!(name);
                body
            }
        };
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"].clone();
        new = Self::present(res, &new);
        if res.generation && spec_part(&new) != spec_part(&old) {
            let g = old["metadata"]["generation"].as_i64().unwrap_or(0);
            new["metadata"]["generation"] = json!(g + 1);
        }
        if res.crd.is_none() && res.group == "apiextensions.k8s.io" && part == Part::Main {
            crd_status(&mut new, &res.group_resource(), name)?;
        }
        let fields = match applied {
            Some(a) => patch::fields_v1(a),
            None => patch::fields_v1(&match part {
                Part::Main => spec_part(&new),
                Part::Status => {
                    json!({"status": new.get("status").cloned().unwrap_or(Value::Null)})
                }
            }),
        };
        if new == old && operation != "Apply" {
            return Ok(old);
        }
        Self::record_manager(
            &mut new,
            opts.manager.as_deref(),
            operation,
            res,
            part,
            fields,
        );
        let finalizers_gone = new["metadata"]["finalizers"]
            .as_array()
            .is_none_or(|f| f.is_empty());
        if opts.dry_run {
            return Ok(new);
        }
        if !new["metadata"]["deletionTimestamp"].is_null() && finalizers_gone {
            return self.remove(res, ns, name);
        }
        self.bump(&mut new);
        let key = Self::key(res, ns, name);
        self.objects
            .entry((res.group.clone(), res.plural.clone()))
            .or_default()
            .insert(key, new.clone());
        self.record_event(res, EventType::Modified, &new);
        if res.crd.is_none() && res.group == "apiextensions.k8s.io" {
            self.register_crd(&new);
        }
        Ok(new)
    }

    #[allow(clippy::too_many_arguments)]
    pub fn patch(
        &mut self,
        res: &ResourceDef,
        ns: Option<&str>,
        name: &str,
        kind: PatchKind,
        patch_body: Value,
        part: Part,
        opts: &WriteOptions,
    ) -> Result<Value, Error> {
        let old = match self.get(res, ns, name) {
            Ok(o) => o,
            Err(Error::NotFound { .. }) if kind == PatchKind::Apply && part == Part::Main => {
                let mut body = patch_body.clone();
                if !body["metadata"].is_object() {
                    body["metadata"] = json!({});
                }
                body["metadata"]["name"] = json!(name);
                let created = self.create(
                    res,
                    ns,
                    body,
                    &WriteOptions {
                        manager: None,
                        dry_run: opts.dry_run,
                    },
                )?;
                if opts.dry_run {
                    return Ok(created);
                }
                // Record the applier as the owner of what it applied.
                return self.write(
                    res,
                    ns,
                    name,
                    created,
                    part,
                    opts,
                    "Apply",
                    Some(&patch_body),
                );
            }
            Err(e) => return Err(e),
        };
        let mut new = match kind {
            PatchKind::Merge | PatchKind::Apply => {
                let mut n = old.clone();
                patch::merge(&mut n, &patch_body);
                n
            }
            PatchKind::Strategic => {
                let mut p = patch_body.clone();
                patch::strip_directives(&mut p);
                let mut n = old.clone();
                patch::merge(&mut n, &p);
                n
            }
            PatchKind::Json => {
                patch::json_patch(&old, &patch_body).map_err(|e| Error::Invalid {
                    resource: res.group_resource(),
                    name: name.to_string(),
                    message: e.to_string(),
                })?
            }
        };
        // A patch without a resourceVersion is unconditional.
        if patch_body["metadata"]["resourceVersion"].is_null() {
            new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"].clone();
        }
        let operation = if kind == PatchKind::Apply {
            "Apply"
        } else {
            "Update"
        };
        let applied = (kind == PatchKind::Apply).then_some(&patch_body);
        self.write(res, ns, name, new, part, opts, operation, applied)
    }

    fn remove(&mut self, res: &ResourceDef, ns: Option<&str>, name: &str) -> Result<Value, Error> {
        let key = Self::key(res, ns, name);
        let mut obj = self
            .objects
            .get_mut(&(res.group.clone(), res.plural.clone()))
            .and_then(|b| b.remove(&key))
            .ok_or_else(|| Error::NotFound {
                resource: res.group_resource(),
                name: name.to_string(),
            })?;
        self.bump(&mut obj);
        let obj = Self::present(res, &obj);
        self.record_event(res, EventType::Deleted, &obj);
        if res.crd.is_none() && res.group == "apiextensions.k8s.io" {
            self.unregister_crd(name);
        }
        Ok(obj)
    }

    /// DELETE: objects with finalizers get a `deletionTimestamp` and stay
    /// until an update empties `metadata.finalizers`.
    pub fn delete(
        &mut self,
        res: &ResourceDef,
        ns: Option<&str>,
        name: &str,
        opts: &WriteOptions,
    ) -> Result<Value, Error> {
        let old = self.get(res, ns, name)?;
        if opts.dry_run {
            return Ok(old);
        }
        let has_finalizers = old["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty());
        if !has_finalizers {
            return self.remove(res, ns, name);
        }
        if !old["metadata"]["deletionTimestamp"].is_null() {
            return Ok(old);
        }
        let mut new = old;
        new["metadata"]["deletionTimestamp"] = json!(now_rfc3339());
        new["metadata"]["deletionGracePeriodSeconds"] = json!(0);
        self.bump(&mut new);
        let key = Self::key(res, ns, name);
        self.objects
            .entry((res.group.clone(), res.plural.clone()))
            .or_default()
            .insert(key, new.clone());
        self.record_event(res, EventType::Modified, &new);
        Ok(new)
    }

    pub fn delete_collection(
        &mut self,
        res: &ResourceDef,
        ns: Option<&str>,
        labels: &Selector,
        fields: &Selector,
        opts: &WriteOptions,
    ) -> Result<Vec<Value>, Error> {
        let names: Vec<(String, String)> = self
            .list(res, ns, labels, fields)
            .iter()
            .map(|o| {
                (
                    str_at(o, "metadata", "namespace").to_string(),
                    str_at(o, "metadata", "name").to_string(),
                )
            })
            .collect();
        names
            .iter()
            .map(|(ons, name)| self.delete(res, Some(ons.as_str()), name, opts))
            .collect()
    }

    fn register_crd(&mut self, crd: &Value) {
        let name = str_at(crd, "metadata", "name").to_string();
        self.resources
            .retain(|r| r.crd.as_deref() != Some(name.as_str()));
        self.resources.extend(resources_of_crd(crd));
    }

    fn unregister_crd(&mut self, name: &str) {
        let gone: Vec<ResourceDef> = self
            .resources
            .iter()
            .filter(|r| r.crd.as_deref() == Some(name))
            .cloned()
            .collect();
        self.resources.retain(|r| r.crd.as_deref() != Some(name));
        for r in gone {
            self.objects.remove(&(r.group, r.plural));
        }
    }
}

/// What a CRD's served versions add to discovery.
pub fn resources_of_crd(crd: &Value) -> Vec<ResourceDef> {
    let spec = &crd["spec"];
    let names = &spec["names"];
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect()
    };
    let kind = names["kind"].as_str().unwrap_or_default().to_string();
    spec["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["served"].as_bool().unwrap_or(false))
        .map(|v| ResourceDef {
            group: spec["group"].as_str().unwrap_or_default().to_string(),
            version: v["name"].as_str().unwrap_or_default().to_string(),
            kind: kind.clone(),
            plural: names["plural"].as_str().unwrap_or_default().to_string(),
            singular: names["singular"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| kind.to_lowercase()),
            namespaced: spec["scope"] != "Cluster",
            short_names: strings(&names["shortNames"]),
            categories: strings(&names["categories"]),
            status_subresource: !v["subresources"]["status"].is_null(),
            generation: true,
            columns: v["additionalPrinterColumns"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| Column {
                    name: c["name"].as_str().unwrap_or_default().to_string(),
                    type_: c["type"].as_str().unwrap_or("string").to_string(),
                    json_path: c["jsonPath"].as_str().unwrap_or_default().to_string(),
                    priority: c["priority"].as_i64().unwrap_or(0),
                    description: c["description"].as_str().unwrap_or_default().to_string(),
                })
                .collect(),
            schema: v["schema"].get("openAPIV3Schema").cloned(),
            deprecation_warning: v["deprecated"].as_bool().unwrap_or(false).then(|| {
                v["deprecationWarning"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| {
                        format!(
                            "{}/{} {kind} is deprecated",
                            spec["group"].as_str().unwrap_or_default(),
                            v["name"].as_str().unwrap_or_default()
                        )
                    })
            }),
            crd: crd["metadata"]["name"].as_str().map(str::to_string),
        })
        .collect()
}

/// Check the parts of a CRD the fake needs and set the status a real
/// apiserver sets once the names are accepted.
fn crd_status(crd: &mut Value, resource: &str, name: &str) -> Result<(), Error> {
    let invalid = |message: &str| Error::Invalid {
        resource: resource.to_string(),
        name: name.to_string(),
        message: message.to_string(),
    };
    let spec = &crd["spec"];
    let group = spec["group"]
        .as_str()
        .ok_or_else(|| invalid("spec.group: Required value"))?;
    let plural = spec["names"]["plural"]
        .as_str()
        .ok_or_else(|| invalid("spec.names.plural: Required value"))?;
    if spec["names"]["kind"].as_str().is_none() {
        return Err(invalid("spec.names.kind: Required value"));
    }
    if name != format!("{plural}.{group}") {
        return Err(invalid(&format!(
            "metadata.name: Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group"
        )));
    }
    let versions = spec["versions"]
        .as_array()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| invalid("spec.versions: Invalid value: must have exactly one version marked as storage version"))?;
    let storage: Vec<&str> = versions
        .iter()
        .filter(|v| v["storage"].as_bool().unwrap_or(false))
        .filter_map(|v| v["name"].as_str())
        .collect();
    if storage.len() != 1 {
        return Err(invalid(
            "spec.versions: Invalid value: must have exactly one version marked as storage version",
        ));
    }
    let now = now_rfc3339();
    let mut accepted = spec["names"].clone();
    if accepted["singular"].is_null() {
        accepted["singular"] = json!(
            spec["names"]["kind"]
                .as_str()
                .unwrap_or_default()
                .to_lowercase()
        );
    }
    if accepted["listKind"].is_null() {
        accepted["listKind"] = json!(format!(
            "{}List",
            spec["names"]["kind"].as_str().unwrap_or_default()
        ));
    }
    crd["status"] = json!({
        "acceptedNames": accepted,
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
             "message": "no conflicts found", "lastTransitionTime": now},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted", "lastTransitionTime": now},
        ],
        "storedVersions": storage,
    });
    Ok(())
}
