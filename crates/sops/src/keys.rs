//! Master keys: the data key recovered from a document's age and OpenPGP
//! stanzas with the identities a user (or a Flux decryption Secret) gave,
//! key groups joined with Shamir's scheme as sops does. Debug of every type
//! here redacts key material.

use std::io::Read;
use std::str::FromStr;

use pgp::composed::{Deserializable, Message, SignedSecretKey};
use pgp::types::Password;

/// The most bytes read from one decrypted stanza: a data key is 32 bytes,
/// a Shamir share 33.
const MAX_KEY_BYTES: u64 = 64;

/// Identities to try on every stanza.
#[derive(Default)]
pub struct Keys {
    age: Vec<age::x25519::Identity>,
    pgp: Vec<SignedSecretKey>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field(
                "age",
                &format_args!("{} identities (redacted)", self.age.len()),
            )
            .field("pgp", &format_args!("{} keys (redacted)", self.pgp.len()))
            .finish()
    }
}

/// Why a key text could not be read. Never quotes the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("failed to parse and add to age identities: line {line}: {cause}")]
    Age { line: usize, cause: &'static str },
    #[error("failed to read OpenPGP private keys: {0}")]
    Pgp(String),
    #[error("no private key found in the OpenPGP key text")]
    NoPgpKey,
}

impl Keys {
    pub fn new() -> Keys {
        Keys::default()
    }

    pub fn is_empty(&self) -> bool {
        self.age.is_empty() && self.pgp.is_empty()
    }

    /// Add the identities of an age key file as age's `ParsedIdentities`
    /// reads it (Flux's `.agekey` entries): one identity per line, empty
    /// lines and `#` lines skipped, no trimming; the first bad line fails.
    pub fn add_age_identities(&mut self, text: &str) -> Result<usize, KeyError> {
        let mut found = Vec::new();
        for (i, line) in text.split('\n').enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let cause = if line.starts_with("AGE-SECRET-KEY-PQ-") {
                "post-quantum (ML-KEM) age identities are not supported"
            } else if line.starts_with("AGE-PLUGIN-") {
                "age plugin identities are not supported"
            } else if line.starts_with("AGE-SECRET-KEY-1") {
                match age::x25519::Identity::from_str(line) {
                    Ok(id) => {
                        found.push(id);
                        continue;
                    }
                    Err(_) => "malformed secret key (bech32 checksum or length)",
                }
            } else {
                "unknown identity type"
            };
            return Err(KeyError::Age { line: i + 1, cause });
        }
        let n = found.len();
        self.age.extend(found);
        Ok(n)
    }

    /// Add every OpenPGP secret key of an armored text (`*.asc`).
    pub fn add_pgp_armored(&mut self, text: &[u8]) -> Result<usize, KeyError> {
        let (keys, _) =
            SignedSecretKey::from_armor_many(text).map_err(|e| KeyError::Pgp(e.to_string()))?;
        let mut n = 0;
        for key in keys {
            let key = key.map_err(|e| KeyError::Pgp(e.to_string()))?;
            self.pgp.push(key);
            n += 1;
        }
        if n == 0 {
            return Err(KeyError::NoPgpKey);
        }
        Ok(n)
    }
}

/// One master key of a key group, as the metadata names it.
#[derive(Clone, PartialEq, Eq)]
pub enum MasterKey {
    Age {
        recipient: String,
        enc: String,
    },
    Pgp {
        fingerprint: String,
        enc: String,
    },
    /// A key source this engine does not speak (kms, gcp_kms, azure_kv,
    /// hc_vault, hckms): its kind and its public name.
    Unsupported {
        kind: &'static str,
        name: String,
    },
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

impl MasterKey {
    /// The name sops prints for it in a data-key failure.
    pub fn name(&self) -> String {
        match self {
            MasterKey::Age { recipient, .. } => recipient.clone(),
            MasterKey::Pgp { fingerprint, .. } => fingerprint.clone(),
            MasterKey::Unsupported { name, .. } => name.clone(),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            MasterKey::Age { .. } => 0,
            MasterKey::Pgp { .. } => 1,
            MasterKey::Unsupported { .. } => 2,
        }
    }

