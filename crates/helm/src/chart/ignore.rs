//! `.helmignore` as Helm's `pkg/ignore` reads and applies it
//! (helm-semantics.md §2.3). Not gitignore: a negated rule ignores every
//! path it does *not* match, and evaluation stops at the first rule that
//! decides.

// Go's chunk scanner, escapes and rune decoding, shared with envsubst's
// `path.Match` in ferroflux-kustomize.
use ferroflux_kustomize::flux::envsubst::{decode_rune as decode, get_esc, scan_chunk};

/// One parsed rule.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Pattern {
    /// The pattern matched (without `!`, trailing `/` or leading `/`).
    glob: String,
    /// How `filepath.Match` can be answered without it: for the common
    /// `name` and `*.ext` patterns (equality, or a suffix after a run
    /// without `/`).
    shape: Shape,
    negate: bool,
    must_dir: bool,
    kind: MatchKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Shape {
    Literal,
    /// `*` followed by this literal.
    StarSuffix(String),
    Glob,
}

impl Shape {
    fn of(glob: &str) -> Shape {
        let meta = |s: &str| s.contains(['*', '?', '[', '\\']);
        if !meta(glob) {
            Shape::Literal
        } else if let Some(rest) = glob.strip_prefix('*')
            && !meta(rest)
        {
            Shape::StarSuffix(rest.to_string())
        } else {
            Shape::Glob
        }
    }

    fn matches(&self, glob: &str, name: &str) -> bool {
        match self {
            Shape::Literal => glob == name,
            Shape::StarSuffix(suffix) => name
                .strip_suffix(suffix.as_str())
                .is_some_and(|head| !head.contains('/')),
            Shape::Glob => go_match(glob, name).unwrap_or(false),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MatchKind {
    /// Leading `/` or a `/` inside: the whole relative path.
    Path,
    /// No `/`: the base name only.
    Base,
}

/// A parsed `.helmignore`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IgnoreRules {
    patterns: Vec<Pattern>,
}

/// Why a `.helmignore` line is refused (Helm's text).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct IgnoreError {
    pub line: usize,
    pub message: String,
}

/// Longest line `bufio.Scanner` reads by default.
const MAX_LINE: usize = 64 * 1024;

impl IgnoreRules {
    /// `ignore.Parse`: one rule per line; a UTF-8 BOM on the first line is
    /// dropped, lines are trimmed, blank and `#` lines skipped.
    pub fn parse(text: &str) -> Result<IgnoreRules, IgnoreError> {
        let mut rules = IgnoreRules::default();
        let mut lines: Vec<&str> = text.split('\n').collect();
        if lines.last() == Some(&"") {
            lines.pop();
        }
        for (i, line) in lines.into_iter().enumerate() {
            if line.len() >= MAX_LINE {
                return Err(IgnoreError {
                    line: i + 1,
                    message: "bufio.Scanner: token too long".to_string(),
                });
            }
            let line = line.strip_suffix('\r').unwrap_or(line);
            let line = if i == 0 {
                line.strip_prefix('\u{FEFF}').unwrap_or(line)
            } else {
                line
            };
            rules.parse_rule(line).map_err(|message| IgnoreError {
                line: i + 1,
                message,
            })?;
        }
        Ok(rules)
    }

    /// `Rules.AddDefaults`: `templates/.?*` (hidden files in `templates/`).
    pub fn add_defaults(&mut self) {
        let _ = self.parse_rule("templates/.?*");
    }

    fn parse_rule(&mut self, rule: &str) -> Result<(), String> {
        // Go trims unicode.IsSpace: Unicode White_Space, as `trim` does.
        let rule = rule.trim();
        if rule.is_empty() || rule.starts_with('#') {
            return Ok(());
        }
        if rule.contains("**") {
            return Err("double-star (**) syntax is not supported".to_string());
        }
        if go_match(rule, "abc").is_none() {
            return Err("syntax error in pattern".to_string());
        }
        let (negate, rule) = match rule.strip_prefix('!') {
            Some(r) => (true, r),
            None => (false, rule),
        };
        let (must_dir, rule) = match rule.strip_suffix('/') {
            Some(r) => (true, r),
            None => (false, rule),
        };
        let (kind, glob) = if let Some(r) = rule.strip_prefix('/') {
            (MatchKind::Path, r)
        } else if rule.contains('/') {
            (MatchKind::Path, rule)
        } else {
            (MatchKind::Base, rule)
        };
        self.patterns.push(Pattern {
            glob: glob.to_string(),
            shape: Shape::of(glob),
            negate,
            must_dir,
            kind,
        });
        Ok(())
    }

