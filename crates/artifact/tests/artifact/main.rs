//! ferroflux-artifact's integration tests: our tar streams against
//! source-controller's own archiver (`scripts/artifact-oracle`), and the
//! artifact server over real TCP.

mod oracle;
mod server;
