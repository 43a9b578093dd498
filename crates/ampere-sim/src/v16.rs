//! OCPP 1.6: the messages a simulated charge point sends, and its answers to the central
//! system's calls. Every message is one of `ampere_ocpp::v16`'s generated types.

use ampere_ocpp::CallError;
use ampere_ocpp::v16::{
    self, AuthorizeRequest, BootNotificationRequest, BootNotificationStatus,
    CancelReservationStatus as AcceptedRejected, ChangeAvailabilityResponse,
    ChangeAvailabilityStatus, ChangeAvailabilityType, ChangeConfigurationResponse,
    ChangeConfigurationStatus, ClearCacheResponse, ConfigurationKey, Context,
    DiagnosticsStatusNotificationRequest, DiagnosticsStatusNotificationStatus,
    FirmwareStatusNotificationRequest, FirmwareStatusNotificationStatus, GetConfigurationResponse,
    HeartbeatRequest, IdTagInfoStatus, Location, Measurand, MeterValue, MeterValueSampledValue,
    MeterValuesMeterValueSampledValueUnit as Unit, MeterValuesRequest, Reason,
    RemoteStartTransactionResponse, RemoteStopTransactionResponse, RequestedMessage, ResetResponse,
    ResetType, StartTransactionRequest, StatusNotificationErrorCode, StatusNotificationRequest,
    StatusNotificationStatus, StopTransactionRequest, TriggerMessageResponse, TriggerMessageStatus,
    UnlockConnectorResponse, UnlockConnectorStatus,
};
use serde_json::Value;
use tokio::time::Instant;

use crate::Stats;
use crate::answer::{not_implemented, typed};
use crate::link::{Link, SimError};
use crate::model::{
    ConnectorState, Effect, Registration, SETTINGS, Station, StopReason, TxRef, setting_by_key,
};

// ---------------------------------------------------------------------------------------
// What the charge point sends.

pub(crate) async fn boot(
    link: &mut Link,
    st: &mut Station,
    stats: &Stats,
) -> Result<(Registration, u64), SimError> {
    let p = &st.profile;
    let request = BootNotificationRequest {
        charge_point_vendor: clip(&p.vendor, 20),
        charge_point_model: clip(&p.model, 20),
        charge_point_serial_number: Some(serial(&st.id)),
        charge_box_serial_number: None,
        firmware_version: Some(clip(&st.firmware_version, 50)),
        iccid: None,
        imsi: None,
        meter_type: Some("SimMeter".into()),
        meter_serial_number: None,
    };
    let answer = link.call(st, stats, request).await?;
    let registration = match answer.status {
        BootNotificationStatus::Accepted => Registration::Accepted,
        BootNotificationStatus::Pending => Registration::Pending,
        BootNotificationStatus::Rejected => Registration::Rejected,
    };
    Ok((registration, u64::try_from(answer.interval).unwrap_or(0)))
}

pub(crate) async fn heartbeat(
    link: &mut Link,
    st: &mut Station,
    stats: &Stats,
) -> Result<(), SimError> {
    link.call(st, stats, HeartbeatRequest {}).await.map(|_| ())
}

pub(crate) async fn status(
    link: &mut Link,
    st: &mut Station,
    stats: &Stats,
    evse: u32,
) -> Result<(), SimError> {
    let Some(e) = st.evse(evse) else {
        return Ok(());
    };
    let faulted = e.state == ConnectorState::Faulted;
    let error_code = match (&st.fault, faulted) {
        (Some(code), true) => serde_json::from_value(Value::String(code.clone()))
            .unwrap_or(StatusNotificationErrorCode::OtherError),
        _ => StatusNotificationErrorCode::NoError,
    };
    let request = StatusNotificationRequest {
        connector_id: i64::from(e.id),
        error_code,
        info: None,
        status: match e.state {
            ConnectorState::Available => StatusNotificationStatus::Available,
            ConnectorState::Preparing => StatusNotificationStatus::Preparing,
            ConnectorState::Charging => StatusNotificationStatus::Charging,
            ConnectorState::SuspendedEv => StatusNotificationStatus::SuspendedEV,
            ConnectorState::Finishing => StatusNotificationStatus::Finishing,
            ConnectorState::Unavailable => StatusNotificationStatus::Unavailable,
            ConnectorState::Reserved => StatusNotificationStatus::Reserved,
            ConnectorState::Faulted => StatusNotificationStatus::Faulted,
        },
        timestamp: Some(st.now()),
        vendor_id: None,
        vendor_error_code: None,
    };
    link.call(st, stats, request).await.map(|_| ())
}

