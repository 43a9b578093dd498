//! Every action of each version and which side may send it. Direction is not in the
//! schemas: it comes from the specifications (1.6 with the security whitepaper, 2.0.1 part 2,
//! 2.1 part 2); a test checks that these lists and the generated messages agree.

use crate::OcppVersion;

/// Which side sends an action's request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Initiator {
    /// The charging station (1.6: charge point).
    Charger,
    /// The CSMS (1.6: central system).
    Csms,
    /// Either side (DataTransfer).
    Both,
}

impl Initiator {
    /// Whether a charger may send this action.
    pub fn from_charger(self) -> bool {
        matches!(self, Self::Charger | Self::Both)
    }

    /// Whether the CSMS may send this action.
    pub fn from_csms(self) -> bool {
        matches!(self, Self::Csms | Self::Both)
    }
}

/// One action of a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionInfo {
    pub name: &'static str,
    pub initiator: Initiator,
    /// A 2.1 SEND message: never answered, so it has no response type.
    pub send: bool,
}

/// Every action of `version`, sorted by name.
pub fn actions(version: OcppVersion) -> &'static [ActionInfo] {
    match version {
        OcppVersion::V16 => V16,
        OcppVersion::V201 => V201,
        OcppVersion::V21 => V21,
    }
}

/// The action called `name` in `version`, if there is one.
pub fn action(version: OcppVersion, name: &str) -> Option<&'static ActionInfo> {
    let all = actions(version);
    all.binary_search_by(|a| a.name.cmp(name))
        .ok()
        .map(|i| &all[i])
}

const fn info(name: &'static str, initiator: Initiator, send: bool) -> ActionInfo {
    ActionInfo {
        name,
        initiator,
        send,
    }
}

use Initiator::{Both, Charger, Csms};

/// OCPP 1.6 (28 core actions and the 11 of the security whitepaper).
static V16: &[ActionInfo] = &[
    info("Authorize", Charger, false),
    info("BootNotification", Charger, false),
    info("CancelReservation", Csms, false),
    info("CertificateSigned", Csms, false),
    info("ChangeAvailability", Csms, false),
    info("ChangeConfiguration", Csms, false),
    info("ClearCache", Csms, false),
    info("ClearChargingProfile", Csms, false),
    info("DataTransfer", Both, false),
    info("DeleteCertificate", Csms, false),
    info("DiagnosticsStatusNotification", Charger, false),
    info("ExtendedTriggerMessage", Csms, false),
    info("FirmwareStatusNotification", Charger, false),
    info("GetCompositeSchedule", Csms, false),
    info("GetConfiguration", Csms, false),
    info("GetDiagnostics", Csms, false),
    info("GetInstalledCertificateIds", Csms, false),
    info("GetLocalListVersion", Csms, false),
    info("GetLog", Csms, false),
    info("Heartbeat", Charger, false),
    info("InstallCertificate", Csms, false),
    info("LogStatusNotification", Charger, false),
    info("MeterValues", Charger, false),
    info("RemoteStartTransaction", Csms, false),
    info("RemoteStopTransaction", Csms, false),
    info("ReserveNow", Csms, false),
    info("Reset", Csms, false),
    info("SecurityEventNotification", Charger, false),
    info("SendLocalList", Csms, false),
    info("SetChargingProfile", Csms, false),
    info("SignCertificate", Charger, false),
    info("SignedFirmwareStatusNotification", Charger, false),
    info("SignedUpdateFirmware", Csms, false),
    info("StartTransaction", Charger, false),
    info("StatusNotification", Charger, false),
    info("StopTransaction", Charger, false),
    info("TriggerMessage", Csms, false),
    info("UnlockConnector", Csms, false),
    info("UpdateFirmware", Csms, false),
];

