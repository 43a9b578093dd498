//! The operator and integration REST API at `/api/v1`, with its own DTOs (the domain types
//! are never serialised directly, so the contract does not move when the domain does), and
//! its OpenAPI 3.1 document at `/api/v1/openapi.json`, generated from the handlers, and
//! offline interactive docs at `/api/docs`.
//!
//! - Auth: `Authorization: Bearer <token>`; roles `viewer` < `operator` < `admin`, checked by
//!   extractors ([`auth`]). Tokens are stored hashed (see `ampere_domain::api_token`).
//! - Errors: `application/problem+json` from one table ([`error`]).
//! - Lists: `limit` and `cursor` ([`page`]).
//! - Commands to chargers go through the gateway's `Commands` in the charger's own version
//!   ([`commands`]), and are written to the audit log with the charger's answer.
//!
//! - Live events: server-sent events at `/api/v1/events` from an [`events::EventBus`] that
//!   the binary feeds from its OCPP adapter and the command handlers feed with commands.
//! - Charger file transfer: firmware images and updates ([`firmware`]), diagnostics and log
//!   uploads ([`diagnostics`]), and the unauthenticated charger-facing file endpoints under
//!   `/files` ([`files`]) that [`router`] also serves.
//!
//! Wiring: `ampere_api::router(ApiState { services, tokens, commands, events })`, merged into
//! the HTTP listener's router.

pub mod api_tokens;
pub mod auth;
pub mod certificates;
pub mod charger_call;
pub mod charger_reports;
pub mod chargers;
pub mod charging_profiles;
pub mod commands;
pub mod credentials;
pub mod device_model;
pub mod diagnostics;
pub mod error;
pub mod events;
pub mod extract;
pub mod files;
pub mod firmware;
pub mod id_tokens;
pub mod local_lists;
pub mod message_log;
pub mod page;
pub mod reservations;
pub mod security_log;
pub mod transactions;
pub mod webhooks;

use ampere_domain::{ApiTokenService, Services};
use ampere_gateway::Commands;
use axum::Json;
use axum::routing::{get, post};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::ApiError;
use crate::events::EventBus;

/// What the handlers need.
#[derive(Clone)]
pub struct ApiState {
    /// Where charger files (firmware, uploaded logs) live and the URL chargers reach them at.
    pub files: files::FileSettings,
    pub services: Services,
    pub tokens: ApiTokenService,
    pub commands: Commands,
    pub events: EventBus,
    /// Webhook subscriptions and their delivery worker.
    pub webhooks: webhooks::Webhooks,
    /// The OCPP message log, for reading (the binary feeds it through `MessageLog`).
    pub message_log: std::sync::Arc<dyn ampere_domain::message_log::MessageLogStore>,
}

