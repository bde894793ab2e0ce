//! `--set`, `--set-string`, `--set-file`, `--set-json` and `--set-literal`
//! as Helm's `pkg/strvals` parses them (helm-semantics.md §3.3), quirks
//! included: a backslash makes the next rune literal, `a={}` is `[""]`,
//! `a[0]` alone makes an empty list, `a.` alone does nothing, and the
//! error texts are Helm's.
//!
//! Numbers keep Go's types: `--set` integers are `i64` (`Value::is_i64`),
//! JSON numbers `f64`, so a later printer can tell `1` from `1.0`.

use serde_json::{Map, Value};

/// Most list index Helm accepts (`strvals.MaxIndex`).
pub const MAX_INDEX: i64 = 65536;
/// Deepest dotted name Helm accepts (`strvals.MaxNestedNameLevel`).
pub const MAX_NESTED_NAME_LEVEL: usize = 30;
/// Deepest `a[0][0]…` accepted (Helm has no bound; ours keeps the stack).
pub const MAX_LIST_NESTING: usize = 256;

/// A `--set`-family string Helm refuses; the text is Helm's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StrvalsError {
    pub message: String,
}

/// Reads the file a `--set-file` value names; the error is shown as is.
pub type FileReader<'a> = dyn FnMut(&str) -> Result<String, String> + 'a;

/// `strvals.ParseInto`: `--set` (typed scalars) merged into `dest`.
pub fn parse_into(s: &str, dest: &mut Map<String, Value>) -> Result<(), StrvalsError> {
    Parser::new(s, Mode::Typed { strings: false }).run(dest)
}

/// `strvals.ParseIntoString`: `--set-string` (every scalar a string).
pub fn parse_into_string(s: &str, dest: &mut Map<String, Value>) -> Result<(), StrvalsError> {
    Parser::new(s, Mode::Typed { strings: true }).run(dest)
}

/// `strvals.ParseIntoFile`: `--set-file`, each value a path given to
/// `read`, whose text becomes the (string) value.
pub fn parse_into_file(
    s: &str,
    dest: &mut Map<String, Value>,
    read: &mut FileReader<'_>,
) -> Result<(), StrvalsError> {
    Parser::new(s, Mode::File(read)).run(dest)
}

/// `strvals.ParseJSON`: `key=<JSON>` pairs (`key=` alone is null).
pub fn parse_json(s: &str, dest: &mut Map<String, Value>) -> Result<(), StrvalsError> {
    Parser::new(s, Mode::Json).run(dest)
}

/// `strvals.ParseLiteralInto`: `--set-literal`, the value the rest of the
/// string verbatim, no escapes, no `,` splitting.
pub fn parse_literal_into(s: &str, dest: &mut Map<String, Value>) -> Result<(), StrvalsError> {
    Parser::new(s, Mode::Literal).run(dest)
}

/// `strvals.Parse`: a fresh map from one `--set` string.
pub fn parse(s: &str) -> Result<Map<String, Value>, StrvalsError> {
    let mut m = Map::new();
    parse_into(s, &mut m)?;
    Ok(m)
}

enum Mode<'r, 'a> {
    Typed { strings: bool },
    File(&'r mut FileReader<'a>),
    Json,
    Literal,
}

/// An error inside the parser; `eof` marks Go errors for which
/// `errors.Is(err, io.EOF)` holds (the parser then stops without error).
#[derive(Debug)]
struct PErr {
    message: String,
    eof: bool,
}

impl PErr {
    fn eof() -> PErr {
        PErr {
            message: "EOF".to_string(),
            eof: true,
        }
    }
    fn msg(message: String) -> PErr {
        PErr {
            message,
            eof: false,
        }
    }
    /// `fmt.Errorf("…: %w", e)`: the EOF-ness survives.
    fn wrap(self, prefix: &str) -> PErr {
        PErr {
            message: format!("{prefix}{}", self.message),
            eof: self.eof,
        }
    }
    /// A Go runtime panic recovered by `key`.
    fn conversion(got: &Value, want: &str) -> PErr {
        PErr::msg(format!(
            "unable to parse key: interface conversion: interface {{}} is {}, not {want}",
            go_type(got)
        ))
    }
}

