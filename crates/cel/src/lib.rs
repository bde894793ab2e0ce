//! ferroflux-cel — tier 0 engine: CEL expressions the way Flux evaluates
//! them (fluxcd/pkg `runtime/cel`): a Kustomization's `healthCheckExprs`
//! over an object's top-level fields, and `dependsOn[].readyExpr` over
//! `self` and `dep`. Pure: values in, a boolean out; no IO, no clock.
//!
//! The expressions are written by whoever owns the Kustomization, so they
//! are hostile input to a controller that serves every tenant. cel-rust's
//! parser and interpreter recurse without a stack guard (an expression of
//! a few thousand `+` overflows an 8 MiB stack, which aborts the process),
//! so every parse and evaluation runs on a thread of its own with a large
//! stack, the source is capped at [`MAX_LEN`] bytes, and an evaluation that
//! runs longer than [`EVAL_TIMEOUT`] is abandoned with an error.
//! Must not depend on the adapters, the runtime or the CLI.

use std::sync::Arc;
use std::time::Duration;

#[cfg(test)]
mod tests;

/// Longest expression accepted. Flux's own examples are under 200 bytes;
/// this bound keeps the deepest tree the parser can build within
/// [`STACK`] in a debug build.
pub const MAX_LEN: usize = 2048;
/// Stack of the parsing and evaluating thread (reserved, not committed).
const STACK: usize = 64 << 20;
/// Longest evaluation before the result is given up.
pub const EVAL_TIMEOUT: Duration = Duration::from_secs(1);

/// Why an expression cannot be used or evaluated; the texts follow
/// fluxcd/pkg's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("failed to parse the CEL expression '{expr}': {message}")]
    Parse { expr: String, message: String },
    #[error("failed to parse the CEL expression: it is {len} bytes long, more than {MAX_LEN}")]
    TooLong { len: usize },
    #[error("failed to evaluate the CEL expression '{expr}': {message}")]
    Evaluate { expr: String, message: String },
    #[error("failed to evaluate CEL expression as boolean: '{expr}'")]
    NotBoolean { expr: String },
    #[error("failed to evaluate the CEL expression '{expr}': took longer than {EVAL_TIMEOUT:?}")]
    Timeout { expr: String },
}

/// A parsed expression.
#[derive(Clone)]
pub struct Expression {
    source: Arc<str>,
    program: Arc<cel::Program>,
}

impl std::fmt::Debug for Expression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Expression").field(&self.source).finish()
    }
}

impl std::fmt::Display for Expression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.source)
    }
}

/// Run `f` on a thread with [`STACK`] bytes of stack; `None` when the
/// thread could not start or panicked.
fn on_big_stack<T: Send + 'static>(
    timeout: Option<Duration>,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<Option<T>, ()> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let spawned = std::thread::Builder::new()
        .name("cel".into())
        .stack_size(STACK)
        .spawn(move || {
            let _ = tx.send(f());
        });
    if spawned.is_err() {
        return Ok(None);
    }
    match timeout {
        Some(t) => match rx.recv_timeout(t) {
            Ok(v) => Ok(Some(v)),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(()),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Ok(None),
        },
        None => Ok(rx.recv().ok()),
    }
}

impl Expression {
    /// Parse `source`.
    pub fn parse(source: &str) -> Result<Expression, Error> {
        if source.len() > MAX_LEN {
            return Err(Error::TooLong { len: source.len() });
        }
        let owned = source.to_string();
        let parsed = on_big_stack(None, move || {
            cel::Program::compile(&owned).map_err(|e| e.to_string())
        });
        match parsed {
            Ok(Some(Ok(program))) => Ok(Expression {
                source: source.into(),
                program: Arc::new(program),
            }),
            Ok(Some(Err(message))) => Err(Error::Parse {
                expr: source.to_string(),
                message,
            }),
            _ => Err(Error::Parse {
                expr: source.to_string(),
                message: "the parser failed".to_string(),
            }),
        }
    }

    /// Evaluate with `vars` (name, JSON value) as the variables; the result
    /// must be a boolean.
    pub fn evaluate_bool(&self, vars: Vec<(String, serde_json::Value)>) -> Result<bool, Error> {
        let program = self.program.clone();
        let run = on_big_stack(Some(EVAL_TIMEOUT), move || {
            let mut ctx = cel::Context::default();
            for (name, value) in &vars {
                let v = cel::to_value(value).map_err(|e| e.to_string())?;
                ctx.add_variable_from_value(name.clone(), v);
            }
            program
                .execute(&ctx)
                .map(|v| match v {
                    cel::Value::Bool(b) => Some(b),
                    _ => None,
                })
                .map_err(|e| e.to_string())
        });
        let expr = self.source.to_string();
        match run {
            Ok(Some(Ok(Some(b)))) => Ok(b),
            Ok(Some(Ok(None))) => Err(Error::NotBoolean { expr }),
            Ok(Some(Err(message))) => Err(Error::Evaluate { expr, message }),
            Ok(None) => Err(Error::Evaluate {
                expr,
                message: "the interpreter failed".to_string(),
            }),
            Err(()) => Err(Error::Timeout { expr }),
        }
    }

    /// Evaluate over an object's top-level fields (`metadata`, `spec`,
    /// `status`, …), as `healthCheckExprs` see it.
    pub fn evaluate_on_object(&self, object: &serde_json::Value) -> Result<bool, Error> {
        let vars = object
            .as_object()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        self.evaluate_bool(vars)
    }
}
