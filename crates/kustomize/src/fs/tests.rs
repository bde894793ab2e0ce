use super::*;

#[test]
fn memfs_lists_reads_and_normalises() {
    let mut fs = MemFs::new();
    fs.add("/k/base/a.yaml", "a")
        .add("/k/b.yaml", "b")
        .add_dir("/k/empty");
    assert_eq!(fs.read(Path::new("/k/base/../b.yaml")).unwrap(), b"b");
    assert!(fs.is_dir(Path::new("/k/base")));
    assert!(fs.is_file(Path::new("/k/./b.yaml")));
    assert_eq!(
        fs.list_dir(Path::new("/k")).unwrap(),
        ["b.yaml", "base", "empty"]
    );
    assert!(matches!(
        fs.read(Path::new("/k/base")),
        Err(FsError::IsDir { .. })
    ));
    assert!(matches!(
        fs.read(Path::new("/k/none")),
        Err(FsError::NotFound { .. })
    ));
    assert!(matches!(
        fs.list_dir(Path::new("/none")),
        Err(FsError::NotFound { .. })
    ));
}

#[test]
fn kind_tells_directories_files_and_the_rest_in_one_lookup() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("d")).unwrap();
    std::fs::write(root.path().join("d/f"), "x").unwrap();
    std::os::unix::fs::symlink(root.path().join("d"), root.path().join("ld")).unwrap();
    let fifo = root.path().join("d/pipe");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let disk = DiskFs::new(root.path()).unwrap();
    let mut mem = MemFs::new();
    mem.add("/r/d/f", "x");
    for (fs, base) in [
        (&disk as &dyn FileSystem, root.path().to_path_buf()),
        (&mem as &dyn FileSystem, PathBuf::from("/r")),
    ] {
        assert_eq!(fs.kind(&base.join("d")), Some(EntryKind::Dir));
        assert_eq!(fs.kind(&base.join("d/f")), Some(EntryKind::File));
        assert_eq!(fs.kind(&base.join("d/none")), None);
    }
    // Through a link, and a FIFO is neither (a walk must not open it).
    assert_eq!(disk.kind(&root.path().join("ld/f")), Some(EntryKind::File));
    assert_eq!(disk.kind(&fifo), None);
}

#[test]
fn normalize_stays_at_root() {
    assert_eq!(
        normalize(Path::new("/a/../../b/./c")),
        PathBuf::from("/b/c")
    );
    assert_eq!(normalize(Path::new("a/b/..")), PathBuf::from("/a"));
}

#[test]
fn diskfs_refuses_symlinks_out_of_its_root() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret"), "s").unwrap();
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("in.yaml"), "x: 1").unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret"), root.path().join("link")).unwrap();
    std::os::unix::fs::symlink(root.path().join("in.yaml"), root.path().join("inner")).unwrap();
    let fs = DiskFs::new(root.path()).unwrap();
    assert_eq!(fs.read(&root.path().join("inner")).unwrap(), b"x: 1");
    let err = fs.read(&root.path().join("link")).unwrap_err();
    assert!(matches!(err, FsError::OutsideRoot { .. }), "{err:?}");
    assert!(err.to_string().contains("symlink points outside the tree"));
    assert!(!fs.is_file(&root.path().join("link")));
    assert!(matches!(
        fs.read(&root.path().join("missing")),
        Err(FsError::NotFound { .. })
    ));
    assert_eq!(
        fs.list_dir(root.path()).unwrap(),
        ["in.yaml", "inner", "link"]
    );
}

#[test]
fn diskfs_remembered_directories_still_refuse_links_out() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret"), "s").unwrap();
    let root = tempfile::tempdir().unwrap();
    let sub = root.path().join("sub");
    std::fs::create_dir_all(root.path().join("real/deeper")).unwrap();
    std::fs::write(root.path().join("real/deeper/f"), "in").unwrap();
    std::fs::create_dir(&sub).unwrap();
    std::os::unix::fs::symlink(outside.path(), sub.join("out")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret"), sub.join("file")).unwrap();
    std::os::unix::fs::symlink(root.path().join("real"), sub.join("in")).unwrap();
    let fs = DiskFs::new(root.path()).unwrap();
    // Resolve the directories first, so that the names below are looked
    // up in remembered directories.
    assert!(fs.is_dir(&sub));
    assert!(fs.is_dir(&sub.join("in")));
    assert!(fs.is_dir(&sub.join("in/deeper")));
    assert_eq!(fs.read(&sub.join("in/deeper/f")).unwrap(), b"in");
    assert_eq!(
        fs.real_path(&sub.join("in/deeper/f")).unwrap(),
        std::fs::canonicalize(root.path().join("real/deeper/f")).unwrap()
    );
    for link in ["out", "out/secret", "file"] {
        let err = fs.read(&sub.join(link)).unwrap_err();
        assert!(
            matches!(err, FsError::OutsideRoot { .. }),
            "{link}: {err:?}"
        );
        assert!(!fs.is_dir(&sub.join(link)) && !fs.is_file(&sub.join(link)));
        assert_eq!(fs.kind(&sub.join(link)), None, "{link}");
    }
    // A remembered directory that went away: its names are not found.
    std::fs::remove_dir_all(root.path().join("real")).unwrap();
    assert!(matches!(
        fs.read(&sub.join("in/deeper/f")),
        Err(FsError::NotFound { .. })
    ));
}

