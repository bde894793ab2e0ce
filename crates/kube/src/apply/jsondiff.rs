//! JSON Patch drift (Flux's `pkg/ssa/jsondiff`, which helm-controller's
//! drift detection uses): a server-side dry-run of each object, compared
//! with the live one as a JSON Patch (labels and annotations added or
//! changed, and everything outside `metadata` and `status`), ignore rules
//! removed from both sides first; and the correction, which creates the
//! missing objects and sends the patches of the drifted ones.

use futures_util::StreamExt;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::{Map, Value};

use super::ignore::Compiled;
use super::{ApplyError, Desired, IgnoreRule, ResourceManager, dry_run_error, redact};
use crate::inventory::any_in_metadata;

/// What the dry-run says of one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffType {
    /// Live and desired agree.
    None,
    /// The object is missing from the cluster.
    Create,
    /// The live object differs.
    Update,
    /// Left out (an exclusion label or annotation, or the root path
    /// ignored).
    Exclude,
}

/// One object's diff: its subject (`Kind/namespace/name`), the desired
/// object as sent, and for an update the JSON Patch (RFC 6902 operations)
/// that turns the live object into the dry-run one, with the `add`,
/// `replace` and `remove` counts of Flux's rationalized patch (where a
/// subtree's operations longer than one replace of it count as that
/// replace). The patch applied is the plain one: a rationalized replace
/// of a whole subtree would drop what the diff left out of it.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonDiff {
    pub type_: DiffType,
    pub subject: String,
    pub desired: Value,
    pub patch: Vec<Value>,
    pub counts: (usize, usize, usize),
}

/// How to diff.
#[derive(Debug, Clone, Default)]
pub struct JsonDiffOptions {
    /// Objects carrying one of these labels or annotations (desired or
    /// live) are excluded.
    pub exclusions: Vec<(String, String)>,
    /// Pointers left out of the comparison; `""` excludes the object.
    pub ignore: Vec<IgnoreRule>,
}

/// The diffs of the objects (in the given order) and the errors of those
/// that could not be diffed (every object is tried, Flux's `Graceful`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JsonDiffSet {
    pub diffs: Vec<JsonDiff>,
    pub errors: Vec<String>,
}

impl JsonDiffSet {
    /// `DiffSet.HasChanges`: anything to create or update.
    pub fn has_changes(&self) -> bool {
        self.diffs
            .iter()
            .any(|d| matches!(d.type_, DiffType::Create | DiffType::Update))
    }
}

/// Dry-runs in flight at once.
const CONCURRENCY: usize = 4;

/// One operation of `wI2L/jsondiff`'s `Compare` (no factorization, no
/// LCS), with the JSON length of its value as that package counts it.
#[derive(Debug, Clone, PartialEq)]
struct Op {
    op: &'static str,
    path: String,
    value: Option<Value>,
    value_len: usize,
}

impl Op {
    /// `Operation.jsonLength`: `{"op":"","path":""}`, `,"value":` and the
    /// value's compact JSON (an `add` counts none of its value).
    fn json_len(&self) -> usize {
        let mut l = 19 + self.op.len() + self.path.len();
        if matches!(self.op, "add" | "replace") {
            l += 9 + self.value_len;
        }
        l
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("op".into(), self.op.into());
        m.insert("path".into(), self.path.clone().into());
        if let Some(v) = &self.value {
            m.insert("value".into(), v.clone());
        }
        Value::Object(m)
    }
}

fn ops_len(ops: &[Op]) -> usize {
    ops.iter().map(Op::json_len).sum::<usize>() + ops.len().saturating_sub(1)
}

/// Go's compact JSON length: `encoding/json` escapes `<`, `>` and `&` as
/// `\u003c` and the like.
fn go_json_len(v: &Value) -> usize {
    let text = serde_json::to_string(v).unwrap_or_default();
    text.len() + 5 * text.matches(['<', '>', '&']).count()
}

fn json_type(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    }
}

