//! Smart charging: the profiles the CSMS sets are kept per EVSE, the power a car draws is
//! held under the active limit, and the composite schedule is computed from them.
//!
//! The active limit of an EVSE is the lowest of: the hardware limit, the station-wide
//! maximum profile, and the transaction profile (or, without one, the default transaction
//! profile); within a purpose the highest stack level wins. Limits in A become W as
//! A × 230 V × phases (3 when the period does not say).

use ampere_ocpp::{CallError, OcppVersion};
use chrono::{DateTime, Duration as TimeDelta, Utc};
use serde_json::{Value, json};

use crate::model::{Effect, Station, TxRef};

/// Line voltage used to turn amperes into watts.
pub const VOLTS: f64 = 230.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Purpose {
    StationMax,
    TxDefault,
    Tx,
    /// 2.x external constraints: a cap like the station maximum.
    External,
}

/// One period of a schedule: from `start_s` seconds into it, at most `limit` of its unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Period {
    pub start_s: i64,
    pub limit: Option<f64>,
    pub phases: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredProfile {
    pub id: i64,
    /// 0: the whole station.
    pub evse: u32,
    pub stack_level: i64,
    pub purpose: Purpose,
    /// The transaction a TxProfile belongs to (as text: 1.6 ids are numbers).
    pub transaction: Option<String>,
    /// Absolute start; `None` for relative profiles (they start with the session).
    pub start: Option<DateTime<Utc>>,
    /// Recurring profiles repeat every this many seconds.
    pub recurrence_s: Option<i64>,
    pub duration_s: Option<i64>,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_to: Option<DateTime<Utc>>,
    pub in_amps: bool,
    pub periods: Vec<Period>,
    /// As the CSMS sent it (GetChargingProfiles reports it back).
    pub raw: Value,
}

