//! Health of a live object as Flux's kustomize-controller judges it: the
//! kstatus rules of Flux's cli-utils fork (`pkg/kstatus/status`), with
//! Flux's own `batch/Job` reader (`pkg/runtime/statusreaders/job.go`: a
//! running Job is still InProgress, a suspended one is Current).
//!
//! Pure: functions over the object as JSON, the clock passed in (a Pending
//! Pod is given 15 s to be scheduled). Statuses and messages are kstatus's,
//! word for word, because they end up in Flux's health-check messages
//! (`timeout waiting for: [Deployment/default/app status: 'InProgress']`).

use std::fmt;

use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde_json::Value;

/// kstatus's status of one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    InProgress,
    Failed,
    Current,
    Terminating,
    NotFound,
    Unknown,
}

impl Status {
    /// The string kstatus prints (`InProgress`, `Current`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::InProgress => "InProgress",
            Status::Failed => "Failed",
            Status::Current => "Current",
            Status::Terminating => "Terminating",
            Status::NotFound => "NotFound",
            Status::Unknown => "Unknown",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The status of one object and kstatus's message for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub status: Status,
    pub message: String,
}

impl Health {
    fn new(status: Status, message: impl Into<String>) -> Self {
        Health {
            status,
            message: message.into(),
        }
    }
    fn current(message: impl Into<String>) -> Self {
        Health::new(Status::Current, message)
    }
    fn in_progress(message: impl Into<String>) -> Self {
        Health::new(Status::InProgress, message)
    }
    fn failed(message: impl Into<String>) -> Self {
        Health::new(Status::Failed, message)
    }
    /// What the wait reports for an object that does not exist.
    pub fn not_found() -> Self {
        Health::new(Status::NotFound, "Resource not found")
    }
}

/// How long kstatus lets a Pod stay unschedulable before it is Failed.
pub const SCHEDULE_WINDOW: SignedDuration = SignedDuration::from_secs(15);

/// The kstatus status of `obj` (a whole object as the apiserver returns
/// it) at time `now`. Malformed status fields give `Unknown` with the
/// reason, as kstatus's reader does when its computation errors.
pub fn compute(obj: &Value, now: Timestamp) -> Health {
    let (group, kind) = group_kind(obj);
    let result = if group == "batch" && kind == "Job" {
        flux_job(obj)
    } else {
        kstatus(obj, group, kind, now)
    };
    result.unwrap_or_else(|e| Health::new(Status::Unknown, e))
}

fn group_kind(obj: &Value) -> (&str, &str) {
    let api_version = obj["apiVersion"].as_str().unwrap_or_default();
    let group = api_version
        .rsplit_once('/')
        .map(|(g, _)| g)
        .unwrap_or_default();
    (group, obj["kind"].as_str().unwrap_or_default())
}

type Computed = Result<Health, String>;

fn kstatus(obj: &Value, group: &str, kind: &str, now: Timestamp) -> Computed {
    if let Some(h) = generic_properties(obj, kind)? {
        return Ok(h);
    }
    let key = if group.is_empty() {
        kind.to_string()
    } else {
        format!("{group}/{kind}")
    };
    match key.as_str() {
        "Service" => Ok(service(obj)),
        "Pod" => pod(obj, now),
        "Secret" | "ConfigMap" | "batch/CronJob" => Ok(Health::current("Resource is always ready")),
        "PersistentVolumeClaim" => Ok(pvc(obj)),
        "apps/StatefulSet" => Ok(statefulset(obj)),
        "apps/DaemonSet" | "extensions/DaemonSet" => daemonset(obj, kind),
        "apps/Deployment" | "extensions/Deployment" => deployment(obj),
        "apps/ReplicaSet" | "extensions/ReplicaSet" => replicaset(obj),
        "policy/PodDisruptionBudget" => {
            Ok(Health::current("AllowedDisruptions has been computed."))
        }
        "apiextensions.k8s.io/CustomResourceDefinition" => crd(obj),
        _ => Ok(ready_condition(obj)?.unwrap_or_else(|| Health::current("Resource is current"))),
    }
}

/// One entry of `status.conditions`, as kstatus decodes it.
#[derive(Debug, Default)]
struct Condition<'a> {
    kind: &'a str,
    status: &'a str,
    reason: &'a str,
    message: &'a str,
}

fn conditions(obj: &Value) -> Result<Vec<Condition<'_>>, String> {
    let list = match &obj["status"]["conditions"] {
        Value::Null => return Ok(Vec::new()),
        Value::Array(list) => list,
        _ => return Err("status.conditions is not a list".into()),
    };
    let mut out = Vec::with_capacity(list.len());
    for (i, c) in list.iter().enumerate() {
        let Value::Object(c) = c else {
            return Err(format!("status.conditions[{i}] is not an object"));
        };
        out.push(Condition {
            kind: condition_field(c, i, "type")?,
            status: condition_field(c, i, "status")?,
            reason: condition_field(c, i, "reason")?,
            message: condition_field(c, i, "message")?,
        });
    }
    Ok(out)
}

