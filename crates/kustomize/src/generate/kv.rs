//! Key/value sources of a generator, parsed as kustomize 5.6's `api/kv`
//! parses them: literals (`key=value`), file sources (`[key=]path`) and
//! `.env` files. kustomize validates neither keys nor env names (its field
//! validator accepts everything), so neither does this module; a repeated
//! key is refused by the generator, not here.

/// The longest `.env` line (Go's `bufio.Scanner` token limit, 64 KiB).
/// kustomize silently stops reading a file at a longer line; this engine
/// refuses the file instead, naming the line.
pub const MAX_ENV_LINE: usize = 64 * 1024;

const UTF8_BOM: &str = "\u{feff}";

/// A `literals` entry: the key before the first `=`, the value after it
/// with one pair of matching outer quotes (`"` or `'`) removed.
pub fn parse_literal(source: &str) -> Result<(String, String), String> {
    match source.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), remove_quotes(value))),
        _ => Err(format!(
            "invalid literal source {source:?}, expected key=value"
        )),
    }
}

/// kustomize's `removeQuotes`: `"x"` and `'x'` lose their quotes; a lone
/// quote, mismatched quotes or inner quotes stay.
fn remove_quotes(s: &str) -> String {
    let b = s.as_bytes();
    if b.len() >= 2 && b[0] == b[b.len() - 1] && (b[0] == b'"' || b[0] == b'\'') {
        s[1..s.len() - 1].to_string()
    } else {
        s.to_string()
    }
}

/// A `files` entry: `path` (the key is the path's last element, as Go's
/// `path.Base` gives it) or `key=path`.
pub fn parse_file_source(source: &str) -> Result<(String, String), String> {
    match source.matches('=').count() {
        0 => Ok((go_path_base(source), source.to_string())),
        1 if source.starts_with('=') => Err(format!(
            "missing key name for file path {:?} in source {source:?}",
            &source[1..]
        )),
        1 if source.ends_with('=') => Err(format!(
            "missing file path for key name {:?} in source {source:?}",
            &source[..source.len() - 1]
        )),
        1 => {
            let (key, path) = source.split_once('=').unwrap_or_default();
            Ok((key.to_string(), path.to_string()))
        }
        _ => Err(format!(
            "source {source:?} key name or file path contains '='"
        )),
    }
}

/// Go's `path.Base`: the last slash-separated element, trailing slashes
/// ignored; `.` for an empty path, `/` for slashes only.
fn go_path_base(p: &str) -> String {
    if p.is_empty() {
        return ".".to_string();
    }
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".to_string();
    }
    match trimmed.rfind('/') {
        Some(i) => trimmed[i + 1..].to_string(),
        None => trimmed.to_string(),
    }
}

/// A problem at a line (1-based) of an env file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvError {
    pub line: usize,
    pub message: String,
}

/// The pairs of an `.env` file, in file order. Per line (split at `\n`, a
/// trailing `\r` dropped): a UTF-8 byte order mark is removed from the
/// first line only, leading white space is trimmed, an empty line or one
/// starting with `#` is skipped; the key is the text before the first `=`
/// (kept as is: no `export`, no trimming), the value the rest, verbatim
/// (no quote removal, no inline comments), or empty without `=`.
pub fn parse_env(content: &[u8]) -> Result<Vec<(String, String)>, EnvError> {
    let mut out = Vec::new();
    let mut rest = content;
    let mut number = 0;
    while !rest.is_empty() {
        number += 1;
        let (mut line, next) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = next;
        if line.len() > MAX_ENV_LINE {
            return Err(EnvError {
                line: number,
                message: format!("the line is longer than {MAX_ENV_LINE} bytes"),
            });
        }
        if let [head @ .., b'\r'] = line {
            line = head;
        }
        let Ok(mut text) = std::str::from_utf8(line) else {
            return Err(EnvError {
                line: number,
                message: "the line has invalid UTF-8 bytes".to_string(),
            });
        };
        if number == 1 {
            text = text.strip_prefix(UTF8_BOM).unwrap_or(text);
        }
        let text = text.trim_start_matches(go_is_space);
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let (key, value) = text.split_once('=').unwrap_or((text, ""));
        // A line `=x` has an empty key, which kustomize skips as it skips
        // a blank line.
        if key.is_empty() {
            continue;
        }
        out.push((key.to_string(), value.to_string()));
    }
    Ok(out)
}

