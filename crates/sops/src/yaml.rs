//! YAML documents as sops reads and writes them with go.yaml.in/yaml/v3:
//! plain scalars typed by yaml.v3's resolver (timestamps become `time`),
//! comments kept as items where yaml.v3 hangs them (before the key or item
//! they precede, at the end of the map they are indented into), and the
//! emitter's block style with an indent of 4 (`stores/yaml/store.go`).
//! Where a comment sits decides its additional data, so placing it as
//! sops does is what lets an encrypted comment decrypt.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use ferroflux_api::yaml::{self as loader, Node, Value as Raw};

use crate::tree::{Branch, Comment, Item, Key, Value};

const INDENT: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum YamlError {
    #[error("Error unmarshaling input YAML: line {line}: {message}")]
    Syntax { line: usize, message: String },
    #[error("Error unmarshaling input YAML: YAML documents that are sequences are not supported")]
    SequenceDocument,
    #[error("Error unmarshaling input YAML: YAML documents that are values are not supported")]
    ValueDocument,
    #[error("Tree contains a non-string key at line {line}. Only string keys are supported")]
    NonStringKey { line: usize },
    #[error("line {line}: integer does not fit in 64 bits")]
    Overflow { line: usize },
}

/// Read every document of a stream.
pub fn load(source: &str) -> Result<Vec<Branch>, YamlError> {
    let docs = loader::parse_stream_raw(source).map_err(|e| YamlError::Syntax {
        line: e.line,
        message: e.message,
    })?;
    let comments = Comments::scan(source, &docs);
    let mut branches = Vec::new();
    let doc_lines: Vec<usize> = docs.iter().map(|d| d.line).collect();
    let mut used = HashSet::new();
    let mut used_trailing = HashSet::new();
    for (i, doc) in docs.iter().enumerate() {
        let end = doc_lines.get(i + 1).copied().unwrap_or(usize::MAX);
        let mut reader = Reader {
            comments: &comments,
            end,
            used: &mut used,
            used_trailing: &mut used_trailing,
        };
        let mut branch = Vec::new();
        match &doc.node {
            None => {}
            Some(Node {
                value: Raw::Map(entries),
                col,
                ..
            }) => {
                branch = reader.map(entries, *col)?;
            }
            Some(Node {
                value: Raw::Seq(_), ..
            }) => return Err(YamlError::SequenceDocument),
            Some(Node {
                value: Raw::Null, ..
            }) => {}
            Some(Node {
                value:
                    Raw::Str {
                        text,
                        quoted: false,
                    },
                ..
            }) if text.is_empty() || text == "~" || text == "null" => {}
            Some(_) => return Err(YamlError::ValueDocument),
        }
        // Comments after the last key end the document's top-level branch.
        let rest: Vec<usize> = comments
            .full
            .range(..end)
            .map(|(l, _)| *l)
            .filter(|l| !used.contains(l))
            .collect();
        for l in rest {
            used.insert(l);
            if let Some((_, text)) = comments.full.get(&l) {
                branch.push(Item::comment(text.clone(), false));
            }
        }
        branches.push(branch);
    }
    Ok(branches)
}

/// Comment lines of the source: full-line ones by line (with their
/// column), the trailing comment of a line that holds a node, and where
/// nodes start.
struct Comments {
    full: BTreeMap<usize, (usize, String)>,
    trailing: BTreeMap<usize, String>,
    starts: BTreeSet<usize>,
}

