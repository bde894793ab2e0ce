//! The resource tree kustomize works on, with Go's types.
//!
//! kustomize keeps yaml.v3 nodes and prints them through a JSON round trip
//! (`RNode.MarshalJSON` decodes with yaml.v3 into `interface{}`, then
//! sigs.k8s.io/yaml re-reads the JSON with yaml.v2). What reaches the output
//! is therefore what yaml.v3 resolved a plain scalar to: `0777` is the int
//! 511, `1_000` is 1000, `2001-12-14` is a `time.Time`, `yes` stays a string.
//! This module resolves scalars the same way when a file is read.

use ferroflux_api::yaml::{self, Node};

/// One value of a resource.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    /// An integer above `i64::MAX` (yaml.v3 gives a `uint64`).
    Uint(u64),
    Float(f64),
    Str(String),
    /// A plain scalar yaml.v3 reads as a timestamp; printed as Go prints a
    /// `time.Time` (RFC 3339 with nanoseconds), the source text kept here.
    Timestamp(String),
    /// A plain number or boolean spelled otherwise than its value prints
    /// (`1.10`, `0x1F`, `1_000`, `True`): kustomize prints the value but
    /// hands the text to whatever reads the scalar (annotations keep
    /// `"1.10"`). [`Value::resolved`] gives the value.
    Spelled(String),
    Seq(Vec<Value>),
    Map(Map),
}

/// A mapping in insertion order (the output sorts keys; order matters only
/// for the few places kustomize itself walks a map in document order).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Map(pub Vec<(String, Value)>);

impl Map {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.0.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Set `key`, keeping its place when present, appending otherwise.
    pub fn insert(&mut self, key: &str, value: Value) {
        match self.get_mut(key) {
            Some(slot) => *slot = value,
            None => self.0.push((key.to_string(), value)),
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(i).1)
    }

