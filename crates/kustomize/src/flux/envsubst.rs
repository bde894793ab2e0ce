//! Flux's envsubst dialect (`github.com/fluxcd/pkg/envsubst` v1.7.0, a fork
//! of drone/envsubst), which `postBuild` substitution runs on each resource's
//! YAML text.
//!
//! The scanner is reproduced with its quirks, because they decide what
//! parses: `$$` collapses to `$` everywhere (the escape is removed from the
//! buffer), inside `${...}` a backslash escapes `/` and `\` only where the
//! function scans with escapes (the `/pattern/replacement` arguments), a NUL
//! character ends the input as the end of the text does, and a lookahead
//! after `:` steps back by the width of the character it peeked at (so
//! `${v:é}` is a bad substitution while `${v:x}` is not). Function arguments
//! are evaluated before the variable is looked up, so in strict mode
//! `${set:=${unset}}` fails. Offsets and lengths count bytes, as Go's do.
//!
//! Hostile input is bounded: `${` nesting depth, output size and the work of
//! glob trimming (`${v#pattern}` tries every prefix) have limits, and the
//! cases where Go would panic (a negative substring length) are errors.

use std::fmt;

/// Limits on what one evaluation may do.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Deepest `${...}` inside `${...}`.
    pub max_depth: usize,
    /// Largest output, and largest intermediate argument, in bytes.
    pub max_output: usize,
    /// Pattern-matching steps (`#`, `##`, `%`, `%%`) over the whole run.
    pub max_match_steps: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 64,
            max_output: 64 << 20,
            max_match_steps: 200_000_000,
        }
    }
}

/// Why a text could not be substituted. The first five are Go's own errors,
/// worded as Go words them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("bad substitution")]
    BadSubstitution,
    #[error("missing closing brace")]
    MissingClosingBrace,
    #[error("unable to parse variable name")]
    ParseVariableName,
    #[error("unable to parse substitution within function")]
    ParseFuncSubstitution,
    #[error("unable to parse default function")]
    ParseDefaultFunction,
    /// A variable referenced without a default is not defined (strict mode).
    #[error("variable not set (strict mode): {}", go_quote(.0))]
    VariableNotSet(String),
    #[error("substitutions nest deeper than {0} levels")]
    TooDeep(usize),
    #[error("the substituted text would exceed {0} bytes")]
    TooLarge(usize),
    #[error("pattern matching in the substitution exceeds {0} steps")]
    TooMuchWork(u64),
    /// Go slices out of range here and panics; we refuse.
    #[error("substring ${{{param}:{offset}:{length}}}: the length must not be negative")]
    NegativeLength {
        param: String,
        offset: i64,
        length: i64,
    },
}

/// Go's `%q` of a variable name (names are letters, digits and `_`, so only
/// the quotes matter; anything else is escaped as Go would).
fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Substitute `input`. `mapping` answers a variable's value and whether it
/// exists; a missing variable is an error unless a default operator guards
/// it. The result is bytes: byte offsets can cut a UTF-8 character, as in Go.
pub fn eval(
    input: &str,
    mapping: &dyn Fn(&str) -> (String, bool),
    limits: &Limits,
) -> Result<Vec<u8>, Error> {
    let nodes = Parser::new(input, limits.max_depth).parse_any()?;
    let mut ev = Evaluator {
        mapping,
        limits,
        steps: 0,
    };
    let mut out = Vec::new();
    for n in &nodes {
        ev.eval(n, &mut out)?;
    }
    Ok(out)
}

// ---------------------------------------------------------------- scanner

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Illegal,
    Eof,
    Ident,
    Lbrack,
    Rbrack,
}

const SCAN_IDENT: u8 = 1;
const SCAN_LBRACK: u8 = 2;
const SCAN_RBRACK: u8 = 4;
const SCAN_ESCAPE: u8 = 8;

const DOLLAR: u8 = 1;
const BACKSLASH: u8 = 2;
const ESCAPE_ALL: u8 = DOLLAR | BACKSLASH;

