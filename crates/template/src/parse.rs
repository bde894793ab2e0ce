//! The parser of Go's `text/template/parse` (parse.go + node.go): the same
//! grammar, the same error texts (`template: NAME:LINE: …`) and node
//! `String()` forms, which exec errors quote as `at <…>`.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::rc::Rc;

use crate::lex::{Item, ItemType, lex};

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("template: {name}:{line}: {message}")]
pub struct ParseError {
    pub name: String,
    pub line: usize,
    pub message: String,
}

impl ParseError {
    /// The error as Helm's engine reports it (`cleanupParseError`): `parse
    /// error at (FILE:LINE): <the last ": "-separated part of Go's text>`.
    pub fn helm_message(&self) -> String {
        let text = self.to_string();
        let tokens: Vec<&str> = text.split(": ").collect();
        if tokens.len() == 1 {
            return format!("parse error in ({}): {text}", self.name);
        }
        format!(
            "parse error at ({}): {}",
            tokens[1],
            tokens[tokens.len() - 1]
        )
    }
}

#[derive(Debug, Clone)]
pub enum Node {
    Text(String),
    Action(Pipe),
    If(Branch),
    Range(Branch),
    With(Branch),
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipe>,
    },
    Break,
    Continue,
}

#[derive(Debug, Clone)]
pub struct Branch {
    pub pipe: Pipe,
    pub list: Vec<Node>,
    pub else_list: Option<Vec<Node>>,
}

#[derive(Debug, Clone)]
pub struct Pipe {
    pub pos: usize,
    pub is_assign: bool,
    pub decl: Vec<String>,
    pub cmds: Vec<Command>,
}

#[derive(Debug, Clone)]
pub struct Command {
    pub pos: usize,
    pub args: Vec<Arg>,
}

#[derive(Debug, Clone)]
pub enum Arg {
    /// `.A.B`
    Field {
        pos: usize,
        idents: Vec<Rc<str>>,
    },
    /// `$x.A.B` (idents[0] is `$x`)
    Variable {
        pos: usize,
        idents: Vec<Rc<str>>,
    },
    /// A function name.
    Identifier {
        pos: usize,
        name: Rc<str>,
    },
    /// `(pipe).A.B` or `fn.A`
    Chain {
        pos: usize,
        node: Box<Arg>,
        fields: Vec<Rc<str>>,
    },
    Dot {
        pos: usize,
    },
    Nil {
        pos: usize,
    },
    Bool {
        pos: usize,
        val: bool,
    },
    Number {
        pos: usize,
        text: String,
        num: Number,
    },
    String {
        pos: usize,
        quoted: Rc<str>,
        /// Shared with every value the literal evaluates to.
        text: Rc<str>,
    },
    Pipe(Box<Pipe>),
}

/// A numeric literal: Go's `NumberNode` kinds that matter here.
#[derive(Debug, Clone, Copy)]
pub struct Number {
    pub int: Option<i64>,
    pub float: Option<f64>,
    /// A char constant (`'a'`) or hex/rune integer: never a float constant.
    pub is_char: bool,
}