impl Comments {
    fn scan(source: &str, docs: &[loader::Document]) -> Comments {
        let lines: Vec<&str> = source.split('\n').collect();
        // Lines inside multi-line scalars are content, not comments.
        let mut starts = Vec::new();
        let mut multiline = Vec::new();
        for doc in docs {
            if let Some(n) = &doc.node {
                collect(n, &mut starts, &mut multiline);
            }
        }
        let starts: BTreeSet<usize> = starts.into_iter().collect();
        let mut content = BTreeSet::new();
        for line in multiline {
            let next = starts
                .range(line + 1..)
                .next()
                .copied()
                .unwrap_or(lines.len() + 1);
            content.extend(line + 1..next);
        }
        let mut full = BTreeMap::new();
        let mut trailing = BTreeMap::new();
        for (i, text) in lines.iter().enumerate() {
            let n = i + 1;
            if content.contains(&n) {
                continue;
            }
            let text = text.strip_suffix('\r').unwrap_or(text);
            let trimmed = text.trim_start_matches([' ', '\t']);
            if let Some(c) = trimmed.strip_prefix('#') {
                full.insert(n, (text.len() - trimmed.len() + 1, c.to_string()));
            } else if let Some(c) = trailing_comment(text) {
                trailing.insert(n, c);
            }
        }
        Comments {
            full,
            trailing,
            starts,
        }
    }

    /// The first node starting after `line`.
    fn next_start(&self, line: usize) -> usize {
        self.starts
            .range(line + 1..)
            .next()
            .copied()
            .unwrap_or(usize::MAX)
    }
}

fn collect(node: &Node, starts: &mut Vec<usize>, multiline: &mut Vec<usize>) {
    starts.push(node.line);
    match &node.value {
        Raw::Map(entries) => {
            for e in entries {
                starts.push(e.key_line);
                collect(&e.value, starts, multiline);
            }
        }
        Raw::Seq(items) => items.iter().for_each(|n| collect(n, starts, multiline)),
        Raw::Str { text, quoted: true } if text.contains('\n') => multiline.push(node.line),
        _ => {}
    }
}

/// The last line a node starts on (its own or a descendant's).
fn last_line(node: &Node) -> usize {
    match &node.value {
        Raw::Map(entries) => entries
            .iter()
            .map(|e| e.key_line.max(last_line(&e.value)))
            .max()
            .unwrap_or(node.line),
        Raw::Seq(items) => items.iter().map(last_line).max().unwrap_or(node.line),
        _ => node.line,
    }
}

/// The text after a ` #` that is outside quotes on a line.
fn trailing_comment(line: &str) -> Option<String> {
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    let mut chars = line.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match quote {
            Some('"') if c == '\\' => {
                chars.next();
            }
            Some(q) if c == q => {
                if q == '\'' && chars.peek().is_some_and(|(_, n)| *n == '\'') {
                    chars.next();
                } else {
                    quote = None;
                }
            }
            Some(_) => {}
            None => {
                if (c == '"' || c == '\'')
                    && matches!(prev, ' ' | '\t' | ':' | '-' | '[' | '{' | ',')
                {
                    quote = Some(c);
                } else if c == '#' && matches!(prev, ' ' | '\t') {
                    return Some(line[i + 1..].to_string());
                }
            }
        }
        prev = c;
    }
    None
}

struct Reader<'a> {
    comments: &'a Comments,
    end: usize,
    used: &'a mut HashSet<usize>,
    used_trailing: &'a mut HashSet<usize>,
}