/// Go's `eof` rune: the end of the buffer, and also a NUL character.
const EOF: char = '\0';

#[derive(Debug, Clone, Copy)]
enum Accept {
    Rune,
    Ident,
    Colon,
    OneHash,
    NotClosing,
    HashFunc,
    PercentFunc,
    DefaultFunc,
    ReplaceFunc,
    OneEqual,
    OneColon,
    RejectColonClose,
    Slash,
    NotSlash,
    CasingFunc,
}

impl Accept {
    /// `i` is the byte length of the token so far, this character included.
    fn accepts(self, r: char, i: usize) -> bool {
        match self {
            Accept::Rune => true,
            Accept::Ident => is_go_letter(r) || is_go_digit(r) || r == '_',
            Accept::Colon => r == ':',
            Accept::OneHash => r == '#' && i == 1,
            Accept::NotClosing => r != '}',
            Accept::HashFunc => r == '#' && i < 3,
            Accept::PercentFunc => r == '%' && i < 3,
            Accept::DefaultFunc => {
                (i == 1 && r == ':') || (i == 2 && matches!(r, '=' | '-' | '?' | '+'))
            }
            Accept::ReplaceFunc => (i == 1 && r == '/') || (i == 2 && matches!(r, '/' | '#' | '%')),
            Accept::OneEqual => i == 1 && r == '=',
            Accept::OneColon => i == 1 && r == ':',
            Accept::RejectColonClose => r != ':' && r != '}',
            Accept::Slash => r == '/',
            Accept::NotSlash => r != '/',
            Accept::CasingFunc => (r == ',' || r == '^') && i < 3,
        }
    }
}

/// Go's `unicode.IsLetter` (general category L).
fn is_go_letter(r: char) -> bool {
    if r.is_ascii() {
        return r.is_ascii_alphabetic();
    }
    static LETTER: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    LETTER
        .get_or_init(|| regex::Regex::new(r"^\p{L}$").expect("a valid class"))
        .is_match(r.encode_utf8(&mut [0; 4]))
}

/// Go's `unicode.IsDigit` (general category Nd).
fn is_go_digit(r: char) -> bool {
    if r.is_ascii() {
        return r.is_ascii_digit();
    }
    static DIGIT: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    DIGIT
        .get_or_init(|| regex::Regex::new(r"^\p{Nd}$").expect("a valid class"))
        .is_match(r.encode_utf8(&mut [0; 4]))
}

struct Scanner {
    /// The text; escapes are removed from it as they are scanned.
    buf: String,
    pos: usize,
    start: usize,
    width: usize,
    mode: u8,
    escape_chars: u8,
    accept: Accept,
}

impl Scanner {
    fn read(&mut self) -> char {
        match self.buf[self.pos..].chars().next() {
            None => {
                self.width = 0;
                EOF
            }
            Some(r) => {
                self.width = r.len_utf8();
                self.pos += self.width;
                r
            }
        }
    }

    /// Step back by the width of the last character read (which is not
    /// always the one before `pos`: Go's quirk, kept).
    fn unread(&mut self) {
        self.pos = self.pos.saturating_sub(self.width);
        while !self.buf.is_char_boundary(self.pos) {
            // Only reachable if a step back lands inside a character, which
            // Go's byte slicing tolerates; move to the character's start.
            self.pos -= 1;
        }
    }

    /// Drop the escape character just read (always one ASCII byte).
    fn skip(&mut self) {
        self.buf.remove(self.pos - 1);
    }

    fn peek(&mut self) -> char {
        let r = self.read();
        self.unread();
        r
    }

    fn string(&self) -> &str {
        &self.buf[self.start..self.pos]
    }

    fn scan(&mut self) -> Token {
        self.start = self.pos;
        let r = self.read();
        if r == EOF {
            return Token::Eof;
        }
        if self.scan_lbrack(r) {
            return Token::Lbrack;
        }
        if self.scan_rbrack(r) {
            return Token::Rbrack;
        }
        if self.scan_ident(r) {
            return Token::Ident;
        }
        Token::Illegal
    }

