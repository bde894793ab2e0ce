use std::time::{Duration, SystemTime};

use super::*;

fn storage(root: &Path) -> Storage {
    Storage::new(
        root,
        "source-controller.flux-system.svc.cluster.local.",
        Retention::default(),
    )
    .expect("storage")
}

#[test]
fn paths_and_urls_are_flux_s() {
    assert_eq!(
        artifact_path("GitRepository", "flux-system", "podinfo", "abc.tar.gz"),
        "gitrepository/flux-system/podinfo/abc.tar.gz"
    );
    let t = tempfile::tempdir().expect("tempdir");
    let s = storage(t.path());
    assert_eq!(
        s.url("gitrepository/flux-system/podinfo/abc.tar.gz"),
        "http://source-controller.flux-system.svc.cluster.local./gitrepository/flux-system/podinfo/abc.tar.gz"
    );
    let s = Storage::new(t.path(), "https://cdn.example", Retention::default()).expect("s");
    assert_eq!(s.url("/a/b"), "https://cdn.example/a/b");
    assert_eq!(advertised_address(":9090", "", "pod-1"), "localhost:9090");
    assert_eq!(
        advertised_address("0.0.0.0:9090", "", "pod-1"),
        "pod-1:9090"
    );
    assert_eq!(
        advertised_address("10.0.0.1:80", "", "pod-1"),
        "10.0.0.1:80"
    );
    assert_eq!(
        advertised_address(":9090", "adv.example", "pod-1"),
        "adv.example"
    );
    assert_eq!(
        secure_join(Path::new("/r"), "../../etc/passwd"),
        Path::new("/r/etc/passwd")
    );
}

#[test]
fn archive_writes_atomically_with_a_digest_that_verifies() {
    let t = tempfile::tempdir().expect("tempdir");
    let s = storage(&t.path().join("data"));
    let src = t.path().join("src");
    std::fs::create_dir_all(&src).expect("mkdir");
    std::fs::write(src.join("a.yaml"), "a: 1\n").expect("write");
    let path = artifact_path("GitRepository", "ns", "repo", "c0ffee.tar.gz");
    let stored = s
        .archive(&path, &src, None, &Limits::default())
        .expect("archive");
    let local = s.local_path(&path);
    let bytes = std::fs::read(&local).expect("read");
    assert_eq!(stored.size, bytes.len() as u64);
    assert_eq!(
        stored.digest,
        format!("sha256:{}", hex::encode(Sha256::digest(&bytes)))
    );
    let mode = std::fs::metadata(&local)
        .expect("stat")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let dir_mode = std::fs::metadata(local.parent().expect("dir"))
        .expect("stat")
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o777, 0o700);
    // Only the artifact and its lock: no temp file left behind.
    let mut names: Vec<String> = std::fs::read_dir(local.parent().expect("dir"))
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["c0ffee.tar.gz", "c0ffee.tar.gz.lock"]);
    assert!(s.exists(&path));
    s.verify(&path, &stored.digest).expect("verifies");
    let err = s.verify(&path, "sha256:00").expect_err("mismatch");
    assert_eq!(err.to_string(), "computed digest doesn't match 'sha256:00'");
    assert_eq!(
        s.verify(&path, "").expect_err("none").to_string(),
        "artifact has no digest"
    );
    assert!(matches!(
        s.verify(&path, "md5:00"),
        Err(Error::BadDigest { .. })
    ));
    // A failed archive leaves the previous artifact untouched.
    let err = s
        .archive(&path, &t.path().join("missing"), None, &Limits::default())
        .expect_err("missing dir");
    assert!(err.to_string().contains("missing"), "{err}");
    s.verify(&path, &stored.digest).expect("still there");
}

fn touch(path: &Path, age: Duration, now: SystemTime) {
    std::fs::write(path, "x").expect("write");
    let f = std::fs::File::options()
        .write(true)
        .open(path)
        .expect("open");
    f.set_modified(now - age).expect("mtime");
}

#[test]
fn garbage_collection_keeps_the_current_and_the_newest_records() {
    let t = tempfile::tempdir().expect("tempdir");
    let s = storage(t.path());
    let dir = s.local_path(&artifact_dir("GitRepository", "ns", "repo"));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let now = SystemTime::now();
    let secs = Duration::from_secs;
    // Within the TTL: a.tar.gz is oldest, current newest.
    touch(&dir.join("a.tar.gz"), secs(40), now);
    touch(&dir.join("a.tar.gz.lock"), secs(40), now);
    touch(&dir.join("b.tar.gz"), secs(30), now);
    touch(&dir.join("c.tar.gz"), secs(20), now);
    touch(&dir.join("cur.tar.gz"), secs(10), now);
    let current = artifact_path("GitRepository", "ns", "repo", "cur.tar.gz");
    // Four files, two records: the two oldest go.
    let garbage = s.garbage_files(&current, now).expect("gc");
    assert_eq!(garbage, [dir.join("a.tar.gz"), dir.join("b.tar.gz")]);
    // One expired among five: Flux's count leaves three, not two.
    touch(&dir.join("old.tar.gz"), secs(90), now);
    let garbage = s.garbage_files(&current, now).expect("gc");
    assert_eq!(garbage, [dir.join("old.tar.gz"), dir.join("a.tar.gz")]);
    std::fs::remove_file(dir.join("old.tar.gz")).expect("rm");
    // Past the TTL every other file goes, current or not newest.
    let later = now + secs(120);
    touch(&dir.join("cur.tar.gz"), secs(200), later);
    let garbage = s.garbage_files(&current, later).expect("gc");
    assert_eq!(garbage.len(), 3, "{garbage:?}");
    assert!(!garbage.contains(&dir.join("cur.tar.gz")));
    let deleted = s.garbage_collect(&current, later).expect("gc");
    assert_eq!(deleted.len(), 3);
    assert!(!dir.join("a.tar.gz.lock").exists());
    assert!(dir.join("cur.tar.gz").exists());
    assert!(s.remove_all("GitRepository", "ns", "repo").expect("remove"));
    assert!(!dir.exists());
    assert!(!s.remove_all("GitRepository", "ns", "repo").expect("again"));
}

