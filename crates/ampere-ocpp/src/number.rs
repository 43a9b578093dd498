//! How generated types carry JSON numbers: as [`Decimal`], read from and written as the
//! exact digits on the wire.
//!
//! Why `Decimal` and not `f64`: OCPP numbers are meter readings, limits and prices. Decimal
//! arithmetic keeps `0.1 + 0.2 == 0.3` and a price of `0.35` exact, which billing needs, and
//! a `Decimal` keeps its scale, so `16`, `16.0` and `16.30` decode and encode back to the same
//! text.
//!
//! The workspace builds serde_json with `arbitrary_precision` (through rust_decimal's
//! `serde-with-arbitrary-precision` feature): numbers reach us as the sender's digits, never
//! via a binary float. Limits: a `Decimal` holds 28 significant digits and about ±7.9e28;
//! larger numbers, which the schemas allow, fail to decode into a typed message (validation
//! still judges them on the `serde_json::Value`), and exponent notation (`1e2`) decodes to the
//! same value but is written back without the exponent.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Number;

/// For `Decimal` fields: `#[serde(with = "crate::number")]`.
pub fn serialize<S: Serializer>(value: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
    // `Decimal`'s text keeps its scale (`16.30`); as a `Number` it is written digit for digit.
    Number::from_str(&value.to_string())
        .map_err(serde::ser::Error::custom)?
        .serialize(serializer)
}

/// For `Decimal` fields: `#[serde(with = "crate::number")]`. Only JSON numbers are accepted.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
    let number = Number::deserialize(deserializer)?;
    let text = number.to_string();
    let parsed = if text.contains(['e', 'E']) {
        Decimal::from_scientific(&text)
    } else {
        Decimal::from_str(&text)
    };
    parsed.map_err(|_| D::Error::custom(format_args!("number {text} does not fit a decimal")))
}

/// For `Option<Decimal>` fields: `#[serde(default, with = "crate::number::option")]`.
pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(
        value: &Option<Decimal>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => super::serialize(v, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Decimal>, D::Error> {
        match Option::<Number>::deserialize(deserializer)? {
            None => Ok(None),
            Some(number) => super::deserialize(number)
                .map(Some)
                .map_err(D::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct N {
        #[serde(with = "crate::number")]
        v: Decimal,
        #[serde(
            default,
            with = "crate::number::option",
            skip_serializing_if = "Option::is_none"
        )]
        o: Option<Decimal>,
    }

    #[test]
    fn round_trips_the_digits_as_written() {
        for text in [
            r#"{"v":16}"#,
            r#"{"v":16.0}"#,
            r#"{"v":16.30}"#,
            r#"{"v":-0.1}"#,
            r#"{"v":0.35,"o":7}"#,
            r#"{"v":1,"o":2.5}"#,
            r#"{"v":123456.789}"#,
        ] {
            let n: N = serde_json::from_str(text).expect(text);
            assert_eq!(serde_json::to_string(&n).expect("serialize"), text);
            // Through a `Value` as well, as the router decodes.
            let value: serde_json::Value = serde_json::from_str(text).expect(text);
            let n: N = serde_json::from_value(value).expect(text);
            assert_eq!(serde_json::to_string(&n).expect("serialize"), text);
        }
    }

    #[test]
    fn values_are_exact_decimals() {
        let n: N = serde_json::from_str(r#"{"v":0.1,"o":0.2}"#).expect("decode");
        assert_eq!(
            n.v + n.o.unwrap_or_default(),
            Decimal::from_str("0.3").expect("0.3")
        );
    }

    #[test]
    fn null_is_none_and_huge_numbers_fail() {
        let n: N = serde_json::from_str(r#"{"v":1,"o":null}"#).expect("decode");
        assert_eq!(n.o, None);
        assert!(serde_json::from_str::<N>(r#"{"v":1e40}"#).is_err());
        assert!(serde_json::from_str::<N>(r#"{"v":"1"}"#).is_err());
        assert!(serde_json::from_str::<N>(r#"{"v":1,"o":"2"}"#).is_err());
    }
}
