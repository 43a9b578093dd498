//! The device model of a charger: its components, their variables, each variable's
//! attributes (Actual, Target, MinSet, MaxSet) and characteristics, as the charger reported
//! them. A 2.x charger reports it in NotifyReport parts after GetBaseReport/GetReport; a
//! report is complete when its last part (`tbc` false) and every part before it arrived.
//!
//! The rules (here, not in the store):
//! - parts are staged until the report is complete, then applied in one unit of work; a part
//!   received twice (a charger retrying) changes nothing;
//! - a complete `FullInventory` base report **replaces** the model: what the charger no
//!   longer reports is gone; any other report (ConfigurationInventory, SummaryInventory,
//!   GetReport with criteria, or one nobody asked for) **merges**: the variables it names are
//!   replaced, the rest is kept.
//!
//! Whether a report is full is known from the request: the API says so
//! ([`DeviceModelService::expect_report`]) before it sends GetBaseReport/GetReport, so even
//! a charger that answers at once with its first part is understood.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::error::DomainError;
use crate::ids::ChargerId;
use crate::ports::StoreResult;

/// A component: its name, instance, and the EVSE/connector it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ComponentRef {
    pub name: String,
    pub instance: Option<String>,
    pub evse_id: Option<i64>,
    pub connector_id: Option<i64>,
}

/// A variable of a component.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct VariableRef {
    pub name: String,
    pub instance: Option<String>,
}

/// One attribute of a variable (2.x `VariableAttribute`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariableAttribute {
    /// `Actual` (also when the charger leaves it out), `Target`, `MinSet`, `MaxSet`.
    pub attribute_type: String,
    pub value: Option<String>,
    /// `ReadOnly`, `WriteOnly`, `ReadWrite` (absent: the spec's default, ReadWrite).
    pub mutability: Option<String>,
    pub persistent: Option<bool>,
    pub constant: Option<bool>,
}

/// What a variable can hold (2.x `VariableCharacteristics`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariableCharacteristics {
    pub unit: Option<String>,
    pub data_type: String,
    pub min_limit: Option<Decimal>,
    pub max_limit: Option<Decimal>,
    /// 2.1 only: the most elements a list may hold.
    pub max_elements: Option<i64>,
    pub values_list: Option<String>,
    pub supports_monitoring: bool,
}

/// One variable as reported (2.x `ReportData`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportedVariable {
    pub component: ComponentRef,
    pub variable: VariableRef,
    pub attributes: Vec<VariableAttribute>,
    pub characteristics: Option<VariableCharacteristics>,
}

impl ReportedVariable {
    /// What identifies the variable within a charger's model.
    pub fn key(&self) -> (&ComponentRef, &VariableRef) {
        (&self.component, &self.variable)
    }
}

/// One NotifyReport message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportPart {
    pub request_id: i64,
    pub seq_no: i64,
    /// "To be continued": more parts follow.
    pub tbc: bool,
    pub generated_at: DateTime<Utc>,
    pub variables: Vec<ReportedVariable>,
}

/// Whether a complete report is the whole model or a part of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReportScope {
    /// GetBaseReport `FullInventory`: replaces the model.
    Full,
    /// Anything else: merged into the model.
    Partial,
}

impl ReportScope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Partial => "partial",
        }
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "full" => Ok(Self::Full),
            "partial" => Ok(Self::Partial),
            other => Err(format!("unknown report scope {other:?}")),
        }
    }
}

/// A charger's stored device model.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceModel {
    pub charger: ChargerId,
    /// The request of the report applied last, and when the charger generated it.
    pub last_request_id: i64,
    pub generated_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// In the order the charger reported them (a merged report's new variables last).
    pub variables: Vec<ReportedVariable>,
}

/// What a part did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartOutcome {
    /// Staged; the report is not complete yet.
    Staged,
    /// The report is complete and is now the model (or merged into it).
    Applied {
        scope: ReportScope,
        variables: usize,
    },
}

