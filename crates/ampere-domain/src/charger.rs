//! Chargers: registration, what they tell about themselves at boot, and connections.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::ChargerId;

/// Whether the CSMS lets a charger work (OCPP `RegistrationStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RegistrationStatus {
    Accepted,
    /// Known but waiting for an operator's approval.
    Pending,
    Rejected,
}

impl RegistrationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "Accepted",
            Self::Pending => "Pending",
            Self::Rejected => "Rejected",
        }
    }
}

impl FromStr for RegistrationStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "Accepted" => Ok(Self::Accepted),
            "Pending" => Ok(Self::Pending),
            "Rejected" => Ok(Self::Rejected),
            other => Err(format!("unknown registration status {other:?}")),
        }
    }
}

impl fmt::Display for RegistrationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What to do with a charger that connects but is not registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnknownChargerPolicy {
    /// Refuse it; nothing is stored.
    Reject,
    /// Register it as `Pending`, so an operator can approve it (the default).
    #[default]
    Pending,
    /// Register it as `Accepted`.
    Accept,
}

/// OCPP security profile 1 (Basic auth over ws), 2 (TLS + Basic auth) or 3 (TLS client
/// certificate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct SecurityProfile(u8);

impl SecurityProfile {
    pub const BASIC: Self = Self(1);
    pub fn new(n: u8) -> Result<Self, String> {
        if (1..=3).contains(&n) {
            Ok(Self(n))
        } else {
            Err(format!("security profile must be 1, 2 or 3, not {n}"))
        }
    }
    pub fn get(self) -> u8 {
        self.0
    }
}

impl Default for SecurityProfile {
    fn default() -> Self {
        Self::BASIC
    }
}

impl TryFrom<u8> for SecurityProfile {
    type Error = String;
    fn try_from(n: u8) -> Result<Self, Self::Error> {
        Self::new(n)
    }
}

impl From<SecurityProfile> for u8 {
    fn from(p: SecurityProfile) -> u8 {
        p.0
    }
}

/// A registered charger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Charger {
    pub id: ChargerId,
    pub registration_status: RegistrationStatus,
    /// Argon2 PHC string; `None` means no password is required.
    #[serde(skip_serializing)]
    pub password_hash: Option<String>,
    pub security_profile: SecurityProfile,
    /// Subprotocol of its latest connection, e.g. `ocpp1.6`.
    pub protocol: Option<String>,
    pub vendor: Option<String>,
    pub model: Option<String>,
    pub serial_number: Option<String>,
    pub firmware_version: Option<String>,
    pub iccid: Option<String>,
    pub imsi: Option<String>,
    pub meter_type: Option<String>,
    pub meter_serial_number: Option<String>,
    pub last_boot_at: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
    /// Heartbeat interval for this charger; `None` uses the service default.
    pub heartbeat_interval_s: Option<u32>,
    pub created_at: DateTime<Utc>,
}

impl Charger {
    /// A fresh record with nothing known about the hardware yet.
    pub fn new(id: ChargerId, registration_status: RegistrationStatus, now: DateTime<Utc>) -> Self {
        Self {
            id,
            registration_status,
            password_hash: None,
            security_profile: SecurityProfile::BASIC,
            protocol: None,
            vendor: None,
            model: None,
            serial_number: None,
            firmware_version: None,
            iccid: None,
            imsi: None,
            meter_type: None,
            meter_serial_number: None,
            last_boot_at: None,
            last_seen: None,
            heartbeat_interval_s: None,
            created_at: now,
        }
    }

    /// Keeps what a BootNotification said about the hardware. A field the charger left out
    /// clears the stored one: the boot message describes the charger as it is now.
    pub fn apply_boot_info(&mut self, info: &BootInfo, at: DateTime<Utc>) {
        self.vendor = Some(info.vendor.clone());
        self.model = Some(info.model.clone());
        self.serial_number = info.serial_number.clone();
        self.firmware_version = info.firmware_version.clone();
        self.iccid = info.iccid.clone();
        self.imsi = info.imsi.clone();
        self.meter_type = info.meter_type.clone();
        self.meter_serial_number = info.meter_serial_number.clone();
        if info.protocol.is_some() {
            self.protocol = info.protocol.clone();
        }
        self.last_boot_at = Some(at);
        self.last_seen = Some(at);
    }
}

/// What a charger says about itself in a BootNotification, version-neutral.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BootInfo {
    pub vendor: String,
    pub model: String,
    pub serial_number: Option<String>,
    pub firmware_version: Option<String>,
    pub iccid: Option<String>,
    pub imsi: Option<String>,
    pub meter_type: Option<String>,
    pub meter_serial_number: Option<String>,
    /// 2.x boot reason (`PowerUp`, `Watchdog`, ...), kept in the boot report.
    pub reason: Option<String>,
    /// Subprotocol of the session the boot arrived on.
    pub protocol: Option<String>,
}

/// The answer to a BootNotification.
#[derive(Debug, Clone, PartialEq)]
pub struct BootOutcome {
    pub status: RegistrationStatus,
    /// Heartbeat interval when accepted; otherwise the time after which to boot again.
    pub interval: Duration,
    pub current_time: DateTime<Utc>,
    /// Transactions this boot closed because the charger never ended them.
    pub closed_transactions: Vec<crate::transaction::Transaction>,
}

/// What the gateway needs to admit a charger (HTTP Basic auth and profile checks).
#[derive(Debug, Clone, PartialEq)]
pub struct ChargerAuth {
    pub password_hash: Option<String>,
    pub security_profile: SecurityProfile,
    pub registration_status: RegistrationStatus,
}

/// An operator registering a charger.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCharger {
    pub id: ChargerId,
    /// Plain password; hashed before it is stored.
    pub password: Option<String>,
    pub security_profile: SecurityProfile,
    pub registration_status: RegistrationStatus,
}

/// An operator changing a charger; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChargerUpdate {
    pub registration_status: Option<RegistrationStatus>,
    /// `Some(Some(p))` sets a new password, `Some(None)` removes it.
    pub password: Option<Option<String>>,
    pub security_profile: Option<SecurityProfile>,
    /// `Some(None)` goes back to the service default.
    pub heartbeat_interval_s: Option<Option<u32>>,
}

/// What happened to a charger's WebSocket connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ConnectionEventKind {
    Connected,
    Disconnected,
    /// A new connection with the same identity replaced this one.
    TakenOver,
}

impl ConnectionEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connected => "Connected",
            Self::Disconnected => "Disconnected",
            Self::TakenOver => "TakenOver",
        }
    }
}

impl FromStr for ConnectionEventKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "Connected" => Ok(Self::Connected),
            "Disconnected" => Ok(Self::Disconnected),
            "TakenOver" => Ok(Self::TakenOver),
            other => Err(format!("unknown connection event {other:?}")),
        }
    }
}

/// A connection event as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionEvent {
    pub charger: ChargerId,
    pub kind: ConnectionEventKind,
    pub at: DateTime<Utc>,
    /// `ip:port` of the peer.
    pub remote_addr: Option<String>,
    pub protocol: Option<String>,
    /// Gateway-local id of the connection, to tie a connect to its disconnect.
    pub connection_id: Option<u64>,
    /// Why it ended (close code, timeout...), for disconnects.
    pub reason: Option<String>,
}
