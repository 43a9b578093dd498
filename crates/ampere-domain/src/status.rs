//! Connector/EVSE status: the current one per place and the history of reports.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::ConnectorRef;

/// A connector's status, the union of the values of all supported versions (1.6 has the
/// detailed charging states, 2.x folds them into `Occupied`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ConnectorStatus {
    Available,
    Preparing,
    Charging,
    SuspendedEVSE,
    SuspendedEV,
    Finishing,
    Occupied,
    Reserved,
    Unavailable,
    Faulted,
}

impl ConnectorStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Available => "Available",
            Self::Preparing => "Preparing",
            Self::Charging => "Charging",
            Self::SuspendedEVSE => "SuspendedEVSE",
            Self::SuspendedEV => "SuspendedEV",
            Self::Finishing => "Finishing",
            Self::Occupied => "Occupied",
            Self::Reserved => "Reserved",
            Self::Unavailable => "Unavailable",
            Self::Faulted => "Faulted",
        }
    }
}

impl FromStr for ConnectorStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "Available" => Self::Available,
            "Preparing" => Self::Preparing,
            "Charging" => Self::Charging,
            "SuspendedEVSE" => Self::SuspendedEVSE,
            "SuspendedEV" => Self::SuspendedEV,
            "Finishing" => Self::Finishing,
            "Occupied" => Self::Occupied,
            "Reserved" => Self::Reserved,
            "Unavailable" => Self::Unavailable,
            "Faulted" => Self::Faulted,
            other => return Err(format!("unknown connector status {other:?}")),
        })
    }
}

impl fmt::Display for ConnectorStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One status report of one place on a charger (a StatusNotification), which is also the
/// shape of the current status and of a history row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    pub place: ConnectorRef,
    pub status: ConnectorStatus,
    /// 1.6 `errorCode` (`NoError`, `GroundFailure`, ...); 2.x has none.
    pub error_code: Option<String>,
    pub info: Option<String>,
    pub vendor_id: Option<String>,
    pub vendor_error_code: Option<String>,
    /// When the charger says the status took effect (the CSMS time if it gave none).
    pub timestamp: DateTime<Utc>,
}

/// Whether a report replaces the current status: only if it is not older. Offline chargers
/// replay status reports late, and an old report must not overwrite a newer state.
pub fn supersedes(new: &StatusReport, current: Option<&StatusReport>) -> bool {
    current.is_none_or(|c| new.timestamp >= c.timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(ts: &str, status: ConnectorStatus) -> StatusReport {
        StatusReport {
            place: ConnectorRef::single_connector_evse(1).unwrap(),
            status,
            error_code: None,
            info: None,
            vendor_id: None,
            vendor_error_code: None,
            timestamp: DateTime::parse_from_rfc3339(ts).unwrap().to_utc(),
        }
    }

    #[test]
    fn an_older_report_does_not_replace_a_newer_one() {
        let newer = report("2026-01-01T10:00:00Z", ConnectorStatus::Charging);
        let older = report("2026-01-01T09:00:00Z", ConnectorStatus::Available);
        assert!(supersedes(&newer, None));
        assert!(supersedes(&newer, Some(&older)));
        assert!(!supersedes(&older, Some(&newer)));
        assert!(supersedes(&newer, Some(&newer)), "same time: last one wins");
    }

    #[test]
    fn status_spellings_round_trip() {
        for s in [
            ConnectorStatus::Available,
            ConnectorStatus::SuspendedEVSE,
            ConnectorStatus::Occupied,
            ConnectorStatus::Faulted,
        ] {
            assert_eq!(s.as_str().parse::<ConnectorStatus>().unwrap(), s);
        }
        assert!("Broken".parse::<ConnectorStatus>().is_err());
    }
}
