//! `/api/v1/chargers/{id}/local-list`: the charger's local authorization list, kept in step
//! with Ampere's view of it (SendLocalList, GetLocalListVersion).
//!
//! - `PUT` `{entries}`: a full update, sent as version `version + 1`.
//! - `PATCH` `{upsert, remove}`: a differential update, sent as version `version + 1`. When
//!   the charger answers `VersionMismatch` (its list is not the one Ampere believes it has),
//!   Ampere follows up at once with a full update of the list as it should be; `updates` in
//!   the answer lists both.
//! - The version moves only when the charger answers `Accepted`. Any other status (`Failed`,
//!   `NotSupported`, or a mismatch the full update did not cure) is recorded as the last sync
//!   and answered 409 naming it; offline → 409, no answer → 504, CALLERROR → 502 (also
//!   recorded as the last sync, except offline: nothing was sent).
//! - `GET` shows Ampere's view: version, entries, last sync, and the version the charger last
//!   reported; `POST .../local-list/version` asks the charger (GetLocalListVersion).
//!
//! Wire shapes: 1.6 `{listVersion, localAuthorizationList: [{idTag, idTagInfo: {expiryDate,
//! parentIdTag, status}}], updateType}`; 2.x `{versionNumber, updateType,
//! localAuthorizationList: [{idToken: {idToken, type}, idTokenInfo: {status,
//! cacheExpiryDateTime, groupIdToken: {idToken, type: Central}}}]}`. A differential removal is
//! an entry without its info.

use ampere_domain::local_list::check_entries;
use ampere_domain::{ChargerId, LocalList, LocalListChange, LocalListEntry, UpdateType};
use ampere_ocpp::OcppVersion;
use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use crate::ApiState;
use crate::auth::{Caller, Operator, Viewer};
use crate::charger_call::{self, connected, timestamp};
use crate::error::{ApiError, Problem};
use crate::extract::Body;

/// One token in the list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocalListEntryBody {
    pub id_token: String,
    /// 2.x token type (default `ISO14443`).
    #[serde(default)]
    pub id_token_type: Option<String>,
    /// `Accepted` (default), `Blocked`, `Expired`, `Invalid`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub expiry_date: Option<DateTime<Utc>>,
    /// The group (1.6 `parentIdTag`, 2.x `groupIdToken`).
    #[serde(default)]
    pub group_id: Option<String>,
}

/// `PUT`: the whole list.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FullListBody {
    pub entries: Vec<LocalListEntryBody>,
}

