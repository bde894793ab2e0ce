use std::ffi::OsString;

use super::*;

#[test]
fn default_state_path_follows_xdg() {
    let cases: &[(Option<&str>, Option<&str>, Option<&str>)] = &[
        (
            Some("/xdg"),
            Some("/home/u"),
            Some("/xdg/ferroflux/state.redb"),
        ),
        (
            None,
            Some("/home/u"),
            Some("/home/u/.local/state/ferroflux/state.redb"),
        ),
        // A relative XDG_STATE_HOME is invalid and ignored, as the spec says.
        (
            Some("rel"),
            Some("/home/u"),
            Some("/home/u/.local/state/ferroflux/state.redb"),
        ),
        (Some(""), None, None),
        (None, None, None),
    ];
    for (xdg, home, want) in cases {
        let got = default_state_path(xdg.map(OsString::from), home.map(OsString::from));
        assert_eq!(got.as_deref(), want.map(Path::new), "{xdg:?} {home:?}");
    }
}

#[test]
fn tags_file_skips_blanks_and_comments() {
    let f = TagsFile::parse(
        Path::new("t"),
        "# scanned\n1.0.0\n\n  1.1.0  \n#x\nlatest\n",
    );
    assert_eq!(f.tags, ["1.0.0", "1.1.0", "latest"]);
}

#[test]
fn a_missing_state_is_an_error_not_a_new_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("none.redb");
    let err = State::open(&path).expect_err("missing");
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert!(!path.exists());
}

#[test]
fn state_reads_status_and_tags() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.redb");
    let store = Store::open(&path, ferroflux_store::Options::default()).expect("store");
    store
        .put_status(
            "ImageRepository/ns/app",
            &serde_json::json!({"observedGeneration": 3}),
        )
        .expect("status");
    store
        .put_tags(
            "index.docker.io/library/app",
            &["1.0.0".to_string()],
            std::time::SystemTime::UNIX_EPOCH,
        )
        .expect("tags");
    drop(store);
    let state = State::open(&path).expect("opens");
    let status = state.status("ImageRepository", "ns", "app").expect("read");
    assert_eq!(status, Some(serde_json::json!({"observedGeneration": 3})));
    assert_eq!(
        state.status("ImagePolicy", "ns", "app").expect("read"),
        None
    );
    let rec = state
        .tags("index.docker.io/library/app")
        .expect("read")
        .expect("stored");
    assert_eq!(rec.tags, ["1.0.0"]);
}