    /// `Rules.Ignore(path, fi)`: `path` relative to the chart root with `/`
    /// separators.
    pub fn ignore(&self, path: &str, is_dir: bool) -> bool {
        if path.is_empty() || path == "." || path == "./" {
            return false;
        }
        for p in &self.patterns {
            let name = match p.kind {
                MatchKind::Path => path,
                MatchKind::Base => go_base(path),
            };
            let matched = p.shape.matches(&p.glob, name);
            if p.negate {
                if p.must_dir && !is_dir {
                    return true;
                }
                if !matched {
                    return true;
                }
                continue;
            }
            if p.must_dir && !is_dir {
                continue;
            }
            if matched {
                return true;
            }
        }
        false
    }
}

/// Go's `filepath.Base`: the last element, trailing slashes dropped.
fn go_base(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return if path.is_empty() { "." } else { "/" };
    }
    match trimmed.rfind('/') {
        Some(i) => &trimmed[i + 1..],
        None => trimmed,
    }
}

/// Go's `filepath.Match` (Unix): `*` and `?` never match `/`, `[^…]`
/// negates, `\` escapes. `None` is `ErrBadPattern`; as Go ≥ 1.16, the rest
/// of the pattern is checked even after a mismatch.
pub fn go_match(pattern: &str, name: &str) -> Option<bool> {
    let mut pattern = pattern.as_bytes();
    let mut name = name.as_bytes();
    'pattern: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            return Some(!name.contains(&b'/'));
        }
        let (t, ok, bad) = match_chunk(chunk, name);
        if ok && (t.is_empty() || !pattern.is_empty()) {
            name = t;
            continue;
        }
        if bad {
            return None;
        }
        if star {
            let mut i = 0;
            while i < name.len() && name[i] != b'/' {
                let (t, ok, bad) = match_chunk(chunk, &name[i + 1..]);
                if ok {
                    if pattern.is_empty() && !t.is_empty() {
                        i += 1;
                        continue;
                    }
                    name = t;
                    continue 'pattern;
                }
                if bad {
                    return None;
                }
                i += 1;
            }
        }
        while !pattern.is_empty() {
            let (_, chunk, rest) = scan_chunk(pattern);
            pattern = rest;
            if match_chunk(chunk, b"").2 {
                return None;
            }
        }
        return Some(false);
    }
    Some(name.is_empty())
}

/// `matchChunk`: (rest of `s`, matched, bad pattern).
fn match_chunk<'s>(mut chunk: &[u8], mut s: &'s [u8]) -> (&'s [u8], bool, bool) {
    let mut failed = false;
    while !chunk.is_empty() {
        if !failed && s.is_empty() {
            failed = true;
        }
        match chunk[0] {
            b'[' => {
                let mut r = 0;
                if !failed {
                    let (rr, n) = decode(s);
                    r = rr;
                    s = &s[n..];
                }
                chunk = &chunk[1..];
                let negated = chunk.first() == Some(&b'^');
                if negated {
                    chunk = &chunk[1..];
                }
                let mut matched = false;
                let mut nrange = 0;
                loop {
                    if chunk.first() == Some(&b']') && nrange > 0 {
                        chunk = &chunk[1..];
                        break;
                    }
                    let Some((lo, rest)) = get_esc(chunk) else {
                        return (&[], false, true);
                    };
                    chunk = rest;
                    let mut hi = lo;
                    if chunk[0] == b'-' {
                        let Some((h, rest)) = get_esc(&chunk[1..]) else {
                            return (&[], false, true);
                        };
                        hi = h;
                        chunk = rest;
                    }
                    if lo <= r && r <= hi {
                        matched = true;
                    }
                    nrange += 1;
                }
                if matched == negated {
                    failed = true;
                }
            }
            b'?' => {
                if !failed {
                    if s[0] == b'/' {
                        failed = true;
                    }
                    let (_, n) = decode(s);
                    s = &s[n..];
                }
                chunk = &chunk[1..];
            }
            c => {
                let c = if c == b'\\' {
                    chunk = &chunk[1..];
                    match chunk.first() {
                        None => return (&[], false, true),
                        Some(c) => *c,
                    }
                } else {
                    c
                };
                if !failed {
                    if c != s[0] {
                        failed = true;
                    }
                    s = &s[1..];
                }
                chunk = &chunk[1..];
            }
        }
    }
    if failed {
        return (&[], false, false);
    }
    (s, true, false)
}

#[cfg(test)]
mod tests {
    use super::{Shape, go_match};

    #[test]
    fn shortcuts_answer_as_filepath_match() {
        let patterns = ["*.bak", "*", "*~", "abc", ".git", "*.tar.gz", "*/x", "a*"];
        let names = [
            "x.bak", "a/x.bak", ".bak", "x.bakk", "", "abc", "a/abc", "x~", "~", "a.tar.gz", "a/b",
            "a/x", "ab",
        ];
        for p in patterns {
            let shape = Shape::of(p);
            for n in names {
                assert_eq!(
                    shape.matches(p, n),
                    go_match(p, n).expect("good pattern"),
                    "{p:?} against {n:?} ({shape:?})"
                );
            }
        }
        assert_eq!(Shape::of("*.bak"), Shape::StarSuffix(".bak".into()));
        assert_eq!(Shape::of(".git"), Shape::Literal);
        assert_eq!(Shape::of("a*"), Shape::Glob);
    }
}
