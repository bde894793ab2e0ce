//! One integration-test binary for the crate: values typed and merged as
//! Helm types them, `--set` and its siblings, charts loaded as Helm loads
//! them, Helm's own template functions; differential against the real
//! helm (`testkit::helm`) where it is built.

mod chart;
mod coalesce;
mod common;
mod funcs;
mod hostile;
mod schema;
mod strvals;
mod values;
