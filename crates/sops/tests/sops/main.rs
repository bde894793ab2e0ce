//! ferroflux-sops against the real sops: fixtures encrypted by `sops` during
//! the run (age and OpenPGP keys made here), decrypted by ours and by
//! `sops decrypt`, compared byte for byte; error cases for a wrong key, a
//! tampered value, a tampered MAC and unsupported key sources.

mod differential;
mod errors;
mod fixtures;
mod oracle;
