//! A kind the runtime has never heard of, served with one registration
//! line: its objects are read from the checkout, held, reconciled by the
//! runner through `Kind::reconcile` and their status stored in the local
//! home, with no edit to the runtime.

use std::time::Duration;

use ferroflux_api::meta::{Condition, ObjectMeta};
use ferroflux_controllers::kind::{
    Cx, FirstRun, Job, Kind, KindInfo, ObjectKey, Reconciled, Run, Said,
};
use ferroflux_controllers::status::{self, StepError};
use ferroflux_runtime::StatusStore;
use ferroflux_runtime::automate::{AutomateOptions, Runner};
use ferroflux_runtime::registry::Registry;
use ferroflux_testkit::gitrepo;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Dummy {
    api_version: String,
    kind: String,
    metadata: ObjectMeta,
    spec: DummySpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<DummyStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct DummySpec {
    /// Said by its Ready condition; empty: the reconcile stalls.
    message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct DummyStatus {
    #[serde(default)]
    conditions: Vec<Condition>,
}

impl Kind for Dummy {
    const INFO: KindInfo = KindInfo {
        kind: "Dummy",
        group: "test.ferroflux.dev",
        version: "v1",
        section: "dummies",
    };
    type Object = Dummy;

    fn meta(obj: &Dummy) -> &ObjectMeta {
        &obj.metadata
    }

    fn meta_mut(obj: &mut Dummy) -> &mut ObjectMeta {
        &mut obj.metadata
    }

    fn conditions(obj: &Dummy) -> &[Condition] {
        obj.status.as_ref().map_or(&[], |s| s.conditions.as_slice())
    }

    fn suspended(_: &Dummy) -> bool {
        false
    }

    fn first_run(_: &Dummy) -> FirstRun {
        FirstRun::After(Duration::from_secs(60))
    }

    /// Ready with its spec's message after a wait on a timer (a job that
    /// really waits), Stalled without one.
    fn reconcile(key: &ObjectKey, obj: &Dummy, _: Run, cx: &dyn Cx) -> Option<Job> {
        let key = key.clone();
        let obj = obj.clone();
        let clock = cx.clock();
        Some(Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            let mut s = obj.status.clone().unwrap_or_default();
            let result = if obj.spec.message.is_empty() {
                Err(StepError::stalled("NoMessage", "spec.message is empty"))
            } else {
                Ok(obj.spec.message.clone())
            };
            status::finish(
                &mut s.conditions,
                obj.metadata.generation,
                clock.now_time(),
                &result,
            );
            let outcome = status::outcome(&result, Some(Duration::from_secs(60)));
            Reconciled::new(&key, &s, Said::Ready, outcome)
        }))
    }
}

const DUMMIES: &str = "apiVersion: test.ferroflux.dev/v1
kind: Dummy
metadata:
  name: hello
  namespace: apps
spec:
  message: hello from a kind the runtime does not know
---
apiVersion: test.ferroflux.dev/v1
kind: Dummy
metadata:
  name: silent
  namespace: apps
spec:
  message: \"\"
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kind_registered_with_one_line_is_read_reconciled_and_stored() {
    if !gitrepo::git_available() {
        ferroflux_testkit::env::skip_or_fail("git binary");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let bare = gitrepo::init_bare(tmp.path(), "fleet.git");
    gitrepo::commit_files(
        &bare,
        "main",
        &[("apps/dummies.yaml", DUMMIES.as_bytes())],
        "dummies",
    );
    let state = StatusStore::open(&tmp.path().join("state.redb")).unwrap();
    let opts = AutomateOptions {
        repo: bare.display().to_string(),
        ..AutomateOptions::default()
    };
    let mut runner = Runner::new(opts, state.clone())
        .unwrap()
        .with_registry(Registry::flux().with::<Dummy>());
    let summary = runner.run_once().await.expect("a pass");

    let hello = ObjectKey::new("Dummy", "apps", "hello");
    let silent = ObjectKey::new("Dummy", "apps", "silent");
    let line = |key: &ObjectKey| {
        summary
            .lines
            .iter()
            .find(|l| &l.key == key)
            .unwrap_or_else(|| panic!("{key} in the summary: {summary}"))
    };
    assert!(line(&hello).ready, "{summary}");
    assert_eq!(
        line(&hello).detail,
        "hello from a kind the runtime does not know"
    );
    assert!(!line(&silent).ready, "{summary}");
    assert_eq!(line(&silent).message, "spec.message is empty");

    // Held as its own type, with the status its job returned ...
    let held = runner.objects().of::<Dummy>();
    assert_eq!(held.len(), 2);
    let conditions = Dummy::conditions(&held[&hello]);
    assert_eq!(conditions.len(), 1);
    assert_eq!(
        (conditions[0].type_.as_str(), conditions[0].status.as_str()),
        ("Ready", "True")
    );
    // ... and that status written to the local home by the job.
    let stored: Option<DummyStatus> = state.get_status(&silent).unwrap();
    let stored = stored.expect("the silent dummy's status in the state file");
    let stalled = status::get(&stored.conditions, "Stalled").expect("Stalled");
    assert_eq!(
        (stalled.status.as_str(), stalled.reason.as_str()),
        ("True", "NoMessage")
    );
}
