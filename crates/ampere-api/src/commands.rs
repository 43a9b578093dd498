//! `POST /api/v1/chargers/{id}/commands/{command}`: version-neutral commands, each turned
//! into the typed OCPP request of the version the charger is connected with; and
//! `POST /api/v1/chargers/{id}/ocpp/{Action}`, the raw passthrough.
//!
//! A command goes: body (version-neutral) → the version's wire payload (here) → schema
//! validation (`ampere_ocpp::validate`, the same judge the charger side uses) → the generated
//! request type (which fixes the field order the frame is written in) → `Commands::call` →
//! the charger's typed response, answered as JSON. Offline → 409, no answer in time → 504,
//! CALLERROR → 502 with its code and description (see [`crate::error`]).
//!
//! A command that does not exist in the charger's version (a display message to a 1.6
//! charger) is refused with 422 before anything is sent; a field that has no place in the
//! version (an EVSE for a 1.6 reset) with 400.
//!
//! Adding a command: a `Command` variant with its slug (and [`Command::in_version`]), its
//! arm in [`build`] giving the wire payload per version, and its request types in
//! [`send_typed`].

use ampere_domain::{ChargerId, ReportScope};
use ampere_gateway::Commands;
use ampere_ocpp::{Action, Initiator, MessageKind, OcppVersion, v16, v21, v201};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use crate::ApiState;
use crate::api_tokens::audit;
use crate::auth::{Caller, Operator};
use crate::error::{ApiError, Problem};

/// The commands, by the slug in their path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    RemoteStart,
    RemoteStop,
    Reset,
    Unlock,
    ChangeAvailability,
    TriggerMessage,
    GetConfiguration,
    SetConfiguration,
    ClearCache,
    DataTransfer,
    GetLocalListVersion,
    CancelReservation,
    GetCompositeSchedule,
    ClearChargingProfile,
    GetVariables,
    SetVariables,
    GetBaseReport,
    GetReport,
    SetVariableMonitoring,
    ClearVariableMonitoring,
    SetMonitoringBase,
    SetMonitoringLevel,
    GetMonitoringReport,
    SetDisplayMessage,
    GetDisplayMessages,
    ClearDisplayMessage,
    CustomerInformation,
    SetNetworkProfile,
    GetTransactionStatus,
    CostUpdated,
}

impl Command {
    pub const ALL: [Self; 30] = [
        Self::RemoteStart,
        Self::RemoteStop,
        Self::Reset,
        Self::Unlock,
        Self::ChangeAvailability,
        Self::TriggerMessage,
        Self::GetConfiguration,
        Self::SetConfiguration,
        Self::ClearCache,
        Self::DataTransfer,
        Self::GetLocalListVersion,
        Self::CancelReservation,
        Self::GetCompositeSchedule,
        Self::ClearChargingProfile,
        Self::GetVariables,
        Self::SetVariables,
        Self::GetBaseReport,
        Self::GetReport,
        Self::SetVariableMonitoring,
        Self::ClearVariableMonitoring,
        Self::SetMonitoringBase,
        Self::SetMonitoringLevel,
        Self::GetMonitoringReport,
        Self::SetDisplayMessage,
        Self::GetDisplayMessages,
        Self::ClearDisplayMessage,
        Self::CustomerInformation,
        Self::SetNetworkProfile,
        Self::GetTransactionStatus,
        Self::CostUpdated,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Self::RemoteStart => "remote-start",
            Self::RemoteStop => "remote-stop",
            Self::Reset => "reset",
            Self::Unlock => "unlock",
            Self::ChangeAvailability => "change-availability",
            Self::TriggerMessage => "trigger-message",
            Self::GetConfiguration => "get-configuration",
            Self::SetConfiguration => "set-configuration",
            Self::ClearCache => "clear-cache",
            Self::DataTransfer => "data-transfer",
            Self::GetLocalListVersion => "get-local-list-version",
            Self::CancelReservation => "cancel-reservation",
            Self::GetCompositeSchedule => "get-composite-schedule",
            Self::ClearChargingProfile => "clear-charging-profile",
            Self::GetVariables => "get-variables",
            Self::SetVariables => "set-variables",
            Self::GetBaseReport => "get-base-report",
            Self::GetReport => "get-report",
            Self::SetVariableMonitoring => "set-variable-monitoring",
            Self::ClearVariableMonitoring => "clear-variable-monitoring",
            Self::SetMonitoringBase => "set-monitoring-base",
            Self::SetMonitoringLevel => "set-monitoring-level",
            Self::GetMonitoringReport => "get-monitoring-report",
            Self::SetDisplayMessage => "set-display-message",
            Self::GetDisplayMessages => "get-display-messages",
            Self::ClearDisplayMessage => "clear-display-message",
            Self::CustomerInformation => "customer-information",
            Self::SetNetworkProfile => "set-network-profile",
            Self::GetTransactionStatus => "get-transaction-status",
            Self::CostUpdated => "cost-updated",
        }
    }

    /// Whether the command exists in a version. The commands of the device model, display
    /// messages, customer information, network profiles, monitoring, transaction status and
    /// costs came with OCPP 2.0.1; 1.6 has nothing they could be mapped onto.
    pub fn in_version(self, version: OcppVersion) -> bool {
        version != OcppVersion::V16
            || matches!(
                self,
                Self::RemoteStart
                    | Self::RemoteStop
                    | Self::Reset
                    | Self::Unlock
                    | Self::ChangeAvailability
                    | Self::TriggerMessage
                    | Self::GetConfiguration
                    | Self::SetConfiguration
                    | Self::ClearCache
                    | Self::DataTransfer
                    | Self::GetLocalListVersion
                    | Self::CancelReservation
                    | Self::GetCompositeSchedule
                    | Self::ClearChargingProfile
            )
    }

    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.slug() == slug)
    }
}

/// What a command or raw call answers: what was sent and what the charger answered.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommandAnswer {
    pub charger_id: String,
    /// The command slug, or `ocpp` for the raw passthrough.
    pub command: String,
    /// The subprotocol the charger is connected with.
    pub protocol: String,
    /// The OCPP action sent.
    pub action: String,
    /// The payload sent, as it went on the wire.
    pub request: Value,
    /// The charger's response payload.
    pub response: Value,
}

// ------------------------------------------------------------------ version-neutral bodies

fn parse<T: DeserializeOwned>(command: &str, body: Value) -> Result<T, ApiError> {
    serde_json::from_value(body)
        .map_err(|e| ApiError::BadRequest(format!("invalid body for {command}: {e}")))
}

/// `remote-start`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoteStartBody {
    pub id_token: String,
    /// 1.6: the connector; 2.x: the EVSE. Absent: the charger chooses.
    pub evse_id: Option<u32>,
    /// 2.x token type (default `ISO14443`); ignored by 1.6, which has none.
    pub id_token_type: Option<String>,
    /// 2.x `remoteStartId` (default: one Ampere picks); the charger echoes it in its
    /// TransactionEvent.
    pub remote_start_id: Option<i64>,
}

/// `remote-stop`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoteStopBody {
    /// The charger's transaction id (`transaction_id` of a transaction); a number for 1.6.
    #[schema(value_type = String)]
    pub transaction_id: Value,
}

/// `reset`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetBody {
    /// `Soft`/`Hard` (1.6 names) or `OnIdle`/`Immediate` (2.x names); each is mapped to the
    /// charger's version (Soft ↔ OnIdle, Hard ↔ Immediate).
    pub r#type: String,
    /// 2.x only: reset just this EVSE.
    pub evse_id: Option<u32>,
}

/// `unlock`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnlockBody {
    pub evse_id: u32,
    /// Default 1 (a 1.6 charger's connectors are EVSEs with one connector).
    pub connector_id: Option<u32>,
}

/// `change-availability`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeAvailabilityBody {
    /// `Operative` or `Inoperative`.
    pub operational_status: String,
    /// Absent: the whole charger.
    pub evse_id: Option<u32>,
    /// 2.x only: one connector of the EVSE.
    pub connector_id: Option<u32>,
}