    fn decrypt(&self, keys: &Keys) -> Result<Vec<u8>, String> {
        match self {
            MasterKey::Age { enc, .. } => decrypt_age(enc, &keys.age),
            MasterKey::Pgp { enc, .. } => decrypt_pgp(enc, &keys.pgp),
            MasterKey::Unsupported { kind, .. } => Err(format!(
                "{kind} keys are not supported by ferroflux; decrypt with an age or PGP key \
                 of the file"
            )),
        }
    }
}

fn decrypt_age(enc: &str, identities: &[age::x25519::Identity]) -> Result<Vec<u8>, String> {
    if identities.is_empty() {
        return Err("failed to load age identities: none were given".into());
    }
    let armored = age::armor::ArmoredReader::new(enc.as_bytes());
    let decryptor = age::Decryptor::new(armored).map_err(|e| {
        format!("failed to create reader for decrypting sops data key with age: {e}")
    })?;
    let reader = decryptor
        .decrypt(identities.iter().map(|i| i as &dyn age::Identity))
        .map_err(|e| {
            format!("failed to create reader for decrypting sops data key with age: {e}")
        })?;
    let mut out = Vec::new();
    reader
        .take(MAX_KEY_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("failed to read sops data key with age: {e}"))?;
    Ok(out)
}

fn decrypt_pgp(enc: &str, secret_keys: &[SignedSecretKey]) -> Result<Vec<u8>, String> {
    if secret_keys.is_empty() {
        return Err("no OpenPGP private key was given".into());
    }
    let (message, _) = Message::from_armor(enc.as_bytes())
        .map_err(|e| format!("failed to read the PGP message: {e}"))?;
    let empty = Password::empty();
    let mut message = message
        .decrypt_with_keys(
            vec![&empty; secret_keys.len()],
            secret_keys.iter().collect(),
        )
        .map_err(|e| format!("failed to decrypt sops data key with pgp: {e}"))?;
    if message.is_compressed() {
        message = message
            .decompress()
            .map_err(|e| format!("failed to decompress sops data key: {e}"))?;
    }
    // A compressed message could inflate without bound: read only what a
    // data key (or share) can be, and one byte more to notice a longer one.
    let mut data = Vec::new();
    (&mut message)
        .take(MAX_KEY_BYTES + 1)
        .read_to_end(&mut data)
        .map_err(|e| format!("failed to decrypt sops data key with pgp: {e}"))?;
    Ok(data)
}

/// Recover the 32-byte data key: every group tried (keys in Flux's order,
/// age then PGP then the rest), parts joined with Shamir when there are
/// several groups.
pub fn data_key(
    groups: &[Vec<MasterKey>],
    threshold: usize,
    keys: &Keys,
) -> Result<[u8; 32], DataKeyError> {
    let mut parts = Vec::new();
    let mut results = Vec::new();
    for group in groups {
        let mut ordered: Vec<&MasterKey> = group.iter().collect();
        ordered.sort_by_key(|k| k.rank());
        let mut failures = Vec::new();
        let mut part = None;
        for key in ordered {
            match key.decrypt(keys) {
                Ok(p) => {
                    part = Some(p);
                    break;
                }
                Err(e) => failures.push((key.name(), e)),
            }
        }
        match part {
            Some(p) => {
                parts.push(p);
                results.push(None);
            }
            None => results.push(Some(failures)),
        }
    }
    let required = if groups.len() > 1 {
        if threshold == 0 {
            groups.len()
        } else {
            threshold
        }
    } else {
        0
    };
    let key = if groups.len() <= 1 {
        parts.into_iter().next()
    } else if parts.len() >= required {
        shamir_combine(&parts[..required]).ok()
    } else {
        None
    };
    match key {
        Some(k) if k.len() == 32 => {
            let mut out = [0u8; 32];
            out.copy_from_slice(&k);
            Ok(out)
        }
        Some(k) => Err(DataKeyError {
            required,
            results: vec![Some(vec![(
                "data key".into(),
                format!("the recovered data key has {} bytes, not 32", k.len()),
            )])],
        }),
        None => Err(DataKeyError { required, results }),
    }
}

/// sops' user-facing data-key failure (`usererrors.go`): per group and
/// key what failed. It names recipients and fingerprints, never keys.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.user_error())]
pub struct DataKeyError {
    required: usize,
    results: Vec<Option<Vec<(String, String)>>>,
}

impl std::fmt::Debug for DataKeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.user_error())
    }
}

impl DataKeyError {
    /// Every key of every group failed because none is of a kind this
    /// engine supports.
    pub fn only_unsupported(&self) -> bool {
        self.results
            .iter()
            .flatten()
            .flatten()
            .all(|(_, e)| e.contains("not supported"))
    }

