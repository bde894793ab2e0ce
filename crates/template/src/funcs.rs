//! The function map: text/template's builtins and sprig's
//! `HermeticTxtFuncMap()`, each with its Go signature (text/template checks
//! argument types against it before the call, with its own error texts).
//! As in Go, a sprig function shadows a builtin of the same name (`slice`).

use std::cell::RefCell;
use std::rc::Rc;

use crate::gofmt;
use crate::object::Signature;
use crate::set::{Closure, Timestamp};
use crate::sprig;
use crate::value::{IFACE, Value};

/// A Go error returned (or a panic recovered) by a template function; the
/// text is Go's, since it ends up in the commit error message.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("{msg}")]
pub struct FuncError {
    pub msg: String,
    /// The errors it wraps (Go's `errors.Unwrap` chain below it).
    pub(crate) chain: Chain,
}

/// Go's `errors.Unwrap` chain below an error: the text of each wrapped
/// error, cut to [`LINK_BYTES`] (Helm reads only the head of each).
pub type Chain = Option<Rc<Link>>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub text: Box<str>,
    pub next: Chain,
}

/// How much of each wrapped error's text is kept in a [`Chain`].
pub const LINK_BYTES: usize = 4096;

/// A chain link of `text` (cut) in front of `next`.
pub fn link(text: &str, next: Chain) -> Chain {
    let mut end = text.len().min(LINK_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Some(Rc::new(Link {
        text: text[..end].into(),
        next,
    }))
}

impl FuncError {
    pub fn new(msg: impl Into<String>) -> FuncError {
        FuncError {
            msg: msg.into(),
            chain: None,
        }
    }
}

pub type FResult = Result<Value, FuncError>;

pub fn ferr<T>(msg: impl Into<String>) -> Result<T, FuncError> {
    Err(FuncError::new(msg))
}

/// The Go type of a parameter of a template function or method, as
/// text/template checks arguments against it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum P {
    /// `interface{}`
    Any,
    /// `reflect.Value` (builtins that see the raw value, including "no value")
    Val,
    Str,
    Int,
    Bool,
    Float,
    /// `map[string]interface{}`
    Dict,
    /// `time.Time`
    Time,
}

pub const DICT: &str = "map[string]interface {}";

impl P {
    pub fn name(self) -> &'static str {
        match self {
            P::Any => IFACE,
            P::Val => "reflect.Value",
            P::Str => "string",
            P::Int => "int",
            P::Bool => "bool",
            P::Float => "float64",
            P::Dict => DICT,
            P::Time => "time.Time",
        }
    }
}

/// The caller-supplied clock and randomness some sprig functions read.
#[derive(Clone, Default)]
pub struct Env {
    pub clock: Option<Rc<dyn Fn() -> Timestamp>>,
    pub rng: Option<Rc<RefCell<dyn FnMut() -> u64>>>,
}

impl Env {
    pub fn now(&self) -> Result<Timestamp, FuncError> {
        match &self.clock {
            Some(c) => Ok(c()),
            None => ferr("no clock: ferroflux renders without one unless the caller supplies it"),
        }
    }

    pub fn random(&self) -> Result<u64, FuncError> {
        match &self.rng {
            Some(r) => match r.try_borrow_mut() {
                Ok(mut f) => Ok((*f)()),
                Err(_) => ferr("random source in use"),
            },
            None => ferr(
                "no source of randomness: ferroflux renders without one unless the caller supplies it",
            ),
        }
    }
}

/// A function that reads the clock or the random source.
#[derive(Clone, Copy)]
pub struct EnvFunc {
    pub params: &'static [P],
    pub variadic: Option<P>,
    pub call: fn(&Env, &[Value]) -> FResult,
}

/// One entry of a function map.
#[derive(Clone)]
pub enum Entry {
    /// text/template's own (`and`/`or`/`call` are special to the executor).
    Builtin(Func),
    Static(Func),
    Env(EnvFunc),
    Closure(Rc<(Signature, Box<Closure>)>),
    /// Helm's, which need the executor.
    Include,
    Tpl,
    Required,
    HelmFail,
    /// A sprig name ferroflux does not implement: it parses, and fails
    /// when called.
    Unsupported,
}

