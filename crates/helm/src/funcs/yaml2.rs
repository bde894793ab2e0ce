//! `toYaml`: sigs.k8s.io/yaml's `Marshal` (Go's `encoding/json`, read back
//! by yaml.v2, marshalled by yaml.v2). kustomize prints every resource
//! through the same function, so the emitter is `ferroflux-kustomize`'s
//! port of yaml.v2's: sorted keys in yaml.v2's natural order, YAML 1.1
//! quoting, literal blocks, sequences not indented under their key and
//! long lines folded at 80 columns.

use ferroflux_kustomize::value::{Map, Value as Node};
use serde_json::Value;

/// sigs.k8s.io/yaml `Marshal(v)`: the document with its final newline
/// (Helm's `toYaml` strips one). `Err` carries Go's message (Helm's
/// `toYaml` prints `""` then; `mustToYaml` fails the template).
pub fn to_yaml(value: &Value) -> Result<String, String> {
    super::check_depth(value)?;
    node_to_yaml(&node(value))
}

/// [`to_yaml`] of a template value, without printing it as JSON first:
/// the JSON round trip's effects (float64 re-read as an integer when
/// integral, nil slices and maps as `null`) are the emitter's; structs,
/// objects and `[]byte` go through their JSON.
pub fn go_to_yaml(value: &ferroflux_template::Value) -> Result<String, String> {
    node_to_yaml(&go_node(value, 0)?)
}

fn node_to_yaml(node: &Node) -> Result<String, String> {
    check(node)?;
    ferroflux_kustomize::emit::document(node).map_err(|e| e.to_string())
}

fn go_node(value: &ferroflux_template::Value, depth: usize) -> Result<Node, String> {
    use ferroflux_template::Value as G;
    if depth > super::MAX_DEPTH {
        return Err(super::too_deep());
    }
    let go_node = |v: &G| go_node(v, depth + 1);
    Ok(match value {
        G::Invalid | G::Nil => Node::Null,
        G::Bool(b) => Node::Bool(*b),
        G::Int(i) | G::Int64(i) => Node::Int(*i),
        G::Float(f) => Node::Float(*f),
        G::String(s) => Node::Str(s.to_string()),
        G::List(l) if l.nil => Node::Null,
        G::List(l) => Node::Seq(l.items.iter().map(go_node).collect::<Result<_, _>>()?),
        G::Map(m) if m.ty.starts_with("map[string]") => {
            if m.nil {
                Node::Null
            } else {
                let entries = m.entries.borrow();
                let mut out = Vec::with_capacity(entries.len());
                for (k, v) in entries.iter() {
                    let Some(k) = k.as_str() else {
                        return node_via_json(value);
                    };
                    out.push((k.to_string(), go_node(v)?));
                }
                Node::Map(Map(out))
            }
        }
        _ => return node_via_json(value),
    })
}

fn node_via_json(value: &ferroflux_template::Value) -> Result<Node, String> {
    let json = value.to_json()?;
    super::check_depth(&json)?;
    Ok(node(&json))
}

/// yaml.v2 reads each key of the JSON text as a simple key, which must
/// stay on one line and within 1024 characters of its opening quote. Go's
/// JSON writes NEL (U+0085), a line break to YAML, raw; a longer key is
/// one whose escaped spelling is long.
fn check(node: &Node) -> Result<(), String> {
    match node {
        Node::Str(s) => check_document_markers(s),
        Node::Seq(items) => items.iter().try_for_each(check),
        Node::Map(Map(entries)) => {
            for (k, v) in entries {
                if k.contains('\u{85}') {
                    return Err(format!(
                        "yaml: line 2: did not find expected ',' or '}}' (key {k:?} holds U+0085)"
                    ));
                }
                if ferroflux_api::gojson::quote(k).chars().count() > SIMPLE_KEY_LIMIT {
                    return Err(format!(
                        "yaml: line 1: did not find expected ',' or '}}' (a key of {} characters)",
                        k.chars().count()
                    ));
                }
                check(v)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// A raw NEL starts a new line inside the JSON string yaml.v2 reads, and
/// a line starting `--- ` or `... ` there ends the document mid-string.
fn check_document_markers(s: &str) -> Result<(), String> {
    for (i, _) in s.match_indices('\u{85}') {
        let rest = &s[i + '\u{85}'.len_utf8()..];
        for marker in ["---", "..."] {
            if let Some(after) = rest.strip_prefix(marker)
                && (after.starts_with(' ') || after.starts_with('\u{85}'))
            {
                return Err(
                    "yaml: while scanning a quoted scalar: found unexpected document indicator"
                        .to_string(),
                );
            }
        }
    }
    Ok(())
}

/// The characters yaml's scanner allows a simple key, quotes included.
const SIMPLE_KEY_LIMIT: usize = 1024;

fn node(value: &Value) -> Node {
    match value {
        Value::Null => Node::Null,
        Value::Bool(b) => Node::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Node::Int(i)
            } else if let Some(u) = n.as_u64() {
                Node::Uint(u)
            } else {
                Node::Float(n.as_f64().unwrap_or(0.0))
            }
        }
        Value::String(s) => Node::Str(s.clone()),
        Value::Array(items) => Node::Seq(items.iter().map(node).collect()),
        Value::Object(map) => {
            Node::Map(Map(map.iter().map(|(k, v)| (k.clone(), node(v))).collect()))
        }
    }
}
