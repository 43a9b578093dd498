//! OCPP 2.0.1 and 2.1: the messages a simulated charging station sends, and its answers to
//! the CSMS's calls.
//!
//! The two versions' messages have the same shape where the simulator uses them, but the
//! generated types are distinct per version. So the body is written once in a macro and
//! instantiated per version; the few messages whose fields differ (2.1 added some) are built
//! by small per-version functions next to each instantiation.

macro_rules! two_x {
    ($v:ident) => {
        use ampere_ocpp::CallError;
        use ampere_ocpp::$v::{
            self as wire, Attribute, AuthorizationStatus, AuthorizeRequest,
            BootNotificationRequest, BootReason, ChangeAvailabilityResponse,
            ChangeAvailabilityStatus, ChargingState, ChargingStation, ClearCacheResponse,
            ClearCacheStatus, ConnectorStatus, EVSE, GetVariableResult, GetVariableStatus,
            GetVariablesResponse, HeartbeatRequest, Measurand, MessageTrigger, MeterValue,
            MeterValuesRequest, OperationalStatus, ReadingContext, Reason, RegistrationStatus,
            RequestStartStopStatus, RequestStartTransactionResponse,
            RequestStopTransactionResponse, Reset, ResetResponse, ResetStatus, SampledValue,
            SetVariableResult, SetVariableStatus, SetVariablesResponse, StatusNotificationRequest,
            TransactionEvent, TriggerMessageResponse, TriggerMessageStatus, TriggerReason,
            UnitOfMeasure, UnlockConnectorResponse, UnlockStatus,
        };
        use chrono::Utc;
        use rust_decimal::Decimal;
        use serde_json::Value;
        use tokio::time::Instant;

        use crate::Stats;
        use crate::answer::{not_implemented, typed};
        use crate::link::{Link, SimError};
        use crate::model::{
            BootCause, ConnectorState, DeviceModelLookup, Effect, Registration, Station,
            StopReason, TxRef, setting_by_variable,
        };

        // -------------------------------------------------------------------------------
        // What the charging station sends.

        pub(crate) async fn boot(
            link: &mut Link,
            st: &mut Station,
            stats: &Stats,
            triggered: bool,
        ) -> Result<(Registration, u64), SimError> {
            let p = &st.profile;
            let request = BootNotificationRequest {
                charging_station: ChargingStation {
                    serial_number: Some(clip(&format!("SN-{}", st.id), 25)),
                    model: clip(&p.model, 20),
                    modem: None,
                    vendor_name: clip(&p.vendor, 50),
                    firmware_version: Some(clip(&st.firmware_version, 50)),
                    custom_data: None,
                },
                reason: if triggered {
                    BootReason::Triggered
                } else {
                    match st.boot_cause {
                        BootCause::PowerUp => BootReason::PowerUp,
                        BootCause::RemoteReset => BootReason::RemoteReset,
                    }
                },
                custom_data: None,
            };
            let answer = link.call(st, stats, request).await?;
            let registration = match answer.status {
                RegistrationStatus::Accepted => Registration::Accepted,
                RegistrationStatus::Pending => Registration::Pending,
                RegistrationStatus::Rejected => Registration::Rejected,
            };
            Ok((registration, u64::try_from(answer.interval).unwrap_or(0)))
        }

        pub(crate) async fn heartbeat(
            link: &mut Link,
            st: &mut Station,
            stats: &Stats,
        ) -> Result<(), SimError> {
            let request = HeartbeatRequest { custom_data: None };
            link.call(st, stats, request).await.map(|_| ())
        }

        /// StatusNotification for every connector of `evse`.
        pub(crate) async fn status(
            link: &mut Link,
            st: &mut Station,
            stats: &Stats,
            evse: u32,
        ) -> Result<(), SimError> {
            let Some(e) = st.evse(evse) else {
                return Ok(());
            };
            let requests: Vec<StatusNotificationRequest> = (1..=e.connectors)
                .map(|connector| StatusNotificationRequest {
                    timestamp: st.now(),
                    connector_status: match e.connector_state(connector) {
                        ConnectorState::Available => ConnectorStatus::Available,
                        ConnectorState::Unavailable => ConnectorStatus::Unavailable,
                        ConnectorState::Reserved => ConnectorStatus::Reserved,
                        ConnectorState::Faulted => ConnectorStatus::Faulted,
                        _ => ConnectorStatus::Occupied,
                    },
                    evse_id: i64::from(e.id),
                    connector_id: i64::from(connector),
                    custom_data: None,
                })
                .collect();
            for request in requests {
                link.call(st, stats, request).await?;
            }
            Ok(())
        }

        /// Whether the CSMS accepted `token`.
        pub(crate) async fn authorize(
            link: &mut Link,
            st: &mut Station,
            stats: &Stats,
            token: &str,
            token_type: Option<&str>,
        ) -> Result<bool, SimError> {
            let request = AuthorizeRequest {
                id_token: id_token(token, token_type),
                certificate: None,
                iso15118_certificate_hash_data: None,
                custom_data: None,
            };
            let answer = link.call(st, stats, request).await?;
            Ok(answer.id_token_info.status == AuthorizationStatus::Accepted)
        }

        fn sampled(
            value: Decimal,
            measurand: Measurand,
            unit: &str,
            context: ReadingContext,
        ) -> SampledValue {
            SampledValue {
                value,
                context: Some(context),
                measurand: Some(measurand),
                phase: None,
                location: None,
                signed_meter_value: None,
                unit_of_measure: Some(UnitOfMeasure {
                    unit: Some(unit.to_owned()),
                    multiplier: None,
                    custom_data: None,
                }),
                custom_data: None,
            }
        }

        /// The register of `evse` (and, with a session, power and state of charge).
        fn meter_value(
            st: &Station,
            evse: u32,
            context: ReadingContext,
            full: bool,
        ) -> Option<MeterValue> {
            let e = st.evse(evse)?;
            let mut sampled_value = vec![sampled(
                Decimal::from(e.register_reading()),
                Measurand::EnergyActiveImportRegister,
                "Wh",
                context,
            )];
            if full && let Some(session) = &e.session {
                sampled_value.push(sampled(
                    Decimal::from(session.meter.power_w.round() as i64),
                    Measurand::PowerActiveImport,
                    "W",
                    context,
                ));
                sampled_value.push(sampled(
                    Decimal::from((session.meter.ev.soc * 100.0).round() as i64),
                    Measurand::SoC,
                    "Percent",
                    context,
                ));
            }
            Some(MeterValue {
                sampled_value,
                timestamp: st.now(),
                custom_data: None,
            })
        }

        fn evse_ref(evse: u32, connector: Option<u32>) -> EVSE {
            EVSE {
                id: i64::from(evse),
                connector_id: connector.map(i64::from),
                custom_data: None,
            }
        }

        /// TransactionEvent `Started` for the session just begun on `evse`; whether the
        /// token was accepted (a CSMS that says nothing accepts).
        pub(crate) async fn start_transaction(
            link: Option<&mut Link>,
            st: &mut Station,
            stats: &Stats,
            evse: u32,
        ) -> Result<bool, SimError> {
            let now = st.now();
            let meter = meter_value(st, evse, ReadingContext::TransactionBegin, false);
            let Some(session) = st.evse_mut(evse).and_then(|e| e.session.as_mut()) else {
                return Ok(false);
            };
            let TxRef::TwoX(transaction_id) = session.tx.clone() else {
                return Ok(false);
            };
            let mut request = event(
                TransactionEvent::Started,
                if session.remote_start_id.is_some() {
                    TriggerReason::RemoteStart
                } else {
                    TriggerReason::Authorized
                },
                session.next_seq(),
                meter.map(|m| vec![m]),
                transaction(
                    transaction_id,
                    Some(ChargingState::Charging),
                    None,
                    session.remote_start_id,
                ),
                Some(evse_ref(evse, Some(session.connector))),
                Some(id_token(
                    &session.id_token,
                    session.id_token_type.as_deref(),
                )),
            );
            request.timestamp = now;
            request.reservation_id = session.reservation_id;
            let answer = crate::outbox::send(link, st, stats, request, None).await?;
            // Queued offline: the station decided to start on its own.
            Ok(answer.is_none_or(|answer| {
                answer
                    .id_token_info
                    .is_none_or(|info| info.status == AuthorizationStatus::Accepted)
            }))
        }

        /// Meter values of `evse`: TransactionEvent `Updated` during a session, MeterValues
        /// otherwise.
        pub(crate) async fn meter_values(
            link: Option<&mut Link>,
            st: &mut Station,
            stats: &Stats,
            evse: u32,
            triggered: bool,
        ) -> Result<(), SimError> {
            let now = st.now();
            st.sample(evse, Instant::now());
            let context = if triggered {
                ReadingContext::Trigger
            } else {
                ReadingContext::SamplePeriodic
            };
            let Some(meter) = meter_value(st, evse, context, true) else {
                return Ok(());
            };
            let session = st.evse_mut(evse).and_then(|e| e.session.as_mut());
            let Some(session) = session else {
                // Outside a transaction a reading is not worth keeping for later.
                let Some(link) = link else {
                    return Ok(());
                };
                let request = MeterValuesRequest {
                    evse_id: i64::from(evse),
                    meter_value: vec![meter],
                    custom_data: None,
                };
                return link.call(st, stats, request).await.map(|_| ());
            };
            let TxRef::TwoX(transaction_id) = session.tx.clone() else {
                return Ok(());
            };
            let charging = if session.meter.ev.is_full() {
                ChargingState::SuspendedEV
            } else {
                ChargingState::Charging
            };
            let mut request = event(
                TransactionEvent::Updated,
                if triggered {
                    TriggerReason::Trigger
                } else {
                    TriggerReason::MeterValuePeriodic
                },
                session.next_seq(),
                Some(vec![meter]),
                transaction(transaction_id, Some(charging), None, None),
                None,
                None,
            );
            request.timestamp = now;
            crate::outbox::send(link, st, stats, request, None)
                .await
                .map(|_| ())
        }

        /// TransactionEvent `Ended` for the session on `evse`.
        pub(crate) async fn stop_transaction(
            link: Option<&mut Link>,
            st: &mut Station,
            stats: &Stats,
            evse: u32,
            reason: StopReason,
        ) -> Result<(), SimError> {
            let now = st.now();
            st.sample(evse, Instant::now());
            let meter = meter_value(st, evse, ReadingContext::TransactionEnd, false);
            let Some(session) = st.evse_mut(evse).and_then(|e| e.session.as_mut()) else {
                return Ok(());
            };
            let TxRef::TwoX(transaction_id) = session.tx.clone() else {
                return Ok(());
            };
            let (trigger, stopped) = match reason {
                StopReason::Local => (TriggerReason::StopAuthorized, Reason::Local),
                StopReason::Remote => (TriggerReason::RemoteStop, Reason::Remote),
                StopReason::EvFull => (TriggerReason::EVDeparted, Reason::EVDisconnected),
                StopReason::DeAuthorized => (TriggerReason::Deauthorized, Reason::DeAuthorized),
                StopReason::Reset { .. } => (TriggerReason::ResetCommand, Reason::ImmediateReset),
                StopReason::Unlocked => (TriggerReason::UnlockCommand, Reason::Other),
                StopReason::Shutdown | StopReason::PowerLoss => {
                    (TriggerReason::AbnormalCondition, Reason::PowerLoss)
                }
            };
            let token = matches!(reason, StopReason::Local)
                .then(|| id_token(&session.id_token, session.id_token_type.as_deref()));
            let mut request = event(
                TransactionEvent::Ended,
                trigger,
                session.next_seq(),
                meter.map(|m| vec![m]),
                transaction(
                    transaction_id,
                    Some(ChargingState::Idle),
                    Some(stopped),
                    None,
                ),
                None,
                token,
            );
            request.timestamp = now;
            crate::outbox::send(link, st, stats, request, None)
                .await
                .map(|_| ())
        }

        pub(crate) async fn log_status_idle(
            link: &mut Link,
            st: &mut Station,
            stats: &Stats,
        ) -> Result<(), SimError> {
            link.call(st, stats, log_status_idle_request())
                .await
                .map(|_| ())
        }

        pub(crate) async fn firmware_idle(
            link: &mut Link,
            st: &mut Station,
            stats: &Stats,
        ) -> Result<(), SimError> {
            link.call(st, stats, firmware_idle_request())
                .await
                .map(|_| ())
        }

        /// Variables per NotifyReport part: small, so that a report comes in several parts
        /// as real stations send them (and a CSMS's joining of parts is exercised).
        const REPORT_PART: usize = 4;

        /// The device model as NotifyReport parts (`tbc` on all but the last).
        pub(crate) async fn notify_report(
            link: &mut Link,
            st: &mut Station,
            stats: &Stats,
            request_id: i64,
        ) -> Result<(), SimError> {
            let data: Vec<wire::ReportData> = crate::model::SETTINGS
                .iter()
                .filter(|s| !s.component.is_empty())
                .map(|s| wire::ReportData {
                    component: wire::Component {
                        evse: None,
                        name: s.component.to_owned(),
                        instance: None,
                        custom_data: None,
                    },
                    variable: wire::Variable {
                        name: s.variable.to_owned(),
                        instance: None,
                        custom_data: None,
                    },
                    variable_attribute: vec![wire::VariableAttribute {
                        r#type: Some(Attribute::Actual),
                        value: Some(clip(&(s.get)(st), 2500)),
                        mutability: Some(if s.readonly {
                            wire::Mutability::ReadOnly
                        } else {
                            wire::Mutability::ReadWrite
                        }),
                        persistent: None,
                        constant: None,
                        custom_data: None,
                    }],
                    variable_characteristics: None,
                    custom_data: None,
                })
                .collect();
            let parts: Vec<Vec<wire::ReportData>> =
                data.chunks(REPORT_PART).map(<[_]>::to_vec).collect();
            let last = parts.len().saturating_sub(1);
            for (seq_no, part) in parts.into_iter().enumerate() {
                let request = wire::NotifyReportRequest {
                    request_id,
                    generated_at: st.now(),
                    report_data: Some(part),
                    tbc: Some(seq_no < last),
                    seq_no: seq_no as i64,
                    custom_data: None,
                };
                link.call(st, stats, request).await?;
            }
            Ok(())
        }

        fn clip(text: &str, max: usize) -> String {
            text.chars().take(max).collect()
        }

        // -------------------------------------------------------------------------------
        // What the charging station answers.

        /// Answers a validated CSMS call.
        pub(crate) fn answer(
            st: &mut Station,
            action: &str,
            payload: Value,
        ) -> Result<Value, CallError> {
            match action {
                "Reset" => typed(payload, |r| reset(st, r)),
                "RequestStartTransaction" => typed(payload, |r| request_start(st, r)),
                "RequestStopTransaction" => typed(payload, |r| request_stop(st, r)),
                "UnlockConnector" => typed(payload, |r| unlock_connector(st, r)),
                "ChangeAvailability" => typed(payload, |r| change_availability(st, r)),
                "GetVariables" => typed(payload, |r| get_variables(st, r)),
                "SetVariables" => typed(payload, |r| set_variables(st, r)),
                "TriggerMessage" => typed(payload, |r| trigger_message(st, r)),
                "ClearCache" => typed(payload, |_: wire::ClearCacheRequest| ClearCacheResponse {
                    status: ClearCacheStatus::Accepted,
                    status_info: None,
                    custom_data: None,
                }),
                "GetBaseReport" => typed(payload, |r: wire::GetBaseReportRequest| {
                    // Every base is answered with the whole (small) device model.
                    st.effects.push_back(Effect::BaseReport {
                        request_id: r.request_id,
                    });
                    wire::GetBaseReportResponse {
                        status: wire::GenericDeviceModelStatus::Accepted,
                        status_info: None,
                        custom_data: None,
                    }
                }),
                other => Err(not_implemented(other)),
            }
        }

        pub(crate) fn reset(st: &mut Station, request: wire::ResetRequest) -> ResetResponse {
            let response = |status| ResetResponse {
                status,
                status_info: None,
                custom_data: None,
            };
            // Resetting a single EVSE is not simulated.
            if request.evse_id.is_some() {
                return response(ResetStatus::Rejected);
            }
            if request.r#type == Reset::OnIdle {
                if st.has_sessions() {
                    st.reset_when_idle = true;
                    return response(ResetStatus::Scheduled);
                }
                st.effects.push_back(Effect::Reboot { hard: false });
                return response(ResetStatus::Accepted);
            }
            let sessions: Vec<u32> = st
                .evses
                .iter()
                .filter(|e| e.session.is_some())
                .map(|e| e.id)
                .collect();
            for evse in sessions {
                st.effects.push_back(Effect::StopSession {
                    evse,
                    reason: StopReason::Reset { hard: true },
                });
            }
            st.effects.push_back(Effect::Reboot { hard: true });
            response(ResetStatus::Accepted)
        }

        pub(crate) fn request_start(
            st: &mut Station,
            request: wire::RequestStartTransactionRequest,
        ) -> RequestStartTransactionResponse {
            let wanted = request
                .evse_id
                .map(|id| u32::try_from(id).unwrap_or(u32::MAX));
            let status = match st.free_evse(wanted, &request.id_token.id_token) {
                Some(evse) => {
                    if let Some(e) = st.evse_mut(evse) {
                        e.next_plug_at = None;
                    }
                    st.effects.push_back(Effect::StartSession {
                        evse,
                        connector: 1,
                        id_token: request.id_token.id_token.clone(),
                        id_token_type: Some(token_type(&request.id_token)),
                        remote_start_id: Some(request.remote_start_id),
                        authorize: st.authorize_remote_start,
                    });
                    RequestStartStopStatus::Accepted
                }
                _ => RequestStartStopStatus::Rejected,
            };
            RequestStartTransactionResponse {
                status,
                status_info: None,
                transaction_id: None,
                custom_data: None,
            }
        }

        pub(crate) fn request_stop(
            st: &mut Station,
            request: wire::RequestStopTransactionRequest,
        ) -> RequestStopTransactionResponse {
            let status = match st.evse_with_tx(&TxRef::TwoX(request.transaction_id)) {
                Some(evse) => {
                    st.effects.push_back(Effect::StopSession {
                        evse,
                        reason: StopReason::Remote,
                    });
                    RequestStartStopStatus::Accepted
                }
                None => RequestStartStopStatus::Rejected,
            };
            RequestStopTransactionResponse {
                status,
                status_info: None,
                custom_data: None,
            }
        }

        pub(crate) fn unlock_connector(
            st: &mut Station,
            request: wire::UnlockConnectorRequest,
        ) -> UnlockConnectorResponse {
            let evse = u32::try_from(request.evse_id)
                .ok()
                .and_then(|id| st.evse(id));
            let status = match evse {
                Some(e) if (1..=i64::from(e.connectors)).contains(&request.connector_id) => {
                    if e.session.is_some() {
                        // 2.x: a running authorized transaction is ended by the driver or the
                        // CSMS, not by unlocking its cable.
                        UnlockStatus::OngoingAuthorizedTransaction
                    } else {
                        UnlockStatus::Unlocked
                    }
                }
                _ => UnlockStatus::UnknownConnector,
            };
            UnlockConnectorResponse {
                status,
                status_info: None,
                custom_data: None,
            }
        }

        pub(crate) fn change_availability(
            st: &mut Station,
            request: wire::ChangeAvailabilityRequest,
        ) -> ChangeAvailabilityResponse {
            let response = |status| ChangeAvailabilityResponse {
                status,
                status_info: None,
                custom_data: None,
            };
            let operative = request.operational_status == OperationalStatus::Operative;
            let targets: Vec<u32> = match &request.evse {
                None => st.evses.iter().map(|e| e.id).collect(),
                Some(evse) => {
                    let found = u32::try_from(evse.id)
                        .ok()
                        .and_then(|id| st.evse(id))
                        .filter(|e| {
                            evse.connector_id
                                .is_none_or(|c| (1..=i64::from(e.connectors)).contains(&c))
                        })
                        .map(|e| e.id);
                    match found {
                        Some(id) => vec![id],
                        None => return response(ChangeAvailabilityStatus::Rejected),
                    }
                }
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
            response(if scheduled {
                ChangeAvailabilityStatus::Scheduled
            } else {
                ChangeAvailabilityStatus::Accepted
            })
        }

        pub(crate) fn get_variables(
            st: &mut Station,
            request: wire::GetVariablesRequest,
        ) -> GetVariablesResponse {
            let get_variable_result = request
                .get_variable_data
                .into_iter()
                .map(|data| {
                    let actual = data.attribute_type.is_none_or(|a| a == Attribute::Actual);
                    let (status, value) = match lookup(&data.component, &data.variable) {
                        DeviceModelLookup::UnknownComponent => {
                            (GetVariableStatus::UnknownComponent, None)
                        }
                        DeviceModelLookup::UnknownVariable => {
                            (GetVariableStatus::UnknownVariable, None)
                        }
                        DeviceModelLookup::Found(_) if !actual => {
                            (GetVariableStatus::NotSupportedAttributeType, None)
                        }
                        DeviceModelLookup::Found(s) => {
                            (GetVariableStatus::Accepted, Some(clip(&(s.get)(st), 2500)))
                        }
                    };
                    GetVariableResult {
                        attribute_status_info: None,
                        attribute_status: status,
                        attribute_type: data.attribute_type,
                        attribute_value: value,
                        component: data.component,
                        variable: data.variable,
                        custom_data: None,
                    }
                })
                .collect();
            GetVariablesResponse {
                get_variable_result,
                custom_data: None,
            }
        }

        pub(crate) fn set_variables(
            st: &mut Station,
            request: wire::SetVariablesRequest,
        ) -> SetVariablesResponse {
            let set_variable_result = request
                .set_variable_data
                .into_iter()
                .map(|data| {
                    let actual = data.attribute_type.is_none_or(|a| a == Attribute::Actual);
                    let status = match lookup(&data.component, &data.variable) {
                        DeviceModelLookup::UnknownComponent => SetVariableStatus::UnknownComponent,
                        DeviceModelLookup::UnknownVariable => SetVariableStatus::UnknownVariable,
                        DeviceModelLookup::Found(_) if !actual => {
                            SetVariableStatus::NotSupportedAttributeType
                        }
                        DeviceModelLookup::Found(s) if s.readonly => SetVariableStatus::Rejected,
                        DeviceModelLookup::Found(s) => {
                            if (s.set)(st, &data.attribute_value) {
                                SetVariableStatus::Accepted
                            } else {
                                SetVariableStatus::Rejected
                            }
                        }
                    };
                    SetVariableResult {
                        attribute_type: data.attribute_type,
                        attribute_status: status,
                        attribute_status_info: None,
                        component: data.component,
                        variable: data.variable,
                        custom_data: None,
                    }
                })
                .collect();
            SetVariablesResponse {
                set_variable_result,
                custom_data: None,
            }
        }

        /// The device model has no per-EVSE or instanced variables (yet): those are unknown.
        fn lookup(component: &wire::Component, variable: &wire::Variable) -> DeviceModelLookup {
            if component.evse.is_some() || component.instance.is_some() {
                return DeviceModelLookup::UnknownComponent;
            }
            match setting_by_variable(&component.name, &variable.name) {
                DeviceModelLookup::Found(_) if variable.instance.is_some() => {
                    DeviceModelLookup::UnknownVariable
                }
                other => other,
            }
        }

        pub(crate) fn trigger_message(
            st: &mut Station,
            request: wire::TriggerMessageRequest,
        ) -> TriggerMessageResponse {
            let response = |status| TriggerMessageResponse {
                status,
                status_info: None,
                custom_data: None,
            };
            let evse = match &request.evse {
                None => None,
                Some(e) => match u32::try_from(e.id).ok().filter(|id| st.evse(*id).is_some()) {
                    Some(id) => Some(id),
                    None => return response(TriggerMessageStatus::Rejected),
                },
            };
            let effect = match request.requested_message {
                // A station that is already accepted declines to boot again.
                MessageTrigger::BootNotification if st.registration == Registration::Accepted => {
                    return response(TriggerMessageStatus::Rejected);
                }
                MessageTrigger::BootNotification => Effect::Boot,
                MessageTrigger::Heartbeat => Effect::Heartbeat,
                MessageTrigger::StatusNotification => Effect::Status { evse },
                MessageTrigger::MeterValues => Effect::MeterValues {
                    evse,
                    triggered: true,
                },
                MessageTrigger::TransactionEvent => {
                    let with_session = st
                        .evses
                        .iter()
                        .any(|e| e.session.is_some() && evse.is_none_or(|id| id == e.id));
                    if !with_session {
                        return response(TriggerMessageStatus::Rejected);
                    }
                    Effect::MeterValues {
                        evse,
                        triggered: true,
                    }
                }
                MessageTrigger::LogStatusNotification => Effect::LogStatusIdle,
                MessageTrigger::FirmwareStatusNotification => Effect::FirmwareStatusIdle,
                _ => return response(TriggerMessageStatus::NotImplemented),
            };
            st.effects.push_back(effect);
            response(TriggerMessageStatus::Accepted)
        }
    };
}