impl Entry {
    /// The Go parameter list.
    pub fn params(&self) -> (&[P], Option<P>) {
        match self {
            Entry::Builtin(f) | Entry::Static(f) => (f.params, f.variadic),
            Entry::Env(f) => (f.params, f.variadic),
            Entry::Closure(c) => (&c.0.params, c.0.variadic),
            Entry::Include | Entry::Tpl | Entry::Required => (&[P::Str, P::Any], None),
            Entry::HelmFail => (&[P::Str], None),
            Entry::Unsupported => (&[], Some(P::Any)),
        }
    }
}

/// The entry of a sprig name.
pub fn sprig_entry(name: &str) -> Entry {
    if let Some(f) = sprig::lookup(name) {
        return Entry::Static(f);
    }
    if let Some(f) = sprig::env_lookup(name) {
        return Entry::Env(f);
    }
    Entry::Unsupported
}

/// One function: fixed parameters, an optional variadic tail, the code.
#[derive(Clone, Copy)]
pub struct Func {
    pub params: &'static [P],
    pub variadic: Option<P>,
    pub call: fn(&[Value]) -> FResult,
}

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

/// Every name sprig's hermetic map defines (sprig 3.3 adds `sha512sum`).
/// Names without an implementation here still parse, as in Go, and fail
/// when called.
pub const SPRIG_NAMES: &[&str] = &[
    "hello",
    "ago",
    "date",
    "date_in_zone",
    "date_modify",
    "dateInZone",
    "dateModify",
    "duration",
    "durationRound",
    "htmlDate",
    "htmlDateInZone",
    "must_date_modify",
    "mustDateModify",
    "mustToDate",
    "now",
    "toDate",
    "unixEpoch",
    "abbrev",
    "abbrevboth",
    "trunc",
    "trim",
    "upper",
    "lower",
    "title",
    "untitle",
    "substr",
    "repeat",
    "trimall",
    "trimAll",
    "trimSuffix",
    "trimPrefix",
    "nospace",
    "initials",
    "swapcase",
    "shuffle",
    "snakecase",
    "camelcase",
    "kebabcase",
    "wrap",
    "wrapWith",
    "contains",
    "hasPrefix",
    "hasSuffix",
    "quote",
    "squote",
    "cat",
    "indent",
    "nindent",
    "replace",
    "plural",
    "sha1sum",
    "sha256sum",
    "sha512sum",
    "adler32sum",
    "toString",
    "atoi",
    "int64",
    "int",
    "float64",
    "seq",
    "toDecimal",
    "split",
    "splitList",
    "splitn",
    "toStrings",
    "until",
    "untilStep",
    "add1",
    "add",
    "sub",
    "div",
    "mod",
    "mul",
    "randInt",
    "add1f",
    "addf",
    "subf",
    "divf",
    "mulf",
    "biggest",
    "max",
    "min",
    "maxf",
    "minf",
    "ceil",
    "floor",
    "round",
    "join",
    "sortAlpha",
    "default",
    "empty",
    "coalesce",
    "all",
    "any",
    "compact",
    "mustCompact",
    "fromJson",
    "toJson",
    "toPrettyJson",
    "toRawJson",
    "mustFromJson",
    "mustToJson",
    "mustToPrettyJson",
    "mustToRawJson",
    "ternary",
    "deepCopy",
    "mustDeepCopy",
    "typeOf",
    "typeIs",
    "typeIsLike",
    "kindOf",
    "kindIs",
    "deepEqual",
    "base",
    "dir",
    "clean",
    "ext",
    "isAbs",
    "osBase",
    "osClean",
    "osDir",
    "osExt",
    "osIsAbs",
    "b64enc",
    "b64dec",
    "b32enc",
    "b32dec",
    "tuple",
    "list",
    "dict",
    "get",
    "set",
    "unset",
    "hasKey",
    "pluck",
    "keys",
    "pick",
    "omit",
    "merge",
    "mergeOverwrite",
    "mustMerge",
    "mustMergeOverwrite",
    "values",
    "append",
    "mustAppend",
    "prepend",
    "mustPrepend",
    "first",
    "mustFirst",
    "rest",
    "mustRest",
    "last",
    "mustLast",
    "initial",
    "mustInitial",
    "reverse",
    "mustReverse",
    "uniq",
    "mustUniq",
    "without",
    "mustWithout",
    "has",
    "mustHas",
    "slice",
    "mustSlice",
    "concat",
    "dig",
    "chunk",
    "mustChunk",
    "bcrypt",
    "htpasswd",
    "genPrivateKey",
    "derivePassword",
    "buildCustomCert",
    "genCA",
    "genCAWithKey",
    "genSelfSignedCert",
    "genSelfSignedCertWithKey",
    "genSignedCert",
    "genSignedCertWithKey",
    "encryptAES",
    "decryptAES",
    "semver",
    "semverCompare",
    "fail",
    "regexMatch",
    "mustRegexMatch",
    "regexFindAll",
    "mustRegexFindAll",
    "regexFind",
    "mustRegexFind",
    "regexReplaceAll",
    "mustRegexReplaceAll",
    "regexReplaceAllLiteral",
    "mustRegexReplaceAllLiteral",
    "regexSplit",
    "mustRegexSplit",
    "regexQuoteMeta",
    "urlParse",
    "urlJoin",
    "randAlphaNum",
    "randAlpha",
    "randAscii",
    "randNumeric",
    "randBytes",
    "uuidv4",
    "env",
    "expandenv",
    "getHostByName",
];

