use super::*;

#[test]
fn revision_string_like_flux() {
    let hex = "8084f1bb0a8cb20f8d1bd7e1d2b1e6d0b5a4f3c2";
    for (reference, want) in [
        (Some("refs/heads/main"), format!("main@sha1:{hex}")),
        (
            Some("refs/heads/feature/x"),
            format!("feature/x@sha1:{hex}"),
        ),
        (Some("refs/tags/v1.0.0"), format!("v1.0.0@sha1:{hex}")),
        (Some("HEAD"), format!("sha1:{hex}")),
        (None, format!("sha1:{hex}")),
    ] {
        assert_eq!(revision_string(reference, hex), want, "{reference:?}");
    }
}

#[test]
fn checkout_branch_name() {
    assert_eq!(CheckoutRef::default().branch_name(), Some("master"));
    assert_eq!(CheckoutRef::branch("main").branch_name(), Some("main"));
    let tag = CheckoutRef {
        tag: Some("v1".into()),
        ..CheckoutRef::default()
    };
    assert_eq!(tag.branch_name(), None);
    let empty_strings = CheckoutRef {
        branch: Some(String::new()),
        ..CheckoutRef::default()
    };
    assert_eq!(empty_strings.branch_name(), Some("master"));
}

#[test]
fn options_default_is_shallow() {
    let o = Options::default();
    assert_eq!(o.depth, Some(1));
    assert!(o.push_attempts > 1);
}

/// Submodules of submodules stop at [`MAX_SUBMODULE_DEPTH`]: a cycle of
/// submodules in a stranger's repository is an error, not a loop.
#[test]
fn submodules_nested_too_deep_are_an_error() {
    use ferroflux_testkit::gitrepo;
    if !gitrepo::git_available() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let lib = gitrepo::init_bare(tmp.path(), "lib.git");
    gitrepo::commit_files(&lib, "main", &[("a.yaml", b"a\n")], "lib");
    gitrepo::git(tmp.path(), &["init", "--quiet", "work"]);
    let work = tmp.path().join("work");
    let lib_url = format!("file://{}", lib.display());
    gitrepo::git(
        &work,
        &[
            "-c",
            "protocol.file.allow=always",
            "submodule",
            "add",
            "--quiet",
            &lib_url,
            "lib",
        ],
    );
    let repo = Repository::open(&work).expect("open");
    let parent = RemoteUrl::parse(&lib_url).expect("url");
    let err = update_submodules(&repo, &parent, &Auth::none(), None, MAX_SUBMODULE_DEPTH)
        .expect_err("too deep");
    assert!(
        err.to_string()
            .contains("submodules nested deeper than 8 levels"),
        "{err}"
    );
    // One level less is fine: the submodule is checked out.
    update_submodules(&repo, &parent, &Auth::none(), None, MAX_SUBMODULE_DEPTH - 1)
        .expect("one level");
    assert!(work.join("lib/a.yaml").is_file());
}

#[test]
fn a_cache_repository_is_made_without_template_files_or_reflogs() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("w");
    let repo = super::init_plain(&dir, false).expect("init");
    let git = dir.join(".git");
    assert!(!git.join("description").exists());
    assert!(!git.join("info").join("exclude").exists());
    let hooks = std::fs::read_dir(git.join("hooks")).expect("hooks dir");
    assert_eq!(hooks.count(), 0, "no hook samples");
    // A commit moves HEAD and its branch without writing a reflog.
    let sig = git2::Signature::now("t", "t@example.com").expect("signature");
    let tree = repo
        .treebuilder(None)
        .and_then(|b| b.write())
        .expect("empty tree");
    let tree = repo.find_tree(tree).expect("tree");
    repo.commit(Some("HEAD"), &sig, &sig, "first", &tree, &[])
        .expect("commit");
    assert!(repo.head().is_ok());
    assert!(!git.join("logs").exists(), "no reflog written");
    let bare = super::init_plain(&tmp.path().join("b.git"), true).expect("bare init");
    assert!(bare.is_bare());
    assert!(!tmp.path().join("b.git").join("description").exists());
}
