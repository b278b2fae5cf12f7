//! Reaching the server: TCP, and TLS over it for `wss://` (rustls, with
//! the system's roots, a CA file, or no verification at all when asked).

use super::target::Target;
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// A byte stream to the server: TCP or TLS over TCP.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// Why no WebSocket was opened.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    /// TCP could not connect (refused, unreachable, no such host).
    #[error("cannot connect to {addr}: {why}")]
    Unreachable {
        /// `host:port`.
        addr: String,
        /// The system's words.
        why: String,
    },
    /// TLS failed (certificate, protocol).
    #[error("TLS with {addr} failed: {why}")]
    Tls {
        /// `host:port`.
        addr: String,
        /// rustls's words.
        why: String,
    },
    /// The request could not be written as asked (a bad header value).
    #[error("the request cannot be made: {0}")]
    Request(String),
    /// The server said nothing, or closed, or took too long.
    #[error("opening handshake: {0}")]
    Silent(String),
    /// The server answered, but not with a valid 101.
    #[error("opening handshake: {0}")]
    Refused(String),
}

/// Connects to `target` by `deadline`, with TLS when the URL says `wss://`.
pub async fn connect(
    target: &Target,
    tls: Option<&Arc<rustls::ClientConfig>>,
    deadline: Instant,
) -> Result<Box<dyn Stream>, ConnectError> {
    let unreachable = |why: String| ConnectError::Unreachable { addr: target.addr.clone(), why };
    let tcp = match tokio::time::timeout_at(deadline.into(), TcpStream::connect(&target.addr)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(unreachable(e.to_string())),
        Err(_) => return Err(unreachable("timed out".into())),
    };
    let _ = tcp.set_nodelay(true);
    if !target.tls {
        return Ok(Box::new(tcp));
    }
    let tls_error = |why: String| ConnectError::Tls { addr: target.addr.clone(), why };
    let config = match tls {
        Some(c) => Arc::clone(c),
        None => tls_config(None, false).map_err(tls_error)?,
    };
    let name = rustls::pki_types::ServerName::try_from(target.hostname.clone())
        .map_err(|e| tls_error(format!("{:?} is not a server name: {e}", target.hostname)))?;
    let connector = tokio_rustls::TlsConnector::from(config);
    match tokio::time::timeout_at(deadline.into(), connector.connect(name, tcp)).await {
        Ok(Ok(s)) => Ok(Box::new(s)),
        Ok(Err(e)) => Err(tls_error(e.to_string())),
        Err(_) => Err(tls_error("the TLS handshake timed out".into())),
    }
}

/// The TLS client configuration: the system's roots, plus the
/// certificates in `ca` (PEM), or no verification at all (`insecure`, for
/// a self-signed test server).
pub fn tls_config(ca: Option<&std::path::Path>, insecure: bool) -> Result<Arc<rustls::ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let config = if insecure {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(NoVerification(provider))).with_no_client_auth()
    } else {
        let mut roots = rustls::RootCertStore::empty();
        let system = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(system.certs);
        if let Some(path) = ca {
            use rustls::pki_types::pem::PemObject;
            let certs = rustls::pki_types::CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("{}: {e}", path.display()))?;
            if certs.is_empty() {
                return Err(format!("{} holds no PEM certificate", path.display()));
            }
            for cert in certs {
                roots.add(cert).map_err(|e| format!("{}: {e}", path.display()))?;
            }
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    Ok(Arc::new(config))
}

/// `--insecure`: any certificate is accepted (the handshake's signatures
/// are still checked).
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
