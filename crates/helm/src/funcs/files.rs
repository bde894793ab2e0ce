//! `.Files` (Helm's `pkg/engine/files.go`): the chart's non-template files
//! by path, with `Get`, `GetBytes`, `Glob` (gobwas/glob with `/` as the
//! separator), `Lines`, `AsConfig` and `AsSecrets`.

use std::collections::BTreeMap;
use std::rc::Rc;

use base64::Engine as _;
use serde_json::Value;

use crate::chart::File;

/// The files of one chart, in path order (the order `range` visits a Go
/// map in).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Files(pub BTreeMap<String, Rc<[u8]>>);

impl Files {
    pub fn new(files: &[File]) -> Files {
        Files(
            files
                .iter()
                .map(|f| (f.name.clone(), Rc::from(f.data.as_slice())))
                .collect(),
        )
    }

    /// `GetBytes`: the content, empty when absent.
    pub fn get_bytes(&self, name: &str) -> &[u8] {
        self.0.get(name).map_or(&[], |d| d)
    }

    /// `Get`: the content as a Go string (bytes kept; invalid UTF-8 is
    /// replaced here, as nothing downstream can hold it).
    pub fn get(&self, name: &str) -> String {
        String::from_utf8_lossy(self.get_bytes(name)).into_owned()
    }

