//! Go's `encoding/json` string encoding, as `json.Marshal` writes it: `"`
//! and `\` escaped, `\n \r \t \b \f`, other controls as `\u00XX`, and, for
//! HTML safety, `< > &` and the separators U+2028/U+2029 as `\u` escapes.
//! kustomize's generator hashes and sops' JSON output both print strings
//! this way.

/// `s` as a Go JSON string, appended to `out`.
pub fn quote_into(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `s` as a Go JSON string.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    quote_into(s, &mut out);
    out
}
