//! "Closest to matching": when a `filterTags.pattern` matches no tag, rank
//! the tags by how few characters must go for the pattern to match, else by
//! edit distance to a short string the pattern does match, built from the
//! pattern's syntax tree (first alternative, minimum repetitions, a
//! representative character of each class).

use ferroflux_policy::Filter;
use regex_syntax::hir::{Class, Hir, HirKind};

/// A short string the pattern matches (approximately: look-arounds are
/// ignored). Falls back to the pattern without its metacharacters when it
/// does not parse.
pub fn sample(pattern: &str) -> String {
    match regex_syntax::ParserBuilder::new().build().parse(pattern) {
        Ok(hir) => {
            let mut out = String::new();
            walk(&hir, &mut out);
            out
        }
        Err(_) => pattern
            .chars()
            .filter(|c| !"^$\\()[]{}?*+|.".contains(*c))
            .collect(),
    }
}

fn walk(hir: &Hir, out: &mut String) {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Literal(lit) => out.push_str(&String::from_utf8_lossy(&lit.0)),
        HirKind::Class(Class::Unicode(c)) => {
            let has = |ch: char| c.ranges().iter().any(|r| r.start() <= ch && ch <= r.end());
            let pick = ['0', 'a', 'A', '-', '.']
                .into_iter()
                .find(|&ch| has(ch))
                .or_else(|| c.ranges().first().map(|r| r.start()));
            out.extend(pick);
        }
        HirKind::Class(Class::Bytes(c)) => {
            let has = |b: u8| c.ranges().iter().any(|r| r.start() <= b && b <= r.end());
            let pick = [b'0', b'a', b'A', b'-', b'.']
                .into_iter()
                .find(|&b| has(b))
                .or_else(|| c.ranges().first().map(|r| r.start()));
            out.extend(pick.map(char::from));
        }
        HirKind::Repetition(rep) => {
            for _ in 0..rep.min.min(16) {
                walk(&rep.sub, out);
            }
        }
        HirKind::Capture(cap) => walk(&cap.sub, out),
        HirKind::Concat(parts) => parts.iter().for_each(|h| walk(h, out)),
        HirKind::Alternation(alts) => {
            if let Some(first) = alts.first() {
                walk(first, out);
            }
        }
    }
}

/// The `n` tags closest to matching, nearest first (ties by tag), each
/// with its distance: the fewest characters to delete for the pattern to
/// match (from the ends, up to four, or one anywhere), else the edit
/// distance to the pattern's sample, whichever is smaller.
pub fn closest<'a>(pattern: &str, tags: &'a [String], n: usize) -> Vec<(&'a str, usize)> {
    let target = sample(pattern);
    let filter = Filter::new(pattern, "").ok();
    let mut scratch = filter.as_ref().map(Filter::scratch);
    let mut ranked: Vec<(&str, usize)> = tags
        .iter()
        .map(|t| {
            let lev = strsim::levenshtein(t, &target);
            let trimmed = match (&filter, scratch.as_mut()) {
                (Some(f), Some(s)) => deletions(t, |c| f.apply(c, s).is_some()),
                _ => None,
            };
            (t.as_str(), trimmed.map_or(lev, |d| d.min(lev)))
        })
        .collect();
    ranked.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(b.0)));
    ranked.truncate(n);
    ranked
}

/// Fewest deleted characters (at most four, from either end, or a single
/// one anywhere) that make `tag` match; `Some(0)` when it already does.
pub fn deletions(tag: &str, mut matches: impl FnMut(&str) -> bool) -> Option<usize> {
    if matches(tag) {
        return Some(0);
    }
    let bounds: Vec<usize> = tag
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(tag.len()))
        .collect();
    let chars = bounds.len() - 1;
    for d in 1..=4.min(chars) {
        for head in 0..=d {
            let tail = d - head;
            if matches(&tag[bounds[head]..bounds[chars - tail]]) {
                return Some(d);
            }
        }
        if d == 1 {
            for i in 1..chars.saturating_sub(1) {
                let cut = format!("{}{}", &tag[..bounds[i]], &tag[bounds[i + 1]..]);
                if matches(&cut) {
                    return Some(1);
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests;