impl Reader<'_> {
    /// Comments before `line` not yet placed: full-line ones, and line
    /// comments no node claimed (`- # c` before a nested sequence).
    fn heads(&mut self, line: usize) -> Vec<Comment> {
        let upto = line.min(self.end);
        let mut found: Vec<(usize, String)> = Vec::new();
        for (l, (_, t)) in self.comments.full.range(..upto) {
            if self.used.insert(*l) {
                found.push((*l, t.clone()));
            }
        }
        for (l, t) in self.comments.trailing.range(..upto) {
            if self.used_trailing.insert(*l) {
                found.push((*l, t.clone()));
            }
        }
        found.sort_by_key(|(l, _)| *l);
        found
            .into_iter()
            .map(|(_, text)| Comment {
                text,
                inline: false,
            })
            .collect()
    }

    /// Full-line comments after a block's last node, before the next node,
    /// indented at least to the block's column: yaml.v3's foot comments.
    fn feet(&mut self, after: usize, col: usize) -> Vec<Comment> {
        let next = self.comments.next_start(after).min(self.end);
        let lines: Vec<usize> = self
            .comments
            .full
            .range(after + 1..next)
            .filter(|(l, (c, _))| *c >= col && !self.used.contains(*l))
            .map(|(l, _)| *l)
            .collect();
        let mut out = Vec::new();
        for l in lines {
            self.used.insert(l);
            if let Some((_, t)) = self.comments.full.get(&l) {
                out.push(Comment {
                    text: t.clone(),
                    inline: false,
                });
            }
        }
        out
    }

    fn trailing(&mut self, line: usize) -> Option<String> {
        if !self.used_trailing.insert(line) {
            return None;
        }
        self.comments.trailing.get(&line).cloned()
    }

    fn map(&mut self, entries: &[loader::Entry], col: usize) -> Result<Vec<Item>, YamlError> {
        let mut items = Vec::new();
        let mut last = 0;
        for e in entries {
            items.extend(self.heads(e.key_line).into_iter().map(|c| Item {
                key: Key::Comment(c),
                value: Value::Null,
            }));
            // yaml.v3 gives `key: value # c` to the key's line comment:
            // sops keeps it before the item, not inline.
            if let Some(c) = self.trailing(e.key_line) {
                items.push(Item::comment(c, false));
            }
            if !e.key_quoted && !matches!(resolve(&e.key, e.key_line)?, Value::Str(_)) {
                return Err(YamlError::NonStringKey { line: e.key_line });
            }
            let value = self.value(&e.value, e.key_line)?;
            items.push(Item::new(e.key.clone(), value));
            last = last.max(e.key_line).max(last_line(&e.value));
        }
        items.extend(self.feet(last, col).into_iter().map(|c| Item {
            key: Key::Comment(c),
            value: Value::Null,
        }));
        Ok(items)
    }

    fn value(&mut self, node: &Node, owner_line: usize) -> Result<Value, YamlError> {
        Ok(match &node.value {
            Raw::Map(entries) => Value::Map(self.map(entries, node.col)?),
            Raw::Seq(items) => {
                let mut out = Vec::new();
                for n in items {
                    out.extend(self.heads(n.line).into_iter().map(Value::Comment));
                    // `- x # c` and `- k: v # c`: the item's line comment,
                    // which sops keeps before the item.
                    if n.line != owner_line {
                        let scalar = !matches!(n.value, Raw::Map(_) | Raw::Seq(_));
                        if let Some(c) = self.trailing(n.line) {
                            out.push(Value::Comment(Comment {
                                text: c,
                                inline: scalar,
                            }));
                        }
                    }
                    out.push(self.value(n, n.line)?);
                }
                Value::Seq(out)
            }
            Raw::Null => Value::Null,
            Raw::Bool(b) => Value::Bool(*b),
            Raw::Int(i) => Value::Int(*i),
            Raw::Float(f) => Value::Float(*f),
            Raw::Str { text, quoted: true } => Value::Str(text.clone()),
            Raw::Str {
                text,
                quoted: false,
            } => resolve(text, node.line)?,
        })
    }
}

