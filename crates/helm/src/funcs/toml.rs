//! `toToml` and `fromToml`: github.com/BurntSushi/toml v1.6.0's encoder
//! (keys of a table in byte order, plain values before sub-tables, two
//! spaces of indent per nesting level, a blank line before each top-level
//! table) and its decoder's Go types.

use serde_json::{Map, Value};

/// `toml.NewEncoder(w).Encode(v)`. `Err` is the library's message, which
/// Helm's `toToml` prints in place of the document.
pub fn to_toml(value: &Value) -> Result<String, String> {
    let mut e = Encoder {
        out: String::new(),
        written: false,
    };
    e.encode(&[], value)?;
    Ok(e.out)
}

const ERR_NIL_ELEMENT: &str = "toml: cannot encode array with nil element";
const ERR_NO_KEY: &str = "toml: top-level values must be Go maps or structs";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Nil,
    Table,
    TableArray,
    Other,
}

/// `tomlTypeOfGo`, reduced to what decides the layout; an array holding a
/// nil fails wherever its type is asked for, as in Go.
fn kind(value: &Value) -> Result<Kind, String> {
    Ok(match value {
        Value::Null => Kind::Nil,
        Value::Object(_) => Kind::Table,
        Value::Array(items) if items.is_empty() => Kind::Other,
        Value::Array(items) => {
            let mut all_tables = true;
            for item in items {
                match kind(item)? {
                    Kind::Nil => return Err(ERR_NIL_ELEMENT.to_string()),
                    Kind::Table => {}
                    _ => all_tables = false,
                }
            }
            if all_tables {
                Kind::TableArray
            } else {
                Kind::Other
            }
        }
        _ => Kind::Other,
    })
}

struct Encoder {
    out: String,
    written: bool,
}

impl Encoder {
    fn write(&mut self, s: &str) {
        self.out.push_str(s);
        self.written = true;
    }

    fn newline(&mut self) {
        if self.written {
            self.write("\n");
        }
    }

    fn encode(&mut self, key: &[&str], value: &Value) -> Result<(), String> {
        match value {
            Value::Null => Ok(()),
            Value::Object(map) => self.table(key, map),
            Value::Array(items) if kind(value)? == Kind::TableArray => self.table_array(key, items),
            _ => self.key_value(key, value, false),
        }
    }

    fn table(&mut self, key: &[&str], map: &Map<String, Value>) -> Result<(), String> {
        if key.len() == 1 {
            self.newline();
        }
        if !key.is_empty() {
            let header = format!("{}[{}]", indent(key), key_path(key));
            self.write(&header);
            self.newline();
        }
        self.map(key, map, false)
    }

    fn table_array(&mut self, key: &[&str], items: &[Value]) -> Result<(), String> {
        if key.is_empty() {
            return Err(ERR_NO_KEY.to_string());
        }
        for item in items {
            let Value::Object(map) = item else { continue };
            self.newline();
            let header = format!("{}[[{}]]", indent(key), key_path(key));
            self.write(&header);
            self.newline();
            self.map(key, map, false)?;
        }
        Ok(())
    }

    fn map(&mut self, key: &[&str], map: &Map<String, Value>, inline: bool) -> Result<(), String> {
        let mut direct: Vec<&String> = Vec::new();
        let mut sub: Vec<&String> = Vec::new();
        for (k, v) in map {
            match kind(v)? {
                Kind::Table | Kind::TableArray => sub.push(k),
                _ => direct.push(k),
            }
        }
        direct.sort();
        sub.sort();
        if inline {
            self.write("{");
        }
        let trailing_comma = !sub.is_empty();
        for (keys, trail) in [(direct, trailing_comma), (sub, false)] {
            let n = keys.len();
            for (i, k) in keys.into_iter().enumerate() {
                let v = &map[k.as_str()];
                if v.is_null() {
                    continue;
                }
                if inline {
                    self.key_value(&[k], v, true)?;
                    if trail || i != n - 1 {
                        self.write(", ");
                    }
                } else {
                    let mut path = key.to_vec();
                    path.push(k);
                    self.encode(&path, v)?;
                }
            }
        }
        if inline {
            self.write("}");
        }
        Ok(())
    }

