//! One HelmRelease run against a cluster, as helm-controller orders it
//! (`internal/controller/helmrelease_controller.go` `reconcileRelease`
//! from the release target check on, and `internal/reconcile`'s
//! `AtomicRelease`): the state of the last release decides the next
//! action (install, upgrade, test, rollback or uninstall remediation,
//! unlock), each runs at most once per reconcile, a remediation ends the
//! run; every action writes Flux's conditions, messages, failure counters
//! and `status.history` snapshots. Ready is summarised from Remediated,
//! TestSuccess and Released as helm-controller's `summarize` does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferroflux_api::helm::{
    self as api, Crds, HelmRelease, HelmReleaseStatus, Snapshot, annotation, condition as hc,
    reason as hr_reason, snapshots,
};
use ferroflux_api::meta::{Condition, condition, reason};
use ferroflux_helm::action::{self as act, ActionError, Common, PostRender, Record};
use ferroflux_helm::chart::Chart;
use ferroflux_helm::release::Status;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::{Map, Value};

use super::digest::{self, observe};
use super::drift;
use super::name::shorten_name;
use super::state::{self, Desired, ReleaseStatus};
use crate::status::{Event, EventType, Outcome, StepError};
use crate::target::HelmCluster;
use crate::target::helm::{DiffType, JsonDiffSet};

/// The field manager of helm-controller's applies.
pub const FIELD_MANAGER: &str = "helm-controller";

/// What a run works on, resolved before it.
#[derive(Clone)]
pub struct ReleaseInput {
    /// The object, its status as stored.
    pub hr: HelmRelease,
    pub chart: Chart,
    /// The composed values (`valuesFrom` and `values`).
    pub values: Map<String, Value>,
    /// `lastAttemptedRevisionDigest`: an OCI chart's digest, else empty.
    pub oci_digest: String,
    /// helm-controller's post-renderer chain.
    pub post_render: Option<PostRender>,
    /// `--feature-gates=DefaultToRetryOnFailure`.
    pub default_to_retry_on_failure: bool,
}

/// The cluster of a storage namespace.
pub type HelmFor<'a> = &'a (dyn Fn(&str) -> Result<Arc<dyn HelmCluster>, StepError> + Sync);

/// A run's end: the status to write, the events it recorded (oldest
/// first) and when to run again.
#[derive(Debug, Clone)]
pub struct HelmReleaseResult {
    pub status: HelmReleaseStatus,
    pub events: Vec<Event>,
    pub outcome: Outcome,
}

/// How the action loop ended (`AtomicRelease.Reconcile`'s errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoopEnd {
    Done,
    /// `ErrRetryAfterInterval`: RetryOnFailure's interval.
    RetryAfter(Duration),
    /// `ErrMustRequeue`: run again at once (a remediation ran).
    Requeue,
    /// `ErrExceededMaxRetries`, `ErrMissingRollbackTarget`: terminal.
    Stalled,
    /// Any other error: retried with backoff.
    Error(String),
}

/// The HelmRelease's working copy during a run.
struct Run<'a> {
    hr: HelmRelease,
    status: HelmReleaseStatus,
    chart: &'a Chart,
    values: &'a Map<String, Value>,
    post_render: Option<PostRender>,
    default_to_retry: bool,
    cluster: &'a dyn HelmCluster,
    now: Time,
    events: Vec<Event>,
    /// The cluster's drift from the last release, when the state is
    /// `Drifted`.
    drift: Option<JsonDiffSet>,
    /// The release an install or upgrade just wrote, which storage now
    /// holds as its latest: the loop's next look reads it from here.
    stored: Option<Record>,
}

