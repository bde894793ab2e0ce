//! Unit tests of every error path, with values encrypted here under a
//! known data key (the oracle tests in tests/sops cover real sops files).

use super::*;
use crate::cipher::{CipherError, encrypt_for_test};
use crate::metadata::MetadataError;

const KEY: [u8; 32] = [9u8; 32];

#[test]
fn cipher_decrypts_each_type_and_binds_the_path() {
    let enc = encrypt_for_test(b"42", &KEY, "a:b:", "int");
    assert_eq!(cipher::decrypt(&enc, &KEY, "a:b:"), Ok(Value::Int(42)));
    assert_eq!(
        cipher::decrypt(&enc, &KEY, "a:c:"),
        Err(CipherError::Authentication),
        "the key path is the additional data"
    );
    let enc = encrypt_for_test(b"True", &KEY, "x:", "bool");
    assert_eq!(cipher::decrypt(&enc, &KEY, "x:"), Ok(Value::Bool(true)));
    let enc = encrypt_for_test(b"0.5", &KEY, "x:", "float");
    assert_eq!(cipher::decrypt(&enc, &KEY, "x:"), Ok(Value::Float(0.5)));
    assert_eq!(
        cipher::decrypt("", &KEY, "x:"),
        Ok(Value::Str(String::new()))
    );
}

#[test]
fn cipher_errors_never_quote_the_value() {
    assert_eq!(
        cipher::decrypt("hunter2", &KEY, "x:"),
        Err(CipherError::Format)
    );
    assert!(!CipherError::Format.to_string().contains("hunter2"));
    assert_eq!(
        cipher::decrypt(
            "ENC[AES256_GCM,data:!!,iv:AA==,tag:AA==,type:str]",
            &KEY,
            "x:"
        ),
        Err(CipherError::Base64("data"))
    );
    let enc = encrypt_for_test(b"v", &KEY, "x:", "str")
        .replace("iv:BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=", "iv:BwcH");
    assert_eq!(
        cipher::decrypt(&enc, &KEY, "x:"),
        Err(CipherError::IvLength(3))
    );
    let enc = encrypt_for_test(b"v", &KEY, "x:", "nope");
    assert_eq!(
        cipher::decrypt(&enc, &KEY, "x:"),
        Err(CipherError::Datatype("nope".into()))
    );
    let enc = encrypt_for_test(b"4x", &KEY, "x:", "int");
    assert_eq!(
        cipher::decrypt(&enc, &KEY, "x:"),
        Err(CipherError::Parse("int"))
    );
    let enc = encrypt_for_test(b"v", &[1u8; 32], "x:", "str");
    assert_eq!(
        cipher::decrypt(&enc, &KEY, "x:"),
        Err(CipherError::Authentication)
    );
}

fn meta_yaml(extra: &str) -> String {
    format!(
        "sops:\n    age:\n        - recipient: age1x\n          enc: x\n    lastmodified: \"2024-01-01T00:00:00Z\"\n    mac: \"\"\n{extra}"
    )
}

fn load_yaml(text: &str) -> Result<(Vec<Branch>, metadata::Metadata), Error> {
    load(text.as_bytes(), Format::Yaml)
}

#[test]
fn metadata_errors() {
    let err = |text: &str| match load_yaml(text) {
        Err(Error::Load { cause, .. }) => cause,
        other => panic!("expected a load error, got {other:?}"),
    };
    assert_eq!(err("a: 1\n"), MetadataError::NotFound.to_string());
    assert_eq!(
        err("a: 1\nsops: 3\n"),
        MetadataError::NotAMapping.to_string()
    );
    assert_eq!(
        err("sops:\n    lastmodified: \"2024-01-01T00:00:00Z\"\n"),
        MetadataError::NoKeys.to_string()
    );
    assert_eq!(
        err(&meta_yaml(
            "    encrypted_regex: a\n    unencrypted_suffix: b\n"
        )),
        MetadataError::TooManyRules.to_string()
    );
    assert!(
        err(&meta_yaml("").replace("2024-01-01T00:00:00Z", "yesterday")).contains("lastmodified")
    );
    assert!(err(&meta_yaml("    encrypted_regex: \"(\"\n")).contains("encrypted_regex"));
    assert!(err(&meta_yaml("    shamir_threshold: lots\n")).contains("shamir_threshold"));
    assert!(load_yaml(&meta_yaml("")).is_ok());
}

