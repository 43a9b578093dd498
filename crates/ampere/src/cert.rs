//! `ampere cert`: the operator's own small PKI for security profiles 2 and 3, without outside
//! tools. One CA (`init-ca`) signs the server certificate of the TLS listener (`server`) and
//! the chargers' client certificates (`charger ID`, subject CN = identity); `list` shows what
//! expires when.
//!
//! Everything lives in one directory, `<data-dir>/pki/` by default:
//!
//! ```text
//! ca.pem  ca.key.pem                   the operator CA (--tls-client-ca, and the charger's CSMS root)
//! server.pem  server.key.pem           the TLS listener (--tls-cert, --tls-key)
//! chargers/ID.pem  chargers/ID.key.pem one client certificate per charger
//! ```
//!
//! Keys are ECDSA P-256 (rcgen on `ring`, which cannot generate RSA keys), written with mode
//! 0600 in a 0700 directory.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail, ensure};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use time::OffsetDateTime;

use ampere_domain::ChargerId;
use ampere_domain::certificates::{CsrSubject, MIN_RSA_BITS, PublicKeyKind};
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::prelude::FromDer;

use crate::config::Config;

const CA_CERT: &str = "ca.pem";
const CA_KEY: &str = "ca.key.pem";
const SERVER_CERT: &str = "server.pem";
const SERVER_KEY: &str = "server.key.pem";
const CHARGERS: &str = "chargers";
/// Certificates are dated this far back, so that a charger whose clock runs a little slow
/// does not see a brand-new certificate as not yet valid.
const BACKDATE: time::Duration = time::Duration::hours(1);
/// `list` flags certificates that expire within this many days.
const RENEW_WITHIN_DAYS: i64 = 30;

#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Create the operator CA (key and self-signed certificate).
    InitCa {
        #[command(flatten)]
        dir: PkiDir,
        /// The CA's name (subject common name).
        #[arg(long, default_value = "Ampere operator CA")]
        name: String,
        /// Validity in days.
        #[arg(long, default_value_t = 3650)]
        days: u32,
        /// Replace an existing CA (every certificate it issued stops being trusted).
        #[arg(long)]
        force: bool,
    },
    /// Issue the TLS listener's server certificate, signed by the CA.
    Server {
        #[command(flatten)]
        dir: PkiDir,
        /// DNS name chargers use to reach the server (repeatable).
        #[arg(long, required_unless_present = "ip")]
        dns: Vec<String>,
        /// IP address chargers use to reach the server (repeatable).
        #[arg(long)]
        ip: Vec<IpAddr>,
        /// Validity in days.
        #[arg(long, default_value_t = 397)]
        days: u32,
    },
    /// Issue a charger's client certificate (security profile 3), subject CN = its identity.
    Charger {
        /// The charger identity, as in its URL `/ocpp/{identity}`.
        id: String,
        #[command(flatten)]
        dir: PkiDir,
        /// Validity in days.
        #[arg(long, default_value_t = 730)]
        days: u32,
    },
    /// List the certificates in the PKI directory, soonest expiry first.
    List {
        #[command(flatten)]
        dir: PkiDir,
    },
}

#[derive(Debug, Clone, Args)]
pub struct PkiDir {
    /// The PKI directory; default `<data-dir>/pki`.
    #[arg(long = "out", value_name = "DIR")]
    out: Option<PathBuf>,
}

impl PkiDir {
    fn resolve(&self, config: &Config) -> PathBuf {
        self.out
            .clone()
            .unwrap_or_else(|| config.data_dir.join("pki"))
    }
}

