//! What fails, and how: a wrong key, a tampered value, a tampered MAC, key
//! sources this engine does not speak. No message shows plaintext.

use ferroflux_sops::{Error, Format, Keys, Options};

use crate::oracle::{Recipient, oracle};

const PLAIN: &str = "user: admin\npassword: hunter2-plaintext\n";

fn flip_in_first_value(enc: &str, key: &str) -> String {
    // Change one base64 character of the value's data.
    let start = enc
        .find(&format!("{key}: ENC[AES256_GCM,data:"))
        .expect("value")
        + key.len()
        + 25;
    let mut bytes = enc.as_bytes().to_vec();
    bytes[start] = if bytes[start] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).expect("utf8")
}

#[test]
fn a_wrong_age_key_names_the_recipient_and_no_plaintext() {
    let Some(o) = oracle() else { return };
    let enc = o.encrypt(PLAIN.as_bytes(), Format::Yaml, Recipient::Age, &[]);
    let mut keys = Keys::new();
    // A valid identity that is not the file's recipient.
    keys.add_age_identities(
        "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX\n",
    )
    .expect("identity");
    let err = ferroflux_sops::decrypt(&enc, Format::Yaml, Format::Yaml, &keys, &Options::flux())
        .expect_err("wrong key");
    let msg = err.to_string();
    assert!(matches!(err, Error::DataKey(_)), "{msg}");
    assert!(
        msg.starts_with("cannot get sops data key: Failed to get the data key"),
        "{msg}"
    );
    assert!(msg.contains(&o.age_recipient), "names the recipient: {msg}");
    assert!(!msg.contains("hunter2"), "{msg}");
    assert!(o.decrypt(&enc, Format::Yaml, Format::Yaml, false).is_ok());
}

#[test]
fn a_tampered_value_fails_its_gcm_tag_even_without_the_mac() {
    let Some(o) = oracle() else { return };
    let enc = String::from_utf8(o.encrypt(PLAIN.as_bytes(), Format::Yaml, Recipient::Age, &[]))
        .expect("utf8");
    let bad = flip_in_first_value(&enc, "password");
    let err = ferroflux_sops::decrypt(
        bad.as_bytes(),
        Format::Yaml,
        Format::Yaml,
        &o.keys(),
        &Options::flux(),
    )
    .expect_err("tampered value");
    let msg = err.to_string();
    assert!(msg.contains("'password'"), "names the key path: {msg}");
    assert!(msg.contains("message authentication failed"), "{msg}");
    assert!(!msg.contains("hunter2") && !msg.contains("ENC["), "{msg}");
    assert!(
        o.decrypt(bad.as_bytes(), Format::Yaml, Format::Yaml, true)
            .is_err()
    );
}

#[test]
fn a_changed_plain_value_fails_the_mac_only_when_asked() {
    let Some(o) = oracle() else { return };
    let enc = String::from_utf8(o.encrypt(
        PLAIN.as_bytes(),
        Format::Yaml,
        Recipient::Age,
        &["--unencrypted-regex", "^user$"],
    ))
    .expect("utf8");
    let changed = enc.replace("user: admin", "user: root");
    let strict = ferroflux_sops::decrypt(
        changed.as_bytes(),
        Format::Yaml,
        Format::Yaml,
        &o.keys(),
        &Options::default(),
    )
    .expect_err("MAC mismatch");
    assert!(matches!(strict, Error::MacMismatch { .. }), "{strict}");
    let theirs = o
        .decrypt(changed.as_bytes(), Format::Yaml, Format::Yaml, false)
        .expect_err("sops checks the MAC");
    assert!(theirs.contains("MAC mismatch"), "{theirs}");
    // Flux does not check it: the build may change plain values.
    let flux = ferroflux_sops::decrypt(
        changed.as_bytes(),
        Format::Yaml,
        Format::Yaml,
        &o.keys(),
        &Options::flux(),
    )
    .expect("Flux skips the MAC");
    assert!(
        String::from_utf8(flux)
            .expect("utf8")
            .contains("user: root")
    );
}

#[test]
fn a_tampered_mac_is_an_error() {
    let Some(o) = oracle() else { return };
    let enc = String::from_utf8(o.encrypt(PLAIN.as_bytes(), Format::Yaml, Recipient::Age, &[]))
        .expect("utf8");
    let at = enc.find("mac: ENC[AES256_GCM,data:").expect("mac") + 25;
    let mut bytes = enc.into_bytes();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    let err = ferroflux_sops::decrypt(
        &bytes,
        Format::Yaml,
        Format::Yaml,
        &o.keys(),
        &Options::default(),
    )
    .expect_err("tampered MAC");
    assert!(matches!(err, Error::MacDecrypt(_)), "{err}");
    assert!(
        o.decrypt(&bytes, Format::Yaml, Format::Yaml, false)
            .is_err()
    );
}

#[test]
fn unsupported_key_sources_say_so() {
    let doc = "password: ENC[AES256_GCM,data:AAAA,iv:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]\n\
sops:\n    kms:\n        - arn: arn:aws:kms:us-east-1:123:key/abc\n          created_at: \"2024-01-01T00:00:00Z\"\n          enc: AQID\n          aws_profile: \"\"\n    hc_vault:\n        - vault_address: https://vault:8200\n          engine_path: sops\n          key_name: k\n          created_at: \"2024-01-01T00:00:00Z\"\n          enc: vault:v1:abc\n    lastmodified: \"2024-01-01T00:00:00Z\"\n    mac: ENC[AES256_GCM,data:AAAA,iv:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]\n    version: 3.13.2\n";
    let err = ferroflux_sops::decrypt(
        doc.as_bytes(),
        Format::Yaml,
        Format::Yaml,
        &Keys::new(),
        &Options::flux(),
    )
    .expect_err("unsupported");
    let msg = err.to_string();
    assert!(matches!(err, Error::NotSupported { .. }), "{msg}");
    assert!(
        msg.contains("AWS KMS") && msg.contains("HashiCorp Vault"),
        "{msg}"
    );
    assert!(msg.contains("not supported"), "{msg}");
}

#[test]
fn key_types_do_not_print_key_material() {
    let Some(o) = oracle() else { return };
    let keys = o.keys();
    let debug = format!("{keys:?}");
    assert!(!debug.contains("AGE-SECRET-KEY"), "{debug}");
    assert!(debug.contains("redacted"), "{debug}");
    let enc = o.encrypt(PLAIN.as_bytes(), Format::Yaml, Recipient::Age, &[]);
    let doc = ferroflux_sops::decrypt_document(&enc, Format::Yaml, &keys, &Options::default())
        .expect("decrypt");
    let debug = format!("{doc:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
}