#[test]
fn duplicate_sops_entries_are_refused() {
    let mut branches = vec![vec![
        Item::new("sops", Value::Map(vec![])),
        Item::new("sops", Value::Map(vec![])),
    ]];
    assert_eq!(
        metadata::extract(&mut branches, metadata::Layout::Nested).map(|_| ()),
        Err(MetadataError::Duplicate)
    );
}

#[test]
fn lastmodified_is_reformatted_as_go_rfc3339() {
    assert_eq!(
        metadata::rfc3339("2024-01-02T03:04:05.123Z").as_deref(),
        Some("2024-01-02T03:04:05Z")
    );
    assert_eq!(
        metadata::rfc3339("2024-01-02T03:04:05+00:00").as_deref(),
        Some("2024-01-02T03:04:05Z")
    );
    assert_eq!(
        metadata::rfc3339("2024-01-02T03:04:05+02:00").as_deref(),
        Some("2024-01-02T03:04:05+02:00")
    );
    assert_eq!(metadata::rfc3339("2024-01-02"), None);
}

#[test]
fn flattened_metadata_is_rebuilt_for_dotenv_and_ini() {
    let dotenv = "A=1\nsops_age__list_0__map_recipient=age1x\nsops_age__list_0__map_enc=x\\ny\nsops_lastmodified=2024-01-01T00:00:00Z\nsops_mac=\nsops_mac_only_encrypted=true\nsops_shamir_threshold=2\n";
    let (branches, meta) = load(dotenv.as_bytes(), Format::Dotenv).expect("dotenv");
    assert_eq!(branches[0].len(), 1, "sops_ keys are removed");
    assert!(meta.mac_only_encrypted);
    assert_eq!(meta.shamir_threshold, 2);
    assert_eq!(meta.groups.len(), 1);
    let ini = "[s]\nk = v\n\n[sops]\nage__list_0__map_recipient = age1x\nage__list_0__map_enc = a\\nb\nlastmodified = 2024-01-01T00:00:00Z\nmac = \n";
    let (branches, meta) = load(ini.as_bytes(), Format::Ini).expect("ini");
    assert_eq!(tree::get(&branches[0], "s").map(|_| ()), Some(()));
    assert!(matches!(&meta.groups[0][0], keys::MasterKey::Age { enc, .. } if enc == "a\nb"));
}

#[test]
fn key_errors_name_the_line_never_the_key() {
    let mut keys = Keys::new();
    let err = keys
        .add_age_identities("# comment\n\nAGE-SECRET-KEY-1NOTVALIDATALL\n")
        .expect_err("bad identity");
    assert!(matches!(err, KeyError::Age { line: 3, .. }), "{err}");
    assert!(!err.to_string().contains("NOTVALID"), "{err}");
    let err = keys
        .add_age_identities(" AGE-SECRET-KEY-1\n")
        .expect_err("spaces");
    assert!(err.to_string().contains("unknown identity type"), "{err}");
    let err = keys
        .add_age_identities("AGE-PLUGIN-YUBIKEY-1XYZ\n")
        .expect_err("plugin");
    assert!(err.to_string().contains("not supported"), "{err}");
    assert!(keys.add_pgp_armored(b"not a key").is_err());
    assert!(keys.is_empty());
    assert_eq!(keys.add_age_identities("# only comments\n"), Ok(0));
}

#[test]
fn no_identities_fail_every_group_with_sops_user_error() {
    let groups = vec![vec![keys::MasterKey::Age {
        recipient: "age1recipient".into(),
        enc: "x".into(),
    }]];
    let err = keys::data_key(&groups, 0, &Keys::new()).expect_err("no keys");
    let text = err.to_string();
    assert!(text.starts_with("Failed to get the data key required to decrypt the SOPS file.\n\nGroup 0: FAILED\n  age1recipient: FAILED\n  - | "), "{text}");
    assert!(
        text.contains("Recovery failed because no master key"),
        "{text}"
    );
    assert!(!err.only_unsupported());
}