/// OCPP 2.0.1.
static V201: &[ActionInfo] = &[
    info("Authorize", Charger, false),
    info("BootNotification", Charger, false),
    info("CancelReservation", Csms, false),
    info("CertificateSigned", Csms, false),
    info("ChangeAvailability", Csms, false),
    info("ClearCache", Csms, false),
    info("ClearChargingProfile", Csms, false),
    info("ClearDisplayMessage", Csms, false),
    info("ClearVariableMonitoring", Csms, false),
    info("ClearedChargingLimit", Charger, false),
    info("CostUpdated", Csms, false),
    info("CustomerInformation", Csms, false),
    info("DataTransfer", Both, false),
    info("DeleteCertificate", Csms, false),
    info("FirmwareStatusNotification", Charger, false),
    info("Get15118EVCertificate", Charger, false),
    info("GetBaseReport", Csms, false),
    info("GetCertificateStatus", Charger, false),
    info("GetChargingProfiles", Csms, false),
    info("GetCompositeSchedule", Csms, false),
    info("GetDisplayMessages", Csms, false),
    info("GetInstalledCertificateIds", Csms, false),
    info("GetLocalListVersion", Csms, false),
    info("GetLog", Csms, false),
    info("GetMonitoringReport", Csms, false),
    info("GetReport", Csms, false),
    info("GetTransactionStatus", Csms, false),
    info("GetVariables", Csms, false),
    info("Heartbeat", Charger, false),
    info("InstallCertificate", Csms, false),
    info("LogStatusNotification", Charger, false),
    info("MeterValues", Charger, false),
    info("NotifyChargingLimit", Charger, false),
    info("NotifyCustomerInformation", Charger, false),
    info("NotifyDisplayMessages", Charger, false),
    info("NotifyEVChargingNeeds", Charger, false),
    info("NotifyEVChargingSchedule", Charger, false),
    info("NotifyEvent", Charger, false),
    info("NotifyMonitoringReport", Charger, false),
    info("NotifyReport", Charger, false),
    info("PublishFirmware", Csms, false),
    info("PublishFirmwareStatusNotification", Charger, false),
    info("ReportChargingProfiles", Charger, false),
    info("RequestStartTransaction", Csms, false),
    info("RequestStopTransaction", Csms, false),
    info("ReservationStatusUpdate", Charger, false),
    info("ReserveNow", Csms, false),
    info("Reset", Csms, false),
    info("SecurityEventNotification", Charger, false),
    info("SendLocalList", Csms, false),
    info("SetChargingProfile", Csms, false),
    info("SetDisplayMessage", Csms, false),
    info("SetMonitoringBase", Csms, false),
    info("SetMonitoringLevel", Csms, false),
    info("SetNetworkProfile", Csms, false),
    info("SetVariableMonitoring", Csms, false),
    info("SetVariables", Csms, false),
    info("SignCertificate", Charger, false),
    info("StatusNotification", Charger, false),
    info("TransactionEvent", Charger, false),
    info("TriggerMessage", Csms, false),
    info("UnlockConnector", Csms, false),
    info("UnpublishFirmware", Csms, false),
    info("UpdateFirmware", Csms, false),
];

