//! Integration tests of the `ferroflux` binary, one module per subcommand.

mod automate;
mod build;
mod cluster;
mod controller;
mod diff;
mod events;
mod explain;
mod get;
mod gitops;
mod helm;
mod install;
mod kubernetes;
mod kustomize;
mod policy;
mod scan;
mod setters;
mod sops;
mod tree;
mod validate;
