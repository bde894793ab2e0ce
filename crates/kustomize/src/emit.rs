//! `kustomize build`'s bytes.
//!
//! kustomize prints each resource with sigs.k8s.io/yaml's `JSONToYAML`: the
//! resource goes to JSON (Go's `encoding/json`, so numbers are re-spelled),
//! yaml.v2 reads that JSON back into `interface{}` and marshals it. So the
//! keys come out sorted by yaml.v2's natural order, sequences under a key are
//! not indented, strings that would read as another type are double-quoted,
//! multi-line strings are literal blocks, and long lines fold at 80 columns.
//! This is a port of that emitter's decisions (libyaml's `emitterc.c` as
//! go-yaml v2 carries it), kept to what a resource can contain.

use std::cmp::Ordering;

use crate::value::{Map, Value, go_int_digits, is_yaml_float, parse_timestamp};

const BEST_INDENT: usize = 2;
const BEST_WIDTH: usize = 80;

/// Why a resource cannot be printed (Go's encoder refuses the same).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmitError {
    #[error("json: unsupported value: {0}")]
    UnsupportedFloat(String),
    /// A character Go's JSON leaves raw that yaml.v2 refuses to read.
    #[error("yaml: control characters are not allowed (U+{0:04X} in {1:?})")]
    ControlCharacter(u32, String),
}

/// The documents, separated by `---` lines, as `kustomize build` prints them.
pub fn documents<'a>(docs: impl IntoIterator<Item = &'a Value>) -> Result<String, EmitError> {
    let mut out = String::new();
    for (i, doc) in docs.into_iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&document(doc)?);
    }
    Ok(out)
}

/// One document as yaml.v2 marshals the JSON round trip of `value`.
pub fn document(value: &Value) -> Result<String, EmitError> {
    emit(to_go(value, true)?)
}

/// [`document`] with every map's keys in the order `value` holds them, as
/// yaml.v2 marshals a `MapSlice` (fluxcd/pkg `chartutil.Encode`, whose
/// caller sorts the keys bytewise first).
pub fn document_in_order(value: &Value) -> Result<String, EmitError> {
    emit(to_go(value, false)?)
}

fn emit(node: Go) -> Result<String, EmitError> {
    let mut e = Emitter {
        out: String::new(),
        column: 0,
        indent: -1,
        whitespace: true,
        indention: true,
    };
    e.node(&node, Context::Root)?;
    // Document end: a final line break unless the last scalar left one.
    e.write_indent(0);
    Ok(e.out)
}

/// A value after the JSON round trip: what yaml.v2 marshals.
#[derive(Debug, Clone, PartialEq)]
enum Go {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Go>),
    Map(Vec<(String, Go)>),
}

fn to_go(value: &Value, sort: bool) -> Result<Go, EmitError> {
    Ok(match value {
        Value::Null => Go::Null,
        Value::Bool(b) => Go::Bool(*b),
        Value::Int(i) => Go::Int(i128::from(*i)),
        Value::Uint(u) => Go::Int(i128::from(*u)),
        Value::Float(f) => reread_number(&json_float(*f)?),
        Value::Spelled(_) => to_go(&value.resolved(), sort)?,
        Value::Str(s) => Go::Str(reread_string(s)?),
        Value::Timestamp(t) => Go::Str(parse_timestamp(t).unwrap_or_else(|| t.clone())),
        Value::Seq(items) => Go::Seq(
            items
                .iter()
                .map(|v| to_go(v, sort))
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(Map(entries)) => {
            let mut m: Vec<(String, Go)> = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                let k = &reread_string(k)?;
                let v = to_go(v, sort)?;
                // JSON keeps the last of duplicate keys.
                match m.iter_mut().find(|(key, _)| key == k) {
                    Some(slot) => slot.1 = v,
                    None => m.push((k.clone(), v)),
                }
            }
            if sort {
                m.sort_by(|a, b| key_order(&a.0, &b.0));
            }
            Go::Map(m)
        }
    })
}

