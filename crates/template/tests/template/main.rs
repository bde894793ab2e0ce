//! Integration tests of ferroflux-template: Flux's own vectors
//! (`$FERROFLUX_CONFORMANCE_DIR/flux-image/messages.json`), the template
//! oracle's ready-made examples, the seeds' templates, and a differential
//! property test against the oracle binary (Go text/template + sprig).

mod conformance;
mod differential;
mod examples;
mod generate;
mod handpicked;
mod helm;
mod seeds;
mod support;
