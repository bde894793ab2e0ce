//! This crate's own kustomize cases (`cases/<name>/`, README there): trees
//! on disk with kustomize 5.6.0's output, replayed through the engine, and
//! checked against the oracle itself so that the data cannot drift from it.

use std::path::Path;

use crate::support::{Case, own_cases_dir, read_cases};

/// Fewer case directories than this means the data went missing.
const CASES_AT_LEAST: usize = 85;

/// What went wrong with one case, or `None` when it passes.
fn replay(case: &Case) -> Option<String> {
    match (case.build_with_engine(), case.expect_error) {
        (Err(e), true) => {
            let input = case.input().display().to_string();
            let e = e.to_string();
            case.message
                .iter()
                .map(|m| m.replace("<INPUT>", &input))
                .find(|m| !e.contains(m.as_str()))
                .map(|m| format!("the error lacks {m:?}: {e}"))
        }
        (Ok(_), true) => Some("kustomize rejects this build; we built it".to_string()),
        (Err(e), false) => Some(format!("error: {e}")),
        (Ok((out, warnings)), false) => {
            let want = String::from_utf8(case.expected_yaml()).expect("expected.yaml is UTF-8");
            if out != want {
                Some(first_difference(&want, &out))
            } else {
                case.warnings
                    .as_ref()
                    .filter(|w| **w != warnings)
                    .map(|w| format!("warnings {warnings:?}, want {w:?}"))
            }
        }
    }
}

fn first_difference(want: &str, got: &str) -> String {
    let line = want
        .lines()
        .zip(got.lines())
        .position(|(w, g)| w != g)
        .unwrap_or_else(|| want.lines().count().min(got.lines().count()));
    format!(
        "output differs from kustomize's at line {}: want {:?}, got {:?}",
        line + 1,
        want.lines().nth(line).unwrap_or("<end>"),
        got.lines().nth(line).unwrap_or("<end>"),
    )
}

/// Every case directory: a build byte-identical to `expected.yaml` (and the
/// warnings, where given), an error case rejected with every `message`.
#[test]
fn own_cases_match_kustomize_5_6() {
    let cases = read_cases(&own_cases_dir());
    let mut failed = Vec::new();
    for case in &cases {
        match replay(case) {
            None => println!("ok   {}", case.name),
            Some(why) => {
                println!("FAIL {}: {why}", case.name);
                failed.push(case.name.as_str());
            }
        }
    }
    println!(
        "own cases: {} passed, {} failed",
        cases.len() - failed.len(),
        failed.len()
    );
    assert!(
        cases.len() >= CASES_AT_LEAST,
        "{} case directories, fewer than {CASES_AT_LEAST}",
        cases.len()
    );
    assert!(failed.is_empty(), "cases that fail: {failed:?}");
}

/// The committed data is kustomize 5.6.0's (`FERROFLUX_KUSTOMIZE`): every
/// `expected.yaml` is what it prints today, every error case fails, and
/// every expected warning is on its standard error. `FERROFLUX_BLESS=1`
/// rewrites `expected.yaml` and `expected.err` from it.
#[test]
fn own_expected_output_is_what_kustomize_5_6_prints() {
    let Some(kustomize) = ferroflux_testkit::env::dir_from_env("FERROFLUX_KUSTOMIZE") else {
        return;
    };
    let bless = std::env::var_os("FERROFLUX_BLESS").is_some_and(|v| v == "1");
    let cases = read_cases(&own_cases_dir());
    let mut drifted = Vec::new();
    for case in &cases {
        let out = case.build_with(&kustomize);
        if bless {
            write_expected(case, &out);
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        // kustomize's log lines begin with a timestamp.
        let missing: Vec<&String> = case
            .warnings
            .iter()
            .flatten()
            .filter(|w| !stderr.lines().any(|l| l.ends_with(w.as_str())))
            .collect();
        if !case.kustomize_agrees(&out) || !missing.is_empty() {
            println!(
                "DRIFT {}: kustomize {}, warnings missing {missing:?}",
                case.name, out.status
            );
            drifted.push(case.name.as_str());
        }
    }
    assert!(cases.len() >= CASES_AT_LEAST, "{} cases", cases.len());
    assert!(
        drifted.is_empty(),
        "kustomize 5.6 ({}) no longer prints what these cases hold: {drifted:?}",
        kustomize.display()
    );
}

fn write_expected(case: &Case, out: &std::process::Output) {
    let (file, bytes) = if case.expect_error {
        let input = case.input().display().to_string();
        (
            "expected.err",
            replace_bytes(&out.stderr, input.as_bytes(), b"<INPUT>"),
        )
    } else {
        ("expected.yaml", out.stdout.clone())
    };
    std::fs::write(Path::new(&case.dir).join(file), bytes).expect("write the expected output");
}

/// `haystack` with every `from` replaced by `to` (kustomize's stderr may
/// quote bytes that are not UTF-8: kept as they are).
fn replace_bytes(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack;
    while !rest.is_empty() {
        if rest.starts_with(from) {
            out.extend_from_slice(to);
            rest = &rest[from.len()..];
        } else {
            out.push(rest[0]);
            rest = &rest[1..];
        }
    }
    out
}
