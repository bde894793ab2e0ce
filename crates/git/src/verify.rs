//! Signature verification of the commit or tag a GitRepository checks out
//! (`spec.verify`), as source-controller does it: OpenPGP signatures against
//! armored key rings, SSH signatures (namespace `git`) against
//! authorized-keys lines, both read from one Secret. The result names the
//! key that signed (OpenPGP key ID, or the SSH key's `SHA256:` fingerprint).
//! Pure: the signed objects come from [`crate::Workspace::signed_commit`]
//! and [`crate::Workspace::signed_tag`].

use std::collections::BTreeMap;

use pgp::composed::{Deserializable, DetachedSignature, SignedPublicKey};
use pgp::types::KeyDetails;

#[cfg(test)]
mod tests;

/// Secret keys with this suffix hold OpenPGP armored key rings.
pub const PGP_SUFFIX: &str = ".asc";
/// Secret keys with this suffix hold SSH authorized keys.
pub const SSH_SUFFIX: &str = ".sshpub";
/// The namespace git signs with (`ssh-keygen -Y sign -n git`).
const SSH_NAMESPACE: &str = "git";
/// Bounds on what a Secret may hand us: key rings are parsed in full.
const MAX_KEYRING_BYTES: usize = 1 << 20;
const MAX_SIGNATURE_BYTES: usize = 64 << 10;

/// A signed Git object: its signature and the bytes it signs.
#[derive(Clone, PartialEq, Eq)]
pub struct Signed {
    pub signature: String,
    pub payload: Vec<u8>,
}

impl std::fmt::Debug for Signed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signed")
            .field("type", &signature_type(&self.signature))
            .field("payload_len", &self.payload.len())
            .finish()
    }
}

/// The public keys of a verification Secret, split by kind as
/// source-controller does: `*.sshpub` are SSH authorized keys, everything
/// else (`*.asc`, and any other name, an undocumented fallback Flux keeps)
/// is an OpenPGP key ring.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keys {
    pub key_rings: Vec<String>,
    pub authorized_keys: Vec<String>,
}

impl Keys {
    pub fn from_secret(data: &BTreeMap<String, Vec<u8>>) -> Keys {
        let mut keys = Keys::default();
        for (name, value) in data {
            let text = String::from_utf8_lossy(value).into_owned();
            if name.ends_with(SSH_SUFFIX) {
                keys.authorized_keys.push(text);
            } else {
                keys.key_rings.push(text);
            }
        }
        keys
    }
}

/// Why a signature was not accepted; the texts are fluxcd/pkg's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error(
        "PGP signature detected but no PGP public keys found in secret (keys with .asc suffix)"
    )]
    NoPgpKeys,
    #[error(
        "SSH signature detected but no SSH public keys found in secret (keys with .sshpub suffix)"
    )]
    NoSshKeys,
    #[error("unsupported signature type: {0}")]
    Unsupported(&'static str),
    #[error("unable to read armored key ring: {0}")]
    KeyRing(String),
    #[error("unable to parse authorized keys: unable to parse authorized key: {0}")]
    AuthorizedKey(String),
    #[error("unable to unarmor SSH signature: {0}")]
    Unarmor(String),
    #[error("unable to verify payload with any of the given key rings: no matching key")]
    NoMatchingPgpKey,
    #[error("unable to verify payload with any of the given authorized keys: no matching key")]
    NoMatchingSshKey,
    #[error("signature is larger than {MAX_SIGNATURE_BYTES} bytes")]
    TooLarge,
}

/// `openpgp`, `ssh`, `x509`, `empty` or `unknown`, as fluxcd/pkg names them.
pub fn signature_type(signature: &str) -> &'static str {
    let s = signature.trim();
    if s.starts_with("-----BEGIN PGP SIGNATURE-----") {
        "openpgp"
    } else if s.starts_with("-----BEGIN SSH SIGNATURE-----") {
        "ssh"
    } else if s.starts_with("-----BEGIN SIGNED MESSAGE-----") {
        "x509"
    } else if signature.is_empty() {
        "empty"
    } else {
        "unknown"
    }
}

/// Verify `signed` with the Secret's keys: the signer's key ID (OpenPGP,
/// 16 upper-case hex digits) or fingerprint (SSH, `SHA256:…`).
pub fn verify(signed: &Signed, keys: &Keys) -> Result<String, Error> {
    if signed.signature.len() > MAX_SIGNATURE_BYTES {
        return Err(Error::TooLarge);
    }
    match signature_type(&signed.signature) {
        "openpgp" if keys.key_rings.is_empty() => Err(Error::NoPgpKeys),
        "openpgp" => verify_pgp(signed, &keys.key_rings),
        "ssh" if keys.authorized_keys.is_empty() => Err(Error::NoSshKeys),
        "ssh" => verify_ssh(signed, &keys.authorized_keys),
        // source-controller's verifyGitObject: an unsigned object is an
        // "unsupported signature type: empty".
        other => Err(Error::Unsupported(other)),
    }
}

