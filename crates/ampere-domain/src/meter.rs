//! Meter values as chargers report them, kept verbatim, and the one reading the rules use:
//! the energy register.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The measurand that counts delivered energy; OCPP's default when none is given.
pub const ENERGY_REGISTER: &str = "Energy.Active.Import.Register";

/// Readings taken at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeterValue {
    pub timestamp: DateTime<Utc>,
    pub sampled: Vec<SampledValue>,
}

/// One reading. Every field is kept as the charger sent it (absent stays absent; defaults
/// are applied only when the value is interpreted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampledValue {
    /// The value as exact text: a decimal number, or for 1.6 `format = SignedData` the signed
    /// blob.
    pub value: String,
    pub measurand: Option<String>,
    pub phase: Option<String>,
    /// 1.6 `unit` or 2.x `unitOfMeasure.unit`.
    pub unit: Option<String>,
    /// 2.x `unitOfMeasure.multiplier`: the value is `value × 10^multiplier` `unit`s.
    pub unit_multiplier: Option<i32>,
    pub context: Option<String>,
    pub location: Option<String>,
    /// 1.6 `format` (`Raw` or `SignedData`).
    pub format: Option<String>,
    /// 2.x `signedMeterValue`, verbatim.
    pub signed: Option<SignedMeterValue>,
}

impl SampledValue {
    /// A plain reading with nothing but a value.
    pub fn plain(value: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            measurand: None,
            phase: None,
            unit: None,
            unit_multiplier: None,
            context: None,
            location: None,
            format: None,
            signed: None,
        }
    }

    /// The reading of the charger's total energy register in Wh, if this is one: measurand
    /// `Energy.Active.Import.Register` (or none), no phase, not measured at the EV, a unit of
    /// Wh or kWh (or none, meaning Wh), and a numeric value. Anything else is `None`.
    pub fn energy_register_wh(&self) -> Option<Decimal> {
        if self
            .measurand
            .as_deref()
            .is_some_and(|m| m != ENERGY_REGISTER)
            || self.phase.is_some()
        {
            return None;
        }
        if self.location.as_deref() == Some("EV") || self.format.as_deref() == Some("SignedData") {
            return None;
        }
        let scale = match self.unit.as_deref() {
            None | Some("Wh") => Decimal::ONE,
            Some("kWh") => Decimal::ONE_THOUSAND,
            Some(_) => return None,
        };
        let value = parse_decimal(&self.value)?;
        let value = match self.unit_multiplier {
            None | Some(0) => value,
            Some(m) => value.checked_mul(pow10(m)?)?,
        };
        value.checked_mul(scale).map(|v| v.normalize())
    }
}

/// A signed reading (OCPP 2.x `SignedMeterValueType`), every field verbatim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignedMeterValue {
    pub signed_meter_data: String,
    pub signing_method: Option<String>,
    pub encoding_method: Option<String>,
    pub public_key: Option<String>,
}

/// Parses a decimal written plainly (`1234.5`) or in scientific notation (`1.2345E3`).
pub fn parse_decimal(text: &str) -> Option<Decimal> {
    let text = text.trim();
    Decimal::from_str(text)
        .ok()
        .or_else(|| Decimal::from_scientific(text).ok())
}

fn pow10(exp: i32) -> Option<Decimal> {
    if !(-20..=20).contains(&exp) {
        return None;
    }
    let mut factor = Decimal::ONE;
    let ten = Decimal::TEN;
    for _ in 0..exp.unsigned_abs() {
        factor = if exp > 0 {
            factor.checked_mul(ten)?
        } else {
            factor.checked_div(ten)?
        };
    }
    Some(factor)
}

/// The energy-register readings among meter values, in Wh, with their timestamps.
pub fn energy_readings(values: &[MeterValue]) -> Vec<EnergyReading> {
    values
        .iter()
        .flat_map(|mv| {
            mv.sampled.iter().filter_map(move |s| {
                s.energy_register_wh().map(|wh| EnergyReading {
                    timestamp: mv.timestamp,
                    wh,
                    context: s.context.clone(),
                })
            })
        })
        .collect()
}

/// One reading of the energy register.
#[derive(Debug, Clone, PartialEq)]
pub struct EnergyReading {
    pub timestamp: DateTime<Utc>,
    pub wh: Decimal,
    pub context: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn default_measurand_and_unit_are_the_register_in_wh() {
        assert_eq!(
            SampledValue::plain("1234.5").energy_register_wh(),
            Some(dec("1234.5"))
        );
    }

    #[test]
    fn kwh_and_multipliers_are_converted_to_wh() {
        let mut s = SampledValue::plain("12.3456");
        s.unit = Some("kWh".into());
        assert_eq!(s.energy_register_wh(), Some(dec("12345.6")));
        let mut s = SampledValue::plain("12");
        s.unit = Some("Wh".into());
        s.unit_multiplier = Some(3);
        assert_eq!(s.energy_register_wh(), Some(dec("12000")));
        let mut s = SampledValue::plain("1.5E3");
        s.measurand = Some(ENERGY_REGISTER.into());
        assert_eq!(s.energy_register_wh(), Some(dec("1500")));
    }

    #[test]
    fn other_readings_are_not_the_register() {
        let mut power = SampledValue::plain("7000");
        power.measurand = Some("Power.Active.Import".into());
        assert_eq!(power.energy_register_wh(), None);
        let mut phase = SampledValue::plain("100");
        phase.phase = Some("L1".into());
        assert_eq!(phase.energy_register_wh(), None);
        let mut signed = SampledValue::plain("AB12CD");
        signed.format = Some("SignedData".into());
        assert_eq!(signed.energy_register_wh(), None);
        let mut varh = SampledValue::plain("100");
        varh.unit = Some("varh".into());
        assert_eq!(varh.energy_register_wh(), None);
        assert_eq!(SampledValue::plain("n/a").energy_register_wh(), None);
    }
}
