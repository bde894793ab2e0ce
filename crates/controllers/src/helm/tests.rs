//! helm-controller's action loop against an in-memory Helm storage that
//! acts as Helm's actions do (revisions, superseded/failed statuses,
//! pending locks, test hooks), with failures scripted per action:
//! install, upgrade on a values change, a failed upgrade remediated by
//! rollback, retries exhausted, unlock, adoption, tests, uninstall.

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use ferroflux_api::helm::{HelmRelease, HelmReleaseStatus, condition as hc};
use ferroflux_api::meta::condition;
use ferroflux_helm::action::{self as act, ActionError, Record};
use ferroflux_helm::chart::Chart;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::release::{HelmReleaseResult, ReleaseInput, reconcile_release, uninstall_release};
use crate::status::{EventType, Outcome, StepError};
use crate::target::helm::{DiffType, IgnoreRule, JsonDiff, JsonDiffSet};
use crate::target::{BoxFuture, HelmCluster};

/// How a scripted action fails.
#[derive(Clone, Debug)]
pub enum Fail {
    /// After writing a `failed` revision (a wait that timed out).
    WithRecord(&'static str),
    /// Before writing anything (a schema violation, a render error).
    NoRecord(&'static str),
}

#[derive(Default)]
pub struct Storage {
    pub records: Vec<Record>,
    pub calls: Vec<String>,
    pub script: Vec<(&'static str, Fail)>,
    /// Test hooks every new revision gets (name, fails).
    pub test_hooks: Vec<(&'static str, bool)>,
    pub manifests: Vec<String>,
    /// Every read of the storage fails with this (an unreachable cluster).
    pub broken: Option<&'static str>,
    /// An uninstall without `keepHistory` answers no record (the history
    /// went with it).
    pub forget_uninstalled: bool,
    /// The cluster's drift from the last release, as the diff reports it.
    pub drift: Vec<JsonDiff>,
    /// Objects the diff could not look at.
    pub diff_errors: Vec<String>,
    /// Subjects whose correction fails.
    pub correct_fails: Vec<String>,
    /// The ignore rules each diff was given.
    pub diff_ignores: Vec<Vec<IgnoreRule>>,
    /// Reads of the latest release (`last`).
    pub lasts: usize,
    /// `name_free` of each install.
    pub names_free: Vec<bool>,
}

#[derive(Clone, Default)]
pub struct MemHelm(pub Arc<Mutex<Storage>>);

pub fn record(
    (name, namespace, version): (&str, &str, i64),
    status: &str,
    chart: (&str, &str),
    config: &Map<String, Value>,
    hooks: &[(&str, bool)],
    description: &str,
) -> Record {
    let hooks: Vec<Value> = hooks
        .iter()
        .map(|(n, _)| {
            json!({"name": n, "kind": "Pod", "path": format!("{}/templates/tests/{n}.yaml", chart.0),
                   "manifest": "kind: Pod\n", "events": ["test"], "last_run": {"phase": ""}})
        })
        .collect();
    let json = json!({
        "name": name, "namespace": namespace, "version": version,
        "info": {"first_deployed": "2026-12-06T10:00:00Z", "last_deployed": format!("2026-12-06T10:00:{version:02}Z"),
                 "status": status, "description": description},
        "chart": {"metadata": {"name": chart.0, "version": chart.1, "appVersion": chart.1, "apiVersion": "v2"}},
        "config": config,
        "manifest": format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-v{version}\n"),
        "hooks": hooks,
    });
    let b64 = base64::engine::general_purpose::STANDARD.encode(json.to_string());
    ferroflux_helm::release::decode(&b64).unwrap()
}

fn set_status(r: &mut Record, status: &str) {
    r.status = ferroflux_helm::release::Status::parse(status);
    r.json["info"]["status"] = json!(status);
}

impl Storage {
    fn fail(&mut self, action: &str) -> Option<Fail> {
        let i = self.script.iter().position(|(a, _)| *a == action)?;
        Some(self.script.remove(i).1)
    }

    fn next_version(&self, name: &str) -> i64 {
        self.records
            .iter()
            .filter(|r| r.name == name)
            .map(|r| r.version)
            .max()
            .unwrap_or(0)
            + 1
    }

    fn last(&self, name: &str) -> Option<Record> {
        self.records
            .iter()
            .filter(|r| r.name == name)
            .max_by_key(|r| r.version)
            .cloned()
    }

    fn write(
        &mut self,
        c: &act::Common,
        chart: &Chart,
        values: &Map<String, Value>,
        fail: Option<Fail>,
        supersede: bool,
    ) -> Result<Record, ActionError> {
        if let Some(Fail::NoRecord(m)) = &fail {
            return Err(ActionError::new(*m));
        }
        let v = self.next_version(&c.release_name);
        let status = if fail.is_some() { "failed" } else { "deployed" };
        let hooks = self.test_hooks.clone();
        let rec = record(
            (&c.release_name, &c.namespace, v),
            status,
            (&chart.metadata.name, &chart.metadata.version),
            values,
            &hooks,
            "ok",
        );
        if supersede && fail.is_none() {
            for r in self.records.iter_mut().filter(|r| r.name == c.release_name) {
                if matches!(
                    r.json["info"]["status"].as_str(),
                    Some("deployed" | "failed")
                ) {
                    set_status(r, "superseded");
                }
            }
        }
        self.records.push(rec.clone());
        match fail {
            Some(Fail::WithRecord(m)) => Err(ActionError::with_record(m, rec)),
            _ => Ok(rec),
        }
    }
}

impl MemHelm {
    pub fn lock(&self) -> std::sync::MutexGuard<'_, Storage> {
        self.0.lock().unwrap()
    }

    pub fn calls(&self) -> Vec<String> {
        std::mem::take(&mut self.lock().calls)
    }

    pub fn statuses(&self) -> Vec<(i64, String)> {
        let s = self.lock();
        let mut v: Vec<_> = s
            .records
            .iter()
            .map(|r| {
                (
                    r.version,
                    r.json["info"]["status"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        v.sort();
        v
    }
}

impl HelmCluster for MemHelm {
    fn last<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<Record>, ActionError>> {
        Box::pin(async move {
            let mut s = self.lock();
            s.lasts += 1;
            match s.broken {
                Some(e) => Err(ActionError::new(e)),
                None => Ok(s.last(name)),
            }
        })
    }

    fn get<'a>(
        &'a self,
        name: &'a str,
        version: i64,
    ) -> BoxFuture<'a, Result<Option<Record>, ActionError>> {
        Box::pin(async move {
            Ok(self
                .lock()
                .records
                .iter()
                .find(|r| r.name == name && r.version == version)
                .cloned())
        })
    }

    fn history<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Vec<Record>, ActionError>> {
        Box::pin(async move {
            let mut v: Vec<Record> = self
                .lock()
                .records
                .iter()
                .filter(|r| r.name == name)
                .cloned()
                .collect();
            v.sort_by_key(|r| r.version);
            Ok(v)
        })
    }

    fn update<'a>(&'a self, record: &'a Record) -> BoxFuture<'a, Result<(), ActionError>> {
        Box::pin(async move {
            let mut s = self.lock();
            s.calls.push("update".into());
            for r in s.records.iter_mut() {
                if r.name == record.name && r.version == record.version {
                    *r = record.clone();
                }
            }
            Ok(())
        })
    }

    fn install<'a>(&'a self, o: act::Install) -> BoxFuture<'a, Result<Record, ActionError>> {
        Box::pin(async move {
            let mut s = self.lock();
            s.calls.push("install".into());
            s.names_free.push(o.name_free);
            if let Some(pr) = &o.post_render {
                let m = pr("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n".into())
                    .map_err(ActionError::new)?;
                s.manifests.push(m);
            }
            if s.last(&o.common.release_name)
                .is_some_and(|r| r.json["info"]["status"] == "deployed")
            {
                return Err(ActionError::new(
                    "cannot re-use a name that is still in use",
                ));
            }
            let fail = s.fail("install");
            s.write(&o.common, &o.chart, &o.values, fail, false)
        })
    }

    fn upgrade<'a>(&'a self, o: act::Upgrade) -> BoxFuture<'a, Result<Record, ActionError>> {
        Box::pin(async move {
            let mut s = self.lock();
            s.calls.push("upgrade".into());
            match s.last(&o.common.release_name) {
                None => {
                    return Err(ActionError::new(format!(
                        "\"{}\" has no deployed releases",
                        o.common.release_name
                    )));
                }
                Some(r) if r.status.is_some_and(|s| s.is_pending()) => {
                    return Err(ActionError::new(
                        "another operation (install/upgrade/rollback) is in progress",
                    ));
                }
                Some(_) => {}
            }
            let fail = s.fail("upgrade");
            s.write(&o.common, &o.chart, &o.values, fail, true)
        })
    }

    fn rollback<'a>(&'a self, o: act::Rollback) -> BoxFuture<'a, Result<Record, ActionError>> {
        Box::pin(async move {
            let mut s = self.lock();
            s.calls.push(format!("rollback:{}", o.version));
            if let Some(Fail::NoRecord(m) | Fail::WithRecord(m)) = s.fail("rollback") {
                return Err(ActionError::new(m));
            }
            let name = o.common.release_name.clone();
            let Some(target) = s
                .records
                .iter()
                .find(|r| r.name == name && r.version == o.version)
                .cloned()
            else {
                return Err(ActionError::new("release: not found"));
            };
            for r in s.records.iter_mut().filter(|r| r.name == name) {
                if matches!(
                    r.json["info"]["status"].as_str(),
                    Some("deployed" | "failed")
                ) {
                    set_status(r, "superseded");
                }
            }
            let v = s.next_version(&name);
            let hooks = s.test_hooks.clone();
            let rec = record(
                (&name, &target.namespace, v),
                "deployed",
                (&target.chart_name, &target.chart_version),
                &target.config,
                &hooks,
                &format!("Rollback to {}", o.version),
            );
            s.records.push(rec.clone());
            Ok(rec)
        })
    }

    fn uninstall<'a>(
        &'a self,
        o: act::Uninstall,
    ) -> BoxFuture<'a, Result<Option<Record>, ActionError>> {
        Box::pin(async move {
            let mut s = self.lock();
            s.calls.push("uninstall".into());
            let name = o.common.release_name.clone();
            let Some(mut last) = s.last(&name) else {
                return Err(ActionError::new(format!(
                    "uninstall: Release not loaded: {name}: release: not found"
                )));
            };
            set_status(&mut last, "uninstalled");
            if o.keep_history {
                for r in s.records.iter_mut() {
                    if r.name == name && r.version == last.version {
                        *r = last.clone();
                    }
                }
                Ok(Some(last))
            } else {
                s.records.retain(|r| r.name != name);
                Ok((!s.forget_uninstalled).then_some(last))
            }
        })
    }

    fn test<'a>(&'a self, o: act::Test) -> BoxFuture<'a, Result<Record, ActionError>> {
        Box::pin(async move {
            let mut s = self.lock();
            s.calls.push("test".into());
            let name = o.common.release_name.clone();
            let Some(mut last) = s.last(&name) else {
                return Err(ActionError::new("release: not found"));
            };
            let outcomes = s.test_hooks.clone();
            let mut failed = None;
            if let Some(hooks) = last.json["hooks"].as_array_mut() {
                for h in hooks {
                    let hname = h["name"].as_str().unwrap_or_default().to_string();
                    let fails = outcomes.iter().any(|(n, f)| *n == hname && *f);
                    h["last_run"] = json!({
                        "started_at": "2026-12-06T10:01:00Z",
                        "completed_at": "2026-12-06T10:01:05Z",
                        "phase": if fails { "Failed" } else { "Succeeded" },
                    });
                    if fails {
                        failed = Some(format!("pod {hname} failed"));
                    }
                }
            }
            for r in s.records.iter_mut() {
                if r.name == name && r.version == last.version {
                    *r = last.clone();
                }
            }
            match failed {
                Some(m) => Err(ActionError::with_record(m, last)),
                None => Ok(last),
            }
        })
    }

    fn diff<'a>(
        &'a self,
        record: &'a Record,
        field_manager: &'a str,
        ignore: &'a [IgnoreRule],
    ) -> BoxFuture<'a, Result<JsonDiffSet, ActionError>> {
        Box::pin(async move {
            let mut s = self.lock();
            s.calls.push(format!(
                "diff:{}.v{}:{field_manager}",
                record.name, record.version
            ));
            s.diff_ignores.push(ignore.to_vec());
            if let Some(e) = s.broken {
                return Err(ActionError::new(e));
            }
            Ok(JsonDiffSet {
                diffs: s.drift.clone(),
                errors: s.diff_errors.clone(),
            })
        })
    }

    fn correct_drift<'a>(
        &'a self,
        diffs: &'a [JsonDiff],
        field_manager: &'a str,
    ) -> BoxFuture<'a, (Vec<String>, Vec<String>)> {
        Box::pin(async move {
            let mut s = self.lock();
            s.calls.push(format!("correct:{field_manager}"));
            let (mut done, mut errors) = (Vec::new(), Vec::new());
            // Creates first, then patches, as `ApplyDiff`.
            let ordered = diffs
                .iter()
                .filter(|d| d.type_ == DiffType::Create)
                .chain(diffs.iter().filter(|d| d.type_ == DiffType::Update));
            for d in ordered {
                let verb = if d.type_ == DiffType::Create {
                    "created"
                } else {
                    "configured"
                };
                if s.correct_fails.contains(&d.subject) {
                    errors.push(format!("{} patch failure: denied", d.subject));
                    continue;
                }
                done.push(format!("{} {verb}", d.subject));
                for live in s.drift.iter_mut().filter(|l| l.subject == d.subject) {
                    live.type_ = DiffType::None;
                    live.patch.clear();
                    live.counts = (0, 0, 0);
                }
            }
            (done, errors)
        })
    }
}

