//! Release names (`internal/release/name.go`).

use sha2::{Digest, Sha256};

/// Helm's limit on release names.
pub const MAX_RELEASE_NAME: usize = 53;
const SHORT_HASH: usize = 12;

/// `ShortenName`: a name longer than 53 bytes becomes its first 40 bytes,
/// `-` and the first 12 hex digits of its SHA-256 (53 in all).
pub fn shorten_name(name: &str) -> String {
    if name.len() <= MAX_RELEASE_NAME {
        return name.to_string();
    }
    let sum = hex::encode(Sha256::digest(name.as_bytes()));
    let keep = MAX_RELEASE_NAME - (SHORT_HASH + 1);
    // Release names are DNS labels (ASCII); cut at a char boundary anyway.
    let mut cut = keep;
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}-{}", &name[..cut], &sum[..SHORT_HASH])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// helm-controller's `name_test.go` table.
    #[test]
    fn shorten_name_table() {
        let cases = [
            ("release-name", "release-name"),
            (
                "release-name-with-very-long-name-which-is-longer-than-53-characters",
                "release-name-with-very-long-name-which-i-788ca0d0d7b0",
            ),
            (
                "another-release-name-with-very-long-name-which-is-longer-than-53-characters",
                "another-release-name-with-very-long-name-7e72150d5a36",
            ),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(shorten_name(input), want, "{input}");
            assert!(shorten_name(input).len() <= MAX_RELEASE_NAME);
        }
    }
}