/// yaml.v3's resolution of a plain scalar decoded into `interface{}`.
pub fn resolve(text: &str, line: usize) -> Result<Value, YamlError> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Ok(Value::Null),
        "true" | "True" | "TRUE" => return Ok(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Ok(Value::Bool(false)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Ok(Value::Float(f64::INFINITY));
        }
        "-.inf" | "-.Inf" | "-.INF" => return Ok(Value::Float(f64::NEG_INFINITY)),
        ".nan" | ".NaN" | ".NAN" => return Ok(Value::Float(f64::NAN)),
        _ => {}
    }
    let first = text.as_bytes()[0];
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return Ok(Value::Str(text.to_string()));
    }
    if let Some(t) = timestamp(text) {
        return Ok(Value::Time(t));
    }
    let plain = text.replace('_', "");
    if let Some(i) = go_parse_int(&plain) {
        return match i {
            Ok(i) => Ok(Value::Int(i)),
            Err(()) => Err(YamlError::Overflow { line }),
        };
    }
    if is_yaml_float(&plain)
        && let Ok(f) = plain.parse::<f64>()
    {
        return Ok(Value::Float(f));
    }
    for (prefix, neg) in [("0b", false), ("-0b", true)] {
        if let Some(d) = plain.strip_prefix(prefix)
            && let Ok(v) = i64::from_str_radix(d, 2)
        {
            return Ok(Value::Int(if neg { -v } else { v }));
        }
    }
    if let Some(d) = plain.strip_prefix("0o")
        && let Ok(v) = i64::from_str_radix(d, 8)
    {
        return Ok(Value::Int(v));
    }
    Ok(Value::Str(text.to_string()))
}

