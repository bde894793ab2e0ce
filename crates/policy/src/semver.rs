//! Masterminds/semver v3 as Flux uses it: `NewConstraint` + `Check` for the
//! range, and `fluxcd/pkg/version.ParseVersion` (one leading `v` stripped, then
//! `StrictNewVersion`) for tags.
//!
//! The constraint grammar is ported from Masterminds' own regular expressions
//! (compiled once with the `regex` crate, whose leftmost-first semantics are
//! Go's), so oddities such as `|` inside a version part or the empty operator
//! behave the same. The prerelease rule is the v3.4+ one that Flux ships
//! (v3.5): an AND group admits prereleases when any of its comparisons names a
//! prerelease.

use std::cmp::Ordering;
use std::sync::LazyLock;

use regex::Regex;

/// Why a range or a tag is not semver.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Masterminds' own text for a segment or comparison that does not parse.
    #[error("improper constraint: {segment}")]
    ImproperConstraint { segment: String },
    /// Masterminds' text when a comparison matches the grammar but its version
    /// does not coerce (for example `1x`).
    #[error("constraint Parser Error")]
    ConstraintParser { constraint: String },
    #[error("'{tag}' is empty")]
    Empty { tag: String },
    #[error("'{tag}' is not MAJOR.MINOR.PATCH")]
    NotThreeParts { tag: String },
    #[error("'{tag}' has a non-numeric MAJOR.MINOR.PATCH part")]
    NonNumeric { tag: String },
    #[error("'{tag}' has a leading zero")]
    LeadingZero { tag: String },
    #[error("'{tag}' has an empty or too large number")]
    BadNumber { tag: String },
    #[error("'{tag}' has an invalid prerelease")]
    BadPrerelease { tag: String },
    #[error("'{tag}' has invalid build metadata")]
    BadMetadata { tag: String },
}

impl Error {
    /// The reason without the tag, for explanations ("has a leading zero").
    pub fn reason(&self) -> &'static str {
        match self {
            Error::ImproperConstraint { .. } => "is an improper constraint",
            Error::ConstraintParser { .. } => "does not coerce to a version",
            Error::Empty { .. } => "is empty",
            Error::NotThreeParts { .. } => "is not MAJOR.MINOR.PATCH",
            Error::NonNumeric { .. } => "has a non-numeric MAJOR.MINOR.PATCH part",
            Error::LeadingZero { .. } => "has a leading zero",
            Error::BadNumber { .. } => "has an empty or too large number",
            Error::BadPrerelease { .. } => "has an invalid prerelease",
            Error::BadMetadata { .. } => "has invalid build metadata",
        }
    }
}

/// A parsed version that borrows its prerelease from the input. Build metadata
/// never takes part in comparisons, so it is not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version<'a> {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub pre: &'a str,
}

impl Version<'_> {
    /// SemVer 2.0 precedence as Masterminds computes it (`Version.Compare`).
    pub fn compare(&self, other: &Version<'_>) -> Ordering {
        self.major
            .cmp(&other.major)
            .then(self.minor.cmp(&other.minor))
            .then(self.patch.cmp(&other.patch))
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_prerelease(self.pre, other.pre),
            })
    }
}

/// Flux's tag parser: `fluxcd/pkg/version.ParseVersion`, i.e. strip one
/// leading `v`, then Masterminds `StrictNewVersion`.
pub fn parse_tag(tag: &str) -> Result<Version<'_>, Error> {
    let s = tag.strip_prefix('v').unwrap_or(tag);
    strict_new_version(s).map_err(|kind| kind.into_error(tag))
}

/// [`parse_tag`] without the reason, and without allocating on failure.
pub fn try_parse_tag(tag: &str) -> Option<Version<'_>> {
    strict_new_version(tag.strip_prefix('v').unwrap_or(tag)).ok()
}

#[derive(Debug, Clone, Copy)]
enum TagFault {
    Empty,
    NotThreeParts,
    NonNumeric,
    LeadingZero,
    BadNumber,
    BadPrerelease,
    BadMetadata,
}

