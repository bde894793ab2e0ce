//! Hooks at run time (`pkg/action/hooks.go`, helm-semantics.md §6): the
//! hooks of one event, stable-sorted by weight then name, each deleted
//! first per `before-hook-creation` (the default policy), recorded as
//! `Running`, created, waited for (Jobs until complete, Pods until
//! succeeded, other kinds at once), then `Succeeded`/`Failed`; delete
//! policies applied after. Hooks are read from the record's JSON, so the
//! hooks of records the real helm wrote run too.

use std::time::Duration;

use kube::api::DeleteParams;
use serde_json::{Value, json};

use super::Run;
use super::objects::{self, resource_string};

pub const BEFORE_HOOK_CREATION: &str = "before-hook-creation";
pub const HOOK_SUCCEEDED: &str = "hook-succeeded";
pub const HOOK_FAILED: &str = "hook-failed";

/// The indices of the record's hooks of `event`, in Helm's run order.
pub fn run_order(hooks: &[Value], event: &str) -> Vec<usize> {
    let mut idx: Vec<usize> = hooks
        .iter()
        .enumerate()
        .filter(|(_, h)| {
            h["events"]
                .as_array()
                .is_some_and(|e| e.iter().any(|e| e.as_str() == Some(event)))
        })
        .map(|(i, _)| i)
        .collect();
    idx.sort_by(|a, b| {
        let (ha, hb) = (&hooks[*a], &hooks[*b]);
        ha["weight"]
            .as_i64()
            .unwrap_or(0)
            .cmp(&hb["weight"].as_i64().unwrap_or(0))
            .then_with(|| {
                ha["name"]
                    .as_str()
                    .unwrap_or_default()
                    .cmp(hb["name"].as_str().unwrap_or_default())
            })
    });
    idx
}

fn has_policy(hook: &Value, policy: &str) -> bool {
    hook["delete_policies"]
        .as_array()
        .is_some_and(|p| p.iter().any(|p| p.as_str() == Some(policy)))
}

/// What a hook's Job or Pod says about its completion: `Ok(true)` done,
/// `Ok(false)` still running, `Err` failed.
pub fn hook_done(live: &Value) -> Result<bool, String> {
    let kind = live["kind"].as_str().unwrap_or_default();
    let name = live["metadata"]["name"].as_str().unwrap_or_default();
    match kind {
        "Job" => {
            let conditions = live["status"]["conditions"].as_array();
            let is = |t: &str| {
                conditions.is_some_and(|c| {
                    c.iter()
                        .any(|c| c["type"] == t && c["status"].as_str() == Some("True"))
                })
            };
            if is("Failed") {
                return Err(format!("job {name} failed: BackoffLimitExceeded"));
            }
            Ok(is("Complete"))
        }
        "Pod" => match live["status"]["phase"].as_str() {
            Some("Succeeded") => Ok(true),
            Some("Failed") => Err(format!("pod {name} failed")),
            _ => Ok(false),
        },
        _ => Ok(true),
    }
}

impl Run<'_> {
    /// Runs the hooks of `event` of the record `rel` (its `hooks` updated
    /// in place and the record written at each start, as Helm records
    /// `Running`). The error is Helm's `warning: Hook <event> <path>
    /// failed: …`.
    pub async fn exec_hooks(&self, rel: &mut Value, event: &str) -> Result<(), String> {
        if self.common.disable_hooks {
            return Ok(());
        }
        let Some(hooks) = rel["hooks"].as_array() else {
            return Ok(());
        };
        let order = run_order(hooks, event);
        let namespace = rel["namespace"].as_str().unwrap_or_default().to_string();
        let mut objects = Vec::new();
        for (pos, &i) in order.iter().enumerate() {
            let hook = &mut rel["hooks"][i];
            if hook["delete_policies"]
                .as_array()
                .is_none_or(|p| p.is_empty())
            {
                hook["delete_policies"] = json!([BEFORE_HOOK_CREATION]);
            }
            let path = hook["path"].as_str().unwrap_or_default().to_string();
            let failed = |e: String| format!("warning: Hook {event} {path} failed: {e}");
            let mut obj = match objects::parse_manifest(hook["manifest"].as_str().unwrap_or("")) {
                Ok(mut docs) if docs.len() == 1 => docs.remove(0),
                Ok(_) => {
                    return Err(format!(
                        "unable to build kubernetes object for {event} hook {path}: not one document"
                    ));
                }
                Err(e) => {
                    return Err(format!(
                        "unable to build kubernetes object for {event} hook {path}: {e}"
                    ));
                }
            };
            self.kinds.namespace(&mut obj, &namespace).await?;
            if has_policy(&rel["hooks"][i], BEFORE_HOOK_CREATION) {
                self.delete_hook(&obj).await?;
            }
            rel["hooks"][i]["last_run"] = json!({"started_at": super::now(), "phase": "Running"});
            self.record(rel).await?;
            let result = match self.apply(vec![obj.clone()]).await {
                Ok(_) => self.wait_hook(&obj).await,
                Err(e) => Err(e),
            };
            rel["hooks"][i]["last_run"]["completed_at"] = super::now().into();
            objects.push((i, obj.clone()));
            match result {
                Ok(()) => rel["hooks"][i]["last_run"]["phase"] = "Succeeded".into(),
                Err(e) => {
                    rel["hooks"][i]["last_run"]["phase"] = "Failed".into();
                    if has_policy(&rel["hooks"][i], HOOK_FAILED) {
                        self.delete_hook(&obj).await?;
                    }
                    for (j, o) in objects.iter().take(pos) {
                        if has_policy(&rel["hooks"][*j], HOOK_SUCCEEDED) {
                            self.delete_hook(o).await?;
                        }
                    }
                    return Err(failed(e));
                }
            }
        }
        for (i, obj) in objects.iter().rev() {
            if has_policy(&rel["hooks"][*i], HOOK_SUCCEEDED) {
                self.delete_hook(obj).await?;
            }
        }
        Ok(())
    }

    /// Deletes a hook's object (never a CRD) and waits until it is gone.
    async fn delete_hook(&self, obj: &Value) -> Result<(), String> {
        if obj["kind"] == "CustomResourceDefinition" {
            return Ok(());
        }
        let api = self.kinds.api(obj).await?;
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        match api.delete(name, &DeleteParams::background()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
            Err(e) => return Err(format!("{} delete failed: {e}", resource_string(obj))),
        }
        let deadline = tokio::time::Instant::now() + self.common.timeout;
        loop {
            match api.get_opt(name).await {
                Ok(None) => return Ok(()),
                Ok(Some(_)) => {}
                Err(e) => return Err(format!("{}: {e}", resource_string(obj))),
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(format!(
                    "{}: timed out waiting for the deletion",
                    resource_string(obj)
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// `WatchUntilReady`: Jobs until complete, Pods until succeeded.
    async fn wait_hook(&self, obj: &Value) -> Result<(), String> {
        if !matches!(obj["kind"].as_str(), Some("Job" | "Pod")) {
            return Ok(());
        }
        let deadline = tokio::time::Instant::now() + self.common.timeout;
        let mut delay = Duration::from_millis(100);
        loop {
            let live = self.kinds.live(obj).await?.unwrap_or(Value::Null);
            if !live.is_null() && hook_done(&live)? {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(format!(
                    "resource not ready, name: {}, kind: {}, status: InProgress: context deadline exceeded",
                    obj["metadata"]["name"].as_str().unwrap_or_default(),
                    obj["kind"].as_str().unwrap_or_default()
                ));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(2));
        }
    }
}
