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
