//! Masterminds `NewVersion` (the loose parser: `1`, `1.2`, `v1.2.3`) for
//! chart versions; constraints are `ferroflux_policy::semver`'s.

use std::sync::LazyLock;

use ferroflux_policy::semver::{Constraints, Version};
use regex_lite::Regex;

static LOOSE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?$",
    )
    .expect("static regex")
});

/// `semver.NewVersion(v)`, or None where it fails.
pub fn parse_loose(v: &str) -> Option<Version<'_>> {
    let caps = LOOSE.captures(v)?;
    let num = |i: usize| -> Option<u64> {
        caps.get(i)
            .map_or(Some(0), |m| m.as_str().trim_start_matches('.').parse().ok())
    };
    let pre = caps.get(5).map_or("", |m| m.as_str());
    for seg in pre.split('.').filter(|s| !s.is_empty()) {
        if seg.len() > 1 && seg.starts_with('0') && seg.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
    }
    Some(Version {
        major: num(1)?,
        minor: num(2)?,
        patch: num(3)?,
        pre,
    })
}

/// Helm's `IsCompatibleRange(constraint, version)`: false when either
/// does not parse.
pub fn is_compatible_range(constraint: &str, version: &str) -> bool {
    let Some(v) = parse_loose(version) else {
        return false;
    };
    Constraints::parse(constraint).is_ok_and(|c| c.check(&v))
}
