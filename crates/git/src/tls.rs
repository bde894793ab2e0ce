//! Verification of an https server certificate against the `ca.crt` of a
//! Flux Git Secret. libgit2 only knows the process-wide trust store, so the
//! `certificate_check` callback verifies the leaf certificate it receives
//! against the Secret's CA bundle (chain and host name) with OpenSSL, the
//! library libgit2 already links for https.

use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::X509VerifyFlags;
use openssl::x509::{X509, X509StoreContext};

#[cfg(test)]
mod tests;

/// Errors verifying a server certificate.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// `ca.crt` holds no PEM certificate.
    #[error("'ca.crt' in secret is not a PEM certificate bundle: {reason}")]
    CaBundle {
        /// OpenSSL message.
        reason: String,
    },
    /// The server certificate does not parse.
    #[error("server certificate of '{host}' cannot be parsed: {reason}")]
    Leaf {
        /// Host name.
        host: String,
        /// OpenSSL message.
        reason: String,
    },
    /// Chain or host name verification failed.
    #[error("server certificate of '{host}' is not trusted by 'ca.crt': {reason}")]
    Untrusted {
        /// Host name.
        host: String,
        /// OpenSSL verify result.
        reason: String,
    },
}

/// Verify the DER leaf certificate `der` for `host` against the PEM bundle `ca`.
pub fn verify(der: &[u8], ca: &[u8], host: &str) -> Result<(), Error> {
    let cas = X509::stack_from_pem(ca).map_err(|e| Error::CaBundle {
        reason: e.to_string(),
    })?;
    if cas.is_empty() {
        return Err(Error::CaBundle {
            reason: "no certificate found".to_string(),
        });
    }
    let leaf = X509::from_der(der).map_err(|e| Error::Leaf {
        host: host.to_string(),
        reason: e.to_string(),
    })?;
    let untrusted = |reason: String| Error::Untrusted {
        host: host.to_string(),
        reason,
    };
    let mut builder = X509StoreBuilder::new().map_err(|e| untrusted(e.to_string()))?;
    for ca in cas {
        builder.add_cert(ca).map_err(|e| untrusted(e.to_string()))?;
    }
    // The Secret's CA may be an intermediate: accept a chain that ends there.
    builder
        .set_flags(X509VerifyFlags::PARTIAL_CHAIN)
        .map_err(|e| untrusted(e.to_string()))?;
    let mut param =
        openssl::x509::verify::X509VerifyParam::new().map_err(|e| untrusted(e.to_string()))?;
    if host.parse::<std::net::IpAddr>().is_ok() {
        let ip = host
            .parse::<std::net::IpAddr>()
            .map_err(|e| untrusted(e.to_string()))?;
        param.set_ip(ip).map_err(|e| untrusted(e.to_string()))?;
    } else {
        param.set_host(host).map_err(|e| untrusted(e.to_string()))?;
    }
    builder
        .set_param(&param)
        .map_err(|e| untrusted(e.to_string()))?;
    let store = builder.build();
    let chain = Stack::new().map_err(|e| untrusted(e.to_string()))?;
    let mut ctx = X509StoreContext::new().map_err(|e| untrusted(e.to_string()))?;
    let (ok, reason) = ctx
        .init(&store, &leaf, &chain, |c| {
            let ok = c.verify_cert()?;
            Ok((ok, c.error().error_string().to_string()))
        })
        .map_err(|e| untrusted(e.to_string()))?;
    if ok { Ok(()) } else { Err(untrusted(reason)) }
}