fn child(ptr: &str, key: &str) -> String {
    format!("{ptr}/{}", key.replace('~', "~0").replace('/', "~1"))
}

/// `Differ.diff`: keys in sorted order, arrays by index (removals at the
/// first index past the shorter, additions at `-`), and with
/// `rationalize` a subtree whose operations are longer than one replace
/// of it becomes that replace.
fn compare(ptr: &str, src: &Value, tgt: &Value, rationalize: bool, ops: &mut Vec<Op>) {
    let replace = |ops: &mut Vec<Op>| {
        ops.push(Op {
            op: "replace",
            path: ptr.to_string(),
            value: Some(tgt.clone()),
            value_len: go_json_len(tgt),
        })
    };
    if json_type(src) != json_type(tgt) {
        if ptr.is_empty() {
            ops.push(Op {
                op: "add",
                path: String::new(),
                value: Some(tgt.clone()),
                value_len: 0,
            });
        } else {
            replace(ops);
        }
        return;
    }
    if src == tgt {
        return;
    }
    let start = ops.len();
    match (src, tgt) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let p = child(ptr, k);
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => compare(&p, x, y, rationalize, ops),
                    (Some(_), None) => ops.push(Op {
                        op: "remove",
                        path: p,
                        value: None,
                        value_len: 0,
                    }),
                    (None, Some(y)) => ops.push(Op {
                        op: "add",
                        path: p,
                        value: Some(y.clone()),
                        value_len: 0,
                    }),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            let ml = a.len().min(b.len());
            for _ in ml..a.len() {
                ops.push(Op {
                    op: "remove",
                    path: format!("{ptr}/{ml}"),
                    value: None,
                    value_len: 0,
                });
            }
            for i in 0..ml {
                compare(&format!("{ptr}/{i}"), &a[i], &b[i], rationalize, ops);
            }
            for y in &b[ml..] {
                ops.push(Op {
                    op: "add",
                    path: format!("{ptr}/-"),
                    value: Some(y.clone()),
                    value_len: 0,
                });
            }
        }
        _ => {
            replace(ops);
            return;
        }
    }
    if rationalize && ops.len() > start {
        let whole = Op {
            op: "replace",
            path: ptr.to_string(),
            value: Some(tgt.clone()),
            value_len: go_json_len(tgt),
        };
        if ops_len(&ops[start..]) > whole.json_len() {
            ops.truncate(start);
            ops.push(whole);
        }
    }
}

/// Flux's two comparisons of the (ignore-stripped) live and dry-run
/// objects: `{metadata: {name, annotations, labels}}` keeping only adds
/// and replaces (core controllers add labels of their own), then the
/// object without `metadata` and `status`.
fn comparisons(live: &Value, dry_run: &Value, rationalize: bool) -> Vec<Op> {
    let meta_of = |v: &Value| {
        let mut m = Map::new();
        for key in ["name", "annotations", "labels"] {
            if let Some(x) = v["metadata"].get(key) {
                m.insert(key.to_string(), x.clone());
            }
        }
        let mut out = Map::new();
        out.insert("metadata".into(), Value::Object(m));
        Value::Object(out)
    };
    let rest_of = |v: &Value| {
        let mut m = v.as_object().cloned().unwrap_or_default();
        m.remove("metadata");
        m.remove("status");
        Value::Object(m)
    };
    let mut meta = Vec::new();
    compare(
        "",
        &meta_of(live),
        &meta_of(dry_run),
        rationalize,
        &mut meta,
    );
    meta.retain(|o| matches!(o.op, "add" | "replace"));
    compare(
        "",
        &rest_of(live),
        &rest_of(dry_run),
        rationalize,
        &mut meta,
    );
    meta
}

