//! Charger certificates over OCPP: the rules for a charger's certificate signing request
//! (SignCertificate), the certificates Ampere issued (for expiry tracking and renewal), and
//! what chargers report as installed.
//!
//! The domain holds the decisions; the adapters hold the formats. A [`CsrInspector`] (the
//! binary, with an X.509 parser) turns the PEM request into a [`CsrSubject`] after checking
//! its signature; [`check_csr`] decides whether Ampere will sign it; an accepted request goes
//! to a [`SigningQueue`] (the binary's background worker), because the charger must have
//! its `Accepted` answer before the CertificateSigned call that carries the result.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::error::DomainError;
use crate::ids::ChargerId;
use crate::ports::StoreResult;

/// What a charger certificate is for (2.x `CertificateSigningUseEnumType`; a 1.6 whitepaper
/// request is always the charge point certificate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CertificateUse {
    /// The charger's client certificate for security profile 3.
    ChargingStation,
    /// The charger's ISO 15118 (SECC) certificate.
    V2g,
}

impl CertificateUse {
    /// The 2.x spelling, also used in the store and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ChargingStation => "ChargingStationCertificate",
            Self::V2g => "V2GCertificate",
        }
    }
}

impl FromStr for CertificateUse {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ChargingStationCertificate" => Ok(Self::ChargingStation),
            "V2GCertificate" => Ok(Self::V2g),
            other => Err(format!("unknown certificate use {other:?}")),
        }
    }
}

impl fmt::Display for CertificateUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The public key of a request, as far as the rules care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKeyKind {
    Rsa {
        bits: u32,
    },
    /// An EC key on a named curve (`P-256`, `P-384`, or the curve's OID when it is another).
    Ec {
        curve: String,
    },
    /// Any other algorithm, by OID.
    Other(String),
}

/// What a certificate signing request asks for, after its signature was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsrSubject {
    pub common_name: Option<String>,
    pub organisation: Option<String>,
    pub key: PublicKeyKind,
}

/// Parses a PEM certificate signing request and checks its self-signature (proof that the
/// requester holds the private key). Implemented by the binary over an X.509 parser.
pub trait CsrInspector: Send + Sync + 'static {
    fn inspect(&self, csr_pem: &str) -> Result<CsrSubject, String>;
}

/// Smallest RSA key accepted (OCPP 2.0.1 A00.FR.402: RSA or DSA keys of at least 2048 bits).
pub const MIN_RSA_BITS: u32 = 2048;

/// Whether Ampere signs a request from `charger`: the subject CN must be the charger's
/// identity (the gateway matches it against the URL at every profile-3 login), the
/// organisation the configured one when one is configured, and the key RSA ≥ 2048 bits or
/// EC on P-256/P-384 (the curves of the 2.0.1 cipher suites). The error is the reason.
pub fn check_csr(
    subject: &CsrSubject,
    charger: &ChargerId,
    organisation: Option<&str>,
) -> Result<(), String> {
    match subject.common_name.as_deref() {
        Some(cn) if cn == charger.as_str() => {}
        Some(cn) => {
            return Err(format!(
                "subject CN {cn:?} is not the charger identity {charger:?}",
                charger = charger.as_str()
            ));
        }
        None => return Err("the subject has no common name".into()),
    }
    if let Some(expected) = organisation
        && subject.organisation.as_deref() != Some(expected)
    {
        return Err(format!("subject O must be {expected:?}"));
    }
    match &subject.key {
        PublicKeyKind::Rsa { bits } if *bits >= MIN_RSA_BITS => Ok(()),
        PublicKeyKind::Rsa { bits } => Err(format!(
            "RSA key of {bits} bits; at least {MIN_RSA_BITS} are required"
        )),
        PublicKeyKind::Ec { curve } if curve == "P-256" || curve == "P-384" => Ok(()),
        PublicKeyKind::Ec { curve } => Err(format!(
            "EC key on curve {curve}; P-256 or P-384 is required"
        )),
        PublicKeyKind::Other(algorithm) => Err(format!(
            "key algorithm {algorithm} is not accepted (RSA or EC)"
        )),
    }
}

