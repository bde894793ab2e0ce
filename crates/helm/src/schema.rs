//! `values.schema.json` validation as Helm v4 does it
//! (helm-semantics.md §2.6): santhosh-tekuri/jsonschema v6's checks and
//! its error tree and wording (`- at '/age': minimum: got -5, want 0`,
//! numbers as golang.org/x/text prints them: `1,000`, `1×10⁰⁶`), for the
//! keywords charts use, drafts 4 to 2020-12 (`$schema` picks the draft;
//! none is 2020-12).
//!
//! `format` is asserted for drafts 4–7 as the library asserts it (never for
//! 2019-09/2020-12, as Helm sets no format vocabulary) for `ipv4`,
//! `hostname`, `email` and `uuid`; other formats are not checked.
//! Not done: `unevaluated*`, `$dynamicRef`/
//! `$recursiveRef`, `content*`, and `$ref`s outside the schema document
//! (Helm fetches `http(s)`/`file` references; here they are an error).
//! Where the library visits object properties in Go's random map order,
//! errors come in key order.

// One `if` per keyword, as the library checks them, reads better than
// collapsed let-chains here.
#![allow(clippy::collapsible_if)]

use serde_json::{Map, Value};

use crate::chart::Chart;

/// Why values did not validate (Helm's whole message), or why a schema
/// could not be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SchemaError {
    pub message: String,
}

/// Helm's `ValidateAgainstSchema` wrapped as `helm template` words it:
/// `chart` (its `values.schema.json`) against `values` (the coalesced
/// values), then each subchart against `values[<name>]`.
pub fn validate_chart(chart: &Chart, values: &Map<String, Value>) -> Result<(), SchemaError> {
    let mut out = String::new();
    validate_tree(chart, values, &mut out);
    if out.is_empty() {
        return Ok(());
    }
    Err(SchemaError {
        message: format!(
            "values don't meet the specifications of the schema(s) in the following chart(s):\n{out}"
        ),
    })
}

fn validate_tree(chart: &Chart, values: &Map<String, Value>, out: &mut String) {
    if let Some(schema) = &chart.schema {
        if let Err(e) = validate_single(values, schema) {
            out.push_str(&format!("{}:\n{e}", chart.name()));
        }
    }
    for sub in &chart.dependencies {
        match values.get(sub.name()) {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => validate_tree(sub, m, out),
            Some(other) => out.push_str(&format!(
                "{}:\ninvalid type for values: expected object (map), got {}\n",
                sub.name(),
                go_type(other)
            )),
        }
    }
}

fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// Helm's `ValidateAgainstSingleSchema`: `Ok` when valid, else the text
/// Helm prints for this chart (each line `- at '<pointer>': <message>`,
/// causes indented, a final newline).
pub fn validate_single(values: &Map<String, Value>, schema: &[u8]) -> Result<(), String> {
    let root: Value = serde_json::from_slice(schema).map_err(|e| e.to_string())?;
    let draft = match root.get("$schema").and_then(Value::as_str) {
        None => 2020,
        Some(s) if s.contains("draft-04") => 4,
        Some(s) if s.contains("draft-06") => 6,
        Some(s) if s.contains("draft-07") => 7,
        Some(s) if s.contains("2019-09") => 2019,
        Some(s) if s.contains("2020-12") => 2020,
        Some(s) => return Err(format!("failing loading {s:?}: unsupported $schema")),
    };
    let v = Validator {
        root: &root,
        draft,
        depth: 0,
    };
    let instance = Value::Object(values.clone());
    match v.validate(&root, &instance, &mut Vec::new(), false) {
        Ok(()) => Ok(()),
        Err(e) => {
            let causes = if e.group { e.causes } else { vec![e] };
            let mut sb = String::new();
            for c in &causes {
                c.display(&mut sb, 1);
            }
            // Helm trims the library's first line and its newline.
            Err(format!("{}\n", sb.trim_start_matches('\n')))
        }
    }
}

/// One node of the library's error tree.
#[derive(Debug, Clone)]
struct VErr {
    loc: Vec<String>,
    message: String,
    causes: Vec<VErr>,
    /// `kind.Group` ("validation failed" over several errors).
    group: bool,
    /// `kind.Reference`: not shown when it has exactly one cause.
    reference: bool,
}

impl VErr {
    fn new(loc: &[String], message: String) -> VErr {
        VErr {
            loc: loc.to_vec(),
            message,
            causes: Vec::new(),
            group: false,
            reference: false,
        }
    }

