//! Tree copy and comparison helpers shared by the conformance and golden
//! tests.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use ferroflux_setters::policy::PolicySpec;
use ferroflux_setters::{Policies, TreeResult};

/// Copies a tree, keeping symlinks as symlinks, making files writable.
pub fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    let mut entries: Vec<_> = fs::read_dir(from)
        .expect("read_dir")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let dest = to.join(path.file_name().expect("name"));
        let meta = fs::symlink_metadata(&path).expect("lstat");
        if meta.file_type().is_symlink() {
            symlink(fs::read_link(&path).expect("readlink"), &dest).expect("symlink");
        } else if meta.is_dir() {
            copy_tree(&path, &dest);
        } else {
            fs::write(&dest, fs::read(&path).expect("read")).expect("write");
        }
    }
}

/// Every regular file of a tree (symlinks left out), by relative path.
pub fn read_tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in fs::read_dir(dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            let meta = fs::symlink_metadata(&path).expect("lstat");
            if meta.is_dir() {
                walk(root, &path, out);
            } else if meta.is_file() {
                let rel = path.strip_prefix(root).expect("prefix");
                out.insert(
                    rel.to_string_lossy().into_owned(),
                    fs::read(&path).expect("read"),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    if root.is_dir() {
        walk(root, root, &mut out);
    }
    out
}

/// Asserts two trees hold the same files with the same bytes.
pub fn assert_same_tree(
    got: &BTreeMap<String, Vec<u8>>,
    want: &BTreeMap<String, Vec<u8>>,
    what: &str,
) {
    let got_names: Vec<&String> = got.keys().collect();
    let want_names: Vec<&String> = want.keys().collect();
    assert_eq!(got_names, want_names, "{what}: file lists differ");
    for (name, bytes) in want {
        let g = &got[name];
        assert!(
            g == bytes,
            "{what}: {name} differs\n--- got\n{}\n--- want\n{}",
            String::from_utf8_lossy(g),
            String::from_utf8_lossy(bytes)
        );
    }
}

/// Policies from `NS:NAME=IMAGE:TAG[@DIGEST]` lines (`#` comments allowed).
pub fn policies(lines: &str) -> Policies {
    lines
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.parse::<PolicySpec>().expect("policy line"))
        .collect()
}

/// The CLI-like report of a run: changes, diagnostics, skipped files.
pub fn report(result: &TreeResult) -> String {
    let mut out = String::new();
    for file in &result.files {
        for o in &file.objects {
            for c in &o.changes {
                out.push_str(&format!(
                    "{}:{}: {} -> {} ({}) [{}]\n",
                    file.path, c.line, c.old_value, c.new_value, c.setter, o.object
                ));
            }
        }
    }
    for d in &result.diagnostics {
        out.push_str(&format!("{}:{}: error: {}\n", d.path, d.line, d.message));
    }
    for s in &result.skipped {
        out.push_str(&format!("{}: skipped: {}\n", s.path, s.reason));
    }
    out
}
