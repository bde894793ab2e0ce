//! The subset of Masterminds/semver that GitRepository `spec.ref.semver`
//! needs to pick the highest matching tag: versions with an optional `v`
//! and 1-3 numeric parts, constraints joined by `,`/space (and) and `||`
//! (or), operators `= != > >= < <= ~ ^`, wildcards (`1.2.x`, `*`) and
//! hyphen ranges. As in Masterminds, a prerelease only matches when a
//! comparator of its group has a prerelease. The full engine lives in
//! ferroflux-policy; this crate must not depend on it (tier 1 → tier 0 is
//! allowed, but policy is not written yet: swap when it lands).

use std::cmp::Ordering;

#[cfg(test)]
mod tests;

/// Errors parsing a constraint.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// The constraint does not parse.
    #[error("invalid semver constraint '{constraint}': {reason}")]
    Constraint {
        /// The constraint as given.
        constraint: String,
        /// What is wrong.
        reason: String,
    },
}

/// A semantic version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: Vec<String>,
}

impl Version {
    /// Parse leniently as Masterminds `NewVersion`: `v1`, `1.2`, `1.2.3-rc.1+b`.
    pub fn parse(s: &str) -> Option<Version> {
        let s = s.strip_prefix('v').unwrap_or(s);
        let s = s.split_once('+').map_or(s, |(v, _)| v);
        let (core, pre) = match s.split_once('-') {
            Some((c, p)) if !p.is_empty() => (c, p.split('.').map(str::to_string).collect()),
            Some(_) => return None,
            None => (s, Vec::new()),
        };
        let parts: Vec<&str> = core.split('.').collect();
        if parts.is_empty() || parts.len() > 3 {
            return None;
        }
        let mut nums = [0u64; 3];
        for (i, p) in parts.iter().enumerate() {
            if p.is_empty()
                || !p.bytes().all(|b| b.is_ascii_digit())
                || (p.len() > 1 && p.starts_with('0'))
            {
                return None;
            }
            nums[i] = p.parse().ok()?;
        }
        Some(Version {
            major: nums[0],
            minor: nums[1],
            patch: nums[2],
            pre,
        })
    }
}

impl Ord for Version {
    fn cmp(&self, o: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(o.major, o.minor, o.patch))
            .then_with(|| match (self.pre.is_empty(), o.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => cmp_pre(&self.pre, &o.pre),
            })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

fn cmp_pre(a: &[String], b: &[String]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let o = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            (Ok(_), Err(_)) => Ordering::Less,
            (Err(_), Ok(_)) => Ordering::Greater,
            (Err(_), Err(_)) => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone)]
struct Comparator {
    op: Op,
    version: Version,
}

/// A parsed constraint: OR of AND-groups.
#[derive(Debug, Clone)]
pub struct Constraint {
    groups: Vec<Vec<Comparator>>,
}

impl Constraint {
    /// Parse a Masterminds-style constraint.
    pub fn parse(s: &str) -> Result<Constraint, Error> {
        let bad = |reason: &str| Error::Constraint {
            constraint: s.to_string(),
            reason: reason.to_string(),
        };
        let mut groups = Vec::new();
        for alt in s.split("||") {
            let mut group = Vec::new();
            let tokens = tokenize(alt);
            if tokens.is_empty() {
                return Err(bad("empty constraint"));
            }
            let mut i = 0;
            while i < tokens.len() {
                if tokens.get(i + 1).map(String::as_str) == Some("-") {
                    let hi = tokens
                        .get(i + 2)
                        .ok_or_else(|| bad("hyphen range needs an upper bound"))?;
                    let (lo, _) =
                        partial(&tokens[i]).ok_or_else(|| bad("bad version in hyphen range"))?;
                    let (hi_v, hi_n) =
                        partial(hi).ok_or_else(|| bad("bad version in hyphen range"))?;
                    group.push(Comparator {
                        op: Op::Ge,
                        version: lo,
                    });
                    if hi_n == 3 {
                        group.push(Comparator {
                            op: Op::Le,
                            version: hi_v,
                        });
                    } else {
                        group.push(Comparator {
                            op: Op::Lt,
                            version: bump(&hi_v, hi_n),
                        });
                    }
                    i += 3;
                    continue;
                }
                expand(&tokens[i], &mut group)
                    .ok_or_else(|| bad(&format!("cannot parse '{}'", tokens[i])))?;
                i += 1;
            }
            groups.push(group);
        }
        Ok(Constraint { groups })
    }

