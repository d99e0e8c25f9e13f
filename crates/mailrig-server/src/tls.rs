//! Certificates and TLS configuration: a test CA and a `localhost` leaf made at start with
//! rcgen, or a certificate chain and key loaded from PEM files.
//!
//! The leaf names `localhost`, `127.0.0.1` and `::1`: several clients check only DNS names,
//! so both kinds of SAN are needed. Configs always use the ring provider explicitly, so a
//! second provider elsewhere in a build can never make `builder()` panic.

use std::path::Path;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls;

/// The names the generated leaf certificate is valid for.
pub const LEAF_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// A TLS identity for mailrig's servers, and the CA that clients should trust.
#[derive(Debug, Clone)]
pub struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: Arc<PrivateKeyDer<'static>>,
    ca_pem: String,
}

/// Why a TLS identity could not be made or loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// rcgen could not generate a certificate.
    #[error("cannot generate a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// A PEM file could not be read or parsed.
    #[error("cannot load {path}: {reason}")]
    Load {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// rustls rejected the certificate or key.
    #[error("invalid TLS certificate or key: {0}")]
    Rustls(#[from] rustls::Error),
}

impl Identity {
    /// Generates a fresh CA and a leaf certificate for [`LEAF_NAMES`], signed by it.
    pub fn generate() -> Result<Identity, TlsError> {
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "mailrig test CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;

        let mut leaf_params = CertificateParams::new(LEAF_NAMES.map(String::from).to_vec())?;
        leaf_params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        leaf_params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        let leaf_key = KeyPair::generate()?;
        let leaf = leaf_params.signed_by(&leaf_key, &ca)?;

        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        Ok(Identity {
            chain: vec![leaf.der().clone(), ca.der().clone()],
            key: Arc::new(key),
            ca_pem: ca.pem(),
        })
    }

    /// Loads a certificate chain and private key from PEM files. `ca` (the PEM handed to
    /// clients) defaults to the last certificate of the chain.
    pub fn from_pem_files(cert: &Path, key: &Path, ca: Option<&Path>) -> Result<Identity, TlsError> {
        let load = |path: &Path, reason: String| TlsError::Load {
            path: path.display().to_string(),
            reason,
        };
        let chain = CertificateDer::pem_file_iter(cert)
            .map_err(|e| load(cert, e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| load(cert, e.to_string()))?;
        let Some(last) = chain.last() else {
            return Err(load(cert, "no certificate in the file".to_owned()));
        };
        let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| load(key, e.to_string()))?;
        let ca_pem = match ca {
            Some(path) => std::fs::read_to_string(path).map_err(|e| load(path, e.to_string()))?,
            None => pem_encode(last.as_ref()),
        };
        Ok(Identity {
            chain,
            key: Arc::new(key_der),
            ca_pem,
        })
    }

    /// The CA certificate clients should trust, PEM-encoded.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A rustls server configuration for this identity (ring provider, TLS 1.2 and 1.3).
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), self.key.clone_key())?;
        Ok(Arc::new(config))
    }
}

/// PEM-encodes one DER certificate.
fn pem_encode(der: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::new();
    for chunk in der.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                b64.push('=');
            }
        }
    }
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_identity_makes_a_server_config_and_a_parseable_ca() {
        let identity = Identity::generate().expect("generate");
        identity.server_config().expect("server config");
        let ca = CertificateDer::from_pem_slice(identity.ca_pem().as_bytes()).expect("CA PEM parses");
        assert_eq!(&ca, &identity.chain[1]);
    }

    #[test]
    fn pem_encoding_round_trips() {
        let identity = Identity::generate().expect("generate");
        let pem = pem_encode(identity.chain[0].as_ref());
        let back = CertificateDer::from_pem_slice(pem.as_bytes()).expect("parses");
        assert_eq!(back, identity.chain[0]);
    }
}
