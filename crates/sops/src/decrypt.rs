//! `Tree.Decrypt` (`sops.go`): every value the document's rule says is
//! encrypted is decrypted with its key path as additional data, and the MAC
//! is computed over the plaintext leaves in order.

use sha2::{Digest, Sha512};

use crate::cipher::{self, CipherError};
use crate::metadata::{Metadata, Rule};
use crate::tree::{Branch, Comment, Item, Key, Value, to_bytes};

/// SHA-256 of `sops`, fed first when `mac_only_encrypted` is set.
const MAC_ONLY_ENCRYPTED_INIT: [u8; 32] = [
    0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0x0b,
    0x0b, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69,
];

/// A value that did not decrypt, with the key path where it sits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Could not decrypt value at '{path}': {cause}")]
pub struct ValueError {
    /// Dotted key path (`data.password`).
    pub path: String,
    pub cause: CipherError,
}

struct Walk<'a> {
    meta: &'a Metadata,
    key: &'a [u8; 32],
    mac: Sha512,
}

/// Decrypt the branches in place; returns the computed MAC (upper-case
/// hex of SHA-512).
pub fn decrypt_tree(
    branches: &mut [Branch],
    meta: &Metadata,
    key: &[u8; 32],
) -> Result<String, ValueError> {
    let mut walk = Walk {
        meta,
        key,
        mac: Sha512::new(),
    };
    if meta.mac_only_encrypted {
        walk.mac.update(MAC_ONLY_ENCRYPTED_INIT);
    }
    for branch in branches.iter_mut() {
        let mut path = Vec::new();
        let mut comments = Vec::new();
        walk.branch(branch, &mut path, &mut comments)?;
    }
    let digest = std::mem::take(&mut walk.mac).finalize();
    Ok(digest.iter().map(|b| format!("{b:02X}")).collect())
}

impl Walk<'_> {
    fn branch(
        &mut self,
        items: &mut [Item],
        path: &mut Vec<String>,
        stack: &mut Vec<Vec<String>>,
    ) -> Result<(), ValueError> {
        stack.push(Vec::new());
        for item in items.iter_mut() {
            match &mut item.key {
                Key::Comment(c) => {
                    last(stack).push(c.text.clone());
                    let inline = c.inline;
                    let mut v = Value::Comment(c.clone());
                    self.leaf(&mut v, path, stack, true)?;
                    if let Value::Comment(mut d) = v {
                        d.inline = inline;
                        *c = d;
                    }
                }
                Key::Str(k) => {
                    path.push(k.clone());
                    let r = self.value(&mut item.value, path, stack);
                    path.pop();
                    r?;
                    last(stack).clear();
                }
            }
        }
        stack.pop();
        Ok(())
    }

    fn value(
        &mut self,
        value: &mut Value,
        path: &mut Vec<String>,
        stack: &mut Vec<Vec<String>>,
    ) -> Result<(), ValueError> {
        match value {
            Value::Map(items) => self.branch(items, path, stack),
            Value::Seq(items) => {
                stack.push(Vec::new());
                for v in items.iter_mut() {
                    let is_comment = matches!(v, Value::Comment(_));
                    if let Value::Comment(c) = v {
                        last(stack).push(c.text.clone());
                    }
                    self.value(v, path, stack)?;
                    if !is_comment {
                        last(stack).clear();
                    }
                }
                stack.pop();
                Ok(())
            }
            Value::Null => Ok(()),
            Value::Comment(_) => self.leaf(value, path, stack, true),
            _ => self.leaf(value, path, stack, false),
        }
    }

    fn leaf(
        &mut self,
        value: &mut Value,
        path: &[String],
        stack: &[Vec<String>],
        is_comment: bool,
    ) -> Result<(), ValueError> {
        let encrypted = should_be_encrypted(&self.meta.rule, path, stack, is_comment);
        if encrypted {
            let aad = format!("{}:", path.join(":"));
            match value {
                Value::Comment(c) => {
                    // A comment that does not decrypt was never encrypted
                    // (files of older sops versions): kept as it is.
                    if let Ok(Value::Comment(d)) = cipher::decrypt(&c.text, self.key, &aad) {
                        *c = Comment {
                            text: d.text,
                            inline: c.inline,
                        };
                    }
                }
                Value::Str(s) => {
                    *value = cipher::decrypt(s, self.key, &aad).map_err(|cause| ValueError {
                        path: path.join("."),
                        cause,
                    })?;
                }
                _ => {
                    return Err(ValueError {
                        path: path.join("."),
                        cause: CipherError::Format,
                    });
                }
            }
        }
        if (!self.meta.mac_only_encrypted || encrypted)
            && !is_comment
            && let Some(bytes) = to_bytes(value)
        {
            self.mac.update(&bytes);
        }
        Ok(())
    }
}

fn last(stack: &mut [Vec<String>]) -> &mut Vec<String> {
    let n = stack.len();
    &mut stack[n - 1]
}

/// `Tree.shouldBeEncrypted`.
pub fn should_be_encrypted(
    rule: &Rule,
    path: &[String],
    stack: &[Vec<String>],
    is_comment: bool,
) -> bool {
    match rule {
        Rule::UnencryptedSuffix(s) => !path.iter().any(|p| p.ends_with(s.as_str())),
        Rule::EncryptedSuffix(s) => path.iter().any(|p| p.ends_with(s.as_str())),
        Rule::UnencryptedRegex(r) => !path.iter().any(|p| r.is_match(p)),
        Rule::EncryptedRegex(r) => path.iter().any(|p| r.is_match(p)),
        Rule::UnencryptedCommentRegex(r) => !stack.iter().flatten().any(|c| r.is_match(c)),
        Rule::EncryptedCommentRegex(r) => {
            let n = stack.len();
            stack.iter().enumerate().any(|(i, cs)| {
                cs.iter().enumerate().any(|(j, c)| {
                    let own = is_comment && i + 1 == n && j + 1 == cs.len();
                    !own && r.is_match(c)
                })
            })
        }
    }
}
