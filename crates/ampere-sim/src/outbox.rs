//! Transaction messages kept while the CSMS is out of reach, replayed in order when the
//! connection is back — the way OCPP asks chargers to keep their transaction messages.
//!
//! A 1.6 StartTransaction sent from the queue gets its transaction id only when answered,
//! so the MeterValues and StopTransaction queued behind it carry a key instead; the id
//! from the answer is put in before each is sent. 2.x TransactionEvents are queued with
//! `offline: true` (their transaction ids are the charger's own).

use std::collections::{HashMap, VecDeque};

use ampere_ocpp::{Action, OcppVersion};
use serde_json::Value;

use crate::Stats;
use crate::link::{Link, SimError};
use crate::model::{Station, TxRef};

/// Most messages one charger keeps; periodic meter values beyond it are dropped (starts
/// and stops never are).
pub const CAPACITY: usize = 5_000;

#[derive(Debug, Clone, PartialEq)]
pub struct Queued {
    pub action: &'static str,
    pub payload: Value,
    /// 1.6: the session key whose StartTransaction answer gives `transactionId`.
    pub tx_key: Option<u64>,
}

#[derive(Debug, Default)]
pub struct Outbox {
    items: VecDeque<Queued>,
    next_key: u64,
    /// Session key → the transaction id the CSMS gave when the queued start was sent.
    assigned: HashMap<u64, i64>,
}

impl Outbox {
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// A key for a 1.6 session started offline.
    pub fn new_key(&mut self) -> u64 {
        self.next_key += 1;
        self.next_key
    }

    /// The messages waiting, oldest first.
    pub fn items(&self) -> impl Iterator<Item = &Queued> {
        self.items.iter()
    }

    fn push(&mut self, item: Queued) {
        if self.items.len() >= CAPACITY && item.action == "MeterValues" {
            tracing::warn!("offline queue full: a MeterValues is dropped");
            return;
        }
        self.items.push_back(item);
    }
}

/// Sends `request` now, or queues it when there is no connection (or older messages still
/// wait, so that order holds). `None`: queued.
pub(crate) async fn send<A: Action>(
    link: Option<&mut Link>,
    st: &mut Station,
    stats: &Stats,
    request: A,
    tx_key: Option<u64>,
) -> Result<Option<A::Response>, SimError> {
    match link {
        Some(link) if st.outbox.is_empty() => link.call(st, stats, request).await.map(Some),
        _ => {
            let mut payload =
                serde_json::to_value(&request).map_err(|e| SimError::InvalidResponse {
                    action: A::NAME,
                    reason: format!("request not encodable: {e}"),
                })?;
            if A::VERSION != OcppVersion::V16 && A::NAME == "TransactionEvent" {
                payload["offline"] = Value::Bool(true);
            }
            st.outbox.push(Queued {
                action: A::NAME,
                payload,
                tx_key,
            });
            Stats::add(&stats.queued, 1);
            Ok(None)
        }
    }
}

/// Sends every queued message in order. A message the CSMS refuses is not sent again; a
/// lost connection leaves the rest (this one first) for the next one.
pub(crate) async fn replay(
    link: &mut Link,
    st: &mut Station,
    stats: &Stats,
) -> Result<(), SimError> {
    while let Some(mut item) = st.outbox.items.pop_front() {
        if let Some(key) = item.tx_key
            && item.action != "StartTransaction"
        {
            match st.outbox.assigned.get(&key) {
                Some(id) => item.payload["transactionId"] = Value::from(*id),
                // Its start was refused: the CSMS has no transaction to put these in.
                None => continue,
            }
        }
        let answer = match link
            .call_json(st, stats, item.action, item.payload.clone())
            .await
        {
            Ok(answer) => answer,
            Err(error) if error.is_fatal() => {
                st.outbox.items.push_front(item);
                return Err(error);
            }
            Err(error) => {
                tracing::warn!(charger = %st.id, %error, "a queued message was refused");
                continue;
            }
        };
        Stats::add(&stats.replayed, 1);
        if item.action == "StartTransaction"
            && let (Some(key), Some(id)) = (item.tx_key, answer["transactionId"].as_i64())
        {
            st.outbox.assigned.insert(key, id);
            for e in &mut st.evses {
                if let Some(s) = e.session.as_mut()
                    && s.tx == TxRef::Queued(key)
                {
                    s.tx = TxRef::V16(id);
                }
            }
        }
    }
    st.outbox.assigned.clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::config::ChargerProfile;

    #[tokio::test]
    async fn offline_messages_queue_in_order_with_their_keys_and_flags() {
        let stats = Stats::default();
        let mut st = Station::new(
            "SIM-1".into(),
            OcppVersion::V201,
            Arc::new(ChargerProfile::default()),
            1,
        );
        let now = tokio::time::Instant::now();
        st.begin_session(1, 1, "T".into(), None, None, now);
        assert!(
            crate::two_x::v201::start_transaction(None, &mut st, &stats, 1)
                .await
                .unwrap()
        );
        crate::two_x::v201::meter_values(None, &mut st, &stats, 1, false)
            .await
            .unwrap();
        let queued: Vec<&Queued> = st.outbox.items().collect();
        assert_eq!(queued.len(), 2);
        assert!(queued.iter().all(|q| q.action == "TransactionEvent"));
        assert!(queued.iter().all(|q| q.payload["offline"] == true));
        assert_eq!(queued[0].payload["eventType"], "Started");
        assert_eq!(queued[1].payload["seqNo"], 1);

        // 1.6: the start waits under a key; the readings behind it carry the same key.
        let mut st = Station::new(
            "SIM-2".into(),
            OcppVersion::V16,
            Arc::new(ChargerProfile::default()),
            1,
        );
        st.begin_session(1, 1, "T".into(), None, None, now);
        assert!(
            crate::v16::start_transaction(None, &mut st, &stats, 1)
                .await
                .unwrap()
        );
        let TxRef::Queued(key) = st.evses[0].session.as_ref().unwrap().tx else {
            panic!("a queued start");
        };
        crate::v16::meter_values(None, &mut st, &stats, 1, false)
            .await
            .unwrap();
        crate::v16::stop_transaction(None, &mut st, &stats, 1, crate::model::StopReason::Local)
            .await
            .unwrap();
        let actions: Vec<(&str, Option<u64>)> =
            st.outbox.items().map(|q| (q.action, q.tx_key)).collect();
        assert_eq!(
            actions,
            [
                ("StartTransaction", Some(key)),
                ("MeterValues", Some(key)),
                ("StopTransaction", Some(key))
            ]
        );
        assert_eq!(stats.summary().queued, 5);
    }
}
