//! `toJson`: Go's `encoding/json.Marshal` of the value: map keys sorted
//! bytewise, HTML-safe string escapes, float64 in Go's spelling.

use serde_json::Value;

/// `json.Marshal(v)`. `Err` is Go's message for what JSON cannot hold
/// (NaN and the infinities, which serde_json cannot hold either).
pub fn to_json(value: &Value) -> Result<String, String> {
    let mut out = String::new();
    write(value, &mut out)?;
    Ok(out)
}

fn write(value: &Value, out: &mut String) -> Result<(), String> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.push_str(&i.to_string());
            } else if let Some(u) = n.as_u64() {
                out.push_str(&u.to_string());
            } else {
                out.push_str(&go_json_float(n.as_f64().unwrap_or(0.0))?);
            }
        }
        Value::String(s) => ferroflux_api::gojson::quote_into(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                ferroflux_api::gojson::quote_into(key, out);
                out.push(':');
                write(&map[key.as_str()], out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

/// `encoding/json`'s float64: `%f`-like below 1e21 and above 1e-6, else
/// the shortest `%e` with a two-digit exponent trimmed of a leading zero.
pub fn go_json_float(f: f64) -> Result<String, String> {
    if !f.is_finite() {
        let name = if f.is_nan() {
            "NaN"
        } else if f > 0.0 {
            "+Inf"
        } else {
            "-Inf"
        };
        return Err(format!("json: unsupported value: {name}"));
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = format!("{f:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let exp = if exp.starts_with('-') {
            exp.to_string()
        } else {
            format!("+{exp}")
        };
        return Ok(format!("{mantissa}e{exp}"));
    }
    if f == 0.0 && f.is_sign_negative() {
        return Ok("-0".to_string());
    }
    Ok(format!("{f}"))
}

/// `json.Unmarshal` of `text` into an `interface{}`, with Go's syntax
/// error texts (`invalid character 'x' looking for beginning of value`,
/// `unexpected end of JSON input`).
pub fn parse(text: &str) -> Result<Value, String> {
    check_valid(text)?;
    serde_json::from_str(text).map_err(|e| format!("json: {e}"))
}

/// Go's `checkValid`: the scanner's first error, in its words.
fn check_valid(text: &str) -> Result<(), String> {
    let mut s = Scanner {
        chars: text.chars().collect(),
        i: 0,
        depth: 0,
    };
    s.ws();
    s.value("looking for beginning of value")?;
    s.ws();
    if let Some(c) = s.peek() {
        return Err(invalid(c, "after top-level value"));
    }
    Ok(())
}

struct Scanner {
    chars: Vec<char>,
    i: usize,
    depth: usize,
}

/// Go's scanner refuses nesting past 10000 levels; this one recurses, so
/// it stops at 1000 with Go's words (serde_json, which builds the value,
/// stops at 128 anyway).
const MAX_NESTING: usize = 1000;

const EOF: &str = "unexpected end of JSON input";

fn invalid(c: char, context: &str) -> String {
    format!("invalid character {} {context}", quote_char(c))
}

/// Go's `quoteChar`.
fn quote_char(c: char) -> String {
    match c {
        '\'' => "'\\''".to_string(),
        '"' => "'\"'".to_string(),
        c => {
            let q = go_quote_rune(c);
            format!("'{q}'")
        }
    }
}

/// `strconv.Quote(string(c))` without its double quotes.
pub(crate) fn go_quote_rune(c: char) -> String {
    match c {
        '\u{7}' => "\\a".into(),
        '\u{8}' => "\\b".into(),
        '\u{c}' => "\\f".into(),
        '\n' => "\\n".into(),
        '\r' => "\\r".into(),
        '\t' => "\\t".into(),
        '\u{b}' => "\\v".into(),
        '\\' => "\\\\".into(),
        c if (c as u32) < 0x20 || c == '\u{7f}' => format!("\\x{:02x}", c as u32),
        c if c.is_control() || c == '\u{feff}' => {
            if (c as u32) <= 0xffff {
                format!("\\u{:04x}", c as u32)
            } else {
                format!("\\U{:08x}", c as u32)
            }
        }
        c => c.to_string(),
    }
}

impl Scanner {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    fn next(&mut self) -> Result<char, String> {
        let c = self.peek().ok_or(EOF)?;
        self.i += 1;
        Ok(c)
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\n' | '\r')) {
            self.i += 1;
        }
    }

    fn value(&mut self, context: &str) -> Result<(), String> {
        let c = self.next()?;
        if matches!(c, '{' | '[') {
            if self.depth >= MAX_NESTING {
                return Err(invalid(c, "exceeded max depth"));
            }
            self.depth += 1;
            let r = if c == '{' {
                self.object()
            } else {
                self.array()
            };
            self.depth -= 1;
            return r;
        }
        match c {
            '"' => self.string(),
            '-' | '0'..='9' => self.number(c),
            't' => self.literal("true"),
            'f' => self.literal("false"),
            'n' => self.literal("null"),
            c => Err(invalid(c, context)),
        }
    }

    fn literal(&mut self, word: &str) -> Result<(), String> {
        for expected in word.chars().skip(1) {
            let c = self.next()?;
            if c != expected {
                return Err(invalid(
                    c,
                    &format!("in literal {word} (expecting '{expected}')"),
                ));
            }
        }
        Ok(())
    }

    fn object(&mut self) -> Result<(), String> {
        self.ws();
        if self.peek() == Some('}') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.ws();
            let c = self.next()?;
            if c != '"' {
                return Err(invalid(c, "looking for beginning of object key string"));
            }
            self.string()?;
            self.ws();
            let c = self.next()?;
            if c != ':' {
                return Err(invalid(c, "after object key"));
            }
            self.ws();
            self.value("looking for beginning of value")?;
            self.ws();
            match self.next()? {
                ',' => continue,
                '}' => return Ok(()),
                c => return Err(invalid(c, "after object key:value pair")),
            }
        }
    }

    fn array(&mut self) -> Result<(), String> {
        self.ws();
        if self.peek() == Some(']') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.ws();
            self.value("looking for beginning of value")?;
            self.ws();
            match self.next()? {
                ',' => continue,
                ']' => return Ok(()),
                c => return Err(invalid(c, "after array element")),
            }
        }
    }

    fn string(&mut self) -> Result<(), String> {
        loop {
            match self.next()? {
                '"' => return Ok(()),
                '\\' => match self.next()? {
                    '"' | '\\' | '/' | 'b' | 'f' | 'n' | 'r' | 't' => {}
                    'u' => {
                        for _ in 0..4 {
                            let c = self.next()?;
                            if !c.is_ascii_hexdigit() {
                                return Err(invalid(c, "in \\u hexadecimal character escape"));
                            }
                        }
                    }
                    c => return Err(invalid(c, "in string escape code")),
                },
                c if (c as u32) < 0x20 => return Err(invalid(c, "in string literal")),
                _ => {}
            }
        }
    }

    fn number(&mut self, first: char) -> Result<(), String> {
        let mut c = first;
        if c == '-' {
            c = self.next()?;
            if !c.is_ascii_digit() {
                return Err(invalid(c, "in numeric literal"));
            }
        }
        if c != '0' {
            self.digits();
        }
        if self.peek() == Some('.') {
            self.i += 1;
            let c = self.next()?;
            if !c.is_ascii_digit() {
                return Err(invalid(c, "after decimal point in numeric literal"));
            }
            self.digits();
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            self.i += 1;
            let mut c = self.next()?;
            if c == '+' || c == '-' {
                c = self.next()?;
            }
            if !c.is_ascii_digit() {
                return Err(invalid(c, "in exponent of numeric literal"));
            }
            self.digits();
        }
        Ok(())
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
    }
}