impl Run<'_> {
    fn generation(&self) -> Option<i64> {
        self.hr.metadata.generation
    }

    /// The object with the working status (for the getters that read it).
    fn obj(&self) -> HelmRelease {
        HelmRelease {
            status: Some(self.status.clone()),
            ..self.hr.clone()
        }
    }

    fn mark(&mut self, type_: &str, status: &str, reason: &str, message: &str) {
        let generation = self.generation();
        mark(
            &mut self.status.conditions,
            type_,
            status,
            reason,
            message,
            generation,
            &self.now,
        );
    }

    fn delete(&mut self, type_: &str) {
        self.status.conditions.retain(|c| c.type_ != type_);
    }

    fn is_true(&self, type_: &str) -> bool {
        crate::status::is_true(&self.status.conditions, type_)
    }

    /// An action's outcome: its condition set, an event (Normal when it
    /// went well, Warning otherwise) and Ready summarised again.
    fn report(&mut self, type_: &str, ok: bool, reason: &str, message: &str) {
        let (status, event) = if ok {
            ("True", EventType::Normal)
        } else {
            ("False", EventType::Warning)
        };
        self.mark(type_, status, reason, message);
        self.event(event, reason, message.to_string());
        self.summarize();
    }

    fn event(&mut self, type_: EventType, reason: &str, message: String) {
        self.events.push(Event {
            type_,
            reason: reason.to_string(),
            message,
        });
    }

    fn latest(&mut self) -> Option<Snapshot> {
        snapshots::latest(&mut self.status.history).cloned()
    }

    fn release_name(&self) -> String {
        shorten_name(&self.hr.release_name())
    }

    fn common(
        &self,
        timeout: Duration,
        disable_wait: bool,
        wait_for_jobs: bool,
        hooks_off: bool,
    ) -> Common {
        let legacy = self
            .hr
            .spec
            .wait_strategy
            .as_ref()
            .is_some_and(|w| w.name == "legacy");
        Common {
            release_name: self.release_name(),
            namespace: self.hr.release_namespace(),
            field_manager: FIELD_MANAGER.to_string(),
            timeout,
            wait: if disable_wait {
                act::WaitStrategy::HookOnly
            } else if legacy {
                act::WaitStrategy::Legacy
            } else {
                act::WaitStrategy::Watcher
            },
            wait_for_jobs,
            disable_hooks: hooks_off,
        }
    }

    fn retry(&self) -> Option<Duration> {
        self.obj().active_retry(self.default_to_retry)
    }

    fn remediation(&self) -> Option<api::Remediation> {
        self.obj().active_remediation()
    }

    fn ignore_test_failures_default(&self) -> bool {
        self.hr.ignore_test_failures()
    }

    /// Prepends the snapshot of a record an action wrote, and refreshes
    /// the snapshots of older revisions the action changed (an upgrade's
    /// superseded release, a rollback's failed one).
    async fn record(&mut self, written: &Record, action: &str, changed_action: Option<&str>) {
        let oci = self.status.last_attempted_revision_digest.clone();
        let obs = observe(written, &oci);
        let existing = self
            .status
            .history
            .iter()
            .position(|s| s.targets(&obs.name, &obs.namespace, obs.version));
        match existing {
            Some(i) => {
                let keep = self.status.history[i].clone();
                let mut snap = observe(written, &keep.oci_digest)
                    .to_snapshot(changed_action.unwrap_or(&keep.action), &keep.oci_digest);
                snap.test_hooks = keep.test_hooks;
                self.status.history[i] = snap;
            }
            None => self.status.history.insert(0, obs.to_snapshot(action, &oci)),
        }
        let others: Vec<(usize, Snapshot)> = self
            .status
            .history
            .iter()
            .cloned()
            .enumerate()
            .filter(|(_, s)| {
                s.version != written.version
                    && s.name == written.name
                    && (matches!(s.status.as_str(), "deployed" | "failed")
                        || s.status.starts_with("pending"))
            })
            .collect();
        for (i, old) in others {
            let Ok(Some(now)) = self.cluster.get(&old.name, old.version).await else {
                continue;
            };
            let obs = observe(&now, &old.oci_digest);
            if obs.digest() == old.digest {
                continue;
            }
            let mut snap = obs.to_snapshot(changed_action.unwrap_or(""), &old.oci_digest);
            snap.test_hooks = old.test_hooks.clone();
            self.status.history[i] = snap;
        }
    }

    /// `name_free`: the loop's look at storage just found no release of
    /// this name, so install's own check need not read it again.
    async fn install(&mut self, name_free: bool) -> Result<(), String> {
        let spec = self.hr.install();
        self.status.last_attempted_release_action = "install".to_string();
        self.status.history.clear();
        self.delete(hc::TEST_SUCCESS);
        self.delete(hc::REMEDIATED);
        let o = act::Install {
            common: self.common(
                self.hr.install_timeout(),
                spec.disable_wait == Some(true),
                spec.disable_wait_for_jobs != Some(true),
                spec.disable_hooks == Some(true),
            ),
            chart: self.chart.clone(),
            values: self.values.clone(),
            crds: crds(spec.crds()),
            create_namespace: spec.create_namespace == Some(true),
            skip_schema_validation: spec.disable_schema_validation == Some(true),
            disable_openapi_validation: spec.disable_openapi_validation == Some(true),
            replace: spec.replace == Some(true),
            name_free,
            server_side: spec.server_side_apply(),
            force_conflicts: true,
            take_ownership: spec.disable_take_ownership != Some(true),
            description: None,
            labels: Default::default(),
            post_render: self.post_render.clone(),
        };
        let start = Instant::now();
        let result = self.cluster.install(o).await;
        self.status.last_attempted_release_action_duration =
            Some(ferroflux_api::Duration::from_std(start.elapsed()));
        self.finish_release(result, "install").await
    }

    async fn upgrade(&mut self) -> Result<(), String> {
        let spec = self.hr.upgrade();
        self.status.last_attempted_release_action = "upgrade".to_string();
        self.delete(hc::TEST_SUCCESS);
        self.delete(hc::REMEDIATED);
        let o = act::Upgrade {
            common: self.common(
                self.hr.upgrade_timeout(),
                spec.disable_wait == Some(true),
                spec.disable_wait_for_jobs != Some(true),
                spec.disable_hooks == Some(true),
            ),
            chart: self.chart.clone(),
            values: self.values.clone(),
            reset_values: spec.preserve_values != Some(true),
            reuse_values: spec.preserve_values == Some(true),
            max_history: self.hr.max_history(),
            crds: crds(spec.crds()),
            skip_schema_validation: spec.disable_schema_validation == Some(true),
            disable_openapi_validation: spec.disable_openapi_validation == Some(true),
            force_replace: spec.force == Some(true),
            cleanup_on_fail: spec.cleanup_on_fail == Some(true),
            server_side: server_side(spec.server_side_apply.as_deref()),
            force_conflicts: true,
            take_ownership: spec.disable_take_ownership != Some(true),
            description: None,
            labels: Default::default(),
            post_render: self.post_render.clone(),
        };
        let start = Instant::now();
        let result = self.cluster.upgrade(o).await;
        self.status.last_attempted_release_action_duration =
            Some(ferroflux_api::Duration::from_std(start.elapsed()));
        self.finish_release(result, "upgrade").await
    }

    /// Install's and upgrade's bookkeeping after the action.
    async fn finish_release(
        &mut self,
        result: Result<Record, ActionError>,
        action: &str,
    ) -> Result<(), String> {
        let (verb, failed_reason, ok_reason, remediation) = if action == "install" {
            (
                "install",
                hr_reason::INSTALL_FAILED,
                hr_reason::INSTALL_SUCCEEDED,
                self.hr.install().remediation(),
            )
        } else {
            (
                "upgrade",
                hr_reason::UPGRADE_FAILED,
                hr_reason::UPGRADE_SUCCEEDED,
                self.hr.upgrade().remediation(),
            )
        };
        match result {
            Err(e) => {
                let written = e.record.as_deref().cloned();
                if let Some(rec) = &written {
                    self.record(rec, action, None).await;
                }
                let msg = format!(
                    "Helm {verb} failed for release {}/{} with chart {}@{}: {}",
                    self.hr.release_namespace(),
                    self.hr.release_name(),
                    self.chart.metadata.name,
                    self.chart.metadata.version,
                    e.message.trim()
                );
                self.status.failures += 1;
                self.report(hc::RELEASED, false, failed_reason, &msg);
                if written.is_none() {
                    return Err(msg);
                }
                remediation.increment_failure_count(&mut self.status);
                Ok(())
            }
            Ok(rec) => {
                self.record(&rec, action, None).await;
                self.stored = Some(rec);
                let cur = self.latest().unwrap_or_default();
                let msg = format!(
                    "Helm {verb} succeeded for release {} with chart {}",
                    cur.full_release_name(),
                    cur.versioned_chart_name()
                );
                self.mark(hc::RELEASED, "True", ok_reason, &msg);
                if self.hr.tests_enabled() && !cur.has_been_tested() {
                    let pending = test_pending(&cur);
                    self.mark(
                        hc::TEST_SUCCESS,
                        "Unknown",
                        hr_reason::AWAITING_TESTS,
                        &pending,
                    );
                }
                let retry = if action == "install" {
                    self.hr.install().retry(self.default_to_retry)
                } else {
                    self.hr.upgrade().retry(self.default_to_retry)
                };
                if retry.is_some() {
                    clear_failures(&mut self.status);
                }
                self.event(EventType::Normal, ok_reason, msg);
                self.summarize();
                Ok(())
            }
        }
    }

    async fn test(&mut self) -> Result<(), String> {
        let Some(cur) = self.latest() else {
            return Err("no latest release: required for test".to_string());
        };
        let spec = self.hr.test();
        let filters: Vec<(String, bool)> = spec
            .filters
            .iter()
            .map(|f| (f.name.clone(), f.exclude == Some(true)))
            .collect();
        let o = act::Test {
            common: self.common(self.hr.test_timeout(), false, true, false),
            filters: filters.clone(),
        };
        let result = self.cluster.test(o).await;
        let (rec, mut err) = match result {
            Ok(r) => (Some(r), None),
            Err(e) => (e.record.as_deref().cloned(), Some(e.message)),
        };
        if let Some(rec) = &rec {
            if rec.name != cur.name || rec.namespace != cur.namespace || rec.version != cur.version
            {
                err = Some(format!(
                    "release mismatch: tested release {}/{}.v{} != current release {}",
                    rec.namespace,
                    rec.name,
                    rec.version,
                    cur.full_release_name()
                ));
            } else {
                let mut tested =
                    observe(rec, &cur.oci_digest).to_snapshot(&cur.action, &cur.oci_digest);
                tested.test_hooks = Some(digest::test_hooks(rec, &filters));
                self.status.history[0] = tested;
            }
        }
        let cur = self.latest().unwrap_or_default();
        if let Some(e) = err {
            let msg = format!(
                "Helm test failed for release {} with chart {}: {}",
                cur.full_release_name(),
                cur.versioned_chart_name(),
                e.trim()
            );
            self.status.failures += 1;
            self.mark(hc::TEST_SUCCESS, "False", hr_reason::TEST_FAILED, &msg);
            self.event(EventType::Warning, hr_reason::TEST_FAILED, msg.clone());
            let tested = cur.has_been_tested();
            if tested
                && let Some(r) = self.remediation()
                && !r.ignore_test_failures(self.ignore_test_failures_default())
            {
                r.increment_failure_count(&mut self.status);
            }
            self.summarize();
            return if tested { Ok(()) } else { Err(msg) };
        }
        let n = cur.test_hooks.as_ref().map_or(0, |h| h.len());
        let hooks = match n {
            0 => "no test hooks".to_string(),
            1 => "1 test hook completed successfully".to_string(),
            n => format!("{n} test hooks completed successfully"),
        };
        let msg = format!(
            "Helm test succeeded for release {} with chart {}: {hooks}",
            cur.full_release_name(),
            cur.versioned_chart_name()
        );
        self.report(hc::TEST_SUCCESS, true, hr_reason::TEST_SUCCEEDED, &msg);
        Ok(())
    }

    async fn rollback(&mut self) -> Result<(), String> {
        let cur = self.latest();
        let ignore = self
            .hr
            .upgrade()
            .remediation()
            .ignore_test_failures(self.ignore_test_failures_default());
        let Some(prev) = snapshots::previous(&mut self.status.history, ignore).cloned() else {
            self.summarize();
            return Err("missing target release for rollback: required to rollback".to_string());
        };
        if let Some(cur) = &cur
            && (prev.name != cur.name || prev.namespace != cur.namespace)
        {
            self.summarize();
            return Err(format!(
                "release mismatch: previous release name or namespace {} does not match current {}",
                prev.full_release_name(),
                cur.full_release_name()
            ));
        }
        let spec = self.hr.rollback();
        let o = act::Rollback {
            common: self.common(
                self.hr.rollback_timeout(),
                spec.disable_wait == Some(true),
                spec.disable_wait_for_jobs != Some(true),
                spec.disable_hooks == Some(true),
            ),
            version: prev.version,
            force_replace: spec.force == Some(true),
            cleanup_on_fail: spec.cleanup_on_fail == Some(true),
            max_history: self.hr.max_history(),
            server_side: server_side(spec.server_side_apply.as_deref()),
            force_conflicts: true,
        };
        match self.cluster.rollback(o).await {
            Ok(rec) => {
                self.record(&rec, "", Some("rollback")).await;
                let msg = format!(
                    "Helm rollback to previous release {} with chart {} succeeded",
                    prev.full_release_name(),
                    prev.versioned_chart_name()
                );
                self.report(hc::REMEDIATED, true, hr_reason::ROLLBACK_SUCCEEDED, &msg);
                Ok(())
            }
            Err(e) => {
                let before = cur.as_ref().map(|c| c.digest.clone());
                if let Some(rec) = e.record.as_deref() {
                    self.record(rec, "", Some("rollback")).await;
                }
                let msg = format!(
                    "Helm rollback to previous release {} with chart {} failed: {}",
                    prev.full_release_name(),
                    prev.versioned_chart_name(),
                    e.message.trim()
                );
                self.status.failures += 1;
                self.report(hc::REMEDIATED, false, hr_reason::ROLLBACK_FAILED, &msg);
                let after = self.latest().map(|c| c.digest);
                if after.is_none() || after == before {
                    return Err(msg);
                }
                Ok(())
            }
        }
    }

    fn uninstall_options(&self) -> act::Uninstall {
        let spec = self.hr.uninstall();
        act::Uninstall {
            common: self.common(
                self.hr.uninstall_timeout(),
                spec.disable_wait == Some(true),
                true,
                spec.disable_hooks == Some(true),
            ),
            keep_history: spec.keep_history == Some(true),
            deletion_propagation: spec.deletion_propagation().to_string(),
            description: None,
        }
    }

    /// Observes an uninstall: the record, or (history removed with it)
    /// the latest snapshot marked uninstalled.
    async fn observe_uninstall(&mut self, rec: Option<&Record>, action: &str) {
        match rec {
            Some(rec) => self.record(rec, action, Some(action)).await,
            None => {
                if let Some(s) = self.status.history.first_mut() {
                    s.status = Status::Uninstalled.as_str().to_string();
                    s.action = action.to_string();
                    s.deleted = Some(self.now.0.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
                    // Helm showed helm-controller the uninstalled record
                    // before deleting it; without it the snapshot's digest
                    // still has to move (the remediation checks that the
                    // storage changed), so it is derived from the old one.
                    s.digest = digest::sha256(format!("{}:{}", s.digest, "uninstalled").as_bytes());
                }
            }
        }
    }

    async fn uninstall_remediation(&mut self) -> Result<(), String> {
        let Some(cur) = self.latest() else {
            return Err("no latest release: required to uninstall".to_string());
        };
        let result = self.cluster.uninstall(self.uninstall_options()).await;
        let mut err = None;
        match &result {
            Ok(rec) => {
                if let Some(rec) = rec
                    && (rec.name != cur.name
                        || rec.namespace != cur.namespace
                        || rec.version != cur.version)
                {
                    err = Some(format!(
                        "release mismatch: uninstalled release {}/{}.v{} != current release {}",
                        rec.namespace,
                        rec.name,
                        rec.version,
                        cur.full_release_name()
                    ));
                } else {
                    self.observe_uninstall(rec.as_ref(), "uninstall-remediation")
                        .await;
                }
            }
            Err(e) => {
                if let Some(rec) = e.record.as_deref() {
                    self.observe_uninstall(Some(rec), "uninstall-remediation")
                        .await;
                }
                err = Some(e.message.clone());
            }
        }
        let latest = self.latest().unwrap_or_default();
        if err.is_none() && latest.digest == cur.digest {
            err = Some("uninstall completed with error: no storage update".to_string());
        }
        if let Some(e) = err {
            let msg = format!(
                "Helm uninstall remediation for release {} with chart {} failed: {}",
                latest.full_release_name(),
                latest.versioned_chart_name(),
                e.trim()
            );
            self.status.failures += 1;
            self.report(hc::REMEDIATED, false, hr_reason::UNINSTALL_FAILED, &msg);
            if latest.digest == cur.digest {
                return Err(msg);
            }
            return Ok(());
        }
        let msg = format!(
            "Helm uninstall remediation for release {} with chart {} succeeded",
            latest.full_release_name(),
            latest.versioned_chart_name()
        );
        self.report(hc::REMEDIATED, true, hr_reason::UNINSTALL_SUCCEEDED, &msg);
        Ok(())
    }

    async fn unlock(&mut self) -> Result<(), String> {
        let name = self.release_name();
        let rec = match self.cluster.last(&name).await {
            Ok(Some(r)) => r,
            Ok(None) => {
                self.summarize();
                return Ok(());
            }
            Err(e) => {
                self.summarize();
                return Err(e.message);
            }
        };
        let mut oci = String::new();
        for s in &self.status.history {
            if s.targets(&rec.name, &rec.namespace, rec.version) {
                oci = s.oci_digest.clone();
            }
        }
        let cur = observe(&rec, &oci).to_snapshot("", &oci);
        let Some(status) = rec.status.filter(|s| s.is_pending()) else {
            self.summarize();
            return Ok(());
        };
        let mut unlocked = rec.clone();
        set_record_status(
            &mut unlocked,
            Status::Failed,
            &format!("Release unlocked from stale '{}' state", status.as_str()),
        );
        if let Err(e) = self.cluster.update(&unlocked).await {
            let msg = format!(
                "Unlock of Helm release {} with chart {} in {} state failed: {}",
                cur.full_release_name(),
                cur.versioned_chart_name(),
                status.as_str(),
                e.message.trim()
            );
            self.status.failures += 1;
            self.report(hc::RELEASED, false, hr_reason::PENDING_RELEASE, &msg);
            return Err(msg);
        }
        for i in 0..self.status.history.len() {
            let s = self.status.history[i].clone();
            if s.targets(&unlocked.name, &unlocked.namespace, unlocked.version) {
                let mut snap =
                    observe(&unlocked, &s.oci_digest).to_snapshot(&s.action, &s.oci_digest);
                snap.test_hooks = s.test_hooks.clone();
                self.status.history[i] = snap;
            }
        }
        let msg = format!(
            "Unlocked Helm release {} with chart {} in {} state",
            cur.full_release_name(),
            cur.versioned_chart_name(),
            status.as_str()
        );
        self.mark(hc::RELEASED, "False", hr_reason::PENDING_RELEASE, &msg);
        self.event(EventType::Normal, hr_reason::PENDING_RELEASE, msg);
        self.summarize();
        Ok(())
    }

    /// The drift part of `DetermineReleaseState`: whether the cluster
    /// drifted from `rec` (the diff kept for the next action); errors of
    /// single objects are an error only when nothing else drifted.
    async fn detect_drift(&mut self, rec: &Record) -> Result<bool, String> {
        let ignore = drift::ignore_rules(&self.hr);
        let set = self
            .cluster
            .diff(rec, FIELD_MANAGER, &ignore)
            .await
            .map_err(|e| e.message)?;
        let changed = set.has_changes();
        if !set.errors.is_empty() {
            let e = drift::aggregate(&set.errors);
            if !changed {
                return Err(e);
            }
            tracing::error!(release = %rec.name, error = %e, "diff of release against cluster state completed with error");
        }
        self.drift = changed.then_some(set);
        Ok(changed)
    }

    /// `CorrectClusterDrift`: the drifted objects put back, reported as
    /// an event; its failures are not the run's.
    async fn correct_drift(&mut self) -> Result<(), String> {
        let Some(set) = self.drift.take() else {
            return Ok(());
        };
        if self.hr.drift_detection_mode() != drift::MODE_ENABLED || set.diffs.is_empty() {
            return Ok(());
        }
        self.mark(
            condition::READY,
            "Unknown",
            reason::PROGRESSING,
            "correcting cluster drift",
        );
        let (corrected, errors) = self.cluster.correct_drift(&set.diffs, FIELD_MANAGER).await;
        let cur = self.latest().unwrap_or_default();
        if let Some((warning, reason, msg)) =
            drift::correction_event(&cur.full_release_name(), &corrected, &errors)
        {
            let type_ = if warning {
                EventType::Warning
            } else {
                EventType::Normal
            };
            self.event(type_, reason, msg);
        }
        Ok(())
    }

    /// `summarize`: Ready from the first of [Remediated, TestSuccess (tests
    /// enabled and failures not ignored), Released]; Remediated makes it
    /// False; the post-renderer and common metadata digests recorded.
    fn summarize(&mut self) {
        let test = self.hr.test();
        let tests_count = test.enable == Some(true) && test.ignore_failures != Some(true);
        let order: &[&str] = if tests_count {
            &[hc::REMEDIATED, hc::TEST_SUCCESS, hc::RELEASED]
        } else {
            &[hc::REMEDIATED, hc::RELEASED]
        };
        if test.enable != Some(true) {
            self.delete(hc::TEST_SUCCESS);
        }
        let summary = order
            .iter()
            .find_map(|t| crate::status::get(&self.status.conditions, t).cloned());
        if let Some(c) = summary {
            let status = if c.type_ == hc::REMEDIATED {
                "False".to_string()
            } else {
                c.status.clone()
            };
            if status == "True" {
                self.delete(condition::STALLED);
            }
            self.mark(condition::READY, &status, &c.reason, &c.message);
        }
        self.status.observed_post_renderers_digest = digest::post_renderers_digest(&self.hr);
        self.status.observed_common_metadata_digest = digest::common_metadata_digest(&self.hr);
    }
}

