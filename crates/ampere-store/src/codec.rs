//! How domain values are written to and read from columns both backends share.

use std::str::FromStr;

use ampere_domain::StoreError;
use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;

/// Fixed-width UTC text with microseconds: `2026-01-31T12:00:00.000000Z`. Fixed width makes
/// text order equal time order in both databases.
pub fn ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub fn ts_opt(at: Option<DateTime<Utc>>) -> Option<String> {
    at.map(ts)
}

pub fn parse_ts(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|d| d.to_utc())
        .map_err(|e| StoreError::Corrupt(format!("bad timestamp {text:?}: {e}")))
}

pub fn parse_ts_opt(text: Option<String>) -> Result<Option<DateTime<Utc>>, StoreError> {
    text.as_deref().map(parse_ts).transpose()
}

pub fn dec_opt(d: Option<Decimal>) -> Option<String> {
    d.map(|d| d.normalize().to_string())
}

pub fn parse_dec_opt(text: Option<String>) -> Result<Option<Decimal>, StoreError> {
    text.as_deref()
        .map(|t| {
            Decimal::from_str(t).map_err(|e| StoreError::Corrupt(format!("bad decimal {t:?}: {e}")))
        })
        .transpose()
}

/// Parses a column through the type's `FromStr`.
pub fn parse<T: FromStr<Err = String>>(text: &str) -> Result<T, StoreError> {
    T::from_str(text).map_err(StoreError::Corrupt)
}

pub fn flag(b: bool) -> i64 {
    i64::from(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_fixed_width_and_round_trip() {
        let a = parse_ts("2026-01-02T03:04:05Z").unwrap();
        let b = parse_ts("2026-01-02T03:04:05.123456Z").unwrap();
        assert_eq!(ts(a), "2026-01-02T03:04:05.000000Z");
        assert_eq!(ts(b).len(), ts(a).len());
        assert!(ts(a) < ts(b));
        assert_eq!(parse_ts(&ts(b)).unwrap(), b);
        // Other offsets are normalised to UTC.
        assert_eq!(
            ts(parse_ts("2026-01-02T05:04:05+02:00").unwrap()),
            "2026-01-02T03:04:05.000000Z"
        );
    }

    #[test]
    fn decimals_round_trip_exactly() {
        let d = Decimal::from_str("12345.6000").unwrap();
        let text = dec_opt(Some(d)).unwrap();
        assert_eq!(text, "12345.6");
        assert_eq!(parse_dec_opt(Some(text)).unwrap(), Some(d));
    }
}