/// An accepted request, waiting to be signed and delivered with CertificateSigned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningJob {
    pub charger: ChargerId,
    pub csr_pem: String,
    pub certificate_use: CertificateUse,
}

/// Where accepted requests go; the binary's signing worker reads them. `submit` must not
/// wait: it is called by the OCPP handler before its answer is sent.
pub trait SigningQueue: Send + Sync + 'static {
    fn submit(&self, job: SigningJob) -> Result<(), String>;
}

/// The charger's answer to the CertificateSigned call, or why there was none.
pub type Delivery = String;

/// A certificate Ampere issued to a charger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCertificate {
    /// Hex serial number, unique per CA (Ampere draws 128 random bits).
    pub serial: String,
    pub charger: ChargerId,
    pub certificate_use: CertificateUse,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub issued_at: DateTime<Utc>,
    /// The chain as sent to the charger (PEM).
    pub certificate_pem: String,
    /// `Sent` until the charger answers; then its CertificateSigned status (`Accepted`,
    /// `Rejected`) or why it got none (`Failed: …`).
    pub delivery: Delivery,
    /// When Ampere asked the charger for a new request because this one expires soon.
    pub renewal_requested_at: Option<DateTime<Utc>>,
}

/// A certificate a charger reported as installed (GetInstalledCertificateIds), by its hash
/// data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstalledCertificate {
    /// As the charger named it, e.g. `CentralSystemRootCertificate` (1.6) or
    /// `CSMSRootCertificate` (2.x).
    pub certificate_type: String,
    pub hash_algorithm: String,
    pub issuer_name_hash: String,
    pub issuer_key_hash: String,
    pub serial_number: String,
    pub reported_at: DateTime<Utc>,
}

/// Storage of issued and installed certificates.
#[async_trait]
pub trait CertificateStore: Send + Sync + 'static {
    async fn insert_issued_certificate(&self, certificate: &IssuedCertificate) -> StoreResult<()>;
    async fn set_certificate_delivery(&self, serial: &str, delivery: &str) -> StoreResult<bool>;
    /// A charger's issued certificates, newest first.
    async fn issued_certificates(&self, charger: &ChargerId)
    -> StoreResult<Vec<IssuedCertificate>>;
    /// The newest delivered (`Accepted`) certificate of each charger and use that expires
    /// before `before` and whose renewal was not requested yet.
    async fn certificates_due_for_renewal(
        &self,
        before: DateTime<Utc>,
    ) -> StoreResult<Vec<IssuedCertificate>>;
    async fn mark_renewal_requested(&self, serial: &str, at: DateTime<Utc>) -> StoreResult<bool>;
    /// Replaces what the charger reported for `types` (all types when empty) with
    /// `certificates`.
    async fn replace_installed_certificates(
        &self,
        charger: &ChargerId,
        types: &[String],
        certificates: &[InstalledCertificate],
    ) -> StoreResult<()>;
    async fn installed_certificates(
        &self,
        charger: &ChargerId,
    ) -> StoreResult<Vec<InstalledCertificate>>;
}

/// The answer to a SignCertificate request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignDecision {
    /// Checked and queued for signing; CertificateSigned follows.
    Accepted,
    /// Not signed; the reason is for the charger's `statusInfo` and the log.
    Rejected(String),
}

/// What the signing side needs: present only when a CA (or an external CA hook) is configured.
#[derive(Clone)]
pub struct CsrSigning {
    pub inspector: Arc<dyn CsrInspector>,
    pub queue: Arc<dyn SigningQueue>,
    /// Required subject organisation (O), when set.
    pub organisation: Option<String>,
}