fn test_pending(cur: &Snapshot) -> String {
    format!(
        "Helm release {} with chart {} is awaiting tests",
        cur.full_release_name(),
        cur.versioned_chart_name()
    )
}

fn crds(c: Crds) -> act::CrdPolicy {
    match c {
        Crds::Skip => act::CrdPolicy::Skip,
        Crds::Create => act::CrdPolicy::Create,
        Crds::CreateReplace => act::CrdPolicy::CreateReplace,
    }
}

fn server_side(mode: Option<&str>) -> act::ServerSide {
    match mode {
        Some("enabled") => act::ServerSide::Enabled,
        Some("disabled") => act::ServerSide::Disabled,
        _ => act::ServerSide::Auto,
    }
}

/// `ClearFailures`.
pub fn clear_failures(status: &mut HelmReleaseStatus) {
    status.failures = 0;
    status.install_failures = 0;
    status.upgrade_failures = 0;
}

/// `rls.SetStatus(status, description)` on a stored record.
fn set_record_status(rec: &mut Record, status: Status, description: &str) {
    rec.status = Some(status);
    if let Some(info) = rec.json.get_mut("info").and_then(Value::as_object_mut) {
        info.insert("status".into(), Value::String(status.as_str().into()));
        info.insert("description".into(), Value::String(description.into()));
    }
}