    fn scan_ident(&mut self, r: char) -> bool {
        if self.mode & SCAN_IDENT == 0 {
            return false;
        }
        if self.scan_escaped(r) {
            self.skip();
        } else if !self.accept.accepts(r, self.pos - self.start) {
            return false;
        }
        loop {
            let r = self.read();
            if r == EOF {
                self.unread();
                break;
            }
            if self.scan_lbrack(r) {
                self.unread();
                self.unread();
                break;
            }
            if self.scan_escaped(r) {
                self.skip();
                continue;
            }
            if !self.accept.accepts(r, self.pos - self.start) {
                self.unread();
                break;
            }
        }
        true
    }

    fn scan_lbrack(&mut self, r: char) -> bool {
        if self.mode & SCAN_LBRACK == 0 {
            return false;
        }
        if r == '$' {
            if self.read() == '{' {
                return true;
            }
            self.unread();
        }
        false
    }

    fn scan_rbrack(&self, r: char) -> bool {
        self.mode & SCAN_RBRACK != 0 && r == '}'
    }

    fn scan_escaped(&mut self, r: char) -> bool {
        if self.mode & SCAN_ESCAPE == 0 {
            return false;
        }
        if r == '$' && self.escape_chars & DOLLAR != 0 && self.peek() == '$' {
            return true;
        }
        r == '\\' && self.escape_chars & BACKSLASH != 0 && matches!(self.peek(), '/' | '\\')
    }
}

// ----------------------------------------------------------------- parser

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Func {
        param: String,
        name: String,
        args: Vec<Node>,
    },
}

struct Parser {
    s: Scanner,
    depth: usize,
    max_depth: usize,
}

impl Parser {
    fn new(input: &str, max_depth: usize) -> Self {
        Parser {
            s: Scanner {
                buf: input.to_string(),
                pos: 0,
                start: 0,
                width: 0,
                mode: 0,
                escape_chars: 0,
                accept: Accept::Rune,
            },
            depth: 0,
            max_depth,
        }
    }

    /// Go recurses once per token here; a loop gives the same list.
    fn parse_any(&mut self) -> Result<Vec<Node>, Error> {
        let mut nodes = Vec::new();
        loop {
            self.s.accept = Accept::Rune;
            self.s.mode = SCAN_IDENT | SCAN_LBRACK | SCAN_ESCAPE;
            self.s.escape_chars = DOLLAR;
            match self.s.scan() {
                Token::Ident => nodes.push(Node::Text(self.s.string().to_string())),
                Token::Eof => return Ok(nodes),
                Token::Lbrack => nodes.push(self.parse_func()?),
                _ => return Err(Error::BadSubstitution),
            }
        }
    }

    fn parse_func(&mut self) -> Result<Node, Error> {
        if self.depth >= self.max_depth {
            return Err(Error::TooDeep(self.max_depth));
        }
        self.depth += 1;
        let node = self.parse_func_body();
        self.depth -= 1;
        node
    }

    fn parse_func_body(&mut self) -> Result<Node, Error> {
        self.s.escape_chars = ESCAPE_ALL;
        if self.s.peek() == '#' {
            return self.parse_len_func();
        }
        self.s.accept = Accept::Ident;
        self.s.mode = SCAN_IDENT;
        let name = match self.s.scan() {
            Token::Ident => self.s.string().to_string(),
            _ => return Err(Error::ParseVariableName),
        };
        match self.s.peek() {
            ':' => return self.parse_default_or_substr(name),
            '=' => return self.parse_default_func(name),
            ',' | '^' => return self.parse_casing_func(name),
            '/' => return self.parse_replace_func(name),
            '#' => return self.parse_remove_func(name, Accept::HashFunc),
            '%' => return self.parse_remove_func(name, Accept::PercentFunc),
            _ => {}
        }
        self.s.accept = Accept::Ident;
        self.s.mode = SCAN_RBRACK;
        match self.s.scan() {
            Token::Rbrack => Ok(Node::Func {
                param: name,
                name: String::new(),
                args: Vec::new(),
            }),
            _ => Err(Error::MissingClosingBrace),
        }
    }

