//! Go's `fmt` (print, println, printf verbs and how `%v` prints maps, structs
//! and slices), `strconv.Quote`/`Unquote` and `encoding/json` output, over
//! [`Value`]. These decide the exact bytes of a commit message.

use base64::Engine as _;

use crate::value::Value;

/// Go's `strconv.Quote`.
pub fn quote(s: &str) -> String {
    quote_with(s, '"')
}

fn quote_with(s: &str, q: char) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    for c in s.chars() {
        if c == q || c == '\\' {
            out.push('\\');
            out.push(c);
            continue;
        }
        if is_print(c) {
            out.push(c);
            continue;
        }
        match c {
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push(q);
    out
}

/// An approximation of Go's `unicode.IsPrint` (letters, marks, numbers,
/// punctuation, symbols and the ASCII space).
fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let u = c as u32;
    // format characters (Cf) and private use / unassigned ranges Go rejects
    !matches!(u, 0xad | 0x600..=0x605 | 0x200b..=0x200f | 0x202a..=0x202e | 0x2060..=0x206f
        | 0xfeff | 0xfff9..=0xfffb | 0xe000..=0xf8ff | 0xd800..=0xdfff | 0xfffe | 0xffff)
}

/// Go's `%#U` form: `U+0021 '!'`.
pub fn unicode_hash(c: char) -> String {
    if is_print(c) {
        format!("U+{:04X} '{c}'", c as u32)
    } else {
        format!("U+{:04X}", c as u32)
    }
}

/// Go's `strconv.Unquote` for `"…"` and `` `…` `` literals.
pub fn unquote(s: &str) -> Option<String> {
    if let Some(raw) = s.strip_prefix('`') {
        let raw = raw.strip_suffix('`')?;
        if raw.contains('`') {
            return None;
        }
        return Some(raw.replace('\r', ""));
    }
    let body = s.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '"' || c == '\n' {
            return None;
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        unescape(&mut chars, '"', &mut out)?;
    }
    Some(out)
}

/// A char constant `'x'` as Go's `strconv.UnquoteChar`.
pub fn unquote_char(s: &str) -> Option<char> {
    let body = s.strip_prefix('\'')?.strip_suffix('\'')?;
    let mut chars = body.chars().peekable();
    let c = chars.next()?;
    let mut out = String::new();
    if c == '\\' {
        unescape(&mut chars, '\'', &mut out)?;
    } else if c == '\'' {
        return None;
    } else {
        out.push(c);
    }
    if chars.next().is_some() {
        return None;
    }
    let mut it = out.chars();
    let r = it.next()?;
    if it.next().is_some() {
        return None;
    }
    Some(r)
}

fn unescape(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    q: char,
    out: &mut String,
) -> Option<()> {
    let e = chars.next()?;
    let hex = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>, n: usize| -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            v = v * 16 + chars.next()?.to_digit(16)?;
        }
        Some(v)
    };
    match e {
        'a' => out.push('\x07'),
        'b' => out.push('\x08'),
        'f' => out.push('\x0c'),
        'n' => out.push('\n'),
        'r' => out.push('\r'),
        't' => out.push('\t'),
        'v' => out.push('\x0b'),
        '\\' => out.push('\\'),
        c if c == q => out.push(c),
        'x' => {
            let v = hex(chars, 2)?;
            // a raw byte; only ASCII is representable in a Rust string
            out.push(char::from_u32(v)?);
        }
        'u' => out.push(char::from_u32(hex(chars, 4)?)?),
        'U' => out.push(char::from_u32(hex(chars, 8)?)?),
        '0'..='7' => {
            let mut v = e.to_digit(8)?;
            for _ in 0..2 {
                v = v * 8 + chars.next()?.to_digit(8)?;
            }
            if v > 255 {
                return None;
            }
            out.push(char::from_u32(v)?);
        }
        _ => return None,
    }
    Some(())
}

/// printf flags, width, precision and verb.
#[derive(Clone, Copy, Default)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
    /// `%+v`
    plus_v: bool,
    /// `%#v`
    sharp_v: bool,
}

/// Go's `fmt.Sprint`.
pub fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = matches!(a, Value::String(_));
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        print_arg(&mut out, a, 'v', &Spec::default());
        prev_string = is_string;
    }
    out
}