/// The patch to apply (plain) and the counts of Flux's rationalized one.
fn patch_ops(live: &Value, dry_run: &Value) -> (Vec<Value>, (usize, usize, usize)) {
    let plain: Vec<Value> = comparisons(live, dry_run, false)
        .iter()
        .map(Op::to_json)
        .collect();
    let flux = comparisons(live, dry_run, true);
    let count = |op: &str| flux.iter().filter(|o| o.op == op).count();
    (plain, (count("add"), count("replace"), count("remove")))
}

fn excluded(obj: &Value, exclusions: &[(String, String)]) -> bool {
    let pairs: Vec<(&str, &str)> = exclusions
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    any_in_metadata(obj, &pairs)
}

impl ResourceManager {
    /// `jsondiff.UnstructuredList`: nothing is written.
    pub async fn json_diff(&self, objects: Vec<Value>, opts: &JsonDiffOptions) -> JsonDiffSet {
        let mut set = JsonDiffSet::default();
        let ignore = match Compiled::new(&opts.ignore) {
            Ok(c) => c,
            Err(e) => {
                set.errors.push(e.to_string());
                return set;
            }
        };
        let mut desired = Vec::with_capacity(objects.len());
        for (i, o) in objects.into_iter().enumerate() {
            match Desired::new(o, i) {
                Ok(d) => desired.push(d),
                Err(e) => set.errors.push(e.to_string()),
            }
        }
        let ignore = &ignore;
        let results: Vec<Result<JsonDiff, ApplyError>> = futures_util::stream::iter(desired)
            .map(|d| async move { self.json_diff_one(d, opts, ignore).await })
            .buffered(CONCURRENCY)
            .collect()
            .await;
        for r in results {
            match r {
                Ok(d) => set.diffs.push(d),
                Err(e) => set.errors.push(e.to_string()),
            }
        }
        set
    }

    async fn json_diff_one(
        &self,
        desired: Desired,
        opts: &JsonDiffOptions,
        ignore: &Compiled,
    ) -> Result<JsonDiff, ApplyError> {
        let diff = |type_, (patch, counts)| JsonDiff {
            type_,
            subject: desired.subject(),
            desired: desired.object.clone(),
            patch,
            counts,
        };
        if excluded(&desired.object, &opts.exclusions) || ignore.ignores_root(&desired.object) {
            return Ok(diff(DiffType::Exclude, Default::default()));
        }
        let api = self.api_for(&desired).await?;
        let live = self.get(&api, &desired).await?;
        if live.as_ref().is_some_and(|l| excluded(l, &opts.exclusions)) {
            return Ok(diff(DiffType::Exclude, Default::default()));
        }
        let mut dry_run = match self.write(&api, &desired, true).await {
            Ok(v) => v,
            Err(e) => return Err(dry_run_error(&desired, &e)),
        };
        let Some(mut live) = live.filter(|_| !dry_run["metadata"]["resourceVersion"].is_null())
        else {
            return Ok(diff(DiffType::Create, Default::default()));
        };
        if let Some(hpa) = dry_run.as_object_mut() {
            super::diff::dedupe_hpa_metrics(hpa);
        }
        let matcher = desired.object.clone();
        ignore.strip(&matcher, &mut dry_run);
        ignore.strip(&matcher, &mut live);
        let patch = patch_ops(&live, &dry_run);
        if patch.0.is_empty() {
            return Ok(diff(DiffType::None, Default::default()));
        }
        Ok(diff(DiffType::Update, patch))
    }

