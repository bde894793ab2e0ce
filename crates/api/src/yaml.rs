//! A YAML tree that remembers where every node came from.
//!
//! serde's YAML deserialisers lose positions, and a finding without a line is
//! useless in a repository of hundreds of files. This module builds a small
//! tree from `saphyr-parser` events, resolving plain scalars with the YAML 1.2
//! core schema (as Kubernetes' `sigs.k8s.io/yaml` does for the values Flux
//! objects hold), then hands serde a `serde_json::Value`.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span};

/// Largest stream read at all, in bytes: 16 MiB, room for a bundle of
/// CRDs (Flux's own `gotk-components.yaml` is under 1 MiB).
pub const MAX_STREAM_BYTES: usize = 16 << 20;
/// Largest document, in characters: 3 MiB, the request body Kubernetes'
/// apiserver accepts; a bigger object could never be applied anyway.
pub const MAX_DOCUMENT_CHARS: usize = 3 << 20;
/// Deepest nesting of sequences and mappings. Flux objects nest about ten
/// levels; the bound keeps every recursive walk of the tree (to JSON, serde,
/// drop) far from the stack's end.
pub const MAX_DEPTH: usize = 256;
/// Nodes that aliases may add to one document. Without a budget, ten nested
/// anchors of ten aliases each (a 1 kB "billion laughs") expand to 10^10
/// nodes; Go's yaml.v2/v3 refuse the same with "excessive aliasing".
pub const MAX_ALIAS_NODES: usize = 100_000;
/// Scalar text that aliases may add to one document (one long anchored
/// string repeated is the other half of the bomb).
pub const MAX_ALIAS_BYTES: usize = 16 << 20;

/// One node with its 1-based line and column.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub line: usize,
    pub col: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A string scalar; `quoted` tells whether the source used quotes.
    Str {
        text: String,
        quoted: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

/// A mapping entry: the key (as text) with its own position.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_line: usize,
    /// The key was written quoted or as a block scalar, so it is a string
    /// whatever its text (`"1": x`); a plain key's type is the reader's to
    /// resolve (`1: x` is an integer key in Go's yaml.v3).
    pub key_quoted: bool,
    pub value: Node,
}

/// One document of a stream; `node` is `None` for an empty document (a file
/// holding only comments, or a stray `---`).
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub node: Option<Node>,
    pub line: usize,
}

/// Why a stream could not be read as YAML.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{col}: {message}")]
pub struct YamlError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str { text, .. } => Some(text),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| e.key == key).map(|e| &e.value),
            _ => None,
        }
    }

    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| e.key == key),
            _ => None,
        }
    }

    /// Follow a dotted path such as `spec.filterTags.pattern` (numeric
    /// segments index sequences).
    pub fn at(&self, path: &str) -> Option<&Node> {
        let mut node = self;
        for seg in path.split('.').filter(|s| !s.is_empty()) {
            node = match &node.value {
                Value::Map(_) => node.get(seg)?,
                Value::Seq(items) => items.get(seg.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// The line of the deepest node on `path` that exists; for a missing
    /// field that is its parent's line, for an unknown field its key's line.
    pub fn line_of(&self, path: &[String]) -> usize {
        let mut node = self;
        let mut line = self.line;
        for seg in path {
            let next = match &node.value {
                Value::Map(entries) => entries
                    .iter()
                    .find(|e| &e.key == seg)
                    .map(|e| (e.key_line, &e.value)),
                Value::Seq(items) => seg
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| items.get(i))
                    .map(|n| (n.line, n)),
                _ => None,
            };
            let Some((at, n)) = next else { break };
            line = at;
            node = n;
        }
        line
    }

    pub fn to_json(&self) -> serde_json::Value {
        match &self.value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => {
                serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, Into::into)
            }
            Value::Str { text, .. } => serde_json::Value::String(text.clone()),
            Value::Seq(items) => items.iter().map(Node::to_json).collect(),
            Value::Map(entries) => serde_json::Value::Object(
                entries
                    .iter()
                    .map(|e| (e.key.clone(), e.value.to_json()))
                    .collect(),
            ),
        }
    }
}