    /// True when `v` satisfies the constraint.
    pub fn matches(&self, v: &Version) -> bool {
        self.groups.iter().any(|g| {
            (v.pre.is_empty() || g.iter().any(|c| !c.version.pre.is_empty()))
                && g.iter().all(|c| {
                    let o = v.cmp(&c.version);
                    match c.op {
                        Op::Eq => o == Ordering::Equal,
                        Op::Ne => o != Ordering::Equal,
                        Op::Gt => o == Ordering::Greater,
                        Op::Ge => o != Ordering::Less,
                        Op::Lt => o == Ordering::Less,
                        Op::Le => o != Ordering::Greater,
                    }
                })
        })
    }
}

/// The highest of `tags` that parses as a version and matches `constraint`.
pub fn highest<'a>(
    constraint: &Constraint,
    tags: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    tags.into_iter()
        .filter_map(|t| {
            Version::parse(t)
                .filter(|v| constraint.matches(v))
                .map(|v| (v, t))
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, t)| t)
}

fn tokenize(s: &str) -> Vec<String> {
    // Glue operators to their version: ">= 1.2" → ">=1.2".
    let mut out: Vec<String> = Vec::new();
    for raw in s.split([',', ' ', '\t']).filter(|t| !t.is_empty()) {
        match out.last_mut() {
            Some(last) if !last.is_empty() && last.chars().all(|c| "<>=!~^".contains(c)) => {
                last.push_str(raw)
            }
            _ => out.push(raw.to_string()),
        }
    }
    out
}

/// A version with wildcards or missing parts: the version (missing = 0) and
/// how many parts were given concretely.
fn partial(s: &str) -> Option<(Version, usize)> {
    let s = s.strip_prefix('v').unwrap_or(s);
    if s == "*" || s.eq_ignore_ascii_case("x") {
        return Some((Version::parse("0")?, 0));
    }
    let core_end = s.find(['-', '+']).unwrap_or(s.len());
    let parts: Vec<&str> = s[..core_end].split('.').collect();
    let concrete = parts
        .iter()
        .take_while(|p| !matches!(**p, "x" | "X" | "*"))
        .count();
    if parts[concrete..]
        .iter()
        .any(|p| !matches!(*p, "x" | "X" | "*"))
    {
        return None;
    }
    let mut text = parts[..concrete].join(".");
    if concrete == 0 {
        text = "0".into();
    }
    if concrete == parts.len() {
        text.push_str(&s[core_end..]);
    }
    Some((Version::parse(&text)?, concrete))
}

fn bump(v: &Version, concrete: usize) -> Version {
    match concrete {
        0 => Version {
            major: u64::MAX,
            minor: 0,
            patch: 0,
            pre: vec![],
        },
        1 => Version {
            major: v.major + 1,
            minor: 0,
            patch: 0,
            pre: vec![],
        },
        _ => Version {
            major: v.major,
            minor: v.minor + 1,
            patch: 0,
            pre: vec![],
        },
    }
}

fn expand(tok: &str, group: &mut Vec<Comparator>) -> Option<()> {
    let ops = ["!=", ">=", "=>", "<=", "=<", "~>", ">", "<", "=", "~", "^"];
    let (op, rest) = ops
        .iter()
        .find_map(|o| tok.strip_prefix(o).map(|r| (*o, r)))
        .unwrap_or(("", tok));
    let (v, n) = partial(rest.trim())?;
    let explicit = n == 3 || !v.pre.is_empty();
    let mut push = |op, version| group.push(Comparator { op, version });
    match op {
        "" | "=" if explicit => push(Op::Eq, v),
        "" | "=" => {
            push(Op::Ge, v.clone());
            if n > 0 {
                push(Op::Lt, bump(&v, n.min(2)));
            }
        }
        "!=" => push(Op::Ne, v),
        ">" if explicit => push(Op::Gt, v),
        ">" => push(Op::Ge, bump(&v, n.clamp(1, 2))),
        ">=" | "=>" => push(Op::Ge, v),
        "<" => push(Op::Lt, v),
        "<=" | "=<" if explicit => push(Op::Le, v),
        "<=" | "=<" => push(Op::Lt, bump(&v, n.clamp(1, 2))),
        "~" | "~>" => {
            push(Op::Ge, v.clone());
            push(Op::Lt, bump(&v, if n <= 1 { 1 } else { 2 }));
        }
        "^" => {
            push(Op::Ge, v.clone());
            let upper = if v.major > 0 || n <= 1 {
                bump(&v, 1)
            } else if v.minor > 0 || n == 2 {
                bump(&v, 2)
            } else {
                Version {
                    major: 0,
                    minor: 0,
                    patch: v.patch + 1,
                    pre: vec![],
                }
            };
            push(Op::Lt, upper);
        }
        _ => return None,
    }
    Some(())
}
