//! How tests find their tools: a missing server or oracle is a skip with a
//! printed notice on a developer machine, and a failure in CI, where
//! `scripts/test` exports `FERROFLUX_REQUIRE_SERVERS=1`.

use std::path::PathBuf;

/// True when CI asked for every server and oracle to be present.
pub fn servers_required() -> bool {
    std::env::var_os("FERROFLUX_REQUIRE_SERVERS").is_some_and(|v| v == "1")
}

/// A directory named by an environment variable (such as
/// `FERROFLUX_CONFORMANCE_DIR`). `None` with a printed notice when unset on a
/// developer machine; panics when CI requires it.
pub fn dir_from_env(var: &str) -> Option<PathBuf> {
    match std::env::var_os(var) {
        Some(v) if !v.is_empty() => Some(PathBuf::from(v)),
        _ => {
            skip_or_fail(&format!("{var} is not set"));
            None
        }
    }
}

/// Print a skip notice, or panic when CI requires everything.
pub fn skip_or_fail(why: &str) {
    if servers_required() {
        panic!("required by FERROFLUX_REQUIRE_SERVERS=1 but missing: {why}");
    }
    eprintln!("SKIPPED (set it up or see scripts/test): {why}");
}