pub fn run(config: &Config, command: CertCommand) -> anyhow::Result<()> {
    match command {
        CertCommand::InitCa {
            dir,
            name,
            days,
            force,
        } => {
            let dir = dir.resolve(config);
            init_ca(&dir, &name, days, force)?;
            println!("created the operator CA in {}", dir.display());
            println!("  certificate: {}", dir.join(CA_CERT).display());
            println!(
                "  key:         {} (keep it secret)",
                dir.join(CA_KEY).display()
            );
        }
        CertCommand::Server { dir, dns, ip, days } => {
            let dir = dir.resolve(config);
            let not_after = issue_server(&dir, &dns, &ip, days)?;
            println!("issued the server certificate (valid until {not_after})");
            println!("serve with:");
            println!(
                "  --tls-cert {} --tls-key {} --tls-client-ca {}",
                dir.join(SERVER_CERT).display(),
                dir.join(SERVER_KEY).display(),
                dir.join(CA_CERT).display()
            );
        }
        CertCommand::Charger { id, dir, days } => {
            let dir = dir.resolve(config);
            let id = ChargerId::new(id).context("invalid charger identity")?;
            let (cert, key, not_after) = issue_charger(&dir, &id, days)?;
            println!("issued the client certificate of {id} (valid until {not_after})");
            println!("  certificate: {}", cert.display());
            println!("  key:         {}", key.display());
            println!(
                "install {} on the charger as its CSMS root certificate",
                dir.join(CA_CERT).display()
            );
        }
        CertCommand::List { dir } => {
            let dir = dir.resolve(config);
            let entries = list(&dir)?;
            ensure!(
                !entries.is_empty(),
                "no certificates in {} (start with `ampere cert init-ca`)",
                dir.display()
            );
            let now = Utc::now();
            println!(
                "{:<40} {:<32} {:<22} {:>9}",
                "FILE", "SUBJECT CN", "NOT AFTER (UTC)", "DAYS LEFT"
            );
            for entry in entries {
                let days_left = (entry.not_after - now).num_days();
                let note = if entry.not_after <= now {
                    "  EXPIRED"
                } else if days_left < RENEW_WITHIN_DAYS {
                    "  renew soon"
                } else {
                    ""
                };
                println!(
                    "{:<40} {:<32} {:<22} {:>9}{note}",
                    entry.file.display(),
                    entry.subject,
                    entry.not_after.format("%Y-%m-%d %H:%M:%S"),
                    days_left,
                );
            }
        }
    }
    Ok(())
}

/// Creates the CA key and self-signed certificate in `dir`.
pub fn init_ca(dir: &Path, name: &str, days: u32, force: bool) -> anyhow::Result<()> {
    if !force && (dir.join(CA_CERT).exists() || dir.join(CA_KEY).exists()) {
        bail!(
            "{} already holds a CA; --force replaces it (certificates it issued stop being trusted)",
            dir.display()
        );
    }
    create_private_dir(dir)?;
    let mut params = validity(days)?;
    params.distinguished_name = common_name(name);
    // Path length 0: this CA signs end-entity certificates only, never another CA.
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate().context("cannot generate the CA key")?;
    let cert = params
        .self_signed(&key)
        .context("cannot sign the CA certificate")?;
    write_file(&dir.join(CA_KEY), &key.serialize_pem(), true)?;
    write_file(&dir.join(CA_CERT), &cert.pem(), false)?;
    Ok(())
}

/// Issues the server certificate for `dns` names and `ips`; returns its expiry.
pub fn issue_server(
    dir: &Path,
    dns: &[String],
    ips: &[IpAddr],
    days: u32,
) -> anyhow::Result<DateTime<Utc>> {
    ensure!(
        !dns.is_empty() || !ips.is_empty(),
        "name the server: --dns NAME and/or --ip IP"
    );
    let issuer = load_ca(dir)?;
    let mut params = validity(days)?;
    let first = dns.first().cloned().unwrap_or_else(|| ips[0].to_string());
    params.distinguished_name = common_name(&first);
    for name in dns {
        let name = name
            .clone()
            .try_into()
            .with_context(|| format!("invalid DNS name {name:?}"))?;
        params.subject_alt_names.push(SanType::DnsName(name));
    }
    params
        .subject_alt_names
        .extend(ips.iter().copied().map(SanType::IpAddress));
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    let not_after = params.not_after;
    issue(
        &params,
        &issuer,
        &dir.join(SERVER_CERT),
        &dir.join(SERVER_KEY),
    )?;
    Ok(to_chrono(not_after))
}

