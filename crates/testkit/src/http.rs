//! A blocking HTTP/1.1 client for tests and benches on loopback: one request
//! per connection (`Connection: close`), chunked bodies decoded. Enough for
//! webhooks, probes and `/metrics`, without pulling an HTTP client into
//! every test binary.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;

/// Status code and body of a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

/// Send `method path` with `headers` and `body` to 127.0.0.1:`port`.
/// Panics when the connection fails: a test without its server is broken.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Response {
    let mut s = TcpStream::connect(("127.0.0.1", port))
        .unwrap_or_else(|e| panic!("connect to 127.0.0.1:{port}: {e}"));
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes())
        .unwrap_or_else(|e| panic!("send to 127.0.0.1:{port}: {e}"));
    let mut raw = String::new();
    s.read_to_string(&mut raw)
        .unwrap_or_else(|e| panic!("read from 127.0.0.1:{port}: {e}"));
    parse(&raw)
}

/// `GET path`.
pub fn get(port: u16, path: &str) -> Response {
    request(port, "GET", path, &[], "")
}

/// `POST path` with a JSON body.
pub fn post_json(port: u16, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
    let mut all = vec![("Content-Type", "application/json")];
    all.extend_from_slice(headers);
    request(port, "POST", path, &all, body)
}

fn parse(raw: &str) -> Response {
    let status = raw
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    Response { status, body }
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].strip_prefix("\r\n").unwrap_or(&after[n..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_chunked_responses() {
        let plain = parse("HTTP/1.1 401 Unauthorized\r\ncontent-length: 3\r\n\r\nno!");
        assert_eq!(
            plain,
            Response {
                status: 401,
                body: "no!".into()
            }
        );
        let chunked = parse(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n",
        );
        assert_eq!(chunked.status, 200);
        assert_eq!(chunked.body, "{\"a\":1}");
    }
}
