//! Latency per action, in HDR histograms (hdrhistogram crate): constant memory whatever
//! the message rate (W3 records hundreds of thousands of samples), three significant
//! digits at every magnitude from a microsecond to a minute, and exact merging, which is
//! what lets worker processes send their histograms to the coordinator as (value, count)
//! pairs and the report give true p99.9 values across all of them.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::report::LatencySummary;

/// Longest latency recorded as itself (longer ones are clamped to it), µs.
const HIGHEST_US: u64 = 120_000_000;

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIGHEST_US, 3).expect("valid histogram bounds")
}

/// Histograms by action name, shared by every charger task of one worker.
#[derive(Default)]
pub struct Recorder {
    by_action: Mutex<BTreeMap<String, Histogram<u64>>>,
}

impl Recorder {
    pub fn record(&self, action: &str, latency: Duration) {
        let us = (latency.as_micros() as u64).clamp(1, HIGHEST_US);
        let mut by_action = self.by_action.lock().expect("recorder lock");
        if let Some(h) = by_action.get_mut(action) {
            h.saturating_record(us);
        } else {
            let mut h = new_histogram();
            h.saturating_record(us);
            by_action.insert(action.to_owned(), h);
        }
    }

    pub fn export(&self) -> BTreeMap<String, Buckets> {
        let by_action = self.by_action.lock().expect("recorder lock");
        by_action
            .iter()
            .map(|(action, h)| (action.clone(), Buckets::of(h)))
            .collect()
    }
}

/// A histogram on the wire between processes: its non-empty buckets as (µs, count).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Buckets(pub Vec<(u64, u64)>);

impl Buckets {
    fn of(h: &Histogram<u64>) -> Self {
        Self(
            h.iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect(),
        )
    }
}

/// Merges the workers' buckets and summarises each action.
pub fn summarise<'a>(
    parts: impl IntoIterator<Item = &'a BTreeMap<String, Buckets>>,
) -> BTreeMap<String, LatencySummary> {
    let mut merged: BTreeMap<String, Histogram<u64>> = BTreeMap::new();
    for part in parts {
        for (action, buckets) in part {
            let h = merged.entry(action.clone()).or_insert_with(new_histogram);
            for &(value, count) in &buckets.0 {
                // A value from the same bounds always fits.
                let _ = h.record_n(value.clamp(1, HIGHEST_US), count);
            }
        }
    }
    merged
        .into_iter()
        .map(|(action, h)| {
            let ms = |us: u64| us as f64 / 1000.0;
            (
                action,
                LatencySummary {
                    count: h.len(),
                    mean_ms: h.mean() / 1000.0,
                    p50_ms: ms(h.value_at_quantile(0.50)),
                    p99_ms: ms(h.value_at_quantile(0.99)),
                    p999_ms: ms(h.value_at_quantile(0.999)),
                    max_ms: ms(h.max()),
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_percentiles_cover_every_worker() {
        let a = Recorder::default();
        let b = Recorder::default();
        for ms in 1..=900 {
            a.record("MeterValues", Duration::from_millis(ms));
        }
        for ms in 901..=1000 {
            b.record("MeterValues", Duration::from_millis(ms));
        }
        b.record("Heartbeat", Duration::from_micros(250));
        let exported = [a.export(), b.export()];
        // Through JSON, as between processes.
        let exported: Vec<BTreeMap<String, Buckets>> = exported
            .iter()
            .map(|e| serde_json::from_str(&serde_json::to_string(e).unwrap()).unwrap())
            .collect();
        let summary = summarise(&exported);
        let meter = &summary["MeterValues"];
        assert_eq!(meter.count, 1000);
        assert!((meter.p50_ms - 500.0).abs() < 1.0, "{meter:?}");
        assert!((meter.p99_ms - 990.0).abs() < 1.0, "{meter:?}");
        assert!((meter.p999_ms - 999.0).abs() < 1.0, "{meter:?}");
        assert!((meter.max_ms - 1000.0).abs() < 1.0, "{meter:?}");
        assert_eq!(summary["Heartbeat"].count, 1);
        assert!((summary["Heartbeat"].p50_ms - 0.25).abs() < 0.001);
    }
}
