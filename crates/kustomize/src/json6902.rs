//! JSON patches (RFC 6902) as kustomize 5.6 applies them (evanphx/json-patch
//! v4.12.0): `add`, `remove`, `replace`, `move`, `copy`, `test`; JSON
//! pointers with `~0`/`~1` escapes, `-` for the end of an array, negative
//! indexes counted from the end. The operations are JSON or YAML text.
//!
//! The library's quirks are kept: `replace` of a missing object key adds
//! it, a missing `value` is null, `test` of a missing key passes against
//! null. Bounded: at most [`MAX_OPS`] operations, pointers of at most
//! [`MAX_POINTER_DEPTH`] tokens, and `copy` may not grow the document past
//! [`MAX_COPIED`] nodes in all.

use ferroflux_api::yaml;

use crate::value::{Value, from_node};

/// Operations one patch may hold.
pub const MAX_OPS: usize = 10_000;
/// Reference tokens one JSON pointer may hold.
pub const MAX_POINTER_DEPTH: usize = 256;
/// Nodes all `copy` operations of one patch may add.
pub const MAX_COPIED: usize = 1_000_000;

/// One operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Op {
    /// `add`, `remove`, ... (`unknown` when missing or not a string).
    pub op: String,
    /// `None`: the operation has no `path` (or it is not a string).
    pub path: Option<String>,
    pub from: Option<String>,
    /// A missing value is null, as in the Go library.
    pub value: Value,
}

/// A decoded patch.
pub type Patch = Vec<Op>;

/// Decode patch text: a JSON array, or YAML (a list of operations).
pub fn decode(text: &str) -> Result<Patch, String> {
    if text.is_empty() {
        return Err("empty json patch operations".to_string());
    }
    let docs =
        yaml::parse_stream_raw(text).map_err(|e| format!("line {}: {}", e.line, e.message))?;
    let mut nodes = docs.into_iter().filter_map(|d| d.node);
    // No document, or null, decodes (as in Go) to no operations.
    let Some(node) = nodes.next() else {
        return Ok(Vec::new());
    };
    let value = from_node(&node);
    if value == Value::Null {
        return Ok(Vec::new());
    }
    let Value::Seq(items) = value else {
        return Err(format!(
            "json: cannot unmarshal {} into Go value of type jsonpatch.Patch",
            json_type(&value)
        ));
    };
    if items.len() > MAX_OPS {
        return Err(format!(
            "the patch holds {} operations, more than {MAX_OPS}",
            items.len()
        ));
    }
    items
        .into_iter()
        .map(|item| {
            let Value::Map(m) = item else {
                return Err(format!(
                    "json: cannot unmarshal {} into Go value of type jsonpatch.Operation",
                    json_type(&item)
                ));
            };
            let string = |k: &str| match m.get(k) {
                Some(Value::Str(s)) => Some(s.clone()),
                _ => None,
            };
            Ok(Op {
                op: string("op").unwrap_or_else(|| "unknown".to_string()),
                path: string("path"),
                from: string("from"),
                value: m.get("value").cloned().unwrap_or(Value::Null),
            })
        })
        .collect()
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Map(_) => "object",
        Value::Seq(_) => "array",
        Value::Str(_) | Value::Timestamp(_) => "string",
        Value::Bool(_) => "bool",
        Value::Null => "null",
        _ => "number",
    }
}

/// Apply `patch` to `doc`, every operation in order.
pub fn apply(doc: &mut Value, patch: &Patch) -> Result<(), String> {
    let mut copied = 0usize;
    for op in patch {
        apply_op(doc, op, &mut copied)?;
    }
    Ok(())
}

