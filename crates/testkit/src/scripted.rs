//! A scripted HTTP/1.1 server on loopback for the client side of unit
//! tests: each request (`"METHOD /path body"`, the query dropped) is
//! answered as the test's function says, after an optional pause, and
//! kept, in order, for the test to read. For answers no real server gives
//! on demand (a 409, a 403, a slow discovery endpoint).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// A running scripted server.
pub struct Scripted {
    pub addr: SocketAddr,
    got: Arc<Mutex<Vec<String>>>,
}

impl Scripted {
    /// Serve `answer`'s `(status, JSON body)` for each request, `pause`
    /// after reading it (so that concurrent requests overlap).
    pub async fn start(
        pause: Duration,
        answer: impl Fn(&str) -> (u16, String) + Send + Sync + 'static,
    ) -> Scripted {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a scripted server");
        let addr = listener.local_addr().expect("scripted server address");
        let got = Arc::new(Mutex::new(Vec::new()));
        let (answer, log) = (Arc::new(answer), Arc::clone(&got));
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let (answer, log) = (Arc::clone(&answer), Arc::clone(&log));
                tokio::spawn(async move {
                    let Some(request) = read_request(&mut conn).await else {
                        return;
                    };
                    log.lock().expect("scripted log").push(request.clone());
                    tokio::time::sleep(pause).await;
                    let (status, body) = answer(&request);
                    let answer = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = conn.write_all(answer.as_bytes()).await;
                    let _ = conn.shutdown().await;
                });
            }
        });
        Scripted { addr, got }
    }

    /// `http://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The requests so far, in order.
    pub fn requests(&self) -> Vec<String> {
        self.got.lock().expect("scripted log").clone()
    }
}

/// One request as `"METHOD /path body"`; None when the peer went away.
async fn read_request(conn: &mut tokio::net::TcpStream) -> Option<String> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match conn.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&seen[..head_end]).to_string();
    let length = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .and_then(|v| v.trim().parse::<usize>().ok())
        })
        .unwrap_or(0);
    while seen.len() < head_end + length {
        match conn.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    let mut parts = head.lines().next().unwrap_or_default().split(' ');
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or_default();
    Some(format!(
        "{method} {path} {}",
        String::from_utf8_lossy(&seen[head_end..])
    ))
}