/// Go's `unicode.IsSpace`.
fn go_is_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{85}' | '\u{a0}'
    ) || (c as u32 > 0xff && c.is_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_split_at_the_first_equals_and_lose_outer_quotes() {
        let ok = |s: &str| parse_literal(s).unwrap();
        assert_eq!(ok("a=b=c"), ("a".into(), "b=c".into()));
        assert_eq!(ok("a=\"bar\""), ("a".into(), "bar".into()));
        assert_eq!(ok("a='bar'"), ("a".into(), "bar".into()));
        assert_eq!(ok("a=\"bar'"), ("a".into(), "\"bar'".into()));
        assert_eq!(ok("a=\""), ("a".into(), "\"".into()));
        assert_eq!(ok("a=\"\""), ("a".into(), "".into()));
        assert_eq!(
            ok("TEST=this is a 'test'"),
            ("TEST".into(), "this is a 'test'".into())
        );
        assert_eq!(ok(" k =v\n"), (" k ".into(), "v\n".into()));
        assert_eq!(ok("k="), ("k".into(), "".into()));
    }

    #[test]
    fn literals_without_a_key_or_equals_are_refused() {
        for bad in ["=x", "novalue", ""] {
            let e = parse_literal(bad).unwrap_err();
            assert!(e.contains("expected key=value"), "{bad}: {e}");
        }
    }

    #[test]
    fn file_sources_take_the_base_name_or_the_given_key() {
        let ok = |s: &str| parse_file_source(s).unwrap();
        assert_eq!(ok("dir/a.txt"), ("a.txt".into(), "dir/a.txt".into()));
        assert_eq!(ok("dir/sub/"), ("sub".into(), "dir/sub/".into()));
        assert_eq!(ok("k=dir/a.txt"), ("k".into(), "dir/a.txt".into()));
        assert_eq!(go_path_base("///"), "/");
        assert_eq!(go_path_base(""), ".");
    }

    #[test]
    fn malformed_file_sources_are_refused_with_the_reason() {
        assert!(
            parse_file_source("=a.txt")
                .unwrap_err()
                .contains("missing key name")
        );
        assert!(
            parse_file_source("k=")
                .unwrap_err()
                .contains("missing file path")
        );
        assert!(
            parse_file_source("a=b=c")
                .unwrap_err()
                .contains("contains '='")
        );
    }

    #[test]
    fn env_files_parse_as_kustomize_reads_them() {
        let text = "\u{feff}# comment\n\n  A=1\nB = two \r\nexport C=\"q\"\nD\n E=x=y\n=skipped\n\u{feff}F=g";
        let pairs = parse_env(text.as_bytes()).unwrap();
        let want: Vec<(String, String)> = [
            ("A", "1"),
            ("B ", " two "),
            ("export C", "\"q\""),
            ("D", ""),
            ("E", "x=y"),
            ("\u{feff}F", "g"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(pairs, want);
    }

    #[test]
    fn env_files_with_bad_bytes_or_huge_lines_name_the_line() {
        let e = parse_env(b"A=1\nB=\xff\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("UTF-8"));
        let long = format!("A=1\n\nB={}\n", "x".repeat(MAX_ENV_LINE));
        let e = parse_env(long.as_bytes()).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("longer than"));
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            /// Any bytes: the parser returns, keys are never empty, and no
            /// key or value holds a line break.
            #[test]
            fn env_parsing_is_total(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
                if let Ok(pairs) = parse_env(&bytes) {
                    for (k, v) in pairs {
                        prop_assert!(!k.is_empty());
                        prop_assert!(!k.contains('\n') && !v.contains('\n'));
                        prop_assert!(!k.contains('='));
                    }
                }
            }

            /// `KEY=VALUE` lines read back as written (keys without `=`,
            /// `#` or leading space; values without line breaks).
            #[test]
            fn env_lines_read_back(
                pairs in proptest::collection::vec(("[A-Za-z_][A-Za-z0-9_. ]{0,12}", "[^\n\r]{0,20}"), 0..10)
            ) {
                let text: String = pairs.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
                let read = parse_env(text.as_bytes()).unwrap();
                prop_assert_eq!(read, pairs);
            }

            /// A literal's key is what precedes the first `=`.
            #[test]
            fn literal_keys_end_at_the_first_equals(key in "[^=]{1,10}", value in ".{0,20}") {
                let (k, v) = parse_literal(&format!("{key}={value}")).unwrap();
                prop_assert_eq!(k, key);
                prop_assert!(value.contains(&v));
            }
        }
    }
}