    /// `ApplyDiff`: creates the missing objects, then sends the patches of
    /// the drifted ones, each as this manager; the corrected objects'
    /// lines (`ConfigMap/ns/name created|configured`) and the failures
    /// (`<subject> creation failure: …`, `<subject> patch failure: …`).
    pub async fn apply_json_diff(&self, set: &[JsonDiff]) -> (Vec<String>, Vec<String>) {
        let mut creates: Vec<&JsonDiff> =
            set.iter().filter(|d| d.type_ == DiffType::Create).collect();
        let mut patches: Vec<&JsonDiff> =
            set.iter().filter(|d| d.type_ == DiffType::Update).collect();
        let order = |d: &&JsonDiff| {
            let m = &d.desired["metadata"];
            let api_version = d.desired["apiVersion"].as_str().unwrap_or_default();
            (
                crate::inventory::group_of(api_version).to_string(),
                d.desired["kind"].as_str().unwrap_or_default().to_string(),
                m["namespace"].as_str().unwrap_or_default().to_string(),
                m["name"].as_str().unwrap_or_default().to_string(),
            )
        };
        creates.sort_by_key(order);
        patches.sort_by_key(order);
        let (mut done, mut errors) = (Vec::new(), Vec::new());
        for d in creates {
            match self.create_one(d).await {
                Ok(()) => done.push(format!("{} created", d.subject)),
                Err(e) => errors.push(format!("{} creation failure: {e}", d.subject)),
            }
        }
        for d in patches {
            match self.patch_one(d).await {
                Ok(()) => done.push(format!("{} configured", d.subject)),
                Err(e) => errors.push(format!("{} patch failure: {e}", d.subject)),
            }
        }
        (done, errors)
    }

    async fn create_one(&self, d: &JsonDiff) -> Result<(), String> {
        let desired = Desired::new(d.desired.clone(), 0).map_err(|e| e.to_string())?;
        let api = self.api_for(&desired).await.map_err(|e| e.to_string())?;
        let obj: kube::api::DynamicObject =
            serde_json::from_value(desired.object.clone()).map_err(|e| e.to_string())?;
        let params = PostParams {
            field_manager: Some(self.field_manager.clone()),
            ..PostParams::default()
        };
        api.create(&params, &obj)
            .await
            .map(|_| ())
            .map_err(|e| redact(&desired, &e))
    }

