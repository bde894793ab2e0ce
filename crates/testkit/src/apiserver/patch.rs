//! Patches: JSON merge patch (RFC 7386), JSON patch (RFC 6902), strategic
//! merge patch approximated as a merge patch once its `$`-directives are
//! dropped (lists are replaced, not merged by key), and the `fieldsV1` sets
//! that server-side apply records in `managedFields`.

use serde_json::{Map, Value};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Error {
    #[error("json patch: operation {index} is not an object with an \"op\"")]
    Malformed { index: usize },
    #[error("json patch: operation {index} ({op}): path {path:?} {why}")]
    Path {
        index: usize,
        op: String,
        path: String,
        why: &'static str,
    },
    #[error("json patch: operation {index}: test failed at {path:?}")]
    TestFailed { index: usize, path: String },
    #[error("json patch: operation {index}: unknown op {op:?}")]
    UnknownOp { index: usize, op: String },
}

/// RFC 7386: objects merge recursively, `null` deletes, anything else replaces.
pub fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(map) = target else {
        return;
    };
    for (k, v) in patch {
        if v.is_null() {
            map.remove(k);
        } else {
            merge(map.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

/// Drop strategic-merge directives (`$patch`, `$retainKeys`,
/// `$setElementOrder/...`, `$deleteFromPrimitiveList/...`), which a plain
/// merge cannot honour.
pub fn strip_directives(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|k, _| !k.starts_with('$'));
            map.values_mut().for_each(strip_directives);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_directives),
        _ => {}
    }
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn tokens(path: &str) -> Vec<String> {
    if path.is_empty() {
        return Vec::new();
    }
    path.trim_start_matches('/')
        .split('/')
        .map(unescape)
        .collect()
}

fn get_mut<'a>(doc: &'a mut Value, toks: &[String]) -> Option<&'a mut Value> {
    let mut cur = doc;
    for t in toks {
        cur = match cur {
            Value::Object(m) => m.get_mut(t)?,
            Value::Array(a) => a.get_mut(t.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn add(doc: &mut Value, toks: &[String], value: Value) -> Result<(), &'static str> {
    let Some((last, parent)) = toks.split_last() else {
        *doc = value;
        return Ok(());
    };
    match get_mut(doc, parent).ok_or("has no parent")? {
        Value::Object(m) => {
            m.insert(last.clone(), value);
            Ok(())
        }
        Value::Array(a) => {
            let idx = if last == "-" {
                a.len()
            } else {
                last.parse::<usize>().map_err(|_| "is not an array index")?
            };
            if idx > a.len() {
                return Err("is out of bounds");
            }
            a.insert(idx, value);
            Ok(())
        }
        _ => Err("has a parent that is not a container"),
    }
}

fn remove(doc: &mut Value, toks: &[String]) -> Result<Value, &'static str> {
    let (last, parent) = toks.split_last().ok_or("is the root")?;
    match get_mut(doc, parent).ok_or("has no parent")? {
        Value::Object(m) => m.remove(last).ok_or("does not exist"),
        Value::Array(a) => {
            let idx = last.parse::<usize>().map_err(|_| "is not an array index")?;
            if idx >= a.len() {
                return Err("is out of bounds");
            }
            Ok(a.remove(idx))
        }
        _ => Err("has a parent that is not a container"),
    }
}

/// RFC 6902, applied to a copy so that a failing operation changes nothing.
pub fn json_patch(doc: &Value, ops: &Value) -> Result<Value, Error> {
    let mut out = doc.clone();
    let ops = ops.as_array().ok_or(Error::Malformed { index: 0 })?;
    for (index, op) in ops.iter().enumerate() {
        let name = op["op"].as_str().ok_or(Error::Malformed { index })?;
        let path = op["path"].as_str().unwrap_or_default().to_string();
        let toks = tokens(&path);
        let fail = |why| Error::Path {
            index,
            op: name.to_string(),
            path: path.clone(),
            why,
        };
        match name {
            "add" => add(&mut out, &toks, op["value"].clone()).map_err(fail)?,
            "remove" => {
                remove(&mut out, &toks).map_err(fail)?;
            }
            "replace" => {
                let slot = get_mut(&mut out, &toks).ok_or_else(|| fail("does not exist"))?;
                *slot = op["value"].clone();
            }
            "move" | "copy" => {
                let from = tokens(op["from"].as_str().unwrap_or_default());
                let value = if name == "move" {
                    remove(&mut out, &from).map_err(fail)?
                } else {
                    get_mut(&mut out, &from)
                        .ok_or_else(|| fail("has no source"))?
                        .clone()
                };
                add(&mut out, &toks, value).map_err(fail)?;
            }
            "test" => {
                let slot = get_mut(&mut out, &toks).ok_or_else(|| fail("does not exist"))?;
                if *slot != op["value"] {
                    return Err(Error::TestFailed { index, path });
                }
            }
            other => {
                return Err(Error::UnknownOp {
                    index,
                    op: other.to_string(),
                });
            }
        }
    }
    Ok(out)
}

/// The `fieldsV1` set of an applied configuration: every object key as
/// `f:<key>`, lists and scalars as leaves (`{}`). Server-side apply's
/// `k:`/`v:` list keys are not computed.
pub fn fields_v1(applied: &Value) -> Value {
    let mut out = Map::new();
    if let Value::Object(m) = applied {
        for (k, v) in m {
            if matches!(k.as_str(), "apiVersion" | "kind") {
                continue;
            }
            let child = match v {
                Value::Object(_) => fields_v1(v),
                _ => Value::Object(Map::new()),
            };
            out.insert(format!("f:{k}"), child);
        }
    }
    Value::Object(out)
}