    fn display(&self, sb: &mut String, mut indent: usize) {
        if !(self.reference && self.causes.len() == 1) {
            sb.push('\n');
            for _ in 0..indent.saturating_sub(1) {
                sb.push_str("  ");
            }
            sb.push_str("- ");
            indent += 1;
            sb.push_str(&format!(
                "at {}: {}",
                quote(&json_ptr(&self.loc)),
                self.message
            ));
        }
        for c in &self.causes {
            c.display(sb, indent);
        }
    }
}

fn json_ptr(tokens: &[String]) -> String {
    tokens
        .iter()
        .map(|t| format!("/{}", t.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// The library's `quote`: Go `%q` inside single quotes.
fn quote(s: &str) -> String {
    let q = crate::strvals::go_quote(s);
    let inner = &q[1..q.len() - 1];
    format!("'{}'", inner.replace("\\\"", "\"").replace('\'', "\\'"))
}

/// Deepest nesting of schema evaluation (`$ref` loops end here).
const MAX_DEPTH: usize = 256;

struct Validator<'s> {
    root: &'s Value,
    draft: u32,
    depth: usize,
}

const TYPE_ORDER: [&str; 7] = [
    "null", "boolean", "number", "integer", "string", "array", "object",
];

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn is_integer(v: &Value) -> bool {
    match v {
        Value::Number(n) => {
            n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        _ => false,
    }
}

/// The library's `equals`: numbers by value, maps and lists deeply.
fn equals(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (Decimal::of(x), Decimal::of(y)) {
            (Some(x), Some(y)) => x.cmp(&y) == std::cmp::Ordering::Equal,
            _ => false,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| equals(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| equals(v, w)))
        }
        _ => a == b,
    }
}

/// The library's `display` of a primitive (`fmt.Sprintf("%v")`).
fn display(v: &Value) -> String {
    match v {
        Value::String(s) => quote(s),
        Value::Array(_) | Value::Object(_) => "value".to_string(),
        Value::Null => "<nil>".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) if n.is_f64() => crate::values::go_format_float(n.as_f64().unwrap_or(0.0)),
        Value::Number(n) => n.to_string(),
    }
}

/// An integer as golang.org/x/text prints `%d` in English: `1,234,567`.
fn group_int(n: i128) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// A float as golang.org/x/text prints `%v` in English: Go's choice of
/// plain or exponent form, the integer part grouped, the exponent as
/// `×10⁰⁶`.
fn xtext_float(f: f64) -> String {
    let s = crate::values::go_format_float(f);
    if let Some((mant, exp)) = s.split_once('e') {
        let (sign, digits) = match exp.strip_prefix('-') {
            Some(d) => ("⁻", d),
            None => ("", exp.trim_start_matches('+')),
        };
        let sup: String = digits
            .chars()
            .map(|c| match c {
                '0' => '⁰',
                '1' => '¹',
                '2' => '²',
                '3' => '³',
                '4' => '⁴',
                '5' => '⁵',
                '6' => '⁶',
                '7' => '⁷',
                '8' => '⁸',
                _ => '⁹',
            })
            .collect();
        return format!("{mant}×10{sign}{sup}");
    }
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s.as_str(), None),
    };
    let neg = int.starts_with('-');
    let grouped = group_int(int.trim_start_matches('-').parse::<i128>().unwrap_or(0));
    let mut out = if neg { format!("-{grouped}") } else { grouped };
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// A JSON number as an exact decimal `mantissa × 10^exp` (Go's `big.Rat`
/// of its `%v` text, for comparisons and `multipleOf`).
#[derive(Clone, Copy, Debug)]
struct Decimal {
    neg: bool,
    mant: u128,
    exp: i32,
}