impl CsrSigning {
    /// Checks the request and queues it when it passes.
    pub fn decide(
        &self,
        charger: &ChargerId,
        csr_pem: &str,
        certificate_use: CertificateUse,
    ) -> SignDecision {
        if certificate_use == CertificateUse::V2g {
            // An SECC certificate belongs to the ISO 15118 (V2G) PKI, whose roots the EVs
            // trust; the operator CA is not one of them, so a certificate from it would be
            // useless to the charger.
            return SignDecision::Rejected(
                "V2G certificates are issued by the V2G PKI, not by the operator CA".into(),
            );
        }
        let subject = match self.inspector.inspect(csr_pem) {
            Ok(subject) => subject,
            Err(reason) => return SignDecision::Rejected(reason),
        };
        if let Err(reason) = check_csr(&subject, charger, self.organisation.as_deref()) {
            return SignDecision::Rejected(reason);
        }
        let job = SigningJob {
            charger: charger.clone(),
            csr_pem: csr_pem.to_owned(),
            certificate_use,
        };
        match self.queue.submit(job) {
            Ok(()) => SignDecision::Accepted,
            Err(reason) => SignDecision::Rejected(reason),
        }
    }
}

/// Certificates for chargers: SignCertificate decisions, issued and installed certificates.
/// Without a signing side (no CA configured) every request is refused.
#[derive(Clone)]
pub struct CertificateService {
    store: Arc<dyn CertificateStore>,
    signing: Option<CsrSigning>,
    clock: Arc<dyn Clock>,
}