/// Go's `fmt.Sprintln`.
pub fn sprintln(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        print_arg(&mut out, a, 'v', &Spec::default());
    }
    out.push('\n');
    out
}

/// `%v` of one value, as text/template prints an action's result.
pub fn print_value(v: &Value) -> String {
    let mut out = String::new();
    print_arg(&mut out, v, 'v', &Spec::default());
    out
}

/// [`print_value`] appended to `out`.
pub fn print_value_into(out: &mut String, v: &Value) {
    match v {
        Value::String(s) => out.push_str(s),
        _ => print_arg(out, v, 'v', &Spec::default()),
    }
}

/// Go's `fmt.Sprintf`.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut argi = 0;
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut s = Spec::default();
        loop {
            match chars.peek() {
                Some('#') => s.sharp = true,
                Some('0') => s.zero = !s.minus,
                Some('+') => s.plus = true,
                Some('-') => {
                    s.minus = true;
                    s.zero = false;
                }
                Some(' ') => s.space = true,
                _ => break,
            }
            chars.next();
        }
        // width
        if chars.peek() == Some(&'*') {
            chars.next();
            match args.get(argi).and_then(Value::as_int) {
                Some(w) if !too_large(w.unsigned_abs() as usize) => {
                    if w < 0 {
                        s.minus = true;
                        s.zero = false;
                    }
                    s.width = Some(w.unsigned_abs() as usize);
                }
                _ => out.push_str("%!(BADWIDTH)"),
            }
            argi += 1;
        } else {
            match read_num(&mut chars) {
                Ok(w) => s.width = w,
                Err(()) => {
                    out.push_str("%!(NOVERB)");
                    break;
                }
            }
        }
        if chars.peek() == Some(&'.') {
            chars.next();
            if chars.peek() == Some(&'*') {
                chars.next();
                match args.get(argi).and_then(Value::as_int) {
                    Some(p) if p >= 0 && !too_large(p as usize) => s.prec = Some(p as usize),
                    _ => out.push_str("%!(BADPREC)"),
                }
                argi += 1;
            } else {
                match read_num(&mut chars) {
                    Ok(p) => s.prec = Some(p.unwrap_or(0)),
                    Err(()) => {
                        out.push_str("%!(NOVERB)");
                        break;
                    }
                }
            }
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(argi) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        argi += 1;
        if verb == 'v' {
            if s.sharp {
                s.sharp = false;
                s.sharp_v = true;
            }
            if s.plus {
                s.plus = false;
                s.plus_v = true;
            }
        }
        print_arg(&mut out, arg, verb, &s);
    }
    if argi < args.len() {
        out.push_str("%!(EXTRA ");
        for (i, a) in args[argi..].iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            if matches!(a, Value::Nil | Value::Invalid) {
                out.push_str("<nil>");
            } else {
                out.push_str(&a.type_name());
                out.push('=');
                print_arg(&mut out, a, 'v', &Spec::default());
            }
        }
        out.push(')');
    }
    out
}

/// Go's `parsenum`: a number past 1e6 ("crazy long") is no number, and the
/// rest of the format is consumed (Go then prints `%!(NOVERB)`). `Err` says so.
#[allow(clippy::result_unit_err)]
fn read_num(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<Option<usize>, ()> {
    let mut n: Option<usize> = None;
    while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
        let cur = n.unwrap_or(0);
        if too_large(cur) {
            chars.by_ref().for_each(drop);
            return Err(());
        }
        n = Some(cur * 10 + d as usize);
        chars.next();
    }
    Ok(n)
}

/// Go's fmt refuses widths and precisions beyond a million.
fn too_large(n: usize) -> bool {
    n > 1_000_000
}

fn pad(out: &mut String, s: &str, spec: &Spec) {
    let n = s.chars().count();
    let w = spec.width.unwrap_or(0);
    if n >= w {
        out.push_str(s);
        return;
    }
    let fill = if spec.zero && !spec.minus { '0' } else { ' ' };
    if spec.minus {
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', w - n));
    } else {
        out.extend(std::iter::repeat_n(fill, w - n));
        out.push_str(s);
    }
}

