use std::cmp::Ordering;

use super::*;

fn check(range: &str, tag: &str) -> bool {
    let c = Constraints::parse(range).unwrap_or_else(|e| panic!("{range}: {e}"));
    let v = parse_tag(tag).unwrap_or_else(|e| panic!("{tag}: {e}"));
    c.check(&v)
}

#[test]
fn constraint_checks_match_masterminds() {
    let cases = [
        // plain operators
        ("=2.0.0", "1.2.3", false),
        ("=2.0.0", "2.0.0", true),
        ("2.0.0", "2.0.0", true),
        ("!=4.1.0", "4.1.0", false),
        ("!=4.1.0", "4.1.1", true),
        (">1.1", "4.1.0", true),
        (">1.1", "1.1.0", false),
        ("<1.1", "1.0.0", true),
        ("<1.1", "1.1.0", false),
        (">=1.1", "1.1.0", true),
        ("=>1.1", "1.1.0", true),
        ("<=1.1", "1.1.0", true),
        ("=<1.1", "1.1.1", true),
        ("<=1.1.0", "1.1.1", false),
        // dirty ("wildcard-like") partials
        (">11", "11.1.0", false),
        (">11", "12.0.0", true),
        (">11.1", "11.1.5", false),
        (">11.1", "11.2.0", true),
        ("<=2.x", "2.9.9", true),
        ("<=2.x", "3.0.0", false),
        ("<=2", "2.5.0", true),
        // wildcards
        ("1.2.x", "1.2.9", true),
        ("1.2.x", "1.3.0", false),
        ("1.2", "1.2.4", true),
        ("*", "4.5.6", true),
        ("x", "0.0.1", true),
        (">=1.2.x", "1.2.0", true),
        (">=1.2.x", "1.1.9", false),
        ("!=1.x", "1.5.0", false),
        ("!=1.x", "2.0.0", true),
        ("!=1.2.x", "1.2.7", false),
        ("!=1.2.x", "1.3.0", true),
        // tilde and caret
        ("~1.2.3", "1.2.9", true),
        ("~1.2.3", "1.3.0", false),
        ("~1", "1.9.0", true),
        ("~1", "2.0.0", false),
        ("~2.3", "2.3.9", true),
        ("~2.3", "2.4.0", false),
        ("~1.x", "1.5.0", true),
        ("~>1.2", "1.2.5", true),
        ("~0.0.0", "9.9.9", true),
        ("^1.2.3", "1.9.0", true),
        ("^1.2.3", "2.0.0", false),
        ("^1.2.3", "1.2.2", false),
        ("^0.2.3", "0.2.9", true),
        ("^0.2.3", "0.3.0", false),
        ("^0.0.3", "0.0.3", true),
        ("^0.0.3", "0.0.4", false),
        ("^0.0", "0.0.9", true),
        ("^0.0", "0.1.0", false),
        ("^0", "0.9.0", true),
        ("^0", "1.0.0", false),
        ("^2.x", "2.9.0", true),
        ("^2.x", "3.0.0", false),
        // AND, OR, hyphen ranges, v prefixes
        (">= 1.2, < 3.0.0", "2.5.0", true),
        (">=1.2 <3", "3.0.0", false),
        (">0,<2.0", "1.0.0", true),
        (">=1.2 <3 || >=4.2.3", "4.3.0", true),
        (">=1.2 <3 || >=4.2.3", "3.5.0", false),
        ("1.2 - 1.4.5", "1.4.5", true),
        ("1.2 - 1.4.5", "1.4.6", false),
        ("1.2 - 1.4.5", "1.1.9", false),
        ("v1.0.x", "v1.0.4", true),
        ("v1.0.x", "1.0.4", true),
        // prereleases: the group needs a prerelease comparison
        (">=1.0.0", "1.1.0-rc.1", false),
        ("*", "1.0.0-alpha", false),
        (">=1.0.0-0", "1.1.0-rc.1", true),
        (">=1.0.0-0", "9.0.0-a", true),
        ("^1.x-0", "1.4.0-beta", true),
        // v3.4+: one prerelease comparison opens the whole AND group...
        (">=1.0.0-0 <2.0.0", "1.5.0-rc.1", true),
        (">1.0.0-beta.1 <2", "1.0.0-beta.2", true),
        // ...but not the other OR branches
        (">1.0.0-beta.1 <2 || >3", "3.5.0-rc.1", false),
        // prerelease precedence: numeric identifiers numerically, others ASCII
        (">=1.0.0-rc.2", "1.0.0-rc.10", true),
        (">=1.0.0-rc2", "1.0.0-rc10", false),
        (">1.0.0-alpha", "1.0.0-alpha.1", true),
        (">1.0.0-1", "1.0.0-alpha", true),
        ("<1.0.0-alpha.beta", "1.0.0-alpha.1", true),
        // a non-dirty != does not look at prereleases at all (Masterminds)
        ("!=1.0.0", "2.0.0-rc.1", true),
    ];
    for (range, tag, want) in cases {
        assert_eq!(check(range, tag), want, "range {range:?} tag {tag:?}");
    }
}

