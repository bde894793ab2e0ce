//! Every krusty case, built from disk and compared byte for byte with what
//! kustomize 5.6.0 printed (or, for an error case, required to fail).
//! Regressions fail: the pass count may not drop below `FLOOR`, and every
//! case named in `krusty-pass.txt` must pass. `FERROFLUX_BLESS=1` rewrites
//! that list from the run (raise `FLOOR` with it).

use std::path::Path;

use ferroflux_kustomize::{DiskFs, Options};

/// Cases that must pass at least (builds byte-identical plus errors rejected).
const FLOOR: usize = 93;

const PASS_LIST: &str = include_str!("krusty-pass.txt");

struct Outcome {
    name: String,
    expect_error: bool,
    passed: bool,
    why: String,
}

fn run_case(dir: &Path) -> Outcome {
    let name = dir
        .file_name()
        .expect("a case directory")
        .to_string_lossy()
        .into_owned();
    let case: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("case.json")).expect("case.json"))
            .expect("case.json is JSON");
    let build = case["build"].as_str().expect("a build directory");
    let expect_error = case["expect"] == "error";
    let input = dir.join("input");
    let fs = DiskFs::new(&input).expect("the input directory");
    let root = std::fs::canonicalize(&input)
        .expect("the input directory")
        .join(build);
    let result = ferroflux_kustomize::build_yaml(&fs, &root, &Options::default());
    let (passed, why) = match (&result, expect_error) {
        (Err(_), true) => (true, String::new()),
        (Ok(_), true) => (
            false,
            "kustomize rejects this build; we built it".to_string(),
        ),
        (Err(e), false) => (false, format!("error: {e}")),
        (Ok(out), false) => {
            let want = std::fs::read_to_string(dir.join("expected.yaml")).expect("expected.yaml");
            (out == &want, "output differs from kustomize's".to_string())
        }
    };
    Outcome {
        name,
        expect_error,
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
    let mut dirs: Vec<_> = std::fs::read_dir(&cases)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let outcomes: Vec<Outcome> = dirs.iter().map(|d| run_case(d)).collect();
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