fn verify_pgp(signed: &Signed, key_rings: &[String]) -> Result<String, Error> {
    let (sig, _) = DetachedSignature::from_armor_single(signed.signature.trim().as_bytes())
        .map_err(|_| Error::NoMatchingPgpKey)?;
    let mut read_error = None;
    let mut attempted = false;
    for ring in key_rings {
        if ring.len() > MAX_KEYRING_BYTES {
            read_error.get_or_insert(Error::KeyRing(format!(
                "key ring larger than {MAX_KEYRING_BYTES} bytes"
            )));
            continue;
        }
        let keys = match SignedPublicKey::from_armor_many(ring.as_bytes()) {
            Ok((keys, _)) => keys.collect::<Result<Vec<_>, _>>(),
            Err(e) => Err(e),
        };
        let keys = match keys {
            Ok(k) if !k.is_empty() => k,
            Ok(_) => {
                read_error.get_or_insert(Error::KeyRing("openpgp: no armored data found".into()));
                continue;
            }
            Err(e) => {
                read_error.get_or_insert(Error::KeyRing(e.to_string()));
                continue;
            }
        };
        attempted = true;
        for key in &keys {
            let primary = hex_upper(key.legacy_key_id().as_ref());
            if sig.verify(key, &signed.payload).is_ok() {
                return Ok(primary);
            }
            if key
                .public_subkeys
                .iter()
                .any(|sub| sig.verify(sub, &signed.payload).is_ok())
            {
                return Ok(primary);
            }
        }
    }
    match read_error {
        Some(e) if !attempted => Err(e),
        _ => Err(Error::NoMatchingPgpKey),
    }
}

fn verify_ssh(signed: &Signed, authorized: &[String]) -> Result<String, Error> {
    let sig = ssh_key::SshSig::from_pem(signed.signature.trim())
        .map_err(|e| Error::Unarmor(e.to_string()))?;
    let mut read_error = None;
    let mut attempted = false;
    for text in authorized {
        if text.len() > MAX_KEYRING_BYTES {
            read_error.get_or_insert(Error::AuthorizedKey("larger than 1 MiB".into()));
            continue;
        }
        let mut keys = Vec::new();
        let mut bad = None;
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match parse_authorized_key(line) {
                Ok(k) => keys.push(k),
                Err(e) => {
                    bad = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = bad {
            read_error.get_or_insert(Error::AuthorizedKey(e));
            continue;
        }
        attempted = true;
        for key in &keys {
            if key.verify(SSH_NAMESPACE, &signed.payload, &sig).is_ok() {
                return Ok(key.fingerprint(ssh_key::HashAlg::Sha256).to_string());
            }
        }
    }
    match read_error {
        Some(e) if !attempted => Err(e),
        _ => Err(Error::NoMatchingSshKey),
    }
}

/// One authorized-keys line: optional options, then `type base64 [comment]`.
fn parse_authorized_key(line: &str) -> Result<ssh_key::PublicKey, String> {
    if let Ok(k) = ssh_key::PublicKey::from_openssh(line) {
        return Ok(k);
    }
    // With leading options (`cert-authority,no-pty ssh-ed25519 AAAA…`):
    // the key starts at the first field that names a key type.
    let fields: Vec<&str> = line.split_whitespace().collect();
    for (i, f) in fields.iter().enumerate().skip(1) {
        if f.starts_with("ssh-") || f.starts_with("ecdsa-") || f.starts_with("sk-") {
            return ssh_key::PublicKey::from_openssh(&fields[i..].join(" "))
                .map_err(|_| "ssh: no key found".to_string());
        }
    }
    Err("ssh: no key found".to_string())
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// Split a raw annotated tag object into its signed part and signature:
/// git appends the signature to the tag message.
pub fn split_tag(raw: &[u8]) -> Option<Signed> {
    let text = std::str::from_utf8(raw).ok()?;
    let start = [
        "-----BEGIN PGP SIGNATURE-----",
        "-----BEGIN SSH SIGNATURE-----",
        "-----BEGIN SIGNED MESSAGE-----",
    ]
    .iter()
    .filter_map(|marker| {
        text.match_indices(marker)
            .map(|(i, _)| i)
            .find(|&i| i == 0 || text.as_bytes()[i - 1] == b'\n')
    })
    .min()?;
    Some(Signed {
        signature: text[start..].to_string(),
        payload: raw[..start].to_vec(),
    })
}
