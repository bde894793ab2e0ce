//! `image.toolkit.fluxcd.io`: one module per kind.

pub mod policy;
pub mod repository;