fn condition_field<'a>(
    c: &'a serde_json::Map<String, Value>,
    i: usize,
    name: &str,
) -> Result<&'a str, String> {
    match c.get(name) {
        None | Some(Value::Null) => Ok(""),
        Some(Value::String(s)) => Ok(s.as_str()),
        Some(_) => Err(format!("status.conditions[{i}].{name} is not a string")),
    }
}

/// kstatus's `GetIntField`: the integer at `path`, else `default` (also
/// when the field holds another type).
fn int_field(obj: &Value, path: &[&str], default: i64) -> i64 {
    path.iter()
        .try_fold(obj, |v, k| v.get(k))
        .and_then(Value::as_i64)
        .unwrap_or(default)
}

fn str_field<'a>(obj: &'a Value, path: &[&str], default: &'a str) -> &'a str {
    path.iter()
        .try_fold(obj, |v, k| v.get(k))
        .and_then(Value::as_str)
        .unwrap_or(default)
}

/// `unstructured.NestedInt64`: absent is `None`, another type an error.
fn nested_int(obj: &Value, path: &[&str]) -> Result<Option<i64>, String> {
    match path.iter().try_fold(obj, |v, k| v.get(k)) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| {
            format!(
                "looking up {} from resource: not an integer",
                path.join(".")
            )
        }),
    }
}

fn generic_properties(obj: &Value, kind: &str) -> Result<Option<Health>, String> {
    if !str_field(obj, &["metadata", "deletionTimestamp"], "").is_empty() {
        return Ok(Some(Health::new(
            Status::Terminating,
            "Resource scheduled for deletion",
        )));
    }
    if let Some(h) = generation_observed(obj, kind)? {
        return Ok(Some(h));
    }
    for c in conditions(obj)? {
        if c.kind == "Reconciling" && c.status == "True" {
            return Ok(Some(Health::in_progress(c.message)));
        }
        if c.kind == "Stalled" && c.status == "True" {
            return Ok(Some(Health::failed(c.message)));
        }
    }
    Ok(None)
}

fn generation_observed(obj: &Value, kind: &str) -> Result<Option<Health>, String> {
    let Some(generation) = nested_int(obj, &["metadata", "generation"])? else {
        return Ok(None);
    };
    match nested_int(obj, &["status", "observedGeneration"])? {
        Some(observed) if observed != generation => Ok(Some(Health::in_progress(format!(
            "{kind} generation is {generation}, but latest observed generation is {observed}"
        )))),
        _ => Ok(None),
    }
}

fn ready_condition(obj: &Value) -> Result<Option<Health>, String> {
    for c in conditions(obj)? {
        if c.kind != "Ready" {
            continue;
        }
        match c.status {
            "True" => return Ok(Some(Health::current("Resource is Ready"))),
            "False" | "Unknown" => return Ok(Some(Health::in_progress(c.message))),
            _ => {}
        }
    }
    Ok(None)
}

fn service(obj: &Value) -> Health {
    let kind = str_field(obj, &["spec", "type"], "ClusterIP");
    if kind == "LoadBalancer" && str_field(obj, &["spec", "clusterIP"], "").is_empty() {
        return Health::in_progress("ClusterIP not set. Service type: LoadBalancer");
    }
    Health::current("Service is ready")
}

fn pvc(obj: &Value) -> Health {
    let phase = str_field(obj, &["status", "phase"], "unknown");
    if phase != "Bound" {
        return Health::in_progress(format!("PVC is not Bound. phase: {phase}"));
    }
    Health::current("PVC is Bound")
}