pub fn chart(version: &str) -> Chart {
    let mut c = Chart::default();
    c.metadata.name = "podinfo".into();
    c.metadata.version = version.into();
    c.metadata.app_version = version.into();
    c.metadata.api_version = "v2".into();
    c
}

pub fn helmrelease(extra: Value) -> HelmRelease {
    let mut v = json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": "podinfo", "namespace": "apps", "generation": 1},
        "spec": {
            "interval": "5m",
            "chart": {"spec": {"chart": "podinfo", "sourceRef": {"kind": "HelmRepository", "name": "podinfo"}}}
        }
    });
    if let Value::Object(m) = extra {
        for (k, val) in m {
            v["spec"][k] = val;
        }
    }
    serde_json::from_value(v).unwrap()
}

fn now() -> Time {
    Time("2026-12-06T11:00:00Z".parse::<Timestamp>().unwrap())
}

pub struct World {
    pub hr: HelmRelease,
    pub helm: MemHelm,
    pub chart: Chart,
    pub values: Map<String, Value>,
}

impl World {
    pub fn new(hr: HelmRelease) -> World {
        World {
            hr,
            helm: MemHelm::default(),
            chart: chart("6.5.0"),
            values: Map::new(),
        }
    }

    pub fn reconcile(&mut self) -> HelmReleaseResult {
        self.reconcile_with(None)
    }

