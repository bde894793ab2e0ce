//! One integration-test binary for the crate.

mod output;
