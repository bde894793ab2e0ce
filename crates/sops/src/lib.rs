//! Tier 0: SOPS documents decrypted as `sops decrypt` and Flux's
//! kustomize-controller decrypt them. Pure: bytes and keys in, bytes out;
//! no IO, no clock, no tokio; must not depend on any adapter crate.
//!
//! The format (value encoding, additional data, MAC, age and PGP stanzas,
//! the five stores) follows getsops/sops v3.13.2, the version Flux 2.9's
//! kustomize-controller pins. Decrypted values are secrets: no error and no
//! `Debug` output of this crate shows one, nor any key material.

pub mod cipher;
pub mod decrypt;
pub mod flat;
pub mod json;
pub mod keys;
pub mod metadata;
pub mod tree;
pub mod yaml;

pub use keys::{DataKeyError, KeyError, Keys};
pub use tree::{Branch, Item, Key, Value};

/// Largest encrypted file decrypted, as Flux's decryptor bounds it: 5 MiB.
pub const MAX_FILE_BYTES: usize = 5 << 20;

/// The stores sops has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Json,
    Dotenv,
    Ini,
    Binary,
}

impl Format {
    /// The name Flux's messages use (`failed to load encrypted JSON data`).
    pub fn flux_name(self) -> &'static str {
        match self {
            Format::Yaml => "YAML",
            Format::Json => "JSON",
            Format::Dotenv => "dotenv",
            Format::Ini => "INI",
            Format::Binary => "binary",
        }
    }

    /// `--input-type`/`--output-type` names.
    pub fn from_name(name: &str) -> Option<Format> {
        Some(match name {
            "yaml" => Format::Yaml,
            "json" => Format::Json,
            "dotenv" => Format::Dotenv,
            "ini" => Format::Ini,
            "binary" => Format::Binary,
            _ => return None,
        })
    }

    /// Flux's `formatForPath` (`.dockerconfigjson` and `.json` → JSON,
    /// `.yaml`/`.yml`, `.env`, `.ini`, else binary).
    pub fn for_flux_path(path: &str) -> Format {
        if path.ends_with(".dockerconfigjson") || path.ends_with(".json") {
            Format::Json
        } else if path.ends_with(".yaml") || path.ends_with(".yml") {
            Format::Yaml
        } else if path.ends_with(".env") {
            Format::Dotenv
        } else if path.ends_with(".ini") {
            Format::Ini
        } else {
            Format::Binary
        }
    }

    /// The sops CLI's choice by extension (`.yaml`/`.yml`, `.json`,
    /// `.env`, `.ini`, else binary).
    pub fn for_cli_path(path: &str) -> Format {
        let ext = path.rsplit_once('.').map_or("", |(_, e)| e);
        match ext {
            "yaml" | "yml" => Format::Yaml,
            "json" => Format::Json,
            "env" => Format::Dotenv,
            "ini" => Format::Ini,
            _ => Format::Binary,
        }
    }

    /// The marker bytes Flux looks for before decrypting a file as this
    /// format.
    pub fn marker(self) -> &'static [u8] {
        match self {
            Format::Yaml => b"mac: ENC[",
            Format::Json | Format::Binary => b"\"mac\": \"ENC[",
            Format::Dotenv => b"sops_mac=ENC[",
            Format::Ini => b"[sops]",
        }
    }

    /// The format whose marker `data` holds (Flux's `detectFormatFromMarkerBytes`).
    pub fn detect(data: &[u8]) -> Option<Format> {
        [Format::Json, Format::Dotenv, Format::Yaml, Format::Ini]
            .into_iter()
            .find(|f| contains(data, f.marker()))
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// How to decrypt.
#[derive(Debug, Clone)]
pub struct Options {
    /// Verify the MAC as `sops decrypt` does. Flux never verifies it: the
    /// build may have changed unencrypted values.
    pub verify_mac: bool,
    /// Largest input accepted.
    pub max_bytes: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            verify_mac: true,
            max_bytes: MAX_FILE_BYTES,
        }
    }
}

impl Options {
    /// Flux's decryptor: no MAC check, 5 MiB.
    pub fn flux() -> Options {
        Options {
            verify_mac: false,
            max_bytes: MAX_FILE_BYTES,
        }
    }
}

/// Why a document could not be decrypted. Messages follow Flux's shapes and
/// never include plaintext or key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("cannot decrypt file with size ({size} bytes) exceeding limit ({limit})")]
    TooLarge { size: usize, limit: usize },
    #[error("failed to load encrypted {} data: {cause}", .format.flux_name())]
    Load { format: Format, cause: String },
    #[error("cannot get sops data key: {0}")]
    DataKey(DataKeyError),
    #[error(
        "cannot get sops data key: the file is encrypted only with {kinds}, which ferroflux does \
         not support (not supported: vault, KMS, Azure Key Vault, GCP KMS); add an age or PGP \
         recipient to the file"
    )]
    NotSupported { kinds: String },
    #[error("error decrypting sops tree: Error walking tree: {0}")]
    Value(decrypt::ValueError),
    #[error("Cannot decrypt MAC: {0}")]
    MacDecrypt(cipher::CipherError),
    #[error("MAC mismatch. File has {file}, computed {computed}")]
    MacMismatch { file: String, computed: String },
    #[error("failed to emit encrypted {} file as decrypted {}: {cause}", .input.flux_name(), .output.flux_name())]
    Emit {
        input: Format,
        output: Format,
        cause: String,
    },
}

