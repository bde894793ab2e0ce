//! sprig's `semver` and `semverCompare`: Masterminds/semver v3 version
//! parsing (with its coercion of `1`, `1.2`, `v1.2.3`) and constraint checks
//! (`=`, `!=`, `>`, `<`, `>=`, `<=`, `~`, `^`, wildcards, hyphen ranges,
//! `,`/space for AND, `||` for OR, and the rule that a prerelease version
//! only matches a constraint that has a prerelease).

use std::cmp::Ordering;
use std::sync::LazyLock;

use regex_lite::Regex;

use crate::value::{Value, make_struct};

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum SemverError {
    #[error("Invalid Semantic Version")]
    InvalidVersion,
    #[error("Version segment starts with 0")]
    InvalidPrerelease,
    #[error("improper constraint: {0}")]
    ImproperConstraint(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub pre: String,
    pub metadata: String,
    pub original: String,
}

static VERSION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?$",
    )
    .expect("static regex")
});

/// Masterminds `NewVersion`.
pub fn parse_version(s: &str) -> Result<Version, SemverError> {
    let caps = VERSION.captures(s).ok_or(SemverError::InvalidVersion)?;
    let num = |i: usize| -> Result<u64, SemverError> {
        match caps.get(i) {
            Some(m) => m
                .as_str()
                .trim_start_matches('.')
                .parse()
                .map_err(|_| SemverError::InvalidVersion),
            None => Ok(0),
        }
    };
    let pre = caps.get(5).map_or("", |m| m.as_str()).to_string();
    for seg in pre.split('.').filter(|s| !s.is_empty()) {
        if seg.len() > 1 && seg.starts_with('0') && seg.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SemverError::InvalidPrerelease);
        }
    }
    Ok(Version {
        major: num(1)?,
        minor: num(2)?,
        patch: num(3)?,
        pre,
        metadata: caps.get(8).map_or("", |m| m.as_str()).to_string(),
        original: s.to_string(),
    })
}

impl Version {
    fn string(&self) -> String {
        let mut s = format!("{}.{}.{}", self.major, self.minor, self.patch);
        if !self.pre.is_empty() {
            s.push('-');
            s.push_str(&self.pre);
        }
        if !self.metadata.is_empty() {
            s.push('+');
            s.push_str(&self.metadata);
        }
        s
    }

    fn compare(&self, o: &Version) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(o.major, o.minor, o.patch))
            .then_with(|| compare_pre(&self.pre, &o.pre))
    }
}

fn compare_pre(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let (pa, pb): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
    for (x, y) in pa.iter().zip(pb.iter()) {
        let c = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(n), Ok(m)) => n.cmp(&m),
            (Ok(_), Err(_)) => Ordering::Less,
            (Err(_), Ok(_)) => Ordering::Greater,
            _ => x.cmp(y),
        };
        if c != Ordering::Equal {
            return c;
        }
    }
    pa.len().cmp(&pb.len())
}

/// `semver "1.2.3"` as a template value (`*semver.Version` with its methods).
pub fn version_value(s: &str) -> Result<Value, String> {
    let v = parse_version(s).map_err(|e| e.to_string())?;
    let text = v.string();
    Ok(make_struct(
        "*semver.Version",
        vec![],
        vec![
            ("Major", Value::Int64(v.major as i64)),
            ("Minor", Value::Int64(v.minor as i64)),
            ("Patch", Value::Int64(v.patch as i64)),
            ("Prerelease", Value::str(v.pre.as_str())),
            ("Metadata", Value::str(v.metadata.as_str())),
            ("Original", Value::str(v.original.as_str())),
            ("String", Value::str(text.as_str())),
        ],
        Some(text.clone()),
    ))
}

struct Constraint {
    op: String,
    con: Version,
    minor_dirty: bool,
    patch_dirty: bool,
    dirty: bool,
}

/// Go's `\s` (Rust's is wider).
const WS: &str = r"[\t\n\x0C\r ]";
/// A version as the constraint patterns match it, `x`/`*` wildcards allowed.
const NUMS: &str = r"v?([0-9xX*]+)(\.[0-9xX*]+)?(\.[0-9xX*]+)?";

// `regex_lite` compiles these in a tenth of `regex`'s time, what a one-shot
// `helm template` pays.
fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).expect("static regex")
}

static CONSTRAINT: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r"^{WS}*(=|!=|>=|=>|<=|=<|>|<|~>|~|\^)?{WS}*{NUMS}(-[0-9A-Za-z\-]+(?:\.[0-9A-Za-z\-]+)*)?(\+[0-9A-Za-z\-]+(?:\.[0-9A-Za-z\-]+)*)?{WS}*$"
    ))
});

static HYPHEN: LazyLock<Regex> = LazyLock::new(|| {
    let side = r"(v?[0-9xX*.]+(?:-[0-9A-Za-z.\-]+)?(?:\+[0-9A-Za-z.\-]+)?)";
    compile(&format!(r"{WS}*{side}{WS}+-{WS}+{side}{WS}*"))
});

static SPLIT: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r"(=|!=|>=|=>|<=|=<|>|<|~>|~|\^)?{WS}*{NUMS}(-[0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*)?(\+[0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*)?"
    ))
});

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