/// `trigger-message`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerMessageBody {
    /// A message the charger's version can trigger, by its OCPP name. 1.6: BootNotification,
    /// DiagnosticsStatusNotification, FirmwareStatusNotification, Heartbeat, MeterValues,
    /// StatusNotification (TriggerMessage), and through the security whitepaper's
    /// ExtendedTriggerMessage also LogStatusNotification and SignChargePointCertificate.
    /// 2.0.1: BootNotification, LogStatusNotification, FirmwareStatusNotification,
    /// Heartbeat, MeterValues, SignChargingStationCertificate, SignV2GCertificate,
    /// StatusNotification, TransactionEvent, SignCombinedCertificate,
    /// PublishFirmwareStatusNotification; 2.1 adds SignV2G20Certificate and CustomTrigger.
    /// `SignChargePointCertificate` and `SignChargingStationCertificate` are one message
    /// under each version's name.
    pub requested_message: String,
    pub evse_id: Option<u32>,
    /// 2.x only.
    pub connector_id: Option<u32>,
    /// 1.6 only: send ExtendedTriggerMessage even for a message plain TriggerMessage has
    /// (the whitepaper's variant, e.g. so a FirmwareStatusNotification comes back as
    /// SignedFirmwareStatusNotification). Messages only ExtendedTriggerMessage has use it
    /// anyway.
    pub extended: Option<bool>,
    /// 2.1 only, with `CustomTrigger`: the vendor's trigger name.
    pub custom_trigger: Option<String>,
}

/// `get-configuration`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GetConfigurationBody {
    /// 1.6 configuration keys (absent: all).
    pub keys: Option<Vec<String>>,
    /// 2.x device-model variables to read (required for 2.x).
    pub variables: Option<Vec<VariableRef>>,
}

/// `set-configuration`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetConfigurationBody {
    /// 1.6: the key and its new value.
    pub key: Option<String>,
    pub value: Option<String>,
    /// 2.x: the variables to set, each with its `value`.
    pub variables: Option<Vec<VariableRef>>,
}

/// A 2.x device-model variable.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariableRef {
    pub component: String,
    pub component_instance: Option<String>,
    pub evse_id: Option<u32>,
    pub connector_id: Option<u32>,
    pub variable: String,
    pub variable_instance: Option<String>,
    /// `Actual` (default), `Target`, `MinSet`, `MaxSet`.
    pub attribute_type: Option<String>,
    /// For set-configuration.
    pub value: Option<String>,
}

/// `data-transfer`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DataTransferBody {
    pub vendor_id: String,
    pub message_id: Option<String>,
    /// 1.6 carries text: anything else is sent as its JSON text.
    pub data: Option<Value>,
}

/// `cancel-reservation`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelReservationBody {
    pub reservation_id: i64,
}

/// `get-composite-schedule`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GetCompositeScheduleBody {
    /// 0: the whole charger.
    pub evse_id: u32,
    /// Seconds from now.
    pub duration: i64,
    /// `W` or `A`.
    pub charging_rate_unit: Option<String>,
}

/// `clear-charging-profile`; absent criteria match every profile.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClearChargingProfileBody {
    pub charging_profile_id: Option<i64>,
    pub evse_id: Option<u32>,
    /// `ChargingStationMaxProfile` (1.6 `ChargePointMaxProfile`; either name works),
    /// `TxDefaultProfile`, `TxProfile`, ….
    pub purpose: Option<String>,
    pub stack_level: Option<i64>,
}

/// `get-variables` (2.x).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GetVariablesBody {
    pub variables: Vec<VariableRef>,
}

/// `set-variables` (2.x); each variable with its `value`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetVariablesBody {
    pub variables: Vec<VariableRef>,
}

/// A component, optionally narrowed to one of its variables (2.x `ComponentVariable`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentVariableRef {
    pub component: String,
    pub component_instance: Option<String>,
    pub evse_id: Option<u32>,
    pub connector_id: Option<u32>,
    /// Absent: every variable of the component.
    pub variable: Option<String>,
    pub variable_instance: Option<String>,
}

/// `get-base-report` (2.x). The NotifyReport parts the charger then sends become its stored
/// device model (`GET /api/v1/chargers/{id}/device-model`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GetBaseReportBody {
    /// Default: one Ampere picks (it is in the answer's `request`).
    pub request_id: Option<i64>,
    /// `FullInventory` (default; replaces the stored model), `ConfigurationInventory` or
    /// `SummaryInventory` (merged into it).
    pub report_base: Option<String>,
}

/// `get-report` (2.x): a report narrowed by criteria and/or components; merged into the
/// stored device model.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GetReportBody {
    pub request_id: Option<i64>,
    /// `Active`, `Available`, `Enabled`, `Problem`.
    pub criteria: Option<Vec<String>>,
    pub variables: Option<Vec<ComponentVariableRef>>,
}

/// One monitor of `set-variable-monitoring` (2.x `SetMonitoringData`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MonitorBody {
    /// To replace an existing monitor; absent: a new one.
    pub id: Option<i64>,
    pub component: String,
    pub component_instance: Option<String>,
    pub evse_id: Option<u32>,
    pub connector_id: Option<u32>,
    pub variable: String,
    pub variable_instance: Option<String>,
    /// `UpperThreshold`, `LowerThreshold`, `Delta`, `Periodic`, `PeriodicClockAligned`
    /// (2.1 adds `TargetDelta`, `TargetDeltaRelative`).
    pub r#type: String,
    #[schema(value_type = f64)]
    pub value: serde_json::Number,
    /// 0 (Danger) … 9 (Debug).
    pub severity: i64,
    /// Monitor only during a transaction.
    pub transaction: Option<bool>,
}

/// `set-variable-monitoring` (2.x).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetVariableMonitoringBody {
    pub monitors: Vec<MonitorBody>,
}

/// `clear-variable-monitoring` (2.x).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClearVariableMonitoringBody {
    pub ids: Vec<i64>,
}

/// `set-monitoring-base` (2.x).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetMonitoringBaseBody {
    /// `All`, `FactoryDefault`, `HardWiredOnly`.
    pub monitoring_base: String,
}

/// `set-monitoring-level` (2.x).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetMonitoringLevelBody {
    /// Events of this severity (0 … 9) and more severe are reported.
    pub severity: i64,
}

/// `get-monitoring-report` (2.x).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GetMonitoringReportBody {
    pub request_id: Option<i64>,
    /// `ThresholdMonitoring`, `DeltaMonitoring`, `PeriodicMonitoring`.
    pub criteria: Option<Vec<String>>,
    pub variables: Option<Vec<ComponentVariableRef>>,
}

/// `set-display-message` (2.x).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetDisplayMessageBody {
    pub id: i64,
    /// `AlwaysFront`, `InFront`, `NormalCycle`.
    pub priority: String,
    /// The text (or URI, or HTML) to show.
    pub content: String,
    /// `ASCII`, `HTML`, `URI`, `UTF8` (default); 2.1 adds `QRCODE`.
    pub format: Option<String>,
    /// RFC 5646 language code.
    pub language: Option<String>,
    /// Show only in this charger state: `Charging`, `Faulted`, `Idle`, `Unavailable` (2.1
    /// adds `Suspended`, `Discharging`).
    pub state: Option<String>,
    /// RFC 3339.
    pub start_date_time: Option<String>,
    pub end_date_time: Option<String>,
    /// Show only during this transaction.
    pub transaction_id: Option<String>,
}

/// `get-display-messages` (2.x): the charger answers with NotifyDisplayMessages.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GetDisplayMessagesBody {
    pub request_id: Option<i64>,
    pub ids: Option<Vec<i64>>,
    pub priority: Option<String>,
    pub state: Option<String>,
}

/// `clear-display-message` (2.x).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClearDisplayMessageBody {
    pub id: i64,
}

/// `customer-information` (2.x): the charger reports (and/or clears) what it holds about a
/// customer, named by one of `customer_identifier`, `id_token` or `customer_certificate`;
/// the report comes back as NotifyCustomerInformation parts (kept as charger reports and
/// published as events).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerInformationBody {
    pub request_id: Option<i64>,
    /// Default true.
    pub report: Option<bool>,
    /// Default false.
    pub clear: Option<bool>,
    pub customer_identifier: Option<String>,
    pub id_token: Option<String>,
    /// Default `ISO14443`.
    pub id_token_type: Option<String>,
    /// `{hash_algorithm, issuer_name_hash, issuer_key_hash, serial_number}`.
    #[schema(value_type = Object)]
    pub customer_certificate: Option<Value>,
}

