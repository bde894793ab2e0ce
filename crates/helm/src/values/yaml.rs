//! YAML as `sigs.k8s.io/yaml` `Unmarshal` reads it into `interface{}`:
//! go.yaml.in/yaml/v2 (YAML 1.1 plain-scalar resolution, `resolve.go`),
//! converted to JSON (non-string keys stringified), decoded by
//! `encoding/json` (every number a float64).

use ferroflux_api::yaml::{Node, Value as Yaml};
use serde_json::{Map, Value};

/// Why YAML could not be read as values. `message` is worded as Helm (Go)
/// words it; `line` and `col` (1-based, in the text given) say where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.display())]
pub struct YamlError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl YamlError {
    fn display(&self) -> String {
        if self.message.contains(&format!("line {}:", self.line))
            || self.message.starts_with(&format!("{CONVERT}: yaml: "))
        {
            self.message.clone()
        } else {
            format!("{} (line {})", self.message, self.line)
        }
    }

    /// The same error, its line moved down by `lines` (a document that
    /// starts further into a file), Go's wording kept.
    pub(crate) fn shifted(mut self, lines: usize) -> YamlError {
        self.line += lines;
        self
    }
}

const CONVERT: &str = "error converting YAML to JSON";

/// A plain scalar resolved as yaml.v2's `resolve` does.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar {
    Null,
    Bool(bool),
    /// `int`/`int64` in Go.
    Int(i64),
    /// `uint64` in Go: above `i64::MAX`.
    Uint(u64),
    Float(f64),
    Str,
}