    fn key_value(&mut self, key: &[&str], value: &Value, inline: bool) -> Result<(), String> {
        if let Some(last) = key.last() {
            let lead = format!("{}{} = ", indent(key), bare_or_quoted(last));
            self.write(&lead);
        }
        self.element(value)?;
        if !inline && !key.is_empty() {
            self.newline();
        }
        Ok(())
    }

    fn element(&mut self, value: &Value) -> Result<(), String> {
        match value {
            // A nil reaches here only inside an array, refused above.
            Value::Null => return Err(ERR_NIL_ELEMENT.to_string()),
            Value::Bool(b) => self.write(if *b { "true" } else { "false" }),
            Value::Number(n) => {
                let text = if let Some(i) = n.as_i64() {
                    i.to_string()
                } else if let Some(u) = n.as_u64() {
                    u.to_string()
                } else {
                    float(n.as_f64().unwrap_or(0.0))
                };
                self.write(&text);
            }
            Value::String(s) => self.write(&quote(s)),
            Value::Array(items) => {
                self.write("[");
                for (i, item) in items.iter().enumerate() {
                    self.element(item)?;
                    if i != items.len() - 1 {
                        self.write(", ");
                    }
                }
                self.write("]");
            }
            Value::Object(map) => self.map(&[], map, true)?,
        }
        Ok(())
    }
}

fn indent(key: &[&str]) -> String {
    "  ".repeat(key.len().saturating_sub(1))
}

fn key_path(key: &[&str]) -> String {
    key.iter()
        .map(|k| bare_or_quoted(k))
        .collect::<Vec<_>>()
        .join(".")
}

fn bare_or_quoted(k: &str) -> String {
    if k.is_empty() {
        return "\"\"".to_string();
    }
    if k.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return k.to_string();
    }
    quote(k)
}

/// A TOML basic string as the encoder's replacer writes it.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A float64: `%g` with `.0` added when it has neither a point nor an
/// exponent; `nan`, `inf`, `-inf`.
fn float(f: f64) -> String {
    if f.is_nan() {
        return if f.is_sign_negative() { "-nan" } else { "nan" }.to_string();
    }
    let s = super::go_format_float(f, "inf", "nan");
    if f.is_infinite() || s.contains(['e', '.']) {
        s
    } else {
        format!("{s}.0")
    }
}

/// `toml.Unmarshal` into `map[string]interface{}`: integers are int64,
/// floats float64, datetimes as the RFC 3339 text Go's `time.Time`
/// marshals to JSON (local dates and times in UTC, as BurntSushi places
/// them). `Err` is the parser's
/// message (Helm's `fromToml` puts it under the `Error` key).
pub fn from_toml(text: &str) -> Result<Value, String> {
    let parsed: ::toml::Value = text
        .parse()
        .map_err(|e: ::toml::de::Error| format!("toml: {e}"))?;
    Ok(json_of(parsed))
}

fn json_of(value: ::toml::Value) -> Value {
    use ::toml::Value as T;
    match value {
        T::String(s) => Value::String(s),
        T::Integer(i) => Value::from(i),
        // JSON holds no NaN or infinity: they become null.
        T::Float(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        T::Boolean(b) => Value::Bool(b),
        T::Datetime(d) => Value::String(go_time_json(&d)),
        T::Array(items) => Value::Array(items.into_iter().map(json_of).collect()),
        T::Table(table) => Value::Object(table.into_iter().map(|(k, v)| (k, json_of(v))).collect()),
    }
}

/// `time.Time.Format(time.RFC3339Nano)` of a decoded TOML datetime: a local
/// date is midnight, a local time is on 0000-01-01, a missing or zero
/// offset is `Z`, trailing zeros of the fraction are dropped.
fn go_time_json(d: &::toml::value::Datetime) -> String {
    let (year, month, day) = d
        .date
        .as_ref()
        .map_or((0, 1, 1), |t| (t.year, t.month, t.day));
    let (hour, minute, second, nanos) = d
        .time
        .as_ref()
        .map_or((0, 0, 0, 0), |t| (t.hour, t.minute, t.second, t.nanosecond));
    let mut out = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}");
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    match &d.offset {
        Some(::toml::value::Offset::Custom { hours, minutes }) if *hours != 0 || *minutes != 0 => {
            let sign = if *hours < 0 { '-' } else { '+' };
            out.push_str(&format!("{sign}{:02}:{minutes:02}", hours.unsigned_abs()));
        }
        _ => out.push('Z'),
    }
    out
}
