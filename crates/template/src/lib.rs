//! Tier T0 (pure engine): Go `text/template` + sprig, for Flux's commit
//! messages (ImageUpdateAutomation) and for Helm's chart rendering.
//!
//! `git.commit.messageTemplate` is Go `text/template` with sprig v3's
//! `HermeticTxtFuncMap()` over Flux's data model ([`render`]). This crate is
//! a hand-written Go template engine (lexer, parser, executor, Go `fmt`
//! printing, sprig) over its own [`Value`] type, because Flux's data has
//! struct-keyed maps (`range $obj, $changes := .Changed.Objects`) that the
//! existing Rust ports cannot express. Output and error texts follow Go's,
//! since Flux's `RemovedTemplateField` check and users' commit history depend
//! on them.
//!
//! Helm's engine (`helm.sh/helm/v4/pkg/engine`) is a [`Set`] built with
//! [`Set::helm`] over [`FuncMap::helm`]: every chart file parsed into one
//! `define` namespace, `missingkey=zero`, sprig's whole `TxtFuncMap()`
//! without `env`/`expandenv`, Helm's `include`, `tpl`, `required` and
//! `fail`, and the caller's own functions ([`FuncMap::insert`]) and Go
//! values ([`Object`], for `.Files` and `.Capabilities`). Errors keep Go's
//! text ([`ExecError`]'s `Display`) and give Helm's
//! ([`ExecError::helm_message`], [`ParseError::helm_message`]). The clock
//! and the randomness sprig's `now`, `randAlphaNum`, `uuidv4`, ... read are
//! the caller's ([`FuncMap::set_clock`], [`FuncMap::set_rng`]).
//!
//! Must not depend on: IO, clocks, environment, entropy, tokio, git, kube.

mod certs;
mod data;
mod event;
mod exec;
mod funcs;
mod gofmt;
/// Go's `%g` for float64 (`strconv.FormatFloat(f, 'g', prec, 64)`).
pub use gofmt::format_g;
mod gotime;
mod imageref;
mod lex;
mod object;
mod parse;
mod semver;
mod set;
mod sprig;
mod sprig_extra;
mod value;

pub use data::{AutomationRef, Change, DataError, LatestRef, ObjectRef, TemplateData};
pub use event::{EventError, PushResult, push_summary};
pub use exec::ExecError;
pub use funcs::P as Param;
pub use imageref::{ImageRef, ImageRefError};
pub use object::{Object, Signature};
pub use parse::ParseError;
pub use set::{Closure, FuncMap, Options, STACK_PER_LEVEL, Set, Timestamp};
pub use value::Value;

/// Flux's message when `messageTemplate` is empty.
pub const DEFAULT_MESSAGE: &str = "Update from image update automation";

/// The template name Flux gives (`template.New("commit message")`).
pub const TEMPLATE_NAME: &str = "commit message";

/// Stalled reason when a template uses a field Flux v1 removed.
pub const REASON_REMOVED_TEMPLATE_FIELD: &str = "RemovedTemplateField";
/// Ready=False reason for other template errors (retried).
pub const REASON_GIT_OPERATION_FAILED: &str = "GitOperationFailed";
/// Ready=False reason when a policy's image does not parse.
pub const REASON_UPDATE_FAILED: &str = "UpdateFailed";

const TEMPLATE_DOCS: &str =
    "https://fluxcd.io/flux/components/image/imageupdateautomations/#message-template";