    /// A run whose storage namespace cannot be had (`TargetCluster::helm`).
    pub fn reconcile_with(&mut self, no_storage: Option<StepError>) -> HelmReleaseResult {
        let input = ReleaseInput {
            hr: self.hr.clone(),
            chart: self.chart.clone(),
            values: self.values.clone(),
            oci_digest: String::new(),
            post_render: Some(super::kind::post_renderer(&self.hr)),
            default_to_retry_on_failure: false,
        };
        let helm = self.helm.clone();
        let helm_for = move |_: &str| -> Result<Arc<dyn HelmCluster>, StepError> {
            match &no_storage {
                Some(e) => Err(e.clone()),
                None => Ok(Arc::new(helm.clone())),
            }
        };
        let r = futures_lite(reconcile_release(input, &helm_for, now()));
        self.hr.status = Some(r.status.clone());
        r
    }

    pub fn status(&self) -> &HelmReleaseStatus {
        self.hr.status.as_ref().unwrap()
    }

    pub fn cond(&self, t: &str) -> (String, String, String) {
        let c = crate::status::get(&self.status().conditions, t)
            .unwrap_or_else(|| panic!("no {t} condition: {:#?}", self.status().conditions));
        (c.status.clone(), c.reason.clone(), c.message.clone())
    }

