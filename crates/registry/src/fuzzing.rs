//! Entry points for the fuzz targets (`fuzz/`) and their corpus replay: the
//! parsers of what a registry answers, fed raw bytes.

use reqwest::header::{HeaderMap, HeaderValue, LINK};

/// Parse `bytes` as a tags page, a manifest (and an index's platform
/// choice), a `Link` header (against a fixed page URL) and a
/// `WWW-Authenticate` challenge; none of them may panic.
pub fn registry_response(bytes: &[u8]) {
    let _ = serde_json::from_slice::<crate::client::TagPage>(bytes).map(|p| p.tags);
    if let Ok(m) = crate::manifest::parse(bytes, None, &[]) {
        let _ = m.default_platform();
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let _ = crate::client::parse_challenge(text);
    let current = reqwest::Url::parse("https://registry.example/v2/org/app/tags/list?n=100")
        .expect("a fixed, valid URL");
    let mut headers = HeaderMap::new();
    for line in text.lines() {
        if let Ok(value) = HeaderValue::from_str(line) {
            headers.append(LINK, value);
        }
    }
    let _ = crate::client::next_link(&headers, &current);
}
