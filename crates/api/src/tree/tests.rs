use super::*;

#[cfg(unix)]
#[test]
fn links_are_followed_only_to_files_inside_the_tree() {
    use std::os::unix::fs::symlink;
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.yaml");
    std::fs::write(&secret, "password: x\n").unwrap();
    let repo = tempfile::tempdir().unwrap();
    let inside = repo.path().join("a.yaml");
    std::fs::write(&inside, "a: 1\n").unwrap();
    std::fs::create_dir(repo.path().join("dir")).unwrap();
    symlink(&secret, repo.path().join("out.yaml")).unwrap();
    symlink(&inside, repo.path().join("in.yaml")).unwrap();
    symlink(repo.path().join("nope"), repo.path().join("dangling.yaml")).unwrap();
    symlink(repo.path().join("dir"), repo.path().join("dir.yaml")).unwrap();
    let root = real_root(repo.path()).unwrap();

    assert_eq!(
        link_target(&root, &repo.path().join("in.yaml")).unwrap(),
        root.join("a.yaml")
    );
    let out = link_target(&root, &repo.path().join("out.yaml")).unwrap_err();
    assert!(matches!(out, LinkRefused::Outside { .. }), "{out}");
    assert!(out.to_string().contains("outside the tree"), "{out}");
    assert_eq!(
        link_target(&root, &repo.path().join("dangling.yaml")),
        Err(LinkRefused::Dangling)
    );
    assert_eq!(
        link_target(&root, &repo.path().join("dir.yaml")),
        Err(LinkRefused::NotAFile)
    );
}

#[test]
fn bounded_read_refuses_bigger_files() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("f");
    std::fs::write(&f, "0123456789").unwrap();
    assert_eq!(read_bounded(&f, 10).unwrap().unwrap().len(), 10);
    assert_eq!(read_bounded(&f, 9).unwrap(), None);
    assert!(read_bounded(&dir.path().join("missing"), 9).is_err());
}
