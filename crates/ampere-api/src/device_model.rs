//! `GET /api/v1/chargers/{id}/device-model`: the device model a 2.x charger reported after
//! `get-base-report`/`get-report` (see `ampere_domain::device_model`), grouped by component.

use ampere_domain::{ChargerId, DeviceModel, ReportedVariable};
use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::ApiState;
use crate::auth::Viewer;
use crate::error::{ApiError, Problem};
use crate::extract::Query;

/// A charger's device model.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceModelView {
    pub charger_id: String,
    /// The `requestId` of the report applied last; absent when no report was completed.
    pub request_id: Option<i64>,
    /// When the charger generated that report.
    pub generated_at: Option<DateTime<Utc>>,
    /// When Ampere applied it.
    pub updated_at: Option<DateTime<Utc>>,
    /// In the order the charger reported them.
    pub components: Vec<ComponentView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ComponentView {
    pub name: String,
    pub instance: Option<String>,
    pub evse_id: Option<i64>,
    pub connector_id: Option<i64>,
    pub variables: Vec<VariableView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VariableView {
    pub name: String,
    pub instance: Option<String>,
    pub attributes: Vec<AttributeView>,
    pub characteristics: Option<CharacteristicsView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttributeView {
    /// `Actual`, `Target`, `MinSet`, `MaxSet`.
    pub r#type: String,
    pub value: Option<String>,
    /// `ReadOnly`, `WriteOnly`, `ReadWrite`.
    pub mutability: Option<String>,
    pub persistent: Option<bool>,
    pub constant: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CharacteristicsView {
    pub unit: Option<String>,
    /// `string`, `decimal`, `integer`, `dateTime`, `boolean`, `OptionList`, …
    pub data_type: String,
    #[schema(value_type = Option<f64>)]
    pub min_limit: Option<rust_decimal::Decimal>,
    #[schema(value_type = Option<f64>)]
    pub max_limit: Option<rust_decimal::Decimal>,
    pub max_elements: Option<i64>,
    pub values_list: Option<String>,
    pub supports_monitoring: bool,
}

/// Filters of the device model.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeviceModelParams {
    /// Only the components of this name.
    pub component: Option<String>,
}

fn variable_view(v: ReportedVariable) -> VariableView {
    VariableView {
        name: v.variable.name,
        instance: v.variable.instance,
        attributes: v
            .attributes
            .into_iter()
            .map(|a| AttributeView {
                r#type: a.attribute_type,
                value: a.value,
                mutability: a.mutability,
                persistent: a.persistent,
                constant: a.constant,
            })
            .collect(),
        characteristics: v.characteristics.map(|c| CharacteristicsView {
            unit: c.unit,
            data_type: c.data_type,
            min_limit: c.min_limit,
            max_limit: c.max_limit,
            max_elements: c.max_elements,
            values_list: c.values_list,
            supports_monitoring: c.supports_monitoring,
        }),
    }
}

/// Groups the variables by component, components in the order they first appear.
fn components(model: DeviceModel, only: Option<&str>) -> Vec<ComponentView> {
    let mut out: Vec<ComponentView> = Vec::new();
    for v in model.variables {
        if only.is_some_and(|name| name != v.component.name) {
            continue;
        }
        let c = &v.component;
        let position = out.iter().position(|k| {
            k.name == c.name
                && k.instance == c.instance
                && k.evse_id == c.evse_id
                && k.connector_id == c.connector_id
        });
        let index = match position {
            Some(i) => i,
            None => {
                out.push(ComponentView {
                    name: c.name.clone(),
                    instance: c.instance.clone(),
                    evse_id: c.evse_id,
                    connector_id: c.connector_id,
                    variables: Vec::new(),
                });
                out.len() - 1
            }
        };
        out[index].variables.push(variable_view(v));
    }
    out
}

/// The device model the charger reported (2.x NotifyReport after `get-base-report` or
/// `get-report`): components with their variables, attributes and characteristics. A full
/// inventory replaces what was stored; other reports merge into it.
#[utoipa::path(get, path = "/api/v1/chargers/{id}/device-model", tag = "chargers",
    params(("id" = String, Path, description = "charger identity"), DeviceModelParams),
    responses(
        (status = 200, body = DeviceModelView),
        (status = 404, description = "unknown charger", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<ApiState>,
    _: Viewer,
    Path(id): Path<String>,
    Query(params): Query<DeviceModelParams>,
) -> Result<Json<DeviceModelView>, ApiError> {
    let charger = ChargerId::new(&id).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if state.services.chargers.get(&charger).await?.is_none() {
        return Err(ApiError::NotFound(format!("no charger {charger}")));
    }
    let view = match state.services.device_model.get(&charger).await? {
        Some(model) => DeviceModelView {
            charger_id: charger.as_str().to_owned(),
            request_id: Some(model.last_request_id),
            generated_at: Some(model.generated_at),
            updated_at: Some(model.updated_at),
            components: components(model, params.component.as_deref()),
        },
        None => DeviceModelView {
            charger_id: charger.as_str().to_owned(),
            request_id: None,
            generated_at: None,
            updated_at: None,
            components: Vec::new(),
        },
    };
    Ok(Json(view))
}
