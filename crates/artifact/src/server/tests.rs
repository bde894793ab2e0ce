use super::*;

#[test]
fn request_paths_resolve_inside_the_root_only() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = std::fs::canonicalize(t.path()).expect("root");
    std::fs::create_dir_all(root.join("a")).expect("mkdir");
    std::fs::write(root.join("a/f.tar.gz"), "x").expect("write");
    assert_eq!(resolve(&root, "/a/f.tar.gz"), Ok(root.join("a/f.tar.gz")));
    assert_eq!(
        resolve(&root, "//a/./f.tar.gz"),
        Ok(root.join("a/f.tar.gz"))
    );
    assert_eq!(resolve(&root, "/a/%66.tar.gz"), Ok(root.join("a/f.tar.gz")));
    assert_eq!(resolve(&root, "/a"), Err(StatusCode::NOT_FOUND));
    assert_eq!(
        resolve(&root, "/a/../a/f.tar.gz"),
        Err(StatusCode::BAD_REQUEST)
    );
    assert_eq!(resolve(&root, "/a/%zz"), Err(StatusCode::BAD_REQUEST));
    assert_eq!(resolve(&root, "/a/%00"), Err(StatusCode::BAD_REQUEST));
}
