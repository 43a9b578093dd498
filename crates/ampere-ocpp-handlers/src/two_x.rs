//! OCPP 2.0.1 and 2.1 together: the handlers of the actions both versions answer alike, one
//! file per action, and the mapping they share (`map`).
//!
//! The two versions' generated types are distinct Rust types (`v201::HeartbeatRequest` is
//! not `v21::HeartbeatRequest`) with, for these messages, the same fields. So each file here
//! writes its handler once inside a small local `handler!` macro and instantiates it for
//! both versions: `heartbeat::v201::handle` and `heartbeat::v21::handle`. A field that only
//! 2.1 has, or a value only 2.1 knows, is a parameter of that macro, visible at the two
//! instantiations. The tests of each file run for both versions
//! (`crate::testing::two_x_tests!`).
//!
//! An action that exists only in 2.1, or whose 2.1 handler really differs, lives in
//! `crate::v21` instead. The dispatch tables (`crate::v201`, `crate::v21`) point here.

pub(crate) mod map;

pub(crate) mod authorize;
pub(crate) mod boot_notification;
pub(crate) mod cleared_charging_limit;
pub(crate) mod data_transfer;
pub(crate) mod firmware_status_notification;
pub(crate) mod get_15118_ev_certificate;
pub(crate) mod get_certificate_status;
pub(crate) mod heartbeat;
pub(crate) mod log_status_notification;
pub(crate) mod meter_values;
pub(crate) mod notify_charging_limit;
pub(crate) mod notify_customer_information;
pub(crate) mod notify_display_messages;
pub(crate) mod notify_ev_charging_needs;
pub(crate) mod notify_ev_charging_schedule;
pub(crate) mod notify_event;
pub(crate) mod notify_monitoring_report;
pub(crate) mod notify_report;
pub(crate) mod publish_firmware_status_notification;
pub(crate) mod report_charging_profiles;
pub(crate) mod reservation_status_update;
pub(crate) mod security_event_notification;
pub(crate) mod sign_certificate;
pub(crate) mod status_notification;
pub(crate) mod transaction_event;
