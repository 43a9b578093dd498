//! `/api/v1/chargers/{id}/certificates`: the certificates Ampere issued to a charger (from
//! its SignCertificate requests) and those it reported as installed, and the certificate
//! calls of the 1.6 security whitepaper and 2.x: install a root certificate, delete one by
//! its hash data, ask which are installed.
//!
//! The calls go out in the charger's own version, validated against its schema first, and
//! each is audited with the charger's answer. Also here: [`security_call`], the one path the
//! credential endpoints (`credentials.rs`) use too.

use ampere_domain::ChargerId;
use ampere_domain::certificates::InstalledCertificate;
use ampere_ocpp::{MessageKind, OcppVersion};
use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::ApiState;
use crate::api_tokens::audit;
use crate::auth::{Caller, Operator, Viewer};
use crate::commands::redact_secrets;
use crate::error::{ApiError, Problem};
use crate::extract::Body;

/// A certificate Ampere issued to the charger.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IssuedCertificateView {
    /// Hex serial number.
    pub serial: String,
    /// `ChargingStationCertificate` or `V2GCertificate`.
    pub certificate_type: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub issued_at: DateTime<Utc>,
    /// `Sent`, then the charger's CertificateSigned status (`Accepted`, `Rejected`) or
    /// `Failed: …`.
    pub delivery: String,
    /// When Ampere asked the charger to renew it (it expires soon).
    pub renewal_requested_at: Option<DateTime<Utc>>,
    /// The PEM chain sent to the charger.
    pub certificate: String,
}

/// A certificate the charger reported as installed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InstalledCertificateView {
    pub certificate_type: String,
    pub hash_algorithm: String,
    pub issuer_name_hash: String,
    pub issuer_key_hash: String,
    pub serial_number: String,
    pub reported_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChargerCertificates {
    /// Newest first.
    pub issued: Vec<IssuedCertificateView>,
    /// As of the last `installed-ids` call.
    pub installed: Vec<InstalledCertificateView>,
}

/// Install a root certificate on the charger.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstallCertificateBody {
    /// 1.6: `CentralSystemRootCertificate`, `ManufacturerRootCertificate`; 2.x:
    /// `CSMSRootCertificate`, `ManufacturerRootCertificate`, `V2GRootCertificate`,
    /// `MORootCertificate` (and 2.1's others).
    pub certificate_type: String,
    /// PEM.
    pub certificate: String,
}

/// A certificate by its hash data (as `installed-ids` reports it).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteCertificateBody {
    /// `SHA256`, `SHA384` or `SHA512`.
    pub hash_algorithm: String,
    pub issuer_name_hash: String,
    pub issuer_key_hash: String,
    pub serial_number: String,
}

/// Which installed certificates to list.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstalledIdsBody {
    /// 1.6 needs exactly one type; 2.x takes none (all) or several.
    #[serde(default)]
    pub certificate_types: Vec<String>,
}

/// The charger's answer to a certificate or credential call.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SecurityCallAnswer {
    pub charger_id: String,
    pub protocol: String,
    pub action: String,
    /// The payload sent.
    pub request: Value,
    /// The charger's response payload.
    pub response: Value,
}

pub(crate) fn charger_id(text: &str) -> Result<ChargerId, ApiError> {
    ChargerId::new(text).map_err(|e| ApiError::BadRequest(e.to_string()))
}