fn apply_op(doc: &mut Value, op: &Op, copied: &mut usize) -> Result<(), String> {
    let path = |what: &str| {
        op.path
            .clone()
            .ok_or_else(|| format!("{what} operation failed to decode path"))
    };
    let from = |what: &str| {
        op.from
            .clone()
            .ok_or_else(|| format!("{what} operation failed to decode from"))
    };
    match op.op.as_str() {
        "add" => {
            let path = path("add")?;
            let (con, key) = find(doc, &path)?.ok_or_else(|| {
                format!("add operation does not apply: doc is missing path: \"{path}\"")
            })?;
            add(con, &key, op.value.clone())
                .map_err(|e| format!("error in add for path: '{path}': {e}"))
        }
        "remove" => {
            let path = path("remove")?;
            let (con, key) = find(doc, &path)?.ok_or_else(|| {
                format!("remove operation does not apply: doc is missing path: \"{path}\"")
            })?;
            remove(con, &key)
                .map(|_| ())
                .map_err(|e| format!("error in remove for path: '{path}': {e}"))
        }
        "replace" => {
            let path = path("replace")?;
            if path.is_empty() {
                return match &op.value {
                    Value::Map(_) => {
                        *doc = op.value.clone();
                        Ok(())
                    }
                    _ => Err("replace operation value must be an object".to_string()),
                };
            }
            let (con, key) = find(doc, &path)?.ok_or_else(|| {
                format!("replace operation does not apply: doc is missing path: {path}")
            })?;
            if get(con, &key).is_err() {
                return Err(format!(
                    "replace operation does not apply: doc is missing key: {path}"
                ));
            }
            set(con, &key, op.value.clone())
                .map_err(|e| format!("error in replace for path: '{path}': {e}"))
        }
        "move" => {
            let from = from("move")?;
            let (con, key) = find(doc, &from)?.ok_or_else(|| {
                format!("move operation does not apply: doc is missing from path: {from}")
            })?;
            let val =
                remove(con, &key).map_err(|e| format!("error in move for path: '{key}': {e}"))?;
            let path = path("move")?;
            let (con, key) = find(doc, &path)?.ok_or_else(|| {
                format!("move operation does not apply: doc is missing destination path: {path}")
            })?;
            add(con, &key, val).map_err(|e| format!("error in move for path: '{path}': {e}"))
        }
        "copy" => {
            let from = from("copy")?;
            let (con, key) = find(doc, &from)?.ok_or_else(|| {
                format!("copy operation does not apply: doc is missing from path: {from}")
            })?;
            let val = match get(con, &key) {
                Ok(Some(v)) => v.clone(),
                Ok(None) => Value::Null,
                Err(e) => return Err(format!("error in copy for from: '{from}': {e}")),
            };
            *copied = copied.saturating_add(size(&val));
            if *copied > MAX_COPIED {
                return Err(format!(
                    "copy operations add more than {MAX_COPIED} nodes to the document"
                ));
            }
            let path = path("copy")?;
            let (con, key) = find(doc, &path)?.ok_or_else(|| {
                format!("copy operation does not apply: doc is missing destination path: {path}")
            })?;
            add(con, &key, val).map_err(|e| format!("error while adding value during copy: {e}"))
        }
        "test" => {
            let path = path("test")?;
            let failed = || format!("testing value {path} failed: test failed");
            if path.is_empty() {
                return if equal(doc, &op.value) {
                    Ok(())
                } else {
                    Err(failed())
                };
            }
            let (con, key) = find(doc, &path)?
                .ok_or_else(|| format!("test operation does not apply: is missing path: {path}"))?;
            match get(con, &key) {
                Err(e) => Err(format!("error in test for path: '{path}': {e}")),
                Ok(None) if op.value == Value::Null => Ok(()),
                Ok(Some(v)) if equal(v, &op.value) => Ok(()),
                Ok(_) => Err(failed()),
            }
        }
        other => Err(format!("Unexpected kind: {other}")),
    }
}

fn size(v: &Value) -> usize {
    match v {
        Value::Map(m) => 1 + m.0.iter().map(|(_, v)| size(v)).sum::<usize>(),
        Value::Seq(s) => 1 + s.iter().map(size).sum::<usize>(),
        _ => 1,
    }
}

/// JSON equality: numbers by value, maps regardless of key order.
fn equal(a: &Value, b: &Value) -> bool {
    let num = |v: &Value| match v.resolved() {
        Value::Int(i) => Some(i as f64),
        Value::Uint(u) => Some(u as f64),
        Value::Float(f) => Some(f),
        _ => None,
    };
    match (a.resolved(), b.resolved()) {
        (Value::Map(x), Value::Map(y)) => {
            x.0.len() == y.0.len()
                && x.0
                    .iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| equal(v, w)))
        }
        (Value::Seq(x), Value::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(&y).all(|(v, w)| equal(v, w))
        }
        (x, y) => match (num(&x), num(&y)) {
            (Some(p), Some(q)) => p == q,
            _ => json_text(&x).is_some_and(|t| Some(t) == json_text(&y)),
        },
    }
}

fn json_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => Some("null".to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Str(s) => Some(format!("s{s}")),
        Value::Timestamp(t) => Some(format!(
            "s{}",
            crate::value::parse_timestamp(t).unwrap_or_else(|| t.clone())
        )),
        _ => None,
    }
}

/// RFC 6901 unescaping, as Go's `strings.NewReplacer("~1", "/", "~0", "~")`.
pub fn decode_token(t: &str) -> String {
    t.replace("~1", "/").replace("~0", "~")
}