impl TagFault {
    fn into_error(self, tag: &str) -> Error {
        let tag = tag.to_owned();
        match self {
            TagFault::Empty => Error::Empty { tag },
            TagFault::NotThreeParts => Error::NotThreeParts { tag },
            TagFault::NonNumeric => Error::NonNumeric { tag },
            TagFault::LeadingZero => Error::LeadingZero { tag },
            TagFault::BadNumber => Error::BadNumber { tag },
            TagFault::BadPrerelease => Error::BadPrerelease { tag },
            TagFault::BadMetadata => Error::BadMetadata { tag },
        }
    }
}

// A straight port of Masterminds `StrictNewVersion` (no regex, no allocation).
// Quirks kept on purpose: "1.0.0-" and "1.0.0+" are valid with an empty
// prerelease/metadata, and empty dot-separated identifiers ("a..b") pass.
fn strict_new_version(v: &str) -> Result<Version<'_>, TagFault> {
    if v.is_empty() {
        return Err(TagFault::Empty);
    }
    let mut parts = v.splitn(3, '.');
    let (Some(p0), Some(p1), Some(mut p2)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(TagFault::NotThreeParts);
    };
    let mut pre = "";
    let mut metadata = "";
    if p2.contains(['-', '+']) {
        if let Some((head, meta)) = p2.split_once('+') {
            metadata = meta;
            p2 = head;
        }
        if let Some((head, p)) = p2.split_once('-') {
            pre = p;
            p2 = head;
        }
    }
    for p in [p0, p1, p2] {
        if !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TagFault::NonNumeric);
        }
        if p.len() > 1 && p.as_bytes()[0] == b'0' {
            return Err(TagFault::LeadingZero);
        }
    }
    let major = parse_u64(p0).ok_or(TagFault::BadNumber)?;
    let minor = parse_u64(p1).ok_or(TagFault::BadNumber)?;
    let patch = parse_u64(p2).ok_or(TagFault::BadNumber)?;
    if !pre.is_empty() && !valid_prerelease(pre) {
        return Err(TagFault::BadPrerelease);
    }
    if !metadata.is_empty() && !valid_metadata(metadata) {
        return Err(TagFault::BadMetadata);
    }
    Ok(Version {
        major,
        minor,
        patch,
        pre,
    })
}

/// Go `strconv.ParseUint(s, 10, 64)`: non-empty, ASCII digits, no overflow.
fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

fn valid_prerelease(p: &str) -> bool {
    p.split('.').all(|id| {
        if id.bytes().all(|b| b.is_ascii_digit()) {
            !(id.len() > 1 && id.as_bytes()[0] == b'0')
        } else {
            id.bytes().all(is_ident_byte)
        }
    })
}

fn valid_metadata(m: &str) -> bool {
    m.split('.').all(|id| id.bytes().all(is_ident_byte))
}

fn compare_prerelease(a: &str, b: &str) -> Ordering {
    let mut ai = a.split('.');
    let mut bi = b.split('.');
    loop {
        match (ai.next(), bi.next()) {
            (None, None) => return Ordering::Equal,
            (x, y) => {
                let d = compare_pre_part(x.unwrap_or(""), y.unwrap_or(""));
                if d != Ordering::Equal {
                    return d;
                }
            }
        }
    }
}

