//! Helm's `pkg/chart/common/util/coalesce.go` (helm-semantics.md §3.4,
//! §3.5): user values over chart defaults, a user `null` deleting a
//! default, subchart scoping, globals copied down; the merge mode
//! (`MergeValues`, nulls kept) used for import-values.

use serde_json::{Map, Value};

use super::Error;
use crate::chart::Chart;

/// `CoalesceValues(chart, user)`: the final `.Values` of `chart` (its
/// subcharts as they are in the tree, so run dependency processing first).
pub fn coalesce_values(
    chart: &Chart,
    user: Map<String, Value>,
) -> Result<Map<String, Value>, Error> {
    let mut dest = user;
    coalesce(chart, &mut dest, false)?;
    Ok(dest)
}

/// `MergeValues(chart, user)`: as [`coalesce_values`] but nulls are kept.
pub fn merge_values(chart: &Chart, user: Map<String, Value>) -> Result<Map<String, Value>, Error> {
    let mut dest = user;
    coalesce(chart, &mut dest, true)?;
    Ok(dest)
}

fn coalesce(chart: &Chart, dest: &mut Map<String, Value>, merge: bool) -> Result<(), Error> {
    coalesce_chart_values(chart, dest, merge);
    coalesce_deps(chart, dest, merge)
}

fn coalesce_deps(chart: &Chart, dest: &mut Map<String, Value>, merge: bool) -> Result<(), Error> {
    for sub in &chart.dependencies {
        let name = sub.name().to_string();
        let mut sub_values = match dest.remove(&name) {
            None => Map::new(),
            Some(Value::Object(m)) => m,
            Some(other) => {
                let shown = go_percent_t(&other);
                dest.insert(name.clone(), other);
                return Err(Error {
                    message: format!("type mismatch on {name}: {shown}"),
                });
            }
        };
        coalesce_globals(&mut sub_values, dest);
        let result = coalesce(sub, &mut sub_values, merge);
        dest.insert(name, Value::Object(sub_values));
        result?;
    }
    Ok(())
}

/// Go's `%t` of a non-bool value (`%!t(string=x)`).
fn go_percent_t(v: &Value) -> String {
    match v {
        Value::Bool(b) => b.to_string(),
        Value::String(s) => format!("%!t(string={s})"),
        Value::Number(n) if n.is_f64() => format!(
            "%!t(float64={})",
            super::go_format_float(n.as_f64().unwrap_or(0.0))
        ),
        Value::Number(n) => format!("%!t(int64={n})"),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(go_percent_t).collect::<Vec<_>>().join(" ")
        ),
        Value::Object(_) => "map[]".to_string(),
        Value::Null => "%!t(<nil>)".to_string(),
    }
}

/// `coalesceGlobals(dest=child, src=parent)`: the parent's `global` copied
/// into the child's, the parent winning.
fn coalesce_globals(dest: &mut Map<String, Value>, src: &Map<String, Value>) {
    let mut dg = match dest.get("global") {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return,
    };
    let empty = Map::new();
    let sg = match src.get("global") {
        None => &empty,
        Some(Value::Object(m)) => m,
        Some(_) => return,
    };
    for (key, val) in sg {
        match val {
            Value::Object(vm) => {
                let mut vv = vm.clone();
                match dg.get(key) {
                    None => {
                        dg.insert(key.clone(), Value::Object(vv));
                    }
                    Some(Value::Object(destv)) => {
                        coalesce_tables(&mut vv, destv.clone(), true);
                        dg.insert(key.clone(), Value::Object(vv));
                    }
                    // "Conflict: cannot merge map onto non-map"
                    Some(_) => {}
                }
            }
            // "key %s is table. Skipping"
            _ if dg.get(key).is_some_and(Value::is_object) => {}
            _ => {
                dg.insert(key.clone(), val.clone());
            }
        }
    }
    dest.insert("global".to_string(), Value::Object(dg));
}

/// `coalesceValues`: the chart's defaults merged under `v`.
fn coalesce_chart_values(chart: &Chart, v: &mut Map<String, Value>, merge: bool) {
    for (key, val) in chart.values.clone() {
        match v.get_mut(&key) {
            Some(Value::Null) if !merge => {
                v.remove(&key);
            }
            Some(Value::Object(dest)) => {
                // A default that is not a table: "skipped value … Not a table".
                if let Value::Object(mut src) = val {
                    let merge = merge || chart.dependencies.iter().any(|s| s.name() == key);
                    if !merge {
                        clean_nil_values(&mut src);
                    }
                    coalesce_tables(dest, src, merge);
                }
            }
            Some(_) => {}
            None => {
                let mut val = val;
                if !merge {
                    if val.is_null() {
                        continue;
                    }
                    if let Value::Object(sub) = &mut val {
                        clean_nil_values(sub);
                    }
                }
                v.insert(key, val);
            }
        }
    }
}

/// `cleanNilValues`: nulls removed at every depth of maps.
pub(crate) fn clean_nil_values(m: &mut Map<String, Value>) {
    m.retain(|_, v| !v.is_null());
    for v in m.values_mut() {
        if let Value::Object(sub) = v {
            clean_nil_values(sub);
        }
    }
}

/// `coalesceTablesFullKey(dst, src, merge)`: `dst` authoritative; a `dst`
/// null deletes a non-null `src` value unless merging.
pub(crate) fn coalesce_tables(
    dst: &mut Map<String, Value>,
    mut src: Map<String, Value>,
    merge: bool,
) {
    let src_non_nil: std::collections::HashSet<String> = src
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, _)| k.clone())
        .collect();
    for (k, v) in dst.iter() {
        if v.is_null() {
            src.insert(k.clone(), Value::Null);
        }
    }
    for (key, val) in src {
        match dst.get_mut(&key) {
            Some(Value::Null) if !merge && src_non_nil.contains(&key) => {
                dst.remove(&key);
            }
            None => {
                dst.insert(key, val);
            }
            Some(Value::Object(dv)) => {
                if let Value::Object(sv) = val {
                    coalesce_tables(dv, sv, merge);
                }
                // dst table, src scalar: dst kept.
            }
            // src table onto a dst non-table: "cannot overwrite table with
            // non table"; scalars: dst wins.
            Some(_) => {}
        }
    }
}
