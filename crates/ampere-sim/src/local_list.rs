//! The local authorization list: SendLocalList (full or differential, versioned),
//! GetLocalListVersion, and authorizing from the list while the CSMS is out of reach.

use std::collections::BTreeMap;

use ampere_ocpp::{CallError, OcppVersion};
use serde_json::{Value, json};

use crate::model::Station;

/// Most entries the simulated charger keeps (1.6 LocalAuthListMaxLength).
pub const MAX_ENTRIES: usize = 10_000;

/// The list and its version (0: none installed).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LocalList {
    pub version: i64,
    /// Token → its status as the CSMS gave it (`Accepted`, `Blocked`, …).
    pub entries: BTreeMap<String, String>,
}

impl LocalList {
    /// The status the list gives `token`, if it lists it.
    pub fn status(&self, token: &str) -> Option<&str> {
        self.entries.get(token).map(String::as_str)
    }
}

pub(crate) fn answer(st: &mut Station, action: &str, payload: &Value) -> Result<Value, CallError> {
    let v16 = st.version == OcppVersion::V16;
    if action == "GetLocalListVersion" {
        let version = st.local_list.version;
        return Ok(if v16 {
            json!({ "listVersion": version })
        } else {
            json!({ "versionNumber": version })
        });
    }
    let (version, list) = if v16 {
        (&payload["listVersion"], &payload["localAuthorizationList"])
    } else {
        (
            &payload["versionNumber"],
            &payload["localAuthorizationList"],
        )
    };
    let version = version.as_i64().unwrap_or_default();
    let full = payload["updateType"] == "Full";
    let entries: Vec<(String, Option<String>)> = list
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| {
                    let (token, info) = if v16 {
                        (&item["idTag"], &item["idTagInfo"])
                    } else {
                        (&item["idToken"]["idToken"], &item["idTokenInfo"])
                    };
                    (
                        token.as_str().unwrap_or_default().to_owned(),
                        info["status"].as_str().map(str::to_owned),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let status = if !full && version <= st.local_list.version {
        "VersionMismatch"
    } else {
        let mut next = if full {
            BTreeMap::new()
        } else {
            st.local_list.entries.clone()
        };
        for (token, status) in entries {
            match status {
                Some(status) => {
                    next.insert(token, status);
                }
                // A differential entry without info removes the token.
                None => {
                    next.remove(&token);
                }
            }
        }
        if next.len() > MAX_ENTRIES {
            "Failed"
        } else {
            st.local_list = LocalList {
                version,
                entries: next,
            };
            "Accepted"
        }
    };
    Ok(json!({ "status": status }))
}

/// Whether an offline charger lets `token` start: the list's word when it has one, else
/// the offline policy for unknown tokens.
pub fn authorize_offline(st: &Station, token: &str) -> bool {
    match st.local_list.status(token) {
        Some(status) => st.local_authorize_offline && status == "Accepted",
        None => st.offline_unknown_allowed,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::config::ChargerProfile;

    #[test]
    fn full_and_differential_updates_and_offline_authorization() {
        let mut st = Station::new(
            "SIM-1".into(),
            OcppVersion::V16,
            Arc::new(ChargerProfile::default()),
            1,
        );
        let entry = |tag: &str, status: Option<&str>| match status {
            Some(s) => json!({"idTag": tag, "idTagInfo": {"status": s}}),
            None => json!({"idTag": tag}),
        };
        let send = |st: &mut Station, version: i64, kind: &str, list: Vec<Value>| {
            crate::answer(
                st,
                "SendLocalList",
                json!({"listVersion": version, "updateType": kind, "localAuthorizationList": list}),
            )
            .unwrap()["status"]
                .clone()
        };
        let full = vec![entry("A", Some("Accepted")), entry("B", Some("Blocked"))];
        assert_eq!(send(&mut st, 5, "Full", full), "Accepted");
        assert!(authorize_offline(&st, "A"));
        assert!(!authorize_offline(&st, "B"));
        assert!(!authorize_offline(&st, "UNKNOWN"));
        assert_eq!(
            send(
                &mut st,
                5,
                "Differential",
                vec![entry("C", Some("Accepted"))]
            ),
            "VersionMismatch"
        );
        assert_eq!(
            send(
                &mut st,
                6,
                "Differential",
                vec![entry("A", None), entry("C", Some("Accepted"))]
            ),
            "Accepted"
        );
        assert!(!authorize_offline(&st, "A") && authorize_offline(&st, "C"));
        assert_eq!(
            crate::answer(&mut st, "GetLocalListVersion", json!({})).unwrap(),
            json!({"listVersion": 6})
        );
        st.offline_unknown_allowed = true;
        assert!(authorize_offline(&st, "UNKNOWN"));
    }
}
