//! Server-side apply as kustomize-controller does it (Flux's `pkg/ssa`
//! `ResourceManager`): staged apply (definitions, classes, custom kinds,
//! the rest; definitions and classes waited for), one server-side dry-run
//! per object to decide `created`/`configured`/`unchanged` before any
//! write, recreation of objects with immutable-field changes when forced,
//! the `ssa`/`reconcile`/`force` labels and annotations, the cleanup of
//! kubectl's field managers, drift reports for `diff`, prune and the
//! health wait.
//!
//! Objects are JSON (`serde_json::Value`) as kustomize builds them; their
//! kinds are found by discovery, so CRDs applied in the first stage serve
//! their custom resources in the last. Messages are Flux's (`Deployment/
//! default/app dry-run failed (Invalid): …`, `timeout waiting for: […]`)
//! and never carry a Secret's values.

mod changeset;
mod cleanup;
mod delete;
mod diff;
mod ignore;
mod jsondiff;
mod wait;

use crate::kinds::KindError;
use std::time::Duration;

use futures_util::StreamExt;
use kube::Client;
use kube::api::{Api, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kube::discovery::{ApiCapabilities, ApiResource, Scope};
use serde_json::Value;

use crate::inventory::{
    self, FORCE_KEY, InventoryError, ObjMetadata, ObjRef, RECONCILE_KEY, SSA_KEY, Stage,
    any_in_metadata,
};

pub use changeset::{Action, ChangeSet, ChangeSetEntry};
pub use cleanup::{FieldManager, Operation, cleanup_patch, default_field_managers};
pub use delete::DeleteOptions;
pub use diff::{DiffOptions, DiffReport, Drift, mask_secret_data};
pub use ignore::{IgnoreRule, IgnoreTarget};
pub use jsondiff::{DiffType, JsonDiff, JsonDiffOptions, JsonDiffSet};
pub use wait::{CustomHealth, WaitOptions, health_check_failed_message};

/// Flux's field manager.
pub const DEFAULT_FIELD_MANAGER: &str = "kustomize-controller";

/// Objects not applied: `reconcile: disabled` or `ssa: Ignore` on the
/// desired or the live object.
pub const APPLY_EXCLUSIONS: &[(&str, &str)] = &[(RECONCILE_KEY, "disabled"), (SSA_KEY, "Ignore")];
/// Objects created but never patched once they exist.
pub const IF_NOT_PRESENT: &[(&str, &str)] = &[(SSA_KEY, "IfNotPresent")];
/// Objects recreated on immutable-field changes.
pub const FORCE_SELECTOR: &[(&str, &str)] = &[(FORCE_KEY, "enabled")];
/// Objects whose managedFields and legacy metadata are left alone.
pub const CLEANUP_EXCLUSIONS: &[(&str, &str)] = &[(SSA_KEY, "Merge")];

/// How to apply a set of objects.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Recreate objects whose change touches an immutable field
    /// (`spec.force`); objects can also ask with `force: enabled`.
    pub force: bool,
    /// Poll interval of the stage waits and of a forced delete.
    pub wait_interval: Duration,
    /// How long definitions and classes get to become Current, and a
    /// forced delete to finish.
    pub wait_timeout: Duration,
    /// `(group, kind)` pairs applied in a stage of their own before the
    /// rest (`--custom-apply-stage-kinds`).
    pub custom_stage_kinds: Vec<(String, String)>,
    /// Field managers whose fields are handed to ours (4.6 of the notes).
    pub cleanup_field_managers: Vec<FieldManager>,
    /// Dry-runs in flight at once (`--concurrent-ssa`).
    pub concurrency: usize,
    /// `spec.ignore`: fields left out of drift detection.
    pub drift_ignore_rules: Vec<IgnoreRule>,
    /// Rewrite every managedFields entry of a live object to the applied
    /// apiVersion first (Flux's `MigrateAPIVersion` gate): after a CRD
    /// adds a version with defaulted fields, entries of the old version
    /// make the apply fail with "field not declared in schema".
    pub migrate_api_version: bool,
    /// Objects the caller just read and found missing, as
    /// `(group, kind, namespace, name)` (Helm's install checks every
    /// object before it writes one): written without being read and
    /// dry-run again first, as Helm creates them.
    pub known_absent: Vec<(String, String, String, String)>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            force: false,
            wait_interval: Duration::from_secs(2),
            wait_timeout: Duration::from_secs(60),
            custom_stage_kinds: Vec::new(),
            cleanup_field_managers: default_field_managers(DEFAULT_FIELD_MANAGER, &[]),
            concurrency: 4,
            drift_ignore_rules: Vec::new(),
            migrate_api_version: false,
            known_absent: Vec::new(),
        }
    }
}

