//! The executor of Go's `text/template` (exec.go): walks the parse tree over
//! a [`Value`], with Go's variable scoping, `range` order, argument type
//! checks and error texts (`template: NAME:LINE:COL: executing "NAME" at
//! <NODE>: …`).

use crate::funcs::{self, Func, P};
use crate::gofmt;
use crate::parse::{Arg, Branch, Command, Node, Pipe, Tree};
use crate::value::{IFACE, Value};

/// Go allows 100000 nested `template` calls; a Rust stack does not, so the
/// limit is lower here (a commit message never needs either).
const MAX_DEPTH: usize = 100;

/// ferroflux's limits, not Go's: a commit message larger than this, or a
/// template running more `range` iterations in all, is an error instead of
/// exhausting the process.
pub const MAX_OUTPUT_BYTES: usize = 1 << 20;
pub const MAX_RANGE_ITERATIONS: u64 = 1_000_000;

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("{message}")]
pub struct ExecError {
    /// The full Go text, `template: …`.
    pub message: String,
}

enum Flow {
    Break,
    Continue,
    Err(ExecError),
}

impl From<ExecError> for Flow {
    fn from(e: ExecError) -> Self {
        Flow::Err(e)
    }
}

type EResult<T> = Result<T, ExecError>;

#[derive(Clone)]
enum At<'a> {
    None,
    Arg(&'a Arg),
    Cmd(&'a Command),
    Pipe(&'a Pipe),
    Owned(usize, String),
}

struct State<'a> {
    tree: &'a Tree,
    text: &'a str,
    parse_name: &'a str,
    tmpl_name: String,
    /// Variables with whether their static Go type is `interface {}`.
    vars: Vec<(String, Value, bool)>,
    /// Whether dot's static type is `interface {}` (an element of a
    /// `[]interface {}` being ranged over): Go names that type in errors.
    dot_iface: bool,
    out: String,
    at: At<'a>,
    depth: usize,
    iterations: u64,
}

/// Executes the template `name` of `tree` (parsed from `text`) with `data` as dot.
pub fn execute(tree: &Tree, text: &str, name: &str, data: Value) -> EResult<String> {
    let mut s = State {
        tree,
        text,
        parse_name: name,
        tmpl_name: name.to_string(),
        vars: vec![("$".into(), data.clone(), false)],
        dot_iface: false,
        out: String::new(),
        at: At::None,
        depth: 0,
        iterations: 0,
    };
    let Some(root) = tree.defines.get(name) else {
        return Err(s.err(format!(
            "{} is an incomplete or empty template",
            gofmt::quote(name)
        )));
    };
    match s.walk_list(&data, root) {
        Ok(()) => Ok(s.out),
        Err(Flow::Err(e)) => Err(e),
        Err(Flow::Break | Flow::Continue) => Ok(s.out),
    }
}

impl<'a> State<'a> {
    fn err(&self, msg: String) -> ExecError {
        let (pos, ctx) = match self.at {
            At::None => {
                return ExecError {
                    message: format!("template: {}: {msg}", self.tmpl_name),
                };
            }
            At::Arg(a) => (a.pos(), a.to_string()),
            At::Cmd(c) => (c.pos, c.to_string()),
            At::Pipe(p) => (p.pos, p.to_string()),
            At::Owned(pos, ref ctx) => (pos, ctx.clone()),
        };
        let before = &self.text[..pos.min(self.text.len())];
        let line = 1 + before.matches('\n').count();
        let col = match before.rfind('\n') {
            Some(i) => pos - (i + 1),
            None => pos,
        };
        ExecError {
            message: format!(
                "template: {}:{line}:{col}: executing {} at <{ctx}>: {msg}",
                self.parse_name,
                gofmt::quote(&self.tmpl_name)
            ),
        }
    }

    fn fail<T>(&self, msg: String) -> EResult<T> {
        Err(self.err(msg))
    }

    fn walk_list(&mut self, dot: &Value, list: &'a [Node]) -> Result<(), Flow> {
        for n in list {
            self.walk(dot, n)?;
        }
        Ok(())
    }

    fn walk(&mut self, dot: &Value, node: &'a Node) -> Result<(), Flow> {
        match node {
            Node::Text(t) => {
                self.out.push_str(t);
                if self.out.len() > MAX_OUTPUT_BYTES {
                    return Err(self
                        .err(format!(
                            "output over {MAX_OUTPUT_BYTES} bytes, ferroflux's limit for a commit message"
                        ))
                        .into());
                }
            }
            Node::Action(pipe) => {
                let v = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    self.at = At::Pipe(pipe);
                    if let Value::Invalid = v {
                        self.out.push_str("<no value>");
                    } else {
                        self.out.push_str(&gofmt::print_value(&v));
                    }
                }
                if self.out.len() > MAX_OUTPUT_BYTES {
                    return Err(self
                        .err(format!(
                            "output over {MAX_OUTPUT_BYTES} bytes, ferroflux's limit for a commit message"
                        ))
                        .into());
                }
            }
            Node::If(b) => self.walk_if_or_with(false, dot, b)?,
            Node::With(b) => self.walk_if_or_with(true, dot, b)?,
            Node::Range(b) => self.walk_range(dot, b)?,
            Node::Break => return Err(Flow::Break),
            Node::Continue => return Err(Flow::Continue),
            Node::Template { pos, name, pipe } => self.walk_template(dot, *pos, name, pipe)?,
        }
        Ok(())
    }

    fn walk_if_or_with(&mut self, with: bool, dot: &Value, b: &'a Branch) -> Result<(), Flow> {
        let mark = self.vars.len();
        let r = (|| {
            let val = self.eval_pipeline(dot, &b.pipe)?;
            if val.truth() {
                if with {
                    let was = std::mem::replace(&mut self.dot_iface, false);
                    let r = self.walk_list(&val, &b.list);
                    self.dot_iface = was;
                    r?;
                } else {
                    self.walk_list(dot, &b.list)?;
                }
            } else if let Some(e) = &b.else_list {
                self.walk_list(dot, e)?;
            }
            Ok(())
        })();
        self.vars.truncate(mark);
        r
    }

    fn walk_range(&mut self, dot: &Value, b: &'a Branch) -> Result<(), Flow> {
        let outer = self.vars.len();
        let r = self.walk_range_inner(dot, b);
        self.vars.truncate(outer);
        match r {
            Err(Flow::Break) => Ok(()),
            other => other,
        }
    }

    fn one_iteration(
        &mut self,
        b: &'a Branch,
        mark: usize,
        index: Value,
        elem: Value,
        iface: bool,
    ) -> Result<(), Flow> {
        self.iterations += 1;
        if self.iterations > MAX_RANGE_ITERATIONS {
            self.at = At::Pipe(&b.pipe);
            return Err(self
                .err(format!(
                    "more than {MAX_RANGE_ITERATIONS} range iterations, ferroflux's limit for a commit message"
                ))
                .into());
        }
        let n = self.vars.len();
        if !b.pipe.decl.is_empty() {
            self.vars[n - 1].1 = elem.clone();
            self.vars[n - 1].2 = iface;
        }
        if b.pipe.decl.len() > 1 {
            self.vars[n - 2].1 = index;
            self.vars[n - 2].2 = false;
        }
        let was = std::mem::replace(&mut self.dot_iface, iface);
        let r = self.walk_list(&elem, &b.list);
        self.dot_iface = was;
        self.vars.truncate(mark);
        match r {
            Err(Flow::Continue) => Ok(()),
            other => other,
        }
    }

    fn walk_range_inner(&mut self, dot: &Value, b: &'a Branch) -> Result<(), Flow> {
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let mark = self.vars.len();
        match &val {
            Value::List(l) if !l.items.is_empty() => {
                let iface = l.ty.ends_with("]interface {}");
                for (i, item) in l.items.iter().enumerate() {
                    self.one_iteration(b, mark, Value::Int(i as i64), item.clone(), iface)?;
                }
                return Ok(());
            }
            Value::Map(m) if !m.entries.borrow().is_empty() => {
                let entries = m.entries.borrow().clone();
                let iface = m.ty.ends_with("]interface {}");
                for (k, v) in entries {
                    self.one_iteration(b, mark, k, v, iface)?;
                }
                return Ok(());
            }
            Value::Int(n) | Value::Int64(n) => {
                if b.pipe.decl.len() > 1 {
                    self.at = At::Pipe(&b.pipe);
                    return Err(self
                        .err(format!(
                            "can't use {} to iterate over more than one variable",
                            gofmt::print_value(&val)
                        ))
                        .into());
                }
                if *n > 0 {
                    for i in 0..*n {
                        let v = if matches!(val, Value::Int(_)) {
                            Value::Int(i)
                        } else {
                            Value::Int64(i)
                        };
                        self.one_iteration(b, mark, v.clone(), v, false)?;
                    }
                    return Ok(());
                }
            }
            Value::List(_) | Value::Map(_) | Value::Invalid => {}
            other => {
                return Err(self
                    .err(format!(
                        "range can't iterate over {}",
                        gofmt::print_value(other)
                    ))
                    .into());
            }
        }
        if let Some(e) = &b.else_list {
            self.walk_list(dot, e)?;
        }
        Ok(())
    }

    fn walk_template(
        &mut self,
        dot: &Value,
        pos: usize,
        name: &'a str,
        pipe: &'a Option<Pipe>,
    ) -> Result<(), Flow> {
        let ctx = match pipe {
            Some(p) => format!("{{{{template {} {p}}}}}", gofmt::quote(name)),
            None => format!("{{{{template {}}}}}", gofmt::quote(name)),
        };
        self.at = At::Owned(pos, ctx);
        let tree = self.tree;
        let Some(root) = tree.defines.get(name) else {
            return Err(self
                .err(format!("template {} not defined", gofmt::quote(name)))
                .into());
        };
        if self.depth >= MAX_DEPTH {
            return Err(self
                .err(format!("exceeded maximum template depth ({MAX_DEPTH})"))
                .into());
        }
        let new_dot = match pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => Value::Invalid,
        };
        let saved_vars =
            std::mem::replace(&mut self.vars, vec![("$".into(), new_dot.clone(), false)]);
        let saved_name = std::mem::replace(&mut self.tmpl_name, name.to_string());
        let was = std::mem::replace(&mut self.dot_iface, false);
        self.depth += 1;
        let r = self.walk_list(&new_dot, root);
        self.depth -= 1;
        self.dot_iface = was;
        self.vars = saved_vars;
        self.tmpl_name = saved_name;
        match r {
            Err(Flow::Err(e)) => Err(Flow::Err(e)),
            _ => Ok(()),
        }
    }

    fn eval_pipeline(&mut self, dot: &Value, pipe: &'a Pipe) -> EResult<Value> {
        self.at = At::Pipe(pipe);
        let mut value: Option<Value> = None;
        for cmd in &pipe.cmds {
            let v = self.eval_command(dot, cmd, value)?;
            // Go digs into an interface{} result: a nil one becomes "no value".
            value = Some(if let Value::Nil = v {
                Value::Invalid
            } else {
                v
            });
        }
        let value = value.unwrap_or(Value::Invalid);
        for name in &pipe.decl {
            if pipe.is_assign {
                match self.vars.iter_mut().rev().find(|(n, _, _)| n == name) {
                    Some(slot) => {
                        slot.1 = value.clone();
                        slot.2 = false;
                    }
                    None => return self.fail(format!("undefined variable: {name}")),
                }
            } else {
                self.vars.push((name.clone(), value.clone(), false));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, args: &[Arg], fin: &Option<Value>) -> EResult<()> {
        if args.len() > 1 || fin.is_some() {
            return self.fail(format!("can't give argument to non-function {}", args[0]));
        }
        Ok(())
    }

    fn eval_command(
        &mut self,
        dot: &Value,
        cmd: &'a Command,
        fin: Option<Value>,
    ) -> EResult<Value> {
        let first = &cmd.args[0];
        match first {
            Arg::Field { idents, .. } => {
                self.at = At::Arg(first);
                let iface = self.dot_iface;
                return self.eval_field_chain((dot.clone(), iface), idents, &cmd.args, fin);
            }
            Arg::Chain { .. } => return self.eval_chain(dot, first, &cmd.args, fin),
            Arg::Identifier { name, .. } => {
                self.at = At::Arg(first);
                return self.eval_function(dot, name, At::Cmd(cmd), &cmd.args, fin);
            }
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, &fin)?;
                return self.eval_pipeline(dot, p);
            }
            Arg::Variable { .. } => return self.eval_variable(first, &cmd.args, fin),
            _ => {}
        }
        self.at = At::Arg(first);
        self.not_a_function(&cmd.args, &fin)?;
        match first {
            Arg::Bool { val, .. } => Ok(Value::Bool(*val)),
            Arg::Dot { .. } => Ok(dot.clone()),
            Arg::Nil { .. } => self.fail("nil is not a command".into()),
            Arg::Number { .. } => self.ideal_constant(first),
            Arg::String { text, .. } => Ok(Value::str(text.as_str())),
            _ => self.fail(format!(
                "can't evaluate command {}",
                gofmt::quote(&first.to_string())
            )),
        }
    }

    fn ideal_constant(&self, arg: &Arg) -> EResult<Value> {
        let Arg::Number { text, num, .. } = arg else {
            return Ok(Value::Invalid);
        };
        if num.float.is_some() && !num.is_char && text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Ok(Value::Float(num.float.unwrap_or_default()));
        }
        match num.int {
            Some(i) => Ok(Value::Int(i)),
            None => self.fail(format!("{text} overflows int")),
        }
    }

    fn eval_chain(
        &mut self,
        dot: &Value,
        chain: &'a Arg,
        args: &'a [Arg],
        fin: Option<Value>,
    ) -> EResult<Value> {
        self.at = At::Arg(chain);
        let Arg::Chain { node, fields, .. } = chain else {
            return Ok(Value::Invalid);
        };
        if let Arg::Nil { .. } = **node {
            return self.fail(format!("indirection through explicit nil in {chain}"));
        }
        let pipe = self.eval_arg(dot, P::Any, node)?;
        self.eval_field_chain((pipe, false), fields, args, fin)
    }

    fn eval_variable(
        &mut self,
        var: &'a Arg,
        args: &'a [Arg],
        fin: Option<Value>,
    ) -> EResult<Value> {
        self.at = At::Arg(var);
        let Arg::Variable { idents, .. } = var else {
            return Ok(Value::Invalid);
        };
        let (value, iface) = match self.vars.iter().rev().find(|(n, _, _)| *n == idents[0]) {
            Some((_, v, i)) => (v.clone(), *i),
            None => return self.fail(format!("undefined variable: {}", idents[0])),
        };
        if idents.len() == 1 {
            self.not_a_function(args, &fin)?;
            return Ok(value);
        }
        self.eval_field_chain((value, iface), &idents[1..], args, fin)
    }

    /// `receiver` carries whether its static type is `interface {}`.
    fn eval_field_chain(
        &mut self,
        receiver: (Value, bool),
        idents: &[String],
        args: &'a [Arg],
        fin: Option<Value>,
    ) -> EResult<Value> {
        let (mut receiver, mut iface) = receiver;
        let n = idents.len();
        for ident in &idents[..n - 1] {
            let next_iface = matches!(&receiver, Value::Map(m) if m.ty.ends_with("]interface {}"));
            receiver = self.eval_field(ident, &[], None, receiver, iface)?;
            iface = next_iface;
        }
        self.eval_field(&idents[n - 1], args, fin, receiver, iface)
    }

    fn eval_field(
        &mut self,
        name: &str,
        args: &'a [Arg],
        fin: Option<Value>,
        receiver: Value,
        iface: bool,
    ) -> EResult<Value> {
        let has_args = args.len() > 1 || fin.is_some();
        match &receiver {
            Value::Invalid => return Ok(Value::Invalid),
            Value::Nil => {
                return self.fail(format!("nil pointer evaluating {IFACE}.{name}"));
            }
            Value::Struct(st) => {
                if let Some(v) = st.method(name) {
                    let got = args.len().saturating_sub(1) + usize::from(fin.is_some());
                    if got != 0 {
                        return self
                            .fail(format!("wrong number of args for {name}: want 0 got {got}"));
                    }
                    return Ok(v.clone());
                }
                if let Some(f) = st.field(name) {
                    if !f.exported {
                        return self.fail(format!(
                            "{name} is an unexported field of struct type {}",
                            st.ty
                        ));
                    }
                    if has_args {
                        return self.fail(format!(
                            "{name} has arguments but cannot be invoked as function"
                        ));
                    }
                    return Ok(f.value.clone());
                }
            }
            Value::Map(m) if m.ty.starts_with("map[string]") => {
                if has_args {
                    return self.fail(format!("{name} is not a method but has arguments"));
                }
                return Ok(Value::map_get(m, &Value::str(name)).unwrap_or(Value::Invalid));
            }
            _ => {}
        }
        let ty = if iface {
            IFACE.to_string()
        } else {
            receiver.type_name()
        };
        self.fail(format!("can't evaluate field {name} in type {ty}"))
    }

    fn eval_function(
        &mut self,
        dot: &Value,
        name: &str,
        call_node: At<'a>,
        args: &'a [Arg],
        fin: Option<Value>,
    ) -> EResult<Value> {
        let Some((func, builtin)) = funcs::lookup(name) else {
            return self.fail(format!("{} is not a defined function", gofmt::quote(name)));
        };
        self.eval_call(dot, &func, builtin, call_node, name, args, fin)
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_call(
        &mut self,
        dot: &Value,
        func: &Func,
        builtin: bool,
        call_node: At<'a>,
        name: &str,
        args: &'a [Arg],
        fin: Option<Value>,
    ) -> EResult<Value> {
        let args: &'a [Arg] = if args.is_empty() { args } else { &args[1..] };
        let num_in = args.len() + usize::from(fin.is_some());
        let fixed = func.params.len();
        if func.variadic.is_some() {
            if num_in < fixed {
                return self.fail(format!(
                    "wrong number of args for {name}: want at least {fixed} got {}",
                    args.len()
                ));
            }
        } else if num_in != fixed {
            return self.fail(format!(
                "wrong number of args for {name}: want {fixed} got {num_in}"
            ));
        }
        if builtin && (name == "and" || name == "or") {
            let mut v = Value::Invalid;
            for a in args {
                v = self.eval_arg(dot, P::Val, a)?;
                if v.truth() == (name == "or") {
                    return Ok(v);
                }
            }
            if let Some(f) = fin {
                v = f;
            }
            return Ok(v);
        }
        let mut argv = Vec::with_capacity(num_in + 1);
        // Go inserts the callee's source text as `call`'s first argument.
        let skip = usize::from(builtin && name == "call");
        if skip == 1 {
            let callee = args.first().map_or_else(String::new, ToString::to_string);
            argv.push(Value::str(callee));
        }
        for (i, a) in args.iter().enumerate() {
            let i = i + skip;
            let p = if i < fixed {
                func.params[i]
            } else {
                func.variadic.unwrap_or(P::Any)
            };
            argv.push(self.eval_arg(dot, p, a)?);
        }
        if let Some(f) = fin {
            let p = if num_in - 1 < fixed {
                func.params[num_in - 1]
            } else {
                func.variadic.unwrap_or(P::Any)
            };
            argv.push(self.validate(f, p)?);
        }
        match (func.call)(&argv) {
            Ok(v) => Ok(v),
            Err(e) => {
                self.at = call_node;
                self.fail(format!("error calling {name}: {e}"))
            }
        }
    }

    fn eval_arg(&mut self, dot: &Value, p: P, arg: &'a Arg) -> EResult<Value> {
        self.at = At::Arg(arg);
        match arg {
            Arg::Dot { .. } => return self.validate(dot.clone(), p),
            Arg::Nil { .. } => {
                return match p {
                    P::Any => Ok(Value::Nil),
                    P::Val => Ok(Value::Invalid),
                    P::Dict => Ok(Value::nil_map(funcs::DICT, Value::Nil)),
                    _ => self.fail(format!("cannot assign nil to {}", p.name())),
                };
            }
            Arg::Field { idents, .. } => {
                let iface = self.dot_iface;
                let v = self.eval_field_chain(
                    (dot.clone(), iface),
                    idents,
                    std::slice::from_ref(arg),
                    None,
                )?;
                return self.validate(v, p);
            }
            Arg::Variable { .. } => {
                let v = self.eval_variable(arg, &[], None)?;
                return self.validate(v, p);
            }
            Arg::Pipe(pipe) => {
                let v = self.eval_pipeline(dot, pipe)?;
                return self.validate(v, p);
            }
            Arg::Identifier { name, .. } => {
                let v = self.eval_function(dot, name, At::Arg(arg), &[], None)?;
                return self.validate(v, p);
            }
            Arg::Chain { .. } => {
                let v = self.eval_chain(dot, arg, &[], None)?;
                return self.validate(v, p);
            }
            _ => {}
        }
        match (p, arg) {
            (P::Bool, Arg::Bool { val, .. }) => Ok(Value::Bool(*val)),
            (P::Bool, _) => self.fail(format!("expected bool; found {arg}")),
            (P::Float, Arg::Number { num, .. }) if num.float.is_some() => {
                Ok(Value::Float(num.float.unwrap_or_default()))
            }
            (P::Float, _) => self.fail(format!("expected float; found {arg}")),
            (P::Int, Arg::Number { num, .. }) if num.int.is_some() => {
                Ok(Value::Int(num.int.unwrap_or_default()))
            }
            (P::Int, _) => self.fail(format!("expected integer; found {arg}")),
            (P::Str, Arg::String { text, .. }) => Ok(Value::str(text.as_str())),
            (P::Str, _) => self.fail(format!("expected string; found {arg}")),
            (P::Any | P::Val, Arg::Bool { val, .. }) => Ok(Value::Bool(*val)),
            (P::Any | P::Val, Arg::Number { .. }) => self.ideal_constant(arg),
            (P::Any | P::Val, Arg::String { text, .. }) => Ok(Value::str(text.as_str())),
            _ => self.fail(format!("can't handle {arg} for arg of type {}", p.name())),
        }
    }

    fn validate(&self, v: Value, p: P) -> EResult<Value> {
        if let Value::Invalid = v {
            return match p {
                P::Any => Ok(Value::Nil),
                P::Val => Ok(Value::Invalid),
                P::Dict => Ok(Value::nil_map(funcs::DICT, Value::Nil)),
                _ => self.fail(format!("invalid value; expected {}", p.name())),
            };
        }
        let ok = match p {
            P::Any | P::Val => true,
            P::Str => matches!(v, Value::String(_)),
            P::Int => matches!(v, Value::Int(_)),
            P::Bool => matches!(v, Value::Bool(_)),
            P::Float => matches!(v, Value::Float(_)),
            P::Dict => matches!(&v, Value::Map(m) if m.ty.as_ref() == funcs::DICT),
        };
        if !ok {
            if let (P::Dict, Value::Nil) = (p, &v) {
                return Ok(Value::nil_map(funcs::DICT, Value::Nil));
            }
            return self.fail(format!(
                "wrong type for value; expected {}; got {}",
                p.name(),
                v.type_name()
            ));
        }
        Ok(v)
    }
}