    /// The map at `key`, created empty when missing or null.
    pub fn map_entry(&mut self, key: &str) -> Option<&mut Map> {
        if !matches!(self.get(key), Some(Value::Map(_))) {
            if matches!(self.get(key), Some(v) if *v != Value::Null) {
                return None;
            }
            self.insert(key, Value::Map(Map::default()));
        }
        match self.get_mut(key) {
            Some(Value::Map(m)) => Some(m),
            _ => None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_map_mut(&mut self) -> Option<&mut Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_map()?.get(key)
    }

    /// A [`Value::Spelled`] as its value; any other value as it is.
    pub fn resolved(&self) -> Value {
        match self {
            Value::Spelled(text) => resolve_plain(text),
            other => other.clone(),
        }
    }

    /// The text of a scalar as kyaml's `YNode().Value` holds it (what a
    /// name or label comparison sees).
    pub fn scalar_text(&self) -> Option<String> {
        match self {
            Value::Str(s) | Value::Timestamp(s) | Value::Spelled(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Uint(u) => Some(u.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Null => Some(String::new()),
            Value::Seq(_) | Value::Map(_) => None,
        }
    }
}

/// A node of the raw tree (`ferroflux_api::yaml::parse_stream_raw`) as yaml.v3 resolves it.
pub fn from_node(node: &Node) -> Value {
    match &node.value {
        yaml::Value::Str { text, quoted: true } => Value::Str(text.clone()),
        yaml::Value::Str {
            text,
            quoted: false,
        } => match resolve_plain(text) {
            Value::Int(i) if i.to_string() != *text => Value::Spelled(text.clone()),
            Value::Bool(b) if b.to_string() != *text => Value::Spelled(text.clone()),
            Value::Uint(u) if u.to_string() != *text => Value::Spelled(text.clone()),
            Value::Float(f) if f.is_finite() && f.to_string() != *text => {
                Value::Spelled(text.clone())
            }
            other => other,
        },
        yaml::Value::Seq(items) => Value::Seq(items.iter().map(from_node).collect()),
        yaml::Value::Map(entries) => Value::Map(Map(entries
            .iter()
            .map(|e| (e.key.clone(), from_node(&e.value)))
            .collect())),
        // The raw parser yields only strings; keep the resolved forms total.
        yaml::Value::Null => Value::Null,
        yaml::Value::Bool(b) => Value::Bool(*b),
        yaml::Value::Int(i) => Value::Int(*i),
        yaml::Value::Float(f) => Value::Float(*f),
    }
}

/// yaml.v3's resolution of a plain scalar (`resolve("", text)`).
pub fn resolve_plain(text: &str) -> Value {
    match text {
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        _ => {}
    }
    let Some(first) = text.bytes().next() else {
        return Value::Null;
    };
    match first {
        b'.' => match text.parse::<f64>() {
            Ok(f) if go_float_syntax(text) => Value::Float(f),
            _ => Value::Str(text.to_string()),
        },
        b'0'..=b'9' | b'+' | b'-' => resolve_number(text),
        _ => Value::Str(text.to_string()),
    }
}

fn resolve_number(text: &str) -> Value {
    if parse_timestamp(text).is_some() {
        return Value::Timestamp(text.to_string());
    }
    let plain = text.replace('_', "");
    if let Some(v) = go_parse_int(&plain) {
        return v;
    }
    if is_yaml_float(&plain)
        && let Ok(f) = plain.parse::<f64>()
    {
        return Value::Float(f);
    }
    for (prefix, radix, neg) in [
        ("0b", 2, false),
        ("-0b", 2, true),
        ("0o", 8, false),
        ("-0o", 8, true),
    ] {
        if let Some(digits) = plain.strip_prefix(prefix) {
            if neg {
                if let Ok(i) = i64::from_str_radix(&format!("-{digits}"), radix) {
                    return Value::Int(i);
                }
            } else if let Ok(u) = u64::from_str_radix(digits, radix)
                && !digits.starts_with(['+', '-'])
            {
                return int_or_uint(u);
            }
            break;
        }
    }
    Value::Str(text.to_string())
}

fn int_or_uint(u: u64) -> Value {
    i64::try_from(u).map_or(Value::Uint(u), Value::Int)
}

/// Go's `strconv.ParseInt(s, 0, 64)` then `ParseUint(s, 0, 64)`: a sign,
/// then `0x`, `0o`, `0b`, a leading `0` (octal) or decimal digits.
/// The radix and digits of an unsigned integer as Go's `strconv` reads it
/// with base 0 (`0x`, `0o`, `0b`, a leading `0` for octal), when every
/// digit belongs to that radix.
pub(crate) fn go_int_digits(body: &str) -> Option<(u32, &str)> {
    let (radix, digits) = if let Some(d) = body.strip_prefix("0x").or(body.strip_prefix("0X")) {
        (16, d)
    } else if let Some(d) = body.strip_prefix("0o").or(body.strip_prefix("0O")) {
        (8, d)
    } else if let Some(d) = body.strip_prefix("0b").or(body.strip_prefix("0B")) {
        (2, d)
    } else if body.len() > 1 && body.starts_with('0') {
        (8, &body[1..])
    } else {
        (10, body)
    };
    (!digits.is_empty() && digits.chars().all(|c| c.is_digit(radix))).then_some((radix, digits))
}

fn go_parse_int(s: &str) -> Option<Value> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = go_int_digits(body)?;
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if neg {
        if magnitude <= i64::MAX as u64 + 1 {
            return Some(Value::Int((magnitude as i128).wrapping_neg() as i64));
        }
        return None;
    }
    Some(int_or_uint(magnitude))
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
pub(crate) fn is_yaml_float(text: &str) -> bool {
    let s = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", f)) => !f.is_empty() && digits(f),
        Some((i, f)) => digits(i) && digits(f),
        None => !mantissa.is_empty() && digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

/// What Go's `strconv.ParseFloat` accepts for a text starting with `.`
/// (digits with an optional exponent; no `inf`/`nan` spelling can start so).
fn go_float_syntax(text: &str) -> bool {
    is_yaml_float(&text.replace('_', "")) && !text.contains('_')
}

/// A timestamp yaml.v3 recognises: `2006-1-2`, `2006-1-2T15:4:5.999999999Z07:00`
/// (also with `t`), or `2006-1-2 15:4:5.999999999`; `Some` is Go's
/// `time.Time.Format(time.RFC3339Nano)` of it.
pub fn parse_timestamp(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return None;
    }
    let mut p = Cursor { s: b, i: 5 };
    let year: u32 = s[..4].parse().ok()?;
    let month = p.number(1, 2)?;
    p.expect(b'-')?;
    let day = p.number(1, 2)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in(year, month) {
        return None;
    }
    let date = format!("{year:04}-{month:02}-{day:02}");
    if p.done() {
        return Some(format!("{date}T00:00:00Z"));
    }
    let sep = p.next()?;
    let with_zone = match sep {
        b'T' | b't' => true,
        b' ' => false,
        _ => return None,
    };
    let hour = p.number(1, 2)?;
    p.expect(b':')?;
    let minute = p.number(1, 2)?;
    p.expect(b':')?;
    let second = p.number(1, 2)?;
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut frac = String::new();
    if p.peek() == Some(b'.') || p.peek() == Some(b',') {
        p.i += 1;
        let start = p.i;
        while p.peek().is_some_and(|c| c.is_ascii_digit()) {
            p.i += 1;
        }
        if p.i == start {
            return None;
        }
        frac = s[start..p.i].chars().take(9).collect();
    }
    let zone = if with_zone {
        match p.next()? {
            b'Z' => "Z".to_string(),
            sign @ (b'+' | b'-') => {
                let h = p.fixed(2)?;
                p.expect(b':')?;
                let m = p.fixed(2)?;
                if h > 23 || m > 59 {
                    return None;
                }
                if h == 0 && m == 0 {
                    "Z".to_string()
                } else {
                    format!("{}{h:02}:{m:02}", sign as char)
                }
            }
            _ => return None,
        }
    } else {
        "Z".to_string()
    };
    if !p.done() {
        return None;
    }
    let frac = frac.trim_end_matches('0');
    let frac = if frac.is_empty() {
        String::new()
    } else {
        format!(".{frac}")
    };
    Some(format!(
        "{date}T{hour:02}:{minute:02}:{second:02}{frac}{zone}"
    ))
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }
    fn done(&self) -> bool {
        self.i == self.s.len()
    }
    fn expect(&mut self, c: u8) -> Option<()> {
        (self.next()? == c).then_some(())
    }
    fn number(&mut self, min: usize, max: usize) -> Option<u32> {
        let start = self.i;
        while self.i - start < max && self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        if self.i - start < min {
            return None;
        }
        std::str::from_utf8(&self.s[start..self.i])
            .ok()?
            .parse()
            .ok()
    }
    fn fixed(&mut self, n: usize) -> Option<u32> {
        self.number(n, n)
    }
}

fn days_in(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests;
