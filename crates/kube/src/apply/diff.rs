//! Drift: the comparison that decides `configured` over `unchanged`
//! (`hasDrifted`), and `diff` for `ferroflux diff` and drift reports
//! (`pkg/ssa manager_diff.go`): a server-side dry-run per object, the live
//! and merged objects returned when they differ, Secret values masked.

use futures_util::StreamExt;
use serde_json::{Map, Value};

use super::IgnoreRule;
use super::ignore::Compiled;
use super::{
    APPLY_EXCLUSIONS, Action, ApplyError, ChangeSetEntry, Desired, IF_NOT_PRESENT, ResourceManager,
    dry_run_error, should_force_with,
};
use crate::inventory::{self, ObjMetadata, any_in_metadata};

/// Whether the dry-run result differs from the live object: labels,
/// annotations, or anything outside `metadata` and `status` (absent and
/// empty maps are equal, as in Go's semantic equality).
pub(crate) fn drifted(live: &Value, dry_run: &Value) -> bool {
    if dry_run["metadata"]["resourceVersion"].is_null() {
        return true;
    }
    for field in ["labels", "annotations"] {
        if map_of(&live["metadata"][field]) != map_of(&dry_run["metadata"][field]) {
            return true;
        }
    }
    without_metadata_and_status(live) != without_metadata_and_status(dry_run)
}

/// [`drifted`] with the ignored paths (selected by the dry-run object)
/// removed from both sides first.
pub(crate) fn drifted_with(live: &Value, dry_run: &Value, ignore: &Compiled) -> bool {
    if ignore.is_empty() {
        return drifted(live, dry_run);
    }
    let (mut a, mut b) = (live.clone(), dry_run.clone());
    ignore.strip(dry_run, &mut a);
    ignore.strip(dry_run, &mut b);
    drifted(&a, &b)
}

fn map_of(v: &Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn without_metadata_and_status(v: &Value) -> Map<String, Value> {
    let mut m = map_of(v);
    m.remove("metadata");
    m.remove("status");
    if v["kind"] == "HorizontalPodAutoscaler" && v["apiVersion"] == "autoscaling/v2" {
        dedupe_metrics(&mut m);
    }
    m
}

/// [`dedupe_metrics`] of an `autoscaling/v2` HPA (dry-run result).
pub(crate) fn dedupe_hpa_metrics(obj: &mut Map<String, Value>) {
    if obj.get("kind").and_then(Value::as_str) == Some("HorizontalPodAutoscaler")
        && obj.get("apiVersion").and_then(Value::as_str) == Some("autoscaling/v2")
    {
        dedupe_metrics(obj);
    }
}

/// Kubernetes < 1.27 returns an HPA from a dry-run with its first metric
/// repeated and an empty one appended; Flux compares without them.
fn dedupe_metrics(hpa: &mut Map<String, Value>) {
    let Some(metrics) = hpa
        .get_mut("spec")
        .and_then(|s| s.get_mut("metrics"))
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    let mut kept: Vec<Value> = Vec::with_capacity(metrics.len());
    for m in metrics.drain(..) {
        let typed = m["type"].as_str().is_some_and(|t| !t.is_empty());
        if typed && !kept.contains(&m) {
            kept.push(m);
        }
    }
    *metrics = kept;
}

/// Dry-runs of a diff in flight at once (Flux's `--concurrent-ssa` default).
const DIFF_CONCURRENCY: usize = 4;

/// How to diff.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// `spec.force`: an immutable-field change reads as `created`.
    pub force: bool,
    /// `spec.ignore`: fields left out of drift detection and of the diff.
    pub drift_ignore_rules: Vec<IgnoreRule>,
}

/// One object's diff: the entry (`created`, `configured` when drifted,
/// `unchanged`, `skipped`) and, when drifted, the live and merged objects
/// without managedFields, Secret `data` masked.
#[derive(Debug, Clone, PartialEq)]
pub struct Drift {
    pub entry: ChangeSetEntry,
    pub live: Option<Value>,
    pub merged: Option<Value>,
}

/// The diffs of the objects that could be diffed, and the errors of the
/// others (every object is tried).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiffReport {
    pub drifts: Vec<Drift>,
    pub errors: Vec<ApplyError>,
}

impl DiffReport {
    /// Whether anything would be created or changed.
    pub fn changed(&self) -> bool {
        self.drifts
            .iter()
            .any(|d| matches!(d.entry.action, Action::Created | Action::Configured))
    }
}