    /// `Glob`: the files whose path matches; an invalid pattern matches
    /// every file (Helm falls back to `**`).
    pub fn glob(&self, pattern: &str) -> Files {
        let matcher = Glob::compile(pattern).unwrap_or_else(|_| Glob::everything());
        Files(
            self.0
                .iter()
                .filter(|(name, _)| matcher.is_match(name))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    }

    /// `Lines`: the content split on `\n` after one trailing `\n` is
    /// dropped; a missing file is no lines. An empty file makes Helm's Go
    /// code index out of range, which the template reports as an error.
    pub fn lines(&self, name: &str) -> Result<Vec<String>, String> {
        let Some(data) = self.0.get(name) else {
            return Ok(Vec::new());
        };
        let text = String::from_utf8_lossy(data);
        let text = match text.as_bytes().last() {
            None => return Err("runtime error: index out of range [-1]".to_string()),
            Some(b'\n') => &text[..text.len() - 1],
            Some(_) => &text[..],
        };
        Ok(text.split('\n').map(str::to_string).collect())
    }

    /// `AsConfig`: `toYaml` of `{basename: content}`.
    pub fn as_config(&self) -> String {
        self.by_base_name(|data| String::from_utf8_lossy(data).into_owned())
    }

    /// `AsSecrets`: `toYaml` of `{basename: base64(content)}`.
    pub fn as_secrets(&self) -> String {
        self.by_base_name(|data| base64::engine::general_purpose::STANDARD.encode(data))
    }

    /// Helm's `toYAML` of the map: the trailing newline dropped, `""` on
    /// error. Of two files with one base name the later path wins (Go's
    /// map order decides in Helm).
    fn by_base_name(&self, content: impl Fn(&[u8]) -> String) -> String {
        let map: serde_json::Map<String, Value> = self
            .0
            .iter()
            .map(|(name, data)| (base_name(name).to_string(), Value::String(content(data))))
            .collect();
        match super::to_yaml(&Value::Object(map)) {
            Ok(s) => s.strip_suffix('\n').map(str::to_string).unwrap_or(s),
            Err(_) => String::new(),
        }
    }
}

/// Go's `path.Base` of a chart file path (never empty, no trailing `/`).
fn base_name(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return if path.is_empty() { "." } else { "/" };
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

/// A compiled gobwas/glob pattern with `/` as the only separator: `*`
/// and `?` stay within a segment, `**` crosses them, `[abc]`, `[!abc]`,
/// `[a-z]`, `[!a-z]` match any one character (a `/` too), `{a,b}` picks
/// an alternative, `\` escapes. Matched through a regular expression, so
/// no pattern takes more than linear time.
#[derive(Debug, Clone)]
pub struct Glob(regex::Regex);

/// Why a pattern does not compile (Helm then matches everything).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid glob {pattern:?}: {reason}")]
pub struct GlobError {
    pub pattern: String,
    pub reason: String,
}

impl Glob {
    pub fn compile(pattern: &str) -> Result<Glob, GlobError> {
        let fail = |reason: &str| GlobError {
            pattern: pattern.to_string(),
            reason: reason.to_string(),
        };
        let mut re = String::from("(?s)^");
        let chars: Vec<char> = pattern.chars().collect();
        let mut i = 0;
        let mut depth = 0usize;
        while i < chars.len() {
            let c = chars[i];
            match c {
                '*' if chars.get(i + 1) == Some(&'*') => {
                    re.push_str(".*");
                    i += 2;
                    continue;
                }
                '*' => re.push_str("[^/]*"),
                '?' => re.push_str("[^/]"),
                '{' => {
                    depth += 1;
                    re.push_str("(?:");
                }
                '}' if depth > 0 => {
                    depth -= 1;
                    re.push(')');
                }
                ',' if depth > 0 => re.push('|'),
                '[' => {
                    let (class, next) = range(&chars, i + 1).map_err(|r| fail(&r))?;
                    re.push_str(&class);
                    i = next;
                    continue;
                }
                _ => {
                    // A text run: `\` escapes the next character (a
                    // trailing `\` is dropped).
                    let breakers: &[char] = if depth > 0 {
                        &['?', '*', '[', '{', '}', ',']
                    } else {
                        &['?', '*', '[', '{']
                    };
                    let mut text = String::new();
                    let mut escaped = false;
                    while i < chars.len() {
                        let t = chars[i];
                        if !escaped {
                            if t == '\\' {
                                escaped = true;
                                i += 1;
                                continue;
                            }
                            if breakers.contains(&t) {
                                break;
                            }
                        }
                        escaped = false;
                        text.push(t);
                        i += 1;
                    }
                    re.push_str(&regex::escape(&text));
                    continue;
                }
            }
            i += 1;
        }
        // gobwas closes what the pattern left open.
        for _ in 0..depth {
            re.push(')');
        }
        re.push('$');
        regex::Regex::new(&re)
            .map(Glob)
            .map_err(|e| fail(&e.to_string()))
    }

    /// `**`.
    pub fn everything() -> Glob {
        Glob(regex::Regex::new("(?s)^.*$").expect("a valid regex"))
    }

    pub fn is_match(&self, name: &str) -> bool {
        self.0.is_match(name)
    }
}

/// A `[...]` class after its `[`: `[a-z]` or `[!a-z]` (exactly one range),
/// or a list of characters (`\` escapes); returns the regex class and the
/// index after the `]`.
fn range(chars: &[char], mut i: usize) -> Result<(String, usize), String> {
    let mut not = false;
    if chars.get(i) == Some(&'!') {
        not = true;
        i += 1;
    }
    let neg = if not { "^" } else { "" };
    let first = *chars.get(i).ok_or("unexpected end of input")?;
    if chars.get(i + 1) == Some(&'-') {
        let hi = *chars.get(i + 2).ok_or("unexpected end of input")?;
        if chars.get(i + 3) != Some(&']') {
            return Err(if i + 3 >= chars.len() {
                "unexpected end of input".to_string()
            } else {
                "expected close range character".to_string()
            });
        }
        if hi < first {
            return Err(format!(
                "hi character '{hi}' should be greater than lo '{first}'"
            ));
        }
        return Ok((
            format!("[{neg}{}-{}]", class_char(first), class_char(hi)),
            i + 4,
        ));
    }
    let mut list = String::new();
    let mut escaped = false;
    while i < chars.len() {
        let t = chars[i];
        if !escaped {
            if t == '\\' {
                escaped = true;
                i += 1;
                continue;
            }
            if t == ']' {
                break;
            }
        }
        escaped = false;
        list.push_str(&class_char(t));
        i += 1;
    }
    if i >= chars.len() {
        return Err("unexpected end of input".to_string());
    }
    if list.is_empty() {
        return Err("could not parse range".to_string());
    }
    Ok((format!("[{neg}{list}]"), i + 1))
}

/// A character inside a regex class, escaped when it means something
/// there.
fn class_char(c: char) -> String {
    if matches!(c, '\\' | ']' | '[' | '^' | '-' | '&' | '~') {
        format!("\\{c}")
    } else {
        c.to_string()
    }
}

/// `.Files` as templates see it: Helm's `engine.files`, a
/// `map[string][]byte` with methods.
#[derive(Debug, Clone)]
pub struct FilesObject(pub Files);

/// The value of `.Files` for one chart's files.
pub fn files_value(files: &[File]) -> ferroflux_template::Value {
    ferroflux_template::Value::Object(Rc::new(FilesObject(Files::new(files))))
}

impl ferroflux_template::Object for FilesObject {
    fn type_name(&self) -> String {
        "engine.files".to_string()
    }

    fn kind(&self) -> &'static str {
        "map"
    }

    fn method(&self, name: &str) -> Option<ferroflux_template::Signature> {
        use ferroflux_template::{Param, Signature};
        match name {
            "Get" | "GetBytes" | "Glob" | "Lines" => Some(Signature::new(&[Param::Str])),
            "AsConfig" | "AsSecrets" => Some(Signature::new(&[])),
            _ => None,
        }
    }

    fn call(
        &self,
        name: &str,
        args: &[ferroflux_template::Value],
    ) -> Result<ferroflux_template::Value, String> {
        use ferroflux_template::Value as V;
        let arg = || args.first().and_then(V::as_str).unwrap_or_default();
        Ok(match name {
            "Get" => V::str(self.0.get(arg())),
            "GetBytes" => V::bytes(self.0.get_bytes(arg()).to_vec()),
            "Glob" => V::Object(Rc::new(FilesObject(self.0.glob(arg())))),
            "Lines" => V::list(
                "[]string",
                self.0.lines(arg())?.into_iter().map(V::str).collect(),
            ),
            "AsConfig" => V::str(self.0.as_config()),
            "AsSecrets" => V::str(self.0.as_secrets()),
            other => return Err(format!("engine.files has no method {other}")),
        })
    }

    fn underlying(&self) -> Option<ferroflux_template::Value> {
        use ferroflux_template::Value as V;
        Some(V::map(
            "map[string][]uint8",
            V::bytes(Vec::new()),
            self.0
                .0
                .iter()
                .map(|(k, v)| (V::str(k.as_str()), V::Bytes(v.clone())))
                .collect(),
        ))
    }
}