fn pod(obj: &Value, now: Timestamp) -> Computed {
    let conds = conditions(obj)?;
    let phase = str_field(obj, &["status", "phase"], "");
    Ok(match phase {
        "Succeeded" => Health::current("Pod has completed successfully"),
        "Failed" => Health::current("Pod has completed, but not successfully"),
        "Running" => {
            if conds
                .iter()
                .any(|c| c.kind == "Ready" && c.status == "True")
            {
                return Ok(Health::current("Pod is Ready"));
            }
            let looping = crash_looping_containers(obj);
            if !looping.is_empty() {
                return Ok(Health::failed(format!(
                    "Containers in CrashLoop state: {}",
                    looping.join(",")
                )));
            }
            Health::in_progress("Pod is running but is not Ready")
        }
        "Pending" => {
            let unschedulable = conds.iter().any(|c| {
                c.kind == "PodScheduled" && c.status == "False" && c.reason == "Unschedulable"
            });
            if !unschedulable {
                return Ok(Health::in_progress("Pod is in the Pending phase"));
            }
            // A missing or unreadable timestamp is Go's zero time: long ago.
            let created = str_field(obj, &["metadata", "creationTimestamp"], "")
                .parse::<Timestamp>()
                .unwrap_or(Timestamp::MIN);
            let window_start = now
                .saturating_sub(SCHEDULE_WINDOW)
                .unwrap_or(Timestamp::MIN);
            if window_start < created {
                Health::in_progress("Pod has not been scheduled")
            } else {
                Health::failed("Pod could not be scheduled")
            }
        }
        "" => Health::in_progress("Pod phase not available"),
        other => return Err(format!("unknown phase {other}")),
    })
}