// Masterminds `comparePrePart`, including its treatment of a missing (or
// empty) identifier as the smaller one and of numbers too large for u64 as
// alphanumeric.
fn compare_pre_part(s: &str, o: &str) -> Ordering {
    if s == o {
        return Ordering::Equal;
    }
    if s.is_empty() {
        return Ordering::Less;
    }
    if o.is_empty() {
        return Ordering::Greater;
    }
    match (parse_u64(s), parse_u64(o)) {
        (None, None) => s.cmp(o),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (Some(si), Some(oi)) => {
            if si > oi {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
    }
}

// Go's `\s` is `[\t\n\f\r ]`; spelled out so that the Rust regexes below mean
// exactly what Masterminds' Go regexes mean.
const CV: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const OPS: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";
const WS: &str = r"[\t\n\x0C\r ]";

fn compile(re: &str) -> Regex {
    Regex::new(re).expect("Masterminds constraint grammar compiles")
}

// Constraints are parsed once per policy, chart or template call: their
// patterns are compiled by `regex_lite`, ten times faster to build (a
// `ferroflux helm template` process compiles each once) and a microsecond
// a match. Versions, parsed once per tag, keep `regex`.
fn compile_lite(re: &str) -> regex_lite::Regex {
    regex_lite::Regex::new(re).expect("Masterminds constraint grammar compiles")
}

static CONSTRAINT_RE: LazyLock<regex_lite::Regex> =
    LazyLock::new(|| compile_lite(&format!(r"^{WS}*({OPS}){WS}*({CV}){WS}*$")));
static RANGE_RE: LazyLock<regex_lite::Regex> =
    LazyLock::new(|| compile_lite(&format!(r"{WS}*({CV}){WS}+-{WS}+({CV}){WS}*")));
static FIND_RE: LazyLock<regex_lite::Regex> =
    LazyLock::new(|| compile_lite(&format!(r"({OPS}){WS}*({CV})")));
static VALID_RE: LazyLock<regex_lite::Regex> = LazyLock::new(|| {
    compile_lite(&format!(
        r"^({WS}*({OPS}){WS}*({CV}){WS}*)((?:{WS}+|,{WS}*)({OPS}){WS}*({CV}){WS}*)*$"
    ))
});
static VERSION_RE: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?$",
    )
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    TildeOrEqual,
    NotEqual,
    Greater,
    Less,
    GreaterEqual,
    LessEqual,
    Tilde,
    Caret,
}

impl Op {
    fn parse(op: &str) -> Option<Op> {
        Some(match op {
            "" | "=" => Op::TildeOrEqual,
            "!=" => Op::NotEqual,
            ">" => Op::Greater,
            "<" => Op::Less,
            ">=" | "=>" => Op::GreaterEqual,
            "<=" | "=<" => Op::LessEqual,
            "~" | "~>" => Op::Tilde,
            "^" => Op::Caret,
            _ => return None,
        })
    }
}

/// One comparison such as `>=1.2` or `~1.x`.
#[derive(Debug, Clone)]
struct Comparison {
    op: Op,
    text: String,
    major: u64,
    minor: u64,
    patch: u64,
    pre: Box<str>,
    dirty: bool,
    minor_dirty: bool,
    patch_dirty: bool,
}

/// An AND group: comparisons that must all hold.
#[derive(Debug, Clone)]
struct Group {
    comparisons: Vec<Comparison>,
    /// Masterminds v3.4+: any comparison with a prerelease lets the whole
    /// group consider prerelease versions.
    include_prerelease: bool,
}

/// A parsed Masterminds range (`NewConstraint`).
#[derive(Debug, Clone)]
pub struct Constraints {
    text: String,
    groups: Vec<Group>,
}

/// Why a version does not satisfy a range, for explanations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Miss {
    /// Every OR branch rejected it only because it is a prerelease and the
    /// branch names none.
    Prerelease,
    /// The first failing comparison of each OR branch, as written.
    Fails(Vec<String>),
}

impl Constraints {
    /// `semver.NewConstraint`.
    pub fn parse(range: &str) -> Result<Constraints, Error> {
        let rewritten = rewrite_range(range);
        let mut groups = Vec::new();
        for segment in rewritten.split("||") {
            if !VALID_RE.is_match(segment) {
                return Err(Error::ImproperConstraint {
                    segment: segment.to_owned(),
                });
            }
            let mut found: Vec<&str> = FIND_RE.find_iter(segment).map(|m| m.as_str()).collect();
            if found.is_empty() {
                found.push(segment);
            }
            let comparisons = found
                .into_iter()
                .map(parse_comparison)
                .collect::<Result<Vec<_>, _>>()?;
            let include_prerelease = comparisons.iter().any(|c| !c.pre.is_empty());
            groups.push(Group {
                comparisons,
                include_prerelease,
            });
        }
        Ok(Constraints {
            text: range.to_owned(),
            groups,
        })
    }