/// OCPP 2.0.1.
pub(crate) mod v201 {
    two_x!(v201);

    fn id_token(value: &str, kind: Option<&str>) -> wire::IdToken {
        let kind = kind
            .and_then(|k| serde_json::from_value(Value::String(k.to_owned())).ok())
            .unwrap_or(wire::IdTokenEnum::ISO14443);
        wire::IdToken {
            additional_info: None,
            id_token: clip(value, 36),
            r#type: kind,
            custom_data: None,
        }
    }

    fn token_type(token: &wire::IdToken) -> String {
        token.r#type.as_str().to_owned()
    }

    fn transaction(
        transaction_id: String,
        charging_state: Option<ChargingState>,
        stopped_reason: Option<Reason>,
        remote_start_id: Option<i64>,
    ) -> wire::Transaction {
        wire::Transaction {
            transaction_id,
            charging_state,
            time_spent_charging: None,
            stopped_reason,
            remote_start_id,
            custom_data: None,
        }
    }

    fn event(
        event_type: TransactionEvent,
        trigger_reason: TriggerReason,
        seq_no: i64,
        meter_value: Option<Vec<MeterValue>>,
        transaction_info: wire::Transaction,
        evse: Option<EVSE>,
        id_token: Option<wire::IdToken>,
    ) -> wire::TransactionEventRequest {
        wire::TransactionEventRequest {
            event_type,
            meter_value,
            // The caller sets the station's own clock.
            timestamp: Utc::now(),
            trigger_reason,
            seq_no,
            offline: None,
            number_of_phases_used: None,
            cable_max_current: None,
            reservation_id: None,
            transaction_info,
            evse,
            id_token,
            custom_data: None,
        }
    }