/// Sets a condition (`True`, `False` or `Unknown`); the transition time
/// moves only when the status does.
pub fn mark(
    list: &mut Vec<Condition>,
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    now: &Time,
) {
    crate::status::Conditions::new(list, generation, now.clone())
        .set_status(type_, status, reason, message);
}

/// The next action (`actionForState`'s answers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Install,
    Upgrade,
    Test,
    Unlock,
    Rollback,
    UninstallRemediation,
    /// `CorrectClusterDrift`.
    CorrectDrift,
}

impl Next {
    /// `ReconcilerType`: install and upgrade are one type (`release`),
    /// rollback and uninstall remediation another.
    fn kind(self) -> u8 {
        match self {
            Next::Install | Next::Upgrade => 0,
            Next::Rollback | Next::UninstallRemediation => 1,
            Next::Test => 2,
            Next::Unlock => 3,
            Next::CorrectDrift => 4,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Next::Install => "install",
            Next::Upgrade => "upgrade",
            Next::Test => "test",
            Next::Unlock => "unlock",
            Next::Rollback => "rollback",
            Next::UninstallRemediation => "uninstall",
            Next::CorrectDrift => "correct cluster drift",
        }
    }
}

/// Why `actionForState` refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Refusal {
    ExceededMaxRetries(String),
    MissingRollbackTarget(String),
    Other(String),
}

