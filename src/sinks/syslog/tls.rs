//! The TLS client of the syslog sink (RFC 5425), on rustls.
//!
//! The receiver's certificate is checked against the CA file, or the system's store when
//! there is none, and its name against the host connected to unless `verify_hostname` is
//! off. A client certificate is sent when one is configured.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::aws_lc_rs;
use tokio_rustls::rustls::{
    self, CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use crate::config::SyslogTlsConfig;

/// Why the TLS client could not be set up. Messages name the file; never its content.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the CA file {path}: {source}")]
    CaFile {
        path: PathBuf,
        source: rustls_pki_types::pem::Error,
    },
    #[error("the CA file {path} holds no usable certificate")]
    NoCa { path: PathBuf },
    #[error("no CA certificates were found in the system's store; set tls.ca_file")]
    NoSystemRoots,
    #[error("cannot read the client certificate {path}: {source}")]
    CertFile {
        path: PathBuf,
        source: rustls_pki_types::pem::Error,
    },
    #[error("cannot read the private key {path}: {source}")]
    KeyFile {
        path: PathBuf,
        source: rustls_pki_types::pem::Error,
    },
    #[error("the client certificate and key cannot be used: {0}")]
    ClientAuth(rustls::Error),
    #[error("cannot set up certificate verification: {0}")]
    Verifier(String),
    #[error("{0:?} is not a DNS name or IP address to verify the certificate against")]
    ServerName(String),
}

/// The client configuration for `tls`, defaults when the table is absent.
pub fn client_config(tls: Option<&SyslogTlsConfig>) -> Result<Arc<ClientConfig>, TlsError> {
    let provider = Arc::new(aws_lc_rs::default_provider());
    let roots = Arc::new(match tls.and_then(|t| t.ca_file.as_deref()) {
        Some(path) => roots_from_file(path)?,
        None => system_roots()?,
    });
    let verifier = WebPkiServerVerifier::builder_with_provider(roots, Arc::clone(&provider))
        .build()
        .map_err(|e| TlsError::Verifier(e.to_string()))?;
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Verifier(e.to_string()))?;
    let builder = if tls.is_none_or(|t| t.verify_hostname) {
        builder.with_webpki_verifier(verifier)
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyName(verifier)))
    };
    let config = match tls.and_then(|t| t.cert_file.as_deref().zip(t.key_file.as_deref())) {
        Some((cert, key)) => builder
            .with_client_auth_cert(read_chain(cert)?, read_key(key)?)
            .map_err(TlsError::ClientAuth)?,
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// The name to verify: `server_name` when set, else the host of the address.
pub fn server_name(
    tls: Option<&SyslogTlsConfig>,
    host: &str,
) -> Result<ServerName<'static>, TlsError> {
    let name = tls
        .and_then(|t| t.server_name.clone())
        .unwrap_or_else(|| host.to_owned());
    ServerName::try_from(name.clone()).map_err(|_| TlsError::ServerName(name))
}

fn roots_from_file(path: &Path) -> Result<RootCertStore, TlsError> {
    let ca_error = |source| TlsError::CaFile {
        path: path.to_owned(),
        source,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(ca_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(ca_error)?;
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(certs);
    if roots.is_empty() {
        return Err(TlsError::NoCa {
            path: path.to_owned(),
        });
    }
    Ok(roots)
}

fn system_roots() -> Result<RootCertStore, TlsError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        return Err(TlsError::NoSystemRoots);
    }
    Ok(roots)
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let cert_error = |source| TlsError::CertFile {
        path: path.to_owned(),
        source,
    };
    CertificateDer::pem_file_iter(path)
        .map_err(cert_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(cert_error)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|source| TlsError::KeyFile {
        path: path.to_owned(),
        source,
    })
}

/// Checks the chain as usual but accepts a certificate for another name
/// (`verify_hostname = false`).
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified =
            self.0
                .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now);
        match verified {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tls(ca_file: &Path) -> SyslogTlsConfig {
        SyslogTlsConfig {
            ca_file: Some(ca_file.to_owned()),
            cert_file: None,
            key_file: None,
            verify_hostname: true,
            server_name: None,
        }
    }

    #[test]
    fn unreadable_or_empty_files_are_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let error = client_config(Some(&tls(&missing))).unwrap_err().to_string();
        assert!(error.contains("missing.pem"), "{error}");

        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let error = client_config(Some(&tls(&empty))).unwrap_err().to_string();
        assert!(error.contains("empty.pem"), "{error}");
    }

    #[test]
    fn server_names_come_from_the_override_or_the_host() {
        let mut config = tls(Path::new("/ca.pem"));
        assert_eq!(
            server_name(Some(&config), "127.0.0.1").unwrap(),
            ServerName::try_from("127.0.0.1").unwrap()
        );
        config.server_name = Some("logs.example.net".into());
        assert_eq!(
            server_name(Some(&config), "127.0.0.1").unwrap(),
            ServerName::try_from("logs.example.net").unwrap()
        );
        assert!(server_name(None, "not a name").is_err());
    }
}