    fn log_status_idle_request() -> wire::LogStatusNotificationRequest {
        wire::LogStatusNotificationRequest {
            status: wire::UploadLogStatus::Idle,
            request_id: None,
            custom_data: None,
        }
    }

    fn firmware_idle_request() -> wire::FirmwareStatusNotificationRequest {
        wire::FirmwareStatusNotificationRequest {
            status: wire::FirmwareStatus::Idle,
            request_id: None,
            custom_data: None,
        }
    }
}

/// OCPP 2.1.
pub(crate) mod v21 {
    two_x!(v21);

    fn id_token(value: &str, kind: Option<&str>) -> wire::IdToken {
        wire::IdToken {
            additional_info: None,
            id_token: clip(value, 255),
            r#type: clip(kind.unwrap_or("ISO14443"), 20),
            custom_data: None,
        }
    }

    fn token_type(token: &wire::IdToken) -> String {
        token.r#type.clone()
    }

    fn transaction(
        transaction_id: String,
        charging_state: Option<ChargingState>,
        stopped_reason: Option<Reason>,
        remote_start_id: Option<i64>,
    ) -> wire::Transaction {
        wire::Transaction {
            transaction_id,
            charging_state,
            time_spent_charging: None,
            stopped_reason,
            remote_start_id,
            operation_mode: None,
            tariff_id: None,
            transaction_limit: None,
            custom_data: None,
        }
    }