/// `meta.HandleAnnotationRequest`: the `annotation` request is handled
/// when it equals `requestedAt` and neither was handled before; the
/// last-handled value moves to the annotation's either way.
pub fn handle_annotation_request(
    hr: &HelmRelease,
    annotation: &str,
    last_handled: &mut String,
) -> bool {
    let annotations = hr.metadata.annotations.clone().unwrap_or_default();
    let Some(request) = annotations.get(annotation) else {
        return false;
    };
    let previous = std::mem::replace(last_handled, request.clone());
    let reconcile = annotations.get(ferroflux_api::meta::RECONCILE_REQUEST_ANNOTATION);
    let handled_reconcile = hr
        .status
        .as_ref()
        .and_then(|s| s.last_handled_reconcile_at.clone())
        .unwrap_or_default();
    reconcile == Some(request) && handled_reconcile != *request && previous != *request
}

impl Run<'_> {
    async fn action_for_state(
        &mut self,
        st: &state::ReleaseState,
        force: bool,
    ) -> Result<Option<Next>, Refusal> {
        match st.status {
            ReleaseStatus::InSync => {
                if self.retry().is_some() {
                    snapshots::truncate_ignoring_previous(&mut self.status.history);
                } else {
                    let ignore = match self.remediation() {
                        Some(r) => r.ignore_test_failures(self.ignore_test_failures_default()),
                        None => self.ignore_test_failures_default(),
                    };
                    snapshots::truncate(&mut self.status.history, ignore);
                }
                if force {
                    return Ok(Some(Next::Upgrade));
                }
                if self.is_true(hc::REMEDIATED) {
                    let cur = self.latest().unwrap_or_default();
                    let msg = format!(
                        "Helm upgrade succeeded for release {} with chart {}",
                        cur.full_release_name(),
                        cur.versioned_chart_name()
                    );
                    self.replace_condition(
                        hc::REMEDIATED,
                        hc::RELEASED,
                        hr_reason::UPGRADE_SUCCEEDED,
                        &msg,
                    );
                }
                if !self.is_true(condition::READY) || !self.is_true(hc::RELEASED) {
                    let released = crate::status::get(&self.status.conditions, hc::RELEASED)
                        .map(|c| c.reason.clone())
                        .unwrap_or_default();
                    let verb = match released.as_str() {
                        hr_reason::INSTALL_FAILED => {
                            Some(("install", hr_reason::INSTALL_SUCCEEDED))
                        }
                        hr_reason::UPGRADE_FAILED => {
                            Some(("upgrade", hr_reason::UPGRADE_SUCCEEDED))
                        }
                        _ => None,
                    };
                    if let Some((verb, reason)) = verb {
                        let cur = self.latest().unwrap_or_default();
                        let msg = format!(
                            "Helm {verb} succeeded for release {} with chart {}",
                            cur.full_release_name(),
                            cur.versioned_chart_name()
                        );
                        self.mark(hc::RELEASED, "True", reason, &msg);
                        self.summarize();
                    }
                }
                if drift::must_detect(&self.hr) {
                    self.mark(
                        hc::DRIFTED,
                        "False",
                        hr_reason::NO_DRIFT_DETECTED,
                        "No drift detected against the cluster state",
                    );
                }
                Ok(None)
            }
            ReleaseStatus::Drifted => {
                let set = self.drift.clone().unwrap_or_default();
                tracing::info!(release = %self.release_name(), "detected changes in cluster state: {}", drift::brief(&set));
                for d in &set.diffs {
                    match d.type_ {
                        DiffType::Create => {
                            tracing::debug!(resource = %d.subject, "resource deleted");
                        }
                        DiffType::Update => {
                            let (added, changed, removed) = d.counts;
                            tracing::debug!(resource = %d.subject, added, changed, removed, "resource modified");
                        }
                        DiffType::None | DiffType::Exclude => {}
                    }
                }
                let cur = self.latest().unwrap_or_default();
                let msg = format!(
                    "Cluster state of release {} has drifted from the desired state:\n{}",
                    cur.full_release_name(),
                    drift::summarize(&set)
                );
                self.event(EventType::Warning, hr_reason::DRIFT_DETECTED, msg.clone());
                self.mark(hc::DRIFTED, "True", hr_reason::DRIFT_DETECTED, &msg);
                if self.hr.drift_detection_mode() == drift::MODE_ENABLED {
                    return Ok(Some(Next::CorrectDrift));
                }
                Ok(None)
            }
            ReleaseStatus::Locked => Ok(Some(Next::Unlock)),
            ReleaseStatus::Absent => {
                if self
                    .hr
                    .install()
                    .remediation()
                    .retries_exhausted(&self.status)
                    && !force
                {
                    return Err(Refusal::ExceededMaxRetries("cannot install release".into()));
                }
                Ok(Some(Next::Install))
            }
            ReleaseStatus::Unmanaged => {
                self.status.history.clear();
                Ok(Some(Next::Upgrade))
            }
            ReleaseStatus::OutOfSync => {
                if self
                    .hr
                    .upgrade()
                    .remediation()
                    .retries_exhausted(&self.status)
                    && !force
                {
                    return Err(Refusal::ExceededMaxRetries("cannot upgrade release".into()));
                }
                Ok(Some(Next::Upgrade))
            }
            ReleaseStatus::Untested => {
                if self.is_true(hc::REMEDIATED) {
                    let cur = self.latest().unwrap_or_default();
                    let msg = format!(
                        "Helm upgrade succeeded for release {} with chart {}",
                        cur.full_release_name(),
                        cur.versioned_chart_name()
                    );
                    self.replace_condition(
                        hc::REMEDIATED,
                        hc::RELEASED,
                        hr_reason::UPGRADE_SUCCEEDED,
                        &msg,
                    );
                }
                Ok(Some(Next::Test))
            }
            ReleaseStatus::Failed => {
                if self.retry().is_some() {
                    snapshots::truncate_ignoring_previous(&mut self.status.history);
                    return Ok(Some(Next::Upgrade));
                }
                let Some(r) = self.remediation() else {
                    return Ok(Some(Next::Upgrade));
                };
                if r.failure_count(&self.status) <= 0 || force {
                    return Ok(Some(Next::Upgrade));
                }
                if r.retries_exhausted(&self.status) && !r.remediate_last_failure {
                    return Err(Refusal::ExceededMaxRetries(
                        "cannot remediate failed release".into(),
                    ));
                }
                let ignore = r.ignore_test_failures(self.ignore_test_failures_default());
                snapshots::truncate(&mut self.status.history, ignore);
                if r.strategy_uninstall() {
                    return Ok(Some(Next::UninstallRemediation));
                }
                let Some(prev) = snapshots::previous(&mut self.status.history, ignore).cloned()
                else {
                    return Err(Refusal::MissingRollbackTarget(
                        "missing target release for rollback: cannot remediate failed release"
                            .into(),
                    ));
                };
                match self.cluster.get(&prev.name, prev.version).await {
                    Ok(Some(rec)) if state::verify_release_object(&prev, &rec).is_ok() => {
                        Ok(Some(Next::Rollback))
                    }
                    // Disappeared or changed: upgrade instead.
                    Ok(_) => Ok(Some(Next::Upgrade)),
                    Err(e) => Err(Refusal::Other(format!(
                        "cannot verify previous release to roll back to: {}",
                        e.message
                    ))),
                }
            }
        }
    }

    fn replace_condition(&mut self, target: &str, replacement: &str, reason: &str, msg: &str) {
        if crate::status::get(&self.status.conditions, target).is_some() {
            self.delete(target);
            self.mark(replacement, "True", reason, msg);
        }
    }

    fn timeout_for(&self, next: Next) -> Duration {
        match next {
            Next::Install => self.hr.install_timeout(),
            Next::Upgrade => self.hr.upgrade_timeout(),
            Next::Test => self.hr.test_timeout(),
            Next::Rollback => self.hr.rollback_timeout(),
            Next::UninstallRemediation => self.hr.uninstall_timeout(),
            Next::Unlock | Next::CorrectDrift => self.hr.timeout(),
        }
    }

    fn stall_retries(&mut self) {
        let count = self
            .remediation()
            .map_or(0, |r| r.failure_count(&self.status));
        let msg = format!(
            "Failed to {} after {count} attempt(s)",
            self.status.last_attempted_release_action
        );
        self.mark(
            condition::STALLED,
            "True",
            hr_reason::RETRIES_EXCEEDED,
            &msg,
        );
    }

    /// `AtomicRelease.Reconcile`.
    async fn atomic(&mut self, mut force: bool) -> LoopEnd {
        let mut previous: Vec<u8> = Vec::new();
        // Every action type runs at most once: four rounds and a last look.
        for _ in 0..8 {
            let name = self.release_name();
            let last = match self.stored.take() {
                Some(written) => Ok(Some(written)),
                None => self.cluster.last(&name).await,
            };
            let last = match last {
                Ok(l) => l,
                Err(e) => {
                    let msg = format!(
                        "Could not determine release state: failed to retrieve last release from storage: {}",
                        e.message
                    );
                    self.mark(condition::READY, "False", hr_reason::STATE_ERROR, &msg);
                    return LoopEnd::Error(msg);
                }
            };
            let desired = Desired {
                chart_name: &self.chart.metadata.name,
                chart_version: &self.chart.metadata.version,
                values: self.values,
            };
            let mut st = match state::determine(&self.hr, &self.status, last.as_ref(), desired) {
                Ok(s) => s,
                Err(e) => {
                    let msg = format!("Could not determine release state: {e}");
                    self.mark(condition::READY, "False", hr_reason::STATE_ERROR, &msg);
                    return LoopEnd::Error(msg);
                }
            };
            if st.status == ReleaseStatus::InSync
                && drift::must_detect(&self.hr)
                && let Some(rec) = last.as_ref()
            {
                match self.detect_drift(rec).await {
                    Ok(true) => st.status = ReleaseStatus::Drifted,
                    Ok(false) => {}
                    Err(e) => {
                        let msg = format!(
                            "Could not determine release state: unable to determine cluster state: {e}"
                        );
                        self.mark(condition::READY, "False", hr_reason::STATE_ERROR, &msg);
                        return LoopEnd::Error(msg);
                    }
                }
            }
            tracing::debug!(release = %name, state = ?st.status, reason = %st.reason, "helm release state");
            // `ShouldHandleForceRequest` answers true once: its first call
            // records the request as handled.
            let next = match self.action_for_state(&st, std::mem::take(&mut force)).await {
                Ok(n) => n,
                Err(Refusal::ExceededMaxRetries(_)) => {
                    self.stall_retries();
                    return LoopEnd::Stalled;
                }
                Err(Refusal::MissingRollbackTarget(e)) => {
                    let msg = format!("Failed to perform remediation: {e}");
                    self.mark(
                        condition::STALLED,
                        "True",
                        hr_reason::MISSING_ROLLBACK_TARGET,
                        &msg,
                    );
                    return LoopEnd::Stalled;
                }
                Err(Refusal::Other(e)) => return LoopEnd::Error(e),
            };
            let Some(next) = next else {
                self.delete(condition::RECONCILING);
                self.summarize();
                return LoopEnd::Done;
            };
            if previous.contains(&next.kind()) {
                if let Some(d) = self.retry() {
                    self.retrying(d);
                    return LoopEnd::RetryAfter(d);
                }
                if self
                    .remediation()
                    .is_none_or(|r| !r.retries_exhausted(&self.status))
                {
                    let msg = ready_message(&self.status.conditions);
                    self.mark(
                        condition::RECONCILING,
                        "True",
                        reason::PROGRESSING_WITH_RETRY,
                        &msg,
                    );
                    return LoopEnd::Requeue;
                }
                self.delete(condition::RECONCILING);
                return LoopEnd::Done;
            }
            let running = format!(
                "Running '{}' action with timeout of {}",
                next.name(),
                ferroflux_api::Duration::from_std(self.timeout_for(next))
            );
            self.mark(
                condition::RECONCILING,
                "True",
                reason::PROGRESSING,
                &running,
            );
            if next.kind() == 0 {
                self.mark(condition::READY, "Unknown", reason::PROGRESSING, &running);
            }
            tracing::info!(release = %name, "{}", running.to_lowercase());
            let result = match next {
                Next::Install => self.install(last.is_none()).await,
                Next::Upgrade => self.upgrade().await,
                Next::Test => self.test().await,
                Next::Unlock => self.unlock().await,
                Next::Rollback => self.rollback().await,
                Next::UninstallRemediation => self.uninstall_remediation().await,
                Next::CorrectDrift => self.correct_drift().await,
            };
            if let Err(e) = result {
                if let Some(d) = self.retry() {
                    self.retrying(d);
                    return LoopEnd::RetryAfter(d);
                }
                if self.is_true(condition::READY) {
                    self.mark(condition::READY, "False", hr_reason::RECONCILE_ERROR, &e);
                }
                return LoopEnd::Error(e);
            }
            if next.kind() == 1 {
                if let Some(d) = self.retry() {
                    self.retrying(d);
                    return LoopEnd::RetryAfter(d);
                }
                let r = self.remediation();
                if r.as_ref().is_none_or(|r| {
                    !r.retries_exhausted(&self.status)
                        || (r.action == api::ReleaseAction::Upgrade && r.uninstall)
                }) {
                    let msg = ready_message(&self.status.conditions);
                    self.mark(
                        condition::RECONCILING,
                        "True",
                        reason::PROGRESSING_WITH_RETRY,
                        &msg,
                    );
                    return LoopEnd::Requeue;
                }
                self.stall_retries();
                return LoopEnd::Stalled;
            }
            previous.push(next.kind());
        }
        LoopEnd::Error("the release did not settle".to_string())
    }

    fn retrying(&mut self, d: Duration) {
        let msg = format!("retrying after {}", ferroflux_api::Duration::from_std(d));
        self.mark(
            condition::RECONCILING,
            "True",
            reason::PROGRESSING_WITH_RETRY,
            &msg,
        );
    }
}