#[test]
fn shamir_parts_recombine_and_bad_parts_are_refused() {
    // Secret byte 0x42, polynomial 0x42 + 0x07 x over GF(2^8): parts at x=1,2.
    let p1 = vec![0x42 ^ 0x07, 1];
    let p2 = vec![0x42 ^ 0x0e, 2];
    assert_eq!(keys::shamir_for_test(&[p1.clone(), p2]), Some(vec![0x42]));
    assert_eq!(
        keys::shamir_for_test(std::slice::from_ref(&p1)),
        None,
        "one part"
    );
    assert_eq!(
        keys::shamir_for_test(&[p1.clone(), p1]),
        None,
        "duplicate part"
    );
}

#[test]
fn json_errors() {
    assert_eq!(json::load(b"[1]"), Err(json::JsonError::NotAnObject));
    assert_eq!(json::load(b"3"), Err(json::JsonError::NotAnObject));
    let deep = format!("{}{}", "{\"a\":".repeat(300), "}".repeat(300));
    assert_eq!(json::load(deep.as_bytes()), Err(json::JsonError::TooDeep));
    assert!(matches!(
        json::load(b"{\"a\" 1}"),
        Err(json::JsonError::Syntax { .. })
    ));
    assert!(matches!(
        json::load(b"{\"a\": 01}"),
        Err(json::JsonError::Syntax { .. })
    ));
    assert!(matches!(
        json::load(b"{\"a\": \"\\q\"}"),
        Err(json::JsonError::Syntax { .. })
    ));
    assert_eq!(
        json::emit(&[Item::new("f", Value::Float(f64::NAN))]).map(|_| ()),
        Err(json::JsonError::Unsupported("NaN or infinite float"))
    );
}

#[test]
fn json_keeps_order_duplicates_and_go_spellings() {
    let branch = json::load(br#"{"b": 1, "a": 2.50, "b": "<x>", "big": 9223372036854775808}"#)
        .expect("json");
    let keys: Vec<&str> = branch.iter().filter_map(Item::key_str).collect();
    assert_eq!(keys, ["b", "a", "b", "big"]);
    let out = json::emit(&branch).expect("emit");
    assert_eq!(
        out,
        "{\n\t\"b\": 1,\n\t\"a\": 2.5,\n\t\"b\": \"\\u003cx\\u003e\",\n\t\"big\": 9223372036854776000\n}\n"
    );
    assert_eq!(json::go_json_float(1e21).as_deref(), Ok("1e+21"));
    assert_eq!(json::go_json_float(1e-7).as_deref(), Ok("1e-7"));
    assert_eq!(json::go_json_float(0.000001).as_deref(), Ok("0.000001"));
}

#[test]
fn dotenv_and_ini_errors() {
    assert_eq!(
        flat::load_dotenv(b"A=1\nnoequals\n"),
        Err(flat::FlatError::DotenvLine { line: 2 })
    );
    let complex = vec![Item::new("m", Value::Map(vec![]))];
    assert_eq!(
        flat::emit_dotenv(&complex),
        Err(flat::FlatError::Complex("m".into()))
    );
    assert!(matches!(
        flat::load_ini(b"[open\nk=v\n"),
        Err(flat::FlatError::Ini { line: 1, .. })
    ));
    assert!(matches!(
        flat::load_ini(b"[s]\nnodelimiter\n"),
        Err(flat::FlatError::Ini { line: 2, .. })
    ));
    assert_eq!(
        flat::emit_ini(&[vec![Item::new("s", Value::Str("x".into()))]]),
        Err(flat::FlatError::IniSection)
    );
}

#[test]
fn binary_output_needs_one_string_data_key() {
    let doc = |branches| Document { branches };
    let err = |d: Document| {
        emit(&d, Format::Json, Format::Binary)
            .expect_err("binary")
            .to_string()
    };
    assert!(err(doc(vec![vec![]])).contains("no binary data found"));
    assert!(err(doc(vec![vec![Item::new("data", Value::Int(1))]])).contains("not have a string"));
    assert!(err(doc(vec![vec![], vec![]])).contains("exactly one tree branch"));
    let ok = emit(
        &doc(vec![vec![Item::new("data", Value::Str("raw\n".into()))]]),
        Format::Json,
        Format::Binary,
    )
    .expect("binary");
    assert_eq!(ok, b"raw\n");
}

#[test]
fn oversized_input_is_refused_before_parsing() {
    let options = Options {
        verify_mac: false,
        max_bytes: 8,
    };
    let err = decrypt(
        b"0123456789",
        Format::Yaml,
        Format::Yaml,
        &Keys::new(),
        &options,
    )
    .expect_err("too large");
    assert_eq!(err, Error::TooLarge { size: 10, limit: 8 });
}

#[test]
fn yaml_bombs_and_bad_documents_are_load_errors() {
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        bomb.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n",
            p = i - 1
        ));
    }
    assert!(matches!(load_yaml(&bomb), Err(Error::Load { .. })));
    assert!(matches!(
        yaml::load("- a\n- b\n"),
        Err(yaml::YamlError::SequenceDocument)
    ));
    assert!(matches!(
        yaml::load("just a string\n"),
        Err(yaml::YamlError::ValueDocument)
    ));
    assert!(matches!(
        yaml::load("1: x\n"),
        Err(yaml::YamlError::NonStringKey { line: 1 })
    ));
    assert!(matches!(
        yaml::load("a: 18446744073709551615\n"),
        Err(yaml::YamlError::Overflow { line: 1 })
    ));
    assert!(matches!(
        yaml::load("a: [\n"),
        Err(yaml::YamlError::Syntax { .. })
    ));
}

