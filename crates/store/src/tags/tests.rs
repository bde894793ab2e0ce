use std::time::{Duration, UNIX_EPOCH};

use super::*;

fn tags(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("tags.redb"), Options::default()).unwrap();
    (dir, store)
}

#[test]
fn revision_is_sha256_of_newline_joined_tags() {
    // Reference values: `printf 'a\nb' | sha256sum`, `printf '' | sha256sum`.
    let cases = [
        (
            tags(&["a", "b"]),
            "sha256:7e18f737311b2dc3b2f269dd78396b0351f14fb66efa879f768cb23181883c78",
        ),
        (
            tags(&[]),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
    ];
    for (input, want) in cases {
        assert_eq!(revision(&input), want, "{input:?}");
    }
    assert_ne!(revision(&tags(&["a", "b"])), revision(&tags(&["b", "a"])));
}

#[test]
fn record_round_trips() {
    let t = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789);
    let cases = [
        tags(&[]),
        tags(&["latest"]),
        tags(&["1.0.0", "1.0.1", "v2-rc.1", "x_y"]),
    ];
    for list in cases {
        let rev = revision(&list);
        let record = decode(&encode(&list, t, &rev)).unwrap();
        assert_eq!(
            record,
            TagRecord {
                tags: list.clone(),
                scan_time: t,
                revision: rev
            }
        );
    }
}

#[test]
fn corrupt_records_are_reported() {
    let cases: [(&[u8], &str); 5] = [
        (b"", "empty record"),
        (&[9, 0, 0], "unknown record version 9"),
        (&[1, 0, 0], "truncated header"),
        (
            &[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 40, b's'],
            "truncated revision",
        ),
        (
            // u64::MAX seconds after 1970 panicked in `UNIX_EPOCH + ..`.
            &[1, 255, 255, 255, 255, 255, 255, 255, 255, 0, 0, 0, 0, 0],
            "scan time out of range",
        ),
    ];
    for (bytes, want) in cases {
        assert_eq!(decode(bytes).unwrap_err(), want);
    }
}

#[test]
fn put_get_remove_tags() {
    let (_dir, store) = open();
    let t = UNIX_EPOCH + Duration::from_secs(1_000);
    let image = "index.docker.io/library/alpine";
    assert_eq!(store.get_tags(image).unwrap(), None);
    let rev = store.put_tags(image, &tags(&["3.19", "3.20"]), t).unwrap();
    let got = store.get_tags(image).unwrap().unwrap();
    assert_eq!(got.tags, tags(&["3.19", "3.20"]));
    assert_eq!(got.revision, rev);
    assert_eq!(got.scan_time, t);
    // Replacing is total, not a merge.
    store.put_tags(image, &tags(&["3.21"]), t).unwrap();
    assert_eq!(
        store.get_tags(image).unwrap().unwrap().tags,
        tags(&["3.21"])
    );
    assert_eq!(store.images().unwrap(), vec![image.to_owned()]);
    assert!(store.remove(image).unwrap());
    assert!(!store.remove(image).unwrap());
    assert_eq!(store.get_tags(image).unwrap(), None);
}

#[test]
fn invalid_tags_are_refused_without_writing() {
    let (_dir, store) = open();
    let t = UNIX_EPOCH;
    for bad in [tags(&["ok", "a\nb"]), tags(&["ok", ""])] {
        let err = store
            .put_tags_many(&[("good/one", &tags(&["x"])), ("r/app", &bad)], t)
            .unwrap_err();
        assert!(err.to_string().contains("'r/app'"), "{err}");
        assert_eq!(store.get_tags("good/one").unwrap(), None);
    }
}

#[test]
fn status_table() {
    let (_dir, store) = open();
    let a = serde_json::json!({"observedGeneration": 1});
    let b = serde_json::json!({"observedGeneration": 2});
    store
        .put_status("ImageRepository/flux-system/app", &a)
        .unwrap();
    store.put_status("ImageRepository/apps/web", &b).unwrap();
    store.put_status("ImagePolicy/apps/web", &a).unwrap();
    store.put_status("ImageRepositoryX/apps/web", &a).unwrap();
    assert_eq!(
        store.get_status("ImageRepository/apps/web").unwrap(),
        Some(b.clone())
    );
    assert_eq!(
        store.list_status("ImageRepository").unwrap(),
        vec![
            ("apps/web".to_owned(), b.clone()),
            ("flux-system/app".to_owned(), a.clone())
        ]
    );
    assert_eq!(store.list_status("Missing").unwrap(), vec![]);
    assert!(store.remove_status("ImagePolicy/apps/web").unwrap());
    assert_eq!(store.get_status("ImagePolicy/apps/web").unwrap(), None);
    for bad in ["ImageRepository/app", "a/b/c/d", "/ns/name", "Kind/ns/"] {
        let err = store.put_status(bad, &a).unwrap_err();
        assert!(
            err.to_string().contains("must be kind/namespace/name"),
            "{bad}: {err}"
        );
    }
}

#[test]
fn data_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.redb");
    {
        let store = Store::open(&path, Options::default()).unwrap();
        store
            .put_tags("r.io/a", &tags(&["1", "2"]), UNIX_EPOCH)
            .unwrap();
    }
    let store = Store::open(&path, Options::default()).unwrap();
    assert_eq!(
        store.get_tags("r.io/a").unwrap().unwrap().tags,
        tags(&["1", "2"])
    );
}