/// The served API version of the ImageUpdateAutomation being reconciled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ApiVersion {
    /// `image.toolkit.fluxcd.io/v1`: no `.Updated` (Flux stalls on it).
    #[default]
    V1,
    /// `v1beta2`: `.Updated` renders (ferroflux keeps the legacy data).
    V1beta2,
    /// `v1beta1`: as v1beta2.
    V1beta1,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct RenderOptions {
    pub api_version: ApiVersion,
}

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum TemplateError {
    /// The template does not parse.
    #[error("unable to create commit message template from spec: {0}")]
    Parse(#[source] ParseError),
    /// Executing the template failed.
    #[error("failed to run template from spec: {0}")]
    Exec(#[source] ExecError),
    /// The template uses `.Updated` or `.Changed.ImageResult`, which Flux v1 removed.
    #[error(
        "template uses removed '{field}' field. Please use {replacement} instead. See: {TEMPLATE_DOCS}"
    )]
    RemovedField {
        field: &'static str,
        replacement: &'static str,
        #[source]
        source: ExecError,
    },
    /// A policy's latest image does not parse; Flux aborts the whole run.
    #[error(transparent)]
    InvalidImageRef(#[from] ImageRefError),
}

impl TemplateError {
    /// The Flux condition reason for this error.
    pub fn reason(&self) -> &'static str {
        match self {
            TemplateError::RemovedField { .. } => REASON_REMOVED_TEMPLATE_FIELD,
            TemplateError::Parse(_) | TemplateError::Exec(_) => REASON_GIT_OPERATION_FAILED,
            TemplateError::InvalidImageRef(_) => REASON_UPDATE_FAILED,
        }
    }

    /// Whether the object should stall (no retry until the spec changes).
    pub fn is_stalled(&self) -> bool {
        matches!(self, TemplateError::RemovedField { .. })
    }
}

/// Renders a commit message as Flux does: `Update from image update
/// automation` for an empty template, else the template executed over `data`.
pub fn render(
    template: &str,
    data: &TemplateData,
    opts: RenderOptions,
) -> Result<String, TemplateError> {
    let legacy = opts.api_version != ApiVersion::V1;
    let dot = data::build(data, legacy).map_err(|e| match e {
        DataError::InvalidImageRef(r) => TemplateError::InvalidImageRef(r),
    })?;
    let src = if template.is_empty() {
        DEFAULT_MESSAGE
    } else {
        template
    };
    let set = flux_set(src).map_err(TemplateError::Parse)?;
    set.execute(TEMPLATE_NAME, &dot).map_err(removed_field)
}

thread_local! {
    static HERMETIC: std::rc::Rc<FuncMap> = std::rc::Rc::new(FuncMap::hermetic());
}

/// Flux's set: the hermetic map, Go's default options.
fn flux_set(src: &str) -> Result<Set, ParseError> {
    let funcs = HERMETIC.with(std::rc::Rc::clone);
    let mut set = Set::with_funcs(TEMPLATE_NAME, funcs, Options::FLUX);
    set.parse(TEMPLATE_NAME, src)?;
    Ok(set)
}

/// Flux's RemovedTemplateField check keys on Go's "can't evaluate field" text.
fn removed_field(e: ExecError) -> TemplateError {
    if e.message
        .ends_with("can't evaluate field Updated in type source.TemplateData")
    {
        return TemplateError::RemovedField {
            field: ".Updated",
            replacement: "'.Changed'",
            source: e,
        };
    }
    if e.message
        .ends_with("can't evaluate field ImageResult in type update.Result")
    {
        return TemplateError::RemovedField {
            field: ".Changed.ImageResult",
            replacement: "'.Changed.FileChanges' or '.Changed.Objects'",
            source: e,
        };
    }
    TemplateError::Exec(e)
}

/// Checks that a template parses (for validation before any run).
pub fn check(template: &str) -> Result<(), TemplateError> {
    let src = if template.is_empty() {
        DEFAULT_MESSAGE
    } else {
        template
    };
    flux_set(src).map(|_| ()).map_err(TemplateError::Parse)
}

/// Detects the trap of seed 000: a template whose `{{ … }}` actions were
/// replaced by `<!--swigN-->` placeholders (a tool that shields Go templates
/// from its own engine, never restored). Such a template has no actions and
/// renders its placeholders verbatim. Returns a warning naming them.
pub fn mangled_placeholders(template: &str) -> Option<String> {
    if template.contains("{{") {
        return None;
    }
    let re = regex_lite::Regex::new(r"<!--swig\d+-->").expect("static regex");
    let found: Vec<&str> = re.find_iter(template).map(|m| m.as_str()).collect();
    if found.is_empty() {
        return None;
    }
    let shown: Vec<&str> = found.iter().copied().take(3).collect();
    let more = if found.len() > 3 {
        format!(" and {} more", found.len() - 3)
    } else {
        String::new()
    };
    Some(format!(
        "messageTemplate has no template actions but {} placeholder(s) {}{more}: its {{{{ … }}}} actions were replaced by a templating tool and never restored, so every commit message would contain the placeholders literally",
        found.len(),
        shown.join(", ")
    ))
}

#[cfg(test)]
mod tests;
