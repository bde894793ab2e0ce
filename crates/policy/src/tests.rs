use super::*;

fn semver(range: &str) -> Choice {
    Choice::Semver {
        range: range.to_owned(),
    }
}

fn filter(pattern: &str, extract: &str) -> Option<TagFilter> {
    Some(TagFilter {
        pattern: pattern.to_owned(),
        extract: extract.to_owned(),
    })
}

fn pick(choice: Choice, f: Option<TagFilter>, tags: &[&str]) -> Result<String, Error> {
    Policy::new(choice, f)?.select(tags).map(|s| s.latest)
}

#[test]
fn selection_table() {
    let asc = Choice::Numerical { order: Order::Asc };
    let desc = Choice::Numerical { order: Order::Desc };
    let alpha = Choice::Alphabetical { order: Order::Asc };
    let alpha_desc = Choice::Alphabetical { order: Order::Desc };
    type Case<'a> = (
        Choice,
        Option<TagFilter>,
        Vec<&'a str>,
        Result<&'a str, Error>,
    );
    let cases: Vec<Case> = vec![
        (
            semver("1.0.x"),
            None,
            vec!["1.0.0", "1.0.0.1", "1.0.0p", "1.0.1", "1.2.0"],
            Ok("1.0.1"),
        ),
        (
            semver(">=1.0.0"),
            None,
            vec!["2021.12.1", "2022.04.0", "2022.4.1"],
            Ok("2022.4.1"),
        ),
        (semver(">=1.0.0"), None, vec![], Err(Error::EmptyList)),
        (semver("1.0.x"), None, vec!["1.2.0"], Err(Error::NoMatch)),
        (
            semver(">=0.0.0"),
            None,
            vec!["1.0.0+b", "1.0.0+a"],
            Ok("1.0.0+b"),
        ),
        (
            semver(">=0.0.0"),
            filter("^x", ""),
            vec!["1.0.0"],
            Err(Error::EmptyList),
        ),
        (alpha.clone(), None, vec!["9", "10"], Ok("9")),
        (alpha_desc.clone(), None, vec!["b", "a", "c"], Ok("a")),
        (alpha_desc, filter("", "$1"), vec!["b", "a"], Ok("b")),
        (
            alpha,
            filter("^(?P<w>[a-z]*)-", "$w"),
            vec!["-x", "a-y"],
            Ok("a-y"),
        ),
        (
            asc.clone(),
            None,
            vec!["1e3", "0x1p10", "999"],
            Ok("0x1p10"),
        ),
        (desc.clone(), None, vec!["-inf", "nan", "3"], Ok("-inf")),
        (asc.clone(), None, vec!["nan", "NaN"], Ok("nan")),
        (asc.clone(), None, vec!["1", "01", "1.0"], Ok("1.0")),
        (
            asc.clone(),
            None,
            vec!["0", "1a", "b"],
            Err(Error::InvalidNumeric {
                value: "1a".to_owned(),
            }),
        ),
        (
            asc,
            filter(r"^(?P<ts>\d{8}-\d{6})-[a-f0-9]+$", "$ts"),
            vec!["20260528-153652-abc123"],
            Err(Error::InvalidNumeric {
                value: "20260528-153652".to_owned(),
            }),
        ),
        (
            desc,
            filter(r"-(\d+)$", "$1"),
            vec!["a-5", "b-5", "c-7"],
            Ok("b-5"),
        ),
    ];
    for (choice, f, tags, want) in cases {
        let got = pick(choice.clone(), f.clone(), &tags);
        assert_eq!(
            got.as_deref().map_err(Clone::clone),
            want,
            "{choice:?} {f:?} {tags:?}"
        );
    }
}

#[test]
fn invalid_policies_are_errors_with_flux_messages() {
    let cases: Vec<(Result<Policy, Error>, &str)> = vec![
        (
            Policy::new(semver("*-*"), None),
            "invalid policy: improper constraint: *-*",
        ),
        (
            Policy::new(semver("1.0.x"), filter("[=", "")),
            "failed to filter tags: invalid regular expression pattern '[=': error parsing regexp: unclosed character class",
        ),
        (
            Choice::from_spec(None, Some("invalid"), None).and_then(|c| Policy::new(c, None)),
            "invalid policy: invalid order argument provided: 'INVALID', must be one of: ASC, DESC",
        ),
        (
            Choice::from_spec(None, None, None).and_then(|c| Policy::new(c, None)),
            "invalid policy: given ImagePolicyChoice object is invalid",
        ),
    ];
    for (got, want) in cases {
        let err = got.expect_err("invalid");
        assert!(err.is_invalid_policy());
        assert_eq!(err.to_string(), want);
    }
    assert!(!Error::NoMatch.is_invalid_policy());
}

#[test]
fn choice_from_spec_follows_flux_precedence() {
    assert_eq!(
        Choice::from_spec(Some(">=1"), Some("desc"), None),
        Ok(semver(">=1"))
    );
    assert_eq!(
        Choice::from_spec(None, Some("desc"), Some("asc")),
        Ok(Choice::Alphabetical { order: Order::Desc })
    );
    assert_eq!(
        Choice::from_spec(None, None, Some("")),
        Ok(Choice::Numerical { order: Order::Asc })
    );
}

#[test]
fn selection_reports_ties_and_keys() {
    let p = Policy::new(
        semver(">=0.0.0"),
        filter(r"^(?:api-|web-)?(\d+\.\d+\.\d+)$", "$1"),
    )
    .expect("valid");
    let s = p
        .select(&["api-1.0.0", "web-1.0.0", "0.9.0"])
        .expect("selects");
    assert_eq!(s.latest, "web-1.0.0");
    assert_eq!(s.key, "1.0.0");
    assert_eq!(s.tied, vec!["api-1.0.0".to_owned(), "web-1.0.0".to_owned()]);
    assert_eq!(s.candidates, 3);
}
