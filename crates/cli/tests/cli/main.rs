//! Integration tests of the `ferroflux` binary, one module per subcommand.

mod policy;
mod setters;
mod validate;
