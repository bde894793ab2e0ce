//! Reading a `# {"$imagepolicy": "ns:name"}` comment.
//!
//! Flux (kyaml `fieldmeta`) strips every leading `#` from the comment and
//! `json.Unmarshal`s the rest into `map[string]string`; anything else means
//! "no marker", silently. Here a comment that mentions `$imagepolicy` but is
//! not such an object is an error, so users learn why nothing updates.

use std::collections::BTreeMap;

/// The JSON key of a setter marker.
pub const SHORT_HAND: &str = "$imagepolicy";

/// Why a comment that mentions `$imagepolicy` is not a usable marker.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error(
        "malformed $imagepolicy marker {comment:?}: expected a JSON object with string values such as {{\"$imagepolicy\": \"ns:name\"}} ({reason})"
    )]
    Json { comment: String, reason: String },
    #[error(
        "malformed $imagepolicy marker {comment:?}: {value:?} is not ns:name, ns:name:tag, ns:name:name or ns:name:digest"
    )]
    Form { comment: String, value: String },
}

/// Parses a comment (the text from its first `#` to the end of the line).
/// `Ok(None)` when the comment does not mention `$imagepolicy`.
pub fn parse_comment(comment: &str) -> Result<Option<String>, Error> {
    if !comment.contains(SHORT_HAND) {
        return Ok(None);
    }
    let comment = comment.trim_end_matches(['\r', '\n']);
    let body = comment.trim_start_matches('#');
    // Go's json.Unmarshal of `null` into a string leaves "", so accept nulls.
    let map: BTreeMap<String, Option<String>> =
        serde_json::from_str(body).map_err(|e| Error::Json {
            comment: comment.to_string(),
            reason: e.to_string(),
        })?;
    let Some(value) = map.get(SHORT_HAND) else {
        return Ok(None);
    };
    let value = value.clone().unwrap_or_default();
    if !valid_form(&value) {
        return Err(Error::Form {
            comment: comment.to_string(),
            value,
        });
    }
    Ok(Some(value))
}

/// `ns:name` with an optional `:tag`, `:name` or `:digest`; Kubernetes names
/// cannot hold `:`, so anything else can never match a policy.
fn valid_form(value: &str) -> bool {
    let parts: Vec<&str> = value.split(':').collect();
    let named = |p: &[&str]| {
        p.iter()
            .all(|s| !s.is_empty() && !s.contains(char::is_whitespace))
    };
    match parts.as_slice() {
        [_, _] => named(&parts),
        [_, _, field] => named(&parts[..2]) && matches!(*field, "tag" | "name" | "digest"),
        _ => false,
    }
}

#[cfg(test)]
mod tests;