impl Decimal {
    fn of(n: &serde_json::Number) -> Option<Decimal> {
        if let Some(i) = n.as_i64() {
            return Some(Decimal {
                neg: i < 0,
                mant: u128::from(i.unsigned_abs()),
                exp: 0,
            });
        }
        if let Some(u) = n.as_u64() {
            return Some(Decimal {
                neg: false,
                mant: u128::from(u),
                exp: 0,
            });
        }
        let f = n.as_f64()?;
        let s = format!("{f:e}");
        let (neg, s) = match s.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, s.as_str()),
        };
        let (m, e) = s.split_once('e')?;
        let e: i32 = e.parse().ok()?;
        let frac_len = m.split_once('.').map_or(0, |(_, f)| f.len());
        let digits: String = m.chars().filter(char::is_ascii_digit).collect();
        Some(Decimal {
            neg,
            mant: digits.parse().ok()?,
            exp: e - i32::try_from(frac_len).ok()?,
        })
    }

    fn to_f64(self) -> f64 {
        let s = format!(
            "{}{}e{}",
            if self.neg { "-" } else { "" },
            self.mant,
            self.exp
        );
        s.parse().unwrap_or(0.0)
    }

    fn cmp(&self, other: &Decimal) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        let zero = |d: &Decimal| d.mant == 0;
        let sign = |d: &Decimal| {
            if zero(d) {
                0
            } else if d.neg {
                -1
            } else {
                1
            }
        };
        let (sa, sb) = (sign(self), sign(other));
        if sa != sb {
            return sa.cmp(&sb);
        }
        if sa == 0 {
            return Ordering::Equal;
        }
        let mag = self.cmp_abs(other);
        if sa < 0 { mag.reverse() } else { mag }
    }

    /// |self| vs |other|, by aligning exponents (big gaps decided by digit
    /// counts).
    fn cmp_abs(&self, other: &Decimal) -> std::cmp::Ordering {
        let ndigits = |m: u128| m.to_string().len() as i64;
        let ma = ndigits(self.mant) + i64::from(self.exp);
        let mb = ndigits(other.mant) + i64::from(other.exp);
        if ma != mb {
            return ma.cmp(&mb);
        }
        // Same magnitude: compare digit strings padded to equal length.
        let (mut a, mut b) = (self.mant.to_string(), other.mant.to_string());
        let len = a.len().max(b.len());
        a.extend(std::iter::repeat_n('0', len - a.len()));
        b.extend(std::iter::repeat_n('0', len - b.len()));
        a.cmp(&b)
    }

    /// `self / other` is an integer (`multipleOf`).
    fn is_multiple_of(&self, other: &Decimal) -> bool {
        if other.mant == 0 {
            return false;
        }
        if self.mant == 0 {
            return true;
        }
        let e = i64::from(self.exp) - i64::from(other.exp);
        if e >= 0 {
            // mant_a * 10^e divisible by mant_b.
            let mut r = self.mant % other.mant;
            for _ in 0..e.min(200) {
                r = (r * 10) % other.mant;
                if r == 0 {
                    break;
                }
            }
            r == 0
        } else {
            let Ok(k) = u32::try_from(-e) else {
                return false;
            };
            let Some(div) = 10u128
                .checked_pow(k)
                .and_then(|p| p.checked_mul(other.mant))
            else {
                return false;
            };
            self.mant.is_multiple_of(div)
        }
    }
}

type Res = Result<(), VErr>;