/// Flux's Secret masking: values equal on both sides become `***`,
/// differing ones `*** (before)` and `*** (after)`, one-sided ones `***`.
pub fn mask_secret_data(live: &mut Value, merged: &mut Value) {
    let old = live["data"].as_object().cloned();
    let new = merged["data"].as_object().cloned();
    let mask = |v: &mut Value, key: &str, text: &str| {
        if let Some(m) = v["data"].as_object_mut() {
            m.insert(key.to_string(), text.into());
        }
    };
    for (k, ov) in old.iter().flatten() {
        match new.as_ref().and_then(|n| n.get(k)) {
            Some(nv) if nv != ov => {
                mask(live, k, "*** (before)");
                mask(merged, k, "*** (after)");
            }
            Some(_) => {
                mask(live, k, "***");
                mask(merged, k, "***");
            }
            None => mask(live, k, "***"),
        }
    }
    for k in new.iter().flatten().map(|(k, _)| k) {
        if !old.as_ref().is_some_and(|o| o.contains_key(k)) {
            mask(merged, k, "***");
        }
    }
}

impl ResourceManager {
    /// Server-side dry-runs of `objects` against the live cluster, one by
    /// one; nothing is written.
    pub async fn diff(&self, objects: Vec<Value>, opts: &DiffOptions) -> DiffReport {
        let mut report = DiffReport::default();
        let ignore = match Compiled::new(&opts.drift_ignore_rules) {
            Ok(c) => c,
            Err(e) => {
                report.errors.push(e);
                return report;
            }
        };
        let mut desired = Vec::with_capacity(objects.len());
        for (i, o) in objects.into_iter().enumerate() {
            match Desired::new(o, i) {
                Ok(d) => desired.push(d),
                Err(e) => report.errors.push(e),
            }
        }
        desired.sort_by(|a, b| inventory::compare(&a.meta, &b.meta));
        let ignore = &ignore;
        let results: Vec<Result<Drift, ApplyError>> = futures_util::stream::iter(desired)
            .map(|d| async move { self.diff_one(&d, opts, ignore).await })
            .buffered(DIFF_CONCURRENCY)
            .collect()
            .await;
        for r in results {
            match r {
                Ok(drift) => report.drifts.push(drift),
                Err(e) => report.errors.push(e),
            }
        }
        report
    }

    async fn diff_one(
        &self,
        desired: &Desired,
        opts: &DiffOptions,
        ignore: &Compiled,
    ) -> Result<Drift, ApplyError> {
        let api = self.api_for(desired).await?;
        let live = self.get(&api, desired).await?;
        let plain = |entry| Drift {
            entry,
            live: None,
            merged: None,
        };
        let entry_of = |source: &Value, action| {
            let version = inventory::version_of(source["apiVersion"].as_str().unwrap_or_default())
                .to_string();
            let meta = ObjMetadata::from_object(source, 0).unwrap_or_else(|_| desired.meta.clone());
            ChangeSetEntry::new(source, &meta, &version, action)
        };
        let excluded = any_in_metadata(&desired.object, APPLY_EXCLUSIONS)
            || live
                .as_ref()
                .is_some_and(|l| any_in_metadata(l, APPLY_EXCLUSIONS));
        let present = live.is_some() && any_in_metadata(&desired.object, IF_NOT_PRESENT);
        if excluded || present {
            return Ok(plain(entry_of(
                live.as_ref().unwrap_or(&desired.object),
                Action::Skipped,
            )));
        }
        let dry_run = match self.write(&api, desired, true).await {
            Ok(v) => v,
            Err(e) => {
                let force = should_force_with(&desired.object, live.as_ref(), opts.force, &e);
                if force {
                    return Ok(plain(entry_of(&desired.object, Action::Created)));
                }
                return Err(dry_run_error(desired, &e));
            }
        };
        let Some(mut live) = live.filter(|_| !dry_run["metadata"]["resourceVersion"].is_null())
        else {
            return Ok(plain(entry_of(&dry_run, Action::Created)));
        };
        if !drifted_with(&live, &dry_run, ignore) {
            return Ok(plain(entry_of(&dry_run, Action::Unchanged)));
        }
        ignore.strip(&dry_run, &mut live);
        let mut merged = dry_run.clone();
        ignore.strip(&dry_run, &mut merged);
        for v in [&mut live, &mut merged] {
            if let Some(m) = v["metadata"].as_object_mut() {
                m.remove("managedFields");
            }
        }
        if merged["kind"] == "Secret" && merged["apiVersion"] == "v1" {
            mask_secret_data(&mut live, &mut merged);
            // kubectl's copy of the whole Secret would give the values away.
            for v in [&mut live, &mut merged] {
                if let Some(a) = v["metadata"]["annotations"].as_object_mut() {
                    a.remove("kubectl.kubernetes.io/last-applied-configuration");
                }
            }
        }
        Ok(Drift {
            entry: entry_of(&desired.object, Action::Configured),
            live: Some(live),
            merged: Some(merged),
        })
    }
}
