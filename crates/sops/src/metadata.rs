//! The `sops` metadata block (`stores/stores.go`, `stores/metadata.go`):
//! found per format, unflattened for dotenv and INI, read with mapstructure's
//! weak typing (every dotenv/INI value is a string).

use serde_json::{Map, Value as Json};

use crate::keys::MasterKey;
use crate::tree::{Branch, Item, Key, Value};

/// Which values a document encrypts (only one rule may be set).
#[derive(Debug, Clone)]
pub enum Rule {
    UnencryptedSuffix(String),
    EncryptedSuffix(String),
    UnencryptedRegex(regex::Regex),
    EncryptedRegex(regex::Regex),
    UnencryptedCommentRegex(regex::Regex),
    EncryptedCommentRegex(regex::Regex),
}

/// Most master keys a file may list (sops files hold a handful).
pub const MAX_MASTER_KEYS: usize = 256;

#[derive(Debug, Clone)]
pub struct Metadata {
    pub groups: Vec<Vec<MasterKey>>,
    pub shamir_threshold: usize,
    /// `lastmodified` re-formatted with RFC 3339, the MAC's additional data.
    pub lastmodified: String,
    pub mac: String,
    pub rule: Rule,
    pub mac_only_encrypted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    #[error("sops metadata not found")]
    NotFound,
    #[error("Found duplicate sops entry")]
    Duplicate,
    #[error("Found sops entry that is not a mapping")]
    NotAMapping,
    #[error("No keys found in file")]
    NoKeys,
    #[error(
        "Cannot use more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, \
         unencrypted_regex, encrypted_comment_regex, or unencrypted_comment_regex in the same file"
    )]
    TooManyRules,
    #[error("sops metadata field '{field}': {cause}")]
    Field { field: String, cause: String },
}

/// How the block is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// A top-level `sops` map (YAML, JSON, binary).
    Nested,
    /// A `[sops]` section of flattened keys, `\n` escaped (INI).
    Section,
    /// Top-level `sops_…` keys, flattened (dotenv).
    Prefixed,
}

