//! `/api/v1/transactions`: charging sessions as chargers reported them, newest first.

use ampere_domain::ids::token_key;
use ampere_domain::{ChargerId, MeterValue, Transaction, TransactionFilter, TransactionStatus};
use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::ApiState;
use crate::auth::Viewer;
use crate::error::{ApiError, Problem};
use crate::extract::Query;
use crate::page::{self, page_type};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TransactionView {
    /// Ampere's number for the transaction, unique across chargers (a 1.6 charger was given
    /// this number as its `transactionId`).
    pub id: i64,
    /// The id the charger uses (2.x `transactionId`; for 1.6 the same number as text).
    pub transaction_id: String,
    pub charger_id: String,
    pub evse_id: Option<u32>,
    pub connector_id: Option<u32>,
    pub id_token: Option<String>,
    pub started_at: DateTime<Utc>,
    pub stopped_at: Option<DateTime<Utc>>,
    pub meter_start_wh: Option<f64>,
    pub meter_stop_wh: Option<f64>,
    /// `meter_stop_wh - meter_start_wh` once completed (absent when unknown or negative).
    pub energy_wh: Option<f64>,
    pub stop_reason: Option<String>,
    /// `active` or `completed`.
    pub status: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TransactionDetail {
    #[serde(flatten)]
    pub transaction: TransactionView,
    /// The readings linked to the transaction, oldest first, as the charger sent them.
    pub meter_values: Vec<MeterValueView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MeterValueView {
    pub timestamp: DateTime<Utc>,
    pub sampled_values: Vec<SampledValueView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SampledValueView {
    /// The value as the charger wrote it (exact decimal text, or 1.6 signed data).
    pub value: String,
    pub measurand: Option<String>,
    pub phase: Option<String>,
    pub unit: Option<String>,
    /// 2.x `unitOfMeasure.multiplier`: the value is `value × 10^multiplier` units.
    pub unit_multiplier: Option<i32>,
    pub context: Option<String>,
    pub location: Option<String>,
}

page_type!(
    /// A page of transactions, newest first.
    TransactionPage,
    TransactionView
);

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TransactionQuery {
    pub charger_id: Option<String>,
    /// Token value, matched case-insensitively.
    pub id_token: Option<String>,
    /// `active` or `completed`.
    pub status: Option<String>,
    /// Only transactions started at or after this time (RFC 3339, e.g.
    /// `2026-01-31T00:00:00Z`).
    pub started_after: Option<DateTime<Utc>>,
    /// Only transactions started strictly before this time (RFC 3339); with
    /// `started_after`, a half-open window.
    pub started_before: Option<DateTime<Utc>>,
    /// Items per page, 1 to 500 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

fn wh(d: Option<Decimal>) -> Option<f64> {
    d.and_then(|d| d.to_f64())
}

pub(crate) fn to_view(t: Transaction) -> TransactionView {
    TransactionView {
        id: t.serial,
        transaction_id: t.id.as_str().to_owned(),
        charger_id: t.charger.as_str().to_owned(),
        evse_id: t.place.map(|p| p.evse.get()),
        connector_id: t.place.map(|p| p.connector.get()),
        id_token: t.id_token.map(|token| token.value().to_owned()),
        started_at: t.started_at,
        stopped_at: t.stopped_at,
        meter_start_wh: wh(t.meter_start_wh),
        meter_stop_wh: wh(t.meter_stop_wh),
        energy_wh: wh(t.energy_wh),
        stop_reason: t.stop_reason,
        status: t.status.as_str().to_owned(),
    }
}

fn meter_view(value: MeterValue) -> MeterValueView {
    MeterValueView {
        timestamp: value.timestamp,
        sampled_values: value
            .sampled
            .into_iter()
            .map(|s| SampledValueView {
                value: s.value,
                measurand: s.measurand,
                phase: s.phase,
                unit: s.unit,
                unit_multiplier: s.unit_multiplier,
                context: s.context,
                location: s.location,
            })
            .collect(),
    }
}

/// List transactions, newest first.
#[utoipa::path(get, path = "/api/v1/transactions", tag = "transactions", params(TransactionQuery),
    responses((status = 200, body = TransactionPage), (status = 400, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<ApiState>,
    _: Viewer,
    Query(query): Query<TransactionQuery>,
) -> Result<Json<TransactionPage>, ApiError> {
    let limit = page::limit(query.limit)?;
    let status = match query.status.as_deref() {
        None => None,
        Some("active") => Some(TransactionStatus::Active),
        Some("completed") => Some(TransactionStatus::Completed),
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "status must be active or completed, not {other:?}"
            )));
        }
    };
    if let (Some(after), Some(before)) = (query.started_after, query.started_before)
        && after >= before
    {
        return Err(ApiError::BadRequest(
            "started_after must be earlier than started_before".into(),
        ));
    }
    let before_serial = query
        .cursor
        .as_deref()
        .map(|c| {
            c.parse::<i64>()
                .map_err(|_| ApiError::BadRequest(format!("invalid cursor {c:?}")))
        })
        .transpose()?;
    let filter = TransactionFilter {
        charger: query
            .charger_id
            .as_deref()
            .map(ChargerId::new)
            .transpose()
            .map_err(|e| ApiError::BadRequest(e.to_string()))?,
        id_token_key: query.id_token.as_deref().map(token_key),
        status,
        started_after: query.started_after,
        started_before: query.started_before,
        before_serial,
        limit: limit + 1,
    };
    let transactions = state.services.transactions.list(&filter).await?;
    let (transactions, next_cursor) = page::split(transactions, limit, |t| t.serial.to_string());
    Ok(Json(TransactionPage {
        items: transactions.into_iter().map(to_view).collect(),
        next_cursor,
    }))
}

/// Show one transaction with its meter values.
#[utoipa::path(get, path = "/api/v1/transactions/{id}", tag = "transactions",
    params(("id" = i64, Path, description = "Ampere's transaction number")),
    responses((status = 200, body = TransactionDetail), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<ApiState>,
    _: Viewer,
    Path(id): Path<String>,
) -> Result<Json<TransactionDetail>, ApiError> {
    let not_found = || ApiError::NotFound(format!("no transaction {id}"));
    let serial: i64 = id.parse().map_err(|_| not_found())?;
    let transaction = state
        .services
        .transactions
        .by_serial(serial)
        .await?
        .ok_or_else(not_found)?;
    let meter_values = state.services.transactions.meter_values(serial).await?;
    Ok(Json(TransactionDetail {
        transaction: to_view(transaction),
        meter_values: meter_values.into_iter().map(meter_view).collect(),
    }))
}
