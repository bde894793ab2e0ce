//! `filterTags`: a Go RE2 pattern matched anywhere in the tag and an `extract`
//! template expanded by Go's `Regexp.Expand` rules.
//!
//! The pattern is parsed with `regex-syntax` and rewritten before compiling:
//! Go's `\d`, `\w`, `\s` and `\b` are ASCII, Rust's are Unicode, so those are
//! spelled out as ASCII classes while `.`, `(?i)` and `\pL` keep their Unicode
//! meaning (as in Go). Syntax that Go rejects (nested repetition, counts over
//! 1000, the `x`/`u`/`R` flags, Rust-only assertions) is rejected too, and
//! Rust-only class set operations are refused rather than silently given a
//! meaning Go does not have. Duplicate group names, which Go allows, are
//! renamed for Rust and resolved as Go does (first participating group).

use regex::{CaptureLocations, Regex};
use regex_syntax::ast::{self, Ast, ClassPerlKind, ClassSetItem, Span};

/// A pattern Go would not compile, or that this port cannot give Go's meaning.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid regular expression pattern '{pattern}': error parsing regexp: {reason}")]
pub struct Error {
    pub pattern: String,
    pub reason: String,
}

/// A compiled `filterTags` (pattern plus extract template).
#[derive(Debug, Clone)]
pub struct Filter {
    pattern: String,
    extract: String,
    regex: Regex,
    template: Vec<Piece>,
}

#[derive(Debug, Clone)]
enum Piece {
    Literal(String),
    /// A group by number, or every group with that name in order.
    Groups(Vec<usize>),
}

/// Reusable buffers for [`Filter::apply`], so that filtering a long tag list
/// allocates nothing per tag.
#[derive(Debug)]
pub struct Scratch {
    locs: CaptureLocations,
    key: String,
}

impl Filter {
    /// Compile `pattern` (Go RE2 syntax) and parse `extract`.
    pub fn new(pattern: &str, extract: &str) -> Result<Filter, Error> {
        let fail = |reason: String| Error {
            pattern: pattern.to_owned(),
            reason,
        };
        let (translated, names) = translate(pattern).map_err(fail)?;
        let regex = regex::RegexBuilder::new(&translated)
            .size_limit(16 << 20)
            .build()
            .map_err(|e| fail(one_line(&e.to_string())))?;
        let template = parse_template(extract, &names);
        Ok(Filter {
            pattern: pattern.to_owned(),
            extract: extract.to_owned(),
            regex,
            template,
        })
    }

    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    pub fn extract(&self) -> &str {
        &self.extract
    }

    /// Buffers for [`Filter::apply`].
    pub fn scratch(&self) -> Scratch {
        Scratch {
            locs: self.regex.capture_locations(),
            key: String::new(),
        }
    }

    /// The candidate key for `tag`: `None` when the pattern does not match,
    /// the tag itself when there is no extract, otherwise the expansion of the
    /// first match (held in `scratch`).
    pub fn apply<'a>(&self, tag: &'a str, scratch: &'a mut Scratch) -> Option<&'a str> {
        self.regex.captures_read(&mut scratch.locs, tag)?;
        if self.extract.is_empty() {
            return Some(tag);
        }
        scratch.key.clear();
        for piece in &self.template {
            match piece {
                Piece::Literal(s) => scratch.key.push_str(s),
                Piece::Groups(indexes) => {
                    if let Some((start, end)) = indexes.iter().find_map(|&i| scratch.locs.get(i)) {
                        scratch.key.push_str(&tag[start..end]);
                    }
                }
            }
        }
        Some(&scratch.key)
    }
}

fn one_line(s: &str) -> String {
    let last = s.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or(s);
    last.trim().trim_start_matches("error: ").to_owned()
}

