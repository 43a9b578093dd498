//! How generated types read JSON integers.
//!
//! The draft-06 schemas (1.6 security messages, all of 2.x) count any number without a
//! fractional part as an integer, so `1.0` and `1e2` are valid where an integer is asked
//! for, and validation accepts them. serde would refuse them for an `i64`; these functions
//! take them, so a payload that validates also decodes. (The draft-04 1.6 schemas refuse
//! `1.0`; validation runs before decoding, so being lenient here changes nothing there.)
//! Integers are written as plain integers, serde's default.

use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Deserializer};
use serde_json::Number;

fn integer<E: serde::de::Error>(number: &Number) -> Result<i64, E> {
    if let Some(n) = number.as_i64() {
        return Ok(n);
    }
    let text = number.to_string();
    let decimal = if text.contains(['e', 'E']) {
        rust_decimal::Decimal::from_scientific(&text).ok()
    } else {
        text.parse::<rust_decimal::Decimal>().ok()
    };
    decimal
        .filter(|d| d.fract().is_zero())
        .and_then(|d| d.to_i64())
        .ok_or_else(|| E::custom(format_args!("{text} is not an integer within 64 bits")))
}

/// For `i64` fields: `#[serde(deserialize_with = "crate::integer::deserialize")]`.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    integer(&Number::deserialize(deserializer)?)
}

/// For `Option<i64>` fields (with `default`).
pub fn option<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    Option::<Number>::deserialize(deserializer)?
        .map(|n| integer(&n))
        .transpose()
}

/// For `Vec<i64>` fields.
pub fn vec<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<i64>, D::Error> {
    Vec::<Number>::deserialize(deserializer)?
        .iter()
        .map(integer)
        .collect()
}

/// For `Option<Vec<i64>>` fields (with `default`).
pub fn option_vec<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<i64>>, D::Error> {
    Option::<Vec<Number>>::deserialize(deserializer)?
        .map(|numbers| numbers.iter().map(integer).collect())
        .transpose()
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Sample {
        #[serde(deserialize_with = "super::deserialize")]
        one: i64,
        #[serde(default, deserialize_with = "super::option")]
        maybe: Option<i64>,
        #[serde(deserialize_with = "super::vec")]
        many: Vec<i64>,
    }

    #[test]
    fn integral_numbers_in_any_spelling_decode() {
        let sample: Sample =
            serde_json::from_str(r#"{"one": 1.0, "maybe": 2e1, "many": [3, 4.00, -5E0]}"#).unwrap();
        assert_eq!(
            sample,
            Sample {
                one: 1,
                maybe: Some(20),
                many: vec![3, 4, -5]
            }
        );
        let absent: Sample = serde_json::from_value(json!({"one": 7, "many": []})).unwrap();
        assert_eq!(absent.maybe, None);
    }

    #[test]
    fn fractions_and_out_of_range_numbers_are_refused() {
        assert!(serde_json::from_str::<Sample>(r#"{"one": 1.5, "many": []}"#).is_err());
        assert!(serde_json::from_str::<Sample>(r#"{"one": 1e40, "many": []}"#).is_err());
        assert!(serde_json::from_str::<Sample>(r#"{"one": "1", "many": []}"#).is_err());
    }
}
