//! sprig v3's hermetic functions, re-implemented with sprig's semantics
//! (argument coercion through `cast`, `strval`, `strslice`, panics turned
//! into template errors by text/template).

use base64::Engine as _;
use sha1::Digest as _;

use crate::funcs::{DICT, EnvFunc, FResult, Func, FuncError, P, ferr};
use crate::gofmt;
use crate::semver;
use crate::value::Value;

const LIST: &str = "[]interface {}";
const STRINGS: &str = "[]string";

const fn f(params: &'static [P], call: fn(&[Value]) -> FResult) -> Func {
    Func {
        params,
        variadic: None,
        call,
    }
}

const fn v(params: &'static [P], rest: P, call: fn(&[Value]) -> FResult) -> Func {
    Func {
        params,
        variadic: Some(rest),
        call,
    }
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

fn i(v: &Value) -> i64 {
    v.as_int().unwrap_or_default()
}

fn ok_str(x: impl Into<std::rc::Rc<str>>) -> FResult {
    Ok(Value::String(x.into()))
}

/// The sprig functions that read the caller's clock or random source.
pub fn env_lookup(name: &str) -> Option<EnvFunc> {
    crate::sprig_extra::env_lookup(name)
}

/// Masterminds/semver v3.5's error texts (Helm's), from ours (v3.2's).
fn semver_v35_error(version: &str, e: String) -> FuncError {
    if version.len() > 256 {
        return FuncError::new("version string is too long (max 256 bytes)");
    }
    FuncError::new(match e.as_str() {
        "Invalid Semantic Version" => "invalid semantic version".to_string(),
        "Version segment starts with 0" => "version segment starts with 0".to_string(),
        _ => e,
    })
}

/// `semver` and `semverCompare` as Helm's sprig (semver v3.5) words errors.
pub fn helm_semver(name: &str) -> Option<Func> {
    match name {
        "semver" => Some(f(&[P::Str], |a| {
            semver::version_value(s(&a[0])).map_err(|e| semver_v35_error(s(&a[0]), e))
        })),
        "semverCompare" => Some(f(&[P::Str, P::Str], |a| {
            let plain = lookup("semverCompare").map(|f| (f.call)(a));
            match plain {
                Some(Err(e)) if !e.msg.starts_with("improper constraint") => {
                    Err(semver_v35_error(s(&a[1]), e.msg))
                }
                Some(r) => r,
                None => ferr("semverCompare"),
            }
        })),
        _ => None,
    }
}

/// sprig's `strval`.
pub fn strval(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Invalid => "<nil>".into(),
        other => gofmt::print_value(other),
    }
}

/// sprig's `strslice`.
fn strslice(v: &Value) -> Vec<String> {
    match v {
        Value::List(l) => l
            .items
            .iter()
            .filter(|x| !matches!(x, Value::Nil | Value::Invalid))
            .map(strval)
            .collect(),
        Value::Nil | Value::Invalid => Vec::new(),
        other => vec![strval(other)],
    }
}

fn strings(items: Vec<String>) -> Value {
    Value::list(STRINGS, items.into_iter().map(Value::str).collect())
}

/// `cast.ToInt64` (errors become 0, as sprig ignores them).
/// Go's `int64(f)` on amd64: out of range (and NaN) gives the minimum.
pub fn go_float_to_int(f: f64) -> i64 {
    if f.is_nan() || !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f) {
        i64::MIN
    } else {
        f as i64
    }
}

fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(n) | Value::Int64(n) => *n,
        Value::Float(f) => go_float_to_int(*f),
        Value::Bool(b) => i64::from(*b),
        Value::String(s) => parse_int_base0(&trim_zero_decimal(s)).unwrap_or(0),
        _ => 0,
    }
}

fn trim_zero_decimal(s: &str) -> String {
    match s.split_once('.') {
        Some((int, frac)) if !frac.is_empty() && frac.bytes().all(|b| b == b'0') => int.into(),
        _ => s.into(),
    }
}

/// `strconv.ParseInt(s, 0, 64)`.
fn parse_int_base0(s: &str) -> Option<i64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if body.is_empty() {
        return None;
    }
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(h) = lower.strip_prefix("0x") {
        (16, h.to_string())
    } else if let Some(o) = lower.strip_prefix("0o") {
        (8, o.to_string())
    } else if let Some(b) = lower.strip_prefix("0b") {
        (2, b.to_string())
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_string())
    } else {
        (10, lower.clone())
    };
    let digits = digits.replace('_', "");
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    let n = i64::from_str_radix(&digits, radix).ok()?;
    Some(if neg { -n } else { n })
}

fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(n) | Value::Int64(n) => *n as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::String(s) => s.parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

/// sprig's `empty`.
pub fn empty(v: &Value) -> bool {
    match v {
        Value::Invalid | Value::Nil => true,
        Value::Struct(_) => false,
        other => !other.truth(),
    }
}

fn list_items(v: &Value, func: &str) -> Result<Vec<Value>, FuncError> {
    match v {
        Value::List(l) => Ok(l.items.clone()),
        Value::Object(o) if matches!(o.underlying(), Some(Value::List(_))) => {
            list_items(&o.underlying().unwrap_or(Value::Nil), func)
        }
        Value::Nil | Value::Invalid => {
            ferr("runtime error: invalid memory address or nil pointer dereference")
        }
        other => ferr(format!("Cannot {func} on type {}", other.kind_name())),
    }
}

fn list_type(v: &Value) -> String {
    match v {
        Value::List(l) => l.ty.to_string(),
        _ => LIST.to_string(),
    }
}

