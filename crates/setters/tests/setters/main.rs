//! Integration tests of ferroflux-setters: Flux's own setter fixtures
//! (read from `FERROFLUX_CONFORMANCE_DIR`, never copied here), golden trees
//! under `testdata/`, and property tests.

mod conformance;
mod golden;
mod props;
mod support;
