//! The executor of Go's `text/template` (exec.go): walks the parse tree over
//! a [`Value`], with Go's variable scoping, `range` order, argument type
//! checks and error texts (`template: NAME:LINE:COL: executing "NAME" at
//! <NODE>: …`), plus Helm's `include`, `tpl`, `required` and `fail`.

use std::collections::HashMap;
use std::rc::Rc;

use crate::funcs::{self, Chain, Entry, FResult, FuncError, P, ferr};
use crate::gofmt;
use crate::parse::{self, Arg, Branch, Command, Node, Pipe};
use crate::set::{Def, Defs, FuncMap, Options, Set};
use crate::value::{IFACE, Value};

/// ferroflux's limits, not Go's: a commit message larger than this, or a
/// template running more `range` iterations in all, is an error instead of
/// exhausting the process.
pub const MAX_OUTPUT_BYTES: usize = 1 << 20;
pub const MAX_RANGE_ITERATIONS: u64 = 1_000_000;

/// Helm's guard on `include` recursion (per template name).
const INCLUDE_MAX: usize = 1000;

const HELM_ERR_START: &str = "HELM_ERR_START";
const HELM_ERR_END: &str = "HELM_ERR_END";

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("{message}")]
pub struct ExecError {
    /// The full Go text, `template: …`.
    pub message: String,
    /// The errors Go's error wraps (`error calling include: %w`), for
    /// Helm's trace of nested templates.
    pub(crate) chain: Chain,
}

impl ExecError {
    fn plain(message: String) -> ExecError {
        ExecError {
            message,
            chain: None,
        }
    }

    /// The error as Helm's engine reports it (`reformatExecErrorMsg`):
    /// `execution error at (LOCATION): MSG` for `required`/`fail`, else the
    /// trace of nested templates (`LOCATION\n  executing "NAME" at <NODE>:\n    MSG`
    /// per level), else Go's text.
    pub fn helm_message(&self) -> String {
        helm_exec_message(self)
    }
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

/// What one top-level execution shares across the templates it calls.
pub(crate) struct Ctx {
    /// The set's templates, then the `define`s of each active `tpl`.
    layers: Vec<Rc<Defs>>,
    funcs: Rc<FuncMap>,
    opts: Options,
    set_name: Rc<str>,
    /// Helm's `includedNames`: active includes per name.
    includes: HashMap<String, usize>,
    depth: usize,
    iterations: u64,
}

impl Ctx {
    fn lookup(&self, name: &str) -> Option<Rc<Def>> {
        self.layers
            .iter()
            .rev()
            .find_map(|l| l.get(name))
            .map(Rc::clone)
    }
}

struct State<'a> {
    ctx: &'a mut Ctx,
    def: &'a Def,
    tmpl_name: &'a str,
    /// Variables with whether their static Go type is `interface {}`.
    vars: Vec<(String, Value, bool)>,
    /// Whether dot's static type is `interface {}` (an element of a
    /// `[]interface {}` being ranged over): Go names that type in errors.
    dot_iface: bool,
    out: String,
    at: At<'a>,
}

/// Executes `name` of `set` with `data` as dot.
pub(crate) fn execute_set(set: &Set, name: &str, data: Value) -> EResult<String> {
    let mut ctx = Ctx {
        layers: vec![Rc::clone(&set.defs)],
        funcs: Rc::clone(&set.funcs),
        opts: set.opts,
        set_name: set.name().into(),
        includes: HashMap::new(),
        depth: 0,
        iterations: 0,
    };
    let Some(def) = ctx.lookup(name) else {
        return Err(ExecError::plain(format!(
            "template: no template {} associated with template {}",
            gofmt::quote(name),
            gofmt::quote(set.name())
        )));
    };
    run(&mut ctx, &def, name, data)
}

