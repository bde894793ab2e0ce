use super::*;

#[test]
fn secret_errors_name_the_secret_and_key() {
    let empty = BTreeMap::new();
    let err = Signer::from_secret("gpg-key", &empty).expect_err("no git.asc");
    assert_eq!(
        err.to_string(),
        "signing key secret 'gpg-key' does not contain a 'git.asc' key"
    );
    let mut bad = BTreeMap::new();
    bad.insert("git.asc".to_string(), b"not a key".to_vec());
    bad.insert("passphrase".to_string(), b"s3cret-pass".to_vec());
    let err = Signer::from_secret("gpg-key", &bad).expect_err("garbage");
    let msg = err.to_string();
    assert!(
        msg.contains("'gpg-key'") && msg.contains("git.asc"),
        "{msg}"
    );
    assert!(!msg.contains("s3cret-pass"), "{msg}");
}