    pub fn has(&self, t: &str) -> bool {
        crate::status::get(&self.status().conditions, t).is_some()
    }

    pub fn bump(&mut self, values: Value) {
        self.values = values.as_object().cloned().unwrap();
        let g = self.hr.metadata.generation.unwrap_or(1);
        self.hr.metadata.generation = Some(g + 1);
    }
}

/// Runs a future to completion on a current-thread runtime.
pub fn futures_lite<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn cond(status: &str, reason: &str, message: &str) -> (String, String, String) {
    (status.into(), reason.into(), message.into())
}

#[test]
fn install_then_in_sync() {
    let mut w = World::new(helmrelease(json!({})));
    let r = w.reconcile();
    assert_eq!(w.helm.calls(), ["install"]);
    // Storage read once: install is told the name is free, and the look
    // after it takes the release it wrote.
    assert_eq!(w.helm.lock().lasts, 1);
    assert_eq!(w.helm.lock().names_free, [true]);
    let ok = "Helm install succeeded for release apps/podinfo.v1 with chart podinfo@6.5.0";
    assert_eq!(
        w.cond(condition::READY),
        cond("True", "InstallSucceeded", ok)
    );
    assert_eq!(w.cond(hc::RELEASED), cond("True", "InstallSucceeded", ok));
    assert!(!w.has(condition::RECONCILING) && !w.has(condition::STALLED));
    assert_eq!(
        r.outcome,
        Outcome::RequeueAfter(std::time::Duration::from_secs(300))
    );
    assert_eq!(r.events.last().unwrap().type_, EventType::Normal);
    let st = w.status();
    assert_eq!(st.history.len(), 1);
    assert_eq!(st.history[0].action, "install");
    assert_eq!(st.history[0].status, "deployed");
    assert_eq!(st.last_attempted_revision.as_deref(), Some("6.5.0"));
    assert_eq!(st.last_attempted_release_action, "install");
    assert_eq!(st.storage_namespace, "apps");
    assert_eq!(st.observed_generation, Some(1));
    assert_eq!(
        st.last_attempted_config_digest,
        super::digest::config_digest(&Map::new())
    );
    // The origin labels went through the post-renderer.
    let m = w.helm.lock().manifests[0].clone();
    assert!(m.contains("helm.toolkit.fluxcd.io/name: podinfo"), "{m}");
    assert!(m.contains("helm.toolkit.fluxcd.io/namespace: apps"), "{m}");

    w.reconcile();
    assert!(w.helm.calls().is_empty(), "in sync: no action");
    assert_eq!(w.cond(condition::READY).0, "True");
}

#[test]
fn values_change_upgrades_and_supersedes() {
    let mut w = World::new(helmrelease(json!({})));
    w.reconcile();
    w.helm.calls();
    w.bump(json!({"replicaCount": 2}));
    w.reconcile();
    assert_eq!(w.helm.calls(), ["upgrade"]);
    assert_eq!(
        w.cond(condition::READY),
        cond(
            "True",
            "UpgradeSucceeded",
            "Helm upgrade succeeded for release apps/podinfo.v2 with chart podinfo@6.5.0"
        )
    );
    let h = &w.status().history;
    assert_eq!((h[0].version, h[0].status.as_str()), (2, "deployed"));
    assert_eq!((h[1].version, h[1].status.as_str()), (1, "superseded"));
    assert_eq!(h[0].config_digest, super::digest::config_digest(&w.values));
    assert_eq!(
        w.helm.statuses(),
        [(1, "superseded".into()), (2, "deployed".into())]
    );
    w.reconcile();
    assert!(w.helm.calls().is_empty());
}

