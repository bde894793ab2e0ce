use std::net::SocketAddr;

use super::*;

/// A directory archived as source-controller stores it, with its digest.
fn artifact(root: &Path, rel: &str) -> String {
    let src = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(src.path().join("apps")).expect("mkdir");
    std::fs::write(src.path().join("apps/cm.yaml"), "kind: ConfigMap\n").expect("write");
    let gz = archive::write_tar_gz(src.path(), None, &Limits::default(), Vec::new()).expect("gz");
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, &gz).expect("write");
    format!("sha256:{}", hex::encode(Sha256::digest(&gz)))
}

fn opts(root: &Path, address: &str) -> FetchOptions {
    FetchOptions {
        local: Some(LocalStorage {
            root: root.to_path_buf(),
            address: address.to_string(),
        }),
        temp_dir: root.join("tmp"),
        retries: 0,
        retry_wait: Duration::from_millis(10),
        timeout: Duration::from_secs(10),
        ..FetchOptions::default()
    }
}

#[test]
fn local_urls_are_those_under_the_advertised_address() {
    let l = LocalStorage {
        root: PathBuf::from("/data"),
        address: "source-controller.flux-system:80".into(),
    };
    let base = "http://source-controller.flux-system:80";
    assert_eq!(
        l.path_of(&format!("{base}/gitrepository/ns/n/abc.tar.gz")),
        Some(PathBuf::from("/data/gitrepository/ns/n/abc.tar.gz"))
    );
    assert_eq!(
        l.path_of(&format!("{base}/../../etc/passwd")),
        Some(PathBuf::from("/data/etc/passwd")),
        "'..' stops at the root"
    );
    assert_eq!(
        l.path_of("http://elsewhere/gitrepository/ns/n/abc.tar.gz"),
        None
    );
    assert_eq!(l.path_of(&format!("{base}evil/x")), None, "a longer host");
    assert_eq!(l.path_of(&format!("{base}/")), None);
    let with_scheme = LocalStorage {
        address: "https://files.example/".into(),
        ..l
    };
    assert_eq!(
        with_scheme.path_of("https://files.example/a/b.tar.gz"),
        Some(PathBuf::from("/data/a/b.tar.gz"))
    );
}

#[tokio::test]
async fn a_local_artifact_is_verified_and_unpacked() {
    let t = tempfile::tempdir().expect("tempdir");
    let digest = artifact(t.path(), "gitrepository/ns/n/a.tar.gz");
    let o = opts(t.path(), "ours:9090");
    let url = "http://ours:9090/gitrepository/ns/n/a.tar.gz";
    let to = t.path().join("out");
    fetch(url, &digest, &to, &o).await.expect("fetched");
    assert_eq!(
        std::fs::read_to_string(to.join("apps/cm.yaml")).expect("unpacked"),
        "kind: ConfigMap\n"
    );
    // A bare hex digest is sha256.
    let bare = digest.trim_start_matches("sha256:").to_string();
    fetch(url, &bare, &t.path().join("out2"), &o)
        .await
        .expect("bare hex");
    // The temp download is gone.
    assert_eq!(
        std::fs::read_dir(t.path().join("tmp"))
            .expect("tmp")
            .count(),
        0
    );
}

#[tokio::test]
async fn digest_errors_are_flux_s() {
    let t = tempfile::tempdir().expect("tempdir");
    let digest = artifact(t.path(), "a.tar.gz");
    let o = opts(t.path(), "ours");
    let url = "http://ours/a.tar.gz";
    let to = t.path().join("out");
    let err = fetch(url, "", &to, &o).await.expect_err("empty");
    assert_eq!(err.to_string(), "failed to verify archive: empty digest");
    let err = fetch(url, "md5:abcd", &to, &o).await.expect_err("md5");
    assert!(matches!(err, FetchError::BadDigest { .. }), "{err}");
    let err = fetch(url, "sha256:xyz", &to, &o)
        .await
        .expect_err("not hex");
    assert!(matches!(err, FetchError::BadDigest { .. }), "{err}");
    let wrong = format!("sha256:{}", "0".repeat(64));
    let err = fetch(url, &wrong, &to, &o).await.expect_err("mismatch");
    assert_eq!(
        err.to_string(),
        format!(
            "failed to verify archive: computed digest doesn't match provided '{wrong}' (check whether file size exceeds max download size)"
        )
    );
    assert!(!err.is_transient());
    assert!(!to.exists(), "nothing unpacked");
    let sha512 = format!(
        "sha512:{}",
        hex::encode(Sha512::digest(
            std::fs::read(t.path().join("a.tar.gz")).expect("read")
        ))
    );
    fetch(url, &sha512, &to, &o).await.expect("sha512");
    drop(digest);
}

#[tokio::test]
async fn size_and_presence_are_checked() {
    let t = tempfile::tempdir().expect("tempdir");
    let digest = artifact(t.path(), "a.tar.gz");
    let mut o = opts(t.path(), "ours");
    let err = fetch(
        "http://ours/missing.tar.gz",
        &digest,
        &t.path().join("x"),
        &o,
    )
    .await
    .expect_err("missing");
    assert!(matches!(err, FetchError::NotFound { .. }), "{err}");
    assert!(err.is_transient());
    o.max_bytes = 10;
    let err = fetch("http://ours/a.tar.gz", &digest, &t.path().join("y"), &o)
        .await
        .expect_err("too large");
    assert!(
        matches!(err, FetchError::TooLarge { limit: 10, .. }),
        "{err}"
    );
    o.max_bytes = 1 << 20;
    o.limits.max_entries = 1;
    let err = fetch("http://ours/a.tar.gz", &digest, &t.path().join("z"), &o)
        .await
        .expect_err("too many entries");
    assert!(
        err.to_string().starts_with("failed to untar artifact: "),
        "{err}"
    );
    assert!(!err.is_transient());
}