/// A decrypted document: its branches (one per YAML document).
#[derive(Debug, Clone)]
pub struct Document {
    pub branches: Vec<Branch>,
}

/// Parse a file of `format` into branches with its metadata.
pub fn load(data: &[u8], format: Format) -> Result<(Vec<Branch>, metadata::Metadata), Error> {
    let load_err = |cause: String| Error::Load { format, cause };
    let (mut branches, layout) = match format {
        Format::Yaml => {
            let text = std::str::from_utf8(data)
                .map_err(|_| load_err("Error unmarshaling input YAML: not UTF-8".into()))?;
            (
                yaml::load(text).map_err(|e| load_err(e.to_string()))?,
                metadata::Layout::Nested,
            )
        }
        Format::Json | Format::Binary => (
            vec![json::load(data).map_err(|e| load_err(e.to_string()))?],
            metadata::Layout::Nested,
        ),
        Format::Dotenv => (
            vec![flat::load_dotenv(data).map_err(|e| load_err(e.to_string()))?],
            metadata::Layout::Prefixed,
        ),
        Format::Ini => (
            vec![flat::load_ini(data).map_err(|e| load_err(e.to_string()))?],
            metadata::Layout::Section,
        ),
    };
    let meta = metadata::extract(&mut branches, layout).map_err(|e| load_err(e.to_string()))?;
    Ok((branches, meta))
}

/// Decrypt a whole document: load, recover the data key, decrypt every
/// value, check the MAC when asked.
pub fn decrypt_document(
    data: &[u8],
    format: Format,
    keys: &Keys,
    options: &Options,
) -> Result<Document, Error> {
    if data.len() > options.max_bytes {
        return Err(Error::TooLarge {
            size: data.len(),
            limit: options.max_bytes,
        });
    }
    let (mut branches, meta) = load(data, format)?;
    let data_key = keys::data_key(&meta.groups, meta.shamir_threshold, keys).map_err(|e| {
        if e.only_unsupported() {
            let mut kinds: Vec<&str> = meta
                .groups
                .iter()
                .flatten()
                .filter_map(|k| match k {
                    keys::MasterKey::Unsupported { kind, .. } => Some(*kind),
                    _ => None,
                })
                .collect();
            kinds.dedup();
            Error::NotSupported {
                kinds: kinds.join(", "),
            }
        } else {
            Error::DataKey(e)
        }
    })?;
    let computed = decrypt::decrypt_tree(&mut branches, &meta, &data_key).map_err(Error::Value)?;
    if options.verify_mac {
        let stored = match cipher::decrypt(&meta.mac, &data_key, &meta.lastmodified) {
            Ok(Value::Str(s)) => s,
            Ok(_) => String::new(),
            Err(e) => return Err(Error::MacDecrypt(e)),
        };
        if stored != computed {
            return Err(Error::MacMismatch {
                file: if stored.is_empty() {
                    "no MAC".into()
                } else {
                    stored
                },
                computed,
            });
        }
    }
    Ok(Document { branches })
}

/// Write decrypted branches in `format` as sops' stores emit them.
pub fn emit(doc: &Document, input: Format, output: Format) -> Result<Vec<u8>, Error> {
    let emit_err = |cause: String| Error::Emit {
        input,
        output,
        cause,
    };
    let first = doc.branches.first().map(Vec::as_slice).unwrap_or(&[]);
    Ok(match output {
        Format::Yaml => yaml::emit(&doc.branches).into_bytes(),
        Format::Json => json::emit(first)
            .map_err(|e| emit_err(e.to_string()))?
            .into_bytes(),
        Format::Dotenv => flat::emit_dotenv(first)
            .map_err(|e| emit_err(e.to_string()))?
            .into_bytes(),
        Format::Ini => flat::emit_ini(&doc.branches)
            .map_err(|e| emit_err(e.to_string()))?
            .into_bytes(),
        Format::Binary => {
            if doc.branches.len() != 1 {
                return Err(emit_err(
                    "error emitting binary store: there must be exactly one tree branch".into(),
                ));
            }
            match tree::get(first, "data") {
                Some(Value::Str(s)) => s.clone().into_bytes(),
                Some(_) => {
                    return Err(emit_err(
                        "error emitting binary store: 'data' key in tree does not have a string \
                         value"
                            .into(),
                    ));
                }
                None => {
                    return Err(emit_err(
                        "error emitting binary store: no binary data found in tree".into(),
                    ));
                }
            }
        }
    })
}

/// `sops decrypt --input-type I --output-type O` in one call.
pub fn decrypt(
    data: &[u8],
    input: Format,
    output: Format,
    keys: &Keys,
    options: &Options,
) -> Result<Vec<u8>, Error> {
    let doc = decrypt_document(data, input, keys, options)?;
    emit(&doc, input, output)
}

#[cfg(test)]
mod tests;