fn ready_message(conditions: &[Condition]) -> String {
    crate::status::get(conditions, condition::READY)
        .map(|c| c.message.clone())
        .unwrap_or_default()
}

/// `ReleaseTargetChanged`: which of storage namespace, release namespace,
/// release name or chart name moved since the latest snapshot.
pub fn release_target_changed(hr: &HelmRelease, chart_name: &str) -> Option<&'static str> {
    let status = hr.status.clone().unwrap_or_default();
    let mut history = status.history.clone();
    let cur = snapshots::latest(&mut history)?;
    if status.storage_namespace.is_empty() {
        return None;
    }
    if hr.storage_namespace() != status.storage_namespace {
        return Some("storage namespace");
    }
    if hr.release_namespace() != cur.namespace {
        return Some("release namespace");
    }
    if shorten_name(&hr.release_name()) != cur.name {
        return Some("release name");
    }
    if chart_name != cur.chart_name {
        return Some("chart name");
    }
    None
}

/// `MustResetFailures`: the counters reset on a new generation, chart
/// version or values, or a `resetAt` request.
pub fn must_reset_failures(
    hr: &HelmRelease,
    status: &mut HelmReleaseStatus,
    chart_version: &str,
    values: &Map<String, Value>,
) -> Option<&'static str> {
    let reset_requested = handle_annotation_request(
        hr,
        annotation::RESET_REQUEST,
        &mut status.last_handled_reset_at,
    );
    if status.last_attempted_generation != hr.metadata.generation.unwrap_or(0) {
        return Some("generation differs from last attempt");
    }
    if status
        .last_attempted_revision
        .as_deref()
        .unwrap_or_default()
        != chart_version
    {
        return Some("chart version differs from last attempt");
    }
    if !status.last_attempted_config_digest.is_empty()
        && !digest::verify_values(&status.last_attempted_config_digest, values)
    {
        return Some("values differ from last attempt");
    }
    reset_requested.then_some("reset requested through annotation")
}

