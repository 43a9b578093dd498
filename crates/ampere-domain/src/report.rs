//! What chargers report that later features will interpret (firmware, diagnostics,
//! security events, device-model reports, charging limits...), kept as JSON with its kind.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::ChargerId;

/// The kind of a charger report: by convention the OCPP action name without `Request`
/// (`FirmwareStatusNotification`, `NotifyReport`, ...), so a new kind needs no code here.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReportKind(String);

impl ReportKind {
    pub const MAX_LEN: usize = 64;

    pub const BOOT_NOTIFICATION: &'static str = "BootNotification";
    pub const DATA_TRANSFER: &'static str = "DataTransfer";
    pub const FIRMWARE_STATUS: &'static str = "FirmwareStatusNotification";
    pub const DIAGNOSTICS_STATUS: &'static str = "DiagnosticsStatusNotification";
    pub const LOG_STATUS: &'static str = "LogStatusNotification";
    pub const SECURITY_EVENT: &'static str = "SecurityEventNotification";
    pub const NOTIFY_REPORT: &'static str = "NotifyReport";
    pub const NOTIFY_EVENT: &'static str = "NotifyEvent";
    pub const NOTIFY_MONITORING_REPORT: &'static str = "NotifyMonitoringReport";
    pub const NOTIFY_CHARGING_LIMIT: &'static str = "NotifyChargingLimit";
    pub const CLEARED_CHARGING_LIMIT: &'static str = "ClearedChargingLimit";
    pub const NOTIFY_EV_CHARGING_NEEDS: &'static str = "NotifyEVChargingNeeds";
    pub const NOTIFY_EV_CHARGING_SCHEDULE: &'static str = "NotifyEVChargingSchedule";
    pub const RESERVATION_STATUS_UPDATE: &'static str = "ReservationStatusUpdate";

    /// A kind: 1 to 64 ASCII letters, digits, `.`, `_` or `-`.
    pub fn new(kind: impl Into<String>) -> Result<Self, String> {
        let kind = kind.into();
        let ok = !kind.is_empty()
            && kind.len() <= Self::MAX_LEN
            && kind
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if ok {
            Ok(Self(kind))
        } else {
            Err(format!("invalid report kind {kind:?}"))
        }
    }

    /// One of the constants above (known to be valid).
    pub fn known(kind: &'static str) -> Self {
        Self(kind.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ReportKind {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<ReportKind> for String {
    fn from(kind: ReportKind) -> Self {
        kind.0
    }
}

impl fmt::Display for ReportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ReportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReportKind({})", self.0)
    }
}

/// A stored charger report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChargerReport {
    /// Store-assigned, increasing.
    pub id: i64,
    pub charger: ChargerId,
    pub kind: ReportKind,
    pub received_at: DateTime<Utc>,
    /// The request payload as received.
    pub payload: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_short_plain_names() {
        assert!(ReportKind::new("FirmwareStatusNotification").is_ok());
        assert!(ReportKind::new("").is_err());
        assert!(ReportKind::new("has space").is_err());
        assert!(ReportKind::new("x".repeat(65)).is_err());
        assert_eq!(
            ReportKind::known(ReportKind::NOTIFY_EVENT).as_str(),
            "NotifyEvent"
        );
    }
}