/// `set-network-profile` (2.x).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetNetworkProfileBody {
    pub configuration_slot: i64,
    /// The OCPP `NetworkConnectionProfile` with snake_case field names: `ocpp_version`,
    /// `ocpp_transport`, `ocpp_csms_url`, `message_timeout`, `security_profile`,
    /// `ocpp_interface`, `apn {…}`, `vpn {…}` (2.1 also `identity`,
    /// `basic_auth_password`). Passwords and keys are kept out of the audit log.
    #[schema(value_type = Object)]
    pub connection_data: Value,
}

/// `get-transaction-status` (2.x).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GetTransactionStatusBody {
    /// Absent: only whether the charger still has messages queued.
    pub transaction_id: Option<String>,
}

/// `cost-updated` (2.x).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CostUpdatedBody {
    #[schema(value_type = f64)]
    pub total_cost: serde_json::Number,
    pub transaction_id: String,
}

/// A charging profile purpose in the version's spelling (1.6 says `ChargePoint` where 2.x
/// says `ChargingStation`).
fn purpose(version: OcppVersion, purpose: String) -> String {
    match (version, purpose.as_str()) {
        (OcppVersion::V16, "ChargingStationMaxProfile") => "ChargePointMaxProfile".into(),
        (OcppVersion::V201 | OcppVersion::V21, "ChargePointMaxProfile") => {
            "ChargingStationMaxProfile".into()
        }
        _ => purpose,
    }
}

// ------------------------------------------------------------------ body → wire payload

/// Inserts `key: value` when the value is present.
fn put(map: &mut Map<String, Value>, key: &str, value: Option<impl Into<Value>>) {
    if let Some(value) = value {
        map.insert(key.to_owned(), value.into());
    }
}

fn evse(evse_id: Option<u32>, connector_id: Option<u32>) -> Result<Option<Value>, ApiError> {
    match (evse_id, connector_id) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(ApiError::BadRequest("connector_id needs an evse_id".into())),
        (Some(id), connector) => {
            let mut map = Map::new();
            map.insert("id".into(), id.into());
            put(&mut map, "connectorId", connector);
            Ok(Some(Value::Object(map)))
        }
    }
}

fn only_2x(version: OcppVersion, what: &str, given: bool) -> Result<(), ApiError> {
    if given && version == OcppVersion::V16 {
        Err(ApiError::BadRequest(format!(
            "{what} is not available in OCPP 1.6"
        )))
    } else {
        Ok(())
    }
}

fn only_16(version: OcppVersion, what: &str, given: bool) -> Result<(), ApiError> {
    if given && version != OcppVersion::V16 {
        Err(ApiError::BadRequest(format!(
            "{what} is OCPP 1.6 only; OCPP {version} uses `variables`"
        )))
    } else {
        Ok(())
    }
}

/// A `remoteStartId` when the caller gave none: milliseconds since the epoch, folded into
/// the positive `i32` range chargers store (unique enough to tell recent starts apart).
fn remote_start_id() -> i64 {
    chrono::Utc::now().timestamp_millis() % i64::from(i32::MAX)
}

/// A `requestId` when the caller gave none (see [`remote_start_id`]).
fn request_id(given: Option<i64>) -> i64 {
    given.unwrap_or_else(remote_start_id)
}

/// What 1.6 TriggerMessage can trigger.
const TRIGGERS_16: [&str; 6] = [
    "BootNotification",
    "DiagnosticsStatusNotification",
    "FirmwareStatusNotification",
    "Heartbeat",
    "MeterValues",
    "StatusNotification",
];

/// What the 1.6 security whitepaper's ExtendedTriggerMessage can trigger.
const TRIGGERS_16_EXTENDED: [&str; 7] = [
    "BootNotification",
    "LogStatusNotification",
    "FirmwareStatusNotification",
    "Heartbeat",
    "MeterValues",
    "SignChargePointCertificate",
    "StatusNotification",
];

const TRIGGERS_201: [&str; 11] = [
    "BootNotification",
    "LogStatusNotification",
    "FirmwareStatusNotification",
    "Heartbeat",
    "MeterValues",
    "SignChargingStationCertificate",
    "SignV2GCertificate",
    "StatusNotification",
    "TransactionEvent",
    "SignCombinedCertificate",
    "PublishFirmwareStatusNotification",
];

const TRIGGERS_21_ONLY: [&str; 2] = ["SignV2G20Certificate", "CustomTrigger"];

/// The messages a version can trigger, and the action that triggers them.
fn triggerable(version: OcppVersion) -> Vec<&'static str> {
    match version {
        OcppVersion::V16 => {
            let mut all = TRIGGERS_16.to_vec();
            all.extend(
                TRIGGERS_16_EXTENDED
                    .iter()
                    .filter(|m| !TRIGGERS_16.contains(m)),
            );
            all
        }
        OcppVersion::V201 => TRIGGERS_201.to_vec(),
        OcppVersion::V21 => TRIGGERS_201
            .iter()
            .chain(&TRIGGERS_21_ONLY)
            .copied()
            .collect(),
    }
}

/// `trigger-message`: the action (1.6 TriggerMessage or ExtendedTriggerMessage) and payload.
fn trigger(version: OcppVersion, b: TriggerMessageBody) -> Result<(&'static str, Value), ApiError> {
    let v16 = version == OcppVersion::V16;
    // The certificate-signing trigger has one name per version for one message.
    let message = match (v16, b.requested_message.as_str()) {
        (true, "SignChargingStationCertificate") => "SignChargePointCertificate".to_owned(),
        (false, "SignChargePointCertificate") => "SignChargingStationCertificate".to_owned(),
        _ => b.requested_message,
    };
    let known = triggerable(version);
    if !known.contains(&message.as_str()) {
        let elsewhere = OcppVersion::NEWEST_FIRST
            .into_iter()
            .any(|v| triggerable(v).contains(&message.as_str()));
        let detail = format!(
            "OCPP {version} cannot trigger {message:?}; it can trigger {}",
            known.join(", ")
        );
        return Err(if elsewhere {
            ApiError::NotInVersion(detail)
        } else {
            ApiError::BadRequest(detail)
        });
    }
    if !v16 {
        only_2x(version, "extended", b.extended.is_some())?;
    }
    if version != OcppVersion::V21 && b.custom_trigger.is_some() {
        return Err(ApiError::NotInVersion(format!(
            "custom_trigger is OCPP 2.1 only, not {version}"
        )));
    }
    let mut map = Map::new();
    map.insert("requestedMessage".into(), message.clone().into());
    if v16 {
        only_2x(version, "connector_id", b.connector_id.is_some())?;
        put(&mut map, "connectorId", b.evse_id);
        let extended = b.extended.unwrap_or(false) || !TRIGGERS_16.contains(&message.as_str());
        if extended {
            return Ok(("ExtendedTriggerMessage", Value::Object(map)));
        }
    } else {
        put(&mut map, "evse", evse(b.evse_id, b.connector_id)?);
        put(&mut map, "customTrigger", b.custom_trigger);
    }
    Ok(("TriggerMessage", Value::Object(map)))
}

/// A 2.x `ComponentVariable`.
fn component_variable(c: ComponentVariableRef) -> Result<Value, ApiError> {
    let mut component = Map::new();
    put(&mut component, "evse", evse(c.evse_id, c.connector_id)?);
    component.insert("name".into(), c.component.into());
    put(&mut component, "instance", c.component_instance);
    let mut map = Map::new();
    map.insert("component".into(), Value::Object(component));
    match (c.variable, c.variable_instance) {
        (Some(name), instance) => {
            let mut variable = Map::new();
            variable.insert("name".into(), name.into());
            put(&mut variable, "instance", instance);
            map.insert("variable".into(), Value::Object(variable));
        }
        (None, Some(_)) => {
            return Err(ApiError::BadRequest(
                "variable_instance needs a variable".into(),
            ));
        }
        (None, None) => {}
    }
    Ok(Value::Object(map))
}

fn component_variables(list: Option<Vec<ComponentVariableRef>>) -> Result<Option<Value>, ApiError> {
    list.map(|l| {
        l.into_iter()
            .map(component_variable)
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array)
    })
    .transpose()
}

/// A snake_case body object as the OCPP object with the same fields in camelCase (values
/// are left alone): `ocpp_csms_url` → `ocppCsmsUrl`.
fn camel_case_keys(value: Value) -> Value {
    fn camel(key: &str) -> String {
        let mut out = String::with_capacity(key.len());
        let mut upper = false;
        for c in key.chars() {
            if c == '_' {
                upper = true;
            } else if upper {
                out.extend(c.to_uppercase());
                upper = false;
            } else {
                out.push(c);
            }
        }
        out
    }
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (camel(&k), camel_case_keys(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(camel_case_keys).collect()),
        other => other,
    }
}

