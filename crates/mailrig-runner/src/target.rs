//! Where a run sends each session: one endpoint per scenario protocol, given as URLs
//! (`smtp://host:port`, `smtps://`, `imap://`, `imaps://`), and how TLS peers are trusted.

use std::fmt;
use std::sync::Arc;

use mailrig_transcript::scenario::Protocol;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls;

/// One server address and whether the connection starts with TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Host name or IP address (also the TLS server name).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Implicit TLS (`smtps://`, `imaps://`).
    pub implicit_tls: bool,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Why a target URL is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// The URL does not have the form `SCHEME://HOST:PORT`.
    #[error("`{0}` is not a target URL: expected SCHEME://HOST:PORT, e.g. imap://127.0.0.1:143")]
    Malformed(String),
    /// The scheme does not fit the option it was given to.
    #[error("`{url}`: expected {expected}")]
    Scheme {
        /// The URL as given.
        url: String,
        /// The schemes the option takes.
        expected: &'static str,
    },
    /// A CA file could not be used.
    #[error("cannot use CA file {path}: {reason}")]
    Ca {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// No system root certificates were found.
    #[error("no system root certificates found (tried $SSL_CERT_FILE, {0}); pass --ca FILE or --insecure")]
    NoSystemRoots(String),
}

impl Endpoint {
    /// Parses `SCHEME://HOST:PORT` (`[v6]:port` for IPv6), checking the scheme belongs to the
    /// protocol family of `for_protocol` (`smtp`/`smtps` for SMTP, `imap`/`imaps` for IMAP).
    pub fn parse(url: &str, for_protocol: Protocol) -> Result<Endpoint, TargetError> {
        let malformed = || TargetError::Malformed(url.to_owned());
        let (scheme, rest) = url.split_once("://").ok_or_else(malformed)?;
        let rest = rest.trim_end_matches('/');
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (host, port) = v6.split_once("]:").ok_or_else(malformed)?;
            (host, port)
        } else {
            rest.rsplit_once(':').ok_or_else(malformed)?
        };
        let port: u16 = port.parse().map_err(|_| malformed())?;
        if host.is_empty() || port == 0 {
            return Err(malformed());
        }
        let family = for_protocol.family();
        let (plain, tls, expected) = match family {
            mailrig_transcript::scenario::Family::Smtp => ("smtp", "smtps", "smtp:// or smtps://"),
            mailrig_transcript::scenario::Family::Imap => ("imap", "imaps", "imap:// or imaps://"),
        };
        let implicit_tls = match scheme.to_ascii_lowercase().as_str() {
            s if s == plain => false,
            s if s == tls => true,
            _ => {
                return Err(TargetError::Scheme {
                    url: url.to_owned(),
                    expected,
                });
            }
        };
        Ok(Endpoint {
            host: host.to_owned(),
            port,
            implicit_tls,
        })
    }

    /// The TLS server name: an IP address or a DNS name.
    pub fn server_name(&self) -> Result<ServerName<'static>, TargetError> {
        ServerName::try_from(self.host.clone()).map_err(|_| TargetError::Malformed(self.host.clone()))
    }
}

/// The endpoint of each scenario protocol a run can reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoints {
    /// `smtp` sessions (plaintext, STARTTLS possible).
    pub smtp: Option<Endpoint>,
    /// `submission` sessions.
    pub submission: Option<Endpoint>,
    /// `smtps` sessions (implicit TLS).
    pub smtps: Option<Endpoint>,
    /// `imap` sessions (plaintext, STARTTLS possible).
    pub imap: Option<Endpoint>,
    /// `imaps` sessions (implicit TLS).
    pub imaps: Option<Endpoint>,
}

impl Endpoints {
    /// The endpoint for sessions of `protocol`, if the run has one.
    pub fn get(&self, protocol: Protocol) -> Option<&Endpoint> {
        match protocol {
            Protocol::Smtp => self.smtp.as_ref(),
            Protocol::Submission => self.submission.as_ref(),
            Protocol::Smtps => self.smtps.as_ref(),
            Protocol::Imap => self.imap.as_ref(),
            Protocol::Imaps => self.imaps.as_ref(),
        }
    }

    /// Sets the endpoint for `protocol`.
    pub fn set(&mut self, protocol: Protocol, endpoint: Endpoint) {
        let slot = match protocol {
            Protocol::Smtp => &mut self.smtp,
            Protocol::Submission => &mut self.submission,
            Protocol::Smtps => &mut self.smtps,
            Protocol::Imap => &mut self.imap,
            Protocol::Imaps => &mut self.imaps,
        };
        *slot = Some(endpoint);
    }