/// OCPP 2.1.
static V21: &[ActionInfo] = &[
    info("AFRRSignal", Csms, false),
    info("AdjustPeriodicEventStream", Csms, false),
    info("Authorize", Charger, false),
    info("BatterySwap", Charger, false),
    info("BootNotification", Charger, false),
    info("CancelReservation", Csms, false),
    info("CertificateSigned", Csms, false),
    info("ChangeAvailability", Csms, false),
    info("ChangeTransactionTariff", Csms, false),
    info("ClearCache", Csms, false),
    info("ClearChargingProfile", Csms, false),
    info("ClearDERControl", Csms, false),
    info("ClearDisplayMessage", Csms, false),
    info("ClearTariffs", Csms, false),
    info("ClearVariableMonitoring", Csms, false),
    info("ClearedChargingLimit", Charger, false),
    info("ClosePeriodicEventStream", Charger, false),
    info("CostUpdated", Csms, false),
    info("CustomerInformation", Csms, false),
    info("DataTransfer", Both, false),
    info("DeleteCertificate", Csms, false),
    info("FirmwareStatusNotification", Charger, false),
    info("Get15118EVCertificate", Charger, false),
    info("GetBaseReport", Csms, false),
    info("GetCertificateChainStatus", Charger, false),
    info("GetCertificateStatus", Charger, false),
    info("GetChargingProfiles", Csms, false),
    info("GetCompositeSchedule", Csms, false),
    info("GetDERControl", Csms, false),
    info("GetDisplayMessages", Csms, false),
    info("GetInstalledCertificateIds", Csms, false),
    info("GetLocalListVersion", Csms, false),
    info("GetLog", Csms, false),
    info("GetMonitoringReport", Csms, false),
    info("GetPeriodicEventStream", Csms, false),
    info("GetReport", Csms, false),
    info("GetTariffs", Csms, false),
    info("GetTransactionStatus", Csms, false),
    info("GetVariables", Csms, false),
    info("Heartbeat", Charger, false),
    info("InstallCertificate", Csms, false),
    info("LogStatusNotification", Charger, false),
    info("MeterValues", Charger, false),
    info("NotifyAllowedEnergyTransfer", Csms, false),
    info("NotifyChargingLimit", Charger, false),
    info("NotifyCustomerInformation", Charger, false),
    info("NotifyDERAlarm", Charger, false),
    info("NotifyDERStartStop", Charger, false),
    info("NotifyDisplayMessages", Charger, false),
    info("NotifyEVChargingNeeds", Charger, false),
    info("NotifyEVChargingSchedule", Charger, false),
    info("NotifyEvent", Charger, false),
    info("NotifyMonitoringReport", Charger, false),
    info("NotifyPeriodicEventStream", Charger, true),
    info("NotifyPriorityCharging", Charger, false),
    info("NotifyReport", Charger, false),
    info("NotifySettlement", Charger, false),
    info("NotifyWebPaymentStarted", Csms, false),
    info("OpenPeriodicEventStream", Charger, false),
    info("PublishFirmware", Csms, false),
    info("PublishFirmwareStatusNotification", Charger, false),
    info("PullDynamicScheduleUpdate", Charger, false),
    info("ReportChargingProfiles", Charger, false),
    info("ReportDERControl", Charger, false),
    info("RequestBatterySwap", Csms, false),
    info("RequestStartTransaction", Csms, false),
    info("RequestStopTransaction", Csms, false),
    info("ReservationStatusUpdate", Charger, false),
    info("ReserveNow", Csms, false),
    info("Reset", Csms, false),
    info("SecurityEventNotification", Charger, false),
    info("SendLocalList", Csms, false),
    info("SetChargingProfile", Csms, false),
    info("SetDERControl", Csms, false),
    info("SetDefaultTariff", Csms, false),
    info("SetDisplayMessage", Csms, false),
    info("SetMonitoringBase", Csms, false),
    info("SetMonitoringLevel", Csms, false),
    info("SetNetworkProfile", Csms, false),
    info("SetVariableMonitoring", Csms, false),
    info("SetVariables", Csms, false),
    info("SignCertificate", Charger, false),
    info("StatusNotification", Charger, false),
    info("TransactionEvent", Charger, false),
    info("TriggerMessage", Csms, false),
    info("UnlockConnector", Csms, false),
    info("UnpublishFirmware", Csms, false),
    info("UpdateDynamicSchedule", Csms, false),
    info("UpdateFirmware", Csms, false),
    info("UsePriorityCharging", Csms, false),
    info("VatNumberValidation", Charger, false),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn count(version: OcppVersion, initiator: Initiator) -> usize {
        actions(version)
            .iter()
            .filter(|a| a.initiator == initiator)
            .count()
    }

    #[test]
    fn sorted_for_lookup() {
        for version in OcppVersion::NEWEST_FIRST {
            assert!(actions(version).windows(2).all(|w| w[0].name < w[1].name));
            for info in actions(version) {
                assert_eq!(action(version, info.name), Some(info));
            }
        }
        assert_eq!(action(OcppVersion::V16, "TransactionEvent"), None);
    }

    #[test]
    fn directions_per_version() {
        use OcppVersion::{V16, V21, V201};
        // 1.6: 9 core + 4 security charger messages, DataTransfer both ways, 18 + 7 from the CSMS.
        assert_eq!(
            (count(V16, Charger), count(V16, Both), count(V16, Csms)),
            (13, 1, 25)
        );
        assert_eq!(
            (count(V201, Charger), count(V201, Both), count(V201, Csms)),
            (24, 1, 39)
        );
        assert_eq!(
            (count(V21, Charger), count(V21, Both), count(V21, Csms)),
            (36, 1, 54)
        );
        let sends: Vec<_> = actions(V21)
            .iter()
            .filter(|a| a.send)
            .map(|a| a.name)
            .collect();
        assert_eq!(sends, ["NotifyPeriodicEventStream"]);
        assert!(action(V21, "BatterySwap").is_some_and(|a| a.initiator.from_charger()));
        assert!(action(V21, "RequestBatterySwap").is_some_and(|a| a.initiator.from_csms()));
    }
}