fn parse_constraint(s: &str) -> Result<Constraint, SemverError> {
    let c = CONSTRAINT
        .captures(s)
        .ok_or_else(|| SemverError::ImproperConstraint(s.into()))?;
    let get = |i: usize| c.get(i).map_or("", |m| m.as_str());
    let op = get(1).to_string();
    let (major, minor, patch) = (
        get(2),
        get(3).trim_start_matches('.'),
        get(4).trim_start_matches('.'),
    );
    let (mut minor_dirty, mut patch_dirty, mut dirty) = (false, false, false);
    // Masterminds v3: a missing minor or patch is a wildcard ("1" is "1.x").
    let ver = if is_x(major) {
        dirty = true;
        "0.0.0".to_string()
    } else if is_x(minor) || minor.is_empty() {
        dirty = true;
        minor_dirty = true;
        patch_dirty = true;
        format!("{major}.0.0{}", get(5))
    } else if is_x(patch) || patch.is_empty() {
        dirty = true;
        patch_dirty = true;
        format!("{major}.{minor}.0{}", get(5))
    } else {
        let mut v = major.to_string();
        if !minor.is_empty() {
            v.push('.');
            v.push_str(minor);
        }
        if !patch.is_empty() {
            v.push('.');
            v.push_str(patch);
        }
        v.push_str(get(5));
        v.push_str(get(6));
        v
    };
    let con = parse_version(&ver).map_err(|_| SemverError::ImproperConstraint(s.into()))?;
    Ok(Constraint {
        op,
        con,
        minor_dirty,
        patch_dirty,
        dirty,
    })
}

impl Constraint {
    fn check(&self, v: &Version) -> bool {
        let pre_blocked = !v.pre.is_empty() && self.con.pre.is_empty();
        let c = &self.con;
        match self.op.as_str() {
            "" | "=" => {
                if pre_blocked {
                    return false;
                }
                if self.dirty {
                    return self.tilde(v);
                }
                v.compare(c) == Ordering::Equal
            }
            "!=" => {
                if pre_blocked {
                    return false;
                }
                if self.dirty {
                    return !self.tilde(v);
                }
                v.compare(c) != Ordering::Equal
            }
            ">" => {
                if pre_blocked {
                    return false;
                }
                if self.minor_dirty && self.dirty {
                    return v.major > c.major;
                }
                if self.patch_dirty {
                    return v.major > c.major || (v.major == c.major && v.minor > c.minor);
                }
                v.compare(c) == Ordering::Greater
            }
            "<" => {
                if pre_blocked {
                    return false;
                }
                v.compare(c) == Ordering::Less
            }
            ">=" | "=>" => !pre_blocked && v.compare(c) != Ordering::Less,
            "<=" | "=<" => {
                if pre_blocked {
                    return false;
                }
                if !self.dirty {
                    return v.compare(c) != Ordering::Greater;
                }
                if self.minor_dirty {
                    return v.major <= c.major;
                }
                v.major < c.major || (v.major == c.major && v.minor <= c.minor)
            }
            "~" | "~>" => !pre_blocked && self.tilde(v),
            "^" => {
                if pre_blocked || v.compare(c) == Ordering::Less {
                    return false;
                }
                if c.major > 0 || self.minor_dirty {
                    return v.major == c.major;
                }
                if v.major > 0 {
                    return false;
                }
                if c.minor > 0 || self.patch_dirty {
                    return v.minor == c.minor;
                }
                if v.minor > 0 {
                    return false;
                }
                v.patch == c.patch
            }
            _ => false,
        }
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.con;
        if v.compare(c) == Ordering::Less {
            return false;
        }
        if c.major == 0 && c.minor == 0 && c.patch == 0 && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        if v.major != c.major {
            return false;
        }
        if v.minor != c.minor && !self.minor_dirty {
            return false;
        }
        true
    }
}

/// sprig `semverCompare(constraint, version)`.
pub fn compare(constraint: &str, version: &str) -> Result<bool, String> {
    let rewritten = HYPHEN.replace_all(constraint, ">= $1, <= $2");
    let mut groups = Vec::new();
    for or in rewritten.split("||") {
        let parts: Vec<&str> = SPLIT.find_iter(or).map(|m| m.as_str()).collect();
        let rest = SPLIT.replace_all(or, "");
        if parts.is_empty() || rest.chars().any(|c| !c.is_whitespace() && c != ',') {
            return Err(SemverError::ImproperConstraint(or.to_string()).to_string());
        }
        let parsed: Result<Vec<Constraint>, SemverError> =
            parts.into_iter().map(parse_constraint).collect();
        groups.push(parsed.map_err(|e| e.to_string())?);
    }
    let v = parse_version(version).map_err(|e| e.to_string())?;
    Ok(groups.iter().any(|g| g.iter().all(|c| c.check(&v))))
}

#[cfg(test)]
mod tests {
    use super::compare;

    #[test]
    fn constraints_space_as_go_does() {
        assert_eq!(compare(" >= 1.2 , < 2 ", "1.5.0"), Ok(true));
        assert_eq!(compare(">=1.2\t<2", "2.0.0"), Ok(false));
        assert_eq!(compare("1.2 - 1.4", "1.3.0"), Ok(true));
        // Go's `\s` is ASCII: a no-break space is not a separator, so the
        // constraint is improper, as Masterminds says.
        let nbsp = compare(">=\u{a0}1.2", "1.5.0").unwrap_err();
        assert!(nbsp.contains("improper constraint"), "{nbsp}");
    }
}