#[test]
fn failed_upgrade_is_remediated_by_rollback_then_retries_run_out() {
    let mut w = World::new(helmrelease(
        json!({"upgrade": {"remediation": {"retries": 1}}}),
    ));
    w.reconcile();
    w.helm.calls();
    w.helm.lock().script = vec![
        ("upgrade", Fail::WithRecord("context deadline exceeded")),
        ("upgrade", Fail::WithRecord("context deadline exceeded")),
    ];
    w.bump(json!({"replicaCount": 3}));
    let r = w.reconcile();
    assert_eq!(w.helm.calls(), ["upgrade", "rollback:1"]);
    let st = w.status();
    assert_eq!((st.failures, st.upgrade_failures), (1, 1));
    assert_eq!(
        w.cond(hc::RELEASED),
        cond(
            "False",
            "UpgradeFailed",
            "Helm upgrade failed for release apps/podinfo with chart podinfo@6.5.0: context deadline exceeded"
        )
    );
    let rolled =
        "Helm rollback to previous release apps/podinfo.v1 with chart podinfo@6.5.0 succeeded";
    assert_eq!(
        w.cond(hc::REMEDIATED),
        cond("True", "RollbackSucceeded", rolled)
    );
    assert_eq!(
        w.cond(condition::READY),
        cond("False", "RollbackSucceeded", rolled)
    );
    assert_eq!(w.cond(condition::RECONCILING).1, "ProgressingWithRetry");
    assert!(matches!(r.outcome, Outcome::RequeueAfter(d) if d.as_secs() == 1));
    assert_eq!(
        w.helm.statuses(),
        [
            (1, "superseded".into()),
            (2, "superseded".into()),
            (3, "deployed".into())
        ]
    );

    // The requeue: out of sync again, the second upgrade fails, the last
    // failure is remediated (retries > 0) and the release stalls.
    let r = w.reconcile();
    assert_eq!(w.helm.calls(), ["upgrade", "rollback:3"]);
    assert_eq!(w.status().upgrade_failures, 2);
    assert_eq!(
        w.cond(condition::STALLED),
        cond(
            "True",
            "RetriesExceeded",
            "Failed to upgrade after 2 attempt(s)"
        )
    );
    assert_eq!(w.cond(condition::READY).0, "False");
    assert_eq!(r.outcome, Outcome::Wait);

    // Stalled stays stalled without a change…
    w.reconcile();
    assert!(w.helm.calls().is_empty());
    // …and new values reset the counters.
    w.bump(json!({"replicaCount": 1}));
    w.reconcile();
    assert_eq!(w.helm.calls(), ["upgrade"]);
    assert_eq!(w.cond(condition::READY).0, "True");
    assert!(!w.has(condition::STALLED));
    assert_eq!(w.status().upgrade_failures, 0);
}

#[test]
fn retries_exhausted_without_remediation_stalls() {
    let mut w = World::new(helmrelease(json!({})));
    w.reconcile();
    w.helm.calls();
    w.helm.lock().script = vec![(
        "upgrade",
        Fail::WithRecord("timed out waiting for the condition"),
    )];
    w.bump(json!({"a": 1}));
    let r = w.reconcile();
    assert_eq!(w.helm.calls(), ["upgrade"]);
    assert_eq!(
        w.cond(condition::STALLED),
        cond(
            "True",
            "RetriesExceeded",
            "Failed to upgrade after 1 attempt(s)"
        )
    );
    assert_eq!(
        w.cond(condition::READY),
        cond(
            "False",
            "UpgradeFailed",
            "Helm upgrade failed for release apps/podinfo with chart podinfo@6.5.0: timed out waiting for the condition"
        )
    );
    assert_eq!(r.outcome, Outcome::Wait);
}

#[test]
fn reset_and_force_requests() {
    let mut w = World::new(helmrelease(json!({})));
    w.reconcile();
    w.helm.lock().script = vec![("upgrade", Fail::WithRecord("boom"))];
    w.bump(json!({"a": 1}));
    w.reconcile();
    assert_eq!(w.status().upgrade_failures, 1);
    w.helm.calls();
    // resetAt equal to requestedAt clears the counters; the failed
    // release is upgraded again.
    w.hr.metadata.annotations = Some(
        [
            (
                "reconcile.fluxcd.io/requestedAt".to_string(),
                "t1".to_string(),
            ),
            ("reconcile.fluxcd.io/resetAt".to_string(), "t1".to_string()),
        ]
        .into(),
    );
    w.reconcile();
    assert_eq!(w.helm.calls(), ["upgrade"]);
    assert_eq!(w.status().last_handled_reset_at, "t1");
    assert_eq!(w.cond(condition::READY).0, "True");
    // forceAt upgrades a release in sync, once.
    w.hr.metadata.annotations = Some(
        [
            (
                "reconcile.fluxcd.io/requestedAt".to_string(),
                "t2".to_string(),
            ),
            ("reconcile.fluxcd.io/forceAt".to_string(), "t2".to_string()),
        ]
        .into(),
    );
    let r = w.reconcile();
    assert_eq!(w.helm.calls(), ["upgrade"]);
    assert_eq!(w.status().last_handled_force_at, "t2");
    assert_eq!(
        r.outcome,
        Outcome::RequeueAfter(std::time::Duration::from_secs(300))
    );
    assert_eq!(w.cond(condition::READY).0, "True");
    assert!(!w.has(condition::RECONCILING));
    w.reconcile();
    assert!(w.helm.calls().is_empty(), "handled once");
}