/// Go's `strconv.Atoi`.
fn atoi(s: &str) -> Result<i64, String> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("strconv.Atoi: parsing {s:?}: invalid syntax"));
    }
    s.parse::<i64>()
        .map_err(|_| format!("strconv.Atoi: parsing {s:?}: value out of range"))
}

fn invalid(idx: i64) -> String {
    format!("Unable to access invalid index: {idx}: invalid index referenced")
}

/// The container a pointer's last token lives in, and that token
/// (evanphx's `findObject`); `None` when a step is missing.
fn find<'a>(doc: &'a mut Value, path: &str) -> Result<Option<(&'a mut Value, String)>, String> {
    let split: Vec<&str> = path.split('/').collect();
    if split.len() < 2 {
        return Ok(None);
    }
    if split.len() - 1 > MAX_POINTER_DEPTH {
        return Err(format!(
            "the JSON pointer {path:?} has more than {MAX_POINTER_DEPTH} tokens"
        ));
    }
    let mut cur = doc;
    for part in &split[1..split.len() - 1] {
        let key = decode_token(part);
        let next = match cur {
            Value::Map(m) => m.get_mut(&key),
            Value::Seq(items) => match atoi(&key) {
                Ok(i) => {
                    let len = items.len() as i64;
                    let i = if i < 0 { i + len } else { i };
                    if i < 0 || i >= len {
                        None
                    } else {
                        items.get_mut(i as usize)
                    }
                }
                Err(_) => None,
            },
            _ => None,
        };
        match next {
            Some(v @ (Value::Map(_) | Value::Seq(_))) => cur = v,
            _ => return Ok(None),
        }
    }
    if !matches!(cur, Value::Map(_) | Value::Seq(_)) {
        return Ok(None);
    }
    Ok(Some((cur, decode_token(split[split.len() - 1]))))
}

/// The place in a list of `len` items that index `i` names (negative
/// counts from the end, as evanphx/json-patch allows); outside, an error.
fn position(i: i64, len: usize) -> Result<usize, String> {
    let n = len as i64;
    if i >= n || i < -n {
        return Err(invalid(i));
    }
    Ok(if i < 0 { i + n } else { i } as usize)
}

fn get<'a>(con: &'a Value, key: &str) -> Result<Option<&'a Value>, String> {
    match con {
        Value::Map(m) => Ok(m.get(key)),
        Value::Seq(items) => {
            let j = position(atoi(key)?, items.len())?;
            Ok(items.get(j))
        }
        _ => Err("not a container".to_string()),
    }
}

fn set(con: &mut Value, key: &str, val: Value) -> Result<(), String> {
    match con {
        Value::Map(m) => {
            m.insert(key, val);
            Ok(())
        }
        Value::Seq(items) => {
            let j = position(atoi(key)?, items.len())?;
            items[j] = val;
            Ok(())
        }
        _ => Err("not a container".to_string()),
    }
}

fn add(con: &mut Value, key: &str, val: Value) -> Result<(), String> {
    match con {
        Value::Map(m) => {
            m.insert(key, val);
            Ok(())
        }
        Value::Seq(items) => {
            if key == "-" {
                items.push(val);
                return Ok(());
            }
            let i = atoi(key)
                .map_err(|e| format!("value was not a proper array index: '{key}': {e}"))?;
            // One past the end is a place to insert.
            let j = position(i, items.len() + 1)?;
            items.insert(j, val);
            Ok(())
        }
        _ => Err("not a container".to_string()),
    }
}

fn remove(con: &mut Value, key: &str) -> Result<Value, String> {
    match con {
        Value::Map(m) => m
            .remove(key)
            .ok_or_else(|| format!("unable to remove nonexistent key: {key}: missing value")),
        Value::Seq(items) => {
            let j = position(atoi(key)?, items.len())?;
            Ok(items.remove(j))
        }
        _ => Err("not a container".to_string()),
    }
}

/// What kustomize's JSON round trip leaves of a patched object: numbers and
/// booleans lose their spelling, timestamps become strings.
pub fn normalize(v: &mut Value) {
    match v {
        Value::Spelled(_) => *v = v.resolved(),
        Value::Timestamp(t) => {
            *v = Value::Str(crate::value::parse_timestamp(t).unwrap_or_else(|| t.clone()))
        }
        Value::Map(m) => m.0.iter_mut().for_each(|(_, x)| normalize(x)),
        Value::Seq(s) => s.iter_mut().for_each(normalize),
        _ => {}
    }
}

#[cfg(test)]
mod tests;