/// `reconcileRelease` from the release target check on: uninstall a
/// release whose target moved, reset the failure counters, record the
/// attempt, then the action loop. Conditions before (dependencies,
/// source, values, chart) are the caller's.
pub async fn reconcile_release(
    input: ReleaseInput,
    helm_for: HelmFor<'_>,
    now: Time,
) -> HelmReleaseResult {
    let hr = input.hr.clone();
    let mut status = hr.status.clone().unwrap_or_default();
    let generation = hr.metadata.generation;
    let interval = hr.spec.interval.to_std();
    let mut events = Vec::new();

    if let Some(what) = release_target_changed(&hr, &input.chart.metadata.name)
        && (what != "chart name" || hr.upgrade().reinstall_on_chart_name_change())
    {
        tracing::info!(release = %hr.release_name(), "release target changed ({what}): uninstalling the old release");
        let old_ns = status.storage_namespace.clone();
        match helm_for(&old_ns) {
            Ok(old) => {
                let mut run = Run {
                    hr: hr.clone(),
                    status: status.clone(),
                    chart: &input.chart,
                    values: &input.values,
                    post_render: None,
                    default_to_retry: input.default_to_retry_on_failure,
                    cluster: old.as_ref(),
                    now: now.clone(),
                    events: Vec::new(),
                    drift: None,
                    stored: None,
                };
                if uninstall(&mut run).await.is_err() {
                    return HelmReleaseResult {
                        status: run.status,
                        events: run.events,
                        outcome: Outcome::Backoff,
                    };
                }
                status = run.status;
                events = run.events;
            }
            Err(e) => {
                mark(
                    &mut status.conditions,
                    condition::READY,
                    "False",
                    e.reason(),
                    e.message(),
                    generation,
                    &now,
                );
                return HelmReleaseResult {
                    status,
                    events,
                    outcome: Outcome::Backoff,
                };
            }
        }
        status.history.clear();
        clear_failures(&mut status);
        status.storage_namespace.clear();
        return HelmReleaseResult {
            status,
            events,
            outcome: Outcome::Backoff,
        };
    }

    let cluster = match helm_for(&hr.storage_namespace()) {
        Ok(c) => c,
        Err(e) => {
            let stalled = matches!(e, StepError::Stalled { .. });
            mark(
                &mut status.conditions,
                condition::READY,
                "False",
                e.reason(),
                e.message(),
                generation,
                &now,
            );
            if stalled {
                mark(
                    &mut status.conditions,
                    condition::STALLED,
                    "True",
                    e.reason(),
                    e.message(),
                    generation,
                    &now,
                );
            }
            return HelmReleaseResult {
                status,
                events,
                outcome: if stalled {
                    Outcome::Wait
                } else {
                    Outcome::Backoff
                },
            };
        }
    };
    status.storage_namespace = hr.storage_namespace();
    if let Some(why) = must_reset_failures(
        &hr,
        &mut status,
        &input.chart.metadata.version,
        &input.values,
    ) {
        tracing::debug!(release = %hr.release_name(), "resetting failure count: {why}");
        clear_failures(&mut status);
    }
    status.last_attempted_generation = generation.unwrap_or(0);
    status.last_attempted_revision = Some(input.chart.metadata.version.clone());
    status.last_attempted_revision_digest = input.oci_digest.clone();
    status.last_attempted_config_digest = digest::config_digest(&input.values);
    status.last_attempted_values_checksum.clear();
    status.last_release_revision = 0;

    let force = handle_annotation_request(
        &HelmRelease {
            status: Some(status.clone()),
            ..hr.clone()
        },
        annotation::FORCE_REQUEST,
        &mut status.last_handled_force_at,
    );
    let mut run = Run {
        hr: hr.clone(),
        status,
        chart: &input.chart,
        values: &input.values,
        post_render: input.post_render.clone(),
        default_to_retry: input.default_to_retry_on_failure,
        cluster: cluster.as_ref(),
        now: now.clone(),
        events,
        drift: None,
        stored: None,
    };
    let end = run.atomic(force).await;
    let mut status = run.status;
    let outcome = match &end {
        LoopEnd::Done => Outcome::RequeueAfter(interval),
        LoopEnd::RetryAfter(d) => Outcome::RequeueAfter(*d),
        LoopEnd::Requeue => Outcome::RequeueAfter(Duration::from_secs(1)),
        LoopEnd::Stalled => Outcome::Wait,
        LoopEnd::Error(_) => Outcome::Backoff,
    };
    if matches!(end, LoopEnd::Done | LoopEnd::Stalled) {
        status.observed_generation = generation;
    }
    if crate::status::is_true(&status.conditions, condition::READY) {
        status
            .conditions
            .retain(|c| c.type_ != condition::RECONCILING);
    }
    HelmReleaseResult {
        status,
        events: run.events,
        outcome,
    }
}