/// Whether the central system accepted `token`.
pub(crate) async fn authorize(
    link: &mut Link,
    st: &mut Station,
    stats: &Stats,
    token: &str,
) -> Result<bool, SimError> {
    let request = AuthorizeRequest {
        id_tag: clip(token, 20),
    };
    let answer = link.call(st, stats, request).await?;
    Ok(answer.id_tag_info.status == IdTagInfoStatus::Accepted)
}

/// StartTransaction for the session just begun on `evse`; whether the tag was accepted
/// (a start queued offline counts as accepted: the charger decided locally).
pub(crate) async fn start_transaction(
    link: Option<&mut Link>,
    st: &mut Station,
    stats: &Stats,
    evse: u32,
) -> Result<bool, SimError> {
    let Some(e) = st.evse(evse) else {
        return Ok(false);
    };
    let Some(session) = &e.session else {
        return Ok(false);
    };
    let request = StartTransactionRequest {
        connector_id: i64::from(e.id),
        id_tag: clip(&session.id_token, 20),
        meter_start: session.meter_start_wh.floor() as i64,
        reservation_id: session.reservation_id,
        timestamp: session.started_at,
    };
    let key = st.outbox.new_key();
    let answer = crate::outbox::send(link, st, stats, request, Some(key)).await?;
    let (tx, accepted) = match answer {
        Some(answer) => (
            TxRef::V16(answer.transaction_id),
            answer.id_tag_info.status == IdTagInfoStatus::Accepted,
        ),
        None => (TxRef::Queued(key), true),
    };
    if let Some(session) = st.evse_mut(evse).and_then(|e| e.session.as_mut()) {
        session.tx = tx;
    }
    Ok(accepted)
}

/// The transaction id to put in a message of the session on `evse`, and the outbox key
/// when the id is not known yet.
fn transaction_ref(st: &Station, evse: u32) -> Option<(i64, Option<u64>)> {
    match st.evse(evse)?.session.as_ref()?.tx {
        TxRef::V16(id) => Some((id, None)),
        // Filled in from the queued StartTransaction's answer at replay.
        TxRef::Queued(key) => Some((0, Some(key))),
        _ => None,
    }
}

fn samples(st: &Station, evse: u32, context: Context) -> Option<MeterValue> {
    let e = st.evse(evse)?;
    let sampled = |value: String, measurand, unit, location| MeterValueSampledValue {
        value,
        context: Some(context),
        format: None,
        measurand: Some(measurand),
        phase: None,
        location,
        unit: Some(unit),
    };
    let mut sampled_value = vec![sampled(
        e.register_reading().to_string(),
        Measurand::EnergyActiveImportRegister,
        Unit::Wh,
        Some(Location::Outlet),
    )];
    if let Some(session) = &e.session {
        sampled_value.push(sampled(
            format!("{:.0}", session.meter.power_w),
            Measurand::PowerActiveImport,
            Unit::W,
            Some(Location::Outlet),
        ));
        sampled_value.push(sampled(
            format!("{:.0}", session.meter.ev.soc * 100.0),
            Measurand::SoC,
            Unit::Percent,
            Some(Location::EV),
        ));
    }
    Some(MeterValue {
        timestamp: st.now(),
        sampled_value,
    })
}