#[test]
fn a_pending_release_is_unlocked_then_upgraded() {
    let mut w = World::new(helmrelease(json!({})));
    let mut stale = record(
        ("podinfo", "apps", 1),
        "pending-upgrade",
        ("podinfo", "6.5.0"),
        &Map::new(),
        &[],
        "Preparing upgrade",
    );
    stale.status = ferroflux_helm::release::Status::parse("pending-upgrade");
    w.helm.lock().records.push(stale);
    let r = w.reconcile();
    assert_eq!(w.helm.calls(), ["update", "upgrade"]);
    assert_eq!(r.events[0].reason, "PendingRelease");
    assert_eq!(
        r.events[0].message,
        "Unlocked Helm release apps/podinfo.v1 with chart podinfo@6.5.0 in pending-upgrade state"
    );
    let rec1 = w.helm.lock().records[0].clone();
    assert_eq!(rec1.json["info"]["status"], "superseded");
    assert_eq!(
        rec1.json["info"]["description"],
        "Release unlocked from stale 'pending-upgrade' state"
    );
    assert_eq!(
        w.cond(condition::READY),
        cond(
            "True",
            "UpgradeSucceeded",
            "Helm upgrade succeeded for release apps/podinfo.v2 with chart podinfo@6.5.0"
        )
    );
}

#[test]
fn a_release_made_by_helm_is_adopted() {
    let mut w = World::new(helmrelease(json!({})));
    let by_cli = record(
        ("podinfo", "apps", 1),
        "deployed",
        ("podinfo", "6.4.0"),
        &Map::new(),
        &[],
        "Install complete",
    );
    w.helm.lock().records.push(by_cli);
    w.reconcile();
    assert_eq!(w.helm.calls(), ["upgrade"]);
    assert_eq!(
        w.cond(condition::READY).2,
        "Helm upgrade succeeded for release apps/podinfo.v2 with chart podinfo@6.5.0"
    );
    assert_eq!(w.status().history[0].version, 2);
}

#[test]
fn a_record_changed_behind_our_back_is_unmanaged_and_upgraded() {
    let mut w = World::new(helmrelease(json!({})));
    w.reconcile();
    w.helm.calls();
    // `helm upgrade --reuse-values` by hand: a new revision we did not make.
    let by_hand = record(
        ("podinfo", "apps", 2),
        "deployed",
        ("podinfo", "6.5.0"),
        &Map::new(),
        &[],
        "Upgrade complete",
    );
    w.helm.lock().records.push(by_hand);
    w.reconcile();
    assert_eq!(w.helm.calls(), ["upgrade"]);
    assert_eq!(w.status().history[0].version, 3);
}

#[test]
fn tests_run_after_install_and_their_failure_counts() {
    let mut w = World::new(helmrelease(json!({"test": {"enable": true}})));
    w.helm.lock().test_hooks = vec![("podinfo-test", false)];
    w.reconcile();
    assert_eq!(w.helm.calls(), ["install", "test"]);
    let ok = "Helm test succeeded for release apps/podinfo.v1 with chart podinfo@6.5.0: 1 test hook completed successfully";
    assert_eq!(w.cond(hc::TEST_SUCCESS), cond("True", "TestSucceeded", ok));
    assert_eq!(w.cond(condition::READY), cond("True", "TestSucceeded", ok));
    let hooks = w.status().history[0].test_hooks.clone().unwrap();
    assert_eq!(hooks["podinfo-test"].as_ref().unwrap().phase, "Succeeded");
    w.reconcile();
    assert!(w.helm.calls().is_empty(), "tested: in sync");

    // A failing test on the next upgrade: Ready False from TestSuccess.
    w.helm.lock().test_hooks = vec![("podinfo-test", true)];
    w.bump(json!({"x": 1}));
    w.reconcile();
    assert_eq!(w.helm.calls(), ["upgrade", "test"]);
    let failed = "Helm test failed for release apps/podinfo.v2 with chart podinfo@6.5.0: pod podinfo-test failed";
    assert_eq!(
        w.cond(hc::TEST_SUCCESS),
        cond("False", "TestFailed", failed)
    );
    assert_eq!(
        w.cond(condition::READY),
        cond("False", "TestFailed", failed)
    );
    assert_eq!(
        w.status().upgrade_failures,
        1,
        "a failed test counts against the upgrade"
    );
}