// Go `Regexp.Expand`, parsed once: `$$` is `$`; `$name`/`${name}` where name is
// the longest run of letters, digits and `_`; an all-digit name without a
// leading zero is a group number; a malformed reference is a literal `$`; an
// unknown group expands to nothing.
fn parse_template(template: &str, names: &[Option<String>]) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut rest = template;
    while let Some((before, after)) = rest.split_once('$') {
        lit.push_str(before);
        rest = after;
        if let Some(r) = rest.strip_prefix('$') {
            lit.push('$');
            rest = r;
            continue;
        }
        let Some((name, after_name)) = reference(rest) else {
            lit.push('$');
            continue;
        };
        rest = after_name;
        if !lit.is_empty() {
            pieces.push(Piece::Literal(std::mem::take(&mut lit)));
        }
        let number = (name.bytes().all(|b| b.is_ascii_digit())
            && !(name.len() > 1 && name.starts_with('0')))
        .then(|| name.parse::<usize>().ok())
        .flatten()
        .filter(|&n| n < 100_000_000);
        let groups = match number {
            Some(n) if n < names.len() => vec![n],
            Some(_) => Vec::new(),
            None => (0..names.len())
                .filter(|&i| names[i].as_deref() == Some(name))
                .collect(),
        };
        pieces.push(Piece::Groups(groups));
    }
    lit.push_str(rest);
    if !lit.is_empty() {
        pieces.push(Piece::Literal(lit));
    }
    pieces
}

// Go `extract`: the name after `$` and what follows it.
fn reference(s: &str) -> Option<(&str, &str)> {
    let (braced, body) = match s.strip_prefix('{') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let end = body
        .char_indices()
        .find(|&(_, c)| !(c.is_alphabetic() || c.is_numeric() || c == '_'))
        .map_or(body.len(), |(i, _)| i);
    if end == 0 {
        return None;
    }
    let name = &body[..end];
    if braced {
        let after = body[end..].strip_prefix('}')?;
        Some((name, after))
    } else {
        Some((name, &body[end..]))
    }
}

/// Rewrite a Go pattern into a Rust pattern with the same meaning, and list
/// the group names by group index (index 0 is the whole match).
fn translate(pattern: &str) -> Result<(String, Vec<Option<String>>), String> {
    // Go allows a group name twice, Rust does not: rename each duplicate (the
    // parser points at it) and remember the name Go would see.
    let mut text = pattern.to_owned();
    let mut renamed = std::collections::HashMap::new();
    let parsed = loop {
        let result = ast::parse::ParserBuilder::new()
            .nest_limit(1000)
            .build()
            .parse(&text);
        match result {
            Ok(parsed) => break parsed,
            Err(e) if matches!(e.kind(), ast::ErrorKind::GroupNameDuplicate { .. }) => {
                let span = e.span();
                let alias = format!("ferroflux_dup{}", renamed.len());
                renamed.insert(
                    alias.clone(),
                    text[span.start.offset..span.end.offset].to_owned(),
                );
                text.replace_range(span.start.offset..span.end.offset, &alias);
            }
            Err(e) => return Err(e.kind().to_string()),
        }
    };
    let mut v = Translator {
        edits: Vec::new(),
        names: vec![None],
        renamed,
    };
    walk(&parsed, &mut v)?;
    v.edits
        .sort_by_key(|(span, _)| std::cmp::Reverse(span.start.offset));
    for (span, replacement) in v.edits {
        text.replace_range(span.start.offset..span.end.offset, &replacement);
    }
    Ok((text, v.names))
}

struct Translator {
    edits: Vec<(Span, String)>,
    names: Vec<Option<String>>,
    renamed: std::collections::HashMap<String, String>,
}

const DIGIT: &str = "0-9";
const WORD: &str = "0-9A-Za-z_";
const SPACE: &str = r"\t\n\x0C\r ";

fn perl_set(kind: &ClassPerlKind) -> &'static str {
    match kind {
        ClassPerlKind::Digit => DIGIT,
        ClassPerlKind::Word => WORD,
        ClassPerlKind::Space => SPACE,
    }
}

