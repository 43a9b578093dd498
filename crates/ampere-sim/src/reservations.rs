//! Reservations: ReserveNow holds a connector (1.6) or an EVSE (2.x) for one token until it
//! expires, is cancelled, or its driver starts charging there.
//!
//! The payloads are the (already schema-validated) JSON of either version: the two differ
//! only in field names, so one handler serves both.

use ampere_ocpp::{CallError, OcppVersion};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::model::{ConnectorState, Effect, Station};

/// A held EVSE (`evse` 0: any EVSE of the station, 1.6 connector 0).
#[derive(Debug, Clone, PartialEq)]
pub struct Reservation {
    pub id: i64,
    pub evse: u32,
    pub id_token: String,
    pub expires: DateTime<Utc>,
}

pub(crate) fn answer(st: &mut Station, action: &str, payload: &Value) -> Result<Value, CallError> {
    let status = match action {
        "ReserveNow" => reserve_now(st, payload),
        _ => cancel(st, payload),
    };
    Ok(json!({ "status": status }))
}

fn reserve_now(st: &mut Station, p: &Value) -> &'static str {
    let v16 = st.version == OcppVersion::V16;
    let (id, evse, token, expires) = if v16 {
        (
            p["reservationId"].as_i64().unwrap_or_default(),
            p["connectorId"].as_u64().unwrap_or_default(),
            p["idTag"].as_str().unwrap_or_default(),
            p["expiryDate"].as_str(),
        )
    } else {
        (
            p["id"].as_i64().unwrap_or_default(),
            p["evseId"].as_u64().unwrap_or_default(),
            p["idToken"]["idToken"].as_str().unwrap_or_default(),
            p["expiryDateTime"].as_str(),
        )
    };
    let Some(expires) = expires.and_then(|t| DateTime::parse_from_rfc3339(t).ok()) else {
        return "Rejected";
    };
    let evse = u32::try_from(evse).unwrap_or(u32::MAX);
    // A new reservation with a known id replaces the old one (both versions say so).
    st.reservations.retain(|r| r.id != id);
    if evse != 0 {
        let Some(e) = st.evse(evse) else {
            return "Rejected";
        };
        if st.fault.is_some() || e.state == ConnectorState::Faulted {
            return "Faulted";
        }
        if !e.operative {
            return "Unavailable";
        }
        if e.session.is_some() || e.state.in_use() || e.state == ConnectorState::Reserved {
            return "Occupied";
        }
    } else if !st
        .evses
        .iter()
        .any(|e| e.operative && e.session.is_none() && e.state == ConnectorState::Available)
    {
        return "Occupied";
    }
    st.reservations.push(Reservation {
        id,
        evse,
        id_token: token.to_owned(),
        expires: expires.with_timezone(&Utc),
    });
    if evse != 0 {
        set_state(st, evse, ConnectorState::Reserved);
    }
    "Accepted"
}

fn cancel(st: &mut Station, p: &Value) -> &'static str {
    let id = p["reservationId"].as_i64().unwrap_or_default();
    match st.reservations.iter().position(|r| r.id == id) {
        Some(i) => {
            let gone = st.reservations.remove(i);
            release(st, gone.evse);
            "Accepted"
        }
        None => "Rejected",
    }
}

fn set_state(st: &mut Station, evse: u32, state: ConnectorState) {
    if let Some(e) = st.evse_mut(evse)
        && e.state != state
    {
        e.state = state;
        st.effects.push_back(Effect::Status { evse: Some(evse) });
    }
}

/// The reserved EVSE is free again (unless a session took it meanwhile).
fn release(st: &mut Station, evse: u32) {
    if evse != 0
        && st
            .evse(evse)
            .is_some_and(|e| e.state == ConnectorState::Reserved)
    {
        set_state(st, evse, ConnectorState::Available);
    }
}

