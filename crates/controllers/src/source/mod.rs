//! source.toolkit.fluxcd.io kinds.

pub mod git;
pub mod helm_chart;
pub mod helm_repository;
