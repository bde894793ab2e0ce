//! Kubernetes label selectors (`metav1.LabelSelector`), as the automation's
//! `policySelector` applies them to ImagePolicy labels.

use std::collections::BTreeMap;

use ferroflux_api::meta::LabelSelector;

/// Why a selector cannot be used (Flux: Stalled `InvalidPolicySelector`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error(
        "failed to parse policy selector: operator {operator:?} of key {key:?} is not In, NotIn, Exists or DoesNotExist"
    )]
    Operator { key: String, operator: String },
    #[error("failed to parse policy selector: operator {operator} of key {key:?} needs {needs}")]
    Values {
        key: String,
        operator: String,
        needs: &'static str,
    },
}

/// Does `selector` select an object with `labels`? `None` selects all. A
/// malformed expression is an error even when the labels already fail.
pub fn matches(
    selector: Option<&LabelSelector>,
    labels: &BTreeMap<String, String>,
) -> Result<bool, Error> {
    let Some(sel) = selector else { return Ok(true) };
    validate(sel)?;
    let labels_ok = sel
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let expressions_ok = sel.match_expressions.iter().flatten().all(|e| {
        let values = e.values.as_deref().unwrap_or(&[]);
        let has = labels.get(&e.key);
        match e.operator.as_str() {
            "In" => has.is_some_and(|v| values.contains(v)),
            "NotIn" => has.is_none_or(|v| !values.contains(v)),
            "Exists" => has.is_some(),
            _ => has.is_none(),
        }
    });
    Ok(labels_ok && expressions_ok)
}

fn validate(sel: &LabelSelector) -> Result<(), Error> {
    for e in sel.match_expressions.iter().flatten() {
        let values = e.values.as_deref().unwrap_or(&[]);
        let needs = match e.operator.as_str() {
            "In" | "NotIn" if values.is_empty() => "at least one value",
            "Exists" | "DoesNotExist" if !values.is_empty() => "no values",
            "In" | "NotIn" | "Exists" | "DoesNotExist" => continue,
            other => {
                return Err(Error::Operator {
                    key: e.key.clone(),
                    operator: other.to_string(),
                });
            }
        };
        return Err(Error::Values {
            key: e.key.clone(),
            operator: e.operator.clone(),
            needs,
        });
    }
    Ok(())
}

/// `{a=b, c In (x, y)}` for messages.
pub fn describe(selector: Option<&LabelSelector>) -> String {
    let Some(sel) = selector else {
        return "(none: all policies)".to_string();
    };
    let mut parts: Vec<String> = sel
        .match_labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for e in sel.match_expressions.iter().flatten() {
        let values = e.values.as_deref().unwrap_or(&[]);
        parts.push(if values.is_empty() {
            format!("{} {}", e.key, e.operator)
        } else {
            format!("{} {} ({})", e.key, e.operator, values.join(", "))
        });
    }
    format!("{{{}}}", parts.join(", "))
}

#[cfg(test)]
mod tests;
