//! source.toolkit.fluxcd.io kinds.

pub mod git;
