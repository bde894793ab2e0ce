use super::*;

fn key(pattern: &str, extract: &str, tag: &str) -> Option<String> {
    let f = Filter::new(pattern, extract).unwrap_or_else(|e| panic!("{pattern}: {e}"));
    let mut s = f.scratch();
    f.apply(tag, &mut s).map(str::to_owned)
}

#[test]
fn perl_classes_and_boundaries_are_ascii_like_go() {
    let cases: &[(&str, &str, Option<&str>)] = &[
        (r"^\d+$", "٣", None),
        (r"^\d+$", "123", Some("123")),
        (r"^\w$", "é", None),
        (r"^\w+$", "a_1", Some("a_1")),
        (r"^.$", "é", Some("é")),
        (r"(?i)k", "\u{212a}", Some("\u{212a}")),
        (r"\s", "\u{b}", None),
        (r"\s", "a b", Some("a b")),
        (r"^[\d.]+$", "1.2", Some("1.2")),
        (r"^[\d.]+$", "١.٢", None),
        (r"^[^\D]+$", "12", Some("12")),
        (r"\bx", "éx", Some("éx")),
        (r"\bx", "ax", None),
        (r"^\S+$", "a-b", Some("a-b")),
    ];
    for &(pattern, tag, want) in cases {
        assert_eq!(
            key(pattern, "", tag).as_deref(),
            want,
            "{pattern:?} on {tag:?}"
        );
    }
}

#[test]
fn extract_follows_go_expand() {
    let cases: &[(&str, &str, &str, &str)] = &[
        (r"ver(\d+)", "$1", "ver12", "12"),
        (r"(?P<num>\d+)", "$num", "rc-7", "7"),
        (r"(?<num>\d+)", "${num}x", "rc-7", "7x"),
        (r"(\d+)", "$1x", "rc-7", ""),
        (r"(\d+)", "${1}x", "rc-7", "7x"),
        (r"(\d+)", "$$1", "rc-7", "$1"),
        (r"(\d+)", "$", "rc-7", "$"),
        (r"(\d+)", "${1", "rc-7", "${1"),
        (r"(\d+)", "$01", "rc-7", ""),
        (r"(\d+)", "$2", "rc-7", ""),
        (r"(\d+)", "$0-$0", "rc-7", "7-7"),
        (r"(a)|(b)", "[$1][$2]", "b", "[][b]"),
        (r"(?P<v>a)|(?P<v>b)", "$v", "b", "b"),
        (r"(?P<1a>x)", "$1a", "x", "x"),
        (r"(?P<1>x)(y)", "$1", "xy", "x"),
        (r"(?P<ts>\d+)-(?P<n>\d+)", "$ts$n", "10-20", "1020"),
        (r"^(?P<x>\d+)$", "$x_", "5", ""),
        (r"^(?P<x>\d+)$", "", "5", "5"),
    ];
    for &(pattern, extract, tag, want) in cases {
        assert_eq!(
            key(pattern, extract, tag).as_deref(),
            Some(want),
            "{pattern:?} / {extract:?} on {tag:?}"
        );
    }
}

#[test]
fn only_the_first_match_is_used_and_matching_is_unanchored() {
    assert_eq!(key(r"(\d)", "$1", "a1b2").as_deref(), Some("1"));
    assert_eq!(key("", "", "anything").as_deref(), Some("anything"));
    assert_eq!(key("", "x", "anything").as_deref(), Some("x"));
    assert_eq!(key("1.0.0-rc\\.", "", "1.0.1-rc.2"), None);
}

#[test]
fn go_literal_readings_are_kept() {
    let cases: &[(&str, &str, bool)] = &[
        ("a{,3}", "a{,3}", true),
        ("a{,3}", "aaa", false),
        ("x{a}", "x{a}", true),
        (r"\Qa.b\E", "a.b", true),
        (r"\Qa.b\E", "axb", false),
        (r"\Qa.b", "a.b", true),
        (r"\101", "A", true),
        (r"\0", "\0", true),
        (r"\<a\>", "<a>", true),
        ("[a&&b]", "&", true),
        ("[a~~b]", "~", true),
        ("[a[b]]", "[]", true),
        ("[a[b]]", "a", false),
        (r"[\d-z]", "-", true),
        (r"[\d-z]", "y", false),
        ("[[:digit:]-z]", "-", true),
        ("[]a]", "]", true),
        (r"\b{start}", "{start}", false),
        (r"\b{start}", "a{start}", true),
        (r"x\b{start}", "x{start}", true),
    ];
    for &(pattern, tag, want) in cases {
        assert_eq!(
            key(pattern, "", tag).is_some(),
            want,
            "{pattern:?} on {tag:?}"
        );
    }
}

#[test]
fn go_rejections_are_errors() {
    for pattern in [
        "[=",
        "^test-(.*",
        "a**",
        "a{1001}",
        "x{2}{3}",
        r"\Z",
        r"\C",
        "(?x)a",
        r"\8",
        r"\1",
        r"\18",
        r"\u0041",
        "a\\",
        "(?P<a.b>x)",
        "(?P<>x)",
        "(?P<é>x)",
        "(?P<x",
    ] {
        let err = Filter::new(pattern, "").err();
        assert!(err.is_some(), "{pattern:?} should be rejected");
        let text = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            text.starts_with(&format!("invalid regular expression pattern '{pattern}': ")),
            "{text}"
        );
    }
    for pattern in [
        "a{1000}",
        "(?:a*)*",
        "a*?",
        "(?i)(?s).",
        "[[:word:]]",
        r"\pL",
        r"\z",
        r"(?U)a+",
    ] {
        assert!(
            Filter::new(pattern, "").is_ok(),
            "{pattern:?} should compile"
        );
    }
}
