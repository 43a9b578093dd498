//! Mapping that OCPP 2.0.1 and 2.1 share: id tokens, authorization answers, meter values,
//! boot information, status reports and transaction events.
//!
//! Where Ampere reads them the two versions' messages have the same shape, but the
//! generated types are distinct per version (`v201::MeterValue` is not `v21::MeterValue`).
//! So the body below is written once and instantiated for each version's types by a macro,
//! rather than copied. The few real differences are parameters (the longest group id an
//! answer may carry, how the `Central` token type is written) or are bridged by
//! [`OptionalText`] (fields 2.0.1 requires and 2.1 made optional).

/// A text field that is required in one version and optional in the other; read as
/// optional in both.
pub(crate) trait OptionalText {
    fn optional_text(&self) -> Option<String>;
}

impl OptionalText for String {
    fn optional_text(&self) -> Option<String> {
        Some(self.clone())
    }
}

impl OptionalText for Option<String> {
    fn optional_text(&self) -> Option<String> {
        self.clone()
    }
}

macro_rules! two_x_mapping {
    (
        version: $v:ident,
        group_id_max: $group_id_max:expr,
        central_token_type: $central:expr $(,)?
    ) => {
        use ampere_domain::{
            AuthorizationInfo, AuthorizationStatus as DomainAuthorizationStatus, BootInfo,
            ChargerId, IdToken as DomainIdToken, IdTokenKind, MeterValue as DomainMeterValue,
            RegistrationStatus as DomainRegistrationStatus, SampledValue as DomainSampledValue,
            SignedMeterValue as DomainSignedMeterValue, StatusReport, TransactionEvent,
            TransactionId,
        };
        use ampere_ocpp::$v::{
            AuthorizationStatus, BootReason, ChargingStation, IdToken, IdTokenInfo, MeterValue,
            RegistrationStatus, StatusInfo, StatusNotificationRequest, TransactionEventRequest,
        };
        use ampere_ocpp::{CallError, OcppVersion};

        use crate::error::invalid_id;
        use crate::two_x::map::OptionalText;
        use crate::wire::{fitting, place, to_domain, wire, wire_opt};

        /// A presented id token (value and type; `additionalInfo` is not part of its
        /// identity).
        pub(crate) fn id_token(token: &IdToken) -> Result<DomainIdToken, CallError> {
            let kind = IdTokenKind::parse(&wire(&token.r#type)).map_err(invalid_id)?;
            DomainIdToken::new(token.id_token.clone(), kind).map_err(invalid_id)
        }

        /// The domain's authorization as an `idTokenInfo`: status, expiry (as
        /// `cacheExpiryDateTime`: when the charger must stop trusting its cached answer) and
        /// group (as `groupIdToken`, type `Central`: a group the CSMS defines).
        pub(crate) fn id_token_info(info: AuthorizationInfo) -> IdTokenInfo {
            let group = fitting(info.group_id, $group_id_max, "groupIdToken.idToken");
            IdTokenInfo {
                status: match info.status {
                    DomainAuthorizationStatus::Accepted => AuthorizationStatus::Accepted,
                    DomainAuthorizationStatus::Blocked => AuthorizationStatus::Blocked,
                    DomainAuthorizationStatus::Expired => AuthorizationStatus::Expired,
                    DomainAuthorizationStatus::Invalid => AuthorizationStatus::Invalid,
                },
                cache_expiry_date_time: info.expiry_date,
                charging_priority: None,
                language1: None,
                evse_id: None,
                group_id_token: group.map(|id_token| IdToken {
                    additional_info: None,
                    id_token,
                    r#type: $central,
                    custom_data: None,
                }),
                language2: None,
                personal_message: None,
                custom_data: None,
            }
        }

        /// Meter values, every sampled value with its measurand, phase, unit and
        /// multiplier, context, location and signed data. The value keeps the decimal text
        /// the charger wrote (`16.0` stays `16.0`), as far as JSON decoding lets it: see
        /// `ampere_ocpp::number`.
        pub(crate) fn meter_values(
            values: &[MeterValue],
        ) -> Result<Vec<DomainMeterValue>, CallError> {
            values
                .iter()
                .map(|mv| {
                    let sampled = mv
                        .sampled_value
                        .iter()
                        .map(|s| {
                            let unit = s.unit_of_measure.as_ref();
                            let unit_multiplier = unit
                                .and_then(|u| u.multiplier)
                                .map(|m| {
                                    i32::try_from(m).map_err(|_| {
                                        invalid_id(ampere_domain::InvalidId::OutOfRange {
                                            what: "unit multiplier",
                                        })
                                    })
                                })
                                .transpose()?;
                            Ok(DomainSampledValue {
                                value: s.value.to_string(),
                                measurand: wire_opt(s.measurand.as_ref()),
                                phase: wire_opt(s.phase.as_ref()),
                                unit: unit.and_then(|u| u.unit.clone()),
                                unit_multiplier,
                                context: wire_opt(s.context.as_ref()),
                                location: wire_opt(s.location.as_ref()),
                                format: None,
                                signed: s.signed_meter_value.as_ref().map(|sv| {
                                    DomainSignedMeterValue {
                                        signed_meter_data: sv.signed_meter_data.clone(),
                                        signing_method: sv.signing_method.optional_text(),
                                        encoding_method: sv.encoding_method.optional_text(),
                                        public_key: sv.public_key.optional_text(),
                                    }
                                }),
                            })
                        })
                        .collect::<Result<Vec<_>, CallError>>()?;
                    Ok(DomainMeterValue {
                        timestamp: mv.timestamp,
                        sampled,
                    })
                })
                .collect()
        }

        /// What a BootNotification says about the station.
        pub(crate) fn boot_info(
            station: ChargingStation,
            reason: &BootReason,
            version: OcppVersion,
        ) -> BootInfo {
            let modem = station.modem;
            BootInfo {
                vendor: station.vendor_name,
                model: station.model,
                serial_number: station.serial_number,
                firmware_version: station.firmware_version,
                iccid: modem.as_ref().and_then(|m| m.iccid.clone()),
                imsi: modem.as_ref().and_then(|m| m.imsi.clone()),
                meter_type: None,
                meter_serial_number: None,
                reason: Some(wire(reason)),
                protocol: Some(version.subprotocol().to_owned()),
            }
        }

        pub(crate) fn registration_status(status: DomainRegistrationStatus) -> RegistrationStatus {
            match status {
                DomainRegistrationStatus::Accepted => RegistrationStatus::Accepted,
                DomainRegistrationStatus::Pending => RegistrationStatus::Pending,
                DomainRegistrationStatus::Rejected => RegistrationStatus::Rejected,
            }
        }

        /// A StatusNotification: EVSE and connector as given; 2.x has no error code.
        pub(crate) fn status_report(
            request: &StatusNotificationRequest,
        ) -> Result<StatusReport, CallError> {
            Ok(StatusReport {
                place: place(request.evse_id, Some(request.connector_id))?,
                status: to_domain(&request.connector_status)?,
                error_code: None,
                info: None,
                vendor_id: None,
                vendor_error_code: None,
                timestamp: request.timestamp,
            })
        }

        /// A TransactionEvent as the domain's event: the charger's transaction id and
        /// sequence number (the deduplication key), trigger and stop reasons, charging state,
        /// offline flag and meter values.
        pub(crate) fn transaction_event(
            charger: &ChargerId,
            request: &TransactionEventRequest,
        ) -> Result<TransactionEvent, CallError> {
            let info = &request.transaction_info;
            Ok(TransactionEvent {
                transaction_id: Some(
                    TransactionId::new(info.transaction_id.clone()).map_err(invalid_id)?,
                ),
                seq_no: Some(request.seq_no),
                place: request
                    .evse
                    .as_ref()
                    .map(|e| place(e.id, e.connector_id))
                    .transpose()?,
                id_token: request.id_token.as_ref().map(id_token).transpose()?,
                trigger_reason: Some(wire(&request.trigger_reason)),
                charging_state: wire_opt(info.charging_state.as_ref()),
                stop_reason: wire_opt(info.stopped_reason.as_ref()),
                offline: request.offline.unwrap_or(false),
                remote_start_id: info.remote_start_id,
                reservation_id: request.reservation_id,
                meter_values: meter_values(request.meter_value.as_deref().unwrap_or_default())?,
                ..TransactionEvent::new(
                    charger.clone(),
                    to_domain(&request.event_type)?,
                    request.timestamp,
                )
            })
        }

        /// The `statusInfo` of an answer that declines something Ampere does not do yet.
        /// `UnsupportedRequest` is one of the reason codes of the OCPP 2.x appendix.
        pub(crate) fn unsupported(additional_info: &str) -> StatusInfo {
            StatusInfo {
                reason_code: "UnsupportedRequest".to_owned(),
                additional_info: Some(additional_info.to_owned()),
                custom_data: None,
            }
        }
    };
}

/// OCPP 2.0.1: group ids up to 36 characters; token types are an enumeration.
pub(crate) mod v201 {
    two_x_mapping!(
        version: v201,
        group_id_max: 36,
        central_token_type: ampere_ocpp::v201::IdTokenEnum::Central,
    );
}

/// OCPP 2.1: group ids up to 255 characters; token types are open strings.
pub(crate) mod v21 {
    two_x_mapping!(
        version: v21,
        group_id_max: 255,
        central_token_type: "Central".to_owned(),
    );
}

#[cfg(test)]
mod tests {
    use ampere_domain::{AuthorizationInfo, AuthorizationStatus, IdTokenKind};
    use pretty_assertions::assert_eq;
    use serde_json::json;

    use super::{v21, v201};

    #[test]
    fn both_versions_map_meter_values_alike() {
        let payload = json!([{
            "timestamp": "2026-01-01T10:00:00Z",
            "sampledValue": [{
                "value": 16.0, "measurand": "Current.Import", "phase": "L2", "context": "Sample.Periodic",
                "location": "Outlet", "unitOfMeasure": {"unit": "A", "multiplier": -1},
                "signedMeterValue": {"signedMeterData": "AAEC", "signingMethod": "ECDSA", "encodingMethod": "OCMF", "publicKey": "PK"}
            }]
        }]);
        let a = v201::meter_values(&serde_json::from_value::<Vec<_>>(payload.clone()).unwrap())
            .unwrap();
        let b = v21::meter_values(&serde_json::from_value::<Vec<_>>(payload).unwrap()).unwrap();
        assert_eq!(a, b);
        let s = &a[0].sampled[0];
        assert_eq!(s.value, "16.0", "decimal text as written");
        assert_eq!(s.measurand.as_deref(), Some("Current.Import"));
        assert_eq!(s.phase.as_deref(), Some("L2"));
        assert_eq!(s.unit.as_deref(), Some("A"));
        assert_eq!(s.unit_multiplier, Some(-1));
        assert_eq!(s.context.as_deref(), Some("Sample.Periodic"));
        assert_eq!(s.location.as_deref(), Some("Outlet"));
        let signed = s.signed.as_ref().expect("signed value kept");
        assert_eq!(signed.signed_meter_data, "AAEC");
        assert_eq!(signed.signing_method.as_deref(), Some("ECDSA"));
        assert_eq!(signed.encoding_method.as_deref(), Some("OCMF"));
        assert_eq!(signed.public_key.as_deref(), Some("PK"));
    }

    #[test]
    fn id_token_types_are_kept() {
        let t: ampere_ocpp::v21::IdToken =
            serde_json::from_value(json!({"idToken": "ABC", "type": "eMAID"})).unwrap();
        let token = v21::id_token(&t).unwrap();
        assert_eq!(token.kind(), &IdTokenKind::EMaid);
        assert_eq!(token.value(), "ABC");
    }

    #[test]
    fn group_ids_longer_than_the_version_allows_are_left_out() {
        let info = |group: &str| AuthorizationInfo {
            status: AuthorizationStatus::Accepted,
            expiry_date: None,
            group_id: Some(group.to_owned()),
        };
        let long = "G".repeat(40);
        assert_eq!(v201::id_token_info(info(&long)).group_id_token, None);
        let kept = v21::id_token_info(info(&long))
            .group_id_token
            .expect("fits 2.1");
        assert_eq!(kept.id_token, long);
        assert_eq!(kept.r#type, "Central");
    }
}
