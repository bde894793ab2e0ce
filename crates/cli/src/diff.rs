//! `ferroflux diff kustomization NAME --path DIR`: what `flux diff
//! kustomization` prints: the local build dry-run applied per object
//! (field manager `kustomize-controller`), `► Kind/ns/name created`,
//! `drifted` with a dyff-style report (Secret values masked), `skipped`,
//! and with `prune` the live inventory ids the build no longer has as
//! `deleted`. Exit 0 when nothing would change, 1 when something would,
//! 2 on an error.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use ferroflux_api::kustomize::{Kustomization, ResourceInventory};
use ferroflux_kube::apply::{Action, DiffOptions, IgnoreRule, ResourceManager};
use ferroflux_kube::inventory::ObjMetadata;
use ferroflux_kustomize::DiskFs;
use ferroflux_kustomize::flux::{self, BuildOptions, SubstituteFrom};
use kube::Api;
use serde_json::Value;

use crate::cluster::{self, ConnectArgs};

#[derive(Subcommand)]
pub enum DiffCommand {
    /// Diff a Flux Kustomization's local build against the cluster, as `flux diff kustomization`.
    #[command(visible_alias = "ks")]
    Kustomization(KustomizationArgs),
}

#[derive(Args)]
pub struct KustomizationArgs {
    /// The Kustomization's name.
    name: String,
    /// Path to the manifests location.
    #[arg(long, default_value = "")]
    path: String,
    /// The Flux Kustomization YAML file (replaces the live object's spec).
    #[arg(long = "kustomization-file")]
    kustomization_file: Option<PathBuf>,
    /// The Kustomization's namespace.
    #[arg(short, long, default_value = "flux-system")]
    namespace: String,
    /// Fail when a variable without a default is referenced but not defined.
    #[arg(long = "strict-substitute")]
    strict_substitute: bool,
    /// Paths to leave out, in .gitignore format, comma-separated.
    #[arg(long = "ignore-paths", value_delimiter = ',')]
    ignore_paths: Vec<String>,
    /// Accepted for compatibility: ferroflux shows no progress bar here.
    #[arg(long = "progress-bar", default_value_t = true, action = clap::ArgAction::Set)]
    progress_bar: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

const CHANGED: &str = "identified at least one change, exiting with non-zero exit code";

pub fn run(cmd: DiffCommand) -> anyhow::Result<ExitCode> {
    let DiffCommand::Kustomization(args) = cmd;
    let _ = args.progress_bar;
    let outcome = match precheck(&args) {
        Ok(()) => cluster::block_on(kustomization(&args))?,
        Err(e) => Err(e),
    };
    match outcome {
        Ok((output, changed)) => {
            std::io::stdout().lock().write_all(output.as_bytes())?;
            if changed {
                cluster::failure(CHANGED);
                return Ok(ExitCode::from(1));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err((output, message)) => {
            std::io::stdout().lock().write_all(output.as_bytes())?;
            cluster::failure(&message);
            Ok(ExitCode::from(2))
        }
    }
}

type Failure = (String, String);

/// Flux's checks of the arguments, before any cluster is contacted.
fn precheck(args: &KustomizationArgs) -> Result<(), Failure> {
    let bad_path = || {
        (
            String::new(),
            format!("invalid resource path {:?}", args.path),
        )
    };
    if args.path.is_empty() || !Path::new(&args.path).is_dir() {
        return Err(bad_path());
    }
    if let Some(f) = &args.kustomization_file
        && !f.is_file()
    {
        return Err((
            String::new(),
            format!("invalid kustomization file {:?}", f.display().to_string()),
        ));
    }
    Ok(())
}

async fn kustomization(args: &KustomizationArgs) -> Result<(String, bool), Failure> {
    let plain = |m: String| (String::new(), m);
    let client = cluster::connect(&args.connect)
        .await
        .map_err(|e| plain(e.to_string()))?;
    let api: Api<Kustomization> = Api::namespaced(client.clone(), &args.namespace);
    let live = api
        .get_opt(&args.name)
        .await
        .map_err(|e| plain(cluster::redact_detail(&e.to_string())))?;
    let ks = match (&args.kustomization_file, live) {
        (Some(file), live) => {
            let text = crate::build::read_text(file).map_err(plain)?;
            let mut ks = flux::select(file, &text, &args.name, &args.namespace)
                .map_err(|e| plain(e.to_string()))?;
            // Flux keeps the live status (the inventory prune compares with).
            if let Some(status) = live.and_then(|l| l.status)
                && status.inventory.is_some()
            {
                ks.status = Some(status);
            }
            ks
        }
        (None, Some(live)) => live,
        (None, None) => {
            return Err(plain(format!(
                "failed to get kustomization object: kustomizations.kustomize.toolkit.fluxcd.io \
                 \"{}\" not found",
                args.name
            )));
        }
    };
    let opts = BuildOptions {
        strict_substitute: args.strict_substitute,
        substitute_from: SubstituteFrom::Skip,
        ignore_paths: args.ignore_paths.clone(),
        ..BuildOptions::default()
    };
    let path = std::path::absolute(&args.path).map_err(|e| plain(e.to_string()))?;
    let fs = DiskFs::new("/").map_err(|e| plain(e.to_string()))?;
    let built = flux::build(&fs, &path, &ks, &opts).map_err(|e| plain(e.to_string()))?;
    let objects = parse_objects(&built.yaml).map_err(plain)?;
    let order: Vec<Option<ObjMetadata>> = objects
        .iter()
        .enumerate()
        .map(|(i, o)| ObjMetadata::from_object(o, i).ok())
        .collect();

    let manager = ResourceManager::new(client);
    let diff_opts = DiffOptions {
        force: ks.spec.force.unwrap_or(false),
        drift_ignore_rules: ks.spec.ignore.iter().map(IgnoreRule::from).collect(),
    };
    let mut report = manager.diff(objects, &diff_opts).await;
    // Flux reports in build order; the diff returns apply order.
    report.drifts.sort_by_key(|d| {
        order
            .iter()
            .position(|m| m.as_ref().is_some_and(|m| same(m, &d.entry.meta)))
            .unwrap_or(usize::MAX)
    });

    let mut out = String::new();
    let mut changed = false;
    let mut new_ids = HashSet::new();
    for d in &report.drifts {
        new_ids.insert(d.entry.meta.id());
        match d.entry.action {
            Action::Skipped => {
                let _ = writeln!(out, "► {} skipped", d.entry.subject);
            }
            Action::Created => {
                let _ = writeln!(out, "► {} created", d.entry.subject);
                changed = true;
            }
            Action::Configured => {
                let _ = writeln!(out, "► {} drifted", d.entry.subject);
                if let (Some(live), Some(merged)) = (&d.live, &d.merged) {
                    out.push('\n');
                    out.push_str(&dyff(live, merged));
                }
                changed = true;
            }
            _ => {}
        }
    }
    if ks.spec.prune && report.errors.is_empty() {
        let inventory = ks
            .status
            .as_ref()
            .and_then(|s| s.inventory.clone())
            .unwrap_or_default();
        for subject in stale(&inventory, &new_ids).map_err(|m| (out.clone(), m))? {
            let _ = writeln!(out, "► {subject} deleted");
            changed = true;
        }
    }
    if !report.errors.is_empty() {
        let messages: Vec<String> = report.errors.iter().map(ToString::to_string).collect();
        let message = if messages.len() == 1 {
            messages[0].clone()
        } else {
            format!("[{}]", messages.join(", "))
        };
        return Err((out, message));
    }
    Ok((out, changed))
}

/// Same object, the namespace aside when the build left it empty (the
/// apiserver fills in the default one).
fn same(built: &ObjMetadata, entry: &ObjMetadata) -> bool {
    built.name == entry.name
        && built.kind == entry.kind
        && built.group == entry.group
        && (built.namespace == entry.namespace || built.namespace.is_empty())
}

/// The live inventory's objects the build no longer has, as subjects.
fn stale(inventory: &ResourceInventory, new_ids: &HashSet<String>) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for e in &inventory.entries {
        let meta = ObjMetadata::parse(&e.id).map_err(|err| {
            format!(
                "status.inventory: entry {:?} is not an inventory id: {err}",
                e.id
            )
        })?;
        if !new_ids.contains(&meta.id()) {
            out.push(meta.subject());
        }
    }
    Ok(out)
}

fn parse_objects(yaml: &str) -> Result<Vec<Value>, String> {
    let docs = ferroflux_api::yaml::parse_stream(yaml)
        .map_err(|e| format!("the build output is not YAML: {e}"))?;
    Ok(docs
        .into_iter()
        .filter_map(|d| d.node.map(|n| n.to_json()))
        .filter(Value::is_object)
        .collect())
}

/// A report of what changed from `live` to `merged` in dyff's layout:
/// each difference as its dotted path, then `± value change` with the old
/// and new values, or the map entries and list items added and removed;
/// named list items are addressed by their `name`.
pub fn dyff(live: &Value, merged: &Value) -> String {
    let mut out = String::new();
    walk("", live, merged, &mut out);
    out
}

fn walk(path: &str, a: &Value, b: &Value, out: &mut String) {
    if a == b {
        return;
    }
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let removed: Vec<(&String, &Value)> =
                x.iter().filter(|(k, _)| !y.contains_key(*k)).collect();
            let added: Vec<(&String, &Value)> =
                y.iter().filter(|(k, _)| !x.contains_key(*k)).collect();
            entries(path, '-', "map entry", "removed", &removed, out);
            entries(path, '+', "map entry", "added", &added, out);
            for (k, v) in x {
                if let Some(w) = y.get(k) {
                    walk(&join(k), v, w, out);
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if named(x) && named(y) => {
            let name = |v: &Value| v["name"].as_str().unwrap_or_default().to_string();
            let ys: Vec<String> = y.iter().map(name).collect();
            let xs: Vec<String> = x.iter().map(name).collect();
            let removed: Vec<&Value> = x.iter().filter(|v| !ys.contains(&name(v))).collect();
            let added: Vec<&Value> = y.iter().filter(|v| !xs.contains(&name(v))).collect();
            items(path, '-', "removed", &removed, out);
            items(path, '+', "added", &added, out);
            for v in x {
                if let Some(w) = y.iter().find(|w| name(w) == name(v)) {
                    walk(&join(&name(v)), v, w, out);
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                walk(&join(&i.to_string()), v, w, out);
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            let removed: Vec<&Value> = x.iter().filter(|v| !y.contains(v)).collect();
            let added: Vec<&Value> = y.iter().filter(|v| !x.contains(v)).collect();
            items(path, '-', "removed", &removed, out);
            items(path, '+', "added", &added, out);
        }
        _ => {
            let _ = writeln!(
                out,
                "{}\n± value change\n- {}\n+ {}\n",
                path_or_root(path),
                scalar(a),
                scalar(b)
            );
        }
    }
}

fn named(list: &[Value]) -> bool {
    !list.is_empty() && list.iter().all(|v| v["name"].is_string())
}

fn path_or_root(path: &str) -> &str {
    if path.is_empty() {
        "(root level)"
    } else {
        path
    }
}

fn count(n: usize) -> String {
    match n {
        1 => "one".into(),
        2 => "two".into(),
        3 => "three".into(),
        n => n.to_string(),
    }
}

fn entries(
    path: &str,
    sign: char,
    what: &str,
    verb: &str,
    list: &[(&String, &Value)],
    out: &mut String,
) {
    if list.is_empty() {
        return;
    }
    let what = match (list.len(), what.strip_suffix('y')) {
        (1, _) => what.to_string(),
        (_, Some(stem)) => format!("{stem}ies"),
        (_, None) => format!("{what}s"),
    };
    let _ = writeln!(
        out,
        "{}\n{sign} {} {what} {verb}:",
        path_or_root(path),
        count(list.len())
    );
    let mut map = serde_json::Map::new();
    for (k, v) in list {
        map.insert((*k).clone(), (*v).clone());
    }
    out.push_str(&yaml_block(&Value::Object(map)));
    out.push('\n');
}

fn items(path: &str, sign: char, verb: &str, list: &[&Value], out: &mut String) {
    if list.is_empty() {
        return;
    }
    let plural = if list.len() == 1 { "" } else { "s" };
    let _ = writeln!(
        out,
        "{}\n{sign} {} list entr{} {verb}:",
        path_or_root(path),
        count(list.len()),
        if plural.is_empty() { "y" } else { "ies" }
    );
    let seq: Vec<Value> = list.iter().map(|v| (*v).clone()).collect();
    out.push_str(&yaml_block(&Value::Array(seq)));
    out.push('\n');
}

/// `v` as block YAML indented by two spaces, as dyff lists what was
/// added or removed (one line of JSON if it cannot be rendered).
fn yaml_block(v: &Value) -> String {
    let text = match ferroflux_kube::render_yaml(std::slice::from_ref(v)) {
        Ok(y) => y.strip_prefix("---\n").unwrap_or(&y).to_string(),
        Err(_) => format!("{v}\n"),
    };
    text.lines().map(|l| format!("  {l}\n")).collect()
}

/// A value on one line: strings bare, the rest as JSON (flow YAML).
fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn value_change_by_named_list_item() {
        let live = json!({"spec": {"ports": [{"name": "http", "port": 9899}]}});
        let merged = json!({"spec": {"ports": [{"name": "http", "port": 9898}]}});
        assert_eq!(
            dyff(&live, &merged),
            "spec.ports.http.port\n± value change\n- 9899\n+ 9898\n\n"
        );
    }

    #[test]
    fn map_entries_added_and_removed() {
        let live = json!({"metadata": {"labels": {"a": "1"}}});
        let merged = json!({"metadata": {"labels": {"b": "2", "c": "3"}}});
        assert_eq!(
            dyff(&live, &merged),
            "metadata.labels\n- one map entry removed:\n  a: '1'\n\n\
             metadata.labels\n+ two map entries added:\n  b: '2'\n  c: '3'\n\n"
        );
    }

    #[test]
    fn nested_entries_and_list_items_as_block_yaml() {
        let live =
            json!({"metadata": {"name": "a"}, "spec": {"ports": [{"name": "http", "port": 80}]}});
        let merged = json!({"metadata": {"name": "a", "labels": {"x": "y"}},
                            "spec": {"ports": [{"name": "http", "port": 80}, {"name": "grpc", "port": 90}]}});
        assert_eq!(
            dyff(&live, &merged),
            "metadata\n+ one map entry added:\n  labels:\n    x: y\n\n\
             spec.ports\n+ one list entry added:\n  - name: grpc\n    port: 90\n\n"
        );
    }

    #[test]
    fn equal_objects_report_nothing() {
        let v = json!({"a": [1, 2], "b": {"c": "d"}});
        assert_eq!(dyff(&v, &v), "");
    }

    #[test]
    fn stale_ids_and_a_broken_id() {
        let inv = ResourceInventory {
            entries: vec![
                ferroflux_api::kustomize::ResourceRef {
                    id: "default_a_apps_Deployment".into(),
                    v: "v1".into(),
                },
                ferroflux_api::kustomize::ResourceRef {
                    id: "default_b__ConfigMap".into(),
                    v: "v1".into(),
                },
            ],
        };
        let keep: HashSet<String> = ["default_b__ConfigMap".to_string()].into();
        assert_eq!(
            stale(&inv, &keep).unwrap(),
            vec!["Deployment/default/a".to_string()]
        );
        let bad = ResourceInventory {
            entries: vec![ferroflux_api::kustomize::ResourceRef {
                id: "nonsense".into(),
                v: "v1".into(),
            }],
        };
        assert!(stale(&bad, &keep).unwrap_err().contains("nonsense"));
    }
}