/// MeterValues of `evse` (with its transaction when one runs).
pub(crate) async fn meter_values(
    link: Option<&mut Link>,
    st: &mut Station,
    stats: &Stats,
    evse: u32,
    triggered: bool,
) -> Result<(), SimError> {
    st.sample(evse, Instant::now());
    let context = if triggered {
        Context::Trigger
    } else {
        Context::SamplePeriodic
    };
    let Some(meter_value) = samples(st, evse, context) else {
        return Ok(());
    };
    let tx = transaction_ref(st, evse);
    if tx.is_none() && link.is_none() {
        // Outside a transaction a reading is not worth keeping for later.
        return Ok(());
    }
    let request = MeterValuesRequest {
        connector_id: i64::from(evse),
        transaction_id: tx.map(|(id, _)| id),
        meter_value: vec![meter_value],
    };
    crate::outbox::send(link, st, stats, request, tx.and_then(|(_, key)| key))
        .await
        .map(|_| ())
}

pub(crate) async fn stop_transaction(
    link: Option<&mut Link>,
    st: &mut Station,
    stats: &Stats,
    evse: u32,
    reason: StopReason,
) -> Result<(), SimError> {
    st.sample(evse, Instant::now());
    let transaction_data = samples(st, evse, Context::TransactionEnd).map(|mv| {
        vec![v16::TransactionData {
            timestamp: mv.timestamp,
            sampled_value: mv
                .sampled_value
                .into_iter()
                .filter(|s| s.measurand == Some(Measurand::EnergyActiveImportRegister))
                .map(|s| v16::TransactionDataSampledValue {
                    value: s.value,
                    context: s.context,
                    format: s.format,
                    measurand: s.measurand,
                    phase: s.phase,
                    location: s.location,
                    unit: Some(v16::StopTransactionTransactionDataSampledValueUnit::Wh),
                })
                .collect(),
        }]
    });
    let Some((transaction_id, key)) = transaction_ref(st, evse) else {
        return Ok(());
    };
    let Some(e) = st.evse(evse) else {
        return Ok(());
    };
    let Some(session) = &e.session else {
        return Ok(());
    };
    let request = StopTransactionRequest {
        id_tag: matches!(reason, StopReason::Local).then(|| clip(&session.id_token, 20)),
        meter_stop: e.register_reading(),
        timestamp: st.now(),
        transaction_id,
        reason: Some(match reason {
            StopReason::Local => Reason::Local,
            StopReason::Remote => Reason::Remote,
            StopReason::EvFull => Reason::EVDisconnected,
            StopReason::DeAuthorized => Reason::DeAuthorized,
            StopReason::Reset { hard: true } => Reason::HardReset,
            StopReason::Reset { hard: false } => Reason::SoftReset,
            StopReason::Unlocked => Reason::UnlockCommand,
            StopReason::Shutdown | StopReason::PowerLoss => Reason::PowerLoss,
        }),
        transaction_data,
    };
    crate::outbox::send(link, st, stats, request, key)
        .await
        .map(|_| ())
}

pub(crate) async fn diagnostics_idle(
    link: &mut Link,
    st: &mut Station,
    stats: &Stats,
) -> Result<(), SimError> {
    let request = DiagnosticsStatusNotificationRequest {
        status: DiagnosticsStatusNotificationStatus::Idle,
    };
    link.call(st, stats, request).await.map(|_| ())
}

pub(crate) async fn firmware_idle(
    link: &mut Link,
    st: &mut Station,
    stats: &Stats,
) -> Result<(), SimError> {
    let request = FirmwareStatusNotificationRequest {
        status: FirmwareStatusNotificationStatus::Idle,
    };
    link.call(st, stats, request).await.map(|_| ())
}

