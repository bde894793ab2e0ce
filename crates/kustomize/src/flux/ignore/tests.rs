use std::path::Path;

use super::*;
use crate::MemFs;

fn ignored(patterns: &[&str], path: &str, is_dir: bool) -> bool {
    let mut fs = MemFs::new();
    fs.add_dir("/r");
    let extra: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
    Matcher::for_dir(&fs, Path::new("/r"), &extra).is_ignored(Path::new(path), is_dir)
}

#[test]
fn flux_defaults() {
    for (path, dir, want) in [
        ("/r/.git/config", false, true),
        ("/r/.github/workflows/ci.yaml", false, true),
        ("/r/.github", true, true),
        ("/r/.github", false, false),
        ("/r/a/.sops.yaml", false, true),
        ("/r/.sops.yaml", false, true),
        ("/r/x/.flux.yaml", false, true),
        ("/r/img/logo.png", false, true),
        ("/r/app/.gitlab-ci.yml", false, true),
        ("/r/app/deploy.yaml", false, false),
        // Outside the build directory the rules do not apply.
        ("/other/.sops.yaml", false, false),
    ] {
        assert_eq!(ignored(&[], path, dir), want, "{path}");
    }
}

#[test]
fn gitignore_forms() {
    assert!(ignored(&["*.yaml"], "/r/a/b.yaml", false));
    assert!(ignored(&["/a/*.yaml"], "/r/a/b.yaml", false));
    assert!(!ignored(&["/a/*.yaml"], "/r/x/a/b.yaml", false));
    assert!(ignored(&["**/b.yaml"], "/r/x/y/b.yaml", false));
    assert!(ignored(&["a/**/b.yaml"], "/r/a/x/y/b.yaml", false));
    assert!(ignored(&["drafts/"], "/r/drafts/b.yaml", false));
    assert!(!ignored(&["drafts/"], "/r/drafts", false));
    assert!(!ignored(&["*.yaml", "!keep.yaml"], "/r/keep.yaml", false));
    assert!(ignored(&["!keep.yaml", "*.yaml"], "/r/keep.yaml", false));
    assert!(ignored(&["b[0-9].yaml"], "/r/b1.yaml", false));
    assert!(!ignored(&["b[^0-9].yaml"], "/r/b1.yaml", false));
    // A bad pattern matches nothing.
    assert!(!ignored(&["b[.yaml"], "/r/b[.yaml", false));
    assert!(ignored(&["trailing   "], "/r/trailing", false));
}

#[test]
fn sourceignore_files_apply_below_their_directory() {
    let mut fs = MemFs::new();
    fs.add("/r/.sourceignore", "/top.yaml\n")
        .add("/r/a/.sourceignore", "# c\n\nx.yaml\n")
        .add("/r/.git/.sourceignore", "*\n");
    let m = Matcher::for_dir(&fs, Path::new("/r"), &[]);
    assert!(m.is_ignored(Path::new("/r/top.yaml"), false));
    assert!(!m.is_ignored(Path::new("/r/a/top.yaml"), false));
    assert!(m.is_ignored(Path::new("/r/a/b/x.yaml"), false));
    assert!(!m.is_ignored(Path::new("/r/x.yaml"), false));
    // .git's own file is not read.
    assert!(!m.is_ignored(Path::new("/r/y.yaml"), false));
}

#[test]
fn artifact_rules_drop_the_defaults_once_a_user_pattern_exists() {
    let fs = {
        let mut fs = MemFs::new();
        fs.add_dir("/r");
        fs
    };
    let m = Matcher::for_artifact(&fs, Path::new("/r"), None);
    assert!(m.is_ignored(Path::new("/r/.git/HEAD"), false));
    assert!(m.is_ignored(Path::new("/r/.github/ci.yaml"), false));
    assert!(m.is_ignored(Path::new("/r/a/.sops.yaml"), false));
    assert!(!m.has_inclusions());
    // `spec.ignore: ""` gives no pattern: the defaults stay.
    let m = Matcher::for_artifact(&fs, Path::new("/r"), Some(""));
    assert!(m.is_ignored(Path::new("/r/logo.png"), false));
    // Any pattern, from spec.ignore or a .sourceignore, drops all but VCS.
    let m = Matcher::for_artifact(&fs, Path::new("/r"), Some("# c\n*.md\n"));
    assert!(m.is_ignored(Path::new("/r/README.md"), false));
    assert!(m.is_ignored(Path::new("/r/.gitignore"), false));
    assert!(!m.is_ignored(Path::new("/r/logo.png"), false));
    assert!(!m.is_ignored(Path::new("/r/.github/ci.yaml"), false));
    let mut fs = MemFs::new();
    fs.add("/r/sub/.sourceignore", "x.yaml\n");
    let m = Matcher::for_artifact(&fs, Path::new("/r"), None);
    assert!(!m.is_ignored(Path::new("/r/.sops.yaml"), false));
    assert!(m.is_ignored(Path::new("/r/sub/x.yaml"), false));
    assert!(!m.is_ignored(Path::new("/r/x.yaml"), false));
    // spec.ignore lines come last: they win over .sourceignore files.
    let m = Matcher::for_artifact(&fs, Path::new("/r"), Some("!sub/x.yaml"));
    assert!(m.has_inclusions());
    assert!(!m.is_ignored(Path::new("/r/sub/x.yaml"), false));
}