/// sprig's non-hermetic functions, which Flux's map leaves out.
pub const NON_HERMETIC: &[&str] = &[
    "date",
    "date_in_zone",
    "date_modify",
    "now",
    "htmlDate",
    "htmlDateInZone",
    "dateInZone",
    "dateModify",
    "randAlphaNum",
    "randAlpha",
    "randAscii",
    "randNumeric",
    "randBytes",
    "uuidv4",
    "env",
    "expandenv",
    "getHostByName",
];

pub const BUILTINS: &[&str] = &[
    "and", "or", "not", "len", "index", "slice", "print", "printf", "println", "eq", "ne", "lt",
    "le", "gt", "ge", "html", "js", "urlquery", "call",
];

pub fn builtin(name: &str) -> Option<Func> {
    use P::*;
    Some(match name {
        "and" | "or" => v(&[Val], Val, |_| Ok(Value::Invalid)),
        "not" => f(&[Val], |a| Ok(Value::Bool(!a[0].truth()))),
        "len" => f(&[Val], length),
        "index" => v(&[Val], Val, index),
        "slice" => v(&[Val], Val, slice),
        "print" => v(&[], Any, |a| Ok(Value::str(gofmt::sprint(a)))),
        "printf" => v(&[Str], Any, |a| {
            Ok(Value::str(gofmt::sprintf(
                a[0].as_str().unwrap_or_default(),
                &a[1..],
            )))
        }),
        "println" => v(&[], Any, |a| Ok(Value::str(gofmt::sprintln(a)))),
        "eq" => v(&[Val], Val, |a| eq(&a[0], &a[1..]).map(Value::Bool)),
        "ne" => f(&[Val, Val], |a| {
            eq(&a[0], &a[1..2]).map(|b| Value::Bool(!b))
        }),
        "lt" => f(&[Val, Val], |a| lt(&a[0], &a[1]).map(Value::Bool)),
        "le" => f(&[Val, Val], |a| le(&a[0], &a[1]).map(Value::Bool)),
        "gt" => f(&[Val, Val], |a| le(&a[0], &a[1]).map(|b| Value::Bool(!b))),
        "ge" => f(&[Val, Val], |a| lt(&a[0], &a[1]).map(|b| Value::Bool(!b))),
        "html" => v(&[], Any, |a| Ok(Value::str(html_escape(&eval_args(a))))),
        "js" => v(&[], Any, |a| Ok(Value::str(js_escape(&eval_args(a))))),
        "urlquery" => v(&[], Any, |a| Ok(Value::str(query_escape(&eval_args(a))))),
        // exec passes the callee's source text first, as Go 1.2x does.
        "call" => v(&[Val], Val, |a| match &a[1] {
            Value::Invalid | Value::Nil => ferr("call of nil"),
            other => ferr(format!(
                "non-function {} of type {}",
                a[0].as_str().unwrap_or_default(),
                other.type_name()
            )),
        }),
        _ => return None,
    })
}

fn length(a: &[Value]) -> FResult {
    match &a[0] {
        Value::Nil => ferr("len of nil pointer"),
        Value::Invalid => ferr("reflect: call of reflect.Value.Type on zero Value"),
        other => match other.go_len() {
            Some(n) => Ok(Value::Int(n as i64)),
            None => ferr(format!("len of type {}", other.type_name())),
        },
    }
}

