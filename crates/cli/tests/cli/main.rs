//! Integration tests of the `ferroflux` binary, one module per subcommand.

mod policy;
mod scan;
mod setters;
mod validate;
