//! State table tests.
