use ferroflux_policy::{Choice, Error, Order, Policy, TagFilter, semver};
use ferroflux_testkit::env::dir_from_env;
use serde_json::Value;

fn vectors() -> Option<Value> {
    let dir = dir_from_env("FERROFLUX_CONFORMANCE_DIR")?;
    let path = dir.join("flux-image/policy.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    Some(cur.as_str().unwrap_or(""))
}

/// `spec.policy` + `spec.filterTags` from a vector, as the CLI and the
/// controller build them.
pub fn policy_from_json(policy: &Value, filter: Option<&Value>) -> Result<Policy, Error> {
    let choice = Choice::from_spec(
        policy
            .get("semver")
            .map(|s| str_at(s, &["range"]).unwrap_or("")),
        policy
            .get("alphabetical")
            .map(|s| str_at(s, &["order"]).unwrap_or("")),
        policy
            .get("numerical")
            .map(|s| str_at(s, &["order"]).unwrap_or("")),
    )?;
    let filter = filter.map(|f| TagFilter {
        pattern: str_at(f, &["pattern"]).unwrap_or("").to_owned(),
        extract: str_at(f, &["extract"]).unwrap_or("").to_owned(),
    });
    Policy::new(choice, filter)
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn flux_selection_cases() {
    let Some(v) = vectors() else { return };
    let cases = v["cases"].as_array().expect("cases");
    assert!(
        cases.len() >= 40,
        "expected Flux's 44 cases, got {}",
        cases.len()
    );
    for case in cases {
        let id = case["id"].as_str().unwrap_or("?");
        let tags = strings(&case["tags"]);
        let got =
            policy_from_json(&case["policy"], case.get("filterTags")).and_then(|p| p.select(&tags));
        match case.get("expected").and_then(Value::as_str) {
            Some(want) => {
                let sel = got.unwrap_or_else(|e| panic!("{id}: unexpected error {e}"));
                assert_eq!(sel.latest, want, "{id}");
            }
            None => {
                assert_eq!(case["expected_error"], Value::Bool(true), "{id}");
                assert!(got.is_err(), "{id}: expected an error, got {got:?}");
            }
        }
    }
}

#[test]
fn flux_messages_for_the_cases_that_name_them() {
    let Some(v) = vectors() else { return };
    for case in v["cases"].as_array().expect("cases") {
        let id = case["id"].as_str().unwrap_or("?");
        let tags = strings(&case["tags"]);
        let got =
            policy_from_json(&case["policy"], case.get("filterTags")).and_then(|p| p.select(&tags));
        let want = match id {
            "semver-invalid-prefix" | "semver-no-match" => {
                "unable to determine latest version from provided list"
            }
            "semver-empty-list" | "alpha-empty" | "num-empty" => {
                "version list argument cannot be empty"
            }
            "num-invalid-value" => "failed to parse invalid numeric value '1a'",
            "ctl-empty-choice" => "invalid policy: given ImagePolicyChoice object is invalid",
            "ctl-invalid-filter-regex" | "ctl-filter-invalid" => {
                "invalid regular expression pattern"
            }
            _ => continue,
        };
        let err = got.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains(want), "{id}: {err:?} should contain {want:?}");
    }
}

#[test]
fn flux_semver_ranges() {
    let Some(v) = vectors() else { return };
    for r in strings(&v["semver_ranges"]["valid"]) {
        assert!(
            semver::Constraints::parse(&r).is_ok(),
            "{r:?} should be valid"
        );
    }
    for r in strings(&v["semver_ranges"]["invalid"]) {
        assert!(
            semver::Constraints::parse(&r).is_err(),
            "{r:?} should be invalid"
        );
    }
}

#[test]
fn flux_order_values() {
    let Some(v) = vectors() else { return };
    for o in strings(&v["order_values"]["valid"]) {
        // Entries such as "asc (after upper-casing)" name the value first.
        let value = o.split(' ').next().unwrap_or("");
        assert!(Order::from_spec(value).is_ok(), "{o:?} should be valid");
    }
    for o in strings(&v["order_values"]["invalid"]) {
        assert!(Order::from_spec(&o).is_err(), "{o:?} should be invalid");
    }
}

#[test]
fn flux_tag_parsing() {
    let Some(v) = vectors() else { return };
    for t in strings(&v["tag_parse"]["valid"]) {
        assert!(semver::parse_tag(&t).is_ok(), "{t:?} should parse");
    }
    for t in strings(&v["tag_parse"]["invalid"]) {
        assert!(semver::parse_tag(&t).is_err(), "{t:?} should not parse");
    }
}

#[test]
fn flux_regex_filter() {
    let Some(v) = vectors() else { return };
    for case in v["regex_filter"]["cases"].as_array().expect("cases") {
        let pattern = case["pattern"].as_str().unwrap_or("");
        let extract = case["extract"].as_str().unwrap_or("");
        let filter = ferroflux_policy::Filter::new(pattern, extract)
            .unwrap_or_else(|e| panic!("{pattern}: {e}"));
        let mut scratch = filter.scratch();
        let mut items: Vec<String> = strings(&case["tags"])
            .iter()
            .filter_map(|t| filter.apply(t, &mut scratch).map(str::to_owned))
            .collect();
        items.sort();
        items.dedup();
        let mut want = strings(&case["expected_items"]);
        want.sort();
        assert_eq!(items, want, "pattern {pattern:?} extract {extract:?}");
    }
}