/// The registered charger's id and its version when online (404 when unknown).
pub(crate) async fn registered(
    state: &ApiState,
    id: &str,
) -> Result<(ampere_domain::Charger, Option<OcppVersion>), ApiError> {
    let id = charger_id(id)?;
    let charger = state
        .services
        .chargers
        .get(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no charger {id}")))?;
    let online = state.commands.is_online(&id);
    Ok((charger, online))
}

/// Validates `payload` as `action` in `version`, sends it, validates the answer, and audits
/// the outcome under `label` (credentials in the request are redacted there).
pub(crate) async fn security_call(
    state: &ApiState,
    caller: &Caller,
    label: &str,
    charger: &ChargerId,
    version: OcppVersion,
    action: &str,
    payload: Value,
) -> Result<SecurityCallAnswer, ApiError> {
    let result = async {
        ampere_ocpp::validate(version, action, MessageKind::Request, &payload)
            .map_err(|v| ApiError::InvalidOcpp(format!("{action} (OCPP {version}): {v}")))?;
        let response = state
            .commands
            .call_raw(charger, action, payload.clone())
            .await
            .map_err(|e| ApiError::from_command(charger.as_str(), version, e))?;
        ampere_ocpp::validate(version, action, MessageKind::Response, &response)
            .map_err(|v| ApiError::ChargerBadResponse(v.to_string()))?;
        Ok::<_, ApiError>(response)
    }
    .await;
    let outcome = match &result {
        Ok(response) => json!({"status": 200, "response": response}),
        Err(error) => json!({"status": error.status().as_u16(), "problem": error.problem()}),
    };
    let request = redact_secrets(json!({"action": action, "payload": payload}));
    audit(
        state,
        caller,
        label.to_owned(),
        Some(charger.as_str().to_owned()),
        request.clone(),
        outcome,
    )
    .await;
    Ok(SecurityCallAnswer {
        charger_id: charger.as_str().to_owned(),
        protocol: version.subprotocol().to_owned(),
        action: action.to_owned(),
        request: request["payload"].clone(),
        response: result?,
    })
}

async fn online(state: &ApiState, id: &str) -> Result<(ChargerId, OcppVersion), ApiError> {
    let (charger, version) = registered(state, id).await?;
    let version = version.ok_or_else(|| ApiError::ChargerOffline(charger.id.to_string()))?;
    Ok((charger.id, version))
}

/// The certificates issued to a charger and those it reported as installed.
#[utoipa::path(get, path = "/api/v1/chargers/{id}/certificates", tag = "certificates",
    params(("id" = String, Path, description = "charger identity")),
    responses((status = 200, body = ChargerCertificates), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<ApiState>,
    _: Viewer,
    Path(id): Path<String>,
) -> Result<Json<ChargerCertificates>, ApiError> {
    let (charger, _) = registered(&state, &id).await?;
    let certificates = &state.services.certificates;
    let issued = certificates.issued(&charger.id).await?;
    let installed = certificates.installed(&charger.id).await?;
    Ok(Json(ChargerCertificates {
        issued: issued
            .into_iter()
            .map(|c| IssuedCertificateView {
                serial: c.serial,
                certificate_type: c.certificate_use.as_str().to_owned(),
                not_before: c.not_before,
                not_after: c.not_after,
                issued_at: c.issued_at,
                delivery: c.delivery,
                renewal_requested_at: c.renewal_requested_at,
                certificate: c.certificate_pem,
            })
            .collect(),
        installed: installed
            .into_iter()
            .map(|c| InstalledCertificateView {
                certificate_type: c.certificate_type,
                hash_algorithm: c.hash_algorithm,
                issuer_name_hash: c.issuer_name_hash,
                issuer_key_hash: c.issuer_key_hash,
                serial_number: c.serial_number,
                reported_at: c.reported_at,
            })
            .collect(),
    }))
}

/// Install a root certificate on the charger (InstallCertificate).
#[utoipa::path(post, path = "/api/v1/chargers/{id}/certificates/install", tag = "certificates",
    params(("id" = String, Path, description = "charger identity")),
    request_body = InstallCertificateBody,
    responses(
        (status = 200, body = SecurityCallAnswer, description = "the charger's response"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "charger offline", body = Problem, content_type = "application/problem+json"),
        (status = 502, body = Problem, content_type = "application/problem+json"),
        (status = 504, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn install(
    State(state): State<ApiState>,
    Operator(caller): Operator,
    Path(id): Path<String>,
    Body(body): Body<InstallCertificateBody>,
) -> Result<Json<SecurityCallAnswer>, ApiError> {
    let (charger, version) = online(&state, &id).await?;
    let payload = json!({
        "certificateType": body.certificate_type,
        "certificate": body.certificate,
    });
    let answer = security_call(
        &state,
        &caller,
        "certificate install",
        &charger,
        version,
        "InstallCertificate",
        payload,
    )
    .await?;
    Ok(Json(answer))
}

/// Delete an installed certificate by its hash data (DeleteCertificate).
#[utoipa::path(post, path = "/api/v1/chargers/{id}/certificates/delete", tag = "certificates",
    params(("id" = String, Path, description = "charger identity")),
    request_body = DeleteCertificateBody,
    responses(
        (status = 200, body = SecurityCallAnswer, description = "the charger's response"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "charger offline", body = Problem, content_type = "application/problem+json"),
        (status = 502, body = Problem, content_type = "application/problem+json"),
        (status = 504, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn delete(
    State(state): State<ApiState>,
    Operator(caller): Operator,
    Path(id): Path<String>,
    Body(body): Body<DeleteCertificateBody>,
) -> Result<Json<SecurityCallAnswer>, ApiError> {
    let (charger, version) = online(&state, &id).await?;
    let payload = json!({"certificateHashData": {
        "hashAlgorithm": body.hash_algorithm,
        "issuerNameHash": body.issuer_name_hash,
        "issuerKeyHash": body.issuer_key_hash,
        "serialNumber": body.serial_number,
    }});
    let answer = security_call(
        &state,
        &caller,
        "certificate delete",
        &charger,
        version,
        "DeleteCertificate",
        payload,
    )
    .await?;
    Ok(Json(answer))
}

/// Ask the charger which certificates it has installed (GetInstalledCertificateIds); the
/// answer is also kept, and shown by `GET …/certificates`.
#[utoipa::path(post, path = "/api/v1/chargers/{id}/certificates/installed-ids", tag = "certificates",
    params(("id" = String, Path, description = "charger identity")),
    request_body = InstalledIdsBody,
    responses(
        (status = 200, body = SecurityCallAnswer, description = "the charger's response"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "charger offline", body = Problem, content_type = "application/problem+json"),
        (status = 502, body = Problem, content_type = "application/problem+json"),
        (status = 504, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn installed_ids(
    State(state): State<ApiState>,
    Operator(caller): Operator,
    Path(id): Path<String>,
    Body(body): Body<InstalledIdsBody>,
) -> Result<Json<SecurityCallAnswer>, ApiError> {
    let (charger, version) = online(&state, &id).await?;
    let payload = match version {
        OcppVersion::V16 => match body.certificate_types.as_slice() {
            [one] => json!({"certificateType": one}),
            _ => {
                return Err(ApiError::BadRequest(
                    "OCPP 1.6 asks for one certificate type at a time: give exactly one in certificate_types".into(),
                ));
            }
        },
        OcppVersion::V201 | OcppVersion::V21 if body.certificate_types.is_empty() => json!({}),
        OcppVersion::V201 | OcppVersion::V21 => {
            json!({"certificateType": body.certificate_types})
        }
    };
    let answer = security_call(
        &state,
        &caller,
        "certificate installed-ids",
        &charger,
        version,
        "GetInstalledCertificateIds",
        payload,
    )
    .await?;
    let reported = installed_from_answer(
        version,
        &body.certificate_types,
        &answer.response,
        state.services.certificates.now(),
    );
    state
        .services
        .certificates
        .replace_installed(&charger, &body.certificate_types, &reported)
        .await?;
    Ok(Json(answer))
}

/// The hash data of an answer: 1.6 lists `certificateHashData` (of the one type asked for);
/// 2.x lists `certificateHashDataChain` entries with their own type.
fn installed_from_answer(
    version: OcppVersion,
    asked: &[String],
    response: &Value,
    now: DateTime<Utc>,
) -> Vec<InstalledCertificate> {
    let entry = |certificate_type: &str, data: &Value| {
        let text = |field: &str| data[field].as_str().unwrap_or_default().to_owned();
        InstalledCertificate {
            certificate_type: certificate_type.to_owned(),
            hash_algorithm: text("hashAlgorithm"),
            issuer_name_hash: text("issuerNameHash"),
            issuer_key_hash: text("issuerKeyHash"),
            serial_number: text("serialNumber"),
            reported_at: now,
        }
    };
    let list = |field: &str| response[field].as_array().cloned().unwrap_or_default();
    match version {
        OcppVersion::V16 => {
            let certificate_type = asked.first().map(String::as_str).unwrap_or_default();
            list("certificateHashData")
                .iter()
                .map(|data| entry(certificate_type, data))
                .collect()
        }
        OcppVersion::V201 | OcppVersion::V21 => list("certificateHashDataChain")
            .iter()
            .map(|chain| {
                entry(
                    chain["certificateType"].as_str().unwrap_or_default(),
                    &chain["certificateHashData"],
                )
            })
            .collect(),
    }
}
