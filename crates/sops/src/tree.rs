//! The document model sops works on: an ordered list of items per document
//! (branch), comments kept as items, values typed as sops types them.

/// A comment line without its `#`; `inline` when it stood after a value on
/// the same line.
#[derive(Clone, PartialEq)]
pub struct Comment {
    pub text: String,
    pub inline: bool,
}

/// A map key: a string, or a comment standing between two keys.
#[derive(Clone, PartialEq)]
pub enum Key {
    Str(String),
    Comment(Comment),
}

#[derive(Clone, PartialEq)]
pub struct Item {
    pub key: Key,
    pub value: Value,
}

/// A value as sops types it (`sops.go`'s `interface{}` cases). `Time` keeps
/// the RFC 3339 text of a `type:time` value.
#[derive(Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Time(String),
    Map(Vec<Item>),
    Seq(Vec<Value>),
    /// A comment inside a sequence.
    Comment(Comment),
}

/// One document (YAML) or the whole file (the other formats).
pub type Branch = Vec<Item>;

// Values are secrets once decrypted: Debug never prints one.
impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Map(items) => f.debug_list().entries(items).finish(),
            Value::Seq(items) => f.debug_list().entries(items).finish(),
            Value::Null => f.write_str("null"),
            _ => f.write_str("<redacted>"),
        }
    }
}

impl std::fmt::Debug for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.key {
            Key::Str(k) => write!(f, "{k:?}: {:?}", self.value),
            Key::Comment(_) => f.write_str("#<redacted>"),
        }
    }
}

impl std::fmt::Debug for Comment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("#<redacted>")
    }
}

impl Item {
    pub fn new(key: impl Into<String>, value: Value) -> Item {
        Item {
            key: Key::Str(key.into()),
            value,
        }
    }

    pub fn comment(text: impl Into<String>, inline: bool) -> Item {
        Item {
            key: Key::Comment(Comment {
                text: text.into(),
                inline,
            }),
            value: Value::Null,
        }
    }

    pub fn key_str(&self) -> Option<&str> {
        match &self.key {
            Key::Str(k) => Some(k),
            Key::Comment(_) => None,
        }
    }
}

/// The value of top-level key `key` in a branch.
pub fn get<'a>(branch: &'a [Item], key: &str) -> Option<&'a Value> {
    branch
        .iter()
        .find(|i| i.key_str() == Some(key))
        .map(|i| &i.value)
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)`: shortest digits, never an
/// exponent.
pub fn format_float_f(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    // Rust's Display prints the shortest round-trip digits without an
    // exponent, as Go's 'f' with precision -1 does.
    format!("{f}")
}

/// sops' `ToBytes`: the plaintext bytes a value is encrypted from and fed
/// to the MAC as.
pub fn to_bytes(value: &Value) -> Option<Vec<u8>> {
    Some(match value {
        Value::Str(s) | Value::Time(s) => s.as_bytes().to_vec(),
        Value::Int(i) => i.to_string().into_bytes(),
        Value::Float(f) => format_float_f(*f).into_bytes(),
        Value::Bool(true) => b"True".to_vec(),
        Value::Bool(false) => b"False".to_vec(),
        Value::Comment(c) => c.text.as_bytes().to_vec(),
        Value::Null | Value::Map(_) | Value::Seq(_) => return None,
    })
}

/// Go's `strconv.FormatFloat(f, 'G', -1, 64)` with sops' `ValToString`
/// rule: an integral result gets `.0`.
pub fn val_to_string(value: &Value) -> String {
    match value {
        Value::Float(f) => {
            let g = format_float_g(*f);
            if !g.contains('.') && !g.contains('E') && f.is_finite() {
                format!("{f:.1}")
            } else {
                g
            }
        }
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Str(s) | Value::Time(s) => s.clone(),
        Value::Null => "<nil>".into(),
        Value::Comment(c) => c.text.clone(),
        Value::Map(_) | Value::Seq(_) => String::new(),
    }
}

/// Go's `'G'` format with the shortest precision: `%E` style when the
/// exponent is < -4 or >= the number of digits.
pub fn format_float_g(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let e = format!("{f:e}"); // shortest digits: d.ddde±x
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    // Go decides with precision 6 when the precision is the shortest.
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}E{sign}{:02}", exp.abs())
    } else {
        format_float_f(f)
    }
}
