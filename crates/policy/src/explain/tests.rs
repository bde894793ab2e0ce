use crate::{Choice, Order, Policy, TagFilter, Verdict};

fn seed_policy() -> Policy {
    Policy::new(
        Choice::Semver {
            range: ">=0.0.0".to_owned(),
        },
        Some(TagFilter {
            pattern: r"^(?:api-|streamlit-)?(?P<version>\d+\.\d+\.\d+.*)$".to_owned(),
            extract: "$version".to_owned(),
        }),
    )
    .expect("valid policy")
}

#[test]
fn seed_000_rows_say_why() {
    let tags = [
        "0.13.3",
        "0.13.2",
        "api-0.13.0",
        "streamlit-0.13.0",
        "api-0.12.4",
        "latest",
        "dev-abc",
    ];
    let e = seed_policy().explain(&tags);
    assert_eq!(e.latest.as_deref(), Some("0.13.3"));
    let got: Vec<(&str, Option<&str>, Verdict, &str)> = e
        .rows
        .iter()
        .map(|r| {
            (
                r.tag.as_str(),
                r.extracted.as_deref(),
                r.verdict,
                r.reason.as_str(),
            )
        })
        .collect();
    let pattern_miss =
        r"skipped: does not match pattern '^(?:api-|streamlit-)?(?P<version>\d+\.\d+\.\d+.*)$'";
    assert_eq!(
        got,
        vec![
            (
                "0.13.3",
                Some("0.13.3"),
                Verdict::Chosen,
                "chosen: highest version in range"
            ),
            (
                "0.13.2",
                Some("0.13.2"),
                Verdict::Eligible,
                "eligible: lower than 0.13.3"
            ),
            (
                "api-0.13.0",
                Some("0.13.0"),
                Verdict::Eligible,
                "eligible: lower than 0.13.3"
            ),
            (
                "streamlit-0.13.0",
                Some("0.13.0"),
                Verdict::Eligible,
                "eligible: lower than 0.13.3"
            ),
            (
                "api-0.12.4",
                Some("0.12.4"),
                Verdict::Eligible,
                "eligible: lower than 0.13.3"
            ),
            ("latest", None, Verdict::Skipped, pattern_miss),
            ("dev-abc", None, Verdict::Skipped, pattern_miss),
        ]
    );
}

#[test]
fn semver_reasons_name_the_problem() {
    let p = Policy::new(
        Choice::Semver {
            range: ">=1.0.0 <2.0.0".to_owned(),
        },
        None,
    )
    .expect("valid");
    let e = p.explain(&["1.02.0", "1.5.0-rc.1", "2.1.0", "1.4.0", "v1.4.0", "latest"]);
    let reasons: Vec<&str> = e.rows.iter().map(|r| r.reason.as_str()).collect();
    assert_eq!(
        reasons,
        vec![
            "skipped: 1.02.0 has a leading zero, not semver",
            "excluded: prerelease, and the range has none",
            "excluded: not in range '>=1.0.0 <2.0.0' (fails '<2.0.0')",
            "tied: ranks equal to v1.4.0, which wins as the greater tag (bytewise)",
            "chosen: highest version in range; tie broken by the greatest tag (bytewise)",
            "skipped: latest is not MAJOR.MINOR.PATCH, not semver",
        ]
    );
    assert_eq!(e.latest.as_deref(), Some("v1.4.0"));
}

#[test]
fn numerical_invalid_rows_fail_the_policy() {
    let p = Policy::new(Choice::Numerical { order: Order::Asc }, None).expect("valid");
    let e = p.explain(&["0", "1a", "b"]);
    assert!(e.latest.is_none());
    assert_eq!(
        e.error.map(|e| e.to_string()).as_deref(),
        Some("failed to parse invalid numeric value '1a'")
    );
    let verdicts: Vec<Verdict> = e.rows.iter().map(|r| r.verdict).collect();
    assert_eq!(
        verdicts,
        vec![Verdict::Eligible, Verdict::Invalid, Verdict::Invalid]
    );
}