impl Validator<'_> {
    fn resolve(&self, reference: &str) -> Option<&Value> {
        let frag = reference.strip_prefix('#')?;
        if frag.is_empty() {
            return Some(self.root);
        }
        let mut cur = self.root;
        for raw in frag.strip_prefix('/')?.split('/') {
            let tok = percent_decode(raw).replace("~1", "/").replace("~0", "~");
            cur = match cur {
                Value::Object(m) => m.get(&tok)?,
                Value::Array(a) => a.get(tok.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(cur)
    }

    /// `validator.validate` of `v` (at `loc`) against `s`.
    fn validate(&self, s: &Value, v: &Value, loc: &mut Vec<String>, quiet: bool) -> Res {
        let fail = |loc: &[String], m: String| VErr::new(loc, m);
        if self.depth > MAX_DEPTH {
            return Err(fail(loc, "schema nests too deeply (a $ref cycle?)".into()));
        }
        let s = match s {
            Value::Bool(true) => return Ok(()),
            Value::Bool(false) => return Err(fail(loc, "false schema".into())),
            Value::Object(m) => m,
            _ => return Ok(()),
        };
        let sub = Validator {
            root: self.root,
            draft: self.draft,
            depth: self.depth + 1,
        };
        // type --
        if let Some(t) = s.get("type") {
            let want: Vec<&str> = match t {
                Value::String(x) => vec![x.as_str()],
                Value::Array(xs) => xs.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            if !want.is_empty() {
                let got = json_type(v);
                let ok = want.contains(&got) || (want.contains(&"integer") && is_integer(v));
                if !ok {
                    let ordered: Vec<&str> = TYPE_ORDER
                        .iter()
                        .copied()
                        .filter(|t| want.contains(t))
                        .collect();
                    return Err(fail(
                        loc,
                        format!("got {got}, want {}", ordered.join(" or ")),
                    ));
                }
            }
        }
        // const --
        if self.draft >= 6 {
            if let Some(c) = s.get("const") {
                if !equals(v, c) {
                    let m = match c {
                        Value::Array(_) | Value::Object(_) => "'const' failed".to_string(),
                        other => format!("value must be {}", display(other)),
                    };
                    return Err(fail(loc, m));
                }
            }
        }
        // enum --
        if let Some(Value::Array(items)) = s.get("enum") {
            if !items.iter().any(|i| equals(v, i)) {
                let primitive = items.iter().all(|i| !i.is_array() && !i.is_object());
                let m = if !primitive {
                    "'enum' failed".to_string()
                } else if items.len() == 1 {
                    format!("value must be {}", display(&items[0]))
                } else {
                    let all: Vec<String> = items.iter().map(display).collect();
                    format!("value must be one of {}", all.join(", "))
                };
                return Err(fail(loc, m));
            }
        }
        // format -- (asserted by the library for drafts before 2019-09)
        if self.draft < 2019 {
            if let (Some(Value::String(name)), Value::String(st)) = (s.get("format"), v) {
                if let Some(Err(why)) = check_format(name, st) {
                    return Err(fail(
                        loc,
                        format!("{} is not valid {name}: {why}", quote(st)),
                    ));
                }
            }
        }
        let mut errors: Vec<VErr> = Vec::new();
        // $ref --
        if let Some(Value::String(r)) = s.get("$ref") {
            let result = sub.validate_ref(r, v, loc, quiet);
            if self.draft < 2019 {
                return result;
            }
            if let Err(e) = result {
                errors.push(e);
            }
        }
        match v {
            Value::Object(obj) => sub.validate_object(s, obj, loc, quiet, &mut errors),
            Value::Array(arr) => sub.validate_array(s, arr, loc, quiet, &mut errors),
            Value::String(st) => self.validate_string(s, st, loc, &mut errors),
            Value::Number(n) => self.validate_number(s, n, loc, &mut errors),
            _ => {}
        }
        if errors.is_empty() || !quiet {
            sub.validate_conditions(s, v, loc, quiet, &mut errors);
        }
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => {
                let mut g = fail(loc, "validation failed".into());
                g.group = true;
                g.causes = errors;
                Err(g)
            }
        }
    }

    fn validate_ref(&self, r: &str, v: &Value, loc: &mut Vec<String>, quiet: bool) -> Res {
        // Helm's URN loader: an unresolved URN is the permissive `true`.
        if r.starts_with("urn:") {
            return Ok(());
        }
        let Some(target) = self.resolve(r) else {
            return Err(VErr::new(loc, format!("unresolved $ref {}", quote(r))));
        };
        match self.validate(target, v, loc, quiet) {
            Ok(()) => Ok(()),
            Err(e) => {
                let mut re = VErr::new(loc, "validation failed".into());
                re.reference = true;
                re.causes = if e.group { e.causes } else { vec![e] };
                Err(re)
            }
        }
    }

    fn validate_object(
        &self,
        s: &Map<String, Value>,
        obj: &Map<String, Value>,
        loc: &mut Vec<String>,
        quiet: bool,
        errors: &mut Vec<VErr>,
    ) {
        let count = |k: &str| s.get(k).and_then(Value::as_u64);
        if let Some(min) = count("minProperties") {
            if (obj.len() as u64) < min {
                errors.push(VErr::new(
                    loc,
                    format!(
                        "minProperties: got {}, want {}",
                        group_int(obj.len() as i128),
                        group_int(i128::from(min))
                    ),
                ));
            }
        }
        if let Some(max) = count("maxProperties") {
            if (obj.len() as u64) > max {
                errors.push(VErr::new(
                    loc,
                    format!(
                        "maxProperties: got {}, want {}",
                        group_int(obj.len() as i128),
                        group_int(i128::from(max))
                    ),
                ));
            }
        }
        if let Some(Value::Array(req)) = s.get("required") {
            let missing: Vec<&str> = req
                .iter()
                .filter_map(Value::as_str)
                .filter(|k| !obj.contains_key(*k))
                .collect();
            if !missing.is_empty() {
                errors.push(VErr::new(loc, missing_message(&missing)));
            }
        }
        if quiet && !errors.is_empty() {
            return;
        }
        if self.draft < 2019 {
            if let Some(Value::Object(deps)) = s.get("dependencies") {
                for (p, dep) in deps {
                    if !obj.contains_key(p) {
                        continue;
                    }
                    match dep {
                        Value::Array(names) => {
                            let missing: Vec<&str> = names
                                .iter()
                                .filter_map(Value::as_str)
                                .filter(|k| !obj.contains_key(*k))
                                .collect();
                            if !missing.is_empty() {
                                errors.push(VErr::new(loc, dependent_message(&missing, p)));
                            }
                        }
                        schema => {
                            if let Err(e) =
                                self.validate(schema, &Value::Object(obj.clone()), loc, quiet)
                            {
                                errors.push(e);
                            }
                        }
                    }
                }
            }
        }
        let props = s.get("properties").and_then(Value::as_object);
        let patterns: Vec<(regex::Regex, &Value)> = s
            .get("patternProperties")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(p, sch)| regex::Regex::new(p).ok().map(|r| (r, sch)))
                    .collect()
            })
            .unwrap_or_default();
        let mut additional = Vec::new();
        for (name, value) in obj {
            if quiet && !errors.is_empty() {
                return;
            }
            let mut evaluated = false;
            loc.push(name.clone());
            if let Some(sch) = props.and_then(|p| p.get(name)) {
                evaluated = true;
                if let Err(e) = self.validate(sch, value, loc, quiet) {
                    errors.push(e);
                }
            }
            for (re, sch) in &patterns {
                if re.is_match(name) {
                    evaluated = true;
                    if let Err(e) = self.validate(sch, value, loc, quiet) {
                        errors.push(e);
                    }
                }
            }
            if !evaluated {
                match s.get("additionalProperties") {
                    Some(Value::Bool(false)) => additional.push(name.clone()),
                    Some(sch @ Value::Object(_)) => {
                        if let Err(e) = self.validate(sch, value, loc, quiet) {
                            errors.push(e);
                        }
                    }
                    _ => {}
                }
            }
            loc.pop();
        }
        if !additional.is_empty() {
            let names: Vec<String> = additional.iter().map(|n| quote(n)).collect();
            errors.push(VErr::new(
                loc,
                format!("additional properties {} not allowed", names.join(", ")),
            ));
        }
        if self.draft == 4 {
            return;
        }
        if let Some(pn) = s.get("propertyNames") {
            for name in obj.keys() {
                if let Err(e) =
                    self.validate(pn, &Value::String(name.clone()), &mut Vec::new(), quiet)
                {
                    let causes = if e.group { e.causes } else { vec![e] };
                    // The library validates the name as a new document:
                    // its error sits at the root ('').
                    let mut pe = VErr::new(&[], format!("invalid propertyName {}", quote(name)));
                    pe.causes = causes;
                    errors.push(pe);
                }
            }
        }
        if self.draft == 6 {
            return;
        }
        if self.draft >= 2019 {
            if let Some(Value::Object(ds)) = s.get("dependentSchemas") {
                for (p, sch) in ds {
                    if obj.contains_key(p) {
                        if let Err(e) = self.validate(sch, &Value::Object(obj.clone()), loc, quiet)
                        {
                            errors.push(e);
                        }
                    }
                }
            }
            if let Some(Value::Object(dr)) = s.get("dependentRequired") {
                for (p, names) in dr {
                    if !obj.contains_key(p) {
                        continue;
                    }
                    let missing: Vec<&str> = names
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .filter(|k| !obj.contains_key(*k))
                        .collect();
                    if !missing.is_empty() {
                        errors.push(VErr::new(loc, dependent_message(&missing, p)));
                    }
                }
            }
        }
    }

    fn validate_array(
        &self,
        s: &Map<String, Value>,
        arr: &[Value],
        loc: &mut Vec<String>,
        quiet: bool,
        errors: &mut Vec<VErr>,
    ) {
        let count = |k: &str| s.get(k).and_then(Value::as_u64);
        let len = arr.len() as i128;
        if let Some(min) = count("minItems") {
            if (arr.len() as u64) < min {
                errors.push(VErr::new(
                    loc,
                    format!(
                        "minItems: got {}, want {}",
                        group_int(len),
                        group_int(i128::from(min))
                    ),
                ));
            }
        }
        if let Some(max) = count("maxItems") {
            if (arr.len() as u64) > max {
                errors.push(VErr::new(
                    loc,
                    format!(
                        "maxItems: got {}, want {}",
                        group_int(len),
                        group_int(i128::from(max))
                    ),
                ));
            }
        }
        if s.get("uniqueItems") == Some(&Value::Bool(true)) && arr.len() > 1 {
            'outer: for i in 1..arr.len() {
                for j in 0..i {
                    if equals(&arr[i], &arr[j]) {
                        errors.push(VErr::new(loc, format!("items at {j} and {i} are equal")));
                        break 'outer;
                    }
                }
            }
        }
        let mut check = |sch: &Value, i: usize, item: &Value, errors: &mut Vec<VErr>| {
            loc.push(i.to_string());
            if let Err(e) = self.validate(sch, item, loc, quiet) {
                errors.push(e);
            }
            loc.pop();
        };
        if self.draft < 2020 {
            let mut evaluated = 0;
            match s.get("items") {
                Some(Value::Array(schemas)) => {
                    for (i, item) in arr.iter().enumerate().take(schemas.len()) {
                        check(&schemas[i], i, item, errors);
                    }
                    evaluated = arr.len().min(schemas.len());
                }
                Some(sch) => {
                    for (i, item) in arr.iter().enumerate() {
                        check(sch, i, item, errors);
                    }
                    evaluated = arr.len();
                }
                None => {}
            }
            match s.get("additionalItems") {
                Some(Value::Bool(false)) if evaluated != arr.len() => errors.push(VErr::new(
                    loc,
                    format!(
                        "last {} additionalItem(s) not allowed",
                        arr.len() - evaluated
                    ),
                )),
                Some(sch @ Value::Object(_)) => {
                    // The library names these by their offset after the
                    // evaluated ones.
                    for (i, item) in arr[evaluated..].iter().enumerate() {
                        check(sch, i, item, errors);
                    }
                }
                _ => {}
            }
        } else {
            let prefix = s.get("prefixItems").and_then(Value::as_array);
            let evaluated = prefix.map_or(0, |p| p.len().min(arr.len()));
            if let Some(p) = prefix {
                for (i, item) in arr.iter().enumerate().take(evaluated) {
                    check(&p[i], i, item, errors);
                }
            }
            if let Some(sch) = s.get("items") {
                for (i, item) in arr[evaluated..].iter().enumerate() {
                    check(sch, i, item, errors);
                }
            }
        }
        if self.draft >= 6 {
            if let Some(contains) = s.get("contains") {
                let mut errs = Vec::new();
                let mut matched = Vec::new();
                for (i, item) in arr.iter().enumerate() {
                    loc.push(i.to_string());
                    match self.validate(contains, item, loc, quiet) {
                        Ok(()) => matched.push(i),
                        Err(e) => errs.push(e),
                    }
                    loc.pop();
                }
                let min = if self.draft >= 2019 {
                    count("minContains")
                } else {
                    None
                };
                let list = |m: &[usize]| {
                    m.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(" ")
                };
                if let Some(min) = min {
                    if (matched.len() as u64) < min {
                        let m = if matched.is_empty() {
                            format!(
                                "min {} items required to match contains schema, but none matched",
                                group_int(i128::from(min))
                            )
                        } else {
                            format!(
                                "min {} items required to match contains schema, but matched {} items at {}",
                                group_int(i128::from(min)),
                                group_int(matched.len() as i128),
                                list(&matched)
                            )
                        };
                        let mut e = VErr::new(loc, m);
                        e.causes = errs;
                        errors.push(e);
                    }
                } else if matched.is_empty() {
                    let mut e = VErr::new(loc, "no items match contains schema".into());
                    e.causes = errs;
                    errors.push(e);
                }
                if let Some(max) = if self.draft >= 2019 {
                    count("maxContains")
                } else {
                    None
                } {
                    if (matched.len() as u64) > max {
                        errors.push(VErr::new(
                            loc,
                            format!(
                                "max {} items required to match contains schema, but matched {} items at {}",
                                group_int(i128::from(max)),
                                group_int(matched.len() as i128),
                                list(&matched)
                            ),
                        ));
                    }
                }
            }
        }
    }

    fn validate_string(
        &self,
        s: &Map<String, Value>,
        st: &str,
        loc: &[String],
        errors: &mut Vec<VErr>,
    ) {
        let len = st.chars().count() as i128;
        if let Some(min) = s.get("minLength").and_then(Value::as_u64) {
            if len < i128::from(min) {
                errors.push(VErr::new(
                    loc,
                    format!(
                        "minLength: got {}, want {}",
                        group_int(len),
                        group_int(i128::from(min))
                    ),
                ));
            }
        }
        if let Some(max) = s.get("maxLength").and_then(Value::as_u64) {
            if len > i128::from(max) {
                errors.push(VErr::new(
                    loc,
                    format!(
                        "maxLength: got {}, want {}",
                        group_int(len),
                        group_int(i128::from(max))
                    ),
                ));
            }
        }
        if let Some(Value::String(p)) = s.get("pattern") {
            if let Ok(re) = regex::Regex::new(p) {
                if !re.is_match(st) {
                    errors.push(VErr::new(
                        loc,
                        format!("{} does not match pattern {}", quote(st), quote(p)),
                    ));
                }
            }
        }
    }

    fn validate_number(
        &self,
        s: &Map<String, Value>,
        n: &serde_json::Number,
        loc: &[String],
        errors: &mut Vec<VErr>,
    ) {
        let Some(got) = Decimal::of(n) else { return };
        let num = |k: &str| s.get(k).and_then(Value::as_number).and_then(Decimal::of);
        let show = |d: Decimal| xtext_float(d.to_f64());
        let (mut minimum, mut maximum) = (num("minimum"), num("maximum"));
        let (mut ex_min, mut ex_max) = (None, None);
        if self.draft == 4 {
            if s.get("exclusiveMinimum") == Some(&Value::Bool(true)) {
                ex_min = minimum.take();
            }
            if s.get("exclusiveMaximum") == Some(&Value::Bool(true)) {
                ex_max = maximum.take();
            }
        } else {
            ex_min = num("exclusiveMinimum");
            ex_max = num("exclusiveMaximum");
        }
        use std::cmp::Ordering::{Greater, Less};
        if let Some(m) = minimum.filter(|m| got.cmp(m) == Less) {
            errors.push(VErr::new(
                loc,
                format!("minimum: got {}, want {}", show(got), show(m)),
            ));
        }
        if let Some(m) = maximum.filter(|m| got.cmp(m) == Greater) {
            errors.push(VErr::new(
                loc,
                format!("maximum: got {}, want {}", show(got), show(m)),
            ));
        }
        if let Some(m) = ex_min.filter(|m| got.cmp(m) != Greater) {
            errors.push(VErr::new(
                loc,
                format!("exclusiveMinimum: got {}, want {}", show(got), show(m)),
            ));
        }
        if let Some(m) = ex_max.filter(|m| got.cmp(m) != Less) {
            errors.push(VErr::new(
                loc,
                format!("exclusiveMaximum: got {}, want {}", show(got), show(m)),
            ));
        }
        if let Some(m) = num("multipleOf").filter(|m| !got.is_multiple_of(m)) {
            errors.push(VErr::new(
                loc,
                format!("multipleOf: got {}, want {}", show(got), show(m)),
            ));
        }
    }

    fn validate_conditions(
        &self,
        s: &Map<String, Value>,
        v: &Value,
        loc: &mut Vec<String>,
        quiet: bool,
        errors: &mut Vec<VErr>,
    ) {
        if let Some(not) = s.get("not") {
            if self.validate(not, v, loc, true).is_ok() {
                errors.push(VErr::new(loc, "'not' failed".into()));
            }
        }
        let list = |k: &str| s.get(k).and_then(Value::as_array);
        if let Some(all) = list("allOf").filter(|a| !a.is_empty()) {
            let mut errs = Vec::new();
            for sch in all {
                if let Err(e) = self.validate(sch, v, loc, quiet) {
                    errs.push(e);
                    if quiet {
                        break;
                    }
                }
            }
            if !errs.is_empty() {
                let mut e = VErr::new(loc, "'allOf' failed".into());
                e.causes = errs;
                errors.push(e);
            }
        }
        if let Some(any) = list("anyOf").filter(|a| !a.is_empty()) {
            let mut errs = Vec::new();
            let mut matched = false;
            for sch in any {
                match self.validate(sch, v, loc, quiet) {
                    Ok(()) => {
                        matched = true;
                        break;
                    }
                    Err(e) => errs.push(e),
                }
            }
            if !matched {
                let mut e = VErr::new(loc, "'anyOf' failed".into());
                e.causes = errs;
                errors.push(e);
            }
        }
        if let Some(one) = list("oneOf").filter(|a| !a.is_empty()) {
            let mut errs = Vec::new();
            let mut matched: Option<usize> = None;
            for (i, sch) in one.iter().enumerate() {
                match self.validate(sch, v, loc, quiet || matched.is_some()) {
                    Err(e) => {
                        if matched.is_none() {
                            errs.push(e);
                        }
                    }
                    Ok(()) => match matched {
                        None => matched = Some(i),
                        Some(first) => {
                            errors.push(VErr::new(
                                loc,
                                format!("'oneOf' failed, subschemas {first}, {i} matched"),
                            ));
                            break;
                        }
                    },
                }
            }
            if matched.is_none() {
                let mut e = VErr::new(loc, "'oneOf' failed, none matched".into());
                e.causes = errs;
                errors.push(e);
            }
        }
        if self.draft >= 7 {
            if let Some(cond) = s.get("if") {
                let branch = if self.validate(cond, v, loc, true).is_ok() {
                    s.get("then")
                } else {
                    s.get("else")
                };
                if let Some(b) = branch {
                    if let Err(e) = self.validate(b, v, loc, quiet) {
                        errors.push(e);
                    }
                }
            }
        }
    }
}