/// helm-controller's `Uninstall` reconciler (deletion, and a moved
/// release target): uninstall the latest snapshot's release; one that is
/// not found counts as uninstalled.
async fn uninstall(run: &mut Run<'_>) -> Result<(), String> {
    let Some(cur) = run.latest() else {
        return Ok(());
    };
    let mut o = run.uninstall_options();
    o.common.release_name = cur.name.clone();
    o.common.namespace = cur.namespace.clone();
    match run.cluster.uninstall(o).await {
        Ok(rec) => {
            run.observe_uninstall(rec.as_ref(), "uninstall").await;
            let msg = format!(
                "Helm uninstall succeeded for release {} with chart {}",
                cur.full_release_name(),
                cur.versioned_chart_name()
            );
            run.mark(hc::RELEASED, "False", hr_reason::UNINSTALL_SUCCEEDED, &msg);
            run.event(EventType::Normal, hr_reason::UNINSTALL_SUCCEEDED, msg);
            Ok(())
        }
        Err(e) if e.message.contains("not found") && e.record.is_none() => {
            let msg = format!(
                "Release {} was not found, assuming it is uninstalled",
                cur.full_release_name()
            );
            run.mark(hc::RELEASED, "False", hr_reason::UNINSTALL_SUCCEEDED, &msg);
            Ok(())
        }
        Err(e) => {
            let msg = format!(
                "Helm uninstall failed for release {} with chart {}: {}",
                cur.full_release_name(),
                cur.versioned_chart_name(),
                e.message.trim()
            );
            run.status.failures += 1;
            run.mark(hc::RELEASED, "False", hr_reason::UNINSTALL_FAILED, &msg);
            run.event(EventType::Warning, hr_reason::UNINSTALL_FAILED, msg.clone());
            Err(msg)
        }
    }
}

/// `reconcileReleaseDeletion`: uninstall what the HelmRelease released
/// (nothing when it never recorded a storage namespace).
pub async fn uninstall_release(
    hr: &HelmRelease,
    helm_for: HelmFor<'_>,
    chart: &Chart,
    now: Time,
) -> Result<Vec<Event>, String> {
    let status = hr.status.clone().unwrap_or_default();
    if status.storage_namespace.is_empty() {
        return Ok(Vec::new());
    }
    let cluster = helm_for(&status.storage_namespace).map_err(|e| e.message().to_string())?;
    let values = Map::new();
    let mut run = Run {
        hr: hr.clone(),
        status,
        chart,
        values: &values,
        post_render: None,
        default_to_retry: false,
        cluster: cluster.as_ref(),
        now,
        events: Vec::new(),
        drift: None,
        stored: None,
    };
    uninstall(&mut run).await?;
    Ok(run.events)
}