#[test]
fn yaml_scalars_resolve_as_yaml_v3_and_quote_on_output() {
    assert_eq!(yaml::resolve("0x1F", 1), Ok(Value::Int(31)));
    assert_eq!(yaml::resolve("0o17", 1), Ok(Value::Int(15)));
    assert_eq!(yaml::resolve("1_000", 1), Ok(Value::Int(1000)));
    assert_eq!(yaml::resolve("yes", 1), Ok(Value::Str("yes".into())));
    assert_eq!(
        yaml::resolve("2024-01-02 03:04:05", 1),
        Ok(Value::Time("2024-01-02T03:04:05Z".into()))
    );
    assert_eq!(yaml::scalar_str("yes"), "\"yes\"");
    assert_eq!(yaml::scalar_str("12"), "\"12\"");
    assert_eq!(yaml::scalar_str("a: b"), "'a: b'");
    assert_eq!(yaml::scalar_str(" lead"), "' lead'");
    assert_eq!(yaml::scalar_str("tab\there"), "\"tab\\there\"");
    assert_eq!(yaml::scalar_str("plain text"), "plain text");
}

/// yaml.v3 double-quotes what YAML 1.1 reads as a base-60 float
/// (`^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`) and nothing
/// else: a digit, a dot and a colon somewhere are not enough (a string the
/// differential test against sops generated).
#[test]
fn only_base_60_floats_are_quoted_for_yaml_1_1_readers() {
    for quoted in ["1:20", "-1:20", "190:20:30.15", "1_0:5:9.", "+3:59.5_0"] {
        assert_eq!(
            yaml::scalar_str(quoted),
            format!("\"{quoted}\""),
            "{quoted}"
        );
    }
    for plain in ["6.Fz/#J;fuf\"Fg\"pg:&", "1:60", "1.5:30", "1:20.x", "a1:20"] {
        assert_eq!(yaml::scalar_str(plain), plain, "{plain}");
    }
}

#[test]
fn a_mac_over_plain_values_detects_changes() {
    // A document with one encrypted and one plain value, MAC computed by
    // the same walk: verifying succeeds, then fails once the plain value
    // changes.
    let value = encrypt_for_test(b"secret", &KEY, "pass:", "str");
    let mut meta_doc = vec![
        Item::new("pass", Value::Str(value)),
        Item::new("user_unencrypted", Value::Str("me".into())),
    ];
    let meta = metadata::Metadata {
        groups: vec![],
        shamir_threshold: 0,
        lastmodified: "2024-01-01T00:00:00Z".into(),
        mac: String::new(),
        rule: metadata::Rule::UnencryptedSuffix("_unencrypted".into()),
        mac_only_encrypted: false,
    };
    let mut a = vec![meta_doc.clone()];
    let mac_a = decrypt::decrypt_tree(&mut a, &meta, &KEY).expect("decrypt");
    assert_eq!(tree::get(&a[0], "pass"), Some(&Value::Str("secret".into())));
    meta_doc[1].value = Value::Str("you".into());
    let mut b = vec![meta_doc.clone()];
    let mac_b = decrypt::decrypt_tree(&mut b, &meta, &KEY).expect("decrypt");
    assert_ne!(mac_a, mac_b);
    let only = metadata::Metadata {
        mac_only_encrypted: true,
        ..meta
    };
    let mut c = vec![meta_doc];
    let mac_c = decrypt::decrypt_tree(&mut c, &only, &KEY).expect("decrypt");
    assert_ne!(mac_c, mac_b, "mac_only_encrypted starts from another state");
    assert_eq!(mac_a.len(), 128);
}