    async fn patch_one(&self, d: &JsonDiff) -> Result<(), String> {
        let desired = Desired::new(d.desired.clone(), 0).map_err(|e| e.to_string())?;
        let api = self.api_for(&desired).await.map_err(|e| e.to_string())?;
        let patch: json_patch::Patch =
            serde_json::from_value(Value::Array(d.patch.clone())).map_err(|e| e.to_string())?;
        let params = PatchParams {
            field_manager: Some(self.field_manager.clone()),
            ..PatchParams::default()
        };
        api.patch(&desired.meta.name, &params, &Patch::Json::<()>(patch))
            .await
            .map(|_| ())
            .map_err(|e| redact(&desired, &e))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_patch_has_metadata_additions_and_changes_but_no_removals() {
        let live = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "labels": {"x": "1", "extra": "k"}, "resourceVersion": "5"},
            "data": {"a": "edited", "gone": "1"}});
        let dry = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "labels": {"x": "2", "new": "n"}, "resourceVersion": "5"},
            "data": {"a": "want", "b": "added"}});
        let (ops, counts) = patch_ops(&live, &dry);
        // Plain: labels x replaced, new added (extra's removal left out);
        // data a replaced, b added, gone removed.
        let kinds: Vec<&str> = ops.iter().filter_map(|o| o["op"].as_str()).collect();
        assert_eq!(
            kinds,
            ["add", "replace", "replace", "add", "remove"],
            "{ops:?}"
        );
        // Flux's rationalized count: three operations on a small map are
        // longer than one replace of it, for labels as for data.
        assert_eq!(counts, (0, 2, 0));
        let mut patched = live.clone();
        let p: json_patch::Patch = serde_json::from_value(Value::Array(ops)).unwrap();
        json_patch::patch(&mut patched, &p).unwrap();
        assert_eq!(patched["data"], dry["data"]);
        assert_eq!(patched["metadata"]["labels"]["extra"], "k");
        assert_eq!(patched["metadata"]["labels"]["x"], "2");
    }

    #[test]
    fn equal_objects_have_no_patch_whatever_their_status_and_versions() {
        let live = json!({"kind": "Deployment", "metadata": {"name": "a", "resourceVersion": "1",
            "managedFields": []}, "spec": {"replicas": 1}, "status": {"ready": 1}});
        let dry = json!({"kind": "Deployment", "metadata": {"name": "a", "resourceVersion": "2"},
            "spec": {"replicas": 1}});
        assert!(patch_ops(&live, &dry).0.is_empty());
    }

    #[test]
    fn flux_counts_one_edited_field_as_one_change() {
        let live = json!({"kind": "ConfigMap", "metadata": {"name": "a"},
            "data": {"a": "edited", "b": "2"}});
        let dry = json!({"kind": "ConfigMap", "metadata": {"name": "a"},
            "data": {"a": "1", "b": "2"}});
        let (ops, counts) = patch_ops(&live, &dry);
        assert_eq!(
            ops,
            [json!({"op": "replace", "path": "/data/a", "value": "1"})]
        );
        assert_eq!(counts, (0, 1, 0));
    }

    #[test]
    fn arrays_compare_by_index_removing_past_the_shorter_and_appending() {
        let mut ops = Vec::new();
        compare(
            "/l",
            &json!(["a", "b", "c", "d"]),
            &json!(["a", "x"]),
            false,
            &mut ops,
        );
        let got: Vec<Value> = ops.iter().map(Op::to_json).collect();
        assert_eq!(
            got,
            [
                json!({"op": "remove", "path": "/l/2"}),
                json!({"op": "remove", "path": "/l/2"}),
                json!({"op": "replace", "path": "/l/1", "value": "x"}),
            ]
        );
        let mut doc = json!({"l": ["a", "b", "c", "d"]});
        let p: json_patch::Patch = serde_json::from_value(Value::Array(got)).unwrap();
        json_patch::patch(&mut doc, &p).unwrap();
        assert_eq!(doc, json!({"l": ["a", "x"]}));
        let mut ops = Vec::new();
        compare(
            "/l",
            &json!([1]),
            &json!([1, {"k": "a~/b"}]),
            false,
            &mut ops,
        );
        assert_eq!(
            ops[0].to_json(),
            json!({"op": "add", "path": "/l/-", "value": {"k": "a~/b"}})
        );
        // Keys are escaped in pointers, and a type change is a replace.
        let mut ops = Vec::new();
        compare(
            "",
            &json!({"a/b~": 1}),
            &json!({"a/b~": "1"}),
            true,
            &mut ops,
        );
        assert_eq!(
            ops[0].to_json(),
            json!({"op": "replace", "path": "/a~1b~0", "value": "1"})
        );
    }

    #[test]
    fn go_escapes_html_characters_in_its_json_lengths() {
        assert_eq!(go_json_len(&json!("a<b")), 10);
        assert_eq!(go_json_len(&json!({"k": 1})), 7);
    }

    #[test]
    fn exclusions_read_labels_and_annotations() {
        let ex = vec![(
            "helm.toolkit.fluxcd.io/driftDetection".to_string(),
            "disabled".to_string(),
        )];
        let o = json!({"metadata": {"annotations": {"helm.toolkit.fluxcd.io/driftDetection": "disabled"}}});
        assert!(excluded(&o, &ex));
        let o =
            json!({"metadata": {"labels": {"helm.toolkit.fluxcd.io/driftDetection": "enabled"}}});
        assert!(!excluded(&o, &ex));
    }

    /// A client of an apiserver that is not there (nothing listens on
    /// port 1).
    fn nowhere() -> ResourceManager {
        let config = kube::Config::new("http://127.0.0.1:1".parse().unwrap());
        ResourceManager::new(kube::Client::try_from(config).unwrap())
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn a_bad_ignore_rule_is_the_set_s_error_and_nothing_is_asked() {
        let opts = JsonDiffOptions {
            ignore: vec![IgnoreRule {
                paths: vec!["/data".into()],
                target: Some(crate::apply::IgnoreTarget {
                    kind: "(".into(),
                    ..Default::default()
                }),
            }],
            ..Default::default()
        };
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "ns"}});
        let set = runtime().block_on(async { nowhere().json_diff(vec![cm], &opts).await });
        assert!(set.diffs.is_empty());
        assert_eq!(set.errors.len(), 1, "{:?}", set.errors);
        assert!(
            set.errors[0].starts_with("invalid kind regex"),
            "{:?}",
            set.errors
        );
    }

    #[test]
    fn objects_that_cannot_be_read_or_reached_are_errors_the_others_still_diffed() {
        let excluded = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "skip", "namespace": "ns",
                "labels": {"helm.toolkit.fluxcd.io/driftDetection": "disabled"}}});
        let root = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "whole", "namespace": "ns"}});
        let nameless = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}});
        let unreachable = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "namespace": "ns"}});
        let opts = JsonDiffOptions {
            exclusions: vec![(
                "helm.toolkit.fluxcd.io/driftDetection".into(),
                "disabled".into(),
            )],
            ignore: vec![IgnoreRule {
                paths: vec![String::new()],
                target: Some(crate::apply::IgnoreTarget {
                    name: "whole".into(),
                    ..Default::default()
                }),
            }],
        };
        let set = runtime().block_on(async {
            nowhere()
                .json_diff(vec![excluded, root, nameless, unreachable], &opts)
                .await
        });
        let types: Vec<(&str, DiffType)> = set
            .diffs
            .iter()
            .map(|d| (d.subject.as_str(), d.type_))
            .collect();
        assert_eq!(
            types,
            [
                ("ConfigMap/ns/skip", DiffType::Exclude),
                ("ConfigMap/ns/whole", DiffType::Exclude)
            ]
        );
        assert!(!set.has_changes());
        assert_eq!(set.errors.len(), 2, "{:?}", set.errors);
        assert!(
            set.errors.iter().any(|e| e.contains("name")),
            "{:?}",
            set.errors
        );
        assert!(
            set.errors.iter().any(|e| e.contains("ConfigMap/ns/a")),
            "{:?}",
            set.errors
        );
    }

    #[test]
    fn corrections_that_fail_name_their_object_and_keep_secret_values_out() {
        let secret = json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s", "namespace": "ns"}, "data": {"k": "c2VjcmV0"}});
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "ns"}});
        let diffs = vec![
            JsonDiff {
                type_: DiffType::Update,
                subject: "Secret/ns/s".into(),
                desired: secret,
                patch: vec![json!({"op": "replace", "path": "/data/k", "value": "c2VjcmV0"})],
                counts: (0, 1, 0),
            },
            JsonDiff {
                type_: DiffType::Create,
                subject: "ConfigMap/ns/c".into(),
                desired: cm,
                patch: vec![],
                counts: (0, 0, 0),
            },
            JsonDiff {
                type_: DiffType::None,
                subject: "ConfigMap/ns/same".into(),
                desired: Value::Null,
                patch: vec![],
                counts: (0, 0, 0),
            },
        ];
        let (done, errors) = runtime().block_on(async { nowhere().apply_json_diff(&diffs).await });
        assert!(done.is_empty());
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            errors[0].starts_with("ConfigMap/ns/c creation failure: "),
            "creates first: {errors:?}"
        );
        assert!(
            errors[1].starts_with("Secret/ns/s patch failure: "),
            "{errors:?}"
        );
        assert!(!errors.iter().any(|e| e.contains("c2VjcmV0")), "{errors:?}");
    }

    #[test]
    fn a_set_has_changes_only_with_creates_or_updates() {
        let d = |t| JsonDiff {
            type_: t,
            subject: "s".into(),
            desired: Value::Null,
            patch: vec![],
            counts: (0, 0, 0),
        };
        let mut set = JsonDiffSet {
            diffs: vec![d(DiffType::None), d(DiffType::Exclude)],
            errors: vec![],
        };
        assert!(!set.has_changes());
        set.diffs.push(d(DiffType::Create));
        assert!(set.has_changes());
    }
}
