//! Why each tag was chosen, kept or dropped: the `--explain` table.

use std::cmp::Ordering as Cmp;
use std::fmt;

use crate::select::numeric_rank;
use crate::semver::{self, Miss};
use crate::{Error, Order, Ordering, Policy, numeric};

/// The outcome for one tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The latest tag.
    Chosen,
    /// Qualifies, but another tag ranks higher.
    Eligible,
    /// Ranks equal to the chosen tag and lost the tie rule.
    Tied,
    /// Parsed, but outside the range (semver only).
    Excluded,
    /// Not a candidate: the pattern does not match, or not semver.
    Skipped,
    /// Not a number: fails the whole numerical policy.
    Invalid,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Chosen => "chosen",
            Verdict::Eligible => "eligible",
            Verdict::Tied => "tied",
            Verdict::Excluded => "excluded",
            Verdict::Skipped => "skipped",
            Verdict::Invalid => "invalid",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One tag's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub tag: String,
    /// Whether `filterTags.pattern` matched; `None` without a filter.
    pub matched: Option<bool>,
    /// The extracted key when an extract template is set and the pattern matched.
    pub extracted: Option<String>,
    /// How the key was read: `semver 1.2.3`, `not semver`, `number 1.5`, `text`.
    pub parsed: String,
    /// For semver: whether the version satisfies the range.
    pub in_range: Option<bool>,
    pub verdict: Verdict,
    /// A sentence that starts with the verdict, e.g.
    /// `skipped: 1.02.0 has a leading zero, not semver`.
    pub reason: String,
}

/// Rows for every tag plus the overall outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    pub latest: Option<String>,
    pub error: Option<Error>,
    pub rows: Vec<Row>,
}

pub(crate) fn explain<S: AsRef<str>>(policy: &Policy, tags: &[S]) -> Explanation {
    let outcome = policy.select(tags);
    let (winner_tag, winner_key, tied) = match &outcome {
        Ok(s) => (
            Some(s.latest.as_str()),
            Some(s.key.as_str()),
            s.tied.len() > 1,
        ),
        Err(_) => (None, None, false),
    };
    let mut scratch = policy.filter.as_ref().map(|f| f.scratch());
    let rows = tags
        .iter()
        .map(|t| {
            let tag = t.as_ref();
            let (matched, key) = match (&policy.filter, scratch.as_mut()) {
                (Some(f), Some(s)) => match f.apply(tag, s) {
                    Some(k) => (Some(true), Some(k.to_owned())),
                    None => (Some(false), None),
                },
                _ => (None, Some(tag.to_owned())),
            };
            let extracted = match (&policy.filter, &key) {
                (Some(f), Some(k)) if !f.extract().is_empty() => Some(k.clone()),
                _ => None,
            };
            let mut row = Row {
                tag: tag.to_owned(),
                matched,
                extracted,
                parsed: String::new(),
                in_range: None,
                verdict: Verdict::Skipped,
                reason: String::new(),
            };
            match key {
                None => {
                    let pattern = policy.filter.as_ref().map_or("", |f| f.pattern());
                    row.reason = format!("skipped: does not match pattern '{pattern}'");
                }
                Some(key) => {
                    let ctx = Context {
                        policy,
                        tag,
                        key: &key,
                        winner_tag,
                        winner_key,
                        tied,
                        failed: outcome.as_ref().err(),
                    };
                    ctx.fill(&mut row);
                }
            }
            row
        })
        .collect();
    let (latest, error) = match outcome {
        Ok(s) => (Some(s.latest), None),
        Err(e) => (None, Some(e)),
    };
    Explanation {
        latest,
        error,
        rows,
    }
}

struct Context<'a> {
    policy: &'a Policy,
    tag: &'a str,
    key: &'a str,
    winner_tag: Option<&'a str>,
    winner_key: Option<&'a str>,
    tied: bool,
    failed: Option<&'a Error>,
}

impl Context<'_> {
    fn fill(&self, row: &mut Row) {
        match &self.policy.ordering {
            Ordering::Semver(range) => self.semver(range, row),
            Ordering::Alphabetical(order) => {
                row.parsed = "text".to_owned();
                let cmp = self.winner_key.map(|w| self.key.cmp(w));
                let cmp = cmp.map(|c| {
                    if *order == Order::Desc {
                        c.reverse()
                    } else {
                        c
                    }
                });
                let (below, ends) = match order {
                    Order::Asc => ("sorts before", "sorts last (bytewise)"),
                    Order::Desc => ("sorts after", "sorts first (bytewise)"),
                };
                self.rank(row, cmp, below, ends);
            }
            Ordering::Numerical(order) => match numeric::parse_float(self.key) {
                Err(_) => {
                    row.parsed = "not a number".to_owned();
                    row.verdict = Verdict::Invalid;
                    row.reason = format!(
                        "invalid: '{}' is not a Go float, which fails the whole policy",
                        self.key
                    );
                }
                Ok(value) => {
                    row.parsed = format!("number {value}");
                    let cmp = self
                        .winner_key
                        .and_then(|w| numeric::parse_float(w).ok())
                        .map(|best| numeric_rank(value, best, *order));
                    let (below, ends) = match order {
                        Order::Asc => ("smaller than", "largest number"),
                        Order::Desc => ("larger than", "smallest number"),
                    };
                    self.rank(row, cmp, below, ends);
                }
            },
        }
    }

    fn semver(&self, range: &semver::Constraints, row: &mut Row) {
        let v = match semver::parse_tag(self.key) {
            Err(e) => {
                row.parsed = "not semver".to_owned();
                row.reason = format!("skipped: {} {}, not semver", self.key, e.reason());
                return;
            }
            Ok(v) => v,
        };
        row.parsed = format!("semver {}.{}.{}", v.major, v.minor, v.patch)
            + &if v.pre.is_empty() {
                String::new()
            } else {
                format!("-{}", v.pre)
            };
        if let Some(miss) = range.miss(&v) {
            row.in_range = Some(false);
            row.verdict = Verdict::Excluded;
            row.reason = match miss {
                Miss::Prerelease => "excluded: prerelease, and the range has none".to_owned(),
                Miss::Fails(f) => format!(
                    "excluded: not in range '{}' (fails {})",
                    range.as_str(),
                    f.iter()
                        .map(|c| format!("'{c}'"))
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
            };
            return;
        }
        row.in_range = Some(true);
        let cmp = self
            .winner_key
            .and_then(semver::try_parse_tag)
            .map(|w| v.compare(&w));
        self.rank(row, cmp, "lower than", "highest version in range");
    }

    /// Fill the verdict of a candidate from its rank against the winner.
    fn rank(&self, row: &mut Row, cmp: Option<Cmp>, below: &str, best: &str) {
        let (Some(winner), Some(winner_key), Some(cmp)) = (self.winner_tag, self.winner_key, cmp)
        else {
            row.verdict = Verdict::Eligible;
            row.reason = match self.failed {
                Some(e) => format!("eligible, but the policy failed: {e}"),
                None => "eligible".to_owned(),
            };
            return;
        };
        if self.tag == winner {
            row.verdict = Verdict::Chosen;
            row.reason = if self.tied {
                format!("chosen: {best}; tie broken by the greatest tag (bytewise)")
            } else {
                format!("chosen: {best}")
            };
        } else if cmp == Cmp::Equal {
            row.verdict = Verdict::Tied;
            row.reason =
                format!("tied: ranks equal to {winner}, which wins as the greater tag (bytewise)");
        } else {
            row.verdict = Verdict::Eligible;
            row.reason = format!("eligible: {below} {winner_key}");
        }
    }
}

#[cfg(test)]
mod tests;