/// Storage of device models and the report parts not yet applied.
#[async_trait]
pub trait DeviceModelStore: Send + Sync + 'static {
    /// Remembers that report `request_id` was asked for with this scope, and drops the
    /// charger's staged parts and remembered requests older than `stale_before` (reports
    /// that were never completed).
    async fn insert_report_request(
        &self,
        charger: &ChargerId,
        request_id: i64,
        scope: ReportScope,
        at: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Stages a part (the same charger, request and sequence number again replaces it) and
    /// returns every staged part of that request, in sequence order.
    async fn stage_report_part(
        &self,
        charger: &ChargerId,
        part: &ReportPart,
        at: DateTime<Utc>,
    ) -> StoreResult<Vec<ReportPart>>;
    /// In one unit of work: applies the variables to the model (replacing it when the scope
    /// is full, merging otherwise), records the report's request id and time, and drops the
    /// staged parts and the remembered request.
    async fn apply_report(
        &self,
        charger: &ChargerId,
        request_id: i64,
        generated_at: DateTime<Utc>,
        scope: ReportScope,
        variables: &[ReportedVariable],
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The scope remembered for a request, if it was asked for.
    async fn report_request(
        &self,
        charger: &ChargerId,
        request_id: i64,
    ) -> StoreResult<Option<ReportScope>>;
    /// The stored model, `None` when the charger never completed a report.
    async fn device_model(&self, charger: &ChargerId) -> StoreResult<Option<DeviceModel>>;
}

/// How long an incomplete report's parts are kept: a charger sends a report's parts within
/// seconds, so what is still waiting a day later will not be completed; it is dropped when
/// the next report is asked for (so a charger that never finishes its reports cannot grow
/// the staging area without bound).
pub const STALE_AFTER: chrono::Duration = chrono::Duration::days(1);

/// The device-model rules over a [`DeviceModelStore`].
#[derive(Clone)]
pub struct DeviceModelService {
    store: Arc<dyn DeviceModelStore>,
    clock: Arc<dyn Clock>,
}

impl DeviceModelService {
    pub fn new(store: Arc<dyn DeviceModelStore>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Called before GetBaseReport/GetReport is sent, so the parts that follow are applied
    /// with the right scope.
    pub async fn expect_report(
        &self,
        charger: &ChargerId,
        request_id: i64,
        scope: ReportScope,
    ) -> Result<(), DomainError> {
        let now = self.clock.now();
        Ok(self
            .store
            .insert_report_request(charger, request_id, scope, now, now - STALE_AFTER)
            .await?)
    }

    /// Takes one NotifyReport part; applies the report when it is complete. Durable when it
    /// returns.
    pub async fn receive_part(
        &self,
        charger: &ChargerId,
        part: &ReportPart,
    ) -> Result<PartOutcome, DomainError> {
        let now = self.clock.now();
        let parts = self.store.stage_report_part(charger, part, now).await?;
        let Some(variables) = complete(&parts) else {
            return Ok(PartOutcome::Staged);
        };
        let scope = self
            .store
            .report_request(charger, part.request_id)
            .await?
            .unwrap_or(ReportScope::Partial);
        let generated_at = parts
            .iter()
            .map(|p| p.generated_at)
            .max()
            .unwrap_or(part.generated_at);
        self.store
            .apply_report(
                charger,
                part.request_id,
                generated_at,
                scope,
                &variables,
                now,
            )
            .await?;
        Ok(PartOutcome::Applied {
            scope,
            variables: variables.len(),
        })
    }

    pub async fn get(&self, charger: &ChargerId) -> Result<Option<DeviceModel>, DomainError> {
        Ok(self.store.device_model(charger).await?)
    }
}

/// The variables of a report when its parts are complete: a last part (`tbc` false) at
/// sequence number n and every part 0..=n present. Later parts win for a variable reported
/// twice.
fn complete(parts: &[ReportPart]) -> Option<Vec<ReportedVariable>> {
    let last = parts.iter().find(|p| !p.tbc)?;
    let mut seen: Vec<bool> = vec![false; usize::try_from(last.seq_no).ok()? + 1];
    for part in parts {
        if let Some(slot) = usize::try_from(part.seq_no)
            .ok()
            .and_then(|i| seen.get_mut(i))
        {
            *slot = true;
        }
    }
    if !seen.iter().all(|s| *s) {
        return None;
    }
    let mut ordered: Vec<&ReportPart> = parts.iter().filter(|p| p.seq_no <= last.seq_no).collect();
    ordered.sort_by_key(|p| p.seq_no);
    let mut variables: Vec<ReportedVariable> = Vec::new();
    for variable in ordered.into_iter().flat_map(|p| p.variables.iter()) {
        match variables.iter_mut().find(|v| v.key() == variable.key()) {
            Some(existing) => *existing = variable.clone(),
            None => variables.push(variable.clone()),
        }
    }
    Some(variables)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .to_utc()
    }

    fn variable(component: &str, name: &str, value: &str) -> ReportedVariable {
        ReportedVariable {
            component: ComponentRef {
                name: component.into(),
                instance: None,
                evse_id: None,
                connector_id: None,
            },
            variable: VariableRef {
                name: name.into(),
                instance: None,
            },
            attributes: vec![VariableAttribute {
                attribute_type: "Actual".into(),
                value: Some(value.into()),
                mutability: None,
                persistent: None,
                constant: None,
            }],
            characteristics: None,
        }
    }

    fn part(seq_no: i64, tbc: bool, variables: Vec<ReportedVariable>) -> ReportPart {
        ReportPart {
            request_id: 1,
            seq_no,
            tbc,
            generated_at: at(),
            variables,
        }
    }

    #[test]
    fn a_report_is_complete_with_its_last_part_and_every_part_before() {
        let a = variable("C", "A", "1");
        let b = variable("C", "B", "2");
        assert_eq!(complete(&[part(0, true, vec![a.clone()])]), None);
        assert_eq!(
            complete(&[part(1, false, vec![b.clone()])]),
            None,
            "part 0 missing"
        );
        let done = complete(&[
            part(1, false, vec![b.clone()]),
            part(0, true, vec![a.clone()]),
        ]);
        assert_eq!(done, Some(vec![a, b]), "in sequence order");
    }

    #[test]
    fn a_variable_reported_twice_keeps_its_later_value() {
        let done = complete(&[
            part(0, true, vec![variable("C", "A", "1")]),
            part(1, false, vec![variable("C", "A", "2")]),
        ])
        .unwrap();
        assert_eq!(done, vec![variable("C", "A", "2")]);
    }
}