#[test]
fn ignored_test_failures_leave_ready_to_released() {
    let mut w = World::new(helmrelease(
        json!({"test": {"enable": true, "ignoreFailures": true}}),
    ));
    w.helm.lock().test_hooks = vec![("podinfo-test", true)];
    w.reconcile();
    assert_eq!(w.helm.calls(), ["install", "test"]);
    assert_eq!(w.cond(hc::TEST_SUCCESS).1, "TestFailed");
    assert_eq!(w.cond(condition::READY).1, "InstallSucceeded");
    assert_eq!(w.cond(condition::READY).0, "True");
}

#[test]
fn failed_install_is_uninstalled_and_retried() {
    let mut w = World::new(helmrelease(
        json!({"install": {"remediation": {"retries": 2}}}),
    ));
    w.helm.lock().script = vec![("install", Fail::WithRecord("timed out"))];
    w.reconcile();
    assert_eq!(w.helm.calls(), ["install", "uninstall"]);
    assert_eq!(w.status().install_failures, 1);
    assert_eq!(
        w.cond(hc::REMEDIATED),
        cond(
            "True",
            "UninstallSucceeded",
            "Helm uninstall remediation for release apps/podinfo.v1 with chart podinfo@6.5.0 succeeded"
        )
    );
    w.reconcile();
    assert_eq!(w.helm.calls(), ["install"]);
    assert_eq!(w.cond(condition::READY).0, "True");
    assert!(!w.has(hc::REMEDIATED));
}

#[test]
fn a_schema_violation_is_a_clear_ready_false() {
    let mut w = World::new(helmrelease(json!({})));
    w.helm.lock().script = vec![(
        "install",
        Fail::NoRecord(
            "values don't meet the specifications of the schema(s) in the following chart(s):\npodinfo:\n- replicaCount: Invalid type. Expected: integer, given: string\n",
        ),
    )];
    let r = w.reconcile();
    let (status, reason, message) = w.cond(condition::READY);
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "InstallFailed")
    );
    assert!(
        message.starts_with("Helm install failed for release apps/podinfo with chart podinfo@6.5.0: values don't meet the specifications")
            && message.ends_with("given: string"),
        "{message}"
    );
    assert_eq!(r.outcome, Outcome::Backoff);
    assert!(w.status().history.is_empty());
    assert_eq!((w.status().failures, w.status().install_failures), (1, 0));
}

#[test]
fn uninstall_on_deletion() {
    let mut w = World::new(helmrelease(json!({})));
    w.reconcile();
    w.helm.calls();
    let helm = w.helm.clone();
    let helm_for =
        move |_: &str| -> Result<Arc<dyn HelmCluster>, StepError> { Ok(Arc::new(helm.clone())) };
    let events = futures_lite(uninstall_release(
        &w.hr,
        &helm_for,
        &Chart::default(),
        now(),
    ))
    .unwrap();
    assert_eq!(w.helm.calls(), ["uninstall"]);
    assert!(w.helm.lock().records.is_empty());
    assert_eq!(
        events[0].message,
        "Helm uninstall succeeded for release apps/podinfo.v1 with chart podinfo@6.5.0"
    );
    // Never released: nothing to uninstall.
    let fresh = helmrelease(json!({}));
    assert!(
        futures_lite(uninstall_release(
            &fresh,
            &helm_for,
            &Chart::default(),
            now()
        ))
        .unwrap()
        .is_empty()
    );
    assert!(w.helm.calls().is_empty());
}

#[test]
fn a_moved_target_namespace_uninstalls_the_old_release_first() {
    let mut w = World::new(helmrelease(json!({})));
    w.reconcile();
    w.helm.calls();
    w.hr.spec.target_namespace = Some("web".into());
    w.hr.metadata.generation = Some(2);
    let r = w.reconcile();
    assert_eq!(w.helm.calls(), ["uninstall"]);
    assert!(w.status().history.is_empty());
    assert_eq!(r.outcome, Outcome::Backoff);
    w.reconcile();
    assert_eq!(w.helm.calls(), ["install"]);
    assert_eq!(
        w.cond(condition::READY).2,
        "Helm install succeeded for release web/web-podinfo.v1 with chart podinfo@6.5.0"
    );
}

#[test]
fn retry_on_failure_retries_after_its_interval_without_remediating() {
    let mut w = World::new(helmrelease(
        json!({"install": {"strategy": {"name": "RetryOnFailure", "retryInterval": "30s"}}}),
    ));
    w.helm.lock().script = vec![("install", Fail::WithRecord("timed out"))];
    let r = w.reconcile();
    assert_eq!(w.helm.calls(), ["install"]);
    assert_eq!(
        r.outcome,
        Outcome::RequeueAfter(std::time::Duration::from_secs(30))
    );
    assert_eq!(
        w.cond(condition::RECONCILING),
        cond("True", "ProgressingWithRetry", "retrying after 30s")
    );
    assert_eq!(w.cond(condition::READY).1, "InstallFailed");
    // The failed release is upgraded (not uninstalled) on the retry; only
    // a success of the action that has RetryOnFailure (install here)
    // clears the counters, as in helm-controller.
    w.reconcile();
    assert_eq!(w.helm.calls(), ["upgrade"]);
    assert_eq!(w.cond(condition::READY).0, "True");
    assert_eq!((w.status().failures, w.status().install_failures), (1, 1));
}