fn variables_data(variables: Vec<VariableRef>, set: bool) -> Result<Value, ApiError> {
    if variables.is_empty() {
        return Err(ApiError::BadRequest("`variables` is empty".into()));
    }
    variables
        .into_iter()
        .map(|v| variable_data(v, set))
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

/// The action and wire payload of a command for a version.
fn build(
    command: Command,
    version: OcppVersion,
    body: Value,
) -> Result<(&'static str, Value), ApiError> {
    let v16 = version == OcppVersion::V16;
    let slug = command.slug();
    if !command.in_version(version) {
        return Err(ApiError::NotInVersion(format!(
            "{slug} does not exist in OCPP {version}: it needs a charger connected with \
             OCPP 2.0.1 or 2.1"
        )));
    }
    Ok(match command {
        Command::RemoteStart => {
            let b: RemoteStartBody = parse(slug, body)?;
            let mut map = Map::new();
            if v16 {
                put(&mut map, "connectorId", b.evse_id);
                map.insert("idTag".into(), b.id_token.into());
                ("RemoteStartTransaction", Value::Object(map))
            } else {
                put(&mut map, "evseId", b.evse_id);
                map.insert(
                    "idToken".into(),
                    json!({
                        "idToken": b.id_token,
                        "type": b.id_token_type.unwrap_or_else(|| "ISO14443".into()),
                    }),
                );
                map.insert(
                    "remoteStartId".into(),
                    b.remote_start_id.unwrap_or_else(remote_start_id).into(),
                );
                ("RequestStartTransaction", Value::Object(map))
            }
        }
        Command::RemoteStop => {
            let b: RemoteStopBody = parse(slug, body)?;
            if v16 {
                let id = match &b.transaction_id {
                    Value::Number(n) => n.as_i64(),
                    Value::String(s) => s.parse().ok(),
                    _ => None,
                }
                .ok_or_else(|| {
                    ApiError::BadRequest("an OCPP 1.6 transaction_id is an integer".into())
                })?;
                ("RemoteStopTransaction", json!({"transactionId": id}))
            } else {
                let id = match b.transaction_id {
                    Value::String(s) => s,
                    Value::Number(n) => n.to_string(),
                    _ => {
                        return Err(ApiError::BadRequest(
                            "transaction_id must be a string or a number".into(),
                        ));
                    }
                };
                ("RequestStopTransaction", json!({"transactionId": id}))
            }
        }
        Command::Reset => {
            let b: ResetBody = parse(slug, body)?;
            let hard = match b.r#type.as_str() {
                "Hard" | "Immediate" => true,
                "Soft" | "OnIdle" => false,
                other => {
                    return Err(ApiError::BadRequest(format!(
                        "reset type must be Soft, Hard, OnIdle or Immediate, not {other:?}"
                    )));
                }
            };
            only_2x(version, "resetting one EVSE", b.evse_id.is_some())?;
            if v16 {
                ("Reset", json!({"type": if hard { "Hard" } else { "Soft" }}))
            } else {
                let mut map = Map::new();
                map.insert(
                    "type".into(),
                    (if hard { "Immediate" } else { "OnIdle" }).into(),
                );
                put(&mut map, "evseId", b.evse_id);
                ("Reset", Value::Object(map))
            }
        }
        Command::Unlock => {
            let b: UnlockBody = parse(slug, body)?;
            let connector = b.connector_id.unwrap_or(1);
            if v16 {
                if connector != 1 {
                    return Err(ApiError::BadRequest(
                        "an OCPP 1.6 charger has one connector per EVSE: connector_id must be 1"
                            .into(),
                    ));
                }
                ("UnlockConnector", json!({"connectorId": b.evse_id}))
            } else {
                (
                    "UnlockConnector",
                    json!({"evseId": b.evse_id, "connectorId": connector}),
                )
            }
        }
        Command::ChangeAvailability => {
            let b: ChangeAvailabilityBody = parse(slug, body)?;
            if v16 {
                only_2x(version, "connector_id", b.connector_id.is_some())?;
                (
                    "ChangeAvailability",
                    json!({"connectorId": b.evse_id.unwrap_or(0), "type": b.operational_status}),
                )
            } else {
                let mut map = Map::new();
                put(&mut map, "evse", evse(b.evse_id, b.connector_id)?);
                map.insert("operationalStatus".into(), b.operational_status.into());
                ("ChangeAvailability", Value::Object(map))
            }
        }
        Command::TriggerMessage => trigger(version, parse(slug, body)?)?,
        Command::GetConfiguration => {
            let b: GetConfigurationBody = parse(slug, body)?;
            if v16 {
                only_2x(version, "variables", b.variables.is_some())?;
                let mut map = Map::new();
                put(&mut map, "key", b.keys);
                ("GetConfiguration", Value::Object(map))
            } else {
                let variables = b.variables.ok_or_else(|| {
                    ApiError::BadRequest("OCPP 2.x needs `variables` to read".into())
                })?;
                only_16(version, "keys", b.keys.is_some())?;
                let data = variables_data(variables, false)?;
                ("GetVariables", json!({"getVariableData": data}))
            }
        }
        Command::SetConfiguration => {
            let b: SetConfigurationBody = parse(slug, body)?;
            if v16 {
                only_2x(version, "variables", b.variables.is_some())?;
                let (Some(key), Some(value)) = (b.key, b.value) else {
                    return Err(ApiError::BadRequest(
                        "OCPP 1.6 needs `key` and `value`".into(),
                    ));
                };
                ("ChangeConfiguration", json!({"key": key, "value": value}))
            } else {
                let variables = b.variables.ok_or_else(|| {
                    ApiError::BadRequest("OCPP 2.x needs `variables` to set".into())
                })?;
                only_16(version, "key", b.key.is_some() || b.value.is_some())?;
                let data = variables_data(variables, true)?;
                ("SetVariables", json!({"setVariableData": data}))
            }
        }
        Command::ClearCache => {
            let _: Map<String, Value> = parse(slug, body)?;
            ("ClearCache", json!({}))
        }
        Command::DataTransfer => {
            let b: DataTransferBody = parse(slug, body)?;
            let mut map = Map::new();
            map.insert("vendorId".into(), b.vendor_id.into());
            put(&mut map, "messageId", b.message_id);
            let data = match b.data {
                Some(Value::String(s)) => Some(Value::String(s)),
                Some(other) if v16 => Some(Value::String(other.to_string())),
                other => other,
            };
            put(&mut map, "data", data);
            ("DataTransfer", Value::Object(map))
        }
        Command::GetLocalListVersion => {
            let _: Map<String, Value> = parse(slug, body)?;
            ("GetLocalListVersion", json!({}))
        }
        Command::CancelReservation => {
            let b: CancelReservationBody = parse(slug, body)?;
            (
                "CancelReservation",
                json!({"reservationId": b.reservation_id}),
            )
        }
        Command::GetCompositeSchedule => {
            let b: GetCompositeScheduleBody = parse(slug, body)?;
            let mut map = Map::new();
            map.insert(
                (if v16 { "connectorId" } else { "evseId" }).into(),
                b.evse_id.into(),
            );
            map.insert("duration".into(), b.duration.into());
            put(&mut map, "chargingRateUnit", b.charging_rate_unit);
            ("GetCompositeSchedule", Value::Object(map))
        }
        Command::ClearChargingProfile => {
            let b: ClearChargingProfileBody = parse(slug, body)?;
            let purpose = b.purpose.map(|p| purpose(version, p));
            let mut map = Map::new();
            if v16 {
                put(&mut map, "id", b.charging_profile_id);
                put(&mut map, "connectorId", b.evse_id);
                put(&mut map, "chargingProfilePurpose", purpose);
                put(&mut map, "stackLevel", b.stack_level);
            } else {
                put(&mut map, "chargingProfileId", b.charging_profile_id);
                let mut criteria = Map::new();
                put(&mut criteria, "evseId", b.evse_id);
                put(&mut criteria, "chargingProfilePurpose", purpose);
                put(&mut criteria, "stackLevel", b.stack_level);
                if !criteria.is_empty() {
                    map.insert("chargingProfileCriteria".into(), Value::Object(criteria));
                }
            }
            ("ClearChargingProfile", Value::Object(map))
        }
        Command::GetVariables => {
            let b: GetVariablesBody = parse(slug, body)?;
            let data = variables_data(b.variables, false)?;
            ("GetVariables", json!({"getVariableData": data}))
        }
        Command::SetVariables => {
            let b: SetVariablesBody = parse(slug, body)?;
            let data = variables_data(b.variables, true)?;
            ("SetVariables", json!({"setVariableData": data}))
        }
        Command::GetBaseReport => {
            let b: GetBaseReportBody = parse(slug, body)?;
            (
                "GetBaseReport",
                json!({
                    "requestId": request_id(b.request_id),
                    "reportBase": b.report_base.unwrap_or_else(|| "FullInventory".into()),
                }),
            )
        }
        Command::GetReport => {
            let b: GetReportBody = parse(slug, body)?;
            let mut map = Map::new();
            put(
                &mut map,
                "componentVariable",
                component_variables(b.variables)?,
            );
            map.insert("requestId".into(), request_id(b.request_id).into());
            put(&mut map, "componentCriteria", b.criteria);
            ("GetReport", Value::Object(map))
        }
        Command::SetVariableMonitoring => {
            let b: SetVariableMonitoringBody = parse(slug, body)?;
            let data = b
                .monitors
                .into_iter()
                .map(|m| {
                    let target = component_variable(ComponentVariableRef {
                        component: m.component,
                        component_instance: m.component_instance,
                        evse_id: m.evse_id,
                        connector_id: m.connector_id,
                        variable: Some(m.variable),
                        variable_instance: m.variable_instance,
                    })?;
                    let mut map = Map::new();
                    put(&mut map, "id", m.id);
                    put(&mut map, "transaction", m.transaction);
                    map.insert("value".into(), Value::Number(m.value));
                    map.insert("type".into(), m.r#type.into());
                    map.insert("severity".into(), m.severity.into());
                    map.insert("component".into(), target["component"].clone());
                    map.insert("variable".into(), target["variable"].clone());
                    Ok(Value::Object(map))
                })
                .collect::<Result<Vec<_>, ApiError>>()?;
            ("SetVariableMonitoring", json!({"setMonitoringData": data}))
        }
        Command::ClearVariableMonitoring => {
            let b: ClearVariableMonitoringBody = parse(slug, body)?;
            ("ClearVariableMonitoring", json!({"id": b.ids}))
        }
        Command::SetMonitoringBase => {
            let b: SetMonitoringBaseBody = parse(slug, body)?;
            (
                "SetMonitoringBase",
                json!({"monitoringBase": b.monitoring_base}),
            )
        }
        Command::SetMonitoringLevel => {
            let b: SetMonitoringLevelBody = parse(slug, body)?;
            ("SetMonitoringLevel", json!({"severity": b.severity}))
        }
        Command::GetMonitoringReport => {
            let b: GetMonitoringReportBody = parse(slug, body)?;
            let mut map = Map::new();
            put(
                &mut map,
                "componentVariable",
                component_variables(b.variables)?,
            );
            map.insert("requestId".into(), request_id(b.request_id).into());
            put(&mut map, "monitoringCriteria", b.criteria);
            ("GetMonitoringReport", Value::Object(map))
        }
        Command::SetDisplayMessage => {
            let b: SetDisplayMessageBody = parse(slug, body)?;
            let mut message = Map::new();
            message.insert("id".into(), b.id.into());
            message.insert("priority".into(), b.priority.into());
            put(&mut message, "state", b.state);
            put(&mut message, "startDateTime", b.start_date_time);
            put(&mut message, "endDateTime", b.end_date_time);
            put(&mut message, "transactionId", b.transaction_id);
            let mut content = Map::new();
            content.insert(
                "format".into(),
                b.format.unwrap_or_else(|| "UTF8".into()).into(),
            );
            put(&mut content, "language", b.language);
            content.insert("content".into(), b.content.into());
            message.insert("message".into(), Value::Object(content));
            ("SetDisplayMessage", json!({"message": message}))
        }
        Command::GetDisplayMessages => {
            let b: GetDisplayMessagesBody = parse(slug, body)?;
            let mut map = Map::new();
            put(&mut map, "id", b.ids);
            map.insert("requestId".into(), request_id(b.request_id).into());
            put(&mut map, "priority", b.priority);
            put(&mut map, "state", b.state);
            ("GetDisplayMessages", Value::Object(map))
        }
        Command::ClearDisplayMessage => {
            let b: ClearDisplayMessageBody = parse(slug, body)?;
            ("ClearDisplayMessage", json!({"id": b.id}))
        }
        Command::CustomerInformation => {
            let b: CustomerInformationBody = parse(slug, body)?;
            let mut map = Map::new();
            put(
                &mut map,
                "customerCertificate",
                b.customer_certificate.map(camel_case_keys),
            );
            if let Some(token) = b.id_token {
                map.insert(
                    "idToken".into(),
                    json!({
                        "idToken": token,
                        "type": b.id_token_type.unwrap_or_else(|| "ISO14443".into()),
                    }),
                );
            } else if b.id_token_type.is_some() {
                return Err(ApiError::BadRequest(
                    "id_token_type needs an id_token".into(),
                ));
            }
            map.insert("requestId".into(), request_id(b.request_id).into());
            map.insert("report".into(), b.report.unwrap_or(true).into());
            map.insert("clear".into(), b.clear.unwrap_or(false).into());
            put(&mut map, "customerIdentifier", b.customer_identifier);
            ("CustomerInformation", Value::Object(map))
        }
        Command::SetNetworkProfile => {
            let b: SetNetworkProfileBody = parse(slug, body)?;
            if !b.connection_data.is_object() {
                return Err(ApiError::BadRequest(
                    "connection_data must be an object".into(),
                ));
            }
            (
                "SetNetworkProfile",
                json!({
                    "configurationSlot": b.configuration_slot,
                    "connectionData": camel_case_keys(b.connection_data),
                }),
            )
        }
        Command::GetTransactionStatus => {
            let b: GetTransactionStatusBody = parse(slug, body)?;
            let mut map = Map::new();
            put(&mut map, "transactionId", b.transaction_id);
            ("GetTransactionStatus", Value::Object(map))
        }
        Command::CostUpdated => {
            let b: CostUpdatedBody = parse(slug, body)?;
            (
                "CostUpdated",
                json!({"totalCost": Value::Number(b.total_cost), "transactionId": b.transaction_id}),
            )
        }
    })
}

/// A 2.x `GetVariableData` / `SetVariableData` entry.
fn variable_data(v: VariableRef, set: bool) -> Result<Value, ApiError> {
    let mut component = Map::new();
    put(&mut component, "evse", evse(v.evse_id, v.connector_id)?);
    component.insert("name".into(), v.component.into());
    put(&mut component, "instance", v.component_instance);
    let mut variable = Map::new();
    variable.insert("name".into(), v.variable.into());
    put(&mut variable, "instance", v.variable_instance);
    let mut data = Map::new();
    put(&mut data, "attributeType", v.attribute_type);
    if set {
        let value = v
            .value
            .ok_or_else(|| ApiError::BadRequest("each variable to set needs a `value`".into()))?;
        data.insert("attributeValue".into(), value.into());
    } else if v.value.is_some() {
        return Err(ApiError::BadRequest(
            "`value` is for set-configuration".into(),
        ));
    }
    data.insert("component".into(), Value::Object(component));
    data.insert("variable".into(), Value::Object(variable));
    Ok(Value::Object(data))
}

/// The device-model report a GetBaseReport/GetReport will bring: its request id and whether
/// it replaces the stored model (a full inventory) or merges into it.
fn expected_report(action: &str, payload: &Value) -> Option<(i64, ReportScope)> {
    let request_id = payload.get("requestId")?.as_i64()?;
    match action {
        "GetBaseReport" if payload["reportBase"] == "FullInventory" => {
            Some((request_id, ReportScope::Full))
        }
        "GetBaseReport" | "GetReport" => Some((request_id, ReportScope::Partial)),
        _ => None,
    }
}

// ------------------------------------------------------------------ sending

/// Decodes the payload into the version's request type (its field order is the schema's)
/// and sends it; returns what was sent and the charger's typed answer.
pub(crate) async fn send<A: Action>(
    commands: &Commands,
    charger: &ChargerId,
    payload: Value,
) -> Result<(Value, Value), ApiError> {
    let request: A = serde_json::from_value(payload)
        .map_err(|e| ApiError::InvalidOcpp(format!("{}: {e}", A::NAME)))?;
    let sent = serde_json::to_value(&request).map_err(|e| ApiError::Internal(e.to_string()))?;
    let response = commands
        .call(charger, request)
        .await
        .map_err(|e| ApiError::from_command(charger.as_str(), A::VERSION, e))?;
    let response = serde_json::to_value(response).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((sent, response))
}

/// The request types of the commands (and of the reservation, charging-profile and
/// local-list resources), per version.
pub(crate) async fn send_typed(
    commands: &Commands,
    charger: &ChargerId,
    version: OcppVersion,
    action: &str,
    payload: Value,
) -> Result<(Value, Value), ApiError> {
    macro_rules! dispatch {
        ($m:ident: $($name:literal => $ty:ident),* $(,)?) => {
            match action {
                $($name => send::<$m::$ty>(commands, charger, payload).await,)*
                other => Err(ApiError::Internal(format!(
                    "no {} request type for {other}", version
                ))),
            }
        };
    }
    macro_rules! two_x {
        ($m:ident) => {
            dispatch!($m:
                "RequestStartTransaction" => RequestStartTransactionRequest,
                "RequestStopTransaction" => RequestStopTransactionRequest,
                "Reset" => ResetRequest,
                "UnlockConnector" => UnlockConnectorRequest,
                "ChangeAvailability" => ChangeAvailabilityRequest,
                "TriggerMessage" => TriggerMessageRequest,
                "GetVariables" => GetVariablesRequest,
                "SetVariables" => SetVariablesRequest,
                "ClearCache" => ClearCacheRequest,
                "DataTransfer" => DataTransferRequest,
                "GetLocalListVersion" => GetLocalListVersionRequest,
                "CancelReservation" => CancelReservationRequest,
                "GetCompositeSchedule" => GetCompositeScheduleRequest,
                "ClearChargingProfile" => ClearChargingProfileRequest,
                "GetBaseReport" => GetBaseReportRequest,
                "GetReport" => GetReportRequest,
                "SetVariableMonitoring" => SetVariableMonitoringRequest,
                "ClearVariableMonitoring" => ClearVariableMonitoringRequest,
                "SetMonitoringBase" => SetMonitoringBaseRequest,
                "SetMonitoringLevel" => SetMonitoringLevelRequest,
                "GetMonitoringReport" => GetMonitoringReportRequest,
                "SetDisplayMessage" => SetDisplayMessageRequest,
                "GetDisplayMessages" => GetDisplayMessagesRequest,
                "ClearDisplayMessage" => ClearDisplayMessageRequest,
                "CustomerInformation" => CustomerInformationRequest,
                "SetNetworkProfile" => SetNetworkProfileRequest,
                "GetTransactionStatus" => GetTransactionStatusRequest,
                "CostUpdated" => CostUpdatedRequest,
                "ReserveNow" => ReserveNowRequest,
                "SetChargingProfile" => SetChargingProfileRequest,
                "SendLocalList" => SendLocalListRequest,
            )
        };
    }
    match version {
        OcppVersion::V16 => dispatch!(v16:
            "RemoteStartTransaction" => RemoteStartTransactionRequest,
            "RemoteStopTransaction" => RemoteStopTransactionRequest,
            "Reset" => ResetRequest,
            "UnlockConnector" => UnlockConnectorRequest,
            "ChangeAvailability" => ChangeAvailabilityRequest,
            "TriggerMessage" => TriggerMessageRequest,
            "ExtendedTriggerMessage" => ExtendedTriggerMessageRequest,
            "GetConfiguration" => GetConfigurationRequest,
            "ChangeConfiguration" => ChangeConfigurationRequest,
            "ClearCache" => ClearCacheRequest,
            "DataTransfer" => DataTransferRequest,
            "GetLocalListVersion" => GetLocalListVersionRequest,
            "CancelReservation" => CancelReservationRequest,
            "GetCompositeSchedule" => GetCompositeScheduleRequest,
            "ClearChargingProfile" => ClearChargingProfileRequest,
            "ReserveNow" => ReserveNowRequest,
            "SetChargingProfile" => SetChargingProfileRequest,
            "SendLocalList" => SendLocalListRequest,
        ),
        OcppVersion::V201 => two_x!(v201),
        OcppVersion::V21 => two_x!(v21),
    }
}

/// The body as JSON (field order kept); an empty body is `{}`.
pub(crate) fn json_body(bytes: &Bytes) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(bytes).map_err(|e| ApiError::BadRequest(format!("invalid JSON: {e}")))
}

