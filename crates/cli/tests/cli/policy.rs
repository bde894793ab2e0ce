//! `ferroflux image policy test` on the seed 000 example and on inline
//! policies: output, `--explain`, `-o json` and exit codes 0/1/2.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use ferroflux_testkit::env::dir_from_env;

const SEED_TAGS: &str = "0.13.3,0.13.2,api-0.13.0,streamlit-0.13.0,api-0.12.4,latest,dev-abc";

fn seed_policy() -> Option<PathBuf> {
    let dir = dir_from_env("FERROFLUX_SEEDS_DIR")?;
    Some(dir.join("manifests/000/04-imagepolicy-keyword-correction.yaml"))
}

fn ferroflux(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferroflux"))
        .args(["image", "policy", "test"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ferroflux runs");
    let mut input = child.stdin.take().expect("stdin");
    input
        .write_all(stdin.unwrap_or("").as_bytes())
        .expect("stdin written");
    drop(input);
    child.wait_with_output().expect("ferroflux exits")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn seed_000_chooses_and_explains() {
    let Some(policy) = seed_policy() else { return };
    let policy = policy.to_str().expect("utf-8 path");
    let out = ferroflux(&["--policy", policy, "--tags", SEED_TAGS], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "0.13.3\n");

    let out = ferroflux(
        &["--policy", policy, "--tags", SEED_TAGS, "--explain"],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let lines: Vec<Vec<&str>> = table
        .lines()
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect();
    assert_eq!(
        lines[0],
        vec![
            "TAG",
            "MATCH",
            "EXTRACTED",
            "PARSED",
            "IN RANGE",
            "VERDICT",
            "REASON"
        ]
    );
    assert_eq!(
        lines[1],
        vec![
            "0.13.3",
            "yes",
            "0.13.3",
            "semver 0.13.3",
            "yes",
            "chosen",
            "highest version in range"
        ]
    );
    assert_eq!(
        lines[3],
        vec![
            "api-0.13.0",
            "yes",
            "0.13.0",
            "semver 0.13.0",
            "yes",
            "eligible",
            "lower than 0.13.3"
        ]
    );
    assert_eq!(lines[6][0..6], ["latest", "no", "-", "-", "-", "skipped"]);
    assert!(lines[6][6].starts_with("does not match pattern '^(?:api-|streamlit-)?"));
    assert_eq!(table.lines().last(), Some("latest: 0.13.3"));
}

#[test]
fn seed_000_json() {
    let Some(policy) = seed_policy() else { return };
    let policy = policy.to_str().expect("utf-8 path");
    let out = ferroflux(
        &["--policy", policy, "--tags", SEED_TAGS, "-o", "json"],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["latest"], "0.13.3");
    let tags = v["tags"].as_array().expect("tags");
    assert_eq!(tags.len(), 7);
    assert_eq!(tags[0]["verdict"], "chosen");
    assert_eq!(tags[3]["tag"], "streamlit-0.13.0");
    assert_eq!(tags[3]["extracted"], "0.13.0");
    assert_eq!(tags[5]["verdict"], "skipped");
    assert_eq!(tags[5]["extracted"], serde_json::Value::Null);
}

#[test]
fn exit_codes() {
    let cases: &[(&[&str], Option<&str>, i32, &str)] = &[
        (
            &["--semver", ">=5.0.0", "--tags", "1.0.0,latest"],
            None,
            1,
            "unable to determine latest version from provided list",
        ),
        (
            &["--semver", ">=1.0.0", "--pattern", "^x", "--tags", "1.0.0"],
            None,
            1,
            "version list argument cannot be empty",
        ),
        (
            &["--numerical", "asc", "--tags", "0,1a,b"],
            None,
            1,
            "failed to parse invalid numeric value '1a'",
        ),
        (
            &["--semver", "*-*", "--tags", "1.0.0"],
            None,
            2,
            "inline policy: invalid policy: improper constraint: *-*",
        ),
        (
            &["--semver", "1.0.x", "--pattern", "[=", "--tags", "1.0.0"],
            None,
            2,
            "invalid regular expression pattern '[='",
        ),
        (
            &["--alphabetical", "sideways", "--tags", "a"],
            None,
            2,
            "invalid order argument provided: 'SIDEWAYS'",
        ),
        (
            &["--numerical", "desc", "--tags-file", "-"],
            Some("5\n-3\n\n0x1p4\n"),
            0,
            "",
        ),
    ];
    for &(args, stdin, code, stderr) in cases {
        let out = ferroflux(args, stdin);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(stderr),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let out = ferroflux(
        &["--numerical", "desc", "--tags-file", "-"],
        Some("5\n-3\n0x1p4\n"),
    );
    assert_eq!(text(&out.stdout), "-3\n");
}

#[test]
fn older_api_versions_are_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("policy.yaml");
    std::fs::write(
        &file,
        "apiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImagePolicy\nmetadata:\n  name: app\n  namespace: apps\nspec:\n  imageRepositoryRef:\n    name: app\n  filterTags:\n    pattern: '^main-[a-f0-9]+-(?P<ts>[0-9]+)'\n    extract: '$ts'\n  policy:\n    numerical:\n      order: asc\n",
    )
    .expect("written");
    let out = ferroflux(
        &[
            "--policy",
            file.to_str().expect("utf-8"),
            "--tags",
            "main-abc1-100,main-def2-99,v1.0.0",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "main-abc1-100\n");
}
