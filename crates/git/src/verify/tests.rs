use super::*;

#[test]
fn signature_types_are_named_as_fluxcd_pkg_names_them() {
    assert_eq!(
        signature_type("-----BEGIN PGP SIGNATURE-----\nx"),
        "openpgp"
    );
    assert_eq!(signature_type("  -----BEGIN SSH SIGNATURE-----\nx"), "ssh");
    assert_eq!(signature_type("-----BEGIN SIGNED MESSAGE-----"), "x509");
    assert_eq!(signature_type(""), "empty");
    assert_eq!(signature_type("hello"), "unknown");
    let s = |sig: &str| Signed {
        signature: sig.to_string(),
        payload: b"tree x\n".to_vec(),
    };
    let keys = Keys {
        key_rings: vec!["x".into()],
        authorized_keys: vec!["y".into()],
    };
    assert_eq!(
        verify(&s("-----BEGIN SIGNED MESSAGE-----\n"), &keys),
        Err(Error::Unsupported("x509"))
    );
    assert_eq!(verify(&s(""), &keys), Err(Error::Unsupported("empty")));
    let huge = format!(
        "-----BEGIN PGP SIGNATURE-----\n{}",
        "A".repeat(MAX_SIGNATURE_BYTES)
    );
    assert_eq!(verify(&s(&huge), &keys), Err(Error::TooLarge));
    assert!(matches!(
        verify(
            &s("-----BEGIN SSH SIGNATURE-----\nnot base64\n-----END SSH SIGNATURE-----"),
            &keys
        ),
        Err(Error::Unarmor(_))
    ));
}

#[test]
fn secret_keys_split_by_suffix_and_debug_shows_no_payload() {
    let data = BTreeMap::from([
        ("a.asc".to_string(), b"ring".to_vec()),
        ("b.sshpub".to_string(), b"ssh-ed25519 AAAA".to_vec()),
        ("legacy".to_string(), b"ring2".to_vec()),
    ]);
    let k = Keys::from_secret(&data);
    assert_eq!(k.key_rings, vec!["ring".to_string(), "ring2".to_string()]);
    assert_eq!(k.authorized_keys, vec!["ssh-ed25519 AAAA".to_string()]);
    let d = format!(
        "{:?}",
        Signed {
            signature: "-----BEGIN PGP SIGNATURE-----".into(),
            payload: b"secret payload".to_vec()
        }
    );
    assert!(!d.contains("secret payload"), "{d}");
}

#[test]
fn an_authorized_keys_line_that_is_not_a_key_is_reported() {
    let keys = Keys {
        key_rings: vec![],
        authorized_keys: vec!["# comment\nnot-a-key at all\n".into()],
    };
    let sig = Signed {
        signature: "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----".into(),
        payload: b"x".to_vec(),
    };
    // The armor is checked first: this one is too short to be a signature.
    assert!(matches!(verify(&sig, &keys), Err(Error::Unarmor(_))));
    assert!(parse_authorized_key("not-a-key at all").is_err());
    assert!(parse_authorized_key("").is_err());
}

#[test]
fn tag_objects_split_at_the_signature_line() {
    let raw = b"object abc\ntype commit\ntag v1\ntagger A <a@b> 1 +0000\n\nrelease\n-----BEGIN PGP SIGNATURE-----\n\nxyz\n-----END PGP SIGNATURE-----\n";
    let s = split_tag(raw).expect("signed");
    assert!(s.payload.ends_with(b"release\n"));
    assert!(s.signature.starts_with("-----BEGIN PGP SIGNATURE-----"));
    // A marker inside a line is not a signature.
    assert_eq!(
        split_tag(b"object abc\n\nsee -----BEGIN PGP SIGNATURE----- here\n"),
        None
    );
    assert_eq!(split_tag(b"object abc\n\nno signature\n"), None);
}