#[test]
fn a_value_error_names_the_key_path() {
    let mut branches = vec![vec![Item::new(
        "data",
        Value::Map(vec![Item::new(
            "password",
            Value::Str("not-encrypted".into()),
        )]),
    )]];
    let meta = metadata::Metadata {
        groups: vec![],
        shamir_threshold: 0,
        lastmodified: String::new(),
        mac: String::new(),
        rule: metadata::Rule::UnencryptedSuffix("_unencrypted".into()),
        mac_only_encrypted: false,
    };
    let err = decrypt::decrypt_tree(&mut branches, &meta, &KEY).expect_err("plain value");
    assert_eq!(err.path, "data.password");
    assert!(!err.to_string().contains("not-encrypted"), "{err}");
}

#[test]
fn flux_path_and_marker_detection() {
    assert_eq!(Format::for_flux_path("a/.dockerconfigjson"), Format::Json);
    assert_eq!(Format::for_flux_path("x.yml"), Format::Yaml);
    assert_eq!(Format::for_flux_path("x.env"), Format::Dotenv);
    assert_eq!(Format::for_flux_path("x.ini"), Format::Ini);
    assert_eq!(Format::for_flux_path("token"), Format::Binary);
    assert_eq!(Format::detect(b"x\nsops_mac=ENC[abc"), Some(Format::Dotenv));
    assert_eq!(Format::detect(b"    mac: ENC[abc"), Some(Format::Yaml));
    assert_eq!(Format::detect(b"\"mac\": \"ENC["), Some(Format::Json));
    assert_eq!(Format::detect(b"[sops]\n"), Some(Format::Ini));
    assert_eq!(Format::detect(b"plain"), None);
}

#[test]
fn too_many_master_keys_are_refused() {
    let mut entries = String::new();
    for _ in 0..(metadata::MAX_MASTER_KEYS + 1) {
        entries.push_str("        - recipient: age1x\n          enc: x\n");
    }
    let text = format!(
        "sops:\n    age:\n{entries}    lastmodified: \"2024-01-01T00:00:00Z\"\n    mac: \"\"\n"
    );
    match load_yaml(&text) {
        Err(Error::Load { cause, .. }) => assert!(cause.contains("master keys"), "{cause}"),
        other => panic!("expected a load error, got {other:?}"),
    }
}

#[test]
fn value_fields_split_as_sops_regex_does() {
    let enc = encrypt_for_test(b"v", &KEY, "x:", "str");
    assert_eq!(
        cipher::decrypt(&enc, &KEY, "x:"),
        Ok(Value::Str("v".into()))
    );
    // Text after the closing bracket is tolerated, as the unanchored end
    // of sops' regex does.
    assert_eq!(
        cipher::decrypt(&format!("{enc} trailing"), &KEY, "x:"),
        Ok(Value::Str("v".into()))
    );
    for bad in [
        "ENC[AES256_GCM,data:,iv:AA==,tag:AA==,type:str]",
        "ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:]",
        "ENC[AES256_GCM,data:AA==,iv:AA==,type:str]",
        "ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str",
        "ENC[AES128_GCM,data:AA==,iv:AA==,tag:AA==,type:str]",
    ] {
        assert_eq!(
            cipher::decrypt(bad, &KEY, "x:"),
            Err(CipherError::Format),
            "{bad}"
        );
        assert!(!cipher::is_encrypted(bad), "{bad}");
    }
}
