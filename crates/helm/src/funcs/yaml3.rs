//! `toYamlPretty`: go.yaml.in/yaml/v3's encoder with indent 2 on the Go
//! value itself (no JSON round trip). Unlike yaml.v2 (`toYaml`) it never
//! folds long lines, indents sequences under their key, quotes only the
//! YAML 1.1 booleans among the strings YAML 1.2 reads as strings, writes
//! float64 with `%g` (`1e+06`) and lets a tab into a literal block.

use serde_json::Value;

use super::go_format_float;

const INDENT: isize = 2;
/// yaml.v3 checks a simple key's length in bytes against this.
const MAX_SIMPLE_KEY: usize = 128;

/// yaml.v3 `Encoder` with `SetIndent(2)` (what Helm's `toYamlPretty` calls
/// before stripping one trailing newline). `Err` for a value deeper than
/// [`super::MAX_DEPTH`].
pub fn to_yaml_pretty(value: &Value) -> Result<String, String> {
    super::check_depth(value)?;
    let mut e = Emitter {
        out: String::new(),
        column: 0,
        indent: -1,
        whitespace: true,
        indention: true,
    };
    e.node(value, Parent::Root);
    e.write_indent();
    Ok(e.out)
}

/// The emitter state that decides how far the next level is indented:
/// yaml.v3 adds 2 right after a `- ` and otherwise rounds up to the next
/// multiple of the indent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Parent {
    Root,
    SeqItem,
    MapValue,
    SimpleKey,
    ComplexKey,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

struct Emitter {
    out: String,
    column: usize,
    indent: isize,
    whitespace: bool,
    indention: bool,
}

