//! Which chargers' `last_seen` was written recently, so that a charger sending messages back
//! to back costs one `UPDATE chargers` every few seconds instead of one per message.
//!
//! `last_seen` says when a charger was last heard from; a few seconds of staleness changes
//! nothing for an operator (the gateway knows who is connected right now), while on SQLite's
//! single writer every statement saved is throughput. A skipped touch still answers "the
//! charger exists" from the cache; a deleted charger is forgotten here when it is deleted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};

/// How stale `last_seen` may become while a charger keeps talking.
pub const LAST_SEEN_RESOLUTION: TimeDelta = TimeDelta::seconds(5);

/// Shared by every unit of work of one store.
#[derive(Clone, Debug, Default)]
pub struct LastSeen {
    written: Arc<Mutex<HashMap<String, DateTime<Utc>>>>,
}

impl LastSeen {
    /// Whether `last_seen` of `charger` was written less than [`LAST_SEEN_RESOLUTION`]
    /// before `at`.
    pub fn is_fresh(&self, charger: &str, at: DateTime<Utc>) -> bool {
        let written = self.written.lock().unwrap_or_else(|e| e.into_inner());
        written
            .get(charger)
            .is_some_and(|&last| at >= last && at - last < LAST_SEEN_RESOLUTION)
    }

    pub fn written(&self, charger: &str, at: DateTime<Utc>) {
        let mut written = self.written.lock().unwrap_or_else(|e| e.into_inner());
        written.insert(charger.to_owned(), at);
    }

    pub fn forget(&self, charger: &str) {
        let mut written = self.written.lock().unwrap_or_else(|e| e.into_inner());
        written.remove(charger);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_touch_within_the_resolution_is_fresh_and_later_ones_are_not() {
        let seen = LastSeen::default();
        let t0 = Utc::now();
        assert!(!seen.is_fresh("CP-1", t0));
        seen.written("CP-1", t0);
        assert!(seen.is_fresh("CP-1", t0 + TimeDelta::seconds(4)));
        assert!(!seen.is_fresh("CP-1", t0 + LAST_SEEN_RESOLUTION));
        assert!(
            !seen.is_fresh("CP-1", t0 - TimeDelta::seconds(1)),
            "a clock step back writes"
        );
        assert!(!seen.is_fresh("CP-2", t0));
        seen.forget("CP-1");
        assert!(!seen.is_fresh("CP-1", t0));
    }
}
