//! Certificates, the basics: InstallCertificate, DeleteCertificate,
//! GetInstalledCertificateIds and CertificateSigned against a local store.
//!
//! The store keeps each PEM as given. Its identifiers (issuer name hash, issuer key hash,
//! serial number) are derived from the certificate's DER bytes with SHA-256 rather than
//! from parsed X.509 fields: stable and unique per certificate, which is what a CSMS needs
//! to list and delete them, without an X.509 parser in the simulator.

use ampere_ocpp::{CallError, OcppVersion};
use base64::Engine as _;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::model::Station;

/// Most certificates a simulated charger stores.
const MAX_INSTALLED: usize = 32;

#[derive(Debug, Clone, PartialEq)]
pub struct Installed {
    /// The certificate use as the CSMS named it.
    pub kind: String,
    pub pem: String,
    /// hashAlgorithm, issuerNameHash, issuerKeyHash, serialNumber.
    pub hash_data: Value,
}

/// The DER bytes of the first certificate in `pem`, if it holds one.
fn der(pem: &str) -> Option<Vec<u8>> {
    let start = pem.find("-----BEGIN CERTIFICATE-----")? + "-----BEGIN CERTIFICATE-----".len();
    let end = pem[start..].find("-----END CERTIFICATE-----")? + start;
    let body: String = pem[start..end].split_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .ok()
        .filter(|d| !d.is_empty())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hash_data(der: &[u8]) -> Value {
    let name = Sha256::digest([b"issuer-name:".as_slice(), der].concat());
    let key = Sha256::digest([b"issuer-key:".as_slice(), der].concat());
    let serial = Sha256::digest(der);
    json!({
        "hashAlgorithm": "SHA256",
        "issuerNameHash": hex(&name),
        "issuerKeyHash": hex(&key),
        "serialNumber": hex(&serial[..16]),
    })
}

fn same(a: &Value, b: &Value) -> bool {
    ["issuerNameHash", "issuerKeyHash", "serialNumber"]
        .iter()
        .all(|k| {
            a[k].as_str().map(str::to_ascii_lowercase) == b[k].as_str().map(str::to_ascii_lowercase)
        })
}

pub(crate) fn answer(st: &mut Station, action: &str, p: &Value) -> Result<Value, CallError> {
    let v16 = st.version == OcppVersion::V16;
    let answer = match action {
        "InstallCertificate" => {
            let pem = p["certificate"].as_str().unwrap_or_default();
            let kind = p["certificateType"].as_str().unwrap_or_default().to_owned();
            match der(pem) {
                None => json!({"status": "Rejected"}),
                Some(_) if st.certificates.len() >= MAX_INSTALLED => json!({"status": "Failed"}),
                Some(der) => {
                    let hash_data = hash_data(&der);
                    st.certificates.retain(|c| !same(&c.hash_data, &hash_data));
                    st.certificates.push(Installed {
                        kind,
                        pem: pem.to_owned(),
                        hash_data,
                    });
                    json!({"status": "Accepted"})
                }
            }
        }
        "DeleteCertificate" => {
            let wanted = &p["certificateHashData"];
            let before = st.certificates.len();
            st.certificates.retain(|c| !same(&c.hash_data, wanted));
            if st.certificates.len() < before {
                json!({"status": "Accepted"})
            } else {
                json!({"status": "NotFound"})
            }
        }
        "GetInstalledCertificateIds" => {
            let kinds: Vec<&str> = match &p["certificateType"] {
                Value::String(kind) => vec![kind.as_str()],
                Value::Array(kinds) => kinds.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            let found: Vec<&Installed> = st
                .certificates
                .iter()
                .filter(|c| kinds.is_empty() || kinds.contains(&c.kind.as_str()))
                .collect();
            if found.is_empty() {
                json!({"status": "NotFound"})
            } else if v16 {
                json!({
                    "status": "Accepted",
                    "certificateHashData": found.iter().map(|c| c.hash_data.clone()).collect::<Vec<_>>(),
                })
            } else {
                json!({
                    "status": "Accepted",
                    "certificateHashDataChain": found.iter().map(|c| json!({
                        "certificateType": c.kind,
                        "certificateHashData": c.hash_data,
                    })).collect::<Vec<_>>(),
                })
            }
        }
        // CertificateSigned: the charger's own certificate, from a CSR it never sent here;
        // it is taken when it is a certificate at all.
        _ => {
            let chain = p["certificateChain"].as_str().unwrap_or_default();
            if der(chain).is_some() {
                json!({"status": "Accepted"})
            } else {
                json!({"status": "Rejected"})
            }
        }
    };
    Ok(answer)
}