/// Go's `badVerb`: `%!d(string=x)`; the value is printed with `%v` under the
/// same width and flags (so `%03d` of "-" shows `00-`).
fn bad_verb(out: &mut String, v: &Value, verb: char, spec: &Spec) {
    out.push_str("%!");
    out.push(verb);
    out.push('(');
    if matches!(v, Value::Nil | Value::Invalid) {
        out.push_str("<nil>");
    } else {
        out.push_str(&v.type_name());
        out.push('=');
        print_arg(out, v, 'v', spec);
    }
    out.push(')');
}

fn print_arg(out: &mut String, v: &Value, verb: char, spec: &Spec) {
    match v {
        Value::Nil | Value::Invalid => match verb {
            'v' | 'T' => pad(out, "<nil>", spec),
            _ => bad_verb(out, v, verb, spec),
        },
        _ => print_value_depth(out, v, verb, spec, 0, true),
    }
}

fn print_value_depth(
    out: &mut String,
    v: &Value,
    verb: char,
    spec: &Spec,
    depth: usize,
    can_iface: bool,
) {
    if verb == 'T' {
        pad(out, &v.type_name(), spec);
        return;
    }
    match v {
        Value::Invalid => {
            if depth == 0 {
                pad(out, "<invalid reflect.Value>", spec);
            } else if verb == 'v' {
                pad(out, "<nil>", spec);
            } else {
                bad_verb(out, v, verb, spec);
            }
        }
        Value::Nil => pad(out, "<nil>", spec),
        Value::Bool(b) => match verb {
            'v' | 't' => pad(out, if *b { "true" } else { "false" }, spec),
            _ => bad_verb(out, v, verb, spec),
        },
        Value::Int(i) | Value::Int64(i) => fmt_int(out, *i, v, verb, spec),
        Value::Float(f) => fmt_float(out, *f, v, verb, spec),
        Value::String(s) => fmt_string(out, s, v, verb, spec),
        Value::Struct(st) => {
            if can_iface
                && !spec.sharp_v
                && let Some(s) = &st.stringer
                && matches!(verb, 'v' | 's' | 'x' | 'X' | 'q')
            {
                fmt_string(out, s, &Value::String(s.clone()), verb, spec);
                return;
            }
            out.push('{');
            for (i, f) in st.fields.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                if spec.plus_v || spec.sharp_v {
                    out.push_str(f.name);
                    out.push(':');
                }
                print_value_depth(out, &f.value, verb, spec, depth + 1, f.exported);
            }
            out.push('}');
        }
        Value::List(l) => {
            out.push('[');
            for (i, item) in l.items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                print_value_depth(out, item, verb, spec, depth + 1, true);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push_str("map[");
            for (i, (k, val)) in m.entries.borrow().iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                print_value_depth(out, k, verb, spec, depth + 1, true);
                out.push(':');
                print_value_depth(out, val, verb, spec, depth + 1, true);
            }
            out.push(']');
        }
        Value::Bytes(b) => fmt_bytes(out, b, v, verb, spec),
        Value::Object(o) => {
            if can_iface
                && !spec.sharp_v
                && let Some(s) = o.string()
                && matches!(verb, 'v' | 's' | 'x' | 'X' | 'q')
            {
                fmt_string(out, &s, &Value::str(s.as_str()), verb, spec);
                return;
            }
            match o.underlying() {
                Some(u) => print_value_depth(out, &u, verb, spec, depth, can_iface),
                None => out.push_str("{}"),
            }
        }
    }
}

/// Go's `fmtBytes` for `[]byte`.
fn fmt_bytes(out: &mut String, b: &[u8], v: &Value, verb: char, spec: &Spec) {
    match verb {
        'v' | 'd' => {
            if spec.sharp_v {
                out.push_str("[]byte{");
                for (i, x) in b.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&format!("0x{x:x}"));
                }
                out.push('}');
                return;
            }
            out.push('[');
            for (i, x) in b.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                fmt_int(out, i64::from(*x), &Value::Int(i64::from(*x)), verb, spec);
            }
            out.push(']');
        }
        's' | 'q' | 'x' | 'X' => {
            let s = String::from_utf8_lossy(b);
            fmt_string(out, &s, v, verb, spec);
        }
        _ => {
            out.push('[');
            for (i, x) in b.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                fmt_int(out, i64::from(*x), &Value::Int(i64::from(*x)), verb, spec);
            }
            out.push(']');
        }
    }
}