impl CertificateService {
    pub fn new(store: Arc<dyn CertificateStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            signing: None,
            clock,
        }
    }

    /// The same service, signing requests through `signing`.
    pub fn with_signing(self, signing: CsrSigning) -> Self {
        Self {
            signing: Some(signing),
            ..self
        }
    }

    /// True when SignCertificate requests can be signed.
    pub fn can_sign(&self) -> bool {
        self.signing.is_some()
    }

    /// Decides a SignCertificate request from `charger` and, when accepted, queues it for
    /// signing. Synchronous (no await after the decision), so the caller's answer goes out
    /// before the worker can deliver the certificate.
    pub fn request_signature(
        &self,
        charger: &ChargerId,
        csr_pem: &str,
        certificate_use: CertificateUse,
    ) -> SignDecision {
        match &self.signing {
            Some(signing) => signing.decide(charger, csr_pem, certificate_use),
            None => SignDecision::Rejected("no certificate authority configured".into()),
        }
    }

    pub async fn record_issued(&self, certificate: &IssuedCertificate) -> Result<(), DomainError> {
        Ok(self.store.insert_issued_certificate(certificate).await?)
    }

    pub async fn set_delivery(&self, serial: &str, delivery: &str) -> Result<bool, DomainError> {
        Ok(self
            .store
            .set_certificate_delivery(serial, delivery)
            .await?)
    }

    pub async fn issued(&self, charger: &ChargerId) -> Result<Vec<IssuedCertificate>, DomainError> {
        Ok(self.store.issued_certificates(charger).await?)
    }

    pub async fn installed(
        &self,
        charger: &ChargerId,
    ) -> Result<Vec<InstalledCertificate>, DomainError> {
        Ok(self.store.installed_certificates(charger).await?)
    }

    pub async fn replace_installed(
        &self,
        charger: &ChargerId,
        types: &[String],
        certificates: &[InstalledCertificate],
    ) -> Result<(), DomainError> {
        Ok(self
            .store
            .replace_installed_certificates(charger, types, certificates)
            .await?)
    }

    /// Delivered certificates that expire within `window` from now and were not yet
    /// asked to be renewed.
    pub async fn due_for_renewal(
        &self,
        window: chrono::Duration,
    ) -> Result<Vec<IssuedCertificate>, DomainError> {
        let before = self.clock.now() + window;
        Ok(self.store.certificates_due_for_renewal(before).await?)
    }

    pub async fn mark_renewal_requested(&self, serial: &str) -> Result<bool, DomainError> {
        let now = self.clock.now();
        Ok(self.store.mark_renewal_requested(serial, now).await?)
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(cn: &str, org: Option<&str>, key: PublicKeyKind) -> CsrSubject {
        CsrSubject {
            common_name: Some(cn.into()),
            organisation: org.map(Into::into),
            key,
        }
    }

    fn ec() -> PublicKeyKind {
        PublicKeyKind::Ec {
            curve: "P-256".into(),
        }
    }

    #[test]
    fn the_subject_must_be_the_charger_and_the_key_strong() {
        let cp = ChargerId::new("CP-1").unwrap();
        assert_eq!(check_csr(&subject("CP-1", None, ec()), &cp, None), Ok(()));
        assert!(
            check_csr(&subject("CP-2", None, ec()), &cp, None)
                .unwrap_err()
                .contains("CP-2")
        );
        let rsa = |bits| PublicKeyKind::Rsa { bits };
        assert_eq!(
            check_csr(&subject("CP-1", None, rsa(2048)), &cp, None),
            Ok(())
        );
        assert!(
            check_csr(&subject("CP-1", None, rsa(1024)), &cp, None)
                .unwrap_err()
                .contains("1024")
        );
        let p521 = PublicKeyKind::Ec {
            curve: "1.3.132.0.35".into(),
        };
        assert!(check_csr(&subject("CP-1", None, p521), &cp, None).is_err());
        assert!(
            check_csr(
                &subject("CP-1", None, PublicKeyKind::Other("1.3.101.112".into())),
                &cp,
                None
            )
            .is_err()
        );
        let nameless = CsrSubject {
            common_name: None,
            ..subject("x", None, ec())
        };
        assert!(check_csr(&nameless, &cp, None).is_err());
    }

    #[test]
    fn a_configured_organisation_is_required() {
        let cp = ChargerId::new("CP-1").unwrap();
        assert_eq!(
            check_csr(&subject("CP-1", Some("ACME"), ec()), &cp, Some("ACME")),
            Ok(())
        );
        assert!(check_csr(&subject("CP-1", Some("Evil"), ec()), &cp, Some("ACME")).is_err());
        assert!(check_csr(&subject("CP-1", None, ec()), &cp, Some("ACME")).is_err());
    }

    struct Fixed(Result<CsrSubject, String>);
    impl CsrInspector for Fixed {
        fn inspect(&self, _: &str) -> Result<CsrSubject, String> {
            self.0.clone()
        }
    }
    #[derive(Default)]
    struct Jobs(std::sync::Mutex<Vec<SigningJob>>);
    impl SigningQueue for Arc<Jobs> {
        fn submit(&self, job: SigningJob) -> Result<(), String> {
            self.0.lock().unwrap().push(job);
            Ok(())
        }
    }

    #[test]
    fn only_accepted_requests_are_queued() {
        let cp = ChargerId::new("CP-1").unwrap();
        let jobs = Arc::new(Jobs::default());
        let signing = |inspected| CsrSigning {
            inspector: Arc::new(Fixed(inspected)),
            queue: Arc::new(jobs.clone()),
            organisation: None,
        };
        let good = signing(Ok(subject("CP-1", None, ec())));
        assert_eq!(
            good.decide(&cp, "pem", CertificateUse::ChargingStation),
            SignDecision::Accepted
        );
        assert!(matches!(
            good.decide(&cp, "pem", CertificateUse::V2g),
            SignDecision::Rejected(_)
        ));
        let bad = signing(Err("bad signature".into()));
        assert_eq!(
            bad.decide(&cp, "pem", CertificateUse::ChargingStation),
            SignDecision::Rejected("bad signature".into())
        );
        let jobs = jobs.0.lock().unwrap();
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].certificate_use, CertificateUse::ChargingStation);
    }
}