    fn parse_param(&mut self, accept: Accept, mode: u8) -> Result<Node, Error> {
        self.s.accept = accept;
        self.s.mode = mode | SCAN_LBRACK;
        match self.s.scan() {
            Token::Lbrack => self.parse_func(),
            Token::Ident | Token::Rbrack => Ok(Node::Text(self.s.string().to_string())),
            _ => Err(Error::ParseFuncSubstitution),
        }
    }

    fn parse_default_or_substr(&mut self, name: String) -> Result<Node, Error> {
        self.s.read();
        let r = self.s.peek();
        self.s.unread();
        match r {
            '=' | '-' | '?' | '+' => self.parse_default_func(name),
            _ => self.parse_substr_func(name),
        }
    }

    /// The operator token of a function: `name` of the node.
    fn operator(&mut self, accept: Accept, error: Error) -> Result<String, Error> {
        self.s.accept = accept;
        self.s.mode = SCAN_IDENT;
        match self.s.scan() {
            Token::Ident => Ok(self.s.string().to_string()),
            _ => Err(error),
        }
    }

    fn parse_substr_func(&mut self, param: String) -> Result<Node, Error> {
        let name = self.operator(Accept::OneColon, Error::BadSubstitution)?;
        let mut args = vec![self.parse_param(Accept::RejectColonClose, SCAN_IDENT)?];
        self.s.accept = Accept::Colon;
        self.s.mode = SCAN_IDENT | SCAN_RBRACK;
        match self.s.scan() {
            Token::Rbrack => return Ok(Node::Func { param, name, args }),
            Token::Ident => {}
            _ => return Err(Error::BadSubstitution),
        }
        args.push(self.parse_param(Accept::NotClosing, SCAN_IDENT)?);
        self.consume_rbrack()?;
        Ok(Node::Func { param, name, args })
    }

    fn parse_remove_func(&mut self, param: String, accept: Accept) -> Result<Node, Error> {
        let name = self.operator(accept, Error::BadSubstitution)?;
        let args = vec![self.parse_param(Accept::NotClosing, SCAN_IDENT)?];
        self.consume_rbrack()?;
        Ok(Node::Func { param, name, args })
    }

    fn parse_replace_func(&mut self, param: String) -> Result<Node, Error> {
        let name = self.operator(Accept::ReplaceFunc, Error::BadSubstitution)?;
        let mut args = vec![self.parse_param(Accept::NotSlash, SCAN_IDENT | SCAN_ESCAPE)?];
        self.operator(Accept::Slash, Error::BadSubstitution)?;
        if self.s.peek() != '}' {
            args.push(self.parse_param(Accept::NotClosing, SCAN_IDENT | SCAN_ESCAPE)?);
        }
        self.consume_rbrack()?;
        Ok(Node::Func { param, name, args })
    }

    fn parse_default_func(&mut self, param: String) -> Result<Node, Error> {
        let accept = if self.s.peek() == '=' {
            Accept::OneEqual
        } else {
            Accept::DefaultFunc
        };
        let name = self.operator(accept, Error::ParseDefaultFunction)?;
        let mut args = Vec::new();
        loop {
            if self.s.peek() == '}' {
                self.consume_rbrack()?;
                return Ok(Node::Func { param, name, args });
            }
            args.push(self.parse_param(Accept::NotClosing, SCAN_IDENT)?);
        }
    }

    fn parse_casing_func(&mut self, param: String) -> Result<Node, Error> {
        let name = self.operator(Accept::CasingFunc, Error::BadSubstitution)?;
        self.consume_rbrack()?;
        Ok(Node::Func {
            param,
            name,
            args: Vec::new(),
        })
    }