/// The API's routes, all under `/api/v1`.
pub fn router(state: ApiState) -> axum::Router {
    let charger_files = files::routes(state.clone());
    let v1 = axum::Router::new()
        .route("/openapi.json", get(openapi_json))
        .route(
            "/api-tokens",
            post(api_tokens::create).get(api_tokens::list),
        )
        .route(
            "/api-tokens/{id}",
            axum::routing::delete(api_tokens::revoke),
        )
        .route("/audit-log", get(api_tokens::audit_log))
        .route("/events", get(events::events))
        .route("/webhooks", post(webhooks::create).get(webhooks::list))
        .route(
            "/webhooks/{id}",
            get(webhooks::get)
                .patch(webhooks::update)
                .delete(webhooks::delete),
        )
        .route("/webhooks/{id}/deliveries", get(webhooks::deliveries))
        .route("/chargers/{id}/messages", get(message_log::messages))
        .route("/chargers", post(chargers::create).get(chargers::list))
        .route(
            "/chargers/{id}",
            get(chargers::get)
                .patch(chargers::update)
                .delete(chargers::delete),
        )
        .route(
            "/chargers/{id}/status-history",
            get(chargers::status_history),
        )
        .route("/chargers/{id}/commands/{command}", post(commands::command))
        .route("/chargers/{id}/certificates", get(certificates::list))
        .route(
            "/chargers/{id}/certificates/install",
            post(certificates::install),
        )
        .route(
            "/chargers/{id}/certificates/delete",
            post(certificates::delete),
        )
        .route(
            "/chargers/{id}/certificates/installed-ids",
            post(certificates::installed_ids),
        )
        .route("/chargers/{id}/password", post(credentials::password))
        .route("/chargers/{id}/credentials", get(credentials::credentials))
        .route(
            "/chargers/{id}/security-profile",
            post(credentials::security_profile),
        )
        .route("/chargers/{id}/ocpp/{action}", post(commands::raw))
        .route(
            "/chargers/{id}/local-list",
            get(local_lists::get)
                .put(local_lists::replace)
                .patch(local_lists::change),
        )
        .route(
            "/chargers/{id}/local-list/version",
            post(local_lists::check_version),
        )
        .route(
            "/reservations",
            post(reservations::create).get(reservations::list),
        )
        .route(
            "/reservations/{id}",
            get(reservations::get).delete(reservations::cancel),
        )
        .route(
            "/charging-profiles",
            post(charging_profiles::create).get(charging_profiles::list),
        )
        .route(
            "/charging-profiles/{id}",
            get(charging_profiles::get).delete(charging_profiles::delete),
        )
        .route(
            "/charging-profiles/{id}/installations",
            post(charging_profiles::install),
        )
        .route(
            "/charging-profiles/{id}/installations/{charger_id}",
            axum::routing::delete(charging_profiles::clear),
        )
        .route("/chargers/{id}/device-model", get(device_model::get))
        .route("/chargers/{id}/reports", get(charger_reports::list))
        .route("/id-tokens", post(id_tokens::create).get(id_tokens::list))
        .route("/id-tokens/import", post(id_tokens::import))
        .route(
            "/id-tokens/{id_token}",
            get(id_tokens::get)
                .patch(id_tokens::update)
                .delete(id_tokens::delete),
        )
        .route("/security-events", get(security_log::list))
        .route(
            "/firmware",
            post(firmware::upload)
                .get(firmware::list)
                // The upload counts bytes itself as it streams them to disk.
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(
            "/firmware/{id}",
            get(firmware::get).delete(firmware::delete),
        )
        .route("/chargers/{id}/firmware-update", post(firmware::update))
        .route(
            "/chargers/{id}/firmware-updates",
            get(firmware::list_updates),
        )
        .route(
            "/chargers/{id}/firmware-updates/{update_id}",
            get(firmware::get_update),
        )
        .route(
            "/chargers/{id}/diagnostics",
            post(diagnostics::request).get(diagnostics::list),
        )
        .route("/diagnostics/{id}", get(diagnostics::get))
        .route("/diagnostics/{id}/file", get(diagnostics::file))
        .route("/transactions", get(transactions::list))
        .route("/transactions/{id}", get(transactions::get))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state);
    axum::Router::new()
        .route("/api/docs", get(docs))
        .nest("/api/v1", v1)
        .merge(charger_files)
}

