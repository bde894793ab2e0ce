use super::*;

#[test]
fn parses_files_lines_and_policies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().canonicalize().expect("canonical");
    std::fs::create_dir_all(root.join("apps")).expect("mkdir");
    std::fs::write(root.join("apps/d.yaml"), "a: b\n").expect("write");
    let file = root.join("apps/d.yaml");
    let cases: &[(&str, Result<Target, &str>)] = &[
        (
            "apps/d.yaml",
            Ok(Target::Line {
                file: file.clone(),
                line: None,
            }),
        ),
        (
            "apps/d.yaml:12",
            Ok(Target::Line {
                file: file.clone(),
                line: Some(12),
            }),
        ),
        (
            "flux-system/app",
            Ok(Target::Policy {
                namespace: "flux-system".into(),
                name: "app".into(),
            }),
        ),
        (
            "flux-system:app",
            Ok(Target::Policy {
                namespace: "flux-system".into(),
                name: "app".into(),
            }),
        ),
        ("apps/d.yaml:0", Err("is not a line number")),
        ("apps/missing.yaml:3", Err("neither an existing file")),
        ("Flux/App", Err("neither an existing file")),
        ("a/b/c", Err("neither an existing file")),
    ];
    for (text, want) in cases {
        match (Target::parse(text, &root), want) {
            (Ok(got), Ok(want)) => assert_eq!(&got, want, "{text}"),
            (Err(e), Err(msg)) => assert!(e.to_string().contains(msg), "{text}: {e}"),
            (got, want) => panic!("{text}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn refuses_files_outside_the_repository() {
    let outside = tempfile::NamedTempFile::new().expect("temp file");
    let repo = tempfile::tempdir().expect("tempdir");
    let root = repo.path().canonicalize().expect("canonical");
    let text = outside.path().display().to_string();
    let err = Target::parse(&text, &root).expect_err("outside");
    assert!(matches!(err, Error::OutsideRepo { .. }), "{err}");
}