/// yaml.v2's `resolve("", text)` for a plain scalar (timestamps are left
/// as strings by yaml.v2 when decoding into `interface{}`, and no timestamp
/// text parses as a number, so they fall through to `Str`).
pub(crate) fn resolve_plain(text: &str) -> Scalar {
    match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Scalar::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Scalar::Bool(false);
        }
        "" | "~" | "null" | "Null" | "NULL" => return Scalar::Null,
        ".nan" | ".NaN" | ".NAN" => return Scalar::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Scalar::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Scalar::Float(f64::NEG_INFINITY),
        _ => {}
    }
    let first = text.as_bytes()[0];
    match first {
        b'.' => match go_parse_decimal_float(text) {
            Some(f) => Scalar::Float(f),
            None => Scalar::Str,
        },
        b'0'..=b'9' | b'+' | b'-' => {
            let plain = text.replace('_', "");
            if let Some(v) = go_parse_int_base0(&plain) {
                return v;
            }
            if let Some(f) = go_parse_decimal_float(&plain) {
                return Scalar::Float(f);
            }
            // `0b…`/`-0b…` beyond 64 bits fail the same way in both of
            // yaml.v2's fallbacks, so nothing else remains.
            Scalar::Str
        }
        _ => Scalar::Str,
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)`, then `ParseUint(s, 0, 64)`.
fn go_parse_int_base0(s: &str) -> Option<Scalar> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = if body.len() > 1 && body.starts_with('0') {
        match body.as_bytes()[1] {
            b'x' | b'X' => (16, &body[2..]),
            b'o' | b'O' => (8, &body[2..]),
            b'b' | b'B' => (2, &body[2..]),
            _ => (8, &body[1..]),
        }
    } else {
        (10, body)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if neg {
        if magnitude <= i64::MAX as u64 + 1 {
            // -2^63 included.
            return Some(Scalar::Int((magnitude as i64).wrapping_neg()));
        }
        return None;
    }
    if magnitude <= i64::MAX as u64 {
        Some(Scalar::Int(magnitude as i64))
    } else if s.starts_with('+') {
        // ParseUint refuses a sign.
        None
    } else {
        Some(Scalar::Uint(magnitude))
    }
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_style_float(text: &str) -> bool {
    let s = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((i, f)) => digits(i) && digits(f) && if i.is_empty() { !f.is_empty() } else { true },
        None => !mantissa.is_empty() && digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

/// Go's `strconv.ParseFloat(s, 64)` for decimal text (what reaches it
/// here): overflow to infinity is an error, underflow is not.
fn go_parse_decimal_float(text: &str) -> Option<f64> {
    if !is_yaml_style_float(text) {
        return None;
    }
    let f: f64 = text.parse().ok()?;
    f.is_finite().then_some(f)
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 32)`: how sigs.k8s.io/yaml names
/// a float key.
pub(crate) fn go_float32_g(f: f64) -> String {
    #[allow(clippy::cast_possible_truncation)]
    let f32v = f as f32;
    if f32v.is_nan() {
        return ".nan".to_string();
    }
    if f32v.is_infinite() {
        return if f32v > 0.0 { ".inf" } else { "-.inf" }.to_string();
    }
    go_g_shortest(&format!("{f32v:e}"))
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 32)` for a value (sigs.k8s.io/yaml
/// turning a float into a string field: `1.10` → `1.1`).
pub(crate) fn go_float32_g_plain(f: f64) -> String {
    #[allow(clippy::cast_possible_truncation)]
    let f32v = f as f32;
    if f32v.is_nan() {
        return "NaN".to_string();
    }
    if f32v.is_infinite() {
        return if f32v > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    go_g_shortest(&format!("{f32v:e}"))
}

/// Go's `%g` with shortest digits, from Rust's `{:e}` (`-1.5e-7`).
pub(crate) fn go_g_shortest(sci: &str) -> String {
    let (neg, sci) = match sci.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, sci),
    };
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if neg { "-" } else { "" };
    if digits.bytes().all(|b| b == b'0') {
        return format!("{sign}0");
    }
    // Go: with shortest digits, %g switches to %e when the exponent is
    // below -4 or at least 6, whatever the digit count.
    if !(-4..6).contains(&exp) {
        return sci_form(sign, &digits, exp);
    }
    // %f with the needed digits.
    let dp = exp + 1;
    let mut out = String::from(sign);
    if dp <= 0 {
        out.push_str("0.");
        for _ in 0..-dp {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let dp = usize::try_from(dp).unwrap_or(0);
        if digits.len() <= dp {
            out.push_str(&digits);
            for _ in digits.len()..dp {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..dp]);
            out.push('.');
            out.push_str(&digits[dp..]);
        }
    }
    out
}

fn sci_form(sign: &str, digits: &str, exp: i32) -> String {
    let mut out = String::from(sign);
    out.push_str(&digits[..1]);
    if digits.len() > 1 {
        out.push('.');
        out.push_str(&digits[1..]);
    }
    let (es, ea) = if exp < 0 { ('-', -exp) } else { ('+', exp) };
    out.push('e');
    out.push(es);
    if ea < 10 {
        out.push('0');
    }
    out.push_str(&ea.to_string());
    out
}

/// How Go's `%+#v` shows a value in sigs.k8s.io/yaml's key error.
fn go_sharp_v(node: &Node) -> String {
    match &node.value {
        Yaml::Str { text, quoted } => {
            if *quoted {
                return ferroflux_api::gojson::quote(text);
            }
            match resolve_plain(text) {
                Scalar::Null => "<nil>".to_string(),
                Scalar::Bool(b) => b.to_string(),
                Scalar::Int(i) => i.to_string(),
                Scalar::Uint(u) => format!("0x{u:x}"),
                Scalar::Float(f) => go_g_shortest(&format!("{f:e}")),
                Scalar::Str => ferroflux_api::gojson::quote(text),
            }
        }
        Yaml::Seq(_) => "[]interface {}{...}".to_string(),
        Yaml::Map(_) => "map[interface {}]interface {}{...}".to_string(),
        Yaml::Null => "<nil>".to_string(),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Int(i) => i.to_string(),
        Yaml::Float(f) => f.to_string(),
    }
}

/// One document's node as `interface{}` after the JSON round trip.
pub(crate) fn to_json(node: &Node) -> Result<Value, YamlError> {
    let fail = |n: &Node, message: String| YamlError {
        line: n.line,
        col: n.col,
        message,
    };
    match &node.value {
        Yaml::Str { text, quoted: true } => Ok(Value::String(text.clone())),
        Yaml::Str {
            text,
            quoted: false,
        } => match resolve_plain(text) {
            Scalar::Null => Ok(Value::Null),
            Scalar::Bool(b) => Ok(Value::Bool(b)),
            #[allow(clippy::cast_precision_loss)]
            Scalar::Int(i) => Ok(Value::from(i as f64)),
            #[allow(clippy::cast_precision_loss)]
            Scalar::Uint(u) => Ok(Value::from(u as f64)),
            Scalar::Float(f) if f.is_finite() => Ok(Value::from(f)),
            Scalar::Float(f) => {
                let shown = if f.is_nan() {
                    "NaN"
                } else if f > 0.0 {
                    "+Inf"
                } else {
                    "-Inf"
                };
                Err(fail(
                    node,
                    format!("{CONVERT}: json: unsupported value: {shown}"),
                ))
            }
            Scalar::Str => Ok(Value::String(text.clone())),
        },
        Yaml::Seq(items) => items.iter().map(to_json).collect(),
        Yaml::Map(entries) => {
            let mut map = Map::new();
            for e in entries {
                let key = json_key(e)?;
                let value = to_json(&e.value)?;
                map.insert(key, value);
            }
            Ok(Value::Object(map))
        }
        // Not produced by the raw parser; kept total.
        Yaml::Null => Ok(Value::Null),
        Yaml::Bool(b) => Ok(Value::Bool(*b)),
        #[allow(clippy::cast_precision_loss)]
        Yaml::Int(i) => Ok(Value::from(*i as f64)),
        Yaml::Float(f) => Ok(Value::from(*f)),
    }
}