#[test]
fn files_over_the_bound_are_refused() {
    let mut fs = MemFs::new();
    fs.add("/big", vec![b'a'; MAX_FILE_BYTES + 1]);
    assert!(matches!(
        fs.read(Path::new("/big")),
        Err(FsError::TooLarge { .. })
    ));
}

#[test]
fn a_listing_with_kinds_and_its_reads_answer_as_kind_and_read() {
    let root = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let r = root.path();
    std::fs::create_dir(r.join("d")).unwrap();
    std::fs::write(r.join("d/f"), "x").unwrap();
    std::fs::write(outside.path().join("secret"), "s").unwrap();
    std::os::unix::fs::symlink(r.join("d"), r.join("ld")).unwrap();
    std::os::unix::fs::symlink(r.join("d/f"), r.join("lf")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret"), r.join("out")).unwrap();
    std::os::unix::fs::symlink(r.join("gone"), r.join("dangling")).unwrap();
    assert!(
        std::process::Command::new("mkfifo")
            .arg(r.join("pipe"))
            .status()
            .unwrap()
            .success()
    );
    let disk = DiskFs::new(r).unwrap();
    let listed = disk.list_dir_kinds(r).unwrap();
    let looked_up: Vec<(String, Option<EntryKind>)> = disk
        .list_dir(r)
        .unwrap()
        .into_iter()
        .map(|n| {
            let k = disk.kind(&r.join(&n));
            (n, k)
        })
        .collect();
    assert_eq!(listed, looked_up);
    let kind = |name: &str| listed.iter().find(|(n, _)| n == name).unwrap().1;
    assert_eq!(kind("d"), Some(EntryKind::Dir));
    assert_eq!(kind("ld"), Some(EntryKind::Dir));
    assert_eq!(kind("lf"), Some(EntryKind::File));
    assert_eq!(kind("out"), None);
    assert_eq!(kind("dangling"), None);
    assert_eq!(kind("pipe"), None);

    // Reads of listed names: a plain file, a link inside the tree.
    disk.list_dir_kinds(&r.join("d")).unwrap();
    assert_eq!(disk.read_listed(&r.join("d/f")).unwrap(), b"x");
    assert_eq!(disk.read_listed(&r.join("lf")).unwrap(), b"x");
    // A link out of the tree is refused as `read` refuses it, even when
    // asked as if it were a listed file; a FIFO is not opened for reading
    // forever; a directory is one.
    assert!(matches!(
        disk.read_listed(&r.join("out")),
        Err(FsError::OutsideRoot { .. })
    ));
    let fifo = disk.read_listed(&r.join("pipe")).unwrap_err();
    assert!(fifo.to_string().ends_with("not a regular file"), "{fifo}");
    assert!(matches!(
        disk.read_listed(&r.join("d")),
        Err(FsError::IsDir { .. })
    ));
    assert!(matches!(
        disk.read_listed(&r.join("d/none")),
        Err(FsError::NotFound { .. })
    ));
    // Beyond the bound, as `read`.
    std::fs::write(r.join("d/big"), vec![b'a'; MAX_FILE_BYTES + 1]).unwrap();
    assert!(matches!(
        disk.read_listed(&r.join("d/big")),
        Err(FsError::TooLarge { .. })
    ));

    // The default methods, in memory.
    let mut mem = MemFs::new();
    mem.add("/m/a", "a").add_dir("/m/e");
    assert_eq!(
        mem.list_dir_kinds(Path::new("/m")).unwrap(),
        vec![
            ("a".to_string(), Some(EntryKind::File)),
            ("e".to_string(), Some(EntryKind::Dir))
        ]
    );
    assert_eq!(mem.read_listed(Path::new("/m/a")).unwrap(), b"a");
}
