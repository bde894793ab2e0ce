use super::*;

#[test]
fn samples_match_their_pattern() {
    let cases = [
        (r"^\d+\.\d+\.\d+$", "0.0.0"),
        (r"^v[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$", "v0.0.0.0"),
        (
            r"^(?:api-|streamlit-)?(?P<version>\d+\.\d+\.\d+.*)$",
            "0.0.0",
        ),
        (r"^main-[a-f0-9]{7}$", "main-0000000"),
        (r"^(dev|prod)-\d+", "dev-0"),
    ];
    for (pattern, want) in cases {
        let s = sample(pattern);
        assert_eq!(s, want, "{pattern}");
        let re = ferroflux_policy::Filter::new(pattern, "").expect("compiles");
        assert!(
            re.apply(&s, &mut re.scratch()).is_some(),
            "{pattern} does not match its sample {s}"
        );
    }
}

#[test]
fn ranks_tags_by_deletions_then_distance() {
    let tags: Vec<String> = ["latest", "v1.2.3", "1.2.3-rc", "release-1.2", "1.2.3.4"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let got = closest(r"^\d+\.\d+\.\d+$", &tags, 3);
    // "1.2.3.4" loses one dot ("1.2.34"), "v1.2.3" its v, "1.2.3-rc" its suffix.
    assert_eq!(got, [("1.2.3.4", 1), ("v1.2.3", 1), ("1.2.3-rc", 3)]);
}

#[test]
fn deletions_counts_what_must_go() {
    let m = |s: &str| s.bytes().all(|b| b.is_ascii_digit()) && !s.is_empty();
    let cases = [
        ("123", Some(0)),
        ("v123", Some(1)),
        ("1x23", Some(1)),
        ("ab12cd", Some(4)),
        ("abcde", None),
    ];
    for (tag, want) in cases {
        assert_eq!(deletions(tag, m), want, "{tag}");
    }
}