/// `PATCH`: tokens to add or update, tokens to remove.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListChangeBody {
    #[serde(default)]
    pub upsert: Vec<LocalListEntryBody>,
    #[serde(default)]
    pub remove: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LocalListEntryView {
    pub id_token: String,
    pub id_token_type: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiry_date: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SyncView {
    pub at: DateTime<Utc>,
    /// `Full` or `Differential`.
    pub update_type: String,
    /// The version sent.
    pub version: i64,
    /// The charger's answer, or the error when it gave none.
    pub result: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChargerVersionView {
    pub version: i64,
    pub reported_at: DateTime<Utc>,
}

/// Ampere's view of a charger's local list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LocalListView {
    pub charger_id: String,
    /// The version the charger last accepted (0: none yet).
    pub version: i64,
    pub entries: Vec<LocalListEntryView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_sync: Option<SyncView>,
    /// What the charger last said its version is (GetLocalListVersion).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charger_version: Option<ChargerVersionView>,
    /// For PUT and PATCH: the updates sent, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub updates: Vec<SyncView>,
}

fn view(list: LocalList, updates: Vec<SyncView>) -> LocalListView {
    LocalListView {
        charger_id: list.charger.as_str().to_owned(),
        version: list.version,
        entries: list
            .entries
            .into_iter()
            .map(|e| LocalListEntryView {
                id_token: e.id_token,
                id_token_type: e.id_token_type,
                status: e.status,
                expiry_date: e.expiry_date,
                group_id: e.group_id,
            })
            .collect(),
        last_sync: list.last_sync.map(sync_view),
        charger_version: list
            .charger_version
            .map(|(version, reported_at)| ChargerVersionView {
                version,
                reported_at,
            }),
        updates,
    }
}

fn sync_view(s: ampere_domain::LocalListSync) -> SyncView {
    SyncView {
        at: s.at,
        update_type: s.update_type.as_str().to_owned(),
        version: s.version,
        result: s.result,
    }
}

fn entry(body: LocalListEntryBody) -> LocalListEntry {
    LocalListEntry {
        id_token: body.id_token,
        id_token_type: body.id_token_type.unwrap_or_else(|| "ISO14443".into()),
        status: body.status.unwrap_or_else(|| "Accepted".into()),
        expiry_date: body.expiry_date,
        group_id: body.group_id,
    }
}

fn put(map: &mut Map<String, Value>, key: &str, value: Option<impl Into<Value>>) {
    if let Some(value) = value {
        map.insert(key.to_owned(), value.into());
    }
}

/// One list entry on the wire; `None` info is a differential removal.
fn wire_entry(
    version: OcppVersion,
    token: &str,
    token_type: &str,
    info: Option<&LocalListEntry>,
) -> Value {
    let mut map = Map::new();
    if version == OcppVersion::V16 {
        map.insert("idTag".into(), token.into());
        if let Some(e) = info {
            let mut tag_info = Map::new();
            put(&mut tag_info, "expiryDate", e.expiry_date.map(timestamp));
            put(&mut tag_info, "parentIdTag", e.group_id.clone());
            tag_info.insert("status".into(), e.status.clone().into());
            map.insert("idTagInfo".into(), Value::Object(tag_info));
        }
    } else {
        if let Some(e) = info {
            let mut token_info = Map::new();
            token_info.insert("status".into(), e.status.clone().into());
            put(
                &mut token_info,
                "cacheExpiryDateTime",
                e.expiry_date.map(timestamp),
            );
            if let Some(group) = &e.group_id {
                token_info.insert(
                    "groupIdToken".into(),
                    json!({"idToken": group, "type": "Central"}),
                );
            }
            map.insert("idTokenInfo".into(), Value::Object(token_info));
        }
        map.insert(
            "idToken".into(),
            json!({"idToken": token, "type": token_type}),
        );
    }
    Value::Object(map)
}

/// The SendLocalList payload.
fn send_local_list(
    version: OcppVersion,
    list_version: i64,
    update_type: UpdateType,
    entries: Vec<Value>,
) -> Value {
    let mut map = Map::new();
    let list = (!entries.is_empty()).then_some(Value::Array(entries));
    if version == OcppVersion::V16 {
        map.insert("listVersion".into(), list_version.into());
        put(&mut map, "localAuthorizationList", list);
        map.insert("updateType".into(), update_type.as_str().into());
    } else {
        map.insert("versionNumber".into(), list_version.into());
        map.insert("updateType".into(), update_type.as_str().into());
        put(&mut map, "localAuthorizationList", list);
    }
    Value::Object(map)
}

fn full_payload(version: OcppVersion, list_version: i64, entries: &[LocalListEntry]) -> Value {
    let wire = entries
        .iter()
        .map(|e| wire_entry(version, &e.id_token, &e.id_token_type, Some(e)))
        .collect();
    send_local_list(version, list_version, UpdateType::Full, wire)
}

/// Sends one update and records the answer; returns the charger's status (or the error,
/// also recorded).
async fn send_update(
    state: &ApiState,
    caller: &Caller,
    (charger, version): (&ChargerId, OcppVersion),
    update_type: UpdateType,
    list_version: i64,
    payload: Value,
    entries_after: &[LocalListEntry],
) -> Result<(String, SyncView), ApiError> {
    let label = match update_type {
        UpdateType::Full => "local-list full update",
        UpdateType::Differential => "local-list differential update",
    };
    let sent = charger_call::call(
        state,
        caller,
        label,
        charger,
        version,
        "SendLocalList",
        payload,
    )
    .await;
    let result = match &sent {
        Ok(exchange) => exchange.status().to_owned(),
        // Invalid for the charger's version: nothing was sent, nothing to record.
        Err(e @ ApiError::InvalidOcpp(_)) => return Err(ApiError::InvalidOcpp(e.to_string())),
        Err(error) => format!("error: {}", error.problem().title),
    };
    let list = state
        .services
        .local_lists
        .record_update(charger, update_type, list_version, entries_after, &result)
        .await?;
    sent?;
    let sync = list
        .last_sync
        .map(sync_view)
        .ok_or_else(|| ApiError::Internal("a recorded sync is missing".into()))?;
    Ok((result, sync))
}

fn not_accepted(charger: &ChargerId, result: &str, version: i64) -> ApiError {
    ApiError::Conflict(format!(
        "charger {charger} answered SendLocalList {result}; its list stays at version {version}"
    ))
}

/// Ampere's view of a charger's local authorization list.
#[utoipa::path(get, path = "/api/v1/chargers/{id}/local-list", tag = "local-lists",
    params(("id" = String, Path, description = "charger identity")),
    responses(
        (status = 200, body = LocalListView),
        (status = 400, description = "not a valid charger id", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<ApiState>,
    _: Viewer,
    Path(id): Path<String>,
) -> Result<Json<LocalListView>, ApiError> {
    let charger = registered(&state, &id).await?;
    let list = state.services.local_lists.get(&charger).await?;
    Ok(Json(view(list, Vec::new())))
}

async fn registered(state: &ApiState, id: &str) -> Result<ChargerId, ApiError> {
    let charger = ChargerId::new(id).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if state.services.chargers.get(&charger).await?.is_none() {
        return Err(ApiError::NotFound(format!("no charger {charger}")));
    }
    Ok(charger)
}

/// Replace the charger's list (SendLocalList, Full).
#[utoipa::path(put, path = "/api/v1/chargers/{id}/local-list", tag = "local-lists",
    params(("id" = String, Path, description = "charger identity")),
    request_body = FullListBody,
    responses(
        (status = 200, body = LocalListView, description = "the charger accepted; the version moved"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "charger offline, or it did not accept (Failed, NotSupported, VersionMismatch)", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "the charger answered CALLERROR", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "the charger did not answer in time", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn replace(
    State(state): State<ApiState>,
    Operator(caller): Operator,
    Path(id): Path<String>,
    Body(body): Body<FullListBody>,
) -> Result<Json<LocalListView>, ApiError> {
    let mut entries: Vec<LocalListEntry> = body.entries.into_iter().map(entry).collect();
    check_entries(entries.iter().map(|e| e.id_token.as_str()))?;
    entries.sort_by(|a, b| a.id_token.cmp(&b.id_token));
    let (charger, version) = connected(&state, &id).await?;
    let current = state.services.local_lists.get(&charger).await?;
    let next = current.version + 1;
    let (result, sync) = send_update(
        &state,
        &caller,
        (&charger, version),
        UpdateType::Full,
        next,
        full_payload(version, next, &entries),
        &entries,
    )
    .await?;
    if result != "Accepted" {
        return Err(not_accepted(&charger, &result, current.version));
    }
    let list = state.services.local_lists.get(&charger).await?;
    Ok(Json(view(list, vec![sync])))
}

/// Change some entries of the charger's list (SendLocalList, Differential).
#[utoipa::path(patch, path = "/api/v1/chargers/{id}/local-list", tag = "local-lists",
    params(("id" = String, Path, description = "charger identity")),
    request_body = ListChangeBody,
    responses(
        (status = 200, body = LocalListView, description = "the charger accepted (after a full update if it answered VersionMismatch)"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "charger offline, or it did not accept", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "the charger answered CALLERROR", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "the charger did not answer in time", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn change(
    State(state): State<ApiState>,
    Operator(caller): Operator,
    Path(id): Path<String>,
    Body(body): Body<ListChangeBody>,
) -> Result<Json<LocalListView>, ApiError> {
    let change = LocalListChange {
        upsert: body.upsert.into_iter().map(entry).collect(),
        remove: body.remove,
    };
    if change.upsert.is_empty() && change.remove.is_empty() {
        return Err(ApiError::BadRequest(
            "nothing to change: give upsert and/or remove".into(),
        ));
    }
    check_entries(
        change
            .upsert
            .iter()
            .map(|e| e.id_token.as_str())
            .chain(change.remove.iter().map(String::as_str)),
    )?;
    let (charger, version) = connected(&state, &id).await?;
    let current = state.services.local_lists.get(&charger).await?;
    let intended = change.apply(&current.entries);
    let next = current.version + 1;
    let mut wire: Vec<Value> = change
        .upsert
        .iter()
        .map(|e| wire_entry(version, &e.id_token, &e.id_token_type, Some(e)))
        .collect();
    wire.extend(change.remove.iter().map(|token| {
        let token_type = current
            .entries
            .iter()
            .find(|e| &e.id_token == token)
            .map_or("ISO14443", |e| e.id_token_type.as_str());
        wire_entry(version, token, token_type, None)
    }));
    let payload = send_local_list(version, next, UpdateType::Differential, wire);
    let (mut result, sync) = send_update(
        &state,
        &caller,
        (&charger, version),
        UpdateType::Differential,
        next,
        payload,
        &intended,
    )
    .await?;
    let mut updates = vec![sync];
    if result == "VersionMismatch" {
        // The charger's list is not the one Ampere believes: send the whole intended list.
        let (full_result, sync) = send_update(
            &state,
            &caller,
            (&charger, version),
            UpdateType::Full,
            next,
            full_payload(version, next, &intended),
            &intended,
        )
        .await?;
        result = full_result;
        updates.push(sync);
    }
    if result != "Accepted" {
        return Err(not_accepted(&charger, &result, current.version));
    }
    let list = state.services.local_lists.get(&charger).await?;
    Ok(Json(view(list, updates)))
}

/// Ask the charger which list version it has (GetLocalListVersion) and record it.
#[utoipa::path(post, path = "/api/v1/chargers/{id}/local-list/version", tag = "local-lists",
    params(("id" = String, Path, description = "charger identity")),
    responses(
        (status = 200, body = LocalListView, description = "`charger_version` is what the charger just said"),
        (status = 400, description = "not a valid charger id", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "charger offline", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "the charger answered CALLERROR", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "the charger did not answer in time", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn check_version(
    State(state): State<ApiState>,
    Operator(caller): Operator,
    Path(id): Path<String>,
) -> Result<Json<LocalListView>, ApiError> {
    let (charger, version) = connected(&state, &id).await?;
    let exchange = charger_call::call(
        &state,
        &caller,
        "local-list version",
        &charger,
        version,
        "GetLocalListVersion",
        json!({}),
    )
    .await?;
    let field = if version == OcppVersion::V16 {
        "listVersion"
    } else {
        "versionNumber"
    };
    let reported = exchange.response[field].as_i64().ok_or_else(|| {
        ApiError::ChargerBadResponse(format!("GetLocalListVersion answer without {field}"))
    })?;
    let list = state
        .services
        .local_lists
        .record_charger_version(&charger, reported)
        .await?;
    Ok(Json(view(list, Vec::new())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries() -> Vec<LocalListEntry> {
        vec![
            entry(LocalListEntryBody {
                id_token: "A".into(),
                id_token_type: None,
                status: None,
                expiry_date: Some(
                    DateTime::parse_from_rfc3339("2027-01-01T00:00:00Z")
                        .unwrap()
                        .to_utc(),
                ),
                group_id: Some("FLEET".into()),
            }),
            entry(LocalListEntryBody {
                id_token: "B".into(),
                id_token_type: Some("eMAID".into()),
                status: Some("Blocked".into()),
                expiry_date: None,
                group_id: None,
            }),
        ]
    }

    #[test]
    fn updates_are_valid_in_every_version() {
        for version in OcppVersion::NEWEST_FIRST {
            for payload in [
                full_payload(version, 3, &entries()),
                full_payload(version, 3, &[]),
                send_local_list(
                    version,
                    4,
                    UpdateType::Differential,
                    vec![wire_entry(version, "A", "ISO14443", None)],
                ),
            ] {
                charger_call::validate(version, "SendLocalList", &payload)
                    .unwrap_or_else(|e| panic!("{version}: {e}: {payload}"));
            }
        }
        assert_eq!(
            full_payload(OcppVersion::V16, 1, &entries()[..1]),
            json!({"listVersion": 1, "localAuthorizationList": [{"idTag": "A", "idTagInfo": {"expiryDate": "2027-01-01T00:00:00Z", "parentIdTag": "FLEET", "status": "Accepted"}}], "updateType": "Full"})
        );
    }
}
