//! The `wss://` listener's TLS (security profiles 2 and 3).
//!
//! rustls on the `ring` provider, TLS 1.3 and 1.2 only. Client certificates are *optional* at
//! the TLS layer: a profile-2 charger has none and authenticates with its password, while a
//! presented certificate must chain to the client CA bundle or the TLS handshake fails. Whether
//! a charger *needs* a certificate is decided per charger in the HTTP handshake, where its
//! registered profile is known (see `handshake.rs`).
//!
//! The server certificate can be replaced while the listener runs ([`TlsReloader`]): new
//! handshakes get the new one, established connections keep theirs.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig};

/// Settings of the TLS (`wss://`) OCPP listener, which runs beside the plain one.
pub struct TlsConfig {
    /// Where chargers connect over TLS. Default `0.0.0.0:8443`.
    pub addr: SocketAddr,
    /// The server certificate first, then any intermediates.
    pub cert_chain: Vec<CertificateDer<'static>>,
    /// The server certificate's private key.
    pub key: PrivateKeyDer<'static>,
    /// CA certificates that charger client certificates must chain to (security profile 3).
    /// Empty: no client certificates are asked for, so profile-3 chargers cannot connect.
    pub client_ca: Vec<CertificateDer<'static>>,
}

impl TlsConfig {
    /// The default TLS listener address, `0.0.0.0:8443`.
    pub const DEFAULT_ADDR: SocketAddr =
        SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::UNSPECIFIED), 8443);

    /// Reads the certificate chain, its key and (optionally) the client CA bundle from PEM
    /// files, and checks that they form a usable server configuration.
    pub fn from_pem_files(
        addr: SocketAddr,
        cert_chain: &Path,
        key: &Path,
        client_ca: Option<&Path>,
    ) -> Result<Self, TlsError> {
        let config = Self {
            addr,
            cert_chain: read_certificates(cert_chain)?,
            key: read_key(key)?,
            client_ca: client_ca
                .map(read_certificates)
                .transpose()?
                .unwrap_or_default(),
        };
        server_config(&config)?;
        Ok(config)
    }
}

impl Clone for TlsConfig {
    fn clone(&self) -> Self {
        Self {
            addr: self.addr,
            cert_chain: self.cert_chain.clone(),
            key: self.key.clone_key(),
            client_ca: self.client_ca.clone(),
        }
    }
}

impl fmt::Debug for TlsConfig {
    // Never the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("addr", &self.addr)
            .field("cert_chain_len", &self.cert_chain.len())
            .field("client_ca_len", &self.client_ca.len())
            .finish_non_exhaustive()
    }
}

/// The TLS settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("{}: {detail}", path.display())]
    Pem { path: PathBuf, detail: String },
    #[error("client CA bundle: {0}")]
    ClientCa(String),
    #[error("TLS server configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

impl TlsError {
    fn pem(path: &Path, detail: impl fmt::Display) -> Self {
        Self::Pem {
            path: path.to_owned(),
            detail: detail.to_string(),
        }
    }
}

fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| TlsError::pem(path, error))?;
    if certs.is_empty() {
        return Err(TlsError::pem(path, "no CERTIFICATE block found"));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(&read(path)?).map_err(|error| TlsError::pem(path, error))
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

/// The rustls server configuration: TLS 1.3 and 1.2 with rustls' default (AEAD, forward-secret)
/// suites of the `ring` provider, client certificates optional; and the handle that replaces
/// its server certificate.
pub(crate) fn server_config(tls: &TlsConfig) -> Result<(Arc<ServerConfig>, TlsReloader), TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certificate = Arc::new(ServerCertificate {
        current: RwLock::new(certified_key(
            tls.cert_chain.clone(),
            tls.key.clone_key(),
            &provider,
        )?),
    });
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?;
    let builder = if tls.client_ca.is_empty() {
        builder.with_no_client_auth()
    } else {
        let mut roots = RootCertStore::empty();
        for ca in &tls.client_ca {
            roots
                .add(ca.clone())
                .map_err(|error| TlsError::ClientCa(error.to_string()))?;
        }
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                // Profile-2 chargers have no certificate; the handshake decides per charger.
                .allow_unauthenticated()
                .build()
                .map_err(|error| TlsError::ClientCa(error.to_string()))?;
        builder.with_client_cert_verifier(verifier)
    };
    let config = builder.with_cert_resolver(certificate.clone());
    Ok((
        Arc::new(config),
        TlsReloader {
            certificate,
            provider,
        },
    ))
}

/// The certificate chain and key, checked to belong together.
fn certified_key(
    cert_chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    provider: &CryptoProvider,
) -> Result<Arc<CertifiedKey>, TlsError> {
    if cert_chain.is_empty() {
        return Err(TlsError::Rustls(rustls::Error::General(
            "empty server certificate chain".into(),
        )));
    }
    Ok(Arc::new(CertifiedKey::from_der(cert_chain, key, provider)?))
}

/// The server certificate every new TLS handshake presents.
#[derive(Debug)]
struct ServerCertificate {
    current: RwLock<Arc<CertifiedKey>>,
}

impl ResolvesServerCert for ServerCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        )
    }
}

/// Replaces the TLS listener's server certificate without a restart (e.g. on SIGHUP after a
/// renewal). New handshakes present the new certificate; established connections are not
/// touched. A chain and key that do not belong together are refused and the old certificate
/// stays in use. (The client CA bundle is fixed for the listener's life.)
#[derive(Clone)]
pub struct TlsReloader {
    certificate: Arc<ServerCertificate>,
    provider: Arc<CryptoProvider>,
}

impl fmt::Debug for TlsReloader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsReloader").finish_non_exhaustive()
    }
}

impl TlsReloader {
    /// Switches to `cert_chain` (server certificate first) and its `key`.
    pub fn reload(
        &self,
        cert_chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<(), TlsError> {
        let next = certified_key(cert_chain, key, &self.provider)?;
        *self
            .certificate
            .current
            .write()
            .unwrap_or_else(PoisonError::into_inner) = next;
        Ok(())
    }

    /// Reads the chain and key from PEM files and switches to them.
    pub fn reload_pem_files(&self, cert_chain: &Path, key: &Path) -> Result<(), TlsError> {
        self.reload(read_certificates(cert_chain)?, read_key(key)?)
    }
}

/// The identity a verified client certificate claims: its subject's common name, when it has
/// exactly one (a certificate with several CNs names no single charger).
pub(crate) fn certificate_identity(certificate: &CertificateDer<'_>) -> Option<String> {
    let (_, parsed) = x509_parser::parse_x509_certificate(certificate).ok()?;
    let mut names = parsed.subject().iter_common_name();
    let name = names.next()?.as_str().ok()?.to_owned();
    names.next().is_none().then_some(name)
}
