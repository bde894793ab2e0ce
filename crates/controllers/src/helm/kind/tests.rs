//! Kind-level tests.
