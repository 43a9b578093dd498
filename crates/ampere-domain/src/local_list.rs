//! Local authorization lists: per charger, the tokens Ampere has put in the charger's own
//! list (so it can authorize offline), and the list's version.
//!
//! Version rule: Ampere's version moves only when the charger accepted an update. A full
//! update sends the whole list as version `version + 1`; a differential update sends only
//! the changes as `version + 1`. When the charger answers `VersionMismatch` to a differential
//! update, its list is not the one Ampere believes it is, so the caller follows up with a full
//! update of the intended list (see the API). `Failed` and `NotSupported` (and calls that got
//! no answer) are recorded as the last sync and change nothing else.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::error::DomainError;
use crate::ids::ChargerId;
use crate::ports::StoreResult;

/// One token in a charger's list.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalListEntry {
    pub id_token: String,
    /// 2.x token type (`ISO14443` when not given).
    pub id_token_type: String,
    /// `Accepted`, `Blocked`, `Expired`, `Invalid` (2.x also others).
    pub status: String,
    pub expiry_date: Option<DateTime<Utc>>,
    /// The group (1.6 `parentIdTag`, 2.x `groupIdToken`).
    pub group_id: Option<String>,
}

/// Full (the list is replaced) or differential (entries added, updated or removed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateType {
    Full,
    Differential,
}

impl UpdateType {
    /// The OCPP name, the same in 1.6 and 2.x.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "Full",
            Self::Differential => "Differential",
        }
    }
}

/// The outcome of the last update sent.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalListSync {
    pub at: DateTime<Utc>,
    pub update_type: UpdateType,
    /// The version that was sent.
    pub version: i64,
    /// The charger's status (`Accepted`, `Failed`, `NotSupported`, `VersionMismatch`), or
    /// the error when it did not answer.
    pub result: String,
}

/// Ampere's view of a charger's list.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalList {
    pub charger: ChargerId,
    /// The version the charger last accepted; 0 before the first accepted update.
    pub version: i64,
    /// Ordered by token.
    pub entries: Vec<LocalListEntry>,
    pub last_sync: Option<LocalListSync>,
    /// What the charger last said its version is (GetLocalListVersion), and when.
    pub charger_version: Option<(i64, DateTime<Utc>)>,
}

impl LocalList {
    pub fn empty(charger: ChargerId) -> Self {
        Self {
            charger,
            version: 0,
            entries: Vec::new(),
            last_sync: None,
            charger_version: None,
        }
    }
}

/// A differential change: tokens to add or update, tokens to remove.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LocalListChange {
    pub upsert: Vec<LocalListEntry>,
    pub remove: Vec<String>,
}

impl LocalListChange {
    /// The entries after the change is applied to `entries`, ordered by token.
    pub fn apply(&self, entries: &[LocalListEntry]) -> Vec<LocalListEntry> {
        let mut result: Vec<LocalListEntry> = entries
            .iter()
            .filter(|e| {
                !self.remove.iter().any(|r| r == &e.id_token)
                    && !self.upsert.iter().any(|u| u.id_token == e.id_token)
            })
            .cloned()
            .collect();
        result.extend(self.upsert.iter().cloned());
        result.sort_by(|a, b| a.id_token.cmp(&b.id_token));
        result
    }
}

/// Checks entries: tokens of 1 to 36 characters (the longer limit of 1.6's 20 is checked by
/// the 1.6 schema), no token twice.
pub fn check_entries<'a>(tokens: impl Iterator<Item = &'a str>) -> Result<(), DomainError> {
    let mut seen = std::collections::HashSet::new();
    for token in tokens {
        if token.is_empty() || token.chars().count() > 36 {
            return Err(DomainError::Invalid(format!(
                "id_token {token:?} must have 1 to 36 characters"
            )));
        }
        if !seen.insert(token) {
            return Err(DomainError::Invalid(format!(
                "id_token {token:?} appears twice"
            )));
        }
    }
    Ok(())
}

/// Storage of local lists. Each call is its own unit of work.
#[async_trait]
pub trait LocalListStore: Send + Sync + 'static {
    /// The charger's list ([`LocalList::empty`] when nothing was sent yet).
    async fn local_list(&self, charger: &ChargerId) -> StoreResult<LocalList>;
    /// The charger accepted `version`: its entries are now `entries` (replacing the old ones).
    async fn local_list_accepted(
        &self,
        charger: &ChargerId,
        version: i64,
        entries: &[LocalListEntry],
        sync: &LocalListSync,
    ) -> StoreResult<()>;
    /// An update was not accepted: only the last sync changes.
    async fn local_list_not_accepted(
        &self,
        charger: &ChargerId,
        sync: &LocalListSync,
    ) -> StoreResult<()>;
    /// The version the charger reported (GetLocalListVersion).
    async fn local_list_charger_version(
        &self,
        charger: &ChargerId,
        version: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
}

#[derive(Clone)]
pub struct LocalListService {
    store: Arc<dyn LocalListStore>,
    clock: Arc<dyn Clock>,
}

impl LocalListService {
    pub fn new(store: Arc<dyn LocalListStore>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    pub async fn get(&self, charger: &ChargerId) -> Result<LocalList, DomainError> {
        Ok(self.store.local_list(charger).await?)
    }

    /// Records the charger's answer to an update that sent `version`, with `entries` being
    /// the whole list as it is once that update is applied. Returns the list as it is now.
    pub async fn record_update(
        &self,
        charger: &ChargerId,
        update_type: UpdateType,
        version: i64,
        entries: &[LocalListEntry],
        result: &str,
    ) -> Result<LocalList, DomainError> {
        let sync = LocalListSync {
            at: self.clock.now(),
            update_type,
            version,
            result: result.to_owned(),
        };
        if result == "Accepted" {
            self.store
                .local_list_accepted(charger, version, entries, &sync)
                .await?;
        } else {
            self.store.local_list_not_accepted(charger, &sync).await?;
        }
        self.get(charger).await
    }

    pub async fn record_charger_version(
        &self,
        charger: &ChargerId,
        version: i64,
    ) -> Result<LocalList, DomainError> {
        self.store
            .local_list_charger_version(charger, version, self.clock.now())
            .await?;
        self.get(charger).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(token: &str, status: &str) -> LocalListEntry {
        LocalListEntry {
            id_token: token.into(),
            id_token_type: "ISO14443".into(),
            status: status.into(),
            expiry_date: None,
            group_id: None,
        }
    }

    #[test]
    fn a_change_adds_updates_and_removes() {
        let list = vec![entry("A", "Accepted"), entry("B", "Accepted")];
        let change = LocalListChange {
            upsert: vec![entry("C", "Accepted"), entry("A", "Blocked")],
            remove: vec!["B".into(), "NOT-THERE".into()],
        };
        assert_eq!(
            change.apply(&list),
            vec![entry("A", "Blocked"), entry("C", "Accepted")]
        );
    }

    #[test]
    fn duplicate_or_empty_tokens_are_refused() {
        assert!(check_entries(["A", "B"].into_iter()).is_ok());
        assert!(check_entries(["A", "A"].into_iter()).is_err());
        assert!(check_entries([""].into_iter()).is_err());
    }
}
