use super::*;

#[test]
fn matches_table() {
    let cases: &[(&str, &str, bool)] = &[
        ("1.2.3", "1.2.3", true),
        ("1.2.3", "1.2.4", false),
        ("=1.2.3", "v1.2.3", true),
        (">1.2.3", "1.2.4", true),
        (">1.2.3", "1.2.3", false),
        (">=1.2.3, <2.0.0", "1.9.9", true),
        (">=1.2.3 <2.0.0", "2.0.0", false),
        (">= 1.2.3, < 2", "1.5.0", true),
        ("<=1.2", "1.2.9", true),
        ("<=1.2", "1.3.0", false),
        ("!=1.2.3", "1.2.3", false),
        ("~1.2.3", "1.2.9", true),
        ("~1.2.3", "1.3.0", false),
        ("~1", "1.9.0", true),
        ("^1.2.3", "1.9.0", true),
        ("^1.2.3", "2.0.0", false),
        ("^0.2.3", "0.2.9", true),
        ("^0.2.3", "0.3.0", false),
        ("^0.0.3", "0.0.4", false),
        ("1.2.x", "1.2.7", true),
        ("1.2.x", "1.3.0", false),
        ("1.x", "1.9.0", true),
        ("*", "3.0.0", true),
        ("*", "3.0.0-rc.1", false),
        (">=1.0.0-0", "1.0.0-rc.1", true),
        (">=1.0.0", "1.0.1-rc.1", false),
        ("1.2 - 1.4", "1.4.9", true),
        ("1.2 - 1.4", "1.5.0", false),
        ("1.2.0 - 1.4.0", "1.4.0", true),
        ("<1.0.0 || >=2.0.0", "2.1.0", true),
        ("<1.0.0 || >=2.0.0", "1.1.0", false),
    ];
    for (c, v, want) in cases {
        let con = Constraint::parse(c).unwrap_or_else(|e| panic!("{c}: {e}"));
        let ver = Version::parse(v).unwrap_or_else(|| panic!("{v} should parse"));
        assert_eq!(con.matches(&ver), *want, "{c} vs {v}");
    }
}

#[test]
fn version_parse_and_order() {
    for bad in ["", "01.2.3", "1.2.3.4", "a.b.c", "1.2.3-"] {
        assert!(Version::parse(bad).is_none(), "{bad}");
    }
    let mut vs: Vec<Version> = ["1.0.0", "1.0.0-rc.10", "1.0.0-rc.2", "1.0.0-alpha", "0.9"]
        .iter()
        .filter_map(|s| Version::parse(s))
        .collect();
    vs.sort();
    let want: Vec<Version> = ["0.9", "1.0.0-alpha", "1.0.0-rc.2", "1.0.0-rc.10", "1.0.0"]
        .iter()
        .filter_map(|s| Version::parse(s))
        .collect();
    assert_eq!(vs, want);
}

#[test]
fn highest_tag() {
    let c = Constraint::parse(">=1.0.0 <2.0.0").expect("constraint");
    let tags = [
        "v0.9.0",
        "v1.0.0",
        "v1.4.2",
        "v1.10.0",
        "v2.0.0",
        "latest",
        "v1.11.0-rc.1",
    ];
    assert_eq!(highest(&c, tags), Some("v1.10.0"));
    let none = Constraint::parse(">=5").expect("constraint");
    assert_eq!(highest(&none, tags), None);
    assert!(Constraint::parse("").is_err());
    assert!(Constraint::parse(">=foo").is_err());
}
