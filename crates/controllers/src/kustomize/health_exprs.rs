//! `spec.healthCheckExprs`: CEL expressions that judge the health of
//! objects of a group (and kind) in place of kstatus's rules, as fluxcd/pkg
//! `runtime/cel` does: a kind entry wins over a group entry; per object the
//! generation is checked first, then `inProgress`, `failed`, `current`, and
//! none true means in progress.

use ferroflux_api::kustomize::CustomHealthCheck;
use ferroflux_cel::Expression;

/// What an expression set says about one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExprStatus {
    Current,
    InProgress,
    Failed,
}

#[derive(Debug, Clone)]
struct Evaluator {
    group: String,
    /// `None`: the whole group.
    kind: Option<String>,
    current: Expression,
    in_progress: Option<Expression>,
    failed: Option<Expression>,
}

/// The compiled `healthCheckExprs` of a Kustomization.
#[derive(Debug, Clone, Default)]
pub struct HealthExprs {
    evaluators: Vec<Evaluator>,
}

fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

/// Go's `schema.GroupKind.String()`.
fn group_kind(group: &str, kind: &str) -> String {
    if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    }
}

impl HealthExprs {
    /// Compile the entries; an error is terminal (`InvalidCELExpression`).
    pub fn compile(checks: &[CustomHealthCheck]) -> Result<HealthExprs, String> {
        let mut evaluators: Vec<Evaluator> = Vec::new();
        for (i, hc) in checks.iter().enumerate() {
            let group = group_of(&hc.api_version).to_string();
            let kind = hc.kind.clone().filter(|k| !k.is_empty());
            if evaluators
                .iter()
                .any(|e| e.group == group && e.kind == kind)
            {
                return Err(format!(
                    "duplicate custom health check for GroupKind {} at healthchecks[{i}]",
                    group_kind(&group, kind.as_deref().unwrap_or_default())
                ));
            }
            let wrap = |e: String| {
                format!("failed to create custom status evaluator for healthchecks[{i}]: {e}")
            };
            if hc.current.is_empty() {
                return Err(wrap("expression Current not specified".to_string()));
            }
            let parse = |name: &str, src: &str| {
                Expression::parse(src)
                    .map_err(|e| wrap(format!("failed to parse the expression {name}: {e}")))
            };
            let optional = |name: &str, src: &Option<String>| {
                src.as_deref()
                    .filter(|s| !s.is_empty())
                    .map(|s| parse(name, s))
                    .transpose()
            };
            evaluators.push(Evaluator {
                current: parse("Current", &hc.current)?,
                in_progress: optional("InProgress", &hc.in_progress)?,
                failed: optional("Failed", &hc.failed)?,
                group,
                kind,
            });
        }
        Ok(HealthExprs { evaluators })
    }

    fn evaluator(&self, api_version: &str, kind: &str) -> Option<&Evaluator> {
        let group = group_of(api_version);
        self.evaluators
            .iter()
            .find(|e| e.group == group && e.kind.as_deref() == Some(kind))
            .or_else(|| {
                self.evaluators
                    .iter()
                    .find(|e| e.group == group && e.kind.is_none())
            })
    }

    /// Whether objects of this apiVersion and kind are judged by CEL.
    pub fn covers(&self, api_version: &str, kind: &str) -> bool {
        self.evaluator(api_version, kind).is_some()
    }

    /// The status of `object` by its expressions; `None` when no entry
    /// covers it; an evaluation error leaves the status unknown.
    pub fn evaluate(&self, object: &serde_json::Value) -> Option<Result<ExprStatus, String>> {
        let api_version = object["apiVersion"].as_str().unwrap_or_default();
        let kind = object["kind"].as_str().unwrap_or_default();
        let e = self.evaluator(api_version, kind)?;
        let observed = object["status"]["observedGeneration"].as_i64();
        let generation = object["metadata"]["generation"].as_i64();
        if let (Some(o), Some(g)) = (observed, generation)
            && o != g
        {
            return Some(Ok(ExprStatus::InProgress));
        }
        for (expr, status) in [
            (e.in_progress.as_ref(), ExprStatus::InProgress),
            (e.failed.as_ref(), ExprStatus::Failed),
            (Some(&e.current), ExprStatus::Current),
        ] {
            let Some(expr) = expr else { continue };
            match expr.evaluate_on_object(object) {
                Ok(true) => return Some(Ok(status)),
                Ok(false) => {}
                Err(err) => return Some(Err(err.to_string())),
            }
        }
        Some(Ok(ExprStatus::InProgress))
    }
}
