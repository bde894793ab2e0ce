//! Can a `filterTags.pattern` ever select a semver tag? Seed 004's
//! `^v[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$` cannot: every match has three dots and
//! no `-` or `+`, while a strict semver tag has exactly two dots before any
//! prerelease or build part. The analysis walks the regex's syntax tree and
//! counts the dots a match must and may contain.

use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// Dots a match contains: at least `min`, at most `max` (`None`: unbounded),
/// and whether a `-` or `+` can appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shape {
    min: usize,
    max: Option<usize>,
    sign: bool,
}

impl Shape {
    const EMPTY: Shape = Shape {
        min: 0,
        max: Some(0),
        sign: false,
    };

    fn then(self, o: Shape) -> Shape {
        Shape {
            min: self.min + o.min,
            max: self.max.zip(o.max).map(|(a, b)| a + b),
            sign: self.sign || o.sign,
        }
    }

    fn or(self, o: Shape) -> Shape {
        Shape {
            min: self.min.min(o.min),
            max: self.max.zip(o.max).map(|(a, b)| a.max(b)),
            sign: self.sign || o.sign,
        }
    }
}

/// For an anchored pattern whose whole match is the tag (no extract), the
/// reason it can never be a semver tag, or `None` when it can (or when the
/// analysis cannot tell).
pub fn never_semver(pattern: &str) -> Option<String> {
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(pattern)
        .ok()?;
    let HirKind::Concat(parts) = hir.kind() else {
        return None;
    };
    let starts = matches!(parts.first().map(Hir::kind), Some(HirKind::Look(l)) if is_start(*l));
    let ends = matches!(parts.last().map(Hir::kind), Some(HirKind::Look(l)) if is_end(*l));
    if !starts || !ends {
        return None;
    }
    let shape = shape(&hir);
    if shape.sign {
        return None;
    }
    let dots = match shape.max {
        Some(max) if max == shape.min => format!("exactly {max} dots"),
        Some(max) if max < 2 => format!("at most {max} dots"),
        _ if shape.min > 2 => format!("at least {} dots", shape.min),
        _ => return None,
    };
    if shape.min <= 2 && shape.max.is_none_or(|m| m >= 2) {
        return None;
    }
    Some(format!(
        "every tag it admits has {dots} and no '-' or '+', but a semver tag is MAJOR.MINOR.PATCH \
         (two dots) with an optional -prerelease or +build part"
    ))
}

fn is_start(l: Look) -> bool {
    matches!(l, Look::Start | Look::StartLF | Look::StartCRLF)
}

fn is_end(l: Look) -> bool {
    matches!(l, Look::End | Look::EndLF | Look::EndCRLF)
}

fn shape(hir: &Hir) -> Shape {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Shape::EMPTY,
        HirKind::Literal(lit) => Shape {
            min: lit.0.iter().filter(|b| **b == b'.').count(),
            max: Some(lit.0.iter().filter(|b| **b == b'.').count()),
            sign: lit.0.iter().any(|b| *b == b'-' || *b == b'+'),
        },
        HirKind::Class(class) => {
            let has = |c: char| match class {
                Class::Unicode(u) => u.ranges().iter().any(|r| r.start() <= c && c <= r.end()),
                Class::Bytes(b) => {
                    let c = c as u8;
                    b.ranges().iter().any(|r| r.start() <= c && c <= r.end())
                }
            };
            Shape {
                min: 0,
                max: Some(usize::from(has('.'))),
                sign: has('-') || has('+'),
            }
        }
        HirKind::Repetition(rep) => {
            let inner = shape(&rep.sub);
            let count = rep.min as usize;
            Shape {
                min: inner.min * count,
                max: match (inner.max, rep.max) {
                    (Some(0), _) => Some(0),
                    (Some(m), Some(n)) => Some(m * n as usize),
                    _ => None,
                },
                sign: inner.sign,
            }
        }
        HirKind::Capture(cap) => shape(&cap.sub),
        HirKind::Concat(parts) => parts.iter().map(shape).fold(Shape::EMPTY, Shape::then),
        HirKind::Alternation(alts) => alts
            .iter()
            .map(shape)
            .reduce(Shape::or)
            .unwrap_or(Shape::EMPTY),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_numeric_parts_never_match() {
        let why = never_semver(r"^v[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$").unwrap();
        assert!(why.contains("exactly 3 dots"), "{why}");
        assert!(
            never_semver(r"^[0-9]+\.[0-9]+$")
                .unwrap()
                .contains("exactly 1 dots")
        );
        assert!(never_semver(r"^[0-9]+$").is_some());
    }

    #[test]
    fn patterns_that_can_match_are_left_alone() {
        for p in [
            r"^v[0-9]+\.[0-9]+\.[0-9]+$",
            r"^(?:api-|streamlit-)?(?P<version>\d+\.\d+\.\d+.*)$",
            r"^v[0-9]+\.[0-9]+\.[0-9]+(-rc\.[0-9]+)?$",
            r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+",
            r"^.*$",
            r"^(\d+\.){3}\d+-beta$",
            "(",
        ] {
            assert_eq!(never_semver(p), None, "{p}");
        }
    }
}