#[test]
fn an_upgrade_remediated_by_uninstall_is_installed_again() {
    let mut w = World::new(helmrelease(
        json!({"upgrade": {"remediation": {"retries": 1, "strategy": "uninstall"}}}),
    ));
    w.reconcile();
    w.helm.calls();
    w.helm.lock().script = vec![("upgrade", Fail::WithRecord("timed out"))];
    w.bump(json!({"a": 1}));
    w.reconcile();
    assert_eq!(w.helm.calls(), ["upgrade", "uninstall"]);
    assert_eq!(w.cond(hc::REMEDIATED).1, "UninstallSucceeded");
    w.reconcile();
    assert_eq!(w.helm.calls(), ["install"]);
    assert_eq!(
        w.cond(condition::READY).2,
        "Helm install succeeded for release apps/podinfo.v1 with chart podinfo@6.5.0"
    );
}

#[test]
fn a_failed_rollback_is_remediated_false() {
    let mut w = World::new(helmrelease(
        json!({"upgrade": {"remediation": {"retries": 1}}}),
    ));
    w.reconcile();
    w.helm.lock().script = vec![
        ("upgrade", Fail::WithRecord("timed out")),
        ("rollback", Fail::NoRecord("rollback refused")),
    ];
    w.bump(json!({"a": 1}));
    let r = w.reconcile();
    let msg = "Helm rollback to previous release apps/podinfo.v1 with chart podinfo@6.5.0 failed: rollback refused";
    assert_eq!(w.cond(hc::REMEDIATED), cond("False", "RollbackFailed", msg));
    assert_eq!(
        w.cond(condition::READY),
        cond("False", "RollbackFailed", msg)
    );
    assert_eq!(r.outcome, Outcome::Backoff);
    assert_eq!(w.status().failures, 2);
}

#[test]
fn a_rollback_without_a_previous_release_stalls() {
    let mut w = World::new(helmrelease(
        json!({"upgrade": {"remediation": {"retries": 2}}}),
    ));
    // Adopted from the CLI and failed at once: nothing to roll back to.
    let by_cli = record(
        ("podinfo", "apps", 1),
        "deployed",
        ("podinfo", "6.4.0"),
        &Map::new(),
        &[],
        "Install complete",
    );
    w.helm.lock().records.push(by_cli);
    w.helm.lock().script = vec![("upgrade", Fail::WithRecord("timed out"))];
    let r = w.reconcile();
    assert_eq!(w.helm.calls(), ["upgrade"]);
    assert_eq!(
        w.cond(condition::STALLED),
        cond(
            "True",
            "MissingRollbackTarget",
            "Failed to perform remediation: missing target release for rollback: cannot remediate failed release"
        )
    );
    assert_eq!(r.outcome, Outcome::Wait);
}

#[test]
fn storage_that_cannot_be_read_is_a_state_error() {
    let mut w = World::new(helmrelease(json!({})));
    w.helm.lock().broken = Some("secrets is forbidden: User cannot list secrets");
    let r = w.reconcile();
    assert_eq!(
        w.cond(condition::READY),
        cond(
            "False",
            "StateError",
            "Could not determine release state: failed to retrieve last release from storage: secrets is forbidden: User cannot list secrets"
        )
    );
    assert_eq!(r.outcome, Outcome::Backoff);
    assert!(w.helm.calls().is_empty());
}

#[test]
fn no_helm_storage_on_the_target_stalls_with_its_reason() {
    let mut w = World::new(helmrelease(json!({})));
    let e = StepError::stalled(
        "TargetClusterMissing",
        "no Helm storage in namespace 'apps' on this target cluster",
    );
    let r = w.reconcile_with(Some(e));
    assert_eq!(
        w.cond(condition::STALLED),
        cond(
            "True",
            "TargetClusterMissing",
            "no Helm storage in namespace 'apps' on this target cluster"
        )
    );
    assert_eq!(w.cond(condition::READY).0, "False");
    assert_eq!(r.outcome, Outcome::Wait);
    let r = w.reconcile_with(Some(StepError::retry(
        "RESTClientError",
        "connection refused",
    )));
    assert_eq!(r.outcome, Outcome::Backoff);
    assert_eq!(w.cond(condition::READY).1, "RESTClientError");
}

#[test]
fn an_uninstall_that_answers_no_record_still_counts() {
    let mut w = World::new(helmrelease(
        json!({"install": {"remediation": {"retries": 1}}}),
    ));
    {
        let mut s = w.helm.lock();
        s.script = vec![("install", Fail::WithRecord("timed out"))];
        s.forget_uninstalled = true;
    }
    w.reconcile();
    assert_eq!(w.helm.calls(), ["install", "uninstall"]);
    assert_eq!(w.cond(hc::REMEDIATED).1, "UninstallSucceeded");
    let h = &w.status().history[0];
    assert_eq!(
        (h.status.as_str(), h.action.as_str()),
        ("uninstalled", "uninstall-remediation")
    );
    assert!(h.deleted.is_some());
    w.reconcile();
    assert_eq!(w.helm.calls(), ["install"]);
}

mod drift;
