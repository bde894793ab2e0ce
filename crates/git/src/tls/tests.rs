use super::*;
use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{BasicConstraints, SubjectAlternativeName};
use openssl::x509::{X509Builder, X509NameBuilder};

fn key() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("curve");
    PKey::from_ec_key(EcKey::generate(&group).expect("ec key")).expect("pkey")
}

fn cert(
    cn: &str,
    key: &PKey<Private>,
    issuer: Option<(&X509, &PKey<Private>)>,
    san: Option<&str>,
) -> X509 {
    let mut name = X509NameBuilder::new().expect("name");
    name.append_entry_by_text("CN", cn).expect("cn");
    let name = name.build();
    let mut b = X509Builder::new().expect("builder");
    b.set_version(2).expect("version");
    b.set_serial_number(
        &BigNum::from_u32(7)
            .expect("bn")
            .to_asn1_integer()
            .expect("serial"),
    )
    .expect("serial");
    b.set_subject_name(&name).expect("subject");
    b.set_not_before(&Asn1Time::days_from_now(0).expect("time"))
        .expect("nb");
    b.set_not_after(&Asn1Time::days_from_now(2).expect("time"))
        .expect("na");
    b.set_pubkey(key).expect("pubkey");
    match issuer {
        Some((ca, ca_key)) => {
            b.set_issuer_name(ca.subject_name()).expect("issuer");
            if let Some(san) = san {
                let ext = SubjectAlternativeName::new()
                    .dns(san)
                    .build(&b.x509v3_context(Some(ca), None))
                    .expect("san");
                b.append_extension(ext).expect("ext");
            }
            b.sign(ca_key, MessageDigest::sha256()).expect("sign");
        }
        None => {
            b.set_issuer_name(&name).expect("issuer");
            b.append_extension(BasicConstraints::new().critical().ca().build().expect("bc"))
                .expect("ext");
            b.sign(key, MessageDigest::sha256()).expect("sign");
        }
    }
    b.build()
}

#[test]
fn verify_table() {
    let ca_key = key();
    let ca = cert("test ca", &ca_key, None, None);
    let other_key = key();
    let other = cert("other ca", &other_key, None, None);
    let leaf = cert(
        "git.example.com",
        &key(),
        Some((&ca, &ca_key)),
        Some("git.example.com"),
    );
    let der = leaf.to_der().expect("der");
    let ca_pem = ca.to_pem().expect("pem");
    let other_pem = other.to_pem().expect("pem");

    assert_eq!(verify(&der, &ca_pem, "git.example.com"), Ok(()));
    let wrong_host = verify(&der, &ca_pem, "evil.example.com").expect_err("host");
    assert!(
        matches!(wrong_host, Error::Untrusted { .. }),
        "{wrong_host}"
    );
    assert!(wrong_host.to_string().contains("evil.example.com"));
    let wrong_ca = verify(&der, &other_pem, "git.example.com").expect_err("ca");
    assert!(matches!(wrong_ca, Error::Untrusted { .. }), "{wrong_ca}");
    let bad_bundle = verify(&der, b"nope", "git.example.com").expect_err("bundle");
    assert!(matches!(bad_bundle, Error::CaBundle { .. }), "{bad_bundle}");
}