fn fmt_string(out: &mut String, s: &str, v: &Value, verb: char, spec: &Spec) {
    let truncated: String;
    let s = match spec.prec {
        Some(p) => {
            truncated = s.chars().take(p).collect();
            truncated.as_str()
        }
        None => s,
    };
    match verb {
        'v' if spec.sharp_v => pad(out, &quote(s), spec),
        'v' | 's' => pad(out, s, spec),
        'q' => {
            if spec.sharp && !s.contains('`') {
                pad(out, &format!("`{s}`"), spec);
            } else {
                pad(out, &quote(s), spec);
            }
        }
        'x' | 'X' => {
            let mut h = String::new();
            for (i, b) in s.bytes().enumerate() {
                if spec.space && i > 0 {
                    h.push(' ');
                }
                if spec.sharp && (spec.space || i == 0) {
                    h.push_str(if verb == 'x' { "0x" } else { "0X" });
                }
                if verb == 'x' {
                    h.push_str(&format!("{b:02x}"));
                } else {
                    h.push_str(&format!("{b:02X}"));
                }
            }
            pad(out, &h, spec);
        }
        _ => bad_verb(out, v, verb, spec),
    }
}

fn fmt_int(out: &mut String, i: i64, v: &Value, verb: char, spec: &Spec) {
    let neg = i < 0;
    let u = i.unsigned_abs();
    let (mut digits, prefix) = match verb {
        'v' | 'd' => (u.to_string(), ""),
        'b' => (format!("{u:b}"), if spec.sharp { "0b" } else { "" }),
        'o' => (format!("{u:o}"), if spec.sharp { "0" } else { "" }),
        'O' => (format!("{u:o}"), "0o"),
        'x' => (format!("{u:x}"), if spec.sharp { "0x" } else { "" }),
        'X' => (format!("{u:X}"), if spec.sharp { "0X" } else { "" }),
        'c' => {
            let c = char::from_u32(i as u32).unwrap_or('\u{fffd}');
            pad(out, &c.to_string(), spec);
            return;
        }
        'q' => {
            let c = char::from_u32(i as u32).unwrap_or('\u{fffd}');
            pad(out, &quote_with(&c.to_string(), '\''), spec);
            return;
        }
        'U' => {
            let mut s = format!("U+{u:04X}");
            if spec.sharp
                && let Some(c) = char::from_u32(i as u32)
                && is_print(c)
            {
                s.push_str(&format!(" '{c}'"));
            }
            pad(out, &s, spec);
            return;
        }
        _ => {
            bad_verb(out, v, verb, spec);
            return;
        }
    };
    if let Some(p) = spec.prec {
        if p == 0 && u == 0 {
            digits.clear();
        }
        while digits.len() < p {
            digits.insert(0, '0');
        }
    }
    let sign = if neg {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    let body = format!("{prefix}{digits}");
    if spec.zero && !spec.minus && spec.prec.is_none() {
        let w = spec.width.unwrap_or(0);
        let n = sign.len() + body.len();
        let zeros = if w > n {
            "0".repeat(w - n)
        } else {
            String::new()
        };
        out.push_str(&format!("{sign}{zeros}{body}"));
    } else {
        pad(
            out,
            &format!("{sign}{body}"),
            &Spec {
                zero: false,
                ..*spec
            },
        );
    }
}

fn fmt_float(out: &mut String, f: f64, v: &Value, verb: char, spec: &Spec) {
    let s = match verb {
        'v' | 'g' => format_g(f, spec.prec),
        'G' => format_g(f, spec.prec).to_uppercase(),
        'f' | 'F' => format!("{:.*}", spec.prec.unwrap_or(6), f),
        'e' => format_e(f, spec.prec.unwrap_or(6)),
        'x' => format_hex_float(f),
        'X' => format_hex_float(f).to_uppercase(),
        'E' => format_e(f, spec.prec.unwrap_or(6)).to_uppercase(),
        _ => {
            bad_verb(out, v, verb, spec);
            return;
        }
    };
    let s = if f.is_infinite() {
        if f > 0.0 {
            "+Inf".to_string()
        } else {
            "-Inf".to_string()
        }
    } else if f.is_nan() {
        "NaN".to_string()
    } else {
        s
    };
    let s = if (spec.plus) && !s.starts_with(['-', '+']) {
        format!("+{s}")
    } else if f.is_infinite() && f > 0.0 && !spec.plus {
        s.trim_start_matches('+').to_string()
    } else {
        s
    };
    if spec.zero && !spec.minus && f.is_finite() {
        let w = spec.width.unwrap_or(0);
        let (sign, body) = match s.strip_prefix(['-', '+']) {
            Some(b) => (&s[..1], b),
            None => ("", s.as_str()),
        };
        let n = sign.len() + body.len();
        let zeros = if w > n {
            "0".repeat(w - n)
        } else {
            String::new()
        };
        out.push_str(&format!("{sign}{zeros}{body}"));
    } else {
        pad(out, &s, spec);
    }
}

/// Go's `%x` for float64 (`strconv.FormatFloat(f, 'x', -1, 64)`): `0x1.f4p+09`.
fn format_hex_float(f: f64) -> String {
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0x0p+00".into()
        } else {
            "0x0p+00".into()
        };
    }
    let bits = f.to_bits();
    let sign = if bits >> 63 == 1 { "-" } else { "" };
    let mut exp = ((bits >> 52) & 0x7ff) as i64;
    let mut mant = bits & ((1u64 << 52) - 1);
    if exp == 0 {
        // subnormal: normalise so the leading digit is 1
        exp = 1;
        while mant & (1u64 << 52) == 0 {
            mant <<= 1;
            exp -= 1;
        }
        mant &= (1u64 << 52) - 1;
    }
    let e = exp - 1023;
    let digits = format!("{mant:013x}");
    let digits = digits.trim_end_matches('0');
    let frac = if digits.is_empty() {
        String::new()
    } else {
        format!(".{digits}")
    };
    let esign = if e < 0 { '-' } else { '+' };
    format!("{sign}0x1{frac}p{esign}{:02}", e.abs())
}

