//! Every krusty case, built from disk and compared byte for byte with what
//! kustomize 5.6.0 printed (or, for an error case, required to fail).
//! Regressions fail: the pass count may not drop below `FLOOR`, and every
//! case named in `krusty-pass.txt` must pass. `FERROFLUX_BLESS=1` rewrites
//! that list from the run (raise `FLOOR` with it).

use std::path::Path;

use crate::support::{Case, own_cases_dir, read_cases};

/// Cases that must pass at least (builds byte-identical plus errors rejected).
const FLOOR: usize = 144;

const PASS_LIST: &str = include_str!("krusty-pass.txt");

struct Outcome {
    name: String,
    expect_error: bool,
    passed: bool,
    why: String,
}

fn run_case(case: &Case) -> Outcome {
    let (passed, why) = match (case.build_with_engine(), case.expect_error) {
        (Err(_), true) => (true, String::new()),
        (Ok(_), true) => (
            false,
            "kustomize rejects this build; we built it".to_string(),
        ),
        (Err(e), false) => (false, format!("error: {e}")),
        (Ok((out, _)), false) => (
            out.as_bytes() == case.expected_yaml(),
            "output differs from kustomize's".to_string(),
        ),
    };
    Outcome {
        name: case.name.clone(),
        expect_error: case.expect_error,
        passed,
        why,
    }
}

#[test]
fn krusty_cases_match_kustomize_5_6() {
    let Some(root) = ferroflux_testkit::env::dir_from_env("FERROFLUX_CONFORMANCE_DIR") else {
        return;
    };
    let cases = root.join("kustomize").join("cases");
    if !cases.is_dir() {
        ferroflux_testkit::env::skip_or_fail(&format!("{} is missing", cases.display()));
        return;
    }
    let outcomes: Vec<Outcome> = read_cases(&cases).iter().map(run_case).collect();
    let passed: Vec<&Outcome> = outcomes.iter().filter(|o| o.passed).collect();
    let builds = outcomes.iter().filter(|o| !o.expect_error).count();
    let builds_ok = passed.iter().filter(|o| !o.expect_error).count();
    for o in outcomes.iter().filter(|o| !o.passed) {
        println!("FAIL {}: {}", o.name, o.why.lines().next().unwrap_or(""));
    }
    println!(
        "krusty: {} passed, {} failed (builds byte-identical: {builds_ok} of {builds}; \
         errors rejected: {} of {})",
        passed.len(),
        outcomes.len() - passed.len(),
        passed.len() - builds_ok,
        outcomes.len() - builds,
    );
    if std::env::var_os("FERROFLUX_BLESS").is_some_and(|v| v == "1") {
        let list: String = passed.iter().map(|o| format!("{}\n", o.name)).collect();
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kustomize/krusty-pass.txt");
        std::fs::write(path, list).unwrap();
    }
    let regressed: Vec<&str> = PASS_LIST
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|name| !passed.iter().any(|o| o.name == *name))
        .collect();
    assert!(
        regressed.is_empty(),
        "cases in krusty-pass.txt that no longer pass: {regressed:?}"
    );
    assert!(
        passed.len() >= FLOOR,
        "{} krusty cases pass, fewer than the floor of {FLOOR}",
        passed.len()
    );
}

/// Cases (by name) where kustomize 5.8.1 does not do what the case records.
fn differ_in_5_8(kustomize: &Path, cases: &[Case]) -> Vec<String> {
    cases
        .iter()
        .filter(|case| !case.kustomize_agrees(&case.build_with(kustomize)))
        .map(|case| case.name.clone())
        .collect()
}

/// Issue 15: Flux 2.9 embeds kustomize 5.8.1; the corpus is judged by 5.6.0.
/// Every case is run through 5.8.1 (`FERROFLUX_KUSTOMIZE_5_8`, built by
/// `scripts/build-kustomize`) and must print the same bytes (or fail where
/// 5.6.0 fails); the cases where they part are listed.
#[test]
fn kustomize_5_8_prints_what_5_6_printed() {
    let Some(root) = ferroflux_testkit::env::dir_from_env("FERROFLUX_CONFORMANCE_DIR") else {
        return;
    };
    let Some(kustomize) = ferroflux_testkit::env::dir_from_env("FERROFLUX_KUSTOMIZE_5_8") else {
        return;
    };
    let cases = read_cases(&root.join("kustomize").join("cases"));
    let differ = differ_in_5_8(&kustomize, &cases);
    println!(
        "kustomize 5.8 vs 5.6: {} of {} cases alike; differ: {differ:?}",
        cases.len() - differ.len(),
        cases.len()
    );
    assert!(
        cases.len() >= 144,
        "the corpus shrank: {} cases",
        cases.len()
    );
    assert!(
        differ.is_empty(),
        "kustomize 5.8.1 differs from 5.6.0 on {differ:?}"
    );
}

/// The same for this crate's own cases (`cases/`): 5.8.1 prints what 5.6.0
/// printed, except on the cases whose `case.json` says how it differs
/// (`differs_in_5_8`); a new difference, or one that went away, fails.
#[test]
fn kustomize_5_8_prints_what_5_6_printed_on_our_cases() {
    let Some(kustomize) = ferroflux_testkit::env::dir_from_env("FERROFLUX_KUSTOMIZE_5_8") else {
        return;
    };
    let cases = read_cases(&own_cases_dir());
    let differ = differ_in_5_8(&kustomize, &cases);
    let known: Vec<String> = cases
        .iter()
        .filter(|c| c.differs_in_5_8.is_some())
        .map(|c| c.name.clone())
        .collect();
    for case in cases.iter().filter(|c| differ.contains(&c.name)) {
        let how = case.differs_in_5_8.as_deref().unwrap_or("not recorded");
        println!("5.8.1 differs on {}: {how}", case.name);
    }
    println!(
        "kustomize 5.8 vs 5.6 on our cases: {} of {} alike",
        cases.len() - differ.len(),
        cases.len()
    );
    assert_eq!(
        differ, known,
        "the cases where kustomize 5.8.1 differs from 5.6.0 (left) are not the ones \
         marked `differs_in_5_8` (right)"
    );
}
