//! A template set (Go's `*template.Template` with its associated
//! templates): many named templates parsed into one `define` namespace, a
//! function map, and the options Helm sets (`missingkey=zero`), with
//! Helm's `include`, `tpl`, `required` and `fail` built in.

use std::collections::HashMap;
use std::rc::Rc;

use crate::exec::{self, ExecError};
use crate::funcs::{self, Entry, Func, P};
use crate::object::Signature;
use crate::parse::{self, Node, ParseError};
use crate::value::Value;

/// One named template: its body and the text and name it was parsed from
/// (error positions are `PARSENAME:LINE:COL` in that text).
#[derive(Debug)]
pub(crate) struct Def {
    pub nodes: Vec<Node>,
    pub text: Rc<str>,
    pub parse_name: Rc<str>,
}

pub(crate) type Defs = HashMap<String, Rc<Def>, foldhash::fast::RandomState>;

/// What a caller-registered function is: Go's `func(args...) (any, error)`.
pub type Closure = dyn Fn(&[Value]) -> Result<Value, String>;

/// The functions a set's templates may call. Calling a name that is not in
/// the map is a parse error, as in Go.
#[derive(Clone)]
pub struct FuncMap {
    pub(crate) map: HashMap<Rc<str>, Entry, foldhash::fast::RandomState>,
    pub(crate) env: funcs::Env,
}

impl std::fmt::Debug for FuncMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FuncMap")
            .field("functions", &self.map.len())
            .finish()
    }
}

impl FuncMap {
    /// text/template's builtins plus sprig's `HermeticTxtFuncMap()`: Flux's
    /// commit-message map.
    pub fn hermetic() -> FuncMap {
        let mut m = FuncMap::builtins();
        for name in funcs::SPRIG_NAMES {
            if !funcs::NON_HERMETIC.contains(name) {
                m.map.insert((*name).into(), funcs::sprig_entry(name));
            }
        }
        m
    }

    /// Helm's map (`pkg/engine/funcs.go`): text/template's builtins, sprig's
    /// whole `TxtFuncMap()` without `env` and `expandenv`, Helm's `include`,
    /// `tpl`, `required` and `fail`. Helm's other functions (`toYaml`,
    /// `lookup`, ...) are the caller's to [`FuncMap::insert`].
    /// `getHostByName` returns `""` as Helm's without `--enable-dns`.
    pub fn helm() -> FuncMap {
        let mut m = FuncMap::builtins();
        for name in funcs::SPRIG_NAMES {
            if *name != "env" && *name != "expandenv" {
                m.map.insert((*name).into(), funcs::sprig_entry(name));
            }
        }
        for name in ["semver", "semverCompare"] {
            if let Some(f) = crate::sprig::helm_semver(name) {
                m.map.insert(name.into(), Entry::Static(f));
            }
        }
        m.map.insert("include".into(), Entry::Include);
        m.map.insert("tpl".into(), Entry::Tpl);
        m.map.insert("required".into(), Entry::Required);
        m.map.insert("fail".into(), Entry::HelmFail);
        m.map.insert(
            "getHostByName".into(),
            Entry::Static(Func {
                params: &[P::Str],
                variadic: None,
                call: |_| Ok(Value::str("")),
            }),
        );
        m
    }

    fn builtins() -> FuncMap {
        let mut map = HashMap::default();
        for name in funcs::BUILTINS {
            if let Some(f) = funcs::builtin(name) {
                map.insert((*name).into(), Entry::Builtin(f));
            }
        }
        FuncMap {
            map,
            env: funcs::Env::default(),
        }
    }

    /// Registers (or replaces, builtins included) the function `name`. `sig`
    /// is its Go parameter list: text/template checks the argument count and
    /// types against it before the call. An `Err` fails the template with
    /// `error calling NAME: <text>`.
    pub fn insert(
        &mut self,
        name: &str,
        sig: Signature,
        f: impl Fn(&[Value]) -> Result<Value, String> + 'static,
    ) {
        self.map
            .insert(name.into(), Entry::Closure(Rc::new((sig, Box::new(f)))));
    }

    /// Removes a function (Helm deletes `env` and `expandenv`).
    pub fn remove(&mut self, name: &str) {
        self.map.remove(name);
    }

    pub fn contains(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// The clock `now` and the date functions read: seconds and nanoseconds
    /// since the Unix epoch, and the local zone's offset east of UTC in
    /// seconds with its name (Go's `time.Local`). Without one, `now` fails.
    pub fn set_clock(&mut self, clock: impl Fn() -> Timestamp + 'static) {
        self.env.clock = Some(Rc::new(clock));
    }

    /// The source of randomness of `randAlphaNum`, `randInt`, `uuidv4`,
    /// `shuffle`, `bcrypt`'s salts and the certificate and key generators:
    /// each call returns 64 random bits. Without one, those functions fail.
    /// Charts make passwords and private keys with these: outside tests the
    /// source must be cryptographically secure (the OS's, or a CSPRNG
    /// seeded from it), or one printed value predicts the others. Key
    /// material is drawn through SHA-256 so certificates do not reveal the
    /// source's state, but it has no more entropy than the source.
    pub fn set_rng(&mut self, rng: impl FnMut() -> u64 + 'static) {
        self.env.rng = Some(Rc::new(std::cell::RefCell::new(rng)));
    }
}

/// An instant and the local zone it is seen in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timestamp {
    pub unix_secs: i64,
    pub nanos: u32,
    /// The local zone (Go's `time.Local`): offset east of UTC in seconds
    /// and its abbreviation (`UTC`, `CET`).
    pub offset_secs: i32,
    pub zone: String,
}

