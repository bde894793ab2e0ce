//! Rewriting one file: walk the `saphyr-parser` event stream, find each
//! scalar value followed on its line by a marker comment, and splice the new
//! value into the original bytes. Nothing is re-serialised.
//!
//! Two quirks of `saphyr-parser` 0.3 shape this code: spans count chars, not
//! bytes, and a quoted scalar's span runs past its closing quote over the
//! trailing comment, so the closing quote is found again here.

use std::collections::HashSet;
use std::ops::Range;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use crate::marker::{self, SHORT_HAND};
use crate::policy::Policies;
use crate::result::{Change, Diagnostic, ObjectChanges, ObjectIdentifier};
use crate::scalar::{self, Style};

/// Why a marked file could not be processed at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("{path}:{line}:{column}: cannot parse YAML: {message}")]
    Parse {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}:{line}: not valid UTF-8")]
    NotUtf8 { path: String, line: usize },
    /// The rewritten file would not read back as the original with only the
    /// marked values changed; nothing of the file is written.
    #[error(
        "{path}:{line}: cannot write {value:?} in place of the marked value: the file {reason}; \
         the file is left unchanged (quote the value in the source to help)"
    )]
    Unwritable {
        path: String,
        line: usize,
        value: String,
        reason: String,
    },
}

impl Error {
    /// The same problem as a diagnostic, for a tree walk that goes on.
    pub fn to_diagnostic(&self) -> Diagnostic {
        match self {
            Error::Parse {
                path,
                line,
                column,
                message,
            } => Diagnostic {
                path: path.clone(),
                line: *line,
                message: format!("cannot parse YAML (column {column}): {message}"),
            },
            Error::NotUtf8 { path, line } => Diagnostic {
                path: path.clone(),
                line: *line,
                message: "not valid UTF-8".to_string(),
            },
            Error::Unwritable {
                path,
                line,
                value,
                reason,
            } => Diagnostic {
                path: path.clone(),
                line: *line,
                message: format!(
                    "cannot write {value:?} in place of the marked value: the file {reason}; \
                     the file is left unchanged (quote the value in the source to help)"
                ),
            },
        }
    }
}

/// One replaced byte range of the original file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub range: Range<usize>,
    pub replacement: String,
}

/// What [`rewrite_file`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileOutcome {
    /// The new bytes; `None` when no value changed.
    pub updated: Option<Vec<u8>>,
    /// Changes grouped by the object (document) that holds them.
    pub objects: Vec<ObjectChanges>,
    /// The byte ranges replaced, in file order (one per change).
    pub edits: Vec<Edit>,
    /// Malformed or misplaced markers; the valid ones are still applied.
    pub diagnostics: Vec<Diagnostic>,
}

impl FileOutcome {
    pub fn changes(&self) -> impl Iterator<Item = &Change> {
        self.objects.iter().flat_map(|o| o.changes.iter())
    }
}