/// The library's format checks that charts use, with its messages; `None`
/// for formats not checked here (see the module documentation).
fn check_format(name: &str, s: &str) -> Option<Result<(), String>> {
    Some(match name {
        "ipv4" => check_ipv4(s),
        "hostname" => check_hostname(s),
        "email" => check_email(s)?,
        "uuid" => check_uuid(s),
        _ => return None,
    })
}

/// Go's `%q` of a rune.
fn quote_rune(c: char) -> String {
    match c {
        '\'' => "'\\''".to_string(),
        '"' => "'\"'".to_string(),
        c => {
            let q = crate::strvals::go_quote(&c.to_string());
            format!("'{}'", &q[1..q.len() - 1])
        }
    }
}

fn check_ipv4(s: &str) -> Result<(), String> {
    let groups: Vec<&str> = s.split('.').collect();
    if groups.len() != 4 {
        return Err("expected four decimals".into());
    }
    for g in groups {
        if g.len() > 1 && g.starts_with('0') {
            return Err("leading zeros".into());
        }
        let digits = g.strip_prefix(['+', '-']).unwrap_or(g);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "strconv.Atoi: parsing {}: invalid syntax",
                crate::strvals::go_quote(g)
            ));
        }
        let n: i128 = g.parse().unwrap_or(i128::MAX);
        if !(0..=255).contains(&n) {
            return Err("decimal must be between 0 and 255".into());
        }
    }
    Ok(())
}

