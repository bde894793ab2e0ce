//! Integration tests of ferroflux-policy: Flux's own vectors (read from
//! `$FERROFLUX_CONFORMANCE_DIR`, never copied), a differential run against the
//! Go oracle (`$FERROFLUX_POLICY_ORACLE`: real Masterminds/semver, regexp,
//! strconv), and properties (order independence, the winner qualifies and is
//! not beaten).

mod conformance;
mod generate;
mod oracle;
mod properties;