/// Take the metadata out of the branches (removed from every document).
pub fn extract(branches: &mut [Branch], layout: Layout) -> Result<Metadata, MetadataError> {
    let tree: Json = match layout {
        Layout::Nested | Layout::Section => {
            let mut found = None;
            for (bi, branch) in branches.iter_mut().enumerate() {
                let mut i = 0;
                while i < branch.len() {
                    if branch[i].key_str() == Some("sops") {
                        let item = branch.remove(i);
                        if bi == 0 {
                            if found.is_some() {
                                return Err(MetadataError::Duplicate);
                            }
                            match item.value {
                                Value::Map(m) => found = Some(m),
                                _ => return Err(MetadataError::NotAMapping),
                            }
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            let found = found.ok_or(MetadataError::NotFound)?;
            if layout == Layout::Section {
                let flat: Vec<(String, Json)> = found
                    .iter()
                    .filter_map(|i| {
                        let k = i.key_str()?;
                        let v = match &i.value {
                            Value::Str(s) => Json::String(s.replace("\\n", "\n")),
                            other => to_json(other),
                        };
                        Some((k.to_string(), v))
                    })
                    .collect();
                unflatten(flat)?
            } else {
                to_json(&Value::Map(found))
            }
        }
        Layout::Prefixed => {
            let mut flat = Vec::new();
            if let Some(branch) = branches.first_mut() {
                branch.retain(|item| match &item.key {
                    Key::Str(k) if k.starts_with("sops_") => {
                        flat.push((k["sops_".len()..].to_string(), to_json(&item.value)));
                        false
                    }
                    _ => true,
                });
            }
            if flat.is_empty() {
                return Err(MetadataError::NotFound);
            }
            unflatten(flat)?
        }
    };
    from_json(&tree)
}

fn to_json(value: &Value) -> Json {
    match value {
        Value::Null | Value::Comment(_) => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::Str(s) | Value::Time(s) => Json::String(s.clone()),
        Value::Seq(items) => Json::Array(
            items
                .iter()
                .filter(|v| !matches!(v, Value::Comment(_)))
                .map(to_json)
                .collect(),
        ),
        Value::Map(items) => Json::Object(
            items
                .iter()
                .filter_map(|i: &Item| Some((i.key_str()?.to_string(), to_json(&i.value))))
                .collect(),
        ),
    }
}

enum Step {
    Map(String),
    List(usize),
}

/// `stores/flatten.go`'s tokenizer: `age__list_0__map_enc`.
fn tokenize(path: &str) -> Result<Vec<Step>, MetadataError> {
    let mut steps = Vec::new();
    let mut rest = path;
    let mut kind = 0; // 0 first, 1 map, 2 list
    loop {
        let next_map = rest.find("__map_");
        let next_list = rest.find("__list_");
        let cut = match (next_map, next_list) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let (token, after) = match cut {
            Some(c) => (&rest[..c], Some(&rest[c..])),
            None => (rest, None),
        };
        steps.push(match kind {
            2 => Step::List(token.parse().map_err(|_| MetadataError::Field {
                field: path.to_string(),
                cause: "list index is not a number".into(),
            })?),
            _ => Step::Map(token.to_string()),
        });
        let Some(after) = after else { break };
        if let Some(r) = after.strip_prefix("__map_") {
            kind = 1;
            rest = r;
        } else if let Some(r) = after.strip_prefix("__list_") {
            kind = 2;
            rest = r;
        }
    }
    Ok(steps)
}

fn unflatten(flat: Vec<(String, Json)>) -> Result<Json, MetadataError> {
    let mut root = Json::Object(Map::new());
    for (key, value) in flat {
        let steps = tokenize(&key)?;
        let mut node = &mut root;
        for step in steps {
            node = match step {
                Step::Map(k) => {
                    if !node.is_object() {
                        *node = Json::Object(Map::new());
                    }
                    let Json::Object(m) = node else {
                        unreachable!("made an object above")
                    };
                    m.entry(k).or_insert(Json::Null)
                }
                Step::List(i) => {
                    if i > 4096 {
                        return Err(MetadataError::Field {
                            field: key.clone(),
                            cause: "list index too large".into(),
                        });
                    }
                    if !node.is_array() {
                        *node = Json::Array(Vec::new());
                    }
                    let Json::Array(a) = node else {
                        unreachable!("made an array above")
                    };
                    if a.len() <= i {
                        a.resize(i + 1, Json::Null);
                    }
                    &mut a[i]
                }
            };
        }
        *node = value;
    }
    Ok(root)
}

/// Case-insensitive field lookup, as mapstructure matches names.
fn field<'a>(m: &'a Map<String, Json>, name: &str) -> Option<&'a Json> {
    m.get(name)
        .or_else(|| {
            m.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
        .filter(|v| !v.is_null())
}

fn weak_string(m: &Map<String, Json>, name: &str) -> Result<String, MetadataError> {
    Ok(match field(m, name) {
        None => String::new(),
        Some(Json::String(s)) => s.clone(),
        Some(Json::Bool(b)) => if *b { "1" } else { "0" }.to_string(),
        Some(Json::Number(n)) => n.to_string(),
        Some(_) => {
            return Err(MetadataError::Field {
                field: name.into(),
                cause: "expected a string".into(),
            });
        }
    })
}

fn weak_bool(m: &Map<String, Json>, name: &str) -> Result<bool, MetadataError> {
    Ok(match field(m, name) {
        None => false,
        Some(Json::Bool(b)) => *b,
        Some(Json::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Json::String(s)) => match s.as_str() {
            "" => false,
            "1" | "t" | "T" | "TRUE" | "true" | "True" => true,
            "0" | "f" | "F" | "FALSE" | "false" | "False" => false,
            _ => {
                return Err(MetadataError::Field {
                    field: name.into(),
                    cause: "expected a bool".into(),
                });
            }
        },
        Some(_) => {
            return Err(MetadataError::Field {
                field: name.into(),
                cause: "expected a bool".into(),
            });
        }
    })
}

fn weak_int(m: &Map<String, Json>, name: &str) -> Result<usize, MetadataError> {
    let bad = || MetadataError::Field {
        field: name.into(),
        cause: "expected a small non-negative integer".into(),
    };
    Ok(match field(m, name) {
        None => 0,
        Some(Json::Number(n)) => n.as_u64().filter(|n| *n <= 255).ok_or_else(bad)? as usize,
        Some(Json::String(s)) if s.is_empty() => 0,
        Some(Json::String(s)) => s
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= 255)
            .ok_or_else(bad)?,
        Some(_) => return Err(bad()),
    })
}

fn list<'a>(
    m: &'a Map<String, Json>,
    name: &str,
) -> Result<Vec<&'a Map<String, Json>>, MetadataError> {
    match field(m, name) {
        None => Ok(Vec::new()),
        Some(Json::Array(items)) => items
            .iter()
            .filter(|i| !i.is_null())
            .map(|i| {
                i.as_object().ok_or_else(|| MetadataError::Field {
                    field: name.into(),
                    cause: "expected a list of maps".into(),
                })
            })
            .collect(),
        Some(_) => Err(MetadataError::Field {
            field: name.into(),
            cause: "expected a list".into(),
        }),
    }
}

/// The keys of one group, in sops' internal order (kms, gcp_kms, hckms,
/// azure_kv, hc_vault, pgp, age).
fn group(m: &Map<String, Json>) -> Result<Vec<MasterKey>, MetadataError> {
    let mut keys = Vec::new();
    let unsupported: [(&str, &'static str, &str); 5] = [
        ("kms", "AWS KMS", "arn"),
        ("gcp_kms", "GCP KMS", "resource_id"),
        ("hckms", "HuaweiCloud KMS", "key_id"),
        ("azure_kv", "Azure Key Vault", "vault_url"),
        ("hc_vault", "HashiCorp Vault", "vault_address"),
    ];
    for (name, kind, id) in unsupported {
        for entry in list(m, name)? {
            let mut label = weak_string(entry, id)?;
            if name == "azure_kv" {
                label = format!("{label}/keys/{}", weak_string(entry, "name")?);
            }
            if name == "hc_vault" {
                label = format!(
                    "{label}/v1/{}/keys/{}",
                    weak_string(entry, "engine_path")?,
                    weak_string(entry, "key_name")?
                );
            }
            keys.push(MasterKey::Unsupported { kind, name: label });
        }
    }
    for entry in list(m, "pgp")? {
        keys.push(MasterKey::Pgp {
            fingerprint: weak_string(entry, "fp")?,
            enc: weak_string(entry, "enc")?,
        });
    }
    for entry in list(m, "age")? {
        keys.push(MasterKey::Age {
            recipient: weak_string(entry, "recipient")?,
            enc: weak_string(entry, "enc")?,
        });
    }
    Ok(keys)
}

fn from_json(tree: &Json) -> Result<Metadata, MetadataError> {
    let m = tree.as_object().ok_or(MetadataError::NotAMapping)?;
    let top = group(m)?;
    let groups = if !top.is_empty() {
        vec![top]
    } else {
        let mut groups = Vec::new();
        for g in list(m, "key_groups")? {
            groups.push(group(g)?);
        }
        groups
    };
    if groups.is_empty() {
        return Err(MetadataError::NoKeys);
    }
    // Every master key may be tried once per decryption (an RSA or X25519
    // operation each): a hostile file could list thousands.
    let total: usize = groups.iter().map(Vec::len).sum();
    if total > MAX_MASTER_KEYS || groups.len() > 255 {
        return Err(MetadataError::Field {
            field: "key_groups".into(),
            cause: format!(
                "{total} master keys in {} groups, more than the {MAX_MASTER_KEYS} keys and 255 groups read",
                groups.len()
            ),
        });
    }
    let lastmodified =
        rfc3339(&weak_string(m, "lastmodified")?).ok_or_else(|| MetadataError::Field {
            field: "lastmodified".into(),
            cause: "not an RFC 3339 time".into(),
        })?;
    let regex = |name: &str| -> Result<Option<regex::Regex>, MetadataError> {
        let s = weak_string(m, name)?;
        if s.is_empty() {
            return Ok(None);
        }
        regex::Regex::new(&s)
            .map(Some)
            .map_err(|e| MetadataError::Field {
                field: name.into(),
                cause: e.to_string(),
            })
    };
    let mut rules = Vec::new();
    let suffix = weak_string(m, "unencrypted_suffix")?;
    if !suffix.is_empty() {
        rules.push(Rule::UnencryptedSuffix(suffix));
    }
    let suffix = weak_string(m, "encrypted_suffix")?;
    if !suffix.is_empty() {
        rules.push(Rule::EncryptedSuffix(suffix));
    }
    if let Some(r) = regex("unencrypted_regex")? {
        rules.push(Rule::UnencryptedRegex(r));
    }
    if let Some(r) = regex("encrypted_regex")? {
        rules.push(Rule::EncryptedRegex(r));
    }
    if let Some(r) = regex("unencrypted_comment_regex")? {
        rules.push(Rule::UnencryptedCommentRegex(r));
    }
    if let Some(r) = regex("encrypted_comment_regex")? {
        rules.push(Rule::EncryptedCommentRegex(r));
    }
    if rules.len() > 1 {
        return Err(MetadataError::TooManyRules);
    }
    let rule = rules
        .pop()
        .unwrap_or_else(|| Rule::UnencryptedSuffix("_unencrypted".into()));
    Ok(Metadata {
        groups,
        shamir_threshold: weak_int(m, "shamir_threshold")?,
        lastmodified,
        mac: weak_string(m, "mac")?,
        rule,
        mac_only_encrypted: weak_bool(m, "mac_only_encrypted")?,
    })
}

/// Parse an RFC 3339 time and format it back as Go's `time.RFC3339` does:
/// fractions dropped, a zero offset written `Z`.
pub fn rfc3339(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if !(digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && (b[10] == b'T' || b[10] == b't')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19))
    {
        return None;
    }
    let mut i = 19;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let zone = &s[i..];
    let zone = match zone {
        "Z" | "z" => "Z".to_string(),
        z if z.len() == 6
            && (z.starts_with('+') || z.starts_with('-'))
            && z.as_bytes()[3] == b':'
            && z[1..3].bytes().all(|c| c.is_ascii_digit())
            && z[4..6].bytes().all(|c| c.is_ascii_digit()) =>
        {
            if &z[1..3] == "00" && &z[4..6] == "00" {
                "Z".to_string()
            } else {
                z.to_string()
            }
        }
        _ => return None,
    };
    Some(format!("{}T{}{zone}", &s[..10], &s[11..19]))
}
