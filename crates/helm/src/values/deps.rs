//! Helm's `ProcessDependencies` (`pkg/chart/v2/util/dependencies.go`,
//! helm-semantics.md §2.5, §3.6): subcharts matched to Chart.yaml entries
//! (name and version range), aliases applied, disabled ones (tags, then
//! conditions) removed from the tree, then import-values and exports merged
//! into each parent's defaults.

use serde_json::{Map, Value};

use super::Error;
use super::coalesce::{
    G, Node, coalesce_tables, coalesce_values, deep_copy, merge_values_tree, new_node,
    table as node_table, to_map,
};
use crate::chart::Chart;
use crate::chart::semver::is_compatible_range;

/// Helm's `ProcessDependencies(chart, user)`.
pub fn process_dependencies(chart: &mut Chart, user: &Map<String, Value>) -> Result<(), Error> {
    process_enabled(chart, user, "", 0)?;
    process_import_values_tree(chart)
}

/// Most segments of an import-values `parent` path (Helm has no bound; a
/// stranger's chart must not nest values deeper than our walks go).
pub const MAX_IMPORT_PATH: usize = 100;

/// Deepest chart tree processed (the loader bounds it too).
const MAX_DEPTH: usize = crate::chart::MAX_CHART_DEPTH + 1;

fn declares(chart: &Chart) -> bool {
    chart.metadata.declares_dependencies || !chart.metadata.dependencies.is_empty()
}

fn process_enabled(
    chart: &mut Chart,
    v: &Map<String, Value>,
    path: &str,
    depth: usize,
) -> Result<(), Error> {
    if !declares(chart) {
        return Ok(());
    }
    if depth > MAX_DEPTH {
        return Err(Error {
            message: format!("subcharts nest deeper than {MAX_DEPTH} levels"),
        });
    }
    let existing = std::mem::take(&mut chart.dependencies);
    let reqs = &mut chart.metadata.dependencies;
    let mut kept: Vec<Chart> = existing
        .iter()
        .filter(|c| {
            !reqs
                .iter()
                .any(|r| c.name() == r.name && is_compatible_range(&r.version, &c.metadata.version))
        })
        .cloned()
        .collect();
    for req in reqs.iter_mut() {
        let found = existing.iter().find(|c| {
            c.name() == req.name && is_compatible_range(&req.version, &c.metadata.version)
        });
        if let Some(c) = found {
            let mut copy = c.clone();
            if !req.alias.is_empty() {
                copy.metadata.name = req.alias.clone();
            }
            kept.push(copy);
        }
        if !req.alias.is_empty() {
            req.name = req.alias.clone();
        }
        req.enabled = true;
    }
    chart.dependencies = kept;
    let cvals = coalesce_values(chart, v.clone())?;
    process_tags(chart, &cvals);
    process_conditions(chart, &cvals, path);
    let removed: Vec<String> = chart
        .metadata
        .dependencies
        .iter()
        .filter(|r| !r.enabled)
        .map(|r| r.name.clone())
        .collect();
    chart
        .dependencies
        .retain(|c| !removed.iter().any(|r| r == c.name()));
    chart
        .metadata
        .dependencies
        .retain(|r| !removed.contains(&r.name));
    for sub in &mut chart.dependencies {
        let subpath = format!("{path}{}.", sub.name());
        process_enabled(sub, &cvals, &subpath, depth + 1)?;
    }
    if chart.metadata.dependencies.is_empty() {
        // Go rebuilds the list by appending to nil: nothing left is nil.
        chart.metadata.declares_dependencies = false;
    }
    Ok(())
}

fn process_tags(chart: &mut Chart, cvals: &Map<String, Value>) {
    let Some(Value::Object(tags)) = cvals.get("tags") else {
        return;
    };
    for r in &mut chart.metadata.dependencies {
        let (mut has_true, mut has_false) = (false, false);
        for k in &r.tags {
            match tags.get(k) {
                Some(Value::Bool(true)) => has_true = true,
                Some(Value::Bool(false)) => has_false = true,
                // Non-bool: "returned non-bool value", ignored.
                _ => {}
            }
        }
        // Disabled only when some tag is false and none is true.
        r.enabled = has_true || !has_false;
    }
}