    /// The range as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// `Constraints.Check`.
    pub fn check(&self, v: &Version<'_>) -> bool {
        self.groups.iter().any(|g| {
            g.comparisons
                .iter()
                .all(|c| c.check(v, g.include_prerelease))
        })
    }

    /// `None` when `v` satisfies the range, otherwise why not.
    pub fn miss(&self, v: &Version<'_>) -> Option<Miss> {
        if self.check(v) {
            return None;
        }
        let mut only_prerelease = !v.pre.is_empty();
        let mut fails = Vec::new();
        for g in &self.groups {
            if let Some(c) = g
                .comparisons
                .iter()
                .find(|c| !c.check(v, g.include_prerelease))
            {
                // Rejected only for being a prerelease: it passes once prereleases count.
                let pre_gate =
                    !g.include_prerelease && g.comparisons.iter().all(|c| c.check(v, true));
                only_prerelease &= pre_gate;
                fails.push(c.text.clone());
            }
        }
        Some(if only_prerelease {
            Miss::Prerelease
        } else {
            Miss::Fails(fails)
        })
    }
}

// Masterminds `rewriteRange`: "A - B" becomes ">= A, <= B", replacing the first
// occurrence of each matched text, as `strings.Replace(o, m, t, 1)` does.
fn rewrite_range(input: &str) -> String {
    let mut out = input.to_owned();
    for caps in RANGE_RE.captures_iter(input) {
        let (Some(all), Some(a), Some(b)) = (caps.get(0), caps.get(1), caps.get(11)) else {
            continue;
        };
        let replacement = format!(">= {}, <= {}", a.as_str(), b.as_str());
        out = out.replacen(all.as_str(), &replacement, 1);
    }
    out
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "*" | "X")
}

fn parse_comparison(c: &str) -> Result<Comparison, Error> {
    if c.is_empty() {
        // Masterminds: an empty comparison is `>=0.0.0` written as "".
        return Ok(Comparison {
            op: Op::TildeOrEqual,
            text: String::new(),
            major: 0,
            minor: 0,
            patch: 0,
            pre: "".into(),
            dirty: true,
            minor_dirty: false,
            patch_dirty: false,
        });
    }
    let improper = || Error::ImproperConstraint {
        segment: c.to_owned(),
    };
    let m = CONSTRAINT_RE.captures(c).ok_or_else(improper)?;
    let group = |i: usize| m.get(i).map_or("", |g| g.as_str());
    let op = Op::parse(group(1)).ok_or_else(improper)?;
    let (m3, m4, m5, m6) = (group(3), group(4), group(5), group(6));
    let mut minor_dirty = false;
    let mut patch_dirty = false;
    let mut dirty = false;
    let ver = if is_x(m3) || m3.is_empty() {
        dirty = true;
        format!("0.0.0{m6}")
    } else if is_x(m4.trim_start_matches('.')) || m4.is_empty() {
        minor_dirty = true;
        dirty = true;
        format!("{m3}.0.0{m6}")
    } else if is_x(m5.trim_start_matches('.')) || m5.is_empty() {
        dirty = true;
        patch_dirty = true;
        format!("{m3}{m4}.0{m6}")
    } else {
        group(2).to_owned()
    };
    let (major, minor, patch, pre) = new_version(&ver).ok_or_else(|| Error::ConstraintParser {
        constraint: c.to_owned(),
    })?;
    Ok(Comparison {
        op,
        text: format!("{}{}", group(1), group(2)),
        major,
        minor,
        patch,
        pre: pre.into(),
        dirty,
        minor_dirty,
        patch_dirty,
    })
}

