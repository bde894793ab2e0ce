//! `dependsOn`: kustomize-controller's `checkDependencies`. Each entry is
//! checked in order and the first failure is the message of the
//! `DependencyNotReady` condition.

use ferroflux_api::kustomize::{CrossNamespaceSourceReference, Kustomization};
use ferroflux_api::meta::condition;

use crate::status;

/// How a reconcile finds the Kustomizations it depends on (the index of
/// the home: in a cluster Flux reads them uncached; ours is kept current by
/// the watches, so the same answer arrives without a round trip).
pub trait Lookup {
    fn kustomization(&self, namespace: &str, name: &str) -> Option<Kustomization>;
}

/// Why the dependencies of a Kustomization do not let it apply yet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DependencyError {
    /// Flux: the API's NotFound error, wrapped.
    #[error(
        "dependency '{namespace}/{name}' not found: kustomizations.kustomize.toolkit.fluxcd.io \"{name}\" not found"
    )]
    NotFound { namespace: String, name: String },
    #[error("dependency '{namespace}/{name}' is not ready")]
    NotReady { namespace: String, name: String },
    #[error("dependency '{namespace}/{name}' revision is not up to date")]
    RevisionNotUpToDate { namespace: String, name: String },
    #[error("dependency '{namespace}/{name}' is not ready according to readyExpr eval")]
    NotReadyByExpr { namespace: String, name: String },
    /// The expression could not be evaluated on these objects: transient,
    /// the text is the evaluator's.
    #[error("{0}")]
    Evaluate(String),
    /// The expression does not parse: terminal (`InvalidCELExpression`).
    #[error("{0}")]
    InvalidExpr(String),
}

impl DependencyError {
    /// Whether waiting can fix it (everything but an expression that does
    /// not parse, which Flux reports as a terminal configuration error).
    pub fn is_transient(&self) -> bool {
        !matches!(self, DependencyError::InvalidExpr(_))
    }
}

/// Check `ks.spec.dependsOn` against what `lookup` sees. `revision` is the
/// artifact revision this reconcile would apply: a dependency on the same
/// source must have applied exactly it.
pub fn check(
    ks: &Kustomization,
    revision: &str,
    lookup: &dyn Lookup,
) -> Result<(), DependencyError> {
    let own_ns = ks.metadata.namespace.as_deref().unwrap_or_default();
    // `self` for readyExpr, serialised once for all the entries.
    let mut self_json = None;
    for dep_ref in &ks.spec.depends_on {
        let namespace = dep_ref
            .namespace
            .as_deref()
            .filter(|n| !n.is_empty())
            .unwrap_or(own_ns)
            .to_string();
        let name = dep_ref.name.clone();
        let Some(dep) = lookup.kustomization(&namespace, &name) else {
            return Err(DependencyError::NotFound { namespace, name });
        };
        if let Some(expr) = dep_ref.ready_expr.as_deref().filter(|e| !e.is_empty()) {
            // Flux skips the built-in checks below when an expression is
            // given (unless its AdditiveCELDependencyCheck gate is on).
            let e = ferroflux_cel::Expression::parse(expr)
                .map_err(|e| DependencyError::InvalidExpr(e.to_string()))?;
            let vars = vec![
                (
                    "self".to_string(),
                    self_json.get_or_insert_with(|| to_json(ks)).clone(),
                ),
                ("dep".to_string(), to_json(&dep)),
            ];
            match e.evaluate_bool(vars) {
                Ok(true) => continue,
                Ok(false) => return Err(DependencyError::NotReadyByExpr { namespace, name }),
                Err(e) => return Err(DependencyError::Evaluate(e.to_string())),
            }
        }
        let st = dep.status.as_ref();
        let conditions = st.map(|s| s.conditions.as_slice()).unwrap_or_default();
        let observed = st.and_then(|s| s.observed_generation);
        if conditions.is_empty()
            || dep.metadata.generation.unwrap_or(0) != observed.unwrap_or(0)
            || !status::is_true(conditions, condition::READY)
        {
            return Err(DependencyError::NotReady { namespace, name });
        }
        let dep_ns = dep.metadata.namespace.as_deref().unwrap_or_default();
        if same_source(&dep.spec.source_ref, dep_ns, &ks.spec.source_ref, own_ns)
            && st.and_then(|s| s.last_applied_revision.as_deref()) != Some(revision)
        {
            return Err(DependencyError::RevisionNotUpToDate { namespace, name });
        }
    }
    Ok(())
}

/// The object as the API serves it, for CEL's `self` and `dep`.
fn to_json(ks: &Kustomization) -> serde_json::Value {
    serde_json::to_value(ks).unwrap_or_default()
}

fn same_source(
    a: &CrossNamespaceSourceReference,
    a_ns: &str,
    b: &CrossNamespaceSourceReference,
    b_ns: &str,
) -> bool {
    let ns = |r: &CrossNamespaceSourceReference, own: &str| {
        r.namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| own.to_string())
    };
    a.kind == b.kind && a.name == b.name && ns(a, a_ns) == ns(b, b_ns)
}