fn unsupported(what: &str) -> String {
    format!("invalid or unsupported Perl syntax: {what}")
}

fn walk(node: &Ast, v: &mut Translator) -> Result<(), String> {
    match node {
        Ast::ClassPerl(c) => {
            let neg = if c.negated { "^" } else { "" };
            v.edits
                .push((c.span, format!("[{neg}{}]", perl_set(&c.kind))));
        }
        Ast::Assertion(a) => {
            let text = match a.kind {
                ast::AssertionKind::WordBoundary => r"(?-u:\b)",
                ast::AssertionKind::NotWordBoundary => r"(?-u:\B)",
                ast::AssertionKind::StartLine
                | ast::AssertionKind::EndLine
                | ast::AssertionKind::StartText
                | ast::AssertionKind::EndText => return Ok(()),
                _ => return Err(unsupported("word-boundary assertion")),
            };
            v.edits.push((a.span, text.to_owned()));
        }
        Ast::Flags(f) => check_flags(&f.flags)?,
        Ast::ClassBracketed(c) => walk_class(&c.kind, v)?,
        Ast::Repetition(r) => {
            if let ast::RepetitionKind::Range(range) = &r.op.kind {
                let too_big = match *range {
                    ast::RepetitionRange::Exactly(n) | ast::RepetitionRange::AtLeast(n) => n > 1000,
                    ast::RepetitionRange::Bounded(a, b) => a > 1000 || b > 1000,
                };
                if too_big {
                    return Err("invalid repeat count".to_owned());
                }
            }
            if matches!(*r.ast, Ast::Repetition(_)) {
                return Err("invalid nested repetition operator".to_owned());
            }
            walk(&r.ast, v)?;
        }
        Ast::Group(g) => {
            match &g.kind {
                ast::GroupKind::CaptureIndex(_) => v.names.push(None),
                ast::GroupKind::CaptureName { name, .. } => {
                    let go_name = v.renamed.get(&name.name).unwrap_or(&name.name);
                    v.names.push(Some(go_name.clone()));
                }
                ast::GroupKind::NonCapturing(flags) => check_flags(flags)?,
            }
            walk(&g.ast, v)?;
        }
        Ast::Alternation(a) => a.asts.iter().try_for_each(|x| walk(x, v))?,
        Ast::Concat(c) => c.asts.iter().try_for_each(|x| walk(x, v))?,
        Ast::Empty(_) | Ast::Literal(_) | Ast::Dot(_) | Ast::ClassUnicode(_) => {}
    }
    Ok(())
}

fn check_flags(flags: &ast::Flags) -> Result<(), String> {
    for item in &flags.items {
        if let ast::FlagsItemKind::Flag(
            ast::Flag::IgnoreWhitespace | ast::Flag::Unicode | ast::Flag::CRLF,
        ) = item.kind
        {
            return Err(unsupported("flag"));
        }
    }
    Ok(())
}

fn walk_class(set: &ast::ClassSet, v: &mut Translator) -> Result<(), String> {
    match set {
        ast::ClassSet::BinaryOp(_) => Err(unsupported("class set operation (&&, --, ~~)")),
        ast::ClassSet::Item(item) => walk_class_item(item, v),
    }
}

fn walk_class_item(item: &ClassSetItem, v: &mut Translator) -> Result<(), String> {
    match item {
        ClassSetItem::Perl(c) => {
            let text = if c.negated {
                format!("[^{}]", perl_set(&c.kind))
            } else {
                perl_set(&c.kind).to_owned()
            };
            v.edits.push((c.span, text));
            Ok(())
        }
        ClassSetItem::Bracketed(_) => Err(unsupported("nested character class")),
        ClassSetItem::Union(u) => u.items.iter().try_for_each(|i| walk_class_item(i, v)),
        ClassSetItem::Empty(_)
        | ClassSetItem::Literal(_)
        | ClassSetItem::Range(_)
        | ClassSetItem::Ascii(_)
        | ClassSetItem::Unicode(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests;