impl Arg {
    pub fn pos(&self) -> usize {
        match self {
            Arg::Field { pos, .. }
            | Arg::Variable { pos, .. }
            | Arg::Identifier { pos, .. }
            | Arg::Chain { pos, .. }
            | Arg::Dot { pos }
            | Arg::Nil { pos }
            | Arg::Bool { pos, .. }
            | Arg::Number { pos, .. }
            | Arg::String { pos, .. } => *pos,
            Arg::Pipe(p) => p.pos,
        }
    }
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Field { idents, .. } => {
                for i in idents {
                    write!(f, ".{i}")?;
                }
                Ok(())
            }
            Arg::Variable { idents, .. } => write!(f, "{}", idents.join(".")),
            Arg::Identifier { name, .. } => write!(f, "{name}"),
            Arg::Chain { node, fields, .. } => {
                if let Arg::Pipe(_) = **node {
                    write!(f, "({node})")?;
                } else {
                    write!(f, "{node}")?;
                }
                for i in fields {
                    write!(f, ".{i}")?;
                }
                Ok(())
            }
            Arg::Dot { .. } => write!(f, "."),
            Arg::Nil { .. } => write!(f, "nil"),
            Arg::Bool { val, .. } => write!(f, "{val}"),
            Arg::Number { text, .. } => write!(f, "{text}"),
            Arg::String { quoted, .. } => write!(f, "{quoted}"),
            Arg::Pipe(p) => write!(f, "{p}"),
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                write!(f, " ")?;
            }
            if let Arg::Pipe(_) = a {
                write!(f, "({a})")?;
            } else {
                write!(f, "{a}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            write!(f, "{}", self.decl.join(", "))?;
            write!(f, "{}", if self.is_assign { " = " } else { " := " })?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                write!(f, " | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

/// A parsed template set: the main template and every `define`/`block`.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    /// Every template by name; the main one under the parse name.
    pub defines: HashMap<String, Vec<Node>>,
}

enum Ctl {
    Node(Node),
    End,
    Else,
}

struct Parser<'a> {
    name: &'a str,
    items: Vec<Item<'a>>,
    idx: usize,
    furthest: usize,
    vars: Vec<String>,
    range_depth: usize,
    has_function: &'a dyn Fn(&str) -> bool,
    defines: HashMap<String, Vec<Node>>,
    action_line: usize,
    /// Nesting of parentheses and of control structures.
    depth: usize,
    /// One shared copy of each name (`.Values`, `include`, `$x`): a chart
    /// repeats a few hundred names thousands of times.
    names: HashSet<Rc<str>, foldhash::fast::RandomState>,
}

/// Go limits nested parentheses to 10000 ("max expression depth exceeded")
/// and control structures not at all; a Rust stack is smaller than Go's
/// growable one, so both are limited here, far above any real message.
pub const MAX_NESTING: usize = 100;

type PResult<T> = Result<T, ParseError>;

/// Parses `text` as the template `name`. `has_function` tells which function
/// names exist (Go checks them at parse time).
pub fn parse(name: &str, text: &str, has_function: &dyn Fn(&str) -> bool) -> PResult<Tree> {
    let mut p = Parser {
        name,
        items: lex(text),
        idx: 0,
        furthest: 0,
        vars: vec!["$".into()],
        range_depth: 0,
        has_function,
        defines: HashMap::new(),
        action_line: 0,
        depth: 0,
        names: HashSet::default(),
    };
    let root = p.parse_root()?;
    p.add_define(name.to_string(), root)?;
    Ok(Tree { defines: p.defines })
}

/// Go's `IsEmptyTree` for one node.
pub fn is_empty_node(n: &Node) -> bool {
    matches!(n, Node::Text(t) if t.trim_matches(|c: char| c.is_whitespace()).is_empty())
}

impl<'a> Parser<'a> {
    fn errorf<T>(&self, message: String) -> PResult<T> {
        let line = self.items.get(self.furthest).map_or(1, |i| i.line);
        Err(ParseError {
            name: self.name.to_string(),
            line,
            message,
        })
    }

    fn intern(&mut self, name: &str) -> Rc<str> {
        if let Some(shared) = self.names.get(name) {
            return Rc::clone(shared);
        }
        let shared: Rc<str> = Rc::from(name);
        self.names.insert(Rc::clone(&shared));
        shared
    }

    fn next(&mut self) -> Item<'a> {
        let i = self.idx.min(self.items.len() - 1);
        self.idx += 1;
        self.furthest = self.furthest.max(i);
        self.items[i].clone()
    }

    fn backup(&mut self) {
        self.idx -= 1;
    }

    fn peek(&mut self) -> Item<'a> {
        let it = self.next();
        self.backup();
        it
    }

    fn next_non_space(&mut self) -> Item<'a> {
        loop {
            let it = self.next();
            if it.typ != ItemType::Space {
                return it;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item<'a> {
        let it = self.next_non_space();
        self.backup();
        it
    }

    fn unexpected<T>(&self, token: &Item<'_>, context: &str) -> PResult<T> {
        if token.typ == ItemType::Error {
            let mut extra = String::new();
            if self.action_line != 0 && self.action_line != token.line {
                extra = format!(" in action started at {}:{}", self.name, self.action_line);
                if token.val.ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return self.errorf(format!("{token}{extra}"));
        }
        self.errorf(format!("unexpected {token} in {context}"))
    }

    fn expect(&mut self, typ: ItemType, context: &str) -> PResult<Item<'a>> {
        let t = self.next_non_space();
        if t.typ != typ {
            return self.unexpected(&t, context);
        }
        Ok(t)
    }

    fn parse_root(&mut self) -> PResult<Vec<Node>> {
        let mut root = Vec::new();
        while self.peek().typ != ItemType::Eof {
            if self.peek().typ == ItemType::LeftDelim {
                let save = self.idx;
                self.next();
                if self.next_non_space().typ == ItemType::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.idx = save;
            }
            match self.text_or_action()? {
                Ctl::Node(n) => root.push(n),
                Ctl::End => return self.errorf("unexpected {{end}}".into()),
                Ctl::Else => return self.errorf("unexpected {{else}}".into()),
            }
        }
        Ok(root)
    }

    fn parse_definition(&mut self) -> PResult<()> {
        let context = "define clause";
        let t = self.next_non_space();
        if t.typ != ItemType::String && t.typ != ItemType::RawString {
            return self.unexpected(&t, context);
        }
        let name = self.unquote(&t.val)?;
        self.expect(ItemType::RightDelim, context)?;
        let saved = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let (list, end) = self.item_list()?;
        self.vars = saved;
        if !matches!(end, Ctl::End) {
            return self.errorf(format!("unexpected {} in {context}", ctl_str(&end)));
        }
        self.add_define(name, list)
    }

    /// Go's `(*Tree).add`: an empty body never replaces a definition, and two
    /// non-empty bodies of one name are an error.
    fn add_define(&mut self, name: String, list: Vec<Node>) -> PResult<()> {
        if let Some(old) = self.defines.get(&name)
            && !old.iter().all(is_empty_node)
        {
            if list.iter().all(is_empty_node) {
                return Ok(());
            }
            return self.errorf(format!(
                "template: multiple definition of template {}",
                crate::gofmt::quote(&name)
            ));
        }
        self.defines.insert(name, list);
        Ok(())
    }

    fn item_list(&mut self) -> PResult<(Vec<Node>, Ctl)> {
        let mut list = Vec::new();
        while self.peek_non_space().typ != ItemType::Eof {
            match self.text_or_action()? {
                Ctl::Node(n) => list.push(n),
                other => return Ok((list, other)),
            }
        }
        self.errorf("unexpected EOF".into())
    }

    fn text_or_action(&mut self) -> PResult<Ctl> {
        let t = self.next_non_space();
        match t.typ {
            ItemType::Text => Ok(Ctl::Node(Node::Text(t.val.to_string()))),
            ItemType::LeftDelim => {
                self.action_line = t.line;
                let r = self.action();
                self.action_line = 0;
                r
            }
            _ => self.unexpected(&t, "input"),
        }
    }

    fn action(&mut self) -> PResult<Ctl> {
        let t = self.next_non_space();
        match t.typ {
            ItemType::Block => return self.block_control().map(Ctl::Node),
            ItemType::Break | ItemType::Continue => {
                let word = if t.typ == ItemType::Break {
                    "break"
                } else {
                    "continue"
                };
                let n = self.next_non_space();
                if n.typ != ItemType::RightDelim {
                    return self.unexpected(&n, &format!("{{{{{word}}}}}"));
                }
                if self.range_depth == 0 {
                    return self.errorf(format!("{{{{{word}}}}} outside {{{{range}}}}"));
                }
                return Ok(Ctl::Node(if t.typ == ItemType::Break {
                    Node::Break
                } else {
                    Node::Continue
                }));
            }
            ItemType::Else => {
                let peek = self.peek_non_space();
                if peek.typ == ItemType::If || peek.typ == ItemType::With {
                    return Ok(Ctl::Else);
                }
                self.expect(ItemType::RightDelim, "else")?;
                return Ok(Ctl::Else);
            }
            ItemType::End => {
                self.expect(ItemType::RightDelim, "end")?;
                return Ok(Ctl::End);
            }
            ItemType::If => return self.control("if", true).map(|b| Ctl::Node(Node::If(b))),
            ItemType::Range => {
                return self
                    .control("range", false)
                    .map(|b| Ctl::Node(Node::Range(b)));
            }
            ItemType::With => return self.control("with", true).map(|b| Ctl::Node(Node::With(b))),
            ItemType::Template => return self.template_control().map(Ctl::Node),
            _ => {}
        }
        self.backup();
        let pipe = self.pipeline("command", ItemType::RightDelim)?;
        Ok(Ctl::Node(Node::Action(pipe)))
    }

    fn control(&mut self, context: &str, allow_else_chain: bool) -> PResult<Branch> {
        if self.depth >= MAX_NESTING {
            return self.errorf(format!("max nesting depth exceeded ({MAX_NESTING})"));
        }
        self.depth += 1;
        let nvars = self.vars.len();
        let r = self.control_inner(context, allow_else_chain);
        self.vars.truncate(nvars);
        self.depth -= 1;
        r
    }

    fn control_inner(&mut self, context: &str, allow_else_chain: bool) -> PResult<Branch> {
        let pipe = self.pipeline(context, ItemType::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let (list, next) = self.item_list()?;
        if context == "range" {
            self.range_depth -= 1;
        }
        let mut else_list = None;
        match next {
            Ctl::End => {}
            Ctl::Else => {
                let peek = self.peek();
                // "else if" continues an if chain, "else with" a with chain (Go 1.23).
                let chained = allow_else_chain
                    && ((context == "if" && peek.typ == ItemType::If)
                        || (context == "with" && peek.typ == ItemType::With));
                if chained {
                    self.next();
                    let inner = self.control(context, true)?;
                    let node = if context == "if" {
                        Node::If(inner)
                    } else {
                        Node::With(inner)
                    };
                    else_list = Some(vec![node]);
                } else {
                    let (l, next) = self.item_list()?;
                    if !matches!(next, Ctl::End) {
                        return self.errorf(format!("expected end; found {}", ctl_str(&next)));
                    }
                    else_list = Some(l);
                }
            }
            // item_list returns only {{end}} or {{else}}
            Ctl::Node(_) => {}
        }
        Ok(Branch {
            pipe,
            list,
            else_list,
        })
    }

    fn template_name(&mut self, t: &Item<'_>, context: &str) -> PResult<String> {
        match t.typ {
            ItemType::String | ItemType::RawString => self.unquote(&t.val),
            _ => self.unexpected(t, context),
        }
    }

    fn template_control(&mut self) -> PResult<Node> {
        let context = "template clause";
        let t = self.next_non_space();
        let name = self.template_name(&t, context)?;
        let mut pipe = None;
        if self.next_non_space().typ != ItemType::RightDelim {
            self.backup();
            pipe = Some(self.pipeline(context, ItemType::RightDelim)?);
        }
        Ok(Node::Template {
            pos: t.pos,
            name,
            pipe,
        })
    }

    fn block_control(&mut self) -> PResult<Node> {
        let context = "block clause";
        let t = self.next_non_space();
        let name = self.template_name(&t, context)?;
        let pipe = self.pipeline(context, ItemType::RightDelim)?;
        if self.depth >= MAX_NESTING {
            return self.errorf(format!("max nesting depth exceeded ({MAX_NESTING})"));
        }
        let saved = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let saved_depth = std::mem::replace(&mut self.range_depth, 0);
        self.depth += 1;
        let r = self.item_list();
        self.depth -= 1;
        self.vars = saved;
        self.range_depth = saved_depth;
        let (list, end) = r?;
        if !matches!(end, Ctl::End) {
            return self.errorf(format!("unexpected {} in {context}", ctl_str(&end)));
        }
        self.add_define(name.clone(), list)?;
        Ok(Node::Template {
            pos: t.pos,
            name,
            pipe: Some(pipe),
        })
    }

    fn pipeline(&mut self, context: &str, end: ItemType) -> PResult<Pipe> {
        let t = self.peek_non_space();
        let mut pipe = Pipe {
            pos: t.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        'decls: loop {
            let v = self.peek_non_space();
            if v.typ != ItemType::Variable {
                break 'decls;
            }
            let before = self.idx;
            self.next_non_space();
            let after_var = self.peek();
            let next = self.peek_non_space();
            match next.typ {
                ItemType::Assign | ItemType::Declare => {
                    pipe.is_assign = next.typ == ItemType::Assign;
                    self.next_non_space();
                    pipe.decl.push(v.val.to_string());
                    self.vars.push(v.val.to_string());
                }
                ItemType::Char if &*next.val == "," => {
                    self.next_non_space();
                    pipe.decl.push(v.val.to_string());
                    self.vars.push(v.val.to_string());
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().typ {
                            ItemType::Variable | ItemType::RightDelim | ItemType::RightParen => {
                                continue 'decls;
                            }
                            _ => return self.errorf("range can only initialize variables".into()),
                        }
                    }
                    return self.errorf(format!("too many declarations in {context}"));
                }
                _ => {
                    let _ = after_var;
                    self.idx = before;
                }
            }
            break 'decls;
        }
        loop {
            let t = self.next_non_space();
            if t.typ == end {
                self.check_pipeline(&pipe, context)?;
                return Ok(pipe);
            }
            match t.typ {
                ItemType::Bool
                | ItemType::CharConstant
                | ItemType::Complex
                | ItemType::Dot
                | ItemType::Field
                | ItemType::Identifier
                | ItemType::Number
                | ItemType::Nil
                | ItemType::RawString
                | ItemType::String
                | ItemType::Variable
                | ItemType::LeftParen => {
                    self.backup();
                    let c = self.command()?;
                    pipe.cmds.push(c);
                }
                _ => return self.unexpected(&t, context),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return self.errorf(format!("missing value for {context}"));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args[0],
                Arg::Bool { .. }
                    | Arg::Dot { .. }
                    | Arg::Nil { .. }
                    | Arg::Number { .. }
                    | Arg::String { .. }
            ) {
                return self.errorf(format!(
                    "non executable command in pipeline stage {}",
                    i + 1
                ));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> PResult<Command> {
        let pos = self.peek_non_space().pos;
        let mut cmd = Command {
            pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                cmd.args.push(op);
            }
            let t = self.next();
            match t.typ {
                ItemType::Space => continue,
                ItemType::RightDelim | ItemType::RightParen => self.backup(),
                ItemType::Pipe => {}
                _ => return self.unexpected(&t, "operand"),
            }
            break;
        }
        if cmd.args.is_empty() {
            return self.errorf("empty command".into());
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().typ == ItemType::Field {
            let chain_pos = self.peek().pos;
            let mut fields = Vec::new();
            while self.peek().typ == ItemType::Field {
                let f = self.next();
                fields.push(self.intern(&f.val[1..]));
            }
            return Ok(Some(match node {
                Arg::Field { mut idents, .. } => {
                    idents.extend(fields);
                    Arg::Field {
                        pos: chain_pos,
                        idents,
                    }
                }
                Arg::Variable { mut idents, .. } => {
                    idents.extend(fields);
                    Arg::Variable {
                        pos: chain_pos,
                        idents,
                    }
                }
                Arg::Bool { .. }
                | Arg::String { .. }
                | Arg::Number { .. }
                | Arg::Nil { .. }
                | Arg::Dot { .. } => {
                    return self.errorf(format!(
                        "unexpected . after term {}",
                        crate::gofmt::quote(&node.to_string())
                    ));
                }
                other => Arg::Chain {
                    pos: chain_pos,
                    node: Box::new(other),
                    fields,
                },
            }));
        }
        Ok(Some(node))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let t = self.next_non_space();
        let pos = t.pos;
        Ok(Some(match t.typ {
            ItemType::Identifier => {
                if !(self.has_function)(&t.val) {
                    return self.errorf(format!(
                        "function {} not defined",
                        crate::gofmt::quote(&t.val)
                    ));
                }
                Arg::Identifier {
                    pos,
                    name: self.intern(&t.val),
                }
            }
            ItemType::Dot => Arg::Dot { pos },
            ItemType::Nil => Arg::Nil { pos },
            ItemType::Variable => {
                let idents: Vec<Rc<str>> = t.val.split('.').map(|n| self.intern(n)).collect();
                if !self.vars.iter().any(|v| **v == *idents[0]) {
                    return self.errorf(format!(
                        "undefined variable {}",
                        crate::gofmt::quote(&idents[0])
                    ));
                }
                Arg::Variable { pos, idents }
            }
            ItemType::Field => Arg::Field {
                pos,
                idents: vec![self.intern(&t.val[1..])],
            },
            ItemType::Bool => Arg::Bool {
                pos,
                val: &*t.val == "true",
            },
            ItemType::CharConstant | ItemType::Complex | ItemType::Number => {
                let num = self.number(&t)?;
                Arg::Number {
                    pos,
                    text: t.val.to_string(),
                    num,
                }
            }
            ItemType::LeftParen => {
                if self.depth >= MAX_NESTING {
                    return self.errorf("max expression depth exceeded".into());
                }
                self.depth += 1;
                let pipe = self.pipeline("parenthesized pipeline", ItemType::RightParen);
                self.depth -= 1;
                Arg::Pipe(Box::new(pipe?))
            }
            ItemType::String | ItemType::RawString => {
                let text = self.unquote(&t.val)?;
                Arg::String {
                    pos,
                    quoted: self.intern(&t.val),
                    text: self.intern(&text),
                }
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }

    fn unquote(&self, s: &str) -> PResult<String> {
        match crate::gofmt::unquote(s) {
            Some(v) => Ok(v),
            None => self.errorf("invalid syntax".into()),
        }
    }

    fn number(&self, t: &Item<'_>) -> PResult<Number> {
        let text: &str = &t.val;
        if t.typ == ItemType::CharConstant {
            let Some(c) = crate::gofmt::unquote_char(text) else {
                return self.errorf(format!("malformed character constant: {text}"));
            };
            let v = i64::from(u32::from(c));
            return Ok(Number {
                int: Some(v),
                float: Some(v as f64),
                is_char: true,
            });
        }
        if t.typ == ItemType::Complex || text.ends_with('i') {
            return self.errorf(format!(
                "illegal number syntax: {}",
                crate::gofmt::quote(text)
            ));
        }
        let int = parse_go_int(text);
        let float = if int.is_some() {
            int.map(|i| i as f64)
        } else {
            let clean = text.replace('_', "");
            let lower = clean.to_ascii_lowercase();
            if lower.starts_with("0x") || lower.starts_with("-0x") || lower.starts_with("+0x") {
                None
            } else {
                clean.parse::<f64>().ok()
            }
        };
        if int.is_none() && float.is_none() {
            return self.errorf(format!(
                "illegal number syntax: {}",
                crate::gofmt::quote(text)
            ));
        }
        // Go: a float that is an exact integer is also an int ("1e3" IsInt).
        let int = int.or_else(|| {
            float
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
                .map(|f| f as i64)
        });
        let is_char = text.contains(['x', 'X']) && !text.contains(['p', 'P']);
        Ok(Number {
            int,
            float,
            is_char,
        })
    }
}

fn parse_go_int(text: &str) -> Option<i64> {
    let clean = text.replace('_', "");
    let (neg, body) = match clean.strip_prefix('-') {
        Some(b) => (true, b.to_string()),
        None => (false, clean.strip_prefix('+').unwrap_or(&clean).to_string()),
    };
    let lower = body.to_ascii_lowercase();
    let v = if let Some(h) = lower.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()?
    } else if let Some(o) = lower.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()?
    } else if let Some(b) = lower.strip_prefix("0b") {
        i64::from_str_radix(b, 2).ok()?
    } else if lower.len() > 1 && lower.starts_with('0') && lower.bytes().all(|b| b.is_ascii_digit())
    {
        i64::from_str_radix(&lower[1..], 8).ok()?
    } else if !lower.is_empty() && lower.bytes().all(|b| b.is_ascii_digit()) {
        lower.parse::<i64>().ok()?
    } else {
        return None;
    };
    Some(if neg { -v } else { v })
}

fn ctl_str(c: &Ctl) -> &'static str {
    match c {
        Ctl::End => "{{end}}",
        Ctl::Else => "{{else}}",
        Ctl::Node(_) => "node",
    }
}