/// Rewrites every marked scalar of `bytes` whose setter is defined by
/// `policies`. `path` is used in messages only.
pub fn rewrite_file(path: &str, bytes: &[u8], policies: &Policies) -> Result<FileOutcome, Error> {
    let src = std::str::from_utf8(bytes).map_err(|e| Error::NotUtf8 {
        path: path.to_string(),
        line: 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count(),
    })?;
    let source = Source::new(src);
    let parsed = parse(path, &source)?;
    let mut out = FileOutcome::default();
    let mut claimed: Vec<Range<usize>> = Vec::new();
    let mut planned: Vec<Planned> = Vec::new();
    for (index, site) in parsed.sites.iter().enumerate().filter(|(_, s)| s.is_value) {
        let (Some(style), Some(content)) = (site.style, site.content.clone()) else {
            continue;
        };
        let Some(comment) = line_comment_after(src, site.coverage.end, site.in_flow) else {
            continue;
        };
        let setter = match marker::parse_comment(&src[comment.clone()]) {
            Ok(Some(setter)) => setter,
            Ok(None) => continue,
            Err(e) => {
                claimed.push(comment.clone());
                out.diagnostics
                    .push(source.diagnostic(path, comment.start, e.to_string()));
                continue;
            }
        };
        claimed.push(comment);
        let Some(resolved) = policies.resolve(&setter) else {
            continue;
        };
        if resolved.value == site.value {
            continue;
        }
        // A single-quoted scalar has no escapes: a value with a line break or
        // another control character would fold or break the indentation when
        // read back, so it becomes double-quoted (the quotes are replaced too).
        // After `key:` and tabs only, saphyr refuses a plain scalar that
        // starts like a word or a `-`, so such a value is double-quoted too.
        let double_quoted = || format!("\"{}\"", scalar::escape_double(&resolved.value));
        let (range, replacement) =
            if style == Style::SingleQuoted && !scalar::single_quotable(&resolved.value) {
                (site.coverage.clone(), double_quoted())
            } else if style == Style::Plain
                && tab_separated(src, content.start)
                && !scalar::plain_after_tab(&resolved.value)
            {
                (content.clone(), double_quoted())
            } else {
                (
                    content.clone(),
                    scalar::encode(&resolved.value, style, site.in_flow),
                )
            };
        out.edits.push(Edit { range, replacement });
        planned.push(Planned {
            site: index,
            line: source.line_of(content.start),
            new_value: resolved.value.clone(),
        });
        let change = Change {
            line: source.line_of(content.start),
            old_value: site.value.clone(),
            new_value: resolved.value,
            setter,
            policy: resolved.policy.clone(),
            image: resolved.latest.to_string(),
        };
        let object = parsed.documents.get(site.doc).cloned().unwrap_or_default();
        match out.objects.iter_mut().find(|o| o.object == object) {
            Some(o) => o.changes.push(change),
            None => out.objects.push(ObjectChanges {
                object,
                changes: vec![change],
            }),
        }
    }
    misplaced_markers(path, &source, &parsed, &claimed, &mut out.diagnostics);
    if !out.edits.is_empty() {
        let updated = splice(src, &out.edits);
        let text = std::str::from_utf8(&updated).expect("valid UTF-8 spliced into valid UTF-8");
        check_readback(path, &parsed, &planned, text)?;
        out.updated = Some(updated);
    }
    Ok(out)
}

/// One value about to be replaced: which scalar of the stream, its line,
/// and what it must read back as.
struct Planned {
    site: usize,
    line: usize,
    new_value: String,
}

/// Reads the rewritten text back with the same parser: it must parse, and
/// hold the same scalars in the same order, the planned ones with their new
/// values and every other one unchanged. A rule of the encoder that a YAML
/// corner escaped (fuzzing found two) then refuses the file with its line
/// instead of committing a file Flux and kubectl cannot read.
fn check_readback(
    path: &str,
    before: &Parsed,
    planned: &[Planned],
    after: &str,
) -> Result<(), Error> {
    let unwritable = |at: &Planned, reason: String| Error::Unwritable {
        path: path.to_string(),
        line: at.line,
        value: at.new_value.clone(),
        reason,
    };
    // The planned edit that most likely caused a problem at `line` or at
    // scalar `site`: the last one at or before it.
    let culprit = |key: &dyn Fn(&Planned) -> bool| {
        planned
            .iter()
            .rev()
            .find(|p| key(p))
            .or(planned.first())
            .expect("check_readback is called with at least one edit")
    };
    let source = Source::new(after);
    let reread = match parse(path, &source) {
        Ok(reread) => reread,
        Err(e) => {
            let (line, message) = match &e {
                Error::Parse { line, message, .. } => (*line, message.clone()),
                other => (0, other.to_string()),
            };
            let at = culprit(&|p| p.line <= line);
            return Err(unwritable(
                at,
                format!("does not parse after the rewrite (line {line}: {message})"),
            ));
        }
    };
    let expected = |i: usize| {
        planned
            .iter()
            .find(|p| p.site == i)
            .map_or(before.sites[i].value.as_str(), |p| p.new_value.as_str())
    };
    let count = before.sites.len().max(reread.sites.len());
    for i in 0..count {
        let want = (i < before.sites.len()).then(|| expected(i));
        let got = reread.sites.get(i).map(|s| s.value.as_str());
        if want != got {
            let at = culprit(&|p| p.site <= i);
            let show = |v: Option<&str>| v.map_or("nothing".to_string(), |v| format!("{v:?}"));
            return Err(unwritable(
                at,
                format!(
                    "reads back as {} where {} was expected after the rewrite",
                    show(got),
                    show(want)
                ),
            ));
        }
    }
    Ok(())
}

