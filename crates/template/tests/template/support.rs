//! Shared helpers: the oracle's case shape and how an outcome is compared.

use ferroflux_template::{RenderOptions, TemplateData, TemplateError, render};
use serde::{Deserialize, Serialize};

/// One oracle case: a template plus the data in the oracle's input shape.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Case {
    pub name: String,
    pub template: String,
    #[serde(flatten)]
    pub data: TemplateData,
}

/// One oracle answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub name: String,
    pub message: Option<String>,
    pub error: Option<String>,
}

/// Renders like the oracle (legacy `.Updated` present) and classifies errors
/// with the oracle's prefixes.
pub fn render_like_oracle(case: &Case, opts: RenderOptions) -> Outcome {
    match render(&case.template, &case.data, opts) {
        Ok(m) => Outcome {
            name: case.name.clone(),
            message: Some(m),
            error: None,
        },
        Err(e) => Outcome {
            name: case.name.clone(),
            message: None,
            error: Some(oracle_error(&e)),
        },
    }
}

pub fn oracle_error(e: &TemplateError) -> String {
    match e {
        TemplateError::Parse(p) => format!("parse: {p}"),
        TemplateError::Exec(x) => format!("exec: {x}"),
        TemplateError::RemovedField { source, .. } => format!("exec: {source}"),
        TemplateError::InvalidImageRef(r) => format!("ref: {r}"),
    }
}

pub fn legacy() -> RenderOptions {
    RenderOptions {
        api_version: ferroflux_template::ApiVersion::V1beta2,
    }
}