/// Everything that can go wrong; each message names the object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Object(#[from] InventoryError),
    /// A `spec.ignore` rule that does not compile.
    #[error("{0}")]
    IgnoreRule(String),
    #[error("{subject} dry-run failed{reason}: {message}", reason = reason_suffix(.reason))]
    DryRun {
        subject: String,
        reason: String,
        message: String,
    },
    #[error("{subject} namespace not specified: {message}")]
    NamespaceNotSpecified { subject: String, message: String },
    #[error("{subject} not found: {message}")]
    NotFound { subject: String, message: String },
    #[error("{subject} immutable field detected, failed to delete object: {message}")]
    ForceDelete { subject: String, message: String },
    #[error(
        "{subject} immutable field detected, failed to wait for object to be deleted: {message}"
    )]
    ForceWait { subject: String, message: String },
    #[error(
        "{subject} failed to migrate API version: failed to migrate managed fields API version to {api_version}: {message}"
    )]
    Migrate {
        subject: String,
        api_version: String,
        message: String,
    },
    #[error("{subject} metadata.managedFields cleanup failed: {message}")]
    Cleanup { subject: String, message: String },
    #[error("{subject} apply failed: {message}")]
    Apply { subject: String, message: String },
    #[error("{subject} query failed: {message}")]
    Query { subject: String, message: String },
    #[error("{subject} delete failed: {message}")]
    Delete { subject: String, message: String },
    /// Every failed delete of a prune, each followed by `;`.
    #[error("delete failed, errors: {0}")]
    DeleteAll(String),
    /// `timeout waiting for: […]`, `failed early due to stalled resources: […]`.
    #[error("{message}")]
    Wait { message: String, elapsed: Duration },
}

fn reason_suffix(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(" ({reason})")
    }
}

/// An apply or a prune that stopped: the entries of what was done (the
/// stages applied before; the objects deleted or skipped), and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct ApplyFailure {
    pub change_set: ChangeSet,
    pub error: ApplyError,
}

/// Applies, diffs, deletes and waits for objects of one cluster as one
/// field manager.
pub struct ResourceManager {
    client: Client,
    field_manager: String,
    kinds: crate::kinds::KindCache,
}

impl std::fmt::Debug for ResourceManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceManager")
            .field("field_manager", &self.field_manager)
            .finish_non_exhaustive()
    }
}

/// One object as the apply sees it: what we want, its identity and
/// subject, and where it lives.
struct Desired {
    object: Value,
    meta: ObjMetadata,
    api_version: String,
}

impl Desired {
    fn new(mut object: Value, index: usize) -> Result<Self, ApplyError> {
        let meta = ObjMetadata::from_object(&object, index)?;
        let api_version = object["apiVersion"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        remove_invalid_ca_bundle(&mut object);
        // The apiserver computes these; a payload carrying them is refused.
        if let Some(m) = object["metadata"].as_object_mut() {
            for key in [
                "resourceVersion",
                "uid",
                "managedFields",
                "creationTimestamp",
            ] {
                m.remove(key);
            }
        }
        normalize(&mut object, &meta);
        // Flux's normalisation: status is the cluster's, except a CRD's.
        if let Some(m) = object
            .as_object_mut()
            .filter(|_| meta.kind != "CustomResourceDefinition")
        {
            m.remove("status");
        }
        Ok(Desired {
            object,
            meta,
            api_version,
        })
    }
    fn subject(&self) -> String {
        self.meta.subject()
    }
    fn version(&self) -> &str {
        inventory::version_of(&self.api_version)
    }
}

/// What phase A decided for one object.
enum Plan {
    Done(ChangeSetEntry),
    Write(ChangeSetEntry, Box<(Desired, Api<DynamicObject>)>),
}

impl ResourceManager {
    /// A manager writing as `kustomize-controller`.
    pub fn new(client: Client) -> Self {
        ResourceManager {
            kinds: crate::kinds::KindCache::new(client.clone()),
            client,
            field_manager: DEFAULT_FIELD_MANAGER.into(),
        }
    }