/// Walks one template into a fresh output.
fn run(ctx: &mut Ctx, def: &Def, name: &str, data: Value) -> EResult<String> {
    let data = match data {
        Value::Nil => Value::Invalid,
        other => other,
    };
    let mut s = State {
        ctx,
        def,
        tmpl_name: name,
        vars: vec![("$".into(), data.clone(), false)],
        dot_iface: false,
        out: String::new(),
        at: At::None,
    };
    match s.walk_list(&data, &def.nodes) {
        Ok(()) => Ok(s.out),
        Err(Flow::Err(e)) => Err(e),
        Err(Flow::Break | Flow::Continue) => Ok(s.out),
    }
}

/// The error of a sprig function ferroflux does not implement.
fn unsupported(name: &str) -> String {
    format!("sprig's {name} is not supported by ferroflux")
}

/// Helm's `required`.
fn required(a: &[Value]) -> FResult {
    let missing = match &a[1] {
        Value::Nil | Value::Invalid => true,
        Value::String(s) => s.is_empty(),
        _ => false,
    };
    if missing {
        return ferr(format!(
            "{HELM_ERR_START}{}{HELM_ERR_END}",
            a[0].as_str().unwrap_or_default()
        ));
    }
    Ok(a[1].clone())
}

impl<'a> State<'a> {
    fn err(&self, msg: String) -> ExecError {
        ExecError::plain(self.err_text(&msg))
    }

    fn err_text(&self, msg: &str) -> String {
        let (pos, ctx) = match self.at {
            At::None => {
                return format!("template: {}: {msg}", self.tmpl_name);
            }
            At::Arg(a) => (a.pos(), a.to_string()),
            At::Cmd(c) => (c.pos, c.to_string()),
            At::Pipe(p) => (p.pos, p.to_string()),
            At::Owned(pos, ref ctx) => (pos, ctx.clone()),
        };
        let text = &self.def.text;
        let before = &text[..pos.min(text.len())];
        let line = 1 + before.matches('\n').count();
        let col = match before.rfind('\n') {
            Some(i) => pos - (i + 1),
            None => pos,
        };
        format!(
            "template: {}:{line}:{col}: executing {} at <{ctx}>: {msg}",
            self.def.parse_name,
            gofmt::quote(self.tmpl_name)
        )
    }

    fn fail<T>(&self, msg: String) -> EResult<T> {
        Err(self.err(msg))
    }

    /// Go's `errorf("error calling %s: %w", name, err)`.
    fn fail_call<T>(&self, name: &str, e: FuncError) -> EResult<T> {
        let chain = funcs::link(&e.msg, e.chain);
        Err(ExecError {
            message: self.err_text(&format!("error calling {name}: {}", e.msg)),
            chain,
        })
    }

