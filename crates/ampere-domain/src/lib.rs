//! Chargers, EVSEs, transactions, id tokens and the rules around them; the ports the store
//! implements. Knows nothing of WebSockets, HTTP, SQL or wire formats, and has no
//! per-OCPP-version branches: the adapters map each version onto these types.
//!
//! Wiring: build a [`Storage`] (e.g. `ampere_store::Store`), then
//! [`Services::new(storage, clock, config)`](Services::new).

pub mod api_token;
pub mod certificates;
pub mod charger;
pub mod charging_profile;
pub mod clock;
pub mod credentials;
pub mod device_model;
pub mod error;
pub mod file_transfer;
pub mod ids;
pub mod local_list;
pub mod message_log;
pub mod meter;
pub mod password;
pub mod ports;
pub mod report;
pub mod reservation;
pub mod security_log;
pub mod services;
pub mod status;
pub mod token;
pub mod transaction;
pub mod webhook;

pub use api_token::{
    ApiRole, ApiToken, ApiTokenService, ApiTokenStore, AuditEntry, AuditRecord, Bootstrap,
    NewApiToken, TokenSecret,
};
pub use charger::{
    BootInfo, BootOutcome, Charger, ChargerAuth, ChargerUpdate, ConnectionEvent,
    ConnectionEventKind, NewCharger, RegistrationStatus, SecurityProfile, UnknownChargerPolicy,
};
pub use charging_profile::{
    ChargingProfile, ChargingProfileService, ChargingProfileStore, Installation, ProfileSpec,
    Schedule, SchedulePeriod,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use device_model::{
    ComponentRef, DeviceModel, DeviceModelService, DeviceModelStore, PartOutcome, ReportPart,
    ReportScope, ReportedVariable, VariableAttribute, VariableCharacteristics, VariableRef,
};
pub use error::{DomainError, StoreError};
pub use file_transfer::{
    FileTransferService, FileTransferStore, FirmwareFile, FirmwareUpdate, LogKind, LogRequest,
    NewFirmwareFile, NewFirmwareUpdate, NewLogRequest, StatusEntry, TransferMatch, UploadTarget,
    UploadToken, UploadedFile,
};
pub use ids::{
    ChargerId, ConnectorId, ConnectorRef, EvseId, IdToken, IdTokenKind, InvalidId, TransactionId,
};
pub use local_list::{
    LocalList, LocalListChange, LocalListEntry, LocalListService, LocalListStore, LocalListSync,
    UpdateType,
};
pub use meter::{MeterValue, SampledValue, SignedMeterValue};
pub use ports::{Storage, StoreTx, StoredMeterValues, TransactionFilter};
pub use report::{ChargerReport, ReportKind};
pub use reservation::{
    NewReservation, Reservation, ReservationFilter, ReservationService, ReservationStatus,
    ReservationStore,
};
pub use security_log::{
    SecurityEvent, SecurityEventFilter, SecurityEventRecord, SecurityEventSource,
    SecurityLogService, SecurityLogStore,
};
pub use services::{
    AuthorizationService, ChargerConfig, ChargerService, MeterService, MeterValuesReport,
    ReportService, Services, TransactionService,
};
pub use status::{ConnectorStatus, StatusReport};
pub use token::{AuthorizationInfo, AuthorizationStatus, IdTokenRecord};
pub use transaction::{
    EventOutcome, STOP_REASON_CHARGER_REBOOTED, Transaction, TransactionEvent,
    TransactionEventKind, TransactionEventRecord, TransactionStatus,
};