const MAP_TYPE: &str = "map[string]interface {}";
const LIST_TYPE: &str = "[]interface {}";

fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "nil",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int64",
        Value::String(_) => "string",
        Value::Array(_) => LIST_TYPE,
        Value::Object(_) => MAP_TYPE,
    }
}

/// Go's `%q` of a string (`strconv.Quote`).
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\x7f' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => {
                let n = c as u32;
                if n <= 0xFFFF {
                    out.push_str(&format!("\\u{n:04x}"));
                } else {
                    out.push_str(&format!("\\U{n:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `%q` of a `[]rune`: `['a' 'b']`, each rune as `strconv.QuoteRune`.
fn go_quote_runes(s: &str) -> String {
    let runes: Vec<String> = s
        .chars()
        .map(|c| {
            let q = go_quote(&c.to_string());
            let inner = &q[1..q.len() - 1];
            match c {
                '"' => "'\"'".to_string(),
                '\'' => "'\\''".to_string(),
                _ => format!("'{inner}'"),
            }
        })
        .collect();
    format!("[{}]", runes.join(" "))
}

struct Parser<'r, 'a> {
    chars: Vec<char>,
    pos: usize,
    mode: Mode<'r, 'a>,
    list_depth: usize,
}

impl<'r, 'a> Parser<'r, 'a> {
    fn new(s: &str, mode: Mode<'r, 'a>) -> Self {
        Parser {
            chars: s.chars().collect(),
            pos: 0,
            mode,
            list_depth: 0,
        }
    }

    fn literal(&self) -> bool {
        matches!(self.mode, Mode::Literal)
    }

    fn run(mut self, data: &mut Map<String, Value>) -> Result<(), StrvalsError> {
        loop {
            match self.key(data, 0) {
                Ok(()) => {}
                Err(e) if e.eof => return Ok(()),
                Err(e) => return Err(StrvalsError { message: e.message }),
            }
        }
    }

    fn read(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn unread(&mut self) {
        self.pos = self.pos.saturating_sub(1);
    }

    /// `runesUntil` (`runesUntilLiteral` without escapes): the runes before
    /// a stop rune and that rune, or EOF with what was read.
    fn until(&mut self, stop: &[char]) -> (String, Result<char, PErr>) {
        let mut v = String::new();
        let escapes = !self.literal();
        loop {
            let Some(c) = self.read() else {
                return (v, Err(PErr::eof()));
            };
            if stop.contains(&c) {
                return (v, Ok(c));
            }
            if escapes && c == '\\' {
                match self.read() {
                    Some(next) => v.push(next),
                    None => return (v, Err(PErr::eof())),
                }
                continue;
            }
            v.push(c);
        }
    }

    fn key(&mut self, data: &mut Map<String, Value>, level: usize) -> Result<(), PErr> {
        let stop: &[char] = if self.literal() {
            &['=', '[', '.']
        } else {
            &['=', '[', ',', '.']
        };
        let (k, last) = self.until(stop);
        let last = match last {
            Ok(c) => c,
            Err(e) => {
                if k.is_empty() {
                    return Err(e);
                }
                return Err(PErr::msg(format!("key {} has no value", go_quote(&k))));
            }
        };
        match last {
            '[' => {
                let i = self
                    .key_index()
                    .map_err(|e| e.wrap("error parsing index: "))?;
                let mut list = match data.remove(&k) {
                    None => Vec::new(),
                    Some(Value::Array(l)) => l,
                    Some(other) => return Err(PErr::conversion(&other, LIST_TYPE)),
                };
                let result = self.list_item(&mut list, i, level);
                set(data, &k, Value::Array(list));
                result
            }
            '=' => self.key_value(data, &k),
            ',' => {
                set(data, &k, Value::String(String::new()));
                Err(PErr::msg(format!(
                    "key {} has no value (cannot end with ,)",
                    go_quote(&k)
                )))
            }
            _ => {
                // '.'
                let level = level + 1;
                if level > MAX_NESTED_NAME_LEVEL {
                    return Err(PErr::msg(format!(
                        "value name nested level is greater than maximum supported nested \
                         level of {MAX_NESTED_NAME_LEVEL}"
                    )));
                }
                match data.get_mut(&k) {
                    Some(Value::Object(inner)) => {
                        let result = self.key(inner, level);
                        if result.is_ok() && inner.is_empty() {
                            return Err(PErr::msg(format!(
                                "key map {} has no value",
                                go_quote(&k)
                            )));
                        }
                        result
                    }
                    Some(other) => Err(PErr::conversion(other, MAP_TYPE)),
                    None => {
                        let mut inner = Map::new();
                        let result = self.key(&mut inner, level);
                        if result.is_ok() && inner.is_empty() {
                            return Err(PErr::msg(format!(
                                "key map {} has no value",
                                go_quote(&k)
                            )));
                        }
                        if !inner.is_empty() {
                            set(data, &k, Value::Object(inner));
                        }
                        result
                    }
                }
            }
        }
    }

    /// After `key=`: the value, in the parser's mode.
    fn key_value(&mut self, data: &mut Map<String, Value>, k: &str) -> Result<(), PErr> {
        match self.mode {
            Mode::Literal => {
                let (v, _) = self.until(&[]);
                set(data, k, Value::String(v));
                Ok(())
            }
            Mode::Json => {
                if self.empty_val() {
                    set(data, k, Value::Null);
                    return Ok(());
                }
                let v = self.json_value()?;
                set(data, k, v);
                self.empty_val();
                Ok(())
            }
            _ => match self.val_list() {
                Ok(list) => {
                    set(data, k, Value::Array(list));
                    Ok(())
                }
                Err(ListErr::Eof) => {
                    set(data, k, Value::String(String::new()));
                    Err(PErr::eof())
                }
                Err(ListErr::NotList) => {
                    let (rs, _) = self.until(&[',']);
                    let v = self.typed(&rs);
                    match v {
                        Ok(v) => {
                            set(data, k, v);
                            Ok(())
                        }
                        Err(e) => {
                            set(data, k, Value::Null);
                            Err(e)
                        }
                    }
                }
                Err(ListErr::Other(e)) => Err(e),
            },
        }
    }

    fn key_index(&mut self) -> Result<i64, PErr> {
        let (v, last) = self.until(&[']']);
        last?;
        go_atoi(&v).map_err(PErr::msg)
    }

    fn list_item(&mut self, list: &mut Vec<Value>, i: i64, level: usize) -> Result<(), PErr> {
        if i < 0 {
            return Err(PErr::msg(format!("negative {i} index not allowed")));
        }
        let (k, last) = self.until(&['[', '.', '=']);
        if !k.is_empty() {
            return Err(PErr::msg(format!(
                "unexpected data at end of array index: {}",
                go_quote_runes(&k)
            )));
        }
        let last = last?;
        let idx = usize::try_from(i).unwrap_or(usize::MAX);
        match last {
            '=' => match self.mode {
                Mode::Literal => {
                    let (v, _) = self.until(&[]);
                    set_index(list, i, Value::String(v))
                }
                Mode::Json => {
                    if self.empty_val() {
                        return set_index(list, i, Value::Null);
                    }
                    let v = self.json_value()?;
                    set_index(list, i, v)?;
                    self.empty_val();
                    Ok(())
                }
                _ => match self.val_list() {
                    Ok(vl) => set_index(list, i, Value::Array(vl)),
                    Err(ListErr::Eof) => set_index(list, i, Value::String(String::new())),
                    Err(ListErr::NotList) => {
                        let (rs, _) = self.until(&[',']);
                        let v = self.typed(&rs)?;
                        set_index(list, i, v)
                    }
                    Err(ListErr::Other(e)) => Err(e),
                },
            },
            '[' => {
                let next = self
                    .key_index()
                    .map_err(|e| e.wrap("error parsing index: "))?;
                // Helm has no bound here; a stranger's `a[0][0]…` must not
                // exhaust our stack.
                self.list_depth += 1;
                if self.list_depth > MAX_LIST_NESTING {
                    return Err(PErr::msg(format!(
                        "list index nested level is greater than maximum supported nested \
                         level of {MAX_LIST_NESTING}"
                    )));
                }
                let result = match list.get_mut(idx) {
                    Some(Value::Null) | None => {
                        let mut fresh = Vec::new();
                        self.list_item(&mut fresh, next, level)
                            .and_then(|()| set_index(list, i, Value::Array(fresh)))
                    }
                    Some(Value::Array(existing)) => self.list_item(existing, next, level),
                    Some(other) => Err(PErr::conversion(other, LIST_TYPE)),
                };
                self.list_depth -= 1;
                result
            }
            _ => {
                // '.'
                if let Some(slot) = list.get_mut(idx) {
                    if !slot.is_object() {
                        *slot = Value::Object(Map::new());
                    }
                    let Value::Object(inner) = slot else {
                        unreachable!("just made a map")
                    };
                    self.key(inner, level)
                } else {
                    let mut inner = Map::new();
                    self.key(&mut inner, level)?;
                    set_index(list, i, Value::Object(inner))
                }
            }
        }
    }

    /// `emptyVal`: skip spaces; true at a `,` (consumed) or the end.
    fn empty_val(&mut self) -> bool {
        loop {
            match self.read() {
                None | Some(',') => return true,
                Some(c) if c.is_whitespace() => {}
                Some(_) => {
                    self.unread();
                    return false;
                }
            }
        }
    }

    /// One JSON value as Go's `json.Decoder.Decode` reads it from the rest
    /// of the string, consumed up to its end.
    fn json_value(&mut self) -> Result<Value, PErr> {
        let rest: String = self.chars[self.pos..].iter().collect();
        let (value, used) = json_prefix(&rest).map_err(PErr::msg)?;
        self.pos += rest[..used].chars().count();
        Ok(value)
    }

    fn val_list(&mut self) -> Result<Vec<Value>, ListErr> {
        let Some(c) = self.read() else {
            return Err(ListErr::Eof);
        };
        if c != '{' {
            self.unread();
            return Err(ListErr::NotList);
        }
        let mut list = Vec::new();
        loop {
            let (rs, last) = self.until(&[',', '}']);
            match last {
                Err(_) => {
                    return Err(ListErr::Other(PErr::msg(
                        "list must terminate with '}'".to_string(),
                    )));
                }
                Ok('}') => {
                    if self.read().is_some_and(|c| c != ',') {
                        self.unread();
                    }
                    let v = self.typed(&rs).map_err(ListErr::Other)?;
                    list.push(v);
                    return Ok(list);
                }
                Ok(_) => {
                    let v = self.typed(&rs).map_err(ListErr::Other)?;
                    list.push(v);
                }
            }
        }
    }

    /// The parser's `reader`: `typedVal` or the file's text.
    fn typed(&mut self, rs: &str) -> Result<Value, PErr> {
        match &mut self.mode {
            Mode::Typed { strings } => Ok(typed_val(rs, *strings)),
            Mode::File(read) => read(rs).map(Value::String).map_err(PErr::msg),
            // Not reached: JSON and literal values never go through it.
            Mode::Json | Mode::Literal => Ok(Value::String(rs.to_string())),
        }
    }
}

enum ListErr {
    Eof,
    NotList,
    Other(PErr),
}

fn set(data: &mut Map<String, Value>, key: &str, val: Value) {
    if !key.is_empty() {
        data.insert(key.to_string(), val);
    }
}

fn set_index(list: &mut Vec<Value>, index: i64, val: Value) -> Result<(), PErr> {
    if index < 0 {
        return Err(PErr::msg(format!("negative {index} index not allowed")));
    }
    if index > MAX_INDEX {
        return Err(PErr::msg(format!(
            "index of {index} is greater than maximum supported index of {MAX_INDEX}"
        )));
    }
    let index = usize::try_from(index).unwrap_or(0);
    if list.len() <= index {
        list.resize(index + 1, Value::Null);
    }
    list[index] = val;
    Ok(())
}

/// `typedVal`: `true`/`false`/`null` in any case, `0`, and decimal
/// integers not starting with `0` are typed; everything else is a string.
pub(crate) fn typed_val(v: &str, strings: bool) -> Value {
    if strings {
        return Value::String(v.to_string());
    }
    if v.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if v.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if v.eq_ignore_ascii_case("null") {
        return Value::Null;
    }
    if v == "0" {
        return Value::from(0i64);
    }
    if let Some(i) = go_parse_int10(v).filter(|_| !v.starts_with('0')) {
        return Value::from(i);
    }
    Value::String(v.to_string())
}

/// `strconv.ParseInt(v, 10, 64)`.
fn go_parse_int10(v: &str) -> Option<i64> {
    let digits = v.strip_prefix(['+', '-']).unwrap_or(v);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v = v.strip_prefix('+').unwrap_or(v);
    v.parse().ok()
}

/// `strconv.Atoi` with its error texts.
fn go_atoi(v: &str) -> Result<i64, String> {
    let digits = v.strip_prefix(['+', '-']).unwrap_or(v);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "strconv.Atoi: parsing {}: invalid syntax",
            go_quote(v)
        ));
    }
    v.strip_prefix('+')
        .unwrap_or(v)
        .parse()
        .map_err(|_| format!("strconv.Atoi: parsing {}: value out of range", go_quote(v)))
}

/// The first JSON value of `s` (after whitespace) as `encoding/json`
/// decodes into `interface{}` (numbers `f64`), and the bytes it used.
pub(crate) fn json_prefix(s: &str) -> Result<(Value, usize), String> {
    let start = s.len() - s.trim_start_matches([' ', '\t', '\n', '\r']).len();
    let end = start + json_extent(&s[start..])?;
    let v: Value = serde_json::from_str(&s[start..end]).map_err(|e| e.to_string())?;
    Ok((floats(v), end))
}

/// Every JSON number as an `f64`, as Go decodes them into `interface{}`.
pub(crate) fn floats(v: Value) -> Value {
    match v {
        Value::Number(n) => n.as_f64().map_or(Value::Null, Value::from),
        Value::Array(items) => Value::Array(items.into_iter().map(floats).collect()),
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, floats(v))).collect()),
        other => other,
    }
}