/// The connected charger's version; 404 when the charger is not registered, 409 when it is
/// offline.
pub(crate) async fn connected(
    state: &ApiState,
    id: &str,
) -> Result<(ChargerId, OcppVersion), ApiError> {
    let charger = ChargerId::new(id).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if state.services.chargers.get(&charger).await?.is_none() {
        return Err(ApiError::NotFound(format!("no charger {charger}")));
    }
    let version = state
        .commands
        .is_online(&charger)
        .ok_or_else(|| ApiError::ChargerOffline(charger.as_str().to_owned()))?;
    Ok((charger, version))
}

pub(crate) fn validate(
    version: OcppVersion,
    action: &str,
    payload: &Value,
) -> Result<(), ApiError> {
    ampere_ocpp::validate(version, action, MessageKind::Request, payload).map_err(|violation| {
        ApiError::InvalidOcpp(format!("{action} (OCPP {version}): {violation}"))
    })
}

/// Configuration keys and device-model variables whose values are charger credentials.
const SECRET_NAMES: [&str; 2] = ["AuthorizationKey", "BasicAuthPassword"];

/// Fields that hold a credential wherever they appear (network profiles: APN and VPN
/// passwords, the SIM PIN, 2.1's basic-auth password), in body and wire spelling.
const SECRET_FIELDS: [&str; 7] = [
    "password",
    "apn_password",
    "apnPassword",
    "sim_pin",
    "simPin",
    "basic_auth_password",
    "basicAuthPassword",
];