/// Text cut to the schema's maximum length (identities and vendor names are user input).
fn clip(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

fn serial(id: &str) -> String {
    clip(&format!("SN-{id}"), 25)
}

// ---------------------------------------------------------------------------------------
// What the charge point answers.

/// Answers a validated central-system call of 1.6.
pub(crate) fn answer(st: &mut Station, action: &str, payload: Value) -> Result<Value, CallError> {
    match action {
        "Reset" => typed(payload, |r| reset(st, r)),
        "RemoteStartTransaction" => typed(payload, |r| remote_start(st, r)),
        "RemoteStopTransaction" => typed(payload, |r| remote_stop(st, r)),
        "UnlockConnector" => typed(payload, |r| unlock_connector(st, r)),
        "ChangeAvailability" => typed(payload, |r| change_availability(st, r)),
        "GetConfiguration" => typed(payload, |r| get_configuration(st, r)),
        "ChangeConfiguration" => typed(payload, |r| change_configuration(st, r)),
        "TriggerMessage" => typed(payload, |r| trigger_message(st, r)),
        "ClearCache" => typed(payload, |_: v16::ClearCacheRequest| ClearCacheResponse {
            status: AcceptedRejected::Accepted,
        }),
        other => Err(not_implemented(other)),
    }
}

pub(crate) fn reset(st: &mut Station, request: v16::ResetRequest) -> ResetResponse {
    let hard = request.r#type == ResetType::Hard;
    let reason = StopReason::Reset { hard };
    let evses: Vec<u32> = st
        .evses
        .iter()
        .filter(|e| e.session.is_some())
        .map(|e| e.id)
        .collect();
    for evse in evses {
        st.effects.push_back(Effect::StopSession { evse, reason });
    }
    st.effects.push_back(Effect::Reboot { hard });
    ResetResponse {
        status: AcceptedRejected::Accepted,
    }
}

pub(crate) fn remote_start(
    st: &mut Station,
    request: v16::RemoteStartTransactionRequest,
) -> RemoteStartTransactionResponse {
    let wanted = request
        .connector_id
        .map(|c| u32::try_from(c).unwrap_or(u32::MAX));
    let status = match st.free_evse(wanted, &request.id_tag) {
        Some(evse) => {
            if let Some(e) = st.evse_mut(evse) {
                e.next_plug_at = None;
            }
            st.effects.push_back(Effect::StartSession {
                evse,
                connector: 1,
                id_token: request.id_tag,
                id_token_type: None,
                remote_start_id: None,
                authorize: st.authorize_remote_start,
            });
            AcceptedRejected::Accepted
        }
        _ => AcceptedRejected::Rejected,
    };
    RemoteStartTransactionResponse { status }
}

pub(crate) fn remote_stop(
    st: &mut Station,
    request: v16::RemoteStopTransactionRequest,
) -> RemoteStopTransactionResponse {
    let status = match st.evse_with_tx(&TxRef::V16(request.transaction_id)) {
        Some(evse) => {
            st.effects.push_back(Effect::StopSession {
                evse,
                reason: StopReason::Remote,
            });
            AcceptedRejected::Accepted
        }
        None => AcceptedRejected::Rejected,
    };
    RemoteStopTransactionResponse { status }
}

pub(crate) fn unlock_connector(
    st: &mut Station,
    request: v16::UnlockConnectorRequest,
) -> UnlockConnectorResponse {
    let id = u32::try_from(request.connector_id).unwrap_or(0);
    let status = match st.evse(id) {
        None => UnlockConnectorStatus::NotSupported,
        Some(e) => {
            // 1.6: unlocking a connector with a transaction stops the transaction first.
            if e.session.is_some() {
                st.effects.push_back(Effect::StopSession {
                    evse: id,
                    reason: StopReason::Unlocked,
                });
            }
            UnlockConnectorStatus::Unlocked
        }
    };
    UnlockConnectorResponse { status }
}

pub(crate) fn change_availability(
    st: &mut Station,
    request: v16::ChangeAvailabilityRequest,
) -> ChangeAvailabilityResponse {
    let operative = request.r#type == ChangeAvailabilityType::Operative;
    let targets: Vec<u32> = match request.connector_id {
        0 => st.evses.iter().map(|e| e.id).collect(),
        id => match u32::try_from(id).ok().filter(|id| st.evse(*id).is_some()) {
            Some(id) => vec![id],
            None => {
                return ChangeAvailabilityResponse {
                    status: ChangeAvailabilityStatus::Rejected,
                };
            }
        },
    };
    let mut scheduled = false;
    for id in targets {
        let Some(e) = st.evse_mut(id) else { continue };
        if e.session.is_some() && !operative {
            e.inoperative_after_session = true;
            scheduled = true;
            continue;
        }
        e.inoperative_after_session = false;
        if e.operative != operative {
            e.operative = operative;
            if !e.state.in_use() {
                e.state = if operative {
                    ConnectorState::Available
                } else {
                    ConnectorState::Unavailable
                };
            }
            st.effects.push_back(Effect::Status { evse: Some(id) });
        }
    }
    ChangeAvailabilityResponse {
        status: if scheduled {
            ChangeAvailabilityStatus::Scheduled
        } else {
            ChangeAvailabilityStatus::Accepted
        },
    }
}

pub(crate) fn get_configuration(
    st: &mut Station,
    request: v16::GetConfigurationRequest,
) -> GetConfigurationResponse {
    let entry = |s: &crate::model::Setting| ConfigurationKey {
        key: s.key.to_owned(),
        readonly: s.readonly,
        value: Some((s.get)(st)),
    };
    let (known, unknown): (Vec<ConfigurationKey>, Vec<String>) = match request.key {
        Some(keys) if !keys.is_empty() => {
            let mut known = Vec::new();
            let mut unknown = Vec::new();
            for key in keys {
                match setting_by_key(&key) {
                    Some(s) => known.push(entry(s)),
                    None => unknown.push(key),
                }
            }
            (known, unknown)
        }
        _ => (
            SETTINGS
                .iter()
                .filter(|s| !s.key.is_empty())
                .map(entry)
                .collect(),
            Vec::new(),
        ),
    };
    GetConfigurationResponse {
        configuration_key: (!known.is_empty()).then_some(known),
        unknown_key: (!unknown.is_empty()).then_some(unknown),
    }
}

pub(crate) fn change_configuration(
    st: &mut Station,
    request: v16::ChangeConfigurationRequest,
) -> ChangeConfigurationResponse {
    let status = match setting_by_key(&request.key) {
        None => ChangeConfigurationStatus::NotSupported,
        Some(s) if s.readonly => ChangeConfigurationStatus::Rejected,
        Some(s) if (s.set)(st, &request.value) => ChangeConfigurationStatus::Accepted,
        Some(_) => ChangeConfigurationStatus::Rejected,
    };
    ChangeConfigurationResponse { status }
}

pub(crate) fn trigger_message(
    st: &mut Station,
    request: v16::TriggerMessageRequest,
) -> TriggerMessageResponse {
    let connector = match request.connector_id {
        None => None,
        Some(id) => match u32::try_from(id).ok().filter(|id| st.evse(*id).is_some()) {
            Some(id) => Some(id),
            None => {
                return TriggerMessageResponse {
                    status: TriggerMessageStatus::Rejected,
                };
            }
        },
    };
    let effect = match request.requested_message {
        RequestedMessage::BootNotification => Effect::Boot,
        RequestedMessage::Heartbeat => Effect::Heartbeat,
        RequestedMessage::StatusNotification => Effect::Status { evse: connector },
        RequestedMessage::MeterValues => Effect::MeterValues {
            evse: connector,
            triggered: true,
        },
        RequestedMessage::DiagnosticsStatusNotification => Effect::LogStatusIdle,
        RequestedMessage::FirmwareStatusNotification => Effect::FirmwareStatusIdle,
    };
    st.effects.push_back(effect);
    TriggerMessageResponse {
        status: TriggerMessageStatus::Accepted,
    }
}

#[cfg(test)]
mod tests;