/// A map key as the JSON round trip writes it (a plain key resolved and
/// printed back), or the conversion's error.
pub(crate) fn json_key(e: &ferroflux_api::yaml::Entry) -> Result<String, YamlError> {
    let unsupported = |what: String| YamlError {
        line: e.key_line,
        col: 1,
        message: format!(
            "{CONVERT}: unsupported map key of type: {what}, value: {}",
            go_sharp_v(&e.value)
        ),
    };
    if e.key_quoted {
        return Ok(e.key.clone());
    }
    Ok(match resolve_plain(&e.key) {
        Scalar::Str => e.key.clone(),
        Scalar::Bool(b) => b.to_string(),
        Scalar::Int(i) => i.to_string(),
        Scalar::Float(f) => go_float32_g(f),
        Scalar::Null => return Err(unsupported("%!s(<nil>), key: <nil>".into())),
        Scalar::Uint(u) => return Err(unsupported(format!("uint64, key: 0x{u:x}"))),
    })
}

/// [`to_json`]'s checks without its value: the same first error, if any,
/// for a subtree whose value is not needed.
pub(crate) fn check_json(node: &Node) -> Result<(), YamlError> {
    match &node.value {
        Yaml::Str {
            text,
            quoted: false,
        } => match resolve_plain(text) {
            Scalar::Float(f) if !f.is_finite() => to_json(node).map(drop),
            _ => Ok(()),
        },
        Yaml::Seq(items) => items.iter().try_for_each(check_json),
        Yaml::Map(entries) => entries.iter().try_for_each(|e| {
            json_key(e)?;
            check_json(&e.value)
        }),
        _ => Ok(()),
    }
}

/// yaml.v2's syntax error, worded as sigs.k8s.io/yaml passes it on.
pub(crate) fn syntax(e: &ferroflux_api::yaml::YamlError) -> YamlError {
    let (problem, parser) = libyaml_problem(&e.message);
    // yaml.v2 prints a parser error at its problem mark's 0-based line (one
    // less than the line at fault) and a scanner error at the 1-based one;
    // a parser error on the first line has no line at all.
    let line = if parser {
        e.line.saturating_sub(1)
    } else {
        e.line
    };
    let message = if line == 0 {
        format!("{CONVERT}: yaml: {problem}")
    } else {
        format!("{CONVERT}: yaml: line {line}: {problem}")
    };
    YamlError {
        line: e.line,
        col: e.col,
        message,
    }
}

/// saphyr's wording of a syntax error in libyaml's (what yaml.v2 prints),
/// and whether libyaml raises it in its parser (not its scanner).
fn libyaml_problem(saphyr: &str) -> (String, bool) {
    let problem = match saphyr.split_once(", ") {
        Some((context, rest)) if context.starts_with("while ") => rest,
        _ => saphyr,
    };
    let parser = [
        "\"-\" is only valid inside a block",
        "did not find expected '-' indicator",
        "did not find expected key",
        "did not find expected ',' or '}'",
        "expected ',' or ']'",
        "did not find expected node content",
        "did not find expected <document start>",
        "did not find expected <document-start>",
    ];
    let is_parser = parser.contains(&problem);
    let problem = match problem {
        "simple key expect ':'" => "could not find expected ':'".to_string(),
        "\"-\" is only valid inside a block" => "did not find expected node content".to_string(),
        "expected ',' or ']'" => "did not find expected ',' or ']'".to_string(),
        "did not find expected <document-start>" => {
            "did not find expected <document start>".to_string()
        }
        p if p.starts_with("unexpected character: ") => {
            "found character that cannot start any token".to_string()
        }
        p => p.to_string(),
    };
    (problem, is_parser)
}
