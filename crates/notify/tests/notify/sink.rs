//! A local HTTP(S) server that records every request and answers from a
//! script (per path prefix, in order; then 200 with `{}`). It also serves
//! as a forward proxy: a request line in absolute form is recorded as is.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferroflux_testkit::tls::TestCa;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    /// The request target as sent (a path, or a URL through a proxy).
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn body_text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("utf-8 body")
    }
}

/// (path prefix, status, body, delay before answering)
type Answer = (String, u16, String, Duration);

#[derive(Default)]
struct State {
    requests: Vec<Recorded>,
    script: VecDeque<Answer>,
}

#[derive(Clone)]
pub struct Sink {
    pub port: u16,
    pub tls: bool,
    state: Arc<Mutex<State>>,
}

impl Sink {
    pub async fn http() -> Sink {
        Sink::start(None).await
    }

    /// An HTTPS sink whose certificate `ca` signed, for 127.0.0.1.
    pub async fn https(ca: &TestCa) -> Sink {
        let pair = ca.server_cert(&["127.0.0.1", "localhost"]);
        let chain = CertificateDer::pem_slice_iter(pair.cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .expect("server cert");
        let key = PrivateKeyDer::from_pem_slice(pair.key_pem.as_bytes()).expect("server key");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server config");
        Sink::start(Some(tokio_rustls::TlsAcceptor::from(Arc::new(config)))).await
    }

    async fn start(tls: Option<tokio_rustls::TlsAcceptor>) -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let sink = Sink {
            port,
            tls: tls.is_some(),
            state: Arc::default(),
        };
        let state = sink.state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = state.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    match tls {
                        Some(acceptor) => {
                            if let Ok(s) = acceptor.accept(stream).await {
                                serve(s, state).await;
                            }
                        }
                        None => serve(stream, state).await,
                    }
                });
            }
        });
        sink
    }

    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}{path}", self.port)
    }

    /// Answer the next request whose target starts with `prefix`.
    pub fn answer(&self, prefix: &str, status: u16, body: &str) {
        self.answer_after(prefix, status, body, Duration::ZERO);
    }

    pub fn answer_after(&self, prefix: &str, status: u16, body: &str, delay: Duration) {
        self.state.lock().expect("sink lock").script.push_back((
            prefix.into(),
            status,
            body.into(),
            delay,
        ));
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().expect("sink lock").requests.clone()
    }

    /// Wait until `n` requests arrived (at most 10 s).
    pub async fn wait_for(&self, n: usize) -> Vec<Recorded> {
        for _ in 0..1000 {
            let r = self.requests();
            if r.len() >= n {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("expected {n} requests, got {:?}", self.requests());
    }
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(stream: S, state: Arc<Mutex<State>>) {
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("").to_string();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).await.unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let len = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).await.is_err() {
            return;
        }
        let answer = {
            let mut s = state.lock().expect("sink lock");
            s.requests.push(Recorded {
                method,
                target: target.clone(),
                headers,
                body,
            });
            let pos = s
                .script
                .iter()
                .position(|(p, ..)| target.starts_with(p.as_str()));
            pos.and_then(|i| s.script.remove(i))
        };
        let (status, body, delay) =
            answer
                .map(|(_, s, b, d)| (s, b, d))
                .unwrap_or((200, "{}".into(), Duration::ZERO));
        tokio::time::sleep(delay).await;
        let response = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if reader
            .get_mut()
            .write_all(response.as_bytes())
            .await
            .is_err()
        {
            return;
        }
        let _ = reader.get_mut().flush().await;
    }
}
