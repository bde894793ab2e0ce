//! The template oracle's ready-made cases (`examples.json`) and its answers
//! (`examples.out.json`), read from `$FERROFLUX_TEMPLATE_ORACLE_DIR`.

use crate::support::{Case, Outcome, legacy, render_like_oracle};

#[test]
fn oracle_examples_match() {
    let Some(dir) = ferroflux_testkit::env::dir_from_env("FERROFLUX_TEMPLATE_ORACLE_DIR") else {
        return;
    };
    let cases: Vec<Case> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("examples.json")).unwrap()).unwrap();
    let want: Vec<Outcome> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("examples.out.json")).unwrap())
            .unwrap();
    assert_eq!(cases.len(), want.len());
    assert!(cases.len() >= 30, "examples.json shrank: {}", cases.len());
    let mut failures = Vec::new();
    for (case, want) in cases.iter().zip(want.iter()) {
        let got = render_like_oracle(case, legacy());
        if &got != want {
            failures.push(format!(
                "{}:\n  want {:?}\n  got  {:?}",
                case.name, want, got
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
