//! kyaml's field paths, as `vars` and `replacements` read them:
//! `spec.template.spec.containers.[name=web].image`, `ports.0.port`,
//! `metadata.annotations.a\.b` (a dot escaped), `spec.*.name`.
//!
//! Two walks: [`lookup`] (kyaml's `PathGetter`: one node, `[k=v]` matched
//! exactly, no wildcard) for sources, and [`matches()`] (kyaml's
//! `PathMatcher`: every node, `[k=v]` values are unanchored regular
//! expressions, `*` enters every element, missing parts created on request)
//! for replacement targets.

use crate::value::{Map, Value};

/// Longest path accepted (a kustomization is hostile input).
pub const MAX_PARTS: usize = 128;
/// Nodes one [`matches()`] walk may reach.
pub const MAX_MATCHES: usize = 100_000;
/// Size limit of a compiled `[k=v]` pattern.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// kyaml's `SmarterPathSplitter(path, ".")`: `\.` escapes a dot, and a
/// bracketed part may hold dots (`[name=a.b]`).
pub fn split(path: &str) -> Vec<String> {
    let mut parts: Vec<&str> = path.split('.').collect();
    if parts.len() > 1 && parts[0].is_empty() {
        parts.remove(0);
    }
    let mut plain: Vec<String> = Vec::new();
    for p in parts {
        match plain.last_mut() {
            Some(last) if last.ends_with('\\') => {
                last.pop();
                last.push('.');
                last.push_str(p);
            }
            _ => plain.push(p.to_string()),
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < plain.len() {
        let elem = &plain[i];
        if elem.starts_with('[') && !elem.ends_with(']') {
            let mut bracketed = vec![elem.clone()];
            while i < plain.len() - 1 {
                i += 1;
                bracketed.push(plain[i].clone());
                if plain[i].ends_with(']') {
                    break;
                }
            }
            let joined = bracketed.join(".");
            if joined.contains('=') {
                out.push(joined);
            } else {
                out.push(joined.trim_matches(['[', ']']).to_string());
            }
        } else {
            out.push(elem.clone());
        }
        i += 1;
    }
    out
}

/// kyaml's `convertSliceIndex`, which `vars` apply: `ports[0]` is
/// `ports`, `0`.
pub fn split_slice_indexes(parts: Vec<String>) -> Vec<String> {
    let mut out = Vec::with_capacity(parts.len());
    for p in parts {
        if let Some(body) = p.strip_suffix(']')
            && let Some(open) = body.rfind('[')
            && !body[open + 1..].is_empty()
            && body[open + 1..].bytes().all(|b| b.is_ascii_digit())
        {
            if open > 0 {
                out.push(body[..open].to_string());
            }
            out.push(body[open + 1..].to_string());
            continue;
        }
        out.push(p);
    }
    out
}

fn check_len(parts: &[String]) -> Result<(), String> {
    if parts.len() > MAX_PARTS {
        return Err(format!("a field path has more than {MAX_PARTS} parts"));
    }
    Ok(())
}

/// `[name=value]` split (kyaml's `SplitIndexNameValue`).
fn split_index(part: &str) -> Result<(&str, &str), String> {
    let inner = part.strip_suffix(']').unwrap_or(part);
    let inner = inner.strip_prefix('[').unwrap_or(inner);
    inner.split_once('=').ok_or_else(|| {
        format!("list path element {part:?} must contain fieldName=fieldValue for element to match")
    })
}

fn is_list_index(p: &str) -> bool {
    p.starts_with('[') && p.ends_with(']')
}

/// Go's `strconv.Atoi` (a sign allowed) within `i64`.
fn atoi(p: &str) -> Option<i64> {
    let digits = p.strip_prefix(['+', '-']).unwrap_or(p);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    p.parse().ok()
}

fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Map(_) => "MappingNode",
        Value::Seq(_) => "SequenceNode",
        _ => "ScalarNode",
    }
}

fn wrong_kind(expected: &str, got: &Value) -> String {
    format!(
        "wrong node kind: expected {expected} but got {}",
        kind_name(got)
    )
}

/// kyaml's `Lookup(parts...)`: the node at the path, `None` when a part is
/// missing.
pub fn lookup<'v>(root: &'v Value, parts: &[String]) -> Result<Option<&'v Value>, String> {
    check_len(parts)?;
    let mut node = root;
    for part in parts.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        let next = match atoi(part) {
            Some(i) if i < 0 => return Err(format!("array index {i} cannot be negative")),
            Some(i) => match node {
                Value::Seq(items) => usize::try_from(i).ok().and_then(|i| items.get(i)),
                Value::Null => None,
                other => return Err(wrong_kind("SequenceNode", other)),
            },
            None if part == "-" => match node {
                Value::Seq(items) => items.last(),
                Value::Null => None,
                other => return Err(wrong_kind("SequenceNode", other)),
            },
            None if part == "*" => {
                return Err("wildcard is not supported in PathGetter".to_string());
            }
            None if is_list_index(part) => {
                let (key, want) = split_index(part)?;
                match node {
                    Value::Seq(items) => items.iter().find(|item| {
                        if key.is_empty() {
                            item.scalar_text().as_deref() == Some(want)
                        } else {
                            item.as_map()
                                .and_then(|m| m.get(key))
                                .and_then(Value::scalar_text)
                                .as_deref()
                                == Some(want)
                        }
                    }),
                    Value::Null => None,
                    other => return Err(wrong_kind("SequenceNode", other)),
                }
            }
            None => match node {
                Value::Map(m) => m.0.iter().rev().find(|(k, _)| k == part).map(|(_, v)| v),
                Value::Null => None,
                other => return Err(wrong_kind("MappingNode", other)),
            },
        };
        match next {
            Some(n) => node = n,
            None => return Ok(None),
        }
    }
    Ok(Some(node))
}

