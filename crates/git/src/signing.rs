//! OpenPGP commit signing with rPGP, from Flux's `signingKey` Secret
//! (`git.asc`: armored private key, optional `passphrase`). The signature is
//! an armored detached signature over the commit buffer, stored in the
//! commit's `gpgsig` header, which is what `git verify-commit` checks.

use std::collections::BTreeMap;
use std::fmt;

use pgp::composed::{ArmorOptions, Deserializable, DetachedSignature, SignedSecretKey};
use pgp::crypto::hash::HashAlgorithm;
use pgp::types::{KeyDetails, Password};

#[cfg(test)]
mod tests;

/// Errors loading a signing key or signing.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The Secret has no `git.asc`.
    #[error("signing key secret '{secret}' does not contain a 'git.asc' key")]
    MissingKey {
        /// Secret name.
        secret: String,
    },
    /// `git.asc` is not an armored OpenPGP private key.
    #[error(
        "signing key secret '{secret}': cannot read 'git.asc' as an armored OpenPGP private key: {reason}"
    )]
    Parse {
        /// Secret name.
        secret: String,
        /// Parser message.
        reason: String,
    },
    /// The passphrase does not unlock the key.
    #[error(
        "signing key secret '{secret}': cannot unlock the private key with the given passphrase"
    )]
    Passphrase {
        /// Secret name.
        secret: String,
    },
    /// Signing failed.
    #[error("failed to sign commit with key {key_id}: {reason}")]
    Sign {
        /// Key ID (hex).
        key_id: String,
        /// Library message.
        reason: String,
    },
}

/// An unlocked-on-demand OpenPGP signing key.
#[derive(Clone)]
pub struct Signer {
    key: SignedSecretKey,
    passphrase: String,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("key_id", &self.key_id())
            .finish()
    }
}

impl Signer {
    /// Load from the data of a Flux signing-key Secret named `secret`.
    pub fn from_secret(secret: &str, data: &BTreeMap<String, Vec<u8>>) -> Result<Self, Error> {
        let armored = data.get("git.asc").ok_or_else(|| Error::MissingKey {
            secret: secret.to_string(),
        })?;
        let passphrase = data.get("passphrase").map(|p| {
            String::from_utf8_lossy(p)
                .trim_end_matches('\n')
                .to_string()
        });
        Self::from_armored(secret, armored, passphrase.as_deref())
    }

    /// Load an armored private key; `secret` names its origin in errors.
    /// The passphrase is checked now so that a wrong one fails early.
    pub fn from_armored(
        secret: &str,
        armored: &[u8],
        passphrase: Option<&str>,
    ) -> Result<Self, Error> {
        let (key, _) = SignedSecretKey::from_armor_single(armored).map_err(|e| Error::Parse {
            secret: secret.to_string(),
            reason: e.to_string(),
        })?;
        let signer = Signer {
            key,
            passphrase: passphrase.unwrap_or_default().to_string(),
        };
        signer.sign(b"probe").map_err(|_| Error::Passphrase {
            secret: secret.to_string(),
        })?;
        Ok(signer)
    }

    /// Key ID of the primary key, hex.
    pub fn key_id(&self) -> String {
        self.key
            .primary_key
            .legacy_key_id()
            .as_ref()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect()
    }

    /// An armored detached signature over `payload`.
    pub fn sign(&self, payload: &[u8]) -> Result<String, Error> {
        let err = |e: pgp::errors::Error| Error::Sign {
            key_id: self.key_id(),
            reason: e.to_string(),
        };
        let pw = Password::from(self.passphrase.as_str());
        let sig = DetachedSignature::sign_binary_data(
            rand::thread_rng(),
            &self.key.primary_key,
            &pw,
            HashAlgorithm::Sha256,
            payload,
        )
        .map_err(err)?;
        sig.to_armored_string(ArmorOptions::default()).map_err(err)
    }
}