#[test]
fn invalid_ranges_are_rejected() {
    for range in [
        "1.0.0p",
        "1x",
        "x1",
        "-1",
        "a",
        "",
        "*-*",
        "1.2.3 ||| 2",
        ">=1|2",
        "1.0.0-01",
    ] {
        assert!(
            Constraints::parse(range).is_err(),
            "{range:?} should be invalid"
        );
    }
    let err = Constraints::parse("*-*").err();
    assert_eq!(
        err.map(|e| e.to_string()).as_deref(),
        Some("improper constraint: *-*")
    );
}

#[test]
fn valid_ranges_parse() {
    for range in [
        "1.0.x",
        "^1.0",
        "=1.0.0",
        "~1.0",
        ">=1.0",
        ">0,<2.0",
        "1.x",
        ">=0.x",
        "v1.0.x",
        ">=1.0.0-0",
        "^1.x-0",
        " >= 1.2 ",
        "1.2 - 1.4.5 || 3",
        ">=1.2.3+build",
    ] {
        assert!(
            Constraints::parse(range).is_ok(),
            "{range:?} should be valid"
        );
    }
}

#[test]
fn tags_parse_strictly() {
    let valid = [
        ("v1.2.3", (1, 2, 3, "")),
        ("1.2.3", (1, 2, 3, "")),
        ("v1.2.0-x.Y.0+metadata", (1, 2, 0, "x.Y.0")),
        ("v1.2.0-x.Y.0+metadata-width-hypen", (1, 2, 0, "x.Y.0")),
        ("v1.2.3-rc1-with-hypen", (1, 2, 3, "rc1-with-hypen")),
        ("1.0.0-", (1, 0, 0, "")),
        ("1.0.0+", (1, 0, 0, "")),
        ("1.0.0-a..b", (1, 0, 0, "a..b")),
    ];
    for (tag, (major, minor, patch, pre)) in valid {
        let v = parse_tag(tag).unwrap_or_else(|e| panic!("{tag}: {e}"));
        assert_eq!(
            (v.major, v.minor, v.patch, v.pre),
            (major, minor, patch, pre),
            "{tag}"
        );
    }
    let invalid = [
        ("v1.0", "is not MAJOR.MINOR.PATCH"),
        ("v1", "is not MAJOR.MINOR.PATCH"),
        ("v1.2.beta", "has a non-numeric MAJOR.MINOR.PATCH part"),
        ("v1.2-5", "is not MAJOR.MINOR.PATCH"),
        ("v1.2-beta.5", "has a non-numeric MAJOR.MINOR.PATCH part"),
        ("\nv1.2", "is not MAJOR.MINOR.PATCH"),
        ("v1.2.3.4", "has a non-numeric MAJOR.MINOR.PATCH part"),
        ("1.02.0", "has a leading zero"),
        ("vv1.2.3", "has a non-numeric MAJOR.MINOR.PATCH part"),
        ("1.0.0-01", "has an invalid prerelease"),
        ("1.0.0-rc_1", "has an invalid prerelease"),
        ("1.0.0+a_b", "has invalid build metadata"),
        ("1..0", "has an empty or too large number"),
        (
            "18446744073709551616.0.0",
            "has an empty or too large number",
        ),
        ("", "is empty"),
        ("v", "is empty"),
        ("latest", "is not MAJOR.MINOR.PATCH"),
    ];
    for (tag, reason) in invalid {
        let err = parse_tag(tag)
            .err()
            .unwrap_or_else(|| panic!("{tag:?} should be invalid"));
        assert_eq!(err.reason(), reason, "{tag:?}");
    }
}

#[test]
fn precedence_follows_semver_and_masterminds() {
    let ordered = [
        "1.0.0-1",
        "1.0.0-2",
        "1.0.0-10",
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-rc10",
        "1.0.0-rc9",
        "1.0.0",
        "1.0.1",
        "1.10.0",
        "2.0.0",
    ];
    for w in ordered.windows(2) {
        let a = parse_tag(w[0]).expect("valid");
        let b = parse_tag(w[1]).expect("valid");
        assert_eq!(a.compare(&b), Ordering::Less, "{} < {}", w[0], w[1]);
        assert_eq!(b.compare(&a), Ordering::Greater, "{} > {}", w[1], w[0]);
    }
    let a = parse_tag("1.0.0+a").expect("valid");
    let b = parse_tag("v1.0.0+b").expect("valid");
    assert_eq!(a.compare(&b), Ordering::Equal);
}

#[test]
fn misses_explain_the_failing_comparison() {
    let c = Constraints::parse(">=1.0.0 <2.0.0").expect("valid");
    let v = parse_tag("1.5.0-rc.1").expect("valid");
    assert_eq!(c.miss(&v), Some(Miss::Prerelease));
    let v = parse_tag("2.1.0").expect("valid");
    assert_eq!(c.miss(&v), Some(Miss::Fails(vec!["<2.0.0".to_owned()])));
    let v = parse_tag("1.1.0").expect("valid");
    assert_eq!(c.miss(&v), None);
}
