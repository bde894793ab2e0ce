//! The artifact server (`pkg/artifact/server`, Flux's `--storage-addr`):
//! the storage root over plain HTTP, so that `status.artifact.url` can be
//! downloaded. GET and HEAD of a regular file; everything else is 404.
//! Unlike Go's `http.FileServer` it lists no directories, refuses `..`
//! (400) and serves nothing that resolves outside the root (a symlink
//! placed there is 404).

use std::path::{Path, PathBuf};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

#[cfg(test)]
mod tests;

/// The router serving `root`.
pub fn router(root: &Path) -> std::io::Result<Router> {
    let root = std::fs::canonicalize(root)?;
    Ok(Router::new().fallback(get(serve_file)).with_state(root))
}

/// Serve `root` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    root: &Path,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(root)?)
        .with_graceful_shutdown(shutdown)
        .await
}

/// The file a request path names, or the status to answer.
fn resolve(root: &Path, raw: &str) -> Result<PathBuf, StatusCode> {
    let decoded = percent_decode(raw).ok_or(StatusCode::BAD_REQUEST)?;
    let mut path = root.to_path_buf();
    for part in decoded.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(StatusCode::BAD_REQUEST),
            p if p.contains('\0') => return Err(StatusCode::BAD_REQUEST),
            p => path.push(p),
        }
    }
    let real = std::fs::canonicalize(&path).map_err(|_| StatusCode::NOT_FOUND)?;
    if !real.starts_with(root) || !real.is_file() {
        return Err(StatusCode::NOT_FOUND);
    }
    Ok(real)
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

async fn serve_file(State(root): State<PathBuf>, uri: Uri) -> Response {
    let path = match resolve(&root, uri.path()) {
        Ok(p) => p,
        Err(status) => return (status, status.canonical_reason().unwrap_or("")).into_response(),
    };
    let file = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(_) => return StatusCode::NOT_FOUND.into_response(),
    };
    let len = file.metadata().await.map(|m| m.len()).unwrap_or(0);
    // What Go's content sniffing says of a gzip stream.
    let content_type = if path.extension().is_some_and(|e| e == "gz" || e == "tgz") {
        "application/x-gzip"
    } else {
        "application/octet-stream"
    };
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    resp
}
