//! `ferroflux sops decrypt FILE`: a SOPS file decrypted with age or PGP
//! private keys, printed as `sops decrypt` prints it (the MAC verified
//! unless `--ignore-mac`), for people debugging their repository's
//! secrets; exit codes are sops' (51 MAC mismatch, 128 no data key).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use ferroflux_sops::{Error, Format, Keys, Options};

#[derive(Subcommand)]
pub enum SopsCommand {
    /// Decrypt a SOPS file to standard output, as `sops decrypt`.
    Decrypt(DecryptArgs),
}

#[derive(Args)]
pub struct DecryptArgs {
    /// The encrypted file.
    file: PathBuf,
    /// age identities (an `age-keygen` file: `AGE-SECRET-KEY-1…` lines).
    #[arg(long = "age-key-file")]
    age_key_file: Vec<PathBuf>,
    /// Armored OpenPGP private keys (`gpg --armor --export-secret-keys`).
    #[arg(long = "pgp-key-file")]
    pgp_key_file: Vec<PathBuf>,
    /// yaml, json, dotenv, ini or binary; by default from the file's extension.
    #[arg(long = "input-type")]
    input_type: Option<String>,
    /// yaml, json, dotenv, ini or binary; by default the input type.
    #[arg(long = "output-type")]
    output_type: Option<String>,
    /// Do not verify the MAC (Flux never does).
    #[arg(long = "ignore-mac")]
    ignore_mac: bool,
}

pub fn run(cmd: SopsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        SopsCommand::Decrypt(args) => decrypt(args),
    }
}

fn format(name: Option<&str>, file: &Path, what: &str) -> anyhow::Result<Option<Format>> {
    match name {
        None => Ok(None),
        Some(n) => Format::from_name(n).map(Some).with_context(|| {
            format!(
                "--{what}-type {n:?} for {}: expected yaml, json, dotenv, ini or binary",
                file.display()
            )
        }),
    }
}

fn decrypt(args: DecryptArgs) -> anyhow::Result<ExitCode> {
    let file = &args.file;
    let input = format(args.input_type.as_deref(), file, "input")?
        .unwrap_or_else(|| Format::for_cli_path(&file.to_string_lossy()));
    let output = format(args.output_type.as_deref(), file, "output")?.unwrap_or(input);
    let mut keys = Keys::new();
    for path in &args.age_key_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading age key file {}", path.display()))?;
        keys.add_age_identities(&text)
            .with_context(|| format!("age key file {}", path.display()))?;
    }
    for path in &args.pgp_key_file {
        let text = std::fs::read(path)
            .with_context(|| format!("reading PGP key file {}", path.display()))?;
        keys.add_pgp_armored(&text)
            .with_context(|| format!("PGP key file {}", path.display()))?;
    }
    if keys.is_empty() {
        anyhow::bail!(
            "no keys: give --age-key-file (age-keygen output) or --pgp-key-file (armored \
             private keys) to decrypt {}",
            file.display()
        );
    }
    let options = Options {
        verify_mac: !args.ignore_mac,
        ..Options::default()
    };
    let data = ferroflux_api::tree::read_bounded(file, options.max_bytes)
        .with_context(|| format!("reading {}", file.display()))?
        .with_context(|| {
            format!(
                "{}: larger than the {} bytes a SOPS file may hold",
                file.display(),
                options.max_bytes
            )
        })?;
    match ferroflux_sops::decrypt(&data, input, output, &keys, &options) {
        Ok(out) => {
            std::io::stdout().lock().write_all(&out)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{}: {e}", file.display());
            Ok(ExitCode::from(match e {
                Error::MacMismatch { .. } => 51,
                Error::MacDecrypt(_) => 24,
                Error::DataKey(_) | Error::NotSupported { .. } => 128,
                Error::Value(_) => 25,
                Error::Emit { .. } => 4,
                Error::Load { .. } | Error::TooLarge { .. } => 1,
            }))
        }
    }
}