    fn parse_len_func(&mut self) -> Result<Node, Error> {
        let name = self.operator(Accept::OneHash, Error::BadSubstitution)?;
        let param = self.operator(Accept::Ident, Error::BadSubstitution)?;
        self.consume_rbrack()?;
        Ok(Node::Func {
            param,
            name,
            args: Vec::new(),
        })
    }

    fn consume_rbrack(&mut self) -> Result<(), Error> {
        self.s.mode = SCAN_RBRACK;
        if self.s.scan() != Token::Rbrack {
            return Err(Error::BadSubstitution);
        }
        Ok(())
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Text(t) => f.write_str(t),
            Node::Func { param, name, .. } => write!(f, "${{{param}{name}...}}"),
        }
    }
}

// -------------------------------------------------------------- evaluator

struct Evaluator<'a> {
    mapping: &'a dyn Fn(&str) -> (String, bool),
    limits: &'a Limits,
    steps: u64,
}

/// Operators that supply their own value when the variable is unset.
fn is_default_op(name: &str) -> bool {
    matches!(name, "-" | "+" | "=" | "?" | ":-" | ":+" | ":=" | ":?")
}

impl Evaluator<'_> {
    fn write(&self, out: &mut Vec<u8>, bytes: &[u8]) -> Result<(), Error> {
        if out.len().saturating_add(bytes.len()) > self.limits.max_output {
            return Err(Error::TooLarge(self.limits.max_output));
        }
        out.extend_from_slice(bytes);
        Ok(())
    }

    fn eval(&mut self, node: &Node, out: &mut Vec<u8>) -> Result<(), Error> {
        match node {
            Node::Text(t) => self.write(out, t.as_bytes()),
            Node::Func { param, name, args } => {
                let mut values = Vec::with_capacity(args.len());
                for a in args {
                    let mut buf = Vec::new();
                    self.eval(a, &mut buf)?;
                    values.push(buf);
                }
                let (v, exists) = (self.mapping)(param);
                if !exists && !is_default_op(name) {
                    return Err(Error::VariableNotSet(param.clone()));
                }
                let result = self.apply(param, name, v.as_bytes(), &values)?;
                self.write(out, &result)
            }
        }
    }

    fn apply(
        &mut self,
        param: &str,
        name: &str,
        s: &[u8],
        args: &[Vec<u8>],
    ) -> Result<Vec<u8>, Error> {
        let max = self.limits.max_output;
        Ok(match name {
            "," => first_mapped(s, simple_lower),
            ",," => go_map_case(s, simple_lower, |b| b.to_ascii_lowercase()),
            "^" => first_mapped(s, simple_upper),
            "^^" => go_map_case(s, simple_upper, |b| b.to_ascii_uppercase()),
            "#" if args.is_empty() => s.len().to_string().into_bytes(),
            "#" => self.trim_shortest(s, &args[0])?,
            "##" => self.trim_longest(s, &args[0])?,
            "%" => {
                let r = self.trim_shortest(&go_reverse(s), &go_reverse(&args[0]))?;
                go_reverse(&r)
            }
            "%%" => {
                let r = self.trim_longest(&go_reverse(s), &go_reverse(&args[0]))?;
                go_reverse(&r)
            }
            ":" => substr(param, s, args)?,
            "/#" => match args {
                [old, new] if s.starts_with(old) => go_replace(s, old, new, Some(1), max)?,
                _ => s.to_vec(),
            },
            "/%" => match args {
                [old, new] if s.ends_with(old) => {
                    let mut r = s[..s.len() - old.len()].to_vec();
                    r.extend_from_slice(new);
                    r
                }
                _ => s.to_vec(),
            },
            "/" => match args {
                [] => s.to_vec(),
                [old] => go_replace(s, old, b"", Some(1), max)?,
                [old, new, ..] => go_replace(s, old, new, Some(1), max)?,
            },
            "//" => match args {
                [] => s.to_vec(),
                [old] => go_replace(s, old, b"", None, max)?,
                [old, new, ..] => go_replace(s, old, new, None, max)?,
            },
            // Every default operator, and any unknown one, is "the value,
            // or the arguments joined when the value is empty".
            _ => {
                if s.is_empty() && !args.is_empty() {
                    let total: usize = args.iter().map(Vec::len).sum();
                    if total > max {
                        return Err(Error::TooLarge(max));
                    }
                    args.concat()
                } else {
                    s.to_vec()
                }
            }
        })
    }

    fn trim_shortest(&mut self, s: &[u8], pattern: &[u8]) -> Result<Vec<u8>, Error> {
        let mut shortest = 0;
        for i in 0..s.len() {
            match self.glob(pattern, &s[..s.len() - i])? {
                None => return Ok(s.to_vec()),
                Some(true) => shortest = s.len() - i,
                Some(false) => {}
            }
        }
        Ok(s[shortest..].to_vec())
    }

    fn trim_longest(&mut self, s: &[u8], pattern: &[u8]) -> Result<Vec<u8>, Error> {
        for i in 0..s.len() {
            match self.glob(pattern, &s[..s.len() - i])? {
                None => return Ok(s.to_vec()),
                Some(true) => return Ok(s[s.len() - i..].to_vec()),
                Some(false) => {}
            }
        }
        Ok(s.to_vec())
    }

    /// The fork of Go's `path.Match` envsubst carries (a trailing `*`
    /// matches `/` too). `None` is Go's `ErrBadPattern`.
    fn glob(&mut self, mut pattern: &[u8], mut name: &[u8]) -> Result<Option<bool>, Error> {
        'pattern: while !pattern.is_empty() {
            let (star, chunk, rest) = scan_chunk(pattern);
            pattern = rest;
            if star && chunk.is_empty() {
                return Ok(Some(true));
            }
            let (t, ok, bad) = self.match_chunk(chunk, name)?;
            if ok && (t.is_empty() || !pattern.is_empty()) {
                name = t;
                continue;
            }
            if bad {
                return Ok(None);
            }
            if star {
                for i in 0..name.len() {
                    let (t, ok, bad) = self.match_chunk(chunk, &name[i + 1..])?;
                    if ok {
                        if pattern.is_empty() && !t.is_empty() {
                            continue;
                        }
                        name = t;
                        continue 'pattern;
                    }
                    if bad {
                        return Ok(None);
                    }
                }
            }
            return Ok(Some(false));
        }
        Ok(Some(name.is_empty()))
    }

    /// (rest, matched, bad pattern)
    fn match_chunk<'s>(
        &mut self,
        mut chunk: &[u8],
        mut s: &'s [u8],
    ) -> Result<(&'s [u8], bool, bool), Error> {
        const NO: (&[u8], bool, bool) = (&[], false, false);
        const BAD: (&[u8], bool, bool) = (&[], false, true);
        while !chunk.is_empty() {
            self.steps += 1;
            if self.steps > self.limits.max_match_steps {
                return Err(Error::TooMuchWork(self.limits.max_match_steps));
            }
            if s.is_empty() {
                return Ok(NO);
            }
            match chunk[0] {
                b'[' => {
                    let (r, n) = decode_rune(s);
                    s = &s[n..];
                    chunk = &chunk[1..];
                    let mut not_negated = true;
                    if chunk.first() == Some(&b'^') {
                        not_negated = false;
                        chunk = &chunk[1..];
                    }
                    let mut matched = false;
                    let mut nrange = 0;
                    loop {
                        if chunk.first() == Some(&b']') && nrange > 0 {
                            chunk = &chunk[1..];
                            break;
                        }
                        let Some((lo, rest)) = get_esc(chunk) else {
                            return Ok(BAD);
                        };
                        chunk = rest;
                        let mut hi = lo;
                        if chunk[0] == b'-' {
                            let Some((h, rest)) = get_esc(&chunk[1..]) else {
                                return Ok(BAD);
                            };
                            hi = h;
                            chunk = rest;
                        }
                        if lo <= r && r <= hi {
                            matched = true;
                        }
                        nrange += 1;
                    }
                    if matched != not_negated {
                        return Ok(NO);
                    }
                }
                b'?' => {
                    let (_, n) = decode_rune(s);
                    s = &s[n..];
                    chunk = &chunk[1..];
                }
                c => {
                    let c = if c == b'\\' {
                        chunk = &chunk[1..];
                        match chunk.first() {
                            None => return Ok(BAD),
                            Some(c) => *c,
                        }
                    } else {
                        c
                    };
                    if c != s[0] {
                        return Ok(NO);
                    }
                    s = &s[1..];
                    chunk = &chunk[1..];
                }
            }
        }
        Ok((s, true, false))
    }
}