/// Go's `reflect.DeepEqual` over our values (unexported fields included).
fn deep_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Struct(x), Value::Struct(y)) => {
            x.ty == y.ty
                && x.fields.len() == y.fields.len()
                && x.fields
                    .iter()
                    .zip(&y.fields)
                    .all(|(f, g)| deep_equal(&f.value, &g.value))
        }
        (Value::List(x), Value::List(y)) => {
            x.ty == y.ty
                && x.items.len() == y.items.len()
                && x.items.iter().zip(&y.items).all(|(p, q)| deep_equal(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            let (ex, ey) = (x.entries.borrow(), y.entries.borrow());
            x.ty == y.ty
                && ex.len() == ey.len()
                && ex
                    .iter()
                    .zip(ey.iter())
                    .all(|(p, q)| deep_equal(&p.0, &q.0) && deep_equal(&p.1, &q.1))
        }
        (Value::Int(x), Value::Int(y)) | (Value::Int64(x), Value::Int64(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Nil | Value::Invalid, Value::Nil | Value::Invalid) => true,
        _ => false,
    }
}

fn list(items: Vec<Value>) -> Value {
    Value::list(LIST, items)
}

fn dict_get(d: &Value, key: &str) -> Option<Value> {
    match d {
        Value::Map(m) => Value::map_get(m, &Value::str(key)),
        _ => None,
    }
}

/// Rewrites an RE2 (Go) pattern so that Rust's `regex` gives it Go's
/// meaning: `\d`, `\w`, `\s` and `\b` are ASCII-only in Go; a `{` that does
/// not start a repetition, a `[` inside a class and `&&`/`~~`/`--` in a class
/// are literals in Go but syntax in Rust.
fn go_pattern(p: &str) -> String {
    let chars: Vec<char> = p.chars().collect();
    let mut out = String::with_capacity(p.len() + 8);
    let mut in_class = false;
    let mut class_start = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && i + 1 < chars.len() {
            let e = chars[i + 1];
            let (outside, inside) = match e {
                'd' => ("[0-9]", "0-9"),
                'D' => ("[^0-9]", "[^0-9]"),
                'w' => ("[0-9A-Za-z_]", "0-9A-Za-z_"),
                'W' => ("[^0-9A-Za-z_]", "[^0-9A-Za-z_]"),
                's' => ("[\\t\\n\\f\\r ]", "\\t\\n\\f\\r "),
                'S' => ("[^\\t\\n\\f\\r ]", "[^\\t\\n\\f\\r ]"),
                'b' if !in_class => ("(?-u:\\b)", ""),
                'B' if !in_class => ("(?-u:\\B)", ""),
                _ => ("", ""),
            };
            let rep = if in_class { inside } else { outside };
            if rep.is_empty() {
                out.push(c);
                out.push(e);
            } else {
                out.push_str(rep);
            }
            i += 2;
            class_start = false;
            continue;
        }
        if in_class {
            match c {
                ']' if !class_start => in_class = false,
                '[' if chars.get(i + 1) != Some(&':') => {
                    out.push_str("\\[");
                    i += 1;
                    class_start = false;
                    continue;
                }
                '&' | '~' => {
                    out.push('\\');
                }
                '-' if chars.get(i + 1) == Some(&'-') => {
                    out.push_str("-\\");
                    i += 1;
                    class_start = false;
                    continue;
                }
                _ => {}
            }
            class_start = class_start && c == '^';
            out.push(c);
            i += 1;
            continue;
        }
        match c {
            '[' => {
                in_class = true;
                class_start = true;
                out.push(c);
                if chars.get(i + 1) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                i += 1;
                continue;
            }
            '{' if !is_repeat(&chars[i..]) => out.push_str("\\{"),
            '}' => {
                // a `}` that closes no repetition is a literal in Go
                let open = out
                    .rfind('{')
                    .is_some_and(|k| !out[k..].contains('}') && !out[..k].ends_with('\\'));
                if open {
                    out.push('}')
                } else {
                    out.push_str("\\}")
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// `{n}`, `{n,}` or `{n,m}` at the start of `s`.
fn is_repeat(s: &[char]) -> bool {
    let mut i = 1;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < s.len() && s[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > start
    };
    if !digits(&mut i) {
        return false;
    }
    if i < s.len() && s[i] == ',' {
        i += 1;
        digits(&mut i);
    }
    i < s.len() && s[i] == '}'
}

/// Go's `regexp.MustCompile`, with Go's message for the common syntax errors.
fn regex(pattern: &str) -> Result<regex::Regex, FuncError> {
    regex::Regex::new(&go_pattern(pattern)).or_else(|e| {
        let text = e.to_string();
        let (code, expr) = if text.contains("unclosed group") {
            ("missing closing )", pattern.to_string())
        } else if text.contains("unopened group") {
            ("unexpected )", pattern.to_string())
        } else if text.contains("unclosed character class") {
            (
                "missing closing ]",
                pattern[pattern.rfind('[').unwrap_or(0)..].to_string(),
            )
        } else if text.contains("repetition operator missing expression") {
            ("missing argument to repetition operator", String::new())
        } else {
            ("invalid regular expression", text)
        };
        let quoted = if pattern.contains('`') || pattern.chars().any(char::is_control) {
            gofmt::quote(pattern)
        } else {
            format!("`{pattern}`")
        };
        ferr(format!(
            "regexp: Compile({quoted}): error parsing regexp: {code}: `{expr}`"
        ))
    })
}

/// Go's `strings.Title`: upper-cases the first letter of each word.
fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_sep = true;
    for c in s.chars() {
        if prev_sep {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_sep = !(c.is_alphanumeric() || c == '_');
    }
    out
}

fn untitle(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_sep = true;
    for c in s.chars() {
        if prev_sep {
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
        prev_sep = c.is_whitespace();
    }
    out
}

/// goutils `WrapCustom(str, n, "\n", false)`.
fn wrap(s: &str, n: i64, nl: &str) -> String {
    if s.is_empty() {
        return String::new();
    }
    let n = n.max(1) as usize;
    let b = s.as_bytes();
    let len = b.len();
    let mut offset = 0;
    let mut out = String::new();
    let sub = |a: usize, z: usize| String::from_utf8_lossy(&b[a..z]).into_owned();
    while len - offset > n {
        if b[offset] == b' ' {
            offset += 1;
            continue;
        }
        let end = (n + offset + 1).min(len);
        let space = sub(offset, end).rfind(' ').map(|x| x + offset);
        match space {
            Some(at) if at >= offset => {
                out.push_str(&sub(offset, at));
                out.push_str(nl);
                offset = at + 1;
            }
            _ => {
                let end = n + offset;
                match sub(end, len).find(' ') {
                    None => {
                        out.push_str(&sub(offset, len));
                        offset = len;
                    }
                    Some(idx) => {
                        let at = idx + end;
                        out.push_str(&sub(offset, at));
                        out.push_str(nl);
                        offset = at + 1;
                    }
                }
            }
        }
    }
    out.push_str(&sub(offset, len));
    out
}

fn byte_slice(st: &str, a: usize, z: usize) -> Result<String, FuncError> {
    if a > z || z > st.len() {
        return ferr(format!(
            "runtime error: slice bounds out of range [{a}:{z}]"
        ));
    }
    Ok(String::from_utf8_lossy(&st.as_bytes()[a..z]).into_owned())
}

pub fn from_json_value(j: &serde_json::Value) -> Value {
    match j {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or_default()),
        serde_json::Value::String(s) => Value::str(s.as_str()),
        serde_json::Value::Array(a) => list(a.iter().map(from_json_value).collect()),
        serde_json::Value::Object(o) => Value::map(
            DICT,
            Value::Nil,
            o.iter()
                .map(|(k, x)| (Value::str(k.as_str()), from_json_value(x)))
                .collect(),
        ),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn math_fold(a: &[Value], op: fn(i64, i64) -> i64) -> FResult {
    let mut acc = to_int64(&a[0]);
    for x in &a[1..] {
        acc = op(acc, to_int64(x));
    }
    Ok(Value::Int64(acc))
}

fn div_like(a: &[Value], op: fn(i64, i64) -> Option<i64>) -> FResult {
    match op(to_int64(&a[0]), to_int64(&a[1])) {
        Some(n) => Ok(Value::Int64(n)),
        None => ferr("runtime error: integer divide by zero"),
    }
}

fn path_clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

fn path_base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return "/".into();
    }
    t.rsplit('/').next().unwrap_or(t).to_string()
}

fn path_dir(p: &str) -> String {
    let dir = match p.rfind('/') {
        Some(i) => &p[..=i],
        None => "",
    };
    path_clean(dir)
}

fn path_ext(p: &str) -> String {
    for (i, c) in p.char_indices().rev() {
        if c == '/' {
            break;
        }
        if c == '.' {
            return p[i..].to_string();
        }
    }
    String::new()
}

/// The sprig function called `name`, if implemented.
pub fn lookup(name: &str) -> Option<Func> {
    use P::*;
    Some(match name {
        // strings
        "trim" => f(&[Str], |a| {
            ok_str(s(&a[0]).trim_matches(char::is_whitespace))
        }),
        "trimAll" | "trimall" => f(&[Str, Str], |a| {
            let cut: Vec<char> = s(&a[0]).chars().collect();
            ok_str(s(&a[1]).trim_matches(cut.as_slice()))
        }),
        "trimPrefix" => f(&[Str, Str], |a| {
            ok_str(s(&a[1]).strip_prefix(s(&a[0])).unwrap_or(s(&a[1])))
        }),
        "trimSuffix" => f(&[Str, Str], |a| {
            ok_str(s(&a[1]).strip_suffix(s(&a[0])).unwrap_or(s(&a[1])))
        }),
        "upper" => f(&[Str], |a| ok_str(s(&a[0]).to_uppercase())),
        "lower" => f(&[Str], |a| ok_str(s(&a[0]).to_lowercase())),
        "title" => f(&[Str], |a| ok_str(title(s(&a[0])))),
        "untitle" => f(&[Str], |a| ok_str(untitle(s(&a[0])))),
        "replace" => f(&[Str, Str, Str], |a| {
            let (old, new, src) = (s(&a[0]), s(&a[1]), s(&a[2]));
            let size = if old.is_empty() {
                (src.chars().count() as u128 + 1) * new.len() as u128 + src.len() as u128
            } else {
                let n = src.matches(old).count() as u128;
                src.len() as u128 + n * new.len() as u128 - n * old.len() as u128
            };
            string_limit("replace", size)?;
            if old.is_empty() {
                // Go inserts `new` around every rune
                let mut out = String::from(new);
                for c in src.chars() {
                    out.push(c);
                    out.push_str(new);
                }
                return ok_str(out);
            }
            ok_str(src.replace(old, new))
        }),
        "contains" => f(&[Str, Str], |a| {
            Ok(Value::Bool(s(&a[1]).contains(s(&a[0]))))
        }),
        "hasPrefix" => f(&[Str, Str], |a| {
            Ok(Value::Bool(s(&a[1]).starts_with(s(&a[0]))))
        }),
        "hasSuffix" => f(&[Str, Str], |a| {
            Ok(Value::Bool(s(&a[1]).ends_with(s(&a[0]))))
        }),
        "nospace" => f(&[Str], |a| {
            ok_str(
                s(&a[0])
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect::<String>(),
            )
        }),
        "repeat" => f(&[Int, Str], |a| {
            let n = i(&a[0]);
            if n < 0 {
                return ferr("strings: negative Repeat count");
            }
            string_limit("repeat", n as u128 * s(&a[1]).len() as u128)?;
            ok_str(s(&a[1]).repeat(n as usize))
        }),
        "substr" => f(&[Int, Int, Str], |a| {
            let (start, end, st) = (i(&a[0]), i(&a[1]), s(&a[2]));
            let len = st.len() as i64;
            if start < 0 {
                if end < 0 {
                    return ferr(format!("runtime error: slice bounds out of range [:{end}]"));
                }
                return ok_str(byte_slice(st, 0, end as usize)?);
            }
            if end < 0 || end > len {
                return ok_str(byte_slice(st, start as usize, st.len())?);
            }
            ok_str(byte_slice(st, start as usize, end as usize)?)
        }),
        "trunc" => f(&[Int, Str], |a| {
            let (c, st) = (i(&a[0]), s(&a[1]));
            let len = st.len() as i64;
            if c < 0 && len + c > 0 {
                return ok_str(byte_slice(st, (len + c) as usize, st.len())?);
            }
            if c >= 0 && len > c {
                return ok_str(byte_slice(st, 0, c as usize)?);
            }
            ok_str(st)
        }),
        "abbrev" => f(&[Int, Str], |a| {
            let (w, st) = (i(&a[0]), s(&a[1]));
            if w < 4 || st.len() as i64 <= w {
                return ok_str(st);
            }
            ok_str(format!("{}...", byte_slice(st, 0, (w - 3) as usize)?))
        }),
        "indent" => f(&[Int, Str], |a| indented("indent", i(&a[0]), s(&a[1]), "")),
        "nindent" => f(&[Int, Str], |a| {
            indented("nindent", i(&a[0]), s(&a[1]), "\n")
        }),
        "quote" => v(&[], Any, |a| {
            let out: Vec<String> = a
                .iter()
                .filter(|x| !matches!(x, Value::Nil))
                .map(|x| gofmt::quote(&strval(x)))
                .collect();
            ok_str(out.join(" "))
        }),
        "squote" => v(&[], Any, |a| {
            let out: Vec<String> = a
                .iter()
                .filter(|x| !matches!(x, Value::Nil))
                .map(|x| format!("'{}'", gofmt::print_value(x)))
                .collect();
            ok_str(out.join(" "))
        }),
        "cat" => v(&[], Any, |a| {
            let vals: Vec<Value> = a
                .iter()
                .filter(|x| !matches!(x, Value::Nil))
                .cloned()
                .collect();
            let format = "%v ".repeat(vals.len());
            ok_str(gofmt::sprintf(format.trim(), &vals))
        }),
        "wrap" => f(&[Int, Str], |a| ok_str(wrap(s(&a[1]), i(&a[0]), "\n"))),
        "wrapWith" => f(&[Int, Str, Str], |a| {
            ok_str(wrap(s(&a[2]), i(&a[0]), s(&a[1])))
        }),
        "plural" => f(&[Str, Str, Int], |a| {
            ok_str(if i(&a[2]) == 1 { s(&a[0]) } else { s(&a[1]) })
        }),
        "split" => f(&[Str, Str], |a| {
            let parts = go_split(s(&a[1]), s(&a[0]), -1);
            Ok(Value::map(
                DICT,
                Value::Nil,
                parts
                    .into_iter()
                    .enumerate()
                    .map(|(n, p)| (Value::str(format!("_{n}")), Value::str(p)))
                    .collect(),
            ))
        }),
        "splitn" => f(&[Str, Int, Str], |a| {
            let parts = go_split(s(&a[2]), s(&a[0]), i(&a[1]));
            Ok(Value::map(
                DICT,
                Value::Nil,
                parts
                    .into_iter()
                    .enumerate()
                    .map(|(n, p)| (Value::str(format!("_{n}")), Value::str(p)))
                    .collect(),
            ))
        }),
        "splitList" => f(&[Str, Str], |a| {
            Ok(strings(go_split(s(&a[1]), s(&a[0]), -1)))
        }),
        "join" => f(&[Str, Any], |a| ok_str(strslice(&a[1]).join(s(&a[0])))),
        "toString" => f(&[Any], |a| ok_str(strval(&a[0]))),
        "toStrings" => f(&[Any], |a| Ok(strings(strslice(&a[0])))),
        "atoi" => f(&[Str], |a| {
            let st = s(&a[0]);
            let body = st.strip_prefix(['+', '-']).unwrap_or(st);
            let n = if !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit()) {
                st.parse::<i64>().unwrap_or(0)
            } else {
                0
            };
            Ok(Value::Int(n))
        }),
        "int" => f(&[Any], |a| Ok(Value::Int(to_int64(&a[0])))),
        "int64" => f(&[Any], |a| Ok(Value::Int64(to_int64(&a[0])))),
        "float64" => f(&[Any], |a| Ok(Value::Float(to_float64(&a[0])))),
        "seq" => v(&[], Int, |a| {
            let nums: Vec<i64> = a.iter().map(i).collect();
            let (start, step, end) = match nums.as_slice() {
                [] => return ok_str(""),
                [e] => (1, if *e >= 1 { 1 } else { -1 }, *e),
                [s0, e] => (*s0, if e >= s0 { 1 } else { -1 }, *e),
                [s0, st, e] => (*s0, *st, *e),
                _ => return ok_str(""),
            };
            let count = steps(start, end, step, true);
            list_limit("seq", count)?;
            let mut out = Vec::new();
            let mut x = start;
            for _ in 0..count {
                out.push(x.to_string());
                // Stop at the end of i64 instead of wrapping around.
                match x.checked_add(step) {
                    Some(next) => x = next,
                    None => break,
                }
            }
            ok_str(out.join(" "))
        }),
        // lists
        "list" | "tuple" => v(&[], Any, |a| Ok(list(a.to_vec()))),
        "first" | "mustFirst" => f(&[Any], |a| {
            Ok(list_items(&a[0], "find first")?
                .first()
                .cloned()
                .unwrap_or(Value::Nil))
        }),
        "last" | "mustLast" => f(&[Any], |a| {
            Ok(list_items(&a[0], "find last")?
                .last()
                .cloned()
                .unwrap_or(Value::Nil))
        }),
        "rest" | "mustRest" => f(&[Any], |a| {
            let l = list_items(&a[0], "find rest")?;
            if l.is_empty() {
                // a nil []interface {}: prints as []
                return Ok(Value::nil_list(LIST));
            }
            Ok(Value::list(&list_type(&a[0]), l[1..].to_vec()))
        }),
        "initial" | "mustInitial" => f(&[Any], |a| {
            let l = list_items(&a[0], "find initial")?;
            if l.is_empty() {
                // a nil []interface {}: prints as []
                return Ok(Value::nil_list(LIST));
            }
            Ok(Value::list(&list_type(&a[0]), l[..l.len() - 1].to_vec()))
        }),
        "uniq" | "mustUniq" => f(&[Any], |a| {
            let l = list_items(&a[0], "find uniq")?;
            let mut out: Vec<Value> = Vec::new();
            for x in l {
                if !out.iter().any(|y| deep_equal(y, &x)) {
                    out.push(x);
                }
            }
            Ok(list(out))
        }),
        "sortAlpha" => f(&[Any], |a| match &a[0] {
            Value::List(_) => {
                let mut l = strslice(&a[0]);
                l.sort();
                Ok(strings(l))
            }
            other => Ok(strings(vec![strval(other)])),
        }),
        "append" | "mustAppend" => f(&[Any, Any], |a| {
            let mut l = list_items(&a[0], "push")?;
            l.push(a[1].clone());
            Ok(list(l))
        }),
        "prepend" | "mustPrepend" => f(&[Any, Any], |a| {
            let mut l = list_items(&a[0], "prepend")?;
            l.insert(0, a[1].clone());
            Ok(list(l))
        }),
        "has" | "mustHas" => f(&[Any, Any], |a| {
            if matches!(a[1], Value::Nil) {
                return Ok(Value::Bool(false));
            }
            let l = list_items(&a[1], "find has")?;
            Ok(Value::Bool(l.iter().any(|x| deep_equal(x, &a[0]))))
        }),
        "without" | "mustWithout" => v(&[Any], Any, |a| {
            let l = list_items(&a[0], "find without")?;
            let omit = &a[1..];
            Ok(list(
                l.into_iter()
                    .filter(|x| !omit.iter().any(|o| deep_equal(o, x)))
                    .collect(),
            ))
        }),
        "compact" | "mustCompact" => f(&[Any], |a| {
            let l = list_items(&a[0], "compact")?;
            Ok(list(l.into_iter().filter(|x| !empty(x)).collect()))
        }),
        "reverse" | "mustReverse" => f(&[Any], |a| {
            let mut l = list_items(&a[0], "find reverse")?;
            l.reverse();
            Ok(list(l))
        }),
        "concat" => v(&[], Any, |a| {
            let mut out = Vec::new();
            for x in a {
                out.extend(list_items(x, "concat")?);
            }
            Ok(list(out))
        }),
        "slice" | "mustSlice" => v(&[Any], Any, |a| {
            let l = match &a[0] {
                Value::List(l) => l.items.clone(),
                Value::Nil | Value::Invalid => {
                    return ferr(
                        "runtime error: invalid memory address or nil pointer dereference",
                    );
                }
                other => {
                    return ferr(format!(
                        "list should be type of slice or array but {}",
                        other.kind_name()
                    ));
                }
            };
            if l.is_empty() {
                return Ok(Value::Nil);
            }
            let start = a.get(1).map_or(0, to_int64);
            let end = if a.len() < 3 {
                l.len() as i64
            } else {
                to_int64(&a[2])
            };
            if start < 0 || end < start || end as usize > l.len() {
                return ferr("reflect.Value.Slice: slice index out of bounds");
            }
            // reflect's Slice keeps the slice's own type
            Ok(Value::list(
                &list_type(&a[0]),
                l[start as usize..end as usize].to_vec(),
            ))
        }),
        "until" => f(&[Int], |a| {
            let n = i(&a[0]);
            list_limit("until", n.unsigned_abs().into())?;
            let r: Vec<Value> = if n >= 0 {
                (0..n).map(Value::Int).collect()
            } else {
                (n + 1..=0).rev().map(Value::Int).collect()
            };
            Ok(Value::list("[]int", r))
        }),
        "untilStep" => f(&[Int, Int, Int], |a| {
            let (start, stop, step) = (i(&a[0]), i(&a[1]), i(&a[2]));
            let count = steps(start, stop, step, false);
            list_limit("untilStep", count)?;
            let mut out = Vec::new();
            let mut x = start;
            for _ in 0..count {
                out.push(Value::Int(x));
                match x.checked_add(step) {
                    Some(next) => x = next,
                    None => break,
                }
            }
            Ok(Value::list("[]int", out))
        }),
        "chunk" | "mustChunk" => f(&[Int, Any], |a| {
            let size = i(&a[0]);
            let l = list_items(&a[1], "chunk")?;
            if size <= 0 {
                return ferr("runtime error: integer divide by zero");
            }
            let chunks: Vec<Value> = l.chunks(size as usize).map(|c| list(c.to_vec())).collect();
            Ok(Value::list("[][]interface {}", chunks))
        }),
        "hello" => f(&[], |_| ok_str("Hello!")),
        "initials" => f(&[Str], |a| {
            let out: String = s(&a[0])
                .split_whitespace()
                .filter_map(|w| w.chars().next())
                .collect();
            ok_str(out)
        }),
        "swapcase" => f(&[Str], |a| {
            let out: String = s(&a[0])
                .chars()
                .flat_map(|c| {
                    if c.is_uppercase() {
                        c.to_lowercase().collect::<Vec<_>>()
                    } else if c.is_lowercase() {
                        c.to_uppercase().collect::<Vec<_>>()
                    } else {
                        vec![c]
                    }
                })
                .collect();
            ok_str(out)
        }),
        "abbrevboth" => f(&[Int, Int, Str], |a| {
            let (left, right, st) = (i(&a[0]), i(&a[1]), s(&a[2]));
            if right < 4 || (left > 0 && right < 7) {
                return ok_str(st);
            }
            ok_str(abbreviate_full(st, left, right))
        }),
        "toDecimal" => f(&[Any], |a| {
            let text = strval(&a[0]);
            let body = text.strip_prefix(['+', '-']).unwrap_or(&text);
            let n = if !body.is_empty() && body.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
                i64::from_str_radix(&text, 8).unwrap_or(0)
            } else {
                0
            };
            Ok(Value::Int64(n))
        }),
        "b32enc" => f(&[Str], |a| ok_str(base32(s(&a[0]).as_bytes()))),
        "typeIsLike" => f(&[Str, Any], |a| {
            let t = a[1].type_name();
            Ok(Value::Bool(s(&a[0]) == t || format!("*{}", s(&a[0])) == t))
        }),
        "deepCopy" | "mustDeepCopy" => f(&[Any], |a| match &a[0] {
            // copystructure panics on a nil interface
            Value::Nil | Value::Invalid => {
                ferr("reflect: call of reflect.Value.Type on zero Value")
            }
            other => Ok(deep_copy(other)),
        }),
        "dig" => v(&[], Any, |a| {
            if a.len() < 3 {
                return ferr("dig needs at least three arguments");
            }
            let mut cur = a[a.len() - 1].clone();
            let default = a[a.len() - 2].clone();
            let keys = &a[..a.len() - 2];
            for (n, k) in keys.iter().enumerate() {
                let Value::String(k) = k else {
                    return ferr(format!(
                        "interface conversion: interface {{}} is {}, not string",
                        k.type_name()
                    ));
                };
                let Value::Map(m) = &cur else {
                    return ferr(format!(
                        "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                        cur.type_name()
                    ));
                };
                if m.ty.as_ref() != DICT || m.named.is_some() {
                    return ferr(format!(
                        "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                        cur.type_name()
                    ));
                }
                let Some(step) = Value::map_get(m, &Value::String(k.clone())) else {
                    return Ok(default);
                };
                if n + 1 == keys.len() {
                    return Ok(step);
                }
                cur = step;
            }
            Ok(default)
        }),
        "merge" | "mustMerge" => v(&[Dict], Dict, |a| {
            for src in &a[1..] {
                merge_into(&a[0], src, false);
            }
            Ok(a[0].clone())
        }),
        "mergeOverwrite" | "mustMergeOverwrite" => v(&[Dict], Dict, |a| {
            for src in &a[1..] {
                merge_into(&a[0], src, true);
            }
            Ok(a[0].clone())
        }),
        // dicts
        "dict" => v(&[], Any, |a| {
            let mut entries: Vec<(Value, Value)> = Vec::new();
            for pair in a.chunks(2) {
                let key = Value::str(strval(&pair[0]));
                let val = pair.get(1).cloned().unwrap_or_else(|| Value::str(""));
                entries.retain(|(k, _)| k.as_str() != key.as_str());
                entries.push((key, val));
            }
            Ok(Value::map(DICT, Value::Nil, entries))
        }),
        "get" => f(&[Dict, Str], |a| {
            Ok(dict_get(&a[0], s(&a[1])).unwrap_or_else(|| Value::str("")))
        }),
        "set" => f(&[Dict, Str, Any], |a| {
            if let Value::Map(m) = &a[0] {
                Value::map_set(m, Value::str(s(&a[1])), a[2].clone());
            }
            Ok(a[0].clone())
        }),
        "unset" => f(&[Dict, Str], |a| {
            if let Value::Map(m) = &a[0] {
                Value::map_remove(m, &Value::str(s(&a[1])));
            }
            Ok(a[0].clone())
        }),
        "hasKey" => f(&[Dict, Str], |a| {
            Ok(Value::Bool(dict_get(&a[0], s(&a[1])).is_some()))
        }),
        "keys" => v(&[], Dict, |a| {
            let mut out = Vec::new();
            for d in a {
                if let Value::Map(m) = d {
                    out.extend(m.entries.borrow().iter().map(|(k, _)| strval(k)));
                }
            }
            Ok(strings(out))
        }),
        "values" => f(&[Dict], |a| match &a[0] {
            Value::Map(m) => Ok(list(
                m.entries.borrow().iter().map(|(_, x)| x.clone()).collect(),
            )),
            _ => Ok(list(Vec::new())),
        }),
        "pluck" => v(&[Str], Dict, |a| {
            let key = s(&a[0]);
            Ok(list(
                a[1..].iter().filter_map(|d| dict_get(d, key)).collect(),
            ))
        }),
        "pick" => v(&[Dict], Str, |a| {
            let keep: Vec<&str> = a[1..].iter().map(s).collect();
            let Value::Map(m) = &a[0] else {
                return Ok(Value::map(DICT, Value::Nil, Vec::new()));
            };
            let e = m
                .entries
                .borrow()
                .iter()
                .filter(|(k, _)| keep.contains(&s(k)))
                .cloned()
                .collect();
            Ok(Value::map(DICT, Value::Nil, e))
        }),
        "omit" => v(&[Dict], Str, |a| {
            let drop: Vec<&str> = a[1..].iter().map(s).collect();
            let Value::Map(m) = &a[0] else {
                return Ok(Value::map(DICT, Value::Nil, Vec::new()));
            };
            let e = m
                .entries
                .borrow()
                .iter()
                .filter(|(k, _)| !drop.contains(&s(k)))
                .cloned()
                .collect();
            Ok(Value::map(DICT, Value::Nil, e))
        }),
        // defaults, logic
        "default" => v(&[Any], Any, |a| match a.get(1) {
            Some(g) if !empty(g) => Ok(g.clone()),
            _ => Ok(a[0].clone()),
        }),
        "empty" => f(&[Any], |a| Ok(Value::Bool(empty(&a[0])))),
        "coalesce" => v(&[], Any, |a| {
            Ok(a.iter().find(|x| !empty(x)).cloned().unwrap_or(Value::Nil))
        }),
        "all" => v(&[], Any, |a| Ok(Value::Bool(a.iter().all(|x| !empty(x))))),
        "any" => v(&[], Any, |a| Ok(Value::Bool(a.iter().any(|x| !empty(x))))),
        "ternary" => f(&[Any, Any, Bool], |a| {
            Ok(if matches!(a[2], Value::Bool(true)) {
                a[0].clone()
            } else {
                a[1].clone()
            })
        }),
        "fail" => f(&[Str], |a| ferr(s(&a[0]))),
        "toJson" | "mustToJson" => f(&[Any], |a| {
            ok_str(gofmt::to_json(&a[0]).unwrap_or_default())
        }),
        "toRawJson" | "mustToRawJson" => f(&[Any], |a| {
            let j = gofmt::to_json(&a[0]).unwrap_or_default();
            ok_str(
                j.replace("\\u003c", "<")
                    .replace("\\u003e", ">")
                    .replace("\\u0026", "&"),
            )
        }),
        "toPrettyJson" | "mustToPrettyJson" => f(&[Any], |a| {
            ok_str(gofmt::to_pretty_json(&a[0]).unwrap_or_default())
        }),
        "fromJson" => f(&[Str], |a| {
            Ok(serde_json::from_str::<serde_json::Value>(s(&a[0]))
                .map(|j| from_json_value(&j))
                .unwrap_or(Value::Nil))
        }),
        "typeOf" => f(&[Any], |a| ok_str(a[0].type_name())),
        "kindOf" => f(&[Any], |a| ok_str(a[0].kind_name())),
        "kindIs" => f(&[Str, Any], |a| {
            Ok(Value::Bool(s(&a[0]) == a[1].kind_name()))
        }),
        "typeIs" => f(&[Str, Any], |a| {
            Ok(Value::Bool(s(&a[0]) == a[1].type_name()))
        }),
        "deepEqual" => f(&[Any, Any], |a| Ok(Value::Bool(deep_equal(&a[0], &a[1])))),
        // math
        "add" => v(&[], Any, |a| {
            Ok(Value::Int64(
                a.iter().map(to_int64).fold(0, i64::wrapping_add),
            ))
        }),
        "add1" => f(&[Any], |a| {
            Ok(Value::Int64(to_int64(&a[0]).wrapping_add(1)))
        }),
        "sub" => f(&[Any, Any], |a| {
            Ok(Value::Int64(to_int64(&a[0]).wrapping_sub(to_int64(&a[1]))))
        }),
        "mul" => v(&[Any], Any, |a| math_fold(a, i64::wrapping_mul)),
        "div" => f(&[Any, Any], |a| div_like(a, i64::checked_div)),
        "mod" => f(&[Any, Any], |a| div_like(a, i64::checked_rem)),
        "max" | "biggest" => v(&[Any], Any, |a| math_fold(a, i64::max)),
        "min" => v(&[Any], Any, |a| math_fold(a, i64::min)),
        "addf" => v(&[], Any, |a| {
            Ok(Value::Float(decimal_fold(0.0, a, Dec::add)))
        }),
        "add1f" => f(&[Any], |a| {
            Ok(Value::Float(decimal_fold(
                to_float64(&a[0]),
                &[Value::Float(1.0)],
                Dec::add,
            )))
        }),
        "subf" => v(&[Any], Any, |a| {
            Ok(Value::Float(decimal_fold(
                to_float64(&a[0]),
                &a[1..],
                Dec::sub,
            )))
        }),
        "mulf" => v(&[Any], Any, |a| {
            Ok(Value::Float(decimal_fold(
                to_float64(&a[0]),
                &a[1..],
                Dec::mul,
            )))
        }),
        "divf" => v(&[Any], Any, |a| {
            let mut acc = Dec::from_f64(to_float64(&a[0]));
            for x in &a[1..] {
                acc = Dec::div(acc, Dec::from_f64(to_float64(x)))
                    .ok_or_else(|| FuncError::new("decimal division by 0"))?;
            }
            Ok(Value::Float(acc.to_f64()))
        }),
        "maxf" => v(&[Any], Any, |a| {
            Ok(Value::Float(
                a[1..]
                    .iter()
                    .map(to_float64)
                    .fold(to_float64(&a[0]), go_max),
            ))
        }),
        "minf" => v(&[Any], Any, |a| {
            Ok(Value::Float(
                a[1..]
                    .iter()
                    .map(to_float64)
                    .fold(to_float64(&a[0]), go_min),
            ))
        }),
        "round" => v(&[Any, Int], Float, |a| {
            let round_on = a.get(2).and_then(|x| match x {
                Value::Float(f) => Some(*f),
                _ => None,
            });
            let pow = 10f64.powf(i(&a[1]) as f64);
            let digit = pow * to_float64(&a[0]);
            let frac = digit - digit.trunc();
            let r = if frac >= round_on.unwrap_or(0.5) {
                digit.ceil()
            } else {
                digit.floor()
            };
            Ok(Value::Float(r / pow))
        }),
        "floor" => f(&[Any], |a| Ok(Value::Float(to_float64(&a[0]).floor()))),
        "ceil" => f(&[Any], |a| Ok(Value::Float(to_float64(&a[0]).ceil()))),
        // encoding, hashes
        "b64enc" => f(&[Str], |a| {
            ok_str(base64::engine::general_purpose::STANDARD.encode(s(&a[0])))
        }),
        "b64dec" => f(&[Str], |a| match go_b64_decode(s(&a[0]).as_bytes()) {
            Ok(b) => ok_str(String::from_utf8_lossy(&b).into_owned()),
            Err(at) => ok_str(format!("illegal base64 data at input byte {at}")),
        }),
        "sha256sum" => f(&[Str], |a| {
            ok_str(hex(&sha2::Sha256::digest(s(&a[0]).as_bytes())))
        }),
        "sha512sum" => f(&[Str], |a| {
            ok_str(hex(&sha2::Sha512::digest(s(&a[0]).as_bytes())))
        }),
        "sha1sum" => f(&[Str], |a| {
            ok_str(hex(&sha1::Sha1::digest(s(&a[0]).as_bytes())))
        }),
        "adler32sum" => f(&[Str], |a| {
            let (mut x, mut y) = (1u32, 0u32);
            for b in s(&a[0]).bytes() {
                x = (x + u32::from(b)) % 65521;
                y = (y + x) % 65521;
            }
            ok_str(((y << 16) | x).to_string())
        }),
        // regular expressions
        "regexMatch" | "mustRegexMatch" => f(&[Str, Str], |a| {
            Ok(Value::Bool(
                regex(s(&a[0]))
                    .map(|r| r.is_match(s(&a[1])))
                    .unwrap_or(false),
            ))
        }),
        "regexFind" | "mustRegexFind" => f(&[Str, Str], |a| {
            let r = regex(s(&a[0]))?;
            ok_str(r.find(s(&a[1])).map(|m| m.as_str()).unwrap_or_default())
        }),
        "regexFindAll" | "mustRegexFindAll" => f(&[Str, Str, Int], |a| {
            let r = regex(s(&a[0]))?;
            let n = i(&a[2]);
            let all = r.find_iter(s(&a[1])).map(|m| m.as_str().to_string());
            let found: Vec<String> = if n < 0 {
                all.collect()
            } else {
                all.take(n as usize).collect()
            };
            Ok(strings(found))
        }),
        "regexReplaceAll" | "mustRegexReplaceAll" => f(&[Str, Str, Str], |a| {
            let r = regex(s(&a[0]))?;
            ok_str(r.replace_all(s(&a[1]), s(&a[2])).into_owned())
        }),
        "regexReplaceAllLiteral" | "mustRegexReplaceAllLiteral" => f(&[Str, Str, Str], |a| {
            let r = regex(s(&a[0]))?;
            ok_str(
                r.replace_all(s(&a[1]), regex::NoExpand(s(&a[2])))
                    .into_owned(),
            )
        }),
        "regexSplit" | "mustRegexSplit" => f(&[Str, Str, Int], |a| {
            let r = regex(s(&a[0]))?;
            let n = i(&a[2]);
            let parts: Vec<String> = if n < 0 {
                r.split(s(&a[1])).map(String::from).collect()
            } else if n == 0 {
                Vec::new()
            } else {
                r.splitn(s(&a[1]), n as usize).map(String::from).collect()
            };
            Ok(strings(parts))
        }),
        "regexQuoteMeta" => f(&[Str], |a| ok_str(regex::escape(s(&a[0])))),
        // paths
        // filepath on Linux is path
        "base" | "osBase" => f(&[Str], |a| ok_str(path_base(s(&a[0])))),
        "dir" | "osDir" => f(&[Str], |a| ok_str(path_dir(s(&a[0])))),
        "clean" | "osClean" => f(&[Str], |a| ok_str(path_clean(s(&a[0])))),
        "ext" | "osExt" => f(&[Str], |a| ok_str(path_ext(s(&a[0])))),
        "isAbs" | "osIsAbs" => f(&[Str], |a| Ok(Value::Bool(s(&a[0]).starts_with('/')))),
        // sprig 3.2 takes only a string or an int64 (a template's `90` is an int: 0s)
        "duration" => f(&[Any], |a| {
            let n = match &a[0] {
                Value::String(t) => t.parse::<i64>().unwrap_or(0),
                Value::Int64(n) => *n,
                _ => 0,
            };
            ok_str(go_duration_seconds(n))
        }),
        // semver
        "semver" => f(&[Str], |a| semver::version_value(s(&a[0])).or_else(ferr)),
        "semverCompare" => f(&[Str, Str], |a| {
            semver::compare(s(&a[0]), s(&a[1]))
                .map(Value::Bool)
                .or_else(ferr)
        }),
        _ => return crate::sprig_extra::lookup(name),
    })
}

/// `strings.Repeat(" ", n)`, which panics on a negative count.
/// ferroflux's limits, not Go's (a `messageTemplate` must not exhaust the
/// process): the bytes of a string one function builds, and the elements
/// of a list `until`, `untilStep` or `seq` builds.
pub const MAX_STRING_BYTES: u128 = 1 << 20;
pub const MAX_LIST_ELEMENTS: u128 = 100_000;

fn string_limit(func: &str, bytes: u128) -> Result<(), FuncError> {
    if bytes > MAX_STRING_BYTES {
        return ferr(format!(
            "{func}: the result would be {bytes} bytes, over ferroflux's limit of {MAX_STRING_BYTES}"
        ));
    }
    Ok(())
}

fn list_limit(func: &str, elements: u128) -> Result<(), FuncError> {
    if elements > MAX_LIST_ELEMENTS {
        return ferr(format!(
            "{func}: {elements} elements, over ferroflux's limit of {MAX_LIST_ELEMENTS}"
        ));
    }
    Ok(())
}

/// How many values `start, start+step, ...` has before passing `end`
/// (`inclusive`: may equal it); 0 when the step leads away.
fn steps(start: i64, end: i64, step: i64, inclusive: bool) -> u128 {
    let (start, end, step) = (i128::from(start), i128::from(end), i128::from(step));
    let span = if step > 0 { end - start } else { start - end };
    let step = step.abs();
    if step == 0 || span < 0 || (span == 0 && !inclusive) {
        return 0;
    }
    let n = if inclusive {
        span / step + 1
    } else {
        (span + step - 1) / step
    };
    n as u128
}

/// `indent`/`nindent`: `lead`, then `s` with `n` spaces after every line start.
fn indented(func: &str, n: i64, st: &str, lead: &str) -> FResult {
    if n < 0 {
        return ferr("strings: negative Repeat count");
    }
    let lines = st.matches('\n').count() as u128 + 1;
    string_limit(
        func,
        lead.len() as u128 + st.len() as u128 + lines * n as u128,
    )?;
    let pad = " ".repeat(n as usize);
    ok_str(format!(
        "{lead}{pad}{}",
        st.replace('\n', &format!("\n{pad}"))
    ))
}

/// Go's `time.Duration.String()` of whole seconds: `1h2m3s`, `0s`.
fn go_duration_seconds(secs: i64) -> String {
    if secs == 0 {
        return "0s".into();
    }
    let sign = if secs < 0 { "-" } else { "" };
    let u = secs.unsigned_abs();
    let (h, m, sec) = (u / 3600, (u / 60) % 60, u % 60);
    if h > 0 {
        format!("{sign}{h}h{m}m{sec}s")
    } else if m > 0 {
        format!("{sign}{m}m{sec}s")
    } else {
        format!("{sign}{sec}s")
    }
}

fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

/// A decimal `mantissa × 10^exp`, as shopspring/decimal builds it from a
/// float's shortest representation (so `addf 0.1 0.2` is exactly 0.3).
#[derive(Clone, Copy)]
struct Dec {
    m: i128,
    e: i32,
}

impl Dec {
    fn from_f64(f: f64) -> Dec {
        if !f.is_finite() || f == 0.0 {
            return Dec { m: 0, e: 0 };
        }
        let sci = format!("{f:e}");
        let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let neg = mant.starts_with('-');
        let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
        let m: i128 = digits.parse().unwrap_or(0);
        Dec {
            m: if neg { -m } else { m },
            e: exp - (digits.len() as i32 - 1),
        }
    }

    fn align(a: Dec, b: Dec) -> (i128, i128, i32) {
        let e = a.e.min(b.e);
        let scale = |d: Dec| d.m.saturating_mul(10i128.saturating_pow((d.e - e) as u32));
        (scale(a), scale(b), e)
    }

    fn add(a: Dec, b: Dec) -> Dec {
        let (x, y, e) = Dec::align(a, b);
        Dec {
            m: x.saturating_add(y),
            e,
        }
    }

    fn sub(a: Dec, b: Dec) -> Dec {
        let (x, y, e) = Dec::align(a, b);
        Dec {
            m: x.saturating_sub(y),
            e,
        }
    }

    fn mul(a: Dec, b: Dec) -> Dec {
        Dec {
            m: a.m.saturating_mul(b.m),
            e: a.e + b.e,
        }
    }

    /// shopspring's `Div`: rounded (half away from zero) to 16 decimal places.
    fn div(a: Dec, b: Dec) -> Option<Dec> {
        if b.m == 0 {
            return None;
        }
        let shift = 16 + a.e - b.e;
        let num = if shift >= 0 {
            a.m.saturating_mul(10i128.saturating_pow(shift as u32))
        } else {
            a.m / 10i128.saturating_pow((-shift) as u32)
        };
        let (q, r) = (num / b.m, num % b.m);
        let q = if r.abs().saturating_mul(2) >= b.m.abs() {
            q + num.signum() * b.m.signum()
        } else {
            q
        };
        Some(Dec { m: q, e: -16 })
    }

    fn to_f64(self) -> f64 {
        format!("{}e{}", self.m, self.e).parse().unwrap_or(0.0)
    }
}

/// sprig's `execDecimalOp`.
fn decimal_fold(first: f64, rest: &[Value], op: fn(Dec, Dec) -> Dec) -> f64 {
    let mut acc = Dec::from_f64(first);
    for x in rest {
        acc = op(acc, Dec::from_f64(to_float64(x)));
    }
    acc.to_f64()
}

/// goutils `AbbreviateFull` (errors give "", as sprig ignores them).
fn abbreviate_full(st: &str, offset: i64, max: i64) -> String {
    let len = st.len() as i64;
    if st.is_empty() || max < 4 {
        return String::new();
    }
    if len <= max {
        return st.to_string();
    }
    let mut offset = offset.min(len);
    if len - offset < max - 3 {
        offset = len - (max - 3);
    }
    let cut = |a: i64, z: i64| {
        String::from_utf8_lossy(&st.as_bytes()[a as usize..z as usize]).into_owned()
    };
    if offset <= 4 {
        return format!("{}...", cut(0, max - 3));
    }
    if max < 7 {
        return String::new();
    }
    if offset + max - 3 < len {
        return format!("...{}", abbreviate_full(&cut(offset, len), 0, max - 3));
    }
    format!("...{}", cut(len - (max - 3), len))
}

/// RFC 4648 base32 with padding (Go's `base32.StdEncoding`).
fn base32(data: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    for chunk in data.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let bits = buf.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        let chars = match chunk.len() {
            1 => 2,
            2 => 4,
            3 => 5,
            4 => 7,
            _ => 8,
        };
        for k in 0..8 {
            if k < chars {
                out.push(ALPHABET[((bits >> (35 - 5 * k)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn deep_copy(v: &Value) -> Value {
    match v {
        Value::List(l) => Value::list(&l.ty, l.items.iter().map(deep_copy).collect()),
        Value::Map(m) => {
            let copy = Value::map(
                &m.ty,
                m.zero.clone(),
                m.entries
                    .borrow()
                    .iter()
                    .map(|(k, x)| (k.clone(), deep_copy(x)))
                    .collect(),
            );
            match &m.named {
                Some(name) => copy.with_type_name(name),
                None => copy,
            }
        }
        other => other.clone(),
    }
}

/// mergo's `Merge` (and `WithOverride`) over sprig dicts: missing or empty
/// keys are filled from `src`, nested dicts merge recursively.
fn merge_into(dst: &Value, src: &Value, overwrite: bool) {
    let (Value::Map(d), Value::Map(sm)) = (dst, src) else {
        return;
    };
    let entries = sm.entries.borrow().clone();
    for (k, sv) in entries {
        match Value::map_get(d, &k) {
            Some(dv @ Value::Map(_)) if matches!(sv, Value::Map(_)) => {
                merge_into(&dv, &sv, overwrite)
            }
            Some(dv) if !(empty(&dv) || (overwrite && !empty(&sv))) => {}
            _ => Value::map_set(d, k, sv),
        }
    }
}

/// Go's `strings.SplitN` (n < 0: all).
fn go_split(src: &str, sep: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if sep.is_empty() {
        let mut chars: Vec<String> = src.chars().map(String::from).collect();
        if n > 0 && chars.len() > n as usize {
            let tail: String = chars[n as usize - 1..].concat();
            chars.truncate(n as usize - 1);
            chars.push(tail);
        }
        return chars;
    }
    if n < 0 {
        src.split(sep).map(String::from).collect()
    } else {
        src.splitn(n as usize, sep).map(String::from).collect()
    }
}

/// Go's `base64.StdEncoding.DecodeString`, with Go's error offsets
/// (`CorruptInputError`); `\r` and `\n` are skipped as Go does.
pub fn go_b64_decode(src: &[u8]) -> Result<Vec<u8>, usize> {
    let decode = |c: u8| -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    };
    let newline = |c: u8| c == b'\n' || c == b'\r';
    let mut out = Vec::with_capacity(src.len() / 4 * 3);
    let mut si = 0;
    while si < src.len() {
        let mut dbuf = [0u32; 4];
        let mut dlen = 4;
        let mut j = 0;
        while j < 4 {
            if si == src.len() {
                if j == 0 {
                    return Ok(out);
                }
                return Err(si - j);
            }
            let c = src[si];
            si += 1;
            if newline(c) {
                continue;
            }
            if let Some(v) = decode(c) {
                dbuf[j] = v;
                j += 1;
                continue;
            }
            if c != b'=' {
                return Err(si - 1);
            }
            match j {
                0 | 1 => return Err(si - 1),
                2 => {
                    while si < src.len() && newline(src[si]) {
                        si += 1;
                    }
                    if si == src.len() {
                        return Err(src.len());
                    }
                    if src[si] != b'=' {
                        return Err(si - 1);
                    }
                    si += 1;
                }
                _ => {}
            }
            while si < src.len() && newline(src[si]) {
                si += 1;
            }
            if si < src.len() {
                return Err(si);
            }
            dlen = j;
            break;
        }
        let val = (dbuf[0] << 18) | (dbuf[1] << 12) | (dbuf[2] << 6) | dbuf[3];
        let bytes = [(val >> 16) as u8, (val >> 8) as u8, val as u8];
        out.extend_from_slice(&bytes[..dlen - 1]);
        if dlen < 4 {
            return Ok(out);
        }
    }
    Ok(out)
}
