//! The artifact server on a real socket: files at Flux's paths, 404 for
//! what is not a file under the root, 400 for `..`.

use std::path::Path;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String, Vec<u8>) {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("send");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.expect("read");
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    (status, head, buf[end + 4..].to_vec())
}

#[tokio::test]
async fn serves_artifacts_at_flux_paths_and_nothing_else() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path().join("data");
    let dir = root.join("gitrepository/flux-system/podinfo");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("abc.tar.gz"), b"\x1f\x8bdata").expect("write");
    std::fs::write(t.path().join("secret"), "s").expect("write");
    std::os::unix::fs::symlink(t.path().join("secret"), root.join("link")).expect("symlink");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let root2 = root.clone();
    let server = tokio::spawn(async move {
        ferroflux_artifact::server::serve(listener, Path::new(&root2), async {
            let _ = stopped.await;
        })
        .await
    });
    let (status, head, body) = get(addr, "/gitrepository/flux-system/podinfo/abc.tar.gz").await;
    assert_eq!(status, 200, "{head}");
    assert_eq!(body, b"\x1f\x8bdata");
    assert!(
        head.to_lowercase()
            .contains("content-type: application/x-gzip"),
        "{head}"
    );
    // Percent-encoded paths name the same file.
    let (status, _, _) = get(addr, "/gitrepository/flux-system/podinfo/abc%2Etar.gz").await;
    assert_eq!(status, 200);
    for (path, want) in [
        ("/gitrepository/flux-system/podinfo/missing.tar.gz", 404),
        ("/gitrepository/flux-system/podinfo", 404),
        ("/", 404),
        ("/link", 404),
        ("/gitrepository/../../secret", 400),
        ("/gitrepository/%2e%2e/%2e%2e/secret", 400),
    ] {
        let (status, head, _) = get(addr, path).await;
        assert_eq!(status, want, "{path}: {head}");
    }
    let _ = stop.send(());
    server.await.expect("join").expect("serve");
}
