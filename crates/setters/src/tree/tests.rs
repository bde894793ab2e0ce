use std::os::unix::fs::{PermissionsExt, symlink};

use super::*;
use crate::policy::LatestRef;

const MARKED: &str = "image: a:1 # {\"$imagepolicy\": \"ns:app\"}\n";
const UPDATED: &str = "image: b:2 # {\"$imagepolicy\": \"ns:app\"}\n";

fn policies() -> Policies {
    let mut p = Policies::new();
    p.insert(
        "ns",
        "app",
        LatestRef {
            name: "b".into(),
            tag: "2".into(),
            digest: String::new(),
        },
    );
    p
}

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(path, text).expect("write");
}

#[test]
fn selects_candidates_like_flux() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let cases = [
        ("a.yaml", true),
        ("b.yml", true),
        ("Kustomization", true),
        ("kustomization", false),
        ("c.YAML", false),
        ("d.json", false),
        ("e.yaml.txt", false),
        (".hidden/f.yaml", true),
        (".git/g.yml", true),
        ("deep/er/h.yaml", true),
    ];
    for (rel, _) in cases {
        write(root, rel, MARKED);
    }
    let result = apply_tree(root, &policies(), &Options::default()).expect("walk");
    let got: Vec<&str> = result.files.iter().map(|f| f.path.as_str()).collect();
    let mut want: Vec<&str> = cases.iter().filter(|c| c.1).map(|c| c.0).collect();
    want.sort();
    assert_eq!(got, want);

    let options = Options {
        file_names: vec!["Kustomization".into(), "kustomization".into()],
    };
    let result = apply_tree(root, &policies(), &options).expect("walk");
    assert!(result.files.iter().any(|f| f.path == "kustomization"));
}

#[test]
fn screens_on_the_quoted_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    // Unparsable, but without the token it is never parsed.
    write(root, "helm.yaml", "{{ .Values.image }} # $imagepolicy\n");
    write(root, "bad.yaml", "a: [ # {\"$imagepolicy\": \"ns:app\"}\n");
    let result = apply_tree(root, &policies(), &Options::default()).expect("walk");
    assert!(result.files.is_empty());
    let diags: Vec<String> = result.diagnostics.iter().map(|d| d.to_string()).collect();
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert!(diags[0].starts_with("bad.yaml:"), "{diags:?}");
}

#[test]
fn symlinks_never_leave_the_tree() {
    let outer = tempfile::tempdir().expect("tempdir");
    let root = outer.path().join("root");
    write(&root, "real/target.yaml", MARKED);
    write(outer.path(), "outside.yaml", MARKED);
    write(&root, "dir/x.yaml", MARKED);
    symlink("real/target.yaml", root.join("link.yaml")).expect("symlink");
    symlink("missing.yaml", root.join("dangling.yaml")).expect("symlink");
    symlink("../outside.yaml", root.join("escape.yaml")).expect("symlink");
    symlink("dir", root.join("linkdir.yaml")).expect("symlink");
    symlink("dir", root.join("linkeddir")).expect("symlink");
    let result = apply_tree(&root, &policies(), &Options::default()).expect("walk");
    let got: Vec<&str> = result.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(got, ["dir/x.yaml", "link.yaml", "real/target.yaml"]);
    let skipped: Vec<(&str, &str)> = result
        .skipped
        .iter()
        .map(|s| (s.path.as_str(), s.reason.as_str()))
        .collect();
    assert_eq!(
        skipped,
        [
            ("dangling.yaml", "dangling symlink"),
            ("escape.yaml", "symlink points outside the tree"),
            ("linkdir.yaml", "symlink does not point to a file"),
        ]
    );
    assert_eq!(write_changes(&result).expect("write"), 2);
    // The link stays a link; its target got the update once.
    assert!(
        fs::symlink_metadata(root.join("link.yaml"))
            .expect("lstat")
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        fs::read_to_string(root.join("real/target.yaml")).expect("read"),
        UPDATED
    );
    assert_eq!(
        fs::read_to_string(outer.path().join("outside.yaml")).expect("read"),
        MARKED
    );
}

#[test]
fn writes_keep_the_mode_and_refuse_concurrent_edits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(root, "a.yaml", MARKED);
    write(root, "b.yaml", MARKED);
    fs::set_permissions(root.join("a.yaml"), fs::Permissions::from_mode(0o640)).expect("chmod");
    let result = apply_tree(root, &policies(), &Options::default()).expect("walk");
    assert_eq!(result.files.len(), 2);
    write(root, "b.yaml", "changed: meanwhile\n");
    let err = write_changes(&result).expect_err("b.yaml changed");
    assert!(matches!(err, Error::Modified { .. }), "{err}");
    assert_eq!(
        fs::read_to_string(root.join("a.yaml")).expect("read"),
        UPDATED
    );
    let mode = fs::metadata(root.join("a.yaml"))
        .expect("stat")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o640);
    assert_eq!(
        fs::read_to_string(root.join("b.yaml")).expect("read"),
        "changed: meanwhile\n"
    );
    let leftovers: Vec<_> = fs::read_dir(root)
        .expect("ls")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".ferroflux"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn a_single_file_root_works() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "only.yaml", MARKED);
    let result = apply_tree(
        &dir.path().join("only.yaml"),
        &policies(),
        &Options::default(),
    )
    .expect("walk");
    let got: Vec<&str> = result.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(got, ["only.yaml"]);
    let err = apply_tree(&dir.path().join("nope"), &policies(), &Options::default())
        .expect_err("missing root");
    assert!(err.to_string().contains("nope"), "{err}");
}

#[test]
fn template_helpers_merge_like_flux() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let doc = |tag: &str| {
        format!(
            "kind: Deployment\nmetadata:\n  name: web\nspec:\n  image: a:{tag} # {{\"$imagepolicy\": \"ns:app\"}}\n"
        )
    };
    write(root, "a.yaml", &doc("1"));
    write(root, "b.yaml", &doc("1"));
    write(root, "c.yaml", &doc("0"));
    let result = apply_tree(root, &policies(), &Options::default()).expect("walk");
    assert_eq!(result.files.len(), 3);
    let unique: Vec<(&str, &str)> = result
        .unique_changes()
        .iter()
        .map(|c| (c.old_value.as_str(), c.new_value.as_str()))
        .collect();
    assert_eq!(unique, [("a:1", "b:2"), ("a:0", "b:2")]);
    let objects = result.objects();
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0].object.to_string(), "/Deployment web");
    assert_eq!(objects[0].changes.len(), 3);
    assert_eq!(objects[0].images(), ["b:2"]);
}
