//! One integration-test binary for the crate.

mod funcs;