pub fn scan_chunk(mut pattern: &[u8]) -> (bool, &[u8], &[u8]) {
    let mut star = false;
    while pattern.first() == Some(&b'*') {
        pattern = &pattern[1..];
        star = true;
    }
    let mut in_range = false;
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            b'\\' if i + 1 < pattern.len() => i += 1,
            b'[' => in_range = true,
            b']' => in_range = false,
            b'*' if !in_range => break,
            _ => {}
        }
        i += 1;
    }
    (star, &pattern[..i], &pattern[i..])
}

/// A possibly escaped character of a class; `None` is a bad pattern. As in
/// Go, a class that ends the pattern right after a character is bad.
pub fn get_esc(mut chunk: &[u8]) -> Option<(u32, &[u8])> {
    if chunk.is_empty() || chunk[0] == b'-' || chunk[0] == b']' {
        return None;
    }
    if chunk[0] == b'\\' {
        chunk = &chunk[1..];
        if chunk.is_empty() {
            return None;
        }
    }
    let (r, n) = decode_rune(chunk);
    if r == 0xFFFD && n == 1 {
        return None;
    }
    let rest = &chunk[n..];
    if rest.is_empty() {
        return None;
    }
    Some((r, rest))
}

/// Go's `utf8.DecodeRune`: an invalid byte is U+FFFD of width 1.
pub fn decode_rune(s: &[u8]) -> (u32, usize) {
    let len = match s.first() {
        None => return (0xFFFD, 0),
        Some(b) if *b < 0x80 => return (u32::from(*b), 1),
        Some(b) if *b >= 0xF0 => 4,
        Some(b) if *b >= 0xE0 => 3,
        Some(_) => 2,
    };
    match s.get(..len).and_then(|b| std::str::from_utf8(b).ok()) {
        Some(t) => (t.chars().next().map_or(0xFFFD, u32::from), len),
        None => (0xFFFD, 1),
    }
}