/// Parse a whole stream into documents.
pub fn parse_stream(source: &str) -> Result<Vec<Document>, YamlError> {
    parse_with(source, false, false)
}

/// Parse a whole stream, keeping every scalar's text unresolved: a plain
/// scalar comes out as `Str { quoted: false }` with its source text, a quoted,
/// block or `!!str`-tagged one as `Str { quoted: true }`. For callers that
/// resolve types by another schema than YAML 1.2 core (kustomize resolves
/// `0777`, `1_000` and dates as Go's yaml.v3 does), with the same budgets.
pub fn parse_stream_raw(source: &str) -> Result<Vec<Document>, YamlError> {
    parse_with(source, true, false)
}

/// [`parse_stream_raw`] where a repeated key replaces the earlier one, as
/// Go's yaml.v2 reads into a map (kustomize reads `kustomization.yaml` so).
pub fn parse_stream_raw_last_key_wins(source: &str) -> Result<Vec<Document>, YamlError> {
    parse_with(source, true, true)
}

/// [`parse_stream_raw`] (or, with `last_key_wins`, its last-key-wins
/// variant) with the stream and document size budgets raised to
/// `max_bytes`, for documents that are no Kubernetes object (a Helm
/// repository's `index.yaml` may hold 50 MiB). Depth and alias budgets
/// are unchanged.
pub fn parse_stream_raw_sized(
    source: &str,
    last_key_wins: bool,
    max_bytes: usize,
) -> Result<Vec<Document>, YamlError> {
    parse_sized(source, true, last_key_wins, max_bytes, max_bytes)
}

fn parse_with(source: &str, raw: bool, last_key_wins: bool) -> Result<Vec<Document>, YamlError> {
    parse_sized(
        source,
        raw,
        last_key_wins,
        MAX_STREAM_BYTES,
        MAX_DOCUMENT_CHARS,
    )
}