/// Issues a charger's client certificate (CN = identity); returns the certificate and key
/// paths and the expiry.
pub fn issue_charger(
    dir: &Path,
    id: &ChargerId,
    days: u32,
) -> anyhow::Result<(PathBuf, PathBuf, DateTime<Utc>)> {
    let issuer = load_ca(dir)?;
    let mut params = validity(days)?;
    params.distinguished_name = common_name(id.as_str());
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    let chargers = dir.join(CHARGERS);
    create_private_dir(&chargers)?;
    let stem = file_stem(id.as_str());
    let cert = chargers.join(format!("{stem}.pem"));
    let key = chargers.join(format!("{stem}.key.pem"));
    let not_after = params.not_after;
    issue(&params, &issuer, &cert, &key)?;
    Ok((cert, key, to_chrono(not_after)))
}

/// One certificate found by `list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Relative to the PKI directory.
    pub file: PathBuf,
    pub subject: String,
    pub not_after: DateTime<Utc>,
}

/// The certificates in `dir` (CA, server, chargers), soonest expiry first.
pub fn list(dir: &Path) -> anyhow::Result<Vec<Listed>> {
    let mut files: Vec<PathBuf> = [CA_CERT, SERVER_CERT]
        .iter()
        .map(PathBuf::from)
        .filter(|file| dir.join(file).exists())
        .collect();
    let chargers = dir.join(CHARGERS);
    if chargers.is_dir() {
        for entry in fs::read_dir(&chargers)
            .with_context(|| format!("cannot read {}", chargers.display()))?
        {
            let name = entry?.file_name();
            let name = name.to_string_lossy();
            if name.ends_with(".pem") && !name.ends_with(".key.pem") {
                files.push(Path::new(CHARGERS).join(name.as_ref()));
            }
        }
    }
    let mut listed = Vec::with_capacity(files.len());
    for file in files {
        let path = dir.join(&file);
        let pem = fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).map_err(|error| {
            anyhow::anyhow!("{}: not a PEM certificate: {error}", path.display())
        })?;
        let certificate = pem
            .parse_x509()
            .map_err(|error| anyhow::anyhow!("{}: invalid certificate: {error}", path.display()))?;
        let subject = certificate
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .unwrap_or("-")
            .to_owned();
        let not_after = DateTime::from_timestamp(certificate.validity().not_after.timestamp(), 0)
            .context("expiry out of range")?;
        listed.push(Listed {
            file,
            subject,
            not_after,
        });
    }
    listed.sort_by(|a, b| (a.not_after, &a.file).cmp(&(b.not_after, &b.file)));
    Ok(listed)
}

/// The CA as an issuer: its certificate's subject and key identifier, and its key.
fn load_ca(dir: &Path) -> anyhow::Result<Issuer<'static, KeyPair>> {
    let read = |name: &str| {
        let path = dir.join(name);
        fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read {} (create the CA with `ampere cert init-ca`)",
                path.display()
            )
        })
    };
    let key = KeyPair::from_pem(&read(CA_KEY)?).context("invalid CA key")?;
    Issuer::from_ca_cert_pem(&read(CA_CERT)?, key).context("invalid CA certificate")
}

/// Generates a key, signs `params` with it by `issuer`, and writes both.
fn issue(
    params: &CertificateParams,
    issuer: &Issuer<'static, KeyPair>,
    cert_path: &Path,
    key_path: &Path,
) -> anyhow::Result<()> {
    let key = KeyPair::generate().context("cannot generate a key")?;
    let cert = params
        .signed_by(&key, issuer)
        .context("cannot sign the certificate")?;
    write_file(key_path, &key.serialize_pem(), true)?;
    write_file(cert_path, &cert.pem(), false)?;
    Ok(())
}

