//! The sops oracle (`$FERROFLUX_SOPS`, built by .ci/setup.d/55-sops.sh),
//! `age-keygen` and `gpg`, each run in a private temporary directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};

use ferroflux_sops::{Format, Keys, Options};

pub struct Oracle {
    pub sops: PathBuf,
    pub dir: tempfile::TempDir,
    pub age_recipient: String,
    pub age_key_file: PathBuf,
    pub pgp_fingerprint: String,
    pub pgp_secret_armored: Vec<u8>,
    pub gnupg_home: PathBuf,
    /// Held around every sops call that runs gpg, after which the
    /// gpg-agent it started is stopped: the oracle is a static that is
    /// never dropped, and an agent must not outlive the test process.
    gpg: Mutex<()>,
}

pub fn ext(format: Format) -> &'static str {
    match format {
        Format::Yaml => "yaml",
        Format::Json => "json",
        Format::Dotenv => "env",
        Format::Ini => "ini",
        Format::Binary => "bin",
    }
}

pub fn name(format: Format) -> &'static str {
    match format {
        Format::Yaml => "yaml",
        Format::Json => "json",
        Format::Dotenv => "dotenv",
        Format::Ini => "ini",
        Format::Binary => "binary",
    }
}

fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {cmd:?}: {e}"))
}

/// The shared oracle, or `None` (skip) when sops is not built here.
pub fn oracle() -> Option<&'static Oracle> {
    static ORACLE: OnceLock<Option<Oracle>> = OnceLock::new();
    ORACLE.get_or_init(make).as_ref()
}

fn which(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn make() -> Option<Oracle> {
    let sops = match std::env::var_os("FERROFLUX_SOPS") {
        Some(p) if Path::new(&p).is_file() => PathBuf::from(p),
        _ => {
            ferroflux_testkit::env::skip_or_fail(
                "FERROFLUX_SOPS (see .ci/setup.d/55-sops.sh) is not a built sops",
            );
            return None;
        }
    };
    for tool in ["age-keygen", "gpg"] {
        if !which(tool) {
            ferroflux_testkit::env::skip_or_fail(&format!(
                "{tool} is not installed (.ci/packages/sops.txt)"
            ));
            return None;
        }
    }
    // The oracle lives in a static that is never dropped: keep its keys
    // under the target directory, not in /tmp.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let age_key_file = dir.path().join("age.agekey");
    let out = run(Command::new("age-keygen").arg("-o").arg(&age_key_file));
    assert!(
        out.status.success(),
        "age-keygen: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key_text = std::fs::read_to_string(&age_key_file).expect("read age key");
    let age_recipient = key_text
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .expect("age-keygen writes the public key")
        .to_string();

    let gnupg_home = dir.path().join("gnupg");
    std::fs::create_dir(&gnupg_home).expect("gnupg home");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&gnupg_home, std::fs::Permissions::from_mode(0o700))
            .expect("chmod gnupg home");
    }
    let gpg = |args: &[&str]| {
        let out = run(Command::new("gpg")
            .env("GNUPGHOME", &gnupg_home)
            .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
            .args(args));
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    gpg(&[
        "--quick-generate-key",
        "ferroflux sops test <sops@ferroflux.invalid>",
        "rsa3072",
        "sign,cert",
        "never",
    ]);
    let listing = String::from_utf8(gpg(&["--with-colons", "--list-secret-keys"])).expect("utf8");
    let pgp_fingerprint = listing
        .lines()
        .find_map(|l| l.strip_prefix("fpr:"))
        .map(|l| l.trim_matches(':').to_string())
        .expect("a fingerprint");
    gpg(&[
        "--quick-add-key",
        &pgp_fingerprint,
        "rsa3072",
        "encr",
        "never",
    ]);
    let pgp_secret_armored = gpg(&["--armor", "--export-secret-keys", &pgp_fingerprint]);
    stop_agent(&gnupg_home);
    Some(Oracle {
        sops,
        dir,
        age_recipient,
        age_key_file,
        pgp_fingerprint,
        pgp_secret_armored,
        gnupg_home,
        gpg: Mutex::new(()),
    })
}

fn stop_agent(gnupg_home: &Path) {
    let _ = Command::new("gpgconf")
        .env("GNUPGHOME", gnupg_home)
        .args(["--kill", "gpg-agent"])
        .stdin(Stdio::null())
        .output();
}

/// Which master key a fixture is encrypted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipient {
    Age,
    Pgp,
}

impl Oracle {
    fn command(&self) -> Command {
        let mut c = Command::new(&self.sops);
        // No .sops.yaml, no user keys: only what each call names.
        c.current_dir(self.dir.path())
            .env_remove("SOPS_AGE_KEY")
            .env_remove("SOPS_AGE_KEY_FILE")
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .env("GNUPGHOME", &self.gnupg_home);
        c
    }