    /// Why a scenario with these sessions cannot run here: the first protocol without an
    /// endpoint, named with the option that would give one.
    pub fn missing_for(&self, protocols: impl IntoIterator<Item = Protocol>) -> Option<String> {
        protocols.into_iter().find(|p| self.get(*p).is_none()).map(|p| {
            format!(
                "the run has no target for `{}` sessions (give --{} URL)",
                p.keyword(),
                p.keyword()
            )
        })
    }

    /// Whether no endpoint is set at all.
    pub fn is_empty(&self) -> bool {
        Protocol::ALL.iter().all(|p| self.get(*p).is_none())
    }
}

/// Which server certificates the runner accepts.
#[derive(Debug, Clone)]
pub enum Trust {
    /// Certificates that chain to these roots (a `--ca` file, or mailrig's own generated CA).
    Roots(Vec<CertificateDer<'static>>),
    /// Anything: no verification at all (`--insecure`). For servers under test with
    /// self-signed certificates only.
    Insecure,
}

impl Trust {
    /// The roots in a PEM file.
    pub fn ca_file(path: &std::path::Path) -> Result<Trust, TargetError> {
        let error = |reason: String| TargetError::Ca {
            path: path.display().to_string(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| error(e.to_string()))?;
        Trust::ca_pem(&bytes).map_err(error)
    }

    /// The roots in PEM text.
    pub fn ca_pem(pem: &[u8]) -> Result<Trust, String> {
        let certs = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        if certs.is_empty() {
            return Err("no PEM certificate in it".to_owned());
        }
        Ok(Trust::Roots(certs))
    }

    /// The system's root certificates, from `$SSL_CERT_FILE` or the usual bundle paths.
    pub fn system() -> Result<Trust, TargetError> {
        const BUNDLES: [&str; 3] = [
            "/etc/ssl/certs/ca-certificates.crt",
            "/etc/pki/tls/certs/ca-bundle.crt",
            "/etc/ssl/cert.pem",
        ];
        let from_env = std::env::var_os("SSL_CERT_FILE").map(std::path::PathBuf::from);
        for path in from_env.into_iter().chain(BUNDLES.iter().map(Into::into)) {
            if let Ok(bytes) = std::fs::read(&path)
                && let Ok(trust) = Trust::ca_pem(&bytes)
            {
                return Ok(trust);
            }
        }
        Err(TargetError::NoSystemRoots(BUNDLES.join(", ")))
    }

    /// A rustls client configuration that trusts accordingly (ring provider only).
    pub fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?;
        let config = match self {
            Trust::Roots(certs) => {
                let mut roots = rustls::RootCertStore::empty();
                for cert in certs {
                    roots.add(cert.clone()).map_err(|e| e.to_string())?;
                }
                builder.with_root_certificates(roots).with_no_client_auth()
            }
            Trust::Insecure => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(danger::AcceptAnything(provider)))
                .with_no_client_auth(),
        };
        Ok(Arc::new(config))
    }
}

/// `--insecure`: a verifier that accepts every certificate (signatures are still checked
/// for form, so the handshake itself is real).
mod danger {
    use std::sync::Arc;

    use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::client::danger::{
        HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
    };
    use tokio_rustls::rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
    use tokio_rustls::rustls::{DigitallySignedStruct, SignatureScheme};

    #[derive(Debug)]
    pub(super) struct AcceptAnything(pub(super) Arc<CryptoProvider>);

    impl ServerCertVerifier for AcceptAnything {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_with_their_tls_mode() {
        let e = Endpoint::parse("imaps://127.0.0.1:993", Protocol::Imap).expect("valid");
        assert_eq!(
            (e.host.as_str(), e.port, e.implicit_tls),
            ("127.0.0.1", 993, true)
        );
        let e = Endpoint::parse("smtp://[::1]:25", Protocol::Smtp).expect("valid");
        assert_eq!((e.host.as_str(), e.port, e.implicit_tls), ("::1", 25, false));
        assert_eq!(e.to_string(), "[::1]:25");
    }

    #[test]
    fn bad_urls_say_what_was_expected() {
        assert!(matches!(
            Endpoint::parse("imap://h:143", Protocol::Smtp),
            Err(TargetError::Scheme { .. })
        ));
        for bad in [
            "127.0.0.1:143",
            "imap://:143",
            "imap://h",
            "imap://h:0",
            "imap://h:99999",
        ] {
            assert!(
                matches!(
                    Endpoint::parse(bad, Protocol::Imap),
                    Err(TargetError::Malformed(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_missing_endpoint_is_named_with_its_option() {
        let mut endpoints = Endpoints::default();
        endpoints.set(
            Protocol::Imap,
            Endpoint::parse("imap://h:1", Protocol::Imap).expect("valid"),
        );
        assert_eq!(endpoints.missing_for([Protocol::Imap]), None);
        assert_eq!(
            endpoints.missing_for([Protocol::Imap, Protocol::Smtp]).as_deref(),
            Some("the run has no target for `smtp` sessions (give --smtp URL)")
        );
    }
}