/// A string after Go's JSON writes it and yaml.v2 reads it back: JSON
/// leaves DEL, most C1 controls and U+FFFE/U+FFFF raw, which yaml.v2
/// refuses; it leaves NEL (U+0085) raw too, a line break to YAML, so inside
/// the double-quoted JSON string it folds (one break and the spaces around
/// it become a space; n breaks become n-1 newlines).
fn reread_string(s: &str) -> Result<String, EmitError> {
    if let Some(c) = s
        .chars()
        .find(|&c| matches!(c as u32, 0x7f | 0x80..=0x84 | 0x86..=0x9f | 0xfffe | 0xffff))
    {
        return Err(EmitError::ControlCharacter(c as u32, s.to_string()));
    }
    if !s.contains('\u{85}') {
        return Ok(s.to_string());
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == ' ' || chars[i] == '\u{85}' {
            let start = i;
            let mut breaks = 0;
            while i < chars.len() && (chars[i] == ' ' || chars[i] == '\u{85}') {
                breaks += usize::from(chars[i] == '\u{85}');
                i += 1;
            }
            match breaks {
                0 => out.extend(&chars[start..i]),
                1 => out.push(' '),
                n => out.extend(std::iter::repeat_n('\n', n - 1)),
            }
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// Go's `encoding/json` spelling of a float64.
pub(crate) fn json_float(f: f64) -> Result<String, EmitError> {
    if f.is_nan() {
        return Err(EmitError::UnsupportedFloat("NaN".to_string()));
    }
    if f.is_infinite() {
        let s = if f > 0.0 { "+Inf" } else { "-Inf" };
        return Err(EmitError::UnsupportedFloat(s.to_string()));
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Rust's `{:e}` is the shortest round-trip form, as Go's 'e', -1;
        // Go writes the exponent's sign always.
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

/// yaml.v2's reading of a JSON number.
fn reread_number(text: &str) -> Go {
    if let Ok(i) = text.parse::<i64>() {
        return Go::Int(i128::from(i));
    }
    if let Ok(u) = text.parse::<u64>() {
        return Go::Int(i128::from(u));
    }
    if is_yaml_float(text)
        && let Ok(f) = text.parse::<f64>()
    {
        return Go::Float(f);
    }
    Go::Str(text.to_string())
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)` with yaml.v2's names for
/// the infinities.
fn go_format_g(f: f64) -> String {
    if f.is_nan() {
        return ".nan".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.to_string();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    // Go uses %e when the exponent is below -4 or, for the shortest form,
    // at least 6.
    if !(-4..6).contains(&exp) {
        return format!(
            "{mantissa}e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        );
    }
    format!("{f}")
}

/// yaml.v2's `keyList.Less` for string keys: letters before other runes,
/// runs of digits compared as numbers.
pub fn key_order(a: &str, b: &str) -> Ordering {
    order(a, b, false)
}

/// yaml.v3's `keyList.Less`: yaml.v2's, except that after a run of equal
/// digits a letter sorts first (`toYamlPretty`, sops).
pub fn key_order_v3(a: &str, b: &str) -> Ordering {
    order(a, b, true)
}

fn order(a: &str, b: &str, v3: bool) -> Ordering {
    if key_less(a, b, v3) {
        Ordering::Less
    } else if key_less(b, a, v3) {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

fn key_less(a: &str, b: &str, v3: bool) -> bool {
    // Sorting compares each key many times: ASCII keys (nearly all) are
    // compared in place, others as runes.
    if a.is_ascii() && b.is_ascii() {
        return key_less_runes(a.as_bytes(), b.as_bytes(), v3);
    }
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    key_less_runes(&ar, &br, v3)
}

fn key_less_runes<T: Copy + Into<char>>(ar: &[T], br: &[T], v3: bool) -> bool {
    let c = |r: &[T], i: usize| -> char { r[i].into() };
    let digit = |ch: char| ch.is_ascii_digit();
    // yaml.v3: whether the runes before `i` ended in a digit.
    let mut digits = false;
    for i in 0..ar.len().min(br.len()) {
        let (a, b) = (c(ar, i), c(br, i));
        if a == b {
            digits = digit(a);
            continue;
        }
        let al = a.is_alphabetic();
        let bl = b.is_alphabetic();
        if al && bl {
            return a < b;
        }
        if al || bl {
            return if v3 && digits { al } else { bl };
        }
        let (mut an, mut bn): (i64, i64) = (0, 0);
        if a == '0' || b == '0' {
            let mut j = i;
            while j > 0 && digit(c(ar, j - 1)) {
                j -= 1;
                if c(ar, j) != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && digit(c(ar, ai)) {
            an = an
                .wrapping_mul(10)
                .wrapping_add(i64::from(c(ar, ai) as u8 - b'0'));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && digit(c(br, bi)) {
            bn = bn
                .wrapping_mul(10)
                .wrapping_add(i64::from(c(br, bi) as u8 - b'0'));
            bi += 1;
        }
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return a < b;
    }
    ar.len() < br.len()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    Root,
    /// A block sequence item.
    Sequence,
    /// A mapping value.
    MappingValue,
    /// A simple (one-line) mapping key.
    SimpleKey,
    /// A key written after `? `.
    ComplexKey,
}

/// What `yaml_emitter_analyze_scalar` finds out about a scalar.
struct Analysis {
    multiline: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

struct Emitter {
    out: String,
    column: usize,
    indent: isize,
    whitespace: bool,
    indention: bool,
}

impl Emitter {
    fn node(&mut self, node: &Go, cx: Context) -> Result<(), EmitError> {
        match node {
            Go::Map(entries) if entries.is_empty() => self.flow_empty("{}"),
            Go::Seq(items) if items.is_empty() => self.flow_empty("[]"),
            Go::Map(entries) => self.block_mapping(entries, cx)?,
            Go::Seq(items) => self.block_sequence(items, cx)?,
            Go::Null => self.scalar("null", Style::Plain, cx),
            Go::Bool(b) => self.scalar(if *b { "true" } else { "false" }, Style::Plain, cx),
            Go::Int(i) => self.scalar(&i.to_string(), Style::Plain, cx),
            Go::Float(f) => self.scalar(&go_format_g(*f), Style::Plain, cx),
            Go::Str(s) => self.scalar(s, string_style(s), cx),
        }
        Ok(())
    }

    fn flow_empty(&mut self, text: &str) {
        self.write_indicator(&text[..1], true, true, false);
        self.write_indicator(&text[1..], false, false, false);
    }

    fn push_indent(&mut self, flow: bool, indentless: bool) -> isize {
        let saved = self.indent;
        if self.indent < 0 {
            self.indent = if flow { BEST_INDENT as isize } else { 0 };
        } else if !indentless {
            self.indent += BEST_INDENT as isize;
        }
        saved
    }

    fn block_mapping(&mut self, entries: &[(String, Go)], _cx: Context) -> Result<(), EmitError> {
        let saved = self.push_indent(false, false);
        for (key, value) in entries {
            self.write_indent(self.indent.max(0) as usize);
            let style = string_style(key);
            let analysis = analyze(key);
            if !analysis.multiline && key.len() <= 128 {
                self.scalar(key, style, Context::SimpleKey);
                self.write_indicator(":", false, false, false);
            } else {
                self.write_indicator("?", true, false, true);
                self.scalar(key, style, Context::ComplexKey);
                self.write_indent(self.indent.max(0) as usize);
                self.write_indicator(":", true, false, true);
            }
            self.node(value, Context::MappingValue)?;
        }
        self.indent = saved;
        Ok(())
    }

    fn block_sequence(&mut self, items: &[Go], cx: Context) -> Result<(), EmitError> {
        let mapping_context = matches!(cx, Context::MappingValue | Context::ComplexKey);
        let saved = self.push_indent(false, mapping_context && !self.indention);
        for item in items {
            self.write_indent(self.indent.max(0) as usize);
            self.write_indicator("-", true, false, true);
            self.node(item, Context::Sequence)?;
        }
        self.indent = saved;
        Ok(())
    }

    fn scalar(&mut self, value: &str, requested: Style, cx: Context) {
        let analysis = analyze(value);
        let simple_key = cx == Context::SimpleKey;
        let mut style = requested;
        if simple_key && analysis.multiline {
            style = Style::Double;
        }
        if style == Style::Plain
            && (!analysis.block_plain_allowed || (value.is_empty() && simple_key))
        {
            style = Style::Single;
        }
        if style == Style::Single && !analysis.single_quoted_allowed {
            style = Style::Double;
        }
        if style == Style::Literal && (!analysis.block_allowed || simple_key) {
            style = Style::Double;
        }
        let saved = self.push_indent(true, false);
        let allow_breaks = !simple_key;
        match style {
            Style::Plain => self.write_plain(value, allow_breaks),
            Style::Single => self.write_single(value, allow_breaks),
            Style::Double => self.write_double(value, allow_breaks),
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
    }

    fn write_indent(&mut self, indent: usize) {
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
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

    fn current_indent(&self) -> usize {
        self.indent.max(0) as usize
    }

    fn write_plain(&mut self, value: &str, allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        let mut chars = value.chars().peekable();
        let mut spaces = false;
        let mut breaks = false;
        while let Some(c) = chars.next() {
            if c == ' ' {
                let next_space = chars.peek() == Some(&' ');
                if allow_breaks && !spaces && self.column > BEST_WIDTH && !next_space {
                    self.write_indent(self.current_indent());
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent(self.current_indent());
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
    }

    fn write_single(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("'", true, false, false);
        let mut chars = value.chars().peekable();
        let mut spaces = false;
        let mut breaks = false;
        let mut first = true;
        while let Some(c) = chars.next() {
            let inner = !first && chars.peek().is_some();
            first = false;
            if c == ' ' {
                let next_space = chars.peek() == Some(&' ');
                if allow_breaks && !spaces && self.column > BEST_WIDTH && inner && !next_space {
                    self.write_indent(self.current_indent());
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent(self.current_indent());
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("\"", true, false, false);
        let mut chars = value.chars().peekable();
        let starts_with_bom = value.starts_with('\u{feff}');
        let mut spaces = false;
        let mut first = true;
        while let Some(c) = chars.next() {
            let inner = !first && chars.peek().is_some();
            first = false;
            if !is_printable(c) || starts_with_bom || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                match c {
                    '\0' => self.put('0'),
                    '\x07' => self.put('a'),
                    '\x08' => self.put('b'),
                    '\t' => self.put('t'),
                    '\n' => self.put('n'),
                    '\x0b' => self.put('v'),
                    '\x0c' => self.put('f'),
                    '\r' => self.put('r'),
                    '\x1b' => self.put('e'),
                    '"' => self.put('"'),
                    '\\' => self.put('\\'),
                    '\u{85}' => self.put('N'),
                    '\u{a0}' => self.put('_'),
                    '\u{2028}' => self.put('L'),
                    '\u{2029}' => self.put('P'),
                    _ => {
                        let v = c as u32;
                        let (letter, width) = if v <= 0xff {
                            ('x', 2)
                        } else if v <= 0xffff {
                            ('u', 4)
                        } else {
                            ('U', 8)
                        };
                        self.put(letter);
                        for digit in format!("{v:0width$X}").chars() {
                            self.put(digit);
                        }
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks && !spaces && self.column > BEST_WIDTH && inner {
                    self.write_indent(self.current_indent());
                    if chars.peek() == Some(&' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_literal(&mut self, value: &str) {
        self.write_indicator("|", true, false, false);
        let chars: Vec<char> = value.chars().collect();
        if chars.first().is_some_and(|&c| c == ' ' || is_break(c)) {
            self.write_indicator(&BEST_INDENT.to_string(), false, false, false);
        }
        let chomp = match chars.as_slice() {
            [] => Some('-'),
            [.., last] if !is_break(*last) => Some('-'),
            [_] => Some('+'),
            [.., before, _] if is_break(*before) => Some('+'),
            _ => None,
        };
        if let Some(c) = chomp {
            self.write_indicator(&c.to_string(), false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for &c in &chars {
            if is_break(c) {
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent(self.current_indent());
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
    }
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// libyaml's `is_printable` as go-yaml v2 has it: #x0A, #x20-#x7E,
/// #xA0-#xD7FF, #xE000-#xFFFD except #xFEFF; not tab, and not the
/// supplementary planes (an emoji is written `\U0001F600`).
fn is_printable(c: char) -> bool {
    let v = c as u32;
    v == 0x0a
        || (0x20..=0x7e).contains(&v)
        || (0xa0..=0xd7ff).contains(&v)
        || ((0xe000..=0xfffd).contains(&v) && v != 0xfeff)
}

/// The style yaml.v2's `stringv` asks for.
fn string_style(s: &str) -> Style {
    if s.contains('\n') {
        Style::Literal
    } else if resolves_to_string(s) && !ferroflux_api::yaml::is_base60_float(s) {
        Style::Plain
    } else {
        Style::Double
    }
}

/// yaml.v2's `resolve("", s)` gives `!!str`.
fn resolves_to_string(s: &str) -> bool {
    let Some(first) = s.bytes().next() else {
        return false; // the empty string resolves to null
    };
    match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" | "n"
        | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" | "~"
        | "null" | "Null" | "NULL" | ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf" | ".INF"
        | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF" => {
            return false;
        }
        _ => {}
    }
    match first {
        // Go's ParseFloat refuses what overflows to an infinity.
        b'.' => !s.parse::<f64>().is_ok_and(f64::is_finite) || !is_yaml_float(s),
        b'0'..=b'9' | b'+' | b'-' => {
            if parse_timestamp(s).is_some() {
                return false;
            }
            let plain = s.replace('_', "");
            if go_int_syntax(&plain)
                || (is_yaml_float(&plain) && plain.parse::<f64>().is_ok_and(f64::is_finite))
            {
                return false;
            }
            if let Some(d) = plain.strip_prefix("0b").or(plain.strip_prefix("-0b")) {
                return d.is_empty() || !d.bytes().all(|b| b == b'0' || b == b'1');
            }
            true
        }
        _ => true,
    }
}

/// Go's `strconv.ParseInt`/`ParseUint(s, 0, 64)` accept `s` (range aside,
/// which only moves a number to float).
fn go_int_syntax(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let Some((radix, digits)) = go_int_digits(body) else {
        return false;
    };
    // An out-of-range integer fails ParseInt and ParseUint; yaml.v2 then
    // tries a float, which only decimal digits make.
    let fits = u64::from_str_radix(digits, radix).is_ok();
    fits || radix == 10
}

fn analyze(value: &str) -> Analysis {
    let mut a = Analysis {
        multiline: false,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: false,
    };
    if value.is_empty() {
        return a;
    }
    let mut block_indicators = value.starts_with("---") || value.starts_with("...");
    let mut line_breaks = false;
    let mut special = false;
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
                '?' | ':' if followed_by_ws => block_indicators = true,
                '-' if followed_by_ws => block_indicators = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_ws => block_indicators = true,
                '#' if preceded_by_ws => block_indicators = true,
                _ => {}
            }
        }
        if !is_printable(c) {
            special = true;
        }
        if c == ' ' {
            leading_space |= first;
            trailing_space |= is_last;
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            leading_break |= first;
            trailing_break |= is_last;
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_ws = matches!(c, ' ' | '\t') || is_break(c);
        first = false;
    }
    a.multiline = line_breaks;
    a.block_allowed = true;
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
        a.block_allowed = false;
    }
    if line_breaks || block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

#[cfg(test)]
mod tests;
