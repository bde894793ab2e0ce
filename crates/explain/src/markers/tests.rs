use super::*;

const FILE: &str = r#"spec:
  containers:
    - image: ghcr.io/x/app:1.0.0 # {"$imagepolicy": "flux-system:app"}
    - image: ghcr.io/x/b:1.0.0 # {"$imagepolicy": "apps:b:tag"}
    - image: ghcr.io/x/c:1.0.0 # {'$imagepolicy': 'apps:c'}
  # {"$imagepolicy": "apps:d"}
  note: plain
"#;

#[test]
fn finds_valid_malformed_and_misplaced_markers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("d.yaml");
    std::fs::write(&path, FILE).expect("write");
    let found = scan_file(&path).expect("scanned");
    let sites: Vec<(usize, &str, &str)> = found
        .sites
        .iter()
        .map(|s| (s.line, s.setter.as_str(), s.value.as_str()))
        .collect();
    assert_eq!(
        sites,
        [
            (3, "flux-system:app", "ghcr.io/x/app:1.0.0"),
            (4, "apps:b:tag", "ghcr.io/x/b:1.0.0")
        ]
    );
    assert_eq!(found.sites[1].field(), Some("tag"));
    assert_eq!(found.sites[0].namespace(), "flux-system");
    let problems: Vec<usize> = found.problems.iter().map(|(l, _)| *l).collect();
    assert_eq!(problems, [5, 6]);
    assert!(
        found.problems[0].1.contains("malformed"),
        "{:?}",
        found.problems
    );
    assert!(
        found.problems[1]
            .1
            .contains("not a comment on the line of a scalar"),
        "{:?}",
        found.problems
    );
}

#[test]
fn tree_scan_finds_only_the_named_policy() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("a/b")).expect("mkdir");
    std::fs::write(dir.path().join("a/b/d.yaml"), FILE).expect("write");
    std::fs::write(
        dir.path().join("a/e.yml"),
        "x: y:1 # {\"$imagepolicy\": \"apps:b\"}\n",
    )
    .expect("write");
    let sites = scan_tree(dir.path(), "apps", "b").expect("scanned");
    let got: Vec<(String, usize)> = sites
        .iter()
        .map(|s| {
            (
                s.file
                    .strip_prefix(dir.path())
                    .expect("under")
                    .display()
                    .to_string(),
                s.line,
            )
        })
        .collect();
    assert_eq!(
        got,
        [("a/b/d.yaml".to_string(), 4), ("a/e.yml".to_string(), 1)]
    );
}

#[test]
fn unparsable_yaml_is_a_problem_not_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.yaml");
    std::fs::write(&path, "a: [\nb: 1 # {\"$imagepolicy\": \"n:p\"}\n").expect("write");
    let found = scan_file(&path).expect("scanned");
    assert!(found.sites.is_empty());
    assert!(
        found
            .problems
            .iter()
            .any(|(_, m)| m.contains("skips a file it cannot parse")),
        "{:?}",
        found.problems
    );
}
