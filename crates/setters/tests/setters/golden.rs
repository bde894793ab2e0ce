//! Golden trees: `testdata/<case>/` holds `policies.txt`, `input/`,
//! `expected/` (the whole tree after writing) and `report.txt` (changes,
//! diagnostics, skipped files). Optional `symlinks.txt` lines `LINK TARGET`
//! create symlinks at run time (git keeps none), and an optional `outside/`
//! is copied next to the tree and must stay untouched.
//! `FERROFLUX_BLESS=1` rewrites `expected/` and `report.txt`.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use ferroflux_setters::{Options, apply_tree, write_changes};

use crate::support::{assert_same_tree, copy_tree, policies, read_tree, report};

fn bless() -> bool {
    std::env::var_os("FERROFLUX_BLESS").is_some_and(|v| v == "1")
}

fn run_case(case: &Path) {
    let name = case
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let work = tempfile::tempdir().expect("tempdir");
    let root = work.path().join("repo");
    copy_tree(&case.join("input"), &root);
    if case.join("outside").is_dir() {
        copy_tree(&case.join("outside"), &work.path().join("outside"));
    }
    if let Ok(links) = fs::read_to_string(case.join("symlinks.txt")) {
        for line in links.lines().filter(|l| !l.trim().is_empty()) {
            let (link, target) = line.split_once(' ').expect("LINK TARGET");
            let link = root.join(link);
            fs::create_dir_all(link.parent().expect("parent")).expect("mkdir");
            symlink(target, link).expect("symlink");
        }
    }
    let outside_before = read_tree(&work.path().join("outside"));
    let policies = policies(&fs::read_to_string(case.join("policies.txt")).expect("policies.txt"));
    let result = apply_tree(&root, &policies, &Options::default()).expect("apply");
    write_changes(&result).expect("write");

    // Applying again changes nothing: the rewrite is idempotent.
    let again = apply_tree(&root, &policies, &Options::default()).expect("apply again");
    assert!(
        again.files.is_empty(),
        "{name}: second run changed {:?}",
        again.files
    );

    let got_tree = read_tree(&root);
    let got_report = report(&result);
    if bless() {
        let expected = case.join("expected");
        let _ = fs::remove_dir_all(&expected);
        for (rel, bytes) in &got_tree {
            let path = expected.join(rel);
            fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            fs::write(path, bytes).expect("bless");
        }
        fs::write(case.join("report.txt"), &got_report).expect("bless");
        return;
    }
    assert_same_tree(&got_tree, &read_tree(&case.join("expected")), &name);
    let want_report = fs::read_to_string(case.join("report.txt")).expect("report.txt");
    assert_eq!(got_report, want_report, "{name}: report");
    assert_same_tree(
        &read_tree(&work.path().join("outside")),
        &outside_before,
        &name,
    );
}

#[test]
fn golden_cases() {
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut cases: Vec<_> = fs::read_dir(&testdata)
        .expect("testdata")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 10, "golden cases missing: {cases:?}");
    for case in cases {
        run_case(&case);
    }
}