fn validity(days: u32) -> anyhow::Result<CertificateParams> {
    ensure!(days > 0, "--days must be at least 1");
    let now = OffsetDateTime::now_utc();
    let mut params = CertificateParams::default();
    params.not_before = now - BACKDATE;
    params.not_after = now + time::Duration::days(i64::from(days));
    Ok(params)
}

fn common_name(name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    dn
}

fn to_chrono(at: OffsetDateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(at.unix_timestamp(), 0).unwrap_or_default()
}

/// A file name for a charger identity: letters, digits, `-`, `_` and `.` kept, anything else
/// (e.g. `/` or a space) as `%XX`, so that every identity has its own, safe name.
fn file_stem(id: &str) -> String {
    let mut stem = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.') {
            stem.push(char::from(byte));
        } else {
            stem.push_str(&format!("%{byte:02X}"));
        }
    }
    stem
}

fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

/// Writes `contents` to `path` through a temporary file and a rename, so a crash never leaves
/// half a key. Private files get mode 0600 from their creation on.
fn write_file(path: &Path, contents: &str, private: bool) -> anyhow::Result<()> {
    let tmp = path.with_file_name(format!(
        ".{}.tmp",
        path.file_name().unwrap_or_default().to_string_lossy()
    ));
    let _ = fs::remove_file(&tmp);
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, if private { 0o600 } else { 0o644 });
    let written = (|| {
        let mut file = options.open(&tmp)?;
        file.write_all(contents.as_bytes())?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written.with_context(|| format!("cannot write {}", path.display()))
}

/// Reads certificate signing requests with an X.509 parser, for the domain's checks.
pub struct CsrParser;

impl ampere_domain::certificates::CsrInspector for CsrParser {
    fn inspect(&self, csr_pem: &str) -> Result<CsrSubject, String> {
        let der = csr_der(csr_pem)?;
        let (_, csr) = X509CertificationRequest::from_der(&der)
            .map_err(|e| format!("the CSR cannot be parsed: {e}"))?;
        let info = &csr.certification_request_info;
        let key = key_kind(&info.subject_pki);
        if csr.verify_signature().is_err() {
            // ring does not verify signatures of RSA keys under 2048 bits at all: name the
            // real problem.
            return Err(match key {
                PublicKeyKind::Rsa { bits } if bits < MIN_RSA_BITS => {
                    format!("RSA key of {bits} bits; at least {MIN_RSA_BITS} are required")
                }
                _ => "the CSR signature does not verify".to_owned(),
            });
        }
        let text = |attr: Option<&x509_parser::x509::AttributeTypeAndValue<'_>>| {
            attr.and_then(|a| a.as_str().ok()).map(str::to_owned)
        };
        Ok(CsrSubject {
            common_name: text(info.subject.iter_common_name().next()),
            organisation: text(info.subject.iter_organization().next()),
            key,
        })
    }
}

fn csr_der(csr_pem: &str) -> Result<Vec<u8>, String> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(csr_pem.trim().as_bytes())
        .map_err(|_| "the CSR is not PEM".to_owned())?;
    if pem.label != "CERTIFICATE REQUEST" && pem.label != "NEW CERTIFICATE REQUEST" {
        return Err(format!("expected a CERTIFICATE REQUEST, got {}", pem.label));
    }
    Ok(pem.contents)
}

/// Parses a DER request and checks its self-signature.
fn parse_csr(der: &[u8]) -> Result<X509CertificationRequest<'_>, String> {
    let (_, csr) = X509CertificationRequest::from_der(der)
        .map_err(|e| format!("the CSR cannot be parsed: {e}"))?;
    csr.verify_signature()
        .map_err(|_| "the CSR signature does not verify".to_owned())?;
    Ok(csr)
}

