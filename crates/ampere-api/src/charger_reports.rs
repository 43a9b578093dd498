//! `GET /api/v1/chargers/{id}/reports`: what a charger reported as it sent it, newest first,
//! by kind (the OCPP action): e.g. the NotifyCustomerInformation parts after
//! `customer-information`, NotifyDisplayMessages after `get-display-messages`,
//! NotifyMonitoringReport after `get-monitoring-report`, NotifyEvent, NotifyReport.

use ampere_domain::{ChargerId, ReportKind};
use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::ApiState;
use crate::auth::Viewer;
use crate::error::{ApiError, Problem};
use crate::extract::Query;
use crate::page;

/// One stored charger report.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChargerReportView {
    pub id: i64,
    /// The OCPP action it came with, e.g. `NotifyCustomerInformation`.
    pub kind: String,
    pub received_at: DateTime<Utc>,
    /// The request payload as the charger sent it.
    #[schema(value_type = Object)]
    pub payload: Value,
}

/// The newest reports of a charger.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChargerReports {
    pub items: Vec<ChargerReportView>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChargerReportParams {
    /// Only reports of this kind (an OCPP action name).
    pub kind: Option<String>,
    /// At most this many, newest first: 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// The reports a charger sent (kept verbatim), newest first.
#[utoipa::path(get, path = "/api/v1/chargers/{id}/reports", tag = "chargers",
    params(("id" = String, Path, description = "charger identity"), ChargerReportParams),
    responses(
        (status = 200, body = ChargerReports),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "unknown charger", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<ApiState>,
    _: Viewer,
    Path(id): Path<String>,
    Query(params): Query<ChargerReportParams>,
) -> Result<Json<ChargerReports>, ApiError> {
    let charger = ChargerId::new(&id).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let limit = page::limit(params.limit)?;
    let kind = params
        .kind
        .map(ReportKind::new)
        .transpose()
        .map_err(ApiError::BadRequest)?;
    if state.services.chargers.get(&charger).await?.is_none() {
        return Err(ApiError::NotFound(format!("no charger {charger}")));
    }
    let reports = state
        .services
        .reports
        .list(&charger, kind.as_ref(), limit)
        .await?;
    Ok(Json(ChargerReports {
        items: reports
            .into_iter()
            .map(|r| ChargerReportView {
                id: r.id,
                kind: r.kind.as_str().to_owned(),
                received_at: r.received_at,
                payload: r.payload,
            })
            .collect(),
    }))
}