/// How a set executes.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Go's `missingkey=zero` (Helm's setting): a missing key of a
    /// `map[string]interface {}` is a nil interface (prints `<no value>`;
    /// `.a.b` with `a` missing fails with "nil pointer evaluating
    /// interface {}.b"). Otherwise Go's default: no value, and `.a.b` too.
    pub missing_key_zero: bool,
    /// ferroflux's bounds (not Go's): the bytes one execution may write,
    /// the `range` iterations of one execution in all, and the nesting of
    /// `template`/`include`/`tpl` calls. Each execution needs about
    /// [`STACK_PER_LEVEL`] bytes of stack per level of nesting.
    pub max_output_bytes: usize,
    pub max_range_iterations: u64,
    pub max_depth: usize,
    /// What the limits' errors call them (`"a commit message"`).
    pub limit_subject: &'static str,
}

/// Stack to allow per level of `template`/`include`/`tpl` nesting. A
/// plain `include` takes 4–8 KiB in an x86_64 debug build (Helm's 1001
/// nested includes of one name overflow 4 MiB and fit 8 MiB); pipelines,
/// `range`s and `if`s between the levels take more, hence the margin. A
/// renderer that allows [`Options::max_depth`] levels runs on a thread
/// with `max_depth * STACK_PER_LEVEL` bytes of stack.
pub const STACK_PER_LEVEL: usize = 48 * 1024;

impl Options {
    /// Flux's commit messages: Go's default missing-key rule, small bounds.
    pub const FLUX: Options = Options {
        missing_key_zero: false,
        max_output_bytes: exec::MAX_OUTPUT_BYTES,
        max_range_iterations: exec::MAX_RANGE_ITERATIONS,
        max_depth: 100,
        limit_subject: "a commit message",
    };

    /// Helm's engine: `missingkey=zero`, include nesting past Helm's own
    /// guard of 1000 per name (so its message is reached).
    pub const HELM: Options = Options {
        missing_key_zero: true,
        max_output_bytes: 256 << 20,
        max_range_iterations: 100_000_000,
        max_depth: 1500,
        limit_subject: "a chart",
    };
}

/// Templates parsed into one namespace, executed by name.
#[derive(Clone, Debug)]
pub struct Set {
    name: Rc<str>,
    pub(crate) defs: Rc<Defs>,
    pub(crate) funcs: Rc<FuncMap>,
    pub(crate) opts: Options,
}

impl Set {
    /// An empty set called `name` (Helm's is `gotpl`: `tpl` parses under it
    /// and a missing `include` says "associated with template \"gotpl\"").
    pub fn new(name: &str, funcs: FuncMap, opts: Options) -> Set {
        Set::with_funcs(name, Rc::new(funcs), opts)
    }

    /// [`Set::new`] with a function map shared with other sets.
    pub fn with_funcs(name: &str, funcs: Rc<FuncMap>, opts: Options) -> Set {
        Set {
            name: name.into(),
            defs: Rc::new(HashMap::default()),
            funcs,
            opts,
        }
    }

    /// Helm's set: named `gotpl`, `missingkey=zero`.
    pub fn helm(funcs: FuncMap) -> Set {
        Set::new("gotpl", funcs, Options::HELM)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn funcs(&self) -> &FuncMap {
        &self.funcs
    }

    /// Parses `text` as the template `name` (Go's `t.New(name).Parse(text)`):
    /// its `define`s join the set; a later definition of a name replaces an
    /// earlier one, except that an empty body never replaces a non-empty one.
    pub fn parse(&mut self, name: &str, text: &str) -> Result<(), ParseError> {
        let funcs = Rc::clone(&self.funcs);
        let tree = parse::parse(name, text, &|n: &str| funcs.contains(n))?;
        let text: Rc<str> = text.into();
        let parse_name: Rc<str> = name.into();
        let defs = Rc::make_mut(&mut self.defs);
        associate(defs, tree.defines, &text, &parse_name);
        Ok(())
    }

    /// Whether a template of that name exists.
    pub fn has_template(&self, name: &str) -> bool {
        self.defs.contains_key(name)
    }

    /// The names of the set's templates, sorted.
    pub fn template_names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.defs.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    /// Executes the template `name` with `dot` (Go's `ExecuteTemplate`).
    /// Maps are shared, not copied: `set`/`unset`/`merge` on them are seen
    /// by later executions with the same data.
    pub fn execute(&self, name: &str, dot: &Value) -> Result<String, ExecError> {
        exec::execute_set(self, name, dot.clone())
    }
}

/// Go's `associate`, for every tree one parse produced.
pub(crate) fn associate(
    defs: &mut Defs,
    trees: HashMap<String, Vec<Node>>,
    text: &Rc<str>,
    parse_name: &Rc<str>,
) {
    for (name, nodes) in trees {
        if defs.contains_key(&name) && nodes.iter().all(parse::is_empty_node) {
            continue;
        }
        defs.insert(
            name,
            Rc::new(Def {
                nodes,
                text: Rc::clone(text),
                parse_name: Rc::clone(parse_name),
            }),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unimplemented_sprig_names_parse_and_fail_when_called() {
        let mut funcs = FuncMap::hermetic();
        funcs.map.insert("env".into(), funcs::sprig_entry("env"));
        let mut set = Set::new("t", funcs, Options::FLUX);
        set.parse("t", "{{ env \"HOME\" }}").expect("parse");
        let e = set.execute("t", &Value::Nil).expect_err("unsupported");
        assert_eq!(
            e.to_string(),
            "template: t:1:3: executing \"t\" at <env \"HOME\">: error calling env: sprig's env is not supported by ferroflux"
        );
    }
}
