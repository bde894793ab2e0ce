//! Writing a new value into an existing scalar without changing its style.
//!
//! Quoted scalars keep their quotes (only the bytes between them change).
//! A plain scalar stays plain unless the new value would no longer read back
//! as the same string: then it is double-quoted, as Flux does through kyaml's
//! `FormatNonStringStyle` for values that YAML 1.1 reads as non-strings
//! (`1.10`, `123`, `yes`, `on`, `null`, `~`, `1e3`, ...), and as yaml.v3 does
//! for values that cannot be plain at all (empty, `: `, ` #`, indicators).

/// How the scalar is written in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
}

/// The bytes to put in place of the old value: for quoted styles the bytes
/// between the quotes, for plain the whole scalar.
pub fn encode(value: &str, style: Style, in_flow: bool) -> String {
    match style {
        Style::DoubleQuoted => escape_double(value),
        Style::SingleQuoted => value.replace('\'', "''"),
        Style::Plain if plain_safe(value, in_flow) => value.to_string(),
        Style::Plain => format!("\"{}\"", escape_double(value)),
    }
}

/// True when `value` can stand between single quotes and read back as
/// itself: single-quoted scalars have no escapes, so no control character.
pub fn single_quotable(value: &str) -> bool {
    !value.chars().any(|c| c.is_control() || c == '\u{feff}')
}

/// Escapes for the inside of a double-quoted scalar.
pub fn escape_double(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || c == '\u{feff}' => {
                out.push_str(&format!("\\u{:04X}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out
}

/// True when `value` may stand as a plain scalar right after `key:` and
/// tabs only: saphyr (the parser of this crate and of the manifest loader)
/// refuses a word or a `-` there.
pub fn plain_after_tab(value: &str) -> bool {
    !value.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// True when `value` written as a plain scalar reads back as this string
/// under both YAML 1.1 (Kubernetes' apiserver, yaml.v2) and YAML 1.2.
pub fn plain_safe(value: &str, in_flow: bool) -> bool {
    let Some(first) = value.chars().next() else {
        return false;
    };
    if is_yaml11_non_string(value) || is_yaml12_non_string(value) {
        return false;
    }
    if value.chars().any(|c| c.is_control() || c == '\u{feff}') {
        return false;
    }
    if value.starts_with([' ', '\t']) || value.ends_with([' ', '\t', ':']) {
        return false;
    }
    let second_is_space = value.chars().nth(1).is_none_or(|c| c == ' ' || c == '\t');
    match first {
        '-' | '?' | ':' if second_is_space => return false,
        '-' | '?' | ':' => {}
        ',' | '[' | ']' | '{' | '}' | '#' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%'
        | '@' | '`' => return false,
        _ => {}
    }
    if value.starts_with("---") || value.starts_with("...") {
        return false;
    }
    if value.contains(": ")
        || value.contains(":\t")
        || value.contains(" #")
        || value.contains("\t#")
    {
        return false;
    }
    if in_flow && value.contains([',', '[', ']', '{', '}']) {
        return false;
    }
    // Flow-context `:` followed by a flow indicator also ends a plain key.
    !(in_flow && value.contains(":,"))
}

/// What yaml.v2 (YAML 1.1) resolves to a non-string when unquoted: null,
/// booleans (`y`, `yes`, `on`, ...), integers (decimal, `0b`, `0x`, octal,
/// with `_`), floats, `.inf`, `.nan`. Timestamps stay strings in yaml.v2
/// when decoded into `interface{}`, so they are not listed.
pub fn is_yaml11_non_string(value: &str) -> bool {
    if value.is_empty() || value.contains('\n') {
        return false;
    }
    const WORDS: &[&str] = &[
        "~", "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
        "true", "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF",
        ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan",
        ".NaN", ".NAN", "<<",
    ];
    if WORDS.contains(&value) {
        return true;
    }
    if !value.starts_with(|c: char| c == '+' || c == '-' || c == '.' || c.is_ascii_digit()) {
        return false;
    }
    let plain: String = value.chars().filter(|&c| c != '_').collect();
    is_go_int(&plain) || is_yaml_float(&plain)
}

/// YAML 1.2 core schema non-strings not already covered by YAML 1.1
/// (`0o17`, `1e3` without a sign in the exponent).
pub fn is_yaml12_non_string(value: &str) -> bool {
    is_go_int(value) || is_yaml_float(value)
}

/// Go's `strconv.ParseInt(s, 0, 64)` syntax (ignoring overflow, which yaml.v2
/// then reads as a float anyway).
fn is_go_int(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (digits, radix) = if let Some(d) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (d, 16)
    } else if let Some(d) = s.strip_prefix("0b").or_else(|| s.strip_prefix("0B")) {
        (d, 2)
    } else if let Some(d) = s.strip_prefix("0o").or_else(|| s.strip_prefix("0O")) {
        (d, 8)
    } else {
        (s, 10)
    };
    !digits.is_empty() && digits.chars().all(|c| c.is_digit(radix))
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$` (yaml.v2's
/// `yamlStyleFloat`, which YAML 1.2 core also accepts).
fn is_yaml_float(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => digits(frac),
        Some((int, frac)) => digits(int) && (frac.is_empty() || digits(frac)),
        None => digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e)));
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests;