/// Masterminds `NewVersion` (the coercing parser used for range versions).
fn new_version(v: &str) -> Option<(u64, u64, u64, String)> {
    let m = VERSION_RE.captures(v)?;
    let part = |i: usize| -> Option<u64> {
        match m.get(i) {
            None => Some(0),
            Some(g) => parse_u64(g.as_str().trim_start_matches('.')),
        }
    };
    let major = parse_u64(m.get(1)?.as_str())?;
    let (minor, patch) = (part(2)?, part(3)?);
    let pre = m.get(5).map_or("", |g| g.as_str());
    if !pre.is_empty() && !valid_prerelease(pre) {
        return None;
    }
    Some((major, minor, patch, pre.to_owned()))
}

impl Comparison {
    fn con(&self) -> Version<'_> {
        Version {
            major: self.major,
            minor: self.minor,
            patch: self.patch,
            pre: &self.pre,
        }
    }

    fn check(&self, v: &Version<'_>, include_pre: bool) -> bool {
        let excluded_pre = !include_pre && !v.pre.is_empty();
        match self.op {
            Op::NotEqual => self.not_equal(v, excluded_pre),
            _ if excluded_pre => false,
            Op::TildeOrEqual => {
                if self.dirty {
                    self.tilde(v)
                } else {
                    v.compare(&self.con()) == Ordering::Equal
                }
            }
            Op::Greater => self.greater(v),
            Op::Less => v.compare(&self.con()) == Ordering::Less,
            Op::GreaterEqual => v.compare(&self.con()) != Ordering::Less,
            Op::LessEqual => self.less_equal(v),
            Op::Tilde => self.tilde(v),
            Op::Caret => self.caret(v),
        }
    }

    fn not_equal(&self, v: &Version<'_>, excluded_pre: bool) -> bool {
        if self.dirty {
            if excluded_pre {
                return false;
            }
            if self.major != v.major {
                return true;
            }
            if self.minor != v.minor && !self.minor_dirty {
                return true;
            } else if self.minor_dirty {
                return false;
            } else if self.patch != v.patch && !self.patch_dirty {
                return true;
            } else if self.patch_dirty {
                if !v.pre.is_empty() || !self.pre.is_empty() {
                    return compare_prerelease(v.pre, &self.pre) != Ordering::Equal;
                }
                return false;
            }
        }
        v.compare(&self.con()) != Ordering::Equal
    }

    fn greater(&self, v: &Version<'_>) -> bool {
        if !self.dirty {
            return v.compare(&self.con()) == Ordering::Greater;
        }
        if v.major > self.major {
            true
        } else if v.major < self.major || self.minor_dirty {
            false
        } else if self.patch_dirty {
            v.minor > self.minor
        } else {
            v.compare(&self.con()) == Ordering::Greater
        }
    }

    fn less_equal(&self, v: &Version<'_>) -> bool {
        if !self.dirty {
            return v.compare(&self.con()) != Ordering::Greater;
        }
        if v.major > self.major {
            return false;
        }
        !(v.major == self.major && v.minor > self.minor && !self.minor_dirty)
    }

    fn tilde(&self, v: &Version<'_>) -> bool {
        if v.compare(&self.con()) == Ordering::Less {
            return false;
        }
        if self.major == 0
            && self.minor == 0
            && self.patch == 0
            && !self.minor_dirty
            && !self.patch_dirty
        {
            return true;
        }
        if v.major != self.major {
            return false;
        }
        v.minor == self.minor || self.minor_dirty
    }

    fn caret(&self, v: &Version<'_>) -> bool {
        if v.compare(&self.con()) == Ordering::Less {
            return false;
        }
        if self.major > 0 || self.minor_dirty {
            return v.major == self.major;
        }
        if v.major > 0 {
            return false;
        }
        if self.minor > 0 || self.patch_dirty {
            return v.minor == self.minor;
        }
        if v.minor > 0 {
            return false;
        }
        v.patch == self.patch
    }
}

#[cfg(test)]
mod tests;