async fn serve(root: &Path) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let root = root.to_path_buf();
    tokio::spawn(async move {
        let _ = crate::server::serve(listener, &root, async {
            let _ = rx.await;
        })
        .await;
    });
    (addr, tx)
}

#[tokio::test]
async fn artifacts_of_other_servers_are_downloaded() {
    let served = tempfile::tempdir().expect("tempdir");
    let digest = artifact(served.path(), "gitrepository/ns/n/a.tar.gz");
    let (addr, stop) = serve(served.path()).await;
    let t = tempfile::tempdir().expect("tempdir");
    let mut o = opts(t.path(), "not-this-one:80");
    let url = format!("http://{addr}/gitrepository/ns/n/a.tar.gz");
    fetch(&url, &digest, &t.path().join("out"), &o)
        .await
        .expect("downloaded");
    assert!(t.path().join("out/apps/cm.yaml").is_file());

    let missing = format!("http://{addr}/gitrepository/ns/n/gone.tar.gz");
    let err = fetch(&missing, &digest, &t.path().join("x"), &o)
        .await
        .expect_err("404");
    assert!(matches!(err, FetchError::NotFound { .. }), "{err}");

    let bad = format!("http://{addr}/a/%zz");
    let err = fetch(&bad, &digest, &t.path().join("y"), &o)
        .await
        .expect_err("400");
    assert!(
        err.to_string().starts_with(&format!(
            "failed to download archive from {bad} (status: 400"
        )),
        "{err}"
    );

    o.max_bytes = 16;
    let err = fetch(&url, &digest, &t.path().join("z"), &o)
        .await
        .expect_err("bounded");
    assert!(matches!(err, FetchError::TooLarge { .. }), "{err}");
    let _ = stop.send(());
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_reported() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let t = tempfile::tempdir().expect("tempdir");
    let mut o = opts(t.path(), "ours");
    o.retries = 2;
    let url = format!("http://{addr}/a.tar.gz");
    let started = std::time::Instant::now();
    let err = fetch(
        &url,
        &format!("sha256:{}", "0".repeat(64)),
        &t.path().join("x"),
        &o,
    )
    .await
    .expect_err("refused");
    assert!(matches!(err, FetchError::Transport { .. }), "{err}");
    assert!(err.to_string().contains(&url), "{err}");
    assert!(
        err.to_string().to_lowercase().contains("refused"),
        "the cause: {err}"
    );
    assert!(err.is_transient());
    // Two waits of 20 ms and 40 ms happened.
    assert!(started.elapsed() >= Duration::from_millis(60));
}

#[tokio::test]
async fn bytes_are_fetched_verified_and_bounded() {
    let served = tempfile::tempdir().expect("tempdir");
    let digest = artifact(served.path(), "helmchart/ns/n/c.tgz");
    let want = std::fs::read(served.path().join("helmchart/ns/n/c.tgz")).expect("read");
    let (addr, stop) = serve(served.path()).await;
    let local = opts(served.path(), "ours");
    let got = fetch_bytes("http://ours/helmchart/ns/n/c.tgz", &digest, &local)
        .await
        .expect("local");
    assert_eq!(got, want);
    let remote = opts(served.path(), "not-this-one:80");
    let url = format!("http://{addr}/helmchart/ns/n/c.tgz");
    assert_eq!(
        fetch_bytes(&url, &digest, &remote).await.expect("remote"),
        want
    );
    let wrong = format!("sha256:{}", "0".repeat(64));
    let err = fetch_bytes(&url, &wrong, &remote)
        .await
        .expect_err("mismatch");
    assert!(matches!(err, FetchError::Mismatch { .. }), "{err}");
    let small = FetchOptions {
        max_bytes: 10,
        ..local
    };
    let err = fetch_bytes("http://ours/helmchart/ns/n/c.tgz", &digest, &small)
        .await
        .expect_err("too large");
    assert!(
        matches!(err, FetchError::TooLarge { limit: 10, .. }),
        "{err}"
    );
    assert!(
        !served.path().join("tmp").exists(),
        "nothing written to disk"
    );
    let _ = stop.send(());
}

#[test]
fn a_retried_download_starts_over() {
    let (hasher, want) = Hasher::for_digest(&format!(
        "sha256:{}",
        hex::encode(Sha256::digest(b"second"))
    ))
    .expect("digest");
    let mut sink = Sink {
        out: Vec::new(),
        hasher,
        size: 0,
        max: 1 << 10,
    };
    sink.write("u", b"first, cut short").expect("write");
    sink.reset().expect("reset");
    sink.write("u", b"second").expect("write");
    assert_eq!(sink.out, b"second");
    assert_eq!(sink.size, 6);
    assert_eq!(sink.hasher.hex(), want);

    let t = tempfile::tempdir().expect("tempdir");
    let mut file = Sink {
        out: tempfile::NamedTempFile::new_in(t.path()).expect("temp"),
        hasher: Hasher::for_digest(&want).expect("digest").0,
        size: 0,
        max: 1 << 10,
    };
    file.write("u", b"first, cut short").expect("write");
    file.reset().expect("reset");
    file.write("u", b"second").expect("write");
    assert_eq!(std::fs::read(file.out.path()).expect("read"), b"second");
}