/// Whether `token` may charge on `evse` as far as reservations go: an EVSE reserved for
/// another token is closed to it, and so is the last free EVSE when a station-wide
/// reservation of another token needs it.
pub fn admits(st: &Station, evse: u32, token: &str) -> bool {
    if let Some(r) = st.reservations.iter().find(|r| r.evse == evse) {
        return r.id_token == token;
    }
    let any: Vec<&Reservation> = st.reservations.iter().filter(|r| r.evse == 0).collect();
    if any.is_empty() || any.iter().any(|r| r.id_token == token) {
        return true;
    }
    let free = st
        .evses
        .iter()
        .filter(|e| e.operative && e.session.is_none() && e.state == ConnectorState::Available)
        .count();
    free > any.len()
}

/// A session of `token` starts on `evse`: the reservation it used is consumed; its id.
pub fn consume(st: &mut Station, evse: u32, token: &str) -> Option<i64> {
    let i = st
        .reservations
        .iter()
        .position(|r| r.id_token == token && (r.evse == evse || r.evse == 0))?;
    Some(st.reservations.remove(i).id)
}

/// Expired reservations end: the EVSE is free again and (2.x) the CSMS is told.
pub fn expire(st: &mut Station, now: DateTime<Utc>) {
    let (gone, kept): (Vec<Reservation>, Vec<Reservation>) = std::mem::take(&mut st.reservations)
        .into_iter()
        .partition(|r| r.expires <= now);
    st.reservations = kept;
    for r in gone {
        release(st, r.evse);
        if st.version != OcppVersion::V16 {
            st.effects.push_back(Effect::Send {
                action: "ReservationStatusUpdate",
                payload: json!({"reservationId": r.id, "reservationUpdateStatus": "Expired"}),
            });
        }
    }
}

/// When the next reservation expires.
pub fn next_expiry(st: &Station) -> Option<DateTime<Utc>> {
    st.reservations.iter().map(|r| r.expires).min()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::config::ChargerProfile;

    #[test]
    fn a_reservation_holds_the_evse_for_its_token_until_it_expires() {
        let profile = ChargerProfile {
            evses: 2,
            ..ChargerProfile::default()
        };
        let mut st = Station::new("SIM-1".into(), OcppVersion::V201, Arc::new(profile), 1);
        let expires = (st.now() + chrono::Duration::seconds(30)).to_rfc3339();
        let token = json!({"idToken": "MINE", "type": "ISO14443"});
        let reserve = |id: i64, evse: Option<i64>| {
            let mut p = json!({"id": id, "expiryDateTime": expires, "idToken": token});
            if let Some(evse) = evse {
                p["evseId"] = json!(evse);
            }
            p
        };
        let answer = crate::answer(&mut st, "ReserveNow", reserve(1, Some(1))).unwrap();
        assert_eq!(answer["status"], "Accepted");
        assert_eq!(st.evses[0].state, ConnectorState::Reserved);
        assert!(admits(&st, 1, "MINE") && !admits(&st, 1, "OTHER"));
        assert_eq!(st.free_evse(None, "OTHER"), Some(2));
        assert_eq!(st.free_evse(None, "MINE"), Some(1));
        // A station-wide reservation holds the last free EVSE against other tokens.
        let answer = crate::answer(&mut st, "ReserveNow", reserve(2, None)).unwrap();
        assert_eq!(answer["status"], "Accepted");
        assert!(!admits(&st, 2, "OTHER"));
        // Expiry: the EVSE is free and the CSMS is told.
        st.effects.clear();
        let later = st.now() + chrono::Duration::seconds(31);
        expire(&mut st, later);
        assert!(st.reservations.is_empty());
        assert_eq!(st.evses[0].state, ConnectorState::Available);
        assert!(st.effects.iter().any(|e| matches!(
            e,
            Effect::Send { action: "ReservationStatusUpdate", payload }
                if payload["reservationUpdateStatus"] == "Expired"
        )));
    }
}