/// Go's `%e` with an explicit precision: `1.500000e+00`.
fn format_e(f: f64, prec: usize) -> String {
    fix_exp(&format!("{:.*e}", prec, f))
}

/// Rust prints `1.5e3`/`1.5e-7`; Go prints `1.5e+03`/`1.5e-07`.
fn fix_exp(s: &str) -> String {
    match s.split_once('e') {
        Some((m, e)) => {
            let (sign, digits) = match e.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', e),
            };
            format!("{m}e{sign}{digits:0>2}")
        }
        None => s.to_string(),
    }
}

/// Go's `%g` / `%v` for float64 (`strconv.FormatFloat(f, 'g', prec, 64)`).
pub fn format_g(f: f64, prec: Option<usize>) -> String {
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    if !f.is_finite() {
        return if f.is_nan() {
            "NaN".into()
        } else if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    // digits and exponent of the shortest (or prec-limited) representation
    let sci = match prec {
        None => format!("{f:e}"),
        Some(p) => format!("{:.*e}", p.max(1) - 1, f),
    };
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let neg = mant.starts_with('-');
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    let digits = match prec {
        Some(_) => digits.trim_end_matches('0').to_string(),
        None => digits,
    };
    let digits = if digits.is_empty() {
        "0".to_string()
    } else {
        digits
    };
    let eprec = match prec {
        None => 6,
        Some(p) => {
            let p = p.max(1) as i32;
            if p > digits.len() as i32 && digits.len() as i32 > exp {
                digits.len() as i32
            } else {
                p
            }
        }
    };
    let sign = if neg { "-" } else { "" };
    if exp < -4 || exp >= eprec {
        let m = if digits.len() > 1 {
            format!("{}.{}", &digits[..1], &digits[1..])
        } else {
            digits.clone()
        };
        return format!("{sign}{}", fix_exp(&format!("{m}e{exp}")));
    }
    // %f form with the needed digits
    let s = if exp < 0 {
        format!("0.{}{}", "0".repeat((-exp - 1) as usize), digits)
    } else {
        let int_len = (exp + 1) as usize;
        if digits.len() <= int_len {
            format!("{}{}", digits, "0".repeat(int_len - digits.len()))
        } else {
            format!("{}.{}", &digits[..int_len], &digits[int_len..])
        }
    };
    format!("{sign}{s}")
}

/// Go's `encoding/json` float form.
fn json_float(f: f64) -> String {
    let a = f.abs();
    if a != 0.0 && !(1e-6..1e21).contains(&a) {
        let s = fix_exp(&format!("{f:e}"));
        // Go trims "e-07" to "e-7"
        if let Some((m, e)) = s.split_once("e-0") {
            return format!("{m}e-{e}");
        }
        if let Some((m, e)) = s.split_once("e+0") {
            return format!("{m}e+{e}");
        }
        return s;
    }
    let s = format!("{f}");
    s.trim_end_matches(".0").to_string()
}

/// Go's `encoding/json` string encoding (with HTML escaping, as `json.Marshal`).
pub fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Go's `json.Marshal`; `None` where Go returns an error (struct map keys).
pub fn to_json(v: &Value) -> Option<String> {
    to_json_checked(v).ok()
}

/// Go's `json.Marshal`, with Go's error text.
pub fn to_json_checked(v: &Value) -> Result<String, String> {
    let mut out = String::new();
    json_value(v, &mut out)?;
    Ok(out)
}

fn json_value(v: &Value, out: &mut String) -> Result<(), String> {
    match v {
        Value::Invalid | Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => out.push_str(&i.to_string()),
        Value::Float(f) => {
            if !f.is_finite() {
                return Err(format!("json: unsupported value: {}", format_g(*f, None)));
            }
            out.push_str(&json_float(*f));
        }
        Value::Bytes(b) => {
            out.push('"');
            out.push_str(&base64::engine::general_purpose::STANDARD.encode(b));
            out.push('"');
        }
        Value::Object(o) => match o.to_json() {
            Some(r) => out.push_str(&r?),
            None => match o.underlying() {
                Some(u) => json_value(&u, out)?,
                None => out.push_str("{}"),
            },
        },
        Value::String(s) => json_string(s, out),
        Value::List(l) => {
            if l.nil {
                out.push_str("null");
                return Ok(());
            }
            out.push('[');
            for (i, item) in l.items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_value(item, out)?;
            }
            out.push(']');
        }
        Value::Map(m) => {
            // encoding/json rejects the map type itself when its keys are structs
            let key_ty = crate::funcs::map_key_type(&m.ty);
            if !matches!(key_ty, "string" | "int" | "int64" | crate::value::IFACE) {
                return Err(format!("json: unsupported type: {}", m.ty));
            }
            if m.nil {
                out.push_str("null");
                return Ok(());
            }
            out.push('{');
            for (i, (k, val)) in m.entries.borrow().iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                match k {
                    Value::String(s) => json_string(s, out),
                    Value::Int(n) | Value::Int64(n) => json_string(&n.to_string(), out),
                    other => {
                        return Err(format!(
                            "json: unsupported type: map[{}]{}",
                            other.type_name(),
                            crate::value::IFACE
                        ));
                    }
                }
                out.push(':');
                json_value(val, out)?;
            }
            out.push('}');
        }
        Value::Struct(st) => {
            if st.ty.as_ref() == "*semver.Version" {
                json_string(st.stringer.as_deref().unwrap_or(""), out);
                return Ok(());
            }
            out.push('{');
            let mut first = true;
            json_fields(st, out, &mut first)?;
            out.push('}');
        }
    }
    Ok(())
}

fn json_fields(
    st: &crate::value::Struct,
    out: &mut String,
    first: &mut bool,
) -> Result<(), String> {
    for f in &st.fields {
        if !f.exported {
            continue;
        }
        if f.embedded
            && let Value::Struct(inner) = &f.value
        {
            json_fields(inner, out, first)?;
            continue;
        }
        if !*first {
            out.push(',');
        }
        *first = false;
        json_string(f.name, out);
        out.push(':');
        json_value(&f.value, out)?;
    }
    Ok(())
}

/// Go's `json.MarshalIndent(v, "", "  ")`: `json.Indent` over the compact form.
pub fn to_pretty_json(v: &Value) -> Option<String> {
    let compact = to_json(v)?;
    let mut out = String::with_capacity(compact.len() * 2);
    let mut depth = 0usize;
    let mut in_str = false;
    let mut escaped = false;
    let mut chars = compact.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    while let Some(c) = chars.next() {
        if in_str {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_str = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                let close = if c == '{' { '}' } else { ']' };
                if chars.peek() == Some(&close) {
                    out.push(close);
                    chars.next();
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c => out.push(c),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests;