/// True when the scalar starting at `start` follows a `:` value indicator
/// and blanks that are all tabs.
fn tab_separated(src: &str, start: usize) -> bool {
    let before = src[..start].trim_end_matches(['\t', ' ']);
    let blanks = &src[before.len()..start];
    !blanks.is_empty() && !blanks.contains(' ') && before.ends_with(':')
}

fn splice(src: &str, edits: &[Edit]) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.len() + 64);
    let mut at = 0;
    for e in edits {
        out.extend_from_slice(&src.as_bytes()[at..e.range.start]);
        out.extend_from_slice(e.replacement.as_bytes());
        at = e.range.end;
    }
    out.extend_from_slice(&src.as_bytes()[at..]);
    out
}

/// Comments that hold a marker-looking object (`# {... "$imagepolicy" ...}`)
/// but are not a line comment on a scalar value: on a key, a mapping, a
/// sequence, a block-scalar header, or on a line of their own. Flux ignores
/// them silently; a `$imagepolicy` inside scalar content is text and is not
/// reported.
fn misplaced_markers(
    path: &str,
    source: &Source<'_>,
    parsed: &Parsed,
    claimed: &[Range<usize>],
    diagnostics: &mut Vec<Diagnostic>,
) {
    let src = source.text;
    let covered = |pos: usize| {
        let i = parsed.covered.partition_point(|r| r.start <= pos);
        i > 0 && parsed.covered[i - 1].contains(&pos)
    };
    let mut seen: HashSet<usize> = HashSet::new();
    for (pos, _) in src.match_indices(SHORT_HAND) {
        if claimed.iter().any(|r| r.contains(&pos)) || covered(pos) {
            continue;
        }
        let line_start = line_start(src, pos);
        let hash = (line_start..pos).find(|&i| {
            src.as_bytes()[i] == b'#'
                && !covered(i)
                && (i == line_start || matches!(src.as_bytes()[i - 1], b' ' | b'\t'))
        });
        let Some(hash) = hash else { continue };
        if !seen.insert(hash) {
            continue;
        }
        let end = line_end(src, hash);
        let comment = &src[hash..end];
        if !comment
            .trim_start_matches('#')
            .trim_start()
            .starts_with('{')
        {
            continue;
        }
        let message = match marker::parse_comment(comment) {
            Ok(Some(setter)) => format!(
                "$imagepolicy marker {setter:?} is not a comment on the line of a scalar value \
                 (keys, mappings, sequences, block scalars and comment-only lines cannot be \
                 set); it is ignored"
            ),
            Ok(None) => continue,
            Err(e) => e.to_string(),
        };
        diagnostics.push(source.diagnostic(path, hash, message));
    }
    diagnostics.sort_by_key(|d| d.line);
}

/// The `# ...` comment right after a scalar ending at `end` on the same line:
/// at least one blank, then `#`, up to (not including) the line break. In a
/// flow collection the scalar may be followed by its `,` first
/// (`[app:1.0, # {...}` ends the line with the item's comment).
fn line_comment_after(src: &str, end: usize, in_flow: bool) -> Option<Range<usize>> {
    let bytes = src.as_bytes();
    let blanks = |mut i: usize| {
        while i < bytes.len() && matches!(bytes[i], b' ' | b'\t') {
            i += 1;
        }
        i
    };
    let mut i = blanks(end);
    if in_flow && i < bytes.len() && bytes[i] == b',' {
        let after = blanks(i + 1);
        if after == i + 1 {
            return None;
        }
        i = after;
    } else if i == end {
        return None;
    }
    if i >= bytes.len() || bytes[i] != b'#' {
        return None;
    }
    Some(i..line_end(src, i))
}

/// The end of the line holding `from`: before its `\n`, `\r\n` or lone
/// `\r` (YAML's line breaks).
fn line_end(src: &str, from: usize) -> usize {
    src[from..]
        .find(['\n', '\r'])
        .map_or(src.len(), |i| from + i)
}

/// The start of the line holding `at`.
fn line_start(src: &str, at: usize) -> usize {
    src[..at].rfind(['\n', '\r']).map_or(0, |i| i + 1)
}

