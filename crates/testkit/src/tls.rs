//! Test certificates made with rcgen: a CA, server certificates for
//! `127.0.0.1`/`localhost`, and client certificates for mTLS.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// A certificate and its private key, both PEM.
#[derive(Clone)]
pub struct CertPair {
    pub cert_pem: String,
    pub key_pem: String,
}

/// A throwaway certificate authority.
pub struct TestCa {
    cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl TestCa {
    /// A new CA named `common_name`.
    pub fn new(common_name: &str) -> TestCa {
        let key = KeyPair::generate().expect("generate CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).expect("self-sign CA");
        TestCa {
            cert_pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// The CA certificate (what a client trusts).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// A server certificate for `names` (DNS names or IP addresses).
    pub fn server_cert(&self, names: &[&str]) -> CertPair {
        self.leaf(
            names,
            ExtendedKeyUsagePurpose::ServerAuth,
            names.first().copied(),
        )
    }

    /// A client certificate for mTLS with this common name.
    pub fn client_cert(&self, common_name: &str) -> CertPair {
        self.leaf(&[], ExtendedKeyUsagePurpose::ClientAuth, Some(common_name))
    }

    /// A client certificate with this common name in `organization` (the
    /// group Kubernetes sees, such as `system:masters`).
    pub fn client_cert_in(&self, common_name: &str, organization: &str) -> CertPair {
        self.leaf_with(
            &[],
            ExtendedKeyUsagePurpose::ClientAuth,
            Some(common_name),
            Some(organization),
        )
    }

    fn leaf(&self, names: &[&str], usage: ExtendedKeyUsagePurpose, cn: Option<&str>) -> CertPair {
        self.leaf_with(names, usage, cn, None)
    }

    fn leaf_with(
        &self,
        names: &[&str],
        usage: ExtendedKeyUsagePurpose,
        cn: Option<&str>,
        org: Option<&str>,
    ) -> CertPair {
        let key = KeyPair::generate().expect("generate leaf key");
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(names).expect("leaf params");
        if let Some(cn) = cn {
            params.distinguished_name.push(DnType::CommonName, cn);
        }
        if let Some(org) = org {
            params
                .distinguished_name
                .push(DnType::OrganizationName, org);
        }
        params.extended_key_usages = vec![usage];
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        let cert = params.signed_by(&key, &self.issuer).expect("sign leaf");
        CertPair {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}