impl Emitter {
    fn node(&mut self, value: &Value, parent: Parent) {
        match value {
            Value::Null => self.scalar("null", Style::Plain, parent),
            Value::Bool(b) => self.scalar(if *b { "true" } else { "false" }, Style::Plain, parent),
            Value::Number(n) => {
                let text = if let Some(i) = n.as_i64() {
                    i.to_string()
                } else if let Some(u) = n.as_u64() {
                    u.to_string()
                } else {
                    go_format_float(n.as_f64().unwrap_or(0.0), ".inf", ".nan")
                };
                self.scalar(&text, Style::Plain, parent);
            }
            Value::String(s) => self.scalar(s, string_style(s), parent),
            Value::Array(items) if items.is_empty() => self.flow_empty("[]", parent),
            Value::Object(map) if map.is_empty() => self.flow_empty("{}", parent),
            Value::Array(items) => {
                let saved = self.increase_indent(false, parent);
                for item in items {
                    self.write_indent();
                    self.write_indicator("-", true, false, true);
                    self.node(item, Parent::SeqItem);
                }
                self.indent = saved;
            }
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort_by(|a, b| key_order(a, b));
                let saved = self.increase_indent(false, parent);
                for key in keys {
                    self.write_indent();
                    let simple = !key.contains(is_break) && key.len() <= MAX_SIMPLE_KEY;
                    if simple {
                        self.scalar(key, string_style(key), Parent::SimpleKey);
                        self.write_indicator(":", false, false, false);
                    } else {
                        self.write_indicator("?", true, false, true);
                        self.scalar(key, string_style(key), Parent::ComplexKey);
                        self.write_indent();
                        self.write_indicator(":", true, false, true);
                    }
                    self.node(&map[key.as_str()], Parent::MapValue);
                }
                self.indent = saved;
            }
        }
    }

    fn increase_indent(&mut self, flow: bool, parent: Parent) -> isize {
        let saved = self.indent;
        if self.indent < 0 {
            self.indent = if flow { INDENT } else { 0 };
        } else if parent == Parent::SeqItem {
            self.indent += 2;
        } else {
            self.indent = INDENT * ((self.indent + INDENT) / INDENT);
        }
        saved
    }

    fn flow_empty(&mut self, text: &str, parent: Parent) {
        self.write_indicator(&text[..1], true, true, false);
        let saved = self.increase_indent(true, parent);
        self.indent = saved;
        self.write_indicator(&text[1..], false, false, false);
    }

    fn scalar(&mut self, value: &str, requested: Style, parent: Parent) {
        let a = analyze(value);
        let simple_key = parent == Parent::SimpleKey;
        let mut style = requested;
        if simple_key && a.multiline {
            style = Style::Double;
        }
        if style == Style::Plain && (!a.plain_allowed || (value.is_empty() && simple_key)) {
            style = Style::Single;
        }
        if style == Style::Single && !a.single_allowed {
            style = Style::Double;
        }
        if style == Style::Literal && (!a.block_allowed || simple_key) {
            style = Style::Double;
        }
        let saved = self.increase_indent(true, parent);
        match style {
            Style::Plain => self.write_plain(value),
            Style::Single => self.write_single(value),
            Style::Double => self.write_double(value),
            Style::Literal => self.write_literal(value),
        }
        self.indent = saved;
    }

    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
        self.indention = true;
    }

    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
            self.indention = true;
        }
    }

    fn write_indent(&mut self) {
        let indent = self.indent.max(0) as usize;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
    }

    fn write_indicator(&mut self, text: &str, need_ws: bool, is_ws: bool, is_indention: bool) {
        if need_ws && !self.whitespace {
            self.put(' ');
        }
        for c in text.chars() {
            self.put(c);
        }
        self.whitespace = is_ws;
        self.indention = self.indention && is_indention;
    }

    fn write_plain(&mut self, value: &str) {
        if !value.is_empty() && !self.whitespace {
            self.put(' ');
        }
        // A plain scalar has no line breaks and nothing to escape.
        self.out.push_str(value);
        self.column += value.chars().count();
        self.indention = false;
        if !value.is_empty() {
            self.whitespace = false;
        }
    }

    fn write_single(&mut self, value: &str) {
        self.write_indicator("'", true, false, false);
        let mut breaks = false;
        for c in value.chars() {
            if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double(&mut self, value: &str) {
        self.write_indicator("\"", true, false, false);
        let bom = value.starts_with('\u{feff}');
        for c in value.chars() {
            if !is_printable(c) || bom || is_break(c) || c == '"' || c == '\\' {
                for e in double_escape(c).chars() {
                    self.put(e);
                }
            } else {
                self.put(c);
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_literal(&mut self, value: &str) {
        self.write_indicator("|", true, false, false);
        if value.starts_with(|c: char| c == ' ' || is_break(c)) {
            self.write_indicator("2", false, false, false);
        }
        if let Some(chomp) = chomp_hint(value) {
            self.write_indicator(chomp, false, false, false);
        }
        self.put_break();
        self.whitespace = true;
        let mut breaks = true;
        for c in value.chars() {
            if is_break(c) {
                self.write_break(c);
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
    }
}

/// The escape yaml's double-quoted writer uses for `c`.
pub(crate) fn double_escape(c: char) -> String {
    let short = match c {
        '\0' => "0",
        '\x07' => "a",
        '\x08' => "b",
        '\t' => "t",
        '\n' => "n",
        '\x0b' => "v",
        '\x0c' => "f",
        '\r' => "r",
        '\x1b' => "e",
        '"' => "\"",
        '\\' => "\\",
        '\u{85}' => "N",
        '\u{a0}' => "_",
        '\u{2028}' => "L",
        '\u{2029}' => "P",
        _ => "",
    };
    if !short.is_empty() {
        return format!("\\{short}");
    }
    let v = c as u32;
    if v <= 0xff {
        format!("\\x{v:02X}")
    } else if v <= 0xffff {
        format!("\\u{v:04X}")
    } else {
        format!("\\U{v:08X}")
    }
}

/// `|-` without a final line break, `|+` when it ends in two or is one.
fn chomp_hint(value: &str) -> Option<&'static str> {
    let mut rev = value.chars().rev();
    match (rev.next(), rev.next()) {
        (None, _) => Some("-"),
        (Some(last), _) if !is_break(last) => Some("-"),
        (Some(_), None) => Some("+"),
        (Some(_), Some(before)) if is_break(before) => Some("+"),
        _ => None,
    }
}

pub(crate) fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// libyaml's `is_printable`: no tab, no C0/C1 controls, no DEL, no
/// surrogates or BOM, nothing beyond the BMP.
pub(crate) fn is_printable(c: char) -> bool {
    let v = c as u32;
    v == 0x0a
        || (0x20..=0x7e).contains(&v)
        || (0xa0..=0xd7ff).contains(&v)
        || ((0xe000..=0xfffd).contains(&v) && v != 0xfeff)
}

/// The style `encoder.stringv` requests.
fn string_style(s: &str) -> Style {
    if s.contains('\n') {
        Style::Literal
    } else if resolves_to_str(s) && !ferroflux_api::yaml::is_base60_float(s) && !is_old_bool(s) {
        Style::Plain
    } else {
        Style::Double
    }
}

fn is_old_bool(s: &str) -> bool {
    matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "on"
            | "On"
            | "ON"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "off"
            | "Off"
            | "OFF"
    )
}

/// yaml.v3's `resolve("", s)` gives `!!str`.
fn resolves_to_str(s: &str) -> bool {
    match s {
        "" | "~" | "null" | "Null" | "NULL" | "true" | "True" | "TRUE" | "false" | "False"
        | "FALSE" | ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf"
        | "+.INF" | "-.inf" | "-.Inf" | "-.INF" => return false,
        _ => {}
    }
    match s.as_bytes()[0] {
        // Go's ParseFloat refuses what overflows to an infinity.
        b'.' => !s.parse::<f64>().is_ok_and(f64::is_finite) || !is_go_float_syntax(s),
        b'0'..=b'9' | b'+' | b'-' => {
            if super::is_timestamp(s) {
                return false;
            }
            let plain = s.replace('_', "");
            let float =
                is_yaml_style_float(&plain) && plain.parse::<f64>().is_ok_and(f64::is_finite);
            if go_parse_int_base0(&plain) || float {
                return false;
            }
            for (prefix, radix) in [("0b", 2), ("-0b", 2), ("0o", 8), ("-0o", 8)] {
                if let Some(d) = plain.strip_prefix(prefix)
                    && !d.is_empty()
                    && !d.starts_with(['+', '-'])
                    && u64::from_str_radix(d, radix).is_ok()
                {
                    return false;
                }
            }
            true
        }
        _ => true,
    }
}

/// Go's `strconv.ParseFloat` accepts `.5`-style text (what the `.` hint
/// tries); decimal syntax only here, which is all that starts with `.`.
fn is_go_float_syntax(s: &str) -> bool {
    let body = s.strip_prefix('.').unwrap_or(s);
    let (digits, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let digits_ok = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    let exp_ok = exp.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    digits_ok && exp_ok
}

/// `strconv.ParseInt(s, 0, 64)` or `ParseUint` succeeds (underscores
/// already removed).
fn go_parse_int_base0(s: &str) -> bool {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = if let Some(d) = body.strip_prefix("0x").or(body.strip_prefix("0X")) {
        (16, d)
    } else if let Some(d) = body.strip_prefix("0b").or(body.strip_prefix("0B")) {
        (2, d)
    } else if let Some(d) = body.strip_prefix("0o").or(body.strip_prefix("0O")) {
        (8, d)
    } else if body.len() > 1 && body.starts_with('0') {
        (8, &body[1..])
    } else {
        (10, body)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return false;
    }
    match u64::from_str_radix(digits, radix) {
        Ok(v) if neg => v <= 1 << 63,
        Ok(_) => true,
        Err(_) => false,
    }
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
pub(crate) fn is_yaml_style_float(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => digits(frac),
        Some((int, frac)) => digits(int) && (frac.is_empty() || digits(frac)),
        None => digits(mantissa),
    };
    mantissa_ok && exp.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e)))
}

struct Analysis {
    multiline: bool,
    plain_allowed: bool,
    single_allowed: bool,
    block_allowed: bool,
}

/// `yaml_emitter_analyze_scalar` of yaml.v3 (block context only): a tab
/// forbids plain and single quotes but, unlike yaml.v2, not a literal block.
fn analyze(value: &str) -> Analysis {
    let mut a = Analysis {
        multiline: false,
        plain_allowed: true,
        single_allowed: true,
        block_allowed: false,
    };
    if value.is_empty() {
        return a;
    }
    let mut block_indicators = value.starts_with("---") || value.starts_with("...");
    let (mut line_breaks, mut special, mut tabs) = (false, false, false);
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut previous_space, mut previous_break) = (false, false);
    let mut preceded_by_ws = true;
    let mut chars = value.chars().peekable();
    let mut first = true;
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        let is_last = next.is_none();
        let followed_by_ws = next.is_none_or(|n| n == ' ' || n == '\t');
        if first {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => block_indicators = true,
                '?' | ':' | '-' if followed_by_ws => block_indicators = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_ws => block_indicators = true,
                '#' if preceded_by_ws => block_indicators = true,
                _ => {}
            }
        }
        if c == '\t' {
            tabs = true;
        } else if !is_printable(c) {
            special = true;
        }
        if c == ' ' {
            leading_space |= first;
            trailing_space |= is_last;
            break_space |= previous_break;
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            leading_break |= first;
            trailing_break |= is_last;
            space_break |= previous_space;
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_ws = is_blankz(c);
        first = false;
    }
    a.multiline = line_breaks;
    a.block_allowed = true;
    if leading_space || leading_break || trailing_space || trailing_break {
        a.plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.plain_allowed = false;
        a.single_allowed = false;
    }
    if space_break || tabs || special {
        a.plain_allowed = false;
        a.single_allowed = false;
    }
    if space_break || special {
        a.block_allowed = false;
    }
    if line_breaks || block_indicators {
        a.plain_allowed = false;
    }
    a
}

/// A space, tab, line break or the end.
fn is_blankz(c: char) -> bool {
    c == ' ' || c == '\t' || is_break(c) || c == '\0'
}

/// yaml.v3's `keyList.Less` on string keys (kustomize's emitter keeps
/// both yaml.v2's and yaml.v3's).
pub use ferroflux_kustomize::emit::key_order_v3 as key_order;
