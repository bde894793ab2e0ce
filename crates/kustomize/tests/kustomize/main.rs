//! The kustomize engine's one integration-test binary: the krusty
//! conformance corpus (kustomize 5.6.0's own outputs, read from
//! `$FERROFLUX_CONFORMANCE_DIR/kustomize`, never copied) and builds of
//! trees on disk.

mod build;
mod conformance;
mod patches;