/// Interactive docs: one self-contained page (no CDN or external assets, so it works
/// offline) that renders the OpenAPI document and sends requests with the caller's token.
async fn docs() -> axum::response::Html<&'static str> {
    axum::response::Html(include_str!("docs.html"))
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint".into())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// The OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Ampere API", description = "Operator and integration API of the Ampere CSMS."),
    paths(
        api_tokens::create, api_tokens::list, api_tokens::revoke, api_tokens::audit_log,
        chargers::create, chargers::list, chargers::get, chargers::update, chargers::delete, chargers::status_history,
        commands::command, commands::raw,
        certificates::list, certificates::install, certificates::delete, certificates::installed_ids,
        credentials::password, credentials::security_profile, credentials::credentials, device_model::get,
        charger_reports::list,
        events::events,
        webhooks::create, webhooks::list, webhooks::get, webhooks::update, webhooks::delete, webhooks::deliveries,
        message_log::messages,
        id_tokens::create, id_tokens::list, id_tokens::import, id_tokens::get, id_tokens::update, id_tokens::delete,
        transactions::list, transactions::get,
        firmware::upload, firmware::list, firmware::get, firmware::delete,
        firmware::update, firmware::list_updates, firmware::get_update,
        diagnostics::request, diagnostics::list, diagnostics::get, diagnostics::file,
        security_log::list,
        reservations::create, reservations::list, reservations::get, reservations::cancel,
        charging_profiles::create, charging_profiles::list, charging_profiles::get, charging_profiles::delete,
        charging_profiles::install, charging_profiles::clear,
        local_lists::get, local_lists::replace, local_lists::change, local_lists::check_version,
    ),
    components(schemas(
        commands::RemoteStartBody, commands::RemoteStopBody, commands::ResetBody,
        commands::UnlockBody, commands::ChangeAvailabilityBody, commands::TriggerMessageBody,
        commands::GetConfigurationBody, commands::SetConfigurationBody, commands::VariableRef,
        commands::DataTransferBody, commands::CancelReservationBody,
        commands::GetCompositeScheduleBody, commands::ClearChargingProfileBody,
        commands::GetVariablesBody, commands::SetVariablesBody, commands::ComponentVariableRef,
        commands::GetBaseReportBody, commands::GetReportBody, commands::MonitorBody,
        commands::SetVariableMonitoringBody, commands::ClearVariableMonitoringBody,
        commands::SetMonitoringBaseBody, commands::SetMonitoringLevelBody,
        commands::GetMonitoringReportBody, commands::SetDisplayMessageBody,
        commands::GetDisplayMessagesBody, commands::ClearDisplayMessageBody,
        commands::CustomerInformationBody, commands::SetNetworkProfileBody,
        commands::GetTransactionStatusBody, commands::CostUpdatedBody,
        device_model::DeviceModelView, device_model::ComponentView, device_model::VariableView,
        device_model::AttributeView, device_model::CharacteristicsView,
        charger_reports::ChargerReportView, charger_reports::ChargerReports,
        events::Event, events::EventType,
        firmware::FirmwareView, firmware::FirmwarePage, firmware::FirmwareUpdateBody,
        firmware::FirmwareUpdateView, firmware::FirmwareUpdatePage, firmware::FirmwareUpdateAnswer,
        firmware::StatusView,
        diagnostics::DiagnosticsBody, diagnostics::DiagnosticsView, diagnostics::DiagnosticsPage,
        diagnostics::DiagnosticsAnswer, diagnostics::UploadedFileView,
        security_log::SecurityEventView, security_log::SecurityEventPage,
        webhooks::WebhookView, webhooks::WebhookPage, webhooks::NewWebhookBody, webhooks::WebhookPatch,
        webhooks::DeliveryView, webhooks::DeliveryPage, webhooks::AttemptView,
        message_log::FrameView, message_log::FramePage,
        reservations::ReservationView, reservations::ReservationPage, reservations::NewReservationBody,
        charging_profiles::ChargingProfileBody, charging_profiles::ScheduleBody, charging_profiles::PeriodBody,
        charging_profiles::ChargingProfileView, charging_profiles::ChargingProfilePage,
        charging_profiles::InstallationView, charging_profiles::InstallationBody,
        local_lists::LocalListView, local_lists::LocalListEntryBody, local_lists::LocalListEntryView,
        local_lists::FullListBody, local_lists::ListChangeBody, local_lists::SyncView,
        local_lists::ChargerVersionView,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "api-tokens", description = "API tokens and the audit log (admin only)"),
        (name = "chargers", description = "Registered chargers and their live state"),
        (name = "commands", description = "Calls to connected chargers"),
        (name = "certificates", description = "Charger certificates: issued by Ampere, installed on the charger"),
        (name = "events", description = "Live events as server-sent events"),
        (name = "webhooks", description = "Signed event deliveries to subscribed URLs, with retries and a delivery log"),
        (name = "id-tokens", description = "Tokens chargers authorize with"),
        (name = "transactions", description = "Charging sessions"),
        (name = "firmware", description = "Firmware images served to chargers, and firmware updates with their progress"),
        (name = "diagnostics", description = "Diagnostics and log files chargers upload on request (GetDiagnostics, GetLog)"),
        (name = "security", description = "The security log: charger security events and Ampere's own"),
        (name = "reservations", description = "EVSEs reserved on chargers for a token (ReserveNow, CancelReservation)"),
        (name = "charging-profiles", description = "Stored charging profiles and where they are installed (SetChargingProfile, ClearChargingProfile)"),
        (name = "local-lists", description = "Chargers' local authorization lists with version tracking (SendLocalList)"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}