fn crash_looping_containers(obj: &Value) -> Vec<&str> {
    obj["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|cs| cs["state"]["waiting"]["reason"] == "CrashLoopBackOff")
        .filter_map(|cs| cs["name"].as_str())
        .collect()
}

fn statefulset(obj: &Value) -> Health {
    if str_field(obj, &["spec", "updateStrategy", "type"], "") == "OnDelete" {
        return Health::current("StatefulSet is using the ondelete update strategy");
    }
    let spec = int_field(obj, &["spec", "replicas"], 1);
    let ready = int_field(obj, &["status", "readyReplicas"], 0);
    let current = int_field(obj, &["status", "currentReplicas"], 0);
    let updated = int_field(obj, &["status", "updatedReplicas"], 0);
    let replicas = int_field(obj, &["status", "replicas"], 0);
    let partition = int_field(
        obj,
        &["spec", "updateStrategy", "rollingUpdate", "partition"],
        -1,
    );
    if spec > replicas {
        return Health::in_progress(format!("Replicas: {replicas}/{spec}"));
    }
    if spec > ready {
        return Health::in_progress(format!("Ready: {ready}/{spec}"));
    }
    if replicas > spec {
        return Health::in_progress(format!(
            "Pending termination: {}",
            replicas.saturating_sub(spec)
        ));
    }
    if partition != -1 {
        let want = spec.saturating_sub(partition);
        if updated < want {
            return Health::in_progress(format!("updated: {updated}/{want}"));
        }
        return Health::current(format!("Partition rollout complete. updated: {updated}"));
    }
    if spec > current {
        return Health::in_progress(format!("current: {current}/{spec}"));
    }
    let current_rev = str_field(obj, &["status", "currentRevision"], "");
    let update_rev = str_field(obj, &["status", "updateRevision"], "");
    if current_rev != update_rev {
        return Health::in_progress("Waiting for updated revision to match current");
    }
    Health::current(format!(
        "All replicas scheduled as expected. Replicas: {replicas}"
    ))
}

fn deployment(obj: &Value) -> Computed {
    const NO_DEADLINE: i64 = i32::MAX as i64;
    let mut progressing =
        int_field(obj, &["spec", "progressDeadlineSeconds"], NO_DEADLINE) == NO_DEADLINE;
    let mut available = false;
    for c in conditions(obj)? {
        match c.kind {
            "Progressing" => {
                if c.reason == "ProgressDeadlineExceeded" {
                    return Ok(Health::failed("Progress deadline exceeded"));
                }
                if c.status == "True" && c.reason == "NewReplicaSetAvailable" {
                    progressing = true;
                }
            }
            "Available" if c.status == "True" => available = true,
            _ => {}
        }
    }
    let spec = int_field(obj, &["spec", "replicas"], 1);
    let replicas = int_field(obj, &["status", "replicas"], 0);
    let updated = int_field(obj, &["status", "updatedReplicas"], 0);
    let ready = int_field(obj, &["status", "readyReplicas"], 0);
    let avail = int_field(obj, &["status", "availableReplicas"], 0);
    Ok(if spec > replicas {
        Health::in_progress(format!("Replicas: {replicas}/{spec}"))
    } else if spec > updated {
        Health::in_progress(format!("Updated: {updated}/{spec}"))
    } else if replicas > spec {
        Health::in_progress(format!(
            "Pending termination: {}",
            replicas.saturating_sub(spec)
        ))
    } else if updated > avail {
        Health::in_progress(format!("Available: {avail}/{updated}"))
    } else if spec > ready {
        Health::in_progress(format!("Ready: {ready}/{spec}"))
    } else if !progressing {
        Health::in_progress("ReplicaSet not Available")
    } else if !available {
        Health::in_progress("Deployment not Available")
    } else {
        Health::current(format!("Deployment is available. Replicas: {replicas}"))
    })
}

fn replicaset(obj: &Value) -> Computed {
    if conditions(obj)?
        .iter()
        .any(|c| c.kind == "ReplicaFailure" && c.status == "True")
    {
        return Ok(Health::in_progress("Replica Failure condition. Check Pods"));
    }
    let spec = int_field(obj, &["spec", "replicas"], 1);
    let replicas = int_field(obj, &["status", "replicas"], 0);
    let ready = int_field(obj, &["status", "readyReplicas"], 0);
    let avail = int_field(obj, &["status", "availableReplicas"], 0);
    let labelled = int_field(obj, &["status", "fullyLabeledReplicas"], 0);
    Ok(if spec > labelled {
        Health::in_progress(format!("Labelled: {labelled}/{spec}"))
    } else if spec > avail {
        Health::in_progress(format!("Available: {avail}/{spec}"))
    } else if spec > ready {
        Health::in_progress(format!("Ready: {ready}/{spec}"))
    } else if replicas > spec {
        Health::in_progress(format!(
            "Pending termination: {}",
            replicas.saturating_sub(spec)
        ))
    } else {
        Health::current(format!("ReplicaSet is available. Replicas: {replicas}"))
    })
}

fn daemonset(obj: &Value, kind: &str) -> Computed {
    // The daemonset controller always sets both: until it has, it has not
    // acted on the object.
    if nested_int(obj, &["metadata", "generation"])?.is_none() {
        return Ok(Health::in_progress(format!(
            "{kind} metadata.generation not found"
        )));
    }
    if nested_int(obj, &["status", "observedGeneration"])?.is_none() {
        return Ok(Health::in_progress(format!(
            "{kind} status.observedGeneration not found"
        )));
    }
    let desired = int_field(obj, &["status", "desiredNumberScheduled"], -1);
    let current = int_field(obj, &["status", "currentNumberScheduled"], 0);
    let updated = int_field(obj, &["status", "updatedNumberScheduled"], 0);
    let avail = int_field(obj, &["status", "numberAvailable"], 0);
    let ready = int_field(obj, &["status", "numberReady"], 0);
    Ok(if desired == -1 {
        Health::in_progress("Missing .status.desiredNumberScheduled")
    } else if desired > current {
        Health::in_progress(format!("Current: {current}/{desired}"))
    } else if desired > updated {
        Health::in_progress(format!("Updated: {updated}/{desired}"))
    } else if desired > avail {
        Health::in_progress(format!("Available: {avail}/{desired}"))
    } else if desired > ready {
        Health::in_progress(format!("Ready: {ready}/{desired}"))
    } else {
        Health::current(format!(
            "All replicas scheduled as expected. Replicas: {desired}"
        ))
    })
}

fn crd(obj: &Value) -> Computed {
    for c in conditions(obj)? {
        if c.kind == "NamesAccepted" && c.status == "False" {
            return Ok(Health::failed(c.message));
        }
        if c.kind == "Established" {
            if c.status == "False" && c.reason != "Installing" {
                return Ok(Health::failed(c.message));
            }
            if c.status == "True" {
                return Ok(Health::current("CRD is established"));
            }
        }
    }
    Ok(Health::in_progress("Install in progress"))
}

/// Flux's Job reader: no generic pre-checks; Current only once complete
/// (or suspended), so that `wait` waits for the Job to finish.
fn flux_job(obj: &Value) -> Computed {
    if obj["spec"]["suspend"] == Value::Bool(true) {
        return Ok(Health::current("Job is suspended"));
    }
    let parallelism = int_field(obj, &["spec", "parallelism"], 1);
    let completions = int_field(obj, &["spec", "completions"], parallelism);
    let active = int_field(obj, &["status", "active"], 0);
    let succeeded = int_field(obj, &["status", "succeeded"], 0);
    let failed = int_field(obj, &["status", "failed"], 0);
    for c in conditions(obj)? {
        match (c.kind, c.status) {
            ("Complete", "True") => {
                return Ok(Health::current(format!(
                    "Job Completed. succeeded: {succeeded}/{completions}"
                )));
            }
            ("Failed", "True") => {
                return Ok(Health::failed(format!(
                    "Job Failed. failed: {failed}/{completions}"
                )));
            }
            _ => {}
        }
    }
    if str_field(obj, &["status", "startTime"], "").is_empty() {
        return Ok(Health::in_progress(format!(
            "Job not started. active: 0/{parallelism}"
        )));
    }
    Ok(Health::in_progress(format!(
        "Job in progress. success:{succeeded}, active: {active}, failed: {failed}"
    )))
}

#[cfg(test)]
mod tests;