fn process_conditions(chart: &mut Chart, cvals: &Map<String, Value>, path: &str) {
    for r in &mut chart.metadata.dependencies {
        for c in r.condition.trim_matches(char::is_whitespace).split(',') {
            if c.is_empty() {
                continue;
            }
            if let Some(Value::Bool(b)) = path_value(cvals, &format!("{path}{c}")) {
                r.enabled = *b;
                break;
            }
        }
    }
}

/// `Values.Table(name)`: the table at a dotted path.
pub(crate) fn table<'v>(v: &'v Map<String, Value>, name: &str) -> Option<&'v Map<String, Value>> {
    let mut t = v;
    for seg in name.split('.') {
        match t.get(seg) {
            Some(Value::Object(m)) => t = m,
            _ => return None,
        }
    }
    Some(t)
}

/// `Values.PathValue(path)`: a non-table value at a dotted path.
fn path_value<'v>(v: &'v Map<String, Value>, path: &str) -> Option<&'v Value> {
    if path.is_empty() {
        return None;
    }
    let (parent, key) = match path.rsplit_once('.') {
        Some((p, k)) => (table(v, p)?, k),
        None => (v, path),
    };
    parent.get(key).filter(|x| !x.is_object())
}

fn process_import_values_tree(chart: &mut Chart) -> Result<(), Error> {
    for sub in &mut chart.dependencies {
        process_import_values_tree(sub)?;
    }
    process_import_values(chart)
}

/// Go's `fmt.Sprintf("%v", x)` of an import-values field.
fn go_v(x: Option<&Value>) -> String {
    match x {
        None | Some(Value::Null) => "<nil>".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) if n.is_f64() => super::go_format_float(n.as_f64().unwrap_or(0.0)),
        Some(Value::Number(n)) => n.to_string(),
        Some(other) => other.to_string(),
    }
}

fn path_to_map(path: &str, data: Node) -> Node {
    if path == "." {
        return data;
    }
    let mut cur = data;
    for seg in path.split('.').rev() {
        let m = new_node();
        m.borrow_mut().insert(seg.to_string(), G::Map(cur));
        cur = m;
    }
    cur
}

fn process_import_values(chart: &mut Chart) -> Result<(), Error> {
    if !declares(chart) {
        return Ok(());
    }
    // On shared trees, as Go's maps: an imported table is put into `b` by
    // reference, so a later import into the same place changes it in
    // `cvals` too.
    let cvals = merge_values_tree(chart, &Map::new())?;
    let b = new_node();
    for r in &mut chart.metadata.dependencies {
        let mut out = Vec::new();
        for riv in &r.import_values {
            match riv {
                Value::Object(iv) => {
                    let child = go_v(iv.get("child"));
                    let parent = go_v(iv.get("parent"));
                    if parent.split('.').count() > MAX_IMPORT_PATH {
                        return Err(Error {
                            message: format!(
                                "import-values parent {parent:?} of {} nests deeper than \
                                 {MAX_IMPORT_PATH} levels",
                                r.name
                            ),
                        });
                    }
                    out.push(normalised(&child, &parent));
                    let Some(vv) = node_table(&cvals, &format!("{}.{child}", r.name)) else {
                        // "ImportValues missing table from chart"
                        continue;
                    };
                    coalesce_tables(&b, &path_to_map(&parent, vv), true);
                }
                Value::String(iv) => {
                    let child = format!("exports.{iv}");
                    out.push(normalised(&child, "."));
                    let Some(vm) = node_table(&cvals, &format!("{}.{child}", r.name)) else {
                        continue;
                    };
                    coalesce_tables(&b, &vm, true);
                }
                _ => {}
            }
        }
        r.import_values = out;
    }
    let values = deep_copy(&cvals);
    coalesce_tables(&values, &b, true);
    chart.values = to_map(&values);
    Ok(())
}

fn normalised(child: &str, parent: &str) -> Value {
    let mut m = Map::new();
    m.insert("child".to_string(), Value::String(child.to_string()));
    m.insert("parent".to_string(), Value::String(parent.to_string()));
    Value::Object(m)
}