    fn check_output(&self) -> Result<(), Flow> {
        let max = self.ctx.opts.max_output_bytes;
        if self.out.len() > max {
            return Err(self
                .err(format!(
                    "output over {max} bytes, ferroflux's limit for {}",
                    self.ctx.opts.limit_subject
                ))
                .into());
        }
        Ok(())
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
                self.check_output()?;
            }
            Node::Action(pipe) => {
                let v = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    self.at = At::Pipe(pipe);
                    if let Value::Invalid = v {
                        self.out.push_str("<no value>");
                    } else {
                        gofmt::print_value_into(&mut self.out, &v);
                    }
                }
                self.check_output()?;
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
        self.ctx.iterations += 1;
        let max = self.ctx.opts.max_range_iterations;
        if self.ctx.iterations > max {
            self.at = At::Pipe(&b.pipe);
            return Err(self
                .err(format!(
                    "more than {max} range iterations, ferroflux's limit for {}",
                    self.ctx.opts.limit_subject
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
        let val = match &val {
            Value::Object(o) => o.underlying().unwrap_or(val),
            _ => val,
        };
        let mark = self.vars.len();
        match &val {
            Value::List(l) if !l.items.is_empty() => {
                let iface = l.ty.ends_with("]interface {}");
                for (i, item) in l.items.iter().enumerate() {
                    self.one_iteration(b, mark, Value::Int(i as i64), item.clone(), iface)?;
                }
                return Ok(());
            }
            Value::Bytes(bytes) if !bytes.is_empty() => {
                for (i, item) in bytes.iter().enumerate() {
                    let elem = Value::Int(i64::from(*item));
                    self.one_iteration(b, mark, Value::Int(i as i64), elem, false)?;
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
            Value::List(_) | Value::Map(_) | Value::Bytes(_) | Value::Invalid => {}
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

    fn enter(&mut self) -> Result<(), String> {
        let max = self.ctx.opts.max_depth;
        if self.ctx.depth >= max {
            return Err(format!("exceeded maximum template depth ({max})"));
        }
        self.ctx.depth += 1;
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
        let Some(def) = self.ctx.lookup(name) else {
            return Err(self
                .err(format!("template {} not defined", gofmt::quote(name)))
                .into());
        };
        if let Err(e) = self.enter() {
            return Err(self.err(e).into());
        }
        let new_dot = match pipe {
            Some(p) => self.eval_pipeline(dot, p),
            None => Ok(Value::Invalid),
        };
        let r = new_dot.and_then(|d| run(self.ctx, &def, name, d));
        self.ctx.depth -= 1;
        self.out.push_str(&r?);
        self.check_output()
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
                return self.eval_field_chain(dot, (dot.clone(), iface), idents, &cmd.args, fin);
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
            Arg::Variable { .. } => return self.eval_variable(dot, first, &cmd.args, fin),
            _ => {}
        }
        self.at = At::Arg(first);
        self.not_a_function(&cmd.args, &fin)?;
        match first {
            Arg::Bool { val, .. } => Ok(Value::Bool(*val)),
            Arg::Dot { .. } => Ok(dot.clone()),
            Arg::Nil { .. } => self.fail("nil is not a command".into()),
            Arg::Number { .. } => self.ideal_constant(first),
            Arg::String { text, .. } => Ok(Value::String(std::rc::Rc::clone(text))),
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
        self.eval_field_chain(dot, (pipe, false), fields, args, fin)
    }

    fn eval_variable(
        &mut self,
        dot: &Value,
        var: &'a Arg,
        args: &'a [Arg],
        fin: Option<Value>,
    ) -> EResult<Value> {
        self.at = At::Arg(var);
        let Arg::Variable { idents, .. } = var else {
            return Ok(Value::Invalid);
        };
        let (value, iface) = match self.vars.iter().rev().find(|(n, _, _)| **n == *idents[0]) {
            Some((_, v, i)) => (v.clone(), *i),
            None => return self.fail(format!("undefined variable: {}", idents[0])),
        };
        if idents.len() == 1 {
            self.not_a_function(args, &fin)?;
            return Ok(value);
        }
        self.eval_field_chain(dot, (value, iface), &idents[1..], args, fin)
    }

    /// `receiver` carries whether its static type is `interface {}`.
    fn eval_field_chain(
        &mut self,
        dot: &Value,
        receiver: (Value, bool),
        idents: &[std::rc::Rc<str>],
        args: &'a [Arg],
        fin: Option<Value>,
    ) -> EResult<Value> {
        let (mut receiver, mut iface) = receiver;
        let n = idents.len();
        let at = self.at.clone();
        for ident in &idents[..n - 1] {
            let next_iface = matches!(&receiver, Value::Map(m) if m.ty.ends_with("]interface {}"));
            receiver = self.eval_field(dot, ident, &at, &[], None, receiver, iface)?;
            iface = next_iface;
        }
        self.eval_field(dot, &idents[n - 1], &at, args, fin, receiver, iface)
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_field(
        &mut self,
        dot: &Value,
        name: &str,
        at: &At<'a>,
        args: &'a [Arg],
        fin: Option<Value>,
        receiver: Value,
        iface: bool,
    ) -> EResult<Value> {
        self.at = at.clone();
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
            Value::Object(o) => {
                if let Some(sig) = o.method(name) {
                    let argv = self.eval_call_args(
                        dot,
                        &sig.params,
                        sig.variadic,
                        false,
                        name,
                        args,
                        fin,
                    )?;
                    return match o.call(name, &argv) {
                        Ok(v) => Ok(v),
                        Err(e) => {
                            self.at = at.clone();
                            self.fail_call(name, FuncError::new(e))
                        }
                    };
                }
                if let Some(v) = o.field(name) {
                    if has_args {
                        return self.fail(format!(
                            "{name} has arguments but cannot be invoked as function"
                        ));
                    }
                    return Ok(v);
                }
                if let Some(Value::Map(m)) = o.underlying()
                    && m.ty.starts_with("map[string]")
                {
                    if has_args {
                        return self.fail(format!("{name} is not a method but has arguments"));
                    }
                    return Ok(self.map_field(&m, name));
                }
            }
            Value::Map(m) if m.ty.starts_with("map[string]") => {
                if has_args {
                    return self.fail(format!("{name} is not a method but has arguments"));
                }
                return Ok(self.map_field(m, name));
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

    fn map_field(&self, m: &crate::value::Map, name: &str) -> Value {
        match Value::map_get_str(m, name) {
            Some(v) => v,
            None if self.ctx.opts.missing_key_zero => m.zero.clone(),
            None => Value::Invalid,
        }
    }

    fn eval_function(
        &mut self,
        dot: &Value,
        name: &str,
        call_node: At<'a>,
        args: &'a [Arg],
        fin: Option<Value>,
    ) -> EResult<Value> {
        let Some(entry) = self.ctx.funcs.map.get(name).cloned() else {
            return self.fail(format!("{} is not a defined function", gofmt::quote(name)));
        };
        self.eval_call(dot, &entry, call_node, name, args, fin)
    }

    /// Evaluates a call's arguments against its Go signature (`args[0]` is
    /// the callee itself).
    #[allow(clippy::too_many_arguments)]
    fn eval_call_args(
        &mut self,
        dot: &Value,
        params: &[P],
        variadic: Option<P>,
        is_call: bool,
        name: &str,
        args: &'a [Arg],
        fin: Option<Value>,
    ) -> EResult<Vec<Value>> {
        let args: &'a [Arg] = if args.is_empty() { args } else { &args[1..] };
        let num_in = args.len() + usize::from(fin.is_some());
        let fixed = params.len();
        if variadic.is_some() {
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
        let mut argv = Vec::with_capacity(num_in + 1);
        // Go inserts the callee's source text as `call`'s first argument.
        let skip = usize::from(is_call);
        if skip == 1 {
            let callee = args.first().map_or_else(String::new, ToString::to_string);
            argv.push(Value::str(callee));
        }
        for (i, a) in args.iter().enumerate() {
            let i = i + skip;
            let p = if i < fixed {
                params[i]
            } else {
                variadic.unwrap_or(P::Any)
            };
            argv.push(self.eval_arg(dot, p, a)?);
        }
        if let Some(f) = fin {
            let p = if num_in - 1 < fixed {
                params[num_in - 1]
            } else {
                variadic.unwrap_or(P::Any)
            };
            argv.push(self.validate(f, p)?);
        }
        Ok(argv)
    }

    fn eval_call(
        &mut self,
        dot: &Value,
        entry: &Entry,
        call_node: At<'a>,
        name: &str,
        args: &'a [Arg],
        fin: Option<Value>,
    ) -> EResult<Value> {
        let builtin = matches!(entry, Entry::Builtin(_));
        if builtin && (name == "and" || name == "or") {
            let rest: &'a [Arg] = if args.is_empty() { args } else { &args[1..] };
            let num_in = rest.len() + usize::from(fin.is_some());
            if num_in < 1 {
                return self.fail(format!(
                    "wrong number of args for {name}: want at least 1 got {}",
                    rest.len()
                ));
            }
            let mut v = Value::Invalid;
            for a in rest {
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
        let (params, variadic) = entry.params();
        let argv = self.eval_call_args(
            dot,
            params,
            variadic,
            builtin && name == "call",
            name,
            args,
            fin,
        )?;
        let r = match entry {
            Entry::Builtin(f) | Entry::Static(f) => (f.call)(&argv),
            Entry::Env(f) => (f.call)(&self.ctx.funcs.env, &argv),
            Entry::Closure(c) => (c.1)(&argv).map_err(FuncError::new),
            Entry::Include => self.include(&argv),
            Entry::Tpl => self.tpl(&argv),
            Entry::Required => required(&argv),
            Entry::HelmFail => ferr(format!(
                "{HELM_ERR_START}{}{HELM_ERR_END}",
                argv[0].as_str().unwrap_or_default()
            )),
            Entry::Unsupported => ferr(unsupported(name)),
        };
        match r {
            Ok(v) => Ok(v),
            Err(e) => {
                self.at = call_node;
                self.fail_call(name, e)
            }
        }
    }

    /// Helm's `include NAME DATA`.
    fn include(&mut self, a: &[Value]) -> FResult {
        let name = a[0].as_str().unwrap_or_default();
        let count = self.ctx.includes.entry(name.to_string()).or_insert(0);
        if *count > INCLUDE_MAX {
            return ferr(format!(
                "rendering template has a nested reference name: {name}: unable to execute template"
            ));
        }
        *count += 1;
        let r = match self.ctx.lookup(name) {
            None => ferr(format!(
                "template: no template {} associated with template {}",
                gofmt::quote(name),
                gofmt::quote(&self.ctx.set_name)
            )),
            Some(def) => match self.enter() {
                Err(e) => ferr(e),
                Ok(()) => {
                    let r = run(self.ctx, &def, name, a[1].clone());
                    self.ctx.depth -= 1;
                    r.map(Value::str).map_err(|e| FuncError {
                        msg: e.message,
                        chain: e.chain,
                    })
                }
            },
        };
        if let Some(c) = self.ctx.includes.get_mut(name) {
            *c -= 1;
        }
        r
    }

    /// Helm's `tpl TEXT DATA`: `TEXT` parsed under the set's name into a
    /// copy of the set (its `define`s seen only by this execution and the
    /// templates it calls), executed, `<no value>` deleted.
    fn tpl(&mut self, a: &[Value]) -> FResult {
        let text = a[0].as_str().unwrap_or_default();
        let funcs = Rc::clone(&self.ctx.funcs);
        let set_name = Rc::clone(&self.ctx.set_name);
        let tree = match parse::parse(&set_name, text, &|n: &str| funcs.contains(n)) {
            Ok(t) => t,
            Err(e) => {
                let inner = e.to_string();
                return Err(FuncError {
                    msg: format!("cannot parse template {}: {inner}", gofmt::quote(text)),
                    chain: funcs::link(&inner, None),
                });
            }
        };
        let rc_text: Rc<str> = text.into();
        let mut defines = tree.defines;
        let main = defines.remove(&*set_name).unwrap_or_default();
        let main_def = Def {
            nodes: main,
            text: Rc::clone(&rc_text),
            parse_name: Rc::clone(&set_name),
        };
        let mut layer = Defs::default();
        for (name, nodes) in defines {
            if nodes.iter().all(parse::is_empty_node) && self.ctx.lookup(&name).is_some() {
                continue;
            }
            layer.insert(
                name,
                Rc::new(Def {
                    nodes,
                    text: Rc::clone(&rc_text),
                    parse_name: Rc::clone(&set_name),
                }),
            );
        }
        if let Err(e) = self.enter() {
            return ferr(e);
        }
        self.ctx.layers.push(Rc::new(layer));
        let r = run(self.ctx, &main_def, &set_name, a[1].clone());
        self.ctx.layers.pop();
        self.ctx.depth -= 1;
        match r {
            Ok(out) => Ok(Value::str(out.replace("<no value>", ""))),
            Err(e) => Err(FuncError {
                msg: format!(
                    "error during tpl function execution for {}: {}",
                    gofmt::quote(text),
                    e.message
                ),
                chain: funcs::link(&e.message, e.chain),
            }),
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
                    dot,
                    (dot.clone(), iface),
                    idents,
                    std::slice::from_ref(arg),
                    None,
                )?;
                return self.validate(v, p);
            }
            Arg::Variable { .. } => {
                let v = self.eval_variable(dot, arg, &[], None)?;
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
            (P::Str, Arg::String { text, .. }) => Ok(Value::String(std::rc::Rc::clone(text))),
            (P::Str, _) => self.fail(format!("expected string; found {arg}")),
            (P::Any | P::Val, Arg::Bool { val, .. }) => Ok(Value::Bool(*val)),
            (P::Any | P::Val, Arg::Number { .. }) => self.ideal_constant(arg),
            (P::Any | P::Val, Arg::String { text, .. }) => {
                Ok(Value::String(std::rc::Rc::clone(text)))
            }
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
            P::Time => matches!(&v, Value::Object(o) if o.type_name() == "time.Time"),
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

/// One level of Helm's trace (`TraceableError`).
#[derive(PartialEq, Eq)]
struct Trace {
    location: String,
    message: String,
    executed: String,
}

impl Trace {
    fn write(&self, out: &mut String) {
        if !self.location.is_empty() {
            out.push_str(&self.location);
            out.push_str("\n  ");
        }
        if !self.executed.is_empty() {
            out.push_str(&self.executed);
            out.push_str("\n    ");
        }
        if !self.message.is_empty() {
            out.push_str(&self.message);
            out.push('\n');
        }
    }
}

/// Helm's `parseTemplateExecErrorString`.
fn parse_trace(s: &str) -> Option<Trace> {
    let rest = s.strip_prefix("template: ")?;
    if rest.starts_with("no template ") {
        return Some(Trace {
            location: String::new(),
            message: s.to_string(),
            executed: String::new(),
        });
    }
    let cut = |m: &str| match m.find(" template:") {
        Some(i) => m[..i].to_string(),
        None => m.to_string(),
    };
    if let Some((name, after)) = rest.split_once(": executing ") {
        // Helm gives up on this form (and returns Go's text) when it is malformed.
        let func = after.strip_prefix('"')?;
        let end = func.find('"')?;
        let (func, after_func) = (&func[..end], &func[end + 1..]);
        let after_at = after_func.strip_prefix(" at <")?;
        let (loc, msg) = after_at.split_once(">: ")?;
        return Some(Trace {
            location: name.to_string(),
            message: cut(msg),
            executed: format!("executing \"{func}\" at <{loc}>:"),
        });
    }
    let sep = rest.rfind(": ")?;
    Some(Trace {
        location: rest[..sep].to_string(),
        message: cut(&rest[sep + 2..]),
        executed: String::new(),
    })
}

/// Helm's `reformatExecErrorMsg`.
fn helm_exec_message(e: &ExecError) -> String {
    let tokens: Vec<&str> = e.message.splitn(3, ": ").collect();
    if tokens.len() != 3 {
        return e.message.clone();
    }
    let location = tokens[1];
    if let Some(start) = tokens[2].find(HELM_ERR_START)
        && let Some(end) = tokens[2].rfind(HELM_ERR_END)
        && end >= start + HELM_ERR_START.len()
    {
        return format!(
            "execution error at ({location}): {}",
            &tokens[2][start + HELM_ERR_START.len()..end]
        );
    }
    let mut traces: Vec<Trace> = Vec::new();
    let Some(first) = parse_trace(&e.message) else {
        return e.message.clone();
    };
    traces.push(first);
    let mut link = e.chain.as_deref();
    while let Some(l) = link {
        let Some(t) = parse_trace(&l.text) else {
            return e.message.clone();
        };
        if traces.last() != Some(&t) {
            traces.push(t);
        }
        link = l.next.as_deref();
    }
    let mut out = String::new();
    for t in &traces {
        t.write(&mut out);
    }
    out.trim().to_string()
}