    fn event(
        event_type: TransactionEvent,
        trigger_reason: TriggerReason,
        seq_no: i64,
        meter_value: Option<Vec<MeterValue>>,
        transaction_info: wire::Transaction,
        evse: Option<EVSE>,
        id_token: Option<wire::IdToken>,
    ) -> wire::TransactionEventRequest {
        wire::TransactionEventRequest {
            cost_details: None,
            event_type,
            meter_value,
            // The caller sets the station's own clock.
            timestamp: Utc::now(),
            trigger_reason,
            seq_no,
            offline: None,
            number_of_phases_used: None,
            cable_max_current: None,
            reservation_id: None,
            preconditioning_status: None,
            evse_sleep: None,
            transaction_info,
            evse,
            id_token,
            custom_data: None,
        }
    }

    fn log_status_idle_request() -> wire::LogStatusNotificationRequest {
        wire::LogStatusNotificationRequest {
            status: wire::UploadLogStatus::Idle,
            request_id: None,
            status_info: None,
            custom_data: None,
        }
    }

    fn firmware_idle_request() -> wire::FirmwareStatusNotificationRequest {
        wire::FirmwareStatusNotificationRequest {
            status: wire::FirmwareStatus::Idle,
            request_id: None,
            status_info: None,
            custom_data: None,
        }
    }
}

#[cfg(test)]
mod tests;