fn index_arg(index: &Value, cap: usize) -> Result<usize, FuncError> {
    let x = match index {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Invalid | Value::Nil => return ferr("cannot index slice/array with nil"),
        other => {
            return ferr(format!(
                "cannot index slice/array with type {}",
                other.type_name()
            ));
        }
    };
    if x < 0 || x as usize > cap {
        return ferr(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

/// The key type of a `map[K]V` type name.
pub fn map_key_type(ty: &str) -> &str {
    if ty == "update.ObjectChanges" {
        return "update.ObjectIdentifier";
    }
    let Some(rest) = ty.strip_prefix("map[") else {
        return "";
    };
    let mut depth = 1;
    for (i, c) in rest.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => {
                depth -= 1;
                if depth == 0 {
                    return &rest[..i];
                }
            }
            _ => {}
        }
    }
    ""
}

fn index(a: &[Value]) -> FResult {
    let mut item = a[0].clone();
    if matches!(item, Value::Invalid | Value::Nil) {
        return ferr("index of untyped nil");
    }
    for idx in &a[1..] {
        if let Value::Object(o) = &item
            && let Some(u) = o.underlying()
        {
            item = u;
        }
        item = match &item {
            Value::List(l) => {
                let x = index_arg(idx, l.items.len())?;
                match l.items.get(x) {
                    Some(v) => v.clone(),
                    None => return ferr("reflect: slice index out of range"),
                }
            }
            Value::String(s) => {
                let x = index_arg(idx, s.len())?;
                match s.as_bytes().get(x) {
                    Some(b) => Value::Int(i64::from(*b)),
                    None => return ferr("reflect: string index out of range"),
                }
            }
            Value::Map(m) => {
                let key_ty = map_key_type(&m.ty);
                let key = match (key_ty, idx) {
                    (_, Value::Invalid | Value::Nil) if key_ty != IFACE => {
                        return ferr(format!("value is nil; should be of type {key_ty}"));
                    }
                    ("string", Value::String(_)) | (IFACE, _) => idx.clone(),
                    ("int" | "int64", Value::Int(_) | Value::Int64(_)) => idx.clone(),
                    (kt, other) if other.type_name() == kt => other.clone(),
                    (kt, other) => {
                        return ferr(format!(
                            "value has type {}; should be {kt}",
                            other.type_name()
                        ));
                    }
                };
                Value::map_get(m, &key).unwrap_or_else(|| m.zero.clone())
            }
            Value::Bytes(b) => {
                let x = index_arg(idx, b.len())?;
                match b.get(x) {
                    Some(v) => Value::Int(i64::from(*v)),
                    None => return ferr("reflect: slice index out of range"),
                }
            }
            Value::Nil => return ferr("index of nil pointer"),
            other => return ferr(format!("can't index item of type {}", other.type_name())),
        };
    }
    Ok(item)
}

fn slice(a: &[Value]) -> FResult {
    let item = &a[0];
    let idxs = &a[1..];
    if matches!(item, Value::Invalid | Value::Nil) {
        return ferr("slice of untyped nil");
    }
    if idxs.len() > 3 {
        return ferr(format!("too many slice indexes: {}", idxs.len()));
    }
    let len = match item {
        Value::String(s) => {
            if idxs.len() == 3 {
                return ferr("cannot 3-index slice a string");
            }
            s.len()
        }
        Value::List(l) => l.items.len(),
        other => return ferr(format!("can't slice item of type {}", other.type_name())),
    };
    let mut idx = [0, len, len];
    for (i, x) in idxs.iter().enumerate() {
        idx[i] = index_arg(x, len)?;
    }
    if idx[0] > idx[1] {
        return ferr(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    if idxs.len() == 3 && idx[1] > idx[2] {
        return ferr(format!("invalid slice index: {} > {}", idx[1], idx[2]));
    }
    Ok(match item {
        Value::String(s) => Value::str(String::from_utf8_lossy(&s.as_bytes()[idx[0]..idx[1]])),
        Value::List(l) => Value::list(&l.ty, l.items[idx[0]..idx[1]].to_vec()),
        _ => Value::Invalid,
    })
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Kind {
    Invalid,
    Bool,
    Int,
    Float,
    String,
    Other,
}

fn basic_kind(v: &Value) -> Kind {
    match v {
        Value::Invalid => Kind::Invalid,
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) | Value::Int64(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::String(_) => Kind::String,
        _ => Kind::Other,
    }
}

/// Go's reflect "nil" for eq: no value, a nil interface, map or slice.
fn is_nil(v: &Value) -> bool {
    match v {
        Value::Invalid | Value::Nil => true,
        Value::List(l) => l.nil,
        Value::Map(m) => m.nil,
        _ => false,
    }
}

/// Whether `==` is defined on the Go type (structs of comparable fields).
fn comparable(v: &Value) -> bool {
    match v {
        Value::List(_) | Value::Map(_) => false,
        Value::Struct(s) => s.fields.iter().all(|f| comparable(&f.value)),
        _ => true,
    }
}

/// text/template's `eq` (Go 1.26): basic kinds compare by value; other
/// values of the same kind compare with Go's `==` when it is defined.
fn eq(a1: &Value, rest: &[Value]) -> Result<bool, FuncError> {
    if rest.is_empty() {
        return ferr("missing argument for comparison");
    }
    // indirectInterface turns a nil interface into no value
    let valid = |v: &Value| !matches!(v, Value::Invalid | Value::Nil);
    let basic = |v: &Value| match basic_kind(v) {
        Kind::Other => Kind::Invalid,
        k if valid(v) => k,
        _ => Kind::Invalid,
    };
    let k1 = basic(a1);
    for a in rest {
        let k2 = basic(a);
        let truth = if k1 != k2 {
            if valid(a1) && valid(a) {
                return ferr(format!(
                    "incompatible types for comparison: {} and {}",
                    a1.type_name(),
                    a.type_name()
                ));
            }
            false
        } else {
            match (a1, a) {
                (Value::Bool(x), Value::Bool(y)) => x == y,
                (Value::Int(x) | Value::Int64(x), Value::Int(y) | Value::Int64(y)) => x == y,
                (Value::Float(x), Value::Float(y)) => x == y,
                (Value::String(x), Value::String(y)) => x == y,
                _ => {
                    let same_kind = !valid(a1) || !valid(a) || a1.kind_name() == a.kind_name();
                    if !same_kind {
                        return ferr(format!(
                            "non-comparable types {}: {}, {}: {}",
                            gofmt::sprintf("%s", std::slice::from_ref(a1)),
                            a1.type_name(),
                            a.type_name(),
                            gofmt::print_value(a)
                        ));
                    }
                    if is_nil(a1) || is_nil(a) {
                        is_nil(a) == is_nil(a1)
                    } else if !comparable(a) {
                        return ferr(format!(
                            "non-comparable type {}: {}",
                            gofmt::sprintf("%s", std::slice::from_ref(a)),
                            a.type_name()
                        ));
                    } else {
                        a1.type_name() == a.type_name()
                            && gofmt::print_value(a1) == gofmt::print_value(a)
                    }
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

fn lt(a: &Value, b: &Value) -> Result<bool, FuncError> {
    let (k1, k2) = (basic_kind(a), basic_kind(b));
    if matches!(k1, Kind::Invalid | Kind::Other) || matches!(k2, Kind::Invalid | Kind::Other) {
        return ferr("invalid type for comparison");
    }
    if k1 != k2 {
        return ferr(format!(
            "incompatible types for comparison: {} and {}",
            a.type_name(),
            b.type_name()
        ));
    }
    Ok(match (a, b) {
        (Value::Int(x) | Value::Int64(x), Value::Int(y) | Value::Int64(y)) => x < y,
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::String(x), Value::String(y)) => x.as_bytes() < y.as_bytes(),
        _ => return ferr("invalid type for comparison"),
    })
}

fn le(a: &Value, b: &Value) -> Result<bool, FuncError> {
    if lt(a, b)? {
        return Ok(true);
    }
    eq(a, std::slice::from_ref(b))
}

/// text/template's `evalArgs` for html/js/urlquery.
fn eval_args(a: &[Value]) -> String {
    if let [Value::String(s)] = a {
        return s.to_string();
    }
    let printable: Vec<Value> = a
        .iter()
        .map(|v| match v {
            Value::Invalid | Value::Nil => Value::str("<no value>"),
            other => other.clone(),
        })
        .collect();
    gofmt::sprint(&printable)
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u00{:02X}", c as u32)),
            c if (c as u32) < 0x80 => out.push(c),
            c if c.is_control() || c.is_whitespace() => {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char);
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
