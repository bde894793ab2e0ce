//! JSON documents (`stores/json/store.go`): object keys in file order,
//! numbers int64 when they fit (else float64), emitted through Go's
//! `json.Marshal` rules and `json.Indent` with a tab.

use crate::tree::{Branch, Item, Key, Value};

/// Deepest nesting read (Go's decoder allows 10,000; a sops file never
/// nests deeply, and the walks here are recursive).
const MAX_DEPTH: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    #[error("invalid JSON at byte {offset}: {message}")]
    Syntax {
        offset: usize,
        message: &'static str,
    },
    #[error(
        "SOPS only supports JSON files with a top-level object (starting with '{{'), not arrays or other types"
    )]
    NotAnObject,
    #[error("JSON nests deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("json: unsupported value: {0}")]
    Unsupported(&'static str),
}

pub fn load(source: &[u8]) -> Result<Branch, JsonError> {
    let mut p = Parser { s: source, i: 0 };
    p.ws();
    if p.peek() != Some(b'{') {
        return Err(JsonError::NotAnObject);
    }
    let v = p.value(0)?;
    p.ws();
    match v {
        Value::Map(items) => Ok(items),
        _ => Err(JsonError::NotAnObject),
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn err(&self, message: &'static str) -> JsonError {
        JsonError::Syntax {
            offset: self.i,
            message,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn expect(&mut self, c: u8, message: &'static str) -> Result<(), JsonError> {
        self.ws();
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.err(message))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, JsonError> {
        if depth > MAX_DEPTH {
            return Err(JsonError::TooDeep);
        }
        self.ws();
        match self.peek() {
            Some(b'{') => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.peek() == Some(b'}') {
                    self.i += 1;
                    return Ok(Value::Map(items));
                }
                loop {
                    self.ws();
                    if self.peek() != Some(b'"') {
                        return Err(self.err("expected an object key"));
                    }
                    let key = self.string()?;
                    self.expect(b':', "expected ':' after an object key")?;
                    let value = self.value(depth + 1)?;
                    items.push(Item::new(key, value));
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(Value::Map(items));
                        }
                        _ => return Err(self.err("expected ',' or '}'")),
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Ok(Value::Seq(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(Value::Seq(items));
                        }
                        _ => return Err(self.err("expected ',' or ']'")),
                    }
                }
            }
            Some(b'"') => Ok(Value::Str(self.string()?)),
            Some(b't') => self.word("true", Value::Bool(true)),
            Some(b'f') => self.word("false", Value::Bool(false)),
            Some(b'n') => self.word("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.err("unexpected character")),
        }
    }

    fn word(&mut self, w: &str, v: Value) -> Result<Value, JsonError> {
        if self.s[self.i..].starts_with(w.as_bytes()) {
            self.i += w.len();
            Ok(v)
        } else {
            Err(self.err("invalid literal"))
        }
    }

    fn number(&mut self) -> Result<Value, JsonError> {
        let start = self.i;
        while matches!(
            self.peek(),
            Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
        ) {
            self.i += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).map_err(|_| self.err("number"))?;
        if !valid_number(text) {
            return Err(self.err("invalid number"));
        }
        if let Ok(i) = text.parse::<i64>() {
            return Ok(Value::Int(i));
        }
        text.parse::<f64>()
            .map(Value::Float)
            .map_err(|_| self.err("invalid number"))
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.i += 1; // opening quote
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.err("unterminated string"));
            };
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(e) = self.peek() else {
                        return Err(self.err("unterminated string"));
                    };
                    self.i += 1;
                    match e {
                        b'"' => out.push(b'"'),
                        b'\\' => out.push(b'\\'),
                        b'/' => out.push(b'/'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let mut cp = self.hex4()?;
                            if (0xd800..0xdc00).contains(&cp)
                                && self.s[self.i..].starts_with(b"\\u")
                            {
                                let save = self.i;
                                self.i += 2;
                                let lo = self.hex4()?;
                                if (0xdc00..0xe000).contains(&lo) {
                                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                                } else {
                                    self.i = save;
                                }
                            }
                            let ch = char::from_u32(cp).unwrap_or('\u{fffd}');
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return Err(self.err("invalid escape")),
                    }
                }
                c if c < 0x20 => return Err(self.err("control character in string")),
                c => out.push(c),
            }
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let h = self
            .s
            .get(self.i..self.i + 4)
            .ok_or_else(|| self.err("short \\u escape"))?;
        let h = std::str::from_utf8(h).map_err(|_| self.err("bad \\u escape"))?;
        let v = u32::from_str_radix(h, 16).map_err(|_| self.err("bad \\u escape"))?;
        self.i += 4;
        Ok(v)
    }
}