    /// The same, sharing the kinds `kinds` found (a cache of the same
    /// client's cluster).
    pub fn with_kinds(mut self, kinds: crate::kinds::KindCache) -> Self {
        self.kinds = kinds;
        self
    }

    /// The kinds this manager found, to share.
    pub fn kinds(&self) -> &crate::kinds::KindCache {
        &self.kinds
    }

    /// The same, writing as `field_manager`.
    pub fn with_field_manager(mut self, field_manager: &str) -> Self {
        self.field_manager = field_manager.into();
        self
    }

    pub fn field_manager(&self) -> &str {
        &self.field_manager
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// `ApplyAllStaged`: definitions (CRDs, Namespaces, ClusterRoles)
    /// applied and waited for, then classes likewise, then the custom
    /// stage, then the rest; each stage in Flux's order. On error the
    /// change set holds the stages applied before.
    pub async fn apply_all_staged(
        &self,
        objects: Vec<Value>,
        opts: &ApplyOptions,
    ) -> Result<ChangeSet, ApplyFailure> {
        self.apply_all_staged_written(objects, opts)
            .await
            .map(|(change_set, _)| change_set)
    }

    /// [`ResourceManager::apply_all_staged`], with the objects as the
    /// apiserver answered each write (created or configured; unchanged
    /// and skipped ones were not written): what a wait can judge before
    /// it reads them again.
    pub async fn apply_all_staged_written(
        &self,
        objects: Vec<Value>,
        opts: &ApplyOptions,
    ) -> Result<(ChangeSet, Vec<Value>), ApplyFailure> {
        let mut written = Vec::new();
        let mut change_set = ChangeSet::default();
        let fail = |change_set: &ChangeSet, error| ApplyFailure {
            change_set: change_set.clone(),
            error,
        };
        let ignore =
            ignore::Compiled::new(&opts.drift_ignore_rules).map_err(|e| fail(&change_set, e))?;
        let mut stages: [Vec<Desired>; 4] = Default::default();
        for (i, o) in objects.into_iter().enumerate() {
            let d = Desired::new(o, i).map_err(|e| fail(&change_set, e))?;
            let kind = d.meta.kind.clone();
            let slot = match inventory::stage(&d.api_version, &kind, &opts.custom_stage_kinds) {
                Stage::Definitions => 0,
                Stage::Classes => 1,
                Stage::Custom => 2,
                Stage::Resources => 3,
            };
            stages[slot].push(d);
        }
        for (slot, stage) in stages.into_iter().enumerate() {
            // The last stage always runs, as Flux's does, even when empty.
            if stage.is_empty() && slot != 3 {
                continue;
            }
            let (cs, mut answers) = self
                .apply_all(stage, opts, &ignore)
                .await
                .map_err(|e| fail(&change_set, e))?;
            let seen = if slot < 2 {
                answers.clone()
            } else {
                Vec::new()
            };
            written.append(&mut answers);
            change_set.entries.extend(cs.entries.iter().cloned());
            if slot < 2 {
                let wait = WaitOptions {
                    interval: opts.wait_interval,
                    timeout: opts.wait_timeout,
                    seen,
                    ..WaitOptions::default()
                };
                self.wait(&cs.objects(), &wait)
                    .await
                    .map_err(|e| fail(&change_set, e))?;
            }
        }
        Ok((change_set, written))
    }

    /// `ApplyAll`: every object dry-run (concurrently), and only if all
    /// dry-runs pass, the new and drifted ones applied, in Flux's order;
    /// with the apiserver's answers to the writes.
    async fn apply_all(
        &self,
        objects: Vec<Desired>,
        opts: &ApplyOptions,
        ignore: &ignore::Compiled,
    ) -> Result<(ChangeSet, Vec<Value>), ApplyError> {
        let mut objects = objects;
        objects.sort_by(|a, b| inventory::compare(&a.meta, &b.meta));
        let plans: Vec<Result<Plan, ApplyError>> =
            futures_util::stream::iter(objects.into_iter().map(|d| self.plan(d, opts, ignore)))
                .buffered(opts.concurrency.max(1))
                .collect()
                .await;
        let plans = plans.into_iter().collect::<Result<Vec<_>, _>>()?;
        let mut change_set = ChangeSet::default();
        let mut written = Vec::new();
        for plan in plans {
            match plan {
                Plan::Done(entry) => change_set.entries.push(entry),
                Plan::Write(entry, boxed) => {
                    let (desired, api) = *boxed;
                    let answer =
                        self.write(&api, &desired, false)
                            .await
                            .map_err(|e| ApplyError::Apply {
                                subject: desired.subject(),
                                message: redact(&desired, &e),
                            })?;
                    written.push(answer);
                    change_set.entries.push(entry);
                }
            }
        }
        Ok((change_set, written))
    }

    /// Phase A for one object: skip rules, dry-run (forced recreation on
    /// an immutable field), metadata cleanup, drift.
    async fn plan(
        &self,
        mut desired: Desired,
        opts: &ApplyOptions,
        ignore: &ignore::Compiled,
    ) -> Result<Plan, ApplyError> {
        let m = &desired.meta;
        let absent = opts.known_absent.iter().any(|(g, k, ns, n)| {
            *g == m.group && *k == m.kind && *ns == m.namespace && *n == m.name
        });
        if absent && skip_entry(&desired, None).is_none() {
            let api = self.api_for(&desired).await?;
            let entry = ChangeSetEntry::new(
                &desired.object,
                &desired.meta,
                desired.version(),
                Action::Created,
            );
            return Ok(Plan::Write(entry, Box::new((desired, api))));
        }
        let (api, live) = match self.api_for(&desired).await {
            Ok(api) => {
                let live = self.get(&api, &desired).await?;
                (api, live)
            }
            Err(e) => return Err(e),
        };
        if let Some(entry) = skip_entry(&desired, live.as_ref()) {
            return Ok(Plan::Done(entry));
        }
        let mut live = live;
        let mut migrated = false;
        if let Some(patch) = live
            .as_ref()
            .filter(|_| opts.migrate_api_version)
            .and_then(|l| migrate_patch(l, &desired.api_version))
        {
            let patched = self.json_patch(&api, &desired, patch).await.map_err(|e| {
                let message = match e {
                    ApplyError::Cleanup { message, .. } => message,
                    other => other.to_string(),
                };
                ApplyError::Migrate {
                    subject: desired.subject(),
                    api_version: desired.api_version.clone(),
                    message,
                }
            })?;
            live = Some(patched);
            migrated = true;
        }
        let dry_run = match self.write(&api, &desired, true).await {
            Ok(v) => v,
            Err(e) if live.is_some() && should_force(&desired, live.as_ref(), opts, &e) => {
                self.force_delete(&api, &desired, opts).await?;
                live = None;
                self.write(&api, &desired, true)
                    .await
                    .map_err(|e| dry_run_error(&desired, &e))?
            }
            Err(e) => {
                if api_code(&e) == Some(404) {
                    // The kind may have gone (a CRD deleted or changed):
                    // discover it afresh next time.
                    self.forget(&desired);
                }
                return Err(dry_run_error(&desired, &e));
            }
        };
        let mut cleaned = migrated;
        let cleanup = live.as_ref().filter(|current| {
            !any_in_metadata(&desired.object, CLEANUP_EXCLUSIONS)
                && !any_in_metadata(current, CLEANUP_EXCLUSIONS)
        });
        if let Some(patch) = cleanup
            .and_then(|c| cleanup_patch(c, &opts.cleanup_field_managers, &self.field_manager))
        {
            live = Some(self.json_patch(&api, &desired, patch).await?);
            cleaned = true;
        }
        let version =
            inventory::version_of(dry_run["apiVersion"].as_str().unwrap_or_default()).to_string();
        let entry = |action| ChangeSetEntry::new(&dry_run, &desired.meta, &version, action);
        let created = live.is_none() || dry_run["metadata"]["resourceVersion"].is_null();
        if created {
            return Ok(Plan::Write(
                entry(Action::Created),
                Box::new((desired, api)),
            ));
        }
        let live = live.unwrap_or_default();
        if cleaned || diff::drifted_with(&live, &dry_run, ignore) {
            let fixes = ignore.fixes(&live, &dry_run, &self.field_manager);
            ignore::apply_fixes(&mut desired.object, &fixes);
            return Ok(Plan::Write(
                entry(Action::Configured),
                Box::new((desired, api)),
            ));
        }
        Ok(Plan::Done(entry(Action::Unchanged)))
    }

    /// The API of an object's kind, found by discovery (and remembered);
    /// namespaced kinds need a namespace, cluster-scoped ones drop theirs.
    async fn api_for(&self, desired: &Desired) -> Result<Api<DynamicObject>, ApplyError> {
        let gvk = GroupVersionKind::gvk(&desired.meta.group, desired.version(), &desired.meta.kind);
        let (ar, caps) = self
            .discover(&gvk)
            .await
            .map_err(|message| ApplyError::DryRun {
                subject: desired.subject(),
                reason: String::new(),
                message,
            })?;
        match caps.scope {
            Scope::Namespaced if desired.meta.namespace.is_empty() => {
                self.forget(desired);
                Err(ApplyError::NamespaceNotSpecified {
                    subject: desired.subject(),
                    message: "the server could not find the requested resource".into(),
                })
            }
            Scope::Namespaced => Ok(Api::namespaced_with(
                self.client.clone(),
                &desired.meta.namespace,
                &ar,
            )),
            Scope::Cluster => Ok(Api::all_with(self.client.clone(), &ar)),
        }
    }

    async fn discover(
        &self,
        gvk: &GroupVersionKind,
    ) -> Result<(ApiResource, ApiCapabilities), String> {
        let api_version = if gvk.group.is_empty() {
            gvk.version.clone()
        } else {
            format!("{}/{}", gvk.group, gvk.version)
        };
        // Before the dry-run fails: a CRD of an earlier stage may be served
        // a moment after it is Established (`KindCache` looks again).
        self.kinds.find(gvk).await.map_err(|e| match e {
            KindError::NotServed => no_match(gvk, &api_version),
            KindError::Failed(other) => format!("discovery of {api_version} failed: {other}"),
        })
    }

    fn forget(&self, desired: &Desired) {
        self.kinds.forget(&GroupVersionKind::gvk(
            &desired.meta.group,
            desired.version(),
            &desired.meta.kind,
        ));
    }

    async fn get(
        &self,
        api: &Api<DynamicObject>,
        desired: &Desired,
    ) -> Result<Option<Value>, ApplyError> {
        let found = api
            .get_opt(&desired.meta.name)
            .await
            .map_err(|e| ApplyError::Query {
                subject: desired.subject(),
                message: redact(desired, &e),
            })?;
        Ok(found.map(|o| to_value(&o)))
    }

    /// One server-side apply, forced, as our field manager.
    async fn write(
        &self,
        api: &Api<DynamicObject>,
        desired: &Desired,
        dry_run: bool,
    ) -> Result<Value, kube::Error> {
        let mut params = PatchParams::apply(&self.field_manager).force();
        params.dry_run = dry_run;
        let mut body = desired.object.clone();
        if let Some(m) = body["metadata"]
            .as_object_mut()
            .filter(|_| api.namespace().is_none())
        {
            m.remove("namespace");
        }
        let out = api
            .patch(&desired.meta.name, &params, &Patch::Apply(&body))
            .await?;
        Ok(to_value(&out))
    }

    async fn json_patch(
        &self,
        api: &Api<DynamicObject>,
        desired: &Desired,
        patch: Value,
    ) -> Result<Value, ApplyError> {
        let failed = |message: String| ApplyError::Cleanup {
            subject: desired.subject(),
            message,
        };
        let patch: json_patch::Patch =
            serde_json::from_value(patch).map_err(|e| failed(e.to_string()))?;
        let params = PatchParams {
            field_manager: Some(self.field_manager.clone()),
            ..PatchParams::default()
        };
        let out = api
            .patch(&desired.meta.name, &params, &Patch::Json::<()>(patch))
            .await
            .map_err(|e| failed(redact(desired, &e)))?;
        Ok(to_value(&out))
    }

    /// Deletes the live object (background propagation) and waits until
    /// it is gone, for a recreation.
    async fn force_delete(
        &self,
        api: &Api<DynamicObject>,
        desired: &Desired,
        opts: &ApplyOptions,
    ) -> Result<(), ApplyError> {
        let params = kube::api::DeleteParams::background();
        match api.delete(&desired.meta.name, &params).await {
            Ok(_) => {}
            Err(e) if api_code(&e) == Some(404) => return Ok(()),
            Err(e) => {
                return Err(ApplyError::ForceDelete {
                    subject: desired.subject(),
                    message: redact(desired, &e),
                });
            }
        }
        let deadline = tokio::time::Instant::now() + opts.wait_timeout;
        loop {
            match api.get_opt(&desired.meta.name).await {
                Ok(None) => return Ok(()),
                Ok(Some(_)) => {}
                Err(e) => {
                    return Err(ApplyError::ForceWait {
                        subject: desired.subject(),
                        message: redact(desired, &e),
                    });
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ApplyError::ForceWait {
                    subject: desired.subject(),
                    message: "context deadline exceeded".into(),
                });
            }
            tokio::time::sleep(opts.wait_interval).await;
        }
    }

    /// The API of an inventory object (for wait and delete).
    async fn api_for_ref(&self, obj: &ObjRef) -> Result<Api<DynamicObject>, String> {
        let gvk = GroupVersionKind::gvk(&obj.meta.group, &obj.version, &obj.meta.kind);
        let (ar, caps) = self.discover(&gvk).await?;
        Ok(match caps.scope {
            Scope::Namespaced => {
                Api::namespaced_with(self.client.clone(), &obj.meta.namespace, &ar)
            }
            Scope::Cluster => Api::all_with(self.client.clone(), &ar),
        })
    }
}

/// The RESTMapper's message for a kind the cluster does not serve.
fn no_match(gvk: &GroupVersionKind, api_version: &str) -> String {
    format!(
        "no matches for kind \"{}\" in version \"{api_version}\"",
        gvk.kind
    )
}

fn to_value(o: &DynamicObject) -> Value {
    serde_json::to_value(o).unwrap_or(Value::Null)
}

/// The JSON Patch rewriting every managedFields entry of `live` to
/// `api_version`, or `None` when all are there already.
pub fn migrate_patch(live: &Value, api_version: &str) -> Option<Value> {
    let entries = live["metadata"]["managedFields"].as_array()?;
    if entries.iter().all(|e| e["apiVersion"] == api_version) {
        return None;
    }
    let rewritten: Vec<Value> = entries
        .iter()
        .map(|e| {
            let mut e = e.clone();
            e["apiVersion"] = api_version.into();
            e
        })
        .collect();
    Some(serde_json::json!([
        {"op": "replace", "path": "/metadata/managedFields", "value": rewritten}
    ]))
}

/// Flux's normalisation of built-in kinds before apply: ports without a
/// protocol get `TCP` (Services and the containers of Pod templates, as
/// the typed round trip does; server-side apply merges ports by port and
/// protocol), and a Secret's `stringData` is merged into `data`.
pub fn normalize(object: &mut Value, meta: &ObjMetadata) {
    let pod_spec = match (meta.group.as_str(), meta.kind.as_str()) {
        ("", "Pod") => Some("/spec"),
        ("apps", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet") | ("batch", "Job") => {
            Some("/spec/template/spec")
        }
        ("batch", "CronJob") => Some("/spec/jobTemplate/spec/template/spec"),
        _ => None,
    };
    let default_tcp = |ports: Option<&mut Value>| {
        for port in ports
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object_mut)
        {
            let missing = port.get("protocol").is_none_or(|p| p.as_str() == Some(""));
            if missing {
                port.insert("protocol".into(), "TCP".into());
            }
        }
    };
    if let Some(path) = pod_spec {
        let containers = object
            .pointer_mut(&format!("{path}/containers"))
            .and_then(Value::as_array_mut);
        for c in containers.into_iter().flatten() {
            default_tcp(c.get_mut("ports"));
        }
    }
    if meta.group.is_empty() && meta.kind == "Service" {
        default_tcp(object.pointer_mut("/spec/ports"));
    }
    if meta.group.is_empty() && meta.kind == "Secret" {
        merge_string_data(object);
    }
}

fn merge_string_data(secret: &mut Value) {
    let Some(map) = secret.as_object_mut() else {
        return;
    };
    let Some(Value::Object(string_data)) = map.remove("stringData") else {
        return;
    };
    let data = map
        .entry("data")
        .or_insert_with(|| Value::Object(serde_json::Map::new()));
    if !data.is_object() {
        *data = Value::Object(serde_json::Map::new());
    }
    for (k, v) in string_data {
        let text = v.as_str().unwrap_or_default();
        data[k.as_str()] = Value::String(encode_base64(text.as_bytes()));
    }
}

fn encode_base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Kubernetes 1.31+ refuses a CRD whose conversion webhook `caBundle`
/// holds no certificate; Flux drops such a field (`RemoveCABundleFromCRD`).
pub fn remove_invalid_ca_bundle(object: &mut Value) {
    let is_crd = object["kind"]
        .as_str()
        .is_some_and(|k| k.eq_ignore_ascii_case("CustomResourceDefinition"))
        && object["apiVersion"]
            .as_str()
            .is_some_and(|v| v.starts_with("apiextensions.k8s.io/"));
    if !is_crd {
        return;
    }
    let Some(config) = object
        .pointer_mut("/spec/conversion/webhook/clientConfig")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let Some(bundle) = config
        .get("caBundle")
        .and_then(Value::as_str)
        .filter(|b| !b.is_empty())
    else {
        return;
    };
    if !decode_base64(bundle).is_some_and(|pem| holds_certificate(&pem)) {
        config.remove("caBundle");
    }
}

/// Whether PEM text holds a certificate block whose body decodes to a
/// DER sequence.
fn holds_certificate(pem: &str) -> bool {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut rest = pem;
    while let Some(start) = rest.find(BEGIN) {
        let after = &rest[start + BEGIN.len()..];
        let Some(end) = after.find(END) else {
            return false;
        };
        let body: String = after[..end].split_whitespace().collect();
        if decode_base64_bytes(&body).is_some_and(|der| der.len() > 16 && der[0] == 0x30) {
            return true;
        }
        rest = &after[end + END.len()..];
    }
    false
}

/// Skipped: `reconcile: disabled` / `ssa: Ignore` on either side, or
/// `ssa: IfNotPresent` on the desired object once it exists. The entry
/// names the live object when there is one.
fn skip_entry(desired: &Desired, live: Option<&Value>) -> Option<ChangeSetEntry> {
    let excluded = any_in_metadata(&desired.object, APPLY_EXCLUSIONS)
        || live.is_some_and(|l| any_in_metadata(l, APPLY_EXCLUSIONS));
    let present = live.is_some() && any_in_metadata(&desired.object, IF_NOT_PRESENT);
    if !(excluded || present) {
        return None;
    }
    let source = live.unwrap_or(&desired.object);
    let meta = ObjMetadata::from_object(source, 0).unwrap_or_else(|_| desired.meta.clone());
    let version = inventory::version_of(source["apiVersion"].as_str().unwrap_or_default());
    Some(ChangeSetEntry::new(source, &meta, version, Action::Skipped))
}

/// The HTTP status of an API error.
fn api_code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

/// kubectl's and Flux's test: 409 Conflict, 422 Invalid, or a message
/// saying a field is immutable (webhooks, CEL rules).
pub fn is_immutable_error(code: Option<u16>, message: &str) -> bool {
    if matches!(code, Some(409 | 422)) {
        return true;
    }
    let words: Vec<&str> = message.split_whitespace().collect();
    words.windows(2).any(|w| {
        (w[0].ends_with("is") && w[1].starts_with("immutable"))
            || (w[0].ends_with("immutable") && w[1].starts_with("field"))
    })
}

fn should_force(
    desired: &Desired,
    live: Option<&Value>,
    opts: &ApplyOptions,
    e: &kube::Error,
) -> bool {
    should_force_with(&desired.object, live, opts.force, e)
}

/// Whether an apply error recreates the object: an immutable-field error
/// and force asked for (`spec.force`, or `force: enabled` on either side).
fn should_force_with(desired: &Value, live: Option<&Value>, force: bool, e: &kube::Error) -> bool {
    let message = match e {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    };
    is_immutable_error(api_code(e), &message)
        && (force
            || any_in_metadata(desired, FORCE_SELECTOR)
            || live.is_some_and(|l| any_in_metadata(l, FORCE_SELECTOR)))
}

fn dry_run_error(desired: &Desired, e: &kube::Error) -> ApplyError {
    let subject = desired.subject();
    let message = redact(desired, e);
    match e {
        kube::Error::Api(s) if s.code == 404 => {
            if desired.meta.namespace.is_empty() {
                ApplyError::NamespaceNotSpecified { subject, message }
            } else {
                ApplyError::NotFound { subject, message }
            }
        }
        kube::Error::Api(s) => {
            let conflict = s
                .details
                .as_ref()
                .is_some_and(|d| d.causes.iter().any(|c| c.reason == "FieldManagerConflict"));
            ApplyError::DryRun {
                subject,
                reason: if conflict {
                    "FieldManagerConflict".into()
                } else {
                    s.reason.clone()
                },
                message,
            }
        }
        _ => ApplyError::DryRun {
            subject,
            reason: String::new(),
            message,
        },
    }
}

/// The error's text with every value of a Secret's `data`/`stringData`
/// (and their decoded forms) replaced by `***`.
fn redact(desired: &Desired, e: &kube::Error) -> String {
    let message = match e {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    };
    redact_secret_values(&desired.object, message)
}

/// Removes the values of a Secret from `text` (not for other kinds).
pub fn redact_secret_values(object: &Value, text: String) -> String {
    if object["kind"] != "Secret" {
        return text;
    }
    let mut values: Vec<String> = Vec::new();
    for field in ["data", "stringData"] {
        if let Some(map) = object[field].as_object() {
            for v in map.values().filter_map(Value::as_str) {
                values.push(v.to_string());
                if let Some(plain) = decode_base64(v).filter(|_| field == "data") {
                    values.push(plain);
                }
            }
        }
    }
    // Longest first, so that a value containing another goes whole.
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    values
        .into_iter()
        .filter(|v| v.len() >= 3)
        .fold(text, |t, v| t.replace(&v, "***"))
}

fn decode_base64(s: &str) -> Option<String> {
    decode_base64_bytes(s).and_then(|b| String::from_utf8(b).ok())
}

fn decode_base64_bytes(s: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits: u32 = 0;
    let mut n = 0;
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c)?;
        bits = (bits << 6) | u32::try_from(v).ok()?;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push(u8::try_from((bits >> n) & 0xff).ok()?);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests;
