//! One integration-test binary for the crate: values typed and merged as
//! Helm types them, `--set` and its siblings, charts loaded as Helm loads
//! them, Helm's own template functions, rendered files split and sorted as
//! `helm template` prints them; differential against the real helm
//! (`testkit::helm`) where it is built.

mod chart;
mod coalesce;
mod common;
mod conformance;
mod funcs;
mod generated;
mod hostile;
mod output;
mod package;
mod random;
mod release;
mod repo;
mod schema;
mod strvals;
mod values;
