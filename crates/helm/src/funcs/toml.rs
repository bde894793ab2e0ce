//! `toToml` and `fromToml`: github.com/BurntSushi/toml v1.6.0's encoder
//! (keys of a table in byte order, plain values before sub-tables, two
//! spaces of indent per nesting level, a blank line before each top-level
//! table) and its decoder's Go types.

use serde_json::{Map, Value};

/// `toml.NewEncoder(w).Encode(v)`. `Err` is the library's message, which
/// Helm's `toToml` prints in place of the document.
pub fn to_toml(value: &Value) -> Result<String, String> {
    super::check_depth(value)?;
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
    if !s
        .bytes()
        .any(|b| b < 0x20 || b == 0x7f || b == b'"' || b == b'\\')
    {
        return format!("\"{s}\"");
    }
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
    let parsed: ::toml::Table = text
        .parse()
        .map_err(|e: ::toml::de::Error| format!("toml: {}", e.message()))?;
    Ok(json_of(::toml::Value::Table(parsed)))
}

/// `fromToml`'s template value: as [`from_toml`], with the infinities and
/// NaN kept as float64s (JSON cannot hold them; `toJson` of them fails,
/// as in Go).
pub fn from_toml_go(text: &str) -> Result<ferroflux_template::Value, String> {
    let parsed: ::toml::Table = text
        .parse()
        .map_err(|e: ::toml::de::Error| format!("toml: {}", e.message()))?;
    Ok(go_of(::toml::Value::Table(parsed)))
}

fn go_of(value: ::toml::Value) -> ferroflux_template::Value {
    use ::toml::Value as T;
    use ferroflux_template::Value as G;
    match value {
        T::String(s) => G::str(s),
        T::Integer(i) => G::Int64(i),
        T::Float(f) => G::Float(f),
        T::Boolean(b) => G::Bool(b),
        T::Datetime(d) => G::Object(std::rc::Rc::new(TomlTime {
            rfc3339: go_time_json(&d),
            printed: go_time_string(&d),
        })),
        T::Array(items) => G::iface_list(items.into_iter().map(go_of).collect()),
        T::Table(table) => G::dict(table.into_iter().map(|(k, v)| (k, go_of(v))).collect()),
    }
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

/// A decoded TOML datetime's date and time as Go prints them, `sep`
/// between: a local date is midnight, a local time is on 0000-01-01, the
/// fraction's trailing zeros dropped.
fn date_time(d: &::toml::value::Datetime, sep: char) -> String {
    let (year, month, day) = d
        .date
        .as_ref()
        .map_or((0, 1, 1), |t| (t.year, t.month, t.day));
    let (hour, minute, second, nanos) = d.time.as_ref().map_or((0, 0, 0, 0), |t| {
        (
            t.hour,
            t.minute,
            t.second.unwrap_or(0),
            t.nanosecond.unwrap_or(0),
        )
    });
    let mut out = format!("{year:04}-{month:02}-{day:02}{sep}{hour:02}:{minute:02}:{second:02}");
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out
}

/// `time.Time.Format(time.RFC3339Nano)` of a decoded TOML datetime: a local
/// date is midnight, a local time is on 0000-01-01, a missing or zero
/// offset is `Z`, trailing zeros of the fraction are dropped.
fn go_time_json(d: &::toml::value::Datetime) -> String {
    let mut out = date_time(d, 'T');
    match &d.offset {
        Some(::toml::value::Offset::Custom { minutes }) if *minutes != 0 => {
            let sign = if *minutes < 0 { '-' } else { '+' };
            let m = minutes.unsigned_abs();
            out.push_str(&format!("{sign}{:02}:{:02}", m / 60, m % 60));
        }
        _ => out.push('Z'),
    }
    out
}

/// A decoded TOML datetime as templates see it: a Go `time.Time` (BurntSushi
/// places local dates and times in zones named `datetime-local`,
/// `date-local` and `time-local`). It prints as `time.Time.String()` and
/// marshals to RFC 3339 JSON; `toYamlPretty` and `toToml` see that JSON
/// text, a quoted string where Go writes a timestamp.
#[derive(Debug)]
struct TomlTime {
    rfc3339: String,
    printed: String,
}

impl ferroflux_template::Object for TomlTime {
    fn type_name(&self) -> String {
        "time.Time".to_string()
    }

    fn kind(&self) -> &'static str {
        "struct"
    }

    fn string(&self) -> Option<String> {
        Some(self.printed.clone())
    }

    fn to_json(&self) -> Option<Result<String, String>> {
        Some(Ok(ferroflux_api::gojson::quote(&self.rfc3339)))
    }
}

/// `time.Time.String()`: `2006-01-02 15:04:05.999999999 -0700 MST`.
fn go_time_string(d: &::toml::value::Datetime) -> String {
    let mut out = date_time(d, ' ');
    let zone = match (&d.offset, &d.date, &d.time) {
        (Some(::toml::value::Offset::Custom { minutes }), _, _) if *minutes != 0 => {
            let sign = if *minutes < 0 { '-' } else { '+' };
            let m = minutes.unsigned_abs();
            let offset = format!("{sign}{:02}{:02}", m / 60, m % 60);
            format!("{offset} {offset}")
        }
        (Some(_), _, _) => "+0000 UTC".to_string(),
        (None, Some(_), Some(_)) => "+0000 datetime-local".to_string(),
        (None, Some(_), None) => "+0000 date-local".to_string(),
        (None, None, _) => "+0000 time-local".to_string(),
    };
    out.push(' ');
    out.push_str(&zone);
    out
}
