//! The kustomize engine's one integration-test binary: the krusty
//! conformance corpus (kustomize 5.6.0's own outputs, read from
//! `$FERROFLUX_CONFORMANCE_DIR/kustomize`, never copied), this crate's own
//! cases (`cases/`, the same layout, checked against kustomize 5.6.0 and
//! 5.8.1), builds of trees on disk, and the limits a case cannot state.

mod build;
mod cases;
mod conformance;
mod limits;
mod patches;
mod support;