/// Go's `[]rune(s)` reversed and encoded again (an invalid byte becomes
/// U+FFFD).
fn go_reverse(s: &[u8]) -> Vec<u8> {
    let mut runes = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let (r, n) = decode_rune(&s[i..]);
        runes.push(char::from_u32(r).unwrap_or('\u{FFFD}'));
        i += n;
    }
    runes.reverse();
    runes.into_iter().collect::<String>().into_bytes()
}

/// `unicode.ToLower`: the simple (one character) mapping.
fn simple_lower(c: char) -> char {
    let mut it = c.to_lowercase();
    match (it.next(), it.next()) {
        (Some(l), None) => l,
        // U+0130 lowers to "i̇" in full; its simple mapping is "i".
        (Some(l), Some(_)) => l,
        _ => c,
    }
}

/// `unicode.ToUpper`: the simple mapping. Where Rust knows only a longer
/// full mapping, Go keeps the character, except for the Greek letters with
/// iota subscript, whose simple uppercase is their titlecase form.
fn simple_upper(c: char) -> char {
    let mut it = c.to_uppercase();
    match (it.next(), it.next()) {
        (Some(u), None) => u,
        _ => {
            let n = c as u32;
            let mapped = match n {
                0x1F80..=0x1F87 | 0x1F90..=0x1F97 | 0x1FA0..=0x1FA7 => n + 8,
                0x1FB3 | 0x1FC3 | 0x1FF3 => n + 9,
                _ => n,
            };
            char::from_u32(mapped).unwrap_or(c)
        }
    }
}