fn valid_number(t: &str) -> bool {
    let b = t.strip_prefix('-').unwrap_or(t).as_bytes();
    let mut i = 0;
    match b.first() {
        Some(b'0') => i = 1,
        Some(b'1'..=b'9') => {
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        let s = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == s {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let s = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == s {
            return false;
        }
    }
    i == b.len()
}

/// sops' JSON store output: the first branch, tab-indented, final newline.
pub fn emit(branch: &[Item]) -> Result<String, JsonError> {
    let mut out = String::new();
    map(branch, 0, &mut out)?;
    out.push('\n');
    Ok(out)
}

fn indent(out: &mut String, n: usize) {
    out.push('\n');
    for _ in 0..n {
        out.push('\t');
    }
}

fn map(items: &[Item], depth: usize, out: &mut String) -> Result<(), JsonError> {
    let entries: Vec<(&str, &Value)> = items
        .iter()
        .filter_map(|i| match &i.key {
            Key::Str(k) => Some((k.as_str(), &i.value)),
            Key::Comment(_) => None,
        })
        .collect();
    if entries.is_empty() {
        out.push_str("{}");
        return Ok(());
    }
    out.push('{');
    for (n, (k, v)) in entries.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        indent(out, depth + 1);
        string(k, out);
        out.push_str(": ");
        value(v, depth + 1, out)?;
    }
    indent(out, depth);
    out.push('}');
    Ok(())
}

fn value(v: &Value, depth: usize, out: &mut String) -> Result<(), JsonError> {
    match v {
        Value::Map(items) => map(items, depth, out)?,
        Value::Seq(items) => {
            let items: Vec<&Value> = items
                .iter()
                .filter(|v| !matches!(v, Value::Comment(_)))
                .collect();
            if items.is_empty() {
                out.push_str("[]");
            } else {
                out.push('[');
                for (n, item) in items.iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    indent(out, depth + 1);
                    value(item, depth + 1, out)?;
                }
                indent(out, depth);
                out.push(']');
            }
        }
        Value::Null | Value::Comment(_) => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&go_json_float(*f)?),
        Value::Str(s) | Value::Time(s) => string(s, out),
    }
    Ok(())
}

/// Go's `encoding/json` float64: `'f'` between 1e-6 and 1e21, else `'e'`
/// with a short exponent (`1e-07` → `1e-7`).
pub fn go_json_float(f: f64) -> Result<String, JsonError> {
    if f.is_nan() || f.is_infinite() {
        return Err(JsonError::Unsupported("NaN or infinite float"));
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let e = format!("{f:e}");
        let (m, exp) = e.split_once('e').unwrap_or((&e, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let sign = if exp < 0 { '-' } else { '+' };
        // Go cleans `e-07` to `e-7` and keeps `e+21`.
        if exp < 0 {
            Ok(format!("{m}e-{}", exp.abs()))
        } else {
            Ok(format!("{m}e{sign}{:02}", exp.abs()))
        }
    } else {
        Ok(crate::tree::format_float_f(f))
    }
}

/// Go's `json.Marshal` of a string: HTML-safe escapes, `\b` and `\f`.
pub fn string(s: &str, out: &mut String) {
    ferroflux_api::gojson::quote_into(s, out);
}