fn parse_sized(
    source: &str,
    raw: bool,
    last_key_wins: bool,
    max_stream_bytes: usize,
    max_document_chars: usize,
) -> Result<Vec<Document>, YamlError> {
    // saphyr accepts a stream that opens with `...`; libyaml, PyYAML and
    // kubectl do not, and it is always an elision copied from an article.
    let first = source
        .lines()
        .enumerate()
        .find(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    if let Some((i, _)) = first.filter(|(_, l)| l.trim_end() == "...") {
        return Err(YamlError {
            line: i + 1,
            col: 1,
            message: "the stream starts with `...`, a YAML document-end marker, before any \
                      document; if it stands for elided lines, replace it with real content"
                .to_string(),
        });
    }
    if source.len() > max_stream_bytes {
        return Err(YamlError {
            line: 1,
            col: 1,
            message: format!(
                "file is {} bytes, more than the {max_stream_bytes} bytes a manifest file may hold",
                source.len()
            ),
        });
    }
    let mut builder = Builder {
        raw,
        last_key_wins,
        max_document_chars,
        ..Builder::default()
    };
    for event in Parser::new_from_str(source) {
        let (event, span) = event.map_err(|e| scan_error(source, &e))?;
        builder.event(event, span)?;
    }
    Ok(builder.documents)
}

fn scan_error(source: &str, e: &ScanError) -> YamlError {
    let marker = e.marker();
    let (line, col) = (marker.line(), marker.col() + 1);
    let mut message = e.info().to_string();
    if message.contains("escape") {
        // Seed 000's trap: a regex in a double-quoted YAML string.
        let text = source.lines().nth(line.saturating_sub(1)).unwrap_or("");
        let escape = text
            .char_indices()
            .filter(|(_, c)| *c == '\\')
            .map(|(i, _)| {
                let next = text[i + 1..].chars().next().map_or(0, char::len_utf8);
                &text[i..i + 1 + next]
            })
            .find(|esc| !VALID_ESCAPES.iter().any(|v| esc.starts_with(v)));
        let esc = escape.unwrap_or("\\");
        message = format!(
            "invalid escape `{esc}` in a double-quoted string: YAML reads backslashes in \"...\" \
             as escapes; write `{doubled}` or use single quotes ('...'), where backslashes are \
             literal",
            doubled = esc.replace('\\', "\\\\"),
        );
    }
    YamlError { line, col, message }
}

/// Escapes YAML allows in double-quoted scalars.
const VALID_ESCAPES: &[&str] = &[
    "\\0", "\\a", "\\b", "\\t", "\\\t", "\\n", "\\v", "\\f", "\\r", "\\e", "\\ ", "\\\"", "\\/",
    "\\\\", "\\N", "\\_", "\\L", "\\P", "\\x", "\\u", "\\U",
];

enum Frame {
    Seq(Node, usize),
    Map {
        node: Node,
        anchor: usize,
        pending_key: Option<(String, usize, bool)>,
        merges: Vec<Node>,
        keys: HashSet<String>,
    },
}

/// An anchored node and what one alias of it costs.
struct Anchored {
    node: Node,
    cost: Cost,
}

/// Size of a subtree: nodes, scalar bytes, height.
#[derive(Debug, Clone, Copy, Default)]
struct Cost {
    nodes: usize,
    bytes: usize,
    height: usize,
}

fn cost(node: &Node) -> Cost {
    let children = |nodes: &mut dyn Iterator<Item = &Node>| {
        nodes.fold(Cost::default(), |acc, n| {
            let c = cost(n);
            Cost {
                nodes: acc.nodes.saturating_add(c.nodes),
                bytes: acc.bytes.saturating_add(c.bytes),
                height: acc.height.max(c.height),
            }
        })
    };
    let (inner, bytes) = match &node.value {
        Value::Seq(items) => (children(&mut items.iter()), 0),
        Value::Map(entries) => {
            let keys = entries.iter().map(|e| e.key.len()).sum::<usize>();
            (children(&mut entries.iter().map(|e| &e.value)), keys)
        }
        Value::Str { text, .. } => (Cost::default(), text.len()),
        _ => (Cost::default(), 0),
    };
    Cost {
        nodes: inner.nodes.saturating_add(1),
        bytes: inner.bytes.saturating_add(bytes),
        height: inner.height + 1,
    }
}

#[derive(Default)]
struct Builder {
    documents: Vec<Document>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Anchored>,
    doc_line: usize,
    doc_start: usize,
    current: Option<Node>,
    /// What aliases added to the current document so far.
    expanded: Cost,
    /// Keep scalars unresolved ([`parse_stream_raw`]).
    raw: bool,
    /// A repeated key replaces the earlier one instead of failing.
    last_key_wins: bool,
    /// The document size budget ([`MAX_DOCUMENT_CHARS`] unless raised).
    max_document_chars: usize,
}

impl Builder {
    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), YamlError> {
        let line = span.start.line();
        let col = span.start.col() + 1;
        let error = |message: String| YamlError { line, col, message };
        if span.end.index().saturating_sub(self.doc_start) > self.max_document_chars {
            return Err(error(format!(
                "document starting at line {} is longer than {} characters, \
                 the most Kubernetes accepts for one object",
                self.doc_line, self.max_document_chars
            )));
        }
        match event {
            Event::DocumentStart(_) => {
                self.doc_line = line;
                self.doc_start = span.start.index();
                self.current = None;
                self.anchors.clear();
                self.expanded = Cost::default();
            }
            Event::DocumentEnd => {
                let node = self.current.take().filter(|n| {
                    let empty_raw = matches!(&n.value, Value::Str { text, quoted: false }
                        if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"));
                    n.value != Value::Null && !empty_raw
                });
                self.documents.push(Document {
                    node,
                    line: self.doc_line,
                });
            }
            Event::Scalar(text, style, anchor, tag) => {
                let tag = tag.as_deref().map(|t| t.suffix.as_str());
                let value = if self.raw {
                    Value::Str {
                        quoted: style != ScalarStyle::Plain || tag == Some("str"),
                        text: text.into_owned(),
                    }
                } else {
                    resolve_scalar(text, style, tag)
                };
                let node = Node { value, line, col };
                self.remember(anchor, &node);
                self.push_node(node)?;
            }
            Event::Alias(id) => {
                let anchored = self
                    .anchors
                    .get(&id)
                    .ok_or_else(|| error("alias refers to an unknown anchor".to_string()))?;
                let c = anchored.cost;
                let nodes = self.expanded.nodes.saturating_add(c.nodes);
                let bytes = self.expanded.bytes.saturating_add(c.bytes);
                if nodes > MAX_ALIAS_NODES {
                    return Err(error(format!(
                        "document uses excessive aliasing ({nodes} nodes expanded, limit \
                         {MAX_ALIAS_NODES})"
                    )));
                }
                if bytes > MAX_ALIAS_BYTES {
                    return Err(error(format!(
                        "document uses excessive aliasing ({bytes} bytes of text expanded, \
                         limit {MAX_ALIAS_BYTES})"
                    )));
                }
                if self.stack.len() + c.height > MAX_DEPTH {
                    return Err(error(format!(
                        "alias nests the document deeper than {MAX_DEPTH} levels"
                    )));
                }
                self.expanded.nodes = nodes;
                self.expanded.bytes = bytes;
                let node = anchored.node.clone();
                self.push_node(node)?;
            }
            Event::SequenceStart(..) | Event::MappingStart(..) if self.stack.len() >= MAX_DEPTH => {
                return Err(error(format!(
                    "sequences and mappings nest deeper than {MAX_DEPTH} levels"
                )));
            }
            Event::SequenceStart(anchor, _) => {
                let node = Node {
                    value: Value::Seq(Vec::new()),
                    line,
                    col,
                };
                self.stack.push(Frame::Seq(node, anchor));
            }
            Event::MappingStart(anchor, _) => {
                let node = Node {
                    value: Value::Map(Vec::new()),
                    line,
                    col,
                };
                self.stack.push(Frame::Map {
                    node,
                    anchor,
                    pending_key: None,
                    merges: Vec::new(),
                    keys: HashSet::new(),
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    Some(Frame::Seq(node, anchor)) => (node, anchor),
                    Some(Frame::Map {
                        mut node,
                        anchor,
                        merges,
                        mut keys,
                        ..
                    }) => {
                        if let Value::Map(entries) = &mut node.value {
                            for source in merges {
                                merge_into(entries, &mut keys, source);
                            }
                        }
                        (node, anchor)
                    }
                    None => return Ok(()),
                };
                self.remember(anchor, &node);
                self.push_node(node)?;
            }
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
        }
        Ok(())
    }

    fn remember(&mut self, anchor: usize, node: &Node) {
        if anchor > 0 {
            let anchored = Anchored {
                node: node.clone(),
                cost: cost(node),
            };
            self.anchors.insert(anchor, anchored);
        }
    }

    fn push_node(&mut self, node: Node) -> Result<(), YamlError> {
        let last_key_wins = self.last_key_wins;
        match self.stack.last_mut() {
            None => self.current = Some(node),
            Some(Frame::Seq(seq, _)) => {
                if let Value::Seq(items) = &mut seq.value {
                    items.push(node);
                }
            }
            Some(Frame::Map {
                node: map,
                pending_key,
                merges,
                keys,
                ..
            }) => match pending_key.take() {
                None => {
                    let quoted = matches!(node.value, Value::Str { quoted: true, .. });
                    *pending_key = Some((key_text(&node), node.line, quoted));
                }
                Some((key, key_line, key_quoted)) => {
                    let Value::Map(entries) = &mut map.value else {
                        return Ok(());
                    };
                    if key == "<<" {
                        merges.push(node);
                        return Ok(());
                    }
                    if !keys.insert(key.clone()) {
                        if last_key_wins {
                            entries.retain(|e| e.key != key);
                            entries.push(Entry {
                                key,
                                key_line,
                                key_quoted,
                                value: node,
                            });
                            return Ok(());
                        }
                        return Err(YamlError {
                            line: key_line,
                            col: 1,
                            message: format!("duplicate key {key:?} in one mapping"),
                        });
                    }
                    entries.push(Entry {
                        key,
                        key_line,
                        key_quoted,
                        value: node,
                    });
                }
            },
        }
        Ok(())
    }
}

/// `<<: *base` merges: keys already present win.
fn merge_into(entries: &mut Vec<Entry>, keys: &mut HashSet<String>, source: Node) {
    let sources = match source.value {
        Value::Seq(items) => items,
        other => vec![Node {
            value: other,
            line: source.line,
            col: source.col,
        }],
    };
    for src in sources {
        if let Value::Map(src_entries) = src.value {
            for entry in src_entries {
                if keys.insert(entry.key.clone()) {
                    entries.push(entry);
                }
            }
        }
    }
}

fn key_text(node: &Node) -> String {
    match &node.value {
        Value::Str { text, .. } => text.clone(),
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Seq(_) | Value::Map(_) => node.to_json().to_string(),
    }
}

fn resolve_scalar(text: Cow<'_, str>, style: ScalarStyle, tag: Option<&str>) -> Value {
    let string = |text: Cow<'_, str>, quoted| Value::Str {
        text: text.into_owned(),
        quoted,
    };
    if style != ScalarStyle::Plain {
        return string(text, true);
    }
    match tag {
        Some("str") => return string(text, false),
        Some("int") => {
            if let Some(i) = parse_int(&text) {
                return Value::Int(i);
            }
        }
        _ => {}
    }
    match text.as_ref() {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    if let Some(i) = parse_int(&text) {
        return Value::Int(i);
    }
    if let Some(f) = is_core_float(&text)
        .then(|| text.parse::<f64>().ok())
        .flatten()
    {
        return Value::Float(f);
    }
    string(text, false)
}

fn parse_int(text: &str) -> Option<i64> {
    if let Some(hex) = text.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok();
    }
    if let Some(oct) = text.strip_prefix("0o") {
        return i64::from_str_radix(oct, 8).ok();
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
fn is_core_float(text: &str) -> bool {
    let s = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match frac {
        Some(f) => digits(int) && digits(f) && !(int.is_empty() && f.is_empty()),
        None => !int.is_empty() && digits(int),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

/// Whether yaml.v2/v3 write `s` double-quoted as a YAML 1.1 base-60
/// float (`isBase60Float`): the whole of
/// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`. The emitters of
/// kustomize, Helm's `toYaml` and sops share it.
pub fn is_base60_float(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if !body.starts_with(|c: char| c.is_ascii_digit()) || !body.contains(':') {
        return false;
    }
    let (main, frac) = match body.split_once('.') {
        Some((m, f)) => (m, Some(f)),
        None => (body, None),
    };
    if frac.is_some_and(|f| !f.bytes().all(|b| b.is_ascii_digit() || b == b'_')) {
        return false;
    }
    // `body` holds a ':' and the fraction none, so `main` has a part after
    // its head.
    let mut parts = main.split(':');
    let head = parts.next().unwrap_or("");
    if head.is_empty() || !head.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
        return false;
    }
    parts.all(|part| match part.as_bytes() {
        [d] => d.is_ascii_digit(),
        [a, b] => (b'0'..=b'5').contains(a) && b.is_ascii_digit(),
        _ => false,
    })
}

#[cfg(test)]
pub(crate) mod tests;
