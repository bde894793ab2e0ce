//! One integration-test binary for the crate.