fn check_hostname(s: &str) -> Result<(), String> {
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.len() > 253 {
        return Err("more than 253 characters long".into());
    }
    for label in s.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err("label must be 1 to 63 characters long".into());
        }
        if label.starts_with('-') {
            return Err("label starts with hyphen".into());
        }
        if label.ends_with('-') {
            return Err("label ends with hyphen".into());
        }
        if let Some(c) = label
            .chars()
            .find(|c| !c.is_ascii_alphanumeric() && *c != '-')
        {
            return Err(format!("invalid character {}", quote_rune(c)));
        }
    }
    Ok(())
}

/// `None` for addresses whose domain is an IPv6 literal (not checked).
fn check_email(s: &str) -> Option<Result<(), String>> {
    if s.len() > 254 {
        return Some(Err("more than 255 characters long".into()));
    }
    let Some(at) = s.rfind('@') else {
        return Some(Err("missing @".into()));
    };
    let (local, domain) = (&s[..at], &s[at + 1..]);
    if local.len() > 64 {
        return Some(Err("local part more than 64 characters long".into()));
    }
    if local.len() > 1 && local.starts_with('"') {
        let inner = &local[1..local.len() - 1];
        if inner.contains('\\') || inner.contains('"') {
            return Some(Err(
                "backslash and quote are not allowed within quoted local part".into(),
            ));
        }
    } else {
        if local.starts_with('.') {
            return Some(Err("starts with dot".into()));
        }
        if local.ends_with('.') {
            return Some(Err("ends with dot".into()));
        }
        if local.contains("..") {
            return Some(Err("consecutive dots".into()));
        }
        if let Some(c) = local
            .chars()
            .find(|c| !c.is_ascii_alphanumeric() && !".!#$%&'*+-/=?^_`{|}~".contains(*c))
        {
            return Some(Err(format!("invalid character {}", quote_rune(c))));
        }
    }
    if let Some(inner) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        if inner.starts_with("IPv6:") {
            return None;
        }
        return Some(check_ipv4(inner).map_err(|e| format!("invalid ipv4 address: {e}")));
    }
    Some(check_hostname(domain).map_err(|e| format!("invalid domain: {e}")))
}

fn check_uuid(s: &str) -> Result<(), String> {
    let lens = [8, 4, 4, 4, 12];
    let groups: Vec<&str> = s.split('-').collect();
    if groups.len() != lens.len() {
        return Err(format!("must have {} elements", lens.len()));
    }
    for (i, g) in groups.iter().enumerate() {
        if g.len() != lens[i] {
            return Err(format!(
                "element {} must be {} characters long",
                i + 1,
                lens[i]
            ));
        }
        if let Some(c) = g.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(format!("non-hex character {}", quote_rune(c)));
        }
    }
    Ok(())
}

fn missing_message(missing: &[&str]) -> String {
    if missing.len() == 1 {
        return format!("missing property {}", quote(missing[0]));
    }
    let q: Vec<String> = missing.iter().map(|m| quote(m)).collect();
    format!("missing properties {}", q.join(", "))
}

fn dependent_message(missing: &[&str], prop: &str) -> String {
    let q: Vec<String> = missing.iter().map(|m| quote(m)).collect();
    format!(
        "properties {} required, if {} exists",
        q.join(", "),
        quote(prop)
    )
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(x) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(x);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests;
