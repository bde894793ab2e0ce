//! The value encoding `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`
//! (`aes/cipher.go`): AES-256-GCM under the data key, the key path as
//! additional data, a 32-byte IV (GCM's non-96-bit nonce).

use std::sync::LazyLock;

use aes_gcm::AesGcm;
use aes_gcm::aead::consts::{U12, U16, U32};
use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::aes::Aes256;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::tree::{Comment, Value};

/// Why one value could not be decrypted. Never holds the value itself:
/// the ciphertext is shown redacted, as Flux does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CipherError {
    #[error("Input string <redacted> does not match sops' data format")]
    Format,
    #[error("Error base64-decoding {0}")]
    Base64(&'static str),
    #[error("unsupported iv length {0} (sops writes 32 bytes)")]
    IvLength(usize),
    #[error("Could not decrypt with AES_GCM: cipher: message authentication failed")]
    Authentication,
    #[error("Unknown datatype: {0}")]
    Datatype(String),
    #[error("the decrypted {0} value does not parse as one")]
    Parse(&'static str),
}

static ENC: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]")
        .expect("static regex")
});

/// Whether a string is in sops' encrypted form.
pub fn is_encrypted(s: &str) -> bool {
    ENC.is_match(s)
}

/// Decrypt one value; `aad` is the path string (`a:b:`), or for the MAC the
/// `lastmodified` text. An empty string stays empty (sops never encrypts
/// one).
pub fn decrypt(ciphertext: &str, key: &[u8; 32], aad: &str) -> Result<Value, CipherError> {
    if ciphertext.is_empty() {
        return Ok(Value::Str(String::new()));
    }
    let [data, iv, tag, datatype] = fields(ciphertext).ok_or(CipherError::Format)?;
    let field = |text: &str, name: &'static str| {
        STANDARD.decode(text).map_err(|_| CipherError::Base64(name))
    };
    let mut data = field(data, "data")?;
    let iv = field(iv, "iv")?;
    let tag = field(tag, "tag")?;
    if tag.len() != 16 {
        return Err(CipherError::Authentication);
    }
    let tag = GenericArray::<u8, U16>::from_slice(&tag);
    let key = GenericArray::from_slice(key);
    let opened = match iv.len() {
        32 => AesGcm::<Aes256, U32>::new(key).decrypt_in_place_detached(
            GenericArray::from_slice(&iv),
            aad.as_bytes(),
            &mut data,
            tag,
        ),
        12 => AesGcm::<Aes256, U12>::new(key).decrypt_in_place_detached(
            GenericArray::from_slice(&iv),
            aad.as_bytes(),
            &mut data,
            tag,
        ),
        16 => AesGcm::<Aes256, U16>::new(key).decrypt_in_place_detached(
            GenericArray::from_slice(&iv),
            aad.as_bytes(),
            &mut data,
            tag,
        ),
        n => return Err(CipherError::IvLength(n)),
    };
    opened.map_err(|_| CipherError::Authentication)?;
    typed(data, datatype)
}

/// The four groups of `^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]`
/// with the regex's greedy choices (each separator the last one that lets
/// the rest match), found by searching from the end: linear even for a
/// 5 MiB binary file's one value.
fn fields(s: &str) -> Option<[&str; 4]> {
    let body = s.strip_prefix("ENC[AES256_GCM,data:")?;
    let end = body.rfind(']')?;
    let body = &body[..end];
    let t = body.rfind(",type:")?;
    let g = body[..t].rfind(",tag:")?;
    let i = body[..g].rfind(",iv:")?;
    let groups = [&body[..i], &body[i + 4..g], &body[g + 5..t], &body[t + 6..]];
    groups.iter().all(|g| !g.is_empty()).then_some(groups)
}

fn typed(data: Vec<u8>, datatype: &str) -> Result<Value, CipherError> {
    let text = || String::from_utf8_lossy(&data).into_owned();
    Ok(match datatype {
        "str" => Value::Str(text()),
        "bytes" => Value::Str(text()),
        "int" => Value::Int(go_atoi(&text()).ok_or(CipherError::Parse("int"))?),
        "float" => Value::Float(text().parse().map_err(|_| CipherError::Parse("float"))?),
        "bool" => Value::Bool(match text().as_str() {
            "1" | "t" | "T" | "TRUE" | "true" | "True" => true,
            "0" | "f" | "F" | "FALSE" | "false" | "False" => false,
            _ => return Err(CipherError::Parse("bool")),
        }),
        "time" => Value::Time(text()),
        "comment" => Value::Comment(Comment {
            text: text(),
            inline: false,
        }),
        other => return Err(CipherError::Datatype(other.chars().take(32).collect())),
    })
}

/// Go's `strconv.Atoi`: optional sign, decimal digits.
fn go_atoi(s: &str) -> Option<i64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
pub(crate) fn encrypt_for_test(plain: &[u8], key: &[u8; 32], aad: &str, datatype: &str) -> String {
    let iv = [7u8; 32];
    let mut data = plain.to_vec();
    let tag = AesGcm::<Aes256, U32>::new(GenericArray::from_slice(key))
        .encrypt_in_place_detached(GenericArray::from_slice(&iv), aad.as_bytes(), &mut data)
        .expect("encrypt");
    format!(
        "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{datatype}]",
        STANDARD.encode(&data),
        STANDARD.encode(iv),
        STANDARD.encode(tag)
    )
}