fn time(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

fn parse(version: OcppVersion, evse: u32, p: &Value) -> Option<StoredProfile> {
    let v16 = version == OcppVersion::V16;
    let schedule = if v16 {
        &p["chargingSchedule"]
    } else {
        // The simulator follows a profile's first schedule.
        &p["chargingSchedule"][0]
    };
    let purpose = match p["chargingProfilePurpose"].as_str()? {
        "ChargePointMaxProfile" | "ChargingStationMaxProfile" => Purpose::StationMax,
        "TxDefaultProfile" => Purpose::TxDefault,
        "TxProfile" => Purpose::Tx,
        _ => Purpose::External,
    };
    let periods = schedule["chargingSchedulePeriod"]
        .as_array()?
        .iter()
        .map(|period| Period {
            start_s: period["startPeriod"].as_i64().unwrap_or_default(),
            limit: period["limit"].as_f64(),
            phases: period["numberPhases"].as_f64().unwrap_or(3.0),
        })
        .collect();
    let kind = p["chargingProfileKind"].as_str().unwrap_or("Absolute");
    let recurrence_s = (kind == "Recurring").then(|| match p["recurrencyKind"].as_str() {
        Some("Weekly") => 7 * 86_400,
        _ => 86_400,
    });
    Some(StoredProfile {
        id: p[if v16 { "chargingProfileId" } else { "id" }].as_i64()?,
        evse,
        stack_level: p["stackLevel"].as_i64().unwrap_or_default(),
        purpose,
        transaction: match &p["transactionId"] {
            Value::Number(n) => Some(n.to_string()),
            Value::String(s) => Some(s.clone()),
            _ => None,
        },
        start: if kind == "Relative" {
            None
        } else {
            time(&schedule["startSchedule"])
        },
        recurrence_s,
        duration_s: schedule["duration"].as_i64(),
        valid_from: time(&p["validFrom"]),
        valid_to: time(&p["validTo"]),
        in_amps: schedule["chargingRateUnit"] == "A",
        periods,
        raw: p.clone(),
    })
}

fn tx_text(tx: &TxRef) -> Option<String> {
    match tx {
        TxRef::V16(id) => Some(id.to_string()),
        TxRef::TwoX(id) => Some(id.clone()),
        _ => None,
    }
}

impl StoredProfile {
    /// The limit in W at `now` for a session started at `session_start`, if the profile
    /// limits anything then.
    fn limit_w(&self, now: DateTime<Utc>, session_start: Option<DateTime<Utc>>) -> Option<f64> {
        if self.valid_from.is_some_and(|t| now < t) || self.valid_to.is_some_and(|t| now >= t) {
            return None;
        }
        let start = self.start.or(session_start).unwrap_or(now);
        let mut offset = (now - start).num_seconds();
        if let Some(every) = self.recurrence_s {
            offset = offset.rem_euclid(every);
        }
        if offset < 0 || self.duration_s.is_some_and(|d| offset >= d) {
            return None;
        }
        let period = self
            .periods
            .iter()
            .filter(|p| p.start_s <= offset)
            .max_by_key(|p| p.start_s)?;
        let limit = period.limit?;
        Some(if self.in_amps {
            limit * VOLTS * period.phases
        } else {
            limit
        })
    }
}

/// The power `evse` may draw at `now`, W.
pub fn limit_w(st: &Station, evse: u32, now: DateTime<Utc>) -> f64 {
    let session = st.evse(evse).and_then(|e| e.session.as_ref());
    let session_start = session.map(|s| s.started_at);
    let tx = session.and_then(|s| tx_text(&s.tx));
    let best = |purpose: Purpose| {
        st.profiles
            .iter()
            .filter(|p| p.purpose == purpose && (p.evse == evse || p.evse == 0))
            .filter(|p| purpose != Purpose::Tx || (p.transaction.is_none() || p.transaction == tx))
            .filter(|_| purpose != Purpose::Tx || session.is_some())
            .filter_map(|p| Some((p.stack_level, p.evse, p.limit_w(now, session_start)?)))
            // Highest stack level; an EVSE's own profile before the station's.
            .max_by_key(|(level, evse, _)| (*level, *evse))
            .map(|(_, _, limit)| limit)
    };
    let mut limit = st.profile.max_power_w;
    for cap in [best(Purpose::StationMax), best(Purpose::External)]
        .into_iter()
        .flatten()
    {
        limit = limit.min(cap);
    }
    if let Some(tx) = best(Purpose::Tx).or_else(|| best(Purpose::TxDefault)) {
        limit = limit.min(tx);
    }
    limit.max(0.0)
}

pub(crate) fn answer(st: &mut Station, action: &str, payload: &Value) -> Result<Value, CallError> {
    // Energy so far was delivered under the old limits.
    let now = tokio::time::Instant::now();
    let ids: Vec<u32> = st.evses.iter().map(|e| e.id).collect();
    for id in &ids {
        st.sample(*id, now);
    }
    let answer = match action {
        "SetChargingProfile" => set(st, payload),
        "ClearChargingProfile" => clear(st, payload),
        "GetChargingProfiles" => report(st, payload),
        _ => composite(st, payload),
    };
    for id in ids {
        st.apply_limit(id);
    }
    Ok(answer)
}

fn set(st: &mut Station, p: &Value) -> Value {
    let v16 = st.version == OcppVersion::V16;
    let (evse, profile) = if v16 {
        (&p["connectorId"], &p["csChargingProfiles"])
    } else {
        (&p["evseId"], &p["chargingProfile"])
    };
    let evse = u32::try_from(evse.as_u64().unwrap_or_default()).unwrap_or(u32::MAX);
    let rejected = if v16 {
        json!({"status": "Rejected"})
    } else {
        json!({"status": "Rejected", "statusInfo": {"reasonCode": "InvalidProfile"}})
    };
    if evse != 0 && st.evse(evse).is_none() {
        return rejected;
    }
    let Some(stored) = parse(st.version, evse, profile) else {
        return rejected;
    };
    let wrong_place = match stored.purpose {
        Purpose::StationMax => evse != 0,
        // A transaction profile needs a transaction on its EVSE (and the right one).
        Purpose::Tx => {
            let tx = st
                .evse(evse)
                .and_then(|e| e.session.as_ref())
                .and_then(|s| tx_text(&s.tx));
            evse == 0 || tx.is_none() || (stored.transaction.is_some() && stored.transaction != tx)
        }
        _ => false,
    };
    if wrong_place {
        return rejected;
    }
    // Same id, or same purpose, stack level and EVSE: the new one replaces the old.
    st.profiles.retain(|old| {
        old.id != stored.id
            && !(old.purpose == stored.purpose
                && old.stack_level == stored.stack_level
                && old.evse == stored.evse)
    });
    st.profiles.push(stored);
    json!({"status": "Accepted"})
}

fn clear(st: &mut Station, p: &Value) -> Value {
    let v16 = st.version == OcppVersion::V16;
    let (id, evse, purpose, level) = if v16 {
        (
            p["id"].as_i64(),
            p["connectorId"].as_u64(),
            p["chargingProfilePurpose"].as_str(),
            p["stackLevel"].as_i64(),
        )
    } else {
        let c = &p["chargingProfileCriteria"];
        (
            p["chargingProfileId"].as_i64(),
            c["evseId"].as_u64(),
            c["chargingProfilePurpose"].as_str(),
            c["stackLevel"].as_i64(),
        )
    };
    let purpose = purpose.map(|name| match name {
        "ChargePointMaxProfile" | "ChargingStationMaxProfile" => Purpose::StationMax,
        "TxDefaultProfile" => Purpose::TxDefault,
        "TxProfile" => Purpose::Tx,
        _ => Purpose::External,
    });
    let before = st.profiles.len();
    st.profiles.retain(|pr| {
        let matches = match id {
            Some(id) => pr.id == id,
            None => {
                evse.is_none_or(|e| u64::from(pr.evse) == e)
                    && purpose.is_none_or(|p| pr.purpose == p)
                    && level.is_none_or(|l| pr.stack_level == l)
            }
        };
        !matches
    });
    let status = if st.profiles.len() < before {
        "Accepted"
    } else {
        "Unknown"
    };
    json!({ "status": status })
}

/// 2.x GetChargingProfiles: Accepted and the matching profiles in a
/// ReportChargingProfiles, or NoProfiles.
fn report(st: &mut Station, p: &Value) -> Value {
    let evse = p["evseId"].as_u64();
    let c = &p["chargingProfile"];
    let ids: Option<Vec<i64>> = c["chargingProfileId"]
        .as_array()
        .map(|ids| ids.iter().filter_map(Value::as_i64).collect());
    let matching: Vec<&StoredProfile> = st
        .profiles
        .iter()
        .filter(|pr| evse.is_none_or(|e| u64::from(pr.evse) == e))
        .filter(|pr| ids.as_ref().is_none_or(|ids| ids.contains(&pr.id)))
        .filter(|pr| {
            c["chargingProfilePurpose"]
                .as_str()
                .is_none_or(|name| pr.raw["chargingProfilePurpose"] == name)
        })
        .filter(|pr| c["stackLevel"].as_i64().is_none_or(|l| pr.stack_level == l))
        .collect();
    if matching.is_empty() {
        return json!({"status": "NoProfiles"});
    }
    let mut by_evse: std::collections::BTreeMap<u32, Vec<Value>> = Default::default();
    for pr in matching {
        by_evse.entry(pr.evse).or_default().push(pr.raw.clone());
    }
    let last = by_evse.len() - 1;
    let request_id = p["requestId"].clone();
    for (i, (evse, profiles)) in by_evse.into_iter().enumerate() {
        st.effects.push_back(Effect::Send {
            action: "ReportChargingProfiles",
            payload: json!({
                "requestId": request_id,
                "chargingLimitSource": "CSO",
                "chargingProfile": profiles,
                "tbc": i < last,
                "evseId": evse,
            }),
        });
    }
    json!({"status": "Accepted"})
}

/// The limits over the next `duration` seconds as one schedule, a period at each change.
fn composite(st: &mut Station, p: &Value) -> Value {
    let v16 = st.version == OcppVersion::V16;
    let evse = p[if v16 { "connectorId" } else { "evseId" }]
        .as_u64()
        .and_then(|e| u32::try_from(e).ok())
        .unwrap_or(u32::MAX);
    if evse != 0 && st.evse(evse).is_none() {
        return if v16 {
            json!({"status": "Rejected"})
        } else {
            json!({"status": "Rejected", "statusInfo": {"reasonCode": "UnknownEVSE"}})
        };
    }
    let duration = p["duration"]
        .as_i64()
        .unwrap_or_default()
        .clamp(0, 7 * 86_400);
    let in_amps = p["chargingRateUnit"] == "A";
    let start = st.now();
    // The limit can only change where some profile's period starts or ends: evaluate at
    // each whole minute of the window and at the start, merging equal neighbours.
    let step = 60;
    let mut periods: Vec<Value> = Vec::new();
    let mut last: Option<f64> = None;
    let mut offset = 0;
    while offset < duration.max(1) {
        let at = start + TimeDelta::seconds(offset);
        let watts = if evse == 0 {
            st.evses.iter().map(|e| limit_w(st, e.id, at)).sum::<f64>()
        } else {
            limit_w(st, evse, at)
        };
        let limit = if in_amps {
            watts / (VOLTS * 3.0)
        } else {
            watts
        };
        let limit = (limit * 10.0).round() / 10.0;
        if last != Some(limit) {
            let mut period = json!({"startPeriod": offset, "limit": limit});
            if in_amps {
                period["numberPhases"] = json!(3);
            }
            periods.push(period);
            last = Some(limit);
        }
        offset += step;
    }
    let unit = if in_amps { "A" } else { "W" };
    let start_text = start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    if v16 {
        json!({
            "status": "Accepted",
            "connectorId": evse,
            "scheduleStart": start_text,
            "chargingSchedule": {
                "duration": duration,
                "startSchedule": start_text,
                "chargingRateUnit": unit,
                "chargingSchedulePeriod": periods,
            },
        })
    } else {
        json!({
            "status": "Accepted",
            "schedule": {
                "evseId": evse,
                "duration": duration,
                "scheduleStart": start_text,
                "chargingRateUnit": unit,
                "chargingSchedulePeriod": periods,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use serde_json::json;
    use tokio::time::Instant;

    use super::*;
    use crate::config::ChargerProfile;

    fn station(version: OcppVersion) -> Station {
        let mut st = Station::new(
            "SIM-00001".into(),
            version,
            Arc::new(ChargerProfile::default()),
            1,
        );
        st.registration = crate::model::Registration::Accepted;
        st
    }

    #[test]
    fn a_station_maximum_caps_the_energy_a_session_delivers() {
        let mut st = station(OcppVersion::V16);
        let past = (st.now() - chrono::Duration::minutes(1)).to_rfc3339();
        let answer = crate::answer(
            &mut st,
            "SetChargingProfile",
            json!({"connectorId": 0, "csChargingProfiles": {
                "chargingProfileId": 1, "stackLevel": 0,
                "chargingProfilePurpose": "ChargePointMaxProfile", "chargingProfileKind": "Absolute",
                "chargingSchedule": {"startSchedule": past, "chargingRateUnit": "A",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6, "numberPhases": 1}]}}}),
        )
        .unwrap();
        assert_eq!(answer, json!({"status": "Accepted"}));
        let start = Instant::now();
        st.begin_session(1, 1, "T".into(), None, None, start);
        // A car that could take 22 kW gets 6 A × 230 V = 1380 W.
        if let Some(s) = st.evses[0].session.as_mut() {
            s.meter.ev.max_power_w = 22_000.0;
            s.meter.ev.soc = 0.2;
        }
        let before = st.evses[0].register_wh;
        st.sample(1, start + Duration::from_secs(3602));
        let delivered = st.evses[0].register_wh - before;
        assert!((delivered - 1380.0).abs() < 5.0, "{delivered}");

        // Cleared: the hardware limit again.
        let answer = crate::answer(&mut st, "ClearChargingProfile", json!({})).unwrap();
        assert_eq!(answer, json!({"status": "Accepted"}));
        assert_eq!(limit_w(&st, 1, st.now()), st.profile.max_power_w);
    }

    #[test]
    fn tx_profiles_beat_defaults_and_stack_levels_order_them() {
        let mut st = station(OcppVersion::V201);
        st.begin_session(1, 1, "T".into(), None, None, Instant::now());
        let tx = match &st.evses[0].session.as_ref().unwrap().tx {
            TxRef::TwoX(id) => id.clone(),
            other => panic!("{other:?}"),
        };
        let profile = |id: i64, level: i64, purpose: &str, watts: f64, tx: Option<&str>| {
            let mut p = json!({"evseId": 1, "chargingProfile": {
                "id": id, "stackLevel": level, "chargingProfilePurpose": purpose,
                "chargingProfileKind": "Relative",
                "chargingSchedule": [{"id": 1, "chargingRateUnit": "W",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": watts}]}]}});
            if let Some(tx) = tx {
                p["chargingProfile"]["transactionId"] = json!(tx);
            }
            p
        };
        for p in [
            profile(1, 0, "TxDefaultProfile", 9000.0, None),
            profile(2, 1, "TxDefaultProfile", 8000.0, None),
        ] {
            assert_eq!(
                crate::answer(&mut st, "SetChargingProfile", p).unwrap()["status"],
                "Accepted"
            );
        }
        assert_eq!(limit_w(&st, 1, st.now()), 8000.0);
        let wrong = profile(3, 0, "TxProfile", 4000.0, Some("not-this-one"));
        assert_eq!(
            crate::answer(&mut st, "SetChargingProfile", wrong).unwrap()["status"],
            "Rejected"
        );
        let right = profile(3, 0, "TxProfile", 4000.0, Some(&tx));
        assert_eq!(
            crate::answer(&mut st, "SetChargingProfile", right).unwrap()["status"],
            "Accepted"
        );
        assert_eq!(limit_w(&st, 1, st.now()), 4000.0);
        assert_eq!(st.evses[0].session.as_ref().unwrap().meter.limit_w, 4000.0);
        // The composite schedule shows it.
        let composite = crate::answer(
            &mut st,
            "GetCompositeSchedule",
            json!({"duration": 120, "evseId": 1, "chargingRateUnit": "W"}),
        )
        .unwrap();
        assert_eq!(
            composite["schedule"]["chargingSchedulePeriod"],
            json!([{"startPeriod": 0, "limit": 4000.0}])
        );
    }
}
