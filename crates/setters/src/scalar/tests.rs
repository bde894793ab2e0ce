use super::*;

#[test]
fn yaml11_non_strings() {
    let non_strings = [
        "1.10", "123", "0x1F", "0b101", "0755", "1_000", "-1", "+1.5", ".5", "1e3", "1.0e+3",
        "yes", "Yes", "on", "OFF", "y", "n", "true", "null", "~", ".inf", "-.Inf", ".nan",
    ];
    for v in non_strings {
        assert!(is_yaml11_non_string(v), "{v} should be a non-string");
        assert!(!plain_safe(v, false), "{v} must be quoted");
    }
    let strings = [
        "v2.3.4",
        "1.0.1",
        "image:v1.0.0",
        "sha256:abcd",
        "latest",
        "2001-12-14",
        "1.2.3-rc.1",
        "yess",
        "0x",
        "1e",
        "e3",
        "-",
        ".",
        "1..2",
        "1.0.",
        "ghcr.io/org/app",
    ];
    for v in strings {
        assert!(!is_yaml11_non_string(v), "{v} should be a string");
    }
}

#[test]
fn encodes_by_style() {
    let cases = [
        (
            "registry.example/team/web:v2.3.4",
            Style::Plain,
            false,
            "registry.example/team/web:v2.3.4",
        ),
        ("1.10", Style::Plain, false, "\"1.10\""),
        ("yes", Style::Plain, false, "\"yes\""),
        ("", Style::Plain, false, "\"\""),
        ("a: b", Style::Plain, false, "\"a: b\""),
        ("a #b", Style::Plain, false, "\"a #b\""),
        ("-x", Style::Plain, false, "-x"),
        ("- x", Style::Plain, false, "\"- x\""),
        ("*x", Style::Plain, false, "\"*x\""),
        ("a,b", Style::Plain, false, "a,b"),
        ("a,b", Style::Plain, true, "\"a,b\""),
        ("1.10", Style::DoubleQuoted, false, "1.10"),
        ("a\"b\\c", Style::DoubleQuoted, false, "a\\\"b\\\\c"),
        ("it's", Style::SingleQuoted, false, "it''s"),
        ("1.10", Style::SingleQuoted, false, "1.10"),
        ("é:ü", Style::Plain, false, "é:ü"),
    ];
    for (value, style, flow, want) in cases {
        assert_eq!(
            encode(value, style, flow),
            want,
            "{value:?} {style:?} flow={flow}"
        );
    }
}

#[test]
fn what_may_follow_a_tab_only_separator() {
    for v in ["ghcr.io/a:1", "1.2.3", "_x", "-x", "Z"] {
        assert!(!plain_after_tab(v), "{v} must be quoted after `key:\\t`");
    }
    for v in ["${APP}", ":x", ".1", "/a", "é", ""] {
        assert!(plain_after_tab(v), "{v} may stay plain after `key:\\t`");
    }
}
