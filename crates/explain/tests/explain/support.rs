//! Loading a fixture: its target, tags file and state database.

use std::path::{Path, PathBuf};

use ferroflux_explain::{Evidence, Options, Report, State, TagsFile};

pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

/// A state database built from `state.json`:
/// `{"status": {"Kind/ns/name": {...}}, "tags": {"canonical": [..]}}`.
pub fn state_from(json_path: &Path, dir: &Path) -> State {
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json_path).expect("state.json"))
            .expect("state.json is JSON");
    let store =
        ferroflux_store::Store::open(dir.join("state.redb"), ferroflux_store::Options::default())
            .expect("store opens");
    for (key, status) in json["status"].as_object().into_iter().flatten() {
        store.put_status(key, status).expect("status stored");
    }
    for (image, tags) in json["tags"].as_object().into_iter().flatten() {
        let tags: Vec<String> = serde_json::from_value(tags.clone()).expect("tags");
        store
            .put_tags(image, &tags, std::time::SystemTime::UNIX_EPOCH)
            .expect("tags stored");
    }
    State::from_store(store)
}

/// Explain one fixture offline (tags from `tags.txt`, state from `state.json`).
pub fn explain_case(case: &str) -> Report {
    let input = testdata().join(case).join("input");
    let target = std::fs::read_to_string(input.join("target")).expect("target file");
    let tmp = tempfile::tempdir().expect("tempdir");
    let state = input
        .join("state.json")
        .is_file()
        .then(|| state_from(&input.join("state.json"), tmp.path()));
    let tags = input
        .join("tags.txt")
        .is_file()
        .then(|| TagsFile::read(&input.join("tags.txt")).expect("tags file"));
    let evidence = Evidence {
        state: state.as_ref(),
        tags_file: tags.as_ref(),
        live: None,
    };
    let options = Options {
        repo: input.clone(),
        paths: Vec::new(),
    };
    let mut report =
        ferroflux_explain::explain(&options, target.trim(), &evidence).expect("explained");
    // The tags file's and the state's absolute paths differ per run.
    let tags_path = input.join("tags.txt").display().to_string();
    let state_path = tmp.path().join("state.redb").display().to_string();
    let stable = |s: &str| {
        s.replace(&tags_path, "tags.txt")
            .replace(&state_path, "state.redb")
    };
    for l in &mut report.links {
        l.message = stable(&l.message);
        for e in &mut l.evidence {
            *e = stable(e);
        }
    }
    report
}

/// Compare with (or, with `FERROFLUX_BLESS=1`, write) the golden report.
pub fn golden(case: &str, actual: &str) {
    let path = testdata().join(case).join("expected/report.txt");
    if std::env::var_os("FERROFLUX_BLESS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("expected dir");
        std::fs::write(&path, actual).expect("blessed");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with FERROFLUX_BLESS=1 to create it)",
            path.display()
        )
    });
    assert_eq!(
        actual,
        expected,
        "report of {case} differs from {}",
        path.display()
    );
}