/// The source with char→byte and byte→line lookups.
struct Source<'a> {
    text: &'a str,
    /// Byte offset of each char, plus the end; `None` for ASCII text.
    char_bytes: Option<Vec<usize>>,
    line_starts: Vec<usize>,
}

impl<'a> Source<'a> {
    fn new(text: &'a str) -> Source<'a> {
        let char_bytes = (!text.is_ascii()).then(|| {
            text.char_indices()
                .map(|(b, _)| b)
                .chain(std::iter::once(text.len()))
                .collect()
        });
        let bytes = text.as_bytes();
        let line_starts = std::iter::once(0)
            .chain(
                text.match_indices(['\n', '\r'])
                    .filter(|&(i, b)| !(b == "\r" && bytes.get(i + 1) == Some(&b'\n')))
                    .map(|(i, _)| i + 1),
            )
            .collect();
        Source {
            text,
            char_bytes,
            line_starts,
        }
    }

    fn byte(&self, char_index: usize) -> usize {
        match &self.char_bytes {
            None => char_index.min(self.text.len()),
            Some(v) => v.get(char_index).copied().unwrap_or(self.text.len()),
        }
    }

    fn bytes(&self, span: &Span) -> Range<usize> {
        self.byte(span.start.index())..self.byte(span.end.index())
    }

    /// 1-based line of a byte offset.
    fn line_of(&self, byte: usize) -> usize {
        self.line_starts.partition_point(|&s| s <= byte)
    }

    fn diagnostic(&self, path: &str, byte: usize, message: String) -> Diagnostic {
        Diagnostic {
            path: path.to_string(),
            line: self.line_of(byte),
            message,
        }
    }
}

/// One scalar of the stream.
struct Site {
    value: String,
    /// `None` for block scalars (never targets).
    style: Option<Style>,
    /// The bytes a new value replaces: inside the quotes, or the whole plain
    /// scalar. `None` when the scalar is empty or could not be located.
    content: Option<Range<usize>>,
    /// The scalar's bytes including quotes, without anchor and tag.
    coverage: Range<usize>,
    is_value: bool,
    in_flow: bool,
    doc: usize,
}

struct Parsed {
    sites: Vec<Site>,
    documents: Vec<ObjectIdentifier>,
    /// Sorted, disjoint byte ranges of all scalars (content is not markup).
    covered: Vec<Range<usize>>,
}

struct Frame {
    map: bool,
    flow: bool,
    expect_key: bool,
    key: Option<String>,
    keys: HashSet<String>,
}

fn parse(path: &str, source: &Source<'_>) -> Result<Parsed, Error> {
    let src = source.text;
    let mut parsed = Parsed {
        sites: Vec::new(),
        documents: Vec::new(),
        covered: Vec::new(),
    };
    let mut stack: Vec<Frame> = Vec::new();
    let mut parser = Parser::new_from_str(src);
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| Error::Parse {
            path: path.to_string(),
            line: e.marker().line(),
            column: e.marker().col() + 1,
            message: e.info().to_string(),
        })?;
        let range = source.bytes(&span);
        match event {
            Event::DocumentStart(_) => {
                parsed.documents.push(ObjectIdentifier::default());
                stack.clear();
            }
            Event::Scalar(value, style, _, _) => {
                let is_value = node_start(path, source, &mut stack, Some(&value), range.start)?;
                let doc = parsed.documents.len().saturating_sub(1);
                if is_value && let Some(id) = parsed.documents.last_mut() {
                    record_identity(&stack, &value, id);
                }
                let in_flow = stack.last().is_some_and(|f| f.flow);
                let site = locate(
                    src,
                    value.into_owned(),
                    style,
                    range,
                    is_value,
                    in_flow,
                    doc,
                );
                if !site.coverage.is_empty() {
                    parsed.covered.push(site.coverage.clone());
                }
                parsed.sites.push(site);
            }
            Event::Alias(_) => {
                node_start(path, source, &mut stack, None, range.start)?;
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                node_start(path, source, &mut stack, None, range.start)?;
                let opener = src.as_bytes().get(range.start).copied();
                let flow = stack.last().is_some_and(|f| f.flow)
                    || (!range.is_empty() && matches!(opener, Some(b'{' | b'[')));
                stack.push(Frame {
                    map: matches!(event, Event::MappingStart(..)),
                    flow,
                    expect_key: true,
                    key: None,
                    keys: HashSet::new(),
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
            }
            _ => {}
        }
    }
    parsed.covered.sort_by_key(|r| r.start);
    Ok(parsed)
}

/// Accounts for a node starting in the innermost collection; true when it
/// is a value (a mapping value or a sequence item), false for a key.
fn node_start(
    path: &str,
    source: &Source<'_>,
    stack: &mut [Frame],
    scalar: Option<&str>,
    at: usize,
) -> Result<bool, Error> {
    let Some(frame) = stack.last_mut() else {
        return Ok(true);
    };
    if !frame.map {
        return Ok(true);
    }
    let is_key = frame.expect_key;
    frame.expect_key = !is_key;
    if is_key {
        frame.key = scalar.map(str::to_string);
        // yaml.v3 (and so Flux) rejects duplicate keys; report it the same way.
        if let Some(key) = scalar
            && !frame.keys.insert(key.to_string())
        {
            let line = source.line_of(at);
            let line_start = source.line_starts[line - 1];
            return Err(Error::Parse {
                path: path.to_string(),
                line,
                column: source.text[line_start..at].chars().count() + 1,
                message: format!("mapping key {key:?} already defined"),
            });
        }
    }
    Ok(!is_key)
}

/// kyaml's `GetMeta().GetIdentifier()`: top-level `apiVersion` and `kind`,
/// `metadata.name` and `metadata.namespace`.
fn record_identity(stack: &[Frame], value: &str, id: &mut ObjectIdentifier) {
    fn key(f: &Frame) -> Option<&str> {
        f.key.as_deref()
    }
    match stack {
        [root] if root.map => match key(root) {
            Some("apiVersion") => id.api_version = value.to_string(),
            Some("kind") => id.kind = value.to_string(),
            _ => {}
        },
        [root, meta] if root.map && meta.map && key(root) == Some("metadata") => match key(meta) {
            Some("name") => id.name = value.to_string(),
            Some("namespace") => id.namespace = value.to_string(),
            _ => {}
        },
        _ => {}
    }
}

/// Finds a scalar's exact bytes from its (char-based, too long for quoted
/// scalars) span.
fn locate(
    src: &str,
    value: String,
    style: ScalarStyle,
    span: Range<usize>,
    is_value: bool,
    in_flow: bool,
    doc: usize,
) -> Site {
    let mut site = Site {
        value,
        style: None,
        content: None,
        coverage: span.clone(),
        is_value,
        in_flow,
        doc,
    };
    if span.is_empty() {
        return site;
    }
    let start = skip_properties(src, span.start, span.end);
    site.coverage = start..span.end;
    match style {
        ScalarStyle::Plain if start < span.end => {
            site.style = Some(Style::Plain);
            site.content = Some(start..span.end);
        }
        ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
            let double = matches!(style, ScalarStyle::DoubleQuoted);
            if let Some(close) = closing_quote(src, start, double) {
                site.style = Some(if double {
                    Style::DoubleQuoted
                } else {
                    Style::SingleQuoted
                });
                site.content = Some(start + 1..close);
                site.coverage = start..close + 1;
            }
        }
        // Block scalars: the span is the content lines; never a target.
        _ => {}
    }
    site
}

/// Skips an anchor (`&a`) and a tag (`!!str`, `!foo`) before the scalar.
fn skip_properties(src: &str, mut at: usize, end: usize) -> usize {
    let bytes = src.as_bytes();
    while at < end && matches!(bytes[at], b'&' | b'!') {
        while at < end && !matches!(bytes[at], b' ' | b'\t' | b'\r' | b'\n') {
            at += 1;
        }
        while at < end && matches!(bytes[at], b' ' | b'\t' | b'\r' | b'\n') {
            at += 1;
        }
    }
    at
}

/// The byte offset of the closing quote of the scalar opening at `open`.
fn closing_quote(src: &str, open: usize, double: bool) -> Option<usize> {
    let bytes = src.as_bytes();
    let quote = if double { b'"' } else { b'\'' };
    if bytes.get(open) != Some(&quote) {
        return None;
    }
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if double => i += 2,
            b'\'' if !double && bytes.get(i + 1) == Some(&b'\'') => i += 2,
            b if b == quote => return Some(i),
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests;
