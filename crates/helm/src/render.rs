//! `helm template`: a chart and values in, the printed manifests out.

pub mod output;

pub use output::{Head, Hook, HookEvent, Manifest, PrintOptions, SortError};
