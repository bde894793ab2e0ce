//! Differential test against the Go oracle: thousands of generated cases in
//! ONE oracle process; compare the chosen tag (allowing any tag Flux could
//! pick from a tie) and the error class.

use std::io::Write;
use std::process::{Command, Stdio};

use ferroflux_policy::Error;
use ferroflux_testkit::env::skip_or_fail;
use serde_json::Value;

use crate::generate::{self, Rng};

const CASES: usize = 4000;

fn oracle() -> Option<String> {
    match std::env::var("FERROFLUX_POLICY_ORACLE") {
        Ok(p) if !p.is_empty() => Some(p),
        _ => {
            skip_or_fail(
                "FERROFLUX_POLICY_ORACLE is not set (source .ci/setup.d/20-policy.sh to build it)",
            );
            None
        }
    }
}

fn run_oracle(path: &str, input: &Value) -> Vec<Value> {
    let mut child = Command::new(path)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {path}: {e}"));
    let body = serde_json::to_vec(input).expect("json");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&body)
        .expect("writing cases");
    let out = child.wait_with_output().expect("oracle output");
    assert!(out.status.success(), "oracle failed: {:?}", out.status);
    let v: Value = serde_json::from_slice(&out.stdout).expect("oracle json");
    v.as_array().cloned().expect("array")
}

/// The oracle's answer in our terms: Ok(tag) or an error class.
fn class(e: &Error) -> &'static str {
    match e {
        Error::EmptyList | Error::NoMatch => "none",
        Error::InvalidNumeric { .. } => "non-numeric",
        _ if e.is_invalid_policy() => "invalid",
        _ => "other",
    }
}

#[test]
fn agrees_with_go_and_masterminds() {
    let Some(path) = oracle() else { return };
    let mut rng = Rng::new(0x5eed_f10c);
    let cases: Vec<_> = (0..CASES).map(|_| generate::case(&mut rng)).collect();
    let input = Value::Array(
        cases
            .iter()
            .enumerate()
            .map(|(i, c)| c.to_json(&i.to_string()))
            .collect(),
    );
    let answers = run_oracle(&path, &input);
    assert_eq!(answers.len(), cases.len());
    let mut failures = Vec::new();
    let mut chosen = 0;
    for (case, answer) in cases.iter().zip(&answers) {
        let mine = case.policy().and_then(|p| p.select(&case.tags));
        let want_tag = answer["latest"].as_str();
        let want_err = answer["error"]
            .as_str()
            .map(|e| e.split(':').next().unwrap_or(e));
        let ok = match (&mine, want_tag, want_err) {
            (Ok(sel), Some(tag), None) => {
                chosen += 1;
                sel.latest == tag || sel.tied.iter().any(|t| t == tag)
            }
            (Err(e), None, Some(err)) => class(e) == err,
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{}\n  ours:   {mine:?}\n  oracle: {answer}",
                serde_json::to_string(&case.to_json("case")).unwrap_or_default()
            ));
        }
    }
    let mut errors = std::collections::BTreeMap::new();
    for a in &answers {
        if let Some(e) = a["error"].as_str() {
            *errors.entry(e.split(':').next().unwrap_or(e)).or_insert(0) += 1;
        }
    }
    eprintln!(
        "oracle: {CASES} cases, {chosen} chose a tag, errors {errors:?}, {} differ",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {CASES} cases differ from the Go oracle:\n{}",
        failures.len(),
        failures
            .iter()
            .take(15)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    // The generator must exercise real selections, not only errors.
    assert!(chosen > CASES / 4, "only {chosen} cases chose a tag");
}
