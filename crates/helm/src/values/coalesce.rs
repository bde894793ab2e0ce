//! Helm's `pkg/chart/common/util/coalesce.go` (helm-semantics.md §3.4,
//! §3.5): user values over chart defaults, a user `null` deleting a
//! default, subchart scoping, globals copied down; the merge mode
//! (`MergeValues`, nulls kept) used for import-values.
//!
//! Go maps are references, and Helm copies some deeply and some shallowly
//! (`coalesceGlobals` copies a parent's `global.<k>` one level deep only),
//! so a table two levels under `global` is one object shared by a parent,
//! its subcharts and their siblings: keys a subchart's defaults add there
//! show in every chart's `.Values` (observed with helm v4.2.4). To give the
//! same values, coalescing runs on a tree whose maps are shared the way
//! Go's are ([`G`]), and is converted to JSON values at the end.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::rc::Rc;

use serde_json::{Map, Value};

use super::Error;
use crate::chart::Chart;

/// A Go `map[string]any`: shared by reference when cloned.
pub(crate) type Node = Rc<RefCell<BTreeMap<String, G>>>;

/// A Go value inside values: a map (by reference) or anything else (by
/// value: scalars, nil, lists, which coalescing never changes in place).
#[derive(Clone, Debug)]
pub(crate) enum G {
    Map(Node),
    Other(Value),
}

/// Deepest tree converted back (a guard; Go's trees are acyclic here).
const MAX_DEPTH: usize = 10_000;

impl G {
    pub(crate) fn is_null(&self) -> bool {
        matches!(self, G::Other(Value::Null))
    }
}

pub(crate) fn new_node() -> Node {
    Rc::new(RefCell::new(BTreeMap::new()))
}

/// A fresh tree (Go's `copystructure.Copy`) from JSON values.
pub(crate) fn from_map(m: &Map<String, Value>) -> Node {
    let node = new_node();
    {
        let mut n = node.borrow_mut();
        for (k, v) in m {
            n.insert(k.clone(), from_value(v));
        }
    }
    node
}

fn from_value(v: &Value) -> G {
    match v {
        Value::Object(m) => G::Map(from_map(m)),
        other => G::Other(other.clone()),
    }
}

/// `copystructure.Copy` of a tree: every map a new one.
pub(crate) fn deep_copy(node: &Node) -> Node {
    let copy = new_node();
    {
        let src = node.borrow();
        let mut dst = copy.borrow_mut();
        for (k, v) in src.iter() {
            let v = match v {
                G::Map(m) => G::Map(deep_copy(m)),
                other => other.clone(),
            };
            dst.insert(k.clone(), v);
        }
    }
    copy
}

/// The JSON values of a tree.
pub(crate) fn to_map(node: &Node) -> Map<String, Value> {
    to_map_at(node, 0)
}

fn to_map_at(node: &Node, depth: usize) -> Map<String, Value> {
    let mut out = Map::new();
    if depth > MAX_DEPTH {
        return out;
    }
    for (k, v) in node.borrow().iter() {
        let v = match v {
            G::Map(m) => Value::Object(to_map_at(m, depth + 1)),
            G::Other(v) => v.clone(),
        };
        out.insert(k.clone(), v);
    }
    out
}

fn get(node: &Node, key: &str) -> Option<G> {
    node.borrow().get(key).cloned()
}

fn insert(node: &Node, key: &str, val: G) {
    node.borrow_mut().insert(key.to_string(), val);
}

/// `CoalesceValues(chart, user)`: the final `.Values` of `chart` (its
/// subcharts as they are in the tree, so run dependency processing first).
pub fn coalesce_values(
    chart: &Chart,
    user: Map<String, Value>,
) -> Result<Map<String, Value>, Error> {
    let dest = from_map(&user);
    coalesce(chart, &dest, false)?;
    Ok(to_map(&dest))
}

/// `MergeValues(chart, user)`: as [`coalesce_values`] but nulls are kept.
pub fn merge_values(chart: &Chart, user: Map<String, Value>) -> Result<Map<String, Value>, Error> {
    Ok(to_map(&merge_values_tree(chart, &user)?))
}

/// [`merge_values`] as a shared tree (import-values works on it).
pub(crate) fn merge_values_tree(chart: &Chart, user: &Map<String, Value>) -> Result<Node, Error> {
    let dest = from_map(user);
    coalesce(chart, &dest, true)?;
    Ok(dest)
}

fn coalesce(chart: &Chart, dest: &Node, merge: bool) -> Result<(), Error> {
    coalesce_chart_values(chart, dest, merge);
    coalesce_deps(chart, dest, merge)
}