/// Length of the JSON value at the start of `s` (no leading space), found
/// by bracket and string matching; the value itself is checked by serde.
fn json_extent(s: &str) -> Result<usize, String> {
    let bytes = s.as_bytes();
    let Some(&first) = bytes.first() else {
        return Err("unexpected EOF".to_string());
    };
    match first {
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut in_string = false;
            let mut escaped = false;
            for (i, &b) in bytes.iter().enumerate() {
                if in_string {
                    match (escaped, b) {
                        (true, _) => escaped = false,
                        (false, b'\\') => escaped = true,
                        (false, b'"') => in_string = false,
                        _ => {}
                    }
                    continue;
                }
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => {
                        depth += 1;
                        if depth > 10_000 {
                            return Err("exceeded max depth".to_string());
                        }
                    }
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Ok(i + 1);
                        }
                    }
                    _ => {}
                }
            }
            Err("unexpected EOF".to_string())
        }
        b'"' => {
            let mut escaped = false;
            for (i, &b) in bytes.iter().enumerate().skip(1) {
                match (escaped, b) {
                    (true, _) => escaped = false,
                    (false, b'\\') => escaped = true,
                    (false, b'"') => return Ok(i + 1),
                    _ => {}
                }
            }
            Err("unexpected EOF".to_string())
        }
        b't' | b'f' | b'n' => {
            for lit in ["true", "false", "null"] {
                if s.starts_with(lit) {
                    return Ok(lit.len());
                }
            }
            Err(format!(
                "invalid character {:?} looking for beginning of value",
                first as char
            ))
        }
        b'-' | b'0'..=b'9' => Ok(number_extent(bytes)),
        other => Err(format!(
            "invalid character {:?} looking for beginning of value",
            other as char
        )),
    }
}

/// Go's JSON number grammar, longest prefix: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn number_extent(b: &[u8]) -> usize {
    let digits = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let mut i = usize::from(b.first() == Some(&b'-'));
    if b.get(i) == Some(&b'0') {
        i += 1;
    } else {
        i = digits(i);
    }
    if b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i = digits(i + 1);
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if b.get(j).is_some_and(u8::is_ascii_digit) {
            i = digits(j);
        }
    }
    i
}