    /// `sops encrypt` of `plain` in `format` with extra flags.
    pub fn encrypt(&self, plain: &[u8], format: Format, to: Recipient, flags: &[&str]) -> Vec<u8> {
        let input = tempfile::Builder::new()
            .suffix(&format!(".{}", ext(format)))
            .tempfile_in(self.dir.path())
            .expect("temp input");
        std::fs::write(input.path(), plain).expect("write plain");
        let mut c = self.command();
        // Options without a flag (`mac_only_encrypted`, the comment
        // regexes) go into a creation rule of a config file.
        let mut rule = Vec::new();
        let mut cli = Vec::new();
        let mut it = flags.iter();
        while let Some(f) = it.next() {
            match *f {
                "--mac-only-encrypted" => rule.push("mac_only_encrypted: true".to_string()),
                "--encrypted-comment-regex" | "--unencrypted-comment-regex" => {
                    let v = it.next().expect("a value");
                    rule.push(format!("{}: '{v}'", f[2..].replace('-', "_")));
                }
                other => cli.push(other),
            }
        }
        let flags = cli;
        if !rule.is_empty() {
            let config = tempfile::Builder::new()
                .suffix(".sops.yaml")
                .tempfile_in(self.dir.path())
                .expect("temp config");
            let text = format!("creation_rules:\n  - {}\n", rule.join("\n    "));
            std::fs::write(config.path(), text).expect("write config");
            let (_, path) = config.keep().expect("keep config");
            c.arg("--config").arg(path);
        }
        c.arg("encrypt")
            .args(["--input-type", name(format), "--output-type", name(format)]);
        match to {
            Recipient::Age => c.args(["--age", &self.age_recipient]),
            Recipient::Pgp => c.args(["--pgp", &self.pgp_fingerprint]),
        };
        let out = {
            let _gpg =
                (to == Recipient::Pgp).then(|| self.gpg.lock().unwrap_or_else(|e| e.into_inner()));
            let out = run(c.args(&flags).arg(input.path()));
            if to == Recipient::Pgp {
                stop_agent(&self.gnupg_home);
            }
            out
        };
        assert!(
            out.status.success(),
            "sops encrypt {flags:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// `sops decrypt` of an encrypted file; `Err(stderr)` when it fails.
    pub fn decrypt(
        &self,
        enc: &[u8],
        input: Format,
        output: Format,
        ignore_mac: bool,
    ) -> Result<Vec<u8>, String> {
        let file = tempfile::Builder::new()
            .suffix(&format!(".{}", ext(input)))
            .tempfile_in(self.dir.path())
            .expect("temp input");
        std::fs::write(file.path(), enc).expect("write encrypted");
        let mut c = self.command();
        c.env("SOPS_AGE_KEY_FILE", &self.age_key_file)
            .arg("decrypt")
            .args(["--input-type", name(input), "--output-type", name(output)]);
        if ignore_mac {
            c.arg("--ignore-mac");
        }
        // A PGP-encrypted file is decrypted by sops through gpg.
        let pgp = enc.windows(3).any(|w| w == b"pgp");
        let out = {
            let _gpg = pgp.then(|| self.gpg.lock().unwrap_or_else(|e| e.into_inner()));
            let out = run(c.arg(file.path()));
            if pgp {
                stop_agent(&self.gnupg_home);
            }
            out
        };
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Our keys: the age identity and the PGP secret key.
    pub fn keys(&self) -> Keys {
        let mut keys = Keys::new();
        let text = std::fs::read_to_string(&self.age_key_file).expect("age key");
        keys.add_age_identities(&text).expect("age identity");
        keys.add_pgp_armored(&self.pgp_secret_armored)
            .expect("pgp key");
        keys
    }
}

/// Decrypt with ours and with sops and require the same bytes.
pub fn same_as_sops(
    oracle: &Oracle,
    enc: &[u8],
    input: Format,
    output: Format,
    verify_mac: bool,
    what: &str,
) -> Vec<u8> {
    let theirs = oracle
        .decrypt(enc, input, output, !verify_mac)
        .unwrap_or_else(|e| panic!("{what}: sops decrypt failed: {e}"));
    let options = Options {
        verify_mac,
        ..Options::default()
    };
    let ours = ferroflux_sops::decrypt(enc, input, output, &oracle.keys(), &options)
        .unwrap_or_else(|e| panic!("{what}: ours failed: {e}"));
    assert_eq!(
        String::from_utf8_lossy(&ours),
        String::from_utf8_lossy(&theirs),
        "{what}: ours (left) and sops decrypt (right) differ"
    );
    ours
}