fn key_kind(spki: &x509_parser::x509::SubjectPublicKeyInfo<'_>) -> PublicKeyKind {
    use x509_parser::oid_registry::{
        OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_PKCS1_RSAENCRYPTION,
    };
    let algorithm = &spki.algorithm.algorithm;
    if *algorithm == OID_PKCS1_RSAENCRYPTION {
        let bits = match spki.parsed() {
            Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => modulus_bits(rsa.modulus),
            _ => 0,
        };
        PublicKeyKind::Rsa { bits }
    } else if *algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok());
        let curve = match curve {
            Some(oid) if oid == OID_EC_P256 => "P-256".to_owned(),
            Some(oid) if oid == OID_NIST_EC_P384 => "P-384".to_owned(),
            Some(oid) => oid.to_id_string(),
            None => "unnamed".to_owned(),
        };
        PublicKeyKind::Ec { curve }
    } else {
        PublicKeyKind::Other(algorithm.to_id_string())
    }
}

/// Bits of a big-endian modulus, leading zero bytes and bits not counted.
fn modulus_bits(modulus: &[u8]) -> u32 {
    let significant = modulus
        .iter()
        .position(|b| *b != 0)
        .map_or(&[][..], |i| &modulus[i..]);
    match significant.first() {
        Some(first) => (significant.len() as u32 - 1) * 8 + (8 - first.leading_zeros()),
        None => 0,
    }
}

/// A certificate issued for a charger's request.
#[derive(Debug, Clone)]
pub struct SignedCertificate {
    /// The PEM chain for CertificateSigned, leaf first.
    pub chain_pem: String,
    pub serial: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
}

/// The public key of a request, as rcgen needs it to sign a certificate for it.
struct RequestedKey {
    spki_bits: Vec<u8>,
    algorithm: &'static rcgen::SignatureAlgorithm,
}

impl rcgen::PublicKeyData for RequestedKey {
    fn der_bytes(&self) -> &[u8] {
        &self.spki_bits
    }
    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        self.algorithm
    }
}

/// The operator CA, loaded for signing chargers' requests.
pub struct OperatorCa {
    issuer: Issuer<'static, KeyPair>,
}

impl OperatorCa {
    pub fn load(cert: &Path, key: &Path) -> anyhow::Result<Self> {
        let read = |path: &Path| {
            fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
        };
        let key = KeyPair::from_pem(&read(key)?).context("invalid CA key")?;
        let issuer =
            Issuer::from_ca_cert_pem(&read(cert)?, key).context("invalid CA certificate")?;
        Ok(Self { issuer })
    }

    /// Signs a charger's request (checked by the domain before) as a client certificate
    /// valid for `days`. Only the subject's CN and O and the public key are taken from the
    /// request: extensions a charger asks for (e.g. CA rights) are never copied.
    pub fn sign_csr(&self, csr_pem: &str, days: u32) -> anyhow::Result<SignedCertificate> {
        use x509_parser::oid_registry::{OID_EC_P256, OID_NIST_EC_P384, OID_PKCS1_RSAENCRYPTION};
        let der = csr_der(csr_pem).map_err(anyhow::Error::msg)?;
        let csr = parse_csr(&der).map_err(anyhow::Error::msg)?;
        let info = &csr.certification_request_info;
        let spki = &info.subject_pki;
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok());
        let algorithm = if spki.algorithm.algorithm == OID_PKCS1_RSAENCRYPTION {
            &rcgen::PKCS_RSA_SHA256
        } else if curve.as_ref() == Some(&OID_EC_P256) {
            &rcgen::PKCS_ECDSA_P256_SHA256
        } else if curve.as_ref() == Some(&OID_NIST_EC_P384) {
            &rcgen::PKCS_ECDSA_P384_SHA384
        } else {
            bail!("unsupported key type in the CSR");
        };
        let key = RequestedKey {
            spki_bits: spki.subject_public_key.data.to_vec(),
            algorithm,
        };
        let mut params = validity(days)?;
        let mut dn = DistinguishedName::new();
        if let Some(cn) = info
            .subject
            .iter_common_name()
            .next()
            .and_then(|a| a.as_str().ok())
        {
            dn.push(DnType::CommonName, cn);
        }
        if let Some(o) = info
            .subject
            .iter_organization()
            .next()
            .and_then(|a| a.as_str().ok())
        {
            dn.push(DnType::OrganizationName, o);
        }
        params.distinguished_name = dn;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        let mut serial = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut serial);
        serial[0] &= 0x7f; // a positive INTEGER
        serial[0] |= 0x01; // and no leading zero byte, so its text form is stable
        params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
        let (not_before, not_after) = (params.not_before, params.not_after);
        let cert = params
            .signed_by(&key, &self.issuer)
            .context("cannot sign the certificate")?;
        Ok(SignedCertificate {
            chain_pem: cert.pem(),
            serial: serial.iter().map(|b| format!("{b:02x}")).collect(),
            not_before: to_chrono(not_before),
            not_after: to_chrono(not_after),
        })
    }
}