    fn user_error(&self) -> String {
        let groups: Vec<String> = self
            .results
            .iter()
            .enumerate()
            .map(|(i, r)| match r {
                None => format!("Group {i}: SUCCESS"),
                Some(failures) => {
                    let keys: Vec<String> = failures
                        .iter()
                        .map(|(name, err)| {
                            let wrapped = wordwrap(err, 60);
                            let mut lines = wrapped.lines().map(|l| format!("    | {l}"));
                            let first = lines
                                .next()
                                .unwrap_or_default()
                                .replacen("    |", "  - |", 1);
                            let body: Vec<String> = std::iter::once(first).chain(lines).collect();
                            format!("  {name}: FAILED\n{}", body.join("\n"))
                        })
                        .collect();
                    format!("Group {i}: FAILED\n{}", keys.join("\n\n"))
                }
            })
            .collect();
        let successes = self.results.iter().filter(|r| r.is_none()).count();
        let trailer = if self.required == 0 {
            "Recovery failed because no master key was able to decrypt the file. In order for \
             SOPS to recover the file, at least one key has to be successful, but none were."
                .to_string()
        } else {
            format!(
                "Recovery failed because the file was encrypted with a Shamir threshold of {}, \
                 but only {successes} part(s) were successfully recovered, one for each \
                 successful key group. In order for SOPS to recover the file, at least {} groups \
                 have to be successful. In order for a group to be successful, decryption has to \
                 succeed with any of the keys in that key group.",
                self.required, self.required
            )
        };
        format!(
            "Failed to get the data key required to decrypt the SOPS file.\n\n{}\n\n{}",
            groups.join("\n\n"),
            wordwrap(&trailer, 75)
        )
    }
}

/// go-wordwrap's `WrapString`: break at spaces so that lines stay within
/// `limit` where a word allows it.
fn wordwrap(s: &str, limit: usize) -> String {
    let mut out = String::new();
    for (n, line) in s.split('\n').enumerate() {
        if n > 0 {
            out.push('\n');
        }
        let mut col = 0;
        for (i, word) in line.split(' ').enumerate() {
            if i > 0 {
                if col + 1 + word.len() > limit {
                    out.push('\n');
                    col = 0;
                } else {
                    out.push(' ');
                    col += 1;
                }
            }
            out.push_str(word);
            col += word.len();
        }
    }
    out
}

/// Lagrange interpolation at x = 0 over GF(2^8) (AES polynomial), each part
/// being the y bytes followed by its x byte (`shamir/shamir.go`).
fn shamir_combine(parts: &[Vec<u8>]) -> Result<Vec<u8>, ()> {
    if parts.len() < 2 {
        return Err(());
    }
    let len = parts[0].len();
    if len < 2 || parts.iter().any(|p| p.len() != len) {
        return Err(());
    }
    let xs: Vec<u8> = parts.iter().map(|p| p[len - 1]).collect();
    for (i, x) in xs.iter().enumerate() {
        if xs[..i].contains(x) {
            return Err(());
        }
    }
    let mut secret = vec![0u8; len - 1];
    for (idx, byte) in secret.iter_mut().enumerate() {
        let mut acc = 0u8;
        for (i, xi) in xs.iter().enumerate() {
            let mut basis = 1u8;
            for (j, xj) in xs.iter().enumerate() {
                if i != j {
                    // basis *= xj / (xj - xi); subtraction is xor.
                    basis = gf_mul(basis, gf_div(*xj, xj ^ xi));
                }
            }
            acc ^= gf_mul(parts[i][idx], basis);
        }
        *byte = acc;
    }
    Ok(secret)
}

fn gf_mul(mut a: u8, mut b: u8) -> u8 {
    let mut p = 0u8;
    while b != 0 {
        if b & 1 != 0 {
            p ^= a;
        }
        let carry = a & 0x80;
        a <<= 1;
        if carry != 0 {
            a ^= 0x1b;
        }
        b >>= 1;
    }
    p
}

fn gf_div(a: u8, b: u8) -> u8 {
    if a == 0 || b == 0 {
        return 0;
    }
    // b^254 is b's inverse in GF(2^8).
    let mut inv = 1u8;
    let mut base = b;
    let mut e = 254u32;
    while e > 0 {
        if e & 1 != 0 {
            inv = gf_mul(inv, base);
        }
        base = gf_mul(base, base);
        e >>= 1;
    }
    gf_mul(a, inv)
}

#[cfg(test)]
pub(crate) fn shamir_for_test(parts: &[Vec<u8>]) -> Option<Vec<u8>> {
    shamir_combine(parts).ok()
}
