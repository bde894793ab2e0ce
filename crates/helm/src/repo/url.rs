//! Helm's `repo.ResolveReferenceURL`: a chart's `urls[0]` resolved
//! against the repository URL with Go's `net/url` rules. An absolute
//! reference is kept as written; otherwise the base path gets a trailing
//! `/`, RFC 3986 resolution applies (dot segments removed), and the
//! result carries the **base's** query string (signed repository URLs),
//! never the reference's. Works on the escaped text throughout.

/// A URL split as `net/url` splits it (escaped parts kept).
#[derive(Default)]
struct Parts<'a> {
    scheme: Option<&'a str>,
    authority: Option<&'a str>,
    path: &'a str,
    query: Option<&'a str>,
    fragment: Option<&'a str>,
}

fn parse(s: &str) -> Result<Parts<'_>, String> {
    let err = |why: &str| Err(format!("parse {}: {why}", crate::strvals::go_quote(s)));
    if s.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return err("net/url: invalid control character in URL");
    }
    let (rest, fragment) = match s.split_once('#') {
        Some((a, f)) => (a, Some(f)),
        None => (s, None),
    };
    let mut p = Parts {
        fragment,
        ..Parts::default()
    };
    let mut rest = rest;
    if let Some(i) = rest.find(':') {
        let scheme = &rest[..i];
        let valid = !scheme.is_empty()
            && scheme.as_bytes()[0].is_ascii_alphabetic()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        if i == 0 {
            return err("missing protocol scheme");
        }
        if valid {
            p.scheme = Some(scheme);
            rest = &rest[i + 1..];
        } else if !scheme.contains('/') && !scheme.contains('?') {
            return err("first path segment in URL cannot contain colon");
        }
    }
    if let Some((a, q)) = rest.split_once('?') {
        rest = a;
        p.query = Some(q);
    }
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find('/').unwrap_or(after.len());
        p.authority = Some(&after[..end]);
        rest = &after[end..];
    }
    p.path = rest;
    Ok(p)
}

/// RFC 3986 `remove_dot_segments` over `base`'s directory and `reference`
/// as Go's `resolvePath` does it.
fn resolve_path(base: &str, reference: &str) -> String {
    let full = if reference.is_empty() {
        base.to_string()
    } else if !reference.starts_with('/') {
        let dir = base.rfind('/').map_or("", |i| &base[..=i]);
        format!("{dir}{reference}")
    } else {
        reference.to_string()
    };
    if full.is_empty() {
        return String::new();
    }
    let mut out: Vec<&str> = Vec::new();
    let segs: Vec<&str> = full.split('/').collect();
    let last = segs.len() - 1;
    for (i, seg) in segs.iter().enumerate() {
        match *seg {
            "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
        if i == last && matches!(*seg, "." | "..") {
            out.push("");
        }
    }
    let mut joined = out.join("/");
    if !joined.starts_with('/') {
        joined.insert(0, '/');
    }
    // `//` at the start would read as an authority.
    while joined.starts_with("//") {
        joined.remove(0);
    }
    joined
}

/// `repo.ResolveReferenceURL(base, reference)`; `Err` is Helm's "failed to
/// parse … as URL: …".
pub fn resolve_reference_url(base: &str, reference: &str) -> Result<String, String> {
    let r = parse(reference).map_err(|e| format!("failed to parse {reference} as URL: {e}"))?;
    if r.scheme.is_some() {
        return Ok(reference.to_string());
    }
    let b = parse(base).map_err(|e| format!("failed to parse {base} as URL: {e}"))?;
    let base_path = format!("{}/", b.path.trim_end_matches('/'));
    let mut out = String::new();
    if let Some(s) = b.scheme {
        out.push_str(s);
        out.push(':');
    }
    let (authority, path) = match r.authority {
        Some(a) => (Some(a), resolve_path(r.path, "")),
        None => (b.authority, resolve_path(&base_path, r.path)),
    };
    if let Some(a) = authority {
        out.push_str("//");
        out.push_str(a);
        if !path.is_empty() && !path.starts_with('/') {
            out.push('/');
        }
    }
    out.push_str(&path);
    if let Some(q) = b.query.filter(|q| !q.is_empty()) {
        out.push('?');
        out.push_str(q);
    }
    if let Some(f) = r.fragment.filter(|f| !f.is_empty()) {
        out.push('#');
        out.push_str(f);
    }
    Ok(out)
}