/// `strings.ToLower`/`ToUpper`: ASCII fast path, else every rune mapped
/// (an invalid byte becomes U+FFFD).
fn go_map_case(s: &[u8], map: fn(char) -> char, ascii: fn(u8) -> u8) -> Vec<u8> {
    if s.is_ascii() {
        return s.iter().map(|b| ascii(*b)).collect();
    }
    let mut out = String::new();
    let mut i = 0;
    while i < s.len() {
        let (r, n) = decode_rune(&s[i..]);
        out.push(map(char::from_u32(r).unwrap_or('\u{FFFD}')));
        i += n;
    }
    out.into_bytes()
}

/// The first rune mapped, the rest untouched.
fn first_mapped(s: &[u8], map: fn(char) -> char) -> Vec<u8> {
    if s.is_empty() {
        return Vec::new();
    }
    let (r, n) = decode_rune(s);
    let mut out = map(char::from_u32(r).unwrap_or('\u{FFFD}'))
        .to_string()
        .into_bytes();
    out.extend_from_slice(&s[n..]);
    out
}

/// `strconv.Atoi`.
fn go_atoi(s: &[u8]) -> Option<i64> {
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// `${v:offset}` and `${v:offset:length}`, on bytes.
fn substr(param: &str, s: &[u8], args: &[Vec<u8>]) -> Result<Vec<u8>, Error> {
    let Some(first) = args.first() else {
        return Ok(s.to_vec());
    };
    let Some(mut pos) = go_atoi(first) else {
        return Ok(s.to_vec());
    };
    let len = s.len() as i64;
    if pos < 0 {
        pos = (len + pos).max(0);
    }
    let Some(second) = args.get(1) else {
        return Ok(if pos < len {
            s[pos as usize..].to_vec()
        } else {
            Vec::new()
        });
    };
    let Some(length) = go_atoi(second) else {
        return Ok(s.to_vec());
    };
    let end = pos.wrapping_add(length);
    if end >= len {
        return Ok(if pos < len {
            s[pos as usize..].to_vec()
        } else {
            Vec::new()
        });
    }
    if end < pos {
        return Err(Error::NegativeLength {
            param: param.to_string(),
            offset: pos,
            length,
        });
    }
    Ok(s[pos as usize..end as usize].to_vec())
}

/// `strings.Replace(s, old, new, n)` (`None` for all); an empty `old`
/// matches before every UTF-8 sequence and at the end.
fn go_replace(
    s: &[u8],
    old: &[u8],
    new: &[u8],
    n: Option<usize>,
    max: usize,
) -> Result<Vec<u8>, Error> {
    // Where the matches start.
    let mut at = Vec::new();
    let limit = n.unwrap_or(usize::MAX);
    if old.is_empty() {
        let mut i = 0;
        loop {
            if at.len() >= limit {
                break;
            }
            at.push(i);
            if i >= s.len() {
                break;
            }
            i += decode_rune(&s[i..]).1;
        }
    } else {
        let mut i = 0;
        while at.len() < limit && i + old.len() <= s.len() {
            match find(&s[i..], old) {
                Some(j) => {
                    at.push(i + j);
                    i += j + old.len();
                }
                None => break,
            }
        }
    }
    let size = s.len() - at.len() * old.len() + at.len().saturating_mul(new.len());
    if size > max {
        return Err(Error::TooLarge(max));
    }
    let mut out = Vec::with_capacity(size);
    let mut last = 0;
    for i in at {
        out.extend_from_slice(&s[last..i]);
        out.extend_from_slice(new);
        last = i + old.len();
    }
    out.extend_from_slice(&s[last..]);
    Ok(out)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

#[cfg(test)]
mod tests;