/// Go's `strconv.ParseInt(s, 0, 64)` then `ParseUint`: `Some(Ok)` for an
/// int64, `Some(Err)` for one that only fits uint64 (sops cannot walk it).
fn go_parse_int(s: &str) -> Option<Result<i64, ()>> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = if let Some(d) = body.strip_prefix("0x").or(body.strip_prefix("0X")) {
        (16, d)
    } else if let Some(d) = body.strip_prefix("0b").or(body.strip_prefix("0B")) {
        (2, d)
    } else if let Some(d) = body.strip_prefix("0o").or(body.strip_prefix("0O")) {
        (8, d)
    } else if body.len() > 1 && body.starts_with('0') {
        (8, &body[1..])
    } else {
        (10, body)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if neg {
        if magnitude <= i64::MAX as u64 + 1 {
            Some(Ok((magnitude as i128).wrapping_neg() as i64))
        } else {
            None
        }
    } else if magnitude <= i64::MAX as u64 {
        Some(Ok(magnitude as i64))
    } else {
        Some(Err(()))
    }
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_float(s: &str) -> bool {
    let b = s.strip_prefix(['-', '+']).unwrap_or(s).as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.first() == Some(&b'.') {
        i = 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// yaml.v3's timestamp formats, returned as Go's RFC3339Nano text:
/// `2006-1-2`, `2006-1-2 15:4:5.999999999`, with `T`/`t` and a zone.
fn timestamp(s: &str) -> Option<String> {
    let (date, rest) = match s.find(['T', 't', ' ']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mut parts = date.split('-');
    let y = parts.next()?;
    let m = parts.next()?;
    let d = parts.next()?;
    if parts.next().is_some() || y.len() != 4 {
        return None;
    }
    let num = |p: &str, max: usize| -> Option<u32> {
        if p.is_empty() || p.len() > max || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        p.parse().ok()
    };
    let (y, m, d) = (num(y, 4)?, num(m, 2)?, num(d, 2)?);
    if !(1..=12).contains(&m) || d == 0 || d > days_in(y, m) {
        return None;
    }
    let Some(rest) = rest else {
        return Some(format!("{y:04}-{m:02}-{d:02}T00:00:00Z"));
    };
    // time: h:m:s(.frac)?(zone)?
    let zone_at = rest[1..].find(['Z', '+', '-']).map(|i| i + 1);
    let (clock, zone) = match zone_at {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let (hms, frac) = match clock.split_once('.') {
        Some((a, f)) => (a, Some(f)),
        None => (clock, None),
    };
    let mut t = hms.split(':');
    let (h, mi, se) = (num(t.next()?, 2)?, num(t.next()?, 2)?, num(t.next()?, 2)?);
    if t.next().is_some() || h > 23 || mi > 59 || se > 59 {
        return None;
    }
    let frac = match frac {
        Some(f) if f.is_empty() || f.len() > 9 || !f.bytes().all(|b| b.is_ascii_digit()) => {
            return None;
        }
        Some(f) => {
            let f = f.trim_end_matches('0');
            if f.is_empty() {
                String::new()
            } else {
                format!(".{f}")
            }
        }
        None => String::new(),
    };
    let zone = match zone {
        "" | "Z" => "Z".to_string(),
        z if z.len() == 6 && z.as_bytes()[3] == b':' => {
            if &z[1..] == "00:00" {
                "Z".into()
            } else {
                z.to_string()
            }
        }
        _ => return None,
    };
    Some(format!(
        "{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{se:02}{frac}{zone}"
    ))
}

fn days_in(y: u32, m: u32) -> u32 {
    match m {
        2 if (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Write documents as sops' YAML store does (yaml.v3, indent 4).
pub fn emit(branches: &[Branch]) -> String {
    let mut out = String::new();
    for (i, branch) in branches.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        let mut e = Emitter { out: &mut out };
        e.document(branch);
    }
    out
}

struct Emitter<'a> {
    out: &'a mut String,
}

impl Emitter<'_> {
    fn comment_lines(&mut self, comments: &[String], indent: usize) {
        for c in comments {
            self.pad(indent);
            self.out.push('#');
            self.out.push_str(c);
            self.out.push('\n');
        }
    }

    fn pad(&mut self, n: usize) {
        for _ in 0..n {
            self.out.push(' ');
        }
    }

    fn document(&mut self, branch: &[Item]) {
        if !branch.iter().any(|i| matches!(i.key, Key::Str(_))) {
            let comments: Vec<String> = branch.iter().filter_map(comment_text).collect();
            self.comment_lines(&comments, 0);
            self.out.push_str("{}\n");
            return;
        }
        self.map(branch, 0, false);
    }

    /// A non-empty map at `indent`; `first_inline` when its first key goes
    /// on the current line (after `- `).
    fn map(&mut self, items: &[Item], indent: usize, mut first_inline: bool) {
        let mut heads: Vec<String> = Vec::new();
        let mut inlines: Vec<String> = Vec::new();
        for item in items {
            match &item.key {
                Key::Comment(c) if c.inline => inlines.push(c.text.clone()),
                Key::Comment(c) => heads.push(c.text.clone()),
                Key::Str(k) => {
                    if first_inline && !heads.is_empty() {
                        // A head comment cannot sit between `- ` and the key.
                        self.out.push('\n');
                        first_inline = false;
                    }
                    if !first_inline {
                        self.comment_lines(&heads, indent);
                        self.pad(indent);
                    } else {
                        self.comment_lines(&heads, indent);
                    }
                    heads.clear();
                    first_inline = false;
                    self.out.push_str(&scalar_str(k));
                    self.out.push(':');
                    let line = std::mem::take(&mut inlines);
                    self.value_after_key(&item.value, indent, &line);
                }
            }
        }
        heads.extend(inlines);
        self.comment_lines(&heads, indent);
    }

    fn value_after_key(&mut self, value: &Value, indent: usize, line: &[String]) {
        // yaml.v3 aligns every block below a key to the next multiple of
        // the indent ("so that indentations are more regular").
        let child = next_indent(indent);
        match value {
            Value::Map(items) if has_keys(items) => {
                self.line_comment(line);
                self.out.push('\n');
                self.map(items, child, false);
            }
            Value::Seq(items) if has_values(items) => {
                self.line_comment(line);
                self.out.push('\n');
                self.seq(items, child);
            }
            other => {
                self.out.push(' ');
                self.scalar(other, child);
                self.line_comment(line);
                self.out.push('\n');
            }
        }
    }

    fn line_comment(&mut self, line: &[String]) {
        if let Some(first) = line.first() {
            self.out.push_str(" #");
            self.out.push_str(first);
        }
    }

    fn seq(&mut self, items: &[Value], indent: usize) {
        let mut heads: Vec<String> = Vec::new();
        let mut inlines: Vec<String> = Vec::new();
        for v in items {
            match v {
                Value::Comment(c) if c.inline => inlines.push(c.text.clone()),
                Value::Comment(c) => heads.push(c.text.clone()),
                _ => {
                    self.comment_lines(&heads, indent);
                    heads.clear();
                    self.pad(indent);
                    self.out.push_str("- ");
                    let line = std::mem::take(&mut inlines);
                    match v {
                        Value::Map(m) if has_keys(m) => self.map(m, indent + 2, true),
                        Value::Seq(s) if has_values(s) => {
                            self.seq_inline(s, indent + 2);
                        }
                        other => {
                            self.scalar(other, indent + 2);
                            self.line_comment(&line);
                            self.out.push('\n');
                        }
                    }
                }
            }
        }
        heads.extend(inlines);
        self.comment_lines(&heads, indent);
    }

    /// A sequence whose first item goes after the parent's `- `.
    fn seq_inline(&mut self, items: &[Value], indent: usize) {
        let start = self.out.len();
        self.seq(items, indent);
        // The first `- ` was written padded on its own line: pull it up.
        let written = self.out.split_off(start);
        let trimmed = written.trim_start_matches(' ');
        self.out.push_str(trimmed);
    }

    fn scalar(&mut self, value: &Value, indent: usize) {
        match value {
            Value::Null => self.out.push_str("null"),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => self.out.push_str(&i.to_string()),
            Value::Float(f) => self.out.push_str(&yaml_float(*f)),
            Value::Time(t) => self.out.push_str(t),
            Value::Str(s) => {
                if s.contains('\n') && literal_allowed(s) {
                    self.literal(s, indent);
                } else {
                    self.out.push_str(&scalar_str(s));
                }
            }
            Value::Map(_) => self.out.push_str("{}"),
            Value::Seq(_) => self.out.push_str("[]"),
            Value::Comment(_) => {}
        }
    }

    fn literal(&mut self, s: &str, indent: usize) {
        self.out.push('|');
        if s.starts_with([' ', '\n']) {
            self.out.push_str(&INDENT.to_string());
        }
        if !s.ends_with('\n') {
            self.out.push('-');
        } else if s.ends_with("\n\n") || s == "\n" {
            self.out.push('+');
        }
        let body = s.strip_suffix('\n').unwrap_or(s);
        for line in body.split('\n') {
            self.out.push('\n');
            if !line.is_empty() {
                self.pad(indent);
                self.out.push_str(line);
            }
        }
    }
}

/// yaml.v3's `best_indent*((indent+best_indent)/best_indent)`.
fn next_indent(indent: usize) -> usize {
    INDENT * ((indent + INDENT) / INDENT)
}

fn comment_text(i: &Item) -> Option<String> {
    match &i.key {
        Key::Comment(c) => Some(c.text.clone()),
        Key::Str(_) => None,
    }
}

fn has_keys(items: &[Item]) -> bool {
    items.iter().any(|i| matches!(i.key, Key::Str(_)))
}

fn has_values(items: &[Value]) -> bool {
    items.iter().any(|v| !matches!(v, Value::Comment(_)))
}

/// yaml.v3 formats floats with Go's `'g'` (shortest) and YAML's names for
/// the specials.
fn yaml_float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        };
    }
    crate::tree::format_float_g(f).to_lowercase()
}

/// The libyaml analysis deciding whether a literal block can hold `s`.
fn literal_allowed(s: &str) -> bool {
    let a = analyze(s);
    a.block_allowed
}

/// A string as yaml.v3 writes it outside a block: plain when it reads back
/// as the same string and libyaml allows it, else single or double quoted.
pub fn scalar_str(s: &str) -> String {
    let a = analyze(s);
    let plain_ok = !s.is_empty() && resolves_to_str(s) && a.plain_allowed && !s.contains('\n');
    if plain_ok {
        return s.to_string();
    }
    // yaml.v3 asks for double quotes when the plain form would read as
    // another type; libyaml falls back from plain to single quotes when
    // only the syntax forbids plain.
    if resolves_to_str(s) && a.single_allowed && !s.contains('\n') {
        return format!("'{}'", s.replace('\'', "''"));
    }
    double_quoted(s)
}

/// yaml.v3's `resolve` gives `!!str` and the string is not a YAML 1.1 bool
/// or base-60 float (which v3 quotes for older readers).
fn resolves_to_str(s: &str) -> bool {
    if matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "on"
            | "On"
            | "ON"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "off"
            | "Off"
            | "OFF"
    ) {
        return false;
    }
    if s.is_empty() {
        return false;
    }
    match resolve(s, 0) {
        Ok(Value::Str(_)) => !ferroflux_api::yaml::is_base60_float(s),
        _ => false,
    }
}

fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '\0' => out.push_str("\\0"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\x0b' => out.push_str("\\v"),
            '\x0c' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\x1b' => out.push_str("\\e"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{85}' => out.push_str("\\N"),
            '\u{a0}' => out.push_str("\\_"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if !is_printable(c) => {
                let v = c as u32;
                if v <= 0xff {
                    out.push_str(&format!("\\x{v:02X}"));
                } else if v <= 0xffff {
                    out.push_str(&format!("\\u{v:04X}"));
                } else {
                    out.push_str(&format!("\\U{v:08X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// go-yaml's `is_printable`: LF, ASCII printable, the BMP from U+00A0
/// except surrogates, U+FEFF, U+FFFE and U+FFFF (NEL and the
/// supplementary planes are escaped: an emoji is written `\U0001F600`).
fn is_printable(c: char) -> bool {
    let v = c as u32;
    v == 0x0a
        || (0x20..=0x7e).contains(&v)
        || (0xa0..=0xd7ff).contains(&v)
        || ((0xe000..=0xfffd).contains(&v) && v != 0xfeff)
}

struct Analysis {
    plain_allowed: bool,
    single_allowed: bool,
    block_allowed: bool,
}

/// libyaml's `yaml_emitter_analyze_scalar`, for block context.
fn analyze(value: &str) -> Analysis {
    let mut a = Analysis {
        plain_allowed: true,
        single_allowed: true,
        block_allowed: true,
    };
    if value.is_empty() {
        a.plain_allowed = false;
        a.block_allowed = false;
        return a;
    }
    let chars: Vec<char> = value.chars().collect();
    let mut indicators = value.starts_with("---") || value.starts_with("...");
    let (mut line_breaks, mut special, mut tabs) = (false, false, false);
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut previous_space, mut previous_break) = (false, false);
    let mut preceded_by_ws = true;
    let last = chars.len() - 1;
    for (i, &c) in chars.iter().enumerate() {
        let followed_by_ws =
            i == last || matches!(chars[i + 1], ' ' | '\t') || is_break(chars[i + 1]);
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => indicators = true,
                '?' | ':' | '-' if followed_by_ws => indicators = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_ws => indicators = true,
                '#' if preceded_by_ws => indicators = true,
                _ => {}
            }
        }
        // yaml.v3 counts tabs apart: they rule out plain and single-quoted
        // scalars but not a literal block.
        if c == '\t' {
            tabs = true;
        } else if !is_printable(c) {
            special = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if i == last {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            if i == 0 {
                leading_break = true;
            }
            if i == last {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_ws = matches!(c, ' ' | '\t') || is_break(c);
    }
    if leading_space || leading_break || trailing_space || trailing_break {
        a.plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.plain_allowed = false;
        a.single_allowed = false;
    }
    if tabs {
        a.plain_allowed = false;
        a.single_allowed = false;
    }
    if space_break || special {
        a.plain_allowed = false;
        a.single_allowed = false;
        a.block_allowed = false;
    }
    if line_breaks || indicators {
        a.plain_allowed = false;
    }
    a
}