#[test]
fn garbage_collection_walks_a_bounded_number_of_files() {
    let t = tempfile::tempdir().expect("tempdir");
    let s = storage(t.path());
    let dir = s.local_path(&artifact_dir("GitRepository", "ns", "many"));
    std::fs::create_dir_all(&dir).expect("mkdir");
    for i in 0..=GARBAGE_COUNT_LIMIT {
        std::fs::write(dir.join(format!("{i}.tar.gz")), "").expect("write");
    }
    let current = artifact_path("GitRepository", "ns", "many", "0.tar.gz");
    let err = s
        .garbage_files(&current, SystemTime::now())
        .expect_err("limit");
    assert_eq!(
        err.to_string(),
        "reached file walking limit, already walked over: 1000"
    );
}

#[test]
fn copy_to_path_moves_an_artifact_subtree_into_place() {
    let t = tempfile::tempdir().expect("tempdir");
    let s = storage(&t.path().join("data"));
    let src = t.path().join("src");
    std::fs::create_dir_all(src.join("deploy/base")).expect("mkdir");
    std::fs::write(src.join("deploy/base/a.yaml"), "a").expect("write");
    std::fs::write(src.join("top.yaml"), "t").expect("write");
    let path = artifact_path("GitRepository", "ns", "inc", "1.tar.gz");
    s.archive(&path, &src, None, &Limits::default())
        .expect("archive");
    let work = t.path().join("work");
    std::fs::create_dir_all(&work).expect("mkdir");
    let to = secure_join(&work, "../vendor/inc");
    s.copy_to_path(&path, "../deploy", &to, &Limits::default())
        .expect("copy");
    assert_eq!(
        std::fs::read(work.join("vendor/inc/base/a.yaml")).expect("read"),
        b"a"
    );
    assert!(!work.join("vendor/inc/top.yaml").exists());
    // Nothing of the scratch directory is left in the tree.
    let names: Vec<_> = std::fs::read_dir(work.join("vendor"))
        .expect("ls")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, ["inc"]);
    // A destination that holds files already is refused.
    let err = s
        .copy_to_path(&path, "deploy", &to, &Limits::default())
        .expect_err("not empty");
    assert!(err.to_string().contains("rename into"), "{err}");
    let err = s
        .copy_to_path(&path, "missing", &work.join("m"), &Limits::default())
        .expect_err("missing");
    assert!(err.to_string().contains("rename into"), "{err}");
}

#[test]
fn write_stores_bytes_atomically_and_symlink_gives_a_stable_url() {
    let t = tempfile::tempdir().expect("tempdir");
    let s = storage(t.path());
    let path = artifact_path("HelmRepository", "default", "podinfo", "index-abc.yaml");
    let stored = s.write(&path, b"{}\n").expect("write");
    assert_eq!(stored.size, 3);
    s.verify(&path, &stored.digest).expect("digest verifies");
    let mode = std::fs::metadata(s.local_path(&path))
        .expect("meta")
        .permissions();
    assert_eq!(mode.mode() & 0o777, 0o600);
    let url = s.symlink(&path, "index.yaml").expect("symlink");
    assert_eq!(
        url,
        "http://source-controller.flux-system.svc.cluster.local./helmrepository/default/podinfo/index.yaml"
    );
    let link = s.local_path("helmrepository/default/podinfo/index.yaml");
    assert_eq!(std::fs::read(&link).expect("through the link"), b"{}\n");
    // A second artifact moves the link; the link is never collected.
    let next = artifact_path("HelmRepository", "default", "podinfo", "index-def.yaml");
    s.write(&next, b"[]\n").expect("write");
    s.symlink(&next, "index.yaml").expect("symlink");
    assert_eq!(std::fs::read(&link).expect("moved"), b"[]\n");
    assert!(!s.exists("helmrepository/default/podinfo/index.yaml"));
    assert!(s.symlink(&next, "../x").is_err());
}

#[test]
fn copy_from_path_streams_with_the_digest_of_the_bytes() {
    let root = tempfile::tempdir().expect("root");
    let s = storage(root.path());
    let src = root.path().join("layer.tgz");
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&src, &data).expect("src");
    let path = "ocirepository/apps/podinfo/sha256:abc.tar.gz";
    let stored = s.copy_from_path(path, &src).expect("copy");
    assert_eq!(stored.size, data.len() as u64);
    assert_eq!(
        stored.digest,
        format!("sha256:{}", hex::encode(Sha256::digest(&data)))
    );
    assert_eq!(std::fs::read(s.local_path(path)).expect("stored"), data);
    assert!(s.verify(path, &stored.digest).is_ok());
    // A missing source names it; nothing is left behind.
    let err = s
        .copy_from_path(path, &root.path().join("gone"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("gone"), "{err}");
    assert_eq!(std::fs::read(s.local_path(path)).expect("kept"), data);
}