/// Reads the serial and validity of the first certificate of a PEM chain (what an external
/// CA hook printed).
pub fn describe_chain(chain_pem: &str) -> anyhow::Result<SignedCertificate> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(chain_pem.trim_start().as_bytes())
        .map_err(|e| anyhow::anyhow!("not a PEM certificate: {e}"))?;
    let certificate = pem
        .parse_x509()
        .map_err(|e| anyhow::anyhow!("invalid certificate: {e}"))?;
    let validity = certificate.validity();
    let at = |t: x509_parser::time::ASN1Time| {
        DateTime::from_timestamp(t.timestamp(), 0).context("date out of range")
    };
    Ok(SignedCertificate {
        chain_pem: chain_pem.to_owned(),
        serial: certificate.raw_serial_as_string().replace(':', ""),
        not_before: at(validity.not_before)?,
        not_after: at(validity.not_after)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(path: &Path) -> Vec<u8> {
        let pem = fs::read(path).unwrap();
        x509_parser::pem::parse_x509_pem(&pem).unwrap().1.contents
    }

    #[test]
    fn ca_signs_server_and_charger_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let pki = dir.path().join("pki");
        init_ca(&pki, "Test CA", 30, false).unwrap();
        issue_server(
            &pki,
            &["csms.example".into()],
            &["127.0.0.1".parse().unwrap()],
            10,
        )
        .unwrap();
        let id = ChargerId::new("CP/7 x").unwrap();
        let (cert, _, _) = issue_charger(&pki, &id, 20).unwrap();
        assert_eq!(cert, pki.join("chargers/CP%2F7%20x.pem"));

        let ca_der = parse(&pki.join(CA_CERT));
        let (_, ca) = x509_parser::parse_x509_certificate(&ca_der).unwrap();
        assert!(ca.is_ca());
        for (file, cn, usage) in [
            (pki.join(SERVER_CERT), "csms.example", "server"),
            (cert.clone(), "CP/7 x", "client"),
        ] {
            let der = parse(&file);
            let (_, leaf) = x509_parser::parse_x509_certificate(&der).unwrap();
            leaf.verify_signature(Some(ca.public_key()))
                .expect("signed by the CA");
            assert_eq!(leaf.issuer(), ca.subject());
            let name = leaf.subject().iter_common_name().next().unwrap();
            assert_eq!(name.as_str().unwrap(), cn);
            assert!(!leaf.is_ca());
            let eku = leaf.extended_key_usage().unwrap().unwrap().value;
            assert_eq!(
                (eku.server_auth, eku.client_auth),
                (usage == "server", usage == "client")
            );
        }

        let listed = list(&pki).unwrap();
        let files: Vec<_> = listed.iter().map(|l| l.file.clone()).collect();
        assert_eq!(
            files,
            [
                PathBuf::from(SERVER_CERT),
                PathBuf::from("chargers/CP%2F7%20x.pem"),
                PathBuf::from(CA_CERT)
            ],
            "soonest expiry first"
        );
        let days = (listed[0].not_after - Utc::now()).num_days();
        assert!((9..=10).contains(&days), "{days}");
    }

    #[cfg(unix)]
    #[test]
    fn keys_are_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let pki = dir.path().join("pki");
        init_ca(&pki, "Test CA", 30, false).unwrap();
        issue_server(&pki, &["localhost".into()], &[], 10).unwrap();
        let (_, key, _) = issue_charger(&pki, &ChargerId::new("CP-1").unwrap(), 10).unwrap();
        let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
        for private in [pki.join(CA_KEY), pki.join(SERVER_KEY), key] {
            assert_eq!(mode(&private), 0o600, "{}", private.display());
        }
        assert_eq!(mode(&pki), 0o700);
    }

    #[test]
    fn an_existing_ca_is_kept_unless_forced() {
        let dir = tempfile::tempdir().unwrap();
        init_ca(dir.path(), "First", 30, false).unwrap();
        let first = fs::read(dir.path().join(CA_CERT)).unwrap();
        assert!(init_ca(dir.path(), "Second", 30, false).is_err());
        assert_eq!(fs::read(dir.path().join(CA_CERT)).unwrap(), first);
        init_ca(dir.path(), "Second", 30, true).unwrap();
        assert_ne!(fs::read(dir.path().join(CA_CERT)).unwrap(), first);
    }

    #[test]
    fn a_csr_is_read_and_signed_without_the_extensions_it_asks_for() {
        use ampere_domain::certificates::CsrInspector as _;
        let dir = tempfile::tempdir().unwrap();
        init_ca(dir.path(), "Test CA", 30, false).unwrap();
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::default();
        params.distinguished_name = common_name("CP-9");
        params
            .distinguished_name
            .push(DnType::OrganizationName, "ACME");
        // A request that asks to be a CA: it must not get that.
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let csr = params.serialize_request(&key).unwrap().pem().unwrap();

        let subject = CsrParser.inspect(&csr).unwrap();
        assert_eq!(subject.common_name.as_deref(), Some("CP-9"));
        assert_eq!(subject.organisation.as_deref(), Some("ACME"));
        assert_eq!(
            subject.key,
            PublicKeyKind::Ec {
                curve: "P-256".into()
            }
        );
        let mut tampered = csr.clone().into_bytes();
        let middle = tampered.len() / 2;
        tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
        assert!(
            CsrParser
                .inspect(&String::from_utf8(tampered).unwrap())
                .is_err()
        );
        assert!(CsrParser.inspect("not pem").is_err());

        let ca = OperatorCa::load(&dir.path().join(CA_CERT), &dir.path().join(CA_KEY)).unwrap();
        let signed = ca.sign_csr(&csr, 10).unwrap();
        let (_, pem) = x509_parser::pem::parse_x509_pem(signed.chain_pem.as_bytes()).unwrap();
        let leaf = pem.parse_x509().unwrap();
        assert!(!leaf.is_ca());
        assert_eq!(leaf.raw_serial_as_string().replace(':', ""), signed.serial);
        let csr_der = csr_der(&csr).unwrap();
        let (_, request) = X509CertificationRequest::from_der(&csr_der).unwrap();
        assert_eq!(
            leaf.public_key().raw,
            request.certification_request_info.subject_pki.raw,
            "the certificate is for the requester's key"
        );
        let ca_der = parse(&dir.path().join(CA_CERT));
        let (_, ca_cert) = x509_parser::parse_x509_certificate(&ca_der).unwrap();
        leaf.verify_signature(Some(ca_cert.public_key())).unwrap();
        assert_eq!(
            describe_chain(&signed.chain_pem).unwrap().serial,
            signed.serial
        );
        assert_eq!(modulus_bits(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(modulus_bits(&[0x01, 0xff]), 9);
    }

    #[test]
    fn issuing_needs_a_ca() {
        let dir = tempfile::tempdir().unwrap();
        let error = issue_server(dir.path(), &["localhost".into()], &[], 10).unwrap_err();
        assert!(
            format!("{error:#}").contains("ampere cert init-ca"),
            "{error:#}"
        );
    }
}