/// What [`matches()`] creates for a missing leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    Scalar,
    Map,
    Seq,
}

/// A node [`matches()`] reached: `created` when the walk made it (an empty
/// scalar whose value a plain YAML scalar's resolution decides).
pub struct Reached<'v> {
    pub node: &'v mut Value,
    pub created: bool,
}

fn empty_of(kind: Create) -> Value {
    match kind {
        Create::Scalar => Value::Null,
        Create::Map => Value::Map(Map::default()),
        Create::Seq => Value::Seq(Vec::new()),
    }
}

/// The kind of node a part needs under it (kyaml's `getPathPartKind`).
fn part_kind(next: Option<&String>, leaf: Create) -> Create {
    match next {
        None => leaf,
        Some(n) if is_list_index(n) || atoi(n).is_some_and(|i| i >= 0) => Create::Seq,
        Some(n) if n.is_empty() => leaf,
        Some(_) => Create::Map,
    }
}

/// kyaml's `PathMatcher`: every node the path reaches, creating missing
/// parts with `create`.
pub fn matches<'v>(
    root: &'v mut Value,
    parts: &[String],
    create: Option<Create>,
) -> Result<Vec<Reached<'v>>, String> {
    check_len(parts)?;
    // Patterns compile once per path, not once per list walked.
    let patterns = parts
        .iter()
        .map(|p| {
            if !is_list_index(p) {
                return Ok(None);
            }
            let (key, pattern) = split_index(p)?;
            Ok(Some((
                key.to_string(),
                pattern.to_string(),
                compile(pattern)?,
            )))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let mut out = Vec::new();
    walk(root, parts, &patterns, create, false, &mut out)?;
    Ok(out)
}

/// A compiled `[key=pattern]` part.
type Pattern = Option<(String, String, regex::Regex)>;

fn walk<'v>(
    node: &'v mut Value,
    parts: &[String],
    patterns: &[Pattern],
    create: Option<Create>,
    created: bool,
    out: &mut Vec<Reached<'v>>,
) -> Result<(), String> {
    let Some((part, rest)) = parts.split_first() else {
        if out.len() >= MAX_MATCHES {
            return Err(format!(
                "a field path reaches more than {MAX_MATCHES} nodes"
            ));
        }
        out.push(Reached { node, created });
        return Ok(());
    };
    if let Some(i) = atoi(part).filter(|i| *i >= 0) {
        let items = match node {
            Value::Seq(items) => items,
            Value::Null => return index_error(i, 0),
            other => return Err(wrong_kind("SequenceNode", other)),
        };
        let i = usize::try_from(i).map_err(|e| e.to_string())?;
        let mut made = false;
        if let Some(c) = create
            && items.len() == i
        {
            items.push(empty_of(part_kind(rest.first(), c)));
            made = true;
        }
        let len = items.len();
        let Some(item) = items.get_mut(i) else {
            return index_error(i as i64, len);
        };
        return walk(item, rest, &patterns[1..], create, made, out);
    }
    if let Some(pattern) = &patterns[0] {
        return walk_list(node, pattern, rest, &patterns[1..], create, out);
    }
    if part == "*" {
        let items = match node {
            Value::Seq(items) => items,
            Value::Null => return Ok(()),
            other => return Err(wrong_kind("SequenceNode", other)),
        };
        for item in items.iter_mut() {
            walk(item, rest, &patterns[1..], create, false, out)?;
        }
        return Ok(());
    }
    if *node == Value::Null && create.is_some() {
        *node = Value::Map(Map::default());
    }
    let m = match node {
        Value::Map(m) => m,
        Value::Null => return Ok(()),
        other => return Err(wrong_kind("MappingNode", other)),
    };
    let mut made = false;
    if m.get(part).is_none() {
        let Some(c) = create else { return Ok(()) };
        m.insert(part, empty_of(part_kind(rest.first(), c)));
        made = true;
    }
    let field = m.get_mut(part).expect("present or just inserted");
    walk(field, rest, &patterns[1..], create, made, out)
}

fn index_error(i: i64, len: usize) -> Result<(), String> {
    Err(format!("index {i} specified but only {len} elements found"))
}

fn compile(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| {
            format!("the list selector {pattern:?} is not a valid regular expression: {e}")
        })
}

fn walk_list<'v>(
    node: &'v mut Value,
    (key, pattern, re): &(String, String, regex::Regex),
    rest: &[String],
    patterns: &[Pattern],
    create: Option<Create>,
    out: &mut Vec<Reached<'v>>,
) -> Result<(), String> {
    let (key, pattern) = (key.as_str(), pattern.as_str());
    if *node == Value::Null && create.is_some() {
        *node = Value::Seq(Vec::new());
    }
    let items = match node {
        Value::Seq(items) => items,
        Value::Null => return Ok(()),
        other => return Err(wrong_kind("SequenceNode", other)),
    };
    let hit = |item: &Value| -> bool {
        let text = if key.is_empty() {
            item.scalar_text()
        } else {
            item.as_map()
                .and_then(|m| m.get(key))
                .and_then(Value::scalar_text)
        };
        text.is_some_and(|t| re.is_match(t.trim()))
    };
    let mut made = None;
    if !items.iter().any(hit) {
        let Some(_) = create else { return Ok(()) };
        made = Some(items.len());
        items.push(if key.is_empty() {
            crate::value::resolve_plain(pattern)
        } else {
            Value::Map(Map(vec![(
                key.to_string(),
                crate::value::resolve_plain(pattern),
            )]))
        });
    }
    for (i, item) in items.iter_mut().enumerate() {
        if hit(item) {
            walk(item, rest, patterns, create, made == Some(i), out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
