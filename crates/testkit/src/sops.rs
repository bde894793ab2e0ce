//! The real `sops` (`$FERROFLUX_SOPS`, built by .ci/setup.d/55-sops.sh) with
//! a fresh age key (`age-keygen` from Debian, .ci/packages/sops.txt), in a
//! private temporary directory: the oracle that encrypts the fixtures our
//! decryptor reads.

use std::path::{Path, PathBuf};
use std::process::Command;

/// sops and one age key; everything lives in `dir`.
pub struct Sops {
    pub bin: PathBuf,
    pub dir: tempfile::TempDir,
    /// The key file `age-keygen` wrote (`SOPS_AGE_KEY_FILE`).
    pub key: PathBuf,
    /// Its `AGE-SECRET-KEY-…` text, comments included.
    pub identity: String,
    /// Its `age1…` public key.
    pub recipient: String,
}

impl Sops {
    /// None (after `env::skip_or_fail`) without a built sops or age-keygen.
    pub fn age() -> Option<Sops> {
        let bin = match std::env::var_os("FERROFLUX_SOPS") {
            Some(p) if Path::new(&p).is_file() => PathBuf::from(p),
            _ => {
                crate::env::skip_or_fail(
                    "FERROFLUX_SOPS (see .ci/setup.d/55-sops.sh) is not a built sops",
                );
                return None;
            }
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let key = dir.path().join("age.agekey");
        let made = Command::new("age-keygen").arg("-o").arg(&key).output();
        if !made.is_ok_and(|o| o.status.success()) {
            crate::env::skip_or_fail("age-keygen is not installed (.ci/packages/sops.txt)");
            return None;
        }
        let identity = std::fs::read_to_string(&key).expect("age key");
        let recipient = identity
            .lines()
            .find_map(|l| l.strip_prefix("# public key: "))
            .expect("age-keygen writes the public key")
            .to_string();
        Some(Sops {
            bin,
            dir,
            key,
            identity,
            recipient,
        })
    }

    /// `sops` run in `dir`, with `dir` as HOME and the key as
    /// `SOPS_AGE_KEY_FILE`.
    pub fn command(&self) -> Command {
        let mut c = Command::new(&self.bin);
        c.current_dir(self.dir.path())
            .env("HOME", self.dir.path())
            .env("SOPS_AGE_KEY_FILE", &self.key);
        c
    }

    /// `plain` (a `input_type` document) encrypted to the key with `flags`.
    pub fn encrypt(&self, plain: &str, input_type: &str, flags: &[&str]) -> String {
        let src = self.dir.path().join(format!("plain.{input_type}"));
        std::fs::write(&src, plain).expect("write");
        let out = self
            .command()
            .args(["encrypt", "--age", &self.recipient])
            .args(["--input-type", input_type, "--output-type", input_type])
            .args(flags)
            .arg(&src)
            .output()
            .expect("sops");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf8")
    }
}
