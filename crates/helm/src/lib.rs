//! Tier T0 (pure engine): Helm charts rendered as `helm template` (Helm
//! v4.2.4) renders them, byte for byte, over a file set: no IO, no clock,
//! no cluster (`lookup` goes through a trait the caller backs).
//!
//! The pipeline, in the order of `../shared/docs/helm-semantics.md`:
//! - [`chart`]: a chart from files or a `.tgz` (Chart.yaml, values,
//!   templates, subcharts, `.helmignore`, CRDs, the schema);
//! - [`values`]: values typed as `sigs.k8s.io/yaml` types them, coalesced
//!   with the chart's defaults, globals, dependency conditions and tags,
//!   import-values; [`strvals`]: `--set` and its siblings;
//! - [`schema`]: `values.schema.json` with Helm's messages;
//! - [`funcs`]: Helm's own template functions (`toYaml` with yaml.v2's
//!   bytes, `fromYaml`, `toToml`, `.Files`, `.Capabilities`) over the Go
//!   template engine of `ferroflux-template`;
//! - [`render`]: the templates executed in Helm's order, the documents
//!   split, classified and sorted into manifests and hooks, printed as
//!   `helm template` prints them.
//!
//! And for Flux's sources (§9): [`repo`], a chart repository's
//! `index.yaml` loaded, selected from and written as source-controller
//! does; [`package`], a chart written back as `helm package` writes it,
//! after source-controller's `valuesFiles` merge and version metadata.
//!
//! Must not depend on: IO, clocks, environment, tokio, git, kube.

pub mod action;
pub mod args;
pub mod chart;
pub mod funcs;
pub mod package;
pub mod release;
pub mod render;
pub mod repo;
pub mod schema;
pub mod strvals;
pub mod template;
pub mod values;
pub use args::{ArgsError, TemplateArgs};
pub use render::{Error, Release, RenderOptions, render};
pub use template::template;
