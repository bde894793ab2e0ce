//! One integration-test binary for the crate: values typed and merged as
//! Helm types them, `--set` and its siblings, charts loaded as Helm loads
//! them, rendered files split and sorted as `helm template` prints them;
//! differential against the real helm (`testkit::helm`) where it is built.

mod common;
mod output;
mod values;