fn coalesce_deps(chart: &Chart, dest: &Node, merge: bool) -> Result<(), Error> {
    for sub in &chart.dependencies {
        let name = sub.name();
        let sub_values = match get(dest, name) {
            None => {
                let n = new_node();
                insert(dest, name, G::Map(n.clone()));
                n
            }
            Some(G::Map(n)) => n,
            Some(G::Other(other)) => {
                return Err(Error {
                    message: format!("type mismatch on {name}: {}", go_percent_t(&other)),
                });
            }
        };
        coalesce_globals(&sub_values, dest);
        coalesce(sub, &sub_values, merge)?;
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
/// into the child's (the child's own `global` map is changed in place),
/// each of the parent's tables copied one level deep only.
fn coalesce_globals(dest: &Node, src: &Node) {
    let dg = match get(dest, "global") {
        None => new_node(),
        Some(G::Map(m)) => m,
        // "skipping globals because destination global is not a table"
        Some(G::Other(_)) => return,
    };
    let sg: Vec<(String, G)> = match get(src, "global") {
        None => Vec::new(),
        Some(G::Map(m)) => m
            .borrow()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        Some(G::Other(_)) => return,
    };
    for (key, val) in sg {
        match val {
            G::Map(vm) => {
                // copyMap: a new map holding the same values.
                let vv: Node = Rc::new(RefCell::new(vm.borrow().clone()));
                match get(&dg, &key) {
                    None => insert(&dg, &key, G::Map(vv)),
                    Some(G::Map(destv)) => {
                        coalesce_tables(&vv, &destv, true);
                        insert(&dg, &key, G::Map(vv));
                    }
                    // "Conflict: cannot merge map onto non-map"
                    Some(G::Other(_)) => {}
                }
            }
            // "key %s is table. Skipping"
            _ if matches!(get(&dg, &key), Some(G::Map(_))) => {}
            other => insert(&dg, &key, other),
        }
    }
    insert(dest, "global", G::Map(dg));
}

/// `coalesceValues`: the chart's defaults (a deep copy) merged under `v`.
fn coalesce_chart_values(chart: &Chart, v: &Node, merge: bool) {
    let defaults = from_map(&chart.values);
    let entries: Vec<(String, G)> = defaults
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, val) in entries {
        match get(v, &key) {
            Some(G::Other(Value::Null)) if !merge => {
                v.borrow_mut().remove(&key);
            }
            Some(G::Map(dest)) => {
                // A default that is not a table: "skipped value … Not a table".
                if let G::Map(src) = val {
                    let merge = merge || chart.dependencies.iter().any(|s| s.name() == key);
                    if !merge {
                        clean_nil_values(&src);
                    }
                    coalesce_tables(&dest, &src, merge);
                }
            }
            Some(G::Other(_)) => {}
            None => {
                if !merge {
                    if val.is_null() {
                        continue;
                    }
                    if let G::Map(sub) = &val {
                        clean_nil_values(sub);
                    }
                }
                insert(v, &key, val);
            }
        }
    }
}

/// `cleanNilValues`: nulls removed at every depth of maps, in place.
fn clean_nil_values(m: &Node) {
    let subs: Vec<Node> = {
        let mut map = m.borrow_mut();
        map.retain(|_, v| !v.is_null());
        map.values()
            .filter_map(|v| match v {
                G::Map(n) => Some(n.clone()),
                G::Other(_) => None,
            })
            .collect()
    };
    for s in subs {
        if !Rc::ptr_eq(&s, m) {
            clean_nil_values(&s);
        }
    }
}

/// `coalesceTablesFullKey(dst, src, merge)`: `dst` authoritative; a `dst`
/// null deletes a non-null `src` value unless merging. `src` gains `dst`'s
/// nulls, and `src`'s maps are put into `dst` by reference, as in Go.
pub(crate) fn coalesce_tables(dst: &Node, src: &Node, merge: bool) {
    if Rc::ptr_eq(dst, src) {
        return;
    }
    let src_non_nil: HashSet<String> = src
        .borrow()
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, _)| k.clone())
        .collect();
    let dst_nulls: Vec<String> = dst
        .borrow()
        .iter()
        .filter(|(_, v)| v.is_null())
        .map(|(k, _)| k.clone())
        .collect();
    for k in dst_nulls {
        insert(src, &k, G::Other(Value::Null));
    }
    let entries: Vec<(String, G)> = src
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, val) in entries {
        match get(dst, &key) {
            Some(G::Other(Value::Null)) if !merge && src_non_nil.contains(&key) => {
                dst.borrow_mut().remove(&key);
            }
            None => insert(dst, &key, val),
            Some(G::Map(dv)) => {
                // dst table, src scalar: dst kept.
                if let G::Map(sv) = val {
                    coalesce_tables(&dv, &sv, merge);
                }
            }
            // src table onto a dst non-table: "cannot overwrite table with
            // non table"; scalars: dst wins.
            Some(G::Other(_)) => {}
        }
    }
}

/// `Values.Table(name)` on a tree: the table at a dotted path.
pub(crate) fn table(v: &Node, name: &str) -> Option<Node> {
    let mut t = v.clone();
    for seg in name.split('.') {
        let next = match get(&t, seg) {
            Some(G::Map(m)) => m,
            _ => return None,
        };
        t = next;
    }
    Some(t)
}