/// A request as the audit log keeps it: values of credential settings (1.6
/// `AuthorizationKey`, 2.x `BasicAuthPassword`) replaced by `***`, whether the request is a
/// command body or a raw OCPP payload.
pub(crate) fn redact_secrets(mut request: Value) -> Value {
    fn names_secret(value: Option<&Value>) -> bool {
        let name = match value {
            Some(Value::String(s)) => Some(s.as_str()),
            Some(Value::Object(o)) => o.get("name").and_then(Value::as_str),
            _ => None,
        };
        name.is_some_and(|n| SECRET_NAMES.iter().any(|s| s.eq_ignore_ascii_case(n)))
    }
    fn walk(value: &mut Value) {
        match value {
            Value::Object(map) => {
                // 1.6 ChangeConfiguration / set-configuration: {key, value};
                // 2.x SetVariableData: {variable: {name}, attributeValue};
                // set-configuration variables: {variable, value}.
                if names_secret(map.get("key")) || names_secret(map.get("variable")) {
                    for field in ["value", "attributeValue"] {
                        if let Some(v) = map.get_mut(field) {
                            *v = Value::String("***".into());
                        }
                    }
                }
                for (field, v) in map.iter_mut() {
                    if SECRET_FIELDS.contains(&field.as_str()) {
                        *v = Value::String("***".into());
                    }
                }
                // A VPN's `key` is its shared secret (elsewhere `key` names a 1.6 setting).
                if let Some(Value::Object(vpn)) = map.get_mut("vpn")
                    && let Some(key) = vpn.get_mut("key")
                {
                    *key = Value::String("***".into());
                }
                map.values_mut().for_each(walk);
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut request);
    request
}

/// Records the outcome in the audit log and passes it on.
async fn audited(
    state: &ApiState,
    caller: &Caller,
    action: String,
    charger: &str,
    request: Value,
    result: Result<CommandAnswer, ApiError>,
) -> Result<Json<CommandAnswer>, ApiError> {
    let response = result.as_ref().map(|answer| &answer.response);
    record_outcome(state, caller, &action, charger, request, response).await;
    result.map(Json)
}

/// Writes a call to a charger and its outcome (the charger's response, or the problem
/// answered instead) to the audit log, credentials masked, and shows it to live
/// subscribers. Every path that calls a charger for an operator ends here.
pub(crate) async fn record_outcome(
    state: &ApiState,
    caller: &Caller,
    action: &str,
    charger: &str,
    request: Value,
    response: Result<&Value, &ApiError>,
) {
    let outcome = match response {
        Ok(response) => json!({"status": 200, "response": response}),
        Err(error) => json!({"status": error.status().as_u16(), "problem": error.problem()}),
    };
    let request = redact_secrets(request);
    if state.events.has_subscribers() {
        let data = crate::events::command_data(action, request.clone(), &outcome);
        state
            .events
            .publish(charger, crate::events::EventType::Command, data);
    }
    audit(
        state,
        caller,
        action.to_owned(),
        Some(charger.to_owned()),
        request,
        outcome,
    )
    .await;
}

/// Send a command to a charger in its own OCPP version.
///
/// Commands and their bodies: `remote-start {id_token, evse_id?, id_token_type?,
/// remote_start_id?}`, `remote-stop {transaction_id}`, `reset {type, evse_id?}`,
/// `unlock {evse_id, connector_id?}`, `change-availability {operational_status, evse_id?,
/// connector_id?}`, `trigger-message {requested_message, evse_id?, connector_id?}`,
/// `get-configuration {keys?}` (1.6) / `{variables}` (2.x), `set-configuration {key, value}`
/// (1.6) / `{variables}` (2.x), `clear-cache {}`, `data-transfer {vendor_id, message_id?,
/// data?}`, `get-local-list-version {}`, `cancel-reservation {reservation_id}`,
/// `get-composite-schedule {evse_id, duration, charging_rate_unit?}`,
/// `clear-charging-profile {charging_profile_id?, evse_id?, purpose?, stack_level?}`.
///
/// OCPP 2.x only (a 1.6 charger gets 422 `not-in-ocpp-version`): `get-variables
/// {variables}`, `set-variables {variables}`, `get-base-report {request_id?, report_base?}`
/// and `get-report {request_id?, criteria?, variables?}` (the NotifyReport parts that follow
/// become the stored device model, `GET /api/v1/chargers/{id}/device-model`),
/// `set-variable-monitoring {monitors}`, `clear-variable-monitoring {ids}`,
/// `set-monitoring-base {monitoring_base}`, `set-monitoring-level {severity}`,
/// `get-monitoring-report {request_id?, criteria?, variables?}`, `set-display-message {id,
/// priority, content, format?, language?, state?, start_date_time?, end_date_time?,
/// transaction_id?}`, `get-display-messages {request_id?, ids?, priority?, state?}`,
/// `clear-display-message {id}`, `customer-information {request_id?, report?, clear?,
/// customer_identifier?, id_token?, id_token_type?, customer_certificate?}`,
/// `set-network-profile {configuration_slot, connection_data}`, `get-transaction-status
/// {transaction_id?}`, `cost-updated {total_cost, transaction_id}`.
///
/// Where no `request_id` is given Ampere picks one; the answer's `request` shows it.
#[utoipa::path(post, path = "/api/v1/chargers/{id}/commands/{command}", tag = "commands",
    params(
        ("id" = String, Path, description = "charger identity"),
        ("command" = String, Path, description = "remote-start, remote-stop, reset, unlock, change-availability, trigger-message, get-configuration, set-configuration, clear-cache, data-transfer, get-local-list-version, cancel-reservation, get-composite-schedule, clear-charging-profile; 2.x only: get-variables, set-variables, get-base-report, get-report, set-variable-monitoring, clear-variable-monitoring, set-monitoring-base, set-monitoring-level, get-monitoring-report, set-display-message, get-display-messages, clear-display-message, customer-information, set-network-profile, get-transaction-status, cost-updated"),
    ),
    request_body(content = Object, description = "the command's body (see above)"),
    responses(
        (status = 200, body = CommandAnswer, description = "the charger's response"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "unknown charger or command", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "charger offline", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "the command (or the message it asks for) does not exist in the charger's OCPP version", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "the charger answered CALLERROR", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "the charger did not answer in time", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn command(
    State(state): State<ApiState>,
    Operator(caller): Operator,
    Path((id, slug)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<CommandAnswer>, ApiError> {
    let command = Command::from_slug(&slug)
        .ok_or_else(|| ApiError::NotFound(format!("no command {slug:?}")))?;
    let body = json_body(&body)?;
    let result = async {
        let (charger, version) = connected(&state, &id).await?;
        let (action, payload) = build(command, version, body.clone())?;
        validate(version, action, &payload)?;
        // Told before the call goes out: the charger may send its first part before it
        // answers.
        if let Some((request_id, scope)) = expected_report(action, &payload) {
            state
                .services
                .device_model
                .expect_report(&charger, request_id, scope)
                .await?;
        }
        let (sent, response) =
            send_typed(&state.commands, &charger, version, action, payload).await?;
        Ok(CommandAnswer {
            charger_id: charger.as_str().to_owned(),
            command: slug.clone(),
            protocol: version.subprotocol().to_owned(),
            action: action.to_owned(),
            request: sent,
            response,
        })
    }
    .await;
    audited(
        &state,
        &caller,
        format!("command {slug}"),
        &id,
        body,
        result,
    )
    .await
}

/// Send any CSMS-initiated OCPP action of the charger's version, the body as the payload.
/// The payload is validated against the action's schema first, then sent exactly as given
/// (field order kept).
#[utoipa::path(post, path = "/api/v1/chargers/{id}/ocpp/{action}", tag = "commands",
    params(
        ("id" = String, Path, description = "charger identity"),
        ("action" = String, Path, description = "OCPP action name, e.g. Reset"),
    ),
    request_body(content = Object, description = "the OCPP request payload"),
    responses(
        (status = 200, body = CommandAnswer, description = "the charger's response"),
        (status = 400, description = "not a valid request of this action in the charger's version", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "charger offline", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "the charger answered CALLERROR", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "the charger did not answer in time", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn raw(
    State(state): State<ApiState>,
    Operator(caller): Operator,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<CommandAnswer>, ApiError> {
    let payload = json_body(&body)?;
    let result = async {
        let (charger, version) = connected(&state, &id).await?;
        let info = ampere_ocpp::action(version, &action).ok_or_else(|| {
            ApiError::InvalidOcpp(format!("OCPP {version} has no action {action:?}"))
        })?;
        if info.initiator == Initiator::Charger || info.send {
            return Err(ApiError::InvalidOcpp(format!(
                "{action} is sent by chargers, not by the CSMS"
            )));
        }
        validate(version, &action, &payload)?;
        let response = state
            .commands
            .call_raw(&charger, &action, payload.clone())
            .await
            .map_err(|e| ApiError::from_command(charger.as_str(), version, e))?;
        Ok(CommandAnswer {
            charger_id: charger.as_str().to_owned(),
            command: "ocpp".into(),
            protocol: version.subprotocol().to_owned(),
            action: action.clone(),
            request: payload.clone(),
            response,
        })
    }
    .await;
    audited(
        &state,
        &caller,
        format!("ocpp {action}"),
        &id,
        payload,
        result,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(command: Command, version: OcppVersion, body: Value) -> (&'static str, Value) {
        let (action, payload) = build(command, version, body).unwrap();
        validate(version, action, &payload).unwrap();
        (action, payload)
    }

    #[test]
    fn slugs_round_trip() {
        for c in Command::ALL {
            assert_eq!(Command::from_slug(c.slug()), Some(c));
        }
        assert_eq!(Command::from_slug("explode"), None);
    }

    #[test]
    fn reset_names_map_across_versions() {
        assert_eq!(
            wire(
                Command::Reset,
                OcppVersion::V16,
                json!({"type": "Immediate"})
            ),
            ("Reset", json!({"type": "Hard"}))
        );
        assert_eq!(
            wire(
                Command::Reset,
                OcppVersion::V21,
                json!({"type": "Soft", "evse_id": 2})
            ),
            ("Reset", json!({"type": "OnIdle", "evseId": 2}))
        );
        assert!(
            build(
                Command::Reset,
                OcppVersion::V16,
                json!({"type": "Soft", "evse_id": 1})
            )
            .is_err()
        );
        assert!(
            build(
                Command::Reset,
                OcppVersion::V16,
                json!({"type": "Sideways"})
            )
            .is_err()
        );
    }

    #[test]
    fn every_command_builds_a_valid_payload_in_every_version() {
        let bodies = [
            (
                Command::RemoteStart,
                json!({"id_token": "TAG", "evse_id": 1, "remote_start_id": 7}),
            ),
            (Command::RemoteStop, json!({"transaction_id": "42"})),
            (Command::Reset, json!({"type": "Soft"})),
            (Command::Unlock, json!({"evse_id": 1})),
            (
                Command::ChangeAvailability,
                json!({"operational_status": "Inoperative", "evse_id": 1}),
            ),
            (
                Command::TriggerMessage,
                json!({"requested_message": "StatusNotification", "evse_id": 1}),
            ),
            (Command::ClearCache, json!({})),
            (
                Command::DataTransfer,
                json!({"vendor_id": "acme", "data": {"a": 1}}),
            ),
            (Command::GetLocalListVersion, json!({})),
            (Command::CancelReservation, json!({"reservation_id": 3})),
            (
                Command::GetCompositeSchedule,
                json!({"evse_id": 1, "duration": 3600, "charging_rate_unit": "W"}),
            ),
            (
                Command::ClearChargingProfile,
                json!({"evse_id": 1, "purpose": "ChargePointMaxProfile", "stack_level": 0}),
            ),
            (
                Command::ClearChargingProfile,
                json!({"charging_profile_id": 5}),
            ),
        ];
        for version in OcppVersion::NEWEST_FIRST {
            for (command, body) in &bodies {
                let (action, payload) = build(*command, version, body.clone())
                    .unwrap_or_else(|e| panic!("{command:?} {version}: {e}"));
                validate(version, action, &payload)
                    .unwrap_or_else(|e| panic!("{command:?} {version}: {e:?}"));
            }
        }
        let variables = json!({"variables": [{"component": "OCPPCommCtrlr", "variable": "HeartbeatInterval", "value": "60"}]});
        wire(Command::SetConfiguration, OcppVersion::V201, variables);
        wire(
            Command::SetConfiguration,
            OcppVersion::V16,
            json!({"key": "HeartbeatInterval", "value": "60"}),
        );
        wire(
            Command::GetConfiguration,
            OcppVersion::V201,
            json!({"variables": [{"component": "OCPPCommCtrlr", "variable": "HeartbeatInterval"}]}),
        );
        wire(Command::GetConfiguration, OcppVersion::V16, json!({}));
    }

    #[test]
    fn credentials_are_kept_out_of_the_audit_log() {
        assert_eq!(
            redact_secrets(json!({"key": "AuthorizationKey", "value": "s3cret"})),
            json!({"key": "AuthorizationKey", "value": "***"})
        );
        assert_eq!(
            redact_secrets(json!({"setVariableData": [
                {"attributeValue": "s3cret", "component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"}},
                {"attributeValue": "60", "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}},
            ]})),
            json!({"setVariableData": [
                {"attributeValue": "***", "component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"}},
                {"attributeValue": "60", "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}},
            ]})
        );
        assert_eq!(
            redact_secrets(
                json!({"variables": [{"component": "SecurityCtrlr", "variable": "BasicAuthPassword", "value": "s3cret"}]})
            ),
            json!({"variables": [{"component": "SecurityCtrlr", "variable": "BasicAuthPassword", "value": "***"}]})
        );
        let plain = json!({"key": "HeartbeatInterval", "value": "60"});
        assert_eq!(redact_secrets(plain.clone()), plain);
    }

    #[test]
    fn charging_profile_purposes_use_each_versions_name() {
        let body = json!({"purpose": "ChargingStationMaxProfile"});
        assert_eq!(
            wire(
                Command::ClearChargingProfile,
                OcppVersion::V16,
                body.clone()
            )
            .1,
            json!({"chargingProfilePurpose": "ChargePointMaxProfile"})
        );
        assert_eq!(
            wire(Command::ClearChargingProfile, OcppVersion::V201, body).1,
            json!({"chargingProfileCriteria": {"chargingProfilePurpose": "ChargingStationMaxProfile"}})
        );
    }

    #[test]
    fn commands_2x_only_are_refused_for_1_6_with_422() {
        for command in Command::ALL
            .into_iter()
            .filter(|c| !c.in_version(OcppVersion::V16))
        {
            let err = build(command, OcppVersion::V16, json!({})).unwrap_err();
            assert!(
                matches!(err, ApiError::NotInVersion(_)),
                "{command:?}: {err:?}"
            );
            assert_eq!(err.status().as_u16(), 422);
        }
    }

    #[test]
    fn trigger_message_picks_the_1_6_action_and_each_versions_names() {
        let trigger = |version, body| wire(Command::TriggerMessage, version, body);
        assert_eq!(
            trigger(OcppVersion::V16, json!({"requested_message": "Heartbeat"})),
            ("TriggerMessage", json!({"requestedMessage": "Heartbeat"}))
        );
        assert_eq!(
            trigger(
                OcppVersion::V16,
                json!({"requested_message": "LogStatusNotification"})
            ),
            (
                "ExtendedTriggerMessage",
                json!({"requestedMessage": "LogStatusNotification"})
            )
        );
        assert_eq!(
            trigger(
                OcppVersion::V16,
                json!({"requested_message": "SignChargingStationCertificate"})
            )
            .1,
            json!({"requestedMessage": "SignChargePointCertificate"})
        );
        assert_eq!(
            trigger(
                OcppVersion::V16,
                json!({"requested_message": "MeterValues", "evse_id": 1, "extended": true})
            ),
            (
                "ExtendedTriggerMessage",
                json!({"requestedMessage": "MeterValues", "connectorId": 1})
            )
        );
        let err = build(
            Command::TriggerMessage,
            OcppVersion::V16,
            json!({"requested_message": "TransactionEvent"}),
        )
        .unwrap_err();
        assert!(matches!(err, ApiError::NotInVersion(_)), "{err:?}");
        let err = build(
            Command::TriggerMessage,
            OcppVersion::V201,
            json!({"requested_message": "Nonsense"}),
        )
        .unwrap_err();
        assert!(matches!(err, ApiError::BadRequest(_)), "{err:?}");
        for version in OcppVersion::NEWEST_FIRST {
            for message in triggerable(version) {
                let mut body = json!({"requested_message": message});
                if message == "CustomTrigger" {
                    body["custom_trigger"] = json!("vendor.x");
                }
                wire(Command::TriggerMessage, version, body);
            }
        }
    }

    #[test]
    fn network_profile_fields_are_camel_cased_and_its_secrets_redacted() {
        let body = json!({"configuration_slot": 1, "connection_data": {
            "ocpp_version": "OCPP20", "ocpp_transport": "JSON",
            "ocpp_csms_url": "wss://csms.example/ocpp", "message_timeout": 30,
            "security_profile": 2, "ocpp_interface": "Wired0",
            "vpn": {"server": "vpn", "user": "u", "password": "p", "key": "k", "type": "IPSec"},
        }});
        let (_, payload) = wire(Command::SetNetworkProfile, OcppVersion::V201, body.clone());
        assert_eq!(
            payload["connectionData"]["ocppCsmsUrl"],
            "wss://csms.example/ocpp"
        );
        assert_eq!(payload["connectionData"]["vpn"]["password"], "p");
        let kept = redact_secrets(body);
        assert_eq!(kept["connection_data"]["vpn"]["password"], "***");
        assert_eq!(kept["connection_data"]["vpn"]["key"], "***");
        assert_eq!(kept["connection_data"]["vpn"]["user"], "u");
        assert_eq!(
            redact_secrets(payload)["connectionData"]["vpn"]["key"],
            "***"
        );
    }

    #[test]
    fn a_full_inventory_is_expected_to_replace_the_model() {
        let (action, payload) = wire(
            Command::GetBaseReport,
            OcppVersion::V201,
            json!({"request_id": 4}),
        );
        assert_eq!(
            payload,
            json!({"requestId": 4, "reportBase": "FullInventory"})
        );
        assert_eq!(
            expected_report(action, &payload),
            Some((4, ReportScope::Full))
        );
        let (action, payload) = wire(
            Command::GetReport,
            OcppVersion::V21,
            json!({"request_id": 5, "criteria": ["Problem"]}),
        );
        assert_eq!(
            expected_report(action, &payload),
            Some((5, ReportScope::Partial))
        );
        assert_eq!(expected_report("Reset", &json!({"requestId": 1})), None);
    }

    #[test]
    fn unknown_body_fields_are_refused() {
        let err = build(Command::Reset, OcppVersion::V16, json!({"typ": "Soft"})).unwrap_err();
        assert!(matches!(err, ApiError::BadRequest(_)), "{err:?}");
    }
}
